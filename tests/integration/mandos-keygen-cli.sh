#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# mandos-keygen's command line: --password from a pipe, a file or a terminal (tmux), --test FILE
# with a space, and exit status 1 on every error, also when gpg fails.
. "$(dirname "$0")/lib.sh"
require_cmd gpg certtool setsid
. "$(dirname "$0")/tmux-lib.sh"
KG="sh $BUILD/helpers/mandos-keygen/mandos-keygen"
export TMPDIR="$T"

K=$T/keys
mkdir "$K"
$KG --dir "$K" -l 2048 -L 2048 -n kghost >/dev/null 2>&1 || fail "keygen failed"

# secret_of SECTION: the password a section made for $K holds, decrypted, in $T/got.
mkdir -m 700 "$T/gh"
on_exit "gpgconf --homedir $T/gh --kill gpg-agent"
gpg --homedir "$T/gh" --quiet --batch --import "$K/seckey.txt" 2>/dev/null || fail "import"
secret_of() {
	sed -n '/^secret =/,/^[^ ]/s/^    //p' "$1" | base64 -d >"$T/got.gpg" ||
		fail "$1: no base64 secret"
	gpg --homedir "$T/gh" --quiet --batch --decrypt "$T/got.gpg" >"$T/got" 2>/dev/null ||
		fail "$1: the secret does not decrypt"
}
# expect_secret SECTION PRINTF-FORMAT: the section's password is exactly these bytes.
expect_secret() {
	secret_of "$1"
	printf "$2" >"$T/want"
	cmp -s "$T/got" "$T/want" || fail "$1: secret '$(cat "$T/got")', expected '$(cat "$T/want")'"
}
# pipe_pw PRINTF-FORMAT [ARGS]: --password with that input and no terminal at all; $rc.
pipe_pw() {
	_in=$1
	shift
	rc=0
	printf "$_in" | setsid -w $KG --dir "$K" --password --no-ssh --name kghost "$@" \
		>"$T/out" 2>"$T/err" || rc=$?
}

echo "# --password reads a pipe, without a terminal: the two lines, exactly"
pipe_pw 'pipe pw\npipe pw\n'
assert_eq "$rc" 0 "--password from a pipe: $(cat "$T/err")"
assert_eq "$(head -n 1 "$T/out")" "[kghost]" "stdout is the section only"
assert_not_contains "$T/out" "passphrase"
expect_secret "$T/out" 'pipe pw'
pipe_pw '  two  words \\n\n  two  words \\n\n'
assert_eq "$rc" 0 "spaces and a backslash"
expect_secret "$T/out" '  two  words \\n'
pipe_pw 'no newline\nno newline'
assert_eq "$rc" 0 "a last line without a newline"
expect_secret "$T/out" 'no newline'
# The same from a file on stdin, a closed stdin, and the errors: each exits 1, prints nothing.
rc=0
printf 'file pw\nfile pw\n' >"$T/pwfile"
setsid -w $KG --dir "$K" -p -S -n kghost <"$T/pwfile" >"$T/out" 2>"$T/err" || rc=$?
assert_eq "$rc" 0 "--password from a file on stdin"
expect_secret "$T/out" 'file pw'
pw_error() { # WHAT MESSAGE: the last pipe_pw failed with status 1 and MESSAGE, no section
	assert_eq "$rc" 1 "exit status, $1"
	assert_contains "$T/err" "$2" "$1"
	[ ! -s "$T/out" ] || fail "$1: something on stdout"
}
pipe_pw 'one\ntwo\n'
pw_error "mismatch" "Passphrase mismatch"
pipe_pw ''
pw_error "empty input" "No passphrase given"
pipe_pw 'once\n'
pw_error "one line" "The passphrase was not repeated"
pipe_pw '\n\n'
pw_error "empty passphrase" "Empty passphrase"
rc=0
setsid -w $KG --dir "$K" -p -S <&- >"$T/out" 2>"$T/err" || rc=$?
pw_error "closed stdin" "No passphrase given"

echo "# a pipe with a controlling terminal: prompts on the terminal, never on stdout"
tm_run "printf 'tty pw\\ntty pw\\n' | $KG --dir $K -p -S -n kghost >$T/out 2>$T/err"
tm_wait_rc
assert_eq "$rc" 0 "pipe with a terminal: $(cat "$T/err")"
tm_screen | grep -q "^Enter passphrase: *$" || fail "no prompt on the terminal: $(tm_screen)"
tm_screen | grep -q "^Repeat passphrase: *$" || fail "no second prompt: $(tm_screen)"
assert_not_contains "$T/out" "passphrase"
expect_secret "$T/out" 'tty pw'
if [ -x /usr/sbin/mandos-keygen ]; then
	# Upstream's keygen reads the same pipe the same way (its prompts need the terminal).
	tm_run "printf 'tty pw\\ntty pw\\n' | TMPDIR=$T /usr/sbin/mandos-keygen --dir $K -p -S \
		-n kghost >$T/out 2>$T/err"
	tm_wait_rc
	assert_eq "$rc" 0 "upstream's keygen with a pipe: $(cat "$T/err")"
	expect_secret "$T/out" 'tty pw'
fi

echo "# typed on a terminal: echo off, a mismatch and an empty one ask again, spaces kept"
tm_run "$KG --dir $K -p -S -n kghost >$T/out 2>$T/err"
tm_wait_text "Enter passphrase:"
assert_eq "$(tm_echo_state)" "-echo" "echo while asking"
$TM send-keys -t "$tm" -l ' typed pw '
$TM send-keys -t "$tm" Enter
tm_wait_text "Repeat passphrase:"
! tm_screen | grep -q "typed" || fail "the passphrase was echoed"
$TM send-keys -t "$tm" -l 'other'
$TM send-keys -t "$tm" Enter
wait_for 10 grep -q "Passphrase mismatch" "$T/err" || fail "no mismatch message"
wait_for 10 sh -c "[ \$($TM capture-pane -p -t $tm | grep -c 'Enter passphrase:') -ge 2 ]" ||
	fail "not asked again after a mismatch: $(tm_screen)"
$TM send-keys -t "$tm" Enter
$TM send-keys -t "$tm" Enter
wait_for 10 grep -q "Empty passphrase" "$T/err" || fail "no empty-passphrase message"
wait_for 10 sh -c "[ \$($TM capture-pane -p -t $tm | grep -c 'Enter passphrase:') -ge 3 ]" ||
	fail "not asked again after an empty passphrase: $(tm_screen)"
$TM send-keys -t "$tm" -l ' typed pw '
$TM send-keys -t "$tm" Enter
$TM send-keys -t "$tm" -l ' typed pw '
$TM send-keys -t "$tm" Enter
tm_wait_rc
assert_eq "$rc" 0 "typed passphrase"
assert_eq "$(tm_echo_state)" "echo" "echo restored"
expect_secret "$T/out" ' typed pw '
echo "# Ctrl-D on a terminal: status 1, echo restored"
tm_run "$KG --dir $K -p -S -n kghost >$T/out 2>$T/err"
tm_wait_text "Enter passphrase:"
$TM send-keys -t "$tm" C-d
tm_wait_rc
assert_eq "$rc" 1 "Ctrl-D"
assert_contains "$T/err" "No passphrase given"
assert_eq "$(tm_echo_state)" "echo" "echo restored after Ctrl-D"
echo "# Ctrl-C on a terminal: status 130, echo restored, no temporary files left"
tm_run "$KG --dir $K -p -S -n kghost >$T/out 2>$T/err"
tm_wait_text "Enter passphrase:"
$TM send-keys -t "$tm" C-c
tm_wait_rc
assert_eq "$rc" 130 "Ctrl-C"
assert_eq "$(tm_echo_state)" "echo" "echo restored after Ctrl-C"
! ls -d "$T"/mandos-keygen.* >/dev/null 2>&1 ||
	fail "temporary files left: $(ls -d "$T"/mandos-keygen.*)"

echo "# --test FILE (with a space), --test=FILE, --test - and --test alone read the same"
printf 'pw\npw\n' | $KG --dir "$K" -p -S -n kghost >"$T/sec" 2>/dev/null || fail "section"
for args in "--test $T/sec" "--test=$T/sec" "--test $T/sec --name kghost" \
	"--name kghost --test $T/sec"; do
	$KG --dir "$K" $args >"$T/t" 2>"$T/err" || fail "$args: $(cat "$T/err")"
	assert_contains "$T/t" "[kghost]: the secret decrypts" "$args"
done
for args in "--test" "--test -" "--test --name kghost"; do
	$KG --dir "$K" $args <"$T/sec" >"$T/t" 2>"$T/err" || fail "$args: $(cat "$T/err")"
	assert_contains "$T/t" "[kghost]: the secret decrypts" "$args"
done
rc=0; $KG --dir "$K" --test "$T/nonexistent" >/dev/null 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "--test with a missing file"
assert_contains "$T/err" "Cannot read $T/nonexistent"
rc=0; $KG --dir "$K" --test "$T/sec" extra >/dev/null 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "--test FILE with one word too many"
assert_contains "$T/err" "Unknown arguments"

echo "# gpg failures exit 1 with a message (gpg itself exits 2)"
# An OpenPGP key that can only sign: nothing to encrypt to.
mkdir -m 700 "$T/gso" "$T/signonly"
on_exit "gpgconf --homedir $T/gso --kill gpg-agent"
gpg --homedir "$T/gso" --quiet --batch --passphrase '' --quick-gen-key signonly rsa2048 sign \
	never 2>/dev/null || fail "sign-only key"
gpg --homedir "$T/gso" --quiet --batch --armor --export-secret-keys >"$T/signonly/seckey.txt"
gpg --homedir "$T/gso" --quiet --batch --armor --export >"$T/signonly/pubkey.txt"
rc=0
printf 'pw\npw\n' | $KG --dir "$T/signonly" -p -S >"$T/out" 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "encryption to a sign-only key"
assert_contains "$T/err" "Cannot encrypt the password to the OpenPGP key"
# gpg failing to write the key files (a gpg that refuses the export).
mkdir "$T/bin" "$T/k2"
cat >"$T/bin/gpg" <<EOF
#!/bin/sh
for a; do
	[ "\$a" != --export-secret-keys ] || { echo "gpg: refused" >&2; exit 2; }
done
exec $(command -v gpg) "\$@"
EOF
chmod +x "$T/bin/gpg"
rc=0
PATH="$T/bin:$PATH" $KG --dir "$T/k2" -l 2048 -L 2048 >/dev/null 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "gpg failing to export the key"
assert_contains "$T/err" "Cannot write $T/k2/seckey.txt"
echo ok
