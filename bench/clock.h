/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Clock readings for the benchmarks. */
#pragma once

#include <stdint.h>
#include <time.h>

/* Nanoseconds of clock id: CLOCK_MONOTONIC, or a process's or thread's CPU time. */
static inline uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC in µs, the unit common/p2's sessions take. */
static inline uint64_t mono_usec(void)
{
	return clock_ns(CLOCK_MONOTONIC) / 1000;
}
