/*
 * relay_auth.h - the relay link's challenge-response authentication.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Both ends know primary.auth_token; it never crosses the wire. Each side
 * contributes a fresh 32-byte random nonce per connection (the relay in
 * HELLO, the primary in CHALLENGE), and each proves knowledge of the token
 * with HMAC-SHA256 (RFC 2104) over a transcript binding both nonces and the
 * relay's claimed identity:
 *
 *   transcript = label || server_nonce || client_nonce
 *                || u8 len(region) || region || u8 len(instance) || instance
 *   relay proof   (AUTH)    = HMAC(token, "tbg-relay-v1 relay"   || transcript')
 *   primary proof (AUTH_OK) = HMAC(token, "tbg-relay-v1 primary" || transcript')
 *
 * The distinct labels stop a proof being reflected back to its sender; the
 * fresh server nonce makes a recorded AUTH useless on any other connection.
 * Proofs are compared in constant time.
 */
#ifndef CKPOOL_RELAY_AUTH_H
#define CKPOOL_RELAY_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay_frame.h"

/* Which side a proof comes from. */
enum relay_auth_role { RELAY_AUTH_RELAY, RELAY_AUTH_PRIMARY };

/* HMAC-SHA256 (RFC 2104). 0 on success, -1 when OpenSSL fails. */
int relay_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
		      uint8_t out[32]);

/* Fills out with cryptographically secure random bytes. 0 or -1. */
int relay_random_nonce(uint8_t out[RELAY_NONCE_LEN]);

/* The proof `role` sends for this handshake. region and instance are the
 * ones from HELLO (instance may be ""). 0 or -1. */
int relay_auth_proof(enum relay_auth_role role, const char *token,
		     const uint8_t server_nonce[RELAY_NONCE_LEN],
		     const uint8_t client_nonce[RELAY_NONCE_LEN], const char *region,
		     const char *instance, uint8_t mac[RELAY_MAC_LEN]);

/* Recomputes the proof and compares it with `got` in constant time. */
bool relay_auth_check(enum relay_auth_role role, const char *token,
		      const uint8_t server_nonce[RELAY_NONCE_LEN],
		      const uint8_t client_nonce[RELAY_NONCE_LEN], const char *region,
		      const char *instance, const uint8_t got[RELAY_MAC_LEN]);

#endif
