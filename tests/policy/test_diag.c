/*
 * diag: how the policy model reports errors and warnings
 * (netsh-ipsec.md §7; src/policy/diag.c).
 */
#include "policy_test.h"

static void test_diag_init(void **state)
{
	(void)state;
	struct diag d;
	memset(&d, 0x7f, sizeof(d));
	diag_init(&d);
	assert_int_equal(d.code, ERR_NONE);
	assert_string_equal(d.msg, "");
	assert_int_equal(d.nwarn, 0);
	assert_false(diag_failed(&d));
}

static void test_diag_error_first_wins(void **state)
{
	(void)state;
	struct diag d;
	diag_init(&d);
	assert_false(diag_error(&d, ERR_PORT_PROTOCOL, "first %d", 1));
	assert_true(diag_failed(&d));
	assert_int_equal(d.code, ERR_PORT_PROTOCOL);
	assert_string_equal(d.msg, "first 1");
	assert_false(diag_error(&d, ERR_STORE, "second"));
	assert_false(diag_bad_value(&d, "tag", "value", "anything"));
	assert_int_equal(d.code, ERR_PORT_PROTOCOL);
	assert_string_equal(d.msg, "first 1");
}

static void test_diag_bad_value_text(void **state)
{
	(void)state;
	struct diag d;
	diag_init(&d);
	assert_false(diag_bad_value(&d, "protocol", "XYZ", "TCP or UDP"));
	assert_int_equal(d.code, ERR_BAD_VALUE);
	assert_int_equal(ERR_BAD_VALUE, 5003);
	assert_string_equal(d.msg, "'XYZ' is not a valid value for 'protocol'. Allowed: TCP or UDP.");
}

static void test_diag_bad_value_truncates_value(void **state)
{
	(void)state;
	char value[1000];
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	struct diag d;
	diag_init(&d);
	diag_bad_value(&d, "name", value, "short");
	/* The value is cut to 200 characters so that the tag and the allowed
	 * values always fit. */
	char expect[300];
	snprintf(expect, sizeof(expect), "'%.200s' is not a valid value for 'name'. Allowed: short.",
	         value);
	assert_string_equal(d.msg, expect);
}

static void test_diag_error_truncates(void **state)
{
	(void)state;
	char big[2000];
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	struct diag d;
	diag_init(&d);
	diag_error(&d, ERR_STORE, "%s", big);
	assert_int_equal(strlen(d.msg), DIAG_MSG_MAX - 1);
}

static void test_diag_warnings(void **state)
{
	(void)state;
	struct diag d;
	diag_init(&d);
	diag_warn(&d, "%s is provided for backward compatibility only.", "DES");
	diag_warn(&d, "%s is provided for backward compatibility only.", "MD5");
	diag_warn(&d, "%s is provided for backward compatibility only.", "DES");
	assert_int_equal(d.nwarn, 2);
	assert_string_equal(d.warn[0], "DES is provided for backward compatibility only.");
	assert_string_equal(d.warn[1], "MD5 is provided for backward compatibility only.");
	/* Warnings are not errors. */
	assert_false(diag_failed(&d));
	/* ... and an error does not drop them. */
	diag_error(&d, ERR_BAD_VALUE, "x");
	assert_int_equal(d.nwarn, 2);
	diag_warn(&d, "after the error");
	assert_int_equal(d.nwarn, 3);
}

static void test_diag_warnings_bounded(void **state)
{
	(void)state;
	struct diag d;
	diag_init(&d);
	for (int i = 0; i < DIAG_WARN_MAX + 5; i++)
		diag_warn(&d, "warning %d", i);
	assert_int_equal(d.nwarn, DIAG_WARN_MAX);
	assert_string_equal(d.warn[DIAG_WARN_MAX - 1], "warning 7");

	char big[500];
	memset(big, 'w', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	diag_init(&d);
	diag_warn(&d, "%s", big);
	assert_int_equal(d.nwarn, 1);
	assert_int_equal(strlen(d.warn[0]), sizeof(d.warn[0]) - 1);
}

static void test_diag_codes(void **state)
{
	(void)state;
	/* The catalogue of netsh-ipsec.md §7. */
	assert_int_equal(ERR_BAD_TAG, 5001);
	assert_int_equal(ERR_MISSING_TAG, 5002);
	assert_int_equal(ERR_BAD_VALUE, 5003);
	assert_int_equal(ERR_NO_POLICY, 5010);
	assert_int_equal(ERR_NO_FILTERLIST, 5011);
	assert_int_equal(ERR_NO_FILTERACTION, 5012);
	assert_int_equal(ERR_NO_RULE, 5013);
	assert_int_equal(ERR_NO_FILTER, 5014);
	assert_int_equal(ERR_DUPLICATE_NAME, 5020);
	assert_int_equal(ERR_DUPLICATE_FILTER, 5021);
	assert_int_equal(ERR_IN_USE, 5022);
	assert_int_equal(ERR_DEFAULT_RULE, 5023);
	assert_int_equal(ERR_PORT_PROTOCOL, 5030);
	assert_int_equal(ERR_SERVER_PAIRING, 5031);
	assert_int_equal(ERR_DNS, 5032);
	assert_int_equal(ERR_BAD_SECMETHOD, 5033);
	assert_int_equal(ERR_TUNNEL_MIRRORED, 5034);
	assert_int_equal(ERR_STORE, 5040);
	assert_int_equal(ERR_SERVICE, 5041);
	assert_int_equal(ERR_WEAK, 5050);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diag_init),
		cmocka_unit_test(test_diag_error_first_wins),
		cmocka_unit_test(test_diag_bad_value_text),
		cmocka_unit_test(test_diag_bad_value_truncates_value),
		cmocka_unit_test(test_diag_error_truncates),
		cmocka_unit_test(test_diag_warnings),
		cmocka_unit_test(test_diag_warnings_bounded),
		cmocka_unit_test(test_diag_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
