/*
 * The entities of the policy model: initial values, validation, names,
 * authentication lists, filter matching, tunnel rules and the predefined
 * sample objects (netsh-ipsec.md §2-§3, windows-ipsec-model.md §2, §4, §7;
 * src/policy/entities.c, src/policy/defaults.c).
 */
#include "policy_test.h"

#include <stdlib.h>

/* ---- helpers ------------------------------------------------------------------ */

static struct filter_addr addr(const char *text)
{
	struct diag d;
	struct filter_addr a;
	diag_init(&d);
	if (policy_parse_address("srcaddr", text, &a, &d) != ADDR_PARSE_OK)
		fail_msg("'%s' does not parse: %s", text, d.msg);
	return a;
}

static struct filter addr_mask(const char *src, const char *srcmask, const char *dst)
{
	struct diag d;
	struct filter f;
	diag_init(&d);
	policy_filter_init(&f);
	f.src = addr(src);
	f.dst = addr(dst);
	if (srcmask && !policy_apply_mask("srcmask", srcmask, &f.src, &d))
		fail_msg("mask '%s': %s", srcmask, d.msg);
	return f;
}

static struct filter mkfilter(const char *src, const char *dst, uint8_t proto,
                              uint16_t srcport, uint16_t dstport, bool mirrored)
{
	struct filter f;
	policy_filter_init(&f);
	f.src = addr(src);
	f.dst = addr(dst);
	f.protocol = proto;
	f.srcport = srcport;
	f.dstport = dstport;
	f.mirrored = mirrored;
	return f;
}

static void filter_ok(const struct filter *f)
{
	struct diag d;
	diag_init(&d);
	if (!policy_validate_filter(f, &d))
		fail_msg("filter rejected: %d %s", (int)d.code, d.msg);
	assert_diag_ok(&d);
}

static void filter_bad(const struct filter *f, enum ipsec_err code)
{
	struct diag d;
	diag_init(&d);
	if (policy_validate_filter(f, &d))
		fail_msg("filter accepted, expected error %d", (int)code);
	assert_int_equal(d.code, code);
}

static void qm_text(const struct qm_methods *q, const char *expected)
{
	char buf[1024];
	policy_format_qmsec(q, buf, sizeof(buf));
	assert_string_equal(buf, expected);
}

static void mm_text(const struct mm_methods *m, const char *expected)
{
	char buf[1024];
	policy_format_mmsec(m, buf, sizeof(buf));
	assert_string_equal(buf, expected);
}

#define MODERN_QM "ESP[AESGCM256]:100000k/3600s ESP[AESGCM128]:100000k/3600s " \
	"ESP[AES256,SHA256]:100000k/3600s ESP[AES128,SHA256]:100000k/3600s"
#define LEGACY_QM "ESP[3DES,SHA1]:100000k/3600s ESP[3DES,MD5]:100000k/3600s"
#define MODERN_MM "AES256-SHA256-14 AES128-SHA256-14 AES128-SHA256-19"
#define LEGACY_MM "3DES-SHA1-3 3DES-SHA1-2"
#define WINDOWS_QM "ESP[3DES,SHA1]:100000k/3600s ESP[3DES,MD5]:100000k/3600s " \
	"ESP[DES,SHA1]:100000k/3600s ESP[DES,MD5]:100000k/3600s"
#define WINDOWS_MM "3DES-SHA1-2 3DES-MD5-2 DES-SHA1-1 DES-MD5-1"

/* ---- initial values (windows-ipsec-model.md §2, §7; netsh-ipsec.md §3) ---------------- */

static void test_filter_init(void **state)
{
	(void)state;
	struct filter f;
	memset(&f, 0xee, sizeof(f));
	policy_filter_init(&f);
	assert_true(f.mirrored);              /* mirrored=yes */
	assert_int_equal(f.src.kind, ADDR_ANY);
	assert_int_equal(f.dst.kind, ADDR_ANY);
	assert_int_equal(f.protocol, 0);      /* ANY */
	assert_int_equal(f.srcport, 0);
	assert_int_equal(f.dstport, 0);
	assert_string_equal(f.description, "");
}

static void test_filter_action_init(void **state)
{
	(void)state;
	struct filter_action fa;
	memset(&fa, 0xee, sizeof(fa));
	policy_filter_action_init(&fa, PROFILE_MODERN);
	assert_int_equal(fa.action, ACTION_NEGOTIATE);
	assert_false(fa.inpass);
	assert_false(fa.soft);
	assert_false(fa.qmpfs);
	assert_string_equal(fa.name, "");
	assert_string_equal(fa.description, "");
	assert_string_equal(fa.guid, "");
	qm_text(&fa.methods, MODERN_QM);

	policy_filter_action_init(&fa, PROFILE_LEGACY);
	assert_int_equal(fa.action, ACTION_NEGOTIATE);
	qm_text(&fa.methods, LEGACY_QM);
}

static void test_rule_init(void **state)
{
	(void)state;
	struct rule r;
	memset(&r, 0xee, sizeof(r));
	policy_rule_init(&r);
	assert_true(r.active);
	assert_false(r.is_default);
	assert_false(r.has_tunnel);
	assert_false(r.qmpfs);
	assert_int_equal(r.conntype, CONN_ALL);
	assert_int_equal(r.auth.n, 1);        /* Kerberos V5 only */
	assert_int_equal(r.auth.m[0].kind, AUTH_KERBEROS);
	assert_string_equal(r.auth.m[0].value, "");
	assert_string_equal(r.filterlist, "");
	assert_string_equal(r.filteraction, "");
	assert_int_equal(r.methods.n, 0);
}

static void test_default_rule_init(void **state)
{
	(void)state;
	struct rule r;
	memset(&r, 0xee, sizeof(r));
	policy_default_rule_init(&r, PROFILE_MODERN);
	assert_true(r.is_default);
	assert_true(r.active);
	assert_string_equal(r.name, "Default Response Rule");
	assert_string_equal(r.filterlist, "");
	assert_string_equal(r.filteraction, "");
	assert_int_equal(r.auth.n, 1);
	assert_int_equal(r.auth.m[0].kind, AUTH_KERBEROS);
	assert_false(r.qmpfs);
	assert_false(r.has_tunnel);
	qm_text(&r.methods, MODERN_QM);

	policy_default_rule_init(&r, PROFILE_LEGACY);
	qm_text(&r.methods, LEGACY_QM);
}

static void test_policy_init(void **state)
{
	(void)state;
	struct policy p;
	memset(&p, 0xee, sizeof(p));
	policy_policy_init(&p, PROFILE_MODERN);
	assert_int_equal(p.pollinginterval, 180);
	assert_int_equal(p.mmlifetime, 480);
	assert_int_equal(POLICY_DEFAULT_POLLING, 180);
	assert_int_equal(POLICY_DEFAULT_MMLIFE, 480);
	assert_false(p.mmpfs);
	assert_int_equal(p.qmpermm, 0);       /* unlimited */
	assert_false(p.assigned);
	assert_null(p.rules);
	assert_int_equal(p.nrules, 0);
	assert_string_equal(p.name, "");
	mm_text(&p.mm, MODERN_MM);

	policy_policy_init(&p, PROFILE_LEGACY);
	mm_text(&p.mm, LEGACY_MM);

	/* The accepted ranges of §3.4. */
	assert_int_equal(POLICY_MMLIFE_MIN, 5);
	assert_int_equal(POLICY_MMLIFE_MAX, 2879);
}

/* ---- names and descriptions ----------------------------------------------------------- */

static void test_validate_name_ok(void **state)
{
	(void)state;
	char longest[POLICY_NAME_MAX];
	memset(longest, 'n', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	const char *const ok[] = {
		"x", "RDP lockdown", "All IP Traffic", "Request Security (Optional)",
		"O'Brien's rule", "R\xc3\xa8gle r\xc3\xa9seau", "allow", "all2", "call",
		"a/b\\c=d", longest,
	};
	for (size_t i = 0; i < NELEM(ok); i++) {
		struct diag d;
		diag_init(&d);
		if (!policy_validate_name("name", ok[i], &d))
			fail_msg("'%s' rejected: %s", ok[i], d.msg);
		assert_diag_ok(&d);
	}
}

static void test_validate_name_bad(void **state)
{
	(void)state;
	const char *const bad[] = {
		"", "say \"hi\"", "\"", "tab\there", "new\nline", "del\x7f", "\x01", "all", "ALL",
		"All", "aLl",
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct diag d;
		diag_init(&d);
		if (policy_validate_name("newname", bad[i], &d))
			fail_msg("'%s' accepted", bad[i]);
		assert_diag_error(&d, ERR_BAD_VALUE, "newname", bad[i]);
	}

	struct diag d;
	diag_init(&d);
	assert_false(policy_validate_name("name", "", &d));
	assert_contains(d.msg, "non-empty");

	diag_init(&d);
	assert_false(policy_validate_name("name", "All", &d));
	assert_contains(d.msg, "reserved word 'all'");

	diag_init(&d);
	assert_false(policy_validate_name("name", "a\"b", &d));
	assert_contains(d.msg, "double quotes");
}

static void test_validate_name_too_long(void **state)
{
	(void)state;
	char name[POLICY_NAME_MAX + 100];
	memset(name, 'N', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	for (size_t len = POLICY_NAME_MAX; len < sizeof(name); len += 50) {
		char copy[sizeof(name)];
		memcpy(copy, name, len);
		copy[len] = '\0';
		struct diag d;
		diag_init(&d);
		assert_false(policy_validate_name("name", copy, &d));
		assert_int_equal(d.code, ERR_BAD_VALUE);
		assert_contains(d.msg, "'name'");
		assert_contains(d.msg, "at most 255 characters");
		assert_contains(d.msg, "NNNNNNNNNN");   /* the start of the value */
	}
}

static void test_validate_description(void **state)
{
	(void)state;
	char text[POLICY_DESC_MAX + 1];
	struct diag d;

	diag_init(&d);
	assert_true(policy_validate_description("description", "", &d));   /* empty allowed */
	assert_true(policy_validate_description("description",
	                                        "TCP 3389 from 10.1.2.0/24 - it's fine", &d));
	memset(text, 'd', POLICY_DESC_MAX - 1);
	text[POLICY_DESC_MAX - 1] = '\0';
	assert_true(policy_validate_description("description", text, &d));
	assert_diag_ok(&d);

	memset(text, 'd', POLICY_DESC_MAX);
	text[POLICY_DESC_MAX] = '\0';
	assert_false(policy_validate_description("description", text, &d));
	assert_int_equal(d.code, ERR_BAD_VALUE);
	assert_contains(d.msg, "'description'");
	assert_contains(d.msg, "at most 511 characters");

	diag_init(&d);
	assert_false(policy_validate_description("description", "a \"quoted\" word", &d));
	assert_diag_error(&d, ERR_BAD_VALUE, "description", "a \"quoted\" word");
	diag_init(&d);
	assert_false(policy_validate_description("description", "line\r\n", &d));
	assert_diag_error(&d, ERR_BAD_VALUE, "description", "line\r\n");
}

/* ---- filters ---------------------------------------------------------------------------- */

static void test_validate_filter_ok(void **state)
{
	(void)state;
	const struct filter ok[] = {
		mkfilter("me", "any", 0, 0, 0, true),
		mkfilter("any", "me", 0, 0, 0, true),
		mkfilter("any", "any", 0, 0, 0, true),   /* [D] accepted */
		mkfilter("me", "10.1.2.3", 1, 0, 0, false),
		mkfilter("10.0.0.0/8", "me", 6, 0, 3389, true),
		mkfilter("10.1.2.0/24", "10.9.9.9", 17, 53, 53, true),
		mkfilter("10.0.0.1-10.0.0.9", "me", 0, 0, 0, true),
		mkfilter("10.0.0.1-10.0.0.9", "192.168.0.0/16", 0, 0, 0, false),
		mkfilter("2001:db8::1", "2001:db8::/32", 6, 1024, 443, true),
		mkfilter("me", "2001:db8::1", 0, 0, 0, true),
		mkfilter("any", "2001:db8::1-2001:db8::9", 0, 0, 0, true),
		mkfilter("0.0.0.0", "10.1.2.3", 6, 0, 80, true),
		mkfilter("me", "any", 6, 65535, 0, true),
		mkfilter("me", "any", 17, 0, 65535, true),
		mkfilter("me", "any", 58, 0, 0, true),
		mkfilter("me", "any", 255, 0, 0, true),
	};
	for (size_t i = 0; i < NELEM(ok); i++)
		filter_ok(&ok[i]);
}

static void test_validate_filter_me_to_me(void **state)
{
	(void)state;
	struct filter f = mkfilter("me", "me", 0, 0, 0, true);
	struct diag d;
	diag_init(&d);
	assert_false(policy_validate_filter(&f, &d));
	assert_diag_error(&d, ERR_BAD_VALUE, "dstaddr", "me");
	f.mirrored = false;
	f.protocol = 6;
	f.dstport = 80;
	filter_bad(&f, ERR_BAD_VALUE);
	f = mkfilter("ME", "Me", 0, 0, 0, false);
	filter_bad(&f, ERR_BAD_VALUE);
}

static void test_validate_filter_server_pairing(void **state)
{
	(void)state;
	static const char *const servers[] = { "dns", "wins", "dhcp", "gateway" };
	static const char *const others[] = {
		"any", "10.1.2.3", "10.1.2.0/24", "10.0.0.1-10.0.0.5", "2001:db8::1",
		"dns", "wins", "dhcp", "gateway",
	};
	for (size_t i = 0; i < NELEM(servers); i++) {
		/* With 'me' on the other side, in either direction: fine. */
		struct filter f = mkfilter(servers[i], "me", 17, 0, 0, true);
		filter_ok(&f);
		f = mkfilter("me", servers[i], 6, 0, 53, false);
		filter_ok(&f);
		for (size_t j = 0; j < NELEM(others); j++) {
			struct diag d;
			f = mkfilter(servers[i], others[j], 0, 0, 0, true);
			diag_init(&d);
			assert_false(policy_validate_filter(&f, &d));
			assert_int_equal(d.code, ERR_SERVER_PAIRING);
			assert_contains(d.msg, "When one address is a server type, the other "
			                       "must be 'me'");
			/* The message names both values (canonical form). */
			char want[200];
			snprintf(want, sizeof(want), "srcaddr=%s, dstaddr=", servers[i]);
			assert_contains(d.msg, want);
			policy_format_address(&f.dst, want, sizeof(want));
			assert_contains(d.msg, want);
			f = mkfilter(others[j], servers[i], 0, 0, 0, true);
			filter_bad(&f, ERR_SERVER_PAIRING);
		}
	}
}

static void test_validate_filter_ports_need_tcp_udp(void **state)
{
	(void)state;
	static const uint8_t protos[] = { 0, 1, 2, 47, 50, 51, 58, 255 };
	for (size_t i = 0; i < NELEM(protos); i++) {
		struct filter f = mkfilter("me", "any", protos[i], 0, 80, true);
		struct diag d;
		diag_init(&d);
		assert_false(policy_validate_filter(&f, &d));
		assert_int_equal(d.code, ERR_PORT_PROTOCOL);
		assert_contains(d.msg, "Ports can only be specified with protocol TCP or UDP");
		/* The message names the protocol and the ports given. */
		char name[8], want[64];
		snprintf(want, sizeof(want), "protocol=%s",
		         policy_protocol_name(protos[i], name, sizeof(name)));
		assert_contains(d.msg, want);
		assert_contains(d.msg, "dstport=80");
		f = mkfilter("me", "any", protos[i], 1024, 0, true);
		filter_bad(&f, ERR_PORT_PROTOCOL);
		f = mkfilter("me", "any", protos[i], 0, 0, true);
		filter_ok(&f);
	}
}

static void test_validate_filter_family_mismatch(void **state)
{
	(void)state;
	const struct filter bad[] = {
		mkfilter("10.0.0.1", "2001:db8::1", 0, 0, 0, true),
		mkfilter("2001:db8::/32", "10.0.0.0/8", 0, 0, 0, true),
		mkfilter("10.0.0.1-10.0.0.9", "2001:db8::1", 0, 0, 0, true),
		mkfilter("2001:db8::1-2001:db8::9", "10.0.0.1-10.0.0.9", 6, 0, 80, true),
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct diag d;
		diag_init(&d);
		assert_false(policy_validate_filter(&bad[i], &d));
		assert_int_equal(d.code, ERR_BAD_VALUE);
		assert_contains(d.msg, "different families");
		/* Names dstaddr with its value, and the srcaddr it clashes with. */
		char dst[128], src[128], want[160];
		policy_format_address(&bad[i].dst, dst, sizeof(dst));
		policy_format_address(&bad[i].src, src, sizeof(src));
		assert_diag_error(&d, ERR_BAD_VALUE, "dstaddr", dst);
		snprintf(want, sizeof(want), "srcaddr=%s", src);
		assert_contains(d.msg, want);
	}
}

static void test_validate_filter_description(void **state)
{
	(void)state;
	struct filter f = mkfilter("me", "any", 0, 0, 0, true);
	snprintf(f.description, sizeof(f.description), "has a \" quote");
	struct diag d;
	diag_init(&d);
	assert_false(policy_validate_filter(&f, &d));
	assert_diag_error(&d, ERR_BAD_VALUE, "description", "has a \" quote");
	snprintf(f.description, sizeof(f.description), "RDP");
	filter_ok(&f);
}

static void test_filter_equal(void **state)
{
	(void)state;
	struct filter a = mkfilter("10.1.2.0/24", "me", 6, 0, 3389, true);
	struct filter b = mkfilter("10.1.2.77/24", "ME", 6, 0, 3389, true);
	snprintf(b.description, sizeof(b.description), "descriptions do not count");
	assert_true(policy_filter_equal(&a, &b));
	assert_true(policy_filter_equal(&a, &a));

	struct filter c = b;
	c.protocol = 17;
	assert_false(policy_filter_equal(&a, &c));
	c = b;
	c.srcport = 1;
	assert_false(policy_filter_equal(&a, &c));
	c = b;
	c.dstport = 3390;
	assert_false(policy_filter_equal(&a, &c));
	c = b;
	c.mirrored = false;
	assert_false(policy_filter_equal(&a, &c));
	c = b;
	c.src = addr("10.1.2.0/25");
	assert_false(policy_filter_equal(&a, &c));
	c = b;
	c.src = addr("10.1.3.0/24");
	assert_false(policy_filter_equal(&a, &c));
	c = b;
	c.dst = addr("any");
	assert_false(policy_filter_equal(&a, &c));

	struct filter r1 = mkfilter("10.0.0.1-10.0.0.9", "me", 0, 0, 0, true);
	struct filter r2 = mkfilter("10.0.0.1-10.0.0.9", "me", 0, 0, 0, true);
	struct filter r3 = mkfilter("10.0.0.1-10.0.0.8", "me", 0, 0, 0, true);
	assert_true(policy_filter_equal(&r1, &r2));
	assert_false(policy_filter_equal(&r1, &r3));
	struct filter k1 = mkfilter("dns", "me", 0, 0, 0, true);
	struct filter k2 = mkfilter("wins", "me", 0, 0, 0, true);
	assert_false(policy_filter_equal(&k1, &k2));
}

/* ---- delete filter patterns (netsh-ipsec.md §3.7) ----------------------------------------- */

static struct filter_pattern pattern(const char *src, const char *dst)
{
	struct filter_pattern p;
	memset(&p, 0, sizeof(p));
	p.src = addr(src);
	p.dst = addr(dst);
	return p;
}

static void test_filter_matches_required_only(void **state)
{
	(void)state;
	/* Only srcaddr and dstaddr given: every optional field matches anything. */
	struct filter list[] = {
		mkfilter("any", "me", 6, 0, 445, true),
		mkfilter("any", "me", 17, 0, 137, false),
		mkfilter("any", "me", 0, 0, 0, true),
		mkfilter("me", "any", 6, 0, 445, true),
		mkfilter("10.1.2.3", "me", 6, 0, 445, true),
	};
	struct filter_pattern p = pattern("any", "me");
	size_t n = 0;
	for (size_t i = 0; i < NELEM(list); i++)
		n += policy_filter_matches(&list[i], &p);
	assert_int_equal(n, 3);
	assert_true(policy_filter_matches(&list[0], &p));
	assert_true(policy_filter_matches(&list[1], &p));
	assert_true(policy_filter_matches(&list[2], &p));
	assert_false(policy_filter_matches(&list[3], &p));
	assert_false(policy_filter_matches(&list[4], &p));
}

static void test_filter_matches_optional_fields(void **state)
{
	(void)state;
	/* The §3.7 example: delete filter ... srcaddr=any dstaddr=me protocol=TCP dstport=445 */
	struct filter f = mkfilter("any", "me", 6, 0, 445, true);
	struct filter_pattern p = pattern("any", "me");

	p.has_protocol = true;
	p.protocol = 6;
	assert_true(policy_filter_matches(&f, &p));
	p.protocol = 17;
	assert_false(policy_filter_matches(&f, &p));
	p.protocol = 6;

	p.has_dstport = true;
	p.dstport = 445;
	assert_true(policy_filter_matches(&f, &p));
	p.dstport = 139;
	assert_false(policy_filter_matches(&f, &p));
	p.dstport = 445;

	p.has_srcport = true;
	p.srcport = 0;
	assert_true(policy_filter_matches(&f, &p));
	p.srcport = 445;
	assert_false(policy_filter_matches(&f, &p));
	p.srcport = 0;

	p.has_mirrored = true;
	p.mirrored = true;
	assert_true(policy_filter_matches(&f, &p));
	p.mirrored = false;
	assert_false(policy_filter_matches(&f, &p));
	p.has_mirrored = false;

	/* Fields not flagged as given are ignored whatever their value. */
	p.has_protocol = false;
	p.protocol = 99;
	p.has_dstport = false;
	p.dstport = 1;
	p.has_srcport = false;
	p.srcport = 2;
	p.mirrored = false;
	assert_true(policy_filter_matches(&f, &p));
}

static void test_filter_matches_addresses(void **state)
{
	(void)state;
	/* Stored: srcaddr=10.1.2.3 srcmask=24 -> 10.1.2.0/24. */
	struct filter f = addr_mask("10.1.2.3", "24", "me");
	struct filter_pattern p;

	/* srcaddr=10.1.2.0 without srcmask names the stored address. */
	p = pattern("10.1.2.0", "me");
	assert_true(policy_filter_matches(&f, &p));

	/* srcaddr=10.1.2.3 srcmask=24 (masked like the stored one). */
	p = pattern("10.1.2.3", "me");
	struct diag d;
	diag_init(&d);
	assert_true(policy_apply_mask("srcmask", "24", &p.src, &d));
	p.has_srcmask = true;
	assert_true(policy_filter_matches(&f, &p));

	/* With a mask given, the mask must match too. */
	p = pattern("10.1.2.0", "me");
	p.has_srcmask = true;                 /* srcmask=32 (the parse default) */
	assert_false(policy_filter_matches(&f, &p));
	p = pattern("10.1.2.0/25", "me");
	p.has_srcmask = true;
	assert_false(policy_filter_matches(&f, &p));

	p = pattern("10.1.3.0", "me");
	assert_false(policy_filter_matches(&f, &p));
	p = pattern("any", "me");
	assert_false(policy_filter_matches(&f, &p));
	p = pattern("10.1.2.0", "any");
	assert_false(policy_filter_matches(&f, &p));

	/* Keywords match by kind only. */
	struct filter k = mkfilter("me", "dns", 17, 0, 53, false);
	p = pattern("ME", "DNS");
	assert_true(policy_filter_matches(&k, &p));
	p.has_dstmask = true;                 /* a mask is ignored for keywords */
	p.has_srcmask = true;
	assert_true(policy_filter_matches(&k, &p));
	p = pattern("me", "wins");
	assert_false(policy_filter_matches(&k, &p));

	/* Ranges match only the same range. */
	struct filter r = mkfilter("10.0.0.1-10.0.0.9", "me", 0, 0, 0, true);
	p = pattern("10.0.0.1-10.0.0.9", "me");
	assert_true(policy_filter_matches(&r, &p));
	p = pattern("10.0.0.1-10.0.0.8", "me");
	assert_false(policy_filter_matches(&r, &p));
	p = pattern("10.0.0.1", "me");
	assert_false(policy_filter_matches(&r, &p));

	/* IPv6 and the family of the address. */
	struct filter v6 = mkfilter("2001:db8::/64", "me", 0, 0, 0, true);
	p = pattern("2001:db8::", "me");
	assert_true(policy_filter_matches(&v6, &p));
	p = pattern("2001:db8::1", "me");
	assert_false(policy_filter_matches(&v6, &p));
	struct filter v4 = mkfilter("32.1.13.184", "me", 0, 0, 0, true);
	p = pattern("2001:db8::", "me");     /* 2001:0db8 has the same first bytes */
	assert_false(policy_filter_matches(&v4, &p));
}

/* ---- filter actions and policies ---------------------------------------------------------- */

static void test_validate_filter_action(void **state)
{
	(void)state;
	struct filter_action fa;
	struct diag d;

	policy_filter_action_init(&fa, PROFILE_MODERN);
	snprintf(fa.name, sizeof(fa.name), "Require ESP");
	diag_init(&d);
	assert_true(policy_validate_filter_action(&fa, &d));
	assert_diag_ok(&d);
	assert_no_warnings(&d);

	/* negotiate needs at least one method */
	fa.methods.n = 0;
	diag_init(&d);
	assert_false(policy_validate_filter_action(&fa, &d));
	assert_int_equal(d.code, ERR_BAD_SECMETHOD);
	assert_contains(d.msg, "'qmsecmethods'");

	/* permit and block do not */
	fa.action = ACTION_PERMIT;
	diag_init(&d);
	assert_true(policy_validate_filter_action(&fa, &d));
	assert_diag_ok(&d);
	fa.action = ACTION_BLOCK;
	diag_init(&d);
	assert_true(policy_validate_filter_action(&fa, &d));
	assert_diag_ok(&d);

	/* the name and the description are checked */
	policy_filter_action_init(&fa, PROFILE_MODERN);
	diag_init(&d);
	assert_false(policy_validate_filter_action(&fa, &d));
	assert_diag_error(&d, ERR_BAD_VALUE, "name", "");
	snprintf(fa.name, sizeof(fa.name), "all");
	diag_init(&d);
	assert_false(policy_validate_filter_action(&fa, &d));
	assert_diag_error(&d, ERR_BAD_VALUE, "name", "all");
	snprintf(fa.name, sizeof(fa.name), "ok");
	snprintf(fa.description, sizeof(fa.description), "bad\x02");
	diag_init(&d);
	assert_false(policy_validate_filter_action(&fa, &d));
	assert_diag_error(&d, ERR_BAD_VALUE, "description", "bad\x02");
}

static void test_validate_filter_action_soft_warns(void **state)
{
	(void)state;
	struct filter_action fa;
	struct diag d;
	policy_filter_action_init(&fa, PROFILE_LEGACY);
	snprintf(fa.name, sizeof(fa.name), "Soft");
	fa.soft = true;
	diag_init(&d);
	assert_true(policy_validate_filter_action(&fa, &d));
	assert_diag_ok(&d);
	assert_int_equal(d.nwarn, 1);
	assert_warning(&d, "soft=yes");

	/* soft has no effect with permit/block: stored, no warning [D]. */
	fa.action = ACTION_BLOCK;
	diag_init(&d);
	assert_true(policy_validate_filter_action(&fa, &d));
	assert_no_warnings(&d);
	assert_true(fa.soft);
}

static void test_validate_policy(void **state)
{
	(void)state;
	struct policy p;
	struct diag d;
	policy_policy_init(&p, PROFILE_MODERN);
	snprintf(p.name, sizeof(p.name), "RDP lockdown");
	p.qmpermm = 5;
	diag_init(&d);
	assert_true(policy_validate_policy(&p, &d));
	assert_diag_ok(&d);
	assert_int_equal(p.qmpermm, 5);      /* untouched without mmpfs */

	/* mmpfs=yes forces qmpermm to 1 */
	p.mmpfs = true;
	diag_init(&d);
	assert_true(policy_validate_policy(&p, &d));
	assert_int_equal(p.qmpermm, 1);
	p.qmpermm = 0;
	assert_true(policy_validate_policy(&p, &d));
	assert_int_equal(p.qmpermm, 1);
	assert_diag_ok(&d);

	/* at least one main-mode method */
	p.mm.n = 0;
	diag_init(&d);
	assert_false(policy_validate_policy(&p, &d));
	assert_int_equal(d.code, ERR_BAD_SECMETHOD);
	assert_contains(d.msg, "'mmsecmethods'");

	/* name */
	policy_policy_init(&p, PROFILE_MODERN);
	snprintf(p.name, sizeof(p.name), "ALL");
	diag_init(&d);
	assert_false(policy_validate_policy(&p, &d));
	assert_diag_error(&d, ERR_BAD_VALUE, "name", "ALL");
	p.name[0] = '\0';
	diag_init(&d);
	assert_false(policy_validate_policy(&p, &d));
	assert_diag_error(&d, ERR_BAD_VALUE, "name", "");
}

/* ---- tunnel rules ------------------------------------------------------------------------- */

static void test_validate_tunnel_filters(void **state)
{
	(void)state;
	struct filter fs[3] = {
		mkfilter("10.1.0.0/16", "10.2.0.0/16", 0, 0, 0, false),
		mkfilter("10.1.0.0/16", "10.3.0.0/16", 6, 0, 80, false),
		mkfilter("10.1.0.0/16", "10.4.0.0/16", 0, 0, 0, false),
	};
	struct filter_list fl;
	memset(&fl, 0, sizeof(fl));
	snprintf(fl.name, sizeof(fl.name), "Site A to B");
	fl.filters = fs;
	fl.nfilters = 3;
	struct diag d;
	diag_init(&d);
	assert_true(policy_validate_tunnel_filters(&fl, &d));
	assert_diag_ok(&d);

	fs[2].mirrored = true;
	diag_init(&d);
	assert_false(policy_validate_tunnel_filters(&fl, &d));
	assert_int_equal(d.code, ERR_TUNNEL_MIRRORED);
	assert_string_equal(d.msg, "Filters used by a tunnel rule must not be mirrored.");

	fs[2].mirrored = false;
	fs[0].mirrored = true;
	diag_init(&d);
	assert_false(policy_validate_tunnel_filters(&fl, &d));
	assert_int_equal(d.code, ERR_TUNNEL_MIRRORED);

	/* An empty list has nothing mirrored. */
	fl.nfilters = 0;
	fl.filters = NULL;
	diag_init(&d);
	assert_true(policy_validate_tunnel_filters(&fl, &d));
	assert_diag_ok(&d);
}

/* ---- keywords: conntype and action ---------------------------------------------------------- */

static void test_conntype(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		enum conn_type c;
	} ok[] = {
		{ "all", CONN_ALL }, { "ALL", CONN_ALL }, { "lan", CONN_LAN }, { "LAN", CONN_LAN },
		{ "Lan", CONN_LAN }, { "dialup", CONN_DIALUP }, { "DIALUP", CONN_DIALUP },
	};
	for (size_t i = 0; i < NELEM(ok); i++) {
		struct diag d;
		enum conn_type c = (enum conn_type)77;
		diag_init(&d);
		assert_true(policy_parse_conntype("conntype", ok[i].text, &c, &d));
		assert_int_equal(c, ok[i].c);
		assert_diag_ok(&d);
	}
	static const char *const bad[] = { "", "wan", "dial-up", "lan ", "wireless", "0" };
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct diag d;
		enum conn_type c = CONN_LAN;
		diag_init(&d);
		assert_false(policy_parse_conntype("conntype", bad[i], &c, &d));
		assert_diag_error(&d, ERR_BAD_VALUE, "conntype", bad[i]);
		assert_contains(d.msg, "lan, dialup, all");
		assert_int_equal(c, CONN_LAN);
	}
	assert_string_equal(policy_conntype_name(CONN_ALL), "ALL");
	assert_string_equal(policy_conntype_name(CONN_LAN), "LAN");
	assert_string_equal(policy_conntype_name(CONN_DIALUP), "DIALUP");
}

static void test_action_keyword(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		enum filter_action_kind a;
	} ok[] = {
		{ "permit", ACTION_PERMIT }, { "PERMIT", ACTION_PERMIT }, { "block", ACTION_BLOCK },
		{ "Block", ACTION_BLOCK }, { "negotiate", ACTION_NEGOTIATE },
		{ "NEGOTIATE", ACTION_NEGOTIATE },
	};
	for (size_t i = 0; i < NELEM(ok); i++) {
		struct diag d;
		enum filter_action_kind a = (enum filter_action_kind)77;
		diag_init(&d);
		assert_true(policy_parse_action("action", ok[i].text, &a, &d));
		assert_int_equal(a, ok[i].a);
	}
	static const char *const bad[] = { "", "allow", "deny", "drop", "negotiate security", "p" };
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct diag d;
		enum filter_action_kind a = ACTION_BLOCK;
		diag_init(&d);
		assert_false(policy_parse_action("action", bad[i], &a, &d));
		assert_diag_error(&d, ERR_BAD_VALUE, "action", bad[i]);
		assert_contains(d.msg, "permit, block, negotiate");
		assert_int_equal(a, ACTION_BLOCK);
	}
	assert_string_equal(policy_action_name(ACTION_PERMIT), "Permit");
	assert_string_equal(policy_action_name(ACTION_BLOCK), "Block");
	assert_string_equal(policy_action_name(ACTION_NEGOTIATE), "Negotiate Security");
}

/* ---- authentication (netsh-ipsec.md §2.9) ------------------------------------------------------ */

static void test_auth_kerberos(void **state)
{
	(void)state;
	struct auth_methods am = { .n = 0 };
	struct diag d;
	diag_init(&d);
	assert_true(policy_auth_add(&am, AUTH_KERBEROS, "yes", &d));
	assert_int_equal(am.n, 1);
	assert_int_equal(am.m[0].kind, AUTH_KERBEROS);
	assert_string_equal(am.m[0].value, "");
	/* Kerberos listed twice is kept once. */
	assert_true(policy_auth_add(&am, AUTH_KERBEROS, "Y", &d));
	assert_int_equal(am.n, 1);
	/* kerberos=no adds nothing. */
	assert_true(policy_auth_add(&am, AUTH_KERBEROS, "no", &d));
	assert_true(policy_auth_add(&am, AUTH_KERBEROS, "N", &d));
	assert_int_equal(am.n, 1);
	assert_diag_ok(&d);
	assert_no_warnings(&d);

	struct auth_methods empty = { .n = 0 };
	assert_true(policy_auth_add(&empty, AUTH_KERBEROS, "no", &d));
	assert_int_equal(empty.n, 0);

	assert_false(policy_auth_add(&am, AUTH_KERBEROS, "maybe", &d));
	assert_diag_error(&d, ERR_BAD_VALUE, "kerberos", "maybe");
	assert_int_equal(am.n, 1);
}

static void test_auth_psk(void **state)
{
	(void)state;
	struct auth_methods am = { .n = 0 };
	struct diag d;
	diag_init(&d);
	assert_true(policy_auth_add(&am, AUTH_PSK, "correct horse battery staple", &d));
	assert_diag_ok(&d);
	assert_int_equal(am.n, 1);
	assert_int_equal(am.m[0].kind, AUTH_PSK);
	assert_string_equal(am.m[0].value, "correct horse battery staple");
	assert_false(am.m[0].certmap);
	assert_false(am.m[0].excludecaname);
	/* PSK is weak: always warned; a long key gets no length warning. */
	assert_int_equal(d.nwarn, 1);
	assert_warning(&d, "Preshared keys are weak");

	/* best-practices.md §3: warn when shorter than 20 characters. */
	diag_init(&d);
	assert_true(policy_auth_add(&am, AUTH_PSK, "Secret 1", &d));
	assert_int_equal(d.nwarn, 2);
	assert_warning(&d, "Preshared keys are weak");
	assert_warning(&d, "shorter than 20 characters");
	assert_int_equal(am.n, 2);
	assert_string_equal(am.m[1].value, "Secret 1");

	diag_init(&d);
	assert_true(policy_auth_add(&am, AUTH_PSK, "12345678901234567890", &d));  /* 20 */
	assert_int_equal(d.nwarn, 1);
	diag_init(&d);
	assert_true(policy_auth_add(&am, AUTH_PSK, "1234567890123456789", &d));   /* 19 */
	assert_int_equal(d.nwarn, 2);
	assert_int_equal(am.n, 4);

	/* The key is case-sensitive and stored as given, even 'yes' or 'all'. */
	diag_init(&d);
	assert_true(policy_auth_add(&am, AUTH_PSK, "It's \\ Mixed-Case ", &d));
	assert_string_equal(am.m[4].value, "It's \\ Mixed-Case ");
}

static void test_auth_psk_limits(void **state)
{
	(void)state;
	char key[POLICY_SECRET_MAX + 1];
	struct auth_methods am = { .n = 0 };
	struct diag d;

	memset(key, 'k', POLICY_SECRET_MAX - 1);                 /* 511: longest */
	key[POLICY_SECRET_MAX - 1] = '\0';
	diag_init(&d);
	assert_true(policy_auth_add(&am, AUTH_PSK, key, &d));
	assert_int_equal(am.n, 1);
	assert_string_equal(am.m[0].value, key);

	memset(key, 'k', POLICY_SECRET_MAX);                     /* 512: too long */
	key[POLICY_SECRET_MAX] = '\0';
	diag_init(&d);
	assert_false(policy_auth_add(&am, AUTH_PSK, key, &d));
	assert_diag_error(&d, ERR_BAD_VALUE, "psk", "<key>");
	assert_contains(d.msg, "1 to 511 characters");
	assert_not_contains(d.msg, "kkkkkkkk");                  /* the key is not echoed */
	assert_int_equal(am.n, 1);

	diag_init(&d);
	assert_false(policy_auth_add(&am, AUTH_PSK, "", &d));
	assert_diag_error(&d, ERR_BAD_VALUE, "psk", "");
	assert_int_equal(am.n, 1);

	static const char *const bad[] = { "has \"quotes\"", "tab\tkey", "nl\nkey", "\x7f" };
	for (size_t i = 0; i < NELEM(bad); i++) {
		diag_init(&d);
		assert_false(policy_auth_add(&am, AUTH_PSK, bad[i], &d));
		assert_diag_error(&d, ERR_BAD_VALUE, "psk", "<key>");
		assert_not_contains(d.msg, bad[i]);
		assert_int_equal(am.n, 1);
	}
}

static void rootca_ok(const char *text, const char *dn, bool certmap, bool exclude)
{
	struct auth_methods am = { .n = 0 };
	struct diag d;
	diag_init(&d);
	if (!policy_auth_add(&am, AUTH_CERT, text, &d))
		fail_msg("rootca '%s' rejected: %s", text, d.msg);
	assert_diag_ok(&d);
	assert_int_equal(am.n, 1);
	assert_int_equal(am.m[0].kind, AUTH_CERT);
	assert_string_equal(am.m[0].value, dn);
	assert_int_equal(am.m[0].certmap, certmap);
	assert_int_equal(am.m[0].excludecaname, exclude);
}

static void rootca_bad(const char *text, const char *value_in_msg)
{
	struct auth_methods am = { .n = 0 };
	struct diag d;
	diag_init(&d);
	if (policy_auth_add(&am, AUTH_CERT, text, &d))
		fail_msg("rootca '%s' accepted", text);
	assert_diag_error(&d, ERR_BAD_VALUE, "rootca", value_in_msg);
	assert_int_equal(am.n, 0);
}

static void test_auth_rootca(void **state)
{
	(void)state;
	/* The example of §2.9. */
	rootca_ok("DC=com, DC=contoso, CN=Contoso Root CA certmap:yes excludecaname:no",
	          "DC=com, DC=contoso, CN=Contoso Root CA", true, false);
	rootca_ok("CN=Root", "CN=Root", false, false);
	rootca_ok("CN=Root excludecaname:yes", "CN=Root", false, true);
	rootca_ok("CN=Root certmap:yes", "CN=Root", true, false);
	rootca_ok("CN=Root excludecaname:yes certmap:yes", "CN=Root", true, true);
	rootca_ok("CN=Root certmap:no excludecaname:no", "CN=Root", false, false);
	rootca_ok("CN=Root CERTMAP:Y ExcludeCAName:N", "CN=Root", true, false);
	rootca_ok("CN=Root certmap:yes   ", "CN=Root", true, false);
	rootca_ok("CN=Root   certmap:yes  excludecaname:yes ", "CN=Root", true, true);
	rootca_ok("O=Example Corp, CN=Example Issuing CA 2", "O=Example Corp, CN=Example Issuing CA 2",
	          false, false);
	/* A word that merely contains the option name stays in the DN. */
	rootca_ok("CN=certmap:yes-CA certmap:no", "CN=certmap:yes-CA", false, false);
}

static void test_auth_rootca_quote_escape(void **state)
{
	(void)state;
	/* §1.2: an embedded double quote is written \' inside the rootca value. */
	rootca_ok("O=\\'Quoted, Inc.\\', CN=Root certmap:no", "O=\"Quoted, Inc.\", CN=Root",
	          false, false);
	rootca_ok("CN=\\'A\\' excludecaname:yes", "CN=\"A\"", false, true);
	/* A backslash not followed by ' is kept. */
	rootca_ok("CN=A\\B", "CN=A\\B", false, false);
	rootca_ok("CN=A\\", "CN=A\\", false, false);
}

static void test_auth_rootca_invalid(void **state)
{
	(void)state;
	rootca_bad("CN=Root certmap:maybe", "maybe");
	rootca_bad("CN=Root excludecaname:", "");
	rootca_bad("CN=Root certmap:yes excludecaname:1", "1");
	/* Only options, no CA name. */
	rootca_bad("certmap:yes", "certmap:yes");
	rootca_bad("certmap:yes excludecaname:no", "certmap:yes excludecaname:no");
	rootca_bad("", "");
	rootca_bad("   ", "   ");
	/* Control characters. */
	rootca_bad("CN=Root\tCA", "CN=Root\tCA");
	rootca_bad("CN=Root\nCA certmap:yes", "CN=Root\nCA certmap:yes");

	char dn[POLICY_SECRET_MAX + 1];
	memset(dn, 'x', POLICY_SECRET_MAX);
	dn[POLICY_SECRET_MAX] = '\0';
	memcpy(dn, "CN=", 3);
	struct auth_methods am = { .n = 0 };
	struct diag d;
	diag_init(&d);
	assert_false(policy_auth_add(&am, AUTH_CERT, dn, &d));
	assert_int_equal(d.code, ERR_BAD_VALUE);
	assert_contains(d.msg, "'rootca'");
	assert_contains(d.msg, "at most 511 characters");
	dn[POLICY_SECRET_MAX - 1] = '\0';             /* 511: fits */
	diag_init(&d);
	assert_true(policy_auth_add(&am, AUTH_CERT, dn, &d));
	assert_string_equal(am.m[0].value, dn);
}

static void test_auth_order_and_limit(void **state)
{
	(void)state;
	/* The command-line order is the preference order. */
	struct auth_methods am = { .n = 0 };
	struct diag d;
	diag_init(&d);
	assert_true(policy_auth_add(&am, AUTH_PSK, "a long enough preshared key", &d));
	assert_true(policy_auth_add(&am, AUTH_CERT, "CN=First CA", &d));
	assert_true(policy_auth_add(&am, AUTH_KERBEROS, "yes", &d));
	assert_true(policy_auth_add(&am, AUTH_CERT, "CN=Second CA certmap:yes", &d));
	assert_int_equal(am.n, 4);
	assert_int_equal(am.m[0].kind, AUTH_PSK);
	assert_int_equal(am.m[1].kind, AUTH_CERT);
	assert_string_equal(am.m[1].value, "CN=First CA");
	assert_int_equal(am.m[2].kind, AUTH_KERBEROS);
	assert_int_equal(am.m[3].kind, AUTH_CERT);
	assert_string_equal(am.m[3].value, "CN=Second CA");
	assert_true(am.m[3].certmap);

	/* At most POLICY_MAX_AUTH methods. */
	struct auth_methods full = { .n = 0 };
	for (int i = 0; i < POLICY_MAX_AUTH; i++) {
		char ca[32];
		snprintf(ca, sizeof(ca), "CN=CA %d", i);
		diag_init(&d);
		assert_true(policy_auth_add(&full, AUTH_CERT, ca, &d));
	}
	assert_int_equal(full.n, POLICY_MAX_AUTH);
	diag_init(&d);
	assert_false(policy_auth_add(&full, AUTH_CERT, "CN=One too many", &d));
	assert_int_equal(d.code, ERR_BAD_VALUE);
	assert_contains(d.msg, "at most 8");
	assert_int_equal(full.n, POLICY_MAX_AUTH);
	diag_init(&d);
	assert_false(policy_auth_add(&full, AUTH_KERBEROS, "yes", &d));
	assert_int_equal(d.code, ERR_BAD_VALUE);
	diag_init(&d);
	assert_true(policy_auth_add(&full, AUTH_KERBEROS, "no", &d));   /* adds nothing */
	assert_int_equal(full.n, POLICY_MAX_AUTH);
}

/* ---- freeing -------------------------------------------------------------------------------- */

static void test_free_functions(void **state)
{
	(void)state;
	struct filter_list fl;
	memset(&fl, 0, sizeof(fl));
	fl.filters = calloc(3, sizeof(*fl.filters));
	assert_non_null(fl.filters);
	fl.nfilters = 3;
	policy_filter_list_free(&fl);
	assert_null(fl.filters);
	assert_int_equal(fl.nfilters, 0);
	policy_filter_list_free(&fl);           /* twice is harmless */

	struct policy p;
	policy_policy_init(&p, PROFILE_MODERN);
	p.rules = calloc(2, sizeof(*p.rules));
	assert_non_null(p.rules);
	p.nrules = 2;
	policy_rule_init(&p.rules[0]);
	policy_default_rule_init(&p.rules[1], PROFILE_MODERN);
	struct diag d;
	diag_init(&d);
	assert_true(policy_auth_add(&p.rules[0].auth, AUTH_PSK, "a secret that must be wiped", &d));
	policy_free(&p);
	assert_null(p.rules);
	assert_int_equal(p.nrules, 0);
	policy_free(&p);

	struct policy empty;
	policy_policy_init(&empty, PROFILE_LEGACY);
	policy_free(&empty);
	assert_null(empty.rules);
}

/* ---- predefined objects (windows-ipsec-model.md §4) ----------------------------------------- */

static void test_predefined_filter_lists(void **state)
{
	(void)state;
	const struct filter_list *fl;
	assert_int_equal(policy_predefined_filter_lists(&fl), 2);

	static const struct {
		const char *name;
		uint8_t protocol;
	} want[] = { { "All IP Traffic", 0 }, { "All ICMP Traffic", 1 } };
	for (size_t i = 0; i < NELEM(want); i++) {
		assert_string_equal(fl[i].name, want[i].name);
		/* best-practices.md §3: marked as samples in their descriptions. */
		assert_int_equal(strncmp(fl[i].description, "Sample", 6), 0);
		assert_int_equal(fl[i].nfilters, 1);
		const struct filter *f = &fl[i].filters[0];
		assert_int_equal(f->src.kind, ADDR_ME);       /* me -> any */
		assert_int_equal(f->dst.kind, ADDR_ANY);
		assert_int_equal(f->protocol, want[i].protocol);
		assert_true(f->mirrored);
		assert_int_equal(f->srcport, 0);
		assert_int_equal(f->dstport, 0);
		filter_ok(f);
		struct diag d;
		diag_init(&d);
		assert_true(policy_validate_name("name", fl[i].name, &d));
		assert_true(policy_validate_description("description", fl[i].description, &d));
	}
	/* Stable across calls. */
	const struct filter_list *again;
	policy_predefined_filter_lists(&again);
	assert_ptr_equal(fl, again);
}

static void test_predefined_filter_actions(void **state)
{
	(void)state;
	const struct filter_action *fa;
	assert_int_equal(policy_predefined_filter_actions(&fa), 3);

	/* Permit: permit, no inpass/soft/qmpfs, no methods. */
	assert_string_equal(fa[0].name, "Permit");
	assert_int_equal(fa[0].action, ACTION_PERMIT);
	assert_false(fa[0].inpass);
	assert_false(fa[0].soft);
	assert_false(fa[0].qmpfs);
	assert_int_equal(fa[0].methods.n, 0);

	/* Request Security (Optional): negotiate, inpass yes, soft yes, qmpfs no. */
	assert_string_equal(fa[1].name, "Request Security (Optional)");
	assert_int_equal(fa[1].action, ACTION_NEGOTIATE);
	assert_true(fa[1].inpass);
	assert_true(fa[1].soft);
	assert_false(fa[1].qmpfs);
	qm_text(&fa[1].methods, WINDOWS_QM);

	/* Require Security: negotiate, inpass yes, soft no, qmpfs no. */
	assert_string_equal(fa[2].name, "Require Security");
	assert_int_equal(fa[2].action, ACTION_NEGOTIATE);
	assert_true(fa[2].inpass);
	assert_false(fa[2].soft);
	assert_false(fa[2].qmpfs);
	qm_text(&fa[2].methods, WINDOWS_QM);

	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(strncmp(fa[i].description, "Sample", 6), 0);
		struct filter_action copy = fa[i];
		struct diag d;
		diag_init(&d);
		assert_true(policy_validate_filter_action(&copy, &d));
		assert_diag_ok(&d);
	}
}

static void check_rule(const struct rule *r, const char *list, const char *action)
{
	assert_false(r->is_default);
	assert_true(r->active);
	assert_string_equal(r->filterlist, list);
	assert_string_equal(r->filteraction, action);
	assert_false(r->has_tunnel);
	assert_int_equal(r->conntype, CONN_ALL);
	assert_int_equal(r->auth.n, 1);                     /* Kerberos */
	assert_int_equal(r->auth.m[0].kind, AUTH_KERBEROS);
	struct diag d;
	diag_init(&d);
	assert_true(policy_validate_name("name", r->name, &d));
}

static void check_default_rule(const struct rule *r)
{
	assert_true(r->is_default);
	assert_true(r->active);                             /* active, Kerberos */
	assert_string_equal(r->name, "Default Response Rule");
	assert_string_equal(r->filterlist, "");
	assert_string_equal(r->filteraction, "");
	assert_int_equal(r->auth.n, 1);
	assert_int_equal(r->auth.m[0].kind, AUTH_KERBEROS);
	assert_false(r->qmpfs);
	/* §5: the same list as Require Security. */
	qm_text(&r->methods, WINDOWS_QM);
}

static void test_predefined_policies(void **state)
{
	(void)state;
	const struct policy *p;
	assert_int_equal(policy_predefined_policies(&p), 3);
	static const char *const names[] = {
		"Client (Respond Only)", "Server (Request Security)",
		"Secure Server (Require Security)",
	};
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(p[i].name, names[i]);
		assert_int_equal(strncmp(p[i].description, "Sample", 6), 0);
		/* §4.3: polling 180, MM lifetime 480, no master PFS, default MM
		 * methods, not assigned. */
		assert_int_equal(p[i].pollinginterval, 180);
		assert_int_equal(p[i].mmlifetime, 480);
		assert_false(p[i].mmpfs);
		assert_int_equal(p[i].qmpermm, 0);
		assert_false(p[i].assigned);
		mm_text(&p[i].mm, WINDOWS_MM);
		assert_non_null(p[i].rules);
		struct policy copy = p[i];
		struct diag d;
		diag_init(&d);
		assert_true(policy_validate_policy(&copy, &d));
		assert_diag_ok(&d);
	}

	/* Client (Respond Only): only the default response rule. */
	assert_int_equal(p[0].nrules, 1);
	check_default_rule(&p[0].rules[0]);

	/* Server (Request Security). */
	assert_int_equal(p[1].nrules, 3);
	check_rule(&p[1].rules[0], "All IP Traffic", "Request Security (Optional)");
	check_rule(&p[1].rules[1], "All ICMP Traffic", "Permit");
	check_default_rule(&p[1].rules[2]);

	/* Secure Server (Require Security). */
	assert_int_equal(p[2].nrules, 3);
	check_rule(&p[2].rules[0], "All IP Traffic", "Require Security");
	check_rule(&p[2].rules[1], "All ICMP Traffic", "Permit");
	check_default_rule(&p[2].rules[2]);
}

static void test_predefined_references_resolve(void **state)
{
	(void)state;
	/* Every rule references a predefined list and action by name, and rule
	 * names are unique within each policy. */
	const struct policy *p;
	const struct filter_list *fl;
	const struct filter_action *fa;
	size_t np = policy_predefined_policies(&p);
	size_t nl = policy_predefined_filter_lists(&fl);
	size_t na = policy_predefined_filter_actions(&fa);
	for (size_t i = 0; i < np; i++)
		for (size_t r = 0; r < p[i].nrules; r++) {
			const struct rule *ru = &p[i].rules[r];
			for (size_t s = 0; s < r; s++)
				assert_string_not_equal(p[i].rules[s].name, ru->name);
			if (ru->is_default) {
				assert_int_equal(r, p[i].nrules - 1);   /* default rule last */
				continue;
			}
			bool list = false, action = false;
			for (size_t k = 0; k < nl; k++)
				list |= strcmp(fl[k].name, ru->filterlist) == 0;
			for (size_t k = 0; k < na; k++)
				action |= strcmp(fa[k].name, ru->filteraction) == 0;
			assert_true(list);
			assert_true(action);
		}
}

/* `set config property=metrics`: a local endpoint or none, canonical text. */
static void test_metrics_endpoint(void **state)
{
	(void)state;
	const struct service_setting *s = policy_service_setting("metrics");
	assert_non_null(s);
	assert_string_equal(s->def, "none");
	static const struct { const char *in, *norm; } good[] = {
		{ "none", "none" }, { "NONE", "none" }, { "127.0.0.1:9567", "127.0.0.1:9567" },
		{ "192.0.2.1:1", "192.0.2.1:1" }, { "[::1]:9567", "[::1]:9567" },
		{ "[2001:DB8::0001]:65535", "[2001:db8::1]:65535" },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct diag d;
		diag_init(&d);
		char norm[64];
		if (!policy_check_service_setting(s, good[i].in, norm, sizeof(norm), &d))
			fail_msg("%s refused: %s", good[i].in, d.msg);
		assert_string_equal(norm, good[i].norm);
	}
	static const char *const bad[] = {
		"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:9567x",
		"127.0.0.1:+1", "127.0.0.1:0009567", ":9567", "::1:9567", "[::1]", "[::1]9567",
		"[127.0.0.1]:9567", "[]:1", "0.0.0.0:9567", "[::]:9567", "localhost:9567",
		"256.0.0.1:80", "[::1]:80:80", "127.0.0.1:80:80",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct diag d;
		diag_init(&d);
		char norm[64];
		if (policy_check_service_setting(s, bad[i], norm, sizeof(norm), &d))
			fail_msg("'%s' accepted as %s", bad[i], norm);
		assert_non_null(strstr(d.msg, "metrics"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_init),
		cmocka_unit_test(test_filter_action_init),
		cmocka_unit_test(test_rule_init),
		cmocka_unit_test(test_default_rule_init),
		cmocka_unit_test(test_policy_init),
		cmocka_unit_test(test_validate_name_ok),
		cmocka_unit_test(test_validate_name_bad),
		cmocka_unit_test(test_validate_name_too_long),
		cmocka_unit_test(test_validate_description),
		cmocka_unit_test(test_validate_filter_ok),
		cmocka_unit_test(test_validate_filter_me_to_me),
		cmocka_unit_test(test_validate_filter_server_pairing),
		cmocka_unit_test(test_validate_filter_ports_need_tcp_udp),
		cmocka_unit_test(test_validate_filter_family_mismatch),
		cmocka_unit_test(test_validate_filter_description),
		cmocka_unit_test(test_filter_equal),
		cmocka_unit_test(test_filter_matches_required_only),
		cmocka_unit_test(test_filter_matches_optional_fields),
		cmocka_unit_test(test_filter_matches_addresses),
		cmocka_unit_test(test_validate_filter_action),
		cmocka_unit_test(test_validate_filter_action_soft_warns),
		cmocka_unit_test(test_validate_policy),
		cmocka_unit_test(test_validate_tunnel_filters),
		cmocka_unit_test(test_conntype),
		cmocka_unit_test(test_action_keyword),
		cmocka_unit_test(test_auth_kerberos),
		cmocka_unit_test(test_auth_psk),
		cmocka_unit_test(test_auth_psk_limits),
		cmocka_unit_test(test_auth_rootca),
		cmocka_unit_test(test_auth_rootca_quote_escape),
		cmocka_unit_test(test_auth_rootca_invalid),
		cmocka_unit_test(test_auth_order_and_limit),
		cmocka_unit_test(test_free_functions),
		cmocka_unit_test(test_predefined_filter_lists),
		cmocka_unit_test(test_predefined_filter_actions),
		cmocka_unit_test(test_predefined_policies),
		cmocka_unit_test(test_predefined_references_resolve),
		cmocka_unit_test(test_metrics_endpoint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
