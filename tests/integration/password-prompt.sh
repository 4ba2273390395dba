#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# password-prompt through a real pseudo-terminal (tmux): prompts, echo off, output, signals.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tmux-lib.sh"

PP="$BUILD/plugins.d/password-prompt/password-prompt"
NOPID="--plymouth-pid-file=$T/no-plymouth"

echo "# the prompt from CRYPTTAB_*, echo off while typing, the line on stdout"
tm_run "CRYPTTAB_SOURCE=/dev/sda2 CRYPTTAB_NAME=root $VALGRIND $PP $NOPID > $T/out"
tm_wait_text "Enter passphrase:"
tm_screen | grep -qx "Unlocking the disk /dev/sda2 (root)" || fail "prompt: $(tm_screen)"
assert_eq "$(tm_echo_state)" "-echo" "echo while reading"
$TM send-keys -t "$tm" -l 's3cret word'
$TM send-keys -t "$tm" Enter
tm_wait_rc
# Once it has read the line, an echo would be on the screen.
! tm_screen | grep -q s3cret || fail "the passphrase was echoed"
assert_eq "$rc" 0 "exit code"
assert_eq "$(od -An -c "$T/out" | tr -s ' ')" " s 3 c r e t w o r d" "passphrase, no newline"
assert_eq "$(tm_echo_state)" "echo" "echo restored"

echo "# cryptsource/crypttarget fallbacks, --prefix, --prompt, Ctrl-D on an empty line"
tm_run "env -u CRYPTTAB_SOURCE -u CRYPTTAB_NAME cryptsource=/dev/vdb $VALGRIND $PP $NOPID -p PFX > $T/out"
tm_wait_text "PFX Unlocking the disk /dev/vdb"
tm_wait_text "Enter passphrase:"
$TM send-keys -t "$tm" C-d
wait_for 20 sh -c "[ \$($TM capture-pane -p -t $tm | grep -c 'Enter passphrase:') -ge 2 ]" ||
	fail "no new prompt after Ctrl-D: $(tm_screen)"
$TM send-keys -t "$tm" -l 'x'
$TM send-keys -t "$tm" Enter
tm_wait_rc
assert_eq "$rc:$(cat "$T/out")" "0:x" "after Ctrl-D"
tm_run "crypttarget=cr $VALGRIND $PP $NOPID > $T/out"
tm_wait_text "Unlocking the disk (cr)"
$TM send-keys -t "$tm" Enter
tm_wait_rc
assert_eq "$rc:$(wc -c < "$T/out" | tr -d ' ')" "0:0" "empty line"
tm_run "env -u CRYPTTAB_NAME -u CRYPTTAB_SOURCE $VALGRIND $PP $NOPID > $T/out"
tm_wait_text "Enter passphrase to unlock the disk:"
$TM send-keys -t "$tm" Enter
tm_wait_rc
tm_run "$VALGRIND $PP $NOPID --prompt=Hello -p P > $T/out"
tm_wait_text "P Hello:"
$TM send-keys -t "$tm" Enter
tm_wait_rc

echo "# SIGTERM while asking: terminal restored, killed by the signal"
tm_run "sh -c 'echo \$\$ > $T/shpid; exec $PP $NOPID' > $T/out"
tm_wait_text "Enter passphrase"
assert_eq "$(tm_echo_state)" "-echo" "echo while reading"
kill -TERM "$(cat "$T/shpid")"
tm_wait_rc
assert_eq "$rc" 143 "exit status after SIGTERM"
assert_eq "$(tm_echo_state)" "echo" "echo restored after SIGTERM"

echo "# same question and same output as upstream's password-prompt"
UP=$UPSTREAM_PLUGIN_DIR/password-prompt
if [ -x "$UP" ] && [ ! -e /run/plymouth/pid ]; then
	for envs in "CRYPTTAB_SOURCE=/dev/sda2 CRYPTTAB_NAME=root" "cryptsource=/dev/sdb" \
		"CRYPTTAB_NAME=x crypttarget=y" "X=1"; do
		for args in "" "--prefix=PFX" "--prompt=Say"; do
			for prog in "$UP" "$PP"; do
				# tm_run numbers the run: it is the next one.
				tm_run "env -u CRYPTTAB_SOURCE -u CRYPTTAB_NAME -u cryptsource \
					-u crypttarget $envs $prog $args > $T/out.$((_tm_n + 1))"
				tm_wait_text ":"
				tm_wait_noecho
				$TM send-keys -t "$tm" -l "pw 1"
				$TM send-keys -t "$tm" Enter
				tm_wait_rc
				tm_screen | sed '/^$/d' > "$T/screen.$_tm_n"
			done
			n=$_tm_n
			m=$((n - 1))
			cmp -s "$T/screen.$m" "$T/screen.$n" ||
				fail "screen differs for '$envs' '$args': $(cat "$T/screen.$m") vs $(cat "$T/screen.$n")"
			cmp -s "$T/out.$m" "$T/out.$n" || fail "output differs for '$envs' '$args'"
			assert_eq "$(cat "$T/out.$n")" "pw 1" "password"
		done
	done
fi

echo "# no terminal: 69; Plymouth running: 1; --help/--version: 0; bad option: 64"
rc=0
$VALGRIND "$PP" $NOPID < /dev/null > /dev/null 2>&1 || rc=$?
assert_eq "$rc" 69 "stdin not a terminal"
echo 123 > "$T/plymouth.pid"
rc=0
$VALGRIND "$PP" --plymouth-pid-file="$T/plymouth.pid" < /dev/null > /dev/null 2>&1 || rc=$?
assert_eq "$rc" 1 "plymouth pid file readable"
for o in --help --version --usage -?; do
	rc=0
	$VALGRIND "$PP" $o > "$T/out" 2>&1 || rc=$?
	assert_eq "$rc" 0 "$o"
done
assert_contains "$T/out" "--prompt=PROMPT" "-? prints help"
rc=0
$VALGRIND "$PP" --bogus > /dev/null 2>&1 || rc=$?
assert_eq "$rc" 64 "unknown option"
echo "password-prompt: ok"
