/*
 * template_codec.c - owns the binary TEMPLATE payload: the wtxid map, the
 * per-connection rings of remembered transactions, per-relay frame
 * building and the bounded decoder.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "template_codec.h"
#include "bytes.h"
#include "hex.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- txmap ---- */

static size_t slot_of(const uint8_t key[32], size_t cap)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));     /* hashes are uniform; mix anyway */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h & (cap - 1);
}

void txmap_init(struct txmap *m)
{
	memset(m, 0, sizeof(*m));
}

void txmap_free(struct txmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].count)
			wb_tx_unref(m->slots[i].tx);
	free(m->slots);
	txmap_init(m);
}

struct txmap_entry *txmap_find(const struct txmap *m, const uint8_t key[32])
{
	if (!m->used)
		return NULL;
	for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		struct txmap_entry *e = &m->slots[i];

		if (!e->count)
			return NULL;
		if (!memcmp(e->key, key, 32))
			return e;
	}
}

static void grow(struct txmap *m)
{
	struct txmap_entry *old = m->slots;
	size_t old_cap = m->cap;

	m->cap = old_cap ? old_cap * 2 : 64;
	m->slots = alloc_or_abort(m->cap * sizeof(*m->slots));
	memset(m->slots, 0, m->cap * sizeof(*m->slots));
	for (size_t i = 0; i < old_cap; i++) {
		size_t j;

		if (!old[i].count)
			continue;
		for (j = slot_of(old[i].key, m->cap); m->slots[j].count; j = (j + 1) & (m->cap - 1))
			;
		m->slots[j] = old[i];
	}
	free(old);
}

struct txmap_entry *txmap_insert(struct txmap *m, const uint8_t key[32])
{
	struct txmap_entry *e = txmap_find(m, key);
	size_t i;

	if (e)
		return e;
	if ((m->used + 1) * 2 > m->cap)
		grow(m);
	for (i = slot_of(key, m->cap); m->slots[i].count; i = (i + 1) & (m->cap - 1))
		;
	e = &m->slots[i];
	memcpy(e->key, key, 32);
	e->tx = NULL;
	e->count = 1;                   /* occupied; the caller sets the real count */
	m->used++;
	return e;
}

/* Backward-shift deletion keeps every probe chain unbroken. */
void txmap_remove(struct txmap *m, struct txmap_entry *e)
{
	size_t mask = m->cap - 1, hole = (size_t)(e - m->slots);

	wb_tx_unref(e->tx);
	for (size_t i = (hole + 1) & mask; m->slots[i].count; i = (i + 1) & mask) {
		size_t home = slot_of(m->slots[i].key, m->cap);

		/* move i into the hole unless its home lies cyclically in (hole, i] */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			m->slots[hole] = m->slots[i];
			hole = i;
		}
	}
	memset(&m->slots[hole], 0, sizeof(m->slots[hole]));
	m->used--;
}

/* ---- templates ---- */

static struct template_enc *enc_new(size_t n)
{
	struct template_enc *e = alloc_or_abort(sizeof(*e));

	memset(e, 0, sizeof(*e));
	atomic_init(&e->refs, 1);
	e->txs = alloc_or_abort((n ? n : 1) * sizeof(*e->txs));
	memset(e->txs, 0, (n ? n : 1) * sizeof(*e->txs));
	return e;
}

struct template_enc *template_enc_ref(struct template_enc *e)
{
	atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
	return e;
}

void template_enc_unref(struct template_enc *e)
{
	if (!e || atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < e->n; i++)
		wb_tx_unref(e->txs[i]);
	free(e->txs);
	free(e);
}

static int64_t json_int_or_zero(const json_t *tx, const char *key, int64_t lo, int64_t hi)
{
	const json_t *v = json_object_get(tx, key);
	json_int_t x = json_is_integer(v) ? json_integer_value(v) : 0;

	return x < lo || x > hi ? 0 : (int64_t)x;
}

/* Hex the template already validated (workbase_from_gbt) to bytes: a
 * table lookup per digit, several times faster than hex_decode(), which
 * matters for megabytes of new transactions. */
static void decode_valid_hex(const char *hex, uint8_t *out, size_t len)
{
	static const uint8_t value[256] = {
		['0'] = 0, ['1'] = 1, ['2'] = 2, ['3'] = 3, ['4'] = 4, ['5'] = 5, ['6'] = 6,
		['7'] = 7, ['8'] = 8, ['9'] = 9, ['a'] = 10, ['b'] = 11, ['c'] = 12, ['d'] = 13,
		['e'] = 14, ['f'] = 15, ['A'] = 10, ['B'] = 11, ['C'] = 12, ['D'] = 13, ['E'] = 14,
		['F'] = 15,
	};

	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(value[(uint8_t)hex[2 * i]] << 4 | value[(uint8_t)hex[2 * i + 1]]);
}

/* Transaction i of a workbase built from getblocktemplate, decoded once. */
static struct wb_tx *tx_from_gbt(const struct workbase *wb, size_t i)
{
	const json_t *txs = json_object_get(wb->gbt, "transactions");
	const json_t *j = json_array_get(txs, i);
	const char *hex = wb->tx_data_hex[i];
	size_t hex_len = strlen(hex);
	uint32_t len = (uint32_t)(hex_len / 2);
	struct wb_tx *tx = wb_tx_new(wb->txids[i], wb->wtxids[i],
				     json_int_or_zero(j, "fee", INT64_MIN, INT64_MAX),
				     (uint32_t)json_int_or_zero(j, "sigops", 0, UINT32_MAX),
				     (uint32_t)json_int_or_zero(j, "weight", 0, UINT32_MAX), NULL, len);

	decode_valid_hex(hex, tx->data, len);
	return tx;
}

static void parts_of_workbase(const struct workbase *wb, struct workbase_parts *p)
{
	memset(p, 0, sizeof(*p));
	p->version = wb->version;
	memcpy(p->prevhash, wb->prevhash, 32);
	p->bits = wb->bits;
	p->curtime = wb->curtime;
	p->mintime = wb->mintime;
	p->height = wb->height;
	p->coinbasevalue = wb->coinbasevalue;
	memcpy(p->witness_commitment, wb->witness_commitment, wb->witness_commitment_len);
	p->witness_commitment_len = wb->witness_commitment_len;
	memcpy(p->longpollid, wb->longpollid, sizeof(p->longpollid));
	p->has_branch = true;
	p->branch_len = wb->branch_len;
	memcpy(p->branch, wb->branch, wb->branch_len * sizeof(p->branch[0]));
}

/* pool is kept across templates, not rebuilt: entries of this template
 * get its mark (a fresh epoch, never 0, in count), then one sweep drops
 * the others. */
struct template_enc *template_enc_from_workbase(const struct workbase *wb, struct txmap *pool)
{
	struct template_enc *e = enc_new(wb->tx_count);
	uint32_t epoch = pool->epoch + 1 ? pool->epoch + 1 : 1;

	e->workbase_id = wb->id;
	parts_of_workbase(wb, &e->parts);
	for (size_t i = 0; i < wb->tx_count; i++) {
		struct txmap_entry *slot = txmap_find(pool, wb->wtxids[i]);
		struct wb_tx *tx;

		if (wb->txs)
			tx = wb_tx_ref(wb->txs[i]);
		else if (slot)
			tx = wb_tx_ref(slot->tx);
		else
			tx = tx_from_gbt(wb, i);
		e->txs[i] = tx;
		e->n = i + 1;
		e->raw_bytes += tx->len;
		if (!slot) {
			slot = txmap_insert(pool, tx->wtxid);
			slot->tx = wb_tx_ref(tx);
		}
		slot->count = epoch;
	}
	/* A removal shifts later entries back into the hole: look at it again.
	 * Only entries already looked at can wrap around below i. */
	for (size_t i = 0; i < pool->cap;) {
		if (pool->slots[i].count && pool->slots[i].count != epoch)
			txmap_remove(pool, &pool->slots[i]);
		else
			i++;
	}
	pool->epoch = epoch;
	return e;
}

struct workbase *template_enc_workbase(const struct template_enc *e, char *err, size_t errlen)
{
	return workbase_from_parts(&e->parts, e->txs, e->n, err, errlen);
}

/* ---- rings ---- */

void template_ring_init(struct template_ring *r)
{
	memset(r, 0, sizeof(*r));
	txmap_init(&r->have);
}

void template_ring_reset(struct template_ring *r)
{
	for (size_t i = 0; i < r->len; i++)
		template_enc_unref(r->gen[i]);
	txmap_free(&r->have);
	template_ring_init(r);
}

static void ring_forget_oldest(struct template_ring *r)
{
	struct template_enc *old = r->gen[0];

	for (size_t i = 0; i < old->n; i++) {
		struct txmap_entry *e = txmap_find(&r->have, old->txs[i]->wtxid);

		if (e && e->count == 1)
			txmap_remove(&r->have, e);
		else if (e)
			e->count--;
	}
	memmove(r->gen, r->gen + 1, (r->len - 1) * sizeof(r->gen[0]));
	r->len--;
	template_enc_unref(old);
}

void template_ring_push(struct template_ring *r, struct template_enc *e)
{
	for (size_t i = 0; i < e->n; i++) {
		struct txmap_entry *slot = txmap_find(&r->have, e->txs[i]->wtxid);

		if (slot) {
			slot->count++;
			continue;
		}
		slot = txmap_insert(&r->have, e->txs[i]->wtxid);
		slot->tx = wb_tx_ref(e->txs[i]);
		slot->count = 1;
	}
	if (r->len == TEMPLATE_GENERATIONS)
		ring_forget_oldest(r);
	r->gen[r->len++] = template_enc_ref(e);
}

bool template_ring_has(const struct template_ring *r, const uint8_t wtxid[32])
{
	return txmap_find(&r->have, wtxid) != NULL;
}

void template_sent_init(struct template_sent *s)
{
	template_ring_init(&s->ring);
	s->pending = NULL;
}

void template_sent_free(struct template_sent *s)
{
	template_ring_reset(&s->ring);
	template_enc_unref(s->pending);
	s->pending = NULL;
}

void template_sent_settle(struct template_sent *s, bool pending_dropped)
{
	if (s->pending && !pending_dropped)
		template_ring_push(&s->ring, s->pending);
	template_enc_unref(s->pending);
	s->pending = NULL;
}

/* ---- encoding ---- */

static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
	relay_put_u32(p, v);
	return p + 4;
}

static uint8_t *put_u64(uint8_t *p, uint64_t v)
{
	relay_put_u64(p, v);
	return p + 8;
}

static uint8_t *put_bytes(uint8_t *p, const void *data, size_t len)
{
	if (len)
		memcpy(p, data, len);
	return p + len;
}

static size_t header_len(const struct workbase_parts *parts, uint8_t flags)
{
	return TEMPLATE_FIXED_LEN + 1 + parts->witness_commitment_len + 1
	       + strnlen(parts->longpollid, sizeof(parts->longpollid) - 1)
	       + (flags & TEMPLATE_FLAG_BRANCH ? 1 + 32 * parts->branch_len : 0) + 4;
}

static uint8_t *put_header(uint8_t *p, const struct template_enc *e, uint8_t flags,
			   uint64_t send_us)
{
	const struct workbase_parts *h = &e->parts;
	size_t lp = strnlen(h->longpollid, sizeof(h->longpollid) - 1);

	p = put_u64(p, send_us);
	p = put_u64(p, e->workbase_id);
	*p++ = flags;
	p = put_u32(p, (uint32_t)h->version);
	p = put_bytes(p, h->prevhash, 32);
	p = put_u32(p, h->bits);
	p = put_u32(p, h->curtime);
	p = put_u32(p, h->mintime);
	p = put_u32(p, (uint32_t)h->height);
	p = put_u64(p, (uint64_t)h->coinbasevalue);
	*p++ = (uint8_t)h->witness_commitment_len;
	p = put_bytes(p, h->witness_commitment, h->witness_commitment_len);
	*p++ = (uint8_t)lp;
	p = put_bytes(p, h->longpollid, lp);
	if (flags & TEMPLATE_FLAG_BRANCH) {
		*p++ = (uint8_t)h->branch_len;
		p = put_bytes(p, h->branch, 32 * h->branch_len);
	}
	return put_u32(p, (uint32_t)e->n);
}

static uint8_t *put_full(uint8_t *p, const struct wb_tx *tx)
{
	*p++ = TEMPLATE_ENTRY_FULL;
	p = put_bytes(p, tx->txid, 32);
	p = put_bytes(p, tx->wtxid, 32);
	p = put_u64(p, (uint64_t)tx->fee);
	p = put_u32(p, tx->sigops);
	p = put_u32(p, tx->weight);
	p = put_u32(p, tx->len);
	return put_bytes(p, tx->data, tx->len);
}

struct relay_msg *template_frame(struct template_enc *e, struct template_sent *s, unsigned flags,
				 uint64_t send_us, struct template_frame_stats *stats)
{
	bool full = flags & TEMPLATE_FLAG_FULL;
	uint8_t *is_ref, wire_flags;
	size_t len, refs = 0;
	struct relay_msg *m;
	uint8_t *p;

	/* a branch only when e has one (a template built from parts always does) */
	if (!e->parts.has_branch)
		flags &= ~(unsigned)TEMPLATE_FLAG_BRANCH;
	wire_flags = (uint8_t)(flags & (TEMPLATE_FLAG_FULL | TEMPLATE_FLAG_BRANCH));
	len = header_len(&e->parts, wire_flags);
	is_ref = alloc_or_abort(e->n ? e->n : 1);
	for (size_t i = 0; i < e->n; i++) {
		is_ref[i] = !full && template_ring_has(&s->ring, e->txs[i]->wtxid);
		refs += is_ref[i];
		len += is_ref[i] ? TEMPLATE_REF_LEN : TEMPLATE_FULL_HEAD_LEN + e->txs[i]->len;
	}
	if (len > RELAY_MAX_PAYLOAD) {
		free(is_ref);
		return NULL;
	}
	m = relay_msg_new(RELAY_TEMPLATE, NULL, len, NULL, 0);
	p = put_header(m->bytes + RELAY_HEADER_LEN, e, wire_flags, send_us);
	for (size_t i = 0; i < e->n; i++) {
		if (is_ref[i]) {
			*p++ = TEMPLATE_ENTRY_REF;
			p = put_bytes(p, e->txs[i]->wtxid, 32);
		} else {
			p = put_full(p, e->txs[i]);
		}
	}
	free(is_ref);
	if (full)
		template_sent_free(s);
	template_enc_unref(s->pending);
	s->pending = template_enc_ref(e);
	if (stats) {
		stats->refs = refs;
		stats->full = e->n - refs;
	}
	return m;
}

/* ---- decoding ---- */

struct cursor {
	const uint8_t *p;
	size_t left;
};

static const uint8_t *take(struct cursor *c, size_t n)
{
	const uint8_t *at = c->p;

	if (n > c->left)
		return NULL;
	c->p += n;
	c->left -= n;
	return at;
}

static int fail(char *err, size_t errlen, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int status, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err && errlen) {
		n = snprintf(err, errlen, "template: ");
		va_start(ap, fmt);
		if (n >= 0 && (size_t)n < errlen)
			vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return status;
}

int template_peek(const uint8_t *p, size_t len, uint64_t *send_us, uint64_t *workbase_id)
{
	if (len < 16)
		return -1;
	*send_us = relay_get_u64(p);
	*workbase_id = relay_get_u64(p + 8);
	return 0;
}

static int decode_header(struct cursor *c, struct template_enc *e, uint32_t *n, char *err,
			 size_t errlen)
{
	const uint8_t *f = take(c, TEMPLATE_FIXED_LEN), *b;
	struct workbase_parts *h = &e->parts;
	uint32_t height;
	size_t w, lp;

	if (!f)
		return fail(err, errlen, TEMPLATE_MALFORMED, "payload of %zu bytes is too short",
			    c->left);
	e->send_us = relay_get_u64(f);
	e->workbase_id = relay_get_u64(f + 8);
	e->flags = f[16];
	h->version = (int32_t)relay_get_u32(f + 17);
	memcpy(h->prevhash, f + 21, 32);
	h->bits = relay_get_u32(f + 53);
	h->curtime = relay_get_u32(f + 57);
	h->mintime = relay_get_u32(f + 61);
	height = relay_get_u32(f + 65);
	h->coinbasevalue = (int64_t)relay_get_u64(f + 69);
	if (height > INT32_MAX || h->coinbasevalue < 0)
		return fail(err, errlen, TEMPLATE_MALFORMED, "height or coinbasevalue out of range");
	h->height = height;
	if (!(b = take(c, 1)) || (*b != 0 && *b != WITNESS_COMMITMENT_LEN))
		return fail(err, errlen, TEMPLATE_MALFORMED, "witness commitment length must be 0 or 38");
	w = *b;
	if (!(b = take(c, w)))
		return fail(err, errlen, TEMPLATE_MALFORMED, "witness commitment truncated");
	memcpy(h->witness_commitment, b, w);
	h->witness_commitment_len = w;
	if (!(b = take(c, 1)) || *b >= sizeof(h->longpollid))
		return fail(err, errlen, TEMPLATE_MALFORMED, "longpollid length must be 0..127");
	lp = *b;
	if (!(b = take(c, lp)) || memchr(b, '\0', lp))
		return fail(err, errlen, TEMPLATE_MALFORMED, "longpollid truncated or holds a NUL");
	memcpy(h->longpollid, b, lp);
	h->longpollid[lp] = '\0';
	if (e->flags & ~(TEMPLATE_FLAG_FULL | TEMPLATE_FLAG_BRANCH))
		return fail(err, errlen, TEMPLATE_MALFORMED, "unknown flags %02x", e->flags);
	if (e->flags & TEMPLATE_FLAG_BRANCH) {
		/* the count is checked against the transactions by workbase_from_parts */
		if (!(b = take(c, 1)) || *b > MERKLE_BRANCH_MAX)
			return fail(err, errlen, TEMPLATE_MALFORMED,
				    "merkle branch length must be 0..%d", MERKLE_BRANCH_MAX);
		h->branch_len = *b;
		if (!(b = take(c, 32 * h->branch_len)))
			return fail(err, errlen, TEMPLATE_MALFORMED, "merkle branch truncated");
		memcpy(h->branch, b, 32 * h->branch_len);
		h->has_branch = true;
	}
	if (!(b = take(c, 4)))
		return fail(err, errlen, TEMPLATE_MALFORMED, "transaction count missing");
	*n = relay_get_u32(b);
	if (*n > WORKBASE_MAX_TXS || *n > c->left / TEMPLATE_REF_LEN)
		return fail(err, errlen, TEMPLATE_MALFORMED,
			    "%u transactions do not fit (at most %d, %zu bytes left)", *n,
			    WORKBASE_MAX_TXS, c->left);
	return TEMPLATE_OK;
}

static int decode_full(struct cursor *c, uint32_t i, struct wb_tx **out, char *err,
		       size_t errlen)
{
	const uint8_t *h = take(c, TEMPLATE_FULL_HEAD_LEN - 1), *data;
	uint32_t len;

	if (!h)
		return fail(err, errlen, TEMPLATE_MALFORMED, "transaction %u truncated", i);
	len = relay_get_u32(h + 80);
	if (!len || len > c->left)
		return fail(err, errlen, TEMPLATE_MALFORMED,
			    "transaction %u data length %u exceeds the payload (%zu left) or is 0",
			    i, len, c->left);
	data = take(c, len);
	*out = wb_tx_new(h, h + 32, (int64_t)relay_get_u64(h + 64), relay_get_u32(h + 72),
			 relay_get_u32(h + 76), data, len);
	return TEMPLATE_OK;
}

int template_decode(const uint8_t *p, size_t len, const struct template_ring *known,
		    struct template_enc **out, char *err, size_t errlen)
{
	struct cursor c = { p, len };
	struct template_enc *e = enc_new(0);
	size_t missing = 0;
	uint32_t n = 0;
	int rc = decode_header(&c, e, &n, err, errlen);

	*out = NULL;
	if (rc != TEMPLATE_OK)
		goto out;
	free(e->txs);
	e->txs = alloc_or_abort((n ? n : 1) * sizeof(*e->txs));
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *kind = take(&c, 1), *key;
		struct txmap_entry *have;

		e->txs[i] = NULL;
		e->n = i + 1;
		if (!kind) {
			rc = fail(err, errlen, TEMPLATE_MALFORMED, "transaction %u missing", i);
			goto out;
		}
		if (*kind == TEMPLATE_ENTRY_FULL) {
			rc = decode_full(&c, i, &e->txs[i], err, errlen);
			if (rc != TEMPLATE_OK)
				goto out;
			e->full_entries++;
			e->raw_bytes += e->txs[i]->len;
			continue;
		}
		if (*kind != TEMPLATE_ENTRY_REF || !(key = take(&c, 32))) {
			rc = fail(err, errlen, TEMPLATE_MALFORMED,
				  "transaction %u: bad entry kind %u or truncated", i, *kind);
			goto out;
		}
		have = known ? txmap_find(&known->have, key) : NULL;
		if (!have || !have->tx) {
			missing++;
			continue;
		}
		e->txs[i] = wb_tx_ref(have->tx);
		e->raw_bytes += have->tx->len;
	}
	if (c.left) {
		rc = fail(err, errlen, TEMPLATE_MALFORMED, "%zu bytes after the last transaction",
			  c.left);
		goto out;
	}
	if (missing) {
		rc = fail(err, errlen, TEMPLATE_MISSING, "%zu referenced transactions unknown",
			  missing);
		goto out;
	}
	*out = e;
	return TEMPLATE_OK;
out:
	template_enc_unref(e);
	return rc;
}
