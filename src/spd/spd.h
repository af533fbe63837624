/*
 * spd — the security policy database classifier: a compiled, read-only map
 * from a packet (addresses, protocol, ports, direction) to the one-way
 * filter that decides it, ordered by the Windows weight
 * (../shared/spec/windows-ipsec-model.md §3.2).
 *
 * Filters arrive already expanded by the policy agent: concrete IPv4/IPv6
 * prefixes, one direction each (spd_builder_add_mirrored() expands a mirrored
 * filter). Address ranges must be passed as prefixes by the caller.
 *
 * The compiled struct spd is immutable: any number of threads may call
 * spd_lookup() on it at once. A lookup never allocates.
 */
#ifndef SECPOL_SPD_H
#define SECPOL_SPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"   /* enum filter_action_kind */

enum spd_dir { SPD_OUTBOUND, SPD_INBOUND };

struct spd_filter {
	uint8_t family;              /* AF_INET or AF_INET6 */
	uint8_t src[16], dst[16];    /* network order; IPv4 uses the first 4 */
	uint8_t src_len, dst_len;    /* prefix lengths; host bits are ignored */
	uint8_t protocol;            /* 0 = any */
	uint16_t src_port, dst_port; /* host order; 0 = any; only with TCP or UDP */
	enum spd_dir dir;
	enum filter_action_kind action;
	bool tunnel;
	uint32_t rule_id;            /* opaque: returned by a lookup */
	uint32_t order;              /* creation order: lower wins remaining ties */
};

struct spd_packet {
	uint8_t family;
	uint8_t src[16], dst[16];
	uint8_t protocol;
	uint16_t src_port, dst_port; /* host order; ignored unless TCP or UDP */
};

struct spd_match {
	uint32_t rule_id;
	enum filter_action_kind action;
	bool tunnel;
	uint32_t weight;             /* spd_weight() of the filter that matched */
};

/*
 * Default exemptions (netsh `ipsecexempt`, netsh-ipsec.md §4.6): traffic
 * matched before any filter and never filtered. ISAKMP (UDP 500/4500) is
 * always exempt and not a class: it never travels inside an SA.
 */
enum spd_exempt_class {
	SPD_EXEMPT_MULTICAST = 1,    /* IPv4 multicast and 255.255.255.255, IPv6 multicast */
	SPD_EXEMPT_RSVP = 2,         /* IP protocol 46 */
	SPD_EXEMPT_KERBEROS = 4,     /* TCP or UDP port 88, as source or destination */
};
/* Whether p is exempt under the classes (SPD_EXEMPT_*). A subnet's
 * broadcast address is not known here: the nftables table finds those. */
bool spd_exempt(unsigned classes, const struct spd_packet *p);

/*
 * What a Child SA carries, as IKE negotiated it (RFC 7296 §3.13; RFC 4301
 * §4.4.2): a packet from an address in one of the src selectors to one in
 * the dst selectors. Each selector has its own IP protocol (0: any) and
 * port range, the ports checked for TCP and UDP only (for ICMP a selector's
 * "ports" are type and code, which spd_packet does not carry: any). A
 * fragment past the first has no ports (0), so a narrowed range refuses
 * it, as the SPD's port filters do.
 */
struct spd_selector {
	uint8_t family;              /* AF_INET or AF_INET6 (IKE may mix them) */
	uint8_t protocol;
	uint16_t port_lo, port_hi;   /* host order */
	uint8_t lo[16], hi[16];      /* the address range, network order */
};
#define SPD_SELECTORS 16         /* per side: IKE's own limit (IKE_MAX_TS) */
struct spd_traffic {
	uint8_t nsrc, ndst;          /* nsrc 0: no selectors (carries nothing) */
	struct spd_selector src[SPD_SELECTORS], dst[SPD_SELECTORS];
};
bool spd_traffic_carries(const struct spd_traffic *t, const struct spd_packet *p);

/* The §3.2 weight: higher = evaluated first. */
uint32_t spd_weight(const struct spd_filter *f);

struct spd_builder *spd_builder_new(void);
void spd_builder_free(struct spd_builder *b);
/* Validates and copies f; on failure *err names the problem. Ties between
 * filters of equal weight and equal order go to the one added first. */
bool spd_builder_add(struct spd_builder *b, const struct spd_filter *f, const char **err);
/*
 * A mirrored filter as its two one-way filters: f in direction f->dir as
 * given, and the other direction with addresses and ports swapped. §3.1's
 * "outbound: src->dst; inbound: the swapped one" is f->dir == SPD_OUTBOUND,
 * right when src is the local side; a filter written from the peer's side
 * (the §3.2 worked example "10.1.2.0/24 -> me") is given as SPD_INBOUND, or
 * its outbound half would never see a packet.
 */
bool spd_builder_add_mirrored(struct spd_builder *b, const struct spd_filter *f,
                              const char **err);

/* Compiles the builder's filters (the builder is left unchanged). */
struct spd *spd_build(const struct spd_builder *b, const char **err);
void spd_free(struct spd *s);

/* The highest-weight filter of direction dir that matches p; false = no match. */
bool spd_lookup(const struct spd *s, const struct spd_packet *p, enum spd_dir dir,
                struct spd_match *m);

size_t spd_filter_count(const struct spd *s);  /* one-way filters compiled */
size_t spd_memory(const struct spd *s);        /* bytes held by the compiled spd */

#endif
