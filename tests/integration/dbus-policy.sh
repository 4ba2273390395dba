#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The installed D-Bus policy (server/dbus-policy.conf) on a bus that denies by default: our
# server, running as _mandos, owns both names and root's mandos-ctl works, while another user
# may neither call the server nor own its name; without the policy the server logs
# "Disabling D-Bus:" and goes on serving.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/dbus-lib.sh"
require_root
require_cmd setpriv
getent group _mandos >/dev/null || skip "no _mandos group"
getent passwd nobody >/dev/null || skip "no user nobody"

printf '[c1]\nkey_id = %064d\nfingerprint = %040d\nsecret = YQ==\n' 1 1 > "$T/conf/clients.conf"
mkdir -p "$T/state" "$T/strict"
chmod 777 "$T/state"
chmod 755 "$T/strict"

# strict_bus NAME [POLICY]: a bus that denies what the system bus denies, plus POLICY; sets $BUS.
strict_bus() {
	_dir=$T/strict/$1
	mkdir -p "$_dir"
	chmod 755 "$_dir"
	{
		cat <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=$_dir/bus.sock</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><deny own="*"/><deny send_type="method_call"/>
<allow send_type="signal"/><allow send_requested_reply="true" send_type="method_return"/>
<allow send_requested_reply="true" send_type="error"/><allow receive_type="method_call"/>
<allow receive_type="method_return"/><allow receive_type="error"/><allow receive_type="signal"/>
<allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
</policy>
CONF
		[ -z "${2:-}" ] || printf '<include>%s</include>\n' "$2"
		printf '</busconfig>\n'
	} > "$_dir/bus.conf"
	private_bus "$_dir"
	chmod 666 "$_dir/bus.sock"
}

strict_bus with "$SRC/server/dbus-policy.conf"
export DBUS_SYSTEM_BUS_ADDRESS="$BUS"
start_server_dbus() {
	$VALGRIND "$MANDOS" --configdir "$T/conf" --statedir "$T/state" --no-zeroconf \
		--address ::1 --port "$PORT" --foreground --debug >> "$T/server.log" 2>&1 &
	SERVER_PID=$!
	on_exit "kill -9 $SERVER_PID"
	wait_for 30 _port_open "$PORT" || fail "the server does not listen"
}
start_server_dbus
wait_for 10 bus_name_owned "$BUS" se.recompile.Mandos || fail "no name with the policy"
wait_for 10 bus_name_owned "$BUS" se.bsnet.fukt.Mandos || fail "no deprecated name"
grep -q "Did setuid/setgid" "$T/server.log" || fail "the server did not drop privileges"
mandos-ctl > "$T/ctl-root" || fail "root's mandos-ctl failed"
assert_contains "$T/ctl-root" "c1 " "root's mandos-ctl output"
echo "policy: the server (as _mandos) owns both names; root's mandos-ctl lists c1"

rc=0
setpriv --reuid=nobody --regid=nogroup --clear-groups mandos-ctl > "$T/ctl-nobody" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "user nobody could call the server"
assert_contains "$T/ctl-nobody" "Rejected send message" "nobody's mandos-ctl"
kill "$SERVER_PID"
wait "$SERVER_PID" || true
rc=0
setpriv --reuid=nobody --regid=nogroup --clear-groups busctl --address="$BUS" call \
	org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus RequestName su \
	se.recompile.Mandos 4 > "$T/own-nobody" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "user nobody could own se.recompile.Mandos"
echo "policy: another user can neither call the server nor own its name"

# No policy: the names are refused; D-Bus is disabled but the server serves.
strict_bus without
BUS2=$BUS
export DBUS_SYSTEM_BUS_ADDRESS="$BUS2"
: > "$T/server.log"
start_server_dbus
wait_for 10 grep -q "ERROR: Disabling D-Bus:" "$T/server.log" ||
	{ cat "$T/server.log" >&2; fail "no 'Disabling D-Bus:' error"; }
kill -0 "$SERVER_PID" || fail "the server stopped"
bus_name_owned "$BUS2" se.recompile.Mandos && fail "name owned without the policy"
echo "without the policy: 'Disabling D-Bus:' logged, the server goes on"
