/*
 * fuzz_classify: the driver's packet classifier, driver_classify() -- the
 * first code to read a packet steered into the TUN device (and an inner
 * packet after decryption). The input is the IP packet.
 *
 * Invariants (abort() with "INVARIANT BROKEN" when one does not hold):
 *   - false for an empty packet, a version other than 4 or 6, an IPv4
 *     packet shorter than 20 bytes or an IPv6 packet shorter than 40;
 *   - on true: family AF_INET for version 4, AF_INET6 for version 6; the
 *     addresses are the header's (the unused bytes of an IPv4 address zero);
 *     IPv4: the protocol is the header's and the header length, total
 *     length and fragment offset are honoured exactly (the ports are those
 *     at IHL*4 of a first fragment with 4 bytes there, else 0);
 *     IPv6: the protocol is the header's next header or one named inside
 *     the packet;
 *   - the ports are 0 unless the protocol is TCP (6) or UDP (17);
 *   - bytes after the packet's own total length (link padding) change
 *     nothing: the packet with 64 bytes appended classifies the same.
 * ASan reports any read outside the packet (it is passed in a buffer of
 * exactly its size).
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "driver/driver.h"

#define FUZZ_MAX_INPUT (65535 + 64)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, size_t len)
{
	fprintf(stderr, "INVARIANT BROKEN: %s (packet of %zu bytes)\n", what, len);
	abort();
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool same(const struct spd_packet *a, const struct spd_packet *b)
{
	return a->family == b->family && !memcmp(a->src, b->src, 16) &&
	       !memcmp(a->dst, b->dst, 16) && a->protocol == b->protocol &&
	       a->src_port == b->src_port && a->dst_port == b->dst_port;
}

/* IPv4 as RFC 791 has it, independently of the classifier. */
static void check4(const uint8_t *d, size_t len, bool ok, const struct spd_packet *p)
{
	if (len < 20) {
		if (ok)
			fail("IPv4 packet shorter than its header accepted", len);
		return;
	}
	size_t ihl = (size_t)(d[0] & 0x0f) * 4, total = get16(d + 2);
	bool valid = ihl >= 20 && ihl <= len && total >= ihl;
	if (ok != valid)
		fail(ok ? "IPv4 packet with a bad header accepted"
		        : "IPv4 packet with a good header refused", len);
	if (!ok)
		return;
	if (p->family != AF_INET)
		fail("IPv4 packet not AF_INET", len);
	static const uint8_t zero[12];
	if (memcmp(p->src, d + 12, 4) || memcmp(p->dst, d + 16, 4) || memcmp(p->src + 4, zero, 12) ||
	    memcmp(p->dst + 4, zero, 12))
		fail("IPv4 addresses are not the header's", len);
	if (p->protocol != d[9])
		fail("IPv4 protocol is not the header's", len);
	size_t end = total < len ? total : len;
	bool first = (get16(d + 6) & 0x1fff) == 0;
	uint16_t sp = 0, dp = 0;
	if ((d[9] == IPPROTO_TCP || d[9] == IPPROTO_UDP) && first && end - ihl >= 4) {
		sp = get16(d + ihl);
		dp = get16(d + ihl + 2);
	}
	if (p->src_port != sp || p->dst_port != dp)
		fail("IPv4 ports are not those of the first fragment's L4 header", len);
}

static void check6(const uint8_t *d, size_t len, bool ok, const struct spd_packet *p)
{
	if (len < 40 && ok)
		fail("IPv6 packet shorter than its header accepted", len);
	if (!ok)
		return;
	if (p->family != AF_INET6)
		fail("IPv6 packet not AF_INET6", len);
	if (memcmp(p->src, d + 8, 16) || memcmp(p->dst, d + 24, 16))
		fail("IPv6 addresses are not the header's", len);
	/* The upper-layer protocol was read from the header or from inside the
	 * packet (an extension header's next-header byte). */
	bool found = p->protocol == d[6];
	for (size_t i = 40; !found && i < len; i++)
		found = d[i] == p->protocol;
	if (!found)
		fail("IPv6 protocol is not a byte of the packet", len);
	if (p->src_port || p->dst_port) {
		/* Ports come from 4 bytes inside the packet, after the header. */
		bool seen = false;
		for (size_t i = 40; !seen && i + 4 <= len; i++)
			seen = get16(d + i) == p->src_port && get16(d + i + 2) == p->dst_port;
		if (!seen)
			fail("IPv6 ports are not bytes of the packet", len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return 0;
	uint8_t *pkt = malloc(size ? size : 1);
	if (!pkt)
		return 0;
	memcpy(pkt, data, size);

	struct spd_packet p, q;
	memset(&p, 0x5a, sizeof(p));
	bool ok = driver_classify(pkt, size, &p);
	unsigned version = size ? pkt[0] >> 4 : 0;

	if (ok && version != 4 && version != 6)
		fail("a packet that is neither IPv4 nor IPv6 accepted", size);
	if (ok && p.family != AF_INET && p.family != AF_INET6)
		fail("family neither AF_INET nor AF_INET6", size);
	if ((p.src_port || p.dst_port) && p.protocol != IPPROTO_TCP && p.protocol != IPPROTO_UDP)
		fail("ports for a protocol other than TCP and UDP", size);
	if (version == 4)
		check4(pkt, size, ok, &p);
	else if (version == 6)
		check6(pkt, size, ok, &p);

	/* Deterministic, and blind to bytes after the packet's total length. */
	memset(&q, 0xa5, sizeof(q));
	if (driver_classify(pkt, size, &q) != ok || !same(&p, &q))
		fail("two classifications of the same packet differ", size);
	size_t total = 0;
	if (version == 4 && size >= 4)
		total = get16(pkt + 2);
	else if (version == 6 && size >= 6)
		total = 40 + (size_t)get16(pkt + 4);
	if (ok && total && total <= size) {
		uint8_t *padded = malloc(size + 64);
		if (padded) {
			memcpy(padded, pkt, size);
			for (size_t i = 0; i < 64; i++)
				padded[size + i] = (uint8_t)(pkt[i % size] ^ 0x5c);
			memset(&q, 0, sizeof(q));
			if (!driver_classify(padded, size + 64, &q) || !same(&p, &q))
				fail("link padding after the packet changed its classification", size);
			free(padded);
		}
	}
	free(pkt);
	return 0;
}
