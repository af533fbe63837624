/*
 * sa — the engine's inside, private to src/ike: IKE SAs, their Child SAs,
 * the state machine and the helpers the exchanges share (engine.c owns
 * them; init.c, auth.c, child.c and info.c are the exchanges).
 */
#ifndef SECPOL_IKE_SA_H
#define SECPOL_IKE_SA_H

#include "ike/cookie.h"
#include "ike/frag.h"
#include "ike/ike.h"
#include "ike/keys.h"
#include "ike/message.h"
#include "ike/proposal.h"
#include "ike/sk.h"

#define IKE_MSG_MAX 8192          /* longest message built or accepted (fragments aside) */
#define IKE_NONCE_LEN 32
#define IKE_FAILURES 32           /* kept for `show failures` */
#define IKE_PEER_HASHES 8
#define IKE_SOFT_TRIES 2          /* unanswered IKE_SA_INIT tries before a soft association */
#define IKE_SOFT_SECONDS 300      /* how long a soft association lasts */

/* A message as sent: one datagram, or its RFC 7383 fragments; each is a
 * 2-octet length and its octets. Kept to be sent again. */
struct ike_sent {
	uint8_t *buf;
	size_t len;
};

/* An IKE SA's life. Incoming messages are accepted only where the
 * transition table (engine.c) lists their exchange for the state. */
enum ike_state {
	IKE_S_INIT_I,                 /* initiator: IKE_SA_INIT request sent */
	IKE_S_AUTH_I,                 /* initiator: IKE_AUTH request sent */
	IKE_S_INIT_R,                 /* responder: IKE_SA_INIT answered, IKE_AUTH awaited */
	IKE_S_ESTABLISHED,
	IKE_S_DELETING,               /* our Delete of the IKE SA sent */
	IKE_S_DEAD,                   /* to be freed */
	IKE_S_COUNT
};

/* The steps a failure names. */
enum ike_step { STEP_INIT, STEP_AUTH, STEP_CHILD, STEP_INFO, STEP_TIMEOUT };

/* A negotiated Child SA, as the IKE SA remembers it (the keys live in the
 * data path only). */
struct ike_child {
	uint32_t rule_id;
	enum sa_proto proto;
	uint32_t spi_in, spi_out;
	bool tunnel, encap;
	struct ike_ts_sel local, remote;  /* its selectors, this host's side first */
	/* All of them, as installed: a rekey proposes every one again (a
	 * tunnel to two subnets stays one). local/remote: the first. */
	struct ike_ts ts_local, ts_remote;
	uint64_t created_ms;
	uint64_t rekey_at_ms, expire_at_ms;   /* 0: never */
	bool rekeying;                /* our CREATE_CHILD_SA for it is out */
	bool replaced;                /* a newer Child SA carries its traffic */
	bool delete_pending;          /* to be deleted (told to the peer) */
	bool dynamic;                 /* the default response rule's: its filter goes with it */
	struct driver_dynamic filter;
	char algs[64];                /* "AES-GCM-128", for show */
	uint16_t pfs_group;           /* the exchange's KE group; 0: no PFS */
	uint32_t life_s;              /* the offer's hard lifetime; 0: none */
	struct ike_child *next;
};

/* Our CREATE_CHILD_SA request in flight: what its answer completes. */
enum ike_pending_kind { PEND_CHILD_REKEY, PEND_IKE_REKEY };
struct ike_pending {
	enum ike_pending_kind kind;
	uint32_t old_spi_in;          /* child rekey: the SA being replaced */
	uint32_t rule_id;             /* ... its rule and mode */
	bool tunnel;
	uint32_t new_spi;             /* child rekey: our inbound SPI of the new one */
	struct ike_ts ts_i, ts_r;     /* child rekey: the selectors we proposed (the answer
	                               * must lie within them, §2.9) */
	/* The peer rekeyed the same Child SA meanwhile (RFC 7296 §2.8.1): the
	 * lower nonce of its exchange. */
	bool collided;
	uint8_t peer_nonce[IKE_NONCE_MAX];
	size_t peer_nonce_len;
	uint64_t new_ike_spi;         /* IKE rekey: our SPI of the new IKE SA */
	uint8_t nonce[IKE_NONCE_LEN];
	struct dh dh;
	bool dh_ready;
	uint16_t dh_group;
	struct ike_offer offer;
};

struct ike_ikesa {
	uint64_t spi_i, spi_r;
	bool initiator;               /* we are the original initiator */
	enum ike_state state;
	struct ike_addr local, remote;
	bool natt;                    /* IKE moved to port 4500 */
	bool nat_local, nat_remote;   /* NAT detected in front of us / the peer */
	bool encap;                   /* ESP in UDP (NAT, or forced) */
	const struct ike_rule *rule;  /* initiator: the rule that asked; responder: once chosen */
	uint32_t rule_id;             /* survives a policy change (rule may then be NULL) */
	uint32_t quick_modes;         /* Child SAs negotiated under this IKE SA (qmpermm) */

	/* IKE_SA_INIT */
	struct ike_offer *offer;      /* initiator: what it proposed (until established) */
	uint16_t dh_group;
	struct dh dh;
	bool dh_ready;
	uint8_t ni[IKE_NONCE_MAX], nr[IKE_NONCE_MAX];
	size_t ni_len, nr_len;
	uint8_t *init_i, *init_r;     /* the two IKE_SA_INIT messages, for AUTH */
	size_t init_i_len, init_r_len;
	uint8_t cookie[IKE_COOKIE_MAX];
	size_t cookie_len;
	unsigned ke_retries;

	/* Keys */
	struct ike_suite suite;
	char algs[64];                /* "AES-GCM-128/PRF-SHA256/CURVE25519" */
	struct ike_sa_keys keys;
	struct ike_sk_key seal, open; /* our direction, the peer's */
	bool keyed;

	/* IKE_AUTH: the Child SA the initiator asked for */
	uint32_t pending_spi;
	struct ike_offer *child_offer;   /* until established */
	struct spd_packet trigger;

	/* Message IDs (window 1) and the retransmission cache */
	uint32_t my_mid;              /* of our next request */
	uint32_t peer_mid;            /* the peer's next request */
	struct ike_sent req, resp;    /* our outstanding request, our last response */
	bool peer_frag;               /* the peer takes RFC 7383 fragments */
	uint16_t peer_hashes[IKE_PEER_HASHES];  /* its SIGNATURE_HASH_ALGORITHMS (RFC 7427) */
	size_t npeer_hashes;
	char peer_auth[160];          /* how the peer proved itself, for show */
	char me_id[160], peer_id[160];   /* the identities of IKE_AUTH, as text, for show */
	bool peer_by_cert;            /* the peer proved itself with a certificate */
	struct ike_frag_reasm *reasm[2];  /* the peer's fragmented requests [0], responses [1] */
	uint8_t req_exchange;
	bool req_out;                 /* a request awaits its response */
	unsigned tries;
	uint64_t retx_at_ms;
	uint64_t created_ms, established_ms, last_rx_ms;

	struct ike_child *children;
	struct ike_pending *pend;     /* our CREATE_CHILD_SA in flight */
	uint32_t deleting_spi_in;     /* our INFORMATIONAL deleting this Child SA is in flight */
	uint64_t rekey_at_ms;         /* of the IKE SA; 0: never */
	uint64_t retry_at_ms;         /* a failed rekey is tried again from then */
	bool rekeyed;                 /* replaced by a new IKE SA: only its Delete is left */
	bool redundant;               /* lost a simultaneous initiation: to be deleted */
	bool heard;                   /* the peer has answered at least once */
	bool superseded;              /* its rule changed: goes once a new SA is up */
	uint64_t rekeyed_ms;
	struct ike_ikesa *next_spi;   /* engine's hash chains */
	struct ike_ikesa *next_peer;
	struct ike_addr peer_key;     /* the address counted in e->peers */
	const char *down_reason;      /* why it goes, for the event log (NULL: from its flags) */
	bool up_told;                 /* its up (or rekey) event was sent: its down will be */
};

/* How many IKE SAs (any state) the engine holds with one peer address. */
struct ike_peer_count {
	struct ike_addr a;
	uint32_t n;
	bool used;
};

/* An inbound SA kept a moment after its Child SA was deleted: packets the
 * peer sent before the Delete are still on their way. */
#define IKE_LINGER_MS 2000
struct ike_linger {
	enum sa_proto proto;
	uint32_t spi;
	struct sa_address local;
	uint64_t at_ms;
	struct ike_linger *next;
};

struct ike_failure {
	uint64_t at_ms;
	struct ike_addr peer;
	uint32_t rule_id;
	enum ike_step step;
	char why[384];
};

struct ike_engine {
	struct ike_config cfg;
	struct ike_host host;
	/* the policy, copied */
	struct ike_policy policy;
	struct ike_rule *rules;
	struct ike_offer ike_offer;   /* from mm */

	struct ike_ikesa **by_spi;    /* our SPI (spi_i as initiator, spi_r as responder) */
	struct ike_ikesa **by_peer;   /* responder half-open: (peer's spi_i, address) */
	size_t buckets, count, half_open;
	struct ike_stats stats;
	struct ike_linger *lingering;      /* oldest first */
	struct ike_linger **linger_tail;   /* where the next one goes */
	struct ike_cookie_secret cookie;   /* RFC 7296 §2.6, once half-open SAs pile up */
	bool cookie_ready;
	struct ike_failure failures[IKE_FAILURES];
	size_t nfailures;             /* total; the ring holds the last IKE_FAILURES */
	uint64_t now_ms;              /* of the call being served */
	uint8_t scratch[IKE_MSG_MAX]; /* inner payloads being built */
	uint8_t out[IKE_MSG_MAX];     /* the message being built */
	struct ike_peer_count *peers; /* open addressing, keys never removed */
	size_t peers_cap, peers_used;
};
/* The count of IKE SAs with a's address (a slot made if needed; NULL: no memory). */
uint32_t *ike_peer_count(struct ike_engine *e, const struct ike_addr *a);

/* engine.c: the SA table, messages, failures */
/* spi: ours, or 0 for a fresh random one. */
struct ike_ikesa *ikesa_new(struct ike_engine *e, bool initiator, const struct ike_addr *local,
                            const struct ike_addr *remote, uint64_t spi);
bool ike_spi_in_use(const struct ike_engine *e, uint64_t spi);
void ikesa_rehash(struct ike_engine *e, struct ike_ikesa *sa);   /* after spi_r is known */
void ikesa_kill(struct ike_engine *e, struct ike_ikesa *sa);     /* children removed too */
/* Nonces compared as octet strings (RFC 7296 §2.8.1). */
int ike_nonce_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl);
/* The first error notification of m (types below 16384) into *n, or 0. */
uint16_t ike_first_error(const struct ike_message *m, struct ike_notify *n);
/* Both sides initiated: of two IKE SAs for one rule with one peer, the
 * one with the lower initiator nonce goes, deleted by its initiator. */
void ikesa_settle_duplicates(struct ike_engine *e, struct ike_ikesa *sa);
/* An SA that came up without IKE_AUTH (an IKE SA rekey). */
void ikesa_established(struct ike_engine *e, struct ike_ikesa *sa);
bool ike_rand(struct ike_engine *e, void *out, size_t len);
const struct ike_rule *ike_rule_by_id(const struct ike_engine *e, uint32_t id);
void ike_fail(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_addr *peer,
              enum ike_step step, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void ike_log(struct ike_engine *e, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* An event of sa (NULL: none known) and its Child SA c (NULL: none),
 * filled from them for the host; the caller adds what is particular (old
 * SPIs of a rekey) and hands it over with ike_event_emit. */
void ike_event_fill(const struct ike_engine *e, struct ike_event *ev, enum ike_event_kind kind,
                    const struct ike_ikesa *sa, const struct ike_child *c, const char *reason);
void ike_event_emit(struct ike_engine *e, const struct ike_event *ev);
/* Both at once, for events with nothing particular. */
void ike_emit(struct ike_engine *e, enum ike_event_kind kind, const struct ike_ikesa *sa,
              const struct ike_child *c, const char *reason);

/* Sends a request (kept for retransmission) or a response (kept for a
 * duplicate request) of the exchange; inner: the payload chain for SK,
 * w->first its first type. IKE_SA_INIT goes unencrypted, the others in SK. */
bool ike_send_request(struct ike_engine *e, struct ike_ikesa *sa, uint8_t exchange,
                      struct ike_writer *inner);
bool ike_send_response(struct ike_engine *e, struct ike_ikesa *sa, uint8_t exchange,
                       uint32_t mid, struct ike_writer *inner);
/* The first datagram of a sent message (IKE_SA_INIT: the whole of it). */
const uint8_t *ike_sent_first(const struct ike_sent *s, size_t *len);
/* An unencrypted one-notify answer without state (IKE_SA_INIT errors). */
void ike_send_bare_notify(struct ike_engine *e, const struct ike_addr *local,
                          const struct ike_addr *remote, const struct ike_header *req,
                          uint16_t type, const uint8_t *data, size_t len);
void ike_writer_scratch(struct ike_engine *e, struct ike_writer *w);
void ike_put_notify_simple(struct ike_writer *w, uint16_t type, const void *data, size_t len);

/* A message being served: the whole datagram and its payloads (for
 * anything after IKE_SA_INIT, the decrypted inner ones). */
struct ike_rx {
	const uint8_t *msg;
	size_t len;
	const struct ike_message *m;
	uint32_t mid;
};
/* A handler of the transition table: the SA's next state. */
typedef enum ike_state (*ike_handler)(struct ike_engine *e, struct ike_ikesa *sa,
                                      const struct ike_rx *rx);

/* init.c: IKE_SA_INIT, and what IKE SA rekeys share with it */
bool ike_suite_of(const struct ike_choice *c, struct ike_suite *s);
/* The SK keys of both directions from sa->keys (and sa->algs). */
bool ike_sa_arm(struct ike_engine *e, struct ike_ikesa *sa, const char **why);
void ike_put_dh(struct ike_writer *w, const struct dh *d, uint16_t group);
void ike_spi_bytes(uint64_t spi, uint8_t out[8]);
void init_start(struct ike_engine *e, struct ike_ikesa *sa);
void init_request(struct ike_engine *e, const struct ike_addr *local, const struct ike_addr *remote,
                  const struct ike_rx *rx);
enum ike_state init_response(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_rx *rx);

/* proof.c: identities and AUTH payloads */
/* The rule's first authentication method IKE can use; NULL and why. */
const struct auth_method *auth_usable(const struct ike_rule *r, const char **why);
/* How we prove who we are in one IKE_AUTH. */
struct ike_proof {
	uint8_t method;               /* IKE_AUTH_PSK or a signature method */
	const char *psk;
	struct cert_cred cred;        /* signatures: our certificate and key */
	bool have_cred;
	uint8_t idb[1024];            /* our ID payload's body */
	size_t idlen;
};
/* Picks the rule's method (a certificate first when want_cert) and our
 * identity (noted in sa->me_id for show); false and why when none works. */
bool proof_prepare(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_rule *r,
                   bool want_cert, struct ike_proof *p, char *why, size_t whylen);
/* Writes our ID, CERTs and AUTH. */
bool proof_put(struct ike_engine *e, const struct ike_ikesa *sa, struct ike_proof *p,
               bool of_initiator, struct ike_writer *w, char *why, size_t whylen);
void proof_free(struct ike_proof *p);
/* A CERTREQ naming the roots of rule r (NULL: of every rule), if any. */
void proof_put_certreq(struct ike_engine *e, const struct ike_rule *r, struct ike_writer *w);
/* Checks the peer's ID, CERTs and AUTH of m against rule r. */
bool proof_check(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_rule *r,
                 const struct ike_message *m, bool of_initiator, char *why, size_t whylen);
/* The peer's SIGNATURE_HASH_ALGORITHMS from its IKE_SA_INIT. */
void proof_read_hashes(struct ike_ikesa *sa, const struct ike_message *m);

/* auth.c: IKE_AUTH */
enum ike_state auth_start(struct ike_engine *e, struct ike_ikesa *sa);
enum ike_state auth_request(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_rx *rx);
enum ike_state auth_response(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_rx *rx);

/* child.c: the Child SA of IKE_AUTH (and later CREATE_CHILD_SA) */
void child_offer(struct ike_engine *e, const struct ike_rule *r, struct ike_offer *o,
                 bool with_pfs);
void child_ts_initiator(const struct ike_ikesa *sa, const struct ike_rule *r,
                        const struct spd_packet *trigger, struct ike_ts *tsi, struct ike_ts *tsr);
/* Responder: the rule for the peer's request and the narrowed selectors;
 * NULL and why when none fits. */
const struct ike_rule *child_pick_rule(struct ike_engine *e, struct ike_ikesa *sa,
                                       const struct ike_ts *tsi, const struct ike_ts *tsr,
                                       struct ike_ts *out_i, struct ike_ts *out_r, char *why,
                                       size_t whylen);
/* What makes a Child SA: the exchange that negotiated it. */
struct child_params {
	const struct ike_rule *rule;
	const struct ike_choice *choice;
	uint32_t spi_in, spi_out;
	const struct ike_ts *tsi, *tsr;   /* as the exchange carried them */
	bool tunnel;
	bool we_initiated;            /* the exchange (§2.17: its initiator's keys first) */
	struct ike_nonces nonces;     /* Ni, Nr of that exchange */
	const uint8_t *g_ir;          /* its Diffie-Hellman secret (PFS), or NULL */
	size_t g_ir_len;
	bool standby;                 /* a rekey's responder: send on it once the old one goes */
};
/* Derives the keys of a Child SA and installs it; NULL and why on failure. */
struct ike_child *child_install(struct ike_engine *e, struct ike_ikesa *sa,
                                const struct child_params *p, char *why, size_t whylen);
struct ike_child *child_by_spi_in(struct ike_ikesa *sa, uint32_t spi);
/* why: for the event log (NULL: from the Child SA's flags). */
void child_remove_all(struct ike_engine *e, struct ike_ikesa *sa, const char *why);
struct ike_child *child_by_spi_out(struct ike_ikesa *sa, enum sa_proto proto, uint32_t spi);
void child_remove(struct ike_engine *e, struct ike_ikesa *sa, struct ike_child *c,
                  const char *why);
/* Removes the inbound SAs whose moment has passed (all of them: now). */
void child_linger_expire(struct ike_engine *e, bool all);

/* info.c: INFORMATIONAL */
enum ike_state info_request(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_rx *rx);
enum ike_state info_response(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_rx *rx);
void info_delete_ike(struct ike_engine *e, struct ike_ikesa *sa);
void info_delete_child(struct ike_engine *e, struct ike_ikesa *sa, struct ike_child *c);
void info_dpd(struct ike_engine *e, struct ike_ikesa *sa);

/* rekey.c: CREATE_CHILD_SA -- Child SA and IKE SA rekeys, both roles */
enum ike_state create_request(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_rx *rx);
enum ike_state create_response(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_rx *rx);
/* Starts what is due on an established SA with no request out: a Delete
 * of a replaced Child SA, a Child SA or IKE SA rekey. */
void rekey_work(struct ike_engine *e, struct ike_ikesa *sa);
void pending_free(struct ike_ikesa *sa);
/* The time a rekey of a lifetime of life_s seconds is due (0: none). */
uint64_t rekey_time(uint64_t from_ms, uint64_t life_s, bool initiator);

/* Conversions between the negotiated transform IDs and src/crypto's. */
bool ike_enc_of(uint16_t id, uint16_t key_length, enum crypto_enc *out);
bool ike_mac_of(uint16_t id, enum crypto_mac *out);
bool ike_prf_of(uint16_t id, enum crypto_prf *out);
void ike_addr_to_sa(const struct ike_addr *a, struct sa_address *out);

#endif
