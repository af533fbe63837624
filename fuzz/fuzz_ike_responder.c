/*
 * fuzz_ike_responder: the IKEv2 engine as a responder (src/ike: engine.c,
 * init.c, auth.c, child.c, info.c, the CREATE_CHILD_SA rekeys) -- the whole
 * path of an IKE_SA_INIT request, the IKE_AUTH behind it and what may
 * follow on the IKE SA.
 *
 * Every input gets a fresh responder engine (192.0.2.2:500) with a fixed
 * policy: mmsecmethods RESPONDER_MM (AES-GCM, AES-CBC and 3DES with groups
 * 31, 19 and 14), one transport-mode rule (id 7, selectors any, pre-shared
 * key PSK, qmsecmethods ESP[AESGCM128] ESP[AES128,SHA256]), liveness
 * checks after 10 s. The peer is 192.0.2.1. Randomness is deterministic
 * and reset for every input: the host's random callback and OpenSSL's
 * (RAND_set_rand_method, so that the Diffie-Hellman key pairs OpenSSL
 * generates and the CBC IVs are the same from run to run too; shared with
 * fuzz_ike_initiator in fuzz_ike_common.c).
 *
 * The responder's Child SAs live 300 s and its IKE SAs 600 s, so that the
 * clock reaches its own CREATE_CHILD_SA rekeys (at 92% of the lifetime).
 *
 * Byte 0, low 3 bits (modulo 5), picks the mode:
 *
 *   0  RAW INIT: the rest is one IKE_SA_INIT request datagram from the
 *      peer; byte 0's bit 3 makes both addresses IPv6 (2001:db8::1/::2),
 *      bit 4 uses port 4500, bit 5 delivers the datagram again 100 ms
 *      later (the retransmission path). Then ticks at +1 s and +31 s
 *      (the half-open SA expires).
 *
 *   1  INIT EDITED: a real initiator engine in the process (byte 1 picks
 *      its policy: init_mm, init_qm, variant_ok()) starts a negotiation;
 *      its first
 *      IKE_SA_INIT request is edited by the rest of the input (see
 *      edit()) before the responder gets it; then the exchange runs on
 *      (responses to the initiator, its IKE_AUTH to the responder, ...),
 *      with ticks for retransmissions, liveness checks, expiry and the
 *      responder's rekeys of the Child SA and the IKE SA.
 *
 *   2  AUTH EDITED: the same, but the exchange runs untouched up to the
 *      initiator's IKE_AUTH request, which is edited; the responder gets
 *      the edited copy, then the original.
 *
 *   3  SEALED SCRIPT: the harness itself is the initiator, with the
 *      library's own crypto (dh_init, ike_sa_keys_initial, ike_sk_seal):
 *      byte 1 picks the IKE suite (struct suite, low 3 bits), PFS in the
 *      responder's rule (bit 3), NAT detection (bits 4-5), port 4500 (bit
 *      6), installs refused by the host (bit 7); it sends an IKE_SA_INIT request, derives the IKE SA's
 *      keys from the answer, and runs a script of operations from the rest
 *      of the input (op byte % 4):
 *        0 SEALED: a request or response whose plaintext payload chain is
 *          fuzz input, optionally behind an IDi and an AUTH the harness
 *          computes with the pre-shared key, so that the fuzzer reaches the
 *          Child SA code behind authentication (sealed_op());
 *        1 RAW: a datagram as in mode 4 (raw_op());
 *        2 TICK: [step] the clock advances by tick_steps[step % 8];
 *        3 by op bits 2-3: our IKE_SA_INIT again (a retransmission); a new
 *          IKE SA [suite]; an IKE SA rekey by the harness [suite], which
 *          derives the new SA's keys (ike_sa_keys_rekey) and goes on over
 *          it (manual_rekey()); our last sealed message again.
 *      The engine's keys are never looked at: the harness has its own.
 *
 *   4  RAW SEQUENCE: the rest is a list of datagrams from the peer, each
 *      [ctl][length:16][bytes]; ctl can patch in the SPIs of the last
 *      message the responder sent, the length field, the message ID it
 *      expects next, the port 4500, a response flag with the ID of its
 *      last request, a tick before, a duplicate delivery (see raw_op()).
 *
 * Invariants (abort() with "INVARIANT BROKEN"):
 *   - every datagram the responder sends goes from its address (port 500
 *     or 4500) to the peer, decodes, is at most 8192 octets; a response is
 *     sent only while a request is served and carries that request's
 *     exchange, message ID and SPIs (the responder's SPI may be new only
 *     in an IKE_SA_INIT answer, which never has the Initiator flag) and
 *     the other Initiator flag (after a rekey by the responder, it is the
 *     original initiator: RFC 7296 §3.1);
 *   - nothing is sent in answer to a datagram that does not decode;
 *   - each Child SA installed has an inbound SPI >= 256, keys of the
 *     algorithm's lengths, one inbound and one outbound half; every remove
 *     names a pair that is installed, and ike_engine_free() leaves none;
 *   - mode 3: every protected message the responder sends on the
 *     harness's IKE SA verifies and decrypts with the harness's keys, and
 *     its inner payloads decode; an AEAD IV is never used for two
 *     different messages;
 *   - mode 2, with an initiator policy the responder accepts: the edited
 *     IKE_AUTH (which cannot pass the ICV) does not keep the original from
 *     establishing the IKE SA and its Child SA on both sides.
 * ASan reports any read outside a datagram (each is copied to a buffer of
 * exactly its size) and any leak (both engines are freed per input).
 *
 * Environment: FUZZ_IKE_VERBOSE=1 prints both engines' log lines;
 * FUZZ_IKE_LAX_RESEND=1 tolerates a known finding (see resp_log);
 * SECPOL_FUZZ_SEEDS=DIR writes the seed corpus (fuzz/corpus/
 * fuzz_ike_responder) to DIR and exits.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_ike_common.h"
#include "ike/ike.h"
#include "ike/keys.h"
#include "ike/message.h"
#include "ike/proposal.h"
#include "ike/sk.h"
#include "ike/ts.h"
#include "policy/diag.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MSG_MAX 8192              /* the engine's IKE_MSG_MAX */
#define QMAX 32                   /* datagrams in flight between the engines */
#define MAX_OPS 48                /* script operations per input */
#define RULE_ID 7
#define T0 1000                   /* ms: the clock at the start */

static const char PSK[] = "fuzz-sesame";
static const char RESPONDER_MM[] =
	"AESGCM128-SHA256-31 AES128-SHA256-31 AESGCM256-SHA384-19 AES256-SHA512-19 "
	"3DES-SHA1-31 AESGCM256-SHA512-31 AES256-SHA256-14 3DES-SHA1-14";
/* Short lifetimes (the policy's minimum for Child SAs), so that the clock
 * reaches the responder's own rekeys. */
static const char RESPONDER_QM[] = "ESP[AESGCM128]:100000k/300s ESP[AES128,SHA256]:100000k/300s";
#define RESPONDER_IKE_LIFE_S 600

/* ---- the two sides ------------------------------------------------------ */

enum { RESP = 0, INIT = 1 };

struct side {
	int id;
	struct ike_engine *e;
	struct ike_addr addr;         /* its address, port 500 */
	struct ike_rule rule;
	struct installs inst;
	bool refuse_install;
};

struct dgram {
	int to;
	struct ike_addr src, dst;
	size_t len;
	uint8_t data[MSG_MAX];
};

static struct side sides[2];
static struct ike_addr peer;          /* the responder's peer (the initiator) */
static struct dgram queue[QMAX];   /* a ring: qh the oldest, qn in flight */
static size_t qh, qn;
static bool deliver;                  /* queue what each side sends for the other */

/* The request being served by the responder (for the checks of what it sends). */
static struct {
	bool active, decodes;
	struct ike_header h;
} serving;

/* The last datagram the responder sent, for the RAW patches and mode 3. */
static struct {
	bool any;
	uint64_t spi_i, spi_r;
	uint32_t resp_mid, req_mid;   /* of its last response / its last request */
	bool resp_seen, req_seen;
	size_t len;
	uint8_t data[MSG_MAX];
} rlast;

/* The last response on each IKE SA (by SPIs), to recognise a resend of it:
 * FUZZ_IKE_LAX_RESEND=1 lets such a resend answer a request of another
 * exchange (the known finding fuzz/crashes/fuzz_ike_responder-resend-other-
 * exchange), so that fuzzing can go past it. */
#define RESP_LOG 16
static struct {
	uint64_t spi_i, spi_r, h;
} resp_log[RESP_LOG];
static size_t nresp_log;
static bool lax_resend;

static bool is_resend(const struct ike_header *h, const uint8_t *msg, size_t len)
{
	uint64_t x = fnv(msg, len);
	for (size_t i = 0; i < nresp_log && i < RESP_LOG; i++)
		if (resp_log[i].spi_i == h->spi_i && resp_log[i].spi_r == h->spi_r)
			return resp_log[i].h == x;
	return false;
}

static void log_resp(const struct ike_header *h, const uint8_t *msg, size_t len)
{
	size_t i;
	for (i = 0; i < nresp_log && i < RESP_LOG; i++)
		if (resp_log[i].spi_i == h->spi_i && resp_log[i].spi_r == h->spi_r)
			break;
	if (i == RESP_LOG)
		i = nresp_log++ % RESP_LOG;
	else if (i == nresp_log)
		nresp_log++;
	resp_log[i].spi_i = h->spi_i;
	resp_log[i].spi_r = h->spi_r;
	resp_log[i].h = fnv(msg, len);
}

static struct ike_message scratch_m;   /* decoded forms: large, kept off the stack */
static uint8_t scratch_buf[MSG_MAX + 64];

/* ---- mode 3: the harness as the initiator ------------------------------ */

struct suite {
	const char *mm;               /* one main-mode method: the single proposal */
	enum crypto_enc enc;
	enum crypto_mac integ;
	enum crypto_prf prf;
	struct ike_offer offer;       /* parsed once */
};

static struct suite suites[] = {
	{ "AESGCM128-SHA256-31", ENC_AES128_GCM, MAC_NONE, PRF_HMAC_SHA2_256, { 0 } },
	{ "AES128-SHA256-31", ENC_AES128_CBC, MAC_HMAC_SHA256_128, PRF_HMAC_SHA2_256, { 0 } },
	{ "3DES-SHA1-31", ENC_3DES_CBC, MAC_HMAC_SHA1_96, PRF_HMAC_SHA1, { 0 } },
	{ "AESGCM256-SHA384-19", ENC_AES256_GCM, MAC_NONE, PRF_HMAC_SHA2_384, { 0 } },
	{ "AESGCM256-SHA512-31", ENC_AES256_GCM, MAC_NONE, PRF_HMAC_SHA2_512, { 0 } },
	{ "AES256-SHA512-19", ENC_AES256_CBC, MAC_HMAC_SHA512_256, PRF_HMAC_SHA2_512, { 0 } },
};
#define NSUITES (sizeof(suites) / sizeof(suites[0]))

#define IV_LOG 64

struct manual {
	bool active;                  /* mode 3 is running */
	bool keyed;                   /* the IKE SA's keys are derived */
	const struct suite *su;
	uint64_t spi_i, spi_r;
	uint8_t ni[32], nr[IKE_NONCE_MAX];
	size_t nr_len;
	uint8_t init[MSG_MAX];        /* our IKE_SA_INIT request (signed by AUTH) */
	size_t init_len;
	struct ike_sa_keys keys;
	struct ike_sk_key seal, open;
	uint32_t next_mid;            /* of our next request */
	struct aead_iv ivs[IV_LOG];
	size_t nivs;
};

static struct manual man;

/* Our last sealed message, for a byte-identical resend. */
static uint8_t last_sealed[MSG_MAX + 1024];
static size_t last_sealed_len;
static uint16_t last_sealed_port;

static void manual_forget(void)
{
	if (man.keyed) {
		ike_sk_key_free(&man.seal);
		ike_sk_key_free(&man.open);
		ike_sa_keys_wipe(&man.keys);
	}
	man.keyed = false;
	man.nivs = 0;
}

/* A protected message of the harness's IKE SA from the responder: it must
 * open with our keys, and an AEAD IV must not come back with other octets. */
static void manual_check(const uint8_t *msg, size_t len)
{
	uint8_t *buf = malloc(len);
	if (!buf)
		return;
	memcpy(buf, msg, len);
	const char *why = NULL;
	if (ike_decode(buf, len, &scratch_m, &why) != IKE_DECODE_OK)
		fail("the responder sent a message it cannot decode");
	const struct ike_payload *p = ike_find(&scratch_m, IKE_PL_SK);
	if (!p)
		fail("the responder sent an IKE SA's message without an SK payload");
	size_t sk_off = (size_t)(p->body - 4 - buf);
	if (crypto_enc_info(man.su->enc)->aead && p->len >= 8 &&
	    !aead_iv_unique(man.ivs, &man.nivs, IV_LOG, p->body, buf + len))
		fail("the responder used an AEAD IV twice under one key");
	uint8_t next = p->next;
	uint8_t *inner;
	size_t inner_len;
	if (!ike_sk_open(&man.open, buf, len, sk_off, &inner, &inner_len, &why))
		fail("a message of the responder does not verify with the initiator's keys");
	if (ike_decode_inner(inner, inner_len, next, &scratch_m, &why) != IKE_DECODE_OK)
		fail("the inner payloads of the responder's message do not decode");
	free(buf);
}

/* ---- host callbacks ------------------------------------------------------ */

static void check_responder_send(const struct ike_addr *local, const struct ike_addr *remote,
                                 const uint8_t *msg, size_t len)
{
	if (len > MSG_MAX)
		fail("the responder sent more than IKE_MSG_MAX octets");
	if (!addr_same(local, &sides[RESP].addr) ||
	    (local->port != IKE_PORT && local->port != IKE_NATT_PORT))
		fail("the responder sent from an address or port not its own");
	if (!addr_same(remote, &peer) || (remote->port != IKE_PORT && remote->port != IKE_NATT_PORT))
		fail("the responder sent to someone other than the peer");
	memcpy(scratch_buf, msg, len);
	const char *why = NULL;
	if (ike_decode(scratch_buf, len, &scratch_m, &why) != IKE_DECODE_OK) {
		fprintf(stderr, "(%s)\n", why ? why : "?");
		fail("the responder sent a message that does not decode");
	}
	const struct ike_header hdr = scratch_m.hdr, *h = &hdr;
	if (h->flags & IKE_FLAG_RESPONSE) {
		/* I: set by the original initiator, which after an IKE SA rekey is
		 * the side that rekeyed (RFC 7296 §3.1). */
		if (h->exchange == IKE_SA_INIT && (h->flags & IKE_FLAG_INITIATOR))
			fail("the responder's IKE_SA_INIT answer has the Initiator flag");
		if (h->exchange != IKE_SA_INIT && serving.decodes &&
		    !(h->flags & IKE_FLAG_INITIATOR) == !(serving.h.flags & IKE_FLAG_INITIATOR))
			fail("a response with the same Initiator flag as its request");
		if (!serving.active)
			fail("the responder sent a response while serving no request");
		if (!serving.decodes)
			fail("the responder answered a datagram that does not decode");
		if (h->exchange != serving.h.exchange && !(lax_resend && is_resend(h, msg, len)))
			fail("a response of another exchange than the request");
		if (h->message_id != serving.h.message_id || h->spi_i != serving.h.spi_i)
			fail("a response with another message ID or initiator SPI than the request");
		if (h->exchange != IKE_SA_INIT && h->spi_r != serving.h.spi_r)
			fail("a response with another responder SPI than the request");
		rlast.resp_mid = h->message_id;
		rlast.resp_seen = true;
		log_resp(h, msg, len);
	} else {
		rlast.req_mid = h->message_id;
		rlast.req_seen = true;
	}
	rlast.any = true;
	rlast.spi_i = h->spi_i;
	rlast.spi_r = h->spi_r;
	rlast.len = len;
	memcpy(rlast.data, msg, len);
	if (man.keyed && h->spi_i == man.spi_i && h->spi_r == man.spi_r &&
	    h->exchange != IKE_SA_INIT)
		manual_check(msg, len);
	if (man.active && man.keyed && (h->flags & IKE_FLAG_RESPONSE) && h->spi_i == man.spi_i &&
	    h->spi_r == man.spi_r && h->exchange != IKE_SA_INIT && h->message_id == man.next_mid)
		man.next_mid++;
}

static void on_send(void *ctx, const struct ike_addr *local, const struct ike_addr *remote,
                    const uint8_t *msg, size_t len)
{
	struct side *s = ctx;
	if (s->id == RESP)
		check_responder_send(local, remote, msg, len);
	if (!deliver || qn == QMAX || len > MSG_MAX)
		return;
	struct dgram *d = &queue[(qh + qn++) % QMAX];
	d->to = 1 - s->id;
	d->src = *local;
	d->dst = *remote;
	d->len = len;
	memcpy(d->data, msg, len);
}

static bool on_install(void *ctx, const struct ike_child_install *c, char *err, size_t errlen)
{
	struct side *s = ctx;
	if (s->refuse_install) {
		snprintf(err, errlen, "the fuzz harness refuses this install");
		return false;
	}
	install_check_halves(c);
	install_check_keys(&c->in.sa);
	install_check_keys(&c->out.sa);
	installs_add(&s->inst, c);
	return true;
}

static void on_remove(void *ctx, enum sa_proto proto, uint32_t spi_in,
                      const struct sa_address *local, uint32_t spi_out,
                      const struct sa_address *remote)
{
	(void)proto;
	(void)local;
	(void)remote;
	struct side *s = ctx;
	installs_remove(&s->inst, spi_in, spi_out);
}

static void on_log(void *ctx, int level, const char *line)
{
	(void)level;
	if (fuzz_ike_verbose)
		fprintf(stderr, "[%s] %s\n", ((struct side *)ctx)->id == RESP ? "R" : "I", line);
}

/* ---- setting up --------------------------------------------------------- */

static struct mm_methods responder_mm;
static struct qm_methods responder_qm;

/* The initiator engine's policies (modes 1 and 2): byte v. */
static const char *const init_mm[8] = {
	"AESGCM128-SHA256-31", "AES128-SHA256-31", "AESGCM256-SHA384-19", "3DES-SHA1-31",
	"AES256-SHA512-19 AESGCM128-SHA256-31",
	"AES256-SHA256-14 AESGCM128-SHA256-31",   /* KE 14: INVALID_KE_PAYLOAD(31), retry */
	"AES192-SHA384-20",                        /* NO_PROPOSAL_CHOSEN */
	"AESGCM256-SHA512-31",
};
static const char *const init_qm[4] = {
	"ESP[AESGCM128]", "ESP[AES128,SHA256]",
	"ESP[AESGCM256]",                          /* the Child SA: NO_PROPOSAL_CHOSEN */
	"ESP[AES256,SHA1] ESP[AES128,SHA256]",
};
static struct mm_methods init_mm_p[8];
static struct qm_methods init_qm_p[4];

/* variant byte: mm = v & 7, qm = v >> 3 & 3, bit 5 another PSK, bit 6
 * forced UDP encapsulation, bit 7 tunnel mode. */
static bool variant_ok(uint8_t v)
{
	return (v & 7) != 6 && (v >> 3 & 3) != 2 && !(v & 0xe0);
}

static bool resp_pfs;              /* mode 3: the responder's rule asks for PFS */

static void setup_side(struct side *s, int id, bool v6, const struct qm_methods *qm,
                       const char *psk, bool tunnel, bool force_encap)
{
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->addr.family = v6 ? AF_INET6 : AF_INET;
	s->addr.port = IKE_PORT;
	if (v6)
		inet_pton(AF_INET6, id == RESP ? "2001:db8::2" : "2001:db8::1", s->addr.bytes);
	else
		inet_pton(AF_INET, id == RESP ? "192.0.2.2" : "192.0.2.1", s->addr.bytes);
	struct ike_rule *r = &s->rule;
	r->id = RULE_ID;
	snprintf(r->name, sizeof(r->name), "fuzz rule");
	r->methods = *qm;
	struct diag d;
	diag_init(&d);
	parse_or_die(policy_auth_add(&r->auth, AUTH_PSK, psk, &d), "the PSK");
	r->nsel = 1;
	r->local[0].net.family = r->remote[0].net.family = AF_INET;   /* any */
	r->tunnel = tunnel;
	r->force_encap = force_encap;
	r->pfs = id == RESP && resp_pfs;
	if (tunnel) {
		r->tunnel_peer.family = AF_INET;
		inet_pton(AF_INET, id == RESP ? "192.0.2.1" : "192.0.2.2", r->tunnel_peer.bytes);
	}
	struct ike_config cfg = { .retransmit_ms = 500, .retransmit_tries = 3,
	                          .dpd_s = id == RESP ? 10 : 0 };
	struct ike_host h = { .ctx = s, .send = on_send, .install = on_install,
	                      .remove = on_remove, .log = on_log, .random = host_random };
	s->e = ike_engine_new(&cfg, &h);
	if (!s->e)
		fail("ike_engine_new failed");
}

static void set_policy(struct side *s, const struct mm_methods *mm)
{
	struct ike_policy p = { .mm = *mm, .rules = &s->rule, .nrules = 1,
	                        .ike_lifetime_s = s->id == RESP ? RESPONDER_IKE_LIFE_S : 28800 };
	char err[128];
	if (!ike_engine_set_policy(s->e, &p, err, sizeof(err)))
		fail("ike_engine_set_policy failed");
}

static void world_begin(bool v6)
{
	rng_reset();
	qh = qn = 0;
	deliver = false;
	memset(&serving, 0, sizeof(serving));
	rlast.any = rlast.resp_seen = rlast.req_seen = false;
	nresp_log = 0;
	memset(&man, 0, sizeof(man));
	last_sealed_len = 0;
	setup_side(&sides[RESP], RESP, v6, &responder_qm, PSK, false, false);
	set_policy(&sides[RESP], &responder_mm);
	memset(&sides[INIT], 0, sizeof(sides[INIT]));
	sides[INIT].id = INIT;
	peer.family = v6 ? AF_INET6 : AF_INET;
	peer.port = IKE_PORT;
	if (v6)
		inet_pton(AF_INET6, "2001:db8::1", peer.bytes);
	else
		inet_pton(AF_INET, "192.0.2.1", peer.bytes);
}

static void side_end(struct side *s)
{
	if (!s->e)
		return;
	ike_engine_free(s->e);
	s->e = NULL;
	for (size_t i = 0; i < s->inst.n; i++)
		if (s->inst.e[i].live)
			fail("a Child SA stays installed after ike_engine_free");
}

static void world_end(uint64_t now)
{
	/* The read-only views over whatever state the input left. */
	struct ike_stats st;
	ike_engine_stats(sides[RESP].e, &st);
	if (st.half_open_sas > st.active_ike_sas)
		fail("more half-open IKE SAs than IKE SAs");
	ike_engine_show_sas(sides[RESP].e, fuzz_ike_devnull, now);
	ike_engine_show_failures(sides[RESP].e, fuzz_ike_devnull);
	/* Deletes for what is established (checked like every send), then free. */
	ike_engine_flush(sides[RESP].e, now);
	ike_engine_stats(sides[RESP].e, &st);
	if (st.active_ike_sas != 0)
		fail("IKE SAs left after ike_engine_flush");
	manual_forget();
	man.active = false;
	deliver = false;
	side_end(&sides[RESP]);
	side_end(&sides[INIT]);
	qh = qn = 0;
}

/* One datagram from the peer to the responder, in a buffer of its size. */
static void feed(const uint8_t *msg, size_t len, uint16_t port, uint64_t now)
{
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return;
	memcpy(buf, msg, len);
	serving.decodes = len <= sizeof(scratch_buf) &&
	                  ike_decode(msg, len, &scratch_m, NULL) == IKE_DECODE_OK;
	if (serving.decodes)
		serving.h = scratch_m.hdr;
	serving.active = true;
	struct ike_addr local = sides[RESP].addr, from = peer;
	local.port = from.port = port;
	ike_engine_input(sides[RESP].e, &local, &from, buf, len, now);
	serving.active = false;
	free(buf);
}

static void tick_all(uint64_t now)
{
	ike_engine_tick(sides[RESP].e, now);
	if (sides[INIT].e)
		ike_engine_tick(sides[INIT].e, now);
}

/* ---- edits of a message (modes 1 and 2) -------------------------------- */

struct piece {
	uint8_t type, crit;
	const uint8_t *body;
	size_t len;
};

/* The header of msg (28 octets) and the pieces as a message in out. */
static size_t rebuild(const uint8_t *msg, const struct piece *pc, size_t n, uint8_t *out,
                      size_t cap)
{
	size_t at = IKE_HEADER_LEN;
	memcpy(out, msg, IKE_HEADER_LEN);
	out[16] = n ? pc[0].type : 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = pc[i].len > 0xffff - 4 ? 0xffff - 4 : pc[i].len;
		if (at + 4 + l > cap)
			break;
		out[at] = i + 1 < n ? pc[i + 1].type : 0;
		out[at + 1] = pc[i].crit;
		out[at + 2] = (uint8_t)((l + 4) >> 8);
		out[at + 3] = (uint8_t)(l + 4);
		memcpy(out + at + 4, pc[i].body, l);
		at += 4 + l;
	}
	put32(out + 24, (uint32_t)at);
	return at;
}

/*
 * Edits the valid message msg (len) into out by the input; returns the
 * new length. Kind (byte % 4):
 *   0 XOR:     (offset:16, xor:8) triples, offset modulo the length;
 *   1 REPLACE: [index] the body of payload index % count becomes the rest
 *              (kind bit 6: the payload is dropped instead);
 *   2 INSERT:  [index][type][critical] the rest becomes a payload before
 *              payload index % (count + 1);
 *   3 CUT:     [length:16] the message is cut to length % (len + 1) and
 *              the rest appended (kind bit 7: the header's length fixed).
 * The payload lengths and the header's length are kept right by 1 and 2.
 */
static size_t edit(const uint8_t *msg, size_t len, struct in *in, uint8_t *out, size_t cap)
{
	uint8_t kind = get8(in);
	static struct ike_message m;
	if (len > cap)
		return 0;
	memcpy(out, msg, len);
	switch (kind % 4) {
	case 0:
		for (int k = 0; k < 32 && in->n >= 3; k++) {
			uint16_t off = get16(in);
			out[off % len] ^= get8(in);
		}
		return len;
	case 1:
	case 2: {
		if (ike_decode(msg, len, &m, NULL) != IKE_DECODE_OK || m.skipped)
			return len;
		struct piece pc[IKE_MAX_PAYLOADS + 1];
		size_t n = 0;
		uint8_t idx = get8(in);
		uint8_t type = 0, crit = 0;
		if (kind % 4 == 2) {
			type = get8(in);
			crit = get8(in) & 0x80;
		}
		const uint8_t *rest;
		size_t rlen = take(in, in->n, &rest);
		size_t at = kind % 4 == 1 ? (m.count ? idx % m.count : 0) : idx % (m.count + 1);
		for (size_t i = 0; i <= m.count; i++) {
			if (kind % 4 == 2 && i == at)
				pc[n++] = (struct piece){ type, crit, rest, rlen };
			if (i == m.count)
				break;
			const struct ike_payload *p = &m.payload[i];
			struct piece x = { p->type, p->critical ? 0x80 : 0, p->body, p->len };
			if (kind % 4 == 1 && i == at) {
				if (kind & 0x40)
					continue;
				x.body = rest;
				x.len = rlen;
			}
			pc[n++] = x;
		}
		return rebuild(msg, pc, n, out, cap);
	}
	default: {
		uint16_t cut = get16(in);
		size_t keep = cut % (len + 1);
		const uint8_t *rest;
		size_t rlen = take(in, cap - keep, &rest);
		memcpy(out + keep, rest, rlen);
		if ((kind & 0x80) && keep + rlen >= IKE_HEADER_LEN)
			put32(out + 24, (uint32_t)(keep + rlen));
		return keep + rlen;
	}
	}
}

/* ---- modes 1 and 2: two engines ------------------------------------------ */

static void setup_initiator(uint8_t v)
{
	bool other_psk = v & 0x20, encap = v & 0x40, tunnel = v & 0x80;
	setup_side(&sides[INIT], INIT, false, &init_qm_p[v >> 3 & 3],
	           other_psk ? "not-the-fuzz-key" : PSK, tunnel, encap);
	set_policy(&sides[INIT], &init_mm_p[v & 7]);
	if (tunnel) {
		/* The initiator's tunnel: its own /24 to the responder's. */
		struct ike_rule *r = &sides[INIT].rule;
		inet_pton(AF_INET, "198.51.100.0", r->local[0].net.bytes);
		inet_pton(AF_INET, "203.0.113.0", r->remote[0].net.bytes);
		r->local[0].len = r->remote[0].len = 24;
		set_policy(&sides[INIT], &init_mm_p[v & 7]);
	}
	deliver = true;
}

static void acquire(uint64_t now)
{
	struct spd_packet p = { .family = AF_INET, .protocol = 1 };
	memcpy(p.src, sides[INIT].addr.bytes, 4);
	memcpy(p.dst, sides[RESP].addr.bytes, 4);
	ike_engine_acquire(sides[INIT].e, RULE_ID, &sides[INIT].addr, &sides[RESP].addr, &p, now);
}

enum target { T_NONE, T_INIT, T_AUTH };

/* Delivers what is queued, first in first out; the first request of the
 * target exchange from the initiator is edited on the way. */
static void pump(uint64_t now, enum target *t, struct in *edits)
{
	static struct dgram d;
	static uint8_t edited[MSG_MAX + 4096];
	for (int rounds = 0; qn > 0 && rounds < 64; rounds++) {
		d = queue[qh];
		qh = (qh + 1) % QMAX;
		qn--;
		if (d.to == INIT) {
			uint8_t *buf = malloc(d.len ? d.len : 1);
			if (!buf)
				continue;
			memcpy(buf, d.data, d.len);
			ike_engine_input(sides[INIT].e, &d.dst, &d.src, buf, d.len, now);
			free(buf);
			continue;
		}
		bool request = d.len > 19 && !(d.data[19] & IKE_FLAG_RESPONSE);
		if (*t != T_NONE && request &&
		    d.data[18] == (*t == T_INIT ? IKE_SA_INIT : IKE_AUTH)) {
			enum target was = *t;
			*t = T_NONE;
			size_t n = edit(d.data, d.len, edits, edited, sizeof(edited));
			feed(edited, n, d.src.port, now);
			if (was == T_INIT)
				continue;      /* the initiator retransmits the original later */
		}
		feed(d.data, d.len, d.src.port, now);
	}
}

/* The exchange runs on: retransmissions, then liveness checks (the
 * responder's DPD), then the half-open expiry. */
static void run_on(uint64_t now, enum target *t, struct in *in)
{
	static const uint64_t steps[] = { 600, 1500, 11000, 31000, 250000, 300000 };
	for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		now += steps[k];
		tick_all(now);
		pump(now, t, in);
	}
	world_end(now);
}

/* Mode 1: the initiator's first IKE_SA_INIT request edited. */
static void run_init_edit(struct in *in)
{
	enum target t = T_INIT;
	uint8_t v = get8(in);
	world_begin(false);
	setup_initiator(v);
	acquire(T0);
	pump(T0, &t, in);
	run_on(T0, &t, in);
}

/* Mode 2: the initiator's IKE_AUTH request edited. A forgery (the edits
 * cannot pass the ICV) must not keep the real request out. */
static void run_auth_edit(struct in *in)
{
	enum target t = T_AUTH;
	uint8_t v = get8(in);
	world_begin(false);
	setup_initiator(v);
	acquire(T0);
	pump(T0, &t, in);
	if (t == T_NONE && variant_ok(v)) {
		struct ike_stats st;
		ike_engine_stats(sides[RESP].e, &st);
		bool up = false;
		for (size_t i = 0; i < sides[INIT].inst.n; i++)
			up = up || (sides[INIT].inst.e[i].live && !sides[INIT].inst.e[i].out_gone);
		if (st.main_mode_sas != 1 || st.quick_mode_sas != 1 || !up)
			fail("an edited IKE_AUTH request kept the real one from establishing the SA");
	}
	run_on(T0, &t, in);
}

/* ---- mode 0 ---------------------------------------------------------- */

static void run_raw_init(uint8_t flags, struct in *in)
{
	world_begin(flags & 1);
	uint16_t port = flags & 2 ? IKE_NATT_PORT : IKE_PORT;
	uint64_t now = T0;
	feed(in->p, in->n, port, now);
	if (flags & 4)
		feed(in->p, in->n, port, now + 100);
	now += 1000;
	ike_engine_tick(sides[RESP].e, now);
	now += 31000;
	ike_engine_tick(sides[RESP].e, now);
	world_end(now);
}

/* ---- RAW datagrams (modes 3 and 4) -------------------------------------- */

/* Clock steps: retransmission, liveness check (and half-open expiry),
 * the responder's Child SA rekey (276 s) and IKE SA rekey (552 s). */
static const uint64_t tick_steps[8] = { 0, 600, 2100, 11000, 31000, 280000, 560000, 3600000 };

/*
 * [ctl][length:16][octets]. ctl:
 *   bit 0  the SPIs (octets 0..15) from the last message the responder sent
 *   bit 1  the header's length field (24..27) := the datagram's length
 *   bit 2  the message ID (20..23) := the responder's last response's + 1
 *   bit 3  from port 4500
 *   bits 4-5  advance the clock before (0, 0.6, 11, 280 s) and tick
 *   bit 6  a response to the responder's last request: its message ID, flags I|R
 *   bit 7  delivered twice
 */
static void raw_op(struct in *in, uint64_t *now)
{
	uint8_t ctl = get8(in);
	static uint8_t msg[MSG_MAX + 4096];
	size_t len = take_chunk_copy(in, msg, sizeof(msg));
	if ((ctl & 1) && rlast.any && len >= 16) {
		put64(msg, rlast.spi_i);
		put64(msg + 8, rlast.spi_r);
	}
	if ((ctl & 2) && len >= 28)
		put32(msg + 24, (uint32_t)len);
	if ((ctl & 4) && rlast.resp_seen && len >= 24)
		put32(msg + 20, rlast.resp_mid + 1);
	if ((ctl & 0x40) && rlast.req_seen && len >= 24) {
		put32(msg + 20, rlast.req_mid);
		msg[19] = IKE_FLAG_INITIATOR | IKE_FLAG_RESPONSE;
	}
	static const uint8_t pick[4] = { 0, 1, 3, 5 };
	uint64_t step = tick_steps[pick[ctl >> 4 & 3]];
	if (step) {
		*now += step;
		tick_all(*now);
	}
	uint16_t port = ctl & 8 ? IKE_NATT_PORT : IKE_PORT;
	feed(msg, len, port, *now);
	if (ctl & 0x80)
		feed(msg, len, port, *now);
}

static void run_raw_sequence(struct in *in)
{
	world_begin(false);
	uint64_t now = T0;
	for (int k = 0; k < MAX_OPS && in->n; k++) {
		raw_op(in, &now);
		ike_engine_tick(sides[RESP].e, now);
	}
	now += 31000;
	ike_engine_tick(sides[RESP].e, now);
	world_end(now);
}

/* ---- mode 3: the sealed script -------------------------------------------- */

/*
 * Our IKE_SA_INIT request for the suite, sent from port; opt bit 0: NAT
 * detection with the right hashes, bit 1: with a wrong source hash (a NAT
 * in front of us). Then the keys from the answer, if it is one.
 */
static void manual_init(const struct suite *su, uint8_t opt, uint16_t port, uint64_t now)
{
	manual_forget();
	man.su = su;
	do
		rng_fill((uint8_t *)&man.spi_i, sizeof(man.spi_i));
	while (!man.spi_i);
	man.spi_r = 0;
	man.next_mid = 1;
	rng_fill(man.ni, sizeof(man.ni));
	const struct ike_proposal *p = &su->offer.prop[0];
	uint16_t group = 0;
	for (size_t k = 0; k < p->count; k++)
		if (p->xf[k].type == IKE_XF_DH)
			group = p->xf[k].id;
	struct dh dh;
	const char *why = NULL;
	if (!dh_init(&dh, group, false, &why))
		fail("dh_init failed for a harness suite");
	uint8_t pub[DH_MAX_PUBLIC];
	size_t publen = dh_public_len(group);
	if (publen > sizeof(pub) || !dh_public(&dh, pub, publen))
		fail("dh_public failed");
	struct ike_writer w;
	ike_writer_init(&w, man.init, sizeof(man.init));
	ike_put_header(&w, &(struct ike_header){ .spi_i = man.spi_i, .major = 2,
	                                         .exchange = IKE_SA_INIT,
	                                         .flags = IKE_FLAG_INITIATOR });
	ike_put_sa(&w, p, 1);
	ike_put_ke(&w, &(struct ike_ke){ .group = group, .data = pub, .len = publen });
	ike_put_nonce(&w, man.ni, sizeof(man.ni));
	if (opt & 3) {
		uint8_t h[20];
		struct ike_addr me = peer, it = sides[RESP].addr;
		me.port = it.port = port;
		nat_hash(man.spi_i, 0, &me, h);
		if (opt & 2)
			h[0] ^= 1;
		notify(&w, IKE_N_NAT_DETECTION_SOURCE_IP, h, sizeof(h));
		nat_hash(man.spi_i, 0, &it, h);
		notify(&w, IKE_N_NAT_DETECTION_DESTINATION_IP, h, sizeof(h));
	}
	if (!ike_finish(&w))
		fail(w.why ? w.why : "the harness's IKE_SA_INIT does not build");
	man.init_len = w.len;
	rlast.any = false;
	feed(man.init, man.init_len, port, now);
	/* The answer: SA, KE, Nonce and the responder's SPI. */
	if (!rlast.any)
		goto out;
	memcpy(scratch_buf, rlast.data, rlast.len);
	if (ike_decode(scratch_buf, rlast.len, &scratch_m, NULL) != IKE_DECODE_OK ||
	    scratch_m.hdr.exchange != IKE_SA_INIT || !scratch_m.hdr.spi_r)
		goto out;
	const struct ike_payload *pke = ike_find(&scratch_m, IKE_PL_KE),
	                         *pn = ike_find(&scratch_m, IKE_PL_NONCE);
	struct ike_ke ke;
	struct ike_data nr;
	if (!pke || !pn || !ike_decode_ke(pke, &ke, NULL) || !ike_decode_nonce(pn, &nr, NULL))
		fail("the responder's IKE_SA_INIT answer lacks KE or Nonce");
	if (ke.group != group)
		fail("the responder answered with a KE of another group");
	man.spi_r = scratch_m.hdr.spi_r;
	memcpy(man.nr, nr.data, nr.len);
	man.nr_len = nr.len;
	uint8_t secret[IKE_SECRET_MAX];
	size_t slen = sizeof(secret);
	if (!dh_derive(&dh, ke.data, ke.len, secret, &slen, &why))
		fail("the responder's KE does not derive");
	struct ike_suite s = { .prf = su->prf, .enc = su->enc, .integ = su->integ };
	struct ike_nonces n = { man.ni, man.nr, sizeof(man.ni), man.nr_len };
	uint8_t si[8], sr[8];
	put64(si, man.spi_i);
	put64(sr, man.spi_r);
	if (!ike_sa_keys_initial(&man.keys, &s, &n, secret, slen, si, sr, false, &why) ||
	    !ike_sk_key_init(&man.seal, su->enc, man.keys.ei.octets, man.keys.ei.len, su->integ,
	                     man.keys.ai.octets, man.keys.ai.len, true, false, &why))
		fail(why ? why : "the harness cannot key its IKE SA");
	if (!ike_sk_key_init(&man.open, su->enc, man.keys.er.octets, man.keys.er.len, su->integ,
	                     man.keys.ar.octets, man.keys.ar.len, false, false, &why))
		fail(why ? why : "the harness cannot key its IKE SA");
	crypto_wipe(secret, sizeof(secret));
	man.keyed = true;
out:
	dh_free(&dh);
}

/* IDi (our IPv4 address) and AUTH with the pre-shared key (RFC 7296
 * §2.15), as raw payloads; the AUTH's Next Payload is next. */
static size_t auth_prefix(uint8_t next, uint8_t *out)
{
	uint8_t idb[8] = { IKE_ID_IPV4_ADDR, 0, 0, 0 };
	memcpy(idb + 4, peer.bytes, 4);
	enum crypto_prf alg = man.su->prf;
	size_t plen = crypto_prf_info(alg)->len;
	uint8_t macid[PRF_MAX_LEN], key[PRF_MAX_LEN], auth[PRF_MAX_LEN];
	static uint8_t signed_octets[MSG_MAX + IKE_NONCE_MAX + PRF_MAX_LEN];
	if (!prf(alg, man.keys.pi.octets, man.keys.pi.len, idb, sizeof(idb), macid) ||
	    !prf(alg, (const uint8_t *)PSK, strlen(PSK), (const uint8_t *)"Key Pad for IKEv2", 17,
	         key))
		fail("prf failed");
	memcpy(signed_octets, man.init, man.init_len);
	memcpy(signed_octets + man.init_len, man.nr, man.nr_len);
	memcpy(signed_octets + man.init_len + man.nr_len, macid, plen);
	if (!prf(alg, key, plen, signed_octets, man.init_len + man.nr_len + plen, auth))
		fail("prf failed");
	size_t at = 0;
	out[at++] = IKE_PL_AUTH;
	out[at++] = 0;
	out[at++] = 0;
	out[at++] = 4 + sizeof(idb);
	memcpy(out + at, idb, sizeof(idb));
	at += sizeof(idb);
	out[at++] = next;
	out[at++] = 0;
	out[at++] = (uint8_t)((4 + 4 + plen) >> 8);
	out[at++] = (uint8_t)(4 + 4 + plen);
	out[at++] = IKE_AUTH_PSK;
	out[at++] = 0;
	out[at++] = 0;
	out[at++] = 0;
	memcpy(out + at, auth, plen);
	return at + plen;
}

/* Seals plain (the inner chain, first its first type) on the harness's
 * IKE SA and delivers it; false if it cannot be built. */
static bool seal_send(uint8_t exch, uint8_t hf, uint32_t mid, uint8_t first, const uint8_t *plain,
                      size_t plen, bool corrupt, uint16_t port, uint64_t now)
{
	uint8_t *msg = last_sealed;
	size_t n = seal_sk(&man.seal, man.su->enc, man.spi_i, man.spi_r, exch, hf, mid, first, plain,
	                   plen, msg, sizeof(last_sealed));
	if (!n)
		return false;
	if (corrupt)
		msg[n - 1] ^= 1;
	last_sealed_len = n;
	last_sealed_port = port;
	feed(msg, n, port, now);
	return true;
}

/*
 * SEALED: [flags][exchange][first][length:16][chain]. The exchange is
 * 34 + byte % 4. flags:
 *   bit 0  the chain behind an IDi and a valid AUTH (the SK's first
 *          payload is then IDi, and first is the AUTH's Next Payload)
 *   bit 1  a response (to the responder's last request: its message ID)
 *   bit 2  the message ID one past the expected one
 *   bit 3  from port 4500
 *   bit 4  the ICV's last octet flipped after sealing
 *   bit 5  without the Initiator flag
 */
static void sealed_op(struct in *in, uint64_t now)
{
	uint8_t flags = get8(in), exch = (uint8_t)(IKE_SA_INIT + get8(in) % 4), first = get8(in);
	const uint8_t *chain;
	size_t clen = take_chunk(in, &chain);
	if (!man.keyed)
		return;
	static uint8_t plain[MSG_MAX];
	size_t plen = 0;
	uint8_t sk_first = first;
	if (flags & 1) {
		plen = auth_prefix(first, plain);
		sk_first = IKE_PL_IDI;
	}
	if (clen > sizeof(plain) - plen)
		clen = sizeof(plain) - plen;
	memcpy(plain + plen, chain, clen);
	plen += clen;
	uint32_t mid = man.next_mid + (flags & 4 ? 1 : 0);
	uint8_t hf = flags & 0x20 ? 0 : IKE_FLAG_INITIATOR;
	if (flags & 2) {
		mid = rlast.req_seen ? rlast.req_mid : 0;
		hf |= IKE_FLAG_RESPONSE;
	}
	seal_send(exch, hf, mid, sk_first, plain, plen, flags & 0x10,
	          flags & 8 ? IKE_NATT_PORT : IKE_PORT, now);
}

/* The plaintext of the responder's last message on the harness's IKE SA
 * (a copy in buf): false if there is none. */
static bool manual_last_inner(uint8_t *buf, struct ike_message *m)
{
	if (!rlast.any || rlast.spi_i != man.spi_i || rlast.spi_r != man.spi_r)
		return false;
	memcpy(buf, rlast.data, rlast.len);
	if (ike_decode(buf, rlast.len, m, NULL) != IKE_DECODE_OK)
		return false;
	const struct ike_payload *p = ike_find(m, IKE_PL_SK);
	if (!p)
		return false;
	uint8_t next = p->next, *inner;
	size_t inner_len;
	if (!ike_sk_open(&man.open, buf, rlast.len, (size_t)(p->body - 4 - buf), &inner, &inner_len,
	                 NULL))
		return false;
	return ike_decode_inner(inner, inner_len, next, m, NULL) == IKE_DECODE_OK;
}

/*
 * The harness rekeys its IKE SA (RFC 7296 §1.3.2): CREATE_CHILD_SA with an
 * IKE proposal of the suite and a new SPI, Ni, KEi; from the answer the new
 * SA's keys (ike_sa_keys_rekey), and the script goes on over the new SA.
 * opt bit 0: then delete the old IKE SA; bit 1: the proposal without its
 * SPI (a malformed rekey); bit 2: a KE of another group than the proposal's.
 */
static void manual_rekey(const struct suite *su, uint8_t opt, uint16_t port, uint64_t now)
{
	if (!man.keyed)
		return;
	uint64_t spi_i;
	do
		rng_fill((uint8_t *)&spi_i, sizeof(spi_i));
	while (!spi_i);
	uint8_t ni[32];
	rng_fill(ni, sizeof(ni));
	struct ike_proposal prop = su->offer.prop[0];
	if (!(opt & 2)) {
		prop.spi_size = 8;
		put64(prop.spi, spi_i);
	}
	uint16_t group = 0;
	for (size_t k = 0; k < prop.count; k++)
		if (prop.xf[k].type == IKE_XF_DH)
			group = prop.xf[k].id;
	uint16_t ke_group = opt & 4 ? (group == IKE_DH_CURVE25519 ? IKE_DH_ECP256
	                                                          : IKE_DH_CURVE25519)
	                            : group;
	struct dh dh;
	const char *why = NULL;
	if (!dh_init(&dh, ke_group, false, &why))
		fail("dh_init failed for a harness suite");
	uint8_t pub[DH_MAX_PUBLIC];
	size_t publen = dh_public_len(ke_group);
	if (publen > sizeof(pub) || !dh_public(&dh, pub, publen))
		fail("dh_public failed");
	static uint8_t chain[2048];
	struct ike_writer w;
	ike_writer_init(&w, chain, sizeof(chain));
	ike_put_sa(&w, &prop, 1);
	ike_put_nonce(&w, ni, sizeof(ni));
	ike_put_ke(&w, &(struct ike_ke){ .group = ke_group, .data = pub, .len = publen });
	if (!ike_finish(&w))
		fail(w.why ? w.why : "the harness's IKE rekey does not build");
	uint32_t mid = man.next_mid;
	rlast.any = false;
	if (!seal_send(IKE_CREATE_CHILD_SA, IKE_FLAG_INITIATOR, mid, w.first, chain, w.len, false,
	               port, now))
		goto out;
	static uint8_t buf[MSG_MAX];
	static struct ike_message m;
	if (!manual_last_inner(buf, &m) || m.hdr.exchange != IKE_CREATE_CHILD_SA ||
	    !(m.hdr.flags & IKE_FLAG_RESPONSE) || m.hdr.message_id != mid)
		goto out;
	const struct ike_payload *psa = ike_find(&m, IKE_PL_SA), *pke = ike_find(&m, IKE_PL_KE),
	                         *pn = ike_find(&m, IKE_PL_NONCE);
	if (!psa || !pke || !pn)
		goto out;   /* refused (an error notification) */
	static struct ike_sa theirs;
	struct ike_ke ke;
	struct ike_data nr;
	if (!ike_decode_sa(psa, &theirs, NULL) || !ike_decode_ke(pke, &ke, NULL) ||
	    !ike_decode_nonce(pn, &nr, NULL))
		fail("the inner payloads of an accepted rekey do not decode");
	if (theirs.count != 1 || theirs.prop[0].protocol != IKE_PROTO_IKE ||
	    theirs.prop[0].spi_size != 8)
		fail("the responder accepted an IKE SA rekey with no new SPI of its own");
	uint64_t spi_r = 0;
	for (int k = 0; k < 8; k++)
		spi_r = spi_r << 8 | theirs.prop[0].spi[k];
	if (!spi_r)
		fail("the responder's new IKE SA has SPI 0");
	if (ke.group != ke_group)
		fail("the responder's rekey KE is of another group than ours");
	uint8_t secret[IKE_SECRET_MAX];
	size_t slen = sizeof(secret);
	if (!dh_derive(&dh, ke.data, ke.len, secret, &slen, &why))
		fail("the responder's rekey KE does not derive");
	struct ike_suite st = { .prf = su->prf, .enc = su->enc, .integ = su->integ };
	struct ike_nonces n = { ni, nr.data, sizeof(ni), nr.len };
	uint8_t si[8], sr[8];
	put64(si, spi_i);
	put64(sr, spi_r);
	struct ike_sa_keys nk;
	struct ike_sk_key nseal, nopen;
	if (!ike_sa_keys_rekey(&nk, &man.keys, &st, &n, secret, slen, si, sr, false, &why) ||
	    !ike_sk_key_init(&nseal, su->enc, nk.ei.octets, nk.ei.len, su->integ, nk.ai.octets,
	                     nk.ai.len, true, false, &why))
		fail(why ? why : "the harness cannot key the rekeyed IKE SA");
	if (!ike_sk_key_init(&nopen, su->enc, nk.er.octets, nk.er.len, su->integ, nk.ar.octets,
	                     nk.ar.len, false, false, &why))
		fail(why ? why : "the harness cannot key the rekeyed IKE SA");
	crypto_wipe(secret, sizeof(secret));
	if (opt & 1) {
		/* The rekey's initiator deletes the old IKE SA (§1.3.2). */
		uint8_t del[16];
		ike_writer_init(&w, del, sizeof(del));
		ike_put_delete(&w, &(struct ike_delete){ .protocol = IKE_PROTO_IKE });
		ike_finish(&w);
		seal_send(IKE_INFORMATIONAL, IKE_FLAG_INITIATOR, man.next_mid, w.first, del, w.len,
		          false, port, now);
	}
	manual_forget();
	man.keys = nk;
	man.seal = nseal;
	man.open = nopen;
	man.keyed = true;
	man.su = su;
	man.spi_i = spi_i;
	man.spi_r = spi_r;
	man.next_mid = 0;
	memcpy(man.ni, ni, sizeof(ni));
	memcpy(man.nr, nr.data, nr.len);
	man.nr_len = nr.len;
out:
	dh_free(&dh);
}

static void run_sealed(struct in *in)
{
	uint8_t opt = get8(in);
	resp_pfs = opt & 8;
	world_begin(false);
	resp_pfs = false;
	man.active = true;
	sides[RESP].refuse_install = opt & 0x80;
	const struct suite *su = &suites[(opt & 7) % NSUITES];
	uint16_t port = opt & 0x40 ? IKE_NATT_PORT : IKE_PORT;
	uint64_t now = T0;
	manual_init(su, opt >> 4 & 3, port, now);
	for (int k = 0; k < MAX_OPS && in->n; k++) {
		uint8_t op = get8(in), b;
		switch (op % 4) {
		case 0:
			sealed_op(in, now);
			break;
		case 1:
			raw_op(in, &now);
			break;
		case 2:
			/* TICK: [step] (+ op's high bits * 100 ms) */
			now += tick_steps[get8(in) % 8] + (uint64_t)(op >> 2) * 100;
			ike_engine_tick(sides[RESP].e, now);
			break;
		default:
			switch (op >> 2 & 3) {
			case 0:   /* our IKE_SA_INIT request again */
				feed(man.init, man.init_len, port, now);
				break;
			case 1:   /* a new IKE SA: [suite] */
				b = get8(in);
				manual_init(&suites[b % NSUITES], op >> 4 & 3, port, now);
				break;
			case 2:   /* an IKE SA rekey: [suite] */
				b = get8(in);
				manual_rekey(&suites[b % NSUITES], op >> 4, port, now);
				break;
			default:  /* our last sealed message again, byte for byte */
				if (last_sealed_len)
					feed(last_sealed, last_sealed_len, last_sealed_port, now);
				break;
			}
			break;
		}
	}
	now += 31000;
	ike_engine_tick(sides[RESP].e, now);
	world_end(now);
}

/* ---- the seed corpus ---------------------------------------------------- */

/* The initiator engine's first IKE_SA_INIT request for variant v. */
static size_t capture_init(uint8_t v, uint8_t *out)
{
	world_begin(false);
	setup_initiator(v);
	acquire(T0);
	size_t n = qn ? queue[qh].len : 0;
	if (n)
		memcpy(out, queue[qh].data, n);
	world_end(T0);
	return n;
}

/* A chain built by the writer: *first gets its first type. */
static size_t chain_auth_rest(uint8_t *out, size_t cap, uint8_t *first, const char *qm,
                              uint32_t spi, bool transport, bool contact)
{
	struct ike_writer w;
	ike_writer_init(&w, out, cap);
	struct qm_methods q;
	struct diag d;
	diag_init(&d);
	parse_or_die(policy_parse_qmsec("qmsecmethods", qm, &q, &d), qm);
	static struct ike_offer o;
	ike_offer_from_qm(&o, &q, 0, false);
	uint8_t s[4];
	put32(s, spi);
	for (size_t i = 0; i < o.count; i++)
		memcpy(o.prop[i].spi, s, 4);
	if (contact)
		notify(&w, IKE_N_INITIAL_CONTACT, NULL, 0);
	ike_put_sa(&w, o.prop, o.count);
	struct ike_ts ts = { .count = 1 };
	ike_ts_from_prefix(&ts.sel[0], AF_INET, peer.bytes, 0, 0, 0);
	ike_put_ts(&w, IKE_PL_TSI, &ts);
	ike_put_ts(&w, IKE_PL_TSR, &ts);
	if (transport)
		notify(&w, IKE_N_USE_TRANSPORT_MODE, NULL, 0);
	if (!ike_finish(&w))
		fail(w.why ? w.why : "seed chain");
	*first = w.first;
	return w.len;
}

/* CREATE_CHILD_SA rekeying the Child SA whose inbound SPI (ours) is old
 * (0: a new Child SA, no REKEY_SA), with new as the new one's. */
static size_t chain_child_rekey(uint8_t *out, size_t cap, uint8_t *first, uint32_t old,
                                uint32_t new_spi, bool pfs)
{
	struct ike_writer w;
	ike_writer_init(&w, out, cap);
	uint8_t o[4];
	put32(o, old);
	if (old)
		ike_put_notify(&w, &(struct ike_notify){ .protocol = IKE_PROTO_ESP, .spi_size = 4,
		                                         .type = IKE_N_REKEY_SA, .spi = o });
	struct qm_methods q;
	struct diag d;
	diag_init(&d);
	parse_or_die(policy_parse_qmsec("qmsecmethods", "ESP[AESGCM128]", &q, &d), "qm");
	static struct ike_offer of;
	ike_offer_from_qm(&of, &q, pfs ? IKE_DH_CURVE25519 : 0, false);
	put32(of.prop[0].spi, new_spi);
	ike_put_sa(&w, of.prop, 1);
	uint8_t nonce[32], ke[32];
	memset(nonce, 0x4e, sizeof(nonce));
	ike_put_nonce(&w, nonce, sizeof(nonce));
	memset(ke, 0x09, sizeof(ke));
	if (pfs)
		ike_put_ke(&w, &(struct ike_ke){ .group = IKE_DH_CURVE25519, .data = ke, .len = 32 });
	struct ike_ts ts = { .count = 1 };
	ike_ts_from_prefix(&ts.sel[0], AF_INET, peer.bytes, 0, 0, 0);
	ike_put_ts(&w, IKE_PL_TSI, &ts);
	ike_put_ts(&w, IKE_PL_TSR, &ts);
	notify(&w, IKE_N_USE_TRANSPORT_MODE, NULL, 0);
	if (!ike_finish(&w))
		fail(w.why ? w.why : "seed chain");
	*first = w.first;
	return w.len;
}

/* The answer to an IKE SA rekey (suite 0's proposal, a fixed SPI, KE). */
static size_t chain_ike_rekey(uint8_t *out, size_t cap, uint8_t *first)
{
	struct ike_writer w;
	ike_writer_init(&w, out, cap);
	struct ike_proposal p = suites[0].offer.prop[0];
	p.spi_size = 8;
	put64(p.spi, 0x1122334455667788ull);
	ike_put_sa(&w, &p, 1);
	uint8_t nonce[32], ke[32];
	memset(nonce, 0x6e, sizeof(nonce));
	memset(ke, 0x09, sizeof(ke));
	ike_put_nonce(&w, nonce, sizeof(nonce));
	ike_put_ke(&w, &(struct ike_ke){ .group = IKE_DH_CURVE25519, .data = ke, .len = 32 });
	if (!ike_finish(&w))
		fail(w.why ? w.why : "seed chain");
	*first = w.first;
	return w.len;
}

static void sb_sealed(struct sbuf *s, uint8_t flags, uint8_t exch, uint8_t first,
                      const uint8_t *chain, size_t n)
{
	sb_u8(s, 0);                 /* op: SEALED */
	sb_u8(s, flags);
	sb_u8(s, (uint8_t)(exch - IKE_SA_INIT));
	sb_u8(s, first);
	sb_chunk(s, chain, n);
}

static void write_seeds(void)
{
	static uint8_t msg[MSG_MAX];
	char name[64];
	struct sbuf *s = malloc(sizeof(*s));
	if (!s)
		exit(1);
	/* Mode 0: the initiator's requests, as they are. */
	static const char *const mm_names[8] = { "gcm128-31", "cbc128-31", "gcm256-19", "3des-31",
	                                         "cbc256-19+gcm", "modp2048+gcm", "ecp384",
	                                         "gcm256-sha512-31" };
	for (uint8_t v = 0; v < 8; v++) {
		size_t n = capture_init(v, msg);
		s->n = 0;
		sb_u8(s, 0);
		sb_put(s, msg, n);
		snprintf(name, sizeof(name), "raw-init-%s", mm_names[v]);
		seed_write(name, s->b, s->n);
		if (v == 0) {
			s->b[0] = 0x08 | 0x20;   /* IPv6, delivered twice */
			seed_write("raw-init-v6-twice", s->b, s->n);
			s->b[0] = 0x10;          /* port 4500 */
			seed_write("raw-init-4500", s->b, s->n);
		}
	}
	/* Modes 1 and 2: no edit (an empty XOR list), then one of each kind. */
	static const uint8_t variants[] = { 0x00, 0x01, 0x02, 0x03, 0x05, 0x08, 0x18, 0x10,
	                                    0x20, 0x40, 0x80, 0x06, 0x04 };
	for (size_t i = 0; i < sizeof(variants); i++)
		for (uint8_t mode = 1; mode <= 2; mode++) {
			uint8_t b[3] = { mode, variants[i], 0 };
			snprintf(name, sizeof(name), "%s-v%02x", mode == 1 ? "init-edit" : "auth-edit",
			         variants[i]);
			seed_write(name, b, sizeof(b));
		}
	{
		static const uint8_t xor_spi[] = { 1, 0, 0, 0, 0, 5, 0x80 };
		seed_write("init-edit-xor", xor_spi, sizeof(xor_spi));
		static const uint8_t xor_auth[] = { 2, 1, 0, 0, 40, 0x01, 0, 19, 0x20 };
		seed_write("auth-edit-xor", xor_auth, sizeof(xor_auth));
		/* INIT: a COOKIE notification inserted first; the Nonce replaced. */
		static const uint8_t cookie[] = { 1, 0, 2, 0, IKE_PL_NOTIFY, 0, 0, 0, 0x40, 0x06,
		                                  1, 2, 3, 4, 5, 6, 7, 8 };
		seed_write("init-edit-insert-cookie", cookie, sizeof(cookie));
		static const uint8_t nonce[] = { 1, 0, 1, 2, 'n', 'o', 'n', 'c', 'e', '-', 's', 'h',
		                                 'o', 'r', 't' };
		seed_write("init-edit-replace-nonce", nonce, sizeof(nonce));
		static const uint8_t cut[] = { 1, 0, 0x83, 0, 100 };
		seed_write("init-edit-cut", cut, sizeof(cut));
		static const uint8_t auth_cut[] = { 2, 0, 0x83, 0, 60, 0, 0, 0 };
		seed_write("auth-edit-cut", auth_cut, sizeof(auth_cut));
	}
	/* Mode 3: scripts over the harness's IKE SA. */
	static uint8_t chain[4096];
	uint8_t first;
	for (uint8_t su = 0; su < NSUITES; su++) {
		size_t n = chain_auth_rest(chain, sizeof(chain), &first, "ESP[AESGCM128]", 0x0a0b0c0d,
		                           true, su == 0);
		s->n = 0;
		sb_u8(s, 3);
		sb_u8(s, su);
		sb_sealed(s, 1, IKE_AUTH, first, chain, n);
		snprintf(name, sizeof(name), "sealed-auth-s%u", su);
		seed_write(name, s->b, s->n);
		if (su > 1)
			continue;
		/* ... then an empty INFORMATIONAL, a Delete of the Child SA, of the IKE SA */
		sb_sealed(s, 0, IKE_INFORMATIONAL, 0, NULL, 0);
		uint8_t del[16];
		struct ike_writer w;
		ike_writer_init(&w, del, sizeof(del));
		uint8_t spi[4] = { 0x0a, 0x0b, 0x0c, 0x0d };
		ike_put_delete(&w, &(struct ike_delete){ IKE_PROTO_ESP, 4, 1, spi });
		ike_finish(&w);
		sb_sealed(s, 0, IKE_INFORMATIONAL, w.first, del, w.len);
		ike_writer_init(&w, del, sizeof(del));
		ike_put_delete(&w, &(struct ike_delete){ .protocol = IKE_PROTO_IKE });
		ike_finish(&w);
		sb_sealed(s, 0, IKE_INFORMATIONAL, w.first, del, w.len);
		snprintf(name, sizeof(name), "sealed-auth-info-delete-s%u", su);
		seed_write(name, s->b, s->n);
	}
	{
		/* AUTH with CBC + SHA-256, a tunnel request, a CREATE_CHILD_SA, DPD. */
		size_t n = chain_auth_rest(chain, sizeof(chain), &first, "ESP[AES128,SHA256]", 0x1000,
		                           true, false);
		s->n = 0;
		sb_u8(s, 3);
		sb_u8(s, 0x10);          /* NAT detection with the right hashes */
		sb_sealed(s, 1, IKE_AUTH, first, chain, n);
		sb_sealed(s, 0, IKE_CREATE_CHILD_SA, first, chain, n);
		sb_u8(s, 2);             /* TICK 11 s: the responder's liveness check */
		sb_u8(s, 2);
		sb_sealed(s, 2, IKE_INFORMATIONAL, 0, NULL, 0);
		seed_write("sealed-auth-cbc-ccsa-dpd", s->b, s->n);

		n = chain_auth_rest(chain, sizeof(chain), &first, "ESP[AESGCM128]", 0x2000, false,
		                    false);
		s->n = 0;
		sb_u8(s, 3);
		sb_u8(s, 0x20);          /* a NAT in front of us */
		sb_sealed(s, 0x11, IKE_AUTH, first, chain, n);   /* ICV broken first */
		sb_sealed(s, 0x01, IKE_AUTH, first, chain, n);   /* tunnel mode: refused */
		seed_write("sealed-auth-badicv-tunnel-nat", s->b, s->n);

		n = chain_auth_rest(chain, sizeof(chain), &first, "ESP[AESGCM128]", 0x3000, true,
		                    false);
		s->n = 0;
		sb_u8(s, 3);
		sb_u8(s, 0x80);          /* the host refuses installs */
		sb_sealed(s, 1, IKE_AUTH, first, chain, n);
		sb_u8(s, 3);             /* INIT again (retransmission) */
		sb_u8(s, 7);             /* a second IKE SA: suite 0 */
		sb_u8(s, 0);
		sb_sealed(s, 1, IKE_AUTH, first, chain, n);
		seed_write("sealed-refuse-install-second-sa", s->b, s->n);

		/* Plain chain without the harness's AUTH: an IDi and a junk AUTH. */
		static const uint8_t idauth[] = { IKE_PL_AUTH, 0, 0, 12, 1, 0, 0, 0, 192, 0, 2, 1,
		                                  0, 0, 0, 12, 2, 0, 0, 0, 1, 2, 3, 4 };
		s->n = 0;
		sb_u8(s, 3);
		sb_u8(s, 1);
		sb_sealed(s, 0, IKE_AUTH, IKE_PL_IDI, idauth, sizeof(idauth));
		seed_write("sealed-auth-wrong", s->b, s->n);
	}
	/* Mode 3, rekeys: the harness rekeys the Child SA (REKEY_SA), then
	 * the IKE SA, then the Child SA again over the new IKE SA; the
	 * responder's own rekeys answered; a resend of our last request. */
	{
		size_t n = chain_auth_rest(chain, sizeof(chain), &first, "ESP[AESGCM128]", 0x0a0b0c0d,
		                           true, false);
		static uint8_t ccsa[4096];
		uint8_t cfirst;
		size_t cn = chain_child_rekey(ccsa, sizeof(ccsa), &cfirst, 0x0a0b0c0d, 0x0a0b0c0e, false);
		s->n = 0;
		sb_u8(s, 3);
		sb_u8(s, 0);
		sb_sealed(s, 1, IKE_AUTH, first, chain, n);
		sb_sealed(s, 0, IKE_CREATE_CHILD_SA, cfirst, ccsa, cn);
		sb_u8(s, 15);            /* the same request again */
		seed_write("sealed-child-rekey-resend", s->b, s->n);
		sb_u8(s, 3 | 2 << 2 | 1 << 4);   /* IKE SA rekey, old one deleted */
		sb_u8(s, 0);
		sb_sealed(s, 0, IKE_INFORMATIONAL, 0, NULL, 0);
		cn = chain_child_rekey(ccsa, sizeof(ccsa), &cfirst, 0x0a0b0c0e, 0x0a0b0c0f, false);
		sb_sealed(s, 0, IKE_CREATE_CHILD_SA, cfirst, ccsa, cn);
		seed_write("sealed-child-rekey-ike-rekey", s->b, s->n);

		/* The responder's own rekeys, answered by the script. */
		s->n = 0;
		sb_u8(s, 3);
		sb_u8(s, 1);
		sb_sealed(s, 1, IKE_AUTH, first, chain, n);
		sb_u8(s, 2);
		sb_u8(s, 5);             /* 280 s: the Child SA's rekey */
		cn = chain_child_rekey(ccsa, sizeof(ccsa), &cfirst, 0, 0x0a0b0c10, false);
		sb_sealed(s, 2, IKE_CREATE_CHILD_SA, cfirst, ccsa, cn);
		sb_u8(s, 2);
		sb_u8(s, 6);             /* 560 s more: the IKE SA's rekey */
		cn = chain_ike_rekey(ccsa, sizeof(ccsa), &cfirst);
		sb_sealed(s, 2, IKE_CREATE_CHILD_SA, cfirst, ccsa, cn);
		sb_u8(s, 2);
		sb_u8(s, 7);             /* an hour */
		seed_write("sealed-responder-rekeys", s->b, s->n);

		/* The peer's IKE SA rekey as a fuzz-controlled chain (the
		 * harness's own, manual_rekey(), always has a valid SPI). */
		s->n = 0;
		sb_u8(s, 3);
		sb_u8(s, 0);
		sb_sealed(s, 1, IKE_AUTH, first, chain, n);
		cn = chain_ike_rekey(ccsa, sizeof(ccsa), &cfirst);
		sb_sealed(s, 0, IKE_CREATE_CHILD_SA, cfirst, ccsa, cn);
		sb_sealed(s, 0, IKE_INFORMATIONAL, 0, NULL, 0);
		seed_write("sealed-peer-ike-rekey-request", s->b, s->n);

		/* The harness's IKE SA rekey, refused: no SPI; a KE of another group. */
		s->n = 0;
		sb_u8(s, 3);
		sb_u8(s, 0);
		sb_sealed(s, 1, IKE_AUTH, first, chain, n);
		sb_u8(s, 3 | 2 << 2 | 2 << 4);
		sb_u8(s, 0);
		sb_u8(s, 3 | 2 << 2 | 4 << 4);
		sb_u8(s, 0);
		sb_u8(s, 3 | 2 << 2);    /* then one that works, to suite 3 */
		sb_u8(s, 3);
		sb_sealed(s, 0, IKE_INFORMATIONAL, 0, NULL, 0);
		seed_write("sealed-ike-rekey-refused-then-ok", s->b, s->n);

		/* PFS: the responder's rule wants a KE in CREATE_CHILD_SA. */
		s->n = 0;
		sb_u8(s, 3);
		sb_u8(s, 0x08);
		sb_sealed(s, 1, IKE_AUTH, first, chain, n);
		cn = chain_child_rekey(ccsa, sizeof(ccsa), &cfirst, 0x0a0b0c0d, 0x0a0b0c21, true);
		sb_sealed(s, 0, IKE_CREATE_CHILD_SA, cfirst, ccsa, cn);
		cn = chain_child_rekey(ccsa, sizeof(ccsa), &cfirst, 0x0a0b0c21, 0x0a0b0c22, false);
		sb_sealed(s, 0, IKE_CREATE_CHILD_SA, cfirst, ccsa, cn);   /* no KE: refused */
		sb_u8(s, 2);
		sb_u8(s, 5);             /* 280 s: the responder's rekey, with its KE */
		cn = chain_child_rekey(ccsa, sizeof(ccsa), &cfirst, 0, 0x0a0b0c23, true);
		sb_sealed(s, 2, IKE_CREATE_CHILD_SA, cfirst, ccsa, cn);
		seed_write("sealed-pfs-child-rekeys", s->b, s->n);

		/* Collisions: the responder's rekey of the Child SA is out when
		 * ours arrives (then its answer); the same for the IKE SA. */
		s->n = 0;
		sb_u8(s, 3);
		sb_u8(s, 0);
		sb_sealed(s, 1, IKE_AUTH, first, chain, n);
		sb_u8(s, 2);
		sb_u8(s, 5);
		cn = chain_child_rekey(ccsa, sizeof(ccsa), &cfirst, 0x0a0b0c0d, 0x0a0b0c31, false);
		sb_sealed(s, 0, IKE_CREATE_CHILD_SA, cfirst, ccsa, cn);
		cn = chain_child_rekey(ccsa, sizeof(ccsa), &cfirst, 0, 0x0a0b0c32, false);
		sb_sealed(s, 2, IKE_CREATE_CHILD_SA, cfirst, ccsa, cn);
		sb_u8(s, 2);
		sb_u8(s, 6);             /* the IKE SA's rekey is out: ours too */
		sb_u8(s, 3 | 2 << 2);
		sb_u8(s, 0);
		cn = chain_ike_rekey(ccsa, sizeof(ccsa), &cfirst);
		sb_sealed(s, 2, IKE_CREATE_CHILD_SA, cfirst, ccsa, cn);
		seed_write("sealed-rekey-collisions", s->b, s->n);
	}
	/* Mode 4: an INIT request, then forgeries on its SA. */
	{
		size_t n = capture_init(0, msg);
		s->n = 0;
		sb_u8(s, 4);
		sb_u8(s, 0);
		sb_chunk(s, msg, n);
		uint8_t f[28 + 4 + 40] = { 0 };
		f[16] = IKE_PL_SK;
		f[17] = 0x20;
		f[18] = IKE_AUTH;
		f[19] = IKE_FLAG_INITIATOR;
		f[28] = IKE_PL_IDI;
		f[30] = 0;
		f[31] = 44;
		sb_u8(s, 0x07);
		sb_chunk(s, f, sizeof(f));
		f[18] = IKE_INFORMATIONAL;
		sb_u8(s, 0x07 | 0x10);
		sb_chunk(s, f, sizeof(f));
		f[18] = IKE_CREATE_CHILD_SA;
		sb_u8(s, 0x07 | 0x80);
		sb_chunk(s, f, sizeof(f));
		sb_u8(s, 0x41 | 0x20);   /* after 11 s: an answer to its request */
		f[18] = IKE_INFORMATIONAL;
		sb_chunk(s, f, sizeof(f));
		seed_write("raw-seq-init-forgeries", s->b, s->n);
		s->n = 0;
		sb_u8(s, 4);
		sb_u8(s, 0x80);          /* twice */
		sb_chunk(s, msg, n);
		sb_u8(s, 0x30);          /* 31 s later: expired; again */
		sb_chunk(s, msg, n);
		seed_write("raw-seq-init-twice-expire", s->b, s->n);
	}
	free(s);
}

/* ---- entry points --------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_ike_init();
	lax_resend = getenv("FUZZ_IKE_LAX_RESEND") != NULL;
	struct diag d;
	diag_init(&d);
	parse_or_die(policy_parse_mmsec("mmsecmethods", RESPONDER_MM, &responder_mm, &d),
	             RESPONDER_MM);
	parse_or_die(policy_parse_qmsec("qmsecmethods", RESPONDER_QM, &responder_qm, &d),
	             RESPONDER_QM);
	for (size_t i = 0; i < 8; i++)
		parse_or_die(policy_parse_mmsec("mmsecmethods", init_mm[i], &init_mm_p[i], &d),
		             init_mm[i]);
	for (size_t i = 0; i < 4; i++)
		parse_or_die(policy_parse_qmsec("qmsecmethods", init_qm[i], &init_qm_p[i], &d),
		             init_qm[i]);
	for (size_t i = 0; i < NSUITES; i++) {
		struct mm_methods mm;
		parse_or_die(policy_parse_mmsec("mmsecmethods", suites[i].mm, &mm, &d), suites[i].mm);
		ike_offer_from_mm(&suites[i].offer, &mm, false);
		if (suites[i].offer.count != 1)
			fail("a harness suite is not one proposal");
	}
	fuzz_ike_seed_corpus(write_seeds);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	struct in in = { data + 1, size - 1 };
	switch ((data[0] & 7) % 5) {
	case 0:
		run_raw_init(data[0] >> 3, &in);
		break;
	case 1:
		run_init_edit(&in);
		break;
	case 2:
		run_auth_edit(&in);
		break;
	case 3:
		run_sealed(&in);
		break;
	default:
		run_raw_sequence(&in);
		break;
	}
	return 0;
}
