/*
 * Chains: whom we trust (the peer's certificate against the rule's rootca=
 * CAs in the store), who we are (our host certificate for those CAs), and
 * the chain column of `cert show`. OpenSSL's X509_verify_cert does the
 * checking; this file chooses the trust anchors, the CRL policy, and turns
 * its error codes into a sentence that names the failed check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/sha.h>

#include "crypto/cert_internal.h"

#define PEER_CHAIN_MAX 16

/* OSSL_STACK_OF_X509_free is OpenSSL 3.2; Debian 12 has 3.0. */
static void chain_free(STACK_OF(X509) *chain)
{
	sk_X509_pop_free(chain, X509_free);
}

static bool is_anchor(const struct cert *c, const char *const *rootcas, size_t nroots)
{
	if (!cert_is_ca(c))
		return false;
	if (nroots == 0)
		return cert_self_signed(c);
	for (size_t i = 0; i < nroots; i++)
		if (rootcas[i] && cert_name_matches(c, rootcas[i]))
			return true;
	return false;
}

static void join_roots(const char *const *rootcas, size_t nroots, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < nroots && used + 1 < len; i++) {
		int n = snprintf(buf + used, len - used, "%s'%s'", i ? ", " : "", rootcas[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* Which CRL errors a mode forgives: SOFT all but a revocation, STRICT none;
 * both forgive a missing CRL for the trust anchor itself (no CA publishes
 * one about itself, and the anchor is trusted by being in the store). */
static bool crl_unavailable(int err)
{
	switch (err) {
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
	case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
	case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
	case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
	case X509_V_ERR_DIFFERENT_CRL_SCOPE:
	case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
	case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
		return true;
	default:
		return false;
	}
}

static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
	if (ok)
		return 1;
	const enum cert_crl_mode *mode = X509_STORE_CTX_get_app_data(ctx);
	int err = X509_STORE_CTX_get_error(ctx);
	if (!crl_unavailable(err))
		return 0;
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx);
	if (err == X509_V_ERR_UNABLE_TO_GET_CRL && chain && depth == sk_X509_num(chain) - 1)
		return 1;
	return mode && *mode == CERT_CRL_SOFT;
}

static void time_text(const ASN1_TIME *t, char *buf, size_t len)
{
	time_t tt = (time_t)cert_asn1_time(t);
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "?");
}

/* X509_verify_cert's error as a cert_err naming the check and certificate. */
static bool verify_error(X509_STORE_CTX *ctx, struct cert_err *e)
{
	int err = X509_STORE_CTX_get_error(ctx);
	X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
	char subj[256] = "?", issuer[256] = "?", when[40];
	if (cur) {
		cert_name_text(X509_get_subject_name(cur), subj, sizeof(subj));
		cert_name_text(X509_get_issuer_name(cur), issuer, sizeof(issuer));
	}
	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		time_text(cur ? X509_get0_notAfter(cur) : NULL, when, sizeof(when));
		return cert_fail(e, CERT_E_EXPIRED, "expired: '%s' was valid until %s", subj, when);
	case X509_V_ERR_CERT_NOT_YET_VALID:
		time_text(cur ? X509_get0_notBefore(cur) : NULL, when, sizeof(when));
		return cert_fail(e, CERT_E_NOT_YET_VALID, "not yet valid: '%s' is valid from %s",
		                 subj, when);
	case X509_V_ERR_CERT_REVOKED:
		return cert_fail(e, CERT_E_REVOKED, "revoked: '%s' is on the CRL of '%s'", subj, issuer);
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
	case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
		return cert_fail(e, CERT_E_SIGNATURE, "signature: the signature on '%s' does not "
		                 "verify with the key of its issuer '%s'", subj, issuer);
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return cert_fail(e, CERT_E_UNTRUSTED, "untrusted root: the issuer '%s' of '%s' is "
		                 "neither a trusted root CA in the store nor a CA certificate that "
		                 "leads to one", issuer, subj);
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
		return cert_fail(e, CERT_E_UNTRUSTED, "untrusted root: '%s' is self-signed and not a "
		                 "trusted root CA here", subj);
	case X509_V_ERR_UNABLE_TO_GET_CRL:
		return cert_fail(e, CERT_E_NO_CRL, "no CRL: the store has no CRL from '%s' (the "
		                 "issuer of '%s'), and strict CRL checking needs one", issuer, subj);
	default:
		if (crl_unavailable(err))
			return cert_fail(e, CERT_E_CRL, "CRL: checking '%s' against the CRL of '%s': %s",
			                 subj, issuer, X509_verify_cert_error_string(err));
		return cert_fail(e, CERT_E_CHAIN, "chain: '%s': %s", subj,
		                 X509_verify_cert_error_string(err));
	}
}

/*
 * leaf against the store: trust anchors are the store's CAs named by rootcas
 * (every self-signed CA when nroots is 0), the other store certificates and
 * extra are candidate intermediates. *chain_out: the verified path, leaf
 * first, anchor last (the caller frees it).
 */
static bool verify(const struct cert_store *s, X509 *leaf, STACK_OF(X509) *extra,
                   const char *const *rootcas, size_t nroots, enum cert_crl_mode crl,
                   int64_t now, STACK_OF(X509) **chain_out, struct cert_err *e)
{
	X509_STORE *st = X509_STORE_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	size_t anchors = 0;
	bool partial = false, ok = false;
	if (!st || !untrusted || !crls || !ctx) {
		cert_fail(e, CERT_E_IO, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < s->ncerts; i++) {
		const struct cert *c = s->certs[i].c;
		if (is_anchor(c, rootcas, nroots)) {
			if (!X509_STORE_add_cert(st, c->x))
				goto nomem;
			anchors++;
			partial = partial || !cert_self_signed(c);
		} else if (!sk_X509_push(untrusted, c->x)) {
			goto nomem;
		}
	}
	for (int i = 0; extra && i < sk_X509_num(extra); i++)
		if (!sk_X509_push(untrusted, sk_X509_value(extra, i)))
			goto nomem;
	for (size_t i = 0; i < s->ncrls; i++)
		if (!sk_X509_CRL_push(crls, s->crls[i].crl))
			goto nomem;
	if (anchors == 0) {
		char list[256];
		join_roots(rootcas, nroots, list, sizeof(list));
		if (nroots)
			cert_fail(e, CERT_E_UNTRUSTED, "untrusted root: none of the root CAs %s is a CA "
			          "certificate in the store %s", list, s->dir);
		else
			cert_fail(e, CERT_E_UNTRUSTED, "untrusted root: the store %s has no root CA (a "
			          "self-signed CA certificate)", s->dir);
		goto out;
	}
	if (!X509_STORE_CTX_init(ctx, st, leaf, untrusted))
		goto nomem;
	X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(vp, now ? (time_t)now : time(NULL));
	/* 112-bit security: RSA and DH of 2048 bits or more, no SHA-1 or MD5
	 * signatures on certificates. */
	X509_VERIFY_PARAM_set_auth_level(vp, 2);
	unsigned long flags = partial ? X509_V_FLAG_PARTIAL_CHAIN : 0;
	if (crl != CERT_CRL_OFF) {
		flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
		X509_STORE_CTX_set0_crls(ctx, crls);
	}
	X509_VERIFY_PARAM_set_flags(vp, flags);
	X509_STORE_CTX_set_app_data(ctx, &crl);
	X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
	if (X509_verify_cert(ctx) != 1) {
		verify_error(ctx, e);
		goto out;
	}
	if (chain_out && !(*chain_out = X509_STORE_CTX_get1_chain(ctx)))
		goto nomem;
	ok = true;
	cert_ok(e);
	goto out;
nomem:
	cert_fail(e, CERT_E_IO, "out of memory");
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_CRL_free(crls);       /* the CRLs and certificates belong to the store */
	sk_X509_free(untrusted);
	X509_STORE_free(st);
	ERR_clear_error();
	return ok;
}

static void chain_top(STACK_OF(X509) *chain, char *buf, size_t len)
{
	int n = sk_X509_num(chain);
	buf[0] = '\0';
	if (n > 0)
		cert_name_text(X509_get_subject_name(sk_X509_value(chain, n - 1)), buf, len);
}

bool cert_store_chain_check(const struct cert_store *s, const struct cert *c, int64_t now,
                            char *root, size_t rootlen, struct cert_err *e)
{
	STACK_OF(X509) *chain = NULL;
	if (!verify(s, c->x, NULL, NULL, 0, CERT_CRL_SOFT, now, &chain, e))
		return false;
	chain_top(chain, root, rootlen);
	chain_free(chain);
	return true;
}

/* Better words for an untrusted chain: does it reach another store root? */
static void explain_untrusted(const struct cert_store *s, X509 *leaf, STACK_OF(X509) *extra,
                              const char *const *rootcas, size_t nroots, int64_t now,
                              struct cert_err *e)
{
	STACK_OF(X509) *chain = NULL;
	struct cert_err other;
	if (!verify(s, leaf, extra, NULL, 0, CERT_CRL_OFF, now, &chain, &other))
		return;
	char top[256], subj[256], list[256];
	chain_top(chain, top, sizeof(top));
	cert_name_text(X509_get_subject_name(leaf), subj, sizeof(subj));
	join_roots(rootcas, nroots, list, sizeof(list));
	cert_fail(e, CERT_E_UNTRUSTED, "untrusted root: the chain of '%s' ends at '%s', which is "
	          "not one of the trusted root CAs %s", subj, top, list);
	chain_free(chain);
}

bool cert_verify_peer(const struct cert_store *s, const struct cert *peer,
                      const struct cert_blob *chain, size_t nchain,
                      const char *const *rootcas, size_t nroots, enum cert_crl_mode crl,
                      int64_t now, struct cert_err *e)
{
	if (nchain > PEER_CHAIN_MAX)
		return cert_fail(e, CERT_E_CHAIN, "chain: the peer sent %zu intermediate "
		                 "certificates (at most %d)", nchain, PEER_CHAIN_MAX);
	STACK_OF(X509) *extra = sk_X509_new_null();
	if (!extra)
		return cert_fail(e, CERT_E_IO, "out of memory");
	bool ok = true;
	for (size_t i = 0; ok && i < nchain; i++) {
		const unsigned char *p = chain[i].der;
		X509 *x = chain[i].len && chain[i].len <= 65536
		          ? d2i_X509(NULL, &p, (long)chain[i].len) : NULL;
		if (!x || p != chain[i].der + chain[i].len || !sk_X509_push(extra, x)) {
			X509_free(x);
			ok = cert_fail(e, CERT_E_FORMAT, "the peer's intermediate certificate %zu is "
			               "not DER X.509", i + 1);
		}
	}
	ok = ok && verify(s, peer->x, extra, rootcas, nroots, crl, now, NULL, e);
	if (!ok && e && e->status == CERT_E_UNTRUSTED && nroots)
		explain_untrusted(s, peer->x, extra, rootcas, nroots, now, e);
	chain_free(extra);
	ERR_clear_error();
	return ok;
}

/* ---- our credential ------------------------------------------------------------------------ */

void cert_cred_free(struct cert_cred *c)
{
	if (!c)
		return;
	cert_free(c->cert);
	cert_key_free(c->key);
	for (size_t i = 0; i < c->nchain; i++)
		cert_free(c->chain[i]);
	memset(c, 0, sizeof(*c));
}

/* The key file must still be the certificate's: the store is a directory
 * anyone with root can edit. */
static bool cred_fill(const struct cert_store *s, const struct cert *c, STACK_OF(X509) *chain,
                      struct cert_cred *out, struct cert_err *e)
{
	memset(out, 0, sizeof(*out));
	EVP_PKEY *k = cert_store_load_key(s, c->fp, e);
	if (!k)
		return false;
	if (EVP_PKEY_eq(X509_get0_pubkey(c->x), k) != 1) {
		EVP_PKEY_free(k);
		char subj[256];
		cert_subject_text(c, subj, sizeof(subj));
		return cert_fail(e, CERT_E_KEY_MISMATCH, "the stored private key of '%s' is not "
		                 "its certificate's", subj);
	}
	out->key = cert_key_from_pkey(k);
	EVP_PKEY_free(k);                /* cert_key_from_pkey took its own reference */
	if (!out->key || !X509_up_ref(c->x) || !(out->cert = cert_wrap(c->x, e)))
		goto fail;
	int n = sk_X509_num(chain);
	for (int i = 1; i < n && out->nchain < CERT_CHAIN_MAX; i++) {
		X509 *x = sk_X509_value(chain, i);
		if (X509_get_extension_flags(x) & EXFLAG_SS)
			continue;          /* the root: the peer has it */
		if (!X509_up_ref(x) || !(out->chain[out->nchain] = cert_wrap(x, e)))
			goto fail;
		out->nchain++;
	}
	chain_top(chain, out->root, sizeof(out->root));
	return true;
fail:
	cert_cred_free(out);
	return cert_fail(e, CERT_E_IO, "out of memory");
}

/* Of the host certificates that reach root, the one valid longest. */
static const struct cert *best_for_root(const struct cert_store *s, const char *root,
                                        int64_t now, STACK_OF(X509) **chain,
                                        struct cert_err *first)
{
	const struct cert *best = NULL;
	int64_t best_end = 0;
	for (size_t i = 0; i < s->ncerts; i++) {
		const struct cert *c = s->certs[i].c;
		if (!s->certs[i].has_key || cert_is_ca(c))
			continue;
		STACK_OF(X509) *ch = NULL;
		struct cert_err e;
		if (!verify(s, c->x, NULL, &root, 1, CERT_CRL_OFF, now, &ch, &e)) {
			/* The reason to report: a certificate under this root that
			 * failed (expired ...) says more than one under another root. */
			if (first->status == CERT_OK ||
			    (first->status == CERT_E_UNTRUSTED && e.status != CERT_E_UNTRUSTED))
				*first = e;
			continue;
		}
		int64_t end = cert_asn1_time(X509_get0_notAfter(c->x));
		if (!best || end > best_end || (end == best_end && strcmp(c->fp, best->fp) < 0)) {
			chain_free(*chain);
			*chain = ch;
			best = c;
			best_end = end;
		} else {
			chain_free(ch);
		}
	}
	return best;
}

bool cert_select_host(const struct cert_store *s, const char *const *rootcas, size_t nroots,
                      int64_t now, struct cert_cred *out, struct cert_err *e)
{
	struct cert_err first = { CERT_OK, "" };
	memset(out, 0, sizeof(*out));
	size_t known = 0;
	for (size_t r = 0; r < nroots; r++) {
		STACK_OF(X509) *chain = NULL;
		bool present = false;
		for (size_t i = 0; i < s->ncerts && !present; i++)
			present = is_anchor(s->certs[i].c, &rootcas[r], 1);
		if (!present)
			continue;
		known++;
		const struct cert *c = best_for_root(s, rootcas[r], now, &chain, &first);
		if (!c)
			continue;
		bool ok = cred_fill(s, c, chain, out, e);
		chain_free(chain);
		if (ok)
			cert_ok(e);
		return ok;
	}
	char list[256];
	join_roots(rootcas, nroots, list, sizeof(list));
	if (!known)
		return cert_fail(e, CERT_E_NOT_FOUND, "none of the root CAs %s is a CA certificate in "
		                 "the store %s", nroots ? list : "(none given)", s->dir);
	return cert_fail(e, CERT_E_NOT_FOUND, "no host certificate with a private key in %s "
	                 "chains to %s%s%s", s->dir, nroots ? list : "a root CA",
	                 first.status != CERT_OK ? "; " : "", first.msg);
}

size_t cert_store_ca_keyids(const struct cert_store *s, const char *const *rootcas,
                            size_t nroots, uint8_t (*out)[20], size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < s->ncerts; i++) {
		const struct cert *c = s->certs[i].c;
		unsigned char *spki = NULL;
		if (!is_anchor(c, rootcas, nroots))
			continue;
		int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c->x), &spki);
		if (len <= 0)
			continue;
		uint8_t md[20];
		SHA1(spki, (size_t)len, md);
		OPENSSL_free(spki);
		bool dup = false;
		for (size_t k = 0; k < n && k < max; k++)
			dup = dup || !memcmp(out[k], md, 20);
		if (dup)
			continue;
		if (n < max)
			memcpy(out[n], md, 20);
		n++;
	}
	ERR_clear_error();
	return n < max ? n : max;
}
