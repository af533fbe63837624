/*
 * The predefined sample objects every new store gets (windows-ipsec-model.md
 * §4): two filter lists, three filter actions and the three sample policies.
 * They carry the Windows Server 2003 algorithm lists, not the profile
 * defaults, because they are compatibility samples (best-practices.md §3).
 */
#include "policy/policy.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define WINDOWS_QMSEC "ESP[3DES,SHA1] ESP[3DES,MD5] ESP[DES,SHA1] ESP[DES,MD5]"
#define WINDOWS_MMSEC "3DES-SHA1-2 3DES-MD5-2 DES-SHA1-1 DES-MD5-1"

static struct filter all_ip_filter, all_icmp_filter;
static struct filter_list lists[2];
static struct filter_action actions[3];
static struct rule rules[3][3];
static struct policy policies[3];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void make_list(struct filter_list *fl, struct filter *f, const char *name,
                      const char *desc, uint8_t proto)
{
	snprintf(fl->name, sizeof(fl->name), "%s", name);
	snprintf(fl->description, sizeof(fl->description), "%s", desc);
	policy_filter_init(f);
	f->src.kind = ADDR_ME;
	f->dst.kind = ADDR_ANY;
	f->protocol = proto;
	fl->filters = f;
	fl->nfilters = 1;
}

static void make_action(struct filter_action *fa, const char *name, const char *desc,
                        enum filter_action_kind action, bool inpass, bool soft)
{
	struct diag d;
	diag_init(&d);
	memset(fa, 0, sizeof(*fa));
	snprintf(fa->name, sizeof(fa->name), "%s", name);
	snprintf(fa->description, sizeof(fa->description), "%s", desc);
	fa->action = action;
	fa->inpass = inpass;
	fa->soft = soft;
	if (action == ACTION_NEGOTIATE)
		policy_parse_qmsec("qmsecmethods", WINDOWS_QMSEC, &fa->methods, &d);
}

static void make_rule(struct rule *r, const char *list, const char *action)
{
	policy_rule_init(r);
	snprintf(r->name, sizeof(r->name), "%s", list);
	snprintf(r->filterlist, sizeof(r->filterlist), "%s", list);
	snprintf(r->filteraction, sizeof(r->filteraction), "%s", action);
}

static void make_policy(struct policy *p, struct rule *r, const char *name,
                        const char *desc, const char *ip_action)
{
	struct diag d;
	diag_init(&d);
	policy_policy_init(p, PROFILE_LEGACY);
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->description, sizeof(p->description), "%s", desc);
	policy_parse_mmsec("mmsecmethods", WINDOWS_MMSEC, &p->mm, &d);
	size_t n = 0;
	if (ip_action) {
		make_rule(&r[n++], "All IP Traffic", ip_action);
		make_rule(&r[n++], "All ICMP Traffic", "Permit");
	}
	policy_default_rule_init(&r[n], PROFILE_LEGACY);
	policy_parse_qmsec("qmsecmethods", WINDOWS_QMSEC, &r[n].methods, &d);
	n++;
	p->rules = r;
	p->nrules = n;
}

static void build(void)
{
	make_list(&lists[0], &all_ip_filter, "All IP Traffic",
	          "Sample: matches all IP packets from this computer to any other "
	          "computer, except those exempted by ipsecexempt (by default only IKE).", 0);
	make_list(&lists[1], &all_icmp_filter, "All ICMP Traffic",
	          "Sample: matches all ICMP packets between this computer and any other "
	          "computer.", 1);
	make_action(&actions[0], "Permit",
	            "Sample: permit unsecured IP packets to pass through.", ACTION_PERMIT,
	            false, false);
	make_action(&actions[1], "Request Security (Optional)",
	            "Sample: accepts unsecured communication, but requests clients to "
	            "establish trust and security methods. Will fall back to unsecured "
	            "communication if untrusted client does not respond.",
	            ACTION_NEGOTIATE, true, true);
	make_action(&actions[2], "Require Security",
	            "Sample: accepts unsecured communication, but always requires clients "
	            "to establish trust and security methods. Will NOT communicate with "
	            "untrusted clients.", ACTION_NEGOTIATE, true, false);
	make_policy(&policies[0], rules[0], "Client (Respond Only)",
	            "Sample: communicate normally (unsecured). Use the default response "
	            "rule to negotiate with servers that request security. Only the "
	            "requested protocol and port traffic with that server is secured.", NULL);
	make_policy(&policies[1], rules[1], "Server (Request Security)",
	            "Sample: for all IP traffic, always request security using Kerberos "
	            "trust. Allow unsecured communication with clients that do not "
	            "respond to request.", "Request Security (Optional)");
	make_policy(&policies[2], rules[2], "Secure Server (Require Security)",
	            "Sample: for all IP traffic, always require security using Kerberos "
	            "trust. Do NOT allow unsecured communication with untrusted clients.",
	            "Require Security");
}

size_t policy_predefined_filter_lists(const struct filter_list **out)
{
	pthread_once(&once, build);
	*out = lists;
	return 2;
}

size_t policy_predefined_filter_actions(const struct filter_action **out)
{
	pthread_once(&once, build);
	*out = actions;
	return 3;
}

size_t policy_predefined_policies(const struct policy **out)
{
	pthread_once(&once, build);
	*out = policies;
	return 3;
}
