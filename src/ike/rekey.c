/*
 * CREATE_CHILD_SA (RFC 7296 §1.3): rekeying a Child SA and rekeying the IKE
 * SA, in both roles.
 *
 * A Child SA is rekeyed make-before-break: the new pair is installed (the
 * data path sends on the newest SA at once and still accepts the old one),
 * then the side that started the rekey deletes the old pair. When both
 * sides rekey the same Child SA at once, both new pairs come up and the one
 * whose exchange holds the lowest of the four nonces is deleted by the side
 * that made it (§2.8.1), so one pair is left.
 *
 * An IKE SA is rekeyed into a new IKE SA (new SPIs, SKEYSEED from the old
 * SK_d and a fresh key exchange, §2.18) that takes over the Child SAs; the
 * side that started it then deletes the old one. Two rekeys of the same IKE
 * SA at once are settled before anything is made: a side that has its own
 * rekey out refuses the peer's with TEMPORARY_FAILURE when its own nonce is
 * the higher, and accepts it (abandoning its own) otherwise. Both sides
 * compare the same two nonces, so exactly one rekey goes through.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "ike/sa.h"
#include "ike/ts.h"

#define RETRY_MS 2000             /* after a refused rekey */

uint64_t rekey_time(uint64_t from_ms, uint64_t life_s, bool initiator)
{
	if (!life_s)
		return 0;
	/* The side that made an SA rekeys it first, the other a little later:
	 * they rarely collide. */
	return from_ms + life_s * 10 * (initiator ? 85 : 92);
}

void pending_free(struct ike_ikesa *sa)
{
	if (!sa->pend)
		return;
	if (sa->pend->dh_ready)
		dh_free(&sa->pend->dh);
	crypto_wipe(sa->pend, sizeof(*sa->pend));
	free(sa->pend);
	sa->pend = NULL;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t fresh_spi32(struct ike_engine *e)
{
	uint32_t spi = 0;
	while (spi < 256)   /* 1..255 are reserved (RFC 4303 §2.1) */
		ike_rand(e, &spi, sizeof(spi));
	e->stats.total_get_spi++;
	return spi;
}

/* The Diffie-Hellman secret of an exchange from the peer's KE payload. */
static bool dh_secret(struct dh *d, const struct ike_message *m, uint16_t group, uint8_t *secret,
                      size_t *slen, const char **why)
{
	const struct ike_payload *pke = ike_find(m, IKE_PL_KE);
	struct ike_ke ke;
	if (!pke || !ike_decode_ke(pke, &ke, NULL) || ke.group != group) {
		*why = "no KE payload for the chosen group";
		return false;
	}
	return dh_derive(d, ke.data, ke.len, secret, slen, why);
}

/* ---- Child SA rekey, initiator ---- */

static void child_rekey_start(struct ike_engine *e, struct ike_ikesa *sa, struct ike_child *old)
{
	const struct ike_rule *r = ike_rule_by_id(e, old->rule_id);
	struct ike_pending *p = calloc(1, sizeof(*p));
	const char *why = "out of memory";
	if (!r || !p) {
		/* Its rule is gone from the policy: it lives out its lifetime. */
		old->rekey_at_ms = 0;
		free(p);
		return;
	}
	p->kind = PEND_CHILD_REKEY;
	p->old_spi_in = old->spi_in;
	p->rule_id = old->rule_id;
	p->tunnel = old->tunnel;
	p->new_spi = fresh_spi32(e);
	child_offer(e, r, &p->offer, true);
	uint8_t spi[4];
	be32(spi, p->new_spi);
	for (size_t i = 0; i < p->offer.count; i++)
		memcpy(p->offer.prop[i].spi, spi, 4);
	p->dh_group = ike_offer_dh(&p->offer);
	if (!p->offer.count || !ike_rand(e, p->nonce, sizeof(p->nonce)) ||
	    (p->dh_group && !(p->dh_ready = dh_init(&p->dh, p->dh_group, e->policy.allow_legacy, &why)))) {
		ike_fail(e, sa, NULL, STEP_CHILD, "cannot rekey Child SA %08x: %s", old->spi_in,
		         p->offer.count ? why : "no security method to offer");
		old->rekey_at_ms = 0;
		free(p);
		return;
	}
	struct ike_writer w;
	ike_writer_scratch(e, &w);
	uint8_t old_spi[4];
	be32(old_spi, old->spi_in);
	struct ike_notify n = { .protocol = old->proto == SA_PROTO_AH ? IKE_PROTO_AH : IKE_PROTO_ESP,
	                        .spi_size = 4, .type = IKE_N_REKEY_SA, .spi = old_spi };
	ike_put_notify(&w, &n);
	ike_put_sa(&w, p->offer.prop, p->offer.count);
	ike_put_nonce(&w, p->nonce, sizeof(p->nonce));
	if (p->dh_group)
		ike_put_dh(&w, &p->dh, p->dh_group);
	/* Every selector the old SA carries, not its first only. */
	p->ts_i = old->ts_local;
	p->ts_r = old->ts_remote;
	ike_put_ts(&w, IKE_PL_TSI, &p->ts_i);
	ike_put_ts(&w, IKE_PL_TSR, &p->ts_r);
	if (!old->tunnel)
		ike_put_notify_simple(&w, IKE_N_USE_TRANSPORT_MODE, NULL, 0);
	sa->pend = p;
	if (!ike_send_request(e, sa, IKE_CREATE_CHILD_SA, &w)) {
		pending_free(sa);
		sa->retry_at_ms = e->now_ms + RETRY_MS;
		return;
	}
	old->rekeying = true;
	ike_log(e, LOG_NOTICE, "IKE: rekeying Child SA %08x%s", old->spi_in,
	        p->dh_group ? " with PFS" : "");
}

static enum ike_state child_rekey_response(struct ike_engine *e, struct ike_ikesa *sa,
                                           const struct ike_message *m)
{
	struct ike_pending *p = sa->pend;
	struct ike_child *old = child_by_spi_in(sa, p->old_spi_in);
	struct ike_notify n;
	uint16_t err = ike_first_error(m, &n);
	const struct ike_payload *psa = ike_find(m, IKE_PL_SA), *pn = ike_find(m, IKE_PL_NONCE),
	                         *pi = ike_find(m, IKE_PL_TSI), *pr = ike_find(m, IKE_PL_TSR);
	struct ike_sa *theirs = malloc(sizeof(*theirs));
	struct ike_ts *ts = malloc(2 * sizeof(*ts));
	/* The old pair may be gone already (the peer rekeyed and deleted it
	 * first): the new one is still made, the peer has it. */
	const struct ike_rule *r = ike_rule_by_id(e, p->rule_id);
	uint8_t secret[IKE_SECRET_MAX];
	size_t slen = sizeof(secret);
	const char *why = NULL;
	char reason[160];
	struct ike_choice c;
	if (old)
		old->rekeying = false;
	if (err || !psa || !pn || !pi || !pr || !theirs || !ts || !r) {
		if (err == IKE_N_TEMPORARY_FAILURE || err == IKE_N_CHILD_SA_NOT_FOUND)
			ike_log(e, LOG_INFO, "IKE: the peer deferred our rekey (error %u)", err);
		else
			ike_fail(e, sa, NULL, STEP_CHILD, "rekey of Child SA %08x refused (error %u)",
			         p->old_spi_in, err);
		sa->retry_at_ms = e->now_ms + RETRY_MS;
		goto out;
	}
	ike_decode_sa(psa, theirs, NULL);
	ike_decode_ts(pi, &ts[0], NULL);
	ike_decode_ts(pr, &ts[1], NULL);
	struct ike_data nr;
	ike_decode_nonce(pn, &nr, NULL);
	if (theirs->count != 1 || theirs->prop[0].spi_size != 4 || get32(theirs->prop[0].spi) < 256 ||
	    !ike_select(&p->offer, theirs, &c, reason, sizeof(reason)) ||
	    (c.dh && !dh_secret(&p->dh, m, p->dh_group, secret, &slen, &why))) {
		ike_fail(e, sa, NULL, STEP_CHILD, "rekey of Child SA %08x: a bad answer (%s)",
		         p->old_spi_in, why ? why : "a proposal we did not make");
		sa->retry_at_ms = e->now_ms + RETRY_MS;
		goto out;
	}
	/* §2.9: within what we proposed (the old pair's selectors), or the
	 * new SA would carry traffic the old one never did. */
	if (!ike_ts_subset(&ts[0], &p->ts_i) || !ike_ts_subset(&ts[1], &p->ts_r)) {
		ike_fail(e, sa, NULL, STEP_CHILD,
		         "rekey of Child SA %08x: the responder's traffic selectors are not within ours",
		         p->old_spi_in);
		sa->retry_at_ms = e->now_ms + RETRY_MS;
		goto out;
	}
	struct child_params cp = {
		.rule = r, .choice = &c, .spi_in = p->new_spi, .spi_out = get32(theirs->prop[0].spi),
		.tsi = &ts[0], .tsr = &ts[1], .tunnel = p->tunnel, .we_initiated = true,
		.nonces = { p->nonce, nr.data, sizeof(p->nonce), nr.len },
		.g_ir = c.dh ? secret : NULL, .g_ir_len = c.dh ? slen : 0,
	};
	struct ike_child *fresh = child_install(e, sa, &cp, reason, sizeof(reason));
	if (!fresh) {
		ike_fail(e, sa, NULL, STEP_CHILD, "rekey of Child SA %08x: %s", p->old_spi_in, reason);
		sa->retry_at_ms = e->now_ms + RETRY_MS;
		goto out;
	}
	e->stats.rekeys++;
	struct ike_event ev;
	ike_event_fill(e, &ev, IKE_EVENT_CHILD_REKEY, sa, fresh, NULL);
	ev.old_spi_in = p->old_spi_in;
	ev.old_spi_out = old ? old->spi_out : 0;
	ike_event_emit(e, &ev);
	/* §2.8.1: the peer rekeyed it too. The pair made by the exchange with
	 * the lowest nonce goes, deleted by the side that made it. */
	if (p->collided) {
		const uint8_t *lo = p->nonce;
		size_t lo_len = sizeof(p->nonce);
		if (ike_nonce_cmp(nr.data, nr.len, lo, lo_len) < 0) {
			lo = nr.data;
			lo_len = nr.len;
		}
		if (ike_nonce_cmp(lo, lo_len, p->peer_nonce, p->peer_nonce_len) < 0) {
			fresh->replaced = true;
			fresh->delete_pending = true;
			ike_log(e, LOG_INFO, "IKE: simultaneous rekey of %08x: ours (%08x) is redundant",
			        p->old_spi_in, fresh->spi_in);
		}
	}
	if (old) {
		old->replaced = true;
		old->delete_pending = true;
	}
out:
	crypto_wipe(secret, sizeof(secret));
	free(theirs);
	free(ts);
	pending_free(sa);
	rekey_work(e, sa);
	return sa->state;
}

/* ---- IKE SA rekey, initiator ---- */

static void ike_rekey_start(struct ike_engine *e, struct ike_ikesa *sa)
{
	struct ike_pending *p = calloc(1, sizeof(*p));
	const char *why = "out of memory";
	if (!p)
		return;
	p->kind = PEND_IKE_REKEY;
	do {
		ike_rand(e, &p->new_ike_spi, sizeof(p->new_ike_spi));
	} while (ike_spi_in_use(e, p->new_ike_spi));
	if (sa->rule && sa->rule->mm.n)
		ike_offer_from_mm(&p->offer, &sa->rule->mm, e->policy.allow_legacy);
	else
		ike_offer_copy(&p->offer, &e->ike_offer);
	uint8_t spi[8];
	ike_spi_bytes(p->new_ike_spi, spi);
	for (size_t i = 0; i < p->offer.count; i++) {
		p->offer.prop[i].spi_size = 8;
		memcpy(p->offer.prop[i].spi, spi, 8);
	}
	/* The group in use, if the policy still offers it. */
	p->dh_group = sa->dh_group;
	bool offered = false;
	for (size_t i = 0; i < p->offer.count; i++)
		for (size_t k = 0; k < p->offer.prop[i].count; k++)
			offered = offered || (p->offer.prop[i].xf[k].type == IKE_XF_DH &&
			                      p->offer.prop[i].xf[k].id == p->dh_group);
	if (!offered)
		p->dh_group = ike_offer_dh(&p->offer);
	if (!p->offer.count || !ike_rand(e, p->nonce, sizeof(p->nonce)) ||
	    !(p->dh_ready = dh_init(&p->dh, p->dh_group, e->policy.allow_legacy, &why))) {
		ike_fail(e, sa, NULL, STEP_INIT, "cannot rekey the IKE SA: %s",
		         p->offer.count ? why : "no IKE proposal");
		sa->rekey_at_ms = 0;
		free(p);
		return;
	}
	struct ike_writer w;
	ike_writer_scratch(e, &w);
	ike_put_sa(&w, p->offer.prop, p->offer.count);
	ike_put_nonce(&w, p->nonce, sizeof(p->nonce));
	ike_put_dh(&w, &p->dh, p->dh_group);
	sa->pend = p;
	if (!ike_send_request(e, sa, IKE_CREATE_CHILD_SA, &w)) {
		pending_free(sa);
		sa->retry_at_ms = e->now_ms + RETRY_MS;
		return;
	}
	ike_log(e, LOG_NOTICE, "IKE: rekeying the IKE SA");
}

/* The new IKE SA of a rekey: keys from the old SA's SK_d, the Child SAs
 * moved over. NULL and why on failure (nothing changed then). */
static struct ike_ikesa *ike_rekey_make(struct ike_engine *e, struct ike_ikesa *old,
                                        bool initiator, uint64_t spi_ours, uint64_t spi_theirs,
                                        const struct ike_choice *c, uint16_t group,
                                        const uint8_t *ni, size_t ni_len, const uint8_t *nr,
                                        size_t nr_len, const uint8_t *g_ir, size_t g_ir_len,
                                        const char **why)
{
	struct ike_ikesa *ns = ikesa_new(e, initiator, &old->local, &old->remote, spi_ours);
	if (!ns) {
		*why = "out of memory";
		return NULL;
	}
	if (initiator)
		ns->spi_r = spi_theirs;
	else
		ns->spi_i = spi_theirs;
	ns->rule = old->rule;
	ns->rule_id = old->rule_id;
	ns->natt = old->natt;
	ns->nat_local = old->nat_local;
	ns->nat_remote = old->nat_remote;
	ns->encap = old->encap;
	ns->peer_frag = old->peer_frag;
	memcpy(ns->peer_hashes, old->peer_hashes, sizeof(ns->peer_hashes));
	ns->npeer_hashes = old->npeer_hashes;
	memcpy(ns->peer_auth, old->peer_auth, sizeof(ns->peer_auth));
	memcpy(ns->me_id, old->me_id, sizeof(ns->me_id));
	memcpy(ns->peer_id, old->peer_id, sizeof(ns->peer_id));
	ns->peer_by_cert = old->peer_by_cert;
	ns->dh_group = group;
	memcpy(ns->ni, ni, ni_len);
	ns->ni_len = ni_len;
	memcpy(ns->nr, nr, nr_len);
	ns->nr_len = nr_len;
	uint8_t si[8], sr[8];
	ike_spi_bytes(ns->spi_i, si);
	ike_spi_bytes(ns->spi_r, sr);
	struct ike_nonces n = { ni, nr, ni_len, nr_len };
	if (!ike_suite_of(c, &ns->suite) ||
	    !ike_sa_keys_rekey(&ns->keys, &old->keys, &ns->suite, &n, g_ir, g_ir_len, si, sr,
	                       e->policy.allow_legacy, why) ||
	    !ike_sa_arm(e, ns, why)) {
		if (!*why)
			*why = "unsupported transform chosen";
		ikesa_kill(e, ns);
		return NULL;
	}
	ns->children = old->children;
	old->children = NULL;
	old->rekeyed = true;
	old->rekeyed_ms = e->now_ms;
	ns->last_rx_ms = e->now_ms;
	ikesa_established(e, ns);
	e->stats.rekeys++;
	ike_log(e, LOG_NOTICE, "IKE SA rekeyed (%s): %016llx_i %016llx_r", ns->algs,
	        (unsigned long long)ns->spi_i, (unsigned long long)ns->spi_r);
	struct ike_event ev;
	ns->up_told = true;   /* the rekey event is its up */
	ike_event_fill(e, &ev, IKE_EVENT_IKE_REKEY, ns, NULL, NULL);
	ev.old_ike_spi_i = old->spi_i;
	ev.old_ike_spi_r = old->spi_r;
	ike_event_emit(e, &ev);
	return ns;
}

static enum ike_state ike_rekey_response(struct ike_engine *e, struct ike_ikesa *sa,
                                         const struct ike_message *m)
{
	struct ike_pending *p = sa->pend;
	struct ike_notify n;
	uint16_t err = ike_first_error(m, &n);
	const struct ike_payload *psa = ike_find(m, IKE_PL_SA), *pn = ike_find(m, IKE_PL_NONCE);
	struct ike_sa *theirs = malloc(sizeof(*theirs));
	uint8_t secret[IKE_SECRET_MAX];
	size_t slen = sizeof(secret);
	const char *why = NULL;
	char reason[160];
	struct ike_choice c;
	enum ike_state next = sa->state;
	if (err || !psa || !pn || !theirs) {
		if (err == IKE_N_TEMPORARY_FAILURE)
			ike_log(e, LOG_INFO, "IKE: the peer deferred our IKE SA rekey");
		else
			ike_fail(e, sa, NULL, STEP_INIT, "IKE SA rekey refused (error %u)", err);
		sa->retry_at_ms = e->now_ms + RETRY_MS;
		goto out;
	}
	ike_decode_sa(psa, theirs, NULL);
	struct ike_data nr;
	ike_decode_nonce(pn, &nr, NULL);
	if (theirs->count != 1 || theirs->prop[0].spi_size != 8 || get64(theirs->prop[0].spi) == 0 ||
	    !ike_select(&p->offer, theirs, &c, reason, sizeof(reason)) || c.dh != p->dh_group ||
	    !dh_secret(&p->dh, m, p->dh_group, secret, &slen, &why)) {
		ike_fail(e, sa, NULL, STEP_INIT, "IKE SA rekey: a bad answer (%s)",
		         why ? why : "a proposal we did not make");
		sa->retry_at_ms = e->now_ms + RETRY_MS;
		goto out;
	}
	if (!ike_rekey_make(e, sa, true, p->new_ike_spi, get64(theirs->prop[0].spi), &c,
	                    p->dh_group, p->nonce, sizeof(p->nonce), nr.data, nr.len, secret, slen,
	                    &why)) {
		ike_fail(e, sa, NULL, STEP_INIT, "IKE SA rekey: %s", why);
		sa->retry_at_ms = e->now_ms + RETRY_MS;
		goto out;
	}
	pending_free(sa);
	/* The old SA is done: delete it (its Child SAs live on in the new one). */
	info_delete_ike(e, sa);
	next = sa->state;
out:
	crypto_wipe(secret, sizeof(secret));
	free(theirs);
	pending_free(sa);
	return next;
}

enum ike_state create_response(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_rx *rx)
{
	if (!sa->pend)
		return sa->state;
	return sa->pend->kind == PEND_IKE_REKEY ? ike_rekey_response(e, sa, rx->m)
	                                        : child_rekey_response(e, sa, rx->m);
}

/* ---- responder ---- */

static void answer_error(struct ike_engine *e, struct ike_ikesa *sa, uint32_t mid, uint16_t type,
                         const void *data, size_t len)
{
	struct ike_writer w;
	ike_writer_scratch(e, &w);
	ike_put_notify_simple(&w, type, data, len);
	ike_send_response(e, sa, IKE_CREATE_CHILD_SA, mid, &w);
}

static enum ike_state ike_rekey_request(struct ike_engine *e, struct ike_ikesa *sa,
                                        const struct ike_rx *rx, const struct ike_sa *theirs)
{
	const struct ike_message *m = rx->m;
	struct ike_data ni;
	ike_decode_nonce(ike_find(m, IKE_PL_NONCE), &ni, NULL);
	if (sa->pend && sa->pend->kind == PEND_IKE_REKEY) {
		/* Both rekey the IKE SA: the higher nonce's request goes through. */
		if (ike_nonce_cmp(sa->pend->nonce, sizeof(sa->pend->nonce), ni.data, ni.len) > 0) {
			answer_error(e, sa, rx->mid, IKE_N_TEMPORARY_FAILURE, NULL, 0);
			return sa->state;
		}
	}
	if (sa->rekeyed) {
		answer_error(e, sa, rx->mid, IKE_N_TEMPORARY_FAILURE, NULL, 0);
		return sa->state;
	}
	struct ike_choice c;
	char reason[160];
	if (!ike_select(&e->ike_offer, theirs, &c, reason, sizeof(reason))) {
		answer_error(e, sa, rx->mid, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		ike_fail(e, sa, NULL, STEP_INIT, "IKE SA rekey: %s", reason);
		return sa->state;
	}
	const struct ike_proposal *tp = NULL;
	for (size_t i = 0; i < theirs->count; i++)
		if (theirs->prop[i].num == c.num && theirs->prop[i].protocol == IKE_PROTO_IKE)
			tp = &theirs->prop[i];
	const struct ike_payload *pke = ike_find(m, IKE_PL_KE);
	struct ike_ke ke;
	if (!tp || tp->spi_size != 8 || get64(tp->spi) == 0 || !pke || !ike_decode_ke(pke, &ke, NULL)) {
		answer_error(e, sa, rx->mid, IKE_N_INVALID_SYNTAX, NULL, 0);
		return sa->state;
	}
	if (ke.group != c.dh) {
		uint8_t g[2] = { (uint8_t)(c.dh >> 8), (uint8_t)c.dh };
		answer_error(e, sa, rx->mid, IKE_N_INVALID_KE_PAYLOAD, g, sizeof(g));
		return sa->state;
	}
	struct dh d;
	uint8_t nr[IKE_NONCE_LEN], secret[IKE_SECRET_MAX];
	size_t slen = sizeof(secret);
	const char *why = NULL;
	if (!ike_rand(e, nr, sizeof(nr)) || !dh_init(&d, c.dh, e->policy.allow_legacy, &why)) {
		answer_error(e, sa, rx->mid, IKE_N_TEMPORARY_FAILURE, NULL, 0);
		return sa->state;
	}
	uint64_t spi_r = 0;
	do {
		ike_rand(e, &spi_r, sizeof(spi_r));
	} while (ike_spi_in_use(e, spi_r));
	struct ike_writer w;
	ike_writer_scratch(e, &w);
	uint8_t spi[8];
	ike_spi_bytes(spi_r, spi);
	struct ike_transform xf[5];
	struct ike_proposal p;
	ike_choice_proposal(&c, spi, 8, xf, &p);
	ike_put_sa(&w, &p, 1);
	ike_put_nonce(&w, nr, sizeof(nr));
	ike_put_dh(&w, &d, c.dh);
	bool ok = dh_derive(&d, ke.data, ke.len, secret, &slen, &why);
	dh_free(&d);
	struct ike_ikesa *ns = NULL;
	if (ok)
		ns = ike_rekey_make(e, sa, false, spi_r, get64(tp->spi), &c, c.dh, ni.data, ni.len, nr,
		                    sizeof(nr), secret, slen, &why);
	crypto_wipe(secret, sizeof(secret));
	if (!ns) {
		answer_error(e, sa, rx->mid, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		ike_fail(e, sa, NULL, STEP_INIT, "IKE SA rekey: %s", why ? why : "?");
		return sa->state;
	}
	/* Our own rekey of this SA, if one is out, will be refused by the peer
	 * (it compares the same nonces): the old SA is now only waiting for
	 * its Delete. */
	ike_send_response(e, sa, IKE_CREATE_CHILD_SA, rx->mid, &w);
	return sa->state;
}

enum ike_state create_request(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_rx *rx)
{
	const struct ike_message *m = rx->m;
	const struct ike_payload *psa = ike_find(m, IKE_PL_SA), *pn = ike_find(m, IKE_PL_NONCE),
	                         *pi = ike_find(m, IKE_PL_TSI), *pr = ike_find(m, IKE_PL_TSR);
	if (!psa || !pn) {
		answer_error(e, sa, rx->mid, IKE_N_INVALID_SYNTAX, NULL, 0);
		return sa->state;
	}
	struct ike_sa *theirs = malloc(sizeof(*theirs));
	struct ike_offer *ours = malloc(sizeof(*ours));
	struct ike_ts *ts = malloc(4 * sizeof(*ts));
	uint8_t secret[IKE_SECRET_MAX];
	size_t slen = sizeof(secret);
	enum ike_state next = sa->state;
	if (!theirs || !ours || !ts) {
		answer_error(e, sa, rx->mid, IKE_N_TEMPORARY_FAILURE, NULL, 0);
		goto out;
	}
	ike_decode_sa(psa, theirs, NULL);
	if (theirs->count && theirs->prop[0].protocol == IKE_PROTO_IKE) {
		next = ike_rekey_request(e, sa, rx, theirs);
		goto out;
	}
	struct ike_notify rn;
	struct ike_child *old = NULL;
	if (ike_find_notify(m, IKE_N_REKEY_SA, &rn)) {
		if (rn.spi_size == 4)
			old = child_by_spi_out(sa, rn.protocol == IKE_PROTO_AH ? SA_PROTO_AH : SA_PROTO_ESP,
			                       get32(rn.spi));
		if (!old || old->delete_pending) {
			answer_error(e, sa, rx->mid, IKE_N_CHILD_SA_NOT_FOUND, NULL, 0);
			goto out;
		}
	}
	if (!pi || !pr) {
		answer_error(e, sa, rx->mid, IKE_N_INVALID_SYNTAX, NULL, 0);
		goto out;
	}
	/* A new Child SA (not a rekey) belongs to the rule the IKE SA was
	 * authenticated for; a rekey to the old SA's rule. */
	const struct ike_rule *r = ike_rule_by_id(e, old ? old->rule_id : sa->rule_id);
	char why[160] = "the rule is gone";
	ike_decode_ts(pi, &ts[0], NULL);
	ike_decode_ts(pr, &ts[1], NULL);
	const struct ike_rule *keep = sa->rule;
	sa->rule = r;
	bool ts_ok = r && child_pick_rule(e, sa, &ts[0], &ts[1], &ts[2], &ts[3], why, sizeof(why));
	sa->rule = keep;
	if (!ts_ok) {
		answer_error(e, sa, rx->mid, IKE_N_TS_UNACCEPTABLE, NULL, 0);
		ike_fail(e, sa, NULL, STEP_CHILD, "CREATE_CHILD_SA: %s", why);
		goto out;
	}
	/* PFS: the rule's choice; without qmpfs a peer's KE is still taken. */
	struct ike_choice c;
	const struct ike_payload *pke = ike_find(m, IKE_PL_KE);
	struct ike_ke ke = { 0 };
	if (pke)
		ike_decode_ke(pke, &ke, NULL);
	child_offer(e, r, ours, true);
	bool chosen = ike_select(ours, theirs, &c, why, sizeof(why));
	if (!chosen && !r->pfs) {
		ike_offer_from_qm(ours, &r->methods, pke ? ke.group : 0, e->policy.allow_legacy);
		chosen = ike_select(ours, theirs, &c, why, sizeof(why));
	}
	if (!chosen) {
		answer_error(e, sa, rx->mid, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		ike_fail(e, sa, NULL, STEP_CHILD, "CREATE_CHILD_SA for rule %s: %s", r->name, why);
		goto out;
	}
	if (c.dh && (!pke || ke.group != c.dh)) {
		uint8_t g[2] = { (uint8_t)(c.dh >> 8), (uint8_t)c.dh };
		answer_error(e, sa, rx->mid, IKE_N_INVALID_KE_PAYLOAD, g, sizeof(g));
		goto out;
	}
	bool transport = ike_find_notify(m, IKE_N_USE_TRANSPORT_MODE, NULL);
	if (!transport && !r->tunnel) {
		answer_error(e, sa, rx->mid, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		goto out;
	}
	const struct ike_proposal *tp = NULL;
	for (size_t i = 0; i < theirs->count; i++)
		if (theirs->prop[i].num == c.num && theirs->prop[i].protocol == c.protocol)
			tp = &theirs->prop[i];
	struct ike_data ni;
	ike_decode_nonce(pn, &ni, NULL);
	uint8_t nr[IKE_NONCE_LEN];
	struct dh d;
	bool dh_ok = false;
	const char *err = NULL;
	struct ike_writer w;
	ike_writer_scratch(e, &w);
	uint32_t spi_in = fresh_spi32(e);
	uint8_t spi[4];
	be32(spi, spi_in);
	struct ike_transform xf[5];
	struct ike_proposal p;
	ike_choice_proposal(&c, spi, 4, xf, &p);
	ike_put_sa(&w, &p, 1);
	if (!tp || tp->spi_size != 4 || get32(tp->spi) < 256 || !ike_rand(e, nr, sizeof(nr)) ||
	    (c.dh && !(dh_ok = dh_init(&d, c.dh, e->policy.allow_legacy, &err)))) {
		answer_error(e, sa, rx->mid, IKE_N_TEMPORARY_FAILURE, NULL, 0);
		goto out;
	}
	ike_put_nonce(&w, nr, sizeof(nr));
	if (c.dh) {
		ike_put_dh(&w, &d, c.dh);
		bool derived = dh_derive(&d, ke.data, ke.len, secret, &slen, &err);
		dh_free(&d);
		if (!derived) {
			answer_error(e, sa, rx->mid, IKE_N_INVALID_SYNTAX, NULL, 0);
			ike_fail(e, sa, NULL, STEP_CHILD, "CREATE_CHILD_SA: %s", err);
			goto out;
		}
	}
	ike_put_ts(&w, IKE_PL_TSI, &ts[2]);
	ike_put_ts(&w, IKE_PL_TSR, &ts[3]);
	if (!r->tunnel)
		ike_put_notify_simple(&w, IKE_N_USE_TRANSPORT_MODE, NULL, 0);
	struct child_params cp = {
		.rule = r, .choice = &c, .spi_in = spi_in, .spi_out = get32(tp->spi), .tsi = &ts[2],
		.tsr = &ts[3], .tunnel = r->tunnel, .we_initiated = false,
		.nonces = { ni.data, nr, ni.len, sizeof(nr) },
		.g_ir = c.dh ? secret : NULL, .g_ir_len = c.dh ? slen : 0, .standby = old != NULL,
	};
	struct ike_child *fresh = child_install(e, sa, &cp, why, sizeof(why));
	if (!fresh) {
		answer_error(e, sa, rx->mid, IKE_N_TEMPORARY_FAILURE, NULL, 0);
		ike_fail(e, sa, NULL, STEP_CHILD, "CREATE_CHILD_SA: %s", why);
		goto out;
	}
	if (old) {
		/* The peer deletes the old pair; until then it still receives. */
		old->replaced = true;
		e->stats.rekeys++;
		struct ike_event ev;
		ike_event_fill(e, &ev, IKE_EVENT_CHILD_REKEY, sa, fresh, NULL);
		ev.old_spi_in = old->spi_in;
		ev.old_spi_out = old->spi_out;
		ike_event_emit(e, &ev);
		struct ike_pending *own = sa->pend;
		if (own && own->kind == PEND_CHILD_REKEY && own->old_spi_in == old->spi_in) {
			/* Ours is out too: its answer settles which pair stays. */
			const uint8_t *lo = ni.data;
			size_t lo_len = ni.len;
			if (ike_nonce_cmp(nr, sizeof(nr), lo, lo_len) < 0) {
				lo = nr;
				lo_len = sizeof(nr);
			}
			memcpy(own->peer_nonce, lo, lo_len);
			own->peer_nonce_len = lo_len;
			own->collided = true;
		}
	}
	ike_send_response(e, sa, IKE_CREATE_CHILD_SA, rx->mid, &w);
out:
	crypto_wipe(secret, sizeof(secret));
	free(theirs);
	free(ours);
	free(ts);
	return next;
}

/* ---- what is due ---- */

void rekey_work(struct ike_engine *e, struct ike_ikesa *sa)
{
	if (sa->state != IKE_S_ESTABLISHED || sa->req_out || sa->rekeyed)
		return;
	if (sa->redundant) {
		info_delete_ike(e, sa);
		return;
	}
	for (struct ike_child *c = sa->children; c; c = c->next)
		if (c->delete_pending) {
			info_delete_child(e, sa, c);
			return;
		}
	if (e->now_ms < sa->retry_at_ms)
		return;
	for (struct ike_child *c = sa->children; c; c = c->next)
		if (!c->replaced && !c->rekeying && c->rekey_at_ms && e->now_ms >= c->rekey_at_ms) {
			/* qmpermm: this IKE SA has negotiated its share of Child
			 * SAs; the IKE SA is rekeyed first (fresh keying material,
			 * Windows' master key PFS when the limit is 1), and the
			 * Child SA rekey follows under the new one, which the
			 * children move to. */
			const struct ike_rule *r = sa->rule;
			if (r && r->qm_per_mm && sa->quick_modes >= r->qm_per_mm) {
				ike_log(e, LOG_INFO, "IKE: %u Child SAs under this IKE SA (qmpermm %u): "
				        "the IKE SA is rekeyed first", sa->quick_modes, r->qm_per_mm);
				ike_rekey_start(e, sa);
				return;
			}
			child_rekey_start(e, sa, c);
			return;
		}
	if (sa->rekey_at_ms && e->now_ms >= sa->rekey_at_ms)
		ike_rekey_start(e, sa);
}
