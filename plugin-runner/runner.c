/* SPDX-License-Identifier: GPL-3.0-or-later */
/* plugin-runner's options, plugin selection, plugin argv/environment, and the fallback prompt. */
#include "runner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cli-util.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"

enum {
	OPT_CONFIG_FILE = 256,
	OPT_PLUGIN_DIR,
	OPT_HELPER_DIR,
	OPT_GROUPID,
	OPT_USERID,
	OPT_DEBUG,
	OPT_USAGE,
	OPT_HELP,
};

static const struct option long_options[] = {
        {"env-for", required_argument, NULL, 'E'},
        {"global-options", required_argument, NULL, 'g'},
        {"global-env", required_argument, NULL, 'G'},
        {"options-for", required_argument, NULL, 'o'},
        {"disable", required_argument, NULL, 'd'},
        {"enable", required_argument, NULL, 'e'},
        {"config-file", required_argument, NULL, OPT_CONFIG_FILE},
        {"plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR},
        {"plugin-helper-dir", required_argument, NULL, OPT_HELPER_DIR},
        {"groupid", required_argument, NULL, OPT_GROUPID},
        {"userid", required_argument, NULL, OPT_USERID},
        {"debug", no_argument, NULL, OPT_DEBUG},
        {"help", no_argument, NULL, OPT_HELP},
        {"usage", no_argument, NULL, OPT_USAGE},
        {"version", no_argument, NULL, 'V'},
        {},
};
static const char short_options[] = "E:g:G:o:d:e:V?";

static char *opts_free_contents(PluginOpts *p)
{
	free(p->name);
	strv_free(p->args);
	strv_free(p->env);
	*p = (PluginOpts){};
	return NULL;
}

static int opts_init(PluginOpts *p, const char *name)
{
	*p = (PluginOpts){};
	p->name = strdup(name);
	p->args = calloc(1, sizeof(char *));
	p->env = calloc(1, sizeof(char *));
	if (!p->name || !p->args || !p->env) {
		opts_free_contents(p);
		return -ENOMEM;
	}
	return 0;
}

/* Append a copy of s (n bytes) to a NULL-terminated list. */
static int strv_push_n(char ***list, size_t *count, const char *s, size_t n)
{
	if (*count >= RUNNER_MAX_LIST) {
		return -E2BIG;
	}
	char **nl = reallocarray(*list, *count + 2, sizeof(char *));
	if (!nl) {
		return -ENOMEM;
	}
	*list = nl;
	nl[*count] = strndup(s, n);
	if (!nl[*count]) {
		return -ENOMEM;
	}
	nl[++*count] = NULL;
	return 0;
}

/* Append the comma-separated words of s; empty words are kept (so "" adds one empty word). */
static int add_options(PluginOpts *p, const char *s)
{
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		int r = strv_push_n(&p->args, &p->n_args, s, n);

		if (r < 0) {
			return r;
		}
		if (!comma) {
			return 0;
		}
		s = comma + 1;
	}
}

/* Length of the "VAR=" part of an environment entry including '=', or 0 if it has none. */
static size_t env_key_len(const char *e)
{
	const char *eq = strchr(e, '=');

	return eq ? (size_t)(eq - e) + 1 : 0;
}

/* Whether list holds a variable with the same name as e (both "VAR=..."). */
static bool env_has(char *const *list, const char *e)
{
	size_t k = env_key_len(e);

	if (k == 0) {
		return false;
	}
	for (; list && *list; list++) {
		if (env_key_len(*list) == k && strncmp(*list, e, k) == 0) {
			return true;
		}
	}
	return false;
}

/* Set a variable: an existing entry with the same name is replaced in place. */
static int add_env(PluginOpts *p, const char *e)
{
	size_t k = env_key_len(e);

	for (size_t i = 0; k > 0 && i < p->n_env; i++) {
		if (env_key_len(p->env[i]) == k && strncmp(p->env[i], e, k) == 0) {
			char *copy = strdup(e);

			if (!copy) {
				return -ENOMEM;
			}
			free(p->env[i]);
			p->env[i] = copy;
			return 0;
		}
	}
	return strv_push_n(&p->env, &p->n_env, e, strlen(e));
}

static PluginOpts *plugin_find(const RunnerConfig *c, const char *name, size_t n)
{
	for (size_t i = 0; i < c->n_plugins; i++) {
		if (strlen(c->plugins[i].name) == n && strncmp(c->plugins[i].name, name, n) == 0) {
			return &c->plugins[i];
		}
	}
	return NULL;
}

static int plugin_get(RunnerConfig *c, const char *name, size_t n, PluginOpts **ret)
{
	PluginOpts *p = plugin_find(c, name, n);
	_cleanup_free_ char *copy = NULL;
	int r;

	if (p) {
		*ret = p;
		return 0;
	}
	if (c->n_plugins >= RUNNER_MAX_LIST) {
		return -E2BIG;
	}
	copy = strndup(name, n);
	if (!copy) {
		return -ENOMEM;
	}
	PluginOpts *np = reallocarray(c->plugins, c->n_plugins + 1, sizeof(PluginOpts));
	if (!np) {
		return -ENOMEM;
	}
	c->plugins = np;
	r = opts_init(&np[c->n_plugins], copy);
	if (r < 0) {
		return r;
	}
	*ret = &np[c->n_plugins++];
	return 0;
}

int runner_config_init(RunnerConfig *c)
{
	int r;

	*c = (RunnerConfig){.uid = RUNNER_DEFAULT_ID, .gid = RUNNER_DEFAULT_ID};
	r = opts_init(&c->global, "Global");
	if (r < 0) {
		return r;
	}
	c->plugin_dir = strdup(RUNNER_DEFAULT_PLUGIN_DIR);
	c->helper_dir = strdup(RUNNER_DEFAULT_HELPER_DIR);
	c->config_file = strdup(RUNNER_DEFAULT_CONFIG_FILE);
	if (!c->plugin_dir || !c->helper_dir || !c->config_file) {
		runner_config_done(c);
		return -ENOMEM;
	}
	return 0;
}

void runner_config_done(RunnerConfig *c)
{
	opts_free_contents(&c->global);
	for (size_t i = 0; i < c->n_plugins; i++) {
		opts_free_contents(&c->plugins[i]);
	}
	free(c->plugins);
	free(c->plugin_dir);
	free(c->helper_dir);
	free(c->config_file);
	*c = (RunnerConfig){};
}

static int replace_string(char **dst, const char *s)
{
	char *copy = strdup(s);

	if (!copy) {
		return -ENOMEM;
	}
	free(*dst);
	*dst = copy;
	return 0;
}

const char *runner_find_config_file(int argc, char **argv)
{
	/* The strings belong to argv: only the array of pointers is ours. */
	_cleanup_free_ char **copy = NULL;
	const char *found = NULL;
	int saved_opterr = opterr;

	/* getopt permutes its argument array: work on a copy of the pointers. */
	copy = calloc((size_t)argc + 1, sizeof(char *));
	if (!copy) {
		return NULL;
	}
	memcpy(copy, argv, (size_t)argc * sizeof(char *));
	opterr = 0;
	optind = 0;
	for (;;) {
		int c = getopt_long(argc, copy, short_options, long_options, NULL);

		if (c == -1) {
			break;
		}
		if (c == OPT_CONFIG_FILE) {
			found = optarg;
		}
	}
	opterr = saved_opterr;
	return found;
}

_printf_(2, 3) static int parse_error(RunnerSource source, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fprintf(stderr, "Try `%s --help' or `%s --usage' for more information.\n",
	        program_invocation_short_name, program_invocation_short_name);
	return -EINVAL;
}

/* Split "PLUGIN:rest" at the first colon. */
static int split_plugin(RunnerSource source, const char *arg, size_t *ret_n, const char **ret_rest)
{
	const char *colon = strchr(arg, ':');

	if (!colon) {
		return parse_error(source, "No colon in \"%s\"", arg);
	}
	if (colon == arg) {
		return parse_error(source, "Empty plugin name");
	}
	*ret_n = (size_t)(colon - arg);
	*ret_rest = colon + 1;
	return 0;
}

static int parse_one(RunnerConfig *c, int opt, const char *arg, RunnerSource source)
{
	PluginOpts *p;
	const char *rest = NULL;
	unsigned id;
	size_t n = 0;
	int r = 0;

	switch (opt) {
	case 'G':
		r = add_env(&c->global, arg);
		break;
	case 'E':
		r = split_plugin(source, arg, &n, &rest);
		if (r < 0) {
			return r;
		}
		r = plugin_get(c, arg, n, &p);
		if (r >= 0) {
			r = add_env(p, rest);
		}
		break;
	case 'g':
		r = add_options(&c->global, arg);
		break;
	case 'o':
		r = split_plugin(source, arg, &n, &rest);
		if (r < 0) {
			return r;
		}
		r = plugin_get(c, arg, n, &p);
		if (r >= 0) {
			r = add_options(p, rest);
		}
		break;
	case 'd':
	case 'e':
		r = plugin_get(c, arg, strlen(arg), &p);
		if (r >= 0) {
			p->disabled = opt == 'd';
		}
		break;
	case OPT_CONFIG_FILE:
		/* Inside a configuration file it would come too late to matter (as upstream). */
		if (source == RUNNER_SOURCE_CLI) {
			r = replace_string(&c->config_file, arg);
		}
		break;
	case OPT_PLUGIN_DIR:
		r = replace_string(&c->plugin_dir, arg);
		break;
	case OPT_HELPER_DIR:
		r = replace_string(&c->helper_dir, arg);
		break;
	case OPT_USERID:
	case OPT_GROUPID:
		if (parse_id(arg, &id) < 0) {
			return parse_error(source, "Bad %s ID number: \"%s\"",
			                   opt == OPT_USERID ? "user" : "group", arg);
		}
		*(opt == OPT_USERID ? &c->uid : &c->gid) = id;
		break;
	case OPT_DEBUG:
		c->debug = true;
		break;
	case OPT_HELP:
		c->help = true;
		break;
	case OPT_USAGE:
		c->usage = true;
		break;
	case 'V':
		c->version = true;
		break;
	default:
		return -EINVAL;
	}
	if (r == -E2BIG) {
		return parse_error(source, "Too many options");
	}
	return r;
}

int runner_parse(RunnerConfig *c, int argc, char **argv, RunnerSource source)
{
	optind = 0;
	opterr = 1;
	for (;;) {
		int opt, r;

		opt = getopt_long(argc, argv, short_options, long_options, NULL);

		if (opt == -1) {
			break;
		}
		if (opt == '?') {
			/* getopt returns '?' both for "-?" and for errors it has reported. */
			if (optind > 0 && strcmp(argv[optind - 1], "-?") == 0) {
				c->help = true;
				continue;
			}
			fprintf(stderr, "Try `%s --help' or `%s --usage' for more information.\n",
			        program_invocation_short_name, program_invocation_short_name);
			return -EINVAL;
		}
		r = parse_one(c, opt, optarg, source);
		if (r < 0) {
			return r == -ENOMEM ? log_oom() : -EINVAL;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (argv[i][0] != '\0') {
			return parse_error(source, "Too many arguments");
		}
	}
	return 0;
}

void runner_print_help(void)
{
	printf("Usage: %s [OPTION...]\n"
	       "Start the Mandos password plugins and print the first password one of them gives.\n"
	       "\n"
	       "  -E, --env-for=PLUGIN:ENV=value   Set an environment variable for one plugin\n"
	       "  -g, --global-options=OPTION[,OPTION[,...]]\n"
	       "                             Give options to every plugin\n"
	       "  -G, --global-env=VAR=value Set an environment variable for every plugin\n"
	       "  -o, --options-for=PLUGIN:OPTION[,OPTION[,...]]\n"
	       "                             Give options to one plugin\n"
	       "  -d, --disable=PLUGIN       Do not start this plugin\n"
	       "  -e, --enable=PLUGIN        Start this plugin after all\n"
	       "      --config-file=FILE     Read more options from FILE\n"
	       "      --plugin-dir=DIRECTORY Start the plugins in DIRECTORY\n"
	       "      --plugin-helper-dir=DIRECTORY\n"
	       "                             Tell the plugins where their helpers are\n"
	       "      --groupid=ID           Run the plugins with this group ID\n"
	       "      --userid=ID            Run the plugins with this user ID\n"
	       "      --debug                Explain on standard error what happens\n"
	       "  -?, --help                 Print this help and exit\n"
	       "      --usage                Print a short usage line and exit\n"
	       "  -V, --version              Print the version and exit\n"
	       "\n"
	       "Mandatory arguments to long options are also mandatory for the short ones.\n"
	       "\n"
	       "Report bugs to " CLI_BUG_ADDRESS ".\n",
	       program_invocation_short_name);
}

void runner_print_usage(void)
{
	printf("Usage: %s [-?V] [-E PLUGIN:ENV=value] [-g OPTION[,OPTION[,...]]]\n"
	       "            [-G VAR=value] [-o PLUGIN:OPTION[,OPTION[,...]]] [-d PLUGIN]\n"
	       "            [-e PLUGIN] [--env-for=PLUGIN:ENV=value]\n"
	       "            [--global-options=OPTION[,OPTION[,...]]] [--global-env=VAR=value]\n"
	       "            [--options-for=PLUGIN:OPTION[,OPTION[,...]]] [--disable=PLUGIN]\n"
	       "            [--enable=PLUGIN] [--config-file=FILE] [--plugin-dir=DIRECTORY]\n"
	       "            [--plugin-helper-dir=DIRECTORY] [--groupid=ID] [--userid=ID]\n"
	       "            [--debug] [--help] [--usage] [--version]\n",
	       program_invocation_short_name);
}

void runner_print_version(void)
{
	printf("%s" CLI_VERSION_TAIL "\n", program_invocation_short_name);
}

static void dump_opts(const PluginOpts *p, size_t extra_env)
{
	fprintf(stderr, "Plugin: %s has %zu arguments\n", p->name, p->n_args);
	for (size_t i = 0; i < p->n_args; i++) {
		fprintf(stderr, "\tArg: %s\n", p->args[i]);
	}
	fprintf(stderr, "...and %zu environment variables%s\n", p->n_env + extra_env,
	        p->disabled ? " (disabled)" : "");
	for (size_t i = 0; i < p->n_env; i++) {
		fprintf(stderr, "\t%s\n", p->env[i]);
	}
}

void runner_dump_config(const RunnerConfig *c)
{
	dump_opts(&c->global, 1);
	fprintf(stderr, "\tMANDOSPLUGINHELPERDIR=%s\n", c->helper_dir);
	for (size_t i = 0; i < c->n_plugins; i++) {
		dump_opts(&c->plugins[i], 0);
	}
}

const PluginOpts *runner_plugin_opts(const RunnerConfig *c, const char *name)
{
	return plugin_find(c, name, strlen(name));
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

const char *runner_ignored_name(const char *name)
{
	static const char *const suffixes[] = {"~", ".dpkg-new", ".dpkg-old", ".dpkg-bak",
	                                       ".dpkg-divert"};
	static const char *const patterns[] = {"*~", "*.dpkg-new", "*.dpkg-old", "*.dpkg-bak",
	                                       "*.dpkg-divert"};
	size_t n = strlen(name);

	if (name[0] == '.') {
		return ".*";
	}
	if (n >= 2 && name[0] == '#' && name[n - 1] == '#') {
		return "#*#";
	}
	for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
		if (has_suffix(name, suffixes[i])) {
			return patterns[i];
		}
	}
	return NULL;
}

char **runner_plugin_argv(const RunnerConfig *c, const char *name)
{
	const PluginOpts *p = runner_plugin_opts(c, name);
	size_t n = 1 + (p ? p->n_args : 0) + c->global.n_args, k = 0;
	_cleanup_strv_free_ char **v = calloc(n + 1, sizeof(char *));

	if (!v) {
		return NULL;
	}
	v[k] = strdup(name);
	if (!v[k++]) {
		return NULL;
	}
	for (size_t i = 0; p && i < p->n_args; i++) {
		v[k] = strdup(p->args[i]);
		if (!v[k++]) {
			return NULL;
		}
	}
	for (size_t i = 0; i < c->global.n_args; i++) {
		v[k] = strdup(c->global.args[i]);
		if (!v[k++]) {
			return NULL;
		}
	}
	return TAKE_PTR(v);
}

char **runner_plugin_envp(const RunnerConfig *c, const char *name, char *const *inherited)
{
	const PluginOpts *p = runner_plugin_opts(c, name);
	_cleanup_strv_free_ char **v = NULL;
	_cleanup_free_ char *helper = NULL;
	size_t n = 0, n_inherited = 0;

	if (asprintf(&helper, "MANDOSPLUGINHELPERDIR=%s", c->helper_dir) < 0) {
		helper = NULL;
		return NULL;
	}
	for (char *const *e = inherited; e && *e; e++) {
		n_inherited++;
	}
	v = calloc((p ? p->n_env : 0) + c->global.n_env + 1 + n_inherited + 1, sizeof(char *));
	if (!v) {
		return NULL;
	}
	/* Earlier entries win: plugin, then the helper dir, then global, then inherited. */
	for (size_t i = 0; p && i < p->n_env; i++) {
		if (!env_has(v, p->env[i]) && !(v[n++] = strdup(p->env[i]))) {
			return NULL;
		}
	}
	/* --plugin-helper-dir beats a global MANDOSPLUGINHELPERDIR, as upstream. */
	if (!env_has(v, helper)) {
		v[n++] = TAKE_PTR(helper);
	}
	for (size_t i = 0; i < c->global.n_env; i++) {
		if (!env_has(v, c->global.env[i]) && !(v[n++] = strdup(c->global.env[i]))) {
			return NULL;
		}
	}
	for (char *const *e = inherited; e && *e; e++) {
		if (!env_has(v, *e) && !(v[n++] = strdup(*e))) {
			return NULL;
		}
	}
	return TAKE_PTR(v);
}

bool runner_mode_allows_exec(mode_t mode, uid_t owner, gid_t group, uid_t uid, gid_t gid)
{
	if (uid == 0) {
		return (mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
	}
	if (owner == uid) {
		return (mode & S_IXUSR) != 0;
	}
	if (group == gid) {
		return (mode & S_IXGRP) != 0;
	}
	return (mode & S_IXOTH) != 0;
}

void runner_candidates_free(RunnerCandidate *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].name);
		safe_close(v[i].fd);
	}
	free(v);
}

static int candidate_cmp(const void *a, const void *b)
{
	return strcmp(((const RunnerCandidate *)a)->name, ((const RunnerCandidate *)b)->name);
}

int runner_scan_dir(const RunnerConfig *c, int dir_fd, bool drop, uid_t uid, gid_t gid,
                    RunnerCandidate **ret, size_t *ret_n)
{
	_cleanup_closedir_ DIR *d = NULL;
	RunnerCandidate *v = NULL;
	size_t n = 0;
	int fd2, r = 0;

	/* fdopendir() takes the fd: give it a duplicate so the caller keeps its own. */
	fd2 = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
	if (fd2 < 0) {
		return negative_errno();
	}
	d = fdopendir(fd2);
	if (!d) {
		r = negative_errno();
		safe_close(fd2);
		return r;
	}
	rewinddir(d);
	for (;;) {
		struct dirent *de;
		const char *pattern;
		struct stat st;
		_cleanup_close_ int fd = -EBADF;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno != 0) {
				r = negative_errno();
				goto fail;
			}
			break;
		}
		pattern = runner_ignored_name(de->d_name);
		if (pattern) {
			log_debug("Ignoring plugin dir entry \"%s\" matching pattern %s",
			          de->d_name, pattern);
			continue;
		}
		/* O_PATH: never blocks (a FIFO in the directory) and needs no read permission. */
		fd = openat(dir_fd, de->d_name, O_PATH | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			log_debug_errno(errno, "Ignoring plugin dir entry \"%s/%s\": %m",
			                c->plugin_dir, de->d_name);
			continue;
		}
		bool exec_ok =
		        drop ? runner_mode_allows_exec(st.st_mode, st.st_uid, st.st_gid, uid, gid)
		             : faccessat(dir_fd, de->d_name, X_OK, AT_EACCESS) == 0;
		if (!S_ISREG(st.st_mode) || !exec_ok) {
			log_debug("Ignoring plugin dir entry \"%s/%s\" with bad type or mode",
			          c->plugin_dir, de->d_name);
			continue;
		}
		const PluginOpts *p = runner_plugin_opts(c, de->d_name);
		if (p && p->disabled) {
			log_debug("Ignoring disabled plugin \"%s\"", de->d_name);
			continue;
		}
		if (n >= RUNNER_MAX_PLUGINS) {
			log_warning("Too many plugins; ignoring \"%s\"", de->d_name);
			continue;
		}
		RunnerCandidate *nv = reallocarray(v, n + 1, sizeof(RunnerCandidate));
		if (!nv) {
			r = -ENOMEM;
			goto fail;
		}
		v = nv;
		v[n].name = strdup(de->d_name);
		if (!v[n].name) {
			r = -ENOMEM;
			goto fail;
		}
		v[n++].fd = TAKE_FD(fd);
	}
	if (n > 0) {
		qsort(v, n, sizeof(RunnerCandidate), candidate_cmp);
	}
	*ret = v;
	*ret_n = n;
	return (int)n;
fail:
	runner_candidates_free(v, n);
	return r;
}

int runner_getpass(SecBuf **ret, int *ret_signal)
{
	_cleanup_secbuf_ SecBuf *b = NULL;
	_cleanup_close_ int tty = -EBADF, sigfd = -EBADF;
	struct termios saved, t;
	sigset_t mask, old_mask;
	bool restore = false, got_any = false;
	int in, out, r = 0;

	*ret_signal = 0;
	b = secbuf_new(128, RUNNER_MAX_PASSWORD);
	if (!b) {
		return -ENOMEM;
	}
	/* A signal must not leave the terminal without echo: take them through a signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, &old_mask) < 0) {
		return negative_errno();
	}
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0) {
		r = negative_errno();
		(void)sigprocmask(SIG_SETMASK, &old_mask, NULL);
		return r;
	}
	tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	in = tty >= 0 ? tty : STDIN_FILENO;
	out = tty >= 0 ? tty : STDERR_FILENO;
	if (tcgetattr(in, &saved) == 0) {
		t = saved;
		t.c_lflag &= ~(tcflag_t)(ECHO | ISIG);
		if (RETRY_EINTR(tcsetattr(in, TCSAFLUSH, &t)) == 0) {
			restore = true;
		}
	}
	(void)!write(out, "Password: ", 10);
	for (;;) {
		struct pollfd p[2] = {{.fd = in, .events = POLLIN},
		                      {.fd = sigfd, .events = POLLIN}};
		struct signalfd_siginfo si;
		unsigned char ch;
		ssize_t n;

		if (RETRY_EINTR(poll(p, 2, -1)) < 0) {
			r = negative_errno();
			break;
		}
		if (p[1].revents && read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			*ret_signal = (int)si.ssi_signo;
			r = -EINTR;
			break;
		}
		if (!p[0].revents) {
			continue;
		}
		n = RETRY_EINTR(read(in, &ch, 1));
		if (n < 0) {
			r = negative_errno();
			break;
		}
		if (n == 0) {
			break;
		}
		got_any = true;
		if (ch == '\n') {
			break;
		}
		r = secbuf_append(b, &ch, 1);
		secmem_wipe(&ch, sizeof(ch));
		if (r < 0) {
			break;
		}
	}
	if (restore) {
		(void)RETRY_EINTR(tcsetattr(in, TCSAFLUSH, &saved));
		(void)!write(out, "\n", 1);
	}
	/* A signal that arrived stays pending for the caller to act on: it is consumed here. */
	(void)sigprocmask(SIG_SETMASK, &old_mask, NULL);
	if (r < 0) {
		return r;
	}
	if (!got_any) {
		return -ENODATA;
	}
	*ret = TAKE_PTR(b);
	return 0;
}
