/*
 * test_coinbase.c - coinb1/coinb2 byte for byte, signature truncation,
 * scriptSig bounds, small heights.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "gbt_fixture.h"
#include "bytes.h"
#include "coinbase.h"
#include "workbase.h"

#define P2WPKH_SCRIPT "0014751e76e8199196d454941c45d1b3a323f1433bd6"

struct fixture {
	struct workbase *wb;
	uint8_t script[22];
	struct coinbase_params params;
	struct buf coinb1, coinb2;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	json_t *gbt = fixture_gbt();

	f->wb = workbase_from_gbt(gbt, NULL, 0);
	json_decref(gbt);
	from_hex(P2WPKH_SCRIPT, f->script, sizeof(f->script));
	f->params.script = f->script;
	f->params.script_len = sizeof(f->script);
	f->params.pool_sig = "/TBG/";
	f->params.miner_sig = "alice";
	f->params.nonce1_len = 4;
	f->params.nonce2_len = 8;
	*state = f;
	return f->wb ? 0 : -1;
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

static void build(struct fixture *f)
{
	char err[128] = "";

	buf_reset(&f->coinb1);
	buf_reset(&f->coinb2);
	assert_int_equal(coinbase_build(f->wb, &f->params, &f->coinb1, &f->coinb2, err, sizeof(err)), 0);
}

/* Length byte of the scriptSig: the last byte before it is the prevout index. */
static size_t script_sig_len(const struct fixture *f)
{
	return f->coinb1.data[4 + 1 + 36];
}

static void test_exact_bytes(void **state)
{
	struct fixture *f = *state;

	build(f);
	assert_bytes_hex(f->coinb1.data, f->coinb1.len,
			 "02000000" "01"
			 "0000000000000000000000000000000000000000000000000000000000000000" "ffffffff"
			 "1d"                   /* scriptSig: 29 bytes */
			 "0300350c"             /* height 800000 */
			 "052f5442472f"         /* "/TBG/" */
			 "05616c696365"         /* "alice" */
			 "0c");                 /* push of the 12 extranonce bytes */
	assert_bytes_hex(f->coinb2.data, f->coinb2.len,
			 "ffffffff" "02"
			 "40be402500000000" "16" P2WPKH_SCRIPT
			 "0000000000000000" "26" FIXTURE_COMMITMENT
			 "00000000");
}

static void test_no_commitment_means_one_output(void **state)
{
	struct fixture *f = *state;
	json_t *gbt = fixture_empty_gbt("207fffff");
	struct workbase *wb = workbase_from_gbt(gbt, NULL, 0);
	struct buf c1 = BUF_INIT, c2 = BUF_INIT;

	assert_int_equal(coinbase_build(wb, &f->params, &c1, &c2, NULL, 0), 0);
	assert_bytes_hex(c2.data, c2.len, "ffffffff" "01" "00f2052a01000000" "16" P2WPKH_SCRIPT "00000000");
	/* height 1 is OP_1 */
	assert_int_equal(c1.data[4 + 1 + 36 + 1], 0x51);
	buf_free(&c1);
	buf_free(&c2);
	workbase_unref(wb);
	json_decref(gbt);
}

static void test_long_signatures_are_truncated_to_100_bytes(void **state)
{
	struct fixture *f = *state;
	char pool[201];

	memset(pool, 'P', 200);
	pool[200] = '\0';
	f->params.pool_sig = pool;
	f->params.miner_sig = "alice123";
	f->params.nonce2_len = 9;
	build(f);
	assert_int_equal(script_sig_len(f), 100);
	/* height 4, pool push 1+75, miner push 1+5 ("alice"), extranonce 1+13 */
	assert_int_equal(f->coinb1.len, 4 + 1 + 36 + 1 + 4 + 76 + 6 + 1);
	assert_int_equal(f->coinb1.data[42 + 4], 75);
	assert_int_equal(f->coinb1.data[42 + 4 + 76], 5);
	assert_memory_equal(f->coinb1.data + 42 + 4 + 76 + 1, "alice", 5);
	assert_int_equal(f->coinb1.data[f->coinb1.len - 1], 13);
}

static void test_without_sigs(void **state)
{
	struct fixture *f = *state;

	f->params.pool_sig = NULL;
	f->params.miner_sig = "";
	build(f);
	assert_int_equal(script_sig_len(f), 4 + 1 + 12);
	assert_bytes_hex(f->coinb1.data + 42, f->coinb1.len - 42, "0300350c0c");
}

static void test_minimum_script_sig_is_two_bytes(void **state)
{
	struct fixture *f = *state;
	json_t *gbt = fixture_empty_gbt("207fffff");
	struct workbase *wb = workbase_from_gbt(gbt, NULL, 0);
	struct buf c1 = BUF_INIT, c2 = BUF_INIT;

	f->params.pool_sig = NULL;
	f->params.miner_sig = NULL;
	f->params.nonce1_len = 0;
	f->params.nonce2_len = 0;
	assert_int_equal(coinbase_build(wb, &f->params, &c1, &c2, NULL, 0), 0);
	assert_bytes_hex(c1.data + 41, c1.len - 41, "025100");
	buf_free(&c1);
	buf_free(&c2);
	workbase_unref(wb);
	json_decref(gbt);
}

static void test_rejects_bad_params(void **state)
{
	struct fixture *f = *state;
	char err[128] = "";

	f->params.nonce1_len = 40;
	f->params.nonce2_len = 40;
	assert_int_equal(coinbase_build(f->wb, &f->params, &f->coinb1, &f->coinb2, err, sizeof(err)), -1);
	assert_string_equal(err, "coinbase: extranonce of 40+40 bytes, max 75");
	f->params.nonce1_len = 4;
	f->params.nonce2_len = 8;
	f->params.script_len = 0;
	assert_int_equal(coinbase_build(f->wb, &f->params, &f->coinb1, &f->coinb2, err, sizeof(err)), -1);
	assert_string_equal(err, "coinbase: payout script must be 1..10000 bytes");
}

static void test_join(void **state)
{
	struct buf out = BUF_INIT;
	const uint8_t a[] = { 1 }, n1[] = { 2, 3 }, n2[] = { 4 }, b[] = { 5, 6 };

	(void)state;
	coinbase_join(&out, a, 1, n1, 2, n2, 1, b, 2);
	assert_bytes_hex(out.data, out.len, "010203040506");
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exact_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_commitment_means_one_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_signatures_are_truncated_to_100_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_sigs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_minimum_script_sig_is_two_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects_bad_params, setup, teardown),
		cmocka_unit_test(test_join),
	};

	return cmocka_run_group_tests_name("coinbase", tests, NULL, NULL);
}
