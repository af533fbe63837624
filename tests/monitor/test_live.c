/*
 * `secpol monitor`'s pieces without a terminal: the bounded JSON reader,
 * the live document written by secpold and read back (every field
 * survives the trip; broken documents fail with a reason), and the frame
 * (fits any terminal size, rates, sorting, hostile names made harmless).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/jsonread.h"
#include "monitor/monitor.h"

/* ---- the JSON reader ---- */

static struct jr_token toks[256];

static bool parse(struct jr_doc *d, const char *text, char *err)
{
	return jr_parse(d, text, strlen(text), toks, 256, err, 128);
}

static void test_reader_values(void **state)
{
	(void)state;
	struct jr_doc d;
	char err[128], s[64];
	const char *text = " {\"n\": 18446744073709551615, \"big\": 18446744073709551616,"
	                   " \"neg\": -1, \"frac\": 1.5, \"exp\": 1e3, \"t\": true, \"f\": false,"
	                   " \"z\": null, \"s\": \"a\\\"b\\\\c\\/\\n\\u00e9\\ud83d\\ude00\","
	                   " \"arr\": [1, [2, 3], {\"k\": 4}, 5], \"n\": 7} ";
	assert_true(parse(&d, text, err));
	uint64_t v;
	bool b;
	assert_true(jr_u64(&d, jr_member(&d, 0, "n"), &v));
	assert_true(v == UINT64_MAX);   /* the first of a repeated key */
	assert_false(jr_u64(&d, jr_member(&d, 0, "big"), &v));   /* overflows */
	assert_false(jr_u64(&d, jr_member(&d, 0, "neg"), &v));
	assert_false(jr_u64(&d, jr_member(&d, 0, "frac"), &v));
	assert_false(jr_u64(&d, jr_member(&d, 0, "exp"), &v));
	assert_true(jr_bool(&d, jr_member(&d, 0, "t"), &b) && b);
	assert_true(jr_bool(&d, jr_member(&d, 0, "f"), &b) && !b);
	assert_false(jr_bool(&d, jr_member(&d, 0, "z"), &b));
	assert_true(jr_is_null(&d, jr_member(&d, 0, "z")));
	assert_true(jr_string(&d, jr_member(&d, 0, "s"), s, sizeof(s)));
	assert_string_equal(s, "a\"b\\c/\n\xc3\xa9\xf0\x9f\x98\x80");
	assert_false(jr_string(&d, jr_member(&d, 0, "t"), s, sizeof(s)));
	assert_int_equal(jr_member(&d, 0, "missing"), 0);
	assert_false(jr_u64(&d, 0, &v));
	/* The array's elements, the nested ones skipped whole. */
	size_t arr = jr_member(&d, 0, "arr"), e = jr_first(&d, arr), n = 0;
	uint64_t want[] = { 1, 0, 0, 5 };
	for (; e; e = jr_after(&d, arr, e), n++)
		if (want[n])
			assert_true(jr_u64(&d, e, &v) && v == want[n]);
	assert_int_equal(n, 4);
	assert_int_equal(d.tok[arr].count, 4);
	/* jr_member on a non-object, jr_first on a scalar */
	assert_int_equal(jr_member(&d, arr, "k"), 0);
	assert_int_equal(jr_first(&d, jr_member(&d, 0, "t")), 0);
}

static void test_reader_cut_strings(void **state)
{
	(void)state;
	struct jr_doc d;
	char err[128], s[6];
	/* "ab" then é (2 bytes) then € (3 bytes): 5 bytes room fits ab + é only. */
	assert_true(parse(&d, "[\"ab\xc3\xa9\xe2\x82\xac\"]", err));
	assert_true(jr_string(&d, 1, s, sizeof(s)));
	assert_string_equal(s, "ab\xc3\xa9");
	assert_true(parse(&d, "[\"ab\\u00e9\\u20ac\"]", err));
	assert_true(jr_string(&d, 1, s, sizeof(s)));
	assert_string_equal(s, "ab\xc3\xa9");
}

static void test_reader_rejects(void **state)
{
	(void)state;
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "", "unexpected end" },
		{ "{", "expected a member name" },
		{ "{\"a\" 1}", "expected ':'" },
		{ "{\"a\":1,}", "expected a member name" },
		{ "[1,]", "unexpected character" },
		{ "[1 2]", "expected ',' or ']'" },
		{ "{\"a\":1} x", "data after the document" },
		{ "\"abc", "unterminated string" },
		{ "\"a\nb\"", "control character in a string" },
		{ "\"\\x\"", "bad escape" },
		{ "\"\\u12\"", "bad \\u escape" },
		{ "\"\\ud800\"", "unpaired high surrogate" },
		{ "\"\\udc00\"", "unpaired low surrogate" },
		{ "01", "data after the document" },
		{ "-", "bad number" },
		{ "1.", "bad fraction" },
		{ "1e", "bad exponent" },
		{ "tru", "unexpected character" },
		{ "nul", "unexpected character" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct jr_doc d;
		char err[128];
		assert_false(parse(&d, bad[i].text, err));
		if (!strstr(err, bad[i].why))
			fail_msg("'%s': got '%s', want '%s'", bad[i].text, err, bad[i].why);
		assert_int_equal(d.ntok, 0);
	}
}

static void test_reader_bounds(void **state)
{
	(void)state;
	struct jr_doc d;
	char err[128], deep[2 * JR_MAX_DEPTH + 8];
	/* JR_MAX_DEPTH arrays nest; one more does not. */
	memset(deep, '[', JR_MAX_DEPTH);
	memset(deep + JR_MAX_DEPTH, ']', JR_MAX_DEPTH);
	deep[2 * JR_MAX_DEPTH] = '\0';
	assert_true(parse(&d, deep, err));
	memset(deep, '[', JR_MAX_DEPTH + 1);
	memset(deep + JR_MAX_DEPTH + 1, ']', JR_MAX_DEPTH + 1);
	deep[2 * JR_MAX_DEPTH + 2] = '\0';
	assert_false(parse(&d, deep, err));
	assert_non_null(strstr(err, "nested too deeply"));
	/* More values than tokens: fails, never writes past the array. */
	struct jr_token three[3];
	assert_true(jr_parse(&d, "[1,2]", 5, three, 3, err, sizeof(err)));
	assert_false(jr_parse(&d, "[1,2,3]", 7, three, 3, err, sizeof(err)));
	assert_non_null(strstr(err, "too many values"));
	/* Length is what counts, not a NUL: a document cut short fails. */
	assert_false(jr_parse(&d, "[1,2]", 4, three, 3, err, sizeof(err)));
}

/* ---- the live document ---- */

static struct mon_addr ip(const char *text)
{
	struct mon_addr a = { 0 };
	a.family = strchr(text, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(a.family, text, a.bytes), 1);
	return a;
}

static const char *const drop_names[] = { "none", "truncated", "bad-spi", "replay" };

static void sa(struct mon_qm_sa *q, const char *peer, const char *rule, uint64_t bytes)
{
	memset(q, 0, sizeof(*q));
	q->negotiated = true;
	q->me = ip("192.0.2.1");
	q->peer = ip(peer);
	q->me_len = q->peer_len = strchr(peer, ':') ? 128 : 32;
	snprintf(q->rule, sizeof(q->rule), "%s", rule);
	snprintf(q->policy, sizeof(q->policy), "esp");
	q->esp = true;
	strcpy(q->ah_integrity, "None");
	strcpy(q->esp_confidentiality, "AES-128-GCM");
	strcpy(q->esp_integrity, "AEAD");
	q->lifetime_s = 3600;
	q->remaining_s = 3000;
	q->spi_in = 0x1000 + (uint32_t)bytes;
	q->spi_out = 0x2000;
	q->bytes_in = q->bytes_out = bytes;
	q->packets_in = q->packets_out = bytes / 100;
	q->age_s = 600;
}

static void synthetic(struct mon_snapshot *s, size_t nsa)
{
	assert_true(mon_snapshot_init(s, 0, nsa ? nsa : 1, 0));
	s->taken_at = 1704103200;
	uint64_t *mm = (uint64_t *)&s->mm, *qm = (uint64_t *)&s->qm;
	for (size_t i = 0; i < sizeof(s->mm) / sizeof(uint64_t); i++)
		mm[i] = 100 + i;
	for (size_t i = 0; i < sizeof(s->qm) / sizeof(uint64_t); i++)
		qm[i] = 200 + i;
	s->dp.packets_encrypted = 1000;
	s->dp.packets_decrypted = 2000;
	s->dp.tun_write_errors = 7;
	s->dp.ndrops = 4;
	for (size_t i = 0; i < 4; i++) {
		s->dp.drop_names[i] = drop_names[i];
		s->dp.drops[i] = i ? 10 * i : 0;
	}
	for (size_t i = 0; i < nsa; i++) {
		char peer[32], rule[32];
		snprintf(peer, sizeof(peer), "198.51.100.%zu", 200 - i);
		snprintf(rule, sizeof(rule), "rule-%zu", i);
		sa(&s->qm_sas[i], peer, rule, 1000 * (i + 1));
	}
	s->nqm = nsa;
	s->qm_total = nsa;
}

/* Output of a renderer, in a heap buffer the caller frees. */
#define OUT_MAX 65536

static FILE *out_open(char *buf)
{
	FILE *f = fmemopen(buf, OUT_MAX - 1, "w");
	assert_non_null(f);
	return f;
}

static char *live_text(const struct mon_snapshot *s, const struct mon_live_info *info,
                       size_t *len)
{
	char *text = calloc(1, OUT_MAX);
	assert_non_null(text);
	FILE *f = out_open(text);
	mon_render_live(f, s, info);
	fclose(f);
	*len = strlen(text);
	return text;
}

static void test_live_round_trip(void **state)
{
	(void)state;
	struct mon_snapshot s, r;
	synthetic(&s, 2);
	s.qm_sas[1].peer = ip("2001:db8::2");
	s.qm_sas[1].esp = false;
	strcpy(s.qm_sas[1].ah_integrity, "SHA256");
	s.qm_sas[1].tunnel = true;
	s.qm_sas[1].me_tunnel = ip("203.0.113.1");
	s.qm_sas[1].peer_tunnel = ip("203.0.113.2");
	s.qm_sas[1].direction = MON_DIR_INBOUND;
	s.qm_sas[1].rekey_due = true;
	s.qm_sas[1].me_port = 443;
	s.qm_sas[1].pfs_group = 19;
	s.qm_total = 5;   /* secpold had more than it sent */
	struct mon_live_info info = { .has_policy = true, .uptime_s = 3725 };
	strcpy(info.policy, "Lab \"policy\"");
	size_t len;
	char *text = live_text(&s, &info, &len);
	assert_non_null(strstr(text, "\"view\":\"monitor\""));

	struct mon_live_info back;
	char err[256];
	assert_true(mon_snapshot_init(&r, 0, 8, 0));
	if (!mon_live_parse(text, len, &r, &back, err, sizeof(err)))
		fail_msg("parse: %s", err);
	assert_true(back.has_policy);
	assert_string_equal(back.policy, "Lab \"policy\"");
	assert_int_equal(back.uptime_s, 3725);
	assert_int_equal(r.taken_at, s.taken_at);
	assert_memory_equal(&r.mm, &s.mm, sizeof(s.mm));
	assert_memory_equal(&r.qm, &s.qm, sizeof(s.qm));
	assert_int_equal(r.dp.packets_encrypted, 1000);
	assert_int_equal(r.dp.tun_write_errors, 7);
	assert_int_equal(r.dp.ndrops, 4);
	for (size_t i = 1; i < 4; i++) {
		assert_int_equal(r.dp.drops[i], 10 * i);
		char key[32];
		snprintf(key, sizeof(key), "%s", drop_names[i]);
		for (char *c = key; *c; c++)
			*c = *c == '-' ? '_' : *c;
		assert_string_equal(r.dp.drop_names[i], key);
	}
	assert_int_equal(r.nqm, 2);
	assert_int_equal(r.qm_total, 5);
	for (size_t i = 0; i < 2; i++) {
		const struct mon_qm_sa *a = &s.qm_sas[i], *b = &r.qm_sas[i];
		assert_memory_equal(&a->me, &b->me, sizeof(a->me));
		assert_memory_equal(&a->peer, &b->peer, sizeof(a->peer));
		assert_memory_equal(&a->me_tunnel, &b->me_tunnel, sizeof(a->me_tunnel));
		assert_memory_equal(&a->peer_tunnel, &b->peer_tunnel, sizeof(a->peer_tunnel));
		assert_int_equal(a->negotiated, b->negotiated);
		assert_int_equal(a->direction, b->direction);
		assert_int_equal(a->tunnel, b->tunnel);
		assert_int_equal(a->esp, b->esp);
		assert_int_equal(a->me_len, b->me_len);
		assert_int_equal(a->me_port, b->me_port);
		assert_int_equal(a->pfs_group, b->pfs_group);
		assert_string_equal(a->rule, b->rule);
		assert_string_equal(a->policy, b->policy);
		assert_string_equal(a->ah_integrity, b->ah_integrity);
		assert_string_equal(a->esp_confidentiality, b->esp_confidentiality);
		assert_string_equal(a->esp_integrity, b->esp_integrity);
		assert_int_equal(a->spi_in, b->spi_in);
		assert_int_equal(a->spi_out, b->spi_out);
		assert_int_equal(a->bytes_in, b->bytes_in);
		assert_int_equal(a->packets_out, b->packets_out);
		assert_int_equal(a->remaining_s, b->remaining_s);
		assert_int_equal(a->lifetime_s, b->lifetime_s);
		assert_int_equal(a->age_s, b->age_s);
		assert_int_equal(a->rekey_due, b->rekey_due);
	}
	/* Fewer slots than SAs: the first ones, the total still right. */
	struct mon_snapshot one;
	assert_true(mon_snapshot_init(&one, 0, 1, 0));
	assert_true(mon_live_parse(text, len, &one, &back, err, sizeof(err)));
	assert_int_equal(one.nqm, 1);
	assert_int_equal(one.qm_total, 5);
	/* No policy assigned: null. */
	info.has_policy = false;
	free(text);
	text = live_text(&s, &info, &len);
	assert_non_null(strstr(text, "\"policy\":null"));
	assert_true(mon_live_parse(text, len, &one, &back, err, sizeof(err)));
	assert_false(back.has_policy);
	free(text);
	mon_snapshot_free(&one);
	mon_snapshot_free(&r);
	mon_snapshot_free(&s);
}

/* Replaces the first `from` in text with `to` (text is malloc'd). */
static char *edit(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	assert_non_null(at);
	size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	return out;
}

static void test_live_rejects(void **state)
{
	(void)state;
	struct mon_snapshot s, r;
	synthetic(&s, 1);
	struct mon_live_info info = { .has_policy = true }, back;
	strcpy(info.policy, "lab");
	size_t len;
	char *text = live_text(&s, &info, &len);
	static const struct {
		const char *from, *to, *why;
	} bad[] = {
		{ "\"schema_version\":1", "\"schema_version\":2", "schema version" },
		{ "\"view\":\"monitor\"", "\"view\":\"stats\"", "not a monitor view" },
		{ "\"uptime_s\":0", "\"uptime_s\":-1", "\"uptime_s\"" },
		{ "\"active_acquire\":100", "\"active_acquire\":\"100\"", "\"active_acquire\"" },
		{ "\"packets_encrypted\":1000", "\"packets_encrypted\":1e3", "\"packets_encrypted\"" },
		{ "\"bad_spi\":20", "\"bad_spi\":null", "drops" },
		{ "\"peer\":\"198.51.100.200\"", "\"peer\":\"198.51.100.300\"", "not an address" },
		{ "\"me_port\":0", "\"me_port\":65536", "out of range" },
		{ "\"spi_in\":5096", "\"spi_in\":4294967296", "out of range" },
		{ "\"rekey_due\":false", "\"rekey_due\":0", "\"rekey_due\"" },
		{ "\"sas\":[", "\"sas\":[1,", "not an object" },
		{ "\"total\":1", "\"totals\":1", "\"total\"" },
	};
	assert_true(mon_snapshot_init(&r, 0, 4, 0));
	char err[256];
	assert_true(mon_live_parse(text, len, &r, &back, err, sizeof(err)));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *t = edit(text, bad[i].from, bad[i].to);
		if (mon_live_parse(t, strlen(t), &r, &back, err, sizeof(err)))
			fail_msg("accepted with %s", bad[i].to);
		if (!strstr(err, bad[i].why))
			fail_msg("%s: got '%s', want '%s'", bad[i].to, err, bad[i].why);
		free(t);
	}
	assert_false(mon_live_parse("[1]", 3, &r, &back, err, sizeof(err)));
	assert_non_null(strstr(err, "not a JSON object"));
	/* Cut anywhere: always an error, never a crash. */
	for (size_t n = 0; n < len - 1; n++)
		assert_false(mon_live_parse(text, n, &r, &back, err, sizeof(err)));
	free(text);
	mon_snapshot_free(&r);
	mon_snapshot_free(&s);
}

/* ---- the frame ---- */

static char *frame(struct mon_snapshot *s, const struct mon_live_info *info,
                   const struct mon_sample *prev, const struct mon_top_frame *v)
{
	char *text = calloc(1, OUT_MAX);
	assert_non_null(text);
	FILE *f = out_open(text);
	mon_render_top(f, s, info, prev, v);
	fclose(f);
	return text;
}

/* Lines and the widest one, in columns (UTF-8 continuation bytes are not
 * columns); no line may hold a control character. */
static void measure(const char *text, int *lines, int *widest)
{
	*lines = 1;
	*widest = 0;
	int w = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '\n') {
			(*lines)++;
			w = 0;
			continue;
		}
		if (*p < 0x20 || *p == 0x7f)
			fail_msg("control character 0x%02x in the frame", *p);
		if ((*p & 0xc0) != 0x80)
			w++;
		if (w > *widest)
			*widest = w;
	}
}

static const char *line_starting(const char *text, const char *prefix)
{
	for (const char *l = text; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, prefix, strlen(prefix)))
			return l;
	return NULL;
}

static void test_frame_fits(void **state)
{
	(void)state;
	struct mon_snapshot s;
	synthetic(&s, 30);
	s.qm_sas[3].peer = ip("2001:db8:ffff:ffff:ffff:ffff:ffff:fff1");
	strcpy(s.qm_sas[4].rule, "a rule with a very long name that goes on and on and on");
	struct mon_live_info info = { .has_policy = true, .uptime_s = 90061 };
	memset(info.policy, 'P', 200);
	static const int sizes[][2] = { { 80, 24 }, { 40, 10 }, { 200, 60 }, { 120, 40 },
	                                { 20, 3 },  { 1, 1 },   { 80, 2 } };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct mon_top_frame v = { .cols = sizes[i][0], .rows = sizes[i][1], .host = "gw1",
		                           .now = 1704103200, .interval_s = 1 };
		char *text = frame(&s, &info, NULL, &v);
		int lines, widest;
		measure(text, &lines, &widest);
		int max_w = sizes[i][0] > 1 ? sizes[i][0] - 1 : 79;
		if (lines > sizes[i][1] || widest > max_w)
			fail_msg("%dx%d: %d lines, %d columns:\n%s", sizes[i][0], sizes[i][1], lines,
			         widest, text);
		/* The key help is always the last line. */
		const char *last = strrchr(text, '\n');
		last = last ? last + 1 : text;
		if (sizes[i][0] >= 20)
			assert_true(!strncmp(last, "q quit", 6) || sizes[i][1] < 2);
		if (sizes[i][0] == 80 && sizes[i][1] == 24) {
			assert_int_equal(lines, 24);
			assert_non_null(strstr(last, "of 30 SAs shown"));
			assert_non_null(strstr(text, "up 1d"));
		}
		free(text);
	}
	mon_snapshot_free(&s);
}

static void test_frame_content(void **state)
{
	(void)state;
	struct mon_snapshot s;
	synthetic(&s, 3);
	s.qm_sas[0].rekey_due = true;
	struct mon_live_info info = { .has_policy = true, .uptime_s = 65 };
	strcpy(info.policy, "lab");
	/* The previous refresh 2 s earlier: 200 packets fewer out, 4000 fewer bytes. */
	struct mon_sample prev;
	s.qm.transport_bytes_sent = 10000;
	mon_sample_take(&prev, &s, 10.0);
	prev.dp.packets_encrypted -= 200;
	prev.qm.transport_bytes_sent -= 4000;
	prev.mm.negotiation_failures += 1;   /* went back: secpold restarted */
	prev.dp.drops[3] -= 10;              /* replay drops still happening: 5/s */
	struct mon_top_frame v = { .cols = 80, .rows = 24, .host = "gw1", .now = 1704103200,
	                           .interval_s = 1, .at = 12.0 };
	char *text = frame(&s, &info, &prev, &v);
	assert_non_null(strstr(text, "secpol monitor  gw1  "));
	assert_non_null(strstr(text, "up 1m05"));
	assert_non_null(strstr(text, "every 1s"));
	assert_non_null(strstr(text, "Policy: lab"));
	assert_non_null(strstr(text, "QM SAs: 3  Rekeys due: 1"));
	const char *l = line_starting(text, "Packets out");
	assert_non_null(l);
	char label[32], label2[32];
	unsigned long long total;
	double rate;
	assert_int_equal(sscanf(l, "Packets out %llu %lf", &total, &rate), 2);
	assert_int_equal(total, 1000);
	assert_true(rate > 99.9 && rate < 100.1);
	/* Bytes out: transport + tunnel bytes; 4000 in 2 s. */
	assert_non_null(strstr(l, "Bytes out"));
	assert_int_equal(sscanf(strstr(l, "Bytes out"), "Bytes out %llu %lf", &total, &rate), 2);
	assert_int_equal(total, s.qm.transport_bytes_sent + s.qm.bytes_sent_in_tunnels);
	assert_true(rate > 1999.9 && rate < 2000.1);
	l = line_starting(text, "Neg. failures");
	assert_non_null(l);
	assert_int_equal(sscanf(l, "%31s %31s %llu %31s", label, label2, &total, label), 4);
	assert_string_equal(label, "-");
	l = line_starting(text, "Drops:");
	assert_non_null(l);
	static const char drops[] = "Drops: truncated 10, bad-spi 20, replay 30 (5.0/s)";
	assert_true(!strncmp(l, drops, strlen(drops)));
	/* Sorted by peer: .198, .199, .200; the rekey-due SA says so. */
	const char *a = strstr(text, "198.51.100.198"), *b = strstr(text, "198.51.100.199"),
	           *c = strstr(text, "198.51.100.200");
	assert_true(a && b && c && a < b && b < c);
	l = line_starting(text, "198.51.100.200");
	assert_non_null(strstr(l, "rule-0"));
	assert_non_null(strstr(l, "AES-128-GCM"));
	assert_non_null(strstr(l, "10m00"));
	assert_non_null(strstr(l, "1000/1000"));
	assert_non_null(strstr(l, "10/10"));
	char *nl = strchr(l, '\n');
	assert_true(nl && !strncmp(nl - 3, "due", 3));
	free(text);
	/* By traffic: the busiest first. */
	v.sort = MON_SORT_TRAFFIC;
	for (size_t i = 0; i < s.nqm; i++)   /* .200 (sorted last above) now the busiest */
		if (!strcmp(s.qm_sas[i].rule, "rule-0"))
			s.qm_sas[i].bytes_in = 1u << 30;
	text = frame(&s, &info, NULL, &v);
	a = strstr(text, "198.51.100.200");
	b = strstr(text, "198.51.100.198");
	assert_true(a && b && a < b);
	assert_non_null(strstr(text, "1.0G/1000"));
	assert_non_null(strstr(text, "sort (traffic)"));
	/* No previous sample: rates are "-". */
	l = line_starting(text, "Packets out");
	assert_int_equal(sscanf(l, "%31s %31s %llu %31s", label, label2, &total, label), 4);
	assert_string_equal(label, "-");
	free(text);
	mon_snapshot_free(&s);
}

static void test_frame_hostile_names(void **state)
{
	(void)state;
	struct mon_snapshot s;
	synthetic(&s, 1);
	/* An escape sequence, a C1 CSI (UTF-8 and raw), broken UTF-8, and a
	 * good é: only the é passes as itself. */
	strcpy(s.qm_sas[0].rule, "x\033]0;pwned\007\xc2\x9b" "2J\x9b\xc3(\xc3\xa9");
	strcpy(s.qm_sas[0].esp_confidentiality, "\033[31mRED");
	struct mon_live_info info = { .has_policy = true };
	strcpy(info.policy, "pol\r\n\tx");
	struct mon_top_frame v = { .cols = 120, .rows = 30, .host = "h\033[2J", .now = 0,
	                           .interval_s = 1 };
	char *text = frame(&s, &info, NULL, &v);
	int lines, widest;
	measure(text, &lines, &widest);   /* fails on any control character */
	assert_null(strchr(text, '\033'));
	assert_null(strstr(text, "\xc2\x9b"));
	assert_null(strchr(text, '\x9b'));
	/* (split: "??(" would be a trigraph) */
	assert_non_null(strstr(text, "x?]0;pwned??2J?" "?(\xc3\xa9"));
	assert_non_null(strstr(text, "Policy: pol???x"));
	free(text);
	mon_snapshot_free(&s);
}

static void test_frame_unreachable(void **state)
{
	(void)state;
	struct mon_top_frame v = { .cols = 80, .rows = 24, .host = "gw1", .now = 0,
	                           .interval_s = 2,
	                           .error = "cannot reach secpold at /run/x: No such file" };
	char *text = frame(NULL, NULL, NULL, &v);
	assert_non_null(strstr(text, "Cannot reach secpold"));
	assert_non_null(strstr(text, "  cannot reach secpold at /run/x: No such file"));
	assert_non_null(strstr(text, "Retrying every 2s."));
	assert_null(strstr(text, "Policy:"));
	assert_null(strstr(text, " up "));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader_values),
		cmocka_unit_test(test_reader_cut_strings),
		cmocka_unit_test(test_reader_rejects),
		cmocka_unit_test(test_reader_bounds),
		cmocka_unit_test(test_live_round_trip),
		cmocka_unit_test(test_live_rejects),
		cmocka_unit_test(test_frame_fits),
		cmocka_unit_test(test_frame_content),
		cmocka_unit_test(test_frame_hostile_names),
		cmocka_unit_test(test_frame_unreachable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
