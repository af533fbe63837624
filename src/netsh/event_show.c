/*
 * `show events`: the negotiation event log of the running service, newest
 * last, in the three layouts (netsh-ipsec.md §5.1; json with the fixed
 * lower_snake_case keys of the syslog line, so a script reads both alike).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "monitor/diagnostics.h"
#include "monitor/events.h"
#include "monitor/json.h"
#include "netsh/internal.h"

static void event_time(const struct sec_event *ev, char *buf, size_t cap)
{
	char t[32];
	format_time(ev->time_s, t, sizeof(t));
	snprintf(buf, cap, "%s.%03u", t, ev->time_ms % 1000);
}

static const char *role_text(const struct sec_event *ev)
{
	return ev->ike_spi_i || ev->ike_spi_r ? (ev->initiator ? "Initiator" : "Responder") : "NONE";
}

static void events_list(FILE *f, const struct event_log *l, size_t first, size_t held)
{
	list_header(f, "Negotiation Events");
	for (size_t i = first; i < held; i++) {
		const struct sec_event *ev = event_log_at(l, i);
		char t[48];
		event_time(ev, t, sizeof(t));
		if (i > first)
			fputc('\n', f);
		list_field(f, "Event", "%s", event_kind_name(ev->kind));
		list_field(f, "Sequence", "%llu", (unsigned long long)ev->seq);
		list_field(f, "Time", "%s", t);
		list_field(f, "Peer", "%s", none_if_empty(ev->peer));
		list_field(f, "Me", "%s", none_if_empty(ev->local));
		list_field(f, "Rule Name", "%s", none_if_empty(ev->rule));
		list_field(f, "Role", "%s", role_text(ev));
		if (ev->ike_spi_i || ev->ike_spi_r)
			list_field(f, "IKE SPIs", "%016llx_i %016llx_r", (unsigned long long)ev->ike_spi_i,
			           (unsigned long long)ev->ike_spi_r);
		if (ev->kind == EVENT_IKE_REKEY)
			list_field(f, "Replaced IKE SPIs", "%016llx_i %016llx_r",
			           (unsigned long long)ev->old_ike_spi_i,
			           (unsigned long long)ev->old_ike_spi_r);
		if (ev->child) {
			list_field(f, "Protocol", "%s", ev->ah ? "AH" : "ESP");
			list_field(f, "Mode", "%s", ev->tunnel ? "Tunnel" : "Transport");
			list_field(f, "SPI In", "0x%08x", ev->spi_in);
			list_field(f, "SPI Out", "0x%08x", ev->spi_out);
		}
		if (ev->kind == EVENT_CHILD_REKEY)
			list_field(f, "Replaced SPIs", "0x%08x in, 0x%08x out", ev->old_spi_in,
			           ev->old_spi_out);
		if (ev->kind == EVENT_DRIVER_SUMMARY) {
			list_field(f, "Class", "%s",
			           drvdiag_class_name((enum drvdiag_class)ev->diag_class));
			list_field(f, "Packets", "%llu", (unsigned long long)ev->packets);
			list_field(f, "Interval", "%u seconds", ev->interval_s);
		} else {
			list_field(f, "Algorithms", "%s", none_if_empty(ev->algs));
		}
		if (ev->kind == EVENT_FAILURE || ev->kind == EVENT_IKE_SA_DOWN ||
		    ev->kind == EVENT_CHILD_SA_DOWN || ev->kind == EVENT_DRIVER_SUMMARY)
			list_field(f, "Reason", "%s", none_if_empty(ev->reason));
	}
	fprintf(f, "\n%zu Event(s)\n", held - first);
}

static void events_table(FILE *f, const struct event_log *l, size_t first, size_t held,
                         bool wide)
{
	static const char *const head[] = { "Seq", "Time", "Event", "Peer", "Rule Name",
	                                    "SPI In", "SPI Out", "Reason" };
	struct table *t = table_new(sizeof(head) / sizeof(head[0]), head);
	if (!t)
		return;
	for (size_t i = first; i < held; i++) {
		const struct sec_event *ev = event_log_at(l, i);
		char seq[24], when[48], in[16] = "", out[16] = "";
		snprintf(seq, sizeof(seq), "%llu", (unsigned long long)ev->seq);
		event_time(ev, when, sizeof(when));
		if (ev->child) {
			snprintf(in, sizeof(in), "0x%08x", ev->spi_in);
			snprintf(out, sizeof(out), "0x%08x", ev->spi_out);
		}
		const char *row[] = { seq, when, event_kind_name(ev->kind), none_if_empty(ev->peer),
		                      none_if_empty(ev->rule), none_if_empty(in), none_if_empty(out),
		                      none_if_empty(ev->reason) };
		table_row(t, row);
	}
	table_print(f, t, wide);
	table_free(t);
}

static void json_spi64(struct json *j, const char *key, uint64_t v)
{
	char s[24];
	snprintf(s, sizeof(s), "%016llx", (unsigned long long)v);
	json_string(j, key, s);
}

static void json_spi32(struct json *j, const char *key, uint32_t v)
{
	char s[16];
	snprintf(s, sizeof(s), "%08x", v);
	json_string(j, key, s);
}

static void events_json(FILE *f, const struct event_log *l, size_t first, size_t held)
{
	struct json j;
	json_init(&j, f);
	json_object_begin(&j, NULL);
	json_u64(&j, "total", l->total);
	json_u64(&j, "shown", held - first);
	json_array_begin(&j, "events");
	for (size_t i = first; i < held; i++) {
		const struct sec_event *ev = event_log_at(l, i);
		json_object_begin(&j, NULL);
		json_u64(&j, "seq", ev->seq);
		json_i64(&j, "time", ev->time_s);
		json_u64(&j, "time_ms", ev->time_ms);
		json_string(&j, "event", event_kind_name(ev->kind));
		json_string(&j, "peer", ev->peer);
		json_string(&j, "local", ev->local);
		json_string(&j, "rule", ev->rule);
		json_u64(&j, "rule_id", ev->rule_id);
		if (ev->ike_spi_i || ev->ike_spi_r) {
			json_string(&j, "role", ev->initiator ? "initiator" : "responder");
			json_spi64(&j, "ike_spi_i", ev->ike_spi_i);
			json_spi64(&j, "ike_spi_r", ev->ike_spi_r);
		}
		if (ev->kind == EVENT_IKE_REKEY) {
			json_spi64(&j, "old_ike_spi_i", ev->old_ike_spi_i);
			json_spi64(&j, "old_ike_spi_r", ev->old_ike_spi_r);
		}
		if (ev->child) {
			json_string(&j, "proto", ev->ah ? "AH" : "ESP");
			json_string(&j, "mode", ev->tunnel ? "tunnel" : "transport");
			json_spi32(&j, "spi_in", ev->spi_in);
			json_spi32(&j, "spi_out", ev->spi_out);
		}
		if (ev->kind == EVENT_CHILD_REKEY) {
			json_spi32(&j, "old_spi_in", ev->old_spi_in);
			json_spi32(&j, "old_spi_out", ev->old_spi_out);
		}
		if (ev->kind == EVENT_DRIVER_SUMMARY) {
			json_string(&j, "class",
			            drvdiag_class_name((enum drvdiag_class)ev->diag_class));
			json_u64(&j, "packets", ev->packets);
			json_u64(&j, "interval_s", ev->interval_s);
		}
		json_string(&j, "algs", ev->algs);
		json_string(&j, "reason", ev->reason);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_finish(&j);
}

bool show_events_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	const char *v;
	uint32_t count = EVENT_LOG_CAPACITY;
	enum netsh_format fmt = NETSH_FORMAT_LIST;
	bool wide = true;
	if ((v = arg(a, "count")) &&
	    !policy_parse_uint("count", v, 1, EVENT_LOG_CAPACITY, &count, d))
		return false;
	int f = (int)fmt;
	if (!show_format(a, &f, d))
		return false;
	fmt = (enum netsh_format)f;
	if ((v = arg(a, "wide")) && !policy_parse_bool("wide", v, &wide, d))
		return false;
	if (!ns->dynamic || !ns->dynamic->event_log)
		return diag_error(d, ERR_SERVICE, "The IPsec service is not running.");
	const struct event_log *l = ns->dynamic->event_log(ns->dynamic->ctx);
	size_t held = event_log_held(l);
	size_t first = held > count ? held - count : 0;
	if (fmt == NETSH_FORMAT_JSON)
		events_json(ns->out, l, first, held);
	else if (first == held)
		fprintf(ns->out, "No events found.\n");
	else if (fmt == NETSH_FORMAT_TABLE)
		events_table(ns->out, l, first, held, wide);
	else
		events_list(ns->out, l, first, held);
	return true;
}
