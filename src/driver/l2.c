/* The next hop of an outbound SA (l2.h): RTM_GETROUTE, RTM_GETLINK and
 * RTM_GETNEIGH requests, one answer each. */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <net/if_arp.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "driver/l2.h"

struct l2_resolver {
	struct mnl_socket *sock;
	unsigned portid, seq;
	uint8_t buf[16384];
};

struct l2_resolver *l2_open(void)
{
	struct l2_resolver *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->sock = mnl_socket_open(NETLINK_ROUTE);
	struct timeval tv = { .tv_sec = 1 };
	if (!r->sock || setsockopt(mnl_socket_get_fd(r->sock), SOL_SOCKET, SO_RCVTIMEO, &tv,
	                           sizeof(tv)) < 0 ||
	    mnl_socket_bind(r->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		if (r->sock)
			mnl_socket_close(r->sock);
		free(r);
		return NULL;
	}
	r->portid = mnl_socket_get_portid(r->sock);
	r->seq = 1;
	return r;
}

void l2_close(struct l2_resolver *r)
{
	if (!r)
		return;
	mnl_socket_close(r->sock);
	free(r);
}

/* Sends the request in r->buf and returns the answer of type want (in
 * r->buf), or NULL (an error answer, a timeout, anything else). */
static const struct nlmsghdr *roundtrip(struct l2_resolver *r, struct nlmsghdr *nlh,
                                        uint16_t want)
{
	nlh->nlmsg_seq = ++r->seq;
	if (mnl_socket_sendto(r->sock, nlh, nlh->nlmsg_len) < 0)
		return NULL;
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(r->sock, r->buf, sizeof(r->buf));
		if (len <= 0)
			return NULL;
		const struct nlmsghdr *h = (const struct nlmsghdr *)r->buf;
		int left = (int)len;
		bool stale = false;
		for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
			if (h->nlmsg_seq != r->seq || h->nlmsg_pid != r->portid) {
				stale = true;   /* the answer to an earlier, timed-out request */
				continue;
			}
			return h->nlmsg_type == want ? h : NULL;
		}
		if (!stale)
			return NULL;
	}
}

struct route_info {
	bool unicast;
	int oif;
	bool has_gw;
	uint8_t gw[16];
	unsigned mtu;
};

static int route_attr(const struct nlattr *a, void *data)
{
	struct route_info *ri = data;
	switch (mnl_attr_get_type(a)) {
	case RTA_OIF:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			ri->oif = (int)mnl_attr_get_u32(a);
		break;
	case RTA_GATEWAY:
		if (mnl_attr_get_payload_len(a) == 4 || mnl_attr_get_payload_len(a) == 16) {
			memcpy(ri->gw, mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
			ri->has_gw = true;
		}
		break;
	case RTA_VIA:
		ri->unicast = false;   /* a gateway of the other family: not handled */
		break;
	case RTA_METRICS: {
		const struct nlattr *m;
		mnl_attr_for_each_nested(m, a)
			if (mnl_attr_get_type(m) == RTAX_MTU && mnl_attr_validate(m, MNL_TYPE_U32) == 0)
				ri->mtu = mnl_attr_get_u32(m);
		break;
	}
	}
	return MNL_CB_OK;
}

struct link_info {
	unsigned mtu;
};

static int link_attr(const struct nlattr *a, void *data)
{
	struct link_info *li = data;
	if (mnl_attr_get_type(a) == IFLA_MTU && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		li->mtu = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

struct neigh_info {
	bool has_mac;
	uint8_t mac[6];
};

static int neigh_attr(const struct nlattr *a, void *data)
{
	struct neigh_info *ni = data;
	if (mnl_attr_get_type(a) == NDA_LLADDR && mnl_attr_get_payload_len(a) == 6) {
		memcpy(ni->mac, mnl_attr_get_payload(a), 6);
		ni->has_mac = true;
	}
	return MNL_CB_OK;
}

bool l2_resolve(struct l2_resolver *r, uint32_t mark, const struct sa_address *dst,
                struct l2_hop *out)
{
	memset(out, 0, sizeof(*out));
	if (!r || (dst->family != AF_INET && dst->family != AF_INET6))
		return false;
	size_t alen = dst->family == AF_INET ? 4 : 16;

	/* The route, as the raw socket with the bypass mark would take it. */
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = dst->family;
	rtm->rtm_dst_len = (unsigned char)(alen * 8);
	mnl_attr_put(nlh, RTA_DST, alen, dst->bytes);
	mnl_attr_put_u32(nlh, RTA_MARK, mark);
	const struct nlmsghdr *h = roundtrip(r, nlh, RTM_NEWROUTE);
	if (!h)
		return false;
	const struct rtmsg *rt = mnl_nlmsg_get_payload(h);
	struct route_info ri = { .unicast = rt->rtm_type == RTN_UNICAST };
	mnl_attr_parse(h, sizeof(*rt), route_attr, &ri);
	if (!ri.unicast || ri.oif <= 0)
		return false;
	const uint8_t *nh = ri.has_gw ? ri.gw : dst->bytes;

	/* The device: Ethernet, up, not loopback; its MTU. */
	nlh = mnl_nlmsg_put_header(r->buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ri.oif;
	h = roundtrip(r, nlh, RTM_NEWLINK);
	if (!h)
		return false;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
	if (ifi->ifi_type != ARPHRD_ETHER || !(ifi->ifi_flags & IFF_UP) ||
	    (ifi->ifi_flags & (IFF_LOOPBACK | IFF_NOARP)))
		return false;
	struct link_info li = { 0 };
	mnl_attr_parse(h, sizeof(*ifi), link_attr, &li);
	unsigned mtu = li.mtu;
	if (ri.mtu && ri.mtu < mtu)
		mtu = ri.mtu;
	if (mtu < 68)
		return false;

	/* The neighbour: the gateway, or the destination on the link. */
	uint8_t nh_copy[16];
	memcpy(nh_copy, nh, alen);
	nlh = mnl_nlmsg_put_header(r->buf);
	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = dst->family;
	ndm->ndm_ifindex = ri.oif;
	mnl_attr_put(nlh, NDA_DST, alen, nh_copy);
	h = roundtrip(r, nlh, RTM_NEWNEIGH);
	if (!h)
		return false;
	const struct ndmsg *nd = mnl_nlmsg_get_payload(h);
	if (!(nd->ndm_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT)))
		return false;
	bool stale = (nd->ndm_state & NUD_STALE) != 0;
	struct neigh_info ni = { 0 };
	mnl_attr_parse(h, sizeof(*nd), neigh_attr, &ni);
	if (!ni.has_mac)
		return false;
	if (stale) {
		/* Packets through AF_PACKET never use the entry, so the kernel
		 * would never verify a STALE one (DELAY, PROBE: a unicast probe
		 * to the old address) and a changed MAC would go unnoticed. As
		 * the raw socket would: mark it used (NTF_USE), the kernel then
		 * confirms it or lets it fail, and a later refresh sees that. */
		nlh = mnl_nlmsg_put_header(r->buf);
		nlh->nlmsg_type = RTM_NEWNEIGH;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
		ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
		ndm->ndm_family = dst->family;
		ndm->ndm_ifindex = ri.oif;
		ndm->ndm_flags = NTF_USE;
		mnl_attr_put(nlh, NDA_DST, alen, nh_copy);
		roundtrip(r, nlh, NLMSG_ERROR);   /* the ack; a failure changes nothing */
	}
	out->ifindex = ri.oif;
	out->mtu = mtu;
	memcpy(out->mac, ni.mac, 6);
	out->valid = true;
	return true;
}
