/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * State shared by several servers through etcd (state_backend = etcd, issue 14).  Per client,
 * one key PREFIX "clients/" NAME whose value is a JSON object (fleet.c documents its fields):
 * enabled and why it was disabled, last_enabled, last_checked_ok, expires, the latest approval
 * decision and its end, approved_until (ApproveFor), the release times of the rolling window.
 * Every change a server makes is a read-modify-write transaction on that key (compare on
 * mod_revision, redone on conflict), merging field by field, so two servers never lose each
 * other's updates: times take the maximum, release times the union, an admin's disable or
 * enable the newest.  Every server watches the prefix and applies what others wrote to its
 * clients (without writing it back).  clients.conf and the secrets stay local; the state
 * file is still written (it holds the settings and the encrypted secret).
 *
 * Fail closed: until the first read of the prefix has succeeded, and whenever no quorum
 * answer (a linearizable read, a transaction or the watch's progress) came for
 * etcd_max_staleness, ctx->releases_blocked returns true (RELEASE_UNAVAILABLE), with one
 * WARNING when it starts and one INFO when it ends.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "client.h"

typedef struct Manager Manager;
typedef struct Fleet Fleet;

/*
 * For settings->state_etcd: the etcd client, the observer on m->ctx and the releases_blocked
 * hook.  Call after manager_setup_loop(), before manager_restore_state().  Returns 0 or
 * -errno (logged).
 */
int fleet_new(Manager *m, Fleet **ret);

/*
 * After manager_start(): read the prefix (creating missing clients' keys from the local
 * state), then watch.  Never fails for etcd being down: it retries every second and serves
 * nothing meanwhile.
 */
int fleet_start(Fleet *f);

/* Clients were added or removed by a reload: sync the new ones. */
void fleet_clients_changed(Fleet *f);

/* D-Bus RemoveClient of c (manager_remove_client()): delete its key, so that the other servers
 * drop it too (until their next reload).  Not for removals the shared state itself made.
 * f may be NULL. */
void fleet_client_deleted(Fleet *f, const Client *c);

/* Stop watching and writing (what was not written is lost) and free.  Accepts NULL. */
Fleet *fleet_free(Fleet *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(Fleet *, fleet_free)

typedef struct FleetHealth {
	bool serving;           /* releases allowed */
	bool synced;            /* the first read is done */
	realtime_t last_quorum; /* the latest quorum answer, 0 = never */
	uint64_t requests_failed;
	uint64_t conflicts; /* transactions redone because another server wrote first */
} FleetHealth;

/* For metrics and logs.  f may be NULL (file backend): serving, all zero. */
void fleet_health(const Fleet *f, FleetHealth *ret);
