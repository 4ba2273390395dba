#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The project's main job on a built-in default: throwaway keys, a server on loopback, and a
# demo secret unlocked through plugin-runner and mandos-client.  Runs what is built so far.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

"$top/scripts/deps.sh"
"$top/scripts/build.sh" >/dev/null

B=$top/build
D=$(mktemp -d "${TMPDIR:-/tmp}/mandos-demo.XXXXXX")
chmod 755 "$D"
trap 'rm -rf "$D"' EXIT

echo "== Making throwaway keys in $D/keys"
mkdir "$D/keys"
certtool --generate-privkey --key-type=ed25519 --sec-param ultra --pkcs8 --password '' \
	--outfile "$D/keys/tls-privkey.pem" >/dev/null 2>&1
certtool --load-privkey "$D/keys/tls-privkey.pem" --pubkey-info --no-text \
	--outfile "$D/keys/tls-pubkey.pem" >/dev/null 2>&1
keyid=$("$B/tests/tools/keyid-tool" "$D/keys/tls-pubkey.pem")
echo "key_id = $keyid"

echo "== Writing a clients.conf section for it and reading it back"
cat > "$D/clients.conf" <<CONF
[DEFAULT]
timeout = PT5M
checker = fping -q -- %%(host)s

[demo]
host = localhost
key_id = $keyid
secret = ZGVtbyBzZWNyZXQK
CONF
"$B/tests/tools/ini-tool" "$D/clients.conf"
