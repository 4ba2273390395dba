/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Formats §A.4.3's console lines; the texts are the spec's, word for word. */
#include "p2lines.h"

#include <stdio.h>
#include <string.h>

#include "p2.h"

uint32_t p2line_try_later_seconds(uint32_t value)
{
	if (value < P2_TRY_LATER_MIN) {
		return P2_TRY_LATER_MIN;
	}
	return value > P2_TRY_LATER_MAX ? P2_TRY_LATER_MAX : value;
}

static const char *disabled_reason(uint32_t value)
{
	switch (value) {
	case P2_DISABLED_BY_ADMIN:
		return " (by administrator)";
	case P2_DISABLED_CHECKER:
		return " (checker timed out)";
	case P2_DISABLED_NEVER_OK:
		return " (never checked OK)";
	default:
		return "";
	}
}

/* The server's text as printable ASCII (the library rejects anything else; this keeps the rule
 * where the bytes reach the console).  clean holds P2_TEXT_MAX + 1. */
static size_t sanitize(const char *text, uint16_t tlen, char *clean)
{
	size_t n = tlen < P2_TEXT_MAX ? tlen : P2_TEXT_MAX;

	for (size_t i = 0; i < n; i++) {
		clean[i] = text[i] >= 0x20 && text[i] <= 0x7e ? text[i] : '?';
	}
	clean[n] = '\0';
	return n;
}

static void detail(const char *text, uint16_t tlen, const char *unauth, P2Line *ret)
{
	char clean[P2_TEXT_MAX + 1];

	ret->detail[0] = '\0';
	if (sanitize(text, tlen, clean) > 0) {
		snprintf(ret->detail, sizeof(ret->detail), "%sserver says \"%s\"", unauth, clean);
	}
}

void p2line_result(const P2Result *res, bool pinned, const char *own_key_id, P2Line *ret)
{
	const char *u = pinned ? "" : "(unauthenticated) ";
	char *t = ret->text;
	size_t sz = sizeof(ret->text);

	snprintf(ret->state, sizeof(ret->state), "result %u/%u", res->code,
	         res->code == P2_TRY_LATER ? res->flags & P2_TRY_LATER_RELEASE_LIMIT : 0u);
	switch (res->code) {
	case P2_OK:
		t[0] = '\0';
		ret->detail[0] = '\0';
		return;
	case P2_UNKNOWN_CLIENT:
		snprintf(t, sz, "%sthis machine (key ID %s) is not known to it", u, own_key_id);
		break;
	case P2_DISABLED:
		snprintf(t, sz, "%sclient disabled%s", u, disabled_reason(res->value));
		snprintf(ret->state, sizeof(ret->state), "result %u/%u", res->code, res->value);
		break;
	case P2_DENIED:
		snprintf(t, sz, "%sunlock denied by administrator", u);
		break;
	case P2_APPROVAL_TIMEOUT:
		snprintf(t, sz, "%sapproval timed out", u);
		break;
	case P2_NO_MATERIAL:
		snprintf(t, sz, "%shas no protocol 2 secret for this machine", u);
		break;
	case P2_TRY_LATER:
		snprintf(t, sz, "%s%s, try again in %u s", u,
		         res->flags & P2_TRY_LATER_RELEASE_LIMIT ? "release limit reached" : "busy",
		         p2line_try_later_seconds(res->value));
		break;
	case P2_INTERNAL:
		snprintf(t, sz, "%sinternal error", u);
		break;
	default:
		snprintf(t, sz, "%srefused (code %u)", u, res->code);
		break;
	}
	detail(res->text, res->tlen, u, ret);
}

void p2line_status(const P2Status *st, bool pinned, P2Line *ret)
{
	const char *u = pinned ? "" : "(unauthenticated) ";

	snprintf(ret->state, sizeof(ret->state), "status %u/%u", st->code, st->flags);
	if (st->code == P2_STATUS_AWAITING_APPROVAL) {
		snprintf(ret->text, sizeof(ret->text),
		         "%swaiting for approval (up to %u s, then %s)", u, st->value,
		         st->flags & P2_STATUS_APPROVED_BY_DEFAULT ? "allow" : "deny");
		detail(st->text, st->tlen, u, ret);
		return;
	}
	/* An unknown status shows its text on the same line. */
	{
		char clean[P2_TEXT_MAX + 1];

		if (sanitize(st->text, st->tlen, clean) > 0) {
			snprintf(ret->text, sizeof(ret->text), "%sstatus %u %s", u, st->code,
			         clean);
		} else {
			snprintf(ret->text, sizeof(ret->text), "%sstatus %u", u, st->code);
		}
	}
	ret->detail[0] = '\0';
}
