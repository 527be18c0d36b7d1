/*
 * fuzz_relay_frame.c - libFuzzer target: the relay link's frame decoder
 * and payload parsers (relay_frame.c), as a primary or a relay reads them.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Input: byte 0 picks the set of allowed frame types (every state of both
 * ends, or all types), byte 1 the chunk size the stream arrives in; the
 * rest is the stream. It is decoded twice, in one piece and in chunks: both
 * must yield the same frames and end the same way (the decoder keeps state
 * across reads). Every frame's payload goes to the parser of its type; what
 * parses must encode back to the same bytes (HELLO after its version byte).
 * Any mismatch aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAMES 64

static const uint32_t type_sets[] = {
	RELAY_TYPES_BEFORE_HELLO,
	RELAY_TYPES_BEFORE_AUTH,
	RELAY_TYPES_SERVER_READY,
	RELAY_TYPES_CLIENT_CHALLENGE,
	RELAY_TYPES_CLIENT_AUTH_REPLY,
	RELAY_TYPES_CLIENT_READY,
	0xfffffffeu,
};

struct outcome {
	struct relay_frame frames[MAX_FRAMES];
	size_t n;
	int last;                  /* the final status */
	enum relay_reject error;
};

static void mismatch(const char *why)
{
	fprintf(stderr, "relay frame fuzz: %s\n", why);
	abort();
}

static void same_payload(const struct relay_msg *m, const uint8_t *payload, size_t len,
			 size_t skip)
{
	if (!m)
		mismatch("a parsed payload does not encode again");
	if (m->len != RELAY_HEADER_LEN + len
	    || memcmp(m->bytes + RELAY_HEADER_LEN + skip, payload + skip, len - skip))
		mismatch("a parsed payload encodes to different bytes");
}

static void check_payload(const struct relay_frame *f)
{
	struct relay_hello hello;
	struct relay_block block;
	struct relay_block_result result;
	struct relay_msg *m = NULL;
	uint8_t b32[32];
	char reason[RELAY_REASON_MAX + 1];
	uint64_t v;

	switch (f->type) {
	case RELAY_HELLO:
		if (relay_parse_hello(f->payload, f->len, &hello))
			return;
		m = relay_msg_hello(hello.region, hello.pool_instance, hello.client_nonce);
		same_payload(m, f->payload, f->len, 1);
		break;
	case RELAY_CHALLENGE:
	case RELAY_AUTH:
	case RELAY_AUTH_OK:
		if (relay_parse_32(f->payload, f->len, b32))
			return;
		m = relay_msg_32(f->type, b32);
		same_payload(m, f->payload, f->len, 0);
		break;
	case RELAY_AUTH_FAIL:
		relay_parse_auth_fail(f->payload, f->len, reason, sizeof(reason));
		if (strlen(reason) > RELAY_REASON_MAX)
			mismatch("auth fail reason too long");
		break;
	case RELAY_BLOCK:
		if (relay_parse_block(f->payload, f->len, &block))
			return;
		m = relay_msg_block(block.request_id, block.height, block.hash, block.hex,
				    block.hex_len);
		same_payload(m, f->payload, f->len, 0);
		break;
	case RELAY_BLOCK_RESULT:
		if (relay_parse_block_result(f->payload, f->len, &result))
			return;
		for (const char *s = result.text; *s; s++)
			if (*s < 0x20 || *s > 0x7e)
				mismatch("block result text not printable");
		break;
	case RELAY_PING:
	case RELAY_PONG:
	case RELAY_REQUEST_FULL:
		if (relay_parse_u64(f->payload, f->len, &v))
			return;
		m = relay_msg_u64(f->type, v);
		same_payload(m, f->payload, f->len, 0);
		break;
	default:
		break;
	}
	relay_msg_unref(m);
}

static void decode(const uint8_t *p, size_t len, uint32_t allowed, size_t chunk,
		   struct outcome *o)
{
	struct relay_decoder d;

	o->n = 0;
	o->last = RELAY_DECODE_MORE;
	relay_decoder_init(&d, allowed);
	while (len && o->n < MAX_FRAMES) {
		size_t give = len < chunk ? len : chunk, used = 0;
		struct relay_frame f;

		o->last = relay_decoder_feed(&d, p, give, &used, &f);
		if (used > give)
			mismatch("decoder consumed more than it was given");
		p += used;
		len -= used;
		if (o->last == RELAY_DECODE_ERROR) {
			o->error = d.error;
			break;
		}
		if (o->last == RELAY_DECODE_FRAME) {
			if (!f.payload || f.len > relay_type_max_payload(f.type)
			    || !(allowed & RELAY_TYPE_BIT(f.type)))
				mismatch("decoder returned a frame it should have refused");
			o->frames[o->n++] = f;
		} else if (used != give) {
			mismatch("RELAY_DECODE_MORE without consuming every byte");
		}
	}
	relay_decoder_free(&d);
}

static void release(struct outcome *o)
{
	for (size_t i = 0; i < o->n; i++)
		relay_frame_free(&o->frames[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct outcome whole, chunked;
	uint32_t allowed;
	size_t chunk;

	if (size < 2)
		return 0;
	allowed = type_sets[data[0] % (sizeof(type_sets) / sizeof(type_sets[0]))];
	chunk = (size_t)data[1] % 17 + 1;
	data += 2;
	size -= 2;
	decode(data, size, allowed, size ? size : 1, &whole);
	decode(data, size, allowed, chunk, &chunked);
	if (whole.n != chunked.n)
		mismatch("chunked stream gave a different number of frames");
	for (size_t i = 0; i < whole.n; i++) {
		const struct relay_frame *a = &whole.frames[i], *b = &chunked.frames[i];

		if (a->type != b->type || a->len != b->len || memcmp(a->payload, b->payload, a->len))
			mismatch("chunked stream gave a different frame");
		check_payload(a);
	}
	if (whole.n < MAX_FRAMES
	    && ((whole.last == RELAY_DECODE_ERROR) != (chunked.last == RELAY_DECODE_ERROR)
		|| (whole.last == RELAY_DECODE_ERROR && whole.error != chunked.error)))
		mismatch("chunked stream ended differently");
	release(&whole);
	release(&chunked);
	return 0;
}
