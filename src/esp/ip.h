/* Private to esp: reading and fixing IPv4/IPv6 headers, bounds-checked. */
#ifndef SECPOL_ESP_IP_H
#define SECPOL_ESP_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ip_info {
	int version;       /* 4 or 6 */
	size_t total;      /* length the header claims for the whole packet */
	size_t hlen;       /* bytes up to the point of interest (ESP/AH/upper layer) */
	size_t nh_off;     /* offset of the byte naming the protocol found at hlen */
	uint8_t nh;        /* that byte's value */
};

/* Where an outbound transport-mode ESP/AH header goes (after the IPv4 header,
 * or after IPv6 hop-by-hop, routing and fragment headers). False: malformed. */
bool ip_find_insert(const uint8_t *d, size_t len, struct ip_info *ii);
/* Where the inbound header of protocol `proto` (0: the first ESP or AH)
 * starts. False: not there, or malformed. */
bool ip_find_proto(const uint8_t *d, size_t len, uint8_t proto, struct ip_info *ii);
/* Whether the buffer holds less than the IP header claims (its fixed part,
 * IPv4 options, or the total length): DROP_TRUNCATED rather than a bad
 * length when a header check fails. */
bool ip_truncated(const uint8_t *d, size_t len);
/* A whole IP packet of any kind (fragments too): its version and length. */
bool ip_packet(const uint8_t *d, size_t len, int *version, size_t *total);
/* Whether a transport-mode packet goes to the SA's peer (family and address). */
bool ip_dst_is(const uint8_t *d, uint8_t family, const uint8_t *addr);
/* Writes a new total length (IPv4: and the header checksum). */
void ip_set_total(uint8_t *d, int version, size_t total);
void ipv4_fix_checksum(uint8_t *d);
/* DSCP+ECN of an IPv4 or IPv6 header (copied to the outer header, RFC 6040). */
uint8_t ip_traffic_class(const uint8_t *d);
/* A tunnel-mode outer header (20 or 40 octets) at d, TTL/hop limit 64. */
void ip_write_outer(uint8_t *d, int version, const uint8_t *src, const uint8_t *dst,
                    uint8_t proto, uint8_t tc, size_t total, uint16_t id);
uint16_t ip_get16(const uint8_t *p);
void ip_put16(uint8_t *p, uint16_t v);
uint32_t ip_get32(const uint8_t *p);
void ip_put32(uint8_t *p, uint32_t v);

#endif
