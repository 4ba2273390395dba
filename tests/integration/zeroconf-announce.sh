#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The server's Zeroconf announcer (spec 2.10, issue 6) with real avahi-daemons on two hosts
# made of network namespaces: another host sees "_mandos._tcp" with an empty TXT record on
# the given port over IPv6 only; a second service of the same name on the network is renamed
# "Mandos #2"; and the service comes back after avahi-daemon restarts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns-lib.sh"
require_cmd avahi-daemon avahi-browse dbus-daemon
netns_pair
netns_bus "$NS_A"
BUS_A=$BUS
netns_bus "$NS_B"
BUS_B=$BUS
netns_avahi "$NS_A" "$IF_A" "$BUS_A"
AVAHI_A=$AVAHI_PID
netns_avahi "$NS_B" "$IF_B" "$BUS_B"

ANNOUNCE=$BUILD/tests/tools/zeroconf-announce
ip netns exec "$NS_A" env DBUS_SYSTEM_BUS_ADDRESS="$BUS_A" \
	$VALGRIND "$ANNOUNCE" Mandos 19999 "$IF_A" inet6 > "$T/a.out" 2> "$T/a.err" &
on_exit "kill $!"

seen_a() { browse "$NS_B" "$BUS_B" | grep -q "^=;$IF_B;IPv6;Mandos;_mandos._tcp;local;host-$NS_A.local;fe80:.*;19999;\$"; }
wait_for 20 seen_a || { browse "$NS_B" "$BUS_B" >&2; cat "$T/a.err" >&2; fail "host B does not see the service"; }
wait_for 20 grep -q "Zeroconf service 'Mandos' of type '_mandos._tcp' established" "$T/a.err" ||
	fail "the announcer never saw its service established"
# IPv6 only, as the server announces by default.
browse "$NS_B" "$BUS_B" > "$T/browse1"
assert_not_contains "$T/browse1" ";IPv4;Mandos;" "browse output"
echo "announced and resolved over IPv6 link-local"

# A second "Mandos" on the same network, from host B: it must be renamed.
ip netns exec "$NS_B" env DBUS_SYSTEM_BUS_ADDRESS="$BUS_B" \
	$VALGRIND "$ANNOUNCE" Mandos 19998 "$IF_B" inet6 > "$T/b.out" 2> "$T/b.err" &
on_exit "kill $!"
wait_for 20 grep -q "renamed Mandos #2" "$T/b.out" ||
	{ cat "$T/b.err" >&2; fail "the second service was not renamed"; }
assert_contains "$T/b.err" "Changing Zeroconf service name to 'Mandos #2' ..."
# avahi-browse --parsable escapes the space and "#" as \032 and \035.
seen_both() { browse "$NS_A" "$BUS_A" | grep -F ';Mandos\032\0352;_mandos._tcp;local;' | grep -q ';19998;$'; }
wait_for 20 seen_both || { browse "$NS_A" "$BUS_A" >&2; fail "host A does not see 'Mandos #2'"; }
echo "collision: second service renamed to 'Mandos #2'"

# avahi-daemon on host A restarts: the service is withdrawn, then announced again.
kill "$AVAHI_A"
wait_for 20 grep -q "avahi-daemon disconnected" "$T/a.err" || fail "no disconnect noticed"
netns_avahi "$NS_A" "$IF_A" "$BUS_A"
wait_for 30 sh -c "[ \$(grep -c \"Zeroconf service 'Mandos' of type '_mandos._tcp' established\" '$T/a.err') -ge 2 ]" ||
	{ cat "$T/a.err" >&2; fail "service not announced again after avahi-daemon restarted"; }
wait_for 20 seen_a || fail "host B does not see the service after the restart"
echo "re-announced after avahi-daemon restart"
