/*
 * The metrics endpoint's request parser: just enough HTTP/1.1 (RFC 9112)
 * to answer GET /metrics. Anything that reaches the port is parsed here, so
 * every step is bounded by the bytes actually received (and by max), the
 * buffer is never assumed to be NUL-terminated, and anything unexpected is
 * an error status, never a guess.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "monitor/monitor.h"

/* RFC 9110 §5.6.2 token characters (method and header names). */
static bool tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive: does p[0..n) contain the NUL-terminated word? */
static bool contains(const char *p, size_t n, const char *word)
{
	size_t w = strlen(word);
	for (size_t i = 0; i + w <= n; i++) {
		size_t k = 0;
		while (k < w && lower(p[i + k]) == word[k])
			k++;
		if (k == w)
			return true;
	}
	return false;
}

static bool equals(const char *p, size_t n, const char *word)
{
	return strlen(word) == n && !memcmp(p, word, n);
}

/* The end of the head: after the empty line (CRLF CRLF; bare LFs are
 * accepted as RFC 9112 §2.2 allows). 0: not in buf[0..len). */
static size_t head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		size_t j = i + 1;
		if (j < len && buf[j] == '\r')
			j++;
		if (j < len && buf[j] == '\n')
			return j + 1;
	}
	return 0;
}

/* The line starting at *pos, without its CR LF; false at the end of the head. */
static bool next_line(const char *buf, size_t end, size_t *pos, const char **line, size_t *n)
{
	if (*pos >= end)
		return false;
	const char *p = buf + *pos;
	const char *nl = memchr(p, '\n', end - *pos);
	size_t len = nl ? (size_t)(nl - p) : end - *pos;
	*pos += len + (nl ? 1 : 0);
	if (len && p[len - 1] == '\r')
		len--;
	*line = p;
	*n = len;
	return true;
}

static int request_line(const char *l, size_t n, bool *get, bool *metrics)
{
	const char *sp1 = memchr(l, ' ', n);
	if (!sp1 || sp1 == l)
		return 400;
	const char *target = sp1 + 1;
	const char *sp2 = memchr(target, ' ', n - (size_t)(target - l));
	if (!sp2 || sp2 == target)
		return 400;
	const char *version = sp2 + 1;
	size_t vlen = n - (size_t)(version - l);
	for (const char *c = l; c < sp1; c++)
		if (!tchar(*c))
			return 400;
	size_t tlen = (size_t)(sp2 - target);
	for (size_t i = 0; i < tlen; i++)
		if ((unsigned char)target[i] <= ' ' || (unsigned char)target[i] >= 0x7f)
			return 400;
	if (memchr(version, ' ', vlen))
		return 400;
	if (!equals(version, vlen, "HTTP/1.1") && !equals(version, vlen, "HTTP/1.0"))
		return vlen >= 5 && !memcmp(version, "HTTP/", 5) ? 505 : 400;
	*get = equals(l, (size_t)(sp1 - l), "GET");
	/* origin-form; a query is ignored (Prometheus may add none, a person may). */
	const char *q = memchr(target, '?', tlen);
	*metrics = equals(target, q ? (size_t)(q - target) : tlen, "/metrics");
	return 200;
}

enum mon_http_parse mon_http_parse(const char *buf, size_t len, size_t max,
                                   struct mon_http_request *r)
{
	memset(r, 0, sizeof(*r));
	if (len > max)
		len = max;
	size_t end = head_end(buf, len);
	if (!end) {
		if (len < max)
			return MON_HTTP_INCOMPLETE;
		r->status = 431;   /* Request Header Fields Too Large */
		r->head_len = len;
		return MON_HTTP_DONE;
	}
	r->head_len = end;
	size_t pos = 0, n;
	const char *l;
	bool get = false, metrics = false, om = false;
	/* RFC 9112 §2.2: empty lines before the request line are ignored. */
	do {
		if (!next_line(buf, end, &pos, &l, &n)) {
			r->status = 400;
			return MON_HTTP_DONE;
		}
	} while (n == 0);
	int st = request_line(l, n, &get, &metrics);
	if (st != 200) {
		r->status = st;
		return MON_HTTP_DONE;
	}
	while (next_line(buf, end, &pos, &l, &n) && n > 0) {
		const char *colon = memchr(l, ':', n);
		if (!colon || colon == l) {
			r->status = 400;
			return MON_HTTP_DONE;
		}
		for (const char *c = l; c < colon; c++)
			if (!tchar(*c)) {   /* also: no space before the colon (§5.1) */
				r->status = 400;
				return MON_HTTP_DONE;
			}
		size_t name = (size_t)(colon - l);
		if (name == 6 && !strncasecmp(l, "accept", 6) &&
		    contains(colon + 1, n - name - 1, "application/openmetrics-text"))
			om = true;
	}
	/* Only a well-formed request is answered, and only then in a format. */
	r->openmetrics = om;
	r->status = !get ? 405 : !metrics ? 404 : 200;
	return MON_HTTP_DONE;
}

const char *mon_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}
