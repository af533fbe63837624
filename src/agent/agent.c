/*
 * secpold's main thread: start-up in the order that makes the daemon safe
 * to wait for (data path, then policy and steering, then the control
 * socket -- so a script that waits for `secpol dynamic show stats` knows
 * the policy is in force), the event loop (control requests, signals,
 * store changes), and a shutdown that removes what was installed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/control.h"
#include "agent/internal.h"
#include "agent/keying.h"
#include "driver/driver.h"
#include "monitor/diagnostics.h"
#include "monitor/monitor.h"
#include "monitor/events.h"
#include "monitor/names.h"
#include "netsh/netsh.h"

#define STEER_MARK 0x53500001u
#define BYPASS_MARK 0x53500002u
#define ROUTE_TABLE 21328u          /* 0x5350, "SP" */
#define RULE_PRIORITY 1000u

struct agent {
	const struct agent_options *o;
	const char *store_path, *control_path;
	struct store *store;
	struct driver *driver;
	struct steer_config steer;
	bool steer_installed, routes_installed;
	struct compiled_policy policy;
	const struct spd *spd;          /* the driver's (it owns it): `show rulefor` checks it */
	int listen_fd, lock_fd;
	int addr_fd;                    /* netlink: this host's addresses changed */
	uint64_t addr_due_ms;           /* then re-apply the policy at this time (0: not due) */
	int64_t store_mtime[2];
	char apply_error[512];       /* why the last policy application failed ("" if it did not) */
	struct netsh_dynamic ops;
	struct keying keying;
	bool keying_up;
	struct dyn_spd *dyn;            /* `secpol dynamic` objects: memory only */
	struct event_log events;        /* `show events` */
	struct syslog_sink syslog;      /* ... and each of them to syslog */
	struct metrics_server *metrics; /* the endpoint, listening or not */
	char metrics_at[64];            /* where it listens ("none": off), as configured */
	char metrics_error[320];        /* why it does not listen there ("" if it does) */
	uint64_t started_ms;            /* CLOCK_MONOTONIC: the live view's uptime */
	unsigned ipsecexempt;           /* the value in force (read at start only) */
	unsigned exempt_noted;          /* the stored value last logged as waiting */
	/* The driver diagnostics (`set config ipsecdiagnostics`, diagnostics.h). */
	struct {
		unsigned mask;              /* classes summed up; 0: none */
		unsigned interval_s;        /* ipsecloginterval, or --log-interval */
		uint64_t since_ms, due_ms;  /* the interval being counted (CLOCK_MONOTONIC) */
		struct drvdiag_counts last; /* the counts at since_ms */
		struct steer_drops replaced;   /* counted by tables since replaced */
		bool table_counts;          /* the installed table counts its drops */
		bool need_base;             /* `last` could not be read: take it first */
	} diag;
};

static const struct agent_options *log_opts;
/* `set config ikelogging=1`: the IKE engine's detailed lines (debug level)
 * are logged whatever --log-level says -- the Windows Oakley log, switched
 * on and off without restarting the service. */
static bool ike_detail;

static void valog(enum agent_log_level lvl, bool force, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void valog(enum agent_log_level lvl, bool force, const char *fmt, va_list ap)
{
	if (!force && log_opts && lvl > log_opts->log_level)
		return;
	static const char *const names[] = { "error", "warning", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_opts && log_opts->use_syslog) {
		syslog(prio[lvl], "%s", msg);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld secpold[%d] %s: %s\n", tm.tm_hour, tm.tm_min,
	        tm.tm_sec, ts.tv_nsec / 1000000, (int)getpid(), names[lvl], msg);
}

static void alog(enum agent_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void alog(enum agent_log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	valog(lvl, false, fmt, ap);
	va_end(ap);
}

static void alog_force(enum agent_log_level lvl, bool force, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void alog_force(enum agent_log_level lvl, bool force, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	valog(lvl, force, fmt, ap);
	va_end(ap);
}

/* The IKE engine logs with syslog levels; its LOG_INFO and LOG_DEBUG lines
 * (each message sent and received, acquires, retries) are the detail that
 * ikelogging=1 turns on. */
static void ike_log_line(int level, const char *line)
{
	alog_force(level <= LOG_ERR ? LOG_LEVEL_ERROR : level <= LOG_WARNING ? LOG_LEVEL_WARNING
	           : level <= LOG_NOTICE ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG, ike_detail, "%s", line);
}

/* ---- the event log ---- */

static void event_addr(const struct ike_addr *a, char *buf, size_t len)
{
	if (!a->family || !inet_ntop(a->family, a->bytes, buf, (socklen_t)len))
		buf[0] = '\0';
}

/* An IKE event: into the ring for `show events`, and one line to syslog. */
static void agent_event(void *ctx, const struct ike_event *ie)
{
	struct agent *a = ctx;
	static const enum event_kind kinds[] = {
		[IKE_EVENT_IKE_SA_UP] = EVENT_IKE_SA_UP, [IKE_EVENT_IKE_SA_DOWN] = EVENT_IKE_SA_DOWN,
		[IKE_EVENT_CHILD_SA_UP] = EVENT_CHILD_SA_UP,
		[IKE_EVENT_CHILD_SA_DOWN] = EVENT_CHILD_SA_DOWN,
		[IKE_EVENT_IKE_REKEY] = EVENT_IKE_REKEY, [IKE_EVENT_CHILD_REKEY] = EVENT_CHILD_REKEY,
		[IKE_EVENT_FAILURE] = EVENT_FAILURE,
	};
	struct sec_event ev;
	memset(&ev, 0, sizeof(ev));
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	ev.time_s = now.tv_sec;
	ev.time_ms = (uint32_t)(now.tv_nsec / 1000000);
	ev.kind = (unsigned)ie->kind < sizeof(kinds) / sizeof(kinds[0]) ? kinds[ie->kind] : EVENT_FAILURE;
	event_addr(&ie->local, ev.local, sizeof(ev.local));
	event_addr(&ie->remote, ev.peer, sizeof(ev.peer));
	event_set_text(ev.rule, sizeof(ev.rule), ie->rule);
	ev.rule_id = ie->rule_id;
	ev.initiator = ie->initiator;
	ev.ike_spi_i = ie->ike_spi_i;
	ev.ike_spi_r = ie->ike_spi_r;
	ev.old_ike_spi_i = ie->old_ike_spi_i;
	ev.old_ike_spi_r = ie->old_ike_spi_r;
	ev.child = ie->kind == IKE_EVENT_CHILD_SA_UP || ie->kind == IKE_EVENT_CHILD_SA_DOWN ||
	           ie->kind == IKE_EVENT_CHILD_REKEY;
	ev.ah = ie->proto == SA_PROTO_AH;
	ev.tunnel = ie->tunnel;
	ev.spi_in = ie->spi_in;
	ev.spi_out = ie->spi_out;
	ev.old_spi_in = ie->old_spi_in;
	ev.old_spi_out = ie->old_spi_out;
	event_set_text(ev.algs, sizeof(ev.algs), ie->algs);
	event_set_text(ev.reason, sizeof(ev.reason), ie->reason);
	const struct sec_event *kept = event_log_add(&a->events, &ev);
	char line[EVENT_LINE_MAX];
	event_format_line(kept, line, sizeof(line));
	syslog_sink_send(&a->syslog, kept->kind == EVENT_FAILURE ? LOG_WARNING : LOG_NOTICE, line);
}

/* ---- the service's settings (netsh `set config`) ---- */

/* A numeric setting; the default when unset or (a store written by hand)
 * not a number in range. */
static unsigned config_uint(struct store *st, const char *name, unsigned def, unsigned min,
                            unsigned max)
{
	char v[32];
	if (!st || !store_config_get(st, name, v, sizeof(v)))
		return def;
	char *end;
	errno = 0;
	unsigned long x = strtoul(v, &end, 10);
	if (end == v || *end || errno || x < min || x > max)
		return def;
	return (unsigned)x;
}

static uint64_t mono_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

static const char *exempt_text(unsigned v)
{
	static const char *const text[] = { "multicast, broadcast, RSVP, Kerberos, ISAKMP",
	                                    "multicast, broadcast, ISAKMP",
	                                    "RSVP, Kerberos, ISAKMP", "ISAKMP only" };
	return text[v <= 3 ? v : 3];
}

/* Everything the driver diagnostics count, so far. False when the table's
 * counters cannot be read: no summary is better than a wrong one. */
static bool diag_collect(struct agent *a, struct drvdiag_counts *out)
{
	struct driver_stats ds;
	driver_get_stats(a->driver, &ds);
	struct steer_drops nft = a->diag.replaced, now;
	if (a->diag.table_counts) {
		char err[256];
		if (!steer_read_drops(&a->steer, &now, err, sizeof(err))) {
			alog(LOG_LEVEL_WARNING, "driver diagnostics: %s", err);
			return false;
		}
		nft.in_blocked += now.in_blocked;
		nft.in_cleartext += now.in_cleartext;
		nft.out_blocked += now.out_blocked;
	}
	diagnostics_fill(out, &ds, &nft);
	return true;
}

/*
 * The settings that act at once: read whenever the policy is applied --
 * which `secpol dynamic set config` has done right after it wrote the
 * store (the nudge), and other writers within --store-poll. ipsecexempt
 * is the exception: Windows needs a restart for it, and so does secpold
 * (the exemptions are part of every table; the start-up value stays).
 */
static void apply_config(struct agent *a)
{
	bool detail = config_uint(a->store, "ikelogging", 0, 0, 1) == 1;
	if (detail != ike_detail)
		alog_force(LOG_LEVEL_INFO, true, "ikelogging=%d: detailed IKE negotiation log %s",
		           detail, detail ? "on" : "off");
	ike_detail = detail;

	unsigned exempt = config_uint(a->store, "ipsecexempt", 3, 0, 3);
	if (exempt != a->ipsecexempt && exempt != a->exempt_noted)
		alog(LOG_LEVEL_WARNING, "ipsecexempt=%u is in the store; %u (%s) stays in force until "
		     "secpold restarts", exempt, a->ipsecexempt, exempt_text(a->ipsecexempt));
	a->exempt_noted = exempt;

	unsigned mask = config_uint(a->store, "ipsecdiagnostics", 0, 0, 7);
	unsigned interval = a->o->log_interval_s
	                    ? a->o->log_interval_s
	                    : config_uint(a->store, "ipsecloginterval", 3600, 60, 86400);
	if (mask != a->diag.mask || interval != a->diag.interval_s) {
		/* A new setting starts a new interval: what was counted under
		 * the old one is not reported under the new one. */
		uint64_t now = mono_ms();
		a->diag.mask = mask;
		a->diag.interval_s = interval;
		a->diag.since_ms = now;
		a->diag.due_ms = now + (uint64_t)interval * 1000;
		a->diag.need_base = mask && !diag_collect(a, &a->diag.last);
		alog(LOG_LEVEL_INFO, "ipsecdiagnostics=%u: %s%s%s%s%s%s, summed up every %u s", mask,
		     mask ? "" : "no driver diagnostics",
		     mask & DRVDIAG_PROCESSING ? "IPsec processing failures" : "",
		     (mask & DRVDIAG_PROCESSING) && (mask & 6) ? ", " : "",
		     mask & DRVDIAG_INBOUND_POLICY ? "inbound policy drops" : "",
		     (mask & DRVDIAG_INBOUND_POLICY) && (mask & 4) ? ", " : "",
		     mask & DRVDIAG_OUTBOUND_POLICY ? "outbound policy drops" : "", interval);
	}
	/* Only the kernel knows what its table dropped: named counters, in
	 * the table only while someone wants them. */
	a->steer.count_drops = (mask & (DRVDIAG_INBOUND_POLICY | DRVDIAG_OUTBOUND_POLICY)) != 0;
}

/* Once per interval: one event per enabled class that dropped anything
 * since the last summary, with the counts by reason -- into the event log
 * (`show events`), syslog and secpold's log. */
static void diag_summarise(struct agent *a, uint64_t now_ms)
{
	struct drvdiag_counts now, delta;
	a->diag.due_ms = now_ms + (uint64_t)a->diag.interval_s * 1000;
	if (!diag_collect(a, &now))
		return;   /* counted again next time, over the longer interval */
	if (a->diag.need_base) {
		/* No start to count from: this is it (nothing reported twice). */
		a->diag.need_base = false;
		a->diag.last = now;
		a->diag.since_ms = now_ms;
		return;
	}
	drvdiag_delta(&now, &a->diag.last, &delta);
	unsigned secs = (unsigned)((now_ms - a->diag.since_ms + 500) / 1000);
	for (unsigned c = DRVDIAG_PROCESSING; c <= DRVDIAG_OUTBOUND_POLICY; c <<= 1) {
		if (!(a->diag.mask & c) || !drvdiag_class_total(&delta, (enum drvdiag_class)c))
			continue;
		struct sec_event ev;
		memset(&ev, 0, sizeof(ev));
		struct timespec wall;
		clock_gettime(CLOCK_REALTIME, &wall);
		ev.time_s = wall.tv_sec;
		ev.time_ms = (uint32_t)(wall.tv_nsec / 1000000);
		ev.kind = EVENT_DRIVER_SUMMARY;
		ev.diag_class = c;
		ev.interval_s = secs;
		ev.packets = drvdiag_summary(&delta, (enum drvdiag_class)c, secs, ev.reason,
		                             sizeof(ev.reason));
		const struct sec_event *kept = event_log_add(&a->events, &ev);
		char line[EVENT_LINE_MAX];
		event_format_line(kept, line, sizeof(line));
		syslog_sink_send(&a->syslog, LOG_WARNING, line);
		alog(LOG_LEVEL_WARNING, "driver diagnostics: %s", ev.reason);
	}
	a->diag.last = now;
	a->diag.since_ms = now_ms;
}

/* ---- the store and the policy ---- */

/* The store's file and its WAL: a change to either means a writer committed. */
static void store_mtimes(const char *path, int64_t out[2])
{
	char wal[PATH_MAX];
	struct stat st;
	out[0] = stat(path, &st) == 0 ? st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec : 0;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	out[1] = stat(wal, &st) == 0 ? st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec : 0;
}

/* The metrics endpoint where `set config property=metrics` says; while the
 * store has never held the property, where --metrics says (default none).
 * Read whenever the store may have changed, so `set config` (which nudges
 * secpold) takes effect before the command returns. */
static void metrics_apply_config(struct agent *a)
{
	char want[64];
	if (!a->metrics || !store_config_get(a->store, "metrics", want, sizeof(want)))
		snprintf(want, sizeof(want), "%s", a->o->metrics ? a->o->metrics : "none");
	if (!a->metrics || !strcmp(want, a->metrics_at))
		return;
	struct ip_address ip;
	uint16_t port;
	struct diag d;
	diag_init(&d);
	char err[256];
	if (!policy_parse_endpoint("metrics", want, &ip, &port, &d)) {
		alog(LOG_LEVEL_ERROR, "metrics: %s", d.msg);
		port = 0;
	}
	bool ok = metrics_server_listen(a->metrics, &ip, port, err, sizeof(err));
	/* Remembered even when it failed: the same setting is not retried at
	 * every store check, only when it changes (or with SIGHUP). */
	snprintf(a->metrics_at, sizeof(a->metrics_at), "%s", want);
	a->metrics_error[0] = '\0';
	if (!ok) {
		snprintf(a->metrics_error, sizeof(a->metrics_error), "the metrics endpoint is off: "
		         "cannot listen on %.63s: %.200s", want, err);
		alog(LOG_LEVEL_ERROR, "%s", a->metrics_error);
	} else if (port) {
		alog(LOG_LEVEL_INFO, "metrics: serving http://%s/metrics", want);
	} else {
		alog(LOG_LEVEL_INFO, "metrics: the endpoint is off");
	}
}

/* A snapshot of the counters and of the SA views asked for, its arrays as
 * large as the SAs present (bounded): polled views must not hold the
 * bound's worth of memory each time. A quick-mode SA is a Child SA (two
 * driver SAs, or none yet) or one lone driver SA: a few more than the
 * driver has. qm_max caps the quick-mode SAs (0: no cap). */
static bool snapshot(struct agent *a, struct mon_snapshot *s, bool ike, bool qm, bool sa,
                     size_t qm_max, uint64_t ms)
{
	size_t nike = 0, nsa = 0;
	if (ike || qm || sa)
		monitor_counts(a->driver, &a->keying, ms, &nike, &nsa);
	size_t nqm = nsa + 16;
	if (qm_max && nqm > qm_max)
		nqm = qm_max;
	if (!mon_snapshot_init(s, ike ? nike + 1 : 0, qm ? nqm : 0, sa ? nsa + 1 : 0))
		return false;
	monitor_fill(s, a->driver, &a->keying, &a->policy, ms);
	return true;
}

/* One scrape: a snapshot of the quick-mode SAs and counters (the IKE and
 * driver SA lists are not shown), and the policy's negotiating rules. */
static char *render_metrics(void *ctx, bool openmetrics, size_t *len)
{
	struct agent *a = ctx;
	const struct compiled_policy *cp = &a->policy;
	struct mon_snapshot s;
	if (!snapshot(a, &s, false, true, false, 0, mono_ms()))
		return NULL;
	struct mon_rule *rules = calloc(cp->nike ? cp->nike : 1, sizeof(*rules));
	char *out = NULL;
	FILE *f = rules ? open_memstream(&out, len) : NULL;
	if (f) {
		for (size_t i = 0; i < cp->nike; i++) {
			const struct ike_rule *r = &cp->ike_rules[i];
			const char *name = r->name;
			for (size_t k = 0; k < cp->nrule_origin; k++)
				if (cp->rule_origin[k].id == r->id)
					name = cp->rule_origin[k].name;   /* "Default Response Rule" */
			rules[i].id = r->id;
			snprintf(rules[i].name, sizeof(rules[i].name), "%s", name);
			snprintf(rules[i].policy, sizeof(rules[i].policy), "%s",
			         r->id > DYN_RULE_ID_BASE ? "" : cp->name);
		}
		mon_render_metrics(f, &s, rules, cp->nike, openmetrics);
		if (fclose(f) != 0) {
			free(out);
			out = NULL;
		}
	}
	free(rules);
	mon_snapshot_free(&s);
	return out;
}

/* Compiles the assigned policy and puts it in force: SPD first (the
 * authority), then the kernel steering. On failure the running policy
 * stays as it was. */
static bool apply_policy(struct agent *a, const char *why)
{
	struct host_addrs h;
	struct compiled_policy cp;
	char err[512];
	store_mtimes(a->store_path, a->store_mtime);
	metrics_apply_config(a);
	apply_config(a);
	host_addrs_read(&h);
	bool ok = compile_policy(a->store, &h, a->dyn, &cp, err, sizeof(err));
	host_addrs_free(&h);
	a->apply_error[0] = '\0';
	if (!ok) {
		alog(LOG_LEVEL_ERROR, "%s: the policy was not applied: %s", why, err);
		snprintf(a->apply_error, sizeof(a->apply_error), "%s", err);
		return false;
	}
	/* The SPD before the steering: a packet the new table steers must
	 * meet the policy that steered it. If the table cannot be loaded the
	 * SPD still rules every packet that reaches the driver. */
	driver_set_spd(a->driver, cp.spd);
	a->spd = cp.spd;
	cp.spd = NULL;
	/* The table about to be replaced takes its counters with it: what
	 * they hold is kept. (Drops in the moment between this read and the
	 * replacement are not.) */
	struct steer_drops gone = { 0 };
	if (a->diag.table_counts && !steer_read_drops(&a->steer, &gone, err, sizeof(err)))
		alog(LOG_LEVEL_WARNING, "driver diagnostics: %s", err);
	if (!steer_apply(&a->steer, cp.steer, cp.nsteer, err, sizeof(err))) {
		alog(LOG_LEVEL_ERROR, "%s: cannot install the nftables table: %s", why, err);
		snprintf(a->apply_error, sizeof(a->apply_error), "cannot install the nftables table: %.400s",
		         err);
		compiled_policy_free(&cp);
		return false;
	}
	a->steer_installed = true;
	a->diag.replaced.in_blocked += gone.in_blocked;
	a->diag.replaced.in_cleartext += gone.in_cleartext;
	a->diag.replaced.out_blocked += gone.out_blocked;
	a->diag.table_counts = a->steer.count_drops;
	if (a->keying_up) {
		keying_restore_filters(&a->keying);
		char legacy[8] = "0", crl[8] = "1";
		store_config_get(a->store, "allowlegacy", legacy, sizeof(legacy));
		store_config_get(a->store, "strongcrlcheck", crl, sizeof(crl));
		enum cert_crl_mode mode = crl[0] == '0' ? CERT_CRL_OFF
		                          : crl[0] == '2' ? CERT_CRL_STRICT : CERT_CRL_SOFT;
		if (!keying_set_policy(&a->keying, &cp, !strcmp(legacy, "1"), mode, err, sizeof(err)))
			alog(LOG_LEVEL_ERROR, "%s: IKE keeps the previous policy: %s", why, err);
	}
	compiled_policy_free(&a->policy);
	a->policy = cp;
	malloc_trim(0);   /* the old policy's compiled tables: see loop() */
	if (cp.name[0] || cp.dynamic_rules)
		alog(LOG_LEVEL_INFO, "%s: policy '%s' in force: %zu rules (%zu dynamic), %zu one-way "
		     "filters%s%s", why, cp.name[0] ? cp.name : "(none assigned)", cp.rules,
		     cp.dynamic_rules, cp.nsteer,
		     cp.skipped ? " (some filters name servers this host does not know)" : "",
		     cp.other_conntype ? " (some filters are for interfaces of another connection "
		                         "type)" : "");
	else
		alog(LOG_LEVEL_INFO, "%s: no policy is assigned; nothing is filtered", why);
	return true;
}

/* ---- the dynamic context's operations ---- */

/* A dynamic object changed: the static policy and the dynamic rules are
 * compiled again and put in force together (SPD, steering, IKE). */
static bool op_dyn_changed(void *ctx, struct diag *d)
{
	struct agent *a = ctx;
	if (!apply_policy(a, "dynamic change"))
		return diag_error(d, ERR_SERVICE, "The service could not put the change in force: "
		                  "%s.", a->apply_error);
	return true;
}

static size_t op_delete_sas(void *ctx, bool children, const struct ip_address *x,
                            const struct ip_address *y)
{
	struct agent *a = ctx;
	if (!a->keying_up)
		return 0;
	struct sa_address sx, sy;
	if (x) {
		sx.family = x->family;
		memcpy(sx.bytes, x->bytes, 16);
	}
	if (y) {
		sy.family = y->family;
		memcpy(sy.bytes, y->bytes, 16);
	}
	size_t n = ike_engine_delete_sas(a->keying.engine, children, x ? &sx : NULL,
	                                 y ? &sy : NULL, mono_ms());
	alog(LOG_LEVEL_INFO, "delete %s: %zu deleted, the peers told", children ? "qmsas" : "mmsas",
	     n);
	return n;
}

/* The compiled one-way filters, as `show mmfilter/qmfilter type=specific` lists them. */
static size_t op_specific_filters(void *ctx, struct netsh_specific_filter **out)
{
	struct agent *a = ctx;
	const struct compiled_policy *cp = &a->policy;
	*out = calloc(cp->nsteer ? cp->nsteer : 1, sizeof(**out));
	if (!*out)
		return (size_t)-1;
	for (size_t i = 0; i < cp->nsteer; i++) {
		const struct steer_rule *s = &cp->steer[i];
		struct spd_filter f = { .family = s->family, .src_len = s->src_len,
		                        .dst_len = s->dst_len, .protocol = s->protocol,
		                        .src_port = s->src_port, .dst_port = s->dst_port,
		                        .dir = s->dir, .action = s->action,
		                        .tunnel = cp->origin[i].tunnel };
		memcpy(f.src, s->src, 16);
		memcpy(f.dst, s->dst, 16);
		struct netsh_specific_filter *x = &(*out)[i];
		x->rule_id = cp->origin[i].rule_id;
		x->inbound = s->dir == SPD_INBOUND;
		x->src.family = x->dst.family = s->family;
		memcpy(x->src.bytes, s->src, 16);
		memcpy(x->dst.bytes, s->dst, 16);
		x->src_len = s->src_len;
		x->dst_len = s->dst_len;
		x->protocol = s->protocol;
		x->src_port = s->src_port;
		x->dst_port = s->dst_port;
		x->action = s->action;
		x->tunnel = f.tunnel;
		x->weight = spd_weight(&f);
	}
	return cp->nsteer;
}

static bool op_add_sa(void *ctx, const struct child_sa_config *c, bool direction_given,
                      struct diag *d)
{
	struct agent *a = ctx;
	struct child_sa_config cc = *c;
	if (!direction_given) {
		/* One SA per direction: an SA towards one of our addresses is
		 * inbound, one from our address outbound (as the kernel decides
		 * for `ip xfrm state`). */
		struct host_addrs h;
		host_addrs_read(&h);
		struct ip_address src = { .family = c->sa.src.family };
		struct ip_address dst = { .family = c->sa.dst.family };
		memcpy(src.bytes, c->sa.src.bytes, 16);
		memcpy(dst.bytes, c->sa.dst.bytes, 16);
		bool in = host_addrs_is_me(&h, &dst), out = host_addrs_is_me(&h, &src);
		host_addrs_free(&h);
		if (in == out)
			return diag_error(d, ERR_BAD_VALUE, "Cannot tell the direction of the SA: %s "
			                  "of this host. Give direction=inbound|outbound.",
			                  in ? "both ends are addresses" : "neither end is an address");
		cc.sa.inbound = in;
	}
	/* DES, MD5 and NULL encryption only with `set config allowlegacy=1`. */
	char legacy[8] = "0";
	store_config_get(a->store, "allowlegacy", legacy, sizeof(legacy));
	cc.sa.allow_legacy = !strcmp(legacy, "1");
	char err[256];
	if (!driver_sa_add(a->driver, &cc, err, sizeof(err)))
		return diag_error(d, ERR_BAD_VALUE, "The SA was not added: %s.", err);
	alog(LOG_LEVEL_INFO, "manual SA 0x%08x (%s) added", c->sa.spi,
	     cc.sa.inbound ? "inbound" : "outbound");
	return true;
}

static bool op_delete_sa(void *ctx, bool all, uint32_t spi, const struct ip_address *dst,
                         uint8_t proto, struct diag *d)
{
	struct agent *a = ctx;
	if (all) {
		size_t n = driver_sa_flush(a->driver);
		alog(LOG_LEVEL_INFO, "%zu SAs deleted", n);
		return true;
	}
	struct sa_address sd = { .family = dst->family };
	memcpy(sd.bytes, dst->bytes, 16);
	if (!driver_sa_delete(a->driver, spi, &sd, (enum sa_proto)proto))
		return diag_error(d, ERR_BAD_VALUE, "There is no %s SA with SPI 0x%08x for that "
		                  "destination.", proto == SA_PROTO_AH ? "AH" : "ESP", spi);
	alog(LOG_LEVEL_INFO, "manual SA 0x%08x deleted", spi);
	return true;
}

static const struct event_log *op_event_log(void *ctx)
{
	struct agent *a = ctx;
	return &a->events;
}

static void op_show_ike(void *ctx, FILE *out, const char *what)
{
	struct agent *a = ctx;
	uint64_t ms = mono_ms();
	(void)what;   /* "ikesas": failures are a monitor view (op_show_monitor) */
	ike_engine_show_sas(a->keying.engine, out, ms);
}

static bool op_show_rulefor(void *ctx, const struct netsh_packet *q, struct netsh_rulefor *r,
                            struct diag *d)
{
	struct agent *a = ctx;
	struct spd_packet p = { .family = q->src.family, .protocol = q->protocol,
	                        .src_port = q->src_port, .dst_port = q->dst_port };
	memcpy(p.src, q->src.bytes, 16);
	memcpy(p.dst, q->dst.bytes, 16);
	r->inbound = q->inbound;
	r->dir_reason = RULEFOR_DIR_GIVEN;
	if (!q->direction_given) {
		/* Outbound from this host, inbound to it; a packet that is
		 * neither is forwarded, and looked up as it leaves. */
		struct host_addrs h;
		host_addrs_read(&h);
		bool src_me = host_addrs_is_me(&h, &q->src), dst_me = host_addrs_is_me(&h, &q->dst);
		host_addrs_free(&h);
		r->inbound = dst_me && !src_me;
		r->dir_reason = src_me ? RULEFOR_FROM_HOST : dst_me ? RULEFOR_TO_HOST
		                                                    : RULEFOR_FORWARDED;
	}
	uint64_t ms = mono_ms();
	char err[512];
	if (!rulefor_explain(&a->policy, a->spd, a->keying.filters,
	                     a->keying_up ? a->keying.nfilters : 0, ms, &p,
	                     r->inbound ? SPD_INBOUND : SPD_OUTBOUND, r, err, sizeof(err)))
		return diag_error(d, ERR_SERVICE, "The IPsec service cannot answer: %s.", err);
	return true;
}

/* `show sa|stats|mmsas|qmsas`: one snapshot, then the view. The snapshot
 * is taken under the driver's lock and rendered without it. */
static void op_show_monitor(void *ctx, FILE *out, const struct netsh_show *q)
{
	struct agent *a = ctx;
	if (!strcmp(q->object, "sa") && q->format == NETSH_FORMAT_LIST) {
		driver_sa_show(a->driver, out);   /* the list keeps its own layout */
		return;
	}
	uint64_t ms = mono_ms();
	enum mon_format fmt = q->format == NETSH_FORMAT_JSON ? MON_JSON
	                      : q->format == NETSH_FORMAT_TABLE ? MON_TABLE : MON_LIST;
	if (!strcmp(q->object, "failures")) {
		/* ~25 KiB: not on the stack of the control thread. */
		struct mon_failures *fl = malloc(sizeof(*fl));
		if (!fl) {
			fprintf(out, "Out of memory.\n");
			return;
		}
		monitor_failures(fl, &a->keying, ms);
		mon_render_failures(out, fl, fmt, q->wide);
		free(fl);
		return;
	}
	bool sas = strcmp(q->object, "stats") != 0;
	struct mon_snapshot s;
	if (!snapshot(a, &s, sas, sas, sas, 0, ms)) {
		fprintf(out, "Out of memory.\n");
		return;
	}
	struct mon_filter flt = { .has_src = q->has_src, .has_dst = q->has_dst,
	                          .resolvedns = q->resolvedns };
	flt.src.family = q->src.family;
	memcpy(flt.src.bytes, q->src.bytes, 16);
	flt.dst.family = q->dst.family;
	memcpy(flt.dst.bytes, q->dst.bytes, 16);
	if (!strcmp(q->object, "stats")) {
		unsigned which = !strcasecmp(q->type, "ike") ? MON_STATS_IKE
		                 : !strcasecmp(q->type, "ipsec") ? MON_STATS_IPSEC : MON_STATS_ALL;
		mon_render_stats(out, &s, which, fmt, q->wide);
	} else if (!strcmp(q->object, "mmsas")) {
		mon_render_mmsas(out, &s, &flt, fmt, q->wide);
	} else if (!strcmp(q->object, "qmsas")) {
		mon_render_qmsas(out, &s, &flt, fmt, q->wide);
	} else {
		mon_render_sas(out, &s, fmt, q->wide);
	}
	mon_snapshot_free(&s);
}

/* CONTROL_MONITOR: the live view's one document per refresh. Its SAs are
 * capped lower than `show qmsas` (a screen shows a few dozen; the total
 * still counts every one), which keeps the answer small at any rate. */
#define LIVE_QM_MAX 2048

static void monitor_view(struct agent *a, FILE *out)
{
	struct mon_snapshot s;
	struct mon_live_info info;
	uint64_t ms = mono_ms();
	if (!snapshot(a, &s, false, true, false, LIVE_QM_MAX, ms)) {
		fprintf(out, "Out of memory.\n");
		return;
	}
	memset(&info, 0, sizeof(info));
	info.has_policy = a->policy.name[0] != '\0';
	snprintf(info.policy, sizeof(info.policy), "%s", a->policy.name);
	info.uptime_s = (ms - a->started_ms) / 1000;
	mon_render_live(out, &s, &info);
	mon_snapshot_free(&s);
}

/* ---- the control socket ---- */

static int control_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	mkdir(dirname(dir), 0755);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* A socket file left by a daemon that died: the lock proves no other
	 * secpold serves this store, but another store's daemon might serve
	 * this path -- only remove it when nobody answers. */
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(probe);
		close(fd);
		snprintf(err, errlen, "another secpold answers on %s", path);
		return -1;
	}
	if (probe >= 0)
		close(probe);
	unlink(path);
	mode_t old = umask(0177);   /* root only: the socket is created 0600 */
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 16) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Length of the command's first two words (verb and object): the rest may
 * hold keys, tagged or positional, and is never logged. */
static int command_words(const char *line)
{
	int words = 0;
	size_t n = 0;
	while (line[n] && n < 60) {
		if (line[n] == ' ' && ++words == 2)
			break;
		n++;
	}
	return (int)n;
}

static void serve_one(struct agent *a, int fd)
{
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	static char line[CONTROL_MAX_REQUEST + 1];
	size_t len;
	const char *why;
	if (!control_read_request(fd, line, &len, &why)) {
		alog(LOG_LEVEL_WARNING, "control request refused: %s", why);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || cred.uid != 0) {
		static const char denied[] = "ERR IPsec[00005] : Access is denied: secpol dynamic "
		                             "commands need root.\n";
		alog(LOG_LEVEL_WARNING, "control request from uid %d refused", (int)cred.uid);
		control_write_response(fd, false, "", 0, denied, sizeof(denied) - 1);
		return;
	}
	if (!strcmp(line, CONTROL_NUDGE)) {
		/* The CLI changed the store: apply it now rather than at the
		 * next poll, and answer only then, so that the command returns
		 * with the change in force (or says why it is not). */
		bool ok = apply_policy(a, "store changed (nudged)");
		char msg[600];
		/* In force, but a metrics endpoint that cannot listen is worth
		 * a warning where the administrator set it. */
		int n = !ok ? snprintf(msg, sizeof(msg), "%s\n", a->apply_error)
		        : a->metrics_error[0] ? snprintf(msg, sizeof(msg), "%s\n", a->metrics_error)
		                              : 0;
		control_write_response(fd, ok, "", 0, msg, (size_t)n);
		return;
	}
	char *out = NULL, *err = NULL;
	size_t outlen = 0, errlen = 0;
	FILE *fo = open_memstream(&out, &outlen), *fe = open_memstream(&err, &errlen);
	bool ok = false;
	if (fo && fe && !strcmp(line, CONTROL_MONITOR)) {
		monitor_view(a, fo);
		ok = true;
	} else if (fo && fe) {
		struct netsh_session ns;
		netsh_session_init(&ns, a->store_path, fo, fe);
		ns.dynamic = &a->ops;
		/* Only the command words: the rest may hold keys, never logged. */
		alog(LOG_LEVEL_DEBUG, "control: %.*s", command_words(line), line);
		ok = netsh_exec_dynamic(&ns, line);
		netsh_session_finish(&ns);
	}
	if (fo)
		fclose(fo);
	if (fe)
		fclose(fe);
	control_write_response(fd, ok, out ? out : "", out ? outlen : 0, err ? err : "",
	                       err ? errlen : 0);
	free(out);
	free(err);
}

/* ---- start-up and shutdown ---- */

static int take_lock(const char *state_dir, const char *store, char *err, size_t errlen)
{
	/* The lock is per store: a second secpold on the same store would
	 * fight the first over the steering table and the SAs. It lives in
	 * the state directory, named after the store's path. */
	char path[PATH_MAX + 64], name[PATH_MAX / 2];
	char resolved[PATH_MAX];
	const char *s = realpath(store, resolved) ? resolved : store;
	size_t k = 0;
	for (; *s && k + 1 < sizeof(name); s++)
		name[k++] = *s == '/' ? '_' : *s;
	name[k] = '\0';
	mkdir(state_dir, 0755);
	snprintf(path, sizeof(path), "%s/secpold%s.lock", state_dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open the lock file %.200s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char pid[32] = "";
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errlen, "another secpold (pid %s) is running on the store %s",
		         pid[0] ? pid : "?", store);
		close(fd);
		return -1;
	}
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) < 0) {
		/* the lock holds; the pid is only for the message above */
	}
	return fd;
}

/*
 * The boot mode (netsh `set config bootmode`) says what the host does while
 * no policy is in force: `stateful` lets the host's own traffic and its
 * answers through, `block` only the boot exemptions, `permit` everything.
 * Windows applies it between boot and policy application; secpold installs
 * its table on start-up until the policy's table replaces it, and a
 * `block` table stays when secpold stops, so the host stays closed until
 * secpold runs again.
 */
static bool boot_table(struct agent *a, bool stopping)
{
	char mode[32] = "stateful", list[1024] = "none", err[256];
	if (!a->store)
		return false;
	store_config_get(a->store, "bootmode", mode, sizeof(mode));
	store_config_get(a->store, "bootexemptions", list, sizeof(list));
	bool stateful = !strcmp(mode, "stateful");
	if (!strcmp(mode, "permit") || (stopping && stateful))
		return false;
	struct boot_exemption be[POLICY_MAX_BOOT_EXEMPTIONS];
	struct steer_exemption se[POLICY_MAX_BOOT_EXEMPTIONS];
	size_t n = 0;
	struct diag d;
	diag_init(&d);
	if (!policy_parse_boot_exemptions(list, be, POLICY_MAX_BOOT_EXEMPTIONS, &n, &d)) {
		alog(LOG_LEVEL_WARNING, "bootexemptions in the store are not valid (%s): none used",
		     d.msg);
		n = 0;
	}
	for (size_t i = 0; i < n; i++)
		se[i] = (struct steer_exemption){ .protocol = be[i].protocol,
		                                  .src_port = be[i].src_port,
		                                  .dst_port = be[i].dst_port,
		                                  .dir = be[i].inbound ? SPD_INBOUND : SPD_OUTBOUND };
	if (!steer_apply_boot(&a->steer, stateful, se, n, err, sizeof(err))) {
		alog(LOG_LEVEL_ERROR, "cannot install the bootmode=%s table: %s", mode, err);
		return false;
	}
	a->diag.table_counts = false;
	alog(LOG_LEVEL_INFO, "bootmode=%s: %s table installed with %zu exemptions", mode,
	     stopping ? "the host stays closed: a" : "until the policy applies, a", n);
	a->steer_installed = true;
	return true;
}

/* "me", the connection types and the routes to tunnel endpoints are read
 * when the policy is compiled: an address that comes or goes (a dial-up
 * link, DHCP) compiles it again. */
static int watch_addresses(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (fd < 0)
		return -1;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
	                          .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR };
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads what the kernel said (only that something changed matters) and
 * schedules a compile shortly after: a link coming up adds its addresses
 * in several messages. */
static void addresses_changed(struct agent *a, uint64_t now_ms)
{
	char buf[8192];
	for (int i = 0; i < 256 && recv(a->addr_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0; i++)
		;
	if (!a->addr_due_ms)
		a->addr_due_ms = now_ms + 300;
}

static void shutdown_agent(struct agent *a)
{
	char err[256];
	if (a->addr_fd >= 0)
		close(a->addr_fd);
	if (a->metrics) {
		struct metrics_server_stats ms;
		metrics_server_get_stats(a->metrics, &ms);
		alog(LOG_LEVEL_DEBUG, "metrics: %llu scrapes, %llu errors, %llu refused, %llu timed out",
		     (unsigned long long)ms.scrapes, (unsigned long long)ms.errors,
		     (unsigned long long)ms.refused, (unsigned long long)ms.timeouts);
		metrics_server_free(a->metrics);
		a->metrics = NULL;
	}
	if (a->listen_fd >= 0) {
		close(a->listen_fd);
		unlink(a->control_path);
	}
	/* Steering first: once the table is gone (or the boot table has
	 * replaced it) no packet is routed into a TUN device that is about to
	 * disappear. */
	if (a->steer_installed && !boot_table(a, true) && !steer_remove(&a->steer, err, sizeof(err)))
		alog(LOG_LEVEL_WARNING, "removing the nftables table: %s", err);
	if (a->routes_installed && !route_remove(&a->steer, err, sizeof(err)))
		alog(LOG_LEVEL_WARNING, "removing the policy routes: %s", err);
	/* IKE before the driver: the Deletes to the peers leave through it. */
	if (a->keying_up)
		keying_stop(&a->keying);
	driver_stop(a->driver);
	/* The resolver thread of resolvedns=yes, if a show started it: a
	 * lookup in progress is not waited for beyond MON_NAMES_STOP_MS. */
	if (!mon_names_shutdown())
		alog(LOG_LEVEL_DEBUG, "a reverse DNS lookup was still running at the stop");
	compiled_policy_free(&a->policy);
	store_close(a->store);
	if (a->lock_fd >= 0)
		close(a->lock_fd);
}

static bool start(struct agent *a)
{
	const struct agent_options *o = a->o;
	char err[512];
	struct diag d;
	diag_init(&d);
	if ((a->lock_fd = take_lock(o->state_dir, a->store_path, err, sizeof(err))) < 0) {
		alog(LOG_LEVEL_ERROR, "%s", err);
		return false;
	}
	if (!(a->store = store_open(a->store_path, &d))) {
		alog(LOG_LEVEL_ERROR, "cannot open the store %s: %s", a->store_path, d.msg);
		return false;
	}
	boot_table(a, false);
	/* The default exemptions hold for this run (ipsecexempt needs a restart). */
	a->ipsecexempt = config_uint(a->store, "ipsecexempt", 3, 0, 3);
	a->steer.exempt = steer_exempt_classes(a->ipsecexempt);
	alog(LOG_LEVEL_INFO, "ipsecexempt=%u: exempt from IPsec filtering: %s", a->ipsecexempt,
	     exempt_text(a->ipsecexempt));
	struct driver_config dc = { .tun = o->tun, .mtu = o->mtu, .bypass_mark = BYPASS_MARK,
	                            .queue_len = 16, .queue_ms = 3000, .exempt = a->steer.exempt };
	if (!(a->driver = driver_start(&dc, err, sizeof(err)))) {
		alog(LOG_LEVEL_ERROR, "cannot start the data path: %s", err);
		return false;
	}
	if (!keying_start(&a->keying, a->driver, &a->steer, BYPASS_MARK, ike_log_line, err,
	                  sizeof(err))) {
		alog(LOG_LEVEL_ERROR, "cannot start IKE: %s", err);
		return false;
	}
	a->keying_up = true;
	a->keying.event = agent_event;
	a->keying.event_ctx = a;
	if (!route_install(&a->steer, err, sizeof(err))) {
		alog(LOG_LEVEL_ERROR, "cannot install the policy routes: %s", err);
		return false;
	}
	a->routes_installed = true;
	/* Before the first compile: no change between the two is missed. */
	if ((a->addr_fd = watch_addresses()) < 0)
		alog(LOG_LEVEL_WARNING, "cannot watch the host's addresses: %s; address changes "
		     "apply with the next policy change", strerror(errno));
	if (!(a->metrics = metrics_server_new(render_metrics, a))) {
		alog(LOG_LEVEL_ERROR, "cannot start the metrics endpoint: %s", strerror(errno));
		return false;
	}
	snprintf(a->metrics_at, sizeof(a->metrics_at), "none");
	if (!apply_policy(a, "start"))
		return false;
	if ((a->listen_fd = control_listen(a->control_path, err, sizeof(err))) < 0) {
		alog(LOG_LEVEL_ERROR, "%s", err);
		return false;
	}
	alog(LOG_LEVEL_INFO, "ready: store %s, control %s, TUN %s", a->store_path,
	     a->control_path, o->tun);
	if (o->ready_fd >= 0) {
		if (write(o->ready_fd, "R", 1) < 0) {
			/* the parent gave up waiting: nothing to tell */
		}
		close(o->ready_fd);
	}
	return true;
}

static void loop(struct agent *a, int sfd)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = a->listen_fd };
	epoll_ctl(ep, EPOLL_CTL_ADD, a->listen_fd, &ev);
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	int kfds[KEYING_FDS];
	size_t nk = keying_fds(&a->keying, kfds);
	for (size_t i = 0; i < nk; i++) {
		ev.data.fd = kfds[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, kfds[i], &ev);
	}
	if (a->addr_fd >= 0) {
		ev.data.fd = a->addr_fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, a->addr_fd, &ev);
	}
	int mfd = metrics_server_fd(a->metrics);
	ev.data.fd = mfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, mfd, &ev);
	uint64_t ike_wait = UINT64_MAX;
	uint64_t last_store_check = 0, last_trim = 0;
	for (;;) {
		struct epoll_event e[8];
		int timeout = (int)a->o->poll_ms;
		if (ike_wait < (uint64_t)timeout)
			timeout = (int)ike_wait;
		if (a->diag.mask) {
			uint64_t t = mono_ms();
			uint64_t left = a->diag.due_ms > t ? a->diag.due_ms - t : 0;
			if (left < (uint64_t)timeout)
				timeout = (int)left;
		}
		if (a->addr_due_ms && timeout > 300)
			timeout = 300;   /* a compile is due within that */
		int mt = metrics_server_timeout_ms(a->metrics, mono_ms());
		if (mt >= 0 && mt < timeout)
			timeout = mt;    /* a metrics client's deadline */
		int n = epoll_wait(ep, e, 8, timeout);
		ike_wait = keying_serve(&a->keying, -1, &a->policy);
		for (int i = 0; i < n; i++) {
			bool ours = false;
			for (size_t k = 0; k < nk; k++)
				ours = ours || e[i].data.fd == kfds[k];
			if (ours) {
				ike_wait = keying_serve(&a->keying, e[i].data.fd, &a->policy);
				continue;
			}
			if (e[i].data.fd == mfd) {
				metrics_server_serve(a->metrics, mono_ms());
				continue;
			}
			if (e[i].data.fd == a->addr_fd) {
				addresses_changed(a, mono_ms());
				continue;
			}
			if (e[i].data.fd == sfd) {
				struct signalfd_siginfo si;
				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP) {
					a->metrics_at[0] = '\0';   /* a failed listen is tried again */
					apply_policy(a, "SIGHUP");
					continue;
				}
				alog(LOG_LEVEL_INFO, "signal %u: stopping", si.ssi_signo);
				close(ep);
				return;
			}
			int c = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0) {
				serve_one(a, c);
				close(c);
			}
		}
		/* IKE traffic wakes the loop often: the store is checked at
		 * its own pace. */
		uint64_t ms = mono_ms();
		metrics_server_expire(a->metrics, ms);
		if (a->diag.mask && ms >= a->diag.due_ms)
			diag_summarise(a, ms);
		if (a->addr_due_ms && ms >= a->addr_due_ms) {
			a->addr_due_ms = 0;
			apply_policy(a, "addresses changed");
		}
		/* SAs come and go in bursts (policy changes, rekeys, a peer's
		 * restart): glibc keeps the freed memory in its arenas, and the
		 * daemon's footprint would stay at the largest burst it saw.
		 * Give it back once a minute -- and after a policy change, the
		 * largest burst there is (apply_policy). */
		if (ms - last_trim >= 60000) {
			last_trim = ms;
			malloc_trim(0);
		}
		if (ms - last_store_check < a->o->poll_ms)
			continue;
		last_store_check = ms;
		int64_t m[2];
		store_mtimes(a->store_path, m);
		if (m[0] != a->store_mtime[0] || m[1] != a->store_mtime[1])
			apply_policy(a, "store changed");
	}
}

int agent_run(const struct agent_options *o)
{
	struct agent a;
	memset(&a, 0, sizeof(a));
	a.o = o;
	log_opts = o;
	a.listen_fd = a.lock_fd = a.addr_fd = -1;
	a.started_ms = mono_ms();
	char perr[256];
	if (!agent_drop_privileges(perr, sizeof(perr))) {
		alog(LOG_LEVEL_ERROR, "%s", perr);
		return 1;
	}
	const char *env = getenv("SECPOL_STORE");
	a.store_path = o->store ? o->store : env && env[0] ? env : STORE_DEFAULT_PATH;
	a.control_path = control_path(o->control);
	a.steer = (struct steer_config){ .table = "secpol", .tun = o->tun,
	                                 .steer_mark = STEER_MARK, .bypass_mark = BYPASS_MARK,
	                                 .route_table = ROUTE_TABLE,
	                                 .rule_priority = RULE_PRIORITY, .mtu = o->mtu };
	a.ops = (struct netsh_dynamic){ .ctx = &a, .add_sa = op_add_sa, .delete_sa = op_delete_sa,
	                                .show_monitor = op_show_monitor,
	                                .show_ike = op_show_ike, .show_rulefor = op_show_rulefor,
	                                .dyn_changed = op_dyn_changed,
	                                .delete_sas = op_delete_sas,
	                                .specific_filters = op_specific_filters,
	                                .event_log = op_event_log };
	/* Dynamic objects start empty on every start (netsh-ipsec.md §4). */
	a.dyn = malloc(sizeof(*a.dyn));
	if (!a.dyn) {
		alog(LOG_LEVEL_ERROR, "out of memory");
		return 1;
	}
	dyn_init(a.dyn);
	a.ops.dyn = a.dyn;
	syslog_sink_init(&a.syslog, o->syslog_socket, "secpold", LOG_DAEMON);
	if (!event_log_init(&a.events, EVENT_LOG_CAPACITY)) {
		alog(LOG_LEVEL_ERROR, "out of memory for the event log");
		return 1;
	}
	if (o->use_syslog)
		openlog("secpold", LOG_PID, LOG_DAEMON);
	/* Signals are read from a signalfd by the main loop; blocked before
	 * the workers start so that they never take one. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	int status = 1;
	if (sfd >= 0 && start(&a)) {
		loop(&a, sfd);
		status = 0;
	}
	shutdown_agent(&a);
	crypto_wipe(a.dyn, sizeof(*a.dyn));   /* preshared keys */
	free(a.dyn);
	if (sfd >= 0)
		close(sfd);
	/* After shutdown: stopping IKE records the SAs going down. */
	event_log_free(&a.events);
	syslog_sink_close(&a.syslog);
	alog(LOG_LEVEL_INFO, "stopped");
	return status;
}
