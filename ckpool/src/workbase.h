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
 *   default_witness_commitment (optional script hex), longpollid (optional),
 *   signet_challenge (optional script hex, signet only).
 * transactions[].txid (not .hash, the wtxid) builds the merkle tree.
 *
 * workbase_from_parts() builds the same workbase from fields already
 * decoded (the relay link's binary TEMPLATE frame, template_codec.h) and
 * raw transactions held by reference (struct wb_tx): no JSON, no hex.
 * Such a workbase has txs[] instead of tx_data_hex[] and no gbt.
 *
 * Pure layer: no I/O, no globals, no threads of its own; includes only
 * pure headers (make -C ckpool check-layers); unit tested in tests/.
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

/* One template transaction in raw form: immutable once built, shared by
 * reference between workbases and the relay link's transaction caches. */
struct wb_tx {
	atomic_int refs;
	uint8_t txid[32];         /* internal order */
	uint8_t wtxid[32];        /* internal order; equals txid without witness */
	int64_t fee;              /* satoshis, as getblocktemplate reported it (0 if absent) */
	uint32_t sigops, weight;  /* as reported (0 if absent) */
	uint32_t len;             /* bytes of data */
	uint8_t data[];           /* the serialized transaction */
};

/* A new transaction (refs = 1) with a copy of data; data NULL leaves the
 * len bytes for the caller to fill before sharing it. */
struct wb_tx *wb_tx_new(const uint8_t txid[32], const uint8_t wtxid[32], int64_t fee,
			uint32_t sigops, uint32_t weight, const void *data, uint32_t len);
struct wb_tx *wb_tx_ref(struct wb_tx *tx);
/* Drops a reference, freeing with the last. NULL is ignored. */
void wb_tx_unref(struct wb_tx *tx);

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
	uint8_t (*wtxids)[32];    /* internal order; the txid when the template gave no hash */
	/* The transactions, exactly one of: */
	const char **tx_data_hex; /* hex; point into gbt (workbase_from_gbt), else NULL */
	struct wb_tx **txs;       /* raw, one reference each (workbase_from_parts), else NULL */
	size_t tx_data_hex_len;   /* total hex characters of all transactions (2 x raw bytes) */
	size_t branch_len;
	uint8_t (*branch)[32];    /* merkle branch of the coinbase, bottom up */
	uint8_t witness_commitment[WITNESS_COMMITMENT_LEN];
	size_t witness_commitment_len; /* 0 when the template has none */
	bool has_witness_txs;     /* some transaction's hash (wtxid) differs from its txid */
	char longpollid[128];     /* "" when absent */
	const char *signet_challenge; /* BIP 325 challenge script hex, pointing into gbt;
				   * NULL when absent (not signet) or from parts */
	json_t *gbt;              /* workbase_from_gbt: a private copy of the template (read-only,
				   * per-transaction fee/sigops/weight for the relay link); NULL
				   * for workbase_from_parts */
};

/* The header fields of a template, decoded (workbase_from_parts). */
struct workbase_parts {
	int32_t version;
	uint8_t prevhash[32];     /* internal byte order */
	uint32_t bits, curtime, mintime;
	int64_t height, coinbasevalue;
	uint8_t witness_commitment[WITNESS_COMMITMENT_LEN];
	size_t witness_commitment_len; /* 0 or WITNESS_COMMITMENT_LEN */
	char longpollid[128];     /* NUL-terminated, "" when absent */
	/* The coinbase's merkle branch as the sender computed it (the relay
	 * link carries the primary's), or has_branch false to compute it here. */
	bool has_branch;
	size_t branch_len;        /* must be merkle_branch_len(n) */
	uint8_t branch[MERKLE_BRANCH_MAX][32];
};

/* Builds a workbase (refs = 1, id = 0) from a getblocktemplate result; the
 * result is deep-copied, the caller keeps its own. NULL plus a specific
 * message in err on malformed input, e.g.
 *   "getblocktemplate: missing field 'bits'"
 *   "getblocktemplate: 'previousblockhash' must be 64 hex digits"
 *   "getblocktemplate: transactions[3].txid must be 64 hex digits" */
struct workbase *workbase_from_gbt(const json_t *gbt, char *err, size_t errlen);

/* Builds a workbase (refs = 1, id = 0) from decoded fields and n raw
 * transactions (each gets a new reference; the caller keeps its own). The
 * same checks as workbase_from_gbt, with messages prefixed "template: ",
 * e.g. "template: bits 1d80ffff is not a valid compact target". The
 * result equals workbase_from_gbt's for the same template, except that it
 * holds txs instead of tx_data_hex and has no gbt. */
struct workbase *workbase_from_parts(const struct workbase_parts *parts, struct wb_tx *const *txs,
				     size_t n, char *err, size_t errlen);

/* Adds a reference; returns wb. */
struct workbase *workbase_ref(struct workbase *wb);
/* Drops a reference, freeing the workbase with the last. NULL is ignored. */
void workbase_unref(struct workbase *wb);

/* Stratum mining.notify forms (64 hex digits + NUL):
 * prevhash as internal-order bytes with each 4-byte word reversed, which is
 * what miners expect; branch entries are plain internal-order hex. */
void workbase_stratum_prevhash(const struct workbase *wb, char out[65]);

#endif
