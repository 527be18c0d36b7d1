/*
 * block.h - full block serialization for submitblock.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * A solved share becomes a block: the 80-byte header share_compute() built,
 * the transaction count, the coinbase - in witness serialization (BIP144:
 * marker 00, flag 01, one witness item of 32 zero bytes) when the workbase
 * carries a witness commitment, plain otherwise - then every template
 * transaction's data verbatim (the template's hex, or raw bytes hex-encoded
 * for a workbase built from parts).
 *
 * Pure layer: no I/O, no globals, no threads of its own; includes only
 * pure headers (make -C ckpool check-layers); unit tested in tests/.
 */
#ifndef CKPOOL_BLOCK_H
#define CKPOOL_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "workbase.h"

/* Full block as a malloc'd lowercase hex string (caller frees):
 * header || varint(n+1) || coinbase || template transactions.
 * coinbase_nowit is coinb1 || nonce1 || nonce2 || coinb2. NULL when the
 * coinbase is too short to be a transaction (< 10 bytes). */
char *block_assemble_hex(const struct workbase *wb, const uint8_t header[80],
			 const uint8_t *coinbase_nowit, size_t coinbase_len);

/* Appends the coinbase in the serialization the block needs: with marker,
 * flag and the 32-zero-byte witness when wb has a witness commitment,
 * verbatim otherwise. -1 when coinbase_len < 10. */
int block_append_coinbase(struct buf *out, const struct workbase *wb,
			  const uint8_t *coinbase_nowit, size_t coinbase_len);

/* The block hash of a header in display order: 64 hex digits + NUL. */
void block_hash_hex(const uint8_t header[80], char out[65]);

#endif
