/*
 * TUN offloads in userspace: cutting TSO/USO super-packets into segments
 * (outbound) and coalescing TCP segments into GSO super-packets (inbound).
 * See offload.h. Every read is checked against the buffer length.
 */
#include "driver/offload.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- checksums ---- */

static uint16_t fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The sum in native byte order, 32 bits at a time: the ones' complement
 * sum does not depend on the byte order but for a final swap (RFC 1071). */
static uint64_t sum_native(const uint8_t *p, size_t len)
{
	uint64_t s0 = 0, s1 = 0;
	while (len >= 16) {
		uint64_t a, b;
		memcpy(&a, p, 8);
		memcpy(&b, p + 8, 8);
		s0 += (a & 0xffffffff) + (a >> 32);
		s1 += (b & 0xffffffff) + (b >> 32);
		p += 16;
		len -= 16;
	}
	s0 += s1;
	if (len >= 8) {
		uint64_t a;
		memcpy(&a, p, 8);
		s0 += (a & 0xffffffff) + (a >> 32);
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		uint32_t a;
		memcpy(&a, p, 4);
		s0 += a;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t a;
		memcpy(&a, p, 2);
		s0 += a;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t b[2] = { p[0], 0 };
		uint16_t a;
		memcpy(&a, b, 2);
		s0 += a;
	}
	return s0;
}

uint16_t offload_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	uint16_t native = len ? fold(sum_native(p, len)) : 0;
	return fold((uint64_t)ntohs(native) + sum);
}

uint32_t offload_pseudo(uint8_t version, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                        uint32_t l4_len)
{
	size_t alen = version == 4 ? 4 : 16;
	uint32_t s = 0;
	for (size_t i = 0; i < alen; i += 2)
		s += get16(src + i) + get16(dst + i);
	return s + proto + (l4_len >> 16) + (l4_len & 0xffff);
}

/* The pseudo-header of the IP packet d for an upper layer of l4_len bytes. */
static uint32_t pseudo_of(const uint8_t *d, uint8_t version, uint8_t proto, size_t l4_len)
{
	return version == 4 ? offload_pseudo(4, d + 12, d + 16, proto, (uint32_t)l4_len)
	                    : offload_pseudo(6, d + 8, d + 24, proto, (uint32_t)l4_len);
}

/* ---- segmentation ---- */

/* The upper layer of an IPv6 packet: past hop-by-hop and destination
 * options headers (a routing header would change the pseudo-header's
 * destination: not supported). 0: none found. */
static size_t l4_of_ipv6(const uint8_t *d, size_t len, uint8_t *proto)
{
	uint8_t nh = d[6];
	size_t off = 40;
	for (int i = 0; i < 8 && (nh == IPPROTO_HOPOPTS || nh == IPPROTO_DSTOPTS); i++) {
		if (len - off < 8)
			return 0;
		size_t hl = ((size_t)d[off + 1] + 1) * 8;
		if (hl > len - off)
			return 0;
		nh = d[off];
		off += hl;
	}
	*proto = nh;
	return off;
}

bool offload_seg_start(struct offload_seg *s, const struct virtio_net_hdr *h, uint8_t *pkt,
                       size_t len, size_t room)
{
	memset(s, 0, sizeof(*s));
	s->pkt = pkt;
	s->len = len;
	if (len < 1)
		return false;
	uint8_t type = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	if (type == VIRTIO_NET_HDR_GSO_NONE) {
		if (len > room)
			return false;
		if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
			/* CHECKSUM_PARTIAL: the field holds the pseudo-header's
			 * sum; the rest is ours (as skb_checksum_help()). */
			size_t start = h->csum_start, at = start + h->csum_offset;
			if (start >= len || at + 2 > len)
				return false;
			uint16_t c = (uint16_t)~offload_sum(pkt + start, len - start, 0);
			put16(pkt + at, c ? c : 0xffff);
		}
		return true;
	}
	/* The header lengths come from the packet: hdr_len and csum_start
	 * are not trusted (on the forward path hdr_len may cover more). */
	uint8_t version = pkt[0] >> 4, proto;
	size_t hlen;
	if (version == 4) {
		if (len < 20)
			return false;
		hlen = (size_t)(pkt[0] & 0x0f) * 4;
		if (hlen < 20 || hlen > len || get16(pkt + 2) != len || (get16(pkt + 6) & 0x3fff))
			return false;   /* a length that lies, or a fragment */
		proto = pkt[9];
	} else if (version == 6) {
		if (len < 40 || (size_t)get16(pkt + 4) + 40 != len)
			return false;
		if (!(hlen = l4_of_ipv6(pkt, len, &proto)))
			return false;
	} else {
		return false;
	}
	bool ok;
	switch (type) {
	case VIRTIO_NET_HDR_GSO_TCPV4: ok = version == 4 && proto == IPPROTO_TCP; break;
	case VIRTIO_NET_HDR_GSO_TCPV6: ok = version == 6 && proto == IPPROTO_TCP; break;
	case VIRTIO_NET_HDR_GSO_UDP_L4: ok = proto == IPPROTO_UDP; break;
	default: ok = false; break;   /* UFO (IP fragments): never enabled */
	}
	if (!ok || h->gso_size == 0)
		return false;
	size_t l4hlen = 8;
	if (proto == IPPROTO_TCP) {
		if (len - hlen < 20)
			return false;
		l4hlen = (size_t)(pkt[hlen + 12] >> 4) * 4;
		if (l4hlen < 20 || l4hlen > len - hlen)
			return false;
	} else if (len - hlen < 8) {
		return false;
	}
	size_t payload = len - hlen - l4hlen;
	size_t first = payload < h->gso_size ? payload : h->gso_size;
	if (hlen + l4hlen + first > room)
		return false;
	s->hlen = hlen;
	s->l4hlen = l4hlen;
	s->gso_size = h->gso_size;
	s->version = version;
	s->proto = proto;
	return true;
}

size_t offload_seg_next(struct offload_seg *s, uint8_t *out)
{
	if (s->done)
		return 0;
	if (!s->l4hlen) {
		memcpy(out, s->pkt, s->len);
		s->done = true;
		return s->len;
	}
	size_t hl = s->hlen + s->l4hlen;
	size_t payload = s->len - hl;
	size_t chunk = payload - s->off;
	if (chunk > s->gso_size)
		chunk = s->gso_size;
	bool first = s->index == 0, last = s->off + chunk == payload;
	memcpy(out, s->pkt, hl);
	memcpy(out + hl, s->pkt + hl + s->off, chunk);
	size_t n = hl + chunk;
	if (s->version == 4) {
		put16(out + 2, (uint16_t)n);
		put16(out + 4, (uint16_t)(get16(s->pkt + 4) + s->index));
		out[10] = out[11] = 0;
		put16(out + 10, (uint16_t)~offload_sum(out, s->hlen, 0));
	} else {
		put16(out + 4, (uint16_t)(n - 40));
	}
	uint8_t *l4 = out + s->hlen;
	size_t l4len = n - s->hlen;
	uint32_t ph = pseudo_of(out, s->version, s->proto, l4len);
	if (s->proto == IPPROTO_TCP) {
		put32(l4 + 4, get32(l4 + 4) + (uint32_t)s->off);
		/* As the kernel's tcp_gso_segment(): FIN and PSH end the
		 * super-packet, CWR starts it. */
		if (!last)
			l4[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (!first)
			l4[13] &= (uint8_t)~TCP_CWR;
		l4[16] = l4[17] = 0;
		put16(l4 + 16, (uint16_t)~offload_sum(l4, l4len, ph));
	} else {
		put16(l4 + 4, (uint16_t)l4len);
		l4[6] = l4[7] = 0;
		uint16_t c = (uint16_t)~offload_sum(l4, l4len, ph);
		put16(l4 + 6, c ? c : 0xffff);
	}
	s->off += chunk;
	s->index++;
	s->done = last;
	return n;
}

/* ---- coalescing ---- */

/* What coalescing needs to know of a packet. */
struct tcp_view {
	bool keyed;           /* an unfragmented TCP packet: it has a flow */
	bool coalescible;
	uint8_t version;
	size_t hlen, thl, payload;
	uint32_t seq;
	uint8_t flags;
};

static void view_of(const uint8_t *d, size_t len, struct tcp_view *v)
{
	memset(v, 0, sizeof(*v));
	if (len < 1)
		return;
	v->version = d[0] >> 4;
	bool plain;   /* no options or extension headers, a length that tells the truth */
	if (v->version == 4) {
		if (len < 20 || d[9] != IPPROTO_TCP || (get16(d + 6) & 0x3fff))
			return;
		v->hlen = (size_t)(d[0] & 0x0f) * 4;
		if (v->hlen < 20 || v->hlen > len)
			return;
		/* DF set, nothing else: a coalesced packet must not be fragmented. */
		plain = v->hlen == 20 && get16(d + 2) == len && get16(d + 6) == 0x4000;
	} else if (v->version == 6) {
		if (len < 40 || d[6] != IPPROTO_TCP)
			return;
		v->hlen = 40;
		plain = (size_t)get16(d + 4) + 40 == len;
	} else {
		return;
	}
	if (len - v->hlen < 20)
		return;
	const uint8_t *th = d + v->hlen;
	v->keyed = true;
	v->thl = (size_t)(th[12] >> 4) * 4;
	v->flags = th[13];
	v->seq = get32(th + 4);
	if (!plain || v->thl < 20 || v->thl > len - v->hlen)
		return;
	v->payload = len - v->hlen - v->thl;
	/* Data with ACK (and PSH) only: SYN, FIN, RST, URG, ECE, CWR stay alone.
	 * And only with a correct checksum: the kernel trusts a coalesced one. */
	if (v->payload == 0 || (v->flags & (uint8_t)~TCP_PSH) != TCP_ACK)
		return;
	size_t l4 = len - v->hlen;
	if (offload_sum(th, l4, pseudo_of(d, v->version, IPPROTO_TCP, l4)) != 0xffff)
		return;
	v->coalescible = true;
}

/* Same addresses and ports (both keyed, same version). */
static bool same_flow(const uint8_t *a, size_t ahl, const uint8_t *b, size_t bhl, uint8_t version)
{
	bool addrs = version == 4 ? memcmp(a + 12, b + 12, 8) == 0 : memcmp(a + 8, b + 8, 32) == 0;
	return addrs && memcmp(a + ahl, b + bhl, 4) == 0;
}

static bool can_append(const struct offload_gro_item *it, const uint8_t *p, const struct tcp_view *v)
{
	const uint8_t *f = it->pkt;
	if (!it->open || it->thl != v->thl || it->hlen != v->hlen)
		return false;
	if (v->version == 4 ? f[1] != p[1] || f[8] != p[8]            /* TOS, TTL */
	                    : memcmp(f, p, 4) != 0 || f[7] != p[7])  /* class, flow label, hops */
		return false;
	const uint8_t *ft = f + it->hlen, *pt = p + v->hlen;
	/* Same ACK, data offset, window, urgent pointer and options (as the
	 * kernel's tcp_gro_receive()); flags may differ by PSH only. */
	if (memcmp(ft + 8, pt + 8, 5) != 0 || (ft[13] | TCP_PSH) != (pt[13] | TCP_PSH) ||
	    memcmp(ft + 14, pt + 14, 2) != 0 || memcmp(ft + 18, pt + 18, it->thl - 18) != 0)
		return false;
	return v->seq == it->next_seq && v->payload <= it->gso_size &&
	       it->total + v->payload <= OFFLOAD_MAX_PACKET;
}

bool offload_gro_add(struct offload_gro *g, uint8_t *pkt, size_t len)
{
	if (g->npkts >= OFFLOAD_GRO_MAX)
		return false;
	struct tcp_view v;
	view_of(pkt, len, &v);
	struct offload_gro_item *found = NULL;
	for (unsigned i = g->nitems; v.keyed && i-- > 0;) {
		struct offload_gro_item *it = &g->item[i];
		if (it->hlen && it->pkt[0] >> 4 == v.version &&
		    same_flow(it->pkt, it->hlen, pkt, v.hlen, v.version)) {
			found = it;
			break;
		}
	}
	unsigned k = g->npkts++;
	if (found && v.coalescible && can_append(found, pkt, &v)) {
		g->pk[k].data = pkt + v.hlen + v.thl;
		g->pk[k].len = v.payload;
		g->pk[k].next = -1;
		g->pk[found->last].next = (int)k;
		found->last = (int)k;
		found->n++;
		found->total += v.payload;
		found->next_seq += (uint32_t)v.payload;
		found->psh = v.flags & TCP_PSH;
		found->open = !found->psh && v.payload == found->gso_size;
		return true;
	}
	/* Anything after this packet must not overtake it into an earlier item. */
	if (found)
		found->open = false;
	g->pk[k].data = pkt;
	g->pk[k].len = len;
	g->pk[k].next = -1;
	struct offload_gro_item *it = &g->item[g->nitems++];
	*it = (struct offload_gro_item){
		.pkt = pkt, .hlen = v.keyed ? v.hlen : 0, .thl = v.coalescible ? v.thl : 0,
		.total = len, .gso_size = v.payload, .next_seq = v.seq + (uint32_t)v.payload, .n = 1,
		.first = (int)k, .last = (int)k, .psh = v.flags & TCP_PSH,
		.open = v.coalescible && !(v.flags & TCP_PSH),
	};
	return true;
}

size_t offload_gro_item(struct offload_gro *g, unsigned i, struct virtio_net_hdr *h,
                        struct iovec *iov, unsigned *npkts)
{
	struct offload_gro_item *it = &g->item[i];
	memset(h, 0, sizeof(*h));
	iov[0] = (struct iovec){ .iov_base = h, .iov_len = sizeof(*h) };
	*npkts = it->n;
	size_t n = 1;
	for (int k = it->first; k >= 0; k = g->pk[k].next)
		iov[n++] = (struct iovec){ .iov_base = g->pk[k].data, .iov_len = g->pk[k].len };
	if (it->n == 1)
		return n;   /* as it came, gso_type NONE: the kernel checks it */
	uint8_t *f = it->pkt;
	uint8_t version = f[0] >> 4;
	if (version == 4) {
		put16(f + 2, (uint16_t)it->total);
		f[10] = f[11] = 0;
		put16(f + 10, (uint16_t)~offload_sum(f, it->hlen, 0));
	} else {
		put16(f + 4, (uint16_t)(it->total - 40));
	}
	uint8_t *th = f + it->hlen;
	if (it->psh)
		th[13] |= TCP_PSH;
	/* CHECKSUM_PARTIAL: the pseudo-header's sum, not inverted. */
	size_t l4 = it->total - it->hlen;
	put16(th + 16, fold(pseudo_of(f, version, IPPROTO_TCP, l4)));
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->gso_type = version == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
	h->hdr_len = (uint16_t)(it->hlen + it->thl);
	h->gso_size = (uint16_t)it->gso_size;
	h->csum_start = (uint16_t)it->hlen;
	h->csum_offset = 16;
	return n;
}
