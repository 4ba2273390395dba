/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The ConfigParser-compatible reader: spec sections 2.2, 2.3 and 2.5, and its error messages. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"

static IniFile *parse_ok(const char *text, const char *const *defaults)
{
	IniFile *ini = NULL;
	char *err = NULL;
	int r = ini_parse_string("test.conf", text, strlen(text), defaults, &ini, &err);

	ck_assert_msg(r == 0, "parse failed (%d): %s", r, err ? err : "?");
	ck_assert_ptr_null(err);
	return ini;
}

static void parse_fails(const char *text, const char *want_error)
{
	IniFile *ini = NULL;
	char *err = NULL;
	int r = ini_parse_string("test.conf", text, strlen(text), NULL, &ini, &err);

	ck_assert_int_eq(r, -EINVAL);
	ck_assert_ptr_null(ini);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, want_error), "error \"%s\" lacks \"%s\"", err, want_error);
	ck_assert_msg(!strchr(err, '\n'), "error is not one line: %s", err);
	free(err);
}

static void expect(IniFile *ini, const char *section, const char *key, const char *want)
{
	char *v = NULL, *err = NULL;
	int r = ini_get(ini, section, key, &v, &err);

	ck_assert_msg(r == 0, "[%s] %s: %d %s", section, key, r, err ? err : "");
	ck_assert_str_eq(v, want);
	free(v);
}

START_TEST(sections_and_defaults)
{
	IniFile *ini = parse_ok("[DEFAULT]\n"
	                        "timeout = PT5M\n"
	                        "interval: PT2M\n"
	                        "\n"
	                        "[foo]\n"
	                        "host = foo.example\n"
	                        "Timeout = PT1M\n"
	                        "[bar]\n"
	                        "HOST:bar\n",
	                        NULL);

	ck_assert_uint_eq(ini_section_count(ini), 2);
	ck_assert_str_eq(ini_section_name(ini, 0), "foo");
	ck_assert_str_eq(ini_section_name(ini, 1), "bar");
	ck_assert_uint_eq(ini_section_line(ini, 1), 8);
	expect(ini, "foo", "timeout", "PT1M");
	expect(ini, "foo", "TIMEOUT", "PT1M");
	expect(ini, "bar", "timeout", "PT5M");
	expect(ini, "bar", "interval", "PT2M");
	expect(ini, "bar", "host", "bar");
	expect(ini, "DEFAULT", "timeout", "PT5M");
	ck_assert_ptr_null(ini_get_raw(ini, "DEFAULT", "host"));
	ck_assert_uint_eq(ini_key_line(ini, "foo", "timeout"), 7);
	ck_assert_uint_eq(ini_key_line(ini, "bar", "timeout"), 2);
	ck_assert(ini_has_section(ini, "DEFAULT"));
	ck_assert(!ini_has_section(ini, "Foo"));
	/* DEFAULT keys first, then the section's own. */
	ck_assert_uint_eq(ini_key_count(ini, "foo"), 3);
	ck_assert_str_eq(ini_key_name(ini, "foo", 0), "timeout");
	ck_assert_str_eq(ini_key_name(ini, "foo", 1), "interval");
	ck_assert_str_eq(ini_key_name(ini, "foo", 2), "host");
	char *v = NULL;
	ck_assert_int_eq(ini_get(ini, "foo", "nosuch", &v, NULL), -ENOENT);
	ck_assert_int_eq(ini_get(ini, "nosuch", "host", &v, NULL), -ENOENT);
	ini_free(ini);
}
END_TEST

START_TEST(values_and_whitespace)
{
	IniFile *ini = parse_ok("[DEFAULT]\n"
	                        "  a   =   spaced value   \n"
	                        "b=\n"
	                        "c = x = y : z\n"
	                        "d : x = y\n"
	                        "e = value # not a comment\n"
	                        "f=;also not\n"
	                        "[s p a c e ]\n"
	                        "k = v\n",
	                        NULL);

	expect(ini, "DEFAULT", "a", "spaced value");
	expect(ini, "DEFAULT", "b", "");
	expect(ini, "DEFAULT", "c", "x = y : z");
	expect(ini, "DEFAULT", "d", "x = y");
	expect(ini, "DEFAULT", "e", "value # not a comment");
	expect(ini, "DEFAULT", "f", ";also not");
	ck_assert_str_eq(ini_section_name(ini, 0), "s p a c e ");
	ini_free(ini);
}
END_TEST

START_TEST(comments)
{
	IniFile *ini = parse_ok("# leading comment\n"
	                        "; another\n"
	                        "[DEFAULT]\n"
	                        "   # indented comment\n"
	                        "a = 1\n"
	                        "# comment inside a value\n"
	                        "    continued\n"
	                        ";x = y\n",
	                        NULL);

	expect(ini, "DEFAULT", "a", "1\ncontinued");
	ck_assert_ptr_null(ini_get_raw(ini, "DEFAULT", "x"));
	ini_free(ini);
}
END_TEST

START_TEST(continuation_lines)
{
	/* A multi-line base64 secret as mandos-keygen writes it. */
	IniFile *ini = parse_ok("[client]\n"
	                        "secret =\n"
	                        "    hQIMAxxxxx\n"
	                        "    yyyyyyyyyy\n"
	                        "\n"
	                        "    zzzz==\n"
	                        "\n"
	                        "\n"
	                        "host = h\n"
	                        "checker = fping\n"
	                        "\t-q\n"
	                        " key = not a key\n",
	                        NULL);

	/* As in Python: the empty first piece still gets joined, so the value starts with "\n". */
	expect(ini, "client", "secret", "\nhQIMAxxxxx\nyyyyyyyyyy\n\nzzzz==");
	expect(ini, "client", "host", "h");
	expect(ini, "client", "checker", "fping\n-q\nkey = not a key");
	ck_assert_ptr_null(ini_get_raw(ini, "client", "key"));
	ini_free(ini);

	/* An indented option right after a header starts a new option, not a continuation. */
	ini = parse_ok("[a]\n  x = 1\n  y = 2\n    more\n", NULL);
	expect(ini, "a", "x", "1");
	expect(ini, "a", "y", "2\nmore");
	ini_free(ini);
}
END_TEST

START_TEST(interpolation)
{
	/* Spec 2.5: %(name)s from the section or [DEFAULT], %% is %, runtime %%(x)s. */
	IniFile *ini = parse_ok("[DEFAULT]\n"
	                        "h = x\n"
	                        "checker = fping -q -- %%(host)s\n"
	                        "greeting = hello %(who)s\n"
	                        "[c1]\n"
	                        "host = %(h)s.example\n"
	                        "who = c1\n"
	                        "pct = 100%%\n"
	                        "chain = %(host)s/%(pct)s\n"
	                        "upper = %(HOST)s\n"
	                        "[c2]\n"
	                        "h = y\n"
	                        "host = %(h)s.example\n"
	                        "who = %(missing)s\n",
	                        NULL);

	expect(ini, "c1", "host", "x.example");
	expect(ini, "c1", "checker", "fping -q -- %(host)s");
	expect(ini, "c1", "pct", "100%");
	expect(ini, "c1", "chain", "x.example/100%");
	expect(ini, "c1", "upper", "x.example");
	/* A [DEFAULT] value is interpolated in the section that reads it. */
	expect(ini, "c1", "greeting", "hello c1");
	/* The section's own value wins over [DEFAULT]'s during interpolation too. */
	expect(ini, "c2", "host", "y.example");
	/* Raw values are kept. */
	ck_assert_str_eq(ini_get_raw(ini, "c1", "host"), "%(h)s.example");

	char *v = NULL, *err = NULL;
	ck_assert_int_eq(ini_get(ini, "c2", "who", &v, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "test.conf:14: "));
	ck_assert_ptr_nonnull(strstr(err, "missing"));
	free(err);
	err = NULL;
	/* [DEFAULT]'s greeting refers to "who", which in c2 is broken. */
	ck_assert_int_eq(ini_get(ini, "c2", "greeting", &v, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "test.conf:4: "));
	free(err);
	ini_free(ini);
}
END_TEST

START_TEST(interpolation_errors)
{
	static const struct {
		const char *text, *error;
	} cases[] = {
	        {"[a]\nk = 50% off\n", "test.conf:2: in value of \"k\": \"%\" must be followed"},
	        {"[a]\nk = %(x)\n", "test.conf:2: in value of \"k\": bad reference"},
	        {"[a]\nk = %()s\n", "bad reference"},
	        {"[a]\nk = %(x)d\nx = 1\n", "bad reference"},
	        {"[a]\nk = %\n", "must be followed"},
	        {"[a]\nk = %(k)s\n", "test.conf:2: value of \"k\" nests"},
	        {"[a]\nk = %(j)s\nj = %(k)s\n", "nests"},
	        {"[a]\nk = %(undefined)s\n", "\"%(undefined)s\" refers to a key"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		IniFile *ini = parse_ok(cases[i].text, NULL);
		char *v = NULL, *err = NULL;

		ck_assert_int_eq(ini_get(ini, "a", "k", &v, &err), -EINVAL);
		ck_assert_ptr_null(v);
		ck_assert_msg(err && strstr(err, cases[i].error), "case %zu: \"%s\"", i,
		              err ? err : "(null)");
		free(err);
		ini_free(ini);
	}
}
END_TEST

START_TEST(builtin_defaults)
{
	static const char *const defaults[] = {
	        "timeout", "PT5M", "checker", "fping -q -- %%(host)s", "enabled", "True", NULL,
	};
	IniFile *ini = parse_ok("[DEFAULT]\ntimeout = PT1M\n[c]\nhost = h\n", defaults);

	/* The file may override a built-in default without a "duplicate key" error. */
	expect(ini, "c", "timeout", "PT1M");
	expect(ini, "c", "checker", "fping -q -- %(host)s");
	ck_assert_uint_eq(ini_key_line(ini, "c", "checker"), 0);
	ck_assert_uint_eq(ini_key_line(ini, "c", "timeout"), 2);
	bool b = false;
	ck_assert_int_eq(ini_get_bool(ini, "c", "enabled", &b, NULL), 0);
	ck_assert(b);
	ini_free(ini);
}
END_TEST

START_TEST(booleans)
{
	/* Spec 2.2: 1/yes/true/on, 0/no/false/off, any case; anything else is an error. */
	IniFile *ini = parse_ok("[DEFAULT]\n"
	                        "a = yes\nb = No\nc = TRUE\nd = off\ne = 1\nf = 0\ng = On\n"
	                        "h = False\ni = maybe\nj = 2\nk =\n",
	                        NULL);
	static const struct {
		const char *key;
		bool want;
	} ok[] = {{"a", true}, {"b", false}, {"c", true}, {"d", false},
	          {"e", true}, {"f", false}, {"g", true}, {"h", false}};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		bool v = !ok[i].want;

		ck_assert_int_eq(ini_get_bool(ini, "DEFAULT", ok[i].key, &v, NULL), 0);
		ck_assert_int_eq(v, ok[i].want);
	}
	static const char *const bad[] = {"i", "j", "k"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *err = NULL;
		bool v;

		ck_assert_int_eq(ini_get_bool(ini, "DEFAULT", bad[i], &v, &err), -EINVAL);
		ck_assert_msg(strstr(err, "test.conf:") && strstr(err, "must be a boolean"), "%s",
		              err);
		free(err);
	}
	ini_free(ini);
}
END_TEST

START_TEST(syntax_errors)
{
	/* Spec 2.2/2.3: each error names the file and line, in one line. */
	parse_fails("timeout = 1\n", "test.conf:1: expected a section header");
	parse_fails("\n# c\n\nk = v\n[DEFAULT]\n", "test.conf:4: expected a section header");
	parse_fails("[a]\nk = 1\n[b]\n[a]\n",
	            "test.conf:4: section [a] is already defined at line 1");
	parse_fails("[a]\nk = 1\nK = 2\n",
	            "test.conf:3: key \"k\" is already set in [a] at line 2");
	parse_fails("[DEFAULT]\nk = 1\n[x]\n[DEFAULT]\nk = 2\n",
	            "test.conf:5: key \"k\" is already set in [DEFAULT] at line 2");
	parse_fails("[a]\njust words\n", "test.conf:2: expected \"key = value\"");
	parse_fails("[a]\njust words\n", "got \"just words\"");
	/* A line of base64 (a secret's continuation line without its indentation) is not
	 * quoted: it may be a key. */
	parse_fails("[a]\nsecret =\n    hQEMA1b2\nq1w2e3r4t5y6u7i8o9p0QWERTYUIOPasdfghjk\n",
	            "test.conf:4: expected \"key = value\", \"key: value\" or \"[section]\", got "
	            "38 characters of base64 (not shown); a value's continuation line must start "
	            "with a space or a tab");
	parse_fails("q1w2e3r4t5y6u7i8o9p0QWERTYUIOPasdfghjk\n[a]\n",
	            "test.conf:1: expected a section header such as [DEFAULT] before 38 "
	            "characters of base64 (not shown)");
	parse_fails("[a]\n= value\n", "test.conf:2: expected a key name before \"=\"");
	parse_fails("[a]\n  : value\n", "test.conf:2: expected a key name");
	parse_fails("[]\n", "test.conf:1: expected a section header");
	parse_fails("[a\nk=v\n", "test.conf:1: expected a section header");
}
END_TEST

START_TEST(odd_but_valid)
{
	/* Two [DEFAULT] blocks are fine as long as keys differ; [a] x ] is section "a] x ". */
	IniFile *ini = parse_ok("[DEFAULT]\nk = 1\n[x]\n[DEFAULT]\nj = 2\n[a] x ]\nz = 3\n"
	                        "[b]trailing\ny = 4\n",
	                        NULL);

	expect(ini, "x", "k", "1");
	expect(ini, "x", "j", "2");
	ck_assert_str_eq(ini_section_name(ini, 1), "a] x ");
	ck_assert_str_eq(ini_section_name(ini, 2), "b");
	ini_free(ini);

	/* CRLF line ends and a missing final newline. */
	ini = parse_ok("[a]\r\nk = v\r\n  w\r\nlast = x", NULL);
	expect(ini, "a", "k", "v\nw");
	expect(ini, "a", "last", "x");
	ini_free(ini);

	/* An empty file and a file of comments are valid and empty. */
	ini = parse_ok("", NULL);
	ck_assert_uint_eq(ini_section_count(ini), 0);
	ini_free(ini);
	ini = parse_ok("# nothing\n\n", NULL);
	ini_free(ini);
}
END_TEST

START_TEST(limits)
{
	size_t n = INI_LINE_MAX + 10;
	char *text = malloc(n + 16);

	strcpy(text, "[a]\nk = ");
	memset(text + 8, 'x', n);
	text[8 + n] = '\0';
	parse_fails(text, "test.conf:2: line longer than");
	free(text);

	IniFile *ini = NULL;
	char *err = NULL;
	static const char nul[] = "[a]\nk = v\0x\n";
	ck_assert_int_eq(ini_parse_string("test.conf", nul, sizeof(nul) - 1, NULL, &ini, &err),
	                 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "test.conf:2: NUL"));
	free(err);
}
END_TEST

START_TEST(many_sections)
{
	/* Large client lists: many sections, duplicate detection still exact. */
	size_t n = 20000, cap = n * 32 + 64, len = 0;
	char *text = malloc(cap);

	for (size_t i = 0; i < n; i++) {
		len += (size_t)snprintf(text + len, cap - len, "[client%zu]\nhost = h%zu\n", i, i);
	}
	IniFile *ini = parse_ok(text, NULL);
	ck_assert_uint_eq(ini_section_count(ini), n);
	expect(ini, "client12345", "host", "h12345");
	ck_assert(ini_has_section(ini, "client19999"));
	ini_free(ini);
	snprintf(text + len, cap - len, "[client777]\n");
	parse_fails(text, "section [client777] is already defined at line 1555");
	free(text);
}
END_TEST

START_TEST(missing_file)
{
	IniFile *ini = NULL;
	char *err = NULL;

	ck_assert_int_eq(ini_parse_file("/nonexistent/mandos.conf", NULL, NULL, &ini, &err),
	                 -ENOENT);
	ck_assert_ptr_null(err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ini");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, sections_and_defaults);
	tcase_add_test(tc, values_and_whitespace);
	tcase_add_test(tc, comments);
	tcase_add_test(tc, continuation_lines);
	tcase_add_test(tc, interpolation);
	tcase_add_test(tc, interpolation_errors);
	tcase_add_test(tc, builtin_defaults);
	tcase_add_test(tc, booleans);
	tcase_add_test(tc, syntax_errors);
	tcase_add_test(tc, odd_but_valid);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, many_sections);
	tcase_add_test(tc, missing_file);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
