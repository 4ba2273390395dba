/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Network interfaces: flags, autodetection, bringing up and down, waiting until running. */
#pragma once

#include <stdbool.h>

/* IFF_* flags of an interface.  Returns 0, -ENODEV, or -errno. */
int netif_get_flags(const char *name, unsigned *ret);

/* Whether flags make an interface usable for autodetection (see mandos-client(8mandos)). */
bool netif_flags_usable(unsigned flags, bool allow_point_to_point);

/*
 * Every interface in /sys/class/net (sorted, no names starting with '.') whose flags are
 * usable.  *ret is a NULL-terminated list (possibly empty).  Returns the count or -errno.
 */
int netif_autodetect(bool allow_point_to_point, char ***ret);

/* Set or clear IFF_UP (needs CAP_NET_ADMIN).  Returns 0 or -errno. */
int netif_set_up(const char *name, bool up);
