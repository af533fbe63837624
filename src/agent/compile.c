/*
 * Compiling the assigned policy: every active rule's filters, with "me",
 * "any", ranges and server keywords expanded to concrete prefixes, become
 * one-way SPD filters (and, in the same order, the nftables steering
 * rules). Direction follows windows-ipsec-model.md §3.1:
 *
 *   - a mirrored filter gives both directions; it is outbound as written
 *     unless its destination is "me" (then it is written from the peer);
 *   - a one-way filter of a tunnel rule is outbound when the tunnel
 *     endpoint is the peer, inbound when the endpoint is this host (the
 *     Windows pair of tunnel rules);
 *   - any other one-way filter is outbound from "me", inbound to "me", and
 *     otherwise (forwarded traffic) matches in both directions, as Windows
 *     matches a filter whichever way the packet travels.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/internal.h"

#define MAX_PREFIXES 256          /* per address of a filter */
#define MAX_ONE_WAY (1u << 20)    /* one-way filters per policy */

struct prefix {
	struct ip_address ip;
	uint8_t len;
};

struct expand {
	struct prefix p[MAX_PREFIXES];
	size_t n;
};

static void push(struct expand *e, const struct ip_address *ip, uint8_t len)
{
	if (e->n < MAX_PREFIXES)
		e->p[e->n++] = (struct prefix){ *ip, len };
}

static void push_all(struct expand *e, const struct ip_address *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		push(e, &a[i], a[i].family == AF_INET ? 32 : 128);
}

/* ---- address ranges as prefixes ---- */

static bool bit_set(const uint8_t *a, unsigned bit)
{
	return a[bit / 8] & (0x80 >> (bit % 8));
}

/* a += 2^k (k counted from the least significant bit of a bits-wide value);
 * false on overflow. */
static bool add_pow2(uint8_t *a, unsigned bits, unsigned k)
{
	int byte = (int)((bits - 1 - k) / 8);
	unsigned carry = 1u << (k % 8);
	for (; byte >= 0 && carry; byte--) {
		unsigned v = a[byte] + carry;
		a[byte] = (uint8_t)v;
		carry = v >> 8;
	}
	return carry == 0;
}

/* Whether lo + 2^k - 1 <= hi. */
static bool block_fits(const uint8_t *lo, const uint8_t *hi, unsigned bits, unsigned k)
{
	uint8_t end[16];
	memcpy(end, lo, bits / 8);
	/* lo is aligned to 2^k: the end sets its k low bits. */
	for (unsigned b = bits - k; b < bits; b++)
		end[b / 8] |= (uint8_t)(0x80 >> (b % 8));
	return memcmp(end, hi, bits / 8) <= 0;
}

size_t range_to_prefixes(uint8_t family, const uint8_t *lo_in, const uint8_t *hi,
                         struct ip_address *out, uint8_t *len, size_t max)
{
	unsigned bits = family == AF_INET ? 32 : 128;
	uint8_t lo[16] = { 0 };
	memcpy(lo, lo_in, bits / 8);
	size_t n = 0;
	while (n < max && memcmp(lo, hi, bits / 8) <= 0) {
		unsigned tz = 0;   /* trailing zero bits of lo: its alignment */
		while (tz < bits && !bit_set(lo, bits - 1 - tz))
			tz++;
		unsigned k = tz;
		while (k > 0 && !block_fits(lo, hi, bits, k))
			k--;
		out[n].family = family;
		memset(out[n].bytes, 0, sizeof(out[n].bytes));
		memcpy(out[n].bytes, lo, bits / 8);
		len[n++] = (uint8_t)(bits - k);
		if (k == bits || !add_pow2(lo, bits, k))
			break;   /* the whole space, or past the top */
	}
	return n;
}

/* ---- filters ---- */

static const struct ip_address any4 = { AF_INET, { 0 } }, any6 = { AF_INET6, { 0 } };

/* The prefixes an address of a filter stands for. */
static void expand_addr(const struct filter_addr *a, const struct host_addrs *h,
                        struct expand *e)
{
	e->n = 0;
	switch (a->kind) {
	case ADDR_HOST_OR_SUBNET:
		push(e, &a->ip, a->prefix);
		break;
	case ADDR_RANGE: {
		/* A range is at most 2 x (bits - 1) prefixes (254 for IPv6):
		 * room for all, so a range is never cut short -- the addresses
		 * past the cut would silently escape the rule. */
		struct ip_address ips[MAX_PREFIXES];
		uint8_t lens[MAX_PREFIXES];
		size_t n = range_to_prefixes(a->ip.family, a->ip.bytes, a->last.bytes, ips, lens,
		                             MAX_PREFIXES);
		for (size_t i = 0; i < n; i++)
			push(e, &ips[i], lens[i]);
		break;
	}
	case ADDR_ANY:
		push(e, &any4, 0);
		push(e, &any6, 0);
		break;
	case ADDR_ME:
		push_all(e, h->me, h->nme);
		break;
	case ADDR_DNS_SERVERS:
		push_all(e, h->dns, h->ndns);
		break;
	case ADDR_GATEWAY:
		push_all(e, h->gateway, h->ngateway);
		break;
	case ADDR_WINS_SERVERS:
	case ADDR_DHCP_SERVER:
		/* Linux has no WINS, and the DHCP server is not recorded where
		 * secpold could read it: these expand to nothing (counted). */
		break;
	}
}

/* What a one-way filter keeps of its filter beside the SPD's fields. */
struct one_way_info {
	bool inpass;
	uint8_t mirror;              /* enum netsh_mirror */
	uint32_t filter_no;          /* in the filter list, from 1 */
};

struct one_way_list {
	struct spd_filter *f;
	size_t n, cap;
	struct one_way_info *info;
};

static bool add_one_way(struct one_way_list *l, const struct spd_filter *f,
                        struct one_way_info info)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		if (cap > MAX_ONE_WAY)
			return false;
		struct spd_filter *nf = realloc(l->f, cap * sizeof(*nf));
		if (!nf)
			return false;
		l->f = nf;
		struct one_way_info *ni = realloc(l->info, cap * sizeof(*ni));
		if (!ni)
			return false;
		l->info = ni;
		l->cap = cap;
	}
	l->f[l->n] = *f;
	l->f[l->n].order = (uint32_t)l->n;
	l->info[l->n++] = info;
	return true;
}

static void swap_sides(struct spd_filter *f)
{
	uint8_t t[16];
	memcpy(t, f->src, 16);
	memcpy(f->src, f->dst, 16);
	memcpy(f->dst, t, 16);
	uint8_t tl = f->src_len;
	f->src_len = f->dst_len;
	f->dst_len = tl;
	uint16_t tp = f->src_port;
	f->src_port = f->dst_port;
	f->dst_port = tp;
}

static bool prefix_has(const uint8_t *net, uint8_t len, const uint8_t *a)
{
	size_t whole = len / 8;
	if (memcmp(net, a, whole) != 0)
		return false;
	uint8_t rest = len % 8;
	return !rest || ((net[whole] ^ a[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/*
 * Connection type: a conntype=lan or =dialup rule is in force only for
 * traffic on interfaces of that kind. Which interface a host-to-host packet
 * uses is told by this host's address on it, so the local side of the
 * one-way filter is narrowed to this host's addresses on such interfaces
 * (none: the filter is not in force here, counted). Tunnel rules are
 * decided once, by the tunnel endpoint's interface (compile_filter).
 */
static bool add_for_conntype(struct one_way_list *l, const struct spd_filter *f,
                             struct one_way_info info, const struct rule *r,
                             const struct host_addrs *h, size_t *other_conntype)
{
	if (r->conntype == CONN_ALL || f->tunnel)
		return add_one_way(l, f, info);
	bool out = f->dir == SPD_OUTBOUND;
	const uint8_t *local = out ? f->src : f->dst;
	uint8_t len = out ? f->src_len : f->dst_len;
	size_t made = 0;
	for (size_t i = 0; i < h->nme; i++) {
		if (h->me_kind[i] != r->conntype || h->me[i].family != f->family ||
		    !prefix_has(local, len, h->me[i].bytes))
			continue;
		struct spd_filter g = *f;
		memcpy(out ? g.src : g.dst, h->me[i].bytes, 16);
		*(out ? &g.src_len : &g.dst_len) = f->family == AF_INET ? 32 : 128;
		if (!add_one_way(l, &g, info))
			return false;
		made++;
	}
	if (!made)
		(*other_conntype)++;
	return true;
}

static bool compile_filter(const struct filter *flt, uint32_t filter_no, const struct rule *r,
                           const struct filter_action *fa, const struct host_addrs *h,
                           struct one_way_list *l, size_t *skipped, size_t *other_conntype)
{
	struct one_way_info info = { .inpass = fa->inpass, .filter_no = filter_no,
	                             .mirror = flt->mirrored ? RULEFOR_MIRROR_AS_WRITTEN
	                                                     : RULEFOR_NOT_MIRRORED };
	static __thread struct expand src, dst;
	expand_addr(&flt->src, h, &src);
	expand_addr(&flt->dst, h, &dst);
	bool tunnel_inbound = r->has_tunnel && host_addrs_is_me(h, &r->tunnel);
	if (r->has_tunnel && r->conntype != CONN_ALL &&
	    (tunnel_inbound ? host_addrs_kind(h, &r->tunnel)
	                    : host_addrs_route_kind(h, &r->tunnel)) != r->conntype) {
		(*other_conntype)++;
		return true;
	}
	size_t made = 0;
	for (size_t i = 0; i < src.n; i++)
		for (size_t j = 0; j < dst.n; j++) {
			if (src.p[i].ip.family != dst.p[j].ip.family)
				continue;
			struct spd_filter f;
			memset(&f, 0, sizeof(f));
			f.family = src.p[i].ip.family;
			memcpy(f.src, src.p[i].ip.bytes, 16);
			memcpy(f.dst, dst.p[j].ip.bytes, 16);
			f.src_len = src.p[i].len;
			f.dst_len = dst.p[j].len;
			f.protocol = flt->protocol;
			f.src_port = flt->srcport;
			f.dst_port = flt->dstport;
			f.action = fa->action;
			f.tunnel = r->has_tunnel;
			f.rule_id = r->id;
			made++;
			bool dst_me = flt->dst.kind == ADDR_ME, src_me = flt->src.kind == ADDR_ME;
			if (flt->mirrored) {
				f.dir = dst_me && !src_me ? SPD_INBOUND : SPD_OUTBOUND;
				struct spd_filter m = f;
				m.dir = f.dir == SPD_OUTBOUND ? SPD_INBOUND : SPD_OUTBOUND;
				swap_sides(&m);
				struct one_way_info mi = info;
				mi.mirror = RULEFOR_MIRROR_SWAPPED;
				if (!add_for_conntype(l, &f, info, r, h, other_conntype) ||
				    !add_for_conntype(l, &m, mi, r, h, other_conntype))
					return false;
				continue;
			}
			if (r->has_tunnel || src_me || dst_me) {
				f.dir = r->has_tunnel ? (tunnel_inbound ? SPD_INBOUND : SPD_OUTBOUND)
				                      : src_me ? SPD_OUTBOUND : SPD_INBOUND;
				if (!add_for_conntype(l, &f, info, r, h, other_conntype))
					return false;
				continue;
			}
			f.dir = SPD_OUTBOUND;
			if (!add_for_conntype(l, &f, info, r, h, other_conntype))
				return false;
			f.dir = SPD_INBOUND;
			if (!add_for_conntype(l, &f, info, r, h, other_conntype))
				return false;
		}
	if (made == 0)
		(*skipped)++;
	return true;
}

/* Evaluation order: higher weight first, then creation order. */
static int by_weight(const void *a, const void *b, void *filters)
{
	const struct spd_filter *base = filters;
	const struct spd_filter *x = &base[*(const uint32_t *)a];
	const struct spd_filter *y = &base[*(const uint32_t *)b];
	uint32_t wx = spd_weight(x), wy = spd_weight(y);
	if (wx != wy)
		return wx > wy ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static bool make_steer(struct one_way_list *l, struct compiled_policy *out)
{
	uint32_t *idx = malloc((l->n ? l->n : 1) * sizeof(*idx));
	out->steer = calloc(l->n ? l->n : 1, sizeof(*out->steer));
	out->origin = calloc(l->n ? l->n : 1, sizeof(*out->origin));
	if (!idx || !out->steer || !out->origin) {
		free(idx);
		return false;
	}
	for (size_t i = 0; i < l->n; i++)
		idx[i] = (uint32_t)i;
	qsort_r(idx, l->n, sizeof(*idx), by_weight, l->f);
	for (size_t i = 0; i < l->n; i++) {
		const struct spd_filter *f = &l->f[idx[i]];
		struct steer_rule *s = &out->steer[i];
		s->family = f->family;
		memcpy(s->src, f->src, 16);
		memcpy(s->dst, f->dst, 16);
		s->src_len = f->src_len;
		s->dst_len = f->dst_len;
		s->protocol = f->protocol;
		s->src_port = f->src_port;
		s->dst_port = f->dst_port;
		s->dir = f->dir;
		s->action = f->action;
		s->inpass = l->info[idx[i]].inpass;
		out->origin[i] = (struct filter_origin){ .rule_id = f->rule_id,
		                                         .filter_no = l->info[idx[i]].filter_no,
		                                         .mirror = l->info[idx[i]].mirror,
		                                         .tunnel = f->tunnel };
	}
	out->nsteer = l->n;
	free(idx);
	return true;
}

void compiled_policy_free(struct compiled_policy *c)
{
	spd_free(c->spd);
	free(c->steer);
	free(c->origin);
	free(c->rule_origin);
	if (c->ike_rules)
		crypto_wipe(c->ike_rules, c->nike * sizeof(*c->ike_rules));   /* PSKs */
	free(c->ike_rules);
	memset(c, 0, sizeof(*c));
}

/* A Negotiate rule for IKE: its security methods, authentication, tunnel,
 * and its one-way filters l->f[from..l->n) as selectors, local side first
 * (an inbound filter is turned around). A tunnel rule whose endpoint is
 * this host only admits traffic: its partner rule (endpoint: the peer)
 * is the one IKE negotiates with. */
/* A new IKE rule for r at the end of out's list, with r's identity and
 * authentication methods; NULL when out of memory. */
static struct ike_rule *ike_rule_new(const struct rule *r, const char *name,
                                     struct compiled_policy *out)
{
	struct ike_rule *rules = realloc(out->ike_rules, (out->nike + 1) * sizeof(*rules));
	if (!rules)
		return NULL;
	out->ike_rules = rules;
	struct ike_rule *ir = &rules[out->nike++];
	memset(ir, 0, sizeof(*ir));
	ir->id = r->id;
	snprintf(ir->guid, sizeof(ir->guid), "%s", r->guid);
	snprintf(ir->name, sizeof(ir->name), "%s", name);
	ir->auth = r->auth;
	return ir;
}

static bool ike_rule_of(const struct rule *r, const struct filter_action *fa,
                        const struct host_addrs *h, const struct one_way_list *l, size_t from,
                        struct compiled_policy *out)
{
	if (fa->action != ACTION_NEGOTIATE || (r->has_tunnel && host_addrs_is_me(h, &r->tunnel)))
		return true;
	struct ike_rule *ir = ike_rule_new(r, r->name, out);
	if (!ir)
		return false;
	ir->methods = fa->methods;
	ir->pfs = fa->qmpfs;
	ir->soft = fa->soft;
	ir->tunnel = r->has_tunnel;
	if (r->has_tunnel) {
		ir->tunnel_peer.family = r->tunnel.family;
		memcpy(ir->tunnel_peer.bytes, r->tunnel.bytes, 16);
	}
	for (size_t i = from; i < l->n && ir->nsel < IKE_RULE_SELECTORS; i++) {
		const struct spd_filter *f = &l->f[i];
		bool out_dir = f->dir == SPD_OUTBOUND;
		struct ike_selector *lo = &ir->local[ir->nsel], *re = &ir->remote[ir->nsel];
		lo->net.family = re->net.family = f->family;
		memcpy(lo->net.bytes, out_dir ? f->src : f->dst, 16);
		memcpy(re->net.bytes, out_dir ? f->dst : f->src, 16);
		lo->len = out_dir ? f->src_len : f->dst_len;
		re->len = out_dir ? f->dst_len : f->src_len;
		lo->protocol = re->protocol = f->protocol;
		lo->port = out_dir ? f->src_port : f->dst_port;
		re->port = out_dir ? f->dst_port : f->src_port;
		ir->nsel++;
	}
	return true;
}

/* The default response rule: no filters of its own (<Dynamic>), it only
 * answers a peer that asks for security (windows-ipsec-model.md §5). */
static bool default_rule(const struct rule *r, struct compiled_policy *out)
{
	struct ike_rule *ir = ike_rule_new(r, r->name[0] ? r->name : "Default Response", out);
	if (!ir)
		return false;
	ir->methods = r->methods;
	ir->pfs = r->qmpfs;
	ir->is_default = true;
	return true;
}

/* The names `show rulefor` prints for rule r (fa NULL: the default response rule). */
static bool add_rule_origin(const struct rule *r, const struct filter_action *fa,
                            struct compiled_policy *out)
{
	struct rule_origin *ro = realloc(out->rule_origin,
	                                 (out->nrule_origin + 1) * sizeof(*ro));
	if (!ro)
		return false;
	out->rule_origin = ro;
	ro = &ro[out->nrule_origin++];
	memset(ro, 0, sizeof(*ro));
	ro->id = r->id;
	ro->is_default = r->is_default;
	snprintf(ro->name, sizeof(ro->name), "%s",
	         r->name[0] || !r->is_default ? r->name : "Default Response Rule");
	/* As `static show rule` names them. */
	snprintf(ro->filterlist, sizeof(ro->filterlist), "%s", fa ? r->filterlist : "<Dynamic>");
	snprintf(ro->filteraction, sizeof(ro->filteraction), "%s",
	         fa ? r->filteraction : "Default Response");
	ro->inpass = fa && fa->inpass;
	ro->soft = fa && fa->soft;
	ro->has_tunnel = r->has_tunnel;
	ro->tunnel = r->tunnel;
	return true;
}

static bool compile_rules(struct store *st, const struct policy *p, const struct host_addrs *h,
                          struct one_way_list *l, struct compiled_policy *out, char *err,
                          size_t errlen)
{
	struct diag d;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];
		if (r->is_default && r->active &&
		    (!default_rule(r, out) || !add_rule_origin(r, NULL, out))) {
			snprintf(err, errlen, "out of memory");
			return false;
		}
		if (r->is_default || !r->active)
			continue;
		struct filter_list fl;
		struct filter_action fa;
		diag_init(&d);
		if (!store_filterlist_get(st, r->filterlist, &fl, &d)) {
			snprintf(err, errlen, "rule '%s': %s", r->name, d.msg);
			return false;
		}
		diag_init(&d);
		if (!store_filteraction_get(st, r->filteraction, &fa, &d)) {
			policy_filter_list_free(&fl);
			snprintf(err, errlen, "rule '%s': %s", r->name, d.msg);
			return false;
		}
		bool ok = true;
		size_t from = l->n;
		for (size_t k = 0; ok && k < fl.nfilters; k++)
			ok = compile_filter(&fl.filters[k], (uint32_t)k + 1, r, &fa, h, l,
			                    &out->skipped, &out->other_conntype);
		policy_filter_list_free(&fl);
		if (ok && (!ike_rule_of(r, &fa, h, l, from, out) || !add_rule_origin(r, &fa, out))) {
			snprintf(err, errlen, "out of memory");
			return false;
		}
		if (!ok) {
			snprintf(err, errlen, "rule '%s': too many filters after expansion (at most %u)",
			         r->name, MAX_ONE_WAY);
			return false;
		}
		out->rules++;
	}
	return true;
}

/* The main-mode offers IKE may use: the static policy's first, then those
 * of the dynamic mmpolicies the Negotiate rules name, each offer once (the
 * engine has one main-mode proposal list for all peers). */
static void merge_mm(struct compiled_policy *out, const struct dyn_mmpolicy *m)
{
	if (out->mm.n == 0 && !out->mmlifetime_s)
		out->mmlifetime_s = m->mmlifetime * 60;
	for (size_t i = 0; i < m->mm.n && out->mm.n < POLICY_MAX_METHODS; i++) {
		bool dup = false;
		for (size_t k = 0; k < out->mm.n && !dup; k++)
			dup = !memcmp(&out->mm.m[k], &m->mm.m[i], sizeof(m->mm.m[i]));
		if (!dup)
			out->mm.m[out->mm.n++] = m->mm.m[i];
	}
}

/* The dynamic rules (netsh-ipsec.md §4.3), through the same path as the
 * static ones: each is a rule with one filter, whose one-way filters then
 * take the rule's inbound or outbound action by their direction. */
static bool compile_dynamic(struct dyn_spd *dyn, const struct host_addrs *h,
                            struct one_way_list *l, struct compiled_policy *out, char *err,
                            size_t errlen)
{
	for (size_t i = 0; i < dyn->nrules; i++) {
		const struct dyn_rule *dr = &dyn->rules[i];
		const struct dyn_mmpolicy *mm = dyn_mmpolicy_find(dyn, dr->mmpolicy);
		const struct dyn_qmpolicy *qm = dyn_qmpolicy_find(dyn, dr->qmpolicy);
		struct rule r;
		struct filter_action fa;
		struct filter f;
		policy_rule_init(&r);
		memset(&fa, 0, sizeof(fa));
		r.id = dr->id;
		r.active = true;
		snprintf(r.guid, sizeof(r.guid), "{dynamic-%08x}", dr->id);
		snprintf(r.name, sizeof(r.name), "Dynamic Rule %u", dr->id);
		r.has_tunnel = dr->key.has_tunnel;
		r.tunnel = dr->key.tunnel;
		r.conntype = dr->key.conntype;
		r.auth = dr->auth;
		bool negotiates = dr->inbound == ACTION_NEGOTIATE || dr->outbound == ACTION_NEGOTIATE;
		fa.action = negotiates ? ACTION_NEGOTIATE : dr->outbound;
		if (qm) {
			fa.methods = qm->methods;
			fa.soft = qm->soft;
			fa.qmpfs = qm->pfs != DYN_PFS_NONE;
			snprintf(fa.name, sizeof(fa.name), "%s", qm->name);
		}
		dyn_rule_filter(&dr->key, &f);
		size_t from = l->n;
		bool ok = compile_filter(&f, 1, &r, &fa, h, l, &out->skipped, &out->other_conntype);
		for (size_t k = from; ok && k < l->n; k++)
			l->f[k].action = l->f[k].dir == SPD_INBOUND ? dr->inbound : dr->outbound;
		if (ok && negotiates && mm)
			merge_mm(out, mm);
		/* As `show rulefor` names it: no filter list, the qmpolicy as action. */
		snprintf(r.filterlist, sizeof(r.filterlist), "<Dynamic>");
		snprintf(r.filteraction, sizeof(r.filteraction), "%s", qm ? qm->name : "NONE");
		size_t nike = out->nike;
		bool done = ok && ike_rule_of(&r, &fa, h, l, from, out) && add_rule_origin(&r, &fa, out);
		/* The mmpolicy's softsaexpirationtime: how long a soft association
		 * of this rule lasts (static rules: Windows' 300 s). */
		if (done && out->nike > nike && mm) {
			out->ike_rules[out->nike - 1].soft_s = mm->softsaexpirationtime;
			out->ike_rules[out->nike - 1].qm_per_mm = mm->qmpermm;
			out->ike_rules[out->nike - 1].ike_lifetime_s = mm->mmlifetime * 60;
			out->ike_rules[out->nike - 1].mm = mm->mm;
		}
		/* The qmpolicy's pfsgroup: Windows' groups 1, 2 and 3 (2048 bits)
		 * are IKE's 1, 2 and 14; GRPMM is the IKE SA's own (0). */
		if (done && out->nike > nike && qm)
			out->ike_rules[out->nike - 1].pfs_group = qm->pfs == DYN_PFS_GRP1 ? 1
			                                          : qm->pfs == DYN_PFS_GRP2 ? 2
			                                          : qm->pfs == DYN_PFS_GRP3 ? 14 : 0;
		crypto_wipe(&r, sizeof(r));
		if (!done) {
			snprintf(err, errlen, ok ? "out of memory"
			                         : "dynamic rule %u: too many filters after expansion",
			         dr->id);
			return false;
		}
		out->rules++;
		out->dynamic_rules++;
	}
	return true;
}

bool compile_policy(struct store *st, const struct host_addrs *h, struct dyn_spd *dyn,
                    struct compiled_policy *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct diag d;
	diag_init(&d);
	struct policy *pols = NULL;
	size_t npols = 0;
	struct one_way_list l = { 0 };
	bool ok = false;
	if (!store_begin_read(st, &d) || !store_policies_load(st, &pols, &npols, &d)) {
		snprintf(err, errlen, "cannot read the policy store: %s", d.msg);
		goto out;
	}
	const struct policy *p = NULL;
	for (size_t i = 0; i < npols && !p; i++)
		if (pols[i].assigned)
			p = &pols[i];
	if (p) {
		snprintf(out->name, sizeof(out->name), "%s", p->name);
		out->mm = p->mm;
		out->mmlifetime_s = p->mmlifetime * 60;
		if (!compile_rules(st, p, h, &l, out, err, errlen))
			goto out;
		/* The policy's QM limit holds for all its rules (mmpfs makes it 1). */
		for (size_t i = 0; i < out->nike; i++)
			out->ike_rules[i].qm_per_mm = p->qmpermm;
	}
	if (dyn && !compile_dynamic(dyn, h, &l, out, err, errlen))
		goto out;
	struct spd_builder *b = spd_builder_new();
	const char *why = "out of memory";
	for (size_t i = 0; b && i < l.n; i++)
		if (!spd_builder_add(b, &l.f[i], &why)) {
			snprintf(err, errlen, "filter %zu: %s", i, why);
			spd_builder_free(b);
			goto out;
		}
	out->spd = b ? spd_build(b, &why) : NULL;
	spd_builder_free(b);
	if (!out->spd) {
		snprintf(err, errlen, "cannot compile the SPD: %s", why);
		goto out;
	}
	if (!make_steer(&l, out)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ok = true;
out:
	if (store_in_transaction(st))
		store_rollback(st);
	store_policies_free(pols, npols);
	free(l.f);
	free(l.info);
	if (!ok)
		compiled_policy_free(out);
	return ok;
}
