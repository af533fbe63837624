/*
 * Proofs of identity in IKE_AUTH (RFC 7296 §2.15, §3.5-3.8; RFC 7427):
 * what each side calls itself, the certificates it shows, and the AUTH
 * payload that binds both to the IKE_SA_INIT exchange -- with a shared key
 * or a signature -- and the checks of the peer's.
 *
 * Identities: with a pre-shared key, the IP address (as Windows does). With
 * a certificate, the IP address when the certificate vouches for it (an IP
 * subjectAltName), else the certificate's subject DN. A peer's identity must
 * be its address (shared key) or one its certificate vouches for.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ike/sa.h"

#define KEY_PAD "Key Pad for IKEv2"

/* The rule's rootca= strings, in the rule's order. */
static size_t rootcas_of(const struct ike_rule *r, const char **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < r->auth.n && n < max; i++)
		if (r->auth.m[i].kind == AUTH_CERT)
			out[n++] = r->auth.m[i].value;
	return n;
}

static const struct auth_method *psk_of(const struct ike_rule *r)
{
	for (size_t i = 0; i < r->auth.n; i++)
		if (r->auth.m[i].kind == AUTH_PSK)
			return &r->auth.m[i];
	return NULL;
}

/*
 * <message> | <other side's nonce> | prf(SK_p, <ID body>): what the AUTH of
 * one side covers (§2.15). Its own IKE_SA_INIT message, the peer's nonce.
 * malloc'd; NULL when the messages are gone or out of memory.
 */
static uint8_t *signed_octets(const struct ike_ikesa *sa, bool of_initiator, const uint8_t *idb,
                              size_t idlen, size_t *len)
{
	enum crypto_prf alg = sa->suite.prf;
	size_t plen = crypto_prf_info(alg)->len;
	const struct ike_key *skp = of_initiator ? &sa->keys.pi : &sa->keys.pr;
	const uint8_t *msg = of_initiator ? sa->init_i : sa->init_r;
	size_t msglen = of_initiator ? sa->init_i_len : sa->init_r_len;
	const uint8_t *nonce = of_initiator ? sa->nr : sa->ni;
	size_t nlen = of_initiator ? sa->nr_len : sa->ni_len;
	uint8_t *buf = msg ? malloc(msglen + nlen + plen) : NULL;
	if (!buf || !prf(alg, skp->octets, skp->len, idb, idlen, buf + msglen + nlen)) {
		free(buf);
		return NULL;
	}
	memcpy(buf, msg, msglen);
	memcpy(buf + msglen, nonce, nlen);
	*len = msglen + nlen + plen;
	return buf;
}

/* AUTH with a shared key: prf(prf(key, "Key Pad for IKEv2"), <octets>). */
static bool psk_auth(const struct ike_ikesa *sa, const char *psk, bool of_initiator,
                     const uint8_t *idb, size_t idlen, uint8_t out[PRF_MAX_LEN], size_t *outlen)
{
	enum crypto_prf alg = sa->suite.prf;
	size_t len = 0;
	uint8_t *octets = signed_octets(sa, of_initiator, idb, idlen, &len);
	uint8_t key[PRF_MAX_LEN];
	bool ok = octets &&
	          prf(alg, (const uint8_t *)psk, strlen(psk), (const uint8_t *)KEY_PAD,
	              strlen(KEY_PAD), key) &&
	          prf(alg, key, crypto_prf_info(alg)->len, octets, len, out);
	*outlen = crypto_prf_info(alg)->len;
	crypto_wipe(key, sizeof(key));
	free(octets);
	return ok;
}

static size_t addr_id(const struct ike_addr *a, uint8_t *out)
{
	size_t alen = a->family == AF_INET ? 4 : 16;
	memset(out, 0, 4);
	out[0] = a->family == AF_INET ? IKE_ID_IPV4_ADDR : IKE_ID_IPV6_ADDR;
	memcpy(out + 4, a->bytes, alen);
	return 4 + alen;
}

const struct auth_method *auth_usable(const struct ike_rule *r, const char **why)
{
	bool kerberos = false;
	for (size_t i = 0; i < r->auth.n; i++) {
		if (r->auth.m[i].kind == AUTH_PSK || r->auth.m[i].kind == AUTH_CERT)
			return &r->auth.m[i];
		kerberos = kerberos || r->auth.m[i].kind == AUTH_KERBEROS;
	}
	*why = kerberos ? "the rule authenticates with Kerberos only, which secpol does not support"
	                : "the rule has no authentication method";
	return NULL;
}

void proof_free(struct ike_proof *p)
{
	if (p->have_cred)
		cert_cred_free(&p->cred);
	p->have_cred = false;
}

/* An address identity as text (the monitor's "ID" of a pre-shared key SA). */
static void addr_id_text(const struct ike_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family, a->bytes, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

bool proof_prepare(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_rule *r,
                   bool want_cert, struct ike_proof *p, char *why, size_t whylen)
{
	memset(p, 0, sizeof(*p));
	const char *roots[POLICY_MAX_AUTH];
	size_t nroots = rootcas_of(r, roots, POLICY_MAX_AUTH);
	struct cert_err err = { 0 };
	bool cert_failed = false;
	/* The rule's methods in order; a responder answers a certificate with
	 * a certificate when it can. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < r->auth.n; i++) {
			const struct auth_method *m = &r->auth.m[i];
			bool cert = m->kind == AUTH_CERT;
			if (pass == 0 && want_cert != cert)
				continue;
			if (m->kind == AUTH_PSK) {
				p->method = IKE_AUTH_PSK;
				p->psk = m->value;
				p->idlen = addr_id(&sa->local, p->idb);
				addr_id_text(&sa->local, sa->me_id, sizeof(sa->me_id));
				return true;
			}
			if (!cert || cert_failed)
				continue;
			if (!e->policy.certs ||
			    !cert_select_host(e->policy.certs, roots, nroots, 0, &p->cred, &err)) {
				cert_failed = true;   /* one try covers every rootca= of the rule */
				continue;
			}
			p->have_cred = true;
			p->method = (uint8_t)cert_auth_method(p->cred.key, sa->npeer_hashes > 0);
			if (!p->method) {
				snprintf(why, whylen, "our certificate's key cannot sign for IKE");
				proof_free(p);
				return false;
			}
			/* Our address if the certificate vouches for it, else its subject. */
			size_t dlen = 0;
			const uint8_t *dn = cert_subject_der(p->cred.cert, &dlen);
			size_t alen = sa->local.family == AF_INET ? 4 : 16;
			uint8_t type = sa->local.family == AF_INET ? IKE_ID_IPV4_ADDR : IKE_ID_IPV6_ADDR;
			if (cert_matches_id(p->cred.cert, type, sa->local.bytes, alen)) {
				p->idlen = addr_id(&sa->local, p->idb);
				addr_id_text(&sa->local, sa->me_id, sizeof(sa->me_id));
			} else if (dlen + 4 <= sizeof(p->idb)) {
				memset(p->idb, 0, 4);
				p->idb[0] = IKE_ID_DER_ASN1_DN;
				memcpy(p->idb + 4, dn, dlen);
				p->idlen = dlen + 4;
				cert_subject_text(p->cred.cert, sa->me_id, sizeof(sa->me_id));
			} else {
				snprintf(why, whylen, "our certificate's subject is too long for an ID");
				proof_free(p);
				return false;
			}
			return true;
		}
	if (cert_failed)
		snprintf(why, whylen, "no host certificate for the rule's root CAs: %s", err.msg);
	else
		snprintf(why, whylen, "the rule has no authentication method secpol can use");
	return false;
}

bool proof_put(struct ike_engine *e, const struct ike_ikesa *sa, struct ike_proof *p,
               bool of_initiator, struct ike_writer *w, char *why, size_t whylen)
{
	(void)e;
	struct ike_id id = { .type = p->idb[0], .data = p->idb + 4, .len = p->idlen - 4 };
	ike_put_id(w, of_initiator ? IKE_PL_IDI : IKE_PL_IDR, &id);
	uint8_t auth[CERT_AUTH_MAX];
	size_t alen = sizeof(auth);
	if (p->method == IKE_AUTH_PSK) {
		if (!psk_auth(sa, p->psk, of_initiator, p->idb, p->idlen, auth, &alen)) {
			snprintf(why, whylen, "cannot compute AUTH");
			return false;
		}
	} else {
		size_t n = 0;
		const uint8_t *der = cert_der(p->cred.cert, &n);
		struct ike_cert c = { .encoding = IKE_CERT_X509_SIGNATURE, .data = der, .len = n };
		ike_put_cert(w, IKE_PL_CERT, &c);
		for (size_t i = 0; i < p->cred.nchain; i++) {
			c.data = cert_der(p->cred.chain[i], &c.len);
			ike_put_cert(w, IKE_PL_CERT, &c);
		}
		size_t len = 0;
		uint8_t *octets = signed_octets(sa, of_initiator, p->idb, p->idlen, &len);
		uint16_t hash = cert_pick_hash(p->cred.key, sa->peer_hashes, sa->npeer_hashes);
		struct cert_err err = { 0 };
		bool ok = octets && cert_sign(p->cred.key, p->method, hash, octets, len, auth, &alen, &err);
		free(octets);
		if (!ok) {
			snprintf(why, whylen, "cannot sign AUTH: %s", err.msg);
			return false;
		}
	}
	struct ike_auth a = { .method = p->method, .data = auth, .len = alen };
	ike_put_auth(w, &a);
	crypto_wipe(auth, sizeof(auth));
	return !w->err;
}

void proof_put_certreq(struct ike_engine *e, const struct ike_rule *r, struct ike_writer *w)
{
	const char *roots[POLICY_MAX_AUTH * 8];
	size_t nroots = 0;
	bool any = false;
	for (size_t k = 0; k < (r ? 1 : e->policy.nrules); k++) {
		const struct ike_rule *x = r ? r : &e->rules[k];
		size_t n = rootcas_of(x, roots + nroots, sizeof(roots) / sizeof(roots[0]) - nroots);
		nroots += n;
		any = any || n;
	}
	if (!any || !e->policy.certs)
		return;
	uint8_t ids[16][20];
	size_t n = cert_store_ca_keyids(e->policy.certs, roots, nroots, ids, 16);
	if (!n)
		return;
	struct ike_cert c = { .encoding = IKE_CERT_X509_SIGNATURE, .data = &ids[0][0], .len = n * 20 };
	ike_put_cert(w, IKE_PL_CERTREQ, &c);
}

bool proof_check(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_rule *r,
                 const struct ike_message *m, bool of_initiator, char *why, size_t whylen)
{
	const struct ike_payload *pid = ike_find(m, of_initiator ? IKE_PL_IDI : IKE_PL_IDR),
	                         *pa = ike_find(m, IKE_PL_AUTH);
	struct ike_id id;
	struct ike_auth a;
	if (!pid || !pa) {
		snprintf(why, whylen, "no %s or AUTH payload", of_initiator ? "IDi" : "IDr");
		return false;
	}
	ike_decode_id(pid, &id, NULL);
	ike_decode_auth(pa, &a, NULL);
	if (a.method == IKE_AUTH_PSK) {
		const struct auth_method *psk = psk_of(r);
		size_t alen = sa->remote.family == AF_INET ? 4 : 16;
		uint8_t want_type = sa->remote.family == AF_INET ? IKE_ID_IPV4_ADDR : IKE_ID_IPV6_ADDR;
		if (!psk) {
			snprintf(why, whylen, "rule %s does not allow a pre-shared key", r->name);
			return false;
		}
		/* Behind a NAT the peer's address is not the one it knows itself
		 * by: only the form is checked then. */
		if (id.type != want_type || id.len != alen ||
		    (!sa->nat_remote && memcmp(id.data, sa->remote.bytes, alen))) {
			snprintf(why, whylen, "the peer's identity is not its address, as a pre-shared key requires");
			return false;
		}
		uint8_t want[PRF_MAX_LEN];
		size_t wlen = 0;
		bool ok = psk_auth(sa, psk->value, of_initiator, pid->body, pid->len, want, &wlen) &&
		          a.len == wlen && crypto_icv_equal(want, a.data, wlen);
		crypto_wipe(want, sizeof(want));
		if (!ok)
			snprintf(why, whylen, "the peer's AUTH does not verify with the pre-shared key of rule %s",
			         r->name);
		else {
			snprintf(sa->peer_auth, sizeof(sa->peer_auth), "pre-shared key");
			addr_id_text(&sa->remote, sa->peer_id, sizeof(sa->peer_id));
			sa->peer_by_cert = false;
		}
		return ok;
	}
	/* A signature: the certificate, its chain to one of the rule's roots,
	 * the identity it vouches for, then the signature itself. */
	const char *roots[POLICY_MAX_AUTH];
	size_t nroots = rootcas_of(r, roots, POLICY_MAX_AUTH);
	if (!nroots) {
		snprintf(why, whylen, "rule %s does not allow certificates (method %u)", r->name, a.method);
		return false;
	}
	if (!e->policy.certs) {
		snprintf(why, whylen, "no certificate store");
		return false;
	}
	struct cert *peer = NULL;
	struct cert_blob chain[CERT_CHAIN_MAX];
	size_t nchain = 0;
	struct cert_err err = { 0 };
	for (size_t i = 0; i < m->count; i++) {
		struct ike_cert c;
		if (m->payload[i].type != IKE_PL_CERT || !ike_decode_cert(&m->payload[i], &c, NULL) ||
		    c.encoding != IKE_CERT_X509_SIGNATURE)
			continue;
		if (!peer) {
			if (!(peer = cert_from_der(c.data, c.len, &err))) {
				snprintf(why, whylen, "the peer's certificate: %s", err.msg);
				return false;
			}
		} else if (nchain < CERT_CHAIN_MAX) {
			chain[nchain++] = (struct cert_blob){ c.data, c.len };
		}
	}
	bool ok = false;
	size_t len = 0;
	uint8_t *octets = NULL;
	if (!peer) {
		snprintf(why, whylen, "the peer sent no X.509 certificate");
	} else if (!cert_verify_peer(e->policy.certs, peer, chain, nchain, roots, nroots,
	                             e->policy.crl, 0, &err)) {
		snprintf(why, whylen, "certificate: %s", err.msg);
	} else if (!cert_matches_id(peer, id.type, id.data, id.len)) {
		char subj[200];
		cert_subject_text(peer, subj, sizeof(subj));
		snprintf(why, whylen, "the peer's identity (type %u) is not vouched for by its certificate '%s'",
		         id.type, subj);
	} else if (!(octets = signed_octets(sa, of_initiator, pid->body, pid->len, &len))) {
		snprintf(why, whylen, "out of memory");
	} else if (!cert_verify(peer, a.method, a.data, a.len, octets, len, &err)) {
		snprintf(why, whylen, "the AUTH signature: %s", err.msg);
	} else {
		char subj[120], kt[24];
		cert_subject_text(peer, subj, sizeof(subj));
		cert_key_type(peer, kt, sizeof(kt));
		snprintf(sa->peer_auth, sizeof(sa->peer_auth), "certificate '%s' (%s)", subj, kt);
		cert_subject_text(peer, sa->peer_id, sizeof(sa->peer_id));
		sa->peer_by_cert = true;
		ok = true;
	}
	free(octets);
	cert_free(peer);
	return ok;
}

void proof_read_hashes(struct ike_ikesa *sa, const struct ike_message *m)
{
	struct ike_notify n;
	sa->npeer_hashes = 0;
	if (!ike_find_notify(m, IKE_N_SIGNATURE_HASH_ALGORITHMS, &n))
		return;
	for (size_t i = 0; i + 1 < n.len && sa->npeer_hashes < IKE_PEER_HASHES; i += 2)
		sa->peer_hashes[sa->npeer_hashes++] = (uint16_t)(n.data[i] << 8 | n.data[i + 1]);
}
