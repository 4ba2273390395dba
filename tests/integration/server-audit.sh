#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The audit log (issue 14, man mandos(8) AUDIT LOG) with audit_log = FILE: a bad path stops
# the start with EX_CANTCREAT; then one JSON line per decision of both protocols, with the
# right values (grant, unknown key, disabled by mandos-ctl, denied by mandos-ctl, a wait the
# client gives up, release limit; protocol 2 also NO_MATERIAL, APPROVAL_TIMEOUT and escrow
# grants; requests waiting when the server stops); SIGHUP reopens the file (logrotate's mv +
# HUP), and a reopen that fails keeps the old file; no password, OpenPGP message, sealed box
# or escrow scalar in any form in any of the files.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/dbus-lib.sh"
. "$(dirname "$0")/server-p2-lib.sh"
. "$(dirname "$0")/audit-lib.sh"

LOG=$T/audit/audit.log
mkdir -p "$T/audit" "$T/state"
chmod 777 "$T/state"

# A directory that does not exist: no start, the path and the reason, EX_CANTCREAT (73).
mkdir -p "$T/badconf"
printf '[DEFAULT]\naudit_log = %s\n' "$T/missing/audit.log" > "$T/badconf/mandos.conf"
printf '[DEFAULT]\n' > "$T/badconf/clients.conf"
rc=0
timeout $((20 * SLOW)) "$MANDOS" --configdir "$T/badconf" --statedir "$T/state" --no-dbus \
	--no-zeroconf --address ::1 --port "$PORT" --debug > "$T/bad.log" 2>&1 || rc=$?
assert_eq "$rc" 73 "exit status with a missing audit log directory"
assert_contains "$T/bad.log" \
	"Cannot open the audit log $T/missing/audit.log: No such file or directory"

printf '[DEFAULT]\nsource_rate = 0\naudit_log = %s\nserver_name = audit-test\n' "$LOG" \
	> "$T/conf/mandos.conf"
for n in one gate1 limited1 stranger1; do
	new_keys "$n"
done
for n in ok gate limited slowno esc stranger; do
	p2_keys "$n"
done
p2_escrow esc one
{
	printf '[DEFAULT]\nchecker = true\ninterval = PT1H\n\n'
	section one
	section gate1 "approval_delay = PT1M" "approved_by_default = False"
	section limited1 "release_limit = 1"
	p2_section ok
	p2_section gate "approval_delay = PT1M" "approved_by_default = False"
	p2_section limited "release_limit = 1"
	p2_section slowno "approval_delay = PT1S" "approved_by_default = False"
	p2_section esc "escrow_key = $(p2_S esc one)"
} > "$T/conf/clients.conf"

start_bus ours
export DBUS_SYSTEM_BUS_ADDRESS="$BUS"
start_bus_server
# Opened as root (before the privilege drop) in a directory only root may write.
[ -e "$LOG" ] || fail "no audit log $LOG"
assert_eq "$(stat -c %a "$LOG")" 640 "mode of the audit log"

N=0
# next K=V...: one more line, the last one with these values (and the ones every line has).
next() {
	N=$((N + 1))
	audit_wait "$LOG" "$N"
	audit_last "$LOG" server=audit-test address=::1 interface=lo "$@"
}
kid1() {
	key_id "$1" | tr a-f A-F
}

# p1_request NAME: upstream's client in the background, trying once (the next try would be in
# 10 minutes); p1_stop NAME stops it.
p1_request() {
	UNLOCK_RETRY=600 unlock "$1" 600 &
	P1_PID=$!
	on_exit "kill_job $P1_PID"
}
p1_stop() {
	kill_job "$P1_PID"
	[ ! -s "$T/out-$1" ] || fail "client $1 got data"
}
# p1_refused NAME K=V...: one request of NAME, refused with a line with these values.
p1_refused() {
	_n=$1
	shift
	p1_request "$_n"
	next protocol=1 "$@"
	p1_stop "$_n"
}
pending() {
	mandos-ctl --dump-json "$1" | grep -q '"ApprovalPending": true'
}

# Protocol 1.
assert_unlocks one
next protocol=1 decision=granted client=one "key_id=$(kid1 one)" reason=null
p1_refused stranger1 decision=unknown_client client=null "key_id=$(kid1 stranger1)"
mandos-ctl --disable one
p1_refused one decision=disabled client=one "key_id=$(kid1 one)" \
	"reason=disabled by an administrator"
mandos-ctl --enable one
p1_request gate1
wait_for 15 pending gate1 || fail "no approval pending for gate1"
mandos-ctl --deny gate1
next protocol=1 decision=denied client=gate1 "key_id=$(kid1 gate1)" \
	"reason=denied by an administrator"
p1_stop gate1
sleep $((1 + SLOW)) # let the denial (approval_duration, 1 s) lapse
p1_request gate1
wait_for 15 pending gate1 || fail "no approval pending for gate1"
p1_stop gate1
next protocol=1 decision=aborted client=gate1 "key_id=$(kid1 gate1)" "reason=client went away"
assert_unlocks limited1
next protocol=1 decision=granted client=limited1
p1_refused limited1 decision=release_limit client=limited1 "reason=release limit reached"

# Protocol 2.
assert_p2_unlocks ok
next protocol=2 decision=granted client=ok "key_id=$(p2_key_id ok)" reason=sealed
assert_p2_result stranger "code=1 flags=0 value=0"
next protocol=2 decision=unknown_client client=null "key_id=$(p2_key_id stranger)" reason=null
assert_p2_result ok "code=5 flags=0 value=0" --flags=4
next protocol=2 decision=no_material client=ok "reason=nothing for the request"
mandos-ctl --disable ok
assert_p2_result ok "code=2 flags=0 value=1"
next protocol=2 decision=disabled client=ok "reason=disabled by an administrator"
mandos-ctl --enable ok
p2_unlock gate &
GATE=$!
on_exit "kill_job $GATE"
wait_for 15 pending gate || fail "no approval pending for gate"
mandos-ctl --deny gate
wait "$GATE" || fail "gate got no RESULT after --deny"
assert_contains "$T/p2err-gate" "RESULT code=3 flags=0 value=0"
next protocol=2 decision=denied client=gate "key_id=$(p2_key_id gate)"
sleep $((1 + SLOW))
p2_unlock gate --abort-on-status || fail "gate got no STATUS"
next protocol=2 decision=aborted client=gate "reason=client went away"
assert_p2_unlocks limited
next protocol=2 decision=granted client=limited
assert_p2_result limited "code=6 flags=1 "
next protocol=2 decision=release_limit client=limited "reason=release limit reached"
assert_p2_result slowno "code=4 flags=0 value=0"
# The approval wait (1 s) is part of the latency.
next protocol=2 decision=approval_timeout client=slowno "reason=approval delay passed" \
	"latency_ms>=1000"
assert_p2_escrow_unlocks esc one
next protocol=2 decision=granted client=esc reason=escrow
p2_unlock esc --escrow="$T/p2-esc/escrow-one.conf" || fail "esc: sealed and escrow"
assert_contains "$T/p2err-esc" "RESULT code=0 flags=0 value=0"
next protocol=2 decision=granted client=esc "reason=sealed and escrow"

# Exactly one line per decision, each of the documented form; latency from accept().
audit_check "$LOG" "$N"
assert_eq "$(audit_count "$LOG" decision=granted)" 6 "granted lines"

# logrotate: mv, then SIGHUP; the next decision lands in a new file, the old one keeps its
# lines.  The server runs as its own user now: let it create the new file.
chmod 777 "$T/audit"
mv "$LOG" "$LOG.1"
cp "$LOG.1" "$T/rotated"
kill -HUP "$SERVER_PID"
log_wait "Reopened the audit log $LOG"
assert_p2_unlocks ok
audit_wait "$LOG" 1
audit_check "$LOG" 1
audit_last "$LOG" decision=granted client=ok protocol=2
cmp -s "$LOG.1" "$T/rotated" || fail "the rotated audit log changed after the reopen"

# A reopen that fails (the directory is not writable now) keeps writing to the old file.
mv "$LOG" "$LOG.2"
chmod 555 "$T/audit"
kill -HUP "$SERVER_PID"
log_wait "Cannot reopen the audit log $LOG (still writing to the old file)"
assert_p2_result stranger "code=1 flags=0 value=0"
audit_wait "$LOG.2" 2
audit_check "$LOG.2" 2
audit_last "$LOG.2" decision=unknown_client protocol=2
[ ! -e "$LOG" ] || fail "$LOG made although its directory is not writable"
chmod 755 "$T/audit"

# Requests that wait when the server stops: aborted, both protocols.
p1_request gate1
p2_unlock gate &
GATE=$!
on_exit "kill_job $GATE"
wait_for 15 pending gate1 || fail "no approval pending for gate1"
wait_for 15 pending gate || fail "no approval pending for gate"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "the server exited with $?"
p1_stop gate1
kill_job "$GATE"
audit_check "$LOG.2" 4
assert_eq "$(audit_count "$LOG.2" decision=aborted "reason=server stopping" client=gate1 \
	protocol=1)" 1 "protocol 1 requests aborted at the stop"
assert_eq "$(audit_count "$LOG.2" decision=aborted "reason=server stopping" client=gate \
	protocol=2)" 1 "protocol 2 requests aborted at the stop"
audit_check "$LOG.1" "$N"

# No secret in any form: the passwords, protocol 1's OpenPGP messages (clients.conf's
# secret), protocol 2's sealed boxes and escrow scalars.
for n in one gate1 limited1; do
	awk '/^secret =/ { on = 1; next } on && /^[ \t]/ { print; next } { on = 0 }' \
		"$T/keys-$n/section" > "$T/keys-$n/secret.b64"
	[ -s "$T/keys-$n/secret.b64" ] || fail "no secret in the section of $n"
done
audit_no_secret "$LOG.1" "$LOG.2" \
	--raw "$T"/keys-*/pw "$T"/p2-*/pw \
	--b64 "$T"/keys-*/secret.b64 "$T"/p2-*/sealed "$T"/p2-*/S-*
assert_no_scalar "$LOG.1" "$LOG.2"
# The search finds what it looks for: a password in hex, a piece of a sealed box in base64 at
# another alignment, an OpenPGP message in base64.
printf '%s\n' "$(od -An -tx1 "$T/p2-ok/pw" | tr -d ' \n')" > "$T/planted-hex"
base64 -d "$T/p2-ok/sealed" | tail -c +2 | base64 -w0 > "$T/planted-b64"
tr -d ' \n' < "$T/keys-one/secret.b64" > "$T/planted-pgp"
for f in planted-hex planted-b64 planted-pgp; do
	cat "$LOG.1" "$T/$f" > "$T/$f.log"
	! $AUDIT_CHECK secrets "$T/$f.log" --raw "$T"/p2-*/pw --b64 "$T"/keys-*/secret.b64 \
		"$T"/p2-*/sealed 2>/dev/null || fail "the secret search misses $f"
done
echo "audit log: $N decisions of both protocols, reopen on SIGHUP, no secret"
