/*
 * coinbase.c - coinb1/coinb2 construction: BIP34 height, signatures,
 * extranonce space, payout and witness commitment outputs.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "coinbase.h"
#include "error.h"

#include <stdio.h>
#include <string.h>

#define MAX_PAYOUT_SCRIPT 10000

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Pushes up to `room` bytes of scriptSig for sig (opcode included);
 * returns the bytes used. */
static size_t append_sig(struct buf *script_sig, const char *sig, size_t room)
{
	size_t len = sig ? strlen(sig) : 0;

	if (!len || room < 2)
		return 0;
	len = min_size(min_size(len, COINBASE_SIG_MAX), room - 1);
	buf_append_push(script_sig, sig, len);
	return 1 + len;
}

/* The scriptSig up to (not including) the extranonce bytes. */
static void build_script_sig_head(const struct workbase *wb, const struct coinbase_params *p,
				  struct buf *head)
{
	size_t extranonce = p->nonce1_len + p->nonce2_len;
	size_t tail = extranonce ? 1 + extranonce : 0;
	size_t room;

	buf_append_script_num(head, wb->height);
	room = COINBASE_SCRIPTSIG_MAX - head->len - tail;
	room -= append_sig(head, p->pool_sig, room);
	append_sig(head, p->miner_sig, room);
	/* A bare OP_N height and no extranonce would make a 1-byte scriptSig. */
	if (head->len + tail < COINBASE_SCRIPTSIG_MIN)
		buf_append_u8(head, OP_0);
	if (extranonce)
		buf_append_u8(head, (uint8_t)extranonce);
}

static void append_output(struct buf *b, int64_t value, const uint8_t *script, size_t len)
{
	buf_append_u64le(b, (uint64_t)value);
	buf_append_varint(b, len);
	buf_append(b, script, len);
}

static int check_params(const struct workbase *wb, const struct coinbase_params *p, char *err,
			size_t errlen)
{
	if (!wb || !p)
		return error_set(err, errlen, "coinbase: no workbase or params");
	if (!p->script || !p->script_len || p->script_len > MAX_PAYOUT_SCRIPT)
		return error_set(err, errlen, "coinbase: payout script must be 1..%d bytes",
				     MAX_PAYOUT_SCRIPT);
	if (p->nonce1_len > COINBASE_EXTRANONCE_MAX || p->nonce2_len > COINBASE_EXTRANONCE_MAX ||
	    p->nonce1_len + p->nonce2_len > COINBASE_EXTRANONCE_MAX)
		return error_set(err, errlen, "coinbase: extranonce of %zu+%zu bytes, max %d",
				     p->nonce1_len, p->nonce2_len, COINBASE_EXTRANONCE_MAX);
	return 0;
}

int coinbase_build(const struct workbase *wb, const struct coinbase_params *p,
		   struct buf *coinb1, struct buf *coinb2, char *err, size_t errlen)
{
	static const uint8_t null_prevout[32];
	struct buf head = BUF_INIT;
	size_t extranonce;

	if (check_params(wb, p, err, errlen) < 0)
		return -1;
	extranonce = p->nonce1_len + p->nonce2_len;
	build_script_sig_head(wb, p, &head);

	buf_append_u32le(coinb1, COINBASE_VERSION);
	buf_append_varint(coinb1, 1);
	buf_append(coinb1, null_prevout, sizeof(null_prevout));
	buf_append_u32le(coinb1, 0xffffffff);
	buf_append_varint(coinb1, head.len + extranonce);
	buf_append(coinb1, head.data, head.len);
	buf_free(&head);

	buf_append_u32le(coinb2, 0xffffffff);
	buf_append_varint(coinb2, wb->witness_commitment_len ? 2 : 1);
	append_output(coinb2, wb->coinbasevalue, p->script, p->script_len);
	if (wb->witness_commitment_len)
		append_output(coinb2, 0, wb->witness_commitment, wb->witness_commitment_len);
	buf_append_u32le(coinb2, 0);
	return 0;
}

void coinbase_join(struct buf *out, const uint8_t *coinb1, size_t coinb1_len,
		   const uint8_t *nonce1, size_t nonce1_len, const uint8_t *nonce2,
		   size_t nonce2_len, const uint8_t *coinb2, size_t coinb2_len)
{
	buf_grow(out, coinb1_len + nonce1_len + nonce2_len + coinb2_len);
	buf_append(out, coinb1, coinb1_len);
	buf_append(out, nonce1, nonce1_len);
	buf_append(out, nonce2, nonce2_len);
	buf_append(out, coinb2, coinb2_len);
}
