/*
 * fuzz_metrics_http: the metrics endpoint's request parser,
 * mon_http_parse() -- the first code that sees the bytes anyone sends to
 * the metrics port.
 *
 * The input is what the server's buffer would hold (at most
 * MON_HTTP_REQUEST_MAX bytes; longer inputs are cut, as recv() into the
 * fixed buffer cuts them), copied to a heap buffer of exactly its length so
 * ASan sees any read past it. Invariants (abort() with "INVARIANT BROKEN"):
 *   - DONE: status is one of 200 400 404 405 431 505; head_len is 1..len;
 *     431 exactly when no blank line ends a head within the input and the
 *     input fills the buffer; 200 only for a head that starts "GET /metrics"
 *     after optional empty lines; openmetrics only with status 200/404/405;
 *   - INCOMPLETE only when the input is shorter than the buffer;
 *   - over the prefixes (all short ones and a bounded sample): INCOMPLETE*
 *     then DONE*, and every DONE prefix gives the same status and head_len
 *     as the whole input (the server answers at the first DONE, so bytes
 *     after the head can never change the answer);
 *   - deterministic.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/monitor.h"

#define SHORT_PREFIXES 64
#define SAMPLES 48

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, size_t n, int status)
{
	fprintf(stderr, "INVARIANT BROKEN: %s (input length %zu, status %d)\n", what, n, status);
	abort();
}

static bool has_blank_line(const char *b, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (b[i] == '\n' && (b[i + 1] == '\n' || (i + 2 < n && b[i + 1] == '\r' && b[i + 2] == '\n')))
			return true;
	return false;
}

static void check_one(const char *buf, size_t len, enum mon_http_parse p,
                      const struct mon_http_request *r)
{
	if (p == MON_HTTP_INCOMPLETE) {
		if (len >= MON_HTTP_REQUEST_MAX)
			fail("INCOMPLETE with a full buffer", len, r->status);
		if (has_blank_line(buf, len))
			fail("INCOMPLETE although a blank line ends the head", len, r->status);
		return;
	}
	if (p != MON_HTTP_DONE)
		fail("unknown result", len, (int)p);
	static const int ok[] = { 200, 400, 404, 405, 431, 505 };
	bool known = false;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		known = known || r->status == ok[i];
	if (!known)
		fail("unknown status", len, r->status);
	if (r->head_len == 0 || r->head_len > len)
		fail("head_len out of the input", len, r->status);
	if ((r->status == 431) != (!has_blank_line(buf, len) && len >= MON_HTTP_REQUEST_MAX))
		fail("431 exactly for a head that does not end in the buffer", len, r->status);
	if (r->status == 200) {
		size_t i = 0;
		while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
			i++;
		if (len - i < 13 || memcmp(buf + i, "GET /metrics", 12) != 0)
			fail("200 for something else than GET /metrics", len, r->status);
	}
	if (r->openmetrics && r->status != 200 && r->status != 404 && r->status != 405)
		fail("openmetrics on a bad request", len, r->status);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MON_HTTP_REQUEST_MAX)
		size = MON_HTTP_REQUEST_MAX;
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct mon_http_request whole, again;
	enum mon_http_parse pw = mon_http_parse(buf, size, MON_HTTP_REQUEST_MAX, &whole);
	check_one(buf, size, pw, &whole);
	if (mon_http_parse(buf, size, MON_HTTP_REQUEST_MAX, &again) != pw ||
	    memcmp(&again, &whole, sizeof(whole)) != 0)
		fail("not deterministic", size, whole.status);

	bool done = false;
	size_t step = size > SHORT_PREFIXES ? (size - SHORT_PREFIXES) / SAMPLES + 1 : 1;
	for (size_t n = 0; n < size; n += n < SHORT_PREFIXES ? 1 : step) {
		/* Each prefix in a buffer of its own length. */
		char *pre = malloc(n ? n : 1);
		if (!pre)
			break;
		memcpy(pre, buf, n);
		struct mon_http_request r;
		enum mon_http_parse p = mon_http_parse(pre, n, MON_HTTP_REQUEST_MAX, &r);
		check_one(pre, n, p, &r);
		free(pre);
		if (p == MON_HTTP_DONE) {
			done = true;
			if (pw != MON_HTTP_DONE || r.status != whole.status || r.head_len != whole.head_len ||
			    (r.status != 431 && r.openmetrics != whole.openmetrics))
				fail("a longer input changed the answer", n, r.status);
		} else if (done) {
			fail("INCOMPLETE after DONE", n, r.status);
		}
	}
	free(buf);
	return 0;
}
