/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: mandos-ctl's argparse-compatible command line and Python-style text. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "macro.h"
#include "pyfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool initialised;
	const char *argv[MAX_ARGS + 2];
	char *s, **lines;
	int argc = 1, exit_code;
	size_t columns;
	CtlOptions o;
	FILE *null;

	if (!initialised) {
		/* "-s -" reads standard input: never wait for a terminal. */
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			close(fd);
		}
		secmem_init();
		initialised = true;
	}
	if (size < 1) {
		return 0;
	}
	columns = data[0] % 200 + 1;
	s = malloc(size);
	if (!s) {
		return 0;
	}
	/* The arguments are the NUL-separated pieces after the first byte. */
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	argv[0] = "mandos-ctl";
	for (size_t i = 0; i < size - 1 && argc <= MAX_ARGS; i++) {
		if (i == 0 || s[i - 1] == '\0') {
			argv[argc++] = s + i;
		}
	}
	argv[argc] = NULL;

	null = fopen("/dev/null", "w");
	if (null) {
		if (ctl_check_test_args(argc, argv, "mandos-ctl", null) == 0) {
			(void)ctl_parse_args(argc, argv, "mandos-ctl", columns, null, null, &o,
			                     &exit_code);
			ctl_options_done(&o);
		}
		for (int i = 1; i < argc; i++) {
			py_repr_str(null, argv[i]);
			py_repr_bytes(null, argv[i], strlen(argv[i]));
			py_json_string(null, argv[i]);
			lines = py_textwrap(argv[i], columns);
			for (size_t k = 0; lines && lines[k]; k++) {
				if (py_strlen(lines[k]) > columns && strchr(lines[k], ' ')) {
					abort(); /* only an unbreakable word may be wider */
				}
			}
			strv_free(lines);
		}
		fclose(null);
	}
	free(s);
	return 0;
}
