/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Protocol 2's server key and the protocols the server ends up serving (§A.1, §A.2.3, §A.3.4). */
#include "server-key.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "p2.h"

_Static_assert(SEALED_MIN == P2_SEALED_MIN && SEALED_MAX == P2_SEALED_MAX,
               "config.h's sealed box lengths are p2.h's");

/* Load the key; on failure *ret_why says why (static or strerror text). */
static int load(const char *path, P2Identity **ret, const char **ret_why)
{
	const char *why = NULL;
	int r = p2_identity_load(path, ret, &why);

	if (r == -EBADMSG && why) {
		*ret_why = why;
	} else if (r == -EFBIG) {
		*ret_why = "the file is too large for a key";
	} else if (r < 0) {
		*ret_why = strerror(-r);
	}
	return r;
}

unsigned server_key_setup(const ServerSettings *s, P2Identity **ret_identity)
{
	unsigned protocols = s->protocols ? s->protocols : PROTOCOLS_DEFAULT;
	P2Identity *id = NULL;
	const char *why = NULL;
	char hex[P2_KEY_ID_HEX_SIZE];
	struct stat st;

	*ret_identity = NULL;
	if (!(protocols & PROTOCOL_BIT(2))) {
		return protocols;
	}
	if (p2_check_sizes() < 0) {
		log_warning("libsodium size assumptions do not hold; protocol 2 is off");
		protocols &= ~PROTOCOL_BIT(2);
	} else if (load(s->server_key, &id, &why) < 0) {
		log_warning("Cannot read the protocol 2 server key %s: %s; protocol 2 is off "
		            "(make one with mandos-keygen --server-key)",
		            s->server_key, why);
		protocols &= ~PROTOCOL_BIT(2);
	} else {
		if (stat(s->server_key, &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH))) {
			log_warning("The server key %s is readable by group or others (mode %04o); "
			            "it should be 0600",
			            s->server_key, (unsigned)(st.st_mode & 07777));
		}
		p2_key_id_hex(id->pk, hex);
		log_info("Protocol 2 server key ID: %s", hex);
		*ret_identity = id;
	}
	if (protocols == 0) {
		log_error("Protocol 1 is not enabled either: no client can be served");
	}
	return protocols;
}

int server_key_print_id(const ServerSettings *s)
{
	P2Identity *id = NULL;
	const char *why = NULL;
	char hex[P2_KEY_ID_HEX_SIZE];

	if (load(s->server_key, &id, &why) < 0) {
		fprintf(stderr, "mandos: cannot read the server key %s: %s\n", s->server_key, why);
		return 1;
	}
	p2_key_id_hex(id->pk, hex);
	id = p2_identity_free(id);
	if (printf("%s\n", hex) < 0 || fflush(stdout) != 0) {
		return 1;
	}
	return 0;
}
