/*
 * relay_link.c - owns a relay connection's byte stream: non-blocking reads
 * into the frame decoder and the bounded, drop-oldest-template output queue.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "relay_link.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK 65536

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
}

void relay_link_close(struct relay_link *l)
{
	while (l->q_count)
		queue_pop(l);
	relay_decoder_free(&l->dec);
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
		bool started = i == 0 && l->head_sent > 0;

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
		l->last_tx_progress = now;
		l->head_sent += (size_t)n;
		if (l->head_sent < m->len)
			continue;
		if (templates_done && m->type == RELAY_TEMPLATE)
			(*templates_done)++;
		queue_pop(l);
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

enum relay_link_status relay_link_receive(struct relay_link *l, relay_frame_handler handler,
					  void *ctx, double now)
{
	uint8_t chunk[READ_CHUNK];
	size_t total = 0;

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
	static const char *const names[] = { "ok", "eof", "io_error", "rejected", "closed" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}
