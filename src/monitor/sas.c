/*
 * `show mmsas`, `show qmsas` and `show sa format=json`: the SAs of a
 * snapshot. The list layouts follow ip-security-monitor.md §3.5 and §4.5
 * (the Windows fields first, secpol's after them); the tables keep one SA
 * per line; JSON carries every field (docs/monitor-json.md).
 */
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "monitor/table.h"
#include "monitor/view.h"
#include "policy/policy.h"

#define RULE_LINE "-----------------------------------------------------------------------"

static void field(FILE *f, const char *label, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void field(FILE *f, const char *label, const char *fmt, ...)
{
	va_list ap;
	fprintf(f, "%-*s: ", MON_LIST_WIDTH, label);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

static const char *none_if_empty(const char *s)
{
	return s && s[0] ? s : "NONE";
}

static const char *auth_text(enum mon_auth a)
{
	return a == MON_AUTH_PSK ? "Preshared Key" : a == MON_AUTH_CERT ? "Certificate" : "None";
}

static const char *auth_key(enum mon_auth a)
{
	return a == MON_AUTH_PSK ? "psk" : a == MON_AUTH_CERT ? "certificate" : "none";
}

static const char *dir_text(enum mon_direction d)
{
	return d == MON_DIR_INBOUND ? "Inbound" : d == MON_DIR_OUTBOUND ? "Outbound" : "Both";
}

static const char *dir_key(enum mon_direction d)
{
	return d == MON_DIR_INBOUND ? "inbound" : d == MON_DIR_OUTBOUND ? "outbound" : "both";
}

static void list_title(FILE *f, const char *what, int64_t at)
{
	char t[32];
	mon_time_text(at, t, sizeof(t));
	fprintf(f, "%s at %s\n%s\n", what, t, RULE_LINE);
}

static void truncated_note(FILE *f, size_t shown, size_t total)
{
	if (total > shown)
		fprintf(f, "(%zu more not shown: the snapshot is full)\n", total - shown);
}

static void json_head(struct json *j, const char *view, const struct mon_snapshot *s,
                      size_t total, size_t shown)
{
	json_object_begin(j, NULL);
	json_u64(j, "schema_version", MON_SCHEMA_VERSION);
	json_string(j, "view", view);
	json_i64(j, "taken_at", s->taken_at);
	json_u64(j, "total", total);
	json_bool(j, "truncated", total > shown);
}

static void json_addr(struct json *j, const char *key, const struct mon_addr *a)
{
	char buf[INET6_ADDRSTRLEN];
	if (a->family)
		json_string(j, key, mon_addr_text(a, buf, sizeof(buf)));
	else
		json_null(j, key);
}

/* ---- main mode ---- */

static void mm_sec_methods(const struct mon_ike_sa *a, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s/%u/%llu", none_if_empty(a->encryption),
	         none_if_empty(a->integrity), a->dh_group, (unsigned long long)a->lifetime_s);
}

static const char *mm_encap(const struct mon_ike_sa *a)
{
	return !a->encap ? "None" : a->nat ? "UDP 4500 (NAT)" : "UDP 4500 (forced)";
}

/* resolvedns=yes: the request of the list, with every address it will name
 * asked for before the first is waited for; NULL: no names. */
static const struct mon_names_request *mm_names(const struct mon_snapshot *s,
                                                const struct mon_filter *flt,
                                                struct mon_names_request *r)
{
	if (!flt || !flt->resolvedns)
		return NULL;
	mon_names_begin(r);
	for (size_t i = 0; i < s->nike; i++)
		if (mon_filter_match(flt, &s->ike[i].me, &s->ike[i].peer)) {
			mon_names_ask(&s->ike[i].me);
			mon_names_ask(&s->ike[i].peer);
		}
	return r;
}

static void mm_list(FILE *f, const struct mon_ike_sa *a, const struct mon_names_request *names)
{
	char me[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN], sm[96], mn[272], pn[272];
	mon_addr_text(&a->me, me, sizeof(me));
	mon_addr_text(&a->peer, peer, sizeof(peer));
	mm_sec_methods(a, sm, sizeof(sm));
	field(f, "Cookie Pair", "%016llx:%016llx", (unsigned long long)a->cookie_i,
	      (unsigned long long)a->cookie_r);
	field(f, "Sec Methods", "%s", sm);
	field(f, "Auth Mode", "%s", auth_text(a->auth));
	field(f, "Source", "%-20s, port %u%s", me, a->me_port,
	      mon_addr_name(names, &a->me, mn, sizeof(mn)));
	field(f, "ID", "%s", none_if_empty(a->me_id));
	field(f, "Destination", "%-20s, port %u%s", peer, a->peer_port,
	      mon_addr_name(names, &a->peer, pn, sizeof(pn)));
	field(f, "ID", "%s", none_if_empty(a->peer_id));
	field(f, "Encap Mode", "%s", mm_encap(a));
	/* secpol's: what an IKEv2 SA adds to Windows' view */
	field(f, "PRF", "%s", none_if_empty(a->prf));
	field(f, "Role", "%s", a->initiator ? "Initiator" : "Responder");
	field(f, "State", "%s", a->state);
	field(f, "Rule Name", "%s", none_if_empty(a->rule));
	field(f, "Age", "%llu s", (unsigned long long)a->age_s);
	field(f, "Lifetime Left", "%llu s", (unsigned long long)a->lifetime_left_s);
	field(f, "Quick Mode SAs", "%u", a->child_sas);
}

static void mm_json(struct json *j, const struct mon_ike_sa *a)
{
	char c[24];
	json_object_begin(j, NULL);
	json_addr(j, "me", &a->me);
	json_u64(j, "me_port", a->me_port);
	json_addr(j, "peer", &a->peer);
	json_u64(j, "peer_port", a->peer_port);
	snprintf(c, sizeof(c), "%016llx", (unsigned long long)a->cookie_i);
	json_string(j, "cookie_initiator", c);
	snprintf(c, sizeof(c), "%016llx", (unsigned long long)a->cookie_r);
	json_string(j, "cookie_responder", c);
	json_string(j, "auth", auth_key(a->auth));
	json_string(j, "me_id", a->me_id);
	json_string(j, "peer_id", a->peer_id);
	json_string(j, "encryption", a->encryption);
	json_string(j, "integrity", a->integrity);
	json_string(j, "prf", a->prf);
	json_u64(j, "dh_group", a->dh_group);
	json_string(j, "role", a->initiator ? "initiator" : "responder");
	json_string(j, "state", a->state);
	json_u64(j, "rule_id", a->rule_id);
	json_string(j, "rule", a->rule);
	json_bool(j, "udp_encap", a->encap);
	json_bool(j, "nat", a->nat);
	json_u64(j, "age_s", a->age_s);
	json_u64(j, "lifetime_s", a->lifetime_s);
	json_u64(j, "lifetime_left_s", a->lifetime_left_s);
	json_u64(j, "quick_mode_sas", a->child_sas);
	json_object_end(j);
}

void mon_render_mmsas(FILE *f, const struct mon_snapshot *s, const struct mon_filter *flt,
                      enum mon_format fmt, bool wide)
{
	size_t shown = 0;
	for (size_t i = 0; i < s->nike; i++)
		shown += mon_filter_match(flt, &s->ike[i].me, &s->ike[i].peer);
	size_t total = s->ike_total > s->nike ? shown + (s->ike_total - s->nike) : shown;
	if (fmt == MON_JSON) {
		struct json j;
		json_init(&j, f);
		json_head(&j, "mmsas", s, total, shown);
		json_array_begin(&j, "sas");
		for (size_t i = 0; i < s->nike; i++)
			if (mon_filter_match(flt, &s->ike[i].me, &s->ike[i].peer))
				mm_json(&j, &s->ike[i]);
		json_array_end(&j);
		json_object_end(&j);
		json_finish(&j);
		return;
	}
	if (!shown) {
		fprintf(f, "No Main Mode SAs found.\n");
		truncated_note(f, shown, total);
		return;
	}
	if (fmt == MON_TABLE) {
		static const char *const head[] = { "Me", "Peer", "Auth", "Encryption", "Integrity",
		                                    "DH", "State", "Age(s)" };
		struct table *t = table_new(8, head);
		if (!t) {
			fprintf(f, "Out of memory.\n");
			return;
		}
		for (size_t i = 0; i < s->nike; i++) {
			const struct mon_ike_sa *a = &s->ike[i];
			if (!mon_filter_match(flt, &a->me, &a->peer))
				continue;
			char me[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN], dh[8], age[24];
			snprintf(dh, sizeof(dh), "%u", a->dh_group);
			snprintf(age, sizeof(age), "%llu", (unsigned long long)a->age_s);
			const char *row[] = { mon_addr_text(&a->me, me, sizeof(me)),
			                      mon_addr_text(&a->peer, peer, sizeof(peer)),
			                      auth_text(a->auth), none_if_empty(a->encryption),
			                      none_if_empty(a->integrity), dh, a->state, age };
			table_row(t, row);
		}
		table_print(f, t, wide);
		table_free(t);
	} else {
		list_title(f, "Main Mode SAs", s->taken_at);
		struct mon_names_request req;
		const struct mon_names_request *names = mm_names(s, flt, &req);
		for (size_t i = 0; i < s->nike; i++)
			if (mon_filter_match(flt, &s->ike[i].me, &s->ike[i].peer)) {
				mm_list(f, &s->ike[i], names);
				fputc('\n', f);
			}
	}
	fprintf(f, "%zu Main Mode SA(s)\n", shown);
	truncated_note(f, shown, total);
}

/* ---- quick mode ---- */

static void qm_offer(const struct mon_qm_sa *q, char *buf, size_t len)
{
	char pfs[32];
	snprintf(pfs, sizeof(pfs), "%s",
	         q->pfs_group ? policy_group_label((uint8_t)q->pfs_group) : "None");
	if (q->esp)
		snprintf(buf, len, "AH(none) ESP(%s,%s) PFS: %s", q->esp_confidentiality,
		         q->esp_integrity, pfs);
	else
		snprintf(buf, len, "AH(%s) ESP(none) PFS: %s", q->ah_integrity, pfs);
}

/* Only a single host has a name: a subnet's address is not a host's. */
static bool single_host(const struct mon_addr *a, uint8_t len)
{
	return len == (a->family == AF_INET ? 32 : 128);
}

/* As mm_names, for the quick-mode list. */
static const struct mon_names_request *qm_names(const struct mon_snapshot *s,
                                                const struct mon_filter *flt,
                                                struct mon_names_request *r)
{
	if (!flt || !flt->resolvedns)
		return NULL;
	mon_names_begin(r);
	for (size_t i = 0; i < s->nqm; i++) {
		const struct mon_qm_sa *q = &s->qm_sas[i];
		if (!mon_filter_match(flt, &q->me, &q->peer))
			continue;
		if (single_host(&q->me, q->me_len))
			mon_names_ask(&q->me);
		if (single_host(&q->peer, q->peer_len))
			mon_names_ask(&q->peer);
	}
	return r;
}

static void qm_list(FILE *f, const struct mon_qm_sa *q, const struct mon_names_request *names)
{
	char me[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN], proto[16], offer[160], mn[272], pn[272];
	fprintf(f, "%s Filter\n", q->tunnel ? "Tunnel" : "Transport");
	field(f, "Source Address", "%s/%u%s", mon_addr_text(&q->me, me, sizeof(me)), q->me_len,
	      mon_addr_name(single_host(&q->me, q->me_len) ? names : NULL, &q->me, mn, sizeof(mn)));
	field(f, "Destination Address", "%s/%u%s", mon_addr_text(&q->peer, peer, sizeof(peer)),
	      q->peer_len,
	      mon_addr_name(single_host(&q->peer, q->peer_len) ? names : NULL, &q->peer, pn,
	                    sizeof(pn)));
	if (q->tunnel) {
		field(f, "Source Tunnel Endpoint", "%s", mon_addr_text(&q->me_tunnel, me, sizeof(me)));
		field(f, "Destination Tunnel Endpoint", "%s",
		      mon_addr_text(&q->peer_tunnel, peer, sizeof(peer)));
	}
	field(f, "Protocol", "%s", policy_protocol_name(q->protocol, proto, sizeof(proto)));
	field(f, "Source Port", "%u", q->me_port);
	field(f, "Destination Port", "%u", q->peer_port);
	field(f, "Direction", "%s", dir_text(q->direction));
	field(f, "Policy Name", "%s", none_if_empty(q->policy));
	qm_offer(q, offer, sizeof(offer));
	fprintf(f, "Offer Used\n %s\n", offer);
	fprintf(f, " %-*s: %llu KB / %llu s\n", MON_LIST_WIDTH - 1, "Lifetime",
	        (unsigned long long)q->lifetime_kb, (unsigned long long)q->lifetime_s);
	if (q->encap)
		field(f, "Encapsulation Type", "UDP, ports %u:%u", q->encap_me_port,
		      q->encap_peer_port);
	else
		field(f, "Encapsulation Type", "None");
	/* secpol's: the SA itself */
	field(f, "Rule Name", "%s", none_if_empty(q->rule));
	field(f, "Keying", "%s", q->negotiated ? "IKE" : "Manual");
	field(f, "SPI In", "0x%08x", q->spi_in);
	field(f, "SPI Out", "0x%08x", q->spi_out);
	field(f, "Remaining", "%llu KB / %llu s", (unsigned long long)q->remaining_kb,
	      (unsigned long long)q->remaining_s);
	field(f, "Packets In/Out", "%llu / %llu", (unsigned long long)q->packets_in,
	      (unsigned long long)q->packets_out);
	field(f, "Bytes In/Out", "%llu / %llu", (unsigned long long)q->bytes_in,
	      (unsigned long long)q->bytes_out);
	field(f, "Dropped In/Out", "%llu / %llu", (unsigned long long)q->drops_in,
	      (unsigned long long)q->drops_out);
	field(f, "Age", "%llu s", (unsigned long long)q->age_s);
	field(f, "Rekey Due", "%s", q->rekey_due ? "YES" : "NO");
}

void mon_json_qm_sa(struct json *j, const struct mon_qm_sa *q)
{
	char proto[16];
	json_object_begin(j, NULL);
	json_bool(j, "negotiated", q->negotiated);
	json_string(j, "direction", dir_key(q->direction));
	json_string(j, "mode", q->tunnel ? "tunnel" : "transport");
	json_addr(j, "me", &q->me);
	json_u64(j, "me_prefix_len", q->me_len);
	json_addr(j, "peer", &q->peer);
	json_u64(j, "peer_prefix_len", q->peer_len);
	json_string(j, "protocol", policy_protocol_name(q->protocol, proto, sizeof(proto)));
	json_u64(j, "me_port", q->me_port);
	json_u64(j, "peer_port", q->peer_port);
	json_addr(j, "me_tunnel", &q->me_tunnel);
	json_addr(j, "peer_tunnel", &q->peer_tunnel);
	json_u64(j, "rule_id", q->rule_id);
	json_string(j, "rule", q->rule);
	json_string(j, "policy", q->policy);
	json_string(j, "ipsec_protocol", q->esp ? "esp" : "ah");
	json_string(j, "ah_integrity", q->ah_integrity);
	json_string(j, "esp_confidentiality", q->esp_confidentiality);
	json_string(j, "esp_integrity", q->esp_integrity);
	json_u64(j, "pfs_group", q->pfs_group);
	json_u64(j, "lifetime_kb", q->lifetime_kb);
	json_u64(j, "lifetime_s", q->lifetime_s);
	json_u64(j, "remaining_kb", q->remaining_kb);
	json_u64(j, "remaining_s", q->remaining_s);
	json_bool(j, "udp_encap", q->encap);
	json_u64(j, "encap_me_port", q->encap_me_port);
	json_u64(j, "encap_peer_port", q->encap_peer_port);
	json_u64(j, "spi_in", q->spi_in);
	json_u64(j, "spi_out", q->spi_out);
	json_u64(j, "packets_in", q->packets_in);
	json_u64(j, "packets_out", q->packets_out);
	json_u64(j, "bytes_in", q->bytes_in);
	json_u64(j, "bytes_out", q->bytes_out);
	json_u64(j, "drops_in", q->drops_in);
	json_u64(j, "drops_out", q->drops_out);
	json_u64(j, "age_s", q->age_s);
	json_bool(j, "rekey_due", q->rekey_due);
	json_object_end(j);
}

void mon_render_qmsas(FILE *f, const struct mon_snapshot *s, const struct mon_filter *flt,
                      enum mon_format fmt, bool wide)
{
	size_t shown = 0;
	for (size_t i = 0; i < s->nqm; i++)
		shown += mon_filter_match(flt, &s->qm_sas[i].me, &s->qm_sas[i].peer);
	size_t total = s->qm_total > s->nqm ? shown + (s->qm_total - s->nqm) : shown;
	if (fmt == MON_JSON) {
		struct json j;
		json_init(&j, f);
		json_head(&j, "qmsas", s, total, shown);
		json_array_begin(&j, "sas");
		for (size_t i = 0; i < s->nqm; i++)
			if (mon_filter_match(flt, &s->qm_sas[i].me, &s->qm_sas[i].peer))
				mon_json_qm_sa(&j, &s->qm_sas[i]);
		json_array_end(&j);
		json_object_end(&j);
		json_finish(&j);
		return;
	}
	if (!shown) {
		fprintf(f, "No Quick Mode SAs found.\n");
		truncated_note(f, shown, total);
		return;
	}
	if (fmt == MON_TABLE) {
		/* What fits 79 columns; ports, SPIs and the rest are in list and JSON. */
		static const char *const head[] = { "Me", "Peer", "Proto", "Mode", "Offer", "Pkts In",
		                                    "Pkts Out" };
		struct table *t = table_new(7, head);
		if (!t) {
			fprintf(f, "Out of memory.\n");
			return;
		}
		for (size_t i = 0; i < s->nqm; i++) {
			const struct mon_qm_sa *q = &s->qm_sas[i];
			if (!mon_filter_match(flt, &q->me, &q->peer))
				continue;
			char me[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN], proto[16];
			char offer[64], pi[24], po[24];
			mon_addr_text(&q->me, me, sizeof(me));
			mon_addr_text(&q->peer, peer, sizeof(peer));
			snprintf(offer, sizeof(offer), "%s(%s%s%s)", q->esp ? "ESP" : "AH",
			         q->esp ? q->esp_confidentiality : q->ah_integrity, q->esp ? "," : "",
			         q->esp ? q->esp_integrity : "");
			snprintf(pi, sizeof(pi), "%llu", (unsigned long long)q->packets_in);
			snprintf(po, sizeof(po), "%llu", (unsigned long long)q->packets_out);
			const char *row[] = { me, peer, policy_protocol_name(q->protocol, proto,
			                                                     sizeof(proto)),
			                      q->tunnel ? "Tunnel" : "Transport", offer, pi, po };
			table_row(t, row);
		}
		table_print(f, t, wide);
		table_free(t);
	} else {
		list_title(f, "Quick Mode SAs", s->taken_at);
		struct mon_names_request req;
		const struct mon_names_request *names = qm_names(s, flt, &req);
		for (size_t i = 0; i < s->nqm; i++)
			if (mon_filter_match(flt, &s->qm_sas[i].me, &s->qm_sas[i].peer)) {
				qm_list(f, &s->qm_sas[i], names);
				fputc('\n', f);
			}
	}
	fprintf(f, "%zu Quick Mode SA(s)\n", shown);
	truncated_note(f, shown, total);
}

/* ---- the driver's SAs (`show sa format=table|json`) ---- */

/* One SA a line, what fits 79 columns for IPv4: what tells SAs apart and
 * whether they carry traffic. The offer, counters and the rest are in the
 * list (the driver's) and JSON. */
static void sas_table(FILE *f, const struct mon_snapshot *s, bool wide)
{
	if (!s->nsa) {
		fprintf(f, "No SAs.\n");
		truncated_note(f, 0, s->sa_total);
		return;
	}
	static const char *const head[] = { "SPI", "Dir", "Type", "Source", "Destination",
	                                    "Packets", "State" };
	struct table *t = table_new(7, head);
	if (!t) {
		fprintf(f, "Out of memory.\n");
		return;
	}
	for (size_t i = 0; i < s->nsa; i++) {
		const struct mon_sa *a = &s->sas[i];
		char spi[16], src[INET6_ADDRSTRLEN + 4], dst[INET6_ADDRSTRLEN + 4], pk[24];
		char ip[INET6_ADDRSTRLEN];
		snprintf(spi, sizeof(spi), "0x%08x", a->spi);
		snprintf(src, sizeof(src), "%s/%u", mon_addr_text(&a->src, ip, sizeof(ip)), a->src_len);
		snprintf(dst, sizeof(dst), "%s/%u", mon_addr_text(&a->dst, ip, sizeof(ip)), a->dst_len);
		snprintf(pk, sizeof(pk), "%llu", (unsigned long long)a->packets);
		const char *type = a->esp ? (a->tunnel ? "ESP tunnel" : "ESP transport")
		                          : (a->tunnel ? "AH tunnel" : "AH transport");
		const char *row[] = { spi, a->inbound ? "In" : "Out", type, src, dst, pk, a->state };
		table_row(t, row);
	}
	table_print(f, t, wide);
	table_free(t);
	fprintf(f, "%zu SA(s)\n", s->nsa);
	truncated_note(f, s->nsa, s->sa_total);
}

void mon_render_sas(FILE *f, const struct mon_snapshot *s, enum mon_format fmt, bool wide)
{
	if (fmt != MON_JSON) {
		sas_table(f, s, wide);
		return;
	}
	struct json j;
	json_init(&j, f);
	json_head(&j, "sa", s, s->sa_total > s->nsa ? s->sa_total : s->nsa, s->nsa);
	json_array_begin(&j, "sas");
	for (size_t i = 0; i < s->nsa; i++) {
		const struct mon_sa *a = &s->sas[i];
		json_object_begin(&j, NULL);
		json_u64(&j, "spi", a->spi);
		json_string(&j, "direction", a->inbound ? "inbound" : "outbound");
		json_string(&j, "ipsec_protocol", a->esp ? "esp" : "ah");
		json_string(&j, "mode", a->tunnel ? "tunnel" : "transport");
		json_addr(&j, "src", &a->src);
		json_u64(&j, "src_prefix_len", a->src_len);
		json_addr(&j, "dst", &a->dst);
		json_u64(&j, "dst_prefix_len", a->dst_len);
		json_addr(&j, "tunnel_src", &a->tunnel_src);
		json_addr(&j, "tunnel_dst", &a->tunnel_dst);
		json_string(&j, "encryption", a->encryption);
		json_string(&j, "integrity", a->integrity);
		json_bool(&j, "udp_encap", a->encap);
		json_bool(&j, "esn", a->esn);
		json_u64(&j, "sequence", a->sequence);
		json_u64(&j, "age_s", a->age_s);
		json_u64(&j, "packets", a->packets);
		json_u64(&j, "bytes", a->bytes);
		json_object_begin(&j, "drops");
		for (size_t k = 1; k < s->dp.ndrops && k < 16; k++) {
			char key[48];
			mon_json_key(s->dp.drop_names[k] ? s->dp.drop_names[k] : "?", key, sizeof(key));
			json_u64(&j, key, a->drops[k]);
		}
		json_object_end(&j);
		json_string(&j, "state", a->state);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_finish(&j);
}
