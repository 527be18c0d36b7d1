/*
 * test_vardiff.c - retarget steps: fast, slow, on target, clamps, ticks,
 * suggestions, sub-1 difficulties.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "vardiff.h"

#include <math.h>

static struct vardiff_policy policy(void)
{
	struct vardiff_policy p;

	vardiff_policy_default(&p);
	return p;
}

/* Feeds n shares evenly spaced from `from` to `to`; returns how many
 * retargets happened, the last new diff in *last. */
static int feed(struct vardiff *v, const struct vardiff_policy *p, int n, double from, double to,
		double *last)
{
	int changes = 0;

	for (int i = 1; i <= n; i++) {
		double d;

		if (vardiff_on_share(v, p, from + (to - from) * i / n, &d)) {
			changes++;
			*last = d;
		}
	}
	return changes;
}

static void test_defaults(void **state)
{
	struct vardiff_policy p = policy();

	(void)state;
	assert_true(p.mindiff == 1 && p.maxdiff == 0 && p.target_time == 10);
	assert_true(p.retarget_time == 60 && p.retarget_shares == 30 && p.hysteresis == 1.5);
	assert_true(p.suggestion_is_floor);
}

static void test_fast_miner_goes_up_in_one_step(void **state)
{
	struct vardiff_policy p = policy();
	struct vardiff v;
	double d = 0;

	(void)state;
	vardiff_init(&v, &p, 1, 0);
	/* 30 shares in 3 s at diff 1: 10 shares/s, want 0.1/s -> diff 100 */
	assert_int_equal(feed(&v, &p, 30, 0, 3, &d), 1);
	assert_true(d == 100);
	assert_true(v.diff == 100);
	assert_true(v.old_diff == 1);
	assert_true(v.last_retarget == 3);
	assert_int_equal(v.shares, 0);
}

static void test_slow_miner_goes_down_after_the_window(void **state)
{
	struct vardiff_policy p = policy();
	struct vardiff v;
	double d = 0;

	(void)state;
	vardiff_init(&v, &p, 1000, 0);
	/* one share per 20 s: the window closes at 60 s with 3 shares */
	assert_int_equal(feed(&v, &p, 2, 0, 40, &d), 0);
	assert_true(vardiff_on_share(&v, &p, 60, &d));
	assert_true(d == 500);
	assert_true(v.old_diff == 1000);
}

static void test_on_target_stays(void **state)
{
	struct vardiff_policy p = policy();
	struct vardiff v;
	double d = 0;

	(void)state;
	vardiff_init(&v, &p, 100, 0);
	assert_int_equal(feed(&v, &p, 6, 0, 60, &d), 0);
	assert_true(v.diff == 100);
	assert_int_equal(v.shares, 0);  /* the window was closed and reopened */
	/* within the hysteresis band (1.4x) nothing moves either */
	assert_int_equal(feed(&v, &p, 30, 60, 60 + 30 * 10 / 1.4, &d), 0);
	assert_true(v.diff == 100);
}

static void test_rounds_down_above_one(void **state)
{
	struct vardiff_policy p = policy();
	struct vardiff v;
	double d = 0;

	(void)state;
	vardiff_init(&v, &p, 10, 0);
	/* 30 shares in 24.25 s at diff 10 -> 123.7 -> 123 */
	assert_int_equal(feed(&v, &p, 30, 0, 24.25, &d), 1);
	assert_true(d == 123);
}

static void test_clamps_to_max_and_min(void **state)
{
	struct vardiff_policy p = policy();
	struct vardiff v;
	double d = 0;

	(void)state;
	p.maxdiff = 50;
	vardiff_init(&v, &p, 1, 0);
	assert_int_equal(feed(&v, &p, 30, 0, 3, &d), 1);
	assert_true(d == 50);
	/* already at the ceiling: faster still changes nothing */
	assert_int_equal(feed(&v, &p, 30, 3, 4, &d), 0);
	p.mindiff = 40;
	vardiff_init(&v, &p, 10, 0);        /* start below the floor is clamped */
	assert_true(v.diff == 40);
	assert_int_equal(feed(&v, &p, 1, 0, 100, &d), 0);   /* wants 4, floor is 40 */
	assert_true(v.diff == 40);
}

static void test_sub_one_difficulties(void **state)
{
	struct vardiff_policy p = policy();
	struct vardiff v;
	double d = 0;

	(void)state;
	p.mindiff = 1e-9;
	vardiff_init(&v, &p, 1e-6, 0);
	assert_true(vardiff_on_share(&v, &p, 60, &d));
	assert_true(fabs(d / (1e-6 / 6) - 1) < 1e-12);     /* no integer rounding below 1 */
	/* a silent miner decays to the floor and stays there */
	for (double t = 60; t < 60 + 200 * 120; t += 120)
		vardiff_on_tick(&v, &p, t, &d);
	assert_true(v.diff == 1e-9);
	/* and climbs back from 1e-9: the first share closes the silent window,
	 * the next 30 arrive within 3 s */
	assert_int_equal(feed(&v, &p, 31, 30000, 30003.1, &d), 1);
	assert_true(fabs(d / 1e-7 - 1) < 1e-9);
}

static void test_tick_lowers_a_silent_miner(void **state)
{
	struct vardiff_policy p = policy();
	struct vardiff v;
	double d = 0;

	(void)state;
	vardiff_init(&v, &p, 1000, 0);
	assert_false(vardiff_on_tick(&v, &p, 100, &d));
	assert_true(vardiff_on_tick(&v, &p, 120, &d));
	assert_true(d == 83);                               /* 1000 * 10 / 120 */
	assert_false(vardiff_on_tick(&v, &p, 130, &d));     /* new window */
}

static void test_suggestion_sets_and_floors(void **state)
{
	struct vardiff_policy p = policy();
	struct vardiff v;
	double d = 0;

	(void)state;
	vardiff_init(&v, &p, 100, 0);
	assert_true(vardiff_suggest(&v, &p, 5000, 1, &d));
	assert_true(d == 5000 && v.old_diff == 100);
	assert_false(vardiff_suggest(&v, &p, 5000, 2, &d));   /* no change */
	assert_false(vardiff_suggest(&v, &p, -3, 2, &d));     /* ignored */
	/* slow shares cannot push below the suggestion */
	assert_int_equal(feed(&v, &p, 1, 2, 200, &d), 0);
	assert_true(v.diff == 5000);
	/* unless the policy does not treat suggestions as a floor */
	p.suggestion_is_floor = false;
	assert_int_equal(feed(&v, &p, 1, 200, 400, &d), 1);
	assert_true(d == 250);
	/* suggestions are still clamped to the policy */
	p.maxdiff = 1000;
	assert_true(vardiff_suggest(&v, &p, 1e6, 500, &d));
	assert_true(d == 1000);
}

/* A suggestion is a floor, but the pool's maxdiff is the ceiling of that floor. */
static void test_suggestion_floor_stays_under_maxdiff(void **state)
{
	struct vardiff_policy p = policy();
	struct vardiff v;
	double d = 0;

	(void)state;
	p.maxdiff = 1000;
	vardiff_init(&v, &p, 100, 0);
	assert_true(p.suggestion_is_floor);
	assert_true(vardiff_suggest(&v, &p, 1e6, 1, &d));
	assert_true(d == 1000);
	assert_true(vardiff_clamp(&v, &p, 5e5) == 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_suggestion_floor_stays_under_maxdiff),
		cmocka_unit_test(test_fast_miner_goes_up_in_one_step),
		cmocka_unit_test(test_slow_miner_goes_down_after_the_window),
		cmocka_unit_test(test_on_target_stays),
		cmocka_unit_test(test_rounds_down_above_one),
		cmocka_unit_test(test_clamps_to_max_and_min),
		cmocka_unit_test(test_sub_one_difficulties),
		cmocka_unit_test(test_tick_lowers_a_silent_miner),
		cmocka_unit_test(test_suggestion_sets_and_floors),
	};

	return cmocka_run_group_tests_name("vardiff", tests, NULL, NULL);
}
