/*
 * IPv4 and IPv6 header walking for ESP/AH placement. Every read is checked
 * against the buffer length first; a length field is believed only after it
 * has been compared with what was received.
 */
#include "esp/ip.h"

#include <string.h>
#include <sys/socket.h>

uint16_t ip_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

void ip_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

uint32_t ip_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void ip_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void ipv4_fix_checksum(uint8_t *d)
{
	size_t ihl = (size_t)(d[0] & 15) * 4;
	uint32_t sum = 0;
	d[10] = d[11] = 0;
	for (size_t i = 0; i + 1 < ihl; i += 2)
		sum += ip_get16(d + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip_put16(d + 10, (uint16_t)~sum);
}

void ip_set_total(uint8_t *d, int version, size_t total)
{
	if (version == 4) {
		ip_put16(d + 2, (uint16_t)total);
		ipv4_fix_checksum(d);
	} else {
		ip_put16(d + 4, (uint16_t)(total - 40));
	}
}

/* The fixed header: version, claimed total length, header length. */
static bool ip_base(const uint8_t *d, size_t len, struct ip_info *ii)
{
	memset(ii, 0, sizeof(*ii));
	if (len < 1)
		return false;
	ii->version = d[0] >> 4;
	if (ii->version == 4) {
		if (len < 20)
			return false;
		ii->hlen = (size_t)(d[0] & 15) * 4;
		ii->total = ip_get16(d + 2);
		ii->nh_off = 9;
		ii->nh = d[9];
		/* Fragments are reassembled before IPsec processing (RFC 4303 §3.4.1). */
		return ii->hlen >= 20 && ii->hlen <= ii->total && ii->total <= len &&
		       (ip_get16(d + 6) & 0x3fff) == 0;
	}
	if (ii->version == 6) {
		if (len < 40)
			return false;
		ii->hlen = 40;
		ii->total = 40 + (size_t)ip_get16(d + 4);
		ii->nh_off = 6;
		ii->nh = d[6];
		return ii->total <= len;
	}
	return false;
}

/* Length of the IPv6 extension header of type nh at d[off], or 0 if malformed. */
static size_t ext_len(const uint8_t *d, size_t total, size_t off, uint8_t nh)
{
	if (off + 8 > total)
		return 0;
	size_t n = nh == 44 ? 8 : nh == 51 ? ((size_t)d[off + 1] + 2) * 4 : ((size_t)d[off + 1] + 1) * 8;
	return off + n <= total ? n : 0;
}

bool ip_find_insert(const uint8_t *d, size_t len, struct ip_info *ii)
{
	if (!ip_base(d, len, ii))
		return false;
	if (ii->version == 4)
		return true;
	/* IPv6: ESP/AH come after the headers routers look at (RFC 4303 §3.1.1):
	 * hop-by-hop, routing, fragment, and destination options placed in front
	 * of a routing header (those are for its intermediate destinations, RFC
	 * 8200 §4.1). Destination options for the final destination stay behind. */
	for (int i = 0; i < 16 && (ii->nh == 0 || ii->nh == 43 || ii->nh == 44 || ii->nh == 60);
	     i++) {
		size_t n = ext_len(d, ii->total, ii->hlen, ii->nh);
		if (!n || (ii->nh == 0 && ii->hlen != 40))
			return false;
		if (ii->nh == 60 && d[ii->hlen] != 43)
			break;
		ii->nh_off = ii->hlen;
		ii->nh = d[ii->hlen];
		ii->hlen += n;
	}
	return ii->nh != 0 && ii->nh != 43 && ii->nh != 44;
}

static bool wanted(uint8_t nh, uint8_t proto)
{
	return proto ? nh == proto : nh == 50 || nh == 51;
}

bool ip_find_proto(const uint8_t *d, size_t len, uint8_t proto, struct ip_info *ii)
{
	if (!ip_base(d, len, ii))
		return false;
	if (ii->version == 4)
		return wanted(ii->nh, proto);
	for (int i = 0; i < 16 && !wanted(ii->nh, proto); i++) {
		/* ESP may follow AH (an AH+ESP bundle); everything else ends the walk. */
		if (ii->nh != 0 && ii->nh != 43 && ii->nh != 44 && ii->nh != 60 &&
		    !(ii->nh == 51 && proto == 50))
			return false;
		size_t n = ext_len(d, ii->total, ii->hlen, ii->nh);
		if (!n)
			return false;
		ii->nh_off = ii->hlen;
		ii->nh = d[ii->hlen];
		ii->hlen += n;
	}
	return wanted(ii->nh, proto);
}

bool ip_truncated(const uint8_t *d, size_t len)
{
	if (len < 20)
		return true;
	if (d[0] >> 4 == 4)
		return (size_t)(d[0] & 15) * 4 > len || ip_get16(d + 2) > len;
	if (d[0] >> 4 == 6)
		return len < 40 || 40 + (size_t)ip_get16(d + 4) > len;
	return false;
}

bool ip_packet(const uint8_t *d, size_t len, int *version, size_t *total)
{
	if (len >= 20 && d[0] >> 4 == 4 && (size_t)(d[0] & 15) * 4 >= 20) {
		*version = 4;
		*total = ip_get16(d + 2);
	} else if (len >= 40 && d[0] >> 4 == 6) {
		*version = 6;
		*total = 40 + (size_t)ip_get16(d + 4);
	} else {
		return false;
	}
	return *total <= len && (*version == 6 || *total >= (size_t)(d[0] & 15) * 4);
}

uint8_t ip_traffic_class(const uint8_t *d)
{
	return d[0] >> 4 == 4 ? d[1] : (uint8_t)((d[0] & 15) << 4 | d[1] >> 4);
}

void ip_write_outer(uint8_t *d, int version, const uint8_t *src, const uint8_t *dst,
                    uint8_t proto, uint8_t tc, size_t total, uint16_t id)
{
	if (version == 4) {
		memset(d, 0, 20);
		d[0] = 0x45;
		d[1] = tc;
		ip_put16(d + 2, (uint16_t)total);
		ip_put16(d + 4, id);
		d[8] = 64;
		d[9] = proto;
		memcpy(d + 12, src, 4);
		memcpy(d + 16, dst, 4);
		ipv4_fix_checksum(d);
		return;
	}
	memset(d, 0, 40);
	d[0] = (uint8_t)(0x60 | tc >> 4);
	d[1] = (uint8_t)(tc << 4);
	ip_put16(d + 4, (uint16_t)(total - 40));
	d[6] = proto;
	d[7] = 64;
	memcpy(d + 8, src, 16);
	memcpy(d + 24, dst, 16);
}

bool ip_dst_is(const uint8_t *d, uint8_t family, const uint8_t *addr)
{
	if (d[0] >> 4 == 4)
		return family == AF_INET && memcmp(d + 16, addr, 4) == 0;
	return family == AF_INET6 && memcmp(d + 24, addr, 16) == 0;
}
