/*
 * test_http.c - the HTTP server survives bad requests: malformed request
 * lines, other methods, unknown paths, oversize heads, silent clients and
 * more connections than it accepts (silent ones give up their slots), and
 * still answers afterwards.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "http_server.h"
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 8
/* The shared server never times out a client that is merely descheduled;
 * the timeout tests get their own server with a short read timeout. */
#define PATIENT_TIMEOUT_MS 30000
#define SHORT_TIMEOUT_MS 1000
#define CLIENT_WAIT_S 30

static atomic_int ticks;
static char last_query[64];

static void hello(const struct http_request *req, struct http_response *resp, void *ctx)
{
	copy_string(last_query, req->query, sizeof(last_query));
	buf_append(&resp->body, ctx, strlen(ctx));
}

static void on_tick(double now, void *ctx)
{
	(void)now;
	(void)ctx;
	atomic_fetch_add(&ticks, 1);
}

static struct http_server *server_with_timeout(int read_timeout_ms)
{
	struct http_server_options opt = { .max_request_bytes = 8192,
					   .max_connections = MAX_CONNS,
					   .read_timeout_ms = read_timeout_ms };
	struct http_server *s = http_server_new(&opt);
	char err[256];

	assert_int_equal(http_server_route(s, "/hello", hello, "hello\n"), 0);
	assert_int_equal(http_server_route(s, "relative", hello, "x"), -1);
	http_server_on_tick(s, on_tick, NULL, 50);
	if (http_server_start(s, "127.0.0.1:0", err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(http_server_port(s) > 0);
	return s;
}

static int start_server(void **state)
{
	*state = server_with_timeout(PATIENT_TIMEOUT_MS);
	return 0;
}

static int stop_server(void **state)
{
	http_server_free(*state);
	return 0;
}

static int connect_to(struct http_server *s)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_port = htons((uint16_t)http_server_port(s)) };
	struct timeval tv = { .tv_sec = CLIENT_WAIT_S };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Reads until EOF (or error) into out; returns the status code, -1 if none. */
static int read_response(int fd, char *out, size_t len)
{
	size_t got = 0;
	ssize_t n;
	int status = -1;

	while (got + 1 < len && (n = recv(fd, out + got, len - 1 - got, 0)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	if (sscanf(out, "HTTP/1.1 %d", &status) != 1)
		status = -1;
	return status;
}

static int exchange(struct http_server *s, const char *request, size_t len, char *out,
		    size_t outlen)
{
	int fd = connect_to(s), status;

	assert_int_equal(send(fd, request, len, MSG_NOSIGNAL), (ssize_t)len);
	status = read_response(fd, out, outlen);
	close(fd);
	return status;
}

static int request(struct http_server *s, const char *text, char *out, size_t outlen)
{
	return exchange(s, text, strlen(text), out, outlen);
}

static void test_get_and_head(void **state)
{
	char resp[4096];

	assert_int_equal(request(*state, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", resp,
				 sizeof(resp)), 200);
	assert_non_null(strstr(resp, "Content-Length: 6\r\n"));
	assert_non_null(strstr(resp, "Connection: close\r\n"));
	assert_non_null(strstr(resp, "\r\n\r\nhello\n"));
	assert_int_equal(request(*state, "HEAD /hello HTTP/1.0\r\n\r\n", resp, sizeof(resp)), 200);
	assert_non_null(strstr(resp, "Content-Length: 6\r\n"));
	assert_null(strstr(resp, "hello"));
	assert_int_equal(request(*state, "GET /hello?name=x HTTP/1.1\n\n", resp, sizeof(resp)),
			 200);
	assert_string_equal(last_query, "name=x");
}

static void test_errors_have_specific_statuses(void **state)
{
	char resp[4096];

	assert_int_equal(request(*state, "POST /hello HTTP/1.1\r\n\r\n", resp, sizeof(resp)), 405);
	assert_non_null(strstr(resp, "Allow: GET, HEAD\r\n"));
	assert_int_equal(request(*state, "GET /nope HTTP/1.1\r\n\r\n", resp, sizeof(resp)), 404);
	assert_int_equal(request(*state, "GARBAGE\r\n\r\n", resp, sizeof(resp)), 400);
	assert_int_equal(request(*state, "GET /hello HTTP/2.0\r\n\r\n", resp, sizeof(resp)), 400);
	assert_int_equal(request(*state, "GET hello HTTP/1.1\r\n\r\n", resp, sizeof(resp)), 400);
	assert_int_equal(request(*state, "GET  /hello HTTP/1.1\r\n\r\n", resp, sizeof(resp)), 400);
	assert_int_equal(request(*state, "get /hello HTTP/1.1\r\n\r\n", resp, sizeof(resp)), 400);
	assert_int_equal(exchange(*state, "GET /\0x HTTP/1.1\r\n\r\n", 20, resp, sizeof(resp)),
			 400);
	assert_int_equal(request(*state, "\r\n\r\n", resp, sizeof(resp)), 400);
}

static void test_oversize_request_gets_431(void **state)
{
	static char big[12000];
	char resp[4096];

	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /hello HTTP/1.1\r\nX-Big: ", 28);
	assert_int_equal(exchange(*state, big, sizeof(big), resp, sizeof(resp)), 431);
	assert_int_equal(request(*state, "GET /hello HTTP/1.1\r\n\r\n", resp, sizeof(resp)), 200);
}

static void test_silent_client_times_out(void **state)
{
	struct http_server *s = server_with_timeout(SHORT_TIMEOUT_MS);
	char resp[4096];
	int fd = connect_to(s);

	(void)state;
	assert_int_equal(send(fd, "GET /hel", 8, 0), 8);
	assert_int_equal(read_response(fd, resp, sizeof(resp)), 408);
	close(fd);
	http_server_free(s);
}

static void test_client_closing_early_is_harmless(void **state)
{
	char resp[4096];

	for (int i = 0; i < 20; i++) {
		int fd = connect_to(*state);

		if (i % 2)
			assert_int_equal(send(fd, "GET /hello HTTP/1.1\r\n", 21, 0), 21);
		close(fd);
	}
	assert_int_equal(request(*state, "GET /hello HTTP/1.1\r\n\r\n", resp, sizeof(resp)), 200);
}

static void test_too_many_connections_wait_their_turn(void **state)
{
	struct http_server *s = server_with_timeout(SHORT_TIMEOUT_MS);
	int idle[MAX_CONNS], extra[MAX_CONNS * 2];
	char resp[4096];

	(void)state;
	for (int i = 0; i < MAX_CONNS; i++)
		idle[i] = connect_to(s);
	for (int i = 0; i < MAX_CONNS * 2; i++) {
		extra[i] = connect_to(s);
		assert_int_equal(send(extra[i], "GET /hello HTTP/1.1\r\n\r\n", 23, MSG_NOSIGNAL), 23);
	}
	/* The silent ones time out, then everyone queued behind them is served. */
	for (int i = 0; i < MAX_CONNS; i++) {
		assert_int_equal(read_response(idle[i], resp, sizeof(resp)), 408);
		close(idle[i]);
	}
	for (int i = 0; i < MAX_CONNS * 2; i++) {
		assert_int_equal(read_response(extra[i], resp, sizeof(resp)), 200);
		close(extra[i]);
	}
	assert_int_equal(request(s, "GET /hello HTTP/1.1\r\n\r\n", resp, sizeof(resp)), 200);
	http_server_free(s);
}

/* Silent clients in every slot of a server that would wait two minutes for
 * them: a real request is still answered, well within the client's 30 s,
 * and the oldest silent client gets 408 for the slot it gave up. */
static void test_silent_clients_give_up_their_slots(void **state)
{
	struct http_server *s = server_with_timeout(120000);
	int idle[MAX_CONNS];
	char resp[4096];

	(void)state;
	for (int i = 0; i < MAX_CONNS; i++)
		idle[i] = connect_to(s);
	assert_int_equal(request(s, "GET /hello HTTP/1.1\r\n\r\n", resp, sizeof(resp)), 200);
	assert_int_equal(read_response(idle[0], resp, sizeof(resp)), 408);
	for (int i = 0; i < MAX_CONNS; i++)
		close(idle[i]);
	http_server_free(s);
}

static void test_ticks_run(void **state)
{
	double until = now_monotonic() + CLIENT_WAIT_S;
	int start = atomic_load(&ticks);

	(void)state;
	while (atomic_load(&ticks) < start + 2 && now_monotonic() < until)
		usleep(10000);
	assert_true(atomic_load(&ticks) >= start + 2);
}

static void test_listen_addresses(void **state)
{
	char host[64], err[256];
	int port;
	struct http_server *s;

	(void)state;
	assert_int_equal(http_parse_listen("0.0.0.0:9100", host, sizeof(host), &port), 0);
	assert_string_equal(host, "0.0.0.0");
	assert_int_equal(port, 9100);
	assert_int_equal(http_parse_listen(":9100", host, sizeof(host), &port), 0);
	assert_string_equal(host, "");
	assert_int_equal(http_parse_listen("[::1]:80", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(http_parse_listen("localhost", host, sizeof(host), &port), -1);
	assert_int_equal(http_parse_listen("h:70000", host, sizeof(host), &port), -1);
	assert_int_equal(http_parse_listen("h:", host, sizeof(host), &port), -1);
	s = http_server_new(NULL);
	assert_int_equal(http_server_start(s, "nonsense", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nonsense"));
	assert_int_equal(http_server_start(s, "192.0.2.1:1", err, sizeof(err)), -1);
	http_server_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_and_head),
		cmocka_unit_test(test_errors_have_specific_statuses),
		cmocka_unit_test(test_oversize_request_gets_431),
		cmocka_unit_test(test_silent_client_times_out),
		cmocka_unit_test(test_client_closing_early_is_harmless),
		cmocka_unit_test(test_too_many_connections_wait_their_turn),
		cmocka_unit_test(test_silent_clients_give_up_their_slots),
		cmocka_unit_test(test_ticks_run),
		cmocka_unit_test(test_listen_addresses),
	};

	return cmocka_run_group_tests_name("http", tests, start_server, stop_server);
}
