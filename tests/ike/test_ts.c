/*
 * Traffic selectors (src/ike/ts.c): from prefixes, intersections, and the
 * responder's narrowing with the reason when nothing is allowed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "ike/ts.h"

static struct ike_ts_sel sel(const char *addr, uint8_t len, uint8_t proto, uint16_t port)
{
	uint8_t a[16];
	int fam = strchr(addr, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(fam, addr, a), 1);
	struct ike_ts_sel s;
	assert_true(ike_ts_from_prefix(&s, (uint8_t)fam, a, len, proto, port));
	return s;
}

static void text(const struct ike_ts_sel *s, const uint8_t *b, char *out)
{
	inet_ntop(s->type == IKE_TS_IPV4_ADDR_RANGE ? AF_INET : AF_INET6, b, out, 64);
}

static void test_from_prefix(void **state)
{
	(void)state;
	char a[64], b[64];
	struct ike_ts_sel s = sel("10.1.2.77", 24, 6, 443);
	assert_int_equal(s.type, IKE_TS_IPV4_ADDR_RANGE);
	text(&s, s.start, a);
	text(&s, s.end, b);
	assert_string_equal(a, "10.1.2.0");
	assert_string_equal(b, "10.1.2.255");
	assert_int_equal(s.start_port, 443);
	assert_int_equal(s.end_port, 443);
	s = sel("2001:db8::1", 64, 0, 0);
	text(&s, s.start, a);
	text(&s, s.end, b);
	assert_string_equal(a, "2001:db8::");
	assert_string_equal(b, "2001:db8::ffff:ffff:ffff:ffff");
	assert_int_equal(s.end_port, 0xffff);
	s = sel("192.0.2.9", 0, 0, 0);
	text(&s, s.end, b);
	assert_string_equal(b, "255.255.255.255");
	uint8_t x[4] = { 0 };
	assert_false(ike_ts_from_prefix(&s, AF_INET, x, 33, 0, 0));
}

static void test_intersect(void **state)
{
	(void)state;
	struct ike_ts_sel any = sel("0.0.0.0", 0, 0, 0), host = sel("192.0.2.1", 32, 6, 443), o;
	assert_true(ike_ts_intersect(&any, &host, &o));
	assert_memory_equal(&o.start, &host.start, 4);
	assert_memory_equal(&o.end, &host.end, 4);
	assert_int_equal(o.protocol, 6);
	assert_int_equal(o.start_port, 443);
	struct ike_ts_sel udp = sel("192.0.2.0", 24, 17, 0);
	assert_false(ike_ts_intersect(&udp, &host, &o));              /* protocols differ */
	struct ike_ts_sel other = sel("198.51.100.0", 24, 0, 0);
	assert_false(ike_ts_intersect(&other, &host, &o));            /* disjoint */
	struct ike_ts_sel v6 = sel("::", 0, 0, 0);
	assert_false(ike_ts_intersect(&v6, &any, &o));                /* families differ */
	struct ike_ts_sel lo = sel("192.0.2.0", 24, 6, 0), hi = lo;
	lo.end_port = 1000;
	hi.start_port = 900;
	assert_true(ike_ts_intersect(&lo, &hi, &o));
	assert_int_equal(o.start_port, 900);
	assert_int_equal(o.end_port, 1000);
	uint8_t in[4] = { 192, 0, 2, 200 }, out[4] = { 192, 0, 3, 1 };
	assert_true(ike_ts_contains(&o, in, 6, 950));
	assert_false(ike_ts_contains(&o, in, 6, 1001));
	assert_false(ike_ts_contains(&o, in, 17, 950));
	assert_false(ike_ts_contains(&o, out, 6, 950));
}

static void test_narrow(void **state)
{
	(void)state;
	/* Policy: this host (192.0.2.2) serves TCP 443 to 192.0.2.0/24. */
	struct ike_ts_pair allowed[] = {
		{ sel("192.0.2.0", 24, 6, 0), sel("192.0.2.2", 32, 6, 443) },
	};
	struct ike_ts tsi = { 2, { sel("192.0.2.1", 32, 6, 0), sel("0.0.0.0", 0, 0, 0) } };
	struct ike_ts tsr = { 1, { sel("0.0.0.0", 0, 0, 0) } };
	struct ike_ts oi, or_;
	char why[256];
	assert_true(ike_ts_narrow(&tsi, &tsr, allowed, 1, &oi, &or_, why, sizeof(why)));
	assert_int_equal(oi.count, 1);
	assert_int_equal(oi.sel[0].protocol, 6);
	assert_int_equal(oi.sel[0].start[3], 1);                      /* the trigger host */
	assert_int_equal(oi.sel[0].end[3], 1);
	assert_int_equal(or_.sel[0].start_port, 443);
	assert_int_equal(or_.sel[0].end[3], 2);
	struct ike_ts far = { 1, { sel("203.0.113.5", 32, 0, 0) } };
	assert_false(ike_ts_narrow(&far, &tsr, allowed, 1, &oi, &or_, why, sizeof(why)));
	assert_string_equal(why, "TS unacceptable: no filter allows TSi 203.0.113.5-203.0.113.5 "
	                         "proto 0 ports 0-65535 with TSr 0.0.0.0-255.255.255.255 proto 0 "
	                         "ports 0-65535");
}

/* The initiator's check of a responder's answer (RFC 7296 §2.9): narrowed
 * is fine, widened is not (fuzz/crashes/fuzz_ike_initiator-ts-widened-*:
 * 0.0.0.0/0 both ways answered to a transport-mode host pair was
 * installed as is). */
static void test_subset(void **state)
{
	(void)state;
	struct ike_ts offered = { 2, { sel("198.51.100.0", 24, 0, 0), sel("192.0.2.1", 32, 6, 0) } };
	struct ike_ts same = { 1, { sel("198.51.100.0", 24, 0, 0) } };
	assert_true(ike_ts_subset(&same, &offered));
	struct ike_ts narrowed = { 2, { sel("198.51.100.64", 26, 17, 53), sel("192.0.2.1", 32, 6, 443) } };
	assert_true(ike_ts_subset(&narrowed, &offered));
	struct ike_ts wide = { 1, { sel("0.0.0.0", 0, 0, 0) } };
	assert_false(ike_ts_subset(&wide, &offered));                 /* widened */
	struct ike_ts one_out = { 2, { sel("198.51.100.1", 32, 0, 0), sel("203.0.113.1", 32, 0, 0) } };
	assert_false(ike_ts_subset(&one_out, &offered));              /* every one must be inside */
	struct ike_ts any_proto = { 1, { sel("192.0.2.1", 32, 0, 0) } };
	assert_false(ike_ts_subset(&any_proto, &offered));            /* TCP only was offered */
	struct ike_ts ports = { 1, { sel("192.0.2.1", 32, 6, 443) } };
	ports.sel[0].end_port = 0xffff;
	assert_true(ike_ts_subset(&ports, &offered));
	struct ike_ts v6 = { 1, { sel("::", 128, 0, 0) } };
	assert_false(ike_ts_subset(&v6, &offered));                   /* another family */
	struct ike_ts none = { 0 };
	assert_false(ike_ts_subset(&none, &offered));
	/* Upside down, both ends inside what was offered (the fuzzer's find). */
	struct ike_ts inverted = { 1, { sel("198.51.100.200", 32, 0, 0) } };
	inverted.sel[0].end[3] = 100;
	assert_false(ike_ts_subset(&inverted, &offered));
	struct ike_ts ports_down = { 1, { sel("192.0.2.1", 32, 6, 443) } };
	ports_down.sel[0].start_port = 444;
	assert_false(ike_ts_subset(&ports_down, &offered));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_prefix),
		cmocka_unit_test(test_intersect),
		cmocka_unit_test(test_narrow),
		cmocka_unit_test(test_subset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
