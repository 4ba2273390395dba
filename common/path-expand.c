/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Paths of config values expanded as upstream's Python expands them (the server's secfile,
 * sealed_secfile and escrow_keyfile; mandos-keygen --test reads them the same way). */

#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "path-expand.h"

static bool var_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

char *path_expand(const char *s)
{
	_cleanup_free_ char *vars = NULL;
	char *out = NULL;
	size_t len = 0;
	const char *p = s;
	FILE *f = open_memstream(&vars, &len);

	if (!f) {
		return NULL;
	}

	/* expandvars */
	while (*p) {
		if (*p == '$') {
			const char *name = p + 1, *end;
			bool brace = *name == '{';
			size_t n;

			if (brace) {
				name++;
			}
			for (end = name; var_char(*end); end++) {
			}
			n = (size_t)(end - name);
			if (n > 0 && (!brace || *end == '}') && n < 256) {
				char key[256];
				const char *v;

				memcpy(key, name, n);
				key[n] = '\0';
				v = getenv(key);
				if (v) {
					fputs(v, f);
					p = end + (brace ? 1 : 0);
					continue;
				}
			}
		}
		fputc(*p, f);
		p++;
	}
	if (ferror(f) != 0) {
		fclose(f);
		return NULL;
	}
	if (fclose(f) != 0) {
		return NULL;
	}
	/* expanduser */
	if (vars[0] == '~') {
		const char *slash = strchr(vars, '/');
		size_t n = slash ? (size_t)(slash - vars - 1) : strlen(vars) - 1;
		const char *home = NULL;

		if (n == 0) {
			home = getenv("HOME");
			if (!home) {
				struct passwd *pw = getpwuid(getuid());
				home = pw ? pw->pw_dir : NULL;
			}
		} else if (n < 256) {
			char user[256];
			struct passwd *pw;

			memcpy(user, vars + 1, n);
			user[n] = '\0';
			pw = getpwnam(user);
			home = pw ? pw->pw_dir : NULL;
		}
		if (home) {
			const char *rest = vars + 1 + n;
			size_t hl = strlen(home);

			/* Python strips a trailing slash of the home directory. */
			while (hl > 1 && home[hl - 1] == '/') {
				hl--;
			}
			if (asprintf(&out, "%.*s%s", (int)hl, home, rest) < 0) {
				return NULL;
			}
			return out;
		}
	}
	return TAKE_PTR(vars);
}
