/*
 * config.c - owns reading the JSON configuration: defaults, one validator
 * per key, and the one-line error that names the key at fault.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "config.h"
#include "hex.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where a validation failure is written; every helper returns -1 after it. */
struct config_errors {
	char *buf;
	size_t len;
};

static int fail(struct config_errors *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct config_errors *e, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(e->buf, e->len, "config: ");

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < e->len)
		vsnprintf(e->buf + n, e->len - (size_t)n, fmt, ap);
	va_end(ap);
	/* Messages quote config bytes (jansson's too): keep them one printable line. */
	for (char *p = e->buf; e->len && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -1;
}

static void set_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	copy_string(cfg->serverurl[0], "0.0.0.0:3333", sizeof(cfg->serverurl[0]));
	cfg->serverurl_count = 1;
	cfg->mindiff = 1;
	cfg->startdiff = 42;
	cfg->maxdiff = 0;
	cfg->nonce1length = 4;
	cfg->nonce2length = 8;
	cfg->update_interval = 30;
	cfg->blockpoll_ms = 100;
	copy_string(cfg->region, "eu", sizeof(cfg->region));
	cfg->mode = MODE_PRIMARY;
	cfg->primary.template_push_port = 0;  /* resolved by resolve_relay_ports() */
	cfg->primary.reconnect_interval = 5;
	cfg->primary.failover_threshold = 10;
	cfg->events.buffer_hwm = 65536;
	cfg->events.hashrate_interval_sec = 60;
	copy_string(cfg->events.socket_path, "/tmp/ckpool-events.sock",
		    sizeof(cfg->events.socket_path));
	copy_string(cfg->metrics_listen, "0.0.0.0:9100", sizeof(cfg->metrics_listen));
	cfg->max_line_bytes = 16384;
	cfg->max_pending_bytes = 1 << 20;
	cfg->idle_timeout_s = 900;
	cfg->handshake_timeout_s = 30;
	cfg->max_conns_per_ip = 1024;
	cfg->max_connections = 0;
	cfg->max_pending_total_bytes = (size_t)512 << 20;
	cfg->request_rate = 500;
	cfg->request_burst = 2000;
	cfg->vardiff_target_s = 10;
	cfg->stratum_threads = 2;
}

/* ---- typed getters: absent keys leave the default alone ---- */

static int read_string(struct config_errors *e, json_t *obj, const char *key, const char *name,
		       char *out, size_t outlen, bool allow_empty)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(e, "%s must be a string", name);
	s = json_string_value(v);
	if (!allow_empty && !*s)
		return fail(e, "%s must not be empty", name);
	if (strlen(s) >= outlen)
		return fail(e, "%s is too long (max %zu characters)", name, outlen - 1);
	copy_string(out, s, outlen);
	return 0;
}

static int read_int(struct config_errors *e, json_t *obj, const char *key, const char *name,
		    int *out, long min, long max)
{
	json_t *v = json_object_get(obj, key);
	json_int_t i;

	if (!v || json_is_null(v))
		return 0;
	if (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v)
	    && fabs(json_real_value(v)) < 1e15)
		i = (json_int_t)json_real_value(v);
	else if (json_is_integer(v))
		i = json_integer_value(v);
	else
		return fail(e, "%s must be an integer %ld-%ld", name, min, max);
	if (i < min || i > max)
		return fail(e, "%s must be %ld-%ld", name, min, max);
	*out = (int)i;
	return 0;
}

static int read_size(struct config_errors *e, json_t *obj, const char *key, const char *name,
		     size_t *out, long min, long max)
{
	int v = (int)*out;
	int rc = read_int(e, obj, key, name, &v, min, max);

	*out = (size_t)v;
	return rc;
}

static int read_double(struct config_errors *e, json_t *obj, const char *key, const char *name,
		       double *out, double min, double max)
{
	json_t *v = json_object_get(obj, key);
	double d;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_number(v))
		return fail(e, "%s must be a number", name);
	d = json_number_value(v);
	if (!isfinite(d) || d < min || d > max)
		return fail(e, "%s must be between %g and %g", name, min, max);
	*out = d;
	return 0;
}

static int read_bool(struct config_errors *e, json_t *obj, const char *key, const char *name,
		     bool *out)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return fail(e, "%s must be true or false", name);
	*out = json_is_true(v);
	return 0;
}

static int check_host_port(struct config_errors *e, const char *name, const char *value)
{
	char host[256];
	int port;
	const char *p = value;

	if (!strncmp(p, "http://", 7))
		p += 7;
	if (split_host_port(p, host, sizeof(host), &port))
		return fail(e, "%s must be \"host:port\" with a port 1-65535 (got \"%s\")", name,
			    value);
	return 0;
}

/* ---- unknown-key bookkeeping ---- */

static void note_unknown_keys(struct config *cfg, json_t *obj, const char *prefix,
			      const char *const *known)
{
	const char *key;
	json_t *v;
	size_t n = 0;

	while (cfg->unknown_keys[n])
		n++;
	json_object_foreach(obj, key, v) {
		bool found = false;

		for (size_t i = 0; known[i]; i++)
			if (!strcmp(key, known[i]))
				found = true;
		if (found || n >= CONFIG_MAX_UNKNOWN)
			continue;
		/* >= 0: an empty key ("") is unknown too, and its string must be kept (freed) */
		if (asprintf(&cfg->unknown_keys[n], "%s%s", prefix, key) >= 0)
			n++;
		else
			cfg->unknown_keys[n] = NULL;
	}
	(void)v;
}

/* ---- sections ---- */

static int read_btcd_entry(struct config_errors *e, struct config *cfg, json_t *entry, size_t i)
{
	static const char *const known[] = { "url", "auth", "pass", "notify", NULL };
	struct btcd_config *b = &cfg->btcd[i];
	char name[64], prefix[32];

	if (!json_is_object(entry))
		return fail(e, "btcd[%zu] must be an object with url, auth, pass", i);
	snprintf(name, sizeof(name), "btcd[%zu].url", i);
	if (!json_object_get(entry, "url"))
		return fail(e, "%s is required", name);
	if (read_string(e, entry, "url", name, b->url, sizeof(b->url), false))
		return -1;
	if (check_host_port(e, name, b->url))
		return -1;
	snprintf(name, sizeof(name), "btcd[%zu].auth", i);
	if (read_string(e, entry, "auth", name, b->auth, sizeof(b->auth), true))
		return -1;
	snprintf(name, sizeof(name), "btcd[%zu].pass", i);
	if (read_string(e, entry, "pass", name, b->pass, sizeof(b->pass), true))
		return -1;
	snprintf(name, sizeof(name), "btcd[%zu].notify", i);
	if (read_bool(e, entry, "notify", name, &b->notify))
		return -1;
	snprintf(prefix, sizeof(prefix), "btcd[%zu].", i);
	note_unknown_keys(cfg, entry, prefix, known);
	return 0;
}

static int read_btcd(struct config_errors *e, struct config *cfg, json_t *root)
{
	json_t *v = json_object_get(root, "btcd");

	if (!v)
		return fail(e, "btcd is required (a list of {\"url\", \"auth\", \"pass\"})");
	if (json_is_object(v)) {
		cfg->btcd_count = 1;
		return read_btcd_entry(e, cfg, v, 0);
	}
	if (!json_is_array(v) || json_array_size(v) == 0)
		return fail(e, "btcd must be a non-empty list of {\"url\", \"auth\", \"pass\"}");
	if (json_array_size(v) > CONFIG_MAX_BTCD)
		return fail(e, "btcd has more than %d entries", CONFIG_MAX_BTCD);
	cfg->btcd_count = json_array_size(v);
	for (size_t i = 0; i < cfg->btcd_count; i++)
		if (read_btcd_entry(e, cfg, json_array_get(v, i), i))
			return -1;
	return 0;
}

static int read_serverurl(struct config_errors *e, struct config *cfg, json_t *root)
{
	json_t *v = json_object_get(root, "serverurl");
	char name[32];

	if (!v)
		return 0;
	if (json_is_string(v)) {
		cfg->serverurl_count = 1;
		if (read_string(e, root, "serverurl", "serverurl", cfg->serverurl[0],
				sizeof(cfg->serverurl[0]), false))
			return -1;
		return check_host_port(e, "serverurl", cfg->serverurl[0]);
	}
	if (!json_is_array(v) || json_array_size(v) == 0)
		return fail(e, "serverurl must be a non-empty list of \"host:port\"");
	if (json_array_size(v) > CONFIG_MAX_SERVERURL)
		return fail(e, "serverurl has more than %d entries", CONFIG_MAX_SERVERURL);
	cfg->serverurl_count = json_array_size(v);
	for (size_t i = 0; i < cfg->serverurl_count; i++) {
		json_t *item = json_array_get(v, i);

		snprintf(name, sizeof(name), "serverurl[%zu]", i);
		if (!json_is_string(item))
			return fail(e, "%s must be a string \"host:port\"", name);
		if (strlen(json_string_value(item)) >= sizeof(cfg->serverurl[i]))
			return fail(e, "%s is too long", name);
		copy_string(cfg->serverurl[i], json_string_value(item), sizeof(cfg->serverurl[i]));
		if (check_host_port(e, name, cfg->serverurl[i]))
			return -1;
	}
	return 0;
}

static int read_difficulty(struct config_errors *e, struct config *cfg, json_t *root)
{
	if (read_double(e, root, "mindiff", "mindiff", &cfg->mindiff, 1e-12, 1e15)
	    || read_double(e, root, "startdiff", "startdiff", &cfg->startdiff, 1e-12, 1e15)
	    || read_double(e, root, "maxdiff", "maxdiff", &cfg->maxdiff, 0, 1e15))
		return -1;
	if (cfg->maxdiff > 0 && cfg->maxdiff < cfg->mindiff)
		return fail(e, "maxdiff must be 0 (no limit) or at least mindiff (%g)", cfg->mindiff);
	if (cfg->startdiff < cfg->mindiff)
		return fail(e, "startdiff must be at least mindiff (%g)", cfg->mindiff);
	if (cfg->maxdiff > 0 && cfg->startdiff > cfg->maxdiff)
		return fail(e, "startdiff must be at most maxdiff (%g)", cfg->maxdiff);
	return 0;
}

/* The relay endpoint: template_push_port, else primary.port, else 8881; a
 * primary without relay_listen listens on 0.0.0.0:<that port>. */
static void resolve_relay_ports(struct config *cfg)
{
	struct primary_config *pc = &cfg->primary;

	if (!pc->template_push_port)
		pc->template_push_port = pc->port ? pc->port : CONFIG_DEFAULT_RELAY_PORT;
	if (!pc->port)
		pc->port = pc->template_push_port;
	if (!*cfg->relay_listen)
		snprintf(cfg->relay_listen, sizeof(cfg->relay_listen), "0.0.0.0:%d",
			 pc->template_push_port);
}

static int check_relay_settings(struct config_errors *e, struct config *cfg)
{
	const struct primary_config *pc = &cfg->primary;

	if (*pc->auth_token && strlen(pc->auth_token) < CONFIG_MIN_TOKEN_LEN)
		return fail(e, "primary.auth_token must be at least %d characters",
			    CONFIG_MIN_TOKEN_LEN);
	if (cfg->mode != MODE_PASSTHROUGH)
		return 0;
	if (!*pc->host)
		return fail(e, "primary.host is required when mode is \"passthrough\"");
	if (!*pc->auth_token)
		return fail(e, "primary.auth_token is required when mode is \"passthrough\"");
	return 0;
}

static int read_primary(struct config_errors *e, struct config *cfg, json_t *root)
{
	static const char *const known[] = { "host", "port", "auth_token", "template_push_port",
					     "reconnect_interval", "failover_threshold", NULL };
	json_t *p = json_object_get(root, "primary");
	struct primary_config *pc = &cfg->primary;

	if (!p || json_is_null(p)) {
		resolve_relay_ports(cfg);
		if (cfg->mode == MODE_PASSTHROUGH)
			return fail(e, "primary is required when mode is \"passthrough\"");
		return 0;
	}
	if (!json_is_object(p))
		return fail(e, "primary must be an object");
	if (read_string(e, p, "host", "primary.host", pc->host, sizeof(pc->host), false)
	    || read_int(e, p, "port", "primary.port", &pc->port, 1, 65535)
	    || read_string(e, p, "auth_token", "primary.auth_token", pc->auth_token,
			   sizeof(pc->auth_token), false)
	    || read_int(e, p, "template_push_port", "primary.template_push_port",
			&pc->template_push_port, 1, 65535)
	    || read_int(e, p, "reconnect_interval", "primary.reconnect_interval",
			&pc->reconnect_interval, 1, 3600)
	    || read_int(e, p, "failover_threshold", "primary.failover_threshold",
			&pc->failover_threshold, 1, 3600))
		return -1;
	note_unknown_keys(cfg, p, "primary.", known);
	resolve_relay_ports(cfg);
	return check_relay_settings(e, cfg);
}

static int read_pin(struct config_errors *e, struct relay_tls_config *t, json_t *item,
		    size_t i)
{
	const char *v = json_is_string(item) ? json_string_value(item) : "";
	if (strlen(v) != 64 || !hex_is_valid(v, 64))
		return fail(e, "relay.tls.pin_sha256[%zu] must be 64 hex digits (SHA-256 of the "
			    "primary's SubjectPublicKeyInfo)", i);
	copy_string(t->pin_sha256[i], v, sizeof(t->pin_sha256[i]));
	t->pin_count = i + 1;
	return 0;
}

/* One pin as a string, or a list of up to CONFIG_MAX_TLS_PINS. */
static int read_pins(struct config_errors *e, struct relay_tls_config *t, json_t *tls)
{
	json_t *pins = json_object_get(tls, "pin_sha256"), *item;
	size_t i;

	if (!pins || json_is_null(pins))
		return 0;
	if (json_is_string(pins))
		return read_pin(e, t, pins, 0);
	if (!json_is_array(pins))
		return fail(e, "relay.tls.pin_sha256 must be a list of hex SHA-256 strings");
	if (json_array_size(pins) > CONFIG_MAX_TLS_PINS)
		return fail(e, "relay.tls.pin_sha256 has more than %d entries", CONFIG_MAX_TLS_PINS);
	json_array_foreach(pins, i, item)
		if (read_pin(e, t, item, i))
			return -1;
	return 0;
}

/* relay: {tls: {...}}. Read after mode: what is required depends on it. */
static int read_relay(struct config_errors *e, struct config *cfg, json_t *root)
{
	static const char *const known_relay[] = { "tls", NULL };
	static const char *const known_tls[] = { "cert", "key", "ca", "pin_sha256",
						 "server_name", NULL };
	json_t *r = json_object_get(root, "relay"), *tls;
	struct relay_tls_config *t = &cfg->relay_tls;

	if (!r || json_is_null(r))
		return 0;
	if (!json_is_object(r))
		return fail(e, "relay must be an object");
	note_unknown_keys(cfg, r, "relay.", known_relay);
	tls = json_object_get(r, "tls");
	if (!tls || json_is_null(tls))
		return 0;
	if (!json_is_object(tls))
		return fail(e, "relay.tls must be an object ({cert, key} on a primary, "
			    "{ca and/or pin_sha256} on a relay)");
	if (read_string(e, tls, "cert", "relay.tls.cert", t->cert, sizeof(t->cert), false)
	    || read_string(e, tls, "key", "relay.tls.key", t->key, sizeof(t->key), false)
	    || read_string(e, tls, "ca", "relay.tls.ca", t->ca, sizeof(t->ca), false)
	    || read_string(e, tls, "server_name", "relay.tls.server_name", t->server_name,
			   sizeof(t->server_name), false)
	    || read_pins(e, t, tls))
		return -1;
	note_unknown_keys(cfg, tls, "relay.tls.", known_tls);
	t->enabled = true;
	if (cfg->mode == MODE_PRIMARY && (!*t->cert || !*t->key))
		return fail(e, "relay.tls.cert and relay.tls.key are required on a primary");
	if (cfg->mode == MODE_PASSTHROUGH && !*t->ca && !t->pin_count)
		return fail(e, "relay.tls needs ca or pin_sha256 (or both) on a relay");
	return 0;
}

static int read_mode(struct config_errors *e, struct config *cfg, json_t *root)
{
	char mode[32] = "primary";

	if (read_string(e, root, "mode", "mode", mode, sizeof(mode), false))
		return -1;
	if (!strcmp(mode, "primary"))
		cfg->mode = MODE_PRIMARY;
	else if (!strcmp(mode, "passthrough"))
		cfg->mode = MODE_PASSTHROUGH;
	else
		return fail(e, "mode must be \"primary\" or \"passthrough\" (got \"%s\")", mode);
	return 0;
}

static int read_event_types(struct config_errors *e, struct config *cfg, json_t *ev)
{
	json_t *types = json_object_get(ev, "event_types");
	size_t i;
	json_t *item;

	if (!types || json_is_null(types))
		return 0;
	if (!json_is_array(types))
		return fail(e, "events.event_types must be a list of event names");
	if (json_array_size(types) > CONFIG_MAX_EVENT_TYPES)
		return fail(e, "events.event_types has more than %d entries",
			    CONFIG_MAX_EVENT_TYPES);
	json_array_foreach(types, i, item) {
		if (!json_is_string(item) || !*json_string_value(item))
			return fail(e, "events.event_types[%zu] must be a non-empty string", i);
		cfg->events.event_types[i] = strdup(json_string_value(item));
	}
	return 0;
}

static int read_events(struct config_errors *e, struct config *cfg, json_t *root)
{
	static const char *const known[] = { "enabled", "socket_path", "event_types",
					     "buffer_hwm", "hashrate_interval_sec", NULL };
	json_t *ev = json_object_get(root, "events");
	int hashrate = (int)cfg->events.hashrate_interval_sec;

	if (!ev || json_is_null(ev))
		return 0;
	if (!json_is_object(ev))
		return fail(e, "events must be an object");
	if (read_bool(e, ev, "enabled", "events.enabled", &cfg->events.enabled)
	    || read_string(e, ev, "socket_path", "events.socket_path", cfg->events.socket_path,
			   sizeof(cfg->events.socket_path), false)
	    || read_size(e, ev, "buffer_hwm", "events.buffer_hwm", &cfg->events.buffer_hwm, 16,
			 16777216)
	    || read_int(e, ev, "hashrate_interval_sec", "events.hashrate_interval_sec",
			&hashrate, 1, 86400)
	    || read_event_types(e, cfg, ev))
		return -1;
	cfg->events.hashrate_interval_sec = (unsigned)hashrate;
	note_unknown_keys(cfg, ev, "events.", known);
	return 0;
}

static int read_limits(struct config_errors *e, struct config *cfg, json_t *root)
{
	return read_size(e, root, "max_line_bytes", "max_line_bytes", &cfg->max_line_bytes, 256,
			 1048576)
	       || read_size(e, root, "max_pending_bytes", "max_pending_bytes",
			    &cfg->max_pending_bytes, 4096, 1 << 30)
	       || read_int(e, root, "idle_timeout_s", "idle_timeout_s", &cfg->idle_timeout_s, 1,
			   86400 * 7)
	       || read_int(e, root, "handshake_timeout_s", "handshake_timeout_s",
			   &cfg->handshake_timeout_s, 1, 3600)
	       || read_int(e, root, "max_conns_per_ip", "max_conns_per_ip",
			   &cfg->max_conns_per_ip, 0, 1000000)
	       || read_int(e, root, "max_connections", "max_connections", &cfg->max_connections,
			   0, 10000000)
	       || read_size(e, root, "max_pending_total_bytes", "max_pending_total_bytes",
			    &cfg->max_pending_total_bytes, 1 << 20, (size_t)1 << 40)
	       || read_double(e, root, "request_rate", "request_rate", &cfg->request_rate, 1,
			      1e7)
	       || read_double(e, root, "request_burst", "request_burst", &cfg->request_burst, 1,
			      1e7)
	       || read_double(e, root, "vardiff_target_s", "vardiff_target_s",
			      &cfg->vardiff_target_s, 0.1, 3600)
	       || read_int(e, root, "stratum_threads", "stratum_threads", &cfg->stratum_threads,
			   1, 64) ? -1 : 0;
}

static int read_node_settings(struct config_errors *e, struct config *cfg, json_t *root)
{
	if (read_int(e, root, "nonce1length", "nonce1length", &cfg->nonce1length, 2, 8)
	    || read_int(e, root, "nonce2length", "nonce2length", &cfg->nonce2length, 2, 8)
	    || read_int(e, root, "update_interval", "update_interval", &cfg->update_interval, 1,
			3600)
	    || read_int(e, root, "blockpoll_ms", "blockpoll_ms", &cfg->blockpoll_ms, 0, 60000)
	    || read_string(e, root, "zmqblock", "zmqblock", cfg->zmqblock,
			   sizeof(cfg->zmqblock), true))
		return -1;
	if (*cfg->zmqblock && strncmp(cfg->zmqblock, "tcp://", 6)
	    && strncmp(cfg->zmqblock, "ipc://", 6))
		return fail(e, "zmqblock must start with tcp:// or ipc:// (got \"%s\")",
			    cfg->zmqblock);
	if (cfg->blockpoll_ms == 0 && !*cfg->zmqblock)
		return fail(e, "blockpoll_ms may be 0 only when zmqblock is set");
	if (cfg->blockpoll_ms != 0 && cfg->blockpoll_ms < 10)
		return fail(e, "blockpoll_ms must be 0 (zmqblock only) or 10-60000");
	return 0;
}

static int read_identity(struct config_errors *e, struct config *cfg, json_t *root)
{
	if (read_string(e, root, "btcaddress", "btcaddress", cfg->btcaddress,
			sizeof(cfg->btcaddress), true)
	    || read_string(e, root, "btcsig", "btcsig", cfg->btcsig, sizeof(cfg->btcsig), true)
	    || read_string(e, root, "logdir", "logdir", cfg->logdir, sizeof(cfg->logdir), true)
	    || read_string(e, root, "state_dir", "state_dir", cfg->state_dir,
			   sizeof(cfg->state_dir), true)
	    || read_string(e, root, "region", "region", cfg->region, sizeof(cfg->region), false)
	    || read_string(e, root, "pool_instance", "pool_instance", cfg->pool_instance,
			   sizeof(cfg->pool_instance), false)
	    || read_string(e, root, "relay_listen", "relay_listen", cfg->relay_listen,
			   sizeof(cfg->relay_listen), true)
	    || read_string(e, root, "metrics_listen", "metrics_listen", cfg->metrics_listen,
			   sizeof(cfg->metrics_listen), false)
	    || read_string(e, root, "coinbase_sigs", "coinbase_sigs", cfg->coinbase_sigs,
			   sizeof(cfg->coinbase_sigs), true))
		return -1;
	for (const char *c = cfg->btcsig; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			return fail(e, "btcsig must be printable ASCII");
	for (const char *c = cfg->region; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'
		      || *c == '_'))
			return fail(e, "region must be lower-case letters, digits, '-' or '_'");
	if (!*cfg->state_dir)
		copy_string(cfg->state_dir, cfg->logdir, sizeof(cfg->state_dir));
	if (!*cfg->pool_instance)
		snprintf(cfg->pool_instance, sizeof(cfg->pool_instance), "ckpool-%s", cfg->region);
	if (*cfg->relay_listen && check_host_port(e, "relay_listen", cfg->relay_listen))
		return -1;
	return check_host_port(e, "metrics_listen", cfg->metrics_listen);
}

static const char *const known_top_level[] = {
	"btcd", "btcaddress", "btcsig", "serverurl", "mindiff", "startdiff", "maxdiff",
	"nonce1length", "nonce2length", "update_interval", "blockpoll_ms", "zmqblock", "logdir",
	"state_dir",
	"region", "pool_instance", "mode", "primary", "relay_listen", "relay", "events",
	"metrics_listen",
	"coinbase_sigs", "max_line_bytes", "max_pending_bytes", "idle_timeout_s",
	"handshake_timeout_s", "max_conns_per_ip", "max_connections", "max_pending_total_bytes",
	"request_rate", "request_burst", "vardiff_target_s", "stratum_threads", NULL
};

static int read_everything(struct config_errors *e, struct config *cfg, json_t *root)
{
	if (read_btcd(e, cfg, root) || read_serverurl(e, cfg, root)
	    || read_difficulty(e, cfg, root) || read_node_settings(e, cfg, root)
	    || read_identity(e, cfg, root) || read_mode(e, cfg, root)
	    || read_primary(e, cfg, root) || read_relay(e, cfg, root)
	    || read_events(e, cfg, root)
	    || read_limits(e, cfg, root))
		return -1;
	note_unknown_keys(cfg, root, "", known_top_level);
	return 0;
}

int config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	struct config_errors e = { err, errlen };
	json_error_t jerr;
	json_t *root;
	int rc;

	set_defaults(cfg);
	copy_string(cfg->path, path, sizeof(cfg->path));
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (jerr.line <= 0)
			return fail(&e, "cannot read %s: %s", path, jerr.text);
		return fail(&e, "%s is not valid JSON (line %d, column %d: %s)", path, jerr.line,
			    jerr.column, jerr.text);
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return fail(&e, "%s must hold a JSON object", path);
	}
	rc = read_everything(&e, cfg, root);
	json_decref(root);
	if (rc)
		config_free(cfg);
	return rc;
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < CONFIG_MAX_EVENT_TYPES && cfg->events.event_types[i]; i++) {
		free(cfg->events.event_types[i]);
		cfg->events.event_types[i] = NULL;
	}
	for (size_t i = 0; i < CONFIG_MAX_UNKNOWN && cfg->unknown_keys[i]; i++) {
		free(cfg->unknown_keys[i]);
		cfg->unknown_keys[i] = NULL;
	}
}
