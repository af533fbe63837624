/*
 * IKEv2 fragmentation (RFC 7383): cutting a message into Encrypted
 * Fragment messages, and putting the fragments received back together.
 *
 * Every fragment is sealed and opened by sk.c, exactly as an SK payload:
 * this file only decides where the slices go and which fragments to keep.
 * The receiver holds plaintext only, of fragments that verified, each in a
 * buffer of its own that is wiped before it is freed (never realloc'd, so
 * that no copy is left behind in freed memory).
 */
#include <stdlib.h>
#include <string.h>

#include "ike/frag.h"

/* IKE header, then the SKF generic header and its two 16-bit numbers. */
#define SKF_OFF IKE_HEADER_LEN
#define SKF_HDR (IKE_PAYLOAD_HEADER_LEN + 4)

/* ---- Sending ------------------------------------------------------------ */

size_t ike_frag_chunk(const struct ike_sk_key *k, size_t max_len)
{
	const struct crypto_enc_info *ei = crypto_enc_info(k->enc.alg);
	size_t block = k->aead ? 1 : ei->block;
	size_t icv = k->aead ? ei->icv_len : k->integ.icv_len;
	size_t fixed = SKF_OFF + SKF_HDR + ei->iv_len + icv;
	/* The SKF payload's length is 16 bits; UDP cannot carry more anyway. */
	if (max_len > 0xffff)
		max_len = 0xffff;
	if (max_len <= fixed)
		return 0;
	/* The encrypted part (chunk | padding | pad length) in whole blocks:
	 * the largest that fits, less its pad length octet. With a chunk of
	 * exactly that size the padding is empty. */
	size_t ct = (max_len - fixed) / block * block;
	return ct > 1 ? ct - 1 : 0;
}

size_t ike_frag_count(const struct ike_sk_key *k, size_t inner_len, size_t max_len)
{
	size_t chunk = ike_frag_chunk(k, max_len);
	if (!chunk)
		return 0;
	/* An empty chain is still one fragment (it would not be cut up, but
	 * there is no reason to refuse it). */
	size_t n = inner_len ? inner_len / chunk + (inner_len % chunk != 0) : 1;
	return n <= IKE_FRAG_MAX ? n : 0;
}

/* Nothing half-built goes out, and no plaintext stays in the buffers. */
static size_t seal_failed(struct ike_frag_buf *out, size_t upto)
{
	for (size_t i = 0; i <= upto; i++) {
		crypto_wipe(out[i].buf, out[i].cap);
		out[i].len = 0;
	}
	return 0;
}

size_t ike_frag_seal(struct ike_sk_key *k, const struct ike_header *h, uint8_t first,
                     const uint8_t *inner, size_t inner_len, size_t max_len,
                     struct ike_frag_buf *out, size_t nout, const char **why)
{
	size_t chunk = ike_frag_chunk(k, max_len);
	size_t n = ike_frag_count(k, inner_len, max_len);
	if (!chunk) {
		*why = "fragment size too small for the cipher's overhead";
		return 0;
	}
	if (!n || n > nout) {
		*why = "the message needs more fragments than allowed";
		return 0;
	}
	size_t ivl = crypto_enc_info(k->enc.alg)->iv_len;
	for (size_t i = 0; i < n; i++) {
		size_t off = i * chunk;
		size_t len = inner_len - off < chunk ? inner_len - off : chunk;
		/* The header and an SKF with room for IV and slice, written (and
		 * checked) by the codec; then the slice goes in and sk.c pads,
		 * encrypts, appends the ICV and sets both lengths. */
		struct ike_writer w;
		ike_writer_init(&w, out[i].buf, out[i].cap);
		ike_put_header(&w, h);
		struct ike_skf f = {
			.number = (uint16_t)(i + 1), .total = (uint16_t)n,
			/* RFC 7383 §2.5: fragment 1 names the first inner payload, the others 0. */
			.next = i == 0 ? first : IKE_PL_NONE,
			.data = NULL, .len = ivl + len,
		};
		uint8_t *body = ike_put_skf(&w, &f);
		if (!body || !ike_finish(&w)) {
			*why = w.why ? w.why : "cannot write the fragment";
			return seal_failed(out, i);
		}
		if (len)
			memcpy(body + ivl, inner + off, len);
		out[i].len = ike_skf_seal(k, out[i].buf, out[i].cap, SKF_OFF, len, why);
		if (!out[i].len)
			return seal_failed(out, i);
		if (out[i].len > max_len) {            /* ike_frag_chunk() is wrong */
			*why = "fragment larger than the fragment size";
			return seal_failed(out, i);
		}
	}
	return n;
}

/* ---- Receiving ---------------------------------------------------------- */

void ike_frag_init(struct ike_frag_reasm *r)
{
	memset(r, 0, sizeof(*r));
}

static void wipe_free(uint8_t *p, size_t len)
{
	if (p) {
		crypto_wipe(p, len);
		free(p);
	}
}

/* Forgets the fragments held (not the message handed out). */
static void drop_pieces(struct ike_frag_reasm *r)
{
	for (size_t i = 0; i < IKE_FRAG_MAX; i++) {
		wipe_free(r->piece[i], r->piece_len[i]);
		r->piece[i] = NULL;
		r->piece_len[i] = 0;
	}
	r->active = r->complete = false;
	r->total = r->received = 0;
	r->bytes = 0;
	r->first = 0;
}

static void drop_inner(struct ike_frag_reasm *r)
{
	wipe_free(r->inner, r->inner_len);
	r->inner = NULL;
	r->inner_len = 0;
}

void ike_frag_free(struct ike_frag_reasm *r)
{
	drop_pieces(r);
	drop_inner(r);
	ike_frag_init(r);
}

static enum ike_frag_status drop(const char **why, const char *what)
{
	*why = what;
	return IKE_FRAG_DROP;
}

/* All fragments are in: one buffer, in Fragment Number order. */
static enum ike_frag_status assemble(struct ike_frag_reasm *r, const struct ike_header *h,
                                     const char **why)
{
	uint8_t *p = malloc(r->bytes ? r->bytes : 1);
	if (!p) {
		drop_pieces(r);
		return drop(why, "out of memory reassembling fragments");
	}
	size_t at = 0;
	for (size_t i = 0; i < r->total; i++) {
		memcpy(p + at, r->piece[i], r->piece_len[i]);
		at += r->piece_len[i];
	}
	uint8_t first = r->first;
	drop_pieces(r);
	/* Kept: which message this was, so that its retransmitted fragments
	 * are recognised (IKE_FRAG_REPEAT) instead of starting it again. */
	r->active = r->complete = true;
	r->first = first;
	r->inner = p;
	r->inner_len = at;
	r->hdr = *h;
	return IKE_FRAG_COMPLETE;
}

enum ike_frag_status ike_frag_add(struct ike_frag_reasm *r, struct ike_sk_key *k, uint8_t *msg,
                                  size_t len, const struct ike_message *m, const char **why)
{
	drop_inner(r);
	r->number = 0;
	/* m must be msg decoded, ending in an SKF right after the header. The
	 * decoder has checked the lengths; that m describes this msg is checked
	 * here, as sk.c takes every length from len. */
	if (m->hdr.next_payload != IKE_PL_SKF || m->count != 1 || m->payload[0].type != IKE_PL_SKF)
		return drop(why, "not an Encrypted Fragment message with SKF alone");
	if (len < SKF_OFF + SKF_HDR || m->hdr.length != len ||
	    m->payload[0].body != msg + SKF_OFF + IKE_PAYLOAD_HEADER_LEN ||
	    m->payload[0].len != len - SKF_OFF - IKE_PAYLOAD_HEADER_LEN)
		return drop(why, "the decoded message is not this message");
	struct ike_skf f;
	if (!ike_decode_skf(&m->payload[0], &f, why))
		return IKE_FRAG_DROP;
	if (f.total > IKE_FRAG_MAX)
		return drop(why, "more fragments than we reassemble");

	uint8_t response = m->hdr.flags & IKE_FLAG_RESPONSE;
	bool same = r->active && r->message_id == m->hdr.message_id && r->response == response;
	/* The checks that need no decryption first: a forged fragment must not
	 * cost more than a header's worth of work where that is enough. */
	if (same && m->hdr.exchange != r->exchange)
		return drop(why, "fragment of another exchange type than the others");
	if (same && !r->complete) {
		if (f.total < r->total)
			return drop(why, "fragment with fewer Total Fragments than those held");
		if (f.total == r->total && r->piece[f.number - 1]) {
			r->number = f.number;
			return IKE_FRAG_DUPLICATE;
		}
	}

	uint8_t *plain;
	size_t plen;
	if (!ike_skf_open(k, msg, len, SKF_OFF, &plain, &plen, why))
		return IKE_FRAG_DROP;
	/* Verified: from here on the fragment is the peer's own. */
	r->number = f.number;
	if (same && r->complete) {
		crypto_wipe(plain, plen);
		return IKE_FRAG_REPEAT;
	}
	if (!same || f.total > r->total) {
		/* Another message, or this one again in smaller fragments (RFC 7383
		 * §2.5.2): what was held will not be completed. */
		drop_pieces(r);
		r->active = true;
		r->message_id = m->hdr.message_id;
		r->response = response;
		r->exchange = m->hdr.exchange;
		r->total = f.total;
	}
	if (plen > IKE_FRAG_MAX_INNER - r->bytes) {
		crypto_wipe(plain, plen);
		drop_pieces(r);
		return drop(why, "reassembled message too large");
	}
	uint8_t *piece = malloc(plen ? plen : 1);
	if (!piece) {
		crypto_wipe(plain, plen);
		return drop(why, "out of memory holding a fragment");
	}
	memcpy(piece, plain, plen);
	crypto_wipe(plain, plen);
	r->piece[f.number - 1] = piece;
	r->piece_len[f.number - 1] = plen;
	r->bytes += plen;
	r->received++;
	if (f.number == 1)
		r->first = f.next;
	if (r->received < r->total)
		return IKE_FRAG_MORE;
	return assemble(r, &m->hdr, why);
}
