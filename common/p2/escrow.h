/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Protocol 2 Part B (spec/protocol-2.md §B.1, §B.4): the McCallum-Relyea exchange on
 * ristretto255 (server keys, binding, blinding, evaluation, unblinding, wrapping) and the
 * k-of-n Shamir split over the ristretto255 scalar field.  libc + libsodium only; every random
 * draw goes through libsodium (so the test RNG of testrng.h makes runs reproducible, in the
 * draw order of §B.4.1 / §B.6).  Secrets (S, C, E, K, kw, d, D, coefficients, passwords) are
 * only ever in the caller's buffers, which the caller keeps in sodium_malloc memory, and in
 * locals this module wipes before it returns.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "p2.h"
#include "secmem.h"

#define P2_SCALAR_LEN 32
#define P2_ESCROW_NONCE_LEN 24
#define P2_ESCROW_ABYTES 16
#define P2_ESCROW_BOX_MIN 17    /* a 1-byte secret */
#define P2_ESCROW_BOX_MAX 65503 /* a secret of P2_SECRET_MAX bytes */
#define P2_SHARE_BOX_LEN 48     /* a 32-byte share d_i */
#define P2_SHARES_MAX 8
#define P2_BINDING_SERVERS_MAX 4
#define P2_ESCROW_ITEM_LEN 48 /* RESULT item kind 2: kid ‖ y */

/* ---- §B.1 validation ---- */

/*
 * A configured scalar S as §B.1 accepts it: canonical (scalar_reduce(S ‖ 0³²) = S) and not
 * zero.  (Points: p2_point_acceptable() in p2.h.)
 */
bool p2_scalar_acceptable(const uint8_t S[P2_SCALAR_LEN]);

/* kid = BLAKE2b-128("mandos-p2 escrow kid" ‖ s). */
void p2_escrow_kid(const uint8_t s[P2_POINT_LEN], uint8_t ret_kid[P2_KID_LEN]);

/*
 * A server key from its scalar: s = [S]G and its kid.  Returns 0, or -EINVAL when S is not
 * acceptable (outputs untouched).
 */
int p2_escrow_server_key(const uint8_t S[P2_SCALAR_LEN], uint8_t ret_s[P2_POINT_LEN],
                         uint8_t ret_kid[P2_KID_LEN]);

/* ---- the exchange ---- */

/*
 * Client, per item and session: draw E, x = c + [E]G.  E is secret (the caller's sodium
 * memory).  Returns 0, or -EINVAL when c is not an acceptable point.
 */
int p2_escrow_blind(const uint8_t c[P2_POINT_LEN], uint8_t ret_E[P2_SCALAR_LEN],
                    uint8_t ret_x[P2_POINT_LEN]);

/*
 * Server, at release only: y = [S]x.  Returns 0, or -EINVAL when x is not acceptable or the
 * product is the identity (crypto_scalarmult_ristretto255 returned -1).
 */
int p2_escrow_evaluate(const uint8_t S[P2_SCALAR_LEN], const uint8_t x[P2_POINT_LEN],
                       uint8_t ret_y[P2_POINT_LEN]);

/*
 * Client: check y (p2_point_acceptable), then K = y − [E]s.  Returns 0, or -EBADMSG when y is
 * not acceptable, -EINVAL when the result is unusable.  Wipes nothing of the caller's.
 */
int p2_escrow_unblind(const uint8_t E[P2_SCALAR_LEN], const uint8_t s[P2_POINT_LEN],
                      const uint8_t y[P2_POINT_LEN], uint8_t ret_K[P2_POINT_LEN]);

/* ---- bindings (the public half the client keeps; nothing here is secret alone) ---- */

/* One server key's part of a binding: a single binding, or share I of a threshold binding. */
typedef struct P2BindingKey {
	uint8_t kid[P2_KID_LEN];
	uint8_t s[P2_POINT_LEN];
	uint8_t c[P2_POINT_LEN];
	uint8_t nonce[P2_ESCROW_NONCE_LEN];
	uint8_t *box; /* malloc()ed ciphertext: 17 … 65 503 bytes (single), 48 (share) */
	size_t box_len;
	uint8_t servers[P2_BINDING_SERVERS_MAX][P2_KEY_ID_LEN]; /* `server` key ids, raw */
	uint8_t n_servers;                                      /* 0 … 4 (≥ 1 for a share) */
	char *address; /* share only: the optional "HOST:PORT" hint, malloc()ed, or NULL */
} P2BindingKey;

/* A binding file's contents (§B.3). */
typedef struct P2Binding {
	uint8_t threshold; /* 0: a single binding (keys[0]); else K, 2 ≤ K ≤ n_keys */
	uint8_t n_keys;    /* 1 for a single binding; N = shares for a threshold binding */
	uint8_t data_nonce[P2_ESCROW_NONCE_LEN]; /* threshold only */
	uint8_t *data_box;                       /* threshold only, malloc()ed, 17 … 65 503 */
	size_t data_box_len;
	P2BindingKey keys[P2_SHARES_MAX]; /* keys[i - 1] is share i */
} P2Binding;

/* Free what a binding owns and zero it.  Accepts NULL. */
void p2_binding_done(P2Binding *b);

/* Whether two bindings hold the same values (every field the file holds; for tests). */
bool p2_binding_equal(const P2Binding *a, const P2Binding *b);

/* ---- enrolment and rewrapping (mandos-keygen) ---- */

/*
 * §B.1 / §B.5 --escrow: draw S, then C, then the nonce (in this order); s, kid, c, K = [C]s,
 * kw, AD and the box of the password for this client (key_id_raw = SHA-256 of its SPKI,
 * p2_key_id_raw()).  Fills ret (a single binding, no servers: the caller adds them) and
 * ret_S (secret: the caller's sodium memory, printed as escrow_key).  Returns 0, -EINVAL
 * (password length 0 or > P2_SECRET_MAX), -ENOMEM.
 */
int p2_escrow_enrol(const uint8_t key_id_raw[P2_KEY_ID_LEN], const uint8_t *password, size_t len,
                    P2Binding *ret, uint8_t ret_S[P2_SCALAR_LEN]);

/*
 * §B.4.1 --threshold: draws D, a_1 … a_{k-1}, data_nonce, then per share i: S_i, C_i,
 * nonce_i.  Fills ret (threshold k, n keys, no servers or addresses: the caller adds them)
 * and ret_S[0 … n-1] (secret).  2 ≤ k ≤ n ≤ 8.  Returns 0, -EINVAL, -ENOMEM.
 */
int p2_threshold_enrol(const uint8_t key_id_raw[P2_KEY_ID_LEN], unsigned k, unsigned n,
                       const uint8_t *password, size_t len, P2Binding *ret,
                       uint8_t ret_S[][P2_SCALAR_LEN]);

/*
 * §B.5 --escrow-rewrap: a new password in b against its unchanged s (single: new C, c, nonce,
 * box; threshold: new D, coefficients, data_nonce, data box, and per share new C_i, c_i,
 * nonce_i, box_i, drawn in the order of §B.4.1 without the S_i).  kid, s, servers and
 * addresses stay.  On failure b is unchanged.  Returns 0, -EINVAL, -ENOMEM.
 */
int p2_binding_rewrap(P2Binding *b, const uint8_t key_id_raw[P2_KEY_ID_LEN],
                      const uint8_t *password, size_t len);

/* ---- opening (mandos-client) ---- */

/*
 * A single binding: K from p2_escrow_unblind(), then kw, AD and the box into a new SecBuf.
 * Returns 0, -EBADMSG (the box does not open: a wrong y or a foreign binding), -ENOMEM,
 * -EINVAL (b is a threshold binding).
 */
int p2_escrow_open(const P2Binding *b, const uint8_t key_id_raw[P2_KEY_ID_LEN],
                   const uint8_t K[P2_POINT_LEN], SecBuf **ret);

/*
 * Share i (1 … n) of a threshold binding: open box_i with K_i into d_i (secret, 32 bytes).
 * Returns 0, -EBADMSG (does not open), -EINVAL (i out of range, or b is a single binding).
 * ret_d is untouched on failure.
 */
int p2_share_open(const P2Binding *b, const uint8_t key_id_raw[P2_KEY_ID_LEN], unsigned i,
                  const uint8_t K[P2_POINT_LEN], uint8_t ret_d[P2_SCALAR_LEN]);

/*
 * §B.4.2: D from k opened shares (x-coordinates xs[j] in 1 … 8, pairwise distinct, with their
 * d values), with the ristretto255 scalar operations only; then kD and data_box into a new
 * SecBuf.  The caller passes the k lowest-numbered opened shares, ascending.  Returns 0,
 * -EBADMSG (the data box does not open: the binding is corrupt), -EINVAL (k ≠ b->threshold,
 * bad xs), -ENOMEM.
 */
int p2_threshold_open(const P2Binding *b, const uint8_t key_id_raw[P2_KEY_ID_LEN],
                      const uint8_t *xs, const uint8_t (*d)[P2_SCALAR_LEN], size_t k, SecBuf **ret);

/* ---- Shamir over GF(L), exposed for the vectors and the fuzzers ---- */

/* f(x) = coef[0] + coef[1]·x + … + coef[k-1]·x^(k-1) for the small integer x (1 … 255). */
void p2_sss_eval(const uint8_t (*coef)[P2_SCALAR_LEN], size_t k, uint8_t x,
                 uint8_t ret[P2_SCALAR_LEN]);

/* The Lagrange coefficient λ_i at 0 for xs[i] among xs[0 … k-1].  -EINVAL if not distinct. */
int p2_sss_lagrange(const uint8_t *xs, size_t k, size_t i, uint8_t ret[P2_SCALAR_LEN]);

/* ---- binding files (§B.3) ---- */

/* A binding file's size limit (the longest line is 100 000 bytes; N ≤ 8 sections). */
#define P2_BINDING_FILE_MAX (1024 * 1024)
#define P2_BINDING_LINE_MAX 100000

/*
 * Parse a binding file's text strictly by §B.3 (every rule: keys, order, sections, lengths,
 * kid = BLAKE2b-128(label ‖ s), points acceptable, distinct kids, disjoint server lists, no
 * `address` in a single binding).  Returns 0 and fills ret (p2_binding_done() it), or -EBADMSG
 * with *ret_line the 1-based line (0: the whole file, e.g. a missing key; a key missing from a
 * share: the line of its [share I] header) and *ret_why a static English reason (ret_line and
 * ret_why may be NULL), or -ENOMEM.  ret is untouched on failure.  Never logs.  Beyond §B.3:
 * a `server` list naming one key id twice is rejected.
 */
int p2_binding_parse(const char *text, size_t len, P2Binding *ret, unsigned *ret_line,
                     const char **ret_why);

/*
 * The file's text in the layout of the spec's examples (a comment line first, hex kids lower
 * case, server ids upper case, "[share I]" sections separated by a blank line).  Returns a
 * malloc()ed NUL-terminated string, or NULL (ENOMEM).  p2_binding_parse() accepts it.
 */
char *p2_binding_format(const P2Binding *b);

/*
 * Read a binding file (regular file, at most P2_BINDING_FILE_MAX) and parse it.  Returns 0,
 * -errno from open/read/fstat, -EISDIR (a directory), -EINVAL (not a regular file), -EFBIG,
 * or -EBADMSG as p2_binding_parse() (*ret_line and *ret_why set only then).
 */
int p2_binding_load(const char *path, P2Binding *ret, unsigned *ret_line, const char **ret_why);
