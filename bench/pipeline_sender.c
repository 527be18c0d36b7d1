/*
 * pipeline_sender.c - the synthetic engine for bench/pipeline_bench.ts.
 *
 * Sends N share_submitted envelopes (seq 1..N for one boot_id) as Unix
 * datagrams to the publisher's socket, as an engine would: a blocking
 * sendto() sleeps in the kernel while the receiver's queue is full
 * (net.unix.max_dgram_qlen), so the sender costs little CPU and never spins.
 * A Deno sender cannot block; it retries on EAGAIN and takes a core.
 *
 *   cc -O2 -o pipeline_sender pipeline_sender.c
 *   pipeline_sender <socket> <count> <region> <pool_instance> <boot_id> [rate/s]
 *
 * Prints "<wall seconds> <cpu seconds>" when done.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A lower-case UUIDv7 for `ms` into out (37 bytes). */
static void uuidv7(char *out, uint64_t ms)
{
	uint8_t b[16];
	uint64_t r1 = rng(), r2 = rng();

	for (int i = 0; i < 6; i++)
		b[i] = (uint8_t)(ms >> (40 - 8 * i));
	memcpy(b + 6, &r1, 2);
	memcpy(b + 8, &r2, 8);
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x70);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
		 b[12], b[13], b[14], b[15]);
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: %s socket count region pool_instance boot_id [rate]\n",
			argv[0]);
		return 2;
	}
	long count = atol(argv[2]);
	double rate = argc > 6 ? atof(argv[6]) : 0;
	struct sockaddr_un to = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	char msg[1024], id[37];
	uint64_t start = now_us();

	if (fd < 0 || strlen(argv[1]) >= sizeof(to.sun_path)) {
		perror("socket");
		return 1;
	}
	strcpy(to.sun_path, argv[1]);
	rng_state ^= start;
	for (long seq = 1; seq <= count; seq++) {
		uint64_t ts = now_us();
		int n;

		uuidv7(id, ts / 1000);
		n = snprintf(msg, sizeof(msg),
			     "{\"event_id\":\"%s\",\"event\":\"share_submitted\",\"ts\":%llu,"
			     "\"source\":\"hosted\",\"region\":\"%s\",\"pool_instance\":\"%s\","
			     "\"boot_id\":\"%s\",\"seq\":%ld,\"data\":{\"user\":\"bc1qtest\","
			     "\"worker\":\"w%ld\",\"diff\":1024,\"accepted\":true}}",
			     id, (unsigned long long)ts, argv[3], argv[4], argv[5], seq, seq % 7);
		while (sendto(fd, msg, (size_t)n, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
			if (errno != ENOENT && errno != ECONNREFUSED && errno != EINTR) {
				perror("sendto");
				return 1;
			}
			usleep(1000);
		}
		if (rate > 0) {
			uint64_t due = start + (uint64_t)((double)seq * 1e6 / rate);
			uint64_t now = now_us();

			if (due > now)
				usleep((useconds_t)(due - now));
		}
	}
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	printf("%.3f %.3f\n", (double)(now_us() - start) / 1e6,
	       (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	return 0;
}
