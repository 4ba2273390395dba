#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The audit log's "interface" and "address" beyond loopback (issue 14): our server in one
# network namespace, protocol 2 requests from another over a veth pair, to the server's IPv6
# link-local address (the interface is the address's scope) and to its IPv4 address (the
# interface that holds the local address, on a dual-stack socket), and from the server's own
# namespace over loopback.  Root only (network namespaces).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/server-p2-lib.sh"
. "$(dirname "$0")/netns-lib.sh"
. "$(dirname "$0")/audit-lib.sh"

netns_pair
ip -n "$NS_A" addr add 192.0.2.1/24 dev "$IF_A"
ip -n "$NS_B" addr add 192.0.2.2/24 dev "$IF_B"
# Until duplicate address detection is done, a link-local address cannot be used.
settled() { # NS IF
	[ -z "$(ip -n "$1" -6 addr show dev "$2" scope link tentative)" ]
}
wait_for 10 settled "$NS_A" "$IF_A" || fail "the link-local address of $IF_A stays tentative"
wait_for 10 settled "$NS_B" "$IF_B" || fail "the link-local address of $IF_B stays tentative"
link_local() { # NS IF
	ip -n "$1" -6 addr show dev "$2" scope link | sed -n 's/.*inet6 \(fe80[^/]*\)\/.*/\1/p'
}
LL_A=$(link_local "$NS_A" "$IF_A")
LL_B=$(link_local "$NS_B" "$IF_B")
[ -n "$LL_A" ] && [ -n "$LL_B" ] || fail "no link-local addresses"

LOG=$T/audit.log
printf '[DEFAULT]\nsource_rate = 0\naudit_log = %s\nserver_name = ns-test\n' "$LOG" \
	> "$T/conf/mandos.conf"
p2_keys ok
{
	printf '[DEFAULT]\nchecker = true\ninterval = PT1H\n\n'
	p2_section ok
} > "$T/conf/clients.conf"
mkdir -p "$T/state"
chmod 777 "$T/state"
# All addresses (a dual-stack IPv6 socket), in namespace A.
ip netns exec "$NS_A" $VALGRIND "$MANDOS" --configdir "$T/conf" --statedir "$T/state" \
	--no-dbus --no-zeroconf --port "$PORT" --debug >> "$T/server.log" 2>&1 &
SERVER_PID=$!
on_exit "kill -9 $SERVER_PID"
wait_for 30 sh -c "ip netns exec $NS_A ss -Htln 'sport = :$PORT' | grep -q ." ||
	fail "the server does not listen: $(tail -n 20 "$T/server.log")"

# unlock_from NS ADDRESS: a protocol 2 unlock of ok from NS to [ADDRESS]:$PORT.
unlock_from() {
	ip netns exec "$1" "$P2_PROBE" --connect="[$2]:$PORT" \
		--tls-privkey="$T/p2-ok/tls-privkey.pem" --seal-key="$T/p2-ok/seal-privkey.pem" \
		--timeout=$((20 * SLOW)) > "$T/p2out-ok" 2> "$T/p2err-ok" ||
		fail "no unlock from $1 to $2: $(cat "$T/p2err-ok")"
	cmp -s "$T/p2out-ok" "$T/p2-ok/pw" || fail "wrong secret from $1 to $2"
}
unlock_from "$NS_B" "$LL_A%$IF_B"
audit_wait "$LOG" 1
audit_last "$LOG" decision=granted client=ok "address=$LL_B" "interface=$IF_A"
unlock_from "$NS_B" 192.0.2.1
audit_wait "$LOG" 2
audit_last "$LOG" decision=granted client=ok address=::ffff:192.0.2.2 "interface=$IF_A"
unlock_from "$NS_A" ::1
audit_wait "$LOG" 3
audit_last "$LOG" decision=granted client=ok address=::1 interface=lo
audit_check "$LOG" 3
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "the server exited with $?"
echo "audit log interfaces: $IF_A (link-local scope, IPv4 address), lo"
