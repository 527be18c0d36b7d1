/*
 * test_relay_link.c - the relay server and client in one process on
 * 127.0.0.1 with an ephemeral port: handshake, template push (cold: every
 * transaction in full, then warm: references, each time the same workbase
 * as workbase_from_gbt), a relay asking for a full template, blocks up
 * and results down, heartbeats, refusal of bad peers while a good relay
 * keeps working, slow relays, reconnection after a primary restart, and
 * the metrics and health writers.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Every wait is for a condition, bounded by WAIT_S. Links use short
 * heartbeats (quick RTT figures) but patient timeouts, so a machine busy
 * elsewhere never drops a link or fails a block by being slow; the tests of
 * timeouts shorten just the one they test, where nothing else can race it.
 */
#include "helpers.h"
#include "gbt_fixture.h"
#include "log.h"
#include "relay_auth.h"
#include "relay_client.h"
#include "relay_server.h"
#include "util.h"
#include "template_codec.h"
#include "workbase.h"
#include "workbase_compare.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TOKEN "relay-test-token-0123456789"
#define WAIT_S 30.0
#define PATIENT_MS 30000       /* dead_after, handshake and block timeouts */
#define RAW_RECV_TIMEOUT_S 30
#define BLOCK_OK "00aa00aa"
#define BLOCK_DUP "00bb00bb"
#define BLOCK_STALL "00cc00cc"
#define HASH "0000000000000000000000000000000000000000000000000000000000000abc"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stall_cond = PTHREAD_COND_INITIALIZER;
static struct workbase *got_wb;
static uint64_t got_workbase_id, got_send_us;
static int got_templates;
static char got_block_hex[64];
static int blocks_submitted;
static bool stall_released;
static int link_ups, link_downs;
static atomic_int relay_ups, relay_downs;

struct block_outcome {
	bool done;
	bool accepted;
	char result[128];
	double ms;
};

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Polls `cond` every 2 ms for up to WAIT_S; the condition's value. */
#define WAIT_UNTIL(cond) \
	({ bool ok_ = false; \
	   for (double until_ = now_monotonic() + WAIT_S; \
		!(ok_ = (cond)) && now_monotonic() < until_;) \
		   sleep_ms(2); \
	   ok_; })

static int locked_int(const int *v)
{
	int x;

	pthread_mutex_lock(&lock);
	x = *v;
	pthread_mutex_unlock(&lock);
	return x;
}

static bool outcome_done(struct block_outcome *o)
{
	bool d;

	pthread_mutex_lock(&lock);
	d = o->done;
	pthread_mutex_unlock(&lock);
	return d;
}

/* ---- callbacks ---- */

static void on_workbase(struct workbase *wb, uint64_t workbase_id, uint64_t send_us, void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&lock);
	workbase_unref(got_wb);
	got_wb = wb;
	got_workbase_id = workbase_id;
	got_send_us = send_us;
	got_templates++;
	pthread_mutex_unlock(&lock);
}

static void on_link_change(bool up, const char *reason, void *ctx)
{
	(void)reason;
	(void)ctx;
	pthread_mutex_lock(&lock);
	if (up)
		link_ups++;
	else
		link_downs++;
	pthread_mutex_unlock(&lock);
}

static void on_relay_change(const struct relay_peer_info *info, bool connected, void *ctx)
{
	(void)info;
	(void)ctx;
	if (connected)
		atomic_fetch_add(&relay_ups, 1);
	else
		atomic_fetch_add(&relay_downs, 1);
}

static int submit_cb(const char *hex, char *result, size_t len, void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&lock);
	copy_string(got_block_hex, hex, sizeof(got_block_hex));
	blocks_submitted++;
	while (!strcmp(hex, BLOCK_STALL) && !stall_released)
		pthread_cond_wait(&stall_cond, &lock);
	pthread_mutex_unlock(&lock);
	if (!strcmp(hex, BLOCK_OK))
		return RELAY_BLOCK_ACCEPTED;
	copy_string(result, "duplicate", len);
	return RELAY_BLOCK_REJECTED;
}

static void block_done(const char *result, double ms, void *ctx)
{
	struct block_outcome *o = ctx;

	pthread_mutex_lock(&lock);
	o->accepted = result == NULL;
	copy_string(o->result, result ? result : "", sizeof(o->result));
	o->ms = ms;
	o->done = true;
	pthread_mutex_unlock(&lock);
}

/* ---- starting the two ends ---- */

static int heartbeat_ms = 50;
static int server_handshake_ms = PATIENT_MS;
static int block_timeout_ms = PATIENT_MS;

static int start_server_on(int port)
{
	char listen[64], err[256];
	struct relay_server_config cfg = {
		.listen = listen, .auth_token = TOKEN, .heartbeat_interval_ms = heartbeat_ms,
		.dead_after_ms = PATIENT_MS, .handshake_timeout_ms = server_handshake_ms,
		.submit_block = submit_cb, .on_relay_change = on_relay_change,
	};

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	if (relay_server_start(&cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return relay_server_port();
}

static int start_client(const char *token)
{
	char err[256];
	struct relay_client_config cfg = {
		.host = "127.0.0.1", .port = relay_server_port(), .auth_token = token,
		.region = "us-east", .pool_instance = "relay-us", .reconnect_interval_ms = 50,
		.heartbeat_interval_ms = heartbeat_ms, .dead_after_ms = PATIENT_MS,
		.handshake_timeout_ms = PATIENT_MS, .block_timeout_ms = block_timeout_ms,
		.on_workbase = on_workbase, .on_link_change = on_link_change,
	};

	if (relay_client_start(&cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static void reset_captures(void)
{
	pthread_mutex_lock(&lock);
	workbase_unref(got_wb);
	got_wb = NULL;
	got_templates = 0;
	got_workbase_id = got_send_us = 0;
	got_block_hex[0] = '\0';
	blocks_submitted = 0;
	stall_released = false;
	link_ups = link_downs = 0;
	pthread_mutex_unlock(&lock);
}

static int setup(void **state)
{
	(void)state;
	heartbeat_ms = 50;
	server_handshake_ms = PATIENT_MS;
	block_timeout_ms = PATIENT_MS;
	reset_captures();
	if (start_server_on(0) <= 0 || start_client(TOKEN))
		return -1;
	return WAIT_UNTIL(relay_client_link_up() && relay_server_relay_count() == 1) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	pthread_mutex_lock(&lock);
	stall_released = true;
	pthread_cond_broadcast(&stall_cond);
	pthread_mutex_unlock(&lock);
	relay_client_stop();
	relay_server_stop();
	return 0;
}

/* ---- raw peers ---- */

static int raw_connect_with_rcvbuf(int rcvbuf)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(relay_server_port()) };
	struct timeval tv = { .tv_sec = RAW_RECV_TIMEOUT_S };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int raw_connect(void)
{
	return raw_connect_with_rcvbuf(0);
}

static void raw_send(int fd, const void *data, size_t len)
{
	assert_int_equal(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void raw_send_msg(int fd, struct relay_msg *m)
{
	raw_send(fd, m->bytes, m->len);
	relay_msg_unref(m);
}

/* Reads one frame (blocking, bounded by SO_RCVTIMEO); -1 on close or timeout. */
static int raw_read_frame(int fd, struct relay_frame *f)
{
	struct relay_decoder d;
	uint8_t byte;
	int rc = RELAY_DECODE_MORE;

	relay_decoder_init(&d, 0xffffffffu);
	while (rc == RELAY_DECODE_MORE) {
		size_t used;

		if (recv(fd, &byte, 1, 0) != 1)
			break;
		rc = relay_decoder_feed(&d, &byte, 1, &used, f);
	}
	relay_decoder_free(&d);
	return rc == RELAY_DECODE_FRAME ? 0 : -1;
}

/* Reads frames until the server closes the connection; true when it did. */
static bool raw_closed_by_server(int fd)
{
	struct relay_frame f;

	while (raw_read_frame(fd, &f) == 0)
		relay_frame_free(&f);
	return errno != EAGAIN && errno != EWOULDBLOCK;
}

/* Sends HELLO and reads the CHALLENGE nonce. */
static void raw_hello(int fd, const uint8_t client_nonce[32], uint8_t server_nonce[32])
{
	struct relay_frame f;

	raw_send_msg(fd, relay_msg_hello("asia", "raw", client_nonce));
	assert_int_equal(raw_read_frame(fd, &f), 0);
	assert_int_equal(f.type, RELAY_CHALLENGE);
	assert_int_equal(relay_parse_32(f.payload, f.len, server_nonce), 0);
	relay_frame_free(&f);
}

/* Sends AUTH with `mac` and returns the reply's type. */
static int raw_auth(int fd, const uint8_t mac[32])
{
	struct relay_frame f;
	int type;

	raw_send_msg(fd, relay_msg_32(RELAY_AUTH, mac));
	assert_int_equal(raw_read_frame(fd, &f), 0);
	type = f.type;
	relay_frame_free(&f);
	return type;
}

/* A raw relay that completes the handshake; its AUTH mac in mac_out. */
static int raw_authenticated_with_rcvbuf(const uint8_t client_nonce[32], uint8_t mac_out[32],
					 int rcvbuf)
{
	uint8_t server_nonce[32];
	int fd = raw_connect_with_rcvbuf(rcvbuf);

	raw_hello(fd, client_nonce, server_nonce);
	relay_auth_proof(RELAY_AUTH_RELAY, TOKEN, server_nonce, client_nonce, "asia", "raw",
			 mac_out);
	assert_int_equal(raw_auth(fd, mac_out), RELAY_AUTH_OK);
	return fd;
}

static int raw_authenticated(const uint8_t client_nonce[32], uint8_t mac_out[32])
{
	return raw_authenticated_with_rcvbuf(client_nonce, mac_out, 0);
}

static struct relay_server_counters server_counters(void)
{
	struct relay_server_counters c;

	relay_server_get_counters(&c);
	return c;
}

static struct relay_client_stats client_stats(void)
{
	struct relay_client_stats s;

	relay_client_get_stats(&s);
	return s;
}

/* The relay's workbase equals workbase_from_gbt(gbt): fields, merkle
 * branch, block assembly. Call with lock held. */
static void assert_got_matches(const json_t *gbt)
{
	char err[256];
	struct workbase *want = workbase_from_gbt(gbt, err, sizeof(err));

	assert_non_null(want);
	assert_non_null(got_wb);
	assert_workbases_equal(got_wb, want);
	workbase_unref(want);
}

/* ---- tests ---- */

static void test_template_reaches_client_intact(void **state)
{
	json_t *gbt = fixture_gbt();
	struct workbase *wb;
	char err[256];
	json_t *relays;

	(void)state;
	assert_int_equal(relay_server_push_template(gbt, 77), 1);
	assert_true(WAIT_UNTIL(locked_int(&got_templates) == 1));
	pthread_mutex_lock(&lock);
	assert_got_matches(gbt);
	assert_int_equal(got_workbase_id, 77);
	assert_true(got_send_us > 0 && (int64_t)got_send_us <= now_unix_us());
	wb = workbase_ref(got_wb);
	pthread_mutex_unlock(&lock);
	assert_int_equal(wb->height, 800000);
	assert_int_equal(wb->tx_count, 2);
	assert_null(wb->gbt);
	workbase_unref(wb);
	(void)err;
	/* the client counts a template after handing it to on_workbase */
	assert_true(WAIT_UNTIL(client_stats().templates_received == 1));
	assert_true(atomic_load(&relay_ups) >= 1);
	assert_true(client_stats().template_latency_ms >= 0);
	assert_true(WAIT_UNTIL(({
		json_t *r = relay_server_relays_json();
		bool sent = json_integer_value(json_object_get(json_array_get(r, 0),
								"templates_sent")) == 1;
		json_decref(r);
		sent;
	})));
	relays = relay_server_relays_json();
	assert_int_equal(json_array_size(relays), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(relays, 0), "region")),
			    "us-east");
	json_decref(relays);
	json_decref(gbt);
}

static void test_workbase_push_reaches_client(void **state)
{
	json_t *gbt = fixture_gbt();
	char err[256];
	struct workbase *wb = workbase_from_gbt(gbt, err, sizeof(err));

	(void)state;
	assert_non_null(wb);
	wb->id = 0x1234;
	assert_int_equal(relay_server_push_workbase(wb), 1);
	workbase_unref(wb); /* the server holds its own reference */
	assert_true(WAIT_UNTIL(locked_int(&got_templates) == 1));
	pthread_mutex_lock(&lock);
	assert_got_matches(gbt);
	assert_int_equal(got_workbase_id, 0x1234);
	pthread_mutex_unlock(&lock);
	json_decref(gbt);
}

static void test_late_relay_gets_current_template(void **state)
{
	json_t *gbt = fixture_gbt();

	(void)state;
	relay_client_stop();
	assert_true(WAIT_UNTIL(relay_server_relay_count() == 0));
	reset_captures();
	assert_int_equal(relay_server_push_template(gbt, 5), 0);
	assert_int_equal(start_client(TOKEN), 0);
	assert_true(WAIT_UNTIL(locked_int(&got_templates) == 1));
	pthread_mutex_lock(&lock);
	assert_got_matches(gbt);
	assert_int_equal(got_workbase_id, 5);
	pthread_mutex_unlock(&lock);
	json_decref(gbt);
}

/* The fixture with transaction 1 replaced by one whose txid derives from
 * `tag` and whose data is `bytes` raw bytes. */
static json_t *gbt_with_tx(unsigned tag, size_t bytes)
{
	json_t *gbt = fixture_gbt();
	char txid[65], *hex = malloc(2 * bytes + 1);

	snprintf(txid, sizeof(txid), "%064x", tag);
	memset(hex, 'a', 2 * bytes);
	hex[2 * bytes] = '\0';
	json_array_set_new(json_object_get(gbt, "transactions"), 1,
			   json_pack("{s:s, s:s, s:s, s:i, s:i, s:i}", "data", hex, "txid", txid,
				     "hash", txid, "fee", 500, "sigops", 4, "weight", 400));
	free(hex);
	return gbt;
}

static bool client_has_workbase(uint64_t id);

/* The client has handed over template `id` and counted `count` templates
 * since `before` (it counts after the on_workbase callback returns). */
static bool client_counted(uint64_t id, const struct relay_client_stats *before, uint64_t count)
{
	return client_has_workbase(id)
	       && client_stats().templates_received - before->templates_received == count;
}

static void test_cold_then_warm_templates(void **state)
{
	json_t *g1 = fixture_gbt(), *g2 = gbt_with_tx(2, 300), *g3 = gbt_with_tx(3, 200);
	struct relay_client_stats st, before = client_stats();
	uint64_t full_requests = server_counters().full_requests;

	(void)state;
	assert_int_equal(relay_server_push_template(g1, 10), 1);
	assert_true(WAIT_UNTIL(client_counted(10, &before, 1)));
	pthread_mutex_lock(&lock);
	assert_got_matches(g1);
	pthread_mutex_unlock(&lock);
	st = client_stats();
	assert_int_equal(st.template_txs_full - before.template_txs_full, 2);
	assert_int_equal(st.template_txs_referenced - before.template_txs_referenced, 0);

	/* tx 0 is known now: sent as a reference */
	assert_int_equal(relay_server_push_template(g2, 11), 1);
	assert_true(WAIT_UNTIL(client_counted(11, &before, 2)));
	pthread_mutex_lock(&lock);
	assert_got_matches(g2);
	pthread_mutex_unlock(&lock);
	st = client_stats();
	assert_int_equal(st.template_txs_full - before.template_txs_full, 3);
	assert_int_equal(st.template_txs_referenced - before.template_txs_referenced, 1);

	/* and again, with the unchanged template twice */
	assert_int_equal(relay_server_push_template(g3, 12), 1);
	assert_true(WAIT_UNTIL(client_counted(12, &before, 3)));
	assert_int_equal(relay_server_push_template(g3, 13), 1);
	assert_true(WAIT_UNTIL(client_counted(13, &before, 4)));
	pthread_mutex_lock(&lock);
	assert_got_matches(g3);
	pthread_mutex_unlock(&lock);
	st = client_stats();
	assert_int_equal(st.template_txs_full - before.template_txs_full, 4);
	assert_int_equal(st.template_txs_referenced - before.template_txs_referenced, 4);
	assert_int_equal(st.full_requests, before.full_requests);
	assert_int_equal(server_counters().full_requests, full_requests);
	json_decref(g1);
	json_decref(g2);
	json_decref(g3);
}

/* Reads frames until a TEMPLATE (pinging, so the server keeps us). */
static void raw_read_template(int fd, struct relay_frame *f)
{
	for (;;) {
		raw_send_msg(fd, relay_msg_u64(RELAY_PING, 1));
		assert_int_equal(raw_read_frame(fd, f), 0);
		if (f->type == RELAY_TEMPLATE)
			return;
		relay_frame_free(f);
	}
}

/* A relay that lost its cache asks for a full template and gets one. */
static void test_relay_asking_for_full_template(void **state)
{
	uint8_t cnonce[32], mac[32];
	json_t *gbt = fixture_gbt();
	struct template_enc *e;
	struct relay_frame f;
	struct workbase *wb, *want;
	char err[256];
	int fd;

	(void)state;
	relay_random_nonce(cnonce);
	fd = raw_authenticated(cnonce, mac);
	assert_true(WAIT_UNTIL(relay_server_relay_count() == 2));
	assert_int_equal(relay_server_push_template(gbt, 21), 2);
	raw_read_template(fd, &f);
	assert_int_equal(template_decode(f.payload, f.len, NULL, &e, err, sizeof(err)),
			 TEMPLATE_OK);                    /* cold: all in full */
	template_enc_unref(e);
	relay_frame_free(&f);

	assert_int_equal(relay_server_push_template(gbt, 22), 2);
	raw_read_template(fd, &f);
	assert_int_equal(template_decode(f.payload, f.len, NULL, &e, err, sizeof(err)),
			 TEMPLATE_MISSING);               /* warm, but we kept nothing */
	relay_frame_free(&f);
	raw_send_msg(fd, relay_msg_u64(RELAY_REQUEST_FULL, 22));
	raw_read_template(fd, &f);
	assert_int_equal(template_decode(f.payload, f.len, NULL, &e, err, sizeof(err)),
			 TEMPLATE_OK);
	assert_int_equal(e->flags & TEMPLATE_FLAG_FULL, TEMPLATE_FLAG_FULL);
	assert_int_equal(e->workbase_id, 22);
	wb = template_enc_workbase(e, err, sizeof(err));
	want = workbase_from_gbt(gbt, err, sizeof(err));
	assert_workbases_equal(wb, want);
	assert_true(server_counters().full_requests >= 1);
	workbase_unref(wb);
	workbase_unref(want);
	template_enc_unref(e);
	relay_frame_free(&f);
	close(fd);
	json_decref(gbt);
}

/* A relay speaking protocol version 1 (JSON templates) is refused. */
static void test_version_1_relay_is_refused(void **state)
{
	uint8_t cnonce[32] = { 7 };
	struct relay_msg *m = relay_msg_hello("asia", "old", cnonce);
	struct relay_frame f;
	char reason[RELAY_REASON_MAX + 1];
	int fd = raw_connect();

	(void)state;
	m->bytes[RELAY_HEADER_LEN] = 1;             /* the HELLO's version byte */
	raw_send_msg(fd, m);
	assert_int_equal(raw_read_frame(fd, &f), 0);
	assert_int_equal(f.type, RELAY_AUTH_FAIL);
	relay_parse_auth_fail(f.payload, f.len, reason, sizeof(reason));
	assert_string_equal(reason, "unsupported protocol version");
	relay_frame_free(&f);
	assert_true(raw_closed_by_server(fd));
	close(fd);
}

static void test_block_up_result_down(void **state)
{
	struct block_outcome ok = { 0 }, dup = { 0 };

	(void)state;
	assert_true(relay_client_submit_block(BLOCK_OK, 800000, HASH, block_done, &ok) > 0);
	assert_true(WAIT_UNTIL(outcome_done(&ok)));
	assert_true(ok.accepted);
	assert_true(ok.ms >= 0);
	pthread_mutex_lock(&lock);
	assert_string_equal(got_block_hex, BLOCK_OK);
	pthread_mutex_unlock(&lock);

	assert_true(relay_client_submit_block(BLOCK_DUP, 800000, HASH, block_done, &dup) > 0);
	assert_true(WAIT_UNTIL(outcome_done(&dup)));
	assert_false(dup.accepted);
	assert_string_equal(dup.result, "duplicate");
	assert_int_equal(client_stats().blocks_accepted, 1);
	assert_int_equal(client_stats().blocks_rejected, 1);
	assert_int_equal(relay_client_submit_block("abc", 1, HASH, NULL, NULL), 0); /* odd hex */
}

/* The node stalls until the test releases it, so a short block timeout
 * fires whatever the machine's pace. */
static void test_slow_node_gives_timeout_but_link_lives(void **state)
{
	struct block_outcome stalled = { 0 }, ok = { 0 };
	int64_t heard_us;
	int ups;

	(void)state;
	relay_client_stop();
	block_timeout_ms = 300;
	assert_int_equal(start_client(TOKEN), 0);
	assert_true(WAIT_UNTIL(relay_client_link_up()));
	assert_true(relay_client_submit_block(BLOCK_STALL, 1, HASH, block_done, &stalled) > 0);
	assert_true(WAIT_UNTIL(outcome_done(&stalled)));
	assert_string_equal(stalled.result, "timeout");
	/* The node is still stuck, yet the primary keeps talking: heartbeats
	 * go on meanwhile and the link stays up. */
	assert_true(WAIT_UNTIL(locked_int(&blocks_submitted) == 1));
	heard_us = client_stats().last_contact_us;
	assert_true(WAIT_UNTIL(client_stats().last_contact_us > heard_us));
	assert_true(relay_client_link_up());
	pthread_mutex_lock(&lock);
	stall_released = true;
	pthread_cond_broadcast(&stall_cond);
	pthread_mutex_unlock(&lock);
	/* The same link carries the next block. Its answer may also miss the
	 * short timeout on a busy machine, so try until one is answered. */
	ups = locked_int(&link_ups);
	for (double until = now_monotonic() + WAIT_S; !ok.accepted && now_monotonic() < until;) {
		memset(&ok, 0, sizeof(ok));
		assert_true(relay_client_submit_block(BLOCK_OK, 1, HASH, block_done, &ok) > 0);
		assert_true(WAIT_UNTIL(outcome_done(&ok)));
		if (!ok.accepted)
			assert_string_equal(ok.result, "timeout");
	}
	assert_true(ok.accepted);
	assert_int_equal(locked_int(&link_ups), ups);   /* no reconnect in between */
}

static void test_heartbeats_give_rtt(void **state)
{
	(void)state;
	assert_true(WAIT_UNTIL(client_stats().rtt_ms >= 0));
	assert_true(WAIT_UNTIL(({
		json_t *r = relay_server_relays_json();
		bool has = json_is_real(json_object_get(json_array_get(r, 0), "rtt_ms"));
		json_decref(r);
		has;
	})));
	/* "down for 0 ms" means heard from within 1.5 heartbeats: a descheduled
	 * test may look later than that, so wait for a fresh contact. */
	assert_true(WAIT_UNTIL(relay_client_link_down_for_ms() == 0
			       && !relay_client_should_failover(3)));
}

static void test_garbage_and_oversize_are_refused(void **state)
{
	struct relay_server_counters before = server_counters();
	const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	uint8_t big_hello[8] = { 0x54, 0x42, 1, RELAY_HELLO, 0x00, 0x10, 0x00, 0x00 };
	uint8_t early_template[8] = { 0x54, 0x42, 1, RELAY_TEMPLATE, 0, 0, 0, 32 };
	uint8_t unknown[8] = { 0x54, 0x42, 1, 42, 0, 0, 0, 0 };
	int fd;

	(void)state;
	fd = raw_connect();
	raw_send(fd, http, strlen(http));
	assert_true(raw_closed_by_server(fd));
	close(fd);
	fd = raw_connect();
	raw_send(fd, big_hello, sizeof(big_hello));
	assert_true(raw_closed_by_server(fd));
	close(fd);
	fd = raw_connect();
	raw_send(fd, early_template, sizeof(early_template));
	assert_true(raw_closed_by_server(fd));
	close(fd);
	fd = raw_connect();
	raw_send(fd, unknown, sizeof(unknown));
	assert_true(raw_closed_by_server(fd));
	close(fd);

	assert_true(WAIT_UNTIL(({
		struct relay_server_counters c = server_counters();
		c.frames_rejected[RELAY_REJECT_BAD_MAGIC] == before.frames_rejected[RELAY_REJECT_BAD_MAGIC] + 1
		&& c.frames_rejected[RELAY_REJECT_OVERSIZE] == before.frames_rejected[RELAY_REJECT_OVERSIZE] + 1
		&& c.frames_rejected[RELAY_REJECT_UNEXPECTED] == before.frames_rejected[RELAY_REJECT_UNEXPECTED] + 1
		&& c.frames_rejected[RELAY_REJECT_UNKNOWN_TYPE] == before.frames_rejected[RELAY_REJECT_UNKNOWN_TYPE] + 1;
	})));
	/* the good relay was never disturbed */
	assert_true(relay_client_link_up());
	assert_int_equal(relay_server_relay_count(), 1);
}

static void test_bad_token_and_replay_are_refused(void **state)
{
	struct relay_server_counters before = server_counters();
	uint8_t cnonce[32], snonce[32], snonce2[32], mac[32], old_mac[32];
	json_t *gbt = fixture_gbt();
	int fd, good;

	(void)state;
	relay_random_nonce(cnonce);
	/* wrong token */
	fd = raw_connect();
	raw_hello(fd, cnonce, snonce);
	relay_auth_proof(RELAY_AUTH_RELAY, "wrong-token", snonce, cnonce, "asia", "raw", mac);
	assert_int_equal(raw_auth(fd, mac), RELAY_AUTH_FAIL);
	assert_true(raw_closed_by_server(fd));
	close(fd);

	/* a good handshake, recorded ... */
	good = raw_authenticated(cnonce, old_mac);
	assert_true(WAIT_UNTIL(relay_server_relay_count() == 2));
	/* ... replayed on a new connection: the challenge is new, the old AUTH fails */
	fd = raw_connect();
	raw_hello(fd, cnonce, snonce2);
	assert_memory_not_equal(snonce, snonce2, 32);
	assert_int_equal(raw_auth(fd, old_mac), RELAY_AUTH_FAIL);
	assert_true(raw_closed_by_server(fd));
	close(fd);
	assert_int_equal(server_counters().auth_failures, before.auth_failures + 2);

	/* templates still reach the good relay */
	assert_int_equal(relay_server_push_template(gbt, 9), 2);
	assert_true(WAIT_UNTIL(locked_int(&got_templates) >= 1));
	close(good);
	assert_true(WAIT_UNTIL(relay_server_relay_count() == 1));
	json_decref(gbt);
}

/* A server of its own with a short handshake timeout: the raw peer never
 * speaks, so the timeout fires whatever the machine's pace. */
static void test_silent_connection_times_out(void **state)
{
	struct relay_server_counters before;
	int fd;

	(void)state;
	teardown(NULL);
	server_handshake_ms = 300;
	assert_true(start_server_on(0) > 0);
	before = server_counters();
	fd = raw_connect();
	assert_true(raw_closed_by_server(fd));
	close(fd);
	assert_int_equal(server_counters().handshake_timeouts, before.handshake_timeouts + 1);
}

static void test_client_with_wrong_token_is_refused(void **state)
{
	struct relay_server_counters before = server_counters();

	(void)state;
	relay_client_stop();
	assert_int_equal(start_client("not-the-token"), 0);
	assert_true(WAIT_UNTIL(client_stats().auth_failures >= 1));
	assert_false(relay_client_link_up());
	assert_true(server_counters().auth_failures > before.auth_failures);
	assert_true(WAIT_UNTIL(relay_client_should_failover(2)));
}

static bool client_has_workbase(uint64_t id)
{
	bool has;

	pthread_mutex_lock(&lock);
	has = got_workbase_id == id;
	pthread_mutex_unlock(&lock);
	return has;
}

static uint64_t dropped_for_region(const char *region)
{
	json_t *relays = relay_server_relays_json();
	uint64_t dropped = 0;

	for (size_t i = 0; i < json_array_size(relays); i++) {
		json_t *r = json_array_get(relays, i);

		if (!strcmp(json_string_value(json_object_get(r, "region")), region))
			dropped = (uint64_t)json_integer_value(json_object_get(r, "templates_dropped"));
	}
	json_decref(relays);
	return dropped;
}

/* A relay that stops reading (but still pings, so it is not timed out)
 * loses its older templates; the good relay gets every one in time. */
static void test_slow_relay_drops_old_templates(void **state)
{
	uint8_t cnonce[32], mac[32];
	int slow;

	(void)state;
	teardown(NULL);
	heartbeat_ms = 250;
	assert_true(start_server_on(0) > 0 && start_client(TOKEN) == 0);
	assert_true(WAIT_UNTIL(relay_client_link_up() && relay_server_relay_count() == 1));
	relay_random_nonce(cnonce);
	slow = raw_authenticated_with_rcvbuf(cnonce, mac, 4096); /* never reads again */
	assert_true(WAIT_UNTIL(relay_server_relay_count() == 2));
	for (uint64_t id = 100; id < 116 && !dropped_for_region("asia"); id++) {
		/* a new 512 KiB transaction each time: nothing to reference */
		json_t *gbt = gbt_with_tx((unsigned)id, 512 * 1024);

		assert_true(relay_server_push_template(gbt, id) >= 1);
		json_decref(gbt);
		raw_send_msg(slow, relay_msg_u64(RELAY_PING, id));
		assert_true(WAIT_UNTIL(client_has_workbase(id)));
	}
	assert_true(dropped_for_region("asia") > 0);
	assert_int_equal(relay_server_relay_count(), 2); /* slow, not dead */
	close(slow);
}

static void test_client_reconnects_after_primary_restart(void **state)
{
	int port = relay_server_port();
	struct block_outcome lost = { 0 };
	json_t *gbt = fixture_gbt();

	(void)state;
	relay_server_stop();
	assert_true(WAIT_UNTIL(!relay_client_link_up()));
	assert_true(WAIT_UNTIL(relay_client_should_failover(2)));
	assert_true(relay_client_link_down_for_ms() > 0);
	assert_true(relay_client_submit_block(BLOCK_OK, 1, HASH, block_done, &lost) > 0);
	assert_true(WAIT_UNTIL(outcome_done(&lost)));
	assert_string_equal(lost.result, "link-down");

	assert_int_equal(start_server_on(port), port);
	assert_true(WAIT_UNTIL(relay_client_link_up() && relay_server_relay_count() == 1));
	assert_true(client_stats().reconnects >= 1);
	assert_true(locked_int(&link_downs) >= 1);
	assert_int_equal(relay_server_push_template(gbt, 3), 1);
	assert_true(WAIT_UNTIL(locked_int(&got_templates) >= 1));
	json_decref(gbt);
}

static bool contains(const struct buf *b, const char *needle)
{
	return memmem(b->data, b->len, needle, strlen(needle)) != NULL;
}

static void test_metrics_and_health_writers(void **state)
{
	struct buf out = BUF_INIT;
	json_t *status;

	(void)state;
	assert_true(WAIT_UNTIL(client_stats().rtt_ms >= 0));
	assert_true(WAIT_UNTIL(({
		json_t *r = relay_server_relays_json();
		bool has = json_is_real(json_object_get(json_array_get(r, 0), "rtt_ms"));
		json_decref(r);
		has;
	})));
	relay_server_write_metrics(&out, NULL);
	assert_true(contains(&out, "ckpool_relay_connected_relays 1\n"));
	assert_true(contains(&out, "ckpool_relay_peer_rtt_seconds{region=\"us-east\",pool_instance=\"relay-us\"} "));
	assert_true(contains(&out, "ckpool_relay_frames_rejected_total{reason=\"oversize\"} "));
	assert_true(contains(&out, "# TYPE ckpool_relay_auth_failures_total counter\n"));
	buf_reset(&out);
	relay_client_write_metrics(&out, NULL);
	assert_true(contains(&out, "ckpool_relay_link_up 1\n"));
	assert_true(contains(&out, "ckpool_relay_primary_rtt_seconds "));
	assert_true(contains(&out, "ckpool_relay_templates_received_total "));
	assert_true(contains(&out, "ckpool_relay_link_reconnects_total "));
	buf_free(&out);
	/* link_down_for_ms is 0 only within 1.5 heartbeats of a contact */
	assert_true(WAIT_UNTIL(({
		json_t *st = relay_client_status_json();
		bool fresh = json_integer_value(json_object_get(st, "link_down_for_ms")) == 0
			     && json_is_integer(json_object_get(st, "link_down_for_ms"));
		json_decref(st);
		fresh;
	})));
	status = relay_client_status_json();
	assert_true(json_is_true(json_object_get(status, "link_up")));
	json_decref(status);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_template_reaches_client_intact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_workbase_push_reaches_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_relay_gets_current_template, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cold_then_warm_templates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_asking_for_full_template, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version_1_relay_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_block_up_result_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_node_gives_timeout_but_link_lives, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_heartbeats_give_rtt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_and_oversize_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_token_and_replay_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_connection_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_with_wrong_token_is_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_slow_relay_drops_old_templates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_reconnects_after_primary_restart, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_metrics_and_health_writers, setup, teardown),
	};

	if (!getenv("RELAY_TEST_LOG"))
		log_set_level((enum log_level)(LOG_ERROR + 1));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
