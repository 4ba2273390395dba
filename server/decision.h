/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One record per release decision (issue 14): the connection code fills a DecisionRecord when
 * it answers a request, and decision_report() hands it to the audit log and the metrics.
 */
#pragma once

#include <stdint.h>

typedef enum DecisionResult {
	DECISION_GRANTED,          /* the secret (or escrow answer) was sent */
	DECISION_UNKNOWN_CLIENT,   /* no client has this key */
	DECISION_DISABLED,
	DECISION_DENIED,           /* an administrator denied */
	DECISION_APPROVAL_TIMEOUT, /* approval_delay passed without approval */
	DECISION_LIMIT,            /* release limit */
	DECISION_BUSY,             /* per-client concurrency cap */
	DECISION_NO_MATERIAL,      /* protocol 2: nothing to send for this request */
	DECISION_UNAVAILABLE,      /* the shared state cannot be trusted (etcd quorum lost) */
	DECISION_ABORTED,          /* the peer went away while the decision waited */
	DECISION_ERROR,            /* the answer could not be made or sent */
	_DECISION_MAX,
} DecisionResult;

/* "granted", "unknown_client", "disabled", ... (the audit log's and the metrics' words). */
const char *decision_result_name(DecisionResult d);

typedef struct DecisionRecord {
	int protocol;           /* 1 or 2 */
	DecisionResult result;
	const char *client;     /* the client's name, NULL when unknown */
	const char *key_id;     /* hex key ID the peer authenticated with, or NULL */
	const char *address;    /* the peer's address, as logged */
	const char *interface;  /* the receiving interface's name, or NULL */
	const char *reason;     /* a few words (e.g. "disabled by the checker"), or NULL; never
	                         * a secret */
	uint64_t latency_usec;  /* from accept() to the decision */
} DecisionRecord;

/* Audit and count one decision.  Cheap; never blocks the event loop. */
void decision_report(const DecisionRecord *d);
