/*
 * Tests for src/crypto/dh.c: the IKEv2 key exchange groups against the
 * published vectors in tests/vectors/key_exchange.json, and the checks on the
 * peer's value (RFC 6989, RFC 7748 §6.1).
 *
 *   x25519-function  RFC 7748 §5.2: dh_init_private(scalar), dh_derive(u).
 *   x25519-iterated  RFC 7748 §5.2, 1 and 1000 iterations through the API;
 *                    the 1,000,000-iteration vector (minutes) only when
 *                    SECPOL_SLOW_TESTS is set in the environment.
 *   x25519-dh        RFC 7748 §6.1, RFC 8031: both sides, public and shared.
 *   ecdh             RFC 5903 §8 and RFC 5114 groups 19/20/21: both sides,
 *                    public x | y, shared x, and the RFC 5903 KE payloads.
 *                    RFC 5114 groups 25/26 (192/224-bit ECP) are not
 *                    supported: dh_init must refuse them.
 *   modp-group       the primes of groups 1, 2, 14 are checked through the
 *                    API (see modp_prime); groups 5, 15-18 must be refused.
 *   modp-dh          RFC 5114 groups 22-24: not supported, must be refused.
 *
 * The JSON is read with SQLite's JSON functions (json_each / json_extract).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "vectors.h"

/* ---- Helpers ------------------------------------------------------------ */

static const unsigned supported[] = { 1, 2, 14, 19, 20, 21, 31 };

static bool is_supported(unsigned group)
{
	for (size_t i = 0; i < sizeof(supported) / sizeof(supported[0]); i++)
		if (supported[i] == group)
			return true;
	return false;
}

static void assert_refused(unsigned group)
{
	struct dh d;
	const char *err = NULL;
	assert_int_equal(dh_public_len(group), 0);
	assert_int_equal(dh_secret_len(group), 0);
	assert_false(dh_init(&d, group, true, &err));
	assert_non_null(err);
	assert_non_null(strstr(err, "unsupported"));
	assert_null(d.pkey);
}

/* A key pair from a known private value; legacy groups allowed. */
static void known(struct dh *d, unsigned group, const uint8_t *priv, size_t len)
{
	const char *err = NULL;
	if (!dh_init_private(d, group, priv, len, true, &err))
		fail_msg("dh_init_private(group %u): %s", group, err);
}

/* Shared secret with peer; fails the test if refused. Returns its length. */
static size_t derive_ok(struct dh *d, const uint8_t *peer, size_t len, uint8_t *secret)
{
	size_t slen = DH_MAX_SECRET;
	const char *err = NULL;
	if (!dh_derive(d, peer, len, secret, &slen, &err))
		fail_msg("dh_derive(group %u): %s", d->group, err);
	assert_int_equal(slen, dh_secret_len(d->group));
	return slen;
}

static void assert_derive_refused(struct dh *d, const uint8_t *peer, size_t len)
{
	uint8_t secret[DH_MAX_SECRET];
	size_t slen = sizeof(secret);
	const char *err = NULL;
	memset(secret, 0xa5, sizeof(secret));
	assert_false(dh_derive(d, peer, len, secret, &slen, &err));
	assert_non_null(err);
	/* Nothing of a secret is left behind: untouched, or wiped. */
	for (size_t i = 0; i < dh_secret_len(d->group); i++)
		assert_true(secret[i] == 0xa5 || secret[i] == 0);
}

static void assert_public(struct dh *d, const uint8_t *want, size_t len, struct vec *v)
{
	uint8_t pub[DH_MAX_PUBLIC];
	assert_int_equal(dh_public_len(d->group), len);
	assert_true(dh_public(d, pub, len));
	assert_mem(pub, want, len, "public value", v);
}

/* ---- Group table, legacy, round trips ----------------------------------- */

static void test_groups(void **state)
{
	(void)state;
	static const struct { unsigned g; size_t pub, secret; } sizes[] = {
		{ 1, 96, 96 }, { 2, 128, 128 }, { 14, 256, 256 }, { 19, 64, 32 },
		{ 20, 96, 48 }, { 21, 132, 66 }, { 31, 32, 32 },
	};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(dh_public_len(sizes[i].g), sizes[i].pub);
		assert_int_equal(dh_secret_len(sizes[i].g), sizes[i].secret);
		assert_true(sizes[i].pub <= DH_MAX_PUBLIC && sizes[i].secret <= DH_MAX_SECRET);
	}
	static const unsigned unsupported[] = { 0, 3, 4, 5, 15, 16, 22, 25, 26, 30, 32, 65535 };
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		assert_refused(unsupported[i]);

	/* MODP-768 only with legacy allowed, and the error says why;
	 * MODP-1024 without (best-practices §3.1). */
	struct dh d;
	const char *err = NULL;
	assert_true(dh_init(&d, 2, false, &err));
	dh_free(&d);
	for (unsigned g = 1; g <= 1; g++) {
		err = NULL;
		assert_false(dh_init(&d, g, false, &err));
		assert_non_null(strstr(err, "legacy"));
		err = NULL;
		uint8_t one = 3;
		assert_false(dh_init_private(&d, g, &one, 1, false, &err));
		assert_non_null(strstr(err, "legacy"));
	}
	/* Private values of the wrong length. */
	uint8_t k[200] = { 1 };
	assert_false(dh_init_private(&d, 31, k, 31, false, &err));
	assert_false(dh_init_private(&d, 19, k, 33, false, &err));
	assert_false(dh_init_private(&d, 14, k, 0, false, &err));
	/* No key: nothing to show or derive; freeing twice is harmless. */
	memset(&d, 0, sizeof(d));
	uint8_t buf[DH_MAX_PUBLIC];
	assert_false(dh_public(&d, buf, 32));
	dh_free(&d);
	dh_free(&d);
}

/* Two fresh key pairs per group agree on g^ir; the public values have the
 * group's fixed length (MODP values with a leading zero octet included). */
static void roundtrip(unsigned group)
{
	struct dh a, b;
	const char *err = NULL;
	size_t plen = dh_public_len(group);
	uint8_t pa[DH_MAX_PUBLIC], pb[DH_MAX_PUBLIC], sa[DH_MAX_SECRET], sb[DH_MAX_SECRET];
	assert_true(dh_init(&a, group, true, &err));
	assert_true(dh_init(&b, group, true, &err));
	assert_true(dh_public(&a, pa, plen));
	assert_true(dh_public(&b, pb, plen));
	assert_false(dh_public(&a, pa, plen - 1));
	assert_false(dh_public(&a, pa, plen + 1));
	assert_memory_not_equal(pa, pb, plen);
	size_t la = derive_ok(&a, pb, plen, sa);
	size_t lb = derive_ok(&b, pa, plen, sb);
	assert_int_equal(la, lb);
	assert_memory_equal(sa, sb, la);
	/* The key pair stays usable: deriving again gives the same value. */
	derive_ok(&a, pb, plen, sb);
	assert_memory_equal(sa, sb, la);
	/* Too little room for the secret. */
	size_t small = la - 1;
	assert_false(dh_derive(&a, pb, plen, sb, &small, &err));
	dh_free(&a);
	dh_free(&b);
	assert_null(a.pkey);
}

static void test_roundtrip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(supported) / sizeof(supported[0]); i++)
		roundtrip(supported[i]);
}

/* ---- key_exchange.json ------------------------------------------------- */

struct kx_stats {
	int api;          /* checked through dh_init_private / dh_public / dh_derive */
	int refused;      /* a group this module does not support: dh_init refuses it */
	int slow;         /* skipped unless SECPOL_SLOW_TESTS */
};

static void x25519_function(struct vec *v)
{
	size_t kl, ul, ol;
	const uint8_t *k = hexf(v, "scalar", &kl), *u = hexf(v, "u", &ul);
	const uint8_t *out = hexf(v, "output", &ol);
	struct dh d;
	uint8_t s[DH_MAX_SECRET];
	known(&d, 31, k, kl);
	assert_int_equal(derive_ok(&d, u, ul, s), ol);
	assert_mem(s, out, ol, "X25519(scalar, u)", v);
	dh_free(&d);
}

/* k = u = 9; repeatedly (k, u) = (X25519(k, u), k). */
static bool x25519_iterated(struct vec *v)
{
	long n = num(v, "iterations");
	if (n > 1000 && !getenv("SECPOL_SLOW_TESTS"))
		return false;
	size_t sl, ol;
	const uint8_t *start = hexf(v, "start", &sl), *out = hexf(v, "output", &ol);
	uint8_t k[32], u[32], r[DH_MAX_SECRET];
	assert_int_equal(sl, 32);
	memcpy(k, start, 32);
	memcpy(u, start, 32);
	for (long i = 0; i < n; i++) {
		struct dh d;
		known(&d, 31, k, 32);
		derive_ok(&d, u, 32, r);
		dh_free(&d);
		memcpy(u, k, 32);
		memcpy(k, r, 32);
	}
	assert_mem(k, out, ol, "iterated X25519", v);
	return true;
}

/* Public "public_<side>", or "public_<side>_x" | "public_<side>_y". */
static const uint8_t *public_of(struct vec *v, char side, size_t *len)
{
	char key[32], kx[32], ky[32];
	snprintf(key, sizeof(key), "public_%c", side);
	if (field(v, key))
		return hexf(v, key, len);
	snprintf(kx, sizeof(kx), "public_%c_x", side);
	snprintf(ky, sizeof(ky), "public_%c_y", side);
	size_t xl, yl;
	const uint8_t *x = hexf(v, kx, &xl), *y = hexf(v, ky, &yl);
	uint8_t *xy = vkeep(v, malloc(xl + yl));
	memcpy(xy, x, xl);
	memcpy(xy + xl, y, yl);
	*len = xl + yl;
	return xy;
}

/* RFC 5903 KE payload: generic header (length = 8 + public) | group | 0 | x | y. */
static void ke_payload(struct vec *v, const char *key, unsigned group, const uint8_t *pub,
                       size_t plen)
{
	if (!field(v, key))
		return;
	size_t len;
	const uint8_t *ke = hexf(v, key, &len);
	assert_int_equal(len, 8 + plen);
	assert_int_equal(ke[2] << 8 | ke[3], (int)len);
	assert_int_equal(ke[4] << 8 | ke[5], (int)group);
	assert_int_equal(ke[6] << 8 | ke[7], 0);
	assert_mem(ke + 8, pub, plen, key, v);
}

/* Both sides from their private values: public values and g^ir. */
static void both_sides(struct vec *v, unsigned group, const char *shared_key)
{
	size_t il, rl, pil, prl, sl;
	const uint8_t *xi = hexf(v, "private_i", &il), *xr = hexf(v, "private_r", &rl);
	const uint8_t *pi = public_of(v, 'i', &pil), *pr = public_of(v, 'r', &prl);
	const uint8_t *shared = hexf(v, shared_key, &sl);
	struct dh i, r;
	uint8_t si[DH_MAX_SECRET], sr[DH_MAX_SECRET];
	known(&i, group, xi, il);
	known(&r, group, xr, rl);
	assert_public(&i, pi, pil, v);
	assert_public(&r, pr, prl, v);
	assert_int_equal(derive_ok(&i, pr, prl, si), sl);
	assert_int_equal(derive_ok(&r, pi, pil, sr), sl);
	assert_mem(si, shared, sl, "g^ir (initiator)", v);
	assert_mem(sr, shared, sl, "g^ir (responder)", v);
	ke_payload(v, "ke_payload_i", group, pi, pil);
	ke_payload(v, "ke_payload_r", group, pr, prl);
	dh_free(&i);
	dh_free(&r);
}

/* Big-endian value minus a small number (no borrow out of the top octet). */
static void be_sub(uint8_t *x, size_t len, unsigned n)
{
	for (size_t i = len; i-- > 0 && n;) {
		unsigned d = x[i];
		x[i] = (uint8_t)(d - n);
		n = d < n ? 1 : 0;
	}
}

/*
 * The group's prime is exactly p (and the generator 2) when, with x = 2:
 * public = 2^2 = 4, and (p-2)^2 = 4 mod p is accepted while p-1, p and
 * values up to 1 are refused (RFC 6989: 1 < y < p-1).
 */
static void modp_prime(struct vec *v, unsigned group)
{
	size_t plen;
	const uint8_t *p = hexf(v, "prime", &plen);
	assert_int_equal(num(v, "bits"), (long)plen * 8);
	assert_string_equal(need(v, "generator"), "02");
	assert_int_equal(dh_public_len(group), plen);
	uint8_t four[DH_MAX_PUBLIC] = { 0 }, y[DH_MAX_PUBLIC], s[DH_MAX_SECRET];
	four[plen - 1] = 4;
	const uint8_t two = 2;
	struct dh d;
	known(&d, group, &two, 1);
	assert_public(&d, four, plen, v);
	memcpy(y, p, plen);
	be_sub(y, plen, 2);
	derive_ok(&d, y, plen, s);
	assert_mem(s, four, plen, "(p-2)^2 mod p", v);
	memset(y, 0, plen);
	y[plen - 1] = 2;
	derive_ok(&d, y, plen, s);
	assert_mem(s, four, plen, "2^2 mod p", v);
	for (unsigned sub = 0; sub <= 1; sub++) {       /* p, then p-1 */
		memcpy(y, p, plen);
		be_sub(y, plen, sub);
		assert_derive_refused(&d, y, plen);
	}
	memset(y, 0, plen);
	assert_derive_refused(&d, y, plen);             /* 0 */
	y[plen - 1] = 1;
	assert_derive_refused(&d, y, plen);             /* 1 */
	memset(y, 0xff, plen);
	assert_derive_refused(&d, y, plen);             /* > p */
	dh_free(&d);
}

static void kx_vector(struct vec *v, void *ctx)
{
	struct kx_stats *st = ctx;
	const char *kind = need(v, "kind");
	unsigned group = field(v, "group") ? (unsigned)num(v, "group") : 31;
	if (strcmp(kind, "x25519-function") == 0) {
		x25519_function(v);
	} else if (strcmp(kind, "x25519-iterated") == 0) {
		if (!x25519_iterated(v)) {
			st->slow++;
			return;
		}
	} else if (strcmp(kind, "x25519-dh") == 0) {
		assert_int_equal(group, 31);
		both_sides(v, 31, "shared");
	} else if (!is_supported(group)) {
		assert_refused(group);
		st->refused++;
		return;
	} else if (strcmp(kind, "ecdh") == 0) {
		both_sides(v, group, "shared_secret");
	} else if (strcmp(kind, "modp-group") == 0) {
		modp_prime(v, group);
	} else {
		fail_msg("unexpected vector kind %s (group %u)", kind, group);
	}
	st->api++;
}

static void test_vectors(void **state)
{
	(void)state;
	struct kx_stats st = { 0, 0, 0 };
	int n = each_vector("key_exchange.json", kx_vector, &st);
	print_message("key_exchange.json: %d vectors, %d through the dh API, %d unsupported "
	              "groups refused, %d slow skipped (set SECPOL_SLOW_TESTS)\n",
	              n, st.api, st.refused, st.slow);
	assert_int_equal(n, 26);
	assert_int_equal(st.api + st.refused + st.slow, n);
	/* X25519: 2 functions, 3 iterated (1 slow), 2 exchanges; ECP 19-21: 6;
	 * MODP primes 1, 2, 14: 3. */
	assert_int_equal(st.api + st.slow, 16);
	/* ECP 25, 26; MODP 5, 15, 16, 17, 18; MODP 22, 23, 24. */
	assert_int_equal(st.refused, 10);
}

/* ---- Invalid peer values ------------------------------------------------ */

static void test_bad_peers_ecp(void **state)
{
	(void)state;
	for (unsigned group = 19; group <= 21; group++) {
		struct dh a, b;
		const char *err = NULL;
		size_t plen = dh_public_len(group);
		uint8_t pub[DH_MAX_PUBLIC];
		assert_true(dh_init(&a, group, false, &err));
		assert_true(dh_init(&b, group, false, &err));
		assert_true(dh_public(&b, pub, plen));
		pub[plen - 1] ^= 1;                     /* y off by one: not on the curve */
		assert_derive_refused(&a, pub, plen);
		pub[plen - 1] ^= 1;
		pub[0] ^= 0x80;                         /* x changed */
		assert_derive_refused(&a, pub, plen);
		pub[0] ^= 0x80;
		assert_derive_refused(&a, pub, plen - 1);
		assert_derive_refused(&a, pub, plen + 1);
		memset(pub, 0, plen);                   /* (0, 0) */
		assert_derive_refused(&a, pub, plen);
		memset(pub, 0xff, plen);                /* coordinates beyond the field */
		assert_derive_refused(&a, pub, plen);
		dh_free(&a);
		dh_free(&b);
	}
}

static void test_bad_peers_x25519(void **state)
{
	(void)state;
	/* Points of small order (and their non-canonical encodings): every one of
	 * them makes the shared secret all zeros, which must be refused. */
	static const char *const small[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	};
	struct dh a;
	const char *err = NULL;
	assert_true(dh_init(&a, 31, false, &err));
	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		uint8_t u[32];
		for (size_t j = 0; j < 32; j++)
			u[j] = (uint8_t)(nibble(small[i][2 * j]) << 4 | nibble(small[i][2 * j + 1]));
		assert_derive_refused(&a, u, 32);
	}
	uint8_t u[33] = { 9 };
	assert_derive_refused(&a, u, 31);
	assert_derive_refused(&a, u, 33);
	dh_free(&a);
}

static void test_bad_peers_modp(void **state)
{
	(void)state;
	/* The vectors cover the range checks with the exact primes; here the
	 * lengths, for a group with and without an OpenSSL name. */
	static const unsigned modp[] = { 2, 14 };
	for (size_t i = 0; i < 2; i++) {
		struct dh a, b;
		const char *err = NULL;
		size_t plen = dh_public_len(modp[i]);
		uint8_t pub[DH_MAX_PUBLIC + 1];
		assert_true(dh_init(&a, modp[i], true, &err));
		assert_true(dh_init(&b, modp[i], true, &err));
		assert_true(dh_public(&b, pub + 1, plen));
		pub[0] = 0;
		assert_derive_refused(&a, pub, plen + 1);   /* same value, one octet longer */
		assert_derive_refused(&a, pub + 2, plen - 1);
		assert_derive_refused(&a, NULL, plen);
		dh_free(&a);
		dh_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_bad_peers_ecp),
		cmocka_unit_test(test_bad_peers_x25519),
		cmocka_unit_test(test_bad_peers_modp),
	};
	return cmocka_run_group_tests(tests, vectors_setup, vectors_teardown);
}
