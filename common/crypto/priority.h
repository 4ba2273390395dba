/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The GnuTLS priority string shared by server and client, and its validation. */
#pragma once

#include <gnutls/gnutls.h>

/*
 * TLS 1.3 only, raw public keys (RFC 7250) only, no RSA key exchange, at least 128-bit
 * security.  The same string upstream uses for its raw-public-key builds.
 */
#define MANDOS_DEFAULT_PRIORITY                                                                    \
	"SECURE128:!CTYPE-X.509:+CTYPE-RAWPK:!RSA:!VERS-ALL:+VERS-TLS1.3:%PROFILE_ULTRA"

/*
 * Appended to MANDOS_DEFAULT_PRIORITY by priority_init(): the same groups and ciphers in
 * another order.  Each "-X:+X" pair moves X to the end, so only the order changes, never
 * the set.  X25519 comes first: with one key share (GNUTLS_KEY_SHARE_TOP) the TLS client
 * offers it, every peer using the default string accepts it, and it costs half of what
 * P-256 does.  ChaCha20-Poly1305 (a 256-bit key, like AES-256-GCM, which comes second) comes
 * first: its suite's SHA-256 key schedule costs a fifth of SHA-384's.  The peer, the TLS
 * server, follows our order, as GnuTLS does by default.
 */
#define MANDOS_PREFERENCE_ORDER                                                                    \
	":-GROUP-SECP256R1:-GROUP-SECP384R1:-GROUP-SECP521R1:-GROUP-X448:-GROUP-DH-ALL"           \
	":+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1:+GROUP-X448:+GROUP-DH-ALL"           \
	":-AES-256-GCM:-AES-256-CBC:-AES-256-CCM:-AES-128-GCM:-AES-128-CBC:-AES-128-CCM"          \
	":+AES-256-GCM:+AES-256-CBC:+AES-256-CCM:+AES-128-GCM:+AES-128-CBC:+AES-128-CCM"

/*
 * gnutls_priority_init() for the TLS client's side (the server): a string equal to
 * MANDOS_DEFAULT_PRIORITY gets MANDOS_PREFERENCE_ORDER appended; any other string is used as
 * given.  Returns a GnuTLS error code; *ret_error_pos as gnutls_priority_init() sets it.
 */
int priority_init(gnutls_priority_t *ret, const char *priority, const char **ret_error_pos);

/*
 * Check that GnuTLS accepts a priority string.  Returns 0, or -EINVAL and, if ret_error_pos is
 * not NULL, the part of the string where GnuTLS stopped understanding it.
 */
int priority_check(const char *priority, const char **ret_error_pos);
