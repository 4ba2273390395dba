#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# mandos-keygen: options, files, sections that upstream's server and client accept, and --test.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client-lib.sh"
require_cmd "$UPSTREAM_SERVER" mandos-keygen dbus-daemon gpg certtool
KG="sh $BUILD/helpers/mandos-keygen/mandos-keygen"
UPSTREAM_CLIENT=$UPSTREAM_PLUGIN_DIR/mandos-client
export TMPDIR="$T"

# Usage errors and messages.
rc=0; $KG --dir "$T/nonexistent" 2>"$T/e" || rc=$?
assert_eq "$rc" 1 "--dir nonexistent"
assert_contains "$T/e" "not a directory"
mkdir "$T/ours"
rc=0; $KG --dir "$T/ours" --length 100 2>"$T/e" || rc=$?
assert_eq "$rc" 1 "--length 100"
assert_contains "$T/e" "Invalid key length"
rc=0; $KG --dir "$T/ours" extra 2>"$T/e" || rc=$?
assert_eq "$rc" 1 "extra argument"
assert_contains "$T/e" "Unknown arguments"
assert_eq "$($KG --version)" "$(version_line mandos-keygen)" "--version"

# Our keys: the four files, 0600, the formats upstream uses.
$KG --dir "$T/ours" -l 2048 -L 2048 -n ourhost -e root@example.org >/dev/null ||
	fail "keygen failed"
for f in pubkey.txt seckey.txt tls-pubkey.pem tls-privkey.pem; do
	[ -s "$T/ours/$f" ] || fail "missing $f"
	assert_eq "$(stat -c %a "$T/ours/$f")" 600 "mode of $f"
done
grep -q "^-----BEGIN PRIVATE KEY-----" "$T/ours/tls-privkey.pem" || fail "tls-privkey format"
grep -q "^-----BEGIN PUBLIC KEY-----" "$T/ours/tls-pubkey.pem" || fail "tls-pubkey format"
assert_contains "$T/ours/pubkey.txt" "Comment: Mandos client key for ourhost <root@example.org>"
certtool --key-info --infile "$T/ours/tls-privkey.pem" 2>/dev/null | grep -qi "ed25519" ||
	fail "TLS key is not Ed25519"
# Refuses to overwrite; --force keeps numbered backups.
rc=0; $KG --dir "$T/ours" -l 2048 -L 2048 2>"$T/e" || rc=$?
assert_eq "$rc" 1 "overwrite without --force"
assert_contains "$T/e" "Refusing to overwrite old key files; use --force"
cp -r "$T/ours" "$T/ours2"
$KG --dir "$T/ours2" -l 2048 -L 2048 --force >/dev/null || fail "--force failed"
[ -f "$T/ours2/pubkey.txt.~1~" ] && [ -f "$T/ours2/tls-pubkey.pem.~1~" ] || fail "no backups"
cmp -s "$T/ours2/pubkey.txt.~1~" "$T/ours/pubkey.txt" || fail "backup differs"

# A section for our keys, made by our keygen.
printf 'our secret\n' >"$T/pw1"
$KG --dir "$T/ours" --passfile "$T/pw1" --no-ssh --name ourhost >"$T/sec-ours" ||
	fail "password section failed"
head -n 2 "$T/sec-ours" | tr '\n' '|' | grep -qx '\[ourhost\]|host = ourhost|' ||
	fail "section header: $(head -n 2 "$T/sec-ours")"
grep -Eq '^key_id = [0-9a-f]{64}$' "$T/sec-ours" || fail "key_id line"
assert_eq "$(sed -n 's/^key_id = //p' "$T/sec-ours")" \
	"$(certtool --key-id --hash=sha256 --infile="$T/ours/tls-pubkey.pem")" "key_id value"
grep -Eq '^fingerprint = [0-9A-F]{40}$' "$T/sec-ours" || fail "fingerprint line"
grep -q '^    [A-Za-z0-9+/=]*$' "$T/sec-ours" || fail "indented secret"
! grep -q '^    =' "$T/sec-ours" || fail "armor checksum left in"
# Upstream's keygen for upstream's keys; our keygen encrypting to upstream's keys.
make_keys "$T/theirs"
printf 'their secret' >"$T/pw2"
mandos-keygen --dir "$T/theirs" --passfile "$T/pw2" --no-ssh --name theirhost >"$T/sec-theirs"
printf 'mixed secret\n\n' >"$T/pw3"
mkdir "$T/theirs3"
cp "$T/theirs"/* "$T/theirs3/"
# (new TLS keys, so that the server tells this client from theirhost)
certtool --generate-privkey --key-type=ed25519 --pkcs8 --no-text --password='' \
	--outfile "$T/theirs3/tls-privkey.pem" 2>/dev/null
certtool --load-privkey "$T/theirs3/tls-privkey.pem" --pubkey-info --no-text --password='' \
	--outfile "$T/theirs3/tls-pubkey.pem" 2>/dev/null
$KG --dir "$T/theirs3" --passfile "$T/pw3" --no-ssh --name mixhost >"$T/sec-mix"

# --test: each section against its keys, and the negative cases.
$KG --dir "$T/ours" --test="$T/sec-ours" >"$T/t1" || fail "--test on our own section failed"
assert_contains "$T/t1" "decrypts"
assert_contains "$T/t1" "is signed by the client's key"
$KG --dir "$T/theirs" --test <"$T/sec-theirs" >"$T/t2" || fail "--test on upstream's section"
rc=0; $KG --dir "$T/ours" --test="$T/sec-theirs" >"$T/t3" 2>&1 || rc=$?
assert_eq "$rc" 1 "--test with the wrong keys"
assert_contains "$T/t3" "does NOT decrypt"

# The server side: upstream's server with all three sections.
start_bus
write_server_conf "$T/c"
cat "$T/sec-ours" "$T/sec-theirs" "$T/sec-mix" >>"$T/c/clients.conf"
# --test picks a section by name out of a whole clients.conf.
$KG --dir "$T/theirs3" --name mixhost --test="$T/c/clients.conf" >/dev/null ||
	fail "--test --name in a clients.conf"
port=$(random_port)
start_upstream_server "$T/c" "$port"

got() { # $1 client program, $2 key dir, $3 expected secret file
	rm -f "$T/out"
	vg=
	[ "$1" != "$MC" ] || vg=$VALGRIND
	timeout 30 $vg "$1" --connect="[::1]:$port" --interface=none \
		--network-hook-dir="$T/nohooks" $(client_keys "$2") >"$T/out" 2>"$T/err" ||
		fail "$1 with $2 failed: $(tail -n 5 "$T/err")"
	cmp -s "$T/out" "$3" || fail "$1 with $2: wrong secret"
}
# our keygen's keys and section -> upstream client and ours
got "$UPSTREAM_CLIENT" "$T/ours" "$T/pw1"
got "$MC" "$T/ours" "$T/pw1"
# upstream keygen's keys and section -> our client
got "$MC" "$T/theirs" "$T/pw2"
# upstream's keys, our section -> both clients
got "$UPSTREAM_CLIENT" "$T/theirs3" "$T/pw3"
got "$MC" "$T/theirs3" "$T/pw3"
echo ok
