/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Checked parsers: no atoi, no silent truncation, every failure reported. */
#include "parse-util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

int parse_uint64(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (!s || !*s) {
		return -EINVAL;
	}
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9') {
			return -EINVAL;
		}
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10) {
			return -ERANGE;
		}
		v = v * 10 + d;
	}
	if (v > max) {
		return -ERANGE;
	}
	*ret = v;
	return 0;
}

int parse_uint(const char *s, unsigned max, unsigned *ret)
{
	uint64_t v;
	int r = parse_uint64(s, max, &v);

	if (r < 0) {
		return r;
	}
	*ret = (unsigned)v;
	return 0;
}

int parse_id(const char *s, unsigned *ret)
{
	/* (uid_t)-1 means "no change" to setresuid() and friends: never a valid id. */
	return parse_uint(s, UINT32_MAX - 1, ret);
}

int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret)
{
	bool negative = false;
	uint64_t mag;
	int64_t v;
	int r;

	if (!s) {
		return -EINVAL;
	}
	if (*s == '-' || *s == '+') {
		negative = *s == '-';
		s++;
	}
	r = parse_uint64(s, negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &mag);
	if (r < 0) {
		return r;
	}
	if (negative) {
		v = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
	} else {
		v = (int64_t)mag;
	}
	if (v < min || v > max) {
		return -ERANGE;
	}
	*ret = v;
	return 0;
}

int parse_port(const char *s, uint16_t *ret)
{
	unsigned v;
	int r = parse_uint(s, 65535, &v);

	if (r < 0) {
		return r;
	}
	*ret = (uint16_t)v;
	return 0;
}

int parse_seconds(const char *s, double max, double *ret)
{
	char *end;
	double v;

	if (!s || !*s || isspace((unsigned char)*s)) {
		return -EINVAL;
	}
	/* Only plain decimal notation: strtod would also take hex, "inf" and "nan". */
	for (const char *p = s; *p; p++) {
		if (!strchr("0123456789.eE+-", *p)) {
			return -EINVAL;
		}
	}
	errno = 0;
	v = strtod(s, &end);
	if (*end || end == s) {
		return -EINVAL;
	}
	if (errno == ERANGE || !isfinite(v) || v > max) {
		return -ERANGE;
	}
	if (v < 0) {
		return -ERANGE;
	}
	*ret = v;
	return 0;
}

int parse_boolean(const char *s, bool *ret)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};

	for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

int base64_decode_secbuf(const char *text, size_t len, SecBuf *out)
{
	size_t decoded = 0, old_len = out->len;
	const char *end = NULL;
	int r;

	/* Decoded data is never longer than 3/4 of the text. */
	r = secbuf_reserve(out, len / 4 * 3 + 3);
	if (r < 0) {
		return r;
	}
	if (sodium_base642bin(out->data + out->len, out->cap - out->len, text, len, " \t\r\n\f\v",
	                      &decoded, &end, sodium_base64_VARIANT_ORIGINAL) != 0) {
		sodium_memzero(out->data + old_len, out->cap - old_len);
		return -EINVAL;
	}
	/* libsodium stops at the first character it cannot use; anything left is garbage. */
	for (const char *p = end ? end : text + len; p < text + len; p++) {
		if (!strchr(" \t\r\n\f\v", *p)) {
			sodium_memzero(out->data + old_len, out->cap - old_len);
			return -EINVAL;
		}
	}
	out->len += decoded;
	out->data[out->len] = '\0';
	return 0;
}
