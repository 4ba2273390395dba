/* SPDX-License-Identifier: GPL-3.0-or-later */
/* plugin-runner's library: config words, option parsing, argv/env building, selection, loop. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "loop.h"
#include "runner.h"

#include "macro.h"
#include "secmem.h"

static char **split(const char *text, size_t len, size_t *n)
{
	char **w = NULL;

	ck_assert_int_eq(conf_split(text, len, &w, n), 0);
	return w;
}

START_TEST(conf_words)
{
	static const char text[] = "# comment --x\n  --a=1\t-b\r\n--c=d#glued\n\v\f-e # --f\n-g";
	size_t n;
	char **w = split(text, sizeof(text) - 1, &n);

	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(w[0], "--a=1");
	ck_assert_str_eq(w[1], "-b");
	ck_assert_str_eq(w[2], "--c=d");
	ck_assert_str_eq(w[3], "-e");
	ck_assert_str_eq(w[4], "-g");
	ck_assert_ptr_null(w[5]);
	strv_free(w);

	w = split("", 0, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(w[0]);
	strv_free(w);

	/* A NUL byte ends its line like a comment. */
	w = split("-a\0-b\n-c", 8, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(w[1], "-c");
	strv_free(w);
}
END_TEST

START_TEST(conf_file)
{
	char path[] = "/tmp/test-conf-XXXXXX";
	int fd = mkstemp(path);
	char **w = NULL;
	size_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "--debug\n", 8), 8);
	close(fd);
	ck_assert_int_eq(conf_read_file(path, &w, &n), 0);
	ck_assert_uint_eq(n, 1);
	strv_free(w);
	unlink(path);
	ck_assert_int_eq(conf_read_file(path, &w, &n), -ENOENT);
}
END_TEST

/* Parse a NULL-terminated list of words (argv[0] added). */
static int parse(RunnerConfig *c, RunnerSource source, ...)
{
	char *argv[32] = {(char *)(uintptr_t) "plugin-runner"};
	int argc = 1;
	va_list ap;

	va_start(ap, source);
	for (const char *a; (a = va_arg(ap, const char *));) {
		argv[argc++] = (char *)(uintptr_t)a;
	}
	va_end(ap);
	return runner_parse(c, argc, argv, source);
}

START_TEST(parse_options)
{
	RunnerConfig c;

	ck_assert_int_eq(runner_config_init(&c), 0);
	ck_assert_str_eq(c.plugin_dir, RUNNER_DEFAULT_PLUGIN_DIR);
	ck_assert_uint_eq(c.uid, 65534);
	ck_assert_int_eq(parse(&c, RUNNER_SOURCE_CONFIG, "-o", "foo:--x=a:b,,y", "-g", "--debug",
	                       "--config-file=/ignored", "-d", "bar", "--userid=7", NULL),
	                 0);
	ck_assert_str_eq(c.config_file, RUNNER_DEFAULT_CONFIG_FILE);
	ck_assert_int_eq(parse(&c, RUNNER_SOURCE_CLI, "", "-e", "bar", "--groupid", "8",
	                       "--plugin-dir=/p", "-Efoo:A=1", "-G", "A=2", "-G", "B=3", "-G",
	                       "B=4", "--config-file=/c", "-o", "foo:--z", NULL),
	                 0);
	ck_assert_str_eq(c.config_file, "/c");
	ck_assert_str_eq(c.plugin_dir, "/p");
	ck_assert_uint_eq(c.uid, 7);
	ck_assert_uint_eq(c.gid, 8);

	const PluginOpts *foo = runner_plugin_opts(&c, "foo");
	ck_assert_ptr_nonnull(foo);
	ck_assert_uint_eq(foo->n_args, 4);
	ck_assert_str_eq(foo->args[0], "--x=a:b");
	ck_assert_str_eq(foo->args[1], "");
	ck_assert_str_eq(foo->args[3], "--z");
	ck_assert(!runner_plugin_opts(&c, "bar")->disabled);
	ck_assert_ptr_null(runner_plugin_opts(&c, "baz"));

	char **argv = runner_plugin_argv(&c, "foo");
	ck_assert_str_eq(argv[0], "foo");
	ck_assert_str_eq(argv[1], "--x=a:b");
	ck_assert_str_eq(argv[4], "--z");
	ck_assert_str_eq(argv[5], "--debug");
	ck_assert_ptr_null(argv[6]);
	strv_free(argv);

	char *inherited[] = {(char *)(uintptr_t) "A=inh", (char *)(uintptr_t) "C=inh",
	                     (char *)(uintptr_t) "MANDOSPLUGINHELPERDIR=/inh", NULL};
	char **env = runner_plugin_envp(&c, "foo", inherited);
	ck_assert_str_eq(env[0], "A=1");
	ck_assert_str_eq(env[1], "MANDOSPLUGINHELPERDIR=" RUNNER_DEFAULT_HELPER_DIR);
	ck_assert_str_eq(env[2], "B=4");
	ck_assert_str_eq(env[3], "C=inh");
	ck_assert_ptr_null(env[4]);
	strv_free(env);
	env = runner_plugin_envp(&c, "other", inherited);
	ck_assert_str_eq(env[1], "A=2");
	strv_free(env);
	runner_config_done(&c);
}
END_TEST

START_TEST(parse_errors)
{
	RunnerConfig c;

	ck_assert_int_eq(runner_config_init(&c), 0);
	ck_assert_int_eq(parse(&c, RUNNER_SOURCE_CLI, "-o", "nocolon", NULL), -EINVAL);
	ck_assert_int_eq(parse(&c, RUNNER_SOURCE_CLI, "-E", ":A=1", NULL), -EINVAL);
	ck_assert_int_eq(parse(&c, RUNNER_SOURCE_CLI, "x", NULL), -EINVAL);
	ck_assert_int_eq(parse(&c, RUNNER_SOURCE_CLI, "--userid=-1", NULL), -EINVAL);
	ck_assert_int_eq(parse(&c, RUNNER_SOURCE_CLI, "--no-such", NULL), -EINVAL);
	ck_assert_int_eq(parse(&c, RUNNER_SOURCE_CLI, "-d", NULL), -EINVAL);
	ck_assert_int_eq(parse(&c, RUNNER_SOURCE_CLI, "-?", NULL), 0);
	ck_assert(c.help);
	runner_config_done(&c);

	char *argv[] = {(char *)(uintptr_t) "p",
	                (char *)(uintptr_t) "--debug",
	                (char *)(uintptr_t) "--config-file",
	                (char *)(uintptr_t) "/x",
	                (char *)(uintptr_t) "-d",
	                (char *)(uintptr_t) "--config-file=/y",
	                NULL};
	/* "-d --config-file=/y" disables a plugin of that name: only /x is the file. */
	ck_assert_str_eq(runner_find_config_file(6, argv), "/x");
	ck_assert_ptr_null(runner_find_config_file(2, argv));
}
END_TEST

START_TEST(ignored_names)
{
	ck_assert_str_eq(runner_ignored_name(".hidden"), ".*");
	ck_assert_str_eq(runner_ignored_name("a~"), "*~");
	ck_assert_str_eq(runner_ignored_name("#a#"), "#*#");
	ck_assert_str_eq(runner_ignored_name("x.dpkg-divert"), "*.dpkg-divert");
	ck_assert_str_eq(runner_ignored_name("x.dpkg-old"), "*.dpkg-old");
	ck_assert_ptr_null(runner_ignored_name("#"));
	ck_assert_ptr_null(runner_ignored_name("mandos-client"));
	ck_assert_ptr_null(runner_ignored_name("a#"));
}
END_TEST

START_TEST(exec_mode)
{
	ck_assert(runner_mode_allows_exec(0700, 5, 5, 5, 9));
	ck_assert(!runner_mode_allows_exec(0077, 5, 5, 5, 5)); /* owner bits decide */
	ck_assert(runner_mode_allows_exec(0010, 1, 6, 5, 6));
	ck_assert(!runner_mode_allows_exec(0701, 1, 6, 5, 6));
	ck_assert(runner_mode_allows_exec(0001, 1, 1, 5, 6));
	ck_assert(runner_mode_allows_exec(0010, 1, 1, 0, 0));
	ck_assert(!runner_mode_allows_exec(0644, 1, 1, 0, 0));
}
END_TEST

static char tmpdir[64];

/* A LoopPlugin running `sh -c BODY` from a script in tmpdir. */
static LoopPlugin script(const char *name, const char *body)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0755), 0);
	LoopPlugin p = {.name = strdup(name), .exec_fd = open(path, O_PATH | O_CLOEXEC)};
	p.argv = calloc(2, sizeof(char *));
	p.argv[0] = strdup(name);
	p.envp = calloc(2, sizeof(char *));
	p.envp[0] = strdup("PATH=/usr/bin:/bin");
	ck_assert_int_ge(p.exec_fd, 0);
	return p;
}

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-loop-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(secmem_init(), 0);
}

static void remove_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

START_TEST(loop_winner)
{
	LoopPlugin p[3];
	LoopParams params = loop_params_default();
	Loop *l = NULL;
	SecBuf *out = NULL;
	struct timespec t0;
	int sig = 0;

	make_tmpdir();
	p[0] = script("a", "printf bad; exit 1");
	p[1] = script("b", "sleep 0.2; printf 'good\\n'");
	p[2] = script("c", "trap '' TERM; sleep 30");
	params.grace_ms = 200;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(loop_new(p, 3, &params, &l), 0);
	ck_assert_int_eq(loop_run(l, &out, &sig), 0);
	ck_assert_uint_eq(loop_started(l), 3);
	ck_assert_uint_eq(out->len, 5);
	ck_assert_mem_eq(out->data, "good\n", 5);
	ck_assert_int_eq(loop_stop(l, SIGTERM, &sig), 0);
	ck_assert_int_lt(elapsed_ms(&t0), 5000);
	secbuf_free(out);
	loop_free(l);
	remove_tmpdir();
}
END_TEST

START_TEST(loop_failures)
{
	LoopPlugin p[3];
	LoopParams params = loop_params_default();
	Loop *l = NULL;
	SecBuf *out = NULL;
	int sig = 0;

	make_tmpdir();
	p[0] = script("big", "head -c 5000 /dev/zero");
	p[1] = script("temp", "echo x >> \"$0.runs\"; exit 75");
	p[2] = script("killed", "printf x; kill -9 $$");
	params.max_output = 4096;
	params.restart_delay_ms = 10;
	params.max_restarts = 2;
	ck_assert_int_eq(loop_new(p, 3, &params, &l), 0);
	ck_assert_int_eq(loop_run(l, &out, &sig), -ENOENT);
	ck_assert_ptr_null(out);
	loop_free(l);
	remove_tmpdir();

	/* No plugins at all. */
	ck_assert_int_eq(loop_new(NULL, 0, &params, &l), 0);
	ck_assert_int_eq(loop_run(l, &out, &sig), -ENOENT);
	ck_assert_uint_eq(loop_started(l), 0);
	loop_free(l);
}
END_TEST

START_TEST(loop_signal)
{
	LoopPlugin p[1];
	LoopParams params = loop_params_default();
	Loop *l = NULL;
	SecBuf *out = NULL;
	int sig = 0;

	make_tmpdir();
	p[0] = script("a", "sleep 0.3; kill -TERM $PPID; sleep 30");
	ck_assert_int_eq(loop_new(p, 1, &params, &l), 0);
	ck_assert_int_eq(loop_run(l, &out, &sig), -EINTR);
	ck_assert_int_eq(sig, SIGTERM);
	ck_assert_int_eq(loop_stop(l, SIGTERM, &sig), 0);
	loop_free(l);
	remove_tmpdir();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plugin-runner");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, conf_words);
	tcase_add_test(tc, conf_file);
	tcase_add_test(tc, parse_options);
	tcase_add_test(tc, parse_errors);
	tcase_add_test(tc, ignored_names);
	tcase_add_test(tc, exec_mode);
	tcase_add_test(tc, loop_winner);
	tcase_add_test(tc, loop_failures);
	tcase_add_test(tc, loop_signal);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
