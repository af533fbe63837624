/*
 * Traffic selectors are ranges (addresses, ports) plus a protocol, so the
 * intersection of two of them is again one selector, or nothing.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ike/ts.h"

static size_t addr_len(uint8_t type)
{
	return type == IKE_TS_IPV4_ADDR_RANGE ? 4 : 16;
}

bool ike_ts_from_prefix(struct ike_ts_sel *s, uint8_t family, const uint8_t *addr,
                        uint8_t prefix_len, uint8_t protocol, uint16_t port)
{
	size_t n = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
	if (!n || prefix_len > n * 8)
		return false;
	memset(s, 0, sizeof(*s));
	s->type = n == 4 ? IKE_TS_IPV4_ADDR_RANGE : IKE_TS_IPV6_ADDR_RANGE;
	s->protocol = protocol;
	s->start_port = port;
	s->end_port = port ? port : 0xffff;
	for (size_t i = 0; i < n; i++) {
		unsigned bits = prefix_len > i * 8 ? prefix_len - (unsigned)i * 8 : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		s->start[i] = addr[i] & mask;
		s->end[i] = (uint8_t)(addr[i] | (uint8_t)~mask);
	}
	return true;
}

bool ike_ts_intersect(const struct ike_ts_sel *a, const struct ike_ts_sel *b,
                      struct ike_ts_sel *out)
{
	if (a->type != b->type || (a->protocol && b->protocol && a->protocol != b->protocol))
		return false;
	size_t n = addr_len(a->type);
	memset(out, 0, sizeof(*out));
	out->type = a->type;
	out->protocol = a->protocol ? a->protocol : b->protocol;
	out->start_port = a->start_port > b->start_port ? a->start_port : b->start_port;
	out->end_port = a->end_port < b->end_port ? a->end_port : b->end_port;
	memcpy(out->start, memcmp(a->start, b->start, n) > 0 ? a->start : b->start, n);
	memcpy(out->end, memcmp(a->end, b->end, n) < 0 ? a->end : b->end, n);
	return out->start_port <= out->end_port && memcmp(out->start, out->end, n) <= 0;
}

bool ike_ts_contains(const struct ike_ts_sel *s, const uint8_t *addr, uint8_t protocol,
                     uint16_t port)
{
	size_t n = addr_len(s->type);
	return (!s->protocol || s->protocol == protocol) && port >= s->start_port &&
	       port <= s->end_port && memcmp(addr, s->start, n) >= 0 &&
	       memcmp(addr, s->end, n) <= 0;
}

/* a inside b: same family, b's protocol (unless any), ports and addresses.
 * An upside-down a (start past end) is no selector at all: its ends can lie
 * inside b while it names nothing, and its prefix would be /0. */
static bool sel_within(const struct ike_ts_sel *a, const struct ike_ts_sel *b)
{
	size_t n = addr_len(a->type);
	return a->type == b->type && (!b->protocol || a->protocol == b->protocol) &&
	       a->start_port <= a->end_port && memcmp(a->start, a->end, n) <= 0 &&
	       a->start_port >= b->start_port && a->end_port <= b->end_port &&
	       memcmp(a->start, b->start, n) >= 0 && memcmp(a->end, b->end, n) <= 0;
}

bool ike_ts_subset(const struct ike_ts *answer, const struct ike_ts *offered)
{
	if (!answer->count)
		return false;
	for (size_t i = 0; i < answer->count; i++) {
		bool inside = false;
		for (size_t k = 0; k < offered->count && !inside; k++)
			inside = sel_within(&answer->sel[i], &offered->sel[k]);
		if (!inside)
			return false;
	}
	return true;
}

static void describe(const struct ike_ts_sel *s, char *buf, size_t len)
{
	char a[64], b[64];
	int fam = s->type == IKE_TS_IPV4_ADDR_RANGE ? AF_INET : AF_INET6;
	if (!inet_ntop(fam, s->start, a, sizeof(a)) || !inet_ntop(fam, s->end, b, sizeof(b)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s-%s proto %u ports %u-%u", a, b, s->protocol, s->start_port,
	         s->end_port);
}

bool ike_ts_narrow(const struct ike_ts *tsi, const struct ike_ts *tsr,
                   const struct ike_ts_pair *allowed, size_t n, struct ike_ts *out_i,
                   struct ike_ts *out_r, char *why, size_t whylen)
{
	out_i->count = out_r->count = 0;
	for (size_t k = 0; k < n && out_i->count < IKE_MAX_TS; k++)
		for (size_t x = 0; x < tsi->count; x++) {
			struct ike_ts_sel si, sr;
			bool done = false;
			for (size_t y = 0; y < tsr->count && !done; y++)
				if (ike_ts_intersect(&tsi->sel[x], &allowed[k].i, &si) &&
				    ike_ts_intersect(&tsr->sel[y], &allowed[k].r, &sr)) {
					out_i->sel[out_i->count++] = si;
					out_r->sel[out_r->count++] = sr;
					done = true;
				}
			if (done)
				break;
		}
	if (out_i->count)
		return true;
	char a[160] = "(none)", b[160] = "(none)";
	if (tsi->count)
		describe(&tsi->sel[0], a, sizeof(a));
	if (tsr->count)
		describe(&tsr->sel[0], b, sizeof(b));
	snprintf(why, whylen, "TS unacceptable: no filter allows TSi %s with TSr %s", a, b);
	return false;
}
