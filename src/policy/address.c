/*
 * Address, mask, protocol, port and other scalar values of the policy model
 * (netsh-ipsec.md §1.3, §2.1-§2.3).
 */
#include "policy/policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

static const struct {
	const char *word;
	enum addr_kind kind;
} address_keywords[] = {
	{ "me", ADDR_ME },
	{ "any", ADDR_ANY },
	{ "dns", ADDR_DNS_SERVERS },
	{ "wins", ADDR_WINS_SERVERS },
	{ "dhcp", ADDR_DHCP_SERVER },
	{ "gateway", ADDR_GATEWAY },
};

#define ADDRESS_ALLOWED "me, any, dns, wins, dhcp, gateway, an IPv4 or IPv6 " \
	"address (optionally /prefix), a range a-b of one family, or a DNS name"

static unsigned max_prefix(const struct ip_address *ip)
{
	return ip->family == AF_INET6 ? 128 : 32;
}

static void mask_ip(struct ip_address *ip, unsigned prefix)
{
	unsigned n = max_prefix(ip) / 8;
	for (unsigned i = 0; i < n; i++) {
		unsigned bits = prefix > i * 8 ? prefix - i * 8 : 0;
		if (bits < 8)
			ip->bytes[i] &= (uint8_t)(0xff00u >> bits);
	}
}

static bool ip_is_zero(const struct ip_address *ip)
{
	for (unsigned i = 0; i < max_prefix(ip) / 8; i++)
		if (ip->bytes[i])
			return false;
	return true;
}

bool policy_parse_ip(const char *text, struct ip_address *out)
{
	memset(out, 0, sizeof(*out));
	if (strchr(text, ':')) {
		out->family = AF_INET6;
		return inet_pton(AF_INET6, text, out->bytes) == 1;
	}
	out->family = AF_INET;
	return inet_pton(AF_INET, text, out->bytes) == 1;
}

bool policy_is_hostname(const char *text)
{
	/* RFC 1123 host name: labels of letters, digits and '-', dot separated;
	 * at least one letter so that a mistyped address is not sent to DNS. */
	size_t len = strlen(text), label = 0;
	bool alpha = false;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '.') {
			if (label == 0 || text[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (isalpha(c))
			alpha = true;
		if (++label > 63)
			return false;
	}
	return alpha && text[len - 1] != '-';
}

static int ip_compare(const struct ip_address *a, const struct ip_address *b)
{
	return memcmp(a->bytes, b->bytes, sizeof(a->bytes));
}

enum addr_parse policy_parse_address(const char *tag, const char *text,
                                     struct filter_addr *out, struct diag *d)
{
	char buf[256];              /* a host name has at most 253 characters */
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(address_keywords) / sizeof(address_keywords[0]); i++) {
		if (strcasecmp(text, address_keywords[i].word) == 0) {
			out->kind = address_keywords[i].kind;
			return ADDR_PARSE_OK;
		}
	}
	if (strlen(text) >= sizeof(buf))
		goto bad;
	strcpy(buf, text);

	char *dash = strchr(buf, '-');
	if (dash && !policy_is_hostname(text)) {
		*dash = '\0';
		if (!policy_parse_ip(buf, &out->ip) || !policy_parse_ip(dash + 1, &out->last))
			goto bad;
		if (out->ip.family != out->last.family)
			return diag_error(d, ERR_BAD_VALUE,
			        "'%.200s' is not a valid value for '%s'. Allowed: both ends "
			        "of a range must be addresses of the same family.", text, tag),
			       ADDR_PARSE_ERROR;
		if (ip_compare(&out->ip, &out->last) > 0)
			return diag_error(d, ERR_BAD_VALUE,
			        "'%.200s' is not a valid value for '%s'. Allowed: a range "
			        "whose first address is not above its last.", text, tag),
			       ADDR_PARSE_ERROR;
		out->kind = ADDR_RANGE;
		return ADDR_PARSE_OK;
	}

	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (!policy_parse_ip(buf, &out->ip)) {
		if (!slash && policy_is_hostname(text))
			return ADDR_PARSE_DNS_NAME;
		goto bad;
	}
	out->kind = ADDR_HOST_OR_SUBNET;
	out->prefix = (uint8_t)max_prefix(&out->ip);
	if (slash) {
		uint32_t prefix = 0;
		struct diag tmp;
		diag_init(&tmp);
		if (!policy_parse_uint(tag, slash + 1, 0, max_prefix(&out->ip), &prefix, &tmp))
			goto bad;
		out->prefix = (uint8_t)prefix;
		mask_ip(&out->ip, out->prefix);
	}
	/* netsh: 0.0.0.0 means any whatever mask is given (§2.1). With a /prefix
	 * it is a subnet like any other: that is how a stored x/0 reads back.
	 * "::" stays the IPv6 subnet ::/128 or ::/0 as written (IPv6 only). */
	if (!slash && out->ip.family == AF_INET && ip_is_zero(&out->ip)) {
		memset(out, 0, sizeof(*out));
		out->kind = ADDR_ANY;
	}
	return ADDR_PARSE_OK;
bad:
	diag_bad_value(d, tag, text, ADDRESS_ALLOWED);
	return ADDR_PARSE_ERROR;
}

static bool parse_dotted_mask(const char *text, unsigned *prefix)
{
	struct in_addr a;
	if (inet_pton(AF_INET, text, &a) != 1)
		return false;
	uint32_t m = ntohl(a.s_addr);
	uint32_t inv = ~m;
	if (inv & (inv + 1))          /* not of the form 1...10...0 */
		return false;
	unsigned n = 0;
	while (m & 0x80000000u) {
		n++;
		m <<= 1;
	}
	*prefix = n;
	return true;
}

bool policy_apply_mask(const char *tag, const char *text, struct filter_addr *a,
                       struct diag *d)
{
	if (a->kind == ADDR_RANGE)
		return diag_error(d, ERR_BAD_VALUE,
		        "'%.200s' is not a valid value for '%s'. Allowed: no mask when "
		        "the address is a range.", text, tag);
	unsigned prefix;
	bool v6 = a->kind == ADDR_HOST_OR_SUBNET && a->ip.family == AF_INET6;
	if (!v6 && parse_dotted_mask(text, &prefix)) {
		/* fine */
	} else {
		uint32_t n = 0;
		struct diag tmp;
		diag_init(&tmp);
		if (!policy_parse_uint(tag, text, 0, v6 ? 128 : 32, &n, &tmp))
			return diag_bad_value(d, tag, text, v6 ?
			        "a prefix length 0-128 for an IPv6 address" :
			        "a contiguous dotted mask such as 255.255.255.0, or a prefix length 0-32");
		prefix = n;
	}
	/* Masks are ignored for me, any, server keywords and DNS names (§2.2). */
	if (a->kind != ADDR_HOST_OR_SUBNET)
		return true;
	a->prefix = (uint8_t)prefix;
	mask_ip(&a->ip, prefix);
	return true;
}

void policy_format_ip(const struct ip_address *ip, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];
	if (!inet_ntop(ip->family == AF_INET6 ? AF_INET6 : AF_INET, ip->bytes, tmp, sizeof(tmp)))
		strcpy(tmp, "?");
	snprintf(buf, len, "%s", tmp);
}

void policy_format_address(const struct filter_addr *a, char *buf, size_t len)
{
	char x[INET6_ADDRSTRLEN], y[INET6_ADDRSTRLEN];
	switch (a->kind) {
	case ADDR_HOST_OR_SUBNET:
		policy_format_ip(&a->ip, x, sizeof(x));
		snprintf(buf, len, "%s/%u", x, a->prefix);
		return;
	case ADDR_RANGE:
		policy_format_ip(&a->ip, x, sizeof(x));
		policy_format_ip(&a->last, y, sizeof(y));
		snprintf(buf, len, "%s-%s", x, y);
		return;
	default:
		for (size_t i = 0; i < sizeof(address_keywords) / sizeof(address_keywords[0]); i++)
			if (address_keywords[i].kind == a->kind) {
				snprintf(buf, len, "%s", address_keywords[i].word);
				return;
			}
	}
	snprintf(buf, len, "?");
}

bool policy_address_from_canonical(const char *text, struct filter_addr *out)
{
	struct diag d;
	diag_init(&d);
	return policy_parse_address("address", text, out, &d) == ADDR_PARSE_OK;
}

void policy_display_address(const struct filter_addr *a, char *buf, size_t len)
{
	static const char *const label[] = {
		[ADDR_ANY] = "<Any IP Address>", [ADDR_ME] = "<My IP Address>",
		[ADDR_DNS_SERVERS] = "<DNS Servers>", [ADDR_WINS_SERVERS] = "<WINS Servers>",
		[ADDR_DHCP_SERVER] = "<DHCP Server>", [ADDR_GATEWAY] = "<Default Gateway>",
	};
	switch (a->kind) {
	case ADDR_HOST_OR_SUBNET:
		policy_format_ip(&a->ip, buf, len);
		return;
	case ADDR_RANGE:
		policy_format_address(a, buf, len);
		return;
	default:
		snprintf(buf, len, "%s", label[a->kind]);
	}
}

void policy_display_mask(const struct filter_addr *a, char *buf, size_t len)
{
	unsigned prefix;
	switch (a->kind) {
	case ADDR_ANY:
		prefix = 0;
		break;
	case ADDR_RANGE:
		snprintf(buf, len, "N/A");
		return;
	case ADDR_HOST_OR_SUBNET:
		prefix = a->prefix;
		if (a->ip.family == AF_INET6) {
			snprintf(buf, len, "/%u", prefix);
			return;
		}
		break;
	default:
		prefix = 32;
	}
	uint32_t m = prefix ? 0xffffffffu << (32 - prefix) : 0;
	snprintf(buf, len, "%u.%u.%u.%u", m >> 24, (m >> 16) & 255, (m >> 8) & 255, m & 255);
}

bool policy_address_is_server(const struct filter_addr *a)
{
	return a->kind == ADDR_DNS_SERVERS || a->kind == ADDR_WINS_SERVERS ||
	       a->kind == ADDR_DHCP_SERVER || a->kind == ADDR_GATEWAY;
}

/* ---- scalars ---------------------------------------------------------------- */

bool policy_parse_bool(const char *tag, const char *text, bool *out, struct diag *d)
{
	if (!strcasecmp(text, "yes") || !strcasecmp(text, "y")) {
		*out = true;
		return true;
	}
	if (!strcasecmp(text, "no") || !strcasecmp(text, "n")) {
		*out = false;
		return true;
	}
	return diag_bad_value(d, tag, text, "yes, no (or y, n)");
}

bool policy_parse_uint(const char *tag, const char *text, uint32_t min,
                       uint32_t max, uint32_t *out, struct diag *d)
{
	char allowed[64];
	snprintf(allowed, sizeof(allowed), "a whole number from %u to %u", min, max);
	if (!isdigit((unsigned char)text[0]))
		return diag_bad_value(d, tag, text, allowed);
	errno = 0;
	char *end;
	unsigned long long v = strtoull(text, &end, 10);
	if (*end || errno || v < min || v > max)
		return diag_bad_value(d, tag, text, allowed);
	*out = (uint32_t)v;
	return true;
}

static const struct {
	const char *name;
	uint8_t number;
} protocols[] = {
	{ "ANY", 0 }, { "ICMP", 1 }, { "TCP", 6 }, { "UDP", 17 },
	{ "ICMPV6", 58 }, { "RAW", 255 },
};

bool policy_parse_protocol(const char *tag, const char *text, uint8_t *out,
                           struct diag *d)
{
	for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++)
		if (!strcasecmp(text, protocols[i].name)) {
			*out = protocols[i].number;
			return true;
		}
	uint32_t n = 0;
	struct diag tmp;
	diag_init(&tmp);
	if (!policy_parse_uint(tag, text, 0, 255, &n, &tmp))
		return diag_bad_value(d, tag, text,
		                      "ANY, ICMP, TCP, UDP, ICMPV6, RAW or a number 0-255");
	*out = (uint8_t)n;
	return true;
}

const char *policy_protocol_name(uint8_t proto, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++)
		if (protocols[i].number == proto)
			return protocols[i].name;
	snprintf(buf, len, "%u", proto);
	return buf;
}

bool policy_parse_port(const char *tag, const char *text, uint16_t *out,
                       struct diag *d)
{
	uint32_t n = 0;
	struct diag tmp;
	diag_init(&tmp);
	if (!policy_parse_uint(tag, text, 0, 65535, &n, &tmp))
		return diag_bad_value(d, tag, text, "a port number 0-65535 (0 = any port)");
	*out = (uint16_t)n;
	return true;
}

bool policy_parse_guid(const char *text)
{
	static const char shape[] = "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}";
	if (strlen(text) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == 'x' ? !isxdigit((unsigned char)text[i]) : text[i] != shape[i])
			return false;
	}
	return true;
}

void policy_new_guid(char out[POLICY_GUID_LEN])
{
	uint8_t b[16];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n > 0)
			got += (size_t)n;
		else if (errno != EINTR)
			abort();         /* no randomness on Linux >= 3.17 means a broken host */
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);  /* RFC 4122 version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, POLICY_GUID_LEN,
	         "{%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X}",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	         b[10], b[11], b[12], b[13], b[14], b[15]);
}
