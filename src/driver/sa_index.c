/*
 * The outbound Child SAs, indexed so that a packet finds its SA without a
 * walk over every SA the driver has (internal.h, struct sa_index).
 *
 * Nearly every outbound SA carries one rule's traffic to ONE host: every
 * transport-mode SA (its peer), and a tunnel to a single host. Those hang in
 * a hash bucket by (rule, that host), so a server with a thousand clients
 * looks at one short chain per packet. The rest -- tunnels to subnets, and
 * manual SAs, which serve any rule -- are few and stay in one list, looked
 * at after the bucket. Within a chain the order is the driver's: newest
 * first (a rekeyed SA takes over at once), standby SAs last (they wait for
 * those they replace: RFC 7296 §2.8).
 */
#include <netinet/in.h>
#include <string.h>

#include "driver/internal.h"

bool driver_in_prefix(const uint8_t *a, const uint8_t *net, unsigned len)
{
	unsigned bytes = len / 8, bits = len % 8;
	if (memcmp(a, net, bytes) != 0)
		return false;
	if (bits == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - bits));
	return (a[bytes] & mask) == (net[bytes] & mask);
}

bool child_carries(const struct child_sa *cs, const struct spd_packet *p)
{
	if (cs->traffic.nsrc)
		return spd_traffic_carries(&cs->traffic, p);
	return cs->src.family == p->family && driver_in_prefix(p->src, cs->src.bytes, cs->src_len) &&
	       driver_in_prefix(p->dst, cs->dst.bytes, cs->dst_len);
}

/* The one host an outbound SA sends to, if it is one: false for a subnet,
 * a range, several selectors, or an SA of any rule (manual). */
static bool single_host(const struct child_sa *cs, struct sa_address *host)
{
	if (cs->rule_id == 0)
		return false;
	memset(host, 0, sizeof(*host));
	if (cs->traffic.nsrc) {
		const struct spd_selector *d = &cs->traffic.dst[0];
		size_t alen = d->family == AF_INET ? 4 : 16;
		if (cs->traffic.ndst != 1 || memcmp(d->lo, d->hi, alen) != 0)
			return false;
		host->family = d->family;
		memcpy(host->bytes, d->lo, alen);
		return true;
	}
	if (cs->dst_len != (cs->dst.family == AF_INET ? 32 : 128))
		return false;
	*host = cs->dst;
	return true;
}

uint32_t driver_hash(uint32_t seed, uint8_t family, const uint8_t *addr)
{
	/* FNV-1a: cheap, and spreads the neighbouring addresses of a subnet. */
	uint32_t h = 2166136261u;
	for (int i = 0; i < 4; i++)
		h = (h ^ (uint8_t)(seed >> (8 * i))) * 16777619u;
	for (size_t i = 0; i < (family == AF_INET ? 4u : 16u); i++)
		h = (h ^ addr[i]) * 16777619u;
	return h;
}

static size_t bucket_of(uint32_t rule_id, uint8_t family, const uint8_t *addr)
{
	return driver_hash(rule_id, family, addr) & (SA_INDEX_BUCKETS - 1);
}

void sa_index_init(struct sa_index *ix)
{
	memset(ix, 0, sizeof(*ix));
	ix->wide_tail = &ix->wide;
}

void sa_index_add(struct sa_index *ix, struct child_sa *cs, bool standby)
{
	struct sa_address host;
	struct child_sa **at;
	cs->indexed_host = single_host(cs, &host);
	if (cs->indexed_host) {
		at = &ix->host[bucket_of(cs->rule_id, host.family, host.bytes)];
		if (standby)
			while (*at)
				at = &(*at)->onext;
	} else {
		at = standby ? ix->wide_tail : &ix->wide;
	}
	cs->onext = *at;
	cs->oprevp = at;
	if (cs->onext)
		cs->onext->oprevp = &cs->onext;
	else if (!cs->indexed_host)
		ix->wide_tail = &cs->onext;
	*at = cs;
}

void sa_index_remove(struct sa_index *ix, struct child_sa *cs)
{
	*cs->oprevp = cs->onext;
	if (cs->onext)
		cs->onext->oprevp = cs->oprevp;
	else if (!cs->indexed_host)
		ix->wide_tail = cs->oprevp;
}

static bool fits(const struct child_sa *cs, const struct spd_packet *p, uint32_t rule_id,
                 uint64_t now)
{
	return (cs->rule_id == 0 || cs->rule_id == rule_id) && child_carries(cs, p) &&
	       sa_usable(cs->sa, now);
}

struct child_sa *sa_index_find(const struct sa_index *ix, const struct spd_packet *p,
                               uint32_t rule_id, uint64_t now)
{
	for (struct child_sa *cs = ix->host[bucket_of(rule_id, p->family, p->dst)]; cs;
	     cs = cs->onext)
		if (fits(cs, p, rule_id, now))
			return cs;
	for (struct child_sa *cs = ix->wide; cs; cs = cs->onext)
		if (fits(cs, p, rule_id, now))
			return cs;
	return NULL;
}
