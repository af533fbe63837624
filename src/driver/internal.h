/* Private to the driver: its state, shared by the workers and the control side. */
#ifndef SECPOL_DRIVER_INTERNAL_H
#define SECPOL_DRIVER_INTERNAL_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "driver/driver.h"
#include "driver/l2.h"
#include "esp/esp.h"

#define DRV_BATCH 64            /* packets (segments) per system call */
#define DRV_BUF 4096            /* one packet buffer */
#define DRV_HEAD 128            /* headroom: outer IP + ESP/AH headers, or a
                                 * synthesized IP header before a received payload */
#define DYN_BUCKETS 1024        /* run-time filters' hash buckets: a power of two */
#define DRV_QUEUES 128          /* (rule, peer) pairs that may wait for an SA at once */
/* The longest segment a worker reads or makes: room for ESP/AH around it. */
#define DRV_SEG_ROOM (DRV_BUF - DRV_HEAD - IPSEC_TAILROOM)

struct child_sa {
	struct ipsec_sa *sa;
	struct sa_address src, dst;
	uint8_t src_len, dst_len;
	struct spd_traffic traffic;     /* nsrc 0: the prefixes decide */
	bool udp_encap;
	uint16_t udp_port;          /* the peer's UDP port for ESP in UDP */
	uint32_t rule_id;           /* outbound: only this rule's packets (0: any) */
	bool soft_told, hard_told;  /* driver_sa_expiring() reported it */
	bool signalled;             /* its worker woke the agent about it */
	uint64_t id;                /* for the next-hop refresh: unique per driver */
	struct l2_hop l2;           /* outbound ESP/AH: the link's next hop, if known */
	struct child_sa *next;      /* the driver's list, newest first */
	struct child_sa **prevp;    /* what points at it: unlinked in O(1) */
	/* Outbound: its chain in the index (sa_index.c), in the same order. */
	struct child_sa *onext, **oprevp;
	bool indexed_host;          /* in a (rule, host) bucket, not the wide list */
};

/* The outbound Child SAs by (rule, peer host), and the few wider ones. */
#define SA_INDEX_BUCKETS 4096   /* a power of two */
struct sa_index {
	struct child_sa *host[SA_INDEX_BUCKETS];
	struct child_sa *wide, **wide_tail;
};
void sa_index_init(struct sa_index *ix);
/* standby: behind the SAs already there for its traffic. */
void sa_index_add(struct sa_index *ix, struct child_sa *cs, bool standby);
void sa_index_remove(struct sa_index *ix, struct child_sa *cs);
/* The newest usable outbound SA of rule_id (or of any rule) that carries p. */
struct child_sa *sa_index_find(const struct sa_index *ix, const struct spd_packet *p,
                               uint32_t rule_id, uint64_t now);
/* FNV-1a of seed and an address (of its family's length): the buckets of
 * the SA index and of the run-time filters. */
uint32_t driver_hash(uint32_t seed, uint8_t family, const uint8_t *addr);
/* Whether address a (of its family's length) is in net/len. */
bool driver_in_prefix(const uint8_t *a, const uint8_t *net, unsigned len);
/* Whether p is traffic of cs: its negotiated selectors, or its prefixes. */
bool child_carries(const struct child_sa *cs, const struct spd_packet *p);

/* Counters a worker writes (under the read lock), summed under the write lock. */
struct worker_stats {
	uint64_t steered, permitted_clear, blocked, no_rule, malformed;
	uint64_t queued, queue_overflow, queue_timeout, queue_sent;
	uint64_t send_errors, tun_write_errors;
	uint64_t decrypted, encrypted;
	uint64_t ike_passed, ike_dropped;   /* IKE on 4500, to the agent */
};

/* A batch of datagrams for one socket. */
struct out_batch {
	int fd;
	unsigned n;
	struct mmsghdr msg[DRV_BATCH];
	struct iovec iov[DRV_BATCH];
	struct sockaddr_in6 addr[DRV_BATCH];   /* big enough for either family
	                                        * and for a struct sockaddr_ll */
};

struct driver {
	struct driver_config cfg;
	int tun;
	int tx4, tx6;               /* raw, header included */
	int txl2;                   /* AF_PACKET, SOCK_DGRAM: ESP/AH to a known next hop */
	int rx[4];                  /* raw ESP/AH, IPv4/IPv6 */
	int udp4, udp6;             /* UDP 4500 (RFC 3948) */
	int acquire[2];             /* pipe: tx worker -> agent, struct driver_acquire */
	int expiry_wake;            /* eventfd: a worker saw an SA cross a limit */
	int ike[2];                 /* SOCK_SEQPACKET pair: rx worker -> agent, IKE on 4500 */
	int tx_wake, rx_wake;       /* eventfds: outbound / inbound SA added; stop */
	int l2_wake;                /* eventfd: resolve next hops now / stop */
	atomic_bool stop;
	pthread_t tx_thread, rx_thread, l2_thread;
	bool tx_started, rx_started, l2_started;
	uint64_t next_child_id;

	pthread_rwlock_t lock;      /* SPD, SAD, child SAs, counters */
	struct spd *spd;
	/* The run-time filters (dynamic.c): ndynamic of dyn_cap in use, chained
	 * by their remote host's bucket; dyn_head[DYN_BUCKETS]: the wider ones. */
	struct driver_dynamic *dynamic;
	size_t ndynamic, dyn_cap;
	int32_t *dyn_next;
	int32_t dyn_head[DYN_BUCKETS + 1];
	struct sad *sad;
	struct child_sa *children;
	struct child_sa **children_tail;   /* the last next field (standby SAs go there) */
	struct sa_index *outbound;         /* the outbound ones of children, indexed */
	struct sa_counters retired_in, retired_out;   /* of deleted SAs */
	/* Their payload bytes by [inbound][mode]: the monitor's transport and
	 * tunnel byte counters are cumulative, so they outlive the SAs. */
	uint64_t retired_mode_bytes[2][2];
	uint64_t key_additions, key_deletions;
	struct worker_stats tx_stats, rx_stats;
	uint64_t sad_drops_retired[DROP_COUNT];

	/* Outbound worker's queues of packets waiting for an SA: one per rule
	 * and peer (worker.c, pend_peer). */
	struct {
		bool used;
		uint32_t rule_id;
		uint8_t family;          /* 0: a tunnel rule's (no peer address) */
		uint8_t peer[16];
		unsigned n;
		uint64_t since_ms;
	} pend[DRV_QUEUES];
	uint8_t *pend_buf;          /* DRV_QUEUES * queue_len * DRV_BUF */
	uint16_t *pend_len;         /* DRV_QUEUES * queue_len */
};

int tun_open(const char *name, unsigned mtu, char *err, size_t errlen);
/* The SPD's verdict on p, after the run-time filters (lock held). */
bool driver_lookup(const struct driver *d, const struct spd_packet *p, enum spd_dir dir,
                   struct spd_match *m);
uint64_t driver_now_ms(void);

/* The run-time filters (dynamic.c): the one that decides p, if any (a
 * lock held), and the index's set-up and release. */
const struct driver_dynamic *dynamic_find(const struct driver *d, const struct spd_packet *p,
                                          enum spd_dir dir);
void dynamic_init(struct driver *d);
void dynamic_free(struct driver *d);

/* The workers (worker.c). */
void *driver_tx_main(void *arg);
void *driver_rx_main(void *arg);

#endif
