#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Protocol 2 decisions as D-Bus shows and drives them (spec/protocol-2.md §A.4.4, §A.5.1):
# ClientNotFound for an unknown key, DISABLED value 1 after mandos-ctl --disable with
# Rejected "Disabled", DENIED after --deny with Rejected "Denied", ApprovalPending dropping
# when the client aborts its wait with FINAL, GotSecret, and Rejected "Release limit".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/dbus-lib.sh"
. "$(dirname "$0")/server-p2-lib.sh"
require_cmd dbus-monitor

printf '[DEFAULT]\nsource_rate = 0\n' > "$T/conf/mandos.conf"
for n in admin gate limited stranger; do
	p2_keys "$n"
done
{
	printf '[DEFAULT]\nchecker = true\ninterval = PT1H\n\n'
	p2_section admin
	p2_section gate "approval_delay = PT1M" "approved_by_default = False"
	p2_section limited "release_limit = 1"
} > "$T/conf/clients.conf"
mkdir -p "$T/state"
chmod 777 "$T/state"

start_bus ours
export DBUS_SYSTEM_BUS_ADDRESS="$BUS"
dbus-monitor --address "$BUS" "type='signal',interface='se.recompile.Mandos'" \
	"type='signal',interface='se.recompile.Mandos.Client'" > "$T/monitor" 2>&1 &
on_exit "kill $!"
$VALGRIND "$MANDOS" --configdir "$T/conf" --statedir "$T/state" --no-zeroconf --address ::1 \
	--port "$PORT" --foreground --debug > "$T/server.log" 2>&1 &
SERVER_PID=$!
on_exit "kill -9 $SERVER_PID"
wait_for 30 bus_name_owned "$BUS" se.recompile.Mandos || fail "not on the bus"
wait_for 30 _port_open "$PORT" || fail "the server does not listen"

pending() {
	mandos-ctl --dump-json gate | grep -q '"ApprovalPending": true'
}

assert_p2_result stranger "code=1 flags=0 value=0"
expect ClientNotFound "string \"$(p2_key_id stranger)\""

mandos-ctl --disable admin
assert_p2_result admin "code=2 flags=0 value=1"
expect Rejected 'string "Disabled"'
mandos-ctl --enable admin
assert_p2_unlocks admin
expect GotSecret ''

# Denied while waiting.
p2_unlock gate &
GATE=$!
on_exit "kill_job $GATE"
wait_for 15 pending || fail "no approval pending for gate"
expect NeedApproval 'uint64 60000'
mandos-ctl --deny gate
wait "$GATE" || fail "gate got no RESULT after --deny"
assert_contains "$T/p2err-gate" "RESULT code=3 flags=0 value=0"
expect Rejected 'string "Denied"'
wait_for 10 sh -c "! mandos-ctl --dump-json gate | grep -q '\"ApprovalPending\": true'" ||
	fail "ApprovalPending after the denial"

# The client aborts its wait: ApprovalPending drops then, not after the minute of delay.
sleep $((1 + SLOW)) # let the denial (approval_duration, 1 s) lapse
p2_unlock gate --abort-on-status || fail "gate got no STATUS"
assert_contains "$T/p2err-gate" "ABORTED"
wait_for 5 sh -c "! mandos-ctl --dump-json gate | grep -q '\"ApprovalPending\": true'" ||
	fail "ApprovalPending stays after the client's FINAL"
log_wait "Client gate aborted its request"

# The release limit.
assert_p2_unlocks limited
assert_p2_result limited "code=6 flags=1 "
expect Rejected 'string "Release limit"'
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "the server exited with $?"
echo "protocol 2 decisions on D-Bus: ClientNotFound, Disabled, Denied, ApprovalPending, limit"
