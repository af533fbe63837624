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

/* ======================================================================== *
 * IKEv2 key exchange (dh.c) and PRFs (prf.c). Used by the IKE daemon, not
 * per packet: these allocate (OpenSSL key objects, MAC contexts) and free
 * everything before returning, except the key pair a struct dh holds.
 * ======================================================================== */

/*
 * IKEv2 Diffie-Hellman groups (Transform Type 4 IDs):
 *   1, 2     MODP-768/1024 (RFC 2409; legacy: refused unless allowed)
 *   14       MODP-2048 (RFC 3526)
 *   19/20/21 ECP P-256/384/521 (RFC 5903)
 *   31       Curve25519 (RFC 8031)
 * Public values travel as IKE encodes them: MODP left-padded to the size of
 * the prime, ECP x | y without the 0x04 prefix, X25519 the 32-octet u.
 * Shared secrets (g^ir) likewise have a fixed length: MODP padded to the
 * prime, ECP the x coordinate only (RFC 5903 §9), X25519 32 octets.
 */
#define DH_MAX_PUBLIC 256         /* MODP-2048; ECP P-521 needs 132 */
#define DH_MAX_SECRET 256

struct dh {
	unsigned group;
	void *pkey;               /* EVP_PKEY: our key pair */
};

/* Octets of the public value / shared secret of a group; 0 if unsupported. */
size_t dh_public_len(unsigned group);
size_t dh_secret_len(unsigned group);

/* A fresh key pair for the group. On failure *err says why, d holds nothing. */
bool dh_init(struct dh *d, unsigned group, bool allow_legacy, const char **err);
/*
 * A key pair from a known private value: big-endian, at most
 * dh_secret_len(group) octets (X25519: exactly the 32-octet scalar as RFC 7748
 * writes it). For known-answer tests and deterministic unit tests only: the
 * value is not range-checked beyond what OpenSSL does.
 */
bool dh_init_private(struct dh *d, unsigned group, const uint8_t *priv, size_t len,
                     bool allow_legacy, const char **err);
/* Our public value; len must be dh_public_len(d->group). */
bool dh_public(const struct dh *d, uint8_t *out, size_t len);
/*
 * g^ir from the peer's public value, which is checked first (RFC 6989): the
 * length exactly, MODP 1 < y < p-1, ECP a point on the curve; an all-zero
 * X25519 result is refused. *secret_len: in, the room in secret; out, the
 * length written (dh_secret_len). On failure secret holds nothing.
 */
bool dh_derive(struct dh *d, const uint8_t *peer, size_t len, uint8_t *secret,
               size_t *secret_len, const char **err);
/* Frees the key pair (OpenSSL cleanses the private value). */
void dh_free(struct dh *d);

/* IKEv2 PRFs (Transform Type 2), all HMAC: output length = preferred key length. */
enum crypto_prf {
	PRF_HMAC_MD5,             /* RFC 2104 (legacy) */
	PRF_HMAC_SHA1,
	PRF_HMAC_SHA2_256,        /* RFC 4868 */
	PRF_HMAC_SHA2_384,
	PRF_HMAC_SHA2_512,
	PRF_COUNT
};
#define PRF_MAX_LEN 64

struct crypto_prf_info {
	const char *name;         /* "sha256", like the integrity names */
	size_t len;               /* output octets, also the preferred key length */
	bool legacy;
};

const struct crypto_prf_info *crypto_prf_info(enum crypto_prf p);
bool crypto_prf_by_name(const char *name, enum crypto_prf *out);
/*
 * out receives crypto_prf_info(alg)->len octets; HMAC takes any key length.
 * These compute every PRF, HMAC-MD5 included: refusing legacy PRFs is done
 * where the transforms are chosen (ike_suite_check in src/ike/keys.h).
 */
bool prf(enum crypto_prf alg, const uint8_t *key, size_t keylen, const uint8_t *data,
         size_t datalen, uint8_t *out);
/*
 * prf+ (RFC 7296 §2.13): T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n),
 * out = T1 | T2 | ... cut to outlen. Refuses outlen > 255 * output length.
 * out must not overlap key or seed.
 */
bool prf_plus(enum crypto_prf alg, const uint8_t *key, size_t keylen, const uint8_t *seed,
              size_t seedlen, uint8_t *out, size_t outlen);

#endif
