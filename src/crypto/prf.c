/*
 * The IKEv2 PRFs (RFC 7296 §2.13) over OpenSSL's EVP_MAC HMAC. A MAC context
 * is made per call and freed before returning: IKE derives keys a few times
 * per SA, so there is nothing to cache, and nothing keyed outlives the call.
 */
#include "crypto/crypto.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

static const struct crypto_prf_info prf_info[PRF_COUNT] = {
	[PRF_HMAC_MD5]      = { "md5",    16, true },
	[PRF_HMAC_SHA1]     = { "sha1",   20, false },
	[PRF_HMAC_SHA2_256] = { "sha256", 32, false },
	[PRF_HMAC_SHA2_384] = { "sha384", 48, false },
	[PRF_HMAC_SHA2_512] = { "sha512", 64, false },
};
/* MD5 is in OpenSSL's default provider (only DES needs the legacy one). */
static const char *const prf_digest[PRF_COUNT] = {
	[PRF_HMAC_MD5] = "MD5", [PRF_HMAC_SHA1] = "SHA1", [PRF_HMAC_SHA2_256] = "SHA256",
	[PRF_HMAC_SHA2_384] = "SHA384", [PRF_HMAC_SHA2_512] = "SHA512",
};

const struct crypto_prf_info *crypto_prf_info(enum crypto_prf p)
{
	return (unsigned)p < PRF_COUNT ? &prf_info[p] : NULL;
}

bool crypto_prf_by_name(const char *name, enum crypto_prf *out)
{
	for (int i = 0; i < PRF_COUNT; i++)
		if (strcasecmp(name, prf_info[i].name) == 0) {
			*out = (enum crypto_prf)i;
			return true;
		}
	return false;
}

/* A keyed HMAC context, or NULL. */
static EVP_MAC_CTX *prf_new(enum crypto_prf alg, const uint8_t *key, size_t keylen)
{
	static const uint8_t empty[1];
	if (!crypto_prf_info(alg) || (!key && keylen))
		return NULL;
	EVP_MAC *evp = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = evp ? EVP_MAC_CTX_new(evp) : NULL;
	EVP_MAC_free(evp);          /* the context keeps its own reference */
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)prf_digest[alg], 0),
		OSSL_PARAM_construct_end(),
	};
	/* A NULL key would mean "keep the old key": an empty one must be non-NULL. */
	if (!ctx || EVP_MAC_init(ctx, key ? key : empty, keylen, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* One output block: prf(K, a | b | c) with the key already in ctx. */
static bool prf_block(EVP_MAC_CTX *ctx, const uint8_t *a, size_t alen, const uint8_t *b,
                      size_t blen, const uint8_t *c, size_t clen, uint8_t *out, size_t outlen)
{
	size_t got;
	/* A NULL key re-initialises with the key already set (as in crypto.c). */
	return EVP_MAC_init(ctx, NULL, 0, NULL) == 1 &&
	       (!alen || EVP_MAC_update(ctx, a, alen) == 1) &&
	       (!blen || EVP_MAC_update(ctx, b, blen) == 1) &&
	       (!clen || EVP_MAC_update(ctx, c, clen) == 1) &&
	       EVP_MAC_final(ctx, out, &got, outlen) == 1 && got == outlen;
}

bool prf(enum crypto_prf alg, const uint8_t *key, size_t keylen, const uint8_t *data,
         size_t datalen, uint8_t *out)
{
	EVP_MAC_CTX *ctx = prf_new(alg, key, keylen);
	if (!ctx || (!data && datalen)) {
		EVP_MAC_CTX_free(ctx);
		return false;
	}
	bool ok = prf_block(ctx, data, datalen, NULL, 0, NULL, 0, out, prf_info[alg].len);
	EVP_MAC_CTX_free(ctx);      /* cleanses the key it holds */
	if (!ok)
		crypto_wipe(out, prf_info[alg].len);
	return ok;
}

/* T1 | T2 | ... into out; t holds Tn-1 between rounds (it is key material). */
static bool prf_plus_rounds(EVP_MAC_CTX *ctx, size_t hlen, const uint8_t *seed,
                            size_t seedlen, uint8_t *out, size_t outlen)
{
	uint8_t t[PRF_MAX_LEN];
	size_t tlen = 0;          /* T0 is empty */
	bool ok = true;
	for (unsigned n = 1; ok && outlen; n++) {
		uint8_t counter = (uint8_t)n;
		ok = prf_block(ctx, t, tlen, seed, seedlen, &counter, 1, t, hlen);
		size_t take = outlen < hlen ? outlen : hlen;
		memcpy(out, t, take);
		out += take;
		outlen -= take;
		tlen = hlen;
	}
	crypto_wipe(t, sizeof(t));
	return ok;
}

bool prf_plus(enum crypto_prf alg, const uint8_t *key, size_t keylen, const uint8_t *seed,
              size_t seedlen, uint8_t *out, size_t outlen)
{
	const struct crypto_prf_info *info = crypto_prf_info(alg);
	/* The counter is one octet and may not wrap (RFC 7296 §2.13). */
	if (!info || outlen > 255 * info->len || (!seed && seedlen))
		return false;
	EVP_MAC_CTX *ctx = prf_new(alg, key, keylen);
	if (!ctx)
		return false;
	bool ok = prf_plus_rounds(ctx, info->len, seed, seedlen, out, outlen);
	EVP_MAC_CTX_free(ctx);
	if (!ok)
		crypto_wipe(out, outlen);
	return ok;
}
