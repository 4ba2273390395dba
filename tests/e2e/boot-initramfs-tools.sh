#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Boot a QEMU guest whose LUKS2 root is unlocked by our initramfs-tools integration, fetching
# the password from our server on the host (spec 8.1-8.3, issue 7's boot cases):
#  1. the guest boots to its marker with no human input;
#  2. with the client disabled on the server it does not unlock by itself; a passphrase typed
#     on the serial console unlocks it; once re-enabled, the next boot is unattended again;
#  3. the image's Mandos files have upstream's modes and owners;
#  4. protocol 2 only (issue 12): keys made with mandos-keygen --no-pgp, a sealed secret, the
#     server key pinned, protocols = 2 for that client: no gpg in the image, and the guest
#     boots unattended.  The test prints the guest's time from cryptsetup's prompt to success
#     and the image's size for both protocols;
#  5. a 2-of-3 threshold (issue 13): the same protocol 2 image also holds a threshold binding
#     (mandos-keygen --threshold 2 with three --share-server KEYID@10.0.2.2:PORT), three more
#     servers of ours on the host each hold only their own share, share 2's server is down;
#     booted with plain mandos=connect (no server named: the shares' addresses are the
#     candidates), the guest unlocks unattended and its console shows the per-server states of
#     spec §B.4.3;
#  6. a guest whose clock starts in January 1970 (its RTC says so): mandos-client sets the clock
#     to its key files' time before gpg reads the keys (which gpg would otherwise refuse as made
#     in the future), the guest boots unattended, and its root sees the keys' date.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/keygen-lib.sh"
. "$(dirname "$0")/boot-lib.sh"
boot_requirements

MANDOS=$BUILD/server/mandos
KEYGEN=$BUILD/helpers/mandos-keygen/mandos-keygen
[ -x "$MANDOS" ] || fail "server not built: $MANDOS"
[ -r "$KEYGEN" ] || fail "mandos-keygen not built: $KEYGEN"

stage_install
printf 'correct horse battery staple' > "$T/pw"
make_root_image "$T/root.img" "$T/pw"

mkdir -p "$T/keys" "$T/etc-mandos/plugins.d" "$T/etc-mandos/plugin-helpers" \
	"$T/etc-mandos/network-hooks.d" "$T/conf" "$T/state"
cp "$SRC/plugin-runner/plugin-runner.conf" "$T/etc-mandos/" 2>/dev/null ||
	: > "$T/etc-mandos/plugin-runner.conf"
sh "$KEYGEN" --dir "$T/keys" --force > /dev/null 2>&1
sh "$KEYGEN" --dir "$T/keys" --passfile "$T/pw" --no-ssh --name guest > "$T/section"
# The protocol 2 client, guest2.
make_p2_client
# 5. guest2's threshold binding: three share servers, each with its own key, config and port.
# share_server_key I: make share server I's directories and key; print its key ID.
share_server_key() {
	mkdir -p "$T/conf-s$1" "$T/state-s$1"
	printf '[DEFAULT]\n' > "$T/conf-s$1/mandos.conf"
	sh "$KEYGEN" --server-key --dir "$T/conf-s$1" 2> /dev/null
}
sid1=$(share_server_key 1) && sid2=$(share_server_key 2) && sid3=$(share_server_key 3) ||
	fail "--server-key for the share servers"
sport1=$(random_port)
sport2=$(random_port)
sport3=$(random_port)
sh "$KEYGEN" --dir "$T/keys2" --passfile "$T/pw" --no-ssh --name guest2 --threshold 2 \
	--share-server "$sid1@10.0.2.2:$sport1" --share-server "$sid2@10.0.2.2:$sport2" \
	--share-server "$sid3@10.0.2.2:$sport3" > "$T/threshold" 2> "$T/threshold.err" ||
	fail "mandos-keygen --threshold: $(cat "$T/threshold.err")"
binding=$(cd "$T/keys2" && ls escrow-2of3-*.conf)
[ "$(split_shares "$T/threshold" "$T/share")" = 3 ] || fail "not three share sections"
for i in 1 2 3; do
	{
		cat "$T/share.$i"
		echo "checker = true"
	} > "$T/conf-s$i/clients.conf"
done

build_initramfs "$T/initrd.img" $(our_initramfs_binds)
KEYS=$T/keys2 build_initramfs "$T/initrd2.img" $(KEYS=$T/keys2 our_initramfs_binds)

# 3. Modes and owners as upstream's hook makes them.
lsinitramfs -l "$T/initrd.img" > "$T/listing"
mandos_user=$(getent passwd _mandos > /dev/null && echo _mandos || echo nobody)
check_entry() { # MODE OWNER PATH
	grep -Eq "^$1 +[0-9]+ +$2 +$2 .* $3\$" "$T/listing" ||
		fail "image: expected $3 with mode $1 owned by $2; have: $(grep " $3\$" "$T/listing")"
}
check_entry 'drwx------' "$mandos_user" 'usr/lib/mandos/plugins.d'
check_entry 'drwx------' "$mandos_user" 'usr/lib/mandos/plugin-helpers'
check_entry 'drwxr-xr-x' root 'usr/lib/mandos/network-hooks.d'
check_entry '-rwxr-xr-x' root 'usr/lib/mandos/plugin-runner'
check_entry '-rwsr-xr-x' root 'usr/lib/mandos/plugins.d/mandos-client'
check_entry '-rwsr-xr-x' root 'usr/lib/mandos/plugins.d/askpass-fifo'
check_entry '-rwxr-xr-x' root 'usr/lib/mandos/plugins.d/password-prompt'
check_entry '-rw-------' "$mandos_user" 'conf/conf.d/mandos/seckey.txt'
check_entry '-rw-------' "$mandos_user" 'conf/conf.d/mandos/tls-privkey.pem'
[ "$(stat -c %a "$T/initrd.img")" = 640 ] || fail "initrd.img is not mode 640 (UMASK=0027)"
# gpg in the protocol 1 image; none of it in the protocol 2 one, which has the seal key and pins.
lsinitramfs -l "$T/initrd2.img" > "$T/listing2"
check_p2_image "$T/listing" "$T/listing2" conf/conf.d/mandos

# Our server on the host's IPv4 loopback, which QEMU's user network shows as 10.0.2.2.
printf '[DEFAULT]\n' > "$T/conf/mandos.conf"
{
	cat "$T/section"
	echo "checker = true"
	echo "interval = PT1S"
	echo
	cat "$T/section2"
	echo "checker = true"
} > "$T/conf/clients.conf"
port=$(random_port)
# start_server LOG [OPTIONS...]: our server on $port, its pid in $server.
start_server() {
	_log=$1
	shift
	$VALGRIND "$MANDOS" --configdir "$T/conf" --statedir "$T/state" --no-dbus --no-zeroconf \
		--no-ipv6 --address 127.0.0.1 --port "$port" --foreground --debug "$@" > "$_log" 2>&1 &
	server=$!
	on_exit "kill $server"
	wait_for_port "$port"
}
stop_server() {
	kill "$server"
	wait "$server" 2>/dev/null || true
}
start_server "$T/server.log"
append="root=/dev/mapper/cryptroot cryptopts=target=cryptroot,source=/dev/vda,luks ip=dhcp"
append="$append mandos=connect:10.0.2.2:$port"

# 1. Unattended.
boot_guest "$T/root.img" "$T/initrd.img" "$T/boot1.log" 150 $append
wait_boot || true
assert_contains "$T/boot1.log" "$MARKER" "guest console (unattended boot)"
assert_contains "$T/server.log" "Sending secret to guest" "server log"
echo "unattended boot: ok"

# 4. Protocol 2 only.
boot_guest "$T/root.img" "$T/initrd2.img" "$T/boot4.log" 150 $append
wait_boot || true
assert_contains "$T/boot4.log" "$MARKER" "guest console (protocol 2 boot)"
assert_contains "$T/server.log" "Sending secret to guest2 (protocol 2: sealed)" "server log"
echo "protocol 2 only, unattended boot: ok"
boot_figures 1 "prompt to success" "Please unlock disk" "set up successfully" "$T/boot1.log" \
	"$T/initrd.img" "$T/listing"
boot_figures 2 "prompt to success" "Please unlock disk" "set up successfully" "$T/boot4.log" \
	"$T/initrd2.img" "$T/listing2"

# 5. The 2-of-3 threshold, share 2's server down.  (The image is the protocol 2 one: its sealed
# secret is on our first server, which is no candidate without mandos=connect:ADDRESS.)
grep -q "conf/conf.d/mandos/$binding\$" "$T/listing2" || fail "the image lacks $binding"
sealed_before=$(grep -c "Sending secret to guest2" "$T/server.log" || true)
# start_share_server I PORT: share server I on PORT, its pid in $share_server.
start_share_server() {
	$VALGRIND "$MANDOS" --configdir "$T/conf-s$1" --statedir "$T/state-s$1" --no-dbus \
		--no-zeroconf --no-ipv6 --address 127.0.0.1 --port "$2" --foreground --debug \
		> "$T/share-server$1.log" 2>&1 &
	share_server=$!
	on_exit "kill $share_server"
	wait_for_port "$2"
}
start_share_server 1 "$sport1"
share_server1=$share_server
start_share_server 3 "$sport3"
share_server3=$share_server
boot_guest "$T/root.img" "$T/initrd2.img" "$T/boot5.log" 150 \
	"${append%% mandos=*} mandos=connect"
wait_boot || true
assert_contains "$T/boot5.log" "$MARKER" "guest console (threshold boot)"
assert_contains "$T/boot5.log" "threshold $binding: need 2 of 3 shares" "guest console"
assert_contains "$T/boot5.log" "threshold $binding: share 1 opened, from server $sid1 (" \
	"guest console"
assert_contains "$T/boot5.log" "threshold $binding: share 3 opened, from server $sid3 (" \
	"guest console"
assert_contains "$T/boot5.log" "threshold $binding: 2 of 2 shares, secret recovered" \
	"guest console"
assert_not_contains "$T/boot5.log" "share 2 opened" "guest console"
# Each server's state: the two that answered, with their pinned keys, and the one that is down.
assert_contains "$T/boot5.log" "server 10.0.2.2:$sport1: key ID $sid1 (pinned)" "guest console"
assert_contains "$T/boot5.log" "server 10.0.2.2:$sport3: key ID $sid3 (pinned)" "guest console"
assert_contains "$T/boot5.log" "server 10.0.2.2:$sport2: not reachable (Connection refused)" \
	"guest console"
for i in 1 3; do
	assert_contains "$T/share-server$i.log" "Sending secret to guest2 (protocol 2: escrow" \
		"share server $i's log"
done
assert_eq "$(grep -c "Sending secret to guest2" "$T/server.log" || true)" "$sealed_before" \
	"the sealed secret's deliveries (the first server is not a candidate)"
kill "$share_server1" "$share_server3"
echo "2-of-3 threshold, one server down, unattended boot: ok"
boot_figures 2 "prompt to success (threshold 2 of 3)" "Please unlock disk" \
	"set up successfully" "$T/boot5.log" "$T/initrd2.img" "$T/listing2"

# 2. Disabled client: no unlock by itself; a typed passphrase works.
stop_server
sed -i 's/^checker = true$/checker = true\nenabled = no/' "$T/conf/clients.conf"
start_server "$T/server2.log" --no-restore
boot_guest "$T/root.img" "$T/initrd.img" "$T/boot2.log" 150 $append
wait_for_log "$T/boot2.log" "Please unlock disk" 120 || fail "no passphrase prompt"
# Give the network client time to be refused a few times: it must not unlock.
wait_for 60 grep -q "is disabled" "$T/server2.log" || fail "the guest never asked the server"
sleep 5
assert_not_contains "$T/boot2.log" "$MARKER" "guest console before typing"
console_type "$(cat "$T/pw")"
wait_boot || true
assert_contains "$T/boot2.log" "$MARKER" "guest console after typing the passphrase"
assert_not_contains "$T/server2.log" "Sending secret" "server log of the disabled client"
echo "disabled client, typed passphrase: ok"

# Re-enabled: unattended again.
stop_server
sed -i '/^enabled = no$/d' "$T/conf/clients.conf"
start_server "$T/server3.log" --no-restore
boot_guest "$T/root.img" "$T/initrd.img" "$T/boot3.log" 150 $append
wait_boot || true
assert_contains "$T/boot3.log" "$MARKER" "guest console (re-enabled)"
assert_contains "$T/server3.log" "Sending secret to guest" "server log (re-enabled)"
echo "re-enabled client, unattended again: ok"

# 6. The clock in January 1970 (no RTC battery, say): the guest's kernel takes its time from
# the RTC that QEMU starts one day after the epoch.
sent_before=$(grep -c "Sending secret to guest$" "$T/server3.log" || true)
BOOT_QEMU_ARGS="-rtc base=1970-01-02T00:00:00" \
	boot_guest "$T/root.img" "$T/initrd.img" "$T/boot6.log" 150 $append
wait_boot || true
assert_contains "$T/boot6.log" "setting system clock to 1970-01-02" "guest console (its RTC)"
assert_contains "$T/boot6.log" "$MARKER" "guest console (clock in 1970)"
# The clock the root's init sees is the key files' (made by this test), not 1970's: their
# date, or the next one if they were made just before midnight.
keys_time=$(stat -c %Y "$T/keys/pubkey.txt")
grep -q -e "guest clock: $(date -u -d "@$keys_time" +%Y-%m-%d)" \
	-e "guest clock: $(date -u -d "@$((keys_time + 600))" +%Y-%m-%d)" "$T/boot6.log" ||
	fail "the guest's clock is not the keys' date: $(grep "guest clock" "$T/boot6.log")"
[ "$(grep -c "Sending secret to guest$" "$T/server3.log")" -gt "$sent_before" ] ||
	fail "the server did not send the secret to the guest whose clock was in 1970"
echo "clock in 1970, set from the keys, unattended boot: ok"
