/*
 * relay_server.c - owns the primary's relay connections: the listener and
 * epoll I/O thread, each relay's handshake state, heartbeats and timeouts,
 * the template fan-out, the block-submission worker and the relay counters.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Threads: the I/O thread (epoll), the fan-out thread (encodes the newest
 * pushed template once, then builds each relay's frame: references for the
 * transactions that relay already holds, template_codec.h) and the block worker
 * (calls submit_block). Locking: one mutex guards all state. The I/O thread
 * holds it while it handles a batch of events (socket calls are
 * non-blocking) and drops it only around epoll_wait; the other threads
 * (push, fan-out, worker, metrics) take it briefly. Peers are named by id
 * in epoll, never by pointer, so a peer closed earlier in a batch is simply
 * not found.
 */
#include "relay_server.h"
#include "log.h"
#include "metrics.h"
#include "relay_auth.h"
#include "relay_link.h"
#include "relay_tls.h"
#include "template_codec.h"
#include "util.h"
#include "workbase.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define COMPONENT "relay_server"
#define TOKEN_LISTEN 0
#define TOKEN_WAKE 1
#define FIRST_PEER_ID 2
#define MAX_BLOCK_JOBS 16
#define CLOSING_GRACE_S 1.0
#define EPOLL_BATCH 64
#define TICK_MS 100

enum peer_state { PEER_AWAIT_HELLO, PEER_AWAIT_AUTH, PEER_READY, PEER_CLOSING };

enum disconnect_reason {
	DISC_NONE,
	DISC_EOF,
	DISC_IO_ERROR,
	DISC_PROTOCOL,
	DISC_AUTH_FAILED,
	DISC_HANDSHAKE_TIMEOUT,
	DISC_HEARTBEAT_TIMEOUT,
	DISC_SLOW,
	DISC_SHUTDOWN,
	DISC_TLS,
	DISC_COUNT
};

static const char *const disconnect_names[DISC_COUNT] = {
	"none", "eof", "io_error", "protocol_error", "auth_failed",
	"handshake_timeout", "heartbeat_timeout", "slow", "shutdown", "tls_error",
};

struct peer {
	struct peer *next;
	uint64_t id;
	enum peer_state state;
	enum disconnect_reason doom;     /* set: close at the next tick */
	enum disconnect_reason closing_reason; /* while PEER_CLOSING */
	struct relay_link link;
	bool watching_output;            /* EPOLLOUT registered */
	char addr[64];
	struct relay_hello hello;
	uint8_t server_nonce[RELAY_NONCE_LEN];
	double accepted_at, closing_at, last_ping_at;
	int64_t connected_since_us, last_heartbeat_us;
	double rtt_ms;                   /* < 0 until the first PONG */
	uint64_t templates_sent, templates_dropped, blocks_received;
	uint64_t full_requests;          /* REQUEST_FULL frames from this relay */
	struct template_sent sent;       /* what this relay holds (template_codec.h) */
};

struct block_job {
	struct block_job *next;
	uint64_t peer_id, request_id;
	int64_t height;
	char hash[65];
	char region[RELAY_REGION_MAX + 1];
	char *hex;
};

/* A template handed over by the generator, not encoded yet: a workbase
 * reference (its gbt is read, never its jansson refcount, which is not safe
 * to share between threads). */
struct pending_push {
	struct workbase *wb;
	uint64_t workbase_id;
	int64_t push_us;
};

static struct server {
	pthread_mutex_t lock;
	pthread_cond_t work_cond, push_cond;
	bool running;
	atomic_bool stopping;
	pthread_t io_thread, worker, fanout;
	struct pending_push push;
	int listen_fd, epfd, wake_fd, port;
	char *token;
	struct relay_server_config cfg;
	double heartbeat_s, dead_after_s, handshake_s, stall_s;
	size_t max_relays;
	struct peer *peers;
	size_t peer_count, ready_count;
	uint64_t next_id;
	struct template_enc *current;    /* the newest template, for late relays */
	struct txmap pool;               /* fan-out thread: the newest template's txs by wtxid */
	struct block_job *jobs, **jobs_tail;
	size_t job_count;
	struct relay_server_counters c;
	uint64_t disconnects[DISC_COUNT];
} srv = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work_cond = PTHREAD_COND_INITIALIZER,
	.push_cond = PTHREAD_COND_INITIALIZER,
	.listen_fd = -1, .epfd = -1, .wake_fd = -1, .port = -1,
};

static void wake_io_thread(void)
{
	uint64_t one = 1;

	if (srv.wake_fd >= 0 && write(srv.wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn(COMPONENT, "cannot wake the relay I/O thread: %s", strerror(errno));
}

static struct peer *find_peer(uint64_t id)
{
	for (struct peer *p = srv.peers; p; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

static json_t *peer_fields(const struct peer *p)
{
	return json_pack("{s:s, s:s, s:s}", "relay_region", p->hello.region, "pool_instance_relay",
			 p->hello.pool_instance, "peer", p->addr);
}

static void notify_change(const struct peer *p, bool connected, const char *reason)
{
	struct relay_peer_info info = {
		.region = p->hello.region, .pool_instance = p->hello.pool_instance, .peer = p->addr,
		.connected_since_us = p->connected_since_us, .reason = reason,
	};

	if (srv.cfg.on_relay_change)
		srv.cfg.on_relay_change(&info, connected, srv.cfg.ctx);
}

/* ---- closing ---- */

static void unlink_peer(struct peer *gone)
{
	for (struct peer **pp = &srv.peers; *pp; pp = &(*pp)->next) {
		if (*pp == gone) {
			*pp = gone->next;
			return;
		}
	}
}

static void log_disconnect(const struct peer *p, enum disconnect_reason why, const char *detail)
{
	json_t *f = peer_fields(p);
	bool was_ready = p->connected_since_us != 0;

	json_object_set_new(f, "reason", json_string(disconnect_names[why]));
	if (detail)
		json_object_set_new(f, "detail", json_string(detail));
	if (was_ready) {
		json_object_set_new(f, "connected_s",
				    json_real((double)(now_unix_us() - p->connected_since_us) / 1e6));
		json_object_set_new(f, "templates_sent", json_integer((json_int_t)p->templates_sent));
	}
	log_fields(was_ready || why != DISC_EOF ? LOG_INFO : LOG_DEBUG, COMPONENT,
		   was_ready ? "relay disconnected" : "relay connection closed before auth", f);
}

static void close_peer(struct peer *p, enum disconnect_reason why, const char *detail)
{
	bool was_ready = p->connected_since_us != 0;

	log_disconnect(p, why, detail);
	srv.disconnects[why]++;
	epoll_ctl(srv.epfd, EPOLL_CTL_DEL, p->link.fd, NULL);
	relay_link_close(&p->link);
	template_sent_free(&p->sent);
	unlink_peer(p);
	srv.peer_count--;
	if (was_ready) {
		srv.ready_count--;
		notify_change(p, false, disconnect_names[why]);
	}
	free(p);
}

/* Stops reading; the queued AUTH_FAIL goes out, then the peer is closed. */
static void start_closing(struct peer *p, enum disconnect_reason why, double now)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = p->id };

	p->state = PEER_CLOSING;
	p->closing_reason = why;
	p->closing_at = now;
	epoll_ctl(srv.epfd, EPOLL_CTL_MOD, p->link.fd, &ev);
	p->watching_output = true;
}

/* ---- sending ---- */

static void watch_output(struct peer *p, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = p->id };

	if (p->state == PEER_CLOSING || p->watching_output == on)
		return;
	if (on)
		ev.events |= EPOLLOUT;
	epoll_ctl(srv.epfd, EPOLL_CTL_MOD, p->link.fd, &ev);
	p->watching_output = on;
}

/* A TLS failure with its specific reason (relay_tls.h); counted by the link. */
static void log_tls_failure(const struct peer *p)
{
	json_t *f = json_pack("{s:s, s:s, s:s}", "peer", p->addr, "reason",
			      relay_tls_failure_name(p->link.tls_failure), "detail",
			      p->link.tls_detail);

	log_fields(LOG_WARN, COMPONENT, "relay TLS connection failed", f);
}

/* Closes p after a link status other than OK. */
static void close_for_status(struct peer *p, enum relay_link_status st)
{
	if (st == RELAY_LINK_EOF) {
		close_peer(p, DISC_EOF, NULL);
	} else if (st == RELAY_LINK_TLS_ERROR) {
		log_tls_failure(p);
		close_peer(p, DISC_TLS, relay_tls_failure_name(p->link.tls_failure));
	} else {
		close_peer(p, DISC_IO_ERROR, strerror(p->link.io_errno));
	}
}

/* Queues one control frame; a full queue dooms the peer. Takes over m. */
static void send_msg(struct peer *p, struct relay_msg *m)
{
	if (!m)
		return;
	if (relay_link_send(&p->link, m) < 0)
		p->doom = DISC_SLOW;
	relay_msg_unref(m);
}

/* Writes what the socket takes; returns -1 when the peer was closed. */
static int flush_peer(struct peer *p, double now)
{
	unsigned done = 0;
	enum relay_link_status st = relay_link_flush(&p->link, now, &done);

	p->templates_sent += done;
	if (st != RELAY_LINK_OK) {
		close_for_status(p, st);
		return -1;
	}
	watch_output(p, relay_link_wants_output(&p->link));
	return 0;
}

/* Queues template e to p, replacing a queued template that has not
 * started going out: references for what p holds, every transaction in
 * full when `full`. The frame size, or 0 when nothing was queued (too big,
 * or p's queue is full, which dooms p). */
static size_t send_template(struct peer *p, struct template_enc *e, bool full, uint64_t send_us,
			    size_t *dropped)
{
	size_t n = relay_link_drop_unstarted(&p->link, RELAY_TEMPLATE), len;
	struct relay_msg *m;

	*dropped = n;
	template_sent_settle(&p->sent, n > 0);
	/* protocol 3 relays take the merkle branch instead of hashing the tree */
	m = template_frame(e, &p->sent,
			   (full ? TEMPLATE_FLAG_FULL : 0u) |
			   (p->hello.version >= 3 ? TEMPLATE_FLAG_BRANCH : 0u), send_us, NULL);
	if (!m) {
		srv.c.templates_too_big++;
		return 0;
	}
	len = m->len;
	if (relay_link_send(&p->link, m) < 0) {
		p->doom = DISC_SLOW;
		len = 0;
	}
	relay_msg_unref(m);
	return len;
}

/* ---- handshake and frames ---- */

static int refuse_auth(struct peer *p, const char *reason, double now)
{
	json_t *f = peer_fields(p);

	srv.c.auth_failures++;
	json_object_set_new(f, "reason", json_string(reason));
	log_fields(LOG_WARN, COMPONENT, "relay authentication failed", f);
	send_msg(p, relay_msg_auth_fail(reason));
	start_closing(p, DISC_AUTH_FAILED, now);
	return -1;
}

static int reject_malformed(struct peer *p, unsigned type)
{
	srv.c.frames_rejected[RELAY_REJECT_MALFORMED]++;
	p->doom = DISC_PROTOCOL;
	log_warn(COMPONENT, "relay %s sent a malformed %s frame", p->addr,
		 relay_frame_type_name(type));
	return -1;
}

static int on_hello(struct peer *p, const struct relay_frame *f, double now)
{
	struct relay_msg *m;

	if (relay_parse_hello(f->payload, f->len, &p->hello))
		return reject_malformed(p, f->type);
	if (p->hello.version < RELAY_PROTOCOL_MIN || p->hello.version > RELAY_PROTOCOL_VERSION)
		return refuse_auth(p, "unsupported protocol version", now);
	if (relay_random_nonce(p->server_nonce))
		return refuse_auth(p, "primary cannot make a nonce", now);
	m = relay_msg_32(RELAY_CHALLENGE, p->server_nonce);
	send_msg(p, m);
	p->state = PEER_AWAIT_AUTH;
	relay_decoder_allow(&p->link.dec, RELAY_TYPES_BEFORE_AUTH);
	return 0;
}

static void become_ready(struct peer *p, double now)
{
	uint8_t proof[RELAY_MAC_LEN];

	relay_auth_proof(RELAY_AUTH_PRIMARY, srv.token, p->server_nonce, p->hello.client_nonce,
			 p->hello.region, p->hello.pool_instance, proof);
	send_msg(p, relay_msg_32(RELAY_AUTH_OK, proof));
	p->state = PEER_READY;
	relay_decoder_allow(&p->link.dec, RELAY_TYPES_SERVER_READY);
	p->connected_since_us = now_unix_us();
	p->last_heartbeat_us = p->connected_since_us;
	p->last_ping_at = now;
	srv.ready_count++;
	log_fields(LOG_INFO, COMPONENT, "relay authenticated", peer_fields(p));
	notify_change(p, true, NULL);
	if (srv.current) {
		size_t dropped;

		send_template(p, srv.current, true, (uint64_t)now_unix_us(), &dropped);
	}
}

static int on_auth(struct peer *p, const struct relay_frame *f, double now)
{
	uint8_t mac[RELAY_MAC_LEN];

	if (relay_parse_32(f->payload, f->len, mac))
		return reject_malformed(p, f->type);
	if (!relay_auth_check(RELAY_AUTH_RELAY, srv.token, p->server_nonce, p->hello.client_nonce,
			      p->hello.region, p->hello.pool_instance, mac))
		return refuse_auth(p, "bad auth", now);
	become_ready(p, now);
	return 0;
}

static void answer_block_now(struct peer *p, uint64_t request_id, const char *why)
{
	send_msg(p, relay_msg_block_result(request_id, 0, RELAY_BLOCK_ERROR, why));
}

static void queue_block_job(struct peer *p, const struct relay_block *b)
{
	struct block_job *job;

	if (srv.job_count >= MAX_BLOCK_JOBS) {
		log_warn(COMPONENT, "block from relay %s refused: submission queue full", p->addr);
		answer_block_now(p, b->request_id, "primary busy");
		return;
	}
	job = alloc_or_abort(sizeof(*job));
	memset(job, 0, sizeof(*job));
	job->peer_id = p->id;
	job->request_id = b->request_id;
	job->height = b->height;
	memcpy(job->hash, b->hash, sizeof(job->hash));
	copy_string(job->region, p->hello.region, sizeof(job->region));
	job->hex = alloc_or_abort(b->hex_len + 1);
	memcpy(job->hex, b->hex, b->hex_len);
	job->hex[b->hex_len] = '\0';
	*srv.jobs_tail = job;
	srv.jobs_tail = &job->next;
	srv.job_count++;
	pthread_cond_signal(&srv.work_cond);
}

static int on_block(struct peer *p, const struct relay_frame *f)
{
	struct relay_block b;
	json_t *fields;

	if (relay_parse_block(f->payload, f->len, &b))
		return reject_malformed(p, f->type);
	p->blocks_received++;
	srv.c.blocks_received++;
	fields = peer_fields(p);
	json_object_set_new(fields, "height", json_integer(b.height));
	json_object_set_new(fields, "hash", json_string(b.hash));
	json_object_set_new(fields, "bytes", json_integer((json_int_t)(b.hex_len / 2)));
	json_object_set_new(fields, "request_id", json_integer((json_int_t)b.request_id));
	log_fields(LOG_INFO, COMPONENT, "block received from relay", fields);
	queue_block_job(p, &b);
	return 0;
}

static int on_ping(struct peer *p, const struct relay_frame *f)
{
	uint64_t token;

	if (relay_parse_u64(f->payload, f->len, &token))
		return reject_malformed(p, f->type);
	p->last_heartbeat_us = now_unix_us();
	send_msg(p, relay_msg_u64(RELAY_PONG, token));
	return 0;
}

static int on_pong(struct peer *p, const struct relay_frame *f)
{
	uint64_t token, now = now_monotonic_us();

	if (relay_parse_u64(f->payload, f->len, &token))
		return reject_malformed(p, f->type);
	p->last_heartbeat_us = now_unix_us();
	if (token <= now)
		p->rtt_ms = (double)(now - token) / 1000.0;
	return 0;
}

/* The relay could not complete a template (it lacks a referenced
 * transaction): forget what it holds and send the current one in full. */
static int on_request_full(struct peer *p, const struct relay_frame *f)
{
	uint64_t workbase_id;
	size_t dropped;
	json_t *fields;

	if (relay_parse_u64(f->payload, f->len, &workbase_id))
		return reject_malformed(p, f->type);
	p->full_requests++;
	srv.c.full_requests++;
	fields = peer_fields(p);
	json_object_set_new(fields, "primary_workbase_id", json_integer((json_int_t)workbase_id));
	log_fields(LOG_WARN, COMPONENT, "relay asked for a full template", fields);
	if (srv.current)
		send_template(p, srv.current, true, (uint64_t)now_unix_us(), &dropped);
	else
		template_sent_free(&p->sent);
	return 0;
}

static int handle_frame(struct relay_frame *f, void *ctx)
{
	struct peer *p = ctx;
	double now = now_monotonic();

	switch (f->type) {
	case RELAY_HELLO:
		return on_hello(p, f, now);
	case RELAY_AUTH:
		return on_auth(p, f, now);
	case RELAY_BLOCK:
		return on_block(p, f);
	case RELAY_PING:
		return on_ping(p, f);
	case RELAY_PONG:
		return on_pong(p, f);
	case RELAY_REQUEST_FULL:
		return on_request_full(p, f);
	default:
		/* The decoder only lets the allowed types through. */
		return reject_malformed(p, f->type);
	}
}

/* ---- I/O events ---- */

static void count_rejected_frame(struct peer *p)
{
	json_t *f = peer_fields(p);
	enum relay_reject why = p->link.reject;

	srv.c.frames_rejected[why]++;
	json_object_set_new(f, "reason", json_string(relay_reject_name(why)));
	json_object_set_new(f, "authenticated", json_boolean(p->state == PEER_READY));
	log_fields(LOG_WARN, COMPONENT, "relay frame rejected", f);
}

static void read_peer(struct peer *p, double now)
{
	enum relay_link_status st = relay_link_receive(&p->link, handle_frame, p, now);

	switch (st) {
	case RELAY_LINK_OK:
		return;
	case RELAY_LINK_EOF:
	case RELAY_LINK_IO_ERROR:
	case RELAY_LINK_TLS_ERROR:
		close_for_status(p, st);
		return;
	case RELAY_LINK_REJECTED:
		count_rejected_frame(p);
		close_peer(p, DISC_PROTOCOL, relay_reject_name(p->link.reject));
		return;
	case RELAY_LINK_HANDLER_CLOSED:
		if (p->state != PEER_CLOSING)
			close_peer(p, p->doom ? p->doom : DISC_PROTOCOL, NULL);
		return;
	}
}

static void format_peer_address(const struct sockaddr_storage *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(out, len, "%s:%d", host, port);
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(out, len, "[%s]:%d", host, port);
	} else {
		copy_string(out, "unknown", len);
	}
}

static void add_peer(int fd, const struct sockaddr_storage *sa, double now)
{
	struct peer *p = alloc_or_abort(sizeof(*p));
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	int one = 1;

	memset(p, 0, sizeof(*p));
	template_sent_init(&p->sent);
	p->id = srv.next_id++;
	p->rtt_ms = -1;
	p->accepted_at = now;
	format_peer_address(sa, p->addr, sizeof(p->addr));
	relay_link_init(&p->link, fd, RELAY_TYPES_BEFORE_HELLO, now);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ev.data.u64 = p->id;
	if (srv.cfg.tls && relay_link_start_tls(&p->link, srv.cfg.tls) < 0) {
		log_error(COMPONENT, "no TLS session for %s: %s", p->addr, p->link.tls_detail);
		relay_link_close(&p->link);
		free(p);
		return;
	}
	if (epoll_ctl(srv.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_error(COMPONENT, "epoll_ctl add failed: %s", strerror(errno));
		relay_link_close(&p->link);
		free(p);
		return;
	}
	p->next = srv.peers;
	srv.peers = p;
	srv.peer_count++;
	log_debug(COMPONENT, "relay connection from %s", p->addr);
}

static void accept_relays(double now)
{
	for (;;) {
		struct sockaddr_storage sa;
		socklen_t salen = sizeof(sa);
		int fd = accept4(srv.listen_fd, (struct sockaddr *)&sa, &salen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		char addr[64];

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn(COMPONENT, "accept failed: %s", strerror(errno));
			return;
		}
		if (srv.peer_count >= srv.max_relays) {
			format_peer_address(&sa, addr, sizeof(addr));
			srv.c.refused++;
			log_warn(COMPONENT, "relay connection from %s refused: %zu connections open",
				 addr, srv.peer_count);
			close(fd);
			continue;
		}
		add_peer(fd, &sa, now);
	}
}

static void drain_wake_fd(void)
{
	uint64_t v;

	while (read(srv.wake_fd, &v, sizeof(v)) > 0)
		;
}

static void handle_event(const struct epoll_event *ev, double now)
{
	struct peer *p;

	if (ev->data.u64 == TOKEN_LISTEN) {
		accept_relays(now);
		return;
	}
	if (ev->data.u64 == TOKEN_WAKE) {
		drain_wake_fd();
		return;
	}
	p = find_peer(ev->data.u64);
	if (!p)
		return;
	if (p->state == PEER_CLOSING) {
		if (ev->events & (EPOLLERR | EPOLLHUP))
			close_peer(p, p->closing_reason, NULL);
		return;
	}
	if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
		read_peer(p, now);
}

/* ---- timers ---- */

static bool check_timeouts(struct peer *p, double now)
{
	if (p->state < PEER_READY && now - p->accepted_at > srv.handshake_s) {
		bool in_tls = relay_link_tls_handshaking(&p->link);

		srv.c.handshake_timeouts++;
		if (in_tls)
			relay_tls_count_failure(RELAY_TLS_SERVER, RELAY_TLS_HANDSHAKE_TIMEOUT);
		close_peer(p, DISC_HANDSHAKE_TIMEOUT, in_tls ? "TLS handshake not finished" : NULL);
		return false;
	}
	if (p->state == PEER_READY && now - p->link.last_rx > srv.dead_after_s) {
		srv.c.heartbeat_timeouts++;
		close_peer(p, DISC_HEARTBEAT_TIMEOUT, NULL);
		return false;
	}
	if (relay_link_has_output(&p->link) && now - p->link.last_tx_progress > srv.stall_s) {
		srv.c.slow_disconnects++;
		close_peer(p, DISC_SLOW, "no write progress");
		return false;
	}
	return true;
}

static void send_heartbeat(struct peer *p, double now)
{
	if (p->state != PEER_READY || now - p->last_ping_at < srv.heartbeat_s)
		return;
	p->last_ping_at = now;
	send_msg(p, relay_msg_u64(RELAY_PING, now_monotonic_us()));
}

/* Timeouts, heartbeats, doomed peers and pending output, once per wakeup. */
static void tend_peers(double now)
{
	struct peer *p = srv.peers, *next;

	for (; p; p = next) {
		next = p->next;
		if (p->doom) {
			if (p->doom == DISC_SLOW)
				srv.c.slow_disconnects++;
			close_peer(p, p->doom, NULL);
			continue;
		}
		if (p->state == PEER_CLOSING) {
			if (flush_peer(p, now) == 0
			    && (!relay_link_has_output(&p->link)
				|| now - p->closing_at > CLOSING_GRACE_S))
				close_peer(p, p->closing_reason, NULL);
			continue;
		}
		if (!check_timeouts(p, now))
			continue;
		send_heartbeat(p, now);
		if (relay_link_wants_output(&p->link))
			flush_peer(p, now);
	}
}

static void *io_main(void *arg)
{
	struct epoll_event evs[EPOLL_BATCH];

	(void)arg;
	while (!atomic_load(&srv.stopping)) {
		int n = epoll_wait(srv.epfd, evs, EPOLL_BATCH, TICK_MS);
		double now;

		if (n < 0 && errno != EINTR) {
			log_error(COMPONENT, "epoll_wait failed: %s", strerror(errno));
			break;
		}
		pthread_mutex_lock(&srv.lock);
		now = now_monotonic();
		for (int i = 0; i < n; i++)
			handle_event(&evs[i], now);
		tend_peers(now);
		pthread_mutex_unlock(&srv.lock);
	}
	return NULL;
}

/* ---- block worker ---- */

static void log_block_result(const struct block_job *job, int status, const char *result,
			     double ms)
{
	json_t *f = json_pack("{s:s, s:I, s:s, s:f}", "relay_region", job->region, "height",
			      (json_int_t)job->height, "hash", job->hash, "submit_ms", ms);

	json_object_set_new(f, "result", status == RELAY_BLOCK_ACCEPTED ? json_null()
					: json_string(result));
	log_fields(status == RELAY_BLOCK_ACCEPTED ? LOG_INFO : LOG_WARN, COMPONENT,
		   "relayed block submitted", f);
}

static int submit_one(const struct block_job *job, char *result, size_t len)
{
	int status;

	if (!srv.cfg.submit_block) {
		copy_string(result, "primary does not submit blocks", len);
		return RELAY_BLOCK_ERROR;
	}
	status = srv.cfg.submit_block(job->hex, result, len, srv.cfg.ctx);
	if (status != RELAY_BLOCK_ACCEPTED && status != RELAY_BLOCK_REJECTED)
		status = RELAY_BLOCK_ERROR;
	return status;
}

static void run_block_job(struct block_job *job)
{
	char result[RELAY_RESULT_MAX + 1] = "";
	double t0 = now_monotonic(), ms;
	int status = submit_one(job, result, sizeof(result));
	struct relay_msg *m;
	struct peer *p;

	ms = (now_monotonic() - t0) * 1000.0;
	log_block_result(job, status, result, ms);
	m = relay_msg_block_result(job->request_id,
				   ms * 1000.0 > UINT32_MAX ? UINT32_MAX : (uint32_t)(ms * 1000.0),
				   (uint8_t)status, status == RELAY_BLOCK_ACCEPTED ? "" : result);
	pthread_mutex_lock(&srv.lock);
	p = find_peer(job->peer_id);
	if (p && p->state == PEER_READY)
		send_msg(p, m);
	else {
		log_warn(COMPONENT, "relay %s left before its block result", job->region);
		relay_msg_unref(m);
	}
	pthread_mutex_unlock(&srv.lock);
	wake_io_thread();
}

static void free_block_job(struct block_job *job)
{
	free(job->hex);
	free(job);
}

static struct block_job *pop_block_job(void)
{
	struct block_job *job = srv.jobs;

	srv.jobs = job->next;
	if (!srv.jobs)
		srv.jobs_tail = &srv.jobs;
	srv.job_count--;
	return job;
}

static void *worker_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&srv.lock);
	for (;;) {
		struct block_job *job;

		while (!srv.jobs && !atomic_load(&srv.stopping))
			pthread_cond_wait(&srv.work_cond, &srv.lock);
		if (atomic_load(&srv.stopping))
			break;
		job = pop_block_job();
		pthread_mutex_unlock(&srv.lock);
		run_block_job(job);
		free_block_job(job);
		pthread_mutex_lock(&srv.lock);
	}
	pthread_mutex_unlock(&srv.lock);
	return NULL;
}

/* ---- template fan-out ---- */

struct fan_out_totals {
	size_t relays, bytes, dropped;
};

/* Builds and queues each ready relay's frame of e. */
static void queue_template_to_relays(struct template_enc *e, uint64_t send_us,
				     struct fan_out_totals *out)
{
	for (struct peer *p = srv.peers; p; p = p->next) {
		size_t dropped = 0, len;

		if (p->state != PEER_READY || p->doom)
			continue;
		len = send_template(p, e, false, send_us, &dropped);
		p->templates_dropped += dropped;
		out->dropped += dropped;
		out->bytes += len;
		out->relays += len > 0;
	}
}

static bool push_waiting(void)
{
	return srv.push.wb != NULL;
}

static void release_push(struct pending_push *t)
{
	workbase_unref(t->wb);
	t->wb = NULL;
}

static void log_push(const struct pending_push *t, const struct template_enc *e,
		     const struct fan_out_totals *tot, double queue_ms, double encode_ms,
		     double fan_out_ms, double fan_out_cpu_ms)
{
	log_fields(LOG_INFO, COMPONENT, "template pushed",
		   json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f}",
			     "workbase_id", (json_int_t)t->workbase_id, "height", (json_int_t)t->wb->height,
			     "txs", (json_int_t)e->n, "relays", (json_int_t)tot->relays, "bytes",
			     (json_int_t)tot->bytes, "raw_tx_bytes", (json_int_t)e->raw_bytes,
			     "dropped", (json_int_t)tot->dropped, "queue_ms", queue_ms,
			     "serialize_ms", encode_ms, "fan_out_ms", fan_out_ms,
			     "fan_out_cpu_ms", fan_out_cpu_ms));
}

/* This thread's CPU time: against the wall time, what was work and what
 * was waiting for a CPU. */
static double thread_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void fan_out(const struct pending_push *t)
{
	double queue_ms = (double)(now_unix_us() - t->push_us) / 1000.0;
	double t0 = now_monotonic(), t1, c1;
	struct template_enc *e = template_enc_from_workbase(t->wb, &srv.pool);
	struct fan_out_totals tot = { 0, 0, 0 };

	e->workbase_id = t->workbase_id;
	t1 = now_monotonic();
	c1 = thread_cpu_ms();
	pthread_mutex_lock(&srv.lock);
	template_enc_unref(srv.current);
	srv.current = template_enc_ref(e);
	queue_template_to_relays(e, (uint64_t)t->push_us, &tot);
	pthread_mutex_unlock(&srv.lock);
	wake_io_thread();
	log_push(t, e, &tot, queue_ms, (t1 - t0) * 1000.0, (now_monotonic() - t1) * 1000.0,
		 thread_cpu_ms() - c1);
	template_enc_unref(e);
}

static void *fanout_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&srv.lock);
	for (;;) {
		struct pending_push t;

		while (!push_waiting() && !atomic_load(&srv.stopping))
			pthread_cond_wait(&srv.push_cond, &srv.lock);
		if (atomic_load(&srv.stopping))
			break;
		t = srv.push;
		srv.push.wb = NULL;
		pthread_mutex_unlock(&srv.lock);
		fan_out(&t);
		/* the log line reads the template, so release after fan_out */
		release_push(&t);
		pthread_mutex_lock(&srv.lock);
	}
	pthread_mutex_unlock(&srv.lock);
	return NULL;
}

/* Hands t over to the fan-out thread (taking over its reference). */
static int hand_over_push(struct pending_push *t)
{
	int relays;

	pthread_mutex_lock(&srv.lock);
	if (!srv.running) {
		pthread_mutex_unlock(&srv.lock);
		release_push(t);
		return -1;
	}
	if (push_waiting()) {
		release_push(&srv.push);
		srv.c.templates_coalesced++;
	}
	srv.push = *t;
	srv.c.template_pushes++;
	relays = (int)srv.ready_count;
	pthread_cond_signal(&srv.push_cond);
	pthread_mutex_unlock(&srv.lock);
	return relays;
}

int relay_server_push_workbase(struct workbase *wb)
{
	struct pending_push t = { .workbase_id = wb->id, .push_us = now_unix_us() };

	if (!wb->gbt && !wb->txs && wb->tx_count)
		return -1;
	t.wb = workbase_ref(wb);
	return hand_over_push(&t);
}

int relay_server_push_template(const json_t *gbt, uint64_t workbase_id)
{
	char err[256];
	struct workbase *wb = workbase_from_gbt(gbt, err, sizeof(err));
	int relays;

	if (!wb) {
		log_warn(COMPONENT, "template %llu not pushed: %s", (unsigned long long)workbase_id,
			 err);
		return -1;
	}
	wb->id = workbase_id;
	relays = relay_server_push_workbase(wb);
	workbase_unref(wb);
	return relays;
}

/* ---- start / stop ---- */

/* "host:port", "[v6]:port" or ":port"; port 0..65535. */
static int parse_listen(const char *where, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon = strrchr(where, ':');
	const char *h = where;
	size_t n;
	char *end;
	long v;

	if (!colon)
		return -1;
	v = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || v < 0 || v > 65535)
		return -1;
	n = (size_t)(colon - where);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n >= hostlen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	snprintf(port, portlen, "%ld", v);
	return 0;
}

static int open_listener(const char *where, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char host[256], port[8];
	int fd = -1, one = 1, rc;

	if (parse_listen(where, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "relay: relay_listen must be host:port, got '%s'", where);
		return -1;
	}
	rc = getaddrinfo(*host ? host : NULL, port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "relay: cannot resolve relay_listen '%s': %s", where,
			 gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		snprintf(err, errlen, "relay: cannot listen on %s: %s", where, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int bound_port(int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	if (sa.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
	return ntohs(((struct sockaddr_in *)&sa)->sin_port);
}

static double ms_or_default(int ms, double def_s)
{
	return ms > 0 ? ms / 1000.0 : def_s;
}

static void apply_config(const struct relay_server_config *cfg)
{
	srv.cfg = *cfg;
	srv.cfg.listen = NULL;
	srv.cfg.auth_token = NULL;
	srv.token = strdup_or_abort(cfg->auth_token);
	srv.heartbeat_s = ms_or_default(cfg->heartbeat_interval_ms, 1.0);
	srv.dead_after_s = ms_or_default(cfg->dead_after_ms, 4 * srv.heartbeat_s);
	srv.handshake_s = ms_or_default(cfg->handshake_timeout_ms, 5.0);
	srv.stall_s = ms_or_default(cfg->stall_timeout_ms, 30.0);
	srv.max_relays = cfg->max_relays ? cfg->max_relays : 64;
}

static int watch_fd(int fd, uint64_t token)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = token };

	return epoll_ctl(srv.epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void close_fds(void)
{
	if (srv.listen_fd >= 0)
		close(srv.listen_fd);
	if (srv.epfd >= 0)
		close(srv.epfd);
	if (srv.wake_fd >= 0)
		close(srv.wake_fd);
	srv.listen_fd = srv.epfd = srv.wake_fd = -1;
	srv.port = -1;
}

static int open_fds(const struct relay_server_config *cfg, char *err, size_t errlen)
{
	srv.listen_fd = open_listener(cfg->listen, err, errlen);
	if (srv.listen_fd < 0)
		return -1;
	srv.epfd = epoll_create1(EPOLL_CLOEXEC);
	srv.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (srv.epfd < 0 || srv.wake_fd < 0 || watch_fd(srv.listen_fd, TOKEN_LISTEN)
	    || watch_fd(srv.wake_fd, TOKEN_WAKE)) {
		snprintf(err, errlen, "relay: cannot set up epoll: %s", strerror(errno));
		close_fds();
		return -1;
	}
	srv.port = bound_port(srv.listen_fd);
	return 0;
}

static int check_config(const struct relay_server_config *cfg, char *err, size_t errlen)
{
	if (!cfg->auth_token || !*cfg->auth_token) {
		snprintf(err, errlen, "relay: primary.auth_token must be set to accept relays");
		return -1;
	}
	if (!cfg->listen || !*cfg->listen) {
		snprintf(err, errlen, "relay: relay_listen must be host:port");
		return -1;
	}
	return 0;
}

/* Called with the lock held (the new threads block on it until start returns). */
static int start_threads(char *err, size_t errlen)
{
	void *(*const mains[3])(void *) = { io_main, worker_main, fanout_main };
	pthread_t *const threads[3] = { &srv.io_thread, &srv.worker, &srv.fanout };
	int rc = 0, started = 0;

	while (started < 3 && (rc = pthread_create(threads[started], NULL, mains[started], NULL)) == 0)
		started++;
	if (!rc)
		return 0;
	atomic_store(&srv.stopping, true);
	pthread_cond_broadcast(&srv.work_cond);
	pthread_cond_broadcast(&srv.push_cond);
	wake_io_thread();
	pthread_mutex_unlock(&srv.lock);
	while (started--)
		pthread_join(*threads[started], NULL);
	pthread_mutex_lock(&srv.lock);
	snprintf(err, errlen, "relay: cannot start threads: %s", strerror(rc));
	return -1;
}

int relay_server_start(const struct relay_server_config *cfg, char *err, size_t errlen)
{
	pthread_mutex_lock(&srv.lock);
	if (srv.running) {
		pthread_mutex_unlock(&srv.lock);
		snprintf(err, errlen, "relay: server already running");
		return -1;
	}
	if (check_config(cfg, err, errlen) || open_fds(cfg, err, errlen)) {
		pthread_mutex_unlock(&srv.lock);
		return -1;
	}
	apply_config(cfg);
	srv.next_id = FIRST_PEER_ID;
	srv.jobs = NULL;
	srv.jobs_tail = &srv.jobs;
	atomic_store(&srv.stopping, false);
	if (start_threads(err, errlen)) {
		free(srv.token);
		srv.token = NULL;
		close_fds();
		pthread_mutex_unlock(&srv.lock);
		return -1;
	}
	srv.running = true;
	pthread_mutex_unlock(&srv.lock);
	log_fields(LOG_INFO, COMPONENT, "relay listener started",
		   json_pack("{s:s, s:i}", "listen", cfg->listen, "port", srv.port));
	return 0;
}

void relay_server_stop(void)
{
	pthread_mutex_lock(&srv.lock);
	if (!srv.running) {
		pthread_mutex_unlock(&srv.lock);
		return;
	}
	atomic_store(&srv.stopping, true);
	pthread_cond_broadcast(&srv.work_cond);
	pthread_cond_broadcast(&srv.push_cond);
	pthread_mutex_unlock(&srv.lock);
	wake_io_thread();
	pthread_join(srv.io_thread, NULL);
	pthread_join(srv.worker, NULL);
	pthread_join(srv.fanout, NULL);

	pthread_mutex_lock(&srv.lock);
	while (srv.peers)
		close_peer(srv.peers, DISC_SHUTDOWN, NULL);
	while (srv.jobs)
		free_block_job(pop_block_job());
	template_enc_unref(srv.current);
	srv.current = NULL;
	txmap_free(&srv.pool);
	release_push(&srv.push);
	free(srv.token);
	srv.token = NULL;
	close_fds();
	srv.running = false;
	pthread_mutex_unlock(&srv.lock);
	log_info(COMPONENT, "relay listener stopped");
}

int relay_server_port(void)
{
	int port;

	pthread_mutex_lock(&srv.lock);
	port = srv.running ? srv.port : -1;
	pthread_mutex_unlock(&srv.lock);
	return port;
}

/* ---- introspection ---- */

size_t relay_server_relay_count(void)
{
	size_t n;

	pthread_mutex_lock(&srv.lock);
	n = srv.ready_count;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

void relay_server_get_counters(struct relay_server_counters *out)
{
	pthread_mutex_lock(&srv.lock);
	*out = srv.c;
	pthread_mutex_unlock(&srv.lock);
}

static json_t *peer_json(const struct peer *p)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I}", "region", p->hello.region,
			      "pool_instance", p->hello.pool_instance, "peer", p->addr,
			      "connected_since_us", (json_int_t)p->connected_since_us,
			      "last_heartbeat_us", (json_int_t)p->last_heartbeat_us);

	json_object_set_new(o, "rtt_ms", p->rtt_ms < 0 ? json_null() : json_real(p->rtt_ms));
	json_object_set_new(o, "templates_sent", json_integer((json_int_t)p->templates_sent));
	json_object_set_new(o, "templates_dropped",
			    json_integer((json_int_t)p->templates_dropped));
	json_object_set_new(o, "blocks_received", json_integer((json_int_t)p->blocks_received));
	return o;
}

json_t *relay_server_relays_json(void)
{
	json_t *list = json_array();

	pthread_mutex_lock(&srv.lock);
	for (const struct peer *p = srv.peers; p; p = p->next)
		if (p->state == PEER_READY)
			json_array_append_new(list, peer_json(p));
	pthread_mutex_unlock(&srv.lock);
	return list;
}

/* region="..",pool_instance=".." into labels (NUL-terminated). */
static void peer_labels(const struct peer *p, struct buf *labels)
{
	buf_reset(labels);
	buf_append(labels, "region=\"", 8);
	metrics_escape_label(labels, p->hello.region);
	buf_append(labels, "\",pool_instance=\"", 17);
	metrics_escape_label(labels, p->hello.pool_instance);
	buf_append(labels, "\"", 2); /* the quote and the terminating NUL */
}

/* True when an earlier ready peer has the same region and instance: its
 * series is already written (Prometheus forbids duplicates). */
static bool shadowed_by_earlier_peer(const struct peer *p)
{
	for (const struct peer *q = srv.peers; q != p; q = q->next)
		if (q->state == PEER_READY && !strcmp(q->hello.region, p->hello.region)
		    && !strcmp(q->hello.pool_instance, p->hello.pool_instance))
			return true;
	return false;
}

static void write_peer_family(struct buf *out, const char *name, const char *type,
			      const char *help, int which)
{
	struct buf labels = BUF_INIT;

	metrics_family(out, name, type, help);
	for (const struct peer *p = srv.peers; p; p = p->next) {
		double v;

		if (p->state != PEER_READY || shadowed_by_earlier_peer(p))
			continue;
		v = which == 0 ? p->rtt_ms / 1000.0 : which == 1 ? (double)p->templates_sent
			: which == 2 ? (double)p->templates_dropped : (double)p->blocks_received;
		if (which == 0 && v < 0)
			continue;
		peer_labels(p, &labels);
		metrics_sample(out, name, (const char *)labels.data, v);
	}
	buf_free(&labels);
}

static void write_reason_family(struct buf *out)
{
	char labels[64];

	metrics_family(out, "ckpool_relay_frames_rejected_total", "counter",
		       "Relay frames refused, by reason; the connection is closed.");
	for (int i = 0; i < RELAY_REJECT_COUNT; i++) {
		snprintf(labels, sizeof(labels), "reason=\"%s\"", relay_reject_name(i));
		metrics_sample(out, "ckpool_relay_frames_rejected_total", labels,
			       (double)srv.c.frames_rejected[i]);
	}
	metrics_family(out, "ckpool_relay_disconnects_total", "counter",
		       "Relay connections closed, by reason.");
	for (int i = DISC_EOF; i < DISC_COUNT; i++) {
		snprintf(labels, sizeof(labels), "reason=\"%s\"", disconnect_names[i]);
		metrics_sample(out, "ckpool_relay_disconnects_total", labels,
			       (double)srv.disconnects[i]);
	}
}

void relay_server_write_metrics(struct buf *out, void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&srv.lock);
	metrics_single(out, "ckpool_relay_connected_relays", "gauge",
		       "Authenticated relays connected to this primary.", (double)srv.ready_count);
	write_peer_family(out, "ckpool_relay_peer_rtt_seconds", "gauge",
			  "Heartbeat round trip to the relay, seconds.", 0);
	write_peer_family(out, "ckpool_relay_templates_sent_total", "counter",
			  "Templates fully written to the relay on this connection.", 1);
	write_peer_family(out, "ckpool_relay_templates_dropped_total", "counter",
			  "Queued templates replaced by a newer one before being sent.", 2);
	write_peer_family(out, "ckpool_relay_blocks_received_total", "counter",
			  "Solved blocks the relay sent up on this connection.", 3);
	metrics_single(out, "ckpool_relay_template_pushes_total", "counter",
		       "Templates the generator handed to the relay server.",
		       (double)srv.c.template_pushes);
	metrics_single(out, "ckpool_relay_templates_coalesced_total", "counter",
		       "Pushed templates replaced by a newer push before being serialized.",
		       (double)srv.c.templates_coalesced);
	metrics_single(out, "ckpool_relay_templates_too_big_total", "counter",
		       "Templates over the relay frame cap, not sent.",
		       (double)srv.c.templates_too_big);
	metrics_single(out, "ckpool_relay_full_template_requests_total", "counter",
		       "REQUEST_FULL frames: a relay lacked a referenced transaction.",
		       (double)srv.c.full_requests);
	metrics_single(out, "ckpool_relay_auth_failures_total", "counter",
		       "Relay handshakes refused (bad proof or version).",
		       (double)srv.c.auth_failures);
	write_reason_family(out);
	pthread_mutex_unlock(&srv.lock);
}
