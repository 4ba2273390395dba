#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Time-boxed approvals (issue 14): after mandos-ctl --approve-for, requests of a client that
# waits for approval (approval_delay PT1M, approved_by_default False) are approved at once,
# protocol 1 and protocol 2, with no NeedApproval; one already waiting is released; the window
# ends by itself (ApprovedUntil back to "") and with --approve-for=0; ApprovedUntil on D-Bus
# (busctl, PropertiesChanged) and in our mandos-ctl -v and --dump-json; it survives a restart
# while ahead and is dropped when passed; a bad duration is a usage error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/dbus-lib.sh"
. "$(dirname "$0")/server-p2-lib.sh"
require_cmd dbus-monitor
OUR_CTL=$BUILD/mandos-ctl/mandos-ctl
DELIVERY=se.recompile.Mandos.Client.Delivery

printf '[DEFAULT]\nsource_rate = 0\n' > "$T/conf/mandos.conf"
new_keys gate1
p2_keys gate2
new_keys plain
{
	printf '[DEFAULT]\nchecker = true\ninterval = PT1H\n\n'
	section gate1 "approval_delay = PT1M" "approved_by_default = False"
	p2_section gate2 "approval_delay = PT1M" "approved_by_default = False"
	section plain
} > "$T/conf/clients.conf"

start_bus ours
export DBUS_SYSTEM_BUS_ADDRESS="$BUS"
dbus-monitor --address "$BUS" "type='signal',interface='se.recompile.Mandos.Client'" \
	"type='signal',interface='org.freedesktop.DBus.Properties'" > "$T/monitor" 2>&1 &
on_exit "kill $!"
start_bus_server

ctl() {
	$VALGRIND "$OUR_CTL" "$@"
}
# until_of NAME: ApprovedUntil of NAME as busctl prints it (s "" when none).
until_of() {
	busctl --address="$BUS" get-property se.recompile.Mandos "/clients/$1" "$DELIVERY" \
		ApprovedUntil
}
pending() {
	ctl --dump-json "$1" | grep -q '"ApprovalPending": true'
}
not_pending() {
	! pending "$1"
}
no_window() {
	[ "$(until_of "$1")" = 's ""' ]
}
asks() {
	grep -c "Client $1 needs approval" "$T/server.log" || true
}

# Without a window a request waits; --approve-for releases the waiting ones (both protocols).
unlock gate1 60 &
G1=$!
on_exit "kill_job $G1"
p2_unlock gate2 &
G2=$!
on_exit "kill_job $G2"
wait_for 30 pending gate1 || fail "no approval pending for gate1"
wait_for 30 pending gate2 || fail "no approval pending for gate2"
ctl --approve-for=PT1M gate1 gate2 || fail "--approve-for failed"
wait "$G1" || fail "gate1's waiting request was not released: $(tail -n 3 "$T/err-gate1")"
cmp -s "$T/out-gate1" "$T/keys-gate1/pw" || fail "gate1 got the wrong secret"
wait "$G2" || fail "gate2's waiting request got no RESULT"
assert_contains "$T/p2err-gate2" "RESULT code=0 flags=0 value=0"
cmp -s "$T/p2out-gate2" "$T/p2-gate2/pw" || fail "gate2 got the wrong secret"
echo "waiting requests released by --approve-for"

# Inside the window: several unlocks in a row, at once, never asking.
before1=$(asks gate1) before2=$(asks gate2)
for i in 1 2 3; do
	assert_unlocks gate1
	assert_p2_unlocks gate2
done
assert_eq "$(asks gate1)" "$before1" "NeedApproval for gate1 inside the window"
assert_eq "$(asks gate2)" "$before2" "NeedApproval for gate2 inside the window"
assert_not_contains "$T/p2err-gate2" "STATUS"
log_wait "Client gate2 is approved for now (ApproveFor)"
echo "inside the window: unlocks at once, no NeedApproval (protocols 1 and 2)"

# The property: busctl, PropertiesChanged, our mandos-ctl -v and --dump-json.
until_of gate1 | grep -Eq '^s "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{6}"$' ||
	fail "ApprovedUntil of gate1: $(until_of gate1)"
assert_eq "$(until_of plain)" 's ""' "ApprovedUntil of plain"
changed() {
	grep -A12 "path=/clients/$1; interface=org.freedesktop.DBus.Properties; member=PropertiesChanged" \
		"$T/monitor" | grep -A8 "string \"$DELIVERY\"" | grep -q 'string "ApprovedUntil"'
}
wait_for 10 changed gate1 || { tail -n 40 "$T/monitor" >&2; fail "no PropertiesChanged"; }
want=$(until_of gate1 | sed 's/^s //')
ctl --dump-json > "$T/json" || fail "--dump-json failed"
python3 - "$T/json" "$want" <<'EOF' || fail "--dump-json: $(cat "$T/json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["gate1"]["ApprovedUntil"] == json.loads(sys.argv[2]), d["gate1"]
assert "ApprovedUntil" not in d["plain"], d["plain"]
assert list(d["gate1"])[-1] == "ApprovedUntil"
EOF
ctl -v > "$T/verbose" || fail "-v failed"
head -n 1 "$T/verbose" | grep -q ' Approved Until *$' || fail "-v header: $(head -n 1 "$T/verbose")"
grep "^gate1 " "$T/verbose" | grep -q "$(echo "$want" | tr -d '"') *\$" ||
	fail "-v row of gate1: $(cat "$T/verbose")"
# A client list without a window: exactly upstream's columns.
ctl -v plain > "$T/verbose-plain"
mandos-ctl -v plain > "$T/verbose-upstream"
cmp -s "$T/verbose-plain" "$T/verbose-upstream" || {
	diff "$T/verbose-upstream" "$T/verbose-plain" >&2
	fail "-v of a client without a window differs from upstream's mandos-ctl"
}
echo "ApprovedUntil: busctl, PropertiesChanged, -v and --dump-json"

# Cancelled with 0 (and PT0S): requests wait again.
ctl --approve-for=0 gate1 || fail "--approve-for=0 failed"
ctl --approve-for=PT0S gate2 || fail "--approve-for=PT0S failed"
assert_eq "$(until_of gate1)" 's ""' "ApprovedUntil after --approve-for=0"
assert_eq "$(until_of gate2)" 's ""' "ApprovedUntil after --approve-for=PT0S"
ctl --dump-json gate1 | grep -q ApprovedUntil && fail "--dump-json shows a cancelled window"
unlock gate1 60 &
G1=$!
on_exit "kill_job $G1"
wait_for 30 pending gate1 || fail "gate1 does not wait after the cancel"
ctl --deny gate1
wait_for 10 not_pending gate1 || fail "gate1 still pending after --deny"
kill_job "$G1"
[ ! -s "$T/out-gate1" ] || fail "gate1 got data after --deny"
echo "--approve-for=0 and PT0S cancel"

# The window ends by itself: ApprovedUntil goes back to "", then requests wait again.
ctl --approve-for=PT3S gate2 || fail "--approve-for=PT3S failed"
no_window gate2 && fail "no window after --approve-for=PT3S"
wait_for 30 no_window gate2 || fail "the window of gate2 did not end: $(until_of gate2)"
log_wait "Approval of every request of gate2 ended"
p2_unlock gate2 &
G2=$!
on_exit "kill_job $G2"
wait_for 30 pending gate2 || fail "gate2 does not wait after its window"
ctl --approval-duration=PT1H gate2 # for the next part: this denial holds for an hour
ctl --deny gate2
wait "$G2" || fail "gate2 got no RESULT after --deny"
assert_contains "$T/p2err-gate2" "RESULT code=3 flags=0 value=0"
echo "the window ends by itself"

# A denial given before (still valid for approval_duration) does not outlast a window.
assert_p2_result gate2 "code=3 flags=0 value=0" # the denial holds for the next request
ctl --approve-for=PT1H gate2
assert_p2_unlocks gate2
echo "--approve-for wins over an earlier denial"

# Bad durations: usage errors (exit 2), nothing changed.
for bad in foo "" -5 5 1x; do
	rc=0
	ctl --approve-for="$bad" gate1 2> "$T/bad.err" || rc=$?
	assert_eq "$rc" 2 "exit status of --approve-for='$bad'"
	assert_contains "$T/bad.err" "error: argument --approve-for: invalid duration"
done
rc=0
ctl --approve-for=PT1M 2> "$T/bad.err" || rc=$?
assert_eq "$rc" 2 "exit status of --approve-for without clients"
assert_eq "$(until_of gate1)" 's ""' "ApprovedUntil of gate1 after bad durations"
echo "bad durations: usage errors"

# A restart keeps a window still ahead (state file) and drops one that has passed.
ctl --approve-for=PT1H gate1
short=$((5 * SLOW))
ctl --approve-for=PT${short}S plain
kept=$(until_of gate1)
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "the server exited with $?"
grep -Eq '^approved_until [1-9][0-9]+$' "$T/state/clients.state" ||
	fail "no approved_until in the state file"
# plain's end, from the state file; wait until it has passed (the server is down).
end=$(awk '/^client plain$/ { p = 1 } p && /^approved_until / { print $2; exit }' \
	"$T/state/clients.state")
[ "${end:-0}" -gt 0 ] || fail "plain's window was not saved"
passed() {
	[ "$(date +%s%6N)" -gt "$1" ]
}
wait_for $((short + 10)) passed "$end" || fail "plain's window does not pass"
start_bus_server
assert_eq "$(until_of gate1)" "$kept" "ApprovedUntil of gate1 after a restart"
assert_eq "$(until_of plain)" 's ""' "ApprovedUntil of plain (passed) after a restart"
before1=$(asks gate1)
assert_unlocks gate1
assert_eq "$(asks gate1)" "$before1" "NeedApproval for gate1 after a restart"
# A state file of an earlier version (no approved_until lines) reads as no window.
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "the server exited with $?"
sed -i '/^approved_until /d' "$T/state/clients.state"
start_bus_server
assert_eq "$(until_of gate1)" 's ""' "ApprovedUntil from a state file without it"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "the server exited with $?"
echo "a restart keeps a window ahead, drops a passed one; older state files read as none"
