/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Prometheus metrics: the counters, and GET /metrics on metrics_address from the event loop. */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "client.h"
#include "fleet.h"
#include "format.h"
#include "log.h"
#include "macro.h"
#include "manager.h"

/* Latency buckets (upper bounds), in µs and as the le label shows them. */
static const uint64_t bucket_usec[] = {
        1000,   2500,    5000,    10000,   25000,    50000,    100000,   250000,
        500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000,
};
static const char *const bucket_le[] = {
        "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
        "0.5",   "1",      "2.5",   "5",    "10",    "30",   "60",
};
#define N_BUCKETS ELEMENTSOF(bucket_usec)

enum { REFUSED_RATE, REFUSED_SOURCE, REFUSED_TOTAL, REFUSED_MAX, _REFUSED_N };
static const char *const refused_names[_REFUSED_N] = {"rate", "source", "total", "max"};

enum { CHECKER_SUCCESS, CHECKER_FAILURE, CHECKER_KILLED, _CHECKER_N };
static const char *const checker_names[_CHECKER_N] = {"success", "failure", "killed"};

/* Main thread only (see metrics.h).  Index [protocol - 1]. */
static struct {
	uint64_t unlocks[2][_DECISION_MAX];
	uint64_t duration_bucket[2][N_BUCKETS + 1]; /* per bucket, not cumulative; last: +Inf */
	uint64_t duration_sum_usec[2];
	uint64_t connections_open;
	uint64_t connections_total;
	uint64_t refused[_REFUSED_N];
	uint64_t handshake_failures[2];
	uint64_t checker_runs[_CHECKER_N];
	uint64_t scrapes;
	uint64_t scrapers_refused;
} counters;

void metrics_decision(const DecisionRecord *d)
{
	unsigned p, b = 0;

	if (d->protocol < 1 || d->protocol > 2 || (unsigned)d->result >= _DECISION_MAX) {
		return;
	}
	p = (unsigned)d->protocol - 1;
	counters.unlocks[p][d->result]++;
	while (b < N_BUCKETS && d->latency_usec > bucket_usec[b]) {
		b++;
	}
	counters.duration_bucket[p][b]++;
	counters.duration_sum_usec[p] += d->latency_usec;
}

void metrics_connection_opened(void)
{
	counters.connections_open++;
	counters.connections_total++;
}

void metrics_connection_closed(void)
{
	if (counters.connections_open > 0) {
		counters.connections_open--;
	}
}

void metrics_connection_refused(const char *reason)
{
	for (unsigned i = 0; i < _REFUSED_N; i++) {
		if (strcmp(reason, refused_names[i]) == 0) {
			counters.refused[i]++;
			return;
		}
	}
}

void metrics_handshake_failed(int protocol)
{
	if (protocol == 1 || protocol == 2) {
		counters.handshake_failures[protocol - 1]++;
	}
}

static void on_checker_completed(Client *c, int exitcode, int64_t waitstatus, const char *command,
                                 void *userdata)
{
	counters.checker_runs[exitcode == 0  ? CHECKER_SUCCESS
	                      : exitcode > 0 ? CHECKER_FAILURE
	                                     : CHECKER_KILLED]++;
}

static const ClientObserver checker_observer = {
        .checker_completed = on_checker_completed,
};

/* The exposition text. */

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void print_seconds(FILE *f, uint64_t usec)
{
	fprintf(f, "%" PRIu64 ".%06" PRIu64 "\n", usec / 1000000, usec % 1000000);
}

static void format_unlocks(FILE *f)
{
	family(f, "mandos_unlocks_total", "counter",
	       "Release decisions (unlock requests answered), by protocol and result.");
	for (unsigned p = 0; p < 2; p++) {
		for (unsigned r = 0; r < _DECISION_MAX; r++) {
			fprintf(f,
			        "mandos_unlocks_total{protocol=\"%u\",result=\"%s\"} %" PRIu64 "\n",
			        p + 1, decision_result_name((DecisionResult)r),
			        counters.unlocks[p][r]);
		}
	}
	family(f, "mandos_unlock_duration_seconds", "histogram",
	       "Time from accept() to the release decision, by protocol.");
	for (unsigned p = 0; p < 2; p++) {
		uint64_t n = 0;

		for (unsigned b = 0; b < N_BUCKETS; b++) {
			n += counters.duration_bucket[p][b];
			fprintf(f,
			        "mandos_unlock_duration_seconds_bucket{protocol=\"%u\",le=\"%s\"} "
			        "%" PRIu64 "\n",
			        p + 1, bucket_le[b], n);
		}
		n += counters.duration_bucket[p][N_BUCKETS];
		fprintf(f,
		        "mandos_unlock_duration_seconds_bucket{protocol=\"%u\",le=\"+Inf\"} "
		        "%" PRIu64 "\n",
		        p + 1, n);
		fprintf(f, "mandos_unlock_duration_seconds_sum{protocol=\"%u\"} ", p + 1);
		print_seconds(f, counters.duration_sum_usec[p]);
		fprintf(f, "mandos_unlock_duration_seconds_count{protocol=\"%u\"} %" PRIu64 "\n",
		        p + 1, n);
	}
}

static void format_connections(FILE *f)
{
	family(f, "mandos_connections_open", "gauge", "Client connections open now.");
	fprintf(f, "mandos_connections_open %" PRIu64 "\n", counters.connections_open);
	family(f, "mandos_connections_total", "counter",
	       "Client connections admitted (refused ones are not counted here).");
	fprintf(f, "mandos_connections_total %" PRIu64 "\n", counters.connections_total);
	family(f, "mandos_connections_refused_total", "counter",
	       "Client connections closed at accept(), by reason: rate (the source's rate limit), "
	       "source (unauthenticated connections per source), total (unauthenticated "
	       "connections in all), max (max_connections).");
	for (unsigned i = 0; i < _REFUSED_N; i++) {
		fprintf(f, "mandos_connections_refused_total{reason=\"%s\"} %" PRIu64 "\n",
		        refused_names[i], counters.refused[i]);
	}
	family(f, "mandos_handshake_failures_total", "counter",
	       "TLS (protocol 1) or protocol 2 handshakes that failed or timed out.");
	for (unsigned p = 0; p < 2; p++) {
		fprintf(f, "mandos_handshake_failures_total{protocol=\"%u\"} %" PRIu64 "\n", p + 1,
		        counters.handshake_failures[p]);
	}
}

static void format_clients(FILE *f, Manager *m)
{
	uint64_t enabled = 0, pending = 0;

	family(f, "mandos_checker_runs_total", "counter",
	       "Checker runs, by result: success (exit 0), failure (another exit status), killed "
	       "(by a signal).");
	for (unsigned i = 0; i < _CHECKER_N; i++) {
		fprintf(f, "mandos_checker_runs_total{result=\"%s\"} %" PRIu64 "\n",
		        checker_names[i], counters.checker_runs[i]);
	}
	if (!m) {
		return;
	}
	for (size_t i = 0; i < m->n_clients; i++) {
		enabled += m->clients[i]->s.enabled;
		pending += m->clients[i]->approvals_pending;
	}
	family(f, "mandos_clients", "gauge", "Clients in clients.conf, by state.");
	fprintf(f, "mandos_clients{state=\"enabled\"} %" PRIu64 "\n", enabled);
	fprintf(f, "mandos_clients{state=\"disabled\"} %" PRIu64 "\n",
	        (uint64_t)m->n_clients - enabled);
	family(f, "mandos_approvals_pending", "gauge", "Requests waiting for an approval now.");
	fprintf(f, "mandos_approvals_pending %" PRIu64 "\n", pending);
}

static void format_etcd(FILE *f, Manager *m)
{
	FleetHealth h = {0};

	if (!m || !m->fleet) {
		return; /* the file backend */
	}
	fleet_health(m->fleet, &h);
	family(f, "mandos_etcd_up", "gauge",
	       "1 while the shared state may be trusted (an etcd quorum answered lately), else 0.");
	fprintf(f, "mandos_etcd_up %d\n", h.serving ? 1 : 0);
	family(f, "mandos_etcd_synced", "gauge", "1 once the first read of the prefix is done.");
	fprintf(f, "mandos_etcd_synced %d\n", h.synced ? 1 : 0);
	family(f, "mandos_etcd_last_quorum_age_seconds", "gauge",
	       "Seconds since the latest answer of an etcd quorum (+Inf: none yet).");
	fprintf(f, "mandos_etcd_last_quorum_age_seconds ");
	if (h.last_quorum == 0) {
		fprintf(f, "+Inf\n");
	} else {
		realtime_t now = now_realtime();

		print_seconds(f, now > h.last_quorum ? now - h.last_quorum : 0);
	}
	family(f, "mandos_etcd_request_failures_total", "counter", "etcd requests that failed.");
	fprintf(f, "mandos_etcd_request_failures_total %" PRIu64 "\n", h.requests_failed);
	family(f, "mandos_etcd_conflicts_total", "counter",
	       "etcd transactions redone because another server wrote first.");
	fprintf(f, "mandos_etcd_conflicts_total %" PRIu64 "\n", h.conflicts);
}

int metrics_format(Manager *m, char **ret, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		return -ENOMEM;
	}
	format_unlocks(f);
	format_connections(f);
	format_clients(f, m);
	format_etcd(f, m);
	family(f, "mandos_metrics_scrapes_total", "counter", "Answers to GET /metrics.");
	fprintf(f, "mandos_metrics_scrapes_total %" PRIu64 "\n", counters.scrapes);
	family(f, "mandos_metrics_scrapers_refused_total", "counter",
	       "Scrapers closed at accept() because 4 were connected already.");
	fprintf(f, "mandos_metrics_scrapers_refused_total %" PRIu64 "\n",
	        counters.scrapers_refused);
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return -ENOMEM;
	}
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* The endpoint. */

typedef struct Scraper Scraper;
struct Scraper {
	int fd;
	sd_event_source *io;
	sd_event_source *deadline;
	char req[METRICS_REQUEST_MAX];
	size_t req_len;
	char *resp;
	size_t resp_len, resp_off;
	Scraper *prev, *next;
};

static struct {
	Manager *m;
	int listen_fd;
	sd_event_source *listen_source;
	char *unix_path; /* the socket we made, removed at stop (when we still may) */
	Scraper *scrapers;
	unsigned n_scrapers;
	bool observing;
} endpoint = {.listen_fd = -1};

static void scraper_free(Scraper *s)
{
	if (s->prev) {
		s->prev->next = s->next;
	} else {
		endpoint.scrapers = s->next;
	}
	if (s->next) {
		s->next->prev = s->prev;
	}
	endpoint.n_scrapers--;
	sd_event_source_disable_unref(s->io);
	sd_event_source_disable_unref(s->deadline);
	safe_close(s->fd);
	free(s->resp);
	free(s);
}

/* Write what the socket takes now; free s when all is written or the peer is gone. */
static void scraper_write(Scraper *s)
{
	while (s->resp_off < s->resp_len) {
		ssize_t n = send(s->fd, s->resp + s->resp_off, s->resp_len - s->resp_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno == EAGAIN) {
				(void)sd_event_source_set_io_events(s->io, EPOLLOUT);
				return;
			}
			log_debug_errno(errno, "Metrics scraper: write failed: %m");
			break;
		}
		s->resp_off += (size_t)n;
	}
	scraper_free(s);
}

static void scraper_answer(Scraper *s, const char *status, const char *type, char *body,
                           size_t body_len)
{
	char *head = NULL;
	int n = asprintf(&head,
	                 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                 "Connection: close\r\n\r\n",
	                 status, type, body_len);

	if (n < 0 || !(s->resp = malloc((size_t)n + body_len))) {
		free(head);
		free(body);
		log_oom();
		scraper_free(s);
		return;
	}
	memcpy(s->resp, head, (size_t)n);
	if (body_len) {
		memcpy(s->resp + n, body, body_len);
	}
	s->resp_len = (size_t)n + body_len;
	free(head);
	free(body);
	scraper_write(s);
}

static void scraper_error(Scraper *s, const char *status)
{
	char *body = NULL;
	int n = asprintf(&body, "%s\n", status);

	scraper_answer(s, status, "text/plain; charset=utf-8", n < 0 ? NULL : body,
	               n < 0 ? 0 : (size_t)n);
}

/* The request is complete (s->req holds it, NUL-terminated): answer it. */
static void scraper_request(Scraper *s)
{
	char *line_end = strpbrk(s->req, "\r\n");
	char *sp1, *sp2, *target;
	char *body = NULL;
	size_t len = 0;

	*line_end = '\0';
	sp1 = strchr(s->req, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		scraper_error(s, "400 Bad Request");
		return;
	}
	*sp1 = *sp2 = '\0';
	target = sp1 + 1;
	if (strcmp(s->req, "GET") != 0) {
		scraper_error(s, "405 Method Not Allowed");
		return;
	}
	target[strcspn(target, "?")] = '\0';
	if (strcmp(target, "/metrics") != 0) {
		scraper_error(s, "404 Not Found");
		return;
	}
	if (metrics_format(endpoint.m, &body, &len) < 0) {
		log_oom();
		scraper_error(s, "500 Internal Server Error");
		return;
	}
	counters.scrapes++;
	scraper_answer(s, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body, len);
}

static void scraper_read(Scraper *s)
{
	for (;;) {
		size_t room = sizeof(s->req) - 1 - s->req_len;
		ssize_t n;

		if (room == 0) {
			(void)sd_event_source_set_io_events(s->io, EPOLLOUT);
			scraper_error(s, "431 Request Header Fields Too Large");
			return;
		}
		n = recv(s->fd, s->req + s->req_len, room, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			return;
		}
		if (n <= 0) {
			scraper_free(s); /* gone before its request was complete */
			return;
		}
		s->req_len += (size_t)n;
		s->req[s->req_len] = '\0';
		if (strstr(s->req, "\r\n\r\n") || strstr(s->req, "\n\n")) {
			(void)sd_event_source_set_io_events(s->io, EPOLLOUT);
			scraper_request(s);
			return;
		}
	}
}

static int on_scraper_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	Scraper *s = userdata;

	if (s->resp) {
		scraper_write(s);
	} else {
		scraper_read(s);
	}
	return 0;
}

static int on_scraper_deadline(sd_event_source *src, uint64_t usec, void *userdata)
{
	log_debug("Metrics scraper: closed at its deadline");
	scraper_free(userdata);
	return 0;
}

static void scraper_new(int fd)
{
	Scraper *s = calloc(1, sizeof(*s));
	sd_event *e = endpoint.m->event;

	if (!s) {
		log_oom();
		safe_close(fd);
		return;
	}
	s->fd = fd;
	s->next = endpoint.scrapers;
	if (s->next) {
		s->next->prev = s;
	}
	endpoint.scrapers = s;
	endpoint.n_scrapers++;
	if (sd_event_add_io(e, &s->io, fd, EPOLLIN, on_scraper_io, s) < 0 ||
	    sd_event_add_time_relative(e, &s->deadline, CLOCK_MONOTONIC, METRICS_DEADLINE_USEC, 0,
	                               on_scraper_deadline, s) < 0) {
		log_warning("Metrics scraper: cannot watch its socket");
		scraper_free(s);
	}
}

static int on_metrics_listen(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	for (int i = 0; i < 16; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
				log_warning_errno(errno, "Metrics: accept() failed: %m");
			}
			break;
		}
		if (endpoint.n_scrapers >= METRICS_SCRAPERS_MAX) {
			counters.scrapers_refused++;
			log_debug("Metrics: %d scrapers connected already; closing one more",
			          METRICS_SCRAPERS_MAX);
			safe_close(cfd);
			continue;
		}
		scraper_new(cfd);
	}
	return 0;
}

/* HOST:PORT (validated by config.c) into a loopback socket address. */
static int parse_tcp(const char *v, struct sockaddr_storage *ss, socklen_t *len)
{
	const char *colon = strrchr(v, ':');
	char host[64];
	size_t hl = (size_t)(colon - v);
	unsigned port = (unsigned)strtoul(colon + 1, NULL, 10);

	if (hl >= sizeof(host)) {
		return -EINVAL;
	}
	memcpy(host, v, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (strcmp(host, "[::1]") == 0) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	if (strcmp(host, "localhost") == 0) {
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
		return -EINVAL;
	}
	*len = sizeof(*s4);
	return 0;
}

int metrics_listen(const ServerSettings *s)
{
	const char *addr = s->metrics_address;
	struct sockaddr_storage ss;
	socklen_t len;
	_cleanup_close_ int fd = -1;
	int r;

	if (!*addr || endpoint.listen_fd >= 0) {
		return 0;
	}
	if (addr[0] == '/') {
		struct sockaddr_un *su = (struct sockaddr_un *)&ss;
		struct stat st;

		memset(&ss, 0, sizeof(ss));
		su->sun_family = AF_UNIX;
		if (strlen(addr) >= sizeof(su->sun_path)) {
			log_error("metrics_address: %s: path too long for a socket", addr);
			return -ENAMETOOLONG;
		}
		strcpy(su->sun_path, addr);
		len = (socklen_t)sizeof(*su);
		if (lstat(addr, &st) == 0) {
			if (!S_ISSOCK(st.st_mode)) {
				log_error("metrics_address: %s exists and is not a socket", addr);
				return -EEXIST;
			}
			(void)unlink(addr); /* left by an earlier run */
		}
	} else {
		r = parse_tcp(addr, &ss, &len);
		if (r < 0) {
			log_error("metrics_address: cannot use '%s'", addr);
			return r;
		}
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return log_error_errno(errno, "Cannot make the metrics socket: %m");
	}
	if (ss.ss_family != AF_UNIX) {
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		return log_error_errno(errno, "Cannot bind the metrics endpoint to %s: %m", addr);
	}
	if (ss.ss_family == AF_UNIX) {
		if (chmod(addr, 0666) < 0) {
			r = log_error_errno(errno, "Cannot chmod %s: %m", addr);
			(void)unlink(addr);
			return r;
		}
		endpoint.unix_path = strdup(addr);
		if (!endpoint.unix_path) {
			(void)unlink(addr);
			return log_oom();
		}
	}
	if (listen(fd, 16) < 0) {
		return log_error_errno(errno, "Cannot listen on the metrics endpoint: %m");
	}
	log_info("Metrics on %s", addr);
	endpoint.listen_fd = TAKE_FD(fd);
	return 0;
}

int metrics_start(Manager *m)
{
	int r;

	endpoint.m = m;
	if (!endpoint.observing) {
		r = client_context_add_observer(&m->ctx, &checker_observer, NULL);
		if (r < 0) {
			return log_error_errno(r, "Cannot count checker runs: %m");
		}
		endpoint.observing = true;
	}
	r = metrics_listen(m->settings);
	if (r < 0 || endpoint.listen_fd < 0) {
		return r;
	}
	r = sd_event_add_io(m->event, &endpoint.listen_source, endpoint.listen_fd, EPOLLIN,
	                    on_metrics_listen, NULL);
	if (r < 0) {
		return log_error_errno(r, "Cannot watch the metrics socket: %m");
	}
	return 0;
}

void metrics_stop(void)
{
	while (endpoint.scrapers) {
		scraper_free(endpoint.scrapers);
	}
	endpoint.listen_source = sd_event_source_disable_unref(endpoint.listen_source);
	endpoint.listen_fd = safe_close(endpoint.listen_fd);
	if (endpoint.unix_path) {
		(void)unlink(endpoint.unix_path); /* fails quietly where only root may */
		free(endpoint.unix_path);
		endpoint.unix_path = NULL;
	}
	endpoint.m = NULL;
	endpoint.observing = false;
}
