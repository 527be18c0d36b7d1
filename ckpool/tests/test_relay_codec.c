/*
 * test_relay_codec.c - the binary TEMPLATE payload (template_codec.h):
 * every field through a round trip, full and referenced entries, the
 * rings both ends keep, unknown references, and malformed payloads
 * (every truncation, lying lengths, trailing bytes).
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "gbt_fixture.h"
#include "template_codec.h"
#include "workbase.h"
#include "workbase_compare.h"

#include <stdio.h>

#define TXID2 "2222222222222222222222222222222222222222222222222222222222222222"
#define DATA2 "03000000aabbccddeeff"

/* The fixture with fee/sigops/weight on each transaction. */
static json_t *gbt_with_meta(void)
{
	json_t *gbt = fixture_gbt();
	json_t *txs = json_object_get(gbt, "transactions");

	for (size_t i = 0; i < json_array_size(txs); i++) {
		json_t *tx = json_array_get(txs, i);

		json_object_set_new(tx, "fee", json_integer(1000 + (json_int_t)i));
		json_object_set_new(tx, "sigops", json_integer(4 + (json_int_t)i));
		json_object_set_new(tx, "weight", json_integer(800 + (json_int_t)i));
	}
	return gbt;
}

/* The fixture's first transaction kept, the second replaced by TXID2. */
static json_t *next_gbt(void)
{
	json_t *gbt = gbt_with_meta();
	json_t *txs = json_object_get(gbt, "transactions");

	json_array_set_new(txs, 1, json_pack("{s:s, s:s, s:s, s:i}", "data", DATA2, "txid",
					     TXID2, "hash", TXID2, "fee", 7));
	json_object_set_new(gbt, "curtime", json_integer(1700000100));
	return gbt;
}

static struct workbase *wb_of(json_t *gbt, uint64_t id)
{
	char err[256];
	struct workbase *wb = workbase_from_gbt(gbt, err, sizeof(err));

	if (!wb)
		fail_msg("%s", err);
	wb->id = id;
	return wb;
}

static const uint8_t *payload(const struct relay_msg *m)
{
	return m->bytes + RELAY_HEADER_LEN;
}

static size_t payload_len(const struct relay_msg *m)
{
	return m->len - RELAY_HEADER_LEN;
}

static void test_cold_round_trip_every_field(void **state)
{
	json_t *gbt = gbt_with_meta();
	struct workbase *wb = wb_of(gbt, 0xabcdef), *got;
	struct txmap pool;
	struct template_sent sent;
	struct template_frame_stats st;
	struct template_enc *e, *d;
	struct relay_msg *m;
	char err[256];
	uint64_t send_us, id;

	(void)state;
	txmap_init(&pool);
	template_sent_init(&sent);
	e = template_enc_from_workbase(wb, &pool);
	assert_int_equal(pool.used, 2);
	m = template_frame(e, &sent, false, 1716556800123456ULL, &st);
	assert_non_null(m);
	assert_int_equal(m->type, RELAY_TEMPLATE);
	assert_int_equal(st.full, 2);
	assert_int_equal(st.refs, 0);
	assert_int_equal(template_peek(payload(m), payload_len(m), &send_us, &id), 0);
	assert_int_equal(send_us, 1716556800123456ULL);
	assert_int_equal(id, 0xabcdef);

	assert_int_equal(template_decode(payload(m), payload_len(m), NULL, &d, err, sizeof(err)),
			 TEMPLATE_OK);
	assert_int_equal(d->send_us, 1716556800123456ULL);
	assert_int_equal(d->workbase_id, 0xabcdef);
	assert_int_equal(d->flags, 0);
	assert_int_equal(d->full_entries, 2);
	assert_int_equal(d->parts.version, 0x20000000);
	assert_memory_equal(d->parts.prevhash, wb->prevhash, 32);
	assert_int_equal(d->parts.bits, 0x1d00ffff);
	assert_int_equal(d->parts.curtime, 1700000000);
	assert_int_equal(d->parts.mintime, 1699990000);
	assert_int_equal(d->parts.height, 800000);
	assert_int_equal(d->parts.coinbasevalue, 625000000);
	assert_int_equal(d->parts.witness_commitment_len, WITNESS_COMMITMENT_LEN);
	assert_memory_equal(d->parts.witness_commitment, wb->witness_commitment, 38);
	assert_string_equal(d->parts.longpollid, "poll-1");
	assert_int_equal(d->n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_memory_equal(d->txs[i]->txid, wb->txids[i], 32);
		assert_memory_equal(d->txs[i]->wtxid, wb->wtxids[i], 32);
		assert_int_equal(d->txs[i]->fee, 1000 + (int64_t)i);
		assert_int_equal(d->txs[i]->sigops, 4 + i);
		assert_int_equal(d->txs[i]->weight, 800 + i);
		assert_bytes_hex(d->txs[i]->data, d->txs[i]->len, wb->tx_data_hex[i]);
	}
	got = template_enc_workbase(d, err, sizeof(err));
	assert_non_null(got);
	assert_workbases_equal(got, wb);

	workbase_unref(got);
	template_enc_unref(d);
	relay_msg_unref(m);
	template_enc_unref(e);
	template_sent_free(&sent);
	txmap_free(&pool);
	workbase_unref(wb);
	json_decref(gbt);
}

/* Primary and relay side by side: cold, then warm (references). */
static void test_warm_template_references_known_transactions(void **state)
{
	json_t *g1 = gbt_with_meta(), *g2 = next_gbt();
	struct workbase *w1 = wb_of(g1, 1), *w2 = wb_of(g2, 2), *got;
	struct txmap pool;
	struct template_sent sent;
	struct template_ring relay;
	struct template_frame_stats st;
	struct template_enc *e1, *e2, *d;
	struct relay_msg *m1, *m2;
	char err[256];

	(void)state;
	txmap_init(&pool);
	template_sent_init(&sent);
	template_ring_init(&relay);
	e1 = template_enc_from_workbase(w1, &pool);
	m1 = template_frame(e1, &sent, false, 10, NULL);
	assert_int_equal(template_decode(payload(m1), payload_len(m1), &relay, &d, err,
					 sizeof(err)), TEMPLATE_OK);
	template_ring_push(&relay, d);
	template_enc_unref(d);

	e2 = template_enc_from_workbase(w2, &pool);
	assert_ptr_equal(e2->txs[0], e1->txs[0]);      /* decoded once on the primary */
	template_sent_settle(&sent, false);            /* m1 went out */
	m2 = template_frame(e2, &sent, false, 20, &st);
	assert_int_equal(st.refs, 1);
	assert_int_equal(st.full, 1);
	assert_true(m2->len < m1->len);

	/* a relay that never saw m1 cannot complete m2 */
	assert_int_equal(template_decode(payload(m2), payload_len(m2), NULL, &d, err, sizeof(err)),
			 TEMPLATE_MISSING);
	assert_string_equal(err, "template: 1 referenced transactions unknown");
	assert_null(d);

	assert_int_equal(template_decode(payload(m2), payload_len(m2), &relay, &d, err,
					 sizeof(err)), TEMPLATE_OK);
	assert_int_equal(d->full_entries, 1);
	got = template_enc_workbase(d, err, sizeof(err));
	assert_non_null(got);
	assert_workbases_equal(got, w2);
	assert_int_equal(got->txs[1]->fee, 7);

	workbase_unref(got);
	template_enc_unref(d);
	relay_msg_unref(m1);
	relay_msg_unref(m2);
	template_enc_unref(e1);
	template_enc_unref(e2);
	template_ring_reset(&relay);
	template_sent_free(&sent);
	txmap_free(&pool);
	workbase_unref(w1);
	workbase_unref(w2);
	json_decref(g1);
	json_decref(g2);
}

static void test_dropped_and_full_templates_reset_references(void **state)
{
	json_t *g1 = gbt_with_meta();
	struct workbase *w1 = wb_of(g1, 1);
	struct txmap pool;
	struct template_sent sent;
	struct template_frame_stats st;
	struct template_enc *e;
	struct relay_msg *m;
	char err[256];

	(void)state;
	txmap_init(&pool);
	template_sent_init(&sent);
	e = template_enc_from_workbase(w1, &pool);
	relay_msg_unref(template_frame(e, &sent, false, 1, NULL));
	/* the queue dropped it unsent: nothing may be referenced */
	template_sent_settle(&sent, true);
	m = template_frame(e, &sent, false, 2, &st);
	assert_int_equal(st.refs, 0);
	relay_msg_unref(m);
	template_sent_settle(&sent, false);
	m = template_frame(e, &sent, false, 3, &st);
	assert_int_equal(st.refs, 2);
	relay_msg_unref(m);
	/* full: no references, the flag set, the ring forgotten */
	template_sent_settle(&sent, false);
	m = template_frame(e, &sent, true, 4, &st);
	assert_int_equal(st.refs, 0);
	assert_int_equal(payload(m)[16], TEMPLATE_FLAG_FULL);
	assert_int_equal(sent.ring.len, 0);
	relay_msg_unref(m);
	(void)err;
	template_enc_unref(e);
	template_sent_free(&sent);
	txmap_free(&pool);
	workbase_unref(w1);
	json_decref(g1);
}

/* One template per generation with one shared and one unique tx: the
 * ring forgets the unique ones beyond TEMPLATE_GENERATIONS. */
static void test_ring_keeps_the_last_generations(void **state)
{
	struct template_ring r;
	struct template_enc *e[TEMPLATE_GENERATIONS + 2];
	uint8_t shared[32] = { 0x5a }, id[32];
	uint8_t byte = 1;

	(void)state;
	template_ring_init(&r);
	for (int g = 0; g < TEMPLATE_GENERATIONS + 2; g++) {
		memset(id, 0, sizeof(id));
		id[0] = (uint8_t)(g + 1);
		e[g] = calloc(1, sizeof(*e[g]));
		atomic_init(&e[g]->refs, 1);
		e[g]->n = 2;
		e[g]->txs = calloc(2, sizeof(struct wb_tx *));
		e[g]->txs[0] = wb_tx_new(shared, shared, 0, 0, 0, &byte, 1);
		e[g]->txs[1] = wb_tx_new(id, id, 0, 0, 0, &byte, 1);
		template_ring_push(&r, e[g]);
		template_enc_unref(e[g]);
	}
	assert_int_equal(r.len, TEMPLATE_GENERATIONS);
	assert_true(template_ring_has(&r, shared));
	assert_int_equal(txmap_find(&r.have, shared)->count, TEMPLATE_GENERATIONS);
	for (int g = 0; g < TEMPLATE_GENERATIONS + 2; g++) {
		memset(id, 0, sizeof(id));
		id[0] = (uint8_t)(g + 1);
		assert_int_equal(template_ring_has(&r, id), g >= 2);
	}
	assert_int_equal(r.have.used, TEMPLATE_GENERATIONS + 1);
	template_ring_reset(&r);
	assert_false(template_ring_has(&r, shared));
}

/* Inserts and removes against a plain array: probe chains stay intact. */
static void test_txmap_insert_remove(void **state)
{
	enum { N = 3000 };
	static uint8_t keys[N][32];
	static bool in[N];
	struct txmap m;
	uint32_t x = 12345;

	(void)state;
	txmap_init(&m);
	for (int i = 0; i < N; i++) {
		for (int b = 0; b < 32; b++) {
			x = x * 1103515245 + 12345;
			keys[i][b] = (uint8_t)(x >> 16);
		}
		keys[i][0] = (uint8_t)(i & 3);  /* crowd a few home slots */
		keys[i][1] = 0;
	}
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < N; i++) {
			x = x * 1103515245 + 12345;
			if ((x >> 16) & 1) {
				if (!in[i])
					txmap_insert(&m, keys[i])->count = 1;
				in[i] = true;
			} else if (in[i]) {
				txmap_remove(&m, txmap_find(&m, keys[i]));
				in[i] = false;
			}
		}
		for (int i = 0; i < N; i++)
			assert_int_equal(txmap_find(&m, keys[i]) != NULL, in[i]);
	}
	txmap_free(&m);
}

static int decode_status(const uint8_t *p, size_t len, char *err, size_t errlen)
{
	struct template_enc *d = NULL;
	int rc = template_decode(p, len, NULL, &d, err, errlen);

	template_enc_unref(d);
	return rc;
}

static void test_malformed_payloads(void **state)
{
	json_t *gbt = gbt_with_meta();
	struct workbase *wb = wb_of(gbt, 9);
	struct txmap pool;
	struct template_sent sent;
	struct template_enc *e;
	struct relay_msg *m;
	const uint8_t *p;
	uint8_t *copy;
	size_t len, count_at, data_len_at;
	char err[256];

	(void)state;
	txmap_init(&pool);
	template_sent_init(&sent);
	e = template_enc_from_workbase(wb, &pool);
	m = template_frame(e, &sent, false, 1, NULL);
	p = payload(m);
	len = payload_len(m);
	copy = malloc(len + 1);

	/* every truncation is refused, none reads past the end (ASan) */
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *t = malloc(cut ? cut : 1);

		memcpy(t, p, cut);
		assert_int_equal(decode_status(t, cut, err, sizeof(err)), TEMPLATE_MALFORMED);
		free(t);
	}
	/* trailing bytes */
	memcpy(copy, p, len);
	copy[len] = 0;
	assert_int_equal(decode_status(copy, len + 1, err, sizeof(err)), TEMPLATE_MALFORMED);
	assert_string_equal(err, "template: 1 bytes after the last transaction");

	count_at = TEMPLATE_FIXED_LEN + 1 + 38 + 1 + 6;
	/* a transaction count the payload cannot hold */
	memcpy(copy, p, len);
	relay_put_u32(copy + count_at, 0xffffffffu);
	assert_int_equal(decode_status(copy, len, err, sizeof(err)), TEMPLATE_MALFORMED);
	assert_non_null(strstr(err, "do not fit"));
	/* a data length beyond the payload */
	data_len_at = count_at + 4 + TEMPLATE_FULL_HEAD_LEN - 4;
	memcpy(copy, p, len);
	relay_put_u32(copy + data_len_at, 4000000);
	assert_int_equal(decode_status(copy, len, err, sizeof(err)), TEMPLATE_MALFORMED);
	assert_non_null(strstr(err, "transaction 0 data length 4000000 exceeds"));
	/* an empty transaction */
	memcpy(copy, p, len);
	relay_put_u32(copy + data_len_at, 0);
	assert_int_equal(decode_status(copy, len, err, sizeof(err)), TEMPLATE_MALFORMED);
	/* an unknown entry kind */
	memcpy(copy, p, len);
	copy[count_at + 4] = 7;
	assert_int_equal(decode_status(copy, len, err, sizeof(err)), TEMPLATE_MALFORMED);
	/* commitment length other than 0 or 38 */
	memcpy(copy, p, len);
	copy[TEMPLATE_FIXED_LEN] = 5;
	assert_int_equal(decode_status(copy, len, err, sizeof(err)), TEMPLATE_MALFORMED);
	/* longpollid too long, or holding a NUL */
	memcpy(copy, p, len);
	copy[TEMPLATE_FIXED_LEN + 39] = 200;
	assert_int_equal(decode_status(copy, len, err, sizeof(err)), TEMPLATE_MALFORMED);
	memcpy(copy, p, len);
	copy[TEMPLATE_FIXED_LEN + 41] = 0;
	assert_int_equal(decode_status(copy, len, err, sizeof(err)), TEMPLATE_MALFORMED);
	/* height above INT32_MAX */
	memcpy(copy, p, len);
	relay_put_u32(copy + 65, 0x80000000u);
	assert_int_equal(decode_status(copy, len, err, sizeof(err)), TEMPLATE_MALFORMED);
	/* and the untouched payload still decodes */
	memcpy(copy, p, len);
	assert_int_equal(decode_status(copy, len, err, sizeof(err)), TEMPLATE_OK);
	/* well formed but semantically wrong: bad bits reach workbase_from_parts */
	{
		struct template_enc *d;
		struct workbase *bad;

		relay_put_u32(copy + 53, 0x1d80ffff);
		assert_int_equal(template_decode(copy, len, NULL, &d, err, sizeof(err)),
				 TEMPLATE_OK);
		bad = template_enc_workbase(d, err, sizeof(err));
		assert_null(bad);
		assert_string_equal(err, "template: bits 1d80ffff is not a valid compact target");
		template_enc_unref(d);
	}
	assert_int_equal(template_peek(p, 15, &(uint64_t){ 0 }, &(uint64_t){ 0 }), -1);

	free(copy);
	relay_msg_unref(m);
	template_enc_unref(e);
	template_sent_free(&sent);
	txmap_free(&pool);
	workbase_unref(wb);
	json_decref(gbt);
}

/* Protocol 3: the frame carries the primary's merkle branch; the relay's
 * workbase takes it instead of hashing, and equals the primary's. */
static void test_branch_round_trip(void **state)
{
	json_t *gbt = gbt_with_meta();
	struct workbase *wb = wb_of(gbt, 5), *got;
	struct template_sent sent, plain;
	struct template_enc *e, *d;
	struct relay_msg *m, *m0;
	struct txmap pool;
	char err[256];
	uint8_t *copy;
	size_t len, branch_at = TEMPLATE_FIXED_LEN + 1 + 38 + 1 + 6;

	(void)state;
	txmap_init(&pool);
	template_sent_init(&sent);
	template_sent_init(&plain);
	e = template_enc_from_workbase(wb, &pool);
	assert_true(e->parts.has_branch);
	assert_int_equal(e->parts.branch_len, wb->branch_len);
	m = template_frame(e, &sent, TEMPLATE_FLAG_FULL | TEMPLATE_FLAG_BRANCH, 1, NULL);
	m0 = template_frame(e, &plain, 0, 1, NULL);
	assert_int_equal(payload_len(m), payload_len(m0) + 1 + 32 * wb->branch_len);
	assert_int_equal(template_decode(payload(m), payload_len(m), NULL, &d, err, sizeof(err)),
			 TEMPLATE_OK);
	assert_int_equal(d->flags, TEMPLATE_FLAG_FULL | TEMPLATE_FLAG_BRANCH);
	assert_true(d->parts.has_branch);
	assert_int_equal(d->parts.branch_len, wb->branch_len);
	assert_memory_equal(d->parts.branch, wb->branch, 32 * wb->branch_len);
	got = template_enc_workbase(d, err, sizeof(err));
	assert_non_null(got);
	assert_workbases_equal(got, wb);
	workbase_unref(got);
	/* a branch whose length does not fit the transactions is refused */
	d->parts.branch_len++;
	assert_null(template_enc_workbase(d, err, sizeof(err)));
	assert_non_null(strstr(err, "merkle branch of"));
	template_enc_unref(d);

	len = payload_len(m);
	copy = malloc(len);
	/* every truncation is refused (ASan: none reads past the end) */
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *t = malloc(cut ? cut : 1);

		memcpy(t, payload(m), cut);
		assert_int_equal(decode_status(t, cut, err, sizeof(err)), TEMPLATE_MALFORMED);
		free(t);
	}
	/* a branch longer than 32 hashes */
	memcpy(copy, payload(m), len);
	copy[branch_at] = MERKLE_BRANCH_MAX + 1;
	assert_int_equal(decode_status(copy, len, err, sizeof(err)), TEMPLATE_MALFORMED);
	assert_non_null(strstr(err, "merkle branch length"));
	/* unknown flags */
	memcpy(copy, payload(m), len);
	copy[16] |= 0x04;
	assert_int_equal(decode_status(copy, len, err, sizeof(err)), TEMPLATE_MALFORMED);
	assert_non_null(strstr(err, "unknown flags"));

	free(copy);
	relay_msg_unref(m);
	relay_msg_unref(m0);
	template_enc_unref(e);
	template_sent_free(&sent);
	template_sent_free(&plain);
	txmap_free(&pool);
	workbase_unref(wb);
	json_decref(gbt);
}

/* The primary's pool is kept across templates: it holds exactly the last
 * template's transactions, sharing those it already had. */
static void test_pool_follows_templates(void **state)
{
	json_t *g1 = gbt_with_meta(), *g2 = next_gbt();
	struct workbase *w1 = wb_of(g1, 1), *w2 = wb_of(g2, 2);
	struct template_enc *e1, *e2, *e3;
	struct txmap pool;

	(void)state;
	txmap_init(&pool);
	e1 = template_enc_from_workbase(w1, &pool);
	assert_int_equal(pool.used, 2);
	e2 = template_enc_from_workbase(w2, &pool);
	assert_int_equal(pool.used, 2);
	assert_ptr_equal(e2->txs[0], e1->txs[0]);
	assert_ptr_equal(txmap_find(&pool, w2->wtxids[1])->tx, e2->txs[1]);
	assert_null(txmap_find(&pool, w1->wtxids[1]));
	e3 = template_enc_from_workbase(w1, &pool);   /* back: the dropped one is decoded again */
	assert_int_equal(pool.used, 2);
	assert_ptr_equal(e3->txs[0], e1->txs[0]);
	assert_ptr_not_equal(e3->txs[1], e1->txs[1]);
	assert_memory_equal(e3->txs[1]->wtxid, e1->txs[1]->wtxid, 32);
	assert_null(txmap_find(&pool, w2->wtxids[1]));
	/* many templates: the pool never keeps more than the last one */
	for (int i = 0; i < 5; i++) {
		template_enc_unref(e3);
		e3 = template_enc_from_workbase(i % 2 ? w1 : w2, &pool);
		assert_int_equal(pool.used, 2);
	}
	template_enc_unref(e1);
	template_enc_unref(e2);
	template_enc_unref(e3);
	txmap_free(&pool);
	workbase_unref(w1);
	workbase_unref(w2);
	json_decref(g1);
	json_decref(g2);
}

/* A template over the frame cap is refused and leaves the state alone. */
static void test_too_big_template(void **state)
{
	uint8_t id[32] = { 1 };
	struct template_enc *e = calloc(1, sizeof(*e));
	struct template_sent sent;

	(void)state;
	atomic_init(&e->refs, 1);
	e->n = 1;
	e->txs = calloc(1, sizeof(struct wb_tx *));
	e->txs[0] = wb_tx_new(id, id, 0, 0, 0, NULL, RELAY_MAX_PAYLOAD);
	memset(e->txs[0]->data, 0, RELAY_MAX_PAYLOAD);
	template_sent_init(&sent);
	assert_null(template_frame(e, &sent, false, 1, NULL));
	assert_null(sent.pending);
	template_enc_unref(e);
	template_sent_free(&sent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cold_round_trip_every_field),
		cmocka_unit_test(test_warm_template_references_known_transactions),
		cmocka_unit_test(test_dropped_and_full_templates_reset_references),
		cmocka_unit_test(test_ring_keeps_the_last_generations),
		cmocka_unit_test(test_txmap_insert_remove),
		cmocka_unit_test(test_malformed_payloads),
		cmocka_unit_test(test_too_big_template),
		cmocka_unit_test(test_branch_round_trip),
		cmocka_unit_test(test_pool_follows_templates),
	};

	return cmocka_run_group_tests_name("relay_codec", tests, NULL, NULL);
}
