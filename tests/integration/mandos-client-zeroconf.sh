#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Zeroconf: upstream's server (or $MANDOS_TEST_SERVER, such as ours) announced by avahi-daemon
# in one namespace, our client in another.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client-lib.sh"
require_root
SERVER=${MANDOS_TEST_SERVER:-$UPSTREAM_SERVER}
require_cmd ip unshare avahi-daemon "$SERVER" mandos-keygen dbus-daemon gpg
[ -d /run/avahi-daemon ] || skip "needs /run/avahi-daemon to mount over"

A=mczA$$
B=mczB$$
ip netns add "$A" || skip "cannot make network namespaces"
on_exit "ip netns del $A"
ip netns add "$B"
on_exit "ip netns del $B"
on_exit "ip netns pids $A | xargs -r kill -KILL; ip netns pids $B | xargs -r kill -KILL"
ip link add "vA$$" type veth peer name "vB$$"
ip link set "vA$$" netns "$A"
ip link set "vB$$" netns "$B"
ip netns exec "$A" ip link set "vA$$" name vA
ip netns exec "$B" ip link set "vB$$" name vB
for ns in "$A" "$B"; do
	ip netns exec "$ns" ip link set lo up
done
ip netns exec "$A" ip link set vA up
ip netns exec "$B" ip link set vB up

make_keys "$T/k"
printf 'zeroconf secret\n' >"$T/pw"
write_server_conf "$T/c" "servicename = Mandos test $$"
add_client "$T/c" "$T/k" zc "$T/pw"
# Our server: protocol 2 as well (its server key; a sealed secret for a seal key of the client).
ours=""
case $SERVER in "$BUILD"/*) ours=1 ;; esac
if [ -n "$ours" ]; then
	require_cmd openssl
	openssl genpkey -algorithm ed25519 -out "$T/c/server-key.pem" 2>/dev/null
	chmod 600 "$T/c/server-key.pem"
	openssl genpkey -algorithm x25519 -out "$T/k/seal-privkey.pem" 2>/dev/null
	openssl pkey -in "$T/k/seal-privkey.pem" -pubout -out "$T/k/seal-pubkey.pem"
	printf 'protocols = 1 2\nsealed_secret = %s\n' \
		"$("$BUILD/tests/tools/p2-seal" "$T/k/seal-pubkey.pem" <"$T/pw")" >>"$T/c/clients.conf"
fi
port=$(random_port)
mkdir -m 755 "$T/avahi-run" "$T/bus"
cat >"$T/avahi.conf" <<EOC
[server]
host-name=mandos-test-$$
allow-interfaces=vA
use-ipv4=yes
use-ipv6=yes
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
EOC
write_bus_conf "$T/bus"
# Host A: a private /run/avahi-daemon (its pid file path is fixed), bus, avahi-daemon, server.
cat >"$T/hostA.sh" <<EOS
mount --bind "$T/avahi-run" /run/avahi-daemon
dbus-daemon --config-file="$T/bus/bus.conf" --nofork --nopidfile >"$T/bus.log" 2>&1 &
while [ ! -S "$T/bus/bus.sock" ]; do sleep 0.1; done
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/bus/bus.sock
export TMPDIR="$T"
avahi-daemon --no-chroot --no-drop-root --no-rlimits -f "$T/avahi.conf" >"$T/avahi.log" 2>&1 &
while ! grep -q "Server startup complete" "$T/avahi.log"; do sleep 0.1; done
exec "$SERVER" --configdir "$T/c" --statedir "$T/state" --no-dbus --port "$port" \
	--foreground --debug >"$T/server.log" 2>&1
EOS
ip netns exec "$A" unshare -m --propagation private sh "$T/hostA.sh" &
wait_for 30 grep -q "Now listening" "$T/server.log" || fail "server did not start"
# Wait for IPv6 duplicate address detection on both ends
wait_for 10 sh -c "ip -n $B -6 addr show dev vB scope link | grep -q 'inet6 fe80' &&
	[ -z \"\$(ip -n $B -6 addr show dev vB scope link tentative)\" ]" ||
	fail "the link-local address of vB stays tentative"
export TMPDIR="$T"
keys=$(client_keys "$T/k")

# 1. One interface named, no --connect: browse, resolve (IPv6 link-local), unlock.
start=$(date +%s)
ip netns exec "$B" timeout 40 $VALGRIND "$MC" --interface=vB --debug \
	--network-hook-dir="$T/nohooks" $keys >"$T/out" 2>"$T/err" ||
	fail "client did not get the secret: $(grep -v GnuTLS "$T/err" | tail -n 8)"
cmp -s "$T/out" "$T/pw" || fail "wrong secret"
grep -q 'found on interface' "$T/err" || fail "not found by Zeroconf"
grep -q 'Mandos server "Mandos test '"$$"'" \[fe80::' "$T/err" ||
	fail "not over IPv6 link-local: $(grep found "$T/err")"
echo "# zeroconf unlock in $(($(date +%s) - start)) s" >&2

# 2. Interface autodetection (vB is the only usable one): same result.
ip netns exec "$B" timeout 40 $VALGRIND "$MC" --debug --network-hook-dir="$T/nohooks" $keys \
	>"$T/out" 2>"$T/err" || fail "autodetect: $(grep -v GnuTLS "$T/err" | tail -n 8)"
cmp -s "$T/out" "$T/pw" || fail "wrong secret (autodetect)"

# --connect to an IPv6 link-local address: scope from "%IFNAME", or from the only interface.
ll=$(ip netns exec "$A" ip -6 -o addr show dev vA scope link | sed -n 's/.*inet6 \([^/]*\)\/.*/\1/p')
[ -n "$ll" ] || fail "no link-local address on vA"
ip netns exec "$B" timeout 40 $VALGRIND "$MC" --connect="[$ll%vB]:$port" --interface=none \
	--network-hook-dir="$T/nohooks" $keys >"$T/out" 2>"$T/err" ||
	fail "--connect=[$ll%vB]: $(grep -v GnuTLS "$T/err" | tail -n 5)"
cmp -s "$T/out" "$T/pw" || fail "wrong secret (link-local %vB)"
ip netns exec "$B" timeout 40 $VALGRIND "$MC" --connect="$ll:$port" --interface=vB \
	--network-hook-dir="$T/nohooks" $keys >"$T/out" 2>"$T/err" ||
	fail "--connect=$ll --interface=vB: $(grep -v GnuTLS "$T/err" | tail -n 5)"
cmp -s "$T/out" "$T/pw" || fail "wrong secret (link-local, one interface)"
rc=0
ip netns exec "$B" timeout 10 $VALGRIND "$MC" --connect="$ll:$port" --interface=none \
	--network-hook-dir="$T/nohooks" $keys >"$T/out" 2>"$T/err" || rc=$?
assert_eq "$rc" 64 "link-local without an interface"
assert_contains "$T/err" "incomplete without a network interface"

# 3. Only a global address announced, in a prefix B has no route to: the route helper adds a
#    host route for the attempt and removes it afterwards.
ip netns exec "$A" ip addr add 2001:db8:1::1/64 dev vA nodad
wait_for 15 sh -c "ip netns exec $B timeout 3 $MC --interface=vB --debug --retry=100 \
	--network-hook-dir=$T/nohooks $keys 2>&1 >/dev/null | grep -q 'Trying Mandos server .*2001:db8:1::1'" ||
	echo "# avahi still announces the link-local address" >&2
MANDOSPLUGINHELPERDIR=$BUILD/helpers/mandos-client-iprouteadddel \
	ip netns exec "$B" timeout 40 $VALGRIND "$MC" --interface=vB --debug \
	--network-hook-dir="$T/nohooks" $keys >"$T/out" 2>"$T/err" ||
	fail "route fallback: $(grep -v GnuTLS "$T/err" | tail -n 8)"
cmp -s "$T/out" "$T/pw" || fail "wrong secret (route fallback)"
assert_contains "$T/err" "unreachable, trying direct route"
[ -z "$(ip netns exec "$B" ip -6 route show table main proto boot)" ] || fail "route left behind"
grep -v GnuTLS "$T/err" | grep -i "found\|Trying\|route\|Received\|Decrypt" >&2

# 4. Our server over protocol 2, found by Zeroconf, its TXT record read (and the route
#    fallback of 3 for protocol 2).
if [ -n "$ours" ]; then
	MANDOSPLUGINHELPERDIR=$BUILD/helpers/mandos-client-iprouteadddel \
		ip netns exec "$B" timeout 40 $VALGRIND "$MC" --interface=vB --debug \
		--network-hook-dir="$T/nohooks" $keys --seal-key="$T/k/seal-privkey.pem" \
		--server-pins="$T/nopins" --servers-seen="$T/seen" >"$T/out" 2>"$T/err" ||
		fail "protocol 2 by Zeroconf: $(grep -v GnuTLS "$T/err" | tail -n 8)"
	cmp -s "$T/out" "$T/pw" || fail "wrong secret (protocol 2)"
	assert_contains "$T/err" "(TXT proto=1,2)"
	assert_contains "$T/err" "over protocol 2"
	assert_contains "$T/err" "(not pinned)"
	assert_contains "$T/server.log" "Sending secret to zc (protocol 2: sealed)"
	grep -q " # \[" "$T/seen" || fail "servers-seen: $(cat "$T/seen")"
fi
echo ok
