/*
 * IKEv2 key exchange over OpenSSL 3 EVP_PKEY: MODP (RFC 2409, RFC 3526), ECP
 * (RFC 5903) and Curve25519 (RFC 8031). OpenSSL generates the keys and
 * computes g^ir; this file only maps IKE's encodings onto OpenSSL's and
 * checks the peer's value the way RFC 6989 asks before using it.
 */
#include "crypto/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <string.h>

enum ke_kind { KE_MODP, KE_ECP, KE_X25519 };

struct dh_group {
	unsigned id;
	enum ke_kind kind;
	const char *name;         /* OpenSSL's group name; NULL: explicit prime */
	const uint8_t *prime;     /* the groups OpenSSL 3.0 does not name */
	int nid;                  /* ECP: the curve, to compute a known key's point */
	size_t pub_len;           /* as IKE carries it */
	size_t secret_len;
	bool legacy;
};

/* RFC 2409 §6.1 and §6.2 (generator 2). OpenSSL 3.0 names the RFC 3526 groups
 * ("modp_1536" up) but not these two, so they go in as p and g. */
static const uint8_t oakley768[96] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc9, 0x0f, 0xda, 0xa2, 0x21, 0x68, 0xc2, 0x34,
	0xc4, 0xc6, 0x62, 0x8b, 0x80, 0xdc, 0x1c, 0xd1, 0x29, 0x02, 0x4e, 0x08, 0x8a, 0x67, 0xcc, 0x74,
	0x02, 0x0b, 0xbe, 0xa6, 0x3b, 0x13, 0x9b, 0x22, 0x51, 0x4a, 0x08, 0x79, 0x8e, 0x34, 0x04, 0xdd,
	0xef, 0x95, 0x19, 0xb3, 0xcd, 0x3a, 0x43, 0x1b, 0x30, 0x2b, 0x0a, 0x6d, 0xf2, 0x5f, 0x14, 0x37,
	0x4f, 0xe1, 0x35, 0x6d, 0x6d, 0x51, 0xc2, 0x45, 0xe4, 0x85, 0xb5, 0x76, 0x62, 0x5e, 0x7e, 0xc6,
	0xf4, 0x4c, 0x42, 0xe9, 0xa6, 0x3a, 0x36, 0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};
static const uint8_t oakley1024[128] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc9, 0x0f, 0xda, 0xa2, 0x21, 0x68, 0xc2, 0x34,
	0xc4, 0xc6, 0x62, 0x8b, 0x80, 0xdc, 0x1c, 0xd1, 0x29, 0x02, 0x4e, 0x08, 0x8a, 0x67, 0xcc, 0x74,
	0x02, 0x0b, 0xbe, 0xa6, 0x3b, 0x13, 0x9b, 0x22, 0x51, 0x4a, 0x08, 0x79, 0x8e, 0x34, 0x04, 0xdd,
	0xef, 0x95, 0x19, 0xb3, 0xcd, 0x3a, 0x43, 0x1b, 0x30, 0x2b, 0x0a, 0x6d, 0xf2, 0x5f, 0x14, 0x37,
	0x4f, 0xe1, 0x35, 0x6d, 0x6d, 0x51, 0xc2, 0x45, 0xe4, 0x85, 0xb5, 0x76, 0x62, 0x5e, 0x7e, 0xc6,
	0xf4, 0x4c, 0x42, 0xe9, 0xa6, 0x37, 0xed, 0x6b, 0x0b, 0xff, 0x5c, 0xb6, 0xf4, 0x06, 0xb7, 0xed,
	0xee, 0x38, 0x6b, 0xfb, 0x5a, 0x89, 0x9f, 0xa5, 0xae, 0x9f, 0x24, 0x11, 0x7c, 0x4b, 0x1f, 0xe6,
	0x49, 0x28, 0x66, 0x51, 0xec, 0xe6, 0x53, 0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

static const struct dh_group groups[] = {
	/* id kind      name         prime       nid                   pub  secret legacy */
	{ 1,  KE_MODP,   NULL,        oakley768,  0,                     96,  96, true },
	/* Group 2 is weak but negotiable (best-practices §3.1): Windows
	 * 2003's predefined policies use it. Only group 1 needs allowlegacy. */
	{ 2,  KE_MODP,   NULL,        oakley1024, 0,                    128, 128, false },
	{ 14, KE_MODP,   "modp_2048", NULL,       0,                    256, 256, false },
	{ 19, KE_ECP,    "P-256",     NULL,       NID_X9_62_prime256v1,  64,  32, false },
	{ 20, KE_ECP,    "P-384",     NULL,       NID_secp384r1,         96,  48, false },
	{ 21, KE_ECP,    "P-521",     NULL,       NID_secp521r1,        132,  66, false },
	{ 31, KE_X25519, NULL,        NULL,       0,                     32,  32, false },
};

static const char *const kind_type[] = {
	[KE_MODP] = "DH", [KE_ECP] = "EC", [KE_X25519] = "X25519",
};

static const struct dh_group *find_group(unsigned id)
{
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (groups[i].id == id)
			return &groups[i];
	return NULL;
}

size_t dh_public_len(unsigned group)
{
	const struct dh_group *g = find_group(group);
	return g ? g->pub_len : 0;
}

size_t dh_secret_len(unsigned group)
{
	const struct dh_group *g = find_group(group);
	return g ? g->secret_len : 0;
}

static const struct dh_group *usable_group(unsigned id, bool allow_legacy, const char **err)
{
	const struct dh_group *g = find_group(id);
	if (!g) {
		*err = "unsupported Diffie-Hellman group (supported: 2, 14, 19, 20, 21, 31; "
		       "1 as legacy)";
		return NULL;
	}
	if (g->legacy && !allow_legacy) {
		*err = "legacy Diffie-Hellman group (MODP-768) not allowed: "
		       "it must be enabled explicitly (allowlegacy)";
		return NULL;
	}
	return g;
}

/* ---- OpenSSL key objects from IKE's octet strings ---------------------- */

static EVP_PKEY *fromdata(const struct dh_group *g, OSSL_PARAM *params, bool priv, bool pub)
{
	int selection = priv ? EVP_PKEY_KEYPAIR : pub ? EVP_PKEY_PUBLIC_KEY
	                                              : EVP_PKEY_KEY_PARAMETERS;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, kind_type[g->kind], NULL);
	EVP_PKEY *key = NULL;
	if (ctx && EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &key, selection, params);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

/* X25519 keys are plain octet strings: no copy of the private value is made. */
static EVP_PKEY *x25519_key(const struct dh_group *g, const uint8_t *priv, const uint8_t *pub)
{
	OSSL_PARAM params[3], *p = params;
	if (priv)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, (void *)priv, 32);
	if (pub)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, 32);
	*p = OSSL_PARAM_construct_end();
	return fromdata(g, params, priv, pub);
}

/* BIGNUMs pushed to a builder must live until OSSL_PARAM_BLD_to_param. */
struct bns {
	BIGNUM *v[4];
	int n;
};

static bool push_bn(OSSL_PARAM_BLD *bld, struct bns *keep, const char *key, BIGNUM *bn)
{
	if (!bn)
		return false;
	if (keep->n == (int)(sizeof(keep->v) / sizeof(keep->v[0]))) {
		BN_clear_free(bn);
		return false;
	}
	keep->v[keep->n++] = bn;
	return OSSL_PARAM_BLD_push_BN(bld, key, bn) == 1;
}

static bool push_domain(OSSL_PARAM_BLD *bld, struct bns *keep, const struct dh_group *g)
{
	static const uint8_t two = 2;
	if (g->name)
		return OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, g->name, 0);
	return push_bn(bld, keep, OSSL_PKEY_PARAM_FFC_P, BN_bin2bn(g->prime, (int)g->pub_len, NULL)) &&
	       push_bn(bld, keep, OSSL_PKEY_PARAM_FFC_G, BN_bin2bn(&two, 1, NULL));
}

/* The private value goes in a "secure" BIGNUM: the builder then puts it in
 * the block that OSSL_PARAM_free cleanses. ECP pub: OpenSSL's 0x04 | x | y. */
static bool push_key(OSSL_PARAM_BLD *bld, struct bns *keep, const struct dh_group *g,
                     const uint8_t *priv, size_t priv_len, const uint8_t *pub, size_t pub_len)
{
	if (priv) {
		BIGNUM *x = BN_secure_new();
		if (!x || !BN_bin2bn(priv, (int)priv_len, x)) {
			BN_clear_free(x);
			return false;
		}
		if (!push_bn(bld, keep, OSSL_PKEY_PARAM_PRIV_KEY, x))
			return false;
	}
	if (!pub)
		return true;
	if (g->kind == KE_ECP)
		return OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len);
	return push_bn(bld, keep, OSSL_PKEY_PARAM_PUB_KEY, BN_bin2bn(pub, (int)pub_len, NULL));
}

/* A key (or, with neither value, the domain parameters) of a MODP/ECP group. */
static EVP_PKEY *built_key(const struct dh_group *g, const uint8_t *priv, size_t priv_len,
                           const uint8_t *pub, size_t pub_len)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	struct bns keep = { .n = 0 };
	OSSL_PARAM *params = NULL;
	if (bld && push_domain(bld, &keep, g) && push_key(bld, &keep, g, priv, priv_len, pub, pub_len))
		params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY *key = params ? fromdata(g, params, priv, pub) : NULL;
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	for (int i = 0; i < keep.n; i++)
		BN_clear_free(keep.v[i]);
	return key;
}

static EVP_PKEY *make_key(const struct dh_group *g, const uint8_t *priv, size_t priv_len,
                          const uint8_t *pub, size_t pub_len)
{
	if (g->kind == KE_X25519)
		return x25519_key(g, priv, pub);
	return built_key(g, priv, priv_len, pub, pub_len);
}

/* ---- Key pairs ----------------------------------------------------------- */

static EVP_PKEY *generate(const struct dh_group *g)
{
	EVP_PKEY *domain = NULL, *key = NULL;
	EVP_PKEY_CTX *ctx;
	if (g->kind == KE_X25519) {
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
	} else {
		domain = make_key(g, NULL, 0, NULL, 0);
		ctx = domain ? EVP_PKEY_CTX_new_from_pkey(NULL, domain, NULL) : NULL;
	}
	if (ctx && EVP_PKEY_keygen_init(ctx) == 1)
		EVP_PKEY_generate(ctx, &key);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(domain);
	return key;
}

bool dh_init(struct dh *d, unsigned group, bool allow_legacy, const char **err)
{
	memset(d, 0, sizeof(*d));
	const struct dh_group *g = usable_group(group, allow_legacy, err);
	if (!g)
		return false;
	d->pkey = generate(g);
	if (!d->pkey) {
		*err = "OpenSSL could not generate a Diffie-Hellman key pair";
		return false;
	}
	d->group = group;
	return true;
}

/* g^ir (or g^x, with the generator as "peer") between two keys of a group.
 * The peer is checked by the caller, hence no second check by OpenSSL. */
static bool derive_raw(const struct dh_group *g, EVP_PKEY *mine, EVP_PKEY *peer, uint8_t *out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
	size_t got = g->secret_len;
	/* RFC 7296 §2.14: g^ir is padded to the size of the prime. */
	bool ok = ctx && EVP_PKEY_derive_init(ctx) == 1 &&
	          (g->kind != KE_MODP || EVP_PKEY_CTX_set_dh_pad(ctx, 1) == 1) &&
	          EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1 &&
	          EVP_PKEY_derive(ctx, out, &got) == 1 && got == g->secret_len;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

/* MODP public value g^x: OpenSSL 3.0 does not compute it when a key is
 * imported from its private value, so derive it with the generator as peer. */
static bool modp_public(const struct dh_group *g, const uint8_t *priv, size_t len, uint8_t *pub)
{
	static const uint8_t two = 2;
	EVP_PKEY *x = make_key(g, priv, len, NULL, 0);
	EVP_PKEY *gen = make_key(g, NULL, 0, &two, 1);
	bool ok = x && gen && derive_raw(g, x, gen, pub);
	EVP_PKEY_free(x);
	EVP_PKEY_free(gen);
	return ok;
}

/* ECP public point d * G, in OpenSSL's encoding (0x04 | x | y). */
static bool ecp_public(const struct dh_group *g, const uint8_t *priv, size_t len, uint8_t *pub)
{
	EC_GROUP *grp = EC_GROUP_new_by_curve_name(g->nid);
	EC_POINT *pt = grp ? EC_POINT_new(grp) : NULL;
	BIGNUM *k = BN_secure_new();
	bool ok = pt && k && BN_bin2bn(priv, (int)len, k) &&
	          EC_POINT_mul(grp, pt, k, NULL, NULL, NULL) == 1 &&
	          EC_POINT_point2oct(grp, pt, POINT_CONVERSION_UNCOMPRESSED, pub, 1 + g->pub_len,
	                             NULL) == 1 + g->pub_len;
	BN_clear_free(k);
	EC_POINT_free(pt);
	EC_GROUP_free(grp);
	return ok;
}

static EVP_PKEY *known_key(const struct dh_group *g, const uint8_t *priv, size_t len)
{
	uint8_t pub[1 + DH_MAX_PUBLIC];
	switch (g->kind) {
	case KE_X25519:         /* OpenSSL computes the public value itself */
		return len == 32 ? make_key(g, priv, len, NULL, 0) : NULL;
	case KE_MODP:
		return modp_public(g, priv, len, pub) ? make_key(g, priv, len, pub, g->pub_len) : NULL;
	case KE_ECP:
		return ecp_public(g, priv, len, pub) ? make_key(g, priv, len, pub, 1 + g->pub_len)
		                                     : NULL;
	}
	return NULL;
}

bool dh_init_private(struct dh *d, unsigned group, const uint8_t *priv, size_t len,
                     bool allow_legacy, const char **err)
{
	memset(d, 0, sizeof(*d));
	const struct dh_group *g = usable_group(group, allow_legacy, err);
	if (!g)
		return false;
	if (!priv || len == 0 || len > g->secret_len) {
		*err = "private value has the wrong length for the group";
		return false;
	}
	d->pkey = known_key(g, priv, len);
	if (!d->pkey) {
		*err = "OpenSSL refused the private value";
		return false;
	}
	d->group = group;
	return true;
}

bool dh_public(const struct dh *d, uint8_t *out, size_t len)
{
	const struct dh_group *g = find_group(d->group);
	uint8_t enc[1 + DH_MAX_PUBLIC];
	size_t got = 0;
	if (!g || !d->pkey || len != g->pub_len ||
	    EVP_PKEY_get_octet_string_param(d->pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, enc,
	                                    sizeof(enc), &got) != 1)
		return false;
	/* MODP: OpenSSL pads to the prime (as TLS 1.3 does); ECP: 0x04 | x | y. */
	size_t skip = g->kind == KE_ECP ? 1 : 0;
	if (got != skip + len || (skip && enc[0] != POINT_CONVERSION_UNCOMPRESSED))
		return false;
	memcpy(out, enc + skip, len);
	return true;
}

/* ---- The peer's value ---------------------------------------------------- */

/* RFC 6989 §2.1: for the safe-prime MODP groups, 1 < y < p-1 is the whole
 * test (the only small subgroup is {1, p-1}). */
static bool modp_in_range(EVP_PKEY *mine, const uint8_t *peer, size_t len)
{
	BIGNUM *p = NULL, *y = BN_bin2bn(peer, (int)len, NULL);
	bool ok = y && EVP_PKEY_get_bn_param(mine, OSSL_PKEY_PARAM_FFC_P, &p) == 1 &&
	          BN_sub_word(p, 1) && BN_cmp(y, BN_value_one()) > 0 && BN_cmp(y, p) < 0;
	BN_free(p);
	BN_free(y);
	return ok;
}

/* The peer's public key, checked: ECP points must be on the curve (OpenSSL
 * refuses others on import, and the quick check tests it again). */
static EVP_PKEY *peer_key(const struct dh_group *g, struct dh *d, const uint8_t *peer,
                          size_t len)
{
	uint8_t enc[1 + DH_MAX_PUBLIC];
	const uint8_t *pub = peer;
	if (g->kind == KE_MODP && !modp_in_range(d->pkey, peer, len))
		return NULL;
	if (g->kind == KE_ECP) {
		enc[0] = POINT_CONVERSION_UNCOMPRESSED;
		memcpy(enc + 1, peer, len);
		pub = enc;
		len++;
	}
	EVP_PKEY *key = make_key(g, NULL, 0, pub, len);
	EVP_PKEY_CTX *ctx = key ? EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL) : NULL;
	bool ok = ctx && EVP_PKEY_public_check_quick(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

/* RFC 8031 §2.3 / RFC 7748 §6.1: a small-order peer point gives all zeros. */
static bool all_zero(const uint8_t *s, size_t len)
{
	static const uint8_t zeros[DH_MAX_SECRET];
	return CRYPTO_memcmp(s, zeros, len) == 0;
}

/* The group of d, if d has a key pair and the peer's value and the room for
 * the secret have the group's lengths. */
static const struct dh_group *derive_group(const struct dh *d, const uint8_t *peer, size_t len,
                                           size_t room, const char **err)
{
	const struct dh_group *g = find_group(d->group);
	if (!g || !d->pkey) {
		*err = "no Diffie-Hellman key pair";
		return NULL;
	}
	if (!peer || len != g->pub_len) {
		*err = "peer's key exchange value has the wrong length for the group";
		return NULL;
	}
	if (room < g->secret_len) {
		*err = "no room for the shared secret";
		return NULL;
	}
	return g;
}

bool dh_derive(struct dh *d, const uint8_t *peer, size_t len, uint8_t *secret,
               size_t *secret_len, const char **err)
{
	const struct dh_group *g = derive_group(d, peer, len, *secret_len, err);
	if (!g)
		return false;
	EVP_PKEY *pk = peer_key(g, d, peer, len);
	if (!pk) {
		/* A bad value from the network is reported here, in *err: clear
		 * what OpenSSL queued so that it cannot mislead a later caller. */
		ERR_clear_error();
		*err = "peer's key exchange value is invalid (out of range or not on the curve)";
		return false;
	}
	bool ok = derive_raw(g, d->pkey, pk, secret);
	EVP_PKEY_free(pk);
	if (ok && g->kind == KE_X25519 && all_zero(secret, g->secret_len))
		ok = false;
	if (!ok) {
		crypto_wipe(secret, g->secret_len);
		ERR_clear_error();
		*err = "Diffie-Hellman computation failed (or gave an all-zero X25519 result)";
		return false;
	}
	*secret_len = g->secret_len;
	return true;
}

void dh_free(struct dh *d)
{
	EVP_PKEY_free(d->pkey);   /* OpenSSL clears the private value it holds */
	crypto_wipe(d, sizeof(*d));
}
