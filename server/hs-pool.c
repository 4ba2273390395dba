/* SPDX-License-Identifier: GPL-3.0-or-later */
/* TLS handshakes on worker threads, so that the public-key work of many clients uses every CPU. */
#include "hs-pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"

#define MAX_WORKERS 16

/*
 * All workers wait on one epoll set, one event at a time, and every job's socket is in it
 * with EPOLLONESHOT: whichever worker is free takes the next ready socket, and no two
 * workers ever hold the same job.  The stop eventfd is in the set without EPOLLONESHOT, so
 * that it wakes every worker.  Done jobs go to a queue under the pool's lock and the main
 * thread learns of them through the done eventfd, in its sd-event loop.
 */
struct HsPool {
	sd_event_source *source;
	int epfd;
	int stopfd;
	int donefd;
	pthread_mutex_t lock;
	HsJob *done_head, *done_tail; /* under lock */
	HsJob *lent;                  /* the main thread's */
	unsigned n_workers;
	unsigned n_started;
	pthread_t threads[];
};

static void poke(int fd)
{
	uint64_t one = 1;

	/* Only fails when the counter is about to overflow, and then a wake is pending anyway. */
	(void)!write(fd, &one, sizeof(one));
}

unsigned hs_pool_default_workers(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) < 0) {
		return 0;
	}
	n = CPU_COUNT(&set);
	return n <= 1 ? 0 : (unsigned)MIN(n, MAX_WORKERS);
}

/* From any thread: queue the job for the main thread, and wake it. */
static void give_back(HsPool *p, HsJob *job)
{
	job->done_next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->done_tail) {
		p->done_tail->done_next = job;
	} else {
		p->done_head = job;
	}
	p->done_tail = job;
	pthread_mutex_unlock(&p->lock);
	poke(p->donefd);
}

/* On a worker: give the job back to the main thread. */
static void worker_finish(HsPool *p, HsJob *job)
{
	(void)epoll_ctl(p->epfd, EPOLL_CTL_DEL, job->fd, NULL);
	give_back(p, job);
}

/* On a worker: one step, then wait for what it needs, or give the job back. */
static void worker_run(HsPool *p, HsJob *job)
{
	struct epoll_event ev = {.data.ptr = job};
	HsStep s;

	(void)atomic_load_explicit(&job->handoff, memory_order_acquire);
	if (atomic_load(&job->cancel)) {
		worker_finish(p, job);
		return;
	}
	s = job->step(job);
	if (s == HS_DONE) {
		worker_finish(p, job);
		return;
	}
	ev.events = (s == HS_WAIT_WRITE ? EPOLLOUT : EPOLLIN) | EPOLLONESHOT;
	atomic_fetch_add_explicit(&job->handoff, 1, memory_order_release);
	if (epoll_ctl(p->epfd, EPOLL_CTL_MOD, job->fd, &ev) < 0) {
		job->error = -errno;
		worker_finish(p, job);
	}
}

static void *worker_main(void *userdata)
{
	HsPool *p = userdata;

	for (;;) {
		struct epoll_event ev;
		int n = epoll_wait(p->epfd, &ev, 1, -1);

		if (n < 0 && errno != EINTR) {
			return NULL; /* cannot happen with a valid epoll fd */
		}
		if (n <= 0) {
			continue;
		}
		if (!ev.data.ptr) {
			return NULL; /* the stop eventfd: stays readable, so every worker sees it */
		}
		worker_run(p, ev.data.ptr);
	}
}

static void lent_remove(HsPool *p, HsJob *job)
{
	if (job->lent_prev) {
		job->lent_prev->lent_next = job->lent_next;
	} else {
		p->lent = job->lent_next;
	}
	if (job->lent_next) {
		job->lent_next->lent_prev = job->lent_prev;
	}
	job->lent_prev = job->lent_next = NULL;
}

/* On the main thread: hand back what the workers finished. */
static void take_done(HsPool *p)
{
	HsJob *list;
	uint64_t v;

	(void)!read(p->donefd, &v, sizeof(v));
	pthread_mutex_lock(&p->lock);
	list = p->done_head;
	p->done_head = p->done_tail = NULL;
	pthread_mutex_unlock(&p->lock);
	while (list) {
		HsJob *next = list->done_next;

		list->done_next = NULL;
		lent_remove(p, list);
		list->done(list, atomic_load(&list->cancel));
		list = next;
	}
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	take_done(userdata);
	return 0;
}

int hs_pool_new(sd_event *event, unsigned n_workers, HsPool **ret)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	sigset_t all, old;
	HsPool *p;
	int r = 0;

	if (n_workers == 0 || n_workers > MAX_WORKERS) {
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p) + n_workers * sizeof(pthread_t));
	if (!p) {
		return -ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->n_workers = n_workers;
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	p->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->donefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->epfd < 0 || p->stopfd < 0 || p->donefd < 0 ||
	    epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->stopfd, &ev) < 0) {
		r = -errno;
		goto fail;
	}
	r = sd_event_add_io(event, &p->source, p->donefd, EPOLLIN, on_done, p);
	if (r < 0) {
		goto fail;
	}
	/* Workers take no signals: sd-event reads them from a signalfd on the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (; p->n_started < n_workers; p->n_started++) {
		r = -pthread_create(&p->threads[p->n_started], NULL, worker_main, p);
		if (r < 0) {
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		goto fail;
	}
	*ret = p;
	return 0;
fail:
	hs_pool_free(p);
	return r;
}

void hs_pool_submit(HsPool *p, HsJob *job)
{
	/* Writable at once: a worker takes it and sends the first flight. */
	struct epoll_event ev = {.events = EPOLLOUT | EPOLLONESHOT, .data.ptr = job};

	atomic_store(&job->cancel, false);
	job->error = 0;
	job->lent_prev = NULL;
	job->lent_next = p->lent;
	if (p->lent) {
		p->lent->lent_prev = job;
	}
	p->lent = job;
	atomic_fetch_add_explicit(&job->handoff, 1, memory_order_release);
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, job->fd, &ev) < 0) {
		job->error = -errno;
		give_back(p, job);
	}
}

void hs_pool_cancel(HsPool *p, HsJob *job)
{
	(void)p;
	atomic_store(&job->cancel, true);
	/* A hang-up is reported whatever the job waits for, and then it sees the flag. */
	(void)shutdown(job->fd, SHUT_RDWR);
}

HsPool *hs_pool_free(HsPool *p)
{
	if (!p) {
		return NULL;
	}
	if (p->n_started > 0) {
		poke(p->stopfd);
	}
	for (unsigned i = 0; i < p->n_started; i++) {
		pthread_join(p->threads[i], NULL);
	}
	/* Now single-threaded: the finished jobs come back, then the rest, cancelled. */
	take_done(p);
	while (p->lent) {
		HsJob *job = p->lent;

		lent_remove(p, job);
		atomic_store(&job->cancel, true);
		job->done(job, true);
	}
	sd_event_source_disable_unref(p->source);
	safe_close(p->epfd);
	safe_close(p->stopfd);
	safe_close(p->donefd);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return NULL;
}
