#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Checkers: runtime %%(name)s expansion with shell quoting, success keeps a client enabled,
# failure lets its timeout disable it, no overlapping runs, and the whole process group stops.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"

new_keys good
new_keys bad
tag=$$$(date +%N | cut -c1-4)
{
	printf '[DEFAULT]\ninterval = PT1S\ntimeout = PT%dS\n\n' $((3 * SLOW))
	section good 'host = my host' \
		"checker = printf '[%%%%s]' %%(host)s %%(name)s %%(timeout)s %%(enabled)s > $T/out/%%(name)s.args"
	# (Renamed into place: a run stopped by the disable must not leave the file empty.)
	section bad "checker = id -un > $T/out/user.new && mv $T/out/user.new $T/out/user; exit 3" \
		'timeout = PT2S'
	# Succeeds once (so its timeout is an hour away), then hangs in every later run (for
	# 9$tag seconds: until the test ends).
	printf '[slow]\nkey_id = %064d\nsecret = c2xvdw==\ntimeout = PT1H\n' 1
	printf 'checker = echo run >> %s/out/slow.runs; [ -e %s/out/slow.ok ] || ' "$T" "$T"
	printf '{ touch %s/out/slow.ok; exit 0; }; sleep 9%s\n\n' "$T" "$tag"
	printf '[hung]\nkey_id = %064d\nsecret = aHVuZw==\n' 2
	printf 'checker = sleep 7%s & wait\ntimeout = PT2S\ninterval = PT3S\n\n' "$tag"
} > "$T/conf/clients.conf"

on_exit "pkill -f '^sleep [79]$tag'"
start_server
# Expansion: each value one shell word, upstream's str() forms.
wait_for 5 test -s "$T/out/good.args" || fail "the good checker never ran"
assert_eq "$(cat "$T/out/good.args")" "[my host][good][0:00:$(printf %02d $((3 * SLOW)))][True]" \
	"expanded checker arguments"
log_wait "Checker for good succeeded"

# The grandchild of a hung checker dies with its process group when the client times out.
log_wait "Starting checker 'sleep 7$tag & wait' for hung"
wait_for 2 pgrep -f "^sleep 7$tag" || fail "the hung checker's grandchild did not start"
log_wait "Disabling client hung"
wait_for 8 sh -c "! pgrep -f '^sleep 7$tag'" ||
	fail "the checker's grandchild survived"

# A failing checker: logged, and the timeout disables the client.
log_wait "Checker for bad failed"
# Checkers run as the server's unprivileged user.
if [ "$(id -u)" -eq 0 ] && getent passwd _mandos >/dev/null; then
	wait_for 10 grep -qx _mandos "$T/out/user" ||
		fail "checker user: got '$(cat "$T/out/user")', expected '_mandos'"
fi
log_wait "Disabling client bad"
assert_refused bad 3
log_wait "Client bad is disabled"

# Successful checkers keep bumping the 3 s timeout: good still unlocks well after it.
sleep $((3 * SLOW))
assert_unlocks good
assert_not_contains "$T/server.log" "Disabling client good"

# A checker still running is not started again: once the second run hangs, three more runs of
# good's checker (every second) pass, and slow's is still the same run.
log_wait "Checker for slow succeeded"
wait_for 10 sh -c "[ \$(wc -l < '$T/out/slow.runs') -ge 2 ]" ||
	fail "no second run of slow's checker"
good_runs=$(grep -c "Checker for good succeeded" "$T/server.log")
wait_for 10 sh -c \
	"[ \$(grep -c 'Checker for good succeeded' '$T/server.log') -ge $((good_runs + 3)) ]" ||
	fail "good's checker stopped running"
assert_eq "$(wc -l < "$T/out/slow.runs")" 2 "runs of the slow checker (one success, one hung)"
stop_server
echo "checker expansion, success, failure, timeout disable, no overlap and group kill work"
