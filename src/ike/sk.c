/*
 * The SK payload: IV | encrypted (inner payloads | padding | pad length) | ICV.
 * Every length comes from the caller's message length, never from a field
 * of the message: the SK payload is the last one, so it ends where the
 * message ends.
 */
#include <string.h>

#include "ike/sk.h"

#define IKE_HDR 28
#define GEN_HDR 4

bool ike_sk_key_init(struct ike_sk_key *k, enum crypto_enc enc, const uint8_t *ekey,
                     size_t elen, enum crypto_mac integ, const uint8_t *akey, size_t alen,
                     bool seal, bool allow_legacy, const char **err)
{
	memset(k, 0, sizeof(*k));
	const struct crypto_enc_info *ei = crypto_enc_info(enc);
	if (!ei || ei->gmac || enc == ENC_NULL) {
		*err = "this cipher cannot protect IKE messages";
		return false;
	}
	k->aead = ei->aead;
	if (k->aead != (integ == MAC_NONE)) {
		*err = k->aead ? "an AEAD cipher takes no integrity algorithm"
		               : "a CBC cipher needs an integrity algorithm";
		return false;
	}
	if (!cipher_init(&k->enc, enc, ekey, elen, seal, allow_legacy, err))
		return false;
	if (!k->aead && !mac_init(&k->integ, integ, akey, alen, allow_legacy, err)) {
		cipher_free(&k->enc);
		return false;
	}
	k->next_iv = 1;
	return true;
}

void ike_sk_key_free(struct ike_sk_key *k)
{
	cipher_free(&k->enc);
	if (!k->aead)
		mac_free(&k->integ);
	memset(k, 0, sizeof(*k));
}

static size_t icv_len(const struct ike_sk_key *k)
{
	return k->aead ? crypto_enc_info(k->enc.alg)->icv_len : k->integ.icv_len;
}

/* Padding so that inner | padding | pad length fills whole cipher blocks
 * (AEAD: no padding at all, RFC 5282 §3). */
static size_t pad_for(const struct ike_sk_key *k, size_t n)
{
	size_t block = k->aead ? 1 : crypto_enc_info(k->enc.alg)->block;
	return (block - (n + 1) % block) % block;
}

size_t ike_sk_overhead(const struct ike_sk_key *k, size_t n)
{
	return crypto_enc_info(k->enc.alg)->iv_len + pad_for(k, n) + 1 + icv_len(k);
}

static void put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * SK and SKF differ only in the octets between the generic header and the
 * IV: none for SK, Fragment Number and Total Fragments for SKF (RFC 7383
 * §2.5). hdr is the payload's header length up to the IV; the AEAD's
 * associated data runs from the IKE header to there (RFC 5282 §5.1, RFC
 * 7383 §2.5), so for SKF it covers the fragment numbers too.
 */
static size_t seal(struct ike_sk_key *k, uint8_t *msg, size_t cap, size_t sk_off, size_t hdr,
                   size_t inner_len, const char **why)
{
	const struct crypto_enc_info *ei = crypto_enc_info(k->enc.alg);
	size_t ivl = ei->iv_len, pad = pad_for(k, inner_len), icv = icv_len(k);
	size_t data = sk_off + hdr + ivl;                /* the encrypted part starts here */
	size_t ct = inner_len + pad + 1, total = data + ct + icv;
	if (sk_off < IKE_HDR || sk_off > cap || cap - sk_off < hdr + ivl + inner_len ||
	    total > cap || total - sk_off > 0xffff) {
		*why = "no room for the SK payload";
		return 0;
	}
	uint8_t *iv = msg + sk_off + hdr, *p = msg + data;
	if (k->aead) {
		/* A counter: unique under the key, which is all RFC 5282 asks. */
		if (k->next_iv == UINT64_MAX) {
			*why = "IV space of the key used up: rekey the IKE SA";
			return 0;
		}
		uint64_t c = k->next_iv++;
		for (int i = 7; i >= 0; i--, c >>= 8)
			iv[i] = (uint8_t)c;
	} else if (!crypto_random(iv, ivl)) {
		*why = "no random IV";
		return 0;
	}
	memset(p + inner_len, 0, pad);
	p[inner_len + pad] = (uint8_t)pad;
	/* The lengths first: they are part of what is authenticated. */
	put16(msg + sk_off + 2, total - sk_off);
	put32(msg + 24, total);
	bool ok = k->aead ? aead_seal(&k->enc, iv, msg, sk_off + hdr, p, ct, p + ct)
	                  : cbc_crypt(&k->enc, iv, p, ct) &&
	                    mac_compute(&k->integ, msg, data + ct, NULL, 0, NULL, 0, p + ct);
	if (!ok) {
		*why = "encryption failed";
		return 0;
	}
	return total;
}

size_t ike_sk_seal(struct ike_sk_key *k, uint8_t *msg, size_t cap, size_t sk_off,
                   size_t inner_len, const char **why)
{
	return seal(k, msg, cap, sk_off, GEN_HDR, inner_len, why);
}

size_t ike_skf_seal(struct ike_sk_key *k, uint8_t *msg, size_t cap, size_t skf_off,
                    size_t inner_len, const char **why)
{
	return seal(k, msg, cap, skf_off, GEN_HDR + 4, inner_len, why);
}

static bool open_payload(struct ike_sk_key *k, uint8_t *msg, size_t len, size_t sk_off,
                         size_t hdr, uint8_t **inner, size_t *inner_len, const char **why)
{
	const struct crypto_enc_info *ei = crypto_enc_info(k->enc.alg);
	size_t ivl = ei->iv_len, icv = icv_len(k);
	size_t block = k->aead ? 1 : ei->block;
	if (sk_off < IKE_HDR || sk_off > len || len - sk_off < hdr + ivl + icv + block) {
		*why = "SK payload too short";
		return false;
	}
	size_t data = sk_off + hdr + ivl, ct = len - data - icv;
	if (ct % block) {
		*why = "SK payload not a whole number of cipher blocks";
		return false;
	}
	uint8_t *iv = msg + sk_off + hdr, *p = msg + data;
	if (k->aead) {
		if (!aead_open(&k->enc, iv, msg, sk_off + hdr, p, ct, p + ct)) {
			*why = "the ICV of the SK payload does not verify";
			return false;
		}
	} else {
		uint8_t want[64];
		if (icv > sizeof(want) || !mac_compute(&k->integ, msg, data + ct, NULL, 0, NULL, 0, want) ||
		    !crypto_icv_equal(want, p + ct, icv)) {
			*why = "the ICV of the SK payload does not verify";
			return false;
		}
		if (!cbc_crypt(&k->enc, iv, p, ct)) {
			*why = "decryption failed";
			return false;
		}
	}
	size_t pad = p[ct - 1];
	if (pad + 1 > ct) {
		*why = "SK pad length longer than the payload";
		return false;
	}
	*inner = p;
	*inner_len = ct - pad - 1;
	return true;
}

bool ike_sk_open(struct ike_sk_key *k, uint8_t *msg, size_t len, size_t sk_off,
                 uint8_t **inner, size_t *inner_len, const char **why)
{
	return open_payload(k, msg, len, sk_off, GEN_HDR, inner, inner_len, why);
}

bool ike_skf_open(struct ike_sk_key *k, uint8_t *msg, size_t len, size_t skf_off,
                  uint8_t **inner, size_t *inner_len, const char **why)
{
	return open_payload(k, msg, len, skf_off, GEN_HDR + 4, inner, inner_len, why);
}
