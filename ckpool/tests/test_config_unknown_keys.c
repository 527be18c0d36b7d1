/*
 * test_config_unknown_keys.c - config_load collects keys it does not know
 * (for the engine to log), the empty key included, and frees them with
 * config_free (fuzz_config found the empty key's string leaked).
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "config.h"

#include <stdio.h>
#include <unistd.h>

static void load_text(const char *text, struct config *cfg)
{
	char path[] = "/tmp/test_config_XXXXXX", err[256] = "";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	if (config_load(path, cfg, err, sizeof(err)))
		fail_msg("config refused: %s", err);
	unlink(path);
}

static void test_unknown_keys_are_collected_with_their_section(void **state)
{
	static struct config cfg;

	(void)state;
	load_text("{\"btcd\":[{\"url\":\"127.0.0.1:18443\",\"auth\":\"u\",\"pass\":\"p\","
		  "\"colour\":1}],\"shoe_size\":44}", &cfg);
	assert_non_null(cfg.unknown_keys[0]);
	assert_non_null(cfg.unknown_keys[1]);
	assert_null(cfg.unknown_keys[2]);
	assert_true(!strcmp(cfg.unknown_keys[0], "shoe_size")
		    || !strcmp(cfg.unknown_keys[1], "shoe_size"));
	config_free(&cfg);
	assert_null(cfg.unknown_keys[0]);
}

static void test_an_empty_key_is_unknown_and_freed(void **state)
{
	static struct config cfg;

	(void)state;
	load_text("{\"btcd\":[{\"url\":\"127.0.0.1:18443\",\"auth\":\"u\",\"pass\":\"p\"}],"
		  "\"\":30}", &cfg);
	assert_non_null(cfg.unknown_keys[0]);
	assert_string_equal(cfg.unknown_keys[0], "");
	assert_null(cfg.unknown_keys[1]);
	config_free(&cfg);       /* under make test-asan, LeakSanitizer checks nothing is left */
	assert_null(cfg.unknown_keys[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_keys_are_collected_with_their_section),
		cmocka_unit_test(test_an_empty_key_is_unknown_and_freed),
	};

	return cmocka_run_group_tests_name("config_unknown_keys", tests, NULL, NULL);
}
