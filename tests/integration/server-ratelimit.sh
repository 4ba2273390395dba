#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Admission before any crypto (spec/protocol-2.md §A.7.4): a source with source_connections
# unauthenticated connections gets its next one closed right after accept while another source
# still unlocks; the per-source token bucket; the cap on unauthenticated connections in all;
# refusals are logged once per source and interval, not per connection.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
require_cmd python3

new_keys real
{
	printf '[DEFAULT]\nchecker = true\n\n'
	section real
} > "$T/conf/clients.conf"

# hold.py PORT SRC N EXTRA: from address SRC open N connections to 127.0.0.1:PORT that send
# nothing, then EXTRA more, each waited for until the server closes it (or 10 s x $SLOW); print
# "refused K" (how many of the EXTRA were closed) and "closed M" (how many of the first N were
# closed meanwhile), touch $T/held.SRC, and keep the N open until killed.
cat > "$T/hold.py" <<'PY'
import os, select, socket, sys, time
port, src, n, extra = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
slow = int(os.environ.get("SLOW", "1"))
def connect():
    s = socket.socket(socket.AF_INET)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s
held = [connect() for _ in range(n)]
refused = 0
for _ in range(extra):
    s = connect()
    r, _, _ = select.select([s], [], [], 10 * slow)
    try:
        if r and s.recv(1) == b"":
            refused += 1
    except OSError:
        refused += 1
    s.close()
r, _, _ = select.select(held, [], [], 0.2)
print("refused", refused)
print("closed", len(r), flush=True)
open(os.path.join(os.path.dirname(sys.argv[0]), "held." + src), "w").close()
time.sleep(3600)
PY
export SLOW

# hold SRC N EXTRA: run hold.py in the background, wait until it holds; its output in
# $T/hold.SRC.  refused SRC / closed SRC: its counts.  unhold PID...: end hold.py runs.
hold() {
	rm -f "$T/held.$1"
	python3 "$T/hold.py" "$PORT" "$1" "$2" "$3" > "$T/hold.$1" &
	HOLD_PID=$!
	on_exit "kill $HOLD_PID"
	wait_for 60 test -e "$T/held.$1" || fail "hold.py from $1 did not finish"
}
refused() { sed -n 's/^refused //p' "$T/hold.$1"; }
closed() { sed -n 's/^closed //p' "$T/hold.$1"; }
unhold() {
	kill "$@"
	wait "$@" 2>/dev/null || true
}
# with_limits SETTINGS: a fresh log and the server on 127.0.0.1 with these mandos.conf lines.
with_limits() {
	printf "[DEFAULT]\nconnection_timeout = PT1M\n$1" > "$T/conf/mandos.conf"
	: > "$T/server.log"
	start_server --no-ipv6 --address 127.0.0.1
}

# 1. A per-source cap of 16 (the default): the 17th idle connection from 127.0.0.2 is closed at
# once, the 16 stay, and a client from 127.0.0.1 unlocks meanwhile.  The bucket is off here.
with_limits 'source_rate = 0\n'
hold 127.0.0.2 16 10
assert_eq "$(refused 127.0.0.2)" 10 "refused past the per-source cap"
assert_eq "$(closed 127.0.0.2)" 0 "held connections closed"
CONNECT_ADDR=127.0.0.1 assert_unlocks real
log_wait "Refusing connections from 127.0.0.2: 16 unauthenticated connections"
lines=$(grep -c "Refusing connections from 127.0.0.2" "$T/server.log")
[ "$lines" -lt 10 ] || fail "a log line per refused connection ($lines)"
unhold "$HOLD_PID"
# The closed ones no longer count: the source gets in again.
hold 127.0.0.2 16 1
assert_eq "$(refused 127.0.0.2)" 1 "refused after reconnecting"
assert_eq "$(closed 127.0.0.2)" 0 "held after reconnecting"
unhold "$HOLD_PID"
stop_server

# 2. The token bucket: 1 per second, burst 3.  Of 3 + 6 quick connections, the first 3 stay
# and at least one of the others is closed at once (a slow machine may earn a token or two).
with_limits 'source_rate = 1\nsource_burst = 3\n'
hold 127.0.0.2 3 6
[ "$(refused 127.0.0.2)" -ge 1 ] || fail "the bucket refused nothing"
assert_eq "$(closed 127.0.0.2)" 0 "connections within the burst closed"
log_wait "Refusing connections from 127.0.0.2: more than 1 new connections per second"
unhold "$HOLD_PID"
stop_server

# 3. unauthenticated_connections = 20 in all: 16 from one source, 4 from another, then the
# next from either is refused.
with_limits 'source_rate = 0\nunauthenticated_connections = 20\n'
hold 127.0.0.2 16 0
first=$HOLD_PID
hold 127.0.0.3 4 2
assert_eq "$(refused 127.0.0.3)" 2 "refused past the total cap"
log_wait "20 unauthenticated connections already"
unhold "$first" "$HOLD_PID"
stop_server
echo "per-source cap, per-source bucket and the total cap refuse at accept; other sources unlock"
