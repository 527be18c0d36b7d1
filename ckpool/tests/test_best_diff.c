/*
 * test_best_diff.c - per-address best difficulty: scopes, ISO week keys and
 * rollover, atomic saving and reloading after a restart.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "best_diff.h"

#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ADDR "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"

static time_t utc(int year, int month, int day, int hour)
{
	struct tm tm = { .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
			 .tm_hour = hour };

	return timegm(&tm);
}

static int make_state_dir(void **state)
{
	char *dir = strdup("/tmp/test_best_diff.XXXXXX");

	assert_non_null(mkdtemp(dir));
	*state = dir;
	return 0;
}

static int remove_state_dir(void **state)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/best_diff.json", (char *)*state);
	unlink(path);
	rmdir(*state);
	free(*state);
	return 0;
}

static void test_week_keys_follow_iso_8601(void **state)
{
	char week[BEST_WEEK_KEY_LEN];

	(void)state;
	best_week_key(utc(2026, 5, 24, 12), week);
	assert_string_equal(week, "2026-W21");
	best_week_key(utc(2026, 5, 25, 0), week);
	assert_string_equal(week, "2026-W22");
	best_week_key(utc(2021, 1, 3, 23), week);       /* a Sunday in 2020's week 53 */
	assert_string_equal(week, "2020-W53");
	best_week_key(utc(2024, 12, 30, 0), week);      /* a Monday in 2025's week 1 */
	assert_string_equal(week, "2025-W01");
}

static void test_first_share_sets_every_scope(void **state)
{
	struct best_diff_store *s = best_diff_open(NULL, NULL, 0);
	struct best_diff_result r;
	time_t now = utc(2026, 5, 20, 12);

	(void)state;
	assert_true(best_diff_record(s, ADDR, 1000, "00ab", now, &r));
	for (int i = 0; i < BEST_SCOPES; i++) {
		assert_true(r.new_best[i]);
		assert_true(r.prev_best[i] == 0);
		assert_true(r.best[i] == 1000);
	}
	assert_string_equal(r.week, "2026-W21");
	assert_false(best_diff_record(s, ADDR, 999, "00ac", now, &r));
	assert_false(r.new_best[BEST_ALLTIME]);
	assert_true(r.prev_best[BEST_ALLTIME] == 1000);
	assert_true(best_diff_record(s, ADDR, 5000, "00ad", now + 1, &r));
	assert_true(r.new_best[BEST_SESSION] && r.new_best[BEST_WEEKLY] && r.new_best[BEST_ALLTIME]);
	assert_true(r.prev_best[BEST_WEEKLY] == 1000);
	assert_true(best_diff_get(s, ADDR, BEST_ALLTIME, now) == 5000);
	assert_true(best_diff_get(s, "someone else", BEST_ALLTIME, now) == 0);
	assert_string_equal(best_scope_name(BEST_WEEKLY), "weekly");
	{
		json_t *data = best_diff_event_data(ADDR, "rig1", BEST_WEEKLY, &r, "00ad");

		assert_string_equal(json_string_value(json_object_get(data, "scope")), "weekly");
		assert_true(json_real_value(json_object_get(data, "new_best")) == 5000);
		assert_true(json_real_value(json_object_get(data, "prev_best")) == 1000);
		assert_string_equal(json_string_value(json_object_get(data, "week")), "2026-W21");
		assert_string_equal(json_string_value(json_object_get(data, "hash")), "00ad");
		json_decref(data);
	}
	best_diff_close(s);
}

static void test_new_week_starts_a_new_weekly_best(void **state)
{
	struct best_diff_store *s = best_diff_open(NULL, NULL, 0);
	struct best_diff_result r;
	time_t sunday = utc(2026, 5, 24, 23), monday = utc(2026, 5, 25, 0);

	(void)state;
	best_diff_record(s, ADDR, 800, NULL, sunday, NULL);
	assert_true(best_diff_get(s, ADDR, BEST_WEEKLY, monday) == 0);
	assert_true(best_diff_record(s, ADDR, 10, NULL, monday, &r));
	assert_false(r.new_best[BEST_SESSION]);
	assert_true(r.new_best[BEST_WEEKLY]);
	assert_true(r.prev_best[BEST_WEEKLY] == 0);
	assert_false(r.new_best[BEST_ALLTIME]);
	assert_true(r.prev_best[BEST_ALLTIME] == 800);
	assert_string_equal(r.week, "2026-W22");
	best_diff_close(s);
}

static void test_session_best_is_forgotten_on_request(void **state)
{
	struct best_diff_store *s = best_diff_open(NULL, NULL, 0);
	struct best_diff_result r;
	time_t now = utc(2026, 5, 20, 12);

	(void)state;
	best_diff_record(s, ADDR, 100, NULL, now, NULL);
	best_diff_end_session(s, ADDR);
	assert_true(best_diff_get(s, ADDR, BEST_SESSION, now) == 0);
	assert_true(best_diff_record(s, ADDR, 50, NULL, now, &r));
	assert_true(r.new_best[BEST_SESSION]);
	assert_false(r.new_best[BEST_WEEKLY]);
	best_diff_close(s);
}

static void test_bests_survive_a_restart(void **state)
{
	const char *dir = *state;
	char err[256], path[256];
	struct best_diff_store *s = best_diff_open(dir, err, sizeof(err));
	struct best_diff_result r;
	time_t now = utc(2026, 5, 20, 12);
	struct stat st;

	assert_non_null(s);
	assert_false(best_diff_dirty(s));
	best_diff_record(s, ADDR, 4096.5, "0000abcd", now, NULL);
	best_diff_record(s, "tb1qsecond", 12, NULL, now, NULL);
	assert_true(best_diff_dirty(s));
	assert_int_equal(best_diff_save(s, err, sizeof(err)), 0);
	assert_false(best_diff_dirty(s));
	best_diff_close(s);

	snprintf(path, sizeof(path), "%s/best_diff.json.tmp", dir);
	assert_int_not_equal(stat(path, &st), 0);

	s = best_diff_open(dir, err, sizeof(err));
	assert_non_null(s);
	assert_true(best_diff_get(s, ADDR, BEST_ALLTIME, now) == 4096.5);
	assert_true(best_diff_get(s, ADDR, BEST_WEEKLY, now) == 4096.5);
	assert_true(best_diff_get(s, ADDR, BEST_SESSION, now) == 0);
	assert_true(best_diff_get(s, "tb1qsecond", BEST_ALLTIME, now) == 12);
	/* The reloaded bests still gate new records... */
	assert_true(best_diff_record(s, ADDR, 1000, NULL, now, &r));
	assert_true(r.new_best[BEST_SESSION]);
	assert_false(r.new_best[BEST_WEEKLY]);
	assert_true(r.prev_best[BEST_ALLTIME] == 4096.5);
	/* ...and the week still rolls over after a restart. */
	assert_true(best_diff_record(s, ADDR, 1000, NULL, utc(2026, 6, 1, 0), &r));
	assert_true(r.new_best[BEST_WEEKLY]);
	assert_true(r.prev_best[BEST_WEEKLY] == 0);
	assert_int_equal(best_diff_save(s, err, sizeof(err)), 0);
	best_diff_close(s);

	s = best_diff_open(dir, err, sizeof(err));
	assert_true(best_diff_get(s, ADDR, BEST_WEEKLY, utc(2026, 6, 2, 0)) == 1000);
	assert_true(best_diff_get(s, ADDR, BEST_ALLTIME, utc(2026, 6, 2, 0)) == 4096.5);
	best_diff_close(s);
}

static void test_malformed_state_file_is_an_error(void **state)
{
	const char *dir = *state;
	char err[256] = "", path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/best_diff.json", dir);
	f = fopen(path, "w");
	fputs("{\"version\":1,\"addresses\":", f);
	fclose(f);
	assert_null(best_diff_open(dir, err, sizeof(err)));
	assert_non_null(strstr(err, "best_diff.json"));
	f = fopen(path, "w");
	fputs("{\"version\":99,\"addresses\":{}}", f);
	fclose(f);
	assert_null(best_diff_open(dir, err, sizeof(err)));
	assert_non_null(strstr(err, "version"));
}

static void test_save_into_missing_dir_fails_and_stays_dirty(void **state)
{
	char err[256] = "";
	struct best_diff_store *s = best_diff_open("/nonexistent/dir/for/test", err, sizeof(err));

	(void)state;
	assert_non_null(s);
	best_diff_record(s, ADDR, 5, NULL, utc(2026, 5, 20, 0), NULL);
	assert_int_equal(best_diff_save(s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/dir/for/test"));
	assert_true(best_diff_dirty(s));
	best_diff_close(s);
}

/* Authorizing (join) and leaving without a share leaves nothing behind. */
static void test_sessions_without_bests_are_freed(void **state)
{
	struct best_diff_store *s = best_diff_open(NULL, NULL, 0);
	char address[64];

	(void)state;
	for (int i = 0; i < 10000; i++) {
		snprintf(address, sizeof(address), "bc1qsessiononly%d", i);
		assert_true(best_diff_session_join(s, address));
		best_diff_session_join(s, address);
		best_diff_session_leave(s, address);
		best_diff_session_leave(s, address);
	}
	assert_int_equal(best_diff_count(s), 0);
	/* One with a best stays (its all-time record is worth keeping), and
	 * only the last of two connections ends the session. */
	best_diff_session_join(s, ADDR);
	best_diff_session_join(s, ADDR);
	best_diff_record(s, ADDR, 5, NULL, utc(2026, 5, 20, 12), NULL);
	best_diff_session_leave(s, ADDR);
	assert_true(best_diff_get(s, ADDR, BEST_SESSION, utc(2026, 5, 20, 12)) == 5);
	best_diff_session_leave(s, ADDR);
	assert_int_equal(best_diff_count(s), 1);
	assert_true(best_diff_get(s, ADDR, BEST_SESSION, utc(2026, 5, 20, 12)) == 0);
	assert_true(best_diff_get(s, ADDR, BEST_ALLTIME, utc(2026, 5, 20, 12)) == 5);
	best_diff_close(s);
}

/* A full table takes a new address only in place of a worse idle one. */
static void test_full_table_evicts_only_worse_idle_entries(void **state)
{
	struct best_diff_store *s = best_diff_open(NULL, NULL, 0);
	time_t now = utc(2026, 5, 20, 12);
	char address[64];

	(void)state;
	best_diff_set_max_entries(s, 4);
	for (int i = 0; i < 4; i++) {
		snprintf(address, sizeof(address), "bc1qfull%d", i);
		assert_true(best_diff_session_join(s, address));
		assert_true(best_diff_record(s, address, 100 + i, NULL, now, NULL));
	}
	/* All connected: nothing can go, the newcomer is not tracked. */
	assert_false(best_diff_session_join(s, "bc1qnewcomer"));
	assert_false(best_diff_record(s, "bc1qnewcomer", 1e9, NULL, now, NULL));
	assert_int_equal(best_diff_count(s), 4);
	for (int i = 0; i < 4; i++) {
		snprintf(address, sizeof(address), "bc1qfull%d", i);
		best_diff_session_leave(s, address);
	}
	/* Idle now, but with bests: a lower newcomer does not push them out, a
	 * higher one replaces the lowest. */
	assert_false(best_diff_record(s, "bc1qnewcomer", 50, NULL, now, NULL));
	assert_true(best_diff_record(s, "bc1qnewcomer", 1e9, NULL, now, NULL));
	assert_int_equal(best_diff_count(s), 4);
	assert_true(best_diff_get(s, "bc1qnewcomer", BEST_ALLTIME, now) == 1e9);
	assert_true(best_diff_get(s, "bc1qfull0", BEST_ALLTIME, now) == 0);
	assert_true(best_diff_get(s, "bc1qfull3", BEST_ALLTIME, now) == 103);
	best_diff_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_week_keys_follow_iso_8601),
		cmocka_unit_test(test_first_share_sets_every_scope),
		cmocka_unit_test(test_new_week_starts_a_new_weekly_best),
		cmocka_unit_test(test_session_best_is_forgotten_on_request),
		cmocka_unit_test(test_sessions_without_bests_are_freed),
		cmocka_unit_test(test_full_table_evicts_only_worse_idle_entries),
		cmocka_unit_test_setup_teardown(test_bests_survive_a_restart, make_state_dir,
						remove_state_dir),
		cmocka_unit_test_setup_teardown(test_malformed_state_file_is_an_error,
						make_state_dir, remove_state_dir),
		cmocka_unit_test(test_save_into_missing_dir_fails_and_stays_dirty),
	};

	return cmocka_run_group_tests_name("best_diff", tests, NULL, NULL);
}
