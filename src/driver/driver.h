/*
 * driver — the IPsec driver's data path on Linux: packets that nftables
 * steered into the TUN device are classified by the SPD, protected with
 * ESP/AH and sent through raw sockets (or UDP 4500); protected packets from
 * raw sockets are verified, decrypted, checked against the policy and
 * written back to the TUN device for the kernel to deliver or forward.
 *
 * Two workers: one carries outbound traffic (TUN -> wire), one inbound
 * (wire -> TUN), so every SA is touched by exactly one worker and needs no
 * per-packet lock. The control thread changes SAs and the SPD under a
 * reader-writer lock that the workers take once per batch of packets.
 * Buffers are per worker and made once: nothing is allocated per packet.
 */
#ifndef SECPOL_DRIVER_H
#define SECPOL_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sad/sad.h"
#include "spd/spd.h"

/* ---- classifying a packet (also the fuzz target) ---- */

/* Fills *p from an IP packet: family, addresses, protocol and (TCP/UDP,
 * first fragment only) ports. IPv6 extension headers are walked. False:
 * not an IP packet, or truncated. */
bool driver_classify(const uint8_t *pkt, size_t len, struct spd_packet *p);

/* ---- the data path ---- */

struct driver_config {
	const char *tun;             /* TUN device name, created by the driver */
	unsigned mtu;                /* of the TUN device: room for ESP on the link */
	uint32_t bypass_mark;        /* SO_MARK of the driver's sockets */
	unsigned queue_len;          /* packets held per rule while no SA exists */
	unsigned queue_ms;           /* how long they are held */
	unsigned exempt;             /* SPD_EXEMPT_*: never dropped by a Block filter
	                              * when they arrive protected (ipsecexempt) */
};

/* A Child SA: an SA with the traffic it carries (its selectors) and how it
 * travels. Manual SAs come from `secpol dynamic add sa`, later from IKE. */
struct child_sa_config {
	struct sa_config sa;
	struct sa_address src, dst;  /* selectors: the inner traffic */
	uint8_t src_len, dst_len;    /* their prefix lengths */
	/* IKE's selectors, exact (ranges, protocols, ports, every one of
	 * them): when given (traffic.nsrc > 0), they decide which packets the
	 * SA carries, both ways, and the prefixes above only describe it. */
	struct spd_traffic traffic;
	bool udp_encap;              /* RFC 3948, port 4500 */
	uint16_t udp_port;           /* the peer's port for it (behind a NAT: its mapping); 0: 4500 */
	uint32_t rule_id;            /* outbound: carries only this rule's packets (0: any rule) */
	/* Outbound: used only once the SAs before it are gone -- the
	 * responder of a rekey must not send on the new SA before the
	 * initiator has it (RFC 7296 §2.8: until the old one is deleted). */
	bool standby;
};

/* Data-path counters (IP Security Monitor, `show stats`). */
struct driver_stats {
	uint64_t active_sas, inbound_sas, outbound_sas, tunnel_sas;
	uint64_t key_additions, key_deletions;
	uint64_t conf_bytes_sent, conf_bytes_received;
	uint64_t auth_bytes_sent, auth_bytes_received;
	uint64_t transport_bytes_sent, transport_bytes_received;
	uint64_t tunnel_bytes_sent, tunnel_bytes_received;
	uint64_t drops[DROP_COUNT];          /* inbound and outbound, all SAs and the SAD */
	uint64_t steered_packets;            /* read from the TUN device */
	uint64_t permitted_clear;            /* steered, but the SPD permits: sent in clear */
	uint64_t blocked;                    /* steered, but the SPD blocks */
	uint64_t no_rule;                    /* steered, no filter matches: sent in clear */
	uint64_t queued, queue_overflow, queue_timeout, queue_sent;
	uint64_t malformed;                  /* not an IP packet */
	uint64_t send_errors, tun_write_errors;
	uint64_t decrypted_packets;          /* delivered to the kernel through TUN */
	uint64_t encrypted_packets;          /* sent protected */
	uint64_t acquire_queues;             /* current: rules whose packets wait for an SA */
};

struct driver;

/* Creates the TUN device and the sockets and starts the workers. The
 * driver starts with an empty SPD (nothing is protected). */
struct driver *driver_start(const struct driver_config *c, char *err, size_t errlen);
/* Stops the workers, deletes every SA (wiping its keys), closes the TUN
 * device (which removes it). */
void driver_stop(struct driver *d);

/* Replaces the SPD; the driver owns it from now on. */
void driver_set_spd(struct driver *d, struct spd *spd);

bool driver_sa_add(struct driver *d, const struct child_sa_config *c, char *err,
                   size_t errlen);
/* Deletes the SA (spi, dst, proto); false if there is none. */
bool driver_sa_delete(struct driver *d, uint32_t spi, const struct sa_address *dst,
                      enum sa_proto proto);
/* Deletes every SA; returns how many. */
size_t driver_sa_flush(struct driver *d);

/* ---- filters made at run time ---- */

/* A filter the policy does not list, checked before the SPD in both
 * directions: the default response rule's (Negotiate, for the traffic of a
 * Child SA a peer asked for) and a soft association's (Permit: the peer never
 * answered IKE). local/remote: prefixes, this host's side first. */
struct driver_dynamic {
	uint32_t rule_id;
	enum filter_action_kind action;
	struct sa_address local, remote;
	uint8_t local_len, remote_len;
	/* Narrower, as the peer's selectors were: an IP protocol (0: any) and,
	 * for TCP and UDP, port ranges [lo, hi] (hi 0: any port). */
	uint8_t protocol;
	uint16_t local_ports[2], remote_ports[2];
};
#define DRIVER_DYNAMIC_MAX 65536   /* a power of two: the array doubles up to it */
bool driver_dynamic_add(struct driver *d, const struct driver_dynamic *f, char *err, size_t errlen);
/* Whether the run-time filter f decides packet p going in direction dir
 * (what the driver asks before its SPD). */
bool driver_dynamic_matches(const struct driver_dynamic *f, const struct spd_packet *p,
                            enum spd_dir dir);
/* Removes the filter equal to f; false if there is none. */
bool driver_dynamic_delete(struct driver *d, const struct driver_dynamic *f);

/* ---- IKE's share of the data path ---- */

/* A Negotiate packet found no SA and started its rule's queue: the outbound
 * worker reports it once per queue through a pipe, which the agent polls
 * (driver_acquire_fd) and reads (driver_acquire_read) to start IKE. */
struct driver_acquire {
	uint32_t rule_id;
	struct spd_packet pkt;
};
int driver_acquire_fd(const struct driver *d);
bool driver_acquire_read(struct driver *d, struct driver_acquire *a);

/* IKE on UDP 4500 shares the socket with UDP-encapsulated ESP (RFC 3948):
 * the inbound worker passes datagrams that start with the non-ESP marker,
 * the marker removed, to the agent (driver_ike_fd, driver_ike_read); the
 * agent sends through driver_ike_send, which adds the marker. */
struct driver_ike_from {
	uint8_t family;
	uint8_t local[16], remote[16];
	uint16_t remote_port;
};
int driver_ike_fd(const struct driver *d);
/* One message into buf: its length, 0 when there is none (or it was bad). */
size_t driver_ike_read(struct driver *d, struct driver_ike_from *from, uint8_t *buf, size_t cap);
bool driver_ike_send(struct driver *d, uint8_t family, const uint8_t *remote, uint16_t port,
                     const uint8_t *msg, size_t len);

/* SAs that crossed a soft limit (bytes, or sequence numbers running out)
 * or a hard one since the last call, each reported once: the IKE engine
 * rekeys them. Returns how many were written (at most max). */
struct driver_expiry {
	enum sa_proto proto;
	uint32_t spi;
	bool inbound;
	bool hard;
};
size_t driver_sa_expiring(struct driver *d, struct driver_expiry *out, size_t max);
/* Readable when a worker saw an SA cross a limit: call driver_sa_expiring(). */
int driver_expiry_fd(const struct driver *d);

/* The monitor's view of one SA (never a key). */
struct driver_sa_info {
	uint32_t spi;
	enum sa_proto proto;
	enum sa_mode mode;
	bool inbound, esn, udp_encap;
	uint16_t udp_port;                   /* the peer's, for ESP in UDP */
	uint32_t rule_id;                    /* outbound: the rule it carries (0: any) */
	struct sa_address src, dst;          /* selectors */
	uint8_t src_len, dst_len;
	struct sa_address outer_src, outer_dst;   /* the SA's own addresses */
	enum crypto_enc enc;
	enum crypto_mac integ;
	uint64_t seq;                        /* outbound: last sent */
	uint64_t age_s;
	struct sa_lifetime life;
	bool soft_expired, hard_expired;
	struct sa_counters count;
};
/* Copies at most max SAs into out, newest first; returns how many there are. */
size_t driver_sa_snapshot(struct driver *d, struct driver_sa_info *out, size_t max);

/* `show sa`: one block per SA (never a key). */
void driver_sa_show(struct driver *d, FILE *out);
void driver_get_stats(struct driver *d, struct driver_stats *s);

#endif
