/*
 * The event log (src/monitor/events.c): the ring keeps the newest events
 * in order through wrap-around and answers nothing past its end; the
 * key=value line quotes what needs quoting and never spans two lines; the
 * syslog sink delivers RFC 3164 datagrams to a socket of the test's own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "monitor/events.h"

static struct sec_event ev_of(enum event_kind k, uint32_t spi)
{
	struct sec_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = k;
	ev.spi_in = spi;
	return ev;
}

static void test_ring_wraps(void **state)
{
	(void)state;
	struct event_log l;
	assert_true(event_log_init(&l, 4));
	assert_int_equal(event_log_held(&l), 0);
	assert_null(event_log_at(&l, 0));
	for (uint32_t i = 1; i <= 3; i++) {
		struct sec_event ev = ev_of(EVENT_CHILD_SA_UP, i);
		const struct sec_event *kept = event_log_add(&l, &ev);
		assert_int_equal(kept->seq, i);
	}
	assert_int_equal(event_log_held(&l), 3);
	assert_int_equal(event_log_at(&l, 0)->spi_in, 1);
	assert_int_equal(event_log_at(&l, 2)->spi_in, 3);
	assert_null(event_log_at(&l, 3));
	/* 10 in all: the last 4 are kept, oldest first, numbered from 7 */
	for (uint32_t i = 4; i <= 10; i++) {
		struct sec_event ev = ev_of(EVENT_FAILURE, i);
		event_log_add(&l, &ev);
	}
	assert_int_equal(l.total, 10);
	assert_int_equal(event_log_held(&l), 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(event_log_at(&l, i)->spi_in, 7 + i);
		assert_int_equal(event_log_at(&l, i)->seq, 7 + i);
	}
	assert_null(event_log_at(&l, 4));
	assert_null(event_log_at(&l, SIZE_MAX));
	event_log_free(&l);
}

static void test_ring_full_size(void **state)
{
	(void)state;
	struct event_log l;
	assert_true(event_log_init(&l, EVENT_LOG_CAPACITY));
	for (uint32_t i = 1; i <= EVENT_LOG_CAPACITY + 5; i++) {
		struct sec_event ev = ev_of(EVENT_IKE_SA_UP, i);
		event_log_add(&l, &ev);
	}
	assert_int_equal(event_log_held(&l), EVENT_LOG_CAPACITY);
	assert_int_equal(event_log_at(&l, 0)->spi_in, 6);
	assert_int_equal(event_log_at(&l, EVENT_LOG_CAPACITY - 1)->spi_in, EVENT_LOG_CAPACITY + 5);
	event_log_free(&l);
}

static void test_set_text_cuts(void **state)
{
	(void)state;
	char small[8];
	event_set_text(small, sizeof(small), "a rule name that is long");
	assert_string_equal(small, "a rule ");
	event_set_text(small, sizeof(small), NULL);
	assert_string_equal(small, "");
}

static void test_line(void **state)
{
	(void)state;
	struct sec_event ev = ev_of(EVENT_CHILD_REKEY, 0xc0ffee01);
	ev.seq = 42;
	snprintf(ev.peer, sizeof(ev.peer), "192.0.2.2");
	snprintf(ev.local, sizeof(ev.local), "192.0.2.1");
	snprintf(ev.rule, sizeof(ev.rule), "ESP \"all\"\nevent=forged");
	ev.initiator = true;
	ev.ike_spi_i = 0x1122334455667788ull;
	ev.ike_spi_r = 1;
	ev.child = true;
	ev.spi_out = 0x0badf00d;
	ev.old_spi_in = 0x100;
	ev.old_spi_out = 0x200;
	snprintf(ev.algs, sizeof(ev.algs), "aes-128-gcm");
	char line[EVENT_LINE_MAX];
	event_format_line(&ev, line, sizeof(line));
	assert_string_equal(line,
	                    "event=child_rekey seq=42 peer=192.0.2.2 local=192.0.2.1 "
	                    "rule=\"ESP \\\"all\\\"?event=forged\" role=initiator "
	                    "ike_spi_i=1122334455667788 ike_spi_r=0000000000000001 proto=ESP "
	                    "mode=transport spi_in=c0ffee01 spi_out=0badf00d old_spi_in=00000100 "
	                    "old_spi_out=00000200 algs=aes-128-gcm");
	assert_null(strchr(line, '\n'));

	struct sec_event f = ev_of(EVENT_FAILURE, 0);
	f.seq = 1;
	snprintf(f.peer, sizeof(f.peer), "2001:db8::2");
	snprintf(f.reason, sizeof(f.reason), "IKE_AUTH: AUTHENTICATION_FAILED");
	event_format_line(&f, line, sizeof(line));
	assert_string_equal(line, "event=failure seq=1 peer=2001:db8::2 local=- rule=\"\" "
	                          "reason=\"IKE_AUTH: AUTHENTICATION_FAILED\"");
	/* a buffer too small is cut, still terminated */
	char tiny[20];
	event_format_line(&f, tiny, sizeof(tiny));
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
	assert_memory_equal(tiny, "event=failure seq=1", 19);
}

static void test_kind_names(void **state)
{
	(void)state;
	static const char *const want[] = { "ike_sa_up", "ike_sa_down", "child_sa_up",
	                                     "child_sa_down", "ike_rekey", "child_rekey",
	                                     "failure", "driver_summary" };
	for (int k = 0; k < EVENT_KIND_COUNT; k++)
		assert_string_equal(event_kind_name((enum event_kind)k), want[k]);
	assert_string_equal(event_kind_name(EVENT_KIND_COUNT), "unknown");
}

static void test_syslog_sink(void **state)
{
	(void)state;
	const char *dir = getenv("SECPOL_TEST_TMP");
	char path[108];
	snprintf(path, sizeof(path), "%s/events-syslog.%d", dir ? dir : "/tmp", (int)getpid());
	unlink(path);
	struct syslog_sink s;
	syslog_sink_init(&s, path, "secpold", LOG_DAEMON);
	/* nobody listening yet: lost, counted, no crash */
	assert_false(syslog_sink_send(&s, LOG_NOTICE, "event=ike_sa_up"));
	assert_int_equal(s.lost, 1);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_true(syslog_sink_send(&s, LOG_WARNING, "event=failure seq=1"));
	char buf[2048];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	/* <PRI> = LOG_DAEMON (3 << 3) | LOG_WARNING (4) = 28 */
	assert_memory_equal(buf, "<28>", 4);
	char tail[64];
	snprintf(tail, sizeof(tail), " secpold[%d]: event=failure seq=1", (int)getpid());
	assert_non_null(strstr(buf, tail));
	assert_string_equal(buf + strlen(buf) - strlen(tail), tail);
	/* the listener restarts: the sink reconnects by itself */
	close(fd);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_true(syslog_sink_send(&s, LOG_NOTICE, "event=ike_sa_down seq=2"));
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_memory_equal(buf, "<29>", 4);
	assert_non_null(strstr(buf, "event=ike_sa_down seq=2"));
	assert_int_equal(s.sent, 2);
	syslog_sink_close(&s);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_wraps),
		cmocka_unit_test(test_ring_full_size),
		cmocka_unit_test(test_set_text_cuts),
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_syslog_sink),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
