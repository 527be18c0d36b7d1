/*
 * stratum.h - the Stratum V1 server: listeners, I/O threads, framing, limits.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * stratum_start() binds every serverurl and starts cfg->stratum_threads I/O
 * threads. Each thread has its own epoll set holding every listener (with
 * EPOLLEXCLUSIVE, so one thread takes each new connection) and the
 * connections it accepted; a connection never changes thread. Input is cut
 * into lines of at most max_line_bytes (a longer one gets an error and the
 * connection is closed), output not taken by a slow reader is buffered up to
 * max_pending_bytes (then the connection is closed). Connections that do not
 * authorize within handshake_timeout_s or send no complete line for
 * idle_timeout_s are closed (bytes of an unfinished line are not activity,
 * so a slowloris goes idle too); at most max_conns_per_ip connections per
 * address are accepted.
 *
 * When the generator publishes a workbase, stratum_announce_work() wakes
 * every thread, which sends mining.notify to its authorized miners.
 */
#ifndef CKPOOL_STRATUM_H
#define CKPOOL_STRATUM_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "network.h"
#include "stratum_io.h"  /* settings and connection output, for the methods */
#include "vardiff.h"

struct conn;

/* Requests a connection may send: a bucket of config request_burst lines
 * (default 2000) refilled at request_rate per second (default 500); a line
 * finding it empty closes the connection ("too many requests"). Far above
 * what a miner (or a proxy for many) sends once vardiff has settled. */
/* Connections of all listeners together when max_connections is 0 (further
 * ones are closed at once); also never more than the open-file limit minus
 * a reserve. */
#define STRATUM_MAX_CONNECTIONS 1000000L
/* Highest share difficulty when maxdiff is 0 (no limit configured), also
 * the cap of mining.suggest_difficulty: above today's network difficulty
 * (~1.3e14), low enough that credited sums stay exact integers of milli-diff. */
#define STRATUM_DIFF_CEILING 1e15

/* Binds the listeners and starts the threads. 0, or -1 with err. */
int stratum_start(const struct config *cfg, enum network net, char *err, size_t errlen);
/* Closes listeners and connections, joins the threads. On a failed start
 * everything opened so far is already released. */
void stratum_stop(void);
/* Wakes every I/O thread to send the current job (jobs listener). Safe
 * from any thread at any time, also before start and after stop (no-op). */
void stratum_announce_work(void);

#endif
