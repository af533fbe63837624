/*
 * Child SAs: what a rule offers, the traffic selectors each side proposes
 * or allows, and the pair of SAs the data path gets once both agree
 * (RFC 7296 §1.3, §2.9, §2.17).
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "ike/sa.h"
#include "ike/ts.h"

#define CHILD_REPLAY_WINDOW 128

/* ---- transform IDs ---- */

bool ike_enc_of(uint16_t id, uint16_t key_length, enum crypto_enc *out)
{
	switch (id) {
	case IKE_ENCR_DES: *out = ENC_DES_CBC; return key_length == 0;
	case IKE_ENCR_3DES: *out = ENC_3DES_CBC; return key_length == 0;
	case IKE_ENCR_NULL: *out = ENC_NULL; return key_length == 0;
	case IKE_ENCR_CHACHA20_POLY1305: *out = ENC_CHACHA20_POLY1305; return key_length == 0;
	case IKE_ENCR_AES_CBC:
		*out = key_length == 128 ? ENC_AES128_CBC : key_length == 192 ? ENC_AES192_CBC
		                                                              : ENC_AES256_CBC;
		return key_length == 128 || key_length == 192 || key_length == 256;
	case IKE_ENCR_AES_GCM_16:
		*out = key_length == 128 ? ENC_AES128_GCM : key_length == 192 ? ENC_AES192_GCM
		                                                              : ENC_AES256_GCM;
		return key_length == 128 || key_length == 192 || key_length == 256;
	default:
		return false;
	}
}

bool ike_mac_of(uint16_t id, enum crypto_mac *out)
{
	switch (id) {
	case IKE_INTEG_NONE: *out = MAC_NONE; return true;
	case IKE_INTEG_HMAC_MD5_96: *out = MAC_HMAC_MD5_96; return true;
	case IKE_INTEG_HMAC_SHA1_96: *out = MAC_HMAC_SHA1_96; return true;
	case IKE_INTEG_HMAC_SHA2_256_128: *out = MAC_HMAC_SHA256_128; return true;
	case IKE_INTEG_HMAC_SHA2_384_192: *out = MAC_HMAC_SHA384_192; return true;
	case IKE_INTEG_HMAC_SHA2_512_256: *out = MAC_HMAC_SHA512_256; return true;
	default: return false;
	}
}

bool ike_prf_of(uint16_t id, enum crypto_prf *out)
{
	switch (id) {
	case IKE_PRF_HMAC_MD5: *out = PRF_HMAC_MD5; return true;
	case IKE_PRF_HMAC_SHA1: *out = PRF_HMAC_SHA1; return true;
	case IKE_PRF_HMAC_SHA2_256: *out = PRF_HMAC_SHA2_256; return true;
	case IKE_PRF_HMAC_SHA2_384: *out = PRF_HMAC_SHA2_384; return true;
	case IKE_PRF_HMAC_SHA2_512: *out = PRF_HMAC_SHA2_512; return true;
	default: return false;
	}
}

/* ---- proposals and selectors ---- */

void child_offer(struct ike_engine *e, const struct ike_rule *r, struct ike_offer *o,
                 bool with_pfs)
{
	uint16_t group = with_pfs && r->pfs ? r->pfs_group : 0;
	/* Windows' session key PFS uses the main mode's group (a dynamic
	 * qmpolicy may name its own: pfsgroup=GRP1|GRP2|GRP3). */
	for (size_t k = 0; with_pfs && r->pfs && !r->pfs_group && e->ike_offer.count &&
	                   k < e->ike_offer.prop[0].count; k++)
		if (e->ike_offer.prop[0].xf[k].type == IKE_XF_DH)
			group = e->ike_offer.prop[0].xf[k].id;
	ike_offer_from_qm(o, &r->methods, group, e->policy.allow_legacy);
}

static void host_sel(const struct ike_addr *a, struct ike_ts_sel *s)
{
	ike_ts_from_prefix(s, a->family, a->bytes, a->family == AF_INET ? 32 : 128, 0, 0);
}

static void rule_sel(const struct ike_selector *x, struct ike_ts_sel *s)
{
	ike_ts_from_prefix(s, x->net.family, x->net.bytes, x->len, x->protocol, x->port);
}

void child_ts_initiator(const struct ike_ikesa *sa, const struct ike_rule *r,
                        const struct spd_packet *trigger, struct ike_ts *tsi, struct ike_ts *tsr)
{
	(void)trigger;
	memset(tsi, 0, sizeof(*tsi));
	memset(tsr, 0, sizeof(*tsr));
	if (!r->tunnel) {
		/* Transport mode: the two hosts' own traffic, as the rule's
		 * filters narrow it (protocol, ports). Without them a peer with
		 * several rules for this host could not tell which one is meant. */
		struct ike_ts_sel me, peer;
		host_sel(&sa->local, &me);
		host_sel(&sa->remote, &peer);
		size_t n = 0;
		for (size_t k = 0; k < r->nsel && n < IKE_MAX_TS; k++) {
			struct ike_ts_sel l, x, y;
			rule_sel(&r->local[k], &l);
			rule_sel(&r->remote[k], &x);
			if (ike_ts_intersect(&l, &me, &tsi->sel[n]) && ike_ts_intersect(&x, &peer, &y))
				tsr->sel[n++] = y;
		}
		if (!n) {
			tsi->sel[0] = me;
			tsr->sel[0] = peer;
			n = 1;
		}
		tsi->count = tsr->count = n;
		return;
	}
	for (size_t k = 0; k < r->nsel && k < IKE_MAX_TS; k++) {
		rule_sel(&r->local[k], &tsi->sel[k]);
		rule_sel(&r->remote[k], &tsr->sel[k]);
	}
	tsi->count = tsr->count = r->nsel < IKE_MAX_TS ? r->nsel : IKE_MAX_TS;
}

const struct ike_rule *child_pick_rule(struct ike_engine *e, struct ike_ikesa *sa,
                                       const struct ike_ts *tsi, const struct ike_ts *tsr,
                                       struct ike_ts *out_i, struct ike_ts *out_r, char *why,
                                       size_t whylen)
{
	(void)e;
	const struct ike_rule *r = sa->rule;
	if (r->is_default) {
		/* <Dynamic>: whatever the peer asks for between the two hosts,
		 * in transport mode (windows-ipsec-model.md §5). */
		struct ike_ts_pair host;
		host_sel(&sa->remote, &host.i);
		host_sel(&sa->local, &host.r);
		return ike_ts_narrow(tsi, tsr, &host, 1, out_i, out_r, why, whylen) ? r : NULL;
	}
	if (r->tunnel) {
		struct sa_address peer;
		ike_addr_to_sa(&sa->remote, &peer);
		if (peer.family != r->tunnel_peer.family ||
		    memcmp(peer.bytes, r->tunnel_peer.bytes, peer.family == AF_INET ? 4 : 16) != 0) {
			snprintf(why, whylen, "rule %s: its tunnel endpoint is not this peer", r->name);
			return NULL;
		}
	}
	struct ike_ts_pair allowed[IKE_RULE_SELECTORS];
	size_t n = 0;
	struct ike_ts_sel me, peer;
	host_sel(&sa->local, &me);
	host_sel(&sa->remote, &peer);
	for (size_t k = 0; k < r->nsel; k++) {
		struct ike_ts_sel i, rr, hi, hr;
		rule_sel(&r->remote[k], &i);
		rule_sel(&r->local[k], &rr);
		/* Transport mode: only the two hosts' own addresses (§1.3.1). */
		if (!r->tunnel) {
			if (!ike_ts_intersect(&i, &peer, &hi) || !ike_ts_intersect(&rr, &me, &hr))
				continue;
			i = hi;
			rr = hr;
		}
		allowed[n].i = i;
		allowed[n].r = rr;
		n++;
	}
	if (!n) {
		snprintf(why, whylen, "rule %s has no filter for this peer", r->name);
		return NULL;
	}
	return ike_ts_narrow(tsi, tsr, allowed, n, out_i, out_r, why, whylen) ? r : NULL;
}

/* ---- installing ---- */

/* The smallest prefix holding a selector's range (the data path matches
 * prefixes). */
static void ts_prefix(const struct ike_ts_sel *s, struct sa_address *a, uint8_t *len)
{
	size_t alen = s->type == IKE_TS_IPV4_ADDR_RANGE ? 4 : 16;
	memset(a, 0, sizeof(*a));
	a->family = alen == 4 ? AF_INET : AF_INET6;
	unsigned bits = 0;
	while (bits < alen * 8) {
		uint8_t m = (uint8_t)(0x80 >> (bits % 8));
		if ((s->start[bits / 8] & m) != (s->end[bits / 8] & m))
			break;
		bits++;
	}
	memcpy(a->bytes, s->start, alen);
	for (unsigned b = bits; b < alen * 8; b++)
		a->bytes[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
	*len = (uint8_t)bits;
}

/* IKE's selectors as the data path checks them (spd_traffic_carries). */
static void ts_selectors(const struct ike_ts *ts, struct spd_selector *out, uint8_t *n)
{
	*n = 0;
	for (size_t k = 0; k < ts->count && k < SPD_SELECTORS; k++) {
		const struct ike_ts_sel *s = &ts->sel[k];
		struct spd_selector *x = &out[(*n)++];
		bool v4 = s->type == IKE_TS_IPV4_ADDR_RANGE;
		memset(x, 0, sizeof(*x));
		x->family = v4 ? AF_INET : AF_INET6;
		x->protocol = s->protocol;
		x->port_lo = s->start_port;
		x->port_hi = s->end_port;
		memcpy(x->lo, s->start, v4 ? 4 : 16);
		memcpy(x->hi, s->end, v4 ? 4 : 16);
	}
}

static void algs_text(enum sa_proto proto, enum crypto_enc enc, enum crypto_mac mac, char *buf,
                      size_t len)
{
	if (proto == SA_PROTO_AH)
		snprintf(buf, len, "AH %s", crypto_mac_info(mac)->name);
	else if (mac == MAC_NONE)
		snprintf(buf, len, "%s", crypto_enc_info(enc)->name);
	else
		snprintf(buf, len, "%s/%s", crypto_enc_info(enc)->name, crypto_mac_info(mac)->name);
}

struct ike_child *child_install(struct ike_engine *e, struct ike_ikesa *sa,
                                const struct child_params *p, char *why, size_t whylen)
{
	const struct ike_rule *r = p->rule;
	const struct ike_choice *c = p->choice;
	enum sa_proto proto = c->protocol == IKE_PROTO_AH ? SA_PROTO_AH : SA_PROTO_ESP;
	enum crypto_enc enc = ENC_NULL;
	enum crypto_mac mac = MAC_NONE;
	if ((proto == SA_PROTO_ESP && !ike_enc_of(c->encr, c->key_length, &enc)) ||
	    !ike_mac_of(c->integ, &mac)) {
		snprintf(why, whylen, "unsupported Child SA transform");
		return NULL;
	}
	const struct crypto_enc_info *ei = crypto_enc_info(enc);
	size_t enc_len = proto == SA_PROTO_ESP ? ei->key_len + ei->salt_len : 0;
	size_t integ_len = mac != MAC_NONE ? crypto_mac_info(mac)->key_len : 0;
	struct ike_child_keys k;
	const char *err = NULL;
	if (!ike_child_keys_derive(&k, &sa->keys, &p->nonces, p->g_ir, p->g_ir_len, enc_len,
	                           integ_len, &err)) {
		snprintf(why, whylen, "Child SA keys: %s", err);
		return NULL;
	}
	/* §2.17: the keys of the SA from the exchange's initiator come first. */
	bool first = p->we_initiated;
	const struct ike_key *out_e = first ? &k.ir_enc : &k.ri_enc;
	const struct ike_key *out_a = first ? &k.ir_integ : &k.ri_integ;
	const struct ike_key *in_e = first ? &k.ri_enc : &k.ir_enc;
	const struct ike_key *in_a = first ? &k.ri_integ : &k.ir_integ;
	const struct ike_ts *mine = first ? p->tsi : p->tsr, *theirs = first ? p->tsr : p->tsi;

	const struct security_method *sm = NULL;
	struct ike_offer *o = malloc(sizeof(*o));
	if (o) {
		child_offer(e, r, o, false);
		if (c->ours < o->count && o->method[c->ours] < r->methods.n)
			sm = &r->methods.m[o->method[c->ours]];
		free(o);
	}
	struct sa_lifetime life = { 0 };
	if (sm) {
		/* The data path reports the soft limit in bytes; the rekey by
		 * time is the engine's (rekey_at_ms), so only the hard one here. */
		life.hard_bytes = (uint64_t)sm->life_kb * 1024;
		life.soft_bytes = life.hard_bytes / 10 * 9;
		life.hard_seconds = sm->life_s;
	}
	struct ike_child_install ci = { .rule_id = r->id };
	struct child_sa_config *dir[2] = { &ci.in, &ci.out };
	for (int d = 0; d < 2; d++) {
		struct child_sa_config *cc = dir[d];
		bool in = d == 0;
		const struct ike_key *ke = in ? in_e : out_e, *ka = in ? in_a : out_a;
		cc->sa = (struct sa_config){
			.spi = in ? p->spi_in : p->spi_out, .proto = proto,
			.mode = p->tunnel ? SA_TUNNEL : SA_TRANSPORT, .inbound = in,
			.esn = c->esn == IKE_ESN_YES, .enc = enc, .enc_key = ke->octets,
			.enc_key_len = ke->len, .integ = mac, .auth_key = ka->octets,
			.auth_key_len = ka->len, .replay_window = in ? CHILD_REPLAY_WINDOW : 0,
			.life = life, .allow_legacy = e->policy.allow_legacy, .now = e->now_ms / 1000,
		};
		ike_addr_to_sa(in ? &sa->remote : &sa->local, &cc->sa.src);
		ike_addr_to_sa(in ? &sa->local : &sa->remote, &cc->sa.dst);
		ts_prefix(&(in ? theirs : mine)->sel[0], &cc->src, &cc->src_len);
		ts_prefix(&(in ? mine : theirs)->sel[0], &cc->dst, &cc->dst_len);
		/* The SA carries all that was agreed, exactly: every selector,
		 * not one prefix around the first (a tunnel to two subnets),
		 * and not more (a peer agreed to TCP 3389 sends nothing else). */
		ts_selectors(in ? theirs : mine, cc->traffic.src, &cc->traffic.nsrc);
		ts_selectors(in ? mine : theirs, cc->traffic.dst, &cc->traffic.ndst);
		cc->udp_encap = sa->encap && proto == SA_PROTO_ESP;
		/* Behind a NAT the peer's 4500 is whatever port its NAT maps. */
		cc->udp_port = sa->remote.port == IKE_PORT ? IKE_NATT_PORT : sa->remote.port;
		cc->rule_id = in ? 0 : r->id;
		cc->standby = !in && p->standby;
	}
	struct ike_child *ch = calloc(1, sizeof(*ch));
	bool ok = ch && e->host.install(e->host.ctx, &ci, why, whylen);
	ike_child_keys_wipe(&k);
	crypto_wipe(&ci, sizeof(ci));
	if (!ok) {
		if (!ch)
			snprintf(why, whylen, "out of memory");
		else
			e->stats.key_add_fail++;   /* the data path refused it (e.g. a taken SPI) */
		free(ch);
		return NULL;
	}
	ch->rule_id = r->id;
	ch->proto = proto;
	ch->spi_in = p->spi_in;
	ch->spi_out = p->spi_out;
	ch->tunnel = p->tunnel;
	ch->encap = sa->encap && proto == SA_PROTO_ESP;
	ch->local = mine->sel[0];
	ch->remote = theirs->sel[0];
	ch->ts_local = *mine;
	ch->ts_remote = *theirs;
	/* Address ranges only (narrowed, or checked within ours): nothing
	 * points into the message, which is gone after this. */
	for (size_t t = 0; t < IKE_MAX_TS; t++) {
		ch->ts_local.sel[t].raw = ch->ts_remote.sel[t].raw = NULL;
		ch->ts_local.sel[t].raw_len = ch->ts_remote.sel[t].raw_len = 0;
	}
	ch->created_ms = e->now_ms;
	ch->pfs_group = p->g_ir ? p->choice->dh : 0;
	if (sm) {
		ch->life_s = sm->life_s;
		ch->rekey_at_ms = rekey_time(e->now_ms, sm->life_s, p->we_initiated);
		ch->expire_at_ms = e->now_ms + (uint64_t)sm->life_s * 1000;
	}
	algs_text(proto, enc, mac, ch->algs, sizeof(ch->algs));
	if (r->is_default) {
		/* The filter the default response rule makes for this traffic. */
		ch->dynamic = true;
		ch->filter = (struct driver_dynamic){ .rule_id = r->id, .action = ACTION_NEGOTIATE };
		ts_prefix(&mine->sel[0], &ch->filter.local, &ch->filter.local_len);
		ts_prefix(&theirs->sel[0], &ch->filter.remote, &ch->filter.remote_len);
		/* Only the traffic the peer asked for (Windows makes the
		 * filter from the negotiated selectors): the rest between the
		 * two hosts stays with the policy. The two host selectors
		 * share one protocol (§2.9 narrowing keeps them compatible). */
		ch->filter.protocol = mine->sel[0].protocol ? mine->sel[0].protocol
		                                            : theirs->sel[0].protocol;
		if (mine->sel[0].start_port || mine->sel[0].end_port != 0xffff) {
			ch->filter.local_ports[0] = mine->sel[0].start_port;
			ch->filter.local_ports[1] = mine->sel[0].end_port;
		}
		if (theirs->sel[0].start_port || theirs->sel[0].end_port != 0xffff) {
			ch->filter.remote_ports[0] = theirs->sel[0].start_port;
			ch->filter.remote_ports[1] = theirs->sel[0].end_port;
		}
		if (e->host.dynamic)
			e->host.dynamic(e->host.ctx, &ch->filter, true, 0);
	}
	ch->next = sa->children;
	sa->children = ch;
	sa->quick_modes++;
	e->stats.quick_mode_sas++;
	e->stats.key_additions += 2;
	ike_log(e, LOG_NOTICE, "Child SA %s in %08x out %08x (%s, %s%s%s) for rule %s installed",
	        proto == SA_PROTO_ESP ? "ESP" : "AH", p->spi_in, p->spi_out, ch->algs,
	        p->tunnel ? "tunnel" : "transport", ch->encap ? ", UDP-encapsulated" : "",
	        p->g_ir ? ", PFS" : "", r->name);
	ike_emit(e, IKE_EVENT_CHILD_SA_UP, sa, ch, NULL);
	return ch;
}

void child_remove(struct ike_engine *e, struct ike_ikesa *sa, struct ike_child *c,
                  const char *why)
{
	for (struct ike_child **pp = &sa->children; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	struct sa_address local, remote;
	ike_addr_to_sa(&sa->local, &local);
	ike_addr_to_sa(&sa->remote, &remote);
	/* The outbound SA goes now; the inbound one a moment later, for what
	 * the peer sent on it before its Delete (make-before-break both ways). */
	struct ike_linger *l = calloc(1, sizeof(*l));
	if (l) {
		*l = (struct ike_linger){ c->proto, c->spi_in, local, e->now_ms + IKE_LINGER_MS, NULL };
		if (!e->lingering)
			e->linger_tail = &e->lingering;
		*e->linger_tail = l;
		e->linger_tail = &l->next;
	}
	if (e->host.remove)
		e->host.remove(e->host.ctx, c->proto, l ? 0 : c->spi_in, &local, c->spi_out, &remote);
	if (c->dynamic && e->host.dynamic)
		e->host.dynamic(e->host.ctx, &c->filter, false, 0);
	e->stats.key_deletions += 2;
	ike_log(e, LOG_NOTICE, "Child SA %s in %08x out %08x removed",
	        c->proto == SA_PROTO_ESP ? "ESP" : "AH", c->spi_in, c->spi_out);
	if (!why)
		why = c->replaced ? "replaced by a rekey"
		      : c->expire_at_ms && e->now_ms >= c->expire_at_ms ? "hard lifetime reached"
		                                                        : "deleted";
	ike_emit(e, IKE_EVENT_CHILD_SA_DOWN, sa, c, why);
	free(c);
}

void child_linger_expire(struct ike_engine *e, bool all)
{
	while (e->lingering && (all || e->now_ms >= e->lingering->at_ms)) {
		struct ike_linger *l = e->lingering;
		e->lingering = l->next;
		if (!e->lingering)
			e->linger_tail = &e->lingering;
		if (e->host.remove)
			e->host.remove(e->host.ctx, l->proto, l->spi, &l->local, 0, NULL);
		free(l);
	}
}

void child_remove_all(struct ike_engine *e, struct ike_ikesa *sa, const char *why)
{
	char text[128];
	if (why)
		snprintf(text, sizeof(text), "its IKE SA went: %s", why);
	while (sa->children)
		child_remove(e, sa, sa->children, why ? text : NULL);
}

struct ike_child *child_by_spi_in(struct ike_ikesa *sa, uint32_t spi)
{
	for (struct ike_child *c = sa->children; c; c = c->next)
		if (c->spi_in == spi)
			return c;
	return NULL;
}

struct ike_child *child_by_spi_out(struct ike_ikesa *sa, enum sa_proto proto, uint32_t spi)
{
	for (struct ike_child *c = sa->children; c; c = c->next)
		if (c->proto == proto && c->spi_out == spi)
			return c;
	return NULL;
}
