/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A strict reader of the Python pickles (protocol 2) that upstream's server writes as its state. */
#include "pickle.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io-util.h"

const PickleLimits pickle_limits_default = {
        .file_max = 64U << 20,
        .string_max = 1U << 20,
        .depth_max = 16,
        .values_max = 4U << 20,
        .items_max = 8U << 20,
        .memo_max = 4U << 20,
        .stack_max = 1U << 20,
};

/* The callables a pickle may name, and nothing else. */
enum { G_CODECS_ENCODE, G_BYTES, G_DATETIME, G_TIMEDELTA, G_DBUS_BOOLEAN };

static const struct {
	const char *module, *name;
} globals[] = {
        [G_CODECS_ENCODE] = {"_codecs", "encode"}, [G_BYTES] = {"__builtin__", "bytes"},
        [G_DATETIME] = {"datetime", "datetime"},   [G_TIMEDELTA] = {"datetime", "timedelta"},
        [G_DBUS_BOOLEAN] = {"dbus", "Boolean"},
};

/* Opcode names, for messages about the ones refused too. */
/* clang-format off */
static const char *const opcode_names[256] = {
        ['('] = "MARK",          ['.'] = "STOP",          ['0'] = "POP",
        ['1'] = "POP_MARK",      ['2'] = "DUP",           ['F'] = "FLOAT",
        ['I'] = "INT",           ['J'] = "BININT",        ['K'] = "BININT1",
        ['L'] = "LONG",          ['M'] = "BININT2",       ['N'] = "NONE",
        ['P'] = "PERSID",        ['Q'] = "BINPERSID",     ['R'] = "REDUCE",
        ['S'] = "STRING",        ['T'] = "BINSTRING",     ['U'] = "SHORT_BINSTRING",
        ['V'] = "UNICODE",       ['X'] = "BINUNICODE",    ['a'] = "APPEND",
        ['b'] = "BUILD",         ['c'] = "GLOBAL",        ['d'] = "DICT",
        ['}'] = "EMPTY_DICT",    ['e'] = "APPENDS",       ['g'] = "GET",
        ['h'] = "BINGET",        ['i'] = "INST",          ['j'] = "LONG_BINGET",
        ['l'] = "LIST",          [']'] = "EMPTY_LIST",    ['o'] = "OBJ",
        ['p'] = "PUT",           ['q'] = "BINPUT",        ['r'] = "LONG_BINPUT",
        ['s'] = "SETITEM",       ['t'] = "TUPLE",         [')'] = "EMPTY_TUPLE",
        ['u'] = "SETITEMS",      ['G'] = "BINFLOAT",      ['B'] = "BINBYTES",
        ['C'] = "SHORT_BINBYTES", [0x80] = "PROTO",       [0x81] = "NEWOBJ",
        [0x82] = "EXT1",         [0x83] = "EXT2",         [0x84] = "EXT4",
        [0x85] = "TUPLE1",       [0x86] = "TUPLE2",       [0x87] = "TUPLE3",
        [0x88] = "NEWTRUE",      [0x89] = "NEWFALSE",     [0x8a] = "LONG1",
        [0x8b] = "LONG4",        [0x8c] = "SHORT_BINUNICODE", [0x8d] = "BINUNICODE8",
        [0x8e] = "BINBYTES8",    [0x8f] = "EMPTY_SET",    [0x90] = "ADDITEMS",
        [0x91] = "FROZENSET",    [0x92] = "NEWOBJ_EX",    [0x93] = "STACK_GLOBAL",
        [0x94] = "MEMOIZE",      [0x95] = "FRAME",        [0x96] = "BYTEARRAY8",
        [0x97] = "NEXT_BUFFER",  [0x98] = "READONLY_BUFFER",
};
/* clang-format on */

const char *pickle_type_name(PickleType t)
{
	static const char *const names[_PICKLE_TYPE_MAX] = {
	        [PICKLE_NONE] = "None",
	        [PICKLE_BOOL] = "bool",
	        [PICKLE_INT] = "int",
	        [PICKLE_FLOAT] = "float",
	        [PICKLE_STR] = "str",
	        [PICKLE_BYTES] = "bytes",
	        [PICKLE_LIST] = "list",
	        [PICKLE_TUPLE] = "tuple",
	        [PICKLE_DICT] = "dict",
	        [PICKLE_DATETIME] = "datetime.datetime",
	        [PICKLE_TIMEDELTA] = "datetime.timedelta",
	        [_PICKLE_GLOBAL] = "callable",
	};

	return (unsigned)t < _PICKLE_TYPE_MAX ? names[t] : "?";
}

PickleValue *pickle_value_ref(PickleValue *v)
{
	if (v) {
		v->n_ref++;
	}
	return v;
}

PickleValue *pickle_value_unref(PickleValue *v)
{
	if (!v || --v->n_ref > 0) {
		return NULL;
	}
	switch (v->type) {
	case PICKLE_STR:
	case PICKLE_BYTES:
		free(v->str.data);
		break;
	case PICKLE_LIST:
	case PICKLE_TUPLE:
	case PICKLE_DICT:
		/* Recursion is bounded: no tree deeper than depth_max is ever made. */
		for (size_t i = 0; i < v->seq.n; i++) {
			pickle_value_unref(v->seq.items[i]);
		}
		free(v->seq.items);
		break;
	default:
		break;
	}
	free(v);
	return NULL;
}

PickleValue *pickle_dict_get(const PickleValue *dict, const char *key)
{
	size_t len = strlen(key);

	if (!dict || dict->type != PICKLE_DICT) {
		return NULL;
	}
	for (size_t i = dict->seq.n; i >= 2; i -= 2) {
		const PickleValue *k = dict->seq.items[i - 2];

		if (k->str.len == len && memcmp(k->str.data, key, len) == 0) {
			return dict->seq.items[i - 1];
		}
	}
	return NULL;
}

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int pickle_datetime_usec(const PickleValue *v, uint64_t *ret)
{
	int64_t days = days_from_civil(v->dt.year, (unsigned)v->dt.month, (unsigned)v->dt.day);
	int64_t s = days * 86400 + v->dt.hour * 3600 + v->dt.minute * 60 + v->dt.second;

	if (s < 0) {
		return -ERANGE;
	}
	*ret = (uint64_t)s * 1000000 + (uint64_t)v->dt.usec;
	return 0;
}

int pickle_timedelta_msec(const PickleValue *v, uint64_t *ret)
{
	if (v->td.days < 0) {
		return -ERANGE;
	}
	*ret = (uint64_t)v->td.days * 86400000 + (uint64_t)v->td.seconds * 1000 +
	       (uint64_t)v->td.usec / 1000;
	return 0;
}

/* The machine. */

typedef struct Parser {
	const unsigned char *start, *p, *end;
	size_t op; /* offset of the opcode being run */
	const PickleLimits *lim;
	PickleValue **stack;
	size_t n_stack, cap_stack;
	size_t *marks;
	size_t n_marks, cap_marks;
	PickleValue **memo;
	size_t n_memo, cap_memo;
	size_t n_values, n_items;
	char *error;
	int r; /* new_value()'s error */
} Parser;

_printf_(2, 3) static int fail(Parser *ps, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	if (ps->error) {
		return -EBADMSG;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0) {
		msg = NULL;
	}
	va_end(ap);
	if (msg && asprintf(&ps->error, "at byte %zu: %s", ps->op, msg) < 0) {
		ps->error = NULL;
	}
	free(msg);
	return -EBADMSG;
}

static int grow(void *pp, size_t *cap, size_t need, size_t size)
{
	void **p = pp;
	size_t n = *cap ? *cap : 8;
	void *np;

	if (need <= *cap) {
		return 0;
	}
	while (n < need) {
		n *= 2;
	}
	np = reallocarray(*p, n, size);
	if (!np) {
		return -ENOMEM;
	}
	*p = np;
	*cap = n;
	return 0;
}

/* A new value, or NULL with the error in ps->r. */
static PickleValue *new_value(Parser *ps, PickleType type)
{
	PickleValue *v;

	if (ps->n_values >= ps->lim->values_max) {
		ps->r = fail(ps, "more than %zu values", ps->lim->values_max);
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		ps->r = -ENOMEM;
		return NULL;
	}
	ps->n_values++;
	v->type = type;
	v->n_ref = 1;
	return v;
}

static int need(Parser *ps, size_t n)
{
	if ((size_t)(ps->end - ps->p) < n) {
		return fail(ps, "truncated (%s needs %zu more bytes)",
		            opcode_names[ps->start[ps->op]], n);
	}
	return 0;
}

static size_t frame_start(const Parser *ps)
{
	return ps->n_marks ? ps->marks[ps->n_marks - 1] : 0;
}

/* Push a value the stack then owns (it is dropped on failure). */
static int push(Parser *ps, PickleValue *v)
{
	if (ps->n_stack + ps->n_marks >= ps->lim->stack_max) {
		pickle_value_unref(v);
		return fail(ps, "more than %zu values on the stack", ps->lim->stack_max);
	}
	if (grow(&ps->stack, &ps->cap_stack, ps->n_stack + 1, sizeof(*ps->stack)) < 0) {
		pickle_value_unref(v);
		return -ENOMEM;
	}
	ps->stack[ps->n_stack++] = v;
	return 0;
}

/* Make sure the frame above the last MARK holds at least n values. */
static int frame_has(Parser *ps, size_t n)
{
	if (ps->n_stack - frame_start(ps) < n) {
		return fail(ps, "%s needs %zu values on the stack", opcode_names[ps->start[ps->op]],
		            n);
	}
	return 0;
}

static int pop_mark(Parser *ps, size_t *ret)
{
	if (ps->n_marks == 0) {
		return fail(ps, "%s without a MARK", opcode_names[ps->start[ps->op]]);
	}
	*ret = ps->marks[--ps->n_marks];
	return 0;
}

/* Add `item` (reference moved) to a container, checking the limits. */
static int container_add(Parser *ps, PickleValue *c, PickleValue *item)
{
	if (item->type == _PICKLE_GLOBAL) {
		pickle_value_unref(item);
		return fail(ps, "a callable used as a value");
	}
	if (item->depth + 1 > ps->lim->depth_max) {
		pickle_value_unref(item);
		return fail(ps, "containers nested deeper than %u", ps->lim->depth_max);
	}
	if (ps->n_items >= ps->lim->items_max) {
		pickle_value_unref(item);
		return fail(ps, "more than %zu items in containers", ps->lim->items_max);
	}
	if (grow(&c->seq.items, &c->seq.cap, c->seq.n + 1, sizeof(*c->seq.items)) < 0) {
		pickle_value_unref(item);
		return -ENOMEM;
	}
	ps->n_items++;
	c->seq.items[c->seq.n++] = item;
	c->depth = MAX(c->depth, item->depth + 1);
	return 0;
}

/* Move stack[from..n_stack) into container c, as key/value pairs when c is a dict. */
static int fill(Parser *ps, PickleValue *c, size_t from)
{
	size_t n = ps->n_stack;
	int r = 0;

	if (c->type == PICKLE_DICT && (n - from) % 2 != 0) {
		return fail(ps, "%s with an odd number of values", opcode_names[ps->start[ps->op]]);
	}
	for (size_t i = from; i < n; i++) {
		PickleValue *v = ps->stack[i];

		ps->stack[i] = NULL;
		if (r < 0) {
			pickle_value_unref(v);
			continue;
		}
		if (c->type == PICKLE_DICT && (i - from) % 2 == 0 && v->type != PICKLE_STR) {
			r = fail(ps, "a dict key that is a %s, not a str",
			         pickle_type_name(v->type));
			pickle_value_unref(v);
			continue;
		}
		r = container_add(ps, c, v);
	}
	ps->n_stack = from;
	return r;
}

static int op_tuple(Parser *ps, size_t from)
{
	PickleValue *t = NULL;
	int r;

	t = new_value(ps, PICKLE_TUPLE);
	if (!t) {
		return ps->r;
	}
	r = fill(ps, t, from);
	if (r < 0) {
		pickle_value_unref(t);
		return r;
	}
	return push(ps, t);
}

/* SETITEM(S), APPEND(S): the container sits just below `from`, in the current frame. */
static int op_fill(Parser *ps, size_t from, PickleType want)
{
	PickleValue *c;

	if (from == 0 || from - 1 < frame_start(ps)) {
		return fail(ps, "%s without a container", opcode_names[ps->start[ps->op]]);
	}
	c = ps->stack[from - 1];
	if (c->type != want) {
		return fail(ps, "%s on a %s", opcode_names[ps->start[ps->op]],
		            pickle_type_name(c->type));
	}
	return fill(ps, c, from);
}

static int read_u32(Parser *ps, uint32_t *ret)
{
	int r = need(ps, 4);

	if (r < 0) {
		return r;
	}
	*ret = (uint32_t)ps->p[0] | (uint32_t)ps->p[1] << 8 | (uint32_t)ps->p[2] << 16 |
	       (uint32_t)ps->p[3] << 24;
	ps->p += 4;
	return 0;
}

static int push_int(Parser *ps, int64_t i)
{
	PickleValue *v = NULL;

	v = new_value(ps, PICKLE_INT);
	if (!v) {
		return ps->r;
	}
	v->i = i;
	return push(ps, v);
}

/* One code point of well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF), or -1. */
static int32_t utf8_next(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	uint32_t c = *p++, min;
	int n;

	if (c < 0x80) {
		*pp = p;
		return (int32_t)c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1, c &= 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2, c &= 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3, c &= 0x07, min = 0x10000;
	} else {
		return -1;
	}
	if (end - p < n) {
		return -1;
	}
	for (int i = 0; i < n; i++, p++) {
		if ((*p & 0xc0) != 0x80) {
			return -1;
		}
		c = c << 6 | (*p & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
		return -1;
	}
	*pp = p;
	return (int32_t)c;
}

static int op_binunicode(Parser *ps)
{
	const unsigned char *s, *e;
	PickleValue *v = NULL;
	uint32_t len;
	int r;

	if ((r = read_u32(ps, &len)) < 0) {
		return r;
	}
	if (len > ps->lim->string_max) {
		return fail(ps, "a str of %" PRIu32 " bytes (the limit is %zu)", len,
		            ps->lim->string_max);
	}
	if ((r = need(ps, len)) < 0) {
		return r;
	}
	for (s = ps->p, e = ps->p + len; s < e;) {
		if (utf8_next(&s, e) < 0) {
			return fail(ps, "a str that is not valid UTF-8");
		}
	}
	v = new_value(ps, PICKLE_STR);
	if (!v) {
		return ps->r;
	}
	v->str.data = malloc((size_t)len + 1);
	if (!v->str.data) {
		pickle_value_unref(v);
		return -ENOMEM;
	}
	memcpy(v->str.data, ps->p, len);
	v->str.data[len] = '\0';
	v->str.len = len;
	ps->p += len;
	return push(ps, v);
}

static int op_global(Parser *ps)
{
	char module[32], name[32];
	PickleValue *v = NULL;

	for (int part = 0; part < 2; part++) {
		char *out = part ? name : module;
		const unsigned char *nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
		size_t len;

		if (!nl) {
			return fail(ps, "truncated GLOBAL");
		}
		len = (size_t)(nl - ps->p);
		if (len >= sizeof(module) || memchr(ps->p, '\0', len)) {
			return fail(ps, "GLOBAL with a name that is not accepted");
		}
		memcpy(out, ps->p, len);
		out[len] = '\0';
		ps->p = nl + 1;
	}
	for (size_t i = 0; i < ELEMENTSOF(globals); i++) {
		if (strcmp(module, globals[i].module) == 0 && strcmp(name, globals[i].name) == 0) {
			v = new_value(ps, _PICKLE_GLOBAL);
			if (!v) {
				return ps->r;
			}
			v->global = (int)i;
			return push(ps, v);
		}
	}
	return fail(ps, "GLOBAL %s.%s is not accepted", module, name);
}

static bool is_int_in(const PickleValue *v, int64_t lo, int64_t hi)
{
	return v->type == PICKLE_INT && v->i >= lo && v->i <= hi;
}

static int days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) {
		return 29;
	}
	return days[m - 1];
}

/* _codecs.encode(str, "latin1"): the str's code points, each < 256, as bytes. */
static int make_latin1(Parser *ps, const PickleValue *args, PickleValue **ret)
{
	const PickleValue *s, *enc;
	const unsigned char *p, *e;
	PickleValue *v = NULL;
	size_t n = 0;

	s = args->seq.n == 2 ? args->seq.items[0] : NULL;
	enc = args->seq.n == 2 ? args->seq.items[1] : NULL;
	if (!s || s->type != PICKLE_STR || enc->type != PICKLE_STR ||
	    strcmp(enc->str.data, "latin1") != 0) {
		return fail(ps, "_codecs.encode with arguments other than (str, 'latin1')");
	}
	v = new_value(ps, PICKLE_BYTES);
	if (!v) {
		return ps->r;
	}
	v->str.data = malloc(s->str.len + 1);
	if (!v->str.data) {
		pickle_value_unref(v);
		return -ENOMEM;
	}
	for (p = (const unsigned char *)s->str.data, e = p + s->str.len; p < e;) {
		int32_t c = utf8_next(&p, e);

		if (c < 0 || c > 0xff) {
			pickle_value_unref(v);
			return fail(ps, "_codecs.encode of a str that is not latin1");
		}
		v->str.data[n++] = (char)c;
	}
	v->str.data[n] = '\0';
	v->str.len = n;
	*ret = v;
	return 0;
}

static int make_datetime(Parser *ps, const PickleValue *args, PickleValue **ret)
{
	const unsigned char *b;
	PickleValue *v = NULL;

	if (args->seq.n != 1 || args->seq.items[0]->type != PICKLE_BYTES ||
	    args->seq.items[0]->str.len != 10) {
		return fail(ps, "datetime.datetime with arguments other than (bytes[10],)");
	}
	b = (const unsigned char *)args->seq.items[0]->str.data;
	v = new_value(ps, PICKLE_DATETIME);
	if (!v) {
		return ps->r;
	}
	v->dt.year = b[0] << 8 | b[1];
	v->dt.month = b[2];
	v->dt.day = b[3];
	v->dt.hour = b[4];
	v->dt.minute = b[5];
	v->dt.second = b[6];
	v->dt.usec = b[7] << 16 | b[8] << 8 | b[9];
	if (v->dt.year < 1 || v->dt.year > 9999 || v->dt.month < 1 || v->dt.month > 12 ||
	    v->dt.day < 1 || v->dt.day > days_in_month(v->dt.year, v->dt.month) ||
	    v->dt.hour > 23 || v->dt.minute > 59 || v->dt.second > 59 || v->dt.usec > 999999) {
		pickle_value_unref(v);
		return fail(ps, "a datetime.datetime out of range");
	}
	*ret = v;
	return 0;
}

static int make_timedelta(Parser *ps, const PickleValue *args, PickleValue **ret)
{
	PickleValue *v = NULL;

	/* Python keeps timedeltas normalised this way, and pickles them so. */
	if (args->seq.n != 3 || !is_int_in(args->seq.items[0], -999999999, 999999999) ||
	    !is_int_in(args->seq.items[1], 0, 86399) || !is_int_in(args->seq.items[2], 0, 999999)) {
		return fail(ps, "datetime.timedelta with arguments other than normalised "
		                "(days, seconds, microseconds)");
	}
	v = new_value(ps, PICKLE_TIMEDELTA);
	if (!v) {
		return ps->r;
	}
	v->td.days = args->seq.items[0]->i;
	v->td.seconds = args->seq.items[1]->i;
	v->td.usec = args->seq.items[2]->i;
	*ret = v;
	return 0;
}

/* REDUCE and NEWOBJ: callable and argument tuple on the stack. */
static int op_call(Parser *ps, bool newobj)
{
	_cleanup_(pickle_value_unrefp) PickleValue *args = NULL, *fn = NULL;
	PickleValue *v = NULL;
	int r;

	if ((r = frame_has(ps, 2)) < 0) {
		return r;
	}
	args = ps->stack[--ps->n_stack];
	fn = ps->stack[--ps->n_stack];
	if (fn->type != _PICKLE_GLOBAL) {
		return fail(ps, "%s of a %s", opcode_names[ps->start[ps->op]],
		            pickle_type_name(fn->type));
	}
	if (args->type != PICKLE_TUPLE) {
		return fail(ps, "%s with arguments that are a %s, not a tuple",
		            opcode_names[ps->start[ps->op]], pickle_type_name(args->type));
	}
	if (newobj != (fn->global == G_DBUS_BOOLEAN)) {
		return fail(ps, "%s of %s.%s is not accepted", opcode_names[ps->start[ps->op]],
		            globals[fn->global].module, globals[fn->global].name);
	}
	switch (fn->global) {
	case G_CODECS_ENCODE:
		r = make_latin1(ps, args, &v);
		break;
	case G_BYTES:
		if (args->seq.n != 0) {
			return fail(ps, "__builtin__.bytes with arguments");
		}
		v = new_value(ps, PICKLE_BYTES);
		if (!v) {
			return ps->r;
		}
		v->str.data = strdup("");
		if (!v->str.data) {
			pickle_value_unref(v);
			return -ENOMEM;
		}
		break;
	case G_DATETIME:
		r = make_datetime(ps, args, &v);
		break;
	case G_TIMEDELTA:
		r = make_timedelta(ps, args, &v);
		break;
	case G_DBUS_BOOLEAN:
		if (args->seq.n != 1 || !is_int_in(args->seq.items[0], 0, 1)) {
			return fail(ps, "dbus.Boolean with arguments other than (0,) or (1,)");
		}
		v = new_value(ps, PICKLE_BOOL);
		if (!v) {
			return ps->r;
		}
		v->b = args->seq.items[0]->i;
		break;
	default:
		return fail(ps, "a callable that is not accepted");
	}
	if (r < 0) {
		return r;
	}
	return push(ps, v);
}

static int op_put(Parser *ps, uint32_t idx)
{
	int r;

	if ((r = frame_has(ps, 1)) < 0) {
		return r;
	}
	/* Python numbers its memo entries 0, 1, 2...: anything else was not written by it. */
	if (idx != ps->n_memo) {
		return fail(ps, "memo index %" PRIu32 " out of order (expected %zu)", idx,
		            ps->n_memo);
	}
	if (ps->n_memo >= ps->lim->memo_max) {
		return fail(ps, "more than %zu memo entries", ps->lim->memo_max);
	}
	if (grow(&ps->memo, &ps->cap_memo, ps->n_memo + 1, sizeof(*ps->memo)) < 0) {
		return -ENOMEM;
	}
	ps->memo[ps->n_memo++] = pickle_value_ref(ps->stack[ps->n_stack - 1]);
	return 0;
}

static int op_get(Parser *ps, uint32_t idx)
{
	PickleValue *v = NULL;

	if (idx >= ps->n_memo) {
		return fail(ps, "memo index %" PRIu32 " not set", idx);
	}
	v = ps->memo[idx];
	/* A shared list or dict could be made to hold itself; upstream never shares them. */
	if (v->type == PICKLE_LIST || v->type == PICKLE_DICT) {
		return fail(ps, "a %s referred to twice", pickle_type_name(v->type));
	}
	return push(ps, pickle_value_ref(v));
}

static int push_new(Parser *ps, PickleType type, bool b)
{
	PickleValue *v = NULL;

	v = new_value(ps, type);
	if (!v) {
		return ps->r;
	}
	v->b = b;
	return push(ps, v);
}

/* Run one opcode; 1 at STOP. */
static int step(Parser *ps)
{
	unsigned char op;
	size_t from = 0;
	uint32_t u;
	int r;

	if (ps->p == ps->end) {
		ps->op = (size_t)(ps->p - ps->start);
		return fail(ps, "truncated (no STOP)");
	}
	ps->op = (size_t)(ps->p - ps->start);
	op = *ps->p++;
	switch (op) {
	case '(': /* MARK */
		if (ps->n_marks >= ps->lim->depth_max) {
			return fail(ps, "MARKs nested deeper than %u", ps->lim->depth_max);
		}
		if (ps->n_stack + ps->n_marks >= ps->lim->stack_max) {
			return fail(ps, "more than %zu values on the stack", ps->lim->stack_max);
		}
		if (grow(&ps->marks, &ps->cap_marks, ps->n_marks + 1, sizeof(*ps->marks)) < 0) {
			return -ENOMEM;
		}
		ps->marks[ps->n_marks++] = ps->n_stack;
		return 0;
	case '.': /* STOP */
		if (ps->n_marks != 0 || ps->n_stack != 1) {
			return fail(ps, "STOP with %zu values and %zu MARKs on the stack",
			            ps->n_stack, ps->n_marks);
		}
		if (ps->stack[0]->type == _PICKLE_GLOBAL) {
			return fail(ps, "the result is a callable");
		}
		if (ps->p != ps->end) {
			return fail(ps, "%zu bytes after STOP", (size_t)(ps->end - ps->p));
		}
		return 1;
	case '}': /* EMPTY_DICT */
		return push_new(ps, PICKLE_DICT, false);
	case ']': /* EMPTY_LIST */
		return push_new(ps, PICKLE_LIST, false);
	case ')': /* EMPTY_TUPLE */
		return push_new(ps, PICKLE_TUPLE, false);
	case 'N': /* NONE */
		return push_new(ps, PICKLE_NONE, false);
	case 0x88: /* NEWTRUE */
		return push_new(ps, PICKLE_BOOL, true);
	case 0x89: /* NEWFALSE */
		return push_new(ps, PICKLE_BOOL, false);
	case 's': /* SETITEM */
		if ((r = frame_has(ps, 3)) < 0) {
			return r;
		}
		return op_fill(ps, ps->n_stack - 2, PICKLE_DICT);
	case 'u': /* SETITEMS */
		if ((r = pop_mark(ps, &from)) < 0) {
			return r;
		}
		return op_fill(ps, from, PICKLE_DICT);
	case 'a': /* APPEND */
		if ((r = frame_has(ps, 2)) < 0) {
			return r;
		}
		return op_fill(ps, ps->n_stack - 1, PICKLE_LIST);
	case 'e': /* APPENDS */
		if ((r = pop_mark(ps, &from)) < 0) {
			return r;
		}
		return op_fill(ps, from, PICKLE_LIST);
	case 't': /* TUPLE */
		if ((r = pop_mark(ps, &from)) < 0) {
			return r;
		}
		return op_tuple(ps, from);
	case 0x85: /* TUPLE1 */
	case 0x86: /* TUPLE2 */
	case 0x87: /* TUPLE3 */
		if ((r = frame_has(ps, op - 0x84U)) < 0) {
			return r;
		}
		return op_tuple(ps, ps->n_stack - (op - 0x84U));
	case 'q': /* BINPUT */
		if ((r = need(ps, 1)) < 0) {
			return r;
		}
		return op_put(ps, *ps->p++);
	case 'r': /* LONG_BINPUT */
		if ((r = read_u32(ps, &u)) < 0) {
			return r;
		}
		return op_put(ps, u);
	case 'h': /* BINGET */
		if ((r = need(ps, 1)) < 0) {
			return r;
		}
		return op_get(ps, *ps->p++);
	case 'j': /* LONG_BINGET */
		if ((r = read_u32(ps, &u)) < 0) {
			return r;
		}
		return op_get(ps, u);
	case 'X': /* BINUNICODE */
		return op_binunicode(ps);
	case 'J': /* BININT */
		if ((r = read_u32(ps, &u)) < 0) {
			return r;
		}
		return push_int(ps, (int32_t)u);
	case 'K': /* BININT1 */
		if ((r = need(ps, 1)) < 0) {
			return r;
		}
		return push_int(ps, *ps->p++);
	case 'M': /* BININT2 */
		if ((r = need(ps, 2)) < 0) {
			return r;
		}
		u = (uint32_t)ps->p[0] | (uint32_t)ps->p[1] << 8;
		ps->p += 2;
		return push_int(ps, u);
	case 0x8a: { /* LONG1: little-endian two's complement */
		uint64_t x = 0;
		unsigned n;

		if ((r = need(ps, 1)) < 0) {
			return r;
		}
		n = *ps->p++;
		if (n > 8) {
			return fail(ps, "an int of %u bytes (the limit is 8)", n);
		}
		if ((r = need(ps, n)) < 0) {
			return r;
		}
		for (unsigned i = 0; i < n; i++) {
			x |= (uint64_t)ps->p[i] << (8 * i);
		}
		if (n > 0 && n < 8 && (ps->p[n - 1] & 0x80)) {
			x |= ~(uint64_t)0 << (8 * n);
		}
		ps->p += n;
		return push_int(ps, (int64_t)x);
	}
	case 'G': { /* BINFLOAT: big-endian IEEE 754 double */
		uint64_t x = 0;
		PickleValue *v = NULL;

		if ((r = need(ps, 8)) < 0) {
			return r;
		}
		for (int i = 0; i < 8; i++) {
			x = x << 8 | ps->p[i];
		}
		ps->p += 8;
		v = new_value(ps, PICKLE_FLOAT);
		if (!v) {
			return ps->r;
		}
		memcpy(&v->f, &x, sizeof(v->f));
		return push(ps, v);
	}
	case 'c': /* GLOBAL */
		return op_global(ps);
	case 'R': /* REDUCE */
		return op_call(ps, false);
	case 0x81: /* NEWOBJ */
		return op_call(ps, true);
	case 0x80: /* PROTO */
		return fail(ps, "PROTO after the start");
	default:
		if (opcode_names[op]) {
			return fail(ps, "opcode %s is not accepted", opcode_names[op]);
		}
		return fail(ps, "unknown opcode 0x%02x", op);
	}
}

static void parser_done(Parser *ps)
{
	for (size_t i = 0; i < ps->n_stack; i++) {
		pickle_value_unref(ps->stack[i]);
	}
	for (size_t i = 0; i < ps->n_memo; i++) {
		pickle_value_unref(ps->memo[i]);
	}
	free(ps->stack);
	free(ps->marks);
	free(ps->memo);
	free(ps->error);
}

int pickle_parse(const void *data, size_t size, const PickleLimits *limits, PickleValue **ret,
                 char **ret_error)
{
	Parser ps = {
	        .start = data,
	        .p = data,
	        .end = (const unsigned char *)data + size,
	        .lim = limits ? limits : &pickle_limits_default,
	};
	int r;

	if (size < 2 || ps.p[0] != 0x80) {
		r = fail(&ps, "not a pickle of protocol 2 (no PROTO opcode)");
	} else if (ps.p[1] != 2) {
		r = fail(&ps, "a pickle of protocol %u, not 2", ps.p[1]);
	} else {
		ps.p += 2;
		while ((r = step(&ps)) == 0) {
		}
	}
	if (r == 1) {
		*ret = TAKE_PTR(ps.stack[0]);
		ps.n_stack = 0;
		r = 0;
	} else if (r == -EBADMSG && ret_error) {
		*ret_error = TAKE_PTR(ps.error);
	}
	parser_done(&ps);
	return r;
}

int pickle_load(const char *path, const PickleLimits *limits, PickleValue **ret, char **ret_error)
{
	const PickleLimits *lim = limits ? limits : &pickle_limits_default;
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r;

	r = read_full_file(path, lim->file_max, &data, &len);
	if (r == -EFBIG) {
		if (ret_error && asprintf(ret_error, "larger than %zu bytes", lim->file_max) < 0) {
			*ret_error = NULL;
		}
		return r;
	}
	if (r < 0) {
		return r;
	}
	return pickle_parse(data, len, lim, ret, ret_error);
}
