/* SPDX-License-Identifier: GPL-3.0-or-later */
/* plymouth: a Mandos plugin asking for the passphrase through the Plymouth boot splash. */
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
#include <sys/auxv.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli-util.h"
#include "io-util.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"

#define MAX_CMDLINE ((size_t)64 * 1024)
#define MAX_ARGS 256

static const char *arg_prompt = NULL;
static const char *arg_plymouth = "/bin/plymouth";
static const char *arg_plymouthd = "/sbin/plymouthd";
static const char *arg_pid_file = NULL; /* NULL: the usual three */
static bool arg_debug = false;
static bool overridden = false; /* --plymouth, --plymouthd or --pid-file given */

static const char *const default_pid_files[] = {
        "/run/plymouth/pid",
        "/run/initramfs/plymouth.pid",
        "/dev/.initramfs/plymouth.pid",
};

/* argv words: exec wants char *const[], string literals are const. */
static char w_ask_for_password[] = "ask-for-password";
static char w_attach_to_session[] = "--attach-to-session";
static char w_mode_boot[] = "--mode=boot";
static char w_ping[] = "--ping";
static char w_plymouth[] = "plymouth";
static char w_plymouthd[] = "plymouthd";
static char w_quit[] = "quit";
static char w_show_splash[] = "show-splash";

enum {
	OPT_PROMPT = 256,
	OPT_DEBUG,
	OPT_HELP,
	OPT_USAGE,
	OPT_PLYMOUTH,
	OPT_PLYMOUTHD,
	OPT_PID_FILE,
};

static void help(void)
{
	printf("Usage: %s [OPTION...]\n"
	       "Mandos plugin %s -- ask for the passphrase through Plymouth\n"
	       "\n"
	       "      --prompt=PROMPT        Ask with PROMPT instead of the usual question\n"
	       "      --plymouth=FILE        The plymouth client program (default %s)\n"
	       "      --plymouthd=FILE       The plymouth daemon program (default %s)\n"
	       "      --pid-file=FILE        Read plymouthd's PID from FILE\n"
	       "      --debug                Explain on standard error what happens\n"
	       "  -?, --help                 Print this help and exit\n"
	       "      --usage                Print a short usage line and exit\n"
	       "  -V, --version              Print the version and exit\n"
	       "\n"
	       "Report bugs to " CLI_BUG_ADDRESS ".\n",
	       program_invocation_short_name, program_invocation_short_name, arg_plymouth,
	       arg_plymouthd);
}

static int parse_argv(int argc, char **argv)
{
	static const struct option options[] = {
	        {"prompt", required_argument, NULL, OPT_PROMPT},
	        {"plymouth", required_argument, NULL, OPT_PLYMOUTH},
	        {"plymouthd", required_argument, NULL, OPT_PLYMOUTHD},
	        {"pid-file", required_argument, NULL, OPT_PID_FILE},
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
		case OPT_PROMPT:
			arg_prompt = optarg;
			break;
		case OPT_PLYMOUTH:
			arg_plymouth = optarg;
			overridden = true;
			break;
		case OPT_PLYMOUTHD:
			arg_plymouthd = optarg;
			overridden = true;
			break;
		case OPT_PID_FILE:
			arg_pid_file = optarg;
			overridden = true;
			break;
		case OPT_DEBUG:
			arg_debug = true;
			break;
		case OPT_HELP:
			help();
			return 0;
		case OPT_USAGE:
			printf("Usage: %s [-?V] [--prompt=PROMPT] [--plymouth=FILE] "
			       "[--plymouthd=FILE]\n"
			       "            [--pid-file=FILE] [--debug] [--help] [--usage] "
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

/*
 * Start path with argv; with `daemon`, in a new session and not waited for.  The plymouth
 * programs talk to plymouthd as root, so a setuid-root plugin runs them with full root.
 * Returns the pid or -errno.
 */
static pid_t spawn(const char *path, char *const *argv, bool daemon)
{
	pid_t pid = fork();

	if (pid < 0) {
		return negative_errno();
	}
	if (pid == 0) {
		sigset_t empty;

		sigemptyset(&empty);
		(void)sigprocmask(SIG_SETMASK, &empty, NULL);
		if (geteuid() == 0) {
			(void)!setgid(0);
			(void)!setuid(0);
		}
		if (daemon) {
			int null = open("/dev/null", O_RDWR | O_CLOEXEC);

			(void)setsid();
			if (fork() != 0) {
				_exit(0);
			}
			if (null >= 0) {
				(void)dup2(null, STDIN_FILENO);
				(void)dup2(null, STDOUT_FILENO);
			}
		}
		execv(path, argv);
		_exit(EX_UNAVAILABLE);
	}
	return pid;
}

/* Run a command to completion.  Returns its wait status, or -errno. */
static int run_wait(const char *path, char *const *argv)
{
	pid_t pid = spawn(path, argv, false);
	int status;

	if (pid < 0) {
		return pid;
	}
	if (RETRY_EINTR(waitpid(pid, &status, 0)) < 0) {
		return negative_errno();
	}
	return status;
}

static bool succeeded(int status)
{
	return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static char *make_prompt(void)
{
	const char *src = getenv("cryptsource"), *name = getenv("crypttarget");
	char *p = NULL;

	if (arg_prompt) {
		return strdup(arg_prompt);
	}
	src = src && *src ? src : NULL;
	name = name && *name ? name : NULL;
	if (asprintf(&p, "Unlocking the disk%s%s%s%s%s\nEnter passphrase", src ? " " : "",
	             src ? src : "", name ? " (" : "", name ? name : "", name ? ")" : "") < 0) {
		return NULL;
	}
	return p;
}

static pid_t pid_from_file(const char *path)
{
	_cleanup_free_ char *text = NULL;
	unsigned pid;
	size_t len;

	if (read_full_file(path, 64, &text, &len) < 0) {
		return 0;
	}
	text[strcspn(text, "\n")] = '\0';
	if (parse_uint(text, (unsigned)INT32_MAX, &pid) < 0 || pid == 0) {
		return 0;
	}
	return (pid_t)pid;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The alphabetically first root-owned process running the plymouthd program. */
static pid_t pid_from_proc(void)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	_cleanup_strv_free_ char **names = NULL;
	struct dirent *de;
	size_t n = 0;
	pid_t found = 0;

	if (!d) {
		return 0;
	}
	while ((de = readdir(d))) {
		char path[300], target[4096];
		struct stat st;
		ssize_t k;

		if (de->d_name[0] < '0' || de->d_name[0] > '9') {
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%s/exe", de->d_name);
		if (lstat(path, &st) < 0 || st.st_uid != 0 || st.st_gid != 0) {
			continue;
		}
		k = readlink(path, target, sizeof(target) - 1);
		if (k < 0) {
			continue;
		}
		target[k] = '\0';
		if (strcmp(target, arg_plymouthd) != 0) {
			continue;
		}
		char **nn = reallocarray(names, n + 2, sizeof(char *));
		if (!nn) {
			return 0;
		}
		names = nn;
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			return 0;
		}
		names[++n] = NULL;
	}
	if (n > 0) {
		unsigned pid;

		qsort(names, n, sizeof(char *), cmp_str);
		if (parse_uint(names[0], (unsigned)INT32_MAX, &pid) == 0) {
			found = (pid_t)pid;
		}
	}
	return found;
}

static pid_t find_plymouthd(void)
{
	pid_t pid = 0;

	if (arg_pid_file) {
		return pid_from_file(arg_pid_file);
	}
	for (size_t i = 0; i < ELEMENTSOF(default_pid_files) && pid == 0; i++) {
		pid = pid_from_file(default_pid_files[i]);
	}
	return pid ? pid : pid_from_proc();
}

/* plymouthd's argv from /proc/PID/cmdline, or NULL. */
static char **plymouthd_argv(pid_t pid)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_strv_free_ char **v = NULL;
	char path[64];
	size_t len, n = 0;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (read_full_file(path, MAX_CMDLINE, &text, &len) < 0 || len == 0) {
		return NULL;
	}
	v = calloc(MAX_ARGS + 1, sizeof(char *));
	if (!v) {
		return NULL;
	}
	for (size_t i = 0; i < len && n < MAX_ARGS; i += strlen(text + i) + 1) {
		v[n] = strdup(text + i);
		if (!v[n++]) {
			return NULL;
		}
	}
	return TAKE_PTR(v);
}

/*
 * Plymouth cannot take back a question: stop plymouthd and start it again with the same
 * arguments, then show the splash again.
 */
static void restart_plymouthd(void)
{
	_cleanup_strv_free_ char **argv = NULL;
	pid_t pid = find_plymouthd();
	char *quit[] = {w_plymouth, w_quit, NULL};
	char *show[] = {w_plymouth, w_show_splash, NULL};
	char *fallback[] = {w_plymouthd, w_mode_boot, w_attach_to_session, NULL};

	if (pid > 0) {
		argv = plymouthd_argv(pid);
		log_debug("plymouthd is process %d", (int)pid);
	}
	(void)run_wait(arg_plymouth, quit);
	if (spawn(arg_plymouthd, argv ? argv : fallback, true) > 0) {
		/* The first child exits at once; its child is the new plymouthd. */
		(void)RETRY_EINTR(wait(NULL));
	}
	(void)run_wait(arg_plymouth, show);
}

static int run(int argc, char **argv)
{
	_cleanup_free_ char *prompt = NULL, *prompt_arg = NULL;
	_cleanup_close_ int sigfd = -EBADF, pidfd = -EBADF;
	char *ping[] = {w_plymouth, w_ping, NULL};
	sigset_t mask;
	pid_t child;
	int r, status;

	r = parse_argv(argc, argv);
	if (r <= 0) {
		return r < 0 ? EX_USAGE : 0;
	}
	/* Set-user-ID root: other programs or PID files only with the caller's own rights. */
	if (overridden && getauxval(AT_SECURE)) {
		if (setgid(getgid()) < 0 || setuid(getuid()) < 0) {
			log_error_errno(errno, "Could not drop privileges: %m");
			return EX_OSERR;
		}
	}
	if (arg_debug) {
		log_set_max_level(LOG_DEBUG);
	}
	if (access(arg_plymouth, X_OK) < 0) {
		log_debug_errno(errno, "%s: %m", arg_plymouth);
		return EX_UNAVAILABLE;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (sigfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
		log_error_errno(errno, "signalfd: %m");
		return EX_OSERR;
	}
	if (!succeeded(run_wait(arg_plymouth, ping))) {
		log_debug("Plymouth is not running");
		return EX_UNAVAILABLE;
	}
	prompt = make_prompt();
	if (!prompt || asprintf(&prompt_arg, "--prompt=%s", prompt) < 0) {
		prompt_arg = NULL;
		log_oom();
		return EX_OSERR;
	}
	char *ask[] = {w_plymouth, w_ask_for_password, prompt_arg, NULL};
	/* plymouth writes the password straight to our stdout, plugin-runner's pipe. */
	child = spawn(arg_plymouth, ask, false);
	if (child < 0) {
		log_error_errno(child, "fork: %m");
		return EX_OSERR;
	}
	pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	for (;;) {
		struct pollfd p[2] = {{.fd = sigfd, .events = POLLIN},
		                      {.fd = pidfd, .events = POLLIN}};
		pid_t w = waitpid(child, &status, WNOHANG);

		if (w == child) {
			break;
		}
		if (w < 0 && errno != EINTR) {
			log_error_errno(errno, "waitpid: %m");
			return EX_OSERR;
		}
		/* Wake up for a signal or when the child exits (pidfd; without one, poll). */
		if (RETRY_EINTR(poll(p, 2, pidfd >= 0 ? -1 : 100)) > 0 && p[0].revents) {
			struct signalfd_siginfo si;

			if (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				log_debug("Interrupted by signal %u; restarting plymouthd",
				          si.ssi_signo);
				(void)kill(child, SIGTERM);
				(void)RETRY_EINTR(waitpid(child, NULL, 0));
				restart_plymouthd();
				return EXIT_FAILURE;
			}
		}
	}
	if (!succeeded(status)) {
		log_debug("plymouth ask-for-password failed");
		return EX_UNAVAILABLE;
	}
	return 0;
}

int main(int argc, char **argv)
{
	log_open("Mandos plugin plymouth: ", "plymouth", LOG_TARGET_STDERR, 0);
	log_set_max_level(LOG_INFO);
	return run(argc, argv);
}
