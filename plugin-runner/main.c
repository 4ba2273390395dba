/* SPDX-License-Identifier: GPL-3.0-or-later */
/* plugin-runner: run every password plugin at once and print the first password one gives. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "loop.h"
#include "runner.h"

#include "io-util.h"
#include "log.h"
#include "macro.h"
#include "secmem.h"
#include "signal-util.h"

/* Read the configuration file's words and parse them.  Returns 0 or an exit code. */
static int read_config(RunnerConfig *c, const char *path)
{
	_cleanup_strv_free_ char **words = NULL;
	_cleanup_free_ char **argv = NULL;
	size_t n;
	int r;

	r = conf_read_file(path, &words, &n);
	if (r == -ENOENT) {
		return 0;
	}
	if (r < 0) {
		log_error_errno(r, "Could not read the configuration file %s: %m", path);
		return EX_CONFIG;
	}
	argv = calloc(n + 2, sizeof(char *));
	if (!argv) {
		log_oom();
		return EX_OSERR;
	}
	argv[0] = program_invocation_short_name;
	memcpy(argv + 1, words, n * sizeof(char *));
	r = runner_parse(c, (int)n + 1, argv, RUNNER_SOURCE_CONFIG);
	if (r < 0) {
		log_error("Error in the configuration file %s", path);
		return EX_CONFIG;
	}
	return 0;
}

/* Root only: the kernel passes scripts run from an fd as /dev/fd/N (Debian #981302). */
static void ensure_dev_fd(void)
{
	struct stat st;

	if (lstat("/dev/fd", &st) < 0 && errno == ENOENT &&
	    symlink("/proc/self/fd", "/dev/fd") < 0) {
		log_debug_errno(errno, "Could not create /dev/fd: %m");
	}
}

/* Become the plugin user.  Failures are reported and otherwise ignored, as upstream. */
static void drop_privileges(uid_t uid, gid_t gid)
{
	if (getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid) {
		return;
	}
	if (geteuid() == 0 && setgroups(0, NULL) < 0) {
		log_warning_errno(errno, "setgroups: %m");
	}
	if (setgid(gid) < 0) {
		log_warning_errno(errno, "setgid: %m");
	}
	if (setuid(uid) < 0) {
		log_warning_errno(errno, "setuid: %m");
	}
}

static int write_password(const SecBuf *b)
{
	int r = loop_write(STDOUT_FILENO, b->data, b->len);

	if (r < 0) {
		log_error_errno(r, "Failed to write the password: %m");
		return EX_IOERR;
	}
	/* Whoever reads the password sees end of file now, not when the other plugins stop. */
	if (close(STDOUT_FILENO) < 0 && errno != EINTR) {
		log_error_errno(errno, "Failed to write the password: %m");
		return EX_IOERR;
	}
	return 0;
}

/* Ask on the console.  Returns the exit code. */
static int fallback(int exit_code)
{
	_cleanup_secbuf_ SecBuf *pw = NULL;
	int r, sig = 0;

	fprintf(stderr, "Going to fallback mode using getpass(3)\n");
	r = runner_getpass(&pw, &sig);
	if (r == -EINTR) {
		die_by_signal(sig);
	}
	if (r < 0) {
		if (r != -ENODATA) {
			log_error_errno(r, "Could not read a password: %m");
		}
		return exit_code ? exit_code : EX_UNAVAILABLE;
	}
	r = write_password(pw);
	return exit_code ? exit_code : r;
}

static int run(int argc, char **argv)
{
	RunnerConfig c;
	_cleanup_close_ int dir_fd = -EBADF;
	_cleanup_loop_ Loop *loop = NULL;
	_cleanup_secbuf_ SecBuf *out = NULL;
	RunnerCandidate *cand = NULL;
	LoopPlugin *plugins = NULL;
	LoopParams params = loop_params_default();
	const char *path;
	size_t n_cand = 0;
	int r, sig = 0, exit_code = 0;
	bool drop;

	r = runner_config_init(&c);
	if (r < 0) {
		log_oom();
		return fallback(EX_OSERR);
	}
	path = runner_find_config_file(argc, argv);
	exit_code = read_config(&c, path ? path : c.config_file);
	if (exit_code == 0 && runner_parse(&c, argc, argv, RUNNER_SOURCE_CLI) < 0) {
		exit_code = EX_USAGE;
	}
	if (exit_code == 0 && (c.help || c.usage || c.version)) {
		if (c.help) {
			runner_print_help();
		} else if (c.usage) {
			runner_print_usage();
		} else {
			runner_print_version();
		}
		runner_config_done(&c);
		return fflush(stdout) == 0 ? 0 : EX_IOERR;
	}
	if (exit_code != 0) {
		goto out;
	}
	log_set_max_level(c.debug ? LOG_DEBUG : LOG_INFO);
	if (c.debug) {
		runner_dump_config(&c);
	}

	(void)secmem_harden_process();
	drop = geteuid() == 0;
	if (drop) {
		/* While still root: let the unprivileged plugins mlock their secrets. */
		struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};

		if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0 && getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
			/* No CAP_SYS_RESOURCE (a container): the hard limit is what we get. */
			rl.rlim_cur = rl.rlim_max;
			if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0) {
				log_debug_errno(errno, "Could not raise RLIMIT_MEMLOCK: %m");
			}
		}
		ensure_dev_fd();
	}
	/* Opened before the privilege drop, so a root-only plugin directory works too. */
	dir_fd = open(c.plugin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0) {
		log_error_errno(errno, "Could not open plugin dir %s: %m", c.plugin_dir);
		drop_privileges(c.uid, c.gid);
		exit_code = EX_UNAVAILABLE;
		goto out;
	}
	r = runner_scan_dir(&c, dir_fd, drop, c.uid, c.gid, &cand, &n_cand);
	drop_privileges(c.uid, c.gid);
	if (r < 0) {
		log_error_errno(r, "Could not read plugin dir %s: %m", c.plugin_dir);
		exit_code = EX_OSERR;
		goto out;
	}

	plugins = calloc(n_cand ? n_cand : 1, sizeof(LoopPlugin));
	if (!plugins) {
		exit_code = EX_OSERR;
		goto out;
	}
	for (size_t i = 0; i < n_cand; i++) {
		plugins[i].exec_fd = TAKE_FD(cand[i].fd);
		plugins[i].name = TAKE_PTR(cand[i].name);
		plugins[i].argv = runner_plugin_argv(&c, plugins[i].name);
		plugins[i].envp = runner_plugin_envp(&c, plugins[i].name, environ);
		if (!plugins[i].argv || !plugins[i].envp) {
			log_oom();
			exit_code = EX_OSERR;
		}
	}
	if (exit_code == 0) {
		r = loop_new(plugins, n_cand, &params, &loop);
		if (r < 0) {
			log_error_errno(r, "Could not set up the event loop: %m");
			exit_code = EX_OSERR;
		}
	}
	/* loop_new() took what it was given; free whatever is left (after a failure). */
	for (size_t i = 0; i < n_cand; i++) {
		safe_close(plugins[i].exec_fd);
		free(plugins[i].name);
		strv_free(plugins[i].argv);
		strv_free(plugins[i].envp);
	}
	free(plugins);
	if (exit_code != 0) {
		goto out;
	}

	r = loop_run(loop, &out, &sig);
	if (r == 0) {
		exit_code = write_password(out);
		out = secbuf_free(out);
		(void)loop_stop(loop, SIGTERM, &sig);
		runner_candidates_free(cand, n_cand);
		runner_config_done(&c);
		return exit_code;
	}
	if (r == -EINTR) {
		int again;

		(void)loop_stop(loop, sig, &again);
		loop = loop_free(loop);
		runner_candidates_free(cand, n_cand);
		runner_config_done(&c);
		die_by_signal(sig);
	}
	if (r == -ENOENT) {
		if (loop_started(loop) == 0) {
			log_error("No plugin processes started. Incorrect plugin directory?");
		}
	} else {
		exit_code = EX_OSERR;
	}
	(void)loop_stop(loop, SIGTERM, &sig);

out:
	loop = loop_free(loop);
	runner_candidates_free(cand, n_cand);
	runner_config_done(&c);
	return fallback(exit_code);
}

int main(int argc, char **argv)
{
	(void)fd_ensure_stdio();
	log_open("plugin-runner: ", "plugin-runner", LOG_TARGET_STDERR, 0);
	(void)signal(SIGPIPE, SIG_IGN);
	if (secmem_init() < 0) {
		log_error("Could not initialise libsodium");
	}
	return run(argc, argv);
}
