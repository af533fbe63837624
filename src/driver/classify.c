/*
 * The packet classifier's front half: reading the selector fields of an IP
 * packet (the SPD does the rest). Every read is checked against the buffer
 * length; length fields inside the packet are never trusted beyond it.
 */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "driver/driver.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Ports of a TCP or UDP header at l4 (len bytes available); 0 when absent. */
static void ports(struct spd_packet *p, const uint8_t *l4, size_t len)
{
	p->src_port = p->dst_port = 0;
	if ((p->protocol == IPPROTO_TCP || p->protocol == IPPROTO_UDP) && len >= 4) {
		p->src_port = get16(l4);
		p->dst_port = get16(l4 + 2);
	}
}

static bool classify4(const uint8_t *d, size_t len, struct spd_packet *p)
{
	if (len < 20)
		return false;
	size_t ihl = (size_t)(d[0] & 0x0f) * 4;
	size_t total = get16(d + 2);
	if (ihl < 20 || ihl > len || total < ihl)
		return false;
	if (total < len)
		len = total;   /* link padding after the packet is not part of it */
	p->family = AF_INET;
	memcpy(p->src, d + 12, 4);
	memcpy(p->dst, d + 16, 4);
	p->protocol = d[9];
	/* Only the first fragment carries the ports. */
	bool first = (get16(d + 6) & 0x1fff) == 0;
	ports(p, d + ihl, first ? len - ihl : 0);
	return true;
}

static bool classify6(const uint8_t *d, size_t len, struct spd_packet *p)
{
	if (len < 40)
		return false;
	size_t total = 40 + (size_t)get16(d + 4);
	if (total < len)
		len = total;
	p->family = AF_INET6;
	memcpy(p->src, d + 8, 16);
	memcpy(p->dst, d + 24, 16);
	uint8_t nh = d[6];
	size_t off = 40;
	bool first = true;
	/* Walk the extension headers to the upper layer; a bounded number of
	 * them, so a chain crafted to loop cannot keep us here. */
	for (int i = 0; i < 16; i++) {
		if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS) {
			if (len - off < 8)
				return false;
			size_t hl = ((size_t)d[off + 1] + 1) * 8;
			if (hl > len - off)
				return false;
			nh = d[off];
			off += hl;
		} else if (nh == IPPROTO_FRAGMENT) {
			if (len - off < 8)
				return false;
			first = first && (get16(d + off + 2) & 0xfff8) == 0;
			nh = d[off];
			off += 8;
		} else {
			break;
		}
	}
	p->protocol = nh;
	ports(p, d + off, first ? len - off : 0);
	return true;
}

bool driver_classify(const uint8_t *pkt, size_t len, struct spd_packet *p)
{
	memset(p, 0, sizeof(*p));
	if (len < 1)
		return false;
	switch (pkt[0] >> 4) {
	case 4: return classify4(pkt, len, p);
	case 6: return classify6(pkt, len, p);
	default: return false;
	}
}
