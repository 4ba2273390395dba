/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ConfigParser-compatible reader: the same line classification, joining and interpolation. */
#include "ini.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io-util.h"
#include "parse-util.h"
#include "secmem.h"

#define INI_MAX_DEPTH 10

typedef struct IniEntry {
	char *key;   /* lowercase */
	char *value; /* joined, stripped */
	unsigned line;
	bool builtin; /* has a built-in default (the file may have set it since) */
} IniEntry;

typedef struct IniSection {
	char *name;
	unsigned line;
	IniEntry *entries;
	size_t n_entries, cap_entries;
} IniSection;

struct IniFile {
	char *name;
	IniSection defaults;
	IniSection *sections;
	size_t n_sections, cap_sections;
	/* Open-addressing index of section names: 0 = empty, else section index + 1. */
	size_t *index;
	size_t index_size;
};

static uint64_t hash_string(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *s; s++) {
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	}
	return h;
}

/*
 * Values may be secrets (clients.conf's secret and escrow_key), so every buffer that held one,
 * whole or in part, is wiped before it is freed, and none is grown with realloc().
 */
static void section_done(IniSection *s)
{
	for (size_t i = 0; i < s->n_entries; i++) {
		free(s->entries[i].key);
		secmem_strfree(s->entries[i].value);
	}
	free(s->entries);
	free(s->name);
}

IniFile *ini_free(IniFile *ini)
{
	if (!ini) {
		return NULL;
	}
	section_done(&ini->defaults);
	for (size_t i = 0; i < ini->n_sections; i++) {
		section_done(&ini->sections[i]);
	}
	free(ini->sections);
	free(ini->index);
	free(ini->name);
	free(ini);
	return NULL;
}

_printf_(3, 0) static char *vformat_error(const char *name, unsigned line, const char *fmt,
                                          va_list ap)
{
	char msg[1024], *out = NULL;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line) {
		if (asprintf(&out, "%s:%u: %s", name, line, msg) < 0) {
			return NULL;
		}
	} else if (asprintf(&out, "%s: %s", name, msg) < 0) {
		return NULL;
	}
	return out;
}

char *ini_error_message(const IniFile *ini, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char *m;

	va_start(ap, fmt);
	m = vformat_error(ini->name, line, fmt, ap);
	va_end(ap);
	return m;
}

_printf_(4, 5) static int set_error(char **ret_error, const char *name, unsigned line,
                                    const char *fmt, ...)
{
	va_list ap;

	if (ret_error) {
		va_start(ap, fmt);
		free(*ret_error);
		*ret_error = vformat_error(name, line, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static IniEntry *section_find(const IniSection *s, const char *key)
{
	for (size_t i = 0; i < s->n_entries; i++) {
		if (strcmp(s->entries[i].key, key) == 0) {
			return &s->entries[i];
		}
	}
	return NULL;
}

static int section_set(IniSection *s, const char *key, size_t keylen, const char *value,
                       size_t valuelen, unsigned line, IniEntry **ret)
{
	_cleanup_free_ char *k = strndup(key, keylen);
	_cleanup_wipe_free_ char *v = strndup(value, valuelen);
	IniEntry *e;

	if (!k || !v) {
		return -ENOMEM;
	}
	for (char *p = k; *p; p++) {
		*p = (char)tolower((unsigned char)*p);
	}
	e = section_find(s, k);
	if (e) {
		secmem_strfree(e->value);
		e->value = TAKE_PTR(v);
		e->line = line;
	} else {
		if (s->n_entries == s->cap_entries) {
			size_t ncap = s->cap_entries ? s->cap_entries * 2 : 8;
			IniEntry *n = reallocarray(s->entries, ncap, sizeof(*n));

			if (!n) {
				return -ENOMEM;
			}
			s->entries = n;
			s->cap_entries = ncap;
		}
		e = &s->entries[s->n_entries++];
		e->key = TAKE_PTR(k);
		e->value = TAKE_PTR(v);
		e->line = line;
		e->builtin = line == 0;
	}
	if (ret) {
		*ret = e;
	}
	return 0;
}

static ssize_t index_lookup(const IniFile *ini, const char *name)
{
	if (!ini->index_size) {
		return -1;
	}
	for (size_t h = hash_string(name) & (ini->index_size - 1);;
	     h = (h + 1) & (ini->index_size - 1)) {
		size_t v = ini->index[h];

		if (!v) {
			return -1;
		}
		if (strcmp(ini->sections[v - 1].name, name) == 0) {
			return (ssize_t)(v - 1);
		}
	}
}

static int index_grow(IniFile *ini)
{
	size_t nsize = ini->index_size ? ini->index_size * 2 : 64;
	size_t *n = calloc(nsize, sizeof(*n));

	if (!n) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < ini->n_sections; i++) {
		size_t h = hash_string(ini->sections[i].name) & (nsize - 1);

		while (n[h]) {
			h = (h + 1) & (nsize - 1);
		}
		n[h] = i + 1;
	}
	free(ini->index);
	ini->index = n;
	ini->index_size = nsize;
	return 0;
}

static int add_section(IniFile *ini, const char *name, size_t len, unsigned line, IniSection **ret)
{
	IniSection *s;
	size_t h;
	int r;

	if ((ini->n_sections + 1) * 2 > ini->index_size) {
		r = index_grow(ini);
		if (r < 0) {
			return r;
		}
	}
	if (ini->n_sections == ini->cap_sections) {
		size_t ncap = ini->cap_sections ? ini->cap_sections * 2 : 16;
		IniSection *n = reallocarray(ini->sections, ncap, sizeof(*n));

		if (!n) {
			return -ENOMEM;
		}
		ini->sections = n;
		ini->cap_sections = ncap;
	}
	s = &ini->sections[ini->n_sections];
	*s = (IniSection){.line = line};
	s->name = strndup(name, len);
	if (!s->name) {
		return -ENOMEM;
	}
	ini->n_sections++;
	h = hash_string(s->name) & (ini->index_size - 1);
	while (ini->index[h]) {
		h = (h + 1) & (ini->index_size - 1);
	}
	ini->index[h] = ini->n_sections;
	*ret = s;
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/*
 * Whether s[0..n) may be key material: 20 or more characters of base64 (padding aside) with a
 * digit, "+" or "/" among them.  A base64 secret or escrow key on a line that lost its
 * indentation is read as a bad line or as a key of its own; error messages then say how long
 * it is instead of quoting it, so that a key never reaches the log.  (Key names have "_" or
 * are short words.)
 */
static bool looks_like_key_material(const char *s, size_t n)
{
	bool mixed = false;

	while (n > 0 && s[n - 1] == '=') {
		n--;
	}
	if (n < 20) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '+' || c == '/' || (c >= '0' && c <= '9')) {
			mixed = true;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
			return false;
		}
	}
	return mixed;
}

/*
 * A bad line for an error message: its first 40 characters in quotes, or only its length when
 * it may be key material.  Returns whether it may be.
 */
static bool describe_line(const char *b, size_t n, char *buf, size_t size)
{
	if (looks_like_key_material(b, n)) {
		snprintf(buf, size, "%zu characters of base64 (not shown)", n);
		return true;
	}
	snprintf(buf, size, "\"%.*s\"", (int)MIN(n, 40), b);
	return false;
}

/* A value being assembled from its first line and continuation lines. */
typedef struct Pending {
	char *buf;
	size_t len, cap;
	IniEntry *entry;
} Pending;

static int pending_add(Pending *p, const char *s, size_t n, bool newline_first)
{
	size_t need = p->len + n + 2;

	if (need > INI_FILE_MAX) {
		return -EFBIG;
	}
	if (need > p->cap) {
		size_t ncap = MAX(need, p->cap * 2);
		char *b = secmem_realloc(p->buf, p->cap, ncap);

		if (!b) {
			return -ENOMEM;
		}
		p->buf = b;
		p->cap = ncap;
	}
	if (newline_first) {
		p->buf[p->len++] = '\n';
	}
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
	return 0;
}

/* Store the pending value in its entry, dropping trailing blank lines/space (Python's rstrip). */
static int pending_flush(Pending *p)
{
	char *v;

	if (!p->entry) {
		return 0;
	}
	while (p->len > 0 && is_space(p->buf[p->len - 1])) {
		p->len--;
	}
	v = strndup(p->buf ? p->buf : "", p->len);
	if (!v) {
		return -ENOMEM;
	}
	secmem_strfree(p->entry->value);
	p->entry->value = v;
	p->entry = NULL;
	p->len = 0;
	return 0;
}

/*
 * (section pointer identity, key) pairs already seen in this file, for strict duplicate
 * detection.  Keys of one section are few, so a per-section scan suffices: an entry whose line
 * is non-zero was set by the file.
 */
static int parse(IniFile *ini, const char *text, size_t len, char **ret_error)
{
	IniSection *cur = NULL;
	const char *p = text, *end = text + len;
	Pending pend = {0};
	size_t indent_level = SIZE_MAX;
	bool have_option = false;
	unsigned lineno = 0;
	char what[64]; /* a bad line, for its error message */
	int r = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line = p, *lend = eol ? eol : end;
		const char *b, *e;
		size_t indent;

		p = eol ? eol + 1 : end;
		lineno++;
		if ((size_t)(lend - line) > INI_LINE_MAX) {
			r = set_error(ret_error, ini->name, lineno, "line longer than %d bytes",
			              INI_LINE_MAX);
			goto out;
		}
		if (memchr(line, '\0', (size_t)(lend - line))) {
			r = set_error(ret_error, ini->name, lineno, "NUL byte in line");
			goto out;
		}
		b = line;
		e = lend;
		while (b < e && is_space(*b)) {
			b++;
		}
		while (e > b && is_space(e[-1])) {
			e--;
		}
		indent = (size_t)(b - line);

		if (b < e && (*b == '#' || *b == ';')) {
			/* A comment line: skipped, even in the middle of a value. */
			continue;
		}
		if (b == e) {
			/* Blank: kept inside a value; trailing ones are stripped at the end. */
			if (cur && have_option && pend.entry) {
				r = pending_add(&pend, "", 0, true);
				if (r < 0) {
					goto out;
				}
			}
			continue;
		}
		if (cur && have_option && indent > indent_level) {
			r = pending_add(&pend, b, (size_t)(e - b), true);
			if (r < 0) {
				goto out;
			}
			continue;
		}

		indent_level = indent;
		r = pending_flush(&pend);
		if (r < 0) {
			goto out;
		}

		/* A section header: "[" then at least one character, up to the last "]". */
		if (*b == '[') {
			const char *close = NULL;

			for (const char *q = b + 2; q < e + 0 && q <= e - 1; q++) {
				if (*q == ']') {
					close = q;
				}
			}
			if (close) {
				size_t nlen = (size_t)(close - b - 1);

				have_option = false;
				if (nlen == 7 && memcmp(b + 1, "DEFAULT", 7) == 0) {
					cur = &ini->defaults;
					continue;
				}
				_cleanup_free_ char *name = strndup(b + 1, nlen);
				if (!name) {
					r = -ENOMEM;
					goto out;
				}
				ssize_t i = index_lookup(ini, name);
				if (i >= 0) {
					r = set_error(ret_error, ini->name, lineno,
					              "section [%s] is already defined at line %u",
					              name, ini->sections[i].line);
					goto out;
				}
				r = add_section(ini, b + 1, nlen, lineno, &cur);
				if (r < 0) {
					goto out;
				}
				continue;
			}
		}
		if (!cur) {
			describe_line(b, (size_t)(e - b), what, sizeof(what));
			r = set_error(ret_error, ini->name, lineno,
			              "expected a section header such as [DEFAULT] before %s",
			              what);
			goto out;
		}

		/* An option: key up to the first '=' or ':'. */
		const char *delim = b;
		while (delim < e && *delim != '=' && *delim != ':') {
			delim++;
		}
		if (delim == e) {
			bool key = describe_line(b, (size_t)(e - b), what, sizeof(what));

			r = set_error(
			        ret_error, ini->name, lineno,
			        "expected \"key = value\", \"key: value\" or \"[section]\", "
			        "got %s%s",
			        what,
			        key ? "; a value's continuation line must start with a space or "
			              "a tab"
			            : "");
			goto out;
		}
		const char *kend = delim, *v = delim + 1;
		while (kend > b && is_space(kend[-1])) {
			kend--;
		}
		if (kend == b) {
			r = set_error(ret_error, ini->name, lineno,
			              "expected a key name before \"%c\"", *delim);
			goto out;
		}
		while (v < e && is_space(*v)) {
			v++;
		}
		_cleanup_free_ char *key = strndup(b, (size_t)(kend - b));
		if (!key) {
			r = -ENOMEM;
			goto out;
		}
		for (char *q = key; *q; q++) {
			*q = (char)tolower((unsigned char)*q);
		}
		IniEntry *old = section_find(cur, key);
		if (old && old->line) {
			r = set_error(ret_error, ini->name, lineno,
			              "key \"%s\" is already set in [%s] at line %u", key,
			              cur == &ini->defaults ? "DEFAULT" : cur->name, old->line);
			goto out;
		}
		r = section_set(cur, b, (size_t)(kend - b), "", 0, lineno, &pend.entry);
		if (r < 0) {
			goto out;
		}
		have_option = true;
		pend.len = 0;
		r = pending_add(&pend, v, (size_t)(e - v), false);
		if (r < 0) {
			goto out;
		}
	}
	r = pending_flush(&pend);
out:
	secmem_free(pend.buf, pend.cap);
	return r;
}

int ini_parse_string(const char *name, const char *text, size_t len, const char *const *defaults,
                     IniFile **ret, char **ret_error)
{
	_cleanup_ini_free_ IniFile *ini = calloc(1, sizeof(*ini));
	int r;

	if (!ini) {
		return -ENOMEM;
	}
	ini->name = strdup(name ? name : "<string>");
	ini->defaults.name = strdup("DEFAULT");
	if (!ini->name || !ini->defaults.name) {
		return -ENOMEM;
	}
	for (const char *const *d = defaults; d && d[0]; d += 2) {
		/* Built-in defaults have line 0, so the file may set them without a conflict. */
		r = section_set(&ini->defaults, d[0], strlen(d[0]), d[1], strlen(d[1]), 0, NULL);
		if (r < 0) {
			return r;
		}
	}
	if (len > INI_FILE_MAX) {
		return -EFBIG;
	}
	r = parse(ini, text, len, ret_error);
	if (r < 0) {
		return r;
	}
	*ret = TAKE_PTR(ini);
	return 0;
}

int ini_parse_file(const char *path, const char *display_name, const char *const *defaults,
                   IniFile **ret, char **ret_error)
{
	char *text = NULL;
	size_t len;
	int r;

	r = read_full_file(path, INI_FILE_MAX, &text, &len);
	if (r < 0) {
		return r;
	}
	r = ini_parse_string(display_name ? display_name : path, text, len, defaults, ret,
	                     ret_error);
	secmem_free(text, len);
	return r;
}

const char *ini_file_name(const IniFile *ini)
{
	return ini->name;
}

size_t ini_section_count(const IniFile *ini)
{
	return ini->n_sections;
}

const char *ini_section_name(const IniFile *ini, size_t i)
{
	return i < ini->n_sections ? ini->sections[i].name : NULL;
}

unsigned ini_section_line(const IniFile *ini, size_t i)
{
	return i < ini->n_sections ? ini->sections[i].line : 0;
}

static const IniSection *find_section(const IniFile *ini, const char *section)
{
	ssize_t i;

	if (strcmp(section, "DEFAULT") == 0) {
		return &ini->defaults;
	}
	i = index_lookup(ini, section);
	return i < 0 ? NULL : &ini->sections[i];
}

bool ini_has_section(const IniFile *ini, const char *section)
{
	return find_section(ini, section) != NULL;
}

size_t ini_key_count(const IniFile *ini, const char *section)
{
	const IniSection *s = find_section(ini, section);
	size_t n;

	if (!s) {
		return 0;
	}
	n = ini->defaults.n_entries;
	if (s != &ini->defaults) {
		for (size_t i = 0; i < s->n_entries; i++) {
			if (!section_find(&ini->defaults, s->entries[i].key)) {
				n++;
			}
		}
	}
	return n;
}

const char *ini_key_name(const IniFile *ini, const char *section, size_t i)
{
	const IniSection *s = find_section(ini, section);

	if (!s) {
		return NULL;
	}
	if (i < ini->defaults.n_entries) {
		return ini->defaults.entries[i].key;
	}
	i -= ini->defaults.n_entries;
	if (s == &ini->defaults) {
		return NULL;
	}
	for (size_t j = 0; j < s->n_entries; j++) {
		if (section_find(&ini->defaults, s->entries[j].key)) {
			continue;
		}
		if (i-- == 0) {
			return s->entries[j].key;
		}
	}
	return NULL;
}

static const IniEntry *lookup(const IniFile *ini, const IniSection *s, const char *key)
{
	char lower[256];
	const IniEntry *e;
	size_t n = strlen(key);

	if (n >= sizeof(lower)) {
		return NULL;
	}
	for (size_t i = 0; i <= n; i++) {
		lower[i] = (char)tolower((unsigned char)key[i]);
	}
	e = section_find(s, lower);
	if (!e && s != &ini->defaults) {
		e = section_find(&ini->defaults, lower);
	}
	return e;
}

const char *ini_get_raw(const IniFile *ini, const char *section, const char *key)
{
	const IniSection *s = find_section(ini, section);
	const IniEntry *e = s ? lookup(ini, s, key) : NULL;

	return e ? e->value : NULL;
}

unsigned ini_key_line(const IniFile *ini, const char *section, const char *key)
{
	const IniSection *s = find_section(ini, section);
	const IniEntry *e = s ? lookup(ini, s, key) : NULL;

	return e ? e->line : 0;
}

typedef struct Out {
	char *buf;
	size_t len, cap;
} Out;

static int out_add(Out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		size_t ncap = MAX(o->len + n + 1, o->cap * 2);
		char *b;

		if (ncap > INI_FILE_MAX) {
			return -EFBIG;
		}
		b = secmem_realloc(o->buf, o->cap, ncap);
		if (!b) {
			return -ENOMEM;
		}
		o->buf = b;
		o->cap = ncap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
	return 0;
}

static int interpolate(const IniFile *ini, const IniSection *s, const IniEntry *top,
                       const char *rest, unsigned depth, Out *o, char **ret_error)
{
	int r;

	if (depth > INI_MAX_DEPTH) {
		return set_error(ret_error, ini->name, top->line,
		                 "value of \"%s\" nests %%(name)s references more than %d deep "
		                 "(does it refer to itself?)",
		                 top->key, INI_MAX_DEPTH);
	}
	while (*rest) {
		const char *pct = strchr(rest, '%');

		if (!pct) {
			return out_add(o, rest, strlen(rest));
		}
		r = out_add(o, rest, (size_t)(pct - rest));
		if (r < 0) {
			return r;
		}
		if (pct[1] == '%') {
			r = out_add(o, "%", 1);
			if (r < 0) {
				return r;
			}
			rest = pct + 2;
		} else if (pct[1] == '(') {
			const char *close = strchr(pct + 2, ')');
			const IniEntry *ref;

			if (!close || close == pct + 2 || close[1] != 's') {
				return set_error(ret_error, ini->name, top->line,
				                 "in value of \"%s\": bad reference \"%.20s\", "
				                 "expected \"%%(name)s\"",
				                 top->key, pct);
			}
			_cleanup_free_ char *name = strndup(pct + 2, (size_t)(close - pct - 2));
			if (!name) {
				return -ENOMEM;
			}
			ref = lookup(ini, s, name);
			if (!ref) {
				return set_error(ret_error, ini->name, top->line,
				                 "in value of \"%s\": \"%%(%s)s\" refers to a key "
				                 "that is not set in this section or in [DEFAULT]",
				                 top->key, name);
			}
			if (strchr(ref->value, '%')) {
				r = interpolate(ini, s, top, ref->value, depth + 1, o, ret_error);
			} else {
				r = out_add(o, ref->value, strlen(ref->value));
			}
			if (r < 0) {
				return r;
			}
			rest = close + 2;
		} else {
			return set_error(ret_error, ini->name, top->line,
			                 "in value of \"%s\": \"%%\" must be followed by \"%%\" or "
			                 "\"(name)s\", found \"%.20s\"",
			                 top->key, pct);
		}
	}
	return 0;
}

int ini_get(const IniFile *ini, const char *section, const char *key, char **ret_value,
            char **ret_error)
{
	const IniSection *s = find_section(ini, section);
	const IniEntry *e = s ? lookup(ini, s, key) : NULL;
	Out o = {0};
	int r;

	if (!e) {
		return -ENOENT;
	}
	r = out_add(&o, "", 0);
	if (r >= 0) {
		r = interpolate(ini, s, e, e->value, 1, &o, ret_error);
	}
	if (r < 0) {
		secmem_free(o.buf, o.cap);
		return r;
	}
	*ret_value = o.buf;
	return 0;
}

int ini_get_bool(const IniFile *ini, const char *section, const char *key, bool *ret,
                 char **ret_error)
{
	_cleanup_free_ char *v = NULL;
	int r = ini_get(ini, section, key, &v, ret_error);

	if (r < 0) {
		return r;
	}
	if (parse_boolean(v, ret) < 0) {
		return set_error(ret_error, ini->name, ini_key_line(ini, section, key),
		                 "\"%s\" must be a boolean (yes/no, true/false, on/off or 1/0), "
		                 "not \"%s\"",
		                 key, v);
	}
	return 0;
}

/* Whether `value` holds "%(key)s" ("%%" is a literal "%", so "%%(key)s" is not a reference). */
static bool value_refers_to(const char *value, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = strchr(value, '%'); p; p = strchr(p, '%')) {
		if (p[1] == '%') {
			p += 2;
			continue;
		}
		if (p[1] == '(' && strncasecmp(p + 2, key, n) == 0 && p[2 + n] == ')' &&
		    p[3 + n] == 's') {
			return true;
		}
		p++;
	}
	return false;
}

static bool section_refers_to(const IniSection *s, const char *key)
{
	for (size_t i = 0; i < s->n_entries; i++) {
		if (value_refers_to(s->entries[i].value, key)) {
			return true;
		}
	}
	return false;
}

/* Optimal string alignment distance, or SIZE_MAX for names too long to bother with. */
static size_t edit_distance(const char *a, const char *b)
{
	enum { N = 64 };
	size_t la = strlen(a), lb = strlen(b);
	uint8_t d[N + 1][N + 1];

	if (la > N || lb > N) {
		return SIZE_MAX;
	}
	for (size_t i = 0; i <= la; i++) {
		d[i][0] = (uint8_t)i;
	}
	for (size_t j = 0; j <= lb; j++) {
		d[0][j] = (uint8_t)j;
	}
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int cost = a[i - 1] != b[j - 1];
			int v = MIN(MIN(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);

			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
				v = MIN(v, d[i - 2][j - 2] + 1);
			}
			d[i][j] = (uint8_t)v;
		}
	}
	return d[la][lb];
}

/* Keep `name` as *best when it is closer to `key` than *best_d edits. */
static void suggest(const char *key, const char *name, const char **best, size_t *best_d)
{
	size_t d = edit_distance(key, name);

	if (d < *best_d) {
		*best_d = d;
		*best = name;
	}
}

int ini_check_unknown_keys(const IniFile *ini, const char *section, const char *const *known,
                           IniWarnFunc warn, void *userdata)
{
	const IniSection *s = find_section(ini, section);
	int found = 0;

	if (!s) {
		return 0;
	}
	for (size_t i = 0; i < s->n_entries; i++) {
		const IniEntry *e = &s->entries[i], *d = section_find(&ini->defaults, e->key);
		const char *best = NULL;
		size_t best_d = 3;
		bool is_known = d && d->builtin, referenced;
		_cleanup_free_ char *m = NULL;

		for (const char *const *k = known; k && *k && !is_known; k++) {
			is_known = strcmp(*k, e->key) == 0;
		}
		if (is_known) {
			continue;
		}
		referenced =
		        section_refers_to(s, e->key) || section_refers_to(&ini->defaults, e->key);
		for (size_t j = 0; s == &ini->defaults && !referenced && j < ini->n_sections; j++) {
			referenced = section_refers_to(&ini->sections[j], e->key);
		}
		if (referenced) {
			continue;
		}
		for (size_t j = 0; strlen(e->key) >= 3 && j < ini->defaults.n_entries; j++) {
			const IniEntry *b = &ini->defaults.entries[j];

			if (b->builtin) {
				suggest(e->key, b->key, &best, &best_d);
			}
		}
		for (const char *const *k = known; strlen(e->key) >= 3 && k && *k; k++) {
			suggest(e->key, *k, &best, &best_d);
		}
		if (looks_like_key_material(e->key, strlen(e->key))) {
			m = ini_error_message(
			        ini, e->line,
			        "unknown key of %zu characters of base64 in section [%s] "
			        "(not shown: a continuation line of a value that lost its "
			        "indentation?)",
			        strlen(e->key), s->name);
		} else if (best) {
			m = ini_error_message(
			        ini, e->line,
			        "unknown key '%s' in section [%s] (did you mean '%s'?)", e->key,
			        s->name, best);
		} else {
			m = ini_error_message(ini, e->line, "unknown key '%s' in section [%s]",
			                      e->key, s->name);
		}
		if (!m) {
			return -ENOMEM;
		}
		warn(m, userdata);
		found++;
	}
	return found;
}
