/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Text forms the server shows: Python-style timestamps, shell quoting, escaped state values. */
#include "format.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macro.h"

realtime_t now_realtime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (realtime_t)ts.tv_sec * 1000000 + (realtime_t)ts.tv_nsec / 1000;
}

static bool split_time(realtime_t t, struct tm *tm, unsigned *usec)
{
	time_t sec = (time_t)(t / 1000000);

	*usec = (unsigned)(t % 1000000);
	return gmtime_r(&sec, tm) != NULL;
}

char *timestamp_format_python(realtime_t t, char *buf, size_t size)
{
	struct tm tm;
	unsigned usec;

	if (t == 0 || !split_time(t, &tm, &usec)) {
		snprintf(buf, size, "None");
		return buf;
	}
	if (usec) {
		snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d.%06u", tm.tm_year + 1900,
		         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
	} else {
		snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
		         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	}
	return buf;
}

char *timestamp_format_iso(realtime_t t, char *buf, size_t size)
{
	struct tm tm;
	unsigned usec;

	if (t == 0 || !split_time(t, &tm, &usec)) {
		snprintf(buf, size, "%s", "");
		return buf;
	}
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06u", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
	return buf;
}

static bool shell_safe(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("@%+=:,./_-", c) != NULL;
}

char *shell_quote(const char *s)
{
	size_t n = 0, quotes = 0;
	bool safe = *s != '\0';
	char *r, *p;

	for (const char *i = s; *i; i++, n++) {
		if (!shell_safe(*i)) {
			safe = false;
		}
		if (*i == '\'') {
			quotes++;
		}
	}
	if (safe) {
		return strdup(s);
	}
	r = malloc(n + quotes * 4 + 3);
	if (!r) {
		return NULL;
	}
	p = r;
	*p++ = '\'';
	for (const char *i = s; *i; i++) {
		if (*i == '\'') {
			memcpy(p, "'\"'\"'", 5);
			p += 5;
		} else {
			*p++ = *i;
		}
	}
	*p++ = '\'';
	*p = '\0';
	return r;
}

char *state_escape(const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	char *r = malloc(len * 3 + 2), *p = r;

	if (!r) {
		return NULL;
	}
	if (len == 0) {
		*p++ = '%';
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x21 || c > 0x7e || c == '%') {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		} else {
			*p++ = (char)c;
		}
	}
	*p = '\0';
	return r;
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	return -1;
}

int state_unescape(const char *s, char **ret, size_t *ret_len)
{
	size_t len = strlen(s), n = 0;
	char *r;

	if (strcmp(s, "%") == 0) {
		r = strdup("");
		if (!r) {
			return -ENOMEM;
		}
		*ret = r;
		if (ret_len) {
			*ret_len = 0;
		}
		return 0;
	}
	r = malloc(len + 1);
	if (!r) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			int a, b;

			if (i + 2 >= len) {
				free(r);
				return -EINVAL;
			}
			a = unhex(s[i + 1]);
			b = a < 0 ? -1 : unhex(s[i + 2]);
			if (a < 0 || b < 0) {
				free(r);
				return -EINVAL;
			}
			r[n++] = (char)(a << 4 | b);
			i += 2;
		} else if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
			free(r);
			return -EINVAL;
		} else {
			r[n++] = s[i];
		}
	}
	r[n] = '\0';
	*ret = r;
	if (ret_len) {
		*ret_len = n;
	}
	return 0;
}

char *py_repr(const char *s)
{
	char q = (strchr(s, '\'') && !strchr(s, '"')) ? '"' : '\'';
	char *r = malloc(strlen(s) * 4 + 3), *p = r;

	if (!r) {
		return NULL;
	}
	*p++ = q;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\' || c == (unsigned char)q) {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else if (c == '\r') {
			*p++ = '\\';
			*p++ = 'r';
		} else if (c == '\t') {
			*p++ = '\\';
			*p++ = 't';
		} else if (c < 0x20 || c == 0x7f) {
			p += sprintf(p, "\\x%02x", c);
		} else {
			*p++ = (char)c;
		}
	}
	*p++ = q;
	*p = '\0';
	return r;
}

int strbuf_add(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = MAX(*cap * 2, *len + n + 64);
		char *b = realloc(*buf, c);

		if (!b) {
			return -ENOMEM;
		}
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}
