/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Priority string validation through GnuTLS itself. */
#include "priority.h"

#include <errno.h>
#include <string.h>

#include <gnutls/gnutls.h>

int priority_check(const char *priority, const char **ret_error_pos)
{
	gnutls_priority_t p;
	const char *err = NULL;

	if (gnutls_priority_init2(&p, priority, &err, GNUTLS_PRIORITY_INIT_DEF_APPEND) < 0) {
		if (ret_error_pos) {
			*ret_error_pos = err ? err : priority;
		}
		return -EINVAL;
	}
	gnutls_priority_deinit(p);
	return 0;
}

int priority_init(gnutls_priority_t *ret, const char *priority, const char **ret_error_pos)
{
	static const char ordered[] = MANDOS_DEFAULT_PRIORITY MANDOS_PREFERENCE_ORDER;
	int r;

	if (strcmp(priority, MANDOS_DEFAULT_PRIORITY) != 0) {
		return gnutls_priority_init(ret, priority, ret_error_pos);
	}
	r = gnutls_priority_init(ret, ordered, ret_error_pos);
	if (r < 0 && ret_error_pos) {
		*ret_error_pos = priority; /* our own suffix never fails alone; blame the whole */
	}
	return r;
}
