#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The RESULT codes of protocol 2 from our running server (spec/protocol-2.md §A.4.3, §A.5):
# OK with a sealed item, UNKNOWN_CLIENT, NO_MATERIAL (a section without protocol 2, a request
# without WANT_SEALED), DISABLED with its reasons (never checked OK, checker timed out),
# APPROVAL_TIMEOUT and OK after approved_by_default, each after STATUS AWAITING_APPROVAL, BUSY
# (TRY_LATER 10) for a fifth request waiting at once, a wait the client aborts with FINAL, and
# UNKNOWN_CLIENT to a waiting request whose section a reload removed, and TRY_LATER 10 to a
# waiting request when the server stops.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/server-p2-lib.sh"

printf '[DEFAULT]\nsource_rate = 0\n' > "$T/conf/mandos.conf"
for n in ok p1only never flaky slowno slowyes busy quitter; do
	p2_keys "$n"
done
p2_keys stranger
{
	printf '[DEFAULT]\nchecker = true\n\n'
	p2_section ok
	p2_section p1only "protocols = 1" "secret = YQ=="
	# Never succeeds: disabled when its first timeout passes.
	p2_section never "checker = false" "interval = PT1S" "timeout = PT1S"
	# Succeeds until $T/flaky-fails exists, then times out.
	p2_section flaky "checker = test ! -e $T/flaky-fails" "interval = PT1S" "timeout = PT2S"
	p2_section slowno "approval_delay = PT2S" "approved_by_default = False"
	p2_section slowyes "approval_delay = PT2S" "approved_by_default = True"
	p2_section busy "approval_delay = PT1M" "approved_by_default = False"
	p2_section quitter "approval_delay = PT1M" "approved_by_default = True"
} > "$T/conf/clients.conf"
chmod 777 "$T"
start_server

assert_p2_unlocks ok
log_wait "Sending secret to ok (protocol 2: sealed)"
assert_contains "$T/p2err-ok" "SERVER key ID $P2_SERVER_KEY_ID"

assert_p2_result stranger "code=1 flags=0 value=0"
log_wait "Client not found for key ID: $(p2_key_id stranger), address: "
assert_p2_result p1only "code=5 flags=0 value=0"
# WANT_SEALED not set (SHOWS_STATUS only): nothing requested that exists.
assert_p2_result ok "code=5 flags=0 value=0" --flags=4

# DISABLED, value 3 (never checked OK) and 2 (the checker timed out after a success).
log_wait "Disabling client never" 10
assert_p2_result never "code=2 flags=0 value=3"
log_wait "Checker for flaky succeeded" 10
touch "$T/flaky-fails"
log_wait "Disabling client flaky" 15
assert_p2_result flaky "code=2 flags=0 value=2"

# Approval: STATUS AWAITING_APPROVAL at the start of the wait (value = seconds left, flags bit 0
# = approved_by_default), then APPROVAL_TIMEOUT or OK.
assert_p2_result slowno "code=4 flags=0 value=0"
assert_contains "$T/p2err-slowno" "STATUS code=1 flags=0 value=2"
log_wait "Client slowno timed out while waiting for approval"
assert_p2_unlocks slowyes
assert_contains "$T/p2err-slowyes" "STATUS code=1 flags=1 value=2"

# BUSY: four requests of one client wait for approval; the fifth gets TRY_LATER 10 at once.
pids=""
for i in 1 2 3 4; do
	cp -r "$T/p2-busy" "$T/p2-busy$i"
	p2_unlock "busy$i" &
	pids="$pids $!"
	on_exit "kill_job $!"
	wait_for 10 sh -c "[ \$(grep -c 'Client busy needs approval' '$T/server.log') -ge $i ]" ||
		fail "request $i of busy is not waiting"
done
assert_p2_result busy "code=6 flags=0 value=10"
log_wait "Client busy has 4 requests waiting already: busy"
for p in $pids; do
	kill_job "$p"
done

# The client's FINAL ends the wait at once (not after the minute of approval_delay).
p2_unlock quitter --abort-on-status || fail "quitter did not get its STATUS"
assert_contains "$T/p2err-quitter" "ABORTED"
log_wait "Client quitter aborted its request" 5
assert_not_contains "$T/server.log" "Sending secret to quitter"
kill -0 "$SERVER_PID" || fail "the server died"
assert_p2_unlocks ok

# wait_start NAME: NAME's request in the background, waiting for approval; its pid in $WAITER.
wait_start() {
	_waits=$(grep -c "Client $1 needs approval" "$T/server.log")
	p2_unlock "$1" &
	WAITER=$!
	on_exit "kill_job $WAITER"
	wait_for 10 sh -c "[ \$(grep -c 'Client $1 needs approval' '$T/server.log') -gt $_waits ]" ||
		fail "$1 is not waiting"
}

# A reload keeps a waiting request; removing its section answers it as unknown.
wait_start quitter
awk '/^\[/ { skip = ($0 == "[quitter]") } !skip' "$T/conf/clients.conf" > "$T/conf/new"
mv "$T/conf/new" "$T/conf/clients.conf"
kill -HUP "$SERVER_PID"
log_wait "Removing client quitter"
wait "$WAITER" || fail "no RESULT after the reload"
assert_contains "$T/p2err-quitter" "RESULT code=1 flags=0 value=0"

# A server shutting down tells a waiting request to try again in 10 s.
wait_start busy
stop_server
wait "$WAITER" || fail "no RESULT when the server stopped"
assert_contains "$T/p2err-busy" "RESULT code=6 flags=0 value=10"
echo "protocol 2 RESULT codes, STATUS, BUSY and the client's abort behave"
