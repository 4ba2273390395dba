/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: plugin-runner.conf text split into words, parsed as options, then each
 * plugin's argv and environment built. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "runner.h"

#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet = false;
	char **words = NULL, **argv = NULL;
	char *env[] = { (char *)(uintptr_t) "PATH=/bin", NULL };
	RunnerConfig c;
	size_t n;

	if (!quiet) {
		/*
		 * getopt and the option parser report bad options on stderr.  Point the stdio
		 * stream (a plain variable in glibc) at /dev/null, not fd 2: libFuzzer keeps its
		 * own FILE for its statistics and the sanitizers write crash reports to fd 2.
		 */
		FILE *null = fopen("/dev/null", "we");

		if (null != NULL) {
			stderr = null;
		}
		quiet = true;
	}
	if (conf_split((const char *)data, size, &words, &n) < 0) {
		return 0;
	}
	argv = calloc(n + 2, sizeof(char *));
	if (!argv || runner_config_init(&c) < 0) {
		free(argv);
		strv_free(words);
		return 0;
	}
	argv[0] = (char *)(uintptr_t) "plugin-runner";
	memcpy(argv + 1, words, n * sizeof(char *));
	if (runner_parse(&c, (int)n + 1, argv, RUNNER_SOURCE_CONFIG) == 0) {
		for (size_t i = 0; i < c.n_plugins; i++) {
			strv_free(runner_plugin_argv(&c, c.plugins[i].name));
			strv_free(runner_plugin_envp(&c, c.plugins[i].name, env));
			(void)runner_ignored_name(c.plugins[i].name);
		}
	}
	runner_config_done(&c);
	free(argv);
	strv_free(words);
	return 0;
}
