/* See fuzz_ike_common.h. */
#include "fuzz_ike_common.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crypto/crypto.h"

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

bool fuzz_ike_verbose;
FILE *fuzz_ike_devnull;

void fuzz_ike_init(void)
{
	fuzz_ike_verbose = getenv("FUZZ_IKE_VERBOSE") != NULL;
	/* Deterministic OpenSSL randomness: this process is a fuzzer only. */
	fuzz_ike_deterministic_openssl();
	fuzz_ike_devnull = fopen("/dev/null", "w");
	if (!fuzz_ike_devnull)
		fail("cannot open /dev/null");
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

size_t take_chunk(struct in *in, const uint8_t **out)
{
	uint16_t want = get16(in);
	return take(in, want, out);
}

size_t take_chunk_copy(struct in *in, uint8_t *out, size_t cap)
{
	const uint8_t *src;
	size_t len = take_chunk(in, &src);
	if (len > cap)
		len = cap;
	memcpy(out, src, len);
	return len;
}

/* ---- invariants ---------------------------------------------------------- */

void fail(const char *what)
{
	fprintf(stderr, "INVARIANT BROKEN: %s\n", what);
	abort();
}

void parse_or_die(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "%s: cannot parse %s\n", program_invocation_short_name, what);
		exit(1);
	}
}

bool addr_same(const struct ike_addr *a, const struct ike_addr *b)
{
	return a->family == b->family &&
	       memcmp(a->bytes, b->bytes, a->family == AF_INET ? 4 : 16) == 0;
}

void install_check_halves(const struct ike_child_install *c)
{
	if (c->in.sa.spi < 256)
		fail("an inbound SPI below 256 installed");
	if (!c->in.sa.inbound || c->out.sa.inbound)
		fail("a Child SA install without one inbound and one outbound half");
}

void install_check_keys(const struct sa_config *sa)
{
	const struct crypto_enc_info *ei = crypto_enc_info(sa->enc);
	size_t ml = sa->integ == MAC_NONE ? 0 : crypto_mac_info(sa->integ)->key_len;
	if (sa->proto == SA_PROTO_ESP && sa->enc_key_len != ei->key_len + ei->salt_len)
		fail("a Child SA's encryption key is not of its algorithm's length");
	if (sa->auth_key_len != ml)
		fail("a Child SA's integrity key is not of its algorithm's length");
	if (sa->proto == SA_PROTO_ESP && !ei->aead && sa->integ == MAC_NONE)
		fail("an ESP SA without integrity installed");
}

void installs_add(struct installs *t, const struct ike_child_install *c)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].live && t->e[i].in == c->in.sa.spi)
			fail("an inbound SPI installed twice");
	if (t->n < MAX_INSTALLS)
		t->e[t->n++] =
			(struct install){ c->rule_id, c->in.sa.spi, c->out.sa.spi, true, false, false };
}

void installs_remove(struct installs *t, uint32_t spi_in, uint32_t spi_out)
{
	for (size_t i = 0; i < t->n; i++) {
		struct install *x = &t->e[i];
		if (!x->live || (spi_in && x->in != spi_in) || (spi_out && x->out != spi_out) ||
		    (!spi_in && !spi_out))
			continue;
		if ((spi_out && x->out_gone) || (spi_in && x->in_gone))
			continue;
		x->out_gone = x->out_gone || spi_out;
		x->in_gone = x->in_gone || spi_in;
		x->live = !(x->out_gone && x->in_gone);
		return;
	}
	if (t->n < MAX_INSTALLS)
		fail("a Child SA removed that is not installed");
}

bool aead_iv_unique(struct aead_iv *log, size_t *n, size_t cap, const uint8_t *iv,
                    const uint8_t *end)
{
	uint64_t h = fnv(iv + 8, (size_t)(end - (iv + 8)));
	size_t k;
	for (k = 0; k < *n; k++)
		if (memcmp(log[k].iv, iv, 8) == 0)
			return log[k].h == h;
	if (*n < cap) {
		memcpy(log[*n].iv, iv, 8);
		log[(*n)++].h = h;
	}
	return true;
}

/* ---- the harness's own IKE messages --------------------------------------- */

void notify(struct ike_writer *w, uint16_t type, const uint8_t *data, size_t len)
{
	struct ike_notify n = { .type = type, .data = data, .len = len };
	ike_put_notify(w, &n);
}

bool nat_hash(uint64_t spi_i, uint64_t spi_r, const struct ike_addr *a, uint8_t out[20])
{
	uint8_t buf[8 + 8 + 16 + 2];
	size_t alen = a->family == AF_INET ? 4 : 16;
	put64(buf, spi_i);
	put64(buf + 8, spi_r);
	memcpy(buf + 16, a->bytes, alen);
	buf[16 + alen] = (uint8_t)(a->port >> 8);
	buf[17 + alen] = (uint8_t)a->port;
	unsigned int n = 0;
	return EVP_Digest(buf, 18 + alen, out, &n, EVP_sha1(), NULL) == 1 && n == 20;
}

size_t seal_sk(struct ike_sk_key *key, enum crypto_enc enc, uint64_t spi_i, uint64_t spi_r,
               uint8_t exch, uint8_t flags, uint32_t mid, uint8_t first, const uint8_t *plain,
               size_t plen, uint8_t *msg, size_t cap)
{
	/* The header by hand, not ike_put_header(): the harness sends what a
	 * peer may, not only what the library would. Its length field is
	 * ike_sk_seal()'s to fill in. */
	put64(msg, spi_i);
	put64(msg + 8, spi_r);
	msg[16] = IKE_PL_SK;
	msg[17] = 0x20;
	msg[18] = exch;
	msg[19] = flags;
	put32(msg + 20, mid);
	put32(msg + 24, 0);
	size_t sk = IKE_HEADER_LEN, ivl = crypto_enc_info(enc)->iv_len;
	if (sk + 4 + ivl + plen + ike_sk_overhead(key, plen) > cap)
		return 0;
	msg[sk] = first;
	msg[sk + 1] = 0;
	memcpy(msg + sk + 4 + ivl, plain, plen);
	const char *why = NULL;
	size_t n = ike_sk_seal(key, msg, cap, sk, plen, &why);
	if (!n)
		fail(why ? why : "the harness cannot seal");
	return n;
}

/* ---- the seed corpus ------------------------------------------------------ */

void sb_put(struct sbuf *s, const void *p, size_t n)
{
	if (!n)
		return;
	if (s->n + n > sizeof(s->b))
		exit(1);
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

void sb_u8(struct sbuf *s, uint8_t v)
{
	sb_put(s, &v, 1);
}

void sb_u16(struct sbuf *s, uint16_t v)
{
	sb_u8(s, (uint8_t)(v >> 8));
	sb_u8(s, (uint8_t)v);
}

void sb_chunk(struct sbuf *s, const void *p, size_t n)
{
	sb_u16(s, (uint16_t)n);
	sb_put(s, p, n);
}

static const char *seed_dir;

void fuzz_ike_seed_corpus(void (*write_seeds)(void))
{
	if (!(seed_dir = getenv("SECPOL_FUZZ_SEEDS")))
		return;
	if (mkdir(seed_dir, 0755) != 0 && errno != EEXIST) {
		perror(seed_dir);
		exit(1);
	}
	write_seeds();
	exit(0);
}

void seed_write(const char *name, const uint8_t *p, size_t n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", seed_dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}
