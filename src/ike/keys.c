/*
 * IKEv2 key derivation (RFC 7296 §2.13-2.18). The PRF inputs that RFC 7296
 * writes as concatenations are built in stack buffers of bounded size (the
 * nonce and g^ir limits of keys.h); the buffers that held g^ir or derived
 * keys are wiped before returning, on every path.
 */
#include "ike/keys.h"

#include <string.h>

struct piece {
	const uint8_t *p;
	size_t len;
};

/* pc[0] | pc[1] | ... into buf; false if it does not fit. */
static bool concat(uint8_t *buf, size_t cap, const struct piece *pc, int n, size_t *len)
{
	size_t total = 0;
	for (int i = 0; i < n; i++) {
		if (pc[i].len > cap - total)
			return false;
		if (pc[i].len)
			memcpy(buf + total, pc[i].p, pc[i].len);
		total += pc[i].len;
	}
	*len = total;
	return true;
}

static bool nonces_ok(const struct ike_nonces *n, const char **err)
{
	if (!n || !n->ni || !n->nr || !n->ni_len || !n->nr_len || n->ni_len > IKE_NONCE_MAX ||
	    n->nr_len > IKE_NONCE_MAX) {
		*err = "nonce missing or longer than 256 octets";
		return false;
	}
	return true;
}

static bool secret_ok(const uint8_t *g_ir, size_t len, const char **err)
{
	if (!g_ir || !len || len > IKE_SECRET_MAX) {
		*err = "Diffie-Hellman shared secret missing or too long";
		return false;
	}
	return true;
}

/* Copies len octets of derived material into k; returns where the next starts. */
static const uint8_t *take(struct ike_key *k, const uint8_t *p, size_t len)
{
	k->len = len;
	memcpy(k->octets, p, len);
	return p + len;
}

bool ike_suite_check(const struct ike_suite *s, bool allow_legacy, const char **err)
{
	const struct crypto_prf_info *p = crypto_prf_info(s->prf);
	const struct crypto_enc_info *e = crypto_enc_info(s->enc);
	const struct crypto_mac_info *m = crypto_mac_info(s->integ);
	if (!p || !e || !m) {
		*err = "unknown PRF, encryption or integrity algorithm";
		return false;
	}
	if (s->enc == ENC_NULL || e->gmac) {
		*err = "NULL encryption and AES-GMAC cannot protect an IKE SA";
		return false;
	}
	/* RFC 5282 §8, RFC 7634 §3: AEAD carries its own integrity. */
	if (e->aead != (s->integ == MAC_NONE)) {
		*err = e->aead ? "an AEAD cipher takes no integrity algorithm"
		               : "encryption without AEAD needs an integrity algorithm";
		return false;
	}
	if ((p->legacy || e->legacy || m->legacy) && !allow_legacy) {
		*err = "legacy algorithm (DES or MD5) not allowed: it must be enabled "
		       "explicitly (allowlegacy)";
		return false;
	}
	return true;
}

bool ike_skeyseed(enum crypto_prf alg, const struct ike_nonces *n, const uint8_t *g_ir,
                  size_t g_ir_len, struct ike_key *skeyseed, const char **err)
{
	const struct crypto_prf_info *info = crypto_prf_info(alg);
	uint8_t key[2 * IKE_NONCE_MAX];       /* Ni | Nr: public, not wiped */
	size_t klen;
	memset(skeyseed, 0, sizeof(*skeyseed));
	if (!info) {
		*err = "unknown PRF";
		return false;
	}
	if (!nonces_ok(n, err) || !secret_ok(g_ir, g_ir_len, err))
		return false;
	const struct piece pc[] = { { n->ni, n->ni_len }, { n->nr, n->nr_len } };
	if (!concat(key, sizeof(key), pc, 2, &klen) ||
	    !prf(alg, key, klen, g_ir, g_ir_len, skeyseed->octets)) {
		*err = "PRF computation failed";
		return false;
	}
	skeyseed->len = info->len;
	return true;
}

bool ike_skeyseed_rekey(const struct ike_sa_keys *old, const struct ike_nonces *n,
                        const uint8_t *g_ir_new, size_t g_ir_len, struct ike_key *skeyseed,
                        const char **err)
{
	const struct crypto_prf_info *info = crypto_prf_info(old->prf);
	uint8_t data[IKE_SECRET_MAX + 2 * IKE_NONCE_MAX];
	size_t dlen;
	memset(skeyseed, 0, sizeof(*skeyseed));
	if (!info || !old->d.len) {
		*err = "the old IKE SA has no SK_d";
		return false;
	}
	if (!nonces_ok(n, err) || !secret_ok(g_ir_new, g_ir_len, err))
		return false;
	const struct piece pc[] = {
		{ g_ir_new, g_ir_len }, { n->ni, n->ni_len }, { n->nr, n->nr_len },
	};
	bool ok = concat(data, sizeof(data), pc, 3, &dlen) &&
	          prf(old->prf, old->d.octets, old->d.len, data, dlen, skeyseed->octets);
	crypto_wipe(data, sizeof(data));
	if (!ok) {
		*err = "PRF computation failed";
		return false;
	}
	skeyseed->len = info->len;
	return true;
}

/* SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr from the DKM. */
static void split_sa_keys(struct ike_sa_keys *k, const uint8_t *dkm, size_t prf_len,
                          size_t integ_len, size_t enc_len)
{
	const uint8_t *p = take(&k->d, dkm, prf_len);
	p = take(&k->ai, p, integ_len);
	p = take(&k->ar, p, integ_len);
	p = take(&k->ei, p, enc_len);
	p = take(&k->er, p, enc_len);
	p = take(&k->pi, p, prf_len);
	take(&k->pr, p, prf_len);
}

bool ike_sa_keys_derive(struct ike_sa_keys *k, const struct ike_suite *s,
                        const struct ike_key *skeyseed, const struct ike_nonces *n,
                        const uint8_t spi_i[8], const uint8_t spi_r[8], bool allow_legacy,
                        const char **err)
{
	memset(k, 0, sizeof(*k));
	if (!ike_suite_check(s, allow_legacy, err) || !nonces_ok(n, err))
		return false;
	if (!skeyseed->len || skeyseed->len > IKE_KEY_MAX) {
		*err = "no SKEYSEED";
		return false;
	}
	const struct crypto_enc_info *e = crypto_enc_info(s->enc);
	size_t prf_len = crypto_prf_info(s->prf)->len;
	size_t integ_len = crypto_mac_info(s->integ)->key_len;
	size_t enc_len = e->key_len + e->salt_len;
	uint8_t seed[2 * IKE_NONCE_MAX + 16], dkm[7 * IKE_KEY_MAX];
	size_t slen, total = 3 * prf_len + 2 * integ_len + 2 * enc_len;
	const struct piece pc[] = {
		{ n->ni, n->ni_len }, { n->nr, n->nr_len }, { spi_i, 8 }, { spi_r, 8 },
	};
	bool ok = concat(seed, sizeof(seed), pc, 4, &slen) &&
	          prf_plus(s->prf, skeyseed->octets, skeyseed->len, seed, slen, dkm, total);
	if (ok) {
		k->prf = s->prf;
		split_sa_keys(k, dkm, prf_len, integ_len, enc_len);
	} else {
		*err = "PRF computation failed";
	}
	crypto_wipe(dkm, sizeof(dkm));
	return ok;
}

bool ike_sa_keys_initial(struct ike_sa_keys *k, const struct ike_suite *s,
                         const struct ike_nonces *n, const uint8_t *g_ir, size_t g_ir_len,
                         const uint8_t spi_i[8], const uint8_t spi_r[8], bool allow_legacy,
                         const char **err)
{
	struct ike_key skeyseed;
	memset(k, 0, sizeof(*k));
	/* The suite first: a refused PRF computes nothing. */
	bool ok = ike_suite_check(s, allow_legacy, err) &&
	          ike_skeyseed(s->prf, n, g_ir, g_ir_len, &skeyseed, err) &&
	          ike_sa_keys_derive(k, s, &skeyseed, n, spi_i, spi_r, allow_legacy, err);
	crypto_wipe(&skeyseed, sizeof(skeyseed));
	return ok;
}

bool ike_sa_keys_rekey(struct ike_sa_keys *k, const struct ike_sa_keys *old,
                       const struct ike_suite *s, const struct ike_nonces *n,
                       const uint8_t *g_ir_new, size_t g_ir_len, const uint8_t spi_i[8],
                       const uint8_t spi_r[8], bool allow_legacy, const char **err)
{
	struct ike_key skeyseed;
	memset(k, 0, sizeof(*k));
	bool ok = ike_suite_check(s, allow_legacy, err) &&
	          ike_skeyseed_rekey(old, n, g_ir_new, g_ir_len, &skeyseed, err) &&
	          ike_sa_keys_derive(k, s, &skeyseed, n, spi_i, spi_r, allow_legacy, err);
	crypto_wipe(&skeyseed, sizeof(skeyseed));
	return ok;
}

/* KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) of total octets. */
static bool child_keymat(const struct ike_sa_keys *sa, const struct ike_nonces *n,
                         const uint8_t *g_ir_new, size_t g_ir_len, uint8_t *keymat,
                         size_t total)
{
	uint8_t seed[IKE_SECRET_MAX + 2 * IKE_NONCE_MAX];
	size_t slen;
	const struct piece pc[] = {
		{ g_ir_new, g_ir_new ? g_ir_len : 0 }, { n->ni, n->ni_len }, { n->nr, n->nr_len },
	};
	bool ok = concat(seed, sizeof(seed), pc, 3, &slen) &&
	          prf_plus(sa->prf, sa->d.octets, sa->d.len, seed, slen, keymat, total);
	crypto_wipe(seed, sizeof(seed));
	return ok;
}

bool ike_child_keys_derive(struct ike_child_keys *k, const struct ike_sa_keys *sa,
                           const struct ike_nonces *n, const uint8_t *g_ir_new,
                           size_t g_ir_len, size_t enc_len, size_t integ_len,
                           const char **err)
{
	memset(k, 0, sizeof(*k));
	if (!crypto_prf_info(sa->prf) || !sa->d.len) {
		*err = "the IKE SA has no SK_d";
		return false;
	}
	if (!nonces_ok(n, err) || (g_ir_new && !secret_ok(g_ir_new, g_ir_len, err)))
		return false;
	if (enc_len > IKE_KEY_MAX || integ_len > IKE_KEY_MAX || enc_len + integ_len == 0) {
		*err = "child SA key lengths out of range";
		return false;
	}
	uint8_t keymat[4 * IKE_KEY_MAX];
	bool ok = child_keymat(sa, n, g_ir_new, g_ir_len, keymat, 2 * (enc_len + integ_len));
	if (ok) {
		const uint8_t *p = take(&k->ir_enc, keymat, enc_len);
		p = take(&k->ir_integ, p, integ_len);
		p = take(&k->ri_enc, p, enc_len);
		take(&k->ri_integ, p, integ_len);
	} else {
		*err = "PRF computation failed";
	}
	crypto_wipe(keymat, sizeof(keymat));
	return ok;
}

void ike_sa_keys_wipe(struct ike_sa_keys *k)
{
	crypto_wipe(k, sizeof(*k));
}

void ike_child_keys_wipe(struct ike_child_keys *k)
{
	crypto_wipe(k, sizeof(*k));
}
