#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Our mandos-client with a seal key against Debian's upstream server, which closes on "2\r\n":
# protocol 1 at once with OpenPGP keys; never protocol 1 once pinned; no gpg without OpenPGP keys.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client-lib.sh"
require_cmd "$UPSTREAM_SERVER" mandos-keygen dbus-daemon gpg openssl

make_keys "$T/k"
openssl genpkey -algorithm x25519 -out "$T/k/seal-privkey.pem" 2>/dev/null
printf 'upstream secret\n' >"$T/pw"
start_bus
write_server_conf "$T/c"
add_client "$T/c" "$T/k" good "$T/pw"
port=$(random_port)
start_upstream_server "$T/c" "$port"
export TMPDIR="$T"
common="--connect=[::1]:$port --interface=none --network-hook-dir=$T/nohooks --retry=1
--seal-key=$T/k/seal-privkey.pem --server-pins=$T/no-pins --servers-seen=$T/seen"

# 1. Protocol 2 first (a seal key exists), the server closes before its ServerHello, and
# protocol 1 follows at once on that server.
$VALGRIND "$MC" $common $(client_keys "$T/k") --debug >"$T/out" 2>"$T/err" ||
	fail "mandos-client failed: $(cat "$T/err")"
cmp "$T/out" "$T/pw" || fail "output differs from the secret"
assert_contains "$T/err" "server [::1]:$port: closed before ServerHello (no protocol 2 here)"
assert_contains "$T/err" "Trying Mandos server [::1]:$port over protocol 2"
grep -qx "Mandos plugin mandos-client: Trying Mandos server \[::1\]:$port" "$T/err" ||
	fail "no protocol 1 attempt after the close"
# At once: no retry was scheduled in between.
assert_not_contains "$T/err" "Retrying"
assert_contains "$T/server.log" "Sending secret to good"
# Only a protocol 2 server that delivered goes into servers-seen.
[ ! -e "$T/seen" ] || fail "servers-seen written after a protocol 1 unlock"

# 2. Pinned (to some other key): never protocol 1, whatever --protocol says.  The client is
# enrolled and enabled, so any protocol 1 connection would get the secret.
sent=$(grep -c "Sending secret to good" "$T/server.log")
pin=0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef
run_until 3 "TCP connection from" "$T/server.log" "$T/out-pinned" "$T/err-pinned" \
	$VALGRIND "$MC" $common $(client_keys "$T/k") --protocol=2,1 --server-key-id=$pin --debug
[ ! -s "$T/out-pinned" ] || fail "a pinned client printed something"
assert_eq "$(grep -c "Sending secret to good" "$T/server.log")" "$sent" "secrets sent to a pinned client"
assert_contains "$T/err-pinned" "server pins configured: not using protocol 1"
[ "$(grep -c "server pins configured" "$T/err-pinned")" -eq 1 ] || fail "pins logged more than once"
! grep -qx "Mandos plugin mandos-client: Trying Mandos server \[::1\]:$port" "$T/err-pinned" ||
	fail "a pinned client tried protocol 1"
# Once per change of state, though it was closed at every attempt.
[ "$(grep -c "closed before ServerHello" "$T/err-pinned")" -eq 1 ] ||
	fail "the same console line printed again"
# A pins file does the same, even one with only an invalid line (fail closed).
echo "not a key id" >"$T/pins"
run_until 2 "TCP connection from" "$T/server.log" "$T/out-pinfile" "$T/err-pinfile" \
	$VALGRIND "$MC" $common $(client_keys "$T/k") --server-pins="$T/pins" --debug
assert_contains "$T/err-pinfile" "$T/pins:1: "
assert_contains "$T/err-pinfile" "server pins configured: not using protocol 1"
assert_eq "$(grep -c "Sending secret to good" "$T/server.log")" "$sent" "secrets sent to a pinned client"

# 3. No OpenPGP keys: protocol 2 only, and gpg is never started (no GnuPG home made).
mkdir "$T/p2only"
cp "$T/k/tls-pubkey.pem" "$T/k/tls-privkey.pem" "$T/k/seal-privkey.pem" "$T/p2only/"
run_until 2 "TCP connection from" "$T/server.log" "$T/out-p2" "$T/err-p2" \
	$VALGRIND "$MC" $common $(client_keys "$T/p2only") --seal-key="$T/p2only/seal-privkey.pem" \
	--debug
assert_not_contains "$T/err-p2" "GnuPG home"
assert_not_contains "$T/err-p2" "pins configured"
! grep -qx "Mandos plugin mandos-client: Trying Mandos server \[::1\]:$port" "$T/err-p2" ||
	fail "tried protocol 1 without OpenPGP keys"
# ... but with only protocol 1 asked for, missing OpenPGP keys stay an error (69, as upstream).
rc=0
$VALGRIND "$MC" $common $(client_keys "$T/p2only") --protocol=1 >"$T/out" 2>"$T/err" || rc=$?
assert_eq "$rc" 69 "--protocol=1 without OpenPGP keys"
# ... and so is protocol 1 alone with pins: nothing is left to try.
rc=0
$VALGRIND "$MC" $common $(client_keys "$T/k") --protocol=1 --server-key-id=$pin >"$T/out" \
	2>"$T/err" || rc=$?
assert_eq "$rc" 69 "--protocol=1 with pins"
assert_contains "$T/err" "server pins configured: not using protocol 1"
assert_contains "$T/err" "No protocol left to use"
echo ok
