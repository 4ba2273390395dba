/* SPDX-License-Identifier: GPL-3.0-or-later */
/* askpass-fifo: a Mandos plugin passing on what is written into cryptsetup's askpass FIFO. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli-util.h"
#include "io-util.h"
#include "log.h"
#include "macro.h"
#include "secmem.h"
#include "signal-util.h"

#define DEFAULT_FIFO "/lib/cryptsetup/passfifo"
/* What the FIFO may carry: cryptsetup's own limit for a key file. */
#define MAX_FIFO_INPUT ((size_t)8 * 1024 * 1024)

static const char default_fifo[] = DEFAULT_FIFO;
static const char *arg_fifo = default_fifo;
static bool arg_debug = false;

enum {
	OPT_FIFO = 256,
	OPT_DEBUG,
	OPT_HELP,
	OPT_USAGE,
};

static void help(void)
{
	printf("Usage: %s [OPTION...]\n"
	       "Mandos plugin %s -- pass on what is written into cryptsetup's FIFO\n"
	       "\n"
	       "      --fifo=FILE            Read from the FIFO FILE (default %s)\n"
	       "      --debug                Explain on standard error what happens\n"
	       "  -?, --help                 Print this help and exit\n"
	       "      --usage                Print a short usage line and exit\n"
	       "  -V, --version              Print the version and exit\n"
	       "\n"
	       "Report bugs to " CLI_BUG_ADDRESS ".\n",
	       program_invocation_short_name, program_invocation_short_name, DEFAULT_FIFO);
}

static int parse_argv(int argc, char **argv)
{
	static const struct option options[] = {
	        {"fifo", required_argument, NULL, OPT_FIFO},
	        {"debug", no_argument, NULL, OPT_DEBUG},
	        {"help", no_argument, NULL, OPT_HELP},
	        {"usage", no_argument, NULL, OPT_USAGE},
	        {"version", no_argument, NULL, 'V'},
	        {},
	};
	int c;

	for (;;) {
		c = getopt_long(argc, argv, "V?", options, NULL);
		if (c < 0) {
			break;
		}
		switch (c) {
		case OPT_FIFO:
			arg_fifo = optarg;
			break;
		case OPT_DEBUG:
			arg_debug = true;
			break;
		case OPT_HELP:
			help();
			return 0;
		case OPT_USAGE:
			printf("Usage: %s [-?V] [--fifo=FILE] [--debug] [--help] [--usage] "
			       "[--version]\n",
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

static int exit_code_for(int err)
{
	switch (-abs(err)) {
	case -ENOENT:
		return EX_UNAVAILABLE;
	case -EACCES:
	case -ENOTDIR:
	case -ELOOP:
		return EX_OSFILE;
	default:
		return EX_OSERR;
	}
}

/* Become the invoking user again (the plugin is installed setuid root). */
static void drop_privileges(void)
{
	if (getegid() != getgid() && setgid(getgid()) < 0) {
		log_warning_errno(errno, "setgid: %m");
	}
	if (geteuid() != getuid() && setuid(getuid()) < 0) {
		log_warning_errno(errno, "setuid: %m");
	}
}

/*
 * Read the FIFO until every writer has closed it.  Returns 0, a positive signal number when
 * interrupted, or -errno.
 */
static int read_fifo(int fd, int sigfd, SecBuf *b)
{
	bool seen_writer = false;

	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
		                      {.fd = sigfd, .events = POLLIN}};
		ssize_t n;

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
		if (!p[0].revents) {
			continue;
		}
		/* Linux reports a FIFO readable only once a writer has opened it. */
		seen_writer = true;
		n = secbuf_read_once(b, fd);
		if (n == -EAGAIN) {
			continue;
		}
		if (n < 0) {
			return (int)n;
		}
		if (n == 0 && seen_writer) {
			return 0;
		}
	}
}

static int run(int argc, char **argv)
{
	_cleanup_secbuf_ SecBuf *b = NULL;
	_cleanup_close_ int fd = -EBADF, sigfd = -EBADF;
	bool created = false;
	sigset_t mask;
	int r;

	r = parse_argv(argc, argv);
	if (r <= 0) {
		return r < 0 ? EX_USAGE : 0;
	}
	/* Set-user-ID root: another FIFO path is used only with the caller's own rights. */
	if (arg_fifo != default_fifo && getauxval(AT_SECURE)) {
		drop_privileges();
	}
	if (arg_debug) {
		log_set_max_level(LOG_DEBUG);
	}
	(void)secmem_harden_process();
	b = secbuf_new(256, MAX_FIFO_INPUT);
	if (!b) {
		log_oom();
		return EX_OSERR;
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

	if (mkfifo(arg_fifo, 0600) == 0) {
		created = true;
		log_debug("Created the FIFO %s", arg_fifo);
	} else if (errno != EEXIST) {
		r = -errno;
		log_error_errno(r, "mkfifo %s: %m", arg_fifo);
		return exit_code_for(r);
	}
	/* Non-blocking, so that a signal can end the wait for a writer. */
	fd = open(arg_fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		log_error_errno(r, "open %s: %m", arg_fifo);
		if (created) {
			(void)unlink(arg_fifo);
		}
		return exit_code_for(r);
	}
	drop_privileges();

	r = read_fifo(fd, sigfd, b);
	/* Upstream leaves the FIFO behind; ours goes away with us when we made it. */
	if (created && unlink(arg_fifo) < 0) {
		log_debug_errno(errno, "unlink %s: %m", arg_fifo);
	}
	if (r > 0) {
		log_debug("Interrupted by signal %d", r);
		b = secbuf_free(b);
		die_by_signal(r);
	}
	if (r < 0) {
		log_error_errno(r, "Reading %s: %m", arg_fifo);
		return r == -EFBIG ? EX_DATAERR : EX_IOERR;
	}
	r = loop_write(STDOUT_FILENO, b->data, b->len);
	if (r < 0 || close(STDOUT_FILENO) < 0) {
		log_error_errno(r < 0 ? r : errno, "Writing the password: %m");
		return EX_IOERR;
	}
	return 0;
}

int main(int argc, char **argv)
{
	log_open("Mandos plugin askpass-fifo: ", "askpass-fifo", LOG_TARGET_STDERR, 0);
	log_set_max_level(LOG_INFO);
	if (secmem_init() < 0) {
		return EX_OSERR;
	}
	return run(argc, argv);
}
