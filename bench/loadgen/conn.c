/*
 * conn.c - one Stratum connection of the load generator: non-blocking
 * connect, handshake (subscribe, authorize, optional suggest_difficulty),
 * notifications, submits and the scan of their responses.
 *
 * Submit responses are the hot path: they are scanned for "id", "result" and
 * "error" without a JSON parser. Everything with a "method" goes to jansson.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "load.h"

enum { ID_SUBSCRIBE = 1, ID_AUTHORIZE = 2, ID_SUGGEST = 3 };

unsigned ring_size = 64;
void (*on_response)(struct conn *c, uint64_t latency_ns, bool accepted);

static struct conn **dirty;
static size_t dirty_len, dirty_cap;

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void append(struct conn *c, const char *data, size_t len)
{
	if (c->wlen + len > c->wcap) {
		size_t cap = c->wcap ? c->wcap : 1024;
		while (cap < c->wlen + len)
			cap *= 2;
		char *grown = realloc(c->wbuf, cap);
		if (!grown)
			abort();
		c->wbuf = grown;
		c->wcap = cap;
	}
	memcpy(c->wbuf + c->wlen, data, len);
	c->wlen += len;
	if (!c->dirty) {
		if (dirty_len == dirty_cap) {
			dirty_cap = dirty_cap ? dirty_cap * 2 : 1024;
			dirty = realloc(dirty, dirty_cap * sizeof(*dirty));
			if (!dirty)
				abort();
		}
		dirty[dirty_len++] = c;
		c->dirty = true;
	}
}

static void watch(struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

void conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	if (c->state == C_READY)
		cnt.ready--;
	if (c->state != C_DEAD) {
		cnt.unanswered += c->outstanding;
		c->outstanding = 0;
		c->state = C_DEAD;
	}
}

static void drop(struct conn *c, const char *why)
{
	if (c->state == C_DEAD)
		return;
	cnt.disconnects++;
	if (cnt.disconnects <= 5)
		fprintf(stderr, "stratum_load: connection %d closed: %s\n", c->index, why);
	conn_close(c);
}

static void write_out(struct conn *c)
{
	size_t off = 0;
	while (off < c->wlen) {
		ssize_t n = send(c->fd, c->wbuf + off, c->wlen - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		drop(c, strerror(errno));
		return;
	}
	memmove(c->wbuf, c->wbuf + off, c->wlen - off);
	c->wlen -= off;
	bool want = c->wlen > 0;
	if (want != c->want_write) {
		c->want_write = want;
		watch(c, EPOLLIN | (want ? EPOLLOUT : 0));
	}
}

void conn_flush_dirty(void)
{
	for (size_t i = 0; i < dirty_len; i++) {
		dirty[i]->dirty = false;
		if (dirty[i]->state != C_DEAD && !dirty[i]->want_write)
			write_out(dirty[i]);
	}
	dirty_len = 0;
}

int conn_open(struct conn *c, int index)
{
	memset(c, 0, sizeof(*c));
	c->index = index;
	c->fd = -1;
	c->next_id = SUBMIT_ID_BASE;
	c->sent_ns = calloc(ring_size, sizeof(uint64_t));
	c->rcap = RBUF_INITIAL;
	c->rbuf = malloc(c->rcap);
	if (!c->sent_ns || !c->rbuf)
		abort();
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port) };
	if (inet_pton(AF_INET, opt.host, &addr.sin_addr) != 1) {
		struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
		if (getaddrinfo(opt.host, NULL, &hints, &res) != 0)
			return -1;
		addr.sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
		freeaddrinfo(res);
	}
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->state = C_CONNECTING;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	c->want_write = true;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

static void send_handshake(struct conn *c)
{
	char line[1024];
	int n = snprintf(line, sizeof(line),
			 "{\"id\":%d,\"method\":\"mining.subscribe\",\"params\":[\"%s\"]}\n"
			 "{\"id\":%d,\"method\":\"mining.authorize\",\"params\":[\"%s\",\"%s\"]}\n",
			 ID_SUBSCRIBE, opt.user_agent, ID_AUTHORIZE, opt.user, opt.password);
	append(c, line, (size_t)n);
	if (opt.suggest_diff > 0) {
		n = snprintf(line, sizeof(line),
			     "{\"id\":%d,\"method\":\"mining.suggest_difficulty\",\"params\":[%.17g]}\n",
			     ID_SUGGEST, opt.suggest_diff);
		append(c, line, (size_t)n);
	}
	c->state = C_HANDSHAKE;
}

bool conn_wants_hashing(const struct conn *c)
{
	return opt.hash_mode == HASH_ON || opt.hash_mode == HASH_MISS ||
	       (opt.hash_mode == HASH_AUTO && share_needs_hashing(c->difficulty));
}

static void check_ready(struct conn *c)
{
	if (c->state == C_HANDSHAKE && c->subscribed && c->authorized && c->has_job &&
	    c->difficulty > 0) {
		c->state = C_READY;
		cnt.ready++;
	}
}

/* Restarts nonce search for the job and extranonce2 now current. */
static void reset_search(struct conn *c)
{
	c->ready_count = 0;
	c->scan_nonce = 0;
	if (opt.hash_mode != HASH_OFF && c->job.coinb1)
		share_prepare(c);
}

static void on_notification(struct conn *c, const char *line)
{
	json_t *msg = json_loads(line, 0, NULL);
	const char *method = json_string_value(json_object_get(msg, "method"));
	json_t *params = json_object_get(msg, "params");
	if (!method || !json_is_array(params))
		goto out;
	if (!strcmp(method, "mining.notify")) {
		cnt.notifies++;
		bool clean = json_is_true(json_array_get(params, 8));
		cnt.clean_jobs += clean;
		/* When hashing, found nonces stay valid until a clean job; otherwise
		 * follow every job, as a miner would. */
		if (c->has_job && !clean && c->ready_count > 0)
			goto out;
		if (job_from_notify(&c->job, params, opt.hash_mode != HASH_OFF) == 0) {
			c->has_job = true;
			reset_search(c);
		}
	} else if (!strcmp(method, "mining.set_difficulty")) {
		double d = json_number_value(json_array_get(params, 0));
		if (d > 0 && d != c->difficulty) {
			if (c->difficulty > 0)
				cnt.diff_changes++;
			/* Nonces found for an easier difficulty may not pass the new one. */
			if (d > c->difficulty)
				c->ready_count = 0;
			c->difficulty = d;
		}
	} else if (!strcmp(method, "mining.set_extranonce")) {
		/* Not requested (no extranonce.subscribe), so not expected. */
	}
	check_ready(c);
out:
	json_decref(msg);
}

static void on_subscribe(struct conn *c, const char *line)
{
	json_t *msg = json_loads(line, 0, NULL);
	json_t *result = json_object_get(msg, "result");
	const char *en1 = json_string_value(json_array_get(result, 1));
	json_int_t en2 = json_integer_value(json_array_get(result, 2));
	if (!en1 || strlen(en1) >= sizeof(c->en1) || en2 < 1 || en2 > MAX_EN2) {
		json_decref(msg);
		drop(c, "bad mining.subscribe result");
		return;
	}
	snprintf(c->en1, sizeof(c->en1), "%s", en1);
	c->en1_len = strlen(en1) / 2;
	for (size_t i = 0; i < c->en1_len; i++)
		sscanf(en1 + 2 * i, "%2hhx", &c->en1_bin[i]);
	c->en2_size = (size_t)en2;
	/* A random extranonce2 per connection keeps shares unique across runs
	 * even when the server hands out the same extranonce1 again. */
	for (size_t i = 0; i < c->en2_size; i++) {
		c->en2_bin[i] = (uint8_t)(random() & 0xff);
		sprintf(c->en2_hex + 2 * i, "%02x", c->en2_bin[i]);
	}
	c->nonce = (uint32_t)random();
	c->subscribed = true;
	json_decref(msg);
	if (c->has_job)
		reset_search(c);
	check_ready(c);
}

/* Skips to the value of "key" in a flat JSON object; NULL when absent. */
static const char *value_of(const char *line, const char *key)
{
	const char *p = strstr(line, key);
	if (!p)
		return NULL;
	p += strlen(key);
	while (*p == ' ' || *p == ':' || *p == '\t')
		p++;
	return p;
}

/* The code of a Stratum error, [code, msg, data] or {"code": n}; 0 when null. */
static int error_code(const char *line, const char **msg)
{
	const char *e = value_of(line, "\"error\"");
	*msg = NULL;
	if (!e || !strncmp(e, "null", 4))
		return 0;
	if (*e == '{')
		e = value_of(e, "\"code\"");
	else if (*e == '[')
		e++;
	if (!e)
		return 20;
	int code = atoi(e);
	const char *quote = strchr(e, '"');
	if (quote)
		*msg = quote + 1;
	return code ? code : 20;
}

static void on_submit_response(struct conn *c, uint32_t id, const char *line)
{
	if (c->outstanding == 0)
		return;
	c->outstanding--;
	uint64_t latency = now_ns() - c->sent_ns[id & (ring_size - 1)];
	const char *result = value_of(line, "\"result\"");
	const char *msg;
	int code = error_code(line, &msg);
	bool accepted = result && !strncmp(result, "true", 4) && code == 0;
	if (accepted) {
		cnt.accepted++;
	} else {
		cnt.rejected++;
		int slot = code > 0 && code < 64 ? code : 0;
		if (cnt.reject_by_code[slot]++ == 0 && msg) {
			size_t len = strcspn(msg, "\"");
			if (len >= sizeof(cnt.reject_msg[slot]))
				len = sizeof(cnt.reject_msg[slot]) - 1;
			memcpy(cnt.reject_msg[slot], msg, len);
		}
	}
	if (on_response)
		on_response(c, latency, accepted);
}

static void on_line(struct conn *c, const char *line)
{
	if (strstr(line, "\"method\"")) {
		on_notification(c, line);
		return;
	}
	const char *id = value_of(line, "\"id\"");
	if (!id || *id < '0' || *id > '9')
		return;
	uint32_t n = (uint32_t)strtoul(id, NULL, 10);
	if (n >= SUBMIT_ID_BASE) {
		on_submit_response(c, n, line);
	} else if (n == ID_SUBSCRIBE) {
		on_subscribe(c, line);
	} else if (n == ID_AUTHORIZE) {
		const char *result = value_of(line, "\"result\"");
		if (!result || strncmp(result, "true", 4)) {
			drop(c, "mining.authorize refused");
			return;
		}
		c->authorized = true;
		check_ready(c);
	}
}

static void read_in(struct conn *c)
{
	for (;;) {
		if (c->rlen == c->rcap) {
			if (c->rcap >= RBUF_MAX) {
				drop(c, "line from server too long");
				return;
			}
			c->rcap *= 2;
			c->rbuf = realloc(c->rbuf, c->rcap);
			if (!c->rbuf)
				abort();
		}
		ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
		if (n == 0) {
			drop(c, "server closed the connection");
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				drop(c, strerror(errno));
			return;
		}
		size_t start = 0, end = c->rlen + (size_t)n;
		for (size_t i = c->rlen; i < end; i++) {
			if (c->rbuf[i] != '\n')
				continue;
			c->rbuf[i] = '\0';
			on_line(c, c->rbuf + start);
			if (c->state == C_DEAD)
				return;
			start = i + 1;
		}
		memmove(c->rbuf, c->rbuf + start, end - start);
		c->rlen = end - start;
		if ((size_t)n < c->rcap - c->rlen)
			return; /* short read: the socket is drained */
	}
}

void conn_on_event(struct conn *c, uint32_t events)
{
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			drop(c, strerror(err));
			return;
		}
		send_handshake(c);
		c->want_write = false;
		watch(c, EPOLLIN);
		write_out(c);
		return;
	}
	if (events & EPOLLIN)
		read_in(c);
	if (c->state != C_DEAD && (events & EPOLLOUT))
		write_out(c);
	if (c->state != C_DEAD && (events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN))
		drop(c, "socket error");
}

bool conn_can_submit(const struct conn *c)
{
	return c->state == C_READY && c->outstanding < opt.window;
}

void conn_queue_submit(struct conn *c)
{
	uint32_t nonce;
	if (conn_wants_hashing(c)) {
		if (c->ready_count == 0) {
			uint64_t h = share_find(c, 1);
			cnt.hashes_inline += h;
		}
		nonce = c->ready_nonces[--c->ready_count];
	} else {
		nonce = c->nonce++;
	}
	uint32_t id = c->next_id++;
	char line[512];
	int n = snprintf(line, sizeof(line),
			 "{\"id\":%u,\"method\":\"mining.submit\",\"params\":"
			 "[\"%s\",\"%s\",\"%s\",\"%s\",\"%08x\"]}\n",
			 id, opt.user, c->job.id, c->en2_hex, c->job.ntime, nonce);
	c->sent_ns[id & (ring_size - 1)] = now_ns();
	c->outstanding++;
	cnt.sent++;
	append(c, line, (size_t)n);
}
