/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The GnuTLS priority string shared by server and client, and its validation. */
#pragma once

/*
 * TLS 1.3 only, raw public keys (RFC 7250) only, no RSA key exchange, at least 128-bit
 * security.  The same string upstream uses for its raw-public-key builds.
 */
#define MANDOS_DEFAULT_PRIORITY                                                                    \
	"SECURE128:!CTYPE-X.509:+CTYPE-RAWPK:!RSA:!VERS-ALL:+VERS-TLS1.3:%PROFILE_ULTRA"

/*
 * Check that GnuTLS accepts a priority string.  Returns 0, or -EINVAL and, if ret_error_pos is
 * not NULL, the part of the string where GnuTLS stopped understanding it.
 */
int priority_check(const char *priority, const char **ret_error_pos);
