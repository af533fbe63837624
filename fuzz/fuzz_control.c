/*
 * fuzz_control: the control-socket request parser, control_parse_request()
 * -- where bytes from another process become a command line for secpold.
 *
 * The input is a request as read from the socket ("SPQ1" | u32 length, big
 * endian | command line). Invariants (abort() with "INVARIANT BROKEN" when
 * one does not hold):
 *   - CONTROL_OK: the input is exactly 8 + length bytes with the magic, the
 *     length is 1..CONTROL_MAX_REQUEST, *len is it, line[0..len) is the
 *     body byte for byte and line[len] is NUL; no byte of the line is below
 *     0x20 (except tab) or 0x7f;
 *   - CONTROL_BAD: *why names the reason;
 *   - CONTROL_NEED_MORE: the input is a proper prefix of a request: fewer
 *     than 8 bytes of the magic, or a valid length with fewer body bytes;
 *     appending the missing body bytes (as text) makes it OK, unless a
 *     body byte already present is not text (then it becomes BAD);
 *   - over the prefixes of the input (all the short ones and a bounded
 *     sample of the rest): NEED_MORE* then at most one OK then BAD*, i.e.
 *     a prefix of an OK request is NEED_MORE, never BAD, and once BAD,
 *     every longer input is BAD;
 *   - the parser is deterministic and writes line[] only up to *len;
 *   - control_read_request(), secpold's reader, given the input on a socket
 *     that the peer then shuts down: true exactly when the input's first
 *     8 + length bytes parse OK (it reads no further), with that line;
 *     false with *why set otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/control.h"

#define FUZZ_MAX_INPUT (8 + CONTROL_MAX_REQUEST + 64)
#define SHORT_PREFIXES 64   /* every prefix up to this length is parsed */
#define SAMPLES 48          /* and this many more, spread over the rest */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, size_t n, enum control_parse r)
{
	fprintf(stderr, "INVARIANT BROKEN: %s (input length %zu, result %d)\n", what, n, (int)r);
	abort();
}

static const char *name(enum control_parse r)
{
	return r == CONTROL_OK ? "OK" : r == CONTROL_BAD ? "BAD" : r == CONTROL_NEED_MORE ? "NEED_MORE"
	                                                                                 : "?";
}

static uint32_t declared(const uint8_t *buf)
{
	return (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
}

static bool is_text(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* One parse with every per-result invariant checked; line[0..watch) is
 * poisoned with a marker first so that writes beyond line[len] are seen
 * (the whole buffer for the input itself, less for its many prefixes). */
static enum control_parse parse(const uint8_t *buf, size_t n, char *line, size_t *len,
                                size_t watch)
{
	static const uint8_t magic[4] = { 'S', 'P', 'Q', '1' };
	const char *why = (const char *)1;   /* must be overwritten on BAD */
	if (watch > CONTROL_MAX_REQUEST + 1)
		watch = CONTROL_MAX_REQUEST + 1;
	memset(line, 0xa5, watch);
	*len = (size_t)-1;
	enum control_parse r = control_parse_request(buf, n, line, len, &why);
	size_t m = n < 4 ? n : 4;
	bool magic_ok = memcmp(buf, magic, m) == 0;
	switch (r) {
	case CONTROL_OK: {
		if (n < 8 || !magic_ok)
			fail("OK without the magic and a length", n, r);
		uint32_t l = declared(buf);
		if (*len != l || l == 0 || *len > CONTROL_MAX_REQUEST || n != 8 + (size_t)l)
			fail("OK with a length other than the declared one", n, r);
		if (line[*len] != '\0')
			fail("OK line not NUL-terminated at *len", n, r);
		if (memcmp(line, buf + 8, *len) != 0)
			fail("OK line differs from the request body", n, r);
		for (size_t i = 0; i < *len; i++)
			if (!is_text((uint8_t)line[i]))
				fail("OK line holds a control character, NUL or DEL", n, r);
		if (strlen(line) != *len)
			fail("OK line has a NUL before *len", n, r);
		for (size_t i = *len + 1; i < watch; i++)
			if ((uint8_t)line[i] != 0xa5)
				fail("OK wrote line[] beyond the NUL", n, r);
		break;
	}
	case CONTROL_BAD:
		if (why == NULL || why == (const char *)1 || !why[0])
			fail("BAD without a reason", n, r);
		break;
	case CONTROL_NEED_MORE:
		if (!magic_ok)
			fail("NEED_MORE for an input that is not the magic", n, r);
		if (n >= 8) {
			uint32_t l = declared(buf);
			if (l == 0 || l > CONTROL_MAX_REQUEST || n >= 8 + (size_t)l)
				fail("NEED_MORE with a complete or impossible request", n, r);
		}
		for (size_t i = 0; i < watch; i++)
			if ((uint8_t)line[i] != 0xa5)
				fail("NEED_MORE wrote line[]", n, r);
		break;
	default:
		fail("unknown result", n, r);
	}
	return r;
}

/* NEED_MORE with n >= 8: the declared body completed with text must parse
 * OK if what is present of it is text, and BAD otherwise. */
static void check_completion(const uint8_t *buf, size_t n, char *line)
{
	static uint8_t full[8 + CONTROL_MAX_REQUEST];
	size_t l = declared(buf), len;
	memcpy(full, buf, n);
	memset(full + n, 'a', 8 + l - n);
	bool text = true;
	for (size_t i = 8; i < n; i++)
		text = text && is_text(buf[i]);
	enum control_parse r = parse(full, 8 + l, line, &len, l + 64);
	if (r != (text ? CONTROL_OK : CONTROL_BAD))
		fail(text ? "a NEED_MORE prefix completed with text is not OK"
		          : "a NEED_MORE prefix with a control character completed is not BAD",
		     n, r);
}

/* The server's reader on a socket holding the input, then end of stream. */
static void check_reader(const uint8_t *buf, size_t n, char *line)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return;
	int sz = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	size_t off = 0;
	while (off < n) {
		ssize_t w = send(sv[0], buf + off, n - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	shutdown(sv[0], SHUT_WR);
	if (off == n) {
		/* What it may read: the header, then the body the header declares. */
		size_t want = n;
		if (n >= 8) {
			uint32_t l = declared(buf);
			if (l <= CONTROL_MAX_REQUEST && 8 + (size_t)l < n)
				want = 8 + (size_t)l;
		}
		char *expect = malloc(CONTROL_MAX_REQUEST + 1);
		if (expect) {
			size_t elen, len = (size_t)-1;
			enum control_parse r = parse(buf, want, expect, &elen, 64);
			const char *why = NULL;
			memset(line, 0xa5, CONTROL_MAX_REQUEST + 1);
			bool ok = control_read_request(sv[1], line, &len, &why);
			if (ok != (r == CONTROL_OK))
				fail(ok ? "the reader accepted a request the parser refuses"
				        : "the reader refused a request the parser accepts",
				     n, r);
			if (ok && (len != elen || memcmp(line, expect, len + 1)))
				fail("the reader's line differs from the parser's", n, r);
			if (!ok && (!why || !why[0]))
				fail("the reader failed without a reason", n, r);
			free(expect);
		}
	}
	close(sv[0]);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[CONTROL_MAX_REQUEST + 1];
	static char line2[CONTROL_MAX_REQUEST + 1];
	if (size > FUZZ_MAX_INPUT)
		return 0;
	/* An exact-size copy: reads past the end are ASan's to report. */
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);

	size_t len, len2;
	enum control_parse r = parse(buf, size, line, &len, CONTROL_MAX_REQUEST + 1);
	/* Deterministic: the same input, the same result and line. */
	enum control_parse r2 = parse(buf, size, line2, &len2, size + 64);
	if (r2 != r || (r == CONTROL_OK && (len2 != len || memcmp(line, line2, len + 1))))
		fail("two parses of the same input differ", size, r2);
	if (r == CONTROL_NEED_MORE && size >= 8)
		check_completion(buf, size, line2);

	check_reader(buf, size, line2);

	/* The prefixes: NEED_MORE* (OK)? BAD*. k = size is the run above. */
	enum control_parse prev = CONTROL_NEED_MORE;
	size_t prev_k = 0;
	size_t step = size > SHORT_PREFIXES ? (size - SHORT_PREFIXES) / SAMPLES + 1 : 1;
	size_t around = size >= 8 ? 8 + (size_t)declared(buf) : 0;
	for (size_t k = 0; k <= size; k++) {
		if (k > SHORT_PREFIXES && k != size && k + 1 != size && k + 1 != around &&
		    k != around && k != around + 1 && (k - SHORT_PREFIXES) % step != 0)
			continue;
		/* Each prefix in a buffer of its own size, so that a read past
		 * n is an ASan report rather than a look at the rest of the input. */
		uint8_t *p = malloc(k ? k : 1);
		if (!p)
			break;
		memcpy(p, buf, k);
		enum control_parse rk = parse(p, k, line2, &len2, k + 16);
		free(p);
		if (k == size && rk != r)
			fail("the whole input as a prefix parses differently", k, rk);
		if ((prev == CONTROL_OK && rk != CONTROL_BAD) ||
		    (prev == CONTROL_BAD && rk != CONTROL_BAD)) {
			fprintf(stderr, "prefix of %zu bytes: %s, prefix of %zu bytes: %s\n", prev_k,
			        name(prev), k, name(rk));
			fail("prefix results are not NEED_MORE* OK? BAD*", k, rk);
		}
		prev = rk;
		prev_k = k;
	}
	free(buf);
	return 0;
}
