/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The metrics: counters as the exposition text shows them, the histogram's cumulative buckets. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "unit-main.h"

/* The value of SERIES (as written, labels included) in text, or -1 when absent. */
static long long series(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ') {
			return strtoll(p + n + 1, NULL, 10);
		}
	}
	return -1;
}

static char *format(void)
{
	char *text = NULL;
	size_t len = 0;

	ck_assert_int_eq(metrics_format(NULL, &text, &len), 0);
	ck_assert_uint_eq(strlen(text), len);
	return text;
}

static void decide(int protocol, DecisionResult r, uint64_t usec)
{
	metrics_decision(
	        &(DecisionRecord){.protocol = protocol, .result = r, .latency_usec = usec});
}

START_TEST(decisions_and_histogram)
{
	char *t;

	decide(1, DECISION_GRANTED, 1000);    /* on the bound: in le="0.001" */
	decide(1, DECISION_GRANTED, 1001);    /* the next bucket */
	decide(1, DECISION_DENIED, 90000000); /* above 60 s: +Inf only */
	decide(2, DECISION_UNKNOWN_CLIENT, 2000);
	decide(3, DECISION_GRANTED, 1); /* no such protocol: ignored */
	decide(2, _DECISION_MAX, 1);    /* no such result: ignored */
	t = format();
	ck_assert_int_eq(series(t, "mandos_unlocks_total{protocol=\"1\",result=\"granted\"}"), 2);
	ck_assert_int_eq(series(t, "mandos_unlocks_total{protocol=\"1\",result=\"denied\"}"), 1);
	ck_assert_int_eq(
	        series(t, "mandos_unlocks_total{protocol=\"2\",result=\"unknown_client\"}"), 1);
	ck_assert_int_eq(series(t, "mandos_unlocks_total{protocol=\"2\",result=\"granted\"}"), 0);
	ck_assert_int_eq(
	        series(t, "mandos_unlock_duration_seconds_bucket{protocol=\"1\",le=\"0.001\"}"), 1);
	ck_assert_int_eq(
	        series(t, "mandos_unlock_duration_seconds_bucket{protocol=\"1\",le=\"0.0025\"}"),
	        2);
	ck_assert_int_eq(
	        series(t, "mandos_unlock_duration_seconds_bucket{protocol=\"1\",le=\"60\"}"), 2);
	ck_assert_int_eq(
	        series(t, "mandos_unlock_duration_seconds_bucket{protocol=\"1\",le=\"+Inf\"}"), 3);
	ck_assert_int_eq(series(t, "mandos_unlock_duration_seconds_count{protocol=\"1\"}"), 3);
	ck_assert_ptr_nonnull(
	        strstr(t, "mandos_unlock_duration_seconds_sum{protocol=\"1\"} 90.002001\n"));
	ck_assert_ptr_nonnull(strstr(t, "# HELP mandos_unlocks_total "));
	ck_assert_ptr_nonnull(strstr(t, "# TYPE mandos_unlock_duration_seconds histogram\n"));
	/* Without a manager: no client gauges, and never the etcd ones. */
	ck_assert_ptr_null(strstr(t, "mandos_clients"));
	ck_assert_ptr_null(strstr(t, "mandos_etcd_"));
	free(t);
}
END_TEST

START_TEST(connections)
{
	char *t;

	metrics_connection_opened();
	metrics_connection_opened();
	metrics_connection_closed();
	metrics_connection_refused("rate");
	metrics_connection_refused("max");
	metrics_connection_refused("max");
	metrics_connection_refused("nonsense"); /* counted nowhere */
	metrics_handshake_failed(2);
	metrics_handshake_failed(0);
	t = format();
	ck_assert_int_eq(series(t, "mandos_connections_open"), 1);
	ck_assert_int_eq(series(t, "mandos_connections_total"), 2);
	ck_assert_int_eq(series(t, "mandos_connections_refused_total{reason=\"rate\"}"), 1);
	ck_assert_int_eq(series(t, "mandos_connections_refused_total{reason=\"source\"}"), 0);
	ck_assert_int_eq(series(t, "mandos_connections_refused_total{reason=\"total\"}"), 0);
	ck_assert_int_eq(series(t, "mandos_connections_refused_total{reason=\"max\"}"), 2);
	ck_assert_int_eq(series(t, "mandos_handshake_failures_total{protocol=\"1\"}"), 0);
	ck_assert_int_eq(series(t, "mandos_handshake_failures_total{protocol=\"2\"}"), 1);
	free(t);
	/* A close too many never makes the gauge wrap. */
	metrics_connection_closed();
	metrics_connection_closed();
	t = format();
	ck_assert_int_eq(series(t, "mandos_connections_open"), 0);
	free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, decisions_and_histogram);
	tcase_add_test(tc, connections);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
