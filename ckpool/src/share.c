/*
 * share.c - rebuilding and hashing a submitted header, reject reasons and
 * the per-connection duplicate filter.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "share.h"
#include "bytes.h"
#include "hash.h"

#include <string.h>

/* Coinbases are a few hundred bytes; larger ones take the heap. */
#define COINBASE_STACK_MAX 1024

const char *share_result_reason(enum share_result r)
{
	switch (r) {
	case SHARE_OK: return "ok";
	case SHARE_STALE: return "stale";
	case SHARE_DUPLICATE: return "duplicate";
	case SHARE_LOW_DIFF: return "low difficulty";
	case SHARE_BAD_NTIME: return "bad ntime";
	case SHARE_BAD_VERSION: return "bad version bits";
	case SHARE_BAD_EXTRANONCE2: return "bad extranonce2 size";
	case SHARE_JOB_NOT_FOUND: return "job not found";
	case SHARE_INVALID: return "invalid";
	}
	return "invalid";
}

enum reject_reason share_result_reject_reason(enum share_result r)
{
	switch (r) {
	case SHARE_STALE: return REJECT_STALE;
	case SHARE_DUPLICATE: return REJECT_DUPLICATE;
	case SHARE_LOW_DIFF: return REJECT_LOW_DIFF;
	case SHARE_BAD_NTIME: return REJECT_BAD_NTIME;
	case SHARE_BAD_VERSION: return REJECT_BAD_VERSION;
	case SHARE_BAD_EXTRANONCE2: return REJECT_BAD_EXTRANONCE2;
	case SHARE_JOB_NOT_FOUND: return REJECT_JOB_NOT_FOUND;
	case SHARE_OK:
	case SHARE_INVALID:
		break;
	}
	return REJECT_INVALID;
}

static bool share_input_is_sane(const struct share_input *in)
{
	return in->wb && (in->coinb1 || !in->coinb1_len) && (in->coinb2 || !in->coinb2_len) &&
	       (in->nonce1 || !in->nonce1_len) && (in->nonce2 || !in->nonce2_len) &&
	       in->coinb1_len <= SIZE_MAX / 4 && in->coinb2_len <= SIZE_MAX / 4 &&
	       in->nonce1_len <= SIZE_MAX / 4 && in->nonce2_len <= SIZE_MAX / 4;
}

static bool ntime_in_window(const struct workbase *wb, uint32_t ntime)
{
	return ntime >= wb->mintime && (uint64_t)ntime <= (uint64_t)wb->curtime + SHARE_NTIME_FUTURE_MAX;
}

/* sha256d(coinb1 || nonce1 || nonce2 || coinb2). */
static void coinbase_txid(const struct share_input *in, uint8_t txid[32])
{
	uint8_t stack[COINBASE_STACK_MAX];
	size_t len = in->coinb1_len + in->nonce1_len + in->nonce2_len + in->coinb2_len;
	uint8_t *p = len <= sizeof(stack) ? stack : alloc_or_abort(len);
	size_t at = 0;

	if (in->coinb1_len)
		memcpy(p, in->coinb1, in->coinb1_len);
	at += in->coinb1_len;
	if (in->nonce1_len)
		memcpy(p + at, in->nonce1, in->nonce1_len);
	at += in->nonce1_len;
	if (in->nonce2_len)
		memcpy(p + at, in->nonce2, in->nonce2_len);
	at += in->nonce2_len;
	if (in->coinb2_len)
		memcpy(p + at, in->coinb2, in->coinb2_len);
	sha256d(p, len, txid);
	if (p != stack)
		free(p);
}

static void build_header(const struct share_input *in, uint32_t version, uint8_t header[80])
{
	const struct workbase *wb = in->wb;
	uint8_t txid[32];

	coinbase_txid(in, txid);
	write_u32le(header, version);
	memcpy(header + 4, wb->prevhash, 32);
	merkle_root_from_branch(txid, (const uint8_t (*)[32])wb->branch, wb->branch_len, header + 36);
	write_u32le(header + 68, in->ntime);
	write_u32le(header + 72, wb->bits);
	write_u32le(header + 76, in->nonce);
}

enum share_result share_compute(const struct share_input *in, struct share_output *out)
{
	uint32_t version;

	if (!in || !out || !share_input_is_sane(in))
		return SHARE_INVALID;
	if (in->nonce2_len != in->nonce2_expected_len)
		return SHARE_BAD_EXTRANONCE2;
	if (in->version_bits & ~in->version_mask)
		return SHARE_BAD_VERSION;
	if (!ntime_in_window(in->wb, in->ntime))
		return SHARE_BAD_NTIME;
	version = ((uint32_t)in->wb->version & ~in->version_mask) | (in->version_bits & in->version_mask);
	build_header(in, version, out->header);
	sha256d(out->header, 80, out->hash);
	out->version = version;
	out->diff = diff_from_hash(out->hash);
	out->is_block = hash_meets_target(out->hash, in->wb->target);
	if (!out->is_block && in->share_diff > 0 && out->diff < in->share_diff)
		return SHARE_LOW_DIFF;
	return SHARE_OK;
}

/* splitmix64 finalizer: spreads every input bit over the output. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t share_fingerprint(uint64_t job_id, const uint8_t *nonce2, size_t nonce2_len,
				  uint32_t ntime, uint32_t nonce, uint32_t version_bits)
{
	uint64_t h = mix64(job_id ^ 0x9e3779b97f4a7c15ULL);

	h = mix64(h ^ ((uint64_t)ntime << 32 | nonce));
	h = mix64(h ^ version_bits ^ (uint64_t)nonce2_len << 32);
	for (size_t i = 0; i < nonce2_len; i += 8) {
		uint64_t chunk = 0;

		for (size_t j = i; j < nonce2_len && j < i + 8; j++)
			chunk |= (uint64_t)nonce2[j] << (8 * (j - i));
		h = mix64(h ^ chunk);
	}
	return h ? h : 1;       /* 0 marks an empty slot */
}

void dup_filter_init(struct dup_filter *f)
{
	memset(f, 0, sizeof(*f));
}

#define DUP_SLOTS (2 * DUP_FILTER_REMEMBER)

static bool generation_contains(const uint64_t *slots, uint64_t key)
{
	for (size_t i = 0, at = key % DUP_SLOTS; i < DUP_SLOTS; i++, at = (at + 1) % DUP_SLOTS) {
		if (slots[at] == key)
			return true;
		if (!slots[at])
			return false;
	}
	return false;
}

static void generation_insert(uint64_t *slots, uint64_t key)
{
	size_t at = key % DUP_SLOTS;

	while (slots[at])
		at = (at + 1) % DUP_SLOTS;
	slots[at] = key;
}

bool dup_filter_seen(struct dup_filter *f, uint64_t job_id, const uint8_t *nonce2,
		     size_t nonce2_len, uint32_t ntime, uint32_t nonce, uint32_t version_bits)
{
	uint64_t key = share_fingerprint(job_id, nonce2, nonce2_len, ntime, nonce, version_bits);
	unsigned cur = f->current & 1;

	if (generation_contains(f->slots[0], key) || generation_contains(f->slots[1], key))
		return true;
	if (f->count[cur] >= DUP_FILTER_REMEMBER) {
		/* The older generation is forgotten; the full one becomes it. */
		cur ^= 1;
		memset(f->slots[cur], 0, sizeof(f->slots[cur]));
		f->count[cur] = 0;
		f->current = cur;
	}
	generation_insert(f->slots[cur], key);
	f->count[cur]++;
	return false;
}
