/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mandos-ctl's command line, parsed and reported exactly as upstream's argparse parser does. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "secmem.h"

/* The largest secret file -s/--secret accepts. */
#define CTL_SECRET_MAX (1024 * 1024)

typedef enum CommandType {
	CMD_PRINT_TABLE,
	CMD_DUMP_JSON,
	CMD_ENABLE,
	CMD_DISABLE,
	CMD_BUMP_TIMEOUT,
	CMD_START_CHECKER,
	CMD_STOP_CHECKER,
	CMD_IS_ENABLED,
	CMD_REMOVE,
	CMD_SET_CHECKER,
	CMD_SET_TIMEOUT,
	CMD_SET_EXTENDED_TIMEOUT,
	CMD_SET_INTERVAL,
	CMD_APPROVE_BY_DEFAULT,
	CMD_DENY_BY_DEFAULT,
	CMD_SET_APPROVAL_DELAY,
	CMD_SET_APPROVAL_DURATION,
	CMD_SET_HOST,
	CMD_SET_SECRET,
	CMD_APPROVE,
	CMD_DENY,
	CMD_SHRED,       /* protocol 2: ShredEscrowKeys() */
	CMD_APPROVE_FOR, /* ApproveFor(msec) of the delivery interface (issue 14) */
	_CMD_MAX,
} CommandType;

typedef struct Command {
	CommandType type;
	char *str;      /* CMD_SET_CHECKER, CMD_SET_HOST */
	uint64_t msec;  /* the duration setters, CMD_APPROVE_FOR */
	SecBuf *secret; /* CMD_SET_SECRET: the file's bytes */
} Command;

typedef struct CtlOptions {
	bool all, verbose, debug;
	bool escrow, force; /* protocol 2: --escrow, --force (with --shred) */
	Command *commands; /* in execution order (see ctl_parse_args) */
	size_t n_commands;
	char **clients; /* client names in command-line order, NULL-terminated */
	size_t n_clients;
} CtlOptions;

/* Free what ctl_parse_args() put in *o (wiping secrets) and zero it. */
void ctl_options_done(CtlOptions *o);

/*
 * The terminal width argparse formats help for: $COLUMNS if a positive integer, else the
 * width of the terminal on stdout, else 80.
 */
size_t ctl_terminal_columns(void);

/*
 * Parse argv[1..argc-1] as upstream's mandos-ctl does, with its checks on option combinations.
 * Our options --escrow, --shred, --force (protocol 2) and --approve-for are recognised only
 * when spelled out in full, are not in the usage line, and come after upstream's options in
 * --help, under a heading of their own: so every command line without them parses, fails and
 * prints as upstream's.  `prog` is the program name for usage and messages, `columns` the
 * terminal width (see ctl_terminal_columns()).  Help and version go to `out`; warnings (legacy
 * durations) and usage errors to `err`.  On success returns 0 and fills *o: commands reordered as
 * upstream does (--deny before --remove) and a CMD_PRINT_TABLE when no command was given.  Returns
 * 1 with *ret_exit set when the program should exit now (help or version: 0, usage error: 2), or
 * -ENOMEM.  *o is always safe to pass to ctl_options_done().
 */
int ctl_parse_args(int argc, const char *const *argv, const char *prog, size_t columns, FILE *out,
                   FILE *err, CtlOptions *o, int *ret_exit);

/*
 * Upstream first reads the command line with a parser that knows only its test options,
 * --check and --prefix PREFIX (abbreviations too), and ignores everything else.  Returns 1
 * if the self-tests should run, 0 if not, 2 after writing that parser's usage error to err,
 * or -ENOMEM.
 */
int ctl_check_test_args(int argc, const char *const *argv, const char *prog, FILE *err);

/* Write the usage message ("usage: ...\n") or the full --help text. */
int ctl_write_usage(FILE *f, const char *prog, size_t columns);
int ctl_write_help(FILE *f, const char *prog, size_t columns);
