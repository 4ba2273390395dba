/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mandos-client's escrow bindings (spec/protocol-2.md §B.3, §B.4.3): the escrow-*.conf files,
 * the (kid, x) items of each session, and what a server's ESCROW answers open: a single
 * binding's password, or shares of a threshold binding, kept in locked memory until k of them
 * reconstruct the password.  Prints the threshold console lines of §B.4.3.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "escrow.h"
#include "msg.h"
#include "p2.h"
#include "secmem.h"

/* One binding file. */
typedef struct EscrowBinding {
	char *path;
	const char *file; /* its base name, for console lines (points into path) */
	P2Binding b;
	uint8_t n_used; /* keys of b that are items (fewer than b.n_keys past the 8-item limit) */
	bool unusable;  /* threshold: the shares did not reconstruct the secret (corrupt file) */
	/* Threshold only: the opened shares d_i, sodium_malloc'ed (P2_SHARES_MAX × 32), wiped at
	 * bindings_done(); which are open, and the server each came from. */
	uint8_t (*d)[P2_SCALAR_LEN];
	bool opened[P2_SHARES_MAX];
	char from[P2_SHARES_MAX][P2_KEY_ID_HEX_SIZE];
	char *from_where[P2_SHARES_MAX];
	unsigned n_opened;
} EscrowBinding;

/* Item q of every session: key `key` of binding `binding`. */
typedef struct EscrowItemRef {
	size_t binding;
	uint8_t key;
} EscrowItemRef;

typedef struct EscrowBindings {
	EscrowBinding *list;
	size_t n;
	EscrowItemRef items[P2_MAX_ESCROW_ITEMS];
	size_t n_items;
	bool any_threshold;
} EscrowBindings;

/* A session's items: x sent, E kept (secret) for the unblinding.  sodium_malloc'ed. */
typedef struct EscrowSession {
	P2EscrowItem items[P2_MAX_ESCROW_ITEMS];
	uint8_t E[P2_MAX_ESCROW_ITEMS][P2_SCALAR_LEN];
	size_t n;
} EscrowSession;

/*
 * Read dir's escrow-*.conf files in C-locale name order.  A bad file is logged (FILE:LINE:
 * REASON) and left out; the others are used.  At most P2_MAX_ESCROW_ITEMS items in all (one
 * per single binding, N per threshold binding): the rest are logged as an error and left
 * out, as is a file with a kid an earlier file has.  give_to_user: files owned by root are
 * given to the plugin's user first (the default directory, as for the other key files).
 * Prints "threshold FILE: need K of N shares" for each threshold binding.  A missing
 * directory means no bindings.  Returns 0 or -ENOMEM.
 */
int bindings_load(EscrowBindings *bs, const char *dir, bool give_to_user);

/* Wipe and free everything (opened shares included).  Accepts a zeroed struct. */
void bindings_done(EscrowBindings *bs);

/*
 * The share `address` hints as --connect targets (bad ones logged and left out).  Returns 0
 * and a malloc()ed array (free each text), or -ENOMEM.
 */
int bindings_address_targets(const EscrowBindings *bs, ConnectTarget **ret, size_t *ret_n);

/*
 * A new session's items: the kids, in item order (bindings_session_blind() draws the rest).
 * Returns 0 and *ret (bindings_session_free() it) or -ENOMEM.
 */
int bindings_session_new(const EscrowBindings *bs, EscrowSession **ret);

/*
 * The session's blinding, once it runs (P2ClientConfig.blind): a fresh E and x = c + [E]G per
 * item, in item order, E kept in ses and x written to items (the session's copy of
 * ses->items, n of them).  Returns 0, or -EINVAL (n does not match, a bad c).
 */
int bindings_session_blind(const EscrowBindings *bs, EscrowSession *ses, P2EscrowItem *items,
                           size_t n);

/* Wipe and free; accepts NULL, returns NULL. */
EscrowSession *bindings_session_free(EscrowSession *ses);

/*
 * The ESCROW items of a RESULT OK that came in session ses, whose server (console name where,
 * "ADDRESS:PORT") proved the key id server_key_id (64 uppercase hex).  Opens what it can, in
 * item order, and prints the console lines; a y that opens nothing fails that item only.
 * key_id_raw: the client's own.  Returns 1 with *ret_secret (a new SecBuf) and *ret_binding
 * when a secret was recovered, 0 when not (yet), -ENOMEM.
 */
int bindings_answer(EscrowBindings *bs, const EscrowSession *ses, const P2Result *res,
                    const char *where, const char *server_key_id,
                    const uint8_t key_id_raw[P2_KEY_ID_LEN], SecBuf **ret_secret,
                    const EscrowBinding **ret_binding);

/*
 * Whether a server with this key id could still open something: a single binding it may
 * answer for, or an unopened share naming it in a threshold binding still in play.
 */
bool bindings_want_from(const EscrowBindings *bs, const char *server_key_id);

/* "threshold FILE: J of K shares; waiting for more servers" for each binding still short. */
void bindings_say_waiting(const EscrowBindings *bs);
