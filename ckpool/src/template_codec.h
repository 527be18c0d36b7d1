/*
 * template_codec.h - the relay link's binary TEMPLATE payload (binary since
 * protocol version 2, merkle branch optional since 3): encoding a workbase
 * once, per-relay frames that reference the transactions the relay already
 * holds, and decoding straight into raw transactions for
 * workbase_from_parts().
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Byte layout (docs/relay-protocol.md, "TEMPLATE"): fixed header fields,
 * the coinbase's merkle branch when flagged TEMPLATE_FLAG_BRANCH (protocol
 * 3: the relay takes the primary's instead of hashing the tree, and checks
 * it after publishing), then one entry per transaction, either FULL (txid, wtxid, fee, sigops,
 * weight, raw bytes) or REF (the 32-byte wtxid of a transaction the relay
 * already holds). References use the wtxid because it commits to the whole
 * transaction, witness included.
 *
 * Who holds what. Both ends keep a struct template_ring: the transactions
 * of the last TEMPLATE_GENERATIONS templates of this connection. The relay
 * pushes every template it decodes; the primary pushes every template it
 * sent to that relay (a template the output queue dropped before it started
 * going out is discarded, see template_sent_settle()). TCP keeps order, so
 * the primary's ring is never ahead of the relay's and a REF always
 * resolves. Should one not resolve (a bug, or a relay that lost its cache),
 * the relay mines nothing from that frame and asks for a full template
 * (REQUEST_FULL); a FULL-flagged template resets the primary's ring.
 *
 * Primary:
 *   struct txmap pool;  txmap_init(&pool);     (fan-out thread only)
 *   e = template_enc_from_workbase(wb, &pool); (once per template)
 *   per relay: n = relay_link_drop_unstarted(&link, RELAY_TEMPLATE);
 *              template_sent_settle(&sent, n > 0);
 *              m = template_frame(e, &sent, full, send_us, &stats);
 * Relay:
 *   rc = template_decode(p, len, &ring, &e, err, errlen);
 *   TEMPLATE_OK: template_ring_push(&ring, e); wb = template_enc_workbase(e, ...)
 *   TEMPLATE_MISSING: send REQUEST_FULL (once until a FULL template arrives)
 *
 * Bounds: every length read from the wire is checked against what is left
 * of the payload before anything is allocated; the transaction count is at
 * most WORKBASE_MAX_TXS and at most remaining / 33 (the smallest entry). A
 * ring holds at most TEMPLATE_GENERATIONS templates, each at most one
 * RELAY_MAX_PAYLOAD frame of raw bytes.
 *
 * Pure layer: no I/O, no globals, no threads of its own; includes only
 * pure headers (make -C ckpool check-layers); unit tested in tests/.
 */
#ifndef CKPOOL_TEMPLATE_CODEC_H
#define CKPOOL_TEMPLATE_CODEC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay_frame.h"
#include "workbase.h"

/* Templates whose transactions each end remembers per connection. */
#define TEMPLATE_GENERATIONS 3

/* TEMPLATE flags. */
#define TEMPLATE_FLAG_FULL 0x01  /* no references: the primary forgot what the relay holds */
#define TEMPLATE_FLAG_BRANCH 0x02 /* the coinbase's merkle branch follows the longpollid
				   * (protocol 3; the relay then skips hashing the tree) */

/* Entry kinds. */
#define TEMPLATE_ENTRY_REF 0
#define TEMPLATE_ENTRY_FULL 1

/* Fixed part of the payload before the commitment (see the docs). */
#define TEMPLATE_FIXED_LEN 77
/* Smallest entry (a REF): kind + wtxid. */
#define TEMPLATE_REF_LEN 33
/* A FULL entry before its data: kind, txid, wtxid, fee, sigops, weight, length. */
#define TEMPLATE_FULL_HEAD_LEN 85

/* ---- wtxid -> transaction map (open addressing) ---- */

struct txmap_entry {
	uint8_t key[32];
	uint32_t count;           /* 0 = free slot */
	struct wb_tx *tx;         /* one reference, or NULL */
};

struct txmap {
	struct txmap_entry *slots;
	size_t cap, used;         /* cap is 0 or a power of two */
	uint32_t epoch;           /* template_enc_from_workbase's pool: the last
				   * template's mark, kept in each entry's count */
};

void txmap_init(struct txmap *m);
/* Drops every entry (and its tx reference) and the memory. */
void txmap_free(struct txmap *m);
struct txmap_entry *txmap_find(const struct txmap *m, const uint8_t key[32]);
/* The entry for key, added with count 0 -> set count >= 1 at once. The
 * pointer is valid until the next insert or remove. */
struct txmap_entry *txmap_insert(struct txmap *m, const uint8_t key[32]);
void txmap_remove(struct txmap *m, struct txmap_entry *e);

/* ---- one template, decoded or ready to encode ---- */

struct template_enc {
	atomic_int refs;
	uint64_t workbase_id;     /* the primary's, for logs */
	uint64_t send_us;         /* as decoded (0 on the primary's side) */
	uint8_t flags;            /* as decoded */
	struct workbase_parts parts;
	size_t n;
	struct wb_tx **txs;       /* one reference each */
	size_t raw_bytes;         /* sum of the transactions' lengths */
	size_t full_entries;      /* as decoded: FULL entries (the rest were REFs) */
};

struct template_enc *template_enc_ref(struct template_enc *e);
void template_enc_unref(struct template_enc *e);

/* The primary's side: wb's fields and transactions. Transactions found in
 * pool (by wtxid) are shared, the others are decoded from wb's hex once
 * (fee, sigops and weight from wb->gbt); pool then holds exactly this
 * template's transactions. A workbase built from parts shares its txs. */
struct template_enc *template_enc_from_workbase(const struct workbase *wb, struct txmap *pool);

/* workbase_from_parts() of a decoded template (NULL plus err). */
struct workbase *template_enc_workbase(const struct template_enc *e, char *err, size_t errlen);

/* ---- the transactions of the last templates of a connection ---- */

struct template_ring {
	struct txmap have;        /* wtxid -> count of ring templates holding it (+ tx) */
	struct template_enc *gen[TEMPLATE_GENERATIONS]; /* oldest first */
	size_t len;
};

void template_ring_init(struct template_ring *r);
/* Forgets everything (new connection, or a full template). */
void template_ring_reset(struct template_ring *r);
/* Adds e (taking a reference), dropping the oldest beyond the limit. */
void template_ring_push(struct template_ring *r, struct template_enc *e);
bool template_ring_has(const struct template_ring *r, const uint8_t wtxid[32]);

/* The primary's per-relay state: the ring of templates sent plus the last
 * one built, which may still be dropped from the queue unsent. */
struct template_sent {
	struct template_ring ring;
	struct template_enc *pending;
};

void template_sent_init(struct template_sent *s);
void template_sent_free(struct template_sent *s);
/* Before building the next frame: the pending template went out (or is
 * going out) unless dropped, and then joins the ring. */
void template_sent_settle(struct template_sent *s, bool pending_dropped);

struct template_frame_stats {
	size_t refs, full;        /* entries of each kind */
};

/* The TEMPLATE frame of e for one relay: REFs for what s's ring holds,
 * unless flags has TEMPLATE_FLAG_FULL (which resets s); with
 * TEMPLATE_FLAG_BRANCH (a protocol 3 relay) the frame carries e's merkle
 * branch. e becomes s's pending template. NULL when the frame would exceed
 * RELAY_MAX_PAYLOAD (s unchanged then). stats may be NULL. */
struct relay_msg *template_frame(struct template_enc *e, struct template_sent *s, unsigned flags,
				 uint64_t send_us, struct template_frame_stats *stats);

/* ---- decoding ---- */

enum template_decode_status {
	TEMPLATE_OK = 0,
	TEMPLATE_MALFORMED = -1,  /* the payload does not parse: a protocol error */
	TEMPLATE_MISSING = -2,    /* well formed, but a REF is not in known */
};

/* Decodes a TEMPLATE payload, resolving REFs in known (may be NULL: every
 * REF is then missing). On TEMPLATE_OK *out is a new template (refs = 1).
 * err says what was wrong otherwise ("template: transaction 3 data length
 * 4000000 exceeds the payload", "template: 2 referenced transactions
 * unknown"). */
int template_decode(const uint8_t *p, size_t len, const struct template_ring *known,
		    struct template_enc **out, char *err, size_t errlen);

/* The send time and workbase id at the start of a TEMPLATE payload.
 * -1 when shorter than 16 bytes. */
int template_peek(const uint8_t *p, size_t len, uint64_t *send_us, uint64_t *workbase_id);

#endif
