/*
 * steer — kernel steering: the one nftables table secpold owns and the
 * policy routing that carries Negotiate traffic into the TUN device.
 *
 * nftables only accelerates what the daemon's SPD decides (architecture.md,
 * decision 2): Block drops in the kernel, Permit accepts, Negotiate traffic
 * is marked and policy-routed into the TUN device, inbound cleartext that a
 * rule requires to be protected is dropped. The table is replaced as a whole
 * in one nftables transaction, so the host never sees half a policy.
 */
#ifndef SECPOL_STEER_H
#define SECPOL_STEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"   /* enum filter_action_kind */
#include "spd/spd.h"         /* enum spd_dir */

struct steer_config {
	const char *table;        /* nftables table name, family inet ("secpol") */
	const char *tun;          /* the TUN device ("secpol0") */
	uint32_t steer_mark;      /* fwmark of Negotiate traffic: routed into tun */
	uint32_t bypass_mark;     /* fwmark of secpold's own sockets: never steered */
	uint32_t route_table;     /* policy routing table holding "default dev tun" */
	uint32_t rule_priority;   /* priority of the "fwmark steer_mark" ip rules */
	unsigned mtu;             /* of the TUN device: steered TCP SYNs get an MSS that
	                           * fits it (0: no clamping) */
	unsigned exempt;          /* SPD_EXEMPT_*: traffic accepted before any policy
	                           * rule, both ways (`set config ipsecexempt`) */
	bool count_drops;         /* the policy's drops go to named counters, for the
	                           * driver diagnostics (steer_read_drops) */
};

/* The default exemptions' classes (SPD_EXEMPT_*, spd.h) of ipsecexempt value v (0-3; anything else: ISAKMP only):
 * 0 all three, 1 multicast/broadcast, 2 RSVP and Kerberos, 3 none. */
unsigned steer_exempt_classes(unsigned v);

/* Packets the table's policy rules dropped, by why (its named counters). */
struct steer_drops {
	uint64_t in_blocked;      /* an inbound Block filter */
	uint64_t in_cleartext;    /* inbound in clear where a Negotiate filter wants ESP/AH */
	uint64_t out_blocked;     /* an outbound Block filter (local or forwarded) */
};
/* Reads them from the installed table (rendered with count_drops). */
bool steer_read_drops(const struct steer_config *c, struct steer_drops *out, char *err,
                      size_t errlen);
/* Parses `nft list counters table inet T` output; false unless all three
 * counters are in it. Bounded by len (the text need not end with NUL). */
bool steer_parse_drops(const char *text, size_t len, struct steer_drops *out);

/* One one-way filter, in the order the SPD evaluates them (highest weight
 * first): the first rule that matches a packet decides it. */
struct steer_rule {
	uint8_t family;              /* AF_INET or AF_INET6 */
	uint8_t src[16], dst[16];    /* network order; IPv4 uses the first 4 */
	uint8_t src_len, dst_len;    /* prefix lengths */
	uint8_t protocol;            /* 0 = any */
	uint16_t src_port, dst_port; /* host order; 0 = any; TCP/UDP only */
	enum spd_dir dir;
	enum filter_action_kind action;
	bool inpass;                 /* inbound Negotiate: cleartext is accepted */
};

/* A boot exemption (netsh `bootexemptions`): Protocol:SrcPort:DstPort:Direction. */
struct steer_exemption {
	uint8_t protocol;            /* 0 = any */
	uint16_t src_port, dst_port; /* 0 = any */
	enum spd_dir dir;
};

/* The nftables script that steer_apply() loads (for tests and `show`).
 * Returns a malloc'd string, or NULL when out of memory or when the input is
 * invalid: a table name that is not an identifier, a device name that is not
 * one, a rule with a bad family, prefix length, direction or action, or with
 * ports but a protocol other than TCP or UDP (as spd_builder_add() refuses).
 * steer_apply() says which in err. */
char *steer_render(const struct steer_config *c, const struct steer_rule *r, size_t n);

/* Replaces the table with the rendering of r[0..n) atomically. On failure
 * the previous table (if any) is untouched and err says why. */
bool steer_apply(const struct steer_config *c, const struct steer_rule *r, size_t n,
                 char *err, size_t errlen);

/* Adds or deletes one element of the table's run-time sets: clear=false,
 * (a = this host, b = peer) steered to the TUN device like a Negotiate
 * filter; clear=true, (a = peer, b = this host) accepted in clear inbound.
 * Replacing the table empties them. */
bool steer_dynamic(const struct steer_config *c, bool clear, uint8_t family, const uint8_t *a,
                   const uint8_t *b, bool add, char *err, size_t errlen);

/* Replaces the table with the `bootmode=block` table: everything dropped
 * except loopback, DHCP, IPv6 neighbour discovery and the exemptions. There
 * is no connection tracking, so each exemption is mirrored: also accepted in
 * the other direction with the ports swapped (the replies). Protocol 0 with a
 * port means TCP or UDP; a port with another protocol is invalid (NULL). */
char *steer_render_block(const struct steer_config *c, const struct steer_exemption *e,
                         size_t n);
bool steer_apply_block(const struct steer_config *c, const struct steer_exemption *e,
                       size_t n, char *err, size_t errlen);

/* The same for the boot mode: stateful=false is `block` (above);
 * stateful=true is `stateful`: the host's own outbound traffic and the
 * answers to it pass, other inbound traffic only as exempted. */
char *steer_render_boot(const struct steer_config *c, bool stateful,
                        const struct steer_exemption *e, size_t n);
bool steer_apply_boot(const struct steer_config *c, bool stateful,
                      const struct steer_exemption *e, size_t n, char *err, size_t errlen);

/* Deletes the table (no error when it does not exist). */
bool steer_remove(const struct steer_config *c, char *err, size_t errlen);

/* Policy routing, IPv4 and IPv6: "ip rule fwmark steer_mark lookup route_table"
 * and "default dev tun table route_table", plus a blackhole default route of
 * the highest metric in route_table (fail closed: should the TUN device
 * vanish, marked traffic is dropped, not routed by the main table).
 * Idempotent; route_remove() undoes exactly what route_install() added, and
 * is also the cleanup after a route_install() that failed half way. The TUN
 * device must exist and be up. steer_mark 0 and the reserved tables 0, 253,
 * 254 and 255 are refused. Works in the caller's network namespace. */
bool route_install(const struct steer_config *c, char *err, size_t errlen);
bool route_remove(const struct steer_config *c, char *err, size_t errlen);

#endif
