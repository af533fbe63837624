/*
 * Shared by the IKEv2 engine harnesses (fuzz_ike_responder,
 * fuzz_ike_initiator): deterministic randomness -- the engine's host
 * callback and OpenSSL's own (so that Diffie-Hellman key pairs and CBC IVs
 * repeat from run to run, and a crash replays) -- a bounded reader of the
 * fuzz input, the invariants both check of what an engine installs and
 * seals, the harness's own IKE messages (notifications, NAT detection
 * hashes, SK-sealed messages) and the seed corpus writer. What differs
 * between the harnesses (who plays which side, what is patched or edited)
 * stays in each.
 */
#ifndef SECPOL_FUZZ_IKE_COMMON_H
#define SECPOL_FUZZ_IKE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ike/ike.h"
#include "ike/message.h"
#include "ike/sk.h"

/* LLVMFuzzerInitialize's common start: fuzz_ike_verbose from the
 * environment (FUZZ_IKE_VERBOSE=1: the engine's log lines on stderr),
 * deterministic OpenSSL (fuzz_ike_deterministic_openssl()) and
 * fuzz_ike_devnull -- where the engine's `show` output goes, so that its
 * formatting runs on every input without filling the log. */
void fuzz_ike_init(void);
extern bool fuzz_ike_verbose;
extern FILE *fuzz_ike_devnull;

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

/* [length:16][octets]: up to length octets (fewer at the end of the input). */
size_t take_chunk(struct in *in, const uint8_t **out);
/* The same into out: the first cap octets of the chunk (all of it is read). */
size_t take_chunk_copy(struct in *in, uint8_t *out, size_t cap);

/* ---- invariants ---------------------------------------------------------- */

/* A broken invariant: "INVARIANT BROKEN: what" on stderr, then abort() --
 * what libFuzzer reports as a crash. */
__attribute__((noreturn)) void fail(const char *what);
/* A policy string of the harness itself that does not parse is a bug of
 * the harness, not a finding: exit(1), no crash report. */
void parse_or_die(bool ok, const char *what);
bool addr_same(const struct ike_addr *a, const struct ike_addr *b);

/* The Child SAs an engine has installed, as its host callbacks saw them. */
#define MAX_INSTALLS 32

struct install {
	uint32_t rule, in, out;
	bool live;                    /* one of its halves is still there */
	bool in_gone, out_gone;
};

struct installs {
	struct install e[MAX_INSTALLS];
	size_t n;
};

/* Of every install: an inbound SPI >= 256 (below is reserved, RFC 4303),
 * one inbound and one outbound half. */
void install_check_halves(const struct ike_child_install *c);
/* Of each half: keys of its algorithms' lengths, no ESP without integrity. */
void install_check_keys(const struct sa_config *sa);
/* Records c (past MAX_INSTALLS it is not recorded, and removes are then not
 * checked); an inbound SPI that is still installed fails. */
void installs_add(struct installs *t, const struct ike_child_install *c);
/* struct ike_host's remove: the outbound half may go first (spi_in 0), the
 * inbound a moment later (spi_out 0), or both at once; a pair that is not
 * installed fails (unless the table was full). */
void installs_remove(struct installs *t, uint32_t spi_in, uint32_t spi_out);

/* The AEAD IVs seen under one key, each with a fingerprint of what follows
 * it: an IV may come back only with the same octets (a resend). */
struct aead_iv {
	uint8_t iv[8];
	uint64_t h;
};

/* iv: the 8-octet IV of a message that ends at end. False when the IV came
 * before with other octets; else it is remembered (up to cap of them). */
bool aead_iv_unique(struct aead_iv *log, size_t *n, size_t cap, const uint8_t *iv,
                    const uint8_t *end);

/* ---- the harness's own IKE messages --------------------------------------- */

void notify(struct ike_writer *w, uint16_t type, const uint8_t *data, size_t len);
/* NAT_DETECTION_*_IP data (RFC 7296 §2.23): SHA-1(SPIi | SPIr | IP | port).
 * The harnesses' own, not src/ike/init.c's (static there): what the engine
 * checks is then computed independently of it. */
bool nat_hash(uint64_t spi_i, uint64_t spi_r, const struct ike_addr *a, uint8_t out[20]);
/* A message of one SK payload into msg: the IKE header, then plain (first:
 * the type of its first payload) sealed with key (enc: its algorithm).
 * Its length; 0 when it does not fit in cap; fails when the library
 * cannot seal. */
size_t seal_sk(struct ike_sk_key *key, enum crypto_enc enc, uint64_t spi_i, uint64_t spi_r,
               uint8_t exch, uint8_t flags, uint32_t mid, uint8_t first, const uint8_t *plain,
               size_t plen, uint8_t *msg, size_t cap);

/* ---- the seed corpus (SECPOL_FUZZ_SEEDS=DIR) ------------------------------ */

/* A fuzz input being built; overflowing it exits(1) (a harness bug). */
struct sbuf {
	uint8_t b[16384];
	size_t n;
};

void sb_put(struct sbuf *s, const void *p, size_t n);
void sb_u8(struct sbuf *s, uint8_t v);
void sb_u16(struct sbuf *s, uint16_t v);
/* [length:16][octets], as take_chunk() reads it. */
void sb_chunk(struct sbuf *s, const void *p, size_t n);

/* With SECPOL_FUZZ_SEEDS=DIR in the environment: makes DIR, runs
 * write_seeds (which calls seed_write for each seed) and exits 0. Without
 * it: returns. */
void fuzz_ike_seed_corpus(void (*write_seeds)(void));
/* DIR/name := the n octets at p; exit(1) when it cannot. */
void seed_write(const char *name, const uint8_t *p, size_t n);

#endif
