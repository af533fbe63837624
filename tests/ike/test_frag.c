/*
 * IKEv2 fragmentation (src/ike/frag.c, RFC 7383): round trips with AES-GCM
 * and AES-CBC + HMAC-SHA-256 at several sizes, the layout of every
 * fragment, and the receiver's rules: out of order, duplicates, forged or
 * corrupted fragments, inconsistent totals, oversized messages, another
 * message ID or direction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ike/frag.h"

#define BUF_LEN 2048
#define IPV6_MIN 1228                 /* 1280 - IPv6 - UDP - non-ESP marker */
#define IPV4_MIN 544                  /* 576 - IPv4 - UDP - non-ESP marker */

static const struct suite {
	enum crypto_enc enc;
	enum crypto_mac integ;
} suites[] = {
	{ ENC_AES128_GCM, MAC_NONE },
	{ ENC_AES256_GCM, MAC_NONE },
	{ ENC_AES128_CBC, MAC_HMAC_SHA256_128 },
	{ ENC_AES256_CBC, MAC_HMAC_SHA256_128 },
};
#define NSUITES (sizeof(suites) / sizeof(suites[0]))

/* The sending and receiving halves of one direction. */
struct keys {
	struct ike_sk_key out, in;
};

static void keys_init_seed(struct keys *k, const struct suite *su, unsigned seed)
{
	uint8_t ekey[64], akey[64];
	for (size_t i = 0; i < sizeof(ekey); i++) {
		ekey[i] = (uint8_t)(i * 7 + 3 + seed);
		akey[i] = (uint8_t)(i * 11 + 1 + seed);
	}
	const struct crypto_enc_info *ei = crypto_enc_info(su->enc);
	size_t el = ei->key_len + ei->salt_len;
	size_t al = su->integ == MAC_NONE ? 0 : crypto_mac_info(su->integ)->key_len;
	const char *err = NULL;
	assert_true(ike_sk_key_init(&k->out, su->enc, ekey, el, su->integ, akey, al, true, false,
	                            &err));
	assert_true(ike_sk_key_init(&k->in, su->enc, ekey, el, su->integ, akey, al, false, false,
	                            &err));
}

static void keys_init(struct keys *k, const struct suite *su)
{
	keys_init_seed(k, su, 0);
}

static void keys_free(struct keys *k)
{
	ike_sk_key_free(&k->out);
	ike_sk_key_free(&k->in);
}

/* Fragments of one message, each in a buffer of BUF_LEN. */
struct frags {
	size_t n;
	struct ike_frag_buf b[IKE_FRAG_MAX];
	uint8_t mem[IKE_FRAG_MAX][BUF_LEN];
};

static struct ike_header header(uint32_t message_id, uint8_t flags, uint8_t exchange)
{
	return (struct ike_header){
		.spi_i = 0x0102030405060708u, .spi_r = 0x1112131415161718u, .major = 2,
		.exchange = exchange, .flags = flags, .message_id = message_id,
	};
}

/* A well-formed chain of exactly len octets (len == 0 or >= 4): Vendor ID
 * payloads of varied contents. Returns its first payload's type. */
static uint8_t make_chain(uint8_t *buf, size_t len, unsigned seed)
{
	struct ike_writer w;
	ike_writer_init(&w, buf, len);
	static uint8_t body[4000];
	size_t left = len;
	while (left) {
		/* Up to 4000 octets of body each; never leave 1..3 octets over. */
		size_t take = left - 4 > sizeof(body) ? sizeof(body) : left - 4;
		if (left - 4 - take != 0 && left - 4 - take < 4)
			take -= 4;
		for (size_t i = 0; i < take; i++)
			body[i] = (uint8_t)(seed + i * 31 + left);
		assert_true(ike_put_vendor(&w, body, take));
		left -= take + 4;
	}
	assert_true(ike_finish(&w));
	assert_int_equal(w.len, len);
	return w.first;
}

static size_t seal(struct frags *f, struct ike_sk_key *k, const struct ike_header *h,
                   uint8_t first, const uint8_t *inner, size_t len, size_t max_len)
{
	const char *why = NULL;
	for (size_t i = 0; i < IKE_FRAG_MAX; i++)
		f->b[i] = (struct ike_frag_buf){ .buf = f->mem[i], .cap = BUF_LEN };
	f->n = ike_frag_seal(k, h, first, inner, len, max_len, f->b, IKE_FRAG_MAX, &why);
	if (!f->n)
		fail_msg("ike_frag_seal: %s", why);
	return f->n;
}

/* Delivers a copy of fragment i (the reassembler decrypts in place). */
static enum ike_frag_status deliver_bytes(struct ike_frag_reasm *r, struct ike_sk_key *k,
                                          const uint8_t *buf, size_t len)
{
	static uint8_t copy[BUF_LEN];
	struct ike_message m;
	const char *why = NULL;
	assert_true(len <= sizeof(copy));
	memcpy(copy, buf, len);
	if (ike_decode(copy, len, &m, &why) != IKE_DECODE_OK)
		return IKE_FRAG_DROP;
	enum ike_frag_status st = ike_frag_add(r, k, copy, len, &m, &why);
	if (st == IKE_FRAG_DROP)
		assert_non_null(why);
	if (st == IKE_FRAG_MORE || st == IKE_FRAG_COMPLETE || st == IKE_FRAG_REPEAT) {
		/* The plaintext does not stay behind in the caller's buffer: all
		 * zero up to the pad length octet (the padding was zeros already;
		 * every suite here has a 16-octet ICV). */
		size_t ivl = crypto_enc_info(k->enc.alg)->iv_len;
		for (size_t i = 36 + ivl; i < len - 16 - 1; i++)
			assert_int_equal(copy[i], 0);
	}
	return st;
}

static enum ike_frag_status deliver(struct ike_frag_reasm *r, struct ike_sk_key *k,
                                    const struct frags *f, size_t i)
{
	return deliver_bytes(r, k, f->b[i].buf, f->b[i].len);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Every fragment: a valid IKE message, the header given, SKF alone with the
 * right numbers and Next Payload, no larger than max_len, and all but the
 * last filled to within a cipher block of it. */
static void check_layout(const struct frags *f, const struct ike_header *h, uint8_t first,
                         size_t max_len, size_t block)
{
	for (size_t i = 0; i < f->n; i++) {
		struct ike_message m;
		const char *why = NULL;
		if (ike_decode(f->b[i].buf, f->b[i].len, &m, &why) != IKE_DECODE_OK)
			fail_msg("fragment %zu: %s", i + 1, why);
		assert_true(f->b[i].len <= max_len);
		if (i + 1 < f->n)
			assert_true(f->b[i].len + block > max_len);
		assert_int_equal(m.hdr.next_payload, IKE_PL_SKF);
		assert_int_equal(m.hdr.spi_i, h->spi_i);
		assert_int_equal(m.hdr.spi_r, h->spi_r);
		assert_int_equal(m.hdr.exchange, h->exchange);
		assert_int_equal(m.hdr.flags, h->flags);
		assert_int_equal(m.hdr.message_id, h->message_id);
		assert_int_equal(m.count, 1);
		struct ike_skf skf;
		assert_true(ike_decode_skf(&m.payload[0], &skf, &why));
		assert_int_equal(skf.number, i + 1);
		assert_int_equal(skf.total, f->n);
		assert_int_equal(skf.next, i == 0 ? first : 0);
		/* On the wire too, at the offsets of RFC 7383 §2.5. */
		assert_int_equal(f->b[i].buf[28], i == 0 ? first : 0);
		assert_int_equal(get16(f->b[i].buf + 32), i + 1);
		assert_int_equal(get16(f->b[i].buf + 34), f->n);
	}
}

static void round_trip(const struct suite *su, size_t inner_len, size_t max_len,
                       size_t want_n)
{
	static uint8_t inner[70000];
	static struct frags f;
	struct keys k;
	keys_init(&k, su);
	uint8_t first = make_chain(inner, inner_len, (unsigned)inner_len);
	struct ike_header h = header(5, IKE_FLAG_INITIATOR, IKE_AUTH);
	seal(&f, &k.out, &h, first, inner, inner_len, max_len);
	if (want_n)
		assert_int_equal(f.n, want_n);
	assert_int_equal(f.n, ike_frag_count(&k.out, inner_len, max_len));
	size_t block = k.out.aead ? 1 : crypto_enc_info(su->enc)->block;
	check_layout(&f, &h, first, max_len, block);

	struct ike_frag_reasm r;
	ike_frag_init(&r);
	for (size_t i = 0; i < f.n; i++)
		assert_int_equal(deliver(&r, &k.in, &f, i),
		                 i + 1 < f.n ? IKE_FRAG_MORE : IKE_FRAG_COMPLETE);
	assert_int_equal(r.inner_len, inner_len);
	assert_memory_equal(r.inner, inner, inner_len);
	assert_int_equal(r.first, first);
	assert_int_equal(r.hdr.message_id, 5);
	struct ike_message m;
	const char *why = NULL;
	if (ike_decode_inner(r.inner, r.inner_len, r.first, &m, &why) != IKE_DECODE_OK)
		fail_msg("reassembled chain: %s", why);
	ike_frag_free(&r);
	keys_free(&k);
}

static void test_round_trips(void **state)
{
	(void)state;
	for (size_t s = 0; s < NSUITES; s++) {
		round_trip(&suites[s], 100, IPV6_MIN, 1);       /* fits in one */
		round_trip(&suites[s], 1500, IPV6_MIN, 2);      /* needs two */
		round_trip(&suites[s], 3000, IPV6_MIN, 3);      /* the 1280 case */
		round_trip(&suites[s], 20000, IPV4_MIN, 0);     /* many: 576-octet IPv4 */
		round_trip(&suites[s], 8000, 200, 0);           /* many small ones */
	}
	/* Exactly at a fragment's capacity: no empty last fragment. */
	struct keys k;
	keys_init(&k, &suites[0]);
	size_t chunk = ike_frag_chunk(&k.out, IPV6_MIN);
	assert_int_equal(chunk, IPV6_MIN - 28 - 8 - 8 - 16 - 1);
	assert_int_equal(ike_frag_count(&k.out, chunk, IPV6_MIN), 1);
	assert_int_equal(ike_frag_count(&k.out, chunk + 1, IPV6_MIN), 2);
	assert_int_equal(ike_frag_count(&k.out, 2 * chunk, IPV6_MIN), 2);
	keys_free(&k);
	round_trip(&suites[0], chunk, IPV6_MIN, 1);
	round_trip(&suites[0], 2 * chunk, IPV6_MIN, 2);
	round_trip(&suites[2], 0, IPV6_MIN, 1);             /* empty: one fragment */
	/* CBC: the encrypted part is whole blocks. */
	keys_init(&k, &suites[2]);
	chunk = ike_frag_chunk(&k.out, IPV6_MIN);
	assert_int_equal((chunk + 1) % 16, 0);
	assert_true(28 + 8 + 16 + chunk + 1 + 16 <= IPV6_MIN);
	assert_true(28 + 8 + 16 + chunk + 1 + 16 + 16 > IPV6_MIN);
	keys_free(&k);
}

static void test_sender_limits(void **state)
{
	(void)state;
	static uint8_t inner[70000];
	static struct frags f;
	struct keys k;
	keys_init(&k, &suites[0]);
	struct ike_header h = header(1, 0, IKE_AUTH);
	const char *why = NULL;
	for (size_t i = 0; i < IKE_FRAG_MAX; i++)
		f.b[i] = (struct ike_frag_buf){ .buf = f.mem[i], .cap = BUF_LEN };
	/* No room for even one octet per fragment. */
	assert_int_equal(ike_frag_chunk(&k.out, 28 + 8 + 8 + 16 + 1), 0);
	assert_int_equal(ike_frag_seal(&k.out, &h, IKE_PL_VENDOR, inner, 100, 61, f.b,
	                               IKE_FRAG_MAX, &why), 0);
	assert_int_equal(ike_frag_chunk(&k.out, 28 + 8 + 8 + 16 + 2), 1);
	/* More fragments than IKE_FRAG_MAX, or than the caller has buffers. */
	assert_int_equal(ike_frag_count(&k.out, 70000, IPV4_MIN), 0);
	assert_int_equal(ike_frag_seal(&k.out, &h, IKE_PL_VENDOR, inner, 70000, IPV4_MIN, f.b,
	                               IKE_FRAG_MAX, &why), 0);
	assert_int_equal(ike_frag_seal(&k.out, &h, IKE_PL_VENDOR, inner, 3000, IPV6_MIN, f.b, 2,
	                               &why), 0);
	/* A buffer too small: refused, and nothing left in the buffers. */
	memset(inner, 0xee, 3000);
	f.b[1].cap = 600;
	assert_int_equal(ike_frag_seal(&k.out, &h, IKE_PL_VENDOR, inner, 3000, IPV6_MIN, f.b,
	                               IKE_FRAG_MAX, &why), 0);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(f.b[i].len, 0);
		for (size_t j = 0; j < f.b[i].cap; j++)
			assert_int_equal(f.mem[i][j], 0);
	}
	keys_free(&k);
}

/* Five fragments of a 5000-octet chain. */
static void five(struct frags *f, struct keys *k, const struct suite *su, uint32_t message_id,
                 uint8_t flags, uint8_t **inner_out, size_t *len_out)
{
	static uint8_t inner[5000];
	keys_init(k, su);
	uint8_t first = make_chain(inner, sizeof(inner), message_id);
	struct ike_header h = header(message_id, flags, IKE_AUTH);
	assert_int_equal(seal(f, &k->out, &h, first, inner, sizeof(inner), 1100), 5);
	*inner_out = inner;
	*len_out = sizeof(inner);
}

static void test_out_of_order_and_duplicates(void **state)
{
	(void)state;
	static struct frags f;
	for (size_t s = 0; s < NSUITES; s++) {
		struct keys k;
		uint8_t *inner;
		size_t len;
		five(&f, &k, &suites[s], 9, IKE_FLAG_INITIATOR, &inner, &len);
		struct ike_frag_reasm r;
		ike_frag_init(&r);
		static const struct { size_t frag; enum ike_frag_status st; } seq[] = {
			{ 2, IKE_FRAG_MORE }, { 0, IKE_FRAG_MORE }, { 2, IKE_FRAG_DUPLICATE },
			{ 4, IKE_FRAG_MORE }, { 1, IKE_FRAG_MORE }, { 0, IKE_FRAG_DUPLICATE },
			{ 4, IKE_FRAG_DUPLICATE }, { 3, IKE_FRAG_COMPLETE },
		};
		for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
			assert_int_equal(deliver(&r, &k.in, &f, seq[i].frag), seq[i].st);
			assert_int_equal(r.number, seq[i].frag + 1);
		}
		assert_int_equal(r.inner_len, len);
		assert_memory_equal(r.inner, inner, len);
		/* Fragments of it again (a retransmitted request): verified, repeats. */
		assert_int_equal(deliver(&r, &k.in, &f, 1), IKE_FRAG_REPEAT);
		assert_int_equal(r.number, 2);
		assert_null(r.inner);
		assert_int_equal(deliver(&r, &k.in, &f, 0), IKE_FRAG_REPEAT);
		assert_int_equal(r.number, 1);
		/* A forged repeat is dropped. */
		static uint8_t bad[BUF_LEN];
		memcpy(bad, f.b[0].buf, f.b[0].len);
		bad[f.b[0].len - 1] ^= 1;
		assert_int_equal(deliver_bytes(&r, &k.in, bad, f.b[0].len), IKE_FRAG_DROP);
		ike_frag_free(&r);
		keys_free(&k);
	}
}

static void test_corrupted_dropped(void **state)
{
	(void)state;
	static struct frags f;
	static uint8_t bad[BUF_LEN];
	for (size_t s = 0; s < NSUITES; s++) {
		struct keys k;
		uint8_t *inner;
		size_t len;
		five(&f, &k, &suites[s], 3, 0, &inner, &len);
		struct ike_frag_reasm r;
		ike_frag_init(&r);
		assert_int_equal(deliver(&r, &k.in, &f, 0), IKE_FRAG_MORE);
		/* Fragment 2 with any one octet flipped: dropped, nothing changes. The
		 * fragment numbers (32..35) are authenticated like the rest. */
		for (size_t b = 0; b < f.b[1].len; b++) {
			memcpy(bad, f.b[1].buf, f.b[1].len);
			bad[b] ^= 0x04;
			assert_int_equal(deliver_bytes(&r, &k.in, bad, f.b[1].len), IKE_FRAG_DROP);
			assert_int_equal(r.received, 1);
			assert_int_equal(r.total, 5);
			assert_int_equal(r.message_id, 3);
		}
		/* Fragment 2 claiming to be fragment 3, or of 6: dropped as well. */
		memcpy(bad, f.b[1].buf, f.b[1].len);
		bad[35] = 6;
		assert_int_equal(deliver_bytes(&r, &k.in, bad, f.b[1].len), IKE_FRAG_DROP);
		assert_int_equal(r.received, 1);
		assert_int_equal(r.total, 5);
		/* A forged fragment of another message ID does not discard this one. */
		memcpy(bad, f.b[1].buf, f.b[1].len);
		bad[23] = 4;
		assert_int_equal(deliver_bytes(&r, &k.in, bad, f.b[1].len), IKE_FRAG_DROP);
		assert_int_equal(r.message_id, 3);
		assert_int_equal(r.received, 1);
		/* Every truncation: dropped. */
		for (size_t n = 0; n < f.b[1].len; n++)
			assert_int_equal(deliver_bytes(&r, &k.in, f.b[1].buf, n), IKE_FRAG_DROP);
		/* The good copies complete it. */
		for (size_t i = 1; i < 5; i++)
			assert_int_equal(deliver(&r, &k.in, &f, i),
			                 i < 4 ? IKE_FRAG_MORE : IKE_FRAG_COMPLETE);
		assert_memory_equal(r.inner, inner, len);
		/* The other direction's key (or another SA's) verifies nothing. */
		struct keys other;
		const struct suite *o = &suites[(s + 1) % NSUITES];
		keys_init_seed(&other, o, 1);
		ike_frag_free(&r);
		for (size_t i = 0; i < 5; i++)
			assert_int_equal(deliver(&r, &other.in, &f, i), IKE_FRAG_DROP);
		assert_false(r.active);
		keys_free(&other);
		ike_frag_free(&r);
		keys_free(&k);
	}
}

/* The same message in fragments of two sizes (RFC 7383 §2.5.2: a sender
 * that goes to smaller fragments retransmits with a larger total). */
static void test_totals(void **state)
{
	(void)state;
	static uint8_t inner[3000];
	static struct frags big, small;
	struct keys k;
	keys_init(&k, &suites[2]);
	uint8_t first = make_chain(inner, sizeof(inner), 1);
	struct ike_header h = header(12, IKE_FLAG_RESPONSE, IKE_AUTH);
	assert_int_equal(seal(&big, &k.out, &h, first, inner, sizeof(inner), 1100), 3);
	assert_int_equal(seal(&small, &k.out, &h, first, inner, sizeof(inner), 600), 6);
	struct ike_frag_reasm r;
	ike_frag_init(&r);
	assert_int_equal(deliver(&r, &k.in, &big, 0), IKE_FRAG_MORE);
	assert_int_equal(deliver(&r, &k.in, &big, 2), IKE_FRAG_MORE);
	/* A larger total: what was held goes, the new total counts. */
	assert_int_equal(deliver(&r, &k.in, &small, 1), IKE_FRAG_MORE);
	assert_int_equal(r.total, 6);
	assert_int_equal(r.received, 1);
	/* A smaller total than that: dropped (not even decrypted). */
	assert_int_equal(deliver(&r, &k.in, &big, 1), IKE_FRAG_DROP);
	assert_int_equal(deliver(&r, &k.in, &big, 0), IKE_FRAG_DROP);
	assert_int_equal(r.received, 1);
	for (size_t i = 0; i < 6; i++)
		if (i != 1)
			assert_int_equal(deliver(&r, &k.in, &small, i),
			                 i < 5 ? IKE_FRAG_MORE : IKE_FRAG_COMPLETE);
	assert_int_equal(r.inner_len, sizeof(inner));
	assert_memory_equal(r.inner, inner, sizeof(inner));
	assert_int_equal(r.first, first);
	ike_frag_free(&r);

	/* Total Fragments above IKE_FRAG_MAX: dropped before decryption. The
	 * fragment is properly sealed, so only the limit refuses it. */
	static uint8_t msg[BUF_LEN];
	struct ike_writer w;
	ike_writer_init(&w, msg, sizeof(msg));
	ike_put_header(&w, &h);
	struct ike_skf skf = { .number = 1, .total = IKE_FRAG_MAX + 1, .next = first,
	                       .len = 16 + 100 };
	uint8_t *body = ike_put_skf(&w, &skf);
	assert_non_null(body);
	assert_true(ike_finish(&w));
	memcpy(body + 16, inner, 100);
	const char *why = NULL;
	size_t len = ike_skf_seal(&k.out, msg, sizeof(msg), 28, 100, &why);
	assert_true(len > 0);
	assert_int_equal(deliver_bytes(&r, &k.in, msg, len), IKE_FRAG_DROP);
	assert_false(r.active);
	/* The same with total IKE_FRAG_MAX is taken. */
	ike_writer_init(&w, msg, sizeof(msg));
	ike_put_header(&w, &h);
	skf.total = IKE_FRAG_MAX;
	body = ike_put_skf(&w, &skf);
	assert_true(ike_finish(&w));
	memcpy(body + 16, inner, 100);
	len = ike_skf_seal(&k.out, msg, sizeof(msg), 28, 100, &why);
	assert_int_equal(deliver_bytes(&r, &k.in, msg, len), IKE_FRAG_MORE);
	/* Fragment number 0, or above the total: the decoder already refuses. */
	msg[33] = 0;
	assert_int_equal(deliver_bytes(&r, &k.in, msg, len), IKE_FRAG_DROP);
	msg[33] = IKE_FRAG_MAX + 1;
	assert_int_equal(deliver_bytes(&r, &k.in, msg, len), IKE_FRAG_DROP);
	ike_frag_free(&r);
	keys_free(&k);
}

static void test_oversized(void **state)
{
	(void)state;
	/* 63 fragments of about 1190 octets: more than IKE_FRAG_MAX_INNER. */
	static uint8_t inner[74000];
	static struct frags f;
	struct keys k;
	keys_init(&k, &suites[0]);
	memset(inner, 0x5a, sizeof(inner));
	struct ike_header h = header(2, 0, IKE_AUTH);
	size_t n = seal(&f, &k.out, &h, IKE_PL_VENDOR, inner, sizeof(inner), IPV6_MIN);
	assert_true(n <= IKE_FRAG_MAX);
	struct ike_frag_reasm r;
	ike_frag_init(&r);
	size_t chunk = ike_frag_chunk(&k.out, IPV6_MIN), drops = 0;
	for (size_t i = 0; i < n; i++) {
		enum ike_frag_status st = deliver(&r, &k.in, &f, i);
		assert_int_not_equal(st, IKE_FRAG_COMPLETE);
		if (st == IKE_FRAG_DROP) {
			/* At the fragment that goes over; what was held is gone. */
			assert_int_equal(i, IKE_FRAG_MAX_INNER / chunk);
			assert_false(r.active);
			assert_int_equal(r.bytes, 0);
			drops++;
		}
	}
	assert_int_equal(drops, 1);
	ike_frag_free(&r);
	keys_free(&k);
}

static void test_other_message(void **state)
{
	(void)state;
	static struct frags a, b, resp;
	static uint8_t inner_a[2500], inner_b[2000];
	struct keys k;
	keys_init(&k, &suites[0]);
	struct ike_header ha = header(7, 0, IKE_AUTH), hb = header(8, 0, IKE_INFORMATIONAL);
	struct ike_header hr = header(7, IKE_FLAG_RESPONSE, IKE_AUTH);
	uint8_t fa = make_chain(inner_a, sizeof(inner_a), 7);
	uint8_t fb = make_chain(inner_b, sizeof(inner_b), 8);
	assert_int_equal(seal(&a, &k.out, &ha, fa, inner_a, sizeof(inner_a), 1000), 3);
	assert_int_equal(seal(&b, &k.out, &hb, fb, inner_b, sizeof(inner_b), 1100), 2);
	assert_int_equal(seal(&resp, &k.out, &hr, fa, inner_a, sizeof(inner_a), 1000), 3);
	struct ike_frag_reasm r;
	ike_frag_init(&r);
	assert_int_equal(deliver(&r, &k.in, &a, 0), IKE_FRAG_MORE);
	assert_int_equal(deliver(&r, &k.in, &a, 1), IKE_FRAG_MORE);
	/* Message 8 discards message 7. */
	assert_int_equal(deliver(&r, &k.in, &b, 1), IKE_FRAG_MORE);
	assert_int_equal(r.message_id, 8);
	assert_int_equal(r.received, 1);
	assert_int_equal(deliver(&r, &k.in, &b, 0), IKE_FRAG_COMPLETE);
	assert_memory_equal(r.inner, inner_b, sizeof(inner_b));
	assert_int_equal(r.first, fb);
	assert_int_equal(r.hdr.exchange, IKE_INFORMATIONAL);
	/* Message 7 again: from scratch. */
	assert_int_equal(deliver(&r, &k.in, &a, 2), IKE_FRAG_MORE);
	assert_int_equal(r.message_id, 7);
	assert_int_equal(r.received, 1);
	assert_null(r.inner);
	/* Message 7 in the other direction (a response): another message. */
	assert_int_equal(deliver(&r, &k.in, &resp, 0), IKE_FRAG_MORE);
	assert_int_equal(r.response, IKE_FLAG_RESPONSE);
	assert_int_equal(r.received, 1);
	assert_int_equal(deliver(&r, &k.in, &resp, 2), IKE_FRAG_MORE);
	/* Message 7 of another exchange type than the fragments held: dropped. */
	static struct frags x;
	struct ike_header hx = header(7, IKE_FLAG_RESPONSE, IKE_CREATE_CHILD_SA);
	seal(&x, &k.out, &hx, fa, inner_a, sizeof(inner_a), 1000);
	assert_int_equal(deliver(&r, &k.in, &x, 1), IKE_FRAG_DROP);
	assert_int_equal(deliver(&r, &k.in, &resp, 1), IKE_FRAG_COMPLETE);
	assert_memory_equal(r.inner, inner_a, sizeof(inner_a));
	ike_frag_free(&r);
	assert_false(r.active);
	assert_null(r.inner);
	keys_free(&k);
}

/* Only SKF alone is a fragment; and the decoded form must be msg's. */
static void test_not_a_fragment(void **state)
{
	(void)state;
	static uint8_t msg[BUF_LEN], inner[200];
	struct keys k;
	keys_init(&k, &suites[0]);
	uint8_t first = make_chain(inner, sizeof(inner), 2);
	struct ike_writer w;
	ike_writer_init(&w, msg, sizeof(msg));
	struct ike_header h = header(1, 0, IKE_INFORMATIONAL);
	ike_put_header(&w, &h);
	uint8_t *body = ike_put_sk(&w, first, NULL, 8 + sizeof(inner));
	assert_true(ike_finish(&w));
	memcpy(body + 8, inner, sizeof(inner));
	const char *why = NULL;
	size_t len = ike_sk_seal(&k.out, msg, sizeof(msg), 28, sizeof(inner), &why);
	assert_true(len > 0);
	struct ike_frag_reasm r;
	ike_frag_init(&r);
	assert_int_equal(deliver_bytes(&r, &k.in, msg, len), IKE_FRAG_DROP);

	/* An unencrypted payload before the SKF. */
	ike_writer_init(&w, msg, sizeof(msg));
	ike_put_header(&w, &h);
	ike_put_vendor(&w, inner, 10);
	struct ike_skf skf = { .number = 1, .total = 1, .next = first, .len = 8 + sizeof(inner) };
	body = ike_put_skf(&w, &skf);
	assert_true(ike_finish(&w));
	memcpy(body + 8, inner, sizeof(inner));
	len = ike_skf_seal(&k.out, msg, sizeof(msg), 28 + 14, sizeof(inner), &why);
	assert_true(len > 0);
	assert_int_equal(deliver_bytes(&r, &k.in, msg, len), IKE_FRAG_DROP);

	/* A decoded form of another buffer. */
	static struct frags f;
	seal(&f, &k.out, &h, first, inner, sizeof(inner), 1000);
	struct ike_message m;
	assert_int_equal(ike_decode(f.b[0].buf, f.b[0].len, &m, &why), IKE_DECODE_OK);
	memcpy(msg, f.b[0].buf, f.b[0].len);
	assert_int_equal(ike_frag_add(&r, &k.in, msg, f.b[0].len, &m, &why), IKE_FRAG_DROP);
	assert_int_equal(ike_frag_add(&r, &k.in, f.b[0].buf, f.b[0].len - 1, &m, &why),
	                 IKE_FRAG_DROP);
	assert_int_equal(ike_frag_add(&r, &k.in, f.b[0].buf, f.b[0].len, &m, &why),
	                 IKE_FRAG_COMPLETE);
	assert_memory_equal(r.inner, inner, sizeof(inner));
	ike_frag_free(&r);
	keys_free(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_sender_limits),
		cmocka_unit_test(test_out_of_order_and_duplicates),
		cmocka_unit_test(test_corrupted_dropped),
		cmocka_unit_test(test_totals),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_other_message),
		cmocka_unit_test(test_not_a_fragment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
