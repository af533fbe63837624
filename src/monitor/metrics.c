/*
 * The monitor's snapshot as Prometheus metrics (text exposition format
 * 0.0.4, or OpenMetrics 1.0.0 when the scraper asks for it): every counter
 * of `show stats`, per-SA bytes, packets and drops, and whether each
 * configured negotiating rule has an SA up. docs/metrics.md lists every
 * metric with its source.
 *
 * Names follow the JSON keys of `show stats` (docs/monitor-json.md), which
 * follow the Windows labels: main mode under secpol_ike_, quick mode under
 * secpol_ipsec_, the data path under secpol_datapath_. A cumulative count
 * is a counter named ..._total; a current size (Windows' "Active ...",
 * "... Size") is a gauge. So a scrape and `show stats format=json` of the
 * same snapshot give the same numbers under names one derives from the other.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "monitor/monitor.h"
#include "monitor/view.h"

enum kind { COUNTER, GAUGE };

/* One counter of a stats block: its metric name without the prefix and
 * "_total", where it lives in the block, and what it counts. */
struct metric {
	const char *name;
	size_t offset;
	enum kind kind;
	const char *help;
};

#define MM(field, name, kind, help) { name, offsetof(struct mon_mm_stats, field), kind, help }
#define QM(field, name, kind, help) { name, offsetof(struct mon_qm_stats, field), kind, help }
#define DP(field, name, help) { name, offsetof(struct mon_datapath_stats, field), COUNTER, help }

/* "Total ..." counters lose the word: secpol_ike_acquire_total, not
 * secpol_ike_total_acquire_total. */
static const struct metric mm_metrics[] = {
	MM(active_acquire, "active_acquire", GAUGE, "IKE SAs this host initiates, not yet up (Active Acquire)."),
	MM(active_receive, "active_receive", GAUGE, "Responder IKE SAs half open (Active Receive)."),
	MM(acquire_failures, "acquire_failures", COUNTER, "Negotiations this host initiated that failed (Acquire Failures)."),
	MM(receive_failures, "receive_failures", COUNTER, "Negotiations a peer initiated that failed (Receive Failures)."),
	MM(send_failures, "send_failures", COUNTER, "IKE messages that could not be sent (Send Failures)."),
	MM(acquire_heap_size, "acquire_heap_size", GAUGE, "Data-path queues holding packets until an SA is up (Acquire Heap Size)."),
	MM(receive_heap_size, "receive_heap_size", GAUGE, "IKE fragment reassemblies in progress (Receive Heap Size)."),
	MM(negotiation_failures, "negotiation_failures", COUNTER, "Failed negotiations (Negotiation Failures)."),
	MM(authentication_failures, "authentication_failures", COUNTER, "Peers that failed to authenticate (Authentication Failures)."),
	MM(invalid_cookies_received, "invalid_cookies_received", COUNTER, "IKE messages with an unknown SPI pair (Invalid Cookies Rcvd)."),
	MM(total_acquire, "acquire", COUNTER, "Negotiations this host started (Total Acquire)."),
	MM(total_get_spi, "get_spi", COUNTER, "Inbound Child SA SPIs IKE chose (TotalGetSpi)."),
	MM(total_key_add, "key_add", COUNTER, "SAs, each direction, IKE added to the driver (TotalKeyAdd)."),
	MM(key_add_fail, "key_add_fail", COUNTER, "Child SA installs the driver refused (KeyAddFail)."),
	MM(isadb_list_size, "isadb_list_size", GAUGE, "IKE SAs in any state (IsadbListSize)."),
	MM(conn_list_size, "conn_list_size", GAUGE, "Child SA negotiations in flight (ConnListSize)."),
	MM(oakley_main_mode, "oakley_main_mode", COUNTER, "IKE SAs established (Oakley Main Mode)."),
	MM(oakley_quick_mode, "oakley_quick_mode", COUNTER, "Child SAs established (Oakley Quick Mode)."),
	MM(soft_associations, "soft_associations", COUNTER, "Soft associations: peers that never answered, traffic let through in clear (Soft Associations)."),
	MM(invalid_packets_received, "invalid_packets_received", COUNTER, "IKE messages that could not be parsed or verified (Invalid Packets Rcvd)."),
	MM(total_receive, "receive", COUNTER, "IKE messages received (secpol: Total Receive)."),
	MM(active_ike_sas, "active_ike_sas", GAUGE, "IKE SAs, established or not (secpol: Active IKE SAs)."),
	MM(retransmissions, "retransmissions", COUNTER, "IKE requests sent again (secpol: Retransmissions)."),
	MM(cookies_sent, "cookies_sent", COUNTER, "RFC 7296 COOKIE challenges sent (secpol: Cookies Sent)."),
	MM(fragmented_messages, "fragmented_messages", COUNTER, "IKE messages sent in RFC 7383 fragments (secpol: Fragmented Messages)."),
	MM(reassembled_messages, "reassembled_messages", COUNTER, "IKE messages reassembled from RFC 7383 fragments (secpol: Reassembled Messages)."),
};

static const struct metric qm_metrics[] = {
	QM(active_associations, "active_associations", GAUGE, "SAs in the driver, each direction (Active Associations)."),
	QM(offload_sas, "offload_sas", GAUGE, "SAs offloaded to hardware; always 0, no crypto offload (Offload SAs)."),
	QM(pending_key_operations, "pending_key_operations", GAUGE, "Child SA negotiations in flight (Pending Key Operations)."),
	QM(key_additions, "key_additions", COUNTER, "SAs added to the driver (Key Additions)."),
	QM(key_deletions, "key_deletions", COUNTER, "SAs deleted from the driver (Key Deletions)."),
	QM(rekeys, "rekeys", COUNTER, "Child SAs rekeyed (ReKeys)."),
	QM(active_tunnels, "active_tunnels", GAUGE, "Tunnel-mode SAs (Active Tunnels)."),
	QM(bad_spi_packets, "bad_spi_packets", COUNTER, "Inbound packets for an SPI with no SA (Bad SPI Pkts)."),
	QM(packets_not_decrypted, "packets_not_decrypted", COUNTER, "Inbound packets that failed to decrypt (Pkts not Decrypted)."),
	QM(packets_not_authenticated, "packets_not_authenticated", COUNTER, "Inbound packets whose ICV did not verify (Pkts not Authenticated)."),
	QM(packets_with_replay_detection, "packets_with_replay_detection", COUNTER, "Inbound packets replayed or left of the window (Pkts with Replay Detection)."),
	QM(confidential_bytes_sent, "confidential_bytes_sent", COUNTER, "Bytes sent encrypted (Confidential Bytes Sent)."),
	QM(confidential_bytes_received, "confidential_bytes_received", COUNTER, "Bytes received encrypted (Confidential Bytes Received)."),
	QM(authenticated_bytes_sent, "authenticated_bytes_sent", COUNTER, "Bytes sent integrity-protected (Authenticated Bytes Sent)."),
	QM(authenticated_bytes_received, "authenticated_bytes_received", COUNTER, "Bytes received integrity-protected (Authenticated Bytes Received)."),
	QM(transport_bytes_sent, "transport_bytes_sent", COUNTER, "Bytes sent by transport-mode SAs (Transport Bytes Sent)."),
	QM(transport_bytes_received, "transport_bytes_received", COUNTER, "Bytes received by transport-mode SAs (Transport Bytes Received)."),
	QM(bytes_sent_in_tunnels, "bytes_sent_in_tunnels", COUNTER, "Bytes sent by tunnel-mode SAs (Bytes Sent In Tunnels)."),
	QM(bytes_received_in_tunnels, "bytes_received_in_tunnels", COUNTER, "Bytes received by tunnel-mode SAs (Bytes Received In Tunnels)."),
	QM(offloaded_bytes_sent, "offloaded_bytes_sent", COUNTER, "Bytes sent through offloaded SAs; always 0 (Offloaded Bytes Sent)."),
	QM(offloaded_bytes_received, "offloaded_bytes_received", COUNTER, "Bytes received through offloaded SAs; always 0 (Offloaded Bytes Received)."),
};

static const struct metric dp_metrics[] = {
	DP(packets_steered, "packets_steered", "Packets the kernel steered to the data path."),
	DP(packets_encrypted, "packets_encrypted", "Packets sent through an SA."),
	DP(packets_decrypted, "packets_decrypted", "Packets received through an SA."),
	DP(permitted_in_clear, "permitted_in_clear", "Packets a filter permitted in clear."),
	DP(blocked, "blocked", "Packets a filter blocked."),
	DP(no_matching_filter, "no_matching_filter", "Steered packets no filter matched."),
	DP(queued_for_sa, "queued_for_sa", "Packets held until their SA was up."),
	DP(queue_overflow_drops, "queue_overflow_drops", "Held packets dropped: the queue was full."),
	DP(queue_timeout_drops, "queue_timeout_drops", "Held packets dropped: no SA in time."),
	DP(queued_then_sent, "queued_then_sent", "Held packets sent once their SA was up."),
	DP(malformed_packets, "malformed_packets", "Packets the data path could not parse."),
	DP(send_errors, "send_errors", "Packets the data path could not send."),
	DP(tun_write_errors, "tun_write_errors", "Packets the data path could not write to the TUN device."),
};

/* Label values: backslash, double quote and newline escaped (both formats). */
static void label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '"')
			fputs("\\\"", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* The HELP and TYPE lines of one family. OpenMetrics names a counter's
 * family without "_total"; the 0.0.4 format names the sample. */
static void family(FILE *f, const char *name, enum kind kind, const char *help, bool om)
{
	const char *total = kind == COUNTER && !om ? "_total" : "";
	fprintf(f, "# HELP %s%s %s\n", name, total, help);
	fprintf(f, "# TYPE %s%s %s\n", name, total, kind == COUNTER ? "counter" : "gauge");
}

static void block(FILE *f, const char *prefix, const void *stats, const struct metric *m,
                  size_t n, bool om)
{
	char name[96];
	for (size_t i = 0; i < n; i++) {
		uint64_t v;
		memcpy(&v, (const char *)stats + m[i].offset, sizeof(v));
		snprintf(name, sizeof(name), "%s%s", prefix, m[i].name);
		family(f, name, m[i].kind, m[i].help, om);
		fprintf(f, "%s%s %llu\n", name, m[i].kind == COUNTER ? "_total" : "",
		        (unsigned long long)v);
	}
}

static void addr_text(const struct mon_addr *a, char *out, size_t len)
{
	if (a->family != AF_INET && a->family != AF_INET6) {
		snprintf(out, len, "%s", "");
		return;
	}
	if (!inet_ntop(a->family, a->bytes, out, (socklen_t)len))
		snprintf(out, len, "?");
}

/* The labels of one direction of a quick-mode SA. The peer is the far
 * tunnel endpoint in tunnel mode (the gateway an operator knows), else the
 * peer's address. */
static void sa_labels(FILE *f, const struct mon_qm_sa *q, bool inbound)
{
	char peer[INET6_ADDRSTRLEN];
	addr_text(q->tunnel ? &q->peer_tunnel : &q->peer, peer, sizeof(peer));
	fprintf(f, "{spi=\"0x%08x\",direction=\"%s\",peer=\"%s\",rule=\"",
	        inbound ? q->spi_in : q->spi_out, inbound ? "inbound" : "outbound", peer);
	label_value(f, q->rule);
	fprintf(f, "\",protocol=\"%s\",mode=\"%s\"}", q->esp ? "esp" : "ah",
	        q->tunnel ? "tunnel" : "transport");
}

static void per_sa(FILE *f, const struct mon_snapshot *s, const char *name, const char *help,
                   int which, bool om)
{
	family(f, name, COUNTER, help, om);
	for (size_t i = 0; i < s->nqm; i++) {
		const struct mon_qm_sa *q = &s->qm_sas[i];
		for (int in = 1; in >= 0; in--) {
			if (!(in ? q->spi_in : q->spi_out))
				continue;   /* that direction does not exist */
			uint64_t v = which == 0 ? (in ? q->bytes_in : q->bytes_out)
			             : which == 1 ? (in ? q->packets_in : q->packets_out)
			                          : (in ? q->drops_in : q->drops_out);
			fprintf(f, "%s_total", name);
			sa_labels(f, q, in);
			fprintf(f, " %llu\n", (unsigned long long)v);
		}
	}
}

static bool rule_up(const struct mon_snapshot *s, uint32_t id)
{
	for (size_t i = 0; i < s->nqm; i++)
		if (s->qm_sas[i].rule_id == id && (s->qm_sas[i].spi_in || s->qm_sas[i].spi_out))
			return true;
	return false;
}

void mon_render_metrics(FILE *f, const struct mon_snapshot *s, const struct mon_rule *rules,
                        size_t nrules, bool om)
{
	block(f, "secpol_ike_", &s->mm, mm_metrics, sizeof(mm_metrics) / sizeof(mm_metrics[0]),
	      om);
	block(f, "secpol_ipsec_", &s->qm, qm_metrics, sizeof(qm_metrics) / sizeof(qm_metrics[0]),
	      om);
	block(f, "secpol_datapath_", &s->dp, dp_metrics,
	      sizeof(dp_metrics) / sizeof(dp_metrics[0]), om);

	/* The reasons as `show stats format=json` names them (drops.<reason>). */
	family(f, "secpol_datapath_drops", COUNTER, "Packets the data path dropped, by reason.", om);
	for (size_t i = 1; i < s->dp.ndrops && i < 16; i++) {
		char reason[48];
		mon_json_key(s->dp.drop_names[i] ? s->dp.drop_names[i] : "?", reason, sizeof(reason));
		fputs("secpol_datapath_drops_total{reason=\"", f);
		label_value(f, reason);
		fprintf(f, "\"} %llu\n", (unsigned long long)s->dp.drops[i]);
	}

	/* The SAs: how many there are (the series below stop at the
	 * snapshot's capacity), and each direction's traffic. */
	family(f, "secpol_ipsec_quick_mode_sas", GAUGE, "Quick-mode SAs: Child SAs and manual SAs.",
	       om);
	fprintf(f, "secpol_ipsec_quick_mode_sas %zu\n", s->qm_total);
	per_sa(f, s, "secpol_sa_bytes", "Payload bytes through one direction of an SA.", 0, om);
	per_sa(f, s, "secpol_sa_packets", "Packets through one direction of an SA.", 1, om);
	per_sa(f, s, "secpol_sa_drops", "Packets of one direction of an SA dropped (all reasons).",
	       2, om);

	family(f, "secpol_rule_sa_up", GAUGE, "1 while a negotiating rule has an SA up, else 0.",
	       om);
	for (size_t i = 0; i < nrules; i++) {
		fputs("secpol_rule_sa_up{rule=\"", f);
		label_value(f, rules[i].name);
		fputs("\",policy=\"", f);
		label_value(f, rules[i].policy);
		fprintf(f, "\"} %d\n", rule_up(s, rules[i].id) ? 1 : 0);
	}
	if (om)
		fputs("# EOF\n", f);
}
