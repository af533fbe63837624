/*
 * IKE_SA_INIT (RFC 7296 §1.2): the proposals, the key exchange and the
 * nonces, from which both sides derive the IKE SA's keys; NAT detection
 * (§2.23) decides whether IKE moves to port 4500 and ESP into UDP. The
 * responder keeps no state for a request it refuses (wrong group, no
 * proposal): it answers with a bare notification.
 */
#include <netinet/in.h>
#include <openssl/evp.h>
#include <string.h>
#include <syslog.h>

#include "ike/sa.h"

static void put_spi(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

/* NAT_DETECTION_*_IP data: SHA-1(SPIi | SPIr | IP | port). */
static bool nat_hash(uint64_t spi_i, uint64_t spi_r, const struct ike_addr *a, uint8_t out[20])
{
	uint8_t buf[8 + 8 + 16 + 2];
	size_t alen = a->family == AF_INET ? 4 : 16;
	put_spi(buf, spi_i);
	put_spi(buf + 8, spi_r);
	memcpy(buf + 16, a->bytes, alen);
	buf[16 + alen] = (uint8_t)(a->port >> 8);
	buf[17 + alen] = (uint8_t)a->port;
	unsigned int n = 0;
	return EVP_Digest(buf, 18 + alen, out, &n, EVP_sha1(), NULL) == 1 && n == 20;
}

/* Our two NAT detection notifications. A forced encapsulation fakes the
 * source hash, so that the peer sees a NAT in front of us and both sides
 * move to port 4500 with ESP in UDP (what strongSwan's encap=yes does). */
static void put_nat_detection(struct ike_engine *e, const struct ike_ikesa *sa,
                              struct ike_writer *w, bool fake_source)
{
	uint8_t h[20];
	if (fake_source)
		ike_rand(e, h, sizeof(h));
	else
		nat_hash(sa->spi_i, sa->spi_r, &sa->local, h);
	ike_put_notify_simple(w, IKE_N_NAT_DETECTION_SOURCE_IP, h, sizeof(h));
	nat_hash(sa->spi_i, sa->spi_r, &sa->remote, h);
	ike_put_notify_simple(w, IKE_N_NAT_DETECTION_DESTINATION_IP, h, sizeof(h));
}

/* What the peer's NAT detection says (call it before the ports move): a
 * NAT in front of us when no
 * DESTINATION hash matches our address, in front of the peer when no SOURCE
 * hash matches its. No notification at all: no NAT-T (RFC 7296 §2.23). */
static void read_nat_detection(struct ike_ikesa *sa, const struct ike_message *m)
{
	uint8_t mine[20], theirs[20];
	bool any_src = false, any_dst = false, src_ok = false, dst_ok = false;
	/* The hashes cover the SPIs of the message that carries them: in a
	 * request, the responder's is still zero. */
	if (!nat_hash(m->hdr.spi_i, m->hdr.spi_r, &sa->local, mine) ||
	    !nat_hash(m->hdr.spi_i, m->hdr.spi_r, &sa->remote, theirs))
		return;
	for (size_t i = 0; i < m->count; i++) {
		struct ike_notify n;
		if (m->payload[i].type != IKE_PL_NOTIFY || !ike_decode_notify(&m->payload[i], &n, NULL))
			continue;
		if (n.type == IKE_N_NAT_DETECTION_SOURCE_IP) {
			any_src = true;
			src_ok = src_ok || (n.len == 20 && memcmp(n.data, theirs, 20) == 0);
		} else if (n.type == IKE_N_NAT_DETECTION_DESTINATION_IP) {
			any_dst = true;
			dst_ok = dst_ok || (n.len == 20 && memcmp(n.data, mine, 20) == 0);
		}
	}
	sa->nat_local = any_dst && !dst_ok;
	sa->nat_remote = any_src && !src_ok;
}

static void put_common_notifies(struct ike_writer *w)
{
	ike_put_notify_simple(w, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
	/* RFC 7427: the hashes we sign and verify with. */
	static const uint8_t hashes[] = { 0, IKE_HASH_SHA2_256, 0, IKE_HASH_SHA2_384,
	                                  0, IKE_HASH_SHA2_512 };
	ike_put_notify_simple(w, IKE_N_SIGNATURE_HASH_ALGORITHMS, hashes, sizeof(hashes));
}

static bool offer_has_dh(const struct ike_offer *o, uint16_t group)
{
	for (size_t i = 0; i < o->count; i++)
		for (size_t k = 0; k < o->prop[i].count; k++)
			if (o->prop[i].xf[k].type == IKE_XF_DH && o->prop[i].xf[k].id == group)
				return true;
	return false;
}

static bool fresh_dh(struct ike_engine *e, struct ike_ikesa *sa, uint16_t group, const char **why)
{
	if (sa->dh_ready)
		dh_free(&sa->dh);
	sa->dh_ready = dh_init(&sa->dh, group, e->policy.allow_legacy, why);
	sa->dh_group = group;
	return sa->dh_ready;
}

void ike_put_dh(struct ike_writer *w, const struct dh *d, uint16_t group)
{
	uint8_t pub[1024];
	size_t n = dh_public_len(group);
	if (n > sizeof(pub) || !dh_public(d, pub, n)) {
		w->err = true;
		w->why = "no public value";
		return;
	}
	struct ike_ke ke = { .group = group, .data = pub, .len = n };
	ike_put_ke(w, &ke);
}

static void put_ke(struct ike_writer *w, const struct ike_ikesa *sa)
{
	ike_put_dh(w, &sa->dh, sa->dh_group);
}

bool ike_suite_of(const struct ike_choice *c, struct ike_suite *s)
{
	return ike_enc_of(c->encr, c->key_length, &s->enc) && ike_prf_of(c->prf, &s->prf) &&
	       ike_mac_of(c->integ, &s->integ);
}

void ike_spi_bytes(uint64_t spi, uint8_t out[8])
{
	put_spi(out, spi);
}

bool ike_sa_arm(struct ike_engine *e, struct ike_ikesa *sa, const char **why)
{
	const struct ike_key *se = sa->initiator ? &sa->keys.ei : &sa->keys.er;
	const struct ike_key *sa_ = sa->initiator ? &sa->keys.ai : &sa->keys.ar;
	const struct ike_key *oe = sa->initiator ? &sa->keys.er : &sa->keys.ei;
	const struct ike_key *oa = sa->initiator ? &sa->keys.ar : &sa->keys.ai;
	if (!ike_sk_key_init(&sa->seal, sa->suite.enc, se->octets, se->len, sa->suite.integ,
	                     sa_->octets, sa_->len, true, e->policy.allow_legacy, why))
		return false;
	if (!ike_sk_key_init(&sa->open, sa->suite.enc, oe->octets, oe->len, sa->suite.integ,
	                     oa->octets, oa->len, false, e->policy.allow_legacy, why)) {
		ike_sk_key_free(&sa->seal);
		return false;
	}
	sa->keyed = true;
	const struct crypto_enc_info *ei = crypto_enc_info(sa->suite.enc);
	snprintf(sa->algs, sizeof(sa->algs), "%s/%s%s%s/DH%u", ei->name,
	         ei->aead ? "" : crypto_mac_info(sa->suite.integ)->name, ei->aead ? "" : "/",
	         crypto_prf_info(sa->suite.prf)->name, sa->dh_group);
	return true;
}

/* The suite of a chosen IKE proposal, the keys, and the SK keys of both
 * directions. */
static bool key_sa(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_choice *c,
                   const uint8_t *g_ir, size_t g_ir_len, const char **why)
{
	if (!ike_suite_of(c, &sa->suite)) {
		*why = "unsupported transform chosen";
		return false;
	}
	uint8_t spi_i[8], spi_r[8];
	put_spi(spi_i, sa->spi_i);
	put_spi(spi_r, sa->spi_r);
	struct ike_nonces n = { sa->ni, sa->nr, sa->ni_len, sa->nr_len };
	return ike_sa_keys_initial(&sa->keys, &sa->suite, &n, g_ir, g_ir_len, spi_i, spi_r,
	                           e->policy.allow_legacy, why) &&
	       ike_sa_arm(e, sa, why);
}

/* The shared secret from the peer's KE, then the keys. */
static bool derive(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_choice *c,
                   const struct ike_ke *ke, const char **why)
{
	uint8_t secret[IKE_SECRET_MAX];
	size_t slen = sizeof(secret);
	bool ok = dh_derive(&sa->dh, ke->data, ke->len, secret, &slen, why) &&
	          key_sa(e, sa, c, secret, slen, why);
	crypto_wipe(secret, sizeof(secret));
	dh_free(&sa->dh);
	sa->dh_ready = false;
	return ok;
}

/* ---- initiator ---- */

void init_start(struct ike_engine *e, struct ike_ikesa *sa)
{
	const char *why = NULL;
	if (!sa->offer && !(sa->offer = malloc(sizeof(*sa->offer)))) {
		ike_fail(e, sa, NULL, STEP_INIT, "out of memory");
		sa->state = IKE_S_DEAD;
		return;
	}
	if (sa->rule && sa->rule->mm.n)
		ike_offer_from_mm(sa->offer, &sa->rule->mm, e->policy.allow_legacy);
	else
		ike_offer_copy(sa->offer, &e->ike_offer);
	if (!sa->offer->count) {
		ike_fail(e, sa, NULL, STEP_INIT, "the policy has no IKE proposal secpol can offer");
		sa->state = IKE_S_DEAD;
		return;
	}
	if (!sa->dh_group)
		sa->dh_group = ike_offer_dh(sa->offer);
	if (!fresh_dh(e, sa, sa->dh_group, &why) ||
	    (!sa->ni_len && !ike_rand(e, sa->ni, IKE_NONCE_LEN))) {
		ike_fail(e, sa, NULL, STEP_INIT, "key exchange: %s", why ? why : "no randomness");
		sa->state = IKE_S_DEAD;
		return;
	}
	sa->ni_len = IKE_NONCE_LEN;
	sa->my_mid = 0;
	struct ike_writer w;
	ike_writer_scratch(e, &w);
	if (sa->cookie_len)   /* RFC 7296 §2.6: the COOKIE goes first */
		ike_put_notify_simple(&w, IKE_N_COOKIE, sa->cookie, sa->cookie_len);
	ike_put_sa(&w, sa->offer->prop, sa->offer->count);
	put_ke(&w, sa);
	ike_put_nonce(&w, sa->ni, sa->ni_len);
	put_nat_detection(e, sa, &w, sa->rule && sa->rule->force_encap);
	put_common_notifies(&w);
	if (!ike_send_request(e, sa, IKE_SA_INIT, &w)) {
		ike_fail(e, sa, NULL, STEP_INIT, "cannot send IKE_SA_INIT");
		sa->state = IKE_S_DEAD;
		return;
	}
	size_t n = 0;
	const uint8_t *first = ike_sent_first(&sa->req, &n);
	free(sa->init_i);
	sa->init_i = first ? malloc(n) : NULL;
	sa->init_i_len = sa->init_i ? n : 0;
	if (sa->init_i)
		memcpy(sa->init_i, first, n);
}

static const char *notify_name(uint16_t t)
{
	switch (t) {
	case IKE_N_NO_PROPOSAL_CHOSEN: return "NO_PROPOSAL_CHOSEN";
	case IKE_N_INVALID_KE_PAYLOAD: return "INVALID_KE_PAYLOAD";
	case IKE_N_AUTHENTICATION_FAILED: return "AUTHENTICATION_FAILED";
	case IKE_N_TS_UNACCEPTABLE: return "TS_UNACCEPTABLE";
	case IKE_N_INVALID_SYNTAX: return "INVALID_SYNTAX";
	case IKE_N_TEMPORARY_FAILURE: return "TEMPORARY_FAILURE";
	case IKE_N_NO_ADDITIONAL_SAS: return "NO_ADDITIONAL_SAS";
	case IKE_N_SINGLE_PAIR_REQUIRED: return "SINGLE_PAIR_REQUIRED";
	case IKE_N_INTERNAL_ADDRESS_FAILURE: return "INTERNAL_ADDRESS_FAILURE";
	case IKE_N_FAILED_CP_REQUIRED: return "FAILED_CP_REQUIRED";
	case IKE_N_INVALID_SELECTORS: return "INVALID_SELECTORS";
	default: return "an error";
	}
}

enum ike_state init_response(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_rx *rx)
{
	const struct ike_message *m = rx->m;
	struct ike_notify n;
	const char *why = NULL;
	if (ike_find_notify(m, IKE_N_COOKIE, &n)) {
		/* §2.6: once only per cookie value, else two responders
		 * bouncing cookies would loop us. */
		if (n.len < 1 || n.len > IKE_COOKIE_MAX ||
		    (sa->cookie_len == n.len && memcmp(sa->cookie, n.data, n.len) == 0)) {
			ike_fail(e, sa, NULL, STEP_INIT, "the responder's COOKIE is unusable");
			return IKE_S_DEAD;
		}
		memcpy(sa->cookie, n.data, n.len);
		sa->cookie_len = n.len;
		init_start(e, sa);
		return sa->state == IKE_S_DEAD ? IKE_S_DEAD : IKE_S_INIT_I;
	}
	uint16_t err = ike_first_error(m, &n);
	if (err == IKE_N_INVALID_KE_PAYLOAD) {
		uint16_t g = n.len == 2 ? (uint16_t)(n.data[0] << 8 | n.data[1]) : 0;
		if (!offer_has_dh(sa->offer, g) || g == sa->dh_group || ++sa->ke_retries > 2) {
			ike_fail(e, sa, NULL, STEP_INIT,
			         "the responder wants Diffie-Hellman group %u, which the policy does not offer",
			         g);
			return IKE_S_DEAD;
		}
		ike_log(e, LOG_INFO, "IKE: retrying with Diffie-Hellman group %u as the responder asks", g);
		sa->dh_group = g;
		init_start(e, sa);
		return sa->state == IKE_S_DEAD ? IKE_S_DEAD : IKE_S_INIT_I;
	}
	if (err) {
		ike_fail(e, sa, NULL, STEP_INIT, "the responder answered %s", notify_name(err));
		return IKE_S_DEAD;
	}
	struct ike_sa *theirs = malloc(sizeof(*theirs));
	struct ike_choice c;
	char reason[128];
	struct ike_ke ke;
	struct ike_data nr;
	const struct ike_payload *psa = ike_find(m, IKE_PL_SA), *pke = ike_find(m, IKE_PL_KE),
	                         *pn = ike_find(m, IKE_PL_NONCE);
	enum ike_state next = IKE_S_DEAD;
	if (!theirs || !psa || !pke || !pn || m->hdr.spi_r == 0) {
		ike_fail(e, sa, NULL, STEP_INIT, "the response lacks SA, KE, Nonce or the responder's SPI");
		goto out;
	}
	ike_decode_sa(psa, theirs, NULL);
	ike_decode_ke(pke, &ke, NULL);
	ike_decode_nonce(pn, &nr, NULL);
	if (theirs->count != 1 || !ike_select(sa->offer, theirs, &c, reason, sizeof(reason))) {
		ike_fail(e, sa, NULL, STEP_INIT, "the responder chose a proposal we did not make");
		goto out;
	}
	if (ke.group != sa->dh_group || c.dh != sa->dh_group) {
		ike_fail(e, sa, NULL, STEP_INIT, "the responder's KE is for group %u, not %u", ke.group,
		         sa->dh_group);
		goto out;
	}
	memcpy(sa->nr, nr.data, nr.len);
	sa->nr_len = nr.len;
	sa->spi_r = m->hdr.spi_r;
	if (!derive(e, sa, &c, &ke, &why)) {
		ike_fail(e, sa, NULL, STEP_INIT, "key derivation: %s", why);
		goto out;
	}
	free(sa->init_r);
	if (!(sa->init_r = malloc(rx->len)))
		goto out;
	memcpy(sa->init_r, rx->msg, rx->len);
	sa->init_r_len = rx->len;
	read_nat_detection(sa, m);
	sa->peer_frag = ike_find_notify(m, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL);
	proof_read_hashes(sa, m);
	sa->encap = sa->nat_local || sa->nat_remote || (sa->rule && sa->rule->force_encap);
	if (sa->encap) {
		/* §2.23: IKE continues on port 4500 once NAT is detected. */
		sa->natt = true;
		sa->local.port = IKE_NATT_PORT;
		sa->remote.port = IKE_NATT_PORT;
	}
	next = auth_start(e, sa);
out:
	free(theirs);
	return next;
}

/* ---- responder ---- */

void init_request(struct ike_engine *e, const struct ike_addr *local, const struct ike_addr *remote,
                  const struct ike_rx *rx)
{
	const struct ike_message *m = rx->m;
	const struct ike_header *h = &m->hdr;
	e->stats.total_receive++;
	struct ike_sa *theirs = malloc(sizeof(*theirs));
	struct ike_choice c;
	char reason[128];
	struct ike_ke ke;
	struct ike_data ni;
	const char *why = NULL;
	const struct ike_payload *psa = ike_find(m, IKE_PL_SA), *pke = ike_find(m, IKE_PL_KE),
	                         *pn = ike_find(m, IKE_PL_NONCE);
	if (!theirs || !psa || !pke || !pn) {
		e->stats.invalid_packets_received++;
		goto out;
	}
	ike_decode_sa(psa, theirs, NULL);
	ike_decode_ke(pke, &ke, NULL);
	ike_decode_nonce(pn, &ni, NULL);
	if (!ike_select(&e->ike_offer, theirs, &c, reason, sizeof(reason))) {
		ike_send_bare_notify(e, local, remote, h, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		ike_fail(e, NULL, remote, STEP_INIT, "%s", reason);
		goto out;
	}
	if (ke.group != c.dh) {
		/* §1.3: name the group we want; keep no state. */
		uint8_t g[2] = { (uint8_t)(c.dh >> 8), (uint8_t)c.dh };
		ike_send_bare_notify(e, local, remote, h, IKE_N_INVALID_KE_PAYLOAD, g, sizeof(g));
		ike_log(e, LOG_INFO, "IKE: asked the initiator for Diffie-Hellman group %u instead of %u",
		        c.dh, ke.group);
		goto out;
	}
	struct ike_ikesa *sa = ikesa_new(e, false, local, remote, 0);
	if (!sa) {
		ike_send_bare_notify(e, local, remote, h, IKE_N_TEMPORARY_FAILURE, NULL, 0);
		goto out;
	}
	sa->spi_i = h->spi_i;
	sa->state = IKE_S_INIT_R;
	ikesa_rehash(e, sa);
	sa->peer_mid = 1;
	memcpy(sa->ni, ni.data, ni.len);
	sa->ni_len = ni.len;
	sa->nr_len = IKE_NONCE_LEN;
	if (!ike_rand(e, sa->nr, sa->nr_len) || !fresh_dh(e, sa, c.dh, &why)) {
		ike_fail(e, sa, NULL, STEP_INIT, "key exchange: %s", why ? why : "no randomness");
		ikesa_kill(e, sa);
		goto out;
	}
	struct ike_writer w;
	ike_writer_scratch(e, &w);
	struct ike_transform xf[5];
	struct ike_proposal p;
	ike_choice_proposal(&c, NULL, 0, xf, &p);
	ike_put_sa(&w, &p, 1);
	put_ke(&w, sa);   /* before derive(), which frees the key pair */
	ike_put_nonce(&w, sa->nr, sa->nr_len);
	if (!derive(e, sa, &c, &ke, &why)) {
		ike_fail(e, sa, NULL, STEP_INIT, "key derivation: %s", why);
		ikesa_kill(e, sa);
		goto out;
	}
	read_nat_detection(sa, m);
	sa->peer_frag = ike_find_notify(m, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL);
	proof_read_hashes(sa, m);
	sa->encap = sa->nat_local || sa->nat_remote;
	put_nat_detection(e, sa, &w, false);
	put_common_notifies(&w);
	proof_put_certreq(e, NULL, &w);
	size_t n = 0;
	const uint8_t *sent = NULL;
	if (!ike_send_response(e, sa, IKE_SA_INIT, 0, &w) || !(sent = ike_sent_first(&sa->resp, &n))) {
		ikesa_kill(e, sa);
		goto out;
	}
	sa->init_i = malloc(rx->len);
	sa->init_r = malloc(n);
	if (!sa->init_i || !sa->init_r) {
		ikesa_kill(e, sa);
		goto out;
	}
	memcpy(sa->init_i, rx->msg, rx->len);
	sa->init_i_len = rx->len;
	memcpy(sa->init_r, sent, n);
	sa->init_r_len = n;
out:
	free(theirs);
}
