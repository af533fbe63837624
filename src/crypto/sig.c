/*
 * IKEv2 AUTH payload signatures (RFC 7296 §2.15, §3.8): RSA with SHA-1
 * (method 1), ECDSA on one curve with its hash and the r | s encoding of
 * RFC 4754 (methods 9, 10, 11), and RFC 7427 digital signatures (method
 * 14), which name their algorithm with an ASN.1 AlgorithmIdentifier in
 * front of the signature. Signing and verifying are EVP calls; this file
 * only chooses the algorithm and converts encodings, bounds-checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "crypto/cert_internal.h"

enum { HASH_SHA1 = 1, HASH_SHA256 = 2, HASH_SHA384 = 3, HASH_SHA512 = 4 };
enum { M_RSA = 1, M_ECDSA256 = 9, M_ECDSA384 = 10, M_ECDSA521 = 11, M_DIGITAL = 14 };

/* RFC 7427 Appendix A: the AlgorithmIdentifiers, DER. RSA carries NULL
 * parameters, ECDSA none (RFC 5758 §3.2). */
static const uint8_t alg_rsa256[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                      0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00 };
static const uint8_t alg_rsa384[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                      0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00 };
static const uint8_t alg_rsa512[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                      0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00 };
static const uint8_t alg_ec256[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
                                     0x04, 0x03, 0x02 };
static const uint8_t alg_ec384[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
                                     0x04, 0x03, 0x03 };
static const uint8_t alg_ec512[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
                                     0x04, 0x03, 0x04 };

struct cert_key *cert_key_from_pkey(EVP_PKEY *pkey)
{
	struct cert_key *k = pkey ? calloc(1, sizeof(*k)) : NULL;
	if (!k)
		return NULL;
	if (!EVP_PKEY_up_ref(pkey)) {
		free(k);
		return NULL;
	}
	k->pkey = pkey;
	return k;
}

void cert_key_free(struct cert_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);       /* OpenSSL clears the private value */
	free(k);
}

/* 256, 384 or 521 for the NIST curves, 0 for anything else. */
static int ec_bits(const EVP_PKEY *k)
{
	char type[32];
	if (!k || !EVP_PKEY_is_a(k, "EC"))
		return 0;
	cert_pkey_type(k, type, sizeof(type));
	return !strcmp(type, "ECDSA-P256") ? 256 : !strcmp(type, "ECDSA-P384") ? 384
	     : !strcmp(type, "ECDSA-P521") ? 521 : 0;
}

static bool is_rsa(const EVP_PKEY *k)
{
	return k && EVP_PKEY_is_a(k, "RSA");
}

static const EVP_MD *hash_md(unsigned hash)
{
	switch (hash) {
	case HASH_SHA1: return EVP_sha1();
	case HASH_SHA256: return EVP_sha256();
	case HASH_SHA384: return EVP_sha384();
	case HASH_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

static unsigned md_hash(int nid)
{
	return nid == NID_sha256 ? HASH_SHA256 : nid == NID_sha384 ? HASH_SHA384
	     : nid == NID_sha512 ? HASH_SHA512 : nid == NID_sha1 ? HASH_SHA1 : 0;
}

size_t cert_hash_list(uint16_t *out, size_t max)
{
	static const uint16_t ours[] = { HASH_SHA256, HASH_SHA384, HASH_SHA512 };
	size_t n = 0;
	for (; n < max && n < 3; n++)
		out[n] = ours[n];
	return n;
}

uint16_t cert_pick_hash(const struct cert_key *k, const uint16_t *peer, size_t n)
{
	int bits = k ? ec_bits(k->pkey) : 0;
	uint16_t want = bits == 256 ? HASH_SHA256 : bits == 384 ? HASH_SHA384
	              : bits == 521 ? HASH_SHA512 : 0;
	static const uint16_t strongest[] = { HASH_SHA512, HASH_SHA384, HASH_SHA256 };
	for (size_t i = 0; want && i < n; i++)
		if (peer[i] == want)
			return want;
	for (size_t s = 0; s < 3; s++)
		for (size_t i = 0; i < n; i++)
			if (peer[i] == strongest[s])
				return strongest[s];
	return 0;
}

unsigned cert_auth_method(const struct cert_key *k, bool peer_rfc7427)
{
	if (!k)
		return 0;
	if (is_rsa(k->pkey))
		return peer_rfc7427 ? M_DIGITAL : M_RSA;
	switch (ec_bits(k->pkey)) {
	case 256: return peer_rfc7427 ? M_DIGITAL : M_ECDSA256;
	case 384: return peer_rfc7427 ? M_DIGITAL : M_ECDSA384;
	case 521: return peer_rfc7427 ? M_DIGITAL : M_ECDSA521;
	default: return 0;
	}
}

/* ---- primitives --------------------------------------------------------------------------- */

static bool digest_sign(EVP_PKEY *k, const EVP_MD *md, const uint8_t *msg, size_t len,
                        uint8_t *sig, size_t *siglen, struct cert_err *e)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t need = 0;
	bool ok = ctx && EVP_DigestSignInit(ctx, &pctx, md, NULL, k) == 1 &&
	          (!is_rsa(k) || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1) &&
	          EVP_DigestSign(ctx, NULL, &need, msg, len) == 1 && need <= *siglen &&
	          EVP_DigestSign(ctx, sig, siglen, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok || cert_fail(e, CERT_E_UNSUPPORTED, "signing failed (%s)",
	                       need > *siglen ? "no room for the signature" : "OpenSSL refused");
}

struct pss {
	const EVP_MD *mgf1;
	int saltlen;
};

static bool digest_verify(EVP_PKEY *k, const EVP_MD *md, const struct pss *pss,
                          const uint8_t *msg, size_t len, const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool ok = ctx && EVP_DigestVerifyInit(ctx, &pctx, md, NULL, k) == 1;
	if (ok && is_rsa(k) && !pss)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
	if (ok && pss)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, pss->mgf1) == 1 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss->saltlen) == 1;
	ok = ok && EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* Octets of r (and of s) for RFC 4754: the curve's size, rounded up. */
static size_t ec_width(int bits)
{
	return ((size_t)bits + 7) / 8;
}

/* DER ECDSA-Sig-Value -> r | s, each width octets. */
static bool der_to_rs(const uint8_t *der, size_t len, size_t width, uint8_t *out)
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;
	bool ok = sig != NULL;
	if (ok) {
		ECDSA_SIG_get0(sig, &r, &s);
		ok = BN_bn2binpad(r, out, (int)width) == (int)width &&
		     BN_bn2binpad(s, out + width, (int)width) == (int)width;
	}
	ECDSA_SIG_free(sig);
	return ok;
}

/* r | s -> DER, for EVP. *der is OPENSSL_malloc'ed. */
static int rs_to_der(const uint8_t *rs, size_t width, unsigned char **der)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(rs, (int)width, NULL), *s = BN_bin2bn(rs + width, (int)width, NULL);
	int n = -1;
	if (sig && r && s && ECDSA_SIG_set0(sig, r, s)) {
		r = s = NULL;            /* sig owns them */
		n = i2d_ECDSA_SIG(sig, der);
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return n;
}

/* ---- signing ---------------------------------------------------------------------------- */

static bool sign_ecdsa_rs(EVP_PKEY *k, int bits, const uint8_t *msg, size_t len, uint8_t *out,
                          size_t *outlen, struct cert_err *e)
{
	const EVP_MD *md = bits == 256 ? EVP_sha256() : bits == 384 ? EVP_sha384() : EVP_sha512();
	size_t width = ec_width(bits);
	uint8_t der[160];
	size_t dlen = sizeof(der);
	if (*outlen < 2 * width)
		return cert_fail(e, CERT_E_UNSUPPORTED, "no room for the signature");
	if (!digest_sign(k, md, msg, len, der, &dlen, e))
		return false;
	if (!der_to_rs(der, dlen, width, out))
		return cert_fail(e, CERT_E_UNSUPPORTED, "an ECDSA signature that does not convert");
	*outlen = 2 * width;
	return true;
}

static bool sign_digital(EVP_PKEY *k, uint16_t hash, const uint8_t *msg, size_t len,
                         uint8_t *out, size_t *outlen, struct cert_err *e)
{
	const uint8_t *alg;
	size_t alen;
	bool rsa = is_rsa(k);
	if (!rsa && !ec_bits(k))
		return cert_fail(e, CERT_E_UNSUPPORTED, "only RSA and ECDSA keys sign IKE AUTH");
	switch (hash) {
	case HASH_SHA256: alg = rsa ? alg_rsa256 : alg_ec256; break;
	case HASH_SHA384: alg = rsa ? alg_rsa384 : alg_ec384; break;
	case HASH_SHA512: alg = rsa ? alg_rsa512 : alg_ec512; break;
	default:
		return cert_fail(e, CERT_E_UNSUPPORTED, "RFC 7427 signatures use SHA2-256, -384 or "
		                 "-512 (hash %u asked for)", hash);
	}
	alen = rsa ? sizeof(alg_rsa256) : sizeof(alg_ec256);
	if (*outlen < 1 + alen)
		return cert_fail(e, CERT_E_UNSUPPORTED, "no room for the signature");
	out[0] = (uint8_t)alen;
	memcpy(out + 1, alg, alen);
	size_t siglen = *outlen - 1 - alen;
	if (!digest_sign(k, hash_md(hash), msg, len, out + 1 + alen, &siglen, e))
		return false;
	*outlen = 1 + alen + siglen;
	return true;
}

bool cert_sign(const struct cert_key *key, unsigned method, uint16_t hash,
               const uint8_t *octets, size_t len, uint8_t *out, size_t *outlen,
               struct cert_err *e)
{
	EVP_PKEY *k = key ? key->pkey : NULL;
	int bits = ec_bits(k);
	bool ok;
	if (!k)
		return cert_fail(e, CERT_E_NOT_FOUND, "no private key");
	switch (method) {
	case M_RSA:
		if (!is_rsa(k))
			return cert_fail(e, CERT_E_UNSUPPORTED, "auth method 1 needs an RSA key");
		ok = digest_sign(k, EVP_sha1(), octets, len, out, outlen, e);
		break;
	case M_ECDSA256:
	case M_ECDSA384:
	case M_ECDSA521:
		if (bits != (method == M_ECDSA256 ? 256 : method == M_ECDSA384 ? 384 : 521))
			return cert_fail(e, CERT_E_UNSUPPORTED, "auth method %u needs an ECDSA key on "
			                 "P-%d", method, method == M_ECDSA256 ? 256
			                 : method == M_ECDSA384 ? 384 : 521);
		ok = sign_ecdsa_rs(k, bits, octets, len, out, outlen, e);
		break;
	case M_DIGITAL:
		ok = sign_digital(k, hash, octets, len, out, outlen, e);
		break;
	default:
		return cert_fail(e, CERT_E_UNSUPPORTED, "auth method %u is not a signature", method);
	}
	if (ok)
		cert_ok(e);
	return ok;
}

/* ---- verifying ---------------------------------------------------------------------------- */

static const EVP_MD *alg_hash_md(const X509_ALGOR *a, unsigned *hash)
{
	const ASN1_OBJECT *oid;
	X509_ALGOR_get0(&oid, NULL, NULL, a);
	*hash = md_hash(OBJ_obj2nid(oid));
	return *hash >= HASH_SHA256 ? hash_md(*hash) : NULL;
}

/* RSASSA-PSS-params (RFC 4055 §3.1): SHA-2, MGF1 with SHA-2, trailer 1.
 * The defaults (SHA-1) are refused with everything else SHA-1. */
static bool pss_params(const X509_ALGOR *alg, const EVP_MD **md, struct pss *pss,
                       struct cert_err *e)
{
	int ptype;
	const void *pval;
	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	RSA_PSS_PARAMS *p = ptype == V_ASN1_SEQUENCE
	                    ? ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS), alg->parameter)
	                    : NULL;
	X509_ALGOR *mgf = NULL;
	unsigned h = 0, mh = 0;
	bool ok = p && p->hashAlgorithm && p->maskGenAlgorithm &&
	          (*md = alg_hash_md(p->hashAlgorithm, &h)) != NULL &&
	          OBJ_obj2nid(p->maskGenAlgorithm->algorithm) == NID_mgf1 &&
	          p->maskGenAlgorithm->parameter &&
	          p->maskGenAlgorithm->parameter->type == V_ASN1_SEQUENCE &&
	          (mgf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR),
	                                           p->maskGenAlgorithm->parameter)) != NULL &&
	          (pss->mgf1 = alg_hash_md(mgf, &mh)) != NULL &&
	          (!p->trailerField || ASN1_INTEGER_get(p->trailerField) == 1);
	long salt = ok && p->saltLength ? ASN1_INTEGER_get(p->saltLength) : 20;
	ok = ok && salt >= 0 && salt <= 512;
	pss->saltlen = (int)salt;
	X509_ALGOR_free(mgf);
	RSA_PSS_PARAMS_free(p);
	ERR_clear_error();
	return ok || cert_fail(e, CERT_E_UNSUPPORTED, "RSASSA-PSS parameters other than SHA-2 "
	                       "with MGF1/SHA-2 and trailer 1 are not accepted");
}

static bool verify_digital(EVP_PKEY *k, const uint8_t *auth, size_t authlen,
                           const uint8_t *msg, size_t len, struct cert_err *e)
{
	if (authlen < 3 || auth[0] < 2 || (size_t)auth[0] + 1 >= authlen)
		return cert_fail(e, CERT_E_FORMAT, "the RFC 7427 authentication data is too short "
		                 "for its AlgorithmIdentifier");
	size_t alen = auth[0];
	const unsigned char *p = auth + 1;
	X509_ALGOR *alg = d2i_X509_ALGOR(NULL, &p, (long)alen);
	if (!alg || p != auth + 1 + alen) {
		X509_ALGOR_free(alg);
		return cert_fail(e, CERT_E_FORMAT, "the AlgorithmIdentifier of the signature is "
		                 "not DER");
	}
	const uint8_t *sig = auth + 1 + alen;
	size_t siglen = authlen - 1 - alen;
	const ASN1_OBJECT *oid;
	int ptype;
	X509_ALGOR_get0(&oid, &ptype, NULL, alg);
	int nid = OBJ_obj2nid(oid), dig = NID_undef, pk = NID_undef;
	struct pss pss;
	const EVP_MD *md = NULL;
	bool ok = false, rsa_key = is_rsa(k);
	if (nid == NID_rsassaPss) {
		ok = rsa_key ? pss_params(alg, &md, &pss, e)
		             : cert_fail(e, CERT_E_AUTH, "AUTH: the signature is RSASSA-PSS but the "
		                         "certificate's key is not RSA");
		if (ok && !(ok = digest_verify(k, md, &pss, msg, len, sig, siglen)))
			cert_fail(e, CERT_E_AUTH, "AUTH: the RSASSA-PSS signature does not verify with "
			          "the peer certificate's key");
		X509_ALGOR_free(alg);
		return ok;
	}
	X509_ALGOR_free(alg);
	unsigned hash = 0;
	if (!OBJ_find_sigid_algs(nid, &dig, &pk) || !(hash = md_hash(dig)))
		return cert_fail(e, CERT_E_UNSUPPORTED, "AUTH: signature algorithm %s is not "
		                 "supported", OBJ_nid2sn(nid));
	if (hash == HASH_SHA1)
		return cert_fail(e, CERT_E_UNSUPPORTED, "AUTH: SHA-1 signatures are not accepted "
		                 "with RFC 7427 (we offered SHA2-256/384/512)");
	bool alg_rsa = pk == NID_rsaEncryption, alg_ec = pk == NID_X9_62_id_ecPublicKey;
	if (!(alg_rsa && rsa_key && (ptype == V_ASN1_NULL || ptype == V_ASN1_UNDEF)) &&
	    !(alg_ec && ec_bits(k) && ptype == V_ASN1_UNDEF))
		return cert_fail(e, CERT_E_AUTH, "AUTH: the signature algorithm %s does not fit the "
		                 "peer certificate's key", OBJ_nid2sn(nid));
	if (!digest_verify(k, hash_md(hash), NULL, msg, len, sig, siglen))
		return cert_fail(e, CERT_E_AUTH, "AUTH: the %s signature does not verify with the "
		                 "peer certificate's key", OBJ_nid2sn(nid));
	return true;
}

static bool verify_ecdsa_rs(EVP_PKEY *k, unsigned method, const uint8_t *auth, size_t authlen,
                            const uint8_t *msg, size_t len, struct cert_err *e)
{
	int bits = method == M_ECDSA256 ? 256 : method == M_ECDSA384 ? 384 : 521;
	if (ec_bits(k) != bits)
		return cert_fail(e, CERT_E_AUTH, "AUTH: method %u needs an ECDSA P-%d key, the peer "
		                 "certificate's is not", method, bits);
	size_t width = ec_width(bits);
	if (authlen != 2 * width)
		return cert_fail(e, CERT_E_FORMAT, "AUTH: an ECDSA P-%d signature is %zu octets, not "
		                 "%zu", bits, 2 * width, authlen);
	unsigned char *der = NULL;
	int dlen = rs_to_der(auth, width, &der);
	const EVP_MD *md = bits == 256 ? EVP_sha256() : bits == 384 ? EVP_sha384() : EVP_sha512();
	bool ok = dlen > 0 && digest_verify(k, md, NULL, msg, len, der, (size_t)dlen);
	OPENSSL_free(der);
	return ok || cert_fail(e, CERT_E_AUTH, "AUTH: the ECDSA signature does not verify with "
	                       "the peer certificate's key");
}

bool cert_verify(const struct cert *peer, unsigned method, const uint8_t *auth,
                 size_t authlen, const uint8_t *octets, size_t len, struct cert_err *e)
{
	EVP_PKEY *k = peer ? X509_get0_pubkey(peer->x) : NULL;
	bool ok;
	if (!k)
		return cert_fail(e, CERT_E_FORMAT, "AUTH: the peer certificate has no usable key");
	if (authlen == 0)
		return cert_fail(e, CERT_E_FORMAT, "AUTH: no authentication data");
	switch (method) {
	case M_RSA:
		if (!is_rsa(k))
			return cert_fail(e, CERT_E_AUTH, "AUTH: method 1 needs an RSA key, the peer "
			                 "certificate's is not");
		ok = digest_verify(k, EVP_sha1(), NULL, octets, len, auth, authlen) ||
		     cert_fail(e, CERT_E_AUTH, "AUTH: the RSA signature does not verify with the "
		               "peer certificate's key");
		break;
	case M_ECDSA256:
	case M_ECDSA384:
	case M_ECDSA521:
		ok = verify_ecdsa_rs(k, method, auth, authlen, octets, len, e);
		break;
	case M_DIGITAL:
		ok = verify_digital(k, auth, authlen, octets, len, e);
		break;
	default:
		return cert_fail(e, CERT_E_UNSUPPORTED, "AUTH: method %u is not a signature", method);
	}
	ERR_clear_error();
	if (ok)
		cert_ok(e);
	return ok;
}
