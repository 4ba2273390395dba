/* SPDX-License-Identifier: GPL-3.0-or-later */
/* --check: the built-in self-test (upstream runs its doctests; we test the same parsers). */
#pragma once

/* Run the checks, printing failures to stderr.  Returns 0 when all pass, else 1. */
int selfcheck_run(void);
