#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Our packages upgrade Debian's upstream mandos and mandos-client in place, in a throwaway
# Debian root (never on the host): configuration and keys stay byte for byte, the protocol 2
# keys appear (the client's seal key, the server key) and nothing else, the escrow keyfile
# directory /var/lib/mandos/escrow is the server user's (0700), our server
# started as its systemd unit says keeps upstream's client state (a disabled client, a changed
# timeout), the enabled client unlocks and the disabled one gets nothing; then our packages
# are removed and upstream's installed again.
#
# The packages come from MANDOS_TEST_DEBS (a directory with mandos_*.deb and
# mandos-client_*.deb, as scripts/build-debs.sh makes them), or are built here.
. "$(dirname "$0")/../integration/lib.sh"

require_root
require_cmd mmdebstrap unshare chroot python3

if [ -n "${MANDOS_TEST_DEBS:-}" ]; then
	debs=$MANDOS_TEST_DEBS
else
	require_cmd dpkg-buildpackage lintian
	debs=$T/debs
	"$SRC/scripts/build-debs.sh" "$debs" >"$T/build-debs.log" 2>&1 ||
		{ cat "$T/build-debs.log" >&2; fail "the packages did not build"; }
fi
set -- "$debs"/mandos_*.deb
[ -f "$1" ] || fail "no mandos_*.deb in $debs"
set -- "$debs"/mandos-client_*.deb
[ -f "$1" ] || fail "no mandos-client_*.deb in $debs"

R=$T/root

# Every process whose root directory is $R: what the test started inside, and their children.
procs_in_root() {
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$R" ] && echo "${p#/proc/}"
	done
	return 0
}
kill_in_root() {
	for sig in TERM TERM TERM KILL KILL; do
		pids=$(procs_in_root)
		[ -n "$pids" ] || return 0
		# shellcheck disable=SC2086
		kill -s "$sig" $pids 2>/dev/null || true
		sleep 1
	done
}
# The mounts below live in private mount namespaces, one per command, and go away with the
# last process of each; the host never sees them.
on_exit kill_in_root

# exec_in_root CMD...: become CMD run in the root, with /proc, /dev and /sys, and a clean
# environment (CMD keeps the caller's PID: use it as the last command of a subshell).
exec_in_root() {
	exec unshare -m --propagation private sh -c '
		R=$1; shift
		mount -t proc proc "$R/proc" && mount --rbind /dev "$R/dev" &&
			mount -t sysfs sys "$R/sys" || exit 99
		exec chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
			TMPDIR=/tmp DEBIAN_FRONTEND=noninteractive "$@"' sh "$R" "$@"
}
# in_root CMD...: run CMD in the root and wait for it.
in_root() {
	(exec_in_root "$@")
}
# kill_in_root_named NAME: stop the processes called NAME that run in the root.
kill_in_root_named() {
	for p in $(procs_in_root); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$1" ] && kill "$p" 2>/dev/null
	done
	return 0
}
apt_in_root() {
	in_root apt-get -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef \
		-o Dpkg::Options::=--force-confold "$@"
}

# 1. A minimal bookworm root with upstream's packages (the package source is the host's).
mmdebstrap --quiet --variant=apt --include=systemd,dbus bookworm "$R" >"$T/mmdebstrap.log" 2>&1 ||
	{ tail -n 30 "$T/mmdebstrap.log" >&2; fail "mmdebstrap failed"; }
cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"
in_root apt-get -q update >"$T/apt.log" 2>&1 || { cat "$T/apt.log" >&2; fail "apt-get update"; }
apt_in_root install mandos mandos-client >>"$T/apt.log" 2>&1 ||
	{ tail -n 40 "$T/apt.log" >&2; fail "installing upstream's packages failed"; }
upstream_version=$(in_root dpkg-query -W -f '${Version}' mandos)
case $upstream_version in
*+c*) fail "mandos $upstream_version in the root is not upstream's" ;;
esac
[ -r "$R/etc/keys/mandos/tls-pubkey.pem" ] || fail "upstream's postinst made no client keys"

# 2. Two clients: alpha with the keys upstream's postinst made, bravo with keys of its own.
port=$(random_port)
printf 'port = %s\nzeroconf = False\n' "$port" >>"$R/etc/mandos/mandos.conf"
sed -i 's/^DAEMON_ARGS=.*/DAEMON_ARGS="--debug"/' "$R/etc/default/mandos"
printf 'alpha secret\n' >"$R/root/alpha.pw"
printf 'bravo secret\n' >"$R/root/bravo.pw"
mkdir -m 700 "$R/root/bravo"
in_root mandos-keygen --dir /root/bravo --length 2048 --sublength 2048 >"$T/keygen.log" 2>&1 ||
	{ cat "$T/keygen.log" >&2; fail "mandos-keygen (bravo's keys)"; }
for c in alpha:/etc/keys/mandos bravo:/root/bravo; do
	in_root mandos-keygen --dir "${c#*:}" --name "${c%%:*}" --passfile "/root/${c%%:*}.pw" \
		--no-ssh >>"$R/etc/mandos/clients.conf" 2>"$T/keygen.log" ||
		{ cat "$T/keygen.log" >&2; fail "mandos-keygen (${c%%:*}'s section)"; }
	printf 'checker = true\n\n' >>"$R/etc/mandos/clients.conf"
done
printf '\n# edited by the administrator\n' >>"$R/etc/mandos/plugin-runner.conf"

# start_server LOG: start the server as its systemd unit says (the unit's EnvironmentFile and
# ExecStart, on a fresh system bus in the root), and wait until it answers on the bus.
start_server() {
	kill_in_root_named dbus-daemon
	wait_for 10 sh -c "! [ -e '$R/run/dbus/pid' ] || ! kill -0 \$(cat '$R/run/dbus/pid')" ||
		fail "the old system bus in the root did not stop"
	in_root sh -c 'rm -f /run/dbus/pid; mkdir -p /run/dbus && dbus-daemon --system --fork' ||
		fail "no system bus in the root"
	unit=$R/lib/systemd/system/mandos.service
	[ -f "$unit" ] || unit=$R/usr/lib/systemd/system/mandos.service
	[ -f "$unit" ] || fail "no mandos.service in the root"
	envfiles=$(sed -n 's/^EnvironmentFile=//p' "$unit" | tr '\n' ' ')
	exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
	[ -n "$exec_start" ] || fail "no ExecStart in $unit"
	# shellcheck disable=SC2016
	(exec_in_root sh -c 'exec_start=$1; shift
		for f; do
			case $f in -*) f=${f#-}; [ -r "$f" ] || continue ;; esac
			set -a; . "$f"; set +a
		done
		eval "exec $exec_start"' sh "$exec_start" $envfiles) >"$1" 2>&1 &
	server_pid=$!
	wait_for 60 in_root mandos-ctl || { cat "$1" >&2; fail "the server did not come up"; }
}
stop_server() {
	kill -TERM "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
}
# dump_check LABEL: mandos-ctl --dump-json shows bravo disabled and alpha's changed timeout.
dump_check() {
	in_root mandos-ctl --dump-json >"$T/dump-$1.json" 2>"$T/ctl.log" ||
		{ cat "$T/ctl.log" >&2; fail "$1: mandos-ctl --dump-json"; }
	python3 - "$T/dump-$1.json" "$1" <<'EOF' || fail "$1: the clients' state is not as set"
import json, sys
d = json.load(open(sys.argv[1]))
ok = (d["alpha"]["Enabled"] is True and d["bravo"]["Enabled"] is False
      and d["alpha"]["Timeout"] == 7200000)
if not ok:
	print(sys.argv[2], {n: {k: d[n][k] for k in ("Enabled", "Timeout")} for n in d},
	      file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
}

# 3. Upstream's server: disable bravo, give alpha a timeout of two hours, stop it (it saves its
# state in clients.pickle).  Upstream's server can lose the pickle on its way out (its cleanup
# races gpg-agent removing its own sockets: FileNotFoundError on S.gpg-agent.*); that run is
# done again, at most three times (as in tests/integration/server-state-import.sh).
for try in 1 2 3; do
	start_server "$T/upstream-server.log"
	in_root mandos-ctl --disable bravo || fail "mandos-ctl --disable"
	in_root mandos-ctl --timeout PT2H alpha || fail "mandos-ctl --timeout"
	dump_check upstream
	stop_server
	[ ! -s "$R/var/lib/mandos/clients.pickle" ] || break
	tail -n 20 "$T/upstream-server.log" >&2
	grep -q "FileNotFoundError: .*S\.gpg-agent" "$T/upstream-server.log" && [ "$try" -lt 3 ] ||
		fail "upstream's server saved no clients.pickle"
	echo "upstream's server lost its pickle to its GnuPG cleanup race; again" >&2
done

# snapshot: mode, owner and checksum of every file and directory under /etc/mandos and
# /etc/keys/mandos.
snapshot() {
	(cd "$R" && find etc/mandos etc/keys/mandos -exec stat -c '%a %u:%g %n' {} + | sort &&
		find etc/mandos etc/keys/mandos -type f -exec sha256sum {} + | sort -k 2)
}
snapshot >"$T/before"

# 4. The upgrade, as an administrator does it.
cp "$debs"/mandos_*.deb "$debs"/mandos-client_*.deb "$R/tmp/"
# shellcheck disable=SC2046
apt_in_root install $(cd "$R" && ls tmp/mandos_*.deb tmp/mandos-client_*.deb | sed 's|^|/|') \
	>"$T/upgrade.log" 2>&1 || { tail -n 40 "$T/upgrade.log" >&2; fail "the upgrade failed"; }
for p in mandos mandos-client; do
	v=$(in_root dpkg-query -W -f '${Version} ${db:Status-Abbrev}' "$p")
	case $v in
	*+c*' ii ') ;;
	*) fail "after the upgrade $p is '$v'" ;;
	esac
done
# Every file there before is there, byte for byte, with its mode and owner; the only new files
# are dpkg's copies of the new package's versions of edited conffiles (FILE.dpkg-dist) and the
# protocol 2 keys our postinsts make where absent.
P2_NEW='etc/keys/mandos/seal-p\(riv\|ub\)key[.]pem\|etc/mandos/server-\(pub\)\?key[.]pem'
same_files() { # LABEL
	snapshot | grep -v '[.]dpkg-dist$' | grep -v " \($P2_NEW\)\$" >"$T/after" || true
	if ! cmp -s "$T/before" "$T/after"; then
		diff "$T/before" "$T/after" >&2 || true
		fail "$1 changed files under /etc/mandos or /etc/keys/mandos"
	fi
}
same_files "the upgrade"
# new_keys LABEL: the protocol 2 keys are there, with their modes (secret ones for root only).
new_keys() {
	for f in keys/mandos/seal-privkey.pem:600 keys/mandos/seal-pubkey.pem:644 \
		mandos/server-key.pem:600 mandos/server-pubkey.pem:644; do
		assert_eq "$(stat -c '%a %u' "$R/etc/${f%:*}" 2>/dev/null)" "${f#*:} 0" \
			"$1: mode and owner of /etc/${f%:*}"
	done
	in_root openssl pkey -in /etc/keys/mandos/seal-privkey.pem -noout 2>/dev/null ||
		fail "$1: the seal key is not a key OpenSSL reads"
}
new_keys "the upgrade"
assert_eq "$(in_root stat -c '%a %U' /var/lib/mandos)" "700 _mandos" "/var/lib/mandos"
# The escrow keyfiles' directory, the server user's (decisions.md "Keyfile ownership").
assert_eq "$(in_root stat -c '%a %U %G' /var/lib/mandos/escrow)" "700 _mandos _mandos" \
	"/var/lib/mandos/escrow"
# Upstream's SysV script (and its start links) and its copy of the D-Bus policy under /etc are
# gone: ours is in /usr/share/dbus-1/system.d.
[ ! -e "$R/etc/init.d/mandos" ] || fail "upstream's /etc/init.d/mandos is still there"
[ -z "$(ls "$R"/etc/rc?.d/*mandos 2>/dev/null)" ] ||
	fail "rc links to upstream's SysV script remain"
[ ! -e "$R/etc/dbus-1/system.d/mandos.conf" ] || fail "upstream's D-Bus policy in /etc remains"

# 5. Our server, started as our unit says, with upstream's state.
start_server "$T/server.log"
dump_check ours
plugin=$(cd "$R" && ls usr/lib/*/mandos/plugins.d/mandos-client)
[ "$(stat -c %a "$R/$plugin")" = 4755 ] || fail "/$plugin is not setuid"
mkdir -p "$R/root/nohooks"
client() { # NAME KEYDIR [OPTIONS...]
	n=$1 k=$2
	shift 2
	in_root timeout 300 "/$plugin" --connect="[::1]:$port" --interface=none \
		--network-hook-dir=/root/nohooks --pubkey="$k/pubkey.txt" --seckey="$k/seckey.txt" \
		--tls-pubkey="$k/tls-pubkey.pem" --tls-privkey="$k/tls-privkey.pem" "$@" \
		>"$T/out-$n" 2>"$T/err-$n"
}
client alpha /etc/keys/mandos || { cat "$T/err-alpha" >&2; fail "alpha did not unlock"; }
cmp -s "$T/out-alpha" "$R/root/alpha.pw" || fail "alpha got something else than its secret"
# bravo is refused and retries until stopped; wait for the server's refusal, then stop it.
client bravo /root/bravo --retry=1 &
bravo_pid=$!
wait_for 60 grep -q "Client bravo is disabled" "$T/server.log" ||
	{ kill "$bravo_pid"; cat "$T/server.log" >&2; fail "the server never refused bravo"; }
kill_in_root_named mandos-client
wait "$bravo_pid" 2>/dev/null || true
[ ! -s "$T/out-bravo" ] || fail "the disabled client bravo got a secret"
stop_server

# 6. Back to upstream's packages: remove ours, install theirs from the archive.
apt_in_root remove mandos mandos-client >"$T/remove.log" 2>&1 ||
	{ tail -n 40 "$T/remove.log" >&2; fail "apt-get remove of our packages failed"; }
apt_in_root install mandos mandos-client >"$T/reinstall.log" 2>&1 ||
	{ tail -n 40 "$T/reinstall.log" >&2; fail "reinstalling upstream's packages failed"; }
for p in mandos mandos-client; do
	v=$(in_root dpkg-query -W -f '${Version} ${db:Status-Abbrev}' "$p")
	assert_eq "$v" "$upstream_version ii " "$p after the reinstall"
done
same_files "going back to upstream's packages"
start_server "$T/upstream-server-2.log"
dump_check "upstream again"
stop_server
kill_in_root_named dbus-daemon

# 7. A first install of ours on a machine without Mandos: the maintainer scripts make the user,
# the state directory and the client's keys (printing the new key_id); installing again
# replaces no key; a purge removes them.
apt_in_root purge mandos mandos-client >"$T/purge.log" 2>&1 ||
	{ tail -n 40 "$T/purge.log" >&2; fail "purging upstream's packages failed"; }
[ ! -e "$R/etc/keys/mandos/seckey.txt" ] || fail "upstream's purge left the keys"
# Upstream's purge does not know the protocol 2 keys ours made: remove them, for a machine
# that never had Mandos.
rm -f "$R"/etc/keys/mandos/seal-*.pem "$R"/etc/mandos/server-*.pem
# shellcheck disable=SC2046
apt_in_root install $(cd "$R" && ls tmp/mandos_*.deb tmp/mandos-client_*.deb | sed 's|^|/|') \
	>"$T/fresh.log" 2>&1 ||
	{ tail -n 40 "$T/fresh.log" >&2; fail "a first install of ours failed"; }
for f in pubkey.txt seckey.txt tls-pubkey.pem tls-privkey.pem; do
	assert_eq "$(stat -c %a "$R/etc/keys/mandos/$f" 2>/dev/null)" 600 \
		"mode of /etc/keys/mandos/$f"
done
key_id=$(in_root certtool --key-id --hash=sha256 --infile=/etc/keys/mandos/tls-pubkey.pem |
	tr a-f A-F)
assert_contains "$T/fresh.log" "key_id = $key_id" "the first install's output"
new_keys "the first install"
server_key_id=$(in_root openssl pkey -pubin -in /etc/mandos/server-pubkey.pem -outform der |
	sha256sum | cut -d' ' -f1 | tr a-f A-F)
assert_contains "$T/fresh.log" "    $server_key_id" "the first install's output (server key)"
assert_eq "$(in_root stat -c '%a %U' /var/lib/mandos)" "700 _mandos" \
	"/var/lib/mandos (first install)"
assert_eq "$(in_root stat -c '%a %U %G' /var/lib/mandos/escrow)" "700 _mandos _mandos" \
	"/var/lib/mandos/escrow (first install)"
assert_eq "$(stat -c %a "$R/etc/mandos/clients.conf")" 600 "mode of /etc/mandos/clients.conf"
(cd "$R" && sha256sum etc/keys/mandos/* etc/mandos/server-*) >"$T/keys"
# shellcheck disable=SC2046
apt_in_root install --reinstall $(cd "$R" && ls tmp/mandos_*.deb tmp/mandos-client_*.deb |
	sed 's|^|/|') >"$T/again.log" 2>&1 ||
	{ tail -n 40 "$T/again.log" >&2; fail "installing ours again failed"; }
(cd "$R" && sha256sum etc/keys/mandos/* etc/mandos/server-*) | cmp -s - "$T/keys" ||
	fail "a reinstall replaced keys"
assert_not_contains "$T/again.log" "key_id =" "the reinstall's output"
apt_in_root purge mandos mandos-client >"$T/purge.log" 2>&1 ||
	{ tail -n 40 "$T/purge.log" >&2; fail "purging our packages failed"; }
[ -z "$(ls -A "$R/etc/keys/mandos" 2>/dev/null)" ] || fail "our purge left keys behind"
[ ! -e "$R/etc/mandos/server-key.pem" ] && [ ! -e "$R/etc/mandos/server-pubkey.pem" ] ||
	fail "our purge left the server key behind"
# (Upstream's clients.pickle is not ours to remove: upstream's purge leaves it too.)
[ -z "$(ls -A "$R/var/lib/mandos" 2>/dev/null | grep -vx clients.pickle)" ] ||
	fail "our purge left files in /var/lib/mandos: $(ls -A "$R/var/lib/mandos")"
echo "upstream's packages upgraded in place and back; ours install and purge cleanly"
