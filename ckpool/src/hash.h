/*
 * hash.h - SHA-256, double SHA-256 and the coinbase merkle branch.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Hashing goes through OpenSSL's EVP interface (SHA-NI where the CPU has
 * it). To keep the per-share cost low each thread reuses one digest context
 * (created on first use, freed when the thread exits) and the SHA-256
 * implementation is fetched once per process; no other state is kept.
 * All functions are thread-safe. Hashes are in internal byte order (as
 * serialized); print them reversed for display.
 *
 * Pure layer: no I/O, no globals, no threads of its own; includes only
 * pure headers (make -C ckpool check-layers); unit tested in tests/.
 */
#ifndef CKPOOL_HASH_H
#define CKPOOL_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Longest merkle branch: 2^32 transactions, far beyond any block. */
#define MERKLE_BRANCH_MAX 32

void sha256(const void *data, size_t len, uint8_t out[32]);
/* sha256(sha256(data)). */
void sha256d(const void *data, size_t len, uint8_t out[32]);
/* sha256d of the concatenation of two byte ranges (either may be empty). */
void sha256d_two(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32]);
/* sha256d(left || right) of two 32-byte hashes: one merkle tree node. */
void merkle_parent(const uint8_t left[32], const uint8_t right[32], uint8_t out[32]);

/* Merkle branch for the coinbase (leaf 0) of a block whose other
 * transactions have the given n txids (internal byte order, block order).
 * Writes the sibling hashes from the bottom of the tree up into branch
 * (room for MERKLE_BRANCH_MAX) and returns how many: 0 for n == 0, else
 * ceil(log2(n + 1)). */
size_t merkle_branch_for_coinbase(const uint8_t (*txids)[32], size_t n, uint8_t (*branch)[32]);
/* How many hashes merkle_branch_for_coinbase() returns for n txids. */
size_t merkle_branch_len(size_t n);

/* Folds leaf through the branch: h = sha256d(h || branch[i]) for each i.
 * With n == 0 the root is the leaf itself. */
void merkle_root_from_branch(const uint8_t leaf[32], const uint8_t (*branch)[32], size_t n,
			     uint8_t root[32]);

/* Merkle root of n >= 1 leaves (internal order), duplicating the last
 * node of odd levels as Bitcoin does. For n == 0 the root is all zeroes. */
void merkle_root(const uint8_t (*leaves)[32], size_t n, uint8_t root[32]);

#endif
