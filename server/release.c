/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The release decision for both protocols: enabled, release limit, concurrency, approval. */
#include "release.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "escrow.h"
#include "log.h"
#include "macro.h"
#include "p2.h"

#define USEC_PER_SEC_U 1000000ULL
#define RELEASE_WINDOW_USEC CLIENT_RELEASE_WINDOW_USEC
/* §A.5.1 step 5: protocol 2 requests of one client between SERVER_AUTH and RESULT. */
#define RELEASE_MAX_DECIDING 4
#define RELEASE_BUSY_SECONDS 10
/* TRY_LATER while the shared state is unavailable: about when a partition may have healed. */
#define RELEASE_UNAVAILABLE_SECONDS 10
/* §A.5.1 step 6: STATUS AWAITING_APPROVAL every 15 s, never more than one a second. */
#define RELEASE_STATUS_INTERVAL_USEC (15 * USEC_PER_SEC_U)
#define RELEASE_STATUS_MIN_USEC USEC_PER_SEC_U

struct Release {
	sd_event *event;
	Client *client;
	int protocol;
	const ReleaseOps *ops;
	void *userdata;
	ClientWaiter waiter;
	bool waiting;               /* in the client's waiter list */
	bool approval_required;     /* counted in the client's approvals_pending */
	bool deciding;              /* counted in the client's releases_deciding */
	bool decided;               /* the verdict was given (or the release aborted) */
	bool granted;               /* ... and it was RELEASE_GRANTED: one commit allowed */
	uint64_t approval_deadline; /* CLOCK_MONOTONIC µs */
	uint64_t last_status;       /* CLOCK_MONOTONIC µs of the last ops->waiting, 0 = none */
	bool last_status_default;   /* the approved_by_default it told */
	sd_event_source *approval_timer;
	sd_event_source *status_timer;
	sd_event_source *wakeup;
};

static uint64_t now_mono(sd_event *e)
{
	uint64_t now = 0;

	(void)sd_event_now(e, CLOCK_MONOTONIC, &now);
	return now;
}

/* The index of kid among the client's escrow keys, or -1. */
static ssize_t escrow_index(const ClientEscrow *e, const uint8_t kid[P2_KID_LEN])
{
	const uint8_t(*kids)[ESCROW_KID_LEN] = client_escrow_kids(e);

	for (size_t i = 0; i < e->n; i++) {
		if (memcmp(kids[i], kid, P2_KID_LEN) == 0) {
			return (ssize_t)i;
		}
	}
	return -1;
}

/* How many of the request's kids are this client's (the others are ignored, §B.2). */
static size_t escrow_matches(const Client *c, const P2EscrowItem *items, size_t n_items)
{
	size_t n = 0;

	for (size_t i = 0; i < n_items; i++) {
		n += escrow_index(&c->delivery.escrow, items[i].kid) >= 0;
	}
	return n;
}

static bool sealed_wanted(const Client *c, uint32_t flags)
{
	return (flags & P2_FLAG_WANT_SEALED) && c->delivery.sealed && c->delivery.sealed_len > 0;
}

bool release_has_material(const Client *c, int protocol, uint32_t flags, const P2EscrowItem *items,
                          size_t n_items)
{
	if (!(c->delivery.protocols & PROTOCOL_BIT(protocol))) {
		return false;
	}
	if (protocol == 1) {
		return c->secret.len > 0; /* a section without secret is for protocol 2 only */
	}
	return sealed_wanted(c, flags) || escrow_matches(c, items, n_items) > 0;
}

/* A release time counts while it is younger than the window (one in the future counts). */
static bool in_window(realtime_t t, realtime_t now)
{
	return t > now || now - t < RELEASE_WINDOW_USEC;
}

static size_t count_in_window(const Client *c, realtime_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_releases; i++) {
		n += in_window(c->releases[i], now);
	}
	return n;
}

int64_t release_left(const Client *c, realtime_t now)
{
	size_t n;

	if (c->delivery.release_limit == 0) {
		return -1;
	}
	n = count_in_window(c, now);
	return n >= c->delivery.release_limit ? 0 : (int64_t)(c->delivery.release_limit - n);
}

/*
 * Whether the limit forbids a release now; then *ret_value is the number of seconds until
 * enough counted releases leave the window for one more (rounded up, 1 ... 86400).
 */
static bool limit_reached(const Client *c, realtime_t now, uint32_t *ret_value)
{
	uint32_t limit = c->delivery.release_limit;
	size_t n, skip, seen = 0;
	uint64_t wait = 0;

	if (limit == 0) {
		return false;
	}
	n = count_in_window(c, now);
	if (n < limit) {
		return false;
	}
	/* The (n - limit)-th counted time, oldest first, is the one that must leave. */
	skip = n - limit;
	for (size_t i = 0; i < c->n_releases; i++) {
		realtime_t t = c->releases[i];

		if (!in_window(t, now)) {
			continue;
		}
		if (seen++ == skip) {
			wait = t + RELEASE_WINDOW_USEC - now;
			break;
		}
	}
	wait = (wait + USEC_PER_SEC_U - 1) / USEC_PER_SEC_U;
	*ret_value =
	        (uint32_t)MAX(MIN(wait, (uint64_t)P2_TRY_LATER_MAX), (uint64_t)P2_TRY_LATER_MIN);
	return true;
}

/* Append now, keeping only what is in the window and at most max(limit, 1) times. */
static int record_release(Client *c, realtime_t now)
{
	size_t keep = MAX((size_t)c->delivery.release_limit, (size_t)1), n = 0, first;
	realtime_t *times;

	for (size_t i = 0; i < c->n_releases; i++) {
		n += in_window(c->releases[i], now);
	}
	n = MIN(n + 1, keep);
	times = malloc(n * sizeof(*times));
	if (!times) {
		return -ENOMEM;
	}
	times[n - 1] = now;
	/* The newest n - 1 of the counted times, in their order. */
	first = n - 1;
	for (size_t i = c->n_releases; i > 0 && first > 0; i--) {
		if (in_window(c->releases[i - 1], now)) {
			times[--first] = c->releases[i - 1];
		}
	}
	free(c->releases);
	c->releases = times;
	c->n_releases = n;
	return 0;
}

static void log_limit(Client *c)
{
	log_warning("Client %s reached its release limit (%" PRIu32 " per 24 h)", c->name,
	            c->delivery.release_limit);
	client_rejected(c, "Release limit");
}

/* §A.4.3 DISABLED values, worked out from how the client came to be disabled. */
static uint32_t disabled_reason(const Client *c)
{
	if (c->disabled_by == CLIENT_DISABLED_BY_TIMEOUT) {
		return c->last_checked_ok ? P2_DISABLED_CHECKER : P2_DISABLED_NEVER_OK;
	}
	if (c->disabled_by == CLIENT_DISABLED_BY_ADMIN) {
		return P2_DISABLED_BY_ADMIN;
	}
	/* clients.conf says "enabled = False": an administrator's choice. */
	if (!c->config.enabled) {
		return P2_DISABLED_BY_ADMIN;
	}
	/* Disabled in an earlier run: what the checker did last is all we know. */
	if (!c->last_checked_ok) {
		return P2_DISABLED_NEVER_OK;
	}
	if (c->last_checker_status != 0) {
		return P2_DISABLED_CHECKER;
	}
	return P2_DISABLED_BY_ADMIN;
}

static void stop_waiting(Release *r)
{
	if (r->waiting) {
		client_remove_waiter(r->client, &r->waiter);
		r->waiting = false;
	}
	if (r->approval_timer) {
		(void)sd_event_source_set_enabled(r->approval_timer, SD_EVENT_OFF);
	}
	if (r->status_timer) {
		(void)sd_event_source_set_enabled(r->status_timer, SD_EVENT_OFF);
	}
}

/* Everything a verdict or an abort ends. */
static void finish(Release *r)
{
	stop_waiting(r);
	if (r->wakeup) {
		(void)sd_event_source_set_enabled(r->wakeup, SD_EVENT_OFF);
	}
	if (r->approval_required) {
		r->approval_required = false;
		client_approval_end(r->client);
	}
	if (r->deciding) {
		r->deciding = false;
		r->client->releases_deciding--;
	}
	r->decided = true;
}

/*
 * Whether the shared state forbids every release now (fleet.h: no etcd quorum heard for
 * etcd_max_staleness); then it says why in the log.
 */
static bool releases_blocked(const Client *c)
{
	const ClientContext *ctx = c->ctx;
	char why[200] = "";

	if (!ctx || !ctx->releases_blocked ||
	    !ctx->releases_blocked(why, sizeof(why), ctx->releases_blocked_userdata)) {
		return false;
	}
	log_warning("%s: releasing no secret to %s", why[0] ? why : "etcd not available", c->name);
	return true;
}

/* Give the verdict: the caller may free r (and itself) from inside, so this comes last. */
static void decide(Release *r, ReleaseVerdict v, uint32_t value)
{
	/* The last look before a grant: an approval wait may have outlasted the quorum. */
	if (v == RELEASE_GRANTED && releases_blocked(r->client)) {
		v = RELEASE_UNAVAILABLE;
		value = RELEASE_UNAVAILABLE_SECONDS;
	}
	finish(r);
	r->granted = v == RELEASE_GRANTED;
	r->ops->decided(r, v, value, r->userdata);
}

static void reject_disabled(Release *r)
{
	Client *c = r->client;

	if (c->removed) {
		log_info("Client %s was removed from the configuration", c->name);
		decide(r, RELEASE_REMOVED, 0);
		return;
	}
	log_info("Client %s is disabled", c->name);
	client_rejected(c, "Disabled");
	decide(r, RELEASE_DISABLED, disabled_reason(c));
}

static uint32_t seconds_left(Release *r)
{
	uint64_t now = now_mono(r->event);

	if (now >= r->approval_deadline) {
		return 0;
	}
	return (uint32_t)MIN((r->approval_deadline - now + USEC_PER_SEC_U - 1) / USEC_PER_SEC_U,
	                     (uint64_t)UINT32_MAX);
}

static void tell_waiting(Release *r)
{
	uint32_t left = seconds_left(r);

	/* Nothing to tell at the deadline itself: the verdict comes now. */
	if (!r->ops->waiting || left == 0) {
		return;
	}
	r->last_status = now_mono(r->event);
	r->last_status_default = r->client->s.approved_by_default;
	r->ops->waiting(r, left, r->last_status_default, r->userdata);
}

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Release *r = userdata;

	(void)sd_event_source_set_time(s, usec + RELEASE_STATUS_INTERVAL_USEC);
	tell_waiting(r);
	return 0;
}

static int on_approval_timer(sd_event_source *s, uint64_t usec, void *userdata);

static int arm(Release *r, sd_event_source **s, uint64_t at, sd_event_time_handler_t cb,
               bool repeat)
{
	if (!*s) {
		int e = sd_event_add_time(r->event, s, CLOCK_MONOTONIC, at, 1000, cb, r);

		if (e < 0) {
			return e;
		}
	} else {
		(void)sd_event_source_set_time(*s, at);
	}
	return sd_event_source_set_enabled(*s, repeat ? SD_EVENT_ON : SD_EVENT_ONESHOT);
}

/* ApproveFor() (issue 14): every request is approved until then, with no wait. */
static bool approved_for_now(const Client *c)
{
	return c->approved_until != 0 && c->approved_until > now_realtime();
}

/* spec §2.7's loop: decide now if we can, else wait for a change of the client or the delay. */
static void approval_step(Release *r)
{
	Client *c = r->client;
	uint64_t now;

	stop_waiting(r);
	if (c->removed || !c->s.enabled) {
		reject_disabled(r);
		return;
	}
	if (c->approved == APPROVAL_GRANTED || c->s.approval_delay == 0) {
		decide(r, RELEASE_GRANTED, 0);
		return;
	}
	/* Before a denial: one given before the window (still within its approval_duration)
	 * does not outlast an ApproveFor; one given during the window denies only the requests
	 * that wait at that moment, and none waits while the window is open. */
	if (approved_for_now(c)) {
		log_info("Client %s is approved for now (ApproveFor)", c->name);
		decide(r, RELEASE_GRANTED, 0);
		return;
	}
	if (c->approved == APPROVAL_DENIED) {
		log_warning("Client %s was not approved", c->name);
		client_rejected(c, "Denied");
		decide(r, RELEASE_DENIED, 0);
		return;
	}
	log_info("Client %s needs approval", c->name);
	client_need_approval(c);
	now = now_mono(r->event);
	if (now >= r->approval_deadline) {
		on_approval_timer(NULL, 0, r);
		return;
	}
	client_add_waiter(c, &r->waiter);
	r->waiting = true;
	if (arm(r, &r->approval_timer, r->approval_deadline, on_approval_timer, false) < 0) {
		log_oom();
		decide(r, RELEASE_APPROVAL_TIMEOUT, 0);
		return;
	}
	if (!r->ops->waiting) {
		return;
	}
	/* STATUS at the start of the wait and every 15 s; a changed default at most 1/s. */
	if (r->last_status == 0 || (r->last_status_default != c->s.approved_by_default &&
	                            now >= r->last_status + RELEASE_STATUS_MIN_USEC)) {
		tell_waiting(r);
	}
	if (arm(r, &r->status_timer, r->last_status + RELEASE_STATUS_INTERVAL_USEC, on_status_timer,
	        true) < 0) {
		log_oom(); /* no keepalives then; the wait itself goes on */
	}
}

static int on_approval_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Release *r = userdata;
	Client *c = r->client;

	stop_waiting(r);
	if (c->removed || !c->s.enabled) {
		reject_disabled(r);
		return 0;
	}
	if (c->s.approved_by_default) {
		decide(r, RELEASE_GRANTED, 0);
		return 0;
	}
	log_warning("Client %s timed out while waiting for approval", c->name);
	client_rejected(c, "Approval timed out");
	decide(r, RELEASE_APPROVAL_TIMEOUT, 0);
	return 0;
}

static int on_wakeup(sd_event_source *s, void *userdata)
{
	Release *r = userdata;

	if (!r->decided) {
		approval_step(r);
	}
	return 0;
}

/* Called from inside the client's code: defer the work to a clean point of the loop. */
static void on_client_changed(ClientWaiter *w)
{
	Release *r = (Release *)((char *)w - offsetof(Release, waiter));

	if (!r->wakeup) {
		if (sd_event_add_defer(r->event, &r->wakeup, on_wakeup, r) < 0) {
			return;
		}
	}
	(void)sd_event_source_set_enabled(r->wakeup, SD_EVENT_ONESHOT);
}

int release_begin(sd_event *event, Client *c, int protocol, const ReleaseOps *ops, void *userdata,
                  Release **ret)
{
	Release *r = calloc(1, sizeof(*r));
	uint32_t value = 0;

	if (!r) {
		return -ENOMEM;
	}
	r->event = event;
	r->client = client_ref(c);
	r->protocol = protocol;
	r->ops = ops;
	r->userdata = userdata;
	r->waiter.wake = on_client_changed;
	*ret = r;

	if (c->removed || !c->s.enabled) {
		reject_disabled(r);
		return 0;
	}
	if (releases_blocked(c)) {
		decide(r, RELEASE_UNAVAILABLE, RELEASE_UNAVAILABLE_SECONDS);
		return 0;
	}
	if (limit_reached(c, now_realtime(), &value)) {
		log_limit(c);
		decide(r, RELEASE_LIMIT, value);
		return 0;
	}
	if (protocol == 2) {
		if (c->releases_deciding >= RELEASE_MAX_DECIDING) {
			log_info("Client %s has %u requests waiting already: busy", c->name,
			         c->releases_deciding);
			decide(r, RELEASE_BUSY, RELEASE_BUSY_SECONDS);
			return 0;
		}
		c->releases_deciding++;
		r->deciding = true;
	}
	/* Within an ApproveFor window: approved at once, without NeedApproval or
	 * ApprovalPending. */
	if (c->s.approval_delay > 0 && c->approved != APPROVAL_GRANTED && approved_for_now(c)) {
		log_info("Client %s is approved for now (ApproveFor)", c->name);
		decide(r, RELEASE_GRANTED, 0);
		return 0;
	}
	if (c->s.approval_delay > 0) {
		r->approval_required = true;
		client_approval_begin(c);
		r->approval_deadline = now_mono(event) + c->s.approval_delay * 1000;
	}
	approval_step(r);
	return 0;
}

/* The limit re-checked and the release counted (§A.5.1 step 7), for both commits. */
static int count_release(Release *r, uint32_t *ret_value)
{
	Client *c = r->client;
	realtime_t now = now_realtime();
	int e;

	if (limit_reached(c, now, ret_value)) {
		r->granted = false;
		log_limit(c);
		return -EAGAIN;
	}
	e = record_release(c, now);
	if (e < 0) {
		return e;
	}
	r->granted = false;
	return 0;
}

int release_commit(Release *r, ReleaseMaterial m, const uint8_t **ret_data, size_t *ret_len,
                   uint32_t *ret_value)
{
	Client *c = r->client;
	const uint8_t *data;
	size_t len;
	int e;

	if (!r->granted) {
		return -EPERM;
	}
	if (m == RELEASE_PROTOCOL_1) {
		data = c->secret.len > 0 ? secret_data(&c->secret) : NULL;
		len = c->secret.len;
	} else {
		data = c->delivery.sealed;
		len = c->delivery.sealed_len;
		if (!data || len == 0) {
			return -ENOENT;
		}
	}
	e = count_release(r, ret_value);
	if (e < 0) {
		return e;
	}
	if (m == RELEASE_PROTOCOL_1) {
		log_info("Sending secret to %s", c->name);
	} else {
		log_info("Sending secret to %s (protocol 2: sealed)", c->name);
	}
	client_got_secret(c);
	*ret_data = data;
	*ret_len = len;
	return 0;
}

int release_commit_p2(Release *r, const P2ClientAuth *req, ReleaseP2 *ret, uint32_t *ret_value)
{
	Client *c = r->client;
	const ClientEscrow *esc = &c->delivery.escrow;
	bool sealed;
	size_t n;
	int e;

	*ret = (ReleaseP2){0};
	if (!r->granted) {
		return -EPERM;
	}
	/* What is requested and exists now (a reload may have changed it during the wait). */
	sealed = sealed_wanted(c, req->flags);
	n = escrow_matches(c, req->items, req->n_items);
	if (!sealed && n == 0) {
		return -ENOENT;
	}
	e = count_release(r, ret_value);
	if (e < 0) {
		return e;
	}
	/* Evaluation: only now, only with this client's keys, in request order (§B.2). */
	for (size_t i = 0; i < req->n_items; i++) {
		ssize_t k = escrow_index(esc, req->items[i].kid);
		uint8_t *item = ret->escrow[ret->n_escrow];

		if (k < 0) {
			continue;
		}
		memcpy(item, req->items[i].kid, P2_KID_LEN);
		if (p2_escrow_evaluate(secret_data(&esc->scalars) + (size_t)k * ESCROW_SCALAR_LEN,
		                       req->items[i].point, item + P2_KID_LEN) < 0) {
			log_error("Client %s: escrow evaluation failed", c->name);
			sodium_memzero(ret, sizeof(*ret));
			return -EIO;
		}
		ret->n_escrow++;
	}
	if (sealed) {
		ret->sealed = c->delivery.sealed;
		ret->sealed_len = c->delivery.sealed_len;
	}
	if (sealed && n > 0) {
		log_info("Sending secret to %s (protocol 2: sealed, escrow ×%zu)", c->name, n);
	} else if (sealed) {
		log_info("Sending secret to %s (protocol 2: sealed)", c->name);
	} else {
		log_info("Sending secret to %s (protocol 2: escrow ×%zu)", c->name, n);
	}
	client_got_secret(c);
	return 0;
}

void release_abort(Release *r)
{
	if (r && !r->decided) {
		finish(r);
	}
	if (r) {
		r->granted = false;
	}
}

Release *release_free(Release *r)
{
	if (!r) {
		return NULL;
	}
	release_abort(r);
	sd_event_source_disable_unref(r->approval_timer);
	sd_event_source_disable_unref(r->status_timer);
	sd_event_source_disable_unref(r->wakeup);
	client_unref(r->client);
	free(r);
	return NULL;
}
