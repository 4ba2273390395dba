#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Three of our servers share their clients' state through a three-member etcd cluster
# (state_backend = etcd, issue 14): a client disabled with mandos-ctl on server 1 is refused
# by servers 2 and 3 within a second; an approval given on server 2 releases a request that
# waits on server 3; a checker that succeeds on server 1 only keeps the client enabled on all
# three; and no update is lost when two servers change one client at once (releases raced on
# two servers all end up in etcd; disables and enables raced against checker successes end
# with the last decision on every server).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/server-p2-lib.sh"
. "$(dirname "$0")/etcd-lib.sh"
. "$(dirname "$0")/audit-lib.sh"
. "$(dirname "$0")/fleet-lib.sh"

N_RACE=12

# doc_at_least NAME EXPR N: the document's EXPR is at least N.
doc_at_least() {
	[ "$(fleet_doc_field "$1" "$2")" -ge "$3" ]
}
doc_exists() {
	[ -n "$(fleet_doc "$1")" ]
}
enabled_is() {
	[ "$(fleet_enabled "$1" "$2")" = "$3" ]
}
au_set() {
	eval "_bus=\$BUS_$1"
	busctl --address="$_bus" get-property se.recompile.Mandos "/clients/$2" \
		se.recompile.Mandos.Client.Delivery ApprovedUntil 2>/dev/null | grep -q '^s "2'
}
au_cleared() {
	eval "_bus=\$BUS_$1"
	[ "$(busctl --address="$_bus" get-property se.recompile.Mandos "/clients/$2" \
		se.recompile.Mandos.Client.Delivery ApprovedUntil 2>/dev/null)" = 's ""' ]
}
fleet_releases_left() {
	eval "_bus=\$BUS_$1"
	busctl --address="$_bus" get-property se.recompile.Mandos "/clients/$2" \
		se.recompile.Mandos.Client.Delivery ReleasesLeft 2>/dev/null | sed -n 's/^i //p'
}
releases_left() {
	[ "$(fleet_releases_left "$1" "$2")" = "$3" ]
}
for n in stolen gone waiting window alive race flip late; do
	p2_keys "$n"
done
{
	printf '[DEFAULT]\nchecker = true\n\n'
	p2_section stolen
	p2_section gone
	p2_section waiting "approval_delay = PT5M" "approved_by_default = False" \
		"approval_duration = PT5M"
	p2_section window "approval_delay = PT5M" "approved_by_default = False"
	# Succeeds on server 1 only (its environment), fails on 2 and 3: a few timeouts pass.
	p2_section alive 'checker = test "$FLEET_CHECKER" = ok' "interval = PT1S" \
		"timeout = PT$((4 * SLOW))S"
	p2_section race "release_limit = $((4 * N_RACE))"
	p2_section flip "interval = PT1S"
} > "$T/clients.conf"

etcd_cluster_start 3
for i in 1 2 3; do
	fleet_conf "$i" "$ETCD_ENDPOINTS"
done
# Server 1 first, and its first checker success, so that the others start with its deadline.
fleet_server 1 FLEET_CHECKER=ok
fleet_log_wait 1 "Checker for alive succeeded" 10
fleet_server 2
fleet_server 3
for i in 1 2 3; do
	fleet_log_wait "$i" "etcd: read the shared state of"
done

echo "# all three serve, and the shared documents exist"
for i in 1 2 3; do
	assert_fleet_unlocks "$i" stolen
done
assert_eq "$(fleet_doc_field stolen 'd["enabled"]')" True "stolen enabled in etcd"

echo "# 1. disabled on server 1: refused by servers 2 and 3 within 1 s"
fleet_ctl 1 --disable stolen
t0=$(now_ms)
deadline=$((t0 + 1000 * SLOW))
while :; do
	if fleet_refuses 2 stolen "code=2 flags=0 value=1" &&
		fleet_refuses 3 stolen "code=2 flags=0 value=1"; then
		break
	fi
	[ "$(now_ms)" -le "$deadline" ] || {
		tail -n 20 "$T/s2/server.log" "$T/s3/server.log" >&2
		fail "servers 2 and 3 still serve stolen $(($(now_ms) - t0)) ms after the disable"
	}
	sleep 0.05
done
echo "# refused by both $(($(now_ms) - t0)) ms after mandos-ctl returned"
fleet_log_wait 2 "Client stolen disabled by s1 (admin)"
assert_eq "$(fleet_doc_field stolen 'd["enabled"], d["disabled_reason"], d["changed_by"]')" \
	"(False, 'admin', 's1')" "stolen's document"
assert_eq "$(fleet_enabled 3 stolen)" false "Enabled of stolen on server 3"
# And back: enabled on server 3, served by server 1.
fleet_ctl 3 --enable stolen
wait_for 5 fleet_unlocks 1 stolen || fail "server 1 does not serve stolen again"

echo "# 1b. removed on server 2 (D-Bus RemoveClient): unknown to servers 1 and 3 at once"
assert_fleet_unlocks 3 gone
fleet_ctl 2 --remove gone
for i in 1 3; do
	wait_for 2 fleet_refuses "$i" gone "code=1 flags=0 value=0" ||
		fail "server $i still knows gone after its removal on server 2"
	fleet_log_wait "$i" "Client gone was removed on another server"
done
[ -z "$(fleet_doc gone)" ] || fail "gone's document is still in etcd"

echo "# 2. an approval on server 2 releases a request waiting on server 3"
PORT=$PORT_3 p2_unlock waiting &
probe=$!
on_exit "kill_job $probe"
fleet_log_wait 3 "Client waiting needs approval"
fleet_ctl 2 --approve waiting
rc=0
wait "$probe" || rc=$?
assert_eq "$rc" 0 "the waiting request's probe"
assert_contains "$T/p2err-waiting" "RESULT code=0 flags=0 value=0"
cmp -s "$T/p2out-waiting" "$T/p2-waiting/pw" || fail "waiting got the wrong secret"
fleet_log_wait 3 "Sending secret to waiting"

echo "# 2b. an --approve-for window opened on server 1 holds on server 3, and its cancel too"
fleet_ctl 1 --approve-for=PT10M window
wait_for 5 au_set 3 window || fail "the window opened on server 1 does not reach server 3"
assert_fleet_unlocks 3 window
assert_not_contains "$T/s3/server.log" "Client window needs approval"
fleet_ctl 2 --approve-for=0 window
wait_for 5 au_cleared 3 window || fail "the cancel on server 2 does not reach server 3"
PORT=$PORT_3 p2_unlock window &
probe=$!
on_exit "kill_job $probe"
fleet_log_wait 3 "Client window needs approval"
kill_job "$probe"

echo "# 3. a checker success on server 1 keeps alive enabled on servers 2 and 3"
# More failures on servers 2 and 3 than fit in its timeout: alone, they would disable it.
n=$((4 * SLOW + 2))
for i in 2 3; do
	wait_for $((n + 20)) sh -c "[ \$(grep -c 'Checker for alive failed' '$T/s$i/server.log') -ge $n ]" ||
		fail "server $i did not run $n checkers for alive"
done
for i in 1 2 3; do
	assert_not_contains "$T/s$i/server.log" "Disabling client alive"
	assert_not_contains "$T/s$i/server.log" "Client alive disabled"
	assert_eq "$(fleet_enabled "$i" alive)" true "Enabled of alive on server $i"
done
assert_fleet_unlocks 3 alive

echo "# 5a. releases raced on servers 1 and 2 all end up in etcd"
pids=""
for k in $(seq "$N_RACE"); do
	for i in 1 2; do
		cp -r "$T/p2-race" "$T/p2-race$i-$k"
		(fleet_probe "$i" "race$i-$k" >/dev/null 2>&1) &
		pids="$pids $!"
	done
done
for p in $pids; do
	wait "$p" || true
done
for k in $(seq "$N_RACE"); do
	for i in 1 2; do
		assert_contains "$T/p2err-race$i-$k" "RESULT code=0 flags=0 value=0"
	done
done
want=$((2 * N_RACE))
wait_for 10 doc_at_least race 'len(d["releases"])' "$want" || true
assert_eq "$(fleet_doc_field race 'len(d["releases"])')" "$want" "release times of race in etcd"
# Every server counts them all against the limit, server 3's too.
for i in 1 2 3; do
	wait_for 5 releases_left "$i" race $((4 * N_RACE - want)) ||
		fail "server $i: ReleasesLeft of race $(fleet_releases_left "$i" race), not $((4 * N_RACE - want))"
done

echo "# 5b. disables and enables raced against checker successes: the last decision wins"
for round in 1 2 3 4; do
	a=$((round % 3 + 1))
	b=$(((round + 1) % 3 + 1))
	# Server a disables while server b reports a checker success (its checkers run too).
	fleet_ctl "$b" --bump-timeout flip &
	bpid=$!
	fleet_ctl "$a" --disable flip
	wait "$bpid" || true
	for i in 1 2 3; do
		wait_for 5 enabled_is "$i" flip false ||
			fail "round $round: flip still enabled on server $i after the disable on $a"
	done
	assert_eq "$(fleet_doc_field flip 'd["enabled"], d["changed_by"]')" "(False, 's$a')" \
		"round $round: flip's document after the disable"
	fleet_ctl "$b" --enable flip
	for i in 1 2 3; do
		wait_for 5 enabled_is "$i" flip true ||
			fail "round $round: flip not enabled on server $i after the enable on $b"
	done
done
echo "# checker successes keep coming into the document"
last=$(fleet_doc_field flip 'd["last_checked_ok"]')
wait_for 10 doc_at_least flip 'd["last_checked_ok"]' $((last + 1)) ||
	fail "flip's last_checked_ok does not move on"
echo "# a client added by a reload (SIGHUP) of server 1 gets its document"
p2_section late >> "$T/s1/conf/clients.conf"
kill -HUP "$PID_1"
wait_for 10 doc_exists late ||
	fail "no document for late after the reload"
assert_fleet_unlocks 1 late
echo "# a window in server 1's state file reaches etcd when etcd has lost its document"
fleet_ctl 1 --approve-for=PT10M window
wait_for 5 doc_at_least window 'd["approved_until"]' 1 ||
	fail "window's --approve-for does not reach etcd"
fleet_stop 1
etcdctl_ del "${FLEET_PREFIX}clients/window" >/dev/null
fleet_server 1
fleet_log_wait 1 "etcd: read the shared state of"
wait_for 5 doc_exists window || fail "no document for window after server 1's restart"
now_us=$(($(now_ms) * 1000))
wait_for 5 doc_at_least window 'd["approved_until"]' "$now_us" ||
	fail "server 1's restored window is not in the new document: $(fleet_doc window)"
for i in 1 2 3; do
	fleet_stop "$i"
done
echo "# the audit logs: one JSON line per decision, no secret; the refusals after the disable"
fleet_audit 1 2 3
for i in 2 3; do
	[ "$(audit_count "$T/s$i/audit.log" decision=disabled protocol=2)" -ge 1 ] ||
		fail "server $i's audit log has no disabled decision"
done
for i in 1 2 3; do
	[ "$(audit_count "$T/s$i/audit.log" decision=granted server="s$i")" -ge 1 ] ||
		fail "server $i's audit log has no grant"
done
echo "PASS"
