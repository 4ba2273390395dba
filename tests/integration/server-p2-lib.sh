# SPDX-License-Identifier: GPL-3.0-or-later
# Helpers for the protocol 2 server tests (source after lib.sh and server-lib.sh): the spec's
# server key, protocol 2 client keys and sections, and unlocks with tests/tools/p2-probe.
P2_PROBE="$BUILD/tests/tools/p2-probe"
P2_SEAL="$BUILD/tests/tools/p2-seal"
require_cmd openssl "$P2_PROBE" "$P2_SEAL"

# The spec's server key (§A.12.2) and its key id.
P2_SERVER_KEY_ID=824C89AA8EFB95EF93629B4519599129CACE4ADAC9A6180DABA31CEED41ECEE6
printf -- '-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n' \
	MC4CAQAwBQYDK2VwBCIEICAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/ > "$T/conf/server-key.pem"
chmod 600 "$T/conf/server-key.pem"

# p2_keys NAME [SECRET]: in $T/p2-NAME an Ed25519 identity (tls-privkey.pem, as OpenSSL writes
# it: the DER of §A.9.4), an X25519 seal key, the secret (pw), its sealed box in base64 (sealed)
# and the key id (key_id).
p2_keys() {
	_d="$T/p2-$1"
	mkdir -p "$_d"
	openssl genpkey -algorithm ed25519 -out "$_d/tls-privkey.pem" 2>/dev/null ||
		fail "openssl genpkey ed25519 failed"
	openssl genpkey -algorithm x25519 -out "$_d/seal-privkey.pem" 2>/dev/null ||
		fail "openssl genpkey x25519 failed"
	printf '%s\n' "${2:-protocol 2 secret of $1}" > "$_d/pw"
	p2_seal "$_d"
	openssl pkey -in "$_d/tls-privkey.pem" -pubout -outform der | sha256sum |
		cut -d' ' -f1 | tr a-f A-F > "$_d/key_id"
}

# p2_seal DIR: DIR/pw sealed to DIR/seal-privkey.pem's public key, in base64 in DIR/sealed.
p2_seal() {
	openssl pkey -in "$1/seal-privkey.pem" -pubout -out "$1/seal-pubkey.pem" 2>/dev/null ||
		fail "openssl pkey -pubout failed"
	"$P2_SEAL" "$1/seal-pubkey.pem" < "$1/pw" > "$1/sealed" || fail "cannot seal $1/pw"
}

# p2_key_id NAME
p2_key_id() {
	cat "$T/p2-$1/key_id"
}

# p2_section NAME [KEY = VALUE...]: a clients.conf section for NAME's keys: its key_id, its
# sealed_secret and protocols = 2, then the lines given (a protocols line replaces ours).
p2_section() {
	_n=$1
	shift
	printf '[%s]\nhost = localhost\nkey_id = %s\nsealed_secret = %s\n' "$_n" \
		"$(p2_key_id "$_n")" "$(cat "$T/p2-$_n/sealed")"
	case " $* " in
	*" protocols ="*) ;;
	*) printf 'protocols = 2\n' ;;
	esac
	for _l in "$@"; do
		printf '%s\n' "$_l"
	done
	printf '\n'
}

# p2_unlock NAME [PROBE ARGS...]: p2-probe with NAME's keys; the secret in $T/p2out-NAME, the
# STATUS and RESULT lines in $T/p2err-NAME.  Returns the probe's status.
p2_unlock() {
	_n=$1
	shift
	"$P2_PROBE" --connect="${CONNECT_ADDR:-[::1]}:$PORT" --tls-privkey="$T/p2-$_n/tls-privkey.pem" \
		--seal-key="$T/p2-$_n/seal-privkey.pem" --timeout=$((20 * SLOW)) "$@" \
		> "$T/p2out-$_n" 2> "$T/p2err-$_n"
}

# assert_p2_unlocks NAME: the RESULT is OK and the sealed item opens to NAME's secret.
assert_p2_unlocks() {
	p2_unlock "$1" || {
		cat "$T/p2err-$1" >&2
		tail -n 30 "$T/server.log" >&2
		fail "protocol 2 client $1 did not unlock"
	}
	assert_contains "$T/p2err-$1" "RESULT code=0 flags=0 value=0"
	cmp -s "$T/p2out-$1" "$T/p2-$1/pw" || fail "protocol 2 client $1 got the wrong secret"
}

# assert_p2_result NAME 'code=C flags=F value=V' [PROBE ARGS...]: the probe gets that RESULT
# and no secret.
assert_p2_result() {
	_n=$1 _want=$2
	shift 2
	p2_unlock "$_n" "$@" || {
		cat "$T/p2err-$_n" >&2
		tail -n 30 "$T/server.log" >&2
		fail "protocol 2 client $_n got no RESULT"
	}
	assert_contains "$T/p2err-$_n" "RESULT $_want"
	[ ! -s "$T/p2out-$_n" ] || fail "protocol 2 client $_n got a secret"
}
