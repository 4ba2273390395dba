#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# password-agent ignores dead or expired questions, cancels withdrawn ones, and fails cleanly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/password-agent-lib.sh"

# A client that records that it ran, and whether it was told to stop (the trap first: a TERM
# right after slow.started appears must find it set).
fake_client slow "trap 'touch \"$T/slow.term\"; exit 143' TERM
touch '$T/slow.started'
sleep 30 &
wait \$!"
fake_client quick "touch '$T/quick.started'; printf pw"

echo "# no question files at all: error, exit 1, no client"
run_agent "$PA" -d "$ASKDIR" "$T/quick"
assert_eq "$rc" 1 "exit status"
assert_contains "$T/agent.err" "There are no question files in $ASKDIR"
[ ! -e "$T/quick.started" ] || fail "the client was started"

echo "# a question whose asker is dead is ignored"
listen dead
ask dead 0 "$(dead_pid)"
run_agent "$PA" -d "$ASKDIR" "$T/quick"
assert_eq "$rc" 0 "exit status"
assert_contains "$T/agent.err" "the asking process does not exist"
[ ! -e "$T/quick.started" ] || fail "the client was started for a dead asker"
no_answer dead

echo "# ... while a live question next to it is answered"
listen live
ask live
run_agent "$PA" -d "$ASKDIR" "$T/quick"
assert_eq "$rc" 0 "exit status"
assert_eq "$(received live)" "b'+pw\\x00'" "live answer"
rm -f "$ASKDIR"/ask.* "$T"/*.out "$T"/*.sock "$T/quick.started"

echo "# a question past its NotAfter= is ignored"
listen old
ask old "$(($(mono_usec) - 1000000))"
run_agent "$PA" -d "$ASKDIR" "$T/quick"
assert_eq "$rc" 0 "exit status"
assert_contains "$T/agent.err" "NotAfter= time has passed"
[ ! -e "$T/quick.started" ] || fail "the client was started for an expired question"
no_answer old
rm -f "$ASKDIR"/ask.*

echo "# a question times out at NotAfter=; the client still running is stopped"
listen timeout
ask timeout "$(($(mono_usec) + 1500000))"
start=$(now_ms)
run_agent "$PA" -d "$ASKDIR" "$T/slow"
took=$(($(now_ms) - start))
assert_eq "$rc" 0 "exit status"
assert_contains "$T/agent.err" "Question ask.timeout timed out"
[ "$took" -ge 1400 ] || fail "gave up after $took ms, before NotAfter"
[ "$took" -lt $((20000 * SLOW)) ] || fail "took $took ms"
wait_for 5 test -e "$T/slow.term" || fail "the client was not stopped"
no_answer timeout
rm -f "$ASKDIR"/ask.* "$T"/slow.*

for how in delete move; do
	echo "# a question withdrawn ($how) is cancelled and the client stopped"
	listen "w$how"
	ask "w$how"
	(
		wait_for 20 test -e "$T/slow.started"
		if [ "$how" = delete ]; then
			rm "$ASKDIR/ask.w$how"
		else
			mv "$ASKDIR/ask.w$how" "$T/moved-away"
		fi
	) &
	start=$(now_ms)
	run_agent "$PA" -d "$ASKDIR" "$T/slow"
	took=$(($(now_ms) - start))
	assert_eq "$rc" 0 "exit status"
	assert_contains "$T/agent.err" "Question ask.w$how was withdrawn"
	[ "$took" -lt $((20000 * SLOW)) ] || fail "took $took ms"
	wait_for 5 test -e "$T/slow.term" || fail "the client was not stopped"
	no_answer "w$how"
	rm -f "$ASKDIR"/ask.* "$T"/slow.*
done

echo "# the client fails: exit 1, no answer"
fake_client fail 'printf s3cret; exit 1'
listen fail
ask fail
run_agent "$PA" -d "$ASKDIR" "$T/fail"
assert_eq "$rc" 1 "exit status"
assert_contains "$T/agent.err" "Mandos client failed or was killed"
no_answer fail
rm -f "$ASKDIR"/ask.*

echo "# the client is killed by a signal: exit 1"
fake_client killed 'printf s3cret; kill -KILL $$'
listen killed
ask killed
run_agent "$PA" -d "$ASKDIR" "$T/killed"
assert_eq "$rc" 1 "exit status"
assert_contains "$T/agent.err" "Mandos client failed or was killed"
no_answer killed
rm -f "$ASKDIR"/ask.*

echo "# a client that cannot be executed: exit 1"
listen noexec
ask noexec
run_agent "$PA" -d "$ASKDIR" "$T/does-not-exist"
assert_eq "$rc" 1 "exit status"
no_answer noexec
rm -f "$ASKDIR"/ask.*

echo "# output over the 64 KiB cap is not sent"
fake_client big 'head -c 70000 /dev/zero | tr "\\0" x'
listen big
ask big
run_agent "$PA" -d "$ASKDIR" "$T/big"
assert_eq "$rc" 1 "exit status"
assert_contains "$T/agent.err" "printed more than 65536 bytes"
no_answer big
rm -f "$ASKDIR"/ask.*

echo "# ... while 64 KiB exactly is sent"
fake_client max 'head -c 65536 /dev/zero | tr "\\0" x'
listen max
ask max
run_agent "$PA" -d "$ASKDIR" "$T/max"
assert_eq "$rc" 0 "exit status"
python3 -c 'import sys; d = eval(open(sys.argv[1]).read()); assert d == b"+" + b"x" * 65536 + b"\0", len(d)' \
	"$T/max.out" || fail "the 64 KiB answer is wrong"
rm -f "$ASKDIR"/ask.*

echo "# success with no output is a failure, not an empty password"
fake_client empty 'exit 0'
listen empty
ask empty
run_agent "$PA" -d "$ASKDIR" "$T/empty"
assert_eq "$rc" 1 "exit status"
assert_contains "$T/agent.err" "gave no password"
no_answer empty
rm -f "$ASKDIR"/ask.*

echo "# SIGTERM stops the client and the agent dies of the signal"
listen term
ask term
set +e
$VALGRIND "$PA" -d "$ASKDIR" "$T/slow" 2>"$T/agent.err" &
apid=$!
set -e
on_exit "kill -KILL $apid 2>/dev/null"
wait_for 20 test -e "$T/slow.started" || fail "the client did not start"
kill -TERM "$apid"
set +e
wait "$apid"
rc=$?
set -e
assert_eq "$rc" 143 "status of the agent after SIGTERM"
[ -e "$T/slow.term" ] || fail "the client was not stopped before the agent exited"
no_answer term
