/*
 * config.h - the engine's JSON configuration file as a validated struct.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * config_load() reads the file, fills defaults, validates every key and on
 * the first problem returns -1 with ONE line naming the key and what is
 * wrong ("config: primary.port must be 1-65535"). Unknown keys are not
 * errors: they are collected in `unknown_keys` for the caller to log.
 * docs/engine.md lists every key with its default.
 */
#ifndef CKPOOL_CONFIG_H
#define CKPOOL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_MAX_BTCD 8
#define CONFIG_MAX_SERVERURL 8
#define CONFIG_MAX_EVENT_TYPES 32
#define CONFIG_MAX_UNKNOWN 32
#define CONFIG_DEFAULT_RELAY_PORT 8881
#define CONFIG_MIN_TOKEN_LEN 16     /* primary.auth_token, bytes */
#define CONFIG_MAX_TLS_PINS 4

enum pool_mode { MODE_PRIMARY, MODE_PASSTHROUGH };

struct btcd_config {
	char url[256];          /* "host:port" or "http://host:port" */
	char auth[128];
	char pass[128];
	bool notify;
};

/* The relay link. A relay (passthrough) dials host:template_push_port; a
 * primary with an auth_token listens on relay_listen. After config_load()
 * template_push_port and port are both set: template_push_port defaults to
 * port, port to template_push_port, both to 8881. */
struct primary_config {
	char host[256];             /* relay only */
	int port;
	char auth_token[256];       /* shared secret, both ends; >= 16 characters */
	int template_push_port;
	int reconnect_interval;     /* seconds between reconnect attempts, default 5 */
	int failover_threshold;     /* seconds without the primary before a relay
				     * mines its own node's templates, default 10 */
};

/* relay.tls: TLS on the relay link (relay_tls.h). Off unless the object is
 * present. A primary needs cert and key; a relay ca and/or pin_sha256. */
struct relay_tls_config {
	bool enabled;
	char cert[1024];            /* primary: PEM certificate (chain) file */
	char key[1024];             /* primary: PEM private key file */
	char ca[1024];              /* relay: PEM file of the CA(s) to trust */
	char pin_sha256[CONFIG_MAX_TLS_PINS][65]; /* relay: hex SHA-256 of the SPKI */
	size_t pin_count;
	char server_name[256];      /* relay: name checked with ca; "" = primary.host */
};

struct events_settings {
	bool enabled;
	char socket_path[108];
	char *event_types[CONFIG_MAX_EVENT_TYPES + 1]; /* NULL-terminated; [0] NULL = all */
	size_t buffer_hwm;
	unsigned hashrate_interval_sec;
};

struct config {
	char path[4096];
	struct btcd_config btcd[CONFIG_MAX_BTCD];
	size_t btcd_count;
	char btcaddress[128];       /* optional */
	char btcsig[64];            /* optional pool signature in every coinbase */
	char serverurl[CONFIG_MAX_SERVERURL][256];
	size_t serverurl_count;     /* default one: 0.0.0.0:3333 */
	double mindiff, startdiff, maxdiff; /* maxdiff 0 = no limit */
	int nonce1length, nonce2length;
	int update_interval;        /* seconds */
	int blockpoll_ms;
	char zmqblock[256];
	char logdir[1024];
	char state_dir[1024];       /* best_diff.json; "" = logdir, or memory only */
	char region[64];
	char pool_instance[128];
	enum pool_mode mode;
	struct primary_config primary;
	char relay_listen[256];     /* primary; default 0.0.0.0:<template_push_port> */
	struct relay_tls_config relay_tls;
	struct events_settings events;
	char metrics_listen[256];
	char coinbase_sigs[1024];
	size_t max_line_bytes;
	size_t max_pending_bytes;
	int idle_timeout_s;
	int handshake_timeout_s;
	int max_conns_per_ip;       /* 0 = unlimited */
	int max_connections;        /* all listeners together; 0 = by the open-file limit */
	size_t max_pending_total_bytes; /* unsent bytes of all connections together */
	double request_rate;        /* per-connection requests per second (token refill) */
	double request_burst;       /* per-connection request bucket size */
	double vardiff_target_s;
	int stratum_threads;
	char *unknown_keys[CONFIG_MAX_UNKNOWN + 1];
};

/* Loads and validates `path` into cfg. 0 on success; -1 with a one-line
 * message in err on the first invalid or missing value. */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);
/* Releases what config_load allocated. */
void config_free(struct config *cfg);

#endif
