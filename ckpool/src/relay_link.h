/*
 * relay_link.h - one relay connection's socket I/O: the frame decoder on
 * the read side and a bounded queue of encoded frames on the write side.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Shared by relay_server (one link per relay) and relay_client (its link to
 * the primary). The socket is non-blocking; nothing here blocks or locks;
 * the owner serialises calls on one link.
 *
 * Reading: relay_link_receive() reads what the socket has (at most
 * RELAY_READ_BUDGET bytes per call, so one busy peer cannot starve the
 * others), feeds the decoder and calls the handler once per complete frame.
 * The handler may change the decoder's allowed types; the change applies
 * from the next frame on.
 *
 * Writing: the queue holds at most RELAY_OUTQ_MAX frames. Templates are
 * queued with relay_link_send_latest(), which first drops every queued
 * template not yet started (only the newest template matters), so a slow
 * relay holds at most two: the one on the wire and the newest.
 *
 * TLS (relay_link_start_tls, relay_tls.h): the same calls carry the frames
 * through OpenSSL. The handshake runs inside relay_link_receive() and
 * relay_link_flush(), non-blocking: the owner keeps polling for input and,
 * while relay_link_wants_output() says so, for output; frames queued before
 * the handshake finished go out after it. A primary first peeks at the
 * peer's first byte, so a plaintext relay is named as such. A failure
 * returns RELAY_LINK_TLS_ERROR with tls_failure / tls_detail set and
 * counted (relay_tls_count_failure); the owner logs it and closes. Reads
 * also drain what OpenSSL already decrypted (SSL_pending), so no input is
 * left where poll cannot see it.
 */
#ifndef CKPOOL_RELAY_LINK_H
#define CKPOOL_RELAY_LINK_H

#include <stdbool.h>
#include <stddef.h>

#include "relay_frame.h"
#include "relay_tls.h"

#define RELAY_OUTQ_MAX 64
#define RELAY_READ_BUDGET (1024 * 1024)

enum relay_link_tls {
	RELAY_LINK_PLAIN,             /* no TLS */
	RELAY_LINK_TLS_PEEK,          /* primary: first byte not seen yet */
	RELAY_LINK_TLS_HANDSHAKE,
	RELAY_LINK_TLS_OPEN,
};

struct relay_link {
	int fd;                       /* -1 when closed */
	struct ssl_st *ssl;           /* NULL: plaintext */
	enum relay_link_tls tls;
	bool tls_server;
	bool tls_wants_write;         /* OpenSSL needs the socket writable */
	bool head_locked;             /* SSL_write took the head: it must be retried as is */
	enum relay_tls_failure tls_failure; /* after RELAY_LINK_TLS_ERROR */
	char tls_detail[RELAY_TLS_DETAIL_MAX];
	struct relay_decoder dec;
	struct relay_msg *q[RELAY_OUTQ_MAX];
	size_t q_head, q_count;
	size_t head_sent;             /* bytes of the head frame already written */
	double last_rx;               /* monotonic s of the last byte received */
	double last_tx_progress;      /* monotonic s the queue last moved or was empty */
	enum relay_reject reject;     /* why, after RELAY_LINK_REJECTED */
	int io_errno;                 /* errno, after RELAY_LINK_IO_ERROR */
};

enum relay_link_status {
	RELAY_LINK_OK,
	RELAY_LINK_EOF,               /* the peer closed */
	RELAY_LINK_IO_ERROR,          /* read or write failed (io_errno) */
	RELAY_LINK_REJECTED,          /* the decoder refused a frame (reject) */
	RELAY_LINK_HANDLER_CLOSED,    /* the handler asked to close */
	RELAY_LINK_TLS_ERROR,         /* TLS failed (tls_failure, tls_detail) */
};

/* Called per decoded frame; return 0 to go on, -1 to close. The link frees
 * the frame afterwards (set f->payload to NULL to keep it). */
typedef int (*relay_frame_handler)(struct relay_frame *f, void *ctx);

/* Takes over fd (already non-blocking). now is monotonic seconds. */
void relay_link_init(struct relay_link *l, int fd, uint32_t allowed_types, double now);
/* Switches a fresh link to TLS with context t (server or client side as t
 * is). -1 with tls_detail set when OpenSSL cannot make a session. */
int relay_link_start_tls(struct relay_link *l, struct relay_tls *t);
/* True until a TLS link finished its handshake (false for plaintext). */
bool relay_link_tls_handshaking(const struct relay_link *l);
/* Closes the socket, frees the decoder and drops every queued frame. */
void relay_link_close(struct relay_link *l);

/* Queues m (adding a reference). -1 when the queue is full. */
int relay_link_send(struct relay_link *l, struct relay_msg *m);
/* Queues a template after dropping every queued template that has not
 * started going out; *dropped counts them. -1 when the queue is full. */
int relay_link_send_latest(struct relay_link *l, struct relay_msg *m, size_t *dropped);
/* Drops every queued frame of `type` that has not started going out;
 * returns how many. (relay_link_send_latest = this + relay_link_send.) */
size_t relay_link_drop_unstarted(struct relay_link *l, uint8_t type);
bool relay_link_has_output(const struct relay_link *l);
/* Should the owner wait for the socket to be writable: queued frames, or
 * the TLS layer has bytes to write. */
bool relay_link_wants_output(const struct relay_link *l);
/* Queued bytes not yet written. */
size_t relay_link_pending_bytes(const struct relay_link *l);

/* Writes as much as the socket takes. *templates_done (may be NULL) is
 * increased by the templates that finished going out. */
enum relay_link_status relay_link_flush(struct relay_link *l, double now,
					unsigned *templates_done);
/* Reads, decodes and dispatches frames until the socket is drained or
 * the read budget is spent. */
enum relay_link_status relay_link_receive(struct relay_link *l, relay_frame_handler handler,
					  void *ctx, double now);

/* "ok", "eof", "io_error", "rejected", "closed", "tls_error". */
const char *relay_link_status_name(enum relay_link_status s);

#endif
