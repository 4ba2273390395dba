/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The persistent state file: our own line format, written atomically, secrets encrypted. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "client.h"
#include "config.h"
#include "secmem.h"

/*
 * Format (text, one "key value" per line, values escaped with state_escape()):
 *
 *   mandos-c-state 1
 *   client NAME
 *   created USEC            (and last_enabled, expires, last_checked_ok,
 *                            last_approval_request: microseconds since the epoch, 0 = never)
 *   approved_until USEC     ApproveFor()'s end (0 = none); absent in files of earlier
 *                           versions, which read as 0
 *   last_checker_status N
 *   s.host VALUE ...        the client's effective settings
 *   c.host VALUE ...        the clients.conf settings of that run (for the 3-way merge)
 *   secret BASE64           24-byte nonce + crypto_secretbox of the secret, under a key
 *                           derived from the clients.conf secret of that run
 *   release USEC            one per recorded release (§A.5.2), oldest first; none in
 *                           files of earlier versions, which read as "no releases"
 *   end
 *
 * The secret is never stored in the clear: whoever lacks clients.conf cannot read it, and
 * when clients.conf's secret changes the stored one is unreadable and the new one is used
 * (upstream's rule).
 */

#define STATE_FILE_NAME "clients.state"

typedef struct SavedClient {
	char *name;
	ClientSettings s;
	ClientSettings config;
	realtime_t created, last_enabled, expires, last_checked_ok, last_approval_request;
	realtime_t approved_until; /* 0 when none, or in an older file */
	int last_checker_status;
	unsigned char *secret_box; /* nonce + box, ordinary memory: it is ciphertext */
	size_t secret_box_len;
	realtime_t *releases; /* malloc()ed, oldest first, at most STATE_RELEASES_MAX */
	size_t n_releases;
} SavedClient;

/* Release times kept per client in the file: no limit allows more to count. */
#define STATE_RELEASES_MAX RELEASE_LIMIT_MAX

typedef struct SavedState {
	SavedClient *clients;
	size_t n;
} SavedState;

/*
 * Called for each complete client record; *sc may be moved from (zero it then).  A negative
 * return stops the reading and is returned.
 */
typedef int (*state_client_cb_t)(SavedClient *sc, void *userdata);

/*
 * Stream a state file, one client record at a time (so 10,000 clients never sit in memory
 * twice).  Records before a malformed line have been delivered.  Returns 0, -ENOENT when
 * missing, -EBADMSG when malformed (a message with the line number is logged), or -errno.
 */
int state_read(const char *path, state_client_cb_t cb, void *userdata);

/* Read a whole state file into memory (for tests and tools).  Errors as state_read(). */
int state_load(const char *path, SavedState *ret);
void saved_state_done(SavedState *s);
/* Move *sc (zeroed then) to the end of s.  Returns 0 or -ENOMEM (*sc untouched). */
int saved_state_append(SavedState *s, SavedClient *sc);
/* Free what a record holds and zero it. */
void saved_client_done(SavedClient *sc);

/*
 * Write the state of `clients`, then the records `kept` (clients whose sections are skipped
 * for now; see manager_reload()), to dir/STATE_FILE_NAME: a temporary file in the same
 * directory, fsync()ed, renamed over the old one, then the directory fsync()ed.  Returns 0 or
 * -errno (nothing replaced then).
 */
int state_save(const char *dir, Client *const *clients, size_t n, const SavedState *kept);

/*
 * The record state_save() would write for `c`, in memory (its secret boxed under its state
 * key as in the file).  Free it with saved_client_done().  Returns 0 or -ENOMEM.
 */
int state_snapshot(const Client *c, SavedClient *ret);

/*
 * Decrypt a saved secret with a client's state key into `out` (cleared first; its max must be
 * at least SECRET_MAX).  Returns 0, -EBADMSG when it does not decrypt (clients.conf's secret
 * changed), or a SecBuf error.
 */
int state_decrypt_secret(const SavedClient *sc, const Secret *state_key, SecBuf *out);
