/* SPDX-License-Identifier: GPL-3.0-or-later */
/* password-prompt: a Mandos plugin asking for the passphrase on the console, echo off. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "cli-util.h"
#include "io-util.h"
#include "log.h"
#include "macro.h"
#include "secmem.h"
#include "signal-util.h"

#define PLYMOUTH_PID_FILE "/run/plymouth/pid"
/* A typed passphrase longer than this is refused. */
#define MAX_PASSPHRASE ((size_t)64 * 1024)

static const char *arg_prefix = NULL;
static const char *arg_prompt = NULL;
static const char *arg_plymouth_pid_file = PLYMOUTH_PID_FILE;
static bool arg_debug = false;

enum {
	OPT_PROMPT = 256,
	OPT_DEBUG,
	OPT_USAGE,
	OPT_HELP,
	OPT_PLYMOUTH_PID_FILE,
};

static void help(void)
{
	printf("Usage: %s [OPTION...]\n"
	       "Mandos plugin %s -- ask for the passphrase on the console\n"
	       "\n"
	       "      --prompt=PROMPT        Ask with PROMPT instead of the usual question\n"
	       "  -p, --prefix=PREFIX        Print PREFIX before the prompt\n"
	       "      --plymouth-pid-file=FILE\n"
	       "                             Plymouth runs when FILE is readable\n"
	       "      --debug                Explain on standard error what happens\n"
	       "  -?, --help                 Print this help and exit\n"
	       "      --usage                Print a short usage line and exit\n"
	       "  -V, --version              Print the version and exit\n"
	       "\n"
	       "Mandatory arguments to long options are also mandatory for the short ones.\n"
	       "\n"
	       "Report bugs to " CLI_BUG_ADDRESS ".\n",
	       program_invocation_short_name, program_invocation_short_name);
}

static int parse_argv(int argc, char **argv)
{
	static const struct option options[] = {
	        {"prompt", required_argument, NULL, OPT_PROMPT},
	        {"prefix", required_argument, NULL, 'p'},
	        {"plymouth-pid-file", required_argument, NULL, OPT_PLYMOUTH_PID_FILE},
	        {"debug", no_argument, NULL, OPT_DEBUG},
	        {"help", no_argument, NULL, OPT_HELP},
	        {"usage", no_argument, NULL, OPT_USAGE},
	        {"version", no_argument, NULL, 'V'},
	        {},
	};
	int c;

	for (;;) {
		c = getopt_long(argc, argv, "p:V?", options, NULL);
		if (c < 0) {
			break;
		}
		switch (c) {
		case OPT_PROMPT:
			arg_prompt = optarg;
			break;
		case 'p':
			arg_prefix = optarg;
			break;
		case OPT_PLYMOUTH_PID_FILE:
			arg_plymouth_pid_file = optarg;
			break;
		case OPT_DEBUG:
			arg_debug = true;
			break;
		case OPT_HELP:
			help();
			return 0;
		case OPT_USAGE:
			printf("Usage: %s [-?V] [-p PREFIX] [--prompt=PROMPT] [--prefix=PREFIX]\n"
			       "            [--plymouth-pid-file=FILE] [--debug] [--help] "
			       "[--usage]\n"
			       "            [--version]\n",
			       program_invocation_short_name);
			return 0;
		case 'V':
			cli_print_version();
			return 0;
		case '?':
			if (optind > 0 && strcmp(argv[optind - 1], "-?") == 0) {
				help();
				return 0;
			}
			__attribute__((fallthrough));
		default:
			return cli_usage_error();
		}
	}
	if (cli_no_arguments(argc, optind) < 0) {
		return -EINVAL;
	}
	return 1;
}

/* Whether a process whose argv[0] has the basename "plymouthd" runs. */
static bool plymouthd_in_proc(void)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d) {
		return false;
	}
	while ((de = readdir(d))) {
		char path[300], buf[256];
		_cleanup_close_ int fd = -EBADF;
		ssize_t n;

		if (de->d_name[0] < '0' || de->d_name[0] > '9') {
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			continue;
		}
		n = read(fd, buf, sizeof(buf) - 1);
		if (n <= 0) {
			continue;
		}
		buf[n] = '\0';
		const char *base = strrchr(buf, '/');
		if (strcmp(base ? base + 1 : buf, "plymouthd") == 0) {
			log_debug("plymouthd runs as process %s", de->d_name);
			return true;
		}
	}
	return false;
}

static bool plymouth_runs(void)
{
	if (access(arg_plymouth_pid_file, R_OK) == 0) {
		log_debug("%s is readable", arg_plymouth_pid_file);
		return true;
	}
	return plymouthd_in_proc();
}

/* The question, as cryptsetup's askpass words it. */
static char *make_prompt(void)
{
	const char *src = getenv("CRYPTTAB_SOURCE"), *name = getenv("CRYPTTAB_NAME");
	char *p = NULL;
	int r;

	if (!src || !*src) {
		src = getenv("cryptsource");
	}
	if (!name || !*name) {
		name = getenv("crypttarget");
	}
	src = src && *src ? src : NULL;
	name = name && *name ? name : NULL;
	const char *pre = arg_prefix ? arg_prefix : "", *sp = arg_prefix ? " " : "";
	if (arg_prompt) {
		r = asprintf(&p, "%s%s%s: ", pre, sp, arg_prompt);
	} else if (!src && !name) {
		r = asprintf(&p, "%s%sEnter passphrase to unlock the disk: ", pre, sp);
	} else {
		r = asprintf(&p, "%s%sUnlocking the disk%s%s%s%s%s\nEnter passphrase: ", pre, sp,
		             src ? " " : "", src ? src : "", name ? " (" : "", name ? name : "",
		             name ? ")" : "");
	}
	return r < 0 ? NULL : p;
}

/*
 * Read one line from the terminal into b (without the newline).  Returns 0, a positive
 * signal number when interrupted, or -errno.
 */
static int read_line(int sigfd, const char *prompt, SecBuf *b)
{
	(void)loop_write(STDERR_FILENO, prompt, strlen(prompt));
	for (;;) {
		struct pollfd p[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
		                      {.fd = sigfd, .events = POLLIN}};
		unsigned char chunk[512];
		ssize_t n;
		int r;

		if (RETRY_EINTR(poll(p, 2, -1)) < 0) {
			return negative_errno();
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;

			if (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				return (int)si.ssi_signo;
			}
			continue;
		}
		n = RETRY_EINTR(read(STDIN_FILENO, chunk, sizeof(chunk)));
		if (n < 0) {
			return negative_errno();
		}
		if (n == 0) {
			if (b->len == 0) {
				/* Ctrl-D on an empty line: ask again. */
				(void)loop_write(STDERR_FILENO, "\n", 1);
				(void)loop_write(STDERR_FILENO, prompt, strlen(prompt));
			}
			continue;
		}
		unsigned char *nl = memchr(chunk, '\n', (size_t)n);
		r = secbuf_append(b, chunk, nl ? (size_t)(nl - chunk) : (size_t)n);
		secmem_wipe(chunk, sizeof(chunk));
		if (r < 0) {
			return r;
		}
		if (nl) {
			return 0;
		}
	}
}

static int run(int argc, char **argv)
{
	_cleanup_secbuf_ SecBuf *pw = NULL;
	_cleanup_free_ char *prompt = NULL;
	_cleanup_close_ int sigfd = -EBADF;
	struct termios saved, quiet;
	sigset_t mask;
	int r;

	r = parse_argv(argc, argv);
	if (r <= 0) {
		return r < 0 ? EX_USAGE : 0;
	}
	if (arg_debug) {
		log_set_max_level(LOG_DEBUG);
	}
	(void)secmem_harden_process();
	if (plymouth_runs()) {
		log_debug("Plymouth asks instead; exiting");
		return EXIT_FAILURE;
	}
	prompt = make_prompt();
	pw = secbuf_new(128, MAX_PASSPHRASE);
	if (!prompt || !pw) {
		log_oom();
		return EX_OSERR;
	}
	if (tcgetattr(STDIN_FILENO, &saved) < 0) {
		log_error_errno(errno, "tcgetattr: %m");
		return EX_UNAVAILABLE;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		log_error_errno(errno, "signalfd: %m");
		return EX_OSERR;
	}
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	if (RETRY_EINTR(tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)) < 0) {
		log_error_errno(errno, "tcsetattr: %m");
		return EX_OSERR;
	}
	r = read_line(sigfd, prompt, pw);
	(void)RETRY_EINTR(tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved));
	if (r > 0) {
		log_debug("Interrupted by signal %d", r);
		pw = secbuf_free(pw);
		die_by_signal(r);
	}
	if (r < 0) {
		log_error_errno(r, "Could not read the passphrase: %m");
		return r == -EFBIG ? EX_DATAERR : EX_IOERR;
	}
	r = loop_write(STDOUT_FILENO, pw->data, pw->len);
	if (r < 0 || close(STDOUT_FILENO) < 0) {
		log_error_errno(r < 0 ? r : errno, "Could not write the passphrase: %m");
		return EX_IOERR;
	}
	(void)loop_write(STDERR_FILENO, "\n", 1);
	return 0;
}

int main(int argc, char **argv)
{
	log_open("Mandos plugin password-prompt: ", "password-prompt", LOG_TARGET_STDERR, 0);
	log_set_max_level(LOG_INFO);
	if (secmem_init() < 0) {
		return EX_OSERR;
	}
	return run(argc, argv);
}
