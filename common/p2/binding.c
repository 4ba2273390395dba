/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Protocol 2 binding files (§B.3): the strict parser, the formatter and the loader. */
#include "escrow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "io-util.h"
#include "macro.h"

#define BINDING_COMMENT "# Mandos protocol 2 escrow binding\n"
#define ADDRESS_MAX 300

typedef enum BindingKey {
	K_VERSION,
	K_THRESHOLD,
	K_SHARES,
	K_DATA_NONCE,
	K_DATA_BOX,
	K_SERVER,
	K_ADDRESS,
	K_KID,
	K_S,
	K_C,
	K_NONCE,
	K_BOX,
	K_COUNT,
} BindingKey;

static const char *const key_names[K_COUNT] = {
        "version", "threshold", "shares", "data_nonce", "data_box", "server",
        "address", "kid",       "s",      "c",          "nonce",    "box",
};

/* Static reasons for a key missing from the whole file (line 0) or from a share section. */
static const char *const key_missing[K_COUNT] = {
        "`version` missing",
        "`threshold` missing before the first [share I] section",
        "`shares` missing before the first [share I] section",
        "`data_nonce` missing before the first [share I] section",
        "`data_box` missing before the first [share I] section",
        "`server` missing (required in a [share I] section)",
        NULL,
        "`kid` missing",
        "`s` missing",
        "`c` missing",
        "`nonce` missing",
        "`box` missing",
};

typedef enum Mode { MODE_UNKNOWN, MODE_SINGLE, MODE_THRESHOLD } Mode;

/* Where each key was seen: sect[0] is the header (or the single binding), sect[I] share I. */
typedef struct Section {
	unsigned line; /* of the [share I] header; 0: not seen */
	unsigned key_line[K_COUNT];
} Section;

typedef struct Parser {
	P2Binding b;
	Section sect[P2_SHARES_MAX + 1];
	unsigned cur; /* 0: header, else the current share */
	Mode mode;
	unsigned line;
	const char *why;
} Parser;

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool has_blank(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (is_blank(v[i])) {
			return true;
		}
	}
	return false;
}

/*
 * Whether v holds a byte that p2_base64_decode() skips (ASCII whitespace, which clients.conf
 * allows): §B.3's base64 is standard, so none may appear inside a value, not even the form feed
 * or vertical tab that a line's trimming leaves in place.
 */
static bool has_space(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (memchr(" \t\r\n\f\v", v[i], 6) != NULL) {
			return true;
		}
	}
	return false;
}

/* A small decimal number in its one spelling: digits only (no sign, no leading zero, at most 3
 * digits), as mandos-keygen writes it.  -1 if not one. */
static int small_number(const char *v, size_t len)
{
	int n = 0;

	if (len < 1 || len > 3 || (len > 1 && v[0] == '0')) {
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9') {
			return -1;
		}
		n = n * 10 + (v[i] - '0');
	}
	return n;
}

/* Base64 of exactly min … max bytes into a new malloc()ed buffer. */
static int base64_alloc(const char *v, size_t len, size_t min, size_t max, uint8_t **ret,
                        size_t *ret_len)
{
	size_t cap = MIN(max, len / 4 * 3);
	_cleanup_free_ uint8_t *buf = NULL;
	ssize_t n;

	if (has_space(v, len) || cap < min) {
		return -EINVAL;
	}
	buf = malloc(cap);
	if (buf == NULL) {
		return -ENOMEM;
	}
	n = p2_base64_decode(v, len, buf, cap);
	if (n < 0 || (size_t)n < min) {
		return -EINVAL;
	}
	*ret = TAKE_PTR(buf);
	*ret_len = (size_t)n;
	return 0;
}

/* Base64 of exactly n bytes into ret. */
static bool base64_fixed(const char *v, size_t len, uint8_t *ret, size_t n)
{
	uint8_t buf[64];
	ssize_t got;

	if (has_space(v, len) || n > sizeof(buf)) {
		return false;
	}
	got = p2_base64_decode(v, len, buf, n);
	if (got != (ssize_t)n) {
		return false;
	}
	memcpy(ret, buf, n);
	return true;
}

static bool hex_fixed(const char *v, size_t len, uint8_t *ret, size_t n)
{
	size_t got = 0;
	const char *end = NULL;

	if (len != 2 * n) {
		return false;
	}
	return sodium_hex2bin(ret, n, v, len, NULL, &got, &end) == 0 && got == n && end == v + len;
}

/* 1 … 4 key ids separated by blanks, none twice. */
static bool parse_servers(const char *v, size_t len, P2BindingKey *key)
{
	const char *p = v, *end = v + len;
	uint8_t n = 0;

	while (p < end) {
		const char *t = p;

		while (t < end && !is_blank(*t)) {
			t++;
		}
		if (n >= P2_BINDING_SERVERS_MAX || t - p != 2 * P2_KEY_ID_LEN ||
		    p2_key_id_parse(p, (size_t)(t - p), key->servers[n]) < 0) {
			return false;
		}
		for (uint8_t j = 0; j < n; j++) {
			if (memcmp(key->servers[j], key->servers[n], P2_KEY_ID_LEN) == 0) {
				return false;
			}
		}
		n++;
		while (t < end && is_blank(*t)) {
			t++;
		}
		p = t;
	}
	key->n_servers = n;
	return n > 0;
}

/* "HOST:PORT": printable, no blanks, a non-empty host, a port 1 … 65535 after the last ':'. */
static bool address_ok(const char *v, size_t len)
{
	const char *colon = NULL;
	unsigned long port = 0;
	size_t digits;

	if (len > ADDRESS_MAX || !p2_text_printable((const uint8_t *)v, len) || has_blank(v, len)) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (v[i] == ':') {
			colon = v + i;
		}
	}
	if (colon == NULL || colon == v) {
		return false;
	}
	digits = (size_t)(v + len - colon - 1);
	if (digits < 1 || digits > 5) {
		return false;
	}
	for (const char *p = colon + 1; p < v + len; p++) {
		if (*p < '0' || *p > '9') {
			return false;
		}
		port = port * 10 + (unsigned long)(*p - '0');
	}
	return port >= 1 && port <= 65535;
}

static int fail(Parser *ps, unsigned line, const char *why)
{
	ps->line = line;
	ps->why = why;
	return -EBADMSG;
}

/* The header keys, checked at the first [share I] section (they must all come before it). */
static int header_complete(Parser *ps, unsigned line)
{
	const Section *h = &ps->sect[0];

	for (BindingKey k = K_THRESHOLD; k <= K_DATA_BOX; k++) {
		if (h->key_line[k] == 0) {
			return fail(ps, line, key_missing[k]);
		}
	}
	if (ps->b.threshold > ps->b.n_keys) {
		return fail(ps, h->key_line[K_THRESHOLD], "`threshold` is more than `shares`");
	}
	return 0;
}

/* "[share I]" (blanks allowed inside the brackets around I). */
static int section_line(Parser *ps, const char *p, size_t len)
{
	const char *end = p + len, *d;
	int i;

	if (len < 2 || end[-1] != ']' || strncmp(p, "[share", 6) != 0) {
		return fail(ps, ps->line, "not a [share I] section header");
	}
	p += 6;
	end--;
	if (p >= end || !is_blank(*p)) {
		return fail(ps, ps->line, "not a [share I] section header");
	}
	while (p < end && is_blank(*p)) {
		p++;
	}
	while (end > p && is_blank(end[-1])) {
		end--;
	}
	for (d = p; d < end; d++) {
		if (*d < '0' || *d > '9') {
			return fail(ps, ps->line, "not a [share I] section header");
		}
	}
	i = small_number(p, (size_t)(end - p));
	if (i < 0) {
		return fail(ps, ps->line, "not a [share I] section header");
	}
	if (ps->sect[0].key_line[K_VERSION] == 0) {
		return fail(ps, ps->line, "`version = 1` must be the first key line");
	}
	if (ps->mode == MODE_SINGLE) {
		return fail(ps, ps->line, "a [share I] section in a single binding");
	}
	if (ps->cur == 0) {
		int r = header_complete(ps, ps->line);

		if (r < 0) {
			return r;
		}
	}
	if (i < 1 || i > ps->b.n_keys) {
		return fail(ps, ps->line, "share number out of range (1 … shares)");
	}
	if (ps->sect[i].line != 0) {
		return fail(ps, ps->line, "share repeated");
	}
	ps->sect[i].line = ps->line;
	ps->cur = (unsigned)i;
	return 0;
}

static int value_line(Parser *ps, BindingKey k, const char *v, size_t len)
{
	P2Binding *b = &ps->b;
	P2BindingKey *key = &b->keys[ps->cur == 0 ? 0 : ps->cur - 1];
	bool share = ps->cur != 0;
	int n, r;

	switch (k) {
	case K_VERSION:
		if (len != 1 || v[0] != '1') {
			return fail(ps, ps->line, "unsupported version (only 1)");
		}
		return 0;
	case K_THRESHOLD:
		n = small_number(v, len);
		if (n < 2 || n > P2_SHARES_MAX) {
			return fail(ps, ps->line,
			            "`threshold` must be 2 … 8 (digits, no leading zero)");
		}
		b->threshold = (uint8_t)n;
		return 0;
	case K_SHARES:
		n = small_number(v, len);
		if (n < 2 || n > P2_SHARES_MAX) {
			return fail(ps, ps->line,
			            "`shares` must be 2 … 8 (digits, no leading zero)");
		}
		b->n_keys = (uint8_t)n;
		return 0;
	case K_DATA_NONCE:
		if (!base64_fixed(v, len, b->data_nonce, P2_ESCROW_NONCE_LEN)) {
			return fail(ps, ps->line, "not base64 of 24 bytes");
		}
		return 0;
	case K_DATA_BOX:
		r = base64_alloc(v, len, P2_ESCROW_BOX_MIN, P2_ESCROW_BOX_MAX, &b->data_box,
		                 &b->data_box_len);
		if (r == -ENOMEM) {
			return r;
		}
		if (r < 0) {
			return fail(ps, ps->line, "not base64 of 17 … 65503 bytes");
		}
		return 0;
	case K_SERVER:
		if (!parse_servers(v, len, key)) {
			return fail(ps, ps->line,
			            "not 1 … 4 distinct server key IDs (64 hex digits)");
		}
		return 0;
	case K_ADDRESS:
		if (!address_ok(v, len)) {
			return fail(ps, ps->line, "not an address HOST:PORT");
		}
		key->address = strndup(v, len);
		return key->address == NULL ? -ENOMEM : 0;
	case K_KID:
		if (!hex_fixed(v, len, key->kid, P2_KID_LEN)) {
			return fail(ps, ps->line, "not 32 hex digits");
		}
		return 0;
	case K_S:
	case K_C: {
		uint8_t *p = k == K_S ? key->s : key->c;

		if (!base64_fixed(v, len, p, P2_POINT_LEN)) {
			return fail(ps, ps->line, "not base64 of 32 bytes");
		}
		if (!p2_point_acceptable(p)) {
			return fail(ps, ps->line, "not a valid point");
		}
		return 0;
	}
	case K_NONCE:
		if (!base64_fixed(v, len, key->nonce, P2_ESCROW_NONCE_LEN)) {
			return fail(ps, ps->line, "not base64 of 24 bytes");
		}
		return 0;
	case K_BOX:
		r = share ? base64_alloc(v, len, P2_SHARE_BOX_LEN, P2_SHARE_BOX_LEN, &key->box,
		                         &key->box_len)
		          : base64_alloc(v, len, P2_ESCROW_BOX_MIN, P2_ESCROW_BOX_MAX, &key->box,
		                         &key->box_len);
		if (r == -ENOMEM) {
			return r;
		}
		if (r < 0) {
			return fail(ps, ps->line,
			            share ? "not base64 of 48 bytes (a share's box)"
			                  : "not base64 of 17 … 65503 bytes");
		}
		return 0;
	case K_COUNT:
		break;
	}
	return fail(ps, ps->line, "unknown key");
}

static int key_line(Parser *ps, const char *p, size_t len)
{
	const char *end = p + len, *eq = memchr(p, '=', len), *ke, *v;
	BindingKey k;

	if (eq == NULL) {
		return fail(ps, ps->line, "not `key = value`");
	}
	ke = eq;
	while (ke > p && is_blank(ke[-1])) {
		ke--;
	}
	for (k = 0; k < K_COUNT; k++) {
		if ((size_t)(ke - p) == strlen(key_names[k]) &&
		    memcmp(p, key_names[k], (size_t)(ke - p)) == 0) {
			break;
		}
	}
	if (k == K_COUNT) {
		return fail(ps, ps->line, "unknown key");
	}
	v = eq + 1;
	while (v < end && is_blank(*v)) {
		v++;
	}
	if (v == end) {
		return fail(ps, ps->line, "empty value");
	}
	if (ps->sect[0].key_line[K_VERSION] == 0 && k != K_VERSION) {
		return fail(ps, ps->line, "`version = 1` must be the first key line");
	}
	switch (k) {
	case K_VERSION:
		if (ps->cur != 0) {
			return fail(ps, ps->line, "a header key inside a [share I] section");
		}
		break;
	case K_THRESHOLD:
	case K_SHARES:
	case K_DATA_NONCE:
	case K_DATA_BOX:
		if (ps->cur != 0) {
			return fail(ps, ps->line, "a header key inside a [share I] section");
		}
		if (ps->mode == MODE_SINGLE) {
			return fail(ps, ps->line, "a threshold key in a single binding");
		}
		ps->mode = MODE_THRESHOLD;
		break;
	case K_ADDRESS:
		if (ps->cur == 0) {
			return fail(ps, ps->line,
			            "`address` outside a [share I] section (a single binding has "
			            "none)");
		}
		break;
	default:
		if (ps->cur == 0) {
			if (ps->mode == MODE_THRESHOLD) {
				return fail(ps, ps->line,
				            "a share key outside a [share I] section");
			}
			ps->mode = MODE_SINGLE;
		}
		break;
	}
	if (ps->sect[ps->cur].key_line[k] != 0) {
		return fail(ps, ps->line, "repeated key");
	}
	ps->sect[ps->cur].key_line[k] = ps->line;
	return value_line(ps, k, v, (size_t)(end - v));
}

/* The whole-file rules, after the last line. */
static int parse_end(Parser *ps)
{
	static const BindingKey required[] = {K_KID, K_S, K_C, K_NONCE, K_BOX};
	P2Binding *b = &ps->b;
	unsigned first, last;

	if (ps->sect[0].key_line[K_VERSION] == 0) {
		return fail(ps, 0, key_missing[K_VERSION]);
	}
	if (ps->mode != MODE_THRESHOLD) {
		for (size_t j = 0; j < ELEMENTSOF(required); j++) {
			if (ps->sect[0].key_line[required[j]] == 0) {
				return fail(ps, 0, key_missing[required[j]]);
			}
		}
		b->threshold = 0;
		b->n_keys = 1;
		first = last = 0;
	} else {
		if (ps->cur == 0) {
			int r = header_complete(ps, 0);

			if (r < 0) {
				return r;
			}
		}
		for (unsigned i = 1; i <= b->n_keys; i++) {
			if (ps->sect[i].line == 0) {
				return fail(ps, 0, "a [share I] section is missing");
			}
			if (ps->sect[i].key_line[K_SERVER] == 0) {
				return fail(ps, ps->sect[i].line, key_missing[K_SERVER]);
			}
			for (size_t j = 0; j < ELEMENTSOF(required); j++) {
				if (ps->sect[i].key_line[required[j]] == 0) {
					return fail(ps, ps->sect[i].line, key_missing[required[j]]);
				}
			}
		}
		first = 1;
		last = b->n_keys;
	}
	for (unsigned i = first; i <= last; i++) {
		const P2BindingKey *key = &b->keys[i == 0 ? 0 : i - 1];
		const Section *si = &ps->sect[i];
		uint8_t kid[P2_KID_LEN];

		p2_escrow_kid(key->s, kid);
		if (memcmp(kid, key->kid, P2_KID_LEN) != 0) {
			return fail(ps, si->key_line[K_KID], "`kid` is not the key ID of `s`");
		}
		for (unsigned j = first; j < i; j++) {
			const P2BindingKey *other = &b->keys[j - 1];

			if (memcmp(other->kid, key->kid, P2_KID_LEN) == 0) {
				return fail(ps, si->key_line[K_KID], "two shares with one kid");
			}
			for (uint8_t a = 0; a < key->n_servers; a++) {
				for (uint8_t o = 0; o < other->n_servers; o++) {
					if (memcmp(key->servers[a], other->servers[o],
					           P2_KEY_ID_LEN) == 0) {
						return fail(ps, si->key_line[K_SERVER],
						            "two shares name one server");
					}
				}
			}
		}
	}
	return 0;
}

int p2_binding_parse(const char *text, size_t len, P2Binding *ret, unsigned *ret_line,
                     const char **ret_why)
{
	Parser *ps = calloc(1, sizeof(Parser));
	const char *p = text, *end = text + len;
	int r = 0;

	if (ps == NULL) {
		return -ENOMEM;
	}
	if (len > P2_BINDING_FILE_MAX) {
		r = fail(ps, 0, "file larger than 1 MiB");
	} else if (len > 0 && memchr(text, '\0', len) != NULL) {
		const char *z = memchr(text, '\0', len);
		unsigned line = 1;

		for (const char *q = text; q < z; q++) {
			line += *q == '\n';
		}
		r = fail(ps, line, "a NUL byte");
	}
	while (r >= 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;

		ps->line++;
		if (e - p > P2_BINDING_LINE_MAX) {
			r = fail(ps, ps->line, "line longer than 100 000 bytes");
			break;
		}
		while (e > p && is_blank(e[-1])) {
			e--;
		}
		while (p < e && is_blank(*p)) {
			p++;
		}
		if (p < e && *p == '[') {
			r = section_line(ps, p, (size_t)(e - p));
		} else if (p < e && *p != '#') {
			r = key_line(ps, p, (size_t)(e - p));
		}
		p = nl ? nl + 1 : end;
	}
	if (r >= 0) {
		r = parse_end(ps);
	}
	if (r < 0) {
		if (r == -EBADMSG) {
			if (ret_line) {
				*ret_line = ps->line;
			}
			if (ret_why) {
				*ret_why = ps->why;
			}
		}
		p2_binding_done(&ps->b);
	} else {
		*ret = ps->b;
	}
	sodium_memzero(ps, sizeof(*ps));
	free(ps);
	return r;
}

/* Append "key = base64\n"; *bad set when out of memory. */
static void put_base64(FILE *f, bool *bad, const char *key, const uint8_t *data, size_t len)
{
	size_t size = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(size);

	if (b64 == NULL) {
		*bad = true;
		return;
	}
	p2_base64_encode(data, len, b64, size);
	fprintf(f, "%s = %s\n", key, b64);
	free(b64);
}

static void put_key(FILE *f, bool *bad, const P2BindingKey *key, bool share)
{
	char hex[2 * P2_KEY_ID_LEN + 1];

	if (key->n_servers > 0) {
		fputs("server =", f);
		for (uint8_t j = 0; j < key->n_servers && j < P2_BINDING_SERVERS_MAX; j++) {
			p2_hex_upper(key->servers[j], P2_KEY_ID_LEN, hex);
			fprintf(f, " %s", hex);
		}
		fputc('\n', f);
	}
	if (share && key->address != NULL) {
		fprintf(f, "address = %s\n", key->address);
	}
	sodium_bin2hex(hex, sizeof(hex), key->kid, P2_KID_LEN);
	fprintf(f, "kid = %s\n", hex);
	put_base64(f, bad, "s", key->s, P2_POINT_LEN);
	put_base64(f, bad, "c", key->c, P2_POINT_LEN);
	put_base64(f, bad, "nonce", key->nonce, P2_ESCROW_NONCE_LEN);
	put_base64(f, bad, "box", key->box, key->box_len);
}

char *p2_binding_format(const P2Binding *b)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	bool bad = false;

	if (f == NULL) {
		return NULL;
	}
	fputs(BINDING_COMMENT, f);
	fputs("version = 1\n", f);
	if (b->threshold == 0) {
		put_key(f, &bad, &b->keys[0], false);
	} else {
		fprintf(f, "threshold = %u\nshares = %u\n", b->threshold, b->n_keys);
		put_base64(f, &bad, "data_nonce", b->data_nonce, P2_ESCROW_NONCE_LEN);
		put_base64(f, &bad, "data_box", b->data_box, b->data_box_len);
		for (unsigned i = 1; i <= b->n_keys && i <= P2_SHARES_MAX; i++) {
			fprintf(f, "\n[share %u]\n", i);
			put_key(f, &bad, &b->keys[i - 1], true);
		}
	}
	bad = bad || ferror(f) != 0;
	if (fclose(f) != 0 || bad) {
		free(text);
		errno = ENOMEM;
		return NULL;
	}
	return text;
}

int p2_binding_load(const char *path, P2Binding *ret, unsigned *ret_line, const char **ret_why)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *text = NULL;
	struct stat st;
	size_t len = 0;
	int r;

	if (fd < 0) {
		return negative_errno();
	}
	if (fstat(fd, &st) < 0) {
		return negative_errno();
	}
	if (S_ISDIR(st.st_mode)) {
		return -EISDIR;
	}
	if (!S_ISREG(st.st_mode)) {
		return -EINVAL;
	}
	if (st.st_size > P2_BINDING_FILE_MAX) {
		return -EFBIG;
	}
	r = read_full_fd(fd, P2_BINDING_FILE_MAX, &text, &len);
	if (r < 0) {
		return r;
	}
	return p2_binding_parse(text, len, ret, ret_line, ret_why);
}

static bool key_equal(const P2BindingKey *a, const P2BindingKey *b)
{
	if (memcmp(a->kid, b->kid, P2_KID_LEN) != 0 || memcmp(a->s, b->s, P2_POINT_LEN) != 0 ||
	    memcmp(a->c, b->c, P2_POINT_LEN) != 0 ||
	    memcmp(a->nonce, b->nonce, P2_ESCROW_NONCE_LEN) != 0 || a->box_len != b->box_len ||
	    (a->box_len > 0 && memcmp(a->box, b->box, a->box_len) != 0) ||
	    a->n_servers != b->n_servers ||
	    memcmp(a->servers, b->servers,
	           (size_t)MIN(a->n_servers, P2_BINDING_SERVERS_MAX) * P2_KEY_ID_LEN) != 0) {
		return false;
	}
	if (a->address == NULL || b->address == NULL) {
		return a->address == b->address;
	}
	return strcmp(a->address, b->address) == 0;
}

bool p2_binding_equal(const P2Binding *a, const P2Binding *b)
{
	if (a->threshold != b->threshold || a->n_keys != b->n_keys || a->n_keys > P2_SHARES_MAX) {
		return false;
	}
	if (a->threshold != 0 &&
	    (memcmp(a->data_nonce, b->data_nonce, P2_ESCROW_NONCE_LEN) != 0 ||
	     a->data_box_len != b->data_box_len ||
	     (a->data_box_len > 0 && memcmp(a->data_box, b->data_box, a->data_box_len) != 0))) {
		return false;
	}
	for (size_t i = 0; i < a->n_keys; i++) {
		if (!key_equal(&a->keys[i], &b->keys[i])) {
			return false;
		}
	}
	return true;
}
