/*
 * test_submit_parse.c - the mining.submit fast path: the shapes it takes
 * (ids, extra keys, whitespace, version bits) and the ones it leaves to
 * jansson (escapes, duplicates, other methods, numbers it cannot echo,
 * wrong param counts, trailing bytes).
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "submit_parse.h"

#include <stdio.h>

static bool parse(const char *line, struct submit_fast *f)
{
	return submit_parse_fast(line, strlen(line), f);
}

static void assert_refused(const char *line)
{
	struct submit_fast f;

	if (parse(line, &f))
		fail_msg("fast path accepted %s", line);
}

#define PARAMS5 "[\"bc1qminer.rig\",\"00000000000000a1\",\"0000000000000001\",\"65f1a2b3\"," \
		"\"deadbeef\"]"

static void test_reads_a_typical_submit(void **state)
{
	struct submit_fast f;

	(void)state;
	assert_true(parse("{\"id\":4,\"method\":\"mining.submit\",\"params\":" PARAMS5 "}", &f));
	assert_string_equal(f.idt, "4");
	assert_int_equal(f.params.n, 5);
	assert_string_equal(f.params.v[0], "bc1qminer.rig");
	assert_string_equal(f.params.v[1], "00000000000000a1");
	assert_string_equal(f.params.v[2], "0000000000000001");
	assert_string_equal(f.params.v[3], "65f1a2b3");
	assert_string_equal(f.params.v[4], "deadbeef");
}

static void test_reads_version_bits_keys_in_any_order_and_whitespace(void **state)
{
	struct submit_fast f;

	(void)state;
	assert_true(parse(" {\t\"params\" : [ \"w\" , \"j\", \"n2\", \"t\", \"n\", \"1fffe000\" ] ,"
			  "\"jsonrpc\":\"2.0\", \"method\":\"mining.submit\" ,\"id\": \"abc\" }\r",
			  &f));
	assert_string_equal(f.idt, "\"abc\"");
	assert_int_equal(f.params.n, 6);
	assert_string_equal(f.params.v[5], "1fffe000");
}

static void test_ids_as_the_json_path_echoes_them(void **state)
{
	char line[400], longid[100];
	struct submit_fast f;

	(void)state;
	assert_true(parse("{\"method\":\"mining.submit\",\"params\":" PARAMS5 "}", &f));
	assert_string_equal(f.idt, "null");
	assert_true(parse("{\"id\":null,\"method\":\"mining.submit\",\"params\":" PARAMS5 "}", &f));
	assert_string_equal(f.idt, "null");
	assert_true(parse("{\"id\":-123456789012345678,\"method\":\"mining.submit\",\"params\":"
			  PARAMS5 "}", &f));
	assert_string_equal(f.idt, "-123456789012345678");
	assert_true(parse("{\"id\":0,\"method\":\"mining.submit\",\"params\":" PARAMS5 "}", &f));
	assert_string_equal(f.idt, "0");
	/* a string id of 93 characters is echoed, one of 94 becomes null */
	memset(longid, 'x', 93);
	longid[93] = '\0';
	snprintf(line, sizeof(line), "{\"id\":\"%s\",\"method\":\"mining.submit\",\"params\":"
		 PARAMS5 "}", longid);
	assert_true(parse(line, &f));
	assert_int_equal(strlen(f.idt), 95);
	longid[93] = 'x';
	longid[94] = '\0';
	snprintf(line, sizeof(line), "{\"id\":\"%s\",\"method\":\"mining.submit\",\"params\":"
		 PARAMS5 "}", longid);
	assert_true(parse(line, &f));
	assert_string_equal(f.idt, "null");
}

static void test_leaves_numbers_it_cannot_echo_to_jansson(void **state)
{
	(void)state;
	assert_refused("{\"id\":1234567890123456789,\"method\":\"mining.submit\",\"params\":"
		       PARAMS5 "}");
	assert_refused("{\"id\":1.0,\"method\":\"mining.submit\",\"params\":" PARAMS5 "}");
	assert_refused("{\"id\":1e3,\"method\":\"mining.submit\",\"params\":" PARAMS5 "}");
	assert_refused("{\"id\":-0,\"method\":\"mining.submit\",\"params\":" PARAMS5 "}");
	assert_refused("{\"id\":01,\"method\":\"mining.submit\",\"params\":" PARAMS5 "}");
	assert_refused("{\"id\":true,\"method\":\"mining.submit\",\"params\":" PARAMS5 "}");
	assert_refused("{\"id\":[1],\"method\":\"mining.submit\",\"params\":" PARAMS5 "}");
}

static void test_leaves_escapes_and_non_ascii_to_jansson(void **state)
{
	(void)state;
	assert_refused("{\"id\":1,\"method\":\"mining.submit\",\"params\":[\"a\\\"b\",\"j\","
		       "\"n2\",\"t\",\"n\"]}");
	assert_refused("{\"id\":1,\"method\":\"mining.submit\",\"params\":[\"\xc3\xa9\",\"j\","
		       "\"n2\",\"t\",\"n\"]}");
	assert_refused("{\"id\":1,\"method\":\"mining.s\\u0075bmit\",\"params\":" PARAMS5 "}");
	assert_refused("{\"id\":1,\"method\":\"mining.submit\",\"params\":" PARAMS5
		       ",\"x\":\"tab\there\"}");
}

static void test_refuses_other_shapes(void **state)
{
	(void)state;
	assert_refused("");
	assert_refused("[]");
	assert_refused("{}");
	assert_refused("{\"id\":1,\"method\":\"mining.authorize\",\"params\":[\"a\",\"b\"]}");
	assert_refused("{\"id\":1,\"params\":" PARAMS5 "}");
	assert_refused("{\"id\":1,\"method\":\"mining.submit\"}");
	assert_refused("{\"id\":1,\"method\":\"mining.submit\",\"params\":[]}");
	assert_refused("{\"id\":1,\"method\":\"mining.submit\",\"params\":[\"a\",\"b\",\"c\","
		       "\"d\"]}");
	assert_refused("{\"id\":1,\"method\":\"mining.submit\",\"params\":[\"a\",\"b\",\"c\","
		       "\"d\",\"e\",\"f\",\"g\"]}");
	assert_refused("{\"id\":1,\"method\":\"mining.submit\",\"params\":[\"a\",\"b\",\"c\","
		       "\"d\",5]}");
	assert_refused("{\"id\":1,\"method\":\"mining.submit\",\"params\":" PARAMS5 ",\"n\":3}");
	assert_refused("{\"id\":1,\"method\":\"mining.submit\",\"params\":" PARAMS5 "} x");
	assert_refused("{\"id\":1,\"method\":\"mining.submit\",\"params\":" PARAMS5 "}{}");
	assert_refused("{\"id\":1,\"method\":\"mining.submit\",\"params\":" PARAMS5);
	assert_refused("{\"id\":1,\"method\":\"mining.submit\",\"params\":" PARAMS5 ",}");
	assert_refused("{\"id\":1,\"method\":\"mining.submit\",\"params\":[\"a\",\"b\",\"c\","
		       "\"d\",\"e\",]}");
	assert_refused("{\"id\":1,\"method\":\"mining.submit\",\"params\":[\"a\",\"b\",\"c\","
		       "\"d\",\"e\"}");
}

static void test_refuses_duplicate_keys_jansson_would_resolve(void **state)
{
	(void)state;
	assert_refused("{\"id\":1,\"id\":2,\"method\":\"mining.submit\",\"params\":" PARAMS5 "}");
	assert_refused("{\"id\":1,\"method\":\"mining.submit\",\"method\":\"mining.submit\","
		       "\"params\":" PARAMS5 "}");
	assert_refused("{\"id\":1,\"method\":\"mining.submit\",\"params\":" PARAMS5
		       ",\"params\":" PARAMS5 "}");
}

static void test_refuses_params_longer_than_its_buffer(void **state)
{
	char line[800], big[102], last[105];
	struct submit_fast f;

	(void)state;
	/* 4 x 101 + 103 characters and 5 NULs fill the 512 bytes exactly */
	memset(big, 'a', 101);
	big[101] = '\0';
	memset(last, 'b', 103);
	last[103] = '\0';
	snprintf(line, sizeof(line), "{\"method\":\"mining.submit\",\"params\":[\"%s\",\"%s\","
		 "\"%s\",\"%s\",\"%s\"]}", big, big, big, big, last);
	assert_true(parse(line, &f));
	assert_int_equal(f.text_len, SUBMIT_TEXT_MAX);
	assert_string_equal(f.params.v[4], last);
	last[103] = 'b';
	last[104] = '\0';
	snprintf(line, sizeof(line), "{\"method\":\"mining.submit\",\"params\":[\"%s\",\"%s\","
		 "\"%s\",\"%s\",\"%s\"]}", big, big, big, big, last);
	assert_refused(line);
}

static void test_never_reads_past_len(void **state)
{
	static const char line[] = "{\"id\":7,\"method\":\"mining.submit\",\"params\":" PARAMS5 "}";
	struct submit_fast f;
	char *copy;

	(void)state;
	/* every proper prefix, in its own exact-size allocation (ASan catches overreads) */
	for (size_t n = 0; n < sizeof(line) - 1; n++) {
		copy = malloc(n ? n : 1);
		assert_non_null(copy);
		memcpy(copy, line, n);
		assert_false(submit_parse_fast(copy, n, &f));
		free(copy);
	}
	assert_true(submit_parse_fast(line, sizeof(line) - 1, &f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_a_typical_submit),
		cmocka_unit_test(test_reads_version_bits_keys_in_any_order_and_whitespace),
		cmocka_unit_test(test_ids_as_the_json_path_echoes_them),
		cmocka_unit_test(test_leaves_numbers_it_cannot_echo_to_jansson),
		cmocka_unit_test(test_leaves_escapes_and_non_ascii_to_jansson),
		cmocka_unit_test(test_refuses_other_shapes),
		cmocka_unit_test(test_refuses_duplicate_keys_jansson_would_resolve),
		cmocka_unit_test(test_refuses_params_longer_than_its_buffer),
		cmocka_unit_test(test_never_reads_past_len),
	};

	return cmocka_run_group_tests_name("submit_parse", tests, NULL, NULL);
}
