/*
 * The entities of the model: initial values (the defaults of
 * windows-ipsec-model.md §7), validation of whole objects, authentication
 * method lists and filter matching.
 */
#include "policy/policy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void policy_filter_init(struct filter *f)
{
	memset(f, 0, sizeof(*f));
	f->mirrored = true;
	f->src.kind = ADDR_ANY;
	f->dst.kind = ADDR_ANY;
}

void policy_filter_action_init(struct filter_action *fa, enum crypto_profile p)
{
	memset(fa, 0, sizeof(*fa));
	fa->action = ACTION_NEGOTIATE;
	policy_default_qmsec(p, &fa->methods);
}

void policy_rule_init(struct rule *r)
{
	memset(r, 0, sizeof(*r));
	r->active = true;
	r->conntype = CONN_ALL;
	r->auth.n = 1;
	r->auth.m[0].kind = AUTH_KERBEROS;   /* "dynamic defaults": Kerberos V5 */
}

void policy_default_rule_init(struct rule *r, enum crypto_profile prof)
{
	policy_rule_init(r);
	r->is_default = true;
	snprintf(r->name, sizeof(r->name), "Default Response Rule");
	policy_default_qmsec(prof, &r->methods);
}

void policy_policy_init(struct policy *p, enum crypto_profile prof)
{
	memset(p, 0, sizeof(*p));
	p->pollinginterval = POLICY_DEFAULT_POLLING;
	p->mmlifetime = POLICY_DEFAULT_MMLIFE;
	policy_default_mmsec(prof, &p->mm);
}

static bool printable_without_quote(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '"')
			return false;
	return true;
}

bool policy_validate_name(const char *tag, const char *name, struct diag *d)
{
	if (!name[0])
		return diag_bad_value(d, tag, name, "a non-empty name");
	if (strlen(name) >= POLICY_NAME_MAX)
		return diag_error(d, ERR_BAD_VALUE, "'%.60s...' is not a valid value for '%s'. "
		                  "Allowed: at most %d characters.", name, tag, POLICY_NAME_MAX - 1);
	if (!printable_without_quote(name))
		return diag_bad_value(d, tag, name,
		                      "printable text without double quotes or control characters");
	if (strcasecmp(name, "all") == 0)
		return diag_bad_value(d, tag, name, "any name except the reserved word 'all'");
	return true;
}

bool policy_validate_description(const char *tag, const char *text, struct diag *d)
{
	if (strlen(text) >= POLICY_DESC_MAX)
		return diag_error(d, ERR_BAD_VALUE, "'%.60s...' is not a valid value for '%s'. "
		                  "Allowed: at most %d characters.", text, tag, POLICY_DESC_MAX - 1);
	if (!printable_without_quote(text))
		return diag_bad_value(d, tag, text,
		                      "printable text without double quotes or control characters");
	return true;
}

static int addr_family(const struct filter_addr *a)
{
	return a->kind == ADDR_HOST_OR_SUBNET || a->kind == ADDR_RANGE ? a->ip.family : 0;
}

bool policy_validate_filter(const struct filter *f, struct diag *d)
{
	if (f->src.kind == ADDR_ME && f->dst.kind == ADDR_ME)
		return diag_error(d, ERR_BAD_VALUE, "'me' is not a valid value for 'dstaddr'. "
		                  "Allowed: a filter from 'me' must go to another address.");
	char src[128], dst[128];
	policy_format_address(&f->src, src, sizeof(src));
	policy_format_address(&f->dst, dst, sizeof(dst));
	if ((policy_address_is_server(&f->src) && f->dst.kind != ADDR_ME) ||
	    (policy_address_is_server(&f->dst) && f->src.kind != ADDR_ME))
		return diag_error(d, ERR_SERVER_PAIRING,
		                  "When one address is a server type, the other must be 'me' "
		                  "(srcaddr=%s, dstaddr=%s).", src, dst);
	int fs = addr_family(&f->src), fd = addr_family(&f->dst);
	if (fs && fd && fs != fd)
		return diag_error(d, ERR_BAD_VALUE, "'%s' is not a valid value for 'dstaddr' with "
		                  "srcaddr=%s: the addresses are of different families. Allowed: "
		                  "both IPv4 or both IPv6.", dst, src);
	if ((f->srcport || f->dstport) && f->protocol != 6 && f->protocol != 17) {
		char proto[8];
		return diag_error(d, ERR_PORT_PROTOCOL,
		                  "Ports can only be specified with protocol TCP or UDP "
		                  "(protocol=%s, srcport=%u, dstport=%u).",
		                  policy_protocol_name(f->protocol, proto, sizeof(proto)),
		                  f->srcport, f->dstport);
	}
	return policy_validate_description("description", f->description, d);
}

bool policy_validate_filter_action(struct filter_action *fa, struct diag *d)
{
	if (!policy_validate_name("name", fa->name, d) ||
	    !policy_validate_description("description", fa->description, d))
		return false;
	if (fa->action == ACTION_NEGOTIATE && fa->methods.n == 0)
		return diag_error(d, ERR_BAD_SECMETHOD, "A filter action that negotiates "
		                  "security needs at least one security method in 'qmsecmethods'.");
	if (fa->action == ACTION_NEGOTIATE && fa->soft)
		diag_warn(d, "soft=yes sends traffic in clear when the peer does not answer IKE; "
		          "do not use it to protect sensitive traffic.");
	return true;
}

bool policy_validate_policy(struct policy *p, struct diag *d)
{
	if (!policy_validate_name("name", p->name, d) ||
	    !policy_validate_description("description", p->description, d))
		return false;
	if (p->mm.n == 0)
		return diag_error(d, ERR_BAD_SECMETHOD, "A policy needs at least one main-mode "
		                  "security method in 'mmsecmethods'.");
	/* UI text: with master key PFS the number of sessions is set to 1. */
	if (p->mmpfs)
		p->qmpermm = 1;
	return true;
}

bool policy_validate_tunnel_filters(const struct filter_list *fl, struct diag *d)
{
	for (size_t i = 0; i < fl->nfilters; i++)
		if (fl->filters[i].mirrored)
			return diag_error(d, ERR_TUNNEL_MIRRORED,
			                  "Filters used by a tunnel rule must not be mirrored.");
	return true;
}

bool policy_parse_conntype(const char *tag, const char *text, enum conn_type *out,
                           struct diag *d)
{
	static const char *const names[] = { "all", "lan", "dialup" };
	for (int i = 0; i < 3; i++)
		if (strcasecmp(text, names[i]) == 0) {
			*out = (enum conn_type)i;
			return true;
		}
	return diag_bad_value(d, tag, text, "lan, dialup, all");
}

const char *policy_conntype_name(enum conn_type c)
{
	return c == CONN_LAN ? "LAN" : c == CONN_DIALUP ? "DIALUP" : "ALL";
}

bool policy_parse_action(const char *tag, const char *text,
                         enum filter_action_kind *out, struct diag *d)
{
	static const char *const names[] = { "permit", "block", "negotiate" };
	for (int i = 0; i < 3; i++)
		if (strcasecmp(text, names[i]) == 0) {
			*out = (enum filter_action_kind)i;
			return true;
		}
	return diag_bad_value(d, tag, text, "permit, block, negotiate");
}

const char *policy_action_name(enum filter_action_kind a)
{
	return a == ACTION_PERMIT ? "Permit" : a == ACTION_BLOCK ? "Block" : "Negotiate Security";
}

/* rootca="<CA DN> certmap:yes excludecaname:no" (netsh-ipsec.md §2.9). */
static bool parse_rootca(const char *text, struct auth_method *m, struct diag *d)
{
	char buf[POLICY_SECRET_MAX];
	if (strlen(text) >= sizeof(buf))
		return diag_error(d, ERR_BAD_VALUE, "'%.60s...' is not a valid value for "
		                  "'rootca'. Allowed: at most %d characters.", text,
		                  POLICY_SECRET_MAX - 1);
	/* An embedded double quote is written \' inside the value. */
	size_t o = 0;
	for (size_t i = 0; text[i]; i++) {
		if (text[i] == '\\' && text[i + 1] == '\'') {
			buf[o++] = '"';
			i++;
		} else {
			buf[o++] = text[i];
		}
	}
	buf[o] = '\0';
	/* Peel the option words off the end; a flag given twice: the last wins. */
	bool seen_certmap = false, seen_exclude = false;
	for (;;) {
		while (o && isspace((unsigned char)buf[o - 1]))
			buf[--o] = '\0';
		char *sp = strrchr(buf, ' ');
		char *word = sp ? sp + 1 : buf;
		bool *flag = NULL, *seen = NULL, value;
		const char *val = NULL;
		if (strncasecmp(word, "certmap:", 8) == 0) {
			flag = &m->certmap;
			seen = &seen_certmap;
			val = word + 8;
		} else if (strncasecmp(word, "excludecaname:", 14) == 0) {
			flag = &m->excludecaname;
			seen = &seen_exclude;
			val = word + 14;
		}
		if (!flag)
			break;
		if (!policy_parse_bool("rootca", val, &value, d))
			return false;
		if (!*seen)
			*flag = value;
		*seen = true;
		*word = '\0';
		o = (size_t)(word - buf);
	}
	if (!buf[0])
		return diag_bad_value(d, "rootca", text,
		                      "\"<CA distinguished name> certmap:yes|no excludecaname:yes|no\"");
	for (const char *s = buf; *s; s++)
		if ((unsigned char)*s < 0x20)
			return diag_bad_value(d, "rootca", text, "a DN without control characters");
	snprintf(m->value, sizeof(m->value), "%s", buf);
	return true;
}

bool policy_auth_add(struct auth_methods *am, enum auth_kind kind,
                     const char *value, struct diag *d)
{
	struct auth_method m;
	memset(&m, 0, sizeof(m));
	m.kind = kind;
	switch (kind) {
	case AUTH_KERBEROS: {
		bool yes;
		if (!policy_parse_bool("kerberos", value, &yes, d))
			return false;
		if (!yes)
			return true;
		for (size_t i = 0; i < am->n; i++)
			if (am->m[i].kind == AUTH_KERBEROS)
				return true;
		break;
	}
	case AUTH_PSK:
		if (!value[0] || strlen(value) >= POLICY_SECRET_MAX)
			return diag_bad_value(d, "psk", value[0] ? "<key>" : "",
			                      "a key of 1 to 511 characters");
		if (!printable_without_quote(value))
			return diag_bad_value(d, "psk", "<key>",
			                      "printable text without double quotes or control characters");
		diag_warn(d, "Preshared keys are weak authentication and are stored in clear text; "
		          "use certificates where you can.");
		if (strlen(value) < 20)
			diag_warn(d, "The preshared key is shorter than 20 characters.");
		snprintf(m.value, sizeof(m.value), "%s", value);
		break;
	case AUTH_CERT:
		if (!parse_rootca(value, &m, d))
			return false;
		break;
	}
	if (am->n == POLICY_MAX_AUTH)
		return diag_error(d, ERR_BAD_VALUE, "Too many authentication methods. Allowed: "
		                  "at most %d.", POLICY_MAX_AUTH);
	am->m[am->n++] = m;
	return true;
}

static bool addr_equal(const struct filter_addr *a, const struct filter_addr *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == ADDR_HOST_OR_SUBNET)
		return a->prefix == b->prefix && !memcmp(&a->ip, &b->ip, sizeof(a->ip));
	if (a->kind == ADDR_RANGE)
		return !memcmp(&a->ip, &b->ip, sizeof(a->ip)) &&
		       !memcmp(&a->last, &b->last, sizeof(a->last));
	return true;
}

bool policy_filter_equal(const struct filter *a, const struct filter *b)
{
	return addr_equal(&a->src, &b->src) && addr_equal(&a->dst, &b->dst) &&
	       a->protocol == b->protocol && a->srcport == b->srcport &&
	       a->dstport == b->dstport && a->mirrored == b->mirrored;
}

static bool addr_matches(const struct filter_addr *f, const struct filter_addr *p,
                         bool with_mask)
{
	if (f->kind != p->kind)
		return false;
	if (f->kind == ADDR_HOST_OR_SUBNET) {
		if (with_mask)
			return addr_equal(f, p);
		/* Without a mask the given address names the stored one as written. */
		return f->ip.family == p->ip.family && !memcmp(f->ip.bytes, p->ip.bytes, 16);
	}
	return addr_equal(f, p);
}

bool policy_filter_matches(const struct filter *f, const struct filter_pattern *p)
{
	return addr_matches(&f->src, &p->src, p->has_srcmask) &&
	       addr_matches(&f->dst, &p->dst, p->has_dstmask) &&
	       (!p->has_protocol || f->protocol == p->protocol) &&
	       (!p->has_srcport || f->srcport == p->srcport) &&
	       (!p->has_dstport || f->dstport == p->dstport) &&
	       (!p->has_mirrored || f->mirrored == p->mirrored);
}

void policy_filter_list_free(struct filter_list *fl)
{
	free(fl->filters);
	fl->filters = NULL;
	fl->nfilters = 0;
}

void policy_free(struct policy *p)
{
	if (p->rules) {
		/* Rules may hold preshared keys: do not leave them in freed memory. */
		explicit_bzero(p->rules, p->nrules * sizeof(*p->rules));
		free(p->rules);
	}
	p->rules = NULL;
	p->nrules = 0;
}
