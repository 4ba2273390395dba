/* SPDX-License-Identifier: GPL-3.0-or-later */
/* password-agent's modules: question files, answer datagrams, the client, the event loop. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "answer.h"
#include "client.h"
#include "macro.h"
#include "question.h"
#include "secmem.h"

static char tmpdir[64];

static void setup(void)
{
	ck_assert_int_eq(secmem_init(), 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-password-agent.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static int parse(const char *text, Question **q, const char **reason)
{
	return question_parse("ask.x", text, strlen(text), q, reason);
}

START_TEST(names)
{
	ck_assert(question_name_is_ask("ask.AbC123"));
	ck_assert(question_name_is_ask("ask."));
	ck_assert(!question_name_is_ask("ask"));
	ck_assert(!question_name_is_ask("sck.123"));
	ck_assert(!question_name_is_ask(".ask.1"));
}
END_TEST

START_TEST(parse_good)
{
	Question *q = NULL;

	ck_assert_int_eq(parse("[Ask]\nPID=42\nSocket=/run/systemd/ask-password/sck.1\n"
	                       "AcceptCached=1\nEcho=0\nNotAfter=123456789\n"
	                       "Message=Please enter passphrase for disk root\n",
	                       &q, NULL),
	                 0);
	ck_assert_str_eq(q->name, "ask.x");
	ck_assert_str_eq(q->socket_path, "/run/systemd/ask-password/sck.1");
	ck_assert_int_eq(q->pid, 42);
	ck_assert_uint_eq(q->not_after, 123456789);
	ck_assert_uint_eq(q->retry_at, 0);
	q = question_free(q);

	/* No NotAfter= means none; the last of a repeated key wins; other sections ignored. */
	ck_assert_int_eq(parse("; comment\n[Other]\nPID=9\n[Ask]\nSocket = /a \nPID=1\nPID=2\n"
	                       "[Other]\nSocket=/b\n",
	                       &q, NULL),
	                 0);
	ck_assert_str_eq(q->socket_path, "/a");
	ck_assert_int_eq(q->pid, 2);
	ck_assert_uint_eq(q->not_after, 0);
	q = question_free(q);

	/* No final newline, CR LF. */
	ck_assert_int_eq(parse("[Ask]\r\nPID=3\r\nSocket=/c", &q, NULL), 0);
	ck_assert_str_eq(q->socket_path, "/c");
	question_free(q);
}
END_TEST

START_TEST(parse_bad)
{
	static const char *const bad[] = {
	        "",
	        "[Ask]\nSocket=/s\n",
	        "[Ask]\nPID=1\n",
	        "[Ask]\nPID=1\nSocket=\n",
	        "[Ask]\npid=1\nsocket=/s\n", /* keys are case-sensitive */
	        "[Ask]\nPID=0\nSocket=/s\n",
	        "[Ask]\nPID=-1\nSocket=/s\n",
	        "[Ask]\nPID=2147483648\nSocket=/s\n",
	        "[Ask]\nPID=1\nSocket=/s\nNotAfter=soon\n",
	        "[Ask]\nPID=1\nSocket=/s\nNotAfter=18446744073709551616\n",
	        "[Ask\nPID=1\nSocket=/s\n",
	        "[Ask]\nPID=1\nSocket=/s\njunk\n",
	        "PID=1\nSocket=/s\n",
	};
	const char *reason = NULL;
	Question *q = NULL;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		reason = NULL;
		ck_assert_msg(parse(bad[i], &q, &reason) == -EBADMSG, "accepted: %s", bad[i]);
		ck_assert_ptr_nonnull(reason);
		ck_assert_ptr_null(q);
	}
	ck_assert_int_eq(question_parse("ask.x", "[Ask]\nPID=1\0\nSocket=/s\n", 22, &q, &reason),
	                 -EBADMSG);
}
END_TEST

START_TEST(load)
{
	_cleanup_close_ int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *reason = NULL;
	char text[128], path[128], target[128];
	Question *q = NULL;
	pid_t dead;

	snprintf(text, sizeof(text), "[Ask]\nPID=%d\nSocket=/s\nNotAfter=100\n", (int)getpid());
	write_file("ask.ok", text);
	ck_assert_int_eq(question_load(dfd, "ask.ok", 99, &q, NULL), 0);
	ck_assert_int_eq(q->pid, getpid());
	q = question_free(q);
	ck_assert_int_eq(question_load(dfd, "ask.ok", 100, &q, &reason), -ETIME);
	ck_assert_ptr_nonnull(strstr(reason, "NotAfter"));

	dead = fork();
	if (dead == 0) {
		_exit(0);
	}
	ck_assert_int_eq(waitpid(dead, NULL, 0), dead);
	snprintf(text, sizeof(text), "[Ask]\nPID=%d\nSocket=/s\n", (int)dead);
	write_file("ask.dead", text);
	ck_assert_int_eq(question_load(dfd, "ask.dead", 1, &q, NULL), -ESRCH);

	/* PID 1 belongs to someone else: EPERM from kill() still means alive (or we are root). */
	write_file("ask.init", "[Ask]\nPID=1\nSocket=/s\n");
	ck_assert_int_eq(question_load(dfd, "ask.init", 1, &q, NULL), 0);
	q = question_free(q);

	ck_assert_int_eq(question_load(dfd, "ask.missing", 1, &q, NULL), -ENOENT);

	/* Symlinks are not followed, FIFOs are not read (and do not block). */
	snprintf(target, sizeof(target), "%s/ask.ok", tmpdir);
	snprintf(path, sizeof(path), "%s/ask.link", tmpdir);
	ck_assert_int_eq(symlink(target, path), 0);
	ck_assert_int_eq(question_load(dfd, "ask.link", 1, &q, NULL), -ELOOP);
	snprintf(path, sizeof(path), "%s/ask.fifo", tmpdir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(question_load(dfd, "ask.fifo", 1, &q, NULL), -EBADMSG);
	ck_assert_ptr_null(q);
}
END_TEST

START_TEST(load_too_big)
{
	_cleanup_close_ int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t n = QUESTION_FILE_MAX + 1;
	char *big = malloc(n + 1);
	Question *q = NULL;

	memset(big, '#', n);
	big[n] = '\0';
	write_file("ask.big", big);
	free(big);
	ck_assert_int_eq(question_load(dfd, "ask.big", 1, &q, NULL), -EFBIG);
}
END_TEST

static int bind_dgram(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

START_TEST(answer)
{
	_cleanup_secbuf_ SecBuf *pw = secbuf_new(8, 64), *msg = NULL;
	_cleanup_close_ int fd = -EBADF;
	char path[128], got[64], longpath[200];
	ssize_t n;

	ck_assert_int_eq(secbuf_append(pw, "s3\0cret\n", 8), 0);
	ck_assert_int_eq(answer_build(pw, &msg), 0);
	ck_assert_uint_eq(msg->len, 10);
	ck_assert_mem_eq(msg->data, "+s3\0cret\n\0", 10);

	snprintf(path, sizeof(path), "%s/sock", tmpdir);
	ck_assert_int_eq(answer_send(path, msg), -ENOENT);
	ck_assert(answer_error_is_transient(-ENOENT));

	fd = bind_dgram(path);
	ck_assert_int_eq(answer_send(path, msg), 0);
	n = recv(fd, got, sizeof(got), MSG_DONTWAIT);
	ck_assert_int_eq(n, 10);
	ck_assert_mem_eq(got, "+s3\0cret\n\0", 10);

	/* Bound but closed: nobody listens. */
	fd = safe_close(fd);
	ck_assert_int_eq(answer_send(path, msg), -ECONNREFUSED);
	ck_assert(answer_error_is_transient(-ECONNREFUSED));

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	ck_assert_int_eq(answer_send(longpath, msg), -ENAMETOOLONG);
	ck_assert(!answer_error_is_transient(-ENAMETOOLONG));
	ck_assert(!answer_error_is_transient(-EMSGSIZE));
	ck_assert(!answer_error_is_transient(-EACCES));
	ck_assert(answer_error_is_transient(-EAGAIN));
	ck_assert(answer_error_is_transient(-ENOBUFS));
}
END_TEST

/* Run a client to completion (output read to EOF, process reaped). */
static int run_client(Client *c, const char *script, size_t max)
{
	static char sh[] = "/bin/sh", dash_c[] = "-c";
	char *argv[] = {sh, dash_c, (char *)(uintptr_t)script, NULL};
	ClientParams p = {.argv = argv, .uid = 65534, .gid = 65534, .output_max = max};
	int r;

	if (geteuid() != 0) {
		p.uid = getuid();
		p.gid = getgid();
	}
	r = client_start(c, &p);
	if (r < 0) {
		return r;
	}
	while (c->stdout_fd >= 0) {
		struct pollfd pfd = {.fd = c->stdout_fd, .events = POLLIN};

		ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
		r = client_read(c);
	}
	while (client_reap(c) == 0) {
		usleep(10000);
	}
	return r;
}

START_TEST(client)
{
	Client c = CLIENT_NULL;

	ck_assert_int_eq(run_client(&c, "printf 'pass word'", 64), 1);
	ck_assert(client_exited_ok(&c));
	ck_assert(c.eof);
	ck_assert_uint_eq(c.output->len, 9);
	ck_assert_mem_eq(c.output->data, "pass word", 9);
	client_done(&c);

	ck_assert_int_eq(run_client(&c, "printf x; exit 3", 64), 1);
	ck_assert(!client_exited_ok(&c));
	ck_assert_int_eq(c.exit_code, 3);
	client_done(&c);

	ck_assert_int_eq(run_client(&c, "kill -TERM $$", 64), 1);
	ck_assert(!client_exited_ok(&c));
	ck_assert_int_eq(c.term_signal, SIGTERM);
	client_done(&c);

	/* Output over the cap: wiped, and the client no longer counts as successful. */
	ck_assert_int_eq(run_client(&c, "printf 0123456789abcdefX", 16), -EFBIG);
	ck_assert(c.output_failed);
	ck_assert_uint_eq(c.output->len, 0);
	ck_assert(!client_exited_ok(&c));
	client_done(&c);

	/* A client still running is killed and reaped by client_done(). */
	{
		static char sh[] = "/bin/sh", dash_c[] = "-c", script[] = "exec sleep 30";
		char *argv[] = {sh, dash_c, script, NULL};
		ClientParams p = {.argv = argv, .uid = 65534, .gid = 65534, .output_max = 8};
		pid_t pid;

		if (geteuid() != 0) {
			p.uid = getuid();
			p.gid = getgid();
		}
		ck_assert_int_eq(client_start(&c, &p), 0);
		pid = c.pid;
		client_done(&c);
		ck_assert_int_eq(kill(pid, 0), -1);
		ck_assert_int_eq(errno, ESRCH);
		ck_assert_int_eq(c.pid, 0);
		ck_assert_int_eq(c.stdout_fd, -EBADF);
	}
}
END_TEST

static uint64_t mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void make_question(const char *name, const char *sock, uint64_t not_after)
{
	char text[256];

	snprintf(text, sizeof(text), "[Ask]\nPID=%d\nSocket=%s/%s\nNotAfter=%llu\n", (int)getpid(),
	         tmpdir, sock, (unsigned long long)not_after);
	write_file(name, text);
}

START_TEST(agent_answers)
{
	static char sh[] = "/bin/sh", dash_c[] = "-c", script[] = "printf s3cret";
	char *argv[] = {sh, dash_c, script, NULL};
	_cleanup_close_ int fd = -EBADF;
	char path[128], got[32];
	AgentConfig cfg;
	int sig = -1;

	agent_config_init(&cfg);
	cfg.agent_dir = tmpdir;
	cfg.client_argv = argv;
	if (geteuid() != 0) {
		cfg.uid = getuid();
		cfg.gid = getgid();
	}
	snprintf(path, sizeof(path), "%s/sock", tmpdir);
	fd = bind_dgram(path);
	make_question("ask.1", "sock", 0);
	ck_assert_int_eq(agent_run(&cfg, &sig), 0);
	ck_assert_int_eq(sig, 0);
	ck_assert_int_eq(recv(fd, got, sizeof(got), MSG_DONTWAIT), 8);
	ck_assert_mem_eq(got, "+s3cret\0", 8);
}
END_TEST

START_TEST(agent_no_questions)
{
	static char sh[] = "/bin/true";
	char *argv[] = {sh, NULL};
	AgentConfig cfg;
	int sig;

	agent_config_init(&cfg);
	cfg.agent_dir = tmpdir;
	cfg.client_argv = argv;
	write_file("not-a-question", "[Ask]\n");
	ck_assert_int_eq(agent_run(&cfg, &sig), 1);
	cfg.agent_dir = "/nonexistent/agent/dir";
	ck_assert_int_eq(agent_run(&cfg, &sig), 72);
}
END_TEST

START_TEST(agent_kills_stubborn_client)
{
	/* Ignores SIGTERM; the loop keeps it from leaving an orphan for long. */
	static char sh[] = "/bin/sh", dash_c[] = "-c",
	            script[] = "trap '' TERM; while :; do sleep 0.1; done";
	char *argv[] = {sh, dash_c, script, NULL};
	AgentConfig cfg;
	uint64_t start;
	int sig;

	agent_config_init(&cfg);
	cfg.agent_dir = tmpdir;
	cfg.client_argv = argv;
	cfg.kill_timeout_usec = 300000;
	if (geteuid() != 0) {
		cfg.uid = getuid();
		cfg.gid = getgid();
	}
	start = mono_usec();
	make_question("ask.1", "nosock", start + 300000);
	ck_assert_int_eq(agent_run(&cfg, &sig), 0);
	/* NotAfter (0.3 s), then SIGTERM, ignored, SIGKILL 0.3 s later. */
	ck_assert_uint_ge(mono_usec() - start, 550000);
	ck_assert_uint_lt(mono_usec() - start, 5000000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("password-agent");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, names);
	tcase_add_test(tc, parse_good);
	tcase_add_test(tc, parse_bad);
	tcase_add_test(tc, load);
	tcase_add_test(tc, load_too_big);
	tcase_add_test(tc, answer);
	tcase_add_test(tc, client);
	tcase_add_test(tc, agent_answers);
	tcase_add_test(tc, agent_no_questions);
	tcase_add_test(tc, agent_kills_stubborn_client);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
