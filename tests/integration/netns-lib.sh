# SPDX-License-Identifier: GPL-3.0-or-later
# Two test "hosts" in network namespaces joined by a veth pair, each with its own private
# system bus and, on demand, its own avahi-daemon.  Source after lib.sh.
#   netns_pair           makes $NS_A and $NS_B with interfaces $IF_A and $IF_B, up, IPv6 on
#                        (their link-local addresses past duplicate address detection)
#   netns_bus NS         starts a private system bus for NS; sets $BUS to its address
#   netns_avahi NS IF BUS  starts avahi-daemon in NS on IF with bus BUS; sets $AVAHI_PID
# Everything is removed at exit.

netns_pair() {
	require_root
	require_cmd ip
	NS_A=mtA$$ NS_B=mtB$$ IF_A=vA$$ IF_B=vB$$
	ip netns add "$NS_A"
	on_exit "ip netns del $NS_A"
	on_exit "ip netns pids $NS_A | xargs -r kill"
	ip netns add "$NS_B"
	on_exit "ip netns del $NS_B"
	on_exit "ip netns pids $NS_B | xargs -r kill"
	ip link add "$IF_A" type veth peer name "$IF_B"
	ip link set "$IF_A" netns "$NS_A"
	ip link set "$IF_B" netns "$NS_B"
	for ns in "$NS_A" "$NS_B"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$NS_A" link set "$IF_A" up
	ip -n "$NS_B" link set "$IF_B" up
	# IPv6 link-local addresses can be used once duplicate address detection is over.
	wait_for 10 netns_link_local_ready "$NS_A" "$IF_A" ||
		fail "no usable IPv6 link-local address on $IF_A"
	wait_for 10 netns_link_local_ready "$NS_B" "$IF_B" ||
		fail "no usable IPv6 link-local address on $IF_B"
}

# netns_link_local_ready NS IF: IF in NS has a link-local address and none is still tentative.
netns_link_local_ready() {
	ip -n "$1" -6 addr show dev "$2" scope link | grep -q "inet6 fe80" &&
		[ -z "$(ip -n "$1" -6 addr show dev "$2" scope link tentative)" ]
}

netns_bus() {
	private_bus "$T/bus-$1" ip netns exec "$1"
}

netns_avahi() {
	ns=$1 ifname=$2 bus=$3
	dir=$T/avahi-$ns
	mkdir -p "$dir/run"
	cat > "$dir/avahi.conf" <<CONF
[server]
host-name=host-$ns
use-ipv4=yes
use-ipv6=yes
allow-interfaces=$ifname
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
CONF
	# avahi-daemon's pid file path is fixed: give it a private /run/avahi-daemon.
	ip netns exec "$ns" unshare -m --propagation private sh -c "
		mkdir -p /run/avahi-daemon 2>/dev/null || mount -t tmpfs tmpfs /run
		mkdir -p /run/avahi-daemon
		mount --bind '$dir/run' /run/avahi-daemon
		DBUS_SYSTEM_BUS_ADDRESS='$bus' exec avahi-daemon --no-chroot --no-drop-root \
			--no-rlimits -f '$dir/avahi.conf'" >> "$dir/log" 2>&1 &
	AVAHI_PID=$!
	on_exit "kill $AVAHI_PID"
	wait_for 10 grep -q "Server startup complete" "$dir/log" ||
		{ cat "$dir/log" >&2; fail "avahi-daemon in $ns did not start"; }
}

# browse NS BUS: one resolved, parsable avahi-browse of _mandos._tcp through NS's daemon.
browse() {
	ip netns exec "$1" env DBUS_SYSTEM_BUS_ADDRESS="$2" \
		avahi-browse --resolve --parsable --terminate _mandos._tcp 2>/dev/null || true
}
