/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Non-blocking connection state machine with a deadline on every step. */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <avahi-common/timeval.h>

#include "io-util.h"
#include "log.h"
#include "tcp.h"

struct TlsConfig {
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	gnutls_dh_params_t dh;
};

typedef enum ConnState {
	CONN_CONNECTING,
	CONN_VERSION,
	CONN_HANDSHAKE,
	CONN_READING,
	CONN_DONE,
} ConnState;

struct Conn {
	const AvahiPoll *api;
	char *name;
	int fd;
	ConnState state;
	size_t version_sent;
	gnutls_session_t session;
	AvahiWatch *watch;
	AvahiTimeout *timeout;
	ConnTimeouts t;
	unsigned char *data;
	size_t len, cap;
	ConnDone done;
	void *userdata;
};

static int dh_params_from_file(TlsConfig *c, const char *path)
{
	_cleanup_free_ char *text = NULL;
	gnutls_datum_t d;
	size_t len;
	int r;

	r = read_full_file(path, 64 * 1024, &text, &len);
	if (r < 0) {
		return r;
	}
	if (gnutls_dh_params_init(&c->dh) < 0) {
		return -ENOMEM;
	}
	d.data = (unsigned char *)text;
	d.size = (unsigned)len;
	if (gnutls_dh_params_import_pkcs3(c->dh, &d, GNUTLS_X509_FMT_PEM) < 0) {
		gnutls_dh_params_deinit(c->dh);
		c->dh = NULL;
		return -EBADMSG;
	}
	return 0;
}

int tls_config_new(const char *pubkey, const char *privkey, const char *priority,
                   const char *dh_params_file, unsigned dh_bits, TlsConfig **ret)
{
	_cleanup_(tls_config_freep) TlsConfig *c = calloc(1, sizeof(TlsConfig));
	const char *err = NULL;
	int r;

	if (!c) {
		return -ENOMEM;
	}
	r = gnutls_certificate_allocate_credentials(&c->cred);
	if (r < 0) {
		c->cred = NULL;
		return -ENOMEM;
	}
	r = gnutls_certificate_set_rawpk_key_file(c->cred, pubkey, privkey, GNUTLS_X509_FMT_PEM,
	                                          NULL, 0, NULL, 0, 0, 0);
	if (r < 0) {
		log_error("Error[%d] while reading the key pair: %s", r, gnutls_strerror(r));
		return r == GNUTLS_E_FILE_ERROR ? -ENOENT : -EBADMSG;
	}
	r = gnutls_priority_init(&c->prio, priority, &err);
	if (r < 0) {
		c->prio = NULL;
		log_error("Syntax error at: %s", err ? err : priority);
		return -EINVAL;
	}
	if (dh_params_file) {
		r = dh_params_from_file(c, dh_params_file);
		if (r < 0) {
			log_warning_errno(r, "Could not use DH parameters from %s: %m",
			                  dh_params_file);
		}
	}
	if (!c->dh && dh_bits > 0) {
		log_debug("Generating %u-bit DH parameters", dh_bits);
		if (gnutls_dh_params_init(&c->dh) < 0) {
			c->dh = NULL;
			return -ENOMEM;
		}
		r = gnutls_dh_params_generate2(c->dh, dh_bits);
		if (r < 0) {
			log_warning("Could not generate DH parameters: %s", gnutls_strerror(r));
			gnutls_dh_params_deinit(c->dh);
			c->dh = NULL;
		}
	}
	if (c->dh) {
		gnutls_certificate_set_dh_params(c->cred, c->dh);
	}
	*ret = TAKE_PTR(c);
	return 0;
}

TlsConfig *tls_config_free(TlsConfig *c)
{
	if (!c) {
		return NULL;
	}
	if (c->cred) {
		gnutls_certificate_free_credentials(c->cred);
	}
	if (c->prio) {
		gnutls_priority_deinit(c->prio);
	}
	if (c->dh) {
		gnutls_dh_params_deinit(c->dh);
	}
	free(c);
	return NULL;
}

static void conn_io(AvahiWatch *w, int fd, AvahiWatchEvent ev, void *userdata);
static void conn_timeout(AvahiTimeout *t, void *userdata);

static void conn_set_deadline(Conn *c, unsigned ms)
{
	struct timeval tv;

	avahi_elapse_time(&tv, ms, 0);
	if (c->timeout) {
		c->api->timeout_update(c->timeout, &tv);
	} else {
		c->timeout = c->api->timeout_new(c->api, &tv, conn_timeout, c);
	}
}

static void conn_finish(Conn *c, int r)
{
	ConnDone done = c->done;

	c->state = CONN_DONE;
	if (c->watch) {
		c->api->watch_free(c->watch);
		c->watch = NULL;
	}
	if (c->timeout) {
		c->api->timeout_free(c->timeout);
		c->timeout = NULL;
	}
	c->done = NULL;
	if (done) {
		if (r == 0) {
			done(c, 0, c->data, c->len, c->userdata);
		} else {
			done(c, r, NULL, 0, c->userdata);
		}
	}
}

static void conn_timeout(AvahiTimeout *t, void *userdata)
{
	Conn *c = userdata;
	static const char *const what[] = {
	        [CONN_CONNECTING] = "connecting",
	        [CONN_VERSION] = "sending the protocol version",
	        [CONN_HANDSHAKE] = "the TLS handshake",
	        [CONN_READING] = "waiting for the secret",
	        [CONN_DONE] = "done",
	};

	log_info("Timed out %s with Mandos server %s", what[c->state], c->name);
	conn_finish(c, -ETIMEDOUT);
}

static void conn_want(Conn *c, AvahiWatchEvent ev)
{
	c->api->watch_update(c->watch, ev);
}

static void conn_want_tls(Conn *c)
{
	conn_want(c, gnutls_record_get_direction(c->session) ? AVAHI_WATCH_OUT : AVAHI_WATCH_IN);
}

static int conn_start_tls(Conn *c, const TlsConfig *tls)
{
	int r;

	r = gnutls_init(&c->session,
	                GNUTLS_SERVER | GNUTLS_NO_TICKETS | GNUTLS_ENABLE_RAWPK | GNUTLS_NONBLOCK);
	if (r < 0) {
		c->session = NULL;
		log_error("Error in GnuTLS session initialization: %s", gnutls_strerror(r));
		return -ENOMEM;
	}
	r = gnutls_priority_set(c->session, tls->prio);
	if (r >= 0) {
		r = gnutls_credentials_set(c->session, GNUTLS_CRD_CERTIFICATE, tls->cred);
	}
	if (r < 0) {
		log_error("Error setting up the GnuTLS session: %s", gnutls_strerror(r));
		return -EPROTO;
	}
	gnutls_certificate_server_set_request(c->session, GNUTLS_CERT_IGNORE);
	gnutls_handshake_set_timeout(c->session, 0);
	gnutls_transport_set_int(c->session, c->fd);
	return 0;
}

static void conn_step(Conn *c)
{
	int r;

	for (;;) {
		switch (c->state) {
		case CONN_CONNECTING:
			r = tcp_connect_result(c->fd);
			if (r == -EINPROGRESS) {
				return;
			}
			if (r < 0) {
				log_info_errno(r, "Failed to connect to Mandos server %s: %m",
				               c->name);
				conn_finish(c, r);
				return;
			}
			log_debug("Connected to Mandos server %s", c->name);
			c->state = CONN_VERSION;
			conn_set_deadline(c, c->t.step_ms);
			break;
		case CONN_VERSION: {
			static const char line[] = "1\r\n";
			ssize_t n = send(c->fd, line + c->version_sent,
			                 sizeof(line) - 1 - c->version_sent, MSG_NOSIGNAL);

			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR) {
					conn_want(c, AVAHI_WATCH_OUT);
					return;
				}
				r = -errno;
				log_info_errno(r, "Failed to send protocol version to %s: %m",
				               c->name);
				conn_finish(c, r);
				return;
			}
			c->version_sent += (size_t)n;
			if (c->version_sent < sizeof(line) - 1) {
				conn_want(c, AVAHI_WATCH_OUT);
				return;
			}
			c->state = CONN_HANDSHAKE;
			conn_set_deadline(c, c->t.step_ms);
			break;
		}
		case CONN_HANDSHAKE:
			r = gnutls_handshake(c->session);
			if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
				conn_want_tls(c);
				return;
			}
			if (r < 0) {
				log_info("TLS handshake with %s failed: %s", c->name,
				         gnutls_strerror(r));
				conn_finish(c, -EPROTO);
				return;
			}
			log_debug("TLS handshake with %s succeeded", c->name);
			c->state = CONN_READING;
			conn_set_deadline(c, c->t.secret_ms);
			break;
		case CONN_READING: {
			ssize_t n;

			if (c->cap - c->len < 4096 && c->cap < CONN_MAX_MESSAGE) {
				size_t ncap = c->cap ? c->cap * 2 : 16384;
				unsigned char *nd;

				ncap = MIN(ncap, (size_t)CONN_MAX_MESSAGE);
				nd = realloc(c->data, ncap);
				if (!nd) {
					conn_finish(c, log_oom());
					return;
				}
				c->data = nd;
				c->cap = ncap;
			}
			if (c->len == c->cap) {
				log_warning("Mandos server %s sent more than %d bytes", c->name,
				            CONN_MAX_MESSAGE);
				conn_finish(c, -EFBIG);
				return;
			}
			n = gnutls_record_recv(c->session, c->data + c->len, c->cap - c->len);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
				conn_want_tls(c);
				return;
			}
			if (n == GNUTLS_E_REHANDSHAKE) {
				c->state = CONN_HANDSHAKE;
				break;
			}
			if (n < 0) {
				log_info("Unknown error while reading data from encrypted session "
				         "with Mandos server %s: %s",
				         c->name, gnutls_strerror((int)n));
				conn_finish(c, -EPROTO);
				return;
			}
			if (n > 0) {
				c->len += (size_t)n;
				break;
			}
			/* close_notify: the whole message is here.  Say goodbye, without waiting
			 * for more than the socket buffer takes. */
			(void)gnutls_bye(c->session, GNUTLS_SHUT_WR);
			if (c->len == 0) {
				log_info("Mandos server %s sent no data (client rejected?)",
				         c->name);
				conn_finish(c, -ENODATA);
				return;
			}
			log_debug("Received %zu bytes from Mandos server %s", c->len, c->name);
			conn_finish(c, 0);
			return;
		}
		case CONN_DONE:
			return;
		}
	}
}

static void conn_io(AvahiWatch *w, int fd, AvahiWatchEvent ev, void *userdata)
{
	conn_step(userdata);
}

int conn_start(const AvahiPoll *api, const TlsConfig *tls, const char *name,
               const struct sockaddr *sa, socklen_t salen, const ConnTimeouts *t, ConnDone done,
               void *userdata, Conn **ret)
{
	Conn *c = calloc(1, sizeof(Conn));
	int r;

	if (!c) {
		return -ENOMEM;
	}
	c->api = api;
	c->fd = -EBADF;
	c->t = *t;
	c->done = done;
	c->userdata = userdata;
	c->name = strdup(name);
	if (!c->name) {
		r = -ENOMEM;
		goto fail;
	}
	c->fd = tcp_connect_start(sa, salen, false);
	if (c->fd < 0) {
		r = c->fd;
		goto fail;
	}
	r = conn_start_tls(c, tls);
	if (r < 0) {
		goto fail;
	}
	c->state = CONN_CONNECTING;
	c->watch = api->watch_new(api, c->fd, AVAHI_WATCH_OUT, conn_io, c);
	if (!c->watch) {
		r = -ENOMEM;
		goto fail;
	}
	conn_set_deadline(c, t->step_ms);
	if (!c->timeout) {
		r = -ENOMEM;
		goto fail;
	}
	*ret = c;
	return 0;
fail:
	c->done = NULL;
	conn_free(c);
	return r;
}

Conn *conn_free(Conn *c)
{
	if (!c) {
		return NULL;
	}
	if (c->watch) {
		c->api->watch_free(c->watch);
	}
	if (c->timeout) {
		c->api->timeout_free(c->timeout);
	}
	if (c->session) {
		gnutls_deinit(c->session);
	}
	safe_close(c->fd);
	free(c->data);
	free(c->name);
	free(c);
	return NULL;
}
