/*
 * Every `static` command: success and each documented error (netsh-ipsec.md
 * §3 and §7), run in-process against a fresh store per case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netsh/netsh.h"
#include "store/store.h"

static char dir[4096], path[4200];
static int counter;

struct run {
	struct netsh_session ns;
	char *out, *err;
	size_t outlen, errlen;
	FILE *fo, *fe;
};

static size_t resolve_stub(const char *name, struct ip_address *out, size_t max)
{
	/* Name resolution without a network: two fixed test names. */
	if (strcmp(name, "twohosts.example") == 0 && max >= 2) {
		policy_parse_ip("192.0.2.10", &out[0]);
		policy_parse_ip("2001:db8::10", &out[1]);
		return 2;
	}
	if (strcmp(name, "gw.example") == 0) {
		policy_parse_ip("203.0.113.1", &out[0]);
		return 1;
	}
	return 0;
}

static void run_open(struct run *r)
{
	memset(r, 0, sizeof(*r));
	r->fo = open_memstream(&r->out, &r->outlen);
	r->fe = open_memstream(&r->err, &r->errlen);
	netsh_session_init(&r->ns, path, r->fo, r->fe);
	r->ns.resolve = resolve_stub;
}

static void run_close(struct run *r)
{
	netsh_session_finish(&r->ns);
	fclose(r->fo);
	fclose(r->fe);
	free(r->out);
	free(r->err);
}

/* Runs one line; returns its success and leaves its output in r. */
static bool line(struct run *r, const char *l)
{
	fflush(r->fo);
	fflush(r->fe);
	rewind(r->fo);
	rewind(r->fe);
	r->outlen = r->errlen = 0;
	bool ok = netsh_exec_line(&r->ns, l);
	fflush(r->fo);
	fflush(r->fe);
	return ok;
}

static void must(struct run *r, const char *l)
{
	if (!line(r, l))
		fail_msg("command failed: %s\n%.*s", l, (int)r->errlen, r->err);
}

static int setup(void **state)
{
	(void)state;
	const char *base = getenv("SECPOL_TEST_TMP");
	snprintf(dir, sizeof(dir), "%s/netsh-test-XXXXXX", base ? base : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/p%d.db", dir, counter++);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[4300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* ---- the table of cases ------------------------------------------------------------------ */

struct tcase {
	const char *setup[6];
	const char *cmd;
	int code;                    /* 0 = must succeed */
	const char *err_has;         /* substring of stderr (error or warning) */
	const char *out_has;         /* substring of stdout */
};

#define POL "add policy name=P"
#define LIST "add filter filterlist=L srcaddr=me dstaddr=any"
#define ACT "add filteraction name=A action=permit"
#define RULE "add rule name=R policy=P filterlist=L filteraction=A"

static const struct tcase cases[] = {
	/* add filterlist */
	{ { 0 }, "static add filterlist name=X description=\"a list\"", 0, NULL, NULL },
	{ { 0 }, "static add filterlist X \"positional description\"", 0, NULL, NULL },
	{ { 0 }, "static add filterlist description=x", 5002, "'name' was not specified", NULL },
	{ { 0 }, "static add filterlist name=\"All IP Traffic\"", 5020,
	  "A filter list named 'All IP Traffic' already exists", NULL },
	{ { 0 }, "static add filterlist name=all", 5003, "reserved", NULL },
	{ { 0 }, "static add filterlist name=X colour=red", 5001, "'colour' is not valid", NULL },
	{ { 0 }, "static add filterlist name=X guid={11E6E97E-0031-49f5-AC7D-5F2FE99BABAF}", 0, NULL,
	  NULL },
	{ { "add filterlist name=X guid={11E6E97E-0031-49f5-AC7D-5F2FE99BABAF}" },
	  "static add policy name=Y guid={11e6e97e-0031-49F5-ac7d-5f2fe99babaf}", 5020,
	  "An object with GUID {11E6E97E-0031-49F5-AC7D-5F2FE99BABAF} already exists", NULL },
	{ { 0 }, "static add filteraction name=X guid=11E6E97E", 5003,
	  "'11E6E97E' is not a valid value for 'guid'", NULL },
	{ { "add filterlist name=X guid={11E6E97E-0031-49f5-AC7D-5F2FE99BABAF}" },
	  "static show filterlist X", 0, NULL, "GUID                   : {11E6E97E-0031-49F5-AC7D-5F2FE99BABAF}" },
	{ { 0 }, "static add filterlist name=X descriptoin=red", 5001, "Did you mean 'description'", NULL },
	/* add filter */
	{ { 0 }, "static add filter filterlist=New srcaddr=192.0.2.0 srcmask=24 dstaddr=me "
	  "protocol=tcp dstport=3389", 0, NULL, NULL },
	{ { 0 }, "static add filter filterlist=New srca=2001:db8::/32 dsta=me proto=udp dstp=53 mir=no",
	  0, NULL, NULL },
	{ { 0 }, "static add filter filterlist=New srcaddr=192.0.2.1-192.0.2.9 dstaddr=me", 0, NULL, NULL },
	{ { 0 }, "static add filter filterlist=New srcaddr=me dstaddr=twohosts.example", 0, NULL, NULL },
	{ { 0 }, "static add filter filterlist=New srcaddr=192.0.2.1 dstaddr=twohosts.example", 0,
	  NULL, NULL },
	{ { 0 }, "static add filter filterlist=New srcaddr=198.51.100.0/24 dstaddr=gw.example "
	  "protocol=udp dstport=500", 0, NULL, NULL },
	{ { 0 }, "static add filter filterlist=New srcaddr=2001:db8::1 dstaddr=gw.example", 5003,
	  "no address of the same family", NULL },
	{ { 0 }, "static add filter filterlist=New srcaddr=me dstaddr=nohost.example", 5032,
	  "'nohost.example' could not be resolved", NULL },
	{ { 0 }, "static add filter filterlist=New srcaddr=192.0.2.300 dstaddr=me", 5003,
	  "'192.0.2.300' is not a valid value for 'srcaddr'", NULL },
	{ { 0 }, "static add filter filterlist=New srcaddr=192.0.2.0 srcmask=255.0.255.0 dstaddr=me",
	  5003, "'255.0.255.0' is not a valid value for 'srcmask'", NULL },
	{ { 0 }, "static add filter filterlist=New srcaddr=me dstaddr=any protocol=icmp dstport=80",
	  5030, "Ports can only be specified with protocol TCP or UDP", NULL },
	{ { 0 }, "static add filter filterlist=New srcaddr=dns dstaddr=any", 5031,
	  "the other must be 'me'", NULL },
	{ { 0 }, "static add filter filterlist=New srcaddr=me dstaddr=any protocol=tcpx", 5003,
	  "'tcpx' is not a valid value for 'protocol'", NULL },
	{ { 0 }, "static add filter filterlist=New srcaddr=me dstaddr=any protocol=tcp dstport=70000",
	  5003, "'70000' is not a valid value for 'dstport'", NULL },
	{ { 0 }, "static add filter filterlist=\"All IP Traffic\" srcaddr=me dstaddr=any", 5021,
	  "An identical filter already exists in 'All IP Traffic'", NULL },
	{ { 0 }, "static add filter filterlist=New srcaddr=me", 5002, "'dstaddr' was not specified", NULL },
	{ { 0 }, "static add filter filterlist=New srcaddr=me dstaddr=me", 5003, "'me'", NULL },
	{ { 0 }, "static add filter filterlist=New srcaddr=192.0.2.1 dstaddr=2001:db8::1", 5003,
	  "different families", NULL },
	/* add filteraction */
	{ { 0 }, "static add filteraction name=FilterA qmpfs=yes soft=y action=negotiate "
	  "qmsec=\"AH[MD5]:204800k/300s ESP[DES,SHA1]:30000k/480s\"", 0,
	  "MD5 is provided for backward compatibility only", NULL },
	{ { 0 }, "static add filteraction name=F qmsec=\"ESP[AESGCM256] ESP[AES128,SHA256]\"", 0,
	  NULL, NULL },
	{ { 0 }, "static add filteraction name=F qmsec=\"ESP[3DES,SHA1\"", 5033,
	  "'ESP[3DES,SHA1' is not a valid security method", NULL },
	{ { 0 }, "static add filteraction name=F qmsec=\"ESP[None,None]\"", 5033,
	  "not a valid security method", NULL },
	{ { 0 }, "static add filteraction name=F action=allow", 5003,
	  "'allow' is not a valid value for 'action'. Allowed: permit, block, negotiate", NULL },
	{ { 0 }, "static add filteraction name=Permit", 5020, "already exists", NULL },
	{ { 0 }, "static add filteraction name=F inpass=maybe", 5003, "Allowed: yes, no", NULL },
	/* add policy */
	{ { 0 }, "static add policy name=\"RDP lockdown\" description=\"Require ESP for RDP\" mmpfs=no "
	  "mmlifetime=480 activatedefaultrule=no pollinginterval=180 assign=no "
	  "mmsecmethods=\"3DES-SHA1-3 3DES-SHA1-2\"", 0, "group 2", NULL },
	{ { 0 }, "static add policy name=P mmsec=\"AES256-SHA256-14 AESGCM128-SHA384-31\"", 0, NULL, NULL },
	{ { 0 }, "static add policy name=P mmsec=\"3DES-SHA1-5\"", 5033,
	  "'3DES-SHA1-5' is not a valid security method for 'mmsecmethods'", NULL },
	{ { 0 }, "static add policy name=P mmlifetime=2", 5003,
	  "'2' is not a valid value for 'mmlifetime'. Allowed: a whole number from 5 to 2879", NULL },
	{ { 0 }, "static add policy name=\"client (respond only)\"", 5020, "already exists", NULL },
	{ { 0 }, "static add policy name=P m=yes", 5001, "ambiguous", NULL },
	/* add rule */
	{ { POL, LIST, ACT }, "static " RULE " psk=\"a long enough preshared key!\" kerberos=yes",
	  0, "Preshared keys are weak", NULL },
	{ { POL, LIST, ACT }, "static " RULE " rootca=\"CN=Test Root, O=Example certmap:yes "
	  "excludecaname:no\"", 0, NULL, NULL },
	{ { POL, ACT }, "static " RULE, 5011, "Filter list 'L' does not exist", NULL },
	{ { POL, LIST }, "static " RULE, 5012, "Filter action 'A' does not exist", NULL },
	{ { LIST, ACT }, "static " RULE, 5010, "Policy 'P' does not exist", NULL },
	{ { POL, LIST, ACT, RULE }, "static " RULE, 5020, "A rule named 'R' already exists", NULL },
	{ { POL, LIST, ACT }, "static " RULE " tunnel=gw.example", 5034,
	  "Filters used by a tunnel rule must not be mirrored", NULL },
	{ { POL, "add filter filterlist=L srcaddr=192.0.2.0/24 dstaddr=198.51.100.0/24 mirrored=no",
	    ACT }, "static " RULE " tunnel=203.0.113.1", 0, NULL, NULL },
	{ { POL, LIST, ACT }, "static " RULE " conntype=wifi", 5003,
	  "Allowed: lan, dialup, all", NULL },
	{ { POL, LIST, ACT }, "static " RULE " kerberos=no", 5003, "leaves no authentication", NULL },
	/* set */
	{ { POL }, "static set policy name=P newname=Q pollinginterval=5 mmpfs=yes", 0, NULL, NULL },
	{ { 0 }, "static set policy name=Nope assign=yes", 5010, "Policy 'Nope' does not exist", NULL },
	{ { POL }, "static set policy pollinginterval=5", 5002, "'name' was not specified", NULL },
	{ { POL }, "static set policy name=P guid={11E6E97E-0031-49f5-AC7D-5F2FE99BABAF}", 5001,
	  "one of name or guid", NULL },
	{ { POL }, "static set policy guid={11E6E97E-0031-49f5-AC7D-5F2FE99BABAF} assign=yes", 5010,
	  "does not exist", NULL },
	{ { POL }, "static set policy name=P newname=\"Client (Respond Only)\"", 5020, "already exists",
	  NULL },
	{ { LIST }, "static set filterlist name=L newname=M description=renamed", 0, NULL, NULL },
	{ { ACT }, "static set filteraction name=A action=negotiate inpass=y", 0, NULL, NULL },
	{ { ACT }, "static set filteraction name=A qmsec=ESP[3DES,MD5]:100000k/2000s", 0, "MD5", NULL },
	{ { POL, LIST, ACT, RULE }, "static set rule name=R policy=P activate=no psk=\"x\"", 0,
	  "shorter than 20", NULL },
	{ { POL, LIST, ACT, RULE }, "static set rule id=1 policy=P newname=R2", 0, NULL, NULL },
	{ { POL, LIST, ACT, RULE }, "static set rule id=2 policy=P activate=no", 5023,
	  "set defaultrule", NULL },
	{ { POL, LIST, ACT, RULE }, "static set rule name=Nope policy=P activate=no", 5013,
	  "Rule 'Nope' does not exist in policy 'P'", NULL },
	{ { POL }, "static set defaultrule policy=P activate=no qmsec=\"ESP[3DES,SHA1]\" kerberos=yes",
	  0, NULL, NULL },
	{ { 0 }, "static set store location=domain", 5040, "could not be opened", NULL },
	{ { 0 }, "static set store location=moon", 5003, "local, persistent, domain", NULL },
	{ { 0 }, "static set batch mode=maybe", 5003, "enable, disable", NULL },
	/* delete */
	{ { 0 }, "static delete filterlist name=\"All IP Traffic\"", 5022,
	  "'All IP Traffic' is used by rule 'All IP Traffic' in policy 'Server (Request Security)'",
	  NULL },
	{ { 0 }, "static delete filteraction name=Permit", 5022, "is used by rule", NULL },
	{ { LIST }, "static delete filterlist name=L", 0, NULL, NULL },
	{ { 0 }, "static delete filterlist name=Nope", 5011, "does not exist", NULL },
	{ { LIST }, "static delete filter filterlist=L srcaddr=me dstaddr=any protocol=tcp", 5014,
	  "No filter in 'L' matches", NULL },
	{ { LIST }, "static delete filter filterlist=L srcaddr=me dstaddr=any", 0, NULL, NULL },
	{ { 0 }, "static delete policy name=\"Client (Respond Only)\"", 0, NULL, NULL },
	{ { 0 }, "static delete policy name=Nope", 5010, "does not exist", NULL },
	{ { 0 }, "static delete rule id=3 policy=\"Server (Request Security)\"", 5023,
	  "The default response rule cannot be deleted", NULL },
	{ { 0 }, "static delete rule name=\"All IP Traffic\" policy=\"Server (Request Security)\"", 0,
	  NULL, NULL },
	{ { 0 }, "static delete rule all policy=\"Server (Request Security)\"", 0, NULL, NULL },
	{ { 0 }, "static delete filterlist all", 0, "was not deleted", NULL },
	{ { 0 }, "static delete all", 0, NULL, NULL },
	/* show and the rest */
	{ { 0 }, "static show policy name=Nope", 5010, "does not exist", NULL },
	{ { 0 }, "static show filterlist name=Nope", 5011, "does not exist", NULL },
	{ { 0 }, "static show filteraction name=Nope", 5012, "does not exist", NULL },
	{ { 0 }, "static show rule name=Nope policy=\"Server (Request Security)\"", 5013,
	  "does not exist", NULL },
	{ { 0 }, "static show rule all", 5002, "'policy' was not specified", NULL },
	{ { 0 }, "static show policy all format=grid", 5003, "list, table", NULL },
	{ { 0 }, "static show store", 0, NULL, "The current IPsec store is the Local Store." },
	{ { 0 }, "static show gpoassignedpolicy", 0, NULL, "GPO Name               : NONE" },
	{ { 0 }, "static show filteraction rule=\"All ICMP Traffic\"", 0, NULL, "FilterAction Name      : Permit" },
	{ { 0 }, "static show filterlist rule=\"All ICMP Traffic\" level=verbose", 0, NULL,
	  "Protocol               : ICMP" },
	{ { 0 }, "static shwo policy", 5004, "Did you mean 'show'", NULL },
	{ { 0 }, "static add polcy name=x", 5004, "Did you mean 'policy'", NULL },
	{ { 0 }, "static add policy name=\"unclosed", 5003, "quoted value is not closed", NULL },
	{ { 0 }, "dynamic show stats", 5041, "The IPsec service is not running", NULL },
	{ { 0 }, "static add policy ?", 0, NULL, "Usage: add policy" },
	{ { 0 }, "static help", 0, NULL, "add filteraction" },
};

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		struct run r;
		snprintf(path, sizeof(path), "%s/case%zu.db", dir, i);
		run_open(&r);
		for (size_t j = 0; j < 6 && c->setup[j]; j++) {
			char l[512];
			snprintf(l, sizeof(l), "static %s", c->setup[j]);
			must(&r, l);
		}
		bool ok = line(&r, c->cmd);
		char *err = strndup(r.err ? r.err : "", r.errlen);
		char *out = strndup(r.out ? r.out : "", r.outlen);
		if (c->code == 0 && !ok)
			fail_msg("case %zu '%s' failed:\n%s", i, c->cmd, err);
		if (c->code != 0) {
			char want[32];
			snprintf(want, sizeof(want), "ERR IPsec[%05d]", c->code);
			if (ok || !strstr(err, want))
				fail_msg("case %zu '%s': expected %s, got:\n%s", i, c->cmd, want, err);
		}
		if (c->err_has && !strstr(err, c->err_has))
			fail_msg("case %zu '%s': stderr lacks '%s':\n%s", i, c->cmd, c->err_has, err);
		if (c->out_has && !strstr(out, c->out_has))
			fail_msg("case %zu '%s': stdout lacks '%s':\n%s", i, c->cmd, c->out_has, out);
		free(err);
		free(out);
		run_close(&r);
	}
}

/* ---- whole-store behaviour ----------------------------------------------------------------- */

static void file_digest(const char *p, unsigned char md[32])
{
	FILE *f = fopen(p, "rb");
	assert_non_null(f);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	unsigned char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		EVP_DigestUpdate(ctx, buf, n);
	EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	fclose(f);
}

static void test_failed_command_leaves_file_unchanged(void **state)
{
	(void)state;
	static const char *const failing[] = {
		/* fails after its first filter was written: the second is a duplicate */
		"static add filter filterlist=\"All IP Traffic\" srcaddr=me dstaddr=twohosts.example",
		("static add rule name=X policy=\"Client (Respond Only)\" filterlist=\"All IP Traffic\" "
		 "filteraction=Nope"),
		"static delete policy name=Nope",
		"static set policy name=\"Client (Respond Only)\" pollinginterval=0",
	};
	struct run r;
	snprintf(path, sizeof(path), "%s/atomic.db", dir);
	run_open(&r);
	must(&r, "static add filter filterlist=\"All IP Traffic\" srcaddr=me dstaddr=2001:db8::10");
	run_close(&r);
	for (size_t i = 0; i < sizeof(failing) / sizeof(failing[0]); i++) {
		unsigned char before[32], after[32];
		file_digest(path, before);
		run_open(&r);
		assert_false(line(&r, failing[i]));
		run_close(&r);
		file_digest(path, after);
		assert_memory_equal(before, after, 32);
	}
}

static void test_batch_keeps_good_commands(void **state)
{
	(void)state;
	struct run r;
	snprintf(path, sizeof(path), "%s/batch.db", dir);
	run_open(&r);
	must(&r, "static set batch mode=enable");
	must(&r, "static add filterlist name=One");
	assert_false(line(&r, "static add filterlist name=One"));   /* duplicate: undone alone */
	must(&r, "static add filterlist name=Two");
	must(&r, "static set batch mode=disable");
	run_close(&r);
	run_open(&r);
	must(&r, "static show filterlist all format=table");
	char *out = strndup(r.out, r.outlen);
	assert_non_null(strstr(out, "One"));
	assert_non_null(strstr(out, "Two"));
	assert_non_null(strstr(out, "4 Filter List(s)"));
	free(out);
	run_close(&r);
}

static void test_rule_ids_and_auth_order(void **state)
{
	(void)state;
	struct run r;
	snprintf(path, sizeof(path), "%s/rules.db", dir);
	run_open(&r);
	must(&r, "static " POL);
	must(&r, "static " LIST);
	must(&r, "static " ACT);
	must(&r, "static add rule name=First policy=P filterlist=L filteraction=A "
	         "psk=\"a preshared key of some length\" kerberos=yes "
	         "rootca=\"CN=Root certmap:no excludecaname:yes\"");
	must(&r, "static add rule name=Second policy=P filterlist=L filteraction=A");
	must(&r, "static show rule all policy=P level=verbose");
	char *out = strndup(r.out, r.outlen);
	const char *first = strstr(out, "Rule ID                : 1\nRule Name              : First");
	const char *second = strstr(out, "Rule ID                : 2\nRule Name              : Second");
	const char *def = strstr(out, "Rule ID                : 3\nRule Name              : Default Response Rule");
	assert_non_null(first);
	assert_non_null(second);
	assert_non_null(def);
	assert_non_null(strstr(out, "Authentication Methods : Preshared key : a preshared key of some length\n"
	                            "                         Kerberos\n"
	                            "                         Root CA : CN=Root (CertMap: NO, ExcludeCAName: YES)\n"));
	free(out);
	/* The key is shown only at level=verbose. */
	must(&r, "static show rule name=First policy=P");
	out = strndup(r.out, r.outlen);
	assert_null(strstr(out, "a preshared key of some length"));
	free(out);
	/* set rule replaces the whole authentication list. */
	must(&r, "static set rule name=First policy=P kerberos=yes");
	must(&r, "static show rule id=1 policy=P");
	out = strndup(r.out, r.outlen);
	assert_non_null(strstr(out, "Authentication Methods : Kerberos\nFilter List Name"));
	free(out);
	run_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_command_leaves_file_unchanged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_keeps_good_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_ids_and_auth_order, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
