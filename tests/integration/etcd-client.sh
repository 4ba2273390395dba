#!/bin/sh -eu
# SPDX-License-Identifier: GPL-3.0-or-later
# server/etcd.c against a real single-member etcd (tests/tools/etcd-probe): get, put_if, delete,
# watch (order, progress, compaction, the stream's end), timeouts against a silent port and a
# stopped member, endpoint rotation, cancellation, and the 16 MiB bound.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd-lib.sh"

PROBE="$BUILD/tests/tools/etcd-probe"
require_cmd "$PROBE"

# Progress notifications every second, so that the test sees one.
ETCD_EXTRA_ARGS="--experimental-watch-progress-notify-interval=1s"
etcd_cluster_start 1
EP=$ETCD_URL_1

# Requests that should succeed get a timeout a busy machine cannot reach; the timeout cases
# give a short one (scaled too, as a request to the live member may follow).
probe() {
	$VALGRIND "$PROBE" --timeout=$((5000 * SLOW)) "$@"
}
short=$((1000 * SLOW))

echo "# get, put_if, delete"
probe "$EP" kv /probe/kv/

echo "# watch: events in order, progress, cancel inside a callback"
probe "$EP" watch /probe/w/ notify

echo "# watch from a compacted revision"
for i in 1 2 3; do
	etcdctl_ put /probe/c/k "v$i" >/dev/null
done
rev=$(etcdctl_ get /probe/c/k -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
etcdctl_ compact "$rev" >/dev/null
probe "$EP" compacted /probe/c/ $((rev - 2))

echo "# cancellation, and the client freed inside callbacks"
probe "$EP" cancel /probe/x/

echo "# an answer over 16 MiB"
probe "$EP" big /probe/big/

echo "# endpoint rotation: the first refuses (nothing listens), the second works"
dead=$(random_port)
probe "http://127.0.0.1:$dead,$EP" rotate /probe/r/

echo "# endpoint rotation: the first accepts and never answers"
# The default timeout, not $short: the one timeout also bounds the requests to the live
# member that follow, and a put there (an fsync) took over a second in a busy CI run.
silent=$(random_port)
silent_server "$silent"
probe "http://[::1]:$silent,$EP" rotate /probe/r/

# A timeout must come in its time, give or take what a busy machine adds.
slack=$((3000 * SLOW))
echo "# timeout: a port where nothing answers"
probe --timeout=$short "http://[::1]:$silent" timeout "$slack"

echo "# timeout: a stopped member"
etcd_member_stop 1
probe --timeout=$short "$EP" timeout "$slack"
etcd_member_cont 1
wait_for 30 etcd_member_healthy 1 || fail "etcd did not come back from SIGSTOP"

echo "# a watch on a stopped member ends when a request there times out"
mkfifo "$T/go"
probe --timeout=$short "$EP" hung /probe/h/ < "$T/go" > "$T/hung.out" 2> "$T/hung.err" &
probe_pid=$!
on_exit "kill $probe_pid"
exec 3> "$T/go"
wait_for 30 grep -q created "$T/hung.out" || {
	cat "$T/hung.err" >&2
	fail "the watch did not start"
}
etcd_member_stop 1
echo go >&3
rc=0
wait "$probe_pid" || rc=$?
exec 3>&-
etcd_member_cont 1
cat "$T/hung.out"
[ "$rc" -eq 0 ] || {
	cat "$T/hung.err" >&2
	fail "hung exited $rc"
}
wait_for 30 etcd_member_healthy 1 || fail "etcd did not come back from SIGSTOP"

echo "# the watch stream ends when the member dies"
probe "$EP" watch-end /probe/e/ > "$T/watch-end.out" 2> "$T/watch-end.err" &
probe_pid=$!
on_exit "kill $probe_pid"
wait_for 30 grep -q created "$T/watch-end.out" || {
	cat "$T/watch-end.err" >&2
	fail "the watch did not start"
}
etcd_member_kill 1
rc=0
wait "$probe_pid" || rc=$?
cat "$T/watch-end.out"
[ "$rc" -eq 0 ] || {
	cat "$T/watch-end.err" >&2
	fail "watch-end exited $rc"
}
assert_contains "$T/watch-end.out" "ended: "
etcd_member_start 1
probe "$EP" kv /probe/kv2/
echo "ok"
