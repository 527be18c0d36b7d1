/*
 * test_metrics.c - /metrics follows the Prometheus text format (every line
 * checked against its grammar, every family typed once) and carries the
 * documented metrics with the right values; /health verdicts and status
 * codes; extra sections and health contributors; the share-rate sampler.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "health.h"
#include "metrics.h"
#include "stats.h"
#include "template_status.h"
#include "util.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const required[] = {
	"ckpool_miners_connected", "ckpool_connections", "ckpool_connections_total",
	"ckpool_connections_dropped_total", "ckpool_stratum_pending_bytes",
	"ckpool_shares_total", "ckpool_shares_rejected_total", "ckpool_stale_shares_total",
	"ckpool_share_rate", "ckpool_blocks_found_total", "ckpool_blocks_submitted_total",
	"ckpool_blocks_accepted_total", "ckpool_blocks_rejected_total",
	"ckpool_template_height", "ckpool_template_age_seconds", "ckpool_templates_total",
	"ckpool_bitcoind_rpc_latency_seconds", "ckpool_bitcoind_rpc_errors_total",
	"ckpool_events_emitted_total", "ckpool_events_dropped_total", "ckpool_events_queued",
	"ckpool_events_resent_total",
	"ckpool_uptime_seconds", "ckpool_build_info", "ckpool_template_refusals_total",
	"ckpool_template_refused", "ckpool_template_refused_repeats",
	"ckpool_template_refusal_info", "ckpool_chain_info", NULL
};

/* ---- HTTP ---- */

static int http_get(const char *path, char *body, size_t len, char *headers, size_t hlen)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_port = htons((uint16_t)metrics_port()) };
	struct timeval tv = { .tv_sec = 30 };   /* generous: a busy machine is slow */
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
	static char raw[1 << 17];
	char req[128];
	size_t got = 0;
	ssize_t n;
	char *split;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path);
	assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	while (got + 1 < sizeof(raw) && (n = recv(fd, raw + got, sizeof(raw) - 1 - got, 0)) > 0)
		got += (size_t)n;
	raw[got] = '\0';
	close(fd);
	sscanf(raw, "HTTP/1.1 %d", &status);
	split = strstr(raw, "\r\n\r\n");
	assert_non_null(split);
	*split = '\0';
	copy_string(headers, raw, hlen);
	copy_string(body, split + 4, len);
	return status;
}

/* ---- the exposition format ---- */

#define NAME "[a-zA-Z_:][a-zA-Z0-9_:]*"
#define LABEL "[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\""
#define VALUE "([-+]?Inf|NaN|[-+]?[0-9]+(\\.[0-9]*)?([eE][-+]?[0-9]+)?)"

static regex_t help_re, type_re, sample_re;

static void compile_grammar(void)
{
	assert_int_equal(regcomp(&help_re, "^# HELP (" NAME ") [^\n]*$", REG_EXTENDED), 0);
	assert_int_equal(regcomp(&type_re, "^# TYPE (" NAME ") (counter|gauge|histogram|summary"
				 "|untyped)$", REG_EXTENDED), 0);
	assert_int_equal(regcomp(&sample_re, "^(" NAME ")(\\{(" LABEL "(," LABEL ")*)?\\})? "
				 VALUE "( -?[0-9]+)?$", REG_EXTENDED), 0);
}

static void free_grammar(void)
{
	regfree(&help_re);
	regfree(&type_re);
	regfree(&sample_re);
}

static void match_name(const char *line, const regmatch_t *m, char *out, size_t len)
{
	size_t n = (size_t)(m->rm_eo - m->rm_so);

	assert_true(n < len);
	memcpy(out, line + m->rm_so, n);
	out[n] = '\0';
}

/* The family a sample belongs to: histogram samples drop their suffix. */
static void family_of(const char *sample, const char *typed_histogram, char *out, size_t len)
{
	static const char *const suffixes[] = { "_bucket", "_sum", "_count", NULL };

	copy_string(out, sample, len);
	for (int i = 0; suffixes[i]; i++) {
		size_t n = strlen(sample), s = strlen(suffixes[i]);

		if (n > s && !strcmp(sample + n - s, suffixes[i]) && !strncmp(sample,
		    typed_histogram, n - s) && strlen(typed_histogram) == n - s)
			out[n - s] = '\0';
	}
}

/* Checks every line of body against the grammar; every sample follows the
 * TYPE of its family and no family is typed twice. Returns the line count. */
static int assert_valid_exposition(char *body)
{
	char typed[256][96], current[96] = "", name[96], family[96];
	size_t ntyped = 0;
	regmatch_t m[4];
	int lines = 0;

	assert_true(strlen(body) > 0 && body[strlen(body) - 1] == '\n');
	for (char *line = strtok(body, "\n"); line; line = strtok(NULL, "\n"), lines++) {
		if (!regexec(&help_re, line, 2, m, 0))
			continue;
		if (!regexec(&type_re, line, 2, m, 0)) {
			match_name(line, &m[1], current, sizeof(current));
			for (size_t i = 0; i < ntyped; i++)
				if (!strcmp(typed[i], current))
					fail_msg("family typed twice: %s", current);
			assert_true(ntyped < 256);
			copy_string(typed[ntyped++], current, sizeof(typed[0]));
			continue;
		}
		if (regexec(&sample_re, line, 2, m, 0))
			fail_msg("line does not match the text format: '%s'", line);
		match_name(line, &m[1], name, sizeof(name));
		family_of(name, current, family, sizeof(family));
		if (strcmp(family, current))
			fail_msg("sample %s outside its family (current %s)", name, current);
	}
	return lines;
}

/* The value of the sample whose line starts with `prefix` + ' '. */
static double value_of(const char *body, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, prefix, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	fail_msg("no sample %s", prefix);
	return NAN;
}

/* ---- fixtures ---- */

static void relay_section(struct buf *out, void *ctx)
{
	metrics_family(out, "ckpool_relay_rtt_seconds", "gauge", "Test section.");
	metrics_sample(out, "ckpool_relay_rtt_seconds", "primary=\"eu\"", *(double *)ctx);
}

static void independent_mode(struct health_report *r, void *ctx)
{
	(void)ctx;
	health_add_reason(r, HEALTH_DEGRADED, "independent mode");
}

static void set_healthy_stats(void)
{
	atomic_store(&g_stats.template_height, 840000);
	atomic_store(&g_stats.template_time_us, now_unix_us() - 5000000);
	atomic_store(&g_stats.node_reachable, 1);
}

static int start_metrics(void **state)
{
	struct metrics_info info = { "us-east", "passthrough", "ckpool-relay-us", "0.1.0" };
	struct health_policy p;
	char err[256];

	(void)state;
	compile_grammar();
	health_policy_default(&p, 30);
	health_init(&p);
	if (metrics_start("127.0.0.1:0", &info, err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(metrics_port() > 0);
	return 0;
}

static int stop_metrics(void **state)
{
	(void)state;
	metrics_stop();
	free_grammar();
	return 0;
}

/* ---- tests ---- */

static void test_metrics_parse_and_carry_the_counters(void **state)
{
	static char body[1 << 17], copy[1 << 17];
	char headers[2048], name[128];
	double rtt = 27.5;

	(void)state;
	set_healthy_stats();
	atomic_store(&g_stats.miners_authorized, 3);
	atomic_store(&g_stats.connections_current, 4);
	atomic_store(&g_stats.connections_dropped_abuse, 6);
	atomic_store(&g_stats.shares_accepted, 1234);
	atomic_store(&g_stats.shares_rejected[REJECT_STALE], 5);
	atomic_store(&g_stats.shares_rejected[REJECT_LOW_DIFF], 2);
	atomic_store(&g_stats.blocks_found, 1);
	stats_rpc_latency(0.5, 1);
	stats_rpc_latency(7, 1);
	stats_rpc_latency(5000, 0);
	assert_int_equal(metrics_register_section(relay_section, &rtt), 0);

	assert_int_equal(http_get("/metrics", body, sizeof(body), headers, sizeof(headers)), 200);
	assert_non_null(strstr(headers, "Content-Type: text/plain; version=0.0.4"));
	for (int i = 0; required[i]; i++) {
		snprintf(name, sizeof(name), "# TYPE %s ", required[i]);
		if (!strstr(body, name))
			fail_msg("missing family %s", required[i]);
	}
	assert_true(value_of(body, "ckpool_miners_connected") == 3);
	assert_true(value_of(body, "ckpool_connections") == 4);
	assert_true(value_of(body, "ckpool_connections_dropped_total{reason=\"abuse\"}") == 6);
	assert_true(value_of(body, "ckpool_connections_dropped_total{reason=\"timeout\"}") == 0);
	assert_true(value_of(body, "ckpool_shares_total{result=\"accepted\"}") == 1234);
	assert_true(value_of(body, "ckpool_shares_rejected_total{reason=\"stale\"}") == 5);
	assert_true(value_of(body, "ckpool_shares_rejected_total{reason=\"low_diff\"}") == 2);
	assert_true(value_of(body, "ckpool_shares_rejected_total{reason=\"unauthorized\"}") == 0);
	assert_true(value_of(body, "ckpool_stale_shares_total") == 5);
	assert_true(value_of(body, "ckpool_blocks_found_total") == 1);
	assert_true(value_of(body, "ckpool_template_height") == 840000);
	assert_true(value_of(body, "ckpool_template_age_seconds") >= 5);
	assert_true(value_of(body, "ckpool_bitcoind_rpc_latency_seconds_bucket{le=\"0.001\"}") == 1);
	assert_true(value_of(body, "ckpool_bitcoind_rpc_latency_seconds_bucket{le=\"0.01\"}") == 2);
	assert_true(value_of(body, "ckpool_bitcoind_rpc_latency_seconds_bucket{le=\"1\"}") == 2);
	assert_true(value_of(body, "ckpool_bitcoind_rpc_latency_seconds_bucket{le=\"+Inf\"}") == 3);
	assert_true(value_of(body, "ckpool_bitcoind_rpc_latency_seconds_count") == 3);
	assert_true(fabs(value_of(body, "ckpool_bitcoind_rpc_latency_seconds_sum") - 5.0075) < 0.00001);
	assert_true(value_of(body, "ckpool_bitcoind_rpc_errors_total") == 1);
	assert_true(value_of(body, "ckpool_events_emitted_total{type=\"share_submitted\"}") == 0);
	assert_true(value_of(body, "ckpool_events_dropped_total{type=\"relay_mode_changed\"}")
		    == 0);
	assert_true(value_of(body, "ckpool_build_info{version=\"0.1.0\",region=\"us-east\","
				   "mode=\"passthrough\",pool_instance=\"ckpool-relay-us\"}") == 1);
	assert_true(value_of(body, "ckpool_relay_rtt_seconds{primary=\"eu\"}") == 27.5);
	assert_true(value_of(body, "ckpool_uptime_seconds") >= 0);

	copy_string(copy, body, sizeof(copy));
	assert_true(assert_valid_exposition(copy) > 60);

	metrics_unregister_section(relay_section, &rtt);
	assert_int_equal(http_get("/metrics", body, sizeof(body), headers, sizeof(headers)), 200);
	assert_null(strstr(body, "ckpool_relay_rtt_seconds"));
}

static void test_grammar_checker_rejects_bad_lines(void **state)
{
	char ok[] = "# HELP a x \\ y\n# TYPE a gauge\na{b=\"q\\\"uote\\n\",c=\"\"} -1.5e3\n";

	(void)state;
	assert_true(regexec(&sample_re, "a{b=\"unterminated} 1", 0, NULL, 0) != 0);
	assert_true(regexec(&sample_re, "9a 1", 0, NULL, 0) != 0);
	assert_true(regexec(&sample_re, "a 1 2 3", 0, NULL, 0) != 0);
	assert_true(regexec(&sample_re, "a +Inf", 0, NULL, 0) == 0);
	assert_int_equal(assert_valid_exposition(ok), 3);
}

static void test_label_escaping(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	metrics_escape_label(&b, "a\"b\\c\nd");
	buf_append(&b, "", 1);
	assert_string_equal((char *)b.data, "a\\\"b\\\\c\\nd");
	buf_reset(&b);
	metrics_sample(&b, "x", NULL, 0.25);
	metrics_sample(&b, "y", "l=\"v\"", 1e20);
	metrics_sample(&b, "z", NULL, INFINITY);
	buf_append(&b, "", 1);
	assert_string_equal((char *)b.data, "x 0.25\ny{l=\"v\"} 1e+20\nz +Inf\n");
	buf_free(&b);
}

/* The degraded reason names the template's age: at least `age` seconds,
 * more when the machine took its time between setting it and the GET. */
static void assert_template_age_reason(const char *body, int age)
{
	const char *reason = strstr(body, "template is ");
	int got = -1, end = 0;

	assert_non_null(reason);
	if (sscanf(reason, "template is %ds old (limit 90s)%n", &got, &end) != 1 || !end)
		fail_msg("reason does not match: %.60s", reason);
	if (got < age || got > age + 60)
		fail_msg("template age %d s, expected %d s or a little more", got, age);
}

static void test_health_statuses(void **state)
{
	char body[4096], headers[2048];
	json_t *j;

	(void)state;
	atomic_store(&g_stats.template_height, -1);
	atomic_store(&g_stats.node_reachable, 0);
	assert_int_equal(http_get("/health", body, sizeof(body), headers, sizeof(headers)), 503);
	assert_non_null(strstr(headers, "Content-Type: application/json"));
	j = json_loads(body, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "down");
	assert_string_equal(json_string_value(json_object_get(j, "region")), "us-east");
	assert_string_equal(json_string_value(json_object_get(j, "mode")), "passthrough");
	assert_int_equal(json_array_size(json_object_get(j, "reasons")), 2);
	json_decref(j);

	set_healthy_stats();
	atomic_store(&g_stats.miners_authorized, 7);
	assert_int_equal(http_get("/health", body, sizeof(body), headers, sizeof(headers)), 200);
	j = json_loads(body, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
	assert_int_equal(json_array_size(json_object_get(j, "reasons")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "template_height")), 840000);
	assert_int_equal(json_integer_value(json_object_get(j, "miners")), 7);
	assert_true(json_real_value(json_object_get(j, "template_age_s")) >= 5);
	assert_true(json_is_number(json_object_get(j, "uptime_s")));
	json_decref(j);

	atomic_store(&g_stats.template_time_us, now_unix_us() - 200 * 1000000LL);
	assert_int_equal(http_get("/health", body, sizeof(body), headers, sizeof(headers)), 200);
	assert_non_null(strstr(body, "\"status\":\"degraded\""));
	assert_template_age_reason(body, 200);

	set_healthy_stats();
	assert_int_equal(health_register_contributor(independent_mode, NULL), 0);
	assert_int_equal(http_get("/health", body, sizeof(body), headers, sizeof(headers)), 200);
	assert_non_null(strstr(body, "\"status\":\"degraded\""));
	assert_non_null(strstr(body, "independent mode"));
	health_unregister_contributor(independent_mode, NULL);
	assert_int_equal(http_get("/health", body, sizeof(body), headers, sizeof(headers)), 200);
	assert_non_null(strstr(body, "\"status\":\"ok\""));
}

static void test_health_decide_is_pure(void **state)
{
	struct health_inputs in = { .template_height = 100, .template_age_s = 10,
				    .node_reachable = true, .events_queued = 95,
				    .events_capacity = 100 };
	struct health_policy p = { .template_max_age_s = 90, .events_queue_degraded_ratio = 0.9 };
	struct health_report r;

	(void)state;
	health_decide(&in, &p, &r);
	assert_int_equal(r.status, HEALTH_DEGRADED);
	assert_non_null(strstr(r.reasons[0], "event queue 95 of 100"));
	in.events_queued = 10;
	health_decide(&in, &p, &r);
	assert_int_equal(r.status, HEALTH_OK);
	in.node_reachable = false;
	in.template_age_s = 1000;
	health_decide(&in, &p, &r);
	assert_int_equal(r.status, HEALTH_DOWN);
	assert_int_equal(r.reason_count, 2);
	for (int i = 0; i < 20; i++)
		health_add_reason(&r, HEALTH_DEGRADED, "reason %d", i);
	assert_int_equal(r.reason_count, HEALTH_MAX_REASONS);
	assert_int_equal(r.status, HEALTH_DOWN);
	assert_string_equal(health_status_name(HEALTH_DEGRADED), "degraded");
}

#define SIGNET_RULE_ERROR \
	"rpc getblocktemplate: -8: getblocktemplate must be called with the signet rule set " \
	"(call with {\"rules\": [\"segwit\", \"signet\"]})"

/* A node refusing templates: down before any template, degraded after
 * one (miners keep the last), the error a field of /health and a label
 * of /metrics, the refusals counted; all clear once a template comes. */
static void test_template_refusals_in_health_and_metrics(void **state)
{
	static char body[1 << 17], copy[1 << 17];
	char headers[2048];
	json_t *j;

	(void)state;
	template_status_reset();
	template_status_set_chain("signet");
	atomic_store(&g_stats.template_height, -1);
	atomic_store(&g_stats.node_reachable, 1);
	for (int i = 0; i < 3; i++)
		template_status_refused("127.0.0.1:38332", SIGNET_RULE_ERROR);
	assert_int_equal(http_get("/health", body, sizeof(body), headers, sizeof(headers)), 503);
	j = json_loads(body, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "down");
	assert_string_equal(json_string_value(json_object_get(j, "template_error")),
			    SIGNET_RULE_ERROR);
	assert_int_equal(json_integer_value(json_object_get(j, "template_error_count")), 3);
	assert_string_equal(json_string_value(json_object_get(j, "chain")), "signet");
	/* One reason, whole: the refusal explains why there is no template. */
	assert_int_equal(json_array_size(json_object_get(j, "reasons")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "reasons"), 0)),
			    "node refuses templates: " SIGNET_RULE_ERROR);
	json_decref(j);

	assert_int_equal(http_get("/metrics", body, sizeof(body), headers, sizeof(headers)), 200);
	assert_true(value_of(body, "ckpool_template_refusals_total") == 3);
	assert_true(value_of(body, "ckpool_template_refused") == 1);
	assert_true(value_of(body, "ckpool_template_refused_repeats") == 3);
	assert_true(value_of(body, "ckpool_template_refusal_info{error=\"rpc getblocktemplate: -8: "
				   "getblocktemplate must be called with the signet rule set (call "
				   "with {\\\"rules\\\": [\\\"segwit\\\", \\\"signet\\\"]})\"}")
		    == 1);
	assert_true(value_of(body, "ckpool_chain_info{chain=\"signet\",signet_challenge=\"\"}")
		    == 1);
	copy_string(copy, body, sizeof(copy));
	assert_valid_exposition(copy);

	set_healthy_stats();    /* a template was had before the refusals */
	assert_int_equal(http_get("/health", body, sizeof(body), headers, sizeof(headers)), 200);
	assert_non_null(strstr(body, "\"status\":\"degraded\""));
	assert_non_null(strstr(body, "node refuses templates"));

	template_status_served("127.0.0.1:38332", "51");
	assert_int_equal(http_get("/health", body, sizeof(body), headers, sizeof(headers)), 200);
	j = json_loads(body, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
	assert_true(json_is_null(json_object_get(j, "template_error")));
	assert_int_equal(json_integer_value(json_object_get(j, "template_error_count")), 0);
	assert_string_equal(json_string_value(json_object_get(j, "signet_challenge")), "51");
	json_decref(j);
	assert_int_equal(http_get("/metrics", body, sizeof(body), headers, sizeof(headers)), 200);
	assert_true(value_of(body, "ckpool_template_refusals_total") == 3);
	assert_true(value_of(body, "ckpool_template_refused") == 0);
	assert_null(strstr(body, "ckpool_template_refusal_info{"));
	assert_true(value_of(body, "ckpool_chain_info{chain=\"signet\",signet_challenge=\"51\"}")
		    == 1);
	template_status_reset();
}

static void test_share_rate_over_the_last_minute(void **state)
{
	(void)state;
	metrics_stop();   /* no sampler thread during this test */
	atomic_store(&g_stats.shares_accepted, 1000);
	for (int t = 0; t <= 120; t++) {
		atomic_store(&g_stats.shares_accepted, 1000 + (uint64_t)(t < 60 ? t * 2 : 120 + (t - 60) * 5));
		metrics_sample_share_rate(10000.0 + t);
	}
	/* The last minute (t 60..120) gained 5 shares a second. */
	assert_true(fabs(metrics_share_rate() - 5.0) < 1e-9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_parse_and_carry_the_counters),
		cmocka_unit_test(test_grammar_checker_rejects_bad_lines),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_health_statuses),
		cmocka_unit_test(test_health_decide_is_pure),
		cmocka_unit_test(test_template_refusals_in_health_and_metrics),
		cmocka_unit_test(test_share_rate_over_the_last_minute),
	};

	return cmocka_run_group_tests_name("metrics", tests, start_metrics, stop_metrics);
}
