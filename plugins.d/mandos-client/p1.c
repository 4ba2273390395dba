/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Protocol 1 in mandos-client: GnuTLS credentials, GnuPG (GPGME) setup, attempts, decryption. */
#include "p1.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "client.h"
#include "conn.h"
#include "crypto/decrypt.h"
#include "crypto/priority.h"
#include "log.h"
#include "macro.h"
#include "privs.h"

const bool p1_built_in = true;

struct P1 {
	TlsConfig *tls;
	Decryptor *decryptor;
	bool gpg_failed; /* a late GnuPG setup failed: protocol 1 is off */
};

int p1_check_priority(const char *priority)
{
	const char *err = NULL;

	if (priority_check(priority ? priority : MANDOS_DEFAULT_PRIORITY, &err) < 0) {
		log_error("Syntax error at: %s", err);
		return EX_USAGE;
	}
	return 0;
}

static void gnutls_log(int level, const char *msg)
{
	log_debug("GnuTLS: %.*s", (int)strcspn(msg, "\n"), msg);
}

int p1_init(bool debug)
{
	int r = gnutls_global_init();

	if (r < 0) {
		log_error("GnuTLS initialization failed: %s", gnutls_strerror(r));
		return EX_UNAVAILABLE;
	}
	if (debug) {
		gnutls_global_set_log_function(gnutls_log);
		gnutls_global_set_log_level(2);
	}
	return 0;
}

/* GnuPG rejects keys "from the future": a clock still in January 1970 gets the key's mtime
 * (Debian bug #894495). */
static void fix_clock(const char *keyfile)
{
	struct timespec now, ts;
	struct stat st;

	if (clock_gettime(CLOCK_REALTIME, &now) == 0 && now.tv_sec >= 31 * 24 * 3600) {
		return;
	}
	if (stat(keyfile, &st) < 0) {
		return;
	}
	ts = st.st_mtim;
	if (privs_raise() < 0) {
		log_warning("Failed to raise privileges to set the clock");
		return;
	}
	if (clock_settime(CLOCK_REALTIME, &ts) < 0) {
		log_warning_errno(errno, "Failed to set the clock: %m");
	} else {
		log_info("Set the clock from 1970 to the time of %s", keyfile);
	}
	(void)privs_lower();
}

/* gpgme needs /dev/fd, which some initramfs setups lack (Debian bug #981302). */
static void ensure_dev_fd(void)
{
	if (access("/dev/fd", F_OK) == 0 || errno != ENOENT) {
		return;
	}
	if (privs_raise() == 0) {
		if (symlink("/proc/self/fd", "/dev/fd") < 0) {
			log_debug_errno(errno, "Failed to create /dev/fd: %m");
		}
		(void)privs_lower();
	}
}

static int setup_gpg(Client *c)
{
	P1 *p = c->p1;
	const char *tmpdir = getenv("TMPDIR");
	const char *const dflt[] = {"/run/tmp", "/tmp", NULL};
	const char *const from_env[] = {tmpdir, NULL};
	const char *paths[] = {c->args.pubkey, c->args.seckey};
	const char *detail = NULL;
	int r;

	ensure_dev_fd();
	r = decryptor_new(tmpdir && *tmpdir ? from_env : dflt, &p->decryptor);
	if (r == -ENOPKG) {
		log_error("GPGME initialization failed");
		return EX_UNAVAILABLE;
	}
	if (r < 0) {
		log_error_errno(r, "Failed to create a temporary GnuPG home: %m");
		return EX_OSERR;
	}
	log_debug("GnuPG home: %s", decryptor_home(p->decryptor));
	/* mandos-keygen signs every secret with the client's key; a server that has only the
	 * public key (anyone) cannot.  Upstream did not check. */
	decryptor_require_signature(p->decryptor, !c->args.allow_unsigned);
	for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
		fix_clock(paths[i]);
	}
	/* Both files in one gpg run: every process costs time at boot. */
	{
		const char *const list[] = {c->args.pubkey, c->args.seckey, NULL};

		r = decryptor_import_files(p->decryptor, list, &detail);
	}
	if (r < 0) {
		if (detail == c->args.pubkey || detail == c->args.seckey) {
			log_error_errno(r, "Failed to read key file %s: %m", detail);
		} else if (detail) {
			log_error("Failed to import the key files %s and %s: %s", c->args.pubkey,
			          c->args.seckey, detail);
		} else {
			log_error_errno(r, "Failed to import the key files %s and %s: %m",
			                c->args.pubkey, c->args.seckey);
		}
		p->decryptor = decryptor_free(p->decryptor);
		return EX_UNAVAILABLE;
	}
	return 0;
}

int p1_setup(Client *c)
{
	bool only = c->n_protocols == 1;
	int r;

	if (!client_has_protocol(c->protocols, c->n_protocols, 1)) {
		return 0;
	}
	c->p1 = calloc(1, sizeof(*c->p1));
	if (!c->p1) {
		log_oom();
		return EX_OSERR;
	}
	r = tls_config_new(c->args.tls_pubkey, c->args.tls_privkey,
	                   c->args.priority ? c->args.priority : MANDOS_DEFAULT_PRIORITY,
	                   c->args.dh_params_given || access(c->args.dh_params, R_OK) == 0
	                           ? c->args.dh_params
	                           : NULL,
	                   c->args.dh_bits, &c->p1->tls);
	if (r < 0 && only) {
		return r == -EINVAL ? EX_USAGE : EX_UNAVAILABLE;
	}
	if (r < 0) {
		log_warning("Not using protocol 1 (no TLS credentials)");
		client_drop_protocol(c, 1);
		return 0;
	}
	if (c->protocols[0] != 1) {
		return 0;
	}
	r = setup_gpg(c);
	if (r != 0 && only) {
		return r;
	}
	if (r != 0) {
		log_warning("Not using protocol 1 (no usable OpenPGP keys)");
		c->p1->gpg_failed = true;
		client_drop_protocol(c, 1);
	}
	return 0;
}

bool p1_ready(Client *c)
{
	P1 *p = c->p1;

	if (p && p->decryptor) {
		return true;
	}
	if (p && !p->gpg_failed && setup_gpg(c) == 0) {
		return true;
	}
	if (p && !p->gpg_failed) {
		log_warning("Not using protocol 1 (no usable OpenPGP keys)");
		p->gpg_failed = true;
	}
	client_drop_protocol(c, 1);
	return false;
}

static void conn_done(Conn *conn, int r, const unsigned char *data, size_t len, void *userdata)
{
	Server *s = userdata;
	Client *c = s->client;
	const char *detail = NULL;
	bool next = r == -ENODATA || r == -EPROTO;

	if (r == 0 && !c->have_password) {
		r = decryptor_decrypt(c->p1->decryptor, data, len, c->password, &detail);
		if (r < 0) {
			log_warning_errno(r, "bad gpgme_op_decrypt: %s (from %s)",
			                  detail ? detail : "%m", s->name);
			next = true;
		} else {
			log_debug("Decrypted a password of %zu bytes from %s", c->password->len,
			          s->name);
			client_secret_recovered(s);
		}
	}
	/* data belongs to conn: free it only now. */
	s->conn = conn_free(conn);
	client_attempt_done(s, next);
}

int p1_start(Server *s)
{
	Client *c = s->client;
	ConnTimeouts t = {
	        .step_ms = (unsigned)client_ms_of(c->args.timeout),
	        .secret_ms = (unsigned)client_ms_of(c->args.secret_timeout),
	};

	return conn_start(c->api, c->p1->tls, s->name, (const struct sockaddr *)&s->addr,
	                  s->addr_len, &t, conn_done, s, &s->conn);
}

void p1_stop(Server *s)
{
	s->conn = conn_free(s->conn);
}

void p1_done(Client *c)
{
	if (c->p1) {
		c->p1->decryptor = decryptor_free(c->p1->decryptor);
		c->p1->tls = tls_config_free(c->p1->tls);
		free(c->p1);
		c->p1 = NULL;
	}
	gnutls_global_deinit();
}
