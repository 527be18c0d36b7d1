/*
 * bytes.c - growable byte buffer, varints, script pushes, bounded reader.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die_out_of_memory(size_t size)
{
	fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory allocating %zu bytes\"}\n", size);
	abort();
}

void *alloc_or_abort(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		die_out_of_memory(size);
	return p;
}

void *realloc_or_abort(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		die_out_of_memory(size);
	return p;
}

char *strdup_or_abort(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = alloc_or_abort(n);

	memcpy(p, s, n);
	return p;
}

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
}

void buf_grow(struct buf *b, size_t extra)
{
	size_t need = b->len + extra;
	size_t cap;

	if (need < b->len)
		die_out_of_memory(SIZE_MAX);
	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	b->data = realloc_or_abort(b->data, cap);
	b->cap = cap;
}

void buf_append(struct buf *b, const void *data, size_t len)
{
	if (!len)
		return;
	buf_grow(b, len);
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

void buf_append_u8(struct buf *b, uint8_t v)
{
	buf_append(b, &v, 1);
}

void write_u32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

uint32_t read_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void buf_append_u32le(struct buf *b, uint32_t v)
{
	uint8_t p[4];

	write_u32le(p, v);
	buf_append(b, p, 4);
}

void buf_append_u64le(struct buf *b, uint64_t v)
{
	buf_append_u32le(b, (uint32_t)v);
	buf_append_u32le(b, (uint32_t)(v >> 32));
}

size_t varint_size(uint64_t v)
{
	if (v < 0xfd)
		return 1;
	if (v <= 0xffff)
		return 3;
	if (v <= 0xffffffff)
		return 5;
	return 9;
}

void buf_append_varint(struct buf *b, uint64_t v)
{
	if (v < 0xfd) {
		buf_append_u8(b, (uint8_t)v);
	} else if (v <= 0xffff) {
		buf_append_u8(b, 0xfd);
		buf_append_u8(b, (uint8_t)v);
		buf_append_u8(b, (uint8_t)(v >> 8));
	} else if (v <= 0xffffffff) {
		buf_append_u8(b, 0xfe);
		buf_append_u32le(b, (uint32_t)v);
	} else {
		buf_append_u8(b, 0xff);
		buf_append_u64le(b, v);
	}
}

void buf_append_push(struct buf *b, const void *data, size_t len)
{
	if (len < OP_PUSHDATA1) {
		buf_append_u8(b, (uint8_t)len);
	} else if (len <= 0xff) {
		buf_append_u8(b, OP_PUSHDATA1);
		buf_append_u8(b, (uint8_t)len);
	} else if (len <= 0xffff) {
		buf_append_u8(b, OP_PUSHDATA2);
		buf_append_u8(b, (uint8_t)len);
		buf_append_u8(b, (uint8_t)(len >> 8));
	} else {
		buf_append_u8(b, OP_PUSHDATA4);
		buf_append_u32le(b, (uint32_t)len);
	}
	buf_append(b, data, len);
}

/* Minimal little-endian sign-magnitude bytes of n; returns their count. */
static size_t script_num_encode(int64_t n, uint8_t out[9])
{
	uint64_t mag = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
	size_t len = 0;

	while (mag) {
		out[len++] = (uint8_t)(mag & 0xff);
		mag >>= 8;
	}
	if (len && (out[len - 1] & 0x80))
		out[len++] = n < 0 ? 0x80 : 0x00;
	else if (len && n < 0)
		out[len - 1] |= 0x80;
	return len;
}

void buf_append_script_num(struct buf *b, int64_t n)
{
	uint8_t enc[9];
	size_t len;

	if (n == 0) {
		buf_append_u8(b, OP_0);
		return;
	}
	if (n == -1 || (n >= 1 && n <= 16)) {
		buf_append_u8(b, (uint8_t)(n == -1 ? 0x4f : OP_1 + (n - 1)));
		return;
	}
	len = script_num_encode(n, enc);
	buf_append_push(b, enc, len);
}

void reader_init(struct reader *r, const void *data, size_t len)
{
	r->data = data;
	r->len = len;
	r->pos = 0;
	r->failed = false;
}

size_t reader_remaining(const struct reader *r)
{
	return r->failed ? 0 : r->len - r->pos;
}

const uint8_t *reader_bytes(struct reader *r, size_t len)
{
	const uint8_t *p;

	if (r->failed || len > r->len - r->pos) {
		r->failed = true;
		return NULL;
	}
	p = r->data + r->pos;
	r->pos += len;
	return p;
}

uint8_t reader_u8(struct reader *r)
{
	const uint8_t *p = reader_bytes(r, 1);

	return p ? p[0] : 0;
}

uint32_t reader_u32le(struct reader *r)
{
	const uint8_t *p = reader_bytes(r, 4);

	return p ? read_u32le(p) : 0;
}

uint64_t reader_u64le(struct reader *r)
{
	const uint8_t *p = reader_bytes(r, 8);

	return p ? (uint64_t)read_u32le(p) | (uint64_t)read_u32le(p + 4) << 32 : 0;
}

uint64_t reader_varint(struct reader *r)
{
	uint8_t first = reader_u8(r);
	const uint8_t *p;

	if (first < 0xfd)
		return first;
	if (first == 0xfd) {
		p = reader_bytes(r, 2);
		return p ? (uint64_t)p[0] | (uint64_t)p[1] << 8 : 0;
	}
	if (first == 0xfe)
		return reader_u32le(r);
	return reader_u64le(r);
}
