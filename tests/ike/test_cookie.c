/*
 * Stateless responder cookies (src/ike/cookie.c, RFC 7296 §2.6): a cookie
 * verifies for the request it was made for and no other, survives one
 * renewal of the secret and not two, and only at its exact length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ike/cookie.h"
#include "ike/message.h"

#define LIFE 60

static const uint8_t ni[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
static const uint8_t ip4[4] = { 192, 0, 2, 1 };
static const uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1 };
static const uint64_t spi = 0x0123456789abcdefu;

static bool ok(struct ike_cookie_secret *s, uint64_t now, const uint8_t *c, size_t len)
{
	return ike_cookie_verify(s, now, c, len, ni, sizeof(ni), ip4, sizeof(ip4), spi);
}

static void test_verify(void **state)
{
	(void)state;
	struct ike_cookie_secret s;
	uint8_t c[IKE_COOKIE_LEN], c6[IKE_COOKIE_LEN];
	assert_true(ike_cookie_init(&s, 1000, LIFE));
	assert_true(ike_cookie_make(&s, 1000, ni, sizeof(ni), ip4, sizeof(ip4), spi, c));
	assert_true(ok(&s, 1000, c, sizeof(c)));
	assert_true(ok(&s, 1000 + LIFE - 1, c, sizeof(c)));
	/* The same request makes the same cookie (stateless: it is recomputed). */
	uint8_t again[IKE_COOKIE_LEN];
	assert_true(ike_cookie_make(&s, 1010, ni, sizeof(ni), ip4, sizeof(ip4), spi, again));
	assert_memory_equal(c, again, sizeof(c));

	/* Another nonce, address, SPI: no. */
	uint8_t other[sizeof(ni)];
	memcpy(other, ni, sizeof(ni));
	other[31] ^= 1;
	assert_false(ike_cookie_verify(&s, 1000, c, sizeof(c), other, sizeof(other), ip4,
	                               sizeof(ip4), spi));
	assert_false(ike_cookie_verify(&s, 1000, c, sizeof(c), ni, sizeof(ni) - 1, ip4,
	                               sizeof(ip4), spi));
	uint8_t ip4b[4] = { 192, 0, 2, 2 };
	assert_false(ike_cookie_verify(&s, 1000, c, sizeof(c), ni, sizeof(ni), ip4b, sizeof(ip4b),
	                               spi));
	assert_false(ike_cookie_verify(&s, 1000, c, sizeof(c), ni, sizeof(ni), ip4, sizeof(ip4),
	                               spi ^ 1));
	assert_false(ike_cookie_verify(&s, 1000, c, sizeof(c), ni, sizeof(ni), ip4, sizeof(ip4),
	                               spi ^ (1ull << 63)));

	/* The same bytes split differently between Ni and IPi (an IPv6 address
	 * ending in the IPv4 one): another cookie. */
	assert_true(ike_cookie_make(&s, 1000, ni, 20, ip6, sizeof(ip6), spi, c6));
	uint8_t ni_ext[32];
	memcpy(ni_ext, ni, 20);
	memcpy(ni_ext + 20, ip6, 12);
	assert_true(ike_cookie_verify(&s, 1000, c6, sizeof(c6), ni, 20, ip6, sizeof(ip6), spi));
	assert_false(ike_cookie_verify(&s, 1000, c6, sizeof(c6), ni_ext, 32, ip6 + 12, 4, spi));

	/* Any flipped bit of the cookie: no. */
	for (size_t i = 0; i < sizeof(c) * 8; i++) {
		uint8_t bad[IKE_COOKIE_LEN];
		memcpy(bad, c, sizeof(c));
		bad[i / 8] ^= (uint8_t)(1 << (i % 8));
		assert_false(ok(&s, 1000, bad, sizeof(bad)));
	}
	ike_cookie_free(&s);
}

static void test_lengths(void **state)
{
	(void)state;
	struct ike_cookie_secret s;
	uint8_t c[IKE_COOKIE_MAX + 1] = { 0 };
	assert_true(ike_cookie_init(&s, 0, LIFE));
	assert_true(ike_cookie_make(&s, 0, ni, sizeof(ni), ip4, sizeof(ip4), spi, c));
	assert_true(ok(&s, 0, c, IKE_COOKIE_LEN));
	/* Truncated, or with anything after it (up to and past 64 octets). */
	for (size_t n = 0; n <= sizeof(c); n++)
		if (n != IKE_COOKIE_LEN)
			assert_false(ok(&s, 0, c, n));
	assert_false(ok(&s, 0, NULL, IKE_COOKIE_LEN));
	/* Arguments out of range: no cookie, and none verifies. */
	static const uint8_t big[IKE_NONCE_MAX + 1];
	uint8_t out[IKE_COOKIE_LEN];
	assert_false(ike_cookie_make(&s, 0, big, sizeof(big), ip4, sizeof(ip4), spi, out));
	assert_true(ike_cookie_make(&s, 0, big, IKE_NONCE_MAX, ip4, sizeof(ip4), spi, out));
	assert_false(ike_cookie_make(&s, 0, ni, sizeof(ni), ip6, 5, spi, out));
	assert_false(ike_cookie_verify(&s, 0, c, IKE_COOKIE_LEN, ni, sizeof(ni), ip4, 3, spi));
	assert_false(ike_cookie_verify(&s, 0, c, IKE_COOKIE_LEN, big, sizeof(big), ip4, 4, spi));
	ike_cookie_free(&s);
	assert_false(ike_cookie_init(&s, 0, 0));    /* a lifetime is needed */
}

static void test_rotation(void **state)
{
	(void)state;
	struct ike_cookie_secret s;
	uint8_t c[IKE_COOKIE_LEN], d[IKE_COOKIE_LEN];
	assert_true(ike_cookie_init(&s, 1000, LIFE));
	assert_true(ike_cookie_make(&s, 1000 + LIFE - 1, ni, sizeof(ni), ip4, sizeof(ip4), spi, c));
	/* One renewal: made just before, still good; a new cookie differs. */
	assert_true(ike_cookie_make(&s, 1000 + LIFE, ni, sizeof(ni), ip4, sizeof(ip4), spi, d));
	assert_memory_not_equal(c, d, sizeof(c));
	assert_true(ok(&s, 1000 + LIFE, c, sizeof(c)));
	assert_true(ok(&s, 1000 + LIFE, d, sizeof(d)));
	assert_true(ok(&s, 1000 + 2 * LIFE - 1, c, sizeof(c)));
	/* Two: the first is gone, the second still good. */
	assert_false(ok(&s, 1000 + 2 * LIFE, c, sizeof(c)));
	assert_true(ok(&s, 1000 + 2 * LIFE, d, sizeof(d)));
	/* Three: the second is gone too. */
	assert_false(ok(&s, 1000 + 3 * LIFE, d, sizeof(d)));
	ike_cookie_free(&s);

	/* Renewal is on the clock, not on use: a long quiet spell (no cookie
	 * made or checked) counts as every renewal it spans. */
	assert_true(ike_cookie_init(&s, 0, LIFE));
	assert_true(ike_cookie_make(&s, 10, ni, sizeof(ni), ip4, sizeof(ip4), spi, c));
	assert_true(ok(&s, LIFE + 5, c, sizeof(c)));           /* one renewal */
	ike_cookie_free(&s);
	assert_true(ike_cookie_init(&s, 0, LIFE));
	assert_true(ike_cookie_make(&s, 10, ni, sizeof(ni), ip4, sizeof(ip4), spi, c));
	assert_false(ok(&s, 2 * LIFE + 5, c, sizeof(c)));      /* two at once */
	assert_true(ike_cookie_make(&s, 2 * LIFE + 5, ni, sizeof(ni), ip4, sizeof(ip4), spi, d));
	assert_true(ok(&s, 3 * LIFE + 1, d, sizeof(d)));       /* the schedule kept: one */
	assert_false(ok(&s, 4 * LIFE, d, sizeof(d)));          /* two */
	ike_cookie_free(&s);

	/* A clock that goes back changes nothing. */
	assert_true(ike_cookie_init(&s, 500, LIFE));
	assert_true(ike_cookie_make(&s, 500, ni, sizeof(ni), ip4, sizeof(ip4), spi, c));
	assert_true(ok(&s, 100, c, sizeof(c)));
	ike_cookie_free(&s);

	/* Two responders (or one restarted): different secrets. */
	struct ike_cookie_secret t;
	assert_true(ike_cookie_init(&s, 0, LIFE));
	assert_true(ike_cookie_init(&t, 0, LIFE));
	assert_true(ike_cookie_make(&s, 0, ni, sizeof(ni), ip4, sizeof(ip4), spi, c));
	assert_false(ok(&t, 0, c, sizeof(c)));
	ike_cookie_free(&s);
	ike_cookie_free(&t);

	/* The version octet wraps: 600 renewals, a cookie still survives one. */
	assert_true(ike_cookie_init(&s, 0, 1));
	for (uint64_t now = 0; now < 600; now += 2) {
		assert_true(ike_cookie_make(&s, now, ni, sizeof(ni), ip4, sizeof(ip4), spi, c));
		assert_true(ok(&s, now + 1, c, sizeof(c)));
		assert_false(ok(&s, now + 2, c, sizeof(c)));
	}
	ike_cookie_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_rotation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
