#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# askpass-fifo with a FIFO this test makes: bytes verbatim, FIFO cleanup, signals, options.
. "$(dirname "$0")/lib.sh"

AF="$BUILD/plugins.d/askpass-fifo/askpass-fifo"
F=$T/passfifo

echo "# the bytes written, verbatim, once every writer has closed the FIFO"
rc=0
$VALGRIND "$AF" --fifo="$F" > "$T/out" 2> "$T/err" &
pid=$!
on_exit "kill -9 $pid"
wait_for 10 test -p "$F" || fail "no FIFO"
assert_eq "$(stat -c %a "$F")" 600 "FIFO mode"
sleep 0.3
kill -0 "$pid" || fail "askpass-fifo did not wait for a writer"
{
	printf 'pass'
	sleep 0.3
	printf 'word\n\n'
} > "$F"
wait "$pid" || rc=$?
assert_eq "$rc" 0 "exit code"
assert_eq "$(od -An -c "$T/out" | tr -s ' ')" " p a s s w o r d \\n \\n" "bytes"
[ ! -e "$F" ] || fail "the FIFO it made was left behind"

echo "# an existing FIFO is used and kept"
mkfifo -m 600 "$F"
$VALGRIND "$AF" --fifo="$F" > "$T/out" &
pid=$!
sleep 0.3
printf 'x' > "$F"
wait "$pid"
assert_eq "$(cat "$T/out")" "x" "existing FIFO"
[ -p "$F" ] || fail "an existing FIFO was removed"
rm -f "$F"

echo "# SIGTERM while waiting: the FIFO goes, the signal kills"
$VALGRIND "$AF" --fifo="$F" > "$T/out" &
pid=$!
wait_for 10 test -p "$F" || fail "no FIFO"
sleep 0.2
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
assert_eq "$rc" 143 "exit after SIGTERM"
[ ! -e "$F" ] || fail "FIFO left behind after SIGTERM"

echo "# through plugin-runner"
mkdir "$T/plugins"
cp "$AF" "$T/plugins/askpass-fifo"
"$BUILD/plugin-runner/plugin-runner" --userid="$(id -u)" --groupid="$(id -g)" \
	--plugin-dir="$T/plugins" --options-for=askpass-fifo:--fifo="$F" < /dev/null > "$T/out" &
pid=$!
wait_for 10 test -p "$F" || fail "no FIFO from plugin-runner's plugin"
printf 'via-runner' > "$F"
wait "$pid"
assert_eq "$(cat "$T/out")" "via-runner" "through plugin-runner"

echo "# installed set-user-ID root: --fifo is used with the caller's rights only"
if [ "$(id -u)" -eq 0 ] && command -v setpriv > /dev/null; then
	mkdir "$T/suid" "$T/rootonly"
	chmod 755 "$T/suid"
	chmod 700 "$T/rootonly"
	cp "$AF" "$T/suid/askpass-fifo"
	chmod 4755 "$T/suid/askpass-fifo"
	rc=0
	setpriv --reuid=65534 --regid=65534 --clear-groups "$T/suid/askpass-fifo" \
		--fifo="$T/rootonly/fifo" < /dev/null > /dev/null 2>&1 || rc=$?
	assert_eq "$rc" 72 "a set-user-ID askpass-fifo may not make FIFOs where its caller cannot"
	[ ! -e "$T/rootonly/fifo" ] || fail "FIFO made with root's rights"
fi

echo "# exit codes and options"
rc=0
$VALGRIND "$AF" --fifo="$T/no/such/dir/fifo" > /dev/null 2>&1 || rc=$?
assert_eq "$rc" 69 "missing directory"
touch "$T/file"
rc=0
$VALGRIND "$AF" --fifo="$T/file/fifo" > /dev/null 2>&1 || rc=$?
assert_eq "$rc" 72 "not a directory"
for o in --help --version --usage; do
	$VALGRIND "$AF" $o > "$T/out" || fail "$o"
done
assert_contains "$T/out" "Usage: askpass-fifo"
$VALGRIND "$AF" --version > "$T/out"
assert_eq "$(cat "$T/out")" "$(version_line askpass-fifo)" "version"
rc=0
$VALGRIND "$AF" --bogus > /dev/null 2>&1 || rc=$?
assert_eq "$rc" 64 "unknown option"
echo "askpass-fifo: ok"
