#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# "meson install" creates the configuration files under sysconfdir only where none exists: a
# second install into the same DESTDIR leaves edited files byte for byte (and mode) as they
# were, while a fresh DESTDIR gets every file, equal to its example in the documentation.
. "$(dirname "$0")/lib.sh"

E=$(install_dir sysconfdir)
D=$(install_dir datadir)/doc

install_into() { # DESTDIR
	DESTDIR=$1 meson install -C "$BUILD" --no-rebuild --quiet >"$T/install.log" 2>&1 ||
		{ cat "$T/install.log" >&2; fail "meson install into $1 failed"; }
}
# snapshot DESTDIR: mode and checksum of every file under sysconfdir, one line each.
snapshot() {
	(cd "$1$E" && find . -type f -exec stat -c '%a %n' {} + | sort &&
		find . -type f -exec sha256sum {} + | sort -k 2)
}

# A fresh DESTDIR gets every configuration file, with Debian's modes, equal to its example.
install_into "$T/fresh"
check() { # MODE FILE EXAMPLE
	f=$T/fresh$E/$2
	[ -f "$f" ] || fail "fresh install lacks $E/$2"
	assert_eq "$(stat -c %a "$f")" "$1" "mode of $E/$2"
	[ -f "$T/fresh$D/$3" ] || fail "example $D/$3 not installed"
	cmp -s "$f" "$T/fresh$D/$3" || fail "$E/$2 differs from its example $D/$3"
}
check 644 mandos/mandos.conf mandos/examples/mandos.conf
check 600 mandos/clients.conf mandos/examples/clients.conf
check 644 default/mandos mandos/examples/default-mandos
check 644 mandos/plugin-runner.conf mandos-client/examples/plugin-runner.conf
n=$(find "$T/fresh$E" -type f | wc -l)
assert_eq "$n" 4 "number of files under $E"

# Install, edit every file (and a mode), install again: nothing under sysconfdir changes.
install_into "$T/inst"
for f in mandos/mandos.conf mandos/clients.conf default/mandos mandos/plugin-runner.conf; do
	printf '# edited by the administrator\n[site]\nsecret = not-an-example\n' >>"$T/inst$E/$f"
done
chmod 640 "$T/inst$E/mandos/mandos.conf"
snapshot "$T/inst" >"$T/before"
install_into "$T/inst"
snapshot "$T/inst" >"$T/after"
if ! cmp -s "$T/before" "$T/after"; then
	diff "$T/before" "$T/after" >&2 || true
	fail "a second meson install changed files under $E"
fi
# A file an administrator deleted comes back on the next install; the others stay.
rm "$T/inst$E/default/mandos"
install_into "$T/inst"
[ -f "$T/inst$E/default/mandos" ] || fail "a deleted $E/default/mandos was not recreated"
cmp -s "$T/inst$E/default/mandos" "$T/inst$D/mandos/examples/default-mandos" ||
	fail "recreated $E/default/mandos differs from its example"
assert_contains "$T/inst$E/mandos/clients.conf" "not-an-example"
echo "meson install keeps existing configuration files"
