#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The run set of scripts/deps.sh against reality: every shared library of every program we
# install, and every command scripts/demo.sh runs (itself, through mandos-keygen and gpgme),
# comes from a run-set package, one of their dependencies, or the base of every Debian system;
# the run set holds no test-only package; the build configures with the run set's pkg-config
# files alone and -Dtests=false.  A run set without gnutls-bin must fail the check.
. "$(dirname "$0")/lib.sh"
require_cmd apt-cache dpkg dpkg-query meson

DEPS=$SRC/scripts/deps.sh
DEMO=$SRC/scripts/demo.sh
KEYGEN=$SRC/helpers/mandos-keygen/mandos-keygen.in

# What the demo runs from $PATH: demo.sh itself, mandos-keygen (with --no-ssh), and the programs
# gpgme starts for mandos-client.  Below, every word of the two scripts that names a program on
# $PATH must be here or in not_run, so that a new command cannot slip by.
demo_commands="sh python3 ss cat chmod cp mkdir mktemp rm sed grep tail dirname sleep id
	meson ninja gcc pkg-config scdoc
	gpg gpg-agent gpgconf certtool openssl base64 awk tr wc head basename date shred stty tty
	hostname"
# Words of the scripts that are not programs the demo runs from $PATH: English words (of
# mandos-keygen's --help too), shell variables' names (f), our own programs (run from the build
# tree), ssh-keyscan (only without --no-ssh), what only mandos-keygen's --scan (avahi-browse, cut, sort) and --test against a
# server (timeout) run, and the initramfs tools its messages name.
not_run="as dir expiry f file find look make more which mandos mandos-keygen opt split top w wish
	write yes ssh-keyscan avahi-browse cut sort timeout dracut update-initramfs"

# script_words FILE...: the words outside comments that name a program on $PATH.
script_words() {
	for _w in $(sed -e 's/^[[:space:]]*#.*//' "$@" | grep -oE '[A-Za-z_][A-Za-z0-9_.+-]*' |
		sort -u); do
		case $(command -v "$_w" 2>/dev/null) in /*) echo "$_w" ;; esac
	done
}

# owner PATH: the package that owns PATH (dpkg knows merged-/usr files by either name).
owner() {
	for _p in "$1" "$(realpath "$1")"; do
		for _q in "$_p" "${_p#/usr}" "/usr$_p"; do
			_o=$(dpkg-query -S "$_q" 2>/dev/null | grep -v '^diversion by' |
				sed -n '1s/[:,].*//p')
			[ -z "$_o" ] || { echo "$_o"; return 0; }
		done
	done
	return 1
}

# closure PACKAGE...: the packages and everything they need (Depends, Pre-Depends), plus the
# base every Debian 12 system has (Essential: yes and Priority: required, with their needs).
closure() {
	_base=$(dpkg-query -W -f='${Package} ${Essential} ${Priority}\n' |
		awk '$2 == "yes" || $3 == "required" { print $1 }')
	# shellcheck disable=SC2086
	apt-cache depends --recurse --important --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances "$@" $_base 2>/dev/null |
		sed -n 's/^\([a-z0-9][^ ]*\)$/\1/p' | sed 's/:.*//' | sort -u
}

# check_set FILE_WITH_PACKAGES: every library and command in $T/needs ("WHAT PACKAGE" lines)
# comes from the closure of those packages; reasons on stderr.
check_set() {
	closure $(cat "$1") > "$T/closure"
	_bad=0
	while read -r _what _o; do
		grep -qx "$_o" "$T/closure" || { echo "$_what ($_o) is not in the run set" >&2; _bad=1; }
	done < "$T/needs"
	return "$_bad"
}

# need WHAT PATH: record that the demo needs PATH's package (as WHAT, for the messages).
need() {
	_o=$(owner "$2") || fail "no package owns $2 ($1)"
	echo "$1 $_o" >> "$T/needs"
}

# Programs are looked up where a fresh Debian system has them, not in this user's $PATH.
PATH=/usr/sbin:/usr/bin:/sbin:/bin

"$DEPS" --list run > "$T/run"
[ -s "$T/run" ] || fail "deps.sh --list run printed nothing"
"$DEPS" --list test > "$T/test"
for p in $(cat "$T/run"); do
	grep -qx "$p" "$T/test" || fail "the test set lacks the run set's $p"
done

echo "# no test-only package in the run set"
for p in $(cat "$T/run"); do
	case $p in
	mandos | mandos-client | qemu-* | linux-image-* | clang* | libclang* | valgrind | dracut* | \
		check | mmdebstrap | lintian | stress-ng)
		fail "the run set holds the test-only package $p" ;;
	esac
done

echo "# the demo installs the run set, test.sh the test set"
grep -q '^"$top/scripts/deps.sh" run$' "$DEMO" || fail "demo.sh does not install the run set"
grep -q 'deps.sh" test$' "$SRC/scripts/test.sh" || fail "test.sh does not install the test set"
grep -q 'build.sh" -Dtests=false' "$DEMO" || fail "demo.sh builds the tests (they need Check)"

echo "# every program on \$PATH the demo's scripts name is in the list"
for w in $(script_words "$DEMO" "$KEYGEN"); do
	case " $(echo $demo_commands $not_run) " in
	*" $w "*) ;;
	*) fail "scripts/demo.sh or mandos-keygen runs '$w': add it to demo_commands (and its" \
		"package to the run set) or to not_run" ;;
	esac
done

echo "# the shared libraries of the installed programs"
meson introspect --targets "$BUILD" | python3 -c 'import json, sys
for t in json.load(sys.stdin):
    if t["type"] == "executable" and t["installed"]:
        print(t["filename"][0])' > "$T/programs"
[ "$(wc -l < "$T/programs")" -ge 5 ] || fail "too few installed programs: $(cat "$T/programs")"
for prog in $(cat "$T/programs"); do
	[ -x "$prog" ] || fail "$prog is not built"
	ldd "$prog" | awk '/=>/ { print $3 } !/=>/ && $1 ~ /^\// { print $1 }'
done | sort -u > "$T/libs"
grep -q libgnutls "$T/libs" || fail "no libgnutls among the libraries: $(cat "$T/libs")"

for f in $(cat "$T/libs"); do
	need "$f" "$f"
done
for c in $demo_commands; do
	p=$(command -v "$c") || fail "the demo runs $c, which is not installed"
	need "$c" "$p"
done

echo "# libraries and commands come from the run set"
check_set "$T/run" || fail "the run set of scripts/deps.sh misses packages"
grep -qx avahi-daemon "$T/closure" || fail "the run set lacks avahi-daemon (the server's Zeroconf)"
grep -qx fping "$T/closure" || fail "the run set lacks fping (the default checker)"
grep -qx mandos "$T/closure" && fail "the run set pulls in upstream's mandos"
grep -qx mandos-client "$T/closure" && fail "the run set pulls in upstream's mandos-client"

echo "# the check notices a missing package (gnutls-bin, for certtool)"
grep -vx gnutls-bin "$T/run" > "$T/run-without"
check_set "$T/run-without" 2> "$T/without.err" && fail "a run set without gnutls-bin passed"
assert_contains "$T/without.err" "certtool (gnutls-bin) is not in the run set"

echo "# the build configures with only the run set's pkg-config files and -Dtests=false"
mkdir "$T/pc"
# One dpkg-query for all of them: "PACKAGE[, PACKAGE...]: PATH" lines.
dpkg-query -S /usr/lib/x86_64-linux-gnu/pkgconfig/*.pc /usr/lib/pkgconfig/*.pc \
	/usr/share/pkgconfig/*.pc 2>/dev/null | grep -v '^diversion by' |
	sed 's/[:,].* \(\/[^ ]*\)$/ \1/' | while read -r o pc; do
	! grep -qx "$o" "$T/closure" || ln -sf "$pc" "$T/pc/"
done
[ ! -e "$T/pc/check.pc" ] || fail "check.pc is in the run set's pkg-config files"
PKG_CONFIG_LIBDIR=$T/pc CMAKE_PREFIX_PATH=/nonexistent meson setup "$T/build" "$SRC" \
	-Dtests=false > "$T/setup.log" 2>&1 || {
	tail -n 20 "$T/setup.log" >&2
	fail "meson setup -Dtests=false fails with the run set's pkg-config files alone"
}
echo "deps-demo: ok"
