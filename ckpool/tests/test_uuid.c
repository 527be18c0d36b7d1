/*
 * test_uuid.c - UUIDv7 layout, text form, monotonicity (also when the clock
 * steps back or the counter overflows) and random v4 ids.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "uuid.h"

#include <ctype.h>

static void assert_uuid_text(const char *s, char version)
{
	assert_int_equal(strlen(s), 36);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(s[i], '-');
		else
			assert_true(isxdigit((unsigned char)s[i]) && !isupper((unsigned char)s[i]));
	}
	assert_int_equal(s[14], version);
	assert_non_null(strchr("89ab", s[19]));
}

static void test_format_matches_rfc_example(void **state)
{
	/* The UUIDv7 example of RFC 9562, appendix A.6. */
	uint8_t u[16];
	char s[UUID_STR_LEN];

	(void)state;
	from_hex("017f22e279b07cc398c4dc0c0c07398f", u, 16);
	uuid_format(u, s);
	assert_string_equal(s, "017f22e2-79b0-7cc3-98c4-dc0c0c07398f");
	assert_int_equal(uuid_v7_millis(u), 0x017f22e279b0ULL);
}

static void test_v7_layout_and_timestamp(void **state)
{
	uint8_t u[16];
	char s[UUID_STR_LEN];

	(void)state;
	uuid_v7_at(0x017f22e279b0ULL, u);
	uuid_format(u, s);
	assert_uuid_text(s, '7');
	assert_int_equal(strncmp(s, "017f22e2-79b0-7", 15), 0);
	assert_int_equal(uuid_v7_millis(u), 0x017f22e279b0ULL);
	assert_int_equal(u[6] >> 4, 7);
	assert_int_equal(u[8] >> 6, 2);
}

static void test_v7_now_is_strictly_increasing(void **state)
{
	uint8_t prev[16], cur[16];
	char s[UUID_STR_LEN];

	(void)state;
	uuid_v7_now(prev);
	for (int i = 0; i < 100000; i++) {
		uuid_v7_now(cur);
		assert_true(memcmp(cur, prev, 16) > 0);
		memcpy(prev, cur, 16);
	}
	uuid_format(cur, s);
	assert_uuid_text(s, '7');
}

static void test_v7_survives_clock_going_back(void **state)
{
	struct uuid_v7_state st = { 0 };
	uint8_t a[16], b[16], c[16];

	(void)state;
	uuid_v7_next(&st, 1000000, a);
	uuid_v7_next(&st, 999000, b);
	uuid_v7_next(&st, 1000000, c);
	assert_true(memcmp(b, a, 16) > 0);
	assert_true(memcmp(c, b, 16) > 0);
	assert_int_equal(uuid_v7_millis(b), 1000000);
	assert_int_equal(uuid_v7_millis(c), 1000000);
}

static void test_v7_counter_overflow_moves_the_clock(void **state)
{
	struct uuid_v7_state st = { .last_ms = 5, .rand_a = 0x0fff,
				    .rand_b = (UINT64_C(1) << 62) - 1, .started = 1 };
	uint8_t u[16];
	char s[UUID_STR_LEN];

	(void)state;
	uuid_v7_next(&st, 5, u);
	assert_int_equal(uuid_v7_millis(u), 6);
	uuid_format(u, s);
	assert_uuid_text(s, '7');
	assert_string_equal(s, "00000000-0006-7000-8000-000000000000");
}

static void test_v4_is_random_with_version_and_variant(void **state)
{
	uint8_t a[16], b[16];
	char s[UUID_STR_LEN];

	(void)state;
	uuid_v4(a);
	uuid_v4(b);
	assert_memory_not_equal(a, b, 16);
	uuid_format(a, s);
	assert_uuid_text(s, '4');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_matches_rfc_example),
		cmocka_unit_test(test_v7_layout_and_timestamp),
		cmocka_unit_test(test_v7_now_is_strictly_increasing),
		cmocka_unit_test(test_v7_survives_clock_going_back),
		cmocka_unit_test(test_v7_counter_overflow_moves_the_clock),
		cmocka_unit_test(test_v4_is_random_with_version_and_variant),
	};

	return cmocka_run_group_tests_name("uuid", tests, NULL, NULL);
}
