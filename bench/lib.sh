# SPDX-License-Identifier: GPL-3.0-or-later
# Helpers shared by bench/run.sh and bench/etcd.sh (POSIX sh; source it): py, results_write.

# py EXPRESSION: print the Python expression's value, or "-" when it cannot be computed (a "-"
# input).
py() {
	python3 -c "print($1)" 2>/dev/null || echo -
}

# results_write NAME TEXT: put TEXT between "<!-- NAME begin -->" and "<!-- NAME end -->" in
# bench/README.md (both markers must be there).
results_write() {
	python3 - "$(dirname "$0")/README.md" "$1" "$2" <<'PY'
import sys
path, name, table = sys.argv[1:4]
text = open(path).read()
begin, end = "<!-- %s begin -->" % name, "<!-- %s end -->" % name
head, rest = text.split(begin, 1)
tail = rest.split(end, 1)[1]
open(path, "w").write(head + begin + "\n" + table + "\n" + end + tail)
PY
}
