/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: read arbitrary bytes as the server's state file. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(SavedClient *sc, void *userdata)
{
	(*(size_t *)userdata)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[] = "/tmp/fuzz-state-XXXXXX";
	static int fd = -1;
	size_t n = 0;

	if (fd < 0) {
		log_set_max_level(LOG_CRIT);
		fd = mkstemp(path);
		if (fd < 0) {
			abort();
		}
		unlink(path);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size) {
		abort();
	}
	{
		char proc[64];

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		(void)state_read(proc, count, &n);
	}
	return 0;
}
