/* SPDX-License-Identifier: GPL-3.0-or-later */
/* plugin-runner.conf: split the file into command-line words as upstream does. */
#include "conf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "io-util.h"
#include "macro.h"

static bool is_separator(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

int conf_split(const char *text, size_t len, char ***ret_words, size_t *ret_n)
{
	_cleanup_strv_free_ char **words = NULL;
	size_t n = 0, i = 0;

	words = calloc(1, sizeof(char *));
	if (!words) {
		return -ENOMEM;
	}
	while (i < len) {
		char c = text[i];

		if (c == '#' || c == '\0') {
			/* Comment (or a stray NUL): skip to the end of the line. */
			while (i < len && text[i] != '\n') {
				i++;
			}
			continue;
		}
		if (is_separator(c)) {
			i++;
			continue;
		}
		size_t start = i;
		while (i < len && !is_separator(text[i]) && text[i] != '#' && text[i] != '\0') {
			i++;
		}
		char **nw = reallocarray(words, n + 2, sizeof(char *));
		if (!nw) {
			return -ENOMEM;
		}
		words = nw;
		words[n] = strndup(text + start, i - start);
		if (!words[n]) {
			return -ENOMEM;
		}
		words[++n] = NULL;
	}
	*ret_words = TAKE_PTR(words);
	*ret_n = n;
	return 0;
}

int conf_read_file(const char *path, char ***ret_words, size_t *ret_n)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	r = read_full_file(path, CONF_MAX_SIZE, &text, &len);
	if (r < 0) {
		return r;
	}
	return conf_split(text, len, ret_words, ret_n);
}
