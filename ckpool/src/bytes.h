/*
 * bytes.h - growable byte buffer, Bitcoin varints and script pushes.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * struct buf owns a heap array that grows as bytes are appended. A buffer
 * initialized with BUF_INIT (or buf_init) needs no allocation until the first
 * append; buf_free releases it and leaves an empty, reusable buffer.
 * data is NULL while nothing was ever appended. Allocation failure aborts
 * the process: the engine cannot do anything useful without memory.
 *
 *   struct buf b = BUF_INIT;
 *   buf_append_u32le(&b, 2);
 *   buf_append_varint(&b, n);
 *   buf_append_push(&b, sig, sig_len);
 *   ... use b.data, b.len ...
 *   buf_free(&b);
 *
 * struct reader is the bounded counterpart for parsing: every read checks the
 * remaining length; a short read sets `failed`, returns zeroes, and every
 * later read fails too, so callers check once at the end.
 *
 * Pure layer: no I/O, no globals, no threads of its own; includes only
 * pure headers (make -C ckpool check-layers); unit tested in tests/.
 */
#ifndef CKPOOL_BYTES_H
#define CKPOOL_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Script opcodes the engine writes. */
#define OP_0 0x00
#define OP_PUSHDATA1 0x4c
#define OP_PUSHDATA2 0x4d
#define OP_PUSHDATA4 0x4e
#define OP_1 0x51
#define OP_16 0x60
#define OP_RETURN 0x6a
#define OP_DUP 0x76
#define OP_EQUAL 0x87
#define OP_EQUALVERIFY 0x88
#define OP_HASH160 0xa9
#define OP_CHECKSIG 0xac

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

/* malloc/realloc/strdup that abort instead of returning NULL. */
void *alloc_or_abort(size_t size);
void *realloc_or_abort(void *ptr, size_t size);
char *strdup_or_abort(const char *s);

void buf_init(struct buf *b);
/* Frees the storage; the buffer is empty and reusable afterwards. */
void buf_free(struct buf *b);
/* Forgets the contents, keeps the storage. */
void buf_reset(struct buf *b);
/* Makes room for at least `extra` more bytes. */
void buf_grow(struct buf *b, size_t extra);

void buf_append(struct buf *b, const void *data, size_t len);
void buf_append_u8(struct buf *b, uint8_t v);
void buf_append_u32le(struct buf *b, uint32_t v);
void buf_append_u64le(struct buf *b, uint64_t v);
/* Bitcoin CompactSize: 1, 3, 5 or 9 bytes. */
void buf_append_varint(struct buf *b, uint64_t v);
/* Number of bytes buf_append_varint writes for v. */
size_t varint_size(uint64_t v);

/* Appends a script push of `len` data bytes with the smallest push opcode
 * (direct length byte up to 75, then OP_PUSHDATA1/2/4). The data is pushed
 * verbatim; no OP_N substitution is made. */
void buf_append_push(struct buf *b, const void *data, size_t len);

/* Appends the script that pushes the number n the way Bitcoin Core's
 * `CScript() << n` does, which is what BIP34 requires at the start of a
 * coinbase scriptSig: OP_0 for 0, OP_1..OP_16 for 1..16, otherwise a push of
 * the minimal little-endian sign-magnitude encoding (CScriptNum), e.g.
 * 17 -> 01 11, 128 -> 02 80 00, 500000 -> 03 20 a1 07. */
void buf_append_script_num(struct buf *b, int64_t n);

/* Writes v little-endian into p. */
void write_u32le(uint8_t *p, uint32_t v);
uint32_t read_u32le(const uint8_t *p);

struct reader {
	const uint8_t *data;
	size_t len;
	size_t pos;
	bool failed;
};

void reader_init(struct reader *r, const void *data, size_t len);
uint8_t reader_u8(struct reader *r);
uint32_t reader_u32le(struct reader *r);
uint64_t reader_u64le(struct reader *r);
uint64_t reader_varint(struct reader *r);
/* Returns a pointer to the next len bytes and skips them, NULL if short. */
const uint8_t *reader_bytes(struct reader *r, size_t len);
/* Bytes not read yet. */
size_t reader_remaining(const struct reader *r);

#endif
