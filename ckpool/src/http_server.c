/*
 * http_server.c - owns the HTTP listener thread: accepting within a
 * connection budget, reading bounded request heads with a deadline,
 * parsing the request line, routing to handlers and writing responses.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "http_server.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_MAX_REQUEST 8192
#define DEFAULT_MAX_CONNECTIONS 64
#define DEFAULT_READ_TIMEOUT_MS 5000
#define LINGER_MS 1000
/* With every slot taken, a client that has been sending its head this long
 * (or one lingering after its response) gives up its slot to a newcomer. */
#define EVICT_AFTER_MS 250
#define MAX_ROUTES 16
#define MAX_POLL_MS 1000

enum conn_state { CONN_FREE, CONN_READING, CONN_WRITING, CONN_LINGERING };

struct http_conn {
	int fd;
	enum conn_state state;
	char *in;                /* max_request_bytes + 1 */
	size_t in_len;
	struct buf out;
	size_t out_sent;
	double deadline;
	double accepted_at;
	double write_timeout;    /* seconds a response may take to go out */
};

struct route {
	char path[128];
	http_handler_fn fn;
	void *ctx;
};

struct http_server {
	struct http_server_options opt;
	struct route routes[MAX_ROUTES];
	size_t route_count;
	http_tick_fn tick_fn;
	void *tick_ctx;
	double tick_interval, next_tick;
	int listen_fd;
	int wake_pipe[2];
	int port;
	bool running;
	pthread_t thread;
	struct http_conn *conns;
	struct pollfd *pfds;
};

const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	}
	return "Unknown";
}

/* ---- configuration ---- */

struct http_server *http_server_new(const struct http_server_options *opt)
{
	struct http_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (opt)
		s->opt = *opt;
	if (!s->opt.max_request_bytes)
		s->opt.max_request_bytes = DEFAULT_MAX_REQUEST;
	if (!s->opt.max_connections)
		s->opt.max_connections = DEFAULT_MAX_CONNECTIONS;
	if (s->opt.read_timeout_ms <= 0)
		s->opt.read_timeout_ms = DEFAULT_READ_TIMEOUT_MS;
	s->listen_fd = -1;
	s->wake_pipe[0] = s->wake_pipe[1] = -1;
	s->port = -1;
	return s;
}

int http_server_route(struct http_server *s, const char *path, http_handler_fn fn, void *ctx)
{
	struct route *r;

	if (s->running || s->route_count == MAX_ROUTES || !path || path[0] != '/'
	    || strlen(path) >= sizeof(r->path))
		return -1;
	r = &s->routes[s->route_count++];
	copy_string(r->path, path, sizeof(r->path));
	r->fn = fn;
	r->ctx = ctx;
	return 0;
}

void http_server_on_tick(struct http_server *s, http_tick_fn fn, void *ctx, int interval_ms)
{
	s->tick_fn = fn;
	s->tick_ctx = ctx;
	s->tick_interval = (interval_ms > 0 ? interval_ms : 1000) / 1000.0;
}

static int parse_port_number(const char *text, int *port)
{
	char *end;
	long v;

	if (!*text)
		return -1;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || v < 0 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

int http_parse_listen(const char *listen, char *host, size_t hostlen, int *port)
{
	const char *colon;
	size_t n;

	if (!listen || !hostlen)
		return -1;
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');

		if (!close || close[1] != ':')
			return -1;
		listen++;
		n = (size_t)(close - listen);
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			return -1;
		n = (size_t)(colon - listen);
	}
	if (n >= hostlen)
		return -1;
	memcpy(host, listen, n);
	host[n] = '\0';
	return parse_port_number(colon + 1, port);
}

/* ---- listening ---- */

static int bind_listener(struct http_server *s, const char *listen_addr, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	char host[256], service[8];
	int port, rc, one = 1, fd = -1, saved = 0;

	if (http_parse_listen(listen_addr, host, sizeof(host), &port)) {
		snprintf(err, errlen, "http: listen address '%s' is not host:port", listen_addr);
		return -1;
	}
	snprintf(service, sizeof(service), "%d", port);
	rc = getaddrinfo(*host ? host : NULL, service, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "http: cannot resolve '%s': %s", listen_addr,
			 gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		/* A deep backlog: past it the kernel leaves a burst of clients
		 * half-open (connected on their side, unknown here) for a minute. */
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 1024))
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "http: cannot listen on '%s': %s", listen_addr,
			 strerror(saved ? saved : EADDRNOTAVAIL));
		return -1;
	}
	s->listen_fd = fd;
	return 0;
}

static int bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char serv[8];

	if (getsockname(fd, (struct sockaddr *)&ss, &len)
	    || getnameinfo((struct sockaddr *)&ss, len, NULL, 0, serv, sizeof(serv),
			   NI_NUMERICSERV))
		return -1;
	return atoi(serv);
}

/* ---- responses ---- */

static void queue_response(struct http_conn *c, int status, const char *content_type,
			   const void *body, size_t body_len, bool send_body)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "Cache-Control: no-store\r\n%sConnection: close\r\n\r\n",
		     status, http_status_text(status), content_type, body_len,
		     status == 405 ? "Allow: GET, HEAD\r\n" : "");
	buf_reset(&c->out);
	buf_append(&c->out, head, (size_t)n);
	if (send_body && body_len)
		buf_append(&c->out, body, body_len);
	c->out_sent = 0;
	c->state = CONN_WRITING;
	c->deadline = now_monotonic() + c->write_timeout;
}

static void queue_error(struct http_conn *c, int status)
{
	char body[96];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, http_status_text(status));

	queue_response(c, status, "text/plain; charset=utf-8", body, (size_t)n, true);
}

/* ---- requests ---- */

static bool is_method_char(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_target_char(char c)
{
	return c > 0x20 && c < 0x7f;
}

/* Splits "METHOD SP target SP HTTP/1.x" in place. 0 or -1. */
static int split_request_line(char *line, char **method, char **target)
{
	char *sp1 = strchr(line, ' '), *sp2, *version;

	if (!sp1 || sp1 == line)
		return -1;
	*sp1 = '\0';
	sp2 = strchr(sp1 + 1, ' ');
	if (!sp2)
		return -1;
	*sp2 = '\0';
	version = sp2 + 1;
	*method = line;
	*target = sp1 + 1;
	for (char *p = *method; *p; p++)
		if (!is_method_char(*p))
			return -1;
	if (**target != '/')
		return -1;
	for (char *p = *target; *p; p++)
		if (!is_target_char(*p))
			return -1;
	return strcmp(version, "HTTP/1.1") && strcmp(version, "HTTP/1.0") ? -1 : 0;
}

static const struct route *find_route(const struct http_server *s, const char *path)
{
	for (size_t i = 0; i < s->route_count; i++)
		if (!strcmp(s->routes[i].path, path))
			return &s->routes[i];
	return NULL;
}

static void run_handler(struct http_conn *c, const struct route *r, const char *method,
			char *target)
{
	char *q = strchr(target, '?');
	struct http_response resp = { 200, "text/plain; charset=utf-8", BUF_INIT };
	struct http_request req = { method, target, "" };

	if (q) {
		*q = '\0';
		req.query = q + 1;
	}
	r->fn(&req, &resp, r->ctx);
	queue_response(c, resp.status, resp.content_type, resp.body.data, resp.body.len,
		       strcmp(method, "HEAD") != 0);
	buf_free(&resp.body);
}

static void handle_request(struct http_server *s, struct http_conn *c)
{
	char *eol = memchr(c->in, '\n', c->in_len), *method, *target, *q;
	const struct route *r;

	*eol = '\0';
	if (eol > c->in && eol[-1] == '\r')
		eol[-1] = '\0';
	if (split_request_line(c->in, &method, &target)) {
		queue_error(c, 400);
		return;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		queue_error(c, 405);
		return;
	}
	q = strchr(target, '?');
	if (q)
		*q = '\0';
	r = find_route(s, target);
	if (q)
		*q = '?';
	if (!r)
		queue_error(c, 404);
	else
		run_handler(c, r, method, target);
}

/* True once the blank line ending the head arrived. */
static bool head_is_complete(const struct http_conn *c)
{
	c->in[c->in_len] = '\0';
	return strstr(c->in, "\r\n\r\n") || strstr(c->in, "\n\n");
}

/* ---- connections ---- */

static void close_conn(struct http_conn *c)
{
	close(c->fd);
	c->fd = -1;
	c->state = CONN_FREE;
	c->in_len = 0;
	buf_reset(&c->out);
}

static void start_lingering(struct http_conn *c)
{
	shutdown(c->fd, SHUT_WR);
	c->state = CONN_LINGERING;
	c->deadline = now_monotonic() + LINGER_MS / 1000.0;
}

static void read_request(struct http_server *s, struct http_conn *c)
{
	size_t room = s->opt.max_request_bytes - c->in_len;
	ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close_conn(c);
		return;
	}
	c->in_len += (size_t)n;
	if (memchr(c->in, '\0', c->in_len)) {
		queue_error(c, 400);
		return;
	}
	if (head_is_complete(c))
		handle_request(s, c);
	else if (c->in_len == s->opt.max_request_bytes)
		queue_error(c, 431);
}

static void write_response(struct http_conn *c)
{
	ssize_t n = send(c->fd, c->out.data + c->out_sent, c->out.len - c->out_sent,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		close_conn(c);
		return;
	}
	c->out_sent += (size_t)n;
	if (c->out_sent == c->out.len)
		start_lingering(c);
}

static void discard_input(struct http_conn *c)
{
	char sink[1024];
	ssize_t n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		close_conn(c);
}

static struct http_conn *free_conn(struct http_server *s)
{
	for (size_t i = 0; i < s->opt.max_connections; i++)
		if (s->conns[i].state == CONN_FREE)
			return &s->conns[i];
	return NULL;
}

/* The slot a newcomer may take when none is free: a lingering client, else
 * the one that has been sending its request head longest, once it has been
 * at it EVICT_AFTER_MS. So silent or slow clients holding every slot delay
 * a real request by that much, not by read_timeout_ms. NULL when none. */
static struct http_conn *evictable(struct http_server *s, double now)
{
	struct http_conn *oldest = NULL;

	for (size_t i = 0; i < s->opt.max_connections; i++) {
		struct http_conn *c = &s->conns[i];

		if (c->state == CONN_LINGERING)
			return c;
		if (c->state == CONN_READING && now - c->accepted_at >= EVICT_AFTER_MS / 1000.0
		    && (!oldest || c->accepted_at < oldest->accepted_at))
			oldest = c;
	}
	return oldest;
}

/* Frees c's slot: a reading client gets 408 if its socket takes it at once. */
static void evict(struct http_conn *c)
{
	if (c->state == CONN_READING) {
		queue_error(c, 408);
		if (send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			(void)0;   /* best effort: the slot is needed now */
	}
	close_conn(c);
}

static void accept_connections(struct http_server *s)
{
	double now = now_monotonic();
	struct http_conn *c;

	while (free_conn(s) || evictable(s, now)) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		c = free_conn(s);
		if (!c) {
			c = evictable(s, now);
			evict(c);
		}
		c->fd = fd;
		c->state = CONN_READING;
		c->in_len = 0;
		c->accepted_at = now;
		c->deadline = now + s->opt.read_timeout_ms / 1000.0;
		c->write_timeout = s->opt.read_timeout_ms / 1000.0;
	}
}

static void expire_conn(struct http_conn *c)
{
	if (c->state == CONN_READING)
		queue_error(c, 408);
	else
		close_conn(c);
}

static void service_conn(struct http_server *s, struct http_conn *c, short revents, double now)
{
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		if (c->state == CONN_READING)
			read_request(s, c);
		else if (c->state == CONN_LINGERING)
			discard_input(c);
	}
	if (c->state == CONN_WRITING && (revents & (POLLOUT | POLLERR | POLLHUP)))
		write_response(c);
	if (c->state == CONN_WRITING && c->out_sent == 0)
		write_response(c);
	if (c->state != CONN_FREE && now > c->deadline)
		expire_conn(c);
}

/* ---- the thread ---- */

static short events_for(const struct http_conn *c)
{
	return c->state == CONN_WRITING ? POLLOUT : POLLIN;
}

static size_t build_pollset(struct http_server *s, size_t *map)
{
	size_t n = 2;
	bool room = free_conn(s) || evictable(s, now_monotonic());

	s->pfds[0] = (struct pollfd){ .fd = s->wake_pipe[0], .events = POLLIN };
	/* With every slot taken (and none to evict yet), new clients wait in the
	 * listen backlog. */
	s->pfds[1] = (struct pollfd){ .fd = room ? s->listen_fd : -1, .events = POLLIN };
	for (size_t i = 0; i < s->opt.max_connections; i++) {
		if (s->conns[i].state == CONN_FREE)
			continue;
		s->pfds[n] = (struct pollfd){ .fd = s->conns[i].fd, .events = events_for(&s->conns[i]) };
		map[n++] = i;
	}
	return n;
}

static int poll_timeout_ms(const struct http_server *s, double now)
{
	double wait = MAX_POLL_MS / 1000.0;
	bool full = true;

	if (s->tick_fn && s->next_tick - now < wait)
		wait = s->next_tick - now;
	for (size_t i = 0; i < s->opt.max_connections; i++) {
		if (s->conns[i].state == CONN_FREE)
			full = false;
		else if (s->conns[i].deadline - now < wait)
			wait = s->conns[i].deadline - now;
	}
	/* Every slot taken: look again when the oldest may be evicted. */
	if (full && EVICT_AFTER_MS / 1000.0 < wait)
		wait = EVICT_AFTER_MS / 1000.0;
	return wait <= 0 ? 0 : (int)(wait * 1000.0) + 1;
}

static void run_tick(struct http_server *s, double now)
{
	if (!s->tick_fn || now < s->next_tick)
		return;
	s->tick_fn(now, s->tick_ctx);
	s->next_tick = now + s->tick_interval;
}

static void *server_main(void *arg)
{
	struct http_server *s = arg;
	size_t *map = calloc(s->opt.max_connections + 2, sizeof(*map));

	s->next_tick = now_monotonic();
	while (map) {
		size_t n = build_pollset(s, map);
		double now = now_monotonic();

		if (poll(s->pfds, n, poll_timeout_ms(s, now)) < 0 && errno != EINTR)
			break;
		if (s->pfds[0].revents)
			break;
		now = now_monotonic();
		for (size_t i = 2; i < n; i++)
			service_conn(s, &s->conns[map[i]], s->pfds[i].revents, now);
		if (s->pfds[1].revents & POLLIN)
			accept_connections(s);
		run_tick(s, now);
	}
	free(map);
	return NULL;
}

static int allocate_connections(struct http_server *s)
{
	s->conns = calloc(s->opt.max_connections, sizeof(*s->conns));
	s->pfds = calloc(s->opt.max_connections + 2, sizeof(*s->pfds));
	if (!s->conns || !s->pfds)
		return -1;
	for (size_t i = 0; i < s->opt.max_connections; i++) {
		s->conns[i].fd = -1;
		s->conns[i].in = malloc(s->opt.max_request_bytes + 1);
		if (!s->conns[i].in)
			return -1;
	}
	return 0;
}

static void release_connections(struct http_server *s)
{
	for (size_t i = 0; s->conns && i < s->opt.max_connections; i++) {
		if (s->conns[i].state != CONN_FREE)
			close_conn(&s->conns[i]);
		free(s->conns[i].in);
		buf_free(&s->conns[i].out);
	}
	free(s->conns);
	free(s->pfds);
	s->conns = NULL;
	s->pfds = NULL;
}

static void close_fds(struct http_server *s)
{
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	for (int i = 0; i < 2; i++)
		if (s->wake_pipe[i] >= 0)
			close(s->wake_pipe[i]);
	s->listen_fd = s->wake_pipe[0] = s->wake_pipe[1] = -1;
}

int http_server_start(struct http_server *s, const char *listen_addr, char *err, size_t errlen)
{
	if (s->running) {
		snprintf(err, errlen, "http: server already running");
		return -1;
	}
	if (bind_listener(s, listen_addr, err, errlen))
		return -1;
	if (pipe2(s->wake_pipe, O_CLOEXEC | O_NONBLOCK) || allocate_connections(s)) {
		snprintf(err, errlen, "http: cannot set up the server: %s", strerror(errno));
		release_connections(s);
		close_fds(s);
		return -1;
	}
	s->port = bound_port(s->listen_fd);
	if (pthread_create(&s->thread, NULL, server_main, s)) {
		snprintf(err, errlen, "http: cannot start the server thread");
		release_connections(s);
		close_fds(s);
		return -1;
	}
	s->running = true;
	return 0;
}

int http_server_port(const struct http_server *s)
{
	return s->port;
}

void http_server_stop(struct http_server *s)
{
	if (!s || !s->running)
		return;
	if (write(s->wake_pipe[1], "x", 1) < 0)
		(void)0;
	pthread_join(s->thread, NULL);
	release_connections(s);
	close_fds(s);
	s->running = false;
	s->port = -1;
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	http_server_stop(s);
	free(s);
}
