#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Parity: upstream's password-agent and ours, run over the same questions and clients.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/password-agent-lib.sh"
require_root
[ -x "$UPSTREAM_PA" ] || skip "upstream password-agent not installed ($UPSTREAM_PA)"

fake_client pw 'printf "s3cret\n"'
fake_client ids 'printf "%s %s %s %s" "$(id -ru)" "$(id -u)" "$(id -rg)" "$(id -g)"'
fake_client env 'printf "%s" "$MANDOSPLUGINHELPERDIR"'
fake_client fail 'printf s3cret; exit 1'
# The question is withdrawn while the client still runs: once the client has started (so the
# agent has read the question, however slowly it started), long before the client ends.
sleepy_for=$((10 * SLOW))
fake_client sleepy "touch '$T/sleepy.started'; sleep $sleepy_for; printf late"

# scenario NAME ASK_PID NOTAFTER CLIENT [OPTIONS...]: one question, one run; prints
# "NAME rc=RC answer=DATAGRAM".
scenario() {
	name=$1 pid=$2 notafter=$3 client=$4
	shift 4
	rm -f "$ASKDIR"/ask.* "$T/$name.out" "$T/$name.sock" "$T/sleepy.started"
	listen "$name"
	ask "$name" "$notafter" "$pid"
	if [ "$name" = withdrawn ]; then
		(wait_for 30 test -e "$T/sleepy.started" && rm -f "$ASKDIR/ask.$name") &
	fi
	run_agent "$impl" -d "$ASKDIR" "$@" -- "$T/$client"
	if ! [ -e "$T/$name.out" ]; then
		python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    s.sendto(b"NONE", sys.argv[1])
except (ConnectionRefusedError, FileNotFoundError):
    pass  # the listener already got a datagram and is gone' "$T/$name.sock"
	fi
	printf "%s rc=%s answer=%s\n" "$name" "$rc" "$(received "$name")"
}

for impl in "$UPSTREAM_PA" "$PA"; do
	out=$T/upstream.txt
	[ "$impl" = "$PA" ] && out=$T/ours.txt
	{
		scenario answer $$ 0 pw
		scenario ids $$ 0 ids
		scenario ids2 $$ 0 ids --user=1234 --group=2345
		scenario helperdefault $$ 0 env
		scenario helper $$ 0 env --helper-directory=/some/where
		scenario fail $$ 0 fail
		scenario dead "$(dead_pid)" 0 pw
		scenario expired $$ "$(($(mono_usec) - 1000000))" pw
		scenario withdrawn $$ 0 sleepy
		rm -f "$ASKDIR"/ask.*
		run_agent "$impl" -d "$ASKDIR" -- "$T/pw"
		echo "empty rc=$rc"
		for opt in --user=0 --group=0 --version --help --usage; do
			run_agent "$impl" "$opt" >/dev/null
			echo "option $opt rc=$rc"
		done
	} >"$out"
done
echo "# upstream:"
cat "$T/upstream.txt"
# A withdrawn question: upstream's agent stops the client and usually exits 0, but now and
# then (in 1 of this session's 4 CI runs, in none of 9 runs here) it looks at the directory
# again, says "There are no question files", and exits 1.  Ours always exits 0
# (password-agent-cancel too); neither answers.
grep -qx "withdrawn rc=[01] answer=b'NONE'" "$T/upstream.txt" ||
	fail "upstream's agent on a withdrawn question: $(grep '^withdrawn' "$T/upstream.txt")"
assert_contains "$T/ours.txt" "withdrawn rc=0 answer=b'NONE'"
sed -i '/^withdrawn /d' "$T/upstream.txt" "$T/ours.txt"
diff -u "$T/upstream.txt" "$T/ours.txt" || fail "password-agent differs from upstream"
