/*
 * load.h - shared state of the Stratum load generator.
 *
 * One thread, one epoll loop. Each connection subscribes, authorizes, learns
 * its job and difficulty, then submits shares either paced (an aggregate rate
 * spread round-robin) or saturating (a window of outstanding submits).
 * Responses are scanned without a JSON parser; notifications use jansson.
 */
#ifndef LOAD_H
#define LOAD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_EN2 16
#define MAX_BRANCH 32
#define RBUF_MAX (64 * 1024)   /* the longest line accepted from the server */
#define RBUF_INITIAL 2048
#define SUBMIT_ID_BASE 100     /* ids below are the handshake's */

enum conn_state { C_CONNECTING, C_HANDSHAKE, C_READY, C_DEAD };

/* A job as the generator needs it to build (or only name) shares. */
struct job {
	char id[72];
	char ntime[9];
	bool clean;
	/* Only decoded when hashing: */
	uint8_t prevhash[32];      /* internal byte order */
	uint8_t *coinb1, *coinb2;
	size_t coinb1_len, coinb2_len;
	uint8_t branch[MAX_BRANCH][32];
	size_t branch_len;
	uint32_t version, bits, ntime_v;
};

struct conn {
	int fd;
	int index;
	enum conn_state state;
	bool subscribed, authorized, has_job;
	double difficulty;                /* 0 until set_difficulty */
	char en1[65];
	uint8_t en1_bin[32];
	size_t en1_len, en2_size;
	char en2_hex[2 * MAX_EN2 + 1];
	uint8_t en2_bin[MAX_EN2];
	struct job job;
	uint32_t next_id;
	uint32_t nonce;                   /* next nonce when not hashing */
	uint32_t *ready_nonces;           /* prehashed valid nonces for job */
	size_t ready_count, ready_cap;
	uint32_t scan_nonce;              /* where hashing resumes */
	uint8_t header[80];               /* header template for job + en2, nonce patched */
	unsigned outstanding;
	uint64_t *sent_ns;                /* send time by submit id, ring of ring_size */
	char *rbuf;
	size_t rlen, rcap;
	char *wbuf;
	size_t wlen, wcap;
	bool want_write, dirty;
};

/* --hash: valid shares when the difficulty needs it, never, always, or
 * nonces whose header misses the block target (never a block, even where
 * regtest's target passes half of all hashes). */
enum { HASH_AUTO = -1, HASH_OFF = 0, HASH_ON = 1, HASH_MISS = 2 };

struct options {
	const char *host;
	int port;
	const char *user, *password;
	int conns;
	double rate;          /* submits per second, all connections; 0 with --saturate */
	double duration;      /* seconds of measurement */
	bool saturate;
	unsigned window;      /* outstanding submits per connection */
	bool idle;            /* open and hold, submit nothing */
	double suggest_diff;  /* 0: none */
	int pid;              /* engine to sample, 0: none */
	int hash_mode;        /* HASH_AUTO, HASH_OFF, HASH_ON or HASH_MISS */
	int connect_parallel; /* handshakes in flight at once */
	double setup_timeout;
	bool json;
	size_t prehash;       /* valid nonces per connection to find before the run; 0 auto */
	const char *user_agent;
	unsigned tick_us;     /* paced: 0 wakes per response; else wakes once per tick */
};

struct counters {
	uint64_t sent, accepted, rejected, unanswered;
	uint64_t reject_by_code[64];      /* code 0..63; other codes in [0] */
	char reject_msg[64][64];
	uint64_t notifies, clean_jobs, diff_changes, disconnects;
	uint64_t hashes_setup, hashes_inline;
	uint64_t ready;                   /* connections ready to submit */
	uint64_t window_full;             /* paced submits skipped: no connection had room */
};

extern struct options opt;
extern struct counters cnt;
extern int epfd;

/* conn.c: connection I/O and the protocol */
extern unsigned ring_size;            /* power of two >= window */
extern void (*on_response)(struct conn *c, uint64_t latency_ns, bool accepted);
int conn_open(struct conn *c, int index);
void conn_on_event(struct conn *c, uint32_t events);
bool conn_can_submit(const struct conn *c);
bool conn_wants_hashing(const struct conn *c);
void conn_queue_submit(struct conn *c);
void conn_flush_dirty(void);
void conn_close(struct conn *c);
uint64_t now_ns(void);

/* share.c: jobs and valid nonces */
/* True when a share at `difficulty` needs a hash below some target (not every hash passes). */
bool share_needs_hashing(double difficulty);
/* Fills `job` from mining.notify params; with `decode`, also the fields needed to hash.
 * Returns 0, or -1 when the params are malformed. */
int job_from_notify(struct job *job, const json_t *params, bool decode);
void job_free(struct job *job);
/* Prepares c->header for c->job and c->en2_bin. */
void share_prepare(struct conn *c);
/* Scans nonces from c->scan_nonce until `want` valid ones are appended to
 * c->ready_nonces; returns the hashes computed. */
uint64_t share_find(struct conn *c, size_t want);

/* stats.c: latency histogram and /proc sampling */
void latency_record(uint64_t ns);
uint64_t latency_count(void);
double latency_quantile_us(double q);   /* -1 when empty */
struct proc_sample { bool ok; double cpu_seconds; long rss_kb; long threads; };
struct proc_sample proc_sample(int pid);
#endif
