/*
 * test_block.c - block assembly round trip: parse the assembled bytes back
 * and check header, coinbase (with and without witness), transactions and
 * the merkle root.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "gbt_fixture.h"
#include "block.h"
#include "bytes.h"
#include "coinbase.h"
#include "hash.h"
#include "share.h"

struct solved {
	struct workbase *wb;
	struct buf coinbase;          /* without witness */
	uint8_t header[80];
};

static void solve(json_t *gbt, struct solved *s)
{
	static const uint8_t script[25] = { 0x76, 0xa9, 0x14, [23] = 0x88, [24] = 0xac };
	struct coinbase_params p = { script, sizeof(script), "/TBG/", "bob", 4, 4 };
	struct buf c1 = BUF_INIT, c2 = BUF_INIT;
	const uint8_t n1[4] = { 1, 2, 3, 4 }, n2[4] = { 5, 6, 7, 8 };
	struct share_input in;
	struct share_output out;

	s->wb = workbase_from_gbt(gbt, NULL, 0);
	json_decref(gbt);
	assert_non_null(s->wb);
	assert_int_equal(coinbase_build(s->wb, &p, &c1, &c2, NULL, 0), 0);
	in = (struct share_input) { .wb = s->wb, .coinb1 = c1.data, .coinb1_len = c1.len,
		.coinb2 = c2.data, .coinb2_len = c2.len, .nonce1 = n1, .nonce1_len = 4,
		.nonce2 = n2, .nonce2_len = 4, .nonce2_expected_len = 4,
		.ntime = s->wb->curtime, .nonce = 42 };
	assert_int_equal(share_compute(&in, &out), SHARE_OK);
	memcpy(s->header, out.header, 80);
	buf_init(&s->coinbase);
	coinbase_join(&s->coinbase, c1.data, c1.len, n1, 4, n2, 4, c2.data, c2.len);
	buf_free(&c1);
	buf_free(&c2);
}

static void release(struct solved *s)
{
	workbase_unref(s->wb);
	buf_free(&s->coinbase);
}

static uint8_t *decode_block(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2;
	uint8_t *bytes = malloc(n);

	assert_int_equal(hex_decode(hex, bytes, n), (long)n);
	*len = n;
	return bytes;
}

/* Reads one coinbase, re-serializing it without witness into nowit. */
static void read_coinbase(struct reader *r, bool witness, struct buf *nowit)
{
	uint64_t n;
	const uint8_t *p;

	buf_append_u32le(nowit, reader_u32le(r));
	if (witness) {
		assert_int_equal(reader_u8(r), 0x00);   /* marker */
		assert_int_equal(reader_u8(r), 0x01);   /* flag */
	}
	assert_int_equal(reader_varint(r), 1);
	buf_append_varint(nowit, 1);
	p = reader_bytes(r, 36);
	assert_non_null(p);
	assert_bytes_hex(p, 36, "0000000000000000000000000000000000000000000000000000000000000000ffffffff");
	buf_append(nowit, p, 36);
	n = reader_varint(r);
	assert_true(n >= 2 && n <= 100);
	buf_append_varint(nowit, n);
	buf_append(nowit, reader_bytes(r, n), n);
	buf_append_u32le(nowit, reader_u32le(r));              /* sequence */
	n = reader_varint(r);
	buf_append_varint(nowit, n);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t len;

		buf_append_u64le(nowit, reader_u64le(r));
		len = reader_varint(r);
		buf_append_varint(nowit, len);
		buf_append(nowit, reader_bytes(r, len), len);
	}
	if (witness) {
		assert_int_equal(reader_varint(r), 1);          /* one stack item */
		assert_int_equal(reader_varint(r), 32);
		p = reader_bytes(r, 32);
		assert_non_null(p);
		for (int i = 0; i < 32; i++)
			assert_int_equal(p[i], 0);
	}
	buf_append_u32le(nowit, reader_u32le(r));              /* locktime */
	assert_false(r->failed);
}

static void check_merkle_root(const struct solved *s, const struct buf *nowit)
{
	uint8_t (*leaves)[32] = calloc(s->wb->tx_count + 1, 32), root[32];

	sha256d(nowit->data, nowit->len, leaves[0]);
	for (size_t i = 0; i < s->wb->tx_count; i++)
		memcpy(leaves[i + 1], s->wb->txids[i], 32);
	merkle_root((const uint8_t (*)[32])leaves, s->wb->tx_count + 1, root);
	assert_memory_equal(root, s->header + 36, 32);
	free(leaves);
}

static void test_segwit_block_round_trip(void **state)
{
	struct solved s;
	struct buf nowit = BUF_INIT;
	struct reader r;
	size_t len;
	char *hex;
	uint8_t *bytes, tx0[6], tx1[8];

	(void)state;
	solve(fixture_gbt(), &s);
	hex = block_assemble_hex(s.wb, s.header, s.coinbase.data, s.coinbase.len);
	assert_non_null(hex);
	bytes = decode_block(hex, &len);
	reader_init(&r, bytes, len);
	assert_memory_equal(reader_bytes(&r, 80), s.header, 80);
	assert_int_equal(reader_varint(&r), 3);
	read_coinbase(&r, true, &nowit);
	/* stripping the witness gives back exactly what miners hashed */
	assert_int_equal(nowit.len, s.coinbase.len);
	assert_memory_equal(nowit.data, s.coinbase.data, nowit.len);
	check_merkle_root(&s, &nowit);
	from_hex(FIXTURE_DATA0, tx0, sizeof(tx0));
	from_hex(FIXTURE_DATA1, tx1, sizeof(tx1));
	assert_memory_equal(reader_bytes(&r, sizeof(tx0)), tx0, sizeof(tx0));
	assert_memory_equal(reader_bytes(&r, sizeof(tx1)), tx1, sizeof(tx1));
	assert_int_equal(reader_remaining(&r), 0);
	assert_false(r.failed);
	free(bytes);
	free(hex);
	buf_free(&nowit);
	release(&s);
}

static void test_legacy_block_round_trip(void **state)
{
	struct solved s;
	struct buf nowit = BUF_INIT;
	struct reader r;
	size_t len;
	char *hex;
	uint8_t *bytes;

	(void)state;
	solve(fixture_empty_gbt("207fffff"), &s);
	hex = block_assemble_hex(s.wb, s.header, s.coinbase.data, s.coinbase.len);
	bytes = decode_block(hex, &len);
	assert_int_equal(len, 80 + 1 + s.coinbase.len);
	reader_init(&r, bytes, len);
	reader_bytes(&r, 80);
	assert_int_equal(reader_varint(&r), 1);
	read_coinbase(&r, false, &nowit);
	assert_memory_equal(nowit.data, s.coinbase.data, s.coinbase.len);
	check_merkle_root(&s, &nowit);
	assert_int_equal(reader_remaining(&r), 0);
	free(bytes);
	free(hex);
	buf_free(&nowit);
	release(&s);
}

static void test_rejects_a_truncated_coinbase(void **state)
{
	struct solved s;

	(void)state;
	solve(fixture_gbt(), &s);
	assert_null(block_assemble_hex(s.wb, s.header, s.coinbase.data, 9));
	assert_null(block_assemble_hex(s.wb, s.header, NULL, 0));
	release(&s);
}

static void test_block_hash_is_display_order(void **state)
{
	uint8_t header[80];
	char hash[65];

	(void)state;
	write_u32le(header, 1);
	from_hex_reversed("000000000002d01c1fccc21636b607dfd930d31d01c3a62104612a1719011250", header + 4);
	from_hex_reversed("f3e94742aca4b5ef85488dc37c06c3282295ffec960994b2c0d5ac2a25a95766", header + 36);
	write_u32le(header + 68, 1293623863);
	write_u32le(header + 72, 0x1b04864c);
	write_u32le(header + 76, 274148111);
	block_hash_hex(header, hash);
	assert_string_equal(hash, "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segwit_block_round_trip),
		cmocka_unit_test(test_legacy_block_round_trip),
		cmocka_unit_test(test_rejects_a_truncated_coinbase),
		cmocka_unit_test(test_block_hash_is_display_order),
	};

	return cmocka_run_group_tests_name("block", tests, NULL, NULL);
}
