/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Text exactly as upstream's Python mandos-ctl prints it: repr(), json.dumps(), textwrap. */
#include "pyfmt.h"

#include <stdlib.h>
#include <string.h>

#include "macro.h"

size_t py_utf8_decode(const char *s, size_t n, uint32_t *ret_cp)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t cp, min;
	size_t len;

	if (u[0] < 0x80) {
		*ret_cp = u[0];
		return 1;
	}
	if (u[0] >= 0xC2 && u[0] <= 0xDF) {
		len = 2;
		cp = u[0] & 0x1F;
		min = 0x80;
	} else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
		len = 3;
		cp = u[0] & 0x0F;
		min = 0x800;
	} else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
		len = 4;
		cp = u[0] & 0x07;
		min = 0x10000;
	} else {
		goto invalid;
	}
	if (n < len) {
		goto invalid;
	}
	for (size_t i = 1; i < len; i++) {
		if ((u[i] & 0xC0) != 0x80) {
			goto invalid;
		}
		cp = cp << 6 | (u[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
		goto invalid;
	}
	*ret_cp = cp;
	return len;
invalid:
	*ret_cp = 0xDC00 + u[0];
	return 1;
}

size_t py_strlen(const char *s)
{
	size_t n = strlen(s), count = 0;
	uint32_t cp;

	for (size_t i = 0; i < n; count++) {
		i += py_utf8_decode(s + i, n - i, &cp);
	}
	return count;
}

/* Python's str.isprintable() for a non-ASCII code point, for the categories that matter. */
static bool is_printable_nonascii(uint32_t cp)
{
	static const uint32_t ranges[][2] = {
	        {0x80, 0xA0},       {0xAD, 0xAD},       {0x600, 0x605},      {0x61C, 0x61C},
	        {0x6DD, 0x6DD},     {0x70F, 0x70F},     {0x1680, 0x1680},    {0x180E, 0x180E},
	        {0x2000, 0x200F},   {0x2028, 0x202F},   {0x205F, 0x2064},    {0x2066, 0x206F},
	        {0x3000, 0x3000},   {0xD800, 0xF8FF},   {0xFEFF, 0xFEFF},    {0xFFF9, 0xFFFB},
	        {0xE0001, 0xE0001}, {0xE0020, 0xE007F}, {0xF0000, 0x10FFFF},
	};

	for (size_t i = 0; i < ELEMENTSOF(ranges); i++) {
		if (cp >= ranges[i][0] && cp <= ranges[i][1]) {
			return false;
		}
	}
	return true;
}

static void put_utf8(FILE *f, uint32_t cp)
{
	if (cp < 0x80) {
		fputc((int)cp, f);
	} else if (cp < 0x800) {
		fputc((int)(0xC0 | cp >> 6), f);
		fputc((int)(0x80 | (cp & 0x3F)), f);
	} else if (cp < 0x10000) {
		fputc((int)(0xE0 | cp >> 12), f);
		fputc((int)(0x80 | (cp >> 6 & 0x3F)), f);
		fputc((int)(0x80 | (cp & 0x3F)), f);
	} else {
		fputc((int)(0xF0 | cp >> 18), f);
		fputc((int)(0x80 | (cp >> 12 & 0x3F)), f);
		fputc((int)(0x80 | (cp >> 6 & 0x3F)), f);
		fputc((int)(0x80 | (cp & 0x3F)), f);
	}
}

static char repr_quote(const void *p, size_t n)
{
	return memchr(p, '\'', n) && !memchr(p, '"', n) ? '"' : '\'';
}

static bool repr_simple_escape(FILE *f, uint32_t c, char quote)
{
	if (c == (uint32_t)quote || c == '\\') {
		fprintf(f, "\\%c", (char)c);
	} else if (c == '\t') {
		fputs("\\t", f);
	} else if (c == '\n') {
		fputs("\\n", f);
	} else if (c == '\r') {
		fputs("\\r", f);
	} else {
		return false;
	}
	return true;
}

void py_repr_str(FILE *f, const char *s)
{
	size_t n = strlen(s);
	char quote = repr_quote(s, n);
	uint32_t cp;

	fputc(quote, f);
	for (size_t i = 0; i < n;) {
		i += py_utf8_decode(s + i, n - i, &cp);
		if (repr_simple_escape(f, cp, quote)) {
			continue;
		}
		if (cp < 0x20 || cp == 0x7F) {
			fprintf(f, "\\x%02x", cp);
		} else if (cp < 0x7F || is_printable_nonascii(cp)) {
			put_utf8(f, cp);
		} else if (cp <= 0xFF) {
			fprintf(f, "\\x%02x", cp);
		} else if (cp <= 0xFFFF) {
			fprintf(f, "\\u%04x", cp);
		} else {
			fprintf(f, "\\U%08x", cp);
		}
	}
	fputc(quote, f);
}

void py_repr_bytes(FILE *f, const void *p, size_t n)
{
	const unsigned char *u = p;
	char quote = repr_quote(p, n);

	fputc('b', f);
	fputc(quote, f);
	for (size_t i = 0; i < n; i++) {
		if (repr_simple_escape(f, u[i], quote)) {
			continue;
		}
		if (u[i] < 0x20 || u[i] >= 0x7F) {
			fprintf(f, "\\x%02x", u[i]);
		} else {
			fputc(u[i], f);
		}
	}
	fputc(quote, f);
}

void py_json_string(FILE *f, const char *s)
{
	size_t n = strlen(s);
	uint32_t cp;

	fputc('"', f);
	for (size_t i = 0; i < n;) {
		i += py_utf8_decode(s + i, n - i, &cp);
		switch (cp) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		default:
			if (cp >= 0x20 && cp <= 0x7E) {
				fputc((int)cp, f);
			} else if (cp <= 0xFFFF) {
				fprintf(f, "\\u%04x", cp);
			} else {
				cp -= 0x10000;
				fprintf(f, "\\u%04x\\u%04x", 0xD800 + (cp >> 10),
				        0xDC00 + (cp & 0x3FF));
			}
		}
	}
	fputc('"', f);
}

static bool is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (unsigned char)c >= 0x80;
}

/*
 * Split text into textwrap's chunks: runs of spaces, and words, where a word breaks after a
 * hyphen that has two letters before it and a letter after it ("self-" "test").
 */
static char **split_chunks(const char *text, size_t *ret_n)
{
	size_t n = 0, cap = 0, len = strlen(text);
	char **v = NULL;

	for (size_t i = 0; i < len;) {
		size_t j = i;

		if (text[i] == ' ') {
			while (j < len && text[j] == ' ') {
				j++;
			}
		} else {
			while (j < len && text[j] != ' ') {
				j++;
				if (text[j - 1] == '-' && j - i >= 3 && is_letter(text[j - 2]) &&
				    is_letter(text[j - 3]) && j < len && is_letter(text[j]) &&
				    j + 1 < len && is_letter(text[j + 1])) {
					break;
				}
			}
		}
		if (n + 2 > cap) {
			char **nv;

			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(char *));
			if (!nv) {
				strv_free(v);
				return NULL;
			}
			v = nv;
		}
		v[n] = strndup(text + i, j - i);
		if (!v[n]) {
			strv_free(v);
			return NULL;
		}
		v[++n] = NULL;
		i = j;
	}
	if (!v) {
		v = calloc(1, sizeof(char *));
	}
	*ret_n = n;
	return v;
}

char **py_textwrap(const char *text, size_t width)
{
	_cleanup_strv_free_ char **chunks = NULL;
	char **lines = NULL;
	size_t n_chunks = 0, n_lines = 0, next = 0;

	chunks = split_chunks(text, &n_chunks);
	if (!chunks) {
		return NULL;
	}
	lines = calloc(n_chunks + strlen(text) + 1, sizeof(char *));
	if (!lines) {
		return NULL;
	}
	while (next < n_chunks) {
		char *line = NULL;
		size_t line_size = 0, cur_len = 0, last_len = 0;
		FILE *f;

		/* Leading whitespace is dropped on every line but the first. */
		if (chunks[next][0] == ' ' && n_lines > 0) {
			next++;
			continue;
		}
		f = open_memstream(&line, &line_size);
		if (!f) {
			strv_free(lines);
			return NULL;
		}
		while (next < n_chunks && cur_len + py_strlen(chunks[next]) <= width) {
			last_len = strlen(chunks[next]);
			cur_len += py_strlen(chunks[next]);
			fputs(chunks[next++], f);
		}
		if (next < n_chunks && py_strlen(chunks[next]) > width) {
			/* A long word: break it to fill the line, at a hyphen if one fits. */
			char *chunk = chunks[next];
			/* As textwrap: a full line takes nothing, the word goes on the next one. */
			size_t space_left = width < 1 ? 1 : width - cur_len, end = space_left;
			size_t clen = strlen(chunk);

			for (size_t h = MIN(space_left, clen); h-- > 1;) {
				if (chunk[h] == '-') {
					bool other = false;

					for (size_t k = 0; k < h; k++) {
						other |= chunk[k] != '-';
					}
					if (other) {
						end = h + 1;
					}
					break;
				}
			}
			end = MIN(end, clen);
			fwrite(chunk, 1, end, f);
			last_len = end;
			memmove(chunk, chunk + end, clen - end + 1);
		}
		if (fclose(f) != 0) {
			free(line);
			strv_free(lines);
			return NULL;
		}
		/* Trailing whitespace is dropped. */
		if (line_size > 0 && line[line_size - 1] == ' ' && last_len > 0) {
			size_t k = line_size;

			while (k > 0 && line[k - 1] == ' ') {
				k--;
			}
			line[k] = '\0';
		}
		if (line[0] != '\0') {
			lines[n_lines++] = line;
		} else {
			free(line);
		}
	}
	return lines;
}
