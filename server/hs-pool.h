/* SPDX-License-Identifier: GPL-3.0-or-later */
/* TLS handshakes on worker threads, so that the public-key work of many clients uses every CPU. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

/*
 * The main thread (the sd-event loop) owns everything; it lends a job to the pool, and touches
 * nothing the job's step uses until the job is handed back through its done callback, on the
 * main thread again.  A worker runs a job's step whenever its socket is ready, never two steps
 * of one job at once.  Steps must not touch sd-event or anything else of the main thread's:
 * they run beside the main loop.
 */
typedef enum HsStep {
	HS_WAIT_READ,  /* call the step again when the socket is readable */
	HS_WAIT_WRITE, /* ... writable */
	HS_DONE,       /* hand the job back */
} HsStep;

typedef struct HsJob HsJob;
struct HsJob {
	int fd;
	HsStep (*step)(HsJob *job);
	/* On the main thread.  cancelled: hs_pool_cancel() was called before the job came back. */
	void (*done)(HsJob *job, bool cancelled);
	/* Set by the pool when it could not wait for the socket (-errno); then done(job, false). */
	int error;

	/* The pool's. */
	atomic_bool cancel;
	/* Bumped (release) before the socket is armed, read (acquire) by the worker that takes
	 * it: what epoll orders in the kernel, made explicit for the memory model. */
	atomic_uint handoff;
	HsJob *lent_prev, *lent_next; /* the main thread's list of jobs out */
	HsJob *done_next;             /* the done queue, under the pool's lock */
};

typedef struct HsPool HsPool;

/* How many workers this process should have: the CPUs it may run on, or 0 when it has one. */
unsigned hs_pool_default_workers(void);

/* Starts n_workers threads (n_workers >= 1).  Returns 0 or -errno. */
int hs_pool_new(sd_event *event, unsigned n_workers, HsPool **ret);

/* Lend job (its fd non-blocking); its step runs at once on a worker. */
void hs_pool_submit(HsPool *p, HsJob *job);

/*
 * Ask for the job back early; done(job, true) follows on the main thread.  This shuts the
 * socket down (both ways), which wakes the worker even when the peer is silent.
 */
void hs_pool_cancel(HsPool *p, HsJob *job);

/* Stop and join the workers; every job still lent comes back through done(job, true), now. */
HsPool *hs_pool_free(HsPool *p);
