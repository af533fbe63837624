/*
 * SPD classifier tests: the §3.2 worked example (acceptance script 8.1),
 * mirrored expansion, every tie-break of the weight, ports only for TCP/UDP,
 * IPv6, /0 /32 /128 edges, no match, validation, randomized differential
 * tests against a linear scan that computes the weights itself, and
 * concurrent readers of one compiled spd.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "spd/spd.h"

/* ---- helpers ------------------------------------------------------------ */

/* "192.0.2.0/24", "2001:db8::/32", "any" (IPv4 /0), "any6". */
static void prefix(const char *text, uint8_t *family, uint8_t addr[16], uint8_t *len)
{
	char buf[64];
	memset(addr, 0, 16);
	if (strcmp(text, "any") == 0 || strcmp(text, "any6") == 0) {
		*family = text[3] ? AF_INET6 : AF_INET;
		*len = 0;
		return;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	*family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(*family, buf, addr), 1);
	*len = slash ? (uint8_t)atoi(slash + 1) : (*family == AF_INET ? 32 : 128);
}

static struct spd_filter filt(const char *src, const char *dst, uint8_t proto, uint16_t sport,
                              uint16_t dport, enum spd_dir dir, enum filter_action_kind action,
                              uint32_t rule)
{
	struct spd_filter f = { .protocol = proto, .src_port = sport, .dst_port = dport,
	                        .dir = dir, .action = action, .rule_id = rule, .order = rule };
	uint8_t fam2;
	prefix(src, &f.family, f.src, &f.src_len);
	prefix(dst, &fam2, f.dst, &f.dst_len);
	assert_int_equal(f.family, fam2);
	return f;
}

static struct spd_packet pkt(const char *src, const char *dst, uint8_t proto, uint16_t sport,
                             uint16_t dport)
{
	struct spd_packet p = { .protocol = proto, .src_port = sport, .dst_port = dport };
	uint8_t len, fam2;
	prefix(src, &p.family, p.src, &len);
	prefix(dst, &fam2, p.dst, &len);
	return p;
}

static void add(struct spd_builder *b, struct spd_filter f)
{
	const char *err = NULL;
	assert_true(spd_builder_add(b, &f, &err));
}

static void add_mirrored(struct spd_builder *b, struct spd_filter f)
{
	const char *err = NULL;
	assert_true(spd_builder_add_mirrored(b, &f, &err));
}

static struct spd *build(struct spd_builder *b)
{
	const char *err = NULL;
	struct spd *s = spd_build(b, &err);
	assert_non_null(s);
	spd_builder_free(b);
	return s;
}

/* The rule that decides p, or 0 for no match. */
static uint32_t rule(const struct spd *s, struct spd_packet p, enum spd_dir dir)
{
	struct spd_match m;
	return spd_lookup(s, &p, dir, &m) ? m.rule_id : 0;
}

/* ---- the worked example and expansion ---------------------------------- */

/* Acceptance script 8.1 with me = 198.51.100.10: RDP from the admin subnet is
 * negotiated, everything else to and from the host is blocked. */
static void test_rdp_example(void **state)
{
	(void)state;
	struct spd_builder *b = spd_builder_new();
	/* Block first: creation order must not matter, only the weight. */
	add_mirrored(b, filt("any", "198.51.100.10", 0, 0, 0, SPD_INBOUND, ACTION_BLOCK, 2));
	add_mirrored(b, filt("192.0.2.0/24", "198.51.100.10", 6, 0, 3389, SPD_INBOUND,
	                     ACTION_NEGOTIATE, 1));
	struct spd *s = build(b);
	struct spd_match m;

	struct spd_packet in = pkt("192.0.2.7", "198.51.100.10", 6, 50000, 3389);
	assert_true(spd_lookup(s, &in, SPD_INBOUND, &m));
	assert_int_equal(m.rule_id, 1);
	assert_int_equal(m.action, ACTION_NEGOTIATE);
	/* 24 + 32 address bits, protocol, dst port, negotiate, transport. */
	assert_int_equal(m.weight, (56u << 20) | (1u << 19) | (1u << 17) | (1u << 14) | (1u << 13));
	/* The reply: the mirrored half, ports swapped. */
	assert_int_equal(rule(s, pkt("198.51.100.10", "192.0.2.7", 6, 3389, 50000), SPD_OUTBOUND), 1);

	struct spd_packet other = pkt("192.0.2.7", "198.51.100.10", 6, 50000, 22);
	assert_true(spd_lookup(s, &other, SPD_INBOUND, &m));
	assert_int_equal(m.rule_id, 2);
	assert_int_equal(m.action, ACTION_BLOCK);
	assert_int_equal(m.weight, (32u << 20) | (3u << 14) | (1u << 13));
	assert_int_equal(rule(s, pkt("203.0.113.5", "198.51.100.10", 6, 50000, 3389), SPD_INBOUND), 2);
	assert_int_equal(rule(s, pkt("192.0.2.7", "198.51.100.10", 17, 50000, 3389), SPD_INBOUND), 2);
	/* "a mirrored any<->me block also blocks traffic the computer initiates" */
	assert_int_equal(rule(s, pkt("198.51.100.10", "203.0.113.5", 1, 0, 0), SPD_OUTBOUND), 2);
	/* Not to or from me: no filter. */
	assert_int_equal(rule(s, pkt("192.0.2.7", "198.51.100.11", 6, 50000, 3389), SPD_INBOUND), 0);
	spd_free(s);
}

static void test_mirrored_expansion(void **state)
{
	(void)state;
	struct spd_builder *b = spd_builder_new();
	/* §3.1 wording: outbound src->dst, inbound the swapped one. */
	add_mirrored(b, filt("10.0.0.1", "10.9.0.0/16", 17, 1000, 53, SPD_OUTBOUND, ACTION_PERMIT, 7));
	struct spd *s = build(b);
	assert_int_equal(spd_filter_count(s), 2);
	assert_int_equal(rule(s, pkt("10.0.0.1", "10.9.3.4", 17, 1000, 53), SPD_OUTBOUND), 7);
	assert_int_equal(rule(s, pkt("10.9.3.4", "10.0.0.1", 17, 53, 1000), SPD_INBOUND), 7);
	/* Each half belongs to its own direction only. */
	assert_int_equal(rule(s, pkt("10.0.0.1", "10.9.3.4", 17, 1000, 53), SPD_INBOUND), 0);
	assert_int_equal(rule(s, pkt("10.9.3.4", "10.0.0.1", 17, 53, 1000), SPD_OUTBOUND), 0);
	/* Ports are swapped with the addresses, not kept. */
	assert_int_equal(rule(s, pkt("10.9.3.4", "10.0.0.1", 17, 1000, 53), SPD_INBOUND), 0);
	spd_free(s);
}

/* ---- tie-breaks ------------------------------------------------------------ */

static void test_action_rank(void **state)
{
	(void)state;
	static const enum filter_action_kind perm[6][3] = {
		{ ACTION_PERMIT, ACTION_BLOCK, ACTION_NEGOTIATE },
		{ ACTION_PERMIT, ACTION_NEGOTIATE, ACTION_BLOCK },
		{ ACTION_BLOCK, ACTION_PERMIT, ACTION_NEGOTIATE },
		{ ACTION_BLOCK, ACTION_NEGOTIATE, ACTION_PERMIT },
		{ ACTION_NEGOTIATE, ACTION_PERMIT, ACTION_BLOCK },
		{ ACTION_NEGOTIATE, ACTION_BLOCK, ACTION_PERMIT },
	};
	for (int i = 0; i < 6; i++) {
		/* Identical selectors in every insertion order: block > permit > negotiate. */
		struct spd_builder *b = spd_builder_new();
		for (int j = 0; j < 3; j++)
			add(b, filt("10.0.0.0/8", "10.1.1.1", 6, 0, 80, SPD_OUTBOUND, perm[i][j],
			            10 + (uint32_t)perm[i][j]));
		struct spd *s = build(b);
		struct spd_packet p = pkt("10.2.3.4", "10.1.1.1", 6, 1234, 80);
		struct spd_match m;
		assert_true(spd_lookup(s, &p, SPD_OUTBOUND, &m));
		assert_int_equal(m.action, ACTION_BLOCK);
		spd_free(s);

		/* Without the block filter, permit beats negotiate. */
		b = spd_builder_new();
		for (int j = 0; j < 3; j++)
			if (perm[i][j] != ACTION_BLOCK)
				add(b, filt("10.0.0.0/8", "10.1.1.1", 6, 0, 80, SPD_OUTBOUND, perm[i][j], 1));
		s = build(b);
		assert_true(spd_lookup(s, &p, SPD_OUTBOUND, &m));
		assert_int_equal(m.action, ACTION_PERMIT);
		spd_free(s);
	}
	/* The action rank breaks ties of equal address bits across shapes too:
	 * 10.0.0.0/8 -> /32 vs /32 -> 10.0.0.0/8 both have 40 bits. */
	struct spd_builder *b = spd_builder_new();
	add(b, filt("10.0.0.0/8", "10.1.1.1", 0, 0, 0, SPD_OUTBOUND, ACTION_NEGOTIATE, 1));
	add(b, filt("10.2.3.4", "10.0.0.0/8", 0, 0, 0, SPD_OUTBOUND, ACTION_PERMIT, 2));
	struct spd *s = build(b);
	assert_int_equal(rule(s, pkt("10.2.3.4", "10.1.1.1", 1, 0, 0), SPD_OUTBOUND), 2);
	spd_free(s);
}

static void test_tunnel_and_order(void **state)
{
	(void)state;
	struct spd_builder *b = spd_builder_new();
	struct spd_filter t = filt("10.0.0.0/8", "172.16.0.0/12", 0, 0, 0, SPD_OUTBOUND,
	                           ACTION_NEGOTIATE, 1);
	t.tunnel = true;
	t.order = 0;
	add(b, t);
	struct spd_filter tr = t;
	tr.tunnel = false;
	tr.rule_id = 2;
	tr.order = 9;
	add(b, tr);
	struct spd *s = build(b);
	/* Transport before tunnel, even when created later. */
	assert_int_equal(rule(s, pkt("10.1.1.1", "172.16.0.1", 6, 1, 2), SPD_OUTBOUND), 2);
	spd_free(s);

	/* Everything equal: the lower creation order wins, whatever the insertion. */
	b = spd_builder_new();
	struct spd_filter a = tr, c = tr;
	a.order = 5;
	a.rule_id = 5;
	c.order = 3;
	c.rule_id = 3;
	add(b, a);
	add(b, c);
	s = build(b);
	assert_int_equal(rule(s, pkt("10.1.1.1", "172.16.0.1", 6, 1, 2), SPD_OUTBOUND), 3);
	spd_free(s);

	/* Equal order too: the one added first. */
	b = spd_builder_new();
	a.order = c.order = 4;
	add(b, a);
	add(b, c);
	s = build(b);
	assert_int_equal(rule(s, pkt("10.1.1.1", "172.16.0.1", 6, 1, 2), SPD_OUTBOUND), 5);
	spd_free(s);
}

/* Protocol beats src port beats dst port when the address bits are equal. */
static void test_selector_weights(void **state)
{
	(void)state;
	struct spd_builder *b = spd_builder_new();
	add(b, filt("10.0.0.1", "10.0.0.2", 0, 0, 0, SPD_OUTBOUND, ACTION_BLOCK, 1));
	add(b, filt("10.0.0.1", "10.0.0.2", 6, 0, 0, SPD_OUTBOUND, ACTION_NEGOTIATE, 2));
	add(b, filt("10.0.0.1", "10.0.0.2", 6, 0, 443, SPD_OUTBOUND, ACTION_NEGOTIATE, 3));
	add(b, filt("10.0.0.1", "10.0.0.2", 6, 1024, 0, SPD_OUTBOUND, ACTION_NEGOTIATE, 4));
	add(b, filt("10.0.0.1", "10.0.0.2", 6, 1024, 443, SPD_OUTBOUND, ACTION_NEGOTIATE, 5));
	/* One more address bit beats all of them. */
	add(b, filt("10.0.0.0/31", "10.0.0.2", 0, 0, 0, SPD_OUTBOUND, ACTION_NEGOTIATE, 6));
	add(b, filt("10.0.0.1", "10.0.0.3", 0, 0, 0, SPD_OUTBOUND, ACTION_NEGOTIATE, 7));
	struct spd *s = build(b);
	assert_int_equal(rule(s, pkt("10.0.0.1", "10.0.0.2", 6, 1024, 443), SPD_OUTBOUND), 5);
	assert_int_equal(rule(s, pkt("10.0.0.1", "10.0.0.2", 6, 1024, 80), SPD_OUTBOUND), 4);
	assert_int_equal(rule(s, pkt("10.0.0.1", "10.0.0.2", 6, 7, 443), SPD_OUTBOUND), 3);
	assert_int_equal(rule(s, pkt("10.0.0.1", "10.0.0.2", 6, 7, 80), SPD_OUTBOUND), 2);
	assert_int_equal(rule(s, pkt("10.0.0.1", "10.0.0.2", 17, 1024, 443), SPD_OUTBOUND), 1);
	assert_int_equal(rule(s, pkt("10.0.0.0", "10.0.0.2", 6, 1024, 443), SPD_OUTBOUND), 6);
	spd_free(s);
}

/* ---- ports, families, edges ------------------------------------------------------ */

static void test_ports_only_tcp_udp(void **state)
{
	(void)state;
	struct spd_builder *b = spd_builder_new();
	const char *err = NULL;
	struct spd_filter bad = filt("any", "any", 1, 0, 8, SPD_OUTBOUND, ACTION_BLOCK, 1);
	assert_false(spd_builder_add(b, &bad, &err));
	assert_non_null(err);
	bad.protocol = 0;
	assert_false(spd_builder_add(b, &bad, &err));
	add(b, filt("any", "any", 6, 0, 80, SPD_OUTBOUND, ACTION_BLOCK, 1));
	add(b, filt("any", "any", 17, 0, 80, SPD_OUTBOUND, ACTION_BLOCK, 2));
	add(b, filt("any", "any", 1, 0, 0, SPD_OUTBOUND, ACTION_PERMIT, 3));
	add(b, filt("any", "any", 0, 0, 0, SPD_OUTBOUND, ACTION_NEGOTIATE, 4));
	struct spd *s = build(b);
	assert_int_equal(rule(s, pkt("1.2.3.4", "5.6.7.8", 6, 9, 80), SPD_OUTBOUND), 1);
	assert_int_equal(rule(s, pkt("1.2.3.4", "5.6.7.8", 17, 9, 80), SPD_OUTBOUND), 2);
	/* A packet's port fields mean nothing for other protocols. */
	assert_int_equal(rule(s, pkt("1.2.3.4", "5.6.7.8", 1, 9, 80), SPD_OUTBOUND), 3);
	assert_int_equal(rule(s, pkt("1.2.3.4", "5.6.7.8", 50, 9, 80), SPD_OUTBOUND), 4);
	assert_int_equal(rule(s, pkt("1.2.3.4", "5.6.7.8", 6, 9, 81), SPD_OUTBOUND), 4);
	spd_free(s);
}

static void test_ipv6_and_edges(void **state)
{
	(void)state;
	struct spd_builder *b = spd_builder_new();
	add(b, filt("any6", "any6", 0, 0, 0, SPD_INBOUND, ACTION_PERMIT, 1));
	add(b, filt("2001:db8::/32", "any6", 0, 0, 0, SPD_INBOUND, ACTION_BLOCK, 2));
	add(b, filt("2001:db8::1", "2001:db8:ffff::1", 6, 0, 22, SPD_INBOUND, ACTION_NEGOTIATE, 3));
	add(b, filt("2001:db8::/127", "2001:db8:ffff::1", 0, 0, 0, SPD_INBOUND, ACTION_PERMIT, 4));
	add(b, filt("2001:db8::/65", "2001:db8:ffff::/64", 0, 0, 0, SPD_INBOUND, ACTION_PERMIT, 5));
	/* IPv4 /32 <-> /32 and /0: the families never mix. */
	add(b, filt("0.0.0.0/0", "255.255.255.255", 0, 0, 0, SPD_INBOUND, ACTION_BLOCK, 6));
	add(b, filt("255.255.255.255", "0.0.0.0", 0, 0, 0, SPD_INBOUND, ACTION_BLOCK, 7));
	struct spd *s = build(b);
	assert_int_equal(rule(s, pkt("2001:db8::1", "2001:db8:ffff::1", 6, 5, 22), SPD_INBOUND), 3);
	assert_int_equal(rule(s, pkt("2001:db8::1", "2001:db8:ffff::1", 6, 5, 23), SPD_INBOUND), 4);
	assert_int_equal(rule(s, pkt("2001:db8::", "2001:db8:ffff::1", 6, 5, 22), SPD_INBOUND), 4);
	assert_int_equal(rule(s, pkt("2001:db8::2", "2001:db8:ffff::1", 6, 5, 22), SPD_INBOUND), 5);
	assert_int_equal(rule(s, pkt("2001:db8:0:0:8000::2", "2001:db8:ffff::1", 6, 5, 22),
	                      SPD_INBOUND), 2);
	assert_int_equal(rule(s, pkt("2001:db8::2", "2001:db8:ffff:0:1::1", 6, 5, 22), SPD_INBOUND), 5);
	assert_int_equal(rule(s, pkt("2001:db9::1", "::", 58, 0, 0), SPD_INBOUND), 1);
	assert_int_equal(rule(s, pkt("2001:db8::1", "2001:db8:ffff::1", 6, 5, 22), SPD_OUTBOUND), 0);
	assert_int_equal(rule(s, pkt("1.2.3.4", "255.255.255.255", 17, 5, 22), SPD_INBOUND), 6);
	assert_int_equal(rule(s, pkt("255.255.255.255", "0.0.0.0", 17, 5, 22), SPD_INBOUND), 7);
	assert_int_equal(rule(s, pkt("255.255.255.255", "0.0.0.1", 17, 5, 22), SPD_INBOUND), 0);
	assert_int_equal(rule(s, pkt("1.2.3.4", "255.255.255.254", 17, 5, 22), SPD_INBOUND), 0);
	spd_free(s);
}

static void test_no_match_and_empty(void **state)
{
	(void)state;
	struct spd_builder *b = spd_builder_new();
	struct spd *s = build(b);
	assert_int_equal(rule(s, pkt("1.2.3.4", "5.6.7.8", 6, 1, 2), SPD_OUTBOUND), 0);
	assert_int_equal(rule(s, pkt("::1", "::2", 6, 1, 2), SPD_INBOUND), 0);
	assert_int_equal(spd_filter_count(s), 0);
	spd_free(s);

	b = spd_builder_new();
	add(b, filt("10.0.0.0/8", "10.0.0.0/8", 0, 0, 0, SPD_OUTBOUND, ACTION_PERMIT, 1));
	s = build(b);
	assert_int_equal(rule(s, pkt("11.0.0.1", "10.0.0.1", 6, 1, 2), SPD_OUTBOUND), 0);
	assert_int_equal(rule(s, pkt("10.0.0.1", "10.0.0.1", 6, 1, 2), SPD_OUTBOUND), 1);
	struct spd_packet odd = pkt("10.0.0.1", "10.0.0.1", 6, 1, 2);
	odd.family = 99;
	assert_false(spd_lookup(s, &odd, SPD_OUTBOUND, NULL));
	/* Host bits beyond the prefix are ignored. */
	spd_free(s);
	b = spd_builder_new();
	add(b, filt("10.1.2.3/8", "any", 0, 0, 0, SPD_OUTBOUND, ACTION_PERMIT, 1));
	s = build(b);
	assert_int_equal(rule(s, pkt("10.200.0.1", "9.9.9.9", 6, 1, 2), SPD_OUTBOUND), 1);
	spd_free(s);
}

static void test_validation(void **state)
{
	(void)state;
	struct spd_builder *b = spd_builder_new();
	const char *err = NULL;
	struct spd_filter f = filt("10.0.0.0/8", "any", 0, 0, 0, SPD_OUTBOUND, ACTION_PERMIT, 1);
	f.src_len = 33;
	assert_false(spd_builder_add(b, &f, &err));
	f.src_len = 8;
	f.family = 0;
	assert_false(spd_builder_add(b, &f, &err));
	f.family = AF_INET;
	f.dir = (enum spd_dir)5;
	assert_false(spd_builder_add_mirrored(b, &f, &err));
	f.dir = SPD_OUTBOUND;
	f.action = (enum filter_action_kind)9;
	assert_false(spd_builder_add(b, &f, &err));
	struct spd *s = build(b);
	assert_int_equal(spd_filter_count(s), 0);
	spd_free(s);
}

/* ---- differential test against a linear scan --------------------------------- */

/* What a randomized filter set looks like. */
struct diff_cfg {
	uint64_t seed;
	unsigned filters, packets;
	unsigned v6_pct;             /* IPv6 filters */
	unsigned dup_pct;            /* filters with an earlier one's selectors */
	unsigned mirror_pct;         /* filters added mirrored */
	unsigned ports_pct;          /* TCP/UDP filters with a port */
	unsigned order_mod;          /* orders in [0, order_mod): equal orders happen */
	/* Uniform addresses (IPv6 in 2001:db8::/32) and the prefix lengths that
	 * policies use, as secpol-bench spd does; else addresses from a few
	 * overlapping neighbourhoods, so that prefixes nest. */
	bool uniform;
};

static uint64_t rng_state = 0x5eed5eed12345678ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* Addresses from a few overlapping neighbourhoods, so that prefixes nest. */
static void rnd_addr_nested(uint8_t family, uint8_t a[16])
{
	static const uint8_t bases[3][16] = {
		{ 10, 0, 0, 0, 0x20, 0x01, 0x0d, 0xb8 },
		{ 10, 1, 0, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 1 },
		{ 192, 168, 1, 0, 0xfd, 0 },
	};
	unsigned k = rnd() % 4;
	for (int i = 0; i < 16; i++)
		a[i] = k < 3 ? bases[k][i] : (uint8_t)rnd();
	if (family == AF_INET6 && k < 3) {
		memmove(a, a + 4, 12);
		memset(a + 12, 0, 4);
	}
	unsigned width = family == AF_INET ? 4 : 16;
	/* Randomize a few low octets, often to small values. */
	for (unsigned i = width - 1 - rnd() % 3; i < width; i++)
		a[i] = rnd() % 2 ? (uint8_t)(rnd() % 4) : (uint8_t)rnd();
}

static void rnd_addr(const struct diff_cfg *cfg, uint8_t family, uint8_t a[16])
{
	if (!cfg->uniform) {
		rnd_addr_nested(family, a);
		return;
	}
	memset(a, 0, 16);
	for (int i = 0; i < (family == AF_INET ? 4 : 16); i++)
		a[i] = (uint8_t)rnd();
	if (family == AF_INET6)
		memcpy(a, (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8 }, 4);
}

static uint16_t rnd_port(void)
{
	static const uint16_t common[] = { 53, 80, 443, 3389 };
	return rnd() % 2 ? common[rnd() % 4] : (uint16_t)(1 + rnd() % 65535);
}

static unsigned rnd_len(const struct diff_cfg *cfg, uint8_t family)
{
	unsigned width = family == AF_INET ? 32 : 128;
	if (cfg->uniform) {
		unsigned r = rnd() % 10;
		return r < 4 ? width : r < 6 ? width * 3 / 4 : r < 7 ? width / 2 : r < 8 ? 0
		                                                        : rnd() % (width + 1);
	}
	switch (rnd() % 4) {
	case 0: return 0 + (rnd() % 8 == 0 ? 0 : width);
	case 1: return width;
	default: return rnd() % (width + 1);
	}
}

static struct spd_filter rnd_filter(const struct diff_cfg *cfg, uint32_t id)
{
	struct spd_filter f = { 0 };
	f.family = rnd() % 100 < cfg->v6_pct ? AF_INET6 : AF_INET;
	rnd_addr(cfg, f.family, f.src);
	rnd_addr(cfg, f.family, f.dst);
	f.src_len = (uint8_t)rnd_len(cfg, f.family);
	f.dst_len = (uint8_t)rnd_len(cfg, f.family);
	static const uint8_t protos[] = { 0, 0, 6, 17, 1 };
	f.protocol = protos[rnd() % 5];
	if ((f.protocol == 6 || f.protocol == 17) && rnd() % 100 < cfg->ports_pct) {
		f.src_port = rnd() % 3 == 0 ? rnd_port() : 0;
		f.dst_port = rnd() % 3 != 0 ? rnd_port() : 0;
	}
	f.dir = rnd() % 2 ? SPD_OUTBOUND : SPD_INBOUND;
	static const enum filter_action_kind acts[] = { ACTION_PERMIT, ACTION_BLOCK,
	                                                ACTION_NEGOTIATE };
	f.action = acts[rnd() % 3];
	f.tunnel = rnd() % 4 == 0;
	f.rule_id = id;
	f.order = rnd() % cfg->order_mod;
	return f;
}

static bool ref_prefix(const uint8_t *p, unsigned len, const uint8_t *a)
{
	if (memcmp(p, a, len / 8) != 0)
		return false;
	if (len % 8 == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff00 >> (len % 8));
	return ((p[len / 8] ^ a[len / 8]) & mask) == 0;
}

static bool ref_matches(const struct spd_filter *f, const struct spd_packet *p, enum spd_dir dir)
{
	bool ports = p->protocol == 6 || p->protocol == 17;
	return f->family == p->family && f->dir == dir && ref_prefix(f->src, f->src_len, p->src) &&
	       ref_prefix(f->dst, f->dst_len, p->dst) &&
	       (f->protocol == 0 || f->protocol == p->protocol) &&
	       (f->src_port == 0 || (ports && f->src_port == p->src_port)) &&
	       (f->dst_port == 0 || (ports && f->dst_port == p->dst_port));
}

/* The §3.2 formula written out again, independently of spd_weight(). */
static uint32_t ref_weight(const struct spd_filter *f)
{
	uint32_t rank = f->action == ACTION_BLOCK ? 3 : f->action == ACTION_PERMIT ? 2 : 1;
	return (uint32_t)(f->src_len + f->dst_len) * (1u << 20) +
	       (f->protocol ? 1u << 19 : 0) + (f->src_port ? 1u << 18 : 0) +
	       (f->dst_port ? 1u << 17 : 0) + rank * (1u << 14) + (f->tunnel ? 0 : 1u << 13);
}

/* The winner among the filters fs[idx[0..n)] (in the order added), or -1. */
static long ref_lookup(const struct spd_filter *fs, const uint32_t *idx, size_t n,
                       const struct spd_packet *p, enum spd_dir dir)
{
	long best = -1;
	for (size_t j = 0; j < n; j++) {
		size_t i = idx[j];
		if (!ref_matches(&fs[i], p, dir))
			continue;
		if (best < 0)
			best = (long)i;
		else {
			uint32_t w = ref_weight(&fs[i]), bw = ref_weight(&fs[best]);
			if (w > bw || (w == bw && fs[i].order < fs[best].order))
				best = (long)i;
		}
	}
	return best;
}

/* A packet inside filter f: its prefixes with random host bits. */
static struct spd_packet packet_in(const struct diff_cfg *cfg, const struct spd_filter *f)
{
	struct spd_packet p = { .family = f->family };
	rnd_addr(cfg, f->family, p.src);
	rnd_addr(cfg, f->family, p.dst);
	for (unsigned i = 0; i < f->src_len; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8));
		p.src[i / 8] = (uint8_t)((p.src[i / 8] & ~bit) | (f->src[i / 8] & bit));
	}
	for (unsigned i = 0; i < f->dst_len; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8));
		p.dst[i / 8] = (uint8_t)((p.dst[i / 8] & ~bit) | (f->dst[i / 8] & bit));
	}
	static const uint8_t protos[] = { 6, 17, 1, 50 };
	p.protocol = f->protocol ? f->protocol : protos[rnd() % 4];
	p.src_port = f->src_port ? f->src_port : rnd_port();
	p.dst_port = f->dst_port ? f->dst_port : rnd_port();
	return p;
}

/* The filter mirrored: the other direction, addresses and ports swapped. */
static struct spd_filter mirror(const struct spd_filter *f)
{
	struct spd_filter in = *f;
	in.dir = f->dir == SPD_OUTBOUND ? SPD_INBOUND : SPD_OUTBOUND;
	memcpy(in.src, f->dst, 16);
	memcpy(in.dst, f->src, 16);
	in.src_len = f->dst_len;
	in.dst_len = f->src_len;
	in.src_port = f->dst_port;
	in.dst_port = f->src_port;
	return in;
}

static void differential(const struct diff_cfg *cfg)
{
	rng_state = cfg->seed;
	struct spd_builder *b = spd_builder_new();
	struct spd_filter *fs = malloc(2 * cfg->filters * sizeof(*fs));
	assert_non_null(fs);
	size_t n = 0;
	for (uint32_t i = 1; i <= cfg->filters; i++) {
		struct spd_filter f;
		if (n > 0 && rnd() % 100 < cfg->dup_pct) {
			/* Same selectors as an earlier filter: exercise the tie-breaks. */
			f = fs[rnd() % n];
			f.action = (enum filter_action_kind)(rnd() % 3);
			f.tunnel = rnd() % 2;
			f.order = rnd() % cfg->order_mod;
			f.rule_id = i;
		} else {
			f = rnd_filter(cfg, i);
		}
		if (rnd() % 100 < cfg->mirror_pct) {
			add_mirrored(b, f);
			fs[n++] = f;
			fs[n++] = mirror(&f);
		} else {
			add(b, f);
			fs[n++] = f;
		}
	}
	struct spd *s = build(b);
	assert_int_equal(spd_filter_count(s), n);
	/* The reference scans only the filters of the packet's family and
	 * direction, in the order added. */
	uint32_t *by[2][2];
	size_t nby[2][2] = { { 0 } };
	for (int d = 0; d < 2; d++)
		for (int fa = 0; fa < 2; fa++) {
			by[d][fa] = malloc(n * sizeof(uint32_t));
			assert_non_null(by[d][fa]);
		}
	for (size_t i = 0; i < n; i++) {
		int d = fs[i].dir, fa = fs[i].family == AF_INET6;
		by[d][fa][nby[d][fa]++] = (uint32_t)i;
	}
	unsigned matched = 0;
	for (unsigned i = 0; i < cfg->packets; i++) {
		struct spd_packet p;
		enum spd_dir dir;
		if (i % 2) {
			const struct spd_filter *f = &fs[rnd() % n];
			p = packet_in(cfg, f);
			dir = f->dir;
		} else {
			struct spd_filter f = rnd_filter(cfg, 0);
			p = packet_in(cfg, &f);
			dir = rnd() % 2 ? SPD_OUTBOUND : SPD_INBOUND;
			/* Now and then an IPv6 address off the common prefix. */
			if (p.family == AF_INET6 && rnd() % 8 == 0)
				p.src[rnd() % 4] ^= (uint8_t)(1 + rnd() % 255);
		}
		int fa = p.family == AF_INET6;
		long want = ref_lookup(fs, by[dir][fa], nby[dir][fa], &p, dir);
		struct spd_match m;
		bool got = spd_lookup(s, &p, dir, &m);
		if (got != (want >= 0) || (got && m.rule_id != fs[want].rule_id)) {
			fail_msg("seed %#llx packet %u: spd says %s %u, linear scan says %ld",
			         (unsigned long long)cfg->seed, i, got ? "rule" : "none",
			         got ? m.rule_id : 0, want >= 0 ? (long)fs[want].rule_id : -1L);
		}
		if (got) {
			matched++;
			assert_int_equal(m.weight, ref_weight(&fs[want]));
			assert_int_equal(m.action, fs[want].action);
			assert_int_equal(m.tunnel, fs[want].tunnel);
		}
	}
	/* The test means something only if most packets do hit some filter
	 * (half are made inside one; with many filters, random ones hit too). */
	assert_true(matched >= cfg->packets / 2);
	if (cfg->filters >= 1000)
		assert_true(matched > cfg->packets / 2 + cfg->packets / 20);
	for (int d = 0; d < 2; d++)
		for (int fa = 0; fa < 2; fa++)
			free(by[d][fa]);
	spd_free(s);
	free(fs);
}

/* Nested prefixes, both families, duplicates and mirrored filters. */
static void test_differential(void **state)
{
	(void)state;
	differential(&(struct diff_cfg){ .seed = 0x5eed5eed12345678ull, .filters = 3000,
	                                 .packets = 200000, .v6_pct = 33, .dup_pct = 12,
	                                 .mirror_pct = 50, .ports_pct = 100, .order_mod = 64 });
}

/* More seeds and sizes, from a handful of filters to many. */
static void test_differential_seeds(void **state)
{
	(void)state;
	static const unsigned sizes[] = { 1, 5, 40, 300, 2000, 8000 };
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		differential(&(struct diff_cfg){ .seed = 0x9e3779b97f4a7c15ull * (i + 2),
		                                 .filters = sizes[i], .packets = 20000,
		                                 .v6_pct = 33, .dup_pct = 12, .mirror_pct = 50,
		                                 .ports_pct = 100, .order_mod = 64 });
}

/* Mostly IPv6; all mirrored. */
static void test_differential_ipv6(void **state)
{
	(void)state;
	differential(&(struct diff_cfg){ .seed = 0x1234567887654321ull, .filters = 3000,
	                                 .packets = 40000, .v6_pct = 90, .dup_pct = 12,
	                                 .mirror_pct = 100, .ports_pct = 100, .order_mod = 64 });
}

/* Many filters that differ only in protocol, ports, action, tunnel and
 * order: large groups of one address pair, and ties down to the order. */
static void test_differential_ties(void **state)
{
	(void)state;
	differential(&(struct diff_cfg){ .seed = 0xfeedfacecafebeefull, .filters = 4000,
	                                 .packets = 40000, .v6_pct = 20, .dup_pct = 60,
	                                 .mirror_pct = 30, .ports_pct = 100, .order_mod = 4 });
	differential(&(struct diff_cfg){ .seed = 0xabad1deaabad1deaull, .filters = 2000,
	                                 .packets = 40000, .v6_pct = 20, .dup_pct = 30,
	                                 .mirror_pct = 30, .ports_pct = 0, .order_mod = 2 });
}

/* The shape of secpol-bench spd: uniform addresses, IPv6 in one /32. */
static void test_differential_uniform(void **state)
{
	(void)state;
	differential(&(struct diff_cfg){ .seed = 0x243f6a8885a308d3ull, .filters = 20000,
	                                 .packets = 10000, .v6_pct = 20, .dup_pct = 2,
	                                 .mirror_pct = 50, .ports_pct = 80, .order_mod = 1000000,
	                                 .uniform = true });
}

/* ---- concurrent readers ------------------------------------------------------- */

#define MT_THREADS 4
#define MT_PACKETS 20000

struct mt_job {
	const struct spd *s;
	const struct spd_packet *pk;
	const enum spd_dir *dir;
	const uint32_t *want;        /* rule, 0 = no match */
	unsigned bad;
};

static void *mt_reader(void *arg)
{
	struct mt_job *j = arg;
	for (int round = 0; round < 3; round++)
		for (unsigned i = 0; i < MT_PACKETS; i++) {
			struct spd_match m;
			uint32_t got = spd_lookup(j->s, &j->pk[i], j->dir[i], &m) ? m.rule_id : 0;
			j->bad += got != j->want[i];
		}
	return NULL;
}

/* The compiled spd is immutable: threads that look up at once all get the
 * answers of a lone reader. */
static void test_concurrent_readers(void **state)
{
	(void)state;
	const struct diff_cfg cfg = { .seed = 0x0123456789abcdefull, .filters = 5000,
	                              .v6_pct = 30, .dup_pct = 10, .mirror_pct = 50,
	                              .ports_pct = 80, .order_mod = 100, .uniform = true };
	rng_state = cfg.seed;
	struct spd_builder *b = spd_builder_new();
	struct spd_filter *fs = malloc(cfg.filters * sizeof(*fs));
	struct spd_packet *pk = malloc(MT_PACKETS * sizeof(*pk));
	enum spd_dir *dir = malloc(MT_PACKETS * sizeof(*dir));
	uint32_t *want = malloc(MT_PACKETS * sizeof(*want));
	assert_true(fs && pk && dir && want);
	for (uint32_t i = 0; i < cfg.filters; i++) {
		fs[i] = rnd_filter(&cfg, i + 1);
		if (rnd() % 2)
			add_mirrored(b, fs[i]);
		else
			add(b, fs[i]);
	}
	struct spd *s = build(b);
	for (unsigned i = 0; i < MT_PACKETS; i++) {
		const struct spd_filter *f = &fs[rnd() % cfg.filters];
		pk[i] = packet_in(&cfg, f);
		dir[i] = i % 3 ? f->dir : (enum spd_dir)(rnd() % 2);
		struct spd_match m;
		want[i] = spd_lookup(s, &pk[i], dir[i], &m) ? m.rule_id : 0;
	}
	pthread_t t[MT_THREADS];
	struct mt_job jobs[MT_THREADS];
	for (int i = 0; i < MT_THREADS; i++) {
		jobs[i] = (struct mt_job){ s, pk, dir, want, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, mt_reader, &jobs[i]), 0);
	}
	for (int i = 0; i < MT_THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(jobs[i].bad, 0);
	}
	spd_free(s);
	free(fs);
	free(pk);
	free(dir);
	free(want);
}

/* The default exemptions (ipsecexempt): which packets each class covers,
 * and that no class covers anything else. */
static struct spd_packet exempt_pkt(const char *dst, uint8_t proto, uint16_t sport,
                                    uint16_t dport)
{
	struct spd_packet p = { .protocol = proto, .src_port = sport, .dst_port = dport };
	p.family = strchr(dst, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(p.family, dst, p.dst), 1);
	assert_int_equal(inet_pton(p.family, p.family == AF_INET ? "192.0.2.1" : "2001:db8::1",
	                           p.src), 1);
	return p;
}

static void test_exempt(void **state)
{
	(void)state;
	const unsigned all = SPD_EXEMPT_MULTICAST | SPD_EXEMPT_RSVP | SPD_EXEMPT_KERBEROS;
	struct spd_packet mc4 = exempt_pkt("224.0.0.1", 17, 1000, 9999);
	struct spd_packet mc4top = exempt_pkt("239.255.255.255", 17, 1000, 9999);
	struct spd_packet bc = exempt_pkt("255.255.255.255", 17, 68, 67);
	struct spd_packet mc6 = exempt_pkt("ff02::1", 58, 0, 0);
	struct spd_packet rsvp = exempt_pkt("198.51.100.7", 46, 0, 0);
	struct spd_packet krb_d = exempt_pkt("198.51.100.7", 17, 40000, 88);
	struct spd_packet krb_s = exempt_pkt("2001:db8::7", 6, 88, 5000);
	struct spd_packet plain = exempt_pkt("198.51.100.7", 6, 40000, 443);
	struct spd_packet below = exempt_pkt("223.255.255.255", 17, 1000, 9999);
	struct spd_packet above = exempt_pkt("240.0.0.1", 17, 1000, 9999);
	struct spd_packet icmp88 = exempt_pkt("198.51.100.7", 1, 88, 88);   /* ports mean nothing */
	struct spd_packet uc6 = exempt_pkt("fe80::1", 17, 1000, 9999);
	const struct spd_packet *mcast[] = { &mc4, &mc4top, &bc, &mc6 };
	for (size_t i = 0; i < 4; i++) {
		assert_true(spd_exempt(SPD_EXEMPT_MULTICAST, mcast[i]));
		assert_false(spd_exempt(SPD_EXEMPT_RSVP | SPD_EXEMPT_KERBEROS, mcast[i]));
	}
	assert_true(spd_exempt(SPD_EXEMPT_RSVP, &rsvp));
	assert_false(spd_exempt(SPD_EXEMPT_MULTICAST | SPD_EXEMPT_KERBEROS, &rsvp));
	assert_true(spd_exempt(SPD_EXEMPT_KERBEROS, &krb_d));
	assert_true(spd_exempt(SPD_EXEMPT_KERBEROS, &krb_s));
	assert_false(spd_exempt(SPD_EXEMPT_MULTICAST | SPD_EXEMPT_RSVP, &krb_d));
	const struct spd_packet *none[] = { &plain, &below, &above, &icmp88, &uc6 };
	for (size_t i = 0; i < 5; i++)
		assert_false(spd_exempt(all, none[i]));
	assert_false(spd_exempt(0, &mc4));
	assert_false(spd_exempt(0, &krb_d));
}

/* ---- a Child SA's traffic selectors (spd_traffic_carries) ---- */

static struct spd_selector sel(const char *lo, const char *hi, uint8_t proto, uint16_t plo,
                               uint16_t phi)
{
	struct spd_selector s = { .protocol = proto, .port_lo = plo, .port_hi = phi };
	s.family = strchr(lo, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(s.family, lo, s.lo), 1);
	assert_int_equal(inet_pton(s.family, hi, s.hi), 1);
	return s;
}

static struct spd_packet tpkt(const char *src, const char *dst, uint8_t proto, uint16_t sport,
                              uint16_t dport)
{
	struct spd_packet p = { .protocol = proto, .src_port = sport, .dst_port = dport };
	p.family = strchr(src, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(p.family, src, p.src), 1);
	assert_int_equal(inet_pton(p.family, dst, p.dst), 1);
	return p;
}

static void test_traffic_selectors(void **state)
{
	(void)state;
	/* One host pair, TCP to 3389 only (what a transport rule for RDP
	 * negotiates): from any port of .1 to 3389 of .2. */
	struct spd_traffic rdp = { .nsrc = 1, .ndst = 1 };
	rdp.src[0] = sel("192.0.2.1", "192.0.2.1", 6, 0, 65535);
	rdp.dst[0] = sel("192.0.2.2", "192.0.2.2", 6, 3389, 3389);
	struct spd_packet ok = tpkt("192.0.2.1", "192.0.2.2", 6, 50000, 3389);
	assert_true(spd_traffic_carries(&rdp, &ok));
	struct spd_packet p = tpkt("192.0.2.1", "192.0.2.2", 6, 50000, 3390);
	assert_false(spd_traffic_carries(&rdp, &p));          /* another port */
	p = tpkt("192.0.2.1", "192.0.2.2", 17, 50000, 3389);
	assert_false(spd_traffic_carries(&rdp, &p));          /* another protocol */
	p = tpkt("192.0.2.1", "192.0.2.2", 6, 50000, 0);
	assert_false(spd_traffic_carries(&rdp, &p));          /* a later fragment: no ports */
	p = tpkt("192.0.2.3", "192.0.2.2", 6, 50000, 3389);
	assert_false(spd_traffic_carries(&rdp, &p));          /* another host */
	p = tpkt("192.0.2.2", "192.0.2.1", 6, 3389, 50000);
	assert_false(spd_traffic_carries(&rdp, &p));          /* the other direction */
	p = tpkt("2001:db8::1", "2001:db8::2", 6, 50000, 3389);
	assert_false(spd_traffic_carries(&rdp, &p));          /* the other family */

	/* A tunnel to two subnets, the second an address range that is no
	 * prefix; any protocol. Each pair of the cross product is carried. */
	struct spd_traffic tun = { .nsrc = 2, .ndst = 2 };
	tun.src[0] = sel("203.0.113.0", "203.0.113.127", 0, 0, 65535);
	tun.src[1] = sel("2001:db8:1::", "2001:db8:1::ffff", 0, 0, 65535);
	tun.dst[0] = sel("198.51.100.0", "198.51.100.255", 0, 0, 65535);
	tun.dst[1] = sel("192.0.2.10", "192.0.2.20", 0, 0, 65535);
	p = tpkt("203.0.113.5", "198.51.100.9", 1, 0, 0);
	assert_true(spd_traffic_carries(&tun, &p));
	p = tpkt("203.0.113.5", "192.0.2.10", 17, 53, 53);
	assert_true(spd_traffic_carries(&tun, &p));           /* the second subnet */
	p = tpkt("203.0.113.127", "192.0.2.20", 6, 1, 2);
	assert_true(spd_traffic_carries(&tun, &p));           /* both ends of the ranges */
	p = tpkt("203.0.113.5", "192.0.2.21", 6, 1, 2);
	assert_false(spd_traffic_carries(&tun, &p));          /* past the range's end */
	p = tpkt("203.0.113.5", "192.0.2.9", 6, 1, 2);
	assert_false(spd_traffic_carries(&tun, &p));          /* before its start */
	p = tpkt("203.0.113.128", "198.51.100.9", 6, 1, 2);
	assert_false(spd_traffic_carries(&tun, &p));
	p = tpkt("2001:db8:1::7", "2001:db8::9", 6, 1, 2);
	assert_false(spd_traffic_carries(&tun, &p));          /* no IPv6 destination selector */

	/* ICMP: a selector's ports are type and code, which packets here do
	 * not carry: only the protocol counts. */
	struct spd_traffic icmp = { .nsrc = 1, .ndst = 1 };
	icmp.src[0] = sel("192.0.2.1", "192.0.2.1", 1, 0x0800, 0x0800);
	icmp.dst[0] = sel("192.0.2.2", "192.0.2.2", 1, 0, 65535);
	p = tpkt("192.0.2.1", "192.0.2.2", 1, 0, 0);
	assert_true(spd_traffic_carries(&icmp, &p));

	/* No selectors carry nothing; counts past the array are bounded. */
	struct spd_traffic none = { 0 };
	assert_false(spd_traffic_carries(&none, &ok));
	rdp.nsrc = 200;
	rdp.ndst = 200;
	assert_true(spd_traffic_carries(&rdp, &ok));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rdp_example),
		cmocka_unit_test(test_mirrored_expansion),
		cmocka_unit_test(test_action_rank),
		cmocka_unit_test(test_tunnel_and_order),
		cmocka_unit_test(test_selector_weights),
		cmocka_unit_test(test_ports_only_tcp_udp),
		cmocka_unit_test(test_ipv6_and_edges),
		cmocka_unit_test(test_no_match_and_empty),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_differential_seeds),
		cmocka_unit_test(test_differential_ipv6),
		cmocka_unit_test(test_differential_ties),
		cmocka_unit_test(test_differential_uniform),
		cmocka_unit_test(test_concurrent_readers),
		cmocka_unit_test(test_exempt),
		cmocka_unit_test(test_traffic_selectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
