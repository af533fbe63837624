/*
 * route — the policy routing that carries marked (Negotiate) traffic into
 * the TUN device, over rtnetlink with libmnl, for IPv4 and IPv6:
 *
 *   ip rule add fwmark <steer_mark>/0xffffffff lookup <route_table> pref <rule_priority>
 *   ip route add default dev <tun> table <route_table> scope link proto static
 *   ip route add blackhole default table <route_table> metric 0xffffffff proto static
 *
 * The blackhole is the fail-closed half: when the TUN device goes away the
 * kernel deletes its route, and without a second route the lookup in
 * route_table would fail and fall through to the main table, sending
 * traffic that must be protected in clear. With it, such traffic is dropped.
 *
 * Everything happens on a netlink socket opened per call, in the caller's
 * network namespace; nothing is kept between calls.
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "driver/steer.h"

#define BLACKHOLE_METRIC 0xffffffffu
#define NL_TIMEOUT_S 5      /* an rtnetlink ack is immediate; never hang */
#define NL_MAX_READS 16     /* acks to one request: one; bound the loop */

struct nl {
	struct mnl_socket *sock;
	unsigned portid;
	unsigned seq;
	char extack[160];   /* the kernel's own words for the last error */
	/* Requests and acks are small (a capped ack with extack < 1 KiB). */
	char buf[8192] __attribute__((aligned(8)));
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool nl_open(struct nl *nl, char *err, size_t errlen)
{
	nl->sock = mnl_socket_open(NETLINK_ROUTE);
	if (!nl->sock) {
		seterr(err, errlen, "rtnetlink socket: %s", strerror(errno));
		return false;
	}
	int one = 1;
	struct timeval tv = { .tv_sec = NL_TIMEOUT_S };
	/* Extended acks carry a message ("Nexthop device is not up"); capped
	 * acks do not echo our request back. Both are optional. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO, &tv,
		       sizeof(tv)) < 0 || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		seterr(err, errlen, "rtnetlink socket: %s", strerror(errno));
		mnl_socket_close(nl->sock);
		return false;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = 1;
	return true;
}

/* NLMSG_ERROR: error 0 is the ack; otherwise errno, and the extack text. */
static int on_error(const struct nlmsghdr *nlh, void *data)
{
	struct nl *nl = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		size_t off = sizeof(*e);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		const struct nlattr *a;
		if (mnl_nlmsg_size(off) <= nlh->nlmsg_len)
			mnl_attr_for_each(a, nlh, off) {
				if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
				    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
					snprintf(nl->extack, sizeof(nl->extack), "%s",
						 mnl_attr_get_str(a));
			}
	}
	errno = -e->error;
	return MNL_CB_ERROR;
}

/* Sends the request in nl->buf and waits for its ack: 0 or an errno. */
static int nl_talk(struct nl *nl)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)nl->buf;
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = on_error };

	nl->extack[0] = '\0';
	nlh->nlmsg_seq = nl->seq++;
	unsigned seq = nlh->nlmsg_seq;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return errno;
	for (int i = 0; i < NL_MAX_READS; i++) {
		ssize_t len = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (len < 0)
			return errno == EAGAIN ? ETIMEDOUT : errno;
		int ret = mnl_cb_run2(nl->buf, (size_t)len, seq, nl->portid, NULL, nl,
				      ctl, NLMSG_MIN_TYPE);
		if (ret == MNL_CB_ERROR)
			return errno ? errno : EPROTO;
		if (ret == MNL_CB_STOP)
			return 0;
	}
	return EPROTO;
}

static struct nlmsghdr *nl_request(struct nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	return nlh;
}

/* Tables above 255 only fit in the attribute; the header says "see there". */
static uint8_t table_byte(uint32_t table)
{
	return table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
}

static int rule_op(struct nl *nl, const struct steer_config *c, int family, bool add)
{
	struct nlmsghdr *nlh = nl_request(nl, add ? RTM_NEWRULE : RTM_DELRULE,
					  add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = (uint8_t)family;
	frh->action = FR_ACT_TO_TBL;
	frh->table = table_byte(c->route_table);
	mnl_attr_put_u32(nlh, FRA_FWMARK, c->steer_mark);
	mnl_attr_put_u32(nlh, FRA_FWMASK, 0xffffffff);
	mnl_attr_put_u32(nlh, FRA_TABLE, c->route_table);
	mnl_attr_put_u32(nlh, FRA_PRIORITY, c->rule_priority);
	return nl_talk(nl);
}

/* The default route of route_table: through the TUN device (oif != 0), or
 * the blackhole behind it (oif == 0). */
static int route_op(struct nl *nl, const struct steer_config *c, int family, unsigned oif,
		    bool add)
{
	struct nlmsghdr *nlh = nl_request(nl, add ? RTM_NEWROUTE : RTM_DELROUTE,
					  add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = 0;
	rtm->rtm_table = table_byte(c->route_table);
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = oif ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	rtm->rtm_type = oif ? RTN_UNICAST : RTN_BLACKHOLE;
	mnl_attr_put_u32(nlh, RTA_TABLE, c->route_table);
	if (oif)
		mnl_attr_put_u32(nlh, RTA_OIF, oif);
	else
		mnl_attr_put_u32(nlh, RTA_PRIORITY, BLACKHOLE_METRIC);
	return nl_talk(nl);
}

static bool config_ok(const struct steer_config *c, char *err, size_t errlen)
{
	if (!c || !c->tun || !*c->tun || strlen(c->tun) >= IFNAMSIZ) {
		seterr(err, errlen, "invalid TUN device name");
		return false;
	}
	if (c->steer_mark == 0) {
		/* fwmark 0/0xffffffff would steer every unmarked packet. */
		seterr(err, errlen, "steer mark must not be 0");
		return false;
	}
	if (c->route_table == RT_TABLE_UNSPEC || c->route_table == RT_TABLE_DEFAULT ||
	    c->route_table == RT_TABLE_MAIN || c->route_table == RT_TABLE_LOCAL) {
		seterr(err, errlen, "route table %u is reserved", c->route_table);
		return false;
	}
	return true;
}

static const char *family_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

static bool report(struct nl *nl, int rc, const char *what, int family, char *err,
		   size_t errlen)
{
	seterr(err, errlen, "%s %s: %s%s%s", family_name(family), what, strerror(rc),
	       nl->extack[0] ? ": " : "", nl->extack);
	return false;
}

/* Routes before the rule: a rule pointing at an empty table would let
 * marked traffic fall through to the main table. */
static bool install_family(struct nl *nl, const struct steer_config *c, int family,
			   unsigned oif, char *err, size_t errlen)
{
	int rc = route_op(nl, c, family, 0, true);
	if (rc && rc != EEXIST)
		return report(nl, rc, "blackhole route", family, err, errlen);
	rc = route_op(nl, c, family, oif, true);
	if (rc && rc != EEXIST)
		return report(nl, rc, "route via the TUN device", family, err, errlen);
	rc = rule_op(nl, c, family, true);
	if (rc && rc != EEXIST)
		return report(nl, rc, "fwmark rule", family, err, errlen);
	return true;
}

bool route_install(const struct steer_config *c, char *err, size_t errlen)
{
	if (!config_ok(c, err, errlen))
		return false;
	unsigned oif = if_nametoindex(c->tun);
	if (oif == 0) {
		seterr(err, errlen, "%s: %s", c->tun, strerror(errno));
		return false;
	}
	struct nl nl;
	if (!nl_open(&nl, err, errlen))
		return false;
	bool ok = install_family(&nl, c, AF_INET, oif, err, errlen) &&
		  install_family(&nl, c, AF_INET6, oif, err, errlen);
	mnl_socket_close(nl.sock);
	return ok;
}

/* "Not there" is success: ENOENT for rules, ESRCH for routes. */
static bool gone(int rc)
{
	return rc == 0 || rc == ENOENT || rc == ESRCH;
}

/* The rule first (mirror of install). The device route is gone with the
 * device when it no longer exists (oif 0). Every step is tried, the first
 * failure is reported. */
static bool remove_family(struct nl *nl, const struct steer_config *c, int family,
			  unsigned oif, char *err, size_t errlen)
{
	bool ok = true;
	int rc = rule_op(nl, c, family, false);
	if (!gone(rc))
		ok = report(nl, rc, "fwmark rule", family, err, errlen);
	if (oif) {
		rc = route_op(nl, c, family, oif, false);
		if (!gone(rc) && ok)
			ok = report(nl, rc, "route via the TUN device", family, err, errlen);
	}
	rc = route_op(nl, c, family, 0, false);
	if (!gone(rc) && ok)
		ok = report(nl, rc, "blackhole route", family, err, errlen);
	return ok;
}

bool route_remove(const struct steer_config *c, char *err, size_t errlen)
{
	if (!config_ok(c, err, errlen))
		return false;
	unsigned oif = if_nametoindex(c->tun);   /* 0: device gone, and its route */
	struct nl nl;
	if (!nl_open(&nl, err, errlen))
		return false;
	bool ok4 = remove_family(&nl, c, AF_INET, oif, err, errlen);
	bool ok6 = remove_family(&nl, c, AF_INET6, oif, ok4 ? err : NULL, errlen);
	mnl_socket_close(nl.sock);
	return ok4 && ok6;
}
