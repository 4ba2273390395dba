/* SPDX-License-Identifier: GPL-3.0-or-later */
/* AvahiPoll on sd-event: watches become io sources, timeouts become monotonic timers. */
#include "avahi-sd-event.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <avahi-common/timeval.h>

#include "macro.h"

struct AvahiSdEventPoll {
	AvahiPoll api; /* first, so an AvahiPoll * is our pointer */
	sd_event *event;
};

struct AvahiWatch {
	AvahiSdEventPoll *poll;
	int fd;     /* the fd Avahi gave us, passed back to its callback */
	int dup_fd; /* what sd-event watches: it allows one io source per fd, and libdbus
		     * watches the same fd twice (once for reading, once for writing) */
	sd_event_source *source;
	AvahiWatchEvent revents;
	AvahiWatchCallback callback;
	void *userdata;
};

struct AvahiTimeout {
	AvahiSdEventPoll *poll;
	sd_event_source *source;
	AvahiTimeoutCallback callback;
	void *userdata;
};

static uint32_t to_epoll(AvahiWatchEvent e)
{
	return (e & AVAHI_WATCH_IN ? EPOLLIN : 0) | (e & AVAHI_WATCH_OUT ? EPOLLOUT : 0) |
	       (e & AVAHI_WATCH_ERR ? EPOLLERR : 0) | (e & AVAHI_WATCH_HUP ? EPOLLHUP : 0);
}

static AvahiWatchEvent from_epoll(uint32_t e)
{
	return (e & EPOLLIN ? AVAHI_WATCH_IN : 0) | (e & EPOLLOUT ? AVAHI_WATCH_OUT : 0) |
	       (e & EPOLLERR ? AVAHI_WATCH_ERR : 0) | (e & EPOLLHUP ? AVAHI_WATCH_HUP : 0);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	AvahiWatch *w = userdata;

	w->revents = from_epoll(revents);
	w->callback(w, w->fd, w->revents, w->userdata);
	/* The callback may have freed w: touch nothing after it. */
	return 0;
}

static AvahiWatch *watch_new(const AvahiPoll *api, int fd, AvahiWatchEvent event,
			     AvahiWatchCallback callback, void *userdata)
{
	AvahiSdEventPoll *p = (AvahiSdEventPoll *)(uintptr_t)api;
	AvahiWatch *w = calloc(1, sizeof(*w));

	if (!w) {
		return NULL;
	}
	w->poll = p;
	w->fd = fd;
	w->callback = callback;
	w->userdata = userdata;
	w->dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (w->dup_fd < 0) {
		free(w);
		return NULL;
	}
	if (sd_event_add_io(p->event, &w->source, w->dup_fd, to_epoll(event), on_io, w) < 0) {
		close(w->dup_fd);
		free(w);
		return NULL;
	}
	return w;
}

static void watch_update(AvahiWatch *w, AvahiWatchEvent event)
{
	(void)sd_event_source_set_io_events(w->source, to_epoll(event));
}

static AvahiWatchEvent watch_get_events(AvahiWatch *w)
{
	return w->revents;
}

static void watch_free(AvahiWatch *w)
{
	if (!w) {
		return;
	}
	sd_event_source_disable_unref(w->source);
	safe_close(w->dup_fd);
	free(w);
}

static int on_time(sd_event_source *s, uint64_t usec, void *userdata)
{
	AvahiTimeout *t = userdata;

	(void)sd_event_source_set_enabled(s, SD_EVENT_OFF);
	t->callback(t, t->userdata);
	return 0;
}

/* Set the timer from Avahi's wall-clock deadline (NULL: disarm). */
static int timeout_arm(AvahiTimeout *t, const struct timeval *tv)
{
	uint64_t now;
	AvahiUsec age;
	int r;

	if (!tv) {
		return sd_event_source_set_enabled(t->source, SD_EVENT_OFF);
	}
	r = sd_event_now(t->poll->event, CLOCK_MONOTONIC, &now);
	if (r < 0) {
		return r;
	}
	/* avahi_age() is how long ago the deadline was (negative: still to come). */
	age = avahi_age(tv);
	r = sd_event_source_set_time(t->source, age >= 0 ? now : now + (uint64_t)-age);
	if (r < 0) {
		return r;
	}
	return sd_event_source_set_enabled(t->source, SD_EVENT_ONESHOT);
}

static AvahiTimeout *timeout_new(const AvahiPoll *api, const struct timeval *tv,
				 AvahiTimeoutCallback callback, void *userdata)
{
	AvahiSdEventPoll *p = (AvahiSdEventPoll *)(uintptr_t)api;
	AvahiTimeout *t = calloc(1, sizeof(*t));

	if (!t) {
		return NULL;
	}
	t->poll = p;
	t->callback = callback;
	t->userdata = userdata;
	if (sd_event_add_time(p->event, &t->source, CLOCK_MONOTONIC, 0, 0, on_time, t) < 0) {
		free(t);
		return NULL;
	}
	if (timeout_arm(t, tv) < 0) {
		sd_event_source_disable_unref(t->source);
		free(t);
		return NULL;
	}
	return t;
}

static void timeout_update(AvahiTimeout *t, const struct timeval *tv)
{
	(void)timeout_arm(t, tv);
}

static void timeout_free(AvahiTimeout *t)
{
	/* Avahi calls this with NULL. */
	if (!t) {
		return;
	}
	sd_event_source_disable_unref(t->source);
	free(t);
}

AvahiSdEventPoll *avahi_sd_event_poll_new(sd_event *event)
{
	AvahiSdEventPoll *p = calloc(1, sizeof(*p));

	if (!p) {
		return NULL;
	}
	p->api = (AvahiPoll){
		.userdata = p,
		.watch_new = watch_new,
		.watch_update = watch_update,
		.watch_get_events = watch_get_events,
		.watch_free = watch_free,
		.timeout_new = timeout_new,
		.timeout_update = timeout_update,
		.timeout_free = timeout_free,
	};
	p->event = sd_event_ref(event);
	return p;
}

AvahiSdEventPoll *avahi_sd_event_poll_free(AvahiSdEventPoll *p)
{
	if (!p) {
		return NULL;
	}
	sd_event_unref(p->event);
	free(p);
	return NULL;
}

const AvahiPoll *avahi_sd_event_poll_get(AvahiSdEventPoll *p)
{
	return &p->api;
}
