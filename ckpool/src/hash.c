/*
 * hash.c - SHA-256 through OpenSSL EVP with a reused per-thread context;
 * merkle branches and roots.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "hash.h"
#include "bytes.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static pthread_key_t context_key;
static EVP_MD *sha256_md;

static void free_thread_context(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void fail_hashing(const char *what)
{
	fprintf(stderr, "{\"level\":\"fatal\",\"component\":\"hash\",\"msg\":\"%s\"}\n", what);
	abort();
}

static void setup_hashing(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!sha256_md)
		fail_hashing("OpenSSL has no SHA256");
	if (pthread_key_create(&context_key, free_thread_context))
		fail_hashing("pthread_key_create failed");
}

static EVP_MD_CTX *thread_context(void)
{
	EVP_MD_CTX *ctx;

	pthread_once(&setup_once, setup_hashing);
	ctx = pthread_getspecific(context_key);
	if (!ctx) {
		ctx = EVP_MD_CTX_new();
		if (!ctx || pthread_setspecific(context_key, ctx))
			fail_hashing("cannot create a digest context");
	}
	return ctx;
}

static void sha256_two(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
	EVP_MD_CTX *ctx = thread_context();

	if (!EVP_DigestInit_ex2(ctx, sha256_md, NULL) ||
	    (alen && !EVP_DigestUpdate(ctx, a, alen)) ||
	    (blen && !EVP_DigestUpdate(ctx, b, blen)) ||
	    !EVP_DigestFinal_ex(ctx, out, NULL))
		fail_hashing("SHA256 failed");
}

void sha256(const void *data, size_t len, uint8_t out[32])
{
	sha256_two(data, len, NULL, 0, out);
}

void sha256d(const void *data, size_t len, uint8_t out[32])
{
	uint8_t first[32];

	sha256_two(data, len, NULL, 0, first);
	sha256_two(first, 32, NULL, 0, out);
}

void sha256d_two(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
	uint8_t first[32];

	sha256_two(a, alen, b, blen, first);
	sha256_two(first, 32, NULL, 0, out);
}

void merkle_parent(const uint8_t left[32], const uint8_t right[32], uint8_t out[32])
{
	sha256d_two(left, 32, right, 32, out);
}

/* Replaces level[0..n) by its parents; returns the parent count. The last
 * node of an odd level is paired with itself. */
static size_t hash_level(uint8_t (*level)[32], size_t n)
{
	size_t parents = (n + 1) / 2;

	for (size_t i = 0; i < parents; i++) {
		const uint8_t *left = level[2 * i];
		const uint8_t *right = 2 * i + 1 < n ? level[2 * i + 1] : left;

		merkle_parent(left, right, level[i]);
	}
	return parents;
}

size_t merkle_branch_for_coinbase(const uint8_t (*txids)[32], size_t n, uint8_t (*branch)[32])
{
	uint8_t (*level)[32];
	size_t count = 0;

	if (!n)
		return 0;
	level = alloc_or_abort(n * sizeof(*level));
	memcpy(level, txids, n * sizeof(*level));
	/* level holds the nodes to the right of the coinbase's path; the
	 * first one is the path's sibling, the rest pair up among themselves. */
	while (n && count < MERKLE_BRANCH_MAX) {
		memcpy(branch[count++], level[0], 32);
		n = n > 1 ? hash_level(level + 1, n - 1) : 0;
		memmove(level, level + 1, n * sizeof(*level));
	}
	free(level);
	return count;
}

size_t merkle_branch_len(size_t n)
{
	size_t count = 0;

	while (n && count < MERKLE_BRANCH_MAX) {
		count++;
		n /= 2;         /* the n - 1 others pair up into ceil((n - 1) / 2) */
	}
	return count;
}

void merkle_root_from_branch(const uint8_t leaf[32], const uint8_t (*branch)[32], size_t n,
			     uint8_t root[32])
{
	uint8_t h[32];

	memcpy(h, leaf, 32);
	for (size_t i = 0; i < n; i++)
		merkle_parent(h, branch[i], h);
	memcpy(root, h, 32);
}

void merkle_root(const uint8_t (*leaves)[32], size_t n, uint8_t root[32])
{
	uint8_t (*level)[32];

	if (!n) {
		memset(root, 0, 32);
		return;
	}
	level = alloc_or_abort(n * sizeof(*level));
	memcpy(level, leaves, n * sizeof(*level));
	while (n > 1)
		n = hash_level(level, n);
	memcpy(root, level[0], 32);
	free(level);
}
