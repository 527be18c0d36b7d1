/*
 * test_relay_auth.c - the relay handshake's cryptography: HMAC-SHA256
 * against RFC 4231 vectors, proofs that check only with the right token,
 * nonces, identity and role, and fresh random nonces.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "relay_auth.h"

static const char TOKEN[] = "correct horse battery staple";

static void test_hmac_rfc4231_case_1(void **state)
{
	uint8_t key[20], mac[32];

	(void)state;
	memset(key, 0x0b, sizeof(key));
	assert_int_equal(relay_hmac_sha256(key, sizeof(key), "Hi There", 8, mac), 0);
	assert_bytes_hex(mac, 32,
			 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

static void test_hmac_rfc4231_case_2(void **state)
{
	const char *msg = "what do ya want for nothing?";
	uint8_t mac[32];

	(void)state;
	assert_int_equal(relay_hmac_sha256("Jefe", 4, msg, strlen(msg), mac), 0);
	assert_bytes_hex(mac, 32,
			 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_hmac_rfc4231_case_6_long_key(void **state)
{
	const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
	uint8_t key[131], mac[32];

	(void)state;
	memset(key, 0xaa, sizeof(key));
	assert_int_equal(relay_hmac_sha256(key, sizeof(key), msg, strlen(msg), mac), 0);
	assert_bytes_hex(mac, 32,
			 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

struct handshake {
	uint8_t server_nonce[32], client_nonce[32];
};

static void fresh_handshake(struct handshake *h)
{
	assert_int_equal(relay_random_nonce(h->server_nonce), 0);
	assert_int_equal(relay_random_nonce(h->client_nonce), 0);
}

static void test_good_proof_checks(void **state)
{
	struct handshake h;
	uint8_t mac[32];

	(void)state;
	fresh_handshake(&h);
	assert_int_equal(relay_auth_proof(RELAY_AUTH_RELAY, TOKEN, h.server_nonce, h.client_nonce,
					  "asia", "ckpool-relay-asia", mac), 0);
	assert_true(relay_auth_check(RELAY_AUTH_RELAY, TOKEN, h.server_nonce, h.client_nonce,
				     "asia", "ckpool-relay-asia", mac));
}

static void test_wrong_token_fails(void **state)
{
	struct handshake h;
	uint8_t mac[32];

	(void)state;
	fresh_handshake(&h);
	relay_auth_proof(RELAY_AUTH_RELAY, "not the token", h.server_nonce, h.client_nonce, "asia",
			 "x", mac);
	assert_false(relay_auth_check(RELAY_AUTH_RELAY, TOKEN, h.server_nonce, h.client_nonce,
				      "asia", "x", mac));
}

static void test_replayed_proof_fails_on_a_new_challenge(void **state)
{
	struct handshake old, next;
	uint8_t mac[32];

	(void)state;
	fresh_handshake(&old);
	relay_auth_proof(RELAY_AUTH_RELAY, TOKEN, old.server_nonce, old.client_nonce, "us-east", "",
			 mac);
	/* The attacker replays HELLO (same client nonce) and the old AUTH, but
	 * the primary picked a new server nonce for this connection. */
	fresh_handshake(&next);
	memcpy(next.client_nonce, old.client_nonce, 32);
	assert_false(relay_auth_check(RELAY_AUTH_RELAY, TOKEN, next.server_nonce, next.client_nonce,
				      "us-east", "", mac));
}

static void test_proof_binds_identity_and_role(void **state)
{
	struct handshake h;
	uint8_t mac[32], flipped[32];

	(void)state;
	fresh_handshake(&h);
	relay_auth_proof(RELAY_AUTH_RELAY, TOKEN, h.server_nonce, h.client_nonce, "asia", "a", mac);
	assert_false(relay_auth_check(RELAY_AUTH_RELAY, TOKEN, h.server_nonce, h.client_nonce,
				      "us-east", "a", mac));
	assert_false(relay_auth_check(RELAY_AUTH_RELAY, TOKEN, h.server_nonce, h.client_nonce,
				      "asia", "b", mac));
	/* a relay's proof is no primary proof (no reflection) */
	assert_false(relay_auth_check(RELAY_AUTH_PRIMARY, TOKEN, h.server_nonce, h.client_nonce,
				      "asia", "a", mac));
	/* swapping the nonces changes the transcript */
	assert_false(relay_auth_check(RELAY_AUTH_RELAY, TOKEN, h.client_nonce, h.server_nonce,
				      "asia", "a", mac));
	memcpy(flipped, mac, 32);
	flipped[31] ^= 1;
	assert_false(relay_auth_check(RELAY_AUTH_RELAY, TOKEN, h.server_nonce, h.client_nonce,
				      "asia", "a", flipped));
}

static void test_region_boundaries_are_unambiguous(void **state)
{
	struct handshake h;
	uint8_t mac[32];

	(void)state;
	fresh_handshake(&h);
	relay_auth_proof(RELAY_AUTH_RELAY, TOKEN, h.server_nonce, h.client_nonce, "ab", "c", mac);
	assert_false(relay_auth_check(RELAY_AUTH_RELAY, TOKEN, h.server_nonce, h.client_nonce, "a",
				      "bc", mac));
}

static void test_nonces_are_fresh(void **state)
{
	uint8_t a[32], b[32];

	(void)state;
	assert_int_equal(relay_random_nonce(a), 0);
	assert_int_equal(relay_random_nonce(b), 0);
	assert_memory_not_equal(a, b, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_rfc4231_case_1),
		cmocka_unit_test(test_hmac_rfc4231_case_2),
		cmocka_unit_test(test_hmac_rfc4231_case_6_long_key),
		cmocka_unit_test(test_good_proof_checks),
		cmocka_unit_test(test_wrong_token_fails),
		cmocka_unit_test(test_replayed_proof_fails_on_a_new_challenge),
		cmocka_unit_test(test_proof_binds_identity_and_role),
		cmocka_unit_test(test_region_boundaries_are_unambiguous),
		cmocka_unit_test(test_nonces_are_fresh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
