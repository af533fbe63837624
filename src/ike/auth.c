/*
 * IKE_AUTH (RFC 7296 §1.2, §2.15): each side proves who it is over the
 * IKE_SA_INIT messages, and the first Child SA rides along. Identities are
 * the IP addresses, as Windows uses them with pre-shared keys
 * (ID_IPV4_ADDR / ID_IPV6_ADDR); the rule's authentication methods are
 * tried in the rule's order.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "ike/sa.h"

#define KEY_PAD "Key Pad for IKEv2"

/* The ID payload body (type, 3 reserved octets, data) for our address. */
static size_t id_body(const struct ike_addr *a, uint8_t out[20])
{
	size_t alen = a->family == AF_INET ? 4 : 16;
	memset(out, 0, 4);
	out[0] = a->family == AF_INET ? IKE_ID_IPV4_ADDR : IKE_ID_IPV6_ADDR;
	memcpy(out + 4, a->bytes, alen);
	return 4 + alen;
}

/*
 * AUTH for a shared key (§2.15): prf(prf(key, "Key Pad for IKEv2"),
 * <message> | <peer's nonce> | prf(SK_p, <ID body>)), where the message is
 * the signer's IKE_SA_INIT and the nonce the other side's. of_initiator:
 * the initiator's AUTH (SK_pi) or the responder's (SK_pr).
 */
static bool psk_auth(const struct ike_ikesa *sa, const char *psk, bool of_initiator,
                     const uint8_t *idb, size_t idlen, uint8_t out[PRF_MAX_LEN], size_t *outlen)
{
	enum crypto_prf alg = sa->suite.prf;
	size_t plen = crypto_prf_info(alg)->len;
	const struct ike_key *skp = of_initiator ? &sa->keys.pi : &sa->keys.pr;
	const uint8_t *msg = of_initiator ? sa->init_i : sa->init_r;
	size_t msglen = of_initiator ? sa->init_i_len : sa->init_r_len;
	const uint8_t *nonce = of_initiator ? sa->nr : sa->ni;
	size_t nlen = of_initiator ? sa->nr_len : sa->ni_len;
	if (!msg)
		return false;
	uint8_t *buf = malloc(msglen + nlen + plen);
	uint8_t key[PRF_MAX_LEN];
	bool ok = buf && prf(alg, skp->octets, skp->len, idb, idlen, buf + msglen + nlen) &&
	          prf(alg, (const uint8_t *)psk, strlen(psk), (const uint8_t *)KEY_PAD,
	              strlen(KEY_PAD), key);
	if (ok) {
		memcpy(buf, msg, msglen);
		memcpy(buf + msglen, nonce, nlen);
		ok = prf(alg, key, plen, buf, msglen + nlen + plen, out);
		*outlen = plen;
	}
	crypto_wipe(key, sizeof(key));
	free(buf);
	return ok;
}

/* The first method of the rule that IKEv2 in secpol can use; NULL and why. */
const struct auth_method *auth_usable(const struct ike_rule *r, const char **why)
{
	bool kerberos = false, cert = false;
	for (size_t i = 0; i < r->auth.n; i++) {
		switch (r->auth.m[i].kind) {
		case AUTH_PSK:
			return &r->auth.m[i];
		case AUTH_KERBEROS:
			kerberos = true;
			break;
		case AUTH_CERT:
			cert = true;
			break;
		}
	}
	*why = kerberos && !cert ? "the rule authenticates with Kerberos only, which secpol does not support"
	       : cert ? "certificate authentication is not available yet"
	              : "the rule has no authentication method";
	return NULL;
}

static const struct auth_method *psk_of(const struct ike_rule *r)
{
	for (size_t i = 0; i < r->auth.n; i++)
		if (r->auth.m[i].kind == AUTH_PSK)
			return &r->auth.m[i];
	return NULL;
}

/* Whether an ID payload names addr (Windows: peers are known by address). */
static bool id_is_addr(const struct ike_id *id, const struct ike_addr *addr)
{
	size_t alen = addr->family == AF_INET ? 4 : 16;
	uint8_t want = addr->family == AF_INET ? IKE_ID_IPV4_ADDR : IKE_ID_IPV6_ADDR;
	return id->type == want && id->len == alen && memcmp(id->data, addr->bytes, alen) == 0;
}

static void id_text(const struct ike_id *id, char *buf, size_t len)
{
	if (id->type == IKE_ID_IPV4_ADDR && id->len == 4)
		snprintf(buf, len, "%u.%u.%u.%u", id->data[0], id->data[1], id->data[2], id->data[3]);
	else if (id->type == IKE_ID_FQDN || id->type == IKE_ID_RFC822_ADDR)
		snprintf(buf, len, "%.*s", (int)(id->len < 64 ? id->len : 64), (const char *)id->data);
	else
		snprintf(buf, len, "an identity of type %u", id->type);
}

static void put_ts_pair(struct ike_writer *w, const struct ike_ts *tsi, const struct ike_ts *tsr)
{
	ike_put_ts(w, IKE_PL_TSI, tsi);
	ike_put_ts(w, IKE_PL_TSR, tsr);
}

/* ---- initiator ---- */

enum ike_state auth_start(struct ike_engine *e, struct ike_ikesa *sa)
{
	const struct ike_rule *r = sa->rule;
	const char *why = NULL;
	const struct auth_method *am = r ? auth_usable(r, &why) : NULL;
	if (!am) {
		ike_fail(e, sa, NULL, STEP_AUTH, "%s", r ? why : "the rule is gone");
		return IKE_S_DEAD;
	}
	uint8_t idb[20], auth[PRF_MAX_LEN];
	size_t idlen = id_body(&sa->local, idb), alen = 0;
	if (!psk_auth(sa, am->value, true, idb, idlen, auth, &alen)) {
		ike_fail(e, sa, NULL, STEP_AUTH, "cannot compute AUTH");
		return IKE_S_DEAD;
	}
	child_offer(e, r, &sa->child_offer, false);
	if (!sa->child_offer.count) {
		ike_fail(e, sa, NULL, STEP_CHILD, "the rule has no security method IKEv2 can offer");
		return IKE_S_DEAD;
	}
	do {
		ike_rand(e, &sa->pending_spi, sizeof(sa->pending_spi));
	} while (sa->pending_spi < 256);   /* 1..255 are reserved (RFC 4303 §2.1) */
	uint8_t spi[4] = { (uint8_t)(sa->pending_spi >> 24), (uint8_t)(sa->pending_spi >> 16),
	                   (uint8_t)(sa->pending_spi >> 8), (uint8_t)sa->pending_spi };
	for (size_t i = 0; i < sa->child_offer.count; i++)
		memcpy(sa->child_offer.prop[i].spi, spi, 4);
	struct ike_ts tsi, tsr;
	child_ts_initiator(sa, r, &sa->trigger, &tsi, &tsr);

	struct ike_writer w;
	ike_writer_scratch(e, &w);
	struct ike_id id = { .type = idb[0], .data = idb + 4, .len = idlen - 4 };
	ike_put_id(&w, IKE_PL_IDI, &id);
	ike_put_notify_simple(&w, IKE_N_INITIAL_CONTACT, NULL, 0);
	struct ike_auth a = { .method = IKE_AUTH_PSK, .data = auth, .len = alen };
	ike_put_auth(&w, &a);
	ike_put_sa(&w, sa->child_offer.prop, sa->child_offer.count);
	put_ts_pair(&w, &tsi, &tsr);
	if (!r->tunnel)
		ike_put_notify_simple(&w, IKE_N_USE_TRANSPORT_MODE, NULL, 0);
	crypto_wipe(auth, sizeof(auth));
	if (!ike_send_request(e, sa, IKE_AUTH, &w)) {
		ike_fail(e, sa, NULL, STEP_AUTH, "cannot send IKE_AUTH");
		return IKE_S_DEAD;
	}
	return IKE_S_AUTH_I;
}

/* The error notification of an answer, or 0. */
static uint16_t error_of(const struct ike_message *m)
{
	for (size_t i = 0; i < m->count; i++) {
		struct ike_notify n;
		if (m->payload[i].type == IKE_PL_NOTIFY && ike_decode_notify(&m->payload[i], &n, NULL) &&
		    n.type < 16384)
			return n.type;
	}
	return 0;
}

/* The peer's AUTH payload checked against what the shared key gives. */
static bool verify_psk(const struct ike_ikesa *sa, const char *psk, bool of_initiator,
                       const struct ike_payload *pid, const struct ike_auth *a)
{
	uint8_t want[PRF_MAX_LEN];
	size_t wlen = 0;
	bool ok = a->method == IKE_AUTH_PSK &&
	          psk_auth(sa, psk, of_initiator, pid->body, pid->len, want, &wlen) &&
	          a->len == wlen && crypto_icv_equal(want, a->data, wlen);
	crypto_wipe(want, sizeof(want));
	return ok;
}

static void log_up(struct ike_engine *e, const struct ike_ikesa *sa)
{
	char peer[64] = "?";
	if (sa->remote.family == AF_INET)
		snprintf(peer, sizeof(peer), "%u.%u.%u.%u", sa->remote.bytes[0], sa->remote.bytes[1],
		         sa->remote.bytes[2], sa->remote.bytes[3]);
	ike_log(e, LOG_NOTICE, "IKE SA with %s established (%s, %s)%s", peer,
	        sa->initiator ? "initiator" : "responder", sa->algs,
	        sa->encap ? ", UDP-encapsulated" : "");
}

/* The Child SA half of an IKE_AUTH response. */
static void auth_child_response(struct ike_engine *e, struct ike_ikesa *sa,
                                const struct ike_message *m)
{
	const struct ike_rule *r = sa->rule;
	uint16_t err = error_of(m);
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
	if (theirs->count != 1 || theirs->prop[0].spi_size != 4 ||
	    !ike_select(&sa->child_offer, theirs, &c, why, sizeof(why))) {
		ike_fail(e, sa, NULL, STEP_CHILD, "the responder chose a Child SA proposal we did not make");
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
	const struct ike_payload *pid = ike_find(m, IKE_PL_IDR), *pa = ike_find(m, IKE_PL_AUTH);
	if (ike_find_notify(m, IKE_N_AUTHENTICATION_FAILED, NULL)) {
		e->stats.authentication_failures++;
		ike_fail(e, sa, NULL, STEP_AUTH,
		         "the responder refused our authentication (AUTHENTICATION_FAILED)");
		return IKE_S_DEAD;
	}
	if (!pid || !pa) {
		ike_fail(e, sa, NULL, STEP_AUTH, "the response lacks IDr or AUTH");
		return IKE_S_DEAD;
	}
	struct ike_id id;
	struct ike_auth a;
	ike_decode_id(pid, &id, NULL);
	ike_decode_auth(pa, &a, NULL);
	char who[80];
	id_text(&id, who, sizeof(who));
	if (!id_is_addr(&id, &sa->remote)) {
		e->stats.authentication_failures++;
		ike_fail(e, sa, NULL, STEP_AUTH, "the responder calls itself %s, not by its address", who);
		return IKE_S_DEAD;
	}
	const struct auth_method *am = sa->rule ? psk_of(sa->rule) : NULL;
	if (!am || !verify_psk(sa, am->value, false, pid, &a)) {
		e->stats.authentication_failures++;
		ike_fail(e, sa, NULL, STEP_AUTH,
		         a.method != IKE_AUTH_PSK
		                 ? "the responder authenticated with method %u, the rule with a pre-shared key"
		                 : "the responder's AUTH does not verify with the rule's pre-shared key (%u)",
		         a.method);
		return IKE_S_DEAD;
	}
	log_up(e, sa);
	auth_child_response(e, sa, m);
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
			    memcmp(sa->remote.bytes, keep->remote.bytes, 16) == 0)
				ikesa_kill(e, sa);
		}
}

/* The first rule (policy order) whose shared key verifies the peer's AUTH
 * and whose selectors admit its proposal; failing that, the first whose
 * key verifies (then the IKE SA comes up without a Child SA). */
struct auth_pick {
	const struct ike_rule *authed, *rule;
	struct ike_ts out_i, out_r;
	char why[160];
};

static void pick_rule(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_payload *pid,
                      const struct ike_auth *a, const struct ike_ts *tsi, const struct ike_ts *tsr,
                      struct auth_pick *pk)
{
	snprintf(pk->why, sizeof(pk->why), "no rule with a pre-shared key covers this peer");
	for (size_t i = 0; i < e->policy.nrules; i++) {
		const struct ike_rule *r = &e->rules[i];
		const struct auth_method *am = psk_of(r);
		if (!am || !verify_psk(sa, am->value, true, pid, a))
			continue;
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
	if (!pk->authed && a->method != IKE_AUTH_PSK)
		snprintf(pk->why, sizeof(pk->why),
		         "the initiator authenticated with method %u; secpol's rules use pre-shared keys",
		         a->method);
	else if (!pk->authed)
		snprintf(pk->why, sizeof(pk->why),
		         "the initiator's AUTH verifies with no rule's pre-shared key");
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
	if (!tp || tp->spi_size != 4) {
		ike_put_notify_simple(w, IKE_N_INVALID_SYNTAX, NULL, 0);
		goto out;
	}
	uint32_t spi_out = (uint32_t)tp->spi[0] << 24 | (uint32_t)tp->spi[1] << 16 |
	                   (uint32_t)tp->spi[2] << 8 | tp->spi[3];
	uint32_t spi_in = 0;
	while (spi_in < 256)
		ike_rand(e, &spi_in, sizeof(spi_in));
	struct child_params cp = {
		.rule = r, .choice = &c, .spi_in = spi_in, .spi_out = spi_out, .tsi = &pk->out_i,
		.tsr = &pk->out_r, .tunnel = r->tunnel, .we_initiated = false,
		.nonces = { sa->ni, sa->nr, sa->ni_len, sa->nr_len },
	};
	if (!child_install(e, sa, &cp, why, sizeof(why))) {
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
	struct ike_id id;
	struct ike_auth a;
	ike_decode_id(pid, &id, NULL);
	ike_decode_auth(pa, &a, NULL);
	struct auth_pick *pk = calloc(1, sizeof(*pk));
	struct ike_ts *ts = malloc(2 * sizeof(*ts));
	enum ike_state next = IKE_S_DEAD;
	if (!pk || !ts)
		goto out;
	if (pi && pr) {
		ike_decode_ts(pi, &ts[0], NULL);
		ike_decode_ts(pr, &ts[1], NULL);
	}
	char who[80];
	id_text(&id, who, sizeof(who));
	if (!id_is_addr(&id, &sa->remote)) {
		e->stats.authentication_failures++;
		ike_put_notify_simple(&w, IKE_N_AUTHENTICATION_FAILED, NULL, 0);
		ike_send_response(e, sa, IKE_AUTH, rx->mid, &w);
		ike_fail(e, sa, NULL, STEP_AUTH,
		         "the initiator calls itself %s; a pre-shared key peer must use its address", who);
		goto out;
	}
	pick_rule(e, sa, pid, &a, pi && pr ? &ts[0] : NULL, pi && pr ? &ts[1] : NULL, pk);
	if (!pk->authed) {
		e->stats.authentication_failures++;
		ike_put_notify_simple(&w, IKE_N_AUTHENTICATION_FAILED, NULL, 0);
		ike_send_response(e, sa, IKE_AUTH, rx->mid, &w);
		ike_fail(e, sa, NULL, STEP_AUTH, "authentication failed: %s", pk->why);
		goto out;
	}
	sa->rule_id = sa->rule->id;
	/* Our AUTH, with the key of the rule that authenticated the peer. */
	uint8_t idb[20], auth[PRF_MAX_LEN];
	size_t idlen = id_body(&sa->local, idb), alen = 0;
	if (!psk_auth(sa, psk_of(sa->rule)->value, false, idb, idlen, auth, &alen))
		goto out;
	struct ike_id mine = { .type = idb[0], .data = idb + 4, .len = idlen - 4 };
	ike_put_id(&w, IKE_PL_IDR, &mine);
	struct ike_auth ra = { .method = IKE_AUTH_PSK, .data = auth, .len = alen };
	ike_put_auth(&w, &ra);
	crypto_wipe(auth, sizeof(auth));
	if (ike_find_notify(m, IKE_N_INITIAL_CONTACT, NULL))
		initial_contact(e, sa);
	auth_child_request(e, sa, m, pk, &w);
	if (!ike_send_response(e, sa, IKE_AUTH, rx->mid, &w)) {
		ike_fail(e, sa, NULL, STEP_AUTH, "cannot send the IKE_AUTH response");
		goto out;
	}
	log_up(e, sa);
	next = IKE_S_ESTABLISHED;
out:
	free(pk);
	free(ts);
	return next;
}
