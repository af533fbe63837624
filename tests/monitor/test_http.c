/*
 * The metrics endpoint's request parser (src/monitor/http.c): what each
 * request head is answered, heads that arrive in pieces, and the bounds --
 * a head that does not end within the limit, bytes past len, no NUL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/monitor.h"

struct want {
	const char *head;
	int status;
	bool openmetrics;
};

static const struct want cases[] = {
	{ "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9567\r\n\r\n", 200, false },
	{ "GET /metrics HTTP/1.0\r\n\r\n", 200, false },
	{ "GET /metrics?x=1 HTTP/1.1\r\n\r\n", 200, false },
	{ "GET /metrics HTTP/1.1\nUser-Agent: x\n\n", 200, false },       /* bare LF */
	{ "\r\nGET /metrics HTTP/1.1\r\n\r\n", 200, false },   /* an empty line first (RFC 9112 §2.2) */
	{ "\r\n\r\n", 400, false },                            /* empty lines only */
	/* Prometheus' own Accept header. */
	{ "GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text;version=1.0.0,"
	  "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,"
	  "*/*;q=0.1\r\n\r\n", 200, true },
	{ "GET /metrics HTTP/1.1\r\naccept: Application/OpenMetrics-Text\r\n\r\n", 200, true },
	{ "GET /metrics HTTP/1.1\r\nAccept: text/plain\r\n\r\n", 200, false },
	{ "GET /metrics HTTP/1.1\r\nX-Accept: application/openmetrics-text\r\n\r\n", 200, false },
	{ "GET / HTTP/1.1\r\n\r\n", 404, false },
	{ "GET /metricsx HTTP/1.1\r\n\r\n", 404, false },
	{ "GET /metrics/ HTTP/1.1\r\n\r\n", 404, false },
	{ "GET http://127.0.0.1/metrics HTTP/1.1\r\n\r\n", 404, false },
	{ "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405, false },
	{ "HEAD /metrics HTTP/1.1\r\n\r\n", 405, false },
	{ "get /metrics HTTP/1.1\r\n\r\n", 405, false },   /* methods are case-sensitive */
	{ "GET /metrics HTTP/2.0\r\n\r\n", 505, false },
	{ "GET /metrics HTTX/1.1\r\n\r\n", 400, false },
	{ "GET /metrics\r\n\r\n", 400, false },
	{ "GET  /metrics HTTP/1.1\r\n\r\n", 400, false },
	{ "GET /metrics HTTP/1.1 extra\r\n\r\n", 400, false },
	{ "G(T /metrics HTTP/1.1\r\n\r\n", 400, false },
	{ "GET /me\x01trics HTTP/1.1\r\n\r\n", 400, false },
	{ "GET /metrics HTTP/1.1\r\nNo colon here\r\n\r\n", 400, false },
	{ "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", 400, false },   /* space before colon */
	{ "GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n", 400, false },
};

static void test_statuses(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mon_http_request r;
		size_t len = strlen(cases[i].head);
		/* Exactly len bytes on the heap: ASan catches any read past them. */
		char *buf = malloc(len);
		assert_non_null(buf);
		memcpy(buf, cases[i].head, len);
		enum mon_http_parse p = mon_http_parse(buf, len, MON_HTTP_REQUEST_MAX, &r);
		if (p != MON_HTTP_DONE || r.status != cases[i].status ||
		    r.openmetrics != cases[i].openmetrics)
			fail_msg("case %zu: parse %d status %d openmetrics %d", i, p, r.status,
			         r.openmetrics);
		assert_int_equal(r.head_len, len);
		free(buf);
	}
}

/* A head in pieces: incomplete until the empty line, whatever the split. */
static void test_incremental(void **state)
{
	(void)state;
	const char head[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	size_t len = sizeof(head) - 1;
	struct mon_http_request r;
	for (size_t n = 0; n < len; n++)
		assert_int_equal(mon_http_parse(head, n, MON_HTTP_REQUEST_MAX, &r), MON_HTTP_INCOMPLETE);
	assert_int_equal(mon_http_parse(head, len, MON_HTTP_REQUEST_MAX, &r), MON_HTTP_DONE);
	assert_int_equal(r.status, 200);
}

/* Bytes after the head (a body, a pipelined request) are not its part. */
static void test_trailing_bytes(void **state)
{
	(void)state;
	const char buf[] = "GET /metrics HTTP/1.1\r\n\r\nGET /other HTTP/1.1\r\n\r\n";
	struct mon_http_request r;
	assert_int_equal(mon_http_parse(buf, sizeof(buf) - 1, MON_HTTP_REQUEST_MAX, &r),
	                 MON_HTTP_DONE);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.head_len, strlen("GET /metrics HTTP/1.1\r\n\r\n"));
}

/* The limit: a head that has not ended within max bytes is 431, and no
 * byte at or past max is looked at (ASan: the buffer is exactly max). */
static void test_too_large(void **state)
{
	(void)state;
	size_t max = MON_HTTP_REQUEST_MAX;
	char *buf = malloc(max);
	assert_non_null(buf);
	const char start[] = "GET /metrics HTTP/1.1\r\nX-Long: ";
	memcpy(buf, start, sizeof(start) - 1);
	memset(buf + sizeof(start) - 1, 'a', max - (sizeof(start) - 1));
	struct mon_http_request r;
	assert_int_equal(mon_http_parse(buf, max - 1, max, &r), MON_HTTP_INCOMPLETE);
	assert_int_equal(mon_http_parse(buf, max, max, &r), MON_HTTP_DONE);
	assert_int_equal(r.status, 431);
	/* len above max is treated as max. */
	assert_int_equal(mon_http_parse(buf, max, max - 100, &r), MON_HTTP_DONE);
	assert_int_equal(r.status, 431);
	/* A head ending exactly at the limit is still a request. */
	const char tail[] = "\r\n\r\n";
	memcpy(buf + max - 4, tail, 4);
	assert_int_equal(mon_http_parse(buf, max, max, &r), MON_HTTP_DONE);
	assert_int_equal(r.status, 200);
	free(buf);
}

/* NUL bytes are data, not the end of the buffer. */
static void test_nul_bytes(void **state)
{
	(void)state;
	const char buf[] = "GET /metrics HTTP/1.1\r\nA\0: b\r\n\r\n";
	struct mon_http_request r;
	assert_int_equal(mon_http_parse(buf, sizeof(buf) - 1, MON_HTTP_REQUEST_MAX, &r),
	                 MON_HTTP_DONE);
	assert_int_equal(r.status, 400);
	const char buf2[] = "GET /metrics\0HTTP/1.1\r\n\r\n";
	assert_int_equal(mon_http_parse(buf2, sizeof(buf2) - 1, MON_HTTP_REQUEST_MAX, &r),
	                 MON_HTTP_DONE);
	assert_int_equal(r.status, 400);
}

static void test_reasons(void **state)
{
	(void)state;
	assert_string_equal(mon_http_reason(404), "Not Found");
	assert_string_equal(mon_http_reason(405), "Method Not Allowed");
	assert_string_equal(mon_http_reason(431), "Request Header Fields Too Large");
	assert_string_equal(mon_http_reason(299), "Error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_trailing_bytes),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_reasons),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
