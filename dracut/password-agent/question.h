/* SPDX-License-Identifier: GPL-3.0-or-later */
/* systemd password questions: the "ask.*" files of the password agent protocol. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* Largest question file read; systemd writes a few hundred bytes. */
#define QUESTION_FILE_MAX (64 * 1024)

/*
 * One question, as read from "[Ask]" in an ask file.  Other keys (Message=, Echo=, Id=...)
 * are not used by this agent and are not kept.
 */
typedef struct Question {
	char *name;         /* file name in the agent directory ("ask.XXXXXX") */
	char *socket_path;  /* Socket=: where the answer datagram goes */
	pid_t pid;          /* PID=: the asking process */
	uint64_t not_after; /* NotAfter=: CLOCK_MONOTONIC deadline in µs, 0 for none */
	uint64_t retry_at;  /* next send attempt (CLOCK_MONOTONIC µs); 0 means now */
	unsigned attempts;  /* send attempts made so far */
} Question;

/* Whether a directory entry name is a question file: it starts with "ask.". */
bool question_name_is_ask(const char *name);

/*
 * Parse the text of an ask file (`len` bytes, need not be NUL-terminated) as systemd writes
 * it: "[Section]" headers, "Key=Value" lines, "#" and ";" comments, CR LF tolerated.  Keys
 * are case-sensitive.  In section [Ask], Socket= must be non-empty, PID= a positive process
 * ID and NotAfter= (optional) a number of microseconds.  The last of a repeated key wins.
 * `name` is copied into the result.  Returns 0 and a new Question in *ret, or -EBADMSG
 * (malformed; *ret_reason, if not NULL, gets a static description) or -ENOMEM.
 * Liveness and expiry are not checked here: see question_load().
 */
int question_parse(const char *name, const char *text, size_t len, Question **ret,
                   const char **ret_reason);

/*
 * Read and parse the question file `name` in the directory `dir_fd` and check that it is
 * still relevant at CLOCK_MONOTONIC time `now_usec`.  The file must be a regular file (no
 * symlinks followed) of at most QUESTION_FILE_MAX bytes.  Returns 0 and *ret, or
 * -ENOENT (gone already), -EBADMSG (malformed), -ESRCH (the asking process does not exist),
 * -ETIME (NotAfter has passed), -EFBIG, or another -errno.  For -EBADMSG, -ESRCH and -ETIME,
 * *ret_reason (if not NULL) gets a static description for the log.
 */
int question_load(int dir_fd, const char *name, uint64_t now_usec, Question **ret,
                  const char **ret_reason);

/* Whether the asking process still exists (kill(pid, 0) succeeds or fails with EPERM). */
bool question_asker_alive(const Question *q);

/* Free a question.  Accepts NULL; returns NULL. */
Question *question_free(Question *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(Question *, question_free)
#define _cleanup_question_free_ _cleanup_(question_freep)
