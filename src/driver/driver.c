/*
 * The driver's control side: starting and stopping the data path, adding
 * and deleting Child SAs, swapping the SPD, reading the counters. Every
 * change takes the write lock, which the workers release between batches.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "driver/internal.h"

uint64_t driver_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int raw_socket(int family, int proto, uint32_t mark, char *err, size_t errlen)
{
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
	if (fd < 0) {
		snprintf(err, errlen, "raw socket (family %d, protocol %d): %s", family, proto,
		         strerror(errno));
		return -1;
	}
	/* Our own packets must never be steered back into the TUN device. */
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
		snprintf(err, errlen, "SO_MARK: %s", strerror(errno));
		close(fd);
		return -1;
	}
	/* Send at the link's MTU, not a path MTU learnt for the peer: the
	 * kernel caches the TUN device's smaller MTU for the peer address
	 * when it reroutes the first large cleartext packet into the TUN, and
	 * that would refuse every full-sized ESP packet. */
	int probe = family == AF_INET ? IP_PMTUDISC_PROBE : IPV6_PMTUDISC_PROBE;
	if (proto == IPPROTO_RAW)
		setsockopt(fd, family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
		           family == AF_INET ? IP_MTU_DISCOVER : IPV6_MTU_DISCOVER, &probe,
		           sizeof(probe));
	int one = 1;
	if (family == AF_INET6 && proto != IPPROTO_RAW)
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	int size = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	return fd;
}

/* AF_PACKET (SOCK_DGRAM) for outbound ESP/AH to a resolved next hop. Not
 * bound to a protocol or device: it only sends, the protocol and device
 * are in each message's sockaddr_ll. No PACKET_QDISC_BYPASS, so the
 * packets pass the qdisc and the taps (tcpdump, tshark) as any other.
 * Failure is not fatal: the raw sockets carry everything then. */
static int packet_socket(uint32_t mark)
{
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	/* The bypass mark, on this socket too: nftables and policy routing
	 * on the way out must see the packets as secpold's own. */
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
		close(fd);
		return -1;
	}
	int size = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	return fd;
}

/* UDP 4500 for UDP-encapsulated ESP (RFC 3948). Failure to bind is not
 * fatal: only SAs with encap=udp need it. */
static int udp_socket(int family, uint32_t mark)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	int probe = family == AF_INET ? IP_PMTUDISC_PROBE : IPV6_PMTUDISC_PROBE;
	setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
	           family == AF_INET ? IP_MTU_DISCOVER : IPV6_MTU_DISCOVER, &probe, sizeof(probe));
	if (family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	} else {
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	}
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(4500) };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(4500) };
	int r = family == AF_INET6 ? bind(fd, (struct sockaddr *)&a6, sizeof(a6))
	                           : bind(fd, (struct sockaddr *)&a4, sizeof(a4));
	if (r < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void driver_stop(struct driver *d)
{
	if (!d)
		return;
	atomic_store(&d->stop, true);
	uint64_t one = 1;
	if (d->tx_wake >= 0 && write(d->tx_wake, &one, sizeof(one)) < 0) {
		/* the worker also wakes on its poll timeout */
	}
	if (d->rx_wake >= 0 && write(d->rx_wake, &one, sizeof(one)) < 0) {
	}
	if (d->l2_wake >= 0 && write(d->l2_wake, &one, sizeof(one)) < 0) {
	}
	if (d->l2_started)
		pthread_join(d->l2_thread, NULL);
	if (d->tx_started)
		pthread_join(d->tx_thread, NULL);
	if (d->rx_started)
		pthread_join(d->rx_thread, NULL);
	driver_sa_flush(d);
	sad_free(d->sad);
	spd_free(d->spd);
	close_fd(&d->tun);
	close_fd(&d->tx4);
	close_fd(&d->tx6);
	close_fd(&d->txl2);
	for (int i = 0; i < 4; i++)
		close_fd(&d->rx[i]);
	close_fd(&d->udp4);
	close_fd(&d->udp6);
	close_fd(&d->tx_wake);
	close_fd(&d->rx_wake);
	close_fd(&d->l2_wake);
	close_fd(&d->expiry_wake);
	for (int i = 0; i < 2; i++) {
		close_fd(&d->acquire[i]);
		close_fd(&d->ike[i]);
	}
	pthread_rwlock_destroy(&d->lock);
	free(d->pend_buf);
	free(d->pend_len);
	dynamic_free(d);
	free(d->outbound);
	free(d);
}

/* ---- the next hops of outbound SAs (l2.h) ---- */

#define L2_REFRESH_MS 1000

struct l2_job {
	uint64_t id;
	struct sa_address dst;
	struct l2_hop hop;
};

/* Resolves the next hop of every outbound ESP/AH SA that is not UDP-
 * encapsulated, outside the lock, and stores the results under the write
 * lock (an SA deleted meanwhile is simply not found again by its id). */
static void l2_refresh(struct driver *d, struct l2_resolver *r, struct l2_job **jobs,
                       size_t *cap, uint64_t newer_than, uint64_t *seen)
{
	/* newer_than: only SAs added since (the list is newest first; a
	 * standby SA at the tail waits for the next full round). */
	size_t n = 0;
	pthread_rwlock_rdlock(&d->lock);
	*seen = d->next_child_id;
	for (struct child_sa *cs = d->children; cs && cs->id > newer_than; cs = cs->next)
		if (!cs->sa->inbound && !cs->udp_encap)
			n++;
	if (n > *cap) {
		struct l2_job *nj = realloc(*jobs, n * sizeof(**jobs));
		if (!nj) {
			pthread_rwlock_unlock(&d->lock);
			return;
		}
		*jobs = nj;
		*cap = n;
	}
	size_t k = 0;
	for (struct child_sa *cs = d->children; cs && k < n && cs->id > newer_than; cs = cs->next)
		if (!cs->sa->inbound && !cs->udp_encap)
			(*jobs)[k++] = (struct l2_job){ .id = cs->id, .dst = cs->sa->dst };
	pthread_rwlock_unlock(&d->lock);
	if (k == 0)
		return;
	/* Two open-addressing indexes over the jobs: by destination (one
	 * resolution per peer) and by id (the results back in one pass). */
	size_t hcap = 16;
	while (hcap < 2 * k)
		hcap <<= 1;
	size_t *by_dst = malloc(hcap * sizeof(*by_dst)), *by_id = malloc(hcap * sizeof(*by_id));
	if (!by_dst || !by_id) {
		free(by_dst);
		free(by_id);
		return;
	}
	for (size_t h = 0; h < hcap; h++)
		by_dst[h] = by_id[h] = SIZE_MAX;
	for (size_t i = 0; i < k; i++) {
		struct l2_job *j = &(*jobs)[i];
		uint64_t hv = 0xcbf29ce484222325ull;
		for (size_t b = 0; b < sizeof(j->dst.bytes); b++)
			hv = (hv ^ j->dst.bytes[b]) * 0x100000001b3ull;
		size_t h = (size_t)(hv ^ j->dst.family) & (hcap - 1);
		while (by_dst[h] != SIZE_MAX &&
		       memcmp(&(*jobs)[by_dst[h]].dst, &j->dst, sizeof(j->dst)) != 0)
			h = (h + 1) & (hcap - 1);
		/* SAs to the same peer (a rekey, several selectors) share a hop. */
		if (by_dst[h] != SIZE_MAX) {
			j->hop = (*jobs)[by_dst[h]].hop;
		} else {
			by_dst[h] = i;
			l2_resolve(r, d->cfg.bypass_mark, &j->dst, &j->hop);
		}
		h = (size_t)((j->id * 0x9E3779B97F4A7C15ull) >> 20) & (hcap - 1);
		while (by_id[h] != SIZE_MAX)
			h = (h + 1) & (hcap - 1);
		by_id[h] = i;
	}
	pthread_rwlock_wrlock(&d->lock);
	for (struct child_sa *cs = d->children; cs && cs->id > newer_than; cs = cs->next) {
		if (cs->sa->inbound || cs->udp_encap)
			continue;
		size_t h = (size_t)((cs->id * 0x9E3779B97F4A7C15ull) >> 20) & (hcap - 1);
		while (by_id[h] != SIZE_MAX && (*jobs)[by_id[h]].id != cs->id)
			h = (h + 1) & (hcap - 1);
		if (by_id[h] != SIZE_MAX)
			cs->l2 = (*jobs)[by_id[h]].hop;
	}
	pthread_rwlock_unlock(&d->lock);
	free(by_dst);
	free(by_id);
}

static void *l2_main(void *arg)
{
	struct driver *d = arg;
	struct l2_resolver *r = NULL;
	struct l2_job *jobs = NULL;
	size_t cap = 0;
	uint64_t seen = 0, last_full = 0;
	while (!atomic_load(&d->stop)) {
		struct pollfd pfd = { .fd = d->l2_wake, .events = POLLIN };
		if (poll(&pfd, 1, L2_REFRESH_MS) > 0) {
			uint64_t v;
			while (read(d->l2_wake, &v, sizeof(v)) > 0) {
			}
		}
		if (atomic_load(&d->stop))
			break;
		if (!r)
			r = l2_open();   /* retried on the next round if it fails */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
		/* Every SA once a second; in between only the new ones. */
		bool full = now - last_full >= L2_REFRESH_MS;
		if (full)
			last_full = now;
		if (r)
			l2_refresh(d, r, &jobs, &cap, full ? 0 : seen, &seen);
	}
	l2_close(r);
	free(jobs);
	return NULL;
}

struct driver *driver_start(const struct driver_config *c, char *err, size_t errlen)
{
	if (c->queue_len == 0 || c->queue_len > 1024 || c->mtu < 1280 ||
	    c->mtu > DRV_BUF - DRV_HEAD - IPSEC_TAILROOM - 64) {
		snprintf(err, errlen, "bad driver configuration (mtu %u: 1280..%d, queue %u: 1..1024)",
		         c->mtu, DRV_BUF - DRV_HEAD - IPSEC_TAILROOM - 64, c->queue_len);
		return NULL;
	}
	struct driver *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->cfg = *c;
	d->tun = d->tx4 = d->tx6 = d->udp4 = d->udp6 = d->tx_wake = d->rx_wake = -1;
	d->txl2 = d->l2_wake = -1;
	d->acquire[0] = d->acquire[1] = d->ike[0] = d->ike[1] = d->expiry_wake = -1;
	for (int i = 0; i < 4; i++)
		d->rx[i] = -1;
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	/* The control thread must get in between two batches even under load. */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&d->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	d->children_tail = &d->children;
	d->outbound = malloc(sizeof(*d->outbound));
	if (d->outbound)
		sa_index_init(d->outbound);
	d->sad = sad_new(1024);
	dynamic_init(d);
	d->pend_buf = calloc((size_t)DRV_QUEUES * c->queue_len, DRV_BUF);
	d->pend_len = calloc((size_t)DRV_QUEUES * c->queue_len, sizeof(uint16_t));
	if (!d->sad || !d->pend_buf || !d->pend_len || !d->outbound) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	uint32_t m = c->bypass_mark;
	if ((d->tun = tun_open(c->tun, c->mtu, err, errlen)) < 0 ||
	    (d->tx4 = raw_socket(AF_INET, IPPROTO_RAW, m, err, errlen)) < 0 ||
	    (d->tx6 = raw_socket(AF_INET6, IPPROTO_RAW, m, err, errlen)) < 0 ||
	    (d->rx[0] = raw_socket(AF_INET, IPPROTO_ESP, m, err, errlen)) < 0 ||
	    (d->rx[1] = raw_socket(AF_INET, IPPROTO_AH, m, err, errlen)) < 0 ||
	    (d->rx[2] = raw_socket(AF_INET6, IPPROTO_ESP, m, err, errlen)) < 0 ||
	    (d->rx[3] = raw_socket(AF_INET6, IPPROTO_AH, m, err, errlen)) < 0)
		goto fail;
	d->udp4 = udp_socket(AF_INET, m);
	d->udp6 = udp_socket(AF_INET6, m);
	d->txl2 = packet_socket(m);
	d->tx_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->rx_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->l2_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->tx_wake < 0 || d->rx_wake < 0 || d->l2_wake < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	/* Both only ever written without blocking: a full pipe loses an
	 * acquire (the next queue asks again), a full socket an IKE message
	 * (the peer retransmits). */
	if ((d->expiry_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    pipe2(d->acquire, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, d->ike) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (pthread_create(&d->tx_thread, NULL, driver_tx_main, d) != 0)
		goto fail_thread;
	d->tx_started = true;
	if (pthread_create(&d->rx_thread, NULL, driver_rx_main, d) != 0)
		goto fail_thread;
	d->rx_started = true;
	if (d->txl2 >= 0) {
		if (pthread_create(&d->l2_thread, NULL, l2_main, d) != 0)
			goto fail_thread;
		d->l2_started = true;
	}
	return d;
fail_thread:
	snprintf(err, errlen, "cannot start a worker thread");
fail:
	driver_stop(d);
	return NULL;
}

void driver_set_spd(struct driver *d, struct spd *spd)
{
	pthread_rwlock_wrlock(&d->lock);
	struct spd *old = d->spd;
	d->spd = spd;
	pthread_rwlock_unlock(&d->lock);
	spd_free(old);
}

static uint64_t now_s(void)
{
	return driver_now_ms() / 1000;
}

bool driver_sa_add(struct driver *d, const struct child_sa_config *c, char *err, size_t errlen)
{
	const char *why = NULL;
	if (c->udp_encap && c->sa.proto != SA_PROTO_ESP) {
		snprintf(err, errlen, "UDP encapsulation (RFC 3948) carries ESP only");
		return false;
	}
	if (c->udp_encap && (c->sa.dst.family == AF_INET6 ? d->udp6 : d->udp4) < 0) {
		snprintf(err, errlen, "UDP port 4500 is not available to secpold");
		return false;
	}
	struct child_sa *cs = calloc(1, sizeof(*cs));
	if (!cs) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	struct sa_config sc = c->sa;
	sc.now = now_s();
	pthread_rwlock_wrlock(&d->lock);
	if (sad_lookup(d->sad, sc.spi, &sc.dst, sc.proto)) {
		pthread_rwlock_unlock(&d->lock);
		free(cs);
		snprintf(err, errlen, "an SA with SPI 0x%08x for this destination and protocol "
		         "already exists", sc.spi);
		return false;
	}
	struct ipsec_sa *sa = sad_add(d->sad, &sc, &why);
	if (!sa) {
		pthread_rwlock_unlock(&d->lock);
		free(cs);
		snprintf(err, errlen, "%s", why ? why : "the SA was refused");
		return false;
	}
	cs->sa = sa;
	cs->src = c->src;
	cs->dst = c->dst;
	cs->src_len = c->src_len;
	cs->dst_len = c->dst_len;
	cs->traffic = c->traffic;
	cs->udp_encap = c->udp_encap;
	cs->udp_port = c->udp_port ? c->udp_port : 4500;
	cs->rule_id = c->rule_id;
	cs->id = ++d->next_child_id;
	sa->owner = cs;
	/* The newest SA carries the traffic (the list is searched from the
	 * head), except a standby one: it waits behind those it replaces. */
	struct child_sa **at = c->standby ? d->children_tail : &d->children;
	cs->next = *at;
	cs->prevp = at;
	if (cs->next)
		cs->next->prevp = &cs->next;
	else
		d->children_tail = &cs->next;
	*at = cs;
	if (!c->sa.inbound)
		sa_index_add(d->outbound, cs, c->standby);
	d->key_additions++;
	pthread_rwlock_unlock(&d->lock);
	/* Packets may be waiting for this SA. */
	uint64_t one = 1;
	if (write(c->sa.inbound ? d->rx_wake : d->tx_wake, &one, sizeof(one)) < 0) {
		/* they are retried on the worker's next wakeup anyway */
	}
	/* Its next hop on the link, now rather than on the next round. */
	if (!c->sa.inbound && !c->udp_encap && d->l2_wake >= 0 &&
	    write(d->l2_wake, &one, sizeof(one)) < 0) {
	}
	return true;
}

static void add_counters(struct sa_counters *to, const struct sa_counters *from)
{
	to->packets += from->packets;
	to->bytes += from->bytes;
	to->auth_bytes += from->auth_bytes;
	to->conf_bytes += from->conf_bytes;
	for (int i = 0; i < DROP_COUNT; i++)
		to->drops[i] += from->drops[i];
}

/* Unlinks and deletes one child SA; the write lock is held. */
static void child_delete(struct driver *d, struct child_sa *cs)
{
	if (!cs->sa->inbound)
		sa_index_remove(d->outbound, cs);
	*cs->prevp = cs->next;
	if (cs->next)
		cs->next->prevp = cs->prevp;
	else
		d->children_tail = cs->prevp;
	add_counters(cs->sa->inbound ? &d->retired_in : &d->retired_out, &cs->sa->count);
	d->retired_mode_bytes[cs->sa->inbound][cs->sa->mode == SA_TUNNEL] += cs->sa->count.bytes;
	sad_delete(d->sad, cs->sa);
	free(cs);
	d->key_deletions++;
}

bool driver_sa_delete(struct driver *d, uint32_t spi, const struct sa_address *dst,
                      enum sa_proto proto)
{
	bool found = false;
	pthread_rwlock_wrlock(&d->lock);
	struct ipsec_sa *sa = sad_lookup(d->sad, spi, dst, proto);
	if (sa && sa->owner) {   /* every SA of the driver has its child_sa as owner */
		child_delete(d, sa->owner);
		found = true;
	}
	pthread_rwlock_unlock(&d->lock);
	return found;
}

size_t driver_sa_flush(struct driver *d)
{
	size_t n = 0;
	pthread_rwlock_wrlock(&d->lock);
	while (d->children) {
		child_delete(d, d->children);
		n++;
	}
	pthread_rwlock_unlock(&d->lock);
	return n;
}

static const char *addr_text(const struct sa_address *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family, a->bytes, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

void driver_sa_show(struct driver *d, FILE *out)
{
	uint64_t now = now_s();
	size_t n = 0;
	pthread_rwlock_wrlock(&d->lock);
	for (struct child_sa *cs = d->children; cs; cs = cs->next, n++) {
		const struct ipsec_sa *sa = cs->sa;
		char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
		const struct crypto_enc_info *ei = crypto_enc_info(sa->enc);
		const struct crypto_mac_info *mi = crypto_mac_info(sa->integ);
		fprintf(out, "Security Association\n--------------------\n");
		fprintf(out, "%-23s: 0x%08x\n", "SPI", sa->spi);
		fprintf(out, "%-23s: %s\n", "Direction", sa->inbound ? "inbound" : "outbound");
		fprintf(out, "%-23s: %s\n", "Protocol", sa->proto == SA_PROTO_ESP ? "ESP" : "AH");
		fprintf(out, "%-23s: %s\n", "Mode", sa->mode == SA_TUNNEL ? "tunnel" : "transport");
		fprintf(out, "%-23s: %s/%u\n", "Source", addr_text(&cs->src, a, sizeof(a)),
		        cs->src_len);
		fprintf(out, "%-23s: %s/%u\n", "Destination", addr_text(&cs->dst, b, sizeof(b)),
		        cs->dst_len);
		if (sa->mode == SA_TUNNEL) {
			fprintf(out, "%-23s: %s\n", "Tunnel Source", addr_text(&sa->src, a, sizeof(a)));
			fprintf(out, "%-23s: %s\n", "Tunnel Destination",
			        addr_text(&sa->dst, b, sizeof(b)));
		}
		if (sa->proto == SA_PROTO_ESP)
			fprintf(out, "%-23s: %s\n", "Encryption", ei ? ei->name : "none");
		fprintf(out, "%-23s: %s\n", "Integrity",
		        sa->integ != MAC_NONE && mi ? mi->name : ei && ei->aead ? "(AEAD)" : "none");
		fprintf(out, "%-23s: %s\n", "Encapsulation", cs->udp_encap ? "UDP 4500" : "none");
		fprintf(out, "%-23s: %s\n", "Extended Sequence", sa->esn ? "yes" : "no");
		if (!sa->inbound)
			fprintf(out, "%-23s: %llu\n", "Sequence Number", (unsigned long long)sa->seq);
		fprintf(out, "%-23s: %llus\n", "Age", (unsigned long long)(now - sa->created));
		fprintf(out, "%-23s: %llu\n", "Packets", (unsigned long long)sa->count.packets);
		fprintf(out, "%-23s: %llu\n", "Bytes", (unsigned long long)sa->count.bytes);
		for (int i = 1; i < DROP_COUNT; i++)
			if (sa->count.drops[i])
				fprintf(out, "%-23s: %llu\n", sa_drop_name((enum sa_drop)i),
				        (unsigned long long)sa->count.drops[i]);
		const char *state = sa->hard_expired ? "expired" : sa->soft_expired ? "rekey due"
		                                                                     : "active";
		fprintf(out, "%-23s: %s\n\n", "State", state);
	}
	pthread_rwlock_unlock(&d->lock);
	if (n == 0)
		fprintf(out, "No SAs.\n");
}

size_t driver_sa_snapshot(struct driver *d, struct driver_sa_info *out, size_t max)
{
	uint64_t now = now_s();
	size_t n = 0;
	/* The write lock: the workers update the counters under the read lock,
	 * so this sees each SA between two batches. */
	pthread_rwlock_wrlock(&d->lock);
	for (struct child_sa *cs = d->children; cs; cs = cs->next, n++) {
		if (n >= max)
			continue;
		const struct ipsec_sa *sa = cs->sa;
		out[n] = (struct driver_sa_info){
			.spi = sa->spi, .proto = sa->proto, .mode = sa->mode, .inbound = sa->inbound,
			.esn = sa->esn, .udp_encap = cs->udp_encap, .udp_port = cs->udp_port,
			.rule_id = cs->rule_id, .src = cs->src, .dst = cs->dst, .src_len = cs->src_len,
			.dst_len = cs->dst_len, .outer_src = sa->src, .outer_dst = sa->dst, .enc = sa->enc,
			.integ = sa->integ, .seq = sa->seq,
			.age_s = now > sa->created ? now - sa->created : 0, .life = sa->life,
			.soft_expired = sa->soft_expired, .hard_expired = sa->hard_expired,
			.count = sa->count,
		};
	}
	pthread_rwlock_unlock(&d->lock);
	return n;
}

void driver_get_stats(struct driver *d, struct driver_stats *s)
{
	memset(s, 0, sizeof(*s));
	pthread_rwlock_wrlock(&d->lock);
	struct sa_counters in = d->retired_in, out = d->retired_out;
	for (struct child_sa *cs = d->children; cs; cs = cs->next) {
		const struct ipsec_sa *sa = cs->sa;
		add_counters(sa->inbound ? &in : &out, &sa->count);
		s->active_sas++;
		if (sa->inbound)
			s->inbound_sas++;
		else
			s->outbound_sas++;
		if (sa->mode == SA_TUNNEL)
			s->tunnel_sas++;
		uint64_t *tb = sa->inbound ? (sa->mode == SA_TUNNEL ? &s->tunnel_bytes_received
		                                                    : &s->transport_bytes_received)
		                           : (sa->mode == SA_TUNNEL ? &s->tunnel_bytes_sent
		                                                    : &s->transport_bytes_sent);
		*tb += sa->count.bytes;
	}
	s->transport_bytes_received += d->retired_mode_bytes[1][0];
	s->tunnel_bytes_received += d->retired_mode_bytes[1][1];
	s->transport_bytes_sent += d->retired_mode_bytes[0][0];
	s->tunnel_bytes_sent += d->retired_mode_bytes[0][1];
	s->key_additions = d->key_additions;
	s->key_deletions = d->key_deletions;
	s->conf_bytes_sent = out.conf_bytes;
	s->conf_bytes_received = in.conf_bytes;
	s->auth_bytes_sent = out.auth_bytes;
	s->auth_bytes_received = in.auth_bytes;
	for (int i = 0; i < DROP_COUNT; i++)
		s->drops[i] = in.drops[i] + out.drops[i] + sad_drops(d->sad, (enum sa_drop)i);
	const struct worker_stats *t = &d->tx_stats, *r = &d->rx_stats;
	s->steered_packets = t->steered;
	s->permitted_clear = t->permitted_clear;
	s->blocked = t->blocked;
	s->no_rule = t->no_rule;
	s->queued = t->queued;
	s->queue_overflow = t->queue_overflow;
	s->queue_timeout = t->queue_timeout;
	s->queue_sent = t->queue_sent;
	s->malformed = t->malformed + r->malformed;
	s->send_errors = t->send_errors + r->send_errors;
	s->tun_write_errors = r->tun_write_errors;
	s->decrypted_packets = r->decrypted;
	s->encrypted_packets = t->encrypted;
	for (size_t i = 0; i < DRV_QUEUES; i++)
		s->acquire_queues += d->pend[i].used;
	pthread_rwlock_unlock(&d->lock);
}

/* ---- filters made at run time ---- */

bool driver_lookup(const struct driver *d, const struct spd_packet *p, enum spd_dir dir,
                   struct spd_match *m)
{
	const struct driver_dynamic *f = dynamic_find(d, p, dir);
	if (f) {
		*m = (struct spd_match){ .rule_id = f->rule_id, .action = f->action };
		return true;
	}
	return d->spd && spd_lookup(d->spd, p, dir, m);
}

/* ---- IKE's share ---- */

int driver_expiry_fd(const struct driver *d)
{
	return d->expiry_wake;
}

size_t driver_sa_expiring(struct driver *d, struct driver_expiry *out, size_t max)
{
	size_t n = 0;
	uint64_t v;
	if (read(d->expiry_wake, &v, sizeof(v)) < 0) {
		/* nothing signalled: the once-a-second check */
	}
	pthread_rwlock_wrlock(&d->lock);
	for (struct child_sa *cs = d->children; cs && n < max; cs = cs->next) {
		bool hard = cs->sa->hard_expired && !cs->hard_told;
		bool soft = cs->sa->soft_expired && !cs->soft_told;
		if (!hard && !soft)
			continue;
		cs->soft_told = cs->soft_told || soft;
		cs->hard_told = cs->hard_told || hard;
		out[n++] = (struct driver_expiry){ .proto = cs->sa->proto, .spi = cs->sa->spi,
		                                   .inbound = cs->sa->inbound, .hard = hard };
	}
	pthread_rwlock_unlock(&d->lock);
	return n;
}

int driver_acquire_fd(const struct driver *d)
{
	return d->acquire[0];
}

bool driver_acquire_read(struct driver *d, struct driver_acquire *a)
{
	/* Writes of one record are atomic (< PIPE_BUF): whole or nothing. */
	return read(d->acquire[0], a, sizeof(*a)) == (ssize_t)sizeof(*a);
}

int driver_ike_fd(const struct driver *d)
{
	return d->ike[0];
}

size_t driver_ike_read(struct driver *d, struct driver_ike_from *from, uint8_t *buf, size_t cap)
{
	struct iovec iov[2] = { { from, sizeof(*from) }, { buf, cap } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n = recvmsg(d->ike[0], &mh, MSG_DONTWAIT);
	if (n < (ssize_t)sizeof(*from) || (mh.msg_flags & MSG_TRUNC))
		return 0;
	return (size_t)n - sizeof(*from);
}

bool driver_ike_send(struct driver *d, uint8_t family, const uint8_t *remote, uint16_t port,
                     const uint8_t *msg, size_t len)
{
	static const uint8_t marker[4];   /* RFC 3948 §2.2: non-ESP marker */
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	int fd = family == AF_INET ? d->udp4 : d->udp6;
	if (fd < 0)
		return false;
	struct iovec iov[2] = { { (void *)marker, sizeof(marker) }, { (void *)msg, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	if (family == AF_INET) {
		memcpy(&a4.sin_addr, remote, 4);
		mh.msg_name = &a4;
		mh.msg_namelen = sizeof(a4);
	} else {
		memcpy(&a6.sin6_addr, remote, 16);
		mh.msg_name = &a6;
		mh.msg_namelen = sizeof(a6);
	}
	return sendmsg(fd, &mh, MSG_DONTWAIT) == (ssize_t)(len + sizeof(marker));
}
