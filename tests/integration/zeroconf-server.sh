#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The server announces itself with Zeroconf (spec 2.10, issue 6): on two hosts made of network
# namespaces, each with its own avahi-daemon, host B's avahi-browse sees our server on host A
# as "_mandos._tcp" on the bound port over IPv6 on --interface only, with the TXT record of
# spec/protocol-2.md §A.3.4 (txtvers=1, proto=1,2 and the server's keyid=; proto=1 and no keyid
# with --protocols=1); a second server of the same name on host B is renamed "Mandos #2"; --no-ipv6 announces over
# IPv4; --no-zeroconf announces nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns-lib.sh"
MANDOS="$BUILD/server/mandos"
require_cmd avahi-daemon avahi-browse dbus-daemon
netns_pair
netns_bus "$NS_A"
BUS_A=$BUS
netns_bus "$NS_B"
BUS_B=$BUS
chmod 666 "$T"/bus-*/bus.sock
netns_avahi "$NS_A" "$IF_A" "$BUS_A"
netns_avahi "$NS_B" "$IF_B" "$BUS_B"
mkdir -p "$T/conf" "$T/state-a" "$T/state-b" "$T/state-c"
chmod 777 "$T"/state-*
printf '[DEFAULT]\n' > "$T/conf/mandos.conf"
printf '[c1]\nkey_id = %064d\nfingerprint = %040d\nsecret = YQ==\n' 1 1 > "$T/conf/clients.conf"
chmod -R a+rX "$T/conf"
# The spec's test server key (§A.12.2), read as root before the privilege drop.
SERVER_KEY_ID=824C89AA8EFB95EF93629B4519599129CACE4ADAC9A6180DABA31CEED41ECEE6
printf -- '-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n' \
	MC4CAQAwBQYDK2VwBCIEICAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/ > "$T/conf/server-key.pem"
chmod 600 "$T/conf/server-key.pem"

# server NS BUS STATE PORT ARGS...: our server in NS, logging to $T/STATE.log
server() {
	_ns=$1 _bus=$2 _st=$3 _port=$4
	shift 4
	ip netns exec "$_ns" env DBUS_SYSTEM_BUS_ADDRESS="$_bus" $VALGRIND "$MANDOS" \
		--configdir "$T/conf" --statedir "$T/$_st" --port "$_port" --foreground --debug \
		"$@" > "$T/$_st.log" 2>&1 &
	on_exit "kill -9 $!"
}
PORT_A=$(random_port)
server "$NS_A" "$BUS_A" state-a "$PORT_A" --interface "$IF_A"
SERVER_A=$!
seen_a() {
	browse "$NS_B" "$BUS_B" |
		grep "^=;$IF_B;IPv6;Mandos;_mandos._tcp;local;host-$NS_A.local;fe80:.*;$PORT_A;" \
		> "$T/seen-a"
}
wait_for 30 seen_a || { browse "$NS_B" "$BUS_B" >&2; tail -n 20 "$T/state-a.log" >&2; fail "host B does not see our server"; }
browse "$NS_B" "$BUS_B" > "$T/browse1"
assert_not_contains "$T/browse1" ";IPv4;Mandos;" "browse output"
for txt in '"txtvers=1"' '"proto=1,2"' "\"keyid=$SERVER_KEY_ID\""; do
	assert_contains "$T/seen-a" "$txt" "the TXT record"
done
echo "host B sees our server: _mandos._tcp, port $PORT_A, IPv6 on $IF_A, TXT txtvers, proto, keyid"

# A second server named Mandos, on host B: renamed, and its syslog identity follows.  It runs
# with a private /dev (in its own mount namespace) whose /dev/log is a socket of ours.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b"\n")
' "$T/log.sock" "$T/syslog" &
on_exit "kill $!"
wait_for 10 test -S "$T/log.sock" || fail "no syslog socket"
chmod 666 "$T/log.sock" # the server logs after dropping privileges
mkdir -p "$T/olddev"
PORT_B=$(random_port)
ip netns exec "$NS_B" unshare -m --propagation private sh -c "
	mount --rbind /dev '$T/olddev' && mount -t tmpfs tmpfs /dev || exit 1
	for f in null zero random urandom; do
		touch /dev/\$f && mount --bind '$T/olddev/'\$f /dev/\$f || exit 1
	done
	touch /dev/log && mount --bind '$T/log.sock' /dev/log || exit 1
	exec env DBUS_SYSTEM_BUS_ADDRESS='$BUS_B' $VALGRIND '$MANDOS' --configdir '$T/conf' \
		--statedir '$T/state-b' --port $PORT_B --foreground --debug --interface '$IF_B'" \
	> "$T/state-b.log" 2>&1 &
on_exit "kill -9 $!"
wait_for 30 grep -q "Changing Zeroconf service name to 'Mandos #2'" "$T/state-b.log" ||
	{ tail -n 20 "$T/state-b.log" >&2; fail "the second server was not renamed"; }
seen_b() { browse "$NS_A" "$BUS_A" | grep -F ';Mandos\032\0352;_mandos._tcp;local;' | grep -q ";$PORT_B;"; }
wait_for 30 seen_b || { browse "$NS_A" "$BUS_A" >&2; fail "host A does not see 'Mandos #2'"; }
# Upstream's syslog format: "<PRI>IDENT [PID]: LEVEL: message".
wait_for 10 grep -q '^<[0-9]*>Mandos (Mandos #2) \[[0-9]*\]: [A-Z]*: ' "$T/syslog" ||
	{ cat "$T/syslog" >&2; fail "syslog identity not 'Mandos (Mandos #2)' after the rename"; }
grep -q '^<[0-9]*>Mandos \[[0-9]*\]: [A-Z]*: ' "$T/syslog" || fail "no syslog lines as 'Mandos' before the rename"
echo "collision: the second server announces 'Mandos #2' and logs as 'Mandos (Mandos #2)'"

# --no-ipv6: IPv4; --no-zeroconf: nothing.
ip -n "$NS_A" addr add 192.0.2.1/24 dev "$IF_A"
ip -n "$NS_B" addr add 192.0.2.2/24 dev "$IF_B"
PORT_C=$(random_port)
server "$NS_A" "$BUS_A" state-c "$PORT_C" --no-ipv6 --servicename v4 --no-dbus --protocols=1
seen_c() {
	browse "$NS_B" "$BUS_B" |
		grep "^=;$IF_B;IPv4;v4;_mandos._tcp;local;host-$NS_A.local;192.0.2.1;$PORT_C;" \
		> "$T/seen-c"
}
wait_for 30 seen_c || { browse "$NS_B" "$BUS_B" >&2; tail -n 20 "$T/state-c.log" >&2; fail "no IPv4 announcement with --no-ipv6"; }
assert_contains "$T/seen-c" '"proto=1"' "the TXT record with --protocols=1"
assert_contains "$T/seen-c" '"txtvers=1"' "the TXT record with --protocols=1"
assert_not_contains "$T/seen-c" "keyid=" "the TXT record with --protocols=1"
echo "--no-ipv6: announced over IPv4; --protocols=1: proto=1 and no keyid"
PORT_D=$(random_port)
mkdir -p "$T/state-d"
chmod 777 "$T/state-d"
server "$NS_A" "$BUS_A" state-d "$PORT_D" --no-zeroconf --servicename silent --no-dbus
# "zeroconf = no" in mandos.conf does the same.
mkdir -p "$T/conf-nz" "$T/state-e"
chmod 777 "$T/state-e"
printf '[DEFAULT]\nzeroconf = no\nservicename = quiet\nuse_dbus = no\n' > "$T/conf-nz/mandos.conf"
cp "$T/conf/clients.conf" "$T/conf-nz/"
chmod -R a+rX "$T/conf-nz"
PORT_E=$(random_port)
server "$NS_A" "$BUS_A" state-e "$PORT_E" --configdir "$T/conf-nz"
wait_for 10 grep -q "Starting main loop" "$T/state-d.log" ||
	{ tail -n 20 "$T/state-d.log" >&2; fail "the --no-zeroconf server did not start"; }
wait_for 10 grep -q "Starting main loop" "$T/state-e.log" ||
	{ tail -n 20 "$T/state-e.log" >&2; fail "the zeroconf = no server did not start"; }
sleep 3
browse "$NS_B" "$BUS_B" > "$T/browse2"
assert_not_contains "$T/browse2" ";silent;" "browse output"
assert_not_contains "$T/browse2" ";quiet;" "browse output"
echo "--no-zeroconf and zeroconf = no: not announced"

# A clean exit withdraws the service (and, under valgrind or ASan, finds no memory errors).
kill -TERM "$SERVER_A"
rc=0
wait "$SERVER_A" || rc=$?
assert_eq "$rc" 0 "server exit status"
gone_a() { ! browse "$NS_B" "$BUS_B" | grep -q ";Mandos;_mandos._tcp;local;.*;$PORT_A;"; }
wait_for 20 gone_a || fail "the service is still announced after the server exited"
echo "exit: service withdrawn, exit status 0"
