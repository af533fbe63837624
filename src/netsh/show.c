/*
 * `show` for the static store (netsh-ipsec.md §3.9, §5): policies, rules,
 * filter lists and filter actions in list or table format, normal or verbose.
 */
#include "netsh/internal.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct show_opts {
	bool verbose, table, wide;
	const struct mon_names_request *names;   /* resolvedns=yes; else NULL */
	struct mon_names_request request;
	const char *store;           /* "Local Store" / "Persistent Store" */
};

static bool parse_opts(struct netsh_session *ns, const struct args *a,
                       struct show_opts *o, struct diag *d)
{
	static const char *const levels[] = { "normal", "verbose" };
	static const char *const formats[] = { "list", "table" };
	const char *v;
	memset(o, 0, sizeof(*o));
	o->wide = true;
	o->store = ns->location == LOCATION_PERSISTENT ? "Persistent Store" : "Local Store";
	if ((v = arg(a, "level"))) {
		int i = match_word(v, levels, 2);
		if (i < 0)
			return diag_bad_value(d, "level", v, "verbose, normal");
		o->verbose = i == 1;
	}
	if ((v = arg(a, "format"))) {
		int i = match_word(v, formats, 2);
		if (i < 0)
			return diag_bad_value(d, "format", v, "list, table");
		o->table = i == 1;
	}
	if ((v = arg(a, "wide")) && !policy_parse_bool("wide", v, &o->wide, d))
		return false;
	bool resolvedns = false;
	if ((v = arg(a, "resolvedns")) && !policy_parse_bool("resolvedns", v, &resolvedns, d))
		return false;
	if (resolvedns) {
		mon_names_begin(&o->request);   /* one budget for the whole show */
		o->names = &o->request;
	}
	return true;
}

static bool is_word(const char *v, const char *w)
{
	return v && strcasecmp(v, w) == 0;
}

static void port_text(uint16_t port, char *buf, size_t len)
{
	if (port)
		snprintf(buf, len, "%u", port);
	else
		snprintf(buf, len, "ANY");
}

/* A single host's address (the only kind with a name), as the monitor
 * keeps addresses. */
static bool single_host(const struct filter_addr *a, struct mon_addr *out)
{
	if (a->kind != ADDR_HOST_OR_SUBNET || a->prefix != (a->ip.family == AF_INET6 ? 128 : 32))
		return false;
	out->family = a->ip.family;
	memcpy(out->bytes, a->ip.bytes, sizeof(out->bytes));
	return true;
}

void netsh_address_ask(const struct filter_addr *a)
{
	struct mon_addr m;
	if (single_host(a, &m))
		mon_names_ask(&m);
}

void netsh_address_text(const struct filter_addr *a, const struct mon_names_request *names,
                        char *buf, size_t len)
{
	policy_display_address(a, buf, len);
	struct mon_addr m;
	char host[MON_NAMES_NAME_MAX];
	if (names && single_host(a, &m) && mon_names_get(names, &m, host, sizeof(host))) {
		size_t used = strlen(buf);
		snprintf(buf + used, len - used, " (%s)", host);
	}
}

/* ---- filter lists ---------------------------------------------------------------------- */

static void filters_table(FILE *f, const struct filter_list *fl, const struct show_opts *o)
{
	static const char *const h[] = { "Mir", "Src Addr", "Src Mask", "Dst Addr", "Dst Mask",
	                                  "Proto", "SrcPort", "DstPort" };
	struct table *t = table_new(8, h);
	for (size_t i = 0; i < fl->nfilters; i++) {
		const struct filter *x = &fl->filters[i];
		char sa[300], sm[40], da[300], dm[40], pr[8], sp[8], dp[8];
		netsh_address_text(&x->src, o->names, sa, sizeof(sa));
		netsh_address_text(&x->dst, o->names, da, sizeof(da));
		policy_display_mask(&x->src, sm, sizeof(sm));
		policy_display_mask(&x->dst, dm, sizeof(dm));
		port_text(x->srcport, sp, sizeof(sp));
		port_text(x->dstport, dp, sizeof(dp));
		const char *row[] = { yesno(x->mirrored), sa, sm, da, dm,
		                      policy_protocol_name(x->protocol, pr, sizeof(pr)), sp, dp };
		table_row(t, row);
	}
	table_print(f, t, o->wide);
	table_free(t);
}

static void filter_list_list(FILE *f, const struct filter_list *fl, const struct show_opts *o)
{
	char when[32];
	format_time(fl->modified, when, sizeof(when));
	list_field(f, "Filter List Name", "%s", fl->name);
	list_field(f, "Description", "%s", none_if_empty(fl->description));
	list_field(f, "Store", "%s", o->store);
	list_field(f, "Last Modified", "%s", when);
	list_field(f, "GUID", "%s", fl->guid);
	list_field(f, "No. of Filters", "%zu", fl->nfilters);
	if (!o->verbose)
		return;
	/* Every name asked for before the first is waited for. */
	for (size_t i = 0; o->names && i < fl->nfilters; i++) {
		netsh_address_ask(&fl->filters[i].src);
		netsh_address_ask(&fl->filters[i].dst);
	}
	if (o->table) {
		fputc('\n', f);
		filters_table(f, fl, o);
		return;
	}
	for (size_t i = 0; i < fl->nfilters; i++) {
		const struct filter *x = &fl->filters[i];
		char buf[300], pr[8];
		fprintf(f, "\nFilter %zu\n", i + 1);
		list_field(f, "Description", "%s", none_if_empty(x->description));
		list_field(f, "Mirrored", "%s", yesno(x->mirrored));
		netsh_address_text(&x->src, o->names, buf, sizeof(buf));
		list_field(f, "Source IP Address", "%s", buf);
		policy_display_mask(&x->src, buf, sizeof(buf));
		list_field(f, "Source Mask", "%s", buf);
		netsh_address_text(&x->dst, o->names, buf, sizeof(buf));
		list_field(f, "Destination IP Address", "%s", buf);
		policy_display_mask(&x->dst, buf, sizeof(buf));
		list_field(f, "Destination Mask", "%s", buf);
		list_field(f, "Protocol", "%s", policy_protocol_name(x->protocol, pr, sizeof(pr)));
		port_text(x->srcport, buf, sizeof(buf));
		list_field(f, "Source Port", "%s", buf);
		port_text(x->dstport, buf, sizeof(buf));
		list_field(f, "Destination Port", "%s", buf);
	}
}

static void show_filter_lists(FILE *f, struct filter_list *fl, size_t n,
                              const struct show_opts *o)
{
	if (o->table && !o->verbose) {
		static const char *const h[] = { "Filter List Name", "No. of Filters", "Last Modified" };
		struct table *t = table_new(3, h);
		for (size_t i = 0; i < n; i++) {
			char cnt[24], when[32];
			snprintf(cnt, sizeof(cnt), "%zu", fl[i].nfilters);
			format_time(fl[i].modified, when, sizeof(when));
			const char *row[] = { fl[i].name, cnt, when };
			table_row(t, row);
		}
		table_print(f, t, o->wide);
		table_free(t);
	} else {
		for (size_t i = 0; i < n; i++) {
			list_header(f, "Filter List");
			filter_list_list(f, &fl[i], o);
			fputc('\n', f);
		}
	}
	fprintf(f, "%zu Filter List(s)\n", n);
}

/* ---- filter actions ------------------------------------------------------------------------ */

/* The offers of a quick-mode list (a filter action's, a dynamic qmpolicy's)
 * and of a main-mode list, as tables (static and dynamic shows alike). */
void qm_offers_table(FILE *f, const struct qm_methods *q, bool wide)
{
	static const char *const h[] = { "Protocol", "AH Integrity", "ESP Confidentiality",
	                                  "ESP Integrity", "Life (KB)", "Life (Sec)" };
	struct table *t = table_new(6, h);
	for (size_t i = 0; i < q->n; i++) {
		const struct security_method *m = &q->m[i];
		char kb[16], s[16];
		snprintf(kb, sizeof(kb), "%u", m->life_kb);
		snprintf(s, sizeof(s), "%u", m->life_s);
		const char *row[] = {
			m->ah && m->esp ? "AH+ESP" : m->ah ? "AH" : "ESP",
			m->ah ? policy_integ_name(m->ah_integ) : "NONE",
			m->esp && m->esp_conf != CONF_NONE ? policy_conf_name(m->esp_conf) : "NONE",
			m->esp && m->esp_integ != INTEG_NONE ? policy_integ_name(m->esp_integ) : "NONE",
			kb, s };
		table_row(t, row);
	}
	table_print(f, t, wide);
	table_free(t);
}

void mm_offers_table(FILE *f, const struct mm_methods *mm, bool wide)
{
	static const char *const h[] = { "Encryption", "Integrity", "DH Group" };
	struct table *t = table_new(3, h);
	for (size_t i = 0; i < mm->n; i++) {
		const char *row[] = { policy_conf_name(mm->m[i].conf), policy_integ_name(mm->m[i].hash),
		                      policy_group_label(mm->m[i].group) };
		table_row(t, row);
	}
	table_print(f, t, wide);
	table_free(t);
}

static void filter_action_list(FILE *f, const struct filter_action *fa,
                               const struct show_opts *o)
{
	char when[32];
	format_time(fa->modified, when, sizeof(when));
	list_field(f, "FilterAction Name", "%s", fa->name);
	list_field(f, "Description", "%s", none_if_empty(fa->description));
	list_field(f, "Store", "%s", o->store);
	list_field(f, "Last Modified", "%s", when);
	list_field(f, "GUID", "%s", fa->guid);
	list_field(f, "Action", "%s", policy_action_name(fa->action));
	list_field(f, "QMPFS", "%s", yesno(fa->qmpfs));
	list_field(f, "Inbound Pass Through", "%s", yesno(fa->inpass));
	list_field(f, "Fallback to Clear", "%s", yesno(fa->soft));
	if (fa->methods.n) {
		list_field(f, "Security Methods", "%zu", fa->methods.n);
		qm_offers_table(f, &fa->methods, o->wide);
	}
}

static void show_filter_actions(FILE *f, const struct filter_action *fa, size_t n,
                                const struct show_opts *o)
{
	if (o->table && !o->verbose) {
		static const char *const h[] = { "FilterAction Name", "Action", "Last Modified" };
		struct table *t = table_new(3, h);
		for (size_t i = 0; i < n; i++) {
			char when[32];
			format_time(fa[i].modified, when, sizeof(when));
			const char *row[] = { fa[i].name, policy_action_name(fa[i].action), when };
			table_row(t, row);
		}
		table_print(f, t, o->wide);
		table_free(t);
	} else {
		for (size_t i = 0; i < n; i++) {
			list_header(f, "Filter Action");
			filter_action_list(f, &fa[i], o);
			fputc('\n', f);
		}
	}
	fprintf(f, "%zu Filter Action(s)\n", n);
}

/* ---- rules ---------------------------------------------------------------------------------- */

static void auth_lines(FILE *f, const struct auth_methods *am, bool verbose)
{
	for (size_t i = 0; i < am->n; i++) {
		const struct auth_method *m = &am->m[i];
		char line[POLICY_SECRET_MAX + 96];
		if (m->kind == AUTH_KERBEROS)
			snprintf(line, sizeof(line), "Kerberos");
		else if (m->kind == AUTH_PSK)
			snprintf(line, sizeof(line), "Preshared key%s%s", verbose ? " : " : "",
			         verbose ? m->value : "");
		else
			snprintf(line, sizeof(line), "Root CA : %s (CertMap: %s, ExcludeCAName: %s)",
			         m->value, yesno(m->certmap), yesno(m->excludecaname));
		if (i == 0)
			list_field(f, "Authentication Methods", "%s", line);
		else
			fprintf(f, "%*s%s\n", LIST_LABEL_WIDTH + 2, "", line);
	}
}

static bool rule_list(struct netsh_session *ns, FILE *f, const struct policy *p,
                      const struct rule *r, const struct show_opts *o, struct diag *d)
{
	char tun[64] = "NONE";
	if (r->has_tunnel)
		policy_format_ip(&r->tunnel, tun, sizeof(tun));
	list_field(f, "Rule ID", "%u", r->id);
	list_field(f, "Rule Name", "%s", r->name);
	list_field(f, "Policy Name", "%s", p->name);
	list_field(f, "Description", "%s", none_if_empty(r->description));
	list_field(f, "Tunnel Rule", "%s", yesno(r->has_tunnel));
	list_field(f, "Tunnel Endpoint", "%s", tun);
	list_field(f, "Connection Type", "%s", policy_conntype_name(r->conntype));
	list_field(f, "Activated", "%s", yesno(r->active));
	list_field(f, "Default Response Rule", "%s", yesno(r->is_default));
	auth_lines(f, &r->auth, o->verbose);
	if (r->is_default) {
		list_field(f, "Filter List Name", "<Dynamic>");
		list_field(f, "Filter Action Name", "Default Response");
		if (o->verbose) {
			list_field(f, "QMPFS", "%s", yesno(r->qmpfs));
			list_field(f, "Security Methods", "%zu", r->methods.n);
			qm_offers_table(f, &r->methods, o->wide);
		}
		return true;
	}
	list_field(f, "Filter List Name", "%s", r->filterlist);
	list_field(f, "Filter Action Name", "%s", r->filteraction);
	if (!o->verbose)
		return true;
	struct filter_list fl;
	struct filter_action fa;
	if (!store_filterlist_get(ns->store, r->filterlist, &fl, d) ||
	    !store_filteraction_get(ns->store, r->filteraction, &fa, d))
		return false;
	fputc('\n', f);
	filter_list_list(f, &fl, o);
	fputc('\n', f);
	filter_action_list(f, &fa, o);
	policy_filter_list_free(&fl);
	return true;
}

static bool rule_wanted(const struct rule *r, const char *type)
{
	if (!type)
		return true;
	return strcasecmp(type, "tunnel") == 0 ? r->has_tunnel : !r->has_tunnel;
}

static bool show_rules(struct netsh_session *ns, FILE *f, const struct policy *p,
                       const struct rule *const *rules, size_t n,
                       const struct show_opts *o, struct diag *d)
{
	if (o->table) {
		static const char *const h[] = { "ID", "Rule Name", "Filter List", "Filter Action",
		                                  "Tunnel", "Conn", "Active" };
		struct table *t = table_new(7, h);
		for (size_t i = 0; i < n; i++) {
			const struct rule *r = rules[i];
			char id[16], tun[64] = "NONE";
			snprintf(id, sizeof(id), "%u", r->id);
			if (r->has_tunnel)
				policy_format_ip(&r->tunnel, tun, sizeof(tun));
			const char *row[] = { id, r->name, r->is_default ? "<Dynamic>" : r->filterlist,
			                      r->is_default ? "Default Response" : r->filteraction, tun,
			                      policy_conntype_name(r->conntype), yesno(r->active) };
			table_row(t, row);
		}
		table_print(f, t, o->wide);
		table_free(t);
	} else {
		for (size_t i = 0; i < n; i++) {
			list_header(f, "Rule");
			if (!rule_list(ns, f, p, rules[i], o, d))
				return false;
			fputc('\n', f);
		}
	}
	fprintf(f, "%zu Rule(s)\n", n);
	return true;
}

static bool show_rule_cmd(struct netsh_session *ns, const struct args *a,
                          const struct show_opts *o, struct diag *d)
{
	struct policy p;
	const char *name = arg(a, "name"), *id = arg(a, "id"), *type = arg(a, "type");
	static const char *const types[] = { "tunnel", "transport" };
	if (type && match_word(type, types, 2) < 0)
		return diag_bad_value(d, "type", type, "tunnel, transport");
	if (type)
		type = types[match_word(type, types, 2)];
	uint32_t want_id = 0;
	if (id && !policy_parse_uint("id", id, 1, 0xffffffffu, &want_id, d))
		return false;
	if (!store_policy_get(ns->store, arg(a, "policy"), &p, d))
		return false;
	const struct rule **sel = calloc(p.nrules ? p.nrules : 1, sizeof(*sel));
	size_t n = 0;
	for (size_t i = 0; sel && i < p.nrules; i++) {
		const struct rule *r = &p.rules[i];
		bool take = id ? r->id == want_id
		          : (!name || is_word(name, "all")) ? true
		          : is_word(name, "default") ? r->is_default
		          : strcasecmp(r->name, name) == 0;
		if (take && rule_wanted(r, type))
			sel[n++] = r;
	}
	bool ok = true;
	if (n == 0 && (id || (name && !is_word(name, "all"))))
		ok = diag_error(d, ERR_NO_RULE, "Rule '%s' does not exist in policy '%s'.",
		                id ? id : name, p.name);
	else if (n == 0)
		fprintf(ns->out, "No rules found.\n");
	else
		ok = show_rules(ns, ns->out, &p, sel, n, o, d);
	free(sel);
	policy_free(&p);
	return ok;
}

/* ---- policies -------------------------------------------------------------------------------- */

static bool policy_list(struct netsh_session *ns, FILE *f, const struct policy *p,
                        const struct show_opts *o, struct diag *d)
{
	char when[32];
	format_time(p->modified, when, sizeof(when));
	list_field(f, "Policy Name", "%s", p->name);
	list_field(f, "Description", "%s", none_if_empty(p->description));
	list_field(f, "Store", "%s", o->store);
	list_field(f, "Last Modified", "%s", when);
	list_field(f, "GUID", "%s", p->guid);
	list_field(f, "Assigned", "%s", yesno(p->assigned));
	list_field(f, "Master PFS", "%s", yesno(p->mmpfs));
	list_field(f, "Polling Interval", "%u minutes", p->pollinginterval);
	if (!o->verbose)
		return true;
	const struct rule *def = &p->rules[p->nrules - 1];
	list_field(f, "Main Mode Life Time", "%u minutes", p->mmlifetime);
	if (p->qmpermm)
		list_field(f, "Main Mode QM Limit", "%u", p->qmpermm);
	else
		list_field(f, "Main Mode QM Limit", "Unlimited");
	list_field(f, "Main Mode Offers", "%zu", p->mm.n);
	mm_offers_table(f, &p->mm, o->wide);
	list_field(f, "Default Response Rule", "%s", def->active ? "ACTIVE" : "INACTIVE");
	list_field(f, "No. of Rules", "%zu", p->nrules);
	fputc('\n', f);
	const struct rule **sel = calloc(p->nrules, sizeof(*sel));
	if (!sel)
		return diag_error(d, ERR_STORE, "Out of memory.");
	for (size_t i = 0; i < p->nrules; i++)
		sel[i] = &p->rules[i];
	struct show_opts ro = *o;
	ro.table = false;
	bool ok = show_rules(ns, f, p, sel, p->nrules, &ro, d);
	free(sel);
	return ok;
}

static bool show_policies(struct netsh_session *ns, struct policy *p, size_t n,
                          const struct show_opts *o, struct diag *d)
{
	FILE *f = ns->out;
	if (o->table && !o->verbose) {
		static const char *const h[] = { "Policy Name", "Assigned", "Last Modified" };
		struct table *t = table_new(3, h);
		for (size_t i = 0; i < n; i++) {
			char when[32];
			format_time(p[i].modified, when, sizeof(when));
			const char *row[] = { p[i].name, yesno(p[i].assigned), when };
			table_row(t, row);
		}
		table_print(f, t, o->wide);
		table_free(t);
	} else {
		for (size_t i = 0; i < n; i++) {
			list_header(f, "Policy");
			if (!policy_list(ns, f, &p[i], o, d))
				return false;
			fputc('\n', f);
		}
	}
	fprintf(f, "%zu Policy(s)\n", n);
	return true;
}

/* ---- selection by name / rule / all ---------------------------------------------------------- */

/* Names of the lists (or actions) that rules named `rule` use, in any policy. */
static size_t names_used_by_rule(struct netsh_session *ns, const char *rule, bool lists,
                                 char (*out)[POLICY_NAME_MAX], size_t max, struct diag *d)
{
	struct policy *p;
	size_t np, n = 0;
	if (!store_policies_load(ns->store, &p, &np, d))
		return 0;
	for (size_t i = 0; i < np; i++)
		for (size_t j = 0; j < p[i].nrules && n < max; j++) {
			const struct rule *r = &p[i].rules[j];
			if (r->is_default || strcasecmp(r->name, rule) != 0)
				continue;
			snprintf(out[n++], POLICY_NAME_MAX, "%s", lists ? r->filterlist : r->filteraction);
		}
	store_policies_free(p, np);
	return n;
}

static bool selected(const char *name, const char (*names)[POLICY_NAME_MAX], size_t n,
                     const char *want)
{
	if (names) {
		for (size_t i = 0; i < n; i++)
			if (strcasecmp(names[i], name) == 0)
				return true;
		return false;
	}
	return !want || is_word(want, "all") || strcasecmp(want, name) == 0;
}

static bool show_lists_cmd(struct netsh_session *ns, const struct args *a,
                           const struct show_opts *o, bool lists, struct diag *d)
{
	const char *name = arg(a, "name"), *rule = arg(a, "rule");
	char (*names)[POLICY_NAME_MAX] = NULL;
	size_t nnames = 0;
	if (rule) {
		names = calloc(64, sizeof(*names));
		if (!names)
			return diag_error(d, ERR_STORE, "Out of memory.");
		nnames = names_used_by_rule(ns, rule, lists, names, 64, d);
		if (nnames == 0) {
			free(names);
			return diag_failed(d) ? false :
			       diag_error(d, ERR_NO_RULE, "Rule '%s' does not exist in any policy.", rule);
		}
	}
	bool ok;
	size_t n, kept = 0;
	if (lists) {
		struct filter_list *fl = NULL;
		n = 0;
		ok = store_filterlists_load(ns->store, &fl, &n, d);
		for (size_t i = 0; ok && i < n; i++) {
			if (selected(fl[i].name, (const char (*)[POLICY_NAME_MAX])names, nnames, name)) {
				struct filter_list tmp = fl[kept];
				fl[kept++] = fl[i];
				fl[i] = tmp;
			}
		}
		if (ok && kept == 0 && name && !is_word(name, "all") && !names)
			ok = diag_error(d, ERR_NO_FILTERLIST, "Filter list '%s' does not exist.", name);
		else if (ok && kept == 0)
			fprintf(ns->out, "No filter lists found.\n");
		else if (ok)
			show_filter_lists(ns->out, fl, kept, o);
		store_filterlists_free(fl, n);
	} else {
		struct filter_action *fa = NULL;
		ok = store_filteractions_load(ns->store, &fa, &n, d);
		for (size_t i = 0; ok && i < n; i++)
			if (selected(fa[i].name, (const char (*)[POLICY_NAME_MAX])names, nnames, name))
				fa[kept++] = fa[i];
		if (ok && kept == 0 && name && !is_word(name, "all") && !names)
			ok = diag_error(d, ERR_NO_FILTERACTION, "Filter action '%s' does not exist.", name);
		else if (ok && kept == 0)
			fprintf(ns->out, "No filter actions found.\n");
		else if (ok)
			show_filter_actions(ns->out, fa, kept, o);
		free(fa);
	}
	free(names);
	return ok;
}

static bool show_policy_cmd(struct netsh_session *ns, const char *name,
                            const struct show_opts *o, struct diag *d)
{
	struct policy *p;
	size_t n, kept = 0;
	if (!store_policies_load(ns->store, &p, &n, d))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!selected(p[i].name, NULL, 0, name))
			continue;
		struct policy tmp = p[kept];
		p[kept++] = p[i];
		p[i] = tmp;
	}
	bool ok = true;
	if (kept == 0 && name && !is_word(name, "all"))
		ok = diag_error(d, ERR_NO_POLICY, "Policy '%s' does not exist in the current store.",
		                name);
	else if (kept == 0)
		fprintf(ns->out, "No policies found.\n");
	else
		ok = show_policies(ns, p, kept, o, d);
	store_policies_free(p, n);
	return ok;
}

static bool show_gpo(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	FILE *f = ns->out;
	char host[256] = "localhost";
	struct policy *p;
	size_t n;
	if (arg(a, "name"))
		return diag_error(d, ERR_NO_POLICY, "No Group Policy object named '%s' is known: "
		                  "this computer has no directory (domain) store.", arg(a, "name"));
	if (!store_policies_load(ns->store, &p, &n, d))
		return false;
	const char *local = NULL;
	for (size_t i = 0; i < n; i++)
		if (p[i].assigned)
			local = p[i].name;
	gethostname(host, sizeof(host) - 1);
	list_field(f, "Source Machine", "%s", host);
	list_field(f, "GPO Name", "NONE");
	list_field(f, "Local Policy Name", "%s", local ? local : "NONE");
	list_field(f, "AD Policy Name", "NONE");
	list_field(f, "AD Policy DN", "NONE");
	list_field(f, "Local Policy Path", "%s", store_path(ns->store));
	if (local)
		list_field(f, "Active Policy", "%s (local policy; no domain policy is assigned)", local);
	else
		list_field(f, "Active Policy", "NONE");
	store_policies_free(p, n);
	return true;
}

bool show_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	const char *obj = a->cmd->object;
	struct show_opts o;
	if (!strcmp(obj, "store")) {
		fprintf(ns->out, "The current IPsec store is the %s.\n",
		        ns->location == LOCATION_PERSISTENT ? "Persistent Store" : "Local Store");
		return true;
	}
	if (!parse_opts(ns, a, &o, d))
		return false;
	if (!strcmp(obj, "policy"))
		return show_policy_cmd(ns, arg(a, "name"), &o, d);
	if (!strcmp(obj, "filterlist"))
		return show_lists_cmd(ns, a, &o, true, d);
	if (!strcmp(obj, "filteraction"))
		return show_lists_cmd(ns, a, &o, false, d);
	if (!strcmp(obj, "rule"))
		return show_rule_cmd(ns, a, &o, d);
	if (!strcmp(obj, "gpoassignedpolicy"))
		return show_gpo(ns, a, d);
	/* show all: everything, verbose. */
	o.verbose = true;
	struct show_opts lo = o;
	return show_policy_cmd(ns, NULL, &o, d) &&
	       (fputc('\n', ns->out), show_lists_cmd(ns, a, &lo, true, d)) &&
	       (fputc('\n', ns->out), show_lists_cmd(ns, a, &lo, false, d));
}
