/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Duration parsing and formatting compatible with upstream Mandos. */
#include "duration.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"

/* Read "<digits><unit>" at *p.  Returns 1 if found (and advances *p), 0 if not there. */
static int take_component(const char **p, char unit, uint64_t msec_per_unit, uint64_t *sum,
                          int *err)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9') {
		return 0;
	}
	while (*s >= '0' && *s <= '9') {
		if (v > DURATION_MAX_MSEC) {
			/* Keep scanning so the syntax is still checked; remember the overflow. */
			*err = -ERANGE;
		} else {
			v = v * 10 + (uint64_t)(*s - '0');
		}
		s++;
	}
	if (*s != unit) {
		return 0;
	}
	if (v > DURATION_MAX_MSEC / msec_per_unit) {
		*err = -ERANGE;
	} else {
		*sum += v * msec_per_unit;
		if (*sum > DURATION_MAX_MSEC) {
			*err = -ERANGE;
		}
	}
	*p = s + 1;
	return 1;
}

static bool at_end(const char *p)
{
	/* Upstream matches the end with Python's "$", which also matches before a final "\n". */
	return p[0] == '\0' || (p[0] == '\n' && p[1] == '\0');
}

int duration_parse_rfc3339(const char *s, uint64_t *ret_msec)
{
	const char *p = s;
	uint64_t sum = 0;
	int err = 0;

	if (*p++ != 'P') {
		return -EINVAL;
	}
	if (take_component(&p, 'W', MSEC_PER_WEEK, &sum, &err)) {
		if (!at_end(p)) {
			return -EINVAL;
		}
		goto done;
	}
	/*
	 * Date part.  Upstream's token table allows after "nY" only "nM" or the end, after "nM"
	 * only "nD" or the end, and after "nD" only "T" or the end; so "P1Y2D" is invalid.
	 */
	bool y = take_component(&p, 'Y', 52 * MSEC_PER_WEEK, &sum, &err), m, d;
	if (y && at_end(p)) {
		goto done;
	}
	m = take_component(&p, 'M', 4 * MSEC_PER_WEEK, &sum, &err);
	if (y && !m) {
		return -EINVAL;
	}
	if (m && at_end(p)) {
		goto done;
	}
	d = take_component(&p, 'D', MSEC_PER_DAY, &sum, &err);
	if (m && !d) {
		return -EINVAL;
	}
	if (d && at_end(p)) {
		goto done;
	}
	if (*p != 'T') {
		return -EINVAL;
	}
	p++;
	if (take_component(&p, 'H', MSEC_PER_HOUR, &sum, &err)) {
		if (at_end(p)) {
			goto done;
		}
		/* After hours only minutes or the end: "PT1H5S" is invalid upstream. */
		if (!take_component(&p, 'M', MSEC_PER_MINUTE, &sum, &err)) {
			return -EINVAL;
		}
		if (at_end(p)) {
			goto done;
		}
		if (take_component(&p, 'S', MSEC_PER_SEC, &sum, &err) && at_end(p)) {
			goto done;
		}
		return -EINVAL;
	}
	if (take_component(&p, 'M', MSEC_PER_MINUTE, &sum, &err)) {
		if (at_end(p)) {
			goto done;
		}
		if (take_component(&p, 'S', MSEC_PER_SEC, &sum, &err) && at_end(p)) {
			goto done;
		}
		return -EINVAL;
	}
	if (take_component(&p, 'S', MSEC_PER_SEC, &sum, &err) && at_end(p)) {
		goto done;
	}
	return -EINVAL;
done:
	if (err < 0) {
		return err;
	}
	*ret_msec = sum;
	return 0;
}

static int unit_msec(char c, uint64_t *ret)
{
	switch (c) {
	case 'd':
		*ret = MSEC_PER_DAY;
		return 0;
	case 's':
		*ret = MSEC_PER_SEC;
		return 0;
	case 'm':
		*ret = MSEC_PER_MINUTE;
		return 0;
	case 'h':
		*ret = MSEC_PER_HOUR;
		return 0;
	case 'w':
		*ret = MSEC_PER_WEEK;
		return 0;
	default:
		return -EINVAL;
	}
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int duration_parse(const char *s, uint64_t *ret_msec)
{
	uint64_t sum = 0;
	const char *p = s;
	int r = duration_parse_rfc3339(s, ret_msec);

	if (r != -EINVAL) {
		return r;
	}
	for (;;) {
		uint64_t v = 0, unit;
		bool digits = false;

		while (is_blank(*p)) {
			p++;
		}
		if (!*p) {
			break;
		}
		if (*p == '+') {
			/* Python's int() takes a leading plus sign. */
			p++;
		}
		while (*p >= '0' && *p <= '9') {
			digits = true;
			v = v * 10 + (uint64_t)(*p - '0');
			if (v > DURATION_MAX_MSEC) {
				return -ERANGE;
			}
			p++;
		}
		if (!digits || unit_msec(*p, &unit) < 0) {
			return -EINVAL;
		}
		p++;
		if (*p && !is_blank(*p)) {
			return -EINVAL;
		}
		if (v > (DURATION_MAX_MSEC - sum) / unit) {
			return -ERANGE;
		}
		sum += v * unit;
	}
	*ret_msec = sum;
	return 0;
}

int duration_parse_ctl(const char *s, uint64_t *ret_msec, int *ret_legacy)
{
	uint64_t sum = 0;
	int r = duration_parse_rfc3339(s, ret_msec);

	if (r != -EINVAL) {
		if (r == 0 && ret_legacy) {
			*ret_legacy = 0;
		}
		return r;
	}
	for (const char *p = s; *p;) {
		uint64_t v = 0, unit = 1;

		if (*p < '0' || *p > '9') {
			p++;
			continue;
		}
		while (*p >= '0' && *p <= '9') {
			v = v * 10 + (uint64_t)(*p - '0');
			if (v > DURATION_MAX_MSEC) {
				return -ERANGE;
			}
			p++;
		}
		if (unit_msec(*p, &unit) == 0) {
			p++;
		}
		if (v > (DURATION_MAX_MSEC - sum) / unit) {
			return -ERANGE;
		}
		sum += v * unit;
	}
	*ret_msec = sum;
	if (ret_legacy) {
		*ret_legacy = 1;
	}
	return 0;
}

char *duration_format_python(uint64_t msec, char *buf, size_t size)
{
	uint64_t days = msec / MSEC_PER_DAY, rest = msec % MSEC_PER_DAY;
	unsigned h = (unsigned)(rest / MSEC_PER_HOUR), m = (unsigned)(rest / MSEC_PER_MINUTE % 60),
	         s = (unsigned)(rest / MSEC_PER_SEC % 60), ms = (unsigned)(rest % MSEC_PER_SEC);
	int n = 0;

	if (days) {
		n = snprintf(buf, size, "%llu day%s, ", (unsigned long long)days,
		             days == 1 ? "" : "s");
	}
	if (n >= 0 && (size_t)n < size) {
		if (ms) {
			snprintf(buf + n, size - (size_t)n, "%u:%02u:%02u.%06u", h, m, s,
			         ms * 1000);
		} else {
			snprintf(buf + n, size - (size_t)n, "%u:%02u:%02u", h, m, s);
		}
	}
	return buf;
}

char *duration_format_ctl(uint64_t msec, char *buf, size_t size)
{
	uint64_t days = msec / MSEC_PER_DAY, rest = msec % MSEC_PER_DAY;
	unsigned h = (unsigned)(rest / MSEC_PER_HOUR), m = (unsigned)(rest / MSEC_PER_MINUTE % 60),
	         s = (unsigned)(rest / MSEC_PER_SEC % 60);

	if (days) {
		snprintf(buf, size, "%lluT%02u:%02u:%02u", (unsigned long long)days, h, m, s);
	} else {
		snprintf(buf, size, "%02u:%02u:%02u", h, m, s);
	}
	return buf;
}

char *duration_format_rfc3339(uint64_t msec, char *buf, size_t size)
{
	uint64_t secs = msec / MSEC_PER_SEC;
	uint64_t days = secs / 86400, h = secs / 3600 % 24, m = secs / 60 % 60, s = secs % 60;
	int n;

	if (secs == 0) {
		snprintf(buf, size, "PT0S");
		return buf;
	}
	if (days && days % 7 == 0 && !h && !m && !s) {
		snprintf(buf, size, "P%lluW", (unsigned long long)(days / 7));
		return buf;
	}
	n = snprintf(buf, size, "P");
	if (days) {
		n += snprintf(buf + n, size - (size_t)n, "%lluD", (unsigned long long)days);
	}
	if (h || m || s) {
		n += snprintf(buf + n, size - (size_t)n, "T");
		if (h) {
			n += snprintf(buf + n, size - (size_t)n, "%lluH", (unsigned long long)h);
		}
		/* "T1H5S" is not valid as upstream reads it: minutes must come between. */
		if (m || (h && s)) {
			n += snprintf(buf + n, size - (size_t)n, "%lluM", (unsigned long long)m);
		}
		if (s) {
			snprintf(buf + n, size - (size_t)n, "%lluS", (unsigned long long)s);
		}
	}
	return buf;
}
