/*
 * The workers. Outbound: TUN -> classify -> SPD -> Child SA -> ESP/AH ->
 * raw socket (or UDP 4500). Inbound: raw socket (or UDP 4500) -> SAD by SPI
 * -> verify, replay check, decrypt -> the inner packet must belong to the
 * SA and to a Negotiate rule -> TUN.
 *
 * The SPD is authoritative (architecture.md, decision 2): a packet that
 * nftables steered here is decided again, so a steering table that lags
 * behind the policy can never leak cleartext that the policy protects.
 */
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "driver/internal.h"
#include "driver/offload.h"

/* One read from the TUN device: the vnet header and the longest packet,
 * and a byte more to tell a truncated read. */
#define DRV_FRAME (OFFLOAD_VNET_LEN + OFFLOAD_MAX_READ + 1)

/* ---- small helpers ---- */

/* A minimal IPv4 header in front of a payload that arrived without one. */
static void synth_ipv4(uint8_t *h, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                       size_t total)
{
	memset(h, 0, 20);
	h[0] = 0x45;
	h[2] = (uint8_t)(total >> 8);
	h[3] = (uint8_t)total;
	h[8] = 64;
	h[9] = proto;
	memcpy(h + 12, src, 4);
	memcpy(h + 16, dst, 4);
	uint16_t c = (uint16_t)~offload_sum(h, 20, 0);
	h[10] = (uint8_t)(c >> 8);
	h[11] = (uint8_t)c;
}

static void synth_ipv6(uint8_t *h, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                       size_t payload)
{
	memset(h, 0, 40);
	h[0] = 0x60;
	h[4] = (uint8_t)(payload >> 8);
	h[5] = (uint8_t)payload;
	h[6] = proto;
	h[7] = 64;
	memcpy(h + 8, src, 16);
	memcpy(h + 24, dst, 16);
}

/* ---- batched sending ---- */

static void batch_flush(struct out_batch *b, uint64_t *errors)
{
	unsigned done = 0;
	while (done < b->n) {
		int r = sendmmsg(b->fd, b->msg + done, b->n - done, 0);
		if (r <= 0) {
			/* The datagram at `done` failed (no route, buffer full):
			 * count it and go on with the rest. */
			if (r < 0 && errno == EINTR)
				continue;
			(*errors)++;
			done++;
			continue;
		}
		done += (unsigned)r;
	}
	b->n = 0;
}

static void batch_add(struct out_batch *b, uint8_t *data, size_t len, uint8_t family,
                      const uint8_t *dst, uint16_t port, uint64_t *errors)
{
	if (b->fd < 0) {
		(*errors)++;
		return;
	}
	if (b->n == DRV_BATCH)
		batch_flush(b, errors);
	unsigned i = b->n++;
	memset(&b->addr[i], 0, sizeof(b->addr[i]));
	socklen_t alen;
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&b->addr[i];
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		memcpy(&a->sin_addr, dst, 4);
		alen = sizeof(*a);
	} else {
		b->addr[i].sin6_family = AF_INET6;
		b->addr[i].sin6_port = htons(port);
		memcpy(&b->addr[i].sin6_addr, dst, 16);
		alen = sizeof(b->addr[i]);
	}
	b->iov[i] = (struct iovec){ .iov_base = data, .iov_len = len };
	b->msg[i].msg_hdr = (struct msghdr){ .msg_name = &b->addr[i], .msg_namelen = alen,
	                                     .msg_iov = &b->iov[i], .msg_iovlen = 1 };
}

/* An ESP/AH packet straight to the next hop on the link (AF_PACKET,
 * SOCK_DGRAM: the kernel adds the Ethernet header), past the routing and
 * netfilter the raw socket would go through for every packet. */
static void batch_add_ll(struct out_batch *b, uint8_t *data, size_t len, uint8_t family,
                         const struct l2_hop *hop, uint64_t *errors)
{
	if (b->n == DRV_BATCH)
		batch_flush(b, errors);
	unsigned i = b->n++;
	_Static_assert(sizeof(struct sockaddr_ll) <= sizeof(b->addr[0]), "sockaddr_ll fits");
	struct sockaddr_ll *a = (struct sockaddr_ll *)&b->addr[i];
	memset(a, 0, sizeof(*a));
	a->sll_family = AF_PACKET;
	a->sll_protocol = htons(family == AF_INET ? ETH_P_IP : ETH_P_IPV6);
	a->sll_ifindex = hop->ifindex;
	a->sll_halen = 6;
	memcpy(a->sll_addr, hop->mac, 6);
	b->iov[i] = (struct iovec){ .iov_base = data, .iov_len = len };
	b->msg[i].msg_hdr = (struct msghdr){ .msg_name = a, .msg_namelen = sizeof(*a),
	                                     .msg_iov = &b->iov[i], .msg_iovlen = 1 };
}

/* ---- outbound ---- */

struct tx {
	struct driver *d;
	struct worker_stats *st;
	uint8_t *frame;             /* one read: virtio_net_hdr + a packet of up to 64 KB */
	uint8_t (*buf)[DRV_BUF];    /* DRV_BATCH segments, at DRV_HEAD */
	size_t len[DRV_BATCH];
	unsigned n;                 /* segments waiting in buf */
	uint64_t bad;               /* unusable reads, not yet counted */
	unsigned made;              /* segments since the last look at the wakeups */
	struct out_batch raw4, raw6, udp4, udp6, l2;
};

static void tx_flush(struct tx *t)
{
	batch_flush(&t->raw4, &t->st->send_errors);
	batch_flush(&t->raw6, &t->st->send_errors);
	batch_flush(&t->l2, &t->st->send_errors);
	batch_flush(&t->udp4, &t->st->send_errors);
	batch_flush(&t->udp6, &t->st->send_errors);
}

/* Sends a whole IP packet as it is (Permit, or no filter). */
static void tx_clear(struct tx *t, uint8_t *data, size_t len, const struct spd_packet *p)
{
	batch_add(p->family == AF_INET ? &t->raw4 : &t->raw6, data, len, p->family, p->dst, 0,
	          &t->st->send_errors);
}

/* The SA just crossed a soft or hard limit: wake the agent at once (not
 * at its next poll), so the rekey races the remaining margin. Each SA is
 * touched by one worker only: its flag needs no lock. */
static void expiry_signal(struct driver *d, struct child_sa *cs)
{
	if (cs->signalled || !(cs->sa->soft_expired || cs->sa->hard_expired))
		return;
	cs->signalled = true;
	uint64_t one = 1;
	if (write(d->expiry_wake, &one, sizeof(one)) < 0) {
		/* the agent's once-a-second check finds it anyway */
	}
}

static void tx_protected(struct tx *t, struct child_sa *cs, struct pkt *pk, uint64_t now_s)
{
	struct ipsec_sa *sa = cs->sa;
	enum sa_drop r = sa->proto == SA_PROTO_ESP ? esp_output(sa, pk, now_s)
	                                           : ah_output(sa, pk, now_s);
	expiry_signal(t->d, cs);
	if (r != DROP_NONE)
		return;   /* counted in the SA */
	t->st->encrypted++;
	uint8_t fam = sa->dst.family;
	if (cs->udp_encap) {
		/* RFC 3948: the ESP packet without its IP header, in UDP to 4500. */
		size_t hl = fam == AF_INET ? (size_t)(pkt_data(pk)[0] & 0x0f) * 4 : 40;
		batch_add(fam == AF_INET ? &t->udp4 : &t->udp6, pkt_data(pk) + hl, pk->len - hl,
		          fam, sa->dst.bytes, cs->udp_port, &t->st->send_errors);
		return;
	}
	/* A known next hop, and the packet fits its device: AF_PACKET. Else
	 * the raw socket (which also has the kernel resolve the neighbour
	 * for the next refresh, and refuses what is too long). */
	if (cs->l2.valid && pk->len <= cs->l2.mtu && t->l2.fd >= 0) {
		batch_add_ll(&t->l2, pkt_data(pk), pk->len, fam, &cs->l2, &t->st->send_errors);
		return;
	}
	batch_add(fam == AF_INET ? &t->raw4 : &t->raw6, pkt_data(pk), pk->len, fam,
	          sa->dst.bytes, 0, &t->st->send_errors);
}

/* The queue of (rule, peer): the packet's destination for a transport-mode
 * rule, nothing for a tunnel rule (its one endpoint is the peer). A queue
 * per peer, so that each new peer starts its own negotiation at once and
 * one peer's packets never wait behind another's. */
static void pend_peer(const struct spd_match *m, const struct spd_packet *p, uint8_t *family,
                      uint8_t peer[16])
{
	memset(peer, 0, 16);
	*family = m->tunnel ? 0 : p->family;
	if (!m->tunnel)
		memcpy(peer, p->dst, p->family == AF_INET ? 4 : 16);
}

static int pend_find(struct driver *d, uint32_t rule_id, uint8_t family, const uint8_t *peer,
                     bool create, uint64_t now_ms)
{
	int free_slot = -1;
	for (int i = 0; i < DRV_QUEUES; i++) {
		if (d->pend[i].used && d->pend[i].rule_id == rule_id &&
		    d->pend[i].family == family && !memcmp(d->pend[i].peer, peer, 16))
			return i;
		if (!d->pend[i].used && free_slot < 0)
			free_slot = i;
	}
	if (!create || free_slot < 0)
		return -1;
	d->pend[free_slot].used = true;
	d->pend[free_slot].rule_id = rule_id;
	d->pend[free_slot].family = family;
	memcpy(d->pend[free_slot].peer, peer, 16);
	d->pend[free_slot].n = 0;
	d->pend[free_slot].since_ms = now_ms;
	return free_slot;
}

static uint8_t *pend_slot(struct driver *d, int q, unsigned i)
{
	return d->pend_buf + ((size_t)q * d->cfg.queue_len + i) * DRV_BUF;
}

/* Holds a Negotiate packet until an SA for its rule and peer exists (IKE's
 * acquire will start here), or drops it with a counter. */
static void tx_hold(struct tx *t, const struct spd_match *m, const struct spd_packet *p,
                    const uint8_t *data, size_t len, uint64_t now_ms)
{
	struct driver *d = t->d;
	uint8_t family, peer[16];
	pend_peer(m, p, &family, peer);
	bool fresh = pend_find(d, m->rule_id, family, peer, false, now_ms) < 0;
	int q = pend_find(d, m->rule_id, family, peer, true, now_ms);
	if (fresh && q >= 0) {
		/* The first packet of the queue asks IKE for an SA. */
		struct driver_acquire a = { .rule_id = m->rule_id, .pkt = *p };
		if (write(d->acquire[1], &a, sizeof(a)) != (ssize_t)sizeof(a)) {
			/* the agent is behind: the next queue asks again */
		}
	}
	if (q < 0 || d->pend[q].n >= d->cfg.queue_len) {
		t->st->queue_overflow++;
		return;
	}
	unsigned i = d->pend[q].n++;
	memcpy(pend_slot(d, q, i) + DRV_HEAD, data, len);
	d->pend_len[(size_t)q * d->cfg.queue_len + i] = (uint16_t)len;
	t->st->queued++;
}

/* One packet from the TUN device at buf + DRV_HEAD. held: it comes from the
 * queue (then it is not queued again: false = still no SA). */
static bool tx_packet(struct tx *t, uint8_t *buf, size_t len, bool held, uint64_t now_ms)
{
	struct driver *d = t->d;
	uint8_t *data = buf + DRV_HEAD;
	struct spd_packet p;
	if (!driver_classify(data, len, &p)) {
		t->st->malformed++;
		return true;
	}
	struct spd_match m;
	if (!d->spd) {
		t->st->blocked++;   /* no policy compiled yet: nothing leaves */
		return true;
	}
	if (!driver_lookup(d, &p, SPD_OUTBOUND, &m)) {
		t->st->no_rule++;
		tx_clear(t, data, len, &p);
		return true;
	}
	switch (m.action) {
	case ACTION_BLOCK:
		t->st->blocked++;
		return true;
	case ACTION_PERMIT:
		t->st->permitted_clear++;
		tx_clear(t, data, len, &p);
		return true;
	case ACTION_NEGOTIATE:
		break;
	}
	struct child_sa *cs = sa_index_find(d->outbound, &p, m.rule_id, now_ms / 1000);
	if (!cs) {
		if (!held)
			tx_hold(t, &m, &p, data, len, now_ms);
		return false;
	}
	struct pkt pk = { .buf = buf, .cap = DRV_BUF, .off = DRV_HEAD, .len = len };
	tx_protected(t, cs, &pk, now_ms / 1000);
	return true;
}

/* Sends what waited for an SA that now exists; drops what waited too long. */
static void tx_pending(struct tx *t, uint64_t now_ms)
{
	struct driver *d = t->d;
	for (int q = 0; q < DRV_QUEUES; q++) {
		if (!d->pend[q].used)
			continue;
		unsigned n = d->pend[q].n, sent = 0;
		uint16_t *lens = d->pend_len + (size_t)q * d->cfg.queue_len;
		for (unsigned i = 0; i < n; i++) {
			if (tx_packet(t, pend_slot(d, q, i), lens[i], true, now_ms))
				sent++;
			else
				break;   /* still no SA: the rest wait too */
		}
		if (sent == n) {
			t->st->queue_sent += n;
			tx_flush(t);   /* before the slots are reused */
			d->pend[q].used = false;
		} else if (now_ms - d->pend[q].since_ms >= d->cfg.queue_ms) {
			tx_flush(t);
			t->st->queue_sent += sent;
			t->st->queue_timeout += n - sent;
			d->pend[q].used = false;
		} else if (sent) {
			tx_flush(t);
			t->st->queue_sent += sent;
			memmove(pend_slot(d, q, 0), pend_slot(d, q, sent), (size_t)(n - sent) * DRV_BUF);
			memmove(lens, lens + sent, (n - sent) * sizeof(*lens));
			d->pend[q].n = n - sent;
		}
	}
}

static bool any_pending(const struct driver *d)
{
	for (int q = 0; q < DRV_QUEUES; q++)
		if (d->pend[q].used)
			return true;
	return false;
}

static void drain(int fd)
{
	uint64_t v;
	while (read(fd, &v, sizeof(v)) > 0) {
	}
}

static int make_epoll(const int *fds, int n)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	for (int i = 0; ep >= 0 && i < n; i++) {
		if (fds[i] < 0)
			continue;
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fds[i] };
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
	}
	return ep;
}

/* Classifies, protects and sends the segments waiting in t->buf. */
static void tx_run(struct tx *t)
{
	struct driver *d = t->d;
	if (t->n == 0 && t->bad == 0)
		return;
	uint64_t now_ms = driver_now_ms();
	pthread_rwlock_rdlock(&d->lock);
	t->st->steered += t->n + t->bad;
	t->st->malformed += t->bad;
	for (unsigned i = 0; i < t->n; i++)
		tx_packet(t, t->buf[i], t->len[i], false, now_ms);
	tx_flush(t);
	pthread_rwlock_unlock(&d->lock);
	t->n = 0;
	t->bad = 0;
}

/* One read from the TUN device (len bytes at t->frame): its packets go
 * to t->buf, a super-packet cut into segments (offload.c). */
static void tx_frame(struct tx *t, size_t len)
{
	struct virtio_net_hdr h;
	struct offload_seg s;
	if (len < OFFLOAD_VNET_LEN || len >= DRV_FRAME) {
		t->bad++;   /* no header, or truncated */
		return;
	}
	memcpy(&h, t->frame, sizeof(h));
	if (!offload_seg_start(&s, &h, t->frame + OFFLOAD_VNET_LEN, len - OFFLOAD_VNET_LEN,
	                       DRV_SEG_ROOM)) {
		t->bad++;
		return;
	}
	for (;;) {
		if (t->n == DRV_BATCH)
			tx_run(t);
		size_t n = offload_seg_next(&s, t->buf[t->n] + DRV_HEAD);
		if (n == 0)
			break;
		t->len[t->n++] = n;
		t->made++;
	}
}

void *driver_tx_main(void *arg)
{
	struct driver *d = arg;
	struct tx t = { .d = d, .st = &d->tx_stats };
	t.buf = malloc((size_t)DRV_BATCH * DRV_BUF);
	t.frame = malloc(DRV_FRAME);
	t.raw4.fd = d->tx4;
	t.raw6.fd = d->tx6;
	t.udp4.fd = d->udp4;
	t.udp6.fd = d->udp6;
	t.l2.fd = d->txl2;
	int fds[] = { d->tun, d->tx_wake };
	int ep = make_epoll(fds, 2);
	if (!t.buf || !t.frame || ep < 0) {
		free(t.buf);
		free(t.frame);
		if (ep >= 0)
			close(ep);
		return NULL;
	}
	while (!atomic_load(&d->stop)) {
		struct epoll_event ev[2];
		int ne = epoll_wait(ep, ev, 2, 100);
		bool woken = false;
		for (int i = 0; i < ne; i++)
			if (ev[i].data.fd == d->tx_wake) {
				drain(d->tx_wake);
				woken = true;
			}
		uint64_t now_ms = driver_now_ms();
		pthread_rwlock_rdlock(&d->lock);
		if (woken || any_pending(d))
			tx_pending(&t, now_ms);
		pthread_rwlock_unlock(&d->lock);
		/* A bounded number of reads and segments before looking at the
		 * wakeups again; the segments go out whenever DRV_BATCH of them
		 * are waiting. */
		t.made = 0;
		for (int reads = 0; reads < 8 * DRV_BATCH && t.made < 8 * DRV_BATCH; reads++) {
			ssize_t r = read(d->tun, t.frame, DRV_FRAME);
			if (r <= 0)
				break;
			tx_frame(&t, (size_t)r);
		}
		tx_run(&t);
	}
	close(ep);
	free(t.buf);
	free(t.frame);
	return NULL;
}

/* ---- inbound ---- */

/* Packets whose SPI is not known yet. When secpold rekeys a Child SA as the
 * initiator, the peer installs the new SAs as it answers and may send on the
 * new inbound one at once: its first ESP packets can reach this worker before
 * the agent, still reading that answer, has installed the SA. They wait here
 * -- in preallocated slots, oldest given up first when all are taken -- until
 * an inbound SA is added (rx_wake) or RX_HOLD_MS pass; only then is a packet
 * a bad-SPI drop. The wait covers the agent's install under load; garbage
 * SPIs cost a copy and a slot for that long, never more. */
#define RX_HOLD 32
#define RX_HOLD_MS 250

struct rx {
	struct driver *d;
	struct worker_stats *st;
	uint8_t (*buf)[DRV_BUF];
	struct mmsghdr msg[DRV_BATCH];
	struct iovec iov[DRV_BATCH];
	struct sockaddr_in6 from[DRV_BATCH];
	uint8_t cmsg[DRV_BATCH][64];
	/* Decrypted packets of one batch, coalesced for the TUN device. */
	struct offload_gro gro;
	struct virtio_net_hdr vh;
	struct iovec wiov[OFFLOAD_GRO_MAX + 1];
	/* The held packets: slot numbers in arrival order, and per slot. */
	uint8_t (*hold)[DRV_BUF];
	unsigned order[RX_HOLD], nheld;
	bool slot_used[RX_HOLD];
	uint16_t held_len[RX_HOLD];
	uint64_t held_since[RX_HOLD];
};

/* The local address a datagram was sent to, from IP(V6)_PKTINFO. */
static bool pktinfo_dst(struct msghdr *mh, int family, uint8_t *dst)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (family == AF_INET6 && c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			memcpy(dst, &pi.ipi6_addr, 16);
			return true;
		}
		if (family == AF_INET && c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			memcpy(dst, &pi.ipi_addr, 4);
			return true;
		}
	}
	return false;
}

/* The IP header the payload at buf + DRV_HEAD + hl arrived without. */
static bool rx_header(struct rx *r, unsigned i, int family, uint8_t proto, size_t *len)
{
	uint8_t dst[16];
	struct msghdr *mh = &r->msg[i].msg_hdr;
	uint8_t *h = r->buf[i] + DRV_HEAD;
	if (!pktinfo_dst(mh, family, dst))
		return false;
	if (family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&r->from[i];
		synth_ipv4(h, (const uint8_t *)&a->sin_addr, dst, proto, *len + 20);
		*len += 20;
	} else {
		synth_ipv6(h, r->from[i].sin6_addr.s6_addr, dst, proto, *len);
		*len += 40;
	}
	return true;
}

/* Writes what the batch decrypted to the TUN device: a coalesced TCP
 * super-packet (offload.c) or a packet as it is, each behind its vnet
 * header. The read lock is held (the counters). */
static void rx_deliver(struct rx *r)
{
	struct driver *d = r->d;
	for (unsigned i = 0; i < r->gro.nitems; i++) {
		unsigned npkts;
		size_t niov = offload_gro_item(&r->gro, i, &r->vh, r->wiov, &npkts);
		ssize_t w;
		for (int tries = 0;; tries++) {
			w = writev(d->tun, r->wiov, (int)niov);
			if (w >= 0 || tries == 2 || (errno != EAGAIN && errno != EINTR))
				break;
			/* The device's queue is full: give the kernel a moment. */
			struct pollfd pfd = { .fd = d->tun, .events = POLLOUT };
			if (errno == EAGAIN)
				poll(&pfd, 1, 1);
		}
		if (w < 0)
			r->st->tun_write_errors += npkts;
		else
			r->st->decrypted += npkts;
	}
	offload_gro_reset(&r->gro);
}

/* One ESP/AH packet at buf + DRV_HEAD. false: its SPI is unknown, and
 * nothing was done or counted (the caller holds it or counts the drop). */
static bool rx_packet(struct rx *r, uint8_t *buf, size_t len, uint64_t now_ms)
{
	struct driver *d = r->d;
	struct pkt pk = { .buf = buf, .cap = DRV_BUF, .off = DRV_HEAD, .len = len };
	struct ipsec_sa *sa = NULL;
	enum sa_drop why = ipsec_input_or_hold(d->sad, &pk, now_ms / 1000, &sa);
	if (why == DROP_BAD_SPI && !sa)
		return false;
	if (sa && sa->owner)
		expiry_signal(d, sa->owner);
	if (why != DROP_NONE || !sa)
		return true;   /* counted by the transform, in the SA or the SAD */
	if (pk.len == 0)
		return true;   /* an RFC 4303 dummy packet */
	/* The packet decrypted under this SA: it must also be traffic the SA
	 * was made for, and traffic the policy does not block. (Traffic it
	 * would let pass in clear may come protected: the servers of the
	 * predefined policies permit ICMP in clear, and a client's default
	 * response SA carries all of its traffic with them.) */
	struct spd_packet p;
	struct spd_match m;
	const struct child_sa *cs = sa->owner;
	if (!driver_classify(pkt_data(&pk), pk.len, &p) || !cs || !child_carries(cs, &p) ||
	    (driver_lookup(d, &p, SPD_INBOUND, &m) && m.action == ACTION_BLOCK &&
	     !spd_exempt(d->cfg.exempt, &p))) {
		sa_drop(sa, DROP_SELECTOR);
		return true;
	}
	if (!offload_gro_add(&r->gro, pkt_data(&pk), pk.len)) {
		rx_deliver(r);   /* not with batches of at most OFFLOAD_GRO_MAX */
		offload_gro_add(&r->gro, pkt_data(&pk), pk.len);
	}
	return true;
}

/* Keeps a packet with an unknown SPI (lock held). */
static void rx_hold(struct rx *r, const uint8_t *buf, size_t len, uint64_t now_ms)
{
	unsigned s = 0;
	if (r->nheld == RX_HOLD) {
		/* All taken: the oldest is given up, a bad SPI after all. */
		sad_drop(r->d->sad, DROP_BAD_SPI);
		s = r->order[0];
		memmove(r->order, r->order + 1, (RX_HOLD - 1) * sizeof(r->order[0]));
		r->nheld--;
	} else {
		while (r->slot_used[s])
			s++;
	}
	r->slot_used[s] = true;
	memcpy(r->hold[s] + DRV_HEAD, buf + DRV_HEAD, len);
	r->held_len[s] = (uint16_t)len;
	r->held_since[s] = now_ms;
	r->order[r->nheld++] = s;
}

/* Tries the held packets again after an inbound SA was added (sa_added),
 * or only gives up those that waited RX_HOLD_MS, in arrival order. */
static void rx_held_retry(struct rx *r, bool sa_added, uint64_t now_ms)
{
	struct driver *d = r->d;
	if (r->nheld == 0 || (!sa_added && now_ms - r->held_since[r->order[0]] < RX_HOLD_MS))
		return;
	pthread_rwlock_rdlock(&d->lock);
	offload_gro_reset(&r->gro);
	unsigned keep = 0;
	for (unsigned i = 0; i < r->nheld; i++) {
		unsigned s = r->order[i];
		if (sa_added && rx_packet(r, r->hold[s], r->held_len[s], now_ms)) {
			r->slot_used[s] = false;   /* its buffer stays intact until rx_deliver */
			continue;
		}
		if (now_ms - r->held_since[s] >= RX_HOLD_MS) {
			sad_drop(d->sad, DROP_BAD_SPI);
			r->slot_used[s] = false;
			continue;
		}
		r->order[keep++] = s;
	}
	r->nheld = keep;
	rx_deliver(r);
	pthread_rwlock_unlock(&d->lock);
}

/* An IKE message that came on UDP 4500, to the agent with its addresses. */
static void rx_ike(struct rx *r, unsigned i, int family, const uint8_t *msg, size_t len)
{
	struct driver_ike_from f = { .family = (uint8_t)family };
	if (!pktinfo_dst(&r->msg[i].msg_hdr, family, f.local)) {
		r->st->ike_dropped++;
		return;
	}
	if (family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&r->from[i];
		memcpy(f.remote, &a->sin_addr, 4);
		f.remote_port = ntohs(a->sin_port);
	} else {
		memcpy(f.remote, r->from[i].sin6_addr.s6_addr, 16);
		f.remote_port = ntohs(r->from[i].sin6_port);
	}
	struct iovec iov[2] = { { &f, sizeof(f) }, { (void *)msg, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	if (sendmsg(r->d->ike[1], &mh, MSG_DONTWAIT) < 0)
		r->st->ike_dropped++;
	else
		r->st->ike_passed++;
}

/* Reads one batch from fd: raw IPv4 (the IP header included), raw IPv6 or
 * UDP (payload only: the header is rebuilt from the addresses). */
static int rx_batch(struct rx *r, int fd, int family, bool raw, uint8_t raw_proto)
{
	struct driver *d = r->d;
	size_t hl = family == AF_INET ? (raw ? 0 : 20) : 40;
	for (unsigned i = 0; i < DRV_BATCH; i++) {
		r->iov[i] = (struct iovec){ .iov_base = r->buf[i] + DRV_HEAD + hl,
		                            .iov_len = DRV_BUF - DRV_HEAD - hl };
		r->msg[i].msg_hdr = (struct msghdr){ .msg_name = &r->from[i],
		                                     .msg_namelen = sizeof(r->from[i]),
		                                     .msg_iov = &r->iov[i], .msg_iovlen = 1,
		                                     .msg_control = r->cmsg[i],
		                                     .msg_controllen = sizeof(r->cmsg[i]) };
	}
	int n = recvmmsg(fd, r->msg, DRV_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return 0;
	uint64_t now_ms = driver_now_ms();
	pthread_rwlock_rdlock(&d->lock);
	offload_gro_reset(&r->gro);
	for (int i = 0; i < n; i++) {
		size_t len = r->msg[i].msg_len;
		uint8_t *payload = r->buf[i] + DRV_HEAD + hl;
		if (!raw) {
			/* RFC 3948: a one-octet 0xff is a NAT keepalive; four zero
			 * octets (non-ESP marker) start an IKE message: the agent's. */
			if (len == 1 && payload[0] == 0xff)
				continue;
			if (len >= 4 && !payload[0] && !payload[1] && !payload[2] && !payload[3]) {
				rx_ike(r, (unsigned)i, family, payload + 4, len - 4);
				continue;
			}
		}
		if (hl && !rx_header(r, (unsigned)i, family, raw ? raw_proto : IPPROTO_ESP, &len)) {
			r->st->malformed++;
			continue;
		}
		if (!rx_packet(r, r->buf[i], len, now_ms))
			rx_hold(r, r->buf[i], len, now_ms);
	}
	rx_deliver(r);
	pthread_rwlock_unlock(&d->lock);
	return n;
}

void *driver_rx_main(void *arg)
{
	struct driver *d = arg;
	struct rx r = { .d = d, .st = &d->rx_stats };
	r.buf = malloc((size_t)DRV_BATCH * DRV_BUF);
	r.hold = malloc((size_t)RX_HOLD * DRV_BUF);
	int fds[] = { d->rx[0], d->rx[1], d->rx[2], d->rx[3], d->udp4, d->udp6, d->rx_wake };
	int ep = make_epoll(fds, 7);
	if (!r.buf || !r.hold || ep < 0) {
		free(r.buf);
		free(r.hold);
		if (ep >= 0)
			close(ep);
		return NULL;
	}
	while (!atomic_load(&d->stop)) {
		struct epoll_event ev[8];
		/* Held packets are given up on time, not at the next traffic. */
		int ne = epoll_wait(ep, ev, 8, r.nheld ? RX_HOLD_MS / 4 : 200);
		/* An SA added first: what waited for it goes before what came after. */
		bool sa_added = false;
		for (int i = 0; i < ne; i++)
			if (ev[i].data.fd == d->rx_wake) {
				drain(d->rx_wake);
				sa_added = true;
			}
		rx_held_retry(&r, sa_added, driver_now_ms());
		for (int i = 0; i < ne; i++) {
			int fd = ev[i].data.fd;
			if (fd == d->rx_wake)
				continue;
			int family = fd == d->rx[0] || fd == d->rx[1] || fd == d->udp4 ? AF_INET : AF_INET6;
			bool raw = fd != d->udp4 && fd != d->udp6;
			uint8_t proto = fd == d->rx[1] || fd == d->rx[3] ? IPPROTO_AH : IPPROTO_ESP;
			/* A bounded number of batches per wakeup, so one busy
			 * socket cannot starve the others. */
			for (int round = 0; round < 8 && rx_batch(&r, fd, family, raw, proto) == DRV_BATCH;
			     round++) {
			}
		}
	}
	/* What is still held was never delivered: bad SPIs. */
	pthread_rwlock_rdlock(&d->lock);
	for (unsigned i = 0; i < r.nheld; i++)
		sad_drop(d->sad, DROP_BAD_SPI);
	pthread_rwlock_unlock(&d->lock);
	close(ep);
	free(r.buf);
	free(r.hold);
	return NULL;
}
