/*
 * The dynamic objects of netsh-ipsec.md §4: their defaults, validation and
 * the identification tuple of a rule.
 */
#include "policy/dynamic.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

void dyn_init(struct dyn_spd *s)
{
	memset(s, 0, sizeof(*s));
	s->next_id = DYN_RULE_ID_BASE + 1;
}

void dyn_clear(struct dyn_spd *s)
{
	uint32_t next = s->next_id;
	explicit_bzero(s, sizeof(*s));   /* preshared keys */
	s->next_id = next;
}

void dyn_mmpolicy_init(struct dyn_mmpolicy *p, enum crypto_profile prof)
{
	memset(p, 0, sizeof(*p));
	p->qmpermm = DYN_DEFAULT_QMPERMM;
	p->mmlifetime = DYN_DEFAULT_MMLIFE;
	p->softsaexpirationtime = DYN_DEFAULT_SOFTSA;
	policy_default_mmsec(prof, &p->mm);
}

void dyn_qmpolicy_init(struct dyn_qmpolicy *p, enum crypto_profile prof)
{
	memset(p, 0, sizeof(*p));
	p->pfs = DYN_PFS_NONE;
	policy_default_qmsec(prof, &p->methods);
}

void dyn_rule_init(struct dyn_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->key.src.kind = ADDR_ANY;
	r->key.dst.kind = ADDR_ANY;
	r->key.mirrored = true;          /* §4.3 defaults */
	r->key.conntype = CONN_ALL;
	r->inbound = r->outbound = ACTION_NEGOTIATE;
}

static const char *const pfs_names[] = { "NOPFS", "GRP1", "GRP2", "GRP3", "GRPMM" };

bool dyn_parse_pfs(const char *tag, const char *text, enum dyn_pfs *out, struct diag *d)
{
	for (size_t i = 0; i < sizeof(pfs_names) / sizeof(pfs_names[0]); i++)
		if (!strcasecmp(text, pfs_names[i])) {
			*out = (enum dyn_pfs)i;
			return true;
		}
	return diag_bad_value(d, tag, text, "GRP1, GRP2, GRP3, GRPMM, NOPFS");
}

const char *dyn_pfs_name(enum dyn_pfs p)
{
	return (unsigned)p < sizeof(pfs_names) / sizeof(pfs_names[0]) ? pfs_names[p] : "?";
}

struct dyn_mmpolicy *dyn_mmpolicy_find(struct dyn_spd *s, const char *name)
{
	for (size_t i = 0; name && i < s->nmm; i++)
		if (!strcasecmp(s->mm[i].name, name))
			return &s->mm[i];
	return NULL;
}

struct dyn_qmpolicy *dyn_qmpolicy_find(struct dyn_spd *s, const char *name)
{
	for (size_t i = 0; name && i < s->nqm; i++)
		if (!strcasecmp(s->qm[i].name, name))
			return &s->qm[i];
	return NULL;
}

static bool addr_equal(const struct filter_addr *a, const struct filter_addr *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case ADDR_HOST_OR_SUBNET:
		return a->prefix == b->prefix && a->ip.family == b->ip.family &&
		       !memcmp(a->ip.bytes, b->ip.bytes, 16);
	case ADDR_RANGE:
		return a->ip.family == b->ip.family && !memcmp(a->ip.bytes, b->ip.bytes, 16) &&
		       !memcmp(a->last.bytes, b->last.bytes, 16);
	default:
		return true;   /* keywords: the kind says it all */
	}
}

bool dyn_key_equal(const struct dyn_rule_key *a, const struct dyn_rule_key *b)
{
	return addr_equal(&a->src, &b->src) && addr_equal(&a->dst, &b->dst) &&
	       a->protocol == b->protocol && a->srcport == b->srcport &&
	       a->dstport == b->dstport && a->mirrored == b->mirrored &&
	       a->conntype == b->conntype && a->has_tunnel == b->has_tunnel &&
	       (!a->has_tunnel || (a->tunnel.family == b->tunnel.family &&
	                           !memcmp(a->tunnel.bytes, b->tunnel.bytes, 16)));
}

struct dyn_rule *dyn_rule_find(struct dyn_spd *s, const struct dyn_rule_key *k)
{
	for (size_t i = 0; i < s->nrules; i++)
		if (dyn_key_equal(&s->rules[i].key, k))
			return &s->rules[i];
	return NULL;
}

static bool mm_check(const struct dyn_mmpolicy *p, struct diag *d)
{
	if (!policy_validate_name("name", p->name, d))
		return false;
	if (!strcasecmp(p->name, "all"))
		return diag_bad_value(d, "name", p->name, "any name but 'all' (it is reserved)");
	if (p->mm.n == 0)
		return diag_error(d, ERR_BAD_SECMETHOD, "A main mode policy needs at least one "
		                  "security method in 'mmsecmethods'.");
	if (p->mmlifetime < POLICY_MMLIFE_MIN || p->mmlifetime > POLICY_MMLIFE_MAX)
		return diag_error(d, ERR_BAD_VALUE, "'%u' is not a valid value for 'mmlifetime'. "
		                  "Allowed: %u to %u minutes.", p->mmlifetime, POLICY_MMLIFE_MIN,
		                  POLICY_MMLIFE_MAX);
	return true;
}

static bool qm_check(const struct dyn_qmpolicy *p, struct diag *d)
{
	if (!policy_validate_name("name", p->name, d))
		return false;
	if (!strcasecmp(p->name, "all"))
		return diag_bad_value(d, "name", p->name, "any name but 'all' (it is reserved)");
	if (p->methods.n == 0)
		return diag_error(d, ERR_BAD_SECMETHOD, "A quick mode policy needs at least one "
		                  "security method in 'qmsecmethods'.");
	return true;
}

bool dyn_mmpolicy_add(struct dyn_spd *s, const struct dyn_mmpolicy *p, struct diag *d)
{
	if (!mm_check(p, d))
		return false;
	if (dyn_mmpolicy_find(s, p->name))
		return diag_error(d, ERR_DUPLICATE_NAME, "A main mode policy named '%s' already "
		                  "exists.", p->name);
	if (s->nmm == DYN_MAX_POLICIES)
		return diag_error(d, ERR_BAD_VALUE, "The service holds at most %d dynamic main "
		                  "mode policies.", DYN_MAX_POLICIES);
	s->mm[s->nmm++] = *p;
	return true;
}

bool dyn_qmpolicy_add(struct dyn_spd *s, const struct dyn_qmpolicy *p, struct diag *d)
{
	if (!qm_check(p, d))
		return false;
	if (dyn_qmpolicy_find(s, p->name))
		return diag_error(d, ERR_DUPLICATE_NAME, "A quick mode policy named '%s' already "
		                  "exists.", p->name);
	if (s->nqm == DYN_MAX_POLICIES)
		return diag_error(d, ERR_BAD_VALUE, "The service holds at most %d dynamic quick "
		                  "mode policies.", DYN_MAX_POLICIES);
	s->qm[s->nqm++] = *p;
	return true;
}

/* The first rule that uses policy name (mm: main mode), or NULL. */
static const struct dyn_rule *user_of(const struct dyn_spd *s, const char *name, bool mm)
{
	for (size_t i = 0; i < s->nrules; i++)
		if (!strcasecmp(mm ? s->rules[i].mmpolicy : s->rules[i].qmpolicy, name))
			return &s->rules[i];
	return NULL;
}

static bool in_use(const struct dyn_spd *s, const char *name, bool mm, struct diag *d)
{
	const struct dyn_rule *r = user_of(s, name, mm);
	if (!r)
		return false;
	char key[256];
	dyn_key_text(&r->key, key, sizeof(key));
	diag_error(d, ERR_IN_USE, "'%s' is used by dynamic rule %u (%s) and cannot be deleted.",
	           name, r->id, key);
	return true;
}

bool dyn_mmpolicy_delete(struct dyn_spd *s, const char *name, struct diag *d)
{
	if (!name) {
		for (size_t i = 0; i < s->nmm; i++)
			if (in_use(s, s->mm[i].name, true, d))
				return false;
		s->nmm = 0;
		return true;
	}
	struct dyn_mmpolicy *p = dyn_mmpolicy_find(s, name);
	if (!p)
		return diag_error(d, ERR_NO_POLICY, "Main mode policy '%s' does not exist.", name);
	if (in_use(s, p->name, true, d))
		return false;
	size_t i = (size_t)(p - s->mm);
	memmove(&s->mm[i], &s->mm[i + 1], (s->nmm - i - 1) * sizeof(s->mm[0]));
	s->nmm--;
	return true;
}

bool dyn_qmpolicy_delete(struct dyn_spd *s, const char *name, struct diag *d)
{
	if (!name) {
		for (size_t i = 0; i < s->nqm; i++)
			if (in_use(s, s->qm[i].name, false, d))
				return false;
		s->nqm = 0;
		return true;
	}
	struct dyn_qmpolicy *p = dyn_qmpolicy_find(s, name);
	if (!p)
		return diag_error(d, ERR_NO_POLICY, "Quick mode policy '%s' does not exist.", name);
	if (in_use(s, p->name, false, d))
		return false;
	size_t i = (size_t)(p - s->qm);
	memmove(&s->qm[i], &s->qm[i + 1], (s->nqm - i - 1) * sizeof(s->qm[0]));
	s->nqm--;
	return true;
}

void dyn_rule_filter(const struct dyn_rule_key *k, struct filter *f)
{
	policy_filter_init(f);
	f->src = k->src;
	f->dst = k->dst;
	f->protocol = k->protocol;
	f->srcport = k->srcport;
	f->dstport = k->dstport;
	f->mirrored = k->mirrored;
}

bool dyn_rule_check(struct dyn_spd *s, const struct dyn_rule *r, struct diag *d)
{
	struct filter f;
	dyn_rule_filter(&r->key, &f);
	if (!policy_validate_filter(&f, d))
		return false;
	if (r->key.has_tunnel && r->key.mirrored)
		return diag_error(d, ERR_TUNNEL_MIRRORED, "Filters used by a tunnel rule must not "
		                  "be mirrored (give mirrored=no, and one rule per direction).");
	if (!dyn_mmpolicy_find(s, r->mmpolicy))
		return diag_error(d, ERR_NO_POLICY, "Main mode policy '%s' does not exist.",
		                  r->mmpolicy);
	bool negotiates = r->inbound == ACTION_NEGOTIATE || r->outbound == ACTION_NEGOTIATE;
	if (negotiates && !r->qmpolicy[0])
		return diag_error(d, ERR_MISSING_TAG, "The required parameter 'qmpolicy' was not "
		                  "specified (an action is negotiate).");
	if (r->qmpolicy[0] && !dyn_qmpolicy_find(s, r->qmpolicy))
		return diag_error(d, ERR_NO_POLICY, "Quick mode policy '%s' does not exist.",
		                  r->qmpolicy);
	if (r->auth.n == 0)
		return diag_error(d, ERR_BAD_VALUE, "A rule needs at least one authentication "
		                  "method: kerberos=yes, psk or rootca.");
	return true;
}

bool dyn_rule_add(struct dyn_spd *s, struct dyn_rule *r, struct diag *d)
{
	if (!dyn_rule_check(s, r, d))
		return false;
	if (dyn_rule_find(s, &r->key)) {
		char key[256];
		dyn_key_text(&r->key, key, sizeof(key));
		return diag_error(d, ERR_DUPLICATE_FILTER, "A dynamic rule with the same "
		                  "identification already exists (%s).", key);
	}
	if (s->nrules == DYN_MAX_RULES)
		return diag_error(d, ERR_BAD_VALUE, "The service holds at most %d dynamic rules.",
		                  DYN_MAX_RULES);
	r->id = s->next_id++;
	s->rules[s->nrules++] = *r;
	return true;
}

static bool not_found(const struct dyn_rule_key *k, struct diag *d)
{
	char key[256];
	dyn_key_text(k, key, sizeof(key));
	return diag_error(d, ERR_NO_RULE, "No dynamic rule matches the given identification "
	                  "(%s).", key);
}

bool dyn_rule_replace(struct dyn_spd *s, const struct dyn_rule *r, struct diag *d)
{
	struct dyn_rule *old = dyn_rule_find(s, &r->key);
	if (!old)
		return not_found(&r->key, d);
	if (!dyn_rule_check(s, r, d))
		return false;
	uint32_t id = old->id;
	*old = *r;
	old->id = id;
	return true;
}

bool dyn_rule_delete(struct dyn_spd *s, const struct dyn_rule_key *k, struct diag *d)
{
	struct dyn_rule *r = dyn_rule_find(s, k);
	if (!r)
		return not_found(k, d);
	size_t i = (size_t)(r - s->rules);
	explicit_bzero(r, sizeof(*r));
	memmove(&s->rules[i], &s->rules[i + 1], (s->nrules - i - 1) * sizeof(s->rules[0]));
	s->nrules--;
	return true;
}

void dyn_key_text(const struct dyn_rule_key *k, char *buf, size_t len)
{
	char src[128], dst[128], proto[16], tun[64] = "";
	policy_format_address(&k->src, src, sizeof(src));
	policy_format_address(&k->dst, dst, sizeof(dst));
	if (k->has_tunnel) {
		char ip[48];
		policy_format_ip(&k->tunnel, ip, sizeof(ip));
		snprintf(tun, sizeof(tun), " tunnel %s", ip);
	}
	snprintf(buf, len, "%s -> %s %s %u->%u%s %s%s", src, dst,
	         policy_protocol_name(k->protocol, proto, sizeof(proto)), k->srcport, k->dstport,
	         k->mirrored ? " mirrored" : "", policy_conntype_name(k->conntype), tun);
}
