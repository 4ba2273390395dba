#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# A 2-of-3 threshold across three of our servers, each with its own server key and only its
# share's escrow_key: any two unlock and one does not; a forged evaluation fails only its
# share; a share from a server it does not name, or twice from one server, counts for nothing;
# a denial counts as down; the secret ends the other sessions with FINAL; --server and the
# share address hints are candidates besides Zeroconf's.
#
# It runs in a network namespace of its own (only loopback): the servers listen on every
# address there, and the client's Zeroconf browsing (without --connect) reaches nothing else.
if [ -z "${MANDOS_TEST_NETNS:-}" ] && [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
	MANDOS_TEST_NETNS=1 exec unshare -n "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
require_root
[ -n "${MANDOS_TEST_NETNS:-}" ] || skip "needs unshare -n"
ip link set lo up
. "$(dirname "$0")/client-lib.sh"
. "$(dirname "$0")/escrow-lib.sh"
require_cmd dbus-daemon

FILE=escrow-2of3-test.conf
SERVER_ADDRESS=::
start_bus
new_server 1
new_server 2
new_server 3 True
DEAD=$(random_port)
K1=$(srv_key_id 1) K2=$(srv_key_id 2) K3=$(srv_key_id 3)
P1=$(srv_port 1) P2=$(srv_port 2) P3=$(srv_port 3)

# t: the threshold client; the three servers pinned, as mandos-keygen --threshold does.
identity "$T/t"
printf 'threshold secret\n' >"$T/t/pw"
"$ENROL" "$T/t/tls-pubkey.pem" "$T/t/escrow/$FILE" 2 3 "$K1" "$K2" "$K3" \
	<"$T/t/pw" >"$T/t/S" || fail "enrol t"
printf '%s\n%s\n%s\n' "$K1" "$K2" "$K3" >"$T/t/server-pins"
# h: address hints for share 1 (server 1) and share 2 (a port where nothing listens).
identity "$T/h"
printf 'hinted secret\n' >"$T/h/pw"
"$ENROL" "$T/h/tls-pubkey.pem" "$T/h/escrow/$FILE" 2 3 "$K1@[::1]:$P1" \
	"$K2@127.0.0.1:$DEAD" "$K3" <"$T/h/pw" >"$T/h/S" || fail "enrol h"
# x: a data box that does not open (a corrupt binding), shares fine.
identity "$T/x"
printf 'corrupt secret\n' >"$T/x/pw"
"$ENROL" -x "$T/x/tls-pubkey.pem" "$T/x/escrow/$FILE" 2 3 "$K1" "$K2" "$K3" \
	<"$T/x/pw" >"$T/x/S" || fail "enrol x"
for i in 1 2 3; do
	for n in t h x; do
		escrow_section "$i" "$n" "$(sed -n "${i}p" "$T/$n/S")"
	done
	start_server "$i"
done

# unlocks NAME ARGS...: NAME's client prints its password and exits 0.
unlocks() {
	_n=$1
	shift
	mc "$_n" "$@" >"$T/out-$_n" 2>"$T/err-$_n" || fail "$_n $*: no unlock: $(tail -n 5 "$T/err-$_n")"
	cmp -s "$T/out-$_n" "$T/$_n/pw" || fail "$_n $*: wrong password"
}
# waits NAME LINE ARGS...: NAME's client prints LINE, still running, nothing on stdout.
waits() {
	_n=$1 _l=$2
	shift 2
	rm -f "$T/err-$_n"
	run_until 1 "$_l" "$T/err-$_n" "$T/out-$_n" "$T/err-$_n" mc "$_n" "$@"
	[ ! -s "$T/out-$_n" ] || fail "$_n: printed something"
}

# 1. All three up: two shares, the secret; the console says so.
unlocks t $(connect 1 2 3)
assert_contains "$T/err-t" "threshold $FILE: need 2 of 3 shares"
assert_contains "$T/err-t" "threshold $FILE: 2 of 2 shares, secret recovered"
grep -qE "threshold $FILE: share [123] opened, from server ($K1|$K2|$K3) \(1 of 2\)" "$T/err-t" ||
	fail "no first share line: $(cat "$T/err-t")"
grep -qE "threshold $FILE: share [123] opened, from server ($K1|$K2|$K3) \(2 of 2\)" "$T/err-t" ||
	fail "no second share line"
grep -q "Sending secret to t (protocol 2: escrow" "$T/srv1/log" "$T/srv2/log" "$T/srv3/log" ||
	fail "no server released an escrow answer"

# 2. Any two up (the third one's port has nothing behind it).  Each server that answers is
# named with its pinned key (§A.4.3), also in threshold mode.
unlocks t $(connect 1 2) --connect="[::1]:$DEAD"
assert_contains "$T/err-t" "server [::1]:$P1: key ID $K1 (pinned)"
assert_contains "$T/err-t" "server [::1]:$P2: key ID $K2 (pinned)"
assert_contains "$T/err-t" "threshold $FILE: share 1 opened, from server $K1 ("
assert_contains "$T/err-t" "threshold $FILE: share 2 opened, from server $K2 ("
unlocks t $(connect 1 3) --connect="[::1]:$DEAD"
assert_contains "$T/err-t" "threshold $FILE: share 3 opened, from server $K3"
unlocks t --connect="[::1]:$DEAD" $(connect 3 2)
assert_contains "$T/err-t" "threshold $FILE: share 2 opened, from server $K2"
assert_contains "$T/err-t" "threshold $FILE: share 3 opened, from server $K3"

# 3. One up: one share, never the secret; the servers that are down are named.  The same server twice (over IPv6 and IPv4) is still
# one share.
# Two retry rounds, to see that a server that is down is named once.
rm -f "$T/err-t"
run_until 2 "threshold $FILE: 1 of 2 shares; waiting for more servers" "$T/err-t" "$T/out-t" \
	"$T/err-t" mc t $(connect 1) --connect="[::1]:$DEAD" --connect="127.0.0.1:$DEAD"
[ ! -s "$T/out-t" ] || fail "t: printed something"
assert_contains "$T/err-t" "threshold $FILE: share 1 opened, from server $K1 (1 of 2)"
# A server that is down is a share's state too (§B.4.3): named once, not in every round.
assert_contains "$T/err-t" "server [::1]:$DEAD: not reachable (Connection refused); trying again later"
assert_eq "$(grep -c "server 127.0.0.1:$DEAD: not reachable" "$T/err-t")" 1 \
	"lines for the server that is down"
before=$(grep -c "Sending secret to t" "$T/srv2/log")
waits t "threshold $FILE: 1 of 2 shares; waiting for more servers" $(connect 2) \
	--connect="127.0.0.1:$P2"
assert_not_contains "$T/err-t" "(2 of 2)"
[ "$(grep -c "Sending secret to t" "$T/srv2/log")" -ge $((before + 2)) ] ||
	fail "not two sessions with server 2"

# 4. A corrupt binding: the shares open, the data box does not; the client carries on.
waits x "threshold $FILE: the shares do not reconstruct the secret (binding corrupt?)" \
	$(connect 1 2 3)
assert_not_contains "$T/err-x" "secret recovered"

# 5. The share address hints and --server, without --connect (Zeroconf finds nothing here):
# the hints reach server 1 only (share 2's points nowhere); --server adds server 3.
waits h "threshold $FILE: 1 of 2 shares; waiting for more servers"
assert_contains "$T/err-h" "threshold $FILE: share 1 opened, from server $K1 (1 of 2)"
unlocks h --server="[::1]:$P3"
assert_contains "$T/err-h" "threshold $FILE: share 3 opened, from server $K3"
rc=0
mc h --server="[::1]:$P3" --connect="[::1]:$P1" >"$T/out" 2>"$T/err" || rc=$?
assert_eq "$rc" 64 "--server with --connect"

# 6. A forged evaluation from server 2 (a valid point, the wrong scalar) fails that share only:
# with server 3 up later, the secret comes from 1 and 3, and it is the right one.
stop_server 2
stop_server 3
test_server 2 escrow wrong "$(sed -n 2p "$T/t/S")"
mc t $(connect 1 2 3) >"$T/out-t" 2>"$T/err-t" &
client=$!
on_exit "kill $client"
wait_for 30 grep -qF "server [::1]:$P2: its answer for $FILE (share 2) does not open (wrong escrow key?)" \
	"$T/err-t" || fail "no forged-share line: $(tail -n 5 "$T/err-t")"
wait_for 30 grep -qF "threshold $FILE: 1 of 2 shares; waiting for more servers" "$T/err-t" ||
	fail "no waiting line: $(tail -n 5 "$T/err-t")"
start_server 3
wait "$client" || fail "no unlock after the forged share: $(tail -n 5 "$T/err-t")"
cmp -s "$T/out-t" "$T/t/pw" || fail "wrong password after a forged share"
assert_contains "$T/err-t" "threshold $FILE: share 3 opened, from server $K3 (2 of 2)"
# A random point instead of an evaluation, with all three up at once: the right password.
stop_server 2
test_server 2 escrow garbage "$(sed -n 2p "$T/t/S")"
unlocks t $(connect 1 2 3)
assert_not_contains "$T/err-t" "share 2 opened"
# A good evaluation from a server that holds share 2's scalar but is not named in it.
stop_server 2
mv "$T/srv2/conf/server-key.pem" "$T/srv2/server-key.pem.real"
cp "$T/srv1/conf/server-key.pem" "$T/srv2/conf/server-key.pem"
test_server 2 escrow good "$(sed -n 2p "$T/t/S")"
waits t "server [::1]:$P2: ignoring its answer for $FILE (a share): server key ID $K1 is not named there" \
	$(connect 2)
stop_server 2
mv "$T/srv2/server-key.pem.real" "$T/srv2/conf/server-key.pem"

# 7. A denial counts as down; then k shares end the session still waiting for approval, with
# FINAL: the server logs the aborted wait and ApprovalPending drops.
stop_server 3
printf '[DEFAULT]\nchecker = true\ninterval = PT1H\n\n' >"$T/srv3/conf/clients.conf"
escrow_section 3 t "$(sed -n 3p "$T/t/S")" "approval_delay = PT10M
approved_by_default = False"
start_server 3
mc t $(connect 1 2 3) >"$T/out-t" 2>"$T/err-t" &
client=$!
on_exit "kill $client"
wait_for 30 grep -qF "server [::1]:$P3: waiting for approval (up to " "$T/err-t" ||
	fail "no approval wait: $(tail -n 5 "$T/err-t")"
"$CTL" --deny t
wait_for 30 grep -qF "server [::1]:$P3: unlock denied by administrator" "$T/err-t" ||
	fail "no denial line: $(tail -n 5 "$T/err-t")"
wait_for 30 grep -qF "threshold $FILE: 1 of 2 shares; waiting for more servers" "$T/err-t" ||
	fail "the denial did not leave the client waiting: $(tail -n 5 "$T/err-t")"
[ ! -s "$T/out-t" ] || fail "printed something after a denial"
# Retried: waiting for approval again.
wait_for 30 sh -c "'$CTL' --dump-json t | grep -q '\"ApprovalPending\": true'" ||
	fail "server 3 is not waiting for approval again"
start_server 2
wait "$client" || fail "no unlock with server 2 back: $(tail -n 5 "$T/err-t")"
cmp -s "$T/out-t" "$T/t/pw" || fail "wrong password"
assert_contains "$T/err-t" "server [::1]:$P3: session stopped (the secret was recovered elsewhere)"
# With a FINAL the server logs the abort and the address alone; a mere close would add
# " (closed)", a reset "disconnected while waiting".
wait_for 10 grep -qE "Client t aborted its request from \('[^)]*\)\$" "$T/srv3/log" ||
	fail "server 3 did not see a FINAL: $(grep -E "Client t (aborted|disconnected)" "$T/srv3/log")"
wait_for 10 sh -c "'$CTL' --dump-json t | grep -q '\"ApprovalPending\": false'" ||
	fail "ApprovalPending still true"
echo ok
