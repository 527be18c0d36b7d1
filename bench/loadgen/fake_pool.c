/*
 * fake_pool.c - a throwaway Stratum responder for testing and calibrating
 * stratum_load, not a pool: it validates nothing. It answers subscribe and
 * authorize, sends one difficulty and one job, and answers every submit true
 * (or, with --reject-every K, every K-th with error 23). One thread, epoll.
 *
 *   fake_pool [--port P] [--diff D] [--reject-every K]
 *
 * Prints "listening PORT" on stdout once it accepts connections.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINE_MAX_BYTES 8192

struct client {
	int fd;
	unsigned en1;
	char in[LINE_MAX_BYTES];
	size_t inlen;
	char *out;
	size_t outlen, outcap;
};

static double difficulty = 1e-10;
static unsigned long reject_every, submits;
static unsigned next_en1 = 1;
static int epfd;

static void out(struct client *c, const char *data, size_t len)
{
	if (c->outlen + len > c->outcap) {
		c->outcap = (c->outlen + len) * 2;
		c->out = realloc(c->out, c->outcap);
		if (!c->out)
			abort();
	}
	memcpy(c->out + c->outlen, data, len);
	c->outlen += len;
}

static void drop(struct client *c)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	free(c);
}

/* Writes what it can; returns -1 when the client is gone. */
static int flush_out(struct client *c)
{
	size_t off = 0;
	while (off < c->outlen) {
		ssize_t n = send(c->fd, c->out + off, c->outlen - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			break;
		} else {
			return -1;
		}
	}
	memmove(c->out, c->out + off, c->outlen - off);
	c->outlen -= off;
	struct epoll_event ev = { .events = EPOLLIN | (c->outlen ? EPOLLOUT : 0), .data.ptr = c };
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

/* The id of a request as written (digits), or "null". */
static void copy_id(const char *line, char *id, size_t cap)
{
	const char *p = strstr(line, "\"id\"");
	snprintf(id, cap, "null");
	if (!p)
		return;
	p += 4;
	while (*p == ' ' || *p == ':')
		p++;
	size_t n = strspn(p, "0123456789");
	if (n > 0 && n < cap)
		snprintf(id, cap, "%.*s", (int)n, p);
}

static void handle_line(struct client *c, const char *line)
{
	char id[24], buf[1024];
	int n;
	copy_id(line, id, sizeof(id));
	if (strstr(line, "\"mining.submit\"")) {
		submits++;
		if (reject_every && submits % reject_every == 0)
			n = snprintf(buf, sizeof(buf),
				     "{\"id\":%s,\"result\":null,\"error\":[23,\"low difficulty share\",null]}\n",
				     id);
		else
			n = snprintf(buf, sizeof(buf), "{\"id\":%s,\"result\":true,\"error\":null}\n", id);
	} else if (strstr(line, "\"mining.subscribe\"")) {
		c->en1 = next_en1++;
		n = snprintf(buf, sizeof(buf),
			     "{\"id\":%s,\"result\":[[[\"mining.notify\",\"%08x\"]],\"%08x\",8],"
			     "\"error\":null}\n",
			     id, c->en1, c->en1);
	} else if (strstr(line, "\"mining.authorize\"")) {
		n = snprintf(buf, sizeof(buf),
			     "{\"id\":%s,\"result\":true,\"error\":null}\n"
			     "{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[%.17g]}\n"
			     "{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"1\","
			     "\"%064x\",\"01000000010000000000000000000000000000000000000000000000000"
			     "0000000000000ffffffff0b03\",\"ffffffff0100f2052a0100000000000000\","
			     "[],\"20000000\",\"1d00ffff\",\"66000000\",true]}\n",
			     id, difficulty, 0);
	} else if (strstr(line, "\"method\"")) {
		n = snprintf(buf, sizeof(buf), "{\"id\":%s,\"result\":true,\"error\":null}\n", id);
	} else {
		n = snprintf(buf, sizeof(buf),
			     "{\"id\":null,\"result\":null,\"error\":[20,\"malformed\",null]}\n");
	}
	out(c, buf, (size_t)n);
}

/* Reads and answers; returns -1 when the client is gone. */
static int on_readable(struct client *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
		if (n == 0)
			return -1;
		if (n < 0)
			return errno == EAGAIN ? flush_out(c) : errno == EINTR ? 0 : -1;
		size_t start = 0, end = c->inlen + (size_t)n;
		for (size_t i = c->inlen; i < end; i++) {
			if (c->in[i] != '\n')
				continue;
			c->in[i] = '\0';
			handle_line(c, c->in + start);
			start = i + 1;
		}
		memmove(c->in, c->in + start, end - start);
		c->inlen = end - start;
		if (c->inlen == sizeof(c->in))
			return -1; /* line too long */
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", 1, 0, 'p' }, { "diff", 1, 0, 'd' }, { "reject-every", 1, 0, 'r' }, { 0, 0, 0, 0 }
	};
	int port = 0, ch;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch == 'p')
			port = atoi(optarg);
		else if (ch == 'd')
			difficulty = strtod(optarg, NULL);
		else if (ch == 'r')
			reject_every = strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl;
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(addr);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 4096) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &alen)) {
		perror("fake_pool");
		return 1;
	}
	epfd = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
	printf("listening %d\n", ntohs(addr.sin_port));
	fflush(stdout);
	struct epoll_event events[512];
	for (;;) {
		int n = epoll_wait(epfd, events, 512, -1);
		for (int i = 0; i < n; i++) {
			struct client *c = events[i].data.ptr;
			if (!c) {
				int fd;
				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					c = calloc(1, sizeof(*c));
					c->fd = fd;
					struct epoll_event cev = { .events = EPOLLIN, .data.ptr = c };
					epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &cev);
				}
				continue;
			}
			int gone = 0;
			if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				gone = on_readable(c);
			if (!gone && (events[i].events & EPOLLOUT))
				gone = flush_out(c);
			if (gone)
				drop(c);
		}
	}
}
