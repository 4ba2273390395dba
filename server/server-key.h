/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Protocol 2's server key and the protocols the server ends up serving (§A.1, §A.2.3, §A.3.4). */
#pragma once

#include "config.h"
#include "keys.h"

/*
 * Decide what to serve from s->protocols.  With protocol 2 asked for: the libsodium size check
 * (p2_check_sizes()), then the key at s->server_key into sodium_malloc memory (call as root,
 * before the privilege drop).  A key file readable by group or others is a WARNING.  When the
 * sizes are wrong or the key cannot be read: a WARNING and protocol 2 off; else INFO "Protocol
 * 2 server key ID: KEYID".  Returns the PROTOCOL_BIT() mask really served (0 when protocol 2
 * was the only one and is off: logged as an error) and *ret_identity (NULL without protocol 2;
 * the caller owns it).
 */
unsigned server_key_setup(const ServerSettings *s, P2Identity **ret_identity);

/*
 * --print-key-id: the key id of s->server_key, 64 uppercase hex digits and a newline on
 * stdout.  Returns the exit status: 0, or 1 with the reason on stderr.
 */
int server_key_print_id(const ServerSettings *s);
