/*
 * The transforms over OpenSSL 3 EVP. Keys are set once (cipher_init,
 * mac_init); per packet only the nonce or IV is set, which EVP does without
 * allocating. (OpenSSL's HMAC re-init copies its digest state internally;
 * that is libcrypto's business and the reason a MAC context lives per SA.)
 */
#include "crypto/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct crypto_enc_info enc_info[ENC_COUNT] = {
	/*                     name                key salt iv blk icv aead gmac legacy */
	[ENC_NULL]          = { "null",             0, 0, 0, 4, 0, false, false, true },
	[ENC_DES_CBC]       = { "des",              8, 0, 8, 8, 0, false, false, true },
	[ENC_3DES_CBC]      = { "3des",            24, 0, 8, 8, 0, false, false, false },
	[ENC_AES128_CBC]    = { "aes-128-cbc",     16, 0, 16, 16, 0, false, false, false },
	[ENC_AES192_CBC]    = { "aes-192-cbc",     24, 0, 16, 16, 0, false, false, false },
	[ENC_AES256_CBC]    = { "aes-256-cbc",     32, 0, 16, 16, 0, false, false, false },
	[ENC_AES128_GCM]    = { "aes-128-gcm",     16, 4, 8, 4, 16, true, false, false },
	[ENC_AES192_GCM]    = { "aes-192-gcm",     24, 4, 8, 4, 16, true, false, false },
	[ENC_AES256_GCM]    = { "aes-256-gcm",     32, 4, 8, 4, 16, true, false, false },
	[ENC_CHACHA20_POLY1305] = { "chacha20-poly1305", 32, 4, 8, 4, 16, true, false, false },
	[ENC_AES128_GMAC]   = { "aes-128-gmac",    16, 4, 8, 4, 16, true, true, false },
	[ENC_AES256_GMAC]   = { "aes-256-gmac",    32, 4, 8, 4, 16, true, true, false },
};

/* OpenSSL's names for the EVP fetch. */
static const char *const enc_evp[ENC_COUNT] = {
	[ENC_DES_CBC] = "DES-CBC", [ENC_3DES_CBC] = "DES-EDE3-CBC",
	[ENC_AES128_CBC] = "AES-128-CBC", [ENC_AES192_CBC] = "AES-192-CBC",
	[ENC_AES256_CBC] = "AES-256-CBC", [ENC_AES128_GCM] = "AES-128-GCM",
	[ENC_AES192_GCM] = "AES-192-GCM", [ENC_AES256_GCM] = "AES-256-GCM",
	[ENC_CHACHA20_POLY1305] = "ChaCha20-Poly1305", [ENC_AES128_GMAC] = "AES-128-GCM",
	[ENC_AES256_GMAC] = "AES-256-GCM",
};

static const struct crypto_mac_info mac_info[MAC_COUNT] = {
	[MAC_NONE]            = { "none",    0,  0, false },
	[MAC_HMAC_MD5_96]     = { "md5",    16, 12, true },
	[MAC_HMAC_SHA1_96]    = { "sha1",   20, 12, false },
	[MAC_HMAC_SHA256_128] = { "sha256", 32, 16, false },
	[MAC_HMAC_SHA384_192] = { "sha384", 48, 24, false },
	[MAC_HMAC_SHA512_256] = { "sha512", 64, 32, false },
};
static const char *const mac_digest[MAC_COUNT] = {
	[MAC_HMAC_MD5_96] = "MD5", [MAC_HMAC_SHA1_96] = "SHA1",
	[MAC_HMAC_SHA256_128] = "SHA256", [MAC_HMAC_SHA384_192] = "SHA384",
	[MAC_HMAC_SHA512_256] = "SHA512",
};

const struct crypto_enc_info *crypto_enc_info(enum crypto_enc e)
{
	return (unsigned)e < ENC_COUNT ? &enc_info[e] : NULL;
}

const struct crypto_mac_info *crypto_mac_info(enum crypto_mac m)
{
	return (unsigned)m < MAC_COUNT ? &mac_info[m] : NULL;
}

bool crypto_enc_by_name(const char *name, enum crypto_enc *out)
{
	for (int i = 0; i < ENC_COUNT; i++)
		if (strcasecmp(name, enc_info[i].name) == 0) {
			*out = (enum crypto_enc)i;
			return true;
		}
	return false;
}

bool crypto_mac_by_name(const char *name, enum crypto_mac *out)
{
	for (int i = 0; i < MAC_COUNT; i++)
		if (strcasecmp(name, mac_info[i].name) == 0) {
			*out = (enum crypto_mac)i;
			return true;
		}
	return false;
}

void crypto_wipe(void *p, size_t len)
{
	OPENSSL_cleanse(p, len);
}

bool crypto_random(uint8_t *out, size_t len)
{
	return RAND_bytes(out, (int)len) == 1;
}

bool crypto_icv_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

/* DES lives in OpenSSL's legacy provider. Loading a provider by hand stops
 * the default one from loading implicitly, so both are loaded, once. */
static pthread_once_t legacy_once = PTHREAD_ONCE_INIT;
static bool legacy_ok;
static OSSL_PROVIDER *prov_default, *prov_legacy;

/* A provider loaded by hand is freed only when unloaded (OPENSSL_cleanup
 * does not drop that reference): unload both at exit, before OpenSSL's own
 * exit handler (registered earlier, so it runs later) cleans up. */
static void unload_legacy(void)
{
	if (prov_legacy)
		OSSL_PROVIDER_unload(prov_legacy);
	if (prov_default)
		OSSL_PROVIDER_unload(prov_default);
	prov_legacy = prov_default = NULL;
}

static void load_legacy(void)
{
	prov_default = OSSL_PROVIDER_load(NULL, "default");
	prov_legacy = prov_default ? OSSL_PROVIDER_load(NULL, "legacy") : NULL;
	legacy_ok = prov_default && prov_legacy;
	atexit(unload_legacy);
}

static bool legacy_refused(bool legacy, bool allowed, const char **err)
{
	if (legacy && !allowed) {
		*err = "legacy algorithm (DES, MD5 or NULL encryption) not allowed: "
		       "it must be enabled explicitly (allowlegacy)";
		return true;
	}
	return false;
}

bool cipher_init(struct cipher *c, enum crypto_enc alg, const uint8_t *keymat, size_t len,
                 bool encrypt, bool allow_legacy, const char **err)
{
	memset(c, 0, sizeof(*c));
	const struct crypto_enc_info *info = crypto_enc_info(alg);
	if (!info) {
		*err = "unknown encryption algorithm";
		return false;
	}
	if (legacy_refused(info->legacy, allow_legacy, err))
		return false;
	if (len != info->key_len + info->salt_len) {
		*err = "encryption key has the wrong length for the algorithm";
		return false;
	}
	c->alg = alg;
	c->encrypt = encrypt;
	if (alg == ENC_NULL)
		return true;
	if (alg == ENC_DES_CBC) {
		pthread_once(&legacy_once, load_legacy);
		if (!legacy_ok) {
			*err = "DES needs OpenSSL's legacy provider, which could not be loaded";
			return false;
		}
	}
	EVP_CIPHER *evp = EVP_CIPHER_fetch(NULL, enc_evp[alg], NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	bool ok = evp && ctx &&
	          EVP_CipherInit_ex2(ctx, evp, keymat, NULL, encrypt ? 1 : 0, NULL) == 1;
	if (ok && !info->aead)
		ok = EVP_CIPHER_CTX_set_padding(ctx, 0) == 1;
	EVP_CIPHER_free(evp);       /* the context keeps its own reference */
	if (!ok) {
		EVP_CIPHER_CTX_free(ctx);
		*err = "OpenSSL could not set up the cipher";
		return false;
	}
	memcpy(c->salt, keymat + info->key_len, info->salt_len);
	c->ctx = ctx;
	return true;
}

void cipher_free(struct cipher *c)
{
	EVP_CIPHER_CTX_free(c->ctx);      /* cleanses the key schedule */
	crypto_wipe(c, sizeof(*c));
}

static bool aead_start(struct cipher *c, const uint8_t iv[8], const uint8_t *aad,
                       size_t aad_len)
{
	uint8_t nonce[12];
	int outl;
	memcpy(nonce, c->salt, 4);
	memcpy(nonce + 4, iv, 8);
	if (EVP_CipherInit_ex2(c->ctx, NULL, NULL, nonce, -1, NULL) != 1)
		return false;
	if (aad_len && EVP_CipherUpdate(c->ctx, NULL, &outl, aad, (int)aad_len) != 1)
		return false;
	/* RFC 4543: GMAC authenticates the IV and the payload as AAD too. */
	if (enc_info[c->alg].gmac && EVP_CipherUpdate(c->ctx, NULL, &outl, iv, 8) != 1)
		return false;
	return true;
}

static bool aead_body(struct cipher *c, uint8_t *data, size_t len)
{
	int outl;
	if (len == 0)
		return true;
	if (enc_info[c->alg].gmac)
		return EVP_CipherUpdate(c->ctx, NULL, &outl, data, (int)len) == 1;
	return EVP_CipherUpdate(c->ctx, data, &outl, data, (int)len) == 1 && (size_t)outl == len;
}

/*
 * The tag moves through the provider's parameters directly. EVP_CIPHER_CTX_ctrl
 * would do the same in OpenSSL 3 but first translates the control into a
 * parameter array and back, which costs about as much per packet as a tenth
 * of the AES-GCM encryption of a 1400-octet packet (secpol-aead-ceiling,
 * modes packet and packet-ctrl).
 */
static bool aead_tag(struct cipher *c, uint8_t *tag, bool get)
{
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, 16),
		OSSL_PARAM_construct_end(),
	};
	return (get ? EVP_CIPHER_CTX_get_params(c->ctx, p) : EVP_CIPHER_CTX_set_params(c->ctx, p)) == 1;
}

bool aead_seal(struct cipher *c, const uint8_t iv[8], const uint8_t *aad, size_t aad_len,
               uint8_t *data, size_t len, uint8_t *tag)
{
	uint8_t end[16];
	int outl;
	/* Only AEAD contexts: a CBC context would read a 16-octet IV from the
	 * 12-octet nonce, and OpenSSL ignores the tag parameter on it. */
	return c->ctx && enc_info[c->alg].aead && c->encrypt && aead_start(c, iv, aad, aad_len) &&
	       aead_body(c, data, len) && EVP_CipherFinal_ex(c->ctx, end, &outl) == 1 &&
	       aead_tag(c, tag, true);
}

bool aead_open(struct cipher *c, const uint8_t iv[8], const uint8_t *aad, size_t aad_len,
               uint8_t *data, size_t len, const uint8_t *tag)
{
	uint8_t end[16];
	int outl;
	/* The tag is set before the final step, which compares it in constant time. */
	return c->ctx && enc_info[c->alg].aead && !c->encrypt &&
	       aead_start(c, iv, aad, aad_len) &&
	       aead_body(c, data, len) &&
	       aead_tag(c, (uint8_t *)tag, false) &&
	       EVP_CipherFinal_ex(c->ctx, end, &outl) == 1;
}

bool cbc_crypt(struct cipher *c, const uint8_t *iv, uint8_t *data, size_t len)
{
	int outl;
	if (c->alg == ENC_NULL)
		return true;
	if (!c->ctx || enc_info[c->alg].aead || len % enc_info[c->alg].block)
		return false;
	return EVP_CipherInit_ex2(c->ctx, NULL, NULL, iv, -1, NULL) == 1 &&
	       EVP_CipherUpdate(c->ctx, data, &outl, data, (int)len) == 1 && (size_t)outl == len;
}

bool mac_init(struct mac *m, enum crypto_mac alg, const uint8_t *key, size_t len,
              bool allow_legacy, const char **err)
{
	memset(m, 0, sizeof(*m));
	const struct crypto_mac_info *info = crypto_mac_info(alg);
	if (!info || alg == MAC_NONE) {
		*err = "unknown integrity algorithm";
		return false;
	}
	if (legacy_refused(info->legacy, allow_legacy, err))
		return false;
	if (len != info->key_len) {
		*err = "integrity key has the wrong length for the algorithm";
		return false;
	}
	EVP_MAC *evp = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = evp ? EVP_MAC_CTX_new(evp) : NULL;
	EVP_MAC_free(evp);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)mac_digest[alg], 0),
		OSSL_PARAM_construct_end(),
	};
	if (!ctx || EVP_MAC_init(ctx, key, len, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		*err = "OpenSSL could not set up the integrity algorithm";
		return false;
	}
	m->alg = alg;
	m->ctx = ctx;
	m->icv_len = info->icv_len;
	return true;
}

void mac_free(struct mac *m)
{
	EVP_MAC_CTX_free(m->ctx);
	crypto_wipe(m, sizeof(*m));
}

bool mac_compute(struct mac *m, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                 const uint8_t *c, size_t clen, uint8_t *icv)
{
	uint8_t full[EVP_MAX_MD_SIZE];
	size_t outl;
	/* A NULL key re-initialises with the key already set. */
	if (!m->ctx || EVP_MAC_init(m->ctx, NULL, 0, NULL) != 1)
		return false;
	if ((alen && EVP_MAC_update(m->ctx, a, alen) != 1) ||
	    (blen && EVP_MAC_update(m->ctx, b, blen) != 1) ||
	    (clen && EVP_MAC_update(m->ctx, c, clen) != 1) ||
	    EVP_MAC_final(m->ctx, full, &outl, sizeof(full)) != 1 || outl < m->icv_len)
		return false;
	memcpy(icv, full, m->icv_len);
	return true;
}
