#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# mandos-ctl --approve and --deny decide a real client's pending request: approved, the
# client gets its secret at once; denied, it gets nothing.  Also --is-enabled and --disable
# as the client sees them.  The server is $MANDOS_TEST_SERVER (meson runs it with ours: see
# tests/integration/meson.build for why not upstream's).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl-lib.sh"

CLIENT=$UPSTREAM_PLUGIN_DIR/mandos-client
require_cmd "$CLIENT"

mkdir -p "$T/kg" "$T/hooks"
mandos-keygen --dir "$T/kg" --force >/dev/null 2>&1 || fail "mandos-keygen failed"
printf 'the secret\n' >"$T/pw"
{
	printf '[DEFAULT]\ninterval = P1D\nchecker = true\n'
	printf 'approval_delay = PT1M\napproved_by_default = False\n\n'
	mandos-keygen --dir "$T/kg" --passfile "$T/pw" --no-ssh --name kg 2>/dev/null
} >"$T/clients.conf"
start_bus A
start_server A "$T/clients.conf"
export DBUS_SYSTEM_BUS_ADDRESS="$BUS_A"

# run_client OUT: one request in the background; its pid in $client_pid.
run_client() {
	MANDOSPLUGINHELPERDIR=$UPSTREAM_LIB_DIR/plugin-helpers timeout 30 "$CLIENT" \
		--connect="[::1]:$PORT_A" --interface=none --network-hook-dir="$T/hooks" \
		--retry=60 --pubkey="$T/kg/pubkey.txt" --seckey="$T/kg/seckey.txt" \
		--tls-pubkey="$T/kg/tls-pubkey.pem" --tls-privkey="$T/kg/tls-privkey.pem" \
		>"$1" 2>"$1.err" &
	client_pid=$!
	on_exit "kill $client_pid"
}
pending() {
	$VALGRIND "$OUR_CTL" --dump-json kg | grep -q '"ApprovalPending": true'
}

# Approve: the waiting client gets its secret well before the one-minute delay.
run_client "$T/got1"
wait_for 60 pending || fail "no approval request pending"
$VALGRIND "$OUR_CTL" --approve kg || fail "--approve failed"
wait "$client_pid" || fail "client failed after --approve: $(tail -n 3 "$T/got1.err")"
cmp -s "$T/got1" "$T/pw" || fail "client did not get its secret after --approve"

# Deny: the request ends, the client gets nothing.  (An approval stays valid for
# approval_duration, 1 s by default: let it pass first; the server's timer may run late here.)
sleep $((1 + SLOW))
run_client "$T/got2"
wait_for 60 pending || fail "no second approval request pending"
$VALGRIND "$OUR_CTL" --deny kg || fail "--deny failed"
wait_for 30 sh -c "! $OUR_CTL --dump-json kg | grep -q '\"ApprovalPending\": true'" ||
	fail "request still pending after --deny"
kill "$client_pid" 2>/dev/null || true
wait "$client_pid" 2>/dev/null || true
[ ! -s "$T/got2" ] || fail "client got data after --deny"

# --is-enabled follows --disable and --enable.
$VALGRIND "$OUR_CTL" -V kg || fail "kg should be enabled"
$VALGRIND "$OUR_CTL" -d kg
rc=0
$VALGRIND "$OUR_CTL" -V kg || rc=$?
assert_eq "$rc" 1 "--is-enabled after --disable"
$VALGRIND "$OUR_CTL" -e kg
$VALGRIND "$OUR_CTL" --is-enabled kg || fail "kg should be enabled again"
