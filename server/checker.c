/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Checker commands: runtime %(name)s expansion with shell quoting, and /bin/sh process groups. */
#include "checker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "format.h"
#include "log.h"

extern char **environ;

#define CHECKER_KILL_DELAY_USEC (5 * 1000000ULL)

int checker_expand(const char *command, checker_lookup_t lookup, void *userdata, char **ret,
                   char **ret_bad_name)
{
	_cleanup_free_ char *out = NULL;
	size_t len = 0, cap = 0;
	const char *p = command;
	int r;

	r = strbuf_add(&out, &len, &cap, "", 0);
	while (r >= 0 && *p) {
		const char *pct = strchr(p, '%');

		if (!pct) {
			r = strbuf_add(&out, &len, &cap, p, strlen(p));
			break;
		}
		r = strbuf_add(&out, &len, &cap, p, (size_t)(pct - p));
		if (r < 0) {
			break;
		}
		if (pct[1] == '%') {
			r = strbuf_add(&out, &len, &cap, "%", 1);
			p = pct + 2;
			continue;
		}
		if (pct[1] != '(') {
			return -EINVAL;
		}
		{
			const char *close = strchr(pct + 2, ')');
			_cleanup_free_ char *name = NULL, *value = NULL, *quoted = NULL;

			if (!close || close[1] != 's') {
				return -EINVAL;
			}
			name = strndup(pct + 2, (size_t)(close - pct - 2));
			if (!name) {
				return -ENOMEM;
			}
			errno = 0;
			value = lookup(name, userdata);
			if (!value) {
				if (errno == ENOENT) {
					if (ret_bad_name) {
						*ret_bad_name = TAKE_PTR(name);
					}
					return -ENOENT;
				}
				return -ENOMEM;
			}
			quoted = shell_quote(value);
			if (!quoted) {
				return -ENOMEM;
			}
			r = strbuf_add(&out, &len, &cap, quoted, strlen(quoted));
			p = close + 2;
		}
	}
	if (r < 0) {
		return r;
	}
	*ret = TAKE_PTR(out);
	return 0;
}

struct Checker {
	char *command;
	pid_t pid;
	sd_event_source *child;
	sd_event_source *kill_timer;
	checker_done_t done;
	void *userdata;
	Checker *prev, *next; /* in the list of stopped checkers */
	bool stopped;
};

/* Stopped checkers still waiting to be reaped; freed by checker_forget_stopped(). */
static Checker *stopped_checkers;

static Checker *checker_free(Checker *ch)
{
	if (!ch) {
		return NULL;
	}
	if (ch->stopped) {
		if (ch->prev) {
			ch->prev->next = ch->next;
		} else {
			stopped_checkers = ch->next;
		}
		if (ch->next) {
			ch->next->prev = ch->prev;
		}
	}
	sd_event_source_disable_unref(ch->child);
	sd_event_source_disable_unref(ch->kill_timer);
	free(ch->command);
	free(ch);
	return NULL;
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata)
{
	Checker *ch = userdata;
	int exitcode = -1, sig = 0;
	int64_t status;

	if (si->si_code == CLD_EXITED) {
		exitcode = si->si_status;
		status = (int64_t)si->si_status << 8;
	} else {
		sig = si->si_status;
		status = sig;
	}
	if (ch->done) {
		ch->done(ch, exitcode, sig, status, ch->userdata);
	}
	checker_free(ch);
	return 0;
}

int checker_spawn(sd_event *e, const char *command, bool output_to_null, checker_done_t done,
                  void *userdata, Checker **ret)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	Checker *ch;
	static char sh[] = "/bin/sh", dash_c[] = "-c";
	char *argv[] = {sh, dash_c, NULL, NULL};
	int r;

	ch = calloc(1, sizeof(*ch));
	if (!ch) {
		return -ENOMEM;
	}
	ch->command = strdup(command);
	if (!ch->command) {
		free(ch);
		return -ENOMEM;
	}
	argv[2] = ch->command;
	/* The server's environment, less what would let a checker speak for the server to
	 * systemd (NOTIFY_SOCKET, WATCHDOG_*) or claim its sockets (LISTEN_*).  On out of memory
	 * env is NULL and the environment passes unfiltered: not worth failing a checker. */
	size_t n_env = 0;
	for (char **e_ = environ; *e_; e_++) {
		n_env++;
	}
	char **env = calloc(n_env + 1, sizeof(char *));
	if (env) {
		size_t k = 0;
		for (char **e_ = environ; *e_; e_++) {
			if (strncmp(*e_, "NOTIFY_SOCKET=", 14) != 0 &&
			    strncmp(*e_, "WATCHDOG_", 9) != 0 && strncmp(*e_, "LISTEN_", 7) != 0) {
				env[k++] = *e_;
			}
		}
	}
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	                                        POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (output_to_null) {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
	}
	posix_spawn_file_actions_addchdir_np(&fa, "/");
	r = posix_spawn(&ch->pid, "/bin/sh", &fa, &attr, argv, env ? env : environ);
	free(env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r != 0) {
		checker_free(ch);
		return -r;
	}
	r = sd_event_add_child(e, &ch->child, ch->pid, WEXITED, on_child, ch);
	if (r < 0) {
		kill(-ch->pid, SIGKILL);
		(void)waitpid(ch->pid, NULL, 0);
		checker_free(ch);
		return r;
	}
	ch->done = done;
	ch->userdata = userdata;
	*ret = ch;
	return 0;
}

static int on_kill_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Checker *ch = userdata;

	(void)kill(-ch->pid, SIGKILL);
	return 0;
}

void checker_stop(Checker *ch)
{
	if (!ch) {
		return;
	}
	ch->done = NULL;
	ch->stopped = true;
	ch->next = stopped_checkers;
	if (ch->next) {
		ch->next->prev = ch;
	}
	stopped_checkers = ch;
	(void)kill(-ch->pid, SIGTERM);
	(void)kill(-ch->pid, SIGCONT);
	(void)sd_event_add_time_relative(sd_event_source_get_event(ch->child), &ch->kill_timer,
	                                 CLOCK_MONOTONIC, CHECKER_KILL_DELAY_USEC, 0, on_kill_timer,
	                                 ch);
}

const char *checker_command(const Checker *ch)
{
	return ch->command;
}

int checker_pid(const Checker *ch)
{
	return ch->pid;
}

void checker_forget_stopped(void)
{
	while (stopped_checkers) {
		checker_free(stopped_checkers);
	}
}
