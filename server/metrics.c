/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Prometheus metrics: placeholder until branch metrics lands (issue 14). */
#include "metrics.h"

int metrics_start(Manager *m)
{
	(void)m;
	return 0;
}

void metrics_stop(void)
{
}

void metrics_decision(const DecisionRecord *d)
{
	(void)d;
}

void metrics_connection_opened(void)
{
}

void metrics_connection_closed(void)
{
}

void metrics_connection_refused(const char *reason)
{
	(void)reason;
}

void metrics_handshake_failed(int protocol)
{
	(void)protocol;
}
