#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# SIGHUP reloads clients.conf: adds, removes and updates clients, keeps runtime state, and a
# broken file leaves the running configuration in place.  The server keeps running throughout.
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
stop_server
echo "SIGHUP reloads clients.conf and keeps runtime state"
