#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The plymouth plugin with fake plymouth and plymouthd programs that record how they are called.
. "$(dirname "$0")/lib.sh"

PL="$BUILD/plugins.d/plymouth/plymouth"
LOG=$T/plymouth.log

# The fake client: logs its arguments; --ping answers from $T/ping-rc; ask-for-password
# prints a password, or hangs when $T/hang exists; quit kills the fake daemon.
cat > "$T/plymouth" << EOF2
#!/bin/sh
printf '%s\n' "\$*" >> $LOG
case "\$1" in
--ping) exit \$(cat $T/ping-rc 2>/dev/null || echo 0) ;;
ask-for-password)
	if [ -e $T/hang ]; then
		while :; do sleep 0.1; done
	fi
	printf 'ply-pw' ;;
quit) kill \$(cat $T/plymouthd.pid) ;;
esac
exit 0
EOF2
cat > "$T/plymouthd" << EOF2
#!/bin/sh
echo \$\$ > $T/plymouthd.pid
printf '%s\n' "\$*" >> $T/plymouthd.log
trap 'kill \$!; exit 0' TERM
sleep 600 &
wait
EOF2
chmod 755 "$T/plymouth" "$T/plymouthd"
FAKE="--plymouth=$T/plymouth --plymouthd=$T/plymouthd --pid-file=$T/plymouthd.pid"
on_exit 'kill $(cat '"$T"'/plymouthd.pid)'

echo "# the password from plymouth ask-for-password, with cryptsetup's question"
rc=0
cryptsource=/dev/sda2 crypttarget=root $VALGRIND "$PL" $FAKE > "$T/out" || rc=$?
assert_eq "$rc:$(cat "$T/out")" "0:ply-pw" "password"
assert_eq "$(sed -n 1p "$LOG")" "--ping" "pings first"
assert_eq "$(sed -n 2,3p "$LOG")" "ask-for-password --prompt=Unlocking the disk /dev/sda2 (root)
Enter passphrase" "question"
: > "$LOG"
CRYPTTAB_SOURCE=/dev/x $VALGRIND "$PL" $FAKE --prompt="Say it" > "$T/out"
assert_eq "$(sed -n 2p "$LOG")" "ask-for-password --prompt=Say it" "--prompt"
: > "$LOG"
env -u cryptsource -u crypttarget CRYPTTAB_SOURCE=/dev/x $VALGRIND "$PL" $FAKE > "$T/out"
assert_eq "$(sed -n 2,3p "$LOG")" "ask-for-password --prompt=Unlocking the disk
Enter passphrase" "CRYPTTAB_* are not used"

echo "# no plymouth program, or plymouthd not running: 69"
rc=0
$VALGRIND "$PL" --plymouth="$T/none" > "$T/out" 2>&1 || rc=$?
assert_eq "$rc:$(cat "$T/out")" "69:" "no plymouth program, silently"
echo 1 > "$T/ping-rc"
rc=0
$VALGRIND "$PL" $FAKE > "$T/out" || rc=$?
assert_eq "$rc:$(cat "$T/out")" "69:" "plymouthd not running"
rm "$T/ping-rc"

echo "# SIGTERM while asking: plymouthd restarted with its old arguments, splash shown, exit 1"
"$T/plymouthd" --mode=boot --attach-to-session --tty=tty1 &
wait_for 5 test -s "$T/plymouthd.pid" || fail "fake plymouthd did not start"
old=$(cat "$T/plymouthd.pid")
touch "$T/hang"
: > "$LOG"
$VALGRIND "$PL" $FAKE > "$T/out" &
pid=$!
on_exit "kill -9 $pid"
wait_for 10 grep -q ask-for-password "$LOG" || fail "never asked"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
assert_eq "$rc" 1 "exit code after SIGTERM"
assert_eq "$(sed -n '/^quit/,$p' "$LOG" | tr '\n' '|')" "quit|show-splash|" "quit, then show-splash"
# (The new plymouthd writes its pid when it gets to run: read the file at each try.)
wait_for 5 sh -c "[ \"\$(cat '$T/plymouthd.pid')\" != $old ]" || fail "plymouthd was not restarted"
! kill -0 "$old" 2> /dev/null || fail "the old plymouthd still runs"
assert_eq "$(grep -c -- '--mode=boot --attach-to-session --tty=tty1$' "$T/plymouthd.log")" 2 \
	"restarted with the same arguments"
! pgrep -f "ask-for-password" -P "$pid" > /dev/null 2>&1 || fail "ask-for-password left running"

echo "# installed set-user-ID root: --plymouth runs with the caller's rights only"
if [ "$(id -u)" -eq 0 ] && command -v setpriv > /dev/null; then
	mkdir "$T/suid"
	chmod 755 "$T/suid"
	cp "$PL" "$T/suid/plymouth"
	chmod 4755 "$T/suid/plymouth"
	printf '#!/bin/sh\nid -u > %s/ran-as\n' "$T/suid" > "$T/suid/fake"
	chmod 755 "$T/suid/fake"
	chmod 777 "$T/suid"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$T/suid/plymouth" \
		--plymouth="$T/suid/fake" < /dev/null > /dev/null 2>&1 || true
	assert_eq "$(cat "$T/suid/ran-as")" 65534 "--plymouth ran with root's rights"
fi

echo "# --help, --version: 0"
for o in --help --version --usage; do
	$VALGRIND "$PL" $o > "$T/out" || fail "$o"
done
assert_contains "$T/out" "Usage: plymouth"
echo "plymouth: ok"
