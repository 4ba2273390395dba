/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mandos-ctl: list and control the clients of a Mandos server over D-Bus. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "args.h"
#include "bus.h"

/*
 * Write the client table as upstream does: the columns Name, Enabled, Timeout and Last
 * Successful Check (all twenty with verbose), each padded to its widest cell, one line per
 * client.  Returns 0, -ENOMEM, or -ENOENT with *ret_missing naming a property a client lacks.
 */
int ctl_print_table(FILE *f, Client *const *clients, size_t n, bool verbose,
                    const char **ret_missing);

/* Write upstream's --dump-json output.  Same returns as ctl_print_table(). */
int ctl_dump_json(FILE *f, Client *const *clients, size_t n, const char **ret_missing);

/*
 * Connect to the server and run the parsed commands.  Output goes to `out`, messages to
 * stderr.  Returns the exit status: 0, or 1 (server unreachable, client not found, a D-Bus
 * call failed, --is-enabled on a disabled client).
 */
int ctl_run(const CtlOptions *o, FILE *out);

/* Run the built-in self-tests (--check); report on `f`.  Returns the number of failures. */
int ctl_selftest(FILE *f);

/* The whole program: main() calls this. */
int ctl_main(int argc, char **argv);
