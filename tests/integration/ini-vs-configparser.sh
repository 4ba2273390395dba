#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Differential test: our ini reader and Python's ConfigParser (as upstream uses it) must read
# the same files into the same values, and reject the same files.  Every rejection from ours
# must be one line that starts with FILE:LINE.
. "$(dirname "$0")/lib.sh"
require_cmd python3

cat > "$T/dump.py" <<'PY'
import configparser, sys
p = configparser.ConfigParser()
try:
    with open(sys.argv[1]) as f:
        p.read_file(f)
    for sec in ["DEFAULT"] + p.sections():
        items = p.defaults() if sec == "DEFAULT" else None
        keys = list(p.defaults()) + [k for k in p[sec] if k not in p.defaults()] if sec != "DEFAULT" else list(p.defaults())
        for k in keys:
            print("[%s] %s=%s" % (sec, k, p.get(sec, k)))
except configparser.Error as e:
    print("ERROR", type(e).__name__)
    sys.exit(1)
PY

n=0
case_file() {
	n=$((n + 1))
	f="$T/case$n.conf"
	cat > "$f"
	py_rc=0
	python3 "$T/dump.py" "$f" > "$T/py.out" 2>&1 || py_rc=$?
	our_rc=0
	$VALGRIND "$BUILD/tests/tools/ini-tool" "$f" > "$T/our.out" 2> "$T/our.err" || our_rc=$?
	if [ "$py_rc" -eq 0 ]; then
		[ "$our_rc" -eq 0 ] || { cat "$T/our.err" >&2; fail "case $n: ConfigParser accepts, we reject"; }
		cmp -s "$T/py.out" "$T/our.out" || {
			diff -u "$T/py.out" "$T/our.out" >&2 || true
			fail "case $n: values differ"
		}
	else
		[ "$our_rc" -ne 0 ] || { cat "$T/py.out" >&2; fail "case $n: ConfigParser rejects, we accept"; }
		[ "$(wc -l < "$T/our.err")" -eq 1 ] || fail "case $n: error is not one line"
		grep -q "^$f:[0-9][0-9]*: " "$T/our.err" || fail "case $n: error lacks FILE:LINE: $(cat "$T/our.err")"
	fi
}

case_file <<'X'
[DEFAULT]
timeout = PT5M
interval: 2m
checker = fping -q -- %%(host)s
h = example.org

[foo]
host = %(h)s
secret =
    hQIMA1234
    abcd

    ==
Timeout = PT1M
[bar]
  host : bar.%(h)s
extended_timeout=PT15M
X
case_file <<'X'
# comment
; comment
[DEFAULT]
a = 1
# inside
    b
c = x = y
d: 100%%
e = %(a)s%(d)s
X
case_file <<'X'
[DEFAULT]
k = 1
[x]
[DEFAULT]
j = 2
[a] x ]
z = 3
X
case_file <<'X'
[s]
v = line1
	tab-continued

    after blank
w =
X
# Rejections.
case_file <<'X'
no_header = 1
X
case_file <<'X'
[a]
k = 1
[a]
X
case_file <<'X'
[a]
k = 1
K = 2
X
case_file <<'X'
[DEFAULT]
k = 1
[DEFAULT]
k = 2
X
case_file <<'X'
[a]
words without delimiter
X
case_file <<'X'
[a]
k = %(missing)s
X
case_file <<'X'
[a]
k = 50% off
X
case_file <<'X'
[a]
k = %(k)s
X
case_file <<'X'
[a]
= v
X
echo "$n cases agree with Python's ConfigParser"
