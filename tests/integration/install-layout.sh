#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# "meson install" puts every file where Debian's mandos and mandos-client packages put theirs,
# with the same modes (setuid-root plugins included), relative to the configured prefix.
. "$(dirname "$0")/lib.sh"

DESTDIR=$T/inst meson install -C "$BUILD" --no-rebuild --quiet > "$T/install.log" 2>&1 ||
	{ cat "$T/install.log" >&2; fail "meson install failed"; }
P=$(build_option prefix)
L=$(install_dir libdir)/mandos
E=$(install_dir sysconfdir)
S=$(install_dir sbindir)
M=$(install_dir mandir)
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo "$P/lib/systemd/system")
sysusersdir=$(pkg-config --variable=sysusersdir systemd 2>/dev/null || echo "$P/lib/sysusers.d")
tmpfilesdir=$(pkg-config --variable=tmpfilesdir systemd 2>/dev/null || echo "$P/lib/tmpfiles.d")
dracutdir=$(pkg-config --variable=dracutmodulesdir dracut 2>/dev/null || echo "$P/lib/dracut/modules.d")

setuid=4755
[ "$(id -u)" -eq 0 ] || setuid=755 # meson cannot make root-owned setuid files otherwise

missing=0
expect() { # MODE PATH
	f=$T/inst$2
	if [ ! -e "$f" ]; then
		echo "missing: $2" >&2
		missing=$((missing + 1))
		return
	fi
	mode=$(stat -c %a "$f")
	if [ "$mode" != "$1" ]; then
		echo "mode of $2 is $mode, expected $1" >&2
		missing=$((missing + 1))
	fi
}

# The server (Debian package "mandos").
expect 755 "$S/mandos"
expect 755 "$S/mandos-ctl"
expect 644 "$E/mandos/mandos.conf"
expect 600 "$E/mandos/clients.conf"
expect 644 "$E/default/mandos"
expect 644 "$unitdir/mandos.service"
expect 644 "$sysusersdir/mandos.conf"
expect 644 "$tmpfilesdir/mandos.conf"
expect 644 "$P/share/dbus-1/system.d/mandos.conf"
expect 644 "$P/share/doc/mandos/examples/mandos.conf"
expect 644 "$P/share/doc/mandos/examples/clients.conf"
expect 644 "$P/share/doc/mandos/examples/default-mandos"
# The client side (Debian package "mandos-client").
expect 755 "$S/mandos-keygen"
expect 644 "$E/mandos/plugin-runner.conf"
expect 644 "$P/share/doc/mandos-client/examples/plugin-runner.conf"
for hook in bridge openvpn wireless; do
	expect 755 "$P/share/doc/mandos-client/examples/network-hooks.d/$hook"
	expect 644 "$P/share/doc/mandos-client/examples/network-hooks.d/$hook.conf"
done
expect 755 "$L/plugin-runner"
expect 755 "$L/mandos-to-cryptroot-unlock"
expect "$setuid" "$L/plugins.d/mandos-client"
expect 755 "$L/mandos-client-p2only"
expect "$setuid" "$L/plugins.d/askpass-fifo"
expect "$setuid" "$L/plugins.d/plymouth"
expect 755 "$L/plugins.d/password-prompt"
expect 700 "$L/plugin-helpers"
expect 755 "$L/plugin-helpers/mandos-client-iprouteadddel"
expect 755 "$P/share/initramfs-tools/hooks/mandos"
expect 755 "$P/share/initramfs-tools/scripts/init-premount/mandos"
expect 755 "$P/share/initramfs-tools/scripts/local-premount/mandos"
expect 644 "$P/share/initramfs-tools/conf.d/mandos-conf"
expect 644 "$P/share/initramfs-tools/conf-hooks.d/zz-mandos"
expect 755 "$dracutdir/90mandos/module-setup.sh"
expect 755 "$dracutdir/90mandos/cmdline-mandos.sh"
expect 644 "$dracutdir/90mandos/ask-password-mandos.path"
expect 644 "$dracutdir/90mandos/ask-password-mandos.service"
expect 755 "$dracutdir/90mandos/password-agent"
# Manual pages.
for page in man8/mandos.8 man8/mandos-ctl.8 man8/mandos-keygen.8 man5/mandos.conf.5 \
	man5/mandos-clients.conf.5 man8/intro.8mandos man8/plugin-runner.8mandos \
	man8/mandos-client.8mandos man8/password-prompt.8mandos man8/askpass-fifo.8mandos \
	man8/plymouth.8mandos man8/password-agent.8mandos \
	man8/mandos-client-iprouteadddel.8mandos man8/mandos-dbus.8mandos man7/mandos-protocol.7; do
	expect 644 "$M/$page"
done
[ "$missing" -eq 0 ] || fail "$missing installed files missing or with the wrong mode"
# No obsolete plugins.
[ ! -e "$T/inst$L/plugins.d/splashy" ] && [ ! -e "$T/inst$L/plugins.d/usplash" ] ||
	fail "splashy or usplash installed"
echo "install layout matches Debian's packages"
