/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Interface flags through SIOCGIFFLAGS/SIOCSIFFLAGS and the /sys/class/net listing. */
#include "netif.h"

#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"

static int ifreq_for(const char *name, struct ifreq *ifr)
{
	if (strlen(name) >= sizeof(ifr->ifr_name)) {
		return -ENODEV;
	}
	memset(ifr, 0, sizeof(*ifr));
	strcpy(ifr->ifr_name, name);
	return 0;
}

/* Read name's flags into *ifr; returns the socket used (for SIOCSIFFLAGS) or -errno. */
static int read_flags(const char *name, struct ifreq *ifr)
{
	_cleanup_close_ int fd = -EBADF;
	int r = ifreq_for(name, ifr);

	if (r < 0) {
		return r;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return negative_errno();
	}
	if (ioctl(fd, SIOCGIFFLAGS, ifr) < 0) {
		return negative_errno();
	}
	return TAKE_FD(fd);
}

int netif_get_flags(const char *name, unsigned *ret)
{
	struct ifreq ifr;
	_cleanup_close_ int fd = read_flags(name, &ifr);

	if (fd < 0) {
		return fd;
	}
	*ret = (unsigned short)ifr.ifr_flags;
	return 0;
}

bool netif_flags_usable(unsigned flags, bool allow_point_to_point)
{
	if (flags & IFF_LOOPBACK) {
		return false;
	}
	if (allow_point_to_point && (flags & IFF_POINTOPOINT)) {
		return true;
	}
	return (flags & IFF_BROADCAST) && !(flags & IFF_NOARP);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int netif_autodetect(bool allow_point_to_point, char ***ret)
{
	_cleanup_closedir_ DIR *d = opendir("/sys/class/net");
	_cleanup_strv_free_ char **list = NULL;
	struct dirent *de;
	size_t n = 0;

	if (!d) {
		return negative_errno();
	}
	list = calloc(1, sizeof(char *));
	if (!list) {
		return -ENOMEM;
	}
	while ((de = readdir(d))) {
		unsigned flags;
		char **nl;

		if (de->d_name[0] == '.') {
			continue;
		}
		if (netif_get_flags(de->d_name, &flags) < 0 ||
		    !netif_flags_usable(flags, allow_point_to_point)) {
			continue;
		}
		nl = realloc(list, (n + 2) * sizeof(char *));
		if (!nl) {
			return -ENOMEM;
		}
		list = nl;
		list[n] = strdup(de->d_name);
		if (!list[n]) {
			return -ENOMEM;
		}
		list[++n] = NULL;
	}
	qsort(list, n, sizeof(char *), name_cmp);
	*ret = TAKE_PTR(list);
	return (int)n;
}

int netif_set_up(const char *name, bool up)
{
	struct ifreq ifr;
	_cleanup_close_ int fd = read_flags(name, &ifr);

	if (fd < 0) {
		return fd;
	}
	if (up) {
		ifr.ifr_flags |= IFF_UP;
	} else {
		ifr.ifr_flags &= ~IFF_UP;
	}
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
		return negative_errno();
	}
	return 0;
}
