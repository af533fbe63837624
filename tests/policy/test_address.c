/*
 * Addresses, masks and the scalar values of the policy model
 * (netsh-ipsec.md §1.3, §2.1-§2.3; src/policy/address.c).
 */
#include "policy_test.h"

#include <arpa/inet.h>
#include <ctype.h>

/* ---- helpers ------------------------------------------------------------- */

static struct filter_addr parse_ok(const char *text)
{
	struct diag d;
	struct filter_addr a;
	diag_init(&d);
	enum addr_parse r = policy_parse_address("srcaddr", text, &a, &d);
	if (r != ADDR_PARSE_OK)
		fail_msg("'%s': expected ADDR_PARSE_OK, got %d (%s)", text, (int)r, d.msg);
	assert_diag_ok(&d);
	assert_int_equal(d.nwarn, 0);
	return a;
}

static void parse_bad(const char *text)
{
	struct diag d;
	struct filter_addr a;
	diag_init(&d);
	enum addr_parse r = policy_parse_address("dstaddr", text, &a, &d);
	if (r != ADDR_PARSE_ERROR)
		fail_msg("'%s': expected ADDR_PARSE_ERROR, got %d", text, (int)r);
	assert_diag_error(&d, ERR_BAD_VALUE, "dstaddr", text);
	assert_contains(d.msg, "Allowed:");
}

static void assert_canonical(const struct filter_addr *a, const char *expected)
{
	char buf[128];
	policy_format_address(a, buf, sizeof(buf));
	assert_string_equal(buf, expected);
}

static void assert_ip(const struct ip_address *ip, const char *text)
{
	struct ip_address want;
	memset(&want, 0, sizeof(want));
	want.family = strchr(text, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(want.family, text, want.bytes), 1);
	assert_int_equal(ip->family, want.family);
	assert_memory_equal(ip->bytes, want.bytes, sizeof(want.bytes));
}

static void assert_addr_equal(const struct filter_addr *x, const struct filter_addr *y)
{
	assert_int_equal(x->kind, y->kind);
	assert_int_equal(x->prefix, y->prefix);
	assert_int_equal(x->ip.family, y->ip.family);
	assert_memory_equal(x->ip.bytes, y->ip.bytes, 16);
	assert_int_equal(x->last.family, y->last.family);
	assert_memory_equal(x->last.bytes, y->last.bytes, 16);
}

/* ---- keywords ------------------------------------------------------------- */

static void test_address_keywords(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		enum addr_kind kind;
		const char *canonical;
	} cases[] = {
		{ "me", ADDR_ME, "me" },           { "ME", ADDR_ME, "me" },
		{ "Me", ADDR_ME, "me" },           { "any", ADDR_ANY, "any" },
		{ "ANY", ADDR_ANY, "any" },        { "aNy", ADDR_ANY, "any" },
		{ "dns", ADDR_DNS_SERVERS, "dns" }, { "DNS", ADDR_DNS_SERVERS, "dns" },
		{ "wins", ADDR_WINS_SERVERS, "wins" }, { "WINS", ADDR_WINS_SERVERS, "wins" },
		{ "dhcp", ADDR_DHCP_SERVER, "dhcp" }, { "Dhcp", ADDR_DHCP_SERVER, "dhcp" },
		{ "gateway", ADDR_GATEWAY, "gateway" }, { "GATEWAY", ADDR_GATEWAY, "gateway" },
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct filter_addr a = parse_ok(cases[i].text);
		assert_int_equal(a.kind, cases[i].kind);
		assert_int_equal(a.prefix, 0);
		assert_int_equal(a.ip.family, 0);
		assert_canonical(&a, cases[i].canonical);
	}
}

static void test_address_is_server(void **state)
{
	(void)state;
	assert_true(policy_address_is_server(&(struct filter_addr){ .kind = ADDR_DNS_SERVERS }));
	assert_true(policy_address_is_server(&(struct filter_addr){ .kind = ADDR_WINS_SERVERS }));
	assert_true(policy_address_is_server(&(struct filter_addr){ .kind = ADDR_DHCP_SERVER }));
	assert_true(policy_address_is_server(&(struct filter_addr){ .kind = ADDR_GATEWAY }));
	assert_false(policy_address_is_server(&(struct filter_addr){ .kind = ADDR_ME }));
	assert_false(policy_address_is_server(&(struct filter_addr){ .kind = ADDR_ANY }));
	assert_false(policy_address_is_server(&(struct filter_addr){ .kind = ADDR_RANGE }));
	assert_false(policy_address_is_server(&(struct filter_addr){ .kind = ADDR_HOST_OR_SUBNET }));
}

/* ---- literals --------------------------------------------------------------- */

static void test_address_ipv4_host(void **state)
{
	(void)state;
	struct filter_addr a = parse_ok("10.1.2.3");
	assert_int_equal(a.kind, ADDR_HOST_OR_SUBNET);
	assert_ip(&a.ip, "10.1.2.3");
	assert_int_equal(a.prefix, 32);
	assert_canonical(&a, "10.1.2.3/32");

	a = parse_ok("255.255.255.255");
	assert_int_equal(a.kind, ADDR_HOST_OR_SUBNET);
	assert_int_equal(a.prefix, 32);
	assert_canonical(&a, "255.255.255.255/32");

	a = parse_ok("0.0.0.1");
	assert_int_equal(a.kind, ADDR_HOST_OR_SUBNET);
	assert_canonical(&a, "0.0.0.1/32");
}

static void test_address_ipv6_host(void **state)
{
	(void)state;
	struct filter_addr a = parse_ok("2001:db8::1");
	assert_int_equal(a.kind, ADDR_HOST_OR_SUBNET);
	assert_ip(&a.ip, "2001:db8::1");
	assert_int_equal(a.prefix, 128);
	assert_canonical(&a, "2001:db8::1/128");

	/* Upper case hex and the long form print in the RFC 5952 form. */
	a = parse_ok("2001:0DB8:0000:0000:0000:0000:0000:00AB");
	assert_ip(&a.ip, "2001:db8::ab");
	assert_canonical(&a, "2001:db8::ab/128");

	a = parse_ok("::1");
	assert_int_equal(a.kind, ADDR_HOST_OR_SUBNET);
	assert_int_equal(a.prefix, 128);
	assert_canonical(&a, "::1/128");

	a = parse_ok("fe80::1");
	assert_canonical(&a, "fe80::1/128");

	a = parse_ok("::ffff:10.1.2.3");
	assert_int_equal(a.ip.family, AF_INET6);
	assert_int_equal(a.prefix, 128);
}

static void test_address_zero_is_any(void **state)
{
	(void)state;
	/* §2.1: 0.0.0.0 is treated as any. */
	struct filter_addr a = parse_ok("0.0.0.0");
	assert_int_equal(a.kind, ADDR_ANY);
	assert_int_equal(a.prefix, 0);
	assert_canonical(&a, "any");

	/* ... whatever mask is given (dsta=0.0.0.0 dstmask=32 matches any). */
	static const char *const masks[] = { "32", "255.255.255.255", "24", "0", "0.0.0.0" };
	for (size_t i = 0; i < NELEM(masks); i++) {
		struct diag d;
		diag_init(&d);
		a = parse_ok("0.0.0.0");
		assert_true(policy_apply_mask("dstmask", masks[i], &a, &d));
		assert_diag_ok(&d);
		assert_int_equal(a.kind, ADDR_ANY);
		assert_canonical(&a, "any");
	}
}

static void test_address_cidr_ipv4(void **state)
{
	(void)state;
	static const struct {
		const char *text, *ip;
		unsigned prefix;
		const char *canonical;
	} cases[] = {
		{ "10.1.2.3/24", "10.1.2.0", 24, "10.1.2.0/24" },
		{ "10.1.2.3/32", "10.1.2.3", 32, "10.1.2.3/32" },
		{ "10.1.2.3/31", "10.1.2.2", 31, "10.1.2.2/31" },
		{ "10.1.2.3/16", "10.1.0.0", 16, "10.1.0.0/16" },
		{ "10.255.255.255/9", "10.128.0.0", 9, "10.128.0.0/9" },
		{ "192.168.77.200/1", "128.0.0.0", 1, "128.0.0.0/1" },
		{ "10.1.2.3/0", "0.0.0.0", 0, "0.0.0.0/0" },
		{ "172.16.5.4/12", "172.16.0.0", 12, "172.16.0.0/12" },
		{ "10.1.2.3/024", "10.1.2.0", 24, "10.1.2.0/24" },  /* leading zero */
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct filter_addr a = parse_ok(cases[i].text);
		assert_int_equal(a.kind, ADDR_HOST_OR_SUBNET);
		assert_ip(&a.ip, cases[i].ip);
		assert_int_equal(a.prefix, cases[i].prefix);
		assert_canonical(&a, cases[i].canonical);
	}
}

static void test_address_cidr_ipv6(void **state)
{
	(void)state;
	static const struct {
		const char *text, *ip;
		unsigned prefix;
		const char *canonical;
	} cases[] = {
		{ "2001:db8:abcd:1234::1/48", "2001:db8:abcd::", 48, "2001:db8:abcd::/48" },
		{ "2001:db8::1/64", "2001:db8::", 64, "2001:db8::/64" },
		{ "2001:db8::1/128", "2001:db8::1", 128, "2001:db8::1/128" },
		{ "2001:db8::ffff/127", "2001:db8::fffe", 127, "2001:db8::fffe/127" },
		{ "2001:db8::1/0", "::", 0, "::/0" },
		{ "2001:db8:ffff::/33", "2001:db8:8000::", 33, "2001:db8:8000::/33" },
		{ "ffff:ffff::/7", "fe00::", 7, "fe00::/7" },
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct filter_addr a = parse_ok(cases[i].text);
		assert_int_equal(a.kind, ADDR_HOST_OR_SUBNET);
		assert_ip(&a.ip, cases[i].ip);
		assert_int_equal(a.prefix, cases[i].prefix);
		assert_canonical(&a, cases[i].canonical);
	}
}

static void test_address_cidr_invalid(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"10.1.2.3/", "10.1.2.3/33", "10.1.2.3/-1", "10.1.2.3/abc", "10.1.2.3/ 24",
		"10.1.2.3/24/8", "10.1.2.3/+24", "10.1.2.3/24x", "10.1.2.3/4294967320",
		"2001:db8::1/129", "2001:db8::1/", "2001:db8::1/1x",
		"host.example.com/24",  /* a DNS name takes no prefix */
		"/24",
	};
	for (size_t i = 0; i < NELEM(bad); i++)
		parse_bad(bad[i]);
}

/* ---- ranges ------------------------------------------------------------------ */

static void test_address_range_ipv4(void **state)
{
	(void)state;
	struct filter_addr a = parse_ok("10.0.0.1-10.0.0.20");
	assert_int_equal(a.kind, ADDR_RANGE);
	assert_ip(&a.ip, "10.0.0.1");
	assert_ip(&a.last, "10.0.0.20");
	assert_canonical(&a, "10.0.0.1-10.0.0.20");

	/* Both ends equal is a one-address range. */
	a = parse_ok("10.0.0.7-10.0.0.7");
	assert_int_equal(a.kind, ADDR_RANGE);
	assert_ip(&a.ip, "10.0.0.7");
	assert_ip(&a.last, "10.0.0.7");

	/* Ordering is numeric across octets. */
	a = parse_ok("9.255.255.255-10.0.0.0");
	assert_int_equal(a.kind, ADDR_RANGE);
	a = parse_ok("10.0.0.255-10.0.1.0");
	assert_int_equal(a.kind, ADDR_RANGE);
	a = parse_ok("0.0.0.0-255.255.255.255");
	assert_int_equal(a.kind, ADDR_RANGE);
	assert_canonical(&a, "0.0.0.0-255.255.255.255");
}

static void test_address_range_ipv6(void **state)
{
	(void)state;
	struct filter_addr a = parse_ok("2001:db8::1-2001:db8::ff");
	assert_int_equal(a.kind, ADDR_RANGE);
	assert_ip(&a.ip, "2001:db8::1");
	assert_ip(&a.last, "2001:db8::ff");
	assert_canonical(&a, "2001:db8::1-2001:db8::ff");

	a = parse_ok("fe80::a-fe80::b");
	assert_int_equal(a.kind, ADDR_RANGE);
	assert_canonical(&a, "fe80::a-fe80::b");
}

static void test_address_range_reversed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"10.0.0.20-10.0.0.1", "10.0.1.0-10.0.0.255", "2001:db8::2-2001:db8::1",
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct diag d;
		struct filter_addr a;
		diag_init(&d);
		assert_int_equal(policy_parse_address("srcaddr", bad[i], &a, &d), ADDR_PARSE_ERROR);
		assert_diag_error(&d, ERR_BAD_VALUE, "srcaddr", bad[i]);
		assert_contains(d.msg, "not above its last");
	}
}

static void test_address_range_mixed_family(void **state)
{
	(void)state;
	static const char *const bad[] = { "10.0.0.1-2001:db8::1", "::1-10.0.0.1" };
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct diag d;
		struct filter_addr a;
		diag_init(&d);
		assert_int_equal(policy_parse_address("srcaddr", bad[i], &a, &d), ADDR_PARSE_ERROR);
		assert_diag_error(&d, ERR_BAD_VALUE, "srcaddr", bad[i]);
		assert_contains(d.msg, "same family");
	}
}

static void test_address_range_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"10.0.0.1-", "-10.0.0.1", "10.0.0.1-10.0.0.2-10.0.0.3", "10.0.0.1-10.0.0.300",
		"10.0.0.1-10.0.0.5/24", "10.0.0.1/24-10.0.0.5", "10.0.0.1--10.0.0.5",
		"10.0.0.1 - 10.0.0.5", "-",
	};
	for (size_t i = 0; i < NELEM(bad); i++)
		parse_bad(bad[i]);
}

/* ---- DNS names and garbage ------------------------------------------------------- */

static void test_address_dns_names(void **state)
{
	(void)state;
	static const char *const names[] = {
		"host.example.com", "server1", "my-host", "MyHost.Corp.Example",
		"a", "1host", "xn--bcher-kva.example", "host.example.com.",
		"10.1.2.3.example", "a-b-c",
	};
	for (size_t i = 0; i < NELEM(names); i++) {
		struct diag d;
		struct filter_addr a;
		diag_init(&d);
		enum addr_parse r = policy_parse_address("dstaddr", names[i], &a, &d);
		if (r != ADDR_PARSE_DNS_NAME)
			fail_msg("'%s': expected ADDR_PARSE_DNS_NAME, got %d", names[i], (int)r);
		assert_diag_ok(&d);
		assert_true(policy_is_hostname(names[i]));
	}
}

static void test_is_hostname(void **state)
{
	(void)state;
	char label63[64], label64[65];
	memset(label63, 'a', 63);
	label63[63] = '\0';
	memset(label64, 'a', 64);
	label64[64] = '\0';
	assert_true(policy_is_hostname(label63));
	assert_false(policy_is_hostname(label64));

	static const char *const no[] = {
		"", "10.1.2.3", "10.1.2", "1-2", "123", "-host", "host-", "host-.example",
		"host.-example", ".host", "a..b", "host_name", "host name", "host:80",
		"host/24", "h\xc3\xa9te", "*.example.com", "host.example.com-",
	};
	for (size_t i = 0; i < NELEM(no); i++)
		if (policy_is_hostname(no[i]))
			fail_msg("'%s' should not be a host name", no[i]);

	/* 253 characters is the longest name; 254 is too long. */
	char name[300];
	size_t o = 0;
	while (o < 253) {
		size_t n = 253 - o >= 61 ? 60 : 253 - o;
		memset(name + o, 'b', n);
		o += n;
		if (o < 253)
			name[o++] = '.';
	}
	name[o] = '\0';
	assert_int_equal(strlen(name), 253);
	assert_true(policy_is_hostname(name));
	name[o] = 'c';
	name[o + 1] = '\0';
	assert_false(policy_is_hostname(name));
}

/* Regression: names up to 253 characters are host names (the parser's buffer
 * was once 128 bytes and refused them). */
static void test_address_long_dns_name(void **state)
{
	(void)state;
	char name[200];
	snprintf(name, sizeof(name), "%.60s.%.60s.%.60s.example",
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	         "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
	         "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
	assert_true(strlen(name) > 128);
	assert_true(policy_is_hostname(name));
	struct diag d;
	struct filter_addr a;
	diag_init(&d);
	assert_int_equal(policy_parse_address("dstaddr", name, &a, &d), ADDR_PARSE_DNS_NAME);
	assert_diag_ok(&d);
}

static void test_address_dns_name_127(void **state)
{
	(void)state;
	/* The longest name the parser currently reads as a DNS name: 127 chars
	 * (see test_address_long_dns_name for 128 and more). */
	char name[128];
	snprintf(name, sizeof(name), "%.60s.%.60s.examp",
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	         "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	assert_int_equal(strlen(name), 127);
	struct diag d;
	struct filter_addr a;
	diag_init(&d);
	assert_int_equal(policy_parse_address("dstaddr", name, &a, &d), ADDR_PARSE_DNS_NAME);
	assert_diag_ok(&d);
}

static void test_address_garbage(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", " ", "10.1.2.3 ", " 10.1.2.3", "10.1.2", "10.1.2.3.4", "256.1.1.1",
		"1.2.3.-4", "host_name", "ab..cd", "-host", "host-", "2001:db8::1::2",
		"2001:db8:g::1", ":::", "me any", "me,any", "\"me\"", "10.1.2.3:80", "*",
		"<My IP Address>", "host name",
	};
	for (size_t i = 0; i < NELEM(bad); i++)
		parse_bad(bad[i]);
}

static void test_address_garbage_long(void **state)
{
	(void)state;
	/* Longer than any internal buffer: rejected, message truncated safely. */
	char text[1000];
	memset(text, '#', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	struct diag d;
	struct filter_addr a;
	diag_init(&d);
	assert_int_equal(policy_parse_address("srcaddr", text, &a, &d), ADDR_PARSE_ERROR);
	assert_int_equal(d.code, ERR_BAD_VALUE);
	assert_contains(d.msg, "'srcaddr'");
	assert_true(strlen(d.msg) < DIAG_MSG_MAX);
}

static void test_address_first_error_wins(void **state)
{
	(void)state;
	struct diag d;
	struct filter_addr a;
	diag_init(&d);
	assert_int_equal(policy_parse_address("srcaddr", "bogus!", &a, &d), ADDR_PARSE_ERROR);
	assert_int_equal(policy_parse_address("dstaddr", "other!", &a, &d), ADDR_PARSE_ERROR);
	assert_diag_error(&d, ERR_BAD_VALUE, "srcaddr", "bogus!");
	assert_not_contains(d.msg, "other!");
}

/* ---- masks --------------------------------------------------------------------- */

static void mask_ok(const char *addr, const char *mask, const char *canonical)
{
	struct diag d;
	diag_init(&d);
	struct filter_addr a = parse_ok(addr);
	if (!policy_apply_mask("srcmask", mask, &a, &d))
		fail_msg("%s mask %s: %s", addr, mask, d.msg);
	assert_diag_ok(&d);
	assert_canonical(&a, canonical);
}

static void mask_bad(const char *addr, const char *mask)
{
	struct diag d;
	diag_init(&d);
	struct filter_addr a = parse_ok(addr);
	struct filter_addr before = a;
	if (policy_apply_mask("srcmask", mask, &a, &d))
		fail_msg("%s mask %s accepted", addr, mask);
	assert_diag_error(&d, ERR_BAD_VALUE, "srcmask", mask);
	assert_addr_equal(&a, &before);   /* unchanged on error */
}

static void test_mask_dotted(void **state)
{
	(void)state;
	mask_ok("10.1.2.3", "255.255.255.0", "10.1.2.0/24");
	mask_ok("10.1.2.3", "255.255.255.255", "10.1.2.3/32");
	mask_ok("10.1.2.3", "255.255.0.0", "10.1.0.0/16");
	mask_ok("10.1.2.3", "255.0.0.0", "10.0.0.0/8");
	mask_ok("10.1.2.3", "255.255.255.254", "10.1.2.2/31");
	mask_ok("10.1.2.3", "255.255.255.128", "10.1.2.0/25");
	mask_ok("10.1.2.200", "255.255.255.192", "10.1.2.192/26");
	mask_ok("10.1.2.3", "128.0.0.0", "0.0.0.0/1");
	mask_ok("10.1.2.3", "0.0.0.0", "0.0.0.0/0");
}

static void test_mask_prefix(void **state)
{
	(void)state;
	/* The example of §2.2: 10.1.2.3 with mask 24 is stored as 10.1.2.0/24. */
	struct diag d;
	diag_init(&d);
	struct filter_addr a = parse_ok("10.1.2.3");
	assert_true(policy_apply_mask("srcmask", "24", &a, &d));
	assert_diag_ok(&d);
	assert_int_equal(a.kind, ADDR_HOST_OR_SUBNET);
	assert_int_equal(a.prefix, 24);
	assert_ip(&a.ip, "10.1.2.0");

	mask_ok("10.1.2.3", "32", "10.1.2.3/32");
	mask_ok("10.1.2.3", "1", "0.0.0.0/1");
	mask_ok("200.1.2.3", "1", "128.0.0.0/1");
	mask_ok("10.1.2.3", "0", "0.0.0.0/0");   /* §2.2: 0 = 0.0.0.0 */
	mask_ok("10.1.2.3", "20", "10.1.0.0/20");
	mask_ok("10.1.255.3", "20", "10.1.240.0/20");
}

static void test_mask_ipv6(void **state)
{
	(void)state;
	mask_ok("2001:db8:1:2::5", "64", "2001:db8:1:2::/64");
	mask_ok("2001:db8:1:2::5", "128", "2001:db8:1:2::5/128");
	mask_ok("2001:db8:1:2::5", "0", "::/0");
	mask_ok("2001:db8:1:2::5", "32", "2001:db8::/32");
	mask_bad("2001:db8::1", "129");
	mask_bad("2001:db8::1", "255.255.255.0");   /* no dotted mask for IPv6 */
	mask_bad("2001:db8::1", "ffff:ffff::");
	mask_bad("2001:db8::1", "-1");
}

static void test_mask_invalid(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"255.0.255.0", "255.255.255.1", "0.255.255.255", "255.255.0.255",
		"254.255.255.0", "33", "-1", "abc", "", " 24", "24 ", "255.255.255",
		"255.255.255.0.0", "256.0.0.0", "/24", "0x18", "4294967296",
	};
	for (size_t i = 0; i < NELEM(bad); i++)
		mask_bad("10.1.2.3", bad[i]);

	/* The non-contiguous case says what is allowed. */
	struct diag d;
	diag_init(&d);
	struct filter_addr a = parse_ok("10.1.2.3");
	assert_false(policy_apply_mask("dstmask", "255.0.255.0", &a, &d));
	assert_contains(d.msg, "contiguous");
	assert_contains(d.msg, "0-32");
}

static void test_mask_with_range_rejected(void **state)
{
	(void)state;
	static const char *const masks[] = { "255.255.255.0", "24", "32", "0" };
	for (size_t i = 0; i < NELEM(masks); i++) {
		struct diag d;
		diag_init(&d);
		struct filter_addr a = parse_ok("10.0.0.1-10.0.0.9");
		assert_false(policy_apply_mask("srcmask", masks[i], &a, &d));
		assert_diag_error(&d, ERR_BAD_VALUE, "srcmask", masks[i]);
		assert_contains(d.msg, "range");
		assert_int_equal(a.kind, ADDR_RANGE);
		assert_canonical(&a, "10.0.0.1-10.0.0.9");
	}
}

static void test_mask_ignored_for_keywords(void **state)
{
	(void)state;
	/* §2.2: ignored for me, any and the server keywords. */
	static const char *const kw[] = { "me", "any", "dns", "wins", "dhcp", "gateway" };
	static const char *const masks[] = { "255.255.255.0", "24", "0", "32" };
	for (size_t i = 0; i < NELEM(kw); i++)
		for (size_t j = 0; j < NELEM(masks); j++) {
			struct diag d;
			diag_init(&d);
			struct filter_addr a = parse_ok(kw[i]);
			struct filter_addr before = a;
			assert_true(policy_apply_mask("srcmask", masks[j], &a, &d));
			assert_diag_ok(&d);
			assert_addr_equal(&a, &before);
			assert_canonical(&a, kw[i]);
		}
	/* ... but a malformed mask is still a malformed value. */
	mask_bad("me", "255.0.255.0");
	mask_bad("any", "garbage");
}

/* ---- canonical round trip ------------------------------------------------------ */

static void test_canonical_round_trip(void **state)
{
	(void)state;
	static const struct {
		const char *input, *mask, *canonical;
	} cases[] = {
		{ "me", NULL, "me" }, { "ANY", NULL, "any" }, { "Dns", NULL, "dns" },
		{ "wins", NULL, "wins" }, { "dhcp", NULL, "dhcp" }, { "gateway", NULL, "gateway" },
		{ "0.0.0.0", NULL, "any" },
		{ "10.1.2.3", NULL, "10.1.2.3/32" },
		{ "10.1.2.3", "255.255.255.0", "10.1.2.0/24" },
		{ "10.1.2.3", "0", "0.0.0.0/0" },
		{ "10.1.2.3/9", NULL, "10.0.0.0/9" },
		{ "2001:db8::1", NULL, "2001:db8::1/128" },
		{ "2001:DB8::1", "32", "2001:db8::/32" },
		{ "::1", NULL, "::1/128" },
		{ "10.0.0.1-10.0.0.9", NULL, "10.0.0.1-10.0.0.9" },
		{ "2001:db8::1-2001:db8::ff", NULL, "2001:db8::1-2001:db8::ff" },
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct diag d;
		diag_init(&d);
		struct filter_addr a = parse_ok(cases[i].input), b;
		if (cases[i].mask)
			assert_true(policy_apply_mask("srcmask", cases[i].mask, &a, &d));
		char text[128], again[128];
		policy_format_address(&a, text, sizeof(text));
		assert_string_equal(text, cases[i].canonical);
		if (!policy_address_from_canonical(text, &b))
			fail_msg("canonical '%s' not read back", text);
		assert_addr_equal(&a, &b);
		policy_format_address(&b, again, sizeof(again));
		assert_string_equal(again, text);
	}
}

static void test_canonical_rejects(void **state)
{
	(void)state;
	struct filter_addr a;
	assert_false(policy_address_from_canonical("", &a));
	assert_false(policy_address_from_canonical("garbage!", &a));
	assert_false(policy_address_from_canonical("10.1.2.3/33", &a));
	assert_false(policy_address_from_canonical("10.0.0.9-10.0.0.1", &a));
	/* A DNS name is not a stored form: it is resolved before storing. */
	assert_false(policy_address_from_canonical("host.example.com", &a));
}

static void test_format_truncates(void **state)
{
	(void)state;
	struct filter_addr a = parse_ok("2001:db8:1234:5678:9abc:def0:1234:5678-2001:db8:1234:5678:9abc:def0:1234:ffff");
	char small[8];
	memset(small, 'x', sizeof(small));
	policy_format_address(&a, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, "2001:db", 7);
	policy_display_address(&a, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

/* ---- display forms --------------------------------------------------------------- */

static void test_display_forms(void **state)
{
	(void)state;
	static const struct {
		const char *input, *mask, *addr, *shown_mask;
	} cases[] = {
		{ "me", NULL, "<My IP Address>", "255.255.255.255" },
		{ "any", NULL, "<Any IP Address>", "0.0.0.0" },
		{ "0.0.0.0", "32", "<Any IP Address>", "0.0.0.0" },
		{ "dns", NULL, "<DNS Servers>", "255.255.255.255" },
		{ "wins", NULL, "<WINS Servers>", "255.255.255.255" },
		{ "dhcp", NULL, "<DHCP Server>", "255.255.255.255" },
		{ "gateway", NULL, "<Default Gateway>", "255.255.255.255" },
		{ "10.1.2.3", NULL, "10.1.2.3", "255.255.255.255" },
		{ "10.1.2.3", "24", "10.1.2.0", "255.255.255.0" },
		{ "10.1.2.3", "255.255.240.0", "10.1.0.0", "255.255.240.0" },
		{ "10.255.2.3/9", NULL, "10.128.0.0", "255.128.0.0" },
		{ "10.1.2.3/1", NULL, "0.0.0.0", "128.0.0.0" },
		{ "10.1.2.3", "0", "0.0.0.0", "0.0.0.0" },
		{ "10.1.2.3/31", NULL, "10.1.2.2", "255.255.255.254" },
		{ "10.0.0.1-10.0.0.9", NULL, "10.0.0.1-10.0.0.9", "N/A" },
		{ "2001:db8::1", NULL, "2001:db8::1", "/128" },
		{ "2001:db8::1/32", NULL, "2001:db8::", "/32" },
		{ "2001:db8::1/0", NULL, "::", "/0" },
		{ "2001:db8::1-2001:db8::9", NULL, "2001:db8::1-2001:db8::9", "N/A" },
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct diag d;
		diag_init(&d);
		struct filter_addr a = parse_ok(cases[i].input);
		if (cases[i].mask)
			assert_true(policy_apply_mask("srcmask", cases[i].mask, &a, &d));
		char addr[128], mask[64];
		policy_display_address(&a, addr, sizeof(addr));
		policy_display_mask(&a, mask, sizeof(mask));
		assert_string_equal(addr, cases[i].addr);
		assert_string_equal(mask, cases[i].shown_mask);
	}
}

/* ---- policy_parse_ip / policy_format_ip --------------------------------------------- */

static void test_parse_ip(void **state)
{
	(void)state;
	struct ip_address ip;
	assert_true(policy_parse_ip("192.0.2.1", &ip));
	assert_ip(&ip, "192.0.2.1");
	/* Bytes past the IPv4 address are zero. */
	for (int i = 4; i < 16; i++)
		assert_int_equal(ip.bytes[i], 0);
	assert_true(policy_parse_ip("2001:db8::1", &ip));
	assert_ip(&ip, "2001:db8::1");
	assert_false(policy_parse_ip("", &ip));
	assert_false(policy_parse_ip("192.0.2", &ip));
	assert_false(policy_parse_ip("192.0.2.1/24", &ip));
	assert_false(policy_parse_ip("host", &ip));
	assert_false(policy_parse_ip("2001:db8::1::", &ip));

	char buf[64];
	assert_true(policy_parse_ip("2001:0db8:0:0:0:0:0:1", &ip));
	policy_format_ip(&ip, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::1");
	assert_true(policy_parse_ip("10.0.0.255", &ip));
	policy_format_ip(&ip, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.255");
}

/* ---- protocols ----------------------------------------------------------------------- */

static void test_protocol_keywords(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint8_t number;
	} cases[] = {
		{ "ANY", 0 }, { "any", 0 }, { "ICMP", 1 }, { "icmp", 1 }, { "TCP", 6 },
		{ "tcp", 6 }, { "Tcp", 6 }, { "UDP", 17 }, { "udp", 17 }, { "RAW", 255 },
		{ "raw", 255 }, { "ICMPV6", 58 }, { "icmpv6", 58 },
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct diag d;
		diag_init(&d);
		uint8_t p = 123;
		assert_true(policy_parse_protocol("protocol", cases[i].text, &p, &d));
		assert_diag_ok(&d);
		assert_int_equal(p, cases[i].number);
	}
}

static void test_protocol_numbers(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint8_t number;
	} cases[] = {
		{ "0", 0 }, { "1", 1 }, { "6", 6 }, { "17", 17 }, { "47", 47 }, { "50", 50 },
		{ "51", 51 }, { "255", 255 }, { "006", 6 },
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct diag d;
		diag_init(&d);
		uint8_t p = 123;
		assert_true(policy_parse_protocol("protocol", cases[i].text, &p, &d));
		assert_diag_ok(&d);
		assert_int_equal(p, cases[i].number);
	}
}

static void test_protocol_invalid(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"256", "1000", "-1", "", "tcp6", "TCP ", " 6", "6x", "ESP", "icmp4", "0x06",
		"99999999999999999999",
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct diag d;
		diag_init(&d);
		uint8_t p = 123;
		assert_false(policy_parse_protocol("protocol", bad[i], &p, &d));
		assert_diag_error(&d, ERR_BAD_VALUE, "protocol", bad[i]);
		assert_contains(d.msg, "TCP");
		assert_contains(d.msg, "0-255");
		assert_int_equal(p, 123);
	}
}

static void test_protocol_name(void **state)
{
	(void)state;
	char buf[8];
	assert_string_equal(policy_protocol_name(0, buf, sizeof(buf)), "ANY");
	assert_string_equal(policy_protocol_name(1, buf, sizeof(buf)), "ICMP");
	assert_string_equal(policy_protocol_name(6, buf, sizeof(buf)), "TCP");
	assert_string_equal(policy_protocol_name(17, buf, sizeof(buf)), "UDP");
	assert_string_equal(policy_protocol_name(58, buf, sizeof(buf)), "ICMPV6");
	assert_string_equal(policy_protocol_name(255, buf, sizeof(buf)), "RAW");
	assert_string_equal(policy_protocol_name(50, buf, sizeof(buf)), "50");
	assert_string_equal(policy_protocol_name(254, buf, sizeof(buf)), "254");
	/* Every number prints to something that parses back to it. */
	for (unsigned n = 0; n < 256; n++) {
		struct diag d;
		diag_init(&d);
		uint8_t p;
		const char *name = policy_protocol_name((uint8_t)n, buf, sizeof(buf));
		assert_true(policy_parse_protocol("protocol", name, &p, &d));
		assert_int_equal(p, n);
	}
}

/* ---- ports ------------------------------------------------------------------------------ */

static void test_port_valid(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint16_t port;
	} cases[] = {
		{ "0", 0 }, { "1", 1 }, { "80", 80 }, { "3389", 3389 }, { "65535", 65535 },
		{ "00445", 445 },
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct diag d;
		diag_init(&d);
		uint16_t p = 7;
		assert_true(policy_parse_port("dstport", cases[i].text, &p, &d));
		assert_diag_ok(&d);
		assert_int_equal(p, cases[i].port);
	}
}

static void test_port_invalid(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"65536", "100000", "-1", "", "http", "80 ", " 80", "80,443", "80-90", "0x50",
		"4294967297", "+80",
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct diag d;
		diag_init(&d);
		uint16_t p = 7;
		assert_false(policy_parse_port("dstport", bad[i], &p, &d));
		assert_diag_error(&d, ERR_BAD_VALUE, "dstport", bad[i]);
		assert_contains(d.msg, "0-65535");
		assert_int_equal(p, 7);
	}
}

/* ---- booleans ---------------------------------------------------------------------------- */

static void test_bool(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		bool value;
	} cases[] = {
		{ "yes", true }, { "YES", true }, { "Yes", true }, { "y", true }, { "Y", true },
		{ "no", false }, { "NO", false }, { "No", false }, { "n", false }, { "N", false },
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct diag d;
		diag_init(&d);
		bool b = !cases[i].value;
		assert_true(policy_parse_bool("mirrored", cases[i].text, &b, &d));
		assert_diag_ok(&d);
		assert_int_equal(b, cases[i].value);
	}
	static const char *const bad[] = {
		"", "true", "false", "1", "0", "on", "off", "ye", "yess", "nope", " yes", "yes ",
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct diag d;
		diag_init(&d);
		bool b = true;
		assert_false(policy_parse_bool("mirrored", bad[i], &b, &d));
		assert_diag_error(&d, ERR_BAD_VALUE, "mirrored", bad[i]);
		assert_contains(d.msg, "yes, no");
		assert_true(b);
	}
}

/* ---- unsigned integers --------------------------------------------------------------------- */

static void test_uint_valid(void **state)
{
	(void)state;
	struct diag d;
	uint32_t v;
	diag_init(&d);
	assert_true(policy_parse_uint("mmlifetime", "5", 5, 2879, &v, &d));
	assert_int_equal(v, 5);
	assert_true(policy_parse_uint("mmlifetime", "2879", 5, 2879, &v, &d));
	assert_int_equal(v, 2879);
	assert_true(policy_parse_uint("mmlifetime", "480", 5, 2879, &v, &d));
	assert_int_equal(v, 480);
	assert_true(policy_parse_uint("qmpermm", "0", 0, UINT32_MAX, &v, &d));
	assert_int_equal(v, 0);
	assert_true(policy_parse_uint("qmpermm", "4294967295", 0, UINT32_MAX, &v, &d));
	assert_int_equal(v, UINT32_MAX);
	assert_true(policy_parse_uint("x", "000042", 0, 100, &v, &d));
	assert_int_equal(v, 42);
	assert_diag_ok(&d);
}

static void test_uint_invalid(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint32_t min, max;
	} bad[] = {
		{ "4", 5, 2879 }, { "2880", 5, 2879 }, { "0", 1, 43200 }, { "43201", 1, 43200 },
		{ "4294967296", 0, UINT32_MAX }, { "99999999999999999999999", 0, UINT32_MAX },
		{ "", 0, 10 }, { "-1", 0, 10 }, { "+1", 0, 10 }, { " 1", 0, 10 }, { "1 ", 0, 10 },
		{ "1.5", 0, 10 }, { "0x5", 0, 10 }, { "1e2", 0, 1000 }, { "five", 0, 10 },
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct diag d;
		diag_init(&d);
		uint32_t v = 77;
		assert_false(policy_parse_uint("pollinginterval", bad[i].text, bad[i].min,
		                               bad[i].max, &v, &d));
		assert_diag_error(&d, ERR_BAD_VALUE, "pollinginterval", bad[i].text);
		char allowed[64];
		snprintf(allowed, sizeof(allowed), "a whole number from %u to %u",
		         bad[i].min, bad[i].max);
		assert_contains(d.msg, allowed);
		assert_int_equal(v, 77);
	}
}

/* ---- GUIDs ------------------------------------------------------------------------------- */

static void test_guid_parse(void **state)
{
	(void)state;
	assert_true(policy_parse_guid("{11E6E97E-0031-49f5-AC7D-5F2FE99BABAF}"));
	assert_true(policy_parse_guid("{00000000-0000-0000-0000-000000000000}"));
	assert_true(policy_parse_guid("{abcdefab-cdef-abcd-efab-cdefabcdefab}"));
	static const char *const bad[] = {
		"", "11E6E97E-0031-49f5-AC7D-5F2FE99BABAF",
		"{11E6E97E-0031-49f5-AC7D-5F2FE99BABAF", "11E6E97E-0031-49f5-AC7D-5F2FE99BABAF}",
		"{11E6E97E00031-49f5-AC7D-5F2FE99BABAF}", "{11E6E97E-0031-49f5-AC7D-5F2FE99BABA}",
		"{11E6E97E-0031-49f5-AC7D-5F2FE99BABAF0}", "{11E6E97G-0031-49f5-AC7D-5F2FE99BABAF}",
		"{11E6E97E-0031-49f5-AC7D-5F2FE99BABAF} ", "(11E6E97E-0031-49f5-AC7D-5F2FE99BABAF)",
		"{11E6E97E-031-49f5-AC7D-05F2FE99BABAF}", "{ 1E6E97E-0031-49f5-AC7D-5F2FE99BABAF}",
		"{11E6E97E-0031-49f5-AC7D-5F2FE99B-BAF}",
	};
	for (size_t i = 0; i < NELEM(bad); i++)
		if (policy_parse_guid(bad[i]))
			fail_msg("'%s' accepted as a GUID", bad[i]);
}

static void test_guid_new(void **state)
{
	(void)state;
	char seen[16][POLICY_GUID_LEN];
	for (size_t n = 0; n < NELEM(seen); n++) {
		char g[POLICY_GUID_LEN];
		policy_new_guid(g);
		assert_int_equal(strlen(g), POLICY_GUID_LEN - 1);
		assert_true(policy_parse_guid(g));
		/* Upper-case hex, RFC 4122 version 4, variant 10xx. */
		for (size_t i = 0; g[i]; i++)
			assert_false(islower((unsigned char)g[i]));
		assert_int_equal(g[15], '4');
		assert_non_null(strchr("89AB", g[20]));
		for (size_t k = 0; k < n; k++)
			assert_string_not_equal(seen[k], g);
		memcpy(seen[n], g, sizeof(g));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address_keywords),
		cmocka_unit_test(test_address_is_server),
		cmocka_unit_test(test_address_ipv4_host),
		cmocka_unit_test(test_address_ipv6_host),
		cmocka_unit_test(test_address_zero_is_any),
		cmocka_unit_test(test_address_cidr_ipv4),
		cmocka_unit_test(test_address_cidr_ipv6),
		cmocka_unit_test(test_address_cidr_invalid),
		cmocka_unit_test(test_address_range_ipv4),
		cmocka_unit_test(test_address_range_ipv6),
		cmocka_unit_test(test_address_range_reversed),
		cmocka_unit_test(test_address_range_mixed_family),
		cmocka_unit_test(test_address_range_malformed),
		cmocka_unit_test(test_address_dns_names),
		cmocka_unit_test(test_is_hostname),
		cmocka_unit_test(test_address_dns_name_127),
		cmocka_unit_test(test_address_long_dns_name),
		cmocka_unit_test(test_address_garbage),
		cmocka_unit_test(test_address_garbage_long),
		cmocka_unit_test(test_address_first_error_wins),
		cmocka_unit_test(test_mask_dotted),
		cmocka_unit_test(test_mask_prefix),
		cmocka_unit_test(test_mask_ipv6),
		cmocka_unit_test(test_mask_invalid),
		cmocka_unit_test(test_mask_with_range_rejected),
		cmocka_unit_test(test_mask_ignored_for_keywords),
		cmocka_unit_test(test_canonical_round_trip),
		cmocka_unit_test(test_canonical_rejects),
		cmocka_unit_test(test_format_truncates),
		cmocka_unit_test(test_display_forms),
		cmocka_unit_test(test_parse_ip),
		cmocka_unit_test(test_protocol_keywords),
		cmocka_unit_test(test_protocol_numbers),
		cmocka_unit_test(test_protocol_invalid),
		cmocka_unit_test(test_protocol_name),
		cmocka_unit_test(test_port_valid),
		cmocka_unit_test(test_port_invalid),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_uint_valid),
		cmocka_unit_test(test_uint_invalid),
		cmocka_unit_test(test_guid_parse),
		cmocka_unit_test(test_guid_new),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
