#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# password-agent runs the client like a setuid-root program started by --user/--group.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/password-agent-lib.sh"
require_root

# "sh -p" keeps the effective IDs that dash would otherwise reset to the real ones.
fake_client ids 'printf "%s %s %s %s" "$(id -ru)" "$(id -u)" "$(id -rg)" "$(id -g)"'

check_ids() {
	want=$1
	shift
	rm -f "$T/ids.out" "$T/ids.sock"
	listen ids
	ask ids
	run_agent "$PA" -d "$ASKDIR" "$@" "$T/ids"
	assert_eq "$rc" 0 "exit status with '$*'"
	assert_eq "$(received ids)" "b'+$want\\x00'" "real/effective uid and gid with '$*'"
	rm -f "$ASKDIR"/ask.*
}

echo "# default: real 65534, effective 0"
check_ids "65534 0 65534 0"
echo "# --user/--group"
check_ids "1234 0 2345 0" --user=1234 --group=2345
echo "# -u/-g"
check_ids "1235 0 2346 0" -u 1235 -g 2346
echo "# hidden --userid/--groupid"
check_ids "1236 0 2347 0" --userid=1236 --groupid=2347

echo "# saved IDs are 0 too, and no supplementary groups are left"
cat >"$T/ids.py" <<'PY'
#!/usr/bin/python3
import os
print(os.getresuid(), os.getresgid(), os.getgroups(), end="")
PY
chmod 755 "$T/ids.py"
rm -f "$T/ids.out" "$T/ids.sock"
listen ids
ask ids
run_agent "$PA" -d "$ASKDIR" "$T/ids.py"
assert_eq "$rc" 0 "exit status"
assert_eq "$(received ids)" "b'+(65534, 0, 0) (65534, 0, 0) []\\x00'" "getresuid/getresgid/groups"
