/*
 * sk — protection of the Encrypted payload (SK, RFC 7296 §3.14): the inner
 * payloads of every IKE message after IKE_SA_INIT. AEAD ciphers (AES-GCM,
 * RFC 5282; ChaCha20-Poly1305, RFC 7634) authenticate the IKE header and
 * the SK payload header as associated data; CBC ciphers are followed by an
 * ICV over the whole message. Private to src/ike.
 */
#ifndef SECPOL_IKE_SK_H
#define SECPOL_IKE_SK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

/* One direction's keys: SK_ei/SK_ai (we initiated, sending) and so on. */
struct ike_sk_key {
	struct cipher enc;           /* encrypt direction for seal, decrypt for open */
	struct mac integ;            /* unused with AEAD */
	bool aead;
	uint64_t next_iv;            /* AEAD: the IV is a counter, never repeated under a key */
};

bool ike_sk_key_init(struct ike_sk_key *k, enum crypto_enc enc, const uint8_t *ekey,
                     size_t elen, enum crypto_mac integ, const uint8_t *akey, size_t alen,
                     bool seal, bool allow_legacy, const char **err);
void ike_sk_key_free(struct ike_sk_key *k);

/* The octets the SK payload adds around inner payloads of length n (IV,
 * padding, pad length, ICV): the room a sender must leave. */
size_t ike_sk_overhead(const struct ike_sk_key *k, size_t n);

/*
 * Outbound. msg holds the IKE header, any unencrypted payloads, the SK
 * generic header at sk_off, room for the IV, then inner_len octets of inner
 * payloads; cap is the buffer size. Pads, encrypts in place, appends the
 * ICV and sets the SK payload and IKE header lengths. Returns the message
 * length, 0 on failure (*why says why).
 */
size_t ike_sk_seal(struct ike_sk_key *k, uint8_t *msg, size_t cap, size_t sk_off,
                   size_t inner_len, const char **why);

/*
 * Inbound. msg[0..len) is a whole message whose last payload is SK, its
 * generic header at sk_off. Verifies and decrypts in place; on success
 * *inner points at the inner payloads (padding removed) and *inner_len is
 * their length. Nothing is decrypted before the ICV verifies.
 */
bool ike_sk_open(struct ike_sk_key *k, uint8_t *msg, size_t len, size_t sk_off,
                 uint8_t **inner, size_t *inner_len, const char **why);

/*
 * The same for an Encrypted Fragment payload (SKF, RFC 7383 §2.5) whose
 * generic header is at skf_off: its Fragment Number and Total Fragments
 * sit between that header and the IV, and are authenticated with it.
 * The caller fills them in before sealing; src/ike/frag.h builds on these.
 */
size_t ike_skf_seal(struct ike_sk_key *k, uint8_t *msg, size_t cap, size_t skf_off,
                    size_t inner_len, const char **why);
bool ike_skf_open(struct ike_sk_key *k, uint8_t *msg, size_t len, size_t skf_off,
                  uint8_t **inner, size_t *inner_len, const char **why);

#endif
