/*
 * The IKEv2 engine: the IKE SA table, the dispatch of incoming messages
 * through the state machine's transition table, message IDs with a window
 * of one, retransmission, and the record of failures. The exchanges
 * themselves are in init.c, auth.c, child.c and info.c.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#include "ike/sa.h"

#define HALF_OPEN_MS 30000        /* a responder's IKE_SA_INIT without IKE_AUTH */
#define DELETING_MS 10000         /* how long a Delete of the IKE SA waits for its answer */

/* ---- the transition table ---------------------------------------------
 * Which exchanges an IKE SA accepts in each state, and who serves them.
 * Anything else is dropped before a handler runs: a response to nothing
 * we asked, an IKE_AUTH on an established SA, a CREATE_CHILD_SA before
 * authentication. */
struct transition {
	enum ike_state state;
	uint8_t exchange;
	bool response;
	ike_handler handler;
};

static const struct transition transitions[] = {
	{ IKE_S_INIT_I, IKE_SA_INIT, true, init_response },
	{ IKE_S_INIT_R, IKE_AUTH, false, auth_request },
	{ IKE_S_AUTH_I, IKE_AUTH, true, auth_response },
	{ IKE_S_AUTH_I, IKE_INFORMATIONAL, false, info_request },
	{ IKE_S_ESTABLISHED, IKE_INFORMATIONAL, false, info_request },
	{ IKE_S_ESTABLISHED, IKE_INFORMATIONAL, true, info_response },
	{ IKE_S_ESTABLISHED, IKE_CREATE_CHILD_SA, false, create_request },
	{ IKE_S_ESTABLISHED, IKE_CREATE_CHILD_SA, true, create_response },
	{ IKE_S_DELETING, IKE_INFORMATIONAL, false, info_request },
	{ IKE_S_DELETING, IKE_INFORMATIONAL, true, info_response },
};

static void start_sa(struct ike_engine *e, const struct ike_rule *r, const struct ike_addr *local,
                     const struct ike_addr *remote, const struct spd_packet *pkt);

static ike_handler transition_for(enum ike_state s, uint8_t exchange, bool response)
{
	for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++)
		if (transitions[i].state == s && transitions[i].exchange == exchange &&
		    transitions[i].response == response)
			return transitions[i].handler;
	return NULL;
}

static const char *state_name(enum ike_state s)
{
	static const char *const names[IKE_S_COUNT] = {
		[IKE_S_INIT_I] = "IKE_SA_INIT sent", [IKE_S_AUTH_I] = "IKE_AUTH sent",
		[IKE_S_INIT_R] = "half-open", [IKE_S_ESTABLISHED] = "established",
		[IKE_S_DELETING] = "deleting", [IKE_S_DEAD] = "dead",
	};
	return s < IKE_S_COUNT ? names[s] : "?";
}

/* ---- small helpers ---- */

bool ike_rand(struct ike_engine *e, void *out, size_t len)
{
	return e->host.random ? e->host.random(e->host.ctx, out, len) : crypto_random(out, len);
}

const struct ike_rule *ike_rule_by_id(const struct ike_engine *e, uint32_t id)
{
	for (size_t i = 0; i < e->policy.nrules; i++)
		if (e->rules[i].id == id)
			return &e->rules[i];
	return NULL;
}

void ike_addr_to_sa(const struct ike_addr *a, struct sa_address *out)
{
	memset(out, 0, sizeof(*out));
	out->family = a->family;
	memcpy(out->bytes, a->bytes, a->family == AF_INET ? 4 : 16);
}

static size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

static bool addr_eq(const struct ike_addr *a, const struct ike_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, addr_len(a->family)) == 0;
}

static void addr_text(const struct ike_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family, a->bytes, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

void ike_log(struct ike_engine *e, int level, const char *fmt, ...)
{
	if (!e->host.log)
		return;
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	e->host.log(e->host.ctx, level, line);
}

static const char *exchange_name(uint8_t x)
{
	switch (x) {
	case IKE_SA_INIT: return "IKE_SA_INIT";
	case IKE_AUTH: return "IKE_AUTH";
	case IKE_CREATE_CHILD_SA: return "CREATE_CHILD_SA";
	case IKE_INFORMATIONAL: return "INFORMATIONAL";
	}
	return "exchange";
}

/* The detailed negotiation log (netsh `set config ikelogging`): one
 * LOG_DEBUG line per message sent and received, naming the SA by its SPIs
 * -- never a payload, which may hold key material. */
static void trace_message(struct ike_engine *e, const char *what, uint8_t exchange,
                          bool response, uint32_t mid, const struct ike_addr *peer,
                          uint64_t spi_i, uint64_t spi_r, size_t len)
{
	if (!e->host.log)
		return;
	char a[INET6_ADDRSTRLEN];
	addr_text(peer, a, sizeof(a));
	ike_log(e, LOG_DEBUG, "IKE: %s %s %s #%u %s %s (%016llx_i %016llx_r, %zu bytes)", what,
	        exchange_name(exchange), response ? "response" : "request", mid,
	        what[0] == 's' ? "to" : "from", a, (unsigned long long)spi_i,
	        (unsigned long long)spi_r, len);
}

/* The bytes of a sent message, its fragments' length prefixes not counted. */
static size_t sent_bytes(const struct ike_sent *s)
{
	size_t n = 0;
	for (size_t off = 0; off + 2 <= s->len;) {
		size_t k = (size_t)s->buf[off] << 8 | s->buf[off + 1];
		n += k;
		off += 2 + k;
	}
	return n;
}

static const char *step_name(enum ike_step s)
{
	static const char *const names[] = { "IKE_SA_INIT", "IKE_AUTH", "Child SA",
	                                     "INFORMATIONAL", "timeout" };
	return names[s];
}

void ike_event_fill(const struct ike_engine *e, struct ike_event *ev, enum ike_event_kind kind,
                    const struct ike_ikesa *sa, const struct ike_child *c, const char *reason)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->rule = "";
	ev->algs = "";
	ev->reason = reason ? reason : "";
	if (sa) {
		ev->local = sa->local;
		ev->remote = sa->remote;
		ev->rule_id = sa->rule_id;
		ev->initiator = sa->initiator;
		ev->ike_spi_i = sa->spi_i;
		ev->ike_spi_r = sa->spi_r;
		ev->algs = sa->algs;
	}
	if (c) {
		ev->rule_id = c->rule_id;
		ev->proto = c->proto;
		ev->tunnel = c->tunnel;
		ev->spi_in = c->spi_in;
		ev->spi_out = c->spi_out;
		ev->algs = c->algs;
	}
	/* The rule as it was named when the SA was made may be gone after a
	 * policy change: then the id is all there is. */
	const struct ike_rule *r = sa && sa->rule && !c ? sa->rule : ike_rule_by_id(e, ev->rule_id);
	if (r)
		ev->rule = r->name;
}

void ike_event_emit(struct ike_engine *e, const struct ike_event *ev)
{
	if (e->host.event)
		e->host.event(e->host.ctx, ev);
}

void ike_emit(struct ike_engine *e, enum ike_event_kind kind, const struct ike_ikesa *sa,
              const struct ike_child *c, const char *reason)
{
	if (!e->host.event)
		return;
	struct ike_event ev;
	ike_event_fill(e, &ev, kind, sa, c, reason);
	ike_event_emit(e, &ev);
}

void ike_fail(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_addr *peer,
              enum ike_step step, const char *fmt, ...)
{
	struct ike_failure *f = &e->failures[e->nfailures++ % IKE_FAILURES];
	memset(f, 0, sizeof(*f));
	f->at_ms = e->now_ms;
	f->peer = sa ? sa->remote : *peer;
	f->rule_id = sa ? sa->rule_id : 0;
	f->step = step;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
	e->stats.negotiation_failures++;
	if (sa && sa->initiator)
		e->stats.acquire_failures++;
	else
		e->stats.receive_failures++;
	char a[64];
	addr_text(&f->peer, a, sizeof(a));
	ike_log(e, LOG_WARNING, "IKE %s with %s failed: %s", step_name(step), a, f->why);
	if (e->host.event) {
		struct ike_event ev;
		char reason[sizeof(f->why) + 32];
		snprintf(reason, sizeof(reason), "%s: %s", step_name(step), f->why);
		ike_event_fill(e, &ev, IKE_EVENT_FAILURE, sa, NULL, reason);
		ev.remote = f->peer;
		ike_event_emit(e, &ev);
	}
}

/* ---- the SA table ---- */

static size_t spi_bucket(const struct ike_engine *e, uint64_t spi)
{
	/* SPIs are random: their low bits spread well enough. */
	return (size_t)(spi ^ (spi >> 32)) & (e->buckets - 1);
}

static size_t peer_bucket(const struct ike_engine *e, uint64_t spi_i, const struct ike_addr *a)
{
	uint64_t h = spi_i;
	for (size_t i = 0; i < addr_len(a->family); i++)
		h = (h ^ a->bytes[i]) * 0x100000001b3ull;
	return (size_t)(h ^ (h >> 29)) & (e->buckets - 1);
}

static uint64_t our_spi(const struct ike_ikesa *sa)
{
	return sa->initiator ? sa->spi_i : sa->spi_r;
}

static void unlink_spi(struct ike_engine *e, struct ike_ikesa *sa)
{
	for (struct ike_ikesa **pp = &e->by_spi[spi_bucket(e, our_spi(sa))]; *pp;
	     pp = &(*pp)->next_spi)
		if (*pp == sa) {
			*pp = sa->next_spi;
			return;
		}
}

static void unlink_peer(struct ike_engine *e, struct ike_ikesa *sa)
{
	for (struct ike_ikesa **pp = &e->by_peer[peer_bucket(e, sa->spi_i, &sa->remote)]; *pp;
	     pp = &(*pp)->next_peer)
		if (*pp == sa) {
			*pp = sa->next_peer;
			e->half_open--;
			return;
		}
}

/* Doubles the tables when they hold two SAs per bucket on average. */
static void grow(struct ike_engine *e)
{
	size_t nb = e->buckets * 2;
	struct ike_ikesa **s = calloc(nb, sizeof(*s)), **p = calloc(nb, sizeof(*p));
	if (!s || !p) {
		free(s);
		free(p);
		return;   /* longer chains, still correct */
	}
	struct ike_ikesa **os = e->by_spi, **op = e->by_peer;
	size_t ob = e->buckets;
	e->by_spi = s;
	e->by_peer = p;
	e->buckets = nb;
	for (size_t i = 0; i < ob; i++) {
		for (struct ike_ikesa *sa = os[i], *next; sa; sa = next) {
			next = sa->next_spi;
			size_t b = spi_bucket(e, our_spi(sa));
			sa->next_spi = s[b];
			s[b] = sa;
		}
		for (struct ike_ikesa *sa = op[i], *next; sa; sa = next) {
			next = sa->next_peer;
			size_t b = peer_bucket(e, sa->spi_i, &sa->remote);
			sa->next_peer = p[b];
			p[b] = sa;
		}
	}
	free(os);
	free(op);
}

static struct ike_ikesa *lookup_spi(const struct ike_engine *e, uint64_t spi)
{
	for (struct ike_ikesa *sa = e->by_spi[spi_bucket(e, spi)]; sa; sa = sa->next_spi)
		if (our_spi(sa) == spi)
			return sa;
	return NULL;
}

static struct ike_ikesa *lookup_half_open(const struct ike_engine *e, uint64_t spi_i,
                                          const struct ike_addr *remote)
{
	for (struct ike_ikesa *sa = e->by_peer[peer_bucket(e, spi_i, remote)]; sa;
	     sa = sa->next_peer)
		if (sa->spi_i == spi_i && addr_eq(&sa->remote, remote))
			return sa;
	return NULL;
}

bool ike_spi_in_use(const struct ike_engine *e, uint64_t spi)
{
	return spi == 0 || lookup_spi(e, spi) != NULL;
}

static uint64_t addr_hash(const struct ike_addr *a)
{
	uint64_t h = 0xcbf29ce484222325ull ^ a->family;
	for (size_t i = 0; i < addr_len(a->family); i++)
		h = (h ^ a->bytes[i]) * 0x100000001b3ull;
	return h ^ (h >> 31);
}

uint32_t *ike_peer_count(struct ike_engine *e, const struct ike_addr *a)
{
	if ((e->peers_used + 1) * 2 > e->peers_cap) {
		size_t nc = e->peers_cap ? e->peers_cap * 2 : 64;
		struct ike_peer_count *np = calloc(nc, sizeof(*np));
		if (!np)
			return NULL;
		for (size_t i = 0; i < e->peers_cap; i++)
			if (e->peers[i].used) {
				size_t k = addr_hash(&e->peers[i].a) & (nc - 1);
				while (np[k].used)
					k = (k + 1) & (nc - 1);
				np[k] = e->peers[i];
			}
		free(e->peers);
		e->peers = np;
		e->peers_cap = nc;
	}
	size_t k = addr_hash(a) & (e->peers_cap - 1);
	while (e->peers[k].used && !addr_eq(&e->peers[k].a, a))
		k = (k + 1) & (e->peers_cap - 1);
	if (!e->peers[k].used) {
		e->peers[k].used = true;
		memset(&e->peers[k].a, 0, sizeof(e->peers[k].a));
		e->peers[k].a.family = a->family;
		memcpy(e->peers[k].a.bytes, a->bytes, addr_len(a->family));
		e->peers_used++;
	}
	return &e->peers[k].n;
}

struct ike_ikesa *ikesa_new(struct ike_engine *e, bool initiator, const struct ike_addr *local,
                            const struct ike_addr *remote, uint64_t spi)
{
	if (e->count >= e->buckets * 2)
		grow(e);
	struct ike_ikesa *sa = calloc(1, sizeof(*sa));
	if (!sa)
		return NULL;
	sa->initiator = initiator;
	sa->local = *local;
	sa->remote = *remote;
	sa->created_ms = sa->last_rx_ms = e->now_ms;
	while (spi == 0 || lookup_spi(e, spi)) {
		if (!ike_rand(e, &spi, sizeof(spi))) {
			free(sa);
			return NULL;
		}
	}
	uint32_t *pc = ike_peer_count(e, remote);
	if (!pc) {
		free(sa);
		return NULL;
	}
	(*pc)++;
	sa->peer_key = *remote;
	if (initiator)
		sa->spi_i = spi;
	else
		sa->spi_r = spi;
	size_t b = spi_bucket(e, spi);
	sa->next_spi = e->by_spi[b];
	e->by_spi[b] = sa;
	e->count++;
	e->stats.active_ike_sas = e->count;
	return sa;
}

/* Responder: a half-open SA is also found by the peer's SPI and address, so
 * that a retransmitted IKE_SA_INIT gets the same answer. Called once spi_i
 * is set. */
static void index_half_open(struct ike_engine *e, struct ike_ikesa *sa)
{
	size_t b = peer_bucket(e, sa->spi_i, &sa->remote);
	sa->next_peer = e->by_peer[b];
	e->by_peer[b] = sa;
	e->half_open++;
}

void ikesa_rehash(struct ike_engine *e, struct ike_ikesa *sa)
{
	if (!sa->initiator)
		index_half_open(e, sa);
}

static void free_buf(uint8_t **p, size_t *len)
{
	if (*p) {
		crypto_wipe(*p, *len);
		free(*p);
	}
	*p = NULL;
	*len = 0;
}

/* Why an IKE SA goes, when the code that ends it did not say. */
static const char *down_reason(const struct ike_ikesa *sa)
{
	if (sa->down_reason)
		return sa->down_reason;
	if (sa->rekeyed)
		return "replaced by a rekey";
	if (sa->superseded)
		return "its rule changed";
	if (sa->redundant)
		return "redundant (a duplicate, or no Child SA came)";
	return "deleted";
}

void ikesa_kill(struct ike_engine *e, struct ike_ikesa *sa)
{
	uint32_t *pc = ike_peer_count(e, &sa->peer_key);
	if (pc && *pc)
		(*pc)--;
	const char *why = down_reason(sa);
	child_remove_all(e, sa, why);
	/* Only an SA that was up goes down: a failed negotiation is a failure. */
	if (sa->up_told)
		ike_emit(e, IKE_EVENT_IKE_SA_DOWN, sa, NULL, why);
	pending_free(sa);
	free(sa->offer);
	free(sa->child_offer);
	unlink_spi(e, sa);
	if (!sa->initiator && sa->state == IKE_S_INIT_R)
		unlink_peer(e, sa);
	e->count--;
	e->stats.active_ike_sas = e->count;
	free_buf(&sa->init_i, &sa->init_i_len);
	free_buf(&sa->init_r, &sa->init_r_len);
	free_buf(&sa->req.buf, &sa->req.len);
	free_buf(&sa->resp.buf, &sa->resp.len);
	for (int i = 0; i < 2; i++)
		if (sa->reasm[i]) {
			ike_frag_free(sa->reasm[i]);
			free(sa->reasm[i]);
		}
	if (sa->dh_ready)
		dh_free(&sa->dh);
	if (sa->keyed) {
		ike_sk_key_free(&sa->seal);
		ike_sk_key_free(&sa->open);
	}
	ike_sa_keys_wipe(&sa->keys);
	crypto_wipe(sa, sizeof(*sa));
	free(sa);
}

/* An IKE SA's lifetime: its rule's (a dynamic mmpolicy's mmlifetime), else
 * the policy's. */
static uint32_t ike_lifetime(const struct ike_engine *e, const struct ike_ikesa *sa)
{
	return sa->rule && sa->rule->ike_lifetime_s ? sa->rule->ike_lifetime_s
	                                            : e->policy.ike_lifetime_s;
}

/* Leaves the half-open index once the SA is authenticated (or dies). */
static void set_state(struct ike_engine *e, struct ike_ikesa *sa, enum ike_state next)
{
	if (!sa->initiator && sa->state == IKE_S_INIT_R && next != IKE_S_INIT_R &&
	    next != IKE_S_DEAD)
		unlink_peer(e, sa);
	if (next == IKE_S_ESTABLISHED && sa->state != IKE_S_ESTABLISHED) {
		sa->established_ms = e->now_ms;
		sa->rekey_at_ms = rekey_time(e->now_ms, ike_lifetime(e, sa), sa->initiator);
		e->stats.main_mode_sas++;
		/* The IKE_SA_INIT messages and the offers were for the
		 * negotiation only: an established SA is small. */
		free_buf(&sa->init_i, &sa->init_i_len);
		free_buf(&sa->init_r, &sa->init_r_len);
		free(sa->offer);
		free(sa->child_offer);
		sa->offer = sa->child_offer = NULL;
	}
	sa->state = next;
}

int ike_nonce_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	return c ? c : (al > bl) - (al < bl);
}

uint16_t ike_first_error(const struct ike_message *m, struct ike_notify *n)
{
	for (size_t i = 0; i < m->count; i++)
		if (m->payload[i].type == IKE_PL_NOTIFY && ike_decode_notify(&m->payload[i], n, NULL) &&
		    n->type < 16384)
			return n->type;
	return 0;
}

void ikesa_settle_duplicates(struct ike_engine *e, struct ike_ikesa *sa)
{
	/* The walk below is over every SA: only when the peer has another. */
	uint32_t *pc = ike_peer_count(e, &sa->remote);
	if (pc && *pc <= 1)
		return;
	/* The SAs a policy change superseded go once their successor is up
	 * with its Child SA (make-before-break: not before). */
	for (size_t b = 0; b < e->buckets && sa->children; b++)
		for (struct ike_ikesa *o = e->by_spi[b]; o; o = o->next_spi)
			if (o != sa && o->superseded && !o->redundant && o->rule_id == sa->rule_id &&
			    addr_eq(&o->remote, &sa->remote)) {
				o->redundant = true;
				rekey_work(e, o);
			}
	for (size_t b = 0; b < e->buckets; b++)
		for (struct ike_ikesa *o = e->by_spi[b]; o; o = o->next_spi) {
			if (o == sa || o->state != IKE_S_ESTABLISHED || o->rekeyed || o->redundant ||
			    o->superseded ||
			    o->initiator == sa->initiator || o->rule_id != sa->rule_id ||
			    !addr_eq(&o->remote, &sa->remote))
				continue;
			/* Both sides see the same two Ni and come to the same answer. */
			struct ike_ikesa *lower = ike_nonce_cmp(sa->ni, sa->ni_len, o->ni, o->ni_len) < 0 ? sa : o;
			if (lower->initiator) {
				lower->redundant = true;
				ike_log(e, LOG_INFO, "IKE: simultaneous initiation: deleting ours (%016llx_i)",
				        (unsigned long long)lower->spi_i);
				rekey_work(e, lower);
			}
			return;
		}
}

void ikesa_established(struct ike_engine *e, struct ike_ikesa *sa)
{
	set_state(e, sa, IKE_S_ESTABLISHED);
}

/* ---- building and sending messages ---- */

void ike_writer_scratch(struct ike_engine *e, struct ike_writer *w)
{
	ike_writer_init(w, e->scratch, sizeof(e->scratch));
}

void ike_put_notify_simple(struct ike_writer *w, uint16_t type, const void *data, size_t len)
{
	struct ike_notify n = { .type = type, .data = data, .len = len };
	ike_put_notify(w, &n);
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* The message for sa into e->out: the header, then either the inner chain
 * as it is (IKE_SA_INIT) or an SK payload around it. Returns its length,
 * 0 on failure. */
static size_t build(struct ike_engine *e, struct ike_ikesa *sa, uint8_t exchange, bool response,
                    uint32_t mid, struct ike_writer *inner)
{
	if (!ike_finish(inner)) {
		ike_log(e, LOG_ERR, "IKE: cannot build a message: %s", inner->why);
		return 0;
	}
	uint8_t *o = e->out;
	put_be(o, sa->spi_i, 8);
	put_be(o + 8, sa->spi_r, 8);
	o[17] = 0x20;   /* version 2.0 */
	o[18] = exchange;
	o[19] = (uint8_t)((sa->initiator ? IKE_FLAG_INITIATOR : 0) | (response ? IKE_FLAG_RESPONSE : 0));
	put_be(o + 20, mid, 4);
	if (exchange == IKE_SA_INIT) {   /* never encrypted */
		if (IKE_HEADER_LEN + inner->len > sizeof(e->out))
			return 0;
		o[16] = inner->first;
		memcpy(o + IKE_HEADER_LEN, inner->buf, inner->len);
		size_t total = IKE_HEADER_LEN + inner->len;
		put_be(o + 24, total, 4);
		return total;
	}
	o[16] = IKE_PL_SK;
	size_t sk_off = IKE_HEADER_LEN;
	size_t ivl = crypto_enc_info(sa->seal.enc.alg)->iv_len;
	if (sk_off + 4 + ivl + inner->len + ike_sk_overhead(&sa->seal, inner->len) > sizeof(e->out))
		return 0;   /* RFC 7383 fragmentation would go here */
	o[sk_off] = inner->len ? inner->first : IKE_PL_NONE;
	o[sk_off + 1] = 0;
	memcpy(o + sk_off + 4 + ivl, inner->buf, inner->len);
	const char *why = NULL;
	size_t n = ike_sk_seal(&sa->seal, o, sizeof(e->out), sk_off, inner->len, &why);
	if (!n)
		ike_log(e, LOG_ERR, "IKE: cannot protect a message: %s", why);
	return n;
}

static void transmit(struct ike_engine *e, const struct ike_ikesa *sa, const uint8_t *msg,
                     size_t len)
{
	e->host.send(e->host.ctx, &sa->local, &sa->remote, msg, len);
}

static void transmit_sent(struct ike_engine *e, const struct ike_ikesa *sa,
                          const struct ike_sent *s)
{
	for (size_t off = 0; off + 2 <= s->len;) {
		size_t n = (size_t)s->buf[off] << 8 | s->buf[off + 1];
		transmit(e, sa, s->buf + off + 2, n);
		off += 2 + n;
	}
}

const uint8_t *ike_sent_first(const struct ike_sent *s, size_t *len)
{
	if (s->len < 2)
		return NULL;
	*len = (size_t)s->buf[0] << 8 | s->buf[1];
	return s->buf + 2;
}

/* The longest IKE message that fits a fragment_size IP packet to the peer:
 * less the IP and UDP headers and, on port 4500, the non-ESP marker. */
static size_t fragment_max(const struct ike_engine *e, const struct ike_ikesa *sa)
{
	size_t ip = sa->remote.family == AF_INET ? 20 : 40;
	return e->cfg.fragment_size - ip - 8 - (sa->remote.port == IKE_NATT_PORT ? 4 : 0);
}

/* Builds the message into *out: one datagram, or, when it is protected, the
 * peer takes fragments and it would not fit, RFC 7383 fragments. */
static bool build_sent(struct ike_engine *e, struct ike_ikesa *sa, uint8_t exchange,
                       bool response, uint32_t mid, struct ike_writer *inner,
                       struct ike_sent *out)
{
	size_t max = fragment_max(e, sa);
	bool whole = exchange == IKE_SA_INIT || !sa->peer_frag ||
	             IKE_HEADER_LEN + 4 + crypto_enc_info(sa->seal.enc.alg)->iv_len + inner->len +
	                     ike_sk_overhead(&sa->seal, inner->len) <= max;
	if (whole) {
		size_t n = build(e, sa, exchange, response, mid, inner);
		if (!n || !(out->buf = malloc(n + 2)))
			return false;
		out->buf[0] = (uint8_t)(n >> 8);
		out->buf[1] = (uint8_t)n;
		memcpy(out->buf + 2, e->out, n);
		out->len = n + 2;
		return true;
	}
	if (!ike_finish(inner))
		return false;
	size_t count = ike_frag_count(&sa->seal, inner->len, max);
	struct ike_frag_buf *fb = count ? calloc(count, sizeof(*fb)) : NULL;
	uint8_t *buf = count ? malloc(count * (max + 2)) : NULL;
	const char *why = "no fragment size fits";
	size_t made = 0;
	if (fb && buf) {
		for (size_t i = 0; i < count; i++)
			fb[i] = (struct ike_frag_buf){ .buf = buf + i * (max + 2) + 2, .cap = max };
		struct ike_header h = { .spi_i = sa->spi_i, .spi_r = sa->spi_r, .major = 2,
		                        .exchange = exchange, .message_id = mid,
		                        .flags = (uint8_t)((sa->initiator ? IKE_FLAG_INITIATOR : 0) |
		                                           (response ? IKE_FLAG_RESPONSE : 0)) };
		made = ike_frag_seal(&sa->seal, &h, inner->first, inner->buf, inner->len, max, fb, count,
		                     &why);
	}
	if (!made) {
		ike_log(e, LOG_ERR, "IKE: cannot fragment a message: %s", why);
		free(fb);
		free(buf);
		return false;
	}
	/* Pack them: length | octets, one after the other. */
	size_t off = 0;
	for (size_t i = 0; i < made; i++) {
		buf[off] = (uint8_t)(fb[i].len >> 8);
		buf[off + 1] = (uint8_t)fb[i].len;
		memmove(buf + off + 2, fb[i].buf, fb[i].len);
		off += 2 + fb[i].len;
	}
	free(fb);
	out->buf = buf;
	out->len = off;
	e->stats.fragmented_messages++;
	return true;
}

bool ike_send_request(struct ike_engine *e, struct ike_ikesa *sa, uint8_t exchange,
                      struct ike_writer *inner)
{
	struct ike_sent m = { 0 };
	if (!build_sent(e, sa, exchange, false, sa->my_mid, inner, &m)) {
		e->stats.send_failures++;
		return false;
	}
	free_buf(&sa->req.buf, &sa->req.len);
	sa->req = m;
	sa->req_exchange = exchange;
	sa->req_out = true;
	sa->tries = 0;
	sa->retx_at_ms = e->now_ms + e->cfg.retransmit_ms;
	trace_message(e, "sending", exchange, false, sa->my_mid, &sa->remote, sa->spi_i, sa->spi_r,
	              sent_bytes(&m));
	transmit_sent(e, sa, &sa->req);
	return true;
}

bool ike_send_response(struct ike_engine *e, struct ike_ikesa *sa, uint8_t exchange,
                       uint32_t mid, struct ike_writer *inner)
{
	struct ike_sent m = { 0 };
	if (!build_sent(e, sa, exchange, true, mid, inner, &m)) {
		e->stats.send_failures++;
		return false;
	}
	free_buf(&sa->resp.buf, &sa->resp.len);
	sa->resp = m;
	trace_message(e, "sending", exchange, true, mid, &sa->remote, sa->spi_i, sa->spi_r,
	              sent_bytes(&m));
	transmit_sent(e, sa, &sa->resp);
	return true;
}

void ike_send_bare_notify(struct ike_engine *e, const struct ike_addr *local,
                          const struct ike_addr *remote, const struct ike_header *req,
                          uint16_t type, const uint8_t *data, size_t len)
{
	struct ike_ikesa tmp = { .spi_i = req->spi_i, .local = *local, .remote = *remote };
	struct ike_writer w;
	ike_writer_scratch(e, &w);
	ike_put_notify_simple(&w, type, data, len);
	size_t n = build(e, &tmp, req->exchange, true, req->message_id, &w);
	if (n)
		transmit(e, &tmp, e->out, n);
}

/* ---- the engine ---- */

struct ike_engine *ike_engine_new(const struct ike_config *c, const struct ike_host *h)
{
	struct ike_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->cfg = *c;
	if (!e->cfg.retransmit_ms)
		e->cfg.retransmit_ms = 1000;
	if (!e->cfg.retransmit_tries)
		e->cfg.retransmit_tries = 5;
	if (!e->cfg.half_open_cookie)
		e->cfg.half_open_cookie = 64;
	if (e->cfg.fragment_size < 576 || e->cfg.fragment_size > 65535)
		e->cfg.fragment_size = 1280;
	e->host = *h;
	e->buckets = 1024;
	e->by_spi = calloc(e->buckets, sizeof(*e->by_spi));
	e->by_peer = calloc(e->buckets, sizeof(*e->by_peer));
	if (!e->by_spi || !e->by_peer) {
		ike_engine_free(e);
		return NULL;
	}
	return e;
}

static void for_each_sa(struct ike_engine *e, void (*fn)(struct ike_engine *, struct ike_ikesa *))
{
	for (size_t b = 0; b < e->buckets; b++)
		for (struct ike_ikesa *sa = e->by_spi[b], *next; sa; sa = next) {
			next = sa->next_spi;
			fn(e, sa);
		}
}

void ike_engine_free(struct ike_engine *e)
{
	if (!e)
		return;
	if (e->by_spi)
		for_each_sa(e, ikesa_kill);
	child_linger_expire(e, true);
	free(e->by_spi);
	free(e->by_peer);
	free(e->peers);
	if (e->cookie_ready)
		ike_cookie_free(&e->cookie);
	if (e->rules)
		crypto_wipe(e->rules, e->policy.nrules * sizeof(*e->rules));   /* PSKs */
	free(e->rules);
	crypto_wipe(e, sizeof(*e));
	free(e);
}

static bool selector_same(const struct ike_selector *a, const struct ike_selector *b)
{
	return a->net.family == b->net.family && !memcmp(a->net.bytes, b->net.bytes, 16) &&
	       a->len == b->len && a->protocol == b->protocol && a->port == b->port;
}

/* Field by field: the structures come from different compilations, and
 * padding or bytes after a string's end need not agree. */
static bool rule_same(const struct ike_rule *a, const struct ike_rule *b)
{
	if (a->id != b->id || strcmp(a->guid, b->guid) || a->pfs != b->pfs ||
	    a->pfs_group != b->pfs_group || a->soft != b->soft ||
	    a->is_default != b->is_default || a->tunnel != b->tunnel ||
	    a->force_encap != b->force_encap || a->nsel != b->nsel ||
	    a->methods.n != b->methods.n || a->auth.n != b->auth.n ||
	    (a->tunnel && (a->tunnel_peer.family != b->tunnel_peer.family ||
	                   memcmp(a->tunnel_peer.bytes, b->tunnel_peer.bytes, 16))))
		return false;
	for (size_t i = 0; i < a->nsel; i++)
		if (!selector_same(&a->local[i], &b->local[i]) || !selector_same(&a->remote[i], &b->remote[i]))
			return false;
	for (size_t i = 0; i < a->methods.n; i++) {
		const struct security_method *x = &a->methods.m[i], *y = &b->methods.m[i];
		if (x->ah != y->ah || x->esp != y->esp || x->ah_integ != y->ah_integ ||
		    x->esp_conf != y->esp_conf || x->esp_integ != y->esp_integ ||
		    x->life_kb != y->life_kb || x->life_s != y->life_s)
			return false;
	}
	for (size_t i = 0; i < a->auth.n; i++) {
		const struct auth_method *x = &a->auth.m[i], *y = &b->auth.m[i];
		if (x->kind != y->kind || strcmp(x->value, y->value) || x->certmap != y->certmap ||
		    x->excludecaname != y->excludecaname)
			return false;
	}
	return true;
}

bool ike_engine_set_policy(struct ike_engine *e, const struct ike_policy *p, char *err,
                           size_t errlen)
{
	struct ike_rule *rules = NULL;
	if (p->nrules) {
		rules = calloc(p->nrules, sizeof(*rules));
		if (!rules) {
			snprintf(err, errlen, "out of memory");
			return false;
		}
		memcpy(rules, p->rules, p->nrules * sizeof(*rules));
	}
	/* SAs point at rules of the old copy: they find theirs by GUID. A rule
	 * that is gone takes its SAs with it; one that changed in any way
	 * (methods, keys, selectors, or its position) has them renegotiated. */
	size_t nrenew = 0, cap = 0;
	struct ike_ikesa **renew = NULL;
	for (size_t b = 0; b < e->buckets; b++)
		for (struct ike_ikesa *sa = e->by_spi[b]; sa; sa = sa->next_spi) {
			const struct ike_rule *was = sa->rule, *now = NULL;
			for (size_t i = 0; i < p->nrules && !now; i++)
				if (was ? !strcmp(rules[i].guid, was->guid) : rules[i].id == sa->rule_id)
					now = &rules[i];
			sa->rule = now;
			if (!was || sa->state != IKE_S_ESTABLISHED || sa->rekeyed)
				continue;
			if (!now) {
				sa->redundant = true;   /* deleted at the next tick, the peer told */
				sa->down_reason = "its rule was removed from the policy";
				continue;
			}
			if (rule_same(was, now))
				continue;
			sa->rule_id = now->id;
			sa->superseded = true;
			if (nrenew == cap) {
				cap = cap ? cap * 2 : 16;
				struct ike_ikesa **r = realloc(renew, cap * sizeof(*r));
				if (!r)
					continue;
				renew = r;
			}
			renew[nrenew++] = sa;
		}
	if (e->rules)
		crypto_wipe(e->rules, e->policy.nrules * sizeof(*e->rules));
	free(e->rules);
	e->rules = rules;
	struct cert_store *certs = e->policy.certs;
	enum cert_crl_mode crl = e->policy.crl;
	e->policy = *p;
	e->policy.rules = rules;
	if (!p->certs) {   /* the store is set on its own (ike_engine_set_certs) */
		e->policy.certs = certs;
		e->policy.crl = crl;
	}
	ike_offer_from_mm(&e->ike_offer, &p->mm, p->allow_legacy);
	/* Make-before-break: a new IKE SA for each changed rule's peer; the
	 * old one goes when it is up (ikesa_settle_duplicates). */
	for (size_t i = 0; i < nrenew; i++) {
		struct ike_addr local = renew[i]->local, remote = renew[i]->remote;
		local.port = remote.port = IKE_PORT;
		if (renew[i]->rule->is_default) {
			renew[i]->redundant = true;   /* the peer asks again if it wants */
			continue;
		}
		/* One successor per rule and peer, however many SAs it replaces
		 * (several SAs of one rule with one peer -- rekey overlaps, both
		 * sides having initiated -- would otherwise each start one, and
		 * their number grow with every change). */
		bool started = false;
		for (size_t k = 0; k < i && !started; k++)
			started = renew[k]->rule == renew[i]->rule && !renew[k]->rule->is_default &&
			          addr_eq(&renew[k]->remote, &renew[i]->remote);
		if (!started)
			start_sa(e, renew[i]->rule, &local, &remote, NULL);
	}
	free(renew);
	return true;
}

void ike_engine_set_certs(struct ike_engine *e, struct cert_store *s, enum cert_crl_mode crl)
{
	e->policy.certs = s;
	e->policy.crl = crl;
}

/* Decrypts the SK payload of m in place and decodes the inner payloads
 * into im. False: drop the message (counted). */
static bool open_sk(struct ike_engine *e, struct ike_ikesa *sa, uint8_t *msg, size_t len,
                    const struct ike_message *m, struct ike_message *im)
{
	const struct ike_payload *p = ike_find(m, IKE_PL_SK);
	const char *why = "no SK payload";
	if (!p || !sa->keyed)
		goto bad;
	size_t sk_off = (size_t)(p->body - IKE_PAYLOAD_HEADER_LEN - msg);
	uint8_t *inner;
	size_t inner_len;
	if (!ike_sk_open(&sa->open, msg, len, sk_off, &inner, &inner_len, &why))
		goto bad;
	memset(im, 0, sizeof(*im));
	im->hdr = m->hdr;
	if (ike_decode_inner(inner, inner_len, p->next, im, &why) != IKE_DECODE_OK)
		goto bad;
	return true;
bad:
	e->stats.invalid_packets_received++;
	ike_log(e, LOG_INFO, "IKE: message dropped: %s", why);
	return false;
}

/*
 * RFC 7296 §2.6: with more half-open SAs than the threshold, an
 * IKE_SA_INIT request must carry, as its first payload, the COOKIE we
 * would give it -- proof that the initiator receives at its address --
 * before we do any work or keep any state for it. Without one (or with a
 * stale one) it gets the COOKIE to send back.
 */
static bool cookie_ok(struct ike_engine *e, const struct ike_addr *local,
                      const struct ike_addr *remote, const struct ike_message *m)
{
	if (e->half_open < e->cfg.half_open_cookie)
		return true;
	uint64_t now_s = e->now_ms / 1000;
	if (!e->cookie_ready && !(e->cookie_ready = ike_cookie_init(&e->cookie, now_s,
	                                                           IKE_COOKIE_LIFETIME)))
		return false;
	const struct ike_payload *pn = ike_find(m, IKE_PL_NONCE);
	struct ike_data ni;
	if (!pn || !ike_decode_nonce(pn, &ni, NULL))
		return false;
	size_t alen = remote->family == AF_INET ? 4 : 16;
	struct ike_notify n;
	bool first = m->count && m->payload[0].type == IKE_PL_NOTIFY &&
	             ike_decode_notify(&m->payload[0], &n, NULL) && n.type == IKE_N_COOKIE;
	if (first && ike_cookie_verify(&e->cookie, now_s, n.data, n.len, ni.data, ni.len,
	                               remote->bytes, alen, m->hdr.spi_i))
		return true;
	if (first)
		e->stats.invalid_cookies_received++;
	uint8_t c[IKE_COOKIE_LEN];
	if (ike_cookie_make(&e->cookie, now_s, ni.data, ni.len, remote->bytes, alen, m->hdr.spi_i, c)) {
		ike_send_bare_notify(e, local, remote, &m->hdr, IKE_N_COOKIE, c, sizeof(c));
		e->stats.cookies_sent++;
	}
	return false;
}

/* Whether a request with the message ID we answered last is a genuine
 * retransmission: IKE_SA_INIT is plain; anything later must verify under
 * the peer's key (checked on a copy: nothing is decrypted in place). */
static bool is_retransmission(struct ike_ikesa *sa, const uint8_t *msg, size_t len,
                              const struct ike_message *m)
{
	if (m->hdr.exchange == IKE_SA_INIT)
		return true;
	const struct ike_payload *p = ike_find(m, IKE_PL_SK);
	const struct ike_payload *f = ike_find(m, IKE_PL_SKF);
	struct ike_skf skf;
	if (!sa->keyed || (!p && !f) ||
	    (f && (!ike_decode_skf(f, &skf, NULL) || skf.number != 1)))
		return false;
	uint8_t *copy = malloc(len);
	if (!copy)
		return false;
	memcpy(copy, msg, len);
	size_t off = (size_t)((p ? p->body : f->body) - IKE_PAYLOAD_HEADER_LEN - msg);
	uint8_t *inner;
	size_t inner_len;
	const char *why;
	bool ok = p ? ike_sk_open(&sa->open, copy, len, off, &inner, &inner_len, &why)
	            : ike_skf_open(&sa->open, copy, len, off, &inner, &inner_len, &why);
	crypto_wipe(copy, len);
	free(copy);
	return ok;
}

/* One RFC 7383 fragment: verified and held; true once the message is
 * whole, its inner payloads decoded into im. */
static bool reassemble(struct ike_engine *e, struct ike_ikesa *sa, uint8_t *msg, size_t len,
                       const struct ike_message *m, struct ike_message *im)
{
	bool response = m->hdr.flags & IKE_FLAG_RESPONSE;
	struct ike_frag_reasm **r = &sa->reasm[response];
	const char *why = "out of memory";
	if (!sa->keyed)
		goto bad;
	if (!*r) {
		if (!(*r = malloc(sizeof(**r))))
			goto bad;
		ike_frag_init(*r);
	}
	switch (ike_frag_add(*r, &sa->open, msg, len, m, &why)) {
	case IKE_FRAG_COMPLETE:
		break;
	case IKE_FRAG_MORE:
	case IKE_FRAG_DUPLICATE:
	case IKE_FRAG_REPEAT:
		return false;
	case IKE_FRAG_DROP:
		goto bad;
	}
	memset(im, 0, sizeof(*im));
	im->hdr = m->hdr;
	if (ike_decode_inner((*r)->inner, (*r)->inner_len, (*r)->first, im, &why) != IKE_DECODE_OK)
		goto bad;
	e->stats.reassembled_messages++;
	return true;
bad:
	e->stats.invalid_packets_received++;
	ike_log(e, LOG_INFO, "IKE: fragment dropped: %s", why);
	return false;
}

void ike_engine_input(struct ike_engine *e, const struct ike_addr *local,
                      const struct ike_addr *remote, uint8_t *msg, size_t len, uint64_t now_ms)
{
	e->now_ms = now_ms;
	struct ike_message *m = malloc(2 * sizeof(*m));   /* large: not on the stack */
	if (!m)
		return;
	struct ike_message *im = m + 1;
	const char *why = NULL;
	if (ike_decode(msg, len, m, &why) != IKE_DECODE_OK) {
		e->stats.invalid_packets_received++;
		ike_log(e, LOG_INFO, "IKE: malformed message dropped: %s", why ? why : "?");
		goto out;
	}
	const struct ike_header *h = &m->hdr;
	bool response = h->flags & IKE_FLAG_RESPONSE;
	trace_message(e, "received", h->exchange, response, h->message_id, remote, h->spi_i,
	              h->spi_r, len);
	struct ike_rx rx = { .msg = msg, .len = len, .m = m, .mid = h->message_id };
	if (h->exchange == IKE_SA_INIT && !response) {
		struct ike_ikesa *dup = lookup_half_open(e, h->spi_i, remote);
		if (h->spi_r != 0 || h->message_id != 0) {
			e->stats.invalid_packets_received++;
		} else if (dup) {
			transmit_sent(e, dup, &dup->resp);   /* a retransmission */
		} else if (cookie_ok(e, local, remote, m)) {
			init_request(e, local, remote, &rx);
		}
		goto out;
	}
	/* The SPI we chose is the responder's when the sender is the original
	 * initiator, else the initiator's. */
	bool from_initiator = h->flags & IKE_FLAG_INITIATOR;
	struct ike_ikesa *sa = lookup_spi(e, from_initiator ? h->spi_r : h->spi_i);
	if (!sa || sa->initiator == from_initiator || sa->state == IKE_S_DEAD ||
	    (sa->state != IKE_S_INIT_I && (h->spi_i != sa->spi_i || h->spi_r != sa->spi_r))) {
		e->stats.invalid_packets_received++;
		goto out;
	}
	if (response) {
		if (!sa->req_out || h->message_id != sa->my_mid || h->exchange != sa->req_exchange) {
			e->stats.invalid_packets_received++;
			goto out;
		}
	} else if (h->message_id + 1 == sa->peer_mid && sa->resp.len) {
		/* We answered this already: answer again, but only a genuine
		 * retransmission -- the same exchange, and (after IKE_SA_INIT)
		 * a message that verifies. A fragmented request is answered
		 * again on its first fragment only (RFC 7383 §2.6.1). */
		size_t rl = 0;
		const uint8_t *r = ike_sent_first(&sa->resp, &rl);
		if (r && rl > 18 && r[18] == h->exchange && is_retransmission(sa, msg, len, m))
			transmit_sent(e, sa, &sa->resp);
		else
			e->stats.invalid_packets_received++;
		goto out;
	} else if (h->message_id != sa->peer_mid) {
		e->stats.invalid_packets_received++;
		goto out;
	}
	ike_handler handler = transition_for(sa->state, h->exchange, response);
	if (!handler) {
		e->stats.invalid_packets_received++;
		ike_log(e, LOG_INFO, "IKE: exchange %u not expected while %s", h->exchange,
		        state_name(sa->state));
		goto out;
	}
	if (h->exchange != IKE_SA_INIT) {
		if (ike_find(m, IKE_PL_SKF)) {
			if (!reassemble(e, sa, msg, len, m, im))
				goto out;   /* more fragments to come, or a bad one */
		} else if (!open_sk(e, sa, msg, len, m, im)) {
			goto out;
		}
		rx.m = im;
	}
	sa->last_rx_ms = now_ms;
	sa->heard = true;
	/* Port 4500 once the peer uses it (RFC 7296 §2.23): answer there. */
	if (remote->port != sa->remote.port && h->exchange != IKE_SA_INIT) {
		sa->remote = *remote;
		sa->local.port = local->port;
	}
	if (response) {
		sa->req_out = false;
		sa->my_mid++;
		free_buf(&sa->req.buf, &sa->req.len);
	} else {
		sa->peer_mid++;
	}
	enum ike_state prev = sa->state;
	enum ike_state next = handler(e, sa, &rx);
	if (next == IKE_S_DEAD) {
		ikesa_kill(e, sa);
	} else {
		set_state(e, sa, next);
		if (next == IKE_S_ESTABLISHED && prev != IKE_S_ESTABLISHED)
			ikesa_settle_duplicates(e, sa);
	}
out:
	free(m);
}

/* Whether the rule has an SA with this peer, or one is being negotiated:
 * an acquire that raced with the SA's arrival must not make another. */
static bool negotiating(struct ike_engine *e, uint32_t rule_id, const struct ike_addr *remote)
{
	uint32_t *pc = ike_peer_count(e, remote);
	if (pc && *pc == 0)
		return false;   /* no SA with the peer at all: no walk */
	for (size_t b = 0; b < e->buckets; b++)
		for (const struct ike_ikesa *sa = e->by_spi[b]; sa; sa = sa->next_spi) {
			if (!addr_eq(&sa->remote, remote))
				continue;
			if (sa->initiator && sa->rule_id == rule_id &&
			    (sa->state == IKE_S_INIT_I || sa->state == IKE_S_AUTH_I))
				return true;
			for (const struct ike_child *c = sa->children; c; c = c->next)
				if (c->rule_id == rule_id && !c->replaced && !c->delete_pending)
					return true;
		}
	return false;
}

static void start_sa(struct ike_engine *e, const struct ike_rule *r, const struct ike_addr *local,
                     const struct ike_addr *remote, const struct spd_packet *pkt)
{
	e->stats.total_acquire++;
	const char *why = NULL;
	if (!auth_usable(r, &why)) {
		/* Nothing to authenticate with: no IKE_SA_INIT for nothing. */
		struct ike_ikesa tmp = { .remote = *remote, .rule_id = r->id, .initiator = true };
		ike_fail(e, &tmp, NULL, STEP_AUTH, "rule %s: %s", r->name, why);
		return;
	}
	struct ike_ikesa *sa = ikesa_new(e, true, local, remote, 0);
	if (!sa) {
		ike_fail(e, NULL, remote, STEP_INIT, "out of memory");
		return;
	}
	sa->rule = r;
	sa->rule_id = r->id;
	if (pkt)
		sa->trigger = *pkt;
	sa->state = IKE_S_INIT_I;
	init_start(e, sa);
	if (sa->state == IKE_S_DEAD)
		ikesa_kill(e, sa);
}

void ike_engine_acquire(struct ike_engine *e, uint32_t rule_id, const struct ike_addr *local,
                        const struct ike_addr *remote, const struct spd_packet *pkt,
                        uint64_t now_ms)
{
	e->now_ms = now_ms;
	const struct ike_rule *r = ike_rule_by_id(e, rule_id);
	if (!r || r->is_default || negotiating(e, rule_id, remote))
		return;
	char a[64];
	addr_text(remote, a, sizeof(a));
	ike_log(e, LOG_INFO, "IKE: acquire: rule %s needs an SA with %s", r->name, a);
	start_sa(e, r, local, remote, pkt);
}

void ike_engine_initiate(struct ike_engine *e, uint32_t rule_id, const struct ike_addr *local,
                         const struct ike_addr *remote, uint64_t now_ms)
{
	e->now_ms = now_ms;
	const struct ike_rule *r = ike_rule_by_id(e, rule_id);
	if (r)
		start_sa(e, r, local, remote, NULL);
}

void ike_engine_sa_expiring(struct ike_engine *e, enum sa_proto proto, uint32_t spi, bool inbound,
                            bool hard, uint64_t now_ms)
{
	e->now_ms = now_ms;
	for (size_t b = 0; b < e->buckets; b++)
		for (struct ike_ikesa *sa = e->by_spi[b]; sa; sa = sa->next_spi)
			for (struct ike_child *c = sa->children; c; c = c->next) {
				if (c->proto != proto || (inbound ? c->spi_in : c->spi_out) != spi)
					continue;
				if (hard)
					c->delete_pending = true;
				else if (!c->replaced && !c->rekeying)
					c->rekey_at_ms = now_ms;
				rekey_work(e, sa);
				return;
			}
}

/*
 * "Allow unsecured communication with non-IPsec-aware computers" (soft):
 * the peer never answered IKE, so its traffic for this rule goes in clear
 * for a while (a soft association). A peer that answered and then failed
 * never gets here: that is a failure, not a fallback.
 */
static void soft_association(struct ike_engine *e, struct ike_ikesa *sa)
{
	struct driver_dynamic f = { .rule_id = sa->rule_id, .action = ACTION_PERMIT };
	ike_addr_to_sa(&sa->local, &f.local);
	ike_addr_to_sa(&sa->remote, &f.remote);
	f.local_len = f.remote_len = sa->local.family == AF_INET ? 32 : 128;
	unsigned secs = sa->rule->soft_s ? sa->rule->soft_s : IKE_SOFT_SECONDS;
	if (e->host.dynamic)
		e->host.dynamic(e->host.ctx, &f, true, secs);
	e->stats.soft_associations++;
	ike_fail(e, sa, NULL, STEP_TIMEOUT,
	         "no answer to IKE_SA_INIT: soft association, clear traffic for %u s (rule %s allows it)",
	         secs, sa->rule->name);
}

/* One SA's timers. */
static void tick_sa(struct ike_engine *e, struct ike_ikesa *sa)
{
	uint64_t now = e->now_ms;
	if (sa->req_out && now >= sa->retx_at_ms) {
		if (sa->state == IKE_S_INIT_I && !sa->heard && sa->rule && sa->rule->soft &&
		    sa->tries + 1 >= IKE_SOFT_TRIES) {
			soft_association(e, sa);
			ikesa_kill(e, sa);
			return;
		}
		if (sa->tries + 1 >= e->cfg.retransmit_tries) {
			ike_fail(e, sa, NULL, STEP_TIMEOUT, "no answer to %s after %u tries",
			         sa->req_exchange == IKE_SA_INIT ? "IKE_SA_INIT"
			         : sa->req_exchange == IKE_AUTH ? "IKE_AUTH"
			         : sa->req_exchange == IKE_CREATE_CHILD_SA ? "CREATE_CHILD_SA"
			                                                   : "INFORMATIONAL",
			         sa->tries + 1);
			sa->down_reason = "the peer stopped answering";
			ikesa_kill(e, sa);
			return;
		}
		sa->tries++;
		e->stats.retransmissions++;
		sa->retx_at_ms = now + ((uint64_t)e->cfg.retransmit_ms << sa->tries);
		transmit_sent(e, sa, &sa->req);
		return;
	}
	if (sa->state == IKE_S_INIT_R && now - sa->created_ms >= HALF_OPEN_MS) {
		ikesa_kill(e, sa);   /* never authenticated: nothing to tell anyone */
		return;
	}
	if (sa->state == IKE_S_DELETING && now - sa->last_rx_ms >= DELETING_MS) {
		if (!sa->down_reason && !sa->rekeyed)
			sa->down_reason = "deleted (the peer did not confirm)";
		ikesa_kill(e, sa);
		return;
	}
	if (sa->state != IKE_S_ESTABLISHED)
		return;
	if (sa->rekeyed && now - sa->rekeyed_ms >= DELETING_MS) {
		ikesa_kill(e, sa);   /* rekeyed, and the peer never deleted it */
		return;
	}
	/* Hard expiry: the data path stops using the SAs by itself; the
	 * record goes, and the peer is told. */
	for (struct ike_child *c = sa->children; c; c = c->next)
		if (c->expire_at_ms && now >= c->expire_at_ms && !c->delete_pending) {
			c->delete_pending = true;
			ike_log(e, LOG_NOTICE, "Child SA in %08x reached its hard lifetime", c->spi_in);
		}
	rekey_work(e, sa);
	if (e->cfg.dpd_s && !sa->req_out && now - sa->last_rx_ms >= (uint64_t)e->cfg.dpd_s * 1000)
		info_dpd(e, sa);
}

uint64_t ike_engine_tick(struct ike_engine *e, uint64_t now_ms)
{
	e->now_ms = now_ms;
	for_each_sa(e, tick_sa);
	child_linger_expire(e, false);
	uint64_t next = e->lingering ? e->lingering->at_ms : UINT64_MAX;
	for (size_t b = 0; b < e->buckets; b++)
		for (const struct ike_ikesa *sa = e->by_spi[b]; sa; sa = sa->next_spi) {
			if (sa->req_out && sa->retx_at_ms < next)
				next = sa->retx_at_ms;
			if (sa->state != IKE_S_ESTABLISHED && now_ms + 1000 < next)
				next = now_ms + 1000;   /* half-open and deleting SAs expire */
			if (sa->state == IKE_S_ESTABLISHED && e->cfg.dpd_s && now_ms + 1000 < next)
				next = now_ms + 1000;
			if (sa->state == IKE_S_ESTABLISHED) {
				uint64_t due = sa->rekey_at_ms;
				for (const struct ike_child *c = sa->children; c; c = c->next) {
					if (c->rekey_at_ms && !c->replaced && (!due || c->rekey_at_ms < due))
						due = c->rekey_at_ms;
					if (c->expire_at_ms && (!due || c->expire_at_ms < due))
						due = c->expire_at_ms;
				}
				if (sa->retry_at_ms > due)
					due = sa->retry_at_ms;
				if (due && due < next)
					next = due > now_ms ? due : now_ms + 100;
			}
		}
	return next;
}

static void flush_one(struct ike_engine *e, struct ike_ikesa *sa)
{
	if (sa->state == IKE_S_ESTABLISHED)
		info_delete_ike(e, sa);   /* sends the Delete; no answer awaited */
	if (!sa->down_reason)
		sa->down_reason = "flushed (every SA deleted)";
	ikesa_kill(e, sa);
}

void ike_engine_flush(struct ike_engine *e, uint64_t now_ms)
{
	e->now_ms = now_ms;
	for_each_sa(e, flush_one);
	child_linger_expire(e, true);
}

static bool sa_has_end(const struct ike_ikesa *sa, const struct sa_address *x)
{
	if (!x)
		return true;
	struct sa_address l, r;
	ike_addr_to_sa(&sa->local, &l);
	ike_addr_to_sa(&sa->remote, &r);
	size_t n = x->family == AF_INET ? 4 : 16;
	return (l.family == x->family && !memcmp(l.bytes, x->bytes, n)) ||
	       (r.family == x->family && !memcmp(r.bytes, x->bytes, n));
}

size_t ike_engine_delete_sas(struct ike_engine *e, bool children, const struct sa_address *a,
                             const struct sa_address *b, uint64_t now_ms)
{
	e->now_ms = now_ms;
	size_t n = 0;
	for (size_t k = 0; k < e->buckets; k++)
		for (struct ike_ikesa *sa = e->by_spi[k], *next; sa; sa = next) {
			next = sa->next_spi;
			if (!sa_has_end(sa, a) || !sa_has_end(sa, b))
				continue;
			if (!children) {
				flush_one(e, sa);
				n++;
				continue;
			}
			/* Marked, then sent one exchange at a time by rekey_work (as
			 * an expired Child SA is): the peer removes its side on the
			 * Delete, we ours on its answer. */
			for (struct ike_child *c = sa->children; c; c = c->next)
				if (!c->delete_pending) {
					c->delete_pending = true;
					n++;
				}
			rekey_work(e, sa);
		}
	if (!children)
		child_linger_expire(e, true);
	return n;
}

void ike_engine_stats(const struct ike_engine *e, struct ike_stats *s)
{
	*s = e->stats;
	s->half_open_sas = e->half_open;
	s->active_ike_sas = e->count;
	s->active_acquire = 0;
	s->child_negotiations = 0;
	s->reassemblies = 0;
	for (size_t b = 0; b < e->buckets; b++)
		for (const struct ike_ikesa *sa = e->by_spi[b]; sa; sa = sa->next_spi) {
			if (sa->initiator && sa->state != IKE_S_ESTABLISHED)
				s->active_acquire++;
			/* The first Child SA rides on IKE_AUTH: until that is done it
			 * is in flight; later ones are our CREATE_CHILD_SA requests. */
			if (sa->state == IKE_S_INIT_I || sa->state == IKE_S_AUTH_I ||
			    sa->state == IKE_S_INIT_R ||
			    (sa->pend && sa->pend->kind == PEND_CHILD_REKEY))
				s->child_negotiations++;
			s->reassemblies += (sa->reasm[0] != NULL) + (sa->reasm[1] != NULL);
		}
}

size_t ike_engine_snapshot(const struct ike_engine *e, uint64_t now_ms, struct ike_sa_info *sas,
                           size_t max, struct ike_child_info *ch, size_t cmax, size_t *nch)
{
	size_t n = 0, nc = 0;
	for (size_t b = 0; b < e->buckets; b++)
		for (const struct ike_ikesa *sa = e->by_spi[b]; sa; sa = sa->next_spi, n++) {
			if (n >= max)
				continue;   /* counted, not copied */
			struct ike_sa_info *o = &sas[n];
			memset(o, 0, sizeof(*o));
			o->spi_i = sa->spi_i;
			o->spi_r = sa->spi_r;
			o->local = sa->local;
			o->remote = sa->remote;
			o->initiator = sa->initiator;
			o->encap = sa->encap;
			o->nat = sa->nat_local || sa->nat_remote;
			o->state = state_name(sa->state);
			o->rule_id = sa->rule_id;
			if (sa->rule)
				snprintf(o->rule, sizeof(o->rule), "%s", sa->rule->name);
			o->keyed = sa->keyed;
			o->enc = sa->suite.enc;
			o->integ = sa->suite.integ;
			o->prf = sa->suite.prf;
			o->dh_group = sa->dh_group;
			if (sa->peer_auth[0])
				o->auth = sa->peer_by_cert ? IKE_INFO_AUTH_CERT : IKE_INFO_AUTH_PSK;
			snprintf(o->me_id, sizeof(o->me_id), "%s", sa->me_id);
			snprintf(o->peer_id, sizeof(o->peer_id), "%s", sa->peer_id);
			o->age_s = now_ms > sa->created_ms ? (now_ms - sa->created_ms) / 1000 : 0;
			o->lifetime_s = ike_lifetime(e, sa);
			o->lifetime_left_s = sa->rekey_at_ms > now_ms ? (sa->rekey_at_ms - now_ms) / 1000
			                                               : 0;
			for (const struct ike_child *c = sa->children; c; c = c->next) {
				o->children++;
				if (nc >= cmax)
					continue;
				struct ike_child_info *ci = &ch[nc++];
				memset(ci, 0, sizeof(*ci));
				ci->ike_sa = n;
				ci->rule_id = c->rule_id;
				ci->proto = c->proto;
				ci->spi_in = c->spi_in;
				ci->spi_out = c->spi_out;
				ci->tunnel = c->tunnel;
				ci->encap = c->encap;
				ci->rekeying = c->rekeying;
				ci->replaced = c->replaced;
				ci->protocol = c->local.protocol;
				/* A selector of one port names it; a range is "any" here. */
				ci->local_port = c->local.start_port == c->local.end_port ? c->local.start_port : 0;
				ci->remote_port =
					c->remote.start_port == c->remote.end_port ? c->remote.start_port : 0;
				ci->pfs_group = c->pfs_group;
				ci->age_s = now_ms > c->created_ms ? (now_ms - c->created_ms) / 1000 : 0;
				ci->lifetime_s = c->life_s;
				ci->expires_in_s = c->expire_at_ms > now_ms ? (c->expire_at_ms - now_ms) / 1000 : 0;
			}
		}
	*nch = nc;
	return n;
}

void ike_engine_show_sas(const struct ike_engine *e, FILE *out, uint64_t now_ms)
{
	size_t n = 0;
	for (size_t b = 0; b < e->buckets; b++)
		for (const struct ike_ikesa *sa = e->by_spi[b]; sa; sa = sa->next_spi) {
			char l[64], r[64];
			addr_text(&sa->local, l, sizeof(l));
			addr_text(&sa->remote, r, sizeof(r));
			const struct ike_rule *rule = sa->rule;
			fprintf(out, "IKE SA %016llx_i %016llx_r\n", (unsigned long long)sa->spi_i,
			        (unsigned long long)sa->spi_r);
			fprintf(out, "  %-21s: %s\n", "State", state_name(sa->state));
			fprintf(out, "  %-21s: %s\n", "Role", sa->initiator ? "initiator" : "responder");
			fprintf(out, "  %-21s: %s:%u\n", "Me", l, sa->local.port);
			fprintf(out, "  %-21s: %s:%u\n", "Peer", r, sa->remote.port);
			fprintf(out, "  %-21s: %s\n", "Rule", rule ? rule->name : "-");
			fprintf(out, "  %-21s: %s\n", "Algorithms", sa->algs[0] ? sa->algs : "-");
			fprintf(out, "  %-21s: %s\n", "Peer authenticated by",
			        sa->peer_auth[0] ? sa->peer_auth : "-");
			fprintf(out, "  %-21s: %s\n", "UDP encapsulation",
			        sa->encap ? (sa->nat_local || sa->nat_remote ? "yes (NAT)" : "yes (forced)")
			                  : "no");
			fprintf(out, "  %-21s: %llu s\n", "Age",
			        (unsigned long long)((now_ms - sa->created_ms) / 1000));
			for (const struct ike_child *c = sa->children; c; c = c->next)
				fprintf(out, "  Child SA %s in %08x out %08x %s %s%s, %llu s\n",
				        c->proto == SA_PROTO_ESP ? "ESP" : "AH", c->spi_in, c->spi_out,
				        c->tunnel ? "tunnel" : "transport", c->algs,
				        c->encap ? " UDP-encap" : "",
				        (unsigned long long)((now_ms - c->created_ms) / 1000));
			n++;
		}
	if (!n)
		fprintf(out, "No IKE SAs.\n");
}

size_t ike_engine_failures(const struct ike_engine *e, uint64_t now_ms,
                           struct ike_failure_info *out, size_t max, uint64_t *total)
{
	size_t n = e->nfailures < IKE_FAILURES ? e->nfailures : IKE_FAILURES;
	if (n > max)
		n = max;   /* the newest n of them */
	*total = e->nfailures;
	for (size_t k = 0; k < n; k++) {
		const struct ike_failure *f = &e->failures[(e->nfailures - n + k) % IKE_FAILURES];
		struct ike_failure_info *o = &out[k];
		memset(o, 0, sizeof(*o));
		o->age_s = now_ms > f->at_ms ? (now_ms - f->at_ms) / 1000 : 0;
		o->peer = f->peer;
		o->rule_id = f->rule_id;
		const struct ike_rule *r = ike_rule_by_id(e, f->rule_id);
		snprintf(o->rule, sizeof(o->rule), "%s", r ? r->name : "");
		o->step = step_name(f->step);
		snprintf(o->why, sizeof(o->why), "%s", f->why);
	}
	return n;
}

void ike_engine_show_failures(const struct ike_engine *e, FILE *out)
{
	size_t n = e->nfailures < IKE_FAILURES ? e->nfailures : IKE_FAILURES;
	if (!n) {
		fprintf(out, "No failed negotiations.\n");
		return;
	}
	for (size_t k = 0; k < n; k++) {
		const struct ike_failure *f = &e->failures[(e->nfailures - n + k) % IKE_FAILURES];
		char a[64];
		addr_text(&f->peer, a, sizeof(a));
		const struct ike_rule *r = ike_rule_by_id(e, f->rule_id);
		fprintf(out, "%llu.%03llu peer %s rule %s step %s: %s\n",
		        (unsigned long long)(f->at_ms / 1000), (unsigned long long)(f->at_ms % 1000), a,
		        r ? r->name : "-", step_name(f->step), f->why);
	}
}
