# SPDX-License-Identifier: GPL-3.0-or-later
# An etcd cluster of 1 or 3 members on loopback for the fleet tests (POSIX sh; source after
# lib.sh).  It gives:
#   etcd_cluster_start N     start N members (free ports, data dirs and logs in $T/etcd-I),
#                            wait until every one is healthy; killed at exit.  Sets
#                            ETCD_ENDPOINTS ("http://127.0.0.1:P1 http://..."), ETCD_N,
#                            ETCD_CLIENT_PORT_I, ETCD_PEER_PORT_I, ETCD_PID_I, ETCD_URL_I.
#   etcd_member_kill I       SIGKILL member I (a crash), and reap it.
#   etcd_member_start I      start member I again on its data dir (it rejoins), wait until it
#                            is healthy (which needs a quorum up with it).
#   etcd_member_start_nowait I   the same without the wait (when no quorum can be up yet).
#   etcd_member_stop I / etcd_member_cont I   SIGSTOP / SIGCONT member I (a hung member: its
#                            ports accept, nothing answers).
#   etcd_member_healthy I    whether member I answers /health with a leader.
#   etcd_leader              print the I of the leader (fails when none answers as one).
#   etcdctl_ ARGS...         etcdctl (API 3) on every member's endpoint.
# Ports come from the kernel (bound on 127.0.0.1 together, so distinct); a start that loses a
# port to another program meanwhile is retried on new ones.  Members left running, or stopped,
# are killed at exit.
# ETCD_EXTRA_ARGS (optional) is added to every member's command line, e.g.
# --experimental-watch-progress-notify-interval=1s.  Raft's heartbeat and election timeout are
# scaled by $SLOW, so that a busy machine does not change leaders all the time.

require_cmd etcd etcdctl curl

ETCD_N=0
ETCD_EXTRA_ARGS=${ETCD_EXTRA_ARGS:-}

# _etcd_var NAME I: the value of ${NAME_I}.
_etcd_var() {
	eval "echo \"\${$1_$2:-}\""
}

# _etcd_free_ports COUNT: COUNT distinct free loopback ports, one a line.
_etcd_free_ports() {
	python3 -c 'import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])' "$1"
}

# _etcd_launch I STATE: start member I (STATE: new or existing) in the background.
_etcd_launch() {
	_el_i=$1
	_el_cp=$(_etcd_var ETCD_CLIENT_PORT "$_el_i")
	_el_pp=$(_etcd_var ETCD_PEER_PORT "$_el_i")
	# shellcheck disable=SC2086 # ETCD_EXTRA_ARGS is a list of words
	etcd --name "n$_el_i" --data-dir "$T/etcd-$_el_i/data" \
		--listen-peer-urls "http://127.0.0.1:$_el_pp" \
		--initial-advertise-peer-urls "http://127.0.0.1:$_el_pp" \
		--listen-client-urls "http://127.0.0.1:$_el_cp" \
		--advertise-client-urls "http://127.0.0.1:$_el_cp" \
		--initial-cluster "$_etcd_initial_cluster" --initial-cluster-state "$2" \
		--initial-cluster-token "mandos-test-$$" \
		--heartbeat-interval $((100 * SLOW)) --election-timeout $((1000 * SLOW)) \
		$ETCD_EXTRA_ARGS >> "$T/etcd-$_el_i/log" 2>&1 &
	eval "ETCD_PID_$_el_i=$!"
}

# _etcd_reap I: kill member I (SIGCONT first, should it be stopped) and wait for it.
_etcd_reap() {
	_er_pid=$(_etcd_var ETCD_PID "$1")
	[ -n "$_er_pid" ] || return 0
	kill -KILL "$_er_pid" 2>/dev/null || true
	kill -CONT "$_er_pid" 2>/dev/null || true
	wait "$_er_pid" 2>/dev/null || true
	eval "ETCD_PID_$1="
}

etcd_member_healthy() {
	curl -s --max-time 2 "$(_etcd_var ETCD_URL "$1")/health" | grep -q '"health":"true"'
}

_etcd_all_healthy() {
	_eh_i=1
	while [ "$_eh_i" -le "$ETCD_N" ]; do
		etcd_member_healthy "$_eh_i" || return 1
		_eh_i=$((_eh_i + 1))
	done
}

# _etcd_port_clash: whether a member died for a port another program took meanwhile.
_etcd_port_clash() {
	_ec_i=1
	while [ "$_ec_i" -le "$ETCD_N" ]; do
		if ! kill -0 "$(_etcd_var ETCD_PID "$_ec_i")" 2>/dev/null &&
			grep -q "address already in use" "$T/etcd-$_ec_i/log"; then
			return 0
		fi
		_ec_i=$((_ec_i + 1))
	done
	return 1
}

etcd_cluster_start() {
	[ "$1" -ge 1 ] || fail "etcd_cluster_start: N must be 1 or more"
	_ecs_try=1
	on_exit "_etcd_reap_all"
	while :; do
		_etcd_cluster_try "$1" && return 0
		if ! _etcd_port_clash || [ "$_ecs_try" -ge 3 ]; then
			for _ecs_i in $(seq 1 "$1"); do
				echo "--- $T/etcd-$_ecs_i/log:" >&2
				tail -n 20 "$T/etcd-$_ecs_i/log" >&2
			done
			fail "the etcd cluster of $1 did not become healthy"
		fi
		_etcd_reap_all
		_ecs_try=$((_ecs_try + 1))
	done
}

_etcd_reap_all() {
	_era_i=1
	while [ "$_era_i" -le "$ETCD_N" ]; do
		_etcd_reap "$_era_i"
		_era_i=$((_era_i + 1))
	done
}

_etcd_cluster_try() {
	ETCD_N=$1
	ETCD_ENDPOINTS=""
	_etcd_initial_cluster=""
	_ect_ports=$(_etcd_free_ports $((2 * ETCD_N)))
	_ect_i=1
	while [ "$_ect_i" -le "$ETCD_N" ]; do
		_ect_cp=$(echo "$_ect_ports" | sed -n "$((2 * _ect_i - 1))p")
		_ect_pp=$(echo "$_ect_ports" | sed -n "$((2 * _ect_i))p")
		eval "ETCD_CLIENT_PORT_$_ect_i=$_ect_cp ETCD_PEER_PORT_$_ect_i=$_ect_pp"
		eval "ETCD_URL_$_ect_i=http://127.0.0.1:$_ect_cp"
		ETCD_ENDPOINTS="${ETCD_ENDPOINTS:+$ETCD_ENDPOINTS }http://127.0.0.1:$_ect_cp"
		_etcd_initial_cluster="${_etcd_initial_cluster:+$_etcd_initial_cluster,}n$_ect_i=http://127.0.0.1:$_ect_pp"
		rm -rf "$T/etcd-$_ect_i"
		mkdir -p "$T/etcd-$_ect_i"
		_ect_i=$((_ect_i + 1))
	done
	_ect_i=1
	while [ "$_ect_i" -le "$ETCD_N" ]; do
		_etcd_launch "$_ect_i" new
		_ect_i=$((_ect_i + 1))
	done
	wait_for 30 _etcd_all_healthy
}

etcd_member_kill() {
	_etcd_reap "$1"
}

etcd_member_start_nowait() {
	_etcd_reap "$1"
	_etcd_launch "$1" existing
}

etcd_member_start() {
	etcd_member_start_nowait "$1"
	wait_for 30 etcd_member_healthy "$1" || {
		tail -n 20 "$T/etcd-$1/log" >&2
		fail "etcd member $1 did not come back healthy"
	}
}

etcd_leader() {
	_el_i=1
	while [ "$_el_i" -le "$ETCD_N" ]; do
		if [ -n "$(_etcd_var ETCD_PID "$_el_i")" ] &&
			curl -s --max-time 2 -X POST -d '{}' \
				"$(_etcd_var ETCD_URL "$_el_i")/v3/maintenance/status" |
			python3 -c 'import json, sys
s = json.load(sys.stdin)
sys.exit(0 if s.get("leader") and s["leader"] == s["header"]["member_id"] else 1)' 2>/dev/null; then
			echo "$_el_i"
			return 0
		fi
		_el_i=$((_el_i + 1))
	done
	return 1
}

# _etcd_signal SIGNAL I: send SIGNAL to member I, which must be running.
_etcd_signal() {
	_es_pid=$(_etcd_var ETCD_PID "$2")
	[ -n "$_es_pid" ] || fail "etcd member $2 is not running"
	kill "-$1" "$_es_pid"
}

etcd_member_stop() {
	_etcd_signal STOP "$1"
}

etcd_member_cont() {
	_etcd_signal CONT "$1"
}

etcdctl_() {
	ETCDCTL_API=3 etcdctl --endpoints="$(echo "$ETCD_ENDPOINTS" | tr ' ' ',')" "$@"
}
