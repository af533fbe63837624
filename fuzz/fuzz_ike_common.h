/*
 * Shared by the IKEv2 engine harnesses (fuzz_ike_responder,
 * fuzz_ike_initiator): deterministic randomness -- the engine's host
 * callback and OpenSSL's own (so that Diffie-Hellman key pairs and CBC IVs
 * repeat from run to run, and a crash replays) -- and a bounded reader of
 * the fuzz input.
 */
#ifndef SECPOL_FUZZ_IKE_COMMON_H
#define SECPOL_FUZZ_IKE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The stream starts again from the same seed (call it for every input). */
void rng_reset(void);
void rng_fill(uint8_t *out, size_t len);
/* struct ike_host's random callback over the same stream. */
bool host_random(void *ctx, uint8_t *out, size_t len);
/* OpenSSL draws from the stream too (RAND_set_rand_method): a fuzzer
 * process only. Aborts if OpenSSL refuses. */
void fuzz_ike_deterministic_openssl(void);

/* The input, read front to back; past its end every read gives zeros. */
struct in {
	const uint8_t *p;
	size_t n;
};

uint8_t get8(struct in *in);
uint16_t get16(struct in *in);
/* Up to want octets (fewer at the end of the input). */
size_t take(struct in *in, size_t want, const uint8_t **out);

void put32(uint8_t *p, uint32_t v);
void put64(uint8_t *p, uint64_t v);
uint32_t be32(const uint8_t *p);
uint64_t be64(const uint8_t *p);
/* FNV-1a: a cheap fingerprint of a message. */
uint64_t fnv(const uint8_t *p, size_t n);

#endif
