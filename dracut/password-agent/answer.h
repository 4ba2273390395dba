/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Answering a systemd password question: one datagram to the asker's socket. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "secmem.h"

/*
 * Build the answer datagram for a password: "+" then the password bytes then a NUL byte, in
 * a new SecBuf (locked, wiped on free).  Returns 0 and *ret, or -ENOMEM / -EFBIG.
 */
int answer_build(const SecBuf *password, SecBuf **ret);

/*
 * Send `msg` as one datagram to the AF_UNIX SOCK_DGRAM socket at `socket_path` (a new
 * non-blocking socket each time; MSG_NOSIGNAL).  Returns 0 when the whole datagram was sent,
 * or -errno; answer_error_is_transient() says whether trying again later can help.
 * A path too long for sockaddr_un gives -ENAMETOOLONG.
 */
int answer_send(const char *socket_path, const SecBuf *msg);

/*
 * Whether a send error may go away by itself: the socket not bound yet (ENOENT,
 * ECONNREFUSED), its queue full (EAGAIN), or memory pressure (ENOBUFS, ENOMEM), or EINTR.
 * Anything else (EMSGSIZE, EACCES, ENOTSOCK, ENAMETOOLONG...) is final.
 */
bool answer_error_is_transient(int r);
