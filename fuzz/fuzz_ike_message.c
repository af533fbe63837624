/*
 * fuzz_ike_message: the IKEv2 message codec (src/ike/message.c), the first
 * code secpold runs on every datagram to UDP 500/4500, before any key.
 *
 * Each input is tried three ways:
 *   1. as a message: ike_decode();
 *   2. as a chain of payloads (the plaintext of an SK payload): byte 0 is
 *      the first payload's type, the rest the chain: ike_decode_inner();
 *   3. as one payload body: byte 0 picks a known payload type, the rest is
 *      the body: that type's ike_decode_*().
 *
 * Invariants (abort() with "INVARIANT BROKEN" when one does not hold):
 *   - a decoded chain lies inside the input: without skipped payloads, its
 *     payloads are back to back from the first byte to the last; an SK or
 *     SKF is last; no more than IKE_MAX_PAYLOADS; the header fields are
 *     the header's bytes (flags less the reserved bits);
 *   - IKE_DECODE_CRITICAL names a payload type the codec does not know;
 *     IKE_DECODE_VERSION only for a major version other than 2;
 *   - every payload of an accepted chain passes its body decoder;
 *   - an accepted message or chain (or body) encoded again from its decoded
 *     form is accepted by the writer, and is the input with its reserved
 *     fields zeroed, byte for byte (the reserved positions are found
 *     independently of the writer, from the format);
 *   - an SK payload's body, taken as a plaintext chain, obeys the same.
 * ASan reports any read outside the input (it is copied to a buffer of
 * exactly its size).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/message.h"

#define FUZZ_MAX_INPUT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, size_t len)
{
	fprintf(stderr, "INVARIANT BROKEN: %s (input of %zu bytes)\n", what, len);
	abort();
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const uint8_t known_types[] = {
	IKE_PL_SA, IKE_PL_KE, IKE_PL_IDI, IKE_PL_IDR, IKE_PL_CERT, IKE_PL_CERTREQ, IKE_PL_AUTH,
	IKE_PL_NONCE, IKE_PL_NOTIFY, IKE_PL_DELETE, IKE_PL_VENDOR, IKE_PL_TSI, IKE_PL_TSR,
	IKE_PL_SK, IKE_PL_CP, IKE_PL_EAP, IKE_PL_SKF,
};
#define NKNOWN (sizeof(known_types) / sizeof(known_types[0]))

static bool is_known(uint8_t type)
{
	for (size_t i = 0; i < NKNOWN; i++)
		if (known_types[i] == type)
			return true;
	return false;
}

/* Scratch for the decoded bodies (large: kept off the stack). */
static struct ike_sa sa;
static struct ike_ts ts;

/* Decodes p and writes it again; false if its decoder refused it. When
 * canon is not NULL, also zeroes there (canon mirrors p's body) the
 * reserved bytes of the body, as RFC 7296 §3 places them. */
static bool reput(struct ike_writer *w, const struct ike_payload *p, uint8_t *canon)
{
	struct ike_ke ke;
	struct ike_id id;
	struct ike_auth auth;
	struct ike_data d;
	struct ike_notify n;
	struct ike_delete del;
	struct ike_cert cert;
	struct ike_cp cp;
	struct ike_sk sk;
	struct ike_skf skf;
	uint8_t dummy[4];
	uint8_t *c = canon ? canon : dummy;
	const char *why = NULL;
	switch (p->type) {
	case IKE_PL_SA:
		if (!ike_decode_sa(p, &sa, &why))
			return false;
		for (size_t i = 0; canon && i < sa.count; i++) {
			const struct ike_proposal *pr = &sa.prop[i];
			/* The transforms' attrs point into the body: their headers are
			 * the 8 bytes before, the proposal's the 8 + SPI before the first. */
			size_t first = (size_t)(pr->xf[0].attrs - p->body) - 8;
			c[first - pr->spi_size - 8 + 1] = 0;
			for (size_t j = 0; j < pr->count; j++) {
				size_t t = (size_t)(pr->xf[j].attrs - p->body) - 8;
				c[t + 1] = c[t + 5] = 0;
			}
		}
		ike_put_sa(w, sa.prop, sa.count);
		return true;
	case IKE_PL_KE:
		if (!ike_decode_ke(p, &ke, &why))
			return false;
		c[2] = c[3] = 0;
		ike_put_ke(w, &ke);
		return true;
	case IKE_PL_IDI: case IKE_PL_IDR:
		if (!ike_decode_id(p, &id, &why))
			return false;
		c[1] = c[2] = c[3] = 0;
		ike_put_id(w, p->type, &id);
		return true;
	case IKE_PL_AUTH:
		if (!ike_decode_auth(p, &auth, &why))
			return false;
		c[1] = c[2] = c[3] = 0;
		ike_put_auth(w, &auth);
		return true;
	case IKE_PL_NONCE:
		if (!ike_decode_nonce(p, &d, &why))
			return false;
		ike_put_nonce(w, d.data, d.len);
		return true;
	case IKE_PL_NOTIFY:
		if (!ike_decode_notify(p, &n, &why))
			return false;
		ike_put_notify(w, &n);
		return true;
	case IKE_PL_DELETE:
		if (!ike_decode_delete(p, &del, &why))
			return false;
		ike_put_delete(w, &del);
		return true;
	case IKE_PL_VENDOR:
		if (!ike_decode_vendor(p, &d, &why))
			return false;
		ike_put_vendor(w, d.data, d.len);
		return true;
	case IKE_PL_TSI: case IKE_PL_TSR:
		if (!ike_decode_ts(p, &ts, &why))
			return false;
		c[1] = c[2] = c[3] = 0;
		ike_put_ts(w, p->type, &ts);
		return true;
	case IKE_PL_CERT: case IKE_PL_CERTREQ:
		if (!ike_decode_cert(p, &cert, &why))
			return false;
		ike_put_cert(w, p->type, &cert);
		return true;
	case IKE_PL_CP:
		if (!ike_decode_cp(p, &cp, &why))
			return false;
		c[1] = c[2] = c[3] = 0;
		ike_put_cp(w, &cp);
		return true;
	case IKE_PL_EAP:
		if (!ike_decode_eap(p, &d, &why))
			return false;
		ike_put_eap(w, d.data, d.len);
		return true;
	case IKE_PL_SK:
		if (!ike_decode_sk(p, &sk, &why))
			return false;
		ike_put_sk(w, sk.next, sk.data, sk.len);
		return true;
	case IKE_PL_SKF:
		if (!ike_decode_skf(p, &skf, &why))
			return false;
		ike_put_skf(w, &skf);
		return true;
	default:
		return false;
	}
}

/* The payloads of m (from a chain at start .. start+len) are well placed. */
static void check_chain(const struct ike_message *m, const uint8_t *start, size_t len)
{
	if (m->count > IKE_MAX_PAYLOADS)
		fail("more payloads than IKE_MAX_PAYLOADS", len);
	const uint8_t *at = start;
	for (size_t i = 0; i < m->count; i++) {
		const struct ike_payload *p = &m->payload[i];
		if (!is_known(p->type))
			fail("an unknown payload in the list", len);
		if (p->body < start + 4 || p->body > start + len || p->len > (size_t)(start + len - p->body))
			fail("a payload outside the chain", len);
		if (p->body - 4 < at)
			fail("payloads out of order or overlapping", len);
		if (!m->skipped && p->body - 4 != at)
			fail("a gap between payloads", len);
		if (((size_t)p->body[-2] << 8 | p->body[-1]) != p->len + 4)
			fail("a payload length that is not its header's", len);
		if ((p->type == IKE_PL_SK || p->type == IKE_PL_SKF) &&
		    (i + 1 != m->count || p->body + p->len != start + len))
			fail("SK or SKF not last", len);
		at = p->body + p->len;
	}
	if (!m->skipped && at != start + len)
		fail("the chain does not end at the end", len);
}

/* Encodes m's payloads again into w, the expected bytes into canon (a copy
 * of the chain at start with the reserved fields zeroed). */
static void reencode_chain(struct ike_writer *w, const struct ike_message *m,
                           const uint8_t *start, uint8_t *canon, size_t len)
{
	for (size_t i = 0; i < m->count; i++) {
		const struct ike_payload *p = &m->payload[i];
		size_t off = (size_t)(p->body - start);
		canon[off - 3] = 0;                       /* critical bit and reserved */
		if (!reput(w, p, canon + off))
			fail("a payload of an accepted chain fails its decoder", len);
	}
}

static void check_inner(const uint8_t *chain, size_t len, uint8_t first);

static void check_message(const uint8_t *buf, size_t len)
{
	static struct ike_message m;
	const char *why = NULL;
	enum ike_decode_status st = ike_decode(buf, len, &m, &why);
	if (st == IKE_DECODE_VERSION && (len < IKE_HEADER_LEN || buf[17] >> 4 == 2))
		fail("INVALID_MAJOR_VERSION for version 2", len);
	if (st == IKE_DECODE_CRITICAL && is_known(m.bad_payload))
		fail("UNSUPPORTED_CRITICAL_PAYLOAD for a known payload", len);
	if (st != IKE_DECODE_OK && !why)
		fail("refused without a reason", len);
	if (st != IKE_DECODE_OK)
		return;
	if (len < IKE_HEADER_LEN || m.hdr.length != len || get32(buf + 24) != len ||
	    m.hdr.major != 2 || m.hdr.next_payload != buf[16] || m.hdr.exchange != buf[18] ||
	    m.hdr.flags != (buf[19] & IKE_FLAGS_KNOWN) || m.hdr.message_id != get32(buf + 20) ||
	    m.hdr.spi_i != ((uint64_t)get32(buf) << 32 | get32(buf + 4)) || m.hdr.spi_i == 0)
		fail("header fields are not the header's", len);
	check_chain(&m, buf + IKE_HEADER_LEN, len - IKE_HEADER_LEN);

	const struct ike_payload *sk = ike_find(&m, IKE_PL_SK);
	if (sk)
		check_inner(sk->body, sk->len, sk->next);
	if (m.skipped)
		return;                                   /* dropped on the way: no round trip */

	static uint8_t out[FUZZ_MAX_INPUT], canon[FUZZ_MAX_INPUT];
	memcpy(canon, buf, len);
	canon[19] &= IKE_FLAGS_KNOWN;
	struct ike_writer w;
	ike_writer_init(&w, out, sizeof(out));
	ike_put_header(&w, &m.hdr);
	reencode_chain(&w, &m, buf + IKE_HEADER_LEN, canon + IKE_HEADER_LEN, len);
	if (!ike_finish(&w))
		fail(w.why ? w.why : "the writer refused a decoded message", len);
	if (w.len != len || memcmp(out, canon, len))
		fail("message encoded again differs from the input beyond reserved fields", len);
}

static void check_inner(const uint8_t *chain, size_t len, uint8_t first)
{
	static struct ike_message m;
	const char *why = NULL;
	enum ike_decode_status st = ike_decode_inner(chain, len, first, &m, &why);
	if (st == IKE_DECODE_VERSION)
		fail("INVALID_MAJOR_VERSION from a chain", len);
	if (st == IKE_DECODE_CRITICAL && is_known(m.bad_payload))
		fail("UNSUPPORTED_CRITICAL_PAYLOAD for a known payload (inner)", len);
	if (st != IKE_DECODE_OK)
		return;
	check_chain(&m, chain, len);
	if (ike_find(&m, IKE_PL_SK) || ike_find(&m, IKE_PL_SKF))
		fail("SK or SKF inside a chain", len);
	if (m.skipped)
		return;
	static uint8_t out[FUZZ_MAX_INPUT], canon[FUZZ_MAX_INPUT];
	memcpy(canon, chain, len);
	struct ike_writer w;
	ike_writer_init(&w, out, sizeof(out));
	reencode_chain(&w, &m, chain, canon, len);
	if (!ike_finish(&w))
		fail(w.why ? w.why : "the writer refused a decoded chain", len);
	if (w.len != len || memcmp(out, canon, len) || (len && w.first != first))
		fail("chain encoded again differs from the input beyond reserved fields", len);
}

/* One body of a known type: if its decoder takes it, so must the writer,
 * and give it back (less reserved fields). */
static void check_body(uint8_t type, const uint8_t *body, size_t len)
{
	static uint8_t out[FUZZ_MAX_INPUT + 64], canon[FUZZ_MAX_INPUT];
	struct ike_payload p = { .type = type, .body = body, .len = len };
	struct ike_writer w;
	const size_t at = IKE_HEADER_LEN + IKE_PAYLOAD_HEADER_LEN;
	memcpy(canon, body, len);
	ike_writer_init(&w, out, sizeof(out));
	/* In a message: SK and SKF may not be inside a chain. */
	ike_put_header(&w, &(struct ike_header){ .spi_i = 1, .major = 2 });
	if (!reput(&w, &p, canon))
		return;
	if (!ike_finish(&w))
		fail(w.why ? w.why : "the writer refused a decoded body", len);
	if (w.len != at + len || memcmp(out + at, canon, len))
		fail("body encoded again differs from the input beyond reserved fields", len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT - 8)
		return 0;
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	check_message(buf, size);
	if (size >= 1) {
		check_inner(buf + 1, size - 1, buf[0]);
		check_body(known_types[buf[0] % NKNOWN], buf + 1, size - 1);
	}
	free(buf);
	return 0;
}
