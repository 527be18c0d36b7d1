/*
 * test_share.c - share validation: header rebuilt independently, each
 * reject reason, blocks, difficulty arithmetic, duplicate filter.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "gbt_fixture.h"
#include "bytes.h"
#include "coinbase.h"
#include "hash.h"
#include "difficulty.h"
#include "share.h"

#include <math.h>

struct fixture {
	struct workbase *wb;
	struct buf coinb1, coinb2;
	uint8_t nonce1[4], nonce2[8];
	struct share_input in;
};

static struct fixture *make_fixture(json_t *gbt)
{
	struct fixture *f = calloc(1, sizeof(*f));
	static const uint8_t script[22] = { 0x00, 0x14, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
					    11, 12, 13, 14, 15, 16, 17, 18, 19, 20 };
	struct coinbase_params p = { script, sizeof(script), "/TBG/", NULL, 4, 8 };

	f->wb = workbase_from_gbt(gbt, NULL, 0);
	json_decref(gbt);
	assert_non_null(f->wb);
	assert_int_equal(coinbase_build(f->wb, &p, &f->coinb1, &f->coinb2, NULL, 0), 0);
	memcpy(f->nonce1, "\xde\xad\xbe\xef", 4);
	memcpy(f->nonce2, "\x00\x01\x02\x03\x04\x05\x06\x07", 8);
	f->in = (struct share_input) {
		.wb = f->wb,
		.coinb1 = f->coinb1.data, .coinb1_len = f->coinb1.len,
		.coinb2 = f->coinb2.data, .coinb2_len = f->coinb2.len,
		.nonce1 = f->nonce1, .nonce1_len = 4,
		.nonce2 = f->nonce2, .nonce2_len = 8,
		.nonce2_expected_len = 8,
		.ntime = 1700000100, .nonce = 12345,
		.version_bits = 0, .version_mask = 0x1fffe000,
		.share_diff = 1e-10,
	};
	return f;
}

static int setup(void **state)
{
	*state = make_fixture(fixture_gbt());
	return 0;
}

static int setup_regtest(void **state)
{
	*state = make_fixture(fixture_empty_gbt("207fffff"));
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	workbase_unref(f->wb);
	buf_free(&f->coinb1);
	buf_free(&f->coinb2);
	free(f);
	return 0;
}

/* The header as the test understands it, from the full merkle tree. */
static void expected_header(const struct fixture *f, uint32_t version, uint8_t header[80])
{
	struct buf cb = BUF_INIT;
	uint8_t leaves[3][32];

	coinbase_join(&cb, f->coinb1.data, f->coinb1.len, f->nonce1, 4, f->in.nonce2,
		      f->in.nonce2_len, f->coinb2.data, f->coinb2.len);
	sha256d(cb.data, cb.len, leaves[0]);
	buf_free(&cb);
	for (size_t i = 0; i < f->wb->tx_count; i++)
		memcpy(leaves[i + 1], f->wb->txids[i], 32);
	write_u32le(header, version);
	memcpy(header + 4, f->wb->prevhash, 32);
	merkle_root((const uint8_t (*)[32])leaves, f->wb->tx_count + 1, header + 36);
	write_u32le(header + 68, f->in.ntime);
	write_u32le(header + 72, f->wb->bits);
	write_u32le(header + 76, f->in.nonce);
}

static void test_accepts_and_rebuilds_the_header(void **state)
{
	struct fixture *f = *state;
	struct share_output out;
	uint8_t header[80], hash[32];

	assert_int_equal(share_compute(&f->in, &out), SHARE_OK);
	expected_header(f, 0x20000000, header);
	assert_memory_equal(out.header, header, 80);
	sha256d(header, 80, hash);
	assert_memory_equal(out.hash, hash, 32);
	assert_true(out.diff == diff_from_hash(hash));
	assert_false(out.is_block);
	assert_int_equal(out.version, 0x20000000);
}

static void test_rolled_version_bits(void **state)
{
	struct fixture *f = *state;
	struct share_output out;
	uint8_t header[80];

	f->in.version_bits = 0x1fffe000;
	assert_int_equal(share_compute(&f->in, &out), SHARE_OK);
	assert_int_equal(out.version, 0x3fffe000);
	expected_header(f, 0x3fffe000, header);
	assert_memory_equal(out.header, header, 80);
}

static void test_bad_version_bits(void **state)
{
	struct fixture *f = *state;
	struct share_output out;

	f->in.version_bits = 0x00001000;   /* outside the mask */
	assert_int_equal(share_compute(&f->in, &out), SHARE_BAD_VERSION);
	f->in.version_bits = 0x00002000;
	f->in.version_mask = 0;            /* no rolling negotiated */
	assert_int_equal(share_compute(&f->in, &out), SHARE_BAD_VERSION);
	f->in.version_bits = 0;
	assert_int_equal(share_compute(&f->in, &out), SHARE_OK);
}

static void test_bad_ntime(void **state)
{
	struct fixture *f = *state;
	struct share_output out;

	f->in.ntime = f->wb->mintime - 1;
	assert_int_equal(share_compute(&f->in, &out), SHARE_BAD_NTIME);
	f->in.ntime = f->wb->mintime;
	assert_int_equal(share_compute(&f->in, &out), SHARE_OK);
	f->in.ntime = f->wb->curtime + 7200;
	assert_int_equal(share_compute(&f->in, &out), SHARE_OK);
	f->in.ntime = f->wb->curtime + 7201;
	assert_int_equal(share_compute(&f->in, &out), SHARE_BAD_NTIME);
}

static void test_bad_extranonce2_size(void **state)
{
	struct fixture *f = *state;
	struct share_output out;

	f->in.nonce2_len = 4;
	assert_int_equal(share_compute(&f->in, &out), SHARE_BAD_EXTRANONCE2);
	f->in.nonce2_len = 9;
	assert_int_equal(share_compute(&f->in, &out), SHARE_BAD_EXTRANONCE2);
}

static void test_low_difficulty(void **state)
{
	struct fixture *f = *state;
	struct share_output out;

	f->in.share_diff = 1e12;
	assert_int_equal(share_compute(&f->in, &out), SHARE_LOW_DIFF);
	assert_true(out.diff < 1e12);      /* out is filled for low-diff shares */
	f->in.share_diff = out.diff;       /* exactly meeting the target is fine */
	assert_int_equal(share_compute(&f->in, &out), SHARE_OK);
}

static void test_invalid_inputs(void **state)
{
	struct fixture *f = *state;
	struct share_output out;

	assert_int_equal(share_compute(NULL, &out), SHARE_INVALID);
	assert_int_equal(share_compute(&f->in, NULL), SHARE_INVALID);
	f->in.coinb1 = NULL;
	assert_int_equal(share_compute(&f->in, &out), SHARE_INVALID);
	f->in.coinb1 = f->coinb1.data;
	f->in.wb = NULL;
	assert_int_equal(share_compute(&f->in, &out), SHARE_INVALID);
}

/* Regtest's target passes about half the hashes: find blocks and non-blocks. */
static void test_blocks_on_regtest(void **state)
{
	struct fixture *f = *state;
	struct share_output out;
	int blocks = 0, others = 0;

	f->in.share_diff = 1e9;            /* far above anything: only blocks are OK */
	for (uint32_t nonce = 0; nonce < 64; nonce++) {
		enum share_result r;

		f->in.nonce = nonce;
		r = share_compute(&f->in, &out);
		assert_int_equal(out.is_block, hash_meets_target(out.hash, f->wb->target));
		assert_int_equal(out.is_block, out.diff >= f->wb->network_diff);
		if (out.is_block) {
			assert_int_equal(r, SHARE_OK);
			blocks++;
		} else {
			assert_int_equal(r, SHARE_LOW_DIFF);
			others++;
		}
	}
	assert_true(blocks > 0 && others > 0);
}

static void test_difficulty_arithmetic(void **state)
{
	uint8_t hash[32];

	(void)state;
	/* the diff1 target itself, as a little-endian hash */
	memset(hash, 0, 32);
	hash[26] = 0xff;
	hash[27] = 0xff;
	assert_true(diff_from_hash(hash) == 1.0);
	/* 2^224 -> 0xffff / 0x10000 */
	memset(hash, 0, 32);
	hash[28] = 1;
	assert_true(diff_from_hash(hash) == 65535.0 / 65536.0);
	/* the largest hash: 0xffff * 2^-48, far below 1 */
	memset(hash, 0xff, 32);
	assert_true(fabs(diff_from_hash(hash) / ldexp(65535, -48) - 1) < 1e-15);
	/* 1e-9 territory keeps full precision: 2^254 -> 0xffff * 2^-46 = 9.3e-10 */
	memset(hash, 0, 32);
	hash[31] = 0x40;
	assert_true(diff_from_hash(hash) == ldexp(65535, -46));
	memset(hash, 0, 32);
	assert_true(isinf(diff_from_hash(hash)));
	/* hash_meets_target: equal counts */
	{
		uint8_t target[32] = { 0 }, h[32] = { 0 };

		target[31] = 5;
		h[0] = 5;
		assert_true(hash_meets_target(h, target));
		h[0] = 6;
		assert_false(hash_meets_target(h, target));
		h[0] = 4;
		assert_true(hash_meets_target(h, target));
	}
}

static void test_reasons(void **state)
{
	(void)state;
	assert_string_equal(share_result_reason(SHARE_JOB_NOT_FOUND), "job not found");
	assert_string_equal(share_result_reason(SHARE_STALE), "stale");
	assert_string_equal(share_result_reason(SHARE_DUPLICATE), "duplicate");
	assert_string_equal(share_result_reason(SHARE_LOW_DIFF), "low difficulty");
	assert_string_equal(share_result_reason(SHARE_BAD_NTIME), "bad ntime");
	assert_string_equal(share_result_reason(SHARE_BAD_VERSION), "bad version bits");
	assert_string_equal(share_result_reason(SHARE_BAD_EXTRANONCE2), "bad extranonce2 size");
	assert_string_equal(share_result_reason(SHARE_INVALID), "invalid");
	assert_int_equal(share_result_reject_reason(SHARE_JOB_NOT_FOUND), REJECT_JOB_NOT_FOUND);
	assert_int_equal(share_result_reject_reason(SHARE_STALE), REJECT_STALE);
	assert_int_equal(share_result_reject_reason(SHARE_DUPLICATE), REJECT_DUPLICATE);
	assert_int_equal(share_result_reject_reason(SHARE_LOW_DIFF), REJECT_LOW_DIFF);
	assert_int_equal(share_result_reject_reason(SHARE_BAD_NTIME), REJECT_BAD_NTIME);
	assert_int_equal(share_result_reject_reason(SHARE_BAD_VERSION), REJECT_BAD_VERSION);
	assert_int_equal(share_result_reject_reason(SHARE_BAD_EXTRANONCE2), REJECT_BAD_EXTRANONCE2);
	assert_int_equal(share_result_reject_reason(SHARE_INVALID), REJECT_INVALID);
}

static void test_duplicate_filter(void **state)
{
	struct dup_filter *f = malloc(sizeof(*f));
	const uint8_t n2[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, other[8] = { 1, 2, 3, 4, 5, 6, 7, 9 };

	(void)state;
	assert_true(sizeof(*f) <= 4096 + 64);
	dup_filter_init(f);
	assert_false(dup_filter_seen(f, 1, n2, 8, 100, 7, 0));
	assert_true(dup_filter_seen(f, 1, n2, 8, 100, 7, 0));
	/* any field differing makes a new share */
	assert_false(dup_filter_seen(f, 2, n2, 8, 100, 7, 0));
	assert_false(dup_filter_seen(f, 1, other, 8, 100, 7, 0));
	assert_false(dup_filter_seen(f, 1, n2, 7, 100, 7, 0));
	assert_false(dup_filter_seen(f, 1, n2, 8, 101, 7, 0));
	assert_false(dup_filter_seen(f, 1, n2, 8, 100, 8, 0));
	assert_false(dup_filter_seen(f, 1, n2, 8, 100, 7, 0x2000));
	/* the last DUP_FILTER_REMEMBER shares are always remembered */
	for (uint32_t nonce = 1000; nonce < 11000; nonce++) {
		assert_false(dup_filter_seen(f, 3, n2, 8, 100, nonce, 0));
		if (nonce >= 1000 + DUP_FILTER_REMEMBER) {
			for (uint32_t back = 0; back < DUP_FILTER_REMEMBER; back += 17)
				assert_true(dup_filter_seen(f, 3, n2, 8, 100, nonce - back, 0));
		}
	}
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accepts_and_rebuilds_the_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rolled_version_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_version_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_ntime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_extranonce2_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_low_difficulty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_inputs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocks_on_regtest, setup_regtest, teardown),
		cmocka_unit_test(test_difficulty_arithmetic),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_duplicate_filter),
	};

	return cmocka_run_group_tests_name("share", tests, NULL, NULL);
}
