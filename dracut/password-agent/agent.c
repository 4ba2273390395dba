/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The password agent: one epoll loop over inotify, a signalfd, the client's pipe and pidfd. */
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "client.h"
#include "log.h"
#include "macro.h"
#include "question.h"
#include "secmem.h"

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)

enum {
	EV_INOTIFY = 1,
	EV_SIGNAL,
	EV_CLIENT_OUT,
	EV_CLIENT_PIDFD,
};

typedef struct Agent {
	const AgentConfig *cfg;
	int dir_fd;
	int inotify_fd;
	int signal_fd;
	int epoll_fd;
	sigset_t old_mask;
	bool mask_set;

	Question **questions;
	size_t n_questions;

	Client client;
	SecBuf *answer; /* "+PASSWORD\0", once the client has succeeded */

	bool stopping;    /* finishing: stop the client, then return exit_code */
	int stop_signal;  /* the signal that made us stop, or 0 */
	bool term_sent;   /* SIGTERM sent to the client */
	bool kill_sent;   /* SIGKILL sent to the client */
	uint64_t kill_at; /* when SIGTERM turns into SIGKILL */
	int exit_code;
} Agent;

void agent_config_init(AgentConfig *cfg)
{
	*cfg = (AgentConfig){
	        .agent_dir = AGENT_DEFAULT_DIRECTORY,
	        .helper_dir = AGENT_DEFAULT_HELPER_DIRECTORY,
	        .uid = AGENT_DEFAULT_ID,
	        .gid = AGENT_DEFAULT_ID,
	        .password_max = AGENT_PASSWORD_MAX,
	        .retry_usec = 250 * USEC_PER_MSEC,
	        .kill_timeout_usec = 5 * USEC_PER_SEC,
	};
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

static ssize_t agent_find(const Agent *a, const char *name)
{
	for (size_t i = 0; i < a->n_questions; i++) {
		if (strcmp(a->questions[i]->name, name) == 0) {
			return (ssize_t)i;
		}
	}
	return -1;
}

static void agent_remove_at(Agent *a, size_t i)
{
	question_free(a->questions[i]);
	memmove(a->questions + i, a->questions + i + 1,
	        (a->n_questions - i - 1) * sizeof(a->questions[0]));
	a->n_questions--;
}

static void agent_remove_all(Agent *a)
{
	while (a->n_questions > 0) {
		agent_remove_at(a, a->n_questions - 1);
	}
}

/* Take a question, replacing one with the same file name (a rewritten file). */
static int agent_add(Agent *a, Question *q)
{
	ssize_t i = agent_find(a, q->name);
	Question **n;

	if (i >= 0) {
		question_free(a->questions[i]);
		a->questions[i] = q;
		return 0;
	}
	n = reallocarray(a->questions, a->n_questions + 1, sizeof(a->questions[0]));
	if (!n) {
		question_free(q);
		return log_oom();
	}
	a->questions = n;
	a->questions[a->n_questions++] = q;
	return 0;
}

/* Read one question file; unusable ones are logged and skipped.  Fails only for -ENOMEM. */
static int agent_load(Agent *a, const char *name)
{
	const char *reason = "unknown reason";
	Question *q = NULL;
	int r;

	r = question_load(a->dir_fd, name, now_usec(), &q, &reason);
	switch (r) {
	case 0:
		log_debug("Question %s: socket %s, PID %d, NotAfter %" PRIu64, q->name,
		          q->socket_path, (int)q->pid, q->not_after);
		return agent_add(a, q);
	case -ENOENT:
		/* Withdrawn before we got to it. */
		return 0;
	case -EBADMSG:
	case -ESRCH:
	case -ETIME:
		log_warning("Ignoring question file %s/%s: %s", a->cfg->agent_dir, name, reason);
		return 0;
	case -ENOMEM:
		return log_oom();
	default:
		log_warning_errno(r, "Ignoring question file %s/%s: %m", a->cfg->agent_dir, name);
		return 0;
	}
}

static void agent_cancel(Agent *a, const char *name, const char *why)
{
	ssize_t i = agent_find(a, name);

	if (i >= 0) {
		log_info("Question %s %s", name, why);
		agent_remove_at(a, (size_t)i);
	}
}

static int filter_ask(const struct dirent *de)
{
	return question_name_is_ask(de->d_name);
}

/*
 * Read the directory: drop questions whose file is gone, load the files not known yet.
 * *ret_files is the number of ask.* entries seen.
 */
static int agent_scan(Agent *a, size_t *ret_files)
{
	struct dirent **list = NULL;
	int n, r = 0;

	for (size_t i = a->n_questions; i > 0; i--) {
		if (faccessat(a->dir_fd, a->questions[i - 1]->name, F_OK, AT_SYMLINK_NOFOLLOW) <
		            0 &&
		    errno == ENOENT) {
			agent_cancel(a, a->questions[i - 1]->name, "was withdrawn");
		}
	}

	n = scandirat(a->dir_fd, ".", &list, filter_ask, alphasort);
	if (n < 0) {
		return log_error_errno(errno, "Failed to read the directory %s: %m",
		                       a->cfg->agent_dir);
	}
	for (int i = 0; i < n; i++) {
		if (r >= 0 && agent_find(a, list[i]->d_name) < 0) {
			r = agent_load(a, list[i]->d_name);
		}
		free(list[i]);
	}
	free(list);
	if (r >= 0 && ret_files) {
		*ret_files = (size_t)n;
	}
	return r;
}

static int agent_handle_inotify(Agent *a)
{
	union {
		struct inotify_event ev;
		char buf[4096];
	} u;

	for (;;) {
		ssize_t n = read(a->inotify_fd, u.buf, sizeof(u.buf));
		int r;

		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno == EAGAIN) {
				return 0;
			}
			return log_error_errno(errno, "Failed to read inotify events: %m");
		}
		for (char *p = u.buf; p < u.buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				log_debug("inotify queue overflow, reading %s again",
				          a->cfg->agent_dir);
				r = agent_scan(a, NULL);
				if (r < 0) {
					return r;
				}
				continue;
			}
			if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_UNMOUNT)) {
				if (a->n_questions > 0) {
					log_warning("The directory %s went away; cancelling all "
					            "questions",
					            a->cfg->agent_dir);
				}
				agent_remove_all(a);
				continue;
			}
			if (ev->len == 0 || !question_name_is_ask(ev->name)) {
				continue;
			}
			if (ev->mask & (IN_MOVED_FROM | IN_DELETE)) {
				agent_cancel(a, ev->name, "was withdrawn");
			}
			if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
				r = agent_load(a, ev->name);
				if (r < 0) {
					return r;
				}
			}
		}
	}
}

static void agent_stop(Agent *a, int exit_code, int sig)
{
	if (!a->stopping) {
		a->stopping = true;
		a->exit_code = exit_code;
		a->stop_signal = sig;
	}
}

static int agent_handle_signal(Agent *a)
{
	struct signalfd_siginfo si;

	for (;;) {
		ssize_t n = read(a->signal_fd, &si, sizeof(si));

		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno == EAGAIN) {
				return 0;
			}
			return log_error_errno(errno, "Failed to read from the signalfd: %m");
		}
		if (n != sizeof(si)) {
			return log_error_errno(EIO, "Short read from the signalfd");
		}
		if (si.ssi_signo == SIGCHLD) {
			int r = a->client.started ? client_reap(&a->client) : 0;

			if (r < 0) {
				return log_error_errno(r,
				                       "Failed to wait for the Mandos client: %m");
			}
			continue;
		}
		if (a->stop_signal != 0) {
			/* A second request to stop: do not wait for the client any more. */
			client_kill(&a->client, SIGKILL);
			a->kill_sent = true;
			continue;
		}
		log_info("Received %s; stopping", strsignal((int)si.ssi_signo));
		/* This overrides a stop that was already under way for another reason. */
		a->stopping = true;
		a->exit_code = 128 + (int)si.ssi_signo;
		a->stop_signal = (int)si.ssi_signo;
	}
}

static void agent_handle_client_output(Agent *a)
{
	int r = client_read(&a->client);

	if (r == -EFBIG) {
		log_error("The Mandos client printed more than %zu bytes; ignoring its output",
		          a->cfg->password_max);
	} else if (r < 0) {
		log_error_errno(r, "Failed to read the Mandos client's output: %m");
	}
}

/* SIGTERM the client, then SIGKILL it when kill_timeout_usec has passed. */
static void agent_kill_client(Agent *a, uint64_t now)
{
	if (!a->client.started || a->client.exited) {
		return;
	}
	if (!a->term_sent) {
		log_debug("Stopping the Mandos client");
		client_kill(&a->client, SIGTERM);
		a->term_sent = true;
		a->kill_at = now + a->cfg->kill_timeout_usec;
	} else if (!a->kill_sent && now >= a->kill_at) {
		log_warning("The Mandos client ignored SIGTERM; killing it");
		client_kill(&a->client, SIGKILL);
		a->kill_sent = true;
	}
}

/* Send the answer to every question that is due; questions that cannot be answered are dropped. */
static void agent_answer(Agent *a, uint64_t now)
{
	for (size_t i = a->n_questions; i > 0; i--) {
		Question *q = a->questions[i - 1];
		int r;

		if (q->retry_at > now) {
			continue;
		}
		if (q->attempts > 0 && !question_asker_alive(q)) {
			log_info("Question %s: the asking process %d is gone", q->name,
			         (int)q->pid);
			agent_remove_at(a, i - 1);
			continue;
		}
		r = answer_send(q->socket_path, a->answer);
		q->attempts++;
		if (r >= 0) {
			log_info("Sent the password to question %s", q->name);
			agent_remove_at(a, i - 1);
		} else if (answer_error_is_transient(r)) {
			log_full_errno(q->attempts == 1 ? LOG_INFO : LOG_DEBUG, r,
			               "Question %s: could not send to %s (%m); trying again",
			               q->name, q->socket_path);
			q->retry_at = now + a->cfg->retry_usec;
		} else {
			log_error_errno(r, "Question %s: failed to send the password to %s: %m",
			                q->name, q->socket_path);
			agent_remove_at(a, i - 1);
		}
	}
}

/*
 * Everything that does not wait: timeouts, the client's result, answers, stopping.
 * Returns true when the agent is done (a->exit_code set), or a negative errno.
 */
static int agent_process(Agent *a, uint64_t now)
{
	Client *c = &a->client;
	int r;

	for (size_t i = a->n_questions; i > 0; i--) {
		const Question *q = a->questions[i - 1];

		if (q->not_after != 0 && q->not_after <= now) {
			log_info("Question %s timed out", q->name);
			agent_remove_at(a, i - 1);
		}
	}

	if (!a->stopping && a->n_questions > 0 && c->output_failed) {
		/* It may still be running; its verdict no longer matters. */
		agent_kill_client(a, now);
	}

	if (!a->stopping && a->n_questions > 0 && c->exited && !a->answer) {
		if (!client_exited_ok(c)) {
			log_error("Mandos client failed or was killed");
			a->exit_code = 1;
			return true;
		}
		if (c->eof) {
			if (c->output->len == 0) {
				log_error("The Mandos client succeeded but gave no password");
				a->exit_code = 1;
				return true;
			}
			r = answer_build(c->output, &a->answer);
			if (r < 0) {
				return log_error_errno(r, "Failed to prepare the answer: %m");
			}
			log_debug("Got a password of %zu bytes from the Mandos client",
			          c->output->len);
			c->output = secbuf_free(c->output);
		}
	}

	if (a->answer) {
		agent_answer(a, now);
	}

	if (a->n_questions == 0) {
		agent_stop(a, 0, 0);
	}
	if (a->stopping) {
		if (!c->started || c->exited) {
			return true;
		}
		agent_kill_client(a, now);
	}
	return false;
}

/* Milliseconds until the earliest deadline (rounded up), or -1 for none. */
static int agent_timeout_ms(const Agent *a, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < a->n_questions; i++) {
		const Question *q = a->questions[i];

		if (q->not_after != 0) {
			next = MIN(next, q->not_after);
		}
		if (a->answer) {
			next = MIN(next, q->retry_at);
		}
	}
	if (a->term_sent && !a->kill_sent && !a->client.exited) {
		next = MIN(next, a->kill_at);
	}
	if (next == UINT64_MAX) {
		return -1;
	}
	if (next <= now) {
		return 0;
	}
	return (int)MIN((next - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC, (uint64_t)INT_MAX);
}

static int epoll_add(int epoll_fd, int fd, uint64_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};

	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		return negative_errno();
	}
	return 0;
}

static int agent_setup(Agent *a)
{
	const AgentConfig *cfg = a->cfg;
	sigset_t mask;
	int r;

	a->dir_fd = open(cfg->agent_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->dir_fd < 0) {
		log_error_errno(errno, "Failed to open the directory %s: %m", cfg->agent_dir);
		return EX_OSFILE;
	}
	a->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (a->inotify_fd < 0) {
		log_error_errno(errno, "Failed to create an inotify instance: %m");
		return EX_OSERR;
	}
	if (inotify_add_watch(a->inotify_fd, cfg->agent_dir,
	                      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
	                              IN_DELETE_SELF | IN_ONLYDIR) < 0) {
		log_error_errno(errno, "Failed to create inotify watch on %s: %m", cfg->agent_dir);
		return EX_OSFILE;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, &a->old_mask) < 0) {
		log_error_errno(errno, "Failed to block signals: %m");
		return EX_OSERR;
	}
	a->mask_set = true;
	a->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (a->signal_fd < 0) {
		log_error_errno(errno, "Failed to create a signalfd: %m");
		return EX_OSERR;
	}

	a->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (a->epoll_fd < 0) {
		log_error_errno(errno, "Failed to create an epoll instance: %m");
		return EX_OSERR;
	}
	r = epoll_add(a->epoll_fd, a->inotify_fd, EV_INOTIFY);
	if (r >= 0) {
		r = epoll_add(a->epoll_fd, a->signal_fd, EV_SIGNAL);
	}
	if (r < 0) {
		log_error_errno(r, "Failed to watch fds: %m");
		return EX_OSERR;
	}
	return 0;
}

static int agent_start_client(Agent *a)
{
	const ClientParams params = {
	        .argv = a->cfg->client_argv,
	        .uid = a->cfg->uid,
	        .gid = a->cfg->gid,
	        .helper_dir = a->cfg->helper_dir,
	        .output_max = a->cfg->password_max,
	};
	int r;

	r = client_start(&a->client, &params);
	if (r < 0) {
		log_error_errno(r, "Failed to start the Mandos client: %m");
		return EX_OSERR;
	}
	r = epoll_add(a->epoll_fd, a->client.stdout_fd, EV_CLIENT_OUT);
	if (r >= 0 && a->client.pidfd >= 0) {
		r = epoll_add(a->epoll_fd, a->client.pidfd, EV_CLIENT_PIDFD);
	}
	if (r < 0) {
		log_error_errno(r, "Failed to watch the Mandos client: %m");
		return EX_OSERR;
	}
	/* It may have exited before the pidfd existed; SIGCHLD is blocked, so nothing is lost. */
	return 0;
}

static int agent_loop(Agent *a)
{
	for (;;) {
		struct epoll_event events[8];
		uint64_t now = now_usec();
		int n, r;

		r = agent_process(a, now);
		if (r < 0) {
			return EX_OSERR;
		}
		if (r > 0) {
			return a->exit_code;
		}

		n = epoll_wait(a->epoll_fd, events, (int)ELEMENTSOF(events),
		               agent_timeout_ms(a, now));
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			log_error_errno(errno, "epoll_wait() failed: %m");
			return EX_OSERR;
		}
		for (int i = 0; i < n; i++) {
			switch (events[i].data.u64) {
			case EV_INOTIFY:
				r = agent_handle_inotify(a);
				break;
			case EV_SIGNAL:
				r = agent_handle_signal(a);
				break;
			case EV_CLIENT_OUT:
				agent_handle_client_output(a);
				r = 0;
				break;
			case EV_CLIENT_PIDFD:
				r = client_reap(&a->client);
				if (r < 0) {
					log_error_errno(r,
					                "Failed to wait for the Mandos client: %m");
				}
				break;
			default:
				r = 0;
				break;
			}
			if (r < 0) {
				return EX_OSERR;
			}
		}
	}
}

static void agent_free(Agent *a)
{
	client_done(&a->client);
	a->answer = secbuf_free(a->answer);
	agent_remove_all(a);
	free(a->questions);
	a->questions = NULL;
	a->epoll_fd = safe_close(a->epoll_fd);
	a->signal_fd = safe_close(a->signal_fd);
	a->inotify_fd = safe_close(a->inotify_fd);
	a->dir_fd = safe_close(a->dir_fd);
	if (a->mask_set) {
		(void)sigprocmask(SIG_SETMASK, &a->old_mask, NULL);
		a->mask_set = false;
	}
}

int agent_run(const AgentConfig *cfg, int *ret_signal)
{
	Agent a = {
	        .cfg = cfg,
	        .dir_fd = -EBADF,
	        .inotify_fd = -EBADF,
	        .signal_fd = -EBADF,
	        .epoll_fd = -EBADF,
	        .client = CLIENT_NULL,
	};
	size_t files = 0;
	int r;

	*ret_signal = 0;
	r = agent_setup(&a);
	if (r == 0) {
		/* The watch exists before the scan, so no question can slip between the two. */
		r = agent_scan(&a, &files) < 0 ? EX_OSERR : 0;
	}
	if (r == 0 && files == 0) {
		log_error("There are no question files in %s", cfg->agent_dir);
		r = 1;
	} else if (r == 0 && a.n_questions == 0) {
		log_info("No question in %s needs an answer", cfg->agent_dir);
	} else if (r == 0) {
		r = agent_start_client(&a);
		if (r == 0) {
			r = agent_loop(&a);
			*ret_signal = a.stop_signal;
		}
	}
	agent_free(&a);
	return r;
}
