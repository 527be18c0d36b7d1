/*
 * test_gbt_request.c - the getblocktemplate rules per chain: "segwit"
 * everywhere, "signet" added on signet only, and the params array the
 * generator sends.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "gbt_request.h"

#include <jansson.h>

static void assert_rules(const char *chain, const char *expected_json)
{
	json_t *params = gbt_request_params(chain);
	char *text = json_dumps(params, JSON_COMPACT);

	assert_string_equal(text, expected_json);
	free(text);
	json_decref(params);
}

static void test_rules_per_chain(void **state)
{
	const char *rules[GBT_MAX_RULES];

	(void)state;
	assert_int_equal(gbt_rules_for_chain("signet", rules), 2);
	assert_string_equal(rules[0], "segwit");
	assert_string_equal(rules[1], "signet");
	static const char *const segwit_only[] = { "main", "test", "testnet4", "regtest", "", NULL };
	for (size_t i = 0; segwit_only[i]; i++) {
		assert_int_equal(gbt_rules_for_chain(segwit_only[i], rules), 1);
		assert_string_equal(rules[0], "segwit");
	}
	/* Before the node said which chain it is on: the rule every chain needs. */
	assert_int_equal(gbt_rules_for_chain(NULL, rules), 1);
	/* Chain names are exact, as getblockchaininfo reports them. */
	assert_int_equal(gbt_rules_for_chain("Signet", rules), 1);
}

static void test_request_params(void **state)
{
	(void)state;
	assert_rules("signet", "[{\"rules\":[\"segwit\",\"signet\"]}]");
	assert_rules("regtest", "[{\"rules\":[\"segwit\"]}]");
	assert_rules("main", "[{\"rules\":[\"segwit\"]}]");
	assert_rules(NULL, "[{\"rules\":[\"segwit\"]}]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_per_chain),
		cmocka_unit_test(test_request_params),
	};

	return cmocka_run_group_tests_name("gbt_request", tests, NULL, NULL);
}
