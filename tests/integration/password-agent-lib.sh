# SPDX-License-Identifier: GPL-3.0-or-later
# Helpers for the password-agent tests (sourced after lib.sh): question files, listening
# sockets that record the datagram they get, fake Mandos clients.

PA=${PA:-$BUILD/dracut/password-agent/password-agent}
UPSTREAM_PA=/usr/lib/dracut/modules.d/90mandos/password-agent
ASKDIR=$T/ask
mkdir -p "$ASKDIR"
require_cmd python3

# The asker's side of the protocol: bind a datagram socket, print repr() of the first
# datagram (or NONE after the timeout) into OUT, then exit.  An optional delay before binding
# shows the agent's retries.
cat >"$T/listen.py" <<'PY'
import os, socket, sys, time
path, out, timeout, delay = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
time.sleep(delay)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(timeout)
try:
    got = repr(s.recv(1 << 20))
except socket.timeout:
    got = "NONE"
with open(out + ".tmp", "w") as f:
    f.write(got + "\n")
os.rename(out + ".tmp", out)
PY

# listen NAME [TIMEOUT] [DELAY]: a listener on $T/NAME.sock in the background; the result
# lands in $T/NAME.out.  Without a delay, returns once the socket exists.
listen() {
	python3 "$T/listen.py" "$T/$1.sock" "$T/$1.out" "${2:-10}" "${3:-0}" &
	on_exit "kill $! 2>/dev/null"
	if [ "${3:-0}" = 0 ]; then
		wait_for 10 test -S "$T/$1.sock" || fail "listener $1 did not start"
	fi
}

# received NAME: wait for listener NAME to finish and print what it got.
received() {
	wait_for 30 test -e "$T/$1.out" || fail "listener $1 never finished"
	cat "$T/$1.out"
}

# mono_usec: CLOCK_MONOTONIC now, in microseconds (the NotAfter= clock).
mono_usec() {
	python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)'
}

# ask NAME [NOTAFTER [PID]]: put question ask.NAME for socket $T/NAME.sock in $ASKDIR, written
# elsewhere and renamed in, as systemd does.  PID defaults to this shell (alive).
ask() {
	printf '[Ask]\nPID=%s\nSocket=%s\nAcceptCached=1\nEcho=0\nNotAfter=%s\nMessage=%s\n' \
		"${3:-$$}" "$T/$1.sock" "${2:-0}" "Please enter passphrase for disk $1" \
		>"$T/ask.$1.tmp"
	mv "$T/ask.$1.tmp" "$ASKDIR/ask.$1"
}

# dead_pid: a process ID that no longer exists.
dead_pid() {
	sh -c 'exit 0' &
	_p=$!
	wait "$_p" || true
	echo "$_p"
}

# fake_client NAME BODY: an executable shell script $T/NAME with BODY.  "sh -p" keeps the
# effective user ID, as a real setuid client would.
fake_client() {
	printf '#!/bin/sh -p\n%s\n' "$2" >"$T/$1"
	chmod 755 "$T/$1"
}

# now_ms: wall clock in milliseconds, for elapsed times.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# no_answer NAME: after the agent has exited, show that listener NAME got nothing from it.  A
# datagram the agent sent would already be queued, so a sentinel sent now arrives second.
no_answer() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    s.sendto(b"NONE", sys.argv[1])
except (ConnectionRefusedError, FileNotFoundError):
    pass  # the listener already got a datagram and is gone' "$T/$1.sock"
	assert_eq "$(received "$1")" "b'NONE'" "answer to question $1"
}

# run_agent PROGRAM ARGS...: run an agent (ours unless PROGRAM says otherwise) in the
# foreground; sets $rc, stderr goes to $T/agent.err.
run_agent() {
	_prog=$1
	shift
	set +e
	if [ "$_prog" = "$PA" ]; then
		timeout 60 $VALGRIND "$_prog" "$@" 2>"$T/agent.err"
	else
		timeout 60 "$_prog" "$@" 2>"$T/agent.err"
	fi
	rc=$?
	set -e
	cat "$T/agent.err" >&2
}
