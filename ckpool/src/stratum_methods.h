/*
 * stratum_methods.h - the mining.* JSON-RPC methods of Stratum V1.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Handles one line from a miner: mining.subscribe, mining.authorize,
 * mining.configure (BIP310 version-rolling), mining.suggest_difficulty,
 * mining.extranonce.subscribe and mining.submit (stratum_submit.h);
 * answers with the result or an error [code, "message", null] (codes and
 * text: stratum_reply.h).
 * Also sends work: mining.set_difficulty (when changed) and mining.notify.
 * Everything runs on the connection's own I/O thread.
 */
#ifndef CKPOOL_STRATUM_METHODS_H
#define CKPOOL_STRATUM_METHODS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct workbase;

/* Mask of header version bits miners may roll (BIP310 / BIP320). */
#define POOL_VERSION_MASK 0x1fffe000u

/* Sets up a new connection's difficulty. */
void stratum_conn_init(struct conn *c);
/* Parses and answers one line (without its newline). */
void stratum_handle_line(struct conn *c, const char *line, size_t len);
/* Builds the miner's coinbase for wb and sends mining.notify. */
void stratum_send_job(struct conn *c, struct workbase *wb, uint64_t block_seq, bool clean);
/* Periodic housekeeping (vardiff for quiet miners). */
void stratum_conn_tick(struct conn *c, double now);
/* Frees the calling I/O thread's scratch buffers (at thread exit). */
void stratum_methods_thread_exit(void);
/* Accounting and miner_disconnected when a connection ends. */
void stratum_conn_closed(struct conn *c, const char *why);

#endif
