/*
 * AH (RFC 4302) output and input, transport and tunnel mode, IPv4 and IPv6.
 *
 *   [IP hdr][AH: nh, len, rsvd, SPI, seq, ICV (+pad)][payload]
 *
 * The ICV covers the IP header with its mutable fields zeroed (§3.3.3.1),
 * the AH header with a zero ICV, the payload and, with ESN, the high half of
 * the sequence number. The header is zeroed in a copy, so the packet itself
 * is only touched to insert or remove the AH header.
 */
#include "esp/esp.h"

#include <string.h>
#include <sys/socket.h>

#include "esp/xform.h"

#define AH_FIXED 12
#define AH_MAX_HEADER 512   /* IP header + extension headers covered by the ICV */

/* RFC 4302 Appendix A.1: only these IPv4 options are immutable; every other
 * one (record route, timestamp, source routes, traceroute, the experimental
 * and superseded ones) is zeroed for the ICV. */
static bool v4_option_mutable(uint8_t type)
{
	return type != 0 && type != 1 && type != 130 && type != 133 && type != 134 &&
	       type != 148 && type != 149;
}

/* Copies the header part [0, hlen) to out with every mutable field zeroed. */
static bool zero_mutable(const uint8_t *d, size_t hlen, int version, uint8_t *out)
{
	if (hlen > AH_MAX_HEADER)
		return false;
	memcpy(out, d, hlen);
	if (version == 4) {
		out[1] = 0;                               /* TOS */
		out[6] = out[7] = 0;                      /* flags, fragment offset */
		out[8] = 0;                               /* TTL */
		out[10] = out[11] = 0;                    /* checksum */
		size_t ihl = (size_t)(out[0] & 15) * 4;
		for (size_t i = 20; i < ihl;) {
			uint8_t type = out[i];
			if (type == 0)
				break;
			if (type == 1) {
				i++;
				continue;
			}
			if (i + 1 >= ihl || out[i + 1] < 2 || i + out[i + 1] > ihl)
				return false;
			size_t n = out[i + 1];
			if (v4_option_mutable(type))
				memset(out + i, 0, n);
			i += n;
		}
		return true;
	}
	out[0] &= 0xf0;                                   /* traffic class, flow label */
	out[1] = out[2] = out[3] = 0;
	out[7] = 0;                                       /* hop limit */
	/* Hop-by-hop and destination options marked "may change en route". */
	uint8_t nh = out[6];
	size_t off = 40;
	while (off < hlen && (nh == 0 || nh == 60 || nh == 43 || nh == 44)) {
		size_t n = nh == 44 ? 8 : ((size_t)out[off + 1] + 1) * 8;
		if (off + n > hlen)
			return false;
		if (nh == 0 || nh == 60) {
			for (size_t i = off + 2; i < off + n;) {
				if (out[i] == 0) {                    /* Pad1 */
					i++;
					continue;
				}
				if (i + 1 >= off + n || i + 2 + out[i + 1] > off + n)
					return false;
				if (out[i] & 0x20)
					memset(out + i + 2, 0, out[i + 1]);
				i += 2 + (size_t)out[i + 1];
			}
		}
		nh = out[off];
		off += n;
	}
	return true;
}

static size_t ah_length(const struct ipsec_sa *sa, int version)
{
	size_t n = AH_FIXED + sa->mac.icv_len;
	size_t align = version == 6 ? 8 : 4;      /* §2.2: 64-bit alignment for IPv6 */
	return (n + align - 1) / align * align;
}

/* ICV over header copy | AH..end | ESN high half. The ICV field must be zero. */
static bool ah_icv(struct ipsec_sa *sa, const uint8_t *pkt, size_t hlen, int version,
                   size_t total, uint64_t seq, uint8_t *icv)
{
	uint8_t hdr[AH_MAX_HEADER], hi[4];
	if (!zero_mutable(pkt, hlen, version, hdr))
		return false;
	ip_put32(hi, (uint32_t)(seq >> 32));
	return mac_compute(&sa->mac, hdr, hlen, pkt + hlen, total - hlen, hi, sa->esn ? 4 : 0, icv);
}

enum sa_drop ah_output(struct ipsec_sa *sa, struct pkt *p, uint64_t now)
{
	uint8_t *d = pkt_data(p);
	struct out_place o;

	enum sa_drop why = sa_may_send(sa, now);
	if (why != DROP_NONE || (why = out_place(sa, d, p->len, &o)) != DROP_NONE)
		return why;
	int version = o.version;
	size_t outer = o.outer;
	size_t hlen = o.keep + o.outer;     /* the header the ICV covers */
	size_t ahlen = ah_length(sa, version);
	size_t total = p->len + outer + ahlen;
	if (p->off < outer + ahlen)
		return sa_drop(sa, DROP_NO_ROOM);
	if (total > 65535)
		return sa_drop(sa, DROP_BAD_LENGTH);
	size_t plen = p->len - o.keep;
	if (sa_account(sa, plen, now) == SA_EVENT_HARD)
		return sa_drop(sa, DROP_LIFETIME);

	uint64_t seq = ++sa->seq;
	uint8_t *start = d - outer - ahlen;
	if (sa->mode == SA_TUNNEL)
		ip_write_outer(start, version, sa->src.bytes, sa->dst.bytes, SA_PROTO_AH,
		               ip_traffic_class(d), total, (uint16_t)seq);
	else
		memmove(start, d, hlen);
	uint8_t *ah = start + hlen;
	memset(ah, 0, ahlen);
	ah[0] = o.nh;
	ah[1] = (uint8_t)(ahlen / 4 - 2);
	ip_put32(ah + 4, sa->spi);
	ip_put32(ah + 8, (uint32_t)seq);
	start[o.nh_off] = SA_PROTO_AH;
	ip_set_total(start, version, total);
	if (!ah_icv(sa, start, hlen, version, total, seq, ah + AH_FIXED))
		return sa_drop(sa, DROP_BAD_LENGTH);
	p->off -= outer + ahlen;
	p->len = total;
	sa->count.packets++;
	sa->count.bytes += plen;
	sa->count.auth_bytes += plen;   /* the payload protected, as ESP counts it */
	return DROP_NONE;
}

enum sa_drop ah_input(struct ipsec_sa *sa, struct pkt *p, uint64_t now)
{
	struct ip_info ii;
	if (!sa_usable(sa, now))
		return sa_drop(sa, DROP_LIFETIME);
	if (!ip_find_proto(pkt_data(p), p->len, SA_PROTO_AH, &ii))
		return sa_drop(sa, malformed(pkt_data(p), p->len));
	return ah_input_at(sa, p, now, &ii);
}

enum sa_drop ah_input_at(struct ipsec_sa *sa, struct pkt *p, uint64_t now,
                         const struct ip_info *found)
{
	uint8_t *d = pkt_data(p);
	struct ip_info ii = *found;
	if (ii.total - ii.hlen < AH_FIXED)
		return sa_drop(sa, DROP_TRUNCATED);
	uint8_t *ah = d + ii.hlen;
	size_t ahlen = ((size_t)ah[1] + 2) * 4;
	if (ahlen != ah_length(sa, ii.version))
		return sa_drop(sa, DROP_BAD_LENGTH);
	if (ii.hlen + ahlen > ii.total)
		return sa_drop(sa, DROP_TRUNCATED);

	uint64_t seq;
	enum sa_drop why = sa_replay_check(sa, ip_get32(ah + 8), &seq);
	if (why != DROP_NONE)
		return why;
	uint8_t got[64], want[64];
	size_t icv = sa->mac.icv_len;
	memcpy(got, ah + AH_FIXED, icv);
	memset(ah + AH_FIXED, 0, icv);
	bool ok = ah_icv(sa, d, ii.hlen, ii.version, ii.total, seq, want) &&
	          crypto_icv_equal(got, want, icv);
	memcpy(ah + AH_FIXED, got, icv);
	if (!ok)
		return sa_drop(sa, DROP_AUTH);
	replay_update(&sa->replay, seq);

	uint8_t nh = ah[0];
	size_t plen = ii.total - ii.hlen - ahlen;
	/* Tunnel mode: checked before any accounting (a drop moves only its counter). */
	size_t inner = 0;
	if (sa->mode == SA_TUNNEL && !inner_packet(nh, ah + ahlen, plen, &inner))
		return sa_drop(sa, DROP_BAD_LENGTH);
	if (sa_account(sa, plen, now) == SA_EVENT_HARD)
		return sa_drop(sa, DROP_LIFETIME);
	sa->count.auth_bytes += plen;
	if (sa->mode == SA_TUNNEL) {
		p->off += ii.hlen + ahlen;
		p->len = inner;
	} else {
		close_gap(p, &ii, ahlen, nh, ii.total - ahlen);
	}
	sa->count.packets++;
	sa->count.bytes += plen;
	return DROP_NONE;
}
