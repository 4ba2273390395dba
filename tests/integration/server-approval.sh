#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Approval: approval_delay with approved_by_default true (secret after the delay) and false
# (nothing), and a client that hangs up while waiting stops the wait at once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"

new_keys yes
new_keys no
new_keys gone
{
	printf '[DEFAULT]\nchecker = true\n\n'
	section yes 'approval_delay = PT2S' 'approved_by_default = True'
	section no 'approval_delay = PT1S' 'approved_by_default = False'
	section gone 'approval_delay = PT1M' 'approved_by_default = True'
} > "$T/conf/clients.conf"
start_server

start=$(date +%s%N)
assert_unlocks yes
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed_ms" -ge 1900 ] || fail "yes got its secret after ${elapsed_ms} ms, before the delay"
log_wait "Client yes needs approval"

assert_refused no 4
log_wait "Client no needs approval"
log_wait "Client no timed out while waiting for approval"
assert_not_contains "$T/server.log" "Sending secret to no"

# The client gives up after 2 s; the server must notice at once, not after a minute.
assert_refused gone 2
log_wait "Client gone disconnected while waiting for approval" 3
assert_not_contains "$T/server.log" "Sending secret to gone"
stop_server
echo "approval by default, refusal on timeout, and hang-up during the wait behave"
