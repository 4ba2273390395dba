#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# mandos-keygen's Part B flags (spec §B.5): --escrow (with --sealed, --escrow-server,
# --escrow-keyfile), --threshold with --share-server, --escrow-rewrap, the offline --test of
# escrow keys, the bad input each refuses with its message, the binding files' names and modes,
# and that the printed sections load in our server.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/keygen-lib.sh"
KG="sh $BUILD/helpers/mandos-keygen/mandos-keygen"
P2=$BUILD/helpers/mandos-keygen/mandos-keygen-p2
MANDOS=$BUILD/server/mandos
[ -x "$P2" ] && [ -x "$MANDOS" ] || fail "mandos-keygen-p2 or the server not built"
export TMPDIR="$T"

A=824C89AA8EFB95EF93629B4519599129CACE4ADAC9A6180DABA31CEED41ECEE6
B=1F0C09D0953E74E7D5D1F9537DC9B3F004D3137584386A520F5F03251CBD7F2D
C=276C0103ED82C2B1E3E831D19225D8B07C94EC98F099B011B9462ED810F03747
mkdir -m 700 "$T/k"
$KG --dir "$T/k" --no-pgp >/dev/null 2>"$T/err" || fail "--no-pgp: $(cat "$T/err")"
printf 'correct horse battery staple' >"$T/pw"
printf 'a longer, rotated password, 43 bytes long..' >"$T/pw2"
key_id=$($P2 key-id "$T/k/tls-pubkey.pem")

# loads SECTION...: our server accepts these sections (each with a checker) without an error.
loads() {
	rm -rf "$T/conf"
	mkdir "$T/conf"
	printf '[DEFAULT]\n' >"$T/conf/mandos.conf"
	for f in "$@"; do
		section_only "$f"
		printf 'checker = true\n\n'
	done >"$T/conf/clients.conf"
	$MANDOS --configdir "$T/conf" --check-config >"$T/check" 2>&1 ||
		fail "the server does not load the section: $(cat "$T/check")"
	assert_not_contains "$T/check" "ERROR" "the server's check of the section"
}

# refused WHY ARGS...: mandos-keygen ARGS exits 1 with a message containing WHY.
refused() {
	_why=$1
	shift
	rc=0
	$KG "$@" >"$T/refused.out" 2>"$T/refused.err" </dev/null || rc=$?
	assert_eq "$rc" 1 "exit status of mandos-keygen $*"
	assert_contains "$T/refused.err" "$_why"
	[ ! -s "$T/refused.out" ] || fail "a refused run printed a section: $(cat "$T/refused.out")"
}

echo "# --escrow: escrow-<kid>.conf (0600) and a section with escrow_key, no secret"
$KG --dir "$T/k" --passfile "$T/pw" --no-ssh --escrow --name esc >"$T/esc" 2>"$T/err" ||
	fail "--escrow: $(cat "$T/err")"
set -- "$T"/k/escrow-*.conf
[ $# -eq 1 ] && [ -f "$1" ] || fail "--escrow made no single binding file: $*"
single=$1
kid=$(sed -n 's/^kid = //p' "$single")
assert_eq "${single##*/}" "escrow-$kid.conf" "the binding's file name"
case $kid in
*[!0-9a-f]* | '') fail "the kid is not lower-case hex: $kid" ;;
esac
assert_eq "${#kid}" 32 "length of the kid"
assert_eq "$(stat -c %a "$single")" 600 "mode of the binding"
assert_eq "$(head -n 1 "$T/esc")" "[esc]" "first line"
assert_eq "$(sed -n 's/^key_id = //p' "$T/esc")" "$(printf '%s' "$key_id" | tr A-F a-f)" "key_id"
assert_eq "$(grep -c '^escrow_key = [A-Za-z0-9+/]\{43\}=$' "$T/esc")" 1 "escrow_key line"
assert_eq "$(sed -n 's/^escrow_key = //p' "$T/esc" | base64 -d | wc -c)" 32 "scalar length"
assert_eq "$(grep -c '^protocols = 2$' "$T/esc")" 1 "protocols line"
for k in secret fingerprint sealed_secret; do
	! grep -q "^$k =" "$T/esc" || fail "an escrow section has $k"
done
assert_contains "$T/err" "Wrote $single"
assert_contains "$T/err" "update-initramfs -u"
# The scalar is in the section only: not in the binding or anywhere in the key directory.
S=$(sed -n 's/^escrow_key = //p' "$T/esc")
! grep -rqF "$S" "$T/k" || fail "the server's scalar is in the key directory"
! grep -qF "$(cat "$T/pw")" "$single" || fail "the password is in the binding"
$KG --dir "$T/k" --test="$T/esc" >"$T/t" 2>"$T/err" || fail "--test: $(cat "$T/t" "$T/err")"
assert_contains "$T/t" "[esc]: escrow key #1 (kid $kid): the binding escrow-$kid.conf opens (28 bytes)"
loads "$T/esc"
# Another client's key: the box is bound to the key ID, and does not open.
mkdir -m 700 "$T/other"
$KG --dir "$T/other" --no-pgp >/dev/null 2>&1
cp "$single" "$T/other/"
rc=0; $KG --dir "$T/other" --test="$T/esc" >"$T/t" 2>&1 || rc=$?
assert_eq "$rc" 1 "--test with another client's key"
assert_contains "$T/t" "the binding escrow-$kid.conf does NOT open with it"
# A scalar of no binding here (another client's section).
$KG --dir "$T/other" --passfile "$T/pw" --no-ssh --escrow --name foreign >"$T/foreign" \
	2>/dev/null || fail "--escrow in another key directory"
rc=0; $KG --dir "$T/k" --test="$T/foreign" >"$T/t" 2>&1 || rc=$?
assert_eq "$rc" 1 "--test with another client's escrow_key"
assert_contains "$T/t" "no binding in $T/k has it"
assert_contains "$T/t" "the escrow keys do NOT all open bindings"
rm "$single"

echo "# --escrow --sealed --escrow-server: both secrets, the servers in the binding"
lower=$(printf '%s' "$B" | tr A-F a-f)
$KG --dir "$T/k" --passfile "$T/pw" --no-ssh --escrow --sealed --escrow-server="$A" \
	--escrow-server "$lower" --name both >"$T/both" 2>"$T/err" || fail "--sealed: $(cat "$T/err")"
assert_contains "$T/both" "sealed_secret ="
assert_eq "$(grep -c '^escrow_key = ' "$T/both")" 1 "escrow_key lines"
assert_eq "$(grep -c '^protocols = 2$' "$T/both")" 1 "protocols line"
set -- "$T"/k/escrow-*.conf
assert_eq "$(grep '^server = ' "$1")" "server = $A $B" "the binding's server line"
$KG --dir "$T/k" --test="$T/both" >"$T/t" 2>"$T/err" || fail "--test both: $(cat "$T/err")"
assert_contains "$T/t" "the sealed secret opens"
assert_contains "$T/t" "opens (28 bytes)"
loads "$T/both"
rm "$1"
refused "at most 4 servers" --dir "$T/k" --passfile "$T/pw" --no-ssh --escrow \
	--escrow-server "$A" --escrow-server "$B" --escrow-server "$C" \
	--escrow-server 0000000000000000000000000000000000000000000000000000000000000001 \
	--escrow-server 0000000000000000000000000000000000000000000000000000000000000002
refused "given twice" --dir "$T/k" --passfile "$T/pw" --no-ssh --escrow --escrow-server "$A" \
	--escrow-server "$(printf '%s' "$A" | tr A-F a-f)"
refused "Not a key ID" --dir "$T/k" --passfile "$T/pw" --no-ssh --escrow --escrow-server 12ab
refused "--escrow-server needs --escrow" --dir "$T/k" --passfile "$T/pw" --escrow-server "$A"
refused "need --password or --passfile" --dir "$T/k" --escrow
[ -z "$(ls "$T"/k/escrow-*.conf 2>/dev/null)" ] || fail "a refused run left a binding"

echo "# --escrow-keyfile: the section names the file, the scalar follows it"
kf=/var/lib/mandos/escrow/kf.key
$KG --dir "$T/k" --passfile "$T/pw" --no-ssh --escrow --escrow-keyfile="$kf" --name kf \
	>"$T/kf" 2>"$T/err" || fail "--escrow-keyfile: $(cat "$T/err")"
assert_eq "$(grep -c '^escrow_keyfile = /var/lib/mandos/escrow/kf.key$' "$T/kf")" 1 "keyfile line"
! grep -q '^escrow_key =' "$T/kf" || fail "a keyfile section has escrow_key"
assert_contains "$T/kf" "# Save the next line alone as $kf on the server (mode 0600, owned by the server's user"
assert_contains "$T/kf" "/var/lib/mandos/escrow/"
assert_eq "$(keyfile_scalar "$T/kf" | base64 -d | wc -c)" 32 "the keyfile's scalar"
# The scalar saved as a keyfile where the server reads it: the section loads, --test opens.
mkdir -m 700 "$T/escrow"
(umask 077 && keyfile_scalar "$T/kf" >"$T/escrow/kf.key")
section_only "$T/kf" | sed "s|^escrow_keyfile = .*|escrow_keyfile = $T/escrow/kf.key|" \
	>"$T/kf-here"
$KG --dir "$T/k" --test="$T/kf-here" >"$T/t" 2>"$T/err" || fail "--test keyfile: $(cat "$T/err")"
assert_contains "$T/t" "opens (28 bytes)"
# (The whole output works too: the scalar after the section stands for the file.)
$KG --dir "$T/k" --test="$T/kf" >"$T/t" 2>"$T/err" || fail "--test keyfile output"
assert_contains "$T/t" "opens (28 bytes)"
loads "$T/kf-here"
# The path is expanded as the server expands it: "%(key)s" (of the section or [DEFAULT]) and
# "%%", then $VAR, ${VAR} and ~; the server loads the same file.
mkdir -m 700 "$T/es%c"
cp "$T/escrow/kf.key" "$T/es%c/kf.key"
{
	printf '[DEFAULT]\nkfdir = ${KF_TOP}/es%%%%c\n\n'
	section_only "$T/kf" | sed 's|^escrow_keyfile = .*|escrow_keyfile = %(kfdir)s/%(base)s.key\nbase = kf|'
} >"$T/kf-interp"
KF_TOP=$T $KG --dir "$T/k" --test="$T/kf-interp" >"$T/t" 2>"$T/err" ||
	fail "--test interpolated keyfile: $(cat "$T/err")"
assert_contains "$T/t" "opens (28 bytes)"
section_only "$T/kf" | sed 's|^escrow_keyfile = .*|escrow_keyfile = ~/escrow/$KF_BASE.key|' \
	>"$T/kf-home"
HOME=$T KF_BASE=kf $KG --dir "$T/k" --test="$T/kf-home" >"$T/t" 2>"$T/err" ||
	fail "--test keyfile under ~: $(cat "$T/err")"
assert_contains "$T/t" "opens (28 bytes)"
KF_TOP=$T loads "$T/kf-interp"
HOME=$T KF_BASE=kf loads "$T/kf-home"
rm "$T"/k/escrow-*.conf
refused "--escrow-keyfile needs --escrow or --threshold" --dir "$T/k" --passfile "$T/pw" \
	--escrow-keyfile=/x
refused "Not a usable escrow keyfile path" --dir "$T/k" --passfile "$T/pw" --no-ssh --escrow \
	--escrow-keyfile="/a b"
# A '%' would be interpolated by the server (mandos-clients.conf(5)).
refused "Not a usable escrow keyfile path" --dir "$T/k" --passfile "$T/pw" --no-ssh --escrow \
	--escrow-keyfile="/a/100%.key"

echo "# --threshold 2 of 3: escrow-2of3-<kid1>.conf, three sections, the servers pinned"
$KG --dir "$T/k" --passfile "$T/pw" --no-ssh --threshold=2 --share-server "$A@192.0.2.1:7001" \
	--share-server="$B@[2001:db8::2]:7002" --share-server "$C" --name thr >"$T/thr" \
	2>"$T/err" || fail "--threshold: $(cat "$T/err")"
set -- "$T"/k/escrow-2of3-*.conf
[ $# -eq 1 ] && [ -f "$1" ] || fail "no threshold binding file: $*"
tb=$1
kid1=$(sed -n '/^\[share 1\]$/,/^$/s/^kid = //p' "$tb")
assert_eq "${tb##*/}" "escrow-2of3-$kid1.conf" "the threshold binding's file name"
assert_eq "$(stat -c %a "$tb")" 600 "mode of the threshold binding"
assert_eq "$(split_shares "$T/thr" "$T/share")" 3 "sections"
i=0
for id in "$A" "$B" "$C"; do
	i=$((i + 1))
	assert_eq "$(head -n 1 "$T/share.$i")" \
		"# share $i of 3 (threshold 2): only for the server with key ID $id" "share $i's comment"
	assert_eq "$(share_server_id "$T/share.$i")" "$id" "share $i's server"
	assert_eq "$(grep -c '^escrow_key = ' "$T/share.$i")" 1 "share $i's escrow_key"
	assert_eq "$(grep -c '^protocols = 2$' "$T/share.$i")" 1 "share $i's protocols"
	assert_eq "$(grep -c '^\[thr\]$' "$T/share.$i")" 1 "share $i's section name"
	for k in secret sealed_secret secfile; do
		! grep -q "^$k =" "$T/share.$i" || fail "share $i's section has $k"
	done
	loads "$T/share.$i"
done
assert_eq "$(sed -n 's/^escrow_key = //p' "$T/thr" | sort -u | wc -l)" 3 "distinct scalars"
assert_eq "$(grep -c '^server = ' "$tb")" 3 "server lines of the binding"
assert_contains "$tb" "address = 192.0.2.1:7001"
assert_contains "$tb" "address = [2001:db8::2]:7002"
assert_eq "$(grep -c '^address = ' "$tb")" 2 "address lines"
for id in "$A" "$B" "$C"; do
	grep -q "^$id # share " "$T/k/server-pins" || fail "$id not pinned: $(cat "$T/k/server-pins")"
done
# --test: every share opens with its section, and two of them give the secret.
$KG --dir "$T/k" --test="$T/thr" >"$T/t" 2>"$T/err" || fail "--test threshold: $(cat "$T/err")"
for i in 1 2 3; do
	assert_contains "$T/t" "share $i of ${tb##*/} opens"
done
assert_contains "$T/t" "[thr]: ${tb##*/}: 2 of 2 shares open the secret (28 bytes)"
$KG --dir "$T/k" --test="$T/share.2" >"$T/t" 2>"$T/err" || fail "--test one share"
assert_contains "$T/t" "${tb##*/}: 1 of 2 shares here"

echo "# threshold input it refuses"
s1="--share-server $A"
s2="--share-server $B"
# shellcheck disable=SC2086
{
	refused "need 2 <= K <= N" --dir "$T/k" --passfile "$T/pw" --threshold 3 $s1 $s2
	refused "need 2 <= K <= N" --dir "$T/k" --passfile "$T/pw" --threshold 1 $s1 $s2
	refused "needs a number" --dir "$T/k" --passfile "$T/pw" --threshold two $s1 $s2
	refused "given twice" --dir "$T/k" --passfile "$T/pw" --no-ssh --threshold 2 $s1 \
		--share-server "$(printf '%s' "$A" | tr A-F a-f)@192.0.2.9:1"
	refused "--threshold cannot be used with --sealed" --dir "$T/k" --passfile "$T/pw" \
		--threshold 2 $s1 $s2 --sealed
	refused "--escrow and --threshold cannot be used together" --dir "$T/k" --passfile "$T/pw" \
		--escrow --threshold 2 $s1 $s2
	refused "--share-server needs --threshold" --dir "$T/k" --passfile "$T/pw" $s1
	refused "Not an address HOST:PORT" --dir "$T/k" --passfile "$T/pw" --no-ssh --threshold 2 \
		$s1 --share-server "$B@192.0.2.1"
	refused "Not an address HOST:PORT" --dir "$T/k" --passfile "$T/pw" --no-ssh --threshold 2 \
		$s1 --share-server "$B@2001:db8::1:7000"
	refused "Not an address HOST:PORT" --dir "$T/k" --passfile "$T/pw" --no-ssh --threshold 2 \
		$s1 --share-server "$B@host:0"
	refused "Not a key ID" --dir "$T/k" --passfile "$T/pw" --no-ssh --threshold 2 $s1 \
		--share-server "nothex@host:1"
}
nine=
for i in 1 2 3 4 5 6 7 8 9; do
	nine="$nine --share-server $(printf '%064X' "$i")"
done
# shellcheck disable=SC2086
refused "at most 8 --share-server options" --dir "$T/k" --passfile "$T/pw" --threshold 2 $nine
# More than 8 escrow items in the key directory: 3 now, 6 more refused, 5 fit.
six=
for i in 1 2 3 4 5 6; do
	six="$six --share-server $(printf '%064X' "$i")"
done
# shellcheck disable=SC2086
refused "3 escrow items already; 6 more would pass the limit of 8" --dir "$T/k" \
	--passfile "$T/pw" --no-ssh --threshold 2 $six
# shellcheck disable=SC2086
$KG --dir "$T/k" --passfile "$T/pw" --no-ssh --threshold 4 ${six#* * * } --name five \
	>/dev/null 2>"$T/err" || fail "5 more items: $(cat "$T/err")"
refused "8 escrow items already; 1 more would pass the limit of 8" --dir "$T/k" \
	--passfile "$T/pw" --no-ssh --escrow
assert_eq "$(ls "$T"/k/escrow-*.conf | wc -l)" 2 "binding files after the refusals"
rm "$T"/k/escrow-4of5-*.conf

echo "# --escrow-rewrap: a new password against the same server keys, the old file overwritten"
$KG --dir "$T/k" --passfile "$T/pw" --no-ssh --escrow --name rw >"$T/rw" 2>/dev/null ||
	fail "--escrow for the rewrap"
set -- "$T"/k/escrow-????????????????????????????????.conf
rb=$1
grep -v '^\(c\|nonce\|box\) = ' "$rb" >"$T/rb.keep"
grep '^\(c\|nonce\|box\) = ' "$rb" >"$T/rb.old"
grep -v '^\(c\|nonce\|box\|data_nonce\|data_box\) = ' "$tb" >"$T/tb.keep"
cp "$tb" "$T/tb.before"
# A second name for the old binding's bytes: the rewrap must overwrite them, not just unlink.
ln "$rb" "$T/rb.link"
ino=$(stat -c %i "$rb")
$KG --dir "$T/k" --passfile "$T/pw2" --escrow-rewrap="$rb" >"$T/out" 2>"$T/err" ||
	fail "--escrow-rewrap: $(cat "$T/err")"
assert_contains "$T/out" "Rewrapped $rb"
assert_contains "$T/out" "update-initramfs -u"
[ "$(stat -c %i "$rb")" != "$ino" ] || fail "the binding was not replaced by a new file"
assert_eq "$(stat -c %a "$rb")" 600 "mode of the rewrapped binding"
[ -z "$(tr -d '\0' <"$T/rb.link")" ] || fail "the old binding's bytes were not overwritten"
for f in "$T"/k/.*; do
	case ${f##*/} in
	. | ..) ;;
	*) [ ! -e "$f" ] || fail "a temporary file is left: $f" ;;
	esac
done
grep -v '^\(c\|nonce\|box\) = ' "$rb" | cmp -s - "$T/rb.keep" ||
	fail "the rewrap changed kid, s or servers"
! grep '^\(c\|nonce\|box\) = ' "$rb" | cmp -s - "$T/rb.old" || fail "c, nonce, box unchanged"
# The unchanged section opens it, with the new password's length (43), not the old one's (28).
$KG --dir "$T/k" --test="$T/rw" >"$T/t" 2>"$T/err" || fail "--test after the rewrap"
assert_contains "$T/t" "the binding ${rb##*/} opens (43 bytes)"
loads "$T/rw"
# A threshold binding by its name in DIR: new shares, the same servers and s_i.
$KG --dir "$T/k" --passfile "$T/pw2" --escrow-rewrap "${tb##*/}" >/dev/null 2>"$T/err" ||
	fail "--escrow-rewrap threshold: $(cat "$T/err")"
grep -v '^\(c\|nonce\|box\|data_nonce\|data_box\) = ' "$tb" | cmp -s - "$T/tb.keep" ||
	fail "the threshold rewrap changed kids, s, servers or addresses"
! cmp -s "$tb" "$T/tb.before" || fail "the threshold rewrap changed nothing"
$KG --dir "$T/k" --test="$T/thr" >"$T/t" 2>"$T/err" || fail "--test threshold after rewrap"
assert_contains "$T/t" "2 of 2 shares open the secret (43 bytes)"
# Refused: a missing file, a corrupt one (left as it was), options that do not go with it.
refused "No binding file $T/k/escrow-none.conf" --dir "$T/k" --passfile "$T/pw" \
	--escrow-rewrap escrow-none.conf
# (The kid with its first digit changed: no longer the kid of s, on line 3.)
awk '/^kid = / { c = substr($3, 1, 1); $3 = (c == "f" ? "e" : "f") substr($3, 2) } { print }' \
	"$rb" >"$T/corrupt.conf"
cp "$T/corrupt.conf" "$T/corrupt.before"
refused "$T/corrupt.conf:3: " --dir "$T/k" --passfile "$T/pw" --escrow-rewrap "$T/corrupt.conf"
cmp -s "$T/corrupt.conf" "$T/corrupt.before" || fail "a refused rewrap changed the file"
printf 'version = 1\nkid = x\n' >"$T/short.conf"
refused "$T/short.conf:" --dir "$T/k" --passfile "$T/pw" --escrow-rewrap "$T/short.conf"
refused "it takes no --escrow" --dir "$T/k" --passfile "$T/pw" --escrow --escrow-rewrap "$rb"
refused "need --password or --passfile" --dir "$T/k" --escrow-rewrap "$rb"
# The helper's exit statuses, as documented in its --help.
rc=0; "$P2" rewrap "$T/k/escrow-none.conf" "$T/k/tls-pubkey.pem" </dev/null 2>/dev/null || rc=$?
assert_eq "$rc" 66 "helper: rewrap of a missing file"
rc=0; "$P2" rewrap "$T/corrupt.conf" "$T/k/tls-pubkey.pem" </dev/null 2>/dev/null || rc=$?
assert_eq "$rc" 65 "helper: rewrap of a corrupt file"
rc=0; "$P2" threshold /dev/null /dev/null "$T/k/tls-pubkey.pem" "$T/k" 2 "" "$A" "$B" \
	</dev/null 2>/dev/null || rc=$?
assert_eq "$rc" 65 "helper: an empty password"
echo ok
