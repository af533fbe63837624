/*
 * The next hop of an outbound SA on the link: the device and the
 * neighbour's MAC address, so that the outbound worker can send ESP/AH
 * through an AF_PACKET socket instead of routing every packet through a
 * raw IP socket. Resolved by the control side (never per packet) from the
 * kernel's routing and neighbour tables over rtnetlink.
 */
#ifndef SECPOL_DRIVER_L2_H
#define SECPOL_DRIVER_L2_H

#include <stdbool.h>
#include <stdint.h>

#include "sad/sad.h"

struct l2_hop {
	bool valid;
	int ifindex;
	unsigned mtu;               /* the longest IP packet the device takes */
	uint8_t mac[6];             /* the neighbour (gateway or destination) */
};

struct l2_resolver;

struct l2_resolver *l2_open(void);
void l2_close(struct l2_resolver *r);
/* The next hop for dst as a socket with SO_MARK mark would route it. False
 * (out->valid false) if there is none usable: no route, a local, non-
 * unicast or non-Ethernet route, or no neighbour entry in a usable state
 * (REACHABLE, STALE, DELAY, PROBE or PERMANENT). */
bool l2_resolve(struct l2_resolver *r, uint32_t mark, const struct sa_address *dst,
                struct l2_hop *out);

#endif
