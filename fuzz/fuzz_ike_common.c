/* See fuzz_ike_common.h. */
#include "fuzz_ike_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

static uint64_t rng_state;

void rng_reset(void)
{
	rng_state = 0x5ec901f022ull;
}

/* splitmix64: fast, and every input sees the same stream. */
void rng_fill(uint8_t *out, size_t len)
{
	while (len) {
		uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		size_t n = len < 8 ? len : 8;
		memcpy(out, &z, n);
		out += n;
		len -= n;
	}
}

bool host_random(void *ctx, uint8_t *out, size_t len)
{
	(void)ctx;
	rng_fill(out, len);
	return true;
}

static int ossl_bytes(unsigned char *buf, int num)
{
	if (num > 0)
		rng_fill(buf, (size_t)num);
	return 1;
}

static int ossl_seed(const void *buf, int num)
{
	(void)buf;
	(void)num;
	return 1;
}

static int ossl_add(const void *buf, int num, double entropy)
{
	(void)buf;
	(void)num;
	(void)entropy;
	return 1;
}

static void ossl_cleanup(void)
{
}

static int ossl_status(void)
{
	return 1;
}

static RAND_METHOD det_rand = { ossl_seed, ossl_bytes, ossl_cleanup, ossl_add, ossl_bytes,
                                ossl_status };

void fuzz_ike_deterministic_openssl(void)
{
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
	if (RAND_set_rand_method(&det_rand) != 1) {
		fprintf(stderr, "INVARIANT BROKEN: RAND_set_rand_method failed\n");
		abort();
	}
#pragma clang diagnostic pop
}

uint8_t get8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

uint16_t get16(struct in *in)
{
	uint16_t hi = get8(in);
	return (uint16_t)(hi << 8 | get8(in));
}

size_t take(struct in *in, size_t want, const uint8_t **out)
{
	size_t n = want < in->n ? want : in->n;
	*out = in->p;
	in->p += n;
	in->n -= n;
	return n;
}

void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}
