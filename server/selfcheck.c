/* SPDX-License-Identifier: GPL-3.0-or-later */
/* --check: the built-in self-test (upstream runs its doctests; we test the same parsers). */
#include "selfcheck.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "format.h"

int selfcheck_run(void)
{
	static const struct {
		const char *text;
		uint64_t msec; /* UINT64_MAX: must be rejected */
	} durations[] = {
	        {"P7D", 7 * MSEC_PER_DAY},
	        {"PT60S", 60 * MSEC_PER_SEC},
	        {"PT60M", 60 * MSEC_PER_MINUTE},
	        {"PT24H", MSEC_PER_DAY},
	        {"P1W", MSEC_PER_WEEK},
	        {"PT5M30S", 330 * MSEC_PER_SEC},
	        {"P1DT3M20S", 86600 * MSEC_PER_SEC},
	        {"P5M", 140 * MSEC_PER_DAY},
	        {"P1Y", 364 * MSEC_PER_DAY},
	        {"7d", 7 * MSEC_PER_DAY},
	        {"60s", 60 * MSEC_PER_SEC},
	        {"60m", 60 * MSEC_PER_MINUTE},
	        {"24h", MSEC_PER_DAY},
	        {"1w", MSEC_PER_WEEK},
	        {"5m 30s", 330 * MSEC_PER_SEC},
	        {"", 0},
	        {"5", UINT64_MAX},
	        {"P", UINT64_MAX},
	        {"PT", UINT64_MAX},
	        {"P1D2W", UINT64_MAX},
	        {"P1H", UINT64_MAX},
	};
	static const struct {
		const char *in, *out;
	} quotes[] = {
	        {"host.example", "host.example"},
	        {"", "''"},
	        {"a b", "'a b'"},
	        {"it's", "'it'\"'\"'s'"},
	};
	int failed = 0;

	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		uint64_t v = 0;
		int r = duration_parse(durations[i].text, &v);
		int ok = durations[i].msec == UINT64_MAX ? r < 0
		                                         : (r == 0 && v == durations[i].msec);

		if (!ok) {
			fprintf(stderr, "FAIL: duration \"%s\"\n", durations[i].text);
			failed++;
		}
	}
	for (size_t i = 0; i < sizeof(quotes) / sizeof(quotes[0]); i++) {
		char *q = shell_quote(quotes[i].in);

		if (!q || strcmp(q, quotes[i].out) != 0) {
			fprintf(stderr, "FAIL: shell quoting of \"%s\"\n", quotes[i].in);
			failed++;
		}
		free(q);
	}
	if (failed) {
		fprintf(stderr, "%d self-test(s) failed\n", failed);
		return 1;
	}
	fprintf(stderr, "OK\n");
	return 0;
}
