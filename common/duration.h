/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Durations exactly as upstream Mandos reads and prints them (spec section 2.4). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* All durations are in milliseconds, as on upstream's D-Bus API. */
#define USEC_PER_MSEC UINT64_C(1000)
#define MSEC_PER_SEC UINT64_C(1000)
#define MSEC_PER_MINUTE (60 * MSEC_PER_SEC)
#define MSEC_PER_HOUR (60 * MSEC_PER_MINUTE)
#define MSEC_PER_DAY (24 * MSEC_PER_HOUR)
#define MSEC_PER_WEEK (7 * MSEC_PER_DAY)

/*
 * The largest duration we accept: 10,000 years.  Larger values in a config file are
 * mistakes, and this keeps every sum far from overflowing.
 */
#define DURATION_MAX_MSEC (UINT64_C(10000) * 365 * MSEC_PER_DAY)

/*
 * Parse an RFC 3339 duration as upstream does: uppercase only; "P" then either "nW" alone,
 * or "[nY][nM][nD]" optionally followed by "T" and "nH[nM[nS]]", "nM[nS]" or "nS".  A month
 * is 4 weeks and a year 52 weeks.  Integers only, at least one component, "T" must be
 * followed by a component.  Returns 0, -EINVAL if malformed, -ERANGE if too large.
 */
int duration_parse_rfc3339(const char *s, uint64_t *ret_msec);

/*
 * Parse a duration as the server reads clients.conf: RFC 3339, or else upstream's older form,
 * whitespace-separated "<integer><d|s|m|h|w>" tokens that are summed ("5m 30s").  An empty
 * or blank string is 0, as upstream.  A bare number or unknown suffix is -EINVAL.  (Upstream
 * also accepted negative numbers there; we reject them: a negative timeout is never meant.)
 */
int duration_parse(const char *s, uint64_t *ret_msec);

/*
 * Parse a duration as mandos-ctl reads its command line: RFC 3339, or else every
 * "<digits><d|s|m|h|w or nothing>" group anywhere in the string, summed, where a bare number
 * means milliseconds and any other character is ignored.  *ret_legacy is set to 1 when the
 * older form was used (mandos-ctl warns then), else 0.
 */
int duration_parse_ctl(const char *s, uint64_t *ret_msec, int *ret_legacy);

/*
 * Format as Python's str(timedelta), which upstream uses for checker %%(timeout)s expansion:
 * "0:05:00", "1 day, 2:03:04", "3 days, 0:00:00", "0:00:00.250000".  Returns buf.
 * A buffer of DURATION_STRING_MAX bytes is always enough.
 */
#define DURATION_STRING_MAX 64
char *duration_format_python(uint64_t msec, char *buf, size_t size);

/* Format as mandos-ctl prints durations: "00:05:00", "1T02:03:05" (days, then H:M:S). */
char *duration_format_ctl(uint64_t msec, char *buf, size_t size);

/*
 * Format as an RFC 3339 duration that duration_parse_rfc3339() reads back exactly and that
 * upstream's parser reads the same way: "PT0S", "PT5M", "P2DT3H", "P3W".  Milliseconds are
 * dropped (RFC 3339 as upstream reads it has no fractions).
 */
char *duration_format_rfc3339(uint64_t msec, char *buf, size_t size);
