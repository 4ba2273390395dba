# shellcheck shell=sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Helpers for tests that use mandos-keygen's escrow and threshold output (spec §B.5): split a
# --threshold output into its per-server sections, and take a keyfile's scalar out of a
# section.  Source after lib.sh.

# split_shares OUT PREFIX: write the section for share I of the --threshold output OUT to
# PREFIX.I (from its "# share I of N" line to the next one); print N.
split_shares() {
	awk -v prefix="$2" '
		/^# share [0-9]+ of [0-9]+ \(threshold [0-9]+\): / { n = $3; f = prefix "." n }
		f != "" { print > f }
		END { print n + 0 }' "$1"
}

# share_server_id FILE: the server key ID that the section FILE (from split_shares) is for.
share_server_id() {
	sed -n 's/^# share [0-9]* of [0-9]* (threshold [0-9]*): only for the server with key ID //p' \
		"$1"
}

# section_only FILE: the clients.conf part of a section printed with --escrow-keyfile (what
# comes before the "# Save the next line alone" comment), or all of it.
section_only() {
	sed '/^# Save the next line alone as /,$d' "$1"
}

# keyfile_scalar FILE: the line after the "# Save the next line alone as" comment in FILE.
keyfile_scalar() {
	sed -n '/^# Save the next line alone as /{n;p;q;}' "$1"
}
