#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Persistent state: a client disabled by its timeout stays disabled after kill -9 and a
# restart; upstream's merge rules on restart; `created` survives; no secret in the clear.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"

new_keys dies "the dying client's password"
new_keys lives
write_conf() {
	{
		printf '[DEFAULT]\ninterval = PT1S\n\n'
		section dies 'checker = false' "timeout = $1"
		section lives 'checker = true' 'timeout = PT1M'
	} > "$T/conf/clients.conf"
}
field() {
	awk -v k="$2" -v n="$1" '$1 == "client" { c = $2 } $1 == k && c == n { print $2 }' \
		"$T/state/clients.state"
}
write_conf PT2S
start_server
log_wait "Disabling client dies"
# The change is on disk within moments (the periodic save is a minute away); then the server
# dies without any clean-up.
wait_for 2 sh -c "[ \"\$(awk '\$1 == \"client\" { c = \$2 } \$1 == \"s.enabled\" && c == \"dies\" { print \$2 }' '$T/state/clients.state')\" = 0 ]" ||
	fail "the timeout disable was not saved at once"
stop_server KILL 2>/dev/null
created=$(field lives created)
[ -n "$created" ] || fail "no state file"

start_server
assert_refused dies 3
log_wait "Client dies is disabled"
assert_unlocks lives
# The secret is stored, but encrypted: neither its bytes nor clients.conf's base64 appear.
stop_server
assert_not_contains "$T/state/clients.state" "dying client"
b64line=$(sed -n '/^\[dies\]/,/^$/p' "$T/conf/clients.conf" | grep '^    ' | head -n 1 | tr -d ' ')
assert_not_contains "$T/state/clients.state" "$b64line"
grep -q '^secret ' "$T/state/clients.state" || fail "no encrypted secret in the state"
assert_eq "$(field lives created)" "$created" "created of lives across restarts"

# Merge: an edited setting takes the new config value; an unedited one keeps the runtime value
# (enabled = False, set by the timeout, although clients.conf still says enabled = True).
write_conf PT1H
start_server
assert_refused dies 3
stop_server
assert_eq "$(field dies s.timeout)" 3600000 "timeout after editing clients.conf"
assert_eq "$(field dies s.enabled)" 0 "enabled after a restart"

# --no-restore starts from clients.conf alone (and still saves).
start_server --no-restore
assert_unlocks dies
stop_server
echo "state survives kill -9, merges as upstream, and keeps secrets encrypted"
