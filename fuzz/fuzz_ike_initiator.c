/*
 * fuzz_ike_initiator: the IKEv2 engine as the INITIATOR facing a hostile
 * responder (src/ike: init.c init_response, auth.c auth_response and
 * auth_child_response, rekey.c create_response for its own Child SA and
 * IKE SA rekeys, info.c, the RFC 7383 reassembly in engine.c) -- what
 * fuzz_ike_responder does not reach: the answers to the engine's requests,
 * and the requests of a peer that did not start the IKE SA.
 *
 * Every input gets a fresh engine at 192.0.2.1 whose peer is 192.0.2.2,
 * with a fixed policy: mmsecmethods ENGINE_MM (AES-GCM and AES-CBC + HMAC,
 * groups 31, 19 and 14; IKE SAs live 600 s), rule 7 (transport mode,
 * selectors any, pre-shared key PSK, ESP[AESGCM128] ESP[AES128,SHA256])
 * and rule 8 (tunnel mode 198.51.100.0/24 - 203.0.113.0/24 to 192.0.2.2,
 * the same key, ESP[AES256,SHA1] ESP[AESGCM256], PFS in the IKE SA's
 * group). Child SAs live 300 s, so the clock reaches the engine's own
 * Child SA rekeys (85%: 255 s) and IKE SA rekeys (510 s); liveness checks
 * after 10 s idle. Randomness is deterministic and reset for every input,
 * OpenSSL's included (fuzz_ike_common.c).
 *
 * Byte 0: bit 0 the mode; bit 1 the rule that starts (8, else 7); bit 2
 * ike_engine_initiate instead of ike_engine_acquire; bit 3 the host
 * refuses Child SA installs; bit 4 IKE fragments of at most 576-octet
 * packets (else 1280). The engine starts at once: its IKE_SA_INIT request
 * is the first thing it sends. Then up to MAX_OPS operations:
 *
 *   mode 0  RAW: each operation a datagram from the peer,
 *      [ctl][length:16][octets] (raw_op()): ctl patches in the SPIs of
 *      the engine's last message, the message ID of its last request with
 *      the Response flag, or the ID it expects of the peer's next request,
 *      the length field, port 4500, a tick before. Enough to get past the
 *      SPI / message ID checks to init_response (an IKE_SA_INIT answer
 *      with any KE keys the SA), not past the ICV of anything later.
 *
 *   mode 1  SEALED: the harness is the responder, with the library's own
 *      crypto (dh_init, ike_select, ike_sa_keys_initial/rekey,
 *      ike_sk_seal, ike_frag_seal). Operation byte % 6:
 *        0 ANSWER [opts][first][length:16][chain]: answers the engine's
 *          last request. IKE_SA_INIT: the harness picks a proposal
 *          (opts bits 0-1 pick what it accepts: HARNESS_MM) with its KE
 *          and nonce -- or INVALID_KE_PAYLOAD when the engine's KE is of
 *          another group, or a COOKIE (bit 2) -- NAT detection (bits
 *          3-4), FRAGMENTATION_SUPPORTED (bit 5), the chain as extra
 *          payloads (bit 6) or as the whole answer (bit 7); then it keys
 *          its side of the IKE SA (answer_init()). Later exchanges: a
 *          sealed response whose plaintext is [IDr, AUTH computed with the
 *          PSK (bit 0)] [a valid answer (bit 1): the Child SA's proposal,
 *          SPI, TSi/TSr as asked (bit 2: none, the chain has them),
 *          USE_TRANSPORT_MODE, nonce and KE of a rekey, the new IKE SA of
 *          an IKE SA rekey -- whose keys the harness derives and then
 *          uses] [the chain]; bit 3 the ICV broken, bit 4 the wrong
 *          message ID, bit 5 as RFC 7383 fragments, bit 6 twice, bit 7
 *          from port 4500 (answer_sealed()).
 *        1 REQUEST [opts][exchange][first][length:16][chain]: a sealed
 *          request of the harness (CREATE_CHILD_SA, INFORMATIONAL, ...)
 *          on the SA of the engine's last request (bit 5: on the SA the
 *          harness keyed last) with, by bit 3, a valid prefix: a rekey of
 *          the newest Child SA (REKEY_SA, proposal, nonce, KE with PFS,
 *          selectors), or (bit 4) of the IKE SA -- the harness derives the
 *          new SA's keys from the engine's answer and is its original
 *          initiator -- or a Delete of the Child SA (bit 4: of the IKE
 *          SA); bit 0 the wrong message ID, 1 the ICV broken, 2 as
 *          fragments, 6 port 4500, 7 twice (request_sealed()).
 *        2 TICK [step]: the clock advances by tick_steps[step % 8].
 *        3 RAW: a datagram as in mode 0.
 *        4 ENGINE [sub]: an acquire for the other rule (a second IKE SA),
 *          a soft or hard byte-limit expiry of the newest Child SA,
 *          `delete qmsas` / `delete mmsas`.
 *        5 the harness's last datagram again (a retransmission).
 *
 * Invariants (abort() with "INVARIANT BROKEN"):
 *   - every datagram the engine sends decodes, goes from its address
 *     (port 500 or 4500) to the peer's, is at most 8192 octets;
 *   - mode 1: every message the engine sends on an IKE SA the harness
 *     keyed carries the Initiator flag exactly when the engine is that
 *     SA's original initiator (RFC 7296 §3.1: not after a rekey by the
 *     harness), an IKE SA rekey it accepts has a new non-zero SPI, a KE
 *     of the chosen group and a nonce, and the message
 *     verifies and decrypts with the harness's keys (SK or SKF) into inner
 *     payloads that decode; an AEAD IV is never used for two messages;
 *   - each Child SA installed has an inbound SPI >= 256, keys of its
 *     algorithms' lengths, one inbound and one outbound half, and
 *     selectors inside its rule's (transport: the two hosts; tunnel: the
 *     two /24s) -- RFC 7296 §2.9: a responder may narrow, never widen;
 *   - every remove names a pair that is installed; ike_engine_flush()
 *     leaves no IKE SA; ike_engine_free() leaves no Child SA installed.
 * ASan: no read outside a datagram (each is delivered in a buffer of
 * exactly its size), no leak (the engine is freed per input).
 *
 * Environment: FUZZ_IKE_VERBOSE=1 prints the engine's log lines;
 * SECPOL_FUZZ_SEEDS=DIR writes the seed corpus (fuzz/corpus/
 * fuzz_ike_initiator) to DIR and exits.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_ike_common.h"
#include "ike/frag.h"
#include "ike/ike.h"
#include "ike/keys.h"
#include "ike/message.h"
#include "ike/proposal.h"
#include "ike/sa.h"
#include "ike/sk.h"
#include "ike/ts.h"
#include "policy/diag.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MSG_MAX 8192              /* the engine's IKE_MSG_MAX */
#define MAX_OPS 48                /* operations per input */
#define MAX_HSA 6                 /* IKE SAs the harness keeps keys for */
#define RULE_T 7                  /* transport mode */
#define RULE_U 8                  /* tunnel mode, PFS */
#define T0 1000                   /* ms: the clock at the start */

static const char PSK[] = "fuzz-sesame";
static const char ENGINE_MM[] =
	"AESGCM128-SHA256-31 AES128-SHA256-19 AES256-SHA512-14 AESGCM256-SHA384-19";
static const char QM_T[] = "ESP[AESGCM128]:100000k/300s ESP[AES128,SHA256]:100000k/300s";
static const char QM_U[] = "ESP[AES256,SHA1]:100000k/300s ESP[AESGCM256]:100000k/300s";
#define IKE_LIFE_S 600
/* What the harness accepts in IKE_SA_INIT (ANSWER opts bits 0-1): the
 * engine's proposal of that suite is chosen, whatever group it sent a KE
 * for -- so that INVALID_KE_PAYLOAD and the retry come naturally. */
static const char *const HARNESS_MM[4] = { "AESGCM128-SHA256-31", "AES128-SHA256-19",
                                           "AES256-SHA512-14", "AESGCM256-SHA384-19" };
static const char HARNESS_QM[] = "ESP[AESGCM128] ESP[AES128,SHA256] ESP[AES256,SHA1] ESP[AESGCM256]";

static struct mm_methods engine_mm, harness_mm[4];
static struct qm_methods qm_t, qm_u, harness_qm;
static struct ike_offer harness_ike[4];

/* ---- the engine and what it did ----------------------------------------- */

static struct {
	struct ike_engine *e;
	struct ike_addr me, peer;     /* port 500 */
	struct ike_rule rules[2];
	struct installs inst;
	bool refuse_install;
} eng;

/* The engine's last message, and its last request (for the answers). */
static struct {
	bool any;
	struct ike_header h;
	bool req_seen;
	struct ike_header req;        /* of its last request */
	struct ike_addr req_local, req_remote;
	uint8_t req_msg[MSG_MAX];     /* its octets (IKE_SA_INIT: what the harness parses) */
	size_t req_len;
	bool resp_seen;
	uint32_t resp_mid;            /* of its last response */
} elast;

static struct ike_message scratch_m;   /* decoded forms: large, kept off the stack */
static uint8_t scratch_buf[MSG_MAX + 64];

/* ---- the harness's side of the IKE SAs (mode 1) -------------------------- */

#define IV_LOG 32

struct hsa {
	bool used;
	bool we_init;                 /* the harness is its original initiator (its IKE SA rekey) */
	uint64_t spi_i, spi_r;
	struct ike_suite suite;
	struct ike_sa_keys keys;
	struct ike_sk_key seal, open; /* SK_er/SK_ar, SK_ei/SK_ai (reversed when we_init) */
	uint8_t ni[IKE_NONCE_MAX], nr[IKE_NONCE_MAX];
	size_t ni_len, nr_len;
	uint8_t init_r[MSG_MAX];      /* our IKE_SA_INIT answer (the AUTH signs it) */
	size_t init_r_len;
	uint32_t next_mid;            /* of the harness's next request */
	/* The engine's last request on this SA, decrypted. */
	bool req_valid;
	uint8_t req_exch;
	uint32_t req_mid;
	uint8_t req_first;
	uint8_t req_inner[MSG_MAX];
	size_t req_inner_len;
	/* The engine's last response on it (to a rekey of the harness). */
	bool resp_valid;
	uint32_t resp_mid;
	uint8_t resp_first;
	uint8_t resp_inner[MSG_MAX];
	size_t resp_inner_len;
	struct ike_frag_reasm reasm;  /* the engine's fragments */
	struct aead_iv ivs[IV_LOG];
	size_t nivs;
};

static struct hsa hsas[MAX_HSA];
static size_t nhsa;
static struct hsa *cur;               /* the SA the engine last sent a request on */
static struct hsa *newest;            /* the SA the harness keyed last */

/* The harness's last datagram, for a byte-identical resend. */
static uint8_t last_sent[MSG_MAX + 1024];
static size_t last_sent_len;
static uint16_t last_sent_port;

static void hsa_forget(struct hsa *s)
{
	if (!s->used)
		return;
	ike_sk_key_free(&s->seal);
	ike_sk_key_free(&s->open);
	ike_sa_keys_wipe(&s->keys);
	ike_frag_free(&s->reasm);
	s->used = false;
}

static struct hsa *hsa_find(uint64_t spi_i, uint64_t spi_r)
{
	for (size_t i = 0; i < nhsa; i++)
		if (hsas[i].used && hsas[i].spi_i == spi_i && hsas[i].spi_r == spi_r)
			return &hsas[i];
	return NULL;
}

/* A slot for a new SA: a free one, else one is dropped (never keep). */
static struct hsa *hsa_new(const struct hsa *keep)
{
	struct hsa *s = NULL;
	for (size_t i = 0; i < nhsa && !s; i++)
		if (!hsas[i].used)
			s = &hsas[i];
	if (!s && nhsa < MAX_HSA)
		s = &hsas[nhsa++];
	if (!s) {
		s = &hsas[keep == &hsas[0] ? 1 : 0];
		hsa_forget(s);
	}
	if (s == cur)
		cur = NULL;
	newest = s;
	memset(s, 0, offsetof(struct hsa, reasm));
	ike_frag_init(&s->reasm);
	s->nivs = 0;
	return s;
}

static bool hsa_key(struct hsa *s, const char **why)
{
	const struct ike_key *se = s->we_init ? &s->keys.ei : &s->keys.er,
	                     *sa = s->we_init ? &s->keys.ai : &s->keys.ar,
	                     *oe = s->we_init ? &s->keys.er : &s->keys.ei,
	                     *oa = s->we_init ? &s->keys.ar : &s->keys.ai;
	if (!ike_sk_key_init(&s->seal, s->suite.enc, se->octets, se->len, s->suite.integ,
	                     sa->octets, sa->len, true, false, why))
		return false;
	if (!ike_sk_key_init(&s->open, s->suite.enc, oe->octets, oe->len, s->suite.integ,
	                     oa->octets, oa->len, false, false, why)) {
		ike_sk_key_free(&s->seal);
		return false;
	}
	s->used = true;
	return true;
}

/* A message of the engine on one of the harness's SAs: it must verify and
 * decrypt with the harness's keys, and a request is kept for the answer. */
static void hsa_check(struct hsa *s, const uint8_t *msg, size_t len)
{
	if (!(scratch_m.hdr.flags & IKE_FLAG_INITIATOR) != s->we_init)
		fail("the engine's message has the Initiator flag of the wrong side (RFC 7296 §3.1)");
	uint8_t *buf = malloc(len);
	if (!buf)
		return;
	memcpy(buf, msg, len);
	static struct ike_message m, im;
	if (ike_decode(buf, len, &m, NULL) != IKE_DECODE_OK)
		fail("the engine sent a message it cannot decode");
	const struct ike_payload *p = ike_find(&m, IKE_PL_SK), *f = ike_find(&m, IKE_PL_SKF);
	if (!p && !f)
		fail("the engine sent an IKE SA's message without SK or SKF");
	const struct ike_payload *q = p ? p : f;
	size_t iv_off = p ? 0 : 4;    /* SKF: Fragment Number, Total Fragments first */
	if (s->suite.enc != ENC_NULL && crypto_enc_info(s->suite.enc)->aead && q->len >= iv_off + 8 &&
	    !aead_iv_unique(s->ivs, &s->nivs, IV_LOG, q->body + iv_off, buf + len))
		fail("the engine used an AEAD IV twice under one key");
	const char *why = NULL;
	uint8_t *inner = NULL, first = 0;
	size_t inner_len = 0;
	bool whole = false;
	if (p) {
		if (!ike_sk_open(&s->open, buf, len, (size_t)(p->body - 4 - buf), &inner, &inner_len,
		                 &why))
			fail("a message of the engine does not verify with the responder's keys");
		first = p->next;
		whole = true;
	} else {
		enum ike_frag_status st = ike_frag_add(&s->reasm, &s->open, buf, len, &m, &why);
		if (st == IKE_FRAG_DROP) {
			fprintf(stderr, "(%s)\n", why ? why : "?");
			fail("a fragment of the engine does not verify or does not fit");
		}
		if (st == IKE_FRAG_COMPLETE) {
			inner = s->reasm.inner;
			inner_len = s->reasm.inner_len;
			first = s->reasm.first;
			whole = true;
		}
	}
	if (whole) {
		if (ike_decode_inner(inner, inner_len, first, &im, &why) != IKE_DECODE_OK)
			fail("the inner payloads of the engine's message do not decode");
		if (!(m.hdr.flags & IKE_FLAG_RESPONSE) && inner_len <= sizeof(s->req_inner)) {
			s->req_valid = true;
			s->req_exch = m.hdr.exchange;
			s->req_mid = m.hdr.message_id;
			s->req_first = first;
			memcpy(s->req_inner, inner, inner_len);
			s->req_inner_len = inner_len;
			cur = s;
		}
		if ((m.hdr.flags & IKE_FLAG_RESPONSE) && inner_len <= sizeof(s->resp_inner)) {
			s->resp_valid = true;
			s->resp_mid = m.hdr.message_id;
			s->resp_first = first;
			memcpy(s->resp_inner, inner, inner_len);
			s->resp_inner_len = inner_len;
		}
		if ((m.hdr.flags & IKE_FLAG_RESPONSE) && m.hdr.message_id == s->next_mid)
			s->next_mid++;
	}
	free(buf);
}

/* ---- host callbacks ------------------------------------------------------ */

static void on_send(void *ctx, const struct ike_addr *local, const struct ike_addr *remote,
                    const uint8_t *msg, size_t len)
{
	(void)ctx;
	if (len > MSG_MAX)
		fail("the engine sent more than IKE_MSG_MAX octets");
	if (!addr_same(local, &eng.me) || (local->port != IKE_PORT && local->port != IKE_NATT_PORT))
		fail("the engine sent from an address or port not its own");
	if (!addr_same(remote, &eng.peer) ||
	    (remote->port != IKE_PORT && remote->port != IKE_NATT_PORT))
		fail("the engine sent to someone other than the peer");
	memcpy(scratch_buf, msg, len);
	const char *why = NULL;
	if (ike_decode(scratch_buf, len, &scratch_m, &why) != IKE_DECODE_OK) {
		fprintf(stderr, "(%s)\n", why ? why : "?");
		fail("the engine sent a message that does not decode");
	}
	const struct ike_header *h = &scratch_m.hdr;
	elast.any = true;
	elast.h = *h;
	if (h->flags & IKE_FLAG_RESPONSE) {
		elast.resp_seen = true;
		elast.resp_mid = h->message_id;
	} else {
		elast.req_seen = true;
		elast.req = *h;
		elast.req_local = *local;
		elast.req_remote = *remote;
		memcpy(elast.req_msg, msg, len);
		elast.req_len = len;
	}
	struct hsa *s = h->exchange != IKE_SA_INIT ? hsa_find(h->spi_i, h->spi_r) : NULL;
	if (s)
		hsa_check(s, msg, len);
}

/* Whether the prefix a/len lies inside b/blen (same family). */
static bool prefix_in(const struct sa_address *a, uint8_t len, const struct sa_address *b,
                      uint8_t blen)
{
	if (a->family != b->family || len < blen)
		return false;
	size_t n = a->family == AF_INET ? 4 : 16;
	if (len > n * 8)
		return false;
	for (unsigned bit = 0; bit < blen; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));
		if ((a->bytes[bit / 8] & m) != (b->bytes[bit / 8] & m))
			return false;
	}
	return true;
}

/* What the rule allows for its Child SAs' inner traffic, this side and the
 * peer's: transport mode the two hosts, tunnel mode its selectors. */
static void rule_allows(uint32_t rule, struct sa_address *mine, uint8_t *ml,
                        struct sa_address *theirs, uint8_t *tl)
{
	memset(mine, 0, sizeof(*mine));
	memset(theirs, 0, sizeof(*theirs));
	mine->family = theirs->family = AF_INET;
	if (rule == RULE_U) {
		inet_pton(AF_INET, "198.51.100.0", mine->bytes);
		inet_pton(AF_INET, "203.0.113.0", theirs->bytes);
		*ml = *tl = 24;
	} else {
		memcpy(mine->bytes, eng.me.bytes, 4);
		memcpy(theirs->bytes, eng.peer.bytes, 4);
		*ml = *tl = 32;
	}
}

static bool on_install(void *ctx, const struct ike_child_install *c, char *err, size_t errlen)
{
	(void)ctx;
	if (eng.refuse_install) {
		snprintf(err, errlen, "the fuzz harness refuses this install");
		return false;
	}
	install_check_halves(c);
	if (c->rule_id != RULE_T && c->rule_id != RULE_U)
		fail("a Child SA installed for a rule the policy does not have");
	for (int d = 0; d < 2; d++) {
		const struct child_sa_config *cc = d ? &c->out : &c->in;
		install_check_keys(&cc->sa);
		if ((cc->sa.mode == SA_TUNNEL) != (c->rule_id == RULE_U))
			fail("a Child SA installed in another mode than its rule's");
		/* RFC 7296 §2.9: the responder may narrow the selectors, never
		 * widen them; the data path matches the prefixes installed. */
		struct sa_address mine, theirs;
		uint8_t mlen, tlen;
		rule_allows(c->rule_id, &mine, &mlen, &theirs, &tlen);
		bool in = d == 0;
		if (!prefix_in(&cc->src, cc->src_len, in ? &theirs : &mine, in ? tlen : mlen) ||
		    !prefix_in(&cc->dst, cc->dst_len, in ? &mine : &theirs, in ? mlen : tlen)) {
			char a[64] = "?", b[64] = "?";
			inet_ntop(cc->src.family, cc->src.bytes, a, sizeof(a));
			inet_ntop(cc->dst.family, cc->dst.bytes, b, sizeof(b));
			fprintf(stderr, "(%s: %s/%u -> %s/%u, rule %u)\n", in ? "in" : "out", a,
			        cc->src_len, b, cc->dst_len, c->rule_id);
			fail("a Child SA installed with selectors wider than its rule's");
		}
	}
	installs_add(&eng.inst, c);
	return true;
}

static void on_remove(void *ctx, enum sa_proto proto, uint32_t spi_in,
                      const struct sa_address *local, uint32_t spi_out,
                      const struct sa_address *remote)
{
	(void)ctx;
	(void)proto;
	(void)local;
	(void)remote;
	installs_remove(&eng.inst, spi_in, spi_out);
}

static void on_log(void *ctx, int level, const char *line)
{
	(void)ctx;
	(void)level;
	if (fuzz_ike_verbose)
		fprintf(stderr, "[I] %s\n", line);
}

/* The newest Child SA still fully installed (NULL: none). */
static const struct install *newest_child(void)
{
	for (size_t i = eng.inst.n; i-- > 0;)
		if (eng.inst.e[i].live && !eng.inst.e[i].in_gone && !eng.inst.e[i].out_gone)
			return &eng.inst.e[i];
	return NULL;
}

/* ---- setting up --------------------------------------------------------- */

static void rule_init(struct ike_rule *r, uint32_t id, bool tunnel)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	snprintf(r->name, sizeof(r->name), tunnel ? "fuzz tunnel" : "fuzz transport");
	snprintf(r->guid, sizeof(r->guid), "{fuzz-%u}", id);
	r->methods = tunnel ? qm_u : qm_t;
	struct diag d;
	diag_init(&d);
	parse_or_die(policy_auth_add(&r->auth, AUTH_PSK, PSK, &d), "the PSK");
	r->nsel = 1;
	r->local[0].net.family = r->remote[0].net.family = AF_INET;   /* any */
	r->tunnel = tunnel;
	if (tunnel) {
		inet_pton(AF_INET, "198.51.100.0", r->local[0].net.bytes);
		inet_pton(AF_INET, "203.0.113.0", r->remote[0].net.bytes);
		r->local[0].len = r->remote[0].len = 24;
		r->tunnel_peer.family = AF_INET;
		memcpy(r->tunnel_peer.bytes, eng.peer.bytes, 4);
		r->pfs = true;          /* pfs_group 0: the IKE SA's group */
	}
}

static void world_begin(uint8_t flags)
{
	rng_reset();
	memset(&elast, 0, sizeof(elast));
	nhsa = 0;
	cur = newest = NULL;
	last_sent_len = 0;
	memset(&eng, 0, sizeof(eng));
	eng.me.family = eng.peer.family = AF_INET;
	eng.me.port = eng.peer.port = IKE_PORT;
	inet_pton(AF_INET, "192.0.2.1", eng.me.bytes);
	inet_pton(AF_INET, "192.0.2.2", eng.peer.bytes);
	eng.refuse_install = flags & 8;
	rule_init(&eng.rules[0], RULE_T, false);
	rule_init(&eng.rules[1], RULE_U, true);
	struct ike_config cfg = { .retransmit_ms = 500, .retransmit_tries = 3, .dpd_s = 10,
	                          .fragment_size = flags & 0x10 ? 576 : 1280 };
	struct ike_host h = { .ctx = &eng, .send = on_send, .install = on_install,
	                      .remove = on_remove, .log = on_log, .random = host_random };
	eng.e = ike_engine_new(&cfg, &h);
	if (!eng.e)
		fail("ike_engine_new failed");
	struct ike_policy p = { .mm = engine_mm, .rules = eng.rules, .nrules = 2,
	                        .ike_lifetime_s = IKE_LIFE_S };
	char err[128];
	if (!ike_engine_set_policy(eng.e, &p, err, sizeof(err))) {
		fprintf(stderr, "(%s)\n", err);
		fail("ike_engine_set_policy failed");
	}
}

static void acquire(uint32_t rule, uint64_t now)
{
	struct spd_packet p = { .family = AF_INET, .protocol = 1 };
	if (rule == RULE_U) {
		inet_pton(AF_INET, "198.51.100.7", p.src);
		inet_pton(AF_INET, "203.0.113.9", p.dst);
	} else {
		memcpy(p.src, eng.me.bytes, 4);
		memcpy(p.dst, eng.peer.bytes, 4);
	}
	ike_engine_acquire(eng.e, rule, &eng.me, &eng.peer, &p, now);
}

static void world_end(uint64_t now)
{
	/* The read-only views over whatever state the input left. */
	struct ike_stats st;
	ike_engine_stats(eng.e, &st);
	if (st.half_open_sas > st.active_ike_sas)
		fail("more half-open IKE SAs than IKE SAs");
	ike_engine_show_sas(eng.e, fuzz_ike_devnull, now);
	ike_engine_show_failures(eng.e, fuzz_ike_devnull);
	ike_engine_flush(eng.e, now);
	ike_engine_stats(eng.e, &st);
	if (st.active_ike_sas != 0)
		fail("IKE SAs left after ike_engine_flush");
	for (size_t i = 0; i < nhsa; i++)
		hsa_forget(&hsas[i]);
	nhsa = 0;
	ike_engine_free(eng.e);
	eng.e = NULL;
	for (size_t i = 0; i < eng.inst.n; i++)
		if (eng.inst.e[i].live)
			fail("a Child SA stays installed after ike_engine_free");
}

/* One datagram from the peer to the engine, in a buffer of its size. */
static void feed(const uint8_t *msg, size_t len, uint16_t port, uint64_t now)
{
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return;
	memcpy(buf, msg, len);
	struct ike_addr local = eng.me, from = eng.peer;
	local.port = from.port = port;
	ike_engine_input(eng.e, &local, &from, buf, len, now);
	free(buf);
}

/* The harness's own datagram: kept for a resend, then delivered. */
static void send_peer(const uint8_t *msg, size_t len, uint16_t port, uint64_t now)
{
	if (len <= sizeof(last_sent)) {
		if (msg != last_sent)
			memcpy(last_sent, msg, len);
		last_sent_len = len;
		last_sent_port = port;
	}
	feed(msg, len, port, now);
}

/* Clock steps: a retransmission, the liveness check, the half-open expiry,
 * the Child SA rekey (255 s) and the IKE SA rekey (510 s), an hour. */
static const uint64_t tick_steps[8] = { 0, 600, 2100, 11000, 31000, 260000, 520000, 3600000 };

/* ---- RAW datagrams -------------------------------------------------------- */

/*
 * [ctl][length:16][octets]. ctl:
 *   bit 0  SPIi (octets 0..7) := the engine's last message's
 *   bit 1  SPIr (8..15) := the engine's last message's, if not zero
 *   bit 2  an answer to the engine's last request: its exchange and
 *          message ID, flags R
 *   bit 3  the header's length field := the datagram's length
 *   bit 4  from port 4500
 *   bits 5-6  advance the clock before (0, 0.6, 11, 260 s) and tick
 *   bit 7  a request of the peer: the message ID after the engine's last
 *          response (0 if none), flags none
 */
static void raw_op(struct in *in, uint64_t *now)
{
	uint8_t ctl = get8(in);
	static uint8_t msg[MSG_MAX + 4096];
	size_t len = take_chunk_copy(in, msg, sizeof(msg));
	if ((ctl & 1) && elast.any && len >= 8)
		put64(msg, elast.h.spi_i);
	if ((ctl & 2) && elast.any && elast.h.spi_r && len >= 16)
		put64(msg + 8, elast.h.spi_r);
	if ((ctl & 4) && elast.req_seen && len >= 24) {
		msg[18] = elast.req.exchange;
		msg[19] = IKE_FLAG_RESPONSE;
		put32(msg + 20, elast.req.message_id);
	}
	if ((ctl & 0x80) && len >= 24) {
		msg[19] = 0;
		put32(msg + 20, elast.resp_seen ? elast.resp_mid + 1 : 0);
	}
	if ((ctl & 8) && len >= 28)
		put32(msg + 24, (uint32_t)len);
	static const uint8_t pick[4] = { 0, 1, 3, 5 };
	uint64_t step = tick_steps[pick[ctl >> 5 & 3]];
	if (step) {
		*now += step;
		ike_engine_tick(eng.e, *now);
	}
	send_peer(msg, len, ctl & 0x10 ? IKE_NATT_PORT : IKE_PORT, *now);
}

/* ---- mode 1: the harness as the responder --------------------------------- */

/* Finishes what w holds (the harness's own payloads, checked by the
 * writer), then puts the raw chain behind it unchecked -- fuzz input need
 * not decode -- linking its first type in and fixing the header's length. */
static bool finish_with(struct ike_writer *w, uint8_t first, const uint8_t *chain, size_t n)
{
	if (!ike_finish(w))
		return false;
	if (!n)
		return true;
	if (n > w->cap - w->len)
		return false;
	if (w->link != SIZE_MAX)
		w->buf[w->link] = first;
	else if (!w->first)
		w->first = first;
	memcpy(w->buf + w->len, chain, n);
	w->len += n;
	w->link = SIZE_MAX;
	if (w->header)
		put32(w->buf + 24, (uint32_t)w->len);
	return true;
}

/* The peer's SA payload in m (decoded into sa), NULL if absent. */
static bool get_sa(const struct ike_message *m, struct ike_sa *sa)
{
	const struct ike_payload *p = ike_find(m, IKE_PL_SA);
	return p && ike_decode_sa(p, sa, NULL);
}

/*
 * The answer to the engine's IKE_SA_INIT request (elast.req_msg). opts
 * as in the header comment; chain: the extra payloads (bit 6) or the
 * whole answer (bit 7), the cookie's value (bit 2, if any).
 */
static void answer_init(uint8_t opts, uint8_t first, const uint8_t *chain, size_t clen,
                        uint64_t now)
{
	static uint8_t req[MSG_MAX];
	static struct ike_message m;
	static struct ike_sa theirs;
	size_t rlen = elast.req_len;
	memcpy(req, elast.req_msg, rlen);
	if (ike_decode(req, rlen, &m, NULL) != IKE_DECODE_OK)
		return;
	const struct ike_payload *pke = ike_find(&m, IKE_PL_KE), *pn = ike_find(&m, IKE_PL_NONCE);
	struct ike_ke ke;
	struct ike_data ni;
	if (!get_sa(&m, &theirs) || !pke || !pn || !ike_decode_ke(pke, &ke, NULL) ||
	    !ike_decode_nonce(pn, &ni, NULL))
		fail("the engine's IKE_SA_INIT request lacks SA, KE or Nonce");
	uint16_t port = elast.req_remote.port;
	uint64_t spi_r;
	do
		rng_fill((uint8_t *)&spi_r, sizeof(spi_r));
	while (!spi_r);
	static uint8_t out[MSG_MAX];
	struct ike_writer w;
	ike_writer_init(&w, out, sizeof(out));
	struct ike_header h = { .spi_i = m.hdr.spi_i, .spi_r = spi_r, .major = 2,
	                        .exchange = IKE_SA_INIT, .flags = IKE_FLAG_RESPONSE };
	if (opts & 0x80) {
		/* Whatever the chain says (errors, half answers, junk). */
		ike_put_header(&w, &h);
		if (finish_with(&w, first, chain, clen))
			send_peer(out, w.len, port, now);
		return;
	}
	if (opts & 4) {
		/* §2.6: a COOKIE (the chain's first octets, else a fixed one). */
		static const uint8_t fixed[16] = "fuzz-cookie-16o";
		h.spi_r = 0;
		ike_put_header(&w, &h);
		size_t cl = clen > IKE_COOKIE_MAX ? IKE_COOKIE_MAX : clen;
		notify(&w, IKE_N_COOKIE, cl ? chain : fixed, cl ? cl : sizeof(fixed));
		if (ike_finish(&w))
			send_peer(out, w.len, port, now);
		return;
	}
	struct ike_choice c;
	char reason[128];
	if (!ike_select(&harness_ike[opts & 3], &theirs, &c, reason, sizeof(reason))) {
		h.spi_r = 0;
		ike_put_header(&w, &h);
		notify(&w, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		if (ike_finish(&w))
			send_peer(out, w.len, port, now);
		return;
	}
	if (ke.group != c.dh) {
		uint8_t g[2] = { (uint8_t)(c.dh >> 8), (uint8_t)c.dh };
		h.spi_r = 0;
		ike_put_header(&w, &h);
		notify(&w, IKE_N_INVALID_KE_PAYLOAD, g, sizeof(g));
		if (ike_finish(&w))
			send_peer(out, w.len, port, now);
		return;
	}
	struct ike_suite suite;
	if (!ike_suite_of(&c, &suite))
		fail("the harness chose a suite it cannot use");
	struct dh dh;
	const char *why = NULL;
	if (!dh_init(&dh, c.dh, false, &why))
		fail("dh_init failed for a harness group");
	uint8_t pub[DH_MAX_PUBLIC], nr[32];
	size_t publen = dh_public_len(c.dh);
	if (publen > sizeof(pub) || !dh_public(&dh, pub, publen))
		fail("dh_public failed");
	rng_fill(nr, sizeof(nr));
	ike_put_header(&w, &h);
	struct ike_transform xf[5];
	struct ike_proposal p;
	ike_choice_proposal(&c, NULL, 0, xf, &p);
	ike_put_sa(&w, &p, 1);
	ike_put_ke(&w, &(struct ike_ke){ .group = c.dh, .data = pub, .len = publen });
	ike_put_nonce(&w, nr, sizeof(nr));
	uint8_t hs[20];
	struct ike_addr me = eng.peer, it = eng.me;
	me.port = it.port = port;
	switch (opts >> 3 & 3) {
	case 1:   /* right hashes: no NAT */
	case 2:   /* a NAT in front of the engine: its address is not what we see */
	case 3:   /* a NAT in front of us */
		nat_hash(m.hdr.spi_i, spi_r, &me, hs);
		if ((opts >> 3 & 3) == 3)
			hs[0] ^= 1;
		notify(&w, IKE_N_NAT_DETECTION_SOURCE_IP, hs, sizeof(hs));
		nat_hash(m.hdr.spi_i, spi_r, &it, hs);
		if ((opts >> 3 & 3) == 2)
			hs[0] ^= 1;
		notify(&w, IKE_N_NAT_DETECTION_DESTINATION_IP, hs, sizeof(hs));
		break;
	default:
		break;
	}
	if (opts & 0x20)
		notify(&w, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
	if (!finish_with(&w, first, chain, opts & 0x40 ? clen : 0))
		goto out;
	/* Our side of the IKE SA, from what we answer. */
	uint8_t secret[IKE_SECRET_MAX];
	size_t slen = sizeof(secret);
	if (!dh_derive(&dh, ke.data, ke.len, secret, &slen, &why))
		goto send;   /* the engine's KE is bad: it will not get far either */
	struct hsa *s = hsa_new(NULL);
	s->spi_i = m.hdr.spi_i;
	s->spi_r = spi_r;
	s->suite = suite;
	memcpy(s->ni, ni.data, ni.len);
	s->ni_len = ni.len;
	memcpy(s->nr, nr, sizeof(nr));
	s->nr_len = sizeof(nr);
	memcpy(s->init_r, out, w.len);
	s->init_r_len = w.len;
	uint8_t si[8], sr[8];
	put64(si, s->spi_i);
	put64(sr, s->spi_r);
	struct ike_nonces n = { s->ni, s->nr, s->ni_len, s->nr_len };
	if (!ike_sa_keys_initial(&s->keys, &suite, &n, secret, slen, si, sr, false, &why) ||
	    !hsa_key(s, &why))
		fail(why ? why : "the harness cannot key its IKE SA");
	crypto_wipe(secret, sizeof(secret));
send:
	send_peer(out, w.len, port, now);
out:
	dh_free(&dh);
}

/* IDr (the peer's IPv4 address) and AUTH with the pre-shared key
 * (RFC 7296 §2.15: over our IKE_SA_INIT answer, Ni and prf(SK_pr, IDr)). */
static void put_idr_auth(struct ike_writer *w, const struct hsa *s)
{
	uint8_t idb[8] = { IKE_ID_IPV4_ADDR, 0, 0, 0 };
	memcpy(idb + 4, eng.peer.bytes, 4);
	enum crypto_prf alg = s->suite.prf;
	size_t plen = crypto_prf_info(alg)->len;
	uint8_t macid[PRF_MAX_LEN], key[PRF_MAX_LEN], auth[PRF_MAX_LEN];
	static uint8_t octets[MSG_MAX + IKE_NONCE_MAX + PRF_MAX_LEN];
	if (!prf(alg, s->keys.pr.octets, s->keys.pr.len, idb, sizeof(idb), macid) ||
	    !prf(alg, (const uint8_t *)PSK, strlen(PSK), (const uint8_t *)"Key Pad for IKEv2", 17,
	         key))
		fail("prf failed");
	memcpy(octets, s->init_r, s->init_r_len);
	memcpy(octets + s->init_r_len, s->ni, s->ni_len);
	memcpy(octets + s->init_r_len + s->ni_len, macid, plen);
	if (!prf(alg, key, plen, octets, s->init_r_len + s->ni_len + plen, auth))
		fail("prf failed");
	ike_put_id(w, IKE_PL_IDR, &(struct ike_id){ .type = IKE_ID_IPV4_ADDR, .data = idb + 4,
	                                              .len = 4 });
	ike_put_auth(w, &(struct ike_auth){ .method = IKE_AUTH_PSK, .data = auth, .len = plen });
}

/* The Child SA proposal the harness takes from theirs (with a KE of its
 * group when they sent one): false if none suits. */
static bool child_choice(const struct ike_sa *theirs, uint16_t ke_group, struct ike_choice *c)
{
	static struct ike_offer o;
	char reason[128];
	ike_offer_from_qm(&o, &harness_qm, ke_group, false);
	return ike_select(&o, theirs, c, reason, sizeof(reason));
}

/* A copy of the selectors payload of type t from m, as it was. */
static void echo_ts(struct ike_writer *w, const struct ike_message *m, uint8_t t)
{
	const struct ike_payload *p = ike_find(m, t);
	if (!p)
		return;
	ike_payload_begin(w, t, false);
	ike_put_bytes(w, p->body, p->len);
	ike_payload_end(w);
}

/* A fresh SPI for the harness's half of a Child SA (>= 256). */
static uint32_t harness_spi(void)
{
	uint32_t spi = 0;
	while (spi < 256)
		rng_fill((uint8_t *)&spi, sizeof(spi));
	return spi;
}

/*
 * The valid part of an answer to the engine's request m on s (opts bit 2:
 * no selectors, the fuzz chain brings them). An IKE SA rekey also makes
 * the harness's side of the new SA (returned in *fresh, keyed once the
 * answer is sent).
 */
static void auto_answer(struct ike_writer *w, struct hsa *s, const struct ike_message *m,
                        uint8_t opts, struct hsa **fresh)
{
	static struct ike_sa theirs;
	struct ike_choice c;
	if (!get_sa(m, &theirs))
		return;
	const struct ike_payload *pke = ike_find(m, IKE_PL_KE), *pn = ike_find(m, IKE_PL_NONCE);
	struct ike_ke ke = { 0 };
	if (pke)
		ike_decode_ke(pke, &ke, NULL);
	bool ike_rekey = theirs.count && theirs.prop[0].protocol == IKE_PROTO_IKE;
	if (ike_rekey) {
		/* §1.3.2: the new IKE SA -- one of their proposals with our SPI,
		 * a nonce and a KE of the group they sent one for. */
		struct ike_data ni;
		char reason[128];
		size_t k;
		for (k = 0; k < 4; k++)
			if (ike_select(&harness_ike[k], &theirs, &c, reason, sizeof(reason)) &&
			    c.dh == ke.group)
				break;
		if (k == 4 || !pn || !ike_decode_nonce(pn, &ni, NULL) || theirs.prop[0].spi_size != 8)
			return;
		uint64_t spi_i = 0;
		for (size_t i = 0; i < theirs.count; i++)
			if (theirs.prop[i].num == c.num)
				spi_i = be64(theirs.prop[i].spi);
		struct ike_suite suite;
		struct dh dh;
		const char *why = NULL;
		if (!spi_i || !ike_suite_of(&c, &suite) || !dh_init(&dh, c.dh, false, &why))
			return;
		uint8_t pub[DH_MAX_PUBLIC], nr[32], secret[IKE_SECRET_MAX];
		size_t publen = dh_public_len(c.dh), slen = sizeof(secret);
		uint64_t spi_r;
		do
			rng_fill((uint8_t *)&spi_r, sizeof(spi_r));
		while (!spi_r);
		rng_fill(nr, sizeof(nr));
		if (publen > sizeof(pub) || !dh_public(&dh, pub, publen) ||
		    !dh_derive(&dh, ke.data, ke.len, secret, &slen, &why)) {
			dh_free(&dh);
			return;
		}
		dh_free(&dh);
		uint8_t spi[8];
		put64(spi, spi_r);
		struct ike_transform xf[5];
		struct ike_proposal p;
		ike_choice_proposal(&c, spi, 8, xf, &p);
		ike_put_sa(w, &p, 1);
		ike_put_nonce(w, nr, sizeof(nr));
		ike_put_ke(w, &(struct ike_ke){ .group = c.dh, .data = pub, .len = publen });
		struct hsa *ns = hsa_new(s);
		ns->spi_i = spi_i;
		ns->spi_r = spi_r;
		ns->suite = suite;
		memcpy(ns->ni, ni.data, ni.len);
		ns->ni_len = ni.len;
		memcpy(ns->nr, nr, sizeof(nr));
		ns->nr_len = sizeof(nr);
		uint8_t si[8], sr[8];
		put64(si, spi_i);
		put64(sr, spi_r);
		struct ike_nonces n = { ns->ni, ns->nr, ns->ni_len, ns->nr_len };
		if (!ike_sa_keys_rekey(&ns->keys, &s->keys, &suite, &n, secret, slen, si, sr, false,
		                       &why) ||
		    !hsa_key(ns, &why))
			fail(why ? why : "the harness cannot key the rekeyed IKE SA");
		crypto_wipe(secret, sizeof(secret));
		*fresh = ns;
		return;
	}
	if (!child_choice(&theirs, pke ? ke.group : 0, &c))
		return;
	uint8_t spi[4];
	put32(spi, harness_spi());
	struct ike_transform xf[5];
	struct ike_proposal p;
	ike_choice_proposal(&c, spi, 4, xf, &p);
	ike_put_sa(w, &p, 1);
	if (pn) {
		/* CREATE_CHILD_SA: our nonce, and a KE with PFS. */
		uint8_t nr[32];
		rng_fill(nr, sizeof(nr));
		ike_put_nonce(w, nr, sizeof(nr));
		struct dh dh;
		const char *why = NULL;
		if (c.dh && dh_init(&dh, c.dh, false, &why)) {
			uint8_t pub[DH_MAX_PUBLIC];
			size_t publen = dh_public_len(c.dh);
			if (publen <= sizeof(pub) && dh_public(&dh, pub, publen))
				ike_put_ke(w, &(struct ike_ke){ .group = c.dh, .data = pub, .len = publen });
			dh_free(&dh);
		}
	}
	if (!(opts & 4)) {
		echo_ts(w, m, IKE_PL_TSI);
		echo_ts(w, m, IKE_PL_TSR);
	}
	if (ike_find_notify(m, IKE_N_USE_TRANSPORT_MODE, NULL))
		notify(w, IKE_N_USE_TRANSPORT_MODE, NULL, 0);
}

/* Seals the inner chain plain (first: its first type) on s and delivers
 * it: whole, or (frag) as RFC 7383 fragments of at most 300 octets. */
static void seal_send(struct hsa *s, uint8_t exch, uint8_t flags, uint32_t mid, uint8_t first,
                      const uint8_t *plain, size_t plen, bool corrupt, bool frag, bool twice,
                      uint16_t port, uint64_t now)
{
	if (frag) {
		const char *why = NULL;
		static uint8_t bufs[IKE_FRAG_MAX][400];
		struct ike_frag_buf fb[IKE_FRAG_MAX];
		for (size_t i = 0; i < IKE_FRAG_MAX; i++)
			fb[i] = (struct ike_frag_buf){ .buf = bufs[i], .cap = sizeof(bufs[i]) };
		struct ike_header h = { .spi_i = s->spi_i, .spi_r = s->spi_r, .major = 2,
		                        .exchange = exch, .flags = flags, .message_id = mid };
		size_t nf = ike_frag_seal(&s->seal, &h, first, plain, plen, 300, fb, IKE_FRAG_MAX, &why);
		/* Last fragment first: reassembly must not depend on the order. */
		for (size_t i = nf; i-- > 0;) {
			if (corrupt && i == 0)
				fb[i].buf[fb[i].len - 1] ^= 1;
			send_peer(fb[i].buf, fb[i].len, port, now);
			if (twice)
				send_peer(fb[i].buf, fb[i].len, port, now);
		}
		return;
	}
	static uint8_t msg[MSG_MAX + 1024];
	size_t n = seal_sk(&s->seal, s->suite.enc, s->spi_i, s->spi_r, exch, flags, mid,
	                   plen ? first : IKE_PL_NONE, plain, plen, msg, sizeof(msg));
	if (!n)
		return;
	if (corrupt)
		msg[n - 1] ^= 1;
	send_peer(msg, n, port, now);
	if (twice)
		send_peer(msg, n, port, now);
}

/* ANSWER on a keyed SA: [valid parts][chain], sealed (see the header). */
static void answer_sealed(struct hsa *s, uint8_t opts, uint8_t first, const uint8_t *chain,
                          size_t clen, uint64_t now)
{
	static struct ike_message m;
	static uint8_t req[MSG_MAX], plain[MSG_MAX];
	if (!s->req_valid)
		return;
	memcpy(req, s->req_inner, s->req_inner_len);
	memset(&m, 0, sizeof(m));
	if (ike_decode_inner(req, s->req_inner_len, s->req_first, &m, NULL) != IKE_DECODE_OK)
		return;
	struct ike_writer w;
	ike_writer_init(&w, plain, sizeof(plain));
	struct hsa *fresh = NULL;
	if ((opts & 1) && s->req_exch == IKE_AUTH)
		put_idr_auth(&w, s);
	if (opts & 2)
		auto_answer(&w, s, &m, opts, &fresh);
	if (!finish_with(&w, first, chain, clen)) {
		if (fresh)
			hsa_forget(fresh);
		return;
	}
	uint32_t mid = s->req_mid + (opts & 0x10 ? 1 : 0);
	uint16_t port = opts & 0x80 ? IKE_NATT_PORT : elast.req_remote.port;
	uint8_t flags = IKE_FLAG_RESPONSE | (s->we_init ? IKE_FLAG_INITIATOR : 0);
	seal_send(s, s->req_exch, flags, mid, w.first, plain, w.len, opts & 8,
	          opts & 0x20, opts & 0x40, port, now);
}

/*
 * REQUEST: a sealed request of the harness on the current SA; with bit 3 a
 * valid prefix for the exchange (see the header). The flags carry no I:
 * the engine started the SA.
 */
/*
 * The harness rekeys the IKE SA s (RFC 7296 §1.3.2): a proposal of
 * HARNESS_MM[pick] with its new SPI, a nonce and a KE into w; *dh keeps
 * the key pair for rekey_finish(). False if it cannot.
 */
static bool rekey_request(struct ike_writer *w, uint8_t pick, struct dh *dh, uint64_t *spi,
                          uint8_t ni[32])
{
	struct ike_proposal p = harness_ike[pick & 3].prop[0];
	uint16_t group = 0;
	for (size_t k = 0; k < p.count; k++)
		if (p.xf[k].type == IKE_XF_DH)
			group = p.xf[k].id;
	const char *why = NULL;
	if (!dh_init(dh, group, false, &why))
		return false;
	uint8_t pub[DH_MAX_PUBLIC];
	size_t publen = dh_public_len(group);
	if (publen > sizeof(pub) || !dh_public(dh, pub, publen)) {
		dh_free(dh);
		return false;
	}
	do
		rng_fill((uint8_t *)spi, sizeof(*spi));
	while (!*spi);
	p.spi_size = 8;
	put64(p.spi, *spi);
	rng_fill(ni, 32);
	ike_put_sa(w, &p, 1);
	ike_put_nonce(w, ni, 32);
	ike_put_ke(w, &(struct ike_ke){ .group = group, .data = pub, .len = publen });
	return true;
}

/* The engine's answer (mid) to the harness's IKE SA rekey of s: the new
 * SA's keys, the harness its original initiator. */
static void rekey_finish(struct hsa *s, uint32_t mid, uint8_t pick, struct dh *dh, uint64_t spi_i,
                         const uint8_t ni[32])
{
	static struct ike_message m;
	static struct ike_sa theirs;
	static uint8_t buf[MSG_MAX];
	if (!s->resp_valid || s->resp_mid != mid)
		return;
	memcpy(buf, s->resp_inner, s->resp_inner_len);
	memset(&m, 0, sizeof(m));
	if (ike_decode_inner(buf, s->resp_inner_len, s->resp_first, &m, NULL) != IKE_DECODE_OK ||
	    !get_sa(&m, &theirs))
		return;   /* refused: an error notification */
	const struct ike_payload *pke = ike_find(&m, IKE_PL_KE), *pn = ike_find(&m, IKE_PL_NONCE);
	struct ike_ke ke;
	struct ike_data nr;
	struct ike_choice c;
	struct ike_suite suite;
	char reason[128];
	if (!pke || !pn || !ike_decode_ke(pke, &ke, NULL) || !ike_decode_nonce(pn, &nr, NULL))
		fail("the engine accepted an IKE SA rekey without KE or Nonce");
	if (theirs.count != 1 || theirs.prop[0].spi_size != 8 || !be64(theirs.prop[0].spi))
		fail("the engine accepted an IKE SA rekey with no new SPI of its own");
	if (!ike_select(&harness_ike[pick & 3], &theirs, &c, reason, sizeof(reason)) ||
	    !ike_suite_of(&c, &suite))
		fail("the engine answered an IKE SA rekey with a proposal we did not make");
	uint8_t secret[IKE_SECRET_MAX];
	size_t slen = sizeof(secret);
	const char *why = NULL;
	if (ke.group != c.dh || !dh_derive(dh, ke.data, ke.len, secret, &slen, &why))
		fail("the engine's rekey KE does not derive");
	struct hsa *ns = hsa_new(s);
	ns->we_init = true;
	ns->spi_i = spi_i;
	ns->spi_r = be64(theirs.prop[0].spi);
	ns->suite = suite;
	memcpy(ns->ni, ni, 32);
	ns->ni_len = 32;
	memcpy(ns->nr, nr.data, nr.len);
	ns->nr_len = nr.len;
	uint8_t si[8], sr[8];
	put64(si, ns->spi_i);
	put64(sr, ns->spi_r);
	struct ike_nonces n = { ns->ni, ns->nr, ns->ni_len, ns->nr_len };
	if (!ike_sa_keys_rekey(&ns->keys, &s->keys, &suite, &n, secret, slen, si, sr, false, &why) ||
	    !hsa_key(ns, &why))
		fail(why ? why : "the harness cannot key the rekeyed IKE SA");
	crypto_wipe(secret, sizeof(secret));
}

/*
 * REQUEST: a sealed request of the harness on the current SA (bit 5: on
 * the one it keyed last); with bit 3 a valid prefix for the exchange (see
 * the header; CREATE_CHILD_SA with bit 4: the harness rekeys the IKE SA,
 * suite HARNESS_MM[first % 4], and goes on over the new SA).
 */
static void request_sealed(uint8_t opts, uint8_t exch, uint8_t first, const uint8_t *chain,
                           size_t clen, uint64_t now)
{
	struct hsa *s = opts & 0x20 ? newest : cur;
	if (!s || !s->used)
		return;
	static uint8_t plain[MSG_MAX];
	struct ike_writer w;
	ike_writer_init(&w, plain, sizeof(plain));
	const struct install *ch = newest_child();
	struct dh rk_dh;
	bool rk = false;
	uint64_t rk_spi = 0;
	uint8_t rk_ni[32];
	if ((opts & 8) && exch == IKE_INFORMATIONAL) {
		uint8_t spi[4];
		if (opts & 0x10 || !ch) {
			ike_put_delete(&w, &(struct ike_delete){ .protocol = IKE_PROTO_IKE });
		} else {
			/* We delete our inbound SPI: the engine's outbound one. */
			put32(spi, ch->out);
			ike_put_delete(&w, &(struct ike_delete){ IKE_PROTO_ESP, 4, 1, spi });
		}
	} else if ((opts & 0x18) == 0x18 && exch == IKE_CREATE_CHILD_SA) {
		rk = rekey_request(&w, first, &rk_dh, &rk_spi, rk_ni);
	} else if ((opts & 8) && exch == IKE_CREATE_CHILD_SA && ch) {
		uint8_t old[4];
		put32(old, ch->out);
		ike_put_notify(&w, &(struct ike_notify){ .protocol = IKE_PROTO_ESP, .spi_size = 4,
		                                         .type = IKE_N_REKEY_SA, .spi = old });
		static struct ike_offer o;
		bool pfs = ch->rule == RULE_U;
		ike_offer_from_qm(&o, ch->rule == RULE_U ? &qm_u : &qm_t, pfs ? IKE_DH_CURVE25519 : 0,
		                  false);
		uint8_t spi[4];
		put32(spi, harness_spi());
		for (size_t i = 0; i < o.count; i++)
			memcpy(o.prop[i].spi, spi, 4);
		ike_put_sa(&w, o.prop, o.count);
		uint8_t nonce[32];
		rng_fill(nonce, sizeof(nonce));
		ike_put_nonce(&w, nonce, sizeof(nonce));
		if (pfs) {
			struct dh dh;
			const char *why = NULL;
			if (dh_init(&dh, IKE_DH_CURVE25519, false, &why)) {
				uint8_t pub[32];
				if (dh_public(&dh, pub, sizeof(pub)))
					ike_put_ke(&w, &(struct ike_ke){ .group = IKE_DH_CURVE25519, .data = pub,
					                                 .len = sizeof(pub) });
				dh_free(&dh);
			}
		}
		/* The selectors from our side: TSi is ours (the peer's), TSr the engine's. */
		struct sa_address mine, theirs;
		uint8_t ml, tl;
		rule_allows(ch->rule, &mine, &ml, &theirs, &tl);
		struct ike_ts tsi = { .count = 1 }, tsr = { .count = 1 };
		ike_ts_from_prefix(&tsi.sel[0], AF_INET, theirs.bytes, tl, 0, 0);
		ike_ts_from_prefix(&tsr.sel[0], AF_INET, mine.bytes, ml, 0, 0);
		ike_put_ts(&w, IKE_PL_TSI, &tsi);
		ike_put_ts(&w, IKE_PL_TSR, &tsr);
		if (ch->rule == RULE_T)
			notify(&w, IKE_N_USE_TRANSPORT_MODE, NULL, 0);
	}
	if (!finish_with(&w, first, chain, clen)) {
		if (rk)
			dh_free(&rk_dh);
		return;
	}
	uint32_t mid = s->next_mid + (opts & 1);
	uint8_t flags = s->we_init ? IKE_FLAG_INITIATOR : 0;
	s->resp_valid = false;
	seal_send(s, exch, flags, mid, w.first, plain, w.len, opts & 2, opts & 4, opts & 0x80,
	          opts & 0x40 ? IKE_NATT_PORT : elast.req_remote.port ? elast.req_remote.port
	                                                               : IKE_PORT,
	          now);
	if (rk) {
		rekey_finish(s, mid, first, &rk_dh, rk_spi, rk_ni);
		dh_free(&rk_dh);
	}
}

static void answer_op(struct in *in, uint64_t now)
{
	uint8_t opts = get8(in), first = get8(in);
	const uint8_t *chain;
	size_t clen = take_chunk(in, &chain);
	if (!elast.req_seen)
		return;
	if (elast.req.exchange == IKE_SA_INIT) {
		answer_init(opts, first, chain, clen, now);
		return;
	}
	struct hsa *s = hsa_find(elast.req.spi_i, elast.req.spi_r);
	if (s)
		answer_sealed(s, opts, first, chain, clen, now);
}

static void request_op(struct in *in, uint64_t now)
{
	uint8_t opts = get8(in), exch = (uint8_t)(IKE_SA_INIT + get8(in) % 4), first = get8(in);
	const uint8_t *chain;
	size_t clen = take_chunk(in, &chain);
	request_sealed(opts, exch, first, chain, clen, now);
}

static void engine_op(uint8_t sub, uint64_t now)
{
	const struct install *ch = newest_child();
	switch (sub % 4) {
	case 0:
		acquire(sub & 4 ? RULE_U : RULE_T, now);
		break;
	case 1:
	case 2:
		/* The data path: a byte limit crossed (soft: rekey now; hard: gone). */
		if (ch)
			ike_engine_sa_expiring(eng.e, SA_PROTO_ESP, sub & 4 ? ch->out : ch->in, !(sub & 4),
			                       sub % 4 == 2, now);
		break;
	default: {
		/* `delete qmsas` / `delete mmsas` naming the peer. */
		struct sa_address a = { .family = AF_INET };
		memcpy(a.bytes, eng.peer.bytes, 4);
		ike_engine_delete_sas(eng.e, sub & 4, &a, NULL, now);
		break;
	}
	}
}

static void run(uint8_t flags, struct in *in)
{
	world_begin(flags);
	uint64_t now = T0;
	uint32_t rule = flags & 2 ? RULE_U : RULE_T;
	if (flags & 4)
		ike_engine_initiate(eng.e, rule, &eng.me, &eng.peer, now);
	else
		acquire(rule, now);
	bool sealed = flags & 1;
	for (int k = 0; k < MAX_OPS && in->n; k++) {
		if (!sealed) {
			raw_op(in, &now);
			continue;
		}
		uint8_t op = get8(in);
		switch (op % 6) {
		case 0:
			answer_op(in, now);
			break;
		case 1:
			request_op(in, now);
			break;
		case 2:
			now += tick_steps[get8(in) % 8] + (uint64_t)(op >> 3) * 100;
			ike_engine_tick(eng.e, now);
			break;
		case 3:
			raw_op(in, &now);
			break;
		case 4:
			engine_op(get8(in), now);
			break;
		default:
			if (last_sent_len)
				feed(last_sent, last_sent_len, last_sent_port, now);
			break;
		}
	}
	now += 31000;
	ike_engine_tick(eng.e, now);
	world_end(now);
}

/* ---- the seed corpus ---------------------------------------------------- */

static void sb_answer(struct sbuf *s, uint8_t opts, uint8_t first, const uint8_t *chain, size_t n)
{
	sb_u8(s, 0);
	sb_u8(s, opts);
	sb_u8(s, first);
	sb_chunk(s, chain, n);
}

static void sb_request(struct sbuf *s, uint8_t opts, uint8_t exch, uint8_t first,
                       const uint8_t *chain, size_t n)
{
	sb_u8(s, 1);
	sb_u8(s, opts);
	sb_u8(s, (uint8_t)(exch - IKE_SA_INIT));
	sb_u8(s, first);
	sb_chunk(s, chain, n);
}

static void sb_tick(struct sbuf *s, uint8_t step)
{
	sb_u8(s, 2);
	sb_u8(s, step);
}

/* A notification alone, as a chain. */
static size_t chain_notify(uint8_t *out, size_t cap, uint16_t type, const uint8_t *data,
                           size_t len)
{
	struct ike_writer w;
	ike_writer_init(&w, out, cap);
	notify(&w, type, data, len);
	ike_finish(&w);
	return w.len;
}

/* Selectors a hostile responder widens to: everything both ways. */
static size_t chain_wide_ts(uint8_t *out, size_t cap, bool transport)
{
	struct ike_writer w;
	ike_writer_init(&w, out, cap);
	uint8_t any[4] = { 0 };
	struct ike_ts ts = { .count = 1 };
	ike_ts_from_prefix(&ts.sel[0], AF_INET, any, 0, 0, 0);
	ike_put_ts(&w, IKE_PL_TSI, &ts);
	ike_put_ts(&w, IKE_PL_TSR, &ts);
	if (transport)
		notify(&w, IKE_N_USE_TRANSPORT_MODE, NULL, 0);
	ike_finish(&w);
	return w.len;
}

static void write_seeds(void)
{
	struct sbuf *s = malloc(sizeof(*s));
	if (!s)
		exit(1);
	static uint8_t chain[2048];
	size_t n;
	/* Mode 1, the whole way: IKE_SA_INIT, IKE_AUTH with a Child SA, for
	 * each suite the harness may pick, both rules. */
	for (uint8_t rule = 0; rule < 2; rule++)
		for (uint8_t su = 0; su < 4; su++) {
			s->n = 0;
			sb_u8(s, (uint8_t)(1 | rule << 1));
			if (su)   /* the engine's KE is for group 31: INVALID_KE_PAYLOAD first */
				sb_answer(s, su, 0, NULL, 0);
			sb_answer(s, su | 0x08 | 0x20, 0, NULL, 0);   /* NAT hashes, fragmentation */
			sb_answer(s, 0x03, 0, NULL, 0);              /* AUTH + the Child SA */
			sb_request(s, 0, IKE_INFORMATIONAL, 0, NULL, 0);   /* liveness from the peer */
			char name[64];
			snprintf(name, sizeof(name), "sealed-auth-%s-s%u", rule ? "tunnel" : "transport", su);
			seed_write(name, s->b, s->n);
		}
	/* The engine's own rekeys: Child SA at 255 s, IKE SA at 510 s, both
	 * answered; the old IKE SA's Delete answered; a Child SA rekey over
	 * the new IKE SA; then the liveness check (answered empty). */
	for (uint8_t rule = 0; rule < 2; rule++) {
		s->n = 0;
		sb_u8(s, (uint8_t)(1 | rule << 1));
		sb_answer(s, 0x08, 0, NULL, 0);
		sb_answer(s, 0x03, 0, NULL, 0);
		sb_tick(s, 5);                 /* 260 s: the Child SA rekey */
		sb_answer(s, 0x02, 0, NULL, 0);
		sb_answer(s, 0x00, 0, NULL, 0);   /* the old pair's Delete */
		sb_tick(s, 6);                 /* 520 s more: the IKE SA rekey */
		sb_answer(s, 0x02, 0, NULL, 0);
		sb_answer(s, 0x00, 0, NULL, 0);   /* the old IKE SA's Delete */
		sb_tick(s, 5);
		sb_answer(s, 0x02, 0, NULL, 0);
		sb_tick(s, 3);                 /* 11 s: liveness */
		sb_answer(s, 0x00, 0, NULL, 0);
		seed_write(rule ? "sealed-rekeys-tunnel" : "sealed-rekeys-transport", s->b, s->n);
	}
	/* IKE_SA_INIT answers: COOKIE, INVALID_KE (suite with group 19, then
	 * 14), NO_PROPOSAL_CHOSEN, NAT in front of either, junk extras. */
	{
		s->n = 0;
		sb_u8(s, 1);
		sb_answer(s, 0x04, 0, (const uint8_t *)"cookie-cookie-cookie", 20);
		sb_answer(s, 0x01, 0, NULL, 0);       /* INVALID_KE(19) */
		sb_answer(s, 0x01 | 0x10, 0, NULL, 0);   /* keyed; NAT in front of the engine */
		sb_answer(s, 0x03, 0, NULL, 0);
		seed_write("sealed-cookie-invalid-ke-nat", s->b, s->n);

		s->n = 0;
		sb_u8(s, 1);
		sb_answer(s, 0x02, 0, NULL, 0);       /* INVALID_KE(14) */
		sb_answer(s, 0x02 | 0x18 | 0x20, 0, NULL, 0);   /* NAT in front of us */
		sb_answer(s, 0x03 | 0x80, 0, NULL, 0);   /* AUTH from port 4500 */
		seed_write("sealed-modp-nat-peer", s->b, s->n);

		n = chain_notify(chain, sizeof(chain), IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		s->n = 0;
		sb_u8(s, 1);
		sb_answer(s, 0x80, IKE_PL_NOTIFY, chain, n);
		seed_write("sealed-init-no-proposal", s->b, s->n);

		static const uint8_t certreq[] = { 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
		                                   16, 17, 18, 19, 20 };
		s->n = 0;
		sb_u8(s, 1);
		n = 0;
		chain[n++] = IKE_PL_VENDOR;
		chain[n++] = 0;
		chain[n++] = 0;
		chain[n++] = (uint8_t)(4 + sizeof(certreq));
		memcpy(chain + n, certreq, sizeof(certreq));
		n += sizeof(certreq);
		chain[n++] = 0;
		chain[n++] = 0;
		chain[n++] = 0;
		chain[n++] = 8;
		memcpy(chain + n, "vid!", 4);
		n += 4;
		sb_answer(s, 0x40, IKE_PL_CERTREQ, chain, n);
		sb_answer(s, 0x03, 0, NULL, 0);
		seed_write("sealed-init-certreq-vendor", s->b, s->n);
	}
	/* IKE_AUTH answers: AUTHENTICATION_FAILED; no Child SA (TS_UNACCEPTABLE);
	 * wrong mode; widened selectors; as fragments; a broken ICV first. */
	{
		n = chain_notify(chain, sizeof(chain), IKE_N_AUTHENTICATION_FAILED, NULL, 0);
		s->n = 0;
		sb_u8(s, 1);
		sb_answer(s, 0, 0, NULL, 0);
		sb_answer(s, 0, IKE_PL_NOTIFY, chain, n);
		seed_write("sealed-auth-failed", s->b, s->n);

		n = chain_notify(chain, sizeof(chain), IKE_N_TS_UNACCEPTABLE, NULL, 0);
		s->n = 0;
		sb_u8(s, 1);
		sb_answer(s, 0, 0, NULL, 0);
		sb_answer(s, 0x01, IKE_PL_NOTIFY, chain, n);
		seed_write("sealed-auth-ts-unacceptable", s->b, s->n);

		n = chain_wide_ts(chain, sizeof(chain), true);
		s->n = 0;
		sb_u8(s, 1);
		sb_answer(s, 0, 0, NULL, 0);
		sb_answer(s, 0x01 | 0x02 | 0x04, IKE_PL_TSI, chain, n);
		seed_write("sealed-auth-wide-ts", s->b, s->n);

		n = chain_wide_ts(chain, sizeof(chain), false);
		s->n = 0;
		sb_u8(s, 1 | 2);
		sb_answer(s, 0, 0, NULL, 0);
		sb_answer(s, 0x01 | 0x02 | 0x04, IKE_PL_TSI, chain, n);
		seed_write("sealed-auth-wide-ts-tunnel", s->b, s->n);

		/* The same on the engine's Child SA rekey (255 s). */
		n = chain_wide_ts(chain, sizeof(chain), true);
		s->n = 0;
		sb_u8(s, 1);
		sb_answer(s, 0, 0, NULL, 0);
		sb_answer(s, 0x03, 0, NULL, 0);
		sb_tick(s, 5);
		sb_answer(s, 0x02 | 0x04, IKE_PL_TSI, chain, n);
		seed_write("sealed-rekey-wide-ts", s->b, s->n);

		s->n = 0;
		sb_u8(s, 1);
		sb_answer(s, 0x20, 0, NULL, 0);
		sb_answer(s, 0x03 | 0x08, 0, NULL, 0);   /* a broken ICV */
		sb_answer(s, 0x03 | 0x20 | 0x40, 0, NULL, 0);   /* fragments, twice */
		sb_request(s, 0x08, IKE_CREATE_CHILD_SA, 0, NULL, 0);   /* the peer rekeys */
		sb_request(s, 0x08, IKE_INFORMATIONAL, 0, NULL, 0);     /* ... deletes */
		sb_request(s, 0x08 | 0x10, IKE_INFORMATIONAL, 0, NULL, 0);
		seed_write("sealed-auth-frag-peer-requests", s->b, s->n);

		s->n = 0;
		sb_u8(s, 1 | 2 | 8);           /* tunnel; installs refused */
		sb_answer(s, 0, 0, NULL, 0);
		sb_answer(s, 0x03, 0, NULL, 0);
		sb_u8(s, 4);
		sb_u8(s, 0);                   /* acquire rule 7: a second IKE SA */
		sb_answer(s, 0, 0, NULL, 0);
		sb_answer(s, 0x03, 0, NULL, 0);
		seed_write("sealed-refused-installs-second-sa", s->b, s->n);

		s->n = 0;
		sb_u8(s, 1 | 0x10);
		sb_answer(s, 0x20, 0, NULL, 0);
		sb_answer(s, 0x03, 0, NULL, 0);
		sb_u8(s, 4);
		sb_u8(s, 1);                   /* soft expiry: rekey now */
		sb_answer(s, 0x02 | 0x20, 0, NULL, 0);
		sb_u8(s, 4);
		sb_u8(s, 2);                   /* hard expiry */
		sb_u8(s, 4);
		sb_u8(s, 3);                   /* delete qmsas */
		sb_answer(s, 0, 0, NULL, 0);
		sb_u8(s, 5);                   /* our last again */
		seed_write("sealed-expiry-delete", s->b, s->n);

		/* The harness rekeys the IKE SA, deletes the old one, rekeys the
		 * Child SA over the new one; then the engine rekeys the new IKE
		 * SA, whose original initiator it is not. */
		s->n = 0;
		sb_u8(s, 1);
		sb_answer(s, 0, 0, NULL, 0);
		sb_answer(s, 0x03, 0, NULL, 0);
		sb_request(s, 0x18, IKE_CREATE_CHILD_SA, 0, NULL, 0);
		sb_request(s, 0x18, IKE_INFORMATIONAL, 0, NULL, 0);
		sb_request(s, 0x28, IKE_CREATE_CHILD_SA, 0, NULL, 0);
		sb_request(s, 0x20, IKE_INFORMATIONAL, 0, NULL, 0);
		sb_tick(s, 6);
		sb_answer(s, 0x02, 0, NULL, 0);
		sb_answer(s, 0x00, 0, NULL, 0);
		sb_tick(s, 3);
		sb_answer(s, 0x00, 0, NULL, 0);
		seed_write("sealed-peer-ike-rekey", s->b, s->n);

		/* Both rekey the IKE SA at once: the engine's is out (520 s) when
		 * the harness's arrives, then the engine's is answered. */
		s->n = 0;
		sb_u8(s, 1);
		sb_answer(s, 0, 0, NULL, 0);
		sb_answer(s, 0x03, 0, NULL, 0);
		sb_tick(s, 6);
		sb_request(s, 0x18, IKE_CREATE_CHILD_SA, 0, NULL, 0);
		sb_answer(s, 0x02, 0, NULL, 0);
		sb_answer(s, 0x00, 0, NULL, 0);
		seed_write("sealed-ike-rekey-collision", s->b, s->n);
	}
	/* Mode 0: an IKE_SA_INIT answer (the engine's SPI patched in) with a
	 * KE for group 31 (the engine keys the SA from it and sends IKE_AUTH),
	 * then forgeries on the SA. */
	{
		struct ike_writer w;
		static uint8_t msg[1024];
		ike_writer_init(&w, msg, sizeof(msg));
		ike_put_header(&w, &(struct ike_header){ .spi_r = 0x0102030405060708ull, .major = 2,
		                                         .exchange = IKE_SA_INIT,
		                                         .flags = IKE_FLAG_RESPONSE });
		struct ike_choice c = { .num = 1, .protocol = IKE_PROTO_IKE,
		                        .encr = IKE_ENCR_AES_GCM_16, .key_length = 128,
		                        .prf = IKE_PRF_HMAC_SHA2_256, .dh = IKE_DH_CURVE25519 };
		struct ike_transform xf[5];
		struct ike_proposal p;
		ike_choice_proposal(&c, NULL, 0, xf, &p);
		ike_put_sa(&w, &p, 1);
		uint8_t ke[32], nonce[32];
		memset(ke, 9, sizeof(ke));
		memset(nonce, 0x4e, sizeof(nonce));
		ike_put_ke(&w, &(struct ike_ke){ .group = IKE_DH_CURVE25519, .data = ke, .len = 32 });
		ike_put_nonce(&w, nonce, sizeof(nonce));
		ike_finish(&w);
		s->n = 0;
		sb_u8(s, 0);
		sb_u8(s, 0x01 | 0x04);
		sb_chunk(s, msg, w.len);
		uint8_t f[28 + 4 + 40] = { 0 };
		f[16] = IKE_PL_SK;
		f[17] = 0x20;
		f[18] = IKE_AUTH;
		f[28] = IKE_PL_IDR;
		f[31] = 44;
		sb_u8(s, 0x01 | 0x02 | 0x04 | 0x08);
		sb_chunk(s, f, sizeof(f));
		f[18] = IKE_INFORMATIONAL;
		sb_u8(s, 0x01 | 0x02 | 0x08 | 0x80);
		sb_chunk(s, f, sizeof(f));
		sb_u8(s, 0x01 | 0x02 | 0x08 | 0x20);   /* 0.6 s later: a retransmission first */
		sb_chunk(s, f, sizeof(f));
		seed_write("raw-init-answer-forgeries", s->b, s->n);

		n = chain_notify(chain, sizeof(chain), IKE_N_INVALID_KE_PAYLOAD,
		                 (const uint8_t *)"\x00\x13", 2);
		ike_writer_init(&w, msg, sizeof(msg));
		ike_put_header(&w, &(struct ike_header){ .major = 2, .exchange = IKE_SA_INIT,
		                                         .flags = IKE_FLAG_RESPONSE });
		finish_with(&w, IKE_PL_NOTIFY, chain, n);
		s->n = 0;
		sb_u8(s, 0);
		sb_u8(s, 0x01 | 0x04);
		sb_chunk(s, msg, w.len);
		sb_u8(s, 0x01 | 0x04 | 0x40);   /* 11 s later, again (the SA has the new group) */
		sb_chunk(s, msg, w.len);
		seed_write("raw-invalid-ke", s->b, s->n);
	}
	free(s);
}

/* ---- entry points --------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_ike_init();
	struct diag d;
	diag_init(&d);
	parse_or_die(policy_parse_mmsec("mmsecmethods", ENGINE_MM, &engine_mm, &d), ENGINE_MM);
	parse_or_die(policy_parse_qmsec("qmsecmethods", QM_T, &qm_t, &d), QM_T);
	parse_or_die(policy_parse_qmsec("qmsecmethods", QM_U, &qm_u, &d), QM_U);
	parse_or_die(policy_parse_qmsec("qmsecmethods", HARNESS_QM, &harness_qm, &d), HARNESS_QM);
	for (size_t i = 0; i < 4; i++) {
		parse_or_die(policy_parse_mmsec("mmsecmethods", HARNESS_MM[i], &harness_mm[i], &d),
		             HARNESS_MM[i]);
		ike_offer_from_mm(&harness_ike[i], &harness_mm[i], false);
		if (harness_ike[i].count != 1)
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
	run(data[0], &in);
	return 0;
}
