/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Hands each release decision to the audit log and the metrics. */
#include "decision.h"

#include "audit.h"
#include "metrics.h"

static const char *const result_names[_DECISION_MAX] = {
        [DECISION_GRANTED] = "granted",
        [DECISION_UNKNOWN_CLIENT] = "unknown_client",
        [DECISION_DISABLED] = "disabled",
        [DECISION_DENIED] = "denied",
        [DECISION_APPROVAL_TIMEOUT] = "approval_timeout",
        [DECISION_LIMIT] = "release_limit",
        [DECISION_BUSY] = "busy",
        [DECISION_NO_MATERIAL] = "no_material",
        [DECISION_UNAVAILABLE] = "unavailable",
        [DECISION_ABORTED] = "aborted",
        [DECISION_ERROR] = "error",
};

const char *decision_result_name(DecisionResult d)
{
	return (unsigned)d < _DECISION_MAX ? result_names[d] : "error";
}

void decision_report(const DecisionRecord *d)
{
	audit_record(d);
	metrics_decision(d);
}
