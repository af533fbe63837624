/*
 * The SK payload (src/ike/sk.c): the RFC 7634 IKEv2 example (ChaCha20-
 * Poly1305) opened and rebuilt byte for byte, round trips for every IKE
 * cipher suite, and refusals: a flipped bit anywhere, every truncation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ike/message.h"
#include "ike/sk.h"
#include "vectors.h"

static void rfc7634_vector(struct vec *v, void *ctx)
{
	int *seen = ctx;
	if (strcmp(need(v, "id"), "rfc7634-ikev2-example") != 0)
		return;
	size_t klen, mlen, plen, ivlen;
	const uint8_t *keymat = hexf(v, "keymat", &klen);
	const uint8_t *want = hexf(v, "ike_message", &mlen);
	const uint8_t *plain = hexf(v, "plaintext", &plen);
	const uint8_t *iv = hexf(v, "iv", &ivlen);
	const char *err = NULL;
	uint8_t msg[256];
	assert_true(mlen <= sizeof(msg) && plen >= 1 && ivlen == 8);

	struct ike_sk_key in;
	assert_true(ike_sk_key_init(&in, ENC_CHACHA20_POLY1305, keymat, klen, MAC_NONE, NULL, 0,
	                            false, false, &err));
	memcpy(msg, want, mlen);
	uint8_t *inner;
	size_t inner_len;
	assert_true(ike_sk_open(&in, msg, mlen, 28, &inner, &inner_len, &err));
	/* The example's plaintext is the inner payloads and a zero pad length. */
	assert_int_equal(inner_len, plen - 1);
	assert_memory_equal(inner, plain, inner_len);
	assert_int_equal(plain[plen - 1], 0);
	struct ike_message m;
	assert_int_equal(ike_decode_inner(inner, inner_len, IKE_PL_NOTIFY, &m, &err), IKE_DECODE_OK);
	ike_sk_key_free(&in);

	/* Sealed again with the example's IV: the same message. */
	struct ike_sk_key out;
	assert_true(ike_sk_key_init(&out, ENC_CHACHA20_POLY1305, keymat, klen, MAC_NONE, NULL, 0,
	                            true, false, &err));
	uint64_t c = 0;
	for (int i = 0; i < 8; i++)
		c = c << 8 | iv[i];
	out.next_iv = c;
	memset(msg, 0, sizeof(msg));
	memcpy(msg, want, 32);                 /* IKE header and SK header */
	memcpy(msg + 40, plain, plen - 1);     /* after the 8-octet IV */
	assert_int_equal(ike_sk_seal(&out, msg, sizeof(msg), 28, plen - 1, &err), mlen);
	assert_memory_equal(msg, want, mlen);
	ike_sk_key_free(&out);
	(*seen)++;
}

static void test_rfc7634_example(void **state)
{
	(void)state;
	int seen = 0;
	each_vector("chacha20_poly1305.json", rfc7634_vector, &seen);
	assert_int_equal(seen, 1);
}

static const struct suite {
	enum crypto_enc enc;
	enum crypto_mac integ;
	bool legacy;
} suites[] = {
	{ ENC_AES128_GCM, MAC_NONE, false },
	{ ENC_AES256_GCM, MAC_NONE, false },
	{ ENC_CHACHA20_POLY1305, MAC_NONE, false },
	{ ENC_AES128_CBC, MAC_HMAC_SHA256_128, false },
	{ ENC_AES256_CBC, MAC_HMAC_SHA512_256, false },
	{ ENC_AES256_CBC, MAC_HMAC_SHA384_192, false },
	{ ENC_3DES_CBC, MAC_HMAC_SHA1_96, false },
	{ ENC_DES_CBC, MAC_HMAC_MD5_96, true },
};

/* An IKE header and an SK payload whose first inner payload is a Notify. */
static size_t build(uint8_t *msg, size_t cap, const struct ike_sk_key *k, size_t *inner_len)
{
	static const uint8_t hdr[28] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	                                 IKE_PL_SK, 0x20, IKE_INFORMATIONAL, 0x08, 0, 0, 0, 7 };
	/* Notify INITIAL_CONTACT, then a private-use status Notify with 9 octets of data. */
	static const uint8_t inner[] = { IKE_PL_NOTIFY, 0, 0, 8, 0, 0, 0x40, 0x00,
	                                 0, 0, 0, 17, 0, 0, 0xa0, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	memset(msg, 0, cap);
	memcpy(msg, hdr, sizeof(hdr));
	msg[28] = IKE_PL_NOTIFY;
	size_t iv = crypto_enc_info(k->enc.alg)->iv_len;
	memcpy(msg + 32 + iv, inner, sizeof(inner));
	*inner_len = sizeof(inner);
	return 32 + iv;
}

static void test_round_trips(void **state)
{
	(void)state;
	uint8_t ekey[64], akey[64];
	for (size_t i = 0; i < sizeof(ekey); i++) {
		ekey[i] = (uint8_t)(i * 7 + 1);
		akey[i] = (uint8_t)(i * 13 + 5);
	}
	for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++) {
		const struct suite *su = &suites[s];
		const struct crypto_enc_info *ei = crypto_enc_info(su->enc);
		size_t el = ei->key_len + ei->salt_len;
		size_t al = su->integ == MAC_NONE ? 0 : crypto_mac_info(su->integ)->key_len;
		struct ike_sk_key out, in;
		const char *err = NULL;
		assert_true(ike_sk_key_init(&out, su->enc, ekey, el, su->integ, akey, al, true,
		                            su->legacy, &err));
		assert_true(ike_sk_key_init(&in, su->enc, ekey, el, su->integ, akey, al, false,
		                            su->legacy, &err));
		uint8_t msg[512], copy[512];
		size_t inner_len, at = build(msg, sizeof(msg), &out, &inner_len);
		uint8_t plain[64];
		memcpy(plain, msg + at, inner_len);
		size_t len = ike_sk_seal(&out, msg, sizeof(msg), 28, inner_len, &err);
		assert_int_equal(len, 32 + ike_sk_overhead(&out, inner_len) + inner_len);
		if (!out.aead)
			assert_int_equal((len - at - crypto_mac_info(su->integ)->icv_len) % ei->block, 0);
		assert_memory_not_equal(msg + at, plain, inner_len);   /* encrypted */
		/* The sealed message is a valid IKE message ending in SK. */
		struct ike_message m;
		if (ike_decode(msg, len, &m, &err) != IKE_DECODE_OK)
			fail_msg("suite %zu: %s", s, err);
		memcpy(copy, msg, len);
		uint8_t *inner;
		size_t got;
		assert_true(ike_sk_open(&in, copy, len, 28, &inner, &got, &err));
		assert_int_equal(got, inner_len);
		assert_memory_equal(inner, plain, inner_len);
		assert_int_equal(ike_decode_inner(inner, got, IKE_PL_NOTIFY, &m, &err), IKE_DECODE_OK);
		assert_int_equal(m.count, 2);
		/* Any flipped bit, header included, is caught before decryption. */
		for (size_t b = 0; b < len; b++) {
			memcpy(copy, msg, len);
			copy[b] ^= 0x10;
			assert_false(ike_sk_open(&in, copy, len, 28, &inner, &got, &err));
		}
		/* So is every truncation. */
		for (size_t n = 0; n < len; n++) {
			memcpy(copy, msg, len);
			assert_false(ike_sk_open(&in, copy, n, 28, &inner, &got, &err));
		}
		/* Two seals never share an IV (AEAD: a counter; CBC: random). */
		uint8_t again[512];
		build(again, sizeof(again), &out, &inner_len);
		assert_int_equal(ike_sk_seal(&out, again, sizeof(again), 28, inner_len, &err), len);
		assert_memory_not_equal(again + 32, msg + 32, ei->iv_len);
		/* No room: refused, nothing written past cap. */
		build(again, sizeof(again), &out, &inner_len);
		assert_int_equal(ike_sk_seal(&out, again, len - 1, 28, inner_len, &err), 0);
		ike_sk_key_free(&out);
		ike_sk_key_free(&in);
	}
}

static void test_refused_suites(void **state)
{
	(void)state;
	uint8_t key[64] = { 0 };
	struct ike_sk_key k;
	const char *err = NULL;
	assert_false(ike_sk_key_init(&k, ENC_AES128_GCM, key, 20, MAC_HMAC_SHA256_128, key, 32,
	                             true, false, &err));
	assert_false(ike_sk_key_init(&k, ENC_AES128_CBC, key, 16, MAC_NONE, NULL, 0, true, false,
	                             &err));
	assert_false(ike_sk_key_init(&k, ENC_NULL, NULL, 0, MAC_HMAC_SHA256_128, key, 32, true,
	                             true, &err));
	assert_false(ike_sk_key_init(&k, ENC_AES128_GMAC, key, 20, MAC_NONE, NULL, 0, true,
	                             false, &err));
	assert_false(ike_sk_key_init(&k, ENC_DES_CBC, key, 8, MAC_HMAC_SHA1_96, key, 20, true,
	                             false, &err));   /* legacy not allowed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7634_example),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_refused_suites),
	};
	return cmocka_run_group_tests(tests, vectors_setup, vectors_teardown);
}
