/*
 * http_server.h - a small HTTP/1.1 server thread for /metrics and /health.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * One thread polls the listener and up to max_connections connections. It
 * answers GET and HEAD on exact paths registered with http_server_route();
 * anything else gets a specific status and the server carries on:
 *   400 malformed request line or HTTP version other than 1.0/1.1
 *   405 a method other than GET/HEAD (with Allow: GET, HEAD)
 *   404 a path nobody registered
 *   408 the request did not arrive within read_timeout_ms
 *   431 the request head is larger than max_request_bytes
 * Beyond max_connections, new clients wait in the kernel's listen backlog
 * until a slot frees. A client lingering after its response, or else the
 * one that has been sending its request head longest (at least 250 ms),
 * gives up its slot to a newcomer (with a 408 if its socket takes it at
 * once), so silent or slow clients cannot hold a real request off for
 * read_timeout_ms.
 * Every response carries Content-Length and Connection: close; the
 * connection is then shut down, and what the client still sends is read
 * and discarded briefly so it sees the response rather than a reset.
 * Handlers run on the server thread and must not block.
 *
 *   struct http_server *s = http_server_new(NULL);
 *   http_server_route(s, "/metrics", render_metrics, NULL);
 *   if (http_server_start(s, "0.0.0.0:9100", err, sizeof(err))) ...
 *   ...
 *   http_server_free(s);   // stops the thread first
 */
#ifndef CKPOOL_HTTP_SERVER_H
#define CKPOOL_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "bytes.h"

struct http_server;

struct http_request {
	const char *method;      /* "GET" or "HEAD" */
	const char *path;        /* without the query string */
	const char *query;       /* after '?', "" when absent */
};

/* Filled by a handler: status defaults to 200, content_type to text/plain.
 * For HEAD the body is measured for Content-Length, then not sent. */
struct http_response {
	int status;
	const char *content_type;    /* must outlive the call (a literal) */
	struct buf body;
};

typedef void (*http_handler_fn)(const struct http_request *req, struct http_response *resp,
				void *ctx);
/* Called on the server thread about every interval (monotonic seconds). */
typedef void (*http_tick_fn)(double now, void *ctx);

struct http_server_options {
	size_t max_request_bytes;    /* request line + headers; default 8192 */
	size_t max_connections;      /* default 64 */
	int read_timeout_ms;         /* whole request; default 5000 */
};

/* A server with no routes; opt NULL (or zero fields) means the defaults. */
struct http_server *http_server_new(const struct http_server_options *opt);
/* Adds an exact-path route. Only before http_server_start(). 0 or -1. */
int http_server_route(struct http_server *s, const char *path, http_handler_fn fn, void *ctx);
/* Calls fn every interval_ms on the server thread. Only before start. */
void http_server_on_tick(struct http_server *s, http_tick_fn fn, void *ctx, int interval_ms);
/* Binds `listen` ("host:port", ":port", "[v6]:port"; port 0 picks a free
 * one) and starts the thread. 0, or -1 with err naming the problem. */
int http_server_start(struct http_server *s, const char *listen, char *err, size_t errlen);
/* The bound TCP port (useful after port 0), -1 before start. */
int http_server_port(const struct http_server *s);
/* Stops and joins the thread, closes every connection. Idempotent. */
void http_server_stop(struct http_server *s);
/* Stops the server if needed and frees it. NULL is fine. */
void http_server_free(struct http_server *s);

/* Splits a listen address into host ("" for any) and port (0-65535).
 * 0 on success, -1 on a malformed address. */
int http_parse_listen(const char *listen, char *host, size_t hostlen, int *port);
/* The standard reason phrase of a status code the server uses. */
const char *http_status_text(int status);

#endif
