/* Private to esp: the steps ESP and AH share around their own header. */
#ifndef SECPOL_ESP_XFORM_H
#define SECPOL_ESP_XFORM_H

#include "esp/esp.h"
#include "esp/ip.h"

/* Where an outbound ESP/AH header goes in a packet for this SA. */
struct out_place {
	int version;       /* of the header in front of ESP/AH (the outer one in tunnel mode) */
	size_t keep;       /* transport: the IP header octets kept in front; tunnel: 0 */
	size_t outer;      /* tunnel: the new outer header's size; transport: 0 */
	size_t nh_off;     /* offset, in that header, of the byte that will name ESP/AH */
	uint8_t nh;        /* what ESP/AH will carry: the upper protocol, or 4/41 (tunnel) */
};

/* Fills o, or returns the (counted) reason the SA cannot carry the packet. */
enum sa_drop out_place(struct ipsec_sa *sa, const uint8_t *d, size_t len, struct out_place *o);
/* Why a packet whose headers do not parse is dropped: truncated, or a length
 * field that does not match. */
enum sa_drop malformed(const uint8_t *d, size_t len);
/* Tunnel mode inbound: the payload must be an IP packet of the version that
 * next header names; *inner is its length (traffic-flow padding may follow). */
bool inner_packet(uint8_t nh, const uint8_t *d, size_t len, size_t *inner);
/* Transport mode inbound: removes the `gap` octets that follow the IP header
 * (ESP header and IV, or AH), names nh in their place and sets the length. */
void close_gap(struct pkt *p, const struct ip_info *ii, size_t gap, uint8_t nh, size_t total);

/* Inbound processing of a usable SA from the header that ip_find_proto()
 * found (ipsec_input has already walked the IP headers to read the SPI). */
enum sa_drop esp_input_at(struct ipsec_sa *sa, struct pkt *p, uint64_t now,
                          const struct ip_info *found);
enum sa_drop ah_input_at(struct ipsec_sa *sa, struct pkt *p, uint64_t now,
                         const struct ip_info *found);

#endif
