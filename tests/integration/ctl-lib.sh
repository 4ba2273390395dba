# SPDX-License-Identifier: GPL-3.0-or-later
# Helpers for the mandos-ctl tests: private system buses, a Mandos server on each, and
# running upstream's mandos-ctl and ours side by side.  Source after lib.sh.
#
# The server under test is $MANDOS_TEST_SERVER (default: upstream's /usr/sbin/mandos); it is
# started as: $MANDOS_TEST_SERVER --configdir C --statedir S --no-zeroconf --port P
# --foreground --debug, with use_dbus on.  $MANDOS_TEST_UPSTREAM_CTL is upstream's mandos-ctl.

SERVER_CMD=${MANDOS_TEST_SERVER:-/usr/sbin/mandos}
UPSTREAM_CTL=${MANDOS_TEST_UPSTREAM_CTL:-/usr/sbin/mandos-ctl}
OUR_CTL=$BUILD/mandos-ctl/mandos-ctl

require_cmd dbus-daemon dbus-send setsid mandos-keygen "$UPSTREAM_CTL"
# shellcheck disable=SC2086
require_cmd $SERVER_CMD

# start_bus NAME: start a private system bus in $T/NAME; sets BUS_<NAME>.
start_bus() {
	private_bus "$T/$1"
	eval "BUS_$1=\$BUS"
}

_server_up() {
	DBUS_SYSTEM_BUS_ADDRESS=$1 dbus-send --system --print-reply --dest=org.freedesktop.DBus \
		/org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner \
		string:se.recompile.Mandos 2>/dev/null | grep -q 'boolean true'
}

# start_server NAME CLIENTS_CONF: run the server under test on bus NAME with that
# clients.conf; waits until it owns its bus name.
start_server() {
	_d=$T/$1
	mkdir -p "$_d/conf" "$_d/state"
	chmod 755 "$_d/conf" "$_d/state"
	printf '[DEFAULT]\nuse_dbus = True\nzeroconf = False\n' >"$_d/conf/mandos.conf"
	cp "$2" "$_d/conf/clients.conf"
	chmod 644 "$_d/conf/"*
	_port=$(random_port)
	eval "_addr=\$BUS_$1"
	# Only our own programs run under valgrind, not upstream's Python server.
	_vg=
	case $SERVER_CMD in "$BUILD"/*) _vg=$VALGRIND ;; esac
	# shellcheck disable=SC2086
	# In a session of its own, so that it and all its children can be stopped together.
	DBUS_SYSTEM_BUS_ADDRESS=$_addr setsid $_vg $SERVER_CMD --configdir "$_d/conf" \
		--statedir "$_d/state" --no-zeroconf --port "$_port" --foreground --debug \
		>"$_d/server.log" 2>&1 &
	echo $! >"$_d/server.pid"
	eval "PORT_$1=$_port"
	on_exit "stop_server $1"
	wait_for 30 _server_up "$_addr" || {
		tail -n 20 "$_d/server.log" >&2
		fail "server on bus $1 did not come up"
	}
	# Upstream's server takes its bus name before it listens: a client that came in between
	# would be refused and wait out its --retry.
	wait_for 30 _port_open "$_port" || fail "server on bus $1 does not listen on $_port"
}

# stop_server NAME: SIGTERM to the server's process group; SIGKILL what is left after 5 s
# (upstream's server sometimes hangs in its shutdown).
stop_server() {
	_pid=$(cat "$T/$1/server.pid")
	kill -TERM "-$_pid" 2>/dev/null || return 0
	_i=0
	# Upstream's server writes clients.pickle on its way out: under load that takes a while
	# (more than 5 s seen in CI), and a SIGKILL before it would lose the file.
	while kill -0 "-$_pid" 2>/dev/null && [ "$_i" -lt $((300 * SLOW)) ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	kill -KILL "-$_pid" 2>/dev/null || true
}

# mask: hide what legitimately differs between two servers or two runs: timestamps.
mask() {
	sed -e 's/[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\(\.[0-9]*\)\{0,1\}/TIMESTAMP/g'
}

# run_ctl PROGRAM BUSNAME OUTPREFIX ARGS...: run a mandos-ctl; OUTPREFIX.out/.err/.rc
run_ctl() {
	_prog=$1 _bus=$2 _o=$3
	shift 3
	eval "_addr=\$BUS_$_bus"
	_rc=0
	if [ "$_prog" = ours ]; then
		DBUS_SYSTEM_BUS_ADDRESS=$_addr $VALGRIND "$OUR_CTL" "$@" >"$_o.out" 2>"$_o.err" \
			</dev/null || _rc=$?
	else
		DBUS_SYSTEM_BUS_ADDRESS=$_addr "$UPSTREAM_CTL" "$@" >"$_o.out" 2>"$_o.err" \
			</dev/null || _rc=$?
	fi
	echo "$_rc" >"$_o.rc"
}

_n=0
# compare_files A B WHAT: identical after masking, or fail with a diff.
compare_files() {
	mask <"$1" >"$1.m"
	mask <"$2" >"$2.m"
	if ! cmp -s "$1.m" "$2.m"; then
		echo "--- upstream, +++ ours: $3" >&2
		diff -u "$1.m" "$2.m" >&2 || true
		fail "output differs: $3"
	fi
}

# _both ARGS...: upstream's and our mandos-ctl on the same server (bus A), into $T/u$_n.* and
# $T/o$_n.*, print the same on stderr and exit with the same code.
_both() {
	_n=$((_n + 1))
	run_ctl upstream A "$T/u$_n" "$@"
	run_ctl ours A "$T/o$_n" "$@"
	_what="mandos-ctl $*"
	compare_files "$T/u$_n.err" "$T/o$_n.err" "stderr of $_what"
	compare_files "$T/u$_n.rc" "$T/o$_n.rc" "exit code of $_what"
}

# same ARGS...: upstream's and our mandos-ctl on the same server (bus A) print the same
# stdout and stderr and exit with the same code.
same() {
	_both "$@"
	compare_files "$T/u$_n.out" "$T/o$_n.out" "stdout of $_what"
}

# same_help ARGS...: like same, but our --help goes on after upstream's text, unchanged, with
# our options (protocol 2's, --approve-for) under a heading of their own (and nothing else).
same_help() {
	_both "$@"
	_len=$(wc -c <"$T/u$_n.out")
	head -c "$_len" "$T/o$_n.out" >"$T/o$_n.head"
	compare_files "$T/u$_n.out" "$T/o$_n.head" "stdout of $_what, up to upstream's end"
	tail -c +"$((_len + 1))" "$T/o$_n.out" >"$T/o$_n.tail"
	assert_eq "$(head -n 2 "$T/o$_n.tail")" "
options not in upstream's mandos-ctl:" "our part of $_what"
	for _o in --escrow --shred --force --approve-for; do
		grep -q "^  $_o\( \|$\)" "$T/o$_n.tail" || fail "$_what: no $_o in our part"
	done
	[ "$(grep -c '^  -' "$T/o$_n.tail")" = 4 ] || fail "$_what: our part: $(cat "$T/o$_n.tail")"
}

# same_version: --version exits and complains the same, but each program names its own
# project and version (upstream: "mandos-ctl 1.8.16"; ours: "mandos-ctl (mandos-c) VERSION"),
# both wrapped to $COLUMNS as argparse wraps them.
same_version() {
	_n=$((_n + 1))
	run_ctl upstream A "$T/u$_n" --version
	run_ctl ours A "$T/o$_n" --version
	compare_files "$T/u$_n.err" "$T/o$_n.err" "stderr of mandos-ctl --version"
	compare_files "$T/u$_n.rc" "$T/o$_n.rc" "exit code of mandos-ctl --version"
	_width=$((${COLUMNS:-80} - 2))
	[ "$_width" -ge 11 ] || _width=11
	for _f in "$T/u$_n.out" "$T/o$_n.out"; do
		! grep -q ".\{$((_width + 1))\}" "$_f" || fail "$_f: not wrapped to $_width columns"
	done
	tr '\n' ' ' <"$T/u$_n.out" | grep -qx 'mandos-ctl 1\.8\.[0-9]* ' ||
		fail "upstream's --version: $(cat "$T/u$_n.out")"
	assert_eq "$(tr '\n' ' ' <"$T/o$_n.out")" "$(version_line mandos-ctl) " "our --version"
}

# snapshot BUS FILE: the server's state as upstream's mandos-ctl --dump-json shows it.
snapshot() {
	run_ctl upstream "$1" "$T/snap" --dump-json
	[ "$(cat "$T/snap.rc")" = 0 ] || fail "dump-json on bus $1 failed: $(cat "$T/snap.err")"
	# Each server lists its clients in its own order; the state is the same either way.
	python3 -c 'import json, sys
print(json.dumps(json.load(sys.stdin), indent=4, sort_keys=True))' <"$T/snap.out" >"$2" ||
		fail "dump-json on bus $1 is not JSON"
}

_checkers_done() {
	DBUS_SYSTEM_BUS_ADDRESS=$1 "$UPSTREAM_CTL" --dump-json 2>/dev/null | python3 -c 'import json, sys
sys.exit(any(c["CheckerRunning"] for c in json.load(sys.stdin).values()))'
}

# wait_checkers NAME...: wait until no checker runs on the servers on these buses.
wait_checkers() {
	for _b in "$@"; do
		eval "_addr=\$BUS_$_b"
		wait_for 30 _checkers_done "$_addr" || fail "checkers on bus $_b do not finish"
	done
}

# step ARGS...: a state-changing command: upstream's mandos-ctl on server A, ours on
# server B (started from the same configuration).  Same output and exit code, and then
# the same server state.  With $STEP_SETTLE set, the checkers finish first.
step() {
	_n=$((_n + 1))
	run_ctl upstream A "$T/u$_n" "$@"
	run_ctl ours B "$T/o$_n" "$@"
	_what="mandos-ctl $*"
	compare_files "$T/u$_n.out" "$T/o$_n.out" "stdout of $_what"
	compare_files "$T/u$_n.err" "$T/o$_n.err" "stderr of $_what"
	compare_files "$T/u$_n.rc" "$T/o$_n.rc" "exit code of $_what"
	[ -z "${STEP_SETTLE:-}" ] || wait_checkers A B
	snapshot A "$T/u$_n.state"
	snapshot B "$T/o$_n.state"
	compare_files "$T/u$_n.state" "$T/o$_n.state" "server state after $_what"
}
