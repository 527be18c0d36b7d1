/*
 * relay_tls.c - owns the relay link's OpenSSL contexts: loading (and
 * reloading) the primary's certificate, the relay's CA and pin checks,
 * naming handshake failures, and the TLS counters.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "relay_tls.h"
#include "hex.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define COMPONENT "relay_tls"
#define RELOAD_CHECK_S 1.0

struct file_stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct relay_tls {
	SSL_CTX *ctx;
	bool server;
	/* server */
	char *cert_file, *key_file;
	struct file_stamp cert_seen, key_seen;   /* the files as last tried */
	double checked_at;
	/* client */
	bool has_ca;
	uint8_t pins[RELAY_TLS_MAX_PINS][32];
	size_t pin_count;
	char *server_name;
	bool name_is_ip;
};

static atomic_uint_fast64_t handshakes[2];
static atomic_uint_fast64_t failures[2][RELAY_TLS_FAILURE_COUNT];

static const char *const failure_names[RELAY_TLS_FAILURE_COUNT] = {
	"ok", "plaintext_peer", "not_tls", "peer_closed", "bad_certificate",
	"certificate_expired", "name_mismatch", "pin_mismatch", "peer_refused",
	"handshake_timeout", "protocol_error",
};

const char *relay_tls_failure_name(enum relay_tls_failure why)
{
	return (unsigned)why < RELAY_TLS_FAILURE_COUNT ? failure_names[why] : "unknown";
}

/* The oldest queued OpenSSL error as text, then the queue is cleared. */
static void openssl_reason(char *out, size_t len)
{
	unsigned long e = ERR_peek_error();

	if (e)
		ERR_error_string_n(e, out, len);
	else
		snprintf(out, len, "%s", strerror(errno ? errno : EIO));
	ERR_clear_error();
}

static SSL_CTX *new_ctx(bool server)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

	if (!ctx)
		return NULL;
	/* Both ends are this engine: TLS 1.3 only, no resumption (a link lives for
	 * hours; a fresh handshake per connect costs a round trip, nothing more). */
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* frames are length-prefixed: a missing close_notify cannot truncate one
	 * unnoticed, so a plain TCP close reads as end of stream */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (server)
		SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;
}

/* ---- server ---- */

static void stamp_file(const char *path, struct file_stamp *out)
{
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (stat(path, &st) == 0) {
		out->dev = st.st_dev;
		out->ino = st.st_ino;
		out->size = st.st_size;
		out->mtime = st.st_mtim;
	}
}

static bool same_stamp(const struct file_stamp *a, const struct file_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size
	       && a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static SSL_CTX *load_server_ctx(const char *cert_file, const char *key_file, char *err,
				size_t errlen)
{
	SSL_CTX *ctx = new_ctx(true);
	char why[256];

	if (!ctx) {
		openssl_reason(why, sizeof(why));
		snprintf(err, errlen, "relay.tls: cannot create a TLS context: %s", why);
		return NULL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		openssl_reason(why, sizeof(why));
		snprintf(err, errlen, "relay.tls.cert: cannot load %s: %s", cert_file, why);
	} else if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;

		openssl_reason(why, sizeof(why));
		if (mismatch)
			snprintf(err, errlen, "relay.tls.key: %s does not match the certificate %s",
				 key_file, cert_file);
		else
			snprintf(err, errlen, "relay.tls.key: cannot load %s: %s", key_file, why);
	} else if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "relay.tls.key: %s does not match the certificate %s",
			 key_file, cert_file);
	} else {
		return ctx;
	}
	SSL_CTX_free(ctx);
	return NULL;
}

struct relay_tls *relay_tls_server_new(const char *cert_file, const char *key_file, char *err,
				       size_t errlen)
{
	struct relay_tls *t;
	SSL_CTX *ctx;
	struct file_stamp cert_seen, key_seen;

	if (!cert_file || !*cert_file || !key_file || !*key_file) {
		snprintf(err, errlen, "relay.tls: a primary needs both cert and key");
		return NULL;
	}
	stamp_file(cert_file, &cert_seen);
	stamp_file(key_file, &key_seen);
	ctx = load_server_ctx(cert_file, key_file, err, errlen);
	if (!ctx)
		return NULL;
	t = alloc_or_abort(sizeof(*t));
	memset(t, 0, sizeof(*t));
	t->cert_file = strdup_or_abort(cert_file);
	t->key_file = strdup_or_abort(key_file);
	t->ctx = ctx;
	t->server = true;
	t->cert_seen = cert_seen;
	t->key_seen = key_seen;
	return t;
}

/* A renewed certificate: new connections get it, existing sessions keep a
 * reference to the context they were made from. */
static void reload_if_changed(struct relay_tls *t)
{
	struct file_stamp cert_now, key_now;
	double now = now_monotonic();
	char err[512], pin[RELAY_TLS_PIN_HEX + 1] = "";
	SSL_CTX *ctx;

	if (now - t->checked_at < RELOAD_CHECK_S)
		return;
	t->checked_at = now;
	stamp_file(t->cert_file, &cert_now);
	stamp_file(t->key_file, &key_now);
	if (same_stamp(&cert_now, &t->cert_seen) && same_stamp(&key_now, &t->key_seen))
		return;
	t->cert_seen = cert_now;
	t->key_seen = key_now;
	ctx = load_server_ctx(t->cert_file, t->key_file, err, sizeof(err));
	if (!ctx) {
		log_error(COMPONENT, "changed certificate not loaded, still serving the previous "
			  "one: %s", err);
		return;
	}
	SSL_CTX_free(t->ctx);
	t->ctx = ctx;
	relay_tls_cert_pin(t->cert_file, pin);
	log_fields(LOG_INFO, COMPONENT, "relay TLS certificate reloaded",
		   json_pack("{s:s, s:s}", "cert", t->cert_file, "pin_sha256", pin));
}

/* ---- client ---- */

int relay_tls_parse_pin(const char *hex, uint8_t out[32])
{
	if (!hex || strlen(hex) != RELAY_TLS_PIN_HEX)
		return -1;
	return hex_decode_exact(hex, out, 32);
}

static int spki_sha256(X509 *cert, uint8_t out[32])
{
	unsigned char *der = NULL;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);

	if (len <= 0)
		return -1;
	SHA256(der, (size_t)len, out);
	OPENSSL_free(der);
	return 0;
}

int relay_tls_cert_pin(const char *cert_file, char out[RELAY_TLS_PIN_HEX + 1])
{
	FILE *f = fopen(cert_file, "r");
	X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	uint8_t h[32];
	int rc = -1;

	if (cert && spki_sha256(cert, h) == 0) {
		hex_encode(h, sizeof(h), out);
		rc = 0;
	}
	X509_free(cert);
	if (f)
		fclose(f);
	ERR_clear_error();
	return rc;
}

/* Chain errors that only say "not signed by a CA we know": a pinned key
 * replaces that trust. Dates, names and signatures still count. */
static bool is_trust_error(int err)
{
	return err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
	       || err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
	       || err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
	       || err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
	       || err == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
	       || err == X509_V_ERR_CERT_UNTRUSTED;
}

static bool pin_matches(const struct relay_tls *t, const uint8_t h[32])
{
	for (size_t i = 0; i < t->pin_count; i++)
		if (!CRYPTO_memcmp(t->pins[i], h, 32))
			return true;
	return false;
}

/* OpenSSL's per-certificate verification callback: CA rules, then the pin
 * on the leaf. The reason goes to the session's detail buffer. */
static int verify_peer(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	const struct relay_tls *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	char *detail = SSL_get_app_data(ssl);
	int err = X509_STORE_CTX_get_error(xs), depth = X509_STORE_CTX_get_error_depth(xs);
	uint8_t h[32] = { 0 };
	char hex[RELAY_TLS_PIN_HEX + 1];

	if (!ok && (t->has_ca || !is_trust_error(err))) {
		snprintf(detail, RELAY_TLS_DETAIL_MAX, "%s (certificate depth %d)",
			 X509_verify_cert_error_string(err), depth);
		return 0;
	}
	/* Pins only: a trust error (self-signed, unknown issuer) is forgiven,
	 * and cleared, or SSL_get_verify_result() would keep reporting it and
	 * any later TLS failure would be classified as a bad certificate. */
	if (!ok)
		X509_STORE_CTX_set_error(xs, X509_V_OK);
	if (depth != 0 || !t->pin_count)
		return 1;
	if (spki_sha256(X509_STORE_CTX_get_current_cert(xs), h) == 0 && pin_matches(t, h))
		return 1;
	hex_encode(h, sizeof(h), hex);
	snprintf(detail, RELAY_TLS_DETAIL_MAX,
		 "the primary's public key sha256 %s is not in relay.tls.pin_sha256", hex);
	X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
	return 0;
}

static int read_pins(struct relay_tls *t, const struct relay_tls_client_settings *s, char *err,
		     size_t errlen)
{
	if (s->pin_count > RELAY_TLS_MAX_PINS) {
		snprintf(err, errlen, "relay.tls.pin_sha256 has more than %d entries",
			 RELAY_TLS_MAX_PINS);
		return -1;
	}
	for (size_t i = 0; i < s->pin_count; i++) {
		if (relay_tls_parse_pin(s->pins[i], t->pins[i])) {
			snprintf(err, errlen, "relay.tls.pin_sha256[%zu] must be 64 hex digits "
				 "(SHA-256 of the primary's SubjectPublicKeyInfo)", i);
			return -1;
		}
	}
	t->pin_count = s->pin_count;
	return 0;
}

static int load_ca(struct relay_tls *t, const char *ca, char *err, size_t errlen)
{
	char why[256];

	if (SSL_CTX_load_verify_locations(t->ctx, ca, NULL) != 1) {
		openssl_reason(why, sizeof(why));
		snprintf(err, errlen, "relay.tls.ca: cannot load %s: %s", ca, why);
		return -1;
	}
	t->has_ca = true;
	return 0;
}

struct relay_tls *relay_tls_client_new(const struct relay_tls_client_settings *s, char *err,
				       size_t errlen)
{
	struct relay_tls *t = alloc_or_abort(sizeof(*t));
	bool has_ca = s->ca && *s->ca;
	unsigned char ip[16];

	memset(t, 0, sizeof(*t));
	if (!has_ca && !s->pin_count) {
		snprintf(err, errlen, "relay.tls: a relay needs ca or pin_sha256 (or both)");
		goto fail;
	}
	if (read_pins(t, s, err, errlen))
		goto fail;
	t->ctx = new_ctx(false);
	if (!t->ctx) {
		openssl_reason(err, errlen);
		goto fail;
	}
	if (has_ca && load_ca(t, s->ca, err, errlen))
		goto fail;
	if (s->server_name && *s->server_name) {
		t->server_name = strdup_or_abort(s->server_name);
		t->name_is_ip = inet_pton(AF_INET, s->server_name, ip) == 1
				|| inet_pton(AF_INET6, s->server_name, ip) == 1;
	}
	SSL_CTX_set_app_data(t->ctx, t);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, verify_peer);
	return t;
fail:
	relay_tls_free(t);
	return NULL;
}

void relay_tls_free(struct relay_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t->cert_file);
	free(t->key_file);
	free(t->server_name);
	free(t);
}

bool relay_tls_is_server(const struct relay_tls *t)
{
	return t->server;
}

/* ---- sessions ---- */

static int name_the_server(const struct relay_tls *t, SSL *ssl)
{
	if (!t->server_name)
		return 0;
	if (!t->name_is_ip && SSL_set_tlsext_host_name(ssl, t->server_name) != 1)
		return -1;
	if (!t->has_ca)
		return 0;   /* a pin names the key; the certificate's names do not matter */
	if (t->name_is_ip)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), t->server_name) == 1 ? 0 : -1;
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return SSL_set1_host(ssl, t->server_name) == 1 ? 0 : -1;
}

struct ssl_st *relay_tls_session(struct relay_tls *t, int fd, char detail[RELAY_TLS_DETAIL_MAX])
{
	SSL *ssl;

	if (t->server)
		reload_if_changed(t);
	ssl = SSL_new(t->ctx);
	detail[0] = '\0';
	if (!ssl || SSL_set_fd(ssl, fd) != 1 || (!t->server && name_the_server(t, ssl))) {
		openssl_reason(detail, RELAY_TLS_DETAIL_MAX);
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_app_data(ssl, detail);
	if (t->server)
		SSL_set_accept_state(ssl);
	else
		SSL_set_connect_state(ssl);
	return ssl;
}

static enum relay_tls_failure classify_verify_result(long vr)
{
	switch (vr) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return RELAY_TLS_CERT_EXPIRED;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return RELAY_TLS_NAME_MISMATCH;
	case X509_V_ERR_APPLICATION_VERIFICATION:
		return RELAY_TLS_PIN_MISMATCH;
	default:
		return RELAY_TLS_BAD_CERT;
	}
}

static bool is_not_tls_reason(int reason)
{
	return reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG
	       || reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST
	       || reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_RECORD_LENGTH_MISMATCH
	       || reason == SSL_R_WRONG_SSL_VERSION;
}

enum relay_tls_failure relay_tls_classify(struct ssl_st *ssl, int ssl_error, int saved_errno,
					  char detail[RELAY_TLS_DETAIL_MAX])
{
	unsigned long e = ERR_peek_error();
	int reason = ERR_GET_REASON(e);
	long vr = SSL_get_verify_result(ssl);
	enum relay_tls_failure why;

	if (vr != X509_V_OK && !SSL_is_server(ssl)) {
		if (!detail[0])
			snprintf(detail, RELAY_TLS_DETAIL_MAX, "%s", X509_verify_cert_error_string(vr));
		ERR_clear_error();
		return classify_verify_result(vr);
	}
	if (ssl_error == SSL_ERROR_ZERO_RETURN || (ssl_error == SSL_ERROR_SYSCALL && !e)
	    || (e && reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
		snprintf(detail, RELAY_TLS_DETAIL_MAX, "the peer closed the connection during the "
			 "TLS handshake%s%s", saved_errno ? ": " : "",
			 saved_errno ? strerror(saved_errno) : "");
		ERR_clear_error();
		return RELAY_TLS_PEER_CLOSED;
	}
	if (e && ERR_GET_LIB(e) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET)
		why = RELAY_TLS_PEER_REFUSED;   /* the peer's alert, e.g. "bad certificate" */
	else if (e && ERR_GET_LIB(e) == ERR_LIB_SSL && is_not_tls_reason(reason))
		why = RELAY_TLS_NOT_TLS;
	else
		why = RELAY_TLS_PROTOCOL;
	openssl_reason(detail, RELAY_TLS_DETAIL_MAX);
	return why;
}

/* ---- counters ---- */

void relay_tls_count_handshake(enum relay_tls_side side)
{
	atomic_fetch_add(&handshakes[side != RELAY_TLS_SERVER], 1);
}

void relay_tls_count_failure(enum relay_tls_side side, enum relay_tls_failure why)
{
	if ((unsigned)why < RELAY_TLS_FAILURE_COUNT)
		atomic_fetch_add(&failures[side != RELAY_TLS_SERVER][why], 1);
}

uint64_t relay_tls_failures(enum relay_tls_side side, enum relay_tls_failure why)
{
	return (unsigned)why < RELAY_TLS_FAILURE_COUNT
		? atomic_load(&failures[side != RELAY_TLS_SERVER][why]) : 0;
}

uint64_t relay_tls_handshakes(enum relay_tls_side side)
{
	return atomic_load(&handshakes[side != RELAY_TLS_SERVER]);
}

void relay_tls_write_metrics(struct buf *out, void *ctx)
{
	enum relay_tls_side side = (enum relay_tls_side)(intptr_t)ctx;
	char labels[64];

	metrics_single(out, "ckpool_relay_tls_handshakes_total", "counter",
		       "Relay link TLS handshakes completed.", (double)relay_tls_handshakes(side));
	metrics_family(out, "ckpool_relay_tls_failures_total", "counter",
		       "Relay link TLS connections that failed, by reason.");
	for (int i = RELAY_TLS_OK + 1; i < RELAY_TLS_FAILURE_COUNT; i++) {
		snprintf(labels, sizeof(labels), "reason=\"%s\"", failure_names[i]);
		metrics_sample(out, "ckpool_relay_tls_failures_total", labels,
			       (double)relay_tls_failures(side, i));
	}
}
