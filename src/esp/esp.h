/*
 * esp — the packet transforms of the IPsec driver: ESP (RFC 4303) and AH
 * (RFC 4302) in transport and tunnel mode, IPv4 and IPv6.
 *
 * Packets are transformed in place in a caller-owned buffer: the data sits
 * at buf[off .. off+len), with headroom before it (off) and tailroom after
 * it (cap - off - len). Outbound needs at most IPSEC_HEADROOM bytes of
 * headroom and IPSEC_TAILROOM of tailroom. Nothing is allocated per packet.
 *
 * Every failure returns an enum sa_drop and bumps that counter in the SA
 * (or, when no SA could be found, in the SAD: sad_drops()); the packet is
 * then to be dropped.
 */
#ifndef SECPOL_ESP_H
#define SECPOL_ESP_H

#include <stddef.h>
#include <stdint.h>

#include "sad/sad.h"

#define IPSEC_HEADROOM 96    /* outer IPv6 header + ESP header + IV, with AH: + AH header */
#define IPSEC_TAILROOM 64    /* padding + pad length + next header + ICV */

struct pkt {
	uint8_t *buf;
	size_t cap;
	size_t off;
	size_t len;
};

static inline uint8_t *pkt_data(const struct pkt *p)
{
	return p->buf + p->off;
}

/* Outbound: p holds a cleartext IP packet; on success the protected packet. */
enum sa_drop esp_output(struct ipsec_sa *sa, struct pkt *p, uint64_t now);
enum sa_drop ah_output(struct ipsec_sa *sa, struct pkt *p, uint64_t now);

/* Inbound with a known SA: p holds the IP packet carrying ESP/AH; on success
 * the decapsulated packet (transport: the rebuilt IP packet; tunnel: the
 * inner packet). A zero-length result is an RFC 4303 dummy packet. */
enum sa_drop esp_input(struct ipsec_sa *sa, struct pkt *p, uint64_t now);
enum sa_drop ah_input(struct ipsec_sa *sa, struct pkt *p, uint64_t now);

/* Inbound from the wire: finds the ESP or AH header, looks the SA up by SPI,
 * destination and protocol, and processes it. *sa_out: the SA, if found. */
enum sa_drop ipsec_input(struct sad *sad, struct pkt *p, uint64_t now,
                         struct ipsec_sa **sa_out);

/* The same, except that a packet whose (outermost) SPI is unknown comes back
 * as DROP_BAD_SPI with *sa_out NULL, untouched and NOT counted: the caller
 * may hold it for an SA about to be installed, and counts it with
 * sad_drop(sad, DROP_BAD_SPI) only when it gives up. */
enum sa_drop ipsec_input_or_hold(struct sad *sad, struct pkt *p, uint64_t now,
                                 struct ipsec_sa **sa_out);

#endif
