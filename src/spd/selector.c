/*
 * A Child SA's traffic selectors against a packet (spd.h). The data path
 * asks this for every packet it protects and every one it decrypts, so it
 * compares in place: no conversion, no allocation.
 */
#include <netinet/in.h>
#include <string.h>

#include "spd/spd.h"

static bool in_selector(const struct spd_selector *s, uint8_t family, size_t alen,
                        const uint8_t *addr, uint8_t protocol, uint16_t port)
{
	if (s->family != family || (s->protocol && s->protocol != protocol))
		return false;
	if ((protocol == IPPROTO_TCP || protocol == IPPROTO_UDP) &&
	    (port < s->port_lo || port > s->port_hi))
		return false;
	return memcmp(addr, s->lo, alen) >= 0 && memcmp(addr, s->hi, alen) <= 0;
}

static bool in_any(const struct spd_selector *s, size_t n, const struct spd_packet *p,
                   const uint8_t *addr, uint16_t port)
{
	size_t alen = p->family == AF_INET ? 4 : 16;
	for (size_t i = 0; i < n; i++)
		if (in_selector(&s[i], p->family, alen, addr, p->protocol, port))
			return true;
	return false;
}

bool spd_traffic_carries(const struct spd_traffic *t, const struct spd_packet *p)
{
	size_t nsrc = t->nsrc < SPD_SELECTORS ? t->nsrc : SPD_SELECTORS;
	size_t ndst = t->ndst < SPD_SELECTORS ? t->ndst : SPD_SELECTORS;
	return in_any(t->src, nsrc, p, p->src, p->src_port) &&
	       in_any(t->dst, ndst, p, p->dst, p->dst_port);
}
