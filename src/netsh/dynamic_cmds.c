/*
 * The `netsh ipsec dynamic` context: commands that act on the running
 * service. The secpol CLI checks a command's syntax (so a typo is reported
 * even when secpold is down) and forwards it over the control socket;
 * secpold runs it through the same table against its data path.
 *
 * Manual keying (`add sa`, `delete sa`, `show sa`) is a project extension,
 * the netsh form of `ip xfrm state` or OpenBSD's `ipsecctl` manual SAs.
 */
#include <ctype.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "driver/driver.h"
#include "monitor/json.h"
#include "netsh/internal.h"

#define KEY_MAX 64

static bool need_service(struct netsh_session *ns, struct diag *d)
{
	if (ns->dynamic)
		return true;
	return diag_error(d, ERR_SERVICE, "The IPsec service is not running.");
}

/* "192.0.2.1", "10.1.0.0/16", "2001:db8::/64". */
static bool parse_prefix(const char *tag, const char *text, struct sa_address *a,
                         uint8_t *len, struct diag *d)
{
	char buf[64];
	struct ip_address ip;
	snprintf(buf, sizeof(buf), "%s", text);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (strlen(text) >= sizeof(buf) || !policy_parse_ip(buf, &ip))
		return diag_error(d, ERR_BAD_VALUE, "The value '%.100s' of '%s' is not valid. "
		                  "Allowed: an IPv4 or IPv6 address, optionally with /prefix.",
		                  text, tag);
	unsigned max = ip.family == AF_INET ? 32 : 128, n = max;
	if (slash) {
		char *end;
		unsigned long v = strtoul(slash + 1, &end, 10);
		if (!isdigit((unsigned char)slash[1]) || *end || v > max)
			return diag_error(d, ERR_BAD_VALUE, "The prefix length in '%.100s' of '%s' is "
			                  "not valid. Allowed: 0 to %u.", text, tag, max);
		n = (unsigned)v;
	}
	a->family = ip.family;
	memcpy(a->bytes, ip.bytes, sizeof(a->bytes));
	*len = (uint8_t)n;
	return true;
}

static bool parse_host(const char *tag, const char *text, struct sa_address *a,
                       struct diag *d)
{
	uint8_t len;
	if (!parse_prefix(tag, text, a, &len, d))
		return false;
	if (len != (a->family == AF_INET ? 32 : 128))
		return diag_error(d, ERR_BAD_VALUE, "The value '%.100s' of '%s' must be a single "
		                  "address.", text, tag);
	return true;
}

static bool parse_hex(const char *tag, const char *text, uint8_t *out, size_t max,
                      size_t *len, struct diag *d)
{
	if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
		text += 2;
	size_t n = strlen(text);
	if (n == 0 || n % 2 || n / 2 > max)
		return diag_error(d, ERR_BAD_VALUE, "The value of '%s' is not valid. Allowed: "
		                  "0x followed by an even number of hex digits, at most %zu bytes.",
		                  tag, max);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = isxdigit((unsigned char)text[2 * i]), lo = isxdigit((unsigned char)text[2 * i + 1]);
		if (!hi || !lo)
			return diag_error(d, ERR_BAD_VALUE, "The value of '%s' is not valid: it "
			                  "contains a character that is not a hex digit.", tag);
		char b[3] = { text[2 * i], text[2 * i + 1], 0 };
		out[i] = (uint8_t)strtoul(b, NULL, 16);
	}
	*len = n / 2;
	return true;
}

static bool parse_spi(const char *text, uint32_t *spi, struct diag *d)
{
	/* Hex with 0x, else decimal: a leading zero does not mean octal. */
	bool hex = text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
	const char *digits = hex ? text + 2 : text;
	char *end;
	unsigned long long v = strtoull(digits, &end, hex ? 16 : 10);
	if (!isxdigit((unsigned char)digits[0]) || (!hex && !isdigit((unsigned char)digits[0])) ||
	    *end || strlen(digits) > 10 || v < 256 || v > 0xffffffffULL)
		return diag_error(d, ERR_BAD_VALUE, "The value '%.100s' of 'spi' is not valid. "
		                  "Allowed: 256 to 0xffffffff (0-255 are reserved, RFC 4303).", text);
	*spi = (uint32_t)v;
	return true;
}

static bool parse_sa_proto(const char *text, enum sa_proto *p, struct diag *d)
{
	if (!strcasecmp(text, "esp"))
		*p = SA_PROTO_ESP;
	else if (!strcasecmp(text, "ah"))
		*p = SA_PROTO_AH;
	else
		return diag_error(d, ERR_BAD_VALUE, "The value '%.100s' of 'protocol' is not "
		                  "valid. Allowed: esp, ah.", text);
	return true;
}

/* "<KB>k/<seconds>s", either part alone, as in a security method. */
static bool parse_lifetime(const char *text, struct sa_lifetime *l, struct diag *d)
{
	const char *p = text;
	memset(l, 0, sizeof(*l));
	while (*p) {
		char *end;
		if (!isdigit((unsigned char)*p))
			goto bad;   /* strtoull would take a sign or blanks */
		unsigned long long v = strtoull(p, &end, 10);
		if (end == p || v == 0 || v > (1ULL << 40))
			goto bad;
		if (*end == 'k' || *end == 'K')
			l->hard_bytes = v * 1024;
		else if (*end == 's' || *end == 'S')
			l->hard_seconds = v;
		else
			goto bad;
		p = end + 1;
		if (*p == '/')
			p++;
	}
	/* Manual SAs are not rekeyed; the soft mark still tells the monitor. */
	l->soft_bytes = l->hard_bytes / 10 * 9;
	l->soft_seconds = l->hard_seconds / 10 * 9;
	return true;
bad:
	return diag_error(d, ERR_BAD_VALUE, "The value '%.100s' of 'lifetime' is not valid. "
	                  "Allowed: <kilobytes>k/<seconds>s, e.g. 100000k/3600s.", text);
}

static bool add_sa_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	if (!need_service(ns, d))
		return false;
	struct child_sa_config c;
	memset(&c, 0, sizeof(c));
	uint8_t enckey[KEY_MAX], authkey[KEY_MAX];
	size_t enclen = 0, authlen = 0;
	const char *v;
	bool ok = false;
	c.sa.mode = SA_TRANSPORT;
	c.sa.replay_window = 64;
	c.sa.enc = ENC_NULL;
	c.sa.integ = MAC_NONE;
	if (!parse_prefix("srcaddr", arg(a, "srcaddr"), &c.src, &c.src_len, d) ||
	    !parse_prefix("dstaddr", arg(a, "dstaddr"), &c.dst, &c.dst_len, d) ||
	    !parse_sa_proto(arg(a, "protocol"), &c.sa.proto, d) ||
	    !parse_spi(arg(a, "spi"), &c.sa.spi, d))
		goto out;
	if (c.src.family != c.dst.family) {
		diag_error(d, ERR_BAD_VALUE, "'srcaddr' and 'dstaddr' must be of one address family.");
		goto out;
	}
	if ((v = arg(a, "mode"))) {
		if (!strcasecmp(v, "tunnel"))
			c.sa.mode = SA_TUNNEL;
		else if (strcasecmp(v, "transport")) {
			diag_error(d, ERR_BAD_VALUE, "The value '%.100s' of 'mode' is not valid. "
			           "Allowed: transport, tunnel.", v);
			goto out;
		}
	}
	if (c.sa.mode == SA_TUNNEL) {
		if (!arg(a, "tunnelsrc") || !arg(a, "tunneldst")) {
			diag_error(d, ERR_MISSING_TAG, "mode=tunnel needs 'tunnelsrc' and 'tunneldst'.");
			goto out;
		}
		if (!parse_host("tunnelsrc", arg(a, "tunnelsrc"), &c.sa.src, d) ||
		    !parse_host("tunneldst", arg(a, "tunneldst"), &c.sa.dst, d))
			goto out;
		if (c.sa.src.family != c.sa.dst.family) {
			diag_error(d, ERR_BAD_VALUE, "'tunnelsrc' and 'tunneldst' must be of one "
			           "address family.");
			goto out;
		}
	} else {
		if (arg(a, "tunnelsrc") || arg(a, "tunneldst")) {
			diag_error(d, ERR_BAD_TAG, "'tunnelsrc' and 'tunneldst' need mode=tunnel.");
			goto out;
		}
		/* Transport mode protects traffic between the two hosts themselves. */
		if (!parse_host("srcaddr", arg(a, "srcaddr"), &c.sa.src, d) ||
		    !parse_host("dstaddr", arg(a, "dstaddr"), &c.sa.dst, d))
			goto out;
	}
	if ((v = arg(a, "encryption"))) {
		if (c.sa.proto == SA_PROTO_AH) {
			diag_error(d, ERR_BAD_TAG, "AH has no 'encryption'; use protocol=esp.");
			goto out;
		}
		if (!crypto_enc_by_name(v, &c.sa.enc)) {
			diag_error(d, ERR_BAD_VALUE, "The value '%.100s' of 'encryption' is not valid. "
			           "Allowed: aes-128-gcm, aes-256-gcm, chacha20-poly1305, aes-128-cbc, "
			           "aes-256-cbc, 3des, des, null, aes-128-gmac, aes-256-gmac.", v);
			goto out;
		}
	} else if (c.sa.proto == SA_PROTO_ESP) {
		diag_error(d, ERR_MISSING_TAG, "The required parameter 'encryption' was not "
		           "specified (protocol=esp).");
		goto out;
	}
	if ((v = arg(a, "integrity")) && !crypto_mac_by_name(v, &c.sa.integ)) {
		diag_error(d, ERR_BAD_VALUE, "The value '%.100s' of 'integrity' is not valid. "
		           "Allowed: sha1, md5, sha256, sha384, sha512.", v);
		goto out;
	}
	if (c.sa.proto == SA_PROTO_AH && c.sa.integ == MAC_NONE) {
		diag_error(d, ERR_MISSING_TAG, "The required parameter 'integrity' was not "
		           "specified (protocol=ah).");
		goto out;
	}
	if ((v = arg(a, "enckey")) && c.sa.proto == SA_PROTO_AH) {
		diag_error(d, ERR_BAD_TAG, "AH has no 'enckey'; use protocol=esp.");
		goto out;
	}
	if (v && !parse_hex("enckey", v, enckey, KEY_MAX, &enclen, d))
		goto out;
	if ((v = arg(a, "authkey")) && !parse_hex("authkey", v, authkey, KEY_MAX, &authlen, d))
		goto out;
	const struct crypto_enc_info *ei = crypto_enc_info(c.sa.enc);
	if (c.sa.proto == SA_PROTO_ESP && ei && enclen != ei->key_len + ei->salt_len) {
		diag_error(d, ERR_BAD_VALUE, "'enckey' for %s must be %zu bytes%s; it has %zu.",
		           ei->name, ei->key_len + ei->salt_len,
		           ei->salt_len ? " (the key followed by its 4-byte salt)" : "", enclen);
		goto out;
	}
	if (c.sa.integ != MAC_NONE && authlen != crypto_mac_info(c.sa.integ)->key_len) {
		diag_error(d, ERR_BAD_VALUE, "'authkey' for %s must be %zu bytes; it has %zu.",
		           crypto_mac_info(c.sa.integ)->name, crypto_mac_info(c.sa.integ)->key_len,
		           authlen);
		goto out;
	}
	if (c.sa.integ == MAC_NONE && authlen) {
		diag_error(d, ERR_BAD_TAG, "'authkey' needs 'integrity'.");
		goto out;
	}
	if ((v = arg(a, "replaywindow")) &&
	    !policy_parse_uint("replaywindow", v, 0, REPLAY_MAX_WINDOW, &c.sa.replay_window, d))
		goto out;
	if ((v = arg(a, "lifetime")) && !parse_lifetime(v, &c.sa.life, d))
		goto out;
	if ((v = arg(a, "esn")) && !policy_parse_bool("esn", v, &c.sa.esn, d))
		goto out;
	if ((v = arg(a, "encap"))) {
		if (strcasecmp(v, "udp") && strcasecmp(v, "none")) {
			diag_error(d, ERR_BAD_VALUE, "The value '%.100s' of 'encap' is not valid. "
			           "Allowed: udp, none.", v);
			goto out;
		}
		c.udp_encap = !strcasecmp(v, "udp");
	}
	bool direction_given = false;
	if ((v = arg(a, "direction"))) {
		direction_given = true;
		if (!strcasecmp(v, "inbound"))
			c.sa.inbound = true;
		else if (strcasecmp(v, "outbound")) {
			diag_error(d, ERR_BAD_VALUE, "The value '%.100s' of 'direction' is not valid. "
			           "Allowed: inbound, outbound.", v);
			goto out;
		}
	}
	c.sa.enc_key = enclen ? enckey : NULL;
	c.sa.enc_key_len = enclen;
	c.sa.auth_key = authlen ? authkey : NULL;
	c.sa.auth_key_len = authlen;
	ok = ns->dynamic->add_sa(ns->dynamic->ctx, &c, direction_given, d);
out:
	OPENSSL_cleanse(enckey, sizeof(enckey));
	OPENSSL_cleanse(authkey, sizeof(authkey));
	return ok;
}

static bool delete_sa_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	if (!need_service(ns, d))
		return false;
	const char *spi_text = arg(a, "spi");
	if (!strcasecmp(spi_text, "all"))
		return ns->dynamic->delete_sa(ns->dynamic->ctx, true, 0, NULL, 0, d);
	uint32_t spi;
	struct sa_address dst;
	enum sa_proto proto = SA_PROTO_ESP;
	if (!arg(a, "dstaddr"))
		return diag_error(d, ERR_MISSING_TAG, "The required parameter 'dstaddr' was not "
		                  "specified (or give spi=all).");
	if (!parse_spi(spi_text, &spi, d) || !parse_host("dstaddr", arg(a, "dstaddr"), &dst, d) ||
	    (arg(a, "protocol") && !parse_sa_proto(arg(a, "protocol"), &proto, d)))
		return false;
	struct ip_address ip = { .family = dst.family };
	memcpy(ip.bytes, dst.bytes, sizeof(ip.bytes));
	return ns->dynamic->delete_sa(ns->dynamic->ctx, false, spi, &ip, (uint8_t)proto, d);
}

/* The arguments the monitor's views share: format=, wide=, and for the SA
 * views `all` or srcaddr=/dstaddr= (single addresses: this host's side and
 * the peer's). */
bool show_format(const struct args *a, int *out, struct diag *d)
{
	static const char *const formats[] = { "list", "table", "json" };
	const char *v = arg(a, "format");
	if (!v)
		return true;
	int i = match_word(v, formats, 3);
	if (i < 0)
		return diag_bad_value(d, "format", v, "list, table, json");
	*out = i;
	return true;
}

static bool show_args(const struct args *a, struct netsh_show *q, struct diag *d)
{
	const char *v;
	int fmt = (int)q->format;
	if (!show_format(a, &fmt, d))
		return false;
	q->format = (enum netsh_format)fmt;
	if ((v = arg(a, "wide"))) {
		static const char *const yn[] = { "yes", "no" };
		int i = match_word(v, yn, 2);
		if (i < 0)
			return diag_bad_value(d, "wide", v, "yes, no");
		q->wide = i == 0;
	}
	if ((v = arg(a, "resolvedns")) && !policy_parse_bool("resolvedns", v, &q->resolvedns, d))
		return false;
	struct sa_address sa;
	if ((v = arg(a, "srcaddr"))) {
		if (!parse_host("srcaddr", v, &sa, d))
			return false;
		q->has_src = true;
		q->src.family = sa.family;
		memcpy(q->src.bytes, sa.bytes, sizeof(q->src.bytes));
	}
	if ((v = arg(a, "dstaddr"))) {
		if (!parse_host("dstaddr", v, &sa, d))
			return false;
		q->has_dst = true;
		q->dst.family = sa.family;
		memcpy(q->dst.bytes, sa.bytes, sizeof(q->dst.bytes));
	}
	if ((v = arg(a, "all")) && strcasecmp(v, "all"))
		return diag_bad_value(d, "all", v, "all");
	if ((v = arg(a, "all")) && (q->has_src || q->has_dst))
		return diag_error(d, ERR_BAD_VALUE, "Give either 'all' or srcaddr/dstaddr, not both.");
	return true;
}

static bool show_monitor_run(struct netsh_session *ns, struct netsh_show *q, struct diag *d)
{
	if (!need_service(ns, d))
		return false;
	ns->dynamic->show_monitor(ns->dynamic->ctx, ns->out, q);
	return true;
}

static bool show_sa_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	struct netsh_show q = { .object = "sa", .type = "all" };
	return show_args(a, &q, d) && show_monitor_run(ns, &q, d);
}

static bool show_stats_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	const char *type = arg(a, "type");
	if (!type)
		type = "all";
	if (strcasecmp(type, "all") && strcasecmp(type, "ike") && strcasecmp(type, "ipsec"))
		return diag_error(d, ERR_BAD_VALUE, "The value '%.100s' of 'type' is not valid. "
		                  "Allowed: all, ike, ipsec.", type);
	struct netsh_show q = { .object = "stats", .type = type };
	return show_args(a, &q, d) && show_monitor_run(ns, &q, d);
}

static bool show_mmsas_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	struct netsh_show q = { .object = "mmsas", .type = "all" };
	return show_args(a, &q, d) && show_monitor_run(ns, &q, d);
}

static bool show_qmsas_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	struct netsh_show q = { .object = "qmsas", .type = "all" };
	return show_args(a, &q, d) && show_monitor_run(ns, &q, d);
}

static bool show_ikesas_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	(void)a;
	if (!need_service(ns, d))
		return false;
	ns->dynamic->show_ike(ns->dynamic->ctx, ns->out, "ikesas");
	return true;
}

static bool show_failures_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	struct netsh_show q = { .object = "failures", .type = "all" };
	return show_args(a, &q, d) && show_monitor_run(ns, &q, d);
}

/* ---- show rulefor: one packet, as the policy in force decides it ---- */

static bool parse_packet_addr(const char *tag, const char *text, struct ip_address *ip,
                              struct diag *d)
{
	if (strlen(text) >= INET6_ADDRSTRLEN || !policy_parse_ip(text, ip))
		return diag_error(d, ERR_BAD_VALUE, "The value '%.100s' of '%s' is not valid. "
		                  "Allowed: one IPv4 or IPv6 address.", text, tag);
	return true;
}

static void prefix_text(const struct ip_address *ip, unsigned len, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	policy_format_ip(ip, a, sizeof(a));
	snprintf(buf, cap, "%s/%u", a, len);
}

static void port_text(uint16_t port, char *buf, size_t cap)
{
	if (port)
		snprintf(buf, cap, "%u", port);
	else
		snprintf(buf, cap, "ANY");
}

static const char *dir_text(bool inbound)
{
	return inbound ? "Inbound" : "Outbound";
}

static const char *dir_reason_text(enum netsh_dir_reason r)
{
	switch (r) {
	case RULEFOR_FROM_HOST:
		return " (the source is this host's address)";
	case RULEFOR_TO_HOST:
		return " (the destination is this host's address)";
	case RULEFOR_FORWARDED:
		return " (neither address is this host's: forwarded, looked up as it leaves)";
	case RULEFOR_DIR_GIVEN:
		break;
	}
	return "";
}

static const char *mirror_text(enum netsh_mirror m)
{
	return m == RULEFOR_MIRROR_AS_WRITTEN ? "YES (as written)"
	       : m == RULEFOR_MIRROR_SWAPPED  ? "YES (the mirror: addresses and ports swapped)"
	                                      : "NO";
}

/* "Negotiate Security", "Permit (soft association: ...)". */
static void action_text(const struct netsh_rulefor *r, char *buf, size_t cap)
{
	if (r->kind == RULEFOR_RUNTIME && r->action == ACTION_PERMIT)
		snprintf(buf, cap, "Permit (soft association: the peer never answered IKE)");
	else if (r->kind == RULEFOR_RUNTIME)
		snprintf(buf, cap, "Negotiate Security (the default response rule answered a peer)");
	else
		snprintf(buf, cap, "%s", policy_action_name(r->action));
}

static const char *no_match_text(bool inbound)
{
	return inbound ? "no filter matches: the packet is not filtered (accepted in clear)"
	               : "no filter matches: the packet is not filtered (sent in clear)";
}

static void rulefor_list(FILE *f, const struct netsh_packet *p, const struct netsh_rulefor *r)
{
	char a[INET6_ADDRSTRLEN + 8], b[INET6_ADDRSTRLEN + 8], proto[16], buf[160];
	list_header(f, "Rule For Packet");
	policy_format_ip(&p->src, a, sizeof(a));
	policy_format_ip(&p->dst, b, sizeof(b));
	list_field(f, "Source Address", "%s", a);
	list_field(f, "Destination Address", "%s", b);
	list_field(f, "Protocol", "%s", policy_protocol_name(p->protocol, proto, sizeof(proto)));
	port_text(p->src_port, a, sizeof(a));
	list_field(f, "Source Port", "%s", a);
	port_text(p->dst_port, a, sizeof(a));
	list_field(f, "Destination Port", "%s", a);
	list_field(f, "Direction", "%s%s", dir_text(r->inbound), dir_reason_text(r->dir_reason));
	list_field(f, "Policy Name", "%s", r->policy[0] ? r->policy : "NONE (no policy is assigned)");
	if (r->kind == RULEFOR_NO_MATCH) {
		list_field(f, "Result", "%s", no_match_text(r->inbound));
		return;
	}
	list_field(f, "Rule ID", "%u", r->rule_id);
	list_field(f, "Rule Name", "%s", r->rule[0] ? r->rule : "NONE (no longer in the policy)");
	list_field(f, "Filter List Name", "%s", none_if_empty(r->filterlist));
	list_field(f, "Filter Action Name", "%s", none_if_empty(r->filteraction));
	action_text(r, buf, sizeof(buf));
	list_field(f, "Action", "%s", buf);
	if (r->action == ACTION_NEGOTIATE && !r->is_default) {
		list_field(f, "Inbound Pass Through", "%s", yesno(r->inpass));
		list_field(f, "Fallback to Clear", "%s", yesno(r->soft));
	}
	if (r->has_tunnel)
		policy_format_ip(&r->tunnel, a, sizeof(a));
	list_field(f, "Tunnel Endpoint", "%s", r->has_tunnel ? a : "NONE");
	if (r->kind == RULEFOR_RUNTIME) {
		list_field(f, "Matched Filter", "a run-time filter (checked before the policy's)");
		if (r->expires_s)
			list_field(f, "Expires In", "%us", r->expires_s);
	} else {
		list_field(f, "Matched Filter", "Filter %u of the filter list", r->filter_no);
		list_field(f, "Mirrored", "%s", mirror_text(r->mirror));
	}
	prefix_text(&r->src, r->src_len, a, sizeof(a));
	list_field(f, "Filter Source", "%s", a);
	prefix_text(&r->dst, r->dst_len, a, sizeof(a));
	list_field(f, "Filter Destination", "%s", a);
	list_field(f, "Filter Protocol", "%s", policy_protocol_name(r->protocol, proto,
	                                                            sizeof(proto)));
	port_text(r->src_port, a, sizeof(a));
	list_field(f, "Filter Source Port", "%s", a);
	port_text(r->dst_port, a, sizeof(a));
	list_field(f, "Filter Destination Port", "%s", a);
	list_field(f, "Filter Direction", "%s", dir_text(r->inbound));
	if (r->kind == RULEFOR_RUNTIME) {
		list_field(f, "Weight", "NONE (run-time filters come before the SPD)");
	} else {
		/* The terms of the weight, most significant first (spd.h, §3.2). */
		list_field(f, "Weight", "%u (%u prefix bits%s%s%s, %s)", r->weight,
		           r->src_len + r->dst_len, r->protocol ? ", protocol" : "",
		           r->src_port ? ", source port" : "", r->dst_port ? ", destination port" : "",
		           policy_action_name(r->action));
		list_field(f, "Evaluation Order", "%zu of %zu one-way filters", r->position,
		           r->count);
	}
}

static void rulefor_table(FILE *f, const struct netsh_rulefor *r)
{
	static const char *const head[] = { "ID", "Rule Name", "Filter List", "Filter Action",
	                                    "Action", "Dir", "Source", "Destination", "Proto",
	                                    "SrcPort", "DstPort", "Mir", "Weight" };
	if (r->kind == RULEFOR_NO_MATCH) {
		fprintf(f, "%s\n", no_match_text(r->inbound));
		return;
	}
	char id[16], src[INET6_ADDRSTRLEN + 8], dst[INET6_ADDRSTRLEN + 8], proto[16], sp[8],
	     dp[8], w[16];
	snprintf(id, sizeof(id), "%u", r->rule_id);
	prefix_text(&r->src, r->src_len, src, sizeof(src));
	prefix_text(&r->dst, r->dst_len, dst, sizeof(dst));
	port_text(r->src_port, sp, sizeof(sp));
	port_text(r->dst_port, dp, sizeof(dp));
	if (r->kind == RULEFOR_RUNTIME)
		snprintf(w, sizeof(w), "run-time");
	else
		snprintf(w, sizeof(w), "%u", r->weight);
	const char *action = r->kind == RULEFOR_RUNTIME && r->action == ACTION_PERMIT
	                     ? "Permit (soft)" : policy_action_name(r->action);
	const char *row[] = { id, r->rule[0] ? r->rule : "NONE", none_if_empty(r->filterlist),
	                      none_if_empty(r->filteraction), action, r->inbound ? "In" : "Out",
	                      src, dst, policy_protocol_name(r->protocol, proto, sizeof(proto)),
	                      sp, dp, r->mirror == RULEFOR_NOT_MIRRORED ? "NO" : "YES", w };
	struct table *t = table_new(sizeof(head) / sizeof(head[0]), head);
	table_row(t, row);
	table_print(f, t, true);
	table_free(t);
}

static const char *dir_reason_key(enum netsh_dir_reason r)
{
	return r == RULEFOR_FROM_HOST ? "from_host" : r == RULEFOR_TO_HOST ? "to_host"
	       : r == RULEFOR_FORWARDED ? "forwarded" : "given";
}

static void json_string_or_null(struct json *j, const char *key, const char *v)
{
	if (v && v[0])
		json_string(j, key, v);
	else
		json_null(j, key);
}

/* One flat object, every key always present (null where it does not apply:
 * the rule's and filter's keys without a match, filter_no/mirrored/weight/
 * position for a run-time filter, expires_s for the policy's). */
static void rulefor_json(FILE *f, const struct netsh_packet *p, const struct netsh_rulefor *r)
{
	char a[INET6_ADDRSTRLEN + 8];
	struct json j;
	json_init(&j, f);
	json_object_begin(&j, NULL);
	json_u64(&j, "schema_version", 1);
	json_string(&j, "view", "rulefor");
	policy_format_ip(&p->src, a, sizeof(a));
	json_string(&j, "srcaddr", a);
	policy_format_ip(&p->dst, a, sizeof(a));
	json_string(&j, "dstaddr", a);
	json_u64(&j, "protocol", p->protocol);
	json_u64(&j, "srcport", p->src_port);
	json_u64(&j, "dstport", p->dst_port);
	json_string(&j, "direction", r->inbound ? "inbound" : "outbound");
	json_string(&j, "direction_reason", dir_reason_key(r->dir_reason));
	json_string_or_null(&j, "policy", r->policy);
	json_u64(&j, "filters_in_force", r->count);
	bool match = r->kind != RULEFOR_NO_MATCH, spd = r->kind == RULEFOR_POLICY;
	json_string(&j, "result", !match ? "no_match" : spd ? "policy" : "runtime");
	static const char *const rule_keys[] = { "rule_id", "rule_name", "filterlist",
		                                 "filteraction", "default_response", "action",
		                                 "inpass", "soft", "tunnel", "filter_srcaddr",
		                                 "filter_dstaddr", "filter_protocol",
		                                 "filter_srcport", "filter_dstport" };
	if (!match) {
		for (size_t i = 0; i < sizeof(rule_keys) / sizeof(rule_keys[0]); i++)
			json_null(&j, rule_keys[i]);
	} else {
		json_u64(&j, "rule_id", r->rule_id);
		json_string_or_null(&j, "rule_name", r->rule);
		json_string_or_null(&j, "filterlist", r->filterlist);
		json_string_or_null(&j, "filteraction", r->filteraction);
		json_bool(&j, "default_response", r->is_default);
		json_string(&j, "action", r->action == ACTION_PERMIT ? "permit"
		                          : r->action == ACTION_BLOCK ? "block" : "negotiate");
		json_bool(&j, "inpass", r->inpass);
		json_bool(&j, "soft", r->soft);
		if (r->has_tunnel)
			policy_format_ip(&r->tunnel, a, sizeof(a));
		json_string_or_null(&j, "tunnel", r->has_tunnel ? a : NULL);
		prefix_text(&r->src, r->src_len, a, sizeof(a));
		json_string(&j, "filter_srcaddr", a);
		prefix_text(&r->dst, r->dst_len, a, sizeof(a));
		json_string(&j, "filter_dstaddr", a);
		json_u64(&j, "filter_protocol", r->protocol);
		json_u64(&j, "filter_srcport", r->src_port);
		json_u64(&j, "filter_dstport", r->dst_port);
	}
	if (spd) {
		json_u64(&j, "filter_no", r->filter_no);
		json_string(&j, "mirrored", r->mirror == RULEFOR_MIRROR_AS_WRITTEN ? "as_written"
		                            : r->mirror == RULEFOR_MIRROR_SWAPPED ? "swapped" : "no");
		json_u64(&j, "weight", r->weight);
		json_u64(&j, "position", r->position);
	} else {
		json_null(&j, "filter_no");
		json_null(&j, "mirrored");
		json_null(&j, "weight");
		json_null(&j, "position");
	}
	if (match && !spd && r->expires_s)
		json_u64(&j, "expires_s", r->expires_s);
	else
		json_null(&j, "expires_s");
	json_object_end(&j);
	json_finish(&j);
}

static bool show_rulefor_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	struct netsh_packet p;
	memset(&p, 0, sizeof(p));
	const char *v;
	int format = 0;   /* list, table, json */
	if (!parse_packet_addr("srcaddr", arg(a, "srcaddr"), &p.src, d) ||
	    !parse_packet_addr("dstaddr", arg(a, "dstaddr"), &p.dst, d))
		return false;
	if (p.src.family != p.dst.family)
		return diag_error(d, ERR_BAD_VALUE, "'srcaddr' and 'dstaddr' must be of one address "
		                  "family.");
	if ((v = arg(a, "protocol")) && !policy_parse_protocol("protocol", v, &p.protocol, d))
		return false;
	if ((v = arg(a, "srcport")) && !policy_parse_port("srcport", v, &p.src_port, d))
		return false;
	if ((v = arg(a, "dstport")) && !policy_parse_port("dstport", v, &p.dst_port, d))
		return false;
	if ((p.src_port || p.dst_port) && p.protocol != IPPROTO_TCP && p.protocol != IPPROTO_UDP)
		return diag_error(d, ERR_PORT_PROTOCOL, "Ports can be given only with protocol=TCP "
		                  "or UDP.");
	if ((v = arg(a, "direction"))) {
		p.direction_given = true;
		if (!strcasecmp(v, "inbound"))
			p.inbound = true;
		else if (strcasecmp(v, "outbound"))
			return diag_bad_value(d, "direction", v, "inbound, outbound");
	}
	if (!show_format(a, &format, d))
		return false;
	if (!need_service(ns, d))
		return false;
	struct netsh_rulefor r;
	memset(&r, 0, sizeof(r));
	if (!ns->dynamic->show_rulefor(ns->dynamic->ctx, &p, &r, d))
		return false;
	if (format == 1)
		rulefor_table(ns->out, &r);
	else if (format == 2)
		rulefor_json(ns->out, &p, &r);
	else
		rulefor_list(ns->out, &p, &r);
	return true;
}

/* `set config` and `show config` work on the store, daemon or not: the
 * settings are the service's persistent configuration, and secpold reads
 * them when it needs them (the boot mode: when it stops; ipsecexempt: when
 * it starts; the others whenever it applies the policy, which the CLI's
 * nudge after this command makes happen at once). */
static bool set_config_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	const char *name = arg(a, "property"), *value = arg(a, "value");
	const struct service_setting *s = policy_service_setting(name);
	if (!s) {
		size_t n;
		const struct service_setting *all = policy_service_settings(&n);
		char list[256] = "";
		for (size_t i = 0; i < n; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			         all[i].name);
		return diag_error(d, ERR_BAD_VALUE, "The value '%.100s' of 'property' is not valid. "
		                  "Allowed: %s.", name, list);
	}
	char norm[1024];
	if (!policy_check_service_setting(s, value, norm, sizeof(norm), d) ||
	    !store_config_set(ns->store, s->name, norm, d))
		return false;
	/* Windows needs a reboot for it; secpold reads it when it starts. The
	 * one `set` that says something: a silent success would suggest the
	 * new exemptions are in force. */
	if (!strcmp(s->name, "ipsecexempt"))
		fprintf(ns->out, "The new ipsecexempt value takes effect when the IPsec service "
		        "(secpold) restarts.\n");
	return true;
}

/* A setting's value as netsh-ipsec.md §5.7 prints it: "3600 seconds",
 * "Stateful", "NONE". */
static void config_display(const struct service_setting *s, const char *v, char *out,
                           size_t len)
{
	if (!strcmp(s->name, "ipsecloginterval"))
		snprintf(out, len, "%s seconds", v);
	else if (!strcmp(s->name, "bootmode"))
		snprintf(out, len, "%c%s", toupper((unsigned char)v[0]), v[0] ? v + 1 : "");
	else if (!strcmp(s->name, "bootexemptions") && !strcasecmp(v, "none"))
		snprintf(out, len, "NONE");
	else
		snprintf(out, len, "%s", v);
}

static void config_value(struct netsh_session *ns, const struct service_setting *s, char *v,
                         size_t len)
{
	if (!ns->store || !store_config_get(ns->store, s->name, v, len))
		snprintf(v, len, "%s", s->def);
}

void show_config_text(struct netsh_session *ns)
{
	size_t n;
	const struct service_setting *all = policy_service_settings(&n);
	fprintf(ns->out, "IPsec Service Configuration\n---------------------------\n");
	for (size_t i = 0; i < n; i++) {
		char v[1024], shown[1100];
		config_value(ns, &all[i], v, sizeof(v));
		config_display(&all[i], v, shown, sizeof(shown));
		fprintf(ns->out, "%-27s: %s\n", all[i].label, shown);
	}
}

/* Members named after the `set config` properties; numbers as numbers. */
void show_config_json(struct netsh_session *ns, struct json *j)
{
	size_t n;
	const struct service_setting *all = policy_service_settings(&n);
	for (size_t i = 0; i < n; i++) {
		char v[1024];
		config_value(ns, &all[i], v, sizeof(v));
		if (all[i].kind == SETTING_UINT)
			json_u64(j, all[i].name, strtoull(v, NULL, 10));
		else
			json_string(j, all[i].name, v);
	}
}

static bool show_config_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	int fmt = 0;
	if (!show_format(a, &fmt, d))
		return false;
	if (fmt == 0) {
		show_config_text(ns);
	} else if (fmt == 2) {
		struct json j;
		json_init(&j, ns->out);
		json_object_begin(&j, NULL);
		show_config_json(ns, &j);
		json_object_end(&j);
		json_finish(&j);
	} else {
		static const char *const h[] = { "Property", "Value" };
		size_t n;
		const struct service_setting *all = policy_service_settings(&n);
		struct table *t = table_new(2, h);
		for (size_t i = 0; i < n; i++) {
			char v[1024], shown[1100];
			config_value(ns, &all[i], v, sizeof(v));
			config_display(&all[i], v, shown, sizeof(shown));
			const char *row[] = { all[i].name, shown };
			table_row(t, row);
		}
		table_print(ns->out, t, true);
		table_free(t);
	}
	return true;
}

static const struct param_spec p_set_config[] = {
	{ "property", PF_REQUIRED, "ipsecdiagnostics|ikelogging|strongcrlcheck|ipsecloginterval|"
	                           "ipsecexempt|bootmode|bootexemptions|cryptoprofile|allowlegacy|"
	                           "metrics" },
	{ "value", PF_REQUIRED, "<value>" },
};

static const struct param_spec p_add_sa[] = {
	{ "srcaddr", PF_REQUIRED, "<address>[/<prefix>]" },
	{ "dstaddr", PF_REQUIRED, "<address>[/<prefix>]" },
	{ "protocol", PF_REQUIRED, "esp|ah" },
	{ "spi", PF_REQUIRED, "<0x100-0xffffffff>" },
	{ "mode", 0, "transport|tunnel" },
	{ "tunnelsrc", 0, "<address>" },
	{ "tunneldst", 0, "<address>" },
	{ "encryption", 0, "aes-128-gcm|aes-256-gcm|chacha20-poly1305|aes-128-cbc|aes-256-cbc|"
	                   "3des|des|null" },
	{ "enckey", 0, "0x<hex>" },
	{ "integrity", 0, "sha1|md5|sha256|sha384|sha512" },
	{ "authkey", 0, "0x<hex>" },
	{ "replaywindow", 0, "<0-8192>" },
	{ "lifetime", 0, "<KB>k/<seconds>s" },
	{ "encap", 0, "udp|none" },
	{ "esn", 0, "yes|no" },
	{ "direction", 0, "inbound|outbound" },
};
static const struct param_spec p_delete_sa[] = {
	{ "spi", PF_REQUIRED, "<spi>|all" },
	{ "dstaddr", 0, "<address>" },
	{ "protocol", 0, "esp|ah" },
};
static const struct param_spec p_show_config[] = {
	{ "format", PF_NAMED, "list|table|json" },
};
static const struct param_spec p_show_stats[] = {
	{ "type", 0, "all|ike|ipsec" },
	{ "format", 0, "list|table|json" },
	{ "wide", 0, "yes|no" },
};
static const struct param_spec p_show_sas[] = {
	{ "all", 0, "" },
	{ "srcaddr", PF_NAMED, "<address>" },
	{ "dstaddr", PF_NAMED, "<address>" },
	{ "format", PF_NAMED, "list|table|json" },
	{ "wide", PF_NAMED, "yes|no" },
	{ "resolvedns", PF_NAMED, "yes|no" },
};
static const struct param_spec p_show_sa[] = {
	{ "format", 0, "list|table|json" },
	{ "wide", 0, "yes|no" },
};
static const struct param_spec p_show_failures[] = {
	{ "format", 0, "list|table|json" },
	{ "wide", 0, "yes|no" },
};
static const struct param_spec p_show_events[] = {
	{ "count", 0, "<1-1024>" },
	{ "format", 0, "list|table|json" },
	{ "wide", 0, "yes|no" },
};
static const struct param_spec p_show_rulefor[] = {
	{ "srcaddr", PF_REQUIRED, "<address>" },
	{ "dstaddr", PF_REQUIRED, "<address>" },
	{ "protocol", 0, "any|icmp|tcp|udp|icmpv6|<0-255>" },
	{ "srcport", 0, "<port>" },
	{ "dstport", 0, "<port>" },
	{ "direction", 0, "outbound|inbound" },
	{ "format", 0, "list|table|json" },
};

#define N(p) (sizeof(p) / sizeof((p)[0]))
static const struct command_spec dynamic_commands[] = {
	{ "add", "sa", p_add_sa, N(p_add_sa), add_sa_run, CMD_NONE,
	  "Adds a manually keyed SA (one direction) to the running service." },
	{ "delete", "sa", p_delete_sa, N(p_delete_sa), delete_sa_run, CMD_NONE,
	  "Deletes a manually keyed SA, or all SAs." },
	{ "show", "sa", p_show_sa, N(p_show_sa), show_sa_run, CMD_NONE,
	  "Shows the SAs of the running service." },
	{ "show", "stats", p_show_stats, N(p_show_stats), show_stats_run, CMD_NONE,
	  "Shows IKE and IPsec statistics." },
	{ "show", "mmsas", p_show_sas, N(p_show_sas), show_mmsas_run, CMD_NONE,
	  "Shows the main-mode (IKE) SAs." },
	{ "show", "qmsas", p_show_sas, N(p_show_sas), show_qmsas_run, CMD_NONE,
	  "Shows the quick-mode SAs: Child SAs and manual SAs, with their traffic." },
	{ "show", "ikesas", NULL, 0, show_ikesas_run, CMD_NONE,
	  "Shows the IKE engine's SAs with their Child SAs and states (diagnostics)." },
	{ "show", "failures", p_show_failures, N(p_show_failures), show_failures_run, CMD_NONE,
	  "Shows the last failed negotiations: which step failed and why." },
	{ "show", "events", p_show_events, N(p_show_events), show_events_run, CMD_NONE,
	  "Shows the event log of negotiations: SAs up and down, rekeys, failures and why." },
	{ "show", "rulefor", p_show_rulefor, N(p_show_rulefor), show_rulefor_run, CMD_NONE,
	  "Shows the rule, filter and action the policy in force applies to one packet." },
	{ "set", "config", p_set_config, N(p_set_config), set_config_run, CMD_WRITE,
	  "Sets a property of the IPsec service (persistent).\n"
	  "\n"
	  "  ipsecdiagnostics 0-7 (0): the driver's diagnostic events, one summary per\n"
	  "      class every ipsecloginterval (`show events`, syslog): 1 = IPsec\n"
	  "      processing failures (bad SPI, authentication, replay, decryption,\n"
	  "      padding, invalid packets), 2 = inbound packets dropped by policy\n"
	  "      (blocked, cleartext where protection is required), 4 = outbound\n"
	  "      packets dropped by policy (blocked, queue overflow or timeout).\n"
	  "  ipsecloginterval 60-86400 (3600): seconds between those summaries.\n"
	  "  ikelogging 0|1 (0): 1 logs every IKE negotiation in detail (each message).\n"
	  "  strongcrlcheck 0|1|2 (1): CRL checking off, revoked fails, any error fails.\n"
	  "  ipsecexempt 0-3 (3): traffic exempt from IPsec filtering: 0 = multicast,\n"
	  "      broadcast, RSVP, Kerberos, ISAKMP; 1 = multicast, broadcast, ISAKMP;\n"
	  "      2 = RSVP, Kerberos, ISAKMP; 3 = ISAKMP only. Takes effect when the\n"
	  "      IPsec service (secpold) restarts.\n"
	  "  bootmode stateful|block|permit, bootexemptions none|Proto:Src:Dst:Dir ...:\n"
	  "      the host before the policy applies.\n"
	  "  cryptoprofile modern|legacy, allowlegacy 0|1: project extensions.\n"
	  "The other properties take effect at once when secpold runs." },
	{ "show", "config", p_show_config, N(p_show_config), show_config_run, CMD_READ,
	  "Shows the IPsec service's properties." },
};
#define NDYN N(dynamic_commands)

/* The manual-keying, monitoring and config commands above, then the
 * dynamic SPD's (dynamic_spd.c). */
#define NALL (NDYN + dynamic_spd_command_count)
static const struct command_spec *dyn_command(size_t i)
{
	return i < NDYN ? &dynamic_commands[i] : &dynamic_spd_commands[i - NDYN];
}

void list_dynamic_commands(FILE *f)
{
	fprintf(f, "Commands in the `ipsec dynamic' context:\n");
	for (size_t i = 0; i < NALL; i++)
		fprintf(f, "%-6s %-12s - %.*s\n", dyn_command(i)->verb, dyn_command(i)->object,
		        (int)strcspn(dyn_command(i)->help, "\n"), dyn_command(i)->help);
}

static const struct command_spec *find_dynamic(const struct tokens *t, size_t *first,
                                               struct diag *d)
{
	static const char *const verbs[] = { "add", "delete", "set", "show" };
	const char *w = t->t[*first].value;
	if (t->t[*first].tag)
		return diag_error(d, ERR_UNKNOWN_COMMAND, "The following command was not found: "
		                  "%.100s=%.100s.", t->t[*first].tag, w), NULL;
	int v = match_word(w, verbs, N(verbs));
	if (v < 0)
		return diag_error(d, ERR_UNKNOWN_COMMAND, "The following command was not found: "
		                  "%.100s.", w), NULL;
	(*first)++;
	const char *objects[64];
	const struct command_spec *cands[64];
	size_t n = 0;
	for (size_t i = 0; i < NALL && n < 64; i++)
		if (!strcmp(dyn_command(i)->verb, verbs[v])) {
			cands[n] = dyn_command(i);
			objects[n++] = dyn_command(i)->object;
		}
	char list[512] = "";
	for (size_t i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
		         objects[i]);
	if (*first >= t->n || t->t[*first].tag)
		return diag_error(d, ERR_UNKNOWN_COMMAND, "'%s' needs an object: %s.", verbs[v],
		                  list), NULL;
	const char *word = t->t[*first].value;
	if (!strcasecmp(word, "rule-for"))
		word = "rulefor";   /* the spelling */
	int o = match_word(word, objects, n);
	if (o < 0)
		return diag_error(d, ERR_UNKNOWN_COMMAND, "The following command was not found: "
		                  "%s %.100s (this version's dynamic context has: %s %s).",
		                  verbs[v], t->t[*first].value, verbs[v], list), NULL;
	(*first)++;
	return cands[o];
}

/* The command as one line for the service: tag="value" words. */
static bool join_tokens(const struct tokens *t, size_t first, char *out, size_t cap,
                        struct diag *d)
{
	size_t o = 0;
	for (size_t k = first; k < t->n; k++) {
		const struct token *tok = &t->t[k];
		if (strchr(tok->value, '"') || (tok->tag && strchr(tok->tag, '"')))
			return diag_error(d, ERR_BAD_VALUE, "A value may not contain '\"'.");
		int n = tok->tag ? snprintf(out + o, cap - o, "%s%s=\"%s\"", o ? " " : "", tok->tag,
		                            tok->value)
		                 : snprintf(out + o, cap - o, "%s\"%s\"", o ? " " : "", tok->value);
		if (n < 0 || (size_t)n >= cap - o)
			return diag_error(d, ERR_BAD_VALUE, "The command is too long.");
		o += (size_t)n;
	}
	return true;
}

bool dynamic_run(struct netsh_session *ns, const struct tokens *t, size_t first,
                 const struct command_spec **cmd, struct diag *d)
{
	size_t i = first;
	const struct command_spec *c = find_dynamic(t, &i, d);
	if (!c)
		return false;
	*cmd = c;
	if (c->run == set_config_run && i + 1 == t->n && i + 2 <= MAX_TOKENS && t->t[i].tag &&
	    strcasecmp(t->t[i].tag, "property") && strcasecmp(t->t[i].tag, "value") &&
	    policy_service_setting(t->t[i].tag)) {
		/* `set config metrics=127.0.0.1:9567`: the property named as a
		 * tag, as the issue writes it, is property=... value=... */
		struct tokens two = *t;
		two.t[i] = (struct token){ "property", t->t[i].tag };
		two.t[i + 1] = (struct token){ "value", t->t[i].value };
		two.n = i + 2;
		return run_command(ns, c, &two, i, d);
	}
	if (c->access != CMD_NONE)
		return run_command(ns, c, t, i, d);
	struct args a;
	if (!bind_args(c, t, i, &a, d))
		return false;
	if (ns->dynamic)
		return c->run(ns, &a, d);
	if (!ns->forward)
		return diag_error(d, ERR_SERVICE, "The IPsec service is not running.");
	char line[8192];
	return join_tokens(t, first, line, sizeof(line), d) && ns->forward(ns, line, d);
}
