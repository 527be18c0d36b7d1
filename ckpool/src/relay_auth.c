/*
 * relay_auth.c - owns the relay handshake's cryptography: nonces, the
 * HMAC-SHA256 proofs of the shared auth token and their constant-time check.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "relay_auth.h"
#include "bytes.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>

static const char label_relay[] = "tbg-relay-v1 relay";
static const char label_primary[] = "tbg-relay-v1 primary";

int relay_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
		      uint8_t out[32])
{
	unsigned int outlen = 0;

	if (keylen > (size_t)INT32_MAX)
		return -1;
	if (!HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, out, &outlen) || outlen != 32)
		return -1;
	return 0;
}

int relay_random_nonce(uint8_t out[RELAY_NONCE_LEN])
{
	return RAND_bytes(out, RELAY_NONCE_LEN) == 1 ? 0 : -1;
}

static void append_short_string(struct buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n > 255)
		n = 255;
	buf_append_u8(b, (uint8_t)n);
	buf_append(b, s, n);
}

int relay_auth_proof(enum relay_auth_role role, const char *token,
		     const uint8_t server_nonce[RELAY_NONCE_LEN],
		     const uint8_t client_nonce[RELAY_NONCE_LEN], const char *region,
		     const char *instance, uint8_t mac[RELAY_MAC_LEN])
{
	const char *label = role == RELAY_AUTH_RELAY ? label_relay : label_primary;
	struct buf msg = BUF_INIT;
	int rc;

	buf_append(&msg, label, strlen(label));
	buf_append(&msg, server_nonce, RELAY_NONCE_LEN);
	buf_append(&msg, client_nonce, RELAY_NONCE_LEN);
	append_short_string(&msg, region);
	append_short_string(&msg, instance);
	rc = relay_hmac_sha256(token, strlen(token), msg.data, msg.len, mac);
	buf_free(&msg);
	return rc;
}

bool relay_auth_check(enum relay_auth_role role, const char *token,
		      const uint8_t server_nonce[RELAY_NONCE_LEN],
		      const uint8_t client_nonce[RELAY_NONCE_LEN], const char *region,
		      const char *instance, const uint8_t got[RELAY_MAC_LEN])
{
	uint8_t want[RELAY_MAC_LEN];
	bool ok;

	if (relay_auth_proof(role, token, server_nonce, client_nonce, region, instance, want))
		return false;
	ok = CRYPTO_memcmp(want, got, RELAY_MAC_LEN) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}
