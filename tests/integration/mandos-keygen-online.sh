#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The enrolment of spec §A.10 end to end, with our server and our mandos-client on loopback:
# mandos-keygen --no-pgp keys, a --password --no-pgp section our server loads, --server-key on
# the server, --pin-server of its key ID, then --test fetches the password over protocol 2
# (reported, never shown), records the server in servers-seen for --pin-seen, and fails for a
# server that is not pinned.  Then Part B (spec §B.5): an --escrow binding and a --threshold 2
# of 3 binding, each section in our servers, --test unlocks against them (two of three share
# servers up, given as --connect three times) and fails with one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/keygen-lib.sh"
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

echo "# an escrow binding: --test unlocks from the server with its escrow_key"
# start_server I PORT: our server with the config in $T/conf$I on ::1 PORT; its pid in $server.
start_server() {
	$VALGRIND "$MANDOS" --configdir "$T/conf$1" --statedir "$T/state$1" --no-dbus \
		--no-zeroconf --address ::1 --port "$2" --foreground --debug >"$T/server$1.log" 2>&1 &
	server=$!
	on_exit "kill $server"
	wait_for_port "$2"
}
for i in 1 2 3; do
	mkdir -p "$T/conf$i" "$T/state$i"
	chmod 755 "$T/conf$i" "$T/state$i"
	printf '[DEFAULT]\n' >"$T/conf$i/mandos.conf"
	: >"$T/conf$i/clients.conf"
done
sid1=$($KG --server-key --dir "$T/conf1" 2>/dev/null) &&
	sid2=$($KG --server-key --dir "$T/conf2" 2>/dev/null) &&
	sid3=$($KG --server-key --dir "$T/conf3" 2>/dev/null) || fail "--server-key"
port1=$(random_port)
port2=$(random_port)
port3=$(random_port)
printf 'an escrowed secret\n' >"$T/epw"
mkdir -m 700 "$T/ek" "$T/tk"
$KG --dir "$T/ek" --no-pgp >/dev/null 2>&1 && $KG --dir "$T/tk" --no-pgp >/dev/null 2>&1 ||
	fail "--no-pgp keys"
$KG --dir "$T/ek" --passfile "$T/epw" --no-ssh --escrow --escrow-server="$sid1" --name esc \
	>"$T/esc" 2>"$T/err" || fail "--escrow: $(cat "$T/err")"
$KG --dir "$T/ek" --pin-server="$sid1" >/dev/null || fail "--pin-server"
$KG --dir "$T/tk" --passfile "$T/epw" --no-ssh --threshold 2 --share-server "$sid1" \
	--share-server "$sid2" --share-server "$sid3" --name thr >"$T/thr" 2>"$T/err" ||
	fail "--threshold: $(cat "$T/err")"
binding=$(cd "$T/tk" && ls escrow-2of3-*.conf)
split_shares "$T/thr" "$T/share" >/dev/null
{
	cat "$T/esc"
	printf 'checker = true\n\n'
	cat "$T/share.1"
	printf 'checker = true\n'
} >"$T/conf1/clients.conf"
for i in 2 3; do
	{
		cat "$T/share.$i"
		printf 'checker = true\n'
	} >"$T/conf$i/clients.conf"
done
start_server 1 "$port1"
start_server 3 "$port3"
server3=$server
export MANDOS_KEYGEN_TEST_TIMEOUT=$((20 * SLOW))
$KG --dir "$T/ek" --test --connect="[::1]:$port1" >"$T/out" 2>"$T/err" ||
	{ cat "$T/err" >&2; tail -n 20 "$T/server1.log" >&2; fail "--test did not unlock (escrow)"; }
assert_contains "$T/out" "mandos-client got the password ($(wc -c <"$T/epw") bytes, not shown)"
assert_not_contains "$T/out" "an escrowed secret" "--test's output"
assert_contains "$T/server1.log" "Sending secret to esc (protocol 2: escrow"

echo "# a 2-of-3 threshold binding: --test unlocks with servers 1 and 3 (2 is down)"
$KG --dir "$T/tk" --test --connect="[::1]:$port1" --connect="[::1]:$port2" \
	--connect="[::1]:$port3" >"$T/out" 2>"$T/err" ||
	{ cat "$T/err" >&2; fail "--test did not unlock (threshold)"; }
assert_contains "$T/out" "mandos-client got the password ($(wc -c <"$T/epw") bytes, not shown)"
assert_contains "$T/err" "threshold $binding: need 2 of 3 shares"
assert_contains "$T/err" "threshold $binding: 2 of 2 shares, secret recovered"
assert_contains "$T/server1.log" "Sending secret to thr (protocol 2: escrow"
assert_contains "$T/server3.log" "Sending secret to thr (protocol 2: escrow"
assert_not_contains "$T/out" "an escrowed secret" "--test's output"
# One server alone never unlocks: --test gives up at its deadline.
kill "$server3"
wait "$server3" 2>/dev/null || true
export MANDOS_KEYGEN_TEST_TIMEOUT=$((5 * SLOW))
rc=0
$KG --dir "$T/tk" --test --connect="[::1]:$port1" --connect="[::1]:$port2" \
	--connect="[::1]:$port3" >"$T/out" 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "--test with one share server up"
assert_contains "$T/err" "mandos-client got no password within"
assert_contains "$T/err" "threshold $binding: 1 of 2 shares"
echo ok
