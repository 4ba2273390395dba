#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The enrolment of spec §A.10 end to end, with our server and our mandos-client on loopback:
# mandos-keygen --no-pgp keys, a --password --no-pgp section our server loads, --server-key on
# the server, --pin-server of its key ID, then --test fetches the password over protocol 2
# (reported, never shown), records the server in servers-seen for --pin-seen, and fails for a
# server that is not pinned.
. "$(dirname "$0")/lib.sh"
require_cmd openssl
KG="sh $BUILD/helpers/mandos-keygen/mandos-keygen"
MANDOS=$BUILD/server/mandos
export MANDOS_CLIENT=$BUILD/plugins.d/mandos-client/mandos-client
[ -x "$MANDOS" ] && [ -x "$MANDOS_CLIENT" ] || fail "server or client not built"
export TMPDIR="$T"

# The client host: keys without OpenPGP, a protocol-2-only section.
mkdir -m 700 "$T/k"
$KG --dir "$T/k" --no-pgp >/dev/null 2>"$T/err" || fail "--no-pgp: $(cat "$T/err")"
printf 'online secret\n' >"$T/pw"
$KG --dir "$T/k" --passfile "$T/pw" --no-ssh --no-pgp --name online >"$T/section" ||
	fail "--password --no-pgp"
# The server host: its key, and the section with a checker.
mkdir -p "$T/conf" "$T/state"
chmod 755 "$T/conf" "$T/state"
server_id=$($KG --server-key --dir "$T/conf" 2>"$T/err") || fail "--server-key: $(cat "$T/err")"
printf '[DEFAULT]\n' >"$T/conf/mandos.conf"
{
	cat "$T/section"
	echo "checker = true"
} >"$T/conf/clients.conf"
$MANDOS --configdir "$T/conf" --check-config >"$T/check" 2>&1 ||
	fail "the server does not accept the section: $(cat "$T/check")"
assert_eq "$($MANDOS --configdir "$T/conf" --print-key-id)" "$server_id" "the server's key ID"
port=$(random_port)
$VALGRIND "$MANDOS" --configdir "$T/conf" --statedir "$T/state" --no-dbus --no-zeroconf \
	--address ::1 --port "$port" --foreground --debug >"$T/server.log" 2>&1 &
on_exit "kill $!"
wait_for_port "$port"
grep -q "Protocol 2 server key ID: $server_id" "$T/server.log" ||
	wait_for 10 grep -q "Protocol 2 server key ID: $server_id" "$T/server.log" ||
	fail "the server does not use the key mandos-keygen made"

# mandos-client's other options come from plugin-runner.conf, as at boot.
printf -- '--options-for=mandos-client:--servers-seen=%s,--retry=1\n' "$T/seen" >"$T/prc"
export MANDOS_PLUGIN_RUNNER_CONF=$T/prc MANDOS_KEYGEN_TEST_TIMEOUT=$((20 * SLOW))

echo "# pinned to the server's key: --test gets the password over protocol 2"
$KG --dir "$T/k" --pin-server="$server_id:test server" >/dev/null || fail "--pin-server"
$KG --dir "$T/k" --test --connect="[::1]:$port" >"$T/out" 2>"$T/err" ||
	{ cat "$T/err" >&2; tail -n 20 "$T/server.log" >&2; fail "--test did not unlock"; }
assert_contains "$T/out" "mandos-client got the password ($(wc -c <"$T/pw") bytes, not shown)"
assert_not_contains "$T/out" "online secret" "--test's output"
assert_not_contains "$T/err" "online secret" "--test's messages"
assert_contains "$T/server.log" "Sending secret to online (protocol 2: sealed)"
# The section and the unlock together: --test FILE and --connect do both.
$KG --dir "$T/k" --test="$T/section" --connect="[::1]:$port" >"$T/out" 2>"$T/err" ||
	fail "--test FILE --connect: $(cat "$T/err")"
assert_contains "$T/out" "[online]: the sealed secret opens"
assert_contains "$T/out" "mandos-client got the password"

echo "# servers-seen: --pin-seen on a fresh pins file pins the server that delivered"
grep -qi "^$server_id" "$T/seen" || fail "servers-seen lacks the server: $(cat "$T/seen")"
mv "$T/k/server-pins" "$T/pins.saved"
$KG --dir "$T/k" --pin-seen --servers-seen="$T/seen" >"$T/out" || fail "--pin-seen"
assert_contains "$T/out" "Pinned $server_id"
grep -qi "^$server_id # " "$T/k/server-pins" || fail "server-pins: $(cat "$T/k/server-pins")"

echo "# pinned to another key: --test fails, and no protocol 1 either"
other=0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
printf '%s # not this server\n' "$other" >"$T/k/server-pins"
export MANDOS_KEYGEN_TEST_TIMEOUT=3
rc=0; $KG --dir "$T/k" --test --connect="[::1]:$port" >"$T/out" 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "--test against a server that is not pinned"
assert_contains "$T/err" "mandos-client got no password within 3 s"
assert_contains "$T/err" "is not pinned"
# (The server sends the sealed box in its flight, as always; the client drops it unopened.)
! grep -q "Sending secret to online$" "$T/server.log" || fail "a protocol 1 secret was sent"
echo ok
