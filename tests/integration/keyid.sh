#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# key_id from common/crypto equals certtool --key-id --hash=sha256, and the key_id line that
# upstream's mandos-keygen writes, for keys made by upstream's mandos-keygen.
. "$(dirname "$0")/lib.sh"
require_cmd mandos-keygen certtool

mkdir "$T/keys"
mandos-keygen --dir "$T/keys" --force >/dev/null 2>&1
printf 'secret\n' > "$T/pw"
mandos-keygen --dir "$T/keys" --passfile "$T/pw" --no-ssh --name testclient > "$T/section"

ours=$($VALGRIND "$BUILD/tests/tools/keyid-tool" "$T/keys/tls-pubkey.pem")
certtool=$(certtool --key-id --hash=sha256 --infile="$T/keys/tls-pubkey.pem" | tr a-f A-F)
keygen=$(sed -n 's/^key_id = //p' "$T/section" | tr a-f A-F)
assert_eq "$ours" "$certtool" "key_id vs certtool"
assert_eq "$ours" "$keygen" "key_id vs mandos-keygen's section"
# The private key gives the same ID (the public half is derived).
priv=$($VALGRIND "$BUILD/tests/tools/keyid-tool" "$T/keys/tls-privkey.pem")
assert_eq "$priv" "$ours" "key_id of the private key"
# openssl's DER, hashed directly.
if command -v openssl >/dev/null; then
	der=$(openssl pkey -pubin -in "$T/keys/tls-pubkey.pem" -outform der | sha256sum | cut -c1-64 | tr a-f A-F)
	assert_eq "$ours" "$der" "key_id vs openssl DER + sha256sum"
fi
echo "key_id $ours matches certtool and mandos-keygen"
