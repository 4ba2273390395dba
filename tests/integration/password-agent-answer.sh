#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# password-agent answers questions with "+PASSWORD\0" only after the client exited 0 at EOF.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/password-agent-lib.sh"

echo "# one question, the exact datagram"
fake_client client 'printf s3cret'
listen one
ask one
run_agent "$PA" --agent-directory="$ASKDIR" -- "$T/client"
assert_eq "$rc" 0 "exit status"
assert_eq "$(received one)" "b'+s3cret\\x00'" "datagram"

echo "# the output is sent verbatim (newline and all) and the client's arguments are passed"
fake_client client 'printf "%s|" "$@"; echo'
listen args
ask args
rm -f "$ASKDIR/ask.one"
run_agent "$PA" -d "$ASKDIR" "$T/client" --foo -x bar --user=3
assert_eq "$rc" 0 "exit status"
assert_eq "$(received args)" "b'+--foo|-x|bar|--user=3|\\n\\x00'" "datagram"
rm -f "$ASKDIR"/ask.*

echo "# EOF is not enough: a client that closes stdout and then fails gives no answer"
fake_client client 'printf s3cret; exec >&-; sleep 1; exit 1'
listen eof
ask eof
run_agent "$PA" -d "$ASKDIR" "$T/client"
assert_eq "$rc" 1 "exit status"
assert_contains "$T/agent.err" "Mandos client failed or was killed"
no_answer eof
rm -f "$ASKDIR"/ask.*

echo "# exit 0 is not enough: the agent waits for EOF (a child still writing)"
fake_client client '(sleep 1; printf more) & printf s3cret; exit 0'
listen wait
ask wait
run_agent "$PA" -d "$ASKDIR" "$T/client"
assert_eq "$rc" 0 "exit status"
assert_eq "$(received wait)" "b'+s3cretmore\\x00'" "datagram"
rm -f "$ASKDIR"/ask.*

echo "# questions arriving later are answered; a socket bound late is retried"
# The client answers only once the late question is there, so it comes while the agent works.
fake_client client "i=0; while [ ! -e '$ASKDIR/ask.late' ] && [ \$i -lt 600 ]; do
	sleep 0.1; i=\$((i + 1)); done; printf pw"
listen first
ask first
listen late 20 2.5
(sleep 0.5 && ask late) &
run_agent "$PA" -d "$ASKDIR" "$T/client"
assert_eq "$rc" 0 "exit status"
assert_eq "$(received first)" "b'+pw\\x00'" "first answer"
assert_eq "$(received late)" "b'+pw\\x00'" "late answer"
rm -f "$ASKDIR"/ask.*

echo "# MANDOSPLUGINHELPERDIR: default, --helper-directory, --plugin-helper-dir"
fake_client client 'printf "%s" "$MANDOSPLUGINHELPERDIR"'
for opt in "" --helper-directory=/x/helpers --plugin-helper-dir=/y/helpers; do
	rm -f "$T/h.out" "$T/h.sock"
	listen h
	ask h
	# shellcheck disable=SC2086 # $opt is empty or one word
	run_agent "$PA" -d "$ASKDIR" $opt "$T/client"
	assert_eq "$rc" 0 "exit status"
	want=${opt#*=}
	[ -n "$opt" ] || want=/lib/mandos/plugin-helpers
	assert_eq "$(received h)" "b'+$want\\x00'" "helper dir for '$opt'"
	rm -f "$ASKDIR"/ask.*
done

echo "# several questions get the same password"
fake_client client 'printf pw2'
listen a
listen b
ask a
ask b
run_agent "$PA" -d "$ASKDIR" "$T/client"
assert_eq "$rc" 0 "exit status"
assert_eq "$(received a)" "b'+pw2\\x00'" "answer a"
assert_eq "$(received b)" "b'+pw2\\x00'" "answer b"
