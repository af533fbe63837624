/*
 * `show stats`: the main-mode and quick-mode counters under their Windows
 * labels (ip-security-monitor.md §5), then secpol's data-path block. One
 * list of (label, JSON key, value) per block feeds all three formats, so
 * list, table and JSON can never disagree on a counter.
 */
#include <stdio.h>
#include <string.h>

#include "monitor/table.h"
#include "monitor/view.h"

/* struct mon_counter (view.h): label as Windows prints it, JSON key
 * (docs/monitor-json.md), and where the value lives -- a pointer, so the
 * live view's reader fills a snapshot from JSON through the same tables. */
#define counter mon_counter
#define MAX_COUNTERS MON_MAX_COUNTERS

static size_t mm_counters(const struct mon_mm_stats *m, struct counter *c)
{
	const struct counter all[] = {
		{ "Active Acquire", "active_acquire", &m->active_acquire },
		{ "Active Receive", "active_receive", &m->active_receive },
		{ "Acquire Failures", "acquire_failures", &m->acquire_failures },
		{ "Receive Failures", "receive_failures", &m->receive_failures },
		{ "Send Failures", "send_failures", &m->send_failures },
		{ "Acquire Heap Size", "acquire_heap_size", &m->acquire_heap_size },
		{ "Receive Heap Size", "receive_heap_size", &m->receive_heap_size },
		{ "Negotiation Failures", "negotiation_failures", &m->negotiation_failures },
		{ "Authentication Failures", "authentication_failures", &m->authentication_failures },
		{ "Invalid Cookies Rcvd", "invalid_cookies_received", &m->invalid_cookies_received },
		{ "Total Acquire", "total_acquire", &m->total_acquire },
		{ "TotalGetSpi", "total_get_spi", &m->total_get_spi },
		{ "TotalKeyAdd", "total_key_add", &m->total_key_add },
		{ "KeyAddFail", "key_add_fail", &m->key_add_fail },
		{ "IsadbListSize", "isadb_list_size", &m->isadb_list_size },
		{ "ConnListSize", "conn_list_size", &m->conn_list_size },
		{ "Oakley Main Mode", "oakley_main_mode", &m->oakley_main_mode },
		{ "Oakley Quick Mode", "oakley_quick_mode", &m->oakley_quick_mode },
		{ "Soft Associations", "soft_associations", &m->soft_associations },
		{ "Invalid Packets Rcvd", "invalid_packets_received", &m->invalid_packets_received },
		/* secpol's own, after the Windows set */
		{ "Total Receive", "total_receive", &m->total_receive },
		{ "Active IKE SAs", "active_ike_sas", &m->active_ike_sas },
		{ "Retransmissions", "retransmissions", &m->retransmissions },
		{ "Cookies Sent", "cookies_sent", &m->cookies_sent },
		{ "Fragmented Messages", "fragmented_messages", &m->fragmented_messages },
		{ "Reassembled Messages", "reassembled_messages", &m->reassembled_messages },
	};
	size_t n = sizeof(all) / sizeof(all[0]);
	memcpy(c, all, sizeof(all));
	return n;
}

static size_t qm_counters(const struct mon_qm_stats *q, struct counter *c)
{
	const struct counter all[] = {
		{ "Active Associations", "active_associations", &q->active_associations },
		{ "Offload SAs", "offload_sas", &q->offload_sas },
		{ "Pending Key Operations", "pending_key_operations", &q->pending_key_operations },
		{ "Key Additions", "key_additions", &q->key_additions },
		{ "Key Deletions", "key_deletions", &q->key_deletions },
		{ "ReKeys", "rekeys", &q->rekeys },
		{ "Active Tunnels", "active_tunnels", &q->active_tunnels },
		{ "Bad SPI Pkts", "bad_spi_packets", &q->bad_spi_packets },
		{ "Pkts not Decrypted", "packets_not_decrypted", &q->packets_not_decrypted },
		{ "Pkts not Authenticated", "packets_not_authenticated", &q->packets_not_authenticated },
		{ "Pkts with Replay Detection", "packets_with_replay_detection",
		  &q->packets_with_replay_detection },
		{ "Confidential Bytes Sent", "confidential_bytes_sent", &q->confidential_bytes_sent },
		{ "Confidential Bytes Received", "confidential_bytes_received",
		  &q->confidential_bytes_received },
		{ "Authenticated Bytes Sent", "authenticated_bytes_sent", &q->authenticated_bytes_sent },
		{ "Authenticated Bytes Received", "authenticated_bytes_received",
		  &q->authenticated_bytes_received },
		{ "Transport Bytes Sent", "transport_bytes_sent", &q->transport_bytes_sent },
		{ "Transport Bytes Received", "transport_bytes_received", &q->transport_bytes_received },
		{ "Bytes Sent In Tunnels", "bytes_sent_in_tunnels", &q->bytes_sent_in_tunnels },
		{ "Bytes Received In Tunnels", "bytes_received_in_tunnels",
		  &q->bytes_received_in_tunnels },
		{ "Offloaded Bytes Sent", "offloaded_bytes_sent", &q->offloaded_bytes_sent },
		{ "Offloaded Bytes Received", "offloaded_bytes_received", &q->offloaded_bytes_received },
	};
	memcpy(c, all, sizeof(all));
	return sizeof(all) / sizeof(all[0]);
}

static size_t dp_counters(const struct mon_datapath_stats *p, struct counter *c)
{
	const struct counter all[] = {
		{ "Packets Steered", "packets_steered", &p->packets_steered },
		{ "Packets Encrypted", "packets_encrypted", &p->packets_encrypted },
		{ "Packets Decrypted", "packets_decrypted", &p->packets_decrypted },
		{ "Permitted In Clear", "permitted_in_clear", &p->permitted_in_clear },
		{ "Blocked", "blocked", &p->blocked },
		{ "No Matching Filter", "no_matching_filter", &p->no_matching_filter },
		{ "Queued For SA", "queued_for_sa", &p->queued_for_sa },
		{ "Queue Overflow Drops", "queue_overflow_drops", &p->queue_overflow_drops },
		{ "Queue Timeout Drops", "queue_timeout_drops", &p->queue_timeout_drops },
		{ "Queued Then Sent", "queued_then_sent", &p->queued_then_sent },
		{ "Malformed Packets", "malformed_packets", &p->malformed_packets },
		{ "Send Errors", "send_errors", &p->send_errors },
		{ "TUN Write Errors", "tun_write_errors", &p->tun_write_errors },
	};
	memcpy(c, all, sizeof(all));
	return sizeof(all) / sizeof(all[0]);
}

/* The drop reasons: "Dropped: <reason>" in text, drops.<reason> in JSON. */
static size_t drop_counters(const struct mon_datapath_stats *p, struct counter *c,
                            char labels[][48], char keys[][48])
{
	size_t n = 0;
	for (size_t i = 1; i < p->ndrops && i < 16 && n < MAX_COUNTERS; i++) {
		const char *name = p->drop_names[i] ? p->drop_names[i] : "?";
		snprintf(labels[n], 48, "Dropped: %s", name);
		mon_json_key(name, keys[n], 48);
		c[n] = (struct counter){ labels[n], keys[n], &p->drops[i] };
		n++;
	}
	return n;
}

static void list_block(FILE *f, const char *title, const char *dashes, const struct counter *c,
                       size_t n)
{
	fprintf(f, "%s\n%s\n", title, dashes);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%-*s: %llu\n", MON_STATS_WIDTH, c[i].label,
		        (unsigned long long)*c[i].value);
}

static void table_block(FILE *f, const char *title, const struct counter *c, size_t n,
                        bool wide)
{
	const char *head[2] = { title, "Value" };
	struct table *t = table_new(2, head);
	if (!t) {
		fprintf(f, "Out of memory.\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char v[24];
		snprintf(v, sizeof(v), "%llu", (unsigned long long)*c[i].value);
		const char *row[2] = { c[i].label, v };
		table_row(t, row);
	}
	table_print(f, t, wide);
	table_free(t);
}

static void json_block(struct json *j, const char *key, const struct counter *c, size_t n)
{
	json_object_begin(j, key);
	for (size_t i = 0; i < n; i++)
		json_u64(j, c[i].key, *c[i].value);
}

size_t mon_stats_block(const struct mon_snapshot *s, enum mon_stats_block block,
                       struct mon_counter *out)
{
	switch (block) {
	case MON_BLOCK_MAIN_MODE: return mm_counters(&s->mm, out);
	case MON_BLOCK_QUICK_MODE: return qm_counters(&s->qm, out);
	case MON_BLOCK_DATA_PATH: return dp_counters(&s->dp, out);
	}
	return 0;
}

void mon_json_stats(struct json *j, const struct mon_snapshot *s, unsigned which)
{
	struct counter mm[MAX_COUNTERS], qm[MAX_COUNTERS], dp[MAX_COUNTERS], dr[MAX_COUNTERS];
	char labels[MAX_COUNTERS][48], keys[MAX_COUNTERS][48];
	size_t nmm = mm_counters(&s->mm, mm), nqm = qm_counters(&s->qm, qm);
	size_t ndp = dp_counters(&s->dp, dp), ndr = drop_counters(&s->dp, dr, labels, keys);
	if (which & MON_STATS_IKE) {
		json_block(j, "main_mode", mm, nmm);
		json_object_end(j);
	}
	if (which & MON_STATS_IPSEC) {
		json_block(j, "quick_mode", qm, nqm);
		json_object_end(j);
		json_block(j, "data_path", dp, ndp);
		json_block(j, "drops", dr, ndr);
		json_object_end(j);
		json_object_end(j);
	}
}

void mon_render_stats(FILE *f, const struct mon_snapshot *s, unsigned which,
                      enum mon_format fmt, bool wide)
{
	struct counter mm[MAX_COUNTERS], qm[MAX_COUNTERS], dp[MAX_COUNTERS], dr[MAX_COUNTERS];
	char labels[MAX_COUNTERS][48], keys[MAX_COUNTERS][48];
	size_t nmm = mm_counters(&s->mm, mm), nqm = qm_counters(&s->qm, qm);
	size_t ndp = dp_counters(&s->dp, dp), ndr = drop_counters(&s->dp, dr, labels, keys);
	bool ike = which & MON_STATS_IKE, ipsec = which & MON_STATS_IPSEC;
	if (fmt == MON_JSON) {
		struct json j;
		json_init(&j, f);
		json_object_begin(&j, NULL);
		json_u64(&j, "schema_version", MON_SCHEMA_VERSION);
		json_string(&j, "view", "stats");
		json_i64(&j, "taken_at", s->taken_at);
		mon_json_stats(&j, s, which);
		json_object_end(&j);
		json_finish(&j);
		return;
	}
	/* Text: the data path's drop reasons follow its other counters. */
	memcpy(dp + ndp, dr, ndr * sizeof(*dr));
	ndp += ndr;
	const struct {
		bool on;
		const char *title, *dashes;
		const struct counter *c;
		size_t n;
	} blocks[] = {
		/* The dashes as ip-security-monitor.md §5 draws them (one more
		 * than the title under the main-mode block). */
		{ ike, "IKE Main Mode Statistics", "-------------------------", mm, nmm },
		{ ipsec, "IPsec Quick Mode Statistics", "---------------------------", qm, nqm },
		{ ipsec, "secpol Data Path Statistics", "---------------------------", dp, ndp },
	};
	bool first = true;
	for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); b++) {
		if (!blocks[b].on)
			continue;
		if (!first)
			fputc('\n', f);
		first = false;
		if (fmt == MON_TABLE)
			table_block(f, blocks[b].title, blocks[b].c, blocks[b].n, wide);
		else
			list_block(f, blocks[b].title, blocks[b].dashes, blocks[b].c, blocks[b].n);
	}
}
