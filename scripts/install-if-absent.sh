#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Meson install script: copies a configuration file to its place under DESTDIR only where no
# file exists, so that "meson install" never replaces what an administrator edited.
# Usage: install-if-absent.sh SOURCE DESTINATION MODE
set -eu
if [ $# -ne 3 ]; then
	echo "usage: $0 SOURCE DESTINATION MODE" >&2
	exit 64
fi
src=$1
dest=${DESTDIR:-}$2
mode=$3
say() {
	[ -n "${MESON_INSTALL_QUIET:-}" ] || printf '%s\n' "$*"
}
if [ -e "$dest" ] || [ -L "$dest" ]; then
	say "Keeping existing $dest"
	exit 0
fi
dir=$(dirname "$dest")
mkdir -p "$dir"
# Write a private temporary file, give it its mode, then link it into place: link(2) fails if
# a file appeared meanwhile, so an existing file is never replaced even then.
tmp=$(mktemp "$dir/.install.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat "$src" >"$tmp"
chmod "$mode" "$tmp"
if ln "$tmp" "$dest" 2>/dev/null; then
	say "Installing $src to $dest (mode $mode, new file)"
elif [ -e "$dest" ]; then
	say "Keeping existing $dest"
else
	echo "$0: cannot create $dest" >&2
	exit 73
fi
