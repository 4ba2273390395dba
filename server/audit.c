/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The audit log: one JSON line per release decision in a file, or a structured journal entry. */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "io-util.h"
#include "log.h"
#include "macro.h"

/* Where sd_journal_send() sends (systemd's fixed path). */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* MESSAGE_ID of every journal entry (journalctl MESSAGE_ID=...; man mandos(8)). */
#define AUDIT_MESSAGE_ID "6e28b6fcfb494e21b9073bf1989de866"

typedef enum AuditMode {
	AUDIT_OFF,
	AUDIT_FILE,
	AUDIT_JOURNAL,
} AuditMode;

static struct {
	AuditMode mode;
	int fd;
	char *path;
	char *server;
	bool write_failed; /* logged; quiet until a write works again */
} audit = {.fd = -EBADF};

static int open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);

	return fd < 0 ? -errno : fd;
}

int audit_open(const ServerSettings *settings)
{
	const char *what = settings->audit_log ? settings->audit_log : "";
	char host[HOST_NAME_MAX + 1] = "";

	audit_close();
	if (settings->server_name && *settings->server_name) {
		audit.server = strdup(settings->server_name);
	} else {
		if (gethostname(host, sizeof(host)) < 0) {
			host[0] = '\0';
		}
		host[sizeof(host) - 1] = '\0';
		audit.server = strdup(host);
	}
	if (!audit.server) {
		return log_oom();
	}
	if (!*what) {
		return 0;
	}
	if (strcmp(what, "journal") == 0) {
		audit.mode = AUDIT_JOURNAL;
		if (access(JOURNAL_SOCKET, W_OK) < 0) {
			/* Not fatal: journald may come later.  Said now, as sd_journal_send()
			 * drops records silently while there is no journal socket. */
			log_warning_errno(errno,
			                  "audit_log = journal, but %s is not there (%m): "
			                  "audit records are lost until journald runs",
			                  JOURNAL_SOCKET);
		} else {
			log_debug("Audit records go to the journal");
		}
		return 0;
	}
	audit.path = strdup(what);
	if (!audit.path) {
		return log_oom();
	}
	audit.fd = open_file(what);
	if (audit.fd < 0) {
		int r = audit.fd;

		audit.fd = -EBADF;
		free(audit.path);
		audit.path = NULL;
		return log_error_errno(r, "Cannot open the audit log %s: %m", what);
	}
	audit.mode = AUDIT_FILE;
	log_debug("Audit records go to %s", what);
	return 0;
}

int audit_reopen(void)
{
	int fd;

	if (audit.mode != AUDIT_FILE) {
		return 0;
	}
	fd = open_file(audit.path);
	if (fd < 0) {
		return log_error_errno(
		        fd, "Cannot reopen the audit log %s (still writing to the old file): %m",
		        audit.path);
	}
	safe_close(audit.fd);
	audit.fd = fd;
	audit.write_failed = false;
	log_info("Reopened the audit log %s", audit.path);
	return 0;
}

bool audit_enabled(void)
{
	return audit.mode != AUDIT_OFF;
}

void audit_close(void)
{
	audit.fd = safe_close(audit.fd);
	free(audit.path);
	audit.path = NULL;
	free(audit.server);
	audit.server = NULL;
	audit.mode = AUDIT_OFF;
	audit.write_failed = false;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when it is not one. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] < 0x80) {
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		lo = s[0] == 0xe0 ? 0xa0 : 0x80;
		hi = s[0] == 0xed ? 0x9f : 0xbf; /* no surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		lo = s[0] == 0xf0 ? 0x90 : 0x80;
		hi = s[0] == 0xf4 ? 0x8f : 0xbf;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi) {
		return 0;
	}
	for (size_t i = 2; i < len; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf) {
			return 0;
		}
	}
	return len;
}

typedef struct Line {
	char *buf;
	size_t len, cap;
	int error;
} Line;

static void add(Line *l, const char *s, size_t n)
{
	if (l->error == 0) {
		l->error = strbuf_add(&l->buf, &l->len, &l->cap, s, n);
	}
}

static void add_str(Line *l, const char *s)
{
	add(l, s, strlen(s));
}

/* A JSON string (or null). */
static void add_json(Line *l, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	if (!s) {
		add_str(l, "null");
		return;
	}
	n = strlen(s);
	add_str(l, "\"");
	for (size_t i = 0; i < n;) {
		size_t seq = utf8_sequence(p + i, n - i);
		char esc[8];

		if (seq == 0) {
			add_str(l, "\\ufffd");
			i++;
			continue;
		}
		if (seq > 1) {
			add(l, s + i, seq);
		} else if (p[i] == '"' || p[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)p[i];
			add(l, esc, 2);
		} else if (p[i] == '\n') {
			add_str(l, "\\n");
		} else if (p[i] == '\t') {
			add_str(l, "\\t");
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", p[i]);
			add_str(l, esc);
		} else {
			add(l, s + i, 1);
		}
		i += seq;
	}
	add_str(l, "\"");
}

static void add_field(Line *l, const char *name, const char *value)
{
	add_str(l, l->len > 1 ? ",\"" : "\"");
	add_str(l, name);
	add_str(l, "\":");
	add_json(l, value);
}

char *audit_format_json(const DecisionRecord *d, const char *server, realtime_t t)
{
	char time[TIMESTAMP_STRING_MAX + 1], num[64];
	Line l = {0};

	timestamp_format_iso(t, time, sizeof(time) - 1);
	strcat(time, "Z");
	add_str(&l, "{");
	add_field(&l, "time", time);
	add_field(&l, "server", server);
	add_field(&l, "client", d->client);
	add_field(&l, "key_id", d->key_id);
	add_field(&l, "address", d->address);
	add_field(&l, "interface", d->interface);
	snprintf(num, sizeof(num), ",\"protocol\":%d", d->protocol);
	add_str(&l, num);
	add_field(&l, "decision", decision_result_name(d->result));
	add_field(&l, "reason", d->reason);
	snprintf(num, sizeof(num), ",\"latency_ms\":%" PRIu64 ".%03" PRIu64 "}\n",
	         d->latency_usec / 1000, d->latency_usec % 1000);
	add_str(&l, num);
	if (l.error < 0) {
		free(l.buf);
		return NULL;
	}
	return l.buf;
}

static void record_file(const DecisionRecord *d)
{
	_cleanup_free_ char *line = audit_format_json(d, audit.server, now_realtime());
	size_t len;
	int r;

	if (!line) {
		log_oom();
		return;
	}
	len = strlen(line);
	/* One write(2) of the whole line: O_APPEND keeps lines whole even with other writers. */
	r = loop_write(audit.fd, line, len);
	if (r < 0) {
		if (!audit.write_failed) {
			log_error_errno(r, "Cannot write the audit log %s: %m", audit.path);
		}
		audit.write_failed = true;
		return;
	}
	audit.write_failed = false;
}

/* Fields the journal gets, each "NAME=value"; NULL values are left out. */
#define JOURNAL_FIELDS_MAX 16

static void record_journal(const DecisionRecord *d)
{
	const char *decision = decision_result_name(d->result);
	char *fields[JOURNAL_FIELDS_MAX] = {0};
	struct iovec iov[JOURNAL_FIELDS_MAX];
	size_t n = 0;
	bool oom = false;
	int r;

#define FIELD(...)                                                                                 \
	do {                                                                                       \
		if (asprintf(&fields[n], __VA_ARGS__) < 0) {                                       \
			fields[n] = NULL;                                                          \
			oom = true;                                                                \
		} else {                                                                           \
			n++;                                                                       \
		}                                                                                  \
	} while (0)
	FIELD("MESSAGE=Mandos decision: %s for %s from %s%s%s (protocol %d%s%s)", decision,
	      d->client ? d->client : "an unknown client", d->address ? d->address : "?",
	      d->interface ? " on " : "", d->interface ? d->interface : "", d->protocol,
	      d->reason ? ", " : "", d->reason ? d->reason : "");
	FIELD("MESSAGE_ID=%s", AUDIT_MESSAGE_ID);
	FIELD("PRIORITY=%d", d->result == DECISION_GRANTED ? LOG_INFO : LOG_NOTICE);
	FIELD("SYSLOG_IDENTIFIER=mandos");
	FIELD("MANDOS_SERVER=%s", audit.server);
	if (d->client) {
		FIELD("MANDOS_CLIENT=%s", d->client);
	}
	if (d->key_id) {
		FIELD("MANDOS_KEY_ID=%s", d->key_id);
	}
	if (d->address) {
		FIELD("MANDOS_ADDRESS=%s", d->address);
	}
	if (d->interface) {
		FIELD("MANDOS_INTERFACE=%s", d->interface);
	}
	FIELD("MANDOS_PROTOCOL=%d", d->protocol);
	FIELD("MANDOS_DECISION=%s", decision);
	if (d->reason) {
		FIELD("MANDOS_REASON=%s", d->reason);
	}
	FIELD("MANDOS_LATENCY_USEC=%" PRIu64, d->latency_usec);
#undef FIELD
	for (size_t i = 0; i < n; i++) {
		iov[i] = (struct iovec){.iov_base = fields[i], .iov_len = strlen(fields[i])};
	}
	if (oom) {
		log_oom();
	} else {
		r = sd_journal_sendv(iov, (int)n);
		if (r < 0 && !audit.write_failed) {
			log_error_errno(r, "Cannot send an audit record to the journal: %m");
		}
		audit.write_failed = r < 0;
	}
	for (size_t i = 0; i < n; i++) {
		free(fields[i]);
	}
}

void audit_record(const DecisionRecord *d)
{
	switch (audit.mode) {
	case AUDIT_FILE:
		record_file(d);
		break;
	case AUDIT_JOURNAL:
		record_journal(d);
		break;
	case AUDIT_OFF:
		break;
	}
}
