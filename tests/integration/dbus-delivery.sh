#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The D-Bus interface se.recompile.Mandos.Client.Delivery (spec/protocol-2.md §A.11) on a private
# system bus: Protocols, HasSealedSecret, EscrowKeyIds, EscrowKeyFile, EscrowKeyInline, ReleaseLimit
# and ReleasesLeft, read-only;
# ReleasesLeft counts a real protocol 1 release and survives a restart (the release times are in
# the state file); a reload that changes the section sends PropertiesChanged and keeps the times.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/dbus-lib.sh"
require_cmd dbus-monitor

DELIVERY=se.recompile.Mandos.Client.Delivery
# 49 bytes: the shortest sealed box.
SEALED=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMA==
new_keys c1
{
	printf '[DEFAULT]\nchecker = true\n\n'
	section c1 "release_limit = 3" "sealed_secret = $SEALED"
	printf '[c2]\nkey_id = %064d\nprotocols = 2\n\n' 2
} > "$T/conf/clients.conf"
mkdir -p "$T/state"
chmod 777 "$T/state"

start_bus ours
export DBUS_SYSTEM_BUS_ADDRESS="$BUS"
dbus-monitor --address "$BUS" "type='signal',interface='org.freedesktop.DBus.Properties'" \
	> "$T/monitor" 2>&1 &
on_exit "kill $!"
start() {
	$VALGRIND "$MANDOS" --configdir "$T/conf" --statedir "$T/state" --no-zeroconf \
		--address ::1 --port "$PORT" --foreground --debug >> "$T/server.log" 2>&1 &
	SERVER_PID=$!
	on_exit "kill -9 $SERVER_PID"
	wait_for 30 bus_name_owned "$BUS" se.recompile.Mandos || fail "not on the bus"
	wait_for 30 _port_open "$PORT" || fail "the server does not listen"
}
stop() {
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID" || fail "the server exited with $?"
}
# prop CLIENT NAME: the property's value as busctl prints it ("s \"1 2\"", "i 3", ...).
prop() {
	busctl --address="$BUS" get-property se.recompile.Mandos "/clients/$1" "$DELIVERY" "$2"
}
start
assert_eq "$(prop c1 Protocols)" 's "1 2"' "c1 Protocols"
assert_eq "$(prop c1 HasSealedSecret)" "b true" "c1 HasSealedSecret"
assert_eq "$(prop c1 EscrowKeyIds)" "as 0" "c1 EscrowKeyIds"
assert_eq "$(prop c1 EscrowKeyFile)" 's ""' "c1 EscrowKeyFile"
assert_eq "$(prop c1 EscrowKeyInline)" 's ""' "c1 EscrowKeyInline"
assert_eq "$(prop c1 ReleaseLimit)" "u 3" "c1 ReleaseLimit"
assert_eq "$(prop c1 ReleasesLeft)" "i 3" "c1 ReleasesLeft"
assert_eq "$(prop c2 Protocols)" 's "2"' "c2 Protocols"
assert_eq "$(prop c2 HasSealedSecret)" "b false" "c2 HasSealedSecret"
assert_eq "$(prop c2 ReleaseLimit)" "u 0" "c2 ReleaseLimit"
assert_eq "$(prop c2 ReleasesLeft)" "i -1" "c2 ReleasesLeft (unlimited)"
# GetAll, introspection, and no writes.
busctl --address="$BUS" call se.recompile.Mandos /clients/c1 org.freedesktop.DBus.Properties \
	GetAll s "$DELIVERY" > "$T/getall"
assert_eq "$(cat "$T/getall")" \
	'a{sv} 8 "ApprovedUntil" s "" "EscrowKeyFile" s "" "EscrowKeyIds" as 0 "EscrowKeyInline" s "" "HasSealedSecret" b true "Protocols" s "1 2" "ReleaseLimit" u 3 "ReleasesLeft" i 3' \
	"GetAll"
busctl --address="$BUS" introspect se.recompile.Mandos /clients/c1 "$DELIVERY" > "$T/intro"
assert_contains "$T/intro" ".ReleasesLeft"
grep '^\.ReleasesLeft' "$T/intro" | grep -q 'emits-change' &&
	fail "ReleasesLeft claims to emit PropertiesChanged"
grep '^\.Protocols' "$T/intro" | grep -q 'emits-change' ||
	fail "Protocols does not emit PropertiesChanged"
busctl --address="$BUS" set-property se.recompile.Mandos /clients/c1 "$DELIVERY" \
	ReleaseLimit u 9 2>"$T/set.err" && fail "ReleaseLimit was writable"
assert_eq "$(prop c1 ReleaseLimit)" "u 3" "c1 ReleaseLimit after a refused write"
echo "Delivery properties readable, typed as the spec says, read-only"

# A protocol 1 release counts; its time survives a restart.
assert_unlocks c1
assert_eq "$(prop c1 ReleasesLeft)" "i 2" "c1 ReleasesLeft after an unlock"
stop
grep -q '^release [0-9]' "$T/state/clients.state" || fail "no release time in the state file"
start
assert_eq "$(prop c1 ReleasesLeft)" "i 2" "c1 ReleasesLeft after a restart"
echo "ReleasesLeft counts a release and survives a restart"

# A reload with another limit and protocols: PropertiesChanged, and the release kept.
{
	printf '[DEFAULT]\nchecker = true\n\n'
	section c1 "release_limit = 5" "protocols = 1"
	printf '[c2]\nkey_id = %064d\nprotocols = 2\n\n' 2
} > "$T/conf/clients.conf"
kill -HUP "$SERVER_PID"
wait_for 20 grep -q "Reloaded" "$T/server.log" || fail "no reload"
assert_eq "$(prop c1 ReleaseLimit)" "u 5" "c1 ReleaseLimit after a reload"
assert_eq "$(prop c1 ReleasesLeft)" "i 4" "c1 ReleasesLeft after a reload"
assert_eq "$(prop c1 Protocols)" 's "1"' "c1 Protocols after a reload"
assert_eq "$(prop c1 HasSealedSecret)" "b false" "c1 HasSealedSecret after a reload"
changed() {
	grep -A30 "path=/clients/c1; interface=org.freedesktop.DBus.Properties; member=PropertiesChanged" \
		"$T/monitor" | grep -A25 "string \"$DELIVERY\"" | grep -q 'string "ReleaseLimit"'
}
wait_for 10 changed || { tail -n 40 "$T/monitor" >&2; fail "no PropertiesChanged for $DELIVERY"; }
stop
echo "reload: PropertiesChanged on $DELIVERY, release times kept"
