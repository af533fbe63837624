/*
 * Known-answer tests for src/crypto (and, for the complete ESP packets, the
 * inbound ESP path) against the published vectors in tests/vectors/:
 *
 *   hmac.json               HMAC-MD5/SHA1/SHA224/256/384/512 and the truncated
 *                           IPsec ICVs. A vector whose key has the IPsec key
 *                           length of its hash goes through mac_init/
 *                           mac_compute; any other key length is refused by
 *                           mac_init (asserted) and the vector is checked with
 *                           OpenSSL's HMAC directly (EVP_Q_mac). SHA-224 has
 *                           no IPsec transform: EVP only.
 *   aes_gcm_esp.json        AEAD seal/open (GCM, GMAC) and the ESP packets fed
 *                           through sad_add + ipsec_input.
 *   chacha20_poly1305.json  AEAD seal/open and the RFC 7634 ESP packet.
 *   aes_cbc_esp.json        cbc_crypt, and the RFC 3602 ESP packets (decrypted
 *                           directly, then with an ICV added through esp_input).
 *   des_3des_cbc.json       3DES and DES via cbc_crypt (DES only with legacy).
 *
 * The JSON is read with SQLite's JSON functions (json_each / json_extract).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "crypto/crypto.h"
#include "esp/esp.h"
#include "sad/sad.h"
#include "vectors.h"

/* ---- HMAC -------------------------------------------------------------- */

static const struct {
	const char *hash;
	enum crypto_mac mac;
	size_t key_len;
} ipsec_hmac[] = {
	{ "MD5", MAC_HMAC_MD5_96, 16 },
	{ "SHA1", MAC_HMAC_SHA1_96, 20 },
	{ "SHA256", MAC_HMAC_SHA256_128, 32 },
	{ "SHA384", MAC_HMAC_SHA384_192, 48 },
	{ "SHA512", MAC_HMAC_SHA512_256, 64 },
};

struct hmac_stats {
	int lib;          /* checked through mac_init/mac_compute */
	int evp;          /* key length refused by mac_init (or no IPsec transform): EVP HMAC */
	int icv;          /* truncated IPsec ICVs among them */
};

static int hmac_index(const char *hash)
{
	for (size_t i = 0; i < sizeof(ipsec_hmac) / sizeof(ipsec_hmac[0]); i++)
		if (strcmp(ipsec_hmac[i].hash, hash) == 0)
			return (int)i;
	return -1;
}

static void hmac_vector(struct vec *v, void *ctx)
{
	struct hmac_stats *st = ctx;
	const char *alg = need(v, "algorithm");
	size_t klen, dlen, mlen = 0, ilen = 0;
	const uint8_t *key = hexf(v, "key", &klen);
	const uint8_t *data = hexf(v, "data", &dlen);
	const uint8_t *mac = field(v, "mac") ? hexf(v, "mac", &mlen) : NULL;
	const uint8_t *icv = field(v, "icv") ? hexf(v, "icv", &ilen) : NULL;
	assert_true(mac || icv);

	/* "HMAC-SHA256" or "HMAC-SHA1-96": the hash name. */
	char hash[16];
	assert_int_equal(strncmp(alg, "HMAC-", 5), 0);
	snprintf(hash, sizeof(hash), "%s", alg + 5);
	char *dash = strchr(hash, '-');
	if (dash)
		*dash = 0;

	/* Reference: OpenSSL's HMAC, straight. */
	uint8_t full[EVP_MAX_MD_SIZE];
	size_t flen = 0;
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, hash, NULL, key, klen, data, dlen, full,
	                          sizeof(full), &flen));
	if (mac) {
		assert_true(mlen <= flen);
		assert_mem(full, mac, mlen, "EVP HMAC", v);
	}
	if (icv) {
		assert_int_equal(num(v, "icv_bits"), (long)ilen * 8);
		assert_mem(full, icv, ilen, "EVP HMAC (truncated)", v);
		if (field(v, "mac_96"))
			fail_msg("unexpected mac_96 with icv");
	}
	if (field(v, "mac_96")) {
		size_t l96;
		const uint8_t *m96 = hexf(v, "mac_96", &l96);
		assert_int_equal(l96, 12);
		assert_mem(full, m96, 12, "mac_96", v);
	}

	int hi = hmac_index(hash);
	if (hi < 0) {
		/* SHA-224: not an IPsec integrity transform. */
		enum crypto_mac m;
		assert_false(crypto_mac_by_name("sha224", &m));
		st->evp++;
		return;
	}
	enum crypto_mac m = ipsec_hmac[hi].mac;
	const struct crypto_mac_info *info = crypto_mac_info(m);
	assert_int_equal(info->key_len, ipsec_hmac[hi].key_len);
	if (icv)
		assert_int_equal(info->icv_len, ilen);

	struct mac mc;
	const char *err = NULL;
	if (klen != info->key_len) {
		/* The IPsec transforms take exactly key_len octets (RFC 2403/2404/4868). */
		assert_false(mac_init(&mc, m, key, klen, true, &err));
		assert_non_null(err);
		assert_non_null(strstr(err, "length"));
		st->evp++;
		return;
	}
	assert_true(mac_init(&mc, m, key, klen, true, &err));
	uint8_t out[64], out2[64];
	assert_true(mac_compute(&mc, data, dlen, NULL, 0, NULL, 0, out));
	/* The same ICV over the data in three pieces, and again (context re-use). */
	size_t a = dlen / 3, b = dlen / 2 - dlen / 3;
	assert_true(mac_compute(&mc, data, a, data + a, b, data + a + b, dlen - a - b, out2));
	assert_memory_equal(out, out2, info->icv_len);
	assert_true(mac_compute(&mc, data, dlen, NULL, 0, NULL, 0, out2));
	assert_memory_equal(out, out2, info->icv_len);
	if (mac) {
		size_t n = mlen < info->icv_len ? mlen : info->icv_len;
		assert_mem(out, mac, n, "mac_compute vs mac", v);
	}
	if (icv) {
		assert_mem(out, icv, ilen, "mac_compute vs icv", v);
		st->icv++;
	}
	assert_mem(out, full, info->icv_len, "mac_compute vs EVP", v);
	mac_free(&mc);
	st->lib++;

	/* MD5 is legacy: refused without allow_legacy, and the error says so. */
	if (m == MAC_HMAC_MD5_96) {
		err = NULL;
		assert_false(mac_init(&mc, m, key, klen, false, &err));
		assert_non_null(err);
		assert_non_null(strstr(err, "legacy"));
	}
}

static void test_hmac(void **state)
{
	(void)state;
	struct hmac_stats st = { 0, 0, 0 };
	int n = each_vector("hmac.json", hmac_vector, &st);
	print_message("hmac.json: %d vectors, %d through mac_init/mac_compute (%d truncated "
	              "ICVs), %d with EVP HMAC only (key length refused by mac_init, or SHA-224)\n",
	              n, st.lib, st.icv, st.evp);
	assert_int_equal(n, 86);
	assert_int_equal(st.lib + st.evp, n);
	/* Keys of the IPsec length: RFC 2202 cases 1, 3, 5 (MD5, SHA-1, full and
	 * -96) and the RFC 4868 AUTH256/384/512 cases. */
	assert_int_equal(st.lib, 24);
	assert_int_equal(st.icv, 18);
}

/* ---- AEAD (GCM, GMAC, ChaCha20-Poly1305) and their ESP packets ---------- */

static enum crypto_enc enc_from_cipher(const char *name)
{
	static const struct { const char *n; enum crypto_enc e; } map[] = {
		{ "AES-128-GCM", ENC_AES128_GCM }, { "AES-192-GCM", ENC_AES192_GCM },
		{ "AES-256-GCM", ENC_AES256_GCM }, { "AES-128-GMAC", ENC_AES128_GMAC },
		{ "AES-256-GMAC", ENC_AES256_GMAC }, { "ChaCha20-Poly1305", ENC_CHACHA20_POLY1305 },
		{ "AES-128-CBC", ENC_AES128_CBC }, { "AES-256-CBC", ENC_AES256_CBC },
		{ "DES-EDE3-CBC", ENC_3DES_CBC }, { "DES-CBC", ENC_DES_CBC },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].n, name) == 0)
			return map[i].e;
	fail_msg("unknown cipher %s", name);
	return ENC_COUNT;
}

static uint64_t be_n(const uint8_t *p, size_t n)
{
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++)
		x = x << 8 | p[i];
	return x;
}

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static const uint8_t addr_src[4] = { 192, 0, 2, 1 }, addr_dst[4] = { 192, 0, 2, 2 };

/* An IPv4 packet (20-byte header, protocol 50) around esp at buf+off. */
static void wrap_ipv4(struct pkt *p, uint8_t *buf, size_t cap, size_t off, const uint8_t *esp,
                      size_t esp_len)
{
	uint8_t *h = buf + off;
	memset(h, 0, 20);
	h[0] = 0x45;
	h[2] = (uint8_t)((20 + esp_len) >> 8);
	h[3] = (uint8_t)(20 + esp_len);
	h[4] = 0x12;
	h[5] = 0x34;
	h[8] = 64;
	h[9] = 50;
	memcpy(h + 12, addr_src, 4);
	memcpy(h + 16, addr_dst, 4);
	uint16_t c = (uint16_t)~csum(h, 20);
	h[10] = (uint8_t)(c >> 8);
	h[11] = (uint8_t)c;
	memcpy(h + 20, esp, esp_len);
	p->buf = buf;
	p->cap = cap;
	p->off = off;
	p->len = 20 + esp_len;
}

/*
 * Feeds [IPv4 | esp_packet (| extra ICV)] to ipsec_input through an inbound SA
 * made from keymat (and an integrity key for CBC), and checks the result:
 * transport: the IPv4 header with protocol = next header and the new total
 * length, then the payload; tunnel: exactly the payload (the inner packet).
 */
struct esp_case {
	enum crypto_enc enc;
	const uint8_t *keymat;
	size_t keymat_len;
	enum crypto_mac integ;
	const uint8_t *auth_key;
	size_t auth_key_len;
	uint32_t spi;
	uint64_t seq;                   /* full sequence number */
	bool esn;
	enum sa_mode mode;
	const uint8_t *wire;            /* SPI .. end (ICV included) */
	size_t wire_len;
	const uint8_t *payload;         /* expected decapsulated payload */
	size_t payload_len;
	uint8_t next_header;
};

static enum sa_drop run_esp_case(const struct esp_case *c, struct vec *v)
{
	struct sad *sad = sad_new(16);
	assert_non_null(sad);
	struct sa_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.spi = c->spi;
	cfg.proto = SA_PROTO_ESP;
	cfg.mode = c->mode;
	cfg.inbound = true;
	cfg.esn = c->esn;
	cfg.src.family = AF_INET;
	memcpy(cfg.src.bytes, addr_src, 4);
	cfg.dst.family = AF_INET;
	memcpy(cfg.dst.bytes, addr_dst, 4);
	cfg.enc = c->enc;
	cfg.enc_key = c->keymat;
	cfg.enc_key_len = c->keymat_len;
	cfg.integ = c->integ;
	cfg.auth_key = c->auth_key;
	cfg.auth_key_len = c->auth_key_len;
	cfg.replay_window = 64;
	cfg.now = 1000;
	const char *err = NULL;
	struct ipsec_sa *sa = sad_add(sad, &cfg, &err);
	if (!sa)
		fail_msg("sad_add for %s: %s", field(v, "id"), err);
	/* The receiver has seen the numbers up to just before this one, so the
	 * high half of an ESN is inferred as the sender used it (RFC 4303 A2). */
	if (c->seq > 1)
		replay_update(&sa->replay, c->seq - 1);

	size_t cap = 64 + 20 + c->wire_len + 64, off = 64;
	uint8_t *buf = calloc(1, cap);
	struct pkt p;
	wrap_ipv4(&p, buf, cap, off, c->wire, c->wire_len);
	struct ipsec_sa *got = NULL;
	enum sa_drop r = ipsec_input(sad, &p, 2000, &got);
	if (r == DROP_NONE) {
		assert_ptr_equal(got, sa);
		const uint8_t *d = pkt_data(&p);
		if (c->mode == SA_TRANSPORT) {
			assert_int_equal(p.len, 20 + c->payload_len);
			assert_int_equal(d[0], 0x45);
			assert_int_equal(d[9], c->next_header);
			assert_int_equal(be_n(d + 2, 2), 20 + c->payload_len);
			assert_int_equal(csum(d, 20), 0xffff);
			assert_memory_equal(d + 12, addr_src, 4);
			assert_memory_equal(d + 16, addr_dst, 4);
			assert_mem(d + 20, c->payload, c->payload_len, "decapsulated payload", v);
		} else {
			assert_int_equal(p.len, c->payload_len);
			assert_mem(d, c->payload, c->payload_len, "inner packet", v);
		}
		assert_int_equal(sa->count.packets, 1);
		assert_int_equal(sa->count.bytes, c->payload_len);
		/* Replay of the very same bytes. */
		wrap_ipv4(&p, buf, cap, off, c->wire, c->wire_len);
		assert_int_equal(ipsec_input(sad, &p, 2000, &got), DROP_REPLAY);
		assert_int_equal(sa->count.drops[DROP_REPLAY], 1);
		/* One flipped ICV bit: refused, and the counter says why. */
		uint8_t *bad = malloc(c->wire_len);
		memcpy(bad, c->wire, c->wire_len);
		bad[c->wire_len - 1] ^= 0x01;
		replay_init(&sa->replay, 64, c->esn);
		if (c->seq > 1)
			replay_update(&sa->replay, c->seq - 1);
		wrap_ipv4(&p, buf, cap, off, bad, c->wire_len);
		assert_int_equal(ipsec_input(sad, &p, 2000, &got), DROP_AUTH);
		assert_int_equal(sa->count.drops[DROP_AUTH], 1);
		free(bad);
	}
	free(buf);
	sad_free(sad);
	return r;
}

struct aead_stats {
	int aead, esp, gmac, esp_refused_spi;
};

static void aead_vector(struct vec *v, void *ctx)
{
	struct aead_stats *st = ctx;
	enum crypto_enc e = enc_from_cipher(need(v, "cipher"));
	const struct crypto_enc_info *info = crypto_enc_info(e);
	size_t klen, slen, kmlen, ivlen, nlen, alen, plen, clen, ilen;
	const uint8_t *key = hexf(v, "key", &klen);
	const uint8_t *salt = hexf(v, "salt", &slen);
	const uint8_t *keymat = hexf(v, "keymat", &kmlen);
	const uint8_t *iv = hexf(v, "iv", &ivlen);
	const uint8_t *nonce = hexf(v, "nonce", &nlen);
	const uint8_t *aad = hexf(v, "aad", &alen);
	const uint8_t *pt = hexf(v, "plaintext", &plen);
	const uint8_t *ct = hexf(v, "ciphertext", &clen);
	const uint8_t *icv = hexf(v, "icv", &ilen);
	bool gmac = field(v, "kind") && strcmp(field(v, "kind"), "gmac") == 0;

	/* Layout: keymat = key | salt, nonce = salt | iv (RFC 4106 §4, RFC 7634 §2). */
	assert_int_equal(klen, info->key_len);
	assert_int_equal(slen, info->salt_len);
	assert_int_equal(kmlen, klen + slen);
	assert_memory_equal(keymat, key, klen);
	assert_memory_equal(keymat + klen, salt, slen);
	assert_int_equal(ivlen, 8);
	assert_int_equal(nlen, 12);
	assert_memory_equal(nonce, salt, 4);
	assert_memory_equal(nonce + 4, iv, 8);
	assert_int_equal(num(v, "icv_len"), (long)ilen);
	assert_int_equal(plen, clen);
	assert_true(info->aead);
	assert_int_equal(info->gmac, gmac);

	const char *err = NULL;
	struct cipher enc, dec;
	assert_true(cipher_init(&enc, e, keymat, kmlen, true, false, &err));
	assert_true(cipher_init(&dec, e, keymat, kmlen, false, false, &err));
	uint8_t *buf = malloc(plen + 16), tag[16];

	/* GMAC: the AAD is SPI | seq | IV | payload; aead_* take SPI | seq and
	 * the payload, and add the IV themselves (RFC 4543 §3.3). */
	const uint8_t *data_in = pt, *data_out = ct;
	size_t dlen = plen, aad_prefix = alen;
	if (gmac) {
		size_t paylen;
		const uint8_t *pay = hexf(v, "payload", &paylen);
		assert_int_equal(plen, 0);
		aad_prefix = alen - 8 - paylen;
		assert_true(aad_prefix == 8 || aad_prefix == 12);
		assert_memory_equal(aad + aad_prefix, iv, 8);
		assert_memory_equal(aad + aad_prefix + 8, pay, paylen);
		free(buf);
		buf = malloc(paylen + 1);
		data_in = data_out = pay;
		dlen = paylen;
		st->gmac++;
	}

	memcpy(buf, data_in, dlen);
	assert_true(aead_seal(&enc, iv, aad, aad_prefix, buf, dlen, tag));
	assert_mem(buf, data_out, dlen, "aead_seal ciphertext", v);
	/* Truncated tags (8, 12 octets) are prefixes of the 16-octet tag. */
	assert_mem(tag, icv, ilen, "aead_seal tag", v);
	/* The wrong direction is refused. */
	assert_false(aead_seal(&dec, iv, aad, aad_prefix, buf, dlen, tag));

	if (ilen == 16) {
		memcpy(buf, data_out, dlen);
		assert_true(aead_open(&dec, iv, aad, aad_prefix, buf, dlen, icv));
		assert_mem(buf, data_in, dlen, "aead_open plaintext", v);
		/* Any flipped bit is refused: tag, ciphertext, AAD, IV. */
		uint8_t t2[16];
		memcpy(t2, icv, 16);
		t2[15] ^= 0x80;
		memcpy(buf, data_out, dlen);
		assert_false(aead_open(&dec, iv, aad, aad_prefix, buf, dlen, t2));
		if (dlen) {
			memcpy(buf, data_out, dlen);
			buf[dlen / 2] ^= 1;
			assert_false(aead_open(&dec, iv, aad, aad_prefix, buf, dlen, icv));
		}
		if (aad_prefix) {
			uint8_t a2[64];
			assert_true(aad_prefix <= sizeof(a2));
			memcpy(a2, aad, aad_prefix);
			a2[0] ^= 1;
			memcpy(buf, data_out, dlen);
			assert_false(aead_open(&dec, iv, a2, aad_prefix, buf, dlen, icv));
		}
		uint8_t iv2[8];
		memcpy(iv2, iv, 8);
		iv2[7] ^= 1;
		memcpy(buf, data_out, dlen);
		assert_false(aead_open(&dec, iv2, aad, aad_prefix, buf, dlen, icv));
		/* And the context still works after the failures. */
		memcpy(buf, data_out, dlen);
		assert_true(aead_open(&dec, iv, aad, aad_prefix, buf, dlen, icv));
		assert_false(aead_open(&enc, iv, aad, aad_prefix, buf, dlen, icv));
	}
	free(buf);
	cipher_free(&enc);
	cipher_free(&dec);
	st->aead++;

	if (!field(v, "esp_packet"))
		return;

	/* The ESP packet: SPI | low 32 bits of seq | IV | ciphertext | ICV. */
	size_t spilen, seqlen, wlen;
	const uint8_t *spi = hexf(v, "spi", &spilen);
	const uint8_t *seq = hexf(v, "seq", &seqlen);
	const uint8_t *wire = hexf(v, "esp_packet", &wlen);
	bool esn = field(v, "esn") ? flag(v, "esn") : false;
	assert_int_equal(spilen, 4);
	assert_int_equal(seqlen, esn ? 8 : 4);
	assert_int_equal(wlen, 8 + 8 + dlen + ilen);
	assert_memory_equal(wire, spi, 4);
	assert_memory_equal(wire + 4, seq + seqlen - 4, 4);
	assert_memory_equal(wire + 8, iv, 8);
	assert_memory_equal(wire + 16, data_out, dlen);      /* GMAC: the payload in clear */
	assert_memory_equal(wire + 16 + dlen, icv, ilen);
	/* The AAD is SPI | seq (| IV | payload for GMAC). */
	assert_int_equal(aad_prefix, 4 + seqlen);
	assert_memory_equal(aad, spi, 4);
	assert_memory_equal(aad + 4, seq, seqlen);

	/* The cleartext: payload | padding 1, 2, .. | pad length | next header. */
	const uint8_t *clear = gmac ? wire + 16 : pt;
	size_t clear_len = gmac ? wlen - 16 - ilen : plen;
	size_t padlen = clear[clear_len - 2];
	uint8_t nh = clear[clear_len - 1];
	assert_true(padlen + 2 <= clear_len);
	for (size_t i = 0; i < padlen; i++)
		assert_int_equal(clear[clear_len - 2 - padlen + i], i + 1);
	if (field(v, "esp_trailer")) {
		assert_int_equal(num(v, "esp_trailer.pad_length"), (long)padlen);
		assert_int_equal(num(v, "esp_trailer.next_header"), nh);
	}

	struct esp_case c = {
		.enc = e, .keymat = keymat, .keymat_len = kmlen, .integ = MAC_NONE,
		.spi = (uint32_t)be_n(spi, 4), .seq = be_n(seq, seqlen), .esn = esn,
		.wire = wire, .wire_len = wlen, .payload = clear,
		.payload_len = clear_len - 2 - padlen, .next_header = nh,
	};
	if (c.spi < 256) {
		/* draft-mcgrew case 4 uses SPI 0, which RFC 4303 §2.1 reserves:
		 * sad_add refuses it; the AEAD checks above covered the packet. */
		struct sad *sad = sad_new(4);
		struct sa_config cfg;
		memset(&cfg, 0, sizeof(cfg));
		cfg.spi = c.spi;
		cfg.proto = SA_PROTO_ESP;
		cfg.inbound = true;
		cfg.enc = e;
		cfg.enc_key = keymat;
		cfg.enc_key_len = kmlen;
		cfg.dst.family = AF_INET;
		err = NULL;
		assert_null(sad_add(sad, &cfg, &err));
		assert_non_null(strstr(err, "reserved"));
		sad_free(sad);
		st->esp_refused_spi++;
		return;
	}
	/* next header 4/41 is an inner IP packet: tunnel mode; otherwise transport. */
	c.mode = (nh == 4 || nh == 41) ? SA_TUNNEL : SA_TRANSPORT;
	assert_int_equal(run_esp_case(&c, v), DROP_NONE);
	if (c.mode == SA_TRANSPORT) {
		/* The draft's plaintexts are IPv4 packets too, but they say next
		 * header 1, so a tunnel-mode SA must refuse them. */
		c.mode = SA_TUNNEL;
		assert_int_equal(run_esp_case(&c, v), DROP_PADDING);
	}
	st->esp++;
}

static void test_aes_gcm(void **state)
{
	(void)state;
	struct aead_stats st = { 0, 0, 0, 0 };
	int n = each_vector("aes_gcm_esp.json", aead_vector, &st);
	print_message("aes_gcm_esp.json: %d vectors, %d AEAD seal/open, %d ESP packets through "
	              "ipsec_input, %d with a reserved SPI (refused by sad_add), %d GMAC\n",
	              n, st.aead, st.esp, st.esp_refused_spi, st.gmac);
	assert_int_equal(n, 31);
	assert_int_equal(st.aead, 31);
	assert_int_equal(st.esp + st.esp_refused_spi, 17);
	assert_int_equal(st.gmac, 1);
}

static void chacha_vector(struct vec *v, void *ctx)
{
	if (field(v, "ike_message")) {
		/* The IKEv2 example: header | SK payload header | IV | ciphertext | ICV. */
		size_t hl, el, il, cl, tl, ml, al;
		const uint8_t *h = hexf(v, "ike_header", &hl);
		const uint8_t *e = hexf(v, "encrypted_payload_header", &el);
		const uint8_t *iv = hexf(v, "iv", &il);
		const uint8_t *c = hexf(v, "ciphertext", &cl);
		const uint8_t *t = hexf(v, "icv", &tl);
		const uint8_t *m = hexf(v, "ike_message", &ml);
		const uint8_t *a = hexf(v, "aad", &al);
		assert_int_equal(ml, hl + el + il + cl + tl);
		assert_int_equal(al, hl + el);
		assert_memory_equal(a, h, hl);
		assert_memory_equal(a + hl, e, el);
		assert_memory_equal(m + hl + el, iv, il);
		assert_memory_equal(m + hl + el + il, c, cl);
		assert_memory_equal(m + hl + el + il + cl, t, tl);
	}
	aead_vector(v, ctx);
}

static void test_chacha20_poly1305(void **state)
{
	(void)state;
	struct aead_stats st = { 0, 0, 0, 0 };
	int n = each_vector("chacha20_poly1305.json", chacha_vector, &st);
	print_message("chacha20_poly1305.json: %d vectors, %d AEAD seal/open, %d ESP packet "
	              "(tunnel mode, next header 4) through ipsec_input\n", n, st.aead, st.esp);
	assert_int_equal(n, 4);
	assert_int_equal(st.aead, 4);
	assert_int_equal(st.esp, 1);
}

/* ---- CBC ----------------------------------------------------------------- */

struct cbc_stats {
	int cbc, esp, des_ecb_blocks;
};

static void cbc_roundtrip(struct vec *v, enum crypto_enc e, const uint8_t *key, size_t klen,
                          const uint8_t *iv, const uint8_t *pt, const uint8_t *ct, size_t len,
                          bool legacy)
{
	const char *err = NULL;
	struct cipher enc, dec;
	if (!cipher_init(&enc, e, key, klen, true, legacy, &err))
		fail_msg("cipher_init %s: %s", field(v, "id"), err);
	assert_true(cipher_init(&dec, e, key, klen, false, legacy, &err));
	uint8_t *buf = malloc(len + 1);
	memcpy(buf, pt, len);
	assert_true(cbc_crypt(&enc, iv, buf, len));
	assert_mem(buf, ct, len, "cbc_crypt encryption", v);
	assert_true(cbc_crypt(&dec, iv, buf, len));
	assert_mem(buf, pt, len, "cbc_crypt decryption", v);
	/* Twice with the same context: the IV is reset per call. */
	assert_true(cbc_crypt(&enc, iv, buf, len));
	assert_mem(buf, ct, len, "cbc_crypt encryption (again)", v);
	/* Not a whole number of blocks: refused. */
	assert_false(cbc_crypt(&enc, iv, buf, len - 1));
	free(buf);
	cipher_free(&enc);
	cipher_free(&dec);
}

static void aes_cbc_vector(struct vec *v, void *ctx)
{
	struct cbc_stats *st = ctx;
	enum crypto_enc e = enc_from_cipher(need(v, "cipher"));
	size_t klen, ivlen, plen, clen;
	const uint8_t *key = hexf(v, "key", &klen);
	const uint8_t *iv = hexf(v, "iv", &ivlen);
	const uint8_t *pt = hexf(v, "plaintext", &plen);
	const uint8_t *ct = hexf(v, "ciphertext", &clen);
	assert_int_equal(plen, clen);
	assert_int_equal(ivlen, 16);
	cbc_roundtrip(v, e, key, klen, iv, pt, ct, plen, false);
	st->cbc++;
	if (!field(v, "esp_packet"))
		return;

	size_t spilen, seqlen, wlen, paylen;
	const uint8_t *spi = hexf(v, "spi", &spilen);
	const uint8_t *seq = hexf(v, "seq", &seqlen);
	const uint8_t *wire = hexf(v, "esp_packet", &wlen);
	const uint8_t *pay = hexf(v, "payload", &paylen);
	long padlen = num(v, "pad_length"), nh = num(v, "next_header");
	/* SPI | seq | IV | ciphertext, no ICV. */
	assert_int_equal(wlen, 8 + 16 + clen);
	assert_memory_equal(wire, spi, 4);
	assert_memory_equal(wire + 4, seq, 4);
	assert_memory_equal(wire + 8, iv, 16);
	assert_memory_equal(wire + 24, ct, clen);
	/* Decrypt what is on the wire; check payload | 1 2 .. | pad length | nh. */
	struct cipher dec;
	const char *err = NULL;
	assert_true(cipher_init(&dec, e, key, klen, false, false, &err));
	uint8_t *body = malloc(clen);
	memcpy(body, wire + 24, clen);
	assert_true(cbc_crypt(&dec, wire + 8, body, clen));
	cipher_free(&dec);
	assert_int_equal(clen, paylen + (size_t)padlen + 2);
	assert_int_equal(clen % 16, 0);
	assert_memory_equal(body, pay, paylen);
	for (long i = 0; i < padlen; i++)
		assert_int_equal(body[paylen + (size_t)i], i + 1);
	assert_int_equal(body[clen - 2], padlen);
	assert_int_equal(body[clen - 1], nh);
	/* RFC 4303 minimal padding: fewer than a block. */
	assert_true(padlen < 16);
	free(body);
	const char *mode = need(v, "mode");
	assert_true(strcmp(mode, nh == 4 ? "tunnel" : "transport") == 0);

	/* The same packet through esp_input: these packets carry no ICV, so add
	 * an HMAC-SHA1-96 ICV (computed with OpenSSL directly) over SPI .. end. */
	static const uint8_t akey[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	                                  17, 18, 19, 20 };
	uint8_t full[EVP_MAX_MD_SIZE];
	size_t flen;
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA1", NULL, akey, sizeof(akey), wire, wlen,
	                          full, sizeof(full), &flen));
	uint8_t *wi = malloc(wlen + 12);
	memcpy(wi, wire, wlen);
	memcpy(wi + wlen, full, 12);
	struct esp_case c = {
		.enc = e, .keymat = key, .keymat_len = klen, .integ = MAC_HMAC_SHA1_96,
		.auth_key = akey, .auth_key_len = sizeof(akey), .spi = (uint32_t)be_n(spi, 4),
		.seq = be_n(seq, 4), .esn = false,
		.mode = strcmp(mode, "tunnel") == 0 ? SA_TUNNEL : SA_TRANSPORT,
		.wire = wi, .wire_len = wlen + 12, .payload = pay, .payload_len = paylen,
		.next_header = (uint8_t)nh,
	};
	assert_int_equal(run_esp_case(&c, v), DROP_NONE);
	free(wi);
	st->esp++;
}

static void test_aes_cbc(void **state)
{
	(void)state;
	struct cbc_stats st = { 0, 0, 0 };
	int n = each_vector("aes_cbc_esp.json", aes_cbc_vector, &st);
	print_message("aes_cbc_esp.json: %d vectors through cbc_crypt, %d ESP packets decrypted "
	              "and (with an added HMAC-SHA1-96 ICV) through ipsec_input\n", st.cbc, st.esp);
	assert_int_equal(n, 8);
	assert_int_equal(st.cbc, 8);
	assert_int_equal(st.esp, 4);
}

static void des_vector(struct vec *v, void *ctx)
{
	struct cbc_stats *st = ctx;
	const char *cipher = need(v, "cipher");
	size_t klen, plen, clen, ivlen = 0;
	const uint8_t *key = hexf(v, "key", &klen);
	const uint8_t *pt = hexf(v, "plaintext", &plen);
	const uint8_t *ct = hexf(v, "ciphertext", &clen);
	const uint8_t *iv = field(v, "iv") ? hexf(v, "iv", &ivlen) : NULL;
	assert_int_equal(plen, clen);
	assert_int_equal(plen % 8, 0);
	static const uint8_t zero_iv[8];

	if (strcmp(cipher, "DES-EDE3-CBC") == 0) {
		assert_int_equal(ivlen, 8);
		cbc_roundtrip(v, ENC_3DES_CBC, key, klen, iv, pt, ct, plen, false);
	} else if (strcmp(cipher, "DES-CBC") == 0) {
		assert_int_equal(ivlen, 8);
		cbc_roundtrip(v, ENC_DES_CBC, key, klen, iv, pt, ct, plen, true);
	} else {
		/* DES-ECB: each block is CBC with a zero IV. */
		assert_string_equal(cipher, "DES-ECB");
		assert_int_equal(klen, 8);
		for (size_t i = 0; i < plen; i += 8) {
			cbc_roundtrip(v, ENC_DES_CBC, key, klen, zero_iv, pt + i, ct + i, 8, true);
			/* As TDEA with K1 = K2 = K3 (what the SP 800-20 note says). */
			uint8_t k3[24];
			memcpy(k3, key, 8);
			memcpy(k3 + 8, key, 8);
			memcpy(k3 + 16, key, 8);
			cbc_roundtrip(v, ENC_3DES_CBC, k3, 24, zero_iv, pt + i, ct + i, 8, false);
			st->des_ecb_blocks++;
		}
	}
	st->cbc++;
}

static void test_des_3des(void **state)
{
	(void)state;
	/* Without allow_legacy DES is refused, and the error says why. */
	static const uint8_t k8[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct cipher c;
	const char *err = NULL;
	assert_false(cipher_init(&c, ENC_DES_CBC, k8, 8, true, false, &err));
	assert_non_null(err);
	assert_non_null(strstr(err, "legacy"));
	err = NULL;
	assert_false(cipher_init(&c, ENC_NULL, NULL, 0, true, false, &err));
	assert_non_null(strstr(err, "legacy"));

	struct cbc_stats st = { 0, 0, 0 };
	int n = each_vector("des_3des_cbc.json", des_vector, &st);
	print_message("des_3des_cbc.json: %d vectors (%d DES-ECB blocks, also as 3DES with "
	              "K1=K2=K3)\n", n, st.des_ecb_blocks);
	assert_int_equal(n, 88);
	assert_int_equal(st.cbc, 88);

	/* Still refused after the legacy provider was loaded for an allowed use. */
	err = NULL;
	assert_false(cipher_init(&c, ENC_DES_CBC, k8, 8, false, false, &err));
	assert_non_null(strstr(err, "legacy"));
}

/* ---- API edges ----------------------------------------------------------- */

static void test_names_and_sizes(void **state)
{
	(void)state;
	static const struct { const char *n; enum crypto_enc e; size_t key, salt, iv, blk, icv; } encs[] = {
		{ "null", ENC_NULL, 0, 0, 0, 4, 0 },
		{ "des", ENC_DES_CBC, 8, 0, 8, 8, 0 },
		{ "3des", ENC_3DES_CBC, 24, 0, 8, 8, 0 },
		{ "aes-128-cbc", ENC_AES128_CBC, 16, 0, 16, 16, 0 },
		{ "aes-256-cbc", ENC_AES256_CBC, 32, 0, 16, 16, 0 },
		{ "aes-128-gcm", ENC_AES128_GCM, 16, 4, 8, 4, 16 },
		{ "AES-256-GCM", ENC_AES256_GCM, 32, 4, 8, 4, 16 },
		{ "chacha20-poly1305", ENC_CHACHA20_POLY1305, 32, 4, 8, 4, 16 },
		{ "aes-128-gmac", ENC_AES128_GMAC, 16, 4, 8, 4, 16 },
		{ "aes-256-gmac", ENC_AES256_GMAC, 32, 4, 8, 4, 16 },
	};
	for (size_t i = 0; i < sizeof(encs) / sizeof(encs[0]); i++) {
		enum crypto_enc e;
		assert_true(crypto_enc_by_name(encs[i].n, &e));
		assert_int_equal(e, encs[i].e);
		const struct crypto_enc_info *in = crypto_enc_info(e);
		assert_int_equal(in->key_len, encs[i].key);
		assert_int_equal(in->salt_len, encs[i].salt);
		assert_int_equal(in->iv_len, encs[i].iv);
		assert_int_equal(in->block, encs[i].blk);
		assert_int_equal(in->icv_len, encs[i].icv);
		assert_int_equal(in->legacy, e == ENC_NULL || e == ENC_DES_CBC);
	}
	static const struct { const char *n; enum crypto_mac m; size_t key, icv; } macs[] = {
		{ "md5", MAC_HMAC_MD5_96, 16, 12 }, { "sha1", MAC_HMAC_SHA1_96, 20, 12 },
		{ "sha256", MAC_HMAC_SHA256_128, 32, 16 }, { "SHA384", MAC_HMAC_SHA384_192, 48, 24 },
		{ "sha512", MAC_HMAC_SHA512_256, 64, 32 },
	};
	for (size_t i = 0; i < sizeof(macs) / sizeof(macs[0]); i++) {
		enum crypto_mac m;
		assert_true(crypto_mac_by_name(macs[i].n, &m));
		assert_int_equal(m, macs[i].m);
		assert_int_equal(crypto_mac_info(m)->key_len, macs[i].key);
		assert_int_equal(crypto_mac_info(m)->icv_len, macs[i].icv);
		assert_int_equal(crypto_mac_info(m)->legacy, m == MAC_HMAC_MD5_96);
	}
	enum crypto_enc e;
	enum crypto_mac m;
	assert_false(crypto_enc_by_name("rc4", &e));
	assert_false(crypto_mac_by_name("sha3", &m));
	assert_null(crypto_enc_info(ENC_COUNT));
	assert_null(crypto_mac_info(MAC_COUNT));
	assert_null(crypto_enc_info((enum crypto_enc)-1));
}

static void test_init_errors(void **state)
{
	(void)state;
	uint8_t key[64] = { 0 };
	struct cipher c;
	struct mac mc;
	const char *err = NULL;
	assert_false(cipher_init(&c, ENC_AES128_GCM, key, 16, true, false, &err)); /* no salt */
	assert_non_null(strstr(err, "length"));
	err = NULL;
	assert_false(cipher_init(&c, ENC_AES128_CBC, key, 20, true, false, &err));
	assert_non_null(strstr(err, "length"));
	err = NULL;
	assert_false(cipher_init(&c, ENC_COUNT, key, 16, true, false, &err));
	assert_non_null(err);
	err = NULL;
	assert_false(mac_init(&mc, MAC_NONE, key, 0, true, &err));
	assert_non_null(err);
	err = NULL;
	assert_false(mac_init(&mc, MAC_HMAC_SHA256_128, key, 31, true, &err));
	assert_non_null(strstr(err, "length"));
	/* AEAD contexts do not do CBC and vice versa. */
	assert_true(cipher_init(&c, ENC_AES128_GCM, key, 20, true, false, &err));
	uint8_t data[16] = { 0 }, iv[16] = { 0 }, tag[16];
	assert_false(cbc_crypt(&c, iv, data, 16));
	cipher_free(&c);
	assert_true(cipher_init(&c, ENC_AES128_CBC, key, 16, true, false, &err));
	assert_false(aead_seal(&c, iv, NULL, 0, data, 16, tag));
	cipher_free(&c);
	/* NULL encryption: nothing changes. */
	assert_true(cipher_init(&c, ENC_NULL, NULL, 0, true, true, &err));
	memset(data, 0x5a, sizeof(data));
	assert_true(cbc_crypt(&c, NULL, data, 16));
	for (int i = 0; i < 16; i++)
		assert_int_equal(data[i], 0x5a);
	cipher_free(&c);
}

static void test_icv_equal_and_random(void **state)
{
	(void)state;
	uint8_t a[32], b[32];
	assert_true(crypto_random(a, sizeof(a)));
	memcpy(b, a, sizeof(a));
	assert_true(crypto_icv_equal(a, b, sizeof(a)));
	for (size_t i = 0; i < sizeof(a) * 8; i++) {
		b[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_false(crypto_icv_equal(a, b, sizeof(a)));
		b[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	assert_true(crypto_random(b, sizeof(b)));
	assert_memory_not_equal(a, b, sizeof(a));
	crypto_wipe(a, sizeof(a));
	for (size_t i = 0; i < sizeof(a); i++)
		assert_int_equal(a[i], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_sizes),
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_icv_equal_and_random),
		cmocka_unit_test(test_hmac),
		cmocka_unit_test(test_aes_gcm),
		cmocka_unit_test(test_chacha20_poly1305),
		cmocka_unit_test(test_aes_cbc),
		cmocka_unit_test(test_des_3des),
	};
	return cmocka_run_group_tests(tests, vectors_setup, vectors_teardown);
}
