#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Upstream's mandos-monitor (a urwid TUI, driven in tmux) against our server on a private
# system bus (issue 6): it lists the clients; a client waiting for approval gets its secret as
# soon as "a" is pressed on its line; and nothing when an administrator denies instead.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/dbus-lib.sh"
require_cmd tmux mandos-monitor

new_keys waiter
{
	printf '[DEFAULT]\ninterval = PT1H\nchecker = true\n\n'
	printf '[alpha]\nkey_id = %064d\nfingerprint = %040d\nsecret = YQ==\n\n' 1 1
	section waiter "approval_delay = PT60S" "approved_by_default = False"
} > "$T/conf/clients.conf"
mkdir -p "$T/state"
chmod 777 "$T/state"

start_bus ours
export DBUS_SYSTEM_BUS_ADDRESS="$BUS"
$VALGRIND "$MANDOS" --configdir "$T/conf" --statedir "$T/state" --no-zeroconf --address ::1 \
	--port "$PORT" --foreground --debug > "$T/server.log" 2>&1 &
on_exit "kill -9 $!"
wait_for 30 bus_name_owned "$BUS" se.recompile.Mandos || fail "not on the bus"

TMUX_SESSION=mandos-monitor-$$
tmux new-session -d -s "$TMUX_SESSION" -x 200 -y 50 \
	"env DBUS_SYSTEM_BUS_ADDRESS=$BUS TERM=xterm mandos-monitor 2>$T/monitor.err"
on_exit "tmux kill-session -t $TMUX_SESSION"
screen() { tmux capture-pane -p -t "$TMUX_SESSION"; }
on_screen() { screen | grep -q -- "$1"; }
wait_screen() {
	wait_for 15 on_screen "$1" || {
		screen >&2
		fail "mandos-monitor does not show '$1'"
	}
}
wait_screen "Mandos Monitor version"
wait_screen "^alpha: "
wait_screen "^waiter: "
echo "mandos-monitor lists both clients"

# Approve from the monitor: the focus starts on the first client (alpha); move to waiter.
unlock waiter 60 &
UNLOCK=$!
on_exit "kill_job $UNLOCK"
wait_screen "^waiter: Denial in 0:00:[0-9][0-9]. (a)pprove?"
tmux send-keys -t "$TMUX_SESSION" Down
sleep 0.5
START=$(date +%s)
tmux send-keys -t "$TMUX_SESSION" a
wait "$UNLOCK" || { screen >&2; fail "waiter did not get its secret after 'a'"; }
ELAPSED=$(($(date +%s) - START))
cmp -s "$T/out-waiter" "$T/keys-waiter/pw" || fail "waiter got the wrong secret"
[ "$ELAPSED" -lt $((10 * SLOW)) ] || fail "the secret came $ELAPSED s after 'a'"
echo "'a' in mandos-monitor: the waiting client got its secret within ${ELAPSED}s"

# An administrator denies: nothing is sent.
# Let the approval (approval_duration, 1 s) lapse: the server's timer may run late here.
sleep $((1 + SLOW))
unlock waiter 60 &
UNLOCK=$!
on_exit "kill_job $UNLOCK"
wait_screen "^waiter: Denial in 0:00:[0-9][0-9]. (a)pprove?"
mandos-ctl --deny waiter
wait_for 10 on_screen "Client waiter was rejected" || true
sleep 2
kill_job "$UNLOCK"
[ ! -s "$T/out-waiter" ] || fail "waiter got data though denied"
grep -q "was not approved" "$T/server.log" || fail "the server did not log the denial"
echo "denied with mandos-ctl --deny: nothing sent"
tmux send-keys -t "$TMUX_SESSION" q
