/*
 * relay_frame.h - the relay link's wire format: frame header, per-type
 * payload layouts, the incremental decoder and refcounted encoded frames.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Every frame is an 8-byte header followed by its payload
 * (docs/relay-protocol.md has the byte layouts):
 *
 *   offset 0  2 bytes  magic "TB" (0x54 0x42)
 *   offset 2  1 byte   framing version, RELAY_WIRE_VERSION
 *   offset 3  1 byte   frame type (enum relay_frame_type)
 *   offset 4  4 bytes  payload length, big-endian, <= the type's cap
 *
 * All integers are big-endian. Nothing here does I/O or keeps global state.
 *
 * Decoding: feed whatever bytes arrived to relay_decoder_feed(); it keeps
 * at most one partial frame, never more than the frame's declared length,
 * and checks magic, version, type, the caller's list of allowed types and
 * the type's size cap as soon as the 8 header bytes are in, before any
 * payload memory is allocated.
 *
 *   struct relay_decoder d;
 *   relay_decoder_init(&d, RELAY_TYPES_BEFORE_HELLO);
 *   while (len) {
 *           struct relay_frame f;
 *           size_t used;
 *           int rc = relay_decoder_feed(&d, data, len, &used, &f);
 *           data += used, len -= used;
 *           if (rc == RELAY_DECODE_ERROR) -> d.error says why; close
 *           if (rc == RELAY_DECODE_FRAME) -> handle f; relay_frame_free(&f);
 *   }
 *   relay_decoder_free(&d);
 *
 * Encoding: relay_msg_*() build one complete frame (header + payload) in a
 * refcounted struct relay_msg, so a template serialized once can sit in
 * every relay's output queue at the same time.
 *
 * Pure layer: no I/O, no globals, no threads of its own; includes only
 * pure headers (make -C ckpool check-layers); unit tested in tests/.
 */
#ifndef CKPOOL_RELAY_FRAME_H
#define CKPOOL_RELAY_FRAME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RELAY_MAGIC0 0x54          /* 'T' */
#define RELAY_MAGIC1 0x42          /* 'B' */
#define RELAY_WIRE_VERSION 1       /* framing version in every header */
#define RELAY_PROTOCOL_VERSION 3   /* handshake version carried by HELLO: 2 = binary
				    * TEMPLATE (template_codec.h) and REQUEST_FULL; 3 =
				    * TEMPLATE may carry the merkle branch */
#define RELAY_PROTOCOL_MIN 2       /* oldest relay a primary still serves */
#define RELAY_HEADER_LEN 8

/* Hard cap of any payload: 16 MiB. A full binary template is at most 4 MB
 * of raw transactions (a block's serialized size) plus 85 bytes per
 * transaction (ids, fee, sigops, weight, length); a submitted block is at
 * most 8 MB of hex. Both stay well below 16 MiB. */
#define RELAY_MAX_PAYLOAD (16u * 1024 * 1024)

#define RELAY_NONCE_LEN 32
#define RELAY_MAC_LEN 32
#define RELAY_REGION_MAX 63        /* bytes of region in HELLO */
#define RELAY_INSTANCE_MAX 127     /* bytes of pool_instance in HELLO */
#define RELAY_REASON_MAX 255       /* bytes of AUTH_FAIL reason */
#define RELAY_RESULT_MAX 512       /* bytes of BLOCK_RESULT text */

enum relay_frame_type {
	RELAY_HELLO = 1,         /* relay -> primary */
	RELAY_CHALLENGE = 2,     /* primary -> relay */
	RELAY_AUTH = 3,          /* relay -> primary */
	RELAY_AUTH_OK = 4,       /* primary -> relay */
	RELAY_AUTH_FAIL = 5,     /* primary -> relay, then close */
	RELAY_TEMPLATE = 6,      /* primary -> relay */
	RELAY_BLOCK = 7,         /* relay -> primary */
	RELAY_BLOCK_RESULT = 8,  /* primary -> relay */
	RELAY_PING = 9,          /* both ways */
	RELAY_PONG = 10,         /* both ways */
	RELAY_REQUEST_FULL = 11, /* relay -> primary: a TEMPLATE referenced unknown txs */
};
#define RELAY_TYPE_MAX 11

/* Sets of types a decoder accepts (bit 1 << type). */
#define RELAY_TYPE_BIT(t) (1u << (t))
#define RELAY_TYPES_BEFORE_HELLO RELAY_TYPE_BIT(RELAY_HELLO)
#define RELAY_TYPES_BEFORE_AUTH RELAY_TYPE_BIT(RELAY_AUTH)
#define RELAY_TYPES_SERVER_READY \
	(RELAY_TYPE_BIT(RELAY_BLOCK) | RELAY_TYPE_BIT(RELAY_PING) | RELAY_TYPE_BIT(RELAY_PONG) \
	 | RELAY_TYPE_BIT(RELAY_REQUEST_FULL))
#define RELAY_TYPES_CLIENT_CHALLENGE RELAY_TYPE_BIT(RELAY_CHALLENGE)
#define RELAY_TYPES_CLIENT_AUTH_REPLY \
	(RELAY_TYPE_BIT(RELAY_AUTH_OK) | RELAY_TYPE_BIT(RELAY_AUTH_FAIL))
#define RELAY_TYPES_CLIENT_READY \
	(RELAY_TYPE_BIT(RELAY_TEMPLATE) | RELAY_TYPE_BIT(RELAY_BLOCK_RESULT) \
	 | RELAY_TYPE_BIT(RELAY_PING) | RELAY_TYPE_BIT(RELAY_PONG))

/* Why a frame was refused; counted per reason (frames_rejected_total). */
enum relay_reject {
	RELAY_REJECT_BAD_MAGIC,
	RELAY_REJECT_BAD_VERSION,
	RELAY_REJECT_UNKNOWN_TYPE,
	RELAY_REJECT_OVERSIZE,
	RELAY_REJECT_UNEXPECTED,  /* a known type not allowed now (e.g. before auth) */
	RELAY_REJECT_MALFORMED,   /* the payload does not parse */
	RELAY_REJECT_COUNT
};

/* "bad_magic", "bad_version", "unknown_type", "oversize", "unexpected", "malformed". */
const char *relay_reject_name(enum relay_reject r);
/* "HELLO", "TEMPLATE", ... or "UNKNOWN". */
const char *relay_frame_type_name(unsigned type);
/* Largest payload a frame of this type may carry; 0 for unknown types. */
uint32_t relay_type_max_payload(unsigned type);

/* ---- decoding ---- */

struct relay_frame {
	uint8_t type;
	uint8_t *payload;        /* malloc'd (never NULL for a decoded frame) */
	uint32_t len;
};

/* Releases the payload. */
void relay_frame_free(struct relay_frame *f);

enum relay_decode_status {
	RELAY_DECODE_ERROR = -1,
	RELAY_DECODE_MORE = 0,
	RELAY_DECODE_FRAME = 1,
};

struct relay_decoder {
	uint8_t header[RELAY_HEADER_LEN];
	size_t header_have;
	uint8_t type;
	uint32_t payload_len;
	uint8_t *payload;
	size_t payload_have;
	uint32_t allowed;          /* RELAY_TYPE_BIT set */
	enum relay_reject error;   /* valid after RELAY_DECODE_ERROR */
};

void relay_decoder_init(struct relay_decoder *d, uint32_t allowed_types);
void relay_decoder_free(struct relay_decoder *d);
/* Changes which types the next headers may carry (e.g. after auth). */
void relay_decoder_allow(struct relay_decoder *d, uint32_t allowed_types);

/* Consumes bytes of data[0..len) until one frame is complete or the stream
 * is found invalid. *used is set to the bytes consumed; the rest belongs to
 * the next call. RELAY_DECODE_FRAME moves the frame into *frame (the caller
 * frees it); RELAY_DECODE_MORE means every byte was consumed and the frame
 * is incomplete; RELAY_DECODE_ERROR sets d->error and the decoder must not
 * be fed again. */
int relay_decoder_feed(struct relay_decoder *d, const uint8_t *data, size_t len, size_t *used,
		       struct relay_frame *frame);

/* ---- encoding ---- */

/* One complete encoded frame (header + payload), shared by reference. */
struct relay_msg {
	atomic_int refs;
	uint8_t type;
	size_t len;              /* header + payload */
	uint8_t bytes[];
};

/* A frame of `type` whose payload is a || b (either may be empty). a NULL
 * with alen > 0 leaves those payload bytes for the caller to fill. */
struct relay_msg *relay_msg_new(uint8_t type, const void *a, size_t alen, const void *b,
				size_t blen);
struct relay_msg *relay_msg_ref(struct relay_msg *m);
/* Drops a reference, freeing with the last. NULL is ignored. */
void relay_msg_unref(struct relay_msg *m);

/* HELLO: u8 protocol version, u8 region length, region, u8 pool_instance
 * length, pool_instance, 32-byte client nonce. NULL when region or
 * instance is too long. */
struct relay_msg *relay_msg_hello(const char *region, const char *pool_instance,
				  const uint8_t client_nonce[RELAY_NONCE_LEN]);
/* CHALLENGE, AUTH, AUTH_OK: exactly 32 bytes (nonce or MAC). */
struct relay_msg *relay_msg_32(uint8_t type, const uint8_t bytes[32]);
/* AUTH_FAIL: a short human-readable reason (truncated to RELAY_REASON_MAX). */
struct relay_msg *relay_msg_auth_fail(const char *reason);
/* TEMPLATE: built and parsed by template_codec.h (binary since protocol
 * version 2; it starts with u64 send time and u64 workbase id). */
/* BLOCK: u64 request id, i64 height, 64 ASCII hex block hash (display
 * order), then the block hex. NULL when too big or hash is not 64 chars. */
struct relay_msg *relay_msg_block(uint64_t request_id, int64_t height, const char *hash,
				  const char *hex, size_t hex_len);

enum relay_block_status {
	RELAY_BLOCK_ACCEPTED = 0,  /* submitblock returned null */
	RELAY_BLOCK_REJECTED = 1,  /* submitblock returned a reason string */
	RELAY_BLOCK_ERROR = 2,     /* the primary could not ask its node */
};
/* BLOCK_RESULT: u64 request id, u32 submit time on the primary (µs),
 * u8 status, then the result text (truncated to RELAY_RESULT_MAX). */
struct relay_msg *relay_msg_block_result(uint64_t request_id, uint32_t submit_us, uint8_t status,
					 const char *text);
/* PING, PONG: u64 token (the sender's monotonic µs; PONG echoes PING's).
 * REQUEST_FULL: u64 primary workbase id of the template that could not be
 * completed (for logs). */
struct relay_msg *relay_msg_u64(uint8_t type, uint64_t value);

/* ---- payload parsers: 0 on success, -1 when malformed ---- */

struct relay_hello {
	uint8_t version;
	char region[RELAY_REGION_MAX + 1];
	char pool_instance[RELAY_INSTANCE_MAX + 1];
	uint8_t client_nonce[RELAY_NONCE_LEN];
};

struct relay_block {
	uint64_t request_id;
	int64_t height;
	char hash[65];
	const char *hex;         /* points into the payload, not NUL-terminated */
	size_t hex_len;
};

struct relay_block_result {
	uint64_t request_id;
	uint32_t submit_us;
	uint8_t status;
	char text[RELAY_RESULT_MAX + 1];
};

/* Region must be 1..63 printable ASCII bytes, instance 0..127. */
int relay_parse_hello(const uint8_t *p, size_t len, struct relay_hello *out);
int relay_parse_32(const uint8_t *p, size_t len, uint8_t out[32]);
/* Copies a printable version of the reason into out. */
void relay_parse_auth_fail(const uint8_t *p, size_t len, char *out, size_t outlen);
/* Hash must be 64 hex digits; hex a non-empty, even number of hex digits. */
int relay_parse_block(const uint8_t *p, size_t len, struct relay_block *out);
int relay_parse_block_result(const uint8_t *p, size_t len, struct relay_block_result *out);
int relay_parse_u64(const uint8_t *p, size_t len, uint64_t *out);

/* Big-endian helpers. */
void relay_put_u32(uint8_t *p, uint32_t v);
void relay_put_u64(uint8_t *p, uint64_t v);
uint32_t relay_get_u32(const uint8_t *p);
uint64_t relay_get_u64(const uint8_t *p);

#endif
