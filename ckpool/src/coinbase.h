/*
 * coinbase.h - the coinbase transaction for one miner on one workbase.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * The coinbase is serialized WITHOUT witness (the form whose sha256d is the
 * txid and that stratum miners hash) and split around the extranonce:
 *
 *   coinb1 || extranonce1 || extranonce2 || coinb2
 *
 *   coinb1: version (2) | 1 input | null prevout (32 zero bytes, index
 *           0xffffffff) | scriptSig length | BIP34 height | pool sig push |
 *           miner sig push | extranonce push opcode
 *   coinb2: sequence 0xffffffff | output count | coinbasevalue to the
 *           miner's script | [0-value witness commitment output] | locktime 0
 *
 * scriptSig: the height as Bitcoin Core pushes it (buf_append_script_num),
 * then btcsig and the miner's sig as data pushes (each at most 75 bytes,
 * empty ones left out), then one push of nonce1_len + nonce2_len bytes - the
 * extranonce - so the scriptSig stays push-only. The whole scriptSig is
 * 2..100 bytes: signatures are truncated (pool's first, miner's with what
 * is left) after reserving the height and extranonce space.
 *
 * Block assembly (block.h) turns this into the witness serialization when
 * the workbase has a witness commitment: marker 00, flag 01 and one witness
 * item of 32 zero bytes (the BIP141 reserved value).
 *
 * Pure layer: no I/O, no globals, no threads of its own; includes only
 * pure headers (make -C ckpool check-layers); unit tested in tests/.
 */
#ifndef CKPOOL_COINBASE_H
#define CKPOOL_COINBASE_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "workbase.h"

#define COINBASE_VERSION 2
#define COINBASE_SCRIPTSIG_MIN 2
#define COINBASE_SCRIPTSIG_MAX 100
/* Longest extranonce (nonce1 + nonce2) one direct push can carry. */
#define COINBASE_EXTRANONCE_MAX 75
/* Longest signature push kept. */
#define COINBASE_SIG_MAX 75

struct coinbase_params {
	const uint8_t *script; size_t script_len;   /* miner's payout scriptPubKey, 1..10000 bytes */
	const char *pool_sig;                       /* btcsig, may be NULL */
	const char *miner_sig;                      /* from coinbase_sigs, may be NULL */
	size_t nonce1_len, nonce2_len;              /* extranonce space between the halves */
};

/* Builds coinb1/coinb2 (appended to the given buffers, which the caller
 * initializes and frees). 0 on success, -1 with err set when the params
 * cannot make a valid coinbase (no payout script, extranonce too long). */
int coinbase_build(const struct workbase *wb, const struct coinbase_params *p,
		   struct buf *coinb1, struct buf *coinb2, char *err, size_t errlen);

/* Appends coinb1 || nonce1 || nonce2 || coinb2: the full coinbase without
 * witness, what block_assemble_hex() takes. */
void coinbase_join(struct buf *out, const uint8_t *coinb1, size_t coinb1_len,
		   const uint8_t *nonce1, size_t nonce1_len, const uint8_t *nonce2,
		   size_t nonce2_len, const uint8_t *coinb2, size_t coinb2_len);

#endif
