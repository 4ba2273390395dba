#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Both protocols on one port at the same time (spec/protocol-2.md §A.1): while protocol 2
# requests wait for approval and unlock, upstream's mandos-client and ours unlock over
# protocol 1 from the same server, and a section serves one key over both protocols.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/server-p2-lib.sh"
OUR_CLIENT="$BUILD/plugins.d/mandos-client/mandos-client"
require_cmd "$OUR_CLIENT"

printf '[DEFAULT]\nsource_rate = 0\n' > "$T/conf/mandos.conf"
new_keys up
new_keys ours
p2_keys waiter
p2_keys quick
{
	printf '[DEFAULT]\nchecker = true\n\n'
	section up
	section ours
	p2_section waiter "approval_delay = PT3S" "approved_by_default = True"
	p2_section quick
} > "$T/conf/clients.conf"
start_server

# unlock_ours NAME: our mandos-client over protocol 1 (it has no protocol 2 material here).
unlock_ours() {
	_d="$T/keys-$1"
	timeout $((15 * SLOW)) "$OUR_CLIENT" --connect="[::1]:$PORT" --interface=none \
		--network-hook-dir="$T/hooks" --pubkey="$_d/pubkey.txt" --seckey="$_d/seckey.txt" \
		--tls-pubkey="$_d/tls-pubkey.pem" --tls-privkey="$_d/tls-privkey.pem" \
		>"$T/out-$1" 2>"$T/err-$1"
}

# A protocol 2 request waits for approval while everything else comes and goes.
p2_unlock waiter &
WAITER=$!
on_exit "kill_job $WAITER"
log_wait "Client waiter needs approval"
pids=""
for round in 1 2 3; do
	unlock up &
	pids="$pids $!"
	unlock_ours ours &
	pids="$pids $!"
	cp -r "$T/p2-quick" "$T/p2-quick$round"
	p2_unlock "quick$round" &
	pids="$pids $!"
done
for p in $pids; do
	wait "$p" || {
		tail -n 20 "$T/err-up" "$T/err-ours" "$T/p2err-quick1" "$T/server.log" >&2
		fail "an unlock failed while protocol 2 waited for approval"
	}
done
cmp -s "$T/out-up" "$T/keys-up/pw" || fail "upstream's client got the wrong secret"
cmp -s "$T/out-ours" "$T/keys-ours/pw" || fail "our client got the wrong secret"
for round in 1 2 3; do
	cmp -s "$T/p2out-quick$round" "$T/p2-quick/pw" || fail "protocol 2 got the wrong secret"
done
assert_not_contains "$T/server.log" "Sending secret to waiter"
wait "$WAITER" || fail "the waiting protocol 2 request failed"
cmp -s "$T/p2out-waiter" "$T/p2-waiter/pw" || fail "waiter got the wrong secret"
assert_contains "$T/p2err-waiter" "STATUS code=1 flags=1 value=3"
log_wait "Sending secret to waiter (protocol 2: sealed)"
[ "$(grep -c 'Sending secret to up$' "$T/server.log")" -eq 3 ] ||
	fail "not three protocol 1 releases to up"
stop_server
echo "protocol 1 (upstream's client and ours) and protocol 2 share the port"
