#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Upstream mandos-client unlocks through our server with mandos-keygen keys and an
# upstream-format clients.conf; an unknown key gets nothing; key_id matching ignores case/spaces.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"

new_keys alpha "alpha's disk password"
new_keys beta
new_keys stranger

# beta's key_id in upper case with spaces: matching is case and space insensitive.
beta_id=$(key_id beta | tr a-f A-F | sed 's/\(........\)/\1 /g')
{
	printf '# As upstream ships it: defaults, durations in both forms, runtime expansion.\n'
	# (A long interval, in the legacy form: the first checker runs at a random point in it, and a
	# success right after the secret went out would rightly move "expires" to now + timeout.)
	printf '[DEFAULT]\ntimeout = PT5M\ninterval = 1d 2h 30m\nextended_timeout = PT15M\n'
	printf 'checker = test -n %%%%(host)s\napproved_by_default = True\n\n'
	section alpha
	sed "s/^key_id = .*/key_id = $beta_id/" "$T/keys-beta/section"
} > "$T/conf/clients.conf"
grep -q '^    ' "$T/conf/clients.conf" || fail "expected a multi-line base64 secret"

start_server
# The secret goes out between these two moments; its expiry follows from that.
sent_after=$(date +%s)
assert_unlocks alpha
sent_before=$(date +%s)
assert_unlocks beta
log_wait "Sending secret to alpha"
log_wait "Protocol version: '1\\n'"
log_wait "Key ID: $(key_id alpha | tr a-f A-F)"
# With the default priority: one key share, X25519, and upstream's client follows our order.
log_wait "sending key share for X25519"
[ "$(grep -c "sending key share for" "$T/server.log")" -eq \
	"$(grep -c "Handshake succeeded" "$T/server.log")" ] ||
	fail "more than one key share per handshake"
log_wait "Selected cipher suite: GNUTLS_CHACHA20_POLY1305_SHA256"

assert_refused stranger 3
log_wait "Client not found for key ID: $(key_id stranger | tr a-f A-F), address: ('::1'"
assert_not_contains "$T/server.log" "Sending secret to stranger"
stop_server

# A sent secret extends the expiry once by extended_timeout (15 minutes here): to 900 s after
# the moment it went out (whole seconds, hence the one second either way).
expires=$(awk '$1 == "client" { c = $2 } $1 == "expires" && c == "alpha" { print $2 }' \
	"$T/state/clients.state")
expires=$((expires / 1000000))
[ "$expires" -ge $((sent_after + 900 - 1)) ] && [ "$expires" -le $((sent_before + 900 + 1)) ] ||
	fail "alpha expires at $expires, not 900 s after the secret went out ($sent_after..$sent_before)"

# IPv4 only, and a missing interface is an error but no obstacle.
start_server --no-ipv6 --address 127.0.0.1 --interface nosuch0
log_wait "Interface nosuch0 does not exist, cannot bind"
log_wait "Now listening on address '127.0.0.1', port $PORT"
CONNECT_ADDR=127.0.0.1 assert_unlocks alpha
log_wait "TCP connection from: ('127.0.0.1', "
stop_server
echo "upstream mandos-client unlocked alpha and beta; the stranger got nothing"
