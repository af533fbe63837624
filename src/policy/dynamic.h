/*
 * dynamic — the objects of `netsh ipsec dynamic` (netsh-ipsec.md §4): main-
 * mode policies, quick-mode policies and rules that live only in the running
 * service's memory, beside the assigned static policy, and are lost when it
 * stops. This is their model and validation only; secpold holds one
 * struct dyn_spd and compiles it with the static policy.
 *
 * Fixed capacities: the set is copied whole before each command so that a
 * command that fails, or whose result the service cannot put in force,
 * changes nothing (netsh-ipsec.md §7: every command is atomic).
 */
#ifndef SECPOL_POLICY_DYNAMIC_H
#define SECPOL_POLICY_DYNAMIC_H

#include "policy/policy.h"

#define DYN_MAX_POLICIES 32          /* of each kind */
#define DYN_MAX_RULES    64
/* Dynamic rule ids: far above a static policy's 1..n, so the two never meet
 * in the SPD, the IKE policy or a `show`. */
#define DYN_RULE_ID_BASE 100000u

/* Defaults of §4.1 and §4.2. */
#define DYN_DEFAULT_QMPERMM   0u     /* unlimited */
#define DYN_DEFAULT_MMLIFE    480u   /* minutes */
#define DYN_DEFAULT_SOFTSA    300u   /* seconds */

enum dyn_pfs { DYN_PFS_NONE, DYN_PFS_GRP1, DYN_PFS_GRP2, DYN_PFS_GRP3, DYN_PFS_GRPMM };

struct dyn_mmpolicy {
	char name[POLICY_NAME_MAX];
	uint32_t qmpermm;                /* 0: unlimited */
	uint32_t mmlifetime;             /* minutes */
	uint32_t softsaexpirationtime;   /* seconds */
	struct mm_methods mm;
};

struct dyn_qmpolicy {
	char name[POLICY_NAME_MAX];
	bool soft;
	enum dyn_pfs pfs;
	struct qm_methods methods;
};

/* What identifies a rule for `set rule` / `delete rule` (§4.3): srcaddr,
 * dstaddr, protocol, srcport, dstport, mirrored, conntype, plus srcmask,
 * dstmask (in the addresses) and tunneldstaddress. */
struct dyn_rule_key {
	struct filter_addr src, dst;
	uint8_t protocol;
	uint16_t srcport, dstport;
	bool mirrored;
	enum conn_type conntype;
	bool has_tunnel;
	struct ip_address tunnel;
};

struct dyn_rule {
	uint32_t id;                     /* DYN_RULE_ID_BASE + n, never reused while running */
	struct dyn_rule_key key;
	char mmpolicy[POLICY_NAME_MAX];
	char qmpolicy[POLICY_NAME_MAX];  /* "" when neither action negotiates */
	enum filter_action_kind inbound, outbound;
	struct auth_methods auth;
};

struct dyn_spd {
	struct dyn_mmpolicy mm[DYN_MAX_POLICIES];
	size_t nmm;
	struct dyn_qmpolicy qm[DYN_MAX_POLICIES];
	size_t nqm;
	struct dyn_rule rules[DYN_MAX_RULES];
	size_t nrules;
	uint32_t next_id;
};

void dyn_init(struct dyn_spd *s);
/* `delete all`: every rule, then every policy (ids keep counting). */
void dyn_clear(struct dyn_spd *s);

void dyn_mmpolicy_init(struct dyn_mmpolicy *p, enum crypto_profile prof);
void dyn_qmpolicy_init(struct dyn_qmpolicy *p, enum crypto_profile prof);
void dyn_rule_init(struct dyn_rule *r);

bool dyn_parse_pfs(const char *tag, const char *text, enum dyn_pfs *out, struct diag *d);
const char *dyn_pfs_name(enum dyn_pfs p);   /* "NOPFS", "GRP2", ... */

/* Case-insensitive lookups; NULL when absent. */
struct dyn_mmpolicy *dyn_mmpolicy_find(struct dyn_spd *s, const char *name);
struct dyn_qmpolicy *dyn_qmpolicy_find(struct dyn_spd *s, const char *name);
struct dyn_rule *dyn_rule_find(struct dyn_spd *s, const struct dyn_rule_key *k);
bool dyn_key_equal(const struct dyn_rule_key *a, const struct dyn_rule_key *b);

/* Add: 05020 for a name in use, capacity errors; the policy is validated
 * (name, lifetimes). */
bool dyn_mmpolicy_add(struct dyn_spd *s, const struct dyn_mmpolicy *p, struct diag *d);
bool dyn_qmpolicy_add(struct dyn_spd *s, const struct dyn_qmpolicy *p, struct diag *d);
/* Delete by name, or every one (name NULL); refused (05022) while a rule
 * uses it -- with name NULL, nothing is deleted if any is in use. */
bool dyn_mmpolicy_delete(struct dyn_spd *s, const char *name, struct diag *d);
bool dyn_qmpolicy_delete(struct dyn_spd *s, const char *name, struct diag *d);

/* The rule's filter, as the static model has it (for validation and compiling). */
void dyn_rule_filter(const struct dyn_rule_key *k, struct filter *f);
/* Checks r against s: filter validity, policies exist, a qmpolicy when an
 * action negotiates, no mirrored tunnel rule, at least one auth method. */
bool dyn_rule_check(struct dyn_spd *s, const struct dyn_rule *r, struct diag *d);
/* Adds r (checked; a second rule with r's key is 05021); r->id is set. */
bool dyn_rule_add(struct dyn_spd *s, struct dyn_rule *r, struct diag *d);
/* Replaces the rule of r->key with r (checked; keeps its id). 05013 when absent. */
bool dyn_rule_replace(struct dyn_spd *s, const struct dyn_rule *r, struct diag *d);
bool dyn_rule_delete(struct dyn_spd *s, const struct dyn_rule_key *k, struct diag *d);
/* "me -> 192.0.2.10 TCP 0->22 mirrored", for messages. */
void dyn_key_text(const struct dyn_rule_key *k, char *buf, size_t len);

#endif
