#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The project's main job on a built-in default, all on this machine: throwaway client keys
# from mandos-keygen, a Mandos server on loopback serving a demo secret to that client, and
# the secret unlocked the way a booting machine gets it, through plugin-runner and
# mandos-client.  Prints the secret.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

# Only the run set: the demo needs neither the test peers nor Check (no tests are built).
"$top/scripts/deps.sh" run
"$top/scripts/build.sh" -Dtests=false > "${TMPDIR:-/tmp}/mandos-demo-build.log" 2>&1 ||
	{ tail -n 30 "${TMPDIR:-/tmp}/mandos-demo-build.log" >&2; exit 1; }

B=$top/build
D=$(mktemp -d "${TMPDIR:-/tmp}/mandos-demo.XXXXXX")
# The server drops privileges; it must still reach its files.
chmod 755 "$D"
server=""
cleanup() {
	[ -z "$server" ] || kill "$server" 2>/dev/null || true
	rm -rf "$D"
}
trap cleanup EXIT INT TERM

secret="This is the demo disk passphrase."
printf '%s' "$secret" > "$D/passphrase"

echo "== 1. Client keys (throwaway, in $D/keys) and its clients.conf section"
mkdir -m 700 "$D/keys"
sh "$B/helpers/mandos-keygen/mandos-keygen" --dir "$D/keys" --force > /dev/null 2>&1
mkdir "$D/conf" "$D/state"
printf '[DEFAULT]\n' > "$D/conf/mandos.conf"
{
	sh "$B/helpers/mandos-keygen/mandos-keygen" --dir "$D/keys" --passfile "$D/passphrase" \
		--no-ssh --name demo-client
	echo "checker = true"
} > "$D/conf/clients.conf"
sed -n 's/^key_id = /   key_id = /p' "$D/conf/clients.conf"

echo "== 2. The server, on [::1] (logging to $D/server.log)"
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0)); print(s.getsockname()[1])')
"$B/server/mandos" --configdir "$D/conf" --statedir "$D/state" --no-dbus --no-zeroconf \
	--address ::1 --port "$port" --foreground --debug > "$D/server.log" 2>&1 &
server=$!
i=0
until ss -Htln "sport = :$port" | grep -q .; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || { cat "$D/server.log" >&2; echo "the server did not start" >&2; exit 1; }
	sleep 0.1
done
echo "   listening on port $port"

echo "== 3. plugin-runner and mandos-client fetch and decrypt the secret"
mkdir -m 755 "$D/plugins.d"
cp "$B/plugins.d/mandos-client/mandos-client" "$D/plugins.d/"
out=$(MANDOSPLUGINHELPERDIR="$B/helpers/mandos-client-iprouteadddel" \
	"$B/plugin-runner/plugin-runner" --plugin-dir="$D/plugins.d" \
	--config-file=/dev/null --userid="$(id -u)" --groupid="$(id -g)" \
	--options-for="mandos-client:--connect=[::1]:$port,--interface=none,--network-hook-dir=$D/none,--pubkey=$D/keys/pubkey.txt,--seckey=$D/keys/seckey.txt,--tls-pubkey=$D/keys/tls-pubkey.pem,--tls-privkey=$D/keys/tls-privkey.pem" \
	< /dev/null)
grep -E "Sending secret|Key ID" "$D/server.log" | sed 's/^/   server: /'
echo "   plugin-runner printed: $out"
if [ "$out" = "$secret" ]; then
	echo "== The demo secret was unlocked end to end."
else
	echo "== The secret did not come through." >&2
	exit 1
fi
