#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The dracut module 90mandos: script syntax, unit files, ask_for_password(), and install().
. "$(dirname "$0")/lib.sh"
require_cmd bash dash

MOD=$SRC/dracut/90mandos
SETUP=$BUILD/dracut/90mandos/module-setup.sh

echo "# shell syntax"
bash -n "$SETUP" || fail "module-setup.sh"
for f in "$MOD/cmdline-mandos.sh" "$MOD/mandos-crypt-lib.sh"; do
	dash -n "$f" || fail "$f (dash)"
	bash -n "$f" || fail "$f (bash)"
done
grep -q '@[A-Z_]*@' "$SETUP" && fail "module-setup.sh has an unsubstituted @VARIABLE@"
if command -v shellcheck >/dev/null 2>&1; then
	shellcheck -S warning -s bash "$SETUP" || fail "shellcheck module-setup.sh"
	shellcheck -S warning -s dash "$MOD/cmdline-mandos.sh" "$MOD/mandos-crypt-lib.sh" ||
		fail "shellcheck hooks"
fi

# A dracut module directory as installed: the scripts, the units, our password-agent.
moddir=$T/moddir
mkdir -p "$moddir"
cp "$SETUP" "$MOD"/*.sh "$MOD"/ask-password-mandos.* "$moddir/"
cp "$BUILD/dracut/password-agent/password-agent" "$moddir/"

# verify_units ROOT: systemd-analyze verify the two units under ROOT, with no complaint.
verify_units() {
	command -v systemd-analyze >/dev/null 2>&1 || return 0
	_u=$1/usr/lib/systemd/system
	systemd-analyze verify --root="$1" "$_u/ask-password-mandos.path" \
		"$_u/ask-password-mandos.service" >"$T/verify.out" 2>&1 ||
		{ cat "$T/verify.out" >&2; fail "systemd-analyze verify failed"; }
	[ ! -s "$T/verify.out" ] || { cat "$T/verify.out" >&2; fail "systemd-analyze complains"; }
}

echo "# unit files"
root=$T/unitroot
mkdir -p "$root/usr/lib/systemd/system" "$root/lib/mandos"
cp "$MOD"/ask-password-mandos.* "$root/usr/lib/systemd/system/"
cp "$BUILD/dracut/password-agent/password-agent" "$root/lib/mandos/"
cp /bin/true "$root/lib/mandos/mandos-client"
verify_units "$root"
assert_contains "$MOD/ask-password-mandos.path" "PathExistsGlob=/run/systemd/ask-password/ask.*"
assert_contains "$MOD/ask-password-mandos.service" \
	'ExecStart=/lib/mandos/password-agent $PASSWORD_AGENT_OPTIONS -- /lib/mandos/mandos-client'

echo "# ask_for_password() runs plugin-runner into the command, as cryptroot-ask.sh calls it"
cat >"$T/plugin-runner" <<SH
#!/bin/sh
{
	echo "SOURCE=\$CRYPTTAB_SOURCE/\$cryptsource NAME=\$CRYPTTAB_NAME/\$crypttarget"
	printf '[%s]' "\$@"
	echo
} >>"$T/runner.log"
echo pw
SH
# Fails until the file "$T/ok-after" has that many lines.
cat >"$T/cryptsetup" <<SH
#!/bin/sh
read -r pw
echo "args=\$* pw=\$pw" >>"$T/crypt.log"
[ "\$(wc -l <"$T/crypt.log")" -ge "\$(cat "$T/ok-after")" ]
SH
chmod 755 "$T/plugin-runner" "$T/cryptsetup"
call_afp() {
	rm -f "$T/runner.log" "$T/crypt.log"
	echo "$1" >"$T/ok-after"
	set +e
	mandos_plugin_runner=$T/plugin-runner mandos_console_lock=$T/lock \
		mandos_plugin_runner_conf=/etc/mandos/plugin-runner.conf dash -c '
		. "$1"
		ask_for_password --ply-tries 5 \
			--ply-cmd "$2 --allow-discards luksOpen -T1 /dev/vda2 luks-1234" \
			--ply-prompt "Password (/dev/vda2)" --tty-tries 1 \
			--tty-cmd "$2 luksOpen -T5 -t 0 /dev/vda2 luks-1234"' \
		sh "$MOD/mandos-crypt-lib.sh" "$T/cryptsetup" 2>"$T/afp.err"
	rc=$?
	set -e
}
call_afp 1
assert_eq "$rc" 0 "ask_for_password status"
assert_eq "$(cat "$T/crypt.log")" "args=--allow-discards luksOpen -T1 /dev/vda2 luks-1234 pw=pw"
assert_eq "$(head -n 1 "$T/runner.log")" "SOURCE=/dev/vda2//dev/vda2 NAME=luks-1234/luks-1234"
assert_eq "$(sed -n 2p "$T/runner.log")" \
	"[--options-for=plymouth:--prompt=Password (/dev/vda2)][--config-file=/etc/mandos/plugin-runner.conf]"
echo "# a wrong password is tried again, up to the plymouth command's tries"
call_afp 3
assert_eq "$rc" 0 "status after two failures"
assert_eq "$(wc -l <"$T/crypt.log")" 3 "attempts"
call_afp 99
[ "$rc" -ne 0 ] || fail "ask_for_password succeeded with a wrong password"
assert_eq "$(wc -l <"$T/crypt.log")" 5 "attempts"
assert_contains "$T/afp.err" "Wrong password"
echo "# only --cmd/--prompt/--tries, both prompts passed"
rm -f "$T/runner.log" "$T/crypt.log"
echo 1 >"$T/ok-after"
mandos_plugin_runner=$T/plugin-runner mandos_console_lock=$T/lock dash -c '
	. "$1"; ask_for_password --cmd "$2 luksOpen /dev/sdb1 data" --prompt "Disk" --tries 2' \
	sh "$MOD/mandos-crypt-lib.sh" "$T/cryptsetup"
assert_eq "$(sed -n 2p "$T/runner.log")" \
	"[--options-for=password-prompt:--prompt=Disk][--options-for=plymouth:--prompt=Disk][--config-file=/etc/mandos/plugin-runner.conf]"
assert_eq "$(head -n 1 "$T/runner.log")" "SOURCE=/dev/sdb1//dev/sdb1 NAME=data/data"

require_root

echo "# install(): a fake dracut around module-setup.sh"
lib=$T/hostlib
keys=$T/hostkeys
mkdir -p "$lib/plugins.d" "$lib/plugin-helpers" "$keys"
for p in mandos-client password-prompt askpass-fifo plymouth 'old~' .hidden; do
	printf '#!/bin/sh\n' >"$lib/plugins.d/$p"
	chmod 755 "$lib/plugins.d/$p"
done
chmod 4755 "$lib/plugins.d/mandos-client"
printf '#!/bin/sh\n' >"$lib/plugin-runner"
printf '#!/bin/sh\n' >"$lib/plugin-helpers/mandos-client-iprouteadddel"
chmod 755 "$lib/plugin-runner" "$lib/plugin-helpers/mandos-client-iprouteadddel"
for k in pubkey.txt seckey.txt tls-pubkey.pem tls-privkey.pem dhparams.pem 'notes~'; do
	echo "key $k" >"$keys/$k"
	chmod 644 "$keys/$k"
done

cat >"$T/fake-dracut.sh" <<'SH'
# Just enough of dracut's module API for install() and installkernel().
set -u
initdir=$1 moddir=$2 with_systemd=$3 lib=$4 keys=$5 log=$6
systemdsystemunitdir=/usr/lib/systemd/system
hostonly=yes
_put() { mkdir -p "$initdir$(dirname "$2")" && cp -a "$1" "$initdir$2"; }
inst() { _put "$1" "${2:-$1}"; }
inst_simple() { _put "$1" "${2:-$1}"; }
inst_dir() { mkdir -p "$initdir$1"; }
inst_hook() { _put "$3" "/lib/dracut/hooks/$1/$2-${3##*/}"; }
ln_r() { mkdir -p "$initdir$(dirname "$2")" && ln -sfn "$1" "$initdir$2"; }
instmods() { echo "instmods $*" >>"$log"; }
dwarning() { echo "dwarning $*" >>"$log"; }
dracut_module_included() { [ "$1" = systemd ] && [ "$with_systemd" = yes ]; }
. "$moddir/module-setup.sh"
# The host's directories and user, replaced by the test's.
mandos_libdir() { echo "$lib"; }
mandos_keydir() { echo "$keys"; }
mandos_ids() { echo "1234 2345"; }
check || exit 10
[ "$(depends)" = crypt ] || exit 11
installkernel || exit 12
install || exit 13
SH

for mode in yes no; do
	initdir=$T/initdir-$mode
	mkdir -p "$initdir/tmp"
	rm -f "$T/dracut.log"
	bash "$T/fake-dracut.sh" "$initdir" "$moddir" "$mode" "$lib" "$keys" "$T/dracut.log" ||
		fail "install() failed in mode systemd=$mode (status $?)"
	assert_contains "$T/dracut.log" "instmods =drivers/net"
	assert_contains "$T/dracut.log" "instmods ipv6"
	[ "$(stat -c %a "$initdir/tmp")" = 1777 ] || fail "/tmp is not 1777"
	for k in pubkey.txt seckey.txt tls-pubkey.pem tls-privkey.pem dhparams.pem; do
		assert_eq "$(stat -c '%u:%g %a' "$initdir/etc/mandos/keys/$k")" "1234:2345 600" "$k"
	done
	[ ! -e "$initdir/etc/mandos/keys/notes~" ] || fail "a backup file was installed as a key"
	[ -x "$initdir/lib/mandos/plugin-helpers/mandos-client-iprouteadddel" ] ||
		fail "the plugin helper is missing"
done

echo "# with systemd: password-agent, units, the client without setuid, edited ExecStart"
i=$T/initdir-yes
[ -x "$i/lib/mandos/password-agent" ] || fail "password-agent missing"
assert_eq "$(stat -c %a "$i/lib/mandos/mandos-client")" 755 "mandos-client mode"
case "$(readlink "$i/usr/lib/systemd/system/sysinit.target.wants/ask-password-mandos.path")" in
*/ask-password-mandos.path) ;;
*) fail "the .path unit is not wanted by sysinit.target" ;;
esac
unit=$i/usr/lib/systemd/system/ask-password-mandos.service
assert_contains "$unit" 'ExecStart=/lib/mandos/password-agent --user=1234 --group=2345 $PASSWORD_AGENT_OPTIONS -- /lib/mandos/mandos-client'
assert_contains "$unit" '--tls-privkey=/etc/mandos/keys/tls-privkey.pem --dh-params=/etc/mandos/keys/dhparams.pem $MANDOS_CLIENT_OPTIONS'
[ ! -e "$i/lib/mandos/plugin-runner" ] || fail "plugin-runner installed with systemd"
verify_units "$i"

echo "# without systemd: plugin-runner, plugins, hook, configuration"
i=$T/initdir-no
[ -x "$i/lib/mandos/plugin-runner" ] || fail "plugin-runner missing"
[ -e "$i/lib/dracut/hooks/cmdline/20-cmdline-mandos.sh" ] || fail "cmdline hook missing"
[ -e "$i/lib/mandos/mandos-crypt-lib.sh" ] || fail "mandos-crypt-lib.sh missing"
assert_eq "$(cd "$i/lib/mandos/plugins.d" && ls -A | tr '\n' ' ')" \
	"mandos-client password-prompt plymouth " "installed plugins"
assert_eq "$(stat -c '%u:%g %a' "$i/lib/mandos/plugins.d")" "1234:2345 700" "plugins.d"
conf=$i/etc/mandos/plugin-runner.conf
assert_contains "$conf" "--options-for=mandos-client:--pubkey=/etc/mandos/keys/pubkey.txt,--seckey=/etc/mandos/keys/seckey.txt,--tls-pubkey=/etc/mandos/keys/tls-pubkey.pem,--tls-privkey=/etc/mandos/keys/tls-privkey.pem"
assert_contains "$conf" "--userid=1234"
assert_contains "$conf" "--groupid=2345"
assert_contains "$conf" "--options-for=mandos-client:--dh-params=/etc/mandos/keys/dhparams.pem"
[ ! -e "$i/lib/mandos/password-agent" ] || fail "password-agent installed without systemd"

echo "# check() refuses a non-hostonly build"
bash -c '
	dwarning() { echo "$*"; }
	. "$1"
	hostonly=""
	check' sh "$SETUP" >"$T/check.out" && fail "check() accepted a non-hostonly build"
assert_contains "$T/check.out" "Mandos: Dracut not in hostonly mode"

echo "# the host probes: a user and group, and the first existing directories"
ids=$(bash -c '. "$1"; mandos_ids' sh "$SETUP")
echo "$ids" | grep -Eq '^[0-9]+ [0-9]+$' || fail "mandos_ids printed '$ids'"
if dir=$(bash -c '. "$1"; mandos_libdir' sh "$SETUP"); then
	[ -d "$dir" ] || fail "mandos_libdir printed '$dir'"
	case "$dir" in */mandos) ;; *) fail "mandos_libdir printed '$dir'" ;; esac
fi
