/* The dynamic objects of netsh-ipsec.md §4: defaults, the identification
 * tuple, references between rules and policies, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy/dynamic.h"

static struct dyn_spd *s;

static int setup(void **state)
{
	(void)state;
	s = malloc(sizeof(*s));
	dyn_init(s);
	struct dyn_mmpolicy mm;
	struct dyn_qmpolicy qm;
	struct diag d;
	diag_init(&d);
	dyn_mmpolicy_init(&mm, PROFILE_MODERN);
	dyn_qmpolicy_init(&qm, PROFILE_MODERN);
	strcpy(mm.name, "mmp");
	strcpy(qm.name, "qmp");
	assert_true(dyn_mmpolicy_add(s, &mm, &d));
	assert_true(dyn_qmpolicy_add(s, &qm, &d));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(s);
	return 0;
}

/* me -> 192.0.2.10 TCP dstport 22, as §8.5 writes it. */
static void rule_85(struct dyn_rule *r)
{
	struct diag d;
	diag_init(&d);
	dyn_rule_init(r);
	r->key.src.kind = ADDR_ME;
	assert_int_equal(policy_parse_address("dstaddr", "192.0.2.10", &r->key.dst, &d), ADDR_PARSE_OK);
	r->key.protocol = 6;
	r->key.dstport = 22;
	strcpy(r->mmpolicy, "mmp");
	strcpy(r->qmpolicy, "qmp");
	assert_true(policy_auth_add(&r->auth, AUTH_PSK, "lab key", &d));
}

static void defaults(void **state)
{
	(void)state;
	struct dyn_mmpolicy mm;
	struct dyn_qmpolicy qm;
	struct dyn_rule r;
	dyn_mmpolicy_init(&mm, PROFILE_MODERN);
	dyn_qmpolicy_init(&qm, PROFILE_MODERN);
	dyn_rule_init(&r);
	assert_int_equal(mm.qmpermm, 0);
	assert_int_equal(mm.mmlifetime, 480);
	assert_int_equal(mm.softsaexpirationtime, 300);
	assert_true(mm.mm.n > 0);
	assert_false(qm.soft);
	assert_int_equal(qm.pfs, DYN_PFS_NONE);
	assert_true(qm.methods.n > 0);
	assert_true(r.key.mirrored);
	assert_int_equal(r.key.conntype, CONN_ALL);
	assert_int_equal(r.inbound, ACTION_NEGOTIATE);
	assert_int_equal(r.outbound, ACTION_NEGOTIATE);
}

static void pfs_words(void **state)
{
	(void)state;
	enum dyn_pfs p;
	struct diag d;
	diag_init(&d);
	assert_true(dyn_parse_pfs("pfsgroup", "grpmm", &p, &d));
	assert_int_equal(p, DYN_PFS_GRPMM);
	assert_string_equal(dyn_pfs_name(p), "GRPMM");
	assert_false(dyn_parse_pfs("pfsgroup", "GRP4", &p, &d));
	assert_int_equal(d.code, ERR_BAD_VALUE);
}

static void tuple_identifies(void **state)
{
	(void)state;
	struct dyn_rule r, probe;
	struct diag d;
	diag_init(&d);
	rule_85(&r);
	assert_true(dyn_rule_add(s, &r, &d));
	assert_int_equal(r.id, DYN_RULE_ID_BASE + 1);
	/* The same tuple, other settings: found; a second add is refused. */
	rule_85(&probe);
	probe.inbound = ACTION_BLOCK;
	assert_non_null(dyn_rule_find(s, &probe.key));
	assert_false(dyn_rule_add(s, &probe, &d));
	assert_int_equal(d.code, ERR_DUPLICATE_FILTER);
	/* Each member of the tuple tells rules apart. */
	struct dyn_rule_key k = r.key;
	k.mirrored = false;
	assert_null(dyn_rule_find(s, &k));
	k = r.key;
	k.conntype = CONN_LAN;
	assert_null(dyn_rule_find(s, &k));
	k = r.key;
	k.srcport = 1;
	assert_null(dyn_rule_find(s, &k));
	k = r.key;
	k.dst.prefix = 24;
	assert_null(dyn_rule_find(s, &k));
	k = r.key;
	k.has_tunnel = true;
	assert_null(dyn_rule_find(s, &k));
	/* set: replaced in place, id kept. */
	diag_init(&d);
	assert_true(dyn_rule_replace(s, &probe, &d));
	assert_int_equal(s->rules[0].inbound, ACTION_BLOCK);
	assert_int_equal(s->rules[0].id, DYN_RULE_ID_BASE + 1);
	/* delete; a second delete is 05013; ids are not reused. */
	assert_true(dyn_rule_delete(s, &r.key, &d));
	assert_false(dyn_rule_delete(s, &r.key, &d));
	assert_int_equal(d.code, ERR_NO_RULE);
	rule_85(&r);
	diag_init(&d);
	assert_true(dyn_rule_add(s, &r, &d));
	assert_int_equal(r.id, DYN_RULE_ID_BASE + 2);
}

static void references(void **state)
{
	(void)state;
	struct dyn_rule r;
	struct diag d;
	diag_init(&d);
	rule_85(&r);
	strcpy(r.mmpolicy, "nosuch");
	assert_false(dyn_rule_add(s, &r, &d));
	assert_int_equal(d.code, ERR_NO_POLICY);
	/* Negotiate needs a qmpolicy; permit/block do not. */
	rule_85(&r);
	r.qmpolicy[0] = '\0';
	diag_init(&d);
	assert_false(dyn_rule_add(s, &r, &d));
	assert_int_equal(d.code, ERR_MISSING_TAG);
	r.inbound = r.outbound = ACTION_PERMIT;
	diag_init(&d);
	assert_true(dyn_rule_add(s, &r, &d));
	/* A policy in use cannot go, by name or with all; nothing is deleted. */
	rule_85(&r);
	r.key.dstport = 23;
	assert_true(dyn_rule_add(s, &r, &d));
	assert_false(dyn_qmpolicy_delete(s, "QMP", &d));
	assert_int_equal(d.code, ERR_IN_USE);
	diag_init(&d);
	assert_false(dyn_mmpolicy_delete(s, NULL, &d));
	assert_int_equal(d.code, ERR_IN_USE);
	assert_int_equal(s->nmm, 1);
	diag_init(&d);
	assert_false(dyn_mmpolicy_delete(s, "other", &d));
	assert_int_equal(d.code, ERR_NO_POLICY);
	/* Once no rule uses them they go. */
	dyn_clear(s);
	assert_int_equal(s->nrules + s->nmm + s->nqm, 0);
	assert_true(s->next_id > DYN_RULE_ID_BASE + 2);
}

static void refusals(void **state)
{
	(void)state;
	struct dyn_rule r;
	struct diag d;
	/* A mirrored tunnel rule: 05034. */
	rule_85(&r);
	r.key.has_tunnel = true;
	assert_true(policy_parse_ip("203.0.113.1", &r.key.tunnel));
	diag_init(&d);
	assert_false(dyn_rule_add(s, &r, &d));
	assert_int_equal(d.code, ERR_TUNNEL_MIRRORED);
	/* Ports without TCP/UDP: 05030. */
	rule_85(&r);
	r.key.protocol = 1;
	diag_init(&d);
	assert_false(dyn_rule_add(s, &r, &d));
	assert_int_equal(d.code, ERR_PORT_PROTOCOL);
	/* me -> me. */
	rule_85(&r);
	r.key.dst.kind = ADDR_ME;
	diag_init(&d);
	assert_false(dyn_rule_add(s, &r, &d));
	/* No authentication method. */
	rule_85(&r);
	r.auth.n = 0;
	diag_init(&d);
	assert_false(dyn_rule_add(s, &r, &d));
	/* Duplicate policy names (case-insensitive), the reserved "all". */
	struct dyn_mmpolicy mm;
	dyn_mmpolicy_init(&mm, PROFILE_MODERN);
	strcpy(mm.name, "MMP");
	diag_init(&d);
	assert_false(dyn_mmpolicy_add(s, &mm, &d));
	assert_int_equal(d.code, ERR_DUPLICATE_NAME);
	strcpy(mm.name, "all");
	diag_init(&d);
	assert_false(dyn_mmpolicy_add(s, &mm, &d));
	mm.mmlifetime = 1;
	strcpy(mm.name, "short");
	diag_init(&d);
	assert_false(dyn_mmpolicy_add(s, &mm, &d));
	assert_int_equal(s->nrules, 0);
	assert_int_equal(s->nmm, 1);
}

static void capacity(void **state)
{
	(void)state;
	struct dyn_rule r;
	struct diag d;
	for (unsigned i = 0; i < DYN_MAX_RULES; i++) {
		rule_85(&r);
		r.key.dstport = (uint16_t)(i + 1);
		diag_init(&d);
		assert_true(dyn_rule_add(s, &r, &d));
	}
	rule_85(&r);
	r.key.dstport = 9999;
	diag_init(&d);
	assert_false(dyn_rule_add(s, &r, &d));
	assert_int_equal(s->nrules, DYN_MAX_RULES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(pfs_words, setup, teardown),
		cmocka_unit_test_setup_teardown(tuple_identifies, setup, teardown),
		cmocka_unit_test_setup_teardown(references, setup, teardown),
		cmocka_unit_test_setup_teardown(refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(capacity, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
