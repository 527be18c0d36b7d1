/*
 * gbt_fixture.h - getblocktemplate results for the tests.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Two transactions: a legacy one (txid == hash) and one whose hash differs
 * (a witness transaction), so the template carries a witness commitment.
 * The data strings are opaque to the engine; they only need to be hex.
 */
#ifndef CKPOOL_TEST_GBT_FIXTURE_H
#define CKPOOL_TEST_GBT_FIXTURE_H

#include <jansson.h>

#define FIXTURE_PREVHASH "000000000000000000026e3f2ab5ec1b2d6d3a9b1f27a1bf3b3d3f66e9e7b2a1"
#define FIXTURE_TXID0 "8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87"
#define FIXTURE_TXID1 "fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4"
#define FIXTURE_WTXID1 "1111111111111111111111111111111111111111111111111111111111111111"
#define FIXTURE_DATA0 "0100000001aa"
#define FIXTURE_DATA1 "020000000001bbcc"
#define FIXTURE_COMMITMENT \
	"6a24aa21a9ede2f61c3f71d1defd3fa999dfa36953755c690689799962b48bebd836974e8cf9"

static inline json_t *fixture_gbt(void)
{
	return json_pack("{s:i, s:s, s:s, s:i, s:i, s:i, s:I, s:s, s:s, s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}]}",
			 "version", 0x20000000,
			 "previousblockhash", FIXTURE_PREVHASH,
			 "bits", "1d00ffff",
			 "curtime", 1700000000,
			 "mintime", 1699990000,
			 "height", 800000,
			 "coinbasevalue", (json_int_t)625000000,
			 "default_witness_commitment", FIXTURE_COMMITMENT,
			 "longpollid", "poll-1",
			 "transactions",
			 "data", FIXTURE_DATA0, "txid", FIXTURE_TXID0, "hash", FIXTURE_TXID0,
			 "data", FIXTURE_DATA1, "txid", FIXTURE_TXID1, "hash", FIXTURE_WTXID1);
}

/* A template with no transactions and no commitment at the given bits. */
static inline json_t *fixture_empty_gbt(const char *bits)
{
	return json_pack("{s:i, s:s, s:s, s:i, s:i, s:i, s:I, s:[]}",
			 "version", 0x20000000,
			 "previousblockhash", FIXTURE_PREVHASH,
			 "bits", bits,
			 "curtime", 1700000000,
			 "mintime", 1699990000,
			 "height", 1,
			 "coinbasevalue", (json_int_t)5000000000LL,
			 "transactions");
}

#endif
