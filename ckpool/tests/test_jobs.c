/*
 * test_jobs.c - the published-job ring's listener: replacing it waits for
 * a call in progress, so its owner can then free what the call uses.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "gbt_fixture.h"
#include "jobs.h"
#include "util.h"
#include "workbase.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static atomic_int entered, cleared, violations;

/* Runs in the publishing thread: while it runs, jobs_set_listener(NULL)
 * must not have returned. It stays a while to give a racing clear the
 * chance to return early (there is no event to wait for: the point is
 * that nothing happens). */
static void slow_listener(void)
{
	atomic_store(&entered, 1);
	for (int i = 0; i < 100; i++) {
		if (atomic_load(&cleared))
			atomic_fetch_add(&violations, 1);
		usleep(2000);
	}
}

static void *publisher(void *arg)
{
	json_t *gbt = fixture_gbt();
	struct workbase *wb = workbase_from_gbt(gbt, NULL, 0);

	(void)arg;
	json_decref(gbt);
	wb->id = 1;
	jobs_publish(wb);
	return NULL;
}

static void test_clearing_the_listener_waits_for_a_running_call(void **state)
{
	pthread_t t;
	double until = now_monotonic() + 30;   /* bounded: a broken publisher fails, not hangs */

	(void)state;
	jobs_set_listener(slow_listener);
	assert_int_equal(pthread_create(&t, NULL, publisher, NULL), 0);
	while (!atomic_load(&entered) && now_monotonic() < until)
		usleep(100);
	assert_true(atomic_load(&entered));
	jobs_set_listener(NULL);
	atomic_store(&cleared, 1);
	pthread_join(t, NULL);
	assert_int_equal(atomic_load(&violations), 0);
	jobs_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clearing_the_listener_waits_for_a_running_call),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
