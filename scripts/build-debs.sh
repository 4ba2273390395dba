#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Build the mandos and mandos-client packages from this checkout (its committed and
# uncommitted files, in a copy under a temporary directory, since dpkg-buildpackage writes to
# the parent directory), check them with lintian (any error fails), and put the .deb files in
# OUTDIR.  Usage: scripts/build-debs.sh OUTDIR
set -eu
if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 64
fi
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/mandos-debs.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/src"
(cd "$top" && git ls-files --cached --others --exclude-standard -z |
	xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\n" "$f"; done' sh |
	tar -cf - --no-recursion -T -) | tar -C "$work/src" -xf -
(cd "$work/src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || {
	tail -n 60 "$work/build.log" >&2
	echo "$0: dpkg-buildpackage failed" >&2
	exit 1
}
debs="$work/mandos_*.deb $work/mandos-client_*.deb"
# Errors fail the build; warnings are shown (the overrides in debian/ say why each is fine).
# shellcheck disable=SC2086
lintian --fail-on error $debs >"$work/lintian.log" 2>&1 || {
	cat "$work/lintian.log" >&2
	echo "$0: lintian found errors" >&2
	exit 1
}
grep -v '^N:' "$work/lintian.log" >&2 || true
# shellcheck disable=SC2086
cp $debs "$out/"
ls "$out"/mandos*.deb
