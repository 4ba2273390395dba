#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The TLS options of the etcd backend (etcd_cacert, etcd_cert, etcd_key): against an etcd that
# wants client certificates (--client-cert-auth), a server with a certificate of etcd's CA reads
# and writes the shared state and serves; one without a client certificate, and one that does
# not trust etcd's certificate, serve nothing (TRY_LATER) and say why.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/server-p2-lib.sh"
. "$(dirname "$0")/etcd-lib.sh"
. "$(dirname "$0")/fleet-lib.sh"
require_cmd openssl etcd

# ca NAME: a CA key and self-signed certificate in $T/pki/NAME-ca.{key,pem}.
P=$T/pki
mkdir -p "$P"
ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$1 test CA" -keyout "$P/$1-ca.key" -out "$P/$1-ca.pem" 2>/dev/null ||
		fail "openssl: cannot make CA $1"
}
# cert CA NAME EXT: a key and a certificate signed by CA, with the extensions EXT.
cert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
		-keyout "$P/$2.key" -out "$P/$2.csr" 2>/dev/null || fail "openssl: cannot make $2"
	printf '%s\n' "$3" > "$P/$2.ext"
	openssl x509 -req -in "$P/$2.csr" -CA "$P/$1-ca.pem" -CAkey "$P/$1-ca.key" \
		-CAcreateserial -days 2 -extfile "$P/$2.ext" -out "$P/$2.pem" 2>/dev/null ||
		fail "openssl: cannot sign $2"
}
ca etcd
ca other
# etcd's JSON gateway connects to etcd itself with the server certificate: clientAuth too.
cert etcd server "subjectAltName = IP:127.0.0.1
extendedKeyUsage = serverAuth, clientAuth"
cert etcd client "extendedKeyUsage = clientAuth"
# The server drops privileges: its keys must stay readable by it.
chmod 644 "$P"/*

p2_keys c1
{
	printf '[DEFAULT]\nchecker = true\n\n'
	p2_section c1
} > "$T/clients.conf"

# One member that serves clients over TLS only, and only to certificates of its CA.
cp_=$(random_port)
pp_=$(random_port)
mkdir -p "$T/etcd-tls"
etcd --name tls --data-dir "$T/etcd-tls/data" \
	--listen-peer-urls "http://127.0.0.1:$pp_" --initial-advertise-peer-urls "http://127.0.0.1:$pp_" \
	--initial-cluster "tls=http://127.0.0.1:$pp_" \
	--listen-client-urls "https://127.0.0.1:$cp_" --advertise-client-urls "https://127.0.0.1:$cp_" \
	--client-cert-auth --trusted-ca-file "$P/etcd-ca.pem" \
	--cert-file "$P/server.pem" --key-file "$P/server.key" > "$T/etcd-tls/log" 2>&1 &
on_exit "kill -9 $!"
EP=https://127.0.0.1:$cp_
tls_ctl() {
	ETCDCTL_API=3 etcdctl --endpoints="$EP" --cacert="$P/etcd-ca.pem" --cert="$P/client.pem" \
		--key="$P/client.key" "$@"
}
wait_for 30 tls_ctl endpoint health || {
	tail -n 20 "$T/etcd-tls/log" >&2
	fail "etcd with TLS did not start"
}

echo "# with etcd's CA and a client certificate: reads, writes and serves"
fleet_conf 1 "$EP" "etcd_cacert = $P/etcd-ca.pem" "etcd_cert = $P/client.pem" \
	"etcd_key = $P/client.key"
fleet_server 1
fleet_log_wait 1 "etcd: read the shared state of"
assert_fleet_unlocks 1 c1
wait_for 10 sh -c "ETCDCTL_API=3 etcdctl --endpoints='$EP' --cacert='$P/etcd-ca.pem' \
	--cert='$P/client.pem' --key='$P/client.key' get --print-value-only \
	'${FLEET_PREFIX}clients/c1' | grep -q '\"releases\":\[[0-9]'" ||
	fail "the release of c1 is not in etcd"

echo "# no client certificate: etcd refuses, so does the server"
fleet_conf 2 "$EP" "etcd_cacert = $P/etcd-ca.pem"
fleet_server 2
fleet_log_wait 2 "etcd: cannot read the shared state"
fleet_refuses 2 c1 "code=6 flags=0 value=10" || fail "server 2 serves without etcd: $(cat "$T/p2err-c1")"
fleet_log_wait 2 "etcd quorum not heard from for"

echo "# etcd's certificate not trusted (another CA): refuses too"
fleet_conf 3 "$EP" "etcd_cacert = $P/other-ca.pem" "etcd_cert = $P/client.pem" \
	"etcd_key = $P/client.key"
fleet_server 3
fleet_log_wait 3 "etcd: cannot read the shared state"
fleet_refuses 3 c1 "code=6 flags=0 value=10" || fail "server 3 serves without etcd: $(cat "$T/p2err-c1")"
assert_not_contains "$T/s3/server.log" "etcd: read the shared state of"
for i in 1 2 3; do
	fleet_stop "$i"
done
echo "PASS"
