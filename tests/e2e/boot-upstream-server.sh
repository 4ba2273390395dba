#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# An initramfs built with our hook and programs, on a host whose /etc/keys/mandos holds keys
# made by upstream's mandos-keygen, unlocks against upstream's server (Debian's mandos).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/boot-lib.sh"
boot_requirements
require_cmd mandos mandos-keygen dbus-daemon

stage_install
printf 'upstream keys, our initramfs' > "$T/pw"
make_root_image "$T/root.img" "$T/pw"
mkdir -p "$T/keys" "$T/etc-mandos/plugins.d" "$T/etc-mandos/plugin-helpers" \
	"$T/etc-mandos/network-hooks.d" "$T/conf" "$T/state" "$T/bus"
: > "$T/etc-mandos/plugin-runner.conf"
mandos-keygen --dir "$T/keys" --force > /dev/null 2>&1
mandos-keygen --dir "$T/keys" --passfile "$T/pw" --no-ssh --name guest > "$T/section"
build_initramfs "$T/initrd.img" $(our_initramfs_binds)

# Upstream's server wants a system bus even with --no-dbus: a private one.
private_bus "$T/bus"
export DBUS_SYSTEM_BUS_ADDRESS="$BUS"

printf '[DEFAULT]\n' > "$T/conf/mandos.conf"
{
	cat "$T/section"
	echo "checker = true"
} > "$T/conf/clients.conf"
port=$(random_port)
# In a process group of its own: its per-connection children outlive a killed parent.
setsid mandos --configdir "$T/conf" --statedir "$T/state" --no-dbus --no-zeroconf --no-ipv6 \
	--address 127.0.0.1 --port "$port" --foreground --debug > "$T/server.log" 2>&1 &
on_exit "kill -9 -$!"
wait_for_port "$port"

boot_guest "$T/root.img" "$T/initrd.img" "$T/boot.log" 150 \
	"root=/dev/mapper/cryptroot cryptopts=target=cryptroot,source=/dev/vda,luks ip=dhcp" \
	"mandos=connect:10.0.2.2:$port"
wait_boot || true
assert_contains "$T/boot.log" "$MARKER" "guest console"
assert_contains "$T/server.log" "Sending secret to guest" "upstream server log"
echo "our initramfs with upstream keys against upstream's server: ok"
