/*
 * ike — the IKEv2 engine of secpold (RFC 7296): IKE SAs and the Child SAs
 * they negotiate for the policy's Negotiate rules, as initiator (started by
 * an acquire from the data path) and as responder.
 *
 * The engine does no I/O of its own and reads no clock: the host (secpold,
 * or a test holding two engines) hands it datagrams and the time, and it
 * answers through the callbacks of struct ike_host -- send a datagram,
 * install or remove a Child SA. That keeps the protocol testable in one
 * process and leaves sockets, the driver and logging to the agent.
 *
 * Single-threaded: every call on one engine from the same thread.
 */
#ifndef SECPOL_IKE_H
#define SECPOL_IKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crypto/cert.h"
#include "driver/driver.h"
#include "policy/policy.h"

#define IKE_PORT 500
#define IKE_NATT_PORT 4500

struct ike_addr {
	uint8_t family;              /* AF_INET or AF_INET6 */
	uint8_t bytes[16];
	uint16_t port;
};

/* One side of a selector pair: a prefix, a protocol (0 = any) and a port
 * (0 = any). */
struct ike_selector {
	struct sa_address net;
	uint8_t len;
	uint8_t protocol;
	uint16_t port;
};

#define IKE_RULE_SELECTORS 16

/* A Negotiate rule, as IKE needs it. sel[]: the rule's outbound one-way
 * filters, local side first (what this host offers as the initiator's TSi /
 * TSr, and what it allows as the responder). */
struct ike_rule {
	uint32_t id;                 /* the SPD's rule id */
	char guid[POLICY_GUID_LEN];  /* the rule's identity across policy changes */
	char name[POLICY_NAME_MAX];
	struct qm_methods methods;   /* Child SA proposals, in order */
	bool pfs;                    /* qmpfs: a KE in CREATE_CHILD_SA */
	uint16_t pfs_group;          /* ... of this group (IANA number); 0: the IKE SA's
	                              * (Windows' session key PFS, pfsgroup=GRPMM) */
	struct auth_methods auth;
	bool tunnel;                 /* tunnel mode; the peer is tunnel_peer */
	struct sa_address tunnel_peer;
	bool force_encap;            /* UDP-encapsulated ESP even without NAT */
	bool soft;                   /* fall back to clear when the peer never answers IKE */
	uint32_t soft_s;             /* ... for this long (softsaexpirationtime; 0: 300 s) */
	struct mm_methods mm;        /* n > 0: what its IKE SAs offer as initiator (a
	                              * dynamic mmpolicy's); else the policy's offers. (A
	                              * responder does not know the rule before IKE_AUTH:
	                              * it accepts the policy's, with every mmpolicy's.) */
	uint32_t ike_lifetime_s;     /* its IKE SAs' lifetime (a dynamic mmpolicy's
	                              * mmlifetime); 0: the policy's */
	uint32_t qm_per_mm;          /* Child SAs one IKE SA negotiates before its Child SA
	                              * rekeys wait for a new IKE SA (qmpermm; master key
	                              * PFS is 1; 0: no limit) */
	bool is_default;             /* the default response rule: answers, never initiates */
	struct ike_selector local[IKE_RULE_SELECTORS], remote[IKE_RULE_SELECTORS];
	size_t nsel;
};

/* What the policy says for all rules: the main-mode settings. */
struct ike_policy {
	struct mm_methods mm;        /* IKE SA proposals */
	uint32_t ike_lifetime_s;     /* mmlifetime */
	bool allow_legacy;
	/* The machine certificate store (rootca= rules; NULL: none), owned by
	 * the host and kept open until it is replaced (ike_engine_set_certs),
	 * and strongcrlcheck. */
	struct cert_store *certs;
	enum cert_crl_mode crl;
	const struct ike_rule *rules;
	size_t nrules;
};

/* A negotiated Child SA for the host to install: both directions. */
struct ike_child_install {
	uint32_t rule_id;
	struct child_sa_config in, out;
};

/* What the negotiations did, for the event log (`show events`, syslog):
 * structured, so the host can keep and print it without parsing the text
 * log. Never a key. */
enum ike_event_kind {
	IKE_EVENT_IKE_SA_UP,
	IKE_EVENT_IKE_SA_DOWN,
	IKE_EVENT_CHILD_SA_UP,
	IKE_EVENT_CHILD_SA_DOWN,
	IKE_EVENT_IKE_REKEY,         /* a new IKE SA took over (old_ike_spi_*: the one it replaced) */
	IKE_EVENT_CHILD_REKEY,       /* a new Child SA took over (old_spi_*: the one it replaced) */
	IKE_EVENT_FAILURE,           /* a negotiation failed; reason says which step and why */
};

struct ike_event {
	enum ike_event_kind kind;
	struct ike_addr local, remote;
	uint32_t rule_id;
	const char *rule;            /* the rule's name; "" when unknown */
	bool initiator;              /* of the IKE SA */
	uint64_t ike_spi_i, ike_spi_r;   /* 0 when no IKE SA is known */
	uint64_t old_ike_spi_i, old_ike_spi_r;
	enum sa_proto proto;         /* Child SA events */
	bool tunnel;
	uint32_t spi_in, spi_out;    /* Child SA events (our inbound SPI, the peer's) */
	uint32_t old_spi_in, old_spi_out;
	const char *algs;            /* "AES-GCM-128/PRF-SHA256/CURVE25519"; "" when none */
	const char *reason;          /* failures and downs: why; "" otherwise */
};

struct ike_host {
	void *ctx;
	/* A datagram to send from local to remote (port 4500: the host adds the
	 * non-ESP marker). */
	void (*send)(void *ctx, const struct ike_addr *local, const struct ike_addr *remote,
	             const uint8_t *msg, size_t len);
	bool (*install)(void *ctx, const struct ike_child_install *c, char *err, size_t errlen);
	/* Removes SAs of a Child SA: the inbound one (spi_in at local) and the
	 * outbound one (spi_out at remote); a zero SPI stands for none. */
	void (*remove)(void *ctx, enum sa_proto proto, uint32_t spi_in, const struct sa_address *local,
	               uint32_t spi_out, const struct sa_address *remote);
	/* A filter the policy does not list, made (add) or dropped: the default
	 * response rule's for a Child SA's traffic, a soft association's (kept
	 * lifetime_s seconds, 0: until dropped). */
	void (*dynamic)(void *ctx, const struct driver_dynamic *f, bool add, uint32_t lifetime_s);
	/* One line for the log: SA up/down, failures (never a key). */
	void (*log)(void *ctx, int level, const char *line);
	/* The same moments, structured (NULL: not wanted). The strings live
	 * only for the call. */
	void (*event)(void *ctx, const struct ike_event *ev);
	/* Random octets; NULL: the system's (crypto_random). Tests make them
	 * deterministic. */
	bool (*random)(void *ctx, uint8_t *out, size_t len);
};

struct ike_config {
	unsigned retransmit_ms;      /* first retransmission; doubles each time (default 1000) */
	unsigned retransmit_tries;   /* then the exchange fails (default 5) */
	unsigned half_open_cookie;   /* half-open SAs before COOKIEs are asked (default 64) */
	unsigned dpd_s;              /* liveness check after this idle time (0: none) */
	unsigned fragment_size;      /* IP packets of IKE fragments (RFC 7383; default 1280) */
};

/* IP Security Monitor main-mode counters. */
struct ike_stats {
	uint64_t active_acquire, active_receive, acquire_failures, receive_failures;
	uint64_t send_failures, negotiation_failures, authentication_failures;
	uint64_t invalid_cookies_received, invalid_packets_received;
	uint64_t total_acquire, total_receive;
	uint64_t main_mode_sas, quick_mode_sas;          /* established since start */
	uint64_t active_ike_sas, half_open_sas;
	uint64_t key_additions, key_deletions, rekeys;
	uint64_t retransmissions, cookies_sent;
	uint64_t fragmented_messages, reassembled_messages;   /* RFC 7383 */
	uint64_t soft_associations;
	uint64_t total_get_spi;      /* inbound Child SA SPIs chosen */
	uint64_t key_add_fail;       /* Child SA installs the host refused */
	/* Current sizes, computed when read. */
	uint64_t child_negotiations; /* Child SAs being negotiated: IKE_AUTH or CREATE_CHILD_SA out */
	uint64_t reassemblies;       /* RFC 7383 reassemblies in progress */
};

struct ike_engine;

struct ike_engine *ike_engine_new(const struct ike_config *c, const struct ike_host *h);
void ike_engine_free(struct ike_engine *e);

/* Replaces the policy (copied), as a difference: the SAs of a rule that did
 * not change stay; those of a changed rule are negotiated again (a new IKE
 * SA, then the old one deleted); those of a rule that is gone are deleted,
 * the peer told. */
bool ike_engine_set_policy(struct ike_engine *e, const struct ike_policy *p, char *err,
                           size_t errlen);

/* Replaces the certificate store and the CRL mode (the host frees the old
 * store after this call). */
void ike_engine_set_certs(struct ike_engine *e, struct cert_store *s, enum cert_crl_mode crl);

/* A datagram from remote to local (port 4500: the marker removed). msg is
 * modified (decrypted in place). */
void ike_engine_input(struct ike_engine *e, const struct ike_addr *local,
                      const struct ike_addr *remote, uint8_t *msg, size_t len,
                      uint64_t now_ms);

/* The data path holds a packet of rule_id with no SA: negotiate one with
 * remote (port 500) from local, for the traffic of pkt. Does nothing while
 * a negotiation for the rule and peer is under way. */
void ike_engine_acquire(struct ike_engine *e, uint32_t rule_id, const struct ike_addr *local,
                        const struct ike_addr *remote, const struct spd_packet *pkt,
                        uint64_t now_ms);

/* A new IKE SA with remote for the rule, whatever exists already (load
 * tests, `secpol dynamic` initiation). */
void ike_engine_initiate(struct ike_engine *e, uint32_t rule_id, const struct ike_addr *local,
                         const struct ike_addr *remote, uint64_t now_ms);

/* The data path says a Child SA's SA (by SPI: inbound ours, outbound the
 * peer's) crossed its soft byte limit (rekey now) or its hard one. */
void ike_engine_sa_expiring(struct ike_engine *e, enum sa_proto proto, uint32_t spi, bool inbound,
                            bool hard, uint64_t now_ms);

/* Retransmissions, timeouts, liveness checks. Returns when it wants to be
 * called again (absolute ms; UINT64_MAX: only on input). */
uint64_t ike_engine_tick(struct ike_engine *e, uint64_t now_ms);

/* Deletes every IKE SA (telling the peers) and their Child SAs. */
void ike_engine_flush(struct ike_engine *e, uint64_t now_ms);

/* `delete mmsas` / `delete qmsas`: the IKE SAs with a (if given) and b (if
 * given) at one end or the other -- with their Child SAs, or (children)
 * only their Child SAs, the IKE SA kept. The peers are told (a Delete
 * each; Child SAs one exchange at a time, as the window allows). Returns
 * how many IKE SAs (or Child SAs) were selected. */
size_t ike_engine_delete_sas(struct ike_engine *e, bool children, const struct sa_address *a,
                             const struct sa_address *b, uint64_t now_ms);

void ike_engine_stats(const struct ike_engine *e, struct ike_stats *s);
/* The monitor's view of an IKE SA and of its Child SAs (never a key). */
struct ike_sa_info {
	uint64_t spi_i, spi_r;
	struct ike_addr local, remote;
	bool initiator, encap, nat;
	const char *state;           /* static string */
	uint32_t rule_id;
	char rule[POLICY_NAME_MAX];  /* "" when the rule is gone */
	enum crypto_enc enc;         /* valid when keyed */
	enum crypto_mac integ;
	enum crypto_prf prf;
	bool keyed;
	uint16_t dh_group;
	enum { IKE_INFO_AUTH_NONE, IKE_INFO_AUTH_PSK, IKE_INFO_AUTH_CERT } auth;
	char me_id[160], peer_id[160];
	uint64_t age_s, lifetime_s, lifetime_left_s;
	size_t children;             /* its Child SAs */
};
struct ike_child_info {
	size_t ike_sa;               /* index of its IKE SA in the same snapshot */
	uint32_t rule_id;
	enum sa_proto proto;
	uint32_t spi_in, spi_out;
	bool tunnel, encap, rekeying, replaced;
	uint8_t protocol;            /* of its selectors; 0: any */
	uint16_t local_port, remote_port;   /* 0: any */
	uint16_t pfs_group;          /* 0: none */
	uint64_t age_s, lifetime_s;  /* lifetime_s 0: none */
	uint64_t expires_in_s;       /* 0: no expiry */
};
/* Copies at most max IKE SAs into sas and at most cmax of their Child SAs
 * into ch (*nch of them written; a Child SA whose IKE SA did not fit is
 * left out). Returns how many IKE SAs there are. */
size_t ike_engine_snapshot(const struct ike_engine *e, uint64_t now_ms, struct ike_sa_info *sas,
                           size_t max, struct ike_child_info *ch, size_t cmax, size_t *nch);

/* `show mmsas` / `show qmsas`-like blocks (never a key). */
void ike_engine_show_sas(const struct ike_engine *e, FILE *out, uint64_t now_ms);
/* The last failed negotiations: when, with whom, which step, why. */
void ike_engine_show_failures(const struct ike_engine *e, FILE *out);

/* One failed negotiation, for the monitor's `show failures` (never a key). */
struct ike_failure_info {
	uint64_t age_s;              /* how long before now_ms it failed */
	struct ike_addr peer;
	uint32_t rule_id;            /* 0: no rule chosen yet */
	char rule[POLICY_NAME_MAX];  /* "" when unknown or gone */
	const char *step;            /* static: "IKE_SA_INIT", "IKE_AUTH", "Child SA",
	                              * "INFORMATIONAL", "timeout" */
	char why[384];
};
/* Copies the last failures (at most max), oldest first; returns how many
 * were written. *total: every failure since the engine started (the
 * engine keeps the last 32). */
size_t ike_engine_failures(const struct ike_engine *e, uint64_t now_ms,
                           struct ike_failure_info *out, size_t max, uint64_t *total);

#endif
