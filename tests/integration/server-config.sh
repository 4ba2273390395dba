#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Command line and config files: --version, --check, usage errors (exit 2), a bad config file
# stops the start with FILE:LINE (never a crash), socket activation, --socket, sd_notify
# readiness, and daemon mode with a PID file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"

assert_eq "$($VALGRIND "$MANDOS" --version)" "$(version_line mandos)" "--version"
$VALGRIND "$MANDOS" --check 2>/dev/null || fail "--check failed"

rc=0
$VALGRIND "$MANDOS" --configdir "$T/conf" --no-zeroconf --no-dbus --debug 2>"$T/err" || rc=$?
assert_eq "$rc" 2 "exit status without port or socket"
assert_contains "$T/err" "Needs port or socket to work without Zeroconf"
rc=0
$VALGRIND "$MANDOS" --no-such-option 2>"$T/err" || rc=$?
assert_eq "$rc" 2 "exit status for an unknown option"

# expect_config_error LINE TEXT: the server refuses to start, naming clients.conf:LINE.
expect_config_error() {
	rc=0
	$VALGRIND "$MANDOS" --configdir "$T/conf" --statedir "$T/state" --no-zeroconf --no-dbus \
		--port "$PORT" --foreground 2>"$T/err" || rc=$?
	assert_eq "$rc" 78 "exit status for a bad clients.conf ($2)"
	assert_contains "$T/err" "$T/conf/clients.conf:$1: " "$2"
}
printf '[a]\nkey_id = %064d\nsecret = YQ==\ntimeout = 5\n' 1 > "$T/conf/clients.conf"
expect_config_error 4 "bare number as duration"
printf '[a]\nkey_id = %064d\n\nenabled = maybe\nsecret = YQ==\n' 1 > "$T/conf/clients.conf"
expect_config_error 4 "bad boolean"
printf '[a]\nkey_id = %064d\nprotocols = 1\n' 1 > "$T/conf/clients.conf"
expect_config_error 1 "no secret for protocol 1"
printf '[a]\nkey_id = %064d\nsecret = not base64!\n' 1 > "$T/conf/clients.conf"
expect_config_error 3 "bad base64"
printf '[a]\nkey_id = 12345\nsecret = YQ==\n' > "$T/conf/clients.conf"
expect_config_error 2 "short key_id"
printf '[a]\nkey_id = %064d\nsecret = YQ==\n[a]\n' 1 > "$T/conf/clients.conf"
expect_config_error 4 "duplicate section"
printf '[a]\nkey_id = %064d\nsecret = YQ==\nhost = %%(nothere)s\n' 1 > "$T/conf/clients.conf"
expect_config_error 4 "undefined interpolation"
# In daemon mode too, the error reaches the terminal and the exit status of the start.
rc=0
$VALGRIND "$MANDOS" --configdir "$T/conf" --statedir "$T/state" --no-zeroconf --no-dbus \
	--port "$PORT" --pidfile "$T/never.pid" 2>"$T/err" || rc=$?
assert_eq "$rc" 78 "exit status of a daemon start with a bad clients.conf"
assert_contains "$T/err" "$T/conf/clients.conf:4: "

new_keys sock
{
	printf '[DEFAULT]\nchecker = true\n\n'
	section sock
	# A section without key_id or fingerprint is skipped with an error, as upstream 1.8.17.
	printf '[nokey]\nsecret = YQ==\n\n'
	# secfile: raw bytes, with $VAR expansion.
	printf '[file]\nkey_id = %064d\nsecfile = $SECDIR/secret\n\n' 3
	# A checker sees the server's environment, but not systemd's notification socket.
	printf '[envcheck]\nkey_id = %064d\nsecret = YQ==\ninterval = PT1S\n' 4
	printf 'checker = env > %s/env/checker.env\n\n' "$T"
} > "$T/conf/clients.conf"
mkdir -m 777 "$T/env"
mkdir "$T/sec"
printf 'raw' > "$T/sec/secret"

# Socket activation (LISTEN_FDS) and sd_notify readiness.
cat > "$T/notify.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)  # the server sends after dropping privileges
s.settimeout(20)
while True:
    msg = s.recv(4096).decode()
    print(msg, flush=True)
    if "READY=1" in msg:
        break
PY
python3 "$T/notify.py" "$T/notify.sock" > "$T/notify.out" &
notify=$!
on_exit "kill $notify"
wait_for 5 test -S "$T/notify.sock"
# systemd-socket-activate starts the server at the first connection.
SECDIR="$T/sec" NOTIFY_SOCKET="$T/notify.sock" systemd-socket-activate -E SECDIR -E NOTIFY_SOCKET -l "[::1]:$PORT" \
	$VALGRIND "$MANDOS" --configdir "$T/conf" --statedir "$T/state" --no-dbus --no-zeroconf \
	--debug >"$T/server.log" 2>&1 &
SERVER_PID=$!
on_exit "kill -9 $SERVER_PID"
wait_for 10 _port_open "$PORT" || fail "systemd-socket-activate does not listen"
assert_unlocks sock
wait "$notify" || fail "no readiness notification"
assert_contains "$T/notify.out" "READY=1"
log_wait "Skipping client nokey without key_id or fingerprint"
wait_for 10 grep -q "^SECDIR=" "$T/env/checker.env" || fail "the checker did not run"
assert_not_contains "$T/env/checker.env" "NOTIFY_SOCKET" "a checker's environment"
assert_not_contains "$T/env/checker.env" "LISTEN_FDS" "a checker's environment"
stop_server

# --socket FD: an inherited listening socket (moved above stdio), in daemon mode with a PID
# file; the start command returns once the daemon serves.
PORT=$(random_port)
cat > "$T/withsocket.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_INET6)
s.bind(("::1", int(sys.argv[1])))
s.listen(16)
fd = os.dup2(s.fileno(), 1)  # stdout: the server must move it out of the way
os.set_inheritable(fd, True)
os.execvp(sys.argv[2], sys.argv[2:] + ["--socket", str(fd)])
PY
SECDIR="$T/sec" python3 "$T/withsocket.py" "$PORT" $VALGRIND "$MANDOS" --configdir "$T/conf" \
	--statedir "$T/state" --no-dbus --no-zeroconf --pidfile "$T/mandos.pid" 2>"$T/daemon.err" ||
	fail "the daemon did not start: $(cat "$T/daemon.err")"
pid=$(cat "$T/mandos.pid")
on_exit "kill -9 $pid"
kill -0 "$pid" || fail "the daemon is not running"
assert_unlocks sock
kill "$pid"
wait_for 10 sh -c "! kill -0 $pid" || fail "the daemon did not stop"
echo "options, config errors, socket activation, readiness and daemon mode work"
