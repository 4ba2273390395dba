#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# release_limit (spec/protocol-2.md §A.5.2) counts the releases of both protocols in one
# rolling window: protocol 1 is refused as usual (no data) and protocol 2 gets TRY_LATER with
# flags bit 0 and the seconds until a release leaves the window; the times survive a restart,
# and a reload that raises the limit keeps them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/server-p2-lib.sh"

# One client for both protocols: upstream's keys (certtool's tls-privkey.pem) plus a seal key.
new_keys dual
mkdir -p "$T/p2-dual"
cp "$T/keys-dual/tls-privkey.pem" "$T/keys-dual/pw" "$T/p2-dual/"
openssl genpkey -algorithm x25519 -out "$T/p2-dual/seal-privkey.pem" 2>/dev/null
p2_seal "$T/p2-dual"
# config LIMIT
config() {
	{
		printf '[DEFAULT]\nchecker = true\n\n'
		section dual "sealed_secret = $(cat "$T/p2-dual/sealed")" "release_limit = $1"
	} > "$T/conf/clients.conf"
}
config 2
mkdir -p "$T/state"
chmod 777 "$T/state"
start_server

assert_unlocks dual
assert_p2_unlocks dual
# The limit: both protocols refused, with the warning.
assert_refused dual
log_wait "Client dual reached its release limit (2 per 24 h)"
assert_p2_result dual "code=6 flags=1 "
# The oldest release leaves the window in about a day.
value=$(sed -n 's/^RESULT code=6 flags=1 value=\([0-9]*\) .*/\1/p' "$T/p2err-dual")
[ "$value" -gt 80000 ] && [ "$value" -le 86400 ] || fail "TRY_LATER value $value"

# A restart keeps the release times.
stop_server
start_server
assert_p2_result dual "code=6 flags=1 "
assert_refused dual
log_wait "Client dual reached its release limit (2 per 24 h)"

# A reload to 3 keeps them too: one more release, then the limit again.
config 3
kill -HUP "$SERVER_PID"
log_wait "Reloaded"
assert_p2_unlocks dual
assert_p2_result dual "code=6 flags=1 "
log_wait "Client dual reached its release limit (3 per 24 h)"
stop_server
echo "release_limit counts both protocols, across a restart and a reload"
