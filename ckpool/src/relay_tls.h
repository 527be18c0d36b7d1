/*
 * relay_tls.h - TLS for the relay link (OpenSSL libssl): the primary's
 * certificate, the relay's trust (a private CA and/or SHA-256 pins of the
 * primary's public key), the classification of handshake failures and their
 * counters.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * TLS 1.3 only, both ends are this engine. The relay protocol's HMAC
 * handshake (relay_auth.h) still runs inside the tunnel: TLS hides and
 * protects the frames, the token proves the relay and the primary to each
 * other. No client certificates.
 *
 * Relay trust (at least one of):
 *   ca          PEM file of the CA(s) that sign the primary's certificate; the
 *               chain, the validity dates and the name (server_name, default
 *               primary.host; an IP address is checked as an IP SAN) must verify.
 *   pins        hex SHA-256 of the primary certificate's SubjectPublicKeyInfo
 *               (DER); the key must match one of them. Without ca a
 *               self-signed certificate is fine, but its dates still count.
 *               Several pins let a new key be rolled out before it is used.
 * Both set: both must hold.
 *
 * The primary re-reads its cert and key files when they change (checked
 * at most once a second, when a relay connects), so a renewed certificate
 * is served to new connections without a restart; established links keep
 * theirs. A file that does not load is logged and the previous pair stays.
 *
 * Threads: a server context is used by the relay server's I/O thread only,
 * a client context by the link thread only; the counters are atomic.
 * The process must ignore SIGPIPE (main.c does): OpenSSL writes with write().
 */
#ifndef CKPOOL_RELAY_TLS_H
#define CKPOOL_RELAY_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

struct ssl_st;
struct relay_tls;

#define RELAY_TLS_MAX_PINS 4
#define RELAY_TLS_PIN_HEX 64
#define RELAY_TLS_DETAIL_MAX 192       /* a failure's detail text, NUL included */

/* Why a TLS connection failed; names in relay_tls_failure_name(). */
enum relay_tls_failure {
	RELAY_TLS_OK,
	RELAY_TLS_PLAINTEXT_PEER,    /* primary: the peer sent a plaintext relay frame */
	RELAY_TLS_NOT_TLS,           /* the peer's bytes are not TLS */
	RELAY_TLS_PEER_CLOSED,       /* the peer closed during the handshake */
	RELAY_TLS_BAD_CERT,          /* relay: the chain did not verify (unknown CA, self-signed) */
	RELAY_TLS_CERT_EXPIRED,      /* relay: expired or not yet valid */
	RELAY_TLS_NAME_MISMATCH,     /* relay: certificate not for this host name / IP */
	RELAY_TLS_PIN_MISMATCH,      /* relay: public key not in the pin list */
	RELAY_TLS_PEER_REFUSED,      /* the peer sent an alert (it refused us) */
	RELAY_TLS_HANDSHAKE_TIMEOUT, /* counted by the link owners */
	RELAY_TLS_PROTOCOL,          /* any other TLS error */
	RELAY_TLS_FAILURE_COUNT
};

enum relay_tls_side { RELAY_TLS_SERVER, RELAY_TLS_CLIENT };

struct relay_tls_client_settings {
	const char *ca;                /* PEM file path or NULL */
	const char *const *pins;       /* pin_count hex strings */
	size_t pin_count;
	const char *server_name;       /* name or IP to verify with ca */
};

/* A primary's context from PEM files. NULL with err naming the file and
 * OpenSSL's reason ("relay.tls.cert: cannot load /x.pem: no such file"). */
struct relay_tls *relay_tls_server_new(const char *cert_file, const char *key_file, char *err,
				       size_t errlen);
/* A relay's context. NULL with err on a bad CA file or a malformed pin. */
struct relay_tls *relay_tls_client_new(const struct relay_tls_client_settings *s, char *err,
				       size_t errlen);
void relay_tls_free(struct relay_tls *t);
bool relay_tls_is_server(const struct relay_tls *t);

/* A new session on connected socket fd (accept or connect state). detail
 * (owned by the caller, outliving the session) receives what certificate
 * verification saw when it fails. NULL on OpenSSL error. A server context
 * first reloads its files if they changed. */
struct ssl_st *relay_tls_session(struct relay_tls *t, int fd,
				 char detail[RELAY_TLS_DETAIL_MAX]);

/* After a failed handshake step: why, with detail filled in (unless
 * verification already wrote it). ssl_error is SSL_get_error()'s answer,
 * saved_errno errno right after the call. Clears this thread's OpenSSL
 * error queue. */
enum relay_tls_failure relay_tls_classify(struct ssl_st *ssl, int ssl_error, int saved_errno,
					  char detail[RELAY_TLS_DETAIL_MAX]);

/* "abcd..": 64 hex digits (either case) into 32 bytes; -1 otherwise. */
int relay_tls_parse_pin(const char *hex, uint8_t out[32]);
/* SHA-256 of a PEM certificate file's SubjectPublicKeyInfo, as 64 hex
 * digits (for logs and tests); -1 when the file does not load. */
int relay_tls_cert_pin(const char *cert_file, char out[RELAY_TLS_PIN_HEX + 1]);

/* Counters: completed handshakes and failures by side and reason. */
void relay_tls_count_handshake(enum relay_tls_side side);
void relay_tls_count_failure(enum relay_tls_side side, enum relay_tls_failure why);
uint64_t relay_tls_failures(enum relay_tls_side side, enum relay_tls_failure why);
uint64_t relay_tls_handshakes(enum relay_tls_side side);
/* "plaintext_peer", "not_tls", "peer_closed", "bad_certificate",
 * "certificate_expired", "name_mismatch", "pin_mismatch", "peer_refused",
 * "handshake_timeout", "protocol_error". */
const char *relay_tls_failure_name(enum relay_tls_failure why);

/* Prometheus (a metrics_section_fn; ctx = the side as (void *)(intptr_t)):
 * ckpool_relay_tls_handshakes_total and
 * ckpool_relay_tls_failures_total{reason}. */
void relay_tls_write_metrics(struct buf *out, void *ctx);

#endif
