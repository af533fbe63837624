/*
 * Stateless cookies (RFC 7296 §2.6) over HMAC-SHA-256 (src/crypto's prf()).
 *
 * The MAC input is Ni | IPi | SPIi as the RFC suggests, each variable-length
 * part preceded by its length. Without the lengths the concatenation is
 * ambiguous across address families: the cookie made for a nonce N and an
 * IPv6 address whose last four octets are A would also be the cookie for
 * the nonce N | (the first 12 octets) and the IPv4 address A, so that an
 * initiator owning the IPv6 address could obtain cookies for a spoofed
 * IPv4 one, which is what cookies are there to prevent. Only we verify our
 * cookies, so their format is ours to choose.
 *
 * The secret is renewed lazily, when a cookie is made or checked, but on
 * the schedule a timer would keep: secret k is in use from made + k *
 * lifetime on, whenever that is noticed.
 */
#include <string.h>

#include "crypto/crypto.h"
#include "ike/cookie.h"
#include "ike/message.h"

_Static_assert(IKE_COOKIE_LEN <= IKE_COOKIE_MAX, "RFC 7296 §2.6: at most 64 octets");
_Static_assert(IKE_COOKIE_LEN == 1 + 32, "version octet and HMAC-SHA-256");

bool ike_cookie_init(struct ike_cookie_secret *s, uint64_t now, uint64_t lifetime)
{
	memset(s, 0, sizeof(*s));
	if (!lifetime || !crypto_random(s->cur, sizeof(s->cur))) {
		crypto_wipe(s, sizeof(*s));
		return false;
	}
	s->made = now;
	s->lifetime = lifetime;
	return true;
}

void ike_cookie_free(struct ike_cookie_secret *s)
{
	crypto_wipe(s, sizeof(*s));
}

/* The secrets as they are at now. false only if a new secret was due and
 * no random bytes could be had: then nothing is made or accepted. */
static bool renew(struct ike_cookie_secret *s, uint64_t now)
{
	if (!s->lifetime)
		return false;                 /* a renewal failed: nothing is valid */
	/* A clock that went back (it should not) changes nothing. */
	if (now < s->made || now - s->made < s->lifetime)
		return true;
	uint64_t steps = (now - s->made) / s->lifetime;
	if (steps == 1) {
		memcpy(s->prev, s->cur, sizeof(s->prev));
		s->have_prev = true;
	} else {
		/* Two or more renewals were missed: the current secret is at
		 * least two old, and so is every cookie made with it. */
		crypto_wipe(s->prev, sizeof(s->prev));
		s->have_prev = false;
	}
	s->made += steps * s->lifetime;
	s->version++;
	if (!crypto_random(s->cur, sizeof(s->cur))) {
		/* Never go on with the old secret under the new version. */
		crypto_wipe(s->cur, sizeof(s->cur));
		s->lifetime = 0;
		return false;
	}
	return true;
}

/* HMAC-SHA-256(secret, len(Ni) | Ni | len(IPi) | IPi | SPIi) into mac. */
static bool compute(const uint8_t secret[IKE_COOKIE_SECRET_LEN], const uint8_t *ni,
                    size_t ni_len, const uint8_t *ip, size_t ip_len, uint64_t spi_i,
                    uint8_t mac[32])
{
	uint8_t in[2 + IKE_NONCE_MAX + 1 + 16 + 8];
	if (!ni || !ip || ni_len > IKE_NONCE_MAX || (ip_len != 4 && ip_len != 16))
		return false;
	size_t n = 0;
	in[n++] = (uint8_t)(ni_len >> 8);
	in[n++] = (uint8_t)ni_len;
	memcpy(in + n, ni, ni_len);
	n += ni_len;
	in[n++] = (uint8_t)ip_len;
	memcpy(in + n, ip, ip_len);
	n += ip_len;
	for (int i = 7; i >= 0; i--)
		in[n++] = (uint8_t)(spi_i >> (8 * i));
	return prf(PRF_HMAC_SHA2_256, secret, IKE_COOKIE_SECRET_LEN, in, n, mac);
}

bool ike_cookie_make(struct ike_cookie_secret *s, uint64_t now, const uint8_t *ni, size_t ni_len,
                     const uint8_t *ip, size_t ip_len, uint64_t spi_i,
                     uint8_t out[IKE_COOKIE_LEN])
{
	if (!renew(s, now))
		return false;
	out[0] = s->version;
	return compute(s->cur, ni, ni_len, ip, ip_len, spi_i, out + 1);
}

bool ike_cookie_verify(struct ike_cookie_secret *s, uint64_t now, const uint8_t *cookie,
                       size_t len, const uint8_t *ni, size_t ni_len, const uint8_t *ip,
                       size_t ip_len, uint64_t spi_i)
{
	if (!renew(s, now) || !cookie || len != IKE_COOKIE_LEN)
		return false;
	/* The version is no secret: only the MAC needs a constant-time compare. */
	const uint8_t *secret;
	if (cookie[0] == s->version)
		secret = s->cur;
	else if (s->have_prev && cookie[0] == (uint8_t)(s->version - 1))
		secret = s->prev;
	else
		return false;
	uint8_t want[32];
	bool ok = compute(secret, ni, ni_len, ip, ip_len, spi_i, want) &&
	          crypto_icv_equal(want, cookie + 1, sizeof(want));
	crypto_wipe(want, sizeof(want));
	return ok;
}
