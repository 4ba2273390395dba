#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Real dracut builds initramfs images with our 90mandos module (with and without systemd, with
# and without OpenPGP keys: then mandos-client-p2only, and with an escrow binding: then
# --escrow-dir); lsinitrd shows what went in.  No boot: the QEMU tests do that.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd dracut lsinitrd bash
[ -d /usr/lib/dracut/modules.d ] || skip "no dracut modules directory"
[ -d /etc/keys/mandos ] || [ -d /etc/mandos/keys ] || skip "no Mandos client keys on this host"

# dracut's own tree, with our module in place of any installed 90mandos.
base=$T/dracut
mkdir -p "$base/modules.d/90mandos"
for f in /usr/lib/dracut/*; do
	[ "${f##*/}" = modules.d ] || ln -s "$f" "$base/"
done
for m in /usr/lib/dracut/modules.d/*; do
	[ "${m##*/}" = 90mandos ] || ln -s "$m" "$base/modules.d/"
done
cp "$BUILD/dracut/90mandos/module-setup.sh" "$SRC"/dracut/90mandos/*.sh \
	"$SRC"/dracut/90mandos/ask-password-mandos.* \
	"$BUILD/dracut/password-agent/password-agent" "$base/modules.d/90mandos/"
chmod 755 "$base/modules.d/90mandos/module-setup.sh"
mkdir -p "$T/conf.d" "$T/tmp"

libdir=$(bash -c '. "$1"; mandos_libdir' sh "$BUILD/dracut/90mandos/module-setup.sh") ||
	skip "no Mandos programs on this host"
[ -x "$libdir/plugins.d/mandos-client" ] || skip "no mandos-client in $libdir"
ids=$(bash -c '. "$1"; mandos_ids' sh "$BUILD/dracut/90mandos/module-setup.sh")
# The host's programs with our two mandos-client builds, found first by the module: without
# OpenPGP keys the image gets mandos-client-p2only, with them the full client.
cp -a "$libdir" "$T/libmandos"
libdir=$T/libmandos
install -m 4755 "$BUILD/plugins.d/mandos-client/mandos-client" "$libdir/plugins.d/"
install -m 755 "$BUILD/plugins.d/mandos-client/mandos-client-p2only" "$libdir/"
sed -i "s|local -a dirs=(|&\"$libdir\" |" "$base/modules.d/90mandos/module-setup.sh"
uid=${ids% *} gid=${ids#* }

# build IMAGE MODULES OMIT: a host-only image without kernel, host configuration ignored.
build() {
	dracutbasedir=$base dracut --conf /dev/null --confdir "$T/conf.d" --force --hostonly \
		--no-kernel --no-compress --tmpdir "$T/tmp" --modules "$2" --omit "$3" "$1" \
		>"$T/dracut.log" 2>&1 || { tail -n 30 "$T/dracut.log" >&2; fail "dracut failed"; }
	assert_contains "$T/dracut.log" "Including module: mandos"
	lsinitrd "$1" >"$1.list" 2>/dev/null
}

# client_is IMAGE PATH full|p2only: the image's mandos-client at PATH is that build, and the
# image has GnuTLS and GPGME libraries exactly when it is the full one.
client_is() {
	_p=$(grep -Eo " (usr/)?$2\$" "$1.list" | head -n 1)
	lsinitrd -f "${_p# }" "$1" >"$T/client" 2>/dev/null
	[ -s "$T/client" ] || fail "no $2 in $1"
	chmod 755 "$T/client"
	if [ "$3" = full ]; then
		ldd "$T/client" | grep -q libgnutls || fail "$2 in $1 is not the full mandos-client"
		grep -q 'libgnutls' "$1.list" || fail "no GnuTLS library in $1"
	else
		! ldd "$T/client" | grep -E 'libgnutls|libgpgme' ||
			fail "$2 in $1 is not mandos-client-p2only"
		! grep -E 'libgnutls|libgpgme' "$1.list" || fail "GnuTLS or GPGME libraries in $1"
	fi
}

# has IMAGE PATH: the image holds PATH (under /usr too: merged /usr).
has() {
	grep -Eq " (usr/)?$2( |\$)" "$1.list" || { grep mandos "$1.list" >&2; fail "$2 is not in $1"; }
}
hasnt() {
	! grep -Eq " (usr/)?$2( |\$)" "$1.list" || fail "$2 should not be in $1"
}

echo "# with systemd"
img=$T/systemd.img
build "$img" "bash systemd crypt mandos" ""
has "$img" lib/mandos/password-agent
has "$img" lib/mandos/mandos-client
has "$img" lib/systemd/system/ask-password-mandos.path
has "$img" lib/systemd/system/ask-password-mandos.service
has "$img" lib/systemd/system/sysinit.target.wants/ask-password-mandos.path
has "$img" etc/mandos/keys/pubkey.txt
has "$img" etc/mandos/keys/tls-privkey.pem
hasnt "$img" lib/mandos/plugin-runner
client_is "$img" lib/mandos/mandos-client full
grep -E ' (usr/)?lib/mandos/mandos-client$' "$img.list" | grep -q '^-rwxr-xr-x' ||
	fail "mandos-client is setuid or not executable in the systemd image"
lsinitrd -f usr/lib/systemd/system/ask-password-mandos.service "$img" >"$T/unit" 2>/dev/null
exec_start=$(grep '^ExecStart=' "$T/unit")
want="ExecStart=/lib/mandos/password-agent "
[ "$uid" = 65534 ] || want="$want--user=$uid "
[ "$gid" = 65534 ] || want="$want--group=$gid "
case "$exec_start" in
"$want\$PASSWORD_AGENT_OPTIONS -- /lib/mandos/mandos-client "*) ;;
*) fail "ExecStart: $exec_start" ;;
esac
echo "# the agent passes its self-test inside the unpacked image (its libraries, its /bin/sh)"
if command -v chroot >/dev/null 2>&1 && command -v unshare >/dev/null 2>&1; then
	mkdir "$T/root"
	(cd "$T/root" && lsinitrd --unpack "$img" >/dev/null 2>&1)
	# With /proc (in a private mount namespace), which sanitizer builds need.
	# (Without the TMPDIR of the host, which the image does not have.)
	unshare -m sh -c 'mount -t proc proc "$1/proc" && exec env -u TMPDIR chroot "$1" "$2" --test' \
		sh "$T/root" /lib/mandos/password-agent >"$T/selftest" 2>&1 ||
		{ cat "$T/selftest" >&2; fail "password-agent --test failed in the image"; }
	assert_not_contains "$T/selftest" "not ok"
	rm -rf "$T/root"
fi

echo "# without systemd"
img=$T/plain.img
build "$img" "bash crypt mandos" "systemd systemd-initrd dracut-systemd"
has "$img" lib/mandos/plugin-runner
has "$img" lib/mandos/plugins.d/mandos-client
has "$img" lib/mandos/plugins.d/password-prompt
has "$img" lib/mandos/mandos-crypt-lib.sh
has "$img" lib/dracut/hooks/cmdline/20-cmdline-mandos.sh
has "$img" etc/mandos/plugin-runner.conf
hasnt "$img" lib/mandos/plugins.d/askpass-fifo
hasnt "$img" lib/mandos/password-agent
lsinitrd -f etc/mandos/plugin-runner.conf "$img" >"$T/conf" 2>/dev/null
assert_contains "$T/conf" "--options-for=mandos-client:--pubkey=/etc/mandos/keys/pubkey.txt,"
# A client with OpenPGP keys gets gpg and the full client.
has "$img" bin/gpg
client_is "$img" lib/mandos/plugins.d/mandos-client full

echo "# a client without OpenPGP keys (protocol 2 only): no gpg, no OpenPGP options"
# The key directory of mandos-keygen --no-pgp, over the host's in a private mount namespace.
KG="sh $BUILD/helpers/mandos-keygen/mandos-keygen"
mkdir -m 700 "$T/keys"
$KG --dir "$T/keys" --no-pgp >/dev/null 2>"$T/kg.err" ||
	fail "mandos-keygen --no-pgp: $(cat "$T/kg.err")"
pin=824C89AA8EFB95EF93629B4519599129CACE4ADAC9A6180DABA31CEED41ECEE6
$KG --dir "$T/keys" --pin-server="$pin:srv" >/dev/null
# An escrow binding (spec §B.3): it goes in beside the keys, and mandos-client is told where.
printf 'escrow password' >"$T/pw"
$KG --dir "$T/keys" --passfile "$T/pw" --no-ssh --no-pgp --escrow --name escrowed \
	>/dev/null 2>"$T/kg.err" || fail "mandos-keygen --escrow: $(cat "$T/kg.err")"
binding=$(cd "$T/keys" && ls escrow-*.conf)
[ -n "$binding" ] || fail "mandos-keygen --escrow made no binding file"
keydir=/etc/keys/mandos
[ -d "$keydir" ] || keydir=/etc/mandos/keys
# build_in_ns IMAGE MODULES OMIT: as build, with $T/keys as the host's key directory.
build_in_ns() {
	dracutbasedir=$base unshare -m --propagation private sh -c \
		'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh "$T/keys" "$keydir" \
		dracut --conf /dev/null --confdir "$T/conf.d" --force --hostonly --no-kernel \
		--no-compress --tmpdir "$T/tmp" --modules "$2" --omit "$3" "$1" \
		>"$T/dracut.log" 2>&1 || { tail -n 30 "$T/dracut.log" >&2; fail "dracut failed"; }
	lsinitrd "$1" >"$1.list" 2>/dev/null
}
img=$T/nopgp-systemd.img
build_in_ns "$img" "bash systemd crypt mandos" ""
has "$img" etc/mandos/keys/seal-privkey.pem
has "$img" etc/mandos/keys/server-pins
has "$img" "etc/mandos/keys/$binding"
hasnt "$img" etc/mandos/keys/seckey.txt
for prog in gpg gpg-agent gpgconf; do
	hasnt "$img" "bin/$prog"
done
lsinitrd -f usr/lib/systemd/system/ask-password-mandos.service "$img" >"$T/unit" 2>/dev/null
assert_not_contains "$T/unit" "pubkey.txt" "the unit of a client without OpenPGP keys"
assert_not_contains "$T/unit" "seckey.txt" "the unit of a client without OpenPGP keys"
assert_contains "$T/unit" "--seal-key=/etc/mandos/keys/seal-privkey.pem"
assert_contains "$T/unit" "--server-pins=/etc/mandos/keys/server-pins"
assert_contains "$T/unit" "--escrow-dir=/etc/mandos/keys"
grep -E " (usr/)?etc/mandos/keys/$binding\$" "$img.list" | grep -q '^-rw-------' ||
	fail "the binding is not mode 0600 in the image: $(grep "$binding" "$img.list")"
# ... and mandos-client-p2only as its mandos-client: no GnuTLS, no GPGME.
client_is "$img" lib/mandos/mandos-client p2only
img=$T/nopgp-plain.img
build_in_ns "$img" "bash crypt mandos" "systemd systemd-initrd dracut-systemd"
hasnt "$img" bin/gpg
hasnt "$img" bin/gpg-agent
client_is "$img" lib/mandos/plugins.d/mandos-client p2only
grep -E ' (usr/)?lib/mandos/plugins.d/mandos-client$' "$img.list" | grep -q '^-rwsr-xr-x' ||
	fail "mandos-client-p2only is not setuid in the image without systemd"
lsinitrd -f etc/mandos/plugin-runner.conf "$img" >"$T/conf" 2>/dev/null
assert_not_contains "$T/conf" "--pubkey=" "plugin-runner.conf without OpenPGP keys"
k=/etc/mandos/keys
assert_contains "$T/conf" \
	"--options-for=mandos-client:--tls-pubkey=$k/tls-pubkey.pem,--tls-privkey=$k/tls-privkey.pem,--seal-key=$k/seal-privkey.pem,--server-pins=$k/server-pins,--escrow-dir=$k"
