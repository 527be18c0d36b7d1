/*
 * connection.c - owns the connection record (allocation, lazily allocated
 * buffers, the job slots with per-miner coinbases) and the two process-wide
 * tables: connections per IP address and extranonce1 values in use.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "connection.h"
#include "share.h"
#include "util.h"
#include "workbase.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct conn *conn_new(int fd, const char *ip, uint16_t port)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->kind = FD_CONNECTION;
	c->fd = fd;
	copy_string(c->ip, ip, sizeof(c->ip));
	c->port = port;
	c->connected_at = c->last_activity = now_monotonic();
	return c;
}

void conn_clear_jobs(struct conn *c)
{
	for (size_t i = 0; i < CONN_JOB_SLOTS; i++) {
		workbase_unref(c->jobs[i].wb);
		free(c->jobs[i].coinbase);
		memset(&c->jobs[i], 0, sizeof(c->jobs[i]));
	}
}

void conn_free(struct conn *c)
{
	if (!c)
		return;
	conn_clear_jobs(c);
	free(c->inbuf);
	free(c->outbuf);
	free(c->username);
	free(c->user_agent);
	free(c->dups);
	free(c);
}

const char *conn_address(const struct conn *c, char *out, size_t len)
{
	size_t n = c->address_len;

	if (!c->username || !len) {
		if (len)
			out[0] = '\0';
		return out;
	}
	if (n >= len)
		n = len - 1;
	memcpy(out, c->username, n);
	out[n] = '\0';
	return out;
}

const char *conn_worker(const struct conn *c)
{
	if (!c->username || !c->username[c->address_len])
		return "";
	return c->username + c->address_len + 1;
}

void conn_add_job(struct conn *c, struct workbase *wb, uint64_t block_seq, uint8_t *coinbase,
		  size_t coinb1_len, size_t coinb2_len)
{
	struct conn_job *last = &c->jobs[CONN_JOB_SLOTS - 1];

	workbase_unref(last->wb);
	free(last->coinbase);
	memmove(&c->jobs[1], &c->jobs[0], sizeof(c->jobs[0]) * (CONN_JOB_SLOTS - 1));
	c->jobs[0].wb = wb;
	c->jobs[0].block_seq = block_seq;
	c->jobs[0].coinbase = coinbase;
	c->jobs[0].coinb1_len = (uint16_t)coinb1_len;
	c->jobs[0].coinb2_len = (uint16_t)coinb2_len;
}

struct conn_job *conn_find_job(struct conn *c, uint64_t id)
{
	for (size_t i = 0; i < CONN_JOB_SLOTS; i++)
		if (c->jobs[i].wb && c->jobs[i].wb->id == id)
			return &c->jobs[i];
	return NULL;
}

/* ---- per-IP connection counts ---- */

#define IP_BUCKETS 1024

struct ip_count {
	char ip[IP_KEY_MAX];
	int count;
	struct ip_count *next;
};

static pthread_mutex_t ip_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ip_count *ip_buckets[IP_BUCKETS];

static size_t bucket_of_string(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h % IP_BUCKETS;
}

static struct ip_count **find_ip(const char *ip)
{
	struct ip_count **p = &ip_buckets[bucket_of_string(ip)];

	while (*p && strcmp((*p)->ip, ip))
		p = &(*p)->next;
	return p;
}

void ip_limit_key(const char *ip, char out[IP_KEY_MAX])
{
	struct in6_addr a6;
	struct in_addr a4;
	char text[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET6, ip, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			memcpy(&a4, &a6.s6_addr[12], 4);
			inet_ntop(AF_INET, &a4, out, IP_KEY_MAX);
			return;
		}
		memset(&a6.s6_addr[8], 0, 8);
		inet_ntop(AF_INET6, &a6, text, sizeof(text));
		snprintf(out, IP_KEY_MAX, "%s/64", text);
		return;
	}
	copy_string(out, ip, IP_KEY_MAX);
}

bool ip_connection_admit(const char *ip, int limit)
{
	struct ip_count **p;
	bool admitted = true;
	char key[IP_KEY_MAX];

	ip_limit_key(ip, key);
	pthread_mutex_lock(&ip_lock);
	p = find_ip(key);
	if (!*p) {
		*p = calloc(1, sizeof(**p));
		if (*p)
			copy_string((*p)->ip, key, sizeof((*p)->ip));
	}
	if (!*p)
		admitted = false;
	else if (limit > 0 && (*p)->count >= limit)
		admitted = false;
	else
		(*p)->count++;
	pthread_mutex_unlock(&ip_lock);
	return admitted;
}

void ip_connection_release(const char *ip)
{
	struct ip_count **p, *gone;
	char key[IP_KEY_MAX];

	ip_limit_key(ip, key);
	pthread_mutex_lock(&ip_lock);
	p = find_ip(key);
	if (*p && --(*p)->count <= 0) {
		gone = *p;
		*p = gone->next;
		free(gone);
	}
	pthread_mutex_unlock(&ip_lock);
}

/* ---- process-wide budgets ---- */

static atomic_long global_connections;
static atomic_size_t global_pending;

bool conn_global_admit(long limit)
{
	long n = atomic_load(&global_connections);

	do {
		if (limit > 0 && n >= limit)
			return false;
	} while (!atomic_compare_exchange_weak(&global_connections, &n, n + 1));
	return true;
}

void conn_global_release(void)
{
	atomic_fetch_sub(&global_connections, 1);
}

long conn_global_count(void)
{
	return atomic_load(&global_connections);
}

bool pending_budget_take(size_t bytes, size_t budget)
{
	size_t used = atomic_load(&global_pending);

	do {
		if (budget > 0 && (used > budget || bytes > budget - used))
			return false;
	} while (!atomic_compare_exchange_weak(&global_pending, &used, used + bytes));
	return true;
}

void pending_budget_give(size_t bytes)
{
	atomic_fetch_sub(&global_pending, bytes);
}

size_t pending_budget_used(void)
{
	return atomic_load(&global_pending);
}

/* ---- extranonce1 values ---- */

#define NONCE1_BUCKETS 4096
/* Values tried before a subscribe is refused: the whole space of a 2-byte
 * extranonce1, a tiny fraction of longer ones (which never run out). */
#define NONCE1_MAX_PROBES 65536

static pthread_mutex_t nonce1_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn *nonce1_buckets[NONCE1_BUCKETS];
static uint64_t nonce1_counter;
static bool nonce1_seeded;

static uint64_t value_of_nonce1(const uint8_t *b, size_t len)
{
	uint64_t v = 0;

	for (size_t i = 0; i < len; i++)
		v = v << 8 | b[i];
	return v;
}

static void nonce1_of_value(uint64_t v, uint8_t *b, size_t len)
{
	for (size_t i = len; i-- > 0; v >>= 8)
		b[i] = (uint8_t)v;
}

static bool nonce1_in_use(uint64_t v, size_t len)
{
	for (struct conn *c = nonce1_buckets[v % NONCE1_BUCKETS]; c; c = c->nonce1_next)
		if (value_of_nonce1(c->nonce1, len) == v)
			return true;
	return false;
}

/* A free value, or false after NONCE1_MAX_PROBES values in use. */
static bool next_free_nonce1(size_t len, uint64_t *out)
{
	uint64_t mask = len >= 8 ? UINT64_MAX : ((uint64_t)1 << (8 * len)) - 1;

	if (!nonce1_seeded) {
		if (getrandom(&nonce1_counter, sizeof(nonce1_counter), 0) < 0)
			nonce1_counter = (uint64_t)now_unix_us();
		nonce1_seeded = true;
	}
	for (uint64_t probe = 0; probe < NONCE1_MAX_PROBES && probe <= mask; probe++) {
		uint64_t v = nonce1_counter++ & mask;

		if (!nonce1_in_use(v, len)) {
			*out = v;
			return true;
		}
	}
	return false;
}

bool nonce1_assign(struct conn *c, size_t len, const uint8_t *wanted)
{
	uint64_t v;
	bool ok = true;

	pthread_mutex_lock(&nonce1_lock);
	if (c->nonce1_registered)
		goto out;
	if (wanted && !nonce1_in_use(value_of_nonce1(wanted, len), len))
		v = value_of_nonce1(wanted, len);
	else if (!next_free_nonce1(len, &v)) {
		ok = false;
		goto out;
	}
	nonce1_of_value(v, c->nonce1, len);
	c->nonce1_next = nonce1_buckets[v % NONCE1_BUCKETS];
	nonce1_buckets[v % NONCE1_BUCKETS] = c;
	c->nonce1_registered = true;
out:
	pthread_mutex_unlock(&nonce1_lock);
	return ok;
}

void nonce1_release(struct conn *c, size_t len)
{
	struct conn **p;

	pthread_mutex_lock(&nonce1_lock);
	if (!c->nonce1_registered)
		goto out;
	p = &nonce1_buckets[value_of_nonce1(c->nonce1, len) % NONCE1_BUCKETS];
	while (*p && *p != c)
		p = &(*p)->nonce1_next;
	if (*p)
		*p = c->nonce1_next;
	c->nonce1_registered = false;
out:
	pthread_mutex_unlock(&nonce1_lock);
}
