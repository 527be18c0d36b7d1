/*
 * workbase.h - one block template (getblocktemplate result) ready to mine.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * workbase_from_gbt() validates every field the engine uses and precomputes
 * what every share needs (target, merkle branch, witness commitment). The
 * result is immutable and shared between threads by reference counting:
 * the creator holds one reference; workbase_ref() adds one, workbase_unref()
 * drops one and frees the workbase with the last.
 *
 * The same function builds a workbase from a template the primary relayed,
 * so a relay region mines exactly the primary's block.
 *
 * Fields read from the template (BIP22/BIP23/BIP141 getblocktemplate):
 *   version (int32), previousblockhash (64 hex), bits (8 hex), curtime,
 *   mintime, height, coinbasevalue, transactions[] {data, txid, hash?},
 *   default_witness_commitment (optional script hex), longpollid (optional).
 * transactions[].txid (not .hash, the wtxid) builds the merkle tree.
 */
#ifndef CKPOOL_WORKBASE_H
#define CKPOOL_WORKBASE_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"

/* OP_RETURN, push 36, the BIP141 tag aa21a9ed, then the 32-byte commitment. */
#define WITNESS_COMMITMENT_LEN 38
/* Most transactions accepted in one template (a 4 MWU block holds < 25k). */
#define WORKBASE_MAX_TXS 100000

struct workbase {
	atomic_int refs;          /* workbase_ref / workbase_unref */
	uint64_t id;              /* assigned by the generator; job ids derive from it */
	int32_t version;
	uint8_t prevhash[32];     /* internal byte order (as hashed in the header) */
	uint32_t bits, curtime, mintime;
	uint8_t target[32];       /* network target, big-endian for comparisons */
	double network_diff;
	int64_t height, coinbasevalue;
	size_t tx_count;          /* excluding the coinbase */
	uint8_t (*txids)[32];     /* internal order, for the merkle branch */
	const char **tx_data_hex; /* raw transactions; point into gbt, valid while the workbase lives */
	size_t tx_data_hex_len;   /* total hex characters of all transactions */
	size_t branch_len;
	uint8_t (*branch)[32];    /* merkle branch of the coinbase, bottom up */
	uint8_t witness_commitment[WITNESS_COMMITMENT_LEN];
	size_t witness_commitment_len; /* 0 when the template has none */
	bool has_witness_txs;     /* some transaction's hash (wtxid) differs from its txid */
	char longpollid[128];     /* "" when absent */
	json_t *gbt;              /* a private copy of the template, for relaying; read-only */
};

/* Builds a workbase (refs = 1, id = 0) from a getblocktemplate result; the
 * result is deep-copied, the caller keeps its own. NULL plus a specific
 * message in err on malformed input, e.g.
 *   "getblocktemplate: missing field 'bits'"
 *   "getblocktemplate: 'previousblockhash' must be 64 hex digits"
 *   "getblocktemplate: transactions[3].txid must be 64 hex digits" */
struct workbase *workbase_from_gbt(const json_t *gbt, char *err, size_t errlen);

/* Adds a reference; returns wb. */
struct workbase *workbase_ref(struct workbase *wb);
/* Drops a reference, freeing the workbase with the last. NULL is ignored. */
void workbase_unref(struct workbase *wb);

/* Stratum mining.notify forms (64 hex digits + NUL):
 * prevhash as internal-order bytes with each 4-byte word reversed, which is
 * what miners expect; branch entries are plain internal-order hex. */
void workbase_stratum_prevhash(const struct workbase *wb, char out[65]);

/* Network target from compact bits (big-endian). 0 on success, -1 when
 * bits are negative, zero or overflow 256 bits. */
int target_from_bits(uint32_t bits, uint8_t target[32]);

#endif
