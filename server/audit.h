/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The audit log (issue 14): one JSON object per line per decision (audit_log = FILE), or a
 * journal entry with structured MANDOS_* fields (audit_log = journal).  Never a secret.
 */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "decision.h"
#include "format.h"

/* Open what settings->audit_log names (nothing when ""); server_name from settings or the
 * host name.  A file is opened O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, mode 0640 (before the
 * privilege drop, so it may be in a directory only root can write).  Returns 0 or -errno
 * (logged with the path; the server does not start: exit status EX_CANTCREAT). */
int audit_open(const ServerSettings *settings);

/* SIGHUP: reopen the file (for logrotate) by its path, as the server's user now.  Returns 0
 * (also when there is no file) or -errno (logged; the old file stays in use). */
int audit_reopen(void);

/* Whether records go anywhere (a file or the journal): callers skip work only the audit log
 * needs (the receiving interface's name) when not. */
bool audit_enabled(void);

/* One record (called by decision_report()); a failed write is logged once until a write
 * works again, never fatal.  Nothing is kept of d. */
void audit_record(const DecisionRecord *d);

/*
 * The JSON line of d (with its '\n') as the file gets it: the fields of decisions.md in their
 * order, time = t (µs since the epoch, UTC with microseconds and "Z"), server = server; NULL
 * strings are null, strings JSON-escaped (invalid UTF-8 becomes U+FFFD).  Returns a malloc()ed
 * string or NULL (out of memory).
 */
char *audit_format_json(const DecisionRecord *d, const char *server, realtime_t t);

/* Close the file (the journal needs nothing).  Records after it are dropped. */
void audit_close(void);
