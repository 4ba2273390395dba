# SPDX-License-Identifier: GPL-3.0-or-later
# Private system buses for the D-Bus tests (source after lib.sh and server-lib.sh).
#   start_bus NAME      starts a private "system" bus in $T/bus-NAME; prints its address
#   bus_name_owned ADDR NAME  whether NAME is on the bus
#   mask_times          filter: upstream-format timestamps become TS
require_cmd dbus-daemon busctl mandos-ctl

start_bus() {
	_dir=$T/bus-$1
	mkdir -p "$_dir"
	chmod 755 "$_dir"
	cat > "$_dir/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=$_dir/bus.sock</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_type="method_call"/>
<allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>
CONF
	dbus-daemon --config-file="$_dir/bus.conf" --nofork --nopidfile > "$_dir/log" 2>&1 &
	on_exit "kill $!"
	wait_for 10 test -S "$_dir/bus.sock" || fail "private bus $1 did not start"
	echo "unix:path=$_dir/bus.sock"
}

bus_name_owned() {
	busctl --address="$1" list --no-legend 2>/dev/null | awk '{ print $1 }' | grep -qx "$2"
}

mask_times() {
	sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?/TS________________________/g'
}
