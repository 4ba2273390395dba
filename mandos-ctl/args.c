/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mandos-ctl's command line, parsed and reported exactly as upstream's argparse parser does. */
#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli-util.h"
#include "duration.h"
#include "macro.h"
#include "pyfmt.h"

typedef enum ActionKind {
	A_HELP,
	A_VERSION,
	A_ALL,
	A_VERBOSE,
	A_DEBUG,
	A_CHECK,
	A_ESCROW,
	A_FORCE,
	A_COMMAND,
} ActionKind;

typedef struct Action {
	const char *opts[2]; /* option strings; opts[1] may be NULL */
	const char *metavar; /* NULL: the option takes no argument */
	const char *help;
	ActionKind kind;
	CommandType cmd;
	int group; /* mutually exclusive group, 0 for none */
	bool ours; /* protocol 2, not upstream's: exact match only, not in the usage line */
} Action;

/* In upstream's order: the order matters for usage, help and "could match" lists. */
/* clang-format off */
static const Action actions[] = {
	{{"-h", "--help"}, NULL, "show this help message and exit", A_HELP, 0, 0},
	{{"--version", NULL}, NULL, "show version number and exit", A_VERSION, 0, 0},
	{{"-a", "--all"}, NULL, "Select all clients", A_ALL, 0, 0},
	{{"-v", "--verbose"}, NULL, "Print all fields", A_VERBOSE, 0, 0},
	{{"-j", "--dump-json"}, NULL, "Dump client data in JSON format", A_COMMAND, CMD_DUMP_JSON, 0},
	{{"-e", "--enable"}, NULL, "Enable client", A_COMMAND, CMD_ENABLE, 1},
	{{"-d", "--disable"}, NULL, "disable client", A_COMMAND, CMD_DISABLE, 1},
	{{"-b", "--bump-timeout"}, NULL, "Bump timeout for client", A_COMMAND, CMD_BUMP_TIMEOUT, 0},
	{{"--start-checker", NULL}, NULL, "Start checker for client", A_COMMAND, CMD_START_CHECKER, 2},
	{{"--stop-checker", NULL}, NULL, "Stop checker for client", A_COMMAND, CMD_STOP_CHECKER, 2},
	{{"-V", "--is-enabled"}, NULL, "Check if client is enabled", A_COMMAND, CMD_IS_ENABLED, 0},
	{{"-r", "--remove"}, NULL, "Remove client", A_COMMAND, CMD_REMOVE, 0},
	{{"-c", "--checker"}, "COMMAND", "Set checker command for client", A_COMMAND,
	 CMD_SET_CHECKER, 0},
	{{"-t", "--timeout"}, "TIME", "Set timeout for client", A_COMMAND, CMD_SET_TIMEOUT, 0},
	{{"--extended-timeout", NULL}, "TIME", "Set extended timeout for client", A_COMMAND,
	 CMD_SET_EXTENDED_TIMEOUT, 0},
	{{"-i", "--interval"}, "TIME", "Set checker interval for client", A_COMMAND,
	 CMD_SET_INTERVAL, 0},
	{{"--approve-by-default", NULL}, NULL, "Set client to be approved by default", A_COMMAND,
	 CMD_APPROVE_BY_DEFAULT, 3},
	{{"--deny-by-default", NULL}, NULL, "Set client to be denied by default", A_COMMAND,
	 CMD_DENY_BY_DEFAULT, 3},
	{{"--approval-delay", NULL}, "TIME", "Set delay before client approve/deny", A_COMMAND,
	 CMD_SET_APPROVAL_DELAY, 0},
	{{"--approval-duration", NULL}, "TIME", "Set duration of one client approval", A_COMMAND,
	 CMD_SET_APPROVAL_DURATION, 0},
	{{"-H", "--host"}, "STRING", "Set host for client", A_COMMAND, CMD_SET_HOST, 0},
	{{"-s", "--secret"}, "FILENAME", "Set password blob (file) for client", A_COMMAND,
	 CMD_SET_SECRET, 0},
	{{"-A", "--approve"}, NULL, "Approve any current client request", A_COMMAND, CMD_APPROVE, 4},
	{{"-D", "--deny"}, NULL, "Deny any current client request", A_COMMAND, CMD_DENY, 4},
	{{"--debug", NULL}, NULL, "Debug mode (show D-Bus commands)", A_DEBUG, 0, 0},
	{{"--check", NULL}, NULL, "Run self-test", A_CHECK, 0, 0},
	/* Ours, after upstream's so that its part of --help stays the same. */
	{{"--escrow", NULL}, NULL,
	 "List the clients' protocols, sealed secret, escrow key ids and where the keys are "
	 "written, release limit and releases left (with -j: as JSON)", A_ESCROW, 0, 0, true},
	{{"--shred", NULL}, NULL,
	 "Shred the clients' escrow keys, after asking: the server forgets them and disables "
	 "the client, and their escrow_keyfile is overwritten and deleted", A_COMMAND,
	 CMD_SHRED, 0, true},
	{{"--force", NULL}, NULL, "Shred without asking", A_FORCE, 0, 0, true},
	{{"--approve-for", NULL}, "DURATION",
	 "Approve every request of the clients for this time, at once and without waiting for "
	 "approval (0 cancels)", A_COMMAND, CMD_APPROVE_FOR, 0, true},
};
/* clang-format on */
#define N_ACTIONS ELEMENTSOF(actions)
#define POSITIONAL_METAVAR "client"
#define POSITIONAL_HELP "Client name"
#define OURS_HEADING "options not in upstream's mandos-ctl"

/* A parse error: argparse prints the usage and "PROG: error: MSG" and exits 2. */
#define PARSE_ERROR 1

static bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static size_t strv_length(char **v)
{
	size_t n = 0;

	while (v && v[n]) {
		n++;
	}
	return n;
}

void ctl_options_done(CtlOptions *o)
{
	for (size_t i = 0; i < o->n_commands; i++) {
		free(o->commands[i].str);
		secbuf_free(o->commands[i].secret);
	}
	free(o->commands);
	strv_free(o->clients);
	*o = (CtlOptions){0};
}

size_t ctl_terminal_columns(void)
{
	const char *e = getenv("COLUMNS");
	struct winsize ws;

	if (e) {
		char *end;
		long v;

		errno = 0;
		v = strtol(e, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\n') {
			end++;
		}
		if (errno == 0 && end != e && *end == '\0' && v > 0 && v < 100000) {
			return (size_t)v;
		}
	}
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
		return ws.ws_col;
	}
	return 80;
}

static bool is_negative_number(const char *s);

/* Is arg an argument (not an option) to a parser whose only options are long ones? */
static bool test_parser_argument(const char *arg)
{
	return arg[0] != '-' || arg[1] == '\0' || is_negative_number(arg) ||
	       (strchr(arg, ' ') && arg[1] != '-');
}

int ctl_check_test_args(int argc, const char *const *argv, const char *prog, FILE *err)
{
	int run = 0;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq = strchr(arg, '=');
		size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
		bool check, prefix;

		if (streq(arg, "--")) {
			break;
		}
		if (strncmp(arg, "--", 2) != 0 || n < 3) {
			continue;
		}
		check = strncmp(arg, "--check", n) == 0 && n <= strlen("--check");
		prefix = strncmp(arg, "--prefix", n) == 0 && n <= strlen("--prefix");
		if (check && eq) {
			_cleanup_free_ char *rv = NULL;
			size_t size = 0;
			FILE *f = open_memstream(&rv, &size);

			if (!f) {
				return -ENOMEM;
			}
			py_repr_str(f, eq + 1);
			if (fclose(f) != 0) {
				return -ENOMEM;
			}
			fprintf(err, "usage: %s [--check] [--prefix PREFIX]\n", prog);
			fprintf(err, "%s: error: argument --check: ignored explicit argument %s\n",
			        prog, rv);
			return 2;
		}
		if (check) {
			run = 1;
		} else if (prefix && !eq) {
			if (i + 1 >= argc || !test_parser_argument(argv[i + 1])) {
				fprintf(err, "usage: %s [--check] [--prefix PREFIX]\n", prog);
				fprintf(err,
				        "%s: error: argument --prefix: expected one argument\n",
				        prog);
				return 2;
			}
			i++;
		}
	}
	return run;
}

/* ---- Help and usage, formatted as argparse's HelpFormatter does ---- */

static char *action_name(const Action *a)
{
	char *s = NULL;

	if (a->opts[1]) {
		if (asprintf(&s, "%s/%s", a->opts[0], a->opts[1]) < 0) {
			return NULL;
		}
		return s;
	}
	return strdup(a->opts[0]);
}

/* The bracketed usage parts for the options, e.g. "[-e | -d]", "[-c COMMAND]". */
static char **usage_option_parts(void)
{
	char **parts = calloc(N_ACTIONS + 1, sizeof(char *));
	size_t n = 0;

	if (!parts) {
		return NULL;
	}
	for (size_t i = 0; i < N_ACTIONS; i++) {
		const Action *a = &actions[i];
		int r;

		if (a->ours) {
			continue;
		}
		if (a->group && i + 1 < N_ACTIONS && actions[i + 1].group == a->group) {
			r = asprintf(&parts[n], "[%s | %s]", a->opts[0], actions[i + 1].opts[0]);
			i++;
		} else if (a->metavar) {
			r = asprintf(&parts[n], "[%s %s]", a->opts[0], a->metavar);
		} else {
			r = asprintf(&parts[n], "[%s]", a->opts[0]);
		}
		if (r < 0) {
			parts[n] = NULL;
			strv_free(parts);
			return NULL;
		}
		n++;
	}
	return parts;
}

/* argparse's get_lines(): fill `parts` into lines of at most text_width, each with indent. */
static void usage_lines(FILE *f, const char *const *parts, size_t n_parts, long indent,
                        const char *prefix, long text_width, bool *first_line)
{
	long line_len = prefix ? (long)strlen(prefix) - 1 : indent - 1;
	bool line_empty = true, is_first = true;

	for (size_t i = 0; i < n_parts; i++) {
		long plen = (long)py_strlen(parts[i]);

		if (line_len + 1 + plen > text_width && !line_empty) {
			line_empty = true;
			line_len = indent - 1;
			is_first = false;
		}
		if (line_empty) {
			if (!*first_line) {
				fputc('\n', f);
			}
			*first_line = false;
			/* The first line with a prefix loses its indent: the prefix is already
			 * there. */
			if (!(prefix && is_first)) {
				fprintf(f, "%*s", (int)indent, "");
			}
		} else {
			fputc(' ', f);
		}
		fputs(parts[i], f);
		line_empty = false;
		line_len += plen + 1;
	}
}

static int format_usage(FILE *f, const char *prog, size_t columns)
{
	_cleanup_strv_free_ char **opt_parts = usage_option_parts();
	const char *pos_parts[] = {"[" POSITIONAL_METAVAR " ...]", NULL};
	const char *prefix = "usage: ";
	long text_width = (long)columns - 2, full_len;
	size_t n_opt;

	if (!opt_parts) {
		return -ENOMEM;
	}
	n_opt = strv_length(opt_parts);
	full_len = (long)py_strlen(prog);
	for (size_t i = 0; i < n_opt; i++) {
		full_len += 1 + (long)strlen(opt_parts[i]);
	}
	full_len += 1 + (long)strlen(pos_parts[0]);

	fputs(prefix, f);
	if ((long)strlen(prefix) + full_len <= text_width) {
		fputs(prog, f);
		for (size_t i = 0; i < n_opt; i++) {
			fprintf(f, " %s", opt_parts[i]);
		}
		fprintf(f, " %s\n", pos_parts[0]);
		return 0;
	}

	long prog_len = (long)py_strlen(prog), prefix_len = (long)strlen(prefix);
	bool first = true;

	if ((prefix_len + prog_len) * 4 <= 3 * text_width) {
		_cleanup_free_ const char **with_prog = calloc(n_opt + 2, sizeof(char *));
		long indent = prefix_len + prog_len + 1;

		if (!with_prog) {
			return -ENOMEM;
		}
		with_prog[0] = prog;
		memcpy(with_prog + 1, opt_parts, n_opt * sizeof(char *));
		usage_lines(f, with_prog, n_opt + 1, indent, prefix, text_width, &first);
		usage_lines(f, pos_parts, 1, indent, NULL, text_width, &first);
	} else {
		long indent = prefix_len, line_len = indent - 1;
		bool multi = false;

		/* Do all the parts fit on one line after the program name? */
		for (size_t i = 0; i <= n_opt; i++) {
			long plen = (long)strlen(i < n_opt ? opt_parts[i] : pos_parts[0]);

			if (line_len + 1 + plen > text_width && i > 0) {
				multi = true;
			}
			line_len += plen + 1;
		}
		fputs(prog, f);
		first = false;
		if (multi) {
			usage_lines(f, (const char *const *)opt_parts, n_opt, indent, NULL,
			            text_width, &first);
			usage_lines(f, pos_parts, 1, indent, NULL, text_width, &first);
		} else {
			fprintf(f, "\n%*s", (int)indent, "");
			for (size_t i = 0; i < n_opt; i++) {
				fprintf(f, "%s ", opt_parts[i]);
			}
			fputs(pos_parts[0], f);
		}
	}
	fputc('\n', f);
	return 0;
}

int ctl_write_usage(FILE *f, const char *prog, size_t columns)
{
	return format_usage(f, prog, columns);
}

static char *action_invocation(const Action *a)
{
	char *s = NULL;
	int r;

	if (!a->metavar) {
		r = a->opts[1] ? asprintf(&s, "%s, %s", a->opts[0], a->opts[1])
		               : asprintf(&s, "%s", a->opts[0]);
	} else if (a->opts[1]) {
		r = asprintf(&s, "%s %s, %s %s", a->opts[0], a->metavar, a->opts[1], a->metavar);
	} else {
		r = asprintf(&s, "%s %s", a->opts[0], a->metavar);
	}
	return r < 0 ? NULL : s;
}

static int format_action(FILE *f, const char *invocation, const char *help, long help_position,
                         long width)
{
	long help_width = MAX(width - help_position, 11), action_width = help_position - 2 - 2;
	_cleanup_strv_free_ char **lines = py_textwrap(help, (size_t)help_width);
	long indent_first;

	if (!lines) {
		return -ENOMEM;
	}
	if ((long)py_strlen(invocation) <= action_width) {
		fprintf(f, "  %s%*s  ", invocation,
		        (int)(action_width - (long)py_strlen(invocation)), "");
		indent_first = 0;
	} else {
		fprintf(f, "  %s\n", invocation);
		indent_first = help_position;
	}
	for (size_t i = 0; lines[i]; i++) {
		fprintf(f, "%*s%s\n", (int)(i == 0 ? indent_first : help_position), "", lines[i]);
	}
	return 0;
}

int ctl_write_help(FILE *f, const char *prog, size_t columns)
{
	long width = (long)columns - 2, max_help_position = MIN(24, MAX(width - 20, 4));
	long max_len = (long)strlen(POSITIONAL_METAVAR), help_position;
	int r;

	for (size_t i = 0; i < N_ACTIONS; i++) {
		_cleanup_free_ char *inv = action_invocation(&actions[i]);

		if (!inv) {
			return -ENOMEM;
		}
		if (!actions[i].ours) {
			max_len = MAX(max_len, (long)strlen(inv));
		}
	}
	help_position = MIN(max_len + 2 + 2, max_help_position);

	r = format_usage(f, prog, columns);
	if (r < 0) {
		return r;
	}
	fputs("\npositional arguments:\n", f);
	r = format_action(f, POSITIONAL_METAVAR, POSITIONAL_HELP, help_position, width);
	if (r < 0) {
		return r;
	}
	fputs("\noptions:\n", f);
	for (int ours = 0; ours < 2; ours++) {
		if (ours) {
			fputs("\n" OURS_HEADING ":\n", f);
		}
		for (size_t i = 0; i < N_ACTIONS; i++) {
			_cleanup_free_ char *inv = NULL;

			if (actions[i].ours != ours) {
				continue;
			}
			inv = action_invocation(&actions[i]);
			if (!inv) {
				return -ENOMEM;
			}
			r = format_action(f, inv, actions[i].help, help_position, width);
			if (r < 0) {
				return r;
			}
		}
	}
	return 0;
}

static int write_version(FILE *f, const char *prog, size_t columns)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_strv_free_ char **lines = NULL;

	if (asprintf(&text, "%s" CLI_VERSION_TAIL, prog) < 0) {
		return -ENOMEM;
	}
	lines = py_textwrap(text, (size_t)MAX((long)columns - 2, 11));
	if (!lines) {
		return -ENOMEM;
	}
	for (size_t i = 0; lines[i]; i++) {
		fprintf(f, "%s\n", lines[i]);
	}
	return 0;
}

/* ---- Parsing, following argparse's _parse_known_args() ---- */

typedef struct OptionMatch {
	int action; /* index into actions[], or -1 for an unknown option */
	const char *option_string;
	char *explicit_arg; /* NULL when none */
} OptionMatch;

typedef struct Parser {
	const char *prog;
	size_t columns;
	FILE *out, *err;
	int argc;
	const char *const *argv; /* the arguments, without the program name */
	char *pattern;           /* 'O' option, 'A' argument, '-' the "--" separator */
	OptionMatch *matches;
	bool seen[N_ACTIONS];
	bool positional_done;
	const char **extras;
	size_t n_extras;
	CtlOptions *o;
	int exit_code; /* set when parsing ends the program */
} Parser;

_printf_(2, 3) static int parse_error(Parser *p, const char *fmt, ...)
{
	va_list ap;

	format_usage(p->err, p->prog, p->columns);
	fprintf(p->err, "%s: error: ", p->prog);
	va_start(ap, fmt);
	vfprintf(p->err, fmt, ap);
	va_end(ap);
	fputc('\n', p->err);
	p->exit_code = 2;
	return PARSE_ERROR;
}

static char *repr(const char *s)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f) {
		return NULL;
	}
	py_repr_str(f, s);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int action_error(Parser *p, const Action *a, const char *msg)
{
	_cleanup_free_ char *name = action_name(a);

	if (!name) {
		return -ENOMEM;
	}
	return parse_error(p, "argument %s: %s", name, msg);
}

static bool is_negative_number(const char *s)
{
	/* '^-\d+$|^-\d*\.\d+$' */
	const char *q = s + 1;
	size_t digits = strspn(q, "0123456789");

	if (s[0] != '-') {
		return false;
	}
	if (digits > 0 && q[digits] == '\0') {
		return true;
	}
	q += digits;
	return q[0] == '.' && strspn(q + 1, "0123456789") > 0 &&
	       q[1 + strspn(q + 1, "0123456789")] == '\0';
}

static int find_exact(const char *s, size_t n)
{
	for (size_t i = 0; i < N_ACTIONS; i++) {
		for (size_t k = 0; k < 2 && actions[i].opts[k]; k++) {
			if (strlen(actions[i].opts[k]) == n &&
			    strncmp(actions[i].opts[k], s, n) == 0) {
				return (int)i;
			}
		}
	}
	return -1;
}

static const char *option_string_of(int action, const char *s, size_t n)
{
	for (size_t k = 0; k < 2 && actions[action].opts[k]; k++) {
		if (strlen(actions[action].opts[k]) == n &&
		    strncmp(actions[action].opts[k], s, n) == 0) {
			return actions[action].opts[k];
		}
	}
	return NULL;
}

/* argparse's _parse_optional(): returns 1 for an option (filling *m), 0 for an argument. */
static int classify(Parser *p, const char *arg, OptionMatch *m)
{
	const char *eq;
	int a;

	if (arg[0] != '-') {
		return 0;
	}
	a = find_exact(arg, strlen(arg));
	if (a >= 0) {
		*m = (OptionMatch){a, option_string_of(a, arg, strlen(arg)), NULL};
		return 1;
	}
	if (arg[1] == '\0') {
		return 0;
	}
	eq = strchr(arg, '=');
	if (eq) {
		a = find_exact(arg, (size_t)(eq - arg));
		if (a >= 0) {
			char *e = strdup(eq + 1);

			if (!e) {
				return -ENOMEM;
			}
			*m = (OptionMatch){a, option_string_of(a, arg, (size_t)(eq - arg)), e};
			return 1;
		}
	}

	/* Abbreviations (--ver) and short options with their argument attached (-tPT5M). */
	OptionMatch found[2 * N_ACTIONS];
	bool short_prefix[2 * N_ACTIONS];
	size_t n_found = 0;
	const char *explicit = NULL;

	if (arg[1] == '-') {
		size_t plen = eq ? (size_t)(eq - arg) : strlen(arg);

		explicit = eq ? eq + 1 : NULL;
		for (size_t i = 0; i < N_ACTIONS; i++) {
			for (size_t k = 0; k < 2 && actions[i].opts[k] && !actions[i].ours; k++) {
				if (strncmp(actions[i].opts[k], arg, plen) == 0) {
					short_prefix[n_found] = false;
					found[n_found++] =
					        (OptionMatch){(int)i, actions[i].opts[k], NULL};
				}
			}
		}
	} else {
		for (size_t i = 0; i < N_ACTIONS; i++) {
			for (size_t k = 0; k < 2 && actions[i].opts[k] && !actions[i].ours; k++) {
				const char *o = actions[i].opts[k];

				if (strlen(o) == 2 && strncmp(o, arg, 2) == 0) {
					short_prefix[n_found] = true;
					found[n_found++] = (OptionMatch){(int)i, o, NULL};
				} else if (strncmp(o, arg, strlen(arg)) == 0) {
					short_prefix[n_found] = false;
					found[n_found++] = (OptionMatch){(int)i, o, NULL};
				}
			}
		}
	}
	if (n_found > 1) {
		_cleanup_free_ char *list = NULL;
		size_t size = 0;
		FILE *f = open_memstream(&list, &size);

		if (!f) {
			return -ENOMEM;
		}
		for (size_t i = 0; i < n_found; i++) {
			fprintf(f, "%s%s", i ? ", " : "", found[i].option_string);
		}
		if (fclose(f) != 0) {
			return -ENOMEM;
		}
		parse_error(p, "ambiguous option: %s could match %s", arg, list);
		return -EINVAL;
	}
	if (n_found == 1) {
		*m = found[0];
		if (short_prefix[0]) {
			explicit = arg + 2;
		}
		if (explicit) {
			m->explicit_arg = strdup(explicit);
			if (!m->explicit_arg) {
				return -ENOMEM;
			}
		}
		return 1;
	}
	if (is_negative_number(arg) || strchr(arg, ' ')) {
		return 0;
	}
	*m = (OptionMatch){-1, arg, NULL};
	return 1;
}

static int add_command(CtlOptions *o, Command c)
{
	Command *n = reallocarray(o->commands, o->n_commands + 1, sizeof(Command));

	if (!n) {
		return -ENOMEM;
	}
	o->commands = n;
	o->commands[o->n_commands++] = c;
	return 0;
}

static int read_secret(Parser *p, const Action *a, const char *path, SecBuf **ret)
{
	_cleanup_secbuf_ SecBuf *b = secbuf_new(4096, CTL_SECRET_MAX);
	_cleanup_close_ int fd_owned = -EBADF;
	int fd, r;
	struct stat st;

	if (!b) {
		return -ENOMEM;
	}
	if (streq(path, "-")) {
		fd = STDIN_FILENO;
	} else {
		fd = fd_owned = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			r = -errno;
			goto fail;
		}
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			r = -EISDIR;
			goto fail;
		}
	}
	r = secbuf_read_all(b, fd);
	if (r < 0) {
		goto fail;
	}
	*ret = TAKE_PTR(b);
	return 0;
fail:
	if (r == -ENOMEM) {
		return r;
	}
	_cleanup_free_ char *rp = repr(path);
	_cleanup_free_ char *msg = NULL;

	if (!rp) {
		return -ENOMEM;
	}
	if (r == -EFBIG) {
		if (asprintf(&msg, "can't read '%s': larger than %d bytes", path, CTL_SECRET_MAX) <
		    0) {
			return -ENOMEM;
		}
	} else if (asprintf(&msg, "can't open '%s': [Errno %d] %s: %s", path, -r, strerror(-r),
	                    rp) < 0) {
		return -ENOMEM;
	}
	return action_error(p, a, msg);
}

static int convert_duration(Parser *p, const Action *a, const char *value, uint64_t *ret)
{
	int legacy = 0, r;

	r = duration_parse_rfc3339(value, ret);
	if (r == -EINVAL) {
		fprintf(p->err,
		        "Invalid RFC 3339 duration: \"%s\" - Parsing as pre-1.6.1 interval "
		        "instead\n",
		        value);
		r = duration_parse_ctl(value, ret, &legacy);
	}
	if (r < 0) {
		_cleanup_free_ char *rv = repr(value), *msg = NULL;

		if (!rv || asprintf(&msg, "duration too large: %s", rv) < 0) {
			return -ENOMEM;
		}
		return action_error(p, a, msg);
	}
	return 0;
}

/*
 * --approve-for's DURATION: as the other durations (RFC 3339, else the pre-1.6.1 form after
 * the same warning), but strictly: "0" cancels, and what upstream's lenient parser would read
 * as 0 without meaning it ("", "foo", "-5") is a usage error, never a cancellation.
 */
static int convert_approve_for(Parser *p, const Action *a, const char *value, uint64_t *ret)
{
	_cleanup_free_ char *rv = NULL, *msg = NULL;
	int r;

	if (streq(value, "0")) {
		*ret = 0;
		return 0;
	}
	r = duration_parse_rfc3339(value, ret);
	if (r == -EINVAL && value[strspn(value, " \t\n")] != '\0') {
		r = duration_parse(value, ret);
		if (r >= 0) {
			fprintf(p->err,
			        "Invalid RFC 3339 duration: \"%s\" - Parsing as pre-1.6.1 "
			        "interval instead\n",
			        value);
		}
	}
	if (r >= 0 && *ret > DURATION_MAX_MSEC) {
		r = -ERANGE;
	}
	if (r >= 0) {
		return 0;
	}
	rv = repr(value);
	if (!rv || asprintf(&msg,
	                    r == -ERANGE ? "duration too large: %s"
	                                 : "invalid duration: %s (PT10M, 1h 30m, or 0 to cancel)",
	                    rv) < 0) {
		return -ENOMEM;
	}
	return action_error(p, a, msg);
}

/* argparse's take_action(): check group conflicts, then act. */
static int take_action(Parser *p, int ai, const char *arg)
{
	const Action *a = &actions[ai];
	Command c = {.type = a->cmd};
	int r;

	if (a->group) {
		for (size_t i = 0; i < N_ACTIONS; i++) {
			if ((int)i != ai && actions[i].group == a->group && p->seen[i]) {
				_cleanup_free_ char *other = action_name(&actions[i]), *msg = NULL;

				if (!other ||
				    asprintf(&msg, "not allowed with argument %s", other) < 0) {
					return -ENOMEM;
				}
				return action_error(p, a, msg);
			}
		}
	}
	p->seen[ai] = true;

	switch (a->kind) {
	case A_HELP:
		r = ctl_write_help(p->out, p->prog, p->columns);
		p->exit_code = 0;
		return r < 0 ? r : PARSE_ERROR;
	case A_VERSION:
		r = write_version(p->out, p->prog, p->columns);
		p->exit_code = 0;
		return r < 0 ? r : PARSE_ERROR;
	case A_ALL:
		p->o->all = true;
		return 0;
	case A_VERBOSE:
		p->o->verbose = true;
		return 0;
	case A_DEBUG:
		p->o->debug = true;
		return 0;
	case A_CHECK:
		return 0;
	case A_ESCROW:
		p->o->escrow = true;
		return 0;
	case A_FORCE:
		p->o->force = true;
		return 0;
	case A_COMMAND:
		break;
	}
	switch (a->cmd) {
	case CMD_SET_CHECKER:
	case CMD_SET_HOST:
		c.str = strdup(arg);
		if (!c.str) {
			return -ENOMEM;
		}
		break;
	case CMD_SET_TIMEOUT:
	case CMD_SET_EXTENDED_TIMEOUT:
	case CMD_SET_INTERVAL:
	case CMD_SET_APPROVAL_DELAY:
	case CMD_SET_APPROVAL_DURATION:
		r = convert_duration(p, a, arg, &c.msec);
		if (r != 0) {
			return r;
		}
		break;
	case CMD_APPROVE_FOR:
		r = convert_approve_for(p, a, arg, &c.msec);
		if (r != 0) {
			return r;
		}
		break;
	case CMD_SET_SECRET:
		r = read_secret(p, a, arg, &c.secret);
		if (r != 0) {
			return r;
		}
		break;
	default:
		break;
	}
	r = add_command(p->o, c);
	if (r < 0) {
		free(c.str);
		secbuf_free(c.secret);
	}
	return r;
}

static int add_extra(Parser *p, const char *s)
{
	const char **n = reallocarray(p->extras, p->n_extras + 1, sizeof(char *));

	if (!n) {
		return -ENOMEM;
	}
	p->extras = n;
	p->extras[p->n_extras++] = s;
	return 0;
}

/* argparse's consume_positionals() for our one positional, client (nargs='*'). */
static int consume_positionals(Parser *p, int start, int *ret_stop)
{
	int end = start;
	bool removed_separator = false;
	size_t n = 0;

	if (p->positional_done) {
		*ret_stop = start;
		return 0;
	}
	while (end < p->argc && p->pattern[end] != 'O') {
		end++;
	}
	p->positional_done = true;
	p->o->clients = calloc((size_t)(end - start) + 1, sizeof(char *));
	if (!p->o->clients) {
		return -ENOMEM;
	}
	for (int i = start; i < end; i++) {
		if (!removed_separator && streq(p->argv[i], "--")) {
			removed_separator = true;
			continue;
		}
		p->o->clients[n] = strdup(p->argv[i]);
		if (!p->o->clients[n]) {
			return -ENOMEM;
		}
		n++;
	}
	p->o->n_clients = n;
	*ret_stop = end;
	return 0;
}

/* argparse's consume_optional(): returns the index after what the option used, or <0. */
static int consume_optional(Parser *p, int start, int *ret_stop)
{
	OptionMatch *m = &p->matches[start];
	int ai = m->action, r;
	const char *option_string = m->option_string, *explicit = m->explicit_arg;
	char short_opt[3];
	/* "-ebV": the flags before the last one, taken only once the whole group parsed. */
	_cleanup_free_ int *pending = calloc(strlen(p->argv[start]) + 1, sizeof(int));
	size_t n_pending = 0;
	const char *arg = NULL;

	if (!pending) {
		return -ENOMEM;
	}
	for (;;) {
		if (ai < 0) {
			r = add_extra(p, p->argv[start]);
			*ret_stop = start + 1;
			return r;
		}
		if (explicit) {
			bool takes_arg = actions[ai].metavar != NULL;

			if (!takes_arg && option_string[1] != '-' && explicit[0] != '\0') {
				int next;

				pending[n_pending++] = ai;
				short_opt[0] = '-';
				short_opt[1] = explicit[0];
				short_opt[2] = '\0';
				next = find_exact(short_opt, 2);
				if (next < 0) {
					_cleanup_free_ char *rv = repr(explicit), *msg = NULL;

					if (!rv || asprintf(&msg, "ignored explicit argument %s",
					                    rv) < 0) {
						return -ENOMEM;
					}
					return action_error(p, &actions[ai], msg);
				}
				ai = next;
				option_string = option_string_of(next, short_opt, 2);
				explicit = explicit[1] ? explicit + 1 : NULL;
				continue;
			}
			if (takes_arg) {
				arg = explicit;
				*ret_stop = start + 1;
				break;
			}
			_cleanup_free_ char *rv = repr(explicit), *msg = NULL;

			if (!rv || asprintf(&msg, "ignored explicit argument %s", rv) < 0) {
				return -ENOMEM;
			}
			return action_error(p, &actions[ai], msg);
		}
		if (actions[ai].metavar) {
			if (start + 1 >= p->argc || p->pattern[start + 1] != 'A') {
				return action_error(p, &actions[ai], "expected one argument");
			}
			arg = p->argv[start + 1];
			*ret_stop = start + 2;
		} else {
			*ret_stop = start + 1;
		}
		break;
	}
	for (size_t i = 0; i < n_pending; i++) {
		r = take_action(p, pending[i], NULL);
		if (r != 0) {
			return r;
		}
	}
	return take_action(p, ai, arg);
}

static int run_parser(Parser *p)
{
	int start = 0, max_option = -1, r;

	for (int i = 0; i < p->argc; i++) {
		if (streq(p->argv[i], "--")) {
			p->pattern[i] = '-';
			while (++i < p->argc) {
				p->pattern[i] = 'A';
			}
			break;
		}
		r = classify(p, p->argv[i], &p->matches[i]);
		if (r < 0) {
			return r == -EINVAL ? PARSE_ERROR : r;
		}
		p->pattern[i] = r ? 'O' : 'A';
		if (r) {
			max_option = i;
		}
	}

	while (start <= max_option) {
		int next = start, stop;

		while (p->pattern[next] != 'O') {
			next++;
		}
		if (start != next) {
			r = consume_positionals(p, start, &stop);
			if (r != 0) {
				return r;
			}
			if (stop > start) {
				start = stop;
				continue;
			}
		}
		if (p->pattern[start] != 'O') {
			for (int i = start; i < next; i++) {
				r = add_extra(p, p->argv[i]);
				if (r < 0) {
					return r;
				}
			}
			start = next;
		}
		r = consume_optional(p, start, &start);
		if (r != 0) {
			return r;
		}
	}
	r = consume_positionals(p, start, &start);
	if (r != 0) {
		return r;
	}
	for (int i = start; i < p->argc; i++) {
		r = add_extra(p, p->argv[i]);
		if (r < 0) {
			return r;
		}
	}
	if (p->n_extras > 0) {
		_cleanup_free_ char *list = NULL;
		size_t size = 0;
		FILE *f = open_memstream(&list, &size);

		if (!f) {
			return -ENOMEM;
		}
		for (size_t i = 0; i < p->n_extras; i++) {
			fprintf(f, "%s%s", i ? " " : "", p->extras[i]);
		}
		if (fclose(f) != 0) {
			return -ENOMEM;
		}
		return parse_error(p, "unrecognized arguments: %s", list);
	}
	return 0;
}

static bool has_command(const CtlOptions *o, CommandType t)
{
	for (size_t i = 0; i < o->n_commands; i++) {
		if (o->commands[i].type == t) {
			return true;
		}
	}
	return false;
}

/* Any command but --dump-json: upstream's has_commands(). */
static bool has_action(const CtlOptions *o)
{
	for (size_t i = 0; i < o->n_commands; i++) {
		if (o->commands[i].type != CMD_DUMP_JSON) {
			return true;
		}
	}
	return false;
}

static int check_option_syntax(Parser *p)
{
	const CtlOptions *o = p->o;

	/* Ours first where upstream's message would be misleading (it suggests --all). */
	if (has_command(o, CMD_SHRED) && o->all) {
		return parse_error(p, "--shred cannot be used with --all: name the clients.");
	}
	if (has_command(o, CMD_SHRED) && o->n_clients == 0) {
		return parse_error(p, "--shred requires client names.");
	}
	if (has_action(o) && !(o->n_clients > 0 || o->all)) {
		return parse_error(p, "Options require clients names or --all.");
	}
	if (o->verbose && has_action(o)) {
		return parse_error(p, "--verbose can only be used alone.");
	}
	if (has_command(o, CMD_DUMP_JSON) && (o->verbose || o->n_commands > 1)) {
		return parse_error(p, "--dump-json can only be used alone.");
	}
	if (o->all && !has_action(o)) {
		return parse_error(p, "--all requires an action.");
	}
	if (has_command(o, CMD_IS_ENABLED) && o->n_clients > 1) {
		return parse_error(p, "--is-enabled requires exactly one client");
	}
	if (o->n_commands > 1 && has_command(o, CMD_REMOVE) && !has_command(o, CMD_DENY)) {
		return parse_error(p, "--remove can only be combined with --deny");
	}
	/* The rest of ours. */
	if (o->escrow && (o->verbose || has_action(o))) {
		return parse_error(p, "--escrow can only be combined with --dump-json.");
	}
	if (has_command(o, CMD_SHRED) && o->n_commands > 1) {
		return parse_error(p, "--shred can only be used alone.");
	}
	if (o->force && !has_command(o, CMD_SHRED)) {
		return parse_error(p, "--force can only be used with --shred.");
	}
	return 0;
}

/* Move every --deny after the first --remove to just before it, as upstream does. */
static void reorder_commands(CtlOptions *o)
{
	size_t first_remove = o->n_commands, k;
	_cleanup_free_ Command *tmp = NULL;

	for (size_t i = 0; i < o->n_commands; i++) {
		if (o->commands[i].type == CMD_REMOVE) {
			first_remove = i;
			break;
		}
	}
	if (first_remove == o->n_commands) {
		return;
	}
	tmp = calloc(o->n_commands, sizeof(Command));
	if (!tmp) {
		return; /* only the order of the calls would differ; --deny still runs */
	}
	k = first_remove;
	memcpy(tmp, o->commands, first_remove * sizeof(Command));
	for (size_t i = first_remove; i < o->n_commands; i++) {
		if (o->commands[i].type == CMD_DENY) {
			tmp[k++] = o->commands[i];
		}
	}
	for (size_t i = first_remove; i < o->n_commands; i++) {
		if (o->commands[i].type != CMD_DENY) {
			tmp[k++] = o->commands[i];
		}
	}
	memcpy(o->commands, tmp, o->n_commands * sizeof(Command));
}

int ctl_parse_args(int argc, const char *const *argv, const char *prog, size_t columns, FILE *out,
                   FILE *err, CtlOptions *o, int *ret_exit)
{
	Parser p = {
	        .prog = prog,
	        .columns = columns,
	        .out = out,
	        .err = err,
	        .argc = argc > 0 ? argc - 1 : 0,
	        .argv = argv + (argc > 0 ? 1 : 0),
	        .o = o,
	};
	int r;

	*o = (CtlOptions){0};
	p.pattern = calloc((size_t)p.argc + 1, 1);
	p.matches = calloc((size_t)p.argc + 1, sizeof(OptionMatch));
	if (!p.pattern || !p.matches) {
		r = -ENOMEM;
		goto finish;
	}
	r = run_parser(&p);
	if (r == 0) {
		r = check_option_syntax(&p);
	}
	if (r == 0 && !o->clients) {
		o->clients = calloc(1, sizeof(char *));
		if (!o->clients) {
			r = -ENOMEM;
		}
	}
	if (r == 0) {
		reorder_commands(o);
		if (o->n_commands == 0) {
			r = add_command(o, (Command){.type = CMD_PRINT_TABLE});
		}
	}
finish:
	if (p.matches) {
		for (int i = 0; i < p.argc; i++) {
			free(p.matches[i].explicit_arg);
		}
	}
	free(p.matches);
	free(p.pattern);
	free(p.extras);
	fflush(out);
	fflush(err);
	if (r == PARSE_ERROR) {
		*ret_exit = p.exit_code;
		return 1;
	}
	return r;
}
