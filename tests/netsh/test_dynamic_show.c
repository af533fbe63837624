/*
 * The dynamic context's policy views, end to end through netsh_exec_dynamic()
 * as secpold runs them: real dynamic objects (struct dyn_spd) made by the
 * commands of netsh-ipsec.md §8.5 plus a tunnel rule and a second mmpolicy,
 * beside the assigned static policy of §8.1, in a fresh store. The service's
 * side is a small deterministic stub: dyn_changed accepts, specific_filters
 * returns the one-way filters secpold would compile for those rules on a
 * host with the address 192.0.2.1, weighted with spd_weight().
 *
 * Golden files (tests/netsh/golden_dynamic/) pin the list and table layouts
 * of show mmpolicy, qmpolicy, rule, mmfilter and qmfilter (generic and
 * specific), config and rulefor (secpold's answer stubbed: one of each
 * kind); a schema check pins every format=json document's keys and JSON
 * types in order (docs/monitor-json.md).
 * SECPOL_UPDATE_GOLDEN=1 rewrites the golden files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "golden.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netsh/netsh.h"
#include "spd/spd.h"

static char dir[4096], store_path[4200];

static struct dyn_spd dyn;
static unsigned dyn_changes;

static bool op_dyn_changed(void *ctx, struct diag *d)
{
	(void)ctx;
	(void)d;
	dyn_changes++;
	return true;
}

/* ---- the specific filters secpold would compile ---- */

struct one_way {
	uint32_t rule_id;
	bool inbound;
	const char *src, *dst;
	uint8_t src_len, dst_len, protocol;
	uint16_t src_port, dst_port;
	enum filter_action_kind action;
	bool tunnel;
};

/* The host is 192.0.2.1: "me" expands to it. Static rules 1 and 2 (§8.1,
 * mirrored: a pair each), dynamic rule 100001 (§8.5, mirrored) and the
 * tunnel rule 100002 (one way). */
static const struct one_way compiled[] = {
	{ 1, true, "10.1.2.0", "192.0.2.1", 24, 32, 6, 0, 3389, ACTION_NEGOTIATE, false },
	{ 1, false, "192.0.2.1", "10.1.2.0", 32, 24, 6, 3389, 0, ACTION_NEGOTIATE, false },
	{ 2, true, "0.0.0.0", "192.0.2.1", 0, 32, 0, 0, 0, ACTION_BLOCK, false },
	{ 2, false, "192.0.2.1", "0.0.0.0", 32, 0, 0, 0, 0, ACTION_BLOCK, false },
	{ 100001, false, "192.0.2.1", "192.0.2.10", 32, 32, 6, 0, 22, ACTION_NEGOTIATE, false },
	{ 100001, true, "192.0.2.10", "192.0.2.1", 32, 32, 6, 22, 0, ACTION_NEGOTIATE, false },
	{ 100002, false, "198.51.100.0", "203.0.113.0", 24, 24, 0, 0, 0, ACTION_NEGOTIATE, true },
};
#define NCOMPILED (sizeof(compiled) / sizeof(compiled[0]))

static struct ip_address v4(const char *text)
{
	struct ip_address a;
	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, text, a.bytes), 1);
	return a;
}

/* In evaluation order: highest weight first, creation order on ties. */
static size_t op_specific_filters(void *ctx, struct netsh_specific_filter **out)
{
	(void)ctx;
	struct netsh_specific_filter *f = calloc(NCOMPILED, sizeof(*f));
	if (!f)
		return (size_t)-1;
	for (size_t i = 0; i < NCOMPILED; i++) {
		const struct one_way *c = &compiled[i];
		f[i] = (struct netsh_specific_filter){ .rule_id = c->rule_id, .inbound = c->inbound,
		                                       .src = v4(c->src), .dst = v4(c->dst),
		                                       .src_len = c->src_len, .dst_len = c->dst_len,
		                                       .protocol = c->protocol,
		                                       .src_port = c->src_port,
		                                       .dst_port = c->dst_port, .action = c->action,
		                                       .tunnel = c->tunnel };
		struct spd_filter sf = { .family = AF_INET, .src_len = c->src_len,
		                         .dst_len = c->dst_len, .protocol = c->protocol,
		                         .src_port = c->src_port, .dst_port = c->dst_port,
		                         .action = c->action, .tunnel = c->tunnel };
		f[i].weight = spd_weight(&sf);
	}
	for (size_t i = 1; i < NCOMPILED; i++)   /* insertion sort: stable */
		for (size_t k = i; k > 0 && f[k].weight > f[k - 1].weight; k--) {
			struct netsh_specific_filter t = f[k];
			f[k] = f[k - 1];
			f[k - 1] = t;
		}
	*out = f;
	return NCOMPILED;
}

/* `show rulefor`: secpold's answers for three packets, one of each kind,
 * as rulefor_explain() gives them for the policy above. */
static bool op_show_rulefor(void *ctx, const struct netsh_packet *p, struct netsh_rulefor *r,
                            struct diag *d)
{
	(void)ctx;
	char dst[64];
	policy_format_ip(&p->dst, dst, sizeof(dst));
	r->inbound = p->direction_given && p->inbound;
	r->dir_reason = p->direction_given ? RULEFOR_DIR_GIVEN : RULEFOR_FROM_HOST;
	snprintf(r->policy, sizeof(r->policy), "RDP lockdown");
	r->count = NCOMPILED;
	if (!strcmp(dst, "192.0.2.1")) {
		/* An admin workstation's RDP: the static rule's inbound half,
		 * 4th in evaluation order (the dynamic pair and its outbound
		 * half are heavier). */
		const struct one_way *c = &compiled[0];
		r->kind = RULEFOR_POLICY;
		r->inbound = true;
		r->dir_reason = RULEFOR_TO_HOST;
		r->rule_id = 1;
		snprintf(r->rule, sizeof(r->rule), "RDP needs ESP");
		snprintf(r->filterlist, sizeof(r->filterlist), "RDP from admin net");
		snprintf(r->filteraction, sizeof(r->filteraction), "Require ESP");
		r->action = ACTION_NEGOTIATE;
		r->src = v4(c->src);
		r->dst = v4(c->dst);
		r->src_len = c->src_len;
		r->dst_len = c->dst_len;
		r->protocol = c->protocol;
		r->dst_port = c->dst_port;
		r->filter_no = 1;
		r->mirror = RULEFOR_MIRROR_AS_WRITTEN;
		struct spd_filter sf = { .family = AF_INET, .src_len = c->src_len,
		                         .dst_len = c->dst_len, .protocol = c->protocol,
		                         .dst_port = c->dst_port, .action = c->action };
		r->weight = spd_weight(&sf);
		r->position = 4;
	} else if (!strcmp(dst, "203.0.113.50")) {
		/* The tunnel rule's peer never answered IKE: a soft association. */
		r->kind = RULEFOR_RUNTIME;
		r->rule_id = 100002;
		snprintf(r->rule, sizeof(r->rule), "Dynamic Rule 100002");   /* as compile.c names it */
		snprintf(r->filteraction, sizeof(r->filteraction), "site qm");
		r->action = ACTION_PERMIT;
		r->has_tunnel = true;
		r->tunnel = v4("203.0.113.1");
		r->src = v4("192.0.2.1");
		r->dst = v4("203.0.113.50");
		r->src_len = r->dst_len = 32;
		r->expires_s = 17;
	} else if (strcmp(dst, "2001:db8::2")) {
		return diag_error(d, ERR_SERVICE, "the stub knows no packet to %s", dst);
	}
	return true;
}

static const struct netsh_dynamic ops = { .dyn = &dyn, .dyn_changed = op_dyn_changed,
	                                  .specific_filters = op_specific_filters,
	                                  .show_rulefor = op_show_rulefor };

/* ---- running commands ---- */

/* Runs one line in a fresh session on the test's store: the dynamic
 * context (in-process, as secpold) unless static. Returns stdout; the
 * caller frees. The command must succeed. */
static char *run(const char *line, bool is_static)
{
	char *out = NULL, *err = NULL;
	size_t outlen = 0, errlen = 0;
	FILE *fo = open_memstream(&out, &outlen), *fe = open_memstream(&err, &errlen);
	assert_non_null(fo);
	assert_non_null(fe);
	struct netsh_session ns;
	netsh_session_init(&ns, store_path, fo, fe);
	ns.dynamic = &ops;
	bool ok = is_static ? netsh_exec_line(&ns, line) : netsh_exec_dynamic(&ns, line);
	assert_true(netsh_session_finish(&ns));
	fclose(fo);
	fclose(fe);
	if (!ok)
		fail_msg("command failed: %s\n%s", line, err);
	free(err);
	return out;
}

static void must(const char *line, bool is_static)
{
	free(run(line, is_static));
}

static const char *const static_policy[] = {
	"static add policy name=\"RDP lockdown\" description=\"RDP only from 10.1.2.0/24, ESP "
	"required\" activatedefaultrule=no mmsecmethods=\"3DES-SHA1-3 3DES-SHA1-2\"",
	"static add filteraction name=\"Require ESP\" action=negotiate inpass=no soft=no qmpfs=yes "
	"qmsecmethods=\"ESP[3DES,SHA1]:100000k/3600s\"",
	"static add filteraction name=\"Block\" action=block",
	"static add filter filterlist=\"RDP from admin net\" srcaddr=10.1.2.0 srcmask=255.255.255.0 "
	"dstaddr=me protocol=TCP srcport=0 dstport=3389 mirrored=yes description=\"RDP\"",
	"static add filter filterlist=\"All inbound\" srcaddr=any dstaddr=me protocol=ANY "
	"mirrored=yes description=\"everything\"",
	"static add rule name=\"RDP needs ESP\" policy=\"RDP lockdown\" filterlist=\"RDP from admin "
	"net\" filteraction=\"Require ESP\" psk=\"correct horse battery staple\"",
	"static add rule name=\"Block rest\" policy=\"RDP lockdown\" filterlist=\"All inbound\" "
	"filteraction=\"Block\"",
	"static set policy name=\"RDP lockdown\" assign=yes",
};

static const char *const dynamic_objects[] = {
	"add mmpolicy name=mmp qmpermm=10 mmlifetime=300 softsaexpirationtime=20 "
	"mmsecmethods=\"3DES-SHA1-3 DES-SHA1-2 3DES-MD5-3\"",
	"add mmpolicy name=\"site mm\" mmsecmethods=\"AES256-SHA256-14\"",
	"add qmpolicy name=qmp soft=no pfsgroup=GRPMM qmsecmethods=\"ESP[3DES,SHA1] AH[SHA1]\"",
	"add qmpolicy name=\"site qm\" pfsgroup=grp2 "
	"qmsecmethods=\"ESP[AES256,SHA256]:100000k/3600s\"",
	"add rule srcaddr=me dstaddr=192.0.2.10 mmpolicy=mmp qmpolicy=qmp protocol=TCP dstport=22 "
	"mirrored=yes conntype=all actioninbound=negotiate actionoutbound=negotiate psk=\"lab key\"",
	"add rule srcaddr=198.51.100.0 srcmask=24 dstaddr=203.0.113.0 dstmask=24 "
	"tunneldstaddress=203.0.113.1 mmpolicy=\"site mm\" qmpolicy=\"site qm\" mirrored=no "
	"conntype=lan psk=\"tunnel key\"",
};

static int setup(void **state)
{
	(void)state;
	const char *base = getenv("SECPOL_TEST_TMP");
	snprintf(dir, sizeof(dir), "%s/dynshow-test-XXXXXX", base ? base : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(store_path, sizeof(store_path), "%s/p.db", dir);
	dyn_init(&dyn);
	dyn_changes = 0;
	/* The legacy offers of the spec's examples (3DES, DES, MD5). */
	must("dynamic set config property=cryptoprofile value=legacy", true);
	/* The form the issue writes: the property as the tag. */
	must("dynamic set config metrics=127.0.0.1:9567", true);
	for (size_t i = 0; i < sizeof(static_policy) / sizeof(static_policy[0]); i++)
		must(static_policy[i], true);
	for (size_t i = 0; i < sizeof(dynamic_objects) / sizeof(dynamic_objects[0]); i++)
		must(dynamic_objects[i], false);
	assert_int_equal(dyn.nmm, 2);
	assert_int_equal(dyn.nqm, 2);
	assert_int_equal(dyn.nrules, 2);
	assert_int_equal(dyn.rules[0].id, DYN_RULE_ID_BASE + 1);
	assert_int_equal(dyn.rules[1].id, DYN_RULE_ID_BASE + 2);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[4300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* ---- golden files ---- */


static const struct {
	const char *file, *line;
} layouts[] = {
	{ "mmpolicy_list.txt", "show mmpolicy" },
	{ "mmpolicy_table.txt", "show mmpolicy format=table" },
	{ "mmpolicy_one_list.txt", "show mmpolicy name=mmp" },
	{ "qmpolicy_list.txt", "show qmpolicy" },
	{ "qmpolicy_table.txt", "show qmpolicy format=table" },
	{ "rule_list.txt", "show rule" },
	{ "rule_table.txt", "show rule format=table" },
	{ "rule_tunnel_list.txt", "show rule type=tunnel" },
	{ "mmfilter_list.txt", "show mmfilter" },
	{ "mmfilter_table.txt", "show mmfilter format=table" },
	{ "mmfilter_specific_list.txt", "show mmfilter type=specific" },
	{ "mmfilter_specific_table.txt", "show mmfilter type=specific format=table" },
	{ "qmfilter_list.txt", "show qmfilter" },
	{ "qmfilter_table.txt", "show qmfilter format=table" },
	{ "qmfilter_specific_list.txt", "show qmfilter type=specific" },
	{ "qmfilter_specific_table.txt", "show qmfilter type=specific format=table" },
	{ "rulefor_policy_list.txt", "show rulefor srcaddr=10.1.2.5 dstaddr=192.0.2.1 protocol=tcp "
	                             "srcport=50000 dstport=3389" },
	{ "rulefor_policy_table.txt", "show rulefor srcaddr=10.1.2.5 dstaddr=192.0.2.1 protocol=tcp "
	                              "srcport=50000 dstport=3389 format=table" },
	{ "rulefor_runtime_list.txt", "show rulefor srcaddr=192.0.2.1 dstaddr=203.0.113.50" },
	{ "rulefor_runtime_table.txt", "show rule-for srcaddr=192.0.2.1 dstaddr=203.0.113.50 "
	                               "format=table" },
	{ "rulefor_nomatch_list.txt", "show rulefor srcaddr=2001:db8::1 dstaddr=2001:db8::2 "
	                              "direction=inbound" },
	{ "config_list.txt", "show config" },
	{ "config_table.txt", "show config format=table" },
};

static void test_golden_layouts(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		char *got = run(layouts[i].line, false);
		golden_check(GOLDEN_DIR, layouts[i].file, got);
		free(got);
	}
	/* Showing changes nothing: no object put in force again. */
	assert_int_equal(dyn_changes, sizeof(dynamic_objects) / sizeof(dynamic_objects[0]));
}

/* No preshared key in any view, in any format. */
static void test_no_key_shown(void **state)
{
	(void)state;
	static const char *const fmts[] = { "list", "table", "json" };
	static const char *const views[] = { "rule", "mmfilter", "mmfilter type=specific",
	                                     "qmfilter", "qmfilter type=specific", "all" };
	for (size_t v = 0; v < sizeof(views) / sizeof(views[0]); v++)
		for (size_t f = 0; f < 3; f++) {
			char line[128];
			snprintf(line, sizeof(line), "show %s format=%s", views[v], fmts[f]);
			char *got = run(line, false);
			assert_non_null(strstr(got, "192.0.2.10"));
			if (strstr(got, "lab key") || strstr(got, "tunnel key") ||
			    strstr(got, "correct horse"))
				fail_msg("%s prints a preshared key", line);
			free(got);
		}
}

/* ---- the JSON schema ---- */


static void check_schema(const char *line, const char *want)
{
	char *doc = run(line, false);
	static char got[16384];
	json_schema_of(doc, got, sizeof(got));
	if (strcmp(got, want)) {
		fprintf(stderr, "%s schema\n want: %s\n got:  %s\n%s", line, want, got, doc);
		fail_msg("the JSON schema of '%s' changed (docs/monitor-json.md)", line);
	}
	free(doc);
}

#define MMPOLICY "name:s dynamic:b policy:s qmpermm:n mmlifetime_min:n " \
	"softsaexpirationtime_s:z mmsecmethods:s offers:a encryption:s integrity:s dh_group:n "
#define QMPOLICY "name:s dynamic:b policy:s soft:b pfsgroup:s qmsecmethods:s "
/* The first rule is the static policy's: policy and rule_name are strings. */
#define RULE "id:n rule_id:n dynamic:b policy:s rule_name:s srcaddr:s dstaddr:s protocol:n " \
	"srcport:n dstport:n mirrored:b conntype:s tunneldstaddress:z mmpolicy:s " \
	"authentication:a method:s qmpolicy:s actioninbound:s actionoutbound:s "
#define MMFILTER "name:s rule_id:n dynamic:b policy:s rule_name:s srcaddr:s dstaddr:s " \
	"mirrored:b conntype:s tunneldstaddress:z mmpolicy:s authentication:a method:s "
#define QMFILTER "name:s rule_id:n dynamic:b policy:s rule_name:s srcaddr:s dstaddr:s " \
	"protocol:n srcport:n dstport:n mirrored:b conntype:s tunneldstaddress:z qmpolicy:s " \
	"actioninbound:s actionoutbound:s "
#define CONFIG "ipsecdiagnostics:n ikelogging:n strongcrlcheck:n ipsecloginterval:n " \
	"ipsecexempt:n bootmode:s bootexemptions:s cryptoprofile:s allowlegacy:n metrics:s "

#define RULEFOR_HEAD "schema_version:n view:s srcaddr:s dstaddr:s protocol:n srcport:n " \
	"dstport:n direction:s direction_reason:s policy:s filters_in_force:n "
#define RULEFOR_RULE "rule_id:n rule_name:s filterlist:s filteraction:s default_response:b " \
	"action:s inpass:b soft:b tunnel:z filter_srcaddr:s filter_dstaddr:s filter_protocol:n " \
	"filter_srcport:n filter_dstport:n "

static void test_json_schema(void **state)
{
	(void)state;
	check_schema("show mmpolicy format=json", "mmpolicies:a " MMPOLICY);
	check_schema("show qmpolicy format=json", "qmpolicies:a " QMPOLICY);
	check_schema("show rule format=json", "rules:a " RULE);
	check_schema("show mmfilter format=json", "type:s mmfilters:a " MMFILTER);
	check_schema("show qmfilter format=json", "type:s qmfilters:a " QMFILTER);
	/* The specific filters: the first is the most specific, a static one. */
	check_schema("show mmfilter type=specific format=json",
	             "type:s mmfilters:a name:s rule_id:n dynamic:b direction:s srcaddr:s "
	             "dstaddr:s mmpolicy:s authentication:a method:s tunnel:b weight:n ");
	check_schema("show qmfilter type=specific format=json",
	             "type:s qmfilters:a name:s rule_id:n dynamic:b direction:s srcaddr:s "
	             "dstaddr:s protocol:n srcport:n dstport:n action:s qmpolicy:s tunnel:b "
	             "weight:n ");
	check_schema("show config format=json", CONFIG);
	/* show rulefor: every key in every answer, null where it does not apply. */
	check_schema("show rulefor srcaddr=10.1.2.5 dstaddr=192.0.2.1 protocol=tcp srcport=50000 "
	             "dstport=3389 format=json", RULEFOR_HEAD "result:s " RULEFOR_RULE
	             "filter_no:n mirrored:s weight:n position:n expires_s:z ");
	check_schema("show rulefor srcaddr=192.0.2.1 dstaddr=203.0.113.50 format=json",
	             RULEFOR_HEAD "result:s rule_id:n rule_name:s filterlist:z filteraction:s "
	             "default_response:b action:s inpass:b soft:b tunnel:s filter_srcaddr:s "
	             "filter_dstaddr:s filter_protocol:n filter_srcport:n filter_dstport:n "
	             "filter_no:z mirrored:z weight:z position:z expires_s:n ");
	check_schema("show rulefor srcaddr=2001:db8::1 dstaddr=2001:db8::2 direction=inbound "
	             "format=json", RULEFOR_HEAD "result:s rule_id:z rule_name:z filterlist:z "
	             "filteraction:z default_response:z action:z inpass:z soft:z tunnel:z "
	             "filter_srcaddr:z filter_dstaddr:z filter_protocol:z filter_srcport:z "
	             "filter_dstport:z filter_no:z mirrored:z weight:z position:z expires_s:z ");
	check_schema("show all format=json", "config:o " CONFIG "mmpolicies:a " MMPOLICY
	             "qmpolicies:a " QMPOLICY "mmfilters:a " MMFILTER "qmfilters:a " QMFILTER
	             "rules:a " RULE);
}

/* The dynamic objects' JSON: what the first (static) entries do not show. */
static void test_json_dynamic_values(void **state)
{
	(void)state;
	char *doc = run("show mmpolicy name=mmp format=json", false);
	static char got[4096];
	json_schema_of(doc, got, sizeof(got));
	assert_string_equal(got, "mmpolicies:a name:s dynamic:b policy:z qmpermm:n "
	                         "mmlifetime_min:n softsaexpirationtime_s:n mmsecmethods:s "
	                         "offers:a encryption:s integrity:s dh_group:n ");
	assert_non_null(strstr(doc, "\"softsaexpirationtime_s\":20"));
	assert_non_null(strstr(doc, "\"qmpermm\":10"));
	assert_non_null(strstr(doc, "\"mmlifetime_min\":300"));
	free(doc);
	doc = run("show rule type=tunnel format=json", false);
	json_schema_of(doc, got, sizeof(got));
	assert_string_equal(got, "rules:a id:n rule_id:n dynamic:b policy:z rule_name:z srcaddr:s "
	                         "dstaddr:s protocol:n srcport:n dstport:n mirrored:b conntype:s "
	                         "tunneldstaddress:s mmpolicy:s authentication:a method:s "
	                         "qmpolicy:s actioninbound:s actionoutbound:s ");
	assert_non_null(strstr(doc, "\"tunneldstaddress\":\"203.0.113.1\""));
	assert_non_null(strstr(doc, "\"id\":100002"));
	free(doc);
}

/* The values of the rulefor JSON that the schema does not show. */
static void test_rulefor_json_values(void **state)
{
	(void)state;
	char *doc = run("show rulefor srcaddr=10.1.2.5 dstaddr=192.0.2.1 protocol=tcp "
	                "srcport=50000 dstport=3389 format=json", false);
	static const char *const want[] = {
		"\"srcaddr\":\"10.1.2.5\"", "\"protocol\":6", "\"srcport\":50000",
		"\"dstport\":3389", "\"direction\":\"inbound\"",
		"\"direction_reason\":\"to_host\"", "\"filters_in_force\":7",
		"\"result\":\"policy\"", "\"rule_name\":\"RDP needs ESP\"",
		"\"action\":\"negotiate\"", "\"filter_srcaddr\":\"10.1.2.0/24\"",
		"\"filter_dstaddr\":\"192.0.2.1/32\"", "\"mirrored\":\"as_written\"",
		"\"weight\":59400192", "\"position\":4" };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(doc, want[i]))
			fail_msg("no %s in\n%s", want[i], doc);
	free(doc);
	doc = run("show rulefor srcaddr=192.0.2.1 dstaddr=203.0.113.50 format=json", false);
	assert_non_null(strstr(doc, "\"result\":\"runtime\""));
	assert_non_null(strstr(doc, "\"action\":\"permit\""));
	assert_non_null(strstr(doc, "\"tunnel\":\"203.0.113.1\""));
	assert_non_null(strstr(doc, "\"expires_s\":17"));
	assert_non_null(strstr(doc, "\"direction_reason\":\"from_host\""));
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_golden_layouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_key_shown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_dynamic_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rulefor_json_values, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
