/*
 * relay_link.c - owns a relay connection's byte stream: non-blocking reads
 * into the frame decoder and the bounded, drop-oldest-template output queue,
 * over the plain socket or through a TLS session (handshake included).
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "relay_link.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define READ_CHUNK 65536
#define TLS_HANDSHAKE_RECORD 0x16  /* first byte of every TLS ClientHello */

void relay_link_init(struct relay_link *l, int fd, uint32_t allowed_types, double now)
{
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	relay_decoder_init(&l->dec, allowed_types);
	l->last_rx = now;
	l->last_tx_progress = now;
}

static struct relay_msg *queue_at(const struct relay_link *l, size_t i)
{
	return l->q[(l->q_head + i) % RELAY_OUTQ_MAX];
}

static void queue_pop(struct relay_link *l)
{
	relay_msg_unref(l->q[l->q_head]);
	l->q[l->q_head] = NULL;
	l->q_head = (l->q_head + 1) % RELAY_OUTQ_MAX;
	l->q_count--;
	l->head_sent = 0;
	l->head_locked = false;
}

int relay_link_start_tls(struct relay_link *l, struct relay_tls *t)
{
	l->ssl = relay_tls_session(t, l->fd, l->tls_detail);
	if (!l->ssl)
		return -1;
	l->tls_server = relay_tls_is_server(t);
	l->tls = l->tls_server ? RELAY_LINK_TLS_PEEK : RELAY_LINK_TLS_HANDSHAKE;
	l->tls_wants_write = !l->tls_server;   /* a client speaks first (ClientHello) */
	return 0;
}

bool relay_link_tls_handshaking(const struct relay_link *l)
{
	return l->ssl && l->tls != RELAY_LINK_TLS_OPEN;
}

void relay_link_close(struct relay_link *l)
{
	while (l->q_count)
		queue_pop(l);
	relay_decoder_free(&l->dec);
	SSL_free(l->ssl);   /* no close_notify: the peer sees end of stream either way */
	l->ssl = NULL;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

int relay_link_send(struct relay_link *l, struct relay_msg *m)
{
	if (l->q_count == RELAY_OUTQ_MAX)
		return -1;
	l->q[(l->q_head + l->q_count) % RELAY_OUTQ_MAX] = relay_msg_ref(m);
	l->q_count++;
	return 0;
}

/* Removes the queued frames matching `type`, except the head when it is
 * partly written; keeps the order of the others. Returns how many. A
 * started head stays first, so head_sent remains right. */
size_t relay_link_drop_unstarted(struct relay_link *l, uint8_t type)
{
	struct relay_msg *keep[RELAY_OUTQ_MAX];
	size_t kept = 0, dropped = 0;

	for (size_t i = 0; i < l->q_count; i++) {
		struct relay_msg *m = queue_at(l, i);
		bool started = i == 0 && (l->head_sent > 0 || l->head_locked);

		if (m->type == type && !started) {
			relay_msg_unref(m);
			dropped++;
		} else {
			keep[kept++] = m;
		}
	}
	for (size_t i = 0; i < RELAY_OUTQ_MAX; i++)
		l->q[i] = i < kept ? keep[i] : NULL;
	l->q_head = 0;
	l->q_count = kept;
	return dropped;
}

int relay_link_send_latest(struct relay_link *l, struct relay_msg *m, size_t *dropped)
{
	*dropped = relay_link_drop_unstarted(l, m->type);
	return relay_link_send(l, m);
}

bool relay_link_has_output(const struct relay_link *l)
{
	return l->q_count > 0;
}

bool relay_link_wants_output(const struct relay_link *l)
{
	/* While handshaking, queued frames wait: asking for POLLOUT then would
	 * wake the loop at once on every pass (the socket is writable) and spin
	 * until the peer answers. Only what OpenSSL itself asks for counts. */
	if (relay_link_tls_handshaking(l))
		return l->tls_wants_write;
	return l->q_count > 0 || (l->ssl && l->tls_wants_write);
}

/* ---- TLS ---- */

static enum relay_link_status tls_failed(struct relay_link *l, enum relay_tls_failure why)
{
	l->tls_failure = why;
	relay_tls_count_failure(l->tls_server ? RELAY_TLS_SERVER : RELAY_TLS_CLIENT, why);
	return RELAY_LINK_TLS_ERROR;
}

/* Primary: a relay that speaks the plaintext protocol to a TLS port opens
 * with the frame magic "TB"; anything else that is not a TLS handshake
 * record is not TLS either. Looks without consuming. */
static enum relay_link_status peek_first_byte(struct relay_link *l)
{
	uint8_t b;
	ssize_t n = recv(l->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n == 0)
		return RELAY_LINK_EOF;
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return RELAY_LINK_OK;
		l->io_errno = errno;
		return RELAY_LINK_IO_ERROR;
	}
	if (b == RELAY_MAGIC0) {
		snprintf(l->tls_detail, sizeof(l->tls_detail),
			 "the peer sent a plaintext relay frame to the TLS relay port "
			 "(its config lacks relay.tls)");
		return tls_failed(l, RELAY_TLS_PLAINTEXT_PEER);
	}
	if (b != TLS_HANDSHAKE_RECORD) {
		snprintf(l->tls_detail, sizeof(l->tls_detail),
			 "the peer's first byte 0x%02x is not a TLS handshake record", b);
		return tls_failed(l, RELAY_TLS_NOT_TLS);
	}
	l->tls = RELAY_LINK_TLS_HANDSHAKE;
	return RELAY_LINK_OK;
}

/* One non-blocking handshake step; OK while it goes on or once it is done. */
static enum relay_link_status tls_handshake(struct relay_link *l)
{
	int rc, err, saved_errno;

	if (l->tls == RELAY_LINK_TLS_PEEK) {
		enum relay_link_status st = peek_first_byte(l);

		if (st != RELAY_LINK_OK || l->tls == RELAY_LINK_TLS_PEEK)
			return st;
	}
	ERR_clear_error();
	errno = 0;
	rc = SSL_do_handshake(l->ssl);
	saved_errno = errno;
	if (rc == 1) {
		l->tls = RELAY_LINK_TLS_OPEN;
		l->tls_wants_write = false;
		relay_tls_count_handshake(l->tls_server ? RELAY_TLS_SERVER : RELAY_TLS_CLIENT);
		return RELAY_LINK_OK;
	}
	err = SSL_get_error(l->ssl, rc);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		l->tls_wants_write = err == SSL_ERROR_WANT_WRITE;
		return RELAY_LINK_OK;
	}
	return tls_failed(l, relay_tls_classify(l->ssl, err, saved_errno, l->tls_detail));
}

/* After SSL_read / SSL_write returned n <= 0: OK to wait (want read or
 * write), EOF, or the error. */
static enum relay_link_status tls_io_result(struct relay_link *l, int n)
{
	int saved_errno = errno;
	int err = SSL_get_error(l->ssl, n);

	switch (err) {
	case SSL_ERROR_WANT_READ:
		return RELAY_LINK_OK;
	case SSL_ERROR_WANT_WRITE:
		l->tls_wants_write = true;
		return RELAY_LINK_OK;
	case SSL_ERROR_ZERO_RETURN:
		return RELAY_LINK_EOF;
	case SSL_ERROR_SYSCALL:
		if (!ERR_peek_error()) {
			ERR_clear_error();
			if (!saved_errno)
				return RELAY_LINK_EOF;
			l->io_errno = saved_errno;
			return RELAY_LINK_IO_ERROR;
		}
		/* fall through */
	default:
		return tls_failed(l, relay_tls_classify(l->ssl, err, saved_errno, l->tls_detail));
	}
}

/* n more bytes of the head frame went out (plaintext or TLS); a finished
 * frame leaves the queue and counts when it was a template. */
static void advance_head(struct relay_link *l, size_t n, double now, unsigned *templates_done)
{
	struct relay_msg *m = l->q[l->q_head];

	l->last_tx_progress = now;
	l->head_sent += n;
	if (l->head_sent < m->len)
		return;
	if (templates_done && m->type == RELAY_TEMPLATE)
		(*templates_done)++;
	queue_pop(l);
}

/* Writes the queue through TLS. A write that would block leaves the head
 * frame locked: OpenSSL may have encrypted part of it already, so it must
 * be offered again, unchanged (never dropped for a newer template). */
static enum relay_link_status tls_flush(struct relay_link *l, double now, unsigned *templates_done)
{
	if (l->tls != RELAY_LINK_TLS_OPEN) {
		enum relay_link_status st = tls_handshake(l);

		if (st != RELAY_LINK_OK || l->tls != RELAY_LINK_TLS_OPEN)
			return st;
	}
	/* a read that wanted to write is retried by the next SSL_read or SSL_write */
	l->tls_wants_write = false;
	while (l->q_count) {
		struct relay_msg *m = l->q[l->q_head];
		int n;

		ERR_clear_error();
		errno = 0;
		n = SSL_write(l->ssl, m->bytes + l->head_sent, (int)(m->len - l->head_sent));
		if (n <= 0) {
			l->head_locked = true;
			return tls_io_result(l, n);
		}
		advance_head(l, (size_t)n, now, templates_done);
	}
	l->last_tx_progress = now;
	return RELAY_LINK_OK;
}

size_t relay_link_pending_bytes(const struct relay_link *l)
{
	size_t total = 0;

	for (size_t i = 0; i < l->q_count; i++)
		total += queue_at(l, i)->len;
	return total - l->head_sent;
}

enum relay_link_status relay_link_flush(struct relay_link *l, double now,
					unsigned *templates_done)
{
	if (l->ssl)
		return tls_flush(l, now, templates_done);
	while (l->q_count) {
		struct relay_msg *m = l->q[l->q_head];
		ssize_t n = send(l->fd, m->bytes + l->head_sent, m->len - l->head_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return RELAY_LINK_OK;
			l->io_errno = errno;
			return RELAY_LINK_IO_ERROR;
		}
		advance_head(l, (size_t)n, now, templates_done);
	}
	l->last_tx_progress = now;
	return RELAY_LINK_OK;
}

/* Feeds one chunk to the decoder, dispatching each complete frame. */
static enum relay_link_status decode_chunk(struct relay_link *l, const uint8_t *data, size_t len,
					   relay_frame_handler handler, void *ctx)
{
	while (len) {
		struct relay_frame f;
		size_t used = 0;
		int rc = relay_decoder_feed(&l->dec, data, len, &used, &f);
		int verdict;

		data += used;
		len -= used;
		if (rc == RELAY_DECODE_ERROR) {
			l->reject = l->dec.error;
			return RELAY_LINK_REJECTED;
		}
		if (rc == RELAY_DECODE_MORE)
			continue;
		verdict = handler(&f, ctx);
		relay_frame_free(&f);
		if (verdict < 0)
			return RELAY_LINK_HANDLER_CLOSED;
	}
	return RELAY_LINK_OK;
}

/* Reads through TLS up to the budget, then whatever OpenSSL still holds
 * decrypted (at most one record, 16 KiB): poll() cannot see those bytes,
 * so leaving them would stall the link until the peer sends again. */
static enum relay_link_status tls_receive(struct relay_link *l, relay_frame_handler handler,
					  void *ctx, double now)
{
	uint8_t chunk[READ_CHUNK];
	size_t total = 0;

	if (l->tls != RELAY_LINK_TLS_OPEN) {
		enum relay_link_status st = tls_handshake(l);

		if (st != RELAY_LINK_OK || l->tls != RELAY_LINK_TLS_OPEN)
			return st;
		l->last_rx = now;
	}
	while (total < RELAY_READ_BUDGET || SSL_pending(l->ssl) > 0) {
		enum relay_link_status st;
		int n;

		ERR_clear_error();
		errno = 0;
		n = SSL_read(l->ssl, chunk, sizeof(chunk));
		if (n <= 0)
			return tls_io_result(l, n);
		l->last_rx = now;
		total += (size_t)n;
		st = decode_chunk(l, chunk, (size_t)n, handler, ctx);
		if (st != RELAY_LINK_OK)
			return st;
	}
	return RELAY_LINK_OK;
}

enum relay_link_status relay_link_receive(struct relay_link *l, relay_frame_handler handler,
					  void *ctx, double now)
{
	uint8_t chunk[READ_CHUNK];
	size_t total = 0;

	if (l->ssl)
		return tls_receive(l, handler, ctx, now);
	while (total < RELAY_READ_BUDGET) {
		ssize_t n = recv(l->fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		enum relay_link_status st;

		if (n == 0)
			return RELAY_LINK_EOF;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return RELAY_LINK_OK;
			l->io_errno = errno;
			return RELAY_LINK_IO_ERROR;
		}
		l->last_rx = now;
		total += (size_t)n;
		st = decode_chunk(l, chunk, (size_t)n, handler, ctx);
		if (st != RELAY_LINK_OK)
			return st;
	}
	return RELAY_LINK_OK;
}

const char *relay_link_status_name(enum relay_link_status s)
{
	static const char *const names[] = { "ok", "eof", "io_error", "rejected", "closed",
					     "tls_error" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}
