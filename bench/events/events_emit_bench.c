/*
 * events_emit_bench.c - what emitting an event costs the engine.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../../COPYING.
 *
 * Emits N share_submitted events (the engine's most frequent, with the
 * same fields) through events_emit() while a consumer thread drains the
 * socket, and prints: the producer's cost per event (building the JSON
 * data + events_emit, which is what a Stratum thread pays), the emitter's
 * sustained delivery rate, and the loss (dropped must be 0).
 *
 *   make -C bench/events && bench/events/events_emit_bench [N]
 */
#include "events.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static atomic_long received;
static atomic_bool done;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *consume(void *arg)
{
	int fd = *(int *)arg;
	char buf[70000];
	struct timeval tv = { 0, 100000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (!atomic_load(&done))
		if (recv(fd, buf, sizeof(buf), 0) > 0)
			atomic_fetch_add(&received, 1);
	return NULL;
}

static json_t *share_data(long i)
{
	json_t *d = json_object();

	json_object_set_new(d, "address", json_string("bcrt1qzyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3qk7z2l"));
	json_object_set_new(d, "worker", json_string("rig1"));
	json_object_set_new(d, "client_id", json_integer(i % 1000));
	json_object_set_new(d, "ip", json_string("127.0.0.1"));
	json_object_set_new(d, "job_id", json_string("00000000000001a3"));
	json_object_set_new(d, "diff", json_real(1e-10));
	json_object_set_new(d, "sdiff", json_real(3.71e-10));
	json_object_set_new(d, "accepted", json_true());
	json_object_set_new(d, "reject_reason", json_null());
	json_object_set_new(d, "hash", json_string("00000000000119e7b0d5c0e0a9b5a8a4f7a6f1d0b2e3c4d5e6f708192a3b4c5d"));
	json_object_set_new(d, "is_block", json_false());
	json_object_set_new(d, "height", json_integer(840001));
	return d;
}

static int bind_consumer(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("bind");
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	char path[] = "/tmp/events-bench-XXXXXX", sock[64], err[256];
	struct events_config cfg = { .enabled = true, .buffer_hwm = 65536, .region = "eu",
				     .pool_instance = "bench" };
	double t0, cpu0, produce_cpu, start, end;
	pthread_t consumer;
	int fd;

	if (!mkdtemp(path))
		return 1;
	snprintf(sock, sizeof(sock), "%s/events.sock", path);
	fd = bind_consumer(sock);
	cfg.socket_path = sock;
	pthread_create(&consumer, NULL, consume, &fd);
	if (events_start(&cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	start = now_s();
	produce_cpu = 0;
	for (long i = 0; i < n;) {
		/* Bursts that fit the ring (65536); the producer's CPU is timed
		 * only inside a burst, then it sleeps while the emitter drains. */
		cpu0 = thread_cpu_s();
		for (long b = 0; b < 32768 && i < n; b++, i++)
			events_emit("share_submitted", share_data(i));
		produce_cpu += thread_cpu_s() - cpu0;
		while (events_queue_depth() > 16384)
			usleep(200);
	}
	t0 = now_s();
	while (atomic_load(&received) + (long)events_dropped_total() < n && now_s() - t0 < 30)
		usleep(1000);
	end = now_s();
	events_stop();
	atomic_store(&done, true);
	pthread_join(consumer, NULL);
	printf("events: %ld  received: %ld  dropped: %llu\n", n, atomic_load(&received),
	       (unsigned long long)events_dropped_total());
	printf("producer cost (JSON data + events_emit): %.2f us/event (thread CPU)\n",
	       produce_cpu * 1e6 / (double)n);
	printf("sustained delivery: %.0f events/s (emitter -> consumer, wall %.2f s)\n",
	       (double)atomic_load(&received) / (end - start), end - start);
	close(fd);
	unlink(sock);
	rmdir(path);
	return 0;
}
