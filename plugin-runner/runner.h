/* SPDX-License-Identifier: GPL-3.0-or-later */
/* plugin-runner's options, plugin selection, plugin argv/environment, and the fallback prompt. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "secmem.h"

#define RUNNER_DEFAULT_PLUGIN_DIR "/lib/mandos/plugins.d"
#define RUNNER_DEFAULT_HELPER_DIR "/lib/mandos/plugin-helpers"
#define RUNNER_DEFAULT_CONFIG_FILE "/conf/conf.d/mandos/plugin-runner.conf"
#define RUNNER_DEFAULT_ID 65534U

/* The most plugins plugin-runner starts, and the most options it accepts per list. */
#define RUNNER_MAX_PLUGINS 256
#define RUNNER_MAX_LIST 4096

/* A password typed at the fallback prompt is at most this long. */
#define RUNNER_MAX_PASSWORD ((size_t)64 * 1024)

/* Options and environment for one plugin name, or for all plugins ("Global"). */
typedef struct PluginOpts {
	char *name;
	char **args; /* NULL-terminated */
	size_t n_args;
	char **env; /* NULL-terminated "VAR=value" */
	size_t n_env;
	bool disabled;
} PluginOpts;

typedef struct RunnerConfig {
	PluginOpts global;
	PluginOpts *plugins; /* per name, in order of first mention */
	size_t n_plugins;
	unsigned uid, gid;
	char *plugin_dir;
	char *helper_dir;
	char *config_file;
	bool debug;
	bool help, usage, version; /* asked for: print and exit 0 */
} RunnerConfig;

/* Where a list of words being parsed came from: decides the error's exit code. */
typedef enum RunnerSource {
	RUNNER_SOURCE_CONFIG, /* errors are EX_CONFIG; --config-file is ignored */
	RUNNER_SOURCE_CLI,    /* errors are EX_USAGE */
} RunnerSource;

/* Set the defaults.  Returns 0 or -ENOMEM. */
int runner_config_init(RunnerConfig *c);
/* Free everything the config owns. */
void runner_config_done(RunnerConfig *c);

/*
 * Find the value of --config-file on the command line without acting on anything else, so
 * the file can be read before the command line is parsed for real.  Returns the value (a
 * pointer into argv) or NULL when absent.  Never prints.
 */
const char *runner_find_config_file(int argc, char **argv);

/*
 * Parse a command line (argv[0] is the program name) or the words of a configuration file
 * (argv[0] is a placeholder) into c, on top of what is already there.  An empty positional
 * argument is ignored (cryptsetup passes one); anything else positional is an error.
 * Returns 0, or -EINVAL after printing an argp-style message to stderr.
 */
int runner_parse(RunnerConfig *c, int argc, char **argv, RunnerSource source);

/* Print --help, --usage or --version text to stdout. */
void runner_print_help(void);
void runner_print_usage(void);
void runner_print_version(void);

/* Print the options and environment of every plugin (for --debug). */
void runner_dump_config(const RunnerConfig *c);

/* Options for name, or NULL when it was never mentioned. */
const PluginOpts *runner_plugin_opts(const RunnerConfig *c, const char *name);

/*
 * Whether a plugin directory entry is skipped because of its name (hidden, editor backups,
 * package manager leftovers).  Returns the matching pattern ("*~", ".*"...) or NULL.
 */
const char *runner_ignored_name(const char *name);

/*
 * The argv of plugin `name`: the name, then its own options in order, then the global ones.
 * Returns a new NULL-terminated array (strv_free()) or NULL on ENOMEM.
 */
char **runner_plugin_argv(const RunnerConfig *c, const char *name);

/*
 * The environment of plugin `name`: its own variables, then MANDOSPLUGINHELPERDIR (the
 * helper dir, over any global setting of it), then global variables, then inherited ones;
 * earlier settings of a variable win.  Returns a new NULL-terminated array (strv_free()) or NULL on
 * ENOMEM.
 */
char **runner_plugin_envp(const RunnerConfig *c, const char *name, char *const *inherited);

/* A plugin found in the plugin directory, ready to be started. */
typedef struct RunnerCandidate {
	char *name;
	int fd; /* O_PATH|O_CLOEXEC on the file, for execveat() */
} RunnerCandidate;

/*
 * Scan the open plugin directory dir_fd: skip ignored names, non-regular files, files the
 * plugin user (uid, gid; no supplementary groups when `drop` is set, else the caller's own
 * credentials) may not execute, and disabled plugins.  Results are sorted by name.
 * Returns the number found (>= 0, also in *ret_n) and a new array in *ret, or -errno.
 */
int runner_scan_dir(const RunnerConfig *c, int dir_fd, bool drop, uid_t uid, gid_t gid,
                    RunnerCandidate **ret, size_t *ret_n);
void runner_candidates_free(RunnerCandidate *v, size_t n);

/*
 * Whether a file with stat st may be executed by uid/gid (ignoring supplementary groups),
 * by its permission bits, as execve() decides it (uid 0 needs any execute bit).
 */
bool runner_mode_allows_exec(mode_t mode, uid_t owner, gid_t group, uid_t uid, gid_t gid);

/*
 * The fallback prompt: print "Password: " on /dev/tty (or stderr when there is no terminal),
 * read one line with echo off into a new SecBuf, strip one trailing newline.  Returns 0 and
 * the buffer (possibly empty), -ENODATA at end of file before any byte, -EINTR when SIGTERM,
 * SIGINT or SIGHUP arrived (its number in *ret_signal; the terminal is restored first), or
 * -errno.
 */
int runner_getpass(SecBuf **ret, int *ret_signal);
