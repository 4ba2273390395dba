# SPDX-License-Identifier: GPL-3.0-or-later
# Shared helpers for the integration tests (POSIX sh).  Source it first thing:
#   . "$(dirname "$0")/lib.sh"
# It gives: $T (a private temp dir, removed at exit), $BUILD (the build dir), $SRC (the source
# dir), $VALGRIND (prefix for every program start; empty unless the valgrind setup is used),
# skip, fail, assert_eq, assert_contains, random_port, wait_for_port, wait_for, on_exit, $SLOW,
# private_bus.
set -eu

SRC=${MESON_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MESON_BUILD_ROOT:-$SRC/build}
VALGRIND=${VALGRIND:-}
TEST_NAME=$(basename "$0" .sh)
# Whatever the test starts inherits its name: scripts/leftover-processes.sh names the test that
# left a process behind.
export MANDOS_TEST_NAME="$TEST_NAME"

T=$(mktemp -d "${TMPDIR:-/tmp}/mandos-test-$TEST_NAME.XXXXXX")
# Upstream's server drops privileges; let it reach what a test makes.
chmod 755 "$T"

# SLOW: how many times longer than on an idle machine things may take here, measured at the
# start: 4 under valgrind, times the run queue per CPU (the 1-minute load average over the
# number of CPUs, rounded up, from 1 to 4).  wait_for scales its deadlines by it; tests scale
# the other waits they must give a fixed time (a timeout in a configuration) by it.  Never a
# check: a check waits for its event, then looks.
_load=$(awk -v n="$(nproc)" '{ f = int($1 / n + 0.999); print (f < 1 ? 1 : (f > 4 ? 4 : f)) }' \
	/proc/loadavg)
SLOW=$_load
[ -z "$VALGRIND" ] || SLOW=$((4 * _load))

_on_exit_cmds=""
# on_exit CMD: run CMD (a string) at exit, most recently added first.
on_exit() {
	_on_exit_cmds="$1
$_on_exit_cmds"
}
_cleanup() {
	rc=$?
	set +e
	printf '%s\n' "$_on_exit_cmds" | while IFS= read -r c; do
		[ -n "$c" ] && eval "$c" >/dev/null 2>&1
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -n "${KEEP_TEST_DIR:-}" ]; then
		echo "# test dir kept: $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# kill_job PID: stop the background job PID and the programs it runs.  A job "func ARGS &" is a
# subshell, and killing only it leaves its children running.
kill_job() {
	pkill -TERM -P "$1" 2>/dev/null || true
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# run_until N STRING FILE OUT ERR CMD...: run CMD in the background (stdout to OUT, stderr to
# ERR) until FILE has N more lines containing STRING, then stop it with SIGTERM: it must still
# have been running, and die by that signal (exit status 143).  For "it keeps retrying": wait
# for the retries, then look, instead of counting them in a fixed time.
run_until() {
	_ru_n=$1 _ru_str=$2 _ru_file=$3 _ru_out=$4 _ru_err=$5
	shift 5
	_ru_before=$(grep -cF -- "$_ru_str" "$_ru_file" 2>/dev/null || true)
	"$@" > "$_ru_out" 2> "$_ru_err" &
	_ru_pid=$!
	on_exit "kill $_ru_pid"
	_ru_want=$((${_ru_before:-0} + _ru_n))
	wait_for 30 sh -c "[ \$(grep -cF -- '$_ru_str' '$_ru_file') -ge $_ru_want ]" ||
		fail "not $_ru_n more times '$_ru_str' in $_ru_file: $(tail -n 5 "$_ru_err")"
	kill -0 "$_ru_pid" 2>/dev/null || fail "$1 stopped by itself: $(tail -n 5 "$_ru_err")"
	# When CMD is a shell function, the job is a subshell and the program its child: signal
	# the children first, or they outlive the subshell.
	pkill -TERM -P "$_ru_pid" 2>/dev/null || true
	kill -TERM "$_ru_pid" 2>/dev/null || true
	_ru_rc=0
	wait "$_ru_pid" || _ru_rc=$?
	assert_eq "$_ru_rc" 143 "exit status of $1 (killed by SIGTERM)"
}

# skip REASON: exit 77, which meson reports as skipped.
skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# fail MESSAGE: exit 1 with a message.
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# assert_eq ACTUAL EXPECTED [WHAT]
assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: got '$1', expected '$2'"
}

# assert_contains FILE STRING [WHAT]: FILE contains STRING (fixed string).
assert_contains() {
	grep -qF -- "$2" "$1" || {
		echo "--- $1:" >&2
		tail -n 30 "$1" >&2
		fail "${3:-$1} lacks '$2'"
	}
}

# assert_not_contains FILE STRING [WHAT]
assert_not_contains() {
	! grep -qF -- "$2" "$1" || fail "${3:-$1} contains '$2'"
}

# require_root: skip unless running as root.
require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

# require_cmd CMD...: skip unless each command exists.
require_cmd() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] || skip "needs $c"
	done
}

# random_port: print a TCP port that is free on loopback right now.
random_port() {
	python3 -c 'import socket
s = socket.socket(socket.AF_INET6)
s.bind(("::1", 0))
print(s.getsockname()[1])'
}

# wait_for TIMEOUT_SECONDS CMD...: retry CMD every 0.1 s until it succeeds or the time is up
# (TIMEOUT_SECONDS times $SLOW: a deadline for an event, which on a slower machine comes later).
wait_for() {
	_deadline=$(($(date +%s) + $1 * SLOW))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$_deadline" ] || return 1
		sleep 0.1
	done
}

_port_open() {
	ss -Htln "sport = :$1" | grep -q .
}

# wait_for_port PORT [TIMEOUT]: wait until something listens on TCP PORT.
wait_for_port() {
	wait_for "${2:-10}" _port_open "$1" || fail "nothing listens on port $1"
}

# This project's identity, as meson.build's project() and config.h give it to the programs.
PROJECT_VERSION=$(sed -n "s/^[[:space:]]*version: '\(.*\)',\$/\1/p" "$SRC/meson.build" | head -n 1)
PACKAGE_BUGREPORT=$(sed -n "s/^package_bugreport = '\(.*\)'\$/\1/p" "$SRC/meson.build")
# version_line PROGRAM: what PROGRAM --version prints.
version_line() {
	echo "$1 (mandos-c) $PROJECT_VERSION"
}

# write_bus_conf DIR: a private "system" bus configuration in DIR/bus.conf, listening on
# DIR/bus.sock and allowing everything.
write_bus_conf() {
	cat > "$1/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=$1/bus.sock</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_type="method_call"/>
<allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>
CONF
}

# private_bus DIR [PREFIX...]: start dbus-daemon with DIR/bus.conf (write_bus_conf's unless the
# caller wrote one), run through PREFIX (e.g. ip netns exec NS) if given, its log in DIR/log;
# stopped at exit.  Sets $BUS to its address.  Not in a $(...): the stop would be lost with the
# subshell, and the daemon left running.
private_bus() {
	_bd=$1
	shift
	mkdir -p "$_bd"
	chmod 755 "$_bd"
	[ -e "$_bd/bus.conf" ] || write_bus_conf "$_bd"
	"$@" dbus-daemon --config-file="$_bd/bus.conf" --nofork --nopidfile > "$_bd/log" 2>&1 &
	on_exit "kill $!"
	# The socket appears at bind(), a moment before the daemon listens: wait for an answer.
	wait_for 10 _bus_answers "unix:path=$_bd/bus.sock" || {
		cat "$_bd/log" >&2
		fail "the private bus in $_bd did not start"
	}
	BUS=unix:path=$_bd/bus.sock
}

_bus_answers() {
	DBUS_SYSTEM_BUS_ADDRESS=$1 dbus-send --system --print-reply --dest=org.freedesktop.DBus \
		/org/freedesktop/DBus org.freedesktop.DBus.GetId >/dev/null 2>&1
}

# build_option NAME: the value of meson option NAME in $BUILD.
build_option() {
	meson introspect "$BUILD" --buildoptions |
		python3 -c "import json,sys; print([o['value'] for o in json.load(sys.stdin) if o['name']=='$1'][0])"
}

# install_dir NAME: the absolute directory of meson's directory option NAME (a relative one is
# under the prefix).
install_dir() {
	_v=$(build_option "$1")
	case "$_v" in /*) echo "$_v" ;; *) echo "$(build_option prefix)/$_v" ;; esac
}

# upstream paths
UPSTREAM_PLUGIN_DIR=/usr/lib/x86_64-linux-gnu/mandos/plugins.d
UPSTREAM_LIB_DIR=/usr/lib/x86_64-linux-gnu/mandos

# silent_server PORT: a TCP server on [::1]:PORT that accepts every connection and never says
# anything (for the clients' deadlines); stopped at exit.
silent_server() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::1", int(sys.argv[1])))
s.listen(8)
conns = []
while True:
    conns.append(s.accept())' "$1" &
	on_exit "kill $!"
	wait_for_port "$1"
}
