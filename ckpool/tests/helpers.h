/*
 * helpers.h - small assertions shared by the unit tests.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#ifndef CKPOOL_TEST_HELPERS_H
#define CKPOOL_TEST_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hex.h"

/* Decodes a hex literal the test trusts. */
static inline void from_hex(const char *hex, uint8_t *out, size_t len)
{
	assert_int_equal(hex_decode_exact(hex, out, len), 0);
}

/* Decodes a display-order hash literal into internal order. */
static inline void from_hex_reversed(const char *hex, uint8_t out[32])
{
	assert_int_equal(hex_decode_hash_reversed(hex, out), 0);
}

static inline void assert_bytes_hex(const uint8_t *data, size_t len, const char *hex)
{
	char *s = hex_encode_alloc(data, len);

	assert_string_equal(s, hex);
	free(s);
}

static inline void assert_hash_display(const uint8_t hash[32], const char *hex)
{
	char s[65];

	hex_encode_reversed(hash, 32, s);
	assert_string_equal(s, hex);
}

#endif
