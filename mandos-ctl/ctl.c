/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mandos-ctl: list and control the clients of a Mandos server over D-Bus. */
#include "ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli-util.h"
#include "duration.h"
#include "macro.h"
#include "pyfmt.h"

/* Every property upstream shows, in its order, with its table header. */
static const struct {
	const char *key;
	const char *header;
} columns[] = {
        {"Name", "Name"},
        {"Enabled", "Enabled"},
        {"Timeout", "Timeout"},
        {"LastCheckedOK", "Last Successful Check"},
        {"Created", "Created"},
        {"Interval", "Interval"},
        {"Host", "Host"},
        {"KeyID", "Key ID"},
        {"Fingerprint", "Fingerprint"},
        {"CheckerRunning", "Check Is Running"},
        {"LastEnabled", "Last Enabled"},
        {"ApprovalPending", "Approval Is Pending"},
        {"ApprovedByDefault", "Approved By Default"},
        {"LastApprovalRequest", "Last Approval Request"},
        {"ApprovalDelay", "Approval Delay"},
        {"ApprovalDuration", "Approval Duration"},
        {"Checker", "Checker"},
        {"ExtendedTimeout", "Extended Timeout"},
        {"Expires", "Expires"},
        {"LastCheckerStatus", "Last Checker Status"},
};
#define N_DEFAULT_COLUMNS 4

static bool is_duration_key(const char *key)
{
	static const char *const keys[] = {"Timeout", "Interval", "ApprovalDelay",
	                                   "ApprovalDuration", "ExtendedTimeout"};

	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		if (strcmp(key, keys[i]) == 0) {
			return true;
		}
	}
	return false;
}

/* Python's repr() of a float, the shortest form that reads back the same. */
static void format_double(FILE *f, double d)
{
	char buf[64];

	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d) {
			break;
		}
	}
	fputs(buf, f);
	if (!strpbrk(buf, ".eEn")) {
		fputs(".0", f);
	}
}

/* The table cell for a value: upstream's valuetostring(). */
static char *cell_string(const char *key, const Value *v)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f) {
		return NULL;
	}
	if (v->type == VAL_BOOL) {
		fputs(v->b ? "Yes" : "No", f);
	} else if (is_duration_key(key) && (v->type == VAL_UINT || v->type == VAL_INT)) {
		char d[64];

		fputs(duration_format_ctl(v->type == VAL_UINT ? v->u : (uint64_t)v->i, d,
		                          sizeof(d)),
		      f);
	} else if (v->type == VAL_INT) {
		fprintf(f, "%" PRId64, v->i);
	} else if (v->type == VAL_UINT) {
		fprintf(f, "%" PRIu64, v->u);
	} else if (v->type == VAL_DOUBLE) {
		format_double(f, v->d);
	} else if (v->type == VAL_STRING) {
		fputs(v->s, f);
	} else {
		fputs("None", f);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void pad(FILE *f, const char *s, size_t width)
{
	size_t len = py_strlen(s);

	fputs(s, f);
	for (; len < width; len++) {
		fputc(' ', f);
	}
}

/* Write headers and rows of cells (n_rows × n_cols), each column as wide as its widest cell. */
static int write_table(FILE *f, const char *const *headers, size_t n_cols, char *const *cells,
                       size_t n_rows)
{
	_cleanup_free_ size_t *widths = calloc(n_cols, sizeof(size_t));

	if (!widths) {
		return -ENOMEM;
	}
	for (size_t k = 0; k < n_cols; k++) {
		widths[k] = py_strlen(headers[k]);
		for (size_t i = 0; i < n_rows; i++) {
			widths[k] = MAX(widths[k], py_strlen(cells[i * n_cols + k]));
		}
	}
	for (size_t k = 0; k < n_cols; k++) {
		if (k > 0) {
			fputc(' ', f);
		}
		pad(f, headers[k], widths[k]);
	}
	fputc('\n', f);
	for (size_t i = 0; i < n_rows; i++) {
		for (size_t k = 0; k < n_cols; k++) {
			if (k > 0) {
				fputc(' ', f);
			}
			pad(f, cells[i * n_cols + k], widths[k]);
		}
		fputc('\n', f);
	}
	return 0;
}

static void cells_free(char **cells, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(cells[i]);
	}
	free(cells);
}

/* ApprovedUntil (ours, of the delivery interface) when the client has one set, else NULL. */
static const char *approved_until(const Client *c)
{
	const Value *v = client_get_delivery(c, "ApprovedUntil");

	return v && v->type == VAL_STRING && *v->s ? v->s : NULL;
}

static bool any_approved_until(Client *const *clients, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (approved_until(clients[i])) {
			return true;
		}
	}
	return false;
}

#define APPROVED_UNTIL_HEADER "Approved Until"

int ctl_print_table(FILE *f, Client *const *clients, size_t n, bool verbose,
                    const char **ret_missing)
{
	size_t n_std = verbose ? ELEMENTSOF(columns) : N_DEFAULT_COLUMNS;
	/* Our column only when a client has the value: upstream's output otherwise. */
	bool extra = verbose && any_approved_until(clients, n);
	size_t n_cols = n_std + extra;
	const char *headers[ELEMENTSOF(columns) + 1];
	char **cells;
	int r = 0;

	cells = calloc(n * n_cols + 1, sizeof(char *));
	if (!cells) {
		return -ENOMEM;
	}
	for (size_t k = 0; k < n_std; k++) {
		headers[k] = columns[k].header;
	}
	if (extra) {
		headers[n_std] = APPROVED_UNTIL_HEADER;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		for (size_t k = 0; k < n_std; k++) {
			const Value *v = client_get(clients[i], columns[k].key);
			char *c;

			if (!v) {
				*ret_missing = columns[k].key;
				r = -ENOENT;
				break;
			}
			c = cell_string(columns[k].key, v);
			if (!c) {
				r = -ENOMEM;
				break;
			}
			cells[i * n_cols + k] = c;
		}
		if (r == 0 && extra) {
			const char *until = approved_until(clients[i]);

			cells[i * n_cols + n_std] = strdup(until ? until : "");
			if (!cells[i * n_cols + n_std]) {
				r = -ENOMEM;
			}
		}
	}
	if (r == 0) {
		r = write_table(f, headers, n_cols, cells, n);
	}
	cells_free(cells, n * n_cols);
	return r;
}

static void json_value(FILE *f, const Value *v)
{
	switch (v->type) {
	case VAL_BOOL:
		fputs(v->b ? "true" : "false", f);
		break;
	case VAL_INT:
		fprintf(f, "%" PRId64, v->i);
		break;
	case VAL_UINT:
		fprintf(f, "%" PRIu64, v->u);
		break;
	case VAL_DOUBLE:
		format_double(f, v->d);
		break;
	case VAL_STRING:
		py_json_string(f, v->s);
		break;
	case VAL_STRV:
	case VAL_NONE:
		fputs("null", f);
		break;
	}
}

int ctl_dump_json(FILE *f, Client *const *clients, size_t n, const char **ret_missing)
{
	const Value *name;
	size_t shown = 0;

	/* Check first, so that a failure prints nothing. */
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < ELEMENTSOF(columns); k++) {
			if (!client_get(clients[i], columns[k].key)) {
				*ret_missing = columns[k].key;
				return -ENOENT;
			}
		}
		if (client_get(clients[i], "Name")->type != VAL_STRING) {
			*ret_missing = "Name";
			return -ENOENT;
		}
	}
	if (n == 0) {
		fputs("{}\n", f);
		return 0;
	}
	fputs("{\n", f);
	for (size_t i = 0; i < n; i++) {
		bool duplicate = false;

		name = client_get(clients[i], "Name");
		/* Upstream builds a dict keyed by name: a later duplicate is dropped. */
		for (size_t j = 0; j < i; j++) {
			duplicate |= strcmp(client_get(clients[j], "Name")->s, name->s) == 0;
		}
		if (duplicate) {
			continue;
		}
		fputs(shown++ ? ",\n    " : "    ", f);
		py_json_string(f, name->s);
		fputs(": {\n", f);
		for (size_t k = 0; k < ELEMENTSOF(columns); k++) {
			fputs(k ? ",\n        " : "        ", f);
			py_json_string(f, columns[k].key);
			fputs(": ", f);
			json_value(f, client_get(clients[i], columns[k].key));
		}
		if (approved_until(clients[i])) {
			fputs(",\n        \"ApprovedUntil\": ", f);
			py_json_string(f, approved_until(clients[i]));
		}
		fputs("\n    }", f);
	}
	fputs("\n}\n", f);
	return 0;
}

/* ---- Protocol 2: --escrow and --shred ---- */

/* The delivery properties --escrow shows, in its JSON order; all but Name are the interface's. */
static const struct {
	const char *key;
	ValueType type;
} delivery_keys[] = {
        {"Protocols", VAL_STRING},     {"HasSealedSecret", VAL_BOOL},   {"EscrowKeyIds", VAL_STRV},
        {"EscrowKeyFile", VAL_STRING}, {"EscrowKeyInline", VAL_STRING}, {"ReleaseLimit", VAL_UINT},
        {"ReleasesLeft", VAL_INT},
};

static const char *const escrow_headers[] = {
        "Name",           "Protocols",     "Sealed Secret", "Escrow Key IDs",
        "Escrow Keys In", "Release Limit", "Releases Left",
};

/* Every client has a string Name and the delivery properties with their types. */
static int check_delivery(Client *const *clients, size_t n, const char **ret_missing)
{
	for (size_t i = 0; i < n; i++) {
		const Value *name = client_get(clients[i], "Name");

		if (!name || name->type != VAL_STRING) {
			*ret_missing = "Name";
			return -ENOENT;
		}
		if (!clients[i]->has_delivery) {
			*ret_missing = name->s;
			return -ENXIO;
		}
		for (size_t k = 0; k < ELEMENTSOF(delivery_keys); k++) {
			const Value *v = client_get_delivery(clients[i], delivery_keys[k].key);

			if (!v || v->type != delivery_keys[k].type) {
				*ret_missing = delivery_keys[k].key;
				return -ENOENT;
			}
		}
	}
	return 0;
}

static const Value *dget(const Client *c, const char *key)
{
	return client_get_delivery(c, key);
}

/* The cells of one --escrow row. */
static void escrow_row(FILE *const *cols, const Client *c)
{
	char *const *kids = dget(c, "EscrowKeyIds")->strv;
	const char *file = dget(c, "EscrowKeyFile")->s, *inl = dget(c, "EscrowKeyInline")->s;
	uint64_t limit = dget(c, "ReleaseLimit")->u;
	int64_t left = dget(c, "ReleasesLeft")->i;

	fputs(client_get(c, "Name")->s, cols[0]);
	fputs(dget(c, "Protocols")->s, cols[1]);
	fputs(dget(c, "HasSealedSecret")->b ? "Yes" : "No", cols[2]);
	for (size_t i = 0; kids && kids[i]; i++) {
		fprintf(cols[3], "%s%s", i ? " " : "", kids[i]);
	}
	if (!kids || !kids[0]) {
		fputc('-', cols[3]);
	}
	fprintf(cols[4], "%s%s%s", inl, *inl && *file ? " " : "", file);
	if (!*inl && !*file) {
		fputc('-', cols[4]);
	}
	if (limit == 0) {
		fputs("unlimited", cols[5]);
	} else {
		fprintf(cols[5], "%" PRIu64, limit);
	}
	if (left < 0) {
		fputs("unlimited", cols[6]);
	} else {
		fprintf(cols[6], "%" PRId64, left);
	}
}

static int print_escrow_table(FILE *f, Client *const *clients, size_t n)
{
	const size_t n_cols = ELEMENTSOF(escrow_headers);
	char **cells = calloc(n * n_cols + 1, sizeof(char *));
	int r = 0;

	if (!cells) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		FILE *cols[ELEMENTSOF(escrow_headers)] = {0};
		size_t sizes[ELEMENTSOF(escrow_headers)];

		for (size_t k = 0; k < n_cols; k++) {
			cols[k] = open_memstream(&cells[i * n_cols + k], &sizes[k]);
			if (!cols[k]) {
				r = -ENOMEM;
			}
		}
		if (r == 0) {
			escrow_row(cols, clients[i]);
		}
		for (size_t k = 0; k < n_cols; k++) {
			if (cols[k] && fclose(cols[k]) != 0) {
				r = -ENOMEM;
			}
		}
		for (size_t k = 0; k < n_cols && r == 0; k++) {
			if (!cells[i * n_cols + k]) {
				r = -ENOMEM;
			}
		}
	}
	if (r == 0) {
		r = write_table(f, escrow_headers, n_cols, cells, n);
	}
	cells_free(cells, n * n_cols);
	return r;
}

/* As Python's json.dumps(indent=4) at the given depth. */
static void json_strv(FILE *f, char *const *strv, int depth)
{
	if (!strv || !strv[0]) {
		fputs("[]", f);
		return;
	}
	fputc('[', f);
	for (size_t i = 0; strv[i]; i++) {
		fprintf(f, "%s\n%*s", i ? "," : "", 4 * (depth + 1), "");
		py_json_string(f, strv[i]);
	}
	fprintf(f, "\n%*s]", 4 * depth, "");
}

static void dump_escrow_json(FILE *f, Client *const *clients, size_t n)
{
	size_t shown = 0;

	if (n == 0) {
		fputs("{}\n", f);
		return;
	}
	fputs("{\n", f);
	for (size_t i = 0; i < n; i++) {
		const char *name = client_get(clients[i], "Name")->s;
		bool duplicate = false;

		/* As --dump-json: keyed by name, a later duplicate dropped. */
		for (size_t j = 0; j < i; j++) {
			duplicate |= strcmp(client_get(clients[j], "Name")->s, name) == 0;
		}
		if (duplicate) {
			continue;
		}
		fputs(shown++ ? ",\n    " : "    ", f);
		py_json_string(f, name);
		fputs(": {\n        \"Name\": ", f);
		py_json_string(f, name);
		for (size_t k = 0; k < ELEMENTSOF(delivery_keys); k++) {
			const Value *v = dget(clients[i], delivery_keys[k].key);

			fputs(",\n        ", f);
			py_json_string(f, delivery_keys[k].key);
			fputs(": ", f);
			if (v->type == VAL_STRV) {
				json_strv(f, v->strv, 2);
			} else {
				json_value(f, v);
			}
		}
		fputs("\n    }", f);
	}
	fputs("\n}\n", f);
}

int ctl_print_escrow(FILE *f, Client *const *clients, size_t n, bool json, const char **ret_missing)
{
	int r = check_delivery(clients, n, ret_missing);

	if (r < 0) {
		return r;
	}
	if (json) {
		dump_escrow_json(f, clients, n);
		return 0;
	}
	return print_escrow_table(f, clients, n);
}

static void message_repr(const char *prefix, const char *s)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (f) {
		py_repr_str(f, s);
		if (fclose(f) == 0) {
			fprintf(stderr, "%s%s\n", prefix, buf);
		}
		free(buf);
	}
}

static int dbus_failure(int r, char *msg)
{
	if (r == -ENOMEM && !msg) {
		fprintf(stderr, "Out of memory.\n");
	} else {
		fprintf(stderr, "Failed to access Mandos server through D-Bus:\n%s\n",
		        msg ? msg : strerror(-r));
	}
	free(msg);
	return 1;
}

static void no_delivery(const char *name)
{
	fprintf(stderr,
	        "The server does not know escrow keys: client %s has no %s interface (a server "
	        "without protocol 2?)\n",
	        name, MANDOS_DELIVERY_IFACE);
}

/* "a", "a and b", "a, b and c" into f. */
static void write_names(FILE *f, Client *const *sel, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s%s",
		        i == 0       ? ""
		        : i + 1 == n ? " and "
		                     : ", ",
		        client_get(sel[i], "Name")->s);
	}
}

/*
 * Ask on stderr, read the answer from stdin.  Returns 1 for "y" or "yes" (any case), 0 for
 * anything else or end of file, -ENOTTY when stdin is not a terminal.
 */
static int confirm(Client *const *sel, size_t n)
{
	_cleanup_free_ char *line = NULL;
	size_t size = 0;
	ssize_t len;

	if (!isatty(STDIN_FILENO)) {
		return -ENOTTY;
	}
	fputs("Shred the escrow keys of ", stderr);
	write_names(stderr, sel, n);
	fputs("? This cannot be undone. [y/N] ", stderr);
	fflush(stderr);
	len = getline(&line, &size, stdin);
	if (len <= 0) {
		fputc('\n', stderr);
		return 0;
	}
	line[strcspn(line, "\r\n")] = '\0';
	return strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
}

/* The server's message for keys written inline, from the client's EscrowKeyInline. */
static void say_inline(const char *name, const char *at)
{
	fprintf(stderr,
	        "the escrow keys of %s are written in %s: delete that line there (and in every "
	        "copy and backup), then reload\n",
	        name, at);
}

/* ShredEscrowKeys() on one client: 0, or the exit status after saying why not. */
static int shred_one(MandosBus *bus, const Client *c, FILE *out)
{
	const char *name = client_get(c, "Name")->s;
	_cleanup_free_ char *deleted = NULL, *error = NULL, *msg = NULL;
	int r;

	r = mandos_bus_shred(bus, c->path, &deleted, &error, &msg);
	if (r >= 0) {
		fprintf(out, "Shredded the escrow keys of %s (%s deleted); %s is disabled\n", name,
		        deleted, name);
		fflush(out);
		return 0;
	}
	/* Inline or none: as the server saw it after our check (a reload in between). */
	if (error && (strcmp(error, MANDOS_ERROR_ESCROW_KEYS_INLINE) == 0 ||
	              strcmp(error, MANDOS_ERROR_NO_ESCROW_KEYS) == 0)) {
		fprintf(stderr, "%s\n", msg ? msg : error);
		return CTL_EXIT_NOTHING_SHREDDED;
	}
	if (error && strcmp(error, MANDOS_ERROR_SHRED_FAILED) == 0) {
		fprintf(stderr,
		        "%s: %s\nThe server has forgotten the escrow keys of %s and disabled it, "
		        "but the file is still there: delete %s by hand (shred -u), and every "
		        "copy and backup of it.\n",
		        name, msg ? msg : error, name, dget(c, "EscrowKeyFile")->s);
		return CTL_EXIT_FILE_LEFT;
	}
	return dbus_failure(r, TAKE_PTR(msg));
}

/*
 * --shred: check every selected client first (keys inline or none: nothing changes), show
 * what will happen and ask once (unless --force), then shred one client after the other,
 * stopping at the first failure.
 */
static int run_shred(const CtlOptions *o, MandosBus *bus, Client *const *sel, size_t n_sel,
                     FILE *out)
{
	const char *missing = NULL;
	bool refuse = false;
	int r;

	r = check_delivery(sel, n_sel, &missing);
	if (r == -ENXIO) {
		no_delivery(missing);
		return 1;
	}
	if (r < 0) {
		fprintf(stderr,
		        "Failed to access Mandos server through D-Bus:\n"
		        "a client lacks the property %s\n",
		        missing);
		return 1;
	}
	for (size_t i = 0; i < n_sel; i++) {
		const char *name = client_get(sel[i], "Name")->s;
		const char *inl = dget(sel[i], "EscrowKeyInline")->s;
		char *const *kids = dget(sel[i], "EscrowKeyIds")->strv;
		const char *file = dget(sel[i], "EscrowKeyFile")->s;

		if (*inl) {
			say_inline(name, inl);
			refuse = true;
		} else if ((!kids || !kids[0]) && !*file) {
			/* With a file but no keys (a shred that could not delete it, a file that
			 * could not be read), the server tries the file again. */
			fprintf(stderr, "%s has no escrow keys\n", name);
			refuse = true;
		}
	}
	if (refuse) {
		fprintf(stderr, "Nothing shredded.\n");
		return CTL_EXIT_NOTHING_SHREDDED;
	}
	if (!o->force) {
		for (size_t i = 0; i < n_sel; i++) {
			char *const *kids = dget(sel[i], "EscrowKeyIds")->strv;
			size_t n_kids = 0;

			while (kids && kids[n_kids]) {
				n_kids++;
			}
			if (n_kids == 0) {
				fprintf(stderr,
				        "%s: no escrow keys in memory, but %s is still to be "
				        "deleted\n",
				        client_get(sel[i], "Name")->s,
				        dget(sel[i], "EscrowKeyFile")->s);
				continue;
			}
			fprintf(stderr, "%s: %zu escrow key%s (", client_get(sel[i], "Name")->s,
			        n_kids, n_kids == 1 ? "" : "s");
			for (size_t k = 0; k < n_kids; k++) {
				fprintf(stderr, "%s%s", k ? " " : "", kids[k]);
			}
			fprintf(stderr, ") in %s\n", dget(sel[i], "EscrowKeyFile")->s);
		}
		fprintf(stderr,
		        "The server will forget the keys, disable the client%s, and "
		        "overwrite and delete the file%s; a machine bound to them then no "
		        "longer unlocks without its passphrase, unless a copy of the file "
		        "survives somewhere.\n",
		        n_sel == 1 ? "" : "s", n_sel == 1 ? "" : "s");
		r = confirm(sel, n_sel);
		if (r == -ENOTTY) {
			fprintf(stderr, "Nothing shredded: standard input is not a terminal to ask "
			                "on; give --force to shred without asking.\n");
			return CTL_EXIT_NOT_CONFIRMED;
		}
		if (r == 0) {
			fprintf(stderr, "Nothing shredded.\n");
			return CTL_EXIT_NOT_CONFIRMED;
		}
	}
	for (size_t i = 0; i < n_sel; i++) {
		r = shred_one(bus, sel[i], out);
		if (r != 0) {
			if (i + 1 < n_sel) {
				fputs("Stopped there; not shredded: ", stderr);
				write_names(stderr, sel + i + 1, n_sel - i - 1);
				fputc('\n', stderr);
			}
			return r;
		}
	}
	return 0;
}

static int run_command(const Command *c, const CtlOptions *o, MandosBus *bus, Client *const *sel,
                       size_t n_sel, FILE *out, bool *ret_exit)
{
	static char empty_string[] = "";
	const char *key = NULL, *missing = NULL;
	Value v = {VAL_NONE};
	char *msg = NULL;
	int r = 0;

	switch (c->type) {
	case CMD_PRINT_TABLE:
	case CMD_DUMP_JSON:
		if (o->escrow) {
			r = ctl_print_escrow(out, sel, n_sel, c->type == CMD_DUMP_JSON, &missing);
			if (r == -ENXIO) {
				no_delivery(missing);
				return 1;
			}
		} else {
			r = c->type == CMD_DUMP_JSON
			            ? ctl_dump_json(out, sel, n_sel, &missing)
			            : ctl_print_table(out, sel, n_sel, o->verbose, &missing);
		}
		if (r == -ENOENT) {
			fprintf(stderr,
			        "Failed to access Mandos server through D-Bus:\n"
			        "a client lacks the property %s\n",
			        missing);
			return 1;
		}
		return r < 0 ? dbus_failure(r, NULL) : 0;
	case CMD_IS_ENABLED: {
		const Value *e = n_sel > 0 ? client_get(sel[0], "Enabled") : NULL;

		*ret_exit = true;
		return e && e->type == VAL_BOOL && e->b ? 0 : 1;
	}
	case CMD_APPROVE:
	case CMD_DENY:
		for (size_t i = 0; i < n_sel; i++) {
			r = mandos_bus_approve(bus, sel[i]->path, c->type == CMD_APPROVE, &msg);
			if (r < 0) {
				return dbus_failure(r, msg);
			}
		}
		return 0;
	case CMD_APPROVE_FOR:
		for (size_t i = 0; i < n_sel; i++) {
			if (!sel[i]->has_delivery) {
				fprintf(stderr,
				        "The server cannot approve for a time: client %s has no %s "
				        "interface (upstream's server?)\n",
				        client_get(sel[i], "Name")->s, MANDOS_DELIVERY_IFACE);
				return 1;
			}
			r = mandos_bus_approve_for(bus, sel[i]->path, c->msec, &msg);
			if (r < 0) {
				return dbus_failure(r, msg);
			}
		}
		return 0;
	case CMD_REMOVE:
		for (size_t i = 0; i < n_sel; i++) {
			r = mandos_bus_remove(bus, sel[i]->path, &msg);
			if (r < 0) {
				return dbus_failure(r, msg);
			}
		}
		return 0;
	case CMD_ENABLE:
	case CMD_DISABLE:
		key = "Enabled";
		v = (Value){.type = VAL_BOOL, .b = c->type == CMD_ENABLE};
		break;
	case CMD_BUMP_TIMEOUT:
		key = "LastCheckedOK";
		v = (Value){.type = VAL_STRING, .s = empty_string};
		break;
	case CMD_START_CHECKER:
	case CMD_STOP_CHECKER:
		key = "CheckerRunning";
		v = (Value){.type = VAL_BOOL, .b = c->type == CMD_START_CHECKER};
		break;
	case CMD_APPROVE_BY_DEFAULT:
	case CMD_DENY_BY_DEFAULT:
		key = "ApprovedByDefault";
		v = (Value){.type = VAL_BOOL, .b = c->type == CMD_APPROVE_BY_DEFAULT};
		break;
	case CMD_SET_CHECKER:
	case CMD_SET_HOST:
		key = c->type == CMD_SET_CHECKER ? "Checker" : "Host";
		v = (Value){.type = VAL_STRING, .s = c->str};
		break;
	case CMD_SET_TIMEOUT:
		key = "Timeout";
		break;
	case CMD_SET_EXTENDED_TIMEOUT:
		key = "ExtendedTimeout";
		break;
	case CMD_SET_INTERVAL:
		key = "Interval";
		break;
	case CMD_SET_APPROVAL_DELAY:
		key = "ApprovalDelay";
		break;
	case CMD_SET_APPROVAL_DURATION:
		key = "ApprovalDuration";
		break;
	case CMD_SET_SECRET:
		key = "Secret";
		break;
	case CMD_SHRED:
		*ret_exit = true;
		return run_shred(o, bus, sel, n_sel, out);
	case _CMD_MAX:
		return 1;
	}
	if (v.type == VAL_NONE && c->type != CMD_SET_SECRET) {
		v = (Value){.type = VAL_UINT, .u = c->msec};
	}
	for (size_t i = 0; i < n_sel; i++) {
		if (c->type == CMD_SET_SECRET) {
			/* An empty file still has to be sent as bytes, never as "no secret". */
			static const char empty[1];

			r = mandos_bus_set(bus, sel[i]->path, key, &v,
			                   c->secret->len ? (const void *)c->secret->data : empty,
			                   c->secret->len, &msg);
		} else {
			r = mandos_bus_set(bus, sel[i]->path, key, &v, NULL, 0, &msg);
		}
		if (r < 0) {
			return dbus_failure(r, msg);
		}
	}
	return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(MandosBus *, mandos_bus_free)

int ctl_run(const CtlOptions *o, FILE *out)
{
	_cleanup_(mandos_bus_freep) MandosBus *bus = NULL;
	_cleanup_free_ Client **sel = NULL;
	ClientList all = {0};
	size_t n_sel = 0;
	char *msg = NULL;
	int r, status = 0;

	r = mandos_bus_connect(o->debug, &bus, &msg);
	if (r < 0) {
		fprintf(stderr, "Could not connect to Mandos server: %s\n",
		        msg ? msg : strerror(-r));
		free(msg);
		return 1;
	}
	r = mandos_bus_get_clients(bus, &all, &msg);
	if (r < 0) {
		return dbus_failure(r, msg);
	}
	sel = calloc(all.n + 1, sizeof(Client *));
	if (!sel) {
		client_list_done(&all);
		return dbus_failure(-ENOMEM, NULL);
	}
	if (o->n_clients == 0) {
		for (size_t i = 0; i < all.n; i++) {
			sel[n_sel++] = &all.clients[i];
		}
	}
	for (size_t k = 0; k < o->n_clients; k++) {
		Client *found = NULL;
		bool already = false;

		for (size_t i = 0; i < all.n && !found; i++) {
			const Value *name = client_get(&all.clients[i], "Name");

			if (name && name->type == VAL_STRING &&
			    strcmp(name->s, o->clients[k]) == 0) {
				found = &all.clients[i];
			}
		}
		if (!found) {
			message_repr("Client not found on server: ", o->clients[k]);
			client_list_done(&all);
			return 1;
		}
		for (size_t i = 0; i < n_sel; i++) {
			already |= sel[i] == found;
		}
		if (!already) {
			sel[n_sel++] = found;
		}
	}
	for (size_t i = 0; i < o->n_commands && status == 0; i++) {
		bool exit_now = false;

		status = run_command(&o->commands[i], o, bus, sel, n_sel, out, &exit_now);
		if (exit_now) {
			break;
		}
	}
	client_list_done(&all);
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "Failed to write output: %s\n", strerror(errno));
		return 1;
	}
	return status;
}

/* ---- Built-in self-tests (--check) ---- */

typedef struct SelfTest {
	FILE *f;
	int run, failed;
} SelfTest;

static void expect(SelfTest *t, bool ok, const char *what)
{
	t->run++;
	if (!ok) {
		t->failed++;
		fprintf(t->f, "FAIL: %s\n", what);
	}
}

static char *capture_args(int argc, const char *const *argv, int *ret, int *ret_exit, CtlOptions *o,
                          bool want_err)
{
	char *outbuf = NULL, *errbuf = NULL;
	size_t outsize = 0, errsize = 0;
	FILE *out = open_memstream(&outbuf, &outsize), *err = open_memstream(&errbuf, &errsize);

	*ret_exit = -1;
	if (!out || !err) {
		if (out) {
			fclose(out);
		}
		if (err) {
			fclose(err);
		}
		free(outbuf);
		free(errbuf);
		*ret = -ENOMEM;
		return NULL;
	}
	*ret = ctl_parse_args(argc, argv, "mandos-ctl", 80, out, err, o, ret_exit);
	fclose(out);
	fclose(err);
	if (want_err) {
		free(outbuf);
		return errbuf;
	}
	free(errbuf);
	return outbuf;
}

static void test_parse(SelfTest *t, int argc, const char *const *argv, int want_exit,
                       const char *want_last_err_line, const char *what)
{
	CtlOptions o;
	int r, exit_code;
	char *err = capture_args(argc, argv, &r, &exit_code, &o, true);
	const char *last = NULL;

	if (err) {
		size_t n = strlen(err);

		if (n > 0 && err[n - 1] == '\n') {
			err[--n] = '\0';
		}
		last = strrchr(err, '\n');
		last = last ? last + 1 : err;
	}
	if (want_exit < 0) {
		expect(t, r == 0, what);
	} else {
		expect(t, r == 1 && exit_code == want_exit, what);
	}
	if (want_last_err_line) {
		expect(t, last && strcmp(last, want_last_err_line) == 0, what);
	}
	ctl_options_done(&o);
	free(err);
}

static void test_duration(SelfTest *t, const char *s, uint64_t want, const char *what)
{
	uint64_t v = 0;
	int legacy = 0;

	expect(t, duration_parse_ctl(s, &v, &legacy) == 0 && v == want, what);
}

static void test_repr(SelfTest *t, const char *s, const char *want)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (f) {
		py_repr_str(f, s);
		fclose(f);
	}
	expect(t, buf && strcmp(buf, want) == 0, want);
	free(buf);
}

static void test_json(SelfTest *t, const char *s, const char *want)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (f) {
		py_json_string(f, s);
		fclose(f);
	}
	expect(t, buf && strcmp(buf, want) == 0, want);
	free(buf);
}

int ctl_selftest(FILE *f)
{
	SelfTest t = {.f = f};
	char d[64];

	/* Durations: upstream's doctests and unit tests. */
	test_duration(&t, "P7D", 7 * MSEC_PER_DAY, "P7D");
	test_duration(&t, "PT60S", 60 * MSEC_PER_SEC, "PT60S");
	test_duration(&t, "PT60M", MSEC_PER_HOUR, "PT60M");
	test_duration(&t, "P60M", 1680 * MSEC_PER_DAY, "P60M is 60 four-week months");
	test_duration(&t, "PT24H", MSEC_PER_DAY, "PT24H");
	test_duration(&t, "P1W", MSEC_PER_WEEK, "P1W");
	test_duration(&t, "PT5M30S", 330 * MSEC_PER_SEC, "PT5M30S");
	test_duration(&t, "P1DT3M20S", MSEC_PER_DAY + 200 * MSEC_PER_SEC, "P1DT3M20S");
	test_duration(&t, "7d", 7 * MSEC_PER_DAY, "legacy 7d");
	test_duration(&t, "5m 30s", 330 * MSEC_PER_SEC, "legacy 5m 30s");
	test_duration(&t, "", 0, "legacy empty");
	test_duration(&t, "2dxy7zz11y3m5m", 2 * MSEC_PER_DAY + 480 * MSEC_PER_SEC + 18,
	              "legacy with junk");
	test_duration(&t, "5000", 5000, "bare number is milliseconds");
	expect(&t, strcmp(duration_format_ctl(93785000, d, sizeof(d)), "1T02:03:05") == 0,
	       "1T02:03:05");
	expect(&t, strcmp(duration_format_ctl(300000, d, sizeof(d)), "00:05:00") == 0, "00:05:00");

	/* Python-compatible text. */
	test_repr(&t, "foo", "'foo'");
	test_repr(&t, "it's", "\"it's\"");
	test_repr(&t, "a\"'b", "'a\"\\'b'");
	test_repr(&t, "tab\there\x01\xff", "'tab\\there\\x01\\udcff'");
	test_repr(&t, "\xc3\xa5", "'\xc3\xa5'");
	test_json(&t, "a\"b\\c\n\x7f\xc3\xa5\xf0\x9f\x98\x80",
	          "\"a\\\"b\\\\c\\n\\u007f\\u00e5\\ud83d\\ude00\"");

	/* Command-line checks, with upstream's messages. */
	{
		const char *a1[] = {"mandos-ctl", "-e", NULL};
		const char *a2[] = {"mandos-ctl", "-v", "-e", "foo", NULL};
		const char *a3[] = {"mandos-ctl", "-j", "-v", NULL};
		const char *a4[] = {"mandos-ctl", "-a", NULL};
		const char *a5[] = {"mandos-ctl", "-V", "a", "b", NULL};
		const char *a6[] = {"mandos-ctl", "-r", "-e", "a", NULL};
		const char *a7[] = {"mandos-ctl", "-e", "-d", "a", NULL};
		const char *a8[] = {"mandos-ctl", "--ver", NULL};
		const char *a9[] = {"mandos-ctl", "-c", NULL};
		const char *a10[] = {"mandos-ctl", "-e", "a", "-b", "c", NULL};
		const char *a11[] = {"mandos-ctl", "-D", "-r", "-tPT1S", "--", "-e", NULL};
		const char *a12[] = {"mandos-ctl", "-ex", "a", NULL};
		const char *a13[] = {"mandos-ctl", "--shred", NULL};
		const char *a14[] = {"mandos-ctl", "--sh", "a", NULL};
		const char *a15[] = {"mandos-ctl", "--shred", "--force", "a", "b", NULL};

		test_parse(&t, 2, a1, 2,
		           "mandos-ctl: error: Options require clients names or --all.",
		           "action without client");
		test_parse(&t, 4, a2, 2, "mandos-ctl: error: --verbose can only be used alone.",
		           "verbose with action");
		test_parse(&t, 3, a3, 2, "mandos-ctl: error: --dump-json can only be used alone.",
		           "dump-json with verbose");
		test_parse(&t, 2, a4, 2, "mandos-ctl: error: --all requires an action.", "--all");
		test_parse(&t, 4, a5, 2,
		           "mandos-ctl: error: --is-enabled requires exactly one client",
		           "is-enabled two clients");
		test_parse(&t, 4, a6, 2,
		           "mandos-ctl: error: --remove can only be combined with --deny",
		           "remove with enable");
		test_parse(&t, 4, a7, 2,
		           "mandos-ctl: error: argument -d/--disable: not allowed with argument "
		           "-e/--enable",
		           "enable and disable");
		test_parse(&t, 2, a8, 2,
		           "mandos-ctl: error: ambiguous option: --ver could match --version, "
		           "--verbose",
		           "ambiguous abbreviation");
		test_parse(&t, 2, a9, 2,
		           "mandos-ctl: error: argument -c/--checker: expected one argument",
		           "missing argument");
		test_parse(&t, 5, a10, 2, "mandos-ctl: error: unrecognized arguments: c",
		           "clients after options");
		test_parse(&t, 6, a11, -1, NULL, "deny, remove, attached argument, separator");
		test_parse(&t, 3, a12, 2,
		           "mandos-ctl: error: argument -e/--enable: ignored explicit argument 'x'",
		           "unknown flag in a group of short flags");
		test_parse(&t, 2, a13, 2, "mandos-ctl: error: --shred requires client names.",
		           "--shred without clients");
		test_parse(&t, 3, a14, 2, "mandos-ctl: error: unrecognized arguments: --sh",
		           "our options are never abbreviations");
		test_parse(&t, 5, a15, -1, NULL, "--shred --force with clients");
	}
	{
		const char *argv[] = {"mandos-ctl", "-r", "-D", "-t", "5", "x", NULL};
		CtlOptions o;
		int r, exit_code;
		char *err = capture_args(6, argv, &r, &exit_code, &o, true);

		expect(&t, r == 0 && o.n_commands == 3, "remove with deny allows other commands");
		ctl_options_done(&o);
		free(err);
	}
	{
		const char *argv[] = {"mandos-ctl", "-r", "-D", "x", "--", "-y", NULL};
		CtlOptions o;
		int r, exit_code;
		char *err = capture_args(6, argv, &r, &exit_code, &o, true);

		expect(&t,
		       r == 0 && o.n_commands == 2 && o.commands[0].type == CMD_DENY &&
		               o.commands[1].type == CMD_REMOVE,
		       "deny runs before remove");
		expect(&t, r == 0 && o.n_clients == 2 && strcmp(o.clients[1], "-y") == 0,
		       "clients after --");
		ctl_options_done(&o);
		free(err);
	}
	{
		const char *argv[] = {"mandos-ctl", "--version", NULL};
		CtlOptions o;
		int r, exit_code;
		char *out = capture_args(2, argv, &r, &exit_code, &o, false);

		expect(&t,
		       r == 1 && exit_code == 0 && out &&
		               strcmp(out, "mandos-ctl" CLI_VERSION_TAIL "\n") == 0,
		       "--version");
		ctl_options_done(&o);
		free(out);
	}

	fprintf(f, "Ran %d tests\n\n%s\n", t.run, t.failed ? "FAILED" : "OK");
	return t.failed;
}

int ctl_main(int argc, char **argv)
{
	CtlOptions o;
	const char *prog = argc > 0 && argv[0] ? argv[0] : "mandos-ctl";
	int r, exit_code = 0;

	if (strrchr(prog, '/')) {
		prog = strrchr(prog, '/') + 1;
	}
	r = ctl_check_test_args(argc, (const char *const *)argv, prog, stderr);
	if (r < 0) {
		fprintf(stderr, "%s\n", strerror(-r));
		return 1;
	}
	if (r == 2) {
		return 2;
	}
	if (r == 1) {
		return ctl_selftest(stderr) == 0 ? 0 : 1;
	}
	if (secmem_init() < 0) {
		fprintf(stderr, "Failed to initialise libsodium\n");
		return 1;
	}
	r = ctl_parse_args(argc, (const char *const *)argv, prog, ctl_terminal_columns(), stdout,
	                   stderr, &o, &exit_code);
	if (r < 0) {
		fprintf(stderr, "%s\n", strerror(-r));
		ctl_options_done(&o);
		return 1;
	}
	if (r == 1) {
		ctl_options_done(&o);
		return exit_code;
	}
	exit_code = ctl_run(&o, stdout);
	ctl_options_done(&o);
	return exit_code;
}
