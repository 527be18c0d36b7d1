/*
 * test_bytes.c - hex codec, byte buffer, varints, script pushes, BIP34
 * height encoding and the bounded reader.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "bytes.h"
#include "hex.h"

static void test_hex_round_trip(void **state)
{
	const uint8_t data[] = { 0x00, 0x01, 0xab, 0xff };
	uint8_t out[4];
	char hex[9];

	(void)state;
	hex_encode(data, 4, hex);
	assert_string_equal(hex, "0001abff");
	hex_encode_reversed(data, 4, hex);
	assert_string_equal(hex, "ffab0100");
	assert_int_equal(hex_decode_exact("0001ABff", out, 4), 0);
	assert_memory_equal(out, data, 4);
}

static void test_hex_rejects_bad_input(void **state)
{
	uint8_t out[4];

	(void)state;
	assert_int_equal(hex_decode_exact("0001ab", out, 4), -1);      /* short */
	assert_int_equal(hex_decode_exact("0001abff00", out, 4), -1);  /* long */
	assert_int_equal(hex_decode_exact("0001abfg", out, 4), -1);    /* not hex */
	assert_int_equal(hex_decode_exact(NULL, out, 4), -1);
	assert_int_equal(hex_decode("abc", out, 4), -1);               /* odd */
	assert_int_equal(hex_decode("0011223344", out, 4), -1);        /* over capacity */
	assert_int_equal(hex_decode("00112233", out, 4), 4);
	assert_int_equal(hex_decode("", out, 4), 0);
	assert_int_equal(hex_decode("zz", out, 4), -1);
}

static void test_reverse_bytes(void **state)
{
	uint8_t odd[3] = { 1, 2, 3 }, even[4] = { 1, 2, 3, 4 };

	(void)state;
	reverse_bytes(odd, 3);
	reverse_bytes(even, 4);
	assert_bytes_hex(odd, 3, "030201");
	assert_bytes_hex(even, 4, "04030201");
}

static void test_buf_appends_little_endian_and_varints(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	buf_append_u32le(&b, 0x01020304);
	buf_append_u64le(&b, 0x1122334455667788ULL);
	buf_append_varint(&b, 0xfc);
	buf_append_varint(&b, 0xfd);
	buf_append_varint(&b, 0x10000);
	buf_append_varint(&b, 0x100000000ULL);
	assert_bytes_hex(b.data, b.len,
			 "04030201" "8877665544332211" "fc" "fdfd00" "fe00000100" "ff0000000001000000");
	assert_int_equal(varint_size(0xfc), 1);
	assert_int_equal(varint_size(0xffff), 3);
	assert_int_equal(varint_size(0xffffffff), 5);
	assert_int_equal(varint_size(0x100000000ULL), 9);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void test_buf_grows_past_initial_capacity(void **state)
{
	struct buf b = BUF_INIT;
	uint8_t chunk[100];

	(void)state;
	memset(chunk, 7, sizeof(chunk));
	for (int i = 0; i < 1000; i++)
		buf_append(&b, chunk, sizeof(chunk));
	assert_int_equal(b.len, 100000);
	assert_true(b.cap >= b.len);
	assert_int_equal(b.data[99999], 7);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void test_script_pushes_pick_the_smallest_opcode(void **state)
{
	uint8_t data[300];
	struct buf b = BUF_INIT;

	(void)state;
	memset(data, 0xaa, sizeof(data));
	buf_append_push(&b, data, 1);
	assert_bytes_hex(b.data, b.len, "01aa");
	buf_reset(&b);
	buf_append_push(&b, data, 75);
	assert_int_equal(b.len, 76);
	assert_int_equal(b.data[0], 75);
	buf_reset(&b);
	buf_append_push(&b, data, 76);
	assert_int_equal(b.len, 78);
	assert_int_equal(b.data[0], OP_PUSHDATA1);
	assert_int_equal(b.data[1], 76);
	buf_reset(&b);
	buf_append_push(&b, data, 300);
	assert_int_equal(b.len, 303);
	assert_bytes_hex(b.data, 3, "4d2c01");
	buf_free(&b);
}

static void assert_height(int64_t height, const char *hex)
{
	struct buf b = BUF_INIT;

	buf_append_script_num(&b, height);
	assert_bytes_hex(b.data, b.len, hex);
	buf_free(&b);
}

/* BIP34: the height as `CScript() << height` serializes it. */
static void test_bip34_height_encoding(void **state)
{
	(void)state;
	assert_height(0, "00");
	assert_height(1, "51");
	assert_height(16, "60");
	assert_height(17, "0111");
	assert_height(127, "017f");
	assert_height(128, "028000");
	assert_height(255, "02ff00");
	assert_height(256, "020001");
	assert_height(32767, "02ff7f");
	assert_height(32768, "03008000");
	assert_height(65535, "03ffff00");
	assert_height(65536, "03000001");
	assert_height(500000, "0320a107");
	assert_height(8388607, "03ffff7f");
	assert_height(8388608, "0400008000");
	assert_height(-1, "4f");
	assert_height(-200, "02c880");
}

static void test_reader_stops_at_the_end(void **state)
{
	const uint8_t data[] = { 0xfd, 0x34, 0x12, 0x01, 0x02, 0x03, 0x04, 0x05 };
	struct reader r;

	(void)state;
	reader_init(&r, data, sizeof(data));
	assert_int_equal(reader_varint(&r), 0x1234);
	assert_int_equal(reader_u32le(&r), 0x04030201);
	assert_int_equal(reader_remaining(&r), 1);
	assert_false(r.failed);
	assert_int_equal(reader_u32le(&r), 0);
	assert_true(r.failed);
	assert_null(reader_bytes(&r, 1));
	assert_int_equal(reader_u8(&r), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_round_trip),
		cmocka_unit_test(test_hex_rejects_bad_input),
		cmocka_unit_test(test_reverse_bytes),
		cmocka_unit_test(test_buf_appends_little_endian_and_varints),
		cmocka_unit_test(test_buf_grows_past_initial_capacity),
		cmocka_unit_test(test_script_pushes_pick_the_smallest_opcode),
		cmocka_unit_test(test_bip34_height_encoding),
		cmocka_unit_test(test_reader_stops_at_the_end),
	};

	return cmocka_run_group_tests_name("bytes", tests, NULL, NULL);
}
