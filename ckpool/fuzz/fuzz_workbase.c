/*
 * fuzz_workbase.c - libFuzzer target for template parsing and everything
 * downstream of it (coinbase, share hashing, block assembly).
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Input is parsed as JSON; whatever workbase_from_gbt accepts is mined on
 * once and assembled into a block.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "block.h"
#include "coinbase.h"
#include "share.h"
#include "workbase.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void mine_once(struct workbase *wb)
{
	static const uint8_t script[22] = { 0x00, 0x14 };
	const uint8_t n1[4] = { 1, 2, 3, 4 }, n2[8] = { 0 };
	struct coinbase_params p = { script, sizeof(script), "/fuzz/", "miner", 4, 8 };
	struct buf c1 = BUF_INIT, c2 = BUF_INIT, cb = BUF_INIT;
	struct share_input in;
	struct share_output out;
	char *hex;

	if (coinbase_build(wb, &p, &c1, &c2, NULL, 0) == 0) {
		in = (struct share_input) { .wb = wb, .coinb1 = c1.data, .coinb1_len = c1.len,
			.coinb2 = c2.data, .coinb2_len = c2.len, .nonce1 = n1, .nonce1_len = 4,
			.nonce2 = n2, .nonce2_len = 8, .nonce2_expected_len = 8,
			.ntime = wb->curtime, .version_mask = 0x1fffe000 };
		if (share_compute(&in, &out) == SHARE_OK || wb->mintime > wb->curtime) {
			coinbase_join(&cb, c1.data, c1.len, n1, 4, n2, 8, c2.data, c2.len);
			hex = block_assemble_hex(wb, out.header, cb.data, cb.len);
			free(hex);
		}
	}
	buf_free(&c1);
	buf_free(&c2);
	buf_free(&cb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *gbt = json_loadb((const char *)data, size, 0, &jerr);
	struct workbase *wb;
	char err[256];

	if (!gbt)
		return 0;
	wb = workbase_from_gbt(gbt, err, sizeof(err));
	json_decref(gbt);
	if (wb) {
		mine_once(wb);
		workbase_unref(wb);
	}
	return 0;
}
