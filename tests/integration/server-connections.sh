#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Every connection has a deadline, and a flood of idle connections beyond the cap cannot keep a
# real client out (the oldest unauthenticated ones are closed first).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
require_cmd python3

new_keys real
{
	printf '[DEFAULT]\nchecker = true\n\n'
	section real
} > "$T/conf/clients.conf"

# idle.py N PORT CLOSED SECONDS [LINE]: open N connections, each sending LINE first (e.g. the
# version, so that the server sends its ClientHello and waits in the TLS handshake), touch
# $T/idle.up, then wait until the server has closed CLOSED of them (or SECONDS passed, a
# deadline only); print how many it closed.
cat > "$T/idle.py" <<'PY'
import os, select, socket, sys, time
n, port, want, wait = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
line = sys.argv[5].encode().decode("unicode_escape").encode() if len(sys.argv) > 5 else b""
socks = [socket.create_connection(("::1", port)) for _ in range(n)]
for s in socks:
    s.sendall(line)
open(os.path.join(os.path.dirname(sys.argv[0]), "idle.up"), "w").close()
deadline = time.monotonic() + wait
open_socks, closed = set(socks), 0
while closed < want and time.monotonic() < deadline:
    ready, _, _ = select.select(list(open_socks), [], [], 0.2)
    for s in ready:
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if data == b"":
            open_socks.discard(s)
            closed += 1
print(closed)
PY

# 1. A silent connection is closed at the deadline.
printf '[DEFAULT]\nconnection_timeout = PT2S\n' > "$T/conf/mandos.conf"
start_server

# A version above 1 is refused before any TLS; "1" gets a ClientHello (TLS handshake record).
cat > "$T/version.py" <<'PY'
import socket, sys
s = socket.create_connection(("::1", int(sys.argv[1])))
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode())
s.settimeout(5)
data = s.recv(5)
print("tls" if data[:1] == b"\x16" else ("closed" if data == b"" else "other"))
PY
assert_eq "$(python3 "$T/version.py" "$PORT" '2\r\n')" closed "reply to version 2"
log_wait "Unknown protocol version: 2"
assert_eq "$(python3 "$T/version.py" "$PORT" '1\r\n')" tls "reply to version 1"
assert_eq "$(python3 "$T/version.py" "$PORT" '0 extra\n')" tls "reply to version 0"
assert_eq "$(python3 "$T/idle.py" 1 "$PORT" 1 $((30 * SLOW)))" 1 "silent connections closed"
log_wait "timed out waiting for the protocol version"
# Silent after the version: closed at the deadline in the TLS handshake.
assert_eq "$(python3 "$T/idle.py" 1 "$PORT" 1 $((30 * SLOW)) '1\r\n')" 1 \
	"connections silent in the handshake closed"
log_wait "timed out in the TLS handshake"
stop_server

# 2. 60 idle connections against a cap of 20, with a long deadline: the real client still
# gets in at once, and the idle ones are the ones closed.  All come from ::1, so the
# per-source limits (server-ratelimit.sh tests them) are lifted here.
LIFTED='source_rate = 0\nsource_connections = 1000\nunauthenticated_connections = 1000\n'
printf "[DEFAULT]\nconnection_timeout = PT1M\nmax_connections = 20\n$LIFTED" > "$T/conf/mandos.conf"
: > "$T/server.log"
start_server
rm -f "$T/idle.up"
python3 "$T/idle.py" 60 "$PORT" 40 $((30 * SLOW)) > "$T/flood.out" &
flood=$!
on_exit "kill $flood"
wait_for 30 test -e "$T/idle.up" || fail "the idle connections were not made"
assert_unlocks real
# Without eviction it would be refused until the idle ones time out after a minute.
assert_not_contains "$T/server.log" "timed out" "the server log when the real client got in"
wait "$flood"
closed=$(cat "$T/flood.out")
[ "$closed" -ge 40 ] || fail "only $closed idle connections were closed"
log_wait "too many connections"
stop_server

# 3. The same with connections that wait in the TLS handshake (on the handshake threads when
# there are several CPUs), and again with the server on one CPU (handshakes in its main loop).
for cpus in all one; do
	: > "$T/server.log"
	if [ $cpus = one ]; then
		taskset -p -c 0 $$ >/dev/null
	fi
	start_server
	taskset -p -c "0-$(($(nproc --all) - 1))" $$ >/dev/null
	rm -f "$T/idle.up"
	python3 "$T/idle.py" 60 "$PORT" 40 $((30 * SLOW)) '1\r\n' > "$T/flood.out" &
	flood=$!
	on_exit "kill $flood"
	wait_for 30 test -e "$T/idle.up" || fail "the idle connections were not made"
	assert_unlocks real
	assert_not_contains "$T/server.log" "timed out" "the server log when the real client got in"
	wait "$flood"
	closed=$(cat "$T/flood.out")
	[ "$closed" -ge 40 ] || fail "$cpus CPUs: only $closed connections in the handshake were closed"
	log_wait "too many connections"
	if [ $cpus = one ]; then
		! grep -q "Handshakes run on" "$T/server.log" || fail "threads on one CPU"
	elif [ "$(nproc)" -gt 1 ]; then
		grep -q "Handshakes run on $(nproc) threads" "$T/server.log" ||
			fail "no handshake threads with $(nproc) CPUs"
	fi
	stop_server
done
echo "deadlines close silent connections; idle floods are evicted, real clients served, with and without handshake threads"
