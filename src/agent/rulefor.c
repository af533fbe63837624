/*
 * `secpol dynamic show rulefor`: the single-packet form of the Resultant Set
 * of Policy. The answer is the one the driver gives the packet: a run-time
 * filter first (the driver checks them before the SPD), else the first
 * one-way filter of the compiled policy in evaluation order (highest
 * spd_weight() first, then creation order -- the order the SPD decides by
 * and the steering table is written in). That first match is checked
 * against spd_lookup() on the SPD in force; should they ever disagree, the
 * command fails rather than explain a decision the SPD does not make.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/internal.h"
#include "agent/keying.h"

static bool in_prefix(const uint8_t *a, const uint8_t *net, unsigned len)
{
	unsigned bytes = len / 8, bits = len % 8;
	if (memcmp(a, net, bytes) != 0)
		return false;
	return !bits || ((a[bytes] ^ net[bytes]) & (uint8_t)(0xff << (8 - bits))) == 0;
}

/* spd_lookup()'s match of one one-way filter (spd.h: ports only for TCP/UDP). */
static bool steer_matches(const struct steer_rule *s, const struct spd_packet *p,
                          enum spd_dir dir)
{
	bool ports = p->protocol == IPPROTO_TCP || p->protocol == IPPROTO_UDP;
	return s->family == p->family && s->dir == dir && in_prefix(p->src, s->src, s->src_len) &&
	       in_prefix(p->dst, s->dst, s->dst_len) &&
	       (s->protocol == 0 || s->protocol == p->protocol) &&
	       (s->src_port == 0 || (ports && s->src_port == p->src_port)) &&
	       (s->dst_port == 0 || (ports && s->dst_port == p->dst_port));
}

static uint32_t weight_of(const struct steer_rule *s, const struct filter_origin *o)
{
	struct spd_filter f;
	memset(&f, 0, sizeof(f));
	f.family = s->family;
	f.src_len = s->src_len;
	f.dst_len = s->dst_len;
	f.protocol = s->protocol;
	f.src_port = s->src_port;
	f.dst_port = s->dst_port;
	f.action = s->action;
	f.tunnel = o->tunnel;
	return spd_weight(&f);
}

static struct ip_address ip_of(uint8_t family, const uint8_t *bytes)
{
	struct ip_address ip = { .family = family };
	memcpy(ip.bytes, bytes, 16);
	return ip;
}

static void name_rule(const struct compiled_policy *cp, uint32_t id, struct netsh_rulefor *r)
{
	r->rule_id = id;
	for (size_t i = 0; i < cp->nrule_origin; i++) {
		const struct rule_origin *ro = &cp->rule_origin[i];
		if (ro->id != id)
			continue;
		snprintf(r->rule, sizeof(r->rule), "%s", ro->name);
		snprintf(r->filterlist, sizeof(r->filterlist), "%s", ro->filterlist);
		snprintf(r->filteraction, sizeof(r->filteraction), "%s", ro->filteraction);
		r->is_default = ro->is_default;
		r->inpass = ro->inpass;
		r->soft = ro->soft;
		r->has_tunnel = ro->has_tunnel;
		r->tunnel = ro->tunnel;
		return;
	}
}

/* The run-time filter the driver would use, matched as driver_lookup() does. */
static bool runtime_match(const struct compiled_policy *cp, const struct keying_filter *rt,
                          size_t nrt, uint64_t now_ms, const struct spd_packet *p,
                          enum spd_dir dir, struct netsh_rulefor *r)
{
	for (size_t i = 0; i < nrt; i++) {
		const struct driver_dynamic *f = &rt[i].f;
		if (!driver_dynamic_matches(f, p, dir))
			continue;
		r->kind = RULEFOR_RUNTIME;
		name_rule(cp, f->rule_id, r);
		r->action = f->action;
		bool out = dir == SPD_OUTBOUND;
		r->src = ip_of(p->family, out ? f->local.bytes : f->remote.bytes);
		r->dst = ip_of(p->family, out ? f->remote.bytes : f->local.bytes);
		r->src_len = out ? f->local_len : f->remote_len;
		r->dst_len = out ? f->remote_len : f->local_len;
		/* A port range the peer negotiated shows as its one port when it is
		 * one (netsh's views know single ports only). */
		r->protocol = f->protocol;
		const uint16_t *sp = out ? f->local_ports : f->remote_ports;
		const uint16_t *dp = out ? f->remote_ports : f->local_ports;
		r->src_port = sp[1] && sp[0] == sp[1] ? sp[0] : 0;
		r->dst_port = dp[1] && dp[0] == dp[1] ? dp[0] : 0;
		if (rt[i].until_ms > now_ms)
			r->expires_s = (uint32_t)((rt[i].until_ms - now_ms + 999) / 1000);
		return true;
	}
	return false;
}

bool rulefor_explain(const struct compiled_policy *cp, const struct spd *spd,
                     const struct keying_filter *rt, size_t nrt, uint64_t now_ms,
                     const struct spd_packet *p, enum spd_dir dir, struct netsh_rulefor *r,
                     char *err, size_t errlen)
{
	snprintf(r->policy, sizeof(r->policy), "%s", cp->name);
	r->count = cp->nsteer;
	r->kind = RULEFOR_NO_MATCH;
	if (runtime_match(cp, rt, nrt, now_ms, p, dir, r))
		return true;
	if (!spd) {
		snprintf(err, errlen, "no SPD is in force");
		return false;
	}
	size_t i = 0;
	while (i < cp->nsteer && !steer_matches(&cp->steer[i], p, dir))
		i++;
	struct spd_match m;
	bool spd_says = spd_lookup(spd, p, dir, &m);
	bool found = i < cp->nsteer;
	const struct steer_rule *s = found ? &cp->steer[i] : NULL;
	const struct filter_origin *o = found ? &cp->origin[i] : NULL;
	uint32_t w = found ? weight_of(s, o) : 0;
	if (found != spd_says ||
	    (found && (m.rule_id != o->rule_id || m.action != s->action || m.weight != w))) {
		char a[64] = "no filter", b[64] = "no filter";
		if (spd_says)
			snprintf(a, sizeof(a), "rule %u, weight %u", m.rule_id, m.weight);
		if (found)
			snprintf(b, sizeof(b), "rule %u, weight %u", o->rule_id, w);
		snprintf(err, errlen, "the SPD in force decides this packet by %s, the policy's "
		         "filters in evaluation order by %s (the policy changed and was not "
		         "applied?)", a, b);
		return false;
	}
	if (!found)
		return true;
	r->kind = RULEFOR_POLICY;
	name_rule(cp, o->rule_id, r);
	r->action = s->action;
	r->src = ip_of(s->family, s->src);
	r->dst = ip_of(s->family, s->dst);
	r->src_len = s->src_len;
	r->dst_len = s->dst_len;
	r->protocol = s->protocol;
	r->src_port = s->src_port;
	r->dst_port = s->dst_port;
	r->filter_no = o->filter_no;
	r->mirror = (enum netsh_mirror)o->mirror;
	r->weight = w;
	r->position = i + 1;
	return true;
}
