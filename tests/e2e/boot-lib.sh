# SPDX-License-Identifier: GPL-3.0-or-later
# Helpers for the QEMU boot tests: a LUKS2 root image made without device-mapper, an
# initramfs built with a chosen set of Mandos files bind-mounted over Debian's paths in a
# private mount namespace (the host is unchanged), and a TCG guest on a serial console.
# Source after tests/integration/lib.sh.

KVER=${KVER:-$(ls /boot/vmlinuz-* 2>/dev/null | sed 's|.*/vmlinuz-||' | sort -V | tail -n 1)}
MARKER=MANDOS-BOOT-TEST-REACHED-ROOT

boot_requirements() {
	require_root
	require_cmd qemu-system-x86_64 mkinitramfs cryptsetup mke2fs busybox unshare
	[ -n "$KVER" ] && [ -r "/boot/vmlinuz-$KVER" ] || skip "no kernel in /boot"
	[ -x /usr/bin/cryptroot-unlock ] || [ -e /usr/share/initramfs-tools/hooks/cryptroot ] ||
		skip "cryptsetup-initramfs is not installed"
}

# make_root_image IMG PASSFILE: a LUKS2 image whose filesystem's init prints the guest's clock
# ("guest clock: YYYY-MM-DD", UTC) and $MARKER, and powers off.
make_root_image() {
	img=$1 pw=$2
	rootdir=$T/rootfs
	mkdir -p "$rootdir/bin" "$rootdir/sbin" "$rootdir/dev" "$rootdir/proc" "$rootdir/sys" \
		"$rootdir/run" "$rootdir/etc" "$rootdir/tmp"
	cp "$(command -v busybox)" "$rootdir/bin/busybox"
	cat > "$rootdir/sbin/init" <<-INIT
	#!/bin/busybox sh
	/bin/busybox date -u +"guest clock: %Y-%m-%d"
	/bin/busybox echo "$MARKER"
	/bin/busybox sync
	/bin/busybox poweroff -f
	INIT
	chmod 755 "$rootdir/sbin/init"
	printf 'ID=mandos-test\nNAME="Mandos test root"\n' > "$rootdir/etc/os-release"
	truncate -s 48M "$img"
	mke2fs -q -t ext4 -d "$rootdir" "$img" 32M
	cryptsetup reencrypt --encrypt --type luks2 --reduce-device-size 16M --pbkdf pbkdf2 \
		--pbkdf-force-iterations 1000 --batch-mode "$img" --key-file "$pw" >/dev/null
}

# make_p2_client: the protocol 2 client "guest2" of the boot tests, made with $KEYGEN: keys
# without OpenPGP in $T/keys2, its section (a sealed secret, protocols = 2) in $T/section2, the
# server key in $T/conf (its key ID in $server_id) pinned in $T/keys2/server-pins.  The
# password is $T/pw.
make_p2_client() {
	mkdir -m 700 "$T/keys2"
	sh "$KEYGEN" --dir "$T/keys2" --no-pgp > /dev/null 2>&1 || fail "mandos-keygen --no-pgp"
	sh "$KEYGEN" --dir "$T/keys2" --passfile "$T/pw" --no-ssh --no-pgp --name guest2 \
		> "$T/section2" || fail "mandos-keygen --passfile --no-pgp"
	grep -qx 'protocols = 2' "$T/section2" || fail "the protocol 2 section lacks protocols = 2"
	server_id=$(sh "$KEYGEN" --server-key --dir "$T/conf" 2> /dev/null) || fail "--server-key"
	sh "$KEYGEN" --dir "$T/keys2" --pin-server="$server_id:host" > /dev/null ||
		fail "--pin-server"
}

# build_initramfs OUT BINDS...: run mkinitramfs in a private mount namespace where each
# "SRC:DEST" in BINDS is bind-mounted over DEST first.  DEST must exist (a file or a dir).
build_initramfs() {
	out=$1
	shift
	script=$T/mkinitramfs-in-ns.sh
	{
		echo 'set -e'
		for b in "$@"; do
			src=${b%%:*} dest=${b#*:}
			printf 'mount --bind %s %s\n' "'$src'" "'$dest'"
		done
		# Include cryptsetup without a crypttab entry, as RECIPES.md says.
		printf 'mkdir -p %s; printf "CRYPTSETUP=y\\n" > %s\n' "$T/cryptsetup-conf" \
			"$T/cryptsetup-conf/conf-hook"
		printf 'mount --bind %s /etc/cryptsetup-initramfs\n' "'$T/cryptsetup-conf'"
		printf 'mkinitramfs -o %s %s\n' "'$out'" "'$KVER'"
	} > "$script"
	unshare -m --propagation private sh "$script" > "$T/mkinitramfs.log" 2>&1 || {
		tail -n 30 "$T/mkinitramfs.log" >&2
		fail "mkinitramfs failed"
	}
}

# The console lines whose first appearance boot_guest times (console_interval reads them):
# cryptsetup's prompt and success under initramfs-tools, the start and end of systemd's
# systemd-cryptsetup@ unit under dracut (status lines, cut to the console's width), and the
# marker.
CONSOLE_EVENTS="Please unlock disk|set up successfully|Starting systemd-cryptsetu|"
CONSOLE_EVENTS="${CONSOLE_EVENTS}Finished systemd-cryptsetu|$MARKER"

# boot_guest IMG INITRD LOG TIMEOUT APPEND...: boot to completion or TIMEOUT seconds (times
# $SLOW); the serial console goes to LOG, and the times of $CONSOLE_EVENTS to LOG.times.  Input
# for the console is read from $T/console.in (a FIFO kept open) so tests can type on it with
# console_type.  $BOOT_QEMU_ARGS (optional) are more options for QEMU.
boot_guest() {
	img=$1 initrd=$2 log=$3 timeout=$4
	shift 4
	# A deadline for the guest's end, not a check: scaled by the measured $SLOW, and within the
	# boot suite's own timeout (900 s).
	timeout=$((timeout * SLOW))
	[ "$timeout" -le 800 ] || timeout=800
	rm -f "$T/console.in"
	mkfifo "$T/console.in"
	# Keep a writer open so QEMU never sees end of file on its console.
	sleep "$((timeout + 30))" > "$T/console.in" &
	_keeper=$!
	on_exit "kill $_keeper"
	rm -f "$T/console.out" "$log.times"
	mkfifo "$T/console.out"
	_ifs=$IFS
	IFS='|'
	# shellcheck disable=SC2086
	python3 "$SRC/tests/e2e/console-recorder.py" "$log" $CONSOLE_EVENTS < "$T/console.out" &
	IFS=$_ifs
	_recorder=$!
	on_exit "kill $_recorder"
	timeout "$timeout" qemu-system-x86_64 -m 1024 -smp 2 -nographic -no-reboot \
		-kernel "/boot/vmlinuz-$KVER" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 $*" \
		-drive "file=$img,format=raw,if=virtio,snapshot=on" \
		-netdev user,id=n0 -device virtio-net-pci,netdev=n0 ${BOOT_QEMU_ARGS:-} \
		< "$T/console.in" > "$T/console.out" 2>&1 &
	_qemu=$!
	_boot_start=$(date +%s)
	on_exit "kill $_qemu"
}

# wait_boot: wait for the guest started by boot_guest to end; returns its status.
wait_boot() {
	_rc=0
	wait "$_qemu" || _rc=$?
	kill "$_keeper" 2>/dev/null || true
	wait "$_recorder" 2>/dev/null || true
	echo "guest ran for $(($(date +%s) - _boot_start)) s"
	return "$_rc"
}

# console_interval LOG FROM TO: print the seconds from the first console line with FROM to the
# first with TO in the boot that wrote LOG (two decimals), or "?" if either is missing.
console_interval() {
	awk -v from="$2" -v to="$3" '
		{ t = $1; sub(/^[^ ]* /, "") }
		$0 == from { a = t }
		$0 == to { b = t }
		END { if (a != "" && b != "") printf "%.2f\n", b - a; else print "?" }' "$1.times"
	# Which lines there were instead, to fix the strings when a boot prints others.
	if ! grep -q " $2\$" "$1.times" || ! grep -q " $3\$" "$1.times"; then
		grep -ai "crypt" "$1" | head -n 20 >&2
	fi
}

# unpacked_size LISTING: the bytes of the regular files in an image, from its "lsinitramfs -l"
# or lsinitrd listing (the image file itself is compressed).
unpacked_size() {
	awk '$1 ~ /^-/ { s += $5 } END { printf "%d\n", s }' "$1"
}

# boot_figures PROTOCOL WHAT FROM TO LOG IMAGE LISTING: print one line with the guest's time
# from the console line FROM to TO in the boot that wrote LOG, and IMAGE's size, packed and
# unpacked (from its LISTING).
boot_figures() {
	printf 'protocol %s: cryptsetup %s %s s (guest), image %s bytes (%s unpacked)\n' "$1" "$2" \
		"$(console_interval "$5" "$3" "$4")" "$(stat -c %s "$6")" "$(unpacked_size "$7")"
}

# check_p2_image LISTING1 LISTING2 KEYDIR: the protocol 1 image listed in LISTING1 has gpg and
# gpg-agent; the protocol 2 one in LISTING2 (lsinitramfs or lsinitrd output) has neither, nor
# OpenPGP keys, but has the seal key and server-pins in KEYDIR (its path inside the image).
check_p2_image() {
	for prog in gpg gpg-agent; do
		grep -Eq "(^| )(usr/)?bin/$prog\$" "$1" || fail "the protocol 1 image lacks $prog"
		! grep -Eq "(^| )(usr/)?bin/$prog\$" "$2" || fail "the protocol 2 image has $prog"
	done
	for f in seal-privkey.pem server-pins; do
		grep -Eq "(^| )$3/$f\$" "$2" || fail "the protocol 2 image lacks $3/$f"
	done
	! grep -Eq "(^| )$3/seckey.txt\$" "$2" || fail "the protocol 2 image has OpenPGP keys"
}

# console_type TEXT: type TEXT and Enter on the guest's serial console.
console_type() {
	printf '%s\r' "$1" > "$T/console.in"
}

# wait_for_log FILE STRING TIMEOUT
wait_for_log() {
	wait_for "$3" grep -qF -- "$2" "$1"
}

# stage_install: "meson install" the build into $T/inst and set $PREFIX, $INST_LIBDIR (our
# mandos lib dir inside $T/inst) and $ITOOLS, a copy of /usr/share/initramfs-tools with
# Debian's Mandos files replaced by ours.
stage_install() {
	DESTDIR=$T/inst meson install -C "$BUILD" --no-rebuild --quiet > "$T/install.log" 2>&1 ||
		{ tail -n 20 "$T/install.log" >&2; fail "meson install failed"; }
	PREFIX=$(meson introspect "$BUILD" --buildoptions |
		python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
	LIBDIR=$(meson introspect "$BUILD" --buildoptions |
		python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"][0])')
	case "$LIBDIR" in /*) ;; *) LIBDIR=$PREFIX/$LIBDIR ;; esac
	INST_LIBDIR=$T/inst$LIBDIR/mandos
	[ -x "$INST_LIBDIR/plugin-runner" ] || fail "plugin-runner is not installed in $INST_LIBDIR"
	ITOOLS=$T/initramfs-tools
	cp -a /usr/share/initramfs-tools "$ITOOLS"
	rm -f "$ITOOLS/hooks/mandos" "$ITOOLS/scripts/init-premount/mandos" \
		"$ITOOLS/scripts/local-premount/mandos" "$ITOOLS/conf.d/mandos-conf" \
		"$ITOOLS/conf-hooks.d/zz-mandos"
	cp -a "$T/inst$PREFIX/share/initramfs-tools/." "$ITOOLS/"
}

# our_initramfs_binds: the bind mounts that make mkinitramfs use our installed files, our
# /etc/mandos ($T/etc-mandos) and keys ($KEYS, default $T/keys).
our_initramfs_binds() {
	echo "$ITOOLS:/usr/share/initramfs-tools"
	if [ "$PREFIX" = /usr/local ]; then
		echo "$T/inst$PREFIX:$PREFIX"
	else
		# Only our lib dir: binding the whole prefix would hide the system.
		echo "$INST_LIBDIR:$LIBDIR/mandos"
	fi
	echo "$T/etc-mandos:/etc/mandos"
	echo "${KEYS:-$T/keys}:/etc/keys/mandos"
}
