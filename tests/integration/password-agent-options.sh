#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# password-agent's command line: help, usage, version, rejected IDs, bad directory, --test.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/password-agent-lib.sh"

run_agent "$PA" --version
assert_eq "$rc" 0 "--version status"
[ "$($PA --version)" = "$(version_line password-agent)" ] || fail "--version output: $($PA --version)"

$PA --help >"$T/help"
for opt in --agent-directory= --helper-directory= --user= --group= --test --usage --version; do
	assert_contains "$T/help" "$opt"
done
assert_not_contains "$T/help" "--userid"
assert_not_contains "$T/help" "--plugin-helper-dir"
$PA --usage >"$T/usage"
assert_contains "$T/usage" "MANDOS_CLIENT"

for bad in --user=0 --group=0 -u0 --userid=0 --groupid=0 --user=abc --group=-5 --bogus \
	--user=4294967295; do
	run_agent "$PA" "$bad" -- /bin/true
	assert_eq "$rc" 64 "status for $bad"
done
assert_contains "$T/agent.err" "Try \`password-agent --help'"

run_agent "$PA" --agent-directory="$T/nonexistent" -- /bin/true
assert_eq "$rc" 72 "status for a missing directory"
assert_contains "$T/agent.err" "$T/nonexistent"

set +e
$VALGRIND "$PA" --test >"$T/test.out" 2>&1
rc=$?
set -e
cat "$T/test.out"
assert_eq "$rc" 0 "--test status"
assert_contains "$T/test.out" "ok 1 -"
assert_not_contains "$T/test.out" "not ok"
