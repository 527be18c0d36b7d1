/*
 * test_config_errors.c - a refused config gives one printable line: jansson
 * quotes the offending bytes in its error text, and a newline or other control
 * byte among them must not split or garble the engine's log line
 * (fuzz_config found an escaped newline that did).
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "config.h"

#include <stdio.h>
#include <unistd.h>

/* Loads `size` bytes as a config file; returns config_load's result, its message in err. */
static int load_bytes(const char *bytes, size_t size, char *err, size_t errlen)
{
	char path[] = "/tmp/test_config_errors_XXXXXX";
	struct config cfg;
	int fd = mkstemp(path), rc;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, size), (ssize_t)size);
	close(fd);
	rc = config_load(path, &cfg, err, errlen);
	unlink(path);
	if (rc == 0)
		config_free(&cfg);
	return rc;
}

static void assert_one_printable_line(const char *err)
{
	assert_true(strncmp(err, "config: ", 8) == 0);
	for (const char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fail_msg("control byte 0x%02x at %zu in: %s", (unsigned char)*p,
				 (size_t)(p - err), err);
}

static void test_an_escaped_newline_is_reported_on_one_line(void **state)
{
	static const char text[] = "{\n  \"region\": \"eu\\\n  \"x\": 1\n}\n";
	char err[512] = "";

	(void)state;
	assert_int_equal(load_bytes(text, sizeof(text) - 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is not valid JSON (line "));
	assert_one_printable_line(err);
}

static void test_control_bytes_in_a_value_are_reported_printably(void **state)
{
	static const char text[] = "{\"region\": \"e\tu\x01\x7f\"}";
	char err[512] = "";

	(void)state;
	assert_int_equal(load_bytes(text, sizeof(text) - 1, err, sizeof(err)), -1);
	assert_one_printable_line(err);
}

static void test_the_fuzzer_input_is_reported_on_one_line(void **state)
{
	/* The input fuzz_config found (its NUL bytes included). */
	static const char text[] =
		"{\n  \"region\": \"-s-ea{tffffffrelayoughus:38333\",\": \\\n    {\n"
		"  \"url\": \"bielay-us:38333\",\n \"fy\": true\n    }\n  ],\n"
		"  \"zmqbary\"\0\0\0\0    \"hold\": 1\n  }\n}\n";
	char err[512] = "";

	(void)state;
	assert_int_equal(load_bytes(text, sizeof(text) - 1, err, sizeof(err)), -1);
	assert_one_printable_line(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_an_escaped_newline_is_reported_on_one_line),
		cmocka_unit_test(test_control_bytes_in_a_value_are_reported_printably),
		cmocka_unit_test(test_the_fuzzer_input_is_reported_on_one_line),
	};

	return cmocka_run_group_tests_name("config_errors", tests, NULL, NULL);
}
