/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mandos-ctl: argparse-compatible parsing and help, Python-compatible text, table and JSON. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "bus.h"
#include "ctl.h"
#include "macro.h"
#include "pyfmt.h"

/* Upstream's usage at 80 columns, as printed by Debian's mandos-ctl 1.8.16. */
static const char usage_80[] =
        "usage: mandos-ctl [-h] [--version] [-a] [-v] [-j] [-e | -d] [-b]\n"
        "                  [--start-checker | --stop-checker] [-V] [-r] [-c COMMAND]\n"
        "                  [-t TIME] [--extended-timeout TIME] [-i TIME]\n"
        "                  [--approve-by-default | --deny-by-default]\n"
        "                  [--approval-delay TIME] [--approval-duration TIME]\n"
        "                  [-H STRING] [-s FILENAME] [-A | -D] [--debug] [--check]\n"
        "                  [client ...]\n";

typedef struct Captured {
	char *out, *err;
	int r, exit_code;
	CtlOptions o;
} Captured;

static void capture(Captured *c, size_t columns, const char *const *argv)
{
	size_t out_size = 0, err_size = 0, argc = 0;
	FILE *out, *err;

	while (argv[argc]) {
		argc++;
	}
	*c = (Captured){.exit_code = -1};
	out = open_memstream(&c->out, &out_size);
	err = open_memstream(&c->err, &err_size);
	ck_assert(out && err);
	c->r = ctl_parse_args((int)argc, argv, "mandos-ctl", columns, out, err, &c->o,
	                      &c->exit_code);
	fclose(out);
	fclose(err);
}

static void captured_done(Captured *c)
{
	free(c->out);
	free(c->err);
	ctl_options_done(&c->o);
}

START_TEST(selftest_passes)
{
	FILE *f = fopen("/dev/null", "w");

	ck_assert_int_eq(ctl_selftest(f), 0);
	fclose(f);
}
END_TEST

START_TEST(usage_wraps_like_argparse)
{
	const char *argv[] = {"mandos-ctl", "--all", NULL};
	Captured c;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	ck_assert_int_eq(ctl_write_usage(f, "mandos-ctl", 80), 0);
	fclose(f);
	ck_assert_str_eq(buf, usage_80);
	free(buf);

	capture(&c, 80, argv);
	ck_assert_int_eq(c.r, 1);
	ck_assert_int_eq(c.exit_code, 2);
	ck_assert(strncmp(c.err, usage_80, strlen(usage_80)) == 0);
	ck_assert_str_eq(c.err + strlen(usage_80),
	                 "mandos-ctl: error: --all requires an action.\n");
	captured_done(&c);

	/* Wide enough for one line. */
	buf = NULL;
	f = open_memstream(&buf, &size);
	ctl_write_usage(f, "mandos-ctl", 400);
	fclose(f);
	ck_assert(strchr(buf, '\n') == buf + strlen(buf) - 1);
	ck_assert(strstr(buf, "[--check] [client ...]\n"));
	free(buf);
}
END_TEST

START_TEST(help_layout)
{
	const char *argv[] = {"mandos-ctl", "-e", "--help", "x", NULL};
	Captured c;

	capture(&c, 80, argv);
	ck_assert_int_eq(c.r, 1);
	ck_assert_int_eq(c.exit_code, 0);
	ck_assert(strstr(c.out,
	                 "\n\npositional arguments:\n  client                Client name\n\n"
	                 "options:\n  -h, --help            show this help message and exit\n"));
	ck_assert(strstr(c.out, "  -c COMMAND, --checker COMMAND\n"
	                        "                        Set checker command for client\n"));
	ck_assert(strstr(c.out, "  --check               Run self-test\n"));
	ck_assert_str_eq(c.err, "");
	captured_done(&c);

	/* Narrow: help starts at column 18 (max(width - 20, 4) with width 38 - 2). */
	capture(&c, 40, argv);
	ck_assert(strstr(c.out, "  -a, --all       Select all clients\n"));
	captured_done(&c);
}
END_TEST

START_TEST(parse_commands_in_order)
{
	const char *argv[] = {"mandos-ctl", "-D", "-r", "-c",           "a b",
	                      "-tPT5M",     "--", "-x", "--interval=5", NULL};
	const char *argv2[] = {"mandos-ctl", "-eb", "--app=1", "c", NULL};
	const char *argv3[] = {"mandos-ctl", "-r", "-A", "-D", "-e", "c", NULL};
	const char *argv4[] = {"mandos-ctl", "--approval-dur", "3000", "-H", "-5", "c1", "c2",
	                       NULL};
	Captured c;

	/* "--" makes the rest client names, even "--interval=5". */
	capture(&c, 80, argv);
	ck_assert_int_eq(c.r, 0);
	ck_assert_int_eq(c.o.n_commands, 4);
	ck_assert_int_eq(c.o.commands[0].type, CMD_DENY);
	ck_assert_int_eq(c.o.commands[1].type, CMD_REMOVE);
	ck_assert_int_eq(c.o.commands[2].type, CMD_SET_CHECKER);
	ck_assert_str_eq(c.o.commands[2].str, "a b");
	ck_assert_int_eq(c.o.commands[3].type, CMD_SET_TIMEOUT);
	ck_assert_uint_eq(c.o.commands[3].msec, 300000);
	ck_assert_int_eq(c.o.n_clients, 2);
	ck_assert_str_eq(c.o.clients[0], "-x");
	ck_assert_str_eq(c.o.clients[1], "--interval=5");
	captured_done(&c);

	capture(&c, 80, argv2);
	ck_assert_int_eq(c.r, 1);
	ck_assert(strstr(c.err,
	                 "error: ambiguous option: --app=1 could match --approve-by-default, "
	                 "--approval-delay, --approval-duration, --approve\n"));
	captured_done(&c);

	/* Conflicts are checked when reached: -A then -D. */
	capture(&c, 80, argv3);
	ck_assert_int_eq(c.r, 1);
	ck_assert(strstr(c.err, "error: argument -D/--deny: not allowed with argument "
	                        "-A/--approve\n"));
	captured_done(&c);

	/* A bare number is milliseconds, with upstream's warning; "-5" is an argument. */
	capture(&c, 80, argv4);
	ck_assert_int_eq(c.r, 0);
	ck_assert_str_eq(c.err, "Invalid RFC 3339 duration: \"3000\" - Parsing as pre-1.6.1 "
	                        "interval instead\n");
	ck_assert_uint_eq(c.o.commands[0].msec, 3000);
	ck_assert_str_eq(c.o.commands[1].str, "-5");
	ck_assert_int_eq(c.o.n_clients, 2);
	captured_done(&c);
}
END_TEST

START_TEST(parse_secret_file_errors)
{
	const char *argv[] = {"mandos-ctl", "-s", "/nonexistent/x", "c", NULL};
	const char *argv2[] = {"mandos-ctl", "-s", "/", "c", NULL};
	Captured c;

	capture(&c, 80, argv);
	ck_assert_int_eq(c.r, 1);
	ck_assert(strstr(c.err, "mandos-ctl: error: argument -s/--secret: can't open "
	                        "'/nonexistent/x': [Errno 2] No such file or directory: "
	                        "'/nonexistent/x'\n"));
	captured_done(&c);

	capture(&c, 80, argv2);
	ck_assert(strstr(c.err, "can't open '/': [Errno 21] Is a directory: '/'\n"));
	captured_done(&c);
}
END_TEST

START_TEST(test_option_parser)
{
	const char *run[] = {"mandos-ctl", "-e", "--ch", NULL};
	const char *not_after_separator[] = {"mandos-ctl", "--", "--check", NULL};
	const char *explicit[] = {"mandos-ctl", "--check=yes", NULL};
	const char *prefix_alone[] = {"mandos-ctl", "--prefix", "-x", NULL};
	const char *none[] = {"mandos-ctl", "--checker", "x", NULL};
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	ck_assert_int_eq(ctl_check_test_args(3, run, "mandos-ctl", f), 1);
	ck_assert_int_eq(ctl_check_test_args(3, not_after_separator, "mandos-ctl", f), 0);
	ck_assert_int_eq(ctl_check_test_args(3, none, "mandos-ctl", f), 0);
	ck_assert_int_eq(ctl_check_test_args(2, explicit, "mandos-ctl", f), 2);
	ck_assert_int_eq(ctl_check_test_args(3, prefix_alone, "mandos-ctl", f), 2);
	fclose(f);
	ck_assert_str_eq(buf, "usage: mandos-ctl [--check] [--prefix PREFIX]\n"
	                      "mandos-ctl: error: argument --check: ignored explicit argument "
	                      "'yes'\n"
	                      "usage: mandos-ctl [--check] [--prefix PREFIX]\n"
	                      "mandos-ctl: error: argument --prefix: expected one argument\n");
	free(buf);
}
END_TEST

START_TEST(terminal_columns)
{
	setenv("COLUMNS", "123", 1);
	ck_assert_uint_eq(ctl_terminal_columns(), 123);
	setenv("COLUMNS", " 77\n", 1);
	ck_assert_uint_eq(ctl_terminal_columns(), 77);
	setenv("COLUMNS", "0", 1);
	ck_assert_uint_ge(ctl_terminal_columns(), 1);
	unsetenv("COLUMNS");
}
END_TEST

START_TEST(python_text)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	char **lines;

	py_repr_bytes(f, "abc\n\x01\xff'", 7);
	fclose(f);
	ck_assert_str_eq(buf, "b\"abc\\n\\x01\\xff'\"");
	free(buf);

	ck_assert_uint_eq(py_strlen("h\xc3\xa4st"), 4);
	ck_assert_uint_eq(py_strlen("\xff"), 1);

	lines = py_textwrap("Run self-test", 11);
	ck_assert_str_eq(lines[0], "Run self-");
	ck_assert_str_eq(lines[1], "test");
	ck_assert_ptr_null(lines[2]);
	strv_free(lines);

	lines = py_textwrap("Set delay before client approve/deny", 11);
	ck_assert_str_eq(lines[0], "Set delay");
	ck_assert_str_eq(lines[1], "before");
	/* Python fills the line with the start of a long word: "client appr", "ove/deny". */
	ck_assert_str_eq(lines[2], "client appr");
	ck_assert_str_eq(lines[3], "ove/deny");
	ck_assert_ptr_null(lines[4]);
	strv_free(lines);
}
END_TEST

static void set_prop(Client *c, size_t i, Value v)
{
	if (c->props[i].v.type == VAL_STRING) {
		free(c->props[i].v.s);
	}
	c->props[i].v = v;
}

/* A client with every property upstream shows. */
static void make_client(Client *c, const char *name, const char *host, bool enabled,
                        uint64_t timeout)
{
	static const char *const keys[] = {"Name",
	                                   "Enabled",
	                                   "Timeout",
	                                   "LastCheckedOK",
	                                   "Created",
	                                   "Interval",
	                                   "Host",
	                                   "KeyID",
	                                   "Fingerprint",
	                                   "CheckerRunning",
	                                   "LastEnabled",
	                                   "ApprovalPending",
	                                   "ApprovedByDefault",
	                                   "LastApprovalRequest",
	                                   "ApprovalDelay",
	                                   "ApprovalDuration",
	                                   "Checker",
	                                   "ExtendedTimeout",
	                                   "Expires",
	                                   "LastCheckerStatus"};

	c->path = strdup("/clients/x");
	c->n_props = ELEMENTSOF(keys);
	c->props = calloc(c->n_props, sizeof(Property));
	for (size_t i = 0; i < c->n_props; i++) {
		Property *p = &c->props[i];

		p->name = strdup(keys[i]);
		p->v = (Value){.type = VAL_STRING, .s = strdup("")};
	}
	set_prop(c, 0, (Value){.type = VAL_STRING, .s = strdup(name)});
	set_prop(c, 1, (Value){.type = VAL_BOOL, .b = enabled});
	set_prop(c, 2, (Value){.type = VAL_UINT, .u = timeout});
	set_prop(c, 5, (Value){.type = VAL_UINT, .u = 120000});
	set_prop(c, 6, (Value){.type = VAL_STRING, .s = strdup(host)});
	set_prop(c, 9, (Value){.type = VAL_BOOL, .b = false});
	set_prop(c, 11, (Value){.type = VAL_BOOL, .b = false});
	set_prop(c, 12, (Value){.type = VAL_BOOL, .b = true});
	set_prop(c, 14, (Value){.type = VAL_UINT, .u = 0});
	set_prop(c, 15, (Value){.type = VAL_UINT, .u = 1000});
	set_prop(c, 17, (Value){.type = VAL_UINT, .u = 900000});
	set_prop(c, 19, (Value){.type = VAL_INT, .i = -2});
}

START_TEST(table_and_json)
{
	ClientList l = {calloc(2, sizeof(Client)), 2};
	Client *sel[2] = {&l.clients[0], &l.clients[1]};
	const char *missing = NULL;
	char *buf = NULL;
	size_t size = 0;
	FILE *f;

	make_client(&l.clients[0], "bl\xc3\xa5", "h\xc3\xa4st \"q\"", true, 93785000);
	make_client(&l.clients[1], "longer-name", "x", false, 300000);

	f = open_memstream(&buf, &size);
	ck_assert_int_eq(ctl_print_table(f, sel, 2, false, &missing), 0);
	fclose(f);
	/* Widths count characters, not bytes; every cell is padded, the last one too. */
	ck_assert_str_eq(buf, "Name        Enabled Timeout    Last Successful Check\n"
	                      "bl\xc3\xa5         Yes     1T02:03:05                      \n"
	                      "longer-name No      00:05:00                        \n");
	free(buf);

	f = open_memstream(&buf, &size);
	ck_assert_int_eq(ctl_dump_json(f, sel, 1, &missing), 0);
	fclose(f);
	ck_assert(strncmp(buf,
	                  "{\n    \"bl\\u00e5\": {\n        \"Name\": \"bl\\u00e5\",\n"
	                  "        \"Enabled\": true,\n        \"Timeout\": 93785000,\n",
	                  strlen("{\n    \"bl\\u00e5\": {\n        \"Name\": \"bl\\u00e5\",\n"
	                         "        \"Enabled\": true,\n        \"Timeout\": 93785000,\n")) ==
	          0);
	ck_assert(strstr(buf, "        \"Host\": \"h\\u00e4st \\\"q\\\"\",\n"));
	ck_assert(strstr(buf, "        \"LastCheckerStatus\": -2\n    }\n}\n"));
	free(buf);

	f = open_memstream(&buf, &size);
	ck_assert_int_eq(ctl_dump_json(f, sel, 0, &missing), 0);
	ck_assert_int_eq(ctl_print_table(f, sel, 0, true, &missing), 0);
	fclose(f);
	ck_assert(strncmp(buf, "{}\nName Enabled Timeout Last Successful Check Created ", 53) == 0);
	free(buf);

	/* A missing property is reported, not guessed. */
	free(l.clients[1].props[19].name);
	l.clients[1].props[19].name = strdup("Other");
	f = open_memstream(&buf, &size);
	ck_assert_int_eq(ctl_print_table(f, sel, 2, true, &missing), -ENOENT);
	ck_assert_str_eq(missing, "LastCheckerStatus");
	ck_assert_int_eq(ctl_print_table(f, sel, 2, false, &missing), 0);
	fclose(f);
	free(buf);

	client_list_done(&l);
}
END_TEST

/* Protocol 2 options: parsed only when spelled out, with their own checks. */
START_TEST(ours_options)
{
	const char *shred[] = {"mandos-ctl", "--shred", "a", "b", NULL};
	const char *forced[] = {"mandos-ctl", "--force", "--debug", "--shred", "a", NULL};
	const char *escrow[] = {"mandos-ctl", "--escrow", "a", NULL};
	const char *escrow_json[] = {"mandos-ctl", "-j", "--escrow", NULL};
	Captured c;

	capture(&c, 80, shred);
	ck_assert_int_eq(c.r, 0);
	ck_assert_int_eq(c.o.n_commands, 1);
	ck_assert_int_eq(c.o.commands[0].type, CMD_SHRED);
	ck_assert_int_eq(c.o.n_clients, 2);
	ck_assert(!c.o.force && !c.o.escrow);
	captured_done(&c);

	capture(&c, 80, forced);
	ck_assert_int_eq(c.r, 0);
	ck_assert(c.o.force && c.o.debug);
	ck_assert_int_eq(c.o.commands[0].type, CMD_SHRED);
	captured_done(&c);

	capture(&c, 80, escrow);
	ck_assert_int_eq(c.r, 0);
	ck_assert(c.o.escrow);
	ck_assert_int_eq(c.o.n_commands, 1);
	ck_assert_int_eq(c.o.commands[0].type, CMD_PRINT_TABLE);
	captured_done(&c);

	capture(&c, 80, escrow_json);
	ck_assert_int_eq(c.r, 0);
	ck_assert(c.o.escrow);
	ck_assert_int_eq(c.o.commands[0].type, CMD_DUMP_JSON);
	ck_assert_int_eq(c.o.n_clients, 0);
	captured_done(&c);
}
END_TEST

static void check_usage_error(const char *const *argv, const char *want)
{
	Captured c;

	capture(&c, 80, argv);
	ck_assert_int_eq(c.r, 1);
	ck_assert_int_eq(c.exit_code, 2);
	/* Upstream's usage line, without our options, then the message. */
	ck_assert(strncmp(c.err, usage_80, strlen(usage_80)) == 0);
	ck_assert_str_eq(c.err + strlen(usage_80), want);
	captured_done(&c);
}

START_TEST(ours_options_errors)
{
	const char *alone[] = {"mandos-ctl", "--shred", NULL};
	const char *all[] = {"mandos-ctl", "--shred", "-a", NULL};
	const char *all_named[] = {"mandos-ctl", "--all", "--shred", "x", NULL};
	const char *other[] = {"mandos-ctl", "--shred", "-d", "x", NULL};
	const char *verbose[] = {"mandos-ctl", "-v", "--shred", "x", NULL};
	const char *force[] = {"mandos-ctl", "--force", "x", NULL};
	const char *force_e[] = {"mandos-ctl", "--force", "-e", "x", NULL};
	const char *escrow_v[] = {"mandos-ctl", "--escrow", "-v", NULL};
	const char *escrow_e[] = {"mandos-ctl", "--escrow", "-e", "x", NULL};
	const char *escrow_all[] = {"mandos-ctl", "--escrow", "-a", NULL};
	const char *explicit[] = {"mandos-ctl", "--shred=x", NULL};
	/* Never abbreviated: upstream's messages for these stay the same. */
	const char *sh[] = {"mandos-ctl", "--sh", "x", NULL};
	const char *esc[] = {"mandos-ctl", "--esc", NULL};
	const char *e[] = {"mandos-ctl", "--e", "x", NULL};
	const char *f[] = {"mandos-ctl", "--f", "x", NULL};
	const char *s[] = {"mandos-ctl", "--s", "x", NULL};

	check_usage_error(alone, "mandos-ctl: error: --shred requires client names.\n");
	check_usage_error(all, "mandos-ctl: error: --shred cannot be used with --all: name the "
	                       "clients.\n");
	check_usage_error(all_named,
	                  "mandos-ctl: error: --shred cannot be used with --all: name the "
	                  "clients.\n");
	check_usage_error(other, "mandos-ctl: error: --shred can only be used alone.\n");
	check_usage_error(verbose, "mandos-ctl: error: --verbose can only be used alone.\n");
	check_usage_error(force, "mandos-ctl: error: --force can only be used with --shred.\n");
	check_usage_error(force_e, "mandos-ctl: error: --force can only be used with --shred.\n");
	check_usage_error(escrow_v,
	                  "mandos-ctl: error: --escrow can only be combined with --dump-json.\n");
	check_usage_error(escrow_e,
	                  "mandos-ctl: error: --escrow can only be combined with --dump-json.\n");
	check_usage_error(escrow_all, "mandos-ctl: error: --all requires an action.\n");
	check_usage_error(explicit,
	                  "mandos-ctl: error: argument --shred: ignored explicit argument 'x'\n");
	check_usage_error(sh, "mandos-ctl: error: unrecognized arguments: --sh\n");
	check_usage_error(esc, "mandos-ctl: error: unrecognized arguments: --esc\n");
	check_usage_error(e, "mandos-ctl: error: ambiguous option: --e could match --enable, "
	                     "--extended-timeout\n");
	check_usage_error(f, "mandos-ctl: error: unrecognized arguments: --f\n");
	check_usage_error(s, "mandos-ctl: error: ambiguous option: --s could match "
	                     "--start-checker, --stop-checker, --secret\n");
}
END_TEST

START_TEST(help_ours_last)
{
	const char *argv[] = {"mandos-ctl", "--help", NULL};
	const char *tail;
	Captured c;

	capture(&c, 80, argv);
	ck_assert_int_eq(c.exit_code, 0);
	/* Upstream's help ends with --check; ours follows under its own heading. */
	tail = strstr(c.out, "  --check               Run self-test\n");
	ck_assert_ptr_nonnull(tail);
	tail += strlen("  --check               Run self-test\n");
	ck_assert(strncmp(tail,
	                  "\noptions not in upstream's mandos-ctl:\n"
	                  "  --escrow              List the clients' protocols,",
	                  strlen("\noptions not in upstream's mandos-ctl:\n"
	                         "  --escrow              List the clients' protocols,")) == 0);
	ck_assert(strstr(tail, "\n  --shred               Shred the clients' escrow keys,"));
	ck_assert(strstr(tail, "\n  --force               Shred without asking\n"));
	ck_assert(strstr(tail, "\n  --approve-for DURATION\n"));
	ck_assert(tail[strlen(tail) - 1] == '\n');
	captured_done(&c);
}
END_TEST

static Property prop(const char *name, Value v)
{
	return (Property){strdup(name), v};
}

/* The delivery properties of a client made by make_client(). */
static void add_delivery(Client *c, const char *protocols, bool sealed, const char *const *kids,
                         const char *file, const char *inl, uint32_t limit, int32_t left)
{
	char **strv = calloc(8, sizeof(char *));

	for (size_t i = 0; kids && kids[i]; i++) {
		strv[i] = strdup(kids[i]);
	}
	c->has_delivery = true;
	c->n_delivery = 7;
	c->delivery = calloc(c->n_delivery, sizeof(Property));
	c->delivery[0] = prop("EscrowKeyFile", (Value){.type = VAL_STRING, .s = strdup(file)});
	c->delivery[1] = prop("EscrowKeyIds", (Value){.type = VAL_STRV, .strv = strv});
	c->delivery[2] = prop("EscrowKeyInline", (Value){.type = VAL_STRING, .s = strdup(inl)});
	c->delivery[3] = prop("HasSealedSecret", (Value){.type = VAL_BOOL, .b = sealed});
	c->delivery[4] = prop("Protocols", (Value){.type = VAL_STRING, .s = strdup(protocols)});
	c->delivery[5] = prop("ReleaseLimit", (Value){.type = VAL_UINT, .u = limit});
	c->delivery[6] = prop("ReleasesLeft", (Value){.type = VAL_INT, .i = left});
}

#define KID1 "c5abbe4bcbbcd8ec44300b711d4f9dd4"
#define KID2 "0123456789abcdef0123456789abcdef"

START_TEST(escrow_table_and_json)
{
	ClientList l = {calloc(3, sizeof(Client)), 3};
	Client *sel[3] = {&l.clients[0], &l.clients[1], &l.clients[2]};
	const char *kids2[] = {KID1, KID2, NULL}, *kids1[] = {KID1, NULL};
	const char *missing = NULL;
	char *buf = NULL;
	size_t size = 0;
	FILE *f;

	make_client(&l.clients[0], "old", "h", true, 1000);
	add_delivery(&l.clients[0], "1", false, NULL, "", "", 0, -1);
	make_client(&l.clients[1], "both", "h", true, 1000);
	add_delivery(&l.clients[1], "2", true, kids2, "/var/lib/mandos/escrow/both",
	             "/etc/mandos/clients.conf:12", 3, 2);
	make_client(&l.clients[2], "filed", "h", false, 1000);
	add_delivery(&l.clients[2], "1 2", false, kids1, "/k/filed", "", 0, -1);

	f = open_memstream(&buf, &size);
	ck_assert_int_eq(ctl_print_escrow(f, sel, 3, false, &missing), 0);
	fclose(f);
	/* Columns as wide as their widest cell: 5, 9, 13, 65 (two kids), 55, 13 and 13. */
	{
		static const char *const rows[4][7] = {
		        {"Name", "Protocols", "Sealed Secret", "Escrow Key IDs", "Escrow Keys In",
		         "Release Limit", "Releases Left"},
		        {"old", "1", "No", "-", "-", "unlimited", "unlimited"},
		        {"both", "2", "Yes", KID1 " " KID2,
		         "/etc/mandos/clients.conf:12 /var/lib/mandos/escrow/both", "3", "2"},
		        {"filed", "1 2", "No", KID1, "/k/filed", "unlimited", "unlimited"},
		};
		static const int widths[7] = {5, 9, 13, 65, 55, 13, 13};
		char want[1024] = "";

		for (size_t i = 0; i < 4; i++) {
			for (size_t k = 0; k < 7; k++) {
				snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%-*s",
				         k ? " " : "", widths[k], rows[i][k]);
			}
			strcat(want, "\n");
		}
		ck_assert_str_eq(buf, want);
	}
	free(buf);

	f = open_memstream(&buf, &size);
	ck_assert_int_eq(ctl_print_escrow(f, sel + 1, 2, true, &missing), 0);
	fclose(f);
	ck_assert_str_eq(buf, "{\n"
	                      "    \"both\": {\n"
	                      "        \"Name\": \"both\",\n"
	                      "        \"Protocols\": \"2\",\n"
	                      "        \"HasSealedSecret\": true,\n"
	                      "        \"EscrowKeyIds\": [\n"
	                      "            \"" KID1 "\",\n"
	                      "            \"" KID2 "\"\n"
	                      "        ],\n"
	                      "        \"EscrowKeyFile\": \"/var/lib/mandos/escrow/both\",\n"
	                      "        \"EscrowKeyInline\": \"/etc/mandos/clients.conf:12\",\n"
	                      "        \"ReleaseLimit\": 3,\n"
	                      "        \"ReleasesLeft\": 2\n"
	                      "    },\n"
	                      "    \"filed\": {\n"
	                      "        \"Name\": \"filed\",\n"
	                      "        \"Protocols\": \"1 2\",\n"
	                      "        \"HasSealedSecret\": false,\n"
	                      "        \"EscrowKeyIds\": [\n"
	                      "            \"" KID1 "\"\n"
	                      "        ],\n"
	                      "        \"EscrowKeyFile\": \"/k/filed\",\n"
	                      "        \"EscrowKeyInline\": \"\",\n"
	                      "        \"ReleaseLimit\": 0,\n"
	                      "        \"ReleasesLeft\": -1\n"
	                      "    }\n"
	                      "}\n");
	free(buf);

	f = open_memstream(&buf, &size);
	ck_assert_int_eq(ctl_print_escrow(f, sel, 1, true, &missing), 0);
	ck_assert_int_eq(ctl_print_escrow(f, sel, 0, true, &missing), 0);
	fclose(f);
	ck_assert(strstr(buf, "        \"EscrowKeyIds\": [],\n"));
	ck_assert(strstr(buf, "\n}\n{}\n"));
	free(buf);

	/* The upstream table and JSON do not change with the delivery interface there. */
	f = open_memstream(&buf, &size);
	ck_assert_int_eq(ctl_print_table(f, sel, 1, false, &missing), 0);
	fclose(f);
	ck_assert_str_eq(buf, "Name Enabled Timeout  Last Successful Check\n"
	                      "old  Yes     00:00:01                      \n");
	free(buf);

	/* A property missing, or the whole interface (upstream's server): nothing printed. */
	free(l.clients[2].delivery[6].name);
	l.clients[2].delivery[6].name = strdup("Other");
	f = open_memstream(&buf, &size);
	ck_assert_int_eq(ctl_print_escrow(f, sel, 3, false, &missing), -ENOENT);
	ck_assert_str_eq(missing, "ReleasesLeft");
	l.clients[1].has_delivery = false;
	ck_assert_int_eq(ctl_print_escrow(f, sel, 3, true, &missing), -ENXIO);
	ck_assert_str_eq(missing, "both");
	fclose(f);
	ck_assert_str_eq(buf, "");
	free(buf);

	client_list_done(&l);
}
END_TEST

/* --approve-for: durations as the others, strictly; never abbreviated. */
START_TEST(approve_for_option)
{
	static const struct {
		const char *arg;
		uint64_t msec;
	} good[] = {{"PT1M", 60000}, {"0", 0}, {"PT0S", 0}, {"10m", 600000}, {"1h 30m", 5400000}};
	const char *bad[] = {"foo", "", "-5", "5", "1x", NULL};
	Captured c;

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		_cleanup_free_ char *opt = NULL;
		const char *argv[] = {"mandos-ctl", NULL, "a", NULL};

		ck_assert_int_ge(asprintf(&opt, "--approve-for=%s", good[i].arg), 0);
		argv[1] = opt;
		capture(&c, 80, argv);
		ck_assert_int_eq(c.r, 0);
		ck_assert_int_eq(c.o.commands[0].type, CMD_APPROVE_FOR);
		ck_assert_uint_eq(c.o.commands[0].msec, good[i].msec);
		captured_done(&c);
	}
	for (size_t i = 0; bad[i]; i++) {
		const char *argv[] = {"mandos-ctl", "--approve-for", bad[i], "a", NULL};
		_cleanup_free_ char *want = NULL;

		ck_assert_int_ge(asprintf(&want,
		                          "mandos-ctl: error: argument --approve-for: invalid "
		                          "duration: '%s' (PT10M, 1h 30m, or 0 to cancel)\n",
		                          bad[i]),
		                 0);
		check_usage_error(argv, want);
	}
	{
		const char *none[] = {"mandos-ctl", "--approve-for=PT1M", NULL};
		const char *abbrev[] = {"mandos-ctl", "--approve-f=PT1M", "a", NULL};
		const char *large[] = {"mandos-ctl", "--approve-for=P99999Y", "a", NULL};

		check_usage_error(none,
		                  "mandos-ctl: error: Options require clients names or --all.\n");
		check_usage_error(abbrev, "mandos-ctl: error: unrecognized arguments: "
		                          "--approve-f=PT1M\n");
		check_usage_error(large, "mandos-ctl: error: argument --approve-for: duration too "
		                         "large: 'P99999Y'\n");
	}
}
END_TEST

/* ApprovedUntil: in -v and --dump-json only for a client that has it set. */
START_TEST(approved_until_shown)
{
	ClientList l = {calloc(2, sizeof(Client)), 2};
	Client *sel[2] = {&l.clients[0], &l.clients[1]};
	const char *missing = NULL;
	char *buf = NULL, *plain = NULL;
	size_t size = 0;
	FILE *f;

	make_client(&l.clients[0], "a", "h", true, 1000);
	add_delivery(&l.clients[0], "1", false, NULL, "", "", 0, -1);
	make_client(&l.clients[1], "b", "h", true, 1000);
	add_delivery(&l.clients[1], "1", false, NULL, "", "", 0, -1);
	/* add_delivery() gives no ApprovedUntil: as an empty one, upstream's output. */
	f = open_memstream(&plain, &size);
	ck_assert_int_eq(ctl_print_table(f, sel, 2, true, &missing), 0);
	ck_assert_int_eq(ctl_dump_json(f, sel, 2, &missing), 0);
	fclose(f);
	ck_assert_ptr_null(strstr(plain, "Approved Until"));
	ck_assert_ptr_null(strstr(plain, "ApprovedUntil"));

	l.clients[1].delivery = reallocarray(l.clients[1].delivery, 8, sizeof(Property));
	l.clients[1].delivery[7] =
	        prop("ApprovedUntil",
	             (Value){.type = VAL_STRING, .s = strdup("2026-12-01T20:15:00.123456")});
	l.clients[1].n_delivery = 8;
	f = open_memstream(&buf, &size);
	ck_assert_int_eq(ctl_print_table(f, sel, 2, false, &missing), 0);
	fclose(f);
	ck_assert_ptr_null(strstr(buf, "Approved Until"));
	free(buf);
	f = open_memstream(&buf, &size);
	ck_assert_int_eq(ctl_print_table(f, sel, 2, true, &missing), 0);
	fclose(f);
	ck_assert(strstr(buf, " Last Checker Status Approved Until            \n"));
	ck_assert(strstr(buf, " 2026-12-01T20:15:00.123456\n"));
	free(buf);
	f = open_memstream(&buf, &size);
	ck_assert_int_eq(ctl_dump_json(f, sel, 2, &missing), 0);
	fclose(f);
	ck_assert(strstr(buf, "        \"LastCheckerStatus\": -2\n    },\n    \"b\": {"));
	ck_assert(strstr(buf,
	                 "        \"LastCheckerStatus\": -2,\n"
	                 "        \"ApprovedUntil\": \"2026-12-01T20:15:00.123456\"\n    }\n}\n"));
	free(buf);
	free(plain);
	client_list_done(&l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ctl");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	secmem_init();
	tcase_add_test(tc, selftest_passes);
	tcase_add_test(tc, usage_wraps_like_argparse);
	tcase_add_test(tc, help_layout);
	tcase_add_test(tc, parse_commands_in_order);
	tcase_add_test(tc, parse_secret_file_errors);
	tcase_add_test(tc, test_option_parser);
	tcase_add_test(tc, terminal_columns);
	tcase_add_test(tc, python_text);
	tcase_add_test(tc, table_and_json);
	tcase_add_test(tc, ours_options);
	tcase_add_test(tc, ours_options_errors);
	tcase_add_test(tc, help_ours_last);
	tcase_add_test(tc, escrow_table_and_json);
	tcase_add_test(tc, approve_for_option);
	tcase_add_test(tc, approved_until_shown);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
