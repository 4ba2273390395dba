/* SPDX-License-Identifier: GPL-3.0-or-later */
/* GPGME decryption into a SecBuf, in a throw-away GnuPG home that is removed afterwards. */
#include "decrypt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gpgme.h>

#include "log.h"

struct Decryptor {
	gpgme_ctx_t ctx;
	char *home;
	bool require_signature;
};

extern char **environ;

static int gpg_to_errno(gpgme_error_t e)
{
	int r = gpgme_err_code_to_errno(gpgme_err_code(e));

	return r > 0 ? -r : -EIO;
}

static int engine_init(void)
{
	static int done = 0;

	if (done) {
		return done;
	}
	/* gpgme would run gpgconf three times to find gpg; the compiled-in paths are right, and
	 * the initramfs may lack gpgconf.  Each process costs milliseconds at boot. */
	(void)gpgme_set_global_flag("disable-gpgconf", "1");
	if (!gpgme_check_version(NULL)) {
		return -ENOPKG;
	}
	if (gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP) != GPG_ERR_NO_ERROR) {
		return -ENOPKG;
	}
	done = 1;
	return done;
}

static int make_home(const char *const *tmpdirs, char **ret)
{
	if (!tmpdirs) {
		return -ENOENT;
	}
	for (const char *const *t = tmpdirs; *t; t++) {
		_cleanup_free_ char *tmpl = NULL;

		if (asprintf(&tmpl, "%s/mandosXXXXXX", *t) < 0) {
			return -ENOMEM;
		}
		if (!mkdtemp(tmpl)) {
			if (errno == ENOENT) {
				log_debug("Cannot use %s for a GnuPG home: it does not exist", *t);
				continue;
			}
			return negative_errno();
		}
		*ret = TAKE_PTR(tmpl);
		return 0;
	}
	return -ENOENT;
}

int decryptor_new(const char *const *tmpdirs, Decryptor **ret)
{
	_cleanup_(decryptor_freep) Decryptor *d = NULL;
	gpgme_error_t e;
	int r;

	r = engine_init();
	if (r < 0) {
		return r;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		return -ENOMEM;
	}
	r = make_home(tmpdirs, &d->home);
	if (r < 0) {
		return r;
	}
	e = gpgme_new(&d->ctx);
	if (e) {
		return gpg_to_errno(e);
	}
	e = gpgme_set_protocol(d->ctx, GPGME_PROTOCOL_OpenPGP);
	if (!e) {
		e = gpgme_ctx_set_engine_info(d->ctx, GPGME_PROTOCOL_OpenPGP, NULL, d->home);
	}
	if (!e) {
		/* The keys made by mandos-keygen have no passphrase; never ask for one. */
		e = gpgme_set_pinentry_mode(d->ctx, GPGME_PINENTRY_MODE_LOOPBACK);
	}
	if (e) {
		return gpg_to_errno(e);
	}
	*ret = TAKE_PTR(d);
	return 0;
}

void decryptor_require_signature(Decryptor *d, bool require)
{
	d->require_signature = require;
}

const char *decryptor_home(const Decryptor *d)
{
	return d->home;
}

/* Append a key file to buf (a SecBuf: secret keys are secrets). */
static int read_key_file(const char *path, SecBuf *buf)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		return negative_errno();
	}
	if (fstat(fd, &st) < 0) {
		return negative_errno();
	}
	if (!S_ISREG(st.st_mode)) {
		return -EINVAL;
	}
	if (st.st_size > DECRYPT_KEY_FILE_MAX) {
		return -EFBIG;
	}
	r = secbuf_read_all(buf, fd);
	if (r < 0) {
		return r;
	}
	/* Keep armored blocks of consecutive files apart. */
	return secbuf_append(buf, "\n", 1);
}

int decryptor_import_files(Decryptor *d, const char *const *paths, const char **ret_detail)
{
	_cleanup_secbuf_ SecBuf *buf = NULL;
	gpgme_data_t data = NULL;
	gpgme_import_result_t res;
	gpgme_error_t e;
	size_t nfiles = 0;
	int n, r;

	if (ret_detail) {
		*ret_detail = NULL;
	}
	for (const char *const *p = paths; *p; p++) {
		nfiles++;
	}
	buf = secbuf_new(8192, DECRYPT_KEY_FILE_MAX * (nfiles + 1));
	if (!buf) {
		return -ENOMEM;
	}
	for (const char *const *p = paths; *p; p++) {
		r = read_key_file(*p, buf);
		if (r < 0) {
			if (ret_detail) {
				*ret_detail = *p;
			}
			return r;
		}
	}
	e = gpgme_data_new_from_mem(&data, (const char *)buf->data, buf->len, 0);
	if (e) {
		return gpg_to_errno(e);
	}
	e = gpgme_op_import(d->ctx, data);
	gpgme_data_release(data);
	if (e) {
		if (ret_detail) {
			*ret_detail = gpgme_strerror(e);
		}
		return gpg_to_errno(e);
	}
	res = gpgme_op_import_result(d->ctx);
	if (!res) {
		return -EIO;
	}
	log_debug("Imported %zu key files: considered %d, imported %d, unchanged %d, secret read "
	          "%d, secret imported %d, secret unchanged %d, not imported %d",
	          nfiles, res->considered, res->imported, res->unchanged, res->secret_read,
	          res->secret_imported, res->secret_unchanged, res->not_imported);
	for (gpgme_import_status_t st = res->imports; st; st = st->next) {
		if (st->result) {
			log_debug("Key %s not imported: %s", st->fpr ? st->fpr : "?",
			          gpgme_strerror(st->result));
		}
	}
	n = res->imported + res->unchanged + res->secret_imported + res->secret_unchanged;
	return n > 0 ? n : -ENOKEY;
}

int decryptor_import_file(Decryptor *d, const char *path, const char **ret_detail)
{
	const char *const paths[] = {path, NULL};
	const char *detail = NULL;
	int r = decryptor_import_files(d, paths, &detail);

	if (ret_detail) {
		/* A path as "detail" only means the file itself failed: errno says it all. */
		*ret_detail = detail == path ? NULL : detail;
	}
	return r;
}

static ssize_t secbuf_cb_write(void *handle, const void *buf, size_t size)
{
	int r = secbuf_append(handle, buf, size);

	if (r < 0) {
		errno = -r;
		return -1;
	}
	return (ssize_t)size;
}

static ssize_t secbuf_cb_read(void *handle, void *buf, size_t size)
{
	errno = EINVAL;
	return -1;
}

static off_t secbuf_cb_seek(void *handle, off_t offset, int whence)
{
	errno = ESPIPE;
	return -1;
}

int decryptor_decrypt(Decryptor *d, const void *cipher, size_t len, SecBuf *out,
                      const char **ret_detail)
{
	static struct gpgme_data_cbs cbs = {
	        .read = secbuf_cb_read,
	        .write = secbuf_cb_write,
	        .seek = secbuf_cb_seek,
	};
	gpgme_data_t in = NULL, plain = NULL;
	size_t old_len = out->len;
	gpgme_error_t e;
	int r;

	if (ret_detail) {
		*ret_detail = NULL;
	}
	e = gpgme_data_new_from_mem(&in, cipher, len, 0);
	if (e) {
		return gpg_to_errno(e);
	}
	e = gpgme_data_new_from_cbs(&plain, &cbs, out);
	if (e) {
		gpgme_data_release(in);
		return gpg_to_errno(e);
	}
	if (d->require_signature) {
		e = gpgme_op_decrypt_verify(d->ctx, in, plain);
	} else {
		e = gpgme_op_decrypt(d->ctx, in, plain);
	}
	gpgme_data_release(plain);
	gpgme_data_release(in);
	if (!e && d->require_signature) {
		gpgme_verify_result_t v = gpgme_op_verify_result(d->ctx);
		bool good = false;

		/* Only our own keys are in this keyring, so a good signature is one of ours. */
		for (gpgme_signature_t sig = v ? v->signatures : NULL; sig; sig = sig->next) {
			if (gpgme_err_code(sig->status) == GPG_ERR_NO_ERROR) {
				good = true;
			}
		}
		if (good) {
			return 0;
		}
		if (ret_detail) {
			*ret_detail = "not signed by the client's own key";
		}
		r = -EKEYREJECTED;
		goto wipe;
	}
	if (!e) {
		return 0;
	}
	if (ret_detail) {
		*ret_detail = gpgme_strerror(e);
	}
	switch (gpgme_err_code(e)) {
	case GPG_ERR_NO_DATA:
	case GPG_ERR_DECRYPT_FAILED:
	case GPG_ERR_NO_SECKEY:
	case GPG_ERR_BAD_DATA:
	case GPG_ERR_INV_DATA:
		r = -EBADMSG;
		break;
	default:
		r = gpg_to_errno(e);
		break;
	}
wipe:
	/* Some plaintext may have been written before the failure: wipe it. */
	if (out->len > old_len) {
		secmem_wipe(out->data + old_len, out->len - old_len);
		out->len = old_len;
		out->data[old_len] = '\0';
	}
	if (r == -E2BIG || r == -ENOSPC) {
		r = -EFBIG;
	}
	return r;
}

/* Read one Assuan line ("OK ...", "ERR ...") from the agent. */
static bool assuan_ok(int fd)
{
	char line[1024];
	size_t n = 0;

	while (n < sizeof(line) - 1) {
		ssize_t k = read(fd, line + n, 1);

		if (k <= 0) {
			return false;
		}
		if (line[n] == '\n') {
			break;
		}
		n++;
	}
	line[n] = '\0';
	if (strncmp(line, "OK", 2) == 0) {
		return true;
	}
	/* Status and comment lines come before the final answer. */
	if (line[0] == 'S' || line[0] == '#') {
		return assuan_ok(fd);
	}
	return false;
}

/* Tell the agent listening in the home itself to quit (what "gpgconf --kill" does, without
 * two more processes).  Returns true if it said it would. */
static bool killagent_socket(const char *home)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 2};
	_cleanup_close_ int fd = -EBADF;
	static const char cmd[] = "KILLAGENT\n";

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/S.gpg-agent", home) >=
	    sizeof(sa.sun_path)) {
		return false;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return false;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		return false;
	}
	if (!assuan_ok(fd)) {
		return false;
	}
	if (send(fd, cmd, sizeof(cmd) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(cmd) - 1) {
		return false;
	}
	return assuan_ok(fd);
}

/* Stop the agent of this home; the home cannot be removed cleanly while it runs (it would
 * notice its socket gone only much later).  Its socket is in the home unless
 * /run/user/UID exists; then gpgconf knows where. */
static void kill_agent(const char *home)
{
	const char *gpgconf = "/usr/bin/gpgconf";
	const char *argv[] = {"gpgconf", "--homedir", home, "--kill", "gpg-agent", NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, deflt;
	int status;
	pid_t pid;

	if (killagent_socket(home)) {
		log_debug("Stopped the gpg-agent of %s", home);
		return;
	}
	if (access(gpgconf, X_OK) < 0) {
		return;
	}
	sigemptyset(&none);
	sigemptyset(&deflt);
	sigaddset(&deflt, SIGTERM);
	sigaddset(&deflt, SIGINT);
	sigaddset(&deflt, SIGHUP);
	sigaddset(&deflt, SIGPIPE);
	if (posix_spawn_file_actions_init(&fa) != 0) {
		return;
	}
	if (posix_spawnattr_init(&attr) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return;
	}
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &deflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (posix_spawn(&pid, gpgconf, &fa, &attr, (char *const *)(uintptr_t)argv, environ) == 0) {
		(void)RETRY_EINTR(waitpid(pid, &status, 0));
	}
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
}

Decryptor *decryptor_free(Decryptor *d)
{
	if (!d) {
		return NULL;
	}
	if (d->ctx) {
		gpgme_release(d->ctx);
	}
	if (d->home) {
		int r;

		kill_agent(d->home);
		r = rm_rf_dir(d->home);
		if (r < 0) {
			log_debug_errno(r, "Failed to remove %s: %m", d->home);
		} else {
			log_debug("Removed %s", d->home);
		}
		free(d->home);
	}
	free(d);
	return NULL;
}

static int rm_rf_at(int dirfd, int depth)
{
	DIR *dir;
	struct dirent *de;
	int r = 0;

	if (depth > 8) {
		close(dirfd);
		return -ELOOP;
	}
	dir = fdopendir(dirfd);
	if (!dir) {
		r = negative_errno();
		close(dirfd);
		return r;
	}
	while ((de = readdir(dir))) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
			continue;
		}
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (r == 0 && errno != ENOENT) {
				r = negative_errno();
			}
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, de->d_name,
			                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int q;

			if (sub < 0) {
				q = negative_errno();
			} else {
				q = rm_rf_at(sub, depth + 1);
			}
			if (q < 0 && r == 0) {
				r = q;
			}
			if (unlinkat(dirfd, de->d_name, AT_REMOVEDIR) < 0 && r == 0 &&
			    errno != ENOENT) {
				r = negative_errno();
			}
		} else if (unlinkat(dirfd, de->d_name, 0) < 0 && r == 0 && errno != ENOENT) {
			r = negative_errno();
		}
	}
	closedir(dir);
	return r;
}

int rm_rf_dir(const char *path)
{
	int fd, r;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		return errno == ENOENT ? 0 : negative_errno();
	}
	r = rm_rf_at(fd, 0);
	if (rmdir(path) < 0 && errno != ENOENT && r == 0) {
		r = negative_errno();
	}
	return r;
}
