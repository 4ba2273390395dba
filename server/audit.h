/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The audit log (issue 14): one JSON object per line per decision (audit_log = FILE), or a
 * journal entry with structured MANDOS_* fields (audit_log = journal).  Never a secret.
 */
#pragma once

#include "config.h"
#include "decision.h"

/* Open what settings->audit_log names (nothing when ""); server_name from settings or the
 * host name.  Returns 0 or -errno (logged; the server does not start). */
int audit_open(const ServerSettings *settings);

/* SIGHUP: reopen the file (for logrotate).  Returns 0 or -errno (logged; the old file
 * stays). */
int audit_reopen(void);

/* One record (called by decision_report()); a failed write is logged once, never fatal. */
void audit_record(const DecisionRecord *d);

void audit_close(void);
