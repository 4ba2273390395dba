/* SPDX-License-Identifier: GPL-3.0-or-later */
/* plugin-runner.conf: split the file into command-line words as upstream does. */
#pragma once

#include <stddef.h>

/* A configuration file bigger than this is refused (-EFBIG). */
#define CONF_MAX_SIZE ((size_t)64 * 1024)

/*
 * Split `len` bytes of configuration text into words.  Words are separated by space, tab,
 * CR, LF, FF and VT; a '#' anywhere starts a comment that runs to the end of its line (LF);
 * there is no quoting or escaping.  A NUL byte ends its line like a '#'.
 *
 * On success returns 0 and sets *ret_words to a new NULL-terminated array of new strings
 * (free with strv_free()) and *ret_n to the number of words.  Returns -ENOMEM on failure,
 * outputs untouched.
 */
int conf_split(const char *text, size_t len, char ***ret_words, size_t *ret_n);

/*
 * Read and split a configuration file.  Returns 0 and the words as conf_split(), -ENOENT when
 * the file does not exist (callers treat that as an empty file), -EFBIG when the file is
 * larger than CONF_MAX_SIZE, or another -errno.
 */
int conf_read_file(const char *path, char ***ret_words, size_t *ret_n);
