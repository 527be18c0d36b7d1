/*
 * test_stratum_reply.c - the lines the engine writes to miners, byte for
 * byte: results, errors (escaping and cutting miner-quoted text), request
 * ids, the subscribe result, set_difficulty and mining.notify, and what
 * each formatter does with a buffer too small for its line.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "stratum_reply.h"
#include "workbase.h"

#include <stdio.h>

static const char *id_text(json_t *id)
{
	static char out[STRATUM_ID_TEXT_MAX];

	stratum_id_text(id, out);
	json_decref(id);
	return out;
}

static void test_echoes_numbers_and_plain_strings_as_ids(void **state)
{
	char long_id[STRATUM_ID_TEXT_MAX];

	(void)state;
	assert_string_equal(id_text(json_integer(7)), "7");
	assert_string_equal(id_text(json_integer(-12345678901234LL)), "-12345678901234");
	assert_string_equal(id_text(json_string("abc-1")), "\"abc-1\"");
	assert_string_equal(id_text(json_real(2.5)), "2.5");
	assert_string_equal(id_text(json_real(0.1)), "0.10000000000000001");
	memset(long_id, 'x', STRATUM_ID_TEXT_MAX - 3);
	long_id[STRATUM_ID_TEXT_MAX - 3] = '\0';
	assert_int_equal(strlen(id_text(json_string(long_id))), STRATUM_ID_TEXT_MAX - 1);
}

static void test_answers_other_ids_with_null(void **state)
{
	char long_id[STRATUM_ID_TEXT_MAX];

	(void)state;
	assert_string_equal(id_text(NULL), "null");
	assert_string_equal(id_text(json_null()), "null");
	assert_string_equal(id_text(json_true()), "null");
	assert_string_equal(id_text(json_object()), "null");
	assert_string_equal(id_text(json_string("say \"hi\"")), "null");
	assert_string_equal(id_text(json_string("back\\slash")), "null");
	assert_string_equal(id_text(json_string("tab\there")), "null");
	assert_string_equal(id_text(json_string("caf\xc3\xa9")), "null");
	memset(long_id, 'x', STRATUM_ID_TEXT_MAX - 2);
	long_id[STRATUM_ID_TEXT_MAX - 2] = '\0';
	assert_string_equal(id_text(json_string(long_id)), "null");
}

static void test_plain_text_has_a_length_limit(void **state)
{
	(void)state;
	assert_true(stratum_is_plain_text("", 0));
	assert_true(stratum_is_plain_text("abc", 3));
	assert_false(stratum_is_plain_text("abcd", 3));
	assert_false(stratum_is_plain_text("a\x7f", 8));
}

static void test_formats_a_result(void **state)
{
	char line[128];
	const char *want = "{\"id\":4,\"result\":true,\"error\":null}\n";

	(void)state;
	assert_int_equal(stratum_format_result(line, sizeof(line), "4", "true"), strlen(want));
	assert_string_equal(line, want);
	assert_int_equal(stratum_format_result(line, sizeof(line), "\"a\"", "{\"x\":[1,2]}"),
			 strlen("{\"id\":\"a\",\"result\":{\"x\":[1,2]},\"error\":null}\n"));
	assert_string_equal(line, "{\"id\":\"a\",\"result\":{\"x\":[1,2]},\"error\":null}\n");
}

static void test_result_reports_the_size_it_needs(void **state)
{
	const char *want = "{\"id\":null,\"result\":false,\"error\":null}\n";
	size_t n = strlen(want);
	char line[64];

	(void)state;
	memset(line, '#', sizeof(line));
	/* no room for the NUL: nothing written, the full length returned */
	assert_int_equal(stratum_format_result(line, n, "null", "false"), n);
	assert_int_equal(line[0], '#');
	assert_int_equal(stratum_format_result(line, n + 1, "null", "false"), n);
	assert_string_equal(line, want);
}

static void test_formats_errors_with_their_result(void **state)
{
	char line[STRATUM_LINE_MAX];
	const char *want = "{\"id\":9,\"result\":null,\"error\":[21,\"Stale job\",null]}\n";
	const char *refused = "{\"id\":\"x\",\"result\":false,\"error\":[24,\"no\",null]}\n";

	(void)state;
	assert_int_equal(stratum_format_error(line, sizeof(line), "9", "null", STRATUM_ERR_JOB,
					      "Stale job"), strlen(want));
	assert_string_equal(line, want);
	stratum_format_error(line, sizeof(line), "\"x\"", "false", STRATUM_ERR_UNAUTHORIZED, "no");
	assert_string_equal(line, refused);
}

static void test_error_messages_are_escaped_and_stripped(void **state)
{
	char line[STRATUM_LINE_MAX];
	json_t *parsed;

	(void)state;
	stratum_format_error(line, sizeof(line), "1", "null", STRATUM_ERR_OTHER,
			     "bad 'a\"b\\c'\n\t\x01 caf\xc3\xa9!");
	assert_string_equal(line, "{\"id\":1,\"result\":null,\"error\":[20,\"bad 'a\\\"b\\\\c' caf!\","
				  "null]}\n");
	parsed = json_loads(line, 0, NULL);
	assert_non_null(parsed);
	json_decref(parsed);
}

/* The message text between the error's first quotes. */
static size_t message_length(const char *line)
{
	const char *start = strstr(line, "[20,\"") + 5, *end = strstr(line, "\",null]}\n");

	assert_non_null(end);
	return (size_t)(end - start);
}

static void test_long_messages_are_cut_between_escapes(void **state)
{
	char msg[1000], line[STRATUM_LINE_MAX];
	json_t *parsed;

	(void)state;
	memset(msg, 'a', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	stratum_format_error(line, sizeof(line), "1", "null", STRATUM_ERR_OTHER, msg);
	assert_true(message_length(line) < STRATUM_MESSAGE_MAX);
	assert_true(message_length(line) >= STRATUM_MESSAGE_MAX - 3);
	memset(msg, '"', sizeof(msg) - 1);
	stratum_format_error(line, sizeof(line), "1", "null", STRATUM_ERR_OTHER, msg);
	assert_true(message_length(line) < STRATUM_MESSAGE_MAX);
	assert_int_equal(message_length(line) % 2, 0);
	parsed = json_loads(line, 0, NULL);
	assert_non_null(parsed);
	assert_int_equal(strlen(json_string_value(json_array_get(json_object_get(parsed, "error"),
								 1))),
			 message_length(line) / 2);
	json_decref(parsed);
}

static void test_longest_error_fits_a_line(void **state)
{
	char msg[1000], idt[STRATUM_ID_TEXT_MAX], line[STRATUM_LINE_MAX];

	(void)state;
	memset(msg, '\\', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	memset(idt, '9', sizeof(idt) - 1);
	idt[sizeof(idt) - 1] = '\0';
	assert_true(stratum_format_error(line, sizeof(line), idt, "false", -2147483647 - 1, msg)
		    < sizeof(line));
}

static void test_formats_the_subscribe_result(void **state)
{
	char line[STRATUM_LINE_MAX];
	const char *want = "{\"id\":1,\"result\":[[[\"mining.set_difficulty\",\"0a0b0c0d\"],"
			   "[\"mining.notify\",\"0a0b0c0d\"]],\"0a0b0c0d\",8],\"error\":null}\n";

	(void)state;
	assert_int_equal(stratum_format_subscribe(line, sizeof(line), "1", "0a0b0c0d", 8),
			 strlen(want));
	assert_string_equal(line, want);
}

static void test_formats_set_difficulty(void **state)
{
	char line[STRATUM_LINE_MAX];

	(void)state;
	stratum_format_set_difficulty(line, sizeof(line), 0.001);
	assert_string_equal(line, "{\"id\":null,\"method\":\"mining.set_difficulty\","
				  "\"params\":[0.001]}\n");
	stratum_format_set_difficulty(line, sizeof(line), 65536);
	assert_string_equal(line, "{\"id\":null,\"method\":\"mining.set_difficulty\","
				  "\"params\":[65536]}\n");
	stratum_format_set_difficulty(line, sizeof(line), 1.0 / 3.0);
	assert_string_equal(line, "{\"id\":null,\"method\":\"mining.set_difficulty\","
				  "\"params\":[0.333333333333333]}\n");
}

#define PREVHASH_STRATUM "03020100070605040b0a09080f0e0d0c13121110171615141b1a19181f1e1d1c"

/* A workbase with only what a notify reads: prevhash bytes 00..1f. */
static void fill_workbase(struct workbase *wb, uint8_t (*branch)[32], size_t branch_len)
{
	memset(wb, 0, sizeof(*wb));
	wb->id = 0xa1;
	for (int i = 0; i < 32; i++)
		wb->prevhash[i] = (uint8_t)i;
	wb->version = 0x20000000;
	wb->bits = 0x1d00ffff;
	wb->curtime = 0x65f1a2b3;
	wb->branch = branch;
	wb->branch_len = branch_len;
}

static void test_formats_notify_with_a_branch(void **state)
{
	static const uint8_t coinbase[] = { 0x01, 0x02, 0x03 };
	uint8_t branch[2][32];
	struct workbase wb;
	char line[1024];
	const char *want = "{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"00000000000000a1\",\""
			   PREVHASH_STRATUM "\",\"0102\",\"03\",[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
			   "bbbbbbbbbbbbbbbbbbbbbbbbb\"],\"20000000\",\"1d00ffff\",\"65f1a2b3\",true]}\n";

	(void)state;
	memset(branch[0], 0xaa, 32);
	memset(branch[1], 0xbb, 32);
	fill_workbase(&wb, branch, 2);
	assert_int_equal(stratum_format_notify(line, sizeof(line), &wb, coinbase, 2, 1, true),
			 strlen(want));
	assert_string_equal(line, want);
}

static void test_formats_notify_without_a_branch(void **state)
{
	static const uint8_t coinbase[] = { 0xff, 0x00 };
	struct workbase wb;
	char line[1024];

	(void)state;
	fill_workbase(&wb, NULL, 0);
	wb.version = (int32_t)0xe0000000u;
	stratum_format_notify(line, sizeof(line), &wb, coinbase, 1, 1, false);
	assert_string_equal(line, "{\"id\":null,\"method\":\"mining.notify\",\"params\":["
				  "\"00000000000000a1\",\"" PREVHASH_STRATUM "\",\"ff\",\"00\",[],"
				  "\"e0000000\",\"1d00ffff\",\"65f1a2b3\",false]}\n");
}

static void test_notify_needs_its_whole_size(void **state)
{
	static const uint8_t coinbase[64] = { 0 };
	uint8_t branch[12][32] = { { 0 } };
	struct workbase wb;
	size_t need, n;
	char *line;

	(void)state;
	fill_workbase(&wb, branch, 12);
	need = stratum_notify_size(&wb, 40, 24);
	line = malloc(need);
	assert_non_null(line);
	memset(line, '#', need);
	assert_int_equal(stratum_format_notify(line, need - 1, &wb, coinbase, 40, 24, true), need);
	assert_int_equal(line[0], '#');
	n = stratum_format_notify(line, need, &wb, coinbase, 40, 24, true);
	assert_true(n < need);
	assert_int_equal(strlen(line), n);
	assert_int_equal(line[n - 1], '\n');
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echoes_numbers_and_plain_strings_as_ids),
		cmocka_unit_test(test_answers_other_ids_with_null),
		cmocka_unit_test(test_plain_text_has_a_length_limit),
		cmocka_unit_test(test_formats_a_result),
		cmocka_unit_test(test_result_reports_the_size_it_needs),
		cmocka_unit_test(test_formats_errors_with_their_result),
		cmocka_unit_test(test_error_messages_are_escaped_and_stripped),
		cmocka_unit_test(test_long_messages_are_cut_between_escapes),
		cmocka_unit_test(test_longest_error_fits_a_line),
		cmocka_unit_test(test_formats_the_subscribe_result),
		cmocka_unit_test(test_formats_set_difficulty),
		cmocka_unit_test(test_formats_notify_with_a_branch),
		cmocka_unit_test(test_formats_notify_without_a_branch),
		cmocka_unit_test(test_notify_needs_its_whole_size),
	};

	return cmocka_run_group_tests_name("stratum_reply", tests, NULL, NULL);
}
