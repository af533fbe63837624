/*
 * monitor — the IP Security Monitor's data model (ip-security-monitor.md):
 * one snapshot of the running service, filled by secpold (agent) from the
 * IKE engine and the data path, and rendered by every view: `secpol
 * dynamic show stats|mmsas|qmsas|sa` in list, table and JSON form, and
 * anything else that watches the service (metrics, a live view).
 *
 * A snapshot is plain data: copied out under the engine's and the driver's
 * locks, then rendered without them, so a slow reader never holds up the
 * packet path. It never holds key material -- SPIs, cookies, algorithm names
 * and counters only.
 *
 * Counter names follow the Windows labels (§3.4 and §4.4 of the spec); each
 * is backed by a real count in the IKE engine or the data path. Counters
 * that cannot be real here are documented where they are defined, not
 * printed as a constant.
 */
#ifndef SECPOL_MONITOR_H
#define SECPOL_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MON_NAME_MAX 256        /* rule and policy names (POLICY_NAME_MAX) */
#define MON_ID_MAX 160          /* an identity: an address or a certificate subject */
#define MON_ALG_MAX 24          /* "AES-GCM-128", "HMAC-SHA256-128" */

/* An address of either family; family 0: none (e.g. no tunnel endpoint). */
struct mon_addr {
	uint8_t family;             /* AF_INET, AF_INET6 or 0 */
	uint8_t bytes[16];
};

/* Main-mode (IKE) statistics, §3.4. Cumulative since secpold started
 * unless marked "current". */
struct mon_mm_stats {
	uint64_t active_acquire;          /* current: IKE SAs we initiate, not yet up */
	uint64_t active_receive;          /* current: responder IKE SAs half open */
	uint64_t acquire_failures;
	uint64_t receive_failures;
	uint64_t send_failures;           /* the engine's and the agent's socket errors */
	uint64_t acquire_heap_size;       /* current: data-path queues holding packets for an SA */
	uint64_t receive_heap_size;       /* current: IKE fragment reassemblies in progress */
	uint64_t negotiation_failures;
	uint64_t authentication_failures;
	uint64_t invalid_cookies_received;
	uint64_t total_acquire;
	uint64_t total_get_spi;           /* inbound Child SA SPIs IKE chose */
	uint64_t total_key_add;           /* SAs (each direction) IKE added to the driver */
	uint64_t key_add_fail;            /* Child SA installs the driver refused */
	uint64_t isadb_list_size;         /* current: IKE SAs in any state */
	uint64_t conn_list_size;          /* current: Child SA negotiations in flight */
	uint64_t oakley_main_mode;        /* IKE SAs established */
	uint64_t oakley_quick_mode;       /* Child SAs established */
	uint64_t soft_associations;
	uint64_t invalid_packets_received;
	/* Project extensions. */
	uint64_t total_receive;           /* IKE messages received */
	uint64_t active_ike_sas;          /* current: established or not (= isadb_list_size) */
	uint64_t retransmissions;
	uint64_t cookies_sent;            /* RFC 7296 §2.6 COOKIE challenges */
	uint64_t fragmented_messages, reassembled_messages;   /* RFC 7383 */
	/* Windows' TotalKeyUpdate, KeyUpdateFail and GetSpiFail have no
	 * counterpart: IKEv2 here installs both directions of a Child SA in one
	 * step (no SPI reserved first and keyed later), and choosing an SPI
	 * cannot fail (a taken one shows as a refused install, key_add_fail). */
};

/* Quick-mode (IPsec) statistics, §4.4, and the data path's own block. */
struct mon_qm_stats {
	uint64_t active_associations;     /* current: SAs in the driver, each direction */
	uint64_t offload_sas;             /* current: always 0, no crypto offload (see docs) */
	uint64_t pending_key_operations;  /* current: Child SA negotiations in flight */
	uint64_t key_additions, key_deletions;   /* SAs added to / deleted from the driver */
	uint64_t rekeys;
	uint64_t active_tunnels;          /* current: tunnel-mode SAs */
	uint64_t bad_spi_packets;
	uint64_t packets_not_decrypted;   /* cipher failures and bad padding */
	uint64_t packets_not_authenticated;
	uint64_t packets_with_replay_detection;   /* replayed or left of the window */
	uint64_t confidential_bytes_sent, confidential_bytes_received;
	uint64_t authenticated_bytes_sent, authenticated_bytes_received;
	uint64_t transport_bytes_sent, transport_bytes_received;
	uint64_t bytes_sent_in_tunnels, bytes_received_in_tunnels;
	uint64_t offloaded_bytes_sent, offloaded_bytes_received;   /* always 0 */
};

/* What the driver did with every packet (project extension). */
struct mon_datapath_stats {
	uint64_t packets_steered, packets_encrypted, packets_decrypted;
	uint64_t permitted_in_clear, blocked, no_matching_filter;
	uint64_t queued_for_sa, queue_overflow_drops, queue_timeout_drops, queued_then_sent;
	uint64_t malformed_packets, send_errors, tun_write_errors;
	uint64_t drops[16];               /* by enum sa_drop; [0] unused */
	const char *drop_names[16];       /* sa_drop_name() of each (static strings) */
	size_t ndrops;                    /* entries used, DROP_COUNT */
};

enum mon_auth { MON_AUTH_NONE, MON_AUTH_PSK, MON_AUTH_CERT };

/* One IKE (main-mode) SA, §3.5. */
struct mon_ike_sa {
	struct mon_addr me, peer;
	uint16_t me_port, peer_port;      /* 500, or 4500 (NAT-T) */
	uint64_t cookie_i, cookie_r;      /* the IKE SPIs: Windows' cookie pair */
	enum mon_auth auth;               /* how the peer proved itself; NONE until it did */
	char me_id[MON_ID_MAX], peer_id[MON_ID_MAX];   /* "" until authenticated */
	char encryption[MON_ALG_MAX], integrity[MON_ALG_MAX], prf[MON_ALG_MAX];
	uint16_t dh_group;                /* IKE group number; 0 until negotiated */
	bool initiator;
	char state[16];                   /* "init-sent", "auth-sent", "half-open",
	                                   * "established", "deleting", "dead" */
	uint32_t rule_id;
	char rule[MON_NAME_MAX];          /* "" when the rule is gone */
	bool encap, nat;                  /* UDP 4500; because of a NAT (else forced) */
	uint64_t age_s;
	uint64_t lifetime_s;              /* mmlifetime; 0: none */
	uint64_t lifetime_left_s;         /* until the rekey is due; 0: none or due */
	uint32_t child_sas;               /* its Child SAs */
};

enum mon_direction { MON_DIR_BOTH, MON_DIR_INBOUND, MON_DIR_OUTBOUND };

/* One quick-mode SA, §4.5: a Child SA (both directions) negotiated by IKE,
 * or one manually keyed SA (one direction). */
struct mon_qm_sa {
	bool negotiated;                  /* by IKE; false: `add sa` */
	enum mon_direction direction;     /* BOTH for a Child SA */
	/* The traffic it carries, this host's side first. */
	struct mon_addr me, peer;
	uint8_t me_len, peer_len;         /* prefix lengths */
	uint8_t protocol;                 /* 0: any */
	uint16_t me_port, peer_port;      /* 0: any */
	bool tunnel;
	struct mon_addr me_tunnel, peer_tunnel;   /* tunnel mode only */
	uint32_t rule_id;                 /* 0: manual */
	char rule[MON_NAME_MAX];          /* "" for manual SAs or a rule that is gone */
	char policy[MON_NAME_MAX];        /* the filter action (QM policy); "" when unknown */
	/* The offer used. */
	bool esp;                         /* ESP; false: AH */
	char ah_integrity[MON_ALG_MAX];   /* "None" with ESP */
	char esp_confidentiality[MON_ALG_MAX];   /* "None" with AH */
	char esp_integrity[MON_ALG_MAX];  /* "None" with AH or an AEAD cipher */
	uint16_t pfs_group;               /* 0: no PFS (or unknown for manual SAs) */
	uint64_t lifetime_kb, lifetime_s; /* the hard limits; 0: none */
	uint64_t remaining_kb, remaining_s;   /* before the hard limit (the busier direction) */
	bool encap;                       /* ESP in UDP (RFC 3948) */
	uint16_t encap_me_port, encap_peer_port;
	uint32_t spi_in, spi_out;         /* 0: that direction does not exist */
	uint64_t packets_in, packets_out, bytes_in, bytes_out;   /* payload bytes */
	uint64_t drops_in, drops_out;     /* packets of the SA dropped (all reasons) */
	uint64_t age_s;
	bool rekey_due;                   /* a soft limit was crossed */
};

/* One SA of the driver, one direction (`show sa`). */
struct mon_sa {
	uint32_t spi;
	bool inbound, esp, tunnel, encap, esn;
	struct mon_addr src, dst;         /* selectors: the inner traffic */
	uint8_t src_len, dst_len;
	struct mon_addr tunnel_src, tunnel_dst;   /* tunnel mode only */
	char encryption[MON_ALG_MAX], integrity[MON_ALG_MAX];
	uint64_t sequence;                /* outbound: last sent */
	uint64_t age_s, packets, bytes;
	uint64_t drops[16];               /* by enum sa_drop */
	char state[12];                   /* "active", "rekey due", "expired" */
};

/*
 * The snapshot. The arrays are the caller's (capacities *_cap); a view
 * with more objects than room sets *_total above the count kept, and the
 * renderers say so.
 */
struct mon_snapshot {
	int64_t taken_at;                 /* Unix time */
	struct mon_mm_stats mm;
	struct mon_qm_stats qm;
	struct mon_datapath_stats dp;
	struct mon_ike_sa *ike;
	size_t nike, ike_cap, ike_total;
	struct mon_qm_sa *qm_sas;
	size_t nqm, qm_cap, qm_total;
	struct mon_sa *sas;
	size_t nsa, sa_cap, sa_total;
};

/* Allocates the arrays (the counts given; 0 for a view not needed) and
 * zeroes the rest. False: out of memory (nothing to free). */
bool mon_snapshot_init(struct mon_snapshot *s, size_t ike_cap, size_t qm_cap, size_t sa_cap);
void mon_snapshot_free(struct mon_snapshot *s);

/* ---- views ---- */

enum mon_format { MON_LIST, MON_TABLE, MON_JSON };
/* "list", "table", "json" (any case; prefixes as netsh allows); false: none. */
bool mon_format_parse(const char *text, enum mon_format *out);

/* Which objects a view shows: every one, or those whose me/peer match. */
struct mon_filter {
	bool has_src, has_dst;
	struct mon_addr src, dst;         /* src: this host's side, dst: the peer's */
	bool resolvedns;                  /* list: addresses with their DNS names too */
};

#define MON_STATS_IKE 1
#define MON_STATS_IPSEC 2
#define MON_STATS_ALL 3
/* `show stats`: which = MON_STATS_*; wide: table rows not cut at 79. */
void mon_render_stats(FILE *f, const struct mon_snapshot *s, unsigned which,
                      enum mon_format fmt, bool wide);
void mon_render_mmsas(FILE *f, const struct mon_snapshot *s, const struct mon_filter *flt,
                      enum mon_format fmt, bool wide);
void mon_render_qmsas(FILE *f, const struct mon_snapshot *s, const struct mon_filter *flt,
                      enum mon_format fmt, bool wide);
/* `show sa format=table|json` (the list stays the driver's own). */
void mon_render_sas(FILE *f, const struct mon_snapshot *s, enum mon_format fmt, bool wide);

/* ---- metrics (docs/metrics.md) ---- */

/* A configured rule that negotiates SAs: `secpol_rule_sa_up` is 1 while a
 * quick-mode SA of the snapshot carries its id, else 0. */
struct mon_rule {
	uint32_t id;
	char name[MON_NAME_MAX];
	char policy[MON_NAME_MAX];        /* the assigned static policy; "" for a dynamic rule */
};

/* The snapshot in the Prometheus text exposition format 0.0.4, or
 * (openmetrics) OpenMetrics 1.0.0 text, which differs only in the counters'
 * TYPE lines and the final "# EOF". */
void mon_render_metrics(FILE *f, const struct mon_snapshot *s, const struct mon_rule *rules,
                        size_t nrules, bool openmetrics);
#define MON_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define MON_OPENMETRICS_CONTENT_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* The metrics endpoint's HTTP/1.1 requests (hostile input: the parser only
 * reads buf[0..len) and never trusts a length it did not count). */
#define MON_HTTP_REQUEST_MAX 8192
enum mon_http_parse {
	MON_HTTP_INCOMPLETE,              /* no end of the header yet: read more */
	MON_HTTP_DONE,                    /* a whole request head: see status */
};
struct mon_http_request {
	int status;                       /* what to answer: 200, 400, 404, 405, 431, 505 */
	bool openmetrics;                 /* Accept: names application/openmetrics-text */
	size_t head_len;                  /* bytes of the request head, CRLFCRLF included */
};
/* Parses the request head in buf[0..len). At most max bytes are ever
 * looked at; a head that does not end within them is answered 431. */
enum mon_http_parse mon_http_parse(const char *buf, size_t len, size_t max,
                                   struct mon_http_request *r);
/* "Not Found" for 404 and so on; "Error" for a status it does not know. */
const char *mon_http_reason(int status);

/* ---- the live view (`secpol monitor`) ---- */

/* What the live view shows beside a snapshot. */
struct mon_live_info {
	bool has_policy;
	char policy[MON_NAME_MAX];        /* the assigned policy ("" with has_policy false) */
	uint64_t uptime_s;                /* secpold's */
	char drop_names[16][32];          /* the reader's: s->dp.drop_names point here */
};

/* secpold's answer to CONTROL_MONITOR: one JSON document, "view":
 * "monitor" -- the stats view's members, policy, uptime_s, and the qmsas
 * view's total, truncated and sas (docs/monitor-json.md). */
void mon_render_live(FILE *f, const struct mon_snapshot *s, const struct mon_live_info *info);

/* The reader of that document (another process's output: bounded, every
 * key checked). Fills the counters, s->qm_sas up to s->qm_cap (qm_total:
 * as many as secpold has) and info. False: *err says why; s and info are
 * then partly filled. */
bool mon_live_parse(const char *text, size_t len, struct mon_snapshot *s,
                    struct mon_live_info *info, char *err, size_t errlen);

/* The counters a rate is computed from: the previous refresh's. */
struct mon_sample {
	bool valid;
	double at;                        /* seconds, CLOCK_MONOTONIC */
	struct mon_mm_stats mm;
	struct mon_qm_stats qm;
	struct mon_datapath_stats dp;
};
void mon_sample_take(struct mon_sample *out, const struct mon_snapshot *s, double at);

enum mon_top_sort { MON_SORT_PEER, MON_SORT_TRAFFIC };

/* One frame of the live view: the terminal's size, and what is on it. */
struct mon_top_frame {
	int cols, rows;                   /* the terminal's; the frame fits in them */
	const char *host;                 /* this host's name */
	int64_t now;                      /* Unix time, for the header */
	double interval_s;                /* the refresh interval */
	enum mon_top_sort sort;
	const char *error;                /* non-NULL: secpold could not be asked (why) */
	double at;                        /* when s was taken (CLOCK_MONOTONIC s) */
};
/* Writes at most rows lines of at most cols - 1 columns each ('\n' after
 * every line but the last; no escape sequences -- the caller positions
 * them). Names from secpold are shown with control characters replaced,
 * so nothing it sends can move the cursor. s and info may be NULL with
 * v->error set; prev: the previous sample (rates), or NULL. Sorts s->qm_sas. */
void mon_render_top(FILE *f, struct mon_snapshot *s, const struct mon_live_info *info,
                    const struct mon_sample *prev, const struct mon_top_frame *v);

/* ---- `show failures`: the last failed negotiations ---- */

#define MON_FAILURES_MAX 32     /* what the IKE engine keeps (IKE_FAILURES) */
#define MON_REASON_MAX 384

struct mon_failure {
	uint64_t age_s;                   /* how long ago it failed */
	struct mon_addr peer;
	uint16_t peer_port;
	uint32_t rule_id;                 /* 0: no rule was chosen yet */
	char rule[MON_NAME_MAX];          /* "" when unknown or gone */
	char step[16];                    /* "IKE_SA_INIT", "IKE_AUTH", "Child SA",
	                                   * "INFORMATIONAL", "timeout" */
	char reason[MON_REASON_MAX];
};

struct mon_failures {
	int64_t taken_at;                 /* Unix time */
	uint64_t total;                   /* failed negotiations since secpold started */
	size_t n;                         /* the last ones, oldest first */
	struct mon_failure f[MON_FAILURES_MAX];
};

void mon_render_failures(FILE *f, const struct mon_failures *s, enum mon_format fmt, bool wide);

/* The JSON schema version (docs/monitor-json.md). */
#define MON_SCHEMA_VERSION 1

#endif
