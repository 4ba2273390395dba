/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The shared document of one client in etcd (fleet.c): its fields, and its JSON text. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"

/*
 * The document at PREFIX "clients/" NAME, a JSON object (numbers are integers, times µs since
 * the epoch, 0 = never):
 *
 *   enabled          true or false
 *   disabled_reason  "admin", "timeout" or "" (enabled, or not known)
 *   changed          when the newest enable or disable was made; the newest wins
 *   changed_by       the server_name (or host name) of the server that made it
 *   last_enabled     the maximum wins
 *   last_checked_ok  the latest checker success on any server: the maximum wins
 *   expires          the disable deadline while enabled (0 when disabled): the maximum wins
 *   approval         the latest Approve()/Deny: {"approve": bool, "at": µs, "until": µs}
 *                    (the newest "at" wins), or null
 *   approved_until   ApproveFor()'s end, 0 = none; approved_until_at: when it was set (the
 *                    newest wins, a cancel included)
 *   releases         release times of the rolling 24 h window: the union, sorted, at most
 *                    max(release_limit, 1), the newest
 *
 * A local timeout disable does not win over a future `expires` another server wrote (its
 * checker succeeded): the client is kept enabled with that deadline instead.  Fields of other
 * versions are ignored, missing ones are 0.
 */
typedef struct FleetDoc {
	bool enabled;
	ClientDisabledBy reason;
	realtime_t changed;
	char *changed_by;
	realtime_t last_enabled, last_checked_ok, expires;
	bool approve;
	realtime_t approval_at, approval_until;
	realtime_t approved_until, approved_until_at;
	realtime_t *releases;
	size_t n_releases;
} FleetDoc;

void fleet_doc_done(FleetDoc *d);
/* A deep copy.  Returns 0 or -ENOMEM (nothing in *to). */
int fleet_doc_copy(const FleetDoc *from, FleetDoc *to);
bool fleet_doc_equal(const FleetDoc *a, const FleetDoc *b);
/*
 * Parse len bytes of JSON.  Returns 0, -EBADMSG (not a JSON object) or -ENOMEM.  Fields
 * that are missing or of the wrong type are 0 (false, ""); unknown fields are ignored.
 */
int fleet_doc_parse(const uint8_t *data, size_t len, FleetDoc *ret);
/* The JSON text (one line, no spaces), malloc()ed, or NULL (ENOMEM). */
char *fleet_doc_format(const FleetDoc *d);
