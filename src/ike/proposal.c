/*
 * Policy security methods as IKEv2 proposals, and the responder's choice.
 * A Windows security method names a whole suite; IKEv2 proposals list
 * transforms by type, so each method becomes one proposal with one
 * transform of each type it needs.
 */
#include <stdio.h>
#include <string.h>

#include "ike/proposal.h"

struct encr_map {
	uint16_t id, key_length;
	bool aead, legacy;
};

static bool encr_of(enum esp_conf c, struct encr_map *m)
{
	static const struct encr_map map[] = {
		[CONF_DES] = { IKE_ENCR_DES, 0, false, true },
		[CONF_3DES] = { IKE_ENCR_3DES, 0, false, false },
		[CONF_AES128] = { IKE_ENCR_AES_CBC, 128, false, false },
		[CONF_AES192] = { IKE_ENCR_AES_CBC, 192, false, false },
		[CONF_AES256] = { IKE_ENCR_AES_CBC, 256, false, false },
		[CONF_AESGCM128] = { IKE_ENCR_AES_GCM_16, 128, true, false },
		[CONF_AESGCM192] = { IKE_ENCR_AES_GCM_16, 192, true, false },
		[CONF_AESGCM256] = { IKE_ENCR_AES_GCM_16, 256, true, false },
		[CONF_CHACHA20POLY1305] = { IKE_ENCR_CHACHA20_POLY1305, 0, true, false },
	};
	if ((size_t)c >= sizeof(map) / sizeof(map[0]) || map[c].id == 0)
		return false;
	*m = map[c];
	return true;
}

static uint16_t integ_of(enum integ_alg a)
{
	static const uint16_t map[] = {
		[INTEG_MD5] = IKE_INTEG_HMAC_MD5_96, [INTEG_SHA1] = IKE_INTEG_HMAC_SHA1_96,
		[INTEG_SHA256] = IKE_INTEG_HMAC_SHA2_256_128,
		[INTEG_SHA384] = IKE_INTEG_HMAC_SHA2_384_192,
		[INTEG_SHA512] = IKE_INTEG_HMAC_SHA2_512_256,
	};
	return (size_t)a < sizeof(map) / sizeof(map[0]) ? map[a] : 0;
}

static uint16_t prf_of(enum integ_alg a)
{
	static const uint16_t map[] = {
		[INTEG_MD5] = IKE_PRF_HMAC_MD5, [INTEG_SHA1] = IKE_PRF_HMAC_SHA1,
		[INTEG_SHA256] = IKE_PRF_HMAC_SHA2_256, [INTEG_SHA384] = IKE_PRF_HMAC_SHA2_384,
		[INTEG_SHA512] = IKE_PRF_HMAC_SHA2_512,
	};
	return (size_t)a < sizeof(map) / sizeof(map[0]) ? map[a] : 0;
}

/* Windows' group numbers to IKEv2's: "3" is Windows' 2048-bit group. */
static uint16_t dh_of(uint8_t g)
{
	switch (g) {
	case 1: return IKE_DH_MODP768;
	case 2: return IKE_DH_MODP1024;
	case 3:
	case 14: return IKE_DH_MODP2048;
	case 19: return IKE_DH_ECP256;
	case 20: return IKE_DH_ECP384;
	case 21: return IKE_DH_ECP521;
	case 31: return IKE_DH_CURVE25519;
	default: return 0;   /* 24 (MODP-2048/256) has no implementation here */
	}
}

static void add(struct ike_offer *o, uint8_t type, uint16_t id, uint16_t key_length)
{
	struct ike_proposal *p = &o->prop[o->count];
	if (o->used == sizeof(o->pool) / sizeof(o->pool[0]))
		return;
	o->pool[o->used++] = (struct ike_transform){ .type = type, .id = id,
	                                             .key_length = key_length };
	p->count++;
}

static struct ike_proposal *begin(struct ike_offer *o, uint8_t protocol)
{
	if (o->count == IKE_OFFER_MAX || o->used + 8 > sizeof(o->pool) / sizeof(o->pool[0]))
		return NULL;
	struct ike_proposal *p = &o->prop[o->count];
	memset(p, 0, sizeof(*p));
	p->num = (uint8_t)(o->count + 1);
	p->protocol = protocol;
	p->spi_size = protocol == IKE_PROTO_IKE ? 0 : 4;
	p->xf = &o->pool[o->used];
	return p;
}

uint16_t ike_offer_dh(const struct ike_offer *o)
{
	for (size_t i = 0; i < o->count; i++)
		for (size_t k = 0; k < o->prop[i].count; k++)
			if (o->prop[i].xf[k].type == IKE_XF_DH)
				return o->prop[i].xf[k].id;
	return 0;
}

void ike_offer_copy(struct ike_offer *dst, const struct ike_offer *src)
{
	*dst = *src;
	for (size_t i = 0; i < dst->count; i++)
		dst->prop[i].xf = dst->pool + (src->prop[i].xf - src->pool);
}

void ike_offer_from_mm(struct ike_offer *o, const struct mm_methods *mm, bool allow_legacy)
{
	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < mm->n; i++) {
		const struct mm_method *m = &mm->m[i];
		struct encr_map e;
		uint16_t dh = dh_of(m->group), prf = prf_of(m->hash);
		/* best-practices §3.1: 3DES, SHA1 and group 2 are negotiable in the
		 * modern profile; DES, MD5 and group 1 only with allowlegacy. */
		bool legacy = m->hash == INTEG_MD5 || m->group == 1;
		if (!encr_of(m->conf, &e) || !dh || !prf || ((e.legacy || legacy) && !allow_legacy) ||
		    !begin(o, IKE_PROTO_IKE)) {
			o->skipped++;
			continue;
		}
		add(o, IKE_XF_ENCR, e.id, e.key_length);
		add(o, IKE_XF_PRF, prf, 0);
		/* With an AEAD cipher the hash names the PRF only (RFC 5282). */
		if (!e.aead)
			add(o, IKE_XF_INTEG, integ_of(m->hash), 0);
		add(o, IKE_XF_DH, dh, 0);
		o->method[o->count++] = (uint8_t)i;
	}
}

void ike_offer_from_qm(struct ike_offer *o, const struct qm_methods *qm, uint16_t pfs_group,
                       bool allow_legacy)
{
	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < qm->n; i++) {
		const struct security_method *m = &qm->m[i];
		struct encr_map e = { 0 };
		/* IKEv2 negotiates one protocol per Child SA: AH+ESP bundles
		 * (and ESP without confidentiality) are not offered. */
		bool esp_ok = m->esp && !m->ah && encr_of(m->esp_conf, &e) &&
		              (e.aead || m->esp_integ != INTEG_NONE);
		bool ah_ok = m->ah && !m->esp && integ_of(m->ah_integ);
		bool legacy = e.legacy || (m->esp && m->esp_integ == INTEG_MD5) ||
		              (m->ah && m->ah_integ == INTEG_MD5);
		if ((!esp_ok && !ah_ok) || (legacy && !allow_legacy) ||
		    !begin(o, esp_ok ? IKE_PROTO_ESP : IKE_PROTO_AH)) {
			o->skipped++;
			continue;
		}
		if (esp_ok) {
			add(o, IKE_XF_ENCR, e.id, e.key_length);
			if (!e.aead)
				add(o, IKE_XF_INTEG, integ_of(m->esp_integ), 0);
		} else {
			add(o, IKE_XF_INTEG, integ_of(m->ah_integ), 0);
		}
		if (pfs_group)
			add(o, IKE_XF_DH, pfs_group, 0);
		add(o, IKE_XF_ESN, IKE_ESN_NO, 0);
		o->method[o->count++] = (uint8_t)i;
	}
}

static const char *type_name(uint8_t t)
{
	static const char *const names[] = { "?", "encryption", "PRF", "integrity",
	                                     "Diffie-Hellman group", "ESN" };
	return t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

/*
 * Whether their proposal t satisfies ours: every transform type either
 * side lists must have a common transform. Returns how many types matched;
 * when a type has none (*missing: the first such type, for the error), a
 * negative number instead, larger the more types did match.
 */
static int match(const struct ike_proposal *ours, const struct ike_proposal *t,
                 struct ike_choice *c, uint8_t *missing)
{
	int matched = 0;
	*missing = 0;
	memset(c, 0, sizeof(*c));
	for (uint8_t type = IKE_XF_ENCR; type <= IKE_XF_ESN; type++) {
		bool in_ours = false, in_theirs = false, found = false;
		for (size_t j = 0; j < t->count; j++)
			in_theirs = in_theirs || t->xf[j].type == type;
		for (size_t i = 0; i < ours->count && !found; i++) {
			const struct ike_transform *a = &ours->xf[i];
			if (a->type != type)
				continue;
			in_ours = true;
			for (size_t j = 0; j < t->count && !found; j++) {
				const struct ike_transform *b = &t->xf[j];
				/* Unknown attributes make a transform unacceptable (§3.3.6). */
				if (b->type == type && b->id == a->id && b->key_length == a->key_length &&
				    !b->unknown_attrs) {
					found = true;
					uint16_t *slot[] = { NULL, &c->encr, &c->prf, &c->integ, &c->dh,
					                     &c->esn };
					*slot[type] = b->id;
					if (type == IKE_XF_ENCR)
						c->key_length = b->key_length;
				}
			}
		}
		if (!in_ours && !in_theirs)
			continue;
		if (!found) {
			if (!*missing)
				*missing = type;
			continue;
		}
		matched++;
	}
	c->num = t->num;
	c->protocol = t->protocol;
	/* Failure: negative, the closer the more types matched. */
	return *missing ? matched - 10 : matched;
}

bool ike_select(const struct ike_offer *ours, const struct ike_sa *theirs,
                struct ike_choice *c, char *why, size_t whylen)
{
	int best = -1000;
	uint8_t best_missing = 0;
	for (size_t i = 0; i < ours->count; i++)
		for (size_t k = 0; k < theirs->count; k++) {
			const struct ike_proposal *t = &theirs->prop[k];
			if (t->protocol != ours->prop[i].protocol)
				continue;
			uint8_t missing;
			struct ike_choice tmp;
			int r = match(&ours->prop[i], t, &tmp, &missing);
			if (r >= 0) {
				*c = tmp;
				c->ours = (uint8_t)i;
				return true;
			}
			if (r > best) {
				best = r;
				best_missing = missing;
			}
		}
	if (best == -1000)
		snprintf(why, whylen, "no proposal for the protocol we offer (%s)",
		         ours->count ? (ours->prop[0].protocol == IKE_PROTO_IKE ? "IKE"
		                        : ours->prop[0].protocol == IKE_PROTO_ESP ? "ESP" : "AH")
		                     : "none configured");
	else
		snprintf(why, whylen, "no proposal chosen: no common %s transform",
		         type_name(best_missing));
	return false;
}

void ike_choice_proposal(const struct ike_choice *c, const uint8_t *spi, uint8_t spi_size,
                         struct ike_transform xf[5], struct ike_proposal *p)
{
	size_t n = 0;
	memset(p, 0, sizeof(*p));
	if (c->encr)
		xf[n++] = (struct ike_transform){ .type = IKE_XF_ENCR, .id = c->encr,
		                                  .key_length = c->key_length };
	if (c->prf)
		xf[n++] = (struct ike_transform){ .type = IKE_XF_PRF, .id = c->prf };
	if (c->integ)
		xf[n++] = (struct ike_transform){ .type = IKE_XF_INTEG, .id = c->integ };
	if (c->dh)
		xf[n++] = (struct ike_transform){ .type = IKE_XF_DH, .id = c->dh };
	if (c->protocol != IKE_PROTO_IKE)   /* ESN NO is 0: the type's presence matters */
		xf[n++] = (struct ike_transform){ .type = IKE_XF_ESN, .id = c->esn };
	p->num = c->num;
	p->protocol = c->protocol;
	p->spi_size = spi_size;
	if (spi_size)
		memcpy(p->spi, spi, spi_size);
	p->count = n;
	p->xf = xf;
}
