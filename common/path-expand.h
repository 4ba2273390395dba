/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Python's os.path.expanduser(os.path.expandvars()) for paths in config files. */
#pragma once

/*
 * Expand $VAR, ${VAR} and a leading ~ or ~user as Python's expandvars(expanduser()) does:
 * unknown names are left as they are.  Returns a malloc()ed string or NULL.
 */
char *path_expand(const char *s);
