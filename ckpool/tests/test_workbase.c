/*
 * test_workbase.c - getblocktemplate parsing: good templates, every
 * malformed field with its specific error, compact bits, refcounting;
 * workbase_from_parts (raw transactions) against workbase_from_gbt.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "gbt_fixture.h"
#include "difficulty.h"
#include "share.h"
#include "workbase.h"
#include "workbase_compare.h"

#include <math.h>

static void test_parses_a_good_template(void **state)
{
	json_t *gbt = fixture_gbt();
	char err[256] = "";
	struct workbase *wb = workbase_from_gbt(gbt, err, sizeof(err));
	uint8_t txid0[32], txid1[32], expect_target[32] = { 0 };

	(void)state;
	assert_non_null(wb);
	assert_int_equal(atomic_load(&wb->refs), 1);
	assert_int_equal(wb->version, 0x20000000);
	assert_hash_display(wb->prevhash, FIXTURE_PREVHASH);
	assert_int_equal(wb->prevhash[31], 0x00);   /* internal order: zeroes at the end */
	assert_int_equal(wb->bits, 0x1d00ffff);
	expect_target[4] = 0xff;
	expect_target[5] = 0xff;
	assert_memory_equal(wb->target, expect_target, 32);
	assert_true(wb->network_diff == 1.0);
	assert_int_equal(wb->curtime, 1700000000);
	assert_int_equal(wb->mintime, 1699990000);
	assert_int_equal(wb->height, 800000);
	assert_int_equal(wb->coinbasevalue, 625000000);
	assert_int_equal(wb->tx_count, 2);
	from_hex_reversed(FIXTURE_TXID0, txid0);
	from_hex_reversed(FIXTURE_TXID1, txid1);
	assert_memory_equal(wb->txids[0], txid0, 32);
	assert_memory_equal(wb->txids[1], txid1, 32);
	assert_string_equal(wb->tx_data_hex[0], FIXTURE_DATA0);
	assert_string_equal(wb->tx_data_hex[1], FIXTURE_DATA1);
	assert_int_equal(wb->tx_data_hex_len, strlen(FIXTURE_DATA0) + strlen(FIXTURE_DATA1));
	assert_true(wb->has_witness_txs);
	assert_int_equal(wb->witness_commitment_len, WITNESS_COMMITMENT_LEN);
	assert_bytes_hex(wb->witness_commitment, wb->witness_commitment_len, FIXTURE_COMMITMENT);
	assert_string_equal(wb->longpollid, "poll-1");
	/* branch for [coinbase, tx0, tx1]: tx0, then H(tx1 || tx1) */
	assert_int_equal(wb->branch_len, 2);
	assert_memory_equal(wb->branch[0], txid0, 32);
	/* the workbase keeps its own copy of the template */
	assert_ptr_not_equal(wb->gbt, gbt);
	json_object_set_new(gbt, "height", json_integer(1));
	assert_int_equal(json_integer_value(json_object_get(wb->gbt, "height")), 800000);
	json_decref(gbt);
	assert_string_equal(wb->tx_data_hex[1], FIXTURE_DATA1);
	workbase_unref(wb);
}

static void test_empty_template_has_no_branch(void **state)
{
	json_t *gbt = fixture_empty_gbt("207fffff");
	char err[256];
	struct workbase *wb = workbase_from_gbt(gbt, err, sizeof(err));

	(void)state;
	assert_non_null(wb);
	assert_int_equal(wb->tx_count, 0);
	assert_int_equal(wb->branch_len, 0);
	assert_int_equal(wb->witness_commitment_len, 0);
	assert_false(wb->has_witness_txs);
	assert_string_equal(wb->longpollid, "");
	assert_true(fabs(wb->network_diff - 4.6565423739069247e-10) < 1e-24);
	workbase_unref(wb);
	json_decref(gbt);
}

static void test_refcounting(void **state)
{
	json_t *gbt = fixture_gbt();
	struct workbase *wb = workbase_from_gbt(gbt, NULL, 0);

	(void)state;
	assert_ptr_equal(workbase_ref(wb), wb);
	assert_int_equal(atomic_load(&wb->refs), 2);
	workbase_unref(wb);
	assert_int_equal(atomic_load(&wb->refs), 1);
	workbase_unref(wb);     /* freed; ASan would catch a double free or leak */
	workbase_unref(NULL);
	json_decref(gbt);
}

static void test_stratum_prevhash_swaps_words(void **state)
{
	json_t *gbt = fixture_empty_gbt("1d00ffff");
	struct workbase *wb;
	char out[65];

	(void)state;
	json_object_set_new(gbt, "previousblockhash",
			    json_string("000000000002d01c1fccc21636b607dfd930d31d01c3a62104612a1719011250"));
	wb = workbase_from_gbt(gbt, NULL, 0);
	assert_non_null(wb);
	workbase_stratum_prevhash(wb, out);
	assert_string_equal(out, "1901125004612a1701c3a621d930d31d36b607df1fccc2160002d01c00000000");
	workbase_unref(wb);
	json_decref(gbt);
}

/* One malformed template: apply `mutate` to the fixture, expect `error`. */
struct bad_case {
	const char *field;
	json_t *(*value)(void);     /* NULL deletes the field */
	const char *error;
};

static json_t *str_x(void) { return json_string("x"); }
static json_t *str_short_hash(void) { return json_string("00ff"); }
static json_t *str_bad_hex_hash(void) { return json_string("zz00000000000000000000000000000000000000000000000000000000000000"); }
static json_t *str_bits_short(void) { return json_string("1d00fff"); }
static json_t *str_bits_zero(void) { return json_string("00000000"); }
static json_t *str_bits_negative(void) { return json_string("1d80ffff"); }
static json_t *str_bits_overflow(void) { return json_string("23000001"); }
static json_t *int_neg(void) { return json_integer(-1); }
static json_t *int_huge(void) { return json_integer(0x100000000LL); }
static json_t *real_num(void) { return json_real(1.5); }
static json_t *int_five(void) { return json_integer(5); }
static json_t *object(void) { return json_object(); }
static json_t *bad_commitment(void) { return json_string("6a24aa21a9ed00"); }
static json_t *wrong_tag_commitment(void)
{
	return json_string("6a24aa21a9ee" "e2f61c3f71d1defd3fa999dfa36953755c690689799962b48bebd836974e8cf9");
}
static json_t *long_string(void)
{
	char s[200];

	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	return json_string(s);
}
static json_t *supply_plus_one(void) { return json_integer(2100000000000001LL); }
static json_t *str_empty(void) { return json_string(""); }
static json_t *str_odd_hex(void) { return json_string("515"); }
static json_t *str_not_hex(void) { return json_string("51zz"); }

static const struct bad_case bad_cases[] = {
	{ "version", NULL, "getblocktemplate: missing field 'version'" },
	{ "previousblockhash", NULL, "getblocktemplate: missing field 'previousblockhash'" },
	{ "bits", NULL, "getblocktemplate: missing field 'bits'" },
	{ "curtime", NULL, "getblocktemplate: missing field 'curtime'" },
	{ "mintime", NULL, "getblocktemplate: missing field 'mintime'" },
	{ "height", NULL, "getblocktemplate: missing field 'height'" },
	{ "coinbasevalue", NULL, "getblocktemplate: missing field 'coinbasevalue'" },
	{ "transactions", NULL, "getblocktemplate: missing field 'transactions'" },
	{ "default_witness_commitment", NULL,
	  "getblocktemplate: witness transactions but no 'default_witness_commitment'" },
	{ "version", str_x,
	  "getblocktemplate: 'version' must be an integer from -2147483648 to 2147483647" },
	{ "version", int_huge,
	  "getblocktemplate: 'version' must be an integer from -2147483648 to 2147483647" },
	{ "curtime", int_neg, "getblocktemplate: 'curtime' must be an integer from 0 to 4294967295" },
	{ "mintime", real_num, "getblocktemplate: 'mintime' must be an integer from 0 to 4294967295" },
	{ "height", int_neg, "getblocktemplate: 'height' must be an integer from 0 to 2147483647" },
	{ "coinbasevalue", supply_plus_one,
	  "getblocktemplate: 'coinbasevalue' must be an integer from 0 to 2100000000000000" },
	{ "previousblockhash", int_five, "getblocktemplate: 'previousblockhash' must be a string" },
	{ "previousblockhash", str_short_hash,
	  "getblocktemplate: 'previousblockhash' must be 64 hex digits" },
	{ "previousblockhash", str_bad_hex_hash,
	  "getblocktemplate: 'previousblockhash' must be 64 hex digits" },
	{ "bits", int_five, "getblocktemplate: 'bits' must be a string" },
	{ "bits", str_bits_short, "getblocktemplate: 'bits' must be 8 hex digits" },
	{ "bits", str_bits_zero, "getblocktemplate: 'bits' 00000000 is not a valid compact target" },
	{ "bits", str_bits_negative, "getblocktemplate: 'bits' 1d80ffff is not a valid compact target" },
	{ "bits", str_bits_overflow, "getblocktemplate: 'bits' 23000001 is not a valid compact target" },
	{ "transactions", object, "getblocktemplate: 'transactions' must be an array" },
	{ "default_witness_commitment", bad_commitment,
	  "getblocktemplate: 'default_witness_commitment' must be a 38-byte script hex starting 6a24aa21a9ed" },
	{ "default_witness_commitment", wrong_tag_commitment,
	  "getblocktemplate: 'default_witness_commitment' must be a 38-byte script hex starting 6a24aa21a9ed" },
	{ "longpollid", int_five, "getblocktemplate: 'longpollid' must be a string under 128 characters" },
	{ "longpollid", long_string, "getblocktemplate: 'longpollid' must be a string under 128 characters" },
	{ "signet_challenge", int_five, "getblocktemplate: 'signet_challenge' must be a script in hex" },
	{ "signet_challenge", str_empty, "getblocktemplate: 'signet_challenge' must be a script in hex" },
	{ "signet_challenge", str_odd_hex, "getblocktemplate: 'signet_challenge' must be a script in hex" },
	{ "signet_challenge", str_not_hex, "getblocktemplate: 'signet_challenge' must be a script in hex" },
};

static void assert_rejected(json_t *gbt, const char *error)
{
	char err[256] = "";
	struct workbase *wb = workbase_from_gbt(gbt, err, sizeof(err));

	if (wb || strcmp(err, error))
		print_error("want '%s', got '%s'\n", error, err);
	assert_null(wb);
	assert_string_equal(err, error);
}

static void test_each_malformed_field_names_itself(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		json_t *gbt = fixture_gbt();

		if (bad_cases[i].value)
			json_object_set_new(gbt, bad_cases[i].field, bad_cases[i].value());
		else
			json_object_del(gbt, bad_cases[i].field);
		assert_rejected(gbt, bad_cases[i].error);
		json_decref(gbt);
	}
}

static void set_tx_field(json_t *gbt, size_t i, const char *field, json_t *value)
{
	json_t *tx = json_array_get(json_object_get(gbt, "transactions"), i);

	if (value)
		json_object_set_new(tx, field, value);
	else
		json_object_del(tx, field);
}

static void test_malformed_transactions(void **state)
{
	json_t *gbt;

	(void)state;
	gbt = fixture_gbt();
	set_tx_field(gbt, 1, "txid", NULL);
	assert_rejected(gbt, "getblocktemplate: transactions[1].txid must be 64 hex digits");
	json_decref(gbt);

	gbt = fixture_gbt();
	set_tx_field(gbt, 0, "txid", json_string("abcd"));
	assert_rejected(gbt, "getblocktemplate: transactions[0].txid must be 64 hex digits");
	json_decref(gbt);

	gbt = fixture_gbt();
	set_tx_field(gbt, 0, "data", NULL);
	assert_rejected(gbt, "getblocktemplate: transactions[0].data missing or not a string");
	json_decref(gbt);

	gbt = fixture_gbt();
	set_tx_field(gbt, 1, "data", json_string("abc"));
	assert_rejected(gbt, "getblocktemplate: transactions[1].data must be non-empty even-length hex");
	json_decref(gbt);

	gbt = fixture_gbt();
	set_tx_field(gbt, 1, "data", json_string("zz"));
	assert_rejected(gbt, "getblocktemplate: transactions[1].data must be non-empty even-length hex");
	json_decref(gbt);

	gbt = fixture_gbt();
	set_tx_field(gbt, 0, "hash", json_integer(3));
	assert_rejected(gbt, "getblocktemplate: transactions[0].hash must be 64 hex digits");
	json_decref(gbt);

	gbt = fixture_gbt();
	json_array_set_new(json_object_get(gbt, "transactions"), 0, json_integer(7));
	assert_rejected(gbt, "getblocktemplate: transactions[0] must be an object");
	json_decref(gbt);

	gbt = json_array();
	assert_rejected(gbt, "getblocktemplate: result is not a JSON object");
	json_decref(gbt);
	assert_null(workbase_from_gbt(NULL, NULL, 0));
}

static void test_legacy_template_needs_no_commitment(void **state)
{
	json_t *gbt = fixture_gbt();
	struct workbase *wb;

	(void)state;
	json_object_del(gbt, "default_witness_commitment");
	set_tx_field(gbt, 1, "hash", json_string(FIXTURE_TXID1));
	wb = workbase_from_gbt(gbt, NULL, 0);
	assert_non_null(wb);
	assert_false(wb->has_witness_txs);
	assert_int_equal(wb->witness_commitment_len, 0);
	workbase_unref(wb);
	json_decref(gbt);
}

static void assert_target(uint32_t bits, const char *hex)
{
	uint8_t target[32];

	assert_int_equal(target_from_bits(bits, target), 0);
	assert_bytes_hex(target, 32, hex);
}

static void test_compact_bits(void **state)
{
	uint8_t target[32];

	(void)state;
	assert_target(0x1d00ffff, "00000000ffff0000000000000000000000000000000000000000000000000000");
	assert_target(0x207fffff, "7fffff0000000000000000000000000000000000000000000000000000000000");
	assert_target(0x1b04864c, "000000000004864c" "000000000000000000000000000000000000000000000000");
	assert_target(0x03123456, "0000000000000000000000000000000000000000000000000000000000123456");
	assert_target(0x02123456, "0000000000000000000000000000000000000000000000000000000000001234");
	assert_target(0x22000001, "0100000000000000000000000000000000000000000000000000000000000000");
	assert_int_equal(target_from_bits(0x23000001, target), -1);   /* overflow */
	assert_int_equal(target_from_bits(0x21010000, target), -1);   /* overflow */
	assert_int_equal(target_from_bits(0x01003456, target), -1);   /* shifted to zero */
	assert_int_equal(target_from_bits(0x04923456, target), -1);   /* negative */
	assert_int_equal(target_from_bits(0x1d000000, target), -1);   /* zero */
	assert_true(diff_from_bits(0x1d00ffff) == 1.0);
	assert_true(fabs(diff_from_bits(0x1b04864c) / 14484.1623612254 - 1) < 1e-12);
	assert_true(diff_from_bits(0) == 0);
}

/* The parts and raw transactions of a workbase built from getblocktemplate. */
static struct workbase_parts parts_of(const struct workbase *wb)
{
	struct workbase_parts p;

	memset(&p, 0, sizeof(p));
	p.version = wb->version;
	memcpy(p.prevhash, wb->prevhash, 32);
	p.bits = wb->bits;
	p.curtime = wb->curtime;
	p.mintime = wb->mintime;
	p.height = wb->height;
	p.coinbasevalue = wb->coinbasevalue;
	memcpy(p.witness_commitment, wb->witness_commitment, wb->witness_commitment_len);
	p.witness_commitment_len = wb->witness_commitment_len;
	memcpy(p.longpollid, wb->longpollid, sizeof(p.longpollid));
	return p;
}

static struct wb_tx **raw_txs_of(const struct workbase *wb)
{
	struct wb_tx **txs = calloc(wb->tx_count + 1, sizeof(*txs));

	for (size_t i = 0; i < wb->tx_count; i++) {
		size_t len = strlen(wb->tx_data_hex[i]) / 2;

		txs[i] = wb_tx_new(wb->txids[i], wb->wtxids[i], 100 + (int64_t)i, 1, 400, NULL,
				   (uint32_t)len);
		from_hex(wb->tx_data_hex[i], txs[i]->data, len);
	}
	return txs;
}

static void free_txs(struct wb_tx **txs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		wb_tx_unref(txs[i]);
	free(txs);
}

static void test_from_parts_equals_from_gbt(void **state)
{
	json_t *gbt = fixture_gbt();
	char err[256];
	struct workbase *ref = workbase_from_gbt(gbt, err, sizeof(err));
	struct workbase_parts p = parts_of(ref);
	struct wb_tx **txs = raw_txs_of(ref);
	struct workbase *wb = workbase_from_parts(&p, txs, ref->tx_count, err, sizeof(err));

	(void)state;
	assert_non_null(wb);
	assert_null(wb->gbt);
	assert_null(wb->tx_data_hex);
	assert_non_null(wb->txs);
	assert_true(wb->has_witness_txs);
	assert_workbases_equal(wb, ref);
	/* the workbase holds its own references */
	free_txs(txs, ref->tx_count);
	assert_int_equal(wb->txs[1]->len, strlen(FIXTURE_DATA1) / 2);
	assert_same_block(wb, ref);
	workbase_unref(wb);
	workbase_unref(ref);
	json_decref(gbt);
}

static void test_from_parts_without_transactions(void **state)
{
	json_t *gbt = fixture_empty_gbt("207fffff");
	char err[256];
	struct workbase *ref = workbase_from_gbt(gbt, err, sizeof(err));
	struct workbase_parts p = parts_of(ref);
	struct workbase *wb = workbase_from_parts(&p, NULL, 0, err, sizeof(err));

	(void)state;
	assert_non_null(wb);
	assert_workbases_equal(wb, ref);
	workbase_unref(wb);
	workbase_unref(ref);
	json_decref(gbt);
}

static void test_from_parts_checks_fields(void **state)
{
	json_t *gbt = fixture_gbt();
	char err[256];
	struct workbase *ref = workbase_from_gbt(gbt, err, sizeof(err));
	struct wb_tx **txs = raw_txs_of(ref);
	struct workbase_parts p;

	(void)state;
	p = parts_of(ref);
	p.bits = 0x1d80ffff;
	assert_null(workbase_from_parts(&p, txs, 2, err, sizeof(err)));
	assert_string_equal(err, "template: bits 1d80ffff is not a valid compact target");
	p = parts_of(ref);
	p.witness_commitment_len = 0;
	assert_null(workbase_from_parts(&p, txs, 2, err, sizeof(err)));
	assert_string_equal(err, "template: witness transactions but no witness commitment");
	p = parts_of(ref);
	p.witness_commitment[0] = 0x51;
	assert_null(workbase_from_parts(&p, txs, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "6a24aa21a9ed"));
	p = parts_of(ref);
	p.height = -1;
	assert_null(workbase_from_parts(&p, txs, 2, err, sizeof(err)));
	assert_string_equal(err, "template: height -1 out of range");
	p = parts_of(ref);
	p.coinbasevalue = 2100000000000001LL;
	assert_null(workbase_from_parts(&p, txs, 2, err, sizeof(err)));
	p = parts_of(ref);
	memset(p.longpollid, 'x', sizeof(p.longpollid)); /* no NUL */
	assert_null(workbase_from_parts(&p, txs, 2, err, sizeof(err)));
	p = parts_of(ref);
	assert_null(workbase_from_parts(&p, txs, WORKBASE_MAX_TXS + 1, err, sizeof(err)));
	free_txs(txs, 2);
	workbase_unref(ref);
	json_decref(gbt);
}

/* The GBT path records wtxids (the txid when "hash" is absent). */
static void test_gbt_records_wtxids(void **state)
{
	json_t *gbt = fixture_gbt();
	char err[256];
	struct workbase *wb;
	uint8_t expect[32];

	(void)state;
	json_object_del(json_array_get(json_object_get(gbt, "transactions"), 0), "hash");
	wb = workbase_from_gbt(gbt, err, sizeof(err));
	assert_non_null(wb);
	from_hex_reversed(FIXTURE_TXID0, expect);
	assert_memory_equal(wb->wtxids[0], expect, 32);
	from_hex_reversed(FIXTURE_WTXID1, expect);
	assert_memory_equal(wb->wtxids[1], expect, 32);
	workbase_unref(wb);
	json_decref(gbt);
}

/* Signet templates carry the BIP 325 challenge; it is kept on the
 * workbase (pointing into its private copy of the template). */
static void test_signet_challenge_is_kept(void **state)
{
	json_t *gbt = fixture_gbt();
	struct workbase *wb = workbase_from_gbt(gbt, NULL, 0);

	(void)state;
	assert_non_null(wb);
	assert_null(wb->signet_challenge);
	workbase_unref(wb);
	json_object_set_new(gbt, "signet_challenge", json_string("51"));
	wb = workbase_from_gbt(gbt, NULL, 0);
	json_decref(gbt);       /* the workbase holds its own copy */
	assert_non_null(wb);
	assert_string_equal(wb->signet_challenge, "51");
	workbase_unref(wb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parses_a_good_template),
		cmocka_unit_test(test_empty_template_has_no_branch),
		cmocka_unit_test(test_refcounting),
		cmocka_unit_test(test_stratum_prevhash_swaps_words),
		cmocka_unit_test(test_each_malformed_field_names_itself),
		cmocka_unit_test(test_malformed_transactions),
		cmocka_unit_test(test_legacy_template_needs_no_commitment),
		cmocka_unit_test(test_compact_bits),
		cmocka_unit_test(test_from_parts_equals_from_gbt),
		cmocka_unit_test(test_from_parts_without_transactions),
		cmocka_unit_test(test_from_parts_checks_fields),
		cmocka_unit_test(test_gbt_records_wtxids),
		cmocka_unit_test(test_signet_challenge_is_kept),
	};

	return cmocka_run_group_tests_name("workbase", tests, NULL, NULL);
}
