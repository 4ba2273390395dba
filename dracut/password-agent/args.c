/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Command-line parsing for password-agent with argp, as upstream (same names and aliases). */
#include "args.h"

#include <argp.h>
#include <errno.h>
#include <sysexits.h>

#include "cli-util.h"
#include "parse-util.h"

const char *argp_program_version = "password-agent" CLI_VERSION_TAIL;

enum {
	OPT_HELPER_DIRECTORY = 256,
	OPT_TEST,
};

static const struct argp_option options[] = {
        {"agent-directory", 'd', "DIRECTORY", 0, "Systemd password agent directory", 0},
        {"group", 'g', "GROUPID", 0,
         "Group ID the Mandos client will use as its unprivileged group", 0},
        {"groupid", 'g', "GROUPID", OPTION_HIDDEN, NULL, 0},
        {"helper-directory", OPT_HELPER_DIRECTORY, "DIRECTORY", 0,
         "Mandos client helper directory (MANDOSPLUGINHELPERDIR)", 0},
        {"plugin-helper-dir", OPT_HELPER_DIRECTORY, "DIRECTORY", OPTION_HIDDEN, NULL, 0},
        {"user", 'u', "USERID", 0, "User ID the Mandos client will use as its unprivileged user",
         0},
        {"userid", 'u', "USERID", OPTION_HIDDEN, NULL, 0},
        {"test", OPT_TEST, NULL, 0, "Only run the built-in self-test", 0},
        {0},
};

static unsigned parse_unprivileged_id(struct argp_state *state, const char *opt, const char *what,
                                      const char *arg)
{
	unsigned id;
	int r = parse_id(arg, &id);

	if (r < 0) {
		argp_error(state, "%s: '%s' is not a numeric %s ID", opt, arg, what);
	} else if (id == 0) {
		argp_error(state, "%s: the Mandos client must not run as root (0)", opt);
	}
	return id;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	Args *a = state->input;

	switch (key) {
	case 'd':
		if (!*arg) {
			argp_error(state, "--agent-directory: empty directory name");
		}
		a->cfg.agent_dir = arg;
		break;
	case 'g':
		a->cfg.gid = parse_unprivileged_id(state, "--group", "group", arg);
		break;
	case 'u':
		a->cfg.uid = parse_unprivileged_id(state, "--user", "user", arg);
		break;
	case OPT_HELPER_DIRECTORY:
		a->cfg.helper_dir = arg;
		break;
	case OPT_TEST:
		a->test = true;
		break;
	case ARGP_KEY_ARG:
		/* The client program: it and everything after it belong to the client. */
		a->cfg.client_argv = &state->argv[state->next - 1];
		state->next = state->argc;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = {
        .options = options,
        .parser = parse_opt,
        .args_doc = "[MANDOS_CLIENT [OPTION...]]\n--test",
        .doc = "Mandos password agent -- runs the Mandos client as a systemd password agent",
};

void args_parse(int argc, char **argv, Args *ret)
{
	static char default_client[] = AGENT_DEFAULT_CLIENT;
	static char *default_argv[] = {default_client, NULL};

	*ret = (Args){0};
	agent_config_init(&ret->cfg);
	ret->cfg.client_argv = default_argv;

	argp_err_exit_status = EX_USAGE;
	/* ARGP_IN_ORDER: options after the client program are the client's, not ours. */
	(void)argp_parse(&argp, argc, argv, ARGP_IN_ORDER, NULL, ret);
}
