/*
 * cookie — the responder's stateless cookies (RFC 7296 §2.6). Private to
 * src/ike.
 *
 * Under load a responder answers IKE_SA_INIT with a COOKIE notification
 * instead of making state, and takes only an IKE_SA_INIT that echoes it:
 * proof that the initiator receives at the address it claims. The cookie
 * is computed from the request alone, so nothing is kept per initiator:
 *
 *   Cookie = <VersionIDofSecret> | HMAC-SHA-256(<secret>, Ni | IPi | SPIi)
 *
 * (with the lengths of Ni and IPi in the MAC input, see cookie.c). The
 * secret is regenerated every lifetime seconds; the previous one is kept,
 * so that a cookie made just before a change still verifies, and one made
 * two changes ago does not. The initiator's side is an echo and needs no
 * code here.
 */
#ifndef SECPOL_IKE_COOKIE_H
#define SECPOL_IKE_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IKE_COOKIE_SECRET_LEN 32
#define IKE_COOKIE_LEN 33                /* version octet, HMAC-SHA-256 */
#define IKE_COOKIE_LIFETIME 60           /* a reasonable default, in seconds */

struct ike_cookie_secret {
	uint8_t cur[IKE_COOKIE_SECRET_LEN];
	uint8_t prev[IKE_COOKIE_SECRET_LEN];
	uint8_t version;                 /* of cur; prev's is version - 1 */
	bool have_prev;
	uint64_t made;                   /* when cur was made */
	uint64_t lifetime;               /* seconds between secrets, > 0 */
};

/* A fresh random secret at time now (seconds, from any monotonic clock the
 * caller keeps using). false if no random bytes could be had. */
bool ike_cookie_init(struct ike_cookie_secret *s, uint64_t now, uint64_t lifetime);
/* Wipes the secrets. */
void ike_cookie_free(struct ike_cookie_secret *s);

/*
 * The cookie for an IKE_SA_INIT request: the initiator's nonce Ni (at most
 * IKE_NONCE_MAX octets), the source address ip (4 or 16 octets) and the
 * initiator's SPI. Writes IKE_COOKIE_LEN octets to out. A secret due for
 * renewal at now is renewed first. false on bad arguments or no random
 * bytes.
 */
bool ike_cookie_make(struct ike_cookie_secret *s, uint64_t now, const uint8_t *ni, size_t ni_len,
                     const uint8_t *ip, size_t ip_len, uint64_t spi_i,
                     uint8_t out[IKE_COOKIE_LEN]);

/*
 * Whether cookie[0..len) (the COOKIE notification's data as received) is
 * one we made for this Ni, address and SPIi, under the current or the
 * previous secret. The secret is renewed first if due, as above. The MAC
 * is compared in constant time.
 */
bool ike_cookie_verify(struct ike_cookie_secret *s, uint64_t now, const uint8_t *cookie,
                       size_t len, const uint8_t *ni, size_t ni_len, const uint8_t *ip,
                       size_t ip_len, uint64_t spi_i);

#endif
