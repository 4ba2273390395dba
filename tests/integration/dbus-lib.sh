# SPDX-License-Identifier: GPL-3.0-or-later
# Private system buses for the D-Bus tests (source after lib.sh and server-lib.sh).
#   start_bus NAME      starts a private "system" bus in $T/bus-NAME; sets $BUS to its address
#   bus_name_owned ADDR NAME  whether NAME is on the bus
#   mask_times          filter: upstream-format timestamps become TS
#   expect MEMBER PATTERN  wait for a Mandos signal MEMBER in $T/monitor (dbus-monitor's
#                       output) whose following lines match PATTERN
#   start_bus_server    our server on $BUS (see below)
require_cmd dbus-daemon busctl mandos-ctl

start_bus() {
	private_bus "$T/bus-$1"
}

bus_name_owned() {
	busctl --address="$1" list --no-legend 2>/dev/null | awk '{ print $1 }' | grep -qx "$2"
}

mask_times() {
	sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?/TS________________________/g'
}

# signal_seen MEMBER PATTERN: a signal MEMBER whose following lines match PATTERN.
signal_seen() {
	grep -A4 "interface=se.recompile.Mandos[.A-Za-z]*; member=$1\$" "$T/monitor" |
		grep -q -- "$2"
}

expect() {
	wait_for 15 signal_seen "$1" "$2" || {
		tail -n 40 "$T/monitor" >&2
		tail -n 20 "$T/server.log" >&2
		fail "no $1 signal with $2"
	}
}

# start_bus_server: our server on the bus $BUS with $T/conf and $T/state, on [::1]:$PORT,
# logging to $T/server.log; sets SERVER_PID and returns once it is on the bus and listens.
# Not in a $(...): its stop at exit would be lost with the subshell.
start_bus_server() {
	mkdir -p "$T/state"
	chmod 777 "$T/state"
	DBUS_SYSTEM_BUS_ADDRESS=$BUS $VALGRIND "$MANDOS" --configdir "$T/conf" --statedir "$T/state" \
		--no-zeroconf --address ::1 --port "$PORT" --foreground --debug > "$T/server.log" 2>&1 &
	SERVER_PID=$!
	on_exit "kill -9 $SERVER_PID"
	wait_for 30 bus_name_owned "$BUS" se.recompile.Mandos || {
		tail -n 20 "$T/server.log" >&2
		fail "the server is not on the bus"
	}
	wait_for 30 _port_open "$PORT" || fail "the server does not listen on $PORT"
}
