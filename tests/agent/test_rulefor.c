/*
 * `show rulefor` without a daemon: a policy written with netsh commands,
 * compiled as secpold compiles it (with this host's addresses made up), and
 * rulefor_explain() asked about packets -- the rule, the one-way filter,
 * the weight ordering, run-time filters, and that the answer is always the
 * SPD's (random packets against spd_lookup(); a policy that is not the
 * SPD's is refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "agent/internal.h"
#include "agent/keying.h"
#include "netsh/netsh.h"

static char tmpdir[4096];
static unsigned counter;

static struct ip_address me[3];
static enum conn_type me_kind[3] = { CONN_LAN, CONN_LAN, CONN_DIALUP };
static const struct host_addrs host = { .me = me, .me_kind = me_kind, .nme = 2 };
/* The same host with a dial-up link (198.51.100.1, point to point). */
static const struct host_addrs host_dialup = { .me = me, .me_kind = me_kind, .nme = 3 };

static struct ip_address ip(const char *text)
{
	struct ip_address a;
	assert_true(policy_parse_ip(text, &a));
	return a;
}

/* A store holding the script's objects; returns its path (static). */
static const char *store_with(const char *const *lines)
{
	static char path[4200];
	snprintf(path, sizeof(path), "%s/r%u.db", tmpdir, counter++);
	char *out = NULL, *err = NULL;
	size_t outlen = 0, errlen = 0;
	FILE *fo = open_memstream(&out, &outlen), *fe = open_memstream(&err, &errlen);
	struct netsh_session ns;
	netsh_session_init(&ns, path, fo, fe);
	for (size_t i = 0; lines[i]; i++)
		if (!netsh_exec_line(&ns, lines[i])) {
			fflush(fe);
			fail_msg("command failed: %s\n%s", lines[i], err);
		}
	assert_true(netsh_session_finish(&ns));
	fclose(fo);
	fclose(fe);
	free(out);
	free(err);
	return path;
}

static void compile_on(const struct host_addrs *h, const char *const *lines,
                       struct compiled_policy *cp);

static void compile(const char *const *lines, struct compiled_policy *cp)
{
	compile_on(&host, lines, cp);
}

static void compile_on(const struct host_addrs *h, const char *const *lines,
                       struct compiled_policy *cp)
{
	struct diag d;
	diag_init(&d);
	struct store *st = store_open(store_with(lines), &d);
	assert_non_null(st);
	char err[512];
	if (!compile_policy(st, h, NULL, cp, err, sizeof(err)))
		fail_msg("compile_policy: %s", err);
	store_close(st);
}

struct pkt {
	const char *src, *dst;
	uint8_t protocol;
	uint16_t sport, dport;
};

static struct spd_packet packet(struct pkt k)
{
	struct ip_address s = ip(k.src), t = ip(k.dst);
	struct spd_packet p = { .family = s.family, .protocol = k.protocol, .src_port = k.sport,
	                        .dst_port = k.dport };
	memcpy(p.src, s.bytes, 16);
	memcpy(p.dst, t.bytes, 16);
	return p;
}

static bool explain(const struct compiled_policy *cp, const struct spd *spd, struct pkt k,
                    enum spd_dir dir, struct netsh_rulefor *r)
{
	struct spd_packet p = packet(k);
	char err[512] = "";
	memset(r, 0, sizeof(*r));
	return rulefor_explain(cp, spd, NULL, 0, 0, &p, dir, r, err, sizeof(err));
}

static void expect_rule(const struct compiled_policy *cp, struct pkt k, enum spd_dir dir,
                        const char *rule, enum filter_action_kind action,
                        struct netsh_rulefor *r)
{
	if (!explain(cp, cp->spd, k, dir, r))
		fail_msg("no answer for %s -> %s", k.src, k.dst);
	assert_int_equal(r->kind, RULEFOR_POLICY);
	assert_string_equal(r->rule, rule);
	assert_int_equal(r->action, action);
	assert_string_equal(r->policy, "P");
}

/* The policy of the end-to-end test: a block for one TCP port, a permit
 * for ICMP, a negotiate for a subnet, a mirrored rule for everything of
 * this host's -- and a tunnel rule. */
static const char *const policy_p[] = {
	"static add filter filterlist=telnet srcaddr=me dstaddr=any protocol=tcp dstport=23",
	"static add filter filterlist=icmp srcaddr=me dstaddr=any protocol=icmp",
	"static add filter filterlist=lab srcaddr=me dstaddr=10.9.0.0 dstmask=16",
	"static add filter filterlist=mine srcaddr=me dstaddr=any",
	"static add filter filterlist=nets srcaddr=172.16.0.0 srcmask=16 dstaddr=172.17.0.0 "
	"dstmask=16 mirrored=no",
	"static add filteraction name=deny action=block",
	"static add filteraction name=pass action=permit",
	"static add filteraction name=require action=negotiate inpass=yes soft=yes",
	"static add policy name=P",
	"static add rule name=block-telnet policy=P filterlist=telnet filteraction=deny",
	"static add rule name=icmp policy=P filterlist=icmp filteraction=pass",
	"static add rule name=lab policy=P filterlist=lab filteraction=require "
	"psk=\"a lab key that is long enough\"",
	"static add rule name=all-mine policy=P filterlist=mine filteraction=pass",
	"static add rule name=gw policy=P filterlist=nets filteraction=require tunnel=198.51.100.9 "
	"psk=\"a lab key that is long enough\"",
	"static set policy name=P assign=yes",
	NULL,
};

static void test_specific_wins(void **state)
{
	(void)state;
	struct compiled_policy cp;
	compile(policy_p, &cp);
	struct netsh_rulefor r, all;

	/* TCP/23: the port makes block-telnet heavier than all-mine. */
	expect_rule(&cp, (struct pkt){ "192.0.2.1", "198.51.100.7", 6, 1024, 23 }, SPD_OUTBOUND,
	            "block-telnet", ACTION_BLOCK, &r);
	assert_string_equal(r.filterlist, "telnet");
	assert_string_equal(r.filteraction, "deny");
	assert_int_equal(r.mirror, RULEFOR_MIRROR_AS_WRITTEN);
	assert_int_equal(r.filter_no, 1);
	assert_int_equal(r.src_len, 32);
	assert_int_equal(r.dst_len, 0);
	assert_int_equal(r.protocol, 6);
	assert_int_equal(r.dst_port, 23);
	assert_int_equal(r.src_port, 0);
	expect_rule(&cp, (struct pkt){ "192.0.2.1", "198.51.100.7", 17, 1024, 53 }, SPD_OUTBOUND,
	            "all-mine", ACTION_PERMIT, &all);
	assert_true(r.weight > all.weight);
	assert_true(r.position < all.position);
	assert_int_equal(r.count, cp.nsteer);

	/* ICMP: the protocol beats all-mine. */
	expect_rule(&cp, (struct pkt){ "192.0.2.1", "198.51.100.7", 1, 0, 0 }, SPD_OUTBOUND,
	            "icmp", ACTION_PERMIT, &r);
	assert_true(r.weight > all.weight);

	/* A /16 destination outweighs a port: lab wins over block-telnet. */
	expect_rule(&cp, (struct pkt){ "192.0.2.1", "10.9.1.2", 6, 1024, 23 }, SPD_OUTBOUND, "lab",
	            ACTION_NEGOTIATE, &r);
	assert_true(r.inpass);
	assert_true(r.soft);
	assert_false(r.has_tunnel);
	assert_int_equal(r.dst_len, 16);
	assert_int_equal(r.weight, spd_weight(&(struct spd_filter){
		.src_len = 32, .dst_len = 16, .action = ACTION_NEGOTIATE }));

	/* Inbound: the mirror halves, ports swapped. */
	expect_rule(&cp, (struct pkt){ "198.51.100.7", "192.0.2.1", 6, 23, 40000 }, SPD_INBOUND,
	            "block-telnet", ACTION_BLOCK, &r);
	assert_int_equal(r.mirror, RULEFOR_MIRROR_SWAPPED);
	assert_int_equal(r.src_port, 23);
	assert_int_equal(r.dst_port, 0);
	expect_rule(&cp, (struct pkt){ "198.51.100.7", "192.0.2.1", 6, 40000, 23 }, SPD_INBOUND,
	            "all-mine", ACTION_PERMIT, &r);

	/* IPv6: "me" is both addresses. */
	expect_rule(&cp, (struct pkt){ "2001:db8::1", "2001:db8::99", 6, 1, 23 }, SPD_OUTBOUND,
	            "block-telnet", ACTION_BLOCK, &r);
	assert_int_equal(r.src_len, 128);

	/* A tunnel rule: its endpoint, a one-way filter, no tunnel bonus. */
	expect_rule(&cp, (struct pkt){ "172.16.1.1", "172.17.2.2", 6, 1, 2 }, SPD_OUTBOUND, "gw",
	            ACTION_NEGOTIATE, &r);
	assert_true(r.has_tunnel);
	assert_memory_equal(r.tunnel.bytes, ip("198.51.100.9").bytes, 4);
	assert_int_equal(r.mirror, RULEFOR_NOT_MIRRORED);
	assert_int_equal(r.weight, spd_weight(&(struct spd_filter){
		.src_len = 16, .dst_len = 16, .action = ACTION_NEGOTIATE, .tunnel = true }));

	/* Nothing: forwarded traffic of no rule, and a port with ICMP ignored. */
	assert_true(explain(&cp, cp.spd, (struct pkt){ "198.51.100.7", "203.0.113.9", 6, 1, 23 },
	                    SPD_OUTBOUND, &r));
	assert_int_equal(r.kind, RULEFOR_NO_MATCH);
	assert_string_equal(r.policy, "P");
	/* The tunnel rule is outbound only (its endpoint is the peer). */
	assert_true(explain(&cp, cp.spd, (struct pkt){ "172.17.2.2", "172.16.1.1", 6, 1, 2 },
	                    SPD_INBOUND, &r));
	assert_int_equal(r.kind, RULEFOR_NO_MATCH);
	compiled_policy_free(&cp);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* Random packets near the policy's addresses: every answer must be given
 * (rulefor_explain() fails when its scan and spd_lookup() disagree). */
static void test_agrees_with_spd(void **state)
{
	(void)state;
	struct compiled_policy cp;
	compile(policy_p, &cp);
	static const char *const addrs[] = { "192.0.2.1", "192.0.2.7", "10.9.1.2", "10.8.0.1",
	                                     "198.51.100.7", "172.16.3.4", "172.17.9.9",
	                                     "2001:db8::1", "2001:db8::2", "::1" };
	static const uint8_t protos[] = { 0, 1, 6, 17, 47, 58 };
	static const uint16_t ports[] = { 0, 23, 53, 1024 };
	size_t n = sizeof(addrs) / sizeof(addrs[0]), matched = 0;
	for (unsigned i = 0; i < 20000; i++) {
		struct pkt k = { addrs[rnd() % n], addrs[rnd() % n], protos[rnd() % 6],
		                 ports[rnd() % 4], ports[rnd() % 4] };
		if (!strchr(k.src, ':') != !strchr(k.dst, ':'))
			continue;   /* one family */
		struct netsh_rulefor r;
		struct spd_packet p = packet(k);
		char err[512] = "";
		memset(&r, 0, sizeof(r));
		enum spd_dir dir = rnd() & 1 ? SPD_INBOUND : SPD_OUTBOUND;
		if (!rulefor_explain(&cp, cp.spd, NULL, 0, 0, &p, dir, &r, err, sizeof(err)))
			fail_msg("%s -> %s proto %u: %s", k.src, k.dst, k.protocol, err);
		struct spd_match m;
		assert_int_equal(r.kind == RULEFOR_POLICY, spd_lookup(cp.spd, &p, dir, &m));
		if (r.kind == RULEFOR_POLICY) {
			matched++;
			assert_int_equal(r.rule_id, m.rule_id);
			assert_int_equal(r.weight, m.weight);
		}
	}
	assert_true(matched > 1000);
	compiled_policy_free(&cp);
}

/* The compiled policy must be the SPD's: another SPD gets no answer. */
static void test_disagreement_refused(void **state)
{
	(void)state;
	static const char *const other[] = {
		"static add filter filterlist=x srcaddr=me dstaddr=any protocol=tcp dstport=23",
		"static add filteraction name=pass action=permit",
		"static add policy name=Q",
		"static add rule name=x policy=Q filterlist=x filteraction=pass",
		"static set policy name=Q assign=yes",
		NULL,
	};
	struct compiled_policy cp, cq;
	compile(policy_p, &cp);
	compile(other, &cq);
	struct spd_packet p = packet((struct pkt){ "192.0.2.1", "198.51.100.7", 6, 1024, 23 });
	struct netsh_rulefor r;
	char err[512] = "";
	assert_false(rulefor_explain(&cp, cq.spd, NULL, 0, 0, &p, SPD_OUTBOUND, &r, err,
	                             sizeof(err)));
	assert_non_null(strstr(err, "the SPD in force decides"));
	/* Where both say nothing, there is nothing to disagree about. */
	p = packet((struct pkt){ "198.51.100.7", "203.0.113.9", 6, 1, 2 });
	assert_true(rulefor_explain(&cp, cq.spd, NULL, 0, 0, &p, SPD_OUTBOUND, &r, err,
	                            sizeof(err)));
	assert_int_equal(r.kind, RULEFOR_NO_MATCH);
	/* No SPD at all. */
	assert_false(rulefor_explain(&cp, NULL, NULL, 0, 0, &p, SPD_OUTBOUND, &r, err,
	                             sizeof(err)));
	compiled_policy_free(&cp);
	compiled_policy_free(&cq);
}

/* Run-time filters come first: a soft association, the default response rule's. */
static void test_runtime_filters(void **state)
{
	(void)state;
	struct compiled_policy cp;
	compile(policy_p, &cp);
	uint32_t lab = 0, def = 0;
	for (size_t i = 0; i < cp.nrule_origin; i++) {
		if (!strcmp(cp.rule_origin[i].name, "lab"))
			lab = cp.rule_origin[i].id;
		if (cp.rule_origin[i].is_default)
			def = cp.rule_origin[i].id;
	}
	assert_int_not_equal(lab, 0);
	assert_int_not_equal(def, 0);
	struct keying_filter rt[2];
	memset(rt, 0, sizeof(rt));
	rt[0].f = (struct driver_dynamic){ .rule_id = lab, .action = ACTION_PERMIT,
	                                   .local_len = 32, .remote_len = 32 };
	rt[0].f.local.family = rt[0].f.remote.family = AF_INET;
	memcpy(rt[0].f.local.bytes, ip("192.0.2.1").bytes, 4);
	memcpy(rt[0].f.remote.bytes, ip("10.9.0.2").bytes, 4);
	rt[0].until_ms = 300000;
	rt[1].f = (struct driver_dynamic){ .rule_id = def, .action = ACTION_NEGOTIATE,
	                                   .local_len = 32, .remote_len = 24 };
	rt[1].f.local.family = rt[1].f.remote.family = AF_INET;
	memcpy(rt[1].f.local.bytes, ip("192.0.2.1").bytes, 4);
	memcpy(rt[1].f.remote.bytes, ip("198.51.100.0").bytes, 4);
	rt[1].refs = 1;

	struct netsh_rulefor r;
	char err[512];
	/* The soft association, both ways, its time left. */
	struct spd_packet p = packet((struct pkt){ "10.9.0.2", "192.0.2.1", 6, 1, 23 });
	memset(&r, 0, sizeof(r));
	assert_true(rulefor_explain(&cp, cp.spd, rt, 2, 100000, &p, SPD_INBOUND, &r, err,
	                            sizeof(err)));
	assert_int_equal(r.kind, RULEFOR_RUNTIME);
	assert_string_equal(r.rule, "lab");
	assert_int_equal(r.action, ACTION_PERMIT);
	assert_int_equal(r.expires_s, 200);
	assert_memory_equal(r.src.bytes, ip("10.9.0.2").bytes, 4);
	assert_int_equal(r.src_len, 32);
	p = packet((struct pkt){ "192.0.2.1", "10.9.0.2", 1, 0, 0 });
	assert_true(rulefor_explain(&cp, cp.spd, rt, 2, 100000, &p, SPD_OUTBOUND, &r, err,
	                            sizeof(err)));
	assert_int_equal(r.kind, RULEFOR_RUNTIME);
	/* The default response rule's filter, before block-telnet. */
	p = packet((struct pkt){ "192.0.2.1", "198.51.100.7", 6, 1024, 23 });
	memset(&r, 0, sizeof(r));
	assert_true(rulefor_explain(&cp, cp.spd, rt, 2, 100000, &p, SPD_OUTBOUND, &r, err,
	                            sizeof(err)));
	assert_int_equal(r.kind, RULEFOR_RUNTIME);
	assert_true(r.is_default);
	assert_string_equal(r.rule, "Default Response Rule");
	assert_string_equal(r.filterlist, "<Dynamic>");
	assert_string_equal(r.filteraction, "Default Response");
	assert_int_equal(r.action, ACTION_NEGOTIATE);
	assert_int_equal(r.expires_s, 0);
	assert_int_equal(r.dst_len, 24);
	/* Narrowed as the peer's selectors were (TCP to its port 23): other
	 * traffic to it is the policy's again. */
	rt[1].f.protocol = 6;
	rt[1].f.remote_ports[0] = rt[1].f.remote_ports[1] = 23;
	p = packet((struct pkt){ "192.0.2.1", "198.51.100.7", 6, 1024, 23 });
	memset(&r, 0, sizeof(r));
	assert_true(rulefor_explain(&cp, cp.spd, rt, 2, 100000, &p, SPD_OUTBOUND, &r, err,
	                            sizeof(err)));
	assert_int_equal(r.kind, RULEFOR_RUNTIME);
	assert_int_equal(r.protocol, 6);
	assert_int_equal(r.dst_port, 23);
	assert_int_equal(r.src_port, 0);
	p = packet((struct pkt){ "192.0.2.1", "198.51.100.7", 6, 1024, 80 });
	memset(&r, 0, sizeof(r));
	assert_true(rulefor_explain(&cp, cp.spd, rt, 2, 100000, &p, SPD_OUTBOUND, &r, err,
	                            sizeof(err)));
	assert_int_not_equal(r.kind, RULEFOR_RUNTIME);
	/* Another host of the subnet: the policy. */
	p = packet((struct pkt){ "192.0.2.7", "10.9.0.2", 6, 1024, 23 });
	assert_true(rulefor_explain(&cp, cp.spd, rt, 2, 100000, &p, SPD_OUTBOUND, &r, err,
	                            sizeof(err)));
	assert_int_equal(r.kind, RULEFOR_NO_MATCH);
	compiled_policy_free(&cp);
}

static void test_no_policy(void **state)
{
	(void)state;
	static const char *const none[] = { "static add policy name=Idle", NULL };
	struct compiled_policy cp;
	compile(none, &cp);
	struct netsh_rulefor r;
	assert_true(explain(&cp, cp.spd, (struct pkt){ "192.0.2.1", "198.51.100.7", 6, 1, 23 },
	                    SPD_OUTBOUND, &r));
	assert_int_equal(r.kind, RULEFOR_NO_MATCH);
	assert_string_equal(r.policy, "");
	assert_int_equal(r.count, 0);
	compiled_policy_free(&cp);
}

/* Connection types: a conntype=dialup rule holds for this host's address on
 * the dial-up link only, a conntype=lan rule for the others. */
static void test_conntype(void **state)
{
	(void)state;
	static const char *const lines[] = {
		"static add filter filterlist=icmp srcaddr=me dstaddr=any protocol=icmp",
		"static add filter filterlist=tcp srcaddr=me dstaddr=any protocol=tcp",
		"static add filteraction name=require action=negotiate",
		"static add filteraction name=pass action=permit",
		"static add policy name=P",
		"static add rule name=dial policy=P filterlist=icmp filteraction=require "
		"conntype=dialup psk=\"a lab key that is long enough\"",
		"static add rule name=lan policy=P filterlist=tcp filteraction=pass conntype=lan",
		"static set policy name=P assign=yes",
		NULL,
	};
	struct compiled_policy cp;
	compile_on(&host_dialup, lines, &cp);
	struct netsh_rulefor r;
	expect_rule(&cp, (struct pkt){ "198.51.100.1", "203.0.113.5", 1, 0, 0 }, SPD_OUTBOUND,
	            "dial", ACTION_NEGOTIATE, &r);
	assert_int_equal(r.src_len, 32);
	expect_rule(&cp, (struct pkt){ "203.0.113.5", "198.51.100.1", 1, 0, 0 }, SPD_INBOUND,
	            "dial", ACTION_NEGOTIATE, &r);
	expect_rule(&cp, (struct pkt){ "192.0.2.1", "203.0.113.5", 6, 1024, 80 }, SPD_OUTBOUND,
	            "lan", ACTION_PERMIT, &r);
	expect_rule(&cp, (struct pkt){ "2001:db8::1", "2001:db8::5", 6, 1024, 80 }, SPD_OUTBOUND,
	            "lan", ACTION_PERMIT, &r);
	/* The other kind of interface: not filtered at all. */
	assert_true(explain(&cp, cp.spd, (struct pkt){ "192.0.2.1", "203.0.113.5", 1, 0, 0 },
	                    SPD_OUTBOUND, &r));
	assert_int_equal(r.kind, RULEFOR_NO_MATCH);
	assert_true(explain(&cp, cp.spd, (struct pkt){ "198.51.100.1", "203.0.113.5", 6, 1, 80 },
	                    SPD_OUTBOUND, &r));
	assert_int_equal(r.kind, RULEFOR_NO_MATCH);
	/* The dial-up link has no IPv6 address: that half of "dial" is out. */
	assert_true(cp.other_conntype > 0);
	/* IKE negotiates "dial" for the dial-up address only. */
	bool found = false;
	for (size_t i = 0; i < cp.nike; i++) {
		if (strcmp(cp.ike_rules[i].name, "dial"))
			continue;
		found = true;
		assert_true(cp.ike_rules[i].nsel > 0);
		for (size_t k = 0; k < cp.ike_rules[i].nsel; k++)
			assert_memory_equal(cp.ike_rules[i].local[k].net.bytes, me[2].bytes, 4);
	}
	assert_true(found);
	compiled_policy_free(&cp);
}

/* The worst range there is, ::1 to ffff:...:fffe, is 254 prefixes: all of
 * them come out, in order, each starting where the last one ended. */
static void test_widest_range(void **state)
{
	(void)state;
	struct ip_address lo = ip("::1"), hi = ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
	struct ip_address out[256];
	uint8_t len[256];
	size_t n = range_to_prefixes(AF_INET6, lo.bytes, hi.bytes, out, len, 256);
	assert_int_equal(n, 254);
	assert_memory_equal(out[0].bytes, lo.bytes, 16);
	assert_int_equal(len[0], 128);
	assert_memory_equal(out[n - 1].bytes, hi.bytes, 16);
	assert_int_equal(len[n - 1], 128);
	/* From ::2 up the blocks double (/127 ... /2 at 4000::), then halve
	 * again from 8000::/2 (8000::/1 would pass the top). */
	for (size_t i = 1; i < n; i++) {
		assert_int_equal(len[i], i < 127 ? 128 - i : i - 125);
		/* contiguous: this one starts right after the last one ended */
		uint8_t next[16];
		memcpy(next, out[i - 1].bytes, 16);
		unsigned bit = 128 - len[i - 1];   /* add 2^bit */
		int carry = 1 << (bit % 8);
		for (int b = 15 - (int)(bit / 8); b >= 0 && carry; b--) {
			int v = next[b] + carry;
			next[b] = (uint8_t)v;
			carry = v >> 8;
		}
		assert_memory_equal(next, out[i].bytes, 16);
	}
}

static int setup(void **state)
{
	(void)state;
	const char *base = getenv("SECPOL_TEST_TMP");
	snprintf(tmpdir, sizeof(tmpdir), "%s/rulefor-test-XXXXXX", base ? base : "/tmp");
	assert_non_null(mkdtemp(tmpdir));
	me[0] = ip("192.0.2.1");
	me[1] = ip("2001:db8::1");
	me[2] = ip("198.51.100.1");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_specific_wins),
		cmocka_unit_test(test_agrees_with_spd),
		cmocka_unit_test(test_disagreement_refused),
		cmocka_unit_test(test_runtime_filters),
		cmocka_unit_test(test_no_policy),
		cmocka_unit_test(test_conntype),
		cmocka_unit_test(test_widest_range),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
