/*
 * test_relay_frame.c - the relay wire format: frame builders and parsers,
 * the incremental decoder (byte by byte, oversize, unknown and unexpected
 * types) and the link's drop-oldest-template output queue.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "bytes.h"
#include "relay_frame.h"
#include "relay_link.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#define ALL_TYPES 0xffffffffu

static const char HASH[] = "00000000000000000001a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7";

/* Decodes exactly one frame from the whole of m, in one call. */
static void decode_one(const struct relay_msg *m, struct relay_frame *f)
{
	struct relay_decoder d;
	size_t used = 0;

	relay_decoder_init(&d, ALL_TYPES);
	assert_int_equal(relay_decoder_feed(&d, m->bytes, m->len, &used, f), RELAY_DECODE_FRAME);
	assert_int_equal(used, m->len);
	relay_decoder_free(&d);
}

static void test_header_layout(void **state)
{
	struct relay_msg *m = relay_msg_u64(RELAY_PING, 0x0102030405060708ULL);

	(void)state;
	assert_int_equal(m->len, 16);
	assert_bytes_hex(m->bytes, m->len, "5442010900000008" "0102030405060708");
	relay_msg_unref(m);
}

static void test_hello_round_trip(void **state)
{
	uint8_t nonce[32];
	struct relay_msg *m;
	struct relay_frame f;
	struct relay_hello h;

	(void)state;
	memset(nonce, 0xab, sizeof(nonce));
	m = relay_msg_hello("us-east", "ckpool-relay-us", nonce);
	assert_non_null(m);
	decode_one(m, &f);
	assert_int_equal(f.type, RELAY_HELLO);
	assert_int_equal(relay_parse_hello(f.payload, f.len, &h), 0);
	assert_int_equal(h.version, RELAY_PROTOCOL_VERSION);
	assert_string_equal(h.region, "us-east");
	assert_string_equal(h.pool_instance, "ckpool-relay-us");
	assert_memory_equal(h.client_nonce, nonce, 32);
	relay_frame_free(&f);
	relay_msg_unref(m);
}

static void test_hello_rejects_bad_identity(void **state)
{
	uint8_t nonce[32] = { 0 }, p[64];
	char long_region[80];
	struct relay_hello h;
	size_t n = 0;

	(void)state;
	memset(long_region, 'a', sizeof(long_region) - 1);
	long_region[sizeof(long_region) - 1] = '\0';
	assert_null(relay_msg_hello("", "x", nonce));
	assert_null(relay_msg_hello(long_region, "x", nonce));
	/* empty region */
	p[n++] = 1, p[n++] = 0, p[n++] = 0;
	memset(p + n, 0, 32);
	assert_int_equal(relay_parse_hello(p, n + 32, &h), -1);
	/* control character in the region */
	n = 0;
	p[n++] = 1, p[n++] = 2, p[n++] = 'e', p[n++] = '\n', p[n++] = 0;
	assert_int_equal(relay_parse_hello(p, n + 32, &h), -1);
	/* good, then a trailing byte, then one byte short */
	p[3] = 'u';
	assert_int_equal(relay_parse_hello(p, n + 32, &h), 0);
	assert_int_equal(relay_parse_hello(p, n + 33, &h), -1);
	assert_int_equal(relay_parse_hello(p, n + 31, &h), -1);
	/* region length pointing past the end */
	p[1] = 60;
	assert_int_equal(relay_parse_hello(p, 10, &h), -1);
}

/* The frame layer does not look into a TEMPLATE payload (template_codec.h
 * does); these tests wrap opaque bytes after the send time and id. */
static struct relay_msg *opaque_template(uint64_t send_us, uint64_t id, const void *body,
					 size_t len)
{
	uint8_t head[16];

	relay_put_u64(head, send_us);
	relay_put_u64(head + 8, id);
	return relay_msg_new(RELAY_TEMPLATE, head, sizeof(head), body, len);
}

static void test_request_full_round_trip(void **state)
{
	struct relay_msg *m = relay_msg_u64(RELAY_REQUEST_FULL, 0x1122334455667788ULL);
	struct relay_frame f;
	uint64_t id;

	(void)state;
	decode_one(m, &f);
	assert_int_equal(f.type, RELAY_REQUEST_FULL);
	assert_int_equal(relay_parse_u64(f.payload, f.len, &id), 0);
	assert_int_equal(id, 0x1122334455667788ULL);
	assert_int_equal(relay_type_max_payload(RELAY_REQUEST_FULL), 8);
	assert_true(RELAY_TYPES_SERVER_READY & RELAY_TYPE_BIT(RELAY_REQUEST_FULL));
	assert_false(RELAY_TYPES_CLIENT_READY & RELAY_TYPE_BIT(RELAY_REQUEST_FULL));
	assert_int_equal(RELAY_PROTOCOL_VERSION, 3);
	assert_int_equal(RELAY_PROTOCOL_MIN, 2);
	relay_frame_free(&f);
	relay_msg_unref(m);
}

static void test_block_round_trip(void **state)
{
	const char *hex = "0100000000ff";
	struct relay_msg *m = relay_msg_block(7, 850000, HASH, hex, strlen(hex));
	struct relay_frame f;
	struct relay_block b;

	(void)state;
	decode_one(m, &f);
	assert_int_equal(relay_parse_block(f.payload, f.len, &b), 0);
	assert_int_equal(b.request_id, 7);
	assert_int_equal(b.height, 850000);
	assert_string_equal(b.hash, HASH);
	assert_int_equal(b.hex_len, strlen(hex));
	assert_memory_equal(b.hex, hex, b.hex_len);
	/* odd hex, non-hex, bad hash */
	assert_int_equal(relay_parse_block(f.payload, f.len - 1, &b), -1);
	f.payload[f.len - 1] = 'g';
	assert_int_equal(relay_parse_block(f.payload, f.len, &b), -1);
	f.payload[f.len - 1] = 'f';
	f.payload[20] = 'x';
	assert_int_equal(relay_parse_block(f.payload, f.len, &b), -1);
	assert_null(relay_msg_block(1, 1, "abc", hex, strlen(hex)));
	relay_frame_free(&f);
	relay_msg_unref(m);
}

static void test_block_result_round_trip(void **state)
{
	struct relay_msg *m = relay_msg_block_result(9, 1500, RELAY_BLOCK_REJECTED, "duplicate");
	struct relay_frame f;
	struct relay_block_result r;

	(void)state;
	decode_one(m, &f);
	assert_int_equal(relay_parse_block_result(f.payload, f.len, &r), 0);
	assert_int_equal(r.request_id, 9);
	assert_int_equal(r.submit_us, 1500);
	assert_int_equal(r.status, RELAY_BLOCK_REJECTED);
	assert_string_equal(r.text, "duplicate");
	f.payload[12] = 3; /* unknown status */
	assert_int_equal(relay_parse_block_result(f.payload, f.len, &r), -1);
	relay_frame_free(&f);
	relay_msg_unref(m);
}

static void test_decoder_byte_by_byte(void **state)
{
	uint8_t nonce[32] = { 1, 2, 3 };
	struct relay_msg *msgs[3] = {
		relay_msg_32(RELAY_CHALLENGE, nonce),
		opaque_template(5, 6, "{}", 2),
		relay_msg_u64(RELAY_PONG, 77),
	};
	struct buf stream = BUF_INIT;
	struct relay_decoder d;
	size_t frames = 0;

	(void)state;
	for (int i = 0; i < 3; i++)
		buf_append(&stream, msgs[i]->bytes, msgs[i]->len);
	relay_decoder_init(&d, ALL_TYPES);
	for (size_t i = 0; i < stream.len; i++) {
		struct relay_frame f;
		size_t used = 0;
		int rc = relay_decoder_feed(&d, stream.data + i, 1, &used, &f);

		assert_int_equal(used, 1);
		if (rc == RELAY_DECODE_MORE)
			continue;
		assert_int_equal(rc, RELAY_DECODE_FRAME);
		assert_int_equal(f.type, msgs[frames]->type);
		assert_int_equal(f.len, msgs[frames]->len - RELAY_HEADER_LEN);
		assert_memory_equal(f.payload, msgs[frames]->bytes + RELAY_HEADER_LEN, f.len);
		relay_frame_free(&f);
		frames++;
	}
	assert_int_equal(frames, 3);
	relay_decoder_free(&d);
	buf_free(&stream);
	for (int i = 0; i < 3; i++)
		relay_msg_unref(msgs[i]);
}

static void test_decoder_stops_at_frame_boundary(void **state)
{
	struct relay_msg *a = relay_msg_u64(RELAY_PING, 1), *b = relay_msg_u64(RELAY_PING, 2);
	uint8_t both[32];
	struct relay_decoder d;
	struct relay_frame f;
	size_t used = 0;
	uint64_t v = 0;

	(void)state;
	memcpy(both, a->bytes, 16);
	memcpy(both + 16, b->bytes, 16);
	relay_decoder_init(&d, ALL_TYPES);
	assert_int_equal(relay_decoder_feed(&d, both, 32, &used, &f), RELAY_DECODE_FRAME);
	assert_int_equal(used, 16);
	assert_int_equal(relay_parse_u64(f.payload, f.len, &v), 0);
	assert_int_equal(v, 1);
	relay_frame_free(&f);
	assert_int_equal(relay_decoder_feed(&d, both + 16, 16, &used, &f), RELAY_DECODE_FRAME);
	assert_int_equal(relay_parse_u64(f.payload, f.len, &v), 0);
	assert_int_equal(v, 2);
	relay_frame_free(&f);
	relay_decoder_free(&d);
	relay_msg_unref(a);
	relay_msg_unref(b);
}

/* Feeds an 8-byte header and expects `why`. */
static void expect_header_rejected(const char *hex, uint32_t allowed, enum relay_reject why)
{
	uint8_t h[8];
	struct relay_decoder d;
	struct relay_frame f;
	size_t used = 0;

	from_hex(hex, h, 8);
	relay_decoder_init(&d, allowed);
	assert_int_equal(relay_decoder_feed(&d, h, 8, &used, &f), RELAY_DECODE_ERROR);
	assert_int_equal(d.error, why);
	assert_null(d.payload); /* nothing allocated for a refused frame */
	relay_decoder_free(&d);
}

static void test_decoder_rejects_bad_headers(void **state)
{
	(void)state;
	expect_header_rejected("4745010900000008", ALL_TYPES, RELAY_REJECT_BAD_MAGIC);
	expect_header_rejected("5442020900000008", ALL_TYPES, RELAY_REJECT_BAD_VERSION);
	expect_header_rejected("5442010000000008", ALL_TYPES, RELAY_REJECT_UNKNOWN_TYPE);
	expect_header_rejected("5442010c00000008", ALL_TYPES, RELAY_REJECT_UNKNOWN_TYPE);
	/* REQUEST_FULL carries 8 bytes, and only a relay sends it */
	expect_header_rejected("5442010b00000009", ALL_TYPES, RELAY_REJECT_OVERSIZE);
	expect_header_rejected("5442010b00000008", RELAY_TYPES_CLIENT_READY, RELAY_REJECT_UNEXPECTED);
	expect_header_rejected("544201ff00000008", ALL_TYPES, RELAY_REJECT_UNKNOWN_TYPE);
	/* PING must be 8 bytes; a template may not exceed 16 MiB */
	expect_header_rejected("5442010900000009", ALL_TYPES, RELAY_REJECT_OVERSIZE);
	expect_header_rejected("5442010601000001", ALL_TYPES, RELAY_REJECT_OVERSIZE);
	expect_header_rejected("54420106ffffffff", ALL_TYPES, RELAY_REJECT_OVERSIZE);
	/* a HELLO claiming 1 MB */
	expect_header_rejected("5442010100100000", ALL_TYPES, RELAY_REJECT_OVERSIZE);
	/* a template or a block before authentication */
	expect_header_rejected("5442010600000010", RELAY_TYPES_BEFORE_HELLO, RELAY_REJECT_UNEXPECTED);
	expect_header_rejected("5442010700000051", RELAY_TYPES_BEFORE_AUTH, RELAY_REJECT_UNEXPECTED);
	/* a relay may not send templates to the primary */
	expect_header_rejected("5442010600000010", RELAY_TYPES_SERVER_READY, RELAY_REJECT_UNEXPECTED);
}

static void test_largest_template_fits(void **state)
{
	size_t json_len = RELAY_MAX_PAYLOAD - 16;
	char *json = malloc(json_len);
	struct relay_msg *m;

	(void)state;
	memset(json, ' ', json_len);
	m = opaque_template(1, 1, json, json_len);
	assert_non_null(m);
	assert_int_equal(m->len, RELAY_HEADER_LEN + RELAY_MAX_PAYLOAD);
	relay_msg_unref(m);
	assert_null(opaque_template(1, 1, json, json_len + 1));
	free(json);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(relay_reject_name(RELAY_REJECT_OVERSIZE), "oversize");
	assert_string_equal(relay_frame_type_name(RELAY_BLOCK_RESULT), "BLOCK_RESULT");
	assert_string_equal(relay_frame_type_name(99), "UNKNOWN");
}

/* ---- output queue over a socketpair ---- */

/* Reads what is there and decodes it; tags each frame: a template by the
 * low byte of its workbase id, anything else as 100 + type. */
static int frame_count_in(struct relay_link *reader, uint8_t *tags, size_t max)
{
	uint8_t chunk[65536];
	size_t n = 0;

	for (;;) {
		ssize_t got = read(reader->fd, chunk, sizeof(chunk));
		size_t off = 0;

		if (got <= 0)
			break;
		while (off < (size_t)got) {
			struct relay_frame f;
			size_t used = 0;
			int rc = relay_decoder_feed(&reader->dec, chunk + off, (size_t)got - off,
						    &used, &f);

			assert_int_not_equal(rc, RELAY_DECODE_ERROR);
			off += used;
			if (rc == RELAY_DECODE_FRAME) {
				if (n < max)
					tags[n] = f.type == RELAY_TEMPLATE ? f.payload[15]
									   : 100 + f.type;
				n++;
				relay_frame_free(&f);
			}
		}
	}
	return (int)n;
}

static struct relay_msg *big_template(uint64_t id, size_t size)
{
	char *json = malloc(size);
	struct relay_msg *m;

	memset(json, 'x', size);
	m = opaque_template(0, id, json, size);
	free(json);
	return m;
}

static void test_queue_keeps_started_template_and_newest(void **state)
{
	int sv[2], small = 4096;
	struct relay_link w, r;
	struct relay_msg *t1 = big_template(1, 1 << 20), *t2 = big_template(2, 1000),
			 *t3 = big_template(3, 1000), *ping = relay_msg_u64(RELAY_PING, 5);
	size_t dropped = 0, seen = 0;
	uint8_t ids[8];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	relay_link_init(&w, sv[0], 0, 0);
	relay_link_init(&r, sv[1], ALL_TYPES, 0);

	assert_int_equal(relay_link_send_latest(&w, t1, &dropped), 0);
	assert_int_equal(relay_link_flush(&w, 1, NULL), RELAY_LINK_OK);
	assert_true(w.head_sent > 0 && w.head_sent < t1->len); /* t1 is on the wire */
	assert_int_equal(relay_link_send(&w, ping), 0);
	assert_int_equal(relay_link_send_latest(&w, t2, &dropped), 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(relay_link_send_latest(&w, t3, &dropped), 0);
	assert_int_equal(dropped, 1);                   /* t2 never started */
	assert_int_equal(w.q_count, 3);                 /* t1, ping, t3 */

	for (int spins = 0; relay_link_has_output(&w) && spins < 100000; spins++) {
		unsigned done = 0;

		assert_int_equal(relay_link_flush(&w, 2, &done), RELAY_LINK_OK);
		seen += frame_count_in(&r, ids + seen, sizeof(ids) - seen);
	}
	assert_false(relay_link_has_output(&w));
	seen += frame_count_in(&r, ids + seen, sizeof(ids) - seen);
	assert_int_equal(seen, 3);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 100 + RELAY_PING);
	assert_int_equal(ids[2], 3);
	relay_link_close(&w);
	relay_link_close(&r);
	relay_msg_unref(t1);
	relay_msg_unref(t2);
	relay_msg_unref(t3);
	relay_msg_unref(ping);
}

static void test_queue_order_and_templates_done(void **state)
{
	int sv[2];
	struct relay_link w, r;
	struct relay_msg *t1 = big_template(1, 100), *t2 = big_template(2, 100),
			 *t3 = big_template(3, 100);
	size_t dropped = 0;
	unsigned done = 0;
	uint8_t ids[8];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	relay_link_init(&w, sv[0], 0, 0);
	relay_link_init(&r, sv[1], ALL_TYPES, 0);
	relay_link_send_latest(&w, t1, &dropped);
	relay_link_send_latest(&w, t2, &dropped);
	relay_link_send_latest(&w, t3, &dropped);
	assert_int_equal(dropped, 1);
	assert_int_equal(w.q_count, 1);                 /* only the newest survives */
	assert_int_equal(relay_link_pending_bytes(&w), t3->len);
	assert_int_equal(relay_link_flush(&w, 1, &done), RELAY_LINK_OK);
	assert_int_equal(done, 1);
	assert_int_equal(frame_count_in(&r, ids, 8), 1);
	assert_int_equal(ids[0], 3);
	relay_link_close(&w);
	relay_link_close(&r);
	relay_msg_unref(t1);
	relay_msg_unref(t2);
	relay_msg_unref(t3);
}

static void test_queue_is_bounded(void **state)
{
	int sv[2];
	struct relay_link w;
	struct relay_msg *ping = relay_msg_u64(RELAY_PING, 1);

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	relay_link_init(&w, sv[0], 0, 0);
	for (int i = 0; i < RELAY_OUTQ_MAX; i++)
		assert_int_equal(relay_link_send(&w, ping), 0);
	assert_int_equal(relay_link_send(&w, ping), -1);
	relay_link_close(&w);
	close(sv[1]);
	relay_msg_unref(ping);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_layout),
		cmocka_unit_test(test_hello_round_trip),
		cmocka_unit_test(test_hello_rejects_bad_identity),
		cmocka_unit_test(test_request_full_round_trip),
		cmocka_unit_test(test_block_round_trip),
		cmocka_unit_test(test_block_result_round_trip),
		cmocka_unit_test(test_decoder_byte_by_byte),
		cmocka_unit_test(test_decoder_stops_at_frame_boundary),
		cmocka_unit_test(test_decoder_rejects_bad_headers),
		cmocka_unit_test(test_largest_template_fits),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_queue_keeps_started_template_and_newest),
		cmocka_unit_test(test_queue_order_and_templates_done),
		cmocka_unit_test(test_queue_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
