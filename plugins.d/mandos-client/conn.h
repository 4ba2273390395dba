/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One attempt at a Mandos server: TCP connect, "1\r\n", TLS handshake as server, read to
 * close_notify. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <avahi-common/watch.h>
#include <gnutls/gnutls.h>

#include "macro.h"

/* Largest OpenPGP message we accept from a server. */
#define CONN_MAX_MESSAGE (1024 * 1024)

/* Our TLS side: raw public key credentials, priority, optional DH parameters. */
typedef struct TlsConfig TlsConfig;

/*
 * Load the raw public key pair (PEM SubjectPublicKeyInfo and PEM PKCS#8) and check the
 * priority string.  DH parameters: read from dh_params_file if given and usable (a warning
 * otherwise), else generated with dh_bits if non-zero, else left to GnuTLS.  Returns 0,
 * -EBADMSG for a bad key pair, -EINVAL for a bad priority string, or -errno.
 */
int tls_config_new(const char *pubkey, const char *privkey, const char *priority,
                   const char *dh_params_file, unsigned dh_bits, TlsConfig **ret);
TlsConfig *tls_config_free(TlsConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(TlsConfig *, tls_config_free)

typedef struct Conn Conn;

/*
 * Called once when the attempt ends.  r == 0: `data`/`len` is the complete message the server
 * sent before its close_notify (len > 0).  r < 0: the attempt failed (-ETIMEDOUT, -ECONNREFUSED,
 * -ENODATA for a clean close with no data, i.e. a rejection, -EPROTO for TLS errors, ...).
 * The callback may call conn_free() (it must, eventually).
 */
typedef void (*ConnDone)(Conn *c, int r, const unsigned char *data, size_t len, void *userdata);

typedef struct ConnTimeouts {
	unsigned step_ms;   /* connect, protocol line, handshake: each */
	unsigned secret_ms; /* from the end of the handshake to the server's close_notify */
} ConnTimeouts;

/*
 * Start an attempt (non-blocking; driven by `api`).  `name` is used in log messages.
 * Errors that connect() reports at once (such as -ENETUNREACH, which the caller may answer by
 * adding a route) are returned here and no callback follows.  Returns 0 and *ret, or -errno.
 */
int conn_start(const AvahiPoll *api, const TlsConfig *tls, const char *name,
               const struct sockaddr *sa, socklen_t salen, const ConnTimeouts *t, ConnDone done,
               void *userdata, Conn **ret);

/* Abort (if running) and free.  Accepts NULL; returns NULL. */
Conn *conn_free(Conn *c);
