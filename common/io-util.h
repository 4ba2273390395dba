/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fd helpers: complete writes, capped reads, CLOEXEC bookkeeping. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Write all n bytes to fd, retrying short writes and EINTR.  For a non-blocking fd, EAGAIN
 * waits with poll().  Returns 0 or -errno (then an unknown prefix may have been written).
 */
int loop_write(int fd, const void *buf, size_t n);

/*
 * Read fd to end of file into a new malloc()ed buffer, NUL-terminated (the NUL is not counted
 * in *ret_len).  Fails with -EFBIG if there is more than max bytes.  Returns 0 or -errno;
 * outputs untouched on failure.
 *
 * Every buffer it lets go of (outgrown, or on failure) is wiped first, so a text holding
 * secrets (clients.conf) leaves no copy in the free heap but the one returned, which the caller
 * wipes (secmem_free(text, len)) when it may hold one.  Key material whose bytes are the secret
 * belongs in secure memory: secbuf_read_all().
 */
int read_full_fd(int fd, size_t max, char **ret, size_t *ret_len);

/* As read_full_fd() on a file opened with O_RDONLY|O_CLOEXEC|O_NOCTTY. */
int read_full_file(const char *path, size_t max, char **ret, size_t *ret_len);

/* Set or clear O_NONBLOCK / FD_CLOEXEC.  Return 0 or -errno. */
int fd_set_nonblock(int fd, bool nonblock);
int fd_set_cloexec(int fd, bool cloexec);

/*
 * Move an fd to a number above 2 (dup with F_DUPFD_CLOEXEC) if it is 0, 1 or 2, so that
 * redirecting stdio cannot clobber it.  Returns the (possibly new) fd or -errno; the old fd
 * is closed when moved.
 */
int fd_move_above_stdio(int fd);

/* Make fds 0, 1 and 2 valid, opening /dev/null for any that is closed.  Returns 0 or -errno. */
int fd_ensure_stdio(void);
