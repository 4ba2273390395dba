/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The servers-seen file (spec/protocol-2.md §A.9.3): key ids of servers that gave a secret. */
#pragma once

/*
 * Append "KEYID # WHERE\n" to path unless a line with this key id is there already.  Makes
 * the directory path is in (one level, mode 0755) if missing; the file gets mode 0644.  The
 * caller raises privileges as needed.  Symbolic links are not followed for the file.  Returns
 * 0, or -errno (-EFBIG for a file past 1 MiB).
 */
int servers_seen_add(const char *path, const char *key_id, const char *where);
