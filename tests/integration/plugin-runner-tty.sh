#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# plugin-runner on a real terminal (tmux): the getpass fallback with echo off, and
# password-prompt run as a plugin.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tmux-lib.sh"

R="$BUILD/plugin-runner/plugin-runner"
ME="--userid=$(id -u) --groupid=$(id -g)"
mkdir "$T/fail" "$T/pp"
printf '#!/bin/sh\nexit 1\n' > "$T/fail/a"
chmod 755 "$T/fail/a"

echo "# all plugins fail: 'Password: ' on the terminal, echo off, the line on stdout"
tm_run "$VALGRIND $R $ME --plugin-dir=$T/fail > $T/out"
tm_wait_text "Going to fallback mode using getpass(3)"
tm_wait_text "Password:"
assert_eq "$(tm_echo_state)" "-echo" "echo during the fallback prompt"
$TM send-keys -t "$tm" -l 'fallback secret'
$TM send-keys -t "$tm" Enter
tm_wait_rc
# Once it has read the line, an echo would be on the screen.
! tm_screen | grep -q 'fallback secret' || fail "the fallback password was echoed"
assert_eq "$rc:$(cat "$T/out")" "0:fallback secret" "fallback password"
assert_eq "$(tm_echo_state)" "echo" "echo restored"

echo "# SIGTERM at the fallback prompt: echo restored, killed by the signal"
tm_run "sh -c 'echo \$\$ > $T/pid; exec $VALGRIND $R $ME --plugin-dir=$T/fail' > $T/out"
tm_wait_text "Password:"
assert_eq "$(tm_echo_state)" "-echo" "echo during the fallback prompt"
kill -TERM "$(cat "$T/pid")"
tm_wait_rc
assert_eq "$rc" 143 "exit status after SIGTERM"
assert_eq "$(tm_echo_state)" "echo" "echo restored after SIGTERM"

echo "# password-prompt as a plugin of plugin-runner"
cp "$BUILD/plugins.d/password-prompt/password-prompt" "$T/pp/password-prompt"
tm_run "CRYPTTAB_SOURCE=/dev/vda1 CRYPTTAB_NAME=croot $VALGRIND $R $ME --plugin-dir=$T/pp \
	--options-for=password-prompt:--plymouth-pid-file=$T/none > $T/out"
tm_wait_text "Unlocking the disk /dev/vda1 (croot)"
$TM send-keys -t "$tm" -l 'typed'
$TM send-keys -t "$tm" Enter
tm_wait_rc
assert_eq "$rc:$(cat "$T/out")" "0:typed" "password from password-prompt"
echo "plugin-runner-tty: ok"
