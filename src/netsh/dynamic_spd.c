/*
 * The dynamic SPD commands of netsh-ipsec.md §4: add/set/delete of main-mode
 * policies, quick-mode policies and rules held in secpold's memory, their
 * `show` views beside the assigned static policy (ip-security-monitor.md
 * §3.1-3.3, §4.1-4.3), `delete all`, `show all`, and `delete mmsas/qmsas`.
 *
 * They run inside secpold only (the secpol CLI forwards them). An edit is
 * made on the service's objects, then put in force (ns->dynamic->dyn_changed);
 * if that fails the objects are restored from a copy, so a command either
 * takes effect everywhere at once -- SPD, steering, IKE -- or not at all.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "monitor/json.h"
#include "netsh/internal.h"

struct view_opts {
	enum netsh_format format;
	bool wide;
	bool specific;               /* mmfilter/qmfilter type=specific */
	/* resolvedns=yes: single hosts with their DNS names too, all within
	 * one budget for the whole command; else NULL. */
	const struct mon_names_request *names;
	struct mon_names_request request;
};

static bool is_all(const char *v)
{
	return v && !strcasecmp(v, "all");
}

static bool need_service(struct netsh_session *ns, struct diag *d)
{
	if (ns->dynamic && ns->dynamic->dyn && ns->dynamic->dyn_changed)
		return true;
	return diag_error(d, ERR_SERVICE, "The IPsec service is not running.");
}

/* filter_types: type= is generic|specific (mmfilter, qmfilter); show rule
 * has type=transport|tunnel, a selector parse_selector() reads. */
static bool view_opts(const struct args *a, bool filter_types, struct view_opts *o,
                      struct diag *d)
{
	memset(o, 0, sizeof(*o));
	o->wide = true;
	const char *v;
	int fmt = 0;
	if (!show_format(a, &fmt, d))
		return false;
	o->format = (enum netsh_format)fmt;
	if ((v = arg(a, "wide")) && !policy_parse_bool("wide", v, &o->wide, d))
		return false;
	bool resolvedns = false;
	if ((v = arg(a, "resolvedns")) && !policy_parse_bool("resolvedns", v, &resolvedns, d))
		return false;
	if (resolvedns) {
		mon_names_begin(&o->request);
		o->names = &o->request;
	}
	if (filter_types && (v = arg(a, "type"))) {
		static const char *const types[] = { "generic", "specific" };
		int i = match_word(v, types, 2);
		if (i < 0)
			return diag_bad_value(d, "type", v, "generic, specific");
		o->specific = i == 1;
	}
	return true;
}

/* ---- editing: copy, change, put in force, or put back ---- */

typedef bool (*dyn_edit)(struct netsh_session *ns, const struct args *a, struct dyn_spd *s,
                         struct diag *d);

static bool edit(struct netsh_session *ns, const struct args *a, dyn_edit fn, struct diag *d)
{
	if (!need_service(ns, d) || !session_store(ns, d))
		return false;
	struct dyn_spd *s = ns->dynamic->dyn;
	struct dyn_spd *saved = malloc(sizeof(*saved));
	if (!saved)
		return diag_error(d, ERR_SERVICE, "Out of memory.");
	memcpy(saved, s, sizeof(*s));
	bool ok = fn(ns, a, s, d);
	if (ok && !ns->dynamic->dyn_changed(ns->dynamic->ctx, d))
		ok = false;
	if (!ok) {
		bool changed = memcmp(saved, s, sizeof(*s)) != 0;
		memcpy(s, saved, sizeof(*s));
		if (changed) {
			struct diag again;
			diag_init(&again);
			ns->dynamic->dyn_changed(ns->dynamic->ctx, &again);
		}
	}
	explicit_bzero(saved, sizeof(*saved));   /* preshared keys */
	free(saved);
	return ok;
}

static enum crypto_profile profile(struct netsh_session *ns)
{
	return store_crypto_profile(ns->store);
}

static bool take_uint(const struct args *a, const char *tag, uint32_t min, uint32_t max,
                      uint32_t *out, struct diag *d)
{
	const char *v = arg(a, tag);
	return !v || policy_parse_uint(tag, v, min, max, out, d);
}

static bool mm_args(const struct args *a, struct dyn_mmpolicy *p, struct diag *d)
{
	const char *v;
	if (!take_uint(a, "qmpermm", 0, UINT32_MAX, &p->qmpermm, d) ||
	    !take_uint(a, "mmlifetime", POLICY_MMLIFE_MIN, POLICY_MMLIFE_MAX, &p->mmlifetime, d) ||
	    !take_uint(a, "softsaexpirationtime", 0, UINT32_MAX, &p->softsaexpirationtime, d))
		return false;
	return !(v = arg(a, "mmsecmethods")) || policy_parse_mmsec("mmsecmethods", v, &p->mm, d);
}

static bool add_mmpolicy(struct netsh_session *ns, const struct args *a, struct dyn_spd *s,
                         struct diag *d)
{
	struct dyn_mmpolicy p;
	dyn_mmpolicy_init(&p, profile(ns));
	snprintf(p.name, sizeof(p.name), "%s", arg(a, "name"));
	return mm_args(a, &p, d) && dyn_mmpolicy_add(s, &p, d);
}

static bool set_mmpolicy(struct netsh_session *ns, const struct args *a, struct dyn_spd *s,
                         struct diag *d)
{
	(void)ns;
	struct dyn_mmpolicy *p = dyn_mmpolicy_find(s, arg(a, "name"));
	if (!p)
		return diag_error(d, ERR_NO_POLICY, "Main mode policy '%s' does not exist.",
		                  arg(a, "name"));
	return mm_args(a, p, d);
}

static bool delete_mmpolicy(struct netsh_session *ns, const struct args *a, struct dyn_spd *s,
                            struct diag *d)
{
	(void)ns;
	const char *name = arg(a, "name");
	if (!name)
		return diag_error(d, ERR_MISSING_TAG, "The required parameter 'name' was not "
		                  "specified (a name, or all).");
	return dyn_mmpolicy_delete(s, is_all(name) ? NULL : name, d);
}

static bool qm_args(const struct args *a, struct dyn_qmpolicy *p, struct diag *d)
{
	const char *v;
	if ((v = arg(a, "soft")) && !policy_parse_bool("soft", v, &p->soft, d))
		return false;
	if ((v = arg(a, "pfsgroup")) && !dyn_parse_pfs("pfsgroup", v, &p->pfs, d))
		return false;
	return !(v = arg(a, "qmsecmethods")) ||
	       policy_parse_qmsec("qmsecmethods", v, &p->methods, d);
}

static bool add_qmpolicy(struct netsh_session *ns, const struct args *a, struct dyn_spd *s,
                         struct diag *d)
{
	struct dyn_qmpolicy p;
	dyn_qmpolicy_init(&p, profile(ns));
	snprintf(p.name, sizeof(p.name), "%s", arg(a, "name"));
	return qm_args(a, &p, d) && dyn_qmpolicy_add(s, &p, d);
}

static bool set_qmpolicy(struct netsh_session *ns, const struct args *a, struct dyn_spd *s,
                         struct diag *d)
{
	(void)ns;
	struct dyn_qmpolicy *p = dyn_qmpolicy_find(s, arg(a, "name"));
	if (!p)
		return diag_error(d, ERR_NO_POLICY, "Quick mode policy '%s' does not exist.",
		                  arg(a, "name"));
	return qm_args(a, p, d);
}

static bool delete_qmpolicy(struct netsh_session *ns, const struct args *a, struct dyn_spd *s,
                            struct diag *d)
{
	(void)ns;
	const char *name = arg(a, "name");
	if (!name)
		return diag_error(d, ERR_MISSING_TAG, "The required parameter 'name' was not "
		                  "specified (a name, or all).");
	return dyn_qmpolicy_delete(s, is_all(name) ? NULL : name, d);
}

/* One address of a rule: a literal, keyword, or a DNS name resolved now to
 * one address (a rule has one filter; several addresses would be several
 * rules). */
static bool rule_address(struct netsh_session *ns, const char *tag, const char *text,
                         struct filter_addr *out, struct diag *d)
{
	enum addr_parse r = policy_parse_address(tag, text, out, d);
	if (r == ADDR_PARSE_ERROR)
		return false;
	if (r == ADDR_PARSE_OK)
		return true;
	struct ip_address ip;
	if (!ns->resolve || ns->resolve(text, &ip, 1) == 0)
		return diag_error(d, ERR_DNS, "The DNS name '%.200s' could not be resolved.", text);
	memset(out, 0, sizeof(*out));
	out->kind = ADDR_HOST_OR_SUBNET;
	out->ip = ip;
	out->prefix = ip.family == AF_INET ? 32 : 128;
	return true;
}

/* The identification tuple of §4.3 from the command's arguments. */
static bool rule_key(struct netsh_session *ns, const struct args *a, struct dyn_rule_key *k,
                     struct diag *d)
{
	const char *v;
	if (!rule_address(ns, "srcaddr", arg(a, "srcaddr"), &k->src, d) ||
	    !rule_address(ns, "dstaddr", arg(a, "dstaddr"), &k->dst, d))
		return false;
	if ((v = arg(a, "srcmask")) && !policy_apply_mask("srcmask", v, &k->src, d))
		return false;
	if ((v = arg(a, "dstmask")) && !policy_apply_mask("dstmask", v, &k->dst, d))
		return false;
	if ((v = arg(a, "protocol")) && !policy_parse_protocol("protocol", v, &k->protocol, d))
		return false;
	if ((v = arg(a, "srcport")) && !policy_parse_port("srcport", v, &k->srcport, d))
		return false;
	if ((v = arg(a, "dstport")) && !policy_parse_port("dstport", v, &k->dstport, d))
		return false;
	if ((v = arg(a, "mirrored")) && !policy_parse_bool("mirrored", v, &k->mirrored, d))
		return false;
	if ((v = arg(a, "conntype")) && !policy_parse_conntype("conntype", v, &k->conntype, d))
		return false;
	if ((v = arg(a, "tunneldstaddress")) && strcmp(v, "0") && strcmp(v, "0.0.0.0")) {
		if (!policy_parse_ip(v, &k->tunnel)) {
			if (!policy_is_hostname(v))
				return diag_bad_value(d, "tunneldstaddress", v, "an IPv4 or IPv6 address "
				                      "or a DNS name");
			if (!ns->resolve || ns->resolve(v, &k->tunnel, 1) == 0)
				return diag_error(d, ERR_DNS, "The DNS name '%.200s' could not be "
				                  "resolved.", v);
		}
		k->has_tunnel = true;
	}
	return true;
}

/* mmpolicy, qmpolicy, the actions and the authentication methods. */
static bool rule_settings(const struct args *a, struct dyn_rule *r, struct diag *d)
{
	const char *v;
	if ((v = arg(a, "mmpolicy")))
		snprintf(r->mmpolicy, sizeof(r->mmpolicy), "%s", v);
	if ((v = arg(a, "qmpolicy")))
		snprintf(r->qmpolicy, sizeof(r->qmpolicy), "%s", v);
	if ((v = arg(a, "actioninbound")) && !policy_parse_action("actioninbound", v, &r->inbound, d))
		return false;
	if ((v = arg(a, "actionoutbound")) &&
	    !policy_parse_action("actionoutbound", v, &r->outbound, d))
		return false;
	if (a->nauth == 0)
		return true;
	/* Any authentication tag replaces the whole list (§2.9); psk twice:
	 * the later key wins. */
	memset(&r->auth, 0, sizeof(r->auth));
	for (size_t i = 0; i < a->nauth; i++) {
		if (a->auth[i].kind == AUTH_PSK) {
			size_t j = 0;
			while (j < r->auth.n && r->auth.m[j].kind != AUTH_PSK)
				j++;
			if (j < r->auth.n) {
				struct auth_methods one = { .n = 0 };
				if (!policy_auth_add(&one, AUTH_PSK, a->auth[i].value, d))
					return false;
				r->auth.m[j] = one.m[0];
				explicit_bzero(&one, sizeof(one));
				continue;
			}
		}
		if (!policy_auth_add(&r->auth, a->auth[i].kind, a->auth[i].value, d))
			return false;
	}
	if (r->auth.n == 0)
		return diag_error(d, ERR_BAD_VALUE, "'kerberos=no' leaves no authentication method. "
		                  "Allowed: at least one of kerberos=yes, psk, rootca.");
	return true;
}

static bool add_rule(struct netsh_session *ns, const struct args *a, struct dyn_spd *s,
                     struct diag *d)
{
	struct dyn_rule *r = malloc(sizeof(*r));
	if (!r)
		return diag_error(d, ERR_SERVICE, "Out of memory.");
	dyn_rule_init(r);
	/* No authentication tag: the dynamic default, Kerberos (§2.9). */
	bool ok = policy_auth_add(&r->auth, AUTH_KERBEROS, "yes", d) &&
	          rule_key(ns, a, &r->key, d) && rule_settings(a, r, d) && dyn_rule_add(s, r, d);
	explicit_bzero(r, sizeof(*r));
	free(r);
	return ok;
}

static bool set_rule(struct netsh_session *ns, const struct args *a, struct dyn_spd *s,
                     struct diag *d)
{
	struct dyn_rule_key k;
	struct dyn_rule probe;
	dyn_rule_init(&probe);
	k = probe.key;
	if (!rule_key(ns, a, &k, d))
		return false;
	struct dyn_rule *old = dyn_rule_find(s, &k);
	if (!old) {
		char key[256];
		dyn_key_text(&k, key, sizeof(key));
		return diag_error(d, ERR_NO_RULE, "No dynamic rule matches the given identification "
		                  "(%s).", key);
	}
	struct dyn_rule *r = malloc(sizeof(*r));
	if (!r)
		return diag_error(d, ERR_SERVICE, "Out of memory.");
	*r = *old;
	bool ok = rule_settings(a, r, d);
	/* A qmpolicy no longer needed once no action negotiates is kept: set
	 * it back to negotiate and the rule needs it again. */
	ok = ok && dyn_rule_replace(s, r, d);
	explicit_bzero(r, sizeof(*r));
	free(r);
	return ok;
}

static bool delete_rule(struct netsh_session *ns, const struct args *a, struct dyn_spd *s,
                        struct diag *d)
{
	struct dyn_rule probe;
	dyn_rule_init(&probe);
	struct dyn_rule_key k = probe.key;
	return rule_key(ns, a, &k, d) && dyn_rule_delete(s, &k, d);
}

static bool delete_all(struct netsh_session *ns, const struct args *a, struct dyn_spd *s,
                       struct diag *d)
{
	(void)ns;
	(void)a;
	(void)d;
	dyn_clear(s);
	return true;
}

#define EDIT_RUN(fn) \
	static bool fn##_run(struct netsh_session *ns, const struct args *a, struct diag *d) \
	{ return edit(ns, a, fn, d); }
EDIT_RUN(add_mmpolicy)
EDIT_RUN(set_mmpolicy)
EDIT_RUN(delete_mmpolicy)
EDIT_RUN(add_qmpolicy)
EDIT_RUN(set_qmpolicy)
EDIT_RUN(delete_qmpolicy)
EDIT_RUN(add_rule)
EDIT_RUN(set_rule)
EDIT_RUN(delete_rule)
EDIT_RUN(delete_all)

/* ---- the views: static policy and dynamic objects side by side ---- */

/* One rule as the dynamic shows see it: a static rule gives one per filter
 * of its filter list (each is one MM + QM filter pair), a dynamic rule one. */
struct view_rule {
	uint32_t id;
	bool dynamic;
	char name[POLICY_NAME_MAX];       /* the static rule's; "" for a dynamic one */
	char policy[POLICY_NAME_MAX];     /* the static policy's; "" for a dynamic one */
	struct filter f;
	enum conn_type conntype;
	bool has_tunnel;
	struct ip_address tunnel;
	char mmpolicy[POLICY_NAME_MAX];   /* static: the IPsec policy (its main-mode settings) */
	char qmpolicy[POLICY_NAME_MAX];   /* static: the filter action */
	enum filter_action_kind in, out;
	struct auth_methods auth;
};

struct view_mm {
	const char *name, *policy;        /* policy: "" for a dynamic one */
	uint32_t qmpermm, mmlifetime, softsa;
	bool has_softsa;
	const struct mm_methods *mm;
};

struct view_qm {
	const char *name, *policy;
	bool soft;
	const char *pfs;
	const struct qm_methods *methods;
};

struct views {
	struct view_rule *rules;
	size_t nrules;
	struct policy *pols;              /* the store's, loaded */
	size_t npols;
	const struct policy *assigned;
	struct filter_action *fas;        /* the assigned policy's negotiate actions */
	size_t nfas;
	struct view_mm mm[DYN_MAX_POLICIES + 1];
	size_t nmm;
	struct view_qm qm[DYN_MAX_POLICIES + 64];
	size_t nqm;
};

static void views_free(struct views *v)
{
	if (v->rules)
		explicit_bzero(v->rules, v->nrules * sizeof(*v->rules));
	free(v->rules);
	free(v->fas);
	store_policies_free(v->pols, v->npols);
	memset(v, 0, sizeof(*v));
}

static struct view_rule *view_push(struct views *v)
{
	struct view_rule *n = realloc(v->rules, (v->nrules + 1) * sizeof(*n));
	if (!n)
		return NULL;
	v->rules = n;
	memset(&n[v->nrules], 0, sizeof(n[0]));
	return &n[v->nrules++];
}

static bool static_views(struct netsh_session *ns, struct views *v, struct diag *d)
{
	if (!store_policies_load(ns->store, &v->pols, &v->npols, d))
		return false;
	for (size_t i = 0; i < v->npols && !v->assigned; i++)
		if (v->pols[i].assigned)
			v->assigned = &v->pols[i];
	const struct policy *p = v->assigned;
	if (!p)
		return true;
	v->mm[v->nmm++] = (struct view_mm){ .name = p->name, .policy = p->name,
	                                    .qmpermm = p->qmpermm, .mmlifetime = p->mmlifetime,
	                                    .mm = &p->mm };
	v->fas = calloc(p->nrules ? p->nrules : 1, sizeof(*v->fas));
	if (!v->fas)
		return diag_error(d, ERR_SERVICE, "Out of memory.");
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];
		if (r->is_default || !r->active)
			continue;
		struct filter_list fl;
		struct filter_action fa;
		if (!store_filterlist_get(ns->store, r->filterlist, &fl, d))
			return false;
		if (!store_filteraction_get(ns->store, r->filteraction, &fa, d)) {
			policy_filter_list_free(&fl);
			return false;
		}
		bool seen = false;
		for (size_t k = 0; k < v->nfas; k++)
			seen = seen || !strcasecmp(v->fas[k].name, fa.name);
		if (!seen && fa.action == ACTION_NEGOTIATE)
			v->fas[v->nfas++] = fa;
		for (size_t k = 0; k < fl.nfilters; k++) {
			struct view_rule *vr = view_push(v);
			if (!vr) {
				policy_filter_list_free(&fl);
				return diag_error(d, ERR_SERVICE, "Out of memory.");
			}
			vr->id = r->id;
			snprintf(vr->name, sizeof(vr->name), "%s", r->name);
			snprintf(vr->policy, sizeof(vr->policy), "%s", p->name);
			vr->f = fl.filters[k];
			vr->conntype = r->conntype;
			vr->has_tunnel = r->has_tunnel;
			vr->tunnel = r->tunnel;
			snprintf(vr->mmpolicy, sizeof(vr->mmpolicy), "%s", p->name);
			snprintf(vr->qmpolicy, sizeof(vr->qmpolicy), "%s", fa.name);
			vr->in = vr->out = fa.action;
			vr->auth = r->auth;
		}
		policy_filter_list_free(&fl);
	}
	for (size_t k = 0; k < v->nfas && v->nqm < sizeof(v->qm) / sizeof(v->qm[0]); k++)
		v->qm[v->nqm++] = (struct view_qm){ .name = v->fas[k].name, .policy = p->name,
		                                    .soft = v->fas[k].soft,
		                                    .pfs = v->fas[k].qmpfs ? "GRPMM" : "NOPFS",
		                                    .methods = &v->fas[k].methods };
	return true;
}

static bool views_load(struct netsh_session *ns, struct views *v, struct diag *d)
{
	memset(v, 0, sizeof(*v));
	if (!need_service(ns, d) || !session_store(ns, d))
		return false;
	bool outer = !store_in_transaction(ns->store);
	if (outer && !store_begin_read(ns->store, d))
		return false;
	bool ok = static_views(ns, v, d);
	if (outer)
		store_rollback(ns->store);
	if (!ok) {
		views_free(v);
		return false;
	}
	struct dyn_spd *s = ns->dynamic->dyn;
	for (size_t i = 0; i < s->nmm; i++)
		v->mm[v->nmm++] = (struct view_mm){ .name = s->mm[i].name, .policy = "",
		                                    .qmpermm = s->mm[i].qmpermm,
		                                    .mmlifetime = s->mm[i].mmlifetime,
		                                    .softsa = s->mm[i].softsaexpirationtime,
		                                    .has_softsa = true, .mm = &s->mm[i].mm };
	for (size_t i = 0; i < s->nqm; i++)
		v->qm[v->nqm++] = (struct view_qm){ .name = s->qm[i].name, .policy = "",
		                                    .soft = s->qm[i].soft,
		                                    .pfs = dyn_pfs_name(s->qm[i].pfs),
		                                    .methods = &s->qm[i].methods };
	for (size_t i = 0; i < s->nrules; i++) {
		const struct dyn_rule *r = &s->rules[i];
		struct view_rule *vr = view_push(v);
		if (!vr) {
			views_free(v);
			return diag_error(d, ERR_SERVICE, "Out of memory.");
		}
		vr->id = r->id;
		vr->dynamic = true;
		dyn_rule_filter(&r->key, &vr->f);
		vr->conntype = r->key.conntype;
		vr->has_tunnel = r->key.has_tunnel;
		vr->tunnel = r->key.tunnel;
		snprintf(vr->mmpolicy, sizeof(vr->mmpolicy), "%s", r->mmpolicy);
		snprintf(vr->qmpolicy, sizeof(vr->qmpolicy), "%s", r->qmpolicy);
		vr->in = r->inbound;
		vr->out = r->outbound;
		vr->auth = r->auth;
	}
	return true;
}

/* "Dynamic" or "Policy 'lab'": where an object comes from. */
static void source_text(const char *policy, char *buf, size_t len)
{
	if (policy[0])
		snprintf(buf, len, "Policy '%s'", policy);
	else
		snprintf(buf, len, "Dynamic");
}

static const char *filter_name(const struct view_rule *r, char *buf, size_t len)
{
	if (r->dynamic)
		snprintf(buf, len, "Dynamic Rule %u", r->id);
	else
		snprintf(buf, len, "%s", r->name);
	return buf;
}

static void auth_text(const struct auth_methods *am, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < am->n; i++) {
		const struct auth_method *m = &am->m[i];
		size_t o = strlen(buf);
		if (m->kind == AUTH_KERBEROS)
			snprintf(buf + o, len - o, "%sKerberos", i ? ", " : "");
		else if (m->kind == AUTH_PSK)
			snprintf(buf + o, len - o, "%sPreshared key", i ? ", " : "");   /* never the key */
		else
			snprintf(buf + o, len - o, "%sRoot CA : %s", i ? ", " : "", m->value);
	}
	if (!buf[0])
		snprintf(buf, len, "NONE");
}

static void json_auth(struct json *j, const struct auth_methods *am)
{
	json_array_begin(j, "authentication");
	for (size_t i = 0; i < am->n; i++) {
		json_object_begin(j, NULL);
		const struct auth_method *m = &am->m[i];
		json_string(j, "method", m->kind == AUTH_KERBEROS ? "kerberos"
		                         : m->kind == AUTH_PSK ? "psk" : "rootca");
		if (m->kind == AUTH_CERT) {
			json_string(j, "ca", m->value);
			json_bool(j, "certmap", m->certmap);
			json_bool(j, "excludecaname", m->excludecaname);
		}
		json_object_end(j);
	}
	json_array_end(j);
}

static const char *action_word(enum filter_action_kind k)
{
	return k == ACTION_PERMIT ? "permit" : k == ACTION_BLOCK ? "block" : "negotiate";
}

static void tunnel_text(const struct view_rule *r, char *buf, size_t len)
{
	if (r->has_tunnel)
		policy_format_ip(&r->tunnel, buf, len);
	else
		snprintf(buf, len, "NONE");
}

/* ---- show mmpolicy / qmpolicy ---- */

static bool named(const char *want, const char *name)
{
	return !want || is_all(want) || !strcasecmp(want, name);
}

static void show_mm(FILE *f, const struct views *v, const char *want, const struct view_opts *o,
                    struct json *j, size_t *count)
{
	struct table *t = NULL;
	if (o->format == NETSH_FORMAT_TABLE) {
		static const char *const h[] = { "Policy Name", "Source", "Offers", "MM Lifetime (min)",
		                                  "QM Limit", "Soft SA (s)" };
		t = table_new(6, h);
	}
	if (j)
		json_array_begin(j, "mmpolicies");
	for (size_t i = 0; i < v->nmm; i++) {
		const struct view_mm *m = &v->mm[i];
		if (!named(want, m->name))
			continue;
		(*count)++;
		char src[POLICY_NAME_MAX + 16], offers[1024], life[16], qml[16], soft[16];
		source_text(m->policy, src, sizeof(src));
		snprintf(life, sizeof(life), "%u", m->mmlifetime);
		if (m->qmpermm)
			snprintf(qml, sizeof(qml), "%u", m->qmpermm);
		else
			snprintf(qml, sizeof(qml), "Unlimited");
		if (m->has_softsa)
			snprintf(soft, sizeof(soft), "%u", m->softsa);
		else
			snprintf(soft, sizeof(soft), "NONE");
		if (j) {
			json_object_begin(j, NULL);
			json_string(j, "name", m->name);
			json_bool(j, "dynamic", !m->policy[0]);
			if (m->policy[0])
				json_string(j, "policy", m->policy);
			else
				json_null(j, "policy");
			json_u64(j, "qmpermm", m->qmpermm);
			json_u64(j, "mmlifetime_min", m->mmlifetime);
			if (m->has_softsa)
				json_u64(j, "softsaexpirationtime_s", m->softsa);
			else
				json_null(j, "softsaexpirationtime_s");
			policy_format_mmsec(m->mm, offers, sizeof(offers));
			json_string(j, "mmsecmethods", offers);
			json_array_begin(j, "offers");
			for (size_t k = 0; k < m->mm->n; k++) {
				json_object_begin(j, NULL);
				json_string(j, "encryption", policy_conf_name(m->mm->m[k].conf));
				json_string(j, "integrity", policy_integ_name(m->mm->m[k].hash));
				json_u64(j, "dh_group", m->mm->m[k].group);
				json_object_end(j);
			}
			json_array_end(j);
			json_object_end(j);
		} else if (t) {
			char n[16];
			snprintf(n, sizeof(n), "%zu", m->mm->n);
			const char *row[] = { m->name, src, n, life, qml, soft };
			table_row(t, row);
		} else {
			list_header(f, "Main Mode Policy");
			list_field(f, "Policy Name", "%s", m->name);
			list_field(f, "Source", "%s", src);
			list_field(f, "Soft SA Expiration Time", m->has_softsa ? "%s seconds" : "%s", soft);
			list_field(f, "QM Limit Per MM", "%s", qml);
			list_field(f, "MM Lifetime", "%u minutes", m->mmlifetime);
			list_field(f, "Main Mode Offers", "%zu", m->mm->n);
			mm_offers_table(f, m->mm, o->wide);
			fputc('\n', f);
		}
	}
	if (j)
		json_array_end(j);
	if (t) {
		if (*count)
			table_print(f, t, o->wide);
		table_free(t);
	}
}

static void show_qm(FILE *f, const struct views *v, const char *want, const struct view_opts *o,
                    struct json *j, size_t *count)
{
	struct table *t = NULL;
	if (o->format == NETSH_FORMAT_TABLE) {
		static const char *const h[] = { "Policy Name", "Source", "Offers", "PFS Group", "Soft" };
		t = table_new(5, h);
	}
	if (j)
		json_array_begin(j, "qmpolicies");
	for (size_t i = 0; i < v->nqm; i++) {
		const struct view_qm *q = &v->qm[i];
		if (!named(want, q->name))
			continue;
		(*count)++;
		char src[POLICY_NAME_MAX + 16], offers[1024];
		source_text(q->policy, src, sizeof(src));
		if (j) {
			json_object_begin(j, NULL);
			json_string(j, "name", q->name);
			json_bool(j, "dynamic", !q->policy[0]);
			if (q->policy[0])
				json_string(j, "policy", q->policy);
			else
				json_null(j, "policy");
			json_bool(j, "soft", q->soft);
			json_string(j, "pfsgroup", q->pfs);
			policy_format_qmsec(q->methods, offers, sizeof(offers));
			json_string(j, "qmsecmethods", offers);
			json_object_end(j);
		} else if (t) {
			char n[16];
			snprintf(n, sizeof(n), "%zu", q->methods->n);
			const char *row[] = { q->name, src, n, q->pfs, yesno(q->soft) };
			table_row(t, row);
		} else {
			list_header(f, "Quick Mode Policy");
			list_field(f, "Policy Name", "%s", q->name);
			list_field(f, "Source", "%s", src);
			list_field(f, "Soft", "%s", yesno(q->soft));
			list_field(f, "PFS Group", "%s", q->pfs);
			list_field(f, "Security Methods", "%zu", q->methods->n);
			qm_offers_table(f, q->methods, o->wide);
			fputc('\n', f);
		}
	}
	if (j)
		json_array_end(j);
	if (t) {
		if (*count)
			table_print(f, t, o->wide);
		table_free(t);
	}
}

static bool show_policies_run(struct netsh_session *ns, const struct args *a, struct diag *d,
                              bool mm)
{
	struct view_opts o;
	struct views v;
	const char *want = arg(a, "name");
	if (!view_opts(a, false, &o, d) || !views_load(ns, &v, d))
		return false;
	bool found = want == NULL || is_all(want);
	for (size_t i = 0; !found && i < (mm ? v.nmm : v.nqm); i++)
		found = !strcasecmp(mm ? v.mm[i].name : v.qm[i].name, want);
	if (!found) {
		views_free(&v);
		return diag_error(d, ERR_NO_POLICY, "%s mode policy '%s' does not exist.",
		                  mm ? "Main" : "Quick", want);
	}
	size_t n = 0;
	struct json j;
	if (o.format == NETSH_FORMAT_JSON) {
		json_init(&j, ns->out);
		json_object_begin(&j, NULL);
	}
	if (mm)
		show_mm(ns->out, &v, want, &o, o.format == NETSH_FORMAT_JSON ? &j : NULL, &n);
	else
		show_qm(ns->out, &v, want, &o, o.format == NETSH_FORMAT_JSON ? &j : NULL, &n);
	if (o.format == NETSH_FORMAT_JSON) {
		json_object_end(&j);
		json_finish(&j);
	} else if (n == 0) {
		fprintf(ns->out, "No %s mode policies found.\n", mm ? "main" : "quick");
	} else {
		fprintf(ns->out, "%zu %s Mode Policy(s)\n", n, mm ? "Main" : "Quick");
	}
	views_free(&v);
	return true;
}

static bool show_mmpolicy_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	return show_policies_run(ns, a, d, true);
}

static bool show_qmpolicy_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	return show_policies_run(ns, a, d, false);
}

/* ---- selectors of show rule / mmfilter / qmfilter ---- */

struct selector {
	const char *name;                 /* filter name, NULL: all */
	int tunnel;                       /* -1 any, 0 transport, 1 tunnel */
	bool has_src, has_dst;
	struct filter_addr src, dst;
	bool has_proto, has_sport, has_dport, has_in, has_out;
	uint8_t proto;
	uint16_t sport, dport;
	enum filter_action_kind in, out;
};

static bool parse_selector(struct netsh_session *ns, const struct args *a, bool rule_types,
                           struct selector *s, struct diag *d)
{
	memset(s, 0, sizeof(*s));
	s->tunnel = -1;
	const char *v;
	s->name = arg(a, "name");
	if (is_all(s->name))
		s->name = NULL;
	if (rule_types && (v = arg(a, "type"))) {
		static const char *const types[] = { "transport", "tunnel" };
		int i = match_word(v, types, 2);
		if (i < 0)
			return diag_bad_value(d, "type", v, "transport, tunnel");
		s->tunnel = i;
	}
	if ((v = arg(a, "srcaddr"))) {
		s->has_src = true;
		if (!rule_address(ns, "srcaddr", v, &s->src, d))
			return false;
		if ((v = arg(a, "srcmask")) && !policy_apply_mask("srcmask", v, &s->src, d))
			return false;
	}
	if ((v = arg(a, "dstaddr"))) {
		s->has_dst = true;
		if (!rule_address(ns, "dstaddr", v, &s->dst, d))
			return false;
		if ((v = arg(a, "dstmask")) && !policy_apply_mask("dstmask", v, &s->dst, d))
			return false;
	}
	if ((v = arg(a, "protocol")) &&
	    !(s->has_proto = true, policy_parse_protocol("protocol", v, &s->proto, d)))
		return false;
	if ((v = arg(a, "srcport")) &&
	    !(s->has_sport = true, policy_parse_port("srcport", v, &s->sport, d)))
		return false;
	if ((v = arg(a, "dstport")) &&
	    !(s->has_dport = true, policy_parse_port("dstport", v, &s->dport, d)))
		return false;
	if ((v = arg(a, "actioninbound")) &&
	    !(s->has_in = true, policy_parse_action("actioninbound", v, &s->in, d)))
		return false;
	if ((v = arg(a, "actionoutbound")) &&
	    !(s->has_out = true, policy_parse_action("actionoutbound", v, &s->out, d)))
		return false;
	return true;
}

static bool same_addr(const struct filter_addr *a, const struct filter_addr *b)
{
	char x[128], y[128];
	policy_format_address(a, x, sizeof(x));
	policy_format_address(b, y, sizeof(y));
	return !strcmp(x, y);
}

static bool selected(const struct selector *s, const struct view_rule *r)
{
	char name[POLICY_NAME_MAX];
	if (s->name && strcasecmp(s->name, filter_name(r, name, sizeof(name))))
		return false;
	if (s->tunnel >= 0 && (bool)s->tunnel != r->has_tunnel)
		return false;
	if ((s->has_src && !same_addr(&s->src, &r->f.src)) ||
	    (s->has_dst && !same_addr(&s->dst, &r->f.dst)))
		return false;
	if ((s->has_proto && s->proto != r->f.protocol) ||
	    (s->has_sport && s->sport != r->f.srcport) || (s->has_dport && s->dport != r->f.dstport))
		return false;
	return !(s->has_in && s->in != r->in) && !(s->has_out && s->out != r->out);
}

/* ---- show rule, and the generic filters ---- */

enum rule_view { VIEW_RULE, VIEW_MMFILTER, VIEW_QMFILTER };

static void json_rule(struct json *j, const struct view_rule *r, enum rule_view what)
{
	char buf[POLICY_NAME_MAX];
	json_object_begin(j, NULL);
	if (what == VIEW_RULE)
		json_u64(j, "id", r->id);
	else
		json_string(j, "name", filter_name(r, buf, sizeof(buf)));
	json_u64(j, "rule_id", r->id);
	json_bool(j, "dynamic", r->dynamic);
	if (r->dynamic) {
		json_null(j, "policy");
		json_null(j, "rule_name");
	} else {
		json_string(j, "policy", r->policy);
		json_string(j, "rule_name", r->name);
	}
	policy_format_address(&r->f.src, buf, sizeof(buf));
	json_string(j, "srcaddr", buf);
	policy_format_address(&r->f.dst, buf, sizeof(buf));
	json_string(j, "dstaddr", buf);
	if (what != VIEW_MMFILTER) {
		json_u64(j, "protocol", r->f.protocol);
		json_u64(j, "srcport", r->f.srcport);
		json_u64(j, "dstport", r->f.dstport);
	}
	json_bool(j, "mirrored", r->f.mirrored);
	json_string(j, "conntype", policy_conntype_name(r->conntype));
	if (r->has_tunnel) {
		policy_format_ip(&r->tunnel, buf, sizeof(buf));
		json_string(j, "tunneldstaddress", buf);
	} else {
		json_null(j, "tunneldstaddress");
	}
	if (what != VIEW_QMFILTER) {
		json_string(j, "mmpolicy", r->mmpolicy);
		json_auth(j, &r->auth);
	}
	if (what != VIEW_MMFILTER) {
		if (r->qmpolicy[0])
			json_string(j, "qmpolicy", r->qmpolicy);
		else
			json_null(j, "qmpolicy");
		json_string(j, "actioninbound", action_word(r->in));
		json_string(j, "actionoutbound", action_word(r->out));
	}
	json_object_end(j);
}

static void list_rule(FILE *f, const struct view_rule *r, enum rule_view what,
                      const struct mon_names_request *names)
{
	char a[POLICY_NAME_MAX + 300], m[64], src[POLICY_NAME_MAX + 16], proto[16], auth[1024];
	source_text(r->policy, src, sizeof(src));
	if (what == VIEW_RULE) {
		list_header(f, r->dynamic ? "Dynamic Rule" : "Policy Rule");
		list_field(f, "Rule ID", "%u", r->id);
		list_field(f, "Rule Name", "%s", r->dynamic ? "NONE" : r->name);
		list_field(f, "Source", "%s", src);
		list_field(f, "Dynamic", "%s", yesno(r->dynamic));
	} else {
		list_header(f, what == VIEW_MMFILTER ? "Generic Main Mode Filter"
		                                     : "Generic Quick Mode Filter");
		list_field(f, "Filter Name", "%s", filter_name(r, a, sizeof(a)));
		list_field(f, "Source", "%s", src);
		list_field(f, "Dynamic", "%s", yesno(r->dynamic));
	}
	netsh_address_text(&r->f.src, names, a, sizeof(a));
	policy_display_mask(&r->f.src, m, sizeof(m));
	list_field(f, "Source Address", "%s", a);
	list_field(f, "Source Mask", "%s", m);
	netsh_address_text(&r->f.dst, names, a, sizeof(a));
	policy_display_mask(&r->f.dst, m, sizeof(m));
	list_field(f, "Destination Address", "%s", a);
	list_field(f, "Destination Mask", "%s", m);
	if (what != VIEW_MMFILTER) {
		list_field(f, "Protocol", "%s", policy_protocol_name(r->f.protocol, proto, sizeof(proto)));
		list_field(f, "Source Port", "%u", r->f.srcport);
		list_field(f, "Destination Port", "%u", r->f.dstport);
	}
	list_field(f, "Mirrored", "%s", yesno(r->f.mirrored));
	tunnel_text(r, a, sizeof(a));
	list_field(f, "Tunnel Rule", "%s", yesno(r->has_tunnel));
	list_field(f, "Tunnel Endpoint", "%s", a);
	list_field(f, "Connection Type", "%s", policy_conntype_name(r->conntype));
	if (what != VIEW_QMFILTER) {
		list_field(f, "IKE Policy", "%s", r->mmpolicy);
		auth_text(&r->auth, auth, sizeof(auth));
		list_field(f, "Authentication Methods", "%s", auth);
	}
	if (what != VIEW_MMFILTER) {
		list_field(f, "Negotiation Policy", "%s", none_if_empty(r->qmpolicy));
		list_field(f, "Inbound Action", "%s", policy_action_name(r->in));
		list_field(f, "Outbound Action", "%s", policy_action_name(r->out));
	}
	fputc('\n', f);
}

/* The list, every name asked for before the first is waited for. */
static void list_rules(FILE *f, const struct view_rule *const *sel, size_t n,
                       enum rule_view what, const struct mon_names_request *names)
{
	for (size_t i = 0; names && i < n; i++) {
		netsh_address_ask(&sel[i]->f.src);
		netsh_address_ask(&sel[i]->f.dst);
	}
	for (size_t i = 0; i < n; i++)
		list_rule(f, sel[i], what, names);
}

static void table_rules(FILE *f, const struct view_rule *const *sel, size_t n,
                        enum rule_view what, bool wide)
{
	static const char *const h[] = { "ID", "Name", "Type", "Src Addr", "Dst Addr", "Proto",
	                                 "SrcPort", "DstPort", "Mir", "Tunnel", "MM Policy",
	                                 "QM Policy", "Inbound", "Outbound" };
	/* Main mode filters have no protocol, ports, QM policy or actions. */
	static const char *const mh[] = { "ID", "Name", "Type", "Src Addr", "Dst Addr", "Mir",
	                                  "Tunnel", "MM Policy" };
	struct table *t = what == VIEW_MMFILTER ? table_new(8, mh) : table_new(14, h);
	for (size_t i = 0; i < n; i++) {
		const struct view_rule *r = sel[i];
		char id[16], name[POLICY_NAME_MAX], s[128], dd[128], proto[16], sp[8], dp[8], tun[64];
		snprintf(id, sizeof(id), "%u", r->id);
		filter_name(r, name, sizeof(name));
		policy_format_address(&r->f.src, s, sizeof(s));
		policy_format_address(&r->f.dst, dd, sizeof(dd));
		snprintf(sp, sizeof(sp), "%u", r->f.srcport);
		snprintf(dp, sizeof(dp), "%u", r->f.dstport);
		tunnel_text(r, tun, sizeof(tun));
		const char *row[] = { id, name, r->dynamic ? "Dynamic" : "Static", s, dd,
		                      policy_protocol_name(r->f.protocol, proto, sizeof(proto)), sp, dp,
		                      yesno(r->f.mirrored), tun, r->mmpolicy,
		                      none_if_empty(r->qmpolicy), policy_action_name(r->in),
		                      policy_action_name(r->out) };
		const char *mrow[] = { id, name, row[2], s, dd, yesno(r->f.mirrored), tun,
		                       r->mmpolicy };
		table_row(t, what == VIEW_MMFILTER ? mrow : row);
	}
	table_print(f, t, wide);
	table_free(t);
}

static const char *const view_names[] = { "Rule(s)", "Main Mode Filter(s)",
                                          "Quick Mode Filter(s)" };
static const char *const view_none[] = { "No rules found.", "No main mode filters found.",
                                         "No quick mode filters found." };
static const char *const view_keys[] = { "rules", "mmfilters", "qmfilters" };

static void show_generic(FILE *f, const struct views *v, const struct selector *s,
                         const struct view_opts *o, enum rule_view what, struct json *j)
{
	const struct view_rule **sel = calloc(v->nrules ? v->nrules : 1, sizeof(*sel));
	size_t n = 0;
	for (size_t i = 0; sel && i < v->nrules; i++)
		if (selected(s, &v->rules[i]))
			sel[n++] = &v->rules[i];
	if (j) {
		json_array_begin(j, view_keys[what]);
		for (size_t i = 0; i < n; i++)
			json_rule(j, sel[i], what);
		json_array_end(j);
	} else if (n == 0) {
		fprintf(f, "%s\n", view_none[what]);
	} else {
		if (o->format == NETSH_FORMAT_TABLE)
			table_rules(f, sel, n, what, o->wide);
		else
			list_rules(f, sel, n, what, o->names);
		fprintf(f, "%zu %s\n", n, view_names[what]);
	}
	free(sel);
}

/* ---- specific filters: what the service compiled, in evaluation order ---- */

static const struct view_rule *rule_by_id(const struct views *v, uint32_t id)
{
	for (size_t i = 0; i < v->nrules; i++)
		if (v->rules[i].id == id)
			return &v->rules[i];
	return NULL;
}

static void prefix_text(const struct ip_address *ip, uint8_t len,
                        const struct mon_names_request *names, char *buf, size_t cap)
{
	char a[64];
	policy_format_ip(ip, a, sizeof(a));
	snprintf(buf, cap, "%s/%u", a, len);
	if (names) {
		struct filter_addr fa = { .kind = ADDR_HOST_OR_SUBNET, .ip = *ip, .prefix = len };
		char named[320];
		netsh_address_text(&fa, names, named, sizeof(named));
		const char *name = strchr(named, '(');
		if (name)
			snprintf(buf + strlen(buf), cap - strlen(buf), " %s", name);
	}
}

/* resolvedns=yes: a specific filter's addresses asked for ahead of printing
 * (any filter's: the rows the selector drops are few, the lookups cheap). */
static void ask_specific(const struct netsh_specific_filter *x)
{
	struct filter_addr src = { .kind = ADDR_HOST_OR_SUBNET, .ip = x->src, .prefix = x->src_len };
	struct filter_addr dst = { .kind = ADDR_HOST_OR_SUBNET, .ip = x->dst, .prefix = x->dst_len };
	netsh_address_ask(&src);
	netsh_address_ask(&dst);
}

static bool show_specific(struct netsh_session *ns, const struct views *v,
                          const struct selector *s, const struct view_opts *o,
                          enum rule_view what, struct json *j, struct diag *d)
{
	FILE *f = ns->out;
	struct netsh_specific_filter *sf = NULL;
	size_t n = ns->dynamic->specific_filters ? ns->dynamic->specific_filters(ns->dynamic->ctx, &sf)
	                                         : 0;
	if (n == (size_t)-1)
		return diag_error(d, ERR_SERVICE, "Out of memory.");
	static const char *const h[] = { "Name", "Type", "Dir", "Source", "Destination", "Proto",
	                                 "SrcPort", "DstPort", "Action", "Weight", "Policy" };
	/* A main mode filter is an address pair: no protocol, ports or action. */
	static const char *const mh[] = { "Name", "Type", "Dir", "Source", "Destination", "Weight",
	                                  "Policy" };
	struct table *t = NULL;
	if (o->format == NETSH_FORMAT_TABLE && !j)
		t = what == VIEW_MMFILTER ? table_new(7, mh) : table_new(11, h);
	if (j)
		json_array_begin(j, view_keys[what]);
	for (size_t i = 0; o->names && i < n; i++)
		ask_specific(&sf[i]);
	size_t shown = 0;
	for (size_t i = 0; i < n; i++) {
		const struct netsh_specific_filter *x = &sf[i];
		const struct view_rule *r = rule_by_id(v, x->rule_id);
		if (!r || !selected(s, r))
			continue;
		/* A main mode filter is the address pair: the quick mode filters
		 * of one rule that differ only in protocol or ports are one. */
		if (what == VIEW_MMFILTER) {
			bool dup = false;
			for (size_t k = 0; k < i && !dup; k++)
				dup = sf[k].rule_id == x->rule_id && sf[k].inbound == x->inbound &&
				      sf[k].src_len == x->src_len && sf[k].dst_len == x->dst_len &&
				      !memcmp(&sf[k].src, &x->src, sizeof(x->src)) &&
				      !memcmp(&sf[k].dst, &x->dst, sizeof(x->dst));
			if (dup)
				continue;
		}
		shown++;
		char name[POLICY_NAME_MAX], src[400], dst[400], pbuf[16], sp[8], dp[8], w[16];
		filter_name(r, name, sizeof(name));
		prefix_text(&x->src, x->src_len, o->names, src, sizeof(src));
		prefix_text(&x->dst, x->dst_len, o->names, dst, sizeof(dst));
		/* Known protocols come back as a static name, not in pbuf. */
		const char *proto = policy_protocol_name(x->protocol, pbuf, sizeof(pbuf));
		snprintf(sp, sizeof(sp), "%u", x->src_port);
		snprintf(dp, sizeof(dp), "%u", x->dst_port);
		snprintf(w, sizeof(w), "%u", x->weight);
		const char *policy = what == VIEW_MMFILTER ? r->mmpolicy : none_if_empty(r->qmpolicy);
		if (j) {
			json_object_begin(j, NULL);
			json_string(j, "name", name);
			json_u64(j, "rule_id", r->id);
			json_bool(j, "dynamic", r->dynamic);
			json_string(j, "direction", x->inbound ? "inbound" : "outbound");
			json_string(j, "srcaddr", src);
			json_string(j, "dstaddr", dst);
			if (what == VIEW_QMFILTER) {
				json_u64(j, "protocol", x->protocol);
				json_u64(j, "srcport", x->src_port);
				json_u64(j, "dstport", x->dst_port);
				json_string(j, "action", action_word(x->action));
				json_string(j, "qmpolicy", policy);
			} else {
				json_string(j, "mmpolicy", policy);
				json_auth(j, &r->auth);
			}
			json_bool(j, "tunnel", x->tunnel);
			json_u64(j, "weight", x->weight);
			json_object_end(j);
		} else if (t) {
			const char *type = r->dynamic ? "Dynamic" : "Static", *dir = x->inbound ? "In"
			                                                                         : "Out";
			const char *row[] = { name, type, dir, src, dst, proto, sp, dp,
			                      policy_action_name(x->action), w, policy };
			const char *mrow[] = { name, type, dir, src, dst, w, policy };
			table_row(t, what == VIEW_MMFILTER ? mrow : row);
		} else {
			char auth[1024];
			list_header(f, what == VIEW_MMFILTER ? "Specific Main Mode Filter"
			                                     : "Specific Quick Mode Filter");
			list_field(f, "Filter Name", "%s", name);
			list_field(f, "Dynamic", "%s", yesno(r->dynamic));
			list_field(f, "Direction", "%s", x->inbound ? "Inbound" : "Outbound");
			list_field(f, "Source Address", "%s", src);
			list_field(f, "Destination Address", "%s", dst);
			if (what == VIEW_QMFILTER) {
				list_field(f, "Protocol", "%s", proto);
				list_field(f, "Source Port", "%s", sp);
				list_field(f, "Destination Port", "%s", dp);
				list_field(f, "Action", "%s", policy_action_name(x->action));
				list_field(f, "Negotiation Policy", "%s", policy);
			} else {
				list_field(f, "IKE Policy", "%s", policy);
				auth_text(&r->auth, auth, sizeof(auth));
				list_field(f, "Authentication Methods", "%s", auth);
			}
			list_field(f, "Tunnel", "%s", yesno(x->tunnel));
			list_field(f, "Weight", "%s", w);
			fputc('\n', f);
		}
	}
	free(sf);
	if (j) {
		json_array_end(j);
	} else if (shown == 0) {
		fprintf(f, "%s\n", view_none[what]);
	} else {
		if (t)
			table_print(f, t, o->wide);
		fprintf(f, "%zu %s\n", shown, view_names[what]);
	}
	table_free(t);
	return true;
}

static bool show_view_run(struct netsh_session *ns, const struct args *a, struct diag *d,
                          enum rule_view what)
{
	struct view_opts o;
	struct selector s;
	struct views v;
	if (!view_opts(a, what != VIEW_RULE, &o, d) ||
	    !parse_selector(ns, a, what == VIEW_RULE, &s, d) || !views_load(ns, &v, d))
		return false;
	struct json j;
	if (o.format == NETSH_FORMAT_JSON) {
		json_init(&j, ns->out);
		json_object_begin(&j, NULL);
		if (what != VIEW_RULE)
			json_string(&j, "type", o.specific ? "specific" : "generic");
	}
	bool ok = true;
	if (o.specific)
		ok = show_specific(ns, &v, &s, &o, what, o.format == NETSH_FORMAT_JSON ? &j : NULL, d);
	else
		show_generic(ns->out, &v, &s, &o, what, o.format == NETSH_FORMAT_JSON ? &j : NULL);
	if (o.format == NETSH_FORMAT_JSON) {
		json_object_end(&j);
		json_finish(&j);
	}
	views_free(&v);
	return ok;
}

static bool show_rule_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	return show_view_run(ns, a, d, VIEW_RULE);
}

static bool show_mmfilter_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	return show_view_run(ns, a, d, VIEW_MMFILTER);
}

static bool show_qmfilter_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	return show_view_run(ns, a, d, VIEW_QMFILTER);
}

/* ---- show all ---- */

/* `show all`'s SAs and counters, as their own commands print them: in
 * text, one after the other; in JSON (j), each view's document as the
 * member of its name. */
static void monitor_views(struct netsh_session *ns, FILE *f, struct json *j)
{
	static const char *const views[] = { "mmsas", "qmsas", "stats" };
	if (!ns->dynamic->show_monitor)
		return;
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
		struct netsh_show q = { .object = views[i], .type = "all",
		                        .format = j ? NETSH_FORMAT_JSON : NETSH_FORMAT_LIST };
		if (!j) {
			ns->dynamic->show_monitor(ns->dynamic->ctx, f, &q);
			fputc('\n', f);
			continue;
		}
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		if (!m)
			continue;
		ns->dynamic->show_monitor(ns->dynamic->ctx, m, &q);
		if (fclose(m) == 0)
			json_raw(j, views[i], buf, len);
		free(buf);
	}
}

static bool show_all_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	struct view_opts o;
	struct views v;
	struct selector s;
	memset(&s, 0, sizeof(s));
	s.tunnel = -1;
	if (!view_opts(a, false, &o, d) || !views_load(ns, &v, d))
		return false;
	FILE *f = ns->out;
	size_t n = 0;
	if (o.format == NETSH_FORMAT_JSON) {
		struct json j;
		json_init(&j, f);
		json_object_begin(&j, NULL);
		json_object_begin(&j, "config");
		show_config_json(ns, &j);
		json_object_end(&j);
		show_mm(f, &v, NULL, &o, &j, &n);
		show_qm(f, &v, NULL, &o, &j, &n);
		show_generic(f, &v, &s, &o, VIEW_MMFILTER, &j);
		show_generic(f, &v, &s, &o, VIEW_QMFILTER, &j);
		show_generic(f, &v, &s, &o, VIEW_RULE, &j);
		monitor_views(ns, f, &j);
		json_object_end(&j);
		json_finish(&j);
		views_free(&v);
		return true;
	}
	show_config_text(ns);
	fputc('\n', f);
	show_mm(f, &v, NULL, &o, NULL, &n);
	fprintf(f, n ? "%zu Main Mode Policy(s)\n\n" : "No main mode policies found.\n\n", n);
	n = 0;
	show_qm(f, &v, NULL, &o, NULL, &n);
	fprintf(f, n ? "%zu Quick Mode Policy(s)\n\n" : "No quick mode policies found.\n\n", n);
	show_generic(f, &v, &s, &o, VIEW_MMFILTER, NULL);
	fputc('\n', f);
	show_generic(f, &v, &s, &o, VIEW_QMFILTER, NULL);
	fputc('\n', f);
	views_free(&v);
	monitor_views(ns, f, NULL);
	return true;
}

/* ---- delete mmsas / qmsas ---- */

static bool delete_sas_run(struct netsh_session *ns, const struct args *a, struct diag *d,
                           bool children)
{
	if (!ns->dynamic || !ns->dynamic->delete_sas)
		return diag_error(d, ERR_SERVICE, "The IPsec service is not running.");
	const char *src = arg(a, "srcaddr"), *dst = arg(a, "dstaddr");
	struct ip_address sa, da;
	bool all = (!src || is_all(src)) && !dst;
	if (!all) {
		if (src && !is_all(src) && !policy_parse_ip(src, &sa))
			return diag_bad_value(d, "srcaddr", src, "all, or one IPv4 or IPv6 address");
		if (dst && !policy_parse_ip(dst, &da))
			return diag_bad_value(d, "dstaddr", dst, "one IPv4 or IPv6 address");
	}
	size_t n = ns->dynamic->delete_sas(ns->dynamic->ctx, children,
	                                   !all && src && !is_all(src) ? &sa : NULL,
	                                   !all && dst ? &da : NULL);
	(void)n;   /* silent on success, as every delete (§5.1) */
	return true;
}

static bool delete_mmsas_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	return delete_sas_run(ns, a, d, false);
}

static bool delete_qmsas_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	return delete_sas_run(ns, a, d, true);
}

/* ---- the command table's part ---- */

#define AUTH_PARAMS \
	{ "kerberos", PF_AUTH, "yes|no" }, { "psk", PF_AUTH, "<preshared key>" }, \
	{ "rootca", PF_AUTH, "\"<CA DN> certmap:yes|no excludecaname:yes|no\"" }
#define VIEW_PARAMS \
	{ "format", PF_NAMED, "list|table|json" }, { "wide", PF_NAMED, "yes|no" }, \
	{ "resolvedns", PF_NAMED, "yes|no" }

static const struct param_spec p_add_mmpolicy[] = {
	{ "name", PF_REQUIRED, "<string>" }, { "qmpermm", 0, "<integer>" },
	{ "mmlifetime", 0, "<minutes>" }, { "softsaexpirationtime", 0, "<seconds>" },
	{ "mmsecmethods", 0, "\"ConfAlg-HashAlg-GroupNum ...\"" },
};
static const struct param_spec p_add_qmpolicy[] = {
	{ "name", PF_REQUIRED, "<string>" }, { "soft", 0, "yes|no" },
	{ "pfsgroup", 0, "grp1|grp2|grp3|grpmm|nopfs" },
	{ "qmsecmethods", 0, "\"neg#1 neg#2 ...\"" },
};
static const struct param_spec p_name_or_all[] = {
	{ "name", 0, "<string>|all" },
};
static const struct param_spec p_show_policy[] = {
	{ "name", 0, "<string>|all" }, VIEW_PARAMS,
};
static const struct param_spec p_add_rule[] = {
	{ "srcaddr", PF_REQUIRED, "<address>|me|any|dns|wins|dhcp|gateway" },
	{ "dstaddr", PF_REQUIRED, "<address>|me|any|dns|wins|dhcp|gateway" },
	{ "mmpolicy", PF_REQUIRED, "<string>" }, { "qmpolicy", 0, "<string>" },
	{ "protocol", 0, "any|icmp|tcp|udp|raw|<0-255>" }, { "srcport", 0, "<port>" },
	{ "dstport", 0, "<port>" }, { "mirrored", 0, "yes|no" },
	{ "conntype", 0, "lan|dialup|all" }, { "actioninbound", 0, "permit|block|negotiate" },
	{ "actionoutbound", 0, "permit|block|negotiate" }, { "srcmask", 0, "<mask>|<prefix>" },
	{ "dstmask", 0, "<mask>|<prefix>" }, { "tunneldstaddress", 0, "<address>|<dns name>" },
	AUTH_PARAMS,
};
/* The identification tuple first (§4.5: all required), then the settings. */
#define RULE_ID_PARAMS \
	{ "srcaddr", PF_REQUIRED, "<address>|me|any|dns|wins|dhcp|gateway" }, \
	{ "dstaddr", PF_REQUIRED, "<address>|me|any|dns|wins|dhcp|gateway" }, \
	{ "protocol", PF_REQUIRED, "any|icmp|tcp|udp|raw|<0-255>" }, \
	{ "srcport", PF_REQUIRED, "<port>" }, { "dstport", PF_REQUIRED, "<port>" }, \
	{ "mirrored", PF_REQUIRED, "yes|no" }, { "conntype", PF_REQUIRED, "lan|dialup|all" }, \
	{ "srcmask", 0, "<mask>|<prefix>" }, { "dstmask", 0, "<mask>|<prefix>" }, \
	{ "tunneldstaddress", 0, "<address>|<dns name>" }
static const struct param_spec p_set_rule[] = {
	RULE_ID_PARAMS, { "mmpolicy", 0, "<string>" }, { "qmpolicy", 0, "<string>" },
	{ "actioninbound", 0, "permit|block|negotiate" },
	{ "actionoutbound", 0, "permit|block|negotiate" }, AUTH_PARAMS,
};
static const struct param_spec p_delete_rule[] = { RULE_ID_PARAMS };
static const struct param_spec p_show_rule[] = {
	{ "type", 0, "transport|tunnel" }, { "srcaddr", 0, "<address>" },
	{ "dstaddr", 0, "<address>" }, { "srcmask", 0, "<mask>" }, { "dstmask", 0, "<mask>" },
	{ "protocol", 0, "<protocol>" }, { "srcport", 0, "<port>" }, { "dstport", 0, "<port>" },
	{ "actioninbound", 0, "permit|block|negotiate" },
	{ "actionoutbound", 0, "permit|block|negotiate" }, VIEW_PARAMS,
};
static const struct param_spec p_show_mmfilter[] = {
	{ "name", 0, "<string>|all" }, { "type", 0, "generic|specific" },
	{ "srcaddr", 0, "<address>" }, { "dstaddr", 0, "<address>" }, { "srcmask", 0, "<mask>" },
	{ "dstmask", 0, "<mask>" }, VIEW_PARAMS,
};
static const struct param_spec p_show_qmfilter[] = {
	{ "name", 0, "<string>|all" }, { "type", 0, "generic|specific" },
	{ "srcaddr", 0, "<address>" }, { "dstaddr", 0, "<address>" }, { "srcmask", 0, "<mask>" },
	{ "dstmask", 0, "<mask>" }, { "protocol", 0, "<protocol>" }, { "srcport", 0, "<port>" },
	{ "dstport", 0, "<port>" }, { "actioninbound", 0, "permit|block|negotiate" },
	{ "actionoutbound", 0, "permit|block|negotiate" }, VIEW_PARAMS,
};
static const struct param_spec p_show_all[] = { VIEW_PARAMS };
static const struct param_spec p_delete_sas[] = {
	{ "srcaddr", 0, "all|<address>" }, { "dstaddr", 0, "<address>" },
};

#define N(p) (sizeof(p) / sizeof((p)[0]))
const struct command_spec dynamic_spd_commands[] = {
	{ "add", "mmpolicy", p_add_mmpolicy, N(p_add_mmpolicy), add_mmpolicy_run, CMD_NONE,
	  "Adds a main mode (IKE) policy to the running service." },
	{ "set", "mmpolicy", p_add_mmpolicy, N(p_add_mmpolicy), set_mmpolicy_run, CMD_NONE,
	  "Changes a dynamic main mode policy." },
	{ "delete", "mmpolicy", p_name_or_all, N(p_name_or_all), delete_mmpolicy_run, CMD_NONE,
	  "Deletes a dynamic main mode policy (not while a rule uses it)." },
	{ "show", "mmpolicy", p_show_policy, N(p_show_policy), show_mmpolicy_run, CMD_NONE,
	  "Shows the main mode policies in force." },
	{ "add", "qmpolicy", p_add_qmpolicy, N(p_add_qmpolicy), add_qmpolicy_run, CMD_NONE,
	  "Adds a quick mode (negotiation) policy to the running service." },
	{ "set", "qmpolicy", p_add_qmpolicy, N(p_add_qmpolicy), set_qmpolicy_run, CMD_NONE,
	  "Changes a dynamic quick mode policy." },
	{ "delete", "qmpolicy", p_name_or_all, N(p_name_or_all), delete_qmpolicy_run, CMD_NONE,
	  "Deletes a dynamic quick mode policy (not while a rule uses it)." },
	{ "show", "qmpolicy", p_show_policy, N(p_show_policy), show_qmpolicy_run, CMD_NONE,
	  "Shows the quick mode policies in force." },
	{ "add", "rule", p_add_rule, N(p_add_rule), add_rule_run, CMD_NONE,
	  "Adds a dynamic rule: in force at once, lost when the service stops." },
	{ "set", "rule", p_set_rule, N(p_set_rule), set_rule_run, CMD_NONE,
	  "Changes a dynamic rule, named by its identification tuple." },
	{ "delete", "rule", p_delete_rule, N(p_delete_rule), delete_rule_run, CMD_NONE,
	  "Deletes a dynamic rule, named by its identification tuple." },
	{ "show", "rule", p_show_rule, N(p_show_rule), show_rule_run, CMD_NONE,
	  "Shows the rules in force: the assigned policy's and the dynamic ones." },
	{ "show", "mmfilter", p_show_mmfilter, N(p_show_mmfilter), show_mmfilter_run, CMD_NONE,
	  "Shows the main mode filters, generic (as written) or specific (expanded)." },
	{ "show", "qmfilter", p_show_qmfilter, N(p_show_qmfilter), show_qmfilter_run, CMD_NONE,
	  "Shows the quick mode filters, generic (as written) or specific (expanded)." },
	{ "delete", "all", NULL, 0, delete_all_run, CMD_NONE,
	  "Deletes every dynamic rule and policy (not the static policy, not the config)." },
	{ "show", "all", p_show_all, N(p_show_all), show_all_run, CMD_NONE,
	  "Shows the configuration, policies, filters, SAs and statistics." },
	{ "delete", "mmsas", p_delete_sas, N(p_delete_sas), delete_mmsas_run, CMD_NONE,
	  "Deletes IKE SAs and their Child SAs (all, or with an address), telling the peers." },
	{ "delete", "qmsas", p_delete_sas, N(p_delete_sas), delete_qmsas_run, CMD_NONE,
	  "Deletes Child SAs (all, or with an address), telling the peers." },
};
const size_t dynamic_spd_command_count = N(dynamic_spd_commands);
