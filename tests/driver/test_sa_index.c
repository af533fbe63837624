/*
 * The index of outbound Child SAs (src/driver/sa_index.c): a packet finds
 * the SA that a walk over every SA, newest first, would have found -- the
 * (rule, host) buckets and the wide list together keep that order -- with a
 * thousand SAs as with one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/internal.h"

#define NOW 1000

static const uint8_t KEY[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19 };

struct fixture {
	struct sad *sad;
	struct sa_index ix;
	uint32_t next_spi;
};

static struct fixture *fx_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->sad = sad_new(1024);
	assert_non_null(f->sad);
	sa_index_init(&f->ix);
	f->next_spi = 0x1000;
	return f;
}

static void fx_free(struct fixture *f, struct child_sa **all, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(all[i]);
	sad_free(f->sad);
	free(f);
}

static struct sa_address addr(const char *text)
{
	struct sa_address a = { 0 };
	a.family = strchr(text, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(a.family, text, a.bytes), 1);
	return a;
}

/* An outbound child SA of rule_id from 192.0.2.1 to dst/len (a manual SA:
 * prefixes only, unless sel_host: one host selector as IKE would give). */
static struct child_sa *child(struct fixture *f, uint32_t rule_id, const char *dst,
                              uint8_t len, bool sel_host, bool standby)
{
	struct child_sa *cs = calloc(1, sizeof(*cs));
	assert_non_null(cs);
	struct sa_config c = { .spi = f->next_spi++, .proto = SA_PROTO_ESP,
	                       .mode = SA_TRANSPORT, .enc = ENC_AES128_GCM, .enc_key = KEY,
	                       .enc_key_len = sizeof(KEY), .now = NOW };
	c.src = addr("192.0.2.1");
	c.dst = addr(dst);
	const char *why = NULL;
	cs->sa = sad_add(f->sad, &c, &why);
	assert_non_null(cs->sa);
	cs->sa->owner = cs;
	cs->rule_id = rule_id;
	cs->src = c.src;
	cs->src_len = 32;
	cs->dst = c.dst;
	cs->dst_len = len;
	if (sel_host) {
		struct spd_selector *s = &cs->traffic.src[0], *d = &cs->traffic.dst[0];
		cs->traffic.nsrc = cs->traffic.ndst = 1;
		s->family = d->family = AF_INET;
		s->port_hi = d->port_hi = 65535;
		memcpy(s->lo, cs->src.bytes, 4);
		memcpy(s->hi, cs->src.bytes, 4);
		memcpy(d->lo, cs->dst.bytes, 4);
		memcpy(d->hi, cs->dst.bytes, 4);
	}
	sa_index_add(&f->ix, cs, standby);
	return cs;
}

static struct spd_packet to(const char *dst)
{
	struct spd_packet p = { .family = AF_INET, .protocol = 6, .src_port = 1024,
	                        .dst_port = 80 };
	struct sa_address s = addr("192.0.2.1"), d = addr(dst);
	memcpy(p.src, s.bytes, 4);
	memcpy(p.dst, d.bytes, 4);
	return p;
}

static void test_host_and_wide(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	struct child_sa *all[8];
	size_t n = 0;
	all[n++] = child(f, 7, "198.51.100.2", 32, true, false);   /* a host (IKE selectors) */
	all[n++] = child(f, 7, "198.51.100.3", 32, false, false);  /* a host (prefix) */
	all[n++] = child(f, 8, "203.0.113.0", 24, false, false);   /* a subnet: wide */
	all[n++] = child(f, 0, "192.0.2.128", 25, false, false);   /* manual, any rule: wide */
	assert_true(all[0]->indexed_host && all[1]->indexed_host);
	assert_false(all[2]->indexed_host || all[3]->indexed_host);
	struct spd_packet p = to("198.51.100.2");
	assert_ptr_equal(sa_index_find(&f->ix, &p, 7, NOW), all[0]);
	assert_null(sa_index_find(&f->ix, &p, 8, NOW));            /* another rule's */
	p = to("198.51.100.3");
	assert_ptr_equal(sa_index_find(&f->ix, &p, 7, NOW), all[1]);
	p = to("203.0.113.77");
	assert_ptr_equal(sa_index_find(&f->ix, &p, 8, NOW), all[2]);
	assert_null(sa_index_find(&f->ix, &p, 7, NOW));
	p = to("192.0.2.200");
	assert_ptr_equal(sa_index_find(&f->ix, &p, 1234, NOW), all[3]);   /* any rule */
	p = to("198.51.100.9");
	assert_null(sa_index_find(&f->ix, &p, 7, NOW));
	/* Gone from the index when removed; the others stay. */
	sa_index_remove(&f->ix, all[0]);
	sa_index_remove(&f->ix, all[3]);
	p = to("198.51.100.2");
	assert_null(sa_index_find(&f->ix, &p, 7, NOW));
	p = to("192.0.2.200");
	assert_null(sa_index_find(&f->ix, &p, 1234, NOW));
	p = to("203.0.113.77");
	assert_ptr_equal(sa_index_find(&f->ix, &p, 8, NOW), all[2]);
	fx_free(f, all, n);
}

/* Make-before-break: a rekeyed SA carries at once, a standby one only after
 * the SAs before it are gone -- in a bucket and in the wide list alike. */
static void test_order(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	struct child_sa *all[8];
	size_t n = 0;
	for (int wide = 0; wide < 2; wide++) {
		const char *dst = wide ? "203.0.113.0" : "198.51.100.2";
		uint8_t len = wide ? 24 : 32;
		struct child_sa *old = all[n++] = child(f, 7, dst, len, false, false);
		struct child_sa *standby = all[n++] = child(f, 7, dst, len, false, true);
		struct spd_packet p = to(wide ? "203.0.113.5" : dst);
		assert_ptr_equal(sa_index_find(&f->ix, &p, 7, NOW), old);
		struct child_sa *rekeyed = all[n++] = child(f, 7, dst, len, false, false);
		assert_ptr_equal(sa_index_find(&f->ix, &p, 7, NOW), rekeyed);
		sa_index_remove(&f->ix, rekeyed);
		assert_ptr_equal(sa_index_find(&f->ix, &p, 7, NOW), old);
		sa_index_remove(&f->ix, old);
		assert_ptr_equal(sa_index_find(&f->ix, &p, 7, NOW), standby);
		/* A standby SA added to a list of one goes behind it, and the
		 * list's tail follows removals (the next standby lands right). */
		struct child_sa *s2 = all[n++] = child(f, 7, dst, len, false, true);
		assert_ptr_equal(sa_index_find(&f->ix, &p, 7, NOW), standby);
		sa_index_remove(&f->ix, standby);
		assert_ptr_equal(sa_index_find(&f->ix, &p, 7, NOW), s2);
		sa_index_remove(&f->ix, s2);
		assert_null(sa_index_find(&f->ix, &p, 7, NOW));
	}
	fx_free(f, all, n);
}

/* An SA past its hard lifetime is passed over for the next one. */
static void test_unusable_skipped(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	struct child_sa *all[2];
	all[0] = child(f, 7, "198.51.100.2", 32, true, false);
	all[1] = child(f, 7, "198.51.100.2", 32, true, false);
	all[1]->sa->hard_expired = true;
	struct spd_packet p = to("198.51.100.2");
	assert_ptr_equal(sa_index_find(&f->ix, &p, 7, NOW), all[0]);
	fx_free(f, all, 2);
}

/* A server's worth: every host of the three documentation networks with
 * an SA of each of two rules (1524 SAs sharing the buckets); each packet
 * finds its own host's SA of its own rule, and no other. */
static void host_name(int i, char *buf, size_t len)
{
	static const char *const nets[] = { "192.0.2", "198.51.100", "203.0.113" };
	snprintf(buf, len, "%s.%d", nets[i / 254], i % 254 + 1);
}

static void test_many(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	enum { HOSTS = 3 * 254 };
	struct child_sa **all = calloc(2 * HOSTS, sizeof(*all));
	assert_non_null(all);
	char a[32];
	for (int r = 0; r < 2; r++)
		for (int i = 0; i < HOSTS; i++) {
			host_name(i, a, sizeof(a));
			all[r * HOSTS + i] = child(f, 100 + (uint32_t)r, a, 32, r == 0, false);
		}
	for (int r = 0; r < 2; r++)
		for (int i = 0; i < HOSTS; i++) {
			host_name(i, a, sizeof(a));
			struct spd_packet p = to(a);
			assert_ptr_equal(sa_index_find(&f->ix, &p, 100 + (uint32_t)r, NOW),
			                 all[r * HOSTS + i]);
			assert_null(sa_index_find(&f->ix, &p, 102, NOW));
		}
	fx_free(f, all, 2 * HOSTS);
	free(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_and_wide),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_unusable_skipped),
		cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
