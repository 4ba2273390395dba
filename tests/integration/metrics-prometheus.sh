#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# A real Prometheus (Debian's) scrapes our server's metrics endpoint every second; after
# unlocks over protocol 1 (upstream's mandos-client and ours) and protocol 2 (ours), the unlock
# counters read back through Prometheus's HTTP API equal the unlocks done.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/server-p2-lib.sh"
OUR_CLIENT="$BUILD/plugins.d/mandos-client/mandos-client"
TOOL="$SRC/tests/integration/metrics-tool.py"
require_cmd prometheus python3 "$OUR_CLIENT"

MPORT=$(random_port)
PPORT=$(random_port)
printf '[DEFAULT]\nsource_rate = 0\nmetrics_address = 127.0.0.1:%s\n' "$MPORT" \
	> "$T/conf/mandos.conf"
new_keys up
new_keys ours
p2_keys two
openssl pkey -in "$T/p2-two/tls-privkey.pem" -pubout -out "$T/p2-two/tls-pubkey.pem" ||
	fail "openssl pkey -pubout failed"
{
	printf '[DEFAULT]\nchecker = true\n\n'
	section up
	section ours
	p2_section two
} > "$T/conf/clients.conf"
start_server

# Prometheus, with its own storage, scraping us every second.
mkdir -p "$T/prom"
cat > "$T/prom/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: mandos
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
YML
prometheus --config.file="$T/prom/prometheus.yml" --storage.tsdb.path="$T/prom/data" \
	--web.listen-address="127.0.0.1:$PPORT" > "$T/prom/log" 2>&1 &
PROM_PID=$!
on_exit "kill -9 $PROM_PID"
PROM="http://127.0.0.1:$PPORT"

# prom_is EXPR VALUE: Prometheus answers VALUE for EXPR now.
prom_is() {
	[ "$(python3 "$TOOL" query "$PROM" "$1")" = "$2" ]
}
# prom_wait EXPR VALUE: wait until it does (the next scrapes catch up), then compare.
prom_wait() {
	wait_for 60 prom_is "$1" "$2" || true
	assert_eq "$(python3 "$TOOL" query "$PROM" "$1")" "$2" "$1 through Prometheus"
}

prom_wait 'up{job="mandos"}' 1
prom_wait 'sum(mandos_unlocks_total)' 0

# unlock_ours NAME: our mandos-client over protocol 1.
unlock_ours() {
	_d="$T/keys-$1"
	timeout $((15 * SLOW)) "$OUR_CLIENT" --connect="[::1]:$PORT" --interface=none \
		--network-hook-dir="$T/hooks" --retry=1 --pubkey="$_d/pubkey.txt" \
		--seckey="$_d/seckey.txt" --tls-pubkey="$_d/tls-pubkey.pem" \
		--tls-privkey="$_d/tls-privkey.pem" >"$T/out-$1" 2>"$T/err-$1" || {
		tail -n 20 "$T/err-$1" "$T/server.log" >&2
		fail "our client did not unlock $1"
	}
	cmp -s "$T/out-$1" "$T/keys-$1/pw" || fail "our client got the wrong secret for $1"
}
# unlock_p2 NAME: our mandos-client over protocol 2 (a sealed secret).
unlock_p2() {
	_d="$T/p2-$1"
	timeout $((15 * SLOW)) "$OUR_CLIENT" --connect="[::1]:$PORT" --interface=none \
		--network-hook-dir="$T/hooks" --retry=1 --tls-pubkey="$_d/tls-pubkey.pem" \
		--tls-privkey="$_d/tls-privkey.pem" --seal-key="$_d/seal-privkey.pem" \
		--server-pins="$_d/server-pins" --servers-seen="$_d/seen" \
		>"$T/p2out-$1" 2>"$T/p2err-$1" || {
		tail -n 20 "$T/p2err-$1" "$T/server.log" >&2
		fail "our client did not unlock $1 over protocol 2"
	}
	cmp -s "$T/p2out-$1" "$_d/pw" || fail "protocol 2 gave the wrong secret for $1"
}

assert_unlocks up
assert_unlocks up
unlock_ours ours
unlock_p2 two
unlock_p2 two
unlock_p2 two
# A refusal counts too, under its own result.
new_keys stranger
assert_refused stranger

prom_wait 'mandos_unlocks_total{protocol="1",result="granted"}' 3
prom_wait 'mandos_unlocks_total{protocol="2",result="granted"}' 3
# (The client retries every second: one refusal or more.)
prom_wait 'mandos_unlocks_total{protocol="1",result="unknown_client"} > bool 0' 1
prom_wait 'sum(mandos_unlocks_total{result="granted"})' 6
prom_wait 'mandos_unlock_duration_seconds_count{protocol="2"}' 3
prom_wait 'mandos_clients{state="enabled"}' 3
stop_server
echo "Prometheus read back the unlock counters: 3 + 3 granted, an unknown client"
