/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A strict reader of the Python pickles (protocol 2) that upstream's server writes as its state. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/*
 * What upstream 1.8 under Python 3 writes, and nothing else, is accepted:
 *
 *   PROTO 2 first, STOP last (nothing after it), MARK, EMPTY_DICT SETITEM SETITEMS,
 *   EMPTY_LIST APPEND APPENDS, EMPTY_TUPLE TUPLE TUPLE1 TUPLE2 TUPLE3, BINPUT LONG_BINPUT
 *   (indices in order, as Python numbers them), BINGET LONG_BINGET (never of a list or a
 *   dict: sharing those is what would make cycles), BINUNICODE (valid UTF-8), BININT BININT1
 *   BININT2 LONG1 (up to 64 bits), BINFLOAT, NONE NEWTRUE NEWFALSE, and GLOBAL REDUCE NEWOBJ
 *   for exactly these callables, which are recognised and never looked up or run:
 *
 *     _codecs.encode(str, "latin1")        -> bytes (how Python 3 pickles bytes at protocol 2)
 *     __builtin__.bytes()                  -> empty bytes
 *     datetime.datetime(bytes[10])         -> a naive datetime (no tzinfo)
 *     datetime.timedelta(int, int, int)    -> a timedelta, normalised as Python keeps it
 *     dbus.Boolean(int) through NEWOBJ     -> a boolean (an Approve() decision in force)
 *
 * Dict keys are str.  Everything else (INST, OBJ, BUILD, PERSID, EXT*, any other global,
 * protocol 3+ opcodes, text-mode opcodes, ...) is refused.
 */

typedef enum PickleType {
	PICKLE_NONE,
	PICKLE_BOOL,
	PICKLE_INT,
	PICKLE_FLOAT,
	PICKLE_STR,   /* UTF-8, NUL-terminated (it may hold NULs itself: use len) */
	PICKLE_BYTES, /* NUL-terminated too */
	PICKLE_LIST,
	PICKLE_TUPLE,
	PICKLE_DICT,
	PICKLE_DATETIME,
	PICKLE_TIMEDELTA,
	_PICKLE_GLOBAL, /* internal: a whitelisted callable; never in a returned tree */
	_PICKLE_TYPE_MAX,
} PickleType;

typedef struct PickleValue PickleValue;

struct PickleValue {
	PickleType type;
	unsigned n_ref; /* values may be shared (the memo); read-only for users */
	unsigned depth; /* containers: 1 + the deepest item; others 0 */
	union {
		bool b;
		int64_t i;
		double f;
		struct {
			char *data;
			size_t len;
		} str; /* PICKLE_STR, PICKLE_BYTES */
		struct {
			PickleValue **items;
			size_t n, cap;
		} seq; /* PICKLE_LIST, PICKLE_TUPLE; PICKLE_DICT: key, value, key, value... */
		struct {
			int year, month, day, hour, minute, second, usec;
		} dt;
		struct {
			int64_t days, seconds, usec;
		} td;
		int global;
	};
};

/* Hard limits; every input is checked against them before memory is spent on it. */
typedef struct PickleLimits {
	size_t file_max;    /* bytes of the file */
	size_t string_max;  /* bytes of one str */
	unsigned depth_max; /* nesting of containers */
	size_t values_max;  /* values made */
	size_t items_max;   /* container slots in all (a dict entry takes two) */
	size_t memo_max;    /* memo entries */
	size_t stack_max;   /* values and marks on the stack */
} PickleLimits;

/* Enough for about 20,000 clients as upstream writes them. */
extern const PickleLimits pickle_limits_default;

/*
 * Read a pickle from memory (NULL limits: the defaults).  Returns 0 with the result in *ret
 * (free with pickle_value_unref()), -EBADMSG when the data is not a pickle this reader
 * accepts (truncated, a refused opcode or callable, a wrong argument, a limit passed), with a
 * malloc()ed one-line reason naming the byte offset in *ret_error (may be NULL), or -ENOMEM.
 * Nothing is output on failure.
 */
int pickle_parse(const void *data, size_t size, const PickleLimits *limits, PickleValue **ret,
                 char **ret_error);

/*
 * As pickle_parse() on a file; also -EFBIG with a reason when the file is larger than
 * limits->file_max, and -errno (no reason) when it cannot be read (-ENOENT: missing).
 */
int pickle_load(const char *path, const PickleLimits *limits, PickleValue **ret, char **ret_error);

PickleValue *pickle_value_ref(PickleValue *v);
/* Drop a reference; accepts NULL; returns NULL. */
PickleValue *pickle_value_unref(PickleValue *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(PickleValue *, pickle_value_unref)

/* Python's name for a type ("dict", "str", "datetime.timedelta", ...). */
const char *pickle_type_name(PickleType t);

/*
 * The value of a str key in a dict, the last one as Python keeps it, or NULL when missing (or
 * `dict` is not a dict).  Linear: for the small per-client dicts.
 */
PickleValue *pickle_dict_get(const PickleValue *dict, const char *key);

/*
 * A datetime as microseconds since the epoch (the datetime taken as UTC), a timedelta as
 * milliseconds (rounded down).  Return 0, or -ERANGE (before 1970, or negative).
 */
int pickle_datetime_usec(const PickleValue *v, uint64_t *ret);
int pickle_timedelta_msec(const PickleValue *v, uint64_t *ret);
