/*
 * fuzz_ike_frag: IKEv2 fragment reassembly (src/ike/frag.c, RFC 7383) with
 * fixed test keys, and the fragmenter feeding it.
 *
 * Byte 0 picks the suite (AES-128-GCM, or AES-128-CBC with HMAC-SHA-256).
 * The rest is a script of operations on one reassembly context, each an
 * operation byte and its arguments (a script cut short ends early):
 *
 *   op % 3 == 0  RAW: u16 length, then that many bytes: a message from the
 *                wire, through ike_decode() and, if accepted, ike_frag_add().
 *                Random bytes never verify: this is the path of forgeries.
 *   op % 3 == 1  SEALED: a fragment the script describes and the harness
 *                seals with the valid key, so the logic behind the ICV is
 *                reached: message ID (0..3), R flag, exchange, Fragment
 *                Number, Total Fragments (small, or anything with the top
 *                bit), the plaintext's length, and optionally one octet to
 *                corrupt after sealing. The plaintext is self-describing:
 *                [number:16][length:16] then octets computed from (message
 *                ID, R, total, number, position).
 *   op % 3 == 2  WHOLE: a message of up to 64 KiB cut by ike_frag_seal() at
 *                a fragment size from the script, delivered in a shuffled
 *                order with duplicates to a fresh context (and to the
 *                shared one).
 *
 * Invariants (abort() with "INVARIANT BROKEN"):
 *   - the context is consistent after every call: received pieces, their
 *     octets and Total Fragments within the limits and each other;
 *   - a corrupted fragment is never taken (DROP, or DUPLICATE when a good
 *     copy of its number is held, which is decided before decryption);
 *   - a message completed from SEALED fragments is exactly pieces 1 .. T
 *     of one (message ID, R, T), in order, with fragment 1's Next Payload;
 *   - WHOLE: the fresh context completes exactly when the last missing
 *     fragment arrives, with the message byte for byte; every fragment is
 *     within the fragment size.
 * ASan reports any read outside the input (each message is copied to a
 * buffer of exactly its size) and any leak (the context is freed per input).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/frag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OPS 96
#define SEALED_MAX_PLAIN 2004
#define BUF_LEN 4096
#define WHOLE_ID 0x100                /* WHOLE's message IDs; SEALED's are 0..3 */

static void fail(const char *what)
{
	fprintf(stderr, "INVARIANT BROKEN: %s\n", what);
	abort();
}

struct keys {
	struct ike_sk_key out, in;
	bool ready;
};
static struct keys suites[2];

static void keys_setup(void)
{
	static const uint8_t key[64] = { 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 7, 1 };
	static const struct { enum crypto_enc enc; enum crypto_mac mac; } s[2] = {
		{ ENC_AES128_GCM, MAC_NONE }, { ENC_AES128_CBC, MAC_HMAC_SHA256_128 },
	};
	for (int i = 0; i < 2; i++) {
		const struct crypto_enc_info *ei = crypto_enc_info(s[i].enc);
		size_t el = ei->key_len + ei->salt_len;
		size_t al = s[i].mac == MAC_NONE ? 0 : crypto_mac_info(s[i].mac)->key_len;
		const char *err = NULL;
		if (!ike_sk_key_init(&suites[i].out, s[i].enc, key, el, s[i].mac, key + 32, al, true,
		                     false, &err) ||
		    !ike_sk_key_init(&suites[i].in, s[i].enc, key, el, s[i].mac, key + 32, al, false,
		                     false, &err))
			fail(err);
		suites[i].ready = true;
	}
}

/* The script reader: running out yields zeros and sets end. */
struct script {
	const uint8_t *p;
	size_t left;
	bool end;
};

static uint8_t u8(struct script *s)
{
	if (!s->left) {
		s->end = true;
		return 0;
	}
	s->left--;
	return *s->p++;
}

static uint16_t u16(struct script *s)
{
	uint16_t hi = u8(s);
	return (uint16_t)(hi << 8 | u8(s));
}

static uint8_t gen(uint32_t id, uint8_t resp, unsigned total, unsigned number, size_t i)
{
	return (uint8_t)(id * 131 + resp * 7 + total * 17 + number * 29 + i * 3 + (i >> 8));
}

/* The context agrees with itself. */
static void check_context(const struct ike_frag_reasm *r)
{
	size_t held = 0, bytes = 0;
	for (size_t i = 0; i < IKE_FRAG_MAX; i++) {
		if (!r->piece[i]) {
			if (r->piece_len[i])
				fail("a length without a piece");
			continue;
		}
		if (!r->active || r->complete || i >= r->total)
			fail("a piece where none can be");
		held++;
		bytes += r->piece_len[i];
	}
	if (held != r->received || bytes != r->bytes)
		fail("received / bytes differ from the pieces held");
	if (r->bytes > IKE_FRAG_MAX_INNER || r->total > IKE_FRAG_MAX)
		fail("context beyond its limits");
	if (r->active && !r->complete && (r->total == 0 || r->received >= r->total))
		fail("an incomplete message with nothing missing");
	if (!r->active && (r->received || r->complete))
		fail("an inactive context holding something");
	if ((!r->inner && r->inner_len) || r->inner_len > IKE_FRAG_MAX_INNER)
		fail("inner out of bounds");
}

/* A message completed from SEALED fragments: pieces 1 .. T of one message. */
static void check_sealed_message(const struct ike_frag_reasm *r)
{
	const uint8_t *p = r->inner;
	size_t n = r->inner_len, at = 0, total = 0;
	while (at < n) {
		if (n - at < 4)
			fail("reassembled: a piece header cut short");
		size_t len = (size_t)p[at + 2] << 8 | p[at + 3];
		if (len < 4 || len > n - at)
			fail("reassembled: a piece length out of place");
		at += len;
		total++;
	}
	uint32_t id = r->hdr.message_id;
	uint8_t resp = r->hdr.flags & IKE_FLAG_RESPONSE;
	at = 0;
	for (size_t number = 1; number <= total; number++) {
		size_t len = (size_t)p[at + 2] << 8 | p[at + 3];
		if (((size_t)p[at] << 8 | p[at + 1]) != number)
			fail("reassembled: pieces out of order");
		for (size_t i = 4; i < len; i++)
			if (p[at + i] != gen(id, resp, (unsigned)total, (unsigned)number, i))
				fail("reassembled: a piece of another message or total");
		at += len;
	}
	if (total == 0 || r->first != 40 + (id & 3))
		fail("reassembled: not fragment 1's Next Payload");
}

/* Delivers msg[0..len) through a copy of exactly its size. */
static enum ike_frag_status deliver(struct ike_frag_reasm *r, struct ike_sk_key *k,
                                    const uint8_t *msg, size_t len, bool *decoded)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return IKE_FRAG_DROP;
	memcpy(copy, msg, len);
	static struct ike_message m;
	const char *why = NULL;
	enum ike_frag_status st = IKE_FRAG_DROP;
	*decoded = ike_decode(copy, len, &m, &why) == IKE_DECODE_OK;
	if (*decoded) {
		st = ike_frag_add(r, k, copy, len, &m, &why);
		if (st > IKE_FRAG_REPEAT)
			fail("status out of range");
		if (st == IKE_FRAG_DROP && !why)
			fail("dropped without a reason");
		if (st == IKE_FRAG_COMPLETE && (!r->inner || r->hdr.message_id != m.hdr.message_id))
			fail("complete without the message");
		if (st != IKE_FRAG_COMPLETE && r->inner)
			fail("a message handed out that was not completed");
		if (st == IKE_FRAG_COMPLETE && !r->complete)
			fail("complete, and the context does not know it");
	}
	free(copy);
	check_context(r);
	return st;
}

static void op_raw(struct script *s, struct ike_frag_reasm *r, struct keys *k)
{
	size_t len = u16(s);
	if (len > s->left)
		len = s->left;
	bool decoded;
	enum ike_frag_status st = deliver(r, &k->in, s->p, len, &decoded);
	if (st == IKE_FRAG_COMPLETE && r->hdr.message_id < 4)
		check_sealed_message(r);
	s->p += len;
	s->left -= len;
}

static void op_sealed(struct script *s, struct ike_frag_reasm *r, struct keys *k)
{
	static uint8_t msg[BUF_LEN];
	uint8_t b = u8(s);
	uint32_t id = b & 3;
	uint8_t resp = b & 4 ? IKE_FLAG_RESPONSE : 0;
	uint8_t exchange = (uint8_t)(IKE_SA_INIT + (b >> 3) % 4);
	uint8_t tb = u8(s), nb = u8(s);
	unsigned total = tb & 0x80 ? tb & 0x7f : 1 + (tb & 7);
	unsigned number = nb & 0x80 ? nb & 0x7f : 1 + nb % (total ? total : 1);
	size_t plen = 4 + u16(s) % (SEALED_MAX_PLAIN - 3);
	uint8_t next = u8(s), cb = u8(s);
	if (s->end)
		return;

	const size_t ivl = crypto_enc_info(k->out.enc.alg)->iv_len;
	struct ike_header h = {
		.spi_i = 0x1122334455667788u, .spi_r = 0x99, .major = 2, .exchange = exchange,
		.flags = (uint8_t)(resp | IKE_FLAG_INITIATOR), .message_id = id,
	};
	struct ike_skf f = {
		.number = (uint16_t)number, .total = (uint16_t)total,
		.next = number == 1 ? (uint8_t)(40 + id) : next, .len = ivl + plen,
	};
	struct ike_writer w;
	ike_writer_init(&w, msg, sizeof(msg));
	ike_put_header(&w, &h);
	uint8_t *body = ike_put_skf(&w, &f);
	if (!body || !ike_finish(&w)) {
		if (number >= 1 && number <= total)
			fail("the writer refused a valid SKF");
		return;                           /* number 0 or above total: not encodable */
	}
	uint8_t *p = body + ivl;
	p[0] = (uint8_t)(number >> 8);
	p[1] = (uint8_t)number;
	p[2] = (uint8_t)(plen >> 8);
	p[3] = (uint8_t)plen;
	for (size_t i = 4; i < plen; i++)
		p[i] = gen(id, resp, total, number, i);
	const char *why = NULL;
	size_t len = ike_skf_seal(&k->out, msg, sizeof(msg), IKE_HEADER_LEN, plen, &why);
	if (!len)
		fail(why);
	bool corrupt = cb & 0x80;
	if (corrupt) {
		uint16_t at = u16(s);
		msg[at % len] ^= (uint8_t)(u8(s) | 1);
	}
	bool decoded;
	enum ike_frag_status st = deliver(r, &k->in, msg, len, &decoded);
	if (corrupt && st != IKE_FRAG_DROP && st != IKE_FRAG_DUPLICATE)
		fail("a corrupted fragment was taken");
	if (!corrupt && !decoded)
		fail("a sealed fragment does not decode");
	if (st == IKE_FRAG_COMPLETE)
		check_sealed_message(r);
}

static void op_whole(struct script *s, struct ike_frag_reasm *shared, struct keys *k)
{
	static uint8_t inner[65535];
	static uint8_t mem[IKE_FRAG_MAX][BUF_LEN];
	static struct ike_frag_buf out[IKE_FRAG_MAX];
	uint8_t b = u8(s);
	size_t len = u16(s);
	size_t max_len = 100 + u16(s) % (BUF_LEN - 100);
	uint32_t seed = (uint32_t)u16(s) << 16 | u16(s);
	if (s->end)
		return;
	for (size_t i = 0; i < len; i++)
		inner[i] = (uint8_t)(i * 7 + b);
	struct ike_header h = {
		.spi_i = 0x1122334455667788u, .spi_r = 0x99, .major = 2, .exchange = IKE_AUTH,
		.flags = b & 1 ? IKE_FLAG_RESPONSE : 0, .message_id = WHOLE_ID + b,
	};
	for (size_t i = 0; i < IKE_FRAG_MAX; i++)
		out[i] = (struct ike_frag_buf){ .buf = mem[i], .cap = BUF_LEN };
	const char *why = NULL;
	size_t n = ike_frag_seal(&k->out, &h, IKE_PL_VENDOR, inner, len, max_len, out,
	                         IKE_FRAG_MAX, &why);
	if (n != ike_frag_count(&k->out, len, max_len))
		fail("ike_frag_seal and ike_frag_count disagree");
	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		if (out[i].len > max_len || out[i].len == 0)
			fail("a fragment beyond the fragment size");

	/* Shuffled, with every fragment once more at a random later place. */
	size_t order[2 * IKE_FRAG_MAX];
	for (size_t i = 0; i < n; i++)
		order[i] = order[n + i] = i;
	for (size_t i = 2 * n - 1; i > 0; i--) {
		seed = seed * 1103515245u + 12345u;
		size_t j = (seed >> 8) % (i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	struct ike_frag_reasm fresh;
	ike_frag_init(&fresh);
	bool seen[IKE_FRAG_MAX] = { false }, done = false;
	size_t have = 0;
	for (size_t i = 0; i < 2 * n; i++) {
		size_t f = order[i];
		bool decoded;
		enum ike_frag_status st = deliver(&fresh, &k->in, out[f].buf, out[f].len, &decoded);
		enum ike_frag_status want = done ? IKE_FRAG_REPEAT
		                          : seen[f] ? IKE_FRAG_DUPLICATE
		                          : have + 1 == n ? IKE_FRAG_COMPLETE : IKE_FRAG_MORE;
		if (st != want)
			fail("WHOLE: unexpected status");
		if (!seen[f]) {
			seen[f] = true;
			have++;
		}
		if (st == IKE_FRAG_COMPLETE) {
			done = true;
			if (fresh.inner_len != len || memcmp(fresh.inner, inner, len) ||
			    fresh.first != IKE_PL_VENDOR)
				fail("WHOLE: not the message sent");
		}
		/* The shared context sees it too; anything may happen there. */
		deliver(shared, &k->in, out[f].buf, out[f].len, &decoded);
	}
	if (!done)
		fail("WHOLE: never completed");
	ike_frag_free(&fresh);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!suites[0].ready)
		keys_setup();
	if (size < 1 || size > 1 << 20)
		return 0;
	struct keys *k = &suites[data[0] & 1];
	k->out.next_iv = 1;                   /* reproducible (GCM); a test key */
	struct script s = { .p = data + 1, .left = size - 1 };
	struct ike_frag_reasm r;
	ike_frag_init(&r);
	for (int n = 0; n < MAX_OPS && !s.end && s.left; n++) {
		uint8_t op = u8(&s);
		switch (op % 3) {
		case 0: op_raw(&s, &r, k); break;
		case 1: op_sealed(&s, &r, k); break;
		default: op_whole(&s, &r, k); break;
		}
	}
	ike_frag_free(&r);
	return 0;
}
