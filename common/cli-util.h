/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The argp-style replies shared by the small programs' command lines: version, usage errors. */
#pragma once

#include <errno.h>
#include <stdio.h>

/* What follows a program's name on its --version line, GNU style: " (mandos-c) VERSION". */
#define CLI_VERSION_TAIL " (" PACKAGE_NAME ") " PACKAGE_VERSION
/* Where --help sends bug reports: this project's address, never upstream's. */
#define CLI_BUG_ADDRESS "<" PACKAGE_BUGREPORT ">"

/* Print "PROGRAM (mandos-c) VERSION" on stdout. */
static inline void cli_print_version(void)
{
	printf("%s" CLI_VERSION_TAIL "\n", program_invocation_short_name);
}

/* Point at --help and --usage on stderr, as argp does after a bad option; returns -EINVAL. */
static inline int cli_usage_error(void)
{
	fprintf(stderr, "Try `%s --help' or `%s --usage' for more information.\n",
	        program_invocation_short_name, program_invocation_short_name);
	return -EINVAL;
}

/* These programs take no arguments: any left after the options is a usage error. */
static inline int cli_no_arguments(int argc, int optind_)
{
	if (optind_ < argc) {
		fprintf(stderr, "%s: Too many arguments\n", program_invocation_short_name);
		return -EINVAL;
	}
	return 0;
}
