/*
 * The TUN offloads done in userspace (src/driver/offload.c): cutting TSO/USO
 * super-packets into segments, and coalescing TCP segments into one GSO
 * super-packet. Every checksum is checked by recomputing it here, byte by
 * byte, independently of offload_sum().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/in.h>

#include "driver/offload.h"

#define F_FIN 0x01
#define F_SYN 0x02
#define F_PSH 0x08
#define F_ACK 0x10
#define F_CWR 0x80

static uint16_t g16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t g32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void p16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void p32(uint8_t *p, uint32_t v)
{
	p16(p, (uint16_t)(v >> 16));
	p16(p + 2, (uint16_t)v);
}

/* ---- an independent checksum: 16 bits at a time, byte by byte ---- */

static uint32_t naive_add(uint32_t s, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		s += i % 2 ? p[i] : (uint32_t)p[i] << 8;
	return s;
}

static uint16_t naive_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The sum of the pseudo-header of IP packet d (addresses from it). */
static uint32_t naive_pseudo(const uint8_t *d, uint8_t proto, size_t l4len)
{
	uint32_t s = 0;
	if (d[0] >> 4 == 4)
		s = naive_add(s, d + 12, 8);
	else
		s = naive_add(s, d + 8, 32);
	return s + proto + (uint32_t)(l4len >> 16) + (uint32_t)(l4len & 0xffff);
}

/* True when the L4 checksum of packet d (L4 at l4) verifies. */
static bool l4_ok(const uint8_t *d, size_t len, size_t l4, uint8_t proto)
{
	return naive_fold(naive_add(naive_pseudo(d, proto, len - l4), d + l4, len - l4)) == 0xffff;
}

static bool ip4_ok(const uint8_t *d)
{
	return naive_fold(naive_add(0, d, (size_t)(d[0] & 0x0f) * 4)) == 0xffff;
}

/* ---- building packets ---- */

static const uint8_t src4[4] = { 192, 0, 2, 1 }, dst4[4] = { 192, 0, 2, 2 };
static const uint8_t src6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t dst6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

struct spec {
	uint8_t version;
	uint8_t proto;            /* IPPROTO_TCP or IPPROTO_UDP */
	size_t ext;               /* IPv6: a destination options header of this many bytes */
	size_t ip_opts;           /* IPv4: options bytes (multiple of 4) */
	bool no_df;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	uint32_t tsval;           /* TCP: a timestamps option (12 bytes) when nonzero */
	uint16_t id;
	size_t payload;
	uint8_t fill;             /* payload byte i is (fill + i * 7) */
	uint32_t payload_off;     /* ... counted from this offset into the stream */
};

/* Writes the packet of s to out; its length. The L4 checksum is valid
 * (partial: only the pseudo-header, as the kernel leaves it for offload). */
static size_t build(const struct spec *s, uint8_t *out, bool partial)
{
	size_t hlen;
	if (s->version == 4) {
		hlen = 20 + s->ip_opts;
		memset(out, 0, hlen);
		out[0] = (uint8_t)(0x40 | hlen / 4);
		out[1] = 0x10;
		p16(out + 4, s->id);
		p16(out + 6, s->no_df ? 0 : 0x4000);
		out[8] = 64;
		out[9] = s->proto;
		memcpy(out + 12, src4, 4);
		memcpy(out + 16, dst4, 4);
		for (size_t i = 0; i < s->ip_opts; i++)
			out[20 + i] = 1;   /* NOP */
	} else {
		hlen = 40 + s->ext;
		memset(out, 0, hlen);
		out[0] = 0x60;
		out[1] = 0x0a;
		out[2] = 0xbc;
		out[3] = 0xde;
		out[6] = s->ext ? IPPROTO_DSTOPTS : s->proto;
		out[7] = 64;
		memcpy(out + 8, src6, 16);
		memcpy(out + 24, dst6, 16);
		if (s->ext) {
			out[40] = s->proto;
			out[41] = (uint8_t)(s->ext / 8 - 1);
			out[42] = 1;   /* PadN */
			out[43] = (uint8_t)(s->ext - 4);
		}
	}
	uint8_t *l4 = out + hlen;
	size_t l4h;
	if (s->proto == IPPROTO_TCP) {
		l4h = s->tsval ? 32 : 20;
		memset(l4, 0, l4h);
		p16(l4, s->sport);
		p16(l4 + 2, s->dport);
		p32(l4 + 4, s->seq);
		p32(l4 + 8, s->ack);
		l4[12] = (uint8_t)(l4h / 4 << 4);
		l4[13] = s->flags;
		p16(l4 + 14, s->window);
		if (s->tsval) {
			l4[20] = 1;
			l4[21] = 1;
			l4[22] = 8;
			l4[23] = 10;
			p32(l4 + 24, s->tsval);
			p32(l4 + 28, 0x01020304);
		}
	} else {
		l4h = 8;
		memset(l4, 0, 8);
		p16(l4, s->sport);
		p16(l4 + 2, s->dport);
	}
	for (size_t i = 0; i < s->payload; i++)
		l4[l4h + i] = (uint8_t)(s->fill + (s->payload_off + i) * 7);
	size_t len = hlen + l4h + s->payload;
	if (s->version == 4) {
		p16(out + 2, (uint16_t)len);
		p16(out + 10, (uint16_t)~naive_fold(naive_add(0, out, hlen)));
	} else {
		p16(out + 4, (uint16_t)(len - 40));
	}
	if (s->proto == IPPROTO_UDP)
		p16(l4 + 4, (uint16_t)(len - hlen));
	size_t co = s->proto == IPPROTO_TCP ? 16 : 6;
	uint32_t ph = naive_pseudo(out, s->proto, len - hlen);
	if (partial)
		p16(l4 + co, naive_fold(ph));
	else
		p16(l4 + co, (uint16_t)~naive_fold(naive_add(ph, l4, len - hlen)));
	return len;
}

static size_t hlen_of(const struct spec *s)
{
	return s->version == 4 ? 20 + s->ip_opts : 40 + s->ext;
}

static size_t l4h_of(const struct spec *s)
{
	return s->proto == IPPROTO_TCP ? (s->tsval ? 32 : 20) : 8;
}

static struct virtio_net_hdr gso_hdr(const struct spec *s, uint16_t gso_size)
{
	struct virtio_net_hdr h = { 0 };
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = s->proto == IPPROTO_UDP ? VIRTIO_NET_HDR_GSO_UDP_L4
	             : s->version == 4       ? VIRTIO_NET_HDR_GSO_TCPV4
	                                     : VIRTIO_NET_HDR_GSO_TCPV6;
	h.gso_size = gso_size;
	h.hdr_len = (uint16_t)(hlen_of(s) + l4h_of(s));
	h.csum_start = (uint16_t)hlen_of(s);
	h.csum_offset = s->proto == IPPROTO_TCP ? 16 : 6;
	return h;
}

static uint8_t super[70000];
static uint8_t segs[64][2048];
static size_t seglen[64];

/* Segments super-packet spec s (gso_size) and checks every segment. */
static unsigned segment_and_check(const struct spec *s, uint16_t gso_size)
{
	size_t len = build(s, super, true);
	uint8_t orig[70000];
	memcpy(orig, super, len);
	struct virtio_net_hdr h = gso_hdr(s, gso_size);
	struct offload_seg sg;
	assert_true(offload_seg_start(&sg, &h, super, len, sizeof(segs[0])));
	size_t hl = hlen_of(s), l4h = l4h_of(s), total = s->payload;
	unsigned want = (unsigned)((total + gso_size - 1) / gso_size);
	unsigned n = 0;
	size_t got = 0;
	size_t l;
	while ((l = offload_seg_next(&sg, segs[n])) != 0) {
		assert_true(n < want);
		seglen[n] = l;
		const uint8_t *d = segs[n];
		size_t chunk = total - got < gso_size ? total - got : gso_size;
		bool last = n == want - 1;
		assert_int_equal(l, hl + l4h + chunk);
		/* IP */
		if (s->version == 4) {
			assert_int_equal(d[0], orig[0]);
			assert_int_equal(g16(d + 2), l);
			assert_int_equal(g16(d + 4), (uint16_t)(s->id + n));
			assert_int_equal(g16(d + 6), g16(orig + 6));
			assert_int_equal(d[8], 64);
			assert_memory_equal(d + 12, orig + 12, 8);
			assert_memory_equal(d + 20, orig + 20, hl - 20);
			assert_true(ip4_ok(d));
		} else {
			assert_int_equal(g16(d + 4), l - 40);
			assert_memory_equal(d, orig, 4);
			assert_memory_equal(d + 6, orig + 6, 34);
			assert_memory_equal(d + 40, orig + 40, hl - 40);
		}
		const uint8_t *l4 = d + hl;
		assert_memory_equal(l4, orig + hl, 4);   /* ports */
		if (s->proto == IPPROTO_TCP) {
			assert_int_equal(g32(l4 + 4), s->seq + (uint32_t)got);
			assert_int_equal(g32(l4 + 8), s->ack);
			uint8_t f = s->flags;
			if (!last)
				f &= (uint8_t)~(F_FIN | F_PSH);
			if (n > 0)
				f &= (uint8_t)~F_CWR;
			assert_int_equal(l4[13], f);
			assert_memory_equal(l4 + 14, orig + hl + 14, 2);
			assert_memory_equal(l4 + 18, orig + hl + 18, l4h - 18);
		} else {
			assert_int_equal(g16(l4 + 4), l - hl);
			assert_int_not_equal(g16(l4 + 6), 0);
		}
		assert_true(l4_ok(d, l, hl, s->proto));
		/* the payload, in order */
		assert_memory_equal(d + hl + l4h, orig + hl + l4h + got, chunk);
		got += chunk;
		n++;
	}
	assert_int_equal(n, want);
	assert_int_equal(got, total);
	assert_int_equal(offload_seg_next(&sg, segs[0]), 0);
	return n;
}

static void test_seg_tcp4(void **state)
{
	(void)state;
	struct spec s = { .version = 4, .proto = IPPROTO_TCP, .sport = 40000, .dport = 5201,
	                  .seq = 0xfffff000, /* wraps */ .ack = 0x12345678,
	                  .flags = F_ACK | F_PSH | F_FIN | F_CWR, .window = 512, .tsval = 777,
	                  .id = 0xfffe, /* wraps */ .payload = 10000, .fill = 3 };
	assert_int_equal(segment_and_check(&s, 1348), 8);
	/* An exact multiple of gso_size: the last segment is full. */
	s.payload = 4 * 1348;
	assert_int_equal(segment_and_check(&s, 1348), 4);
	/* IPv4 options and no TCP options; a 64 KB super-packet, odd sizes. */
	s.ip_opts = 8;
	s.tsval = 0;
	s.payload = 65535 - 28 - 20;
	s.flags = F_ACK | F_PSH;
	assert_int_equal(segment_and_check(&s, 1361), 49);
	/* One segment only. */
	s.payload = 100;
	assert_int_equal(segment_and_check(&s, 1348), 1);
}

static void test_seg_tcp6(void **state)
{
	(void)state;
	struct spec s = { .version = 6, .proto = IPPROTO_TCP, .sport = 40000, .dport = 5201,
	                  .seq = 1000, .ack = 99, .flags = F_ACK | F_PSH, .window = 1000,
	                  .tsval = 5, .payload = 60000, .fill = 9 };
	assert_int_equal(segment_and_check(&s, 1328), 46);
	/* With an extension header before TCP. */
	s.ext = 16;
	s.flags = F_ACK | F_CWR | F_FIN;
	s.payload = 3001;
	assert_int_equal(segment_and_check(&s, 1000), 4);
}

static void test_seg_udp(void **state)
{
	(void)state;
	struct spec s = { .version = 4, .proto = IPPROTO_UDP, .sport = 4433, .dport = 443,
	                  .id = 7, .payload = 5 * 1200 + 1, .fill = 1 };
	assert_int_equal(segment_and_check(&s, 1200), 6);
	s.version = 6;
	s.payload = 3 * 1200;
	assert_int_equal(segment_and_check(&s, 1200), 3);
}

/* Without GSO: the packet as it is, a partial checksum finished. */
static void test_seg_plain(void **state)
{
	(void)state;
	struct spec s = { .version = 4, .proto = IPPROTO_UDP, .sport = 53, .dport = 5353,
	                  .payload = 333, .fill = 5 };
	uint8_t out[2048];
	size_t len = build(&s, super, true);
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 20,
	                            .csum_offset = 6 };
	struct offload_seg sg;
	assert_false(l4_ok(super, len, 20, IPPROTO_UDP));
	assert_true(offload_seg_start(&sg, &h, super, len, sizeof(out)));
	assert_int_equal(offload_seg_next(&sg, out), len);
	assert_int_equal(offload_seg_next(&sg, out), 0);
	assert_true(l4_ok(out, len, 20, IPPROTO_UDP));
	uint8_t want[2048];
	assert_int_equal(build(&s, want, false), len);
	assert_memory_equal(out, want, len);

	/* No NEEDS_CSUM: not touched at all, whatever it is. */
	memset(&h, 0, sizeof(h));
	memcpy(super, "\x45garbage", 8);
	assert_true(offload_seg_start(&sg, &h, super, 8, sizeof(out)));
	assert_int_equal(offload_seg_next(&sg, out), 8);
	assert_memory_equal(out, "\x45garbage", 8);

	/* TCPv6 finished from csum_start. */
	s = (struct spec){ .version = 6, .proto = IPPROTO_TCP, .flags = F_ACK, .payload = 0 };
	len = build(&s, super, true);
	h = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 40,
	                             .csum_offset = 16 };
	assert_true(offload_seg_start(&sg, &h, super, len, sizeof(out)));
	assert_int_equal(offload_seg_next(&sg, out), len);
	assert_true(l4_ok(out, len, 40, IPPROTO_TCP));
}

static void test_seg_reject(void **state)
{
	(void)state;
	struct spec s = { .version = 4, .proto = IPPROTO_TCP, .flags = F_ACK, .payload = 5000 };
	struct offload_seg sg;
	size_t len = build(&s, super, true);
	struct virtio_net_hdr h = gso_hdr(&s, 1400);
	assert_true(offload_seg_start(&sg, &h, super, len, 1500));
	/* A segment longer than the room. */
	assert_false(offload_seg_start(&sg, &h, super, len, 1400));
	h.gso_size = 0;
	assert_false(offload_seg_start(&sg, &h, super, len, 1500));
	h = gso_hdr(&s, 1400);
	/* The wrong family for the gso_type, UFO, an unknown type. */
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	assert_false(offload_seg_start(&sg, &h, super, len, 1500));
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	assert_false(offload_seg_start(&sg, &h, super, len, 1500));
	h.gso_type = 9;
	assert_false(offload_seg_start(&sg, &h, super, len, 1500));
	h = gso_hdr(&s, 1400);
	/* A total length that disagrees; truncated headers. */
	assert_false(offload_seg_start(&sg, &h, super, len - 1, 1500));
	assert_false(offload_seg_start(&sg, &h, super, 30, 1500));
	assert_false(offload_seg_start(&sg, &h, super, 10, 1500));
	assert_false(offload_seg_start(&sg, &h, super, 0, 1500));
	/* A fragment. */
	super[6] |= 0x20;
	assert_false(offload_seg_start(&sg, &h, super, len, 1500));
	super[6] &= (uint8_t)~0x20;
	/* A TCP data offset beyond the packet. */
	super[20 + 12] = 0xf0;
	p16(super + 2, 60);
	assert_false(offload_seg_start(&sg, &h, super, 60, 1500));
	/* Not IP. */
	super[0] = 0x55;
	assert_false(offload_seg_start(&sg, &h, super, len, 1500));
	/* No GSO: too long, or a checksum position outside the packet. */
	len = build(&s, super, true);
	h = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 20,
	                             .csum_offset = 16 };
	assert_false(offload_seg_start(&sg, &h, super, len, 1500));
	h.csum_start = 5000;
	assert_false(offload_seg_start(&sg, &h, super, 1000, 1500));
	h.csum_start = 990;
	h.csum_offset = 9;
	assert_false(offload_seg_start(&sg, &h, super, 1000, 1500));
}

/* ---- coalescing ---- */

static uint8_t pkts[64][2048];
static uint8_t flat[70000];

/* Item i of g flattened into flat (vnet header into *h); its length. */
static size_t flatten(struct offload_gro *g, unsigned i, struct virtio_net_hdr *h, unsigned *n)
{
	struct iovec iov[OFFLOAD_GRO_MAX + 1];
	size_t niov = offload_gro_item(g, i, h, iov, n);
	assert_true(niov >= 2);
	assert_ptr_equal(iov[0].iov_base, h);
	assert_int_equal(iov[0].iov_len, sizeof(*h));
	assert_int_equal(niov, *n + 1);
	size_t len = 0;
	for (size_t k = 1; k < niov; k++) {
		memcpy(flat + len, iov[k].iov_base, iov[k].iov_len);
		len += iov[k].iov_len;
	}
	return len;
}

/* Checks a coalesced packet as the kernel would take it: headers, the
 * partial checksum, and that finishing it gives a valid one. */
static void check_coalesced(const struct virtio_net_hdr *h, size_t len, size_t hl, size_t thl,
                            size_t gso)
{
	uint8_t v = flat[0] >> 4;
	assert_int_equal(h->flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(h->gso_type, v == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6);
	assert_int_equal(h->gso_size, gso);
	assert_int_equal(h->hdr_len, hl + thl);
	assert_int_equal(h->csum_start, hl);
	assert_int_equal(h->csum_offset, 16);
	if (v == 4) {
		assert_int_equal(g16(flat + 2), len);
		assert_true(ip4_ok(flat));
	} else {
		assert_int_equal(g16(flat + 4), len - 40);
	}
	assert_int_equal(g16(flat + hl + 16), naive_fold(naive_pseudo(flat, IPPROTO_TCP, len - hl)));
	/* Finish it as the device would: the sum from csum_start, inverted. */
	uint16_t c = (uint16_t)~naive_fold(naive_add(0, flat + hl, len - hl));
	p16(flat + hl + 16, c);
	assert_true(l4_ok(flat, len, hl, IPPROTO_TCP));
}

/* Segments a super-packet, coalesces the segments again: the same packet. */
static void roundtrip(const struct spec *s, uint16_t gso)
{
	unsigned n = segment_and_check(s, gso);
	uint8_t orig[70000];
	size_t len = build(s, orig, true);
	struct offload_gro *g = calloc(1, sizeof(*g));
	assert_non_null(g);
	for (unsigned i = 0; i < n; i++) {
		memcpy(pkts[i], segs[i], seglen[i]);
		assert_true(offload_gro_add(g, pkts[i], seglen[i]));
	}
	assert_int_equal(g->nitems, 1);
	struct virtio_net_hdr h;
	unsigned np;
	size_t flen = flatten(g, 0, &h, &np);
	assert_int_equal(np, n);
	assert_int_equal(flen, len);
	assert_memory_equal(flat, orig, len);   /* the partial checksum included */
	check_coalesced(&h, flen, hlen_of(s), l4h_of(s), gso);
	free(g);
}

static void test_gro_roundtrip(void **state)
{
	(void)state;
	struct spec s = { .version = 4, .proto = IPPROTO_TCP, .sport = 5201, .dport = 40000,
	                  .seq = 0xffffff00, .ack = 77, .flags = F_ACK | F_PSH, .window = 333,
	                  .tsval = 1234, .id = 100, .payload = 20 * 1348 + 17, .fill = 11 };
	roundtrip(&s, 1348);
	s.payload = 48 * 1348;   /* no short last segment */
	s.flags = F_ACK;
	roundtrip(&s, 1348);
	s.version = 6;
	s.payload = 30 * 1328 + 1;
	s.flags = F_ACK | F_PSH;
	roundtrip(&s, 1328);
}

/* One segment of a flow: payload n bytes at stream offset off. */
static size_t seg_pkt(uint8_t *out, uint8_t version, uint16_t sport, uint32_t off, size_t n,
                      uint8_t flags)
{
	struct spec s = { .version = version, .proto = IPPROTO_TCP, .sport = sport, .dport = 80,
	                  .seq = 1000 + off, .ack = 5, .flags = flags, .window = 64, .tsval = 9,
	                  .payload = n, .payload_off = off, .fill = (uint8_t)sport };
	return build(&s, out, false);
}

/* Two flows interleaved: two items, each the whole stream of its flow. */
static void test_gro_interleaved(void **state)
{
	(void)state;
	struct offload_gro *g = calloc(1, sizeof(*g));
	assert_non_null(g);
	size_t len[64];
	for (unsigned i = 0; i < 20; i++) {
		uint16_t port = i % 2 ? 2000 : 1000;
		uint8_t flags = i >= 18 ? F_ACK | F_PSH : F_ACK;
		len[i] = seg_pkt(pkts[i], 4, port, (i / 2) * 1000, 1000, flags);
		assert_true(offload_gro_add(g, pkts[i], len[i]));
	}
	assert_int_equal(g->nitems, 2);
	for (unsigned it = 0; it < 2; it++) {
		struct virtio_net_hdr h;
		unsigned np;
		size_t flen = flatten(g, it, &h, &np);
		assert_int_equal(np, 10);
		assert_int_equal(flen, 20 + 32 + 10000);
		check_coalesced(&h, flen, 20, 32, 1000);
		assert_int_equal(g16(flat + 20), it ? 2000 : 1000);
		assert_int_equal(flat[20 + 13], F_ACK | F_PSH);
		uint8_t want[2048];
		for (unsigned k = 0; k < 10; k++) {
			seg_pkt(want, 4, it ? 2000 : 1000, k * 1000, 1000, F_ACK);
			assert_memory_equal(flat + 52 + k * 1000, want + 52, 1000);
		}
	}
	free(g);
}

static uint8_t scratch[8][2048];

/* Adds (copies of) packets p[0..n) to a fresh round; returns the number
 * of items, *sizes the packets per item. */
static unsigned items_of(uint8_t (*p)[2048], const size_t *len, unsigned n, unsigned *sizes)
{
	struct offload_gro *g = calloc(1, sizeof(*g));
	assert_non_null(g);
	assert_true(n <= 8);
	for (unsigned i = 0; i < n; i++) {
		memcpy(scratch[i], p[i], len[i]);
		assert_true(offload_gro_add(g, scratch[i], len[i]));
	}
	unsigned ni = g->nitems;
	for (unsigned i = 0; i < ni; i++) {
		struct virtio_net_hdr h;
		size_t flen = flatten(g, i, &h, &sizes[i]);
		if (sizes[i] == 1) {
			/* Written as it came. */
			assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
			assert_int_equal(h.flags, 0);
		} else {
			check_coalesced(&h, flen, (flat[0] >> 4) == 4 ? 20 : 40, 32, h.gso_size);
		}
	}
	free(g);
	return ni;
}

static void test_gro_separate(void **state)
{
	(void)state;
	size_t len[8];
	unsigned sizes[8];
	/* Base case: three in order coalesce. */
	for (unsigned i = 0; i < 3; i++)
		len[i] = seg_pkt(pkts[i], 4, 1, i * 100, 100, F_ACK);
	assert_int_equal(items_of(pkts, len, 3, sizes), 1);
	assert_int_equal(sizes[0], 3);

	/* A gap in the sequence. */
	len[1] = seg_pkt(pkts[1], 4, 1, 150, 100, F_ACK);
	assert_int_equal(items_of(pkts, len, 2, sizes), 2);

	/* A retransmission (overlap) and reordering. */
	len[1] = seg_pkt(pkts[1], 4, 1, 0, 100, F_ACK);
	assert_int_equal(items_of(pkts, len, 2, sizes), 2);

	/* SYN, FIN, a pure ACK, CWR: each alone. */
	static const uint8_t bad_flags[] = { F_SYN | F_ACK, F_FIN | F_ACK, F_ACK | F_CWR, 0 };
	for (size_t f = 0; f < sizeof(bad_flags); f++) {
		len[0] = seg_pkt(pkts[0], 4, 1, 0, 100, F_ACK);
		len[1] = seg_pkt(pkts[1], 4, 1, 100, 100, bad_flags[f]);
		len[2] = seg_pkt(pkts[2], 4, 1, 200, 100, F_ACK);
		assert_int_equal(items_of(pkts, len, 3, sizes), 3);
	}
	len[1] = seg_pkt(pkts[1], 4, 1, 100, 0, F_ACK);
	assert_int_equal(items_of(pkts, len, 3, sizes), 3);

	/* PSH ends an item: the next one starts another. */
	len[1] = seg_pkt(pkts[1], 4, 1, 100, 100, F_ACK | F_PSH);
	assert_int_equal(items_of(pkts, len, 3, sizes), 2);
	assert_int_equal(sizes[0], 2);
	assert_int_equal(sizes[1], 1);

	/* A shorter segment ends an item; a longer one is not appended. */
	len[1] = seg_pkt(pkts[1], 4, 1, 100, 50, F_ACK);
	len[2] = seg_pkt(pkts[2], 4, 1, 150, 100, F_ACK);
	assert_int_equal(items_of(pkts, len, 3, sizes), 2);
	assert_int_equal(sizes[0], 2);
	len[1] = seg_pkt(pkts[1], 4, 1, 100, 200, F_ACK);
	len[2] = seg_pkt(pkts[2], 4, 1, 300, 100, F_ACK);
	assert_int_equal(items_of(pkts, len, 3, sizes), 2);
	assert_int_equal(sizes[0], 1);
	assert_int_equal(sizes[1], 2);

	/* A bad checksum: alone, and what follows does not join the item
	 * before it (it would overtake it). */
	len[0] = seg_pkt(pkts[0], 4, 1, 0, 100, F_ACK);
	len[1] = seg_pkt(pkts[1], 4, 1, 100, 100, F_ACK);
	len[2] = seg_pkt(pkts[2], 4, 1, 200, 100, F_ACK);
	pkts[1][60] ^= 1;
	assert_int_equal(items_of(pkts, len, 3, sizes), 3);

	/* Different ACK, window, TCP options, TTL, TOS: separate. */
	for (int k = 0; k < 5; k++) {
		len[0] = seg_pkt(pkts[0], 4, 1, 0, 100, F_ACK);
		len[1] = seg_pkt(pkts[1], 4, 1, 100, 100, F_ACK);
		uint8_t *d = pkts[1];
		switch (k) {
		case 0: d[20 + 11] ^= 1; break;             /* ack */
		case 1: d[20 + 15] ^= 1; break;             /* window */
		case 2: d[20 + 27] ^= 1; break;             /* TSval */
		case 3: d[8]--; break;                      /* TTL */
		case 4: d[1] |= 3; break;                   /* ECN CE */
		}
		/* keep the checksums right, so only the difference counts */
		d[10] = d[11] = 0;
		p16(d + 10, (uint16_t)~naive_fold(naive_add(0, d, 20)));
		d[36] = d[37] = 0;
		p16(d + 36, (uint16_t)~naive_fold(naive_add(naive_pseudo(d, IPPROTO_TCP, len[1] - 20),
		                                            d + 20, len[1] - 20)));
		assert_true(l4_ok(d, len[1], 20, IPPROTO_TCP));
		assert_int_equal(items_of(pkts, len, 2, sizes), 2);
	}

	/* Not DF; IPv4 options; a different flow; UDP; not IP: separate. */
	struct spec s = { .version = 4, .proto = IPPROTO_TCP, .sport = 1, .dport = 80,
	                  .seq = 1100, .ack = 5, .flags = F_ACK, .window = 64, .tsval = 9,
	                  .payload = 100, .payload_off = 100, .fill = 1 };
	len[0] = seg_pkt(pkts[0], 4, 1, 0, 100, F_ACK);
	s.no_df = true;
	len[1] = build(&s, pkts[1], false);
	assert_int_equal(items_of(pkts, len, 2, sizes), 2);
	s.no_df = false;
	s.ip_opts = 4;
	len[1] = build(&s, pkts[1], false);
	assert_int_equal(items_of(pkts, len, 2, sizes), 2);
	len[1] = seg_pkt(pkts[1], 4, 2, 100, 100, F_ACK);
	assert_int_equal(items_of(pkts, len, 2, sizes), 2);
	s = (struct spec){ .version = 4, .proto = IPPROTO_UDP, .sport = 1, .dport = 80,
	                   .payload = 100 };
	len[1] = build(&s, pkts[1], false);
	len[2] = seg_pkt(pkts[2], 4, 1, 100, 100, F_ACK);
	assert_int_equal(items_of(pkts, len, 3, sizes), 2);   /* UDP between: no harm */
	assert_int_equal(sizes[0], 2);
	memcpy(pkts[1], "\x00\x01\x02", 3);
	len[1] = 3;
	assert_int_equal(items_of(pkts, len, 3, sizes), 2);
	/* IPv4 and IPv6 never mix. */
	len[1] = seg_pkt(pkts[1], 6, 1, 100, 100, F_ACK);
	assert_int_equal(items_of(pkts, len, 2, sizes), 2);

	/* IPv6: coalesces; a different flow label does not. */
	len[0] = seg_pkt(pkts[0], 6, 1, 0, 100, F_ACK);
	assert_int_equal(items_of(pkts, len, 2, sizes), 1);
	pkts[1][3] ^= 1;
	assert_int_equal(items_of(pkts, len, 2, sizes), 2);
}

/* Never more than 64 KB in one packet; a full round refuses more. */
static void test_gro_limits(void **state)
{
	(void)state;
	struct offload_gro *g = calloc(1, sizeof(*g));
	assert_non_null(g);
	size_t len;
	for (unsigned i = 0; i < OFFLOAD_GRO_MAX; i++) {
		len = seg_pkt(pkts[i], 4, 7, i * 1400, 1400, F_ACK);
		assert_true(offload_gro_add(g, pkts[i], len));
	}
	assert_false(offload_gro_add(g, pkts[0], len));
	unsigned total = 0;
	for (unsigned i = 0; i < g->nitems; i++) {
		struct virtio_net_hdr h;
		unsigned np;
		size_t flen = flatten(g, i, &h, &np);
		assert_true(flen <= 65535);
		total += np;
	}
	assert_int_equal(total, OFFLOAD_GRO_MAX);
	assert_int_equal(g->nitems, 2);   /* 46 x 1400 + 52 < 65535 < 47 x 1400 + 52 */
	offload_gro_reset(g);
	assert_int_equal(g->nitems, 0);
	assert_true(offload_gro_add(g, pkts[0], len));
	free(g);
}

/* offload_sum against the naive sum, at every length and alignment. */
static void test_sum(void **state)
{
	(void)state;
	uint8_t buf[300];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len + off <= sizeof(buf); len++)
			assert_int_equal(offload_sum(buf + off, len, 0x1fffe),
			                 naive_fold(naive_add(0x1fffe, buf + off, len)));
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(offload_sum(buf, 299, 0xffff), naive_fold(naive_add(0xffff, buf, 299)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sum),
		cmocka_unit_test(test_seg_tcp4),
		cmocka_unit_test(test_seg_tcp6),
		cmocka_unit_test(test_seg_udp),
		cmocka_unit_test(test_seg_plain),
		cmocka_unit_test(test_seg_reject),
		cmocka_unit_test(test_gro_roundtrip),
		cmocka_unit_test(test_gro_interleaved),
		cmocka_unit_test(test_gro_separate),
		cmocka_unit_test(test_gro_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
