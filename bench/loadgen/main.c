/*
 * main.c - Stratum load generator: options, the setup / run / drain phases
 * and the report.
 *
 *   stratum_load --port 3333 --user ADDR --conns 1000 --rate 20000 --duration 10
 *   stratum_load --port 3333 --user ADDR --conns 200 --saturate --window 16
 *   stratum_load --port 3333 --user ADDR --idle 10000 --pid $(pidof ckpool)
 *
 * See ../README.md for what the figures mean.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "load.h"

struct options opt = {
	.host = "127.0.0.1",
	.port = 3333,
	.password = "x",
	.conns = 100,
	.duration = 10,
	.hash_mode = HASH_AUTO,
	.connect_parallel = 256,
	.setup_timeout = 60,
	.user_agent = "stratum_load/1.0",
};
struct counters cnt;
int epfd;

static struct conn *conns;
static volatile sig_atomic_t interrupted;
static int ready_at_start;

static void usage(FILE *to)
{
	fprintf(to,
		"usage: stratum_load --user ADDR[.WORKER] [--host H] [--port P] [--password X]\n"
		"  [--conns N] [--rate R | --saturate [--window W]] [--duration S]\n"
		"  [--idle N] [--suggest-diff D] [--pid ENGINE_PID] [--hash auto|on|off|miss]\n"
		"  [--prehash N] [--connect-parallel N] [--setup-timeout S] [--tick-us T] [--json]\n");
}

static double parse_num(const char *name, const char *s, double min)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < min) {
		fprintf(stderr, "stratum_load: --%s must be a number >= %g, got '%s'\n", name, min, s);
		exit(2);
	}
	return v;
}

static void parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", 1, 0, 'h' },	  { "port", 1, 0, 'p' },     { "user", 1, 0, 'u' },
		{ "password", 1, 0, 'P' }, { "conns", 1, 0, 'c' },    { "rate", 1, 0, 'r' },
		{ "duration", 1, 0, 'd' }, { "saturate", 0, 0, 's' }, { "window", 1, 0, 'w' },
		{ "idle", 1, 0, 'i' },	  { "suggest-diff", 1, 0, 'D' }, { "pid", 1, 0, 'x' },
		{ "hash", 1, 0, 'H' },	  { "prehash", 1, 0, 'X' },  { "connect-parallel", 1, 0, 'C' },
		{ "setup-timeout", 1, 0, 'T' }, { "json", 0, 0, 'j' }, { "tick-us", 1, 0, 't' },
		{ "help", 0, 0, '?' },
		{ 0, 0, 0, 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h': opt.host = optarg; break;
		case 'p': opt.port = (int)parse_num("port", optarg, 1); break;
		case 'u': opt.user = optarg; break;
		case 'P': opt.password = optarg; break;
		case 'c': opt.conns = (int)parse_num("conns", optarg, 1); break;
		case 'r': opt.rate = parse_num("rate", optarg, 0); break;
		case 'd': opt.duration = parse_num("duration", optarg, 0); break;
		case 's': opt.saturate = true; break;
		case 'w': opt.window = (unsigned)parse_num("window", optarg, 1); break;
		case 'i':
			opt.idle = true;
			opt.conns = (int)parse_num("idle", optarg, 1);
			break;
		case 'D': opt.suggest_diff = parse_num("suggest-diff", optarg, 0); break;
		case 'x': opt.pid = (int)parse_num("pid", optarg, 1); break;
		case 'H':
			if (!strcmp(optarg, "auto"))
				opt.hash_mode = HASH_AUTO;
			else if (!strcmp(optarg, "on"))
				opt.hash_mode = HASH_ON;
			else if (!strcmp(optarg, "off"))
				opt.hash_mode = HASH_OFF;
			else if (!strcmp(optarg, "miss"))
				opt.hash_mode = HASH_MISS;
			else {
				fprintf(stderr, "stratum_load: --hash must be auto, on, off or miss\n");
				exit(2);
			}
			break;
		case 'X': opt.prehash = (size_t)parse_num("prehash", optarg, 0); break;
		case 'C': opt.connect_parallel = (int)parse_num("connect-parallel", optarg, 1); break;
		case 'T': opt.setup_timeout = parse_num("setup-timeout", optarg, 0); break;
		case 'j': opt.json = true; break;
		case 't':
			opt.tick_us = (unsigned)parse_num("tick-us", optarg, 0);
			if (opt.tick_us > 999999) {
				fprintf(stderr, "stratum_load: --tick-us must be below 1000000\n");
				exit(2);
			}
			break;
		default: usage(ch == '?' && optopt == 0 ? stdout : stderr); exit(ch == '?' ? 0 : 2);
		}
	}
	if (!opt.user) {
		fprintf(stderr, "stratum_load: --user is required\n");
		usage(stderr);
		exit(2);
	}
	if (!opt.idle && !opt.saturate && opt.rate <= 0) {
		fprintf(stderr, "stratum_load: choose --rate R, --saturate or --idle N\n");
		exit(2);
	}
	if (!opt.window)
		opt.window = opt.saturate ? 16 : 64;
	while (ring_size < opt.window)
		ring_size *= 2;
}

/* ulimit -n is often 1024: raise the soft limit to what the run needs, up to the hard one. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	rlim_t need = (rlim_t)opt.conns + 64;
	if (rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < need)
		fprintf(stderr, "stratum_load: fd limit %llu < %llu needed; raise the hard limit\n",
			(unsigned long long)rl.rlim_cur, (unsigned long long)need);
}

static double seconds(uint64_t ns)
{
	return (double)ns / 1e9;
}

static double self_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Waits up to timeout_ms for socket events and handles them. */
static void poll_once(int timeout_ms)
{
	struct epoll_event events[1024];
	int n = epoll_wait(epfd, events, 1024, timeout_ms);
	for (int i = 0; i < n; i++)
		conn_on_event(events[i].data.ptr, events[i].events);
	conn_flush_dirty();
}

/* Opens connections, at most connect_parallel handshaking at once, until all are ready. */
static void setup(void)
{
	int opened = 0;
	uint64_t deadline = now_ns() + (uint64_t)(opt.setup_timeout * 1e9);
	while (!interrupted && now_ns() < deadline) {
		int busy = opened - (int)cnt.ready - (int)cnt.disconnects;
		while (opened < opt.conns && busy < opt.connect_parallel) {
			if (conn_open(&conns[opened], opened) < 0) {
				fprintf(stderr, "stratum_load: connect %d failed: %s\n", opened,
					strerror(errno));
				conns[opened].state = C_DEAD;
				cnt.disconnects++;
			}
			opened++;
			busy++;
		}
		if (opened == opt.conns && (int)(cnt.ready + cnt.disconnects) >= opt.conns)
			break;
		poll_once(10);
	}
	for (int i = opened; i < opt.conns; i++)
		conns[i].state = C_DEAD;
}

/* Finds valid nonces ahead of the run so hashing does not load the machine during it. */
static void prehash(void)
{
	uint64_t start = now_ns();
	for (int i = 0; i < opt.conns && !interrupted; i++) {
		struct conn *c = &conns[i];
		if (c->state != C_READY || !conn_wants_hashing(c))
			continue;
		size_t want = opt.prehash;
		if (!want) {
			/* Saturating connections do not share the load evenly: allow twice a fair share. */
			double total = opt.saturate ? 2 * 150000.0 * opt.duration : opt.rate * opt.duration;
			want = (size_t)ceil(total * 1.05 / (double)cnt.ready) + opt.window;
		}
		cnt.hashes_setup += share_find(c, want);
	}
	if (cnt.hashes_setup)
		fprintf(stderr, "stratum_load: prehashed %llu headers in %.1f s\n",
			(unsigned long long)cnt.hashes_setup, seconds(now_ns() - start));
}

static bool measuring;

static void refill(struct conn *c, uint64_t latency_ns, bool accepted)
{
	latency_record(latency_ns);
	if (measuring && opt.saturate && conn_can_submit(c))
		conn_queue_submit(c);
}

struct engine_samples {
	struct proc_sample start, end;
	long rss_peak_kb;
};

static void sample_engine(struct engine_samples *e, bool first)
{
	if (!opt.pid)
		return;
	struct proc_sample s = proc_sample(opt.pid);
	if (!s.ok)
		return;
	if (first)
		e->start = s;
	e->end = s;
	if (s.rss_kb > e->rss_peak_kb)
		e->rss_peak_kb = s.rss_kb;
}

static uint64_t outstanding_total(void)
{
	uint64_t n = 0;
	for (int i = 0; i < opt.conns; i++)
		n += conns[i].state == C_READY ? conns[i].outstanding : 0;
	return n;
}

/* Submits for opt.duration seconds; returns the measured seconds. */
static double run(struct engine_samples *eng, uint64_t *accepted_in_window)
{
	uint64_t start = now_ns(), end = start + (uint64_t)(opt.duration * 1e9);
	uint64_t scheduled = 0, next_report = start + 1000000000u, last_acc = 0;
	int cursor = 0;
	measuring = true;
	if (opt.saturate) {
		for (int i = 0; i < opt.conns; i++)
			while (conn_can_submit(&conns[i]))
				conn_queue_submit(&conns[i]);
		conn_flush_dirty();
	}
	uint64_t now;
	while (!interrupted && (now = now_ns()) < end) {
		if (!opt.saturate) {
			uint64_t due = (uint64_t)(opt.rate * seconds(now - start)) - scheduled;
			for (int tried = 0; due > 0 && tried < opt.conns; tried++) {
				struct conn *c = &conns[cursor];
				cursor = (cursor + 1) % opt.conns;
				if (!conn_can_submit(c))
					continue;
				conn_queue_submit(c);
				scheduled++;
				due--;
				tried = -1; /* found room: keep going round */
			}
			if (due > 0) {
				cnt.window_full += due;
				scheduled += due;
			}
			conn_flush_dirty();
		}
		if (opt.saturate) {
			poll_once(50);
		} else if (opt.tick_us) {
			/* Sleep out the tick, then take every event at once: fewer wakeups,
			 * but a response waits up to a tick before it is timestamped. */
			struct timespec ts = { 0, (long)opt.tick_us * 1000 };
			nanosleep(&ts, NULL);
			poll_once(0);
		} else {
			poll_once(1);
		}
		if (now >= next_report) {
			sample_engine(eng, false);
			fprintf(stderr, "t=%4.0fs accepted/s %8llu rejected %llu ready %llu\n",
				seconds(now - start), (unsigned long long)(cnt.accepted - last_acc),
				(unsigned long long)cnt.rejected, (unsigned long long)cnt.ready);
			last_acc = cnt.accepted;
			next_report += 1000000000u;
		}
	}
	double elapsed = seconds(now_ns() - start);
	measuring = false;
	*accepted_in_window = cnt.accepted;
	/* Drain: let outstanding submits answer, up to 5 s. */
	uint64_t drain_end = now_ns() + 5000000000u;
	while (!interrupted && outstanding_total() > 0 && now_ns() < drain_end)
		poll_once(10);
	cnt.unanswered += outstanding_total();
	return elapsed;
}

static void hold_idle(struct engine_samples *eng)
{
	uint64_t end = now_ns() + (uint64_t)(opt.duration * 1e9);
	while (!interrupted && now_ns() < end) {
		poll_once(100);
		sample_engine(eng, false);
	}
}

static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		if ((unsigned char)*s >= 0x20)
			putchar(*s);
	}
	putchar('"');
}

static void report(double elapsed, uint64_t accepted_in_window, const struct engine_samples *eng,
		   const struct proc_sample *before_conns, double gen_cpu)
{
	double rate = elapsed > 0 ? (double)accepted_in_window / elapsed : 0;
	double responses = (double)(cnt.accepted + cnt.rejected);
	double eng_cpu = eng->end.cpu_seconds - eng->start.cpu_seconds;
	const char *mode = opt.idle ? "idle" : opt.saturate ? "saturate" : "paced";
	if (opt.json) {
		printf("{\"mode\":\"%s\",\"conns\":%d,\"ready\":%d,\"duration_s\":%.3f,", mode,
		       opt.conns, ready_at_start, elapsed);
		printf("\"sent\":%llu,\"accepted\":%llu,\"accepted_per_s\":%.1f,\"rejected\":%llu,",
		       (unsigned long long)cnt.sent, (unsigned long long)cnt.accepted, rate,
		       (unsigned long long)cnt.rejected);
		printf("\"rejects\":{");
		bool first = true;
		for (int i = 0; i < 64; i++) {
			if (!cnt.reject_by_code[i])
				continue;
			printf("%s\"%d\":{\"count\":%llu,\"message\":", first ? "" : ",", i ? i : 20,
			       (unsigned long long)cnt.reject_by_code[i]);
			print_json_string(cnt.reject_msg[i]);
			printf("}");
			first = false;
		}
		printf("},\"unanswered\":%llu,\"window_full\":%llu,\"disconnects\":%llu,",
		       (unsigned long long)cnt.unanswered, (unsigned long long)cnt.window_full,
		       (unsigned long long)cnt.disconnects);
		printf("\"latency_us\":{\"count\":%llu,\"p50\":%.0f,\"p99\":%.0f,\"p999\":%.0f},",
		       (unsigned long long)latency_count(), latency_quantile_us(0.5),
		       latency_quantile_us(0.99), latency_quantile_us(0.999));
		printf("\"generator\":{\"cpu_s\":%.3f,\"us_per_response\":%.3f,\"hashes_setup\":%llu,"
		       "\"hashes_inline\":%llu},",
		       gen_cpu, responses ? gen_cpu * 1e6 / responses : 0,
		       (unsigned long long)cnt.hashes_setup, (unsigned long long)cnt.hashes_inline);
		printf("\"notifies\":%llu,\"clean_jobs\":%llu,\"diff_changes\":%llu",
		       (unsigned long long)cnt.notifies, (unsigned long long)cnt.clean_jobs,
		       (unsigned long long)cnt.diff_changes);
		if (eng->start.ok) {
			printf(",\"engine\":{\"cpu_pct\":%.1f,\"us_per_response\":%.3f,\"rss_kb_before\":%ld,"
			       "\"rss_kb_start\":%ld,\"rss_kb_end\":%ld,\"rss_kb_peak\":%ld,\"threads\":%ld}",
			       elapsed > 0 ? 100 * eng_cpu / elapsed : 0,
			       responses ? eng_cpu * 1e6 / responses : 0, before_conns->rss_kb,
			       eng->start.rss_kb, eng->end.rss_kb, eng->rss_peak_kb, eng->end.threads);
			if (opt.idle && ready_at_start > 0)
				printf(",\"idle_bytes_per_conn\":%.0f",
				       (double)(eng->start.rss_kb - before_conns->rss_kb) * 1024 /
					       ready_at_start);
		}
		printf("}\n");
		return;
	}
	printf("mode %s: %d connections ready of %d, %.1f s\n", mode, ready_at_start, opt.conns,
	       elapsed);
	if (!opt.idle) {
		printf("submitted %llu, accepted %llu (%.0f/s), rejected %llu, unanswered %llu",
		       (unsigned long long)cnt.sent, (unsigned long long)cnt.accepted, rate,
		       (unsigned long long)cnt.rejected, (unsigned long long)cnt.unanswered);
		if (cnt.window_full)
			printf(", %llu not sent (window full)", (unsigned long long)cnt.window_full);
		printf("\n");
		for (int i = 0; i < 64; i++)
			if (cnt.reject_by_code[i])
				printf("  rejected %d \"%s\": %llu\n", i ? i : 20, cnt.reject_msg[i],
				       (unsigned long long)cnt.reject_by_code[i]);
		printf("round trip us: p50 %.0f  p99 %.0f  p999 %.0f  (%llu samples)\n",
		       latency_quantile_us(0.5), latency_quantile_us(0.99),
		       latency_quantile_us(0.999), (unsigned long long)latency_count());
		printf("generator: %.2f cpu s, %.2f us per response, hashed %llu before + %llu during\n",
		       gen_cpu, responses ? gen_cpu * 1e6 / responses : 0,
		       (unsigned long long)cnt.hashes_setup, (unsigned long long)cnt.hashes_inline);
	}
	if (eng->start.ok) {
		printf("engine pid %d: cpu %.1f%%", opt.pid, elapsed > 0 ? 100 * eng_cpu / elapsed : 0);
		if (responses)
			printf(" (%.2f us per response)", eng_cpu * 1e6 / responses);
		printf(", rss %.1f MB before connections, %.1f MB at start, %.1f MB end, %.1f MB peak\n",
		       before_conns->rss_kb / 1024.0, eng->start.rss_kb / 1024.0,
		       eng->end.rss_kb / 1024.0, eng->rss_peak_kb / 1024.0);
		if (opt.idle && ready_at_start > 0)
			printf("idle memory per connection: %.0f bytes\n",
			       (double)(eng->start.rss_kb - before_conns->rss_kb) * 1024 /
				       ready_at_start);
	}
	printf("disconnects %llu, notifies %llu (clean %llu), difficulty changes %llu\n",
	       (unsigned long long)cnt.disconnects, (unsigned long long)cnt.notifies,
	       (unsigned long long)cnt.clean_jobs, (unsigned long long)cnt.diff_changes);
}

static void on_signal(int sig)
{
	interrupted = 1;
}

int main(int argc, char **argv)
{
	parse_options(argc, argv);
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	srandom((unsigned)(now_ns() ^ (uint64_t)getpid() << 16));
	epfd = epoll_create1(EPOLL_CLOEXEC);
	conns = calloc((size_t)opt.conns, sizeof(*conns));
	if (epfd < 0 || !conns) {
		perror("stratum_load");
		return 1;
	}
	on_response = refill;

	struct proc_sample before = opt.pid ? proc_sample(opt.pid) : (struct proc_sample){ 0 };
	if (opt.pid && !before.ok)
		fprintf(stderr, "stratum_load: cannot read /proc/%d; engine figures omitted\n", opt.pid);
	uint64_t setup_start = now_ns();
	setup();
	ready_at_start = (int)cnt.ready;
	fprintf(stderr, "stratum_load: %d of %d connections ready in %.1f s\n", ready_at_start,
		opt.conns, seconds(now_ns() - setup_start));
	if (ready_at_start == 0) {
		fprintf(stderr, "stratum_load: no connection became ready\n");
		return 1;
	}
	if (!opt.idle)
		prehash();

	struct engine_samples eng = { 0 };
	sample_engine(&eng, true);
	double cpu0 = self_cpu(), elapsed = opt.duration;
	uint64_t accepted = 0;
	uint64_t t0 = now_ns();
	if (opt.idle) {
		hold_idle(&eng);
		elapsed = seconds(now_ns() - t0);
	} else {
		elapsed = run(&eng, &accepted);
	}
	sample_engine(&eng, false);
	double gen_cpu = self_cpu() - cpu0;
	report(elapsed, accepted, &eng, &before, gen_cpu);
	for (int i = 0; i < opt.conns; i++) {
		conn_close(&conns[i]);
		job_free(&conns[i].job);
	}
	return 0;
}
