/*
 * block.c - block serialization (header, coinbase with witness, template
 * transactions, from hex or raw bytes) as submitblock hex.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "block.h"
#include "hash.h"
#include "hex.h"

#include <string.h>

/* version(4) + input count(1) + output count(1) + locktime(4) at least. */
#define COINBASE_MIN_LEN 10

int block_append_coinbase(struct buf *out, const struct workbase *wb,
			  const uint8_t *coinbase_nowit, size_t coinbase_len)
{
	static const uint8_t reserved_value[32];
	size_t body;

	if (!coinbase_nowit || coinbase_len < COINBASE_MIN_LEN)
		return -1;
	body = coinbase_len - 8;           /* between version and locktime */
	if (!wb->witness_commitment_len) {
		buf_append(out, coinbase_nowit, coinbase_len);
		return 0;
	}
	buf_append(out, coinbase_nowit, 4);
	buf_append_u8(out, 0x00);          /* marker */
	buf_append_u8(out, 0x01);          /* flag */
	buf_append(out, coinbase_nowit + 4, body);
	buf_append_varint(out, 1);         /* one witness item for the one input */
	buf_append_varint(out, sizeof(reserved_value));
	buf_append(out, reserved_value, sizeof(reserved_value));
	buf_append(out, coinbase_nowit + coinbase_len - 4, 4);
	return 0;
}

char *block_assemble_hex(const struct workbase *wb, const uint8_t header[80],
			 const uint8_t *coinbase_nowit, size_t coinbase_len)
{
	struct buf head = BUF_INIT;
	size_t hex_len, at;
	char *hex;

	buf_append(&head, header, 80);
	buf_append_varint(&head, wb->tx_count + 1);
	if (block_append_coinbase(&head, wb, coinbase_nowit, coinbase_len) < 0) {
		buf_free(&head);
		return NULL;
	}
	hex_len = 2 * head.len + wb->tx_data_hex_len;
	hex = alloc_or_abort(hex_len + 1);
	hex_encode(head.data, head.len, hex);
	at = 2 * head.len;
	for (size_t i = 0; i < wb->tx_count; i++) {
		size_t n;

		if (wb->txs) {          /* raw (workbase_from_parts) */
			hex_encode(wb->txs[i]->data, wb->txs[i]->len, hex + at);
			at += 2 * (size_t)wb->txs[i]->len;
			continue;
		}
		n = strlen(wb->tx_data_hex[i]);
		memcpy(hex + at, wb->tx_data_hex[i], n);
		at += n;
	}
	hex[at] = '\0';
	buf_free(&head);
	return hex;
}

void block_hash_hex(const uint8_t header[80], char out[65])
{
	uint8_t hash[32];

	sha256d(header, 80, hash);
	hex_encode_reversed(hash, 32, out);
}
