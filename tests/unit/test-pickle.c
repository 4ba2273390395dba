/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The pickle reader: real upstream state files, every accepted type, every refused opcode and
 * callable, the limits, truncation at every offset; and their import as saved clients. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io-util.h"
#include "log.h"
#include "pickle.h"
#include "upstream-state.h"

/* The real upstream files (tests/fuzz/corpus/pickle), and made-up ones (tests/unit/pickle,
 * made by tests/tools/make-test-pickles.py). */
#if !defined(PICKLE_CORPUS) || !defined(PICKLE_TESTDATA)
#error "PICKLE_CORPUS and PICKLE_TESTDATA must name the directories of test files"
#endif

/* A made-up file's bytes (free them). */
static char *test_data(const char *name, size_t *ret_len)
{
	char path[512];
	char *data;

	snprintf(path, sizeof(path), "%s/%s.pickle", PICKLE_TESTDATA, name);
	ck_assert_int_eq(read_full_file(path, 1 << 20, &data, ret_len), 0);
	return data;
}

/* Parse a literal; the reason for a refusal goes to *err (NULL when not wanted). */
static int parse_lim(const void *data, size_t len, const PickleLimits *lim, PickleValue **ret,
                     char **err)
{
	char *e = NULL;
	int r = pickle_parse(data, len, lim, ret, &e);

	if (r < 0) {
		ck_assert_int_eq(r, -EBADMSG);
		ck_assert_ptr_nonnull(e);
	} else {
		ck_assert_ptr_null(e);
	}
	if (err) {
		*err = e;
	} else {
		free(e);
	}
	return r;
}

#define PARSE(lit, ret) parse_lim(lit, sizeof(lit) - 1, NULL, ret, NULL)

/* The literal is refused, with a reason that contains `why`. */
#define REFUSED(lit, why) refused(lit, sizeof(lit) - 1, NULL, why)

static void refused(const void *data, size_t len, const PickleLimits *lim, const char *why)
{
	PickleValue *v = NULL;
	char *err = NULL;
	int r = parse_lim(data, len, lim, &v, &err);

	ck_assert_msg(r == -EBADMSG, "accepted, expected a refusal for '%s'", why);
	ck_assert_msg(strstr(err, why), "reason '%s' lacks '%s'", err, why);
	ck_assert_ptr_null(v);
	free(err);
}

static PickleValue *get(const PickleValue *d, const char *key, PickleType type)
{
	PickleValue *v = pickle_dict_get(d, key);

	ck_assert_msg(v, "no '%s'", key);
	ck_assert_msg(v->type == type, "'%s' is a %s", key, pickle_type_name(v->type));
	return v;
}

START_TEST(every_accepted_type)
{
	_cleanup_(pickle_value_unrefp) PickleValue *d = NULL;
	size_t len;
	_cleanup_free_ char *data = test_data("all-types", &len);
	PickleValue *v;
	uint64_t u;

	/* pickle.dumps() at protocol 2 of a dict with a value of every accepted type. */
	ck_assert_int_eq(parse_lim(data, len, NULL, &d, NULL), 0);
	ck_assert_int_eq(d->type, PICKLE_DICT);
	ck_assert_uint_eq(d->seq.n, 2 * 24);
	get(d, "none", PICKLE_NONE);
	ck_assert(get(d, "t", PICKLE_BOOL)->b);
	ck_assert(!get(d, "f", PICKLE_BOOL)->b);
	ck_assert_int_eq(get(d, "i1", PICKLE_INT)->i, 7);
	ck_assert_int_eq(get(d, "i2", PICKLE_INT)->i, 300);
	ck_assert_int_eq(get(d, "i4", PICKLE_INT)->i, -5);
	ck_assert_int_eq(get(d, "big", PICKLE_INT)->i, (int64_t)1 << 40);
	ck_assert_int_eq(get(d, "neg", PICKLE_INT)->i, -((int64_t)1 << 40));
	ck_assert(get(d, "fl", PICKLE_FLOAT)->f == 1.5);
	v = get(d, "s", PICKLE_STR);
	ck_assert_str_eq(v->str.data, "caf\xc3\xa9 \xe5\x90\x8d");
	v = get(d, "b", PICKLE_BYTES);
	ck_assert_uint_eq(v->str.len, 4);
	ck_assert_mem_eq(v->str.data,
	                 "\x00\xff"
	                 "ab",
	                 4);
	ck_assert_uint_eq(get(d, "e", PICKLE_BYTES)->str.len, 0);
	ck_assert_uint_eq(get(d, "l0", PICKLE_LIST)->seq.n, 0);
	ck_assert_uint_eq(get(d, "l1", PICKLE_LIST)->seq.n, 1);
	v = get(d, "l2", PICKLE_LIST);
	ck_assert_uint_eq(v->seq.n, 2);
	ck_assert_int_eq(v->seq.items[1]->i, 2);
	for (unsigned i = 0; i <= 4; i++) {
		char key[4];

		snprintf(key, sizeof(key), "t%u", i);
		v = get(d, key, PICKLE_TUPLE);
		ck_assert_uint_eq(v->seq.n, i);
		for (unsigned j = 0; j < i; j++) {
			ck_assert_int_eq(v->seq.items[j]->i, j + 1);
		}
	}
	ck_assert_uint_eq(get(d, "d0", PICKLE_DICT)->seq.n, 0);
	ck_assert_int_eq(get(get(d, "d1", PICKLE_DICT), "k", PICKLE_INT)->i, 1);
	v = get(d, "dt", PICKLE_DATETIME);
	ck_assert_int_eq(v->dt.year, 2024);
	ck_assert_int_eq(v->dt.month, 1);
	ck_assert_int_eq(v->dt.day, 2);
	ck_assert_int_eq(v->dt.hour, 3);
	ck_assert_int_eq(v->dt.minute, 4);
	ck_assert_int_eq(v->dt.second, 5);
	ck_assert_int_eq(v->dt.usec, 123456);
	ck_assert_int_eq(pickle_datetime_usec(v, &u), 0);
	ck_assert_uint_eq(u, 1704164645123456ULL); /* date -u -d 2024-01-02T03:04:05 +%s */
	v = get(d, "td", PICKLE_TIMEDELTA);
	ck_assert_int_eq(v->td.days, 1);
	ck_assert_int_eq(v->td.seconds, 2);
	ck_assert_int_eq(v->td.usec, 3);
	ck_assert_int_eq(pickle_timedelta_msec(v, &u), 0);
	ck_assert_uint_eq(u, 86402000);
	ck_assert_ptr_null(pickle_dict_get(d, "absent"));
}
END_TEST

START_TEST(later_key_wins)
{
	_cleanup_(pickle_value_unrefp) PickleValue *d = NULL;

	/* {'k': 1} then SETITEM 'k' 2, as Python reads it. */
	ck_assert_int_eq(PARSE("\x80\x02}(X\x01\x00\x00\x00kK\x01X\x01\x00\x00\x00kK\x02u.", &d),
	                 0);
	ck_assert_int_eq(get(d, "k", PICKLE_INT)->i, 2);
}
END_TEST

/* Every opcode but the accepted ones, right after the header. */
START_TEST(refused_opcodes)
{
	static const char accepted[] = "(.})]N\x88\x89sua\x65t\x85\x86\x87qrhjXJKM\x8a"
	                               "GcR\x81";

	for (unsigned op = 0; op < 256; op++) {
		unsigned char data[16] = {0x80, 2, (unsigned char)op, '.'};

		if (op == 0 || memchr(accepted, (int)op, sizeof(accepted) - 1)) {
			continue;
		}
		refused(data, sizeof(data), NULL, "at byte 2:");
	}
	/* By name, those an attacker reaches for first. */
	REFUSED("\x80\x02(ios\nsystem\nX\x02\x00\x00\x00id.", "INST is not accepted");
	REFUSED("\x80\x02(cos\nsystem\no.", "GLOBAL os.system is not accepted");
	REFUSED("\x80\x02}(X\x01\x00\x00\x00kK\x01u}b.", "BUILD is not accepted");
	REFUSED("\x80\x02P1\n.", "PERSID is not accepted");
	REFUSED("\x80\x02NQ.", "BINPERSID is not accepted");
	REFUSED("\x80\x02\x82\x01.", "EXT1 is not accepted");
	REFUSED("\x80\x02\x83\x01\x00.", "EXT2 is not accepted");
	REFUSED("\x80\x02\x84\x01\x00\x00\x00.", "EXT4 is not accepted");
	REFUSED("\x80\x02\x95\x00\x00\x00\x00\x00\x00\x00\x00.", "FRAME is not accepted");
	REFUSED("\x80\x02\x8c\x02osq\x00.", "SHORT_BINUNICODE is not accepted");
	REFUSED("\x80\x02N\x94.", "MEMOIZE is not accepted");
	REFUSED("\x80\x02NN\x93.", "STACK_GLOBAL is not accepted");
	REFUSED("\x80\x02"
	        "C\x01x.",
	        "SHORT_BINBYTES is not accepted");
	REFUSED("\x80\x02"
	        "B\x01\x00\x00\x00x.",
	        "BINBYTES is not accepted");
	REFUSED("\x80\x02U\x01x.", "SHORT_BINSTRING is not accepted");
	REFUSED("\x80\x02\x8b\x01\x00\x00\x00\x01.", "LONG4 is not accepted");
	REFUSED("\x80\x02NN0.", "POP is not accepted");
	REFUSED("\x80\x02N2.", "DUP is not accepted");
	REFUSED("\x80\x02I1\n.", "INT is not accepted");
	REFUSED("\x80\x02(dp0\n.", "DICT is not accepted");
	REFUSED("\x80\x02\x8f.", "EMPTY_SET is not accepted");
	REFUSED("\x80\x02\xff.", "unknown opcode 0xff");
	/* Other protocols, and none. */
	REFUSED("\x80\x03N.", "protocol 3");
	REFUSED("\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00N.", "protocol 4");
	REFUSED("\x80\x05N.", "protocol 5");
	REFUSED("(dp0\n.", "no PROTO");
	REFUSED("\x80\x02\x80\x02N.", "PROTO after the start");
}
END_TEST

START_TEST(refused_callables)
{
	/* os.system, subprocess, builtins.eval, copyreg: never looked up, refused by name. */
	REFUSED("\x80\x02\x63os\nsystem\nX\x02\x00\x00\x00id\x85R.", "GLOBAL os.system");
	REFUSED("\x80\x02\x63posix\nsystem\n.", "GLOBAL posix.system");
	REFUSED("\x80\x02\x63__builtin__\neval\n.", "GLOBAL __builtin__.eval");
	REFUSED("\x80\x02\x63"
	        "copyreg\n_reconstructor\n.",
	        "GLOBAL copyreg._reconstructor");
	REFUSED("\x80\x02\x63"
	        "datetime\ndate\n.",
	        "GLOBAL datetime.date");
	REFUSED("\x80\x02\x63"
	        "dbus\nString\n.",
	        "GLOBAL dbus.String");
	/* A long name is refused before it is looked at. */
	REFUSED("\x80\x02\x63"
	        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nb\n.",
	        "GLOBAL with a name");
	/* REDUCE of what is not a whitelisted callable, or with the wrong arguments. */
	REFUSED("\x80\x02X\x01\x00\x00\x00s)R.", "REDUCE of a str");
	REFUSED("\x80\x02\x63_codecs\nencode\nX\x01\x00\x00\x00xX\x05\x00\x00\x00utf-8\x86R.",
	        "_codecs.encode with arguments");
	REFUSED("\x80\x02\x63_"
	        "codecs\nencode\nX\x02\x00\x00\x00\xc4\x80X\x06\x00\x00\x00latin1\x86R.",
	        "not latin1");
	REFUSED("\x80\x02\x63__builtin__\nbytes\nK\x01\x85R.", "__builtin__.bytes with arguments");
	REFUSED("\x80\x02\x63"
	        "datetime\ntimedelta\nK\x01K\x02\x86R.",
	        "datetime.timedelta with");
	REFUSED("\x80\x02\x63"
	        "datetime\ntimedelta\nK\x00J\x80Q\x01\x00K\x00\x87R.",
	        "datetime.timedelta with");
	REFUSED("\x80\x02\x63"
	        "datetime\ndatetime\nN\x85R.",
	        "datetime.datetime with");
	REFUSED("\x80\x02\x63"
	        "datetime\ndatetime\n\x63__builtin__\nbytes\n)R\x85R.",
	        "datetime.datetime with");
	/* month 13 */
	REFUSED("\x80\x02\x63"
	        "datetime\ndatetime\n\x63_codecs\nencode\n"
	        "X\x0a\x00\x00\x00\x07\x0d\x01\x00\x00\x00\x00\x00\x00\x00X\x06\x00\x00\x00latin1"
	        "\x86R\x85R.",
	        "datetime.datetime out of range");
	/* NEWOBJ: only dbus.Boolean, only of 0 or 1; REDUCE of dbus.Boolean neither. */
	REFUSED("\x80\x02\x63"
	        "datetime\ntimedelta\n)\x81.",
	        "NEWOBJ of datetime.timedelta");
	REFUSED("\x80\x02\x63"
	        "dbus\nBoolean\nK\x02\x85\x81.",
	        "dbus.Boolean with");
	REFUSED("\x80\x02\x63"
	        "dbus\nBoolean\nK\x01\x85R.",
	        "REDUCE of dbus.Boolean");
	REFUSED("\x80\x02\x63"
	        "dbus\nBoolean\nK\x01\x81.",
	        "not a tuple");
	/* A callable as a value, or as the result. */
	REFUSED("\x80\x02]\x63"
	        "datetime\ndatetime\na.",
	        "a callable used as a value");
	REFUSED("\x80\x02\x63"
	        "datetime\ndatetime\n.",
	        "the result is a callable");
}
END_TEST

START_TEST(refused_structure)
{
	/* A list that would hold itself, and any second reference to a list or dict. */
	REFUSED("\x80\x02]q\x00h\x00\x61.", "a list referred to twice");
	REFUSED("\x80\x02}q\x00h\x00.", "a dict referred to twice");
	/* Memo: in order, and set before use. */
	REFUSED("\x80\x02Nq\x01.", "memo index 1 out of order");
	REFUSED("\x80\x02h\x00.", "memo index 0 not set");
	REFUSED("\x80\x02(q\x00.", "BINPUT needs 1 values");
	/* The stack at STOP, and what follows it. */
	REFUSED("\x80\x02NN.", "STOP with 2 values");
	REFUSED("\x80\x02(N.", "STOP with 1 values and 1 MARKs");
	REFUSED("\x80\x02.", "STOP with 0 values");
	REFUSED("\x80\x02N.N", "1 bytes after STOP");
	/* Containers: the right kind, keys that are str, pairs. */
	REFUSED("\x80\x02]K\x01K\x02s.", "SETITEM on a list");
	REFUSED("\x80\x02}K\x01\x61.", "APPEND on a dict");
	REFUSED("\x80\x02}K\x01K\x02s.", "a dict key that is a int");
	REFUSED("\x80\x02}(X\x01\x00\x00\x00ku.", "odd number");
	REFUSED("\x80\x02(K\x01u.", "SETITEMS without a container");
	REFUSED("\x80\x02K\x01\x65.", "APPENDS without a MARK");
	REFUSED("\x80\x02(\x85.", "TUPLE1 needs 1 values");
	REFUSED("\x80\x02N(\x86.", "TUPLE2 needs 2 values");
	/* str: valid UTF-8 only (no overlong forms, no surrogates). */
	REFUSED("\x80\x02X\x02\x00\x00\x00\xc0\x80.", "not valid UTF-8");
	REFUSED("\x80\x02X\x03\x00\x00\x00\xed\xa0\x80.", "not valid UTF-8");
	REFUSED("\x80\x02X\x01\x00\x00\x00\xff.", "not valid UTF-8");
	/* Integers of more than 64 bits. */
	REFUSED("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.", "an int of 9 bytes");
}
END_TEST

START_TEST(limits)
{
	PickleLimits lim = pickle_limits_default;
	_cleanup_(pickle_value_unrefp) PickleValue *v = NULL;
	char deep[64], path[] = "/tmp/test-pickle-XXXXXX";
	size_t n = 0;
	FILE *f;
	int fd;

	/* Default limits hold a few MiB of state; a 4 GiB str length is refused unread. */
	REFUSED("\x80\x02X\xff\xff\xff\xff", "a str of 4294967295 bytes");
	lim.string_max = 3;
	ck_assert_int_eq(parse_lim("\x80\x02X\x03\x00\x00\x00"
	                           "abc.",
	                           11, &lim, &v, NULL),
	                 0);
	v = pickle_value_unref(v);
	refused("\x80\x02X\x04\x00\x00\x00"
	        "abcd.",
	        12, &lim, "a str of 4 bytes (the limit is 3)");

	/* Nesting: 3 lists in each other fit depth 3; 4 do not (nor 4 MARKs). */
	lim = pickle_limits_default;
	lim.depth_max = 3;
	ck_assert_int_eq(parse_lim("\x80\x02]]]]\x61\x61\x61.", 10, &lim, &v, NULL), 0);
	ck_assert_uint_eq(v->depth, 3);
	v = pickle_value_unref(v);
	refused("\x80\x02]]]]]\x61\x61\x61\x61.", 12, &lim, "nested deeper than 3");
	refused("\x80\x02((((", 6, &lim, "MARKs nested deeper than 3");
	/* Deep nesting through tuples, with the default limit. */
	memcpy(deep, "\x80\x02N", 3);
	for (n = 3; n < 40; n++) {
		deep[n] = '\x85';
	}
	deep[n++] = '.';
	refused(deep, n, NULL, "nested deeper than 16");

	lim = pickle_limits_default;
	lim.values_max = 3;
	ck_assert_int_eq(parse_lim("\x80\x02]N\x61N\x61.", 8, &lim, &v, NULL), 0);
	v = pickle_value_unref(v);
	refused("\x80\x02NNNN.", 7, &lim, "more than 3 values");

	lim = pickle_limits_default;
	lim.items_max = 2;
	refused("\x80\x02](NNNe.", 9, &lim, "more than 2 items");

	lim = pickle_limits_default;
	lim.memo_max = 1;
	refused("\x80\x02Nq\x00q\x01.", 8, &lim, "more than 1 memo entries");

	lim = pickle_limits_default;
	lim.stack_max = 3;
	refused("\x80\x02(((N", 6, &lim, "more than 3 values on the stack");

	/* The file size, before anything is read. */
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fwrite("\x80\x02X\x03\x00\x00\x00"
	       "abc.",
	       1, 11, f);
	fclose(f);
	lim = pickle_limits_default;
	lim.file_max = 10;
	{
		char *err = NULL;

		ck_assert_int_eq(pickle_load(path, &lim, &v, &err), -EFBIG);
		ck_assert_str_eq(err, "larger than 10 bytes");
		free(err);
		lim.file_max = 11;
		ck_assert_int_eq(pickle_load(path, &lim, &v, &err), 0);
		ck_assert_str_eq(v->str.data, "abc");
	}
	unlink(path);
	ck_assert_int_eq(pickle_load(path, NULL, &v, NULL), -ENOENT);
}
END_TEST

/* Each real file of the corpus: read in full, then cut at every byte offset. */
static size_t for_each_real_file(void (*fn)(const char *name, const char *data, size_t len))
{
	DIR *d = opendir(PICKLE_CORPUS);
	struct dirent *de;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		char path[512];
		char *data;
		size_t len;

		if (!strstr(de->d_name, ".pickle")) {
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", PICKLE_CORPUS, de->d_name);
		ck_assert_int_eq(read_full_file(path, 1 << 20, &data, &len), 0);
		fn(de->d_name, data, len);
		free(data);
		n++;
	}
	closedir(d);
	return n;
}

static void whole(const char *name, const char *data, size_t len)
{
	PickleValue *v = NULL;
	char *err = NULL;

	ck_assert_msg(pickle_parse(data, len, NULL, &v, &err) == 0, "%s: %s", name, err);
	ck_assert_int_eq(v->type, PICKLE_TUPLE);
	ck_assert_uint_eq(v->seq.n, 2);
	pickle_value_unref(v);
}

static void truncated(const char *name, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		PickleValue *v = NULL;
		char *err = NULL;

		ck_assert_msg(pickle_parse(data, i, NULL, &v, &err) == -EBADMSG,
		              "%s cut at %zu was accepted", name, i);
		ck_assert_ptr_null(v);
		free(err);
	}
}

START_TEST(real_files)
{
	ck_assert_uint_ge(for_each_real_file(whole), 8);
}
END_TEST

START_TEST(real_files_truncated)
{
	ck_assert_uint_ge(for_each_real_file(truncated), 8);
}
END_TEST

/* The import: upstream's files as saved clients. */

typedef struct Got {
	SavedClient c[8];
	size_t n;
} Got;

static int collect(SavedClient *sc, void *userdata)
{
	Got *g = userdata;

	ck_assert_uint_lt(g->n, ELEMENTSOF(g->c));
	g->c[g->n++] = *sc;
	*sc = (SavedClient){0};
	return 0;
}

static void got_done(Got *g)
{
	for (size_t i = 0; i < g->n; i++) {
		saved_client_done(&g->c[i]);
	}
}

static const SavedClient *find(const Got *g, const char *name)
{
	for (size_t i = 0; i < g->n; i++) {
		if (strcmp(g->c[i].name, name) == 0) {
			return &g->c[i];
		}
	}
	ck_abort_msg("no client %s", name);
	return NULL;
}

static int import(const char *file, Got *g, char **err)
{
	char path[512];

	*g = (Got){0};
	snprintf(path, sizeof(path), "%s/%s", PICKLE_CORPUS, file);
	return upstream_state_read(path, collect, g, err);
}

START_TEST(import_disabled)
{
	_cleanup_(got_done) Got g = {0};
	const SavedClient *a, *b;

	ck_assert_int_eq(import("disabled.pickle", &g, NULL), 3);
	a = find(&g, "a");
	b = find(&g, "b");
	ck_assert(a->s.enabled);
	ck_assert(a->last_enabled > 1700000000000000ULL);
	ck_assert(a->expires > a->last_enabled);
	ck_assert(!b->s.enabled);
	ck_assert(b->config.enabled);
	ck_assert_uint_eq(b->expires, 0);
	/* Upstream keeps a disabled client's last_enabled; it counts only while enabled. */
	ck_assert(b->created > 1700000000000000ULL);
	ck_assert_int_eq(b->last_checker_status, -2);
	ck_assert_uint_eq(b->last_checked_ok, 0);
	ck_assert_str_eq(b->s.host, "b");
	ck_assert_str_eq(b->s.checker, "fping -q -- %(host)s");
	ck_assert_uint_eq(strlen(b->s.key_id), 64);
	ck_assert_uint_eq(b->s.timeout, 5 * 60 * 1000);
	ck_assert_uint_eq(b->s.extended_timeout, 15 * 60 * 1000);
	ck_assert_uint_eq(b->s.interval, 2 * 60 * 1000);
	ck_assert_uint_eq(b->s.approval_delay, 0);
	ck_assert_uint_eq(b->s.approval_duration, 1000);
	ck_assert(b->s.approved_by_default);
	ck_assert_ptr_null(b->secret_box);
}
END_TEST

START_TEST(import_changed_settings)
{
	_cleanup_(got_done) Got g = {0};
	const SavedClient *b;

	ck_assert_int_eq(import("changed-settings.pickle", &g, NULL), 2);
	b = find(&g, "b");
	ck_assert_uint_eq(b->s.timeout, 7 * 60 * 1000);
	ck_assert_uint_eq(b->config.timeout, 5 * 60 * 1000);
	ck_assert_uint_eq(b->s.interval, 30 * 1000);
	ck_assert_uint_eq(b->s.extended_timeout, 60 * 60 * 1000);
	ck_assert_uint_eq(b->s.approval_delay, 10 * 1000);
	ck_assert_uint_eq(b->s.approval_duration, 60 * 1000);
	ck_assert(!b->s.approved_by_default);
	ck_assert(b->config.approved_by_default);
	ck_assert_str_eq(b->s.host, "b.example");
	ck_assert_str_eq(b->config.host, "b");
	ck_assert_str_eq(b->s.checker, "fping -q -c 1 -- %(host)s");
	ck_assert(!find(&g, "a")->s.enabled);
	got_done(&g);

	/* Restored by upstream, then changed again: the second generation reads the same way. */
	ck_assert_int_eq(import("restored.pickle", &g, NULL), 2);
	ck_assert_uint_eq(find(&g, "b")->s.timeout, 9 * 60 * 1000);
	ck_assert_str_eq(find(&g, "b")->s.host, "b.example");
	ck_assert(!find(&g, "a")->s.enabled);
}
END_TEST

START_TEST(import_checkers_and_approvals)
{
	_cleanup_(got_done) Got g = {0};

	ck_assert_int_eq(import("checkers.pickle", &g, NULL), 3);
	ck_assert_int_eq(find(&g, "a")->last_checker_status, 0);
	ck_assert(find(&g, "a")->last_checked_ok > 1700000000000000ULL);
	ck_assert_int_eq(find(&g, "b")->last_checker_status, 3);
	ck_assert_int_eq(find(&g, "c")->last_checker_status, -1);
	ck_assert_uint_eq(find(&g, "c")->last_checked_ok, 0);
	got_done(&g);

	ck_assert_int_eq(import("approvals.pickle", &g, NULL), 3);
	ck_assert_uint_eq(find(&g, "a")->s.approval_duration, 60 * 60 * 1000);
	ck_assert(find(&g, "c")->last_approval_request > 1700000000000000ULL);
	ck_assert_uint_eq(find(&g, "a")->last_approval_request, 0);
}
END_TEST

START_TEST(import_removed_and_names)
{
	_cleanup_(got_done) Got g = {0};

	/* Removed over D-Bus: only in client_settings; it comes disabled. */
	ck_assert_int_eq(import("removed.pickle", &g, NULL), 2);
	ck_assert(find(&g, "a")->s.enabled);
	ck_assert(!find(&g, "b")->s.enabled);
	ck_assert(find(&g, "b")->config.enabled);
	got_done(&g);
	ck_assert_int_eq(import("no-clients.pickle", &g, NULL), 1);
	ck_assert(!find(&g, "a")->s.enabled);
	got_done(&g);

	ck_assert_int_eq(import("odd-names.pickle", &g, NULL), 3);
	ck_assert(find(&g, "web-01.example.org")->s.enabled);
	ck_assert(find(&g, "caf\xc3\xa9")->s.enabled);
	ck_assert(find(&g, "\xe5\x90\x8d\xe5\x89\x8d two words")->s.enabled);
	got_done(&g);

	ck_assert_int_eq(import("one-client.pickle", &g, NULL), 1);
	got_done(&g);
	ck_assert_int_eq(import("fresh-two-clients.pickle", &g, NULL), 2);
}
END_TEST

/* Write data to a file and import it. */
static int import_data(const char *data, size_t len, Got *g, char **err)
{
	char path[] = "/tmp/test-pickle-XXXXXX";
	int fd = mkstemp(path), r;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(loop_write(fd, data, len), 0);
	close(fd);
	*g = (Got){0};
	r = upstream_state_read(path, collect, g, err);
	unlink(path);
	return r;
}

static void import_refused(const char *data, size_t len, const char *why)
{
	Got g = {0};
	char *err = NULL;

	ck_assert_int_eq(import_data(data, len, &g, &err), -EBADMSG);
	/* Nothing at all is handed on from a file that cannot be used. */
	ck_assert_uint_eq(g.n, 0);
	ck_assert_msg(err && strstr(err, why), "reason '%s' lacks '%s'", err, why);
	free(err);
}

#define IMPORT_REFUSED(lit, why) import_refused(lit, sizeof(lit) - 1, why)

/* A made-up file of upstream's shape with one thing wrong. */
static void import_file_refused(const char *name, const char *why)
{
	size_t len;
	_cleanup_free_ char *data = test_data(name, &len);

	import_refused(data, len, why);
}

START_TEST(import_checks_types)
{
	_cleanup_(got_done) Got g = {0};
	size_t len;
	_cleanup_free_ char *good = test_data("import-good", &len);

	ck_assert_int_eq(import_data(good, len, &g, NULL), 2);
	ck_assert(find(&g, "x")->s.enabled);
	ck_assert(!find(&g, "y")->s.enabled);
	ck_assert_str_eq(find(&g, "y")->s.key_id, "");
	ck_assert_str_eq(find(&g, "y")->s.fingerprint, "AB");
	ck_assert_uint_eq(find(&g, "x")->created, 1704067200000000ULL);
	ck_assert_uint_eq(find(&g, "x")->expires, 1704067500000000ULL);
	import_file_refused("import-missing", "client 'y': 'enabled' is missing");
	import_file_refused("import-wrong-type",
	                    "client 'y': 'timeout' is a int, not a datetime.timedelta");
	import_file_refused("import-no-settings", "client 'y': not in client_settings");
	import_file_refused("import-not-tuple", "not a tuple of two dicts");
	import_file_refused("import-status", "'last_checker_status' 256 is out of range");
	/* The reader's own reasons come through. */
	IMPORT_REFUSED("\x80\x02\x63os\nsystem\n.", "at byte 2: GLOBAL os.system is not accepted");
	IMPORT_REFUSED("\x80\x02}", "truncated");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pickle");
	TCase *tc = tcase_create("reader"), *ti = tcase_create("import");
	SRunner *sr;
	int failed;

	log_set_max_level(LOG_CRIT);
	tcase_add_test(tc, every_accepted_type);
	tcase_add_test(tc, later_key_wins);
	tcase_add_test(tc, refused_opcodes);
	tcase_add_test(tc, refused_callables);
	tcase_add_test(tc, refused_structure);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, real_files);
	tcase_add_test(tc, real_files_truncated);
	tcase_set_timeout(tc, 120);
	tcase_add_test(ti, import_disabled);
	tcase_add_test(ti, import_changed_settings);
	tcase_add_test(ti, import_checkers_and_approvals);
	tcase_add_test(ti, import_removed_and_names);
	tcase_add_test(ti, import_checks_types);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, ti);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
