#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# SIGHUP reloads clients.conf: adds, removes and updates clients, keeps runtime state, and a
# broken file leaves the running configuration in place.  The server keeps running throughout.
# A section skipped for a bad value (here protocols) drops its client, but the client's state
# is kept, across a restart too, until the section loads again (then it is restored: a client
# disabled stays disabled) or leaves the file (then it is forgotten).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"

new_keys old
new_keys new
new_keys down
{
	printf '[DEFAULT]\ninterval = PT1S\nchecker = true\n\n'
	section old
	section down 'checker = false' 'timeout = PT1S'
} > "$T/conf/clients.conf"
start_server
assert_unlocks old
assert_refused new 2
log_wait "Disabling client down"

# Add new, remove old, change down's host only: down keeps its runtime state (disabled).
{
	printf '[DEFAULT]\ninterval = PT1S\nchecker = true\n\n'
	section new
	section down 'checker = false' 'timeout = PT1S' 'host = elsewhere'
} > "$T/conf/clients.conf"
kill -HUP "$SERVER_PID"
log_wait "Reloaded"
kill -0 "$SERVER_PID" || fail "the server died on SIGHUP"
assert_unlocks new
assert_refused old 3
log_wait "Client not found for key ID: $(key_id old | tr a-f A-F)"
assert_refused down 2
log_wait "Client down is disabled"

# A broken clients.conf: an error with file and line, and nothing changes.
printf '[new]\nkey_id = %064d\nsecret = YQ==\ntimeout = soon\n' 1 > "$T/conf/clients.conf"
kill -HUP "$SERVER_PID"
log_wait "clients.conf:4: "
log_wait "Reload failed; keeping the current clients"
assert_unlocks new

# down (disabled at runtime) is skipped for a bad protocols value: it is dropped, and its
# state kept, in memory and in the state file across a restart.
reload_with() {
	{
		printf '[DEFAULT]\ninterval = PT1S\nchecker = true\n\n'
		section new
		for _s in "$@"; do
			printf '%s\n' "$_s"
		done
	} > "$T/conf/clients.conf"
	_n=$(grep -c "Reloaded " "$T/server.log")
	kill -HUP "$SERVER_PID"
	wait_for 10 sh -c '[ "$(grep -c "Reloaded " "$1")" -gt "$2" ]' sh "$T/server.log" "$_n" ||
		fail "no reload"
}
reload_with "$(section down 'checker = false' 'protocols = 3')"
log_wait "Removing client down while its section is skipped; its state is kept"
assert_refused down 2
stop_server
grep -qx "client down" "$T/state/clients.state" || fail "the state file lost down's state"
start_server
log_wait "Keeping the saved state of client down until its section in"
# Fixed, with a timeout that would keep a fresh client enabled for an hour: still disabled.
reload_with "$(section down 'checker = false' 'timeout = PT1H')"
log_wait "Client down: its section loads again, with the state kept for it"
assert_refused down 2
assert_unlocks new
# Skipped again, then gone from the file: its state is forgotten, and a new section of that
# name is a new client (enabled).
reload_with "$(section down 'checker = false' 'protocols = 3')"
[ "$(grep -c "Removing client down while its section is skipped" "$T/server.log")" = 2 ] ||
	fail "down was not dropped again"
reload_with
log_wait "Forgetting the state of client down: its section is gone from"
reload_with "$(section down 'checker = false' 'timeout = PT1H')"
assert_unlocks down
stop_server
grep -qx "client down" "$T/state/clients.state" || fail "the state file lacks down"
echo "SIGHUP reloads clients.conf and keeps runtime state"
