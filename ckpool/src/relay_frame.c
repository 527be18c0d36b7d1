/*
 * relay_frame.c - owns the relay link's byte layouts: header checks, the
 * incremental frame decoder, the frame builders and the payload parsers.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "relay_frame.h"
#include "bytes.h"
#include "hex.h"

#include <stdlib.h>
#include <string.h>

static const char *const reject_names[RELAY_REJECT_COUNT] = {
	"bad_magic", "bad_version", "unknown_type", "oversize", "unexpected", "malformed",
};

static const char *const type_names[RELAY_TYPE_MAX + 1] = {
	"UNKNOWN", "HELLO", "CHALLENGE", "AUTH", "AUTH_OK", "AUTH_FAIL",
	"TEMPLATE", "BLOCK", "BLOCK_RESULT", "PING", "PONG", "REQUEST_FULL",
};

const char *relay_reject_name(enum relay_reject r)
{
	return (unsigned)r < RELAY_REJECT_COUNT ? reject_names[r] : "unknown";
}

const char *relay_frame_type_name(unsigned type)
{
	return type <= RELAY_TYPE_MAX ? type_names[type] : "UNKNOWN";
}

uint32_t relay_type_max_payload(unsigned type)
{
	switch (type) {
	case RELAY_HELLO:
		return 3 + RELAY_REGION_MAX + RELAY_INSTANCE_MAX + RELAY_NONCE_LEN;
	case RELAY_CHALLENGE:
	case RELAY_AUTH:
	case RELAY_AUTH_OK:
		return 32;
	case RELAY_AUTH_FAIL:
		return RELAY_REASON_MAX;
	case RELAY_TEMPLATE:
	case RELAY_BLOCK:
		return RELAY_MAX_PAYLOAD;
	case RELAY_BLOCK_RESULT:
		return 13 + RELAY_RESULT_MAX;
	case RELAY_PING:
	case RELAY_PONG:
	case RELAY_REQUEST_FULL:
		return 8;
	default:
		return 0;
	}
}

void relay_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void relay_put_u64(uint8_t *p, uint64_t v)
{
	relay_put_u32(p, (uint32_t)(v >> 32));
	relay_put_u32(p + 4, (uint32_t)v);
}

uint32_t relay_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t relay_get_u64(const uint8_t *p)
{
	return (uint64_t)relay_get_u32(p) << 32 | relay_get_u32(p + 4);
}

/* ---- decoder ---- */

void relay_frame_free(struct relay_frame *f)
{
	free(f->payload);
	f->payload = NULL;
	f->len = 0;
}

void relay_decoder_init(struct relay_decoder *d, uint32_t allowed_types)
{
	memset(d, 0, sizeof(*d));
	d->allowed = allowed_types;
}

void relay_decoder_free(struct relay_decoder *d)
{
	free(d->payload);
	d->payload = NULL;
	d->header_have = 0;
	d->payload_have = 0;
}

void relay_decoder_allow(struct relay_decoder *d, uint32_t allowed_types)
{
	d->allowed = allowed_types;
}

static int decoder_fail(struct relay_decoder *d, enum relay_reject why)
{
	d->error = why;
	return RELAY_DECODE_ERROR;
}

/* Validates the complete header and allocates room for the payload. */
static int decoder_accept_header(struct relay_decoder *d)
{
	const uint8_t *h = d->header;
	uint32_t len = relay_get_u32(h + 4);

	if (h[0] != RELAY_MAGIC0 || h[1] != RELAY_MAGIC1)
		return decoder_fail(d, RELAY_REJECT_BAD_MAGIC);
	if (h[2] != RELAY_WIRE_VERSION)
		return decoder_fail(d, RELAY_REJECT_BAD_VERSION);
	if (h[3] == 0 || h[3] > RELAY_TYPE_MAX)
		return decoder_fail(d, RELAY_REJECT_UNKNOWN_TYPE);
	if (!(d->allowed & RELAY_TYPE_BIT(h[3])))
		return decoder_fail(d, RELAY_REJECT_UNEXPECTED);
	if (len > relay_type_max_payload(h[3]))
		return decoder_fail(d, RELAY_REJECT_OVERSIZE);
	d->type = h[3];
	d->payload_len = len;
	d->payload_have = 0;
	d->payload = alloc_or_abort(len ? len : 1);
	return RELAY_DECODE_MORE;
}

static void decoder_hand_over(struct relay_decoder *d, struct relay_frame *frame)
{
	frame->type = d->type;
	frame->payload = d->payload;
	frame->len = d->payload_len;
	d->payload = NULL;
	d->header_have = 0;
	d->payload_have = 0;
}

int relay_decoder_feed(struct relay_decoder *d, const uint8_t *data, size_t len, size_t *used,
		       struct relay_frame *frame)
{
	size_t pos = 0;

	while (d->header_have < RELAY_HEADER_LEN) {
		if (pos == len) {
			*used = pos;
			return RELAY_DECODE_MORE;
		}
		d->header[d->header_have++] = data[pos++];
		if (d->header_have == RELAY_HEADER_LEN && decoder_accept_header(d) < 0) {
			*used = pos;
			return RELAY_DECODE_ERROR;
		}
	}
	if (d->payload_have < d->payload_len) {
		size_t want = d->payload_len - d->payload_have;
		size_t take = len - pos < want ? len - pos : want;

		memcpy(d->payload + d->payload_have, data + pos, take);
		d->payload_have += take;
		pos += take;
	}
	*used = pos;
	if (d->payload_have < d->payload_len)
		return RELAY_DECODE_MORE;
	decoder_hand_over(d, frame);
	return RELAY_DECODE_FRAME;
}

/* ---- encoding ---- */

struct relay_msg *relay_msg_new(uint8_t type, const void *a, size_t alen, const void *b,
				size_t blen)
{
	size_t payload = alen + blen;
	struct relay_msg *m;

	if (payload > relay_type_max_payload(type))
		return NULL;
	m = alloc_or_abort(sizeof(*m) + RELAY_HEADER_LEN + payload);
	atomic_init(&m->refs, 1);
	m->type = type;
	m->len = RELAY_HEADER_LEN + payload;
	m->bytes[0] = RELAY_MAGIC0;
	m->bytes[1] = RELAY_MAGIC1;
	m->bytes[2] = RELAY_WIRE_VERSION;
	m->bytes[3] = type;
	relay_put_u32(m->bytes + 4, (uint32_t)payload);
	if (alen && a)
		memcpy(m->bytes + RELAY_HEADER_LEN, a, alen);
	if (blen)
		memcpy(m->bytes + RELAY_HEADER_LEN + alen, b, blen);
	return m;
}

struct relay_msg *relay_msg_ref(struct relay_msg *m)
{
	atomic_fetch_add(&m->refs, 1);
	return m;
}

void relay_msg_unref(struct relay_msg *m)
{
	if (m && atomic_fetch_sub(&m->refs, 1) == 1)
		free(m);
}

struct relay_msg *relay_msg_hello(const char *region, const char *pool_instance,
				  const uint8_t client_nonce[RELAY_NONCE_LEN])
{
	size_t rlen = strlen(region), ilen = pool_instance ? strlen(pool_instance) : 0;
	uint8_t p[3 + RELAY_REGION_MAX + RELAY_INSTANCE_MAX + RELAY_NONCE_LEN];
	size_t n = 0;

	if (rlen == 0 || rlen > RELAY_REGION_MAX || ilen > RELAY_INSTANCE_MAX)
		return NULL;
	p[n++] = RELAY_PROTOCOL_VERSION;
	p[n++] = (uint8_t)rlen;
	memcpy(p + n, region, rlen);
	n += rlen;
	p[n++] = (uint8_t)ilen;
	if (ilen)
		memcpy(p + n, pool_instance, ilen);
	n += ilen;
	memcpy(p + n, client_nonce, RELAY_NONCE_LEN);
	n += RELAY_NONCE_LEN;
	return relay_msg_new(RELAY_HELLO, p, n, NULL, 0);
}

struct relay_msg *relay_msg_32(uint8_t type, const uint8_t bytes[32])
{
	return relay_msg_new(type, bytes, 32, NULL, 0);
}

struct relay_msg *relay_msg_auth_fail(const char *reason)
{
	size_t len = strlen(reason);

	return relay_msg_new(RELAY_AUTH_FAIL, reason, len > RELAY_REASON_MAX ? RELAY_REASON_MAX : len,
			     NULL, 0);
}

struct relay_msg *relay_msg_block(uint64_t request_id, int64_t height, const char *hash,
				  const char *hex, size_t hex_len)
{
	uint8_t head[80];

	if (!hash || strlen(hash) != 64)
		return NULL;
	relay_put_u64(head, request_id);
	relay_put_u64(head + 8, (uint64_t)height);
	memcpy(head + 16, hash, 64);
	return relay_msg_new(RELAY_BLOCK, head, sizeof(head), hex, hex_len);
}

struct relay_msg *relay_msg_block_result(uint64_t request_id, uint32_t submit_us, uint8_t status,
					 const char *text)
{
	size_t len = text ? strlen(text) : 0;
	uint8_t head[13];

	relay_put_u64(head, request_id);
	relay_put_u32(head + 8, submit_us);
	head[12] = status;
	return relay_msg_new(RELAY_BLOCK_RESULT, head, sizeof(head), text,
			     len > RELAY_RESULT_MAX ? RELAY_RESULT_MAX : len);
}

struct relay_msg *relay_msg_u64(uint8_t type, uint64_t value)
{
	uint8_t p[8];

	relay_put_u64(p, value);
	return relay_msg_new(type, p, sizeof(p), NULL, 0);
}

/* ---- parsers ---- */

static bool printable_ascii(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return false;
	return true;
}

/* Reads a u8-length-prefixed printable string of at most max bytes. */
static int read_short_string(struct reader *r, char *out, size_t max)
{
	size_t n = reader_u8(r);
	const uint8_t *s;

	if (r->failed || n > max)
		return -1;
	s = reader_bytes(r, n);
	if (!s && n)
		return -1;
	if (n && !printable_ascii(s, n))
		return -1;
	if (n)
		memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

int relay_parse_hello(const uint8_t *p, size_t len, struct relay_hello *out)
{
	struct reader r;
	const uint8_t *nonce;

	reader_init(&r, p, len);
	out->version = reader_u8(&r);
	if (read_short_string(&r, out->region, RELAY_REGION_MAX) || !out->region[0])
		return -1;
	if (read_short_string(&r, out->pool_instance, RELAY_INSTANCE_MAX))
		return -1;
	nonce = reader_bytes(&r, RELAY_NONCE_LEN);
	if (!nonce || r.failed || reader_remaining(&r))
		return -1;
	memcpy(out->client_nonce, nonce, RELAY_NONCE_LEN);
	return 0;
}

int relay_parse_32(const uint8_t *p, size_t len, uint8_t out[32])
{
	if (len != 32)
		return -1;
	memcpy(out, p, 32);
	return 0;
}

/* Copies p as a NUL-terminated string, replacing non-printable bytes by '?'. */
static void copy_printable(const uint8_t *p, size_t len, char *out, size_t outlen)
{
	size_t n = 0;

	if (!outlen)
		return;
	for (size_t i = 0; i < len && n + 1 < outlen; i++)
		out[n++] = (p[i] >= 0x20 && p[i] <= 0x7e) ? (char)p[i] : '?';
	out[n] = '\0';
}

void relay_parse_auth_fail(const uint8_t *p, size_t len, char *out, size_t outlen)
{
	copy_printable(p, len, out, outlen);
}

static bool all_hex(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (hex_digit_value((char)p[i]) < 0)
			return false;
	return true;
}

int relay_parse_block(const uint8_t *p, size_t len, struct relay_block *out)
{
	size_t hex_len;

	if (len <= 80)
		return -1;
	hex_len = len - 80;
	if (hex_len % 2 || !all_hex(p + 16, 64) || !all_hex(p + 80, hex_len))
		return -1;
	out->request_id = relay_get_u64(p);
	out->height = (int64_t)relay_get_u64(p + 8);
	memcpy(out->hash, p + 16, 64);
	out->hash[64] = '\0';
	out->hex = (const char *)p + 80;
	out->hex_len = hex_len;
	return 0;
}

int relay_parse_block_result(const uint8_t *p, size_t len, struct relay_block_result *out)
{
	if (len < 13 || len > 13 + RELAY_RESULT_MAX || p[12] > RELAY_BLOCK_ERROR)
		return -1;
	out->request_id = relay_get_u64(p);
	out->submit_us = relay_get_u32(p + 8);
	out->status = p[12];
	copy_printable(p + 13, len - 13, out->text, sizeof(out->text));
	return 0;
}

int relay_parse_u64(const uint8_t *p, size_t len, uint64_t *out)
{
	if (len != 8)
		return -1;
	*out = relay_get_u64(p);
	return 0;
}
