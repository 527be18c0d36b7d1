/*
 * test_connection.c - the connection record and the process-wide tables:
 * job slots, extranonce1 exhaustion, per-IP keys (IPv4-mapped, IPv6 /64),
 * the global connection cap and unsent-bytes budget.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "connection.h"
#include "gbt_fixture.h"
#include "jobs.h"
#include "log.h"
#include "workbase.h"

#include <signal.h>
#include <unistd.h>

static struct workbase *fixture_workbase(uint64_t id)
{
	json_t *gbt = fixture_gbt();
	struct workbase *wb = workbase_from_gbt(gbt, NULL, 0);

	json_decref(gbt);
	assert_non_null(wb);
	wb->id = id;
	return wb;
}

/* As many jobs as jobs.c keeps stay submittable. */
static void test_keeps_as_many_jobs_as_the_engine(void **state)
{
	struct conn *c = conn_new(-1, "127.0.0.1", 1);

	(void)state;
	assert_true(CONN_JOB_SLOTS >= 8);
	assert_true(CONN_JOB_SLOTS >= JOBS_KEPT);
	for (uint64_t id = 1; id <= CONN_JOB_SLOTS + 2; id++)
		conn_add_job(c, fixture_workbase(id), 1, malloc(4), 2, 2);
	assert_null(conn_find_job(c, 1));
	assert_null(conn_find_job(c, 2));
	for (uint64_t id = 3; id <= CONN_JOB_SLOTS + 2; id++)
		assert_non_null(conn_find_job(c, id));
	conn_free(c);
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "nonce1_assign did not return: endless search\n";

	if (write(2, msg, sizeof(msg) - 1) < 0)
		(void)0;
	_exit(1);
}

/* A 2-byte extranonce1 has 65,536 values: the next subscribe is refused
 * rather than searching forever under the table's lock. */
static void test_exhausted_nonce1_space_is_refused(void **state)
{
	enum { SPACE = 65536 };
	struct conn **conns = calloc(SPACE + 1, sizeof(*conns));

	(void)state;
	signal(SIGALRM, on_alarm);
	alarm(60);
	for (size_t i = 0; i < SPACE; i++) {
		conns[i] = conn_new(-1, "127.0.0.1", 1);
		assert_true(nonce1_assign(conns[i], 2, NULL));
	}
	conns[SPACE] = conn_new(-1, "127.0.0.1", 1);
	assert_false(nonce1_assign(conns[SPACE], 2, NULL));
	assert_false(conns[SPACE]->nonce1_registered);
	/* One value freed: the next subscribe gets exactly that one. */
	nonce1_release(conns[1234], 2);
	assert_true(nonce1_assign(conns[SPACE], 2, NULL));
	assert_memory_equal(conns[SPACE]->nonce1, conns[1234]->nonce1, 2);
	alarm(0);
	for (size_t i = 0; i <= SPACE; i++) {
		nonce1_release(conns[i], 2);
		conn_free(conns[i]);
	}
	free(conns);
}

static void assert_key(const char *ip, const char *want)
{
	char key[IP_KEY_MAX];

	ip_limit_key(ip, key);
	assert_string_equal(key, want);
}

static void test_ip_keys(void **state)
{
	(void)state;
	assert_key("192.0.2.7", "192.0.2.7");
	assert_key("::ffff:192.0.2.7", "192.0.2.7");
	assert_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64");
	assert_key("2001:db8:1:2::1", "2001:db8:1:2::/64");
	assert_key("2001:db8:1:3::1", "2001:db8:1:3::/64");
	assert_key("::1", "::/64");
	assert_key("not-an-address", "not-an-address");
}

/* One IPv6 subscriber rotating through its /64, or one IPv4 host seen
 * through a dual-stack listener, is still one address for the limit. */
static void test_per_ip_limit_uses_the_keys(void **state)
{
	(void)state;
	assert_true(ip_connection_admit("2001:db8:5:6::1", 2));
	assert_true(ip_connection_admit("2001:db8:5:6::2", 2));
	assert_false(ip_connection_admit("2001:db8:5:6:ffff::3", 2));
	assert_true(ip_connection_admit("2001:db8:5:7::1", 2));
	ip_connection_release("2001:db8:5:6::1");
	assert_true(ip_connection_admit("2001:db8:5:6::99", 2));

	assert_true(ip_connection_admit("198.51.100.1", 2));
	assert_true(ip_connection_admit("::ffff:198.51.100.1", 2));
	assert_false(ip_connection_admit("198.51.100.1", 2));
	ip_connection_release("::ffff:198.51.100.1");
	assert_true(ip_connection_admit("198.51.100.1", 2));

	ip_connection_release("2001:db8:5:6::2");
	ip_connection_release("2001:db8:5:6::99");
	ip_connection_release("2001:db8:5:7::1");
	ip_connection_release("198.51.100.1");
	ip_connection_release("198.51.100.1");
}

static void test_global_budgets(void **state)
{
	(void)state;
	assert_int_equal(conn_global_count(), 0);
	assert_true(conn_global_admit(2));
	assert_true(conn_global_admit(2));
	assert_false(conn_global_admit(2));
	assert_true(conn_global_admit(0));
	conn_global_release();
	conn_global_release();
	conn_global_release();
	assert_int_equal(conn_global_count(), 0);

	assert_true(pending_budget_take(600, 1000));
	assert_false(pending_budget_take(401, 1000));
	assert_true(pending_budget_take(400, 1000));
	assert_false(pending_budget_take(1, 1000));
	assert_true(pending_budget_take(SIZE_MAX / 2, 0));
	pending_budget_give(SIZE_MAX / 2);
	pending_budget_give(1000);
	assert_int_equal(pending_budget_used(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keeps_as_many_jobs_as_the_engine),
		cmocka_unit_test(test_exhausted_nonce1_space_is_refused),
		cmocka_unit_test(test_ip_keys),
		cmocka_unit_test(test_per_ip_limit_uses_the_keys),
		cmocka_unit_test(test_global_budgets),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
