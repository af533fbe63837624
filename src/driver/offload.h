/*
 * offload — private to the driver: the TUN device's segmentation offloads
 * done in userspace (what wireguard-go does on Linux).
 *
 * The TUN device is opened with IFF_VNET_HDR and TSO/USO enabled, so every
 * read carries a struct virtio_net_hdr and possibly a TCP (or UDP) super-
 * packet of up to 64 KB: offload_seg_*() cuts it into MTU-sized IP packets
 * with correct headers and checksums. Outbound nothing else changes: each
 * segment is classified, protected and sent like a packet read alone.
 *
 * Inbound, offload_gro_*() coalesces consecutive in-order TCP segments of
 * one flow (within one batch of decrypted packets) into one super-packet
 * that is written with a GSO virtio_net_hdr, so that the kernel's TCP
 * receives 64 KB at once. Coalescing needs no copy: the result is a list
 * of iovecs for writev().
 *
 * Pure functions over caller-owned buffers: nothing is allocated.
 */
#ifndef SECPOL_DRIVER_OFFLOAD_H
#define SECPOL_DRIVER_OFFLOAD_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Newer than some installed headers (kernel 6.2). */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

#define OFFLOAD_VNET_LEN sizeof(struct virtio_net_hdr)   /* 10 */
#define OFFLOAD_MAX_PACKET 65535    /* the longest coalesced packet (an IPv4 total length) */
#define OFFLOAD_MAX_READ (40 + 65535) /* the longest packet a read may return (IPv6) */

/* ---- checksums ---- */

/* Ones' complement sum of len bytes (big-endian 16-bit words, an odd last
 * byte padded with zero) added to sum; folded to 16 bits, not inverted. */
uint16_t offload_sum(const uint8_t *p, size_t len, uint32_t sum);
/* Unfolded sum of a TCP/UDP pseudo-header (version 4 or 6). */
uint32_t offload_pseudo(uint8_t version, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                        uint32_t l4_len);

/* ---- segmentation (outbound: TUN -> segments) ---- */

struct offload_seg {
	uint8_t *pkt;
	size_t len;
	size_t hlen;          /* IP header with extension headers: the L4 offset */
	size_t l4hlen;        /* TCP header or 8 (UDP); 0: the packet is sent as it is */
	size_t gso_size;      /* payload bytes per segment */
	size_t off;           /* next payload byte, from hlen + l4hlen */
	unsigned index;       /* segments made */
	bool done;
	uint8_t version, proto;
};

/* Starts cutting the packet pkt (len bytes, read after the header h). A
 * packet without GSO is given back as it is, with a checksum the kernel
 * left partial (VIRTIO_NET_HDR_F_NEEDS_CSUM) finished in place. room: the
 * longest segment the caller can take. False: malformed or unsupported
 * (an unknown gso_type, a segment longer than room, a header that does
 * not match the gso_type). */
bool offload_seg_start(struct offload_seg *s, const struct virtio_net_hdr *h, uint8_t *pkt,
                       size_t len, size_t room);
/* Writes the next segment to out (room bytes as given to _start): its
 * length, or 0 when there are no more. */
size_t offload_seg_next(struct offload_seg *s, uint8_t *out);

/* ---- coalescing (inbound: decrypted packets -> TUN) ---- */

#define OFFLOAD_GRO_MAX 64    /* packets per round */

struct offload_gro_item {
	uint8_t *pkt;         /* the first packet; its headers are rewritten by _item() */
	size_t hlen, thl;     /* IP and TCP header lengths; thl 0: not coalescible */
	size_t total;         /* length of the coalesced packet */
	size_t gso_size;      /* payload of the first packet */
	uint32_t next_seq;
	unsigned n;           /* packets */
	int first, last;      /* into offload_gro.pk: the packets' list */
	bool open;            /* more may be appended */
	bool psh;             /* the last packet had PSH */
};

struct offload_gro {
	unsigned nitems, npkts;
	struct offload_gro_item item[OFFLOAD_GRO_MAX];
	struct {
		uint8_t *data;    /* the first: the whole packet; then the payload only */
		size_t len;
		int next;
	} pk[OFFLOAD_GRO_MAX];
};

static inline void offload_gro_reset(struct offload_gro *g)
{
	g->nitems = g->npkts = 0;
}

/* Adds a whole IP packet (it must stay where it is until the round is
 * written). False: the round is full (OFFLOAD_GRO_MAX packets). */
bool offload_gro_add(struct offload_gro *g, uint8_t *pkt, size_t len);
/* Item i (in the order packets arrived): fills *h and iov (at least
 * OFFLOAD_GRO_MAX + 1 entries: iov[0] is h) for writev() to the TUN
 * device; returns the iovec count. *npkts: how many packets it carries. */
size_t offload_gro_item(struct offload_gro *g, unsigned i, struct virtio_net_hdr *h,
                        struct iovec *iov, unsigned *npkts);

#endif
