#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Real mkinitramfs with our initramfs-tools hook, keys with and without OpenPGP keys: without
# them (with an escrow binding too) the image's mandos-client is mandos-client-p2only (setuid
# root there), the image has no GnuTLS, GPGME or gpg, and the binding is in conf/conf.d/mandos;
# with them, the full client.  No boot: the QEMU tests do that.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/e2e/boot-lib.sh"
require_root
require_cmd mkinitramfs lsinitramfs unshare
if [ -z "$KVER" ] || [ ! -d "/lib/modules/$KVER" ]; then
	skip "no kernel modules for an image"
fi

KEYGEN=$BUILD/helpers/mandos-keygen/mandos-keygen
stage_install
mkdir -p "$T/keys" "$T/etc-mandos/plugins.d" "$T/etc-mandos/plugin-helpers" \
	"$T/etc-mandos/network-hooks.d"
: >"$T/etc-mandos/plugin-runner.conf"
sh "$KEYGEN" --dir "$T/keys" --force >/dev/null 2>&1 || fail "mandos-keygen"
[ -e "$T/keys/seckey.txt" ] || fail "mandos-keygen made no OpenPGP keys"
mkdir -m 700 "$T/keys2"
sh "$KEYGEN" --dir "$T/keys2" --no-pgp >/dev/null 2>&1 || fail "mandos-keygen --no-pgp"
sh "$KEYGEN" --dir "$T/keys2" \
	--pin-server=824C89AA8EFB95EF93629B4519599129CACE4ADAC9A6180DABA31CEED41ECEE6:srv \
	>/dev/null || fail "mandos-keygen --pin-server"
# An escrow binding (spec §B.3) beside the keys: still the protocol-2-only image, the binding in
# /conf/conf.d/mandos (mandos-client's default --escrow-dir) with its mode and the keys' owner.
printf 'escrow password' >"$T/pw"
sh "$KEYGEN" --dir "$T/keys2" --passfile "$T/pw" --no-ssh --no-pgp --escrow --name escrowed \
	>/dev/null 2>"$T/kg.err" || fail "mandos-keygen --escrow: $(cat "$T/kg.err")"
binding=$(cd "$T/keys2" && ls escrow-*.conf)
[ -n "$binding" ] || fail "mandos-keygen --escrow made no binding file"

# image NAME KEYDIR: build $T/NAME.img with those keys; its listing in $T/NAME.list, its
# mandos-client in $T/NAME.client.
image() {
	# shellcheck disable=SC2046 # one bind mount a word
	KEYS=$2 build_initramfs "$T/$1.img" $(KEYS=$2 our_initramfs_binds)
	lsinitramfs -l "$T/$1.img" >"$T/$1.list"
	mkdir "$T/$1.root"
	unmkinitramfs "$T/$1.img" "$T/$1.root" 2>/dev/null || fail "unmkinitramfs $1"
	c=$(find "$T/$1.root" -path '*/lib/mandos/plugins.d/mandos-client' | head -n 1)
	[ -n "$c" ] || fail "no plugins.d/mandos-client in the $1 image"
	cp "$c" "$T/$1.client"
}
image p1 "$T/keys"
image p2 "$T/keys2"

P2ONLY=$INST_LIBDIR/mandos-client-p2only
FULL=$INST_LIBDIR/plugins.d/mandos-client
cmp -s "$T/p2.client" "$P2ONLY" || fail "the no-OpenPGP image's mandos-client is not p2only"
cmp -s "$T/p1.client" "$FULL" || fail "the OpenPGP image's mandos-client is not the full one"
grep -Eq '^-rwsr-xr-x +[0-9]+ +root +root .* usr/lib/mandos/plugins.d/mandos-client$' \
	"$T/p2.list" || fail "mandos-client-p2only is not setuid root in the image"
for lib in libgnutls libgpgme; do
	! grep -E "/$lib\.so[.0-9]*\$" "$T/p2.list" || fail "$lib in the protocol 2 image"
	grep -Eq "/$lib\.so[.0-9]*\$" "$T/p1.list" || fail "no $lib in the protocol 1 image"
done
check_p2_image "$T/p1.list" "$T/p2.list" conf/conf.d/mandos
mandos_user=$(getent passwd _mandos >/dev/null && echo _mandos || echo nobody)
grep -Eq "^-rw------- +[0-9]+ +$mandos_user +[^ ]+ .* conf/conf.d/mandos/$binding\$" \
	"$T/p2.list" || fail "the image lacks conf/conf.d/mandos/$binding (0600, $mandos_user):" \
	"$(grep 'conf/conf.d/mandos' "$T/p2.list")"
b=$(find "$T/p2.root" -path "*/conf/conf.d/mandos/$binding" | head -n 1)
[ -n "$b" ] && cmp -s "$b" "$T/keys2/$binding" ||
	fail "the image's $binding differs from the key directory's"
echo "image bytes, unpacked: with OpenPGP keys $(stat -c %s "$T/p1.img")" \
	"$(unpacked_size "$T/p1.list"); protocol 2 only $(stat -c %s "$T/p2.img")" \
	"$(unpacked_size "$T/p2.list")"
echo ok
