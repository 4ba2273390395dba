/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Finding and running the network hooks in order, with the documented environment. */
#include "hooks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "log.h"
#include "macro.h"
#include "privs.h"

bool hook_name_valid(const char *name)
{
	if (!*name) {
		return false;
	}
	for (const char *p = name; *p; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-')) {
			return false;
		}
	}
	return true;
}

static int hook_filter(const struct dirent *de)
{
	return strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
}

int hooks_run(const char *dir, const char *mode, const HookEnv *env, int sigfd)
{
	struct dirent **names = NULL;
	char e_dir[4096], e_mode[64], e_verb[16], e_delay[64];
	_cleanup_free_ char *e_device = NULL, *e_connect = NULL;
	char *envv[7];
	size_t ne = 0;
	int n, r = 0;
	int dfd;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		log_debug_errno(errno, "Network hook directory %s not used: %m", dir);
		return 0;
	}
	n = scandir(dir, &names, hook_filter, alphasort);
	if (n < 0) {
		r = log_warning_errno(errno, "Failed to read network hook directory %s: %m", dir);
		close(dfd);
		return r;
	}
	snprintf(e_dir, sizeof(e_dir), "MANDOSNETHOOKDIR=%s", dir);
	snprintf(e_mode, sizeof(e_mode), "MODE=%s", mode);
	snprintf(e_verb, sizeof(e_verb), "VERBOSITY=%d", env->debug ? 1 : 0);
	snprintf(e_delay, sizeof(e_delay), "DELAY=%f", env->delay);
	if (asprintf(&e_device, "DEVICE=%s", env->device ? env->device : "") < 0) {
		e_device = NULL;
		r = log_oom();
		goto out;
	}
	envv[ne++] = e_dir;
	envv[ne++] = e_device;
	envv[ne++] = e_mode;
	envv[ne++] = e_verb;
	envv[ne++] = e_delay;
	if (env->connect) {
		if (asprintf(&e_connect, "CONNECT=%s", env->connect) < 0) {
			e_connect = NULL;
			r = log_oom();
			goto out;
		}
		envv[ne++] = e_connect;
	}
	envv[ne] = NULL;

	for (int i = 0; i < n && r == 0; i++) {
		const char *name = names[i]->d_name;
		_cleanup_free_ char *path = NULL;
		struct stat st;
		int status;

		if (!hook_name_valid(name)) {
			log_debug("Ignoring network hook \"%s\" with bad name", name);
			continue;
		}
		if (fstatat(dfd, name, &st, 0) < 0 || !S_ISREG(st.st_mode) ||
		    !(st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH))) {
			log_debug("Ignoring network hook \"%s\": not an executable file", name);
			continue;
		}
		if (asprintf(&path, "%s/%s", dir, name) < 0) {
			path = NULL;
			r = log_oom();
			break;
		}
		log_debug("Running network hook \"%s\" (%s)", name, mode);
		{
			const char *argv[] = {name, mode, NULL};

			status = run_as_root(path, argv, envv, sigfd);
		}
		if (status == -EINTR) {
			r = -EINTR;
		} else if (status < 0) {
			log_warning_errno(status, "Failed to run network hook \"%s\": %m", name);
		} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
			log_warning("Network hook \"%s\" (%s) failed with exit status %d", name,
			            mode, WEXITSTATUS(status));
		} else if (WIFSIGNALED(status)) {
			log_warning("Network hook \"%s\" (%s) killed by signal %d", name, mode,
			            WTERMSIG(status));
		}
	}
out:
	for (int i = 0; i < n; i++) {
		free(names[i]);
	}
	free(names);
	close(dfd);
	return r;
}
