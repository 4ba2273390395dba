/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Checked parsing of numbers, booleans and base64, for command lines and config files. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secmem.h"

/*
 * Parse a whole string as an unsigned decimal integer no greater than max.  No sign, no
 * leading or trailing space, no empty string.  Returns 0 and sets *ret, -EINVAL for a malformed
 * string, -ERANGE when above max.  *ret is untouched on failure.
 */
int parse_uint64(const char *s, uint64_t max, uint64_t *ret);

/* As parse_uint64() into an unsigned int / a uid or gid (numeric only, not (uid_t)-1). */
int parse_uint(const char *s, unsigned max, unsigned *ret);
int parse_id(const char *s, unsigned *ret);

/* A signed decimal integer in [min, max] ("-12" and "+12" allowed). */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);

/* A TCP/UDP port 0..65535. */
int parse_port(const char *s, uint16_t *ret);

/*
 * A finite, non-negative decimal floating point number (as C strtod in the C locale reads
 * it; no hex, no inf/nan), at most max.  For --delay and --retry.
 */
int parse_seconds(const char *s, double max, double *ret);

/*
 * A boolean as Python's ConfigParser reads one: 1/yes/true/on and 0/no/false/off, any case.
 * Returns 0 or -EINVAL.
 */
int parse_boolean(const char *s, bool *ret);

/*
 * Decode standard base64 (with padding) that may contain spaces, tabs and newlines anywhere.
 * The decoded bytes are appended to `out` (a SecBuf, as the data is usually a secret).
 * Returns 0, -EINVAL for invalid base64 (bad character, bad padding, trailing garbage), or
 * a SecBuf error (-EFBIG, -ENOMEM).  On failure `out` has its previous length.
 */
int base64_decode_secbuf(const char *text, size_t len, SecBuf *out);
