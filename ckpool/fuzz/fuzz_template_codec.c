/*
 * fuzz_template_codec.c - libFuzzer target: the relay link's binary
 * TEMPLATE payload as a relay decodes it (template_codec.c), and the
 * workbase built from it.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * The input is one TEMPLATE payload, decoded against a ring that holds the
 * two transactions of a fixed template (so REF entries can resolve). What
 * decodes must survive two round trips: encoded again FULL and decoded with
 * no ring, then encoded as REFs against a ring holding it and decoded
 * against that ring; both must give back the same fields and transactions
 * (by reference: when no two share a wtxid, see distinct_wtxids).
 * Then workbase_from_parts() gets it. Any mismatch aborts.
 *
 * FUZZ_WRITE_SEEDS=dir writes the fixed template's payloads (FULL, with
 * branch, and all-REF) there as seeds.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template_codec.h"
#include "workbase.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_gbt[] =
	"{\"version\":536870912,\"previousblockhash\":"
	"\"000000000000000000026e3f2ab5ec1b2d6d3a9b1f27a1bf3b3d3f66e9e7b2a1\","
	"\"bits\":\"207fffff\",\"curtime\":1700000000,\"mintime\":1699990000,\"height\":800000,"
	"\"coinbasevalue\":625000000,\"default_witness_commitment\":"
	"\"6a24aa21a9ede2f61c3f71d1defd3fa999dfa36953755c690689799962b48bebd836974e8cf9\","
	"\"longpollid\":\"poll-1\",\"transactions\":["
	"{\"data\":\"0100000001aa\",\"txid\":"
	"\"8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87\",\"fee\":100,"
	"\"sigops\":4,\"weight\":24},"
	"{\"data\":\"020000000001bbcc\",\"txid\":"
	"\"fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4\",\"hash\":"
	"\"1111111111111111111111111111111111111111111111111111111111111111\"}]}";

static struct template_ring known;

static void mismatch(const char *why, const char *detail)
{
	fprintf(stderr, "template codec fuzz: %s%s%s\n", why, detail ? ": " : "",
		detail ? detail : "");
	abort();
}

static const uint8_t *payload(const struct relay_msg *m)
{
	return m->bytes + RELAY_HEADER_LEN;
}

static size_t payload_len(const struct relay_msg *m)
{
	return m->len - RELAY_HEADER_LEN;
}

static void write_seed(const char *dir, const char *name, const struct relay_msg *m)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(payload(m), 1, payload_len(m), f) != payload_len(m))
		mismatch("cannot write seed", path);
	fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = getenv("FUZZ_WRITE_SEEDS");
	json_error_t jerr;
	json_t *gbt = json_loads(fixed_gbt, 0, &jerr);
	struct workbase *wb;
	struct txmap pool;
	struct template_enc *e;
	struct template_sent sent;
	struct relay_msg *full, *branch, *refs;
	char err[256] = "";

	(void)argc;
	(void)argv;
	wb = gbt ? workbase_from_gbt(gbt, err, sizeof(err)) : NULL;
	json_decref(gbt);
	if (!wb)
		mismatch("fixed template refused", err);
	txmap_init(&pool);
	e = template_enc_from_workbase(wb, &pool);
	template_ring_init(&known);
	template_ring_push(&known, e);
	template_sent_init(&sent);
	full = template_frame(e, &sent, TEMPLATE_FLAG_FULL, 1, NULL);
	branch = template_frame(e, &sent, TEMPLATE_FLAG_FULL | TEMPLATE_FLAG_BRANCH, 2, NULL);
	template_sent_settle(&sent, false);
	refs = template_frame(e, &sent, TEMPLATE_FLAG_BRANCH, 3, NULL);
	if (seeds) {
		write_seed(seeds, "full", full);
		write_seed(seeds, "full_branch", branch);
		write_seed(seeds, "refs", refs);
	}
	relay_msg_unref(full);
	relay_msg_unref(branch);
	relay_msg_unref(refs);
	template_sent_free(&sent);
	template_enc_unref(e);
	txmap_free(&pool);
	workbase_unref(wb);
	return 0;
}

static void same_parts(const struct workbase_parts *a, const struct workbase_parts *b)
{
	if (a->version != b->version || memcmp(a->prevhash, b->prevhash, 32) || a->bits != b->bits
	    || a->curtime != b->curtime || a->mintime != b->mintime || a->height != b->height
	    || a->coinbasevalue != b->coinbasevalue
	    || a->witness_commitment_len != b->witness_commitment_len
	    || memcmp(a->witness_commitment, b->witness_commitment, a->witness_commitment_len)
	    || strcmp(a->longpollid, b->longpollid))
		mismatch("header fields differ after a round trip", NULL);
	if (a->has_branch != b->has_branch
	    || (a->has_branch && (a->branch_len != b->branch_len
				  || memcmp(a->branch, b->branch, 32 * a->branch_len))))
		mismatch("merkle branch differs after a round trip", NULL);
}

static void same_template(const struct template_enc *a, const struct template_enc *b)
{
	same_parts(&a->parts, &b->parts);
	if (a->n != b->n || a->raw_bytes != b->raw_bytes)
		mismatch("transaction count or size differs after a round trip", NULL);
	for (size_t i = 0; i < a->n; i++) {
		const struct wb_tx *x = a->txs[i], *y = b->txs[i];

		if (memcmp(x->txid, y->txid, 32) || memcmp(x->wtxid, y->wtxid, 32) || x->fee != y->fee
		    || x->sigops != y->sigops || x->weight != y->weight || x->len != y->len
		    || memcmp(x->data, y->data, x->len))
			mismatch("a transaction differs after a round trip", NULL);
	}
}

/* REFs name transactions by wtxid: a template in which two transactions
 * share one (the primary's node never sends that; the link does not check
 * data against ids) comes back by reference as the first of them each time. */
static bool distinct_wtxids(const struct template_enc *e)
{
	for (size_t i = 0; i < e->n; i++)
		for (size_t j = i + 1; j < e->n; j++)
			if (!memcmp(e->txs[i]->wtxid, e->txs[j]->wtxid, 32))
				return false;
	return true;
}

/* Encodes e FULL (keeping its branch flag) and decodes it with no ring;
 * then as REFs, decoded against a ring that holds it. */
static void round_trips(struct template_enc *e)
{
	unsigned branch = e->flags & TEMPLATE_FLAG_BRANCH;
	struct template_sent sent;
	struct template_ring ring;
	struct template_enc *back = NULL, *by_ref = NULL;
	struct relay_msg *m;
	char err[256];

	template_sent_init(&sent);
	m = template_frame(e, &sent, TEMPLATE_FLAG_FULL | branch, e->send_us, NULL);
	if (!m) {
		template_sent_free(&sent);
		return;                      /* too big to send (bounded by RELAY_MAX_PAYLOAD) */
	}
	if (template_decode(payload(m), payload_len(m), NULL, &back, err, sizeof(err)))
		mismatch("a FULL re-encoding does not decode", err);
	same_template(e, back);
	relay_msg_unref(m);

	template_sent_settle(&sent, false);
	m = template_frame(e, &sent, branch, e->send_us, NULL);
	template_ring_init(&ring);
	template_ring_push(&ring, back);
	if (!m || template_decode(payload(m), payload_len(m), &ring, &by_ref, err, sizeof(err)))
		mismatch("a REF re-encoding does not decode against its ring", err);
	if (distinct_wtxids(e))
		same_template(e, by_ref);
	else if (by_ref->n != e->n)
		mismatch("transaction count differs after a REF round trip", NULL);
	relay_msg_unref(m);
	template_enc_unref(by_ref);
	template_enc_unref(back);
	template_ring_reset(&ring);
	template_sent_free(&sent);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct template_enc *e = NULL;
	struct workbase *wb;
	uint64_t send_us, workbase_id;
	char err[256];
	int rc;

	rc = template_peek(data, size, &send_us, &workbase_id);
	if ((rc == 0) != (size >= 16))
		mismatch("template_peek disagrees with the payload length", NULL);
	rc = template_decode(data, size, &known, &e, err, sizeof(err));
	if (rc != TEMPLATE_OK) {
		if (e || !err[0])
			mismatch("a refused template without a message, or with a result", NULL);
		return 0;
	}
	if (e->send_us != send_us || e->workbase_id != workbase_id)
		mismatch("template_peek and template_decode disagree", NULL);
	round_trips(e);
	wb = template_enc_workbase(e, err, sizeof(err));
	workbase_unref(wb);
	template_enc_unref(e);
	return 0;
}
