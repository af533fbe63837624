/*
 * IKE_AUTH (RFC 7296 §1.2, §2.15): each side proves who it is over the
 * IKE_SA_INIT messages (proof.c: pre-shared keys and certificates, in the
 * rule's order), and the first Child SA rides along.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "ike/sa.h"
#include "ike/ts.h"

static void put_ts_pair(struct ike_writer *w, const struct ike_ts *tsi, const struct ike_ts *tsr)
{
	ike_put_ts(w, IKE_PL_TSI, tsi);
	ike_put_ts(w, IKE_PL_TSR, tsr);
}

/* ---- initiator ---- */

enum ike_state auth_start(struct ike_engine *e, struct ike_ikesa *sa)
{
	const struct ike_rule *r = sa->rule;
	char why[256];
	struct ike_proof *pf = malloc(sizeof(*pf));
	enum ike_state next = IKE_S_DEAD;
	if (!r || !pf) {
		ike_fail(e, sa, NULL, STEP_AUTH, "%s", r ? "out of memory" : "the rule is gone");
		free(pf);
		return IKE_S_DEAD;
	}
	if (!proof_prepare(e, sa, r, false, pf, why, sizeof(why))) {
		ike_fail(e, sa, NULL, STEP_AUTH, "%s", why);
		free(pf);
		return IKE_S_DEAD;
	}
	free(sa->child_offer);
	if (!(sa->child_offer = malloc(sizeof(*sa->child_offer)))) {
		ike_fail(e, sa, NULL, STEP_AUTH, "out of memory");
		goto out;
	}
	child_offer(e, r, sa->child_offer, false);
	if (!sa->child_offer->count) {
		ike_fail(e, sa, NULL, STEP_CHILD, "the rule has no security method IKEv2 can offer");
		goto out;
	}
	do {
		ike_rand(e, &sa->pending_spi, sizeof(sa->pending_spi));
	} while (sa->pending_spi < 256);   /* 1..255 are reserved (RFC 4303 §2.1) */
	e->stats.total_get_spi++;
	uint8_t spi[4] = { (uint8_t)(sa->pending_spi >> 24), (uint8_t)(sa->pending_spi >> 16),
	                   (uint8_t)(sa->pending_spi >> 8), (uint8_t)sa->pending_spi };
	for (size_t i = 0; i < sa->child_offer->count; i++)
		memcpy(sa->child_offer->prop[i].spi, spi, 4);
	struct ike_ts tsi, tsr;
	child_ts_initiator(sa, r, &sa->trigger, &tsi, &tsr);

	struct ike_writer w;
	ike_writer_scratch(e, &w);
	if (!proof_put(e, sa, pf, true, &w, why, sizeof(why))) {
		ike_fail(e, sa, NULL, STEP_AUTH, "%s", why);
		goto out;
	}
	/* §2.4: only when this is the one IKE SA with the peer. */
	uint32_t *pc = ike_peer_count(e, &sa->remote);
	if (pc && *pc == 1)
		ike_put_notify_simple(&w, IKE_N_INITIAL_CONTACT, NULL, 0);
	if (pf->method != IKE_AUTH_PSK)
		proof_put_certreq(e, r, &w);
	ike_put_sa(&w, sa->child_offer->prop, sa->child_offer->count);
	put_ts_pair(&w, &tsi, &tsr);
	if (!r->tunnel)
		ike_put_notify_simple(&w, IKE_N_USE_TRANSPORT_MODE, NULL, 0);
	if (!ike_send_request(e, sa, IKE_AUTH, &w)) {
		ike_fail(e, sa, NULL, STEP_AUTH, "cannot send IKE_AUTH");
		goto out;
	}
	next = IKE_S_AUTH_I;
out:
	proof_free(pf);
	free(pf);
	return next;
}

static void log_up(struct ike_engine *e, const struct ike_ikesa *sa)
{
	char peer[64] = "?";
	if (!inet_ntop(sa->remote.family, sa->remote.bytes, peer, sizeof(peer)))
		snprintf(peer, sizeof(peer), "?");
	ike_log(e, LOG_NOTICE, "IKE SA with %s established (%s, %s)%s", peer,
	        sa->initiator ? "initiator" : "responder", sa->algs,
	        sa->encap ? ", UDP-encapsulated" : "");
}

/* The event log's IKE SA up: authenticated both ways, before its first
 * Child SA is installed (so the log reads in order). */
static void announce_up(struct ike_engine *e, struct ike_ikesa *sa)
{
	sa->up_told = true;
	ike_emit(e, IKE_EVENT_IKE_SA_UP, sa, NULL, NULL);
}

/* The Child SA half of an IKE_AUTH response. */
static void auth_child_response(struct ike_engine *e, struct ike_ikesa *sa,
                                const struct ike_message *m)
{
	const struct ike_rule *r = sa->rule;
	struct ike_notify n;
	uint16_t err = ike_first_error(m, &n);
	const struct ike_payload *psa = ike_find(m, IKE_PL_SA), *pi = ike_find(m, IKE_PL_TSI),
	                         *pr = ike_find(m, IKE_PL_TSR);
	if (err || !psa || !pi || !pr) {
		ike_fail(e, sa, NULL, STEP_CHILD, "the responder created no Child SA (%s)",
		         err == IKE_N_NO_PROPOSAL_CHOSEN ? "NO_PROPOSAL_CHOSEN"
		         : err == IKE_N_TS_UNACCEPTABLE  ? "TS_UNACCEPTABLE"
		         : err                           ? "an error notification"
		                                         : "no SA or selectors");
		return;
	}
	struct ike_sa *theirs = malloc(sizeof(*theirs));
	struct ike_ts *ts = malloc(2 * sizeof(*ts));
	struct ike_choice c;
	char why[160];
	if (!theirs || !ts || !r)
		goto out;
	ike_decode_sa(psa, theirs, NULL);
	ike_decode_ts(pi, &ts[0], NULL);
	ike_decode_ts(pr, &ts[1], NULL);
	/* SPIs 0..255 are reserved (RFC 4303 §2.1). */
	if (theirs->count != 1 || theirs->prop[0].spi_size != 4 ||
	    ((uint32_t)theirs->prop[0].spi[0] << 24 | (uint32_t)theirs->prop[0].spi[1] << 16 |
	     (uint32_t)theirs->prop[0].spi[2] << 8 | theirs->prop[0].spi[3]) < 256 ||
	    !sa->child_offer || !ike_select(sa->child_offer, theirs, &c, why, sizeof(why))) {
		ike_fail(e, sa, NULL, STEP_CHILD, "the responder chose a Child SA proposal we did not make");
		goto out;
	}
	/* §2.9: the responder may narrow our selectors, never widen them --
	 * the SA would carry (and accept) traffic the rule does not cover.
	 * What we offered is what auth_start() computed from the same SA. */
	struct ike_ts offered[2];
	child_ts_initiator(sa, r, &sa->trigger, &offered[0], &offered[1]);
	if (!ike_ts_subset(&ts[0], &offered[0]) || !ike_ts_subset(&ts[1], &offered[1])) {
		ike_fail(e, sa, NULL, STEP_CHILD,
		         "the responder's traffic selectors are not within the ones we proposed");
		goto out;
	}
	bool transport = ike_find_notify(m, IKE_N_USE_TRANSPORT_MODE, NULL);
	if (transport == r->tunnel) {
		ike_fail(e, sa, NULL, STEP_CHILD, "the responder wants %s mode, the rule %s mode",
		         transport ? "transport" : "tunnel", r->tunnel ? "tunnel" : "transport");
		goto out;
	}
	const uint8_t *s = theirs->prop[0].spi;
	uint32_t spi_out = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
	struct child_params cp = {
		.rule = r, .choice = &c, .spi_in = sa->pending_spi, .spi_out = spi_out,
		.tsi = &ts[0], .tsr = &ts[1], .tunnel = r->tunnel, .we_initiated = true,
		.nonces = { sa->ni, sa->nr, sa->ni_len, sa->nr_len },
	};
	if (!child_install(e, sa, &cp, why, sizeof(why)))
		ike_fail(e, sa, NULL, STEP_CHILD, "%s", why);
out:
	free(theirs);
	free(ts);
}

enum ike_state auth_response(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_rx *rx)
{
	const struct ike_message *m = rx->m;
	char why[256];
	if (ike_find_notify(m, IKE_N_AUTHENTICATION_FAILED, NULL)) {
		e->stats.authentication_failures++;
		ike_fail(e, sa, NULL, STEP_AUTH,
		         "the responder refused our authentication (AUTHENTICATION_FAILED)");
		return IKE_S_DEAD;
	}
	if (!sa->rule || !proof_check(e, sa, sa->rule, m, false, why, sizeof(why))) {
		e->stats.authentication_failures++;
		ike_fail(e, sa, NULL, STEP_AUTH, "the responder's authentication failed: %s",
		         sa->rule ? why : "the rule is gone");
		return IKE_S_DEAD;
	}
	log_up(e, sa);
	announce_up(e, sa);
	auth_child_response(e, sa, m);
	/* An IKE SA we opened for a Child SA that did not come: gone again
	 * (the next acquire tries afresh), else they would pile up. */
	if (!sa->children)
		sa->redundant = true;
	return IKE_S_ESTABLISHED;
}

/* ---- responder ---- */

/* §2.4: INITIAL_CONTACT -- the peer has rebooted; its old SAs are gone. */
static void initial_contact(struct ike_engine *e, struct ike_ikesa *keep)
{
	for (size_t b = 0; b < e->buckets; b++)
		for (struct ike_ikesa *sa = e->by_spi[b], *next; sa; sa = next) {
			next = sa->next_spi;
			if (sa != keep && sa->state == IKE_S_ESTABLISHED &&
			    sa->remote.family == keep->remote.family &&
			    memcmp(sa->remote.bytes, keep->remote.bytes, 16) == 0) {
				sa->down_reason = "the peer restarted (INITIAL_CONTACT)";
				ikesa_kill(e, sa);
			}
		}
}

/* The first rule (policy order) that authenticates the peer and whose
 * selectors admit its proposal; failing that, the first that authenticates
 * it (then the IKE SA comes up without a Child SA). */
struct auth_pick {
	const struct ike_rule *authed, *rule;
	struct ike_ts out_i, out_r;
	char why[256];
};

static void pick_rule(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_message *m,
                      const struct ike_ts *tsi, const struct ike_ts *tsr, struct auth_pick *pk)
{
	char first[256] = "";
	for (size_t i = 0; i < e->policy.nrules; i++) {
		const struct ike_rule *r = &e->rules[i];
		char why[256];
		if (!proof_check(e, sa, r, m, true, why, sizeof(why))) {
			if (!first[0])
				snprintf(first, sizeof(first), "%s", why);
			continue;
		}
		if (!pk->authed)
			pk->authed = r;
		if (!tsi || !tsr)
			continue;
		sa->rule = r;   /* child_pick_rule looks at one rule through sa */
		if (child_pick_rule(e, sa, tsi, tsr, &pk->out_i, &pk->out_r, pk->why, sizeof(pk->why))) {
			pk->rule = r;
			return;
		}
	}
	sa->rule = pk->authed;
	if (!pk->authed)
		snprintf(pk->why, sizeof(pk->why), "%s",
		         first[0] ? first : "no rule negotiates with this peer");
}

/* Builds our Child SA answer into w; false: none (the notification that
 * says why is in w). */
static bool auth_child_request(struct ike_engine *e, struct ike_ikesa *sa,
                               const struct ike_message *m, struct auth_pick *pk,
                               struct ike_writer *w)
{
	const struct ike_payload *psa = ike_find(m, IKE_PL_SA);
	if (!pk->rule || !psa) {
		ike_put_notify_simple(w, IKE_N_TS_UNACCEPTABLE, NULL, 0);
		ike_fail(e, sa, NULL, STEP_CHILD, "traffic selectors unacceptable: %s", pk->why);
		return false;
	}
	const struct ike_rule *r = pk->rule;
	bool ok = false;
	struct ike_sa *theirs = malloc(sizeof(*theirs));
	struct ike_offer *ours = malloc(sizeof(*ours));
	struct ike_choice c;
	char why[160];
	if (!theirs || !ours)
		goto out;
	ike_decode_sa(psa, theirs, NULL);
	child_offer(e, r, ours, false);
	if (!ike_select(ours, theirs, &c, why, sizeof(why))) {
		ike_put_notify_simple(w, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		ike_fail(e, sa, NULL, STEP_CHILD, "rule %s: %s", r->name, why);
		goto out;
	}
	bool transport = ike_find_notify(m, IKE_N_USE_TRANSPORT_MODE, NULL);
	if (!transport && !r->tunnel) {
		ike_put_notify_simple(w, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		ike_fail(e, sa, NULL, STEP_CHILD,
		         "rule %s: the initiator wants tunnel mode, the rule has no tunnel endpoint",
		         r->name);
		goto out;
	}
	const struct ike_proposal *tp = NULL;
	for (size_t i = 0; i < theirs->count; i++)
		if (theirs->prop[i].num == c.num && theirs->prop[i].protocol == c.protocol)
			tp = &theirs->prop[i];
	uint32_t spi_out = tp && tp->spi_size == 4
	                           ? (uint32_t)tp->spi[0] << 24 | (uint32_t)tp->spi[1] << 16 |
	                                     (uint32_t)tp->spi[2] << 8 | tp->spi[3]
	                           : 0;
	if (spi_out < 256) {   /* 0..255 are reserved (RFC 4303 §2.1) */
		ike_put_notify_simple(w, IKE_N_INVALID_SYNTAX, NULL, 0);
		goto out;
	}
	uint32_t spi_in = 0;
	struct child_params cp = {
		.rule = r, .choice = &c, .spi_out = spi_out, .tsi = &pk->out_i, .tsr = &pk->out_r,
		.tunnel = r->tunnel, .we_initiated = false,
		.nonces = { sa->ni, sa->nr, sa->ni_len, sa->nr_len },
	};
	/* A random inbound SPI may already be taken (the data path refuses a
	 * second SA with it): another one then, a few times. */
	bool installed = false;
	for (int tries = 0; tries < 4 && !installed; tries++) {
		spi_in = 0;
		while (spi_in < 256)
			ike_rand(e, &spi_in, sizeof(spi_in));
		e->stats.total_get_spi++;
		cp.spi_in = spi_in;
		installed = child_install(e, sa, &cp, why, sizeof(why)) != NULL;
	}
	if (!installed) {
		ike_put_notify_simple(w, IKE_N_TEMPORARY_FAILURE, NULL, 0);
		ike_fail(e, sa, NULL, STEP_CHILD, "%s", why);
		goto out;
	}
	uint8_t spi[4] = { (uint8_t)(spi_in >> 24), (uint8_t)(spi_in >> 16), (uint8_t)(spi_in >> 8),
	                   (uint8_t)spi_in };
	struct ike_transform xf[5];
	struct ike_proposal p;
	ike_choice_proposal(&c, spi, 4, xf, &p);
	ike_put_sa(w, &p, 1);
	put_ts_pair(w, &pk->out_i, &pk->out_r);
	if (!r->tunnel)
		ike_put_notify_simple(w, IKE_N_USE_TRANSPORT_MODE, NULL, 0);
	ok = true;
out:
	free(theirs);
	free(ours);
	return ok;
}

enum ike_state auth_request(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_rx *rx)
{
	const struct ike_message *m = rx->m;
	const struct ike_payload *pid = ike_find(m, IKE_PL_IDI), *pa = ike_find(m, IKE_PL_AUTH),
	                         *pi = ike_find(m, IKE_PL_TSI), *pr = ike_find(m, IKE_PL_TSR);
	struct ike_writer w;
	ike_writer_scratch(e, &w);
	if (!pid || !pa) {
		ike_put_notify_simple(&w, IKE_N_AUTHENTICATION_FAILED, NULL, 0);
		ike_send_response(e, sa, IKE_AUTH, rx->mid, &w);
		ike_fail(e, sa, NULL, STEP_AUTH, "IKE_AUTH without IDi or AUTH (EAP is not supported)");
		return IKE_S_DEAD;
	}
	struct ike_auth a;
	ike_decode_auth(pa, &a, NULL);
	struct auth_pick *pk = calloc(1, sizeof(*pk));
	struct ike_ts *ts = malloc(2 * sizeof(*ts));
	struct ike_proof *pf = calloc(1, sizeof(*pf));
	enum ike_state next = IKE_S_DEAD;
	char why[256];
	if (!pk || !ts || !pf)
		goto out;
	if (pi && pr) {
		ike_decode_ts(pi, &ts[0], NULL);
		ike_decode_ts(pr, &ts[1], NULL);
	}
	pick_rule(e, sa, m, pi && pr ? &ts[0] : NULL, pi && pr ? &ts[1] : NULL, pk);
	if (!pk->authed) {
		e->stats.authentication_failures++;
		ike_put_notify_simple(&w, IKE_N_AUTHENTICATION_FAILED, NULL, 0);
		ike_send_response(e, sa, IKE_AUTH, rx->mid, &w);
		ike_fail(e, sa, NULL, STEP_AUTH, "authentication failed: %s", pk->why);
		goto out;
	}
	sa->rule_id = sa->rule->id;
	/* Our proof, by the rule that authenticated the peer: a certificate
	 * answers a certificate when we have one. */
	if (!proof_prepare(e, sa, sa->rule, a.method != IKE_AUTH_PSK, pf, why, sizeof(why)) ||
	    !proof_put(e, sa, pf, false, &w, why, sizeof(why))) {
		ike_writer_scratch(e, &w);
		ike_put_notify_simple(&w, IKE_N_AUTHENTICATION_FAILED, NULL, 0);
		ike_send_response(e, sa, IKE_AUTH, rx->mid, &w);
		ike_fail(e, sa, NULL, STEP_AUTH, "cannot authenticate ourselves: %s", why);
		goto out;
	}
	if (ike_find_notify(m, IKE_N_INITIAL_CONTACT, NULL))
		initial_contact(e, sa);
	announce_up(e, sa);
	auth_child_request(e, sa, m, pk, &w);
	if (!ike_send_response(e, sa, IKE_AUTH, rx->mid, &w)) {
		ike_fail(e, sa, NULL, STEP_AUTH, "cannot send the IKE_AUTH response");
		goto out;
	}
	log_up(e, sa);
	next = IKE_S_ESTABLISHED;
out:
	if (pf)
		proof_free(pf);
	free(pf);
	free(pk);
	free(ts);
	return next;
}
