#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Every program says this project's name and version on --version, GNU style, and every --help
# and manual page that names a bug address names this project's, never upstream's.
. "$(dirname "$0")/lib.sh"

[ -n "$PROJECT_VERSION" ] && [ -n "$PACKAGE_BUGREPORT" ] || fail "no version in meson.build"
B=$BUILD
# name, then the command (mandos-keygen runs under sh, as the other tests run it)
while read -r name cmd; do
	vg=$VALGRIND
	[ "$name" != mandos-keygen ] || vg= # a shell script
	out=$($vg $cmd --version 2>"$T/err" </dev/null) || fail "$name --version failed"
	assert_eq "$out" "$(version_line "$name")" "$name --version"
	rc=0
	$vg $cmd --help >"$T/help" 2>&1 </dev/null || rc=$?
	assert_eq "$rc" 0 "$name --help exit status"
	assert_not_contains "$T/help" "recompile.se" "$name --help"
	if grep -qi "report bugs" "$T/help"; then
		assert_contains "$T/help" "Report bugs to <$PACKAGE_BUGREPORT>." "$name --help"
	fi
done <<EOF
mandos $B/server/mandos
mandos-ctl $B/mandos-ctl/mandos-ctl
mandos-keygen sh $B/helpers/mandos-keygen/mandos-keygen
plugin-runner $B/plugin-runner/plugin-runner
mandos-client $B/plugins.d/mandos-client/mandos-client
password-prompt $B/plugins.d/password-prompt/password-prompt
askpass-fifo $B/plugins.d/askpass-fifo/askpass-fifo
plymouth $B/plugins.d/plymouth/plymouth
mandos-client-iprouteadddel $B/helpers/mandos-client-iprouteadddel/mandos-client-iprouteadddel
password-agent $B/dracut/password-agent/password-agent
EOF
# The argp programs name the address in --help; check that they still do.
$VALGRIND "$B/plugins.d/mandos-client/mandos-client" --help >"$T/help" 2>&1
assert_contains "$T/help" "Report bugs to <$PACKAGE_BUGREPORT>." "mandos-client --help"

# Manual pages: no upstream address, and any bug address is ours.
for page in "$SRC"/man/*.scd; do
	assert_not_contains "$page" "recompile.se>" "$page"
	assert_not_contains "$page" "mandos@recompile.se" "$page"
done
echo ok
