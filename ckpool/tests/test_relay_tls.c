/*
 * test_relay_tls.c - the relay link's TLS (relay_tls.c, the TLS paths of
 * relay_link.c): settings errors, pins, and two links on a socketpair with
 * certificates made here: frames of several MiB both ways (partial writes,
 * reads past the budget), and every refusal with its specific reason: a
 * wrong pin, an expired pinned certificate, a CA that did not sign the
 * certificate, a plaintext peer on a TLS port and a TLS peer on a plaintext
 * one; a renewed certificate served without a restart.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "log.h"
#include "relay_link.h"
#include "relay_tls.h"
#include "util.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define ALL_TYPES 0xffeu       /* every frame type 1..11 */
#define PUMP_S 10.0
#define BIG_PAYLOAD (3u << 20)  /* three times the read budget */

static char dir[64];

struct pem_pair {
	char cert[128], key[128];
};

/* A certificate for key, valid from now + from_s to now + to_s, signed by
 * issuer_key (self-signed when issuer is NULL). */
static const char *leaf_names = "IP:127.0.0.1";   /* subjectAltName of the next leaf */

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
		       long from_s, long to_s, bool ca)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509_EXTENSION *ext;
	X509V3_CTX v3;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(now_monotonic() * 1000) & 0x7fffffff);
	X509_gmtime_adj(X509_getm_notBefore(x), from_s);
	X509_gmtime_adj(X509_getm_notAfter(x), to_s);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, ca ? "critical,CA:TRUE"
									: "CA:FALSE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (!ca) {
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, leaf_names);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
	X509_NAME_free(name);
	return x;
}

static void write_pair(const char *name, X509 *cert, EVP_PKEY *key, struct pem_pair *out)
{
	FILE *f;

	snprintf(out->cert, sizeof(out->cert), "%s/%s.pem", dir, name);
	snprintf(out->key, sizeof(out->key), "%s/%s.key", dir, name);
	f = fopen(out->cert, "w");
	assert_non_null(f);
	PEM_write_X509(f, cert);
	fclose(f);
	f = fopen(out->key, "w");
	assert_non_null(f);
	PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	fclose(f);
}

/* Writes a self-signed (or issuer-signed) leaf and returns its pair. */
static struct pem_pair leaf(const char *name, X509 *issuer, EVP_PKEY *issuer_key, long from_s,
			    long to_s)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = make_cert(key, name, issuer, issuer_key, from_s, to_s, false);
	struct pem_pair p;

	write_pair(name, x, key, &p);
	X509_free(x);
	EVP_PKEY_free(key);
	return p;
}

static struct relay_tls *client_with_pin(const char *pin)
{
	const char *pins[] = { pin };
	char err[256];
	struct relay_tls *t = relay_tls_client_new(&(struct relay_tls_client_settings){
		.pins = pins, .pin_count = 1 }, err, sizeof(err));

	assert_non_null(t);
	return t;
}

static struct relay_tls *server_for(const struct pem_pair *p)
{
	char err[256];
	struct relay_tls *t = relay_tls_server_new(p->cert, p->key, err, sizeof(err));

	if (!t)
		fail_msg("%s", err);
	return t;
}

/* ---- two links on a socketpair ---- */

struct end {
	struct relay_link link;
	size_t frames, bytes;
	enum relay_link_status st;
};

static int count_frame(struct relay_frame *f, void *ctx)
{
	struct end *e = ctx;

	e->frames++;
	e->bytes += f->len;
	return 0;
}

static void open_pair(struct end *server, struct end *client, struct relay_tls *st,
		      struct relay_tls *ct)
{
	int fds[2];

	memset(server, 0, sizeof(*server));
	memset(client, 0, sizeof(*client));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
	relay_link_init(&server->link, fds[0], ALL_TYPES, now_monotonic());
	relay_link_init(&client->link, fds[1], ALL_TYPES, now_monotonic());
	if (st)
		assert_int_equal(relay_link_start_tls(&server->link, st), 0);
	if (ct)
		assert_int_equal(relay_link_start_tls(&client->link, ct), 0);
}

static void step(struct end *e)
{
	double now = now_monotonic();

	if (e->st != RELAY_LINK_OK)
		return;
	e->st = relay_link_receive(&e->link, count_frame, e, now);
	if (e->st == RELAY_LINK_OK)
		e->st = relay_link_flush(&e->link, now, NULL);
}

/* Drives both ends until each received `want` frames or one failed. */
static void pump(struct end *a, struct end *b, size_t want)
{
	double until = now_monotonic() + PUMP_S;

	while (now_monotonic() < until && a->st == RELAY_LINK_OK && b->st == RELAY_LINK_OK
	       && (a->frames < want || b->frames < want)) {
		step(a);
		step(b);
	}
}

/* Drives both until `e` stopped with a status other than OK. */
static void pump_until_failed(struct end *a, struct end *b, struct end *e)
{
	double until = now_monotonic() + PUMP_S;

	while (now_monotonic() < until && e->st == RELAY_LINK_OK) {
		step(a);
		step(b);
	}
}

static void close_pair(struct end *a, struct end *b)
{
	relay_link_close(&a->link);
	relay_link_close(&b->link);
}

static void queue(struct end *e, uint8_t type, size_t payload)
{
	struct relay_msg *m = relay_msg_new(type, NULL, payload, NULL, 0);

	memset(m->bytes + RELAY_HEADER_LEN, 0x5a, payload);
	assert_int_equal(relay_link_send(&e->link, m), 0);
	relay_msg_unref(m);
}

/* One connection attempt from a client with ct; true when the link came up. */
static bool link_comes_up(struct relay_tls *st, struct relay_tls *ct)
{
	struct end server, client;
	bool up;

	open_pair(&server, &client, st, ct);
	queue(&client, RELAY_HELLO, 40);
	for (double until = now_monotonic() + PUMP_S;
	     now_monotonic() < until && server.frames < 1 && server.st == RELAY_LINK_OK
	     && client.st == RELAY_LINK_OK;) {
		step(&server);
		step(&client);
	}
	up = server.frames == 1;
	close_pair(&server, &client);
	return up;
}

/* ---- tests ---- */

static void test_pins_parse_as_64_hex_digits(void **state)
{
	uint8_t out[32];
	char hex[RELAY_TLS_PIN_HEX + 2];

	(void)state;
	memset(hex, 'a', RELAY_TLS_PIN_HEX);
	hex[RELAY_TLS_PIN_HEX] = '\0';
	assert_int_equal(relay_tls_parse_pin(hex, out), 0);
	assert_int_equal(out[31], 0xaa);
	hex[3] = 'G';
	assert_int_equal(relay_tls_parse_pin(hex, out), -1);
	hex[3] = 'A';
	hex[RELAY_TLS_PIN_HEX - 1] = '\0';
	assert_int_equal(relay_tls_parse_pin(hex, out), -1);
	assert_int_equal(relay_tls_parse_pin(NULL, out), -1);
}

static void test_settings_errors_name_the_setting(void **state)
{
	const char *bad_pin[] = { "1234" };
	struct pem_pair a = leaf("settings-a", NULL, NULL, -60, 3600);
	struct pem_pair b = leaf("settings-b", NULL, NULL, -60, 3600);
	char err[512];

	(void)state;
	assert_null(relay_tls_client_new(&(struct relay_tls_client_settings){ 0 }, err,
					 sizeof(err)));
	assert_non_null(strstr(err, "a relay needs ca or pin_sha256"));
	assert_null(relay_tls_client_new(&(struct relay_tls_client_settings){
		.pins = bad_pin, .pin_count = 1 }, err, sizeof(err)));
	assert_non_null(strstr(err, "relay.tls.pin_sha256[0] must be 64 hex digits"));
	assert_null(relay_tls_client_new(&(struct relay_tls_client_settings){
		.ca = "/nonexistent/ca.pem" }, err, sizeof(err)));
	assert_non_null(strstr(err, "relay.tls.ca: cannot load /nonexistent/ca.pem"));
	assert_null(relay_tls_server_new("/nonexistent/cert.pem", a.key, err, sizeof(err)));
	assert_non_null(strstr(err, "relay.tls.cert: cannot load /nonexistent/cert.pem"));
	assert_null(relay_tls_server_new(a.cert, b.key, err, sizeof(err)));
	assert_non_null(strstr(err, "does not match the certificate"));
}

static void test_tls_link_carries_big_frames_both_ways(void **state)
{
	struct pem_pair p = leaf("primary", NULL, NULL, -60, 3600);
	char pin[RELAY_TLS_PIN_HEX + 1];
	struct relay_tls *st = server_for(&p), *ct;
	struct end server, client;
	uint64_t hs_server = relay_tls_handshakes(RELAY_TLS_SERVER);
	uint64_t hs_client = relay_tls_handshakes(RELAY_TLS_CLIENT);

	(void)state;
	assert_int_equal(relay_tls_cert_pin(p.cert, pin), 0);
	ct = client_with_pin(pin);
	open_pair(&server, &client, st, ct);
	/* queued before the handshake: they go out after it */
	queue(&client, RELAY_HELLO, 40);
	queue(&client, RELAY_BLOCK, BIG_PAYLOAD);
	queue(&server, RELAY_TEMPLATE, BIG_PAYLOAD);
	queue(&server, RELAY_PING, 8);
	pump(&server, &client, 2);
	assert_int_equal(server.st, RELAY_LINK_OK);
	assert_int_equal(client.st, RELAY_LINK_OK);
	assert_int_equal(server.frames, 2);
	assert_int_equal(server.bytes, 40 + BIG_PAYLOAD);
	assert_int_equal(client.frames, 2);
	assert_int_equal(client.bytes, 8 + BIG_PAYLOAD);
	assert_false(relay_link_tls_handshaking(&server.link));
	assert_int_equal(relay_tls_handshakes(RELAY_TLS_SERVER), hs_server + 1);
	assert_int_equal(relay_tls_handshakes(RELAY_TLS_CLIENT), hs_client + 1);
	/* the peer going away reads as end of stream */
	relay_link_close(&client.link);
	pump_until_failed(&server, &server, &server);
	assert_int_equal(server.st, RELAY_LINK_EOF);
	relay_link_close(&server.link);
	relay_tls_free(st);
	relay_tls_free(ct);
}

/* The client refuses with `want`; the server hears the client's alert. */
static void expect_client_refusal(struct relay_tls *st, struct relay_tls *ct,
				  enum relay_tls_failure want, const char *detail_part)
{
	struct end server, client;
	uint64_t before = relay_tls_failures(RELAY_TLS_CLIENT, want);

	open_pair(&server, &client, st, ct);
	queue(&client, RELAY_HELLO, 40);
	pump_until_failed(&server, &client, &client);
	assert_int_equal(client.st, RELAY_LINK_TLS_ERROR);
	assert_string_equal(relay_tls_failure_name(client.link.tls_failure),
			    relay_tls_failure_name(want));
	if (!strstr(client.link.tls_detail, detail_part))
		fail_msg("detail '%s' lacks '%s'", client.link.tls_detail, detail_part);
	assert_int_equal(relay_tls_failures(RELAY_TLS_CLIENT, want), before + 1);
	assert_int_equal(server.frames, 0);
	relay_link_close(&client.link);
	pump_until_failed(&server, &server, &server);
	assert_int_equal(server.st, RELAY_LINK_TLS_ERROR);
	assert_int_equal(server.link.tls_failure, RELAY_TLS_PEER_REFUSED);
	relay_link_close(&server.link);
}

static void test_a_wrong_pin_is_refused(void **state)
{
	struct pem_pair p = leaf("pinned", NULL, NULL, -60, 3600);
	struct pem_pair other = leaf("other-key", NULL, NULL, -60, 3600);
	char pin[RELAY_TLS_PIN_HEX + 1], seen[RELAY_TLS_PIN_HEX + 1];
	struct relay_tls *st = server_for(&p), *ct;

	(void)state;
	assert_int_equal(relay_tls_cert_pin(other.cert, pin), 0);
	assert_int_equal(relay_tls_cert_pin(p.cert, seen), 0);
	ct = client_with_pin(pin);
	expect_client_refusal(st, ct, RELAY_TLS_PIN_MISMATCH, seen);
	relay_tls_free(st);
	relay_tls_free(ct);
}

static void test_an_expired_pinned_certificate_is_refused(void **state)
{
	struct pem_pair p = leaf("expired", NULL, NULL, -7200, -3600);
	char pin[RELAY_TLS_PIN_HEX + 1];
	struct relay_tls *st = server_for(&p), *ct;

	(void)state;
	assert_int_equal(relay_tls_cert_pin(p.cert, pin), 0);
	ct = client_with_pin(pin);
	expect_client_refusal(st, ct, RELAY_TLS_CERT_EXPIRED, "expired");
	relay_tls_free(st);
	relay_tls_free(ct);
}

static void test_a_certificate_from_another_ca_is_refused(void **state)
{
	EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *other_key = EVP_EC_gen("P-256");
	X509 *ca = make_cert(ca_key, "ca", NULL, NULL, -60, 3600, true);
	X509 *other = make_cert(other_key, "other-ca", NULL, NULL, -60, 3600, true);
	struct pem_pair ca_pem, other_pem, signed_by_ca, signed_by_other;
	struct relay_tls *trust_ca, *st_good, *st_other;
	char err[256];

	(void)state;
	write_pair("ca", ca, ca_key, &ca_pem);
	write_pair("other-ca", other, other_key, &other_pem);
	signed_by_ca = leaf("by-ca", ca, ca_key, -60, 3600);
	signed_by_other = leaf("by-other", other, other_key, -60, 3600);
	trust_ca = relay_tls_client_new(&(struct relay_tls_client_settings){
		.ca = ca_pem.cert, .server_name = "127.0.0.1" }, err, sizeof(err));
	assert_non_null(trust_ca);
	st_good = server_for(&signed_by_ca);
	st_other = server_for(&signed_by_other);
	expect_client_refusal(st_other, trust_ca, RELAY_TLS_BAD_CERT, "issuer");
	{
		/* the same client accepts the CA's own certificate */
		struct end server, client;

		open_pair(&server, &client, st_good, trust_ca);
		queue(&client, RELAY_HELLO, 40);
		queue(&server, RELAY_PING, 8);
		pump(&server, &client, 1);
		assert_int_equal(server.frames, 1);
		assert_int_equal(client.frames, 1);
		close_pair(&server, &client);
	}
	relay_tls_free(trust_ca);
	relay_tls_free(st_good);
	relay_tls_free(st_other);
	X509_free(ca);
	X509_free(other);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_key);
}

/* With a CA the certificate must carry the name the relay dials. */
static void test_the_ca_certificate_must_name_the_primary(void **state)
{
	EVP_PKEY *ca_key = EVP_EC_gen("P-256");
	X509 *ca = make_cert(ca_key, "names-ca", NULL, NULL, -60, 3600, true);
	struct pem_pair ca_pem, named;
	struct relay_tls *st, *right, *wrong;
	char err[256];

	(void)state;
	write_pair("names-ca", ca, ca_key, &ca_pem);
	leaf_names = "DNS:eu-gateway,DNS:ckpool-primary";
	named = leaf("named", ca, ca_key, -60, 3600);
	leaf_names = "IP:127.0.0.1";
	st = server_for(&named);
	right = relay_tls_client_new(&(struct relay_tls_client_settings){
		.ca = ca_pem.cert, .server_name = "eu-gateway" }, err, sizeof(err));
	wrong = relay_tls_client_new(&(struct relay_tls_client_settings){
		.ca = ca_pem.cert, .server_name = "eu-gateway.attacker" }, err, sizeof(err));
	assert_non_null(right);
	assert_non_null(wrong);
	assert_true(link_comes_up(st, right));
	expect_client_refusal(st, wrong, RELAY_TLS_NAME_MISMATCH, "mismatch");
	relay_tls_free(st);
	relay_tls_free(right);
	relay_tls_free(wrong);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
}

static void test_a_plaintext_peer_on_a_tls_port_is_named(void **state)
{
	struct pem_pair p = leaf("tls-port", NULL, NULL, -60, 3600);
	struct relay_tls *st = server_for(&p);
	struct end server, client;
	uint64_t before = relay_tls_failures(RELAY_TLS_SERVER, RELAY_TLS_PLAINTEXT_PEER);

	(void)state;
	open_pair(&server, &client, st, NULL);
	queue(&client, RELAY_HELLO, 40);
	pump_until_failed(&server, &client, &server);
	assert_int_equal(server.st, RELAY_LINK_TLS_ERROR);
	assert_int_equal(server.link.tls_failure, RELAY_TLS_PLAINTEXT_PEER);
	assert_non_null(strstr(server.link.tls_detail, "plaintext relay frame"));
	assert_int_equal(relay_tls_failures(RELAY_TLS_SERVER, RELAY_TLS_PLAINTEXT_PEER),
			 before + 1);
	close_pair(&server, &client);
	relay_tls_free(st);
}

static void test_a_tls_peer_on_a_plaintext_port_is_refused(void **state)
{
	struct pem_pair p = leaf("plain-port", NULL, NULL, -60, 3600);
	char pin[RELAY_TLS_PIN_HEX + 1];
	struct relay_tls *ct;
	struct end server, client;

	(void)state;
	assert_int_equal(relay_tls_cert_pin(p.cert, pin), 0);
	ct = client_with_pin(pin);
	open_pair(&server, &client, NULL, ct);
	queue(&client, RELAY_HELLO, 40);
	pump_until_failed(&server, &client, &server);
	/* the ClientHello is not a relay frame: the plaintext decoder refuses it */
	assert_int_equal(server.st, RELAY_LINK_REJECTED);
	assert_int_equal(server.link.reject, RELAY_REJECT_BAD_MAGIC);
	relay_link_close(&server.link);
	pump_until_failed(&client, &client, &client);
	assert_int_equal(client.st, RELAY_LINK_TLS_ERROR);
	assert_int_equal(client.link.tls_failure, RELAY_TLS_PEER_CLOSED);
	relay_link_close(&client.link);
	relay_tls_free(ct);
}

static void test_a_renewed_certificate_is_served_without_restart(void **state)
{
	struct pem_pair old = leaf("rotating", NULL, NULL, -60, 3600);
	struct pem_pair next = leaf("rotating-next", NULL, NULL, -60, 3600);
	char next_pin[RELAY_TLS_PIN_HEX + 1];
	struct relay_tls *st = server_for(&old), *ct;
	bool up = false;

	(void)state;
	assert_int_equal(relay_tls_cert_pin(next.cert, next_pin), 0);
	ct = client_with_pin(next_pin);
	assert_false(link_comes_up(st, ct));   /* still the old key */
	/* the operator moves the new pair over the served files */
	assert_int_equal(rename(next.key, old.key), 0);
	assert_int_equal(rename(next.cert, old.cert), 0);
	/* the files are checked at most once a second, when a connection comes */
	for (double until = now_monotonic() + PUMP_S; !up && now_monotonic() < until;)
		up = link_comes_up(st, ct);
	assert_true(up);
	relay_tls_free(st);
	relay_tls_free(ct);
}

static int make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_relay_tls_XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pins_parse_as_64_hex_digits),
		cmocka_unit_test(test_settings_errors_name_the_setting),
		cmocka_unit_test(test_tls_link_carries_big_frames_both_ways),
		cmocka_unit_test(test_a_wrong_pin_is_refused),
		cmocka_unit_test(test_an_expired_pinned_certificate_is_refused),
		cmocka_unit_test(test_a_certificate_from_another_ca_is_refused),
		cmocka_unit_test(test_the_ca_certificate_must_name_the_primary),
		cmocka_unit_test(test_a_plaintext_peer_on_a_tls_port_is_named),
		cmocka_unit_test(test_a_tls_peer_on_a_plaintext_port_is_refused),
		cmocka_unit_test(test_a_renewed_certificate_is_served_without_restart),
	};

	signal(SIGPIPE, SIG_IGN);   /* OpenSSL writes with write(), as in the engine */
	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
