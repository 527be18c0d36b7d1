/*
 * difficulty.c - compact bits -> target, targets and hashes -> difficulty.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "difficulty.h"

#include <math.h>
#include <string.h>

int target_from_bits(uint32_t bits, uint8_t target[32])
{
	unsigned exponent = bits >> 24;
	uint32_t mantissa = bits & 0x007fffff;

	memset(target, 0, 32);
	if (bits & 0x00800000 || !mantissa)
		return -1;
	/* target = mantissa * 256^(exponent - 3): mantissa byte k (k = 0
	 * least significant) weighs 256^(k + exponent - 3), which is
	 * big-endian index 34 - exponent - k. Bytes below index 31 are
	 * shifted out; bytes above index 0 overflow. */
	for (int k = 0; k < 3; k++) {
		uint8_t byte = (uint8_t)(mantissa >> (8 * k));
		int pos = 34 - (int)exponent - k;

		if (!byte)
			continue;
		if (pos < 0)
			return -1;    /* overflows 256 bits */
		if (pos <= 31)
			target[pos] = byte;
	}
	for (int i = 0; i < 32; i++) {
		if (target[i])
			return 0;
	}
	return -1;              /* shifted out entirely */
}

/* diff1 = 0xffff * 2^208 */
static long double diff1(void)
{
	return ldexpl(65535.0L, 208);
}

/* Reads 32 bytes, most significant first, as a long double. */
static long double big_endian_value(const uint8_t *be)
{
	long double v = 0;

	for (int i = 0; i < 32; i++)
		v = v * 256.0L + be[i];
	return v;
}

double diff_from_target(const uint8_t target[32])
{
	long double v = big_endian_value(target);

	return v > 0 ? (double)(diff1() / v) : HUGE_VAL;
}

double diff_from_hash(const uint8_t hash[32])
{
	uint8_t be[32];

	for (int i = 0; i < 32; i++)
		be[i] = hash[31 - i];
	return diff_from_target(be);
}

double diff_from_bits(uint32_t bits)
{
	uint8_t target[32];

	if (target_from_bits(bits, target) < 0)
		return 0;
	return diff_from_target(target);
}

bool hash_meets_target(const uint8_t hash[32], const uint8_t target[32])
{
	for (int i = 0; i < 32; i++) {
		uint8_t h = hash[31 - i];

		if (h != target[i])
			return h < target[i];
	}
	return true;
}
