/*
 * The steps ESP and AH share: where the outbound header goes, what a
 * malformed packet is called, and how the inbound header comes out again.
 */
#include "esp/xform.h"

#include <string.h>
#include <sys/socket.h>

enum sa_drop malformed(const uint8_t *d, size_t len)
{
	return ip_truncated(d, len) ? DROP_TRUNCATED : DROP_BAD_LENGTH;
}

enum sa_drop out_place(struct ipsec_sa *sa, const uint8_t *d, size_t len, struct out_place *o)
{
	memset(o, 0, sizeof(*o));
	if (sa->mode == SA_TUNNEL) {
		int version;
		size_t total;
		if (!ip_packet(d, len, &version, &total) || total != len)
			return sa_drop(sa, malformed(d, len));
		o->nh = version == 4 ? 4 : 41;        /* the whole packet is payload */
		o->version = sa->dst.family == AF_INET ? 4 : 6;
		o->outer = o->version == 4 ? 20 : 40;
		o->nh_off = o->version == 4 ? 9 : 6;
		return DROP_NONE;
	}
	struct ip_info ii;
	if (!ip_find_insert(d, len, &ii) || ii.total != len)
		return sa_drop(sa, malformed(d, len));
	if (!ip_dst_is(d, sa->dst.family, sa->dst.bytes))
		return sa_drop(sa, DROP_SELECTOR);
	o->version = ii.version;
	o->keep = ii.hlen;
	o->nh_off = ii.nh_off;
	o->nh = ii.nh;
	return DROP_NONE;
}

bool inner_packet(uint8_t nh, const uint8_t *d, size_t len, size_t *inner)
{
	int version;
	return (nh == 4 || nh == 41) && ip_packet(d, len, &version, inner) &&
	       version == (nh == 4 ? 4 : 6);
}

void close_gap(struct pkt *p, const struct ip_info *ii, size_t gap, uint8_t nh, size_t total)
{
	uint8_t *d = pkt_data(p);
	memmove(d + gap, d, ii->hlen);
	d += gap;
	d[ii->nh_off] = nh;
	ip_set_total(d, ii->version, total);
	p->off += gap;
	p->len = total;
}
