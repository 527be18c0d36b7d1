/*
 * test_error_streak.c - one log line per distinct error: a streak starts,
 * repeats are only counted, another message changes it (handing back the
 * old one with its count), a success ends it; and the template status
 * built on it (refusals counted, state for /health and /metrics).
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "error_streak.h"
#include "log.h"
#include "template_status.h"

#define SIGNET_RULE_ERROR \
	"rpc getblocktemplate: -8: getblocktemplate must be called with the signet rule set " \
	"(call with {\"rules\": [\"segwit\", \"signet\"]})"

static void test_start_repeat_change_end(void **state)
{
	struct error_streak s = ERROR_STREAK_INIT, ended;

	(void)state;
	assert_int_equal(error_streak_clear(&s, &ended), STREAK_NONE);
	assert_int_equal(error_streak_fail(&s, SIGNET_RULE_ERROR, &ended), STREAK_STARTED);
	for (int i = 0; i < 99; i++)
		assert_int_equal(error_streak_fail(&s, SIGNET_RULE_ERROR, &ended), STREAK_REPEATED);
	assert_true(s.active);
	assert_int_equal(s.count, 100);
	assert_string_equal(s.message, SIGNET_RULE_ERROR);

	assert_int_equal(error_streak_fail(&s, "rpc getblocktemplate: connection refused", &ended),
			 STREAK_CHANGED);
	assert_string_equal(ended.message, SIGNET_RULE_ERROR);
	assert_int_equal(ended.count, 100);
	assert_int_equal(s.count, 1);
	assert_int_equal(error_streak_fail(&s, "rpc getblocktemplate: connection refused", NULL),
			 STREAK_REPEATED);

	assert_int_equal(error_streak_clear(&s, &ended), STREAK_ENDED);
	assert_string_equal(ended.message, "rpc getblocktemplate: connection refused");
	assert_int_equal(ended.count, 2);
	assert_false(s.active);
	assert_string_equal(s.message, "");
	assert_int_equal(s.failures_total, 102);
	assert_int_equal(error_streak_clear(&s, NULL), STREAK_NONE);
	/* After a success the same error is news again. */
	assert_int_equal(error_streak_fail(&s, SIGNET_RULE_ERROR, NULL), STREAK_STARTED);
}

static void test_long_and_null_messages(void **state)
{
	struct error_streak s = ERROR_STREAK_INIT;
	char a[ERROR_STREAK_MESSAGE_MAX * 2], b[ERROR_STREAK_MESSAGE_MAX * 2];

	(void)state;
	memset(a, 'a', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(b));
	b[sizeof(b) - 2] = 'b';     /* differs only beyond what is kept */
	assert_int_equal(error_streak_fail(&s, a, NULL), STREAK_STARTED);
	assert_int_equal(strlen(s.message), ERROR_STREAK_MESSAGE_MAX - 1);
	assert_int_equal(error_streak_fail(&s, b, NULL), STREAK_REPEATED);
	assert_int_equal(error_streak_fail(&s, NULL, NULL), STREAK_CHANGED);
	assert_int_equal(error_streak_fail(&s, "", NULL), STREAK_REPEATED);
}

static void test_template_status_records_refusals(void **state)
{
	struct template_status st;

	(void)state;
	template_status_reset();
	template_status_get(&st);
	assert_false(st.refusing);
	assert_string_equal(st.chain, "");
	assert_int_equal(st.refusals_total, 0);

	template_status_set_chain("signet");
	for (int i = 0; i < 5; i++)
		template_status_refused("127.0.0.1:1", SIGNET_RULE_ERROR);
	template_status_get(&st);
	assert_true(st.refusing);
	assert_string_equal(st.chain, "signet");
	assert_string_equal(st.error, SIGNET_RULE_ERROR);
	assert_int_equal(st.error_repeats, 5);
	assert_int_equal(st.refusals_total, 5);
	assert_true(st.refusing_since_us > 0);

	template_status_served("127.0.0.1:1", "51");
	template_status_get(&st);
	assert_false(st.refusing);
	assert_string_equal(st.error, "");
	assert_int_equal(st.refusing_since_us, 0);
	assert_int_equal(st.refusals_total, 5);
	assert_string_equal(st.signet_challenge, "51");
	template_status_served("127.0.0.1:1", NULL);
	template_status_get(&st);
	assert_string_equal(st.signet_challenge, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_repeat_change_end),
		cmocka_unit_test(test_long_and_null_messages),
		cmocka_unit_test(test_template_status_records_refusals),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests_name("error_streak", tests, NULL, NULL);
}
