/* SPDX-License-Identifier: GPL-3.0-or-later */
/* password-agent --test: a self-test that can run on the target system (initramfs). */
#pragma once

/*
 * Check question parsing, question files, answer delivery over a real AF_UNIX datagram
 * socket (in a temporary directory under $TMPDIR or /tmp) and running a client through
 * /bin/sh.  Prints one TAP line per check on stdout.  Returns 0 when all pass, else 1.
 */
int selftest_run(void);
