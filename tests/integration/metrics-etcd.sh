#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The etcd gauges and counters of the metrics endpoint (state_backend = etcd): up and synced
# with a quorum, down (0, the quorum's age past etcd_max_staleness, failed requests counted,
# protocol 2 requests counted as unavailable) with the only member killed, up again after.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/server-p2-lib.sh"
. "$(dirname "$0")/etcd-lib.sh"
. "$(dirname "$0")/metrics-lib.sh"

STALENESS=$((3 * SLOW))
MADDR=127.0.0.1:$(random_port)
etcd_cluster_start 1
{
	printf '[DEFAULT]\nsource_rate = 0\nstate_backend = etcd\netcd_endpoints = %s\n' \
		"$ETCD_ENDPOINTS"
	printf 'etcd_prefix = /mandos-metrics-test/\netcd_max_staleness = PT%sS\n' "$STALENESS"
	printf 'metrics_address = %s\n' "$MADDR"
} > "$T/conf/mandos.conf"
p2_keys c
{
	printf '[DEFAULT]\nchecker = true\n\n'
	p2_section c
} > "$T/conf/clients.conf"
start_server

assert_families mandos_etcd_up:gauge mandos_etcd_synced:gauge \
	mandos_etcd_last_quorum_age_seconds:gauge mandos_etcd_request_failures_total:counter \
	mandos_etcd_conflicts_total:counter
wait_value mandos_etcd_synced 1
wait_value mandos_etcd_up 1
assert_p2_unlocks c
failed=$(value mandos_etcd_request_failures_total)

# No quorum: down, and every request refused as unavailable.
etcd_member_kill 1
wait_value mandos_etcd_up 0 $((STALENESS + 20))
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' \
	"$(value mandos_etcd_last_quorum_age_seconds)" "$STALENESS" ||
	fail "quorum age $(value mandos_etcd_last_quorum_age_seconds) below $STALENESS s while down"
[ "$(value mandos_etcd_request_failures_total)" -gt "$failed" ] ||
	fail "no failed etcd request counted while etcd was down"
p2_unlock c || true
assert_contains "$T/p2err-c" "RESULT code=6 flags=0 value=10"
wait_value 'mandos_unlocks_total{protocol="2",result="unavailable"}' 1

# Back.
etcd_member_start 1
wait_value mandos_etcd_up 1 30
assert_p2_unlocks c
wait_value 'mandos_unlocks_total{protocol="2",result="granted"}' 2
stop_server
echo "etcd metrics: up and synced, down without a quorum (unavailable counted), up again"
