/*
 * share.c - jobs and valid nonces for the load generator.
 *
 * At a difficulty of at most 0xFFFF / 2^48 (about 2.33e-10) the share target
 * is 2^256 - 1 and every header is a valid share, so nothing is hashed. Above
 * it, the generator rebuilds the header the server will rebuild (coinbase =
 * coinb1 || extranonce1 || extranonce2 || coinb2, sha256d, merkle branch
 * folded, then version, prevhash, root, ntime, bits, nonce with the numbers
 * little-endian) and keeps the nonces whose sha256d meets the target.
 * With --hash miss it keeps those whose sha256d misses the block target in
 * the job's bits instead: on regtest half of all headers are blocks.
 */
#include <math.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

/* 0xFFFF * 2^208: the difficulty-1 target as a double. */
#define DIFF1 (65535.0 * 0x1p208)

bool share_needs_hashing(double difficulty)
{
	return difficulty > 65535.0 * 0x1p-48;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decodes hex into out (at most cap bytes); returns the length or -1. */
static long unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t len = strlen(hex);
	if (len % 2 || len / 2 > cap)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(len / 2);
}

static int u32_from_hex(const char *hex, uint32_t *out)
{
	uint8_t b[4];
	if (strlen(hex) != 8 || unhex(hex, b, 4) != 4)
		return -1;
	*out = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return 0;
}

/* A heap copy of a hex string's bytes. */
static uint8_t *unhex_alloc(const char *hex, size_t *len)
{
	size_t cap = strlen(hex) / 2 + 1;
	uint8_t *out = malloc(cap);
	long n = out ? unhex(hex, out, cap) : -1;
	if (n < 0) {
		free(out);
		return NULL;
	}
	*len = (size_t)n;
	return out;
}

void job_free(struct job *job)
{
	free(job->coinb1);
	free(job->coinb2);
	job->coinb1 = job->coinb2 = NULL;
}

int job_from_notify(struct job *job, const json_t *params, bool decode)
{
	const char *id = json_string_value(json_array_get(params, 0));
	const char *prev = json_string_value(json_array_get(params, 1));
	const char *cb1 = json_string_value(json_array_get(params, 2));
	const char *cb2 = json_string_value(json_array_get(params, 3));
	const json_t *branch = json_array_get(params, 4);
	const char *version = json_string_value(json_array_get(params, 5));
	const char *nbits = json_string_value(json_array_get(params, 6));
	const char *ntime = json_string_value(json_array_get(params, 7));
	if (!id || !prev || !cb1 || !cb2 || !json_is_array(branch) || !version || !nbits ||
	    !ntime || strlen(id) >= sizeof(job->id) || strlen(ntime) != 8)
		return -1;
	job_free(job);
	snprintf(job->id, sizeof(job->id), "%s", id);
	memcpy(job->ntime, ntime, 9);
	job->clean = json_is_true(json_array_get(params, 8));
	if (!decode)
		return 0;

	/* Stratum prevhash: 8 words of 4 bytes, each word byte-reversed. */
	uint8_t swapped[32];
	if (unhex(prev, swapped, 32) != 32)
		return -1;
	for (int i = 0; i < 32; i++)
		job->prevhash[i] = swapped[(i & ~3) + 3 - (i & 3)];
	job->branch_len = json_array_size(branch);
	if (job->branch_len > MAX_BRANCH)
		return -1;
	for (size_t i = 0; i < job->branch_len; i++) {
		const char *h = json_string_value(json_array_get(branch, i));
		if (!h || unhex(h, job->branch[i], 32) != 32)
			return -1;
	}
	if (u32_from_hex(version, &job->version) || u32_from_hex(nbits, &job->bits) ||
	    u32_from_hex(ntime, &job->ntime_v))
		return -1;
	job->coinb1 = unhex_alloc(cb1, &job->coinb1_len);
	job->coinb2 = unhex_alloc(cb2, &job->coinb2_len);
	return job->coinb1 && job->coinb2 ? 0 : -1;
}

static void sha256d(const uint8_t *data, size_t len, uint8_t out[32])
{
	uint8_t once[32];
	SHA256(data, len, once);
	SHA256(once, 32, out);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void share_prepare(struct conn *c)
{
	const struct job *j = &c->job;
	size_t len = j->coinb1_len + c->en1_len + c->en2_size + j->coinb2_len;
	uint8_t *cb = malloc(len), node[64];
	if (!cb)
		abort();
	memcpy(cb, j->coinb1, j->coinb1_len);
	memcpy(cb + j->coinb1_len, c->en1_bin, c->en1_len);
	memcpy(cb + j->coinb1_len + c->en1_len, c->en2_bin, c->en2_size);
	memcpy(cb + j->coinb1_len + c->en1_len + c->en2_size, j->coinb2, j->coinb2_len);
	sha256d(cb, len, node);
	free(cb);
	for (size_t i = 0; i < j->branch_len; i++) {
		memcpy(node + 32, j->branch[i], 32);
		sha256d(node, 64, node);
	}
	put_le32(c->header, j->version);
	memcpy(c->header + 4, j->prevhash, 32);
	memcpy(c->header + 36, node, 32);
	put_le32(c->header + 68, j->ntime_v);
	put_le32(c->header + 72, j->bits);
	put_le32(c->header + 76, 0);
}

/* Difficulty of a hash: DIFF1 / hash, the hash read as a little-endian number. */
static double hash_difficulty(const uint8_t h[32])
{
	double value = 0;
	for (int i = 31; i >= 0; i--)
		value = value * 256.0 + h[i];
	return value > 0 ? DIFF1 / value : INFINITY;
}

/* Difficulty of the block target in compact `bits`: DIFF1 / (mantissa * 256^(exponent - 3)). */
static double bits_difficulty(uint32_t bits)
{
	return DIFF1 / ldexp((double)(bits & 0x007fffff), 8 * ((int)(bits >> 24) - 3));
}

/* The nonce fits the run: a valid share, or (HASH_MISS) a header that is no block. */
static bool wanted(double hash_diff, double need, double block_diff)
{
	if (opt.hash_mode == HASH_MISS)
		return hash_diff < block_diff;
	return hash_diff >= need;
}

uint64_t share_find(struct conn *c, size_t want)
{
	uint64_t hashes = 0;
	/* A hair above the difficulty so rounding never makes the server disagree;
	 * for a miss, a hair below the block's. */
	double need = c->difficulty * (1 + 1e-9);
	double block_diff = bits_difficulty(c->job.bits) * (1 - 1e-9);
	uint8_t h[32];
	if (c->ready_count + want > c->ready_cap) {
		size_t cap = c->ready_count + want;
		uint32_t *grown = realloc(c->ready_nonces, cap * sizeof(*grown));
		if (!grown)
			abort();
		c->ready_nonces = grown;
		c->ready_cap = cap;
	}
	while (want > 0) {
		uint32_t nonce = c->scan_nonce++;
		put_le32(c->header + 76, nonce);
		sha256d(c->header, 80, h);
		hashes++;
		if (wanted(hash_difficulty(h), need, block_diff)) {
			c->ready_nonces[c->ready_count++] = nonce;
			want--;
		}
	}
	return hashes;
}
