/*
 * keys — IKEv2 key derivation (RFC 7296 §2.13, §2.14, §2.17, §2.18), private
 * to src/ike. Everything goes through the PRFs of src/crypto (prf, prf_plus).
 *
 *   SKEYSEED = prf(Ni | Nr, g^ir)
 *   {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
 *            = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
 *   KEYMAT   = prf+(SK_d, Ni | Nr), or prf+(SK_d, g^ir (new) | Ni | Nr) (PFS)
 *   rekeyed IKE SA: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
 *
 * Only HMAC PRFs are supported, and HMAC takes keys of any length, so RFC
 * 7296 §2.14's rule for PRFs with a fixed key size (AES-XCBC-PRF-128, AES-
 * CMAC-PRF-128: half the key from each nonce) never applies and is not
 * implemented: adding such a PRF means adding that rule here.
 *
 * Keys live in fixed arrays with explicit lengths: no allocation, and one
 * wipe clears them. Nothing here logs key material.
 */
#ifndef SECPOL_IKE_KEYS_H
#define SECPOL_IKE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

#define IKE_KEY_MAX 64            /* longest key: HMAC-SHA2-512 PRF/integrity */
#define IKE_NONCE_MAX 256         /* RFC 7296 §3.9: nonces of 16..256 octets */
#define IKE_SECRET_MAX 1024       /* g^ir up to MODP-8192 */

struct ike_key {
	size_t len;
	uint8_t octets[IKE_KEY_MAX];
};

/* The nonces of the exchange that creates (or rekeys) the SA. The minimum
 * length is the message parser's to enforce; here only the maximum. */
struct ike_nonces {
	const uint8_t *ni, *nr;
	size_t ni_len, nr_len;
};

/* The IKE SA's transforms. AEAD encryption (AES-GCM, ChaCha20-Poly1305)
 * comes with integ = MAC_NONE; anything else needs an integrity algorithm. */
struct ike_suite {
	enum crypto_prf prf;
	enum crypto_enc enc;
	enum crypto_mac integ;
};

/* The IKE SA's keys (RFC 7296 §2.14). SK_ai/SK_ar are empty with AEAD;
 * SK_ei/SK_er include the 4-octet salt of AES-GCM (RFC 5282) and
 * ChaCha20-Poly1305 (RFC 7634). */
struct ike_sa_keys {
	enum crypto_prf prf;      /* for SK_d's uses: child SAs, rekeying */
	struct ike_key d, ai, ar, ei, er, pi, pr;
};

/* A child SA's KEYMAT, split as RFC 7296 §2.17 orders it: for the SA from
 * initiator to responder first its encryption key (key | salt for AEAD; empty
 * for AH and ENCR_NULL) then its integrity key (empty for AEAD), then the
 * same for the SA from responder to initiator. */
struct ike_child_keys {
	struct ike_key ir_enc, ir_integ, ri_enc, ri_integ;
};

/*
 * Whether the transforms may protect an IKE SA: known algorithms, AEAD
 * exactly when there is no integrity algorithm, no ENCR_NULL (RFC 7296
 * §5) and no GMAC (ESP only), and legacy ones (DES, HMAC-MD5 as PRF or
 * integrity) only if allowed.
 */
bool ike_suite_check(const struct ike_suite *s, bool allow_legacy, const char **err);

/* SKEYSEED = prf(Ni | Nr, g^ir). */
bool ike_skeyseed(enum crypto_prf prf, const struct ike_nonces *n, const uint8_t *g_ir,
                  size_t g_ir_len, struct ike_key *skeyseed, const char **err);
/* SKEYSEED of a rekeyed IKE SA = prf(SK_d (old), g^ir (new) | Ni | Nr), with
 * the old SA's PRF (§2.18: the rekeying exchange belongs to the old SA). */
bool ike_skeyseed_rekey(const struct ike_sa_keys *old, const struct ike_nonces *n,
                        const uint8_t *g_ir_new, size_t g_ir_len, struct ike_key *skeyseed,
                        const char **err);
/* The seven keys from SKEYSEED with the suite's lengths (checked with
 * ike_suite_check first). spi_i/spi_r: the IKE SA's 8-octet SPIs. */
bool ike_sa_keys_derive(struct ike_sa_keys *k, const struct ike_suite *s,
                        const struct ike_key *skeyseed, const struct ike_nonces *n,
                        const uint8_t spi_i[8], const uint8_t spi_r[8], bool allow_legacy,
                        const char **err);

/* The two steps together, SKEYSEED wiped: a new IKE SA (IKE_SA_INIT) ... */
bool ike_sa_keys_initial(struct ike_sa_keys *k, const struct ike_suite *s,
                         const struct ike_nonces *n, const uint8_t *g_ir, size_t g_ir_len,
                         const uint8_t spi_i[8], const uint8_t spi_r[8], bool allow_legacy,
                         const char **err);
/* ... and one that replaces old (CREATE_CHILD_SA): the new SA's suite, nonces
 * and SPIs; old is left as it is. */
bool ike_sa_keys_rekey(struct ike_sa_keys *k, const struct ike_sa_keys *old,
                       const struct ike_suite *s, const struct ike_nonces *n,
                       const uint8_t *g_ir_new, size_t g_ir_len, const uint8_t spi_i[8],
                       const uint8_t spi_r[8], bool allow_legacy, const char **err);

/*
 * A child SA's KEYMAT from the IKE SA's SK_d. g_ir_new: the shared secret of
 * the CREATE_CHILD_SA's own key exchange (PFS), or NULL. enc_len: encryption
 * keying material per direction (crypto_enc_info key_len + salt_len; 0 for AH),
 * integ_len: integrity key (crypto_mac_info key_len; 0 for AEAD). Whether the
 * algorithms are allowed is checked where the SA is keyed (cipher_init,
 * mac_init).
 */
bool ike_child_keys_derive(struct ike_child_keys *k, const struct ike_sa_keys *sa,
                           const struct ike_nonces *n, const uint8_t *g_ir_new,
                           size_t g_ir_len, size_t enc_len, size_t integ_len,
                           const char **err);

void ike_sa_keys_wipe(struct ike_sa_keys *k);
void ike_child_keys_wipe(struct ike_child_keys *k);

#endif
