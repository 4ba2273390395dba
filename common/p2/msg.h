/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Protocol 2 application messages (§A.4): strict builders and parsers, transcript, signatures. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "keys.h"
#include "p2.h"

typedef struct P2EscrowItem {
	uint8_t kid[P2_KID_LEN];
	uint8_t point[P2_POINT_LEN]; /* x in CLIENT_AUTH, y in RESULT */
} P2EscrowItem;

typedef struct P2ClientAuth {
	uint8_t client_pk[32];
	uint8_t sig[64];
	uint32_t flags;
	uint8_t n_items;
	P2EscrowItem items[P2_MAX_ESCROW_ITEMS];
} P2ClientAuth;

typedef struct P2Status {
	uint8_t code;
	uint8_t flags;
	uint32_t value;
	uint16_t tlen;
	char text[P2_TEXT_MAX + 1]; /* NUL-terminated copy, printable ASCII only */
} P2Status;

typedef struct P2ResultItem {
	uint8_t kind;
	uint16_t len;
	const uint8_t *data; /* points into the parsed buffer (or the caller's data when building) */
} P2ResultItem;

typedef struct P2Result {
	uint8_t code;
	uint8_t flags;
	uint32_t value;
	uint16_t tlen;
	char text[P2_TEXT_MAX + 1];
	uint8_t n_items;
	P2ResultItem items[P2_MAX_RESULT_ITEMS];
} P2Result;

/* TH = BLAKE2b-256("mandos-p2 transcript" ‖ "2\r\n" ‖ ClientHello ‖ ServerHello ‖ ClientHello2). */
void p2_transcript_hash(const uint8_t ch[P2_CLIENT_HELLO_LEN], const uint8_t sh[P2_SERVER_HELLO_LEN],
                        const uint8_t ch2[P2_CLIENT_HELLO2_LEN], uint8_t ret_th[32]);

/*
 * Build and sign CLIENT_AUTH (ca->client_pk is taken from id; ca->sig is filled in).  Writes
 * the plaintext (103 + 48n bytes) to ret.  Returns its length or -EINVAL (n > 8, WANT_ESCROW
 * inconsistent with n, duplicate kids).
 */
ssize_t p2_client_auth_build(P2ClientAuth *ca, const P2Identity *id, const uint8_t th[32],
                             uint8_t ret[P2_CLIENT_AUTH_MAX]);

/*
 * §A.4.2 steps 3-6 on a CLIENT_AUTH plaintext: layout, flags, kids, points, then sigC under the
 * message's own client_pk and th.  Returns 0 and fills ret, or -EBADMSG with *ret_why a static
 * reason for the server's INFO log ("bad signature", "duplicate kid", ...).
 */
int p2_client_auth_parse(const uint8_t *msg, size_t len, const uint8_t th[32], P2ClientAuth *ret,
                         const char **ret_why);

/*
 * SERVER_AUTH: sigS = Ed25519(sk_server, "mandos-p2 server auth" ‖ TH ‖ H_CA ‖ SA[0..34)),
 * H_CA = BLAKE2b-256 of the CLIENT_AUTH plaintext ca/ca_len.  Build writes 98 bytes.
 */
void p2_server_auth_build(const P2Identity *server, const uint8_t th[32], const uint8_t *ca,
                          size_t ca_len, uint8_t ret[P2_SERVER_AUTH_LEN]);

/* Check layout and sigS; writes the server's public key.  0 or -EBADMSG. */
int p2_server_auth_parse(const uint8_t *msg, size_t len, const uint8_t th[32], const uint8_t *ca,
                         size_t ca_len, uint8_t ret_server_pk[32]);

/* STATUS: build (text must be printable, ≤ 200) → length or -EINVAL; parse → 0 or -EBADMSG. */
ssize_t p2_status_build(const P2Status *st, uint8_t *ret, size_t size);
int p2_status_parse(const uint8_t *msg, size_t len, P2Status *ret);

/*
 * RESULT.  Build checks every §A.4.1 rule it can (OK form, refusal form, item kinds and
 * lengths) and returns the length or -EINVAL/-ENOBUFS.  Parse checks every rule of §A.4.2
 * "RESULT" against the request it answers (only requested items, SEALED first and only if
 * WANT_SEALED, ESCROW only for requested kids, in request order, at most one per kid, y
 * acceptable), and returns 0 or -EBADMSG; ret's item data point into msg.
 */
ssize_t p2_result_build(const P2Result *res, uint8_t *ret, size_t size);
int p2_result_parse(const uint8_t *msg, size_t len, const P2ClientAuth *request, P2Result *ret);

/* The size of a RESULT with these items, for buffer allocation. */
size_t p2_result_size(const P2Result *res);
