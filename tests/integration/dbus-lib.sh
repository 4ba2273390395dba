# SPDX-License-Identifier: GPL-3.0-or-later
# Private system buses for the D-Bus tests (source after lib.sh and server-lib.sh).
#   start_bus NAME      starts a private "system" bus in $T/bus-NAME; sets $BUS to its address
#   bus_name_owned ADDR NAME  whether NAME is on the bus
#   mask_times          filter: upstream-format timestamps become TS
#   expect MEMBER PATTERN  wait for a Mandos signal MEMBER in $T/monitor (dbus-monitor's
#                       output) whose following lines match PATTERN
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
