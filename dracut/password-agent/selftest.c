/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The built-in self-test of password-agent (--test), printing TAP. */
#include "selftest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "answer.h"
#include "client.h"
#include "io-util.h"
#include "macro.h"
#include "question.h"
#include "secmem.h"

static unsigned n_tests, n_failed;

static void check(bool ok, const char *what)
{
	n_tests++;
	if (!ok) {
		n_failed++;
	}
	printf("%sok %u - %s\n", ok ? "" : "not ", n_tests, what);
}

static int write_file(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	return fd < 0 ? negative_errno() : loop_write(fd, text, strlen(text));
}

static bool parses(const char *text, const char *socket, pid_t pid, uint64_t not_after)
{
	_cleanup_question_free_ Question *q = NULL;

	if (question_parse("ask.test", text, strlen(text), &q, NULL) < 0) {
		return false;
	}
	return strcmp(q->socket_path, socket) == 0 && q->pid == pid && q->not_after == not_after;
}

static bool rejected(const char *text)
{
	_cleanup_question_free_ Question *q = NULL;

	return question_parse("ask.test", text, strlen(text), &q, NULL) == -EBADMSG;
}

static void test_parse(void)
{
	check(parses("[Ask]\nPID=12\nSocket=/run/s\nNotAfter=99\nMessage=Disk\n", "/run/s", 12, 99),
	      "a question file is parsed");
	check(parses("# c\r\n[Ask]\r\n PID = 7 \r\nSocket=/s\r\n[Other]\r\nSocket=/x\r\n", "/s", 7,
	             0),
	      "comments, CR LF, blanks and other sections");
	check(rejected("[Ask]\nPID=12\n"), "no Socket= is rejected");
	check(rejected("[Ask]\nSocket=/s\nPID=0\n"), "PID=0 is rejected");
	check(rejected("[Ask]\nSocket=/s\nPID=1x\n"), "a malformed PID= is rejected");
	check(rejected("[Ask]\nSocket=/s\nPID=1\nNotAfter=-1\n"),
	      "a malformed NotAfter= is rejected");
	check(rejected("[Ask\nSocket=/s\nPID=1\n"), "a broken section header is rejected");
}

static void test_files(const char *dir)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char text[256], path[128];
	Question *q = NULL;
	pid_t dead;

	snprintf(text, sizeof(text), "[Ask]\nPID=%d\nSocket=%s/sock\nNotAfter=0\n", (int)getpid(),
	         dir);
	snprintf(path, sizeof(path), "%s/ask.live", dir);
	check(write_file(path, text) == 0 && question_load(dfd, "ask.live", 1, &q, NULL) == 0,
	      "a question from a live process is loaded");
	q = question_free(q);

	snprintf(text, sizeof(text), "[Ask]\nPID=%d\nSocket=/s\nNotAfter=5\n", (int)getpid());
	snprintf(path, sizeof(path), "%s/ask.old", dir);
	check(write_file(path, text) == 0 && question_load(dfd, "ask.old", 6, &q, NULL) == -ETIME,
	      "a question past its NotAfter= is refused");
	q = question_free(q);

	dead = fork();
	if (dead == 0) {
		_exit(0);
	}
	(void)waitpid(dead, NULL, 0);
	snprintf(text, sizeof(text), "[Ask]\nPID=%d\nSocket=/s\n", (int)dead);
	snprintf(path, sizeof(path), "%s/ask.dead", dir);
	check(dead > 0 && write_file(path, text) == 0 &&
	              question_load(dfd, "ask.dead", 1, &q, NULL) == -ESRCH,
	      "a question from a dead process is refused");
	q = question_free(q);
	check(question_load(dfd, "ask.none", 1, &q, NULL) == -ENOENT, "a missing file is -ENOENT");
}

static void test_answer(const char *dir)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_secbuf_ SecBuf *pw = secbuf_new(16, 16), *msg = NULL;
	_cleanup_close_ int fd = -EBADF;
	char path[sizeof(sa.sun_path)], got[32];
	ssize_t n = -1;
	int r;

	snprintf(path, sizeof(path), "%s/sock", dir);
	check(answer_send(path, pw) == -ENOENT && answer_error_is_transient(-ENOENT),
	      "a socket that does not exist yet is a transient error");

	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	r = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : -1;
	if (r == 0 && pw && secbuf_append(pw, "s3cret", 6) == 0 && answer_build(pw, &msg) == 0 &&
	    answer_send(path, msg) == 0) {
		n = recv(fd, got, sizeof(got), MSG_DONTWAIT);
	}
	check(n == 8 && memcmp(got, "+s3cret", 8) == 0, "the answer datagram is \"+s3cret\\0\"");
	check(!answer_error_is_transient(-EMSGSIZE), "EMSGSIZE is final");
	(void)unlink(path);
}

static void test_client(void)
{
	static char sh[] = "/bin/sh", c[] = "-c", script[] = "printf pw; exit 0";
	char *argv[] = {sh, c, script, NULL};
	ClientParams params = {.argv = argv, .uid = 65534, .gid = 65534, .output_max = 16};
	Client cl = CLIENT_NULL;
	int r;

	if (geteuid() != 0) {
		params.uid = getuid();
		params.gid = getgid();
	}
	r = client_start(&cl, &params);
	while (r >= 0 && !cl.eof) {
		struct pollfd p = {.fd = cl.stdout_fd, .events = POLLIN};

		r = poll(&p, 1, 5000) > 0 ? client_read(&cl) : -ETIMEDOUT;
	}
	while (r >= 0 && (r = client_reap(&cl)) == 0) {
		usleep(10000);
	}
	check(r >= 0 && client_exited_ok(&cl) && cl.output->len == 2 &&
	              memcmp(cl.output->data, "pw", 2) == 0,
	      "a client is run and its output collected");
	client_done(&cl);
}

int selftest_run(void)
{
	static const char *const leftovers[] = {"ask.live", "ask.old", "ask.dead", "sock"};
	const char *tmp = getenv("TMPDIR");
	char dir[64];

	/* Short enough for sockaddr_un; a long $TMPDIR is not used. */
	if (!tmp || !*tmp || strlen(tmp) > 32) {
		tmp = "/tmp";
	}
	snprintf(dir, sizeof(dir), "%s/password-agent-test.XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		printf("Bail out! cannot create a temporary directory: %s\n", strerror(errno));
		return 1;
	}
	test_parse();
	test_files(dir);
	test_answer(dir);
	test_client();
	printf("1..%u\n", n_tests);

	for (size_t i = 0; i < ELEMENTSOF(leftovers); i++) {
		char path[sizeof(dir) + 16];

		snprintf(path, sizeof(path), "%s/%s", dir, leftovers[i]);
		(void)unlink(path);
	}
	(void)rmdir(dir);
	return n_failed == 0 ? 0 : 1;
}
