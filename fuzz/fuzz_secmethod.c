/*
 * fuzz_secmethod: the value parsers of the policy model.
 *
 * The whole input (a NUL-terminated copy) goes to the quick-mode and
 * main-mode security-method parsers; its first line is also an address and
 * the rest a mask. Invariants (abort() when broken), because the store and
 * dump rely on them:
 *   - qmsec/mmsec: text that parses formats to a canonical text that parses
 *     again and formats to the identical text;
 *   - addresses: the canonical text (the store's column format) of a parsed
 *     address, before and after a mask, parses back to the same text.
 * Scalar parsers (protocol, port, bool, uint, guid, conntype, action) get
 * the first line too, for the sanitizers only.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

#define FUZZ_MAX_INPUT 4096
#define FMT_LEN 8192     /* far above the longest list of 10 offers */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *input, const char *a, const char *b)
{
	fprintf(stderr, "INVARIANT BROKEN: %s\n  input:  \"%s\"\n  first:  \"%s\"\n"
	        "  second: \"%s\"\n", what, input, a, b ? b : "(does not parse)");
	abort();
}

static void check_qmsec(const char *text)
{
	struct qm_methods q, q2;
	struct diag d;
	diag_init(&d);
	if (!policy_parse_qmsec("qmsecmethods", text, &q, &d))
		return;
	if (q.n == 0 || q.n > POLICY_MAX_METHODS)
		fail("qmsec count out of range", text, "", "");
	static char f1[FMT_LEN], f2[FMT_LEN];
	policy_format_qmsec(&q, f1, sizeof(f1));
	for (size_t i = 0; i < q.n; i++) {
		char one[256];
		policy_format_security_method(&q.m[i], one, sizeof(one));
	}
	diag_init(&d);
	if (!policy_parse_qmsec("qmsecmethods", f1, &q2, &d))
		fail("qmsec canonical text does not parse", text, f1, NULL);
	policy_format_qmsec(&q2, f2, sizeof(f2));
	if (strcmp(f1, f2) != 0 || q2.n != q.n)
		fail("qmsec format(parse(format(x))) != format(x)", text, f1, f2);
}

static void check_mmsec(const char *text)
{
	struct mm_methods m, m2;
	struct diag d;
	diag_init(&d);
	if (!policy_parse_mmsec("mmsecmethods", text, &m, &d))
		return;
	if (m.n == 0 || m.n > POLICY_MAX_METHODS)
		fail("mmsec count out of range", text, "", "");
	static char f1[FMT_LEN], f2[FMT_LEN];
	policy_format_mmsec(&m, f1, sizeof(f1));
	for (size_t i = 0; i < m.n; i++)
		(void)policy_group_label(m.m[i].group);
	diag_init(&d);
	if (!policy_parse_mmsec("mmsecmethods", f1, &m2, &d))
		fail("mmsec canonical text does not parse", text, f1, NULL);
	policy_format_mmsec(&m2, f2, sizeof(f2));
	if (strcmp(f1, f2) != 0 || m2.n != m.n)
		fail("mmsec format(parse(format(x))) != format(x)", text, f1, f2);
}

static void check_canonical(const char *what, const char *text, const struct filter_addr *a)
{
	char c1[256], c2[256], disp[256];
	struct filter_addr back;
	policy_format_address(a, c1, sizeof(c1));
	policy_display_address(a, disp, sizeof(disp));
	policy_display_mask(a, disp, sizeof(disp));
	(void)policy_address_is_server(a);
	if (!policy_address_from_canonical(c1, &back))
		fail(what, text, c1, NULL);
	policy_format_address(&back, c2, sizeof(c2));
	if (strcmp(c1, c2) != 0)
		fail(what, text, c1, c2);
}

static void check_address(const char *addr, const char *mask)
{
	struct filter_addr a;
	struct diag d;
	diag_init(&d);
	enum addr_parse r = policy_parse_address("srcaddr", addr, &a, &d);
	struct ip_address ip;
	if (policy_parse_ip(addr, &ip)) {
		char buf[128];
		policy_format_ip(&ip, buf, sizeof(buf));
	}
	(void)policy_is_hostname(addr);
	if (r != ADDR_PARSE_OK)
		return;
	check_canonical("address canonical text does not round-trip", addr, &a);
	if (!mask)
		return;
	diag_init(&d);
	if (policy_apply_mask("srcmask", mask, &a, &d))
		check_canonical("masked address canonical text does not round-trip", addr, &a);
}

static void scalars(const char *text)
{
	struct diag d;
	uint8_t proto;
	uint16_t port;
	uint32_t u;
	bool b;
	enum conn_type ct;
	enum filter_action_kind ak;
	char buf[32];
	diag_init(&d);
	if (policy_parse_protocol("protocol", text, &proto, &d))
		(void)policy_protocol_name(proto, buf, sizeof(buf));
	diag_init(&d);
	(void)policy_parse_port("srcport", text, &port, &d);
	diag_init(&d);
	(void)policy_parse_uint("qmpermm", text, 0, 4294967295u, &u, &d);
	diag_init(&d);
	(void)policy_parse_bool("mirrored", text, &b, &d);
	(void)policy_parse_guid(text);
	diag_init(&d);
	if (policy_parse_conntype("conntype", text, &ct, &d))
		(void)policy_conntype_name(ct);
	diag_init(&d);
	if (policy_parse_action("action", text, &ak, &d))
		(void)policy_action_name(ak);
	diag_init(&d);
	(void)policy_validate_name("name", text, &d);
	diag_init(&d);
	(void)policy_validate_description("description", text, &d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return -1;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	check_qmsec(text);
	check_mmsec(text);

	char *mask = strchr(text, '\n');
	if (mask)
		*mask++ = '\0';
	check_address(text, mask);
	scalars(text);
	free(text);
	return 0;
}
