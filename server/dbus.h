/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The server's D-Bus API on the system bus (upstream's se.recompile.Mandos, spec 2.11). */
#pragma once

#include <stddef.h>

#include "macro.h"
#include "manager.h"

typedef struct MandosDbus MandosDbus;

/*
 * Connect to the system bus ($DBUS_SYSTEM_BUS_ADDRESS or the default), attach it to the
 * manager's event loop, take the names se.recompile.Mandos and se.bsnet.fukt.Mandos (without
 * queueing), export "/" and watch the clients as an observer: each client appears as
 * /clients/<mangled name> when the manager announces it (client_added).  Call after
 * manager_setup_loop() and before manager_start().
 *
 * When the bus or a name cannot be had, upstream's "Disabling D-Bus:" error is logged and
 * -errno returned; the server should go on without D-Bus (*ret stays NULL).
 */
int mandos_dbus_new(Manager *m, MandosDbus **ret);

/*
 * Withdraw every client object (InterfacesRemoved and ClientRemoved, as upstream does at
 * exit) and flush the bus.  After this the observer ignores every change.  This runs by
 * itself when the event loop exits (before sd-bus closes the connection); call it also on
 * paths where the loop never ran, before manager_free().  Accepts NULL; idempotent.
 */
void mandos_dbus_shutdown(MandosDbus *d);

/*
 * Free everything.  The observer stays registered with the manager but is silent once
 * mandos_dbus_shutdown() ran, so call this only after manager_free().  Accepts NULL.
 */
MandosDbus *mandos_dbus_free(MandosDbus *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(MandosDbus *, mandos_dbus_free)

/*
 * The object path for a client name: "/clients/" followed by the name where '.' and '-'
 * become '_' (as upstream), letters, digits and '_' stay, and every other byte becomes "_XX"
 * (two lowercase hex digits), so any name gives a valid path; an empty name gives
 * "/clients/_".  malloc()ed, or NULL on ENOMEM.
 */
char *mandos_dbus_client_path(const char *name);
