/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The server's Zeroconf announcement: the bound port, interface and protocol, renames (spec 2.10).
 */
#pragma once

#include "config.h"
#include "manager.h"
#include "zeroconf.h"

/*
 * Announce "_mandos._tcp" named `servicename` on the port the manager listens on, on
 * `interface` (all when ""), over IPv6 unless --no-ipv6.  After a rename ("Mandos #2") the
 * log's syslog identity becomes "Mandos (NEW NAME)" as upstream's; if the renames run out the
 * event loop stops with an error.  The TXT record (§A.3.4): txtvers=1, proto= (the protocols
 * served, ascending, comma-separated) and, with protocol 2 on, keyid= (64 uppercase hex).
 * Call after manager_start().  Returns 0 (*ret NULL when
 * Zeroconf is off) or -errno (logged as critical: the server should exit 1 as upstream).
 */
int server_announce_start(Manager *m, Zeroconf **ret);
