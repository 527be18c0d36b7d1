/*
 * test_stratum.c - starting and stopping the Stratum server: a listener
 * that cannot bind leaves no descriptor or thread behind, a clean stop
 * releases everything, and announcing work before start and after stop is
 * harmless, and a client trickling an unfinished line (slowloris) is
 * closed for idleness.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "config.h"
#include "log.h"
#include "stratum.h"
#include "util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* A listening socket on a free loopback port; its port in *port. */
static int occupy_port(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A loopback port nobody listens on right now. */
static int free_port(void)
{
	int port, fd = occupy_port(&port);

	close(fd);
	return port;
}

static void base_config(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mindiff = 1;
	cfg->startdiff = 1;
	cfg->nonce1length = 4;
	cfg->nonce2length = 8;
	cfg->max_line_bytes = 16384;
	cfg->max_pending_bytes = 1 << 20;
	cfg->idle_timeout_s = 900;
	cfg->handshake_timeout_s = 30;
	cfg->vardiff_target_s = 10;
	cfg->stratum_threads = 2;
}

static void test_failed_start_releases_everything(void **state)
{
	static struct config cfg;
	char err[256];
	int port, busy = occupy_port(&port), before;

	(void)state;
	base_config(&cfg);
	/* The first listener opens, the second cannot bind. */
	snprintf(cfg.serverurl[0], sizeof(cfg.serverurl[0]), "127.0.0.1:%d", free_port());
	snprintf(cfg.serverurl[1], sizeof(cfg.serverurl[1]), "127.0.0.1:%d", port);
	cfg.serverurl_count = 2;
	stratum_announce_work();          /* before any start: nothing to wake */
	before = open_fds();
	assert_int_equal(stratum_start(&cfg, NET_REGTEST, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot listen"));
	assert_int_equal(open_fds(), before);
	stratum_announce_work();
	close(busy);
}

static void test_stop_releases_everything(void **state)
{
	static struct config cfg;
	char err[256];
	int before;

	(void)state;
	base_config(&cfg);
	snprintf(cfg.serverurl[0], sizeof(cfg.serverurl[0]), "127.0.0.1:%d", free_port());
	cfg.serverurl_count = 1;
	before = open_fds();
	if (stratum_start(&cfg, NET_REGTEST, err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(open_fds() > before);
	stratum_announce_work();
	stratum_stop();
	assert_int_equal(open_fds(), before);
	stratum_announce_work();          /* after stop: a no-op, not a write to a closed fd */
	/* Unset maxdiff still means a ceiling for vardiff and suggestions. */
	assert_true(stratum_settings()->vardiff.maxdiff == STRATUM_DIFF_CEILING);
}

/* A client connected to 127.0.0.1:port. */
static int connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* One byte every 100 ms, never a newline: bytes are not requests, so the
 * 1 s idle timeout closes it (before, every byte counted as activity and
 * the connection lived until max_line_bytes). Bounded by 20 s, not timed. */
static void test_slowloris_goes_idle(void **state)
{
	static struct config cfg;
	char err[256], sink[64];
	int port = free_port(), fd;
	bool closed = false;

	(void)state;
	base_config(&cfg);
	cfg.idle_timeout_s = 1;
	cfg.handshake_timeout_s = 3600;   /* so only idleness can close it */
	snprintf(cfg.serverurl[0], sizeof(cfg.serverurl[0]), "127.0.0.1:%d", port);
	cfg.serverurl_count = 1;
	if (stratum_start(&cfg, NET_REGTEST, err, sizeof(err)))
		fail_msg("%s", err);
	fd = connect_to(port);
	for (int i = 0; i < 200 && !closed; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (send(fd, "{", 1, MSG_NOSIGNAL) != 1 || (poll(&p, 1, 100) > 0
							     && recv(fd, sink, sizeof(sink), 0) <= 0))
			closed = true;
	}
	close(fd);
	stratum_stop();
	assert_true(closed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_start_releases_everything),
		cmocka_unit_test(test_stop_releases_everything),
		cmocka_unit_test(test_slowloris_goes_idle),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
