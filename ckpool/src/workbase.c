/*
 * workbase.c - getblocktemplate result -> validated, refcounted workbase.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Owns template validation (each field named in its error), compact-bits
 * checks, the per-template precomputation shared by every share, and the
 * refcounted raw transactions (struct wb_tx) of workbases built from parts.
 */
#include "workbase.h"
#include "bytes.h"
#include "hex.h"
#include "difficulty.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MONEY_SATS 2100000000000000LL
static const uint8_t commitment_head[6] = { 0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed };

static void *vfail(char *err, size_t errlen, const char *prefix, const char *fmt, va_list ap)
{
	int n = 0;

	if (!err || !errlen)
		return NULL;
	n = snprintf(err, errlen, "%s", prefix);
	if (n < 0 || (size_t)n >= errlen)
		return NULL;
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	return NULL;
}

static void *gbt_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void *gbt_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(err, errlen, "getblocktemplate: ", fmt, ap);
	va_end(ap);
	return NULL;
}

static void *parts_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void *parts_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(err, errlen, "template: ", fmt, ap);
	va_end(ap);
	return NULL;
}

/* ---- raw transactions ---- */

struct wb_tx *wb_tx_new(const uint8_t txid[32], const uint8_t wtxid[32], int64_t fee,
			uint32_t sigops, uint32_t weight, const void *data, uint32_t len)
{
	struct wb_tx *tx = alloc_or_abort(sizeof(*tx) + len);

	atomic_init(&tx->refs, 1);
	memcpy(tx->txid, txid, 32);
	memcpy(tx->wtxid, wtxid, 32);
	tx->fee = fee;
	tx->sigops = sigops;
	tx->weight = weight;
	tx->len = len;
	if (len && data)
		memcpy(tx->data, data, len);
	return tx;
}

struct wb_tx *wb_tx_ref(struct wb_tx *tx)
{
	atomic_fetch_add_explicit(&tx->refs, 1, memory_order_relaxed);
	return tx;
}

void wb_tx_unref(struct wb_tx *tx)
{
	if (tx && atomic_fetch_sub_explicit(&tx->refs, 1, memory_order_acq_rel) == 1)
		free(tx);
}

void workbase_stratum_prevhash(const struct workbase *wb, char out[65])
{
	uint8_t swapped[32];

	for (int i = 0; i < 32; i += 4) {
		swapped[i] = wb->prevhash[i + 3];
		swapped[i + 1] = wb->prevhash[i + 2];
		swapped[i + 2] = wb->prevhash[i + 1];
		swapped[i + 3] = wb->prevhash[i];
	}
	hex_encode(swapped, 32, out);
}

static const json_t *require_field(const json_t *gbt, const char *name, char *err, size_t errlen)
{
	const json_t *v = json_object_get(gbt, name);

	if (!v || json_is_null(v))
		return gbt_fail(err, errlen, "missing field '%s'", name);
	return v;
}

/* Integer field within [lo, hi]. 0 on success. */
static int read_integer(const json_t *gbt, const char *name, json_int_t lo, json_int_t hi,
			json_int_t *out, char *err, size_t errlen)
{
	const json_t *v = require_field(gbt, name, err, errlen);

	if (!v)
		return -1;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		gbt_fail(err, errlen, "'%s' must be an integer from %lld to %lld", name,
			 (long long)lo, (long long)hi);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static const char *read_string(const json_t *gbt, const char *name, char *err, size_t errlen)
{
	const json_t *v = require_field(gbt, name, err, errlen);

	if (!v)
		return NULL;
	if (!json_is_string(v))
		return gbt_fail(err, errlen, "'%s' must be a string", name);
	return json_string_value(v);
}

static int read_numbers(struct workbase *wb, const json_t *gbt, char *err, size_t errlen)
{
	json_int_t v;

	if (read_integer(gbt, "version", INT32_MIN, INT32_MAX, &v, err, errlen) < 0)
		return -1;
	wb->version = (int32_t)v;
	if (read_integer(gbt, "curtime", 0, UINT32_MAX, &v, err, errlen) < 0)
		return -1;
	wb->curtime = (uint32_t)v;
	if (read_integer(gbt, "mintime", 0, UINT32_MAX, &v, err, errlen) < 0)
		return -1;
	wb->mintime = (uint32_t)v;
	if (read_integer(gbt, "height", 0, INT32_MAX, &v, err, errlen) < 0)
		return -1;
	wb->height = v;
	if (read_integer(gbt, "coinbasevalue", 0, MAX_MONEY_SATS, &v, err, errlen) < 0)
		return -1;
	wb->coinbasevalue = v;
	return 0;
}

static int read_prevhash_and_bits(struct workbase *wb, const json_t *gbt, char *err, size_t errlen)
{
	const char *s;
	uint8_t raw[4];

	if (!(s = read_string(gbt, "previousblockhash", err, errlen)))
		return -1;
	if (hex_decode_hash_reversed(s, wb->prevhash) < 0) {
		gbt_fail(err, errlen, "'previousblockhash' must be 64 hex digits");
		return -1;
	}
	if (!(s = read_string(gbt, "bits", err, errlen)))
		return -1;
	if (hex_decode_exact(s, raw, 4) < 0) {
		gbt_fail(err, errlen, "'bits' must be 8 hex digits");
		return -1;
	}
	wb->bits = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
	if (target_from_bits(wb->bits, wb->target) < 0) {
		gbt_fail(err, errlen, "'bits' %s is not a valid compact target", s);
		return -1;
	}
	wb->network_diff = diff_from_target(wb->target);
	return 0;
}

static int read_optional_fields(struct workbase *wb, const json_t *gbt, char *err, size_t errlen)
{
	const json_t *v = json_object_get(gbt, "default_witness_commitment");
	long n;

	if (v && !json_is_null(v)) {
		n = json_is_string(v) ? hex_decode(json_string_value(v), wb->witness_commitment,
						   WITNESS_COMMITMENT_LEN) : -1;
		if (n != WITNESS_COMMITMENT_LEN ||
		    memcmp(wb->witness_commitment, commitment_head, sizeof(commitment_head))) {
			gbt_fail(err, errlen, "'default_witness_commitment' must be a 38-byte script "
				 "hex starting 6a24aa21a9ed");
			return -1;
		}
		wb->witness_commitment_len = WITNESS_COMMITMENT_LEN;
	}
	v = json_object_get(gbt, "longpollid");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v) || json_string_length(v) >= sizeof(wb->longpollid)) {
			gbt_fail(err, errlen, "'longpollid' must be a string under %zu characters",
				 sizeof(wb->longpollid));
			return -1;
		}
		memcpy(wb->longpollid, json_string_value(v), json_string_length(v) + 1);
	}
	v = json_object_get(gbt, "signet_challenge");
	if (v && !json_is_null(v)) {
		size_t len = json_is_string(v) ? json_string_length(v) : 0;

		if (!len || len % 2 || !hex_is_valid(json_string_value(v), len)) {
			gbt_fail(err, errlen, "'signet_challenge' must be a script in hex");
			return -1;
		}
		wb->signet_challenge = json_string_value(v);
	}
	return 0;
}

/* One transactions[i] entry: data hex into tx_data_hex, txid into txids. */
static int read_transaction(struct workbase *wb, size_t i, const json_t *tx, char *err,
			    size_t errlen)
{
	const json_t *data = json_object_get(tx, "data");
	const json_t *txid = json_object_get(tx, "txid");
	const json_t *hash = json_object_get(tx, "hash");
	uint8_t wtxid[32];
	size_t len;

	if (!json_is_object(tx)) {
		gbt_fail(err, errlen, "transactions[%zu] must be an object", i);
		return -1;
	}
	if (!json_is_string(data)) {
		gbt_fail(err, errlen, "transactions[%zu].data missing or not a string", i);
		return -1;
	}
	len = json_string_length(data);
	if (len < 2 || len % 2 || !hex_is_valid(json_string_value(data), len)) {
		gbt_fail(err, errlen, "transactions[%zu].data must be non-empty even-length hex", i);
		return -1;
	}
	if (!json_is_string(txid) || hex_decode_hash_reversed(json_string_value(txid), wb->txids[i]) < 0) {
		gbt_fail(err, errlen, "transactions[%zu].txid must be 64 hex digits", i);
		return -1;
	}
	if (hash && !json_is_null(hash)) {
		if (!json_is_string(hash) || hex_decode_hash_reversed(json_string_value(hash), wtxid) < 0) {
			gbt_fail(err, errlen, "transactions[%zu].hash must be 64 hex digits", i);
			return -1;
		}
		if (memcmp(wtxid, wb->txids[i], 32))
			wb->has_witness_txs = true;
		memcpy(wb->wtxids[i], wtxid, 32);
	} else {
		memcpy(wb->wtxids[i], wb->txids[i], 32);
	}
	wb->tx_data_hex[i] = json_string_value(data);
	wb->tx_data_hex_len += len;
	return 0;
}

static int read_transactions(struct workbase *wb, const json_t *gbt, char *err, size_t errlen)
{
	const json_t *txs = require_field(gbt, "transactions", err, errlen);
	size_t n;

	if (!txs)
		return -1;
	if (!json_is_array(txs)) {
		gbt_fail(err, errlen, "'transactions' must be an array");
		return -1;
	}
	n = json_array_size(txs);
	if (n > WORKBASE_MAX_TXS) {
		gbt_fail(err, errlen, "%zu transactions, more than %d", n, WORKBASE_MAX_TXS);
		return -1;
	}
	wb->tx_count = n;
	wb->txids = alloc_or_abort((n ? n : 1) * sizeof(*wb->txids));
	wb->wtxids = alloc_or_abort((n ? n : 1) * sizeof(*wb->wtxids));
	wb->tx_data_hex = alloc_or_abort((n ? n : 1) * sizeof(*wb->tx_data_hex));
	for (size_t i = 0; i < n; i++) {
		if (read_transaction(wb, i, json_array_get(txs, i), err, errlen) < 0)
			return -1;
	}
	if (wb->has_witness_txs && !wb->witness_commitment_len) {
		gbt_fail(err, errlen, "witness transactions but no 'default_witness_commitment'");
		return -1;
	}
	return 0;
}

static void compute_branch(struct workbase *wb)
{
	wb->branch = alloc_or_abort(MERKLE_BRANCH_MAX * sizeof(*wb->branch));
	wb->branch_len = merkle_branch_for_coinbase((const uint8_t (*)[32])wb->txids, wb->tx_count,
						    wb->branch);
}

static void workbase_free(struct workbase *wb)
{
	if (wb->txs) {
		for (size_t i = 0; i < wb->tx_count; i++)
			wb_tx_unref(wb->txs[i]);
	}
	free(wb->txs);
	free(wb->txids);
	free(wb->wtxids);
	free(wb->tx_data_hex);
	free(wb->branch);
	json_decref(wb->gbt);
	free(wb);
}

struct workbase *workbase_from_gbt(const json_t *gbt, char *err, size_t errlen)
{
	struct workbase *wb;

	if (!json_is_object(gbt))
		return gbt_fail(err, errlen, "result is not a JSON object");
	wb = calloc(1, sizeof(*wb));
	if (!wb)
		return gbt_fail(err, errlen, "out of memory");
	atomic_init(&wb->refs, 1);
	/* Parse the private copy so tx_data_hex can point into it. */
	wb->gbt = json_deep_copy(gbt);
	if (!wb->gbt) {
		free(wb);
		return gbt_fail(err, errlen, "out of memory copying the template");
	}
	if (read_numbers(wb, wb->gbt, err, errlen) < 0 ||
	    read_prevhash_and_bits(wb, wb->gbt, err, errlen) < 0 ||
	    read_optional_fields(wb, wb->gbt, err, errlen) < 0 ||
	    read_transactions(wb, wb->gbt, err, errlen) < 0) {
		workbase_free(wb);
		return NULL;
	}
	compute_branch(wb);
	return wb;
}

/* The header fields of workbase_from_parts, checked as read_numbers,
 * read_prevhash_and_bits and read_optional_fields check them. */
static int take_parts(struct workbase *wb, const struct workbase_parts *p, char *err,
		      size_t errlen)
{
	size_t lp = strnlen(p->longpollid, sizeof(p->longpollid));

	if (p->height < 0 || p->height > INT32_MAX) {
		parts_fail(err, errlen, "height %lld out of range", (long long)p->height);
		return -1;
	}
	if (p->coinbasevalue < 0 || p->coinbasevalue > MAX_MONEY_SATS) {
		parts_fail(err, errlen, "coinbasevalue %lld out of range", (long long)p->coinbasevalue);
		return -1;
	}
	if (target_from_bits(p->bits, wb->target) < 0) {
		parts_fail(err, errlen, "bits %08x is not a valid compact target", p->bits);
		return -1;
	}
	if (p->witness_commitment_len &&
	    (p->witness_commitment_len != WITNESS_COMMITMENT_LEN ||
	     memcmp(p->witness_commitment, commitment_head, sizeof(commitment_head)))) {
		parts_fail(err, errlen, "witness commitment must be a 38-byte script starting "
			   "6a24aa21a9ed");
		return -1;
	}
	if (lp >= sizeof(wb->longpollid)) {
		parts_fail(err, errlen, "longpollid must be under %zu characters",
			   sizeof(wb->longpollid));
		return -1;
	}
	wb->version = p->version;
	memcpy(wb->prevhash, p->prevhash, 32);
	wb->bits = p->bits;
	wb->curtime = p->curtime;
	wb->mintime = p->mintime;
	wb->height = p->height;
	wb->coinbasevalue = p->coinbasevalue;
	wb->network_diff = diff_from_target(wb->target);
	memcpy(wb->witness_commitment, p->witness_commitment, p->witness_commitment_len);
	wb->witness_commitment_len = p->witness_commitment_len;
	memcpy(wb->longpollid, p->longpollid, lp);
	wb->longpollid[lp] = '\0';
	return 0;
}

struct workbase *workbase_from_parts(const struct workbase_parts *parts, struct wb_tx *const *txs,
				     size_t n, char *err, size_t errlen)
{
	struct workbase *wb;

	if (!parts || (n && !txs))
		return parts_fail(err, errlen, "no template");
	if (n > WORKBASE_MAX_TXS)
		return parts_fail(err, errlen, "%zu transactions, more than %d", n,
				  WORKBASE_MAX_TXS);
	wb = calloc(1, sizeof(*wb));
	if (!wb)
		return parts_fail(err, errlen, "out of memory");
	atomic_init(&wb->refs, 1);
	if (take_parts(wb, parts, err, errlen) < 0) {
		free(wb);
		return NULL;
	}
	wb->txids = alloc_or_abort((n ? n : 1) * sizeof(*wb->txids));
	wb->wtxids = alloc_or_abort((n ? n : 1) * sizeof(*wb->wtxids));
	wb->txs = alloc_or_abort((n ? n : 1) * sizeof(*wb->txs));
	for (size_t i = 0; i < n; i++) {
		if (!txs[i] || !txs[i]->len) {
			wb->tx_count = i;
			workbase_free(wb);
			return parts_fail(err, errlen, "transaction %zu is empty", i);
		}
		wb->txs[i] = wb_tx_ref(txs[i]);
		memcpy(wb->txids[i], txs[i]->txid, 32);
		memcpy(wb->wtxids[i], txs[i]->wtxid, 32);
		if (memcmp(txs[i]->txid, txs[i]->wtxid, 32))
			wb->has_witness_txs = true;
		wb->tx_data_hex_len += 2 * (size_t)txs[i]->len;
	}
	wb->tx_count = n;
	if (wb->has_witness_txs && !wb->witness_commitment_len) {
		workbase_free(wb);
		return parts_fail(err, errlen, "witness transactions but no witness commitment");
	}
	if (parts->has_branch) {
		if (parts->branch_len != merkle_branch_len(n)) {
			workbase_free(wb);
			return parts_fail(err, errlen, "merkle branch of %zu hashes, %zu transactions "
					  "need %zu", parts->branch_len, n, merkle_branch_len(n));
		}
		wb->branch = alloc_or_abort(MERKLE_BRANCH_MAX * sizeof(*wb->branch));
		memcpy(wb->branch, parts->branch, parts->branch_len * sizeof(*wb->branch));
		wb->branch_len = parts->branch_len;
	} else {
		compute_branch(wb);
	}
	return wb;
}

struct workbase *workbase_ref(struct workbase *wb)
{
	atomic_fetch_add_explicit(&wb->refs, 1, memory_order_relaxed);
	return wb;
}

void workbase_unref(struct workbase *wb)
{
	if (wb && atomic_fetch_sub_explicit(&wb->refs, 1, memory_order_acq_rel) == 1)
		workbase_free(wb);
}
