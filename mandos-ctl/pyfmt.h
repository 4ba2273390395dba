/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Text exactly as upstream's Python mandos-ctl prints it: repr(), json.dumps(), textwrap. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Decode one code point of UTF-8 at s (n bytes available, n >= 1) the way Python decodes
 * command-line arguments (strict UTF-8 with surrogateescape): an invalid byte b becomes the
 * code point 0xDC00 + b.  Stores the code point in *ret_cp and returns the bytes consumed.
 */
size_t py_utf8_decode(const char *s, size_t n, uint32_t *ret_cp);

/* Length of a UTF-8 string in code points, as Python's len() counts it. */
size_t py_strlen(const char *s);

/* Write Python's repr() of a str given as UTF-8 (single quotes unless only ' occurs). */
void py_repr_str(FILE *f, const char *s);

/* Write Python's repr() of a bytes object: b'...'. */
void py_repr_bytes(FILE *f, const void *p, size_t n);

/* Write a JSON string literal as Python's json.dumps() does with ensure_ascii (the default). */
void py_json_string(FILE *f, const char *s);

/*
 * Wrap text as Python's textwrap.wrap(text, width) does after argparse collapsed its
 * whitespace: greedy fill on words, hyphenated words may break after the hyphen, words longer
 * than a line are broken.  Returns a NULL-terminated array of malloc()ed lines (free with
 * strv_free()), or NULL on ENOMEM.
 */
char **py_textwrap(const char *text, size_t width);
