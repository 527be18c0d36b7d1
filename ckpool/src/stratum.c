/*
 * stratum.c - owns the Stratum server's sockets and threads: listeners,
 * per-thread epoll loops, accepting (with the per-IP limit), reading and
 * cutting lines, buffered writing, timeouts, closing, and fanning a new job
 * out to every miner. What the lines mean is stratum_methods.c's business.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "stratum.h"
#include "connection.h"
#include "jobs.h"
#include "log.h"
#include "stats.h"
#include "stratum_methods.h"
#include "util.h"
#include "workbase.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK 65536
#define READS_PER_EVENT 8
#define BATCH_BYTES 65536
#define EVENTS_PER_WAIT 256
#define ACCEPTS_PER_EVENT 64

#define FD_RESERVE 256              /* descriptors kept for RPC, logs, metrics */

struct listener {
	enum fd_kind kind;          /* FD_LISTENER */
	int fd;
	char address[256];
};

struct io_thread {
	enum fd_kind kind;          /* FD_WAKE: the wake eventfd's registration */
	int index;
	int epfd, wake_fd;
	pthread_t thread;
	struct conn *conns;
	struct conn *doomed;        /* marked by conn_close_soon, closed after the batch */
	uint64_t sent_generation, sent_block_seq;
	char *scratch;              /* READ_CHUNK bytes */
	struct conn *batching;      /* whose responses go to batch right now */
	char *batch;                /* BATCH_BYTES bytes */
	size_t batch_len;
	double last_sweep, last_accept_warning;
};

static struct {
	struct stratum_settings settings;
	struct listener listeners[CONFIG_MAX_SERVERURL];
	size_t listener_count;
	struct io_thread *threads;
	int thread_count;
	atomic_int stopping;
	atomic_uint_fast64_t next_client_id;
	long max_connections;       /* all listeners together, 0 = none */
	size_t pending_budget;      /* unsent bytes of all connections together */
} server;

/* Guards server.threads against stratum_stop() freeing them while another
 * thread wakes them (stratum_announce_work). */
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static struct log_limit abuse_log_limit;

const struct stratum_settings *stratum_settings(void)
{
	return &server.settings;
}

/* ---- writing ---- */

static void watch_writable(struct conn *c, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0),
				  .data.ptr = c };

	if (c->want_epollout == on)
		return;
	c->want_epollout = on;
	epoll_ctl(c->thread->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void keep_pending(struct conn *c, const char *data, size_t len)
{
	size_t pending = c->outlen - c->outpos;
	char *grown;

	if (pending + len > server.settings.cfg->max_pending_bytes) {
		conn_close_for_abuse(c, "slow reader: too many unsent bytes");
		return;
	}
	if (!pending_budget_take(len, server.pending_budget)) {
		conn_close_for_abuse(c, "slow reader: engine-wide unsent bytes budget exhausted");
		return;
	}
	if (c->outpos) {
		memmove(c->outbuf, c->outbuf + c->outpos, pending);
		c->outlen = (uint32_t)pending;
		c->outpos = 0;
	}
	grown = realloc(c->outbuf, pending + len);
	if (!grown) {
		pending_budget_give(len);
		conn_close_soon(c, "out of memory");
		return;
	}
	c->outbuf = grown;
	memcpy(c->outbuf + pending, data, len);
	c->outlen = (uint32_t)(pending + len);
	watch_writable(c, true);
}

static void write_or_keep(struct conn *c, const char *data, size_t len)
{
	ssize_t n = 0;

	if (c->outlen == c->outpos) {
		n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			conn_close_soon(c, "write failed");
			return;
		}
		if (n < 0)
			n = 0;
	}
	if ((size_t)n < len)
		keep_pending(c, data + n, len - (size_t)n);
}

static void flush_batch(struct io_thread *t)
{
	struct conn *c = t->batching;

	if (c && t->batch_len && !c->closing)
		write_or_keep(c, t->batch, t->batch_len);
	t->batch_len = 0;
}

void conn_send(struct conn *c, const char *data, size_t len)
{
	struct io_thread *t = c->thread;

	if (c->closing)
		return;
	if (t->batching != c || c->outlen != c->outpos) {
		write_or_keep(c, data, len);
		return;
	}
	if (t->batch_len + len > BATCH_BYTES)
		flush_batch(t);
	if (len > BATCH_BYTES)
		write_or_keep(c, data, len);
	else {
		memcpy(t->batch + t->batch_len, data, len);
		t->batch_len += len;
	}
}

static void flush_pending(struct conn *c)
{
	while (c->outpos < c->outlen) {
		ssize_t n = send(c->fd, c->outbuf + c->outpos, c->outlen - c->outpos,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			conn_close_soon(c, "write failed");
			return;
		}
		c->outpos += (uint32_t)n;
		pending_budget_give((size_t)n);
	}
	free(c->outbuf);
	c->outbuf = NULL;
	c->outlen = c->outpos = 0;
	watch_writable(c, false);
}

/* ---- closing ---- */

static void close_with_level(struct conn *c, const char *why, enum log_level level)
{
	unsigned long suppressed = 0;

	if (c->closing)
		return;
	c->closing = true;
	c->close_next = c->thread->doomed;
	c->thread->doomed = c;
	/* Warnings come from what peers do, so a flood of them is rate limited. */
	if (level < LOG_WARN || log_limit_allow(&abuse_log_limit, 20, 10.0, &suppressed))
		log_fields(level, "stratum", "closing connection",
			   json_pack("{s:I, s:s, s:s, s:I}", "client_id", (json_int_t)c->id,
				     "ip", c->ip, "reason", why, "suppressed",
				     (json_int_t)suppressed));
	stratum_conn_closed(c, why);
}

void conn_close_soon(struct conn *c, const char *why)
{
	close_with_level(c, why, c->authorized ? LOG_INFO : LOG_DEBUG);
}

void conn_close_for_abuse(struct conn *c, const char *why)
{
	if (!c->closing)
		atomic_fetch_add(&g_stats.connections_dropped_abuse, 1);
	close_with_level(c, why, LOG_WARN);
}

static void unlink_conn(struct io_thread *t, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

static void destroy_conn(struct io_thread *t, struct conn *c)
{
	epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	unlink_conn(t, c);
	pending_budget_give(c->outlen - c->outpos);
	ip_connection_release(c->ip);
	conn_global_release();
	nonce1_release(c, (size_t)server.settings.cfg->nonce1length);
	atomic_fetch_sub(&g_stats.connections_current, 1);
	conn_free(c);
}

static void close_doomed(struct io_thread *t)
{
	while (t->doomed) {
		struct conn *c = t->doomed;

		t->doomed = c->close_next;
		destroy_conn(t, c);
	}
}

/* ---- reading ---- */

/* Refills c's request bucket for the time since the last refill. */
static void refill_tokens(struct conn *c, double now)
{
	const struct config *cfg = server.settings.cfg;
	double tokens = c->tokens + (now - c->tokens_at) * cfg->request_rate;

	c->tokens = (float)(tokens > cfg->request_burst ? cfg->request_burst : tokens);
	c->tokens_at = now;
}

static void handle_line(struct conn *c, char *line, size_t len)
{
	while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (!len)
		return;
	/* Only a whole request is activity: a client trickling the bytes of a
	 * line that never ends (slowloris) still goes idle. */
	c->last_activity = now_monotonic();
	if (c->tokens < 1) {
		conn_close_for_abuse(c, "too many requests");
		return;
	}
	c->tokens -= 1;
	stratum_handle_line(c, line, len);
}

static void reject_oversize_line(struct conn *c)
{
	char msg[160];
	int n = snprintf(msg, sizeof(msg),
			 "{\"id\":null,\"result\":null,\"error\":[20,\"Line longer than %zu "
			 "bytes\",null]}\n",
			 server.settings.cfg->max_line_bytes);

	conn_send(c, msg, (size_t)n);
	conn_close_for_abuse(c, "line too long");
}

/* Keeps an unfinished line until its newline arrives. */
static void keep_partial(struct conn *c, const char *data, size_t len)
{
	char *grown;

	if (c->inlen + len > server.settings.cfg->max_line_bytes) {
		reject_oversize_line(c);
		return;
	}
	grown = realloc(c->inbuf, c->inlen + len + 1);
	if (!grown) {
		conn_close_soon(c, "out of memory");
		return;
	}
	c->inbuf = grown;
	memcpy(c->inbuf + c->inlen, data, len);
	c->inlen += (uint32_t)len;
}

/* Finishes a kept partial line with the start of data; returns where the
 * rest of data starts, or NULL when all of it was kept. */
static char *finish_partial(struct conn *c, char *p, char *end)
{
	char *nl = memchr(p, '\n', (size_t)(end - p));

	keep_partial(c, p, (size_t)((nl ? nl : end) - p));
	if (!nl || c->closing)
		return NULL;
	handle_line(c, c->inbuf, c->inlen);
	free(c->inbuf);
	c->inbuf = NULL;
	c->inlen = 0;
	return nl + 1;
}

static void feed(struct conn *c, char *data, size_t len)
{
	size_t max = server.settings.cfg->max_line_bytes;
	char *p = data, *end = data + len;

	if (c->inlen && !(p = finish_partial(c, p, end)))
		return;
	while (p < end && !c->closing) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl) {
			keep_partial(c, p, (size_t)(end - p));
			return;
		}
		if ((size_t)(nl - p) > max) {
			reject_oversize_line(c);
			return;
		}
		handle_line(c, p, (size_t)(nl - p));
		p = nl + 1;
	}
}

static void handle_readable(struct io_thread *t, struct conn *c)
{
	t->batching = c;
	for (int round = 0; round < READS_PER_EVENT && !c->closing; round++) {
		ssize_t n = recv(c->fd, t->scratch, READ_CHUNK, 0);

		if (n == 0) {
			conn_close_soon(c, "closed by miner");
			break;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_close_soon(c, "read failed");
			break;
		}
		refill_tokens(c, now_monotonic());
		feed(c, t->scratch, (size_t)n);
		if (n < READ_CHUNK)
			break;
	}
	flush_batch(t);
	t->batching = NULL;
}

/* ---- accepting ---- */

static void describe_peer(const struct sockaddr_storage *ss, char *ip, size_t len,
			  uint16_t *port)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		/* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d. */
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
			inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], ip, (socklen_t)len);
		else
			inet_ntop(AF_INET6, &a->sin6_addr, ip, (socklen_t)len);
		*port = ntohs(a->sin6_port);
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &a->sin_addr, ip, (socklen_t)len);
		*port = ntohs(a->sin_port);
	}
}

static void adopt_connection(struct io_thread *t, int fd, const char *ip, uint16_t port)
{
	struct conn *c = conn_new(fd, ip, port);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	int one = 1;

	if (!c) {
		ip_connection_release(ip);
		conn_global_release();
		close(fd);
		return;
	}
	c->id = atomic_fetch_add(&server.next_client_id, 1) + 1;
	c->thread = t;
	c->tokens = (float)server.settings.cfg->request_burst;
	c->tokens_at = c->connected_at;
	stratum_conn_init(c);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ev.data.ptr = c;
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		ip_connection_release(ip);
		conn_global_release();
		close(fd);
		conn_free(c);
		return;
	}
	c->next = t->conns;
	if (t->conns)
		t->conns->prev = c;
	t->conns = c;
	atomic_fetch_add(&g_stats.connections_current, 1);
	atomic_fetch_add(&g_stats.connections_total, 1);
	log_debug("stratum", "client %llu connected from %s:%u", (unsigned long long)c->id, ip,
		  port);
}

static void warn_accept_failure(struct io_thread *t, const char *why)
{
	double now = now_monotonic();

	if (now - t->last_accept_warning < 5)
		return;
	t->last_accept_warning = now;
	log_warn("stratum", "accept failed: %s", why);
}

static void handle_accept(struct io_thread *t, struct listener *l)
{
	for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char ip[INET6_ADDRSTRLEN];
		uint16_t port;
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				warn_accept_failure(t, strerror(errno));
			return;
		}
		describe_peer(&ss, ip, sizeof(ip), &port);
		if (!conn_global_admit(server.max_connections)) {
			warn_accept_failure(t, "too many connections in total");
			close(fd);
			continue;
		}
		if (!ip_connection_admit(ip, server.settings.cfg->max_conns_per_ip)) {
			conn_global_release();
			warn_accept_failure(t, "too many connections from one address");
			close(fd);
			continue;
		}
		adopt_connection(t, fd, ip, port);
	}
}

/* ---- new work and housekeeping ---- */

static void send_new_work(struct io_thread *t)
{
	uint64_t seq, generation;
	struct workbase *wb = jobs_current(&seq, &generation);
	bool clean;

	if (!wb)
		return;
	clean = seq != t->sent_block_seq;
	for (struct conn *c = t->conns; c; c = c->next)
		if (c->subscribed && c->authorized && !c->closing)
			stratum_send_job(c, wb, seq, clean);
	t->sent_generation = generation;
	t->sent_block_seq = seq;
	workbase_unref(wb);
}

static void handle_wake(struct io_thread *t)
{
	uint64_t v;

	if (read(t->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("stratum", "wake-up read failed: %s", strerror(errno));
	if (!atomic_load(&server.stopping) && jobs_generation() != t->sent_generation)
		send_new_work(t);
}

static void sweep_timeouts(struct io_thread *t, double now)
{
	const struct config *cfg = server.settings.cfg;

	for (struct conn *c = t->conns; c; c = c->next) {
		if (c->closing)
			continue;
		if (!c->authorized && now - c->connected_at > cfg->handshake_timeout_s)
			conn_close_soon(c, "handshake timeout");
		else if (now - c->last_activity > cfg->idle_timeout_s)
			conn_close_soon(c, "idle timeout");
		else {
			stratum_conn_tick(c, now);
			continue;
		}
		atomic_fetch_add(&g_stats.connections_dropped_timeout, 1);
	}
	t->last_sweep = now;
}

static void handle_event(struct io_thread *t, struct epoll_event *ev)
{
	enum fd_kind kind = *(enum fd_kind *)ev->data.ptr;
	struct conn *c;

	if (kind == FD_LISTENER) {
		handle_accept(t, ev->data.ptr);
		return;
	}
	if (kind == FD_WAKE) {
		handle_wake(t);
		return;
	}
	c = ev->data.ptr;
	if (c->closing)
		return;
	if (ev->events & EPOLLOUT)
		flush_pending(c);
	if (!c->closing && ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		handle_readable(t, c);
}

static void close_everything(struct io_thread *t)
{
	for (struct conn *c = t->conns; c; c = c->next)
		if (!c->closing)
			conn_close_soon(c, "engine shutting down");
	close_doomed(t);
}

static void *io_thread_main(void *arg)
{
	struct io_thread *t = arg;
	struct epoll_event events[EVENTS_PER_WAIT];

	while (!atomic_load(&server.stopping)) {
		int n = epoll_wait(t->epfd, events, EVENTS_PER_WAIT, 1000);
		double now;

		for (int i = 0; i < n; i++)
			handle_event(t, &events[i]);
		close_doomed(t);
		now = now_monotonic();
		if (now - t->last_sweep >= 1.0) {
			sweep_timeouts(t, now);
			close_doomed(t);
		}
	}
	close_everything(t);
	stratum_methods_thread_exit();
	return NULL;
}

/* ---- start and stop ---- */

static int open_listener(struct listener *l, const char *hostport, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL;
	char host[256], port_text[8];
	int port, one = 1, rc;

	l->kind = FD_LISTENER;
	l->fd = -1;
	copy_string(l->address, hostport, sizeof(l->address));
	if (split_host_port(hostport, host, sizeof(host), &port)) {
		snprintf(err, errlen, "stratum: serverurl \"%s\" is not host:port", hostport);
		return -1;
	}
	snprintf(port_text, sizeof(port_text), "%d", port);
	rc = getaddrinfo(host, port_text, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "stratum: cannot resolve %s: %s", hostport, gai_strerror(rc));
		return -1;
	}
	l->fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0 || setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))
	    || bind(l->fd, res->ai_addr, res->ai_addrlen) || listen(l->fd, 4096)) {
		snprintf(err, errlen, "stratum: cannot listen on %s: %s", hostport, strerror(errno));
		freeaddrinfo(res);
		if (l->fd >= 0)
			close(l->fd);
		l->fd = -1;
		return -1;
	}
	freeaddrinfo(res);
	log_info("stratum", "listening on %s", hostport);
	return 0;
}

static int watch(int epfd, int fd, void *ptr, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Releases what start_thread set up (the thread itself is joined elsewhere). */
static void free_thread_resources(struct io_thread *t)
{
	if (t->epfd >= 0)
		close(t->epfd);
	if (t->wake_fd >= 0)
		close(t->wake_fd);
	free(t->scratch);
	free(t->batch);
	t->epfd = t->wake_fd = -1;
	t->scratch = t->batch = NULL;
}

static int start_thread(struct io_thread *t, int index, char *err, size_t errlen)
{
	t->kind = FD_WAKE;
	t->index = index;
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	t->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	t->scratch = malloc(READ_CHUNK);
	t->batch = malloc(BATCH_BYTES);
	t->last_sweep = now_monotonic();
	if (t->epfd < 0 || t->wake_fd < 0 || !t->scratch || !t->batch
	    || watch(t->epfd, t->wake_fd, t, EPOLLIN)) {
		snprintf(err, errlen, "stratum: cannot set up I/O thread: %s", strerror(errno));
		goto failed;
	}
	for (size_t i = 0; i < server.listener_count; i++) {
		if (watch(t->epfd, server.listeners[i].fd, &server.listeners[i],
			  EPOLLIN | EPOLLEXCLUSIVE)) {
			snprintf(err, errlen, "stratum: epoll: %s", strerror(errno));
			goto failed;
		}
	}
	if (pthread_create(&t->thread, NULL, io_thread_main, t)) {
		snprintf(err, errlen, "stratum: cannot start I/O thread");
		goto failed;
	}
	return 0;
failed:
	free_thread_resources(t);
	return -1;
}

/* Connections all listeners together may hold: max_connections (or
 * STRATUM_MAX_CONNECTIONS when 0), and never so many that the engine runs
 * out of descriptors for its own sockets and files (accept failing with
 * EMFILE would also spin). */
static long connection_limit(const struct config *cfg)
{
	struct rlimit rl;
	long limit = cfg->max_connections > 0 ? cfg->max_connections : STRATUM_MAX_CONNECTIONS;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY) {
		long by_fds = (long)rl.rlim_cur - FD_RESERVE;

		if (by_fds < 1)
			by_fds = 1;
		if (limit <= 0 || by_fds < limit)
			limit = by_fds;
	}
	return limit;
}

static void init_settings(const struct config *cfg, enum network net)
{
	struct stratum_settings *st = &server.settings;

	st->cfg = cfg;
	st->net = net;
	vardiff_policy_default(&st->vardiff);
	st->vardiff.mindiff = cfg->mindiff;
	/* No configured ceiling still gets one: a difficulty beyond any
	 * network's only makes credit figures overflow. */
	st->vardiff.maxdiff = cfg->maxdiff > 0 && cfg->maxdiff < STRATUM_DIFF_CEILING
			      ? cfg->maxdiff : STRATUM_DIFF_CEILING;
	st->vardiff.target_time = cfg->vardiff_target_s;
	st->vardiff.retarget_time = cfg->vardiff_target_s * 6;
	st->old_diff_grace_s = cfg->vardiff_target_s * 2 > 10 ? cfg->vardiff_target_s * 2 : 10;
	server.max_connections = connection_limit(cfg);
	server.pending_budget = cfg->max_pending_total_bytes;
}

/* Wakes every I/O thread; the caller holds wake_lock. */
static void wake_threads(void)
{
	uint64_t one = 1;

	for (int i = 0; i < server.thread_count; i++)
		if (write(server.threads[i].wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn("stratum", "cannot wake I/O thread %d", i);
}

/* Stops the threads started so far, closes the listeners, frees it all. */
static void tear_down(void)
{
	pthread_mutex_lock(&wake_lock);
	atomic_store(&server.stopping, 1);
	wake_threads();
	pthread_mutex_unlock(&wake_lock);
	for (int i = 0; i < server.thread_count; i++)
		pthread_join(server.threads[i].thread, NULL);
	pthread_mutex_lock(&wake_lock);
	for (size_t i = 0; i < server.listener_count; i++)
		close(server.listeners[i].fd);
	for (int i = 0; i < server.thread_count; i++)
		free_thread_resources(&server.threads[i]);
	free(server.threads);
	server.threads = NULL;
	server.thread_count = 0;
	server.listener_count = 0;
	pthread_mutex_unlock(&wake_lock);
}

int stratum_start(const struct config *cfg, enum network net, char *err, size_t errlen)
{
	struct io_thread *threads;

	init_settings(cfg, net);
	atomic_store(&server.stopping, 0);
	for (size_t i = 0; i < cfg->serverurl_count; i++) {
		if (open_listener(&server.listeners[i], cfg->serverurl[i], err, errlen))
			goto failed;
		server.listener_count++;
	}
	threads = calloc((size_t)cfg->stratum_threads, sizeof(*server.threads));
	if (!threads) {
		snprintf(err, errlen, "stratum: out of memory");
		goto failed;
	}
	pthread_mutex_lock(&wake_lock);
	server.threads = threads;
	pthread_mutex_unlock(&wake_lock);
	for (int i = 0; i < cfg->stratum_threads; i++) {
		if (start_thread(&server.threads[i], i, err, errlen))
			goto failed;
		pthread_mutex_lock(&wake_lock);
		server.thread_count++;
		pthread_mutex_unlock(&wake_lock);
	}
	jobs_set_listener(stratum_announce_work);
	stratum_announce_work();
	return 0;
failed:
	tear_down();
	return -1;
}

void stratum_announce_work(void)
{
	pthread_mutex_lock(&wake_lock);
	if (!atomic_load(&server.stopping))
		wake_threads();
	pthread_mutex_unlock(&wake_lock);
}

void stratum_stop(void)
{
	/* Returns only once no publish is calling stratum_announce_work (jobs.c
	 * calls its listener under its own lock), and wake_lock keeps anyone
	 * else who calls it from touching the threads being freed. */
	jobs_set_listener(NULL);
	tear_down();
}
