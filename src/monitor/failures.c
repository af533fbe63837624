/*
 * `show failures`: the last negotiations that failed -- with whom, under
 * which rule, at which step and why -- in list, table and JSON form
 * (docs/monitor-json.md). The IKE engine keeps the last MON_FAILURES_MAX;
 * `total` counts every one since secpold started, so a reader sees how
 * many were not kept.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "monitor/table.h"
#include "monitor/view.h"

#define RULE_LINE "-----------------------------------------------------------------------"

/* The engine's failures never exceed the array; a bad count is clamped
 * rather than read past the end. */
static size_t kept(const struct mon_failures *s)
{
	return s->n < MON_FAILURES_MAX ? s->n : MON_FAILURES_MAX;
}

static void not_kept_note(FILE *f, const struct mon_failures *s)
{
	if (s->total > kept(s))
		fprintf(f, "(%llu earlier failure(s) not kept)\n",
		        (unsigned long long)(s->total - kept(s)));
}

/* A reason or rule name for a terminal: control characters (a peer's
 * identity can be part of a reason) become '?'. JSON escapes them instead. */
static const char *printable(const char *in, char *out, size_t cap)
{
	size_t i = 0;
	for (; in[i] && i + 1 < cap; i++)
		out[i] = (unsigned char)in[i] < 0x20 || in[i] == 0x7f ? '?' : in[i];
	out[i] = '\0';
	return out;
}

static void failures_json(FILE *f, const struct mon_failures *s)
{
	struct json j;
	json_init(&j, f);
	json_object_begin(&j, NULL);
	json_u64(&j, "schema_version", MON_SCHEMA_VERSION);
	json_string(&j, "view", "failures");
	json_i64(&j, "taken_at", s->taken_at);
	json_u64(&j, "total", s->total);
	json_bool(&j, "truncated", s->total > kept(s));
	json_array_begin(&j, "failures");
	for (size_t i = 0; i < kept(s); i++) {
		const struct mon_failure *x = &s->f[i];
		char buf[INET6_ADDRSTRLEN], step[sizeof(x->step)];
		json_object_begin(&j, NULL);
		json_u64(&j, "age_s", x->age_s);
		if (x->peer.family)
			json_string(&j, "peer", mon_addr_text(&x->peer, buf, sizeof(buf)));
		else
			json_null(&j, "peer");
		json_u64(&j, "peer_port", x->peer_port);
		json_u64(&j, "rule_id", x->rule_id);
		json_string(&j, "rule", x->rule);
		/* "Child SA" -> "child_sa": a stable token, not the label. */
		mon_json_key(x->step, step, sizeof(step));
		json_string(&j, "step", step);
		json_string(&j, "reason", x->reason);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_finish(&j);
}

void mon_render_failures(FILE *f, const struct mon_failures *s, enum mon_format fmt, bool wide)
{
	if (fmt == MON_JSON) {
		failures_json(f, s);
		return;
	}
	size_t n = kept(s);
	if (!n) {
		fprintf(f, "No failed negotiations.\n");
		not_kept_note(f, s);
		return;
	}
	if (fmt == MON_TABLE) {
		static const char *const head[] = { "Age (s)", "Peer", "Rule", "Step", "Reason" };
		struct table *t = table_new(5, head);
		if (!t) {
			fprintf(f, "Out of memory.\n");
			return;
		}
		for (size_t i = 0; i < n; i++) {
			const struct mon_failure *x = &s->f[i];
			char age[24], peer[INET6_ADDRSTRLEN], rule[MON_NAME_MAX], why[MON_REASON_MAX];
			snprintf(age, sizeof(age), "%llu", (unsigned long long)x->age_s);
			const char *row[] = { age, mon_addr_text(&x->peer, peer, sizeof(peer)),
			                      x->rule[0] ? printable(x->rule, rule, sizeof(rule)) : "NONE",
			                      x->step, printable(x->reason, why, sizeof(why)) };
			table_row(t, row);
		}
		table_print(f, t, wide);
		table_free(t);
	} else {
		/* One line a failure, as the log says it: scripts and the soak
		 * grep "peer <addr> rule <name> step <step>: <why>". */
		char at[32];
		mon_time_text(s->taken_at, at, sizeof(at));
		fprintf(f, "Failed Negotiations at %s\n%s\n", at, RULE_LINE);
		for (size_t i = 0; i < n; i++) {
			const struct mon_failure *x = &s->f[i];
			char peer[INET6_ADDRSTRLEN], rule[MON_NAME_MAX], why[MON_REASON_MAX];
			fprintf(f, "%6llu s ago: peer %s rule %s step %s: %s\n",
			        (unsigned long long)x->age_s, mon_addr_text(&x->peer, peer, sizeof(peer)),
			        x->rule[0] ? printable(x->rule, rule, sizeof(rule)) : "-", x->step,
			        printable(x->reason, why, sizeof(why)));
		}
	}
	fprintf(f, "%zu Failed Negotiation(s)\n", n);
	not_kept_note(f, s);
}
