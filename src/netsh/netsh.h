/*
 * netsh — the `netsh ipsec` command language: one command from argv, a script
 * (`secpol -f`), or an interactive shell with contexts, over the policy store.
 */
#ifndef SECPOL_NETSH_H
#define SECPOL_NETSH_H

#include <stdbool.h>
#include <stdio.h>

#include "policy/dynamic.h"
#include "policy/policy.h"

struct store;
struct child_sa_config;
struct event_log;
struct netsh_session;

/* `show rulefor`: one packet, as the command describes it. */
struct netsh_packet {
	struct ip_address src, dst;  /* single addresses of one family */
	uint8_t protocol;            /* 0: any (only filters for any protocol match) */
	uint16_t src_port, dst_port; /* TCP and UDP only; 0: not given */
	bool direction_given;
	bool inbound;                /* when given */
};

enum netsh_rulefor_kind {
	RULEFOR_NO_MATCH,            /* no filter matches: the packet is not filtered */
	RULEFOR_POLICY,              /* a one-way filter of the policy (the SPD) */
	RULEFOR_RUNTIME,             /* a run-time filter: the default response rule's or a
	                              * soft association's, checked before the SPD */
};
/* How the direction was chosen: given, or from the host's addresses. */
enum netsh_dir_reason {
	RULEFOR_DIR_GIVEN,
	RULEFOR_FROM_HOST,           /* the source is this host's: outbound */
	RULEFOR_TO_HOST,             /* the destination is: inbound */
	RULEFOR_FORWARDED,           /* neither: outbound (leaving towards dstaddr) */
};
/* A one-way filter made from a mirrored filter is either half. */
enum netsh_mirror { RULEFOR_NOT_MIRRORED, RULEFOR_MIRROR_AS_WRITTEN, RULEFOR_MIRROR_SWAPPED };

/* `show rulefor`: the service's answer. */
struct netsh_rulefor {
	enum netsh_rulefor_kind kind;
	bool inbound;                /* the direction the packet was looked up in */
	enum netsh_dir_reason dir_reason;
	char policy[POLICY_NAME_MAX];   /* "" when no policy is assigned */
	size_t count;                /* one-way filters in force */
	/* The rule (not RULEFOR_NO_MATCH). */
	unsigned rule_id;
	char rule[POLICY_NAME_MAX];     /* "" when the policy no longer has the rule */
	char filterlist[POLICY_NAME_MAX], filteraction[POLICY_NAME_MAX];
	bool is_default;
	enum filter_action_kind action; /* of the filter that matched */
	bool inpass, soft;              /* the filter action's (Negotiate) */
	bool has_tunnel;
	struct ip_address tunnel;
	/* The one-way filter that matched (of direction `inbound`). */
	struct ip_address src, dst;
	uint8_t src_len, dst_len, protocol;
	uint16_t src_port, dst_port;
	unsigned filter_no;          /* RULEFOR_POLICY: its filter in the filter list, from 1 */
	enum netsh_mirror mirror;    /* RULEFOR_POLICY */
	uint32_t weight;             /* RULEFOR_POLICY: spd_weight() */
	size_t position;             /* RULEFOR_POLICY: its place in evaluation order, from 1 */
	uint32_t expires_s;          /* RULEFOR_RUNTIME: a soft association's time left */
};

/* A one-way ("specific") filter in force, for `show mmfilter/qmfilter
 * type=specific`: the static policy's and the dynamic rules' after
 * expansion, in evaluation order. */
struct netsh_specific_filter {
	uint32_t rule_id;            /* >= DYN_RULE_ID_BASE: a dynamic rule's */
	bool inbound;
	struct ip_address src, dst;
	uint8_t src_len, dst_len, protocol;
	uint16_t src_port, dst_port;
	enum filter_action_kind action;
	bool tunnel;
	uint32_t weight;             /* spd_weight() */
};

/* A monitor view as `show` asked for it. */
enum netsh_format { NETSH_FORMAT_LIST, NETSH_FORMAT_TABLE, NETSH_FORMAT_JSON };
struct netsh_show {
	const char *object;          /* "sa", "stats", "mmsas", "qmsas" or "failures" */
	const char *type;            /* stats: "all", "ike" or "ipsec"; else "all" */
	enum netsh_format format;
	bool wide;                   /* table: rows not cut at 79 columns */
	bool has_src, has_dst;       /* mmsas, qmsas: only SAs with this me / peer */
	bool resolvedns;             /* mmsas, qmsas list: addresses with DNS names */
	struct ip_address src, dst;
};

/*
 * The running service as the dynamic context sees it. In secpold these act
 * on the data path; the secpol CLI has none and forwards dynamic commands
 * to secpold instead (netsh_session.forward). Output goes to `out`; a
 * failure fills d.
 */
struct netsh_dynamic {
	void *ctx;
	bool (*add_sa)(void *ctx, const struct child_sa_config *c, bool direction_given,
	               struct diag *d);
	/* all: every SA; else the one (spi, dst, proto). */
	bool (*delete_sa)(void *ctx, bool all, uint32_t spi, const struct ip_address *dst,
	                  uint8_t proto, struct diag *d);
	/* `show sa|stats|mmsas|qmsas|failures` (the IP Security Monitor's
	 * views, monitor/monitor.h), the command's arguments checked. */
	void (*show_monitor)(void *ctx, FILE *out, const struct netsh_show *q);
	/* what: "ikesas" (the engine's IKE SAs with their Child SAs, a
	 * diagnostic text view; show mmsas/qmsas are the structured forms). */
	void (*show_ike)(void *ctx, FILE *out, const char *what);
	/* `show rulefor`: fills r for the packet p from the policy in force. */
	bool (*show_rulefor)(void *ctx, const struct netsh_packet *p, struct netsh_rulefor *r,
	                     struct diag *d);
	/* The dynamic objects (mmpolicy, qmpolicy, rule), owned by the service;
	 * netsh edits them, then calls dyn_changed to put them in force with the
	 * static policy. False (d filled): not applied -- netsh puts the
	 * objects back as they were and calls it again. */
	struct dyn_spd *dyn;
	bool (*dyn_changed)(void *ctx, struct diag *d);
	/* `delete mmsas` (children: false) / `delete qmsas` (true): deletes the
	 * IKE SAs with their Child SAs, or the Child SAs only, telling the
	 * peers; a non-NULL address selects SAs with it at either end.
	 * Returns how many were deleted. */
	size_t (*delete_sas)(void *ctx, bool children, const struct ip_address *a,
	                     const struct ip_address *b);
	/* The specific filters in force, in evaluation order (*out malloc'd,
	 * the caller frees it); (size_t)-1 when out of memory. */
	size_t (*specific_filters)(void *ctx, struct netsh_specific_filter **out);
	/* `show events`: the negotiation event log (monitor/events.h), read in
	 * the same thread that records it. */
	const struct event_log *(*event_log)(void *ctx);
};

/* Sends one dynamic command line to the service; its output is printed on
 * the session's streams. False: it failed (d says why when the service
 * could not be reached; the service's own errors are already printed). */
typedef bool (*netsh_forward)(struct netsh_session *ns, const char *line, struct diag *d);

/* Resolves a DNS name to at most max addresses (the command fails on 0). */
typedef size_t (*netsh_resolver)(const char *name, struct ip_address *out, size_t max);

enum netsh_location { LOCATION_LOCAL, LOCATION_PERSISTENT };

struct netsh_session {
	const char *store_path;      /* the local store */
	const char *certs_path;      /* the certificate store; NULL: $SECPOL_CERTS or default */
	struct store *store;         /* the current store, opened on first use */
	enum netsh_location location;
	bool batch;                  /* set batch mode=enable: one transaction */
	bool import_mode;            /* importpolicy: same-named objects are replaced */
	FILE *out, *err;
	netsh_resolver resolve;      /* getaddrinfo by default; fuzzers stub it */
	char context[32];            /* "", "ipsec", "ipsec static", "ipsec dynamic", "ipsec cert" */
	const char *script;          /* name of the script being run, for messages */
	unsigned line;               /* its current line */
	unsigned errors;             /* commands that failed in this session */
	bool quit;                   /* exit/quit/bye */
	bool interactive;            /* prompt-driven: enter contexts on bare words */
	char pushed[8][32];          /* pushd/popd stack of contexts */
	size_t npushed;
	const struct netsh_dynamic *dynamic;  /* secpold: runs dynamic commands */
	netsh_forward forward;       /* secpol: sends them to secpold */
	void *forward_ctx;
	/* Called after every commit that changed the store (NULL: nothing);
	 * secpol uses it to have secpold apply the change at once. */
	void (*store_changed)(struct netsh_session *ns);
};

void netsh_session_init(struct netsh_session *ns, const char *store_path, FILE *out,
                        FILE *err);
/* Commits a pending batch and closes the store. Returns false if the commit failed. */
bool netsh_session_finish(struct netsh_session *ns);

/* Runs one command line in the session's context; false if it failed. */
bool netsh_exec_line(struct netsh_session *ns, const char *line);
/* secpold: runs one line of the dynamic context only (no context words). */
bool netsh_exec_dynamic(struct netsh_session *ns, const char *line);
/* Runs argv words as one command (quoting is the shell's: each word is a token). */
bool netsh_exec_argv(struct netsh_session *ns, int argc, char **argv);
/* Runs a script; every line runs unless stop_on_error. Returns the failed-line count. */
unsigned netsh_run_script(struct netsh_session *ns, FILE *in, const char *name,
                          bool stop_on_error);
/* The interactive shell (libedit on a terminal, plain lines otherwise). */
void netsh_interactive(struct netsh_session *ns);

/* `secpol dump`: the script of static commands that rebuilds the store. */
bool netsh_dump(struct netsh_session *ns, FILE *out);

size_t netsh_resolve_getaddrinfo(const char *name, struct ip_address *out, size_t max);

#endif
