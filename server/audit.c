/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The audit log: placeholder until branch audit lands (issue 14). */
#include "audit.h"

int audit_open(const ServerSettings *settings)
{
	(void)settings;
	return 0;
}

int audit_reopen(void)
{
	return 0;
}

void audit_record(const DecisionRecord *d)
{
	(void)d;
}

void audit_close(void)
{
}
