#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Zeroconf that cannot start: in a namespace where another program holds UDP port 5353 (IPv4
# and IPv6) without SO_REUSEADDR, mandos-client's embedded Avahi server has no socket, and the
# client exits 69 (EX_UNAVAILABLE) at once with the reason, as upstream's does; with the port
# free the same client keeps browsing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client-lib.sh"
require_root
require_cmd ip python3 mandos-keygen gpg
UPSTREAM_MC=$UPSTREAM_LIB_DIR/plugins.d/mandos-client

N=mcav$$
ip netns add "$N" || skip "cannot make network namespaces"
on_exit "ip netns del $N"
on_exit "ip netns pids $N | xargs -r kill -KILL"
ip -n "$N" link set lo up
ip -n "$N" link add v0 type veth peer name v1
ip -n "$N" link set v0 up
ip -n "$N" link set v1 up

make_keys "$T/k"
keys=$(client_keys "$T/k")
mkdir "$T/nohooks"
export TMPDIR="$T"

# client PROGRAM SECONDS: the client on v0, without --connect; its status in $rc.
client() {
	rc=0
	ip netns exec "$N" timeout "$2" ${3:-} "$1" --interface=v0 --network-hook-dir="$T/nohooks" \
		$keys >"$T/out" 2>"$T/err" || rc=$?
}

cat >"$T/hold.py" <<'PY'
import socket, sys, time
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s4.bind(("0.0.0.0", 5353))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s6.bind(("::", 5353))
open(sys.argv[1], "w").write("ready\n")
time.sleep(3600)
PY
ip netns exec "$N" python3 "$T/hold.py" "$T/held" &
holder=$!
on_exit "kill $holder"
wait_for 20 test -s "$T/held" || fail "could not hold port 5353 in the namespace"

echo "# port 5353 taken: exit 69 at once, the reason on stderr"
client "$MC" $((60 * SLOW)) "$VALGRIND"
assert_eq "$rc" 69 "our client's status"
assert_contains "$T/err" "Failed to create the Avahi server: No suitable network protocol available"
[ ! -s "$T/out" ] || fail "something on stdout"
if [ -x "$UPSTREAM_MC" ]; then
	client "$UPSTREAM_MC" $((60 * SLOW))
	assert_eq "$rc" 69 "upstream's client's status"
	echo "upstream: $(cat "$T/err")"
fi

echo "# port 5353 free: the same client browses until stopped"
kill "$holder"
wait "$holder" 2>/dev/null || true
client "$MC" 5
assert_eq "$rc" 124 "our client's status with the port free (stopped by timeout)"
assert_not_contains "$T/err" "Avahi"
echo "ok"
