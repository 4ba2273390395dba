/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Secure buffers for secrets (passwords, plugin output, key bytes) and process hardening. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "macro.h"

/*
 * A growable byte buffer whose storage comes from sodium_malloc(): guard pages around it,
 * mlock()ed where the limit allows, excluded from core dumps, and wiped on free.  It never
 * grows in place: a bigger buffer is allocated, the bytes copied, the old one wiped and freed.
 * It can never grow beyond `max` bytes, so a hostile producer cannot exhaust memory.
 *
 * data[len] is always a NUL byte (not counted in len), so text secrets can be passed to APIs
 * that want C strings without another copy.
 */
typedef struct SecBuf {
	unsigned char *data;
	size_t len;
	size_t cap; /* usable bytes, excluding the terminating NUL */
	size_t max;
} SecBuf;

/* Initialise libsodium.  Returns 0, or -EIO if libsodium cannot start.  Safe to call twice. */
int secmem_init(void);

/*
 * Make the process unsuitable for leaking secrets: RLIMIT_CORE 0 and not dumpable
 * (PR_SET_DUMPABLE 0, which also blocks ptrace by other unprivileged processes).
 * Returns 0 or -errno of the first failure.
 */
int secmem_harden_process(void);

/*
 * A new empty buffer with room for `initial` bytes, which may grow to at most `max` bytes.
 * Returns NULL with errno ENOMEM (or EINVAL if initial > max or max is absurd).
 */
SecBuf *secbuf_new(size_t initial, size_t max);

/* Wipe and free the buffer.  Accepts NULL; always returns NULL. */
SecBuf *secbuf_free(SecBuf *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(SecBuf *, secbuf_free)
#define _cleanup_secbuf_ _cleanup_(secbuf_freep)

/*
 * Make room for `extra` more bytes after len.  Returns 0, -EFBIG if that would pass max, or
 * -ENOMEM.  On failure the buffer is unchanged.
 */
int secbuf_reserve(SecBuf *b, size_t extra);

/* Append n bytes.  Same errors as secbuf_reserve(); the buffer is unchanged on failure. */
int secbuf_append(SecBuf *b, const void *p, size_t n);

/* Wipe the contents and set len to 0; the storage is kept. */
void secbuf_clear(SecBuf *b);

/*
 * One read(2) from fd into the buffer (growing it as needed, at most to max).  Returns the
 * number of bytes read (0 at end of file), -EAGAIN if a non-blocking fd has nothing,
 * -EFBIG if the buffer is full to max and more data arrived (that data is discarded), or
 * -errno.  EINTR is retried.
 */
ssize_t secbuf_read_once(SecBuf *b, int fd);

/* Read until end of file.  Returns 0 or an error as secbuf_read_once(). */
int secbuf_read_all(SecBuf *b, int fd);

/* Wipe a stack or heap region that held a secret.  The compiler may not elide it. */
void secmem_wipe(void *p, size_t n);

/*
 * For ordinary malloc() buffers that may hold a secret's text (a config file and its values):
 * never realloc() them, since realloc() may leave the old block in the free heap unwiped.
 *
 * secmem_realloc() allocates new_size bytes, copies MIN(old_size, new_size) bytes of p, wipes
 * old_size bytes of p and frees it.  p may be NULL (old_size is then ignored).  Returns the new
 * block, or NULL with errno ENOMEM and p untouched.
 */
void *secmem_realloc(void *p, size_t old_size, size_t new_size);

/* Wipe n bytes at p, then free(p).  Accepts NULL; always returns NULL. */
void *secmem_free(void *p, size_t n);

/* Wipe a NUL-terminated string up to its NUL, then free it.  Accepts NULL; returns NULL. */
char *secmem_strfree(char *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(char *, secmem_strfree)
#define _cleanup_wipe_free_ _cleanup_(secmem_strfreep)
