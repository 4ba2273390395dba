/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Upstream's state file (clients.pickle) read into our saved-client records, for a switch-over. */
#pragma once

#include "state.h"

#define UPSTREAM_STATE_FILE_NAME "clients.pickle"

/*
 * Read upstream's state file: the pickle of (clients, client_settings) that its server writes
 * at exit, where `clients` maps each name to that client's attributes (the runtime values)
 * and `client_settings` to the clients.conf values of that run.  Each client is handed to cb
 * as state_read() does, as a SavedClient with `s` from the runtime values, `config` from that
 * run's clients.conf values, the times and the checker status, and no secret (upstream's is
 * encrypted with gpg; the caller keeps the clients.conf one).
 *
 * A client upstream had removed at run time (in client_settings, not in clients: D-Bus
 * RemoveClient) comes as disabled, since upstream would not have brought it back.
 *
 * The whole file is read and checked before the first client is handed on: a file that
 * cannot be used gives no client at all.  Returns the number of clients handed on, -ENOENT
 * when the file is missing, -EBADMSG or -EFBIG with a malloc()ed one-line reason in
 * *ret_error (truncated, a refused opcode, a wrong type...), a negative return of cb, or
 * another -errno (no reason; -EACCES...).
 */
int upstream_state_read(const char *path, state_client_cb_t cb, void *userdata, char **ret_error);
