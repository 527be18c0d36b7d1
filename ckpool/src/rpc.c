/*
 * rpc.c - owns the conversation with bitcoind: HTTP POST of JSON-RPC 1.0
 * requests through a reusable curl handle, Basic auth, timeouts, failover
 * across the configured btcd entries, and the RPC counters in g_stats.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "rpc.h"
#include "log.h"
#include "stats.h"
#include "util.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RPC_CONNECT_TIMEOUT_MS 2000
#define RPC_MAX_REPLY_BYTES (256u << 20)

struct reply_buffer {
	char *data;
	size_t len, cap;
	int overflow;
};

struct rpc_client {
	const struct config *cfg;
	CURL *curl;
	size_t node;            /* index into cfg->btcd of the entry in use */
	char name[32];
	struct reply_buffer reply;
	unsigned long next_id;
	atomic_int cancelled;
	double last_failover_log;
};

void rpc_client_cancel(struct rpc_client *c)
{
	atomic_store(&c->cancelled, 1);
}

static int abort_when_cancelled(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
				curl_off_t ultotal, curl_off_t ulnow)
{
	struct rpc_client *c = userdata;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return atomic_load(&c->cancelled);
}

int rpc_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void rpc_global_cleanup(void)
{
	curl_global_cleanup();
}

struct rpc_client *rpc_client_new(const struct config *cfg, const char *name)
{
	struct rpc_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cfg = cfg;
	c->curl = curl_easy_init();
	if (!c->curl) {
		free(c);
		return NULL;
	}
	copy_string(c->name, name, sizeof(c->name));
	return c;
}

void rpc_client_free(struct rpc_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	free(c->reply.data);
	free(c);
}

const char *rpc_client_node(const struct rpc_client *c)
{
	return c->cfg->btcd[c->node].url;
}

static size_t append_reply(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct reply_buffer *r = userdata;
	size_t n = size * nmemb;

	if (r->len + n + 1 > RPC_MAX_REPLY_BYTES) {
		r->overflow = 1;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 16384;
		char *grown;

		while (cap < r->len + n + 1)
			cap *= 2;
		grown = realloc(r->data, cap);
		if (!grown)
			return 0;
		r->data = grown;
		r->cap = cap;
	}
	memcpy(r->data + r->len, ptr, n);
	r->len += n;
	r->data[r->len] = '\0';
	return n;
}

static void build_url(const struct btcd_config *b, char *out, size_t len)
{
	if (!strncmp(b->url, "http://", 7) || !strncmp(b->url, "https://", 8))
		snprintf(out, len, "%s/", b->url);
	else
		snprintf(out, len, "http://%s/", b->url);
}

/* One HTTP round trip to one node. Returns the CURLcode; *http gets the status. */
static CURLcode post_to_node(struct rpc_client *c, const struct btcd_config *b,
			     const char *body, long timeout_ms, long *http)
{
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	char url[300];
	CURLcode rc;

	build_url(b, url, sizeof(url));
	c->reply.len = 0;
	c->reply.overflow = 0;
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c->curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
	curl_easy_setopt(c->curl, CURLOPT_USERNAME, b->auth);
	curl_easy_setopt(c->curl, CURLOPT_PASSWORD, b->pass);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)RPC_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, append_reply);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &c->reply);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, abort_when_cancelled);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
	rc = curl_easy_perform(c->curl);
	*http = 0;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, http);
	curl_slist_free_all(headers);
	return rc;
}

/* Reads {"result":..., "error":...}; returns the result or NULL with err. */
static json_t *result_of_reply(struct rpc_client *c, const char *method, char *err,
			       size_t errlen, int *unreadable)
{
	json_error_t jerr;
	json_t *root, *error, *result;

	*unreadable = 0;
	root = c->reply.data ? json_loadb(c->reply.data, c->reply.len, 0, &jerr) : NULL;
	if (!root || !json_is_object(root)) {
		*unreadable = 1;
		snprintf(err, errlen, "rpc %s: unreadable reply from %s", method,
			 rpc_client_node(c));
		json_decref(root);
		return NULL;
	}
	error = json_object_get(root, "error");
	if (error && !json_is_null(error)) {
		json_t *msg = json_object_get(error, "message");

		snprintf(err, errlen, "rpc %s: %lld: %s", method,
			 (long long)json_integer_value(json_object_get(error, "code")),
			 json_is_string(msg) ? json_string_value(msg) : "error");
		json_decref(root);
		return NULL;
	}
	result = json_object_get(root, "result");
	result = result ? json_incref(result) : json_null();
	json_decref(root);
	return result;
}

static char *request_body(struct rpc_client *c, const char *method, json_t *params)
{
	json_t *req = json_object();
	char *body;

	json_object_set_new(req, "jsonrpc", json_string("1.0"));
	json_object_set_new(req, "id", json_integer((json_int_t)++c->next_id));
	json_object_set_new(req, "method", json_string(method));
	json_object_set_new(req, "params", params ? params : json_array());
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	return body;
}

/* One try against the current node. Returns 1 when another node should be
 * tried, 0 when this answer (result or node error) is final. */
static int try_current_node(struct rpc_client *c, const char *method, const char *body,
			    long timeout_ms, json_t **result, char *err, size_t errlen)
{
	const struct btcd_config *b = &c->cfg->btcd[c->node];
	double started = now_monotonic();
	long http;
	int unreadable;
	CURLcode rc = post_to_node(c, b, body, timeout_ms, &http);
	double ms = (now_monotonic() - started) * 1000.0;

	if (rc != CURLE_OK || http == 401 || http == 403 || c->reply.overflow) {
		stats_rpc_latency(ms, 0);
		if (c->reply.overflow)
			snprintf(err, errlen, "rpc %s: reply from %s larger than %u bytes", method,
				 b->url, RPC_MAX_REPLY_BYTES);
		else if (rc != CURLE_OK)
			snprintf(err, errlen, "rpc %s: %s: %s", method, b->url,
				 curl_easy_strerror(rc));
		else
			snprintf(err, errlen, "rpc %s: %s refused the credentials (HTTP %ld)",
				 method, b->url, http);
		return 1;
	}
	*result = result_of_reply(c, method, err, errlen, &unreadable);
	stats_rpc_latency(ms, !unreadable);
	if (!*result && !unreadable)
		atomic_fetch_add(&g_stats.rpc_errors, 1);
	return unreadable;
}

json_t *rpc_call(struct rpc_client *c, const char *method, json_t *params, long timeout_ms,
		 char *err, size_t errlen)
{
	char *body = request_body(c, method, params);
	json_t *result = NULL;

	if (!body) {
		snprintf(err, errlen, "rpc %s: cannot encode the request", method);
		return NULL;
	}
	snprintf(err, errlen, "rpc %s: cancelled", method);
	for (size_t tries = 0; tries < c->cfg->btcd_count && !atomic_load(&c->cancelled);
	     tries++) {
		if (!try_current_node(c, method, body, timeout_ms, &result, err, errlen))
			break;
		if (c->cfg->btcd_count > 1) {
			double now = now_monotonic();

			if (now - c->last_failover_log >= 10) {
				log_warn("rpc", "%s (%s); trying the next btcd entry", err, c->name);
				c->last_failover_log = now;
			}
			c->node = (c->node + 1) % c->cfg->btcd_count;
		}
	}
	free(body);
	return result;
}
