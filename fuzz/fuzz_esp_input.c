/*
 * fuzz_esp_input: inbound ESP and AH processing with a set of installed SAs.
 *
 * The first input byte picks how the rest is used:
 *   0-3  the rest is a packet from the wire, straight into ipsec_input();
 *   4-7  the rest is a cleartext IP packet: it is protected by one of the
 *        outbound SAs and must come back byte for byte through ipsec_input()
 *        (abort otherwise) -- then one byte of the protected packet, chosen
 *        by the input, is flipped and fed in again, which must be dropped;
 *   8-11 the rest is an ESP plaintext (payload | pad | pad length | next
 *        header) that is encrypted and authenticated with valid keys, so the
 *        trailer and inner-packet checks behind the ICV are reached.
 * Invariant everywhere: a drop reason is returned, its counter moved, and
 * nothing is read or written outside the buffer (ASan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "esp/esp.h"
#include "esp/ip.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct pair {
	struct sa_config cfg;
	struct ipsec_sa *out, *in;
};

static struct sad *sad_out, *sad_in;
static struct pair pairs[6];
static const uint8_t key[64] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99 };

static void addr(struct sa_address *a, int family, uint8_t last)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)family;
	if (family == AF_INET) {
		memcpy(a->bytes, (uint8_t[]){ 192, 0, 2, last }, 4);
	} else {
		memcpy(a->bytes, (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8 }, 4);
		a->bytes[15] = last;
	}
}

static void make_pair(struct pair *p, uint32_t spi, enum sa_proto proto, enum sa_mode mode,
                      int family, enum crypto_enc enc, enum crypto_mac mac, bool esn)
{
	const struct crypto_enc_info *ei = crypto_enc_info(enc);
	const struct crypto_mac_info *mi = crypto_mac_info(mac);
	struct sa_config c = {
		.spi = spi, .proto = proto, .mode = mode, .esn = esn, .enc = enc, .enc_key = key,
		.enc_key_len = proto == SA_PROTO_ESP ? ei->key_len + ei->salt_len : 0,
		.integ = mac, .auth_key = key, .auth_key_len = mi->key_len, .replay_window = 64,
		.allow_legacy = true,
	};
	addr(&c.src, family, 1);
	addr(&c.dst, family, 2);
	const char *err;
	p->cfg = c;
	p->out = sad_add(sad_out, &c, &err);
	c.inbound = true;
	p->in = sad_add(sad_in, &c, &err);
	if (!p->out || !p->in)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	sad_out = sad_new(16);
	sad_in = sad_new(16);
	make_pair(&pairs[0], 0x1001, SA_PROTO_ESP, SA_TUNNEL, AF_INET, ENC_AES128_GCM, MAC_NONE, false);
	make_pair(&pairs[1], 0x1002, SA_PROTO_ESP, SA_TRANSPORT, AF_INET, ENC_AES128_CBC,
	          MAC_HMAC_SHA256_128, true);
	make_pair(&pairs[2], 0x1003, SA_PROTO_ESP, SA_TRANSPORT, AF_INET6, ENC_CHACHA20_POLY1305,
	          MAC_NONE, false);
	make_pair(&pairs[3], 0x1004, SA_PROTO_AH, SA_TRANSPORT, AF_INET, ENC_NULL, MAC_HMAC_SHA1_96,
	          false);
	make_pair(&pairs[4], 0x1005, SA_PROTO_AH, SA_TUNNEL, AF_INET6, ENC_NULL, MAC_HMAC_SHA256_128,
	          true);
	make_pair(&pairs[5], 0x1006, SA_PROTO_ESP, SA_TUNNEL, AF_INET6, ENC_3DES_CBC,
	          MAC_HMAC_SHA1_96, false);
	return 0;
}

static uint64_t total_drops(void)
{
	uint64_t n = 0;
	for (int r = 0; r < DROP_COUNT; r++)
		n += sad_drops(sad_in, (enum sa_drop)r);
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		for (int r = 0; r < DROP_COUNT; r++)
			n += pairs[i].in->count.drops[r];
	return n;
}

/* Inbound must either succeed or name a reason and count it. */
static enum sa_drop feed(uint8_t *buf, size_t cap, size_t off, size_t len, struct pkt *res)
{
	struct pkt p = { buf, cap, off, len };
	struct ipsec_sa *sa;
	uint64_t before = total_drops();
	enum sa_drop r = ipsec_input(sad_in, &p, 0, &sa);
	if (r != DROP_NONE && total_drops() != before + 1)
		abort();                 /* every drop is counted exactly once, in the SA or the SAD */
	if (r == DROP_NONE && p.off + p.len > cap)
		abort();
	if (res)
		*res = p;
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[IPSEC_HEADROOM + 70000 + IPSEC_TAILROOM];
	if (size < 1 || size > 65535)
		return 0;
	uint8_t mode = data[0] % 12;
	const uint8_t *in = data + 1;
	size_t len = size - 1;
	size_t off = IPSEC_HEADROOM;
	/* Each input starts from fresh replay windows and sequence numbers. */
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		pairs[i].out->seq = 0;
		replay_init(&pairs[i].in->replay, 64, pairs[i].cfg.esn);
	}

	if (mode < 4) {
		memcpy(buf + off, in, len);
		feed(buf, sizeof(buf), off, len, NULL);
		return 0;
	}
	if (mode < 8) {
		if (len < 2)
			return 0;
		struct pair *pr = &pairs[in[0] % 6];
		size_t flip = in[1];
		in += 2;
		len -= 2;
		memcpy(buf + off, in, len);
		struct pkt p = { buf, sizeof(buf), off, len };
		enum sa_drop r = pr->cfg.proto == SA_PROTO_AH ? ah_output(pr->out, &p, 0)
		                                              : esp_output(pr->out, &p, 0);
		if (r != DROP_NONE)
			return 0;             /* not a packet the SA can carry */
		/* A cleartext packet that itself claims ESP/AH is processed again
		 * after the first header comes off (a bundle) and needs that SA too. */
		/* And protocol 59 in ESP marks a dummy packet, discarded (RFC 4303 §2.6). */
		struct ip_info ci;
		if (pr->cfg.mode == SA_TRANSPORT && ip_find_insert(in, len, &ci) &&
		    (ci.nh == 50 || ci.nh == 51 || ci.nh == 59))
			return 0;
		static uint8_t copy[sizeof(buf)];
		memcpy(copy, buf, sizeof(buf));
		struct pkt back;
		if (feed(buf, sizeof(buf), p.off, p.len, &back) != DROP_NONE)
			abort();              /* our own packet must be accepted */
		/* A round trip gives back exactly what went in -- but for the IPv4
		 * header checksum, which transport mode recomputes (the input's may
		 * be wrong; the kernel checks it, not IPsec). */
		const uint8_t *got = buf + back.off;
		bool v4t = len >= 20 && in[0] >> 4 == 4 && pr->cfg.mode == SA_TRANSPORT;
		if (back.len != len ||
		    (v4t ? memcmp(got, in, 10) || memcmp(got + 12, in + 12, len - 12)
		         : memcmp(got, in, len)))
			abort();
		/* A changed byte is a tampered packet (or a replay): never accepted. */
		memcpy(buf, copy, sizeof(buf));
		size_t at = p.off + flip % p.len;
		buf[at] ^= 0x01;
		replay_init(&pr->in->replay, 64, pr->cfg.esn);
		if (feed(buf, sizeof(buf), p.off, p.len, NULL) == DROP_NONE) {
			/* Accepted despite the flip: only a byte that the SA does not
			 * protect may have changed. ESP protects nothing of the IP header
			 * in front of it; AH protects all of it but the mutable fields. */
			const uint8_t *h = copy + p.off;
			size_t rel = at - p.off;
			struct ip_info ii;
			if (!ip_find_proto(h, p.len, 0, &ii))
				abort();
			bool v4 = h[0] >> 4 == 4;
			bool unprotected = pr->cfg.proto == SA_PROTO_ESP ? rel < ii.hlen
			        : v4 ? (rel == 1 || rel == 6 || rel == 7 || rel == 8 || rel == 10 ||
			                rel == 11 || (rel >= 20 && rel < (size_t)(h[0] & 15) * 4))
			             : (rel <= 3 || rel == 7 || (rel >= 40 && rel < ii.hlen));
			if (!unprotected)
				abort();
		}
		return 0;
	}
	/* A valid ESP packet around an arbitrary plaintext (CBC + HMAC SA). */
	struct pair *pr = &pairs[1];
	const struct crypto_enc_info *ei = crypto_enc_info(pr->cfg.enc);
	size_t clen = (len + 15) / 16 * 16;
	if (clen == 0)
		clen = 16;
	uint8_t *d = buf + off;
	memset(d, 0, 20);
	d[0] = 0x45;
	size_t total = 20 + 8 + 16 + clen + 16;
	d[2] = (uint8_t)(total >> 8);
	d[3] = (uint8_t)total;
	d[8] = 64;
	d[9] = SA_PROTO_ESP;
	memcpy(d + 12, pr->cfg.src.bytes, 4);
	memcpy(d + 16, pr->cfg.dst.bytes, 4);
	uint8_t *esp = d + 20;
	esp[0] = 0, esp[1] = 0, esp[2] = 0x10, esp[3] = 0x02;
	esp[4] = esp[5] = esp[6] = 0;
	esp[7] = 1;
	uint8_t *iv = esp + 8;
	memset(iv, 0x5a, ei->iv_len);
	uint8_t *body = iv + ei->iv_len;
	memset(body, 0, clen);
	memcpy(body, in, len);
	struct cipher enc;
	const char *err;
	if (!cipher_init(&enc, pr->cfg.enc, key, ei->key_len, true, true, &err))
		abort();
	cbc_crypt(&enc, iv, body, clen);
	cipher_free(&enc);
	uint8_t hi[4] = { 0, 0, 0, 0 };
	mac_compute(&pr->in->mac, esp, 8 + ei->iv_len + clen, hi, 4, NULL, 0, body + clen);
	feed(buf, sizeof(buf), off, total, NULL);
	return 0;
}
