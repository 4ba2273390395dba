#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# scripts/leftover-processes.sh, which scripts/test.sh runs after the suites: it finds a process
# left behind by its environment marker, and one with a clean environment by the directory it
# runs in or names, names the test, kills them with --kill, and then finds nothing.
. "$(dirname "$0")/lib.sh"
require_cmd setsid

CHECK=$SRC/scripts/leftover-processes.sh
marker=selftest-$$-$(date +%N)
mkdir "$T/run"

echo "# nothing of this run yet"
sh "$CHECK" "$marker" "$T/run" 2> "$T/none.err" || fail "found something: $(cat "$T/none.err")"

echo "# a detached process with the marker, and one with a clean environment in the run's dir"
# Both in sessions of their own and reparented to init once their shells exit, as a leaked
# daemon would be.
MANDOS_SUITE=$marker setsid sh -c 'sleep 1000 & echo $! > "$1"' sh "$T/pid1"
(cd "$T/run" && env -i setsid sh -c 'sleep 1001 & echo $! > "$1"' sh "$T/pid2")
pid1=$(cat "$T/pid1") pid2=$(cat "$T/pid2")
on_exit "kill $pid1 $pid2"
rc=0
sh "$CHECK" "$marker" "$T/run" 2> "$T/found.err" || rc=$?
assert_eq "$rc" 1 "exit status with two processes left"
assert_contains "$T/found.err" "pid $pid1 (test leftover-processes, "
assert_contains "$T/found.err" "environment): sleep 1000"
assert_contains "$T/found.err" "pid $pid2 ("
assert_contains "$T/found.err" "working directory in $T/run): sleep 1001"
assert_not_contains "$T/found.err" "pid $$ "

echo "# --kill stops them; then nothing is left"
rc=0
sh "$CHECK" --kill "$marker" "$T/run" 2> /dev/null || rc=$?
assert_eq "$rc" 1 "exit status of --kill with processes left"
wait_for 10 sh -c "! kill -0 $pid1 2>/dev/null && ! kill -0 $pid2 2>/dev/null" ||
	fail "--kill did not stop them"
sh "$CHECK" "$marker" "$T/run" 2> "$T/after.err" || fail "still found: $(cat "$T/after.err")"

echo "# a process named by its command line, or holding a file open there"
setsid env -i "$(command -v python3)" -c 'import time; time.sleep(1002)' "$T/run/arg" &
wait_for 10 pgrep -f "time.sleep.1002. $T/run/arg" || fail "the python3 did not start"
setsid sh -c 'exec env -i sleep 1003 3> "$1"' sh "$T/run/open" &
wait_for 10 pgrep -f "^sleep 1003" || fail "the second sleep did not start"
on_exit "pkill -f '^sleep 1003|time.sleep.1002'"
rc=0
sh "$CHECK" --kill "$marker" "$T/run" 2> "$T/other.err" || rc=$?
assert_eq "$rc" 1 "exit status"
assert_contains "$T/other.err" "command line names $T/run): "
assert_contains "$T/other.err" "open file in $T/run): sleep 1003"

echo "# a program of the build tree by its executable, with a clean environment elsewhere"
mkdir "$T/bin"
cp "$(command -v sleep)" "$T/bin/our-program"
(cd / && env -i setsid "$T/bin/our-program" 1004 &)
wait_for 10 pgrep -f "our-program 1004" || fail "the program did not start"
on_exit "pkill -f 'our-program 1004'"
rc=0
sh "$CHECK" --kill "$marker" --exe-in="$T/bin" 2> "$T/exe.err" || rc=$?
assert_eq "$rc" 1 "exit status"
assert_contains "$T/exe.err" "executable in $T/bin): $T/bin/our-program 1004"
echo "leftover-processes: ok"
