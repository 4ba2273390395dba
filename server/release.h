/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The release decision, one module for both protocols: is this client enabled, approved (with
 * the approval wait), within its release limit?  No transport inside: a connection asks, gets
 * a verdict through a callback, and on RELEASE_GRANTED commits the release, which counts it and
 * hands back the bytes to send.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "client.h"
#include "escrow.h"
#include "msg.h"

typedef enum ReleaseVerdict {
	RELEASE_GRANTED,          /* call release_commit() now */
	RELEASE_DISABLED,         /* value: P2_DISABLED_* reason (1 admin, 2 checker, 3 never OK) */
	RELEASE_DENIED,           /* an administrator denied */
	RELEASE_APPROVAL_TIMEOUT, /* approval_delay passed, approved_by_default false */
	RELEASE_LIMIT,            /* release limit reached; value: seconds until one frees (>= 1) */
	RELEASE_BUSY,             /* per-client concurrency cap (§A.5.1 step 5); value: 10 */
	RELEASE_REMOVED,          /* the section went away on reload: answer as unknown */
	RELEASE_UNAVAILABLE,      /* ctx->releases_blocked (etcd quorum lost, fleet.h); value:
	                           * seconds to retry after (protocol 2 TRY_LATER) */
} ReleaseVerdict;

/* Which material a release sends (for the log line, the counters and the bytes returned). */
typedef enum ReleaseMaterial {
	RELEASE_PROTOCOL_1, /* the OpenPGP secret */
	RELEASE_SEALED,     /* the sealed box of protocol 2 */
} ReleaseMaterial;

typedef struct Release Release;

/*
 * §A.5.1 step 2 (and §A.9.1 for protocol 1): whether client c may use this protocol at all
 * and has material for the request.  Protocol 1: the protocols include 1 and it has a
 * secret.  Protocol 2: they include 2, and WANT_SEALED is in flags (the CLIENT_AUTH flags)
 * and a sealed secret is loaded, or one of the request's escrow items (n_items of them)
 * names a kid of this client's escrow keys (kids of other clients and unknown kids never
 * count, §B.2).  No evaluation, no log, no signal: the caller answers (protocol 1: the
 * normal rejection, protocol 2: NO_MATERIAL) before release_begin().
 */
bool release_has_material(const Client *c, int protocol, uint32_t flags, const P2EscrowItem *items,
                          size_t n_items);

typedef struct ReleaseOps {
	/* The verdict, exactly once per release_begin() unless release_abort() came first.  May
	 * be called from inside release_begin() (no wait needed) or later from the event loop.
	 * value: see ReleaseVerdict. */
	void (*decided)(Release *r, ReleaseVerdict v, uint32_t value, void *userdata);
	/* Optional: the approval wait started or is still on (at its start, then every 15 s):
	 * seconds left and approved_by_default, for protocol 2's STATUS AWAITING_APPROVAL. */
	void (*waiting)(Release *r, uint32_t seconds_left, bool approved_by_default,
	                void *userdata);
} ReleaseOps;

/*
 * Start deciding for client c (referenced for the life of the release).  protocol is 1 or 2
 * (for the per-client concurrency cap, which applies to protocol 2 only, and the log).
 * Checks, in the order of §A.5.1: enabled, release limit, concurrency, approval (waiting for
 * Approve(), the delay, or a change of the client, with NeedApproval and ApprovalPending as
 * spec §2.7).  Rejections emit Rejected(reason) as upstream.  Returns 0 or -ENOMEM.
 *
 * *ret is set before ops->decided can run, so decided may use the release (commit) and may
 * even free it, and with it the connection: every call into this module that can decide
 * (release_begin() included) touches nothing after decided returns, so the caller must
 * not either (call release_begin() last).  ApprovalPending drops when the verdict is given.
 */
int release_begin(sd_event *event, Client *c, int protocol, const ReleaseOps *ops, void *userdata,
                  Release **ret);

/*
 * After RELEASE_GRANTED: re-check the limit and count the release atomically, set expires to
 * now + extended_timeout, emit GotSecret, log "Sending secret to NAME (...)", and return the
 * bytes to send (owned by the client; valid until the next return to the event loop).
 * Returns 0, -EAGAIN when the limit was reached meanwhile (*ret_value = seconds), -ENOENT when
 * the client has no such material.
 */
int release_commit(Release *r, ReleaseMaterial m, const uint8_t **ret_data, size_t *ret_len,
                   uint32_t *ret_value);

/* What a protocol 2 release sends (§A.5.1 step 7): the sealed box, then the ESCROW items. */
typedef struct ReleaseP2 {
	const uint8_t *sealed; /* the client's (valid until the next return to the event loop),
	                        * or NULL when not requested or not loaded */
	size_t sealed_len;
	uint8_t escrow[P2_MAX_ESCROW_ITEMS][P2_ESCROW_ITEM_LEN]; /* kid ‖ y, request order */
	size_t n_escrow;
} ReleaseP2;

/*
 * The protocol 2 commit: as release_commit(), and only then the escrow evaluation y = [S]x
 * for each item of req whose kid is one of this client's keys, in request order, with this
 * client's scalars only; the log line says what is sent ("sealed", "escrow ×N", both).
 * Returns 0, -EPERM (not granted), -EAGAIN (limit; *ret_value), -ENOENT (nothing of the
 * request exists any more: answer NO_MATERIAL, nothing counted), -EIO (evaluation failed:
 * nothing in *ret), -ENOMEM.
 */
int release_commit_p2(Release *r, const P2ClientAuth *req, ReleaseP2 *ret, uint32_t *ret_value);

/* The peer went away or the connection ends: stop waiting (ApprovalPending drops at once). */
void release_abort(Release *r);

/* Free (aborting first if still waiting).  Accepts NULL, returns NULL. */
Release *release_free(Release *r);

/* Releases still allowed now in the rolling 24 h window, or -1 when unlimited (D-Bus). */
int64_t release_left(const Client *c, realtime_t now);
