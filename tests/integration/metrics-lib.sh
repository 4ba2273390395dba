# SPDX-License-Identifier: GPL-3.0-or-later
# Helpers for the metrics tests (source after lib.sh): scrape the server's endpoint at $MADDR
# (HOST:PORT or a Unix socket path) and read its values.
TOOL="$SRC/tests/integration/metrics-tool.py"
require_cmd python3

# scrape [ADDR]: GET /metrics; the body in $T/metrics (200 or fail).
scrape() {
	python3 "$TOOL" get "${1:-$MADDR}" /metrics > "$T/scrape" || fail "scrape of ${1:-$MADDR} failed"
	assert_eq "$(head -n 1 "$T/scrape")" 200 "status of GET /metrics"
	tail -n +2 "$T/scrape" > "$T/metrics"
}

# value SERIES: its value in the last scrape ('name{a="b",...}' as the server writes it).
value() {
	python3 "$TOOL" value "$T/metrics" "$1" || fail "no $1 in the scrape"
}

# value_is SERIES VALUE: a new scrape has it so (for wait_for).
value_is() {
	scrape && [ "$(value "$1")" = "$2" ]
}

# wait_value SERIES VALUE [SECONDS]: wait for it (20 s by default, scaled), then check.
wait_value() {
	wait_for "${3:-20}" value_is "$1" "$2" || true
	assert_eq "$(value "$1")" "$2" "$1"
}

# assert_families NAME:TYPE...: a new scrape is in the exposition format 0.0.4 and has each
# family, with that type.
assert_families() {
	scrape
	python3 "$TOOL" check "$T/metrics" || { cat "$T/metrics" >&2; fail "bad exposition format"; }
	for _af in "$@"; do
		assert_contains "$T/metrics" "# TYPE ${_af%%:*} ${_af#*:}"
	done
}
