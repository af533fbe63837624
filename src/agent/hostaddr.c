/*
 * What "me" and the server keywords stand for on this host, read when the
 * policy is compiled (and again on every reload).
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/internal.h"

#define MAX_ADDRS 256

/* Appends a (once); returns its index, or -1 when it was there or no room. */
static long add(struct ip_address **v, size_t *n, const struct ip_address *a)
{
	if (*n >= MAX_ADDRS)
		return -1;
	for (size_t i = 0; i < *n; i++)
		if (!memcmp(&(*v)[i], a, sizeof(*a)))
			return -1;
	struct ip_address *nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return -1;
	*v = nv;
	nv[*n] = *a;
	return (long)(*n)++;
}

static void read_me(struct host_addrs *h)
{
	struct ifaddrs *ifa;
	if (getifaddrs(&ifa) < 0)
		return;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		struct ip_address a = { 0 };
		if (i->ifa_addr->sa_family == AF_INET) {
			a.family = AF_INET;
			memcpy(a.bytes, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const uint8_t *b = ((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr.s6_addr;
			/* Link-local addresses carry neighbour discovery, which is
			 * never steered; a filter for "me" means the routable ones. */
			if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
				continue;
			a.family = AF_INET6;
			memcpy(a.bytes, b, 16);
		} else {
			continue;
		}
		/* Windows' "remote access" connections are dial-up links; on
		 * Linux their kin are the point-to-point interfaces (PPP,
		 * IP-in-IP, GRE, WireGuard). Everything else is a LAN. */
		enum conn_type kind = i->ifa_flags & IFF_POINTOPOINT ? CONN_DIALUP : CONN_LAN;
		long k = add(&h->me, &h->nme, &a);
		if (k < 0)
			continue;
		enum conn_type *nk = realloc(h->me_kind, (size_t)(k + 1) * sizeof(*nk));
		if (!nk) {
			h->nme--;   /* no kind, no address: never half known */
			continue;
		}
		h->me_kind = nk;
		nk[k] = kind;
	}
	freeifaddrs(ifa);
}

static void read_dns(struct host_addrs *h)
{
	FILE *f = fopen("/etc/resolv.conf", "r");
	char line[256], addr[64];
	for (int i = 0; f && i < 1000 && fgets(line, sizeof(line), f); i++) {
		struct ip_address a;
		if (sscanf(line, "nameserver %63s", addr) == 1 && policy_parse_ip(addr, &a))
			add(&h->dns, &h->ndns, &a);
	}
	if (f)
		fclose(f);
}

static void read_gateways(struct host_addrs *h)
{
	char line[512];
	FILE *f = fopen("/proc/net/route", "r");
	for (int i = 0; f && i < 10000 && fgets(line, sizeof(line), f); i++) {
		char ifname[64];
		unsigned dst, gw, flags;
		if (sscanf(line, "%63s %x %x %x", ifname, &dst, &gw, &flags) == 4 && dst == 0 &&
		    gw != 0) {
			struct ip_address a = { .family = AF_INET };
			memcpy(a.bytes, &gw, 4);   /* the file prints it in network order */
			add(&h->gateway, &h->ngateway, &a);
		}
	}
	if (f)
		fclose(f);
	f = fopen("/proc/net/ipv6_route", "r");
	for (int i = 0; f && i < 10000 && fgets(line, sizeof(line), f); i++) {
		char dst[33], dlen[3], gw[33];
		if (sscanf(line, "%32s %2s %*s %*s %32s", dst, dlen, gw) != 3 ||
		    strcmp(dlen, "00") != 0 || strspn(gw, "0") == 32)
			continue;
		struct ip_address a = { .family = AF_INET6 };
		for (int k = 0; k < 16; k++) {
			unsigned v;
			sscanf(gw + 2 * k, "%2x", &v);
			a.bytes[k] = (uint8_t)v;
		}
		add(&h->gateway, &h->ngateway, &a);
	}
	if (f)
		fclose(f);
}

bool host_addrs_read(struct host_addrs *h)
{
	memset(h, 0, sizeof(*h));
	read_me(h);
	read_dns(h);
	read_gateways(h);
	return true;
}

void host_addrs_free(struct host_addrs *h)
{
	free(h->me);
	free(h->me_kind);
	free(h->dns);
	free(h->gateway);
	memset(h, 0, sizeof(*h));
}

bool host_addrs_is_me(const struct host_addrs *h, const struct ip_address *a)
{
	return host_addrs_kind(h, a) != CONN_ALL;
}

enum conn_type host_addrs_kind(const struct host_addrs *h, const struct ip_address *a)
{
	for (size_t i = 0; i < h->nme; i++)
		if (h->me[i].family == a->family &&
		    !memcmp(h->me[i].bytes, a->bytes, a->family == AF_INET ? 4 : 16))
			return h->me_kind[i];
	return CONN_ALL;
}

enum conn_type host_addrs_route_kind(const struct host_addrs *h, const struct ip_address *remote)
{
	/* A connected UDP socket sends nothing: connect() only asks the
	 * routing table, and getsockname() tells the source it chose. */
	int fd = socket(remote->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return CONN_ALL;
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	if (remote->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(500);
		memcpy(&s4->sin_addr, remote->bytes, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(500);
		memcpy(&s6->sin6_addr, remote->bytes, 16);
		sl = sizeof(*s6);
	}
	enum conn_type kind = CONN_ALL;
	if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
		sl = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
			struct ip_address local = { .family = remote->family };
			if (remote->family == AF_INET)
				memcpy(local.bytes, &((struct sockaddr_in *)&ss)->sin_addr, 4);
			else
				memcpy(local.bytes, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
			kind = host_addrs_kind(h, &local);
		}
	}
	close(fd);
	return kind;
}
