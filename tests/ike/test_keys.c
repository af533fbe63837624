/*
 * Tests for src/ike/keys.c and the PRFs of src/crypto/prf.c:
 *
 *   hmac.json        every full-output HMAC-MD5/SHA1/SHA256/384/512 vector
 *                    (RFC 2202, RFC 4231, RFC 4868 PRF cases) through prf(),
 *                    and prf_plus's first block against it.
 *   ikev2_kdf.json   "full" (NIST CAVP/ACVP SP 800-135, OpenSSL's self-test):
 *                    SKEYSEED, DKM (prf+ directly, and the seven IKE SA keys
 *                    for several suites, whose concatenation is a prefix of
 *                    DKM; the illustrative split key by key), child KEYMAT
 *                    without and with PFS (likewise), rekey SKEYSEED and the
 *                    two all-in-one functions. "skeyseed" and "dkm": the
 *                    single-step CAVP cases.
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
#include "ike/keys.h"
#include "vectors.h"

/* ---- PRFs ---------------------------------------------------------------- */

static const struct {
	const char *hmac;         /* hmac.json's "algorithm" */
	const char *kdf;          /* ikev2_kdf.json's "prf" */
	enum crypto_prf prf;
	size_t len;
} prfs[] = {
	{ "HMAC-MD5", "PRF_HMAC_MD5", PRF_HMAC_MD5, 16 },
	{ "HMAC-SHA1", "PRF_HMAC_SHA1", PRF_HMAC_SHA1, 20 },
	{ "HMAC-SHA256", "PRF_HMAC_SHA256", PRF_HMAC_SHA2_256, 32 },
	{ "HMAC-SHA384", "PRF_HMAC_SHA384", PRF_HMAC_SHA2_384, 48 },
	{ "HMAC-SHA512", "PRF_HMAC_SHA512", PRF_HMAC_SHA2_512, 64 },
};
#define NPRFS (sizeof(prfs) / sizeof(prfs[0]))

static int prf_by_hmac(const char *alg)
{
	for (size_t i = 0; i < NPRFS; i++)
		if (strcmp(prfs[i].hmac, alg) == 0)
			return (int)i;
	return -1;
}

static enum crypto_prf prf_by_kdf(const char *name)
{
	for (size_t i = 0; i < NPRFS; i++)
		if (strcmp(prfs[i].kdf, name) == 0)
			return prfs[i].prf;
	fail_msg("unknown prf %s", name);
	return PRF_COUNT;
}

static void test_prf_table(void **state)
{
	(void)state;
	static const char *const names[] = { "md5", "sha1", "sha256", "sha384", "sha512" };
	for (size_t i = 0; i < NPRFS; i++) {
		const struct crypto_prf_info *info = crypto_prf_info(prfs[i].prf);
		assert_non_null(info);
		assert_int_equal(info->len, prfs[i].len);
		assert_true(info->len <= PRF_MAX_LEN && info->len <= IKE_KEY_MAX);
		assert_int_equal(info->legacy, prfs[i].prf == PRF_HMAC_MD5);
		enum crypto_prf p;
		assert_true(crypto_prf_by_name(names[i], &p));
		assert_int_equal(p, prfs[i].prf);
		assert_string_equal(info->name, names[i]);
	}
	enum crypto_prf p;
	assert_false(crypto_prf_by_name("aes-xcbc", &p));
	assert_null(crypto_prf_info(PRF_COUNT));
	uint8_t out[PRF_MAX_LEN];
	assert_false(prf(PRF_COUNT, (const uint8_t *)"k", 1, NULL, 0, out));
	assert_false(prf_plus(PRF_COUNT, (const uint8_t *)"k", 1, NULL, 0, out, 1));
}

struct prf_stats {
	int checked;
	int other;        /* SHA-224 and the truncated ICVs: no PRF */
};

static void hmac_vector(struct vec *v, void *ctx)
{
	struct prf_stats *st = ctx;
	int i = prf_by_hmac(need(v, "algorithm"));
	if (i < 0 || !field(v, "mac")) {
		st->other++;
		return;
	}
	size_t klen, dlen, mlen;
	const uint8_t *key = hexf(v, "key", &klen), *data = hexf(v, "data", &dlen);
	const uint8_t *mac = hexf(v, "mac", &mlen);
	uint8_t out[PRF_MAX_LEN], first[PRF_MAX_LEN];
	assert_true(mlen <= prfs[i].len);
	assert_true(prf(prfs[i].prf, key, klen, data, dlen, out));
	assert_mem(out, mac, mlen, "prf", v);   /* RFC 4231 case 5 prints a prefix only */
	/* prf+'s first block is prf(K, S | 0x01). */
	uint8_t *s1 = vkeep(v, malloc(dlen + 1));
	memcpy(s1, data, dlen);
	s1[dlen] = 1;
	assert_true(prf(prfs[i].prf, key, klen, s1, dlen + 1, out));
	assert_true(prf_plus(prfs[i].prf, key, klen, data, dlen, first, prfs[i].len));
	assert_mem(first, out, prfs[i].len, "prf+ T1", v);
	st->checked++;
}

static void test_prf_hmac(void **state)
{
	(void)state;
	struct prf_stats st = { 0, 0 };
	int n = each_vector("hmac.json", hmac_vector, &st);
	print_message("hmac.json: %d vectors, %d through prf() (MD5, SHA1, SHA2-256/384/512), "
	              "%d not a PRF (SHA-224, truncated ICVs)\n", n, st.checked, st.other);
	/* 35 RFC 2202/4231, 18 RFC 4868 PRF cases, 12 RFC 4868 AUTH cases (full MAC
	 * given along with the ICV). */
	assert_int_equal(st.checked, 65);
	assert_int_equal(st.checked + st.other, n);
}

/* prf+ by the RFC's definition, one block at a time through prf(). */
static void prf_plus_by_hand(enum crypto_prf alg, const uint8_t *key, size_t klen,
                             const uint8_t *seed, size_t slen, uint8_t *out, size_t outlen)
{
	size_t h = crypto_prf_info(alg)->len, tlen = 0;
	uint8_t t[PRF_MAX_LEN], in[PRF_MAX_LEN + 64 + 1];
	assert_true(slen <= 64);
	for (unsigned n = 1; outlen; n++) {
		memcpy(in, t, tlen);
		memcpy(in + tlen, seed, slen);
		in[tlen + slen] = (uint8_t)n;
		assert_true(prf(alg, key, klen, in, tlen + slen + 1, t));
		tlen = h;
		size_t take = outlen < h ? outlen : h;
		memcpy(out, t, take);
		out += take;
		outlen -= take;
	}
}

static void test_prf_plus(void **state)
{
	(void)state;
	static const uint8_t key[] = "prf+ key", seed[] = "the seed of prf+";
	for (size_t i = 0; i < NPRFS; i++) {
		enum crypto_prf alg = prfs[i].prf;
		size_t max = 255 * prfs[i].len;
		uint8_t *a = malloc(max + 1), *b = malloc(max);
		assert_non_null(a);
		assert_non_null(b);
		/* The counter may not wrap: 255 blocks at most. */
		assert_true(prf_plus(alg, key, sizeof(key), seed, sizeof(seed), a, max));
		assert_false(prf_plus(alg, key, sizeof(key), seed, sizeof(seed), a, max + 1));
		prf_plus_by_hand(alg, key, sizeof(key), seed, sizeof(seed), b, max);
		assert_memory_equal(a, b, max);
		/* Shorter outputs are prefixes; nothing is written beyond outlen. */
		static const size_t lens[] = { 0, 1, 19, 20, 33, 64, 65, 129 };
		for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			memset(b, 0xee, lens[j] + 1);
			assert_true(prf_plus(alg, key, sizeof(key), seed, sizeof(seed), b, lens[j]));
			assert_memory_equal(a, b, lens[j]);
			assert_int_equal(b[lens[j]], 0xee);
		}
		/* An empty seed and an empty key are well defined for HMAC. */
		assert_true(prf_plus(alg, key, sizeof(key), NULL, 0, b, 10));
		assert_true(prf(alg, NULL, 0, seed, sizeof(seed), b));
		assert_false(prf(alg, NULL, 3, seed, sizeof(seed), b));
		free(a);
		free(b);
	}
}

/* ---- IKE SA suites ---------------------------------------------------------- */

/* Transform sets with the key lengths RFC 7296 §2.14 gives them, written out
 * rather than taken from crypto_*_info, so that the table is checked too. */
static const struct suite_case {
	enum crypto_enc enc;
	enum crypto_mac integ;
	size_t enc_len;           /* SK_e*: key | salt */
	size_t integ_len;         /* SK_a* */
} suites[] = {
	{ ENC_AES128_CBC, MAC_HMAC_SHA1_96, 16, 20 },
	{ ENC_AES256_CBC, MAC_HMAC_SHA256_128, 32, 32 },
	{ ENC_3DES_CBC, MAC_HMAC_SHA512_256, 24, 64 },
	{ ENC_AES192_CBC, MAC_HMAC_SHA384_192, 24, 48 },
	{ ENC_AES128_GCM, MAC_NONE, 20, 0 },           /* RFC 5282: 4-octet salt */
	{ ENC_AES256_GCM, MAC_NONE, 36, 0 },
	{ ENC_CHACHA20_POLY1305, MAC_NONE, 36, 0 },    /* RFC 7634: 4-octet salt */
};
#define NSUITES (sizeof(suites) / sizeof(suites[0]))

/* Child SA key lengths (encryption per direction, integrity). */
static const struct { size_t enc, integ; } childs[] = {
	{ 20, 0 },        /* ESP AES-128-GCM */
	{ 36, 0 },        /* ESP AES-256-GCM, ChaCha20-Poly1305, AES-256-GMAC */
	{ 16, 20 },       /* ESP AES-128-CBC + HMAC-SHA1-96 */
	{ 32, 64 },       /* ESP AES-256-CBC + HMAC-SHA2-512-256 */
	{ 0, 32 },        /* AH (or ESP ENCR_NULL) + HMAC-SHA2-256-128 */
};

static size_t cat_key(uint8_t *buf, size_t off, const struct ike_key *k)
{
	memcpy(buf + off, k->octets, k->len);
	return off + k->len;
}

static size_t cat_sa(const struct ike_sa_keys *k, uint8_t *buf)
{
	size_t n = cat_key(buf, 0, &k->d);
	n = cat_key(buf, n, &k->ai);
	n = cat_key(buf, n, &k->ar);
	n = cat_key(buf, n, &k->ei);
	n = cat_key(buf, n, &k->er);
	n = cat_key(buf, n, &k->pi);
	return cat_key(buf, n, &k->pr);
}

/*
 * The seven keys for every suite whose total fits in the published DKM:
 * their lengths as §2.14 says, and their concatenation a prefix of the DKM.
 * Returns how many suites were checked.
 */
static int sa_keys_vs_dkm(struct vec *v, enum crypto_prf alg, const struct ike_key *skeyseed,
                          const struct ike_nonces *n, const uint8_t *spi_i,
                          const uint8_t *spi_r, const uint8_t *dkm, size_t dkm_len)
{
	size_t h = crypto_prf_info(alg)->len;
	int checked = 0;
	for (size_t i = 0; i < NSUITES; i++) {
		const struct suite_case *c = &suites[i];
		if (3 * h + 2 * c->enc_len + 2 * c->integ_len > dkm_len)
			continue;
		struct ike_suite s = { alg, c->enc, c->integ };
		struct ike_sa_keys k;
		const char *err = NULL;
		uint8_t buf[7 * IKE_KEY_MAX];
		if (!ike_sa_keys_derive(&k, &s, skeyseed, n, spi_i, spi_r, false, &err))
			fail_msg("ike_sa_keys_derive: %s", err);
		assert_int_equal(k.prf, alg);
		assert_int_equal(k.d.len, h);
		assert_int_equal(k.pi.len, h);
		assert_int_equal(k.pr.len, h);
		assert_int_equal(k.ai.len, c->integ_len);
		assert_int_equal(k.ar.len, c->integ_len);
		assert_int_equal(k.ei.len, c->enc_len);
		assert_int_equal(k.er.len, c->enc_len);
		size_t len = cat_sa(&k, buf);
		assert_mem(buf, dkm, len, "SK_d | SK_ai | ... | SK_pr", v);
		ike_sa_keys_wipe(&k);
		checked++;
	}
	return checked;
}

/* The vector's illustrative split, key by key. */
static void illustrative_split(struct vec *v, enum crypto_prf alg, const struct ike_key *skeyseed,
                               const struct ike_nonces *n, const uint8_t *spi_i,
                               const uint8_t *spi_r)
{
	if (!field(v, "illustrative_split"))
		return;
	const char *t = need(v, "illustrative_split.transforms");
	struct ike_suite s = { alg, ENC_AES128_CBC, MAC_HMAC_SHA1_96 };
	if (strcmp(t, "PRF_HMAC_SHA2_256 + AUTH_HMAC_SHA2_256_128 + ENCR_AES_CBC-256") == 0)
		s = (struct ike_suite){ alg, ENC_AES256_CBC, MAC_HMAC_SHA256_128 };
	else if (strcmp(t, "PRF_HMAC_SHA1 + AUTH_HMAC_SHA1_96 + ENCR_AES_CBC-128") != 0)
		fail_msg("unexpected transforms %s", t);
	struct ike_sa_keys k;
	const char *err = NULL;
	assert_true(ike_sa_keys_derive(&k, &s, skeyseed, n, spi_i, spi_r, false, &err));
	static const char *const names[] = { "SK_d", "SK_ai", "SK_ar", "SK_ei", "SK_er", "SK_pi",
	                                     "SK_pr" };
	const struct ike_key *keys[] = { &k.d, &k.ai, &k.ar, &k.ei, &k.er, &k.pi, &k.pr };
	for (size_t i = 0; i < 7; i++) {
		char path[64];
		size_t len;
		snprintf(path, sizeof(path), "illustrative_split.keys.%s", names[i]);
		const uint8_t *want = hexf(v, path, &len);
		assert_int_equal(keys[i]->len, len);
		assert_mem(keys[i]->octets, want, len, names[i], v);
	}
	ike_sa_keys_wipe(&k);
}

/* Child KEYMAT for every length pair that fits: split in §2.17's order. */
static void child_vs_keymat(struct vec *v, const struct ike_sa_keys *sa,
                            const struct ike_nonces *n, const uint8_t *g, size_t glen,
                            const uint8_t *keymat, size_t keymat_len)
{
	for (size_t i = 0; i < sizeof(childs) / sizeof(childs[0]); i++) {
		size_t e = childs[i].enc, a = childs[i].integ;
		if (2 * (e + a) > keymat_len)
			continue;
		struct ike_child_keys k;
		const char *err = NULL;
		if (!ike_child_keys_derive(&k, sa, n, g, glen, e, a, &err))
			fail_msg("ike_child_keys_derive: %s", err);
		assert_int_equal(k.ir_enc.len, e);
		assert_int_equal(k.ri_enc.len, e);
		assert_int_equal(k.ir_integ.len, a);
		assert_int_equal(k.ri_integ.len, a);
		assert_mem(k.ir_enc.octets, keymat, e, "child encr i->r", v);
		assert_mem(k.ir_integ.octets, keymat + e, a, "child integ i->r", v);
		assert_mem(k.ri_enc.octets, keymat + e + a, e, "child encr r->i", v);
		assert_mem(k.ri_integ.octets, keymat + 2 * e + a, a, "child integ r->i", v);
		ike_child_keys_wipe(&k);
	}
}

/* ---- ikev2_kdf.json ------------------------------------------------------- */

struct kdf_stats {
	int full, skeyseed, dkm;
	int suites;       /* IKE SA key sets compared with a DKM */
};

/* Concatenation of hex fields a | b | ... (NULL-terminated list of keys). */
static uint8_t *hexcat(struct vec *v, size_t *len, const char *const *keys)
{
	size_t total = 0, l;
	for (const char *const *k = keys; *k; k++) {
		hexf(v, *k, &l);
		total += l;
	}
	uint8_t *buf = vkeep(v, malloc(total + 1));
	*len = 0;
	for (const char *const *k = keys; *k; k++) {
		const uint8_t *p = hexf(v, *k, &l);
		memcpy(buf + *len, p, l);
		*len += l;
	}
	return buf;
}

static void expect_key(struct vec *v, const struct ike_key *k, const char *name)
{
	size_t len;
	const uint8_t *want = hexf(v, name, &len);
	assert_int_equal(k->len, len);
	assert_mem(k->octets, want, len, name, v);
}

/* prf+(key, seed) of the published length equals the published value. */
static void expect_prf_plus(struct vec *v, enum crypto_prf alg, const uint8_t *key,
                            size_t klen, const uint8_t *seed, size_t slen, const char *name)
{
	size_t len;
	const uint8_t *want = hexf(v, name, &len);
	uint8_t *out = vkeep(v, malloc(len));
	assert_true(prf_plus(alg, key, klen, seed, slen, out, len));
	assert_mem(out, want, len, name, v);
}

/* SK_d as the NIST test takes it: the first prf-length octets of DKM. */
static struct ike_sa_keys sa_from_sk_d(struct vec *v, enum crypto_prf alg)
{
	struct ike_sa_keys sa;
	size_t len;
	const uint8_t *sk_d = hexf(v, "sk_d", &len);
	memset(&sa, 0, sizeof(sa));
	sa.prf = alg;
	assert_int_equal(len, crypto_prf_info(alg)->len);
	sa.d.len = len;
	memcpy(sa.d.octets, sk_d, len);
	return sa;
}

/* Child SA KEYMAT (with and without PFS) and the rekey SKEYSEED from SK_d. */
static void full_from_sk_d(struct vec *v, enum crypto_prf alg, const struct ike_nonces *n)
{
	struct ike_sa_keys sa = sa_from_sk_d(v, alg);
	size_t gl, nl, sl, kl;
	const uint8_t *g_new = hexf(v, "g_ir_new", &gl);
	static const char *const nn[] = { "ni", "nr", NULL };
	static const char *const gnn[] = { "g_ir_new", "ni", "nr", NULL };
	const uint8_t *ni_nr = hexcat(v, &nl, nn), *g_ni_nr = hexcat(v, &sl, gnn);
	expect_prf_plus(v, alg, sa.d.octets, sa.d.len, ni_nr, nl, "dkm_child_sa");
	expect_prf_plus(v, alg, sa.d.octets, sa.d.len, g_ni_nr, sl, "dkm_child_sa_dh");
	const uint8_t *keymat = hexf(v, "dkm_child_sa", &kl);
	child_vs_keymat(v, &sa, n, NULL, 0, keymat, kl);
	keymat = hexf(v, "dkm_child_sa_dh", &kl);
	child_vs_keymat(v, &sa, n, g_new, gl, keymat, kl);

	struct ike_key seed;
	const char *err = NULL;
	assert_true(ike_skeyseed_rekey(&sa, n, g_new, gl, &seed, &err));
	expect_key(v, &seed, "skeyseed_rekey");
	crypto_wipe(&seed, sizeof(seed));
	ike_sa_keys_wipe(&sa);
}

/* ike_sa_keys_initial / _rekey give what the separate steps give. */
static void all_in_one(struct vec *v, enum crypto_prf alg, const struct ike_nonces *n,
                       const uint8_t *g, size_t glen, const uint8_t *spi_i,
                       const uint8_t *spi_r)
{
	struct ike_suite s = { alg, ENC_AES256_GCM, MAC_NONE };
	struct ike_sa_keys a, b, c, d;
	struct ike_key seed;
	const char *err = NULL;
	size_t gnl;
	const uint8_t *g_new = hexf(v, "g_ir_new", &gnl);
	assert_true(ike_sa_keys_initial(&a, &s, n, g, glen, spi_i, spi_r, false, &err));
	assert_true(ike_skeyseed(alg, n, g, glen, &seed, &err));
	assert_true(ike_sa_keys_derive(&b, &s, &seed, n, spi_i, spi_r, false, &err));
	assert_memory_equal(&a, &b, sizeof(a));
	/* Rekey a with the same suite (the new SA would have new nonces and SPIs;
	 * the derivation does not care). */
	assert_true(ike_sa_keys_rekey(&c, &a, &s, n, g_new, gnl, spi_i, spi_r, false, &err));
	assert_true(ike_skeyseed_rekey(&a, n, g_new, gnl, &seed, &err));
	assert_true(ike_sa_keys_derive(&d, &s, &seed, n, spi_i, spi_r, false, &err));
	assert_memory_equal(&c, &d, sizeof(c));
	assert_memory_not_equal(a.d.octets, c.d.octets, a.d.len);
	crypto_wipe(&seed, sizeof(seed));
	ike_sa_keys_wipe(&a);
	ike_sa_keys_wipe(&b);
	ike_sa_keys_wipe(&c);
	ike_sa_keys_wipe(&d);
}

static void kdf_full(struct vec *v, struct kdf_stats *st)
{
	enum crypto_prf alg = prf_by_kdf(need(v, "prf"));
	size_t nil, nrl, sil, srl, gl, dl, seedl;
	const uint8_t *ni = hexf(v, "ni", &nil), *nr = hexf(v, "nr", &nrl);
	const uint8_t *spi_i = hexf(v, "spi_i", &sil), *spi_r = hexf(v, "spi_r", &srl);
	const uint8_t *g = hexf(v, "g_ir", &gl), *dkm = hexf(v, "dkm", &dl);
	assert_int_equal(sil, 8);
	assert_int_equal(srl, 8);
	assert_int_equal(num(v, "dkm_length"), (long)dl);
	struct ike_nonces n = { ni, nr, nil, nrl };
	struct ike_key seed;
	const char *err = NULL;
	if (!ike_skeyseed(alg, &n, g, gl, &seed, &err))
		fail_msg("ike_skeyseed: %s", err);
	expect_key(v, &seed, "skeyseed");
	static const char *const sk[] = { "ni", "nr", "spi_i", "spi_r", NULL };
	const uint8_t *s = hexcat(v, &seedl, sk);
	expect_prf_plus(v, alg, seed.octets, seed.len, s, seedl, "dkm");
	assert_mem(dkm, hexf(v, "sk_d", &sil), crypto_prf_info(alg)->len, "sk_d", v);
	st->suites += sa_keys_vs_dkm(v, alg, &seed, &n, spi_i, spi_r, dkm, dl);
	illustrative_split(v, alg, &seed, &n, spi_i, spi_r);
	full_from_sk_d(v, alg, &n);
	all_in_one(v, alg, &n, g, gl, spi_i, spi_r);
	crypto_wipe(&seed, sizeof(seed));
	st->full++;
}

/* Ni | Nr given as one string: any split gives the same key; halves keep
 * each nonce within the 256-octet limit. */
static void kdf_skeyseed(struct vec *v, struct kdf_stats *st)
{
	enum crypto_prf alg = prf_by_kdf(need(v, "prf"));
	size_t nl, gl;
	const uint8_t *nn = hexf(v, "ni_nr", &nl), *g = hexf(v, "g_ir", &gl);
	struct ike_nonces n = { nn, nn + nl / 2, nl / 2, nl - nl / 2 };
	struct ike_key seed;
	const char *err = NULL;
	if (!ike_skeyseed(alg, &n, g, gl, &seed, &err))
		fail_msg("ike_skeyseed: %s", err);
	expect_key(v, &seed, "skeyseed");
	crypto_wipe(&seed, sizeof(seed));
	st->skeyseed++;
}

/* Seed = Ni | Nr | SPIi | SPIr as one string (the last 16 octets the SPIs). */
static void kdf_dkm(struct vec *v, struct kdf_stats *st)
{
	enum crypto_prf alg = prf_by_kdf(need(v, "prf"));
	size_t sl, kl, dl;
	const uint8_t *s = hexf(v, "ni_nr_spii_spir", &sl), *key = hexf(v, "skeyseed", &kl);
	const uint8_t *dkm = hexf(v, "dkm", &dl);
	expect_prf_plus(v, alg, key, kl, s, sl, "dkm");
	assert_true(sl > 16 && kl <= IKE_KEY_MAX);
	size_t nl = sl - 16;
	struct ike_nonces n = { s, s + nl / 2, nl / 2, nl - nl / 2 };
	struct ike_key seed = { .len = kl };
	memcpy(seed.octets, key, kl);
	st->suites += sa_keys_vs_dkm(v, alg, &seed, &n, s + nl, s + nl + 8, dkm, dl);
	crypto_wipe(&seed, sizeof(seed));
	st->dkm++;
}

static void kdf_vector(struct vec *v, void *ctx)
{
	const char *kind = need(v, "kind");
	if (strcmp(kind, "full") == 0)
		kdf_full(v, ctx);
	else if (strcmp(kind, "skeyseed") == 0)
		kdf_skeyseed(v, ctx);
	else if (strcmp(kind, "dkm") == 0)
		kdf_dkm(v, ctx);
	else
		fail_msg("unexpected vector kind %s", kind);
}

static void test_kdf_vectors(void **state)
{
	(void)state;
	struct kdf_stats st = { 0, 0, 0, 0 };
	int n = each_vector("ikev2_kdf.json", kdf_vector, &st);
	print_message("ikev2_kdf.json: %d vectors: %d full (SKEYSEED, DKM, child KEYMAT with "
	              "and without PFS, rekey SKEYSEED), %d SKEYSEED, %d DKM; %d IKE SA key "
	              "sets compared with a DKM\n", n, st.full, st.skeyseed, st.dkm, st.suites);
	assert_int_equal(n, 17);
	assert_int_equal(st.full, 5);
	assert_int_equal(st.skeyseed, 6);
	assert_int_equal(st.dkm, 6);
	assert_int_equal(st.suites, 38);     /* the suites whose keys fit in each DKM */
}

/* ---- Suites, limits, errors --------------------------------------------------- */

static void refused(const struct ike_suite *s, bool legacy, const char *why)
{
	const char *err = NULL;
	assert_false(ike_suite_check(s, legacy, &err));
	assert_non_null(err);
	if (!strstr(err, why))
		fail_msg("error \"%s\" does not mention \"%s\"", err, why);
}

static void test_suite_check(void **state)
{
	(void)state;
	const char *err = NULL;
	for (size_t i = 0; i < NSUITES; i++)
		for (size_t p = 0; p < NPRFS; p++) {
			struct ike_suite s = { prfs[p].prf, suites[i].enc, suites[i].integ };
			assert_int_equal(ike_suite_check(&s, false, &err), prfs[p].prf != PRF_HMAC_MD5);
			assert_true(ike_suite_check(&s, true, &err));
		}
	refused(&(struct ike_suite){ PRF_HMAC_MD5, ENC_AES128_CBC, MAC_HMAC_SHA1_96 }, false,
	        "legacy");
	refused(&(struct ike_suite){ PRF_HMAC_SHA1, ENC_DES_CBC, MAC_HMAC_SHA1_96 }, false,
	        "legacy");
	refused(&(struct ike_suite){ PRF_HMAC_SHA1, ENC_AES128_CBC, MAC_HMAC_MD5_96 }, false,
	        "legacy");
	assert_true(ike_suite_check(&(struct ike_suite){ PRF_HMAC_MD5, ENC_DES_CBC,
	                                                 MAC_HMAC_MD5_96 }, true, &err));
	refused(&(struct ike_suite){ PRF_HMAC_SHA1, ENC_NULL, MAC_HMAC_SHA1_96 }, true, "NULL");
	refused(&(struct ike_suite){ PRF_HMAC_SHA1, ENC_AES128_GMAC, MAC_NONE }, true, "GMAC");
	refused(&(struct ike_suite){ PRF_HMAC_SHA1, ENC_AES128_GCM, MAC_HMAC_SHA1_96 }, true,
	        "AEAD");
	refused(&(struct ike_suite){ PRF_HMAC_SHA1, ENC_AES128_CBC, MAC_NONE }, true,
	        "integrity");
	refused(&(struct ike_suite){ PRF_COUNT, ENC_AES128_CBC, MAC_HMAC_SHA1_96 }, true,
	        "unknown");
	refused(&(struct ike_suite){ PRF_HMAC_SHA1, ENC_COUNT, MAC_HMAC_SHA1_96 }, true,
	        "unknown");

	/* A refused suite derives nothing, and says why. */
	static const uint8_t nonce[32] = { 1 }, g[32] = { 2 }, spi[8] = { 3 };
	struct ike_nonces n = { nonce, nonce, 32, 32 };
	struct ike_sa_keys k;
	struct ike_suite md5 = { PRF_HMAC_MD5, ENC_AES128_CBC, MAC_HMAC_SHA1_96 };
	err = NULL;
	assert_false(ike_sa_keys_initial(&k, &md5, &n, g, 32, spi, spi, false, &err));
	assert_non_null(strstr(err, "legacy"));
	assert_int_equal(k.d.len, 0);
	assert_true(ike_sa_keys_initial(&k, &md5, &n, g, 32, spi, spi, true, &err));
	assert_int_equal(k.d.len, 16);
	ike_sa_keys_wipe(&k);
}

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

static void test_limits(void **state)
{
	(void)state;
	static uint8_t nonce[IKE_NONCE_MAX + 1], g[IKE_SECRET_MAX + 1];
	static const uint8_t spi_i[8] = { 1 }, spi_r[8] = { 2 };
	memset(nonce, 0x4e, sizeof(nonce));
	memset(g, 0x67, sizeof(g));
	struct ike_suite s = { PRF_HMAC_SHA2_512, ENC_AES256_CBC, MAC_HMAC_SHA512_256 };
	struct ike_nonces n = { nonce, nonce, IKE_NONCE_MAX, IKE_NONCE_MAX };
	struct ike_sa_keys k;
	struct ike_child_keys c;
	const char *err = NULL;

	/* The largest inputs and outputs fit. */
	assert_true(ike_sa_keys_initial(&k, &s, &n, g, IKE_SECRET_MAX, spi_i, spi_r, false, &err));
	assert_true(ike_child_keys_derive(&c, &k, &n, g, IKE_SECRET_MAX, IKE_KEY_MAX, IKE_KEY_MAX,
	                                  &err));
	/* One octet more does not. */
	n.nr_len = IKE_NONCE_MAX + 1;
	assert_false(ike_sa_keys_initial(&k, &s, &n, g, 32, spi_i, spi_r, false, &err));
	assert_non_null(strstr(err, "nonce"));
	assert_true(all_zero(&k, sizeof(k)));
	n.nr_len = 0;
	assert_false(ike_sa_keys_initial(&k, &s, &n, g, 32, spi_i, spi_r, false, &err));
	n.nr_len = 16;
	assert_false(ike_sa_keys_initial(&k, &s, &n, g, IKE_SECRET_MAX + 1, spi_i, spi_r, false,
	                                 &err));
	assert_non_null(strstr(err, "secret"));
	assert_false(ike_sa_keys_initial(&k, &s, &n, NULL, 32, spi_i, spi_r, false, &err));
	assert_true(ike_sa_keys_initial(&k, &s, &n, g, 32, spi_i, spi_r, false, &err));
	assert_false(ike_child_keys_derive(&c, &k, &n, g, IKE_SECRET_MAX + 1, 16, 16, &err));
	assert_false(ike_child_keys_derive(&c, &k, &n, NULL, 0, IKE_KEY_MAX + 1, 16, &err));
	assert_false(ike_child_keys_derive(&c, &k, &n, NULL, 0, 0, 0, &err));
	assert_true(all_zero(&c, sizeof(c)));

	/* Wiping leaves nothing, and then nothing can be derived from it. */
	ike_sa_keys_wipe(&k);
	assert_true(all_zero(&k, sizeof(k)));
	assert_false(ike_child_keys_derive(&c, &k, &n, NULL, 0, 16, 16, &err));
	assert_non_null(strstr(err, "SK_d"));
	struct ike_key seed;
	assert_false(ike_skeyseed_rekey(&k, &n, g, 32, &seed, &err));
	assert_false(ike_skeyseed(PRF_COUNT, &n, g, 32, &seed, &err));
	assert_true(ike_child_keys_derive(&c, &(struct ike_sa_keys){ .prf = PRF_HMAC_SHA1,
	                                        .d = { .len = 20 } }, &n, NULL, 0, 16, 20, &err));
	ike_child_keys_wipe(&c);
	assert_true(all_zero(&c, sizeof(c)));
}

/* Initiator and responder, each with its own DH key pair, end with the same
 * IKE SA keys and the same child SA keys (with and without PFS). */
static void test_two_sides(void **state)
{
	(void)state;
	static const unsigned groups[] = { 14, 19, 31 };
	for (size_t gi = 0; gi < sizeof(groups) / sizeof(groups[0]); gi++) {
		unsigned group = groups[gi];
		struct dh i, r;
		const char *err = NULL;
		uint8_t pi[DH_MAX_PUBLIC], pr[DH_MAX_PUBLIC], gi_s[DH_MAX_SECRET], gr_s[DH_MAX_SECRET];
		uint8_t ni[32], nr[32], spi_i[8], spi_r[8];
		size_t plen = dh_public_len(group), li = sizeof(gi_s), lr = sizeof(gr_s);
		assert_true(crypto_random(ni, sizeof(ni)) && crypto_random(nr, sizeof(nr)));
		assert_true(crypto_random(spi_i, 8) && crypto_random(spi_r, 8));
		assert_true(dh_init(&i, group, false, &err) && dh_init(&r, group, false, &err));
		assert_true(dh_public(&i, pi, plen) && dh_public(&r, pr, plen));
		assert_true(dh_derive(&i, pr, plen, gi_s, &li, &err));
		assert_true(dh_derive(&r, pi, plen, gr_s, &lr, &err));
		struct ike_suite s = { PRF_HMAC_SHA2_256, ENC_AES128_GCM, MAC_NONE };
		struct ike_nonces n = { ni, nr, sizeof(ni), sizeof(nr) };
		struct ike_sa_keys ki, kr;
		assert_true(ike_sa_keys_initial(&ki, &s, &n, gi_s, li, spi_i, spi_r, false, &err));
		assert_true(ike_sa_keys_initial(&kr, &s, &n, gr_s, lr, spi_i, spi_r, false, &err));
		assert_memory_equal(&ki, &kr, sizeof(ki));
		assert_memory_not_equal(ki.ei.octets, ki.er.octets, ki.ei.len);
		struct ike_child_keys ci, cr;
		assert_true(ike_child_keys_derive(&ci, &ki, &n, NULL, 0, 36, 0, &err));
		assert_true(ike_child_keys_derive(&cr, &kr, &n, NULL, 0, 36, 0, &err));
		assert_memory_equal(&ci, &cr, sizeof(ci));
		assert_true(ike_child_keys_derive(&cr, &kr, &n, gr_s, lr, 36, 0, &err));
		assert_memory_not_equal(ci.ir_enc.octets, cr.ir_enc.octets, 36);
		ike_sa_keys_wipe(&ki);
		ike_sa_keys_wipe(&kr);
		ike_child_keys_wipe(&ci);
		ike_child_keys_wipe(&cr);
		crypto_wipe(gi_s, sizeof(gi_s));
		crypto_wipe(gr_s, sizeof(gr_s));
		dh_free(&i);
		dh_free(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prf_table),
		cmocka_unit_test(test_prf_hmac),
		cmocka_unit_test(test_prf_plus),
		cmocka_unit_test(test_kdf_vectors),
		cmocka_unit_test(test_suite_check),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_two_sides),
	};
	return cmocka_run_group_tests(tests, vectors_setup, vectors_teardown);
}
