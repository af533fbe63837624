/*
 * Two IKE engines in one process, joined by a queue of datagrams that the
 * test can drop, duplicate or hold back: IKE_SA_INIT + IKE_AUTH with a
 * pre-shared key, the keys both sides install, INVALID_KE_PAYLOAD,
 * NO_PROPOSAL_CHOSEN, authentication failures, retransmission, duplicate
 * requests, forced UDP encapsulation, and deletes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>

#include "crypto/cert.h"
#include "ike/ike.h"
#include "policy/diag.h"

#define QMAX 64

struct dgram {
	int to;                       /* 0: A, 1: B */
	struct ike_addr from, dst;
	size_t len;
	uint8_t data[8192];
};

struct installed {
	struct child_sa_config in, out;
	uint8_t in_key[128], out_key[128];
	uint8_t in_auth[128], out_auth[128];
};

/* An event as the host saw it: the strings copied (they live for the call). */
struct seen_event {
	struct ike_event ev;
	char rule[64], algs[64], reason[512];
};
#define EVENTS_MAX 32

struct side {
	int id;
	struct ike_engine *e;
	struct ike_addr addr;
	struct ike_rule rule;
	struct installed inst[8];
	size_t ninst, nremoved;
	uint32_t removed[16];         /* inbound SPIs of the removed Child SAs */
	bool saw_pfs;
	char lastlog[256];
	struct seen_event events[EVENTS_MAX];
	size_t nevents;
};

static struct dgram queue[QMAX];
static size_t qn;
static struct side sides[2];
static unsigned drop_next[2];     /* drop the next n datagrams to side i */
static bool dup_to[2];            /* deliver every datagram to side i twice */
static size_t sent_count[2];      /* datagrams sent by side i */
static size_t corrupt_at[2];      /* flip the last octet of the n-th datagram to side i */

static void on_send(void *ctx, const struct ike_addr *local, const struct ike_addr *remote,
                    const uint8_t *msg, size_t len)
{
	struct side *s = ctx;
	int to = 1 - s->id;
	sent_count[s->id]++;
	bool corrupt = corrupt_at[to] && sent_count[s->id] == corrupt_at[to];
	assert_true(memcmp(local->bytes, s->addr.bytes, 4) == 0);
	assert_true(memcmp(remote->bytes, sides[to].addr.bytes, 4) == 0);
	if (drop_next[to]) {
		drop_next[to]--;
		return;
	}
	for (int k = 0; k < (dup_to[to] ? 2 : 1); k++) {
		assert_true(qn < QMAX);
		struct dgram *d = &queue[qn++];
		d->to = to;
		d->from = *local;
		d->dst = *remote;
		d->len = len;
		assert_true(len <= sizeof(d->data));
		memcpy(d->data, msg, len);
		if (corrupt)
			d->data[len - 1] ^= 0x40;
	}
}

static bool on_install(void *ctx, const struct ike_child_install *c, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	struct side *s = ctx;
	assert_true(s->ninst < 8);
	struct installed *i = &s->inst[s->ninst++];
	i->in = c->in;
	i->out = c->out;
	memcpy(i->in_key, c->in.sa.enc_key, c->in.sa.enc_key_len);
	memcpy(i->out_key, c->out.sa.enc_key, c->out.sa.enc_key_len);
	memcpy(i->in_auth, c->in.sa.auth_key, c->in.sa.auth_key_len);
	memcpy(i->out_auth, c->out.sa.auth_key, c->out.sa.auth_key_len);
	i->in.sa.enc_key = i->in_key;
	i->out.sa.enc_key = i->out_key;
	i->in.sa.auth_key = i->in_auth;
	i->out.sa.auth_key = i->out_auth;
	return true;
}

/* Run-time filters (soft associations, the default response rule). */
static unsigned soft_adds;
static uint32_t soft_lifetime;
static struct driver_dynamic negotiate_filter;   /* the last Negotiate one added */
static unsigned negotiate_adds;
static void on_dynamic(void *ctx, const struct driver_dynamic *f, bool add, uint32_t lifetime_s)
{
	(void)ctx;
	if (add && f->action == ACTION_PERMIT) {
		soft_adds++;
		soft_lifetime = lifetime_s;
	}
	if (add && f->action == ACTION_NEGOTIATE) {
		negotiate_filter = *f;
		negotiate_adds++;
	}
}

static void on_remove(void *ctx, enum sa_proto proto, uint32_t spi_in,
                      const struct sa_address *local, uint32_t spi_out,
                      const struct sa_address *remote)
{
	(void)proto;
	(void)local;
	(void)spi_out;
	(void)remote;
	struct side *s = ctx;
	if (!spi_in)
		return;   /* the outbound half: the inbound one follows (it lingers) */
	if (s->nremoved < 16)
		s->removed[s->nremoved] = spi_in;
	s->nremoved++;
}

static void on_log(void *ctx, int level, const char *line)
{
	(void)level;
	struct side *s = ctx;
	snprintf(s->lastlog, sizeof(s->lastlog), "%s", line);
	if (strstr(line, "installed") && strstr(line, ", PFS"))
		s->saw_pfs = true;
	if (getenv("IKE_TEST_VERBOSE"))
		fprintf(stderr, "[%c] %s\n", 'A' + s->id, line);
}

static void on_event(void *ctx, const struct ike_event *ev)
{
	struct side *s = ctx;
	if (s->nevents < EVENTS_MAX) {
		struct seen_event *e = &s->events[s->nevents];
		e->ev = *ev;
		snprintf(e->rule, sizeof(e->rule), "%s", ev->rule);
		snprintf(e->algs, sizeof(e->algs), "%s", ev->algs);
		snprintf(e->reason, sizeof(e->reason), "%s", ev->reason);
		e->ev.rule = e->rule;
		e->ev.algs = e->algs;
		e->ev.reason = e->reason;
	}
	s->nevents++;
}

/* The n-th (from 0) event of kind on s, or NULL. */
static const struct ike_event *event_of(const struct side *s, enum ike_event_kind kind, int n)
{
	for (size_t i = 0; i < s->nevents && i < EVENTS_MAX; i++)
		if (s->events[i].ev.kind == kind && n-- == 0)
			return &s->events[i].ev;
	return NULL;
}

static size_t events_of(const struct side *s, enum ike_event_kind kind)
{
	size_t n = 0;
	while (event_of(s, kind, (int)n))
		n++;
	return n;
}

/* Counter "randomness": deterministic and never repeating within a run. */
static uint64_t rnd_state = 0x5ec901;
static bool on_random(void *ctx, uint8_t *out, size_t len)
{
	(void)ctx;
	for (size_t i = 0; i < len; i++) {
		rnd_state = rnd_state * 6364136223846793005ull + 1442695040888963407ull;
		out[i] = (uint8_t)(rnd_state >> 56);
	}
	return true;
}

static bool rule_pfs;             /* qmpfs on both sides' rules */
static unsigned frag_size;        /* ike_config.fragment_size (0: default) */
static unsigned cookie_threshold; /* ike_config.half_open_cookie (0: default) */
static unsigned dpd;              /* ike_config.dpd_s */

static void mk_rule(struct ike_rule *r, const char *psk, const char *qm, bool tunnel)
{
	struct diag d;
	diag_init(&d);
	memset(r, 0, sizeof(*r));
	r->id = 7;
	snprintf(r->name, sizeof(r->name), "test rule");
	assert_true(policy_parse_qmsec("qmsecmethods", qm, &r->methods, &d));
	assert_true(policy_auth_add(&r->auth, AUTH_PSK, psk, &d));
	r->tunnel = tunnel;
	r->pfs = rule_pfs;
	r->nsel = 1;
	/* local 198.51.100.0/24 <-> remote 203.0.113.0/24 (tunnel), or any (transport) */
	r->local[0].net.family = r->remote[0].net.family = AF_INET;
	if (tunnel) {
		inet_pton(AF_INET, "198.51.100.0", r->local[0].net.bytes);
		inet_pton(AF_INET, "203.0.113.0", r->remote[0].net.bytes);
		r->local[0].len = r->remote[0].len = 24;
	}
}

static void set_policy(struct side *s, const char *mm)
{
	struct diag d;
	diag_init(&d);
	struct ike_policy p = { .ike_lifetime_s = 28800, .rules = &s->rule, .nrules = 1 };
	assert_true(policy_parse_mmsec("mmsecmethods", mm, &p.mm, &d));
	char err[128];
	assert_true(ike_engine_set_policy(s->e, &p, err, sizeof(err)));
}

static void setup_sides(const char *mm_a, const char *mm_b, const char *psk_a,
                        const char *psk_b, const char *qm_a, const char *qm_b, bool tunnel)
{
	memset(sides, 0, sizeof(sides));
	qn = 0;
	drop_next[0] = drop_next[1] = 0;
	dup_to[0] = dup_to[1] = false;
	sent_count[0] = sent_count[1] = 0;
	corrupt_at[0] = corrupt_at[1] = 0;
	struct ike_config cfg = { .retransmit_ms = 500, .retransmit_tries = 3,
	                          .fragment_size = frag_size,
	                          .half_open_cookie = cookie_threshold, .dpd_s = dpd };
	for (int i = 0; i < 2; i++) {
		struct side *s = &sides[i];
		s->id = i;
		s->addr.family = AF_INET;
		s->addr.port = 500;
		inet_pton(AF_INET, i ? "192.0.2.2" : "192.0.2.1", s->addr.bytes);
		struct ike_host h = { .ctx = s, .send = on_send, .install = on_install,
		                      .remove = on_remove, .log = on_log, .random = on_random,
		                      .event = on_event, .dynamic = on_dynamic };
		s->e = ike_engine_new(&cfg, &h);
		assert_non_null(s->e);
		mk_rule(&s->rule, i ? psk_b : psk_a, i ? qm_b : qm_a, tunnel);
		if (tunnel) {
			/* B sees the subnets the other way round. */
			if (i == 1) {
				struct ike_selector t = s->rule.local[0];
				s->rule.local[0] = s->rule.remote[0];
				s->rule.remote[0] = t;
			}
			s->rule.force_encap = i == 0;
		}
	}
	/* the tunnel peers need each other's addresses: set them after both exist */
	if (tunnel)
		for (int i = 0; i < 2; i++) {
			sides[i].rule.tunnel_peer.family = AF_INET;
			inet_pton(AF_INET, i ? "192.0.2.1" : "192.0.2.2", sides[i].rule.tunnel_peer.bytes);
		}
	set_policy(&sides[0], mm_a);
	set_policy(&sides[1], mm_b);
}

static void pump(uint64_t now);

static void teardown_sides(void)
{
	for (int i = 0; i < 2; i++)
		ike_engine_free(sides[i].e);
	rule_pfs = false;
	frag_size = 0;
	cookie_threshold = 0;
	dpd = 0;
}

/* The i-th installed Child SA of s that is still there (not removed). */
static const struct installed *live(const struct side *s, size_t *count)
{
	const struct installed *last = NULL;
	*count = 0;
	for (size_t i = 0; i < s->ninst; i++) {
		bool gone = false;
		for (size_t k = 0; k < s->nremoved && k < 16; k++)
			gone = gone || s->removed[k] == s->inst[i].in.sa.spi;
		if (!gone) {
			last = &s->inst[i];
			(*count)++;
		}
	}
	return last;
}

/* Ticks both engines at t and delivers everything. */
static void run_at(uint64_t t)
{
	ike_engine_tick(sides[0].e, t);
	ike_engine_tick(sides[1].e, t);
	pump(t);
}

/* Delivers queued datagrams (FIFO) until none is left; bounded. */
static void pump(uint64_t now)
{
	for (int rounds = 0; qn > 0 && rounds < 200; rounds++) {
		struct dgram d = queue[0];
		memmove(queue, queue + 1, (qn - 1) * sizeof(queue[0]));
		qn--;
		struct ike_addr local = d.dst;
		ike_engine_input(sides[d.to].e, &local, &d.from, d.data, d.len, now);
	}
	assert_int_equal(qn, 0);
}

static void acquire(uint64_t now)
{
	struct spd_packet p = { .family = AF_INET, .protocol = 1 };
	memcpy(p.src, sides[0].addr.bytes, 4);
	memcpy(p.dst, sides[1].addr.bytes, 4);
	struct ike_addr remote = sides[1].addr;
	ike_engine_acquire(sides[0].e, sides[0].rule.id, &sides[0].addr, &remote, &p, now);
}

/* A's outbound SA is B's inbound one and the other way round: same SPI,
 * same keys. */
static void assert_pair(const struct installed *a, const struct installed *b)
{
	assert_int_equal(a->out.sa.spi, b->in.sa.spi);
	assert_int_equal(a->in.sa.spi, b->out.sa.spi);
	assert_int_equal(a->out.sa.enc_key_len, b->in.sa.enc_key_len);
	assert_memory_equal(a->out_key, b->in_key, a->out.sa.enc_key_len);
	assert_memory_equal(a->in_key, b->out_key, a->in.sa.enc_key_len);
	assert_int_equal(a->out.sa.auth_key_len, b->in.sa.auth_key_len);
	if (a->out.sa.auth_key_len)
		assert_memory_equal(a->out_auth, b->in_auth, a->out.sa.auth_key_len);
	assert_true(a->out.sa.enc_key_len > 0);
	/* the two directions have different keys */
	assert_memory_not_equal(a->out_key, a->in_key, a->out.sa.enc_key_len);
	assert_int_equal(a->out.sa.enc, b->in.sa.enc);
	assert_true(!a->out.sa.inbound && a->in.sa.inbound);
}

static void show(const struct side *s, char *buf, size_t len)
{
	FILE *f = fmemopen(buf, len, "w");
	assert_non_null(f);
	ike_engine_show_sas(s->e, f, 1000);
	fclose(f);
}

static void failures(const struct side *s, char *buf, size_t len)
{
	FILE *f = fmemopen(buf, len, "w");
	assert_non_null(f);
	ike_engine_show_failures(s->e, f);
	fclose(f);
}

static void test_psk_transport(void **state)
{
	(void)state;
	setup_sides("AES256-SHA256-14 AES128-SHA256-31", "AES128-SHA256-31 AES256-SHA256-14",
	            "sesame", "sesame", "ESP[AESGCM128]", "ESP[AESGCM128]", false);
	acquire(0);
	pump(0);
	assert_int_equal(sides[0].ninst, 1);
	assert_int_equal(sides[1].ninst, 1);
	assert_pair(&sides[0].inst[0], &sides[1].inst[0]);
	const struct installed *a = &sides[0].inst[0];
	assert_int_equal(a->out.sa.enc, ENC_AES128_GCM);
	assert_int_equal(a->out.sa.enc_key_len, 20);   /* key + salt */
	assert_int_equal(a->out.sa.mode, SA_TRANSPORT);
	assert_false(a->out.udp_encap);
	assert_int_equal(a->out.rule_id, 7);
	assert_int_equal(a->out.src_len, 32);
	assert_memory_equal(a->out.dst.bytes, sides[1].addr.bytes, 4);
	/* lifetimes from the security method's defaults (100000k/3600s) */
	assert_int_equal(a->out.sa.life.hard_seconds, 3600);
	assert_int_equal(a->out.sa.life.hard_bytes, 100000ull * 1024);
	struct ike_stats st;
	ike_engine_stats(sides[0].e, &st);
	assert_int_equal(st.main_mode_sas, 1);
	assert_int_equal(st.quick_mode_sas, 1);
	assert_int_equal(st.active_ike_sas, 1);
	/* B chose by its own preference among A's proposals: group 31 */
	char buf[4096];
	show(&sides[1], buf, sizeof(buf));
	assert_non_null(strstr(buf, "established"));
	assert_non_null(strstr(buf, "DH31"));
	/* Another acquire for the same rule and peer while established: the
	 * engine would start a new SA only when none is under negotiation. */
	teardown_sides();
}

static void test_cbc_modp2048(void **state)
{
	(void)state;
	setup_sides("AES256-SHA256-14", "AES256-SHA256-14", "k", "k", "ESP[AES256,SHA256]",
	            "ESP[AES256,SHA256]", false);
	acquire(0);
	pump(0);
	assert_int_equal(sides[0].ninst, 1);
	assert_int_equal(sides[1].ninst, 1);
	assert_pair(&sides[0].inst[0], &sides[1].inst[0]);
	assert_int_equal(sides[0].inst[0].out.sa.enc, ENC_AES256_CBC);
	assert_int_equal(sides[0].inst[0].out.sa.integ, MAC_HMAC_SHA256_128);
	assert_int_equal(sides[0].inst[0].out.sa.auth_key_len, 32);
	teardown_sides();
}

static void test_invalid_ke_retry(void **state)
{
	(void)state;
	/* A offers group 14 first; B only accepts 19: B answers
	 * INVALID_KE_PAYLOAD(19) and A retries with 19. */
	setup_sides("AES128-SHA256-14 AES128-SHA256-19", "AES128-SHA256-19", "k", "k",
	            "ESP[AESGCM256]", "ESP[AESGCM256]", false);
	acquire(0);
	pump(0);
	assert_int_equal(sides[0].ninst, 1);
	assert_int_equal(sides[1].ninst, 1);
	assert_pair(&sides[0].inst[0], &sides[1].inst[0]);
	/* three messages from A: INIT, INIT again, AUTH */
	assert_int_equal(sent_count[0], 3);
	char buf[4096];
	show(&sides[0], buf, sizeof(buf));
	assert_non_null(strstr(buf, "DH19"));
	teardown_sides();
}

/* Runs a negotiation that must fail: no Child SA on either side, B's
 * failure record holds both b_step and b_why, A's holds a_why. */
static void expect_failure(const char *b_step, const char *b_why, const char *a_why)
{
	acquire(0);
	pump(0);
	assert_int_equal(sides[0].ninst + sides[1].ninst, 0);
	char buf[2048];
	failures(&sides[1], buf, sizeof(buf));
	assert_non_null(strstr(buf, b_step));
	assert_non_null(strstr(buf, b_why));
	failures(&sides[0], buf, sizeof(buf));
	assert_non_null(strstr(buf, a_why));
	/* The monitor's copy of B's record: the step by itself, the reason
	 * without it, the peer (A), no time passed on the test clock. */
	struct ike_failure_info fi[40];
	uint64_t total = 0;
	size_t n = ike_engine_failures(sides[1].e, 0, fi, 40, &total);
	assert_int_equal(n, 1);
	assert_int_equal(total, 1);
	assert_string_equal(fi[0].step, b_step);
	assert_non_null(strstr(fi[0].why, b_why));
	assert_int_equal(fi[0].age_s, 0);
	assert_int_equal(fi[0].peer.family, sides[0].addr.family);
	assert_memory_equal(fi[0].peer.bytes, sides[0].addr.bytes, 4);
}

static void test_no_proposal(void **state)
{
	(void)state;
	setup_sides("AES128-SHA256-14", "AES256-SHA384-14", "k", "k", "ESP[AESGCM128]",
	            "ESP[AESGCM128]", false);
	expect_failure("IKE_SA_INIT", "no common encryption transform", "NO_PROPOSAL_CHOSEN");
	struct ike_stats st;
	ike_engine_stats(sides[0].e, &st);
	assert_int_equal(st.active_ike_sas, 0);
	ike_engine_stats(sides[1].e, &st);
	assert_int_equal(st.active_ike_sas, 0);   /* the responder kept no state */
	teardown_sides();
}

static void test_child_no_proposal(void **state)
{
	(void)state;
	/* IKE agrees, ESP does not: the IKE SA comes up without a Child SA and
	 * both sides say why. */
	setup_sides("AES128-SHA256-14", "AES128-SHA256-14", "k", "k", "ESP[AESGCM128]",
	            "ESP[AES256,SHA1]", false);
	expect_failure("Child SA", "no common encryption transform", "NO_PROPOSAL_CHOSEN");
	teardown_sides();
}

static void test_wrong_psk(void **state)
{
	(void)state;
	setup_sides("AES128-SHA256-14", "AES128-SHA256-14", "right", "wrong", "ESP[AESGCM128]",
	            "ESP[AESGCM128]", false);
	expect_failure("IKE_AUTH", "does not verify with the pre-shared key of rule",
	               "AUTHENTICATION_FAILED");
	/* The event log says the same, and no SA was up, so none went down. */
	const struct ike_event *fb = event_of(&sides[1], IKE_EVENT_FAILURE, 0),
	                       *fa = event_of(&sides[0], IKE_EVENT_FAILURE, 0);
	assert_non_null(fb);
	assert_non_null(fa);
	assert_non_null(strstr(fb->reason, "IKE_AUTH: "));
	assert_non_null(strstr(fb->reason, "does not verify with the pre-shared key of rule"));
	assert_memory_equal(fb->remote.bytes, sides[0].addr.bytes, 4);
	assert_non_null(strstr(fa->reason, "AUTHENTICATION_FAILED"));
	assert_memory_equal(fa->remote.bytes, sides[1].addr.bytes, 4);
	assert_string_equal(fa->rule, "test rule");
	for (int i = 0; i < 2; i++) {
		assert_int_equal(events_of(&sides[i], IKE_EVENT_IKE_SA_UP), 0);
		assert_int_equal(events_of(&sides[i], IKE_EVENT_IKE_SA_DOWN), 0);
		assert_int_equal(events_of(&sides[i], IKE_EVENT_CHILD_SA_UP), 0);
	}
	struct ike_stats st;
	ike_engine_stats(sides[1].e, &st);
	assert_int_equal(st.authentication_failures, 1);
	assert_int_equal(st.active_ike_sas, 0);
	ike_engine_stats(sides[0].e, &st);
	assert_int_equal(st.active_ike_sas, 0);
	teardown_sides();
}

static void test_retransmit_and_duplicates(void **state)
{
	(void)state;
	setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k", "ESP[AESGCM128]",
	            "ESP[AESGCM128]", false);
	/* The first IKE_SA_INIT response is lost: A retransmits after 500 ms;
	 * B answers the retransmission from its cache (same SA, same answer). */
	drop_next[0] = 1;
	acquire(0);
	pump(0);
	assert_int_equal(sides[0].ninst, 0);
	uint64_t next = ike_engine_tick(sides[0].e, 100);
	assert_int_equal(next, 500);
	ike_engine_tick(sides[0].e, 500);
	/* Every datagram to B now arrives twice: the duplicate IKE_AUTH
	 * request is answered from the cache, not processed again. */
	dup_to[1] = true;
	pump(500);
	assert_int_equal(sides[0].ninst, 1);
	assert_int_equal(sides[1].ninst, 1);
	assert_pair(&sides[0].inst[0], &sides[1].inst[0]);
	struct ike_stats st;
	ike_engine_stats(sides[0].e, &st);
	assert_int_equal(st.retransmissions, 1);
	ike_engine_stats(sides[1].e, &st);
	assert_int_equal(st.active_ike_sas, 1);
	assert_int_equal(st.half_open_sas, 0);
	teardown_sides();
}

/* soft=yes: a peer that never answers IKE gets a soft association -- clear
 * traffic for the rule's softsaexpirationtime, Windows' 300 s by default. */
static void test_soft_association(void **state)
{
	(void)state;
	static const uint32_t want[] = { 0, 20 };
	for (size_t k = 0; k < 2; k++) {
		setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k", "ESP[AESGCM128]",
		            "ESP[AESGCM128]", false);
		sides[0].rule.soft = true;
		sides[0].rule.soft_s = want[k];
		set_policy(&sides[0], "AES128-SHA256-31");
		soft_adds = 0;
		soft_lifetime = 0;
		drop_next[1] = 100;   /* B hears nothing */
		acquire(0);
		uint64_t now = 0;
		for (int i = 0; i < 10; i++) {
			uint64_t next = ike_engine_tick(sides[0].e, now);
			if (next == UINT64_MAX)
				break;
			now = next;
		}
		assert_int_equal(soft_adds, 1);
		assert_int_equal(soft_lifetime, want[k] ? want[k] : 300);
		struct ike_stats st;
		ike_engine_stats(sides[0].e, &st);
		assert_int_equal(st.soft_associations, 1);
		char buf[2048], text[64];
		failures(&sides[0], buf, sizeof(buf));
		snprintf(text, sizeof(text), "clear traffic for %u s", soft_lifetime);
		assert_non_null(strstr(buf, text));
		teardown_sides();
	}
}

static void test_timeout(void **state)
{
	(void)state;
	setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k", "ESP[AESGCM128]",
	            "ESP[AESGCM128]", false);
	drop_next[1] = 100;   /* B hears nothing */
	acquire(0);
	uint64_t now = 0;
	for (int i = 0; i < 10; i++) {
		uint64_t next = ike_engine_tick(sides[0].e, now);
		if (next == UINT64_MAX)
			break;
		now = next;
	}
	/* 500 + 1000 ms of retransmissions, then it gives up at 3500 ms */
	assert_int_equal(sent_count[0], 3);
	char buf[2048];
	failures(&sides[0], buf, sizeof(buf));
	assert_non_null(strstr(buf, "no answer to IKE_SA_INIT after 3 tries"));
	/* It gave up at 3500 ms: 10 s later its age is 10 s. A max of 0
	 * copies nothing but still counts. */
	struct ike_failure_info fi[2];
	uint64_t total = 0;
	assert_int_equal(ike_engine_failures(sides[0].e, 13500, fi, 2, &total), 1);
	assert_int_equal(total, 1);
	assert_int_equal(fi[0].age_s, 10);
	assert_string_equal(fi[0].step, "timeout");
	assert_string_equal(fi[0].why, "no answer to IKE_SA_INIT after 3 tries");
	assert_memory_equal(fi[0].peer.bytes, sides[1].addr.bytes, 4);
	total = 0;
	assert_int_equal(ike_engine_failures(sides[0].e, 13500, fi, 0, &total), 0);
	assert_int_equal(total, 1);
	const struct ike_event *f = event_of(&sides[0], IKE_EVENT_FAILURE, 0);
	assert_non_null(f);
	assert_string_equal(f->reason, "timeout: no answer to IKE_SA_INIT after 3 tries");
	assert_memory_equal(f->remote.bytes, sides[1].addr.bytes, 4);
	assert_int_equal(events_of(&sides[0], IKE_EVENT_IKE_SA_DOWN), 0);   /* it never was up */
	struct ike_stats st;
	ike_engine_stats(sides[0].e, &st);
	assert_int_equal(st.active_ike_sas, 0);
	/* the acquire may start over */
	drop_next[1] = 0;
	qn = 0;
	acquire(now);
	pump(now);
	assert_int_equal(sides[0].ninst, 1);
	teardown_sides();
}

static void test_tunnel_forced_encap(void **state)
{
	(void)state;
	setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k", "ESP[AESGCM256]",
	            "ESP[AESGCM256]", true);
	acquire(0);
	pump(0);
	assert_int_equal(sides[0].ninst, 1);
	assert_int_equal(sides[1].ninst, 1);
	const struct installed *a = &sides[0].inst[0], *b = &sides[1].inst[0];
	assert_pair(a, b);
	assert_int_equal(a->out.sa.mode, SA_TUNNEL);
	assert_true(a->out.udp_encap && b->out.udp_encap);
	/* selectors: the two subnets */
	assert_int_equal(a->out.src_len, 24);
	assert_int_equal(a->out.dst_len, 24);
	uint8_t net[4];
	inet_pton(AF_INET, "203.0.113.0", net);
	assert_memory_equal(a->out.dst.bytes, net, 4);
	assert_memory_equal(b->out.src.bytes, net, 4);
	/* IKE moved to 4500 after IKE_SA_INIT */
	char buf[4096];
	show(&sides[0], buf, sizeof(buf));
	assert_non_null(strstr(buf, ":4500"));
	assert_non_null(strstr(buf, "yes (forced)"));
	teardown_sides();
}

static void test_delete(void **state)
{
	(void)state;
	setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k", "ESP[AESGCM128]",
	            "ESP[AESGCM128]", false);
	acquire(0);
	pump(0);
	assert_int_equal(sides[1].ninst, 1);
	ike_engine_flush(sides[0].e, 10);
	assert_int_equal(sides[0].nremoved, 1);
	pump(10);
	assert_int_equal(sides[1].nremoved, 0);   /* the inbound SA lingers 2 s */
	run_at(2010);
	assert_int_equal(sides[1].nremoved, 1);
	struct ike_stats st;
	ike_engine_stats(sides[1].e, &st);
	assert_int_equal(st.active_ike_sas, 0);
	teardown_sides();
}

static void test_corrupt_and_unknown_spi(void **state)
{
	(void)state;
	setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k", "ESP[AESGCM128]",
	            "ESP[AESGCM128]", false);
	/* A's second message, the IKE_AUTH request, arrives with a flipped
	 * octet: its ICV fails, B counts and drops it, A retransmits. */
	corrupt_at[1] = 2;
	acquire(0);
	pump(0);
	assert_int_equal(sides[1].ninst, 0);
	struct ike_stats st;
	ike_engine_stats(sides[1].e, &st);
	assert_int_equal(st.invalid_packets_received, 1);
	ike_engine_tick(sides[0].e, 500);
	pump(500);
	assert_int_equal(sides[0].ninst, 1);
	assert_int_equal(sides[1].ninst, 1);
	/* A message for an SA that does not exist: counted, nothing else. */
	uint8_t msg[64] = { 0 };
	for (int i = 0; i < 8; i++)
		msg[i] = 1;
	msg[16] = 46;
	msg[17] = 0x20;
	msg[18] = 37;
	msg[19] = 0x08;
	msg[27] = 64;
	msg[28] = 0;
	msg[31] = 36;
	ike_engine_input(sides[1].e, &sides[1].addr, &sides[0].addr, msg, sizeof(msg), 600);
	ike_engine_stats(sides[1].e, &st);
	assert_int_equal(st.invalid_packets_received, 2);
	assert_int_equal(st.active_ike_sas, 1);
	teardown_sides();
}

/* Child SA lifetime 300 s: A made it and rekeys it at 85 % (255 s), before
 * B would (92 %). The new pair comes up, then the old one goes, on both. */
static void test_child_rekey(void **state)
{
	(void)state;
	setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k", "ESP[AESGCM128]:20480k/300s",
	            "ESP[AESGCM128]:20480k/300s", false);
	acquire(0);
	pump(0);
	run_at(200000);
	assert_int_equal(sides[0].ninst, 1);   /* not yet */
	run_at(256000);
	run_at(258000);   /* the old inbound SAs linger 2 s */
	assert_int_equal(sides[0].ninst, 2);
	assert_int_equal(sides[1].ninst, 2);
	assert_pair(&sides[0].inst[1], &sides[1].inst[1]);
	assert_memory_not_equal(sides[0].inst[1].out_key, sides[0].inst[0].out_key, 20);
	/* the old pair is gone on both sides, the new one stays */
	assert_int_equal(sides[0].nremoved, 1);
	assert_int_equal(sides[1].nremoved, 1);
	assert_int_equal(sides[0].removed[0], sides[0].inst[0].in.sa.spi);
	assert_int_equal(sides[1].removed[0], sides[1].inst[0].in.sa.spi);
	assert_false(sides[0].saw_pfs);
	struct ike_stats st;
	ike_engine_stats(sides[0].e, &st);
	assert_int_equal(st.rekeys, 1);
	assert_int_equal(st.active_ike_sas, 1);
	/* and again, 255 s after the first rekey */
	run_at(256000 + 256000);
	run_at(256000 + 258000);
	assert_int_equal(sides[1].ninst, 3);
	assert_pair(&sides[0].inst[2], &sides[1].inst[2]);
	size_t n;
	live(&sides[0], &n);
	assert_int_equal(n, 1);
	teardown_sides();
}

/* The event log's view of one SA's life: up on both sides, a Child SA
 * rekey, then A deletes everything and B hears of it. */
static void test_events(void **state)
{
	(void)state;
	setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k", "ESP[AESGCM128]:20480k/300s",
	            "ESP[AESGCM128]:20480k/300s", false);
	acquire(0);
	pump(0);
	const struct ike_event *ups[2];
	for (int i = 0; i < 2; i++) {
		const struct side *s = &sides[i];
		assert_int_equal(s->nevents, 2);
		const struct ike_event *up = event_of(s, IKE_EVENT_IKE_SA_UP, 0),
		                       *child = event_of(s, IKE_EVENT_CHILD_SA_UP, 0);
		assert_non_null(up);
		assert_non_null(child);
		assert_true(up == &s->events[0].ev);   /* the IKE SA first */
		assert_int_equal(up->initiator, i == 0);
		assert_string_equal(up->rule, "test rule");
		assert_int_equal(up->rule_id, 7);
		assert_memory_equal(up->local.bytes, s->addr.bytes, 4);
		assert_memory_equal(up->remote.bytes, sides[1 - i].addr.bytes, 4);
		assert_true(up->ike_spi_i && up->ike_spi_r);
		assert_non_null(strstr(up->algs, "aes-128-cbc/"));   /* "aes-128-cbc/hmac-sha256/.../DH31" */
		assert_string_equal(up->reason, "");
		assert_int_equal(child->spi_in, s->inst[0].in.sa.spi);
		assert_int_equal(child->spi_out, s->inst[0].out.sa.spi);
		assert_int_equal(child->proto, SA_PROTO_ESP);
		assert_false(child->tunnel);
		assert_int_equal(child->ike_spi_i, up->ike_spi_i);
		assert_string_equal(child->rule, "test rule");
		assert_true(child->algs[0] != '\0');
		ups[i] = up;
	}
	assert_int_equal(ups[0]->ike_spi_i, ups[1]->ike_spi_i);
	assert_int_equal(ups[0]->ike_spi_r, ups[1]->ike_spi_r);

	run_at(256000);
	run_at(258000);
	for (int i = 0; i < 2; i++) {
		const struct side *s = &sides[i];
		assert_int_equal(s->ninst, 2);
		const struct ike_event *rk = event_of(s, IKE_EVENT_CHILD_REKEY, 0),
		                       *up = event_of(s, IKE_EVENT_CHILD_SA_UP, 1),
		                       *down = event_of(s, IKE_EVENT_CHILD_SA_DOWN, 0);
		assert_non_null(rk);
		assert_non_null(up);
		assert_non_null(down);
		assert_int_equal(rk->old_spi_in, s->inst[0].in.sa.spi);
		assert_int_equal(rk->old_spi_out, s->inst[0].out.sa.spi);
		assert_int_equal(rk->spi_in, s->inst[1].in.sa.spi);
		assert_int_equal(up->spi_in, s->inst[1].in.sa.spi);
		assert_int_equal(down->spi_in, s->inst[0].in.sa.spi);
		assert_string_equal(down->reason, "replaced by a rekey");
		assert_int_equal(events_of(s, IKE_EVENT_CHILD_REKEY), 1);
	}

	ike_engine_flush(sides[0].e, 260000);
	pump(260000);
	static const char *const why[2] = { "flushed (every SA deleted)", "deleted by the peer" };
	for (int i = 0; i < 2; i++) {
		const struct side *s = &sides[i];
		const struct ike_event *down = event_of(s, IKE_EVENT_IKE_SA_DOWN, 0),
		                       *cdown = event_of(s, IKE_EVENT_CHILD_SA_DOWN, 1);
		assert_non_null(down);
		assert_non_null(cdown);
		assert_string_equal(down->reason, why[i]);
		assert_int_equal(down->ike_spi_i, ups[0]->ike_spi_i);
		assert_int_equal(cdown->spi_in, s->inst[1].in.sa.spi);
		char want[128];
		snprintf(want, sizeof(want), "its IKE SA went: %s", why[i]);
		assert_string_equal(cdown->reason, want);
		assert_int_equal(events_of(s, IKE_EVENT_FAILURE), 0);
		assert_int_equal(s->nevents, 7);   /* up, up, rekey, up, down, down, down */
	}
	teardown_sides();
}

static void test_child_rekey_pfs(void **state)
{
	(void)state;
	/* The IKE SA's group (Curve25519), then a group of the rule's own
	 * (a dynamic qmpolicy's pfsgroup=GRP3: MODP-2048) on both sides. */
	static const uint16_t groups[] = { 0, 14 };
	for (size_t k = 0; k < 2; k++) {
		rule_pfs = true;   /* teardown_sides() clears it */
		setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k",
		            "ESP[AES256,SHA256]:20480k/300s", "ESP[AES256,SHA256]:20480k/300s", false);
		for (int i = 0; i < 2; i++) {
			sides[i].rule.pfs_group = groups[k];
			set_policy(&sides[i], "AES128-SHA256-31");
		}
		acquire(0);
		pump(0);
		assert_false(sides[0].saw_pfs);   /* IKE_AUTH's Child SA has no KE of its own */
		run_at(256000);
		assert_int_equal(sides[0].ninst, 2);
		assert_pair(&sides[0].inst[1], &sides[1].inst[1]);
		assert_true(sides[0].saw_pfs && sides[1].saw_pfs);
		struct ike_sa_info ikes[2];
		struct ike_child_info ch[4];
		size_t nch = 0;
		assert_int_equal(ike_engine_snapshot(sides[0].e, 256000, ikes, 2, ch, 4, &nch), 1);
		assert_int_equal(nch, 1);
		assert_int_equal(ch[0].pfs_group, groups[k] ? groups[k] : 31);
		teardown_sides();
	}
}

/* Both sides rekey the same Child SA at once: both new pairs come up, the
 * redundant one is deleted, one pair is left and it matches. */
static void test_simultaneous_child_rekey(void **state)
{
	(void)state;
	setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k", "ESP[AESGCM128]:20480k/300s",
	            "ESP[AESGCM128]:20480k/300s", false);
	acquire(0);
	pump(0);
	/* Past both sides' rekey times; both requests are in flight together. */
	ike_engine_tick(sides[0].e, 280000);
	ike_engine_tick(sides[1].e, 280000);
	assert_int_equal(qn, 2);
	pump(280000);
	run_at(281000);
	run_at(284000);
	size_t na, nb;
	const struct installed *a = live(&sides[0], &na), *b = live(&sides[1], &nb);
	assert_int_equal(na, 1);
	assert_int_equal(nb, 1);
	assert_int_equal(sides[0].ninst, 3);
	assert_pair(a, b);
	teardown_sides();
}

/* IKE SA lifetime 8 h: A rekeys it at 85 %. The Child SA moves over, the
 * old IKE SA is deleted, and the new one carries the next exchanges. */
/* qmpermm=1 (Windows' master key PFS): every Child SA under a new IKE SA.
 * When A's Child SA is due for its rekey, A rekeys the IKE SA first, and
 * the Child SA rekey follows under the new one; without the limit the
 * Child SA is rekeyed under the IKE SA it has. */
static void test_qm_per_mm(void **state)
{
	(void)state;
	for (uint32_t limit = 0; limit <= 1; limit++) {
		setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k",
		            "ESP[AESGCM128]:20480k/300s", "ESP[AESGCM128]:20480k/300s", false);
		sides[0].rule.qm_per_mm = limit;
		set_policy(&sides[0], "AES128-SHA256-31");
		acquire(0);
		pump(0);
		const struct ike_event *up = event_of(&sides[0], IKE_EVENT_IKE_SA_UP, 0);
		assert_non_null(up);
		uint64_t first = up->ike_spi_i;
		run_at(256000);   /* past A's Child SA rekey time (85 % of 300 s) */
		run_at(257000);
		struct ike_stats st;
		ike_engine_stats(sides[0].e, &st);
		assert_int_equal(st.active_ike_sas, 1);
		assert_int_equal(sides[0].ninst, 2);   /* the Child SA was rekeyed */
		assert_pair(&sides[0].inst[1], &sides[1].inst[1]);
		struct ike_sa_info ikes[2];
		struct ike_child_info ch[4];
		size_t nch = 0;
		assert_int_equal(ike_engine_snapshot(sides[0].e, 257000, ikes, 2, ch, 4, &nch), 1);
		if (limit) {
			assert_true(ikes[0].spi_i != first);   /* a new IKE SA */
			assert_non_null(event_of(&sides[0], IKE_EVENT_IKE_REKEY, 0));
		} else {
			assert_true(ikes[0].spi_i == first);
			assert_null(event_of(&sides[0], IKE_EVENT_IKE_REKEY, 0));
		}
		teardown_sides();
	}
}

/* A rule's own IKE SA lifetime (a dynamic mmpolicy's mmlifetime=10): the
 * IKE SA is rekeyed at 85 % of 600 s, not of the policy's 28800 s. */
static void test_rule_ike_lifetime(void **state)
{
	(void)state;
	setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k",
	            "ESP[AESGCM128]:20480k/172800s", "ESP[AESGCM128]:20480k/172800s", false);
	for (int i = 0; i < 2; i++) {
		sides[i].rule.ike_lifetime_s = 600;
		set_policy(&sides[i], "AES128-SHA256-31");
	}
	acquire(0);
	pump(0);
	struct ike_sa_info ikes[2];
	struct ike_child_info ch[4];
	size_t nch = 0;
	assert_int_equal(ike_engine_snapshot(sides[0].e, 1000, ikes, 2, ch, 4, &nch), 1);
	assert_int_equal(ikes[0].lifetime_s, 600);
	run_at(509000);
	assert_null(event_of(&sides[0], IKE_EVENT_IKE_REKEY, 0));
	run_at(511000);
	assert_non_null(event_of(&sides[0], IKE_EVENT_IKE_REKEY, 0));
	struct ike_stats st;
	ike_engine_stats(sides[0].e, &st);
	assert_int_equal(st.active_ike_sas, 1);
	teardown_sides();
}

/* A rule with IKE offers of its own (a dynamic mmpolicy's): as initiator
 * it offers those, not the policy's first choice; the responder accepts
 * from the policy's whole list. */
static void test_rule_ike_offers(void **state)
{
	(void)state;
	for (int own = 0; own <= 1; own++) {
		setup_sides("AES128-SHA256-31 AESGCM128-SHA256-19", "AES128-SHA256-31 AESGCM128-SHA256-19",
		            "k", "k", "ESP[AESGCM128]", "ESP[AESGCM128]", false);
		if (own) {
			struct diag d;
			diag_init(&d);
			assert_true(policy_parse_mmsec("mmsecmethods", "AESGCM128-SHA256-19",
			                               &sides[0].rule.mm, &d));
			set_policy(&sides[0], "AES128-SHA256-31 AESGCM128-SHA256-19");
		}
		acquire(0);
		pump(0);
		struct ike_sa_info ikes[2];
		struct ike_child_info ch[4];
		size_t nch = 0;
		assert_int_equal(ike_engine_snapshot(sides[0].e, 1000, ikes, 2, ch, 4, &nch), 1);
		assert_int_equal(ikes[0].dh_group, own ? 19 : 31);
		assert_int_equal(nch, 1);
		teardown_sides();
	}
}

static void test_ike_rekey(void **state)
{
	(void)state;
	setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k",
	            "ESP[AESGCM128]:20480k/172800s", "ESP[AESGCM128]:20480k/172800s", false);
	acquire(0);
	pump(0);
	char before[4096], after[4096];
	show(&sides[0], before, sizeof(before));
	run_at(24481000);
	struct ike_stats st;
	for (int i = 0; i < 2; i++) {
		ike_engine_stats(sides[i].e, &st);
		assert_int_equal(st.active_ike_sas, 1);
		assert_int_equal(st.rekeys, 1);
		assert_int_equal(sides[i].nremoved, 0);   /* the Child SA lives on */
	}
	show(&sides[0], after, sizeof(after));
	assert_string_not_equal(before, after);
	/* Both sides log the rekey, naming the SA it replaced, and the old one
	 * going because of it. */
	for (int i = 0; i < 2; i++) {
		const struct ike_event *up = event_of(&sides[i], IKE_EVENT_IKE_SA_UP, 0),
		                       *rk = event_of(&sides[i], IKE_EVENT_IKE_REKEY, 0),
		                       *down = event_of(&sides[i], IKE_EVENT_IKE_SA_DOWN, 0);
		assert_non_null(up);
		assert_non_null(rk);
		assert_non_null(down);
		assert_int_equal(rk->old_ike_spi_i, up->ike_spi_i);
		assert_int_equal(rk->old_ike_spi_r, up->ike_spi_r);
		assert_true(rk->ike_spi_i != up->ike_spi_i && rk->ike_spi_r != up->ike_spi_r);
		assert_int_equal(down->ike_spi_i, up->ike_spi_i);
		assert_string_equal(down->reason, "replaced by a rekey");
		assert_int_equal(events_of(&sides[i], IKE_EVENT_CHILD_SA_DOWN), 0);
	}
	assert_non_null(strstr(after, "Child SA ESP"));
	/* the new IKE SA works: the Child SA rekey runs over it */
	run_at(146881000);
	assert_int_equal(sides[0].ninst, 2);
	assert_int_equal(sides[1].ninst, 2);
	assert_pair(&sides[0].inst[1], &sides[1].inst[1]);
	teardown_sides();
}

static void test_simultaneous_ike_rekey(void **state)
{
	(void)state;
	setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k",
	            "ESP[AESGCM128]:20480k/172800s", "ESP[AESGCM128]:20480k/172800s", false);
	acquire(0);
	pump(0);
	ike_engine_tick(sides[0].e, 27000000);
	ike_engine_tick(sides[1].e, 27000000);
	assert_int_equal(qn, 2);
	pump(27000000);
	run_at(27001000);
	run_at(27003000);
	char a[4096], b[4096];
	show(&sides[0], a, sizeof(a));
	show(&sides[1], b, sizeof(b));
	struct ike_stats st;
	for (int i = 0; i < 2; i++) {
		ike_engine_stats(sides[i].e, &st);
		assert_int_equal(st.active_ike_sas, 1);
	}
	/* the same IKE SA on both sides: same SPIs on the first line */
	assert_memory_equal(a, b, strlen("IKE SA 0123456789abcdef_i 0123456789abcdef_r"));
	assert_int_equal(sides[0].nremoved + sides[1].nremoved, 0);
	teardown_sides();
}

/* A large IKE_AUTH (sixteen selector pairs, many proposals) on a 576-octet
 * path: it goes out as RFC 7383 fragments, both ways, and is put back
 * together; then a rekey (also fragmented) works. */
static void test_fragmentation(void **state)
{
	(void)state;
	frag_size = 576;
	const char *qm = "ESP[AESGCM128] ESP[AESGCM256] ESP[AES128,SHA256] ESP[AES256,SHA256] "
	                 "ESP[AES256,SHA384] ESP[AES256,SHA512] ESP[AES128,SHA1] ESP[3DES,SHA1]";
	setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k", qm, qm, true);
	for (int i = 0; i < 2; i++) {
		struct ike_rule *r = &sides[i].rule;
		for (size_t k = 1; k < 16; k++) {
			r->local[k] = r->local[0];
			r->remote[k] = r->remote[0];
			r->local[k].port = r->remote[k].port = (uint16_t)(1000 + k);
			r->local[k].protocol = r->remote[k].protocol = 6;
		}
		r->nsel = 16;
		set_policy(&sides[i], "AES128-SHA256-31");
	}
	acquire(0);
	pump(0);
	assert_int_equal(sides[0].ninst, 1);
	assert_int_equal(sides[1].ninst, 1);
	assert_pair(&sides[0].inst[0], &sides[1].inst[0]);
	struct ike_stats a, b;
	ike_engine_stats(sides[0].e, &a);
	ike_engine_stats(sides[1].e, &b);
	assert_true(a.fragmented_messages >= 1);   /* A's IKE_AUTH request */
	assert_true(b.reassembled_messages >= 1);
	assert_int_equal(a.invalid_packets_received + b.invalid_packets_received, 0);
	teardown_sides();
}

/* Liveness (dead peer detection): after 10 s of silence A asks (an empty
 * INFORMATIONAL); B answers and all stays. Then B is gone: A gives up after
 * its retransmissions and removes the SAs. */
static void test_dpd(void **state)
{
	(void)state;
	dpd = 10;
	setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k", "ESP[AESGCM128]",
	            "ESP[AESGCM128]", false);
	acquire(0);
	pump(0);
	size_t before = sent_count[0];
	run_at(10000);
	/* its liveness check, and its answer to B's */
	assert_int_equal(sent_count[0], before + 2);
	struct ike_stats st;
	ike_engine_stats(sides[0].e, &st);
	assert_int_equal(st.active_ike_sas, 1);
	drop_next[1] = 100;
	uint64_t now = 21000;
	for (int i = 0; i < 10; i++) {
		uint64_t next = ike_engine_tick(sides[0].e, now);
		if (next == UINT64_MAX)
			break;
		now = next > now ? next : now + 1000;
	}
	ike_engine_stats(sides[0].e, &st);
	assert_int_equal(st.active_ike_sas, 0);
	size_t n;
	live(&sides[0], &n);
	assert_int_equal(n, 0);
	char buf[1024];
	failures(&sides[0], buf, sizeof(buf));
	assert_non_null(strstr(buf, "no answer to INFORMATIONAL"));
	qn = 0;
	teardown_sides();
}

/* Both sides initiate at once: two IKE SAs come up, the one with the lower
 * initiator nonce is deleted by its initiator; one IKE SA and one Child SA
 * pair are left, the same on both sides. */
static void test_simultaneous_initiation(void **state)
{
	(void)state;
	setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k", "ESP[AESGCM128]",
	            "ESP[AESGCM128]", false);
	acquire(0);
	struct spd_packet p = { .family = AF_INET, .protocol = 1 };
	memcpy(p.src, sides[1].addr.bytes, 4);
	memcpy(p.dst, sides[0].addr.bytes, 4);
	ike_engine_acquire(sides[1].e, sides[1].rule.id, &sides[1].addr, &sides[0].addr, &p, 0);
	assert_int_equal(qn, 2);
	pump(0);
	run_at(3000);   /* the deletes, and the lingering inbound SAs */
	struct ike_stats st;
	for (int i = 0; i < 2; i++) {
		ike_engine_stats(sides[i].e, &st);
		assert_int_equal(st.active_ike_sas, 1);
		assert_int_equal(st.main_mode_sas, 2);
	}
	size_t na, nb;
	const struct installed *a = live(&sides[0], &na), *b = live(&sides[1], &nb);
	assert_int_equal(na, 1);
	assert_int_equal(nb, 1);
	assert_pair(a, b);
	char sa_a[4096], sa_b[4096];
	show(&sides[0], sa_a, sizeof(sa_a));
	show(&sides[1], sa_b, sizeof(sa_b));
	assert_memory_equal(sa_a, sa_b, strlen("IKE SA 0123456789abcdef_i 0123456789abcdef_r"));
	teardown_sides();
}

/* Every suite the issue names, IKE SA and Child SA, end to end. */
static void test_suites(void **state)
{
	(void)state;
	static const struct {
		const char *mm, *qm, *algs;
		enum crypto_enc enc;
		enum sa_proto proto;
	} t[] = {
		{ "3DES-SHA1-14", "ESP[3DES,SHA1]", "3des/sha1/sha1/DH14", ENC_3DES_CBC, SA_PROTO_ESP },
		{ "AES256-SHA512-21", "ESP[AES256,SHA512]", "aes-256-cbc/sha512/sha512/DH21",
		  ENC_AES256_CBC, SA_PROTO_ESP },
		{ "AESGCM256-SHA384-20", "ESP[CHACHA20POLY1305]", "aes-256-gcm/sha384/DH20",
		  ENC_CHACHA20_POLY1305, SA_PROTO_ESP },
		{ "AES128-SHA256-19", "AH[SHA256]", "aes-128-cbc/sha256/sha256/DH19", ENC_NULL,
		  SA_PROTO_AH },
		{ "AESGCM128-SHA256-31", "ESP[AESGCM256]", "aes-128-gcm/sha256/DH31", ENC_AES256_GCM,
		  SA_PROTO_ESP },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		setup_sides(t[i].mm, t[i].mm, "k", "k", t[i].qm, t[i].qm, false);
		acquire(0);
		pump(0);
		assert_int_equal(sides[0].ninst, 1);
		assert_int_equal(sides[1].ninst, 1);
		const struct installed *a = &sides[0].inst[0], *b = &sides[1].inst[0];
		assert_int_equal(a->out.sa.spi, b->in.sa.spi);
		assert_int_equal(a->out.sa.proto, t[i].proto);
		if (t[i].proto == SA_PROTO_ESP) {
			assert_pair(a, b);
			assert_int_equal(a->out.sa.enc, t[i].enc);
		} else {
			assert_int_equal(a->out.sa.integ, MAC_HMAC_SHA256_128);
			assert_memory_equal(a->out_auth, b->in_auth, a->out.sa.auth_key_len);
		}
		char buf[4096];
		show(&sides[0], buf, sizeof(buf));
		if (!strstr(buf, t[i].algs))
			fail_msg("suite %zu: '%s' not in\n%s", i, t[i].algs, buf);
		teardown_sides();
	}
}

/* DES and MD5 only with the legacy switch. */
static void test_legacy_switch(void **state)
{
	(void)state;
	setup_sides("DES-MD5-2", "DES-MD5-2", "k", "k", "ESP[DES,MD5]", "ESP[DES,MD5]", false);
	acquire(0);
	pump(0);
	assert_int_equal(sides[0].ninst, 0);
	char buf[1024];
	failures(&sides[0], buf, sizeof(buf));
	assert_non_null(strstr(buf, "no IKE proposal secpol can offer"));
	teardown_sides();

	setup_sides("DES-MD5-2", "DES-MD5-2", "k", "k", "ESP[DES,MD5]", "ESP[DES,MD5]", false);
	for (int i = 0; i < 2; i++) {
		struct diag d;
		diag_init(&d);
		struct ike_policy p = { .ike_lifetime_s = 28800, .rules = &sides[i].rule, .nrules = 1,
		                        .allow_legacy = true };
		assert_true(policy_parse_mmsec("mmsecmethods", "DES-MD5-2", &p.mm, &d));
		char err[128];
		assert_true(ike_engine_set_policy(sides[i].e, &p, err, sizeof(err)));
	}
	acquire(0);
	pump(0);
	assert_int_equal(sides[0].ninst, 1);
	assert_pair(&sides[0].inst[0], &sides[1].inst[0]);
	assert_int_equal(sides[0].inst[0].out.sa.enc, ENC_DES_CBC);
	teardown_sides();
}

/* Policy changes as a difference: the same policy again changes nothing;
 * changed security methods renegotiate (new SAs up, then the old ones go,
 * one pair left, with the new algorithm); a removed rule deletes its SAs
 * and tells the peer. */
static void test_policy_change(void **state)
{
	(void)state;
	setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k", "ESP[AESGCM128]",
	            "ESP[AESGCM128]", false);
	acquire(0);
	pump(0);
	char before[4096], after[4096];
	show(&sides[0], before, sizeof(before));
	set_policy(&sides[0], "AES128-SHA256-31");
	set_policy(&sides[1], "AES128-SHA256-31");
	run_at(1000);
	show(&sides[0], after, sizeof(after));
	assert_memory_equal(before, after, strlen("IKE SA 0123456789abcdef_i 0123456789abcdef_r"));
	assert_int_equal(sides[0].ninst, 1);

	struct diag d;
	for (int i = 0; i < 2; i++) {
		diag_init(&d);
		assert_true(policy_parse_qmsec("qmsecmethods", "ESP[AESGCM256]", &sides[i].rule.methods, &d));
		set_policy(&sides[i], "AES128-SHA256-31");
	}
	pump(2000);
	run_at(3000);
	run_at(6000);
	size_t na, nb;
	const struct installed *a = live(&sides[0], &na), *b = live(&sides[1], &nb);
	assert_int_equal(na, 1);
	assert_int_equal(nb, 1);
	assert_pair(a, b);
	assert_int_equal(a->out.sa.enc, ENC_AES256_GCM);
	struct ike_stats st;
	for (int i = 0; i < 2; i++) {
		ike_engine_stats(sides[i].e, &st);
		assert_int_equal(st.active_ike_sas, 1);
	}

	/* A's policy loses the rule: its SAs go, and B hears of it. */
	struct ike_policy empty = { .ike_lifetime_s = 28800 };
	diag_init(&d);
	assert_true(policy_parse_mmsec("mmsecmethods", "AES128-SHA256-31", &empty.mm, &d));
	char err[128];
	assert_true(ike_engine_set_policy(sides[0].e, &empty, err, sizeof(err)));
	run_at(7000);
	run_at(10000);
	for (int i = 0; i < 2; i++) {
		ike_engine_stats(sides[i].e, &st);
		assert_int_equal(st.active_ike_sas, 0);
		live(&sides[i], &na);
		assert_int_equal(na, 0);
	}
	teardown_sides();
}

/* Two transport rules for the same peer, told apart by protocol and port,
 * with different methods: the responder must take the rule the initiator
 * negotiates for (the selectors carry the protocol and port). */
static void test_rules_by_protocol(void **state)
{
	(void)state;
	setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k", "ESP[AESGCM128]",
	            "ESP[AESGCM128]", false);
	struct ike_rule r[2][2];
	for (int i = 0; i < 2; i++) {
		struct diag d;
		diag_init(&d);
		r[i][0] = sides[i].rule;   /* ICMP, AES-GCM-128 */
		r[i][0].id = 1;
		snprintf(r[i][0].guid, sizeof(r[i][0].guid), "{one}");
		snprintf(r[i][0].name, sizeof(r[i][0].name), "icmp");
		r[i][0].local[0].protocol = r[i][0].remote[0].protocol = 1;
		r[i][1] = r[i][0];         /* UDP to port 6000 at B, AES-GCM-256 */
		r[i][1].id = 2;
		snprintf(r[i][1].guid, sizeof(r[i][1].guid), "{two}");
		snprintf(r[i][1].name, sizeof(r[i][1].name), "udp6000");
		r[i][1].local[0].protocol = r[i][1].remote[0].protocol = 17;
		if (i == 0)
			r[i][1].remote[0].port = 6000;
		else
			r[i][1].local[0].port = 6000;
		assert_true(policy_parse_qmsec("qmsecmethods", "ESP[AESGCM256]", &r[i][1].methods, &d));
		struct ike_policy p = { .ike_lifetime_s = 28800, .rules = r[i], .nrules = 2 };
		assert_true(policy_parse_mmsec("mmsecmethods", "AES128-SHA256-31", &p.mm, &d));
		char err[128];
		assert_true(ike_engine_set_policy(sides[i].e, &p, err, sizeof(err)));
	}
	struct spd_packet pkt = { .family = AF_INET, .protocol = 17, .dst_port = 6000 };
	ike_engine_acquire(sides[0].e, 2, &sides[0].addr, &sides[1].addr, &pkt, 0);
	pump(0);
	assert_int_equal(sides[0].ninst, 1);
	assert_int_equal(sides[1].ninst, 1);
	assert_pair(&sides[0].inst[0], &sides[1].inst[0]);
	assert_int_equal(sides[1].inst[0].out.sa.enc, ENC_AES256_GCM);
	assert_int_equal(sides[1].inst[0].out.rule_id, 2);
	/* Both install exactly UDP to B's port 6000, from any port of A's:
	 * nothing else between the two hosts goes through (or is accepted
	 * from) this SA. */
	struct spd_packet ab = { .family = AF_INET, .protocol = 17, .src_port = 40000,
	                         .dst_port = 6000 };
	memcpy(ab.src, sides[0].addr.bytes, 4);
	memcpy(ab.dst, sides[1].addr.bytes, 4);
	assert_true(spd_traffic_carries(&sides[0].inst[0].out.traffic, &ab));
	assert_true(spd_traffic_carries(&sides[1].inst[0].in.traffic, &ab));
	struct spd_packet other = ab;
	other.dst_port = 6001;
	assert_false(spd_traffic_carries(&sides[0].inst[0].out.traffic, &other));
	assert_false(spd_traffic_carries(&sides[1].inst[0].in.traffic, &other));
	other = ab;
	other.protocol = 1;
	assert_false(spd_traffic_carries(&sides[1].inst[0].in.traffic, &other));
	struct spd_packet ba = { .family = AF_INET, .protocol = 17, .src_port = 6000,
	                         .dst_port = 40000 };
	memcpy(ba.src, sides[1].addr.bytes, 4);
	memcpy(ba.dst, sides[0].addr.bytes, 4);
	assert_true(spd_traffic_carries(&sides[1].inst[0].out.traffic, &ba));
	assert_true(spd_traffic_carries(&sides[0].inst[0].in.traffic, &ba));
	char buf[4096];
	show(&sides[1], buf, sizeof(buf));
	assert_non_null(strstr(buf, "Rule                 : udp6000"));
	teardown_sides();
}

/* B answers with its default response rule only: the filter it makes for
 * A's traffic is what A asked for (UDP to B's port 6000), not every
 * protocol between the two hosts (Windows makes it from the selectors). */
static void test_default_response_filter(void **state)
{
	(void)state;
	setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k", "ESP[AESGCM128]",
	            "ESP[AESGCM128]", false);
	struct ike_rule *a = &sides[0].rule, *b = &sides[1].rule;
	a->local[0].protocol = a->remote[0].protocol = 17;
	a->remote[0].port = 6000;
	set_policy(&sides[0], "AES128-SHA256-31");
	b->is_default = true;
	set_policy(&sides[1], "AES128-SHA256-31");
	negotiate_adds = 0;
	memset(&negotiate_filter, 0, sizeof(negotiate_filter));
	struct spd_packet pkt = { .family = AF_INET, .protocol = 17, .dst_port = 6000 };
	ike_engine_acquire(sides[0].e, a->id, &sides[0].addr, &sides[1].addr, &pkt, 0);
	pump(0);
	assert_int_equal(sides[1].ninst, 1);
	assert_int_equal(negotiate_adds, 1);
	const struct driver_dynamic *f = &negotiate_filter;
	assert_int_equal(f->rule_id, b->id);
	assert_int_equal(f->protocol, 17);
	assert_int_equal(f->local_ports[0], 6000);     /* B's side: port 6000 */
	assert_int_equal(f->local_ports[1], 6000);
	assert_int_equal(f->remote_ports[1], 0);       /* A's side: any port */
	assert_memory_equal(f->local.bytes, sides[1].addr.bytes, 4);
	assert_memory_equal(f->remote.bytes, sides[0].addr.bytes, 4);
	/* As the driver matches it: B's answers on UDP from 6000 to A, not
	 * its other traffic to A. */
	struct spd_packet reply = { .family = AF_INET, .protocol = 17, .src_port = 6000,
	                            .dst_port = 40000 };
	memcpy(reply.src, sides[1].addr.bytes, 4);
	memcpy(reply.dst, sides[0].addr.bytes, 4);
	assert_true(driver_dynamic_matches(f, &reply, SPD_OUTBOUND));
	struct spd_packet other = reply;
	other.protocol = 6;
	assert_false(driver_dynamic_matches(f, &other, SPD_OUTBOUND));
	other = reply;
	other.src_port = 6001;
	assert_false(driver_dynamic_matches(f, &other, SPD_OUTBOUND));
	teardown_sides();
}

/* A tunnel rule whose filter list names two subnets on each side: the one
 * Child SA carries all four pairs, not only the first filter's. */
static void test_tunnel_two_subnets(void **state)
{
	(void)state;
	setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k", "ESP[AESGCM256]:20480k/300s",
	            "ESP[AESGCM256]:20480k/300s", true);
	for (int i = 0; i < 2; i++) {
		struct ike_rule *r = &sides[i].rule;
		r->nsel = 2;
		r->local[1] = r->local[0];
		r->remote[1] = r->remote[0];
		/* A: 198.51.100.0/24 + 192.0.2.128/25 <-> 203.0.113.0/24 + 192.0.2.0/26 (B mirrors) */
		inet_pton(AF_INET, i == 0 ? "192.0.2.128" : "192.0.2.0", r->local[1].net.bytes);
		inet_pton(AF_INET, i == 0 ? "192.0.2.0" : "192.0.2.128", r->remote[1].net.bytes);
		r->local[1].len = i == 0 ? 25 : 26;
		r->remote[1].len = i == 0 ? 26 : 25;
		set_policy(&sides[i], "AES128-SHA256-31");
	}
	acquire(0);
	pump(0);
	assert_int_equal(sides[0].ninst, 1);
	assert_int_equal(sides[1].ninst, 1);
	static const char *const src[] = { "198.51.100.7", "192.0.2.200" };
	static const char *const dst[] = { "203.0.113.9", "192.0.2.33" };
	/* The first pair, and the one the Child SA rekey (A's, at 85-92 % of
	 * 300 s) made: a rekey proposes every selector again. */
	for (int gen = 0; gen < 2; gen++) {
		if (gen == 1) {
			run_at(256000);
			run_at(258000);
			assert_int_equal(sides[0].ninst, 2);
			assert_int_equal(sides[1].ninst, 2);
		}
		const struct child_sa_config *a_out = &sides[0].inst[gen].out;
		const struct child_sa_config *b_in = &sides[1].inst[gen].in;
		for (int x = 0; x < 2; x++)
			for (int y = 0; y < 2; y++) {
				struct spd_packet p = { .family = AF_INET, .protocol = 6, .dst_port = 80 };
				inet_pton(AF_INET, src[x], p.src);
				inet_pton(AF_INET, dst[y], p.dst);
				assert_true(spd_traffic_carries(&a_out->traffic, &p));
				assert_true(spd_traffic_carries(&b_in->traffic, &p));
			}
		struct spd_packet out_of = { .family = AF_INET, .protocol = 6 };
		inet_pton(AF_INET, "198.51.100.7", out_of.src);
		inet_pton(AF_INET, "192.0.2.64", out_of.dst);   /* past B's /26 */
		assert_false(spd_traffic_carries(&a_out->traffic, &out_of));
		assert_false(spd_traffic_carries(&b_in->traffic, &out_of));
	}
	teardown_sides();
}

/* B asks for a COOKIE once one SA is half-open: the second initiation gets
 * one, sends it back, and goes through; a forged cookie is counted. */
static void test_cookie(void **state)
{
	(void)state;
	cookie_threshold = 1;
	setup_sides("AES128-SHA256-31", "AES128-SHA256-31", "k", "k", "ESP[AESGCM128]",
	            "ESP[AESGCM128]", false);
	acquire(0);
	/* Only A's IKE_SA_INIT reaches B: one half-open SA there. */
	assert_int_equal(qn, 1);
	struct dgram first = queue[0];
	qn = 0;
	ike_engine_input(sides[1].e, &first.dst, &first.from, first.data, first.len, 0);
	qn = 0;   /* its answer is lost */
	struct ike_stats st;
	ike_engine_stats(sides[1].e, &st);
	assert_int_equal(st.half_open_sas, 1);
	/* A second IKE SA from A: B answers with a COOKIE only. */
	ike_engine_initiate(sides[0].e, sides[0].rule.id, &sides[0].addr, &sides[1].addr, 10);
	pump(10);
	ike_engine_stats(sides[1].e, &st);
	assert_int_equal(st.cookies_sent, 1);
	assert_int_equal(sides[1].ninst, 1);   /* the second SA came up */
	assert_int_equal(sides[0].ninst, 1);
	assert_pair(&sides[0].inst[0], &sides[1].inst[0]);
	/* A request whose COOKIE was tampered with: counted, answered with a
	 * fresh COOKIE, no state. */
	ike_engine_initiate(sides[0].e, sides[0].rule.id, &sides[0].addr, &sides[1].addr, 20);
	assert_int_equal(qn, 1);
	struct dgram d = queue[0];
	qn = 0;
	ike_engine_input(sides[1].e, &d.dst, &d.from, d.data, d.len, 20);   /* -> COOKIE */
	assert_int_equal(qn, 1);
	struct dgram c = queue[0];
	qn = 0;
	ike_engine_input(sides[0].e, &c.dst, &c.from, c.data, c.len, 20);   /* A resends with it */
	assert_int_equal(qn, 1);
	queue[0].data[40] ^= 1;   /* inside the COOKIE notification's data */
	struct dgram bad = queue[0];
	qn = 0;
	ike_engine_input(sides[1].e, &bad.dst, &bad.from, bad.data, bad.len, 20);
	ike_engine_stats(sides[1].e, &st);
	assert_int_equal(st.invalid_cookies_received, 1);
	assert_int_equal(st.half_open_sas, 1);   /* still only the first one */
	qn = 0;
	teardown_sides();
}

/* ---- certificates: a test PKI made with the openssl tool ---- */

static char pki[64];

/* A root CA (RSA or ECDSA) and, for each side, a host certificate with its
 * address as subjectAltName, imported into that side's own store; and an
 * unrelated root for the failure case. */
static void make_pki(const char *alg)
{
	snprintf(pki, sizeof(pki), "/tmp/secpol-ike-pki.XXXXXX");
	assert_non_null(mkdtemp(pki));
	char cmd[4096];
	const char *key = !strcmp(alg, "rsa") ? "-newkey rsa:2048" : "-newkey ec -pkeyopt ec_paramgen_curve:P-256";
	snprintf(cmd, sizeof(cmd),
	         "set -e; cd %s; "
	         "for ca in root other; do openssl req -x509 %s -nodes -keyout $ca.key -out $ca.pem "
	         "  -days 30 -subj \"/O=secpol/CN=$ca CA\" -addext basicConstraints=critical,CA:true "
	         "  -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null; done; "
	         "for h in a:192.0.2.1 b:192.0.2.2; do n=${h%%%%:*}; ip=${h#*:}; "
	         "  openssl req %s -nodes -keyout $n.key -out $n.csr -subj \"/O=secpol/CN=host-$n\" 2>/dev/null; "
	         "  printf 'subjectAltName=IP:%%s\\nkeyUsage=digitalSignature\\n' $ip > $n.ext; "
	         "  openssl x509 -req -in $n.csr -CA root.pem -CAkey root.key -CAcreateserial "
	         "    -days 30 -extfile $n.ext -out $n.pem 2>/dev/null; "
	         "  cat $n.pem $n.key > $n.bundle; "
	         "done",
	         pki, key, key);
	assert_int_equal(system(cmd), 0);
}

static void clean_pki(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", pki);
	assert_int_equal(system(cmd), 0);
}

/* Side i's store: the root (or the other root) and its host certificate. */
static struct cert_store *store_for(int i, const char *root)
{
	char dir[128], f[160];
	snprintf(dir, sizeof(dir), "%s/store-%c", pki, 'a' + i);
	struct cert_err err = { 0 };
	struct cert_store *st = cert_store_open(dir, true, &err);
	assert_non_null(st);
	struct cert_import_result r;
	snprintf(f, sizeof(f), "%s/%s.pem", pki, root);
	assert_true(cert_store_import_file(st, f, NULL, &r, &err));
	snprintf(f, sizeof(f), "%s/%c.bundle", pki, 'a' + i);
	assert_true(cert_store_import_file(st, f, NULL, &r, &err));
	cert_store_close(st);
	return cert_store_open(dir, false, &err);
}

static void cert_rules(const char *root_a, const char *root_b, struct cert_store *st[2])
{
	for (int i = 0; i < 2; i++) {
		struct diag d;
		diag_init(&d);
		sides[i].rule.auth.n = 0;
		assert_true(policy_auth_add(&sides[i].rule.auth, AUTH_CERT, "CN=root CA, O=secpol", &d));
		st[i] = store_for(i, i ? root_b : root_a);
		set_policy(&sides[i], "AES128-SHA256-19");
		ike_engine_set_certs(sides[i].e, st[i], CERT_CRL_SOFT);
	}
}

static void check_cert_auth(const char *alg, const char *keytype)
{
	make_pki(alg);
	setup_sides("AES128-SHA256-19", "AES128-SHA256-19", "-", "-", "ESP[AESGCM128]",
	            "ESP[AESGCM128]", false);
	struct cert_store *st[2];
	cert_rules("root", "root", st);
	acquire(0);
	pump(0);
	assert_int_equal(sides[0].ninst, 1);
	assert_int_equal(sides[1].ninst, 1);
	assert_pair(&sides[0].inst[0], &sides[1].inst[0]);
	char buf[4096], want[128];
	show(&sides[1], buf, sizeof(buf));
	snprintf(want, sizeof(want), "certificate 'O=secpol, CN=host-a' (%s)", keytype);
	assert_non_null(strstr(buf, want));
	show(&sides[0], buf, sizeof(buf));
	snprintf(want, sizeof(want), "certificate 'O=secpol, CN=host-b' (%s)", keytype);
	assert_non_null(strstr(buf, want));
	if (frag_size) {
		struct ike_stats a, b;
		ike_engine_stats(sides[0].e, &a);
		ike_engine_stats(sides[1].e, &b);
		assert_true(a.fragmented_messages >= 1 && b.fragmented_messages >= 1);
		assert_true(a.reassembled_messages >= 1 && b.reassembled_messages >= 1);
	}
	teardown_sides();
	cert_store_close(st[0]);
	cert_store_close(st[1]);
	clean_pki();
}

static void test_cert_ecdsa(void **state)
{
	(void)state;
	check_cert_auth("ec", "ECDSA-P256");
}

static void test_cert_rsa(void **state)
{
	(void)state;
	/* An RSA-2048 IKE_AUTH over a 1280-octet path: fragmented, too. */
	frag_size = 1280;
	check_cert_auth("rsa", "RSA-2048");
}

/* B trusts only "other CA": A's certificate does not chain; B says why. */
static void test_cert_untrusted(void **state)
{
	(void)state;
	make_pki("ec");
	setup_sides("AES128-SHA256-19", "AES128-SHA256-19", "-", "-", "ESP[AESGCM128]",
	            "ESP[AESGCM128]", false);
	struct cert_store *st[2];
	cert_rules("root", "other", st);
	acquire(0);
	pump(0);
	assert_int_equal(sides[0].ninst + sides[1].ninst, 0);
	char buf[2048];
	failures(&sides[1], buf, sizeof(buf));
	assert_non_null(strstr(buf, "step IKE_AUTH: authentication failed: certificate: "));
	failures(&sides[0], buf, sizeof(buf));
	assert_true(strstr(buf, "AUTHENTICATION_FAILED") || strstr(buf, "no host certificate"));
	teardown_sides();
	cert_store_close(st[0]);
	cert_store_close(st[1]);
	clean_pki();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_psk_transport),
		cmocka_unit_test(test_cbc_modp2048),
		cmocka_unit_test(test_invalid_ke_retry),
		cmocka_unit_test(test_no_proposal),
		cmocka_unit_test(test_child_no_proposal),
		cmocka_unit_test(test_wrong_psk),
		cmocka_unit_test(test_retransmit_and_duplicates),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_soft_association),
		cmocka_unit_test(test_qm_per_mm),
		cmocka_unit_test(test_rule_ike_lifetime),
		cmocka_unit_test(test_rule_ike_offers),
		cmocka_unit_test(test_tunnel_forced_encap),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_corrupt_and_unknown_spi),
		cmocka_unit_test(test_child_rekey),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_child_rekey_pfs),
		cmocka_unit_test(test_simultaneous_child_rekey),
		cmocka_unit_test(test_ike_rekey),
		cmocka_unit_test(test_simultaneous_ike_rekey),
		cmocka_unit_test(test_fragmentation),
		cmocka_unit_test(test_cookie),
		cmocka_unit_test(test_rules_by_protocol),
		cmocka_unit_test(test_tunnel_two_subnets),
		cmocka_unit_test(test_default_response_filter),
		cmocka_unit_test(test_policy_change),
		cmocka_unit_test(test_suites),
		cmocka_unit_test(test_legacy_switch),
		cmocka_unit_test(test_simultaneous_initiation),
		cmocka_unit_test(test_dpd),
		cmocka_unit_test(test_cert_ecdsa),
		cmocka_unit_test(test_cert_rsa),
		cmocka_unit_test(test_cert_untrusted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
