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
 * client.  With verbose, and only when a client has ApprovedUntil set (ours, of the delivery
 * interface), a last column "Approved Until" (empty for the others).  Returns 0, -ENOMEM, or
 * -ENOENT with *ret_missing naming a property a client lacks.
 */
int ctl_print_table(FILE *f, Client *const *clients, size_t n, bool verbose,
                    const char **ret_missing);

/* Write upstream's --dump-json output, with "ApprovedUntil" last for a client that has it set.
 * Same returns as ctl_print_table(). */
int ctl_dump_json(FILE *f, Client *const *clients, size_t n, const char **ret_missing);

/*
 * --escrow: a table of the clients' protocol 2 delivery properties (Name, Protocols, Sealed
 * Secret, Escrow Key IDs, Escrow Keys In, Release Limit, Releases Left), laid out as
 * ctl_print_table() does; with json, a JSON object keyed by name of the raw values instead.
 * Returns 0, -ENOMEM, -ENOENT with *ret_missing naming a property a client lacks, or -ENXIO
 * (*ret_missing the client's name) when a client has no delivery interface: a server without
 * protocol 2.
 */
int ctl_print_escrow(FILE *f, Client *const *clients, size_t n, bool json,
                     const char **ret_missing);

/* mandos-ctl --shred's exit statuses besides 0, 1 (as upstream's) and 2 (usage). */
#define CTL_EXIT_NOT_CONFIRMED 3    /* not confirmed, or no terminal to ask and no --force */
#define CTL_EXIT_NOTHING_SHREDDED 4 /* keys written inline, or no escrow keys: no change */
#define CTL_EXIT_FILE_LEFT 5 /* keys wiped from memory and client disabled, file not deleted */

/*
 * Connect to the server and run the parsed commands.  Output goes to `out`, messages to
 * stderr.  Returns the exit status: 0, or 1 (server unreachable, client not found, a D-Bus
 * call failed, --is-enabled on a disabled client), or for --shred one of CTL_EXIT_*.
 * --shred asks on stderr and reads the answer from stdin, which must be a terminal, unless
 * o->force.
 */
int ctl_run(const CtlOptions *o, FILE *out);

/* Run the built-in self-tests (--check); report on `f`.  Returns the number of failures. */
int ctl_selftest(FILE *f);

/* The whole program: main() calls this. */
int ctl_main(int argc, char **argv);
