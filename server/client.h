/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A configured client: its settings, runtime state, checker and timeout state machine, approval. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "checker.h"
#include "config.h"
#include "format.h"
#include "secret-store.h"

/*
 * State machine (spec 2.6, 2.7):
 *
 *   DISABLED --enable--> ENABLED: last_enabled=now, first checker after `interval`,
 *                                 expires = now + 2*interval
 *   ENABLED at start: first checker after a random delay d in [0, interval],
 *                     expires = now + d + interval
 *   ENABLED: every `interval` a checker (never two at once);
 *            checker exit 0 -> last_checked_ok=now, expires = now + timeout
 *            secret sent   -> expires = now + extended_timeout
 *            now >= expires -> DISABLED (checker's process group stopped, waiters woken)
 *   DISABLED: no checkers, no secrets; stays so until enabled (also across restarts).
 *
 * Every change is reported to the observers (ClientObserver), which is how the state file and
 * (later) D-Bus learn about it.  Setters below are what D-Bus property writes map to.
 *
 * For a D-Bus front end: register a ClientObserver on the manager's ClientContext before
 * manager_start() (it then gets client_added for every client, and the same later on reload),
 * map property writes and methods to the setters here (Enabled -> client_set_enabled,
 * Approve -> client_approve, CheckedOK/LastCheckedOK -> client_checked_ok, Secret ->
 * client_set_secret, CheckerRunning -> client_set_checker_running, ...), RemoveClient to
 * manager_remove_client(), and set ctx->expansion_hook for %%(dbus_object_path)s.  Read
 * values straight from the struct; timestamps for D-Bus with timestamp_format_iso().
 */

typedef struct Client Client;
typedef struct ClientContext ClientContext;

/* Properties as upstream's D-Bus API names them (for ClientObserver.property_changed). */
typedef enum ClientProperty {
	CLIENT_PROP_APPROVAL_DELAY,
	CLIENT_PROP_APPROVAL_DURATION,
	CLIENT_PROP_APPROVAL_PENDING,
	CLIENT_PROP_APPROVED_BY_DEFAULT,
	CLIENT_PROP_CHECKER,
	CLIENT_PROP_CHECKER_RUNNING,
	CLIENT_PROP_ENABLED,
	CLIENT_PROP_EXPIRES,
	CLIENT_PROP_EXTENDED_TIMEOUT,
	CLIENT_PROP_HOST,
	CLIENT_PROP_INTERVAL,
	CLIENT_PROP_LAST_APPROVAL_REQUEST,
	CLIENT_PROP_LAST_CHECKED_OK,
	CLIENT_PROP_LAST_CHECKER_STATUS,
	CLIENT_PROP_LAST_ENABLED,
	CLIENT_PROP_SECRET, /* invalidation only: the value is never readable */
	CLIENT_PROP_TIMEOUT,
	/* Ours: `delivery` was replaced on reload (D-Bus se.recompile.Mandos.Client.Delivery). */
	CLIENT_PROP_DELIVERY,
	/* Ours: `approved_until` changed (ApproveFor(), its end, or the shared state). */
	CLIENT_PROP_APPROVED_UNTIL,
	_CLIENT_PROP_MAX,
} ClientProperty;

/* Upstream's D-Bus property name ("ApprovalDelay", ...); NULL for CLIENT_PROP_DELIVERY. */
const char *client_property_name(ClientProperty p);

/*
 * Hooks for whoever mirrors clients elsewhere (the state file, D-Bus).  Every member may be
 * NULL.  Called synchronously from the event loop after the change is made; a hook may call
 * the getters but must not free the client.
 */
typedef struct ClientObserver {
	void (*property_changed)(Client *c, ClientProperty p, void *userdata);
	void (*checker_started)(Client *c, const char *command, void *userdata);
	/* exitcode 0..255 or -1 when killed; waitstatus as upstream (code << 8, or the signal) */
	void (*checker_completed)(Client *c, int exitcode, int64_t waitstatus, const char *command,
	                          void *userdata);
	void (*got_secret)(Client *c, void *userdata);
	void (*need_approval)(Client *c, uint64_t delay_msec, bool approved_by_default,
	                      void *userdata);
	void (*rejected)(Client *c, const char *reason, void *userdata);
	/* client_approve() was called (D-Bus Approve(), or the shared state applying another
	 * server's decision). */
	void (*approved)(Client *c, bool approve, void *userdata);
	/* Server level: a client appeared (start, reload) or is about to go away. */
	void (*client_added)(Client *c, void *userdata);
	void (*client_removed)(Client *c, void *userdata);
	/* An unknown key connected. */
	void (*client_not_found)(const char *key_id, const char *address, void *userdata);
} ClientObserver;

#define CLIENT_OBSERVERS_MAX 8

/* What all clients share; owned by the manager. */
struct ClientContext {
	sd_event *event;
	SecretStore *store;
	bool checker_output_to_null; /* foreground without --debug */
	struct {
		const ClientObserver *ops;
		void *userdata;
	} observers[CLIENT_OBSERVERS_MAX];
	size_t n_observers;
	/*
	 * Optional: the value of a runtime expansion name the client itself does not know
	 * (D-Bus adds "dbus_object_path"), malloc()ed, or NULL with errno ENOENT.
	 */
	char *(*expansion_hook)(const Client *c, const char *name, void *userdata);
	void *expansion_userdata;
	/*
	 * Optional (the etcd backend, fleet.h): true while no secret may be released (no etcd
	 * quorum heard for etcd_max_staleness, or the first sync not done).  release.c then
	 * answers RELEASE_UNAVAILABLE, checked at release_begin() and again before a grant.
	 * When it returns true it has written why into why (NUL-terminated, for the log line
	 * "WHY: releasing no secret to NAME").
	 */
	bool (*releases_blocked)(char *why, size_t why_size, void *userdata);
	void *releases_blocked_userdata;
};

/* Register an observer.  Returns 0 or -ENOSPC. */
int client_context_add_observer(ClientContext *ctx, const ClientObserver *ops, void *userdata);

/* Call every observer's `member` with the given arguments (used by client.c and the manager). */
#define CLIENT_NOTIFY(ctx, member, ...)                                                            \
	do {                                                                                       \
		for (size_t _i = 0; _i < (ctx)->n_observers; _i++) {                               \
			if ((ctx)->observers[_i].ops->member) {                                    \
				(ctx)->observers[_i].ops->member(__VA_ARGS__,                      \
				                                 (ctx)->observers[_i].userdata);   \
			}                                                                          \
		}                                                                                  \
	} while (0)

/* A connection waiting for this client's approval state to change. */
typedef struct ClientWaiter ClientWaiter;
struct ClientWaiter {
	void (*wake)(ClientWaiter *w);
	ClientWaiter *prev, *next;
};

/* Who disabled a client in this run. */
typedef enum ClientDisabledBy {
	CLIENT_DISABLED_BY_NONE = 0, /* enabled, or disabled before this run */
	CLIENT_DISABLED_BY_ADMIN,    /* client_disable(): D-Bus, mandos-ctl, removal */
	CLIENT_DISABLED_BY_TIMEOUT,  /* `expires` passed (now, or while the server was down) */
} ClientDisabledBy;

/* Approval decision. */
typedef enum { APPROVAL_UNDECIDED = -1, APPROVAL_DENIED = 0, APPROVAL_GRANTED = 1 } Approval;

/*
 * Fields are readable by anyone (use the setters to change them).  Times are realtime_t
 * (microseconds since the epoch, UTC), 0 for "never".
 */
struct Client {
	unsigned n_ref;
	ClientContext *ctx;
	char *name;
	ClientSettings s;      /* effective values (config, state, or set at runtime) */
	ClientSettings config; /* this run's clients.conf values, for the next merge */
	unsigned char config_secret_id[SECRET_ID_SIZE];
	Secret secret;
	Secret state_key; /* from the config secret; encrypts `secret` in the state file */
	ClientDelivery delivery; /* protocols, release limit, sealed secret (from clients.conf) */
	/* Wall-clock times of the latest releases, oldest first, at most max(release_limit, 1)
	 * kept; persisted in the state file (§A.5.2).  malloc()ed. */
	realtime_t *releases;
	size_t n_releases;

	realtime_t created;
	realtime_t last_enabled;
	realtime_t expires;
	realtime_t last_checked_ok;
	realtime_t last_approval_request;
	/* ApproveFor(): every request is approved, with no wait, until then (0 = not now).
	 * Persisted (state file, or the shared state with etcd). */
	realtime_t approved_until;
	int last_checker_status; /* 0..255, -1 crashed, -2 never ran */
	int last_checker_signal;

	Approval approved;
	unsigned approvals_pending;
	bool removed; /* no longer in clients.conf; connections must let go */
	/* Why this run disabled it (cleared on enable); the release decision tells a protocol 2
	 * client.  CLIENT_DISABLED_BY_NONE for one that came disabled from the state file. */
	ClientDisabledBy disabled_by;
	/* Protocol 2 requests between SERVER_AUTH and their RESULT (release.c's per-client cap). */
	unsigned releases_deciding;

	Checker *checker;
	sd_event_source *checker_timer; /* next checker start */
	bool checker_timer_randomized;
	sd_event_source *disable_timer;  /* at `expires` */
	sd_event_source *approval_timer; /* end of an Approve() decision */
	sd_event_source *approved_until_timer; /* CLOCK_REALTIME, at approved_until */
	ClientWaiter *waiters;
};

/*
 * A new client from a config entry (settings copied; the secret moved out of `cc`).
 * Runtime state as a fresh client: created=now; if enabled, last_enabled=now and
 * expires=now+timeout.  Nothing is scheduled until client_start().  Returns 0 or -ENOMEM.
 */
int client_new(ClientContext *ctx, ClientConfig *cc, Client **ret);

Client *client_ref(Client *c);
/* Drop a reference; the last one stops the checker and frees everything. Accepts NULL. */
Client *client_unref(Client *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Client *, client_unref)

/* Schedule checkers as at server start (random first delay) when enabled. */
void client_start(Client *c);

/* Enable (no-op when enabled) or disable (no-op when disabled; `quiet` skips the log line). */
void client_enable(Client *c);
void client_disable(Client *c, bool quiet);
void client_set_enabled(Client *c, bool enabled);

/* Upstream's D-Bus setters, with their side effects (spec 2.6). */
void client_set_timeout(Client *c, uint64_t msec);
void client_set_extended_timeout(Client *c, uint64_t msec);
void client_set_interval(Client *c, uint64_t msec);
void client_set_approval_delay(Client *c, uint64_t msec);
void client_set_approval_duration(Client *c, uint64_t msec);
void client_set_approved_by_default(Client *c, bool v);
int client_set_host(Client *c, const char *host);
int client_set_checker_command(Client *c, const char *command);
/* Replace the secret (bytes copied into the store).  Returns 0 or -errno. */
int client_set_secret(Client *c, const void *data, size_t len);
/* Start a checker now if none runs / stop the running one. */
void client_set_checker_running(Client *c, bool running);

/* A successful check (also what D-Bus CheckedOK and a LastCheckedOK write do). */
void client_checked_ok(Client *c);
/* Push the disable deadline to now + msec (when enabled). */
void client_bump_timeout(Client *c, uint64_t msec);
/* Approve(b): decide for `approval_duration`, wake waiting connections. */
void client_approve(Client *c, bool approve);

/*
 * ApproveFor(msec) (issue 14): approved_until = now + msec (0 cancels), waiting connections
 * woken (they are then approved), CLIENT_PROP_APPROVED_UNTIL for observers; a timer clears it
 * at the end.  client_set_approved_until() sets the time itself (state restore, the shared
 * state), with the same notification, wake-up and timer; a time in the past clears it, and an
 * unchanged time notifies nobody (applying a remote value notifies once, when it changes
 * the time).  msec is capped at 10,000 years.  The end-of-window timer runs
 * on CLOCK_REALTIME; release.c compares with the clock itself, so a late timer never
 * lengthens a window.
 */
void client_approve_for(Client *c, uint64_t msec);
void client_set_approved_until(Client *c, realtime_t until);

/*
 * For the shared state (fleet.c), which applies other servers' values through these, with
 * the same notifications as the setters above.
 *
 * client_disable_as(): client_disable() with the reason recorded in disabled_by before
 * observers hear of it (CLIENT_DISABLED_BY_TIMEOUT for a timeout, by this server or another).
 * client_set_expires(): when enabled, the disable deadline moves to `expires` (a time in the
 * past disables at the next turn of the loop); no-op when disabled or for 0.
 * client_set_last_checked_ok(), client_set_last_enabled(): the field, notified, nothing
 * else (no deadline moves).
 * client_set_approval(): another server's Approve(): decided until `until` (a time in the
 * past: nothing), observers' `approved` called, waiting connections woken.
 * client_merge_releases(): the union of the client's release times and `times` (n of them),
 * keeping those in the rolling window, at most max(release_limit, 1), the newest; returns
 * whether the client's list changed.
 */
void client_disable_as(Client *c, ClientDisabledBy by, bool quiet);
void client_set_expires(Client *c, realtime_t expires);
void client_set_last_checked_ok(Client *c, realtime_t t);
void client_set_last_enabled(Client *c, realtime_t t);
void client_set_approval(Client *c, bool approve, realtime_t until);
bool client_merge_releases(Client *c, const realtime_t *times, size_t n);

/* §A.5.2: the rolling window of the release limit. */
#define CLIENT_RELEASE_WINDOW_USEC (24ULL * 3600 * 1000000ULL)

/*
 * The union of two lists of release times (any order, duplicates and zeros allowed): those
 * in the window at `now`, sorted, each once, at most `keep` (the newest).  *ret is
 * malloc()ed (also when empty).  Returns 0 or -ENOMEM (nothing set).
 */
int release_times_merge(const realtime_t *a, size_t n_a, const realtime_t *b, size_t n_b,
                        size_t keep, realtime_t now, realtime_t **ret, size_t *ret_n);

/* Connection side of approval. */
void client_approval_begin(Client *c);
void client_approval_end(Client *c);
void client_need_approval(Client *c);
void client_add_waiter(Client *c, ClientWaiter *w);
void client_remove_waiter(Client *c, ClientWaiter *w);
/* Secret sent: expires = now + extended_timeout, GotSecret. */
void client_got_secret(Client *c);
void client_rejected(Client *c, const char *reason);

/*
 * Reload: take the new clients.conf `delivery` (moved out of *d), keeping the release times.
 * Connections waiting keep going and read it at their decision.  Returns whether it differs
 * from the old one (then observers got CLIENT_PROP_DELIVERY).
 */
bool client_replace_delivery(Client *c, ClientDelivery *d);

/*
 * D-Bus ShredEscrowKeys (decisions.md): for keys of an escrow_keyfile only.  Wipes the
 * scalars (no kids left), disables the client as Disable() does, overwrites the keyfile with
 * zeros in place, fsyncs, unlinks it and fsyncs its directory; CLIENT_PROP_DELIVERY for
 * observers.  Returns 0 with *ret_message the deleted path (malloc()ed; the client forgets
 * it); -EPERM when the keys are written inline (nothing changes); -ENOENT when there are
 * none; -EIO when the file could not be overwritten or deleted (memory wiped and client
 * disabled all the same; *ret_message says which step, the path and errno, or NULL).
 */
int client_shred_escrow(Client *c, char **ret_message);

/* Mark as removed from the configuration: disable quietly and wake waiters. */
void client_mark_removed(Client *c);

/*
 * Value of a runtime expansion name (spec 2.5) as upstream's str(): durations "0:05:00",
 * times "2024-01-02 03:04:05.123456" or "None", booleans "True"/"False".  malloc()ed; NULL
 * with errno ENOENT for a name that is not allowed.
 */
char *client_expansion_value(const Client *c, const char *name);

/* Apply config changes (CS_* mask) from `n` as a reload or restore does, with side effects. */
int client_apply_settings(Client *c, const ClientSettings *n, unsigned mask);
