/* SPDX-License-Identifier: GPL-3.0-or-later */
/* For the fuzz targets whose parser reads a file: the input as a file, by its path. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The path of a file (deleted, kept open) that now holds `data`; the same on every call. */
static inline const char *fuzz_input_file(const uint8_t *data, size_t size)
{
	static char path[] = "/tmp/fuzz-input-XXXXXX", proc[64];
	static int fd = -1;

	if (fd < 0) {
		fd = mkstemp(path);
		if (fd < 0) {
			abort();
		}
		unlink(path);
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size) {
		abort();
	}
	return proc;
}
