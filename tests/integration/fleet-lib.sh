# SPDX-License-Identifier: GPL-3.0-or-later
# Helpers for the fleet tests: several of our servers sharing their state through etcd (source
# after lib.sh, server-lib.sh, server-p2-lib.sh and etcd-lib.sh).  Server I has $T/sI/conf
# (mandos.conf from fleet_conf, the shared $T/clients.conf, the spec's server key), its own
# state directory, port PORT_I and a private bus (BUS_I), its log in $T/sI/server.log.
OUR_CTL=$BUILD/mandos-ctl/mandos-ctl
require_cmd dbus-daemon busctl "$OUR_CTL"

FLEET_PREFIX=/mandos-fleet-test/
# The shortest staleness config.c allows, times $SLOW: what the partition tests wait for.
FLEET_STALENESS=$((3 * SLOW))

# fleet_conf I ENDPOINTS [LINE...]: server I's mandos.conf with these etcd endpoints.
fleet_conf() {
	_i=$1 _ep=$2
	shift 2
	mkdir -p "$T/s$_i/conf" "$T/s$_i/state"
	chmod 755 "$T/s$_i" "$T/s$_i/conf"
	chmod 777 "$T/s$_i/state"
	{
		printf '[DEFAULT]\nsource_rate = 0\nstate_backend = etcd\n'
		printf 'etcd_endpoints = %s\netcd_prefix = %s\nserver_name = s%s\n' "$_ep" \
			"$FLEET_PREFIX" "$_i"
		printf 'etcd_max_staleness = PT%sS\n' "$FLEET_STALENESS"
		printf 'audit_log = %s\n' "$T/s$_i/audit.log"
		for _l in "$@"; do
			printf '%s\n' "$_l"
		done
	} > "$T/s$_i/conf/mandos.conf"
	cp "$T/conf/server-key.pem" "$T/s$_i/conf/server-key.pem"
}

# fleet_audit I...: each server's audit log is one valid JSON line per decision, and no log
# holds a client's secret (raw, hex or base64) or its sealed box.
fleet_audit() {
	_logs=""
	for _i in "$@"; do
		audit_check "$T/s$_i/audit.log"
		_logs="$_logs $T/s$_i/audit.log"
	done
	# shellcheck disable=SC2086 # one word per log and per secret file
	audit_no_secret $_logs --raw $(ls "$T"/p2-*/pw) --b64 $(ls "$T"/p2-*/sealed)
}

_fleet_up() {
	bus_name_owned "$1" se.recompile.Mandos && _port_open "$2"
}

bus_name_owned() {
	busctl --address="$1" list --no-legend 2>/dev/null | awk '{ print $1 }' | grep -qx "$2"
}

# fleet_server I [ENV=VALUE...]: start server I (fleet_conf first) with these variables in its
# environment (its checkers see them); returns once it is on its bus and listens.
fleet_server() {
	_i=$1
	shift
	cp "$T/clients.conf" "$T/s$_i/conf/clients.conf"
	chmod 644 "$T/s$_i/conf/"*.conf
	[ -n "$(eval echo "\${BUS_$_i:-}")" ] || {
		private_bus "$T/bus-$_i"
		eval "BUS_$_i=\$BUS"
		eval "PORT_$_i=$(random_port)"
	}
	eval "_bus=\$BUS_$_i _port=\$PORT_$_i"
	# shellcheck disable=SC2086
	env DBUS_SYSTEM_BUS_ADDRESS="$_bus" "$@" $VALGRIND "$MANDOS" --configdir "$T/s$_i/conf" \
		--statedir "$T/s$_i/state" --no-zeroconf --address ::1 --port "$_port" \
		--foreground --debug >>"$T/s$_i/server.log" 2>&1 &
	eval "PID_$_i=$!"
	on_exit "kill -9 $!"
	wait_for 30 _fleet_up "$_bus" "$_port" || {
		tail -n 20 "$T/s$_i/server.log" >&2
		fail "server $_i did not come up"
	}
}

# fleet_stop I: SIGTERM, and wait for it: it must exit 0 (under valgrind: no error, no leak).
fleet_stop() {
	eval "_pid=\$PID_$1"
	kill "$_pid" 2>/dev/null || true
	_rc=0
	wait "$_pid" || _rc=$?
	[ "$_rc" -eq 0 ] || {
		tail -n 30 "$T/s$1/server.log" >&2
		fail "server $1 exited with $_rc"
	}
}

# fleet_log_wait I STRING [SECONDS]: wait until server I's log has STRING.
fleet_log_wait() {
	wait_for "${3:-10}" grep -qF -- "$2" "$T/s$1/server.log" || {
		tail -n 30 "$T/s$1/server.log" >&2
		fail "server $1's log lacks '$2'"
	}
}

# fleet_ctl I ARGS...: our mandos-ctl on server I's bus.
fleet_ctl() {
	_i=$1
	shift
	eval "_bus=\$BUS_$_i"
	DBUS_SYSTEM_BUS_ADDRESS=$_bus $VALGRIND "$OUR_CTL" "$@" </dev/null ||
		fail "mandos-ctl $* on server $_i failed"
}

# fleet_enabled I NAME: print server I's Enabled property of NAME (true or false).
fleet_enabled() {
	eval "_bus=\$BUS_$1"
	busctl --address="$_bus" get-property se.recompile.Mandos "/clients/$2" \
		se.recompile.Mandos.Client Enabled 2>/dev/null | sed -n 's/^b //p'
}

# fleet_probe I NAME [PROBE ARGS...]: p2-probe with NAME's keys against server I (p2_unlock).
fleet_probe() {
	_i=$1
	shift
	eval "PORT=\$PORT_$_i"
	p2_unlock "$@"
}

# fleet_result I NAME: the RESULT line server I gives NAME now ("code=C flags=F value=V").
fleet_result() {
	fleet_probe "$@" || true
	sed -n 's/^RESULT \(code=[0-9]* flags=[0-9]* value=[0-9]*\).*/\1/p' "$T/p2err-$2"
}

# fleet_refuses I NAME 'code=C flags=F value=V': server I answers NAME so, with no secret.
fleet_refuses() {
	[ "$(fleet_result "$1" "$2")" = "$3" ] && [ ! -s "$T/p2out-$2" ]
}

# fleet_unlocks I NAME: server I gives NAME its secret.
fleet_unlocks() {
	[ "$(fleet_result "$1" "$2")" = "code=0 flags=0 value=0" ] &&
		cmp -s "$T/p2out-$2" "$T/p2-$2/pw"
}

# assert_fleet_unlocks I NAME
assert_fleet_unlocks() {
	fleet_unlocks "$1" "$2" || {
		cat "$T/p2err-$2" >&2
		tail -n 20 "$T/s$1/server.log" >&2
		fail "server $1 did not unlock $2"
	}
}

# fleet_doc NAME: the shared document of NAME in etcd (JSON), empty when there is none.
fleet_doc() {
	etcdctl_ get --print-value-only "${FLEET_PREFIX}clients/$1" 2>/dev/null
}

# fleet_doc_field NAME PYTHON-EXPRESSION: the expression of the document d (e.g.
# 'd["enabled"]', 'len(d["releases"])'); fails when there is no document.
fleet_doc_field() {
	fleet_doc "$1" | python3 -c 'import json, sys
d = json.loads(sys.stdin.read())
print(eval(sys.argv[1]))' "$2"
}

# etcd_is_leader I: whether etcd member I is the leader now.
etcd_is_leader() {
	ETCDCTL_API=3 etcdctl --endpoints="$(eval echo "\$ETCD_URL_$1")" endpoint status -w json \
		2>/dev/null | python3 -c 'import json, sys
s = json.load(sys.stdin)[0]["Status"]
sys.exit(0 if s["header"]["member_id"] == s["leader"] else 1)'
}

# etcd_followers: the members that are not the leader, one a line (a member killed then
# needs no election, which a short etcd_max_staleness could not always ride out).
etcd_followers() {
	for _m in $(seq "$ETCD_N"); do
		etcd_is_leader "$_m" || echo "$_m"
	done
}

# log_lines I: how many lines server I's log has now.
log_lines() {
	wc -l < "$T/s$1/server.log"
}

# log_since I LINES STRING: server I's log has STRING after its first LINES lines.
log_since() {
	tail -n +"$(($2 + 1))" "$T/s$1/server.log" | grep -qF -- "$3"
}

# now_ms: the wall clock in milliseconds.
now_ms() {
	date +%s%3N
}
