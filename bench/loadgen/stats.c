/*
 * stats.c - submit round-trip histogram and /proc sampling of the engine.
 *
 * Latencies are kept in 1 us buckets up to 100 ms (exact quantiles at that
 * resolution); slower ones land in one overflow bucket reported as its max.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "load.h"

#define BUCKETS 100000

static uint32_t hist[BUCKETS];
static uint64_t total, overflow, overflow_max_us;

void latency_record(uint64_t ns)
{
	uint64_t us = ns / 1000;
	total++;
	if (us < BUCKETS) {
		hist[us]++;
		return;
	}
	overflow++;
	if (us > overflow_max_us)
		overflow_max_us = us;
}

uint64_t latency_count(void)
{
	return total;
}

double latency_quantile_us(double q)
{
	if (total == 0)
		return -1;
	uint64_t rank = (uint64_t)(q * (double)(total - 1)) + 1, seen = 0;
	for (uint64_t i = 0; i < BUCKETS; i++) {
		seen += hist[i];
		if (seen >= rank)
			return (double)i;
	}
	return (double)overflow_max_us;
}

struct proc_sample proc_sample(int pid)
{
	struct proc_sample s = { 0 };
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return s;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name, which may hold spaces: start past ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return s;
	unsigned long utime = 0, stime = 0;
	long threads = 0;
	/* state(3) ... utime(14) stime(15) ... num_threads(20) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %ld",
		   &utime, &stime, &threads) != 3)
		return s;
	s.cpu_seconds = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
	s.threads = threads;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return s;
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "VmRSS: %ld kB", &s.rss_kb) == 1)
			break;
	fclose(f);
	s.ok = true;
	return s;
}
