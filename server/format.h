/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Text forms the server shows: Python-style timestamps, shell quoting, escaped state values. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Microseconds since the epoch (CLOCK_REALTIME); 0 means "never" (Python's None). */
typedef uint64_t realtime_t;

/* The current CLOCK_REALTIME in microseconds. */
realtime_t now_realtime(void);

/* Buffer size that fits every timestamp form below. */
#define TIMESTAMP_STRING_MAX 48

/*
 * As Python's str(datetime) of a naive UTC time: "2024-01-02 03:04:05.123456", without the
 * fraction when it is zero; "None" for 0.  Returns buf.
 */
char *timestamp_format_python(realtime_t t, char *buf, size_t size);

/*
 * As upstream's D-Bus timestamps (isoformat() of naive UTC): "2024-01-02T03:04:05.123456",
 * always with microseconds; "" for 0.  Returns buf.
 */
char *timestamp_format_iso(realtime_t t, char *buf, size_t size);

/*
 * Quote a string for /bin/sh as Python's shlex.quote(): unchanged when it only holds
 * [A-Za-z0-9@%+=:,./_-] and is not empty, else in single quotes with ' written as '"'"'.
 * Returns a malloc()ed string or NULL.
 */
char *shell_quote(const char *s);

/*
 * Escape arbitrary bytes for one line of the state file: bytes outside 0x21..0x7e and '%'
 * become "%XX".  An empty string becomes "%".  Returns a malloc()ed string or NULL.
 */
char *state_escape(const char *s, size_t len);

/* Undo state_escape().  Returns 0 with a malloc()ed NUL-terminated *ret, or -EINVAL/-ENOMEM. */
int state_unescape(const char *s, char **ret, size_t *ret_len);

/*
 * Append n bytes of s to the malloc()ed string *buf (*len bytes used, *cap allocated), growing
 * it as needed, and keep it NUL-terminated.  Returns 0 or -ENOMEM (then *buf is unchanged).
 */
int strbuf_add(char **buf, size_t *len, size_t *cap, const char *s, size_t n);

/*
 * As Python's repr() of a str, for log lines that upstream writes with %r: 'text' (or "text"
 * when it holds ' but no "), backslash, the quote and control characters escaped.
 * Returns a malloc()ed string or NULL.
 */
char *py_repr(const char *s);
