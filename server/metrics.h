/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Prometheus metrics (issue 14): process-wide counters, and a text-format (0.0.4) HTTP
 * endpoint on metrics_address served from the event loop, with a bounded number of scrapers,
 * a bounded request size and a deadline, so it can never block or starve the unlocks.
 */
#pragma once

#include <stdbool.h>

#include "decision.h"

typedef struct Manager Manager;

/* Listen on settings->metrics_address (nothing when "") and register the checker observer.
 * After manager_setup_loop().  Returns 0 or -errno (logged; the server does not start). */
int metrics_start(Manager *m);
void metrics_stop(void);

/* Counters, called where things happen (cheap, no allocation). */
void metrics_decision(const DecisionRecord *d); /* from decision_report() */
void metrics_connection_opened(void);
void metrics_connection_closed(void);
void metrics_connection_refused(const char *reason); /* "rate", "source", "total", "max" */
void metrics_handshake_failed(int protocol);
