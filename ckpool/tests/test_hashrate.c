/*
 * test_hashrate.c - decaying hashrate estimates: steady miners converge,
 * young estimates are not diluted, idle miners decay, the worker table.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "hashrate.h"

#include <math.h>

#define TERAHASH 1e12
/* Difficulty of a share that stands for one second of 1 TH/s. */
#define DIFF_PER_TH_SECOND (TERAHASH / 4294967296.0)

static void assert_near(double got, double want, double rel)
{
	if (fabs(got - want) > rel * want)
		fail_msg("got %g, want %g (+/- %g%%)", got, want, rel * 100);
}

/* A 1 TH/s miner sending one share every `every` seconds from t0 to t1. */
static void mine_steadily(struct hashrate *h, double t0, double t1, double every)
{
	for (double t = t0 + every; t <= t1; t += every)
		hashrate_add_share(h, DIFF_PER_TH_SECOND * every, t);
}

static void test_steady_miner_converges_in_every_window(void **state)
{
	struct hashrate h;

	(void)state;
	hashrate_init(&h, 0);
	mine_steadily(&h, 0, 3 * 86400, 10);
	for (int w = 0; w < HASHRATE_WINDOWS; w++)
		assert_near(hashrate_get(&h, w, 3 * 86400), TERAHASH, 0.1);
}

static void test_young_estimates_are_not_diluted(void **state)
{
	struct hashrate h;

	(void)state;
	hashrate_init(&h, 100);
	mine_steadily(&h, 100, 100 + 600, 5);
	/* Ten minutes in, even the 1h and 1d figures reflect the real rate. */
	assert_near(hashrate_get(&h, HASHRATE_5M, 700), TERAHASH, 0.1);
	assert_near(hashrate_get(&h, HASHRATE_1H, 700), TERAHASH, 0.1);
	assert_near(hashrate_get(&h, HASHRATE_1D, 700), TERAHASH, 0.1);
}

static void test_idle_miner_decays_fastest_in_short_windows(void **state)
{
	struct hashrate h;
	double after = 7200 + 600;

	(void)state;
	hashrate_init(&h, 0);
	mine_steadily(&h, 0, 7200, 2);
	assert_true(hashrate_get(&h, HASHRATE_1M, after) < 0.001 * TERAHASH);
	assert_near(hashrate_get(&h, HASHRATE_5M, after), TERAHASH * exp(-2), 0.1);
	assert_true(hashrate_get(&h, HASHRATE_1H, after) > 0.8 * TERAHASH);
	/* Reading does not change the state. */
	assert_near(hashrate_get(&h, HASHRATE_5M, after), TERAHASH * exp(-2), 0.1);
}

static void test_rate_doubles_when_difficulty_doubles(void **state)
{
	struct hashrate h;

	(void)state;
	hashrate_init(&h, 0);
	for (double t = 1; t <= 3600; t++)
		hashrate_add_share(&h, 2 * DIFF_PER_TH_SECOND, t);
	assert_near(hashrate_get(&h, HASHRATE_1M, 3600), 2 * TERAHASH, 0.05);
}

static void test_bad_shares_and_time_going_back_are_harmless(void **state)
{
	struct hashrate h;
	double before;

	(void)state;
	hashrate_init(&h, 0);
	mine_steadily(&h, 0, 600, 1);
	before = hashrate_get(&h, HASHRATE_1M, 600);
	hashrate_add_share(&h, -1, 600);
	hashrate_add_share(&h, NAN, 600);
	hashrate_add_share(&h, 0, 600);
	assert_near(hashrate_get(&h, HASHRATE_1M, 600), before, 1e-12);
	hashrate_add_share(&h, DIFF_PER_TH_SECOND, 500);
	assert_true(isfinite(hashrate_get(&h, HASHRATE_1M, 600)));
	assert_true(hashrate_get(&h, HASHRATE_1M, 600) > before);
}

static void test_window_names(void **state)
{
	(void)state;
	assert_string_equal(hashrate_window_name(HASHRATE_1M), "1m");
	assert_string_equal(hashrate_window_name(HASHRATE_1D), "1d");
	assert_true(hashrate_window_seconds(HASHRATE_1H) == 3600);
}

static void count_worker(const char *worker, const struct hashrate *h, void *ctx)
{
	(void)worker;
	(void)h;
	(*(int *)ctx)++;
}

static void test_table_tracks_and_prunes_workers(void **state)
{
	struct hashrate_table *t = hashrate_table_new();
	char name[32];
	int seen = 0;

	(void)state;
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "bc1qworker.%d", i);
		hashrate_table_add_share(t, name, 1, i < 1000 ? 10 : 500);
	}
	hashrate_table_add_share(t, "bc1qworker.0", 1, 20);
	assert_int_equal(hashrate_table_size(t), 3000);
	assert_int_equal(hashrate_table_find(t, "bc1qworker.0")->shares, 2);
	assert_null(hashrate_table_find(t, "nobody"));
	hashrate_table_each(t, count_worker, &seen);
	assert_int_equal(seen, 3000);
	assert_int_equal(hashrate_table_prune(t, 600, 300), 1000);
	assert_int_equal(hashrate_table_size(t), 2000);
	assert_null(hashrate_table_find(t, "bc1qworker.0"));
	assert_non_null(hashrate_table_find(t, "bc1qworker.2999"));
	hashrate_table_free(t);
}

static void test_event_data_fields(void **state)
{
	struct hashrate h;
	json_t *data;

	(void)state;
	hashrate_init(&h, 0);
	mine_steadily(&h, 0, 3600, 1);
	data = hashrate_event_data("bc1qaddr", "rig1", &h, 3600);
	assert_string_equal(json_string_value(json_object_get(data, "address")), "bc1qaddr");
	assert_string_equal(json_string_value(json_object_get(data, "worker")), "rig1");
	assert_near(json_real_value(json_object_get(data, "hashrate_1m")), TERAHASH, 0.05);
	assert_true(json_is_real(json_object_get(data, "hashrate_5m")));
	assert_true(json_is_real(json_object_get(data, "hashrate_1h")));
	assert_true(json_is_real(json_object_get(data, "hashrate_1d")));
	assert_int_equal(json_integer_value(json_object_get(data, "shares")), 3600);
	json_decref(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steady_miner_converges_in_every_window),
		cmocka_unit_test(test_young_estimates_are_not_diluted),
		cmocka_unit_test(test_idle_miner_decays_fastest_in_short_windows),
		cmocka_unit_test(test_rate_doubles_when_difficulty_doubles),
		cmocka_unit_test(test_bad_shares_and_time_going_back_are_harmless),
		cmocka_unit_test(test_window_names),
		cmocka_unit_test(test_table_tracks_and_prunes_workers),
		cmocka_unit_test(test_event_data_fields),
	};

	return cmocka_run_group_tests_name("hashrate", tests, NULL, NULL);
}
