#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Install the Debian 12 packages of one set (only the missing ones):
#   deps.sh run    what building needs and what the programs need at run time (the demo's set)
#   deps.sh test   the run set plus the test peers and tools (scripts/test.sh's set)
#   deps.sh --list run|test   print the set, one package a line, and install nothing
# tests/integration/deps-demo.sh checks the run set against the built programs and the demo.
set -eu

# Building: the compiler and tools, the libraries' -dev packages, scdoc for the man pages.
# At run time: gpg and gpg-agent (mandos-client, mandos-keygen), certtool and openssl
# (mandos-keygen), avahi-daemon and dbus (the server's Zeroconf and D-Bus), fping (the default
# checker), iproute2 (ss in the demo, ip in the network hooks), python3 (the demo's free port).
run_packages="
meson ninja-build pkg-config gcc scdoc
libsodium-dev libgnutls28-dev libgpgme-dev
libavahi-core-dev libavahi-client-dev libavahi-common-dev
libsystemd-dev libnl-route-3-dev libnl-3-dev libcurl4-gnutls-dev libjson-c-dev
gnupg gpg-agent gnutls-bin openssl
avahi-daemon dbus fping iproute2 procps python3
"

# Testing: Check for the unit tests, the sanitizer, fuzzer and valgrind builds, upstream's
# programs as peers, QEMU and what the boot tests put in their images, the tools the shell
# tests drive (tmux, avahi-utils, strace), the package build and its throwaway root, stress-ng, and the
# fleet tests' etcd cluster and Prometheus.
test_only_packages="
check valgrind clang libclang-rt-14-dev
tmux avahi-utils stress-ng systemd strace
linux-image-amd64 qemu-system-x86 busybox-static cryptsetup-bin cryptsetup-initramfs
e2fsprogs initramfs-tools dracut-core dracut-network cpio
debhelper dpkg-dev lintian fakeroot mmdebstrap
mandos mandos-client
etcd-server etcd-client curl prometheus
"

usage() {
	echo "usage: $0 [--list] run|test" >&2
	exit 64
}

list=""
if [ "${1:-}" = --list ]; then
	list=1
	shift
fi
[ $# -eq 1 ] || usage
case $1 in
run) packages=$run_packages ;;
test) packages="$run_packages $test_only_packages" ;;
*) usage ;;
esac
if [ -n "$list" ]; then
	printf '%s\n' $packages
	exit 0
fi

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
created_policy=""
if [ "$1" = test ]; then
	# Upstream's mandos package would start its server from the maintainer scripts; the tests
	# only want the programs, so tell invoke-rc.d not to start services while installing.
	policy=/usr/sbin/policy-rc.d
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
		$sudo chmod 755 "$policy"
		created_policy=1
	fi
fi
$sudo apt-get update -q || true
$sudo apt-get install -y -q --no-install-recommends $missing
[ -z "$created_policy" ] || $sudo rm -f "$policy"
