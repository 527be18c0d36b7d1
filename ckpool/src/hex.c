/*
 * hex.c - hexadecimal encoding/decoding and byte-order reversal.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "hex.h"
#include "bytes.h"

#include <string.h>

static const char digits[] = "0123456789abcdef";

void hex_encode(const void *data, size_t len, char *out)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

void hex_encode_reversed(const void *data, size_t len, char *out)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++) {
		uint8_t b = p[len - 1 - i];

		out[2 * i] = digits[b >> 4];
		out[2 * i + 1] = digits[b & 0x0f];
	}
	out[2 * len] = '\0';
}

char *hex_encode_alloc(const void *data, size_t len)
{
	char *out = alloc_or_abort(2 * len + 1);

	hex_encode(data, len, out);
	return out;
}

int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool hex_is_valid(const char *hex, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (hex_digit_value(hex[i]) < 0)
			return false;
	}
	return true;
}

static int decode_pairs(const char *hex, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi = hex_digit_value(hex[2 * i]);
		int lo = hi < 0 ? -1 : hex_digit_value(hex[2 * i + 1]);

		if (lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int hex_decode_exact(const char *hex, uint8_t *out, size_t len)
{
	if (!hex || strnlen(hex, 2 * len + 1) != 2 * len)
		return -1;
	return decode_pairs(hex, out, len);
}

long hex_decode(const char *hex, uint8_t *out, size_t cap)
{
	size_t n;

	if (!hex)
		return -1;
	n = strnlen(hex, 2 * cap + 1);
	if (n % 2 || n > 2 * cap)
		return -1;
	if (decode_pairs(hex, out, n / 2) < 0)
		return -1;
	return (long)(n / 2);
}

void reverse_bytes(void *data, size_t len)
{
	uint8_t *p = data;

	for (size_t i = 0; i < len / 2; i++) {
		uint8_t t = p[i];

		p[i] = p[len - 1 - i];
		p[len - 1 - i] = t;
	}
}

int hex_decode_hash_reversed(const char *hex, uint8_t out[32])
{
	if (hex_decode_exact(hex, out, 32) < 0)
		return -1;
	reverse_bytes(out, 32);
	return 0;
}
