#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# tests/tools/p2-seal: a sealed_secret line for an openssl-made seal key; bad input is refused
# with a reason and the documented exit code.
. "$(dirname "$0")/lib.sh"
require_cmd openssl base64

tool="$BUILD/tests/tools/p2-seal"
openssl genpkey -algorithm x25519 -out "$T/seal-privkey.pem" 2>/dev/null
openssl pkey -in "$T/seal-privkey.pem" -pubout -out "$T/seal-pubkey.pem"
printf 'correct horse battery staple\n' > "$T/pw"

$VALGRIND "$tool" "$T/seal-pubkey.pem" < "$T/pw" > "$T/out"
assert_eq "$(wc -l < "$T/out")" 1 "one line"
# 29 bytes of password + crypto_box_SEALBYTES (48).
assert_eq "$(base64 -d < "$T/out" | wc -c)" 77 "sealed box length"
# Each run seals anew (a fresh ephemeral key).
$VALGRIND "$tool" "$T/seal-pubkey.pem" < "$T/pw" > "$T/out2"
[ "$(cat "$T/out")" != "$(cat "$T/out2")" ] || fail "two seals are equal"

rc=0
$VALGRIND "$tool" "$T/seal-privkey.pem" < "$T/pw" > "$T/bad" 2> "$T/err" || rc=$?
assert_eq "$rc" 66 "exit code for a private key"
assert_contains "$T/err" "a private key, not a public key"
rc=0
$VALGRIND "$tool" "$T/seal-pubkey.pem" < /dev/null > "$T/bad" 2> "$T/err" || rc=$?
assert_eq "$rc" 65 "exit code for an empty password"
echo "p2-seal makes sealed_secret values"
