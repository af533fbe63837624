/*
 * `netsh ipsec static`: the command table and the add / set / delete
 * handlers (netsh-ipsec.md §3). Handlers parse values through the policy
 * module, change the store and print nothing on success; the caller wraps
 * each one in a transaction (or a savepoint of the batch transaction).
 */
#include "netsh/internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <strings.h>

#define NP(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_RESOLVED 16

static bool is_all(const char *v)
{
	return v && strcasecmp(v, "all") == 0;
}

static enum crypto_profile profile(struct netsh_session *ns)
{
	return store_crypto_profile(ns->store);
}

static bool set_text(char *dst, size_t len, const char *tag, const char *v, bool is_name,
                     struct diag *d)
{
	if (!v)
		return true;
	if (is_name ? !policy_validate_name(tag, v, d) : !policy_validate_description(tag, v, d))
		return false;
	snprintf(dst, len, "%s", v);
	return true;
}

static bool set_bool(bool *dst, const char *tag, const char *v, struct diag *d)
{
	return !v || policy_parse_bool(tag, v, dst, d);
}

static bool set_uint(uint32_t *dst, const char *tag, const char *v, uint32_t min,
                     uint32_t max, struct diag *d)
{
	return !v || policy_parse_uint(tag, v, min, max, dst, d);
}

/* The authentication tags of a command, in order; false if none were given. */
static bool take_auth(const struct args *a, struct auth_methods *am, struct diag *d)
{
	if (a->nauth == 0)
		return true;
	memset(am, 0, sizeof(*am));
	for (size_t i = 0; i < a->nauth; i++) {
		/* psk given twice: the later key replaces the earlier one in place. */
		if (a->auth[i].kind == AUTH_PSK) {
			bool replaced = false;
			for (size_t j = 0; j < am->n; j++)
				if (am->m[j].kind == AUTH_PSK) {
					struct auth_methods one = { .n = 0 };
					if (!policy_auth_add(&one, AUTH_PSK, a->auth[i].value, d))
						return false;
					am->m[j] = one.m[0];
					replaced = true;
				}
			if (replaced)
				continue;
		}
		if (!policy_auth_add(am, a->auth[i].kind, a->auth[i].value, d))
			return false;
	}
	if (am->n == 0)
		return diag_error(d, ERR_BAD_VALUE, "'kerberos=no' leaves no authentication method. "
		                  "Allowed: at least one of kerberos=yes, psk, rootca.");
	return true;
}

/* An address value: literal, keyword or DNS name resolved now (§2.1). */
static bool parse_addresses(struct netsh_session *ns, const char *tag, const char *text,
                            struct filter_addr *out, size_t *n, bool *dns, struct diag *d)
{
	enum addr_parse r = policy_parse_address(tag, text, &out[0], d);
	*n = 1;
	*dns = r == ADDR_PARSE_DNS_NAME;
	if (r == ADDR_PARSE_ERROR)
		return false;
	if (r == ADDR_PARSE_OK)
		return true;
	struct ip_address ips[MAX_RESOLVED];
	size_t got = ns->resolve ? ns->resolve(text, ips, MAX_RESOLVED) : 0;
	if (got == 0)
		return diag_error(d, ERR_DNS, "The DNS name '%.200s' could not be resolved.", text);
	for (size_t i = 0; i < got; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].kind = ADDR_HOST_OR_SUBNET;
		out[i].ip = ips[i];
		out[i].prefix = ips[i].family == AF_INET ? 32 : 128;
	}
	*n = got;
	return true;
}

static bool parse_tunnel(struct netsh_session *ns, const char *v, struct rule *r,
                         struct diag *d)
{
	if (!v)
		return true;
	if (!strcmp(v, "0") || !strcmp(v, "0.0.0.0") || !strcmp(v, "::")) {
		r->has_tunnel = false;   /* back to transport mode (§3.6.6) */
		memset(&r->tunnel, 0, sizeof(r->tunnel));
		return true;
	}
	if (policy_parse_ip(v, &r->tunnel)) {
		r->has_tunnel = true;
		return true;
	}
	if (!policy_is_hostname(v))
		return diag_bad_value(d, "tunnel", v, "an IPv4 or IPv6 address, a DNS name, or 0 "
		                      "for transport mode");
	struct ip_address ips[1];
	if (!ns->resolve || ns->resolve(v, ips, 1) == 0)
		return diag_error(d, ERR_DNS, "The DNS name '%.200s' could not be resolved.", v);
	r->tunnel = ips[0];
	r->has_tunnel = true;
	return true;
}

/* add ... guid=: an extension of netsh so that dumps and exports keep identities. */
static bool take_guid(const struct args *a, char out[POLICY_GUID_LEN], struct diag *d)
{
	const char *g = arg(a, "guid");
	if (!g)
		return true;
	if (!policy_parse_guid(g))
		return diag_bad_value(d, "guid", g, "a GUID such as "
		                      "{11E6E97E-0031-49F5-AC7D-5F2FE99BABAF}");
	for (size_t i = 0; i < POLICY_GUID_LEN; i++)
		out[i] = (char)toupper((unsigned char)g[i]);
	return true;
}

/* ---- filter lists and filters ------------------------------------------------------ */

static bool add_filterlist(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	struct filter_list fl;
	memset(&fl, 0, sizeof(fl));
	char guid[POLICY_GUID_LEN] = "";
	if (!set_text(fl.name, sizeof(fl.name), "name", arg(a, "name"), true, d) ||
	    !set_text(fl.description, sizeof(fl.description), "description",
	              arg(a, "description"), false, d) || !take_guid(a, guid, d))
		return false;
	/* Import replaces a same-named list in place: rules that use it stay valid. */
	if (ns->import_mode && store_filterlist_exists(ns->store, fl.name)) {
		struct filter_list old;
		if (!store_filterlist_get(ns->store, fl.name, &old, d))
			return false;
		snprintf(fl.guid, sizeof(fl.guid), "%s", old.guid);
		policy_filter_list_free(&old);
		return store_filterlist_update(ns->store, &fl, d) &&
		       store_filterlist_clear(ns->store, fl.name, d) &&
		       (!guid[0] || store_filterlist_set_guid(ns->store, fl.guid, guid, d));
	}
	memcpy(fl.guid, guid, sizeof(guid));
	return store_filterlist_add(ns->store, &fl, d);
}

struct filter_fields {
	struct filter_addr src[MAX_RESOLVED], dst[MAX_RESOLVED];
	size_t nsrc, ndst;
	bool src_dns, dst_dns;       /* the side came from a DNS name */
	struct filter_pattern pat;   /* which optional fields were given */
	struct filter base;
};

static bool parse_filter_fields(struct netsh_session *ns, const struct args *a,
                                struct filter_fields *ff, struct diag *d)
{
	const char *v;
	memset(ff, 0, sizeof(*ff));
	policy_filter_init(&ff->base);
	if (!parse_addresses(ns, "srcaddr", arg(a, "srcaddr"), ff->src, &ff->nsrc, &ff->src_dns, d) ||
	    !parse_addresses(ns, "dstaddr", arg(a, "dstaddr"), ff->dst, &ff->ndst, &ff->dst_dns, d))
		return false;
	if ((v = arg(a, "srcmask"))) {
		ff->pat.has_srcmask = true;
		for (size_t i = 0; i < ff->nsrc; i++)
			if (!policy_apply_mask("srcmask", v, &ff->src[i], d))
				return false;
	}
	if ((v = arg(a, "dstmask"))) {
		ff->pat.has_dstmask = true;
		for (size_t i = 0; i < ff->ndst; i++)
			if (!policy_apply_mask("dstmask", v, &ff->dst[i], d))
				return false;
	}
	if ((v = arg(a, "protocol"))) {
		ff->pat.has_protocol = true;
		if (!policy_parse_protocol("protocol", v, &ff->base.protocol, d))
			return false;
	}
	if ((v = arg(a, "srcport"))) {
		ff->pat.has_srcport = true;
		if (!policy_parse_port("srcport", v, &ff->base.srcport, d))
			return false;
	}
	if ((v = arg(a, "dstport"))) {
		ff->pat.has_dstport = true;
		if (!policy_parse_port("dstport", v, &ff->base.dstport, d))
			return false;
	}
	if ((v = arg(a, "mirrored"))) {
		ff->pat.has_mirrored = true;
		if (!policy_parse_bool("mirrored", v, &ff->base.mirrored, d))
			return false;
	}
	return set_text(ff->base.description, sizeof(ff->base.description), "description",
	                arg(a, "description"), false, d);
}

/* A DNS name with IPv4 and IPv6 addresses pairs each only with its own family. */
static bool cross_family(const struct filter_fields *ff, size_t i, size_t j)
{
	const struct filter_addr *s = &ff->src[i], *t = &ff->dst[j];
	return (ff->src_dns || ff->dst_dns) && s->kind == ADDR_HOST_OR_SUBNET &&
	       t->kind == ADDR_HOST_OR_SUBNET && s->ip.family != t->ip.family;
}

static bool add_filter(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	struct filter_fields *ff = malloc(sizeof(*ff));
	const char *list = arg(a, "filterlist");
	bool ok = ff && policy_validate_name("filterlist", list, d) &&
	          parse_filter_fields(ns, a, ff, d);
	/* `add filter` creates the list when it does not exist (§3.2). */
	if (ok && !store_filterlist_exists(ns->store, list)) {
		struct filter_list fl;
		memset(&fl, 0, sizeof(fl));
		snprintf(fl.name, sizeof(fl.name), "%s", list);
		ok = store_filterlist_add(ns->store, &fl, d);
	}
	size_t added = 0;
	for (size_t i = 0; ok && i < ff->nsrc; i++)
		for (size_t j = 0; ok && j < ff->ndst; j++) {
			struct filter f = ff->base;
			f.src = ff->src[i];
			f.dst = ff->dst[j];
			if (cross_family(ff, i, j))
				continue;
			ok = policy_validate_filter(&f, d) && store_filter_add(ns->store, list, &f, d);
			added++;
		}
	if (ok && added == 0)
		ok = diag_error(d, ERR_BAD_VALUE, "'%s' is not a valid value for 'dstaddr' with "
		                "srcaddr=%s: no address of the same family. Allowed: both IPv4 or "
		                "both IPv6.", arg(a, "dstaddr"), arg(a, "srcaddr"));
	free(ff);
	return ok;
}

static bool delete_filter(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	struct filter_fields *ff = malloc(sizeof(*ff));
	bool ok = ff && parse_filter_fields(ns, a, ff, d);
	if (ok && !store_filterlist_exists(ns->store, arg(a, "filterlist")))
		ok = diag_error(d, ERR_NO_FILTERLIST, "Filter list '%s' does not exist.",
		                arg(a, "filterlist"));
	size_t deleted = 0;
	for (size_t i = 0; ok && i < ff->nsrc; i++)
		for (size_t j = 0; ok && j < ff->ndst; j++) {
			struct filter_pattern p = ff->pat;
			p.src = ff->src[i];
			p.dst = ff->dst[j];
			p.protocol = ff->base.protocol;
			p.srcport = ff->base.srcport;
			p.dstport = ff->base.dstport;
			p.mirrored = ff->base.mirrored;
			if (cross_family(ff, i, j))
				continue;
			struct diag none;
			diag_init(&none);
			deleted += store_filter_delete(ns->store, arg(a, "filterlist"), &p, &none);
			if (none.code != ERR_NO_FILTER && diag_failed(&none))
				ok = diag_error(d, none.code, "%s", none.msg);
		}
	free(ff);
	if (ok && deleted == 0)
		return diag_error(d, ERR_NO_FILTER, "No filter in '%s' matches the given "
		                  "specification.", arg(a, "filterlist"));
	return ok;
}

/* name= or guid= (exactly one) for set policy/filterlist/filteraction. */
static bool identify(const struct args *a, const char **name, const char **guid,
                     struct diag *d)
{
	*name = arg(a, "name");
	*guid = arg(a, "guid");
	if (!*name && !*guid)
		return diag_error(d, ERR_MISSING_TAG, "The required parameter 'name' was not "
		                  "specified (or give 'guid').");
	if (*name && *guid)
		return diag_error(d, ERR_BAD_TAG, "The parameter 'guid' is not valid together "
		                  "with 'name'. Allowed: one of name or guid.");
	if (*guid && !policy_parse_guid(*guid))
		return diag_bad_value(d, "guid", *guid, "a GUID such as "
		                      "{11E6E97E-0031-49F5-AC7D-5F2FE99BABAF}");
	return true;
}

static bool set_filterlist(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	const char *name, *guid;
	struct filter_list fl;
	if (!identify(a, &name, &guid, d))
		return false;
	if (guid) {
		struct filter_list *all;
		size_t n;
		if (!store_filterlists_load(ns->store, &all, &n, d))
			return false;
		size_t i = 0;
		while (i < n && strcasecmp(all[i].guid, guid) != 0)
			i++;
		bool found = i < n;
		if (found)
			snprintf(fl.name, sizeof(fl.name), "%s", all[i].name);
		store_filterlists_free(all, n);
		if (!found)
			return diag_error(d, ERR_NO_FILTERLIST, "Filter list '%s' does not exist.", guid);
		name = fl.name;
	}
	char key[POLICY_NAME_MAX];
	snprintf(key, sizeof(key), "%s", name);
	if (!store_filterlist_get(ns->store, key, &fl, d))
		return false;
	policy_filter_list_free(&fl);
	return set_text(fl.name, sizeof(fl.name), "newname", arg(a, "newname"), true, d) &&
	       set_text(fl.description, sizeof(fl.description), "description",
	                arg(a, "description"), false, d) &&
	       store_filterlist_update(ns->store, &fl, d);
}

static bool delete_each(struct netsh_session *ns, const struct args *a, struct diag *d,
                        bool lists)
{
	const char *name = arg(a, "name");
	if (!name)
		return diag_error(d, ERR_MISSING_TAG, "The required parameter 'name' was not "
		                  "specified (or give 'all').");
	if (!is_all(name))
		return lists ? store_filterlist_delete(ns->store, name, d)
		             : store_filteraction_delete(ns->store, name, d);
	/* `all` skips the objects that rules still use and reports them. */
	size_t n;
	char (*names)[POLICY_NAME_MAX] = NULL;
	if (lists) {
		struct filter_list *fl;
		if (!store_filterlists_load(ns->store, &fl, &n, d))
			return false;
		names = calloc(n ? n : 1, sizeof(*names));
		for (size_t i = 0; names && i < n; i++)
			snprintf(names[i], sizeof(names[i]), "%s", fl[i].name);
		store_filterlists_free(fl, n);
	} else {
		struct filter_action *fa;
		if (!store_filteractions_load(ns->store, &fa, &n, d))
			return false;
		names = calloc(n ? n : 1, sizeof(*names));
		for (size_t i = 0; names && i < n; i++)
			snprintf(names[i], sizeof(names[i]), "%s", fa[i].name);
		free(fa);
	}
	if (!names)
		return diag_error(d, ERR_STORE, "Out of memory.");
	bool ok = true;
	for (size_t i = 0; ok && i < n; i++) {
		char rule[POLICY_NAME_MAX], pol[POLICY_NAME_MAX];
		bool used = lists ? store_filterlist_in_use(ns->store, names[i], rule, pol, sizeof(rule))
		                  : store_filteraction_in_use(ns->store, names[i], rule, pol, sizeof(rule));
		if (used)
			diag_warn(d, "'%.60s' is used by rule '%.40s' in policy '%.40s' and was not "
			          "deleted.", names[i], rule, pol);
		else
			ok = lists ? store_filterlist_delete(ns->store, names[i], d)
			           : store_filteraction_delete(ns->store, names[i], d);
	}
	free(names);
	return ok;
}

static bool delete_filterlist(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	return delete_each(ns, a, d, true);
}

static bool delete_filteraction(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	return delete_each(ns, a, d, false);
}

/* ---- filter actions ------------------------------------------------------------------ */

static bool apply_filteraction_args(struct netsh_session *ns, const struct args *a,
                                    struct filter_action *fa, struct diag *d)
{
	const char *v;
	if (!set_text(fa->description, sizeof(fa->description), "description",
	              arg(a, "description"), false, d) ||
	    !set_bool(&fa->qmpfs, "qmpfs", arg(a, "qmpfs"), d) ||
	    !set_bool(&fa->inpass, "inpass", arg(a, "inpass"), d) ||
	    !set_bool(&fa->soft, "soft", arg(a, "soft"), d))
		return false;
	if ((v = arg(a, "action")) && !policy_parse_action("action", v, &fa->action, d))
		return false;
	if ((v = arg(a, "qmsecmethods")) && !policy_parse_qmsec("qmsecmethods", v, &fa->methods, d))
		return false;
	/* A negotiating action always has offers: the profile's when none were given. */
	if (fa->action == ACTION_NEGOTIATE && fa->methods.n == 0)
		policy_default_qmsec(profile(ns), &fa->methods);
	return policy_validate_filter_action(fa, d);
}

static bool add_filteraction(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	struct filter_action fa;
	memset(&fa, 0, sizeof(fa));
	fa.action = ACTION_NEGOTIATE;
	char guid[POLICY_GUID_LEN] = "";
	if (!set_text(fa.name, sizeof(fa.name), "name", arg(a, "name"), true, d) ||
	    !apply_filteraction_args(ns, a, &fa, d) || !take_guid(a, guid, d))
		return false;
	if (ns->import_mode) {
		struct filter_action old;
		struct diag none;
		diag_init(&none);
		if (store_filteraction_get(ns->store, fa.name, &old, &none)) {
			snprintf(fa.guid, sizeof(fa.guid), "%s", old.guid);
			return store_filteraction_update(ns->store, &fa, d) &&
			       (!guid[0] || store_filteraction_set_guid(ns->store, fa.guid, guid, d));
		}
	}
	memcpy(fa.guid, guid, sizeof(guid));
	return store_filteraction_add(ns->store, &fa, d);
}

static bool set_filteraction(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	const char *name, *guid;
	struct filter_action fa;
	if (!identify(a, &name, &guid, d))
		return false;
	if (guid) {
		struct filter_action *all;
		size_t n, i = 0;
		if (!store_filteractions_load(ns->store, &all, &n, d))
			return false;
		while (i < n && strcasecmp(all[i].guid, guid) != 0)
			i++;
		bool found = i < n;
		if (found)
			fa = all[i];
		free(all);
		if (!found)
			return diag_error(d, ERR_NO_FILTERACTION, "Filter action '%s' does not exist.",
			                  guid);
	} else if (!store_filteraction_get(ns->store, name, &fa, d)) {
		return false;
	}
	return set_text(fa.name, sizeof(fa.name), "newname", arg(a, "newname"), true, d) &&
	       apply_filteraction_args(ns, a, &fa, d) &&
	       store_filteraction_update(ns->store, &fa, d);
}

/* ---- policies ---------------------------------------------------------------------------- */

static bool apply_policy_args(const struct args *a, struct policy *p, struct diag *d)
{
	const char *v;
	if (!set_text(p->description, sizeof(p->description), "description",
	              arg(a, "description"), false, d) ||
	    !set_bool(&p->mmpfs, "mmpfs", arg(a, "mmpfs"), d) ||
	    !set_uint(&p->qmpermm, "qmpermm", arg(a, "qmpermm"), 0, 0xffffffffu, d) ||
	    !set_uint(&p->mmlifetime, "mmlifetime", arg(a, "mmlifetime"), POLICY_MMLIFE_MIN,
	              POLICY_MMLIFE_MAX, d) ||
	    !set_uint(&p->pollinginterval, "pollinginterval", arg(a, "pollinginterval"),
	              POLICY_POLLING_MIN, POLICY_POLLING_MAX, d))
		return false;
	if ((v = arg(a, "mmsecmethods")) && !policy_parse_mmsec("mmsecmethods", v, &p->mm, d))
		return false;
	return policy_validate_policy(p, d);
}

static bool add_policy(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	struct policy p;
	struct rule def;
	bool active = true, assign = false;
	policy_policy_init(&p, profile(ns));
	policy_default_rule_init(&def, profile(ns));
	if (!set_text(p.name, sizeof(p.name), "name", arg(a, "name"), true, d) ||
	    !take_guid(a, p.guid, d) || !apply_policy_args(a, &p, d) ||
	    !set_bool(&active, "activatedefaultrule", arg(a, "activatedefaultrule"), d) ||
	    !set_bool(&assign, "assign", arg(a, "assign"), d))
		return false;
	def.active = active;
	p.rules = &def;
	p.nrules = 1;
	p.assigned = assign;
	if (ns->import_mode) {
		struct diag none;
		diag_init(&none);
		store_policy_delete(ns->store, p.name, &none);   /* replaced whole */
	}
	return store_policy_add(ns->store, &p, d);
}

static bool find_policy(struct netsh_session *ns, const struct args *a, struct policy *p,
                        struct diag *d)
{
	const char *name, *guid;
	if (!identify(a, &name, &guid, d))
		return false;
	return guid ? store_policy_get_by_guid(ns->store, guid, p, d)
	            : store_policy_get(ns->store, name, p, d);
}

static bool set_policy(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	struct policy p;
	bool active, assign;
	if (arg(a, "gponame"))
		return diag_error(d, ERR_BAD_TAG, "The parameter 'gponame' is not valid for this "
		                  "command in the %s store. Allowed: only in the domain store.",
		                  ns->location == LOCATION_LOCAL ? "local" : "persistent");
	if (!find_policy(ns, a, &p, d))
		return false;
	struct rule *def = &p.rules[p.nrules - 1];
	active = def->active;
	bool ok = set_text(p.name, sizeof(p.name), "newname", arg(a, "newname"), true, d) &&
	          apply_policy_args(a, &p, d) &&
	          set_bool(&active, "activatedefaultrule", arg(a, "activatedefaultrule"), d) &&
	          store_policy_update(ns->store, &p, d);
	if (ok && active != def->active) {
		def->active = active;
		ok = store_rule_update(ns->store, p.name, def, d);
	}
	if (ok && arg(a, "assign") && (ok = set_bool(&assign, "assign", arg(a, "assign"), d)))
		ok = store_policy_assign(ns->store, p.name, assign, d);
	policy_free(&p);
	return ok;
}

static bool delete_policy(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	const char *name = arg(a, "name");
	if (!name)
		return diag_error(d, ERR_MISSING_TAG, "The required parameter 'name' was not "
		                  "specified (or give 'all').");
	if (!is_all(name))
		return store_policy_delete(ns->store, name, d);
	struct policy *all;
	size_t n;
	bool ok = store_policies_load(ns->store, &all, &n, d);
	for (size_t i = 0; ok && i < n; i++)
		ok = store_policy_delete(ns->store, all[i].name, d);
	store_policies_free(all, n);
	return ok;
}

/* ---- rules ------------------------------------------------------------------------------------ */

static bool check_tunnel(struct netsh_session *ns, const struct rule *r, struct diag *d)
{
	if (!r->has_tunnel || r->is_default)
		return true;
	struct filter_list fl;
	if (!store_filterlist_get(ns->store, r->filterlist, &fl, d))
		return false;
	bool ok = policy_validate_tunnel_filters(&fl, d);
	policy_filter_list_free(&fl);
	return ok;
}

static bool apply_rule_args(struct netsh_session *ns, const struct args *a, struct rule *r,
                            struct diag *d)
{
	const char *v;
	if (!set_text(r->description, sizeof(r->description), "description",
	              arg(a, "description"), false, d) ||
	    !set_text(r->filterlist, sizeof(r->filterlist), "filterlist", arg(a, "filterlist"),
	              true, d) ||
	    !set_text(r->filteraction, sizeof(r->filteraction), "filteraction",
	              arg(a, "filteraction"), true, d) ||
	    !parse_tunnel(ns, arg(a, "tunnel"), r, d) ||
	    !set_bool(&r->active, "activate", arg(a, "activate"), d) ||
	    !take_auth(a, &r->auth, d))
		return false;
	if ((v = arg(a, "conntype")) && !policy_parse_conntype("conntype", v, &r->conntype, d))
		return false;
	if (!store_filterlist_exists(ns->store, r->filterlist))
		return diag_error(d, ERR_NO_FILTERLIST, "Filter list '%s' does not exist.",
		                  r->filterlist);
	struct filter_action fa;
	return store_filteraction_get(ns->store, r->filteraction, &fa, d) &&
	       check_tunnel(ns, r, d);
}

static bool add_rule(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	struct rule r;
	struct policy p;
	policy_rule_init(&r);
	if (!set_text(r.name, sizeof(r.name), "name", arg(a, "name"), true, d) ||
	    !store_policy_get(ns->store, arg(a, "policy"), &p, d))
		return false;
	policy_free(&p);
	bool ok = apply_rule_args(ns, a, &r, d) && store_rule_add(ns->store, p.name, &r, d);
	explicit_bzero(&r, sizeof(r));
	return ok;
}

/* The rule named by name= or id= in a loaded policy (not the default rule). */
static struct rule *find_rule(const struct args *a, struct policy *p, bool allow_default,
                              struct diag *d)
{
	const char *name = arg(a, "name"), *id = arg(a, "id");
	if (!name && !id)
		return diag_error(d, ERR_MISSING_TAG, "The required parameter 'name' was not "
		                  "specified (or give 'id')."), NULL;
	uint32_t n = 0;
	if (id && !policy_parse_uint("id", id, 1, 0xffffffffu, &n, d))
		return NULL;
	for (size_t i = 0; i < p->nrules; i++) {
		struct rule *r = &p->rules[i];
		if (id ? r->id == n : (!r->is_default && strcasecmp(r->name, name) == 0)) {
			if (r->is_default && !allow_default)
				return diag_error(d, ERR_DEFAULT_RULE, "Rule %u is the default response "
				                  "rule: use 'set defaultrule'.", r->id), NULL;
			return r;
		}
	}
	diag_error(d, ERR_NO_RULE, "Rule '%s' does not exist in policy '%s'.", id ? id : name,
	           p->name);
	return NULL;
}

static bool set_rule(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	struct policy p;
	if (!store_policy_get(ns->store, arg(a, "policy"), &p, d))
		return false;
	struct rule *r = find_rule(a, &p, false, d);
	bool ok = r && set_text(r->name, sizeof(r->name), "newname", arg(a, "newname"), true, d) &&
	          apply_rule_args(ns, a, r, d) && store_rule_update(ns->store, p.name, r, d);
	policy_free(&p);
	return ok;
}

static bool set_defaultrule(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	struct policy p;
	const char *v;
	if (!store_policy_get(ns->store, arg(a, "policy"), &p, d))
		return false;
	struct rule *r = &p.rules[p.nrules - 1];
	bool ok = set_bool(&r->qmpfs, "qmpfs", arg(a, "qmpfs"), d) &&
	          set_bool(&r->active, "activate", arg(a, "activate"), d) &&
	          take_auth(a, &r->auth, d);
	if (ok && (v = arg(a, "qmsecmethods")))
		ok = policy_parse_qmsec("qmsecmethods", v, &r->methods, d);
	ok = ok && store_rule_update(ns->store, p.name, r, d);
	policy_free(&p);
	return ok;
}

static bool delete_rule(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	struct policy p;
	if (!store_policy_get(ns->store, arg(a, "policy"), &p, d))
		return false;
	bool ok = true;
	if (is_all(arg(a, "name"))) {
		for (size_t i = 0; ok && i < p.nrules; i++)
			if (!p.rules[i].is_default)
				ok = store_rule_delete(ns->store, p.name, p.rules[i].guid, d);
	} else {
		struct rule *r = find_rule(a, &p, true, d);
		ok = r && store_rule_delete(ns->store, p.name, r->guid, d);
	}
	policy_free(&p);
	return ok;
}

static bool delete_all(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	(void)a;
	return store_delete_all(ns->store, d);
}

/* ---- session settings ---------------------------------------------------------------------- */

static bool set_store(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	static const char *const where[] = { "local", "persistent", "domain" };
	int w = match_word(arg(a, "location"), where, 3);
	if (w < 0)
		return diag_bad_value(d, "location", arg(a, "location"), "local, persistent, domain");
	if (w == 2)
		return diag_error(d, ERR_STORE, "The IPsec policy store could not be opened: the "
		                  "domain store needs the directory (LDAP) support, which this "
		                  "version of secpol does not have yet.");
	if (arg(a, "domain"))
		return diag_error(d, ERR_BAD_TAG, "The parameter 'domain' is not valid for this "
		                  "command. Allowed: only with location=domain.");
	enum netsh_location loc = w == 0 ? LOCATION_LOCAL : LOCATION_PERSISTENT;
	if (loc == ns->location)
		return true;
	/* The change applies to the rest of this session (§3.6.1): finish the
	 * current store's batch, then open the other one on next use. */
	bool batch = ns->batch;
	if (!netsh_session_finish(ns))
		return diag_error(d, ERR_STORE, "The IPsec policy store could not be updated.");
	ns->location = loc;
	ns->batch = batch;
	return true;
}

static bool set_batch(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	static const char *const modes[] = { "enable", "disable" };
	int m = match_word(arg(a, "mode"), modes, 2);
	if (m < 0)
		return diag_bad_value(d, "mode", arg(a, "mode"), "enable, disable");
	/* The executor opens and commits the batch transaction around this. */
	ns->batch = m == 0;
	return true;
}

/* ---- the table ---------------------------------------------------------------------------- */

#define AUTH_PARAMS \
	{ "kerberos", PF_AUTH, "yes|no" }, { "psk", PF_AUTH, "<preshared key>" }, \
	{ "rootca", PF_AUTH, "\"<CA DN> certmap:yes|no excludecaname:yes|no\"" }
#define SHOW_PARAMS \
	{ "level", PF_NAMED, "verbose|normal" }, { "format", PF_NAMED, "list|table" }, \
	{ "wide", PF_NAMED, "yes|no" }

static const struct param_spec p_add_filterlist[] = {
	{ "name", PF_REQUIRED, "<string>" }, { "description", 0, "<string>" },
	{ "guid", PF_NAMED, "<guid>" },
};
static const struct param_spec p_add_filter[] = {
	{ "filterlist", PF_REQUIRED, "<string>" },
	{ "srcaddr", PF_REQUIRED, "me|any|dns|wins|dhcp|gateway|<address>|<range>|<dns name>" },
	{ "dstaddr", PF_REQUIRED, "me|any|dns|wins|dhcp|gateway|<address>|<range>|<dns name>" },
	{ "description", 0, "<string>" }, { "protocol", 0, "ANY|ICMP|TCP|UDP|RAW|<0-255>" },
	{ "mirrored", 0, "yes|no" }, { "srcmask", 0, "<mask>|<prefix>" },
	{ "dstmask", 0, "<mask>|<prefix>" }, { "srcport", 0, "<0-65535>" },
	{ "dstport", 0, "<0-65535>" },
};
static const struct param_spec p_delete_filter[] = {
	{ "filterlist", PF_REQUIRED, "<string>" },
	{ "srcaddr", PF_REQUIRED, "me|any|dns|wins|dhcp|gateway|<address>|<range>|<dns name>" },
	{ "dstaddr", PF_REQUIRED, "me|any|dns|wins|dhcp|gateway|<address>|<range>|<dns name>" },
	{ "protocol", 0, "ANY|ICMP|TCP|UDP|RAW|<0-255>" }, { "srcport", 0, "<0-65535>" },
	{ "dstport", 0, "<0-65535>" }, { "mirrored", 0, "yes|no" },
	{ "srcmask", 0, "<mask>|<prefix>" }, { "dstmask", 0, "<mask>|<prefix>" },
};
static const struct param_spec p_add_filteraction[] = {
	{ "name", PF_REQUIRED, "<string>" }, { "description", 0, "<string>" },
	{ "qmpfs", 0, "yes|no" }, { "inpass", 0, "yes|no" }, { "soft", 0, "yes|no" },
	{ "action", 0, "permit|block|negotiate" }, { "qmsecmethods", 0, "\"neg#1 neg#2 ...\"" },
	{ "guid", PF_NAMED, "<guid>" },
};
static const struct param_spec p_set_filteraction[] = {
	{ "name", 0, "<string>" }, { "guid", PF_NAMED, "<guid>" }, { "newname", 0, "<string>" },
	{ "description", 0, "<string>" }, { "qmpfs", 0, "yes|no" }, { "inpass", 0, "yes|no" },
	{ "soft", 0, "yes|no" }, { "action", 0, "permit|block|negotiate" },
	{ "qmsecmethods", 0, "\"neg#1 neg#2 ...\"" },
};
static const struct param_spec p_add_policy[] = {
	{ "name", PF_REQUIRED, "<string>" }, { "description", 0, "<string>" },
	{ "mmpfs", 0, "yes|no" }, { "qmpermm", 0, "<integer>" },
	{ "mmlifetime", 0, "<minutes 5-2879>" }, { "activatedefaultrule", 0, "yes|no" },
	{ "pollinginterval", 0, "<minutes>" }, { "assign", 0, "yes|no" },
	{ "mmsecmethods", 0, "\"sec#1 sec#2 ...\"" }, { "guid", PF_NAMED, "<guid>" },
};
static const struct param_spec p_set_policy[] = {
	{ "name", 0, "<string>" }, { "guid", PF_NAMED, "<guid>" }, { "newname", 0, "<string>" },
	{ "description", 0, "<string>" }, { "mmpfs", 0, "yes|no" },
	{ "qmpermm", 0, "<integer>" }, { "mmlifetime", 0, "<minutes 5-2879>" },
	{ "activatedefaultrule", 0, "yes|no" }, { "pollinginterval", 0, "<minutes>" },
	{ "assign", 0, "yes|no" }, { "gponame", PF_NAMED, "<string>" },
	{ "mmsecmethods", 0, "\"sec#1 sec#2 ...\"" },
};
static const struct param_spec p_set_filterlist[] = {
	{ "name", 0, "<string>" }, { "guid", PF_NAMED, "<guid>" }, { "newname", 0, "<string>" },
	{ "description", 0, "<string>" },
};
static const struct param_spec p_add_rule[] = {
	{ "name", PF_REQUIRED, "<string>" }, { "policy", PF_REQUIRED, "<string>" },
	{ "filterlist", PF_REQUIRED, "<string>" }, { "filteraction", PF_REQUIRED, "<string>" },
	{ "tunnel", 0, "<address>|<dns name>" }, { "conntype", 0, "lan|dialup|all" },
	{ "activate", 0, "yes|no" }, { "description", 0, "<string>" }, AUTH_PARAMS,
};
static const struct param_spec p_set_rule[] = {
	{ "name", 0, "<string>" }, { "id", PF_NAMED, "<rule ID>" },
	{ "policy", PF_REQUIRED, "<string>" }, { "newname", 0, "<string>" },
	{ "description", 0, "<string>" }, { "filterlist", 0, "<string>" },
	{ "filteraction", 0, "<string>" }, { "tunnel", 0, "<address>|<dns name>|0" },
	{ "conntype", 0, "lan|dialup|all" }, { "activate", 0, "yes|no" }, AUTH_PARAMS,
};
static const struct param_spec p_set_defaultrule[] = {
	{ "policy", PF_REQUIRED, "<string>" }, { "qmpfs", 0, "yes|no" },
	{ "activate", 0, "yes|no" }, { "qmsecmethods", 0, "\"neg#1 neg#2 ...\"" }, AUTH_PARAMS,
};
static const struct param_spec p_name_or_all[] = {
	{ "name", 0, "<string>|all" },
};
static const struct param_spec p_delete_rule[] = {
	{ "name", 0, "<string>|all" }, { "id", PF_NAMED, "<rule ID>" },
	{ "policy", PF_REQUIRED, "<string>" },
};
static const struct param_spec p_set_store[] = {
	{ "location", PF_REQUIRED, "local|persistent|domain" }, { "domain", 0, "<domain name>" },
};
static const struct param_spec p_set_batch[] = {
	{ "mode", PF_REQUIRED, "enable|disable" },
};
static const struct param_spec p_show_list[] = {
	{ "name", 0, "<string>|all" }, { "rule", PF_NAMED, "<rule name>" },
	SHOW_PARAMS, { "resolvedns", PF_NAMED, "yes|no" },
};
static const struct param_spec p_show_action[] = {
	{ "name", 0, "<string>|all" }, { "rule", PF_NAMED, "<rule name>" }, SHOW_PARAMS,
};
static const struct param_spec p_show_policy[] = {
	{ "name", 0, "<string>|all" }, SHOW_PARAMS,
};
static const struct param_spec p_show_rule[] = {
	{ "name", 0, "<string>|all|default" }, { "id", PF_NAMED, "<rule ID>" },
	{ "policy", PF_REQUIRED, "<string>" }, { "type", PF_NAMED, "tunnel|transport" },
	SHOW_PARAMS,
};
static const struct param_spec p_show_all[] = {
	{ "format", PF_NAMED, "list|table" }, { "wide", PF_NAMED, "yes|no" },
};
static const struct param_spec p_show_gpo[] = {
	{ "name", 0, "<GPO name>" },
};
static const struct param_spec p_file[] = {
	{ "file", PF_REQUIRED, "<file name>" },
};

#define CMD(verb, obj, params, fn, access, help) \
	{ verb, obj, params, NP(params), fn, access, help }
#define CMD0(verb, obj, fn, access, help) { verb, obj, NULL, 0, fn, access, help }

const struct command_spec static_commands[] = {
	CMD("add", "filter", p_add_filter, add_filter, CMD_WRITE,
	    "Adds a filter to a filter list (and creates the list if it does not exist)."),
	CMD("add", "filteraction", p_add_filteraction, add_filteraction, CMD_WRITE,
	    "Creates a filter action."),
	CMD("add", "filterlist", p_add_filterlist, add_filterlist, CMD_WRITE,
	    "Creates an empty filter list."),
	CMD("add", "policy", p_add_policy, add_policy, CMD_WRITE,
	    "Creates a policy with its main-mode settings and default response rule."),
	CMD("add", "rule", p_add_rule, add_rule, CMD_WRITE,
	    "Creates a rule linking a filter list to a filter action in a policy."),
	CMD0("delete", "all", delete_all, CMD_WRITE,
	    "Deletes every policy, filter list and filter action of the current store."),
	CMD("delete", "filter", p_delete_filter, delete_filter, CMD_WRITE,
	    "Deletes every filter of a filter list that matches the given fields."),
	CMD("delete", "filteraction", p_name_or_all, delete_filteraction, CMD_WRITE,
	    "Deletes a filter action (not one that a rule uses)."),
	CMD("delete", "filterlist", p_name_or_all, delete_filterlist, CMD_WRITE,
	    "Deletes a filter list (not one that a rule uses)."),
	CMD("delete", "policy", p_name_or_all, delete_policy, CMD_WRITE,
	    "Deletes a policy with its rules."),
	CMD("delete", "rule", p_delete_rule, delete_rule, CMD_WRITE,
	    "Deletes a rule from a policy (the default response rule cannot be deleted)."),
	CMD("exportpolicy", NULL, p_file, export_run, CMD_READ,
	    "Writes every policy, filter list and filter action of the current store to a file."),
	CMD("importpolicy", NULL, p_file, import_run, CMD_WRITE,
	    "Reads a file written by exportpolicy into the current store."),
	CMD("set", "batch", p_set_batch, set_batch, CMD_NONE,
	    "Keeps the following changes in one transaction until mode=disable."),
	CMD("set", "defaultrule", p_set_defaultrule, set_defaultrule, CMD_WRITE,
	    "Modifies the default response rule of a policy."),
	CMD("set", "filteraction", p_set_filteraction, set_filteraction, CMD_WRITE,
	    "Modifies a filter action."),
	CMD("set", "filterlist", p_set_filterlist, set_filterlist, CMD_WRITE,
	    "Modifies a filter list."),
	CMD("set", "policy", p_set_policy, set_policy, CMD_WRITE,
	    "Modifies a policy; assign=yes makes it the assigned policy."),
	CMD("set", "rule", p_set_rule, set_rule, CMD_WRITE, "Modifies a rule."),
	CMD("set", "store", p_set_store, set_store, CMD_NONE,
	    "Selects the store for the rest of this session."),
	CMD("show", "all", p_show_all, show_run, CMD_READ,
	    "Shows every policy, filter list and filter action in detail."),
	CMD("show", "filteraction", p_show_action, show_run, CMD_READ, "Shows filter actions."),
	CMD("show", "filterlist", p_show_list, show_run, CMD_READ, "Shows filter lists."),
	CMD("show", "gpoassignedpolicy", p_show_gpo, show_run, CMD_READ,
	    "Shows the policy assigned through Group Policy and which policy is in force."),
	CMD("show", "policy", p_show_policy, show_run, CMD_READ, "Shows policies."),
	CMD("show", "rule", p_show_rule, show_run, CMD_READ, "Shows the rules of a policy."),
	CMD0("show", "store", show_run, CMD_NONE, "Shows the current store."),
};
const size_t static_command_count = NP(static_commands);
