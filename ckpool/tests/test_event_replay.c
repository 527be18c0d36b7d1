/*
 * test_event_replay.c - the ring of the last datagrams sent: keeps the
 * newest `capacity`, oldest first, frees what it evicts (ASan checks).
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "event_replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *text_of(int i)
{
	char *t = malloc(16);

	snprintf(t, 16, "e%d", i);
	return t;
}

static void test_keeps_the_newest_oldest_first(void **state)
{
	struct event_replay r;
	size_t len;

	(void)state;
	assert_int_equal(replay_init(&r, 3), 0);
	assert_int_equal(replay_count(&r), 0);
	assert_null(replay_at(&r, 0, &len));
	for (int i = 1; i <= 5; i++)
		replay_keep(&r, text_of(i), strlen("e1"));
	assert_int_equal(replay_count(&r), 3);
	assert_string_equal(replay_at(&r, 0, &len), "e3");
	assert_int_equal(len, 2);
	assert_string_equal(replay_at(&r, 1, NULL), "e4");
	assert_string_equal(replay_at(&r, 2, NULL), "e5");
	assert_null(replay_at(&r, 3, NULL));
	replay_free(&r);
	assert_int_equal(replay_count(&r), 0);
}

static void test_capacity_zero_keeps_nothing(void **state)
{
	struct event_replay r;

	(void)state;
	assert_int_equal(replay_init(&r, 0), 0);
	replay_keep(&r, text_of(1), 2);
	assert_int_equal(replay_count(&r), 0);
	replay_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keeps_the_newest_oldest_first),
		cmocka_unit_test(test_capacity_zero_keeps_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
