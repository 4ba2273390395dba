# SPDX-License-Identifier: GPL-3.0-or-later
# Helpers for tests that read the server's audit log (audit_log = FILE; man mandos(8) AUDIT
# LOG).  Source after lib.sh.  The checks are tests/integration/audit-check.py's:
#   audit_check FILE [COUNT]    every line one JSON object with exactly the documented fields,
#                               in order, of the right form; COUNT lines if given
#   audit_count FILE [K=V...]   print how many lines have these values (V as text, "null";
#                               K>=N: a number of at least N)
#   audit_last FILE K=V...      the last line has these values
#   audit_wait FILE COUNT [S]   wait (S seconds, default 15, scaled) until FILE has COUNT lines
#   audit_no_secret LOG... [--raw FILE...] [--b64 FILE...]
#                               no LOG holds a secret (raw, hex, base64) of these files:
#                               --raw the file's bytes, --b64 its base64 text and decoding
require_cmd python3
AUDIT_CHECK="python3 $SRC/tests/integration/audit-check.py"

audit_check() {
	$AUDIT_CHECK check "$@" >/dev/null || {
		_audit_show "$1"
		fail "audit log $1 does not check"
	}
}

audit_count() {
	$AUDIT_CHECK count "$@" || fail "cannot read the audit log $1"
}

audit_last() {
	$AUDIT_CHECK last "$@" || {
		_audit_show "$1"
		fail "last line of the audit log $1"
	}
}

_audit_lines() {
	[ "$(wc -l < "$1" 2>/dev/null || echo 0)" -ge "$2" ]
}

audit_wait() {
	wait_for "${3:-15}" _audit_lines "$1" "$2" || {
		_audit_show "$1"
		fail "the audit log $1 has not $2 lines"
	}
}

audit_no_secret() {
	$AUDIT_CHECK secrets "$@" >/dev/null || fail "a secret in the audit log"
}

_audit_show() {
	echo "--- $1:" >&2
	tail -n 20 "$1" >&2 2>/dev/null || true
}
