/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The client state machine (spec 2.6, 2.7) on a real sd-event loop, and the state file. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "log.h"
#include "state.h"

static sd_event *event;
static SecretStore *store;
static ClientContext ctx;
static unsigned changes[_CLIENT_PROP_MAX];
static int completed_code = -100;

static void on_prop(Client *c, ClientProperty p, void *userdata)
{
	changes[p]++;
}

static void on_completed(Client *c, int code, int64_t status, const char *cmd, void *userdata)
{
	completed_code = code;
}

static const ClientObserver observer = {
        .property_changed = on_prop,
        .checker_completed = on_completed,
};

static void setup(void)
{
	sigset_t ss;

	sigemptyset(&ss);
	sigaddset(&ss, SIGCHLD);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	ck_assert_int_ge(sd_event_new(&event), 0);
	store = secret_store_new();
	ctx = (ClientContext){.event = event, .store = store, .checker_output_to_null = true};
	client_context_add_observer(&ctx, &observer, NULL);
	memset(changes, 0, sizeof(changes));
	completed_code = -100;
}

static void teardown(void)
{
	checker_forget_stopped();
	secret_store_free(store);
	sd_event_unref(event);
}

static Client *make(const char *checker, bool enabled)
{
	ClientConfig cc = {0};
	Client *c;

	cc.name = strdup("c1");
	cc.settings.host = strdup("h");
	cc.settings.checker = strdup(checker);
	cc.settings.fingerprint = strdup("");
	strcpy(cc.settings.key_id,
	       "DD3677011AFDB724949F3FB96A511E42494FD2B7059AADE2C9AE7BECA78B91B8");
	cc.settings.timeout = 300000;
	cc.settings.extended_timeout = 900000;
	cc.settings.interval = 120000;
	cc.settings.approval_duration = 100;
	cc.settings.approved_by_default = true;
	cc.settings.enabled = enabled;
	ck_assert_int_eq(secret_store_put(store, "s3cret", 6, &cc.secret), 0);
	ck_assert_int_eq(
	        secret_store_put(store, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 32, &cc.state_key), 0);
	ck_assert_int_eq(client_new(&ctx, &cc, &c), 0);
	free(cc.name);
	client_settings_done(&cc.settings);
	return c;
}

/* Run the loop for about msec. */
static void run_for(unsigned msec)
{
	uint64_t now, end;

	sd_event_now(event, CLOCK_MONOTONIC, &now);
	end = now + msec * 1000ULL;
	while (sd_event_now(event, CLOCK_MONOTONIC, &now) >= 0 && now < end) {
		sd_event_run(event, end - now);
	}
}

START_TEST(fresh_and_enable)
{
	Client *c = make("true", false);
	realtime_t before = now_realtime();

	ck_assert(!c->s.enabled);
	ck_assert_uint_eq(c->expires, 0);
	ck_assert_int_eq(c->last_checker_status, -2);
	client_enable(c);
	ck_assert(c->s.enabled);
	ck_assert_uint_eq(changes[CLIENT_PROP_ENABLED], 1);
	/* First checker after interval; expires = now + 2 * interval. */
	ck_assert_uint_ge(c->expires, before + 240000000ULL);
	ck_assert_uint_le(c->expires, now_realtime() + 240000000ULL);
	ck_assert_uint_ge(c->last_enabled, before);
	client_enable(c); /* no-op */
	ck_assert_uint_eq(changes[CLIENT_PROP_ENABLED], 1);
	client_disable(c, true);
	ck_assert(!c->s.enabled);
	ck_assert_uint_eq(c->expires, 0);
	client_unref(c);
}
END_TEST

START_TEST(timeout_changes)
{
	Client *c = make("true", true);

	client_start(c);
	ck_assert(c->s.enabled);
	/* A longer timeout moves expires by the difference. */
	{
		realtime_t old = c->expires;
		client_set_timeout(c, 400000);
		ck_assert_uint_eq(c->expires, old + 100000000ULL);
	}
	/* A timeout already past disables at once. */
	client_set_timeout(c, 1);
	ck_assert(!c->s.enabled);
	ck_assert_uint_eq(c->expires, 0);
	client_unref(c);
}
END_TEST

START_TEST(disable_by_timeout)
{
	Client *c = make("exit 1", true);

	c->s.interval = 100;
	c->s.timeout = 100;
	client_start(c);
	run_for(600);
	ck_assert(!c->s.enabled);
	ck_assert_int_eq(c->last_checker_status, 1);
	ck_assert_int_eq(completed_code, 1);
	client_unref(c);
}
END_TEST

START_TEST(checker_success)
{
	Client *c = make("test %(name)s = c1 && test %(host)s = h", true);

	c->s.interval = 100;
	client_start(c);
	run_for(500);
	ck_assert(c->s.enabled);
	ck_assert_int_eq(c->last_checker_status, 0);
	ck_assert_uint_ne(c->last_checked_ok, 0);
	/* expires = last success + timeout */
	ck_assert_uint_ge(c->expires, c->last_checked_ok + 299000000ULL);
	client_unref(c);
}
END_TEST

START_TEST(approval_window)
{
	Client *c = make("true", true);

	ck_assert_int_eq(c->approved, APPROVAL_UNDECIDED);
	client_approve(c, true);
	ck_assert_int_eq(c->approved, APPROVAL_GRANTED);
	/* The decision lasts approval_duration (100 ms), then it is undecided again. */
	run_for(300);
	ck_assert_int_eq(c->approved, APPROVAL_UNDECIDED);
	client_approval_begin(c);
	client_approval_begin(c);
	client_approval_end(c);
	ck_assert_uint_eq(changes[CLIENT_PROP_APPROVAL_PENDING], 1);
	client_approval_end(c);
	ck_assert_uint_eq(changes[CLIENT_PROP_APPROVAL_PENDING], 2);
	client_unref(c);
}
END_TEST

START_TEST(expansion_values)
{
	Client *c = make("true", true);
	char *v;

	v = client_expansion_value(c, "timeout");
	ck_assert_str_eq(v, "0:05:00");
	free(v);
	v = client_expansion_value(c, "enabled");
	ck_assert_str_eq(v, "True");
	free(v);
	v = client_expansion_value(c, "last_checked_ok");
	ck_assert_str_eq(v, "None");
	free(v);
	v = client_expansion_value(c, "approval_duration");
	ck_assert_str_eq(v, "0:00:00.100000");
	free(v);
	errno = 0;
	ck_assert_ptr_null(client_expansion_value(c, "secret"));
	ck_assert_int_eq(errno, ENOENT);
	client_unref(c);
}
END_TEST

START_TEST(state_roundtrip)
{
	char dir[] = "/tmp/test-client-state-XXXXXX", path[256];
	Client *c = make("true", true);
	SavedState st;
	SecBuf *secret = NULL;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	c->last_checker_status = 3;
	free(c->s.host);
	c->s.host = strdup("with space and %");
	ck_assert_int_eq(client_set_secret(c, "runtime secret", 14), 0);
	ck_assert_int_eq(state_save(dir, &c, 1, NULL), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE_NAME);
	ck_assert_int_eq(state_load(path, &st), 0);
	ck_assert_uint_eq(st.n, 1);
	ck_assert_str_eq(st.clients[0].name, "c1");
	ck_assert_str_eq(st.clients[0].s.host, "with space and %");
	ck_assert_str_eq(st.clients[0].config.host, "h");
	ck_assert_int_eq(st.clients[0].last_checker_status, 3);
	ck_assert_uint_eq(st.clients[0].created, c->created);
	ck_assert_uint_eq(st.clients[0].expires, c->expires);
	ck_assert(st.clients[0].s.enabled);
	ck_assert_uint_eq(client_settings_diff(&st.clients[0].config, &c->config), 0);
	/* The secret decrypts with the key from the config secret, and only with it. */
	secret = secbuf_new(16, SECRET_MAX);
	ck_assert_int_eq(state_decrypt_secret(&st.clients[0], &c->state_key, secret), 0);
	ck_assert_uint_eq(secret->len, 14);
	ck_assert_mem_eq(secret->data, "runtime secret", 14);
	{
		Secret other;
		ck_assert_int_eq(
		        secret_store_put(store, "llllllllllllllllllllllllllllllll", 32, &other), 0);
		ck_assert_int_eq(state_decrypt_secret(&st.clients[0], &other, secret), -EBADMSG);
		ck_assert_uint_eq(secret->len, 0);
		secret_store_drop(store, &other);
		secbuf_free(secret);
	}
	saved_state_done(&st);
	/* Truncated and foreign files are rejected. */
	{
		FILE *f = fopen(path, "w");
		fputs("mandos-c-state 1\nclient x\ncreated 1\n", f);
		fclose(f);
		ck_assert_int_eq(state_load(path, &st), -EBADMSG);
		f = fopen(path, "w");
		fputs("\x80\x02}q\x00", f);
		fclose(f);
		ck_assert_int_eq(state_load(path, &st), -EBADMSG);
	}
	unlink(path);
	rmdir(dir);
	client_unref(c);
}
END_TEST

/* A kept record (state_snapshot()) is written after the running clients, as the file has it. */
START_TEST(state_kept_records)
{
	char dir[] = "/tmp/test-client-kept-XXXXXX", path[256];
	Client *c = make("true", true), *d = make("true", true);
	SavedClient kept = {0};
	SavedState st;
	SecBuf *secret = secbuf_new(16, SECRET_MAX);
	realtime_t rel[] = {100, 200, 300};

	ck_assert_ptr_nonnull(mkdtemp(dir));
	free(d->name);
	d->name = strdup("kept one");
	d->s.enabled = false;
	d->last_checked_ok = 12345;
	d->approved_until = 987654321;
	d->releases = malloc(sizeof(rel));
	memcpy(d->releases, rel, sizeof(rel));
	d->n_releases = 3;
	ck_assert_int_eq(client_set_secret(d, "kept secret", 11), 0);
	ck_assert_int_eq(state_snapshot(d, &kept), 0);
	/* The snapshot owns its copies: the client may go. */
	client_unref(d);
	ck_assert_str_eq(kept.name, "kept one");
	ck_assert(!kept.s.enabled);
	ck_assert_ptr_nonnull(kept.secret_box);
	ck_assert_int_eq(state_save(dir, &c, 1, &(SavedState){.clients = &kept, .n = 1}), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE_NAME);
	ck_assert_int_eq(state_load(path, &st), 0);
	ck_assert_uint_eq(st.n, 2);
	ck_assert_str_eq(st.clients[0].name, "c1");
	ck_assert_str_eq(st.clients[1].name, "kept one");
	ck_assert(!st.clients[1].s.enabled);
	ck_assert_uint_eq(st.clients[1].last_checked_ok, 12345);
	ck_assert_uint_eq(st.clients[1].approved_until, 987654321);
	ck_assert_uint_eq(st.clients[1].n_releases, 3);
	ck_assert_uint_eq(st.clients[1].releases[2], 300);
	ck_assert_uint_eq(client_settings_diff(&st.clients[1].config, &kept.config), 0);
	/* Its secret is the client's, under the same state key (c's: make() gives one key). */
	ck_assert_int_eq(state_decrypt_secret(&st.clients[1], &c->state_key, secret), 0);
	ck_assert_uint_eq(secret->len, 11);
	ck_assert_mem_eq(secret->data, "kept secret", 11);
	saved_state_done(&st);
	saved_client_done(&kept);
	secbuf_free(secret);
	unlink(path);
	rmdir(dir);
	client_unref(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	log_set_max_level(LOG_CRIT);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, fresh_and_enable);
	tcase_add_test(tc, timeout_changes);
	tcase_add_test(tc, disable_by_timeout);
	tcase_add_test(tc, checker_success);
	tcase_add_test(tc, approval_window);
	tcase_add_test(tc, expansion_values);
	tcase_add_test(tc, state_roundtrip);
	tcase_add_test(tc, state_kept_records);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
