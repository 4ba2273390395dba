#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The metrics endpoint scraped directly: the text format (HELP and TYPE for every family,
# monotonic histogram buckets), the counts of unlocks, refusals, handshake failures, checker
# runs, clients and pending approvals; 404, 405 and 431; at most 4 scrapers (a 5th is closed)
# and idle ones cut at the 5 s deadline while unlocks go on; a Unix socket endpoint; and off by
# default (nothing more listens).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/server-p2-lib.sh"
. "$(dirname "$0")/metrics-lib.sh"
require_cmd ss

MPORT=$(random_port)
MADDR=127.0.0.1:$MPORT
conf() {
	printf '[DEFAULT]\nsource_rate = 0\nsource_connections = 2\n%s\n' "$1" > "$T/conf/mandos.conf"
}
conf "metrics_address = $MADDR"
new_keys good
p2_keys two
p2_keys waiter
p2_keys nobody
{
	printf '[DEFAULT]\nchecker = true\ninterval = PT1S\n\n'
	section good
	printf '[fails]\nkey_id = %064d\nsecret = ZmFpbHM=\nchecker = exit 3\n\n' 1
	# Its shell kills itself: a checker killed by a signal.
	printf '[killed]\nkey_id = %064d\nsecret = a2lsbGVk\nchecker = kill -9 $$\n\n' 2
	p2_section two
	p2_section waiter "approval_delay = PT1M" "approved_by_default = False"
} > "$T/conf/clients.conf"
start_server

# The format, and every family of the manual.
assert_families mandos_unlocks_total:counter mandos_unlock_duration_seconds:histogram \
	mandos_connections_open:gauge mandos_connections_total:counter \
	mandos_connections_refused_total:counter mandos_handshake_failures_total:counter \
	mandos_checker_runs_total:counter mandos_clients:gauge mandos_approvals_pending:gauge \
	mandos_metrics_scrapes_total:counter mandos_metrics_scrapers_refused_total:counter
assert_not_contains "$T/metrics" "mandos_etcd_" "the file backend's metrics"

# Unlocks and refusals, each under its result.
assert_unlocks good
assert_p2_unlocks two
p2_unlock nobody || true
assert_contains "$T/p2err-nobody" "RESULT "
scrape
python3 "$TOOL" check "$T/metrics" || fail "bad exposition format after unlocks"
assert_eq "$(value 'mandos_unlocks_total{protocol="1",result="granted"}')" 1 "protocol 1 grants"
assert_eq "$(value 'mandos_unlocks_total{protocol="2",result="granted"}')" 1 "protocol 2 grants"
assert_eq "$(value 'mandos_unlocks_total{protocol="2",result="unknown_client"}')" 1 \
	"protocol 2 unknown clients"
assert_eq "$(value 'mandos_unlock_duration_seconds_count{protocol="2"}')" 2 \
	"protocol 2 latencies"
assert_eq "$(value mandos_connections_total)" 3 "connections admitted"
wait_value mandos_connections_open 0

# Handshakes that fail, in each protocol.
python3 "$TOOL" garbage "[::1]:$PORT" 1
python3 "$TOOL" garbage "[::1]:$PORT" 2
wait_value 'mandos_handshake_failures_total{protocol="1"}' 1
wait_value 'mandos_handshake_failures_total{protocol="2"}' 1

# A source with source_connections (2) unauthenticated connections has the next one closed.
python3 "$TOOL" hold 2 "[::1]:$PORT" > "$T/hold-main" &
HOLD_MAIN=$!
on_exit "kill $HOLD_MAIN"
wait_for 10 grep -q ready "$T/hold-main" || fail "cannot open 2 connections"
wait_value mandos_connections_open 2
assert_eq "$(python3 "$TOOL" refused "[::1]:$PORT")" closed "a third connection from ::1"
kill "$HOLD_MAIN"
wait "$HOLD_MAIN" || true
wait_value 'mandos_connections_refused_total{reason="source"}' 1
assert_eq "$(value 'mandos_connections_refused_total{reason="rate"}')" 0 "rate refusals"

# Checker runs by result; a client whose first checker does not succeed is disabled one
# interval later.
log_wait "Checker for good succeeded"
log_wait "Checker for fails failed"
log_wait "Checker for killed crashed?"
log_wait "Disabling client fails"
log_wait "Disabling client killed"
scrape
for r in success failure killed; do
	[ "$(value "mandos_checker_runs_total{result=\"$r\"}")" -ge 1 ] ||
		fail "no checker run counted as $r"
done
assert_eq "$(value 'mandos_clients{state="enabled"}')" 3 "enabled clients"
assert_eq "$(value 'mandos_clients{state="disabled"}')" 2 "disabled clients"

# A request waiting for approval.
p2_unlock waiter &
WAITER=$!
on_exit "kill_job $WAITER"
log_wait "Client waiter needs approval"
wait_value mandos_approvals_pending 1
kill_job "$WAITER"
wait_value mandos_approvals_pending 0

# Other paths and methods, and a request too large.
python3 "$TOOL" get "$MADDR" /other > "$T/other"
assert_eq "$(head -n 1 "$T/other")" 404 "GET /other"
python3 "$TOOL" get "$MADDR" /metrics POST > "$T/post"
assert_eq "$(head -n 1 "$T/post")" 405 "POST /metrics"
assert_eq "$(python3 "$TOOL" big "$MADDR")" 431 "a 9000-byte request"

# Four idle scrapers: a fifth is closed at once, unlocks still work, and the idle ones are
# closed at the deadline (5 s after accept).
before=$(value mandos_metrics_scrapers_refused_total)
python3 "$TOOL" hold 4 "$MADDR" > "$T/hold" &
HOLD=$!
on_exit "kill $HOLD"
wait_for 10 grep -q ready "$T/hold" || fail "cannot open 4 scrapers"
assert_eq "$(python3 "$TOOL" refused "$MADDR")" closed "a fifth scraper"
# (The quickest unlock: it must be done well within the 5 s of the idle scrapers.)
assert_p2_unlocks two
assert_not_contains "$T/hold" closed "idle scrapers (closed before the unlock was done)"
wait_for 30 grep -q closed "$T/hold" || fail "idle scrapers were never closed"
wait "$HOLD" || fail "an idle scraper got an answer"
held=$(sed -n 's/^closed //p' "$T/hold")
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 4.5 else 1)" "$held" ||
	fail "idle scrapers closed after $held s, before the 5 s deadline"
scrape
assert_eq "$(value mandos_metrics_scrapers_refused_total)" $((before + 1)) "refused scrapers"
stop_server

# A bad address is a configuration error with its line.
conf "metrics_address = 0.0.0.0:$MPORT"
rc=0
"$MANDOS" --configdir "$T/conf" --statedir "$T/state" --no-dbus --no-zeroconf --foreground \
	--port "$PORT" > "$T/bad.log" 2>&1 || rc=$?
assert_eq "$rc" 78 "exit status with a non-loopback metrics_address"
assert_contains "$T/bad.log" "mandos.conf:4: metrics_address"

# A Unix socket, in a directory only root may write (bound before the privilege drop); a stale
# socket left there is replaced at the next start.
mkdir -p "$T/run"
chmod 755 "$T/run"
conf "metrics_address = $T/run/metrics.sock"
start_server
scrape "$T/run/metrics.sock"
python3 "$TOOL" check "$T/metrics" || fail "bad exposition format on the Unix socket"
assert_eq "$(value mandos_connections_open)" 0 "open connections (Unix socket endpoint)"
python3 "$TOOL" get "$T/run/metrics.sock" /nothing > "$T/other"
assert_eq "$(head -n 1 "$T/other")" 404 "GET /nothing on the Unix socket"
stop_server
[ -S "$T/run/metrics.sock" ] || python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/run/metrics.sock"
start_server
scrape "$T/run/metrics.sock"
stop_server

# Off by default: the server listens on its port and nothing else.
conf ""
start_server
assert_eq "$(ss -Htlnp | grep -c "pid=$SERVER_PID,")" 1 "TCP ports the server listens on"
assert_eq "$(ss -Hxlp | grep -c "pid=$SERVER_PID,")" 0 "Unix sockets the server listens on"
! python3 "$TOOL" get "$MADDR" /metrics > /dev/null 2>&1 || fail "metrics served when off"
stop_server
echo "metrics endpoint: format, counts, errors, bounds, deadline, Unix socket and off by default"
