/*
 * The driver diagnostics (src/monitor/diagnostics.c): every reason belongs
 * to the class Windows' ipsecdiagnostics bits name, deltas survive a reset
 * source, the summary text lists exactly the non-zero reasons of its class
 * and fits any buffer; and the driver_summary event's key=value line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "monitor/diagnostics.h"
#include "monitor/events.h"

static void test_classes(void **state)
{
	(void)state;
	/* 1: processing failures */
	static const enum drvdiag_reason processing[] = {
		DRVDIAG_BAD_SPI, DRVDIAG_AUTH, DRVDIAG_REPLAY, DRVDIAG_OUT_OF_WINDOW,
		DRVDIAG_DECRYPT, DRVDIAG_PADDING, DRVDIAG_TRUNCATED, DRVDIAG_BAD_LENGTH,
		DRVDIAG_SELECTOR, DRVDIAG_LIFETIME, DRVDIAG_SEQ_EXHAUSTED, DRVDIAG_NO_ROOM,
		DRVDIAG_MALFORMED,
	};
	for (size_t i = 0; i < sizeof(processing) / sizeof(processing[0]); i++)
		assert_int_equal(drvdiag_reason_class(processing[i]), DRVDIAG_PROCESSING);
	assert_int_equal(drvdiag_reason_class(DRVDIAG_IN_BLOCKED), DRVDIAG_INBOUND_POLICY);
	assert_int_equal(drvdiag_reason_class(DRVDIAG_IN_CLEARTEXT), DRVDIAG_INBOUND_POLICY);
	assert_int_equal(drvdiag_reason_class(DRVDIAG_OUT_BLOCKED), DRVDIAG_OUTBOUND_POLICY);
	assert_int_equal(drvdiag_reason_class(DRVDIAG_OUT_QUEUE_OVERFLOW), DRVDIAG_OUTBOUND_POLICY);
	assert_int_equal(drvdiag_reason_class(DRVDIAG_OUT_QUEUE_TIMEOUT), DRVDIAG_OUTBOUND_POLICY);
	/* Every reason has a class and a name; nothing past the end. */
	for (int r = 0; r < DRVDIAG_REASON_COUNT; r++) {
		unsigned c = drvdiag_reason_class((enum drvdiag_reason)r);
		assert_true(c == 1 || c == 2 || c == 4);
		assert_string_not_equal(drvdiag_reason_name((enum drvdiag_reason)r), "?");
	}
	assert_int_equal(drvdiag_reason_class(DRVDIAG_REASON_COUNT), 0);
	assert_string_equal(drvdiag_reason_name(DRVDIAG_REASON_COUNT), "?");
	assert_string_equal(drvdiag_class_name(DRVDIAG_PROCESSING), "processing");
	assert_string_equal(drvdiag_class_name(DRVDIAG_INBOUND_POLICY), "inbound-policy");
	assert_string_equal(drvdiag_class_name(DRVDIAG_OUTBOUND_POLICY), "outbound-policy");
	assert_string_equal(drvdiag_class_name((enum drvdiag_class)3), "?");
	assert_int_equal(DRVDIAG_ALL, DRVDIAG_PROCESSING | DRVDIAG_INBOUND_POLICY |
	                              DRVDIAG_OUTBOUND_POLICY);
}

static void test_delta(void **state)
{
	(void)state;
	struct drvdiag_counts last = { { 0 } }, now = { { 0 } }, d;
	last.n[DRVDIAG_BAD_SPI] = 10;
	now.n[DRVDIAG_BAD_SPI] = 13;
	last.n[DRVDIAG_IN_BLOCKED] = 50;   /* its source restarted: counts from 0 */
	now.n[DRVDIAG_IN_BLOCKED] = 4;
	now.n[DRVDIAG_OUT_QUEUE_TIMEOUT] = UINT64_MAX;
	drvdiag_delta(&now, &last, &d);
	assert_int_equal(d.n[DRVDIAG_BAD_SPI], 3);
	assert_int_equal(d.n[DRVDIAG_IN_BLOCKED], 4);
	assert_true(d.n[DRVDIAG_OUT_QUEUE_TIMEOUT] == UINT64_MAX);
	assert_int_equal(d.n[DRVDIAG_AUTH], 0);
	assert_int_equal(drvdiag_class_total(&d, DRVDIAG_PROCESSING), 3);
	assert_int_equal(drvdiag_class_total(&d, DRVDIAG_INBOUND_POLICY), 4);
}

static void test_summary_text(void **state)
{
	(void)state;
	struct drvdiag_counts d = { { 0 } };
	d.n[DRVDIAG_BAD_SPI] = 3;
	d.n[DRVDIAG_AUTH] = 2;
	d.n[DRVDIAG_MALFORMED] = 1;
	d.n[DRVDIAG_IN_BLOCKED] = 5;
	d.n[DRVDIAG_OUT_QUEUE_OVERFLOW] = 7;
	char buf[EVENT_REASON_MAX];
	assert_int_equal(drvdiag_summary(&d, DRVDIAG_PROCESSING, 60, buf, sizeof(buf)), 6);
	assert_string_equal(buf, "IPsec processing failures: 6 in 60 s (bad-spi 3, auth-failed 2, "
	                         "malformed 1)");
	assert_int_equal(drvdiag_summary(&d, DRVDIAG_INBOUND_POLICY, 3600, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "inbound packets dropped by policy: 5 in 3600 s (blocked 5)");
	assert_int_equal(drvdiag_summary(&d, DRVDIAG_OUTBOUND_POLICY, 2, buf, sizeof(buf)), 7);
	assert_string_equal(buf, "outbound packets dropped by policy: 7 in 2 s (queue-overflow 7)");
	/* Every reason at its largest: still one NUL-terminated line within cap. */
	for (int r = 0; r < DRVDIAG_REASON_COUNT; r++)
		d.n[r] = UINT64_MAX / DRVDIAG_REASON_COUNT;
	assert_true(drvdiag_summary(&d, DRVDIAG_PROCESSING, 86400, buf, sizeof(buf)) > 0);
	assert_true(strlen(buf) < sizeof(buf));
	assert_null(strchr(buf, '\n'));
	/* Small buffers are cut, never overrun. */
	for (size_t cap = 1; cap < 40; cap++) {
		char small[48];
		memset(small, 'X', sizeof(small));
		drvdiag_summary(&d, DRVDIAG_PROCESSING, 60, small, cap);
		assert_true(strlen(small) < cap);
		assert_int_equal(small[cap], 'X');
	}
	assert_int_equal(drvdiag_summary(&d, DRVDIAG_INBOUND_POLICY, 60, NULL, 0),
	                 2 * (UINT64_MAX / DRVDIAG_REASON_COUNT));
}

static void test_event_line(void **state)
{
	(void)state;
	struct sec_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = EVENT_DRIVER_SUMMARY;
	ev.seq = 9;
	ev.diag_class = DRVDIAG_INBOUND_POLICY;
	ev.packets = 5;
	ev.interval_s = 60;
	snprintf(ev.reason, sizeof(ev.reason), "inbound packets dropped by policy: 5 in 60 s "
	         "(blocked 5)");
	char line[EVENT_LINE_MAX];
	event_format_line(&ev, line, sizeof(line));
	assert_string_equal(line, "event=driver_summary seq=9 peer=- local=- rule=\"\" "
	                          "class=inbound-policy packets=5 interval_s=60 "
	                          "reason=\"inbound packets dropped by policy: 5 in 60 s "
	                          "(blocked 5)\"");
	assert_string_equal(event_kind_name(EVENT_DRIVER_SUMMARY), "driver_summary");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_delta),
		cmocka_unit_test(test_summary_text),
		cmocka_unit_test(test_event_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
