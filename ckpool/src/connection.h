/*
 * connection.h - one miner's TCP connection: identity, buffers, jobs.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * A connection belongs to exactly one Stratum I/O thread, which alone reads
 * and writes it, so nothing here locks except the process-wide tables
 * (connections per IP, extranonce1 values in use). Memory is kept small for
 * idle miners: input and output buffers exist only while a partial line or
 * unsent bytes are pending, and the duplicate filter is allocated on the
 * first submit.
 */
#ifndef CKPOOL_CONNECTION_H
#define CKPOOL_CONNECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "vardiff.h"

struct workbase;
struct io_thread;
struct dup_filter;

/* Jobs a connection can still submit shares for (newest first): as many as
 * jobs.c keeps (JOBS_KEPT), so a share for any job the engine still knows
 * is judged, and a block found on a just-replaced job can still be sent. */
#define CONN_JOB_SLOTS 8

/* Longest key of the per-IP table: an IPv4 address or an IPv6 /64 prefix. */
#define IP_KEY_MAX 64

/* What a connection's epoll registration points to. */
enum fd_kind { FD_LISTENER, FD_CONNECTION, FD_WAKE };

/* One job sent to this miner: the workbase and the miner's own coinbase. */
struct conn_job {
	struct workbase *wb;        /* holds a reference; NULL when empty */
	uint64_t block_seq;         /* jobs_block_seq() when it was sent */
	uint8_t *coinbase;          /* coinb1 || coinb2 in one allocation */
	uint16_t coinb1_len, coinb2_len;
};

struct conn {
	enum fd_kind kind;          /* FD_CONNECTION; first, see stratum.c */
	int fd;
	uint64_t id;                /* client_id in logs and events */
	struct io_thread *thread;
	struct conn *prev, *next;   /* the thread's list */
	struct conn *nonce1_next;   /* chain in the extranonce1 table */
	struct conn *close_next;    /* the thread's list of connections to close */

	bool subscribed, authorized, closing, nonce1_registered;
	bool want_epollout;
	uint8_t nonce1[8];
	uint32_t version_mask;      /* negotiated BIP310 mask, 0 = no rolling */

	bool best_joined;           /* counted in best_diff's session of the address */
	struct vardiff vardiff;     /* .diff is the current share difficulty */
	double old_diff_until;      /* vardiff.old_diff is honoured until then */
	double last_suggest_at;     /* when a suggest_difficulty last changed diff */
	double pending_suggest;     /* suggestion held back by the rate limit, 0 none */

	double connected_at, last_activity;
	float tokens;               /* request token bucket (stratum.c) */
	float bad_lines;            /* protocol errors, decaying (stratum_session.c) */
	double tokens_at, bad_lines_at;

	char *inbuf;                /* partial line, NULL when none */
	uint32_t inlen;
	char *outbuf;               /* unsent bytes, NULL when none */
	uint32_t outlen, outpos;

	uint8_t script[ADDRESS_SCRIPT_MAX];
	uint8_t script_len;
	char *username;             /* "address[.worker]", NULL before authorize */
	uint8_t address_len;        /* the address part of username */
	uint8_t address_type;       /* enum address_type of the payout address */
	char *user_agent;           /* from mining.subscribe, NULL when none */
	struct dup_filter *dups;

	struct conn_job jobs[CONN_JOB_SLOTS];
	uint64_t shares_accepted, shares_rejected;
	double diff_accepted;       /* sum of credited difficulty, for avg_hashrate */
	double best_diff;
	char ip[46];
	uint16_t port;
};

/* A new connection record for fd (not yet registered anywhere). */
struct conn *conn_new(int fd, const char *ip, uint16_t port);
/* Frees the record, its buffers and job references (the fd is not closed). */
void conn_free(struct conn *c);

/* The address part of the username into out (ADDRESS_MAX_LEN + 1 bytes). */
const char *conn_address(const struct conn *c, char *out, size_t len);
/* The worker part ("" when none). */
const char *conn_worker(const struct conn *c);

/* Stores a job (taking over wb's reference and the coinbase allocation) in
 * the newest slot, dropping the oldest. */
void conn_add_job(struct conn *c, struct workbase *wb, uint64_t block_seq, uint8_t *coinbase,
		  size_t coinb1_len, size_t coinb2_len);
/* The slot holding job id, or NULL. */
struct conn_job *conn_find_job(struct conn *c, uint64_t id);
/* Drops every job (e.g. when the payout address changes). */
void conn_clear_jobs(struct conn *c);

/* ---- per-IP connection counts ---- */

/* The key connections are counted under for the per-IP limit: an IPv4
 * address as is (also when written IPv4-mapped, "::ffff:a.b.c.d"), an IPv6
 * address as its /64 prefix ("2001:db8:1:2::/64"), since one subscriber
 * usually holds a whole /64. Anything unparseable is its own key. */
void ip_limit_key(const char *ip, char out[IP_KEY_MAX]);

/* Counts one more connection from ip (under ip_limit_key); false (and
 * nothing counted) when the limit (0 = none) is already reached. */
bool ip_connection_admit(const char *ip, int limit);
void ip_connection_release(const char *ip);

/* ---- process-wide budgets ---- */

/* Counts one more connection; false (and nothing counted) when `limit`
 * (0 = none) connections are already open. */
bool conn_global_admit(long limit);
void conn_global_release(void);
long conn_global_count(void);

/* Unsent output held for all connections together: takes `bytes` from a
 * budget of `budget` bytes (0 = none); false (and nothing taken) when they
 * do not fit. */
bool pending_budget_take(size_t bytes, size_t budget);
void pending_budget_give(size_t bytes);
size_t pending_budget_used(void);

/* ---- extranonce1 values ---- */

/* Gives c a unique extranonce1 of len bytes. When `wanted` (len bytes) is
 * not NULL and no live connection uses it, c resumes that value. False
 * when every value is taken (a bounded search found none free): the
 * subscribe must be refused. True at once when c already has one. */
bool nonce1_assign(struct conn *c, size_t len, const uint8_t *wanted);
/* Releases c's extranonce1. */
void nonce1_release(struct conn *c, size_t len);

#endif
