#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# A 2-of-3 threshold client that finds its servers by Zeroconf alone: three of our servers on
# host A (network namespaces), announced by its avahi-daemon, each with its own server key and
# only its share's escrow_key, one of them down; the client on host B, without --connect or
# --server, contacts the others at once and unlocks with their two shares.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns-lib.sh"
. "$(dirname "$0")/client-lib.sh"
. "$(dirname "$0")/escrow-lib.sh"
require_cmd avahi-daemon dbus-daemon
netns_pair
netns_bus "$NS_A"
BUS_A=$BUS
chmod 666 "$T"/bus-*/bus.sock
netns_avahi "$NS_A" "$IF_A" "$BUS_A"

FILE=escrow-2of3-zc.conf
for i in 1 2 3; do
	new_server "$i"
	sed -i "s/^zeroconf = False\$/zeroconf = True\nservicename = Mandos threshold $i/" \
		"$T/srv$i/conf/mandos.conf"
	chmod 777 "$T/srv$i/state"
done
identity "$T/z"
printf 'zeroconf threshold secret\n' >"$T/z/pw"
"$ENROL" "$T/z/tls-pubkey.pem" "$T/z/escrow/$FILE" 2 3 "$(srv_key_id 1)" "$(srv_key_id 2)" \
	"$(srv_key_id 3)" <"$T/z/pw" >"$T/z/S" || fail "enrol"
printf '%s\n%s\n%s\n' "$(srv_key_id 1)" "$(srv_key_id 2)" "$(srv_key_id 3)" >"$T/z/server-pins"
# Servers 1 and 3 on host A; server 2 is down.
for i in 1 3; do
	escrow_section "$i" z "$(sed -n "${i}p" "$T/z/S")"
	ip netns exec "$NS_A" env DBUS_SYSTEM_BUS_ADDRESS="$BUS_A" $VALGRIND "$MANDOS" \
		--configdir "$T/srv$i/conf" --statedir "$T/srv$i/state" --no-dbus \
		--interface "$IF_A" --port "$(srv_port "$i")" --foreground --debug \
		>"$T/srv$i/log" 2>&1 &
	on_exit "kill -9 $!"
done
for i in 1 3; do
	wait_for 30 grep -q "Now listening" "$T/srv$i/log" ||
		fail "server $i did not start: $(tail -n 5 "$T/srv$i/log")"
done

ip netns exec "$NS_B" timeout 60 $VALGRIND "$MC" --interface="$IF_B" --debug \
	--network-hook-dir="$T/nohooks" --retry=1 --tls-pubkey="$T/z/tls-pubkey.pem" \
	--tls-privkey="$T/z/tls-privkey.pem" --pubkey="$T/z/none" --seckey="$T/z/none" \
	--server-pins="$T/z/server-pins" --servers-seen="$T/z/seen" --escrow-dir="$T/z/escrow" \
	>"$T/out" 2>"$T/err" || fail "no unlock by Zeroconf: $(tail -n 8 "$T/err")"
cmp -s "$T/out" "$T/z/pw" || fail "wrong password"
assert_contains "$T/err" 'Mandos server "Mandos threshold 1"'
assert_contains "$T/err" 'Mandos server "Mandos threshold 3"'
assert_contains "$T/err" "threshold $FILE: need 2 of 3 shares"
assert_contains "$T/err" "threshold $FILE: share 1 opened, from server $(srv_key_id 1)"
assert_contains "$T/err" "threshold $FILE: share 3 opened, from server $(srv_key_id 3)"
assert_contains "$T/err" "threshold $FILE: 2 of 2 shares, secret recovered"
[ "$(wc -l <"$T/z/seen")" -eq 2 ] || fail "servers-seen: $(cat "$T/z/seen")"
echo ok
