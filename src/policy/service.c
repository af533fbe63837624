/*
 * The IPsec service's settings (`netsh ipsec dynamic set config`): their
 * names, defaults and value syntax (netsh-ipsec.md §4.6), and the boot
 * exemption list that the boot mode tables are made of.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/policy.h"

static const struct service_setting settings[] = {
	{ "ipsecdiagnostics", "IpsecDiagnostics", "0", SETTING_UINT, 0, 7, NULL },
	{ "ikelogging", "IkeLogging", "0", SETTING_UINT, 0, 1, NULL },
	{ "strongcrlcheck", "StrongCrlCheck", "1", SETTING_UINT, 0, 2, NULL },
	{ "ipsecloginterval", "IpsecLogInterval", "3600", SETTING_UINT, 60, 86400, NULL },
	{ "ipsecexempt", "IpsecExempt", "3", SETTING_UINT, 0, 3, NULL },
	{ "bootmode", "IpsecBootMode", "stateful", SETTING_WORD, 0, 0, "stateful block permit" },
	{ "bootexemptions", "IpsecBootExemptions", "none", SETTING_EXEMPTIONS, 0, 0, NULL },
	{ "cryptoprofile", "CryptoProfile", "modern", SETTING_WORD, 0, 0, "modern legacy" },
	{ "allowlegacy", "AllowLegacy", "0", SETTING_UINT, 0, 1, NULL },
	/* secpol's own: the Prometheus endpoint (docs/metrics.md), off by default. */
	{ "metrics", "Metrics", "none", SETTING_ENDPOINT, 0, 0, NULL },
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

const struct service_setting *policy_service_settings(size_t *n)
{
	*n = NSETTINGS;
	return settings;
}

const struct service_setting *policy_service_setting(const char *name)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (!strcasecmp(settings[i].name, name))
			return &settings[i];
	return NULL;
}

/* "TCP:0:3389:inbound" */
static bool parse_exemption(const char *text, struct boot_exemption *e, struct diag *d)
{
	char buf[64], *parts[4];
	snprintf(buf, sizeof(buf), "%s", text);
	char *p = buf;
	for (int i = 0; i < 4; i++) {
		parts[i] = p;
		char *colon = strchr(p, ':');
		if ((i < 3) != (colon != NULL) || strlen(text) >= sizeof(buf))
			return diag_bad_value(d, "bootexemptions", text,
			                      "Protocol:SrcPort:DstPort:Direction, e.g. TCP:0:3389:inbound");
		if (colon) {
			*colon = '\0';
			p = colon + 1;
		}
	}
	if (!strcasecmp(parts[3], "inbound"))
		e->inbound = true;
	else if (!strcasecmp(parts[3], "outbound"))
		e->inbound = false;
	else
		return diag_bad_value(d, "bootexemptions", parts[3], "inbound or outbound");
	if (!policy_parse_protocol("bootexemptions", parts[0], &e->protocol, d) ||
	    !policy_parse_port("bootexemptions", parts[1], &e->src_port, d) ||
	    !policy_parse_port("bootexemptions", parts[2], &e->dst_port, d))
		return false;
	if ((e->src_port || e->dst_port) && e->protocol != IPPROTO_TCP && e->protocol != IPPROTO_UDP)
		return diag_error(d, ERR_PORT_PROTOCOL, "Ports in '%.60s' need protocol TCP or UDP.",
		                  text);
	return true;
}

bool policy_parse_boot_exemptions(const char *text, struct boot_exemption *out, size_t max,
                                  size_t *n, struct diag *d)
{
	*n = 0;
	if (!strcasecmp(text, "none"))
		return true;
	char *copy = strdup(text), *save = NULL;
	if (!copy)
		return diag_error(d, ERR_STORE, "Out of memory.");
	bool ok = true;
	for (char *w = strtok_r(copy, " \t", &save); ok && w; w = strtok_r(NULL, " \t", &save)) {
		if (*n == max) {
			ok = diag_error(d, ERR_BAD_VALUE, "At most %zu boot exemptions.", max);
			break;
		}
		ok = parse_exemption(w, &out[(*n)++], d);
	}
	free(copy);
	if (ok && *n == 0)
		ok = diag_bad_value(d, "bootexemptions", text, "none, or a list of "
		                    "Protocol:SrcPort:DstPort:Direction");
	return ok;
}

bool policy_parse_endpoint(const char *tag, const char *text, struct ip_address *ip,
                           uint16_t *port, struct diag *d)
{
	static const char allowed[] = "none, or a local address and port: 127.0.0.1:9567, "
	                              "[::1]:9567";
	memset(ip, 0, sizeof(*ip));
	*port = 0;
	if (!strcasecmp(text, "none"))
		return true;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	size_t hlen;
	if (text[0] == '[') {
		/* IPv6 in brackets, so that its colons are not the port's. */
		const char *close = strchr(text, ']');
		if (!close || close[1] != ':')
			return diag_bad_value(d, tag, text, allowed);
		hlen = (size_t)(close - text - 1);
		if (hlen == 0 || hlen >= sizeof(host) || !strchr(text + 1, ':') ||
		    strchr(text + 1, ':') > close)
			return diag_bad_value(d, tag, text, allowed);
		memcpy(host, text + 1, hlen);
		colon = close + 1;
	} else {
		colon = strchr(text, ':');
		if (!colon || strchr(colon + 1, ':'))
			return diag_bad_value(d, tag, text, allowed);   /* IPv6 needs brackets */
		hlen = (size_t)(colon - text);
		if (hlen == 0 || hlen >= sizeof(host))
			return diag_bad_value(d, tag, text, allowed);
		memcpy(host, text, hlen);
	}
	host[hlen] = '\0';
	uint8_t b[16] = { 0 };
	int family = text[0] == '[' ? AF_INET6 : AF_INET;
	if (inet_pton(family, host, b) != 1)
		return diag_bad_value(d, tag, text, allowed);
	const char *p = colon + 1;
	uint32_t v = 0;
	size_t digits = 0;
	for (; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
		v = v * 10 + (uint32_t)(*p - '0');
	if (*p || digits == 0 || v == 0 || v > 65535)
		return diag_bad_value(d, tag, text, allowed);
	static const uint8_t zero[16];
	if (!memcmp(b, zero, family == AF_INET ? 4 : 16))
		return diag_error(d, ERR_BAD_VALUE, "The value '%.100s' of '%s' is not valid: the "
		                  "endpoint must be one local address, not the unspecified one.",
		                  text, tag);
	ip->family = (uint8_t)family;
	memcpy(ip->bytes, b, 16);
	*port = (uint16_t)v;
	return true;
}

void policy_format_endpoint(const struct ip_address *ip, uint16_t port, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	if (!port) {
		snprintf(out, len, "none");
		return;
	}
	inet_ntop(ip->family, ip->bytes, a, sizeof(a));
	snprintf(out, len, ip->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
}

bool policy_check_service_setting(const struct service_setting *s, const char *value,
                                  char *norm, size_t len, struct diag *d)
{
	switch (s->kind) {
	case SETTING_UINT: {
		uint32_t v;
		if (!policy_parse_uint(s->name, value, s->min, s->max, &v, d))
			return false;
		snprintf(norm, len, "%u", v);
		return true;
	}
	case SETTING_WORD: {
		char words[64];
		snprintf(words, sizeof(words), "%s", s->words);
		char *save = NULL;
		for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save))
			if (!strcasecmp(w, value)) {
				snprintf(norm, len, "%s", w);
				return true;
			}
		char allowed[80];
		snprintf(allowed, sizeof(allowed), "%s", s->words);
		for (char *c = allowed; *c; c++)
			if (*c == ' ')
				*c = ',';
		return diag_bad_value(d, s->name, value, allowed);
	}
	case SETTING_EXEMPTIONS: {
		struct boot_exemption e[POLICY_MAX_BOOT_EXEMPTIONS];
		size_t n;
		if (!policy_parse_boot_exemptions(value, e, POLICY_MAX_BOOT_EXEMPTIONS, &n, d))
			return false;
		/* Normalised: one space between entries, protocol names as netsh shows them. */
		size_t o = 0;
		norm[0] = '\0';
		if (n == 0)
			snprintf(norm, len, "none");
		for (size_t i = 0; i < n && o < len; i++) {
			char pb[8];
			int w = snprintf(norm + o, len - o, "%s%s:%u:%u:%s", i ? " " : "",
			                 policy_protocol_name(e[i].protocol, pb, sizeof(pb)),
			                 e[i].src_port, e[i].dst_port,
			                 e[i].inbound ? "inbound" : "outbound");
			if (w < 0 || (size_t)w >= len - o)
				return diag_error(d, ERR_BAD_VALUE, "The boot exemption list is too long.");
			o += (size_t)w;
		}
		return true;
	}
	case SETTING_ENDPOINT: {
		struct ip_address ip;
		uint16_t port;
		if (!policy_parse_endpoint(s->name, value, &ip, &port, d))
			return false;
		policy_format_endpoint(&ip, port, norm, len);
		return true;
	}
	}
	return false;
}
