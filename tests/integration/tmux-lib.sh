# SPDX-License-Identifier: GPL-3.0-or-later
# Helpers for tests that need a real terminal: a private tmux server in $T (source after lib.sh).
require_cmd tmux stty
TM="tmux -S $T/tmux.sock"
on_exit "$TM kill-server"
_tm_n=0

# tm_run COMMAND: run COMMAND (sh syntax) in a new pane; its exit code lands in $T/rc.N.
# Sets $tm (the session name) and $tm_rc (the rc file).
tm_run() {
	_tm_n=$((_tm_n + 1))
	tm=s$_tm_n
	tm_rc=$T/rc.$_tm_n
	$TM new-session -d -s "$tm" -x 150 -y 40 "$1; echo \$? > $tm_rc; sleep 600"
}
# tm_screen: what the pane shows.
tm_screen() {
	$TM capture-pane -p -t "$tm"
}
_tm_has() {
	tm_screen | grep -qF -- "$1"
}
# tm_wait_text TEXT: wait until the pane shows TEXT.
tm_wait_text() {
	wait_for 20 _tm_has "$1" || {
		tm_screen >&2
		fail "terminal never showed '$1'"
	}
}
# tm_tty: the pane's terminal device.
tm_tty() {
	$TM display -p -t "$tm" '#{pane_tty}'
}
# tm_echo_state: "echo" or "-echo" for the pane's terminal.
tm_echo_state() {
	stty -F "$(tm_tty)" -a | tr ' ' '\n' | grep -x -e echo -e -echo
}
_tm_echo_off() {
	[ "$(tm_echo_state)" = "-echo" ]
}
# tm_wait_noecho: wait until the pane's terminal has echo off (the program is about to read).
tm_wait_noecho() {
	wait_for 20 _tm_echo_off || fail "echo never went off: $(tm_screen)"
}
# tm_wait_rc: wait for the command to finish; its exit code in $rc.
tm_wait_rc() {
	wait_for 20 test -s "$tm_rc" || {
		tm_screen >&2
		fail "command in the terminal did not finish"
	}
	rc=$(cat "$tm_rc")
}
