/*
 * crypto — thin wrappers over OpenSSL 3 EVP for the IPsec transforms: the
 * ESP ciphers (AEAD and CBC), the integrity (HMAC) algorithms, and their
 * names and sizes. No cryptography is implemented here: every primitive is
 * an EVP call. Contexts are made once per SA; per packet only the IV (or
 * nonce) changes and nothing is allocated by this module.
 *
 * Legacy algorithms (DES, MD5, NULL encryption) are refused unless the caller
 * allows legacy; DES then loads OpenSSL's legacy provider, once.
 */
#ifndef SECPOL_CRYPTO_H
#define SECPOL_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum crypto_enc {
	ENC_NULL,                 /* RFC 2410 (legacy) */
	ENC_DES_CBC,              /* RFC 2405 (legacy) */
	ENC_3DES_CBC,             /* RFC 2451 */
	ENC_AES128_CBC,           /* RFC 3602 */
	ENC_AES192_CBC,
	ENC_AES256_CBC,
	ENC_AES128_GCM,           /* RFC 4106, 16-octet ICV */
	ENC_AES192_GCM,
	ENC_AES256_GCM,
	ENC_CHACHA20_POLY1305,    /* RFC 7634 */
	ENC_AES128_GMAC,          /* RFC 4543: integrity only, payload in clear */
	ENC_AES256_GMAC,
	ENC_COUNT
};

enum crypto_mac {
	MAC_NONE,
	MAC_HMAC_MD5_96,          /* RFC 2403 (legacy) */
	MAC_HMAC_SHA1_96,         /* RFC 2404 */
	MAC_HMAC_SHA256_128,      /* RFC 4868 */
	MAC_HMAC_SHA384_192,
	MAC_HMAC_SHA512_256,
	MAC_COUNT
};

struct crypto_enc_info {
	const char *name;         /* "aes-128-gcm", as on the command line */
	size_t key_len;           /* cipher key, octets */
	size_t salt_len;          /* AEAD: octets of keying material after the key */
	size_t iv_len;            /* explicit IV carried in each packet */
	size_t block;             /* payload alignment (RFC 4303 padding) */
	size_t icv_len;           /* AEAD tag, 0 otherwise */
	bool aead;                /* carries its own integrity */
	bool gmac;                /* AEAD used for integrity only (payload in clear) */
	bool legacy;
};

struct crypto_mac_info {
	const char *name;         /* "sha256" */
	size_t key_len;
	size_t icv_len;           /* truncated output */
	bool legacy;
};

const struct crypto_enc_info *crypto_enc_info(enum crypto_enc e);
const struct crypto_mac_info *crypto_mac_info(enum crypto_mac m);
/* Command-line names: aes-128-gcm, aes-256-gcm, chacha20-poly1305, aes-128-cbc,
 * aes-256-cbc, 3des, des, null, aes-128-gmac ...; sha1, md5, sha256, sha384, sha512. */
bool crypto_enc_by_name(const char *name, enum crypto_enc *out);
bool crypto_mac_by_name(const char *name, enum crypto_mac *out);

/* A keyed cipher for one direction of one SA. */
struct cipher {
	enum crypto_enc alg;
	bool encrypt;
	void *ctx;                /* EVP_CIPHER_CTX */
	uint8_t salt[4];          /* AEAD nonce prefix (RFC 4106 §4, RFC 7634 §2) */
};

/* A keyed MAC for one SA. */
struct mac {
	enum crypto_mac alg;
	void *ctx;                /* EVP_MAC_CTX */
	size_t icv_len;
};

/*
 * keymat is the SA's encryption keying material: the key, followed for AEAD
 * by its salt (the key_len + salt_len octets IKE hands out). On failure *err
 * says why (e.g. a legacy algorithm that was not allowed) and nothing leaks.
 */
bool cipher_init(struct cipher *c, enum crypto_enc alg, const uint8_t *keymat, size_t len,
                 bool encrypt, bool allow_legacy, const char **err);
void cipher_free(struct cipher *c);

/* AEAD (GCM, ChaCha20-Poly1305, GMAC), in place. iv: the 8-octet explicit IV.
 * GMAC: data is authenticated (appended to the AAD) and left as it is. */
bool aead_seal(struct cipher *c, const uint8_t iv[8], const uint8_t *aad, size_t aad_len,
               uint8_t *data, size_t len, uint8_t *tag);
bool aead_open(struct cipher *c, const uint8_t iv[8], const uint8_t *aad, size_t aad_len,
               uint8_t *data, size_t len, const uint8_t *tag);
/* CBC (and NULL), in place; len is a multiple of the block size. */
bool cbc_crypt(struct cipher *c, const uint8_t *iv, uint8_t *data, size_t len);

bool mac_init(struct mac *m, enum crypto_mac alg, const uint8_t *key, size_t len,
              bool allow_legacy, const char **err);
void mac_free(struct mac *m);
/* ICV over the concatenation of up to three pieces (NULL/0 pieces skipped). */
bool mac_compute(struct mac *m, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                 const uint8_t *c, size_t clen, uint8_t *icv);
/* Constant-time comparison of a received ICV. */
bool crypto_icv_equal(const uint8_t *a, const uint8_t *b, size_t len);

/* Fresh unpredictable bytes (CBC IVs). */
bool crypto_random(uint8_t *out, size_t len);
/* Wipes key material (not optimised away). */
void crypto_wipe(void *p, size_t len);

#endif
