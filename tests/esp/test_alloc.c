/*
 * Heap allocations per packet in steady state (issue 3, point 6), counted
 * without valgrind:
 *
 *  - libcrypto's allocations through CRYPTO_set_mem_functions (set before
 *    OpenSSL allocates anything), in every build;
 *  - every malloc/calloc/realloc of the process by interposing them (over
 *    glibc's __libc_* functions), in builds without AddressSanitizer (which
 *    owns malloc itself).
 *
 * Only the calls esp_output/ah_output + ipsec_input are inside the counting
 * window. The AEAD transforms (GCM, ChaCha20-Poly1305, GMAC) allocate
 * nothing. The HMAC-based ones allocate inside OpenSSL 3.0: EVP_MAC_init
 * with the key already set and EVP_MAC_final each copy a digest context
 * (EVP_MD_CTX_copy_ex -> dupctx), two allocations per ICV; that is asserted
 * as an upper bound and reported, since secpol itself allocates nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "esp/esp.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

static volatile unsigned long ossl_allocs, libc_allocs;
static volatile bool counting;

static void *count_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	if (counting)
		ossl_allocs++;
	return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	if (counting)
		ossl_allocs++;
	return realloc(p, n);
}

static void count_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

#ifndef SANITIZED
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

void *malloc(size_t n)
{
	if (counting)
		libc_allocs++;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	if (counting)
		libc_allocs++;
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	if (counting)
		libc_allocs++;
	return __libc_realloc(p, n);
}

void free(void *p)
{
	__libc_free(p);
}
#endif

struct alg {
	const char *name;
	enum sa_proto proto;
	enum crypto_enc enc;
	enum crypto_mac integ;
};

static const struct alg algs[] = {
	{ "esp aes-128-gcm", SA_PROTO_ESP, ENC_AES128_GCM, MAC_NONE },
	{ "esp aes-256-gcm", SA_PROTO_ESP, ENC_AES256_GCM, MAC_NONE },
	{ "esp chacha20-poly1305", SA_PROTO_ESP, ENC_CHACHA20_POLY1305, MAC_NONE },
	{ "esp aes-128-gmac", SA_PROTO_ESP, ENC_AES128_GMAC, MAC_NONE },
	{ "esp aes-256-gmac", SA_PROTO_ESP, ENC_AES256_GMAC, MAC_NONE },
	{ "esp aes-128-cbc-sha256", SA_PROTO_ESP, ENC_AES128_CBC, MAC_HMAC_SHA256_128 },
	{ "esp aes-256-cbc-sha512", SA_PROTO_ESP, ENC_AES256_CBC, MAC_HMAC_SHA512_256 },
	{ "esp 3des-sha1", SA_PROTO_ESP, ENC_3DES_CBC, MAC_HMAC_SHA1_96 },
	{ "esp des-md5", SA_PROTO_ESP, ENC_DES_CBC, MAC_HMAC_MD5_96 },
	{ "esp null-sha256", SA_PROTO_ESP, ENC_NULL, MAC_HMAC_SHA256_128 },
	{ "ah sha1", SA_PROTO_AH, ENC_NULL, MAC_HMAC_SHA1_96 },
	{ "ah sha256", SA_PROTO_AH, ENC_NULL, MAC_HMAC_SHA256_128 },
	{ "ah sha384", SA_PROTO_AH, ENC_NULL, MAC_HMAC_SHA384_192 },
};

#define ROUNDS 50

static void run(const struct alg *a, enum sa_mode mode, int family, bool esn)
{
	uint8_t key[64];
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 13 + 1);
	const struct crypto_enc_info *ei = crypto_enc_info(a->enc);
	struct sad *tx = sad_new(4), *rx = sad_new(4);
	struct sa_config c;
	memset(&c, 0, sizeof(c));
	c.spi = 0x4242;
	c.proto = a->proto;
	c.mode = mode;
	c.esn = esn;
	c.enc = a->enc;
	c.enc_key = key;
	c.enc_key_len = a->proto == SA_PROTO_ESP ? ei->key_len + ei->salt_len : 0;
	c.integ = a->integ;
	c.auth_key = key;
	c.auth_key_len = a->integ != MAC_NONE ? crypto_mac_info(a->integ)->key_len : 0;
	c.allow_legacy = true;
	c.replay_window = 1024;
	c.src.family = c.dst.family = family == 4 ? AF_INET : AF_INET6;
	c.src.bytes[0] = 10;
	c.dst.bytes[0] = 10;
	c.dst.bytes[family == 4 ? 3 : 15] = 2;
	const char *err;
	struct ipsec_sa *out = sad_add(tx, &c, &err);
	c.inbound = true;
	struct ipsec_sa *in = sad_add(rx, &c, &err);
	assert_non_null(out);
	assert_non_null(in);

	static uint8_t buf[4096], orig[1600];
	size_t len = family == 4 ? 20 + 1000 : 40 + 1000;
	memset(orig, 0x5c, sizeof(orig));
	if (family == 4) {
		memset(orig, 0, 20);
		orig[0] = 0x45;
		orig[2] = (uint8_t)(len >> 8);
		orig[3] = (uint8_t)len;
		orig[8] = 64;
		orig[9] = 17;
		memcpy(orig + 12, c.src.bytes, 4);
		memcpy(orig + 16, c.dst.bytes, 4);
	} else {
		memset(orig, 0, 40);
		orig[0] = 0x60;
		orig[4] = (uint8_t)((len - 40) >> 8);
		orig[5] = (uint8_t)(len - 40);
		orig[6] = 17;
		orig[7] = 64;
		memcpy(orig + 8, c.src.bytes, 16);
		memcpy(orig + 24, c.dst.bytes, 16);
	}
	if (family == 4) {
		uint32_t s = 0;
		for (int i = 0; i < 20; i += 2)
			s += (uint32_t)(orig[i] << 8 | orig[i + 1]);
		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		orig[10] = (uint8_t)(~s >> 8);
		orig[11] = (uint8_t)~s;
	}

	unsigned long o0 = 0, l0 = 0;
	for (int i = 0; i < ROUNDS + 5; i++) {
		memcpy(buf + 128, orig, len);
		struct pkt p = { buf, sizeof(buf), 128, len };
		struct ipsec_sa *got;
		if (i == 5) {                      /* after warming up */
			o0 = ossl_allocs;
			l0 = libc_allocs;
		}
		counting = true;
		enum sa_drop r1 = a->proto == SA_PROTO_ESP ? esp_output(out, &p, 1) : ah_output(out, &p, 1);
		enum sa_drop r2 = ipsec_input(rx, &p, 1, &got);
		counting = false;
		assert_int_equal(r1, DROP_NONE);
		assert_int_equal(r2, DROP_NONE);
		assert_int_equal(p.len, len);
		assert_memory_equal(pkt_data(&p), orig, len);
	}
	unsigned long o = ossl_allocs - o0, l = libc_allocs - l0;
	bool hmac = a->integ != MAC_NONE;
#ifdef SANITIZED
	print_message("%-24s %s v%d esn=%d: %.1f libcrypto allocations per packet (out+in)\n",
	              a->name, mode == SA_TUNNEL ? "tunnel" : "transport", family, esn,
	              (double)o / ROUNDS);
	assert_int_equal(l, 0);            /* malloc is ASan's: not counted here */
#else
	print_message("%-24s %s v%d esn=%d: %.1f libcrypto, %.1f malloc calls per packet (out+in)\n",
	              a->name, mode == SA_TUNNEL ? "tunnel" : "transport", family, esn,
	              (double)o / ROUNDS, (double)l / ROUNDS);
	/* Everything that was malloc'd came through libcrypto's allocator. */
	assert_int_equal(l, o);
#endif
	if (!hmac)
		assert_int_equal(o, 0);
	else
		assert_true(o <= (unsigned long)ROUNDS * 2 * 2);   /* 2 per ICV, out and in */
	sad_free(tx);
	sad_free(rx);
}

static void test_steady_state_allocations(void **state)
{
	(void)state;
	for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++)
		for (int mode = 0; mode < 2; mode++)
			for (int fam = 4; fam <= 6; fam += 2)
				run(&algs[a], (enum sa_mode)mode, fam, (a + (size_t)mode) % 2);
}

int main(void)
{
	/* Before OpenSSL allocates anything. */
	if (!CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free)) {
		fprintf(stderr, "CRYPTO_set_mem_functions refused (OpenSSL already allocated)\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steady_state_allocations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
