#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# mandos-keygen --scan (spec §A.10) with a real avahi-daemon in a network namespace: it lists
# the _mandos._tcp services with their TXT key IDs, asks for each key, and pins those confirmed
# (y/n for one key, Y/N for it and the rest); a server without a key ID is listed, not asked.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns-lib.sh"
require_cmd avahi-daemon avahi-browse avahi-publish dbus-daemon
KG="sh $BUILD/helpers/mandos-keygen/mandos-keygen"
netns_pair
netns_bus "$NS_A"
netns_avahi "$NS_A" "$IF_A" "$BUS"

K1=1111111111111111111111111111111111111111111111111111111111111111
K2=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
# publish NAME TYPE PORT TXT...: a service on host A's daemon, withdrawn at exit.
publish() {
	ip netns exec "$NS_A" env DBUS_SYSTEM_BUS_ADDRESS="$BUS" avahi-publish -s "$@" \
		>"$T/publish-$3.log" 2>&1 &
	on_exit "kill $!"
}
publish "Mandos one" _mandos._tcp 1001 txtvers=1 proto=1,2 "keyid=$K1"
publish "Mandos two" _mandos._tcp 1002 txtvers=1 proto=2 "keyid=$(echo $K2 | tr A-F a-f)"
publish "Upstream" _mandos._tcp 1003
seen_all() { [ "$(browse "$NS_A" "$BUS" | grep -c '^=')" -ge 3 ]; }
wait_for 20 seen_all || { browse "$NS_A" "$BUS" >&2; fail "the services were not published"; }

mkdir -m 700 "$T/k"
scan() { # ANSWERS
	printf "$1" | ip netns exec "$NS_A" env DBUS_SYSTEM_BUS_ADDRESS="$BUS" \
		$KG --dir "$T/k" --scan >"$T/out" 2>"$T/err"
}
echo "# n for the first key, y for the second"
scan 'n\ny\n' || fail "--scan: $(cat "$T/err")"
cat "$T/out"
assert_contains "$T/out" "Mandos one at "
assert_contains "$T/out" "port 1001 on $IF_A: key ID $K1"
assert_contains "$T/out" "Mandos two at "
assert_contains "$T/out" "Upstream at "
assert_contains "$T/out" "port 1003 on $IF_A: no key ID (protocol 1 only)"
assert_contains "$T/out" "Do you wish to trust these keys? [ynYN]"
assert_eq "$(grep -c 'Do you wish to trust these keys' "$T/out")" 2 "questions (one per key)"
assert_contains "$T/out" "Pinned $K2 (Mandos two)."
assert_eq "$(cat "$T/k/server-pins")" "$K2 # Mandos two" "server-pins"
echo "# pinned keys are not asked again; an unknown answer asks again; Y takes the rest"
scan 'x\nY\n' || fail "--scan: $(cat "$T/err")"
assert_contains "$T/out" "$K2 (Mandos two) is pinned already."
assert_eq "$(grep -c 'Do you wish to trust these keys' "$T/out")" 2 "questions after 'x'"
assert_contains "$T/out" "Pinned $K1 (Mandos one)."
assert_eq "$(grep -c . "$T/k/server-pins")" 2 "pins"
echo "# N, or the end of the input: nothing pinned"
rm "$T/k/server-pins"
scan '' || fail "--scan at the end of the input: $(cat "$T/err")"
[ ! -e "$T/k/server-pins" ] || fail "pinned without an answer"
scan 'N\n' || fail "--scan N: $(cat "$T/err")"
assert_eq "$(grep -c 'Do you wish to trust these keys' "$T/out")" 1 "questions after N"
[ ! -e "$T/k/server-pins" ] || fail "pinned after N"
echo ok
