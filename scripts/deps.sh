#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Install the Debian 12 packages needed to build and test everything (only the missing ones).
set -eu

packages="
meson ninja-build pkg-config gcc clang libclang-rt-14-dev
check valgrind scdoc
libsodium-dev libgnutls28-dev gnutls-bin libgpgme-dev gnupg gpg-agent
libavahi-core-dev libavahi-client-dev libavahi-common-dev avahi-daemon avahi-utils
libsystemd-dev libnl-route-3-dev libnl-3-dev
dbus iproute2 tmux python3 fping openssl
linux-image-amd64 qemu-system-x86 busybox-static cryptsetup-bin cryptsetup-initramfs
e2fsprogs initramfs-tools dracut-core dracut-network cpio
systemd procps
mandos mandos-client
debhelper dpkg-dev fakeroot lintian mmdebstrap
"

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "Installing:$missing" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
# Upstream's mandos package would start its server from the maintainer scripts; we only want
# the programs, so tell invoke-rc.d not to start services while installing.
policy=/usr/sbin/policy-rc.d
created_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
	$sudo chmod 755 "$policy"
	created_policy=1
fi
$sudo apt-get update -q || true
$sudo apt-get install -y -q --no-install-recommends $missing
[ -z "$created_policy" ] || $sudo rm -f "$policy"
