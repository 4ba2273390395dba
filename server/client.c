/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A configured client: its settings, runtime state, checker and timeout state machine, approval. */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "duration.h"
#include "log.h"

/* Timers may fire this late; lets sd-event coalesce wake-ups of thousands of clients. */
#define TIMER_ACCURACY_USEC (50 * 1000ULL)
#define USEC_PER_MSEC_U 1000ULL

static const char *const property_names[_CLIENT_PROP_MAX] = {
        [CLIENT_PROP_APPROVAL_DELAY] = "ApprovalDelay",
        [CLIENT_PROP_APPROVAL_DURATION] = "ApprovalDuration",
        [CLIENT_PROP_APPROVAL_PENDING] = "ApprovalPending",
        [CLIENT_PROP_APPROVED_BY_DEFAULT] = "ApprovedByDefault",
        [CLIENT_PROP_CHECKER] = "Checker",
        [CLIENT_PROP_CHECKER_RUNNING] = "CheckerRunning",
        [CLIENT_PROP_ENABLED] = "Enabled",
        [CLIENT_PROP_EXPIRES] = "Expires",
        [CLIENT_PROP_EXTENDED_TIMEOUT] = "ExtendedTimeout",
        [CLIENT_PROP_HOST] = "Host",
        [CLIENT_PROP_INTERVAL] = "Interval",
        [CLIENT_PROP_LAST_APPROVAL_REQUEST] = "LastApprovalRequest",
        [CLIENT_PROP_LAST_CHECKED_OK] = "LastCheckedOK",
        [CLIENT_PROP_LAST_CHECKER_STATUS] = "LastCheckerStatus",
        [CLIENT_PROP_LAST_ENABLED] = "LastEnabled",
        [CLIENT_PROP_SECRET] = "Secret",
        [CLIENT_PROP_TIMEOUT] = "Timeout",
        [CLIENT_PROP_APPROVED_UNTIL] = "ApprovedUntil",
};

const char *client_property_name(ClientProperty p)
{
	return (unsigned)p < _CLIENT_PROP_MAX ? property_names[p] : NULL;
}

int client_context_add_observer(ClientContext *ctx, const ClientObserver *ops, void *userdata)
{
	if (ctx->n_observers >= CLIENT_OBSERVERS_MAX) {
		return -ENOSPC;
	}
	ctx->observers[ctx->n_observers].ops = ops;
	ctx->observers[ctx->n_observers].userdata = userdata;
	ctx->n_observers++;
	return 0;
}

static void notify(Client *c, ClientProperty p)
{
	CLIENT_NOTIFY(c->ctx, property_changed, c, p);
}

static void set_time(Client *c, realtime_t *field, realtime_t v, ClientProperty p)
{
	if (*field != v) {
		*field = v;
		notify(c, p);
	}
}

static void set_status(Client *c, int status)
{
	if (c->last_checker_status != status) {
		c->last_checker_status = status;
		notify(c, CLIENT_PROP_LAST_CHECKER_STATUS);
	}
}

/* Arm a one-shot CLOCK_MONOTONIC timer `msec` from now, creating it if needed. */
static int arm_timer(Client *c, sd_event_source **s, uint64_t msec, sd_event_time_handler_t cb)
{
	uint64_t usec = msec > UINT64_MAX / 2000 ? UINT64_MAX / 2 : msec * USEC_PER_MSEC_U;
	int r;

	if (*s) {
		r = sd_event_source_set_time_relative(*s, usec);
		if (r >= 0) {
			r = sd_event_source_set_enabled(*s, SD_EVENT_ONESHOT);
		}
	} else {
		r = sd_event_add_time_relative(c->ctx->event, s, CLOCK_MONOTONIC, usec,
		                               TIMER_ACCURACY_USEC, cb, c);
	}
	if (r < 0) {
		log_error_errno(r, "Cannot arm a timer for client %s: %m", c->name);
	}
	return r;
}

static void disarm_timer(sd_event_source *s)
{
	if (s) {
		(void)sd_event_source_set_enabled(s, SD_EVENT_OFF);
	}
}

static bool timer_armed(sd_event_source *s)
{
	int e = SD_EVENT_OFF;

	return s && sd_event_source_get_enabled(s, &e) >= 0 && e != SD_EVENT_OFF;
}

static void wake_waiters(Client *c)
{
	ClientWaiter *w = c->waiters, *next;

	for (; w; w = next) {
		next = w->next;
		w->wake(w);
	}
}

void client_add_waiter(Client *c, ClientWaiter *w)
{
	w->prev = NULL;
	w->next = c->waiters;
	if (w->next) {
		w->next->prev = w;
	}
	c->waiters = w;
}

void client_remove_waiter(Client *c, ClientWaiter *w)
{
	if (w->prev) {
		w->prev->next = w->next;
	} else if (c->waiters == w) {
		c->waiters = w->next;
	}
	if (w->next) {
		w->next->prev = w->prev;
	}
	w->prev = w->next = NULL;
}

int client_new(ClientContext *ctx, ClientConfig *cc, Client **ret)
{
	Client *c = calloc(1, sizeof(*c));
	realtime_t now = now_realtime();

	if (!c) {
		return -ENOMEM;
	}
	c->n_ref = 1;
	c->ctx = ctx;
	c->name = strdup(cc->name);
	if (!c->name || client_settings_copy(&cc->settings, &c->s) < 0 ||
	    client_settings_copy(&cc->settings, &c->config) < 0) {
		client_unref(c);
		return -ENOMEM;
	}
	c->secret = cc->secret;
	cc->secret = (Secret){0};
	c->state_key = cc->state_key;
	cc->state_key = (Secret){0};
	memcpy(c->config_secret_id, cc->secret_id, SECRET_ID_SIZE);
	c->delivery = cc->delivery;
	cc->delivery = (ClientDelivery){0};
	c->created = now;
	c->last_checker_status = -2;
	c->approved = APPROVAL_UNDECIDED;
	if (c->s.enabled) {
		c->last_enabled = now;
		c->expires = now + c->s.timeout * USEC_PER_MSEC_U;
	}
	log_debug("Creating client '%s'", c->name);
	log_debug("  Key ID: %s", c->s.key_id);
	log_debug("  Fingerprint: %s", c->s.fingerprint);
	*ret = c;
	return 0;
}

Client *client_ref(Client *c)
{
	if (c) {
		c->n_ref++;
	}
	return c;
}

Client *client_unref(Client *c)
{
	if (!c || --c->n_ref > 0) {
		return NULL;
	}
	if (c->checker) {
		checker_stop(c->checker);
	}
	sd_event_source_disable_unref(c->checker_timer);
	sd_event_source_disable_unref(c->disable_timer);
	sd_event_source_disable_unref(c->approval_timer);
	sd_event_source_disable_unref(c->approved_until_timer);
	if (c->ctx) {
		secret_store_drop(c->ctx->store, &c->secret);
		secret_store_drop(c->ctx->store, &c->state_key);
	}
	client_delivery_done(&c->delivery, c->ctx ? c->ctx->store : NULL);
	client_settings_done(&c->s);
	client_settings_done(&c->config);
	free(c->releases);
	free(c->name);
	free(c);
	return NULL;
}

static void stop_checker(Client *c)
{
	if (!c->checker) {
		return;
	}
	log_debug("Stopping checker for %s", c->name);
	checker_stop(c->checker);
	c->checker = NULL;
	notify(c, CLIENT_PROP_CHECKER_RUNNING);
}

static int on_disable_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Client *c = userdata;

	/* Unlike upstream, a timeout disable is logged and wakes waiting connections.  The
	 * reason is set before observers hear of it (the shared state writes it). */
	if (c->s.enabled) {
		client_disable_as(c, CLIENT_DISABLED_BY_TIMEOUT, false);
	}
	return 0;
}

void client_bump_timeout(Client *c, uint64_t msec)
{
	disarm_timer(c->disable_timer);
	if (c->s.enabled) {
		arm_timer(c, &c->disable_timer, msec, on_disable_timer);
		set_time(c, &c->expires, now_realtime() + msec * USEC_PER_MSEC_U,
		         CLIENT_PROP_EXPIRES);
	}
}

void client_checked_ok(Client *c)
{
	set_time(c, &c->last_checked_ok, now_realtime(), CLIENT_PROP_LAST_CHECKED_OK);
	c->last_checker_signal = 0;
	set_status(c, 0);
	client_bump_timeout(c, c->s.timeout);
}

static void on_checker_done(Checker *ch, int exitcode, int sig, int64_t waitstatus, void *userdata)
{
	Client *c = userdata;

	c->checker = NULL;
	notify(c, CLIENT_PROP_CHECKER_RUNNING);
	if (exitcode >= 0) {
		c->last_checker_signal = 0;
		if (exitcode == 0) {
			log_info("Checker for %s succeeded", c->name);
			client_checked_ok(c);
		} else {
			log_info("Checker for %s failed", c->name);
			set_status(c, exitcode);
		}
		CLIENT_NOTIFY(c->ctx, checker_completed, c, exitcode, (int64_t)exitcode << 8,
		              checker_command(ch));
	} else {
		c->last_checker_signal = sig;
		log_warning("Checker for %s crashed?", c->name);
		set_status(c, -1);
		/* Upstream's quirk: (-1 << 8) | signal. */
		CLIENT_NOTIFY(c->ctx, checker_completed, c, -1, (int64_t)(-1 * 256) | sig,
		              checker_command(ch));
	}
	(void)waitstatus;
}

static char *lookup(const char *name, void *userdata)
{
	return client_expansion_value(userdata, name);
}

static void start_checker(Client *c)
{
	_cleanup_free_ char *command = NULL, *bad = NULL, *repr = NULL;
	int r;

	if (c->checker) {
		return;
	}
	r = checker_expand(c->s.checker, lookup, c, &command, &bad);
	if (r == -ENOENT) {
		log_error("Could not format string \"%s\": unknown name '%s'", c->s.checker, bad);
		return;
	}
	if (r < 0) {
		log_error("Could not format string \"%s\"", c->s.checker);
		return;
	}
	repr = py_repr(command);
	log_info("Starting checker %s for %s", repr ? repr : command, c->name);
	r = checker_spawn(c->ctx->event, command, c->ctx->checker_output_to_null, on_checker_done,
	                  c, &c->checker);
	if (r < 0) {
		log_error_errno(r, "Cannot start checker for %s: %m", c->name);
		return;
	}
	notify(c, CLIENT_PROP_CHECKER_RUNNING);
	CLIENT_NOTIFY(c->ctx, checker_started, c, command);
}

static int on_checker_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Client *c = userdata;

	start_checker(c);
	arm_timer(c, &c->checker_timer, c->s.interval, on_checker_timer);
	if (c->checker_timer_randomized) {
		realtime_t soonest = now_realtime() + c->s.interval * USEC_PER_MSEC_U;

		c->checker_timer_randomized = false;
		if (c->expires < soonest) {
			set_time(c, &c->expires, soonest, CLIENT_PROP_EXPIRES);
			arm_timer(c, &c->disable_timer, c->s.interval, on_disable_timer);
		}
	}
	return 0;
}

static uint64_t random_upto(uint64_t max)
{
	if (max < UINT32_MAX) {
		return randombytes_uniform((uint32_t)max + 1);
	}
	return (((uint64_t)randombytes_random() << 32) | randombytes_random()) % (max + 1);
}

static void init_checker(Client *c, bool randomize)
{
	uint64_t delay = randomize ? random_upto(c->s.interval) : c->s.interval;

	c->checker_timer_randomized = randomize;
	arm_timer(c, &c->checker_timer, delay, on_checker_timer);
	set_time(c, &c->expires, now_realtime() + (delay + c->s.interval) * USEC_PER_MSEC_U,
	         CLIENT_PROP_EXPIRES);
	arm_timer(c, &c->disable_timer, delay + c->s.interval, on_disable_timer);
}

void client_start(Client *c)
{
	if (c->s.enabled) {
		init_checker(c, true);
	}
}

void client_enable(Client *c)
{
	if (c->s.enabled || c->removed) {
		return;
	}
	c->s.enabled = true;
	c->disabled_by = CLIENT_DISABLED_BY_NONE;
	notify(c, CLIENT_PROP_ENABLED);
	set_time(c, &c->last_enabled, now_realtime(), CLIENT_PROP_LAST_ENABLED);
	init_checker(c, false);
	wake_waiters(c);
}

void client_disable_as(Client *c, ClientDisabledBy by, bool quiet)
{
	if (!c->s.enabled) {
		return;
	}
	if (!quiet) {
		log_info("Disabling client %s", c->name);
	}
	disarm_timer(c->disable_timer);
	set_time(c, &c->expires, 0, CLIENT_PROP_EXPIRES);
	disarm_timer(c->checker_timer);
	stop_checker(c);
	c->s.enabled = false;
	c->disabled_by = by;
	notify(c, CLIENT_PROP_ENABLED);
	wake_waiters(c);
}

void client_disable(Client *c, bool quiet)
{
	client_disable_as(c, CLIENT_DISABLED_BY_ADMIN, quiet);
}

void client_set_expires(Client *c, realtime_t expires)
{
	realtime_t now = now_realtime();

	if (!c->s.enabled || expires == 0 || expires == c->expires) {
		return;
	}
	set_time(c, &c->expires, expires, CLIENT_PROP_EXPIRES);
	arm_timer(c, &c->disable_timer, expires > now ? (expires - now) / USEC_PER_MSEC_U : 0,
	          on_disable_timer);
}

void client_set_last_checked_ok(Client *c, realtime_t t)
{
	set_time(c, &c->last_checked_ok, t, CLIENT_PROP_LAST_CHECKED_OK);
}

void client_set_last_enabled(Client *c, realtime_t t)
{
	set_time(c, &c->last_enabled, t, CLIENT_PROP_LAST_ENABLED);
}

void client_set_enabled(Client *c, bool enabled)
{
	if (enabled) {
		client_enable(c);
	} else {
		client_disable(c, false);
	}
}

void client_set_timeout(Client *c, uint64_t msec)
{
	uint64_t old = c->s.timeout;
	realtime_t now;
	int64_t expires;

	if (old == msec) {
		return;
	}
	c->s.timeout = msec;
	notify(c, CLIENT_PROP_TIMEOUT);
	if (!c->s.enabled) {
		return;
	}
	now = now_realtime();
	expires = (int64_t)c->expires + ((int64_t)msec - (int64_t)old) * (int64_t)USEC_PER_MSEC_U;
	if (expires <= (int64_t)now) {
		set_time(c, &c->expires, expires > 0 ? (realtime_t)expires : 1,
		         CLIENT_PROP_EXPIRES);
		client_disable(c, false);
		return;
	}
	set_time(c, &c->expires, (realtime_t)expires, CLIENT_PROP_EXPIRES);
	if (timer_armed(c->disable_timer)) {
		arm_timer(c, &c->disable_timer, ((realtime_t)expires - now) / USEC_PER_MSEC_U,
		          on_disable_timer);
	}
}

void client_set_extended_timeout(Client *c, uint64_t msec)
{
	if (c->s.extended_timeout != msec) {
		c->s.extended_timeout = msec;
		notify(c, CLIENT_PROP_EXTENDED_TIMEOUT);
	}
}

void client_set_interval(Client *c, uint64_t msec)
{
	if (msec == 0 || c->s.interval == msec) {
		return;
	}
	c->s.interval = msec;
	notify(c, CLIENT_PROP_INTERVAL);
	if (!c->s.enabled || !timer_armed(c->checker_timer)) {
		return;
	}
	c->checker_timer_randomized = false;
	arm_timer(c, &c->checker_timer, msec, on_checker_timer);
	start_checker(c);
}

void client_set_approval_delay(Client *c, uint64_t msec)
{
	if (c->s.approval_delay != msec) {
		c->s.approval_delay = msec;
		notify(c, CLIENT_PROP_APPROVAL_DELAY);
	}
}

void client_set_approval_duration(Client *c, uint64_t msec)
{
	if (c->s.approval_duration != msec) {
		c->s.approval_duration = msec;
		notify(c, CLIENT_PROP_APPROVAL_DURATION);
	}
}

void client_set_approved_by_default(Client *c, bool v)
{
	if (c->s.approved_by_default != v) {
		c->s.approved_by_default = v;
		notify(c, CLIENT_PROP_APPROVED_BY_DEFAULT);
	}
}

static int set_string(Client *c, char **field, const char *v, ClientProperty p)
{
	char *n;

	if (strcmp(*field, v) == 0) {
		return 0;
	}
	n = strdup(v);
	if (!n) {
		return -ENOMEM;
	}
	free(*field);
	*field = n;
	notify(c, p);
	return 0;
}

int client_set_host(Client *c, const char *host)
{
	return set_string(c, &c->s.host, host, CLIENT_PROP_HOST);
}

int client_set_checker_command(Client *c, const char *command)
{
	return set_string(c, &c->s.checker, command, CLIENT_PROP_CHECKER);
}

int client_set_secret(Client *c, const void *data, size_t len)
{
	Secret n;
	int r = secret_store_put(c->ctx->store, data, len, &n);

	if (r < 0) {
		return r;
	}
	secret_store_drop(c->ctx->store, &c->secret);
	c->secret = n;
	notify(c, CLIENT_PROP_SECRET);
	return 0;
}

void client_set_checker_running(Client *c, bool running)
{
	if (running) {
		start_checker(c);
	} else {
		stop_checker(c);
	}
}

static int on_approval_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Client *c = userdata;

	c->approved = APPROVAL_UNDECIDED;
	return 0;
}

void client_approve(Client *c, bool approve)
{
	c->approved = approve ? APPROVAL_GRANTED : APPROVAL_DENIED;
	arm_timer(c, &c->approval_timer, c->s.approval_duration, on_approval_timer);
	CLIENT_NOTIFY(c->ctx, approved, c, approve);
	wake_waiters(c);
}

void client_set_approval(Client *c, bool approve, realtime_t until)
{
	realtime_t now = now_realtime();

	if (until <= now) {
		return;
	}
	c->approved = approve ? APPROVAL_GRANTED : APPROVAL_DENIED;
	arm_timer(c, &c->approval_timer, (until - now + USEC_PER_MSEC_U - 1) / USEC_PER_MSEC_U,
	          on_approval_timer);
	CLIENT_NOTIFY(c->ctx, approved, c, approve);
	wake_waiters(c);
}

/* A release time counts while it is younger than the window (one in the future counts). */
static bool release_in_window(realtime_t t, realtime_t now)
{
	return t > now || now - t < CLIENT_RELEASE_WINDOW_USEC;
}

static int cmp_time(const void *a, const void *b)
{
	realtime_t x = *(const realtime_t *)a, y = *(const realtime_t *)b;

	return x < y ? -1 : x > y;
}

int release_times_merge(const realtime_t *a, size_t n_a, const realtime_t *b, size_t n_b,
                        size_t keep, realtime_t now, realtime_t **ret, size_t *ret_n)
{
	realtime_t *all = malloc(MAX(n_a + n_b, (size_t)1) * sizeof(*all));
	size_t n = 0, m = 0;

	if (!all) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_a + n_b; i++) {
		realtime_t t = i < n_a ? a[i] : b[i - n_a];

		if (t && release_in_window(t, now)) {
			all[n++] = t;
		}
	}
	qsort(all, n, sizeof(*all), cmp_time);
	for (size_t i = 0; i < n; i++) {
		if (m == 0 || all[m - 1] != all[i]) {
			all[m++] = all[i];
		}
	}
	if (m > keep) {
		memmove(all, all + (m - keep), keep * sizeof(*all));
		m = keep;
	}
	*ret = all;
	*ret_n = m;
	return 0;
}

bool client_merge_releases(Client *c, const realtime_t *times, size_t n)
{
	size_t keep = MAX((size_t)c->delivery.release_limit, (size_t)1), n_new = 0;
	realtime_t *merged = NULL;

	if (release_times_merge(c->releases, c->n_releases, times, n, keep, now_realtime(), &merged,
	                        &n_new) < 0) {
		log_oom();
		return false;
	}
	if (n_new == c->n_releases &&
	    (n_new == 0 || memcmp(merged, c->releases, n_new * sizeof(*merged)) == 0)) {
		free(merged);
		return false;
	}
	free(c->releases);
	c->releases = merged;
	c->n_releases = n_new;
	return true;
}

static int on_approved_until_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Client *c = userdata;

	if (c->approved_until != 0) {
		log_info("Approval of every request of %s ended", c->name);
		set_time(c, &c->approved_until, 0, CLIENT_PROP_APPROVED_UNTIL);
	}
	return 0;
}

/* The end-of-window timer at `until` on the realtime clock (the shared value is a wall-clock
 * time, and so is the state file's: a clock step moves the end with it). */
static int arm_approved_until_timer(Client *c, realtime_t until)
{
	int r;

	if (c->approved_until_timer) {
		r = sd_event_source_set_time(c->approved_until_timer, until);
		if (r >= 0) {
			r = sd_event_source_set_enabled(c->approved_until_timer, SD_EVENT_ONESHOT);
		}
	} else {
		r = sd_event_add_time(c->ctx->event, &c->approved_until_timer, CLOCK_REALTIME,
		                      until, TIMER_ACCURACY_USEC, on_approved_until_timer, c);
	}
	if (r < 0) {
		log_error_errno(r, "Cannot arm the approval timer for client %s: %m", c->name);
	}
	return r;
}

void client_set_approved_until(Client *c, realtime_t until)
{
	if (until != 0 && until <= now_realtime()) {
		until = 0;
	}
	if (until == 0) {
		disarm_timer(c->approved_until_timer);
	} else if (arm_approved_until_timer(c, until) < 0) {
		/* Without a timer nothing would end the window: fail closed. */
		until = 0;
	}
	if (c->approved_until == until) {
		return;
	}
	set_time(c, &c->approved_until, until, CLIENT_PROP_APPROVED_UNTIL);
	if (until != 0) {
		wake_waiters(c);
	}
}

void client_approve_for(Client *c, uint64_t msec)
{
	char buf[TIMESTAMP_STRING_MAX];
	realtime_t until;

	if (msec == 0) {
		if (c->approved_until != 0) {
			log_info("Approval of every request of %s cancelled", c->name);
		}
		client_set_approved_until(c, 0);
		return;
	}
	/* 10,000 years is forever enough, and still a time that formats and saves. */
	msec = MIN(msec, DURATION_MAX_MSEC);
	until = now_realtime() + msec * USEC_PER_MSEC_U;
	log_info("Approving every request of %s until %s", c->name,
	         timestamp_format_iso(until, buf, sizeof(buf)));
	client_set_approved_until(c, until);
}

void client_approval_begin(Client *c)
{
	if (c->approvals_pending++ == 0) {
		notify(c, CLIENT_PROP_APPROVAL_PENDING);
	}
}

void client_approval_end(Client *c)
{
	if (c->approvals_pending > 0 && --c->approvals_pending == 0) {
		notify(c, CLIENT_PROP_APPROVAL_PENDING);
	}
}

void client_need_approval(Client *c)
{
	set_time(c, &c->last_approval_request, now_realtime(), CLIENT_PROP_LAST_APPROVAL_REQUEST);
	CLIENT_NOTIFY(c->ctx, need_approval, c, c->s.approval_delay, c->s.approved_by_default);
}

void client_got_secret(Client *c)
{
	client_bump_timeout(c, c->s.extended_timeout);
	CLIENT_NOTIFY(c->ctx, got_secret, c);
}

void client_rejected(Client *c, const char *reason)
{
	CLIENT_NOTIFY(c->ctx, rejected, c, reason);
}

static bool same_string(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool client_replace_delivery(Client *c, ClientDelivery *d)
{
	const ClientDelivery *o = &c->delivery;
	bool same = o->protocols == d->protocols && o->release_limit == d->release_limit &&
	            o->sealed_len == d->sealed_len &&
	            (o->sealed_len == 0 || memcmp(o->sealed, d->sealed, o->sealed_len) == 0) &&
	            o->escrow.n == d->escrow.n &&
	            (o->escrow.n == 0 ||
	             sodium_memcmp(secret_data(&o->escrow.scalars), secret_data(&d->escrow.scalars),
	                           o->escrow.n * ESCROW_SCALAR_LEN) == 0) &&
	            same_string(o->escrow.keyfile, d->escrow.keyfile) &&
	            same_string(o->escrow.inline_at, d->escrow.inline_at);

	client_delivery_done(&c->delivery, c->ctx->store);
	c->delivery = *d;
	*d = (ClientDelivery){0};
	if (!same) {
		notify(c, CLIENT_PROP_DELIVERY);
	}
	return !same;
}

/* Overwrite path's bytes with zeros in place (hard links see them too), fsync, unlink it and
 * fsync its directory.  Returns 0, 1 when there was no such file any more (a reload found it
 * missing, or someone deleted it: nothing left to shred), or -errno with *ret_step the
 * failing step. */
static int shred_file(const char *path, const char **ret_step)
{
	static const uint8_t zeros[4096];
	_cleanup_free_ char *dir = strdup(path);
	_cleanup_close_ int fd = -EBADF, dfd = -EBADF;
	struct stat st;
	off_t left;

	*ret_step = "overwrite";
	if (!dir) {
		return -ENOMEM;
	}
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		return 1;
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		return negative_errno();
	}
	if (!S_ISREG(st.st_mode)) {
		return -EINVAL;
	}
	for (left = st.st_size; left > 0;) {
		ssize_t n = RETRY_EINTR(write(fd, zeros, (size_t)MIN(left, (off_t)sizeof(zeros))));

		if (n < 0) {
			return negative_errno();
		}
		left -= n;
	}
	if (fsync(fd) < 0) {
		return negative_errno();
	}
	*ret_step = "delete";
	if (unlink(path) < 0) {
		return negative_errno();
	}
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
	}
	return 0;
}

int client_shred_escrow(Client *c, char **ret_message)
{
	ClientEscrow *e = &c->delivery.escrow;
	const char *step = NULL;
	int r;

	*ret_message = NULL;
	if (e->inline_at) {
		return -EPERM;
	}
	if (e->n == 0 && !e->keyfile) {
		return -ENOENT;
	}
	secret_store_drop(c->ctx->store, &e->scalars);
	free(e->kids);
	e->kids = NULL;
	e->n = 0;
	client_disable(c, false);
	r = shred_file(e->keyfile, &step);
	if (r < 0) {
		log_error("Wiped the escrow keys of %s from memory, but cannot %s %s: %s", c->name,
		          step, e->keyfile, strerror(-r));
		if (asprintf(ret_message, "cannot %s %s: %s (errno %d)", step, e->keyfile,
		             strerror(-r), -r) < 0) {
			*ret_message = NULL;
		}
		notify(c, CLIENT_PROP_DELIVERY);
		return -EIO;
	}
	if (r > 0) {
		log_warning("Shredded the escrow keys of %s (%s was already gone)", c->name,
		            e->keyfile);
	} else {
		log_warning("Shredded the escrow keys of %s (%s deleted)", c->name, e->keyfile);
	}
	*ret_message = TAKE_PTR(e->keyfile);
	notify(c, CLIENT_PROP_DELIVERY);
	return 0;
}

void client_mark_removed(Client *c)
{
	c->removed = true;
	client_disable(c, true);
	disarm_timer(c->checker_timer);
	stop_checker(c);
	wake_waiters(c);
}

static char *dup_duration(uint64_t msec)
{
	char buf[DURATION_STRING_MAX];

	return strdup(duration_format_python(msec, buf, sizeof(buf)));
}

static char *dup_time(realtime_t t)
{
	char buf[TIMESTAMP_STRING_MAX];

	return strdup(timestamp_format_python(t, buf, sizeof(buf)));
}

char *client_expansion_value(const Client *c, const char *name)
{
	if (strcmp(name, "approval_delay") == 0) {
		return dup_duration(c->s.approval_delay);
	}
	if (strcmp(name, "approval_duration") == 0) {
		return dup_duration(c->s.approval_duration);
	}
	if (strcmp(name, "created") == 0) {
		return dup_time(c->created);
	}
	if (strcmp(name, "enabled") == 0) {
		return strdup(c->s.enabled ? "True" : "False");
	}
	if (strcmp(name, "expires") == 0) {
		return dup_time(c->expires);
	}
	if (strcmp(name, "key_id") == 0) {
		return strdup(c->s.key_id);
	}
	if (strcmp(name, "fingerprint") == 0) {
		return strdup(c->s.fingerprint);
	}
	if (strcmp(name, "host") == 0) {
		return strdup(c->s.host);
	}
	if (strcmp(name, "interval") == 0) {
		return dup_duration(c->s.interval);
	}
	if (strcmp(name, "last_approval_request") == 0) {
		return dup_time(c->last_approval_request);
	}
	if (strcmp(name, "last_checked_ok") == 0) {
		return dup_time(c->last_checked_ok);
	}
	if (strcmp(name, "last_enabled") == 0) {
		return dup_time(c->last_enabled);
	}
	if (strcmp(name, "name") == 0) {
		return strdup(c->name);
	}
	if (strcmp(name, "timeout") == 0) {
		return dup_duration(c->s.timeout);
	}
	if (c->ctx && c->ctx->expansion_hook) {
		return c->ctx->expansion_hook(c, name, c->ctx->expansion_userdata);
	}
	errno = ENOENT;
	return NULL;
}

int client_apply_settings(Client *c, const ClientSettings *n, unsigned mask)
{
	int r = 0;

	if (mask & CS_HOST) {
		r = client_set_host(c, n->host);
	}
	if (r >= 0 && (mask & CS_CHECKER)) {
		r = client_set_checker_command(c, n->checker);
	}
	if (r >= 0 && (mask & (CS_KEY_ID | CS_FINGERPRINT))) {
		r = client_settings_assign(&c->s, n, mask & (CS_KEY_ID | CS_FINGERPRINT));
	}
	if (r < 0) {
		return r;
	}
	if (mask & CS_TIMEOUT) {
		client_set_timeout(c, n->timeout);
	}
	if (mask & CS_EXTENDED_TIMEOUT) {
		client_set_extended_timeout(c, n->extended_timeout);
	}
	if (mask & CS_INTERVAL) {
		client_set_interval(c, n->interval);
	}
	if (mask & CS_APPROVAL_DELAY) {
		client_set_approval_delay(c, n->approval_delay);
	}
	if (mask & CS_APPROVAL_DURATION) {
		client_set_approval_duration(c, n->approval_duration);
	}
	if (mask & CS_APPROVED_BY_DEFAULT) {
		client_set_approved_by_default(c, n->approved_by_default);
	}
	if (mask & CS_ENABLED) {
		client_set_enabled(c, n->enabled);
	}
	return 0;
}
