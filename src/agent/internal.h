/* Private to secpold: compiling the assigned policy, and the daemon's parts. */
#ifndef SECPOL_AGENT_INTERNAL_H
#define SECPOL_AGENT_INTERNAL_H

#include "driver/steer.h"
#include "ike/ike.h"
#include "netsh/netsh.h"
#include "spd/spd.h"
#include "store/store.h"
#include "monitor/monitor.h"

/* The host's own addresses ("me"), and the servers the keywords name. */
struct host_addrs {
	struct ip_address *me;
	enum conn_type *me_kind;       /* of each: CONN_DIALUP on a point-to-point
	                                * interface (PPP, tunnels), else CONN_LAN */
	size_t nme;
	struct ip_address *dns;        /* from /etc/resolv.conf */
	size_t ndns;
	struct ip_address *gateway;    /* default routes' next hops */
	size_t ngateway;
};
/* Gives up every capability but CAP_NET_ADMIN, CAP_NET_RAW and
 * CAP_NET_BIND_SERVICE, for good (privileges.c). Before any thread. */
bool agent_drop_privileges(char *err, size_t errlen);

bool host_addrs_read(struct host_addrs *h);
void host_addrs_free(struct host_addrs *h);
bool host_addrs_is_me(const struct host_addrs *h, const struct ip_address *a);
/* The kind of interface traffic to remote leaves by: that of the source
 * address the kernel's routing picks; CONN_ALL if there is no route. */
enum conn_type host_addrs_route_kind(const struct host_addrs *h, const struct ip_address *remote);
/* The kind of the interface that holds a, CONN_ALL if it is not ours. */
enum conn_type host_addrs_kind(const struct host_addrs *h, const struct ip_address *a);

/* Where a one-way filter came from (`show rulefor`): steer[i]'s is origin[i]. */
struct filter_origin {
	uint32_t rule_id;
	uint32_t filter_no;            /* its filter in the rule's filter list, from 1 */
	uint8_t mirror;                /* enum netsh_mirror */
	bool tunnel;                   /* of a tunnel rule: a term of the weight */
};

/* A rule of the policy by id, with the names `show rulefor` prints. */
struct rule_origin {
	uint32_t id;
	char name[POLICY_NAME_MAX];
	char filterlist[POLICY_NAME_MAX], filteraction[POLICY_NAME_MAX];
	bool is_default, inpass, soft, has_tunnel;
	struct ip_address tunnel;
};

/* The assigned policy, compiled. */
struct compiled_policy {
	char name[POLICY_NAME_MAX];    /* "" when no policy is assigned */
	size_t rules;                  /* active rules compiled */
	struct spd *spd;               /* always set on success (possibly empty) */
	struct steer_rule *steer;      /* one-way filters in evaluation order */
	struct filter_origin *origin;  /* of each of them */
	size_t nsteer;
	struct rule_origin *rule_origin;   /* the active rules, the default response rule too */
	size_t nrule_origin;
	size_t skipped;                /* filters whose addresses expanded to nothing */
	size_t other_conntype;         /* filters of rules for interfaces this traffic does not use */
	size_t dynamic_rules;          /* of rules: `secpol dynamic add rule`'s */
	/* What IKE needs: the Negotiate rules and the main-mode settings. */
	struct ike_rule *ike_rules;
	size_t nike;
	struct mm_methods mm;
	uint32_t mmlifetime_s;
};

/* Reads the assigned policy from the store and compiles it with the
 * dynamic rules of dyn (NULL: none), which get their own rule ids. */
bool compile_policy(struct store *st, const struct host_addrs *h, struct dyn_spd *dyn,
                    struct compiled_policy *out, char *err, size_t errlen);
void compiled_policy_free(struct compiled_policy *c);

/* `show rulefor`: the packet p in direction dir as the policy cp decides
 * it, filling r (not its direction fields). The run-time filters rt[0..nrt)
 * come first, as the driver checks them (at now_ms: a soft association's
 * time left); then cp's one-way filters in evaluation order, the first that
 * matches -- checked against spd_lookup() on spd, the SPD in force. False,
 * with err, when the two disagree: no answer is better than a wrong one. */
struct keying_filter;
bool rulefor_explain(const struct compiled_policy *cp, const struct spd *spd,
                     const struct keying_filter *rt, size_t nrt, uint64_t now_ms,
                     const struct spd_packet *p, enum spd_dir dir, struct netsh_rulefor *r,
                     char *err, size_t errlen);

/* The IP Security Monitor's snapshot (monitor/monitor.h) of the running
 * service: counters of the IKE engine and the driver, the IKE SAs, the
 * quick-mode SAs (Child SAs joined with their driver SAs and the policy's
 * names) and the driver's SAs, each into s's arrays as far as they reach.
 * Never a key. now_ms: CLOCK_MONOTONIC, the engine's clock. */
struct mon_snapshot;
struct keying;
struct driver;
/* How many IKE SAs and driver SAs there are now (at most what a snapshot
 * holds): the capacities to give mon_snapshot_init(). */
void monitor_counts(struct driver *d, const struct keying *k, uint64_t now_ms, size_t *ike,
                    size_t *sa);
void monitor_fill(struct mon_snapshot *s, struct driver *d, const struct keying *k,
                  const struct compiled_policy *cp, uint64_t now_ms);
/* `show failures`: the IKE engine's last failed negotiations (none when
 * keying is not running). */
struct mon_failures;
void monitor_failures(struct mon_failures *out, const struct keying *k, uint64_t now_ms);

/* The metrics endpoint (docs/metrics.md): HTTP/1.1 GET /metrics served from
 * secpold's loop, never blocking it. render returns the body (malloc'd; NULL:
 * out of memory) of one scrape. */
#define METRICS_MAX_CLIENTS 8          /* served at once; more are closed at accept */
#define METRICS_CLIENT_MS 5000         /* from accept to the last byte */
#define METRICS_RESPONSE_MAX (64u << 20)
typedef char *(*metrics_render_fn)(void *ctx, bool openmetrics, size_t *len);
struct metrics_server;
struct metrics_server_stats {
	uint64_t scrapes, errors, refused, timeouts;
	size_t clients;                /* being served now */
};
struct metrics_server *metrics_server_new(metrics_render_fn render, void *ctx);
void metrics_server_free(struct metrics_server *m);
/* The descriptor the loop watches: readable when serve has work. */
int metrics_server_fd(const struct metrics_server *m);
/* Listens on ip:port (port 0: stops listening); the same address again
 * keeps the socket and its clients. False with err: not listening. */
bool metrics_server_listen(struct metrics_server *m, const struct ip_address *ip, uint16_t port,
                           char *err, size_t errlen);
void metrics_server_serve(struct metrics_server *m, uint64_t now_ms);
/* Drops the clients past their deadline; the loop calls it every round. */
void metrics_server_expire(struct metrics_server *m, uint64_t now_ms);
/* Until the next deadline; -1: no client. */
int metrics_server_timeout_ms(const struct metrics_server *m, uint64_t now_ms);
void metrics_server_get_stats(const struct metrics_server *m, struct metrics_server_stats *s);

/* The driver diagnostics' counts (monitor/diagnostics.h) from the data
 * path's counters and the nftables table's drop counters (nft: NULL when
 * the table does not count them). Both only grow, so deltas of two fills
 * are the drops between them. */
struct driver_stats;
struct drvdiag_counts;
void diagnostics_fill(struct drvdiag_counts *out, const struct driver_stats *ds,
                      const struct steer_drops *nft);

/* Splits [lo, hi] (network order, family-sized) into prefixes; returns how
 * many were written (at most max). */
size_t range_to_prefixes(uint8_t family, const uint8_t *lo, const uint8_t *hi,
                         struct ip_address *out, uint8_t *len, size_t max);

#endif
