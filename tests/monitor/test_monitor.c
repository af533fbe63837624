/*
 * The monitor's views over a synthetic snapshot (two IKE SAs; a transport
 * Child SA, a tunnel Child SA behind a NAT and a manual outbound SA):
 * golden files pin the list and table layouts (tests/monitor/golden/), a
 * schema check pins every JSON view's keys and their types in order
 * (docs/monitor-json.md). SECPOL_UPDATE_GOLDEN=1 rewrites the golden files.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "golden.h"

#include "monitor/monitor.h"

static struct mon_addr ip(const char *text)
{
	struct mon_addr a = { 0 };
	a.family = strchr(text, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(a.family, text, a.bytes), 1);
	return a;
}

static const char *const drop_names[] = { "none", "truncated", "bad-length", "bad-spi",
                                          "replay", "out-of-window" };

static void synthetic(struct mon_snapshot *s)
{
	assert_true(mon_snapshot_init(s, 4, 4, 4));
	s->taken_at = 1704103200;   /* 2024-01-01 10:00:00 UTC */
	/* Every counter a distinct value: a swapped label shows in the golden file. */
	uint64_t *mm = (uint64_t *)&s->mm, *qm = (uint64_t *)&s->qm;
	for (size_t i = 0; i < sizeof(s->mm) / sizeof(uint64_t); i++)
		mm[i] = 100 + i;
	for (size_t i = 0; i < sizeof(s->qm) / sizeof(uint64_t); i++)
		qm[i] = 200 + i;
	s->qm.offload_sas = s->qm.offloaded_bytes_sent = s->qm.offloaded_bytes_received = 0;
	s->dp.packets_steered = 301;
	s->dp.packets_encrypted = 302;
	s->dp.packets_decrypted = 303;
	s->dp.blocked = 304;
	s->dp.ndrops = 6;
	for (size_t i = 0; i < 6; i++) {
		s->dp.drop_names[i] = drop_names[i];
		s->dp.drops[i] = i ? 400 + i : 0;
	}

	struct mon_ike_sa *a = &s->ike[0];
	*a = (struct mon_ike_sa){ .me = ip("192.0.2.1"), .peer = ip("192.0.2.2"), .me_port = 500,
	                          .peer_port = 500, .cookie_i = 0x4f1a2b3c4d5e6f70ull,
	                          .cookie_r = 0x0a1b2c3d4e5f6071ull, .auth = MON_AUTH_PSK,
	                          .dh_group = 19, .initiator = true, .rule_id = 3, .age_s = 42,
	                          .lifetime_s = 28800, .lifetime_left_s = 25000, .child_sas = 1 };
	strcpy(a->me_id, "192.0.2.1");
	strcpy(a->peer_id, "192.0.2.2");
	strcpy(a->encryption, "AES-128-GCM");
	strcpy(a->integrity, "AEAD");
	strcpy(a->prf, "SHA256");
	strcpy(a->state, "established");
	strcpy(a->rule, "Require ESP");
	a = &s->ike[1];
	*a = (struct mon_ike_sa){ .me = ip("2001:db8::1"), .peer = ip("2001:db8:1::77"),
	                          .me_port = 4500, .peer_port = 40123, .cookie_i = 1, .cookie_r = 2,
	                          .auth = MON_AUTH_CERT, .dh_group = 14, .encap = true, .nat = true,
	                          .rule_id = 4, .age_s = 7, .lifetime_s = 3600, .child_sas = 1 };
	strcpy(a->me_id, "CN=gw1.example.com");
	strcpy(a->peer_id, "CN=a-peer-with-a-rather-long-certificate-subject.example.com");
	strcpy(a->encryption, "AES-256-CBC");
	strcpy(a->integrity, "SHA256");
	strcpy(a->prf, "SHA256");
	strcpy(a->state, "established");
	strcpy(a->rule, "Site tunnel");
	s->nike = s->ike_total = 2;

	struct mon_qm_sa *q = &s->qm_sas[0];
	*q = (struct mon_qm_sa){ .negotiated = true, .direction = MON_DIR_BOTH, .me = ip("192.0.2.1"),
	                         .peer = ip("192.0.2.2"), .me_len = 32, .peer_len = 32, .protocol = 6,
	                         .me_port = 0, .peer_port = 3389, .rule_id = 3, .esp = true,
	                         .pfs_group = 2, .lifetime_kb = 100000, .lifetime_s = 3600,
	                         .remaining_kb = 99990, .remaining_s = 3558, .spi_in = 0xc0ffee01,
	                         .spi_out = 0x1234abcd, .packets_in = 10, .packets_out = 11,
	                         .bytes_in = 1000, .bytes_out = 1100, .drops_in = 1, .age_s = 42 };
	strcpy(q->rule, "Require ESP");
	strcpy(q->policy, "Require ESP");
	strcpy(q->ah_integrity, "None");
	strcpy(q->esp_confidentiality, "3DES");
	strcpy(q->esp_integrity, "SHA1");
	q = &s->qm_sas[1];
	*q = (struct mon_qm_sa){ .negotiated = true, .direction = MON_DIR_BOTH, .me = ip("198.51.100.0"),
	                         .peer = ip("203.0.113.0"), .me_len = 24, .peer_len = 24,
	                         .tunnel = true, .me_tunnel = ip("2001:db8::1"),
	                         .peer_tunnel = ip("2001:db8:1::77"), .rule_id = 4, .esp = true,
	                         .lifetime_kb = 0, .lifetime_s = 3600, .remaining_s = 3593,
	                         .encap = true, .encap_me_port = 4500, .encap_peer_port = 40123,
	                         .spi_in = 0xaa, .spi_out = 0xbb00, .packets_in = 5, .packets_out = 6,
	                         .bytes_in = 500, .bytes_out = 600, .age_s = 7, .rekey_due = true };
	strcpy(q->rule, "Site tunnel");
	strcpy(q->policy, "Tunnel ESP");
	strcpy(q->ah_integrity, "None");
	strcpy(q->esp_confidentiality, "AES-256-GCM");
	strcpy(q->esp_integrity, "AEAD");
	q = &s->qm_sas[2];
	*q = (struct mon_qm_sa){ .direction = MON_DIR_OUTBOUND, .me = ip("192.0.2.1"),
	                         .peer = ip("192.0.2.9"), .me_len = 32, .peer_len = 32,
	                         .esp = false, .spi_out = 0x1000, .packets_out = 3, .bytes_out = 252,
	                         .age_s = 99 };
	strcpy(q->ah_integrity, "SHA256");
	strcpy(q->esp_confidentiality, "None");
	strcpy(q->esp_integrity, "None");
	s->nqm = s->qm_total = 3;

	struct mon_sa *sa = &s->sas[0];
	*sa = (struct mon_sa){ .spi = 0x1000, .esp = false, .src = ip("192.0.2.1"),
	                       .dst = ip("192.0.2.9"), .src_len = 32, .dst_len = 32, .sequence = 3,
	                       .age_s = 99, .packets = 3, .bytes = 252 };
	sa->drops[3] = 2;
	strcpy(sa->encryption, "None");
	strcpy(sa->integrity, "SHA256");
	strcpy(sa->state, "active");
	sa = &s->sas[1];
	*sa = (struct mon_sa){ .spi = 0xaa, .inbound = true, .esp = true, .tunnel = true, .encap = true,
	                       .src = ip("203.0.113.0"), .dst = ip("198.51.100.0"), .src_len = 24,
	                       .dst_len = 24, .tunnel_src = ip("2001:db8:1::77"),
	                       .tunnel_dst = ip("2001:db8::1"), .age_s = 7, .packets = 5, .bytes = 500 };
	strcpy(sa->encryption, "AES-256-GCM");
	strcpy(sa->integrity, "AEAD");
	strcpy(sa->state, "rekey due");
	s->nsa = s->sa_total = 2;
}

/* Renders into a buffer; the caller frees. */
typedef void (*render_fn)(FILE *f, const struct mon_snapshot *s, enum mon_format fmt);
static char *render(render_fn fn, enum mon_format fmt)
{
	struct mon_snapshot s;
	synthetic(&s);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	fn(f, &s, fmt);
	fclose(f);
	mon_snapshot_free(&s);
	return buf;
}

static void r_stats(FILE *f, const struct mon_snapshot *s, enum mon_format fmt)
{
	mon_render_stats(f, s, MON_STATS_ALL, fmt, false);
}
static void r_stats_ike(FILE *f, const struct mon_snapshot *s, enum mon_format fmt)
{
	mon_render_stats(f, s, MON_STATS_IKE, fmt, false);
}
static void r_mmsas(FILE *f, const struct mon_snapshot *s, enum mon_format fmt)
{
	mon_render_mmsas(f, s, NULL, fmt, false);
}
static void r_qmsas(FILE *f, const struct mon_snapshot *s, enum mon_format fmt)
{
	mon_render_qmsas(f, s, NULL, fmt, false);
}
static void r_mmsas_wide(FILE *f, const struct mon_snapshot *s, enum mon_format fmt)
{
	mon_render_mmsas(f, s, NULL, fmt, true);
}
static void r_qmsas_peer(FILE *f, const struct mon_snapshot *s, enum mon_format fmt)
{
	struct mon_filter flt = { .has_dst = true, .dst = ip("192.0.2.9") };
	mon_render_qmsas(f, s, &flt, fmt, false);
}
static void r_sas(FILE *f, const struct mon_snapshot *s, enum mon_format fmt)
{
	mon_render_sas(f, s, fmt, false);
}

/* Three negotiating rules: two with an SA in the snapshot, one without
 * (its name needs every escape of a label value). */
static const struct mon_rule metric_rules[] = {
	{ .id = 3, .name = "Require ESP", .policy = "lab" },
	{ .id = 4, .name = "Site tunnel", .policy = "lab" },
	{ .id = 100001, .name = "Idle \"quoted\" C:\\rule\nline 2", .policy = "" },
};
static void r_metrics(FILE *f, const struct mon_snapshot *s, enum mon_format fmt)
{
	(void)fmt;
	mon_render_metrics(f, s, metric_rules, 3, false);
}
static void r_openmetrics(FILE *f, const struct mon_snapshot *s, enum mon_format fmt)
{
	(void)fmt;
	mon_render_metrics(f, s, metric_rules, 3, true);
}


static void check_golden(const char *name, render_fn fn, enum mon_format fmt)
{
	char *got = render(fn, fmt);
	golden_check(GOLDEN_DIR, name, got);
	free(got);
}

/* `show failures`: three of 35 failures kept (the rest were pushed out),
 * one at each kind of step, one whose rule is gone and one whose reason
 * needs quoting in JSON. */
static void failures(struct mon_failures *s)
{
	memset(s, 0, sizeof(*s));
	s->taken_at = 1704103200;
	s->total = 35;
	s->n = 3;
	s->f[0] = (struct mon_failure){ .age_s = 600, .peer = ip("192.0.2.3"), .peer_port = 500,
	                                .rule_id = 100001 };
	strcpy(s->f[0].rule, "Dynamic Rule 100001");
	strcpy(s->f[0].step, "IKE_AUTH");
	strcpy(s->f[0].reason, "authentication failed: the peer's AUTH does not verify with the "
	                       "pre-shared key of rule 'Dynamic Rule 100001'");
	s->f[1] = (struct mon_failure){ .age_s = 42, .peer = ip("2001:db8::2"), .peer_port = 4500,
	                                .rule_id = 7 };
	strcpy(s->f[1].step, "Child SA");
	strcpy(s->f[1].reason, "NO_PROPOSAL_CHOSEN \"ESP[AES256,SHA256]\"\tnot accepted");
	s->f[2] = (struct mon_failure){ .age_s = 3, .peer = ip("198.51.100.7"), .peer_port = 500,
	                                .rule_id = 2 };
	strcpy(s->f[2].rule, "Site tunnel");
	strcpy(s->f[2].step, "timeout");
	strcpy(s->f[2].reason, "no answer to IKE_SA_INIT after 3 tries");
}

static void r_failures(FILE *f, const struct mon_snapshot *s, enum mon_format fmt)
{
	(void)s;
	static struct mon_failures fl;
	failures(&fl);
	mon_render_failures(f, &fl, fmt, false);
}

static void r_failures_wide(FILE *f, const struct mon_snapshot *s, enum mon_format fmt)
{
	(void)s;
	static struct mon_failures fl;
	failures(&fl);
	mon_render_failures(f, &fl, fmt, true);
}

static void test_golden_layouts(void **state)
{
	(void)state;
	check_golden("sa_table.txt", r_sas, MON_TABLE);
	check_golden("failures_list.txt", r_failures, MON_LIST);
	check_golden("failures_table.txt", r_failures, MON_TABLE);
	check_golden("failures_table_wide.txt", r_failures_wide, MON_TABLE);
	check_golden("stats_list.txt", r_stats, MON_LIST);
	check_golden("stats_ike_list.txt", r_stats_ike, MON_LIST);
	check_golden("stats_table.txt", r_stats, MON_TABLE);
	check_golden("mmsas_list.txt", r_mmsas, MON_LIST);
	check_golden("mmsas_table.txt", r_mmsas, MON_TABLE);
	check_golden("qmsas_list.txt", r_qmsas, MON_LIST);
	check_golden("qmsas_table.txt", r_qmsas, MON_TABLE);
	check_golden("mmsas_table_wide.txt", r_mmsas_wide, MON_TABLE);
	check_golden("qmsas_peer_list.txt", r_qmsas_peer, MON_LIST);
	check_golden("metrics.prom", r_metrics, MON_LIST);
	check_golden("metrics.openmetrics", r_openmetrics, MON_LIST);
}

/* Tables fit 79 columns unless wide. */
static void test_table_width(void **state)
{
	(void)state;
	render_fn fns[] = { r_stats, r_mmsas, r_qmsas, r_sas, r_failures };
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		char *got = render(fns[i], MON_TABLE);
		for (char *line = strtok(got, "\n"); line; line = strtok(NULL, "\n"))
			if (strlen(line) > 79)
				fail_msg("a line of %zu columns: %s", strlen(line), line);
		free(got);
	}
	char *wide = render(r_mmsas_wide, MON_TABLE);
	size_t longest = 0;
	for (char *line = strtok(wide, "\n"); line; line = strtok(NULL, "\n"))
		if (strlen(line) > longest)
			longest = strlen(line);
	assert_true(longest > 79);   /* nothing cut: the synthetic rows are wider */
	free(wide);
}


static void check_schema(const char *what, render_fn fn, const char *want)
{
	char *doc = render(fn, MON_JSON);
	static char got[8192];
	json_schema_of(doc, got, sizeof(got));
	if (strcmp(got, want)) {
		fprintf(stderr, "%s schema\n want: %s\n got:  %s\n%s", what, want, got, doc);
		fail_msg("the %s JSON schema changed (docs/monitor-json.md)", what);
	}
	free(doc);
}

static void test_json_schema(void **state)
{
	(void)state;
	check_schema("stats", r_stats,
	             "schema_version:n view:s taken_at:n main_mode:o active_acquire:n "
	             "active_receive:n acquire_failures:n receive_failures:n send_failures:n "
	             "acquire_heap_size:n receive_heap_size:n negotiation_failures:n "
	             "authentication_failures:n invalid_cookies_received:n total_acquire:n "
	             "total_get_spi:n total_key_add:n key_add_fail:n isadb_list_size:n "
	             "conn_list_size:n oakley_main_mode:n oakley_quick_mode:n "
	             "soft_associations:n invalid_packets_received:n total_receive:n "
	             "active_ike_sas:n retransmissions:n cookies_sent:n fragmented_messages:n "
	             "reassembled_messages:n quick_mode:o active_associations:n offload_sas:n "
	             "pending_key_operations:n key_additions:n key_deletions:n rekeys:n "
	             "active_tunnels:n bad_spi_packets:n packets_not_decrypted:n "
	             "packets_not_authenticated:n packets_with_replay_detection:n "
	             "confidential_bytes_sent:n confidential_bytes_received:n "
	             "authenticated_bytes_sent:n authenticated_bytes_received:n "
	             "transport_bytes_sent:n transport_bytes_received:n bytes_sent_in_tunnels:n "
	             "bytes_received_in_tunnels:n offloaded_bytes_sent:n "
	             "offloaded_bytes_received:n data_path:o packets_steered:n packets_encrypted:n "
	             "packets_decrypted:n permitted_in_clear:n blocked:n no_matching_filter:n "
	             "queued_for_sa:n queue_overflow_drops:n queue_timeout_drops:n "
	             "queued_then_sent:n malformed_packets:n send_errors:n tun_write_errors:n "
	             "drops:o truncated:n bad_length:n bad_spi:n replay:n out_of_window:n ");
	check_schema("mmsas", r_mmsas,
	             "schema_version:n view:s taken_at:n total:n truncated:b sas:a me:s me_port:n "
	             "peer:s peer_port:n cookie_initiator:s cookie_responder:s auth:s me_id:s "
	             "peer_id:s encryption:s integrity:s prf:s dh_group:n role:s state:s rule_id:n "
	             "rule:s udp_encap:b nat:b age_s:n lifetime_s:n lifetime_left_s:n "
	             "quick_mode_sas:n ");
	check_schema("qmsas", r_qmsas,
	             "schema_version:n view:s taken_at:n total:n truncated:b sas:a negotiated:b "
	             "direction:s mode:s me:s me_prefix_len:n peer:s peer_prefix_len:n protocol:s "
	             "me_port:n peer_port:n me_tunnel:z peer_tunnel:z rule_id:n rule:s policy:s "
	             "ipsec_protocol:s ah_integrity:s esp_confidentiality:s esp_integrity:s "
	             "pfs_group:n lifetime_kb:n lifetime_s:n remaining_kb:n remaining_s:n "
	             "udp_encap:b encap_me_port:n encap_peer_port:n spi_in:n spi_out:n "
	             "packets_in:n packets_out:n bytes_in:n bytes_out:n drops_in:n drops_out:n "
	             "age_s:n rekey_due:b ");
	check_schema("sa", r_sas,
	             "schema_version:n view:s taken_at:n total:n truncated:b sas:a spi:n "
	             "direction:s ipsec_protocol:s mode:s src:s src_prefix_len:n dst:s "
	             "dst_prefix_len:n tunnel_src:z tunnel_dst:z encryption:s integrity:s "
	             "udp_encap:b esn:b sequence:n age_s:n packets:n bytes:n drops:o truncated:n "
	             "bad_length:n bad_spi:n replay:n out_of_window:n state:s ");
	check_schema("failures", r_failures,
	             "schema_version:n view:s taken_at:n total:n truncated:b failures:a age_s:n "
	             "peer:s peer_port:n rule_id:n rule:s step:s reason:s ");
	check_schema("stats type=ike", r_stats_ike,
	             "schema_version:n view:s taken_at:n main_mode:o active_acquire:n "
	             "active_receive:n acquire_failures:n receive_failures:n send_failures:n "
	             "acquire_heap_size:n receive_heap_size:n negotiation_failures:n "
	             "authentication_failures:n invalid_cookies_received:n total_acquire:n "
	             "total_get_spi:n total_key_add:n key_add_fail:n isadb_list_size:n "
	             "conn_list_size:n oakley_main_mode:n oakley_quick_mode:n "
	             "soft_associations:n invalid_packets_received:n total_receive:n "
	             "active_ike_sas:n retransmissions:n cookies_sent:n fragmented_messages:n "
	             "reassembled_messages:n ");
}

/* The sample "name{labels}" of text's line that starts with it: its value. */
static bool sample(const char *text, const char *series, unsigned long long *v)
{
	size_t n = strlen(series);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, series, n) && l[n] == ' ')
			return sscanf(l + n + 1, "%llu", v) == 1;
	return false;
}

/* One JSON block of `show stats` ("main_mode": { "k": n, ... }) against the
 * metrics: every key is one sample, prefix + key (a leading "total_"
 * dropped) + "_total" for a counter or alone for a gauge, of the same value. */
static void block_matches(const char *json, const char *block, const char *prefix,
                          const char *metrics, size_t *checked)
{
	char want[64];
	snprintf(want, sizeof(want), "\"%s\"", block);
	const char *p = strstr(json, want);
	assert_non_null(p);
	p = strchr(p, '{');
	assert_non_null(p);
	const char *end = strchr(p, '}');
	assert_non_null(end);
	while ((p = strchr(p, '"')) && p < end) {
		char key[64];
		unsigned long long jv, mv;
		int used = 0, got = sscanf(p, "\"%63[a-z0-9_]\": %llu%n", key, &jv, &used);
		if (got == 1 && !strcmp(key, "drops"))
			break;   /* data_path's nested object: a block of its own */
		assert_int_equal(got, 2);
		p += used;
		const char *base = strncmp(key, "total_", 6) ? key : key + 6;
		char counter[128], gauge[128];
		snprintf(counter, sizeof(counter), "%s%s_total", prefix, base);
		snprintf(gauge, sizeof(gauge), "%s%s", prefix, base);
		if (!strcmp(block, "drops"))
			snprintf(counter, sizeof(counter), "secpol_datapath_drops_total{reason=\"%s\"}",
			         key);   /* the synthetic names are their own JSON keys */
		bool c = sample(metrics, counter, &mv);
		if (!c && !sample(metrics, gauge, &mv))
			fail_msg("%s.%s has no metric (%s or %s)", block, key, counter, gauge);
		if (mv != jv)
			fail_msg("%s.%s: JSON %llu, metric %llu", block, key, jv, mv);
		(*checked)++;
	}
}

static void test_metrics_match_stats(void **state)
{
	(void)state;
	char *json = render(r_stats, MON_JSON), *metrics = render(r_metrics, MON_LIST);
	size_t n = 0;
	block_matches(json, "main_mode", "secpol_ike_", metrics, &n);
	block_matches(json, "quick_mode", "secpol_ipsec_", metrics, &n);
	block_matches(json, "data_path", "secpol_datapath_", metrics, &n);
	block_matches(json, "drops", "", metrics, &n);
	assert_int_equal(n, 26 + 21 + 13 + 5);   /* every counter of every block */
	free(json);
	free(metrics);
}

static bool metric_name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

/* The exposition format's rules, line by line: every sample belongs to the
 * family of the last TYPE line (counters: "<family>_total" in OpenMetrics,
 * the TYPE's own name in 0.0.4), families appear once, no series twice,
 * label values are quoted with only \\ \" \n escapes, and OpenMetrics ends
 * with "# EOF". */
static void check_exposition(const char *text, bool om)
{
	char family[128] = "", kind[16] = "";
	char *seen = calloc(1, strlen(text) + 1);   /* "\n"-joined series and families */
	assert_non_null(seen);
	size_t samples = 0;
	const char *l = text;
	bool eof = false;
	while (*l) {
		const char *nl = strchr(l, '\n');
		assert_non_null(nl);   /* every line ends with a newline */
		size_t n = (size_t)(nl - l);
		char line[1024];
		assert_true(n < sizeof(line));
		memcpy(line, l, n);
		line[n] = '\0';
		l = nl + 1;
		assert_false(eof);     /* nothing after # EOF */
		if (!strcmp(line, "# EOF")) {
			eof = true;
			continue;
		}
		if (!strncmp(line, "# HELP ", 7))
			continue;
		if (!strncmp(line, "# TYPE ", 7)) {
			assert_int_equal(sscanf(line + 7, "%127s %15s", family, kind), 2);
			assert_true(!strcmp(kind, "counter") || !strcmp(kind, "gauge"));
			char key[140];
			snprintf(key, sizeof(key), "\nT %s\n", family);
			assert_null(strstr(seen, key));
			strcat(seen, key + 1);
			continue;
		}
		assert_true(line[0] != '#');
		size_t k = 0;
		for (; metric_name_char(line[k], k == 0); k++)
			;
		char name[128];
		assert_true(k > 0 && k < sizeof(name));
		memcpy(name, line, k);
		name[k] = '\0';
		char expect[140];
		snprintf(expect, sizeof(expect), "%s%s", family,
		         om && !strcmp(kind, "counter") ? "_total" : "");
		if (strcmp(name, expect))
			fail_msg("sample %s is not of the family %s (%s)", name, family, kind);
		if (!om && !strcmp(kind, "counter"))
			assert_true(k > 6 && !strcmp(name + k - 6, "_total"));
		if (line[k] == '{') {
			k++;
			while (line[k] != '}') {
				while (metric_name_char(line[k], false))
					k++;
				assert_int_equal(line[k], '=');
				assert_int_equal(line[k + 1], '"');
				for (k += 2; line[k] != '"'; k++) {
					assert_true(line[k] != '\0');
					if (line[k] == '\\') {
						k++;
						assert_non_null(strchr("\\\"n", line[k]));
					}
				}
				k++;
				if (line[k] == ',')
					k++;
				else
					assert_int_equal(line[k], '}');
			}
			k++;
		}
		assert_int_equal(line[k], ' ');
		unsigned long long v;
		int used = 0;
		assert_int_equal(sscanf(line + k + 1, "%llu%n", &v, &used), 1);
		assert_int_equal(line[k + 1 + (size_t)used], '\0');
		char series[1100];
		line[k] = '\0';
		snprintf(series, sizeof(series), "\nS %s\n", line);
		assert_null(strstr(seen, series));
		strcat(seen, series + 1);
		samples++;
	}
	assert_true(eof == om);
	/* 26 + 21 + 13 counters, 5 drop reasons, the SA count, 5 SA directions
	 * times bytes, packets and drops, 3 rules. */
	assert_int_equal(samples, 26 + 21 + 13 + 5 + 1 + 15 + 3);
	free(seen);
}

static void test_metrics_format(void **state)
{
	(void)state;
	char *prom = render(r_metrics, MON_LIST), *om = render(r_openmetrics, MON_LIST);
	check_exposition(prom, false);
	check_exposition(om, true);
	unsigned long long v;
	/* The rules: up while an SA carries their id. */
	assert_true(sample(prom, "secpol_rule_sa_up{rule=\"Require ESP\",policy=\"lab\"}", &v));
	assert_int_equal(v, 1);
	assert_true(sample(prom, "secpol_rule_sa_up{rule=\"Site tunnel\",policy=\"lab\"}", &v));
	assert_int_equal(v, 1);
	assert_true(sample(prom, "secpol_rule_sa_up{rule=\"Idle \\\"quoted\\\" C:\\\\rule\\nline 2\","
	                         "policy=\"\"}", &v));
	assert_int_equal(v, 0);
	/* One SA direction: its labels and the snapshot's numbers. */
	assert_true(sample(prom, "secpol_sa_bytes_total{spi=\"0xc0ffee01\",direction=\"inbound\","
	                         "peer=\"192.0.2.2\",rule=\"Require ESP\",protocol=\"esp\","
	                         "mode=\"transport\"}", &v));
	assert_int_equal(v, 1000);
	assert_true(sample(prom, "secpol_sa_packets_total{spi=\"0x0000bb00\",direction=\"outbound\","
	                         "peer=\"2001:db8:1::77\",rule=\"Site tunnel\",protocol=\"esp\","
	                         "mode=\"tunnel\"}", &v));
	assert_int_equal(v, 6);
	/* The manual SA has only its outbound direction. */
	assert_true(sample(prom, "secpol_sa_bytes_total{spi=\"0x00001000\",direction=\"outbound\","
	                         "peer=\"192.0.2.9\",rule=\"\",protocol=\"ah\",mode=\"transport\"}",
	                   &v));
	assert_int_equal(v, 252);
	assert_null(strstr(prom, "spi=\"0x00000000\""));
	free(prom);
	free(om);
}

/* None kept, none ever: the empty view; none kept of some: says so. */
static void test_failures_empty(void **state)
{
	(void)state;
	static struct mon_failures fl;
	memset(&fl, 0, sizeof(fl));
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	mon_render_failures(f, &fl, MON_LIST, false);
	fflush(f);
	assert_string_equal(buf, "No failed negotiations.\n");
	rewind(f);
	len = 0;
	mon_render_failures(f, &fl, MON_JSON, false);
	fflush(f);
	assert_non_null(strstr(buf, "\"total\":0"));
	assert_non_null(strstr(buf, "\"truncated\":false"));
	assert_non_null(strstr(buf, "\"failures\":[]"));
	/* The step is a token, and a reason's quote and tab are escaped. */
	failures(&fl);
	rewind(f);
	len = 0;
	mon_render_failures(f, &fl, MON_JSON, false);
	fflush(f);
	assert_non_null(strstr(buf, "\"step\":\"child_sa\""));
	assert_non_null(strstr(buf, "\"step\":\"ike_auth\""));
	assert_non_null(strstr(buf, "\"truncated\":true"));
	assert_non_null(strstr(buf, "NO_PROPOSAL_CHOSEN \\\"ESP[AES256,SHA256]\\\"\\tnot"));
	fclose(f);
	free(buf);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_layouts),
		cmocka_unit_test(test_table_width),
		cmocka_unit_test(test_json_schema),
		cmocka_unit_test(test_metrics_match_stats),
		cmocka_unit_test(test_metrics_format),
		cmocka_unit_test(test_failures_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
