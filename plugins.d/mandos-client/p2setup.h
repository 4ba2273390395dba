/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mandos-client's protocol 2 material: identity, seal key, pins, and the session configuration. */
#pragma once

#include <stdbool.h>

#include "keys.h"
#include "p2.h"
#include "pins.h"
#include "transport.h"

typedef struct P2Setup {
	P2Identity *identity;            /* from tls-privkey.pem, through common/p2 */
	P2SealKey *seal;                 /* NULL: no sealed mode */
	bool escrow;                     /* escrow items exist: protocol 2 material too */
	P2Pins pins;                     /* pins.configured: never protocol 1 (§A.8.1) */
	P2Timeouts timeouts;             /* the spec's, shortened by --timeout */
	P2ClientConfig config;           /* what each session gets; points into this struct */
	char key_id[P2_KEY_ID_HEX_SIZE]; /* the client's own key id, for UNKNOWN_CLIENT */
} P2Setup;

/*
 * Read the pins file (absent: no pins) and add every --server-key-id.  A pins file that exists
 * but cannot be read counts as pins configured with none valid (fail closed).  Bad lines are
 * logged as FILE:LINE.  Returns 0, or -EINVAL for a bad --server-key-id (logged).
 */
int p2setup_pins(P2Setup *p, const char *path, char *const *key_ids);

/*
 * Load the identity and the seal key, and fill config and timeouts (hello and auth deadlines
 * at most step_ms).  escrow: the client has escrow items, so protocol 2 has material even
 * without a seal key (config then asks for escrow only; each session adds its items).
 * Returns 0; -ENOENT when the seal key file is absent, was not named on the command line and
 * there is no escrow item (quietly: no protocol 2 material); or another -errno (logged).
 */
int p2setup_keys(P2Setup *p, const char *tls_privkey, const char *seal_key, bool seal_key_given,
                 bool escrow, unsigned step_ms);

/* Whether the keys are loaded (protocol 2 has something to ask for: sealed or escrow). */
bool p2setup_ready(const P2Setup *p);

/* Wipe and free the keys. */
void p2setup_done(P2Setup *p);
