/*
 * workbase_compare.h - asserts that two workbases mine the same block:
 * every field, the merkle branch and block_assemble_hex()'s output.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Used to check a workbase built from the relay link's binary template
 * (workbase_from_parts) against workbase_from_gbt of the same template.
 */
#ifndef CKPOOL_TEST_WORKBASE_COMPARE_H
#define CKPOOL_TEST_WORKBASE_COMPARE_H

#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "workbase.h"

static inline void assert_same_block(const struct workbase *a, const struct workbase *b)
{
	static const uint8_t coinbase[] = {
		0x01, 0x00, 0x00, 0x00, 0x01, 0xaa, 0xbb, 0x01, 0xcc, 0x00, 0x00, 0x00, 0x00,
	};
	uint8_t header[80];
	char *ha, *hb;

	for (size_t i = 0; i < sizeof(header); i++)
		header[i] = (uint8_t)(i * 7);
	ha = block_assemble_hex(a, header, coinbase, sizeof(coinbase));
	hb = block_assemble_hex(b, header, coinbase, sizeof(coinbase));
	assert_non_null(ha);
	assert_non_null(hb);
	assert_string_equal(ha, hb);
	free(ha);
	free(hb);
}

static inline void assert_workbases_equal(const struct workbase *a, const struct workbase *b)
{
	assert_int_equal(a->version, b->version);
	assert_memory_equal(a->prevhash, b->prevhash, 32);
	assert_int_equal(a->bits, b->bits);
	assert_int_equal(a->curtime, b->curtime);
	assert_int_equal(a->mintime, b->mintime);
	assert_memory_equal(a->target, b->target, 32);
	assert_true(a->network_diff == b->network_diff);
	assert_int_equal(a->height, b->height);
	assert_int_equal(a->coinbasevalue, b->coinbasevalue);
	assert_int_equal(a->tx_count, b->tx_count);
	if (a->tx_count) {
		assert_memory_equal(a->txids, b->txids, a->tx_count * 32);
		assert_memory_equal(a->wtxids, b->wtxids, a->tx_count * 32);
	}
	assert_int_equal(a->tx_data_hex_len, b->tx_data_hex_len);
	assert_int_equal(a->branch_len, b->branch_len);
	if (a->branch_len)
		assert_memory_equal(a->branch, b->branch, a->branch_len * 32);
	assert_int_equal(a->witness_commitment_len, b->witness_commitment_len);
	assert_memory_equal(a->witness_commitment, b->witness_commitment,
			    a->witness_commitment_len);
	assert_int_equal(a->has_witness_txs, b->has_witness_txs);
	assert_string_equal(a->longpollid, b->longpollid);
	assert_same_block(a, b);
}

#endif
