#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# What mandos-ctl does better than upstream (its man page lists these), and effects no
# listing shows: a secret set with --secret is what a real client then receives.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl-lib.sh"

CLIENT=$UPSTREAM_PLUGIN_DIR/mandos-client
require_cmd "$CLIENT"

# --check runs the built-in self-tests.
$VALGRIND "$OUR_CTL" --check 2>"$T/check.err" || fail "--check failed: $(cat "$T/check.err")"
assert_contains "$T/check.err" "OK"

# No system bus at all: a message and exit 1 (upstream: a Python traceback).
rc=0
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/no-such-bus $VALGRIND "$OUR_CTL" >"$T/nobus.out" \
	2>"$T/nobus.err" || rc=$?
assert_eq "$rc" 1 "exit code without a bus"
assert_eq "$(cat "$T/nobus.err")" \
	"Could not connect to Mandos server: Failed to connect to the system bus: No such file or directory" \
	"message without a bus"

mkdir -p "$T/kg"
mandos-keygen --dir "$T/kg" --force >/dev/null 2>&1 || fail "mandos-keygen failed"
printf 'first secret\n' >"$T/pw1"
mandos-keygen --dir "$T/kg" --passfile "$T/pw1" --no-ssh --name kg >"$T/kg.conf" 2>/dev/null ||
	fail "mandos-keygen --passfile failed"
printf '[DEFAULT]\ninterval = P1D\nchecker = true\n\n' >"$T/clients.conf"
cat "$T/kg.conf" >>"$T/clients.conf"
cat >>"$T/clients.conf" <<EOF2
[other]
key_id = $(printf 'A%.0s' $(seq 64))
fingerprint = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
secret = c2VjcmV0Cg==
EOF2
start_bus A
start_server A "$T/clients.conf"
export DBUS_SYSTEM_BUS_ADDRESS="$BUS_A"

get_secret() {
	mkdir -p "$T/hooks"
	MANDOSPLUGINHELPERDIR=$UPSTREAM_LIB_DIR/plugin-helpers timeout 20 "$CLIENT" \
		--connect="[::1]:$PORT_A" --interface=none --network-hook-dir="$T/hooks" \
		--pubkey="$T/kg/pubkey.txt" --seckey="$T/kg/seckey.txt" \
		--tls-pubkey="$T/kg/tls-pubkey.pem" --tls-privkey="$T/kg/tls-privkey.pem" 2>"$T/client.err"
}
get_secret >"$T/got1" || fail "mandos-client failed: $(tail -n 5 "$T/client.err")"
cmp -s "$T/got1" "$T/pw1" || fail "client did not get the configured secret"

# --secret FILE: the client then receives the new secret.  The blob comes from
# mandos-keygen, base64-decoded from its "secret =" lines.
blob() {
	mandos-keygen --dir "$T/kg" --passfile "$1" --no-ssh --name kg 2>/dev/null |
		sed -n '/^secret =/,/^[^ ]/{/^    /p}' | tr -d ' ' | base64 -d
}
printf 'second secret\n' >"$T/pw2"
blob "$T/pw2" >"$T/blob2"
[ -s "$T/blob2" ] || fail "no blob from mandos-keygen"
$VALGRIND "$OUR_CTL" --secret "$T/blob2" kg || fail "--secret failed"
get_secret >"$T/got2" || fail "mandos-client failed after --secret"
cmp -s "$T/got2" "$T/pw2" || fail "client did not get the secret set by --secret"

# --secret - reads standard input.
printf 'third secret\n' >"$T/pw3"
blob "$T/pw3" >"$T/blob3"
$VALGRIND "$OUR_CTL" -s - kg <"$T/blob3" || fail "--secret - failed"
get_secret >"$T/got3" || fail "mandos-client failed after --secret -"
cmp -s "$T/got3" "$T/pw3" || fail "client did not get the secret read from stdin"

# Durations of 2^31 ms and more: upstream crashes (Int32 overflow); we set them.  (Upstream's
# server itself takes at most 2^32 ms for an enabled client's timeout: its timer limit.)
rc=0
"$UPSTREAM_CTL" -t P5W other >/dev/null 2>"$T/up-big.err" || rc=$?
assert_eq "$rc" 1 "upstream exit code with a 5-week timeout"
assert_contains "$T/up-big.err" "OverflowError"
$VALGRIND "$OUR_CTL" -t P5W --extended-timeout P6W other || fail "-t P5W failed"
"$UPSTREAM_CTL" -j other >"$T/big.json"
assert_contains "$T/big.json" '"Timeout": 3024000000,'
assert_contains "$T/big.json" '"ExtendedTimeout": 3628800000,'
$VALGRIND "$OUR_CTL" other >"$T/big.table"
assert_contains "$T/big.table" "35T00:00:00"

# A duration too large for any server: a usage error, not a crash.
rc=0
$VALGRIND "$OUR_CTL" -t P99999999999W other 2>"$T/huge.err" || rc=$?
assert_eq "$rc" 2 "exit code for a huge duration"
assert_contains "$T/huge.err" "mandos-ctl: error: argument -t/--timeout: duration too large: 'P99999999999W'"

# A D-Bus call that fails after the first: a message, exit 1 (upstream: a traceback).
rc=0
$VALGRIND "$OUR_CTL" -r -D -r other 2>"$T/twice.err" || rc=$?
assert_eq "$rc" 1 "exit code when removing a client twice"
assert_contains "$T/twice.err" "Failed to access Mandos server through D-Bus:"
"$UPSTREAM_CTL" -j >"$T/after.json"
assert_not_contains "$T/after.json" '"other"'

# A server without clients: just the header, "{}", and --is-enabled --all says no
# (upstream crashes on all three).
$VALGRIND "$OUR_CTL" -r kg || fail "-r kg failed"
assert_eq "$($VALGRIND "$OUR_CTL")" "Name Enabled Timeout Last Successful Check" "empty table"
assert_eq "$($VALGRIND "$OUR_CTL" -j)" "{}" "empty JSON"
rc=0
$VALGRIND "$OUR_CTL" -V -a 2>"$T/v.err" || rc=$?
assert_eq "$rc" 1 "--is-enabled --all without clients"
assert_eq "$(cat "$T/v.err")" "" "--is-enabled --all without clients: stderr"
