/*
 * test_hash.c - sha256, sha256d and merkle trees against known vectors.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "bytes.h"
#include "hash.h"

/* Mainnet block 100000: four transactions. */
static const char *block100k_txids[4] = {
	"8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87",
	"fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4",
	"6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4",
	"e9a66845e05d5abc0ad04ec80f774a7e585c6e8db975962d069a522137b80c1d",
};
static const char *block100k_root = "f3e94742aca4b5ef85488dc37c06c3282295ffec960994b2c0d5ac2a25a95766";

static void test_sha256_vectors(void **state)
{
	uint8_t out[32];

	(void)state;
	sha256("abc", 3, out);
	assert_bytes_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256("", 0, out);
	assert_bytes_hex(out, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256d("hello", 5, out);
	assert_bytes_hex(out, 32, "9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50");
	sha256d_two("hel", 3, "lo", 2, out);
	assert_bytes_hex(out, 32, "9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50");
}

static void test_merkle_root_of_block_100000(void **state)
{
	uint8_t leaves[4][32], root[32];

	(void)state;
	for (int i = 0; i < 4; i++)
		from_hex_reversed(block100k_txids[i], leaves[i]);
	merkle_root((const uint8_t (*)[32])leaves, 4, root);
	assert_hash_display(root, block100k_root);
}

static void test_merkle_branch_of_block_100000(void **state)
{
	uint8_t leaves[4][32], branch[MERKLE_BRANCH_MAX][32], root[32];
	size_t n;

	(void)state;
	for (int i = 0; i < 4; i++)
		from_hex_reversed(block100k_txids[i], leaves[i]);
	n = merkle_branch_for_coinbase((const uint8_t (*)[32])leaves + 1, 3, branch);
	assert_int_equal(n, 2);
	assert_memory_equal(branch[0], leaves[1], 32);
	merkle_root_from_branch(leaves[0], (const uint8_t (*)[32])branch, n, root);
	assert_hash_display(root, block100k_root);
}

static void test_block_100000_header_hash(void **state)
{
	uint8_t header[80], hash[32];

	(void)state;
	write_u32le(header, 1);
	from_hex_reversed("000000000002d01c1fccc21636b607dfd930d31d01c3a62104612a1719011250", header + 4);
	from_hex_reversed(block100k_root, header + 36);
	write_u32le(header + 68, 1293623863);
	write_u32le(header + 72, 0x1b04864c);
	write_u32le(header + 76, 274148111);
	sha256d(header, 80, hash);
	assert_hash_display(hash, "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506");
}

/* For every tree size, the coinbase branch folds to the full tree's root. */
static void test_branch_agrees_with_full_tree(void **state)
{
	uint8_t leaves[40][32], branch[MERKLE_BRANCH_MAX][32], root[32], expect[32];

	(void)state;
	for (int i = 0; i < 40; i++)
		sha256d(&i, sizeof(i), leaves[i]);
	for (size_t total = 1; total <= 40; total++) {
		size_t n = merkle_branch_for_coinbase((const uint8_t (*)[32])leaves + 1, total - 1, branch);
		size_t want = 0;

		while (((size_t)1 << want) < total)
			want++;
		assert_int_equal(n, want);
		assert_int_equal(merkle_branch_len(total - 1), want);
		merkle_root((const uint8_t (*)[32])leaves, total, expect);
		merkle_root_from_branch(leaves[0], (const uint8_t (*)[32])branch, n, root);
		assert_memory_equal(root, expect, 32);
	}
}

/* Up to WORKBASE_MAX_TXS-sized templates: ceil(log2(n + 1)) hashes. */
static void test_branch_len_is_tree_depth(void **state)
{
	(void)state;
	assert_int_equal(merkle_branch_len(0), 0);
	for (size_t n = 1; n <= 200000; n++) {
		size_t want = 0;

		while (((size_t)1 << want) < n + 1)
			want++;
		assert_int_equal(merkle_branch_len(n), want);
	}
}

static void test_single_leaf_root_is_leaf(void **state)
{
	uint8_t leaf[32], root[32];

	(void)state;
	memset(leaf, 0xab, 32);
	merkle_root_from_branch(leaf, NULL, 0, root);
	assert_memory_equal(root, leaf, 32);
	merkle_root((const uint8_t (*)[32])leaf, 1, root);
	assert_memory_equal(root, leaf, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_merkle_root_of_block_100000),
		cmocka_unit_test(test_merkle_branch_of_block_100000),
		cmocka_unit_test(test_block_100000_header_hash),
		cmocka_unit_test(test_branch_agrees_with_full_tree),
		cmocka_unit_test(test_branch_len_is_tree_depth),
		cmocka_unit_test(test_single_leaf_root_is_leaf),
	};

	return cmocka_run_group_tests_name("hash", tests, NULL, NULL);
}
