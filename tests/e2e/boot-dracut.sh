#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Boot a QEMU guest with an initramfs built by dracut (with systemd inside) and our 90mandos
# module: password-agent runs our mandos-client, which fetches the LUKS passphrase from our
# server on the host; the guest reaches its marker with no human input (spec 8.4, 8.5).  Then
# protocol 2 only (issue 12): keys made with mandos-keygen --no-pgp, a sealed secret, the
# server key pinned, protocols = 2 for that client; no gpg in the image, unattended again.
# The test prints the guest's time from systemd-cryptsetup's start to its success and the
# image's size for both protocols.  Last, dracut without systemd: its crypt module's
# ask_for_password() is ours (cmdline-mandos.sh, mandos-crypt-lib.sh), which runs plugin-runner,
# and the guest unlocks unattended again.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/boot-lib.sh"
boot_requirements
require_cmd dracut

MANDOS=$BUILD/server/mandos
KEYGEN=$BUILD/helpers/mandos-keygen/mandos-keygen
[ -x "$MANDOS" ] || fail "server not built: $MANDOS"
[ -r "$KEYGEN" ] || fail "mandos-keygen not built: $KEYGEN"

stage_install
moddir=$(find "$T/inst" -type d -path '*/dracut/modules.d/90mandos' | head -n 1)
[ -n "$moddir" ] || fail "our dracut module is not installed"
[ -d /usr/lib/dracut/modules.d ] || fail "dracut has no module directory"

printf 'dracut disk passphrase' > "$T/pw"
make_root_image "$T/root.img" "$T/pw"
uuid=$(cryptsetup luksUUID "$T/root.img")

mkdir -p "$T/keys" "$T/etc-mandos/plugins.d" "$T/etc-mandos/plugin-helpers" \
	"$T/etc-mandos/network-hooks.d" "$T/conf" "$T/state" "$T/dropin" "$T/modules.d"
: > "$T/etc-mandos/plugin-runner.conf"
sh "$KEYGEN" --dir "$T/keys" --force > /dev/null 2>&1
sh "$KEYGEN" --dir "$T/keys" --passfile "$T/pw" --no-ssh --name guest > "$T/section"
# The protocol 2 client, guest2.
make_p2_client
port=$(random_port)
printf '[Service]\nEnvironment=MANDOS_CLIENT_OPTIONS=--connect=10.0.2.2:%s\n' "$port" \
	> "$T/dropin/connect.conf"

# dracut's module directory with ours in place of any 90mandos already there.
cp -a /usr/lib/dracut/modules.d/. "$T/modules.d/"
rm -rf "$T/modules.d/90mandos"
cp -a "$moddir" "$T/modules.d/90mandos"
# build_dracut IMAGE: our module with the keys of $KEYS (default $T/keys); with
# NO_SYSTEMD=yes, dracut's own init and network-legacy (dhclient) instead of systemd.
build_dracut() {
	script=$T/dracut-in-ns.sh
	{
		echo 'set -e'
		our_initramfs_binds | grep -v initramfs-tools | while IFS=: read -r src dest; do
			printf "mount --bind '%s' '%s'\n" "$src" "$dest"
		done
		printf "mount --bind '%s' /usr/lib/dracut/modules.d\n" "$T/modules.d"
		printf "dracut --quiet --force --hostonly --no-hostonly-cmdline"
		if [ "${NO_SYSTEMD:-no}" = yes ]; then
			printf " --omit 'systemd systemd-initrd dracut-systemd systemd-networkd'"
			printf " --add 'crypt mandos network-legacy'"
		else
			printf " --add 'crypt mandos systemd-networkd'"
		fi
		printf " --add-drivers 'virtio_blk virtio_net virtio_pci dm_crypt ext4'"
		printf " --include '%s' /etc/systemd/system/ask-password-mandos.service.d" "$T/dropin"
		printf " '%s' '%s'\n" "$1" "$KVER"
	} > "$script"
	unshare -m --propagation private sh "$script" > "$T/dracut.log" 2>&1 ||
		{ tail -n 30 "$T/dracut.log" >&2; fail "dracut failed"; }
}
build_dracut "$T/initrd.img"
KEYS=$T/keys2 build_dracut "$T/initrd2.img"
# gpg in the protocol 1 image; none of it in the protocol 2 one, which has the seal key and pins.
lsinitrd "$T/initrd.img" > "$T/listing" 2> /dev/null
lsinitrd "$T/initrd2.img" > "$T/listing2" 2> /dev/null
check_p2_image "$T/listing" "$T/listing2" etc/mandos/keys

printf '[DEFAULT]\n' > "$T/conf/mandos.conf"
{
	cat "$T/section"
	echo "checker = true"
	echo
	cat "$T/section2"
	echo "checker = true"
} > "$T/conf/clients.conf"
$VALGRIND "$MANDOS" --configdir "$T/conf" --statedir "$T/state" --no-dbus --no-zeroconf \
	--no-ipv6 --address 127.0.0.1 --port "$port" --foreground --debug > "$T/server.log" 2>&1 &
on_exit "kill $!"
wait_for_port "$port"

# systemd's status lines on the console: the times of systemd-cryptsetup's start and end.
dracut_append="rd.luks.uuid=$uuid root=/dev/mapper/luks-$uuid rd.neednet=1 ip=dhcp rd.shell=0"
dracut_append="$dracut_append systemd.show_status=1"
boot_guest "$T/root.img" "$T/initrd.img" "$T/boot.log" 200 \
	"$dracut_append"
wait_boot || true
assert_contains "$T/boot.log" "$MARKER" "guest console (dracut)"
assert_contains "$T/server.log" "Sending secret to guest" "server log"
echo "dracut + password-agent boot: ok"

boot_guest "$T/root.img" "$T/initrd2.img" "$T/boot2.log" 200 \
	"$dracut_append"
wait_boot || true
assert_contains "$T/boot2.log" "$MARKER" "guest console (dracut, protocol 2)"
assert_contains "$T/server.log" "Sending secret to guest2 (protocol 2: sealed)" "server log"
echo "dracut + password-agent boot, protocol 2 only: ok"
boot_figures 1 "start to success" "Starting systemd-cryptsetu" "Finished systemd-cryptsetu" \
	"$T/boot.log" "$T/initrd.img" "$T/listing"
boot_figures 2 "start to success" "Starting systemd-cryptsetu" "Finished systemd-cryptsetu" \
	"$T/boot2.log" "$T/initrd2.img" "$T/listing2"

# Without systemd: plugin-runner.conf in the image tells mandos-client where the server is.
printf -- '--options-for=mandos-client:--connect=10.0.2.2:%s\n' "$port" \
	> "$T/etc-mandos/plugin-runner.conf"
NO_SYSTEMD=yes build_dracut "$T/initrd3.img"
lsinitrd "$T/initrd3.img" > "$T/listing3" 2> /dev/null
grep -q 'lib/systemd/systemd$' "$T/listing3" && fail "the image without systemd has systemd"
grep -q 'lib/mandos/mandos-crypt-lib.sh$' "$T/listing3" ||
	fail "the image without systemd lacks mandos-crypt-lib.sh"
sent_before=$(grep -c "Sending secret to guest$" "$T/server.log" || true)
boot_guest "$T/root.img" "$T/initrd3.img" "$T/boot3.log" 200 \
	"rd.luks.uuid=$uuid root=/dev/mapper/luks-$uuid rd.neednet=1 ip=dhcp rd.shell=0"
wait_boot || true
assert_contains "$T/boot3.log" "$MARKER" "guest console (dracut without systemd)"
[ "$(grep -c "Sending secret to guest$" "$T/server.log")" -gt "$sent_before" ] ||
	fail "the server did not send the secret to the guest without systemd"
echo "dracut without systemd, plugin-runner from ask_for_password: ok"
