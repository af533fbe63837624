/*
 * secpol-aead-ceiling — what OpenSSL itself allows per ESP packet, without
 * any of secpol: raw EVP calls only, one pre-keyed context per direction.
 *
 *   stream   what `openssl speed -evp <cipher> -bytes N` times (apps/speed.c,
 *            EVP_Update_loop in OpenSSL 3.0): EVP_EncryptUpdate (or
 *            EVP_DecryptUpdate with -decrypt) of N octets, in place, over and
 *            over on ONE context that was given a key and nonce once. No
 *            nonce per buffer, no AAD, no Final, no tag: one endless message.
 *   packet   what one ESP packet needs at the least (RFC 4106 / RFC 7634),
 *            and exactly the calls src/crypto/crypto.c makes: set the 12-octet
 *            nonce (EVP_CipherInit_ex2, the key kept), one Update for the
 *            8-octet AAD (SPI | seq), one in-place Update for the payload,
 *            Final, and the 16-octet tag out (seal) or in (open, checked by
 *            Final) through EVP_CIPHER_CTX_get_params / set_params.
 *   packet-ctrl, packet-noaad
 *            the same with the tag moved by EVP_CIPHER_CTX_ctrl instead, and
 *            without the AAD Update, to price those two steps.
 *   primitives (chacha20-poly1305, out only)
 *            RFC 8439's construction put together from OpenSSL's separate
 *            ChaCha20 cipher and Poly1305 MAC, arranged as cheaply as they
 *            allow: ONE keystream call covers the Poly1305 key block and the
 *            payload, then one MAC init, the updates and its final. secpol
 *            does not seal this way (the EVP AEAD is the vetted whole); this
 *            prices the best any OpenSSL-based sealing could do: the
 *            per-message Poly1305 key is what the endless stream never pays.
 * Times are CPU time of this thread, as `openssl speed` reports user CPU time.
 *
 * usage: [AEAD_ALG=chacha20-poly1305] [AEAD_MODE=packet] secpol-aead-ceiling [size] [seconds]
 *        (default: both algorithms, every mode, 1400 octets, 2 s each)
 * prints: aead alg=chacha20-poly1305 size=1400 dir=out mode=packet gbit_s=.. pps=..
 * A benchmark: prints numbers, never passes or fails (exit 1 only if OpenSSL
 * refuses a call, which would make the numbers meaningless).
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SIZE 9000

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum mode { STREAM, PACKET, PACKET_CTRL, PACKET_NOAAD, MODE_COUNT };
static const char *const mode_name[MODE_COUNT] = { "stream", "packet", "packet-ctrl",
                                                    "packet-noaad" };

static EVP_CIPHER_CTX *keyed(const char *evp_name, bool enc)
{
	static const uint8_t key[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	                                 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
	                                 31, 32 };
	static const uint8_t nonce[12] = { 0 };
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, evp_name, NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (!c || !ctx || EVP_CipherInit_ex2(ctx, c, key, nonce, enc ? 1 : 0, NULL) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		ctx = NULL;
	}
	EVP_CIPHER_free(c);
	return ctx;
}

/* One ESP packet's worth of EVP calls. tag: out when sealing, in when opening. */
static bool one_packet(EVP_CIPHER_CTX *ctx, enum mode m, bool enc, uint64_t seq, uint8_t *buf,
                       int len, uint8_t tag[16])
{
	uint8_t nonce[12] = { 0xa1, 0xb2, 0xc3, 0xd4 };     /* salt | 8-octet IV */
	uint8_t aad[8] = { 0, 0, 0x10, 0 };                  /* SPI | seq */
	uint8_t end[16];
	int outl;
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(seq >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		aad[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
	if (EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, -1, NULL) != 1)
		return false;
	if (m != PACKET_NOAAD && EVP_CipherUpdate(ctx, NULL, &outl, aad, 8) != 1)
		return false;
	if (EVP_CipherUpdate(ctx, buf, &outl, buf, len) != 1)
		return false;
	if (m != PACKET_CTRL) {
		OSSL_PARAM p[] = {
			OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, 16),
			OSSL_PARAM_construct_end(),
		};
		if (enc)
			return EVP_CipherFinal_ex(ctx, end, &outl) == 1 &&
			       EVP_CIPHER_CTX_get_params(ctx, p) == 1;
		return EVP_CIPHER_CTX_set_params(ctx, p) == 1 && EVP_CipherFinal_ex(ctx, end, &outl) == 1;
	}
	if (enc)
		return EVP_CipherFinal_ex(ctx, end, &outl) == 1 &&
		       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1;
	return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag) == 1 &&
	       EVP_CipherFinal_ex(ctx, end, &outl) == 1;
}

/* The "primitives" mode: size octets sealed per message, for seconds. */
static int run_primitives(int size, double seconds)
{
	static const uint8_t key[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	                                 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
	                                 31, 32 };
	/* 64 octets in front of the payload: block 0 of the keystream, whose
	 * first 32 octets are the message's Poly1305 key. */
	static uint8_t buf[64 + MAX_SIZE];
	uint8_t iv[16] = { 0 };   /* 32-bit block counter (0) | 96-bit nonce */
	uint8_t aad[16] = { 0, 0, 0x10, 0 }, lens[16] = { 8 }, tag[16];
	lens[8] = (uint8_t)size;
	lens[9] = (uint8_t)(size >> 8);
	static const uint8_t zeros[16];
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	EVP_CIPHER_CTX *cc = EVP_CIPHER_CTX_new();
	EVP_MAC_CTX *mc = mac ? EVP_MAC_CTX_new(mac) : NULL;
	bool ok = c && mc && cc && EVP_EncryptInit_ex2(cc, c, key, iv, NULL) == 1;
	uint64_t n = 0;
	/* First the proof that the arrangement is RFC 8439's: one message
	 * sealed both ways must give the same ciphertext and tag. */
	static uint8_t ref[MAX_SIZE];
	uint8_t ref_tag[16];
	EVP_CIPHER_CTX *aead = keyed("ChaCha20-Poly1305", true);
	for (int i = 0; i < size; i++)
		ref[i] = buf[64 + i] = (uint8_t)i;
	int rl;
	size_t tl;
	ok = ok && aead && EVP_EncryptInit_ex2(aead, NULL, NULL, iv + 4, NULL) == 1 &&
	     EVP_EncryptUpdate(aead, NULL, &rl, aad, 8) == 1 &&
	     EVP_EncryptUpdate(aead, ref, &rl, ref, size) == 1 &&
	     EVP_EncryptFinal_ex(aead, ref + rl, &rl) == 1 &&
	     EVP_CIPHER_CTX_ctrl(aead, EVP_CTRL_AEAD_GET_TAG, 16, ref_tag) == 1;
	EVP_CIPHER_CTX_free(aead);
	memset(buf, 0, 64);
	ok = ok && EVP_EncryptUpdate(cc, buf, &rl, buf, 64 + size) == 1 &&
	     EVP_MAC_init(mc, buf, 32, NULL) == 1 && EVP_MAC_update(mc, aad, 16) == 1 &&
	     EVP_MAC_update(mc, buf + 64, (size_t)size) == 1 &&
	     EVP_MAC_update(mc, zeros, (16 - size % 16) % 16) == 1 &&
	     EVP_MAC_update(mc, lens, 16) == 1 && EVP_MAC_final(mc, tag, &tl, sizeof(tag)) == 1;
	if (ok && (memcmp(ref, buf + 64, (size_t)size) != 0 || memcmp(ref_tag, tag, 16) != 0)) {
		fprintf(stderr, "aead chacha20-poly1305 mode=primitives: not RFC 8439's result\n");
		ok = false;
		n = 1;   /* said why: not "refused" below */
	}
	double t0 = now(), t1 = t0;
	while (ok && (t1 = now()) - t0 < seconds) {
		for (int i = 0; ok && i < 1024; i++) {
			int outl;
			uint64_t seq = n + (uint64_t)i + 1;
			memcpy(iv + 8, &seq, 8);
			memset(buf, 0, 64);
			ok = EVP_EncryptInit_ex2(cc, NULL, NULL, iv, NULL) == 1 &&
			     EVP_EncryptUpdate(cc, buf, &outl, buf, 64 + size) == 1 &&
			     EVP_MAC_init(mc, buf, 32, NULL) == 1 &&
			     EVP_MAC_update(mc, aad, 16) == 1 &&   /* 8 of AAD, 8 of padding */
			     EVP_MAC_update(mc, buf + 64, (size_t)size) == 1 &&
			     EVP_MAC_update(mc, zeros, (16 - size % 16) % 16) == 1 &&
			     EVP_MAC_update(mc, lens, 16) == 1 &&
			     EVP_MAC_final(mc, tag, &tl, sizeof(tag)) == 1;
		}
		n += 1024;
	}
	EVP_MAC_CTX_free(mc);
	EVP_MAC_free(mac);
	EVP_CIPHER_CTX_free(cc);
	EVP_CIPHER_free(c);
	if (!ok) {
		if (n == 0)
			fprintf(stderr, "aead chacha20-poly1305 mode=primitives: OpenSSL refused a call\n");
		return 1;
	}
	double pps = (double)n / (t1 - t0);
	printf("aead alg=chacha20-poly1305 size=%d dir=out mode=primitives gbit_s=%.2f pps=%.0f\n",
	       size, pps * size * 8 / 1e9, pps);
	fflush(stdout);
	return 0;
}

static int run(const char *alg, const char *evp_name, enum mode m, bool enc, int size,
               double seconds)
{
	static uint8_t buf[MAX_SIZE], sealed[MAX_SIZE];
	uint8_t tag[16] = { 0 };
	EVP_CIPHER_CTX *ctx = keyed(evp_name, enc);
	if (!ctx)
		return 1;
	for (int i = 0; i < size; i++)
		buf[i] = (uint8_t)i;
	/* Opening needs a packet that authenticates: seal one with the same key. */
	if (!enc && m != STREAM) {
		EVP_CIPHER_CTX *sealer = keyed(evp_name, true);
		bool ok = sealer && one_packet(sealer, m, true, 1, buf, size, tag);
		EVP_CIPHER_CTX_free(sealer);
		if (!ok)
			return 1;
		memcpy(sealed, buf, (size_t)size);
	}
	uint64_t n = 0;
	int outl;
	double t0 = now(), t1;
	do {
		for (int i = 0; i < 1024; i++) {
			bool ok;
			if (m == STREAM) {
				ok = EVP_CipherUpdate(ctx, buf, &outl, buf, size) == 1;
			} else {
				/* Decrypting in place destroys the ciphertext: put it back, as
				 * the ESP benchmark copies each received packet in. */
				if (!enc)
					memcpy(buf, sealed, (size_t)size);
				ok = one_packet(ctx, m, enc, enc ? n + (uint64_t)i + 1 : 1, buf, size, tag);
			}
			if (!ok) {
				fprintf(stderr, "aead %s mode=%s: OpenSSL refused a call\n", alg,
				        mode_name[m]);
				EVP_CIPHER_CTX_free(ctx);
				return 1;
			}
		}
		n += 1024;
	} while ((t1 = now()) - t0 < seconds);
	double pps = (double)n / (t1 - t0);
	printf("aead alg=%s size=%d dir=%s mode=%s gbit_s=%.2f pps=%.0f\n", alg, size,
	       enc ? "out" : "in", mode_name[m], pps * size * 8 / 1e9, pps);
	fflush(stdout);
	EVP_CIPHER_CTX_free(ctx);
	return 0;
}

int main(int argc, char **argv)
{
	int size = argc > 1 ? atoi(argv[1]) : 1400;
	double seconds = argc > 2 ? atof(argv[2]) : 2.0;
	if (size < 1 || size > MAX_SIZE || !(seconds > 0 && seconds <= 60)) {
		fprintf(stderr, "usage: secpol-aead-ceiling [size 1..%d] [seconds, at most 60]\n",
		        MAX_SIZE);
		return 2;
	}
	static const char *const algs[][2] = { { "aes-128-gcm", "AES-128-GCM" },
	                                       { "chacha20-poly1305", "ChaCha20-Poly1305" } };
	/* AEAD_ALG / AEAD_MODE narrow the run to one algorithm / mode (for perf). */
	const char *only = getenv("AEAD_ALG"), *only_mode = getenv("AEAD_MODE");
	for (size_t a = 0; a < 2; a++) {
		if (only && strcmp(only, algs[a][0]) != 0)
			continue;
		for (int dir = 1; dir >= 0; dir--)
			for (int m = 0; m < MODE_COUNT; m++)
				if ((!only_mode || strcmp(only_mode, mode_name[m]) == 0) &&
				    run(algs[a][0], algs[a][1], (enum mode)m, dir == 1, size, seconds))
					return 1;
	}
	if ((!only || strcmp(only, "chacha20-poly1305") == 0) &&
	    (!only_mode || strcmp(only_mode, "primitives") == 0))
		return run_primitives(size, seconds);
	return 0;
}
