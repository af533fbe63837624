/*
 * diagnostics_fill (src/agent/snapshot.c): the driver diagnostics' counts
 * come from the data path's counters and the nftables drop counters, each
 * reason from its own source -- an outbound Block from both the kernel and
 * the driver's SPD.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent/internal.h"
#include "driver/driver.h"
#include "monitor/diagnostics.h"

static void test_fill(void **state)
{
	(void)state;
	struct driver_stats ds;
	memset(&ds, 0, sizeof(ds));
	for (int i = 0; i < DROP_COUNT; i++)
		ds.drops[i] = 100 + (uint64_t)i;
	ds.malformed = 7;
	ds.blocked = 2;
	ds.queue_overflow = 3;
	ds.queue_timeout = 4;
	ds.steered_packets = 999;   /* not a drop: counted nowhere */
	struct steer_drops nft = { .in_blocked = 5, .in_cleartext = 6, .out_blocked = 8 };
	struct drvdiag_counts c;
	diagnostics_fill(&c, &ds, &nft);
	assert_int_equal(c.n[DRVDIAG_BAD_SPI], 100 + DROP_BAD_SPI);
	assert_int_equal(c.n[DRVDIAG_AUTH], 100 + DROP_AUTH);
	assert_int_equal(c.n[DRVDIAG_REPLAY], 100 + DROP_REPLAY);
	assert_int_equal(c.n[DRVDIAG_OUT_OF_WINDOW], 100 + DROP_OUT_OF_WINDOW);
	assert_int_equal(c.n[DRVDIAG_DECRYPT], 100 + DROP_DECRYPT);
	assert_int_equal(c.n[DRVDIAG_PADDING], 100 + DROP_PADDING);
	assert_int_equal(c.n[DRVDIAG_TRUNCATED], 100 + DROP_TRUNCATED);
	assert_int_equal(c.n[DRVDIAG_BAD_LENGTH], 100 + DROP_BAD_LENGTH);
	assert_int_equal(c.n[DRVDIAG_SELECTOR], 100 + DROP_SELECTOR);
	assert_int_equal(c.n[DRVDIAG_LIFETIME], 100 + DROP_LIFETIME);
	assert_int_equal(c.n[DRVDIAG_SEQ_EXHAUSTED], 100 + DROP_SEQ_EXHAUSTED);
	assert_int_equal(c.n[DRVDIAG_NO_ROOM], 100 + DROP_NO_ROOM);
	assert_int_equal(c.n[DRVDIAG_MALFORMED], 7);
	assert_int_equal(c.n[DRVDIAG_IN_BLOCKED], 5);
	assert_int_equal(c.n[DRVDIAG_IN_CLEARTEXT], 6);
	assert_int_equal(c.n[DRVDIAG_OUT_BLOCKED], 10);   /* 8 in the kernel + 2 in the driver */
	assert_int_equal(c.n[DRVDIAG_OUT_QUEUE_OVERFLOW], 3);
	assert_int_equal(c.n[DRVDIAG_OUT_QUEUE_TIMEOUT], 4);
	/* DROP_NONE is no drop: the processing class is the twelve reasons. */
	uint64_t want = 7;
	for (int i = 1; i < DROP_COUNT; i++)
		want += 100 + (uint64_t)i;
	assert_int_equal(drvdiag_class_total(&c, DRVDIAG_PROCESSING), want);
	/* No table counters: the kernel's part is simply absent. */
	diagnostics_fill(&c, &ds, NULL);
	assert_int_equal(c.n[DRVDIAG_IN_BLOCKED], 0);
	assert_int_equal(c.n[DRVDIAG_OUT_BLOCKED], 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
