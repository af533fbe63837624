/*
 * Project decisions taken after review of the first test round: each one is
 * a behaviour the spec leaves open, pinned here so it does not drift.
 */
#include "policy_test.h"

#include <sys/socket.h>

/* "::" is the IPv6 address ::/128, not the family-less `any` (only IPv4
 * 0.0.0.0 means any, netsh-ipsec.md §2.1). */
static void test_ipv6_unspecified_is_not_any(void **state)
{
	(void)state;
	struct filter_addr a;
	struct diag d;
	diag_init(&d);
	assert_int_equal(policy_parse_address("srcaddr", "::", &a, &d), ADDR_PARSE_OK);
	assert_int_equal(a.kind, ADDR_HOST_OR_SUBNET);
	assert_int_equal(a.ip.family, AF_INET6);
	assert_int_equal(a.prefix, 128);
	assert_int_equal(policy_parse_address("srcaddr", "0.0.0.0", &a, &d), ADDR_PARSE_OK);
	assert_int_equal(a.kind, ADDR_ANY);
}

/* A rootca option given twice: the last one wins, as for repeated tags. */
static void test_rootca_last_flag_wins(void **state)
{
	(void)state;
	struct auth_methods am = { .n = 0 };
	struct diag d;
	diag_init(&d);
	assert_true(policy_auth_add(&am, AUTH_CERT,
	        "CN=X certmap:yes excludecaname:yes certmap:no excludecaname:no", &d));
	assert_string_equal(am.m[0].value, "CN=X");
	assert_false(am.m[0].certmap);
	assert_false(am.m[0].excludecaname);
}

/* A rejected offer leaves no warning about itself behind. */
static void test_rejected_offer_has_no_warning(void **state)
{
	(void)state;
	struct qm_methods q;
	struct diag d;
	diag_init(&d);
	assert_false(policy_parse_qmsec("qmsecmethods", "ESP[3DES,None]:1k", &q, &d));
	assert_int_equal(d.code, ERR_BAD_SECMETHOD);
	assert_int_equal(d.nwarn, 0);
	diag_init(&d);
	assert_true(policy_parse_qmsec("qmsecmethods", "ESP[3DES,None]", &q, &d));
	assert_int_equal(d.nwarn, 1);
	assert_contains(d.warn[0], "without integrity");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv6_unspecified_is_not_any),
		cmocka_unit_test(test_rootca_last_flag_wins),
		cmocka_unit_test(test_rejected_offer_has_no_warning),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
