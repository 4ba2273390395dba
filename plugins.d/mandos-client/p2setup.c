/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Loads mandos-client's protocol 2 keys and pins with common/p2 (no GnuTLS needed). */
#include "p2setup.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "macro.h"

typedef struct BadLineCtx {
	const char *path;
} BadLineCtx;

static void bad_pin_line(unsigned line, const char *why, void *userdata)
{
	const BadLineCtx *ctx = userdata;

	log_warning("%s:%u: %s (this line matches no server)", ctx->path, line, why);
}

int p2setup_pins(P2Setup *p, const char *path, char *const *key_ids)
{
	BadLineCtx ctx = {.path = path};
	int r;

	r = p2_pins_load(&p->pins, path, bad_pin_line, &ctx);
	if (r == -ENOENT) {
		log_debug("No server pins file %s", path);
	} else if (r == -E2BIG) {
		log_warning("%s: too many pins; only the first %d are used", path, P2_PINS_MAX);
		p->pins.configured = true;
	} else if (r < 0) {
		log_error_errno(r,
		                "Failed to read the server pins file %s: %m (no server is trusted)",
		                path);
		p->pins.configured = true;
	} else {
		log_debug("Read %zu server pins from %s", p->pins.n, path);
	}
	for (char *const *i = key_ids; i && *i; i++) {
		r = p2_pins_add(&p->pins, *i);
		if (r == -EINVAL) {
			return log_error_errno(r, "Bad --server-key-id (64 hex digits): %s", *i);
		}
		if (r < 0) {
			return log_error_errno(r, "Failed to add --server-key-id %s: %m", *i);
		}
	}
	return 0;
}

int p2setup_keys(P2Setup *p, const char *tls_privkey, const char *seal_key, bool seal_key_given,
                 bool escrow, unsigned step_ms)
{
	const char *why = NULL;
	uint64_t step_us = (uint64_t)step_ms * 1000u;
	int r;

	r = p2_seal_key_load(seal_key, &p->seal, &why);
	if (r == -ENOENT && !seal_key_given) {
		log_debug("No seal key %s: protocol 2 %s", seal_key,
		          escrow ? "asks for escrow only" : "has nothing to ask for");
	} else if (r == -EBADMSG) {
		log_error("Bad seal key %s: %s", seal_key, why ? why : "malformed");
	} else if (r < 0) {
		log_error_errno(r, "Failed to read the seal key %s: %m", seal_key);
	}
	if (r < 0 && !escrow) {
		return r;
	}
	if (r < 0) {
		p->seal = NULL;
	}
	why = NULL;
	r = p2_identity_load(tls_privkey, &p->identity, &why);
	if (r < 0) {
		p->seal = p2_seal_key_free(p->seal);
		if (r == -EBADMSG) {
			return log_error_errno(r, "Bad TLS private key %s for protocol 2: %s",
			                       tls_privkey, why ? why : "malformed");
		}
		return log_error_errno(r, "Failed to read the TLS private key %s: %m", tls_privkey);
	}
	p2_key_id_hex(p->identity->pk, p->key_id);
	p->timeouts = p2_client_default_timeouts;
	p->timeouts.hello = MIN(p->timeouts.hello, step_us);
	p->timeouts.auth = MIN(p->timeouts.auth, step_us);
	p->config = (P2ClientConfig){
	        .identity = p->identity,
	        .seal = p->seal,
	        .pins = &p->pins,
	        .flags = p->seal ? P2_FLAG_WANT_SEALED : 0,
	        .timeouts = &p->timeouts,
	};
	p->escrow = escrow;
	log_debug("Protocol 2: key ID %s, seal key %s%s", p->key_id, p->seal ? seal_key : "(none)",
	          escrow ? ", escrow items" : "");
	return 0;
}

bool p2setup_ready(const P2Setup *p)
{
	return p->identity && (p->seal || p->escrow);
}

void p2setup_done(P2Setup *p)
{
	p->identity = p2_identity_free(p->identity);
	p->seal = p2_seal_key_free(p->seal);
	memset(&p->config, 0, sizeof(p->config));
}
