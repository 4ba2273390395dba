#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# mandos-keygen's protocol 2 flags (spec §A.10): the seal key, --no-pgp, --sealed, --test of a
# sealed secret, --server-key, --pin-server and --pin-seen, and the helper's size check.
. "$(dirname "$0")/lib.sh"
require_cmd openssl gpg certtool
KG="sh $BUILD/helpers/mandos-keygen/mandos-keygen"
P2=$BUILD/helpers/mandos-keygen/mandos-keygen-p2
[ -x "$P2" ] || fail "mandos-keygen-p2 not built"
export TMPDIR="$T"

# key_id_openssl FILE: the key id of an Ed25519 public key file, as OpenSSL computes it.
key_id_openssl() {
	openssl pkey -pubin -in "$1" -outform der | sha256sum | cut -d' ' -f1 | tr a-f A-F
}

echo "# --no-pgp: TLS and seal keys, no OpenPGP keys"
mkdir -m 700 "$T/k"
$KG --dir "$T/k" --no-pgp >"$T/out" 2>"$T/err" || fail "--no-pgp: $(cat "$T/err")"
[ ! -e "$T/k/seckey.txt" ] && [ ! -e "$T/k/pubkey.txt" ] || fail "--no-pgp made OpenPGP keys"
assert_eq "$(stat -c %a "$T/k/seal-privkey.pem")" 600 "mode of seal-privkey.pem"
assert_eq "$(stat -c %a "$T/k/seal-pubkey.pem")" 644 "mode of seal-pubkey.pem"
assert_eq "$(stat -c %a "$T/k/tls-privkey.pem")" 600 "mode of tls-privkey.pem"
# OpenSSL reads both (§A.6) and derives the same public key.
openssl pkey -in "$T/k/seal-privkey.pem" -noout -text 2>/dev/null | grep -q X25519 ||
	fail "seal-privkey.pem is not an X25519 key for OpenSSL"
openssl pkey -in "$T/k/seal-privkey.pem" -pubout | cmp -s - "$T/k/seal-pubkey.pem" ||
	fail "seal-pubkey.pem is not the public key of seal-privkey.pem"
# Without --force, existing keys stay.
rc=0; $KG --dir "$T/k" --no-pgp 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "--no-pgp again"
assert_contains "$T/err" "Refusing to overwrite old key files; use --force"

echo "# keys from before protocol 2 get a seal key and keep the rest"
mkdir -m 700 "$T/old"
$KG --dir "$T/old" -l 2048 -L 2048 >/dev/null 2>&1 || fail "keygen"
[ -s "$T/old/seal-privkey.pem" ] || fail "the default key generation made no seal key"
rm "$T/old/seal-privkey.pem" "$T/old/seal-pubkey.pem"
cp -p "$T/old/seckey.txt" "$T/seckey.before"
cp -p "$T/old/tls-privkey.pem" "$T/tls.before"
$KG --dir "$T/old" >"$T/out" 2>"$T/err" || fail "seal key for old keys: $(cat "$T/err")"
assert_contains "$T/out" "kept the other key files"
[ -s "$T/old/seal-privkey.pem" ] && [ -s "$T/old/seal-pubkey.pem" ] || fail "no seal key made"
cmp -s "$T/old/seckey.txt" "$T/seckey.before" && cmp -s "$T/old/tls-privkey.pem" "$T/tls.before" ||
	fail "the old keys were replaced"
# New OpenPGP and TLS keys keep an existing seal key; --force replaces it too, keeping a backup.
rm "$T/old/seckey.txt" "$T/old/pubkey.txt" "$T/old/tls-privkey.pem" "$T/old/tls-pubkey.pem"
cp "$T/old/seal-privkey.pem" "$T/seal.before"
$KG --dir "$T/old" -l 2048 -L 2048 >/dev/null 2>&1 || fail "keygen beside a seal key"
cmp -s "$T/old/seal-privkey.pem" "$T/seal.before" || fail "the seal key was replaced"
[ ! -e "$T/old/seal-privkey.pem.~1~" ] || fail "a backup of a kept seal key"
cp "$T/old/seal-privkey.pem" "$T/seal.before"
$KG --dir "$T/old" -l 2048 -L 2048 --force >/dev/null 2>&1 || fail "--force"
cmp -s "$T/old/seal-privkey.pem.~1~" "$T/seal.before" || fail "no backup of the seal key"
! cmp -s "$T/old/seal-privkey.pem" "$T/seal.before" || fail "--force kept the seal key"

echo "# --password --no-pgp: only a sealed secret, protocols = 2"
printf 'correct horse battery staple\n' >"$T/pw"
$KG --dir "$T/k" --passfile "$T/pw" --no-ssh --no-pgp --name p2host >"$T/sec" 2>"$T/err" ||
	fail "--no-pgp section: $(cat "$T/err")"
! grep -q '^secret =' "$T/sec" || fail "a --no-pgp section has an OpenPGP secret"
assert_not_contains "$T/sec" "fingerprint" "a --no-pgp section"
assert_contains "$T/sec" "sealed_secret ="
assert_eq "$(grep -c '^protocols = 2$' "$T/sec")" 1 "protocols line"
assert_eq "$(sed -n 's/^key_id = //p' "$T/sec" | tr a-f A-F)" \
	"$(key_id_openssl "$T/k/tls-pubkey.pem")" "key_id"
# The base64 of a sealed box: lines of at most 64 characters, indented four spaces, a box of
# the password's length plus crypto_box_SEALBYTES (48).
sed -n '/^sealed_secret =$/,/^[^ ]/p' "$T/sec" | sed '1d;$d' >"$T/b64"
[ -s "$T/b64" ] || fail "no sealed_secret lines"
! grep -qv '^    [A-Za-z0-9+/=]\{1,64\}$' "$T/b64" || fail "sealed_secret lines: $(cat "$T/b64")"
assert_eq "$(tr -d ' \n' <"$T/b64" | base64 -d | wc -c)" $(($(wc -c <"$T/pw") + 48)) "box size"
# --sealed needs a password mode; --no-pgp needs no OpenPGP key.
rc=0; $KG --dir "$T/k" --sealed 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "--sealed without --password"
assert_contains "$T/err" "--sealed needs --password or --passfile"

echo "# --password --sealed beside OpenPGP: both secrets, protocols = 1 2"
$KG --dir "$T/old" --passfile "$T/pw" --no-ssh --sealed --name both >"$T/sec2" 2>"$T/err" ||
	fail "--sealed section: $(cat "$T/err")"
grep -q '^secret =$' "$T/sec2" || fail "no OpenPGP secret beside the sealed one"
assert_contains "$T/sec2" "fingerprint = "
assert_contains "$T/sec2" "sealed_secret ="
assert_eq "$(grep -c '^protocols = 1 2$' "$T/sec2")" 1 "protocols line"

echo "# --test opens the sealed secret with the seal key (and nothing else would)"
$KG --dir "$T/k" --test="$T/sec" >"$T/t" 2>"$T/err" || fail "--test sealed: $(cat "$T/err")"
assert_contains "$T/t" "[p2host]: the sealed secret opens with $T/k/seal-privkey.pem (29 bytes)"
$KG --dir "$T/old" --test="$T/sec2" >"$T/t" 2>"$T/err" || fail "--test both: $(cat "$T/err")"
assert_contains "$T/t" "the sealed secret opens"
assert_contains "$T/t" "the secret decrypts"
# Another client's seal key: the box does not open.
mkdir -m 700 "$T/k2"
$KG --dir "$T/k2" --no-pgp >/dev/null 2>&1
cp "$T/k/tls-pubkey.pem" "$T/k2/tls-pubkey.pem"
rc=0; $KG --dir "$T/k2" --test="$T/sec" >"$T/t" 2>&1 || rc=$?
assert_eq "$rc" 1 "--test with another seal key"
assert_contains "$T/t" "the sealed secret does NOT open"
# A sealed_secfile is read as the raw box.
tr -d ' \n' <"$T/b64" | base64 -d >"$T/box"
printf '[f]\nkey_id = %s\nsealed_secfile = %s\n' "$(sed -n 's/^key_id = //p' "$T/sec")" \
	"$T/box" >"$T/sec3"
$KG --dir "$T/k" --test="$T/sec3" >"$T/t" 2>"$T/err" || fail "sealed_secfile: $(cat "$T/err")"
assert_contains "$T/t" "[f]: the sealed secret opens"
# From [DEFAULT], with "%(key)s" and $VAR, as the server reads it.
cp "$T/box" "$T/f.box"
printf '[DEFAULT]\nsealed_secfile = ${BOXDIR}/%%(boxname)s.box\n\n[f]\nkey_id = %s\nboxname = f\n' \
	"$(sed -n 's/^key_id = //p' "$T/sec")" >"$T/sec4"
BOXDIR=$T $KG --dir "$T/k" --test="$T/sec4" >"$T/t" 2>"$T/err" ||
	fail "sealed_secfile in [DEFAULT]: $(cat "$T/err")"
assert_contains "$T/t" "[f]: the sealed secret opens"

echo "# --server-key: made once, --force replaces it with backups and a warning"
mkdir "$T/srv"
$KG --server-key --dir "$T/srv" >"$T/id1" 2>"$T/err" || fail "--server-key: $(cat "$T/err")"
assert_eq "$(stat -c %a "$T/srv/server-key.pem")" 600 "mode of server-key.pem"
assert_eq "$(stat -c %a "$T/srv/server-pubkey.pem")" 644 "mode of server-pubkey.pem"
assert_eq "$(cat "$T/id1")" "$(key_id_openssl "$T/srv/server-pubkey.pem")" "printed key id"
openssl pkey -in "$T/srv/server-key.pem" -pubout | cmp -s - "$T/srv/server-pubkey.pem" ||
	fail "server-pubkey.pem is not the public key of server-key.pem"
$KG --server-key --dir "$T/srv" >"$T/id2" 2>"$T/err" || fail "--server-key again"
assert_eq "$(cat "$T/id2")" "$(cat "$T/id1")" "key id of the kept key"
assert_contains "$T/err" "exists; kept"
$KG --server-key --dir "$T/srv" --force >"$T/id3" 2>"$T/err" || fail "--server-key --force"
[ "$(cat "$T/id3")" != "$(cat "$T/id1")" ] || fail "--force kept the key"
assert_contains "$T/err" "warning: a new server key replaces $(cat "$T/id1")"
assert_contains "$T/err" "clients that pinned it reject this server"
assert_eq "$(key_id_openssl "$T/srv/server-pubkey.pem.~1~")" "$(cat "$T/id1")" "backup"
[ -e "$T/srv/server-key.pem.~1~" ] || fail "no backup of server-key.pem"

echo "# --pin-server: appended once, with its name"
ID1=$(cat "$T/id1")
ID3=$(cat "$T/id3")
lower=$(printf '%s' "$ID1" | tr A-F a-f)
$KG --dir "$T/k" --pin-server="$lower:main server" >"$T/out" 2>"$T/err" ||
	fail "--pin-server: $(cat "$T/err")"
assert_contains "$T/out" "update-initramfs -u"
assert_eq "$(cat "$T/k/server-pins")" "$ID1 # main server" "server-pins"
assert_eq "$(stat -c %a "$T/k/server-pins")" 644 "mode of server-pins"
$KG --dir "$T/k" --pin-server="$ID1" >"$T/out" 2>&1 || fail "--pin-server again"
assert_contains "$T/out" "already pinned"
assert_eq "$(wc -l <"$T/k/server-pins")" 1 "pins after a duplicate"
rc=0; $KG --dir "$T/k" --pin-server=1234 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "--pin-server with a bad id"
assert_contains "$T/err" "Not a key ID"

echo "# --pin-seen: the servers mandos-client saw, not yet pinned"
printf '%s # 192.0.2.1:1234\n%s # [2001:db8::1]:99\nnot-an-id # x\n%s # again\n' \
	"$ID1" "$ID3" "$ID3" >"$T/seen"
$KG --dir "$T/k" --pin-seen --servers-seen="$T/seen" >"$T/out" 2>"$T/err" ||
	fail "--pin-seen: $(cat "$T/err")"
assert_contains "$T/out" "Pinned $ID3 ([2001:db8::1]:99)"
assert_not_contains "$T/out" "Pinned $ID1"
assert_contains "$T/out" "update-initramfs -u"
assert_contains "$T/err" "$T/seen:3: Not a key ID"
assert_eq "$(grep -c . "$T/k/server-pins")" 2 "pins after --pin-seen"
$KG --dir "$T/k" --pin-seen --servers-seen="$T/seen" >"$T/out" 2>/dev/null
assert_contains "$T/out" "No servers in $T/seen that are not pinned already."
rc=0; $KG --dir "$T/k" --pin-seen --servers-seen="$T/none" 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "--pin-seen without the file"

echo "# modes that cannot be combined"
rc=0; $KG --dir "$T/k" --server-key --pin-seen 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "--server-key --pin-seen"
assert_contains "$T/err" "cannot be used together"

echo "# the helper: key files it refuses, with the reason"
mkdir "$T/bad"
printf 'not a key\n' >"$T/bad/seal-pubkey.pem"
rc=0; "$P2" check "$T/bad/seal-pubkey.pem" 2>"$T/err" || rc=$?
assert_eq "$rc" 65 "check of a bad key file"
assert_contains "$T/err" "$T/bad/seal-pubkey.pem: "
# An Ed25519 key where an X25519 one belongs.
cp "$T/k/tls-pubkey.pem" "$T/bad/seal-pubkey.pem"
rc=0; printf 'x' | "$P2" seal "$T/bad/seal-pubkey.pem" >/dev/null 2>"$T/err" || rc=$?
assert_eq "$rc" 65 "seal to an Ed25519 key"
rc=0; : | "$P2" seal "$T/k/seal-pubkey.pem" >/dev/null 2>"$T/err" || rc=$?
assert_eq "$rc" 65 "seal of an empty password"
assert_contains "$T/err" "Empty password"

echo "# §A.2.3: the helper exits 70 when libsodium's sizes are not the assumed ones"
shim=$BUILD/tests/tools/sodium-size-shim.so
[ -e "$shim" ] || fail "not built: $shim"
rc=0
# (Under ASan the shim comes before the sanitizer's runtime, which ASan refuses by default.)
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
	LD_PRELOAD=$shim "$P2" key-id "$T/k/tls-pubkey.pem" >"$T/out" 2>"$T/err" || rc=$?
assert_eq "$rc" 70 "exit status with a size mismatch"
assert_contains "$T/err" "libsodium size assumptions do not hold"
[ ! -s "$T/out" ] || fail "the helper went on after the size check"
# (Without the shim the same command works.)
"$P2" key-id "$T/k/tls-pubkey.pem" >/dev/null || fail "key-id without the shim"
echo ok
