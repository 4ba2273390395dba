#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Every negative case of spec/protocol-2.md §A.12.4 against our running server: it closes with
# nothing sent after the faulty step (no ServerHello for the line and hello cases, no
# DataMessage after ServerHello for the others), for a fault and not by its deadline (the
# stalls excepted), and a normal unlock right after still works.  unknown-client and
# foreign-kid are answered (SERVER_AUTH, then RESULT UNKNOWN_CLIENT / NO_MATERIAL).  The escrow
# cases of §B.6.3 ("Server") again with a kid the client really has: closed all the same,
# and nothing evaluated or released.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/server-p2-lib.sh"

# Many connections from one source in a row: no rate limit here (server-ratelimit's matter).
# The stalls wait for the connection timeout: a short one.
TIMEOUT=$((3 * SLOW))
printf '[DEFAULT]\nsource_rate = 0\nconnection_timeout = PT%sS\n' "$TIMEOUT" > "$T/conf/mandos.conf"
p2_keys good
p2_escrow good one
{
	printf '[DEFAULT]\nchecker = true\n\n'
	p2_section good "escrow_key = $(p2_S good one)"
} > "$T/conf/clients.conf"
start_server
log_wait "Protocol 2 server key ID: $P2_SERVER_KEY_ID"
assert_p2_unlocks good

# probe_case CASE: the server closes with nothing sent after the fault; by its deadline for
# the stalls, at once for the others (the log then has no new time-out line).
probe_case() {
	_timeouts=$(grep -c "timed out" "$T/server.log" || true)
	"$P2_PROBE" --connect="[::1]:$PORT" --tls-privkey="$T/p2-good/tls-privkey.pem" \
		--timeout=$((TIMEOUT + 10 * SLOW)) --case="$@" > "$T/case.out" 2>&1 || {
		cat "$T/case.out" >&2
		tail -n 20 "$T/server.log" >&2
		fail "case $1: the server sent something after the faulty step, or did not close"
	}
	case $1 in
	stall-*)
		wait_for 5 sh -c "[ \$(grep -c 'timed out' '$T/server.log') -gt ${_timeouts:-0} ]" ||
			fail "case $1: closed, but not by the deadline"
		;;
	*)
		[ "$(grep -c "timed out" "$T/server.log" || true)" = "${_timeouts:-0}" ] || {
			tail -n 5 "$T/server.log" >&2
			fail "case $1: the server waited for its deadline instead of closing"
		}
		;;
	esac
	cat "$T/case.out"
	assert_p2_unlocks good
}

for c in line-lf line-extra line-3 line-long magic-wrong magic-tomsg kx-zero stall-hello \
	stall-auth ch2-magic dm-magic n-small n-large flip-bit tag-push tag-rekey final-payload \
	final-empty ver-2 type-9 n-9 len-plus1 len-minus1 sig-otherkey sig-otherth dup-auth \
	half-close x-zero x-ff x-topbit x-noncanonical escrow-flag-n0 items-without-flag dup-kid; do
	probe_case "$c"
done
# The line cases are refused as unknown versions; the others give the reason at INFO.
assert_contains "$T/server.log" "Unknown protocol version: 2 x"
assert_contains "$T/server.log" "Unknown protocol version: 3"
assert_contains "$T/server.log" "closed: wrong ClientHello magic"
assert_contains "$T/server.log" "closed: bad signature"

# §B.6.3: the escrow cases with good's real kid first: closed before SERVER_AUTH all the same,
# never evaluated (no escrow release of good among the releases so far).
for c in x-zero x-ff x-topbit x-noncanonical dup-kid n-9 escrow-flag-n0 items-without-flag; do
	probe_case "$c" --escrow-kid="$(p2_kid good one)"
done
assert_not_contains "$T/server.log" "Sending secret to good (protocol 2: sealed, escrow"
assert_not_contains "$T/server.log" "Sending secret to good (protocol 2: escrow"
assert_contains "$T/server.log" "closed: duplicate kid"
# ... and the same kid with a good x is answered and evaluated.
assert_p2_escrow_unlocks good one
log_wait "Sending secret to good (protocol 2: escrow ×1)"

# Answered: an unknown key (after SERVER_AUTH, with ClientNotFound's log line), and a known
# key asking only for an escrow kid the server does not have.
"$P2_PROBE" --connect="[::1]:$PORT" --case=unknown-client --timeout=$((10 * SLOW)) \
	> "$T/unknown.out" 2>&1 || { cat "$T/unknown.out" >&2; fail "unknown-client not answered"; }
assert_contains "$T/unknown.out" "SERVER key ID $P2_SERVER_KEY_ID"
assert_contains "$T/unknown.out" "RESULT code=1 "
log_wait "Client not found for key ID: "
"$P2_PROBE" --connect="[::1]:$PORT" --tls-privkey="$T/p2-good/tls-privkey.pem" \
	--case=foreign-kid --timeout=$((10 * SLOW)) > "$T/kid.out" 2>&1 ||
	{ cat "$T/kid.out" >&2; fail "foreign-kid not answered"; }
assert_contains "$T/kid.out" "SERVER key ID $P2_SERVER_KEY_ID"
assert_contains "$T/kid.out" "RESULT code=5 "
assert_p2_unlocks good
kill -0 "$SERVER_PID" || fail "the server died"
stop_server
echo "every negative case closes with nothing sent (the escrow ones with a real kid too); unknown-client and foreign-kid are answered"
