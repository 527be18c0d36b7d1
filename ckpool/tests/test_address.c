/*
 * test_address.c - networks, base58check, bech32/bech32m and scriptPubKeys.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Vectors: BIP350's bech32m strings and segwit addresses; base58 and
 * regtest bech32 addresses for the pubkey hash 751e76e8...3bd6 (the
 * generator point's) encoded independently; the genesis block's address.
 */
#include "helpers.h"
#include "address.h"
#include "network.h"

struct valid_address {
	const char *addr;
	enum network net;
	const char *script;
	enum address_type type;
};

static const struct valid_address valid[] = {
	/* BIP350 segwit vectors */
	{ "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", NET_MAIN,
	  "0014751e76e8199196d454941c45d1b3a323f1433bd6", ADDR_P2WPKH },
	{ "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", NET_TEST,
	  "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262", ADDR_P2WSH },
	{ "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y", NET_MAIN,
	  "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6",
	  ADDR_WITNESS_OTHER },
	{ "BC1SW50QGDZ25J", NET_MAIN, "6002751e", ADDR_WITNESS_OTHER },
	{ "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", NET_MAIN,
	  "5210751e76e8199196d454941c45d1b3a323", ADDR_WITNESS_OTHER },
	{ "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy", NET_TEST,
	  "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433", ADDR_P2WSH },
	{ "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c", NET_SIGNET,
	  "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433", ADDR_P2TR },
	{ "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", NET_MAIN,
	  "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", ADDR_P2TR },
	/* regtest bech32 */
	{ "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", NET_REGTEST,
	  "0014751e76e8199196d454941c45d1b3a323f1433bd6", ADDR_P2WPKH },
	{ "bcrt1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qzf4jry", NET_REGTEST,
	  "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262", ADDR_P2WSH },
	{ "bcrt1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqc8gma6", NET_REGTEST,
	  "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", ADDR_P2TR },
	{ "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", NET_SIGNET,
	  "0014751e76e8199196d454941c45d1b3a323f1433bd6", ADDR_P2WPKH },
	/* base58check */
	{ "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH", NET_MAIN,
	  "76a914751e76e8199196d454941c45d1b3a323f1433bd688ac", ADDR_P2PKH },
	{ "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", NET_MAIN,
	  "76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac", ADDR_P2PKH },
	{ "3CNHUhP3uyB9EUtRLsmvFUmvGdjGdkTxJw", NET_MAIN,
	  "a914751e76e8199196d454941c45d1b3a323f1433bd687", ADDR_P2SH },
	{ "mrCDrCybB6J1vRfbwM5hemdJz73FwDBC8r", NET_TEST,
	  "76a914751e76e8199196d454941c45d1b3a323f1433bd688ac", ADDR_P2PKH },
	{ "mrCDrCybB6J1vRfbwM5hemdJz73FwDBC8r", NET_SIGNET,
	  "76a914751e76e8199196d454941c45d1b3a323f1433bd688ac", ADDR_P2PKH },
	{ "mrCDrCybB6J1vRfbwM5hemdJz73FwDBC8r", NET_REGTEST,
	  "76a914751e76e8199196d454941c45d1b3a323f1433bd688ac", ADDR_P2PKH },
	{ "2N3vVYSK5XRgVSGWy21PnsRmBUywSQNdCsf", NET_REGTEST,
	  "a914751e76e8199196d454941c45d1b3a323f1433bd687", ADDR_P2SH },
	{ "2N3vVYSK5XRgVSGWy21PnsRmBUywSQNdCsf", NET_TEST,
	  "a914751e76e8199196d454941c45d1b3a323f1433bd687", ADDR_P2SH },
};

static void test_valid_addresses(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		uint8_t script[ADDRESS_SCRIPT_MAX];
		size_t len = 0;
		enum address_type type;
		char err[128] = "";
		int rc = address_to_script(valid[i].addr, valid[i].net, script, &len, &type, err,
					   sizeof(err));

		if (rc)
			print_error("%s: %s\n", valid[i].addr, err);
		assert_int_equal(rc, 0);
		assert_bytes_hex(script, len, valid[i].script);
		assert_int_equal(type, valid[i].type);
	}
}

struct invalid_address {
	const char *addr;
	enum network net;
	const char *error;   /* expected message, NULL = any */
};

static const struct invalid_address invalid[] = {
	/* BIP350 invalid segwit addresses */
	{ "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", NET_TEST,
	  "unknown bech32 prefix in address" },
	{ "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", NET_MAIN,
	  "witness v1 address must use bech32m, not bech32" },
	{ "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf", NET_TEST,
	  "witness v2 address must use bech32m, not bech32" },
	{ "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", NET_MAIN,
	  "witness v16 address must use bech32m, not bech32" },
	{ "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", NET_MAIN,
	  "witness v0 address must use bech32, not bech32m" },
	{ "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47", NET_TEST,
	  "witness v0 address must use bech32, not bech32m" },
	{ "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", NET_MAIN,
	  "invalid bech32 character 'o'" },
	{ "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R", NET_MAIN,
	  "invalid witness version 17" },
	{ "bc1pw5dgrnzv", NET_MAIN, "witness program of 1 bytes, must be 2 to 40" },
	{ "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav", NET_MAIN,
	  "witness program of 41 bytes, must be 2 to 40" },
	{ "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", NET_MAIN,
	  "witness v0 program of 16 bytes, must be 20 or 32" },
	{ "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", NET_TEST,
	  "bech32 address mixes upper and lower case" },
	{ "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", NET_MAIN,
	  "bech32 data has excess padding" },
	{ "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j", NET_TEST,
	  "bech32 data has non-zero padding" },
	{ "bc1gmk9yu", NET_MAIN, "bech32 address has no witness version" },
	/* bad checksums, every type (last character changed) */
	{ "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", NET_MAIN, "bad checksum" },
	{ "bcrt1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qzf4jrz", NET_REGTEST, "bad checksum" },
	{ "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj9", NET_MAIN, "bad checksum" },
	{ "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMJ", NET_MAIN, "bad checksum" },
	{ "3CNHUhP3uyB9EUtRLsmvFUmvGdjGdkTxJx", NET_MAIN, "bad checksum" },
	{ "mrCDrCybB6J1vRfbwM5hemdJz73FwDBC8s", NET_REGTEST, "bad checksum" },
	{ "2N3vVYSK5XRgVSGWy21PnsRmBUywSQNdCsg", NET_TEST, "bad checksum" },
	/* wrong network, every type */
	{ "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH", NET_REGTEST,
	  "address is for mainnet, node is on regtest" },
	{ "3CNHUhP3uyB9EUtRLsmvFUmvGdjGdkTxJw", NET_TEST,
	  "address is for mainnet, node is on testnet" },
	{ "mrCDrCybB6J1vRfbwM5hemdJz73FwDBC8r", NET_MAIN,
	  "address is for testnet, signet or regtest, node is on mainnet" },
	{ "2N3vVYSK5XRgVSGWy21PnsRmBUywSQNdCsf", NET_MAIN,
	  "address is for testnet, signet or regtest, node is on mainnet" },
	{ "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", NET_REGTEST,
	  "address is for mainnet, node is on regtest" },
	{ "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", NET_SIGNET,
	  "address is for mainnet, node is on signet" },
	{ "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", NET_REGTEST,
	  "address is for testnet or signet, node is on regtest" },
	{ "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c", NET_MAIN,
	  "address is for testnet or signet, node is on mainnet" },
	{ "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", NET_MAIN,
	  "address is for regtest, node is on mainnet" },
	{ "bcrt1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqc8gma6", NET_SIGNET,
	  "address is for regtest, node is on signet" },
	/* encoding mixed up with the witness version, regtest */
	{ "bcrt1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqdmchcc", NET_REGTEST,
	  "witness v1 address must use bech32m, not bech32" },
	{ "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7k35mrzd", NET_REGTEST,
	  "witness v0 address must use bech32, not bech32m" },
	/* base58 oddities */
	{ "LVuDpNCSSj6pQ7t9Pv6d6sUkLKoqDEVUnJ", NET_MAIN, "unknown base58 address version 0x30" },
	{ "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAM0", NET_MAIN, "invalid base58 character '0'" },
	{ "", NET_MAIN, "empty address" },
	{ "1111", NET_MAIN, NULL },
	{ "11111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111",
	  NET_MAIN, NULL },
};

static void test_invalid_addresses(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		uint8_t script[ADDRESS_SCRIPT_MAX];
		size_t len = 0;
		char err[128] = "";
		int rc = address_to_script(invalid[i].addr, invalid[i].net, script, &len, NULL, err,
					   sizeof(err));

		if (rc != -1)
			print_error("%s: accepted\n", invalid[i].addr);
		assert_int_equal(rc, -1);
		assert_true(err[0] != '\0');
		if (invalid[i].error && strcmp(err, invalid[i].error))
			print_error("%s: got '%s'\n", invalid[i].addr, err);
		if (invalid[i].error)
			assert_string_equal(err, invalid[i].error);
	}
}

static void test_bech32m_strings(void **state)
{
	static const char *valid_m[] = {
		"A1LQFN3A", "a1lqfn3a",
		"an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
		"abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
		"11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
		"split1checkupstagehandshakeupstreamerranterredcaperredlc445v", "?1v759aa",
	};
	static const char *invalid_m[] = {
		" 1xj0phk", "\x7f" "1g6xzxy", "\x80" "1vctc34",
		"an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4",
		"qyrz8wqd2c9m", "1qyrz8wqd2c9m", "y1b0jsk6g", "lt1igcx5c0", "in1muywd", "mm1crxm3i",
		"au1s5cgom", "M1VUXWEZ", "16plkw9", "1p2gdwpf",
	};
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(valid_m) / sizeof(valid_m[0]); i++)
		assert_int_equal(bech32_verify(valid_m[i], err, sizeof(err)), BECH32M);
	for (size_t i = 0; i < sizeof(invalid_m) / sizeof(invalid_m[0]); i++)
		assert_int_equal(bech32_verify(invalid_m[i], err, sizeof(err)), BECH32_INVALID);
	/* BIP173's bech32 strings are bech32, not bech32m */
	assert_int_equal(bech32_verify("A12UEL5L", err, sizeof(err)), BECH32);
	assert_int_equal(bech32_verify("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", err, sizeof(err)),
			 BECH32);
}

static void test_segwit_decode_reports_program(void **state)
{
	uint8_t program[40];
	size_t len;
	int version;
	char err[128];

	(void)state;
	assert_int_equal(segwit_address_decode("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "bc", &version,
					       program, &len, err, sizeof(err)), 0);
	assert_int_equal(version, 2);
	assert_bytes_hex(program, len, "751e76e8199196d454941c45d1b3a323");
	assert_int_equal(segwit_address_decode("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "tb", &version,
					       program, &len, err, sizeof(err)), -1);
}

static void test_address_type_names(void **state)
{
	(void)state;
	assert_string_equal(address_type_name(ADDR_P2PKH), "p2pkh");
	assert_string_equal(address_type_name(ADDR_P2SH), "p2sh");
	assert_string_equal(address_type_name(ADDR_P2WPKH), "p2wpkh");
	assert_string_equal(address_type_name(ADDR_P2WSH), "p2wsh");
	assert_string_equal(address_type_name(ADDR_P2TR), "p2tr");
	assert_string_equal(address_type_name(ADDR_WITNESS_OTHER), "witness_unknown");
}

static void test_network_names(void **state)
{
	enum network net;

	(void)state;
	assert_int_equal(network_from_chain("main", &net), 0);
	assert_int_equal(net, NET_MAIN);
	assert_int_equal(network_from_chain("test", &net), 0);
	assert_int_equal(net, NET_TEST);
	assert_int_equal(network_from_chain("testnet4", &net), 0);
	assert_int_equal(net, NET_TEST);
	assert_int_equal(network_from_chain("signet", &net), 0);
	assert_int_equal(net, NET_SIGNET);
	assert_int_equal(network_from_chain("regtest", &net), 0);
	assert_int_equal(net, NET_REGTEST);
	assert_int_equal(network_from_chain("mainnet2", &net), -1);
	assert_int_equal(network_from_chain(NULL, &net), -1);
	assert_string_equal(network_params(NET_SIGNET)->hrp, "tb");
	assert_string_equal(network_params(NET_REGTEST)->hrp, "bcrt");
	assert_int_equal(network_params(NET_MAIN)->p2sh_version, 5);
	assert_string_equal(network_name(NET_REGTEST), "regtest");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_addresses),
		cmocka_unit_test(test_invalid_addresses),
		cmocka_unit_test(test_bech32m_strings),
		cmocka_unit_test(test_segwit_decode_reports_program),
		cmocka_unit_test(test_address_type_names),
		cmocka_unit_test(test_network_names),
	};

	return cmocka_run_group_tests_name("address", tests, NULL, NULL);
}
