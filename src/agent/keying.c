/*
 * Keying: secpold's IKE engine wired to the world. IKE listens on UDP 500
 * here and on UDP 4500 through the driver (which owns that port for ESP in
 * UDP and hands over what starts with the non-ESP marker); acquires come
 * from the driver's per-rule queues; negotiated Child SAs go into the
 * driver. Everything runs on the agent's main thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "agent/keying.h"

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the engine's callbacks ---- */

static void k_send(void *ctx, const struct ike_addr *local, const struct ike_addr *remote,
                   const uint8_t *msg, size_t len)
{
	struct keying *k = ctx;
	if (local->port == IKE_NATT_PORT) {
		if (!driver_ike_send(k->driver, remote->family, remote->bytes, remote->port, msg, len))
			k->send_errors++;
		return;
	}
	int fd = remote->family == AF_INET ? k->udp4 : k->udp6;
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(remote->port) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(remote->port) };
	struct iovec iov = { (void *)msg, len };
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	memset(&cbuf, 0, sizeof(cbuf));
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf };
	struct cmsghdr *c = (struct cmsghdr *)cbuf.buf;
	/* From the address the peer knows us by: the socket is bound to any. */
	if (remote->family == AF_INET) {
		memcpy(&a4.sin_addr, remote->bytes, 4);
		mh.msg_name = &a4;
		mh.msg_namelen = sizeof(a4);
		struct in_pktinfo pi = { 0 };
		memcpy(&pi.ipi_spec_dst, local->bytes, 4);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
	} else {
		memcpy(&a6.sin6_addr, remote->bytes, 16);
		mh.msg_name = &a6;
		mh.msg_namelen = sizeof(a6);
		struct in6_pktinfo pi = { 0 };
		memcpy(&pi.ipi6_addr, local->bytes, 16);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
	}
	if (fd < 0 || sendmsg(fd, &mh, MSG_DONTWAIT) < 0)
		k->send_errors++;
}

static bool k_install(void *ctx, const struct ike_child_install *c, char *err, size_t errlen)
{
	struct keying *k = ctx;
	if (!driver_sa_add(k->driver, &c->in, err, errlen))
		return false;
	if (!driver_sa_add(k->driver, &c->out, err, errlen)) {
		driver_sa_delete(k->driver, c->in.sa.spi, &c->in.sa.dst, c->in.sa.proto);
		return false;
	}
	return true;
}

static void k_remove(void *ctx, enum sa_proto proto, uint32_t spi_in, const struct sa_address *local,
                     uint32_t spi_out, const struct sa_address *remote)
{
	struct keying *k = ctx;
	if (spi_in)
		driver_sa_delete(k->driver, spi_in, local, proto);
	if (spi_out)
		driver_sa_delete(k->driver, spi_out, remote, proto);
}

/* The set element of a run-time filter: Negotiate steers (this host, peer)
 * out through the TUN device; Permit (soft) lets (peer, this host) in clear. */
static void filter_set(struct keying *k, const struct driver_dynamic *f, bool add)
{
	char err[256];
	bool clear = f->action == ACTION_PERMIT;
	const uint8_t *a = clear ? f->remote.bytes : f->local.bytes;
	const uint8_t *b = clear ? f->local.bytes : f->remote.bytes;
	if (k->steer && !steer_dynamic(k->steer, clear, f->local.family, a, b, add, err, sizeof(err)) &&
	    add && k->log)
		k->log(LOG_WARNING, err);
}

static bool filter_equal(const struct driver_dynamic *a, const struct driver_dynamic *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static void filter_drop(struct keying *k, size_t i)
{
	driver_dynamic_delete(k->driver, &k->filters[i].f);
	filter_set(k, &k->filters[i].f, false);
	k->filters[i] = k->filters[--k->nfilters];
}

static void k_dynamic(void *ctx, const struct driver_dynamic *f, bool add, uint32_t lifetime_s)
{
	struct keying *k = ctx;
	struct driver_dynamic key;
	memset(&key, 0, sizeof(key));   /* compared whole: no stray padding */
	key.rule_id = f->rule_id;
	key.action = f->action;
	key.local = f->local;
	key.remote = f->remote;
	key.local_len = f->local_len;
	key.remote_len = f->remote_len;
	key.protocol = f->protocol;
	memcpy(key.local_ports, f->local_ports, sizeof(key.local_ports));
	memcpy(key.remote_ports, f->remote_ports, sizeof(key.remote_ports));
	for (size_t i = 0; i < k->nfilters; i++)
		if (filter_equal(&k->filters[i].f, &key)) {
			if (add) {
				k->filters[i].refs++;
				if (lifetime_s)
					k->filters[i].until_ms = now_ms() + (uint64_t)lifetime_s * 1000;
			} else if (--k->filters[i].refs == 0 && !k->filters[i].until_ms) {
				filter_drop(k, i);
			}
			return;
		}
	if (!add)
		return;
	if (k->nfilters == k->filters_cap) {
		size_t cap = k->filters_cap ? k->filters_cap * 2 : 64;
		struct keying_filter *grown =
			cap <= KEYING_FILTERS_MAX ? realloc(k->filters, cap * sizeof(*grown)) : NULL;
		if (!grown) {
			if (k->log)
				k->log(LOG_WARNING, "run-time filter not added: too many at once");
			return;
		}
		k->filters = grown;
		k->filters_cap = cap;
	}
	char err[256];
	if (!driver_dynamic_add(k->driver, &key, err, sizeof(err))) {
		if (k->log)
			k->log(LOG_WARNING, err);
		return;
	}
	filter_set(k, &key, true);
	k->filters[k->nfilters++] = (struct keying_filter){
		.f = key, .refs = 1, .until_ms = lifetime_s ? now_ms() + (uint64_t)lifetime_s * 1000 : 0,
	};
}

void keying_restore_filters(struct keying *k)
{
	for (size_t i = 0; i < k->nfilters; i++)
		filter_set(k, &k->filters[i].f, true);
}

/* Soft associations end when their time is up. */
static void filters_expire(struct keying *k, uint64_t now)
{
	for (size_t i = 0; i < k->nfilters;)
		if (k->filters[i].until_ms && now >= k->filters[i].until_ms)
			filter_drop(k, i);
		else
			i++;
}

static void k_log(void *ctx, int level, const char *line)
{
	struct keying *k = ctx;
	if (k->log)
		k->log(level, line);
}

static void k_event(void *ctx, const struct ike_event *ev)
{
	struct keying *k = ctx;
	if (k->event)
		k->event(k->event_ctx, ev);
}

/* ---- sockets ---- */

static int ike_socket(int family, uint32_t mark)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	/* The bypass mark keeps IKE out of the steering, whatever the policy
	 * says about the peer (IKE is always exempt, as on Windows). */
	setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Bursts of answers (liveness checks of many SAs) must not overflow. */
	int rcv = 8 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(IKE_PORT) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(IKE_PORT) };
	int r;
	if (family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		r = bind(fd, (struct sockaddr *)&a6, sizeof(a6));
	} else {
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		r = bind(fd, (struct sockaddr *)&a4, sizeof(a4));
	}
	if (r < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

bool keying_start(struct keying *k, struct driver *d, const struct steer_config *steer,
                  uint32_t bypass_mark, void (*log)(int level, const char *line), char *err,
                  size_t errlen)
{
	memset(k, 0, sizeof(*k));
	k->driver = d;
	k->steer = steer;
	k->log = log;
	k->bypass_mark = bypass_mark;
	k->udp4 = ike_socket(AF_INET, bypass_mark);
	k->udp6 = ike_socket(AF_INET6, bypass_mark);
	if (k->udp4 < 0 && k->udp6 < 0) {
		snprintf(err, errlen, "cannot bind UDP port 500: %s", strerror(errno));
		return false;
	}
	/* Liveness checks after 30 s without a word from the peer: a peer that
	 * went away takes its SAs with it within about a minute. */
	struct ike_config cfg = { .dpd_s = 30 };
	struct ike_host h = { .ctx = k, .send = k_send, .install = k_install, .remove = k_remove,
	                      .dynamic = k_dynamic, .log = k_log, .event = k_event };
	if (!(k->engine = ike_engine_new(&cfg, &h))) {
		keying_stop(k);
		snprintf(err, errlen, "out of memory");
		return false;
	}
	return true;
}

void keying_stop(struct keying *k)
{
	if (k->engine) {
		ike_engine_flush(k->engine, now_ms());
		ike_engine_free(k->engine);
	}
	if (k->udp4 >= 0)
		close(k->udp4);
	if (k->udp6 >= 0)
		close(k->udp6);
	k->engine = NULL;
	free(k->filters);   /* the engine's flush removed them all */
	k->filters = NULL;
	k->nfilters = k->filters_cap = 0;
	cert_store_close(k->certs);
	k->certs = NULL;
	k->udp4 = k->udp6 = -1;
}

/* The certificate store ($SECPOL_CERTS or the default), opened again when
 * its directory changed (`secpol cert import` / `delete` write it). */
static void certs_refresh(struct keying *k, bool force)
{
	struct stat st;
	const char *dir = cert_store_path(NULL);
	int64_t m = stat(dir, &st) == 0 ? st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec : 0;
	if (!force && m == k->certs_mtime)
		return;
	struct cert_err err = { 0 };
	struct cert_store *s = cert_store_open(dir, false, &err);
	if (!s) {
		char line[512];
		snprintf(line, sizeof(line), "certificate store %s: %s", dir, err.msg);
		k_log(k, LOG_WARNING, line);
		return;
	}
	k->certs_mtime = m;
	ike_engine_set_certs(k->engine, s, k->crl);
	cert_store_close(k->certs);
	k->certs = s;
}

bool keying_set_policy(struct keying *k, const struct compiled_policy *cp, bool allow_legacy,
                       enum cert_crl_mode crl, char *err, size_t errlen)
{
	k->crl = crl;
	certs_refresh(k, true);
	struct ike_policy p = { .mm = cp->mm, .ike_lifetime_s = cp->mmlifetime_s,
	                        .allow_legacy = allow_legacy, .rules = cp->ike_rules,
	                        .nrules = cp->nike };
	return ike_engine_set_policy(k->engine, &p, err, errlen);
}

/* ---- input ---- */

static void from_port500(struct keying *k, int fd, uint64_t now)
{
	uint8_t buf[IKE_DATAGRAM_MAX];
	for (int round = 0; round < 64; round++) {
		struct sockaddr_in6 from;
		union {
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
		                     .msg_iovlen = 1, .msg_control = cbuf.buf,
		                     .msg_controllen = sizeof(cbuf.buf) };
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0)
			return;
		if (mh.msg_flags & MSG_TRUNC)
			continue;
		struct ike_addr local = { .port = IKE_PORT }, remote = { .port = 0 };
		bool have_local = false;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				local.family = AF_INET;
				memcpy(local.bytes, &pi.ipi_addr, 4);
				have_local = true;
			} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				local.family = AF_INET6;
				memcpy(local.bytes, &pi.ipi6_addr, 16);
				have_local = true;
			}
		}
		if (!have_local)
			continue;
		remote.family = local.family;
		if (local.family == AF_INET) {
			const struct sockaddr_in *a = (const struct sockaddr_in *)&from;
			memcpy(remote.bytes, &a->sin_addr, 4);
			remote.port = ntohs(a->sin_port);
		} else {
			memcpy(remote.bytes, &from.sin6_addr, 16);
			remote.port = ntohs(from.sin6_port);
		}
		ike_engine_input(k->engine, &local, &remote, buf, (size_t)n, now);
	}
}

static void from_port4500(struct keying *k, uint64_t now)
{
	uint8_t buf[IKE_DATAGRAM_MAX];
	for (int round = 0; round < 64; round++) {
		struct driver_ike_from f;
		size_t n = driver_ike_read(k->driver, &f, buf, sizeof(buf));
		if (n == 0)
			return;
		struct ike_addr local = { .family = f.family, .port = IKE_NATT_PORT };
		struct ike_addr remote = { .family = f.family, .port = f.remote_port };
		memcpy(local.bytes, f.local, 16);
		memcpy(remote.bytes, f.remote, 16);
		ike_engine_input(k->engine, &local, &remote, buf, n, now);
	}
}

/* The source address the kernel would use towards dst. */
static bool source_for(const struct keying *k, uint8_t family, const uint8_t *dst, uint8_t *src)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_MARK, &k->bypass_mark, sizeof(k->bypass_mark));
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(IKE_PORT) };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(IKE_PORT) };
	bool ok;
	if (family == AF_INET) {
		memcpy(&a4.sin_addr, dst, 4);
		socklen_t l = sizeof(a4);
		ok = connect(fd, (struct sockaddr *)&a4, sizeof(a4)) == 0 &&
		     getsockname(fd, (struct sockaddr *)&a4, &l) == 0;
		memcpy(src, &a4.sin_addr, 4);
	} else {
		memcpy(&a6.sin6_addr, dst, 16);
		socklen_t l = sizeof(a6);
		ok = connect(fd, (struct sockaddr *)&a6, sizeof(a6)) == 0 &&
		     getsockname(fd, (struct sockaddr *)&a6, &l) == 0;
		memcpy(src, &a6.sin6_addr, 16);
	}
	close(fd);
	return ok;
}

static const struct ike_rule *rule_of(const struct compiled_policy *cp, uint32_t id)
{
	for (size_t i = 0; i < cp->nike; i++)
		if (cp->ike_rules[i].id == id)
			return &cp->ike_rules[i];
	return NULL;
}

static void acquires(struct keying *k, const struct compiled_policy *cp, uint64_t now)
{
	struct driver_acquire a;
	for (int round = 0; round < 64 && driver_acquire_read(k->driver, &a); round++) {
		const struct ike_rule *r = rule_of(cp, a.rule_id);
		if (!r)
			continue;   /* a rule IKE does not negotiate (its partner does) */
		/* The peer: the tunnel endpoint, or the packet's destination. */
		struct ike_addr local = { .port = IKE_PORT }, remote = { .port = IKE_PORT };
		if (r->tunnel) {
			remote.family = r->tunnel_peer.family;
			memcpy(remote.bytes, r->tunnel_peer.bytes, 16);
		} else {
			remote.family = a.pkt.family;
			memcpy(remote.bytes, a.pkt.dst, 16);
		}
		local.family = remote.family;
		if (!r->tunnel && a.pkt.family == remote.family)
			memcpy(local.bytes, a.pkt.src, 16);
		else if (!source_for(k, remote.family, remote.bytes, local.bytes))
			continue;
		ike_engine_acquire(k->engine, a.rule_id, &local, &remote, &a.pkt, now);
	}
}

/* Once a second: the SAs the data path says must be rekeyed. */
static void expiries(struct keying *k, uint64_t now, bool woken)
{
	if (!woken && now - k->expiry_check_ms < 1000)
		return;
	k->expiry_check_ms = now;
	certs_refresh(k, false);
	filters_expire(k, now);
	struct driver_expiry x[64];
	size_t n = driver_sa_expiring(k->driver, x, 64);
	for (size_t i = 0; i < n; i++)
		ike_engine_sa_expiring(k->engine, x[i].proto, x[i].spi, x[i].inbound, x[i].hard, now);
}

uint64_t keying_serve(struct keying *k, int fd, const struct compiled_policy *cp)
{
	uint64_t now = now_ms();
	expiries(k, now, fd >= 0 && fd == driver_expiry_fd(k->driver));
	if (fd >= 0 && (fd == k->udp4 || fd == k->udp6))
		from_port500(k, fd, now);
	else if (fd >= 0 && fd == driver_ike_fd(k->driver))
		from_port4500(k, now);
	else if (fd >= 0 && fd == driver_acquire_fd(k->driver))
		acquires(k, cp, now);
	/* The timers walk every IKE SA: not after every datagram, only when
	 * one is due (and at least once a second, which also bounds how late a
	 * timer set by a datagram since can fire: they are all >= 1 s out). */
	if (now >= k->next_tick_ms) {
		uint64_t next = ike_engine_tick(k->engine, now);
		k->next_tick_ms = next < now + 1000 ? next : now + 1000;
	}
	return k->next_tick_ms > now ? k->next_tick_ms - now : 0;
}

size_t keying_fds(const struct keying *k, int fds[KEYING_FDS])
{
	size_t n = 0;
	if (k->udp4 >= 0)
		fds[n++] = k->udp4;
	if (k->udp6 >= 0)
		fds[n++] = k->udp6;
	fds[n++] = driver_ike_fd(k->driver);
	fds[n++] = driver_acquire_fd(k->driver);
	fds[n++] = driver_expiry_fd(k->driver);
	return n;
}
