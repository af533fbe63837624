/*
 * IKEv2 message codec tests: round trips (decode, check, encode again,
 * byte for byte) of an IKE_SA_INIT request and of IKE_AUTH's inner
 * payloads; two IKE_SA_INIT requests captured from strongSwan 5.9.8
 * (charon-cmd); every truncation of the valid messages; and one rejection
 * test per rule of the decoder, each also checking that the writer refuses
 * to emit the same payload.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/message.h"

#define SPI_I 0x0123456789abcdefULL
#define SPI_R 0xfedcba9876543210ULL
#define BUFSZ 4096

/* ---- Captured from strongSwan 5.9.8 -------------------------------------
 * charon-cmd --host 127.0.0.1 --profile ikev2-eap ..., with the default IKE
 * proposals (strongswan_default) and with --ike-proposal
 * aes256-sha384-prfsha384-ecp384-modp2048 (strongswan_custom); the UDP
 * payloads as a listener on port 4500 got them, less the non-ESP marker.
 * Both: SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(REDIR_SUP). */
static const uint8_t strongswan_default[] = {
	0x35, 0x97, 0xb5, 0x78, 0x25, 0x9c, 0xbc, 0xb3, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x21, 0x20, 0x22, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xac, 0x22, 0x00, 0x02, 0xec,
	0x02, 0x00, 0x01, 0x68, 0x01, 0x01, 0x00, 0x26, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x0c,
	0x80, 0x0e, 0x00, 0x80, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x0c, 0x80, 0x0e, 0x00, 0xc0,
	0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x0c, 0x80, 0x0e, 0x01, 0x00, 0x03, 0x00, 0x00, 0x0c,
	0x01, 0x00, 0x00, 0x0d, 0x80, 0x0e, 0x00, 0x80, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x0d,
	0x80, 0x0e, 0x00, 0xc0, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x0d, 0x80, 0x0e, 0x01, 0x00,
	0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x17, 0x80, 0x0e, 0x00, 0x80, 0x03, 0x00, 0x00, 0x0c,
	0x01, 0x00, 0x00, 0x17, 0x80, 0x0e, 0x00, 0xc0, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x17,
	0x80, 0x0e, 0x01, 0x00, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x18, 0x80, 0x0e, 0x00, 0x80,
	0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x18, 0x80, 0x0e, 0x00, 0xc0, 0x03, 0x00, 0x00, 0x0c,
	0x01, 0x00, 0x00, 0x18, 0x80, 0x0e, 0x01, 0x00, 0x03, 0x00, 0x00, 0x08, 0x01, 0x00, 0x00, 0x03,
	0x03, 0x00, 0x00, 0x08, 0x03, 0x00, 0x00, 0x0c, 0x03, 0x00, 0x00, 0x08, 0x03, 0x00, 0x00, 0x0d,
	0x03, 0x00, 0x00, 0x08, 0x03, 0x00, 0x00, 0x0e, 0x03, 0x00, 0x00, 0x08, 0x03, 0x00, 0x00, 0x05,
	0x03, 0x00, 0x00, 0x08, 0x03, 0x00, 0x00, 0x08, 0x03, 0x00, 0x00, 0x08, 0x03, 0x00, 0x00, 0x02,
	0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x05, 0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x06,
	0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x07, 0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x04,
	0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x08, 0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x02,
	0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x1f, 0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x20,
	0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x13, 0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x14,
	0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x15, 0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x1c,
	0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x1d, 0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x1e,
	0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x0f, 0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x10,
	0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x11, 0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x12,
	0x00, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x01, 0x80, 0x02, 0x01, 0x00, 0x26,
	0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x10, 0x80, 0x0e, 0x00, 0x80, 0x03, 0x00, 0x00, 0x0c,
	0x01, 0x00, 0x00, 0x10, 0x80, 0x0e, 0x00, 0xc0, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x10,
	0x80, 0x0e, 0x01, 0x00, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x14, 0x80, 0x0e, 0x00, 0x80,
	0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x14, 0x80, 0x0e, 0x00, 0xc0, 0x03, 0x00, 0x00, 0x0c,
	0x01, 0x00, 0x00, 0x14, 0x80, 0x0e, 0x01, 0x00, 0x03, 0x00, 0x00, 0x08, 0x01, 0x00, 0x00, 0x1c,
	0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x0e, 0x80, 0x0e, 0x00, 0x80, 0x03, 0x00, 0x00, 0x0c,
	0x01, 0x00, 0x00, 0x0e, 0x80, 0x0e, 0x00, 0xc0, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x0e,
	0x80, 0x0e, 0x01, 0x00, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x0f, 0x80, 0x0e, 0x00, 0x80,
	0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x0f, 0x80, 0x0e, 0x00, 0xc0, 0x03, 0x00, 0x00, 0x0c,
	0x01, 0x00, 0x00, 0x0f, 0x80, 0x0e, 0x01, 0x00, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x12,
	0x80, 0x0e, 0x00, 0x80, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x12, 0x80, 0x0e, 0x00, 0xc0,
	0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x12, 0x80, 0x0e, 0x01, 0x00, 0x03, 0x00, 0x00, 0x0c,
	0x01, 0x00, 0x00, 0x13, 0x80, 0x0e, 0x00, 0x80, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x13,
	0x80, 0x0e, 0x00, 0xc0, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x13, 0x80, 0x0e, 0x01, 0x00,
	0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x05, 0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x06,
	0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x07, 0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x04,
	0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x08, 0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x02,
	0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x1f, 0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x20,
	0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x13, 0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x14,
	0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x15, 0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x1c,
	0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x1d, 0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x1e,
	0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x0f, 0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x10,
	0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x11, 0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x12,
	0x00, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x0e, 0x28, 0x00, 0x00, 0x28, 0x00, 0x1f, 0x00, 0x00,
	0x30, 0x87, 0xd6, 0xec, 0xfd, 0x60, 0x94, 0x16, 0xee, 0x47, 0xe6, 0x0a, 0xaf, 0x4a, 0xd6, 0xe5,
	0xb8, 0xec, 0x6b, 0xb9, 0x7c, 0x41, 0xf5, 0x61, 0x13, 0x30, 0xb2, 0xaa, 0xcf, 0x1f, 0xcd, 0x33,
	0x29, 0x00, 0x00, 0x24, 0x6a, 0xd3, 0xfd, 0x7d, 0xf4, 0x37, 0x93, 0x42, 0x09, 0x08, 0xf8, 0x91,
	0x2b, 0xe1, 0x97, 0x03, 0x0c, 0x38, 0xba, 0x25, 0xcb, 0x97, 0x5b, 0xee, 0xd4, 0x45, 0x3b, 0x23,
	0x43, 0x86, 0xcd, 0x32, 0x29, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x40, 0x04, 0xfb, 0xaf, 0xec, 0x57,
	0x9f, 0xbe, 0x44, 0x3a, 0x69, 0x82, 0xdf, 0x0c, 0x3f, 0xd6, 0x3a, 0x60, 0xfd, 0x0a, 0x24, 0xa0,
	0x29, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x40, 0x05, 0xc7, 0x9b, 0x0a, 0xfb, 0x57, 0xd2, 0x70, 0x0d,
	0x62, 0xcc, 0x5d, 0x5b, 0x39, 0x00, 0x17, 0x71, 0xe5, 0xfd, 0xb2, 0x54, 0x29, 0x00, 0x00, 0x08,
	0x00, 0x00, 0x40, 0x2e, 0x29, 0x00, 0x00, 0x10, 0x00, 0x00, 0x40, 0x2f, 0x00, 0x02, 0x00, 0x03,
	0x00, 0x04, 0x00, 0x05, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x40, 0x16
};
static const uint8_t strongswan_custom[] = {
	0x01, 0x9e, 0xe7, 0xdc, 0x26, 0x28, 0xe6, 0xed, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x21, 0x20, 0x22, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x38, 0x22, 0x00, 0x00, 0x38,
	0x00, 0x00, 0x00, 0x34, 0x01, 0x01, 0x00, 0x05, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x0c,
	0x80, 0x0e, 0x01, 0x00, 0x03, 0x00, 0x00, 0x08, 0x03, 0x00, 0x00, 0x0d, 0x03, 0x00, 0x00, 0x08,
	0x02, 0x00, 0x00, 0x06, 0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x08,
	0x04, 0x00, 0x00, 0x0e, 0x28, 0x00, 0x00, 0x68, 0x00, 0x14, 0x00, 0x00, 0x75, 0x26, 0x0a, 0x56,
	0xe2, 0x88, 0xca, 0x0b, 0x7d, 0x1e, 0xf1, 0x82, 0x5b, 0x72, 0xb1, 0x2b, 0xab, 0xe9, 0xab, 0xfd,
	0xa9, 0x9d, 0x93, 0x22, 0x86, 0x5b, 0x93, 0x52, 0xfb, 0x39, 0x74, 0x7e, 0x63, 0xba, 0xd7, 0x51,
	0x0d, 0xca, 0xf6, 0xb5, 0x2b, 0xf0, 0x08, 0x45, 0xea, 0xed, 0x05, 0xb8, 0x1c, 0xd1, 0x8c, 0x46,
	0x77, 0x1c, 0x44, 0xae, 0x7a, 0xa7, 0xd3, 0x11, 0x14, 0xac, 0xb6, 0xea, 0x93, 0x1f, 0x5a, 0x29,
	0xe4, 0x18, 0xd3, 0x20, 0xe1, 0xb1, 0x89, 0xa4, 0x71, 0xf6, 0x47, 0x20, 0x2f, 0xe2, 0xc7, 0x80,
	0xb9, 0x0d, 0x99, 0x3a, 0x66, 0x09, 0x08, 0x48, 0xb4, 0xc0, 0x3c, 0x7a, 0x29, 0x00, 0x00, 0x24,
	0x96, 0xcd, 0x15, 0x68, 0x19, 0x2a, 0xd1, 0x01, 0xc9, 0x18, 0xcc, 0x88, 0xd0, 0x42, 0xd1, 0xf7,
	0x91, 0x07, 0xd6, 0x11, 0x0f, 0x47, 0x15, 0xf8, 0x48, 0x4b, 0x65, 0xba, 0x0b, 0x21, 0x09, 0xe3,
	0x29, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x40, 0x04, 0xa3, 0x36, 0xbf, 0xa0, 0xa2, 0xa7, 0x7d, 0x51,
	0xc6, 0x98, 0xa0, 0x3b, 0x02, 0x5d, 0x19, 0xa9, 0xff, 0x9d, 0xb0, 0xdc, 0x29, 0x00, 0x00, 0x1c,
	0x00, 0x00, 0x40, 0x05, 0x8b, 0x5d, 0x54, 0x8f, 0x46, 0x54, 0xb2, 0x6e, 0x3d, 0x33, 0x4a, 0x09,
	0x8a, 0x7a, 0xe5, 0xfc, 0x0d, 0x2d, 0xae, 0x4e, 0x29, 0x00, 0x00, 0x08, 0x00, 0x00, 0x40, 0x2e,
	0x29, 0x00, 0x00, 0x10, 0x00, 0x00, 0x40, 0x2f, 0x00, 0x02, 0x00, 0x03, 0x00, 0x04, 0x00, 0x05,
	0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x40, 0x16
};

/* ---- Helpers ------------------------------------------------------------ */

/* SECPOL_IKE_SEEDS=DIR: every message, chain and body the tests decode is
 * also written to DIR, in the input format of fuzz/fuzz_ike_message.c (a
 * message as it is; a chain or a body after a byte that selects the first
 * type, or the body's type), as its seed corpus. */
static const uint8_t fuzz_types[] = {
	IKE_PL_SA, IKE_PL_KE, IKE_PL_IDI, IKE_PL_IDR, IKE_PL_CERT, IKE_PL_CERTREQ, IKE_PL_AUTH,
	IKE_PL_NONCE, IKE_PL_NOTIFY, IKE_PL_DELETE, IKE_PL_VENDOR, IKE_PL_TSI, IKE_PL_TSR,
	IKE_PL_SK, IKE_PL_CP, IKE_PL_EAP, IKE_PL_SKF,
};

static void seed(const char *kind, int prefix, const uint8_t *p, size_t len)
{
	const char *dir = getenv("SECPOL_IKE_SEEDS");
	if (!dir)
		return;
	uint64_t h = 0xcbf29ce484222325ULL;            /* FNV-1a: one file per content */
	if (prefix >= 0)
		h = (h ^ (uint8_t)prefix) * 0x100000001b3ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s-%016llx", dir, kind, (unsigned long long)h);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	if (prefix >= 0)
		fputc(prefix, f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	fclose(f);
}

static void seed_body(uint8_t type, const void *body, size_t len)
{
	for (size_t i = 0; i < sizeof(fuzz_types); i++)
		if (fuzz_types[i] == type)
			seed("body", (int)i, body, len);
}

static const struct ike_header sa_init_header = {
	.spi_i = SPI_I, .major = 2, .exchange = IKE_SA_INIT, .flags = IKE_FLAG_INITIATOR,
};

/* Writes p again from its decoded form. */
static bool reput(struct ike_writer *w, const struct ike_payload *p)
{
	static struct ike_sa sa;
	struct ike_ke ke;
	struct ike_id id;
	struct ike_auth auth;
	struct ike_data d;
	struct ike_notify n;
	struct ike_delete del;
	static struct ike_ts ts;
	struct ike_cert cert;
	struct ike_cp cp;
	struct ike_sk sk;
	struct ike_skf skf;
	const char *why = NULL;
	switch (p->type) {
	case IKE_PL_SA: return ike_decode_sa(p, &sa, &why) && ike_put_sa(w, sa.prop, sa.count);
	case IKE_PL_KE: return ike_decode_ke(p, &ke, &why) && ike_put_ke(w, &ke);
	case IKE_PL_IDI: case IKE_PL_IDR:
		return ike_decode_id(p, &id, &why) && ike_put_id(w, p->type, &id);
	case IKE_PL_AUTH: return ike_decode_auth(p, &auth, &why) && ike_put_auth(w, &auth);
	case IKE_PL_NONCE: return ike_decode_nonce(p, &d, &why) && ike_put_nonce(w, d.data, d.len);
	case IKE_PL_NOTIFY: return ike_decode_notify(p, &n, &why) && ike_put_notify(w, &n);
	case IKE_PL_DELETE: return ike_decode_delete(p, &del, &why) && ike_put_delete(w, &del);
	case IKE_PL_VENDOR: return ike_decode_vendor(p, &d, &why) && ike_put_vendor(w, d.data, d.len);
	case IKE_PL_TSI: case IKE_PL_TSR:
		return ike_decode_ts(p, &ts, &why) && ike_put_ts(w, p->type, &ts);
	case IKE_PL_CERT: case IKE_PL_CERTREQ:
		return ike_decode_cert(p, &cert, &why) && ike_put_cert(w, p->type, &cert);
	case IKE_PL_CP: return ike_decode_cp(p, &cp, &why) && ike_put_cp(w, &cp);
	case IKE_PL_EAP: return ike_decode_eap(p, &d, &why) && ike_put_eap(w, d.data, d.len);
	case IKE_PL_SK: return ike_decode_sk(p, &sk, &why) && ike_put_sk(w, sk.next, sk.data, sk.len);
	case IKE_PL_SKF: return ike_decode_skf(p, &skf, &why) && ike_put_skf(w, &skf);
	default: return false;
	}
}

/* Decodes msg, encodes what it decoded, and checks the result is msg. */
static void assert_round_trip(const uint8_t *msg, size_t len)
{
	struct ike_message m;
	const char *why = NULL;
	uint8_t out[BUFSZ];
	struct ike_writer w;

	seed("msg", -1, msg, len);
	assert_int_equal(ike_decode(msg, len, &m, &why), IKE_DECODE_OK);
	assert_int_equal(m.skipped, 0);
	ike_writer_init(&w, out, sizeof(out));
	ike_put_header(&w, &m.hdr);
	for (size_t i = 0; i < m.count; i++)
		assert_true(reput(&w, &m.payload[i]));
	assert_true(ike_finish(&w));
	assert_int_equal(w.len, len);
	assert_memory_equal(out, msg, len);
}

static void assert_inner_round_trip(const uint8_t *chain, size_t len, uint8_t first)
{
	struct ike_message m;
	uint8_t out[BUFSZ];
	struct ike_writer w;

	seed("chain", first, chain, len);
	assert_int_equal(ike_decode_inner(chain, len, first, &m, NULL), IKE_DECODE_OK);
	ike_writer_init(&w, out, sizeof(out));
	for (size_t i = 0; i < m.count; i++)
		assert_true(reput(&w, &m.payload[i]));
	assert_true(ike_finish(&w));
	assert_int_equal(w.first, first);
	assert_int_equal(w.len, len);
	assert_memory_equal(out, chain, len);
}

/* A payload as bytes, for messages the writer would refuse to make. */
struct raw {
	uint8_t type;
	const void *body;
	size_t len;
	bool critical;
	uint8_t next;                     /* for SK/SKF: the inner type */
};

static size_t raw_chain(uint8_t *out, const struct raw *pl, size_t n)
{
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		size_t plen = 4 + pl[i].len;
		out[off] = pl[i].next ? pl[i].next : i + 1 < n ? pl[i + 1].type : 0;
		out[off + 1] = pl[i].critical ? 0x80 : 0;
		out[off + 2] = (uint8_t)(plen >> 8);
		out[off + 3] = (uint8_t)plen;
		if (pl[i].len)
			memcpy(out + off + 4, pl[i].body, pl[i].len);
		off += plen;
	}
	return off;
}

/* An IKE_SA_INIT request holding the payloads pl. */
static size_t raw_message(uint8_t *out, const struct raw *pl, size_t n)
{
	struct ike_writer w;
	ike_writer_init(&w, out, IKE_HEADER_LEN);
	ike_put_header(&w, &sa_init_header);
	assert_false(w.err);
	size_t len = IKE_HEADER_LEN + raw_chain(out + IKE_HEADER_LEN, pl, n);
	out[16] = n ? pl[0].type : 0;
	out[24] = (uint8_t)(len >> 24);
	out[25] = (uint8_t)(len >> 16);
	out[26] = (uint8_t)(len >> 8);
	out[27] = (uint8_t)len;
	return len;
}

/* A message with one payload of this body is refused as INVALID_SYNTAX,
 * the body decoder refuses it, and so does the writer. */
static void assert_bad_body(uint8_t type, const void *body, size_t len)
{
	uint8_t msg[BUFSZ], out[BUFSZ];
	struct ike_message m;
	const char *why = NULL;
	size_t n = raw_message(msg, &(struct raw){ .type = type, .body = body, .len = len }, 1);
	seed("bad", -1, msg, n);
	seed_body(type, body, len);
	assert_int_equal(ike_decode(msg, n, &m, &why), IKE_DECODE_SYNTAX);
	assert_non_null(why);
	assert_int_equal(m.bad_payload, type);

	struct ike_writer w;
	ike_writer_init(&w, out, sizeof(out));
	ike_put_header(&w, &sa_init_header);
	ike_payload_begin(&w, type, false);
	ike_put_bytes(&w, body, len);
	ike_payload_end(&w);
	assert_true(w.err);
	assert_false(ike_finish(&w));
}

/* The opposite: accepted by ike_decode, the writer, and round-tripped. */
static void assert_good_body(uint8_t type, const void *body, size_t len)
{
	uint8_t msg[BUFSZ];
	struct ike_message m;
	size_t n = raw_message(msg, &(struct raw){ .type = type, .body = body, .len = len }, 1);
	seed_body(type, body, len);
	assert_int_equal(ike_decode(msg, n, &m, NULL), IKE_DECODE_OK);
	assert_int_equal(m.count, 1);
	assert_int_equal(m.payload[0].type, type);
	assert_int_equal(m.payload[0].len, len);
	assert_round_trip(msg, n);
}

static struct ike_payload view(uint8_t type, const void *body, size_t len)
{
	return (struct ike_payload){ .type = type, .body = body, .len = len };
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* ---- A realistic IKE_SA_INIT --------------------------------------------- */

static const struct ike_transform ike_cbc[] = {
	{ .type = IKE_XF_ENCR, .id = IKE_ENCR_AES_CBC, .key_length = 128 },
	{ .type = IKE_XF_ENCR, .id = IKE_ENCR_AES_CBC, .key_length = 256 },
	{ .type = IKE_XF_INTEG, .id = IKE_INTEG_HMAC_SHA2_256_128 },
	{ .type = IKE_XF_PRF, .id = IKE_PRF_HMAC_SHA2_256 },
	{ .type = IKE_XF_DH, .id = IKE_DH_CURVE25519 },
	{ .type = IKE_XF_DH, .id = IKE_DH_ECP256 },
};
static const struct ike_transform ike_gcm[] = {
	{ .type = IKE_XF_ENCR, .id = IKE_ENCR_AES_GCM_16, .key_length = 256 },
	{ .type = IKE_XF_PRF, .id = IKE_PRF_HMAC_SHA2_384 },
	{ .type = IKE_XF_DH, .id = IKE_DH_CURVE25519 },
};
static const struct ike_proposal ike_props[] = {
	{ .num = 1, .protocol = IKE_PROTO_IKE, .count = 6, .xf = ike_cbc },
	{ .num = 2, .protocol = IKE_PROTO_IKE, .count = 3, .xf = ike_gcm },
};

static const uint8_t hash_algs[] = { 0, IKE_HASH_SHA2_256, 0, IKE_HASH_SHA2_384,
                                     0, IKE_HASH_SHA2_512, 0, IKE_HASH_IDENTITY };

static size_t build_sa_init(uint8_t *buf, size_t cap, struct ike_writer *w)
{
	uint8_t ke[32], nonce[32], natd_s[20], natd_d[20];
	fill(ke, sizeof(ke), 1);
	fill(nonce, sizeof(nonce), 2);
	fill(natd_s, sizeof(natd_s), 3);
	fill(natd_d, sizeof(natd_d), 4);
	ike_writer_init(w, buf, cap);
	ike_put_header(w, &sa_init_header);
	ike_put_sa(w, ike_props, 2);
	ike_put_ke(w, &(struct ike_ke){ .group = IKE_DH_CURVE25519, .data = ke, .len = sizeof(ke) });
	ike_put_nonce(w, nonce, sizeof(nonce));
	ike_put_notify(w, &(struct ike_notify){ .type = IKE_N_NAT_DETECTION_SOURCE_IP,
	                                        .data = natd_s, .len = 20 });
	ike_put_notify(w, &(struct ike_notify){ .type = IKE_N_NAT_DETECTION_DESTINATION_IP,
	                                        .data = natd_d, .len = 20 });
	ike_put_notify(w, &(struct ike_notify){ .type = IKE_N_IKEV2_FRAGMENTATION_SUPPORTED });
	ike_put_notify(w, &(struct ike_notify){ .type = IKE_N_SIGNATURE_HASH_ALGORITHMS,
	                                        .data = hash_algs, .len = sizeof(hash_algs) });
	return ike_finish(w) ? w->len : 0;
}

static void test_sa_init_round_trip(void **state)
{
	(void)state;
	uint8_t buf[BUFSZ];
	struct ike_writer w;
	size_t len = build_sa_init(buf, sizeof(buf), &w);
	assert_int_not_equal(len, 0);

	struct ike_message m;
	const char *why = NULL;
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_OK);
	assert_true(m.hdr.spi_i == SPI_I && m.hdr.spi_r == 0);
	assert_int_equal(m.hdr.major, 2);
	assert_int_equal(m.hdr.minor, 0);
	assert_int_equal(m.hdr.exchange, IKE_SA_INIT);
	assert_int_equal(m.hdr.flags, IKE_FLAG_INITIATOR);
	assert_int_equal(m.hdr.message_id, 0);
	assert_int_equal(m.hdr.length, len);
	assert_int_equal(m.hdr.next_payload, IKE_PL_SA);
	static const uint8_t types[] = { IKE_PL_SA, IKE_PL_KE, IKE_PL_NONCE, IKE_PL_NOTIFY,
	                                 IKE_PL_NOTIFY, IKE_PL_NOTIFY, IKE_PL_NOTIFY };
	assert_int_equal(m.count, sizeof(types));
	for (size_t i = 0; i < m.count; i++) {
		assert_int_equal(m.payload[i].type, types[i]);
		assert_false(m.payload[i].critical);
	}

	static struct ike_sa sa;
	assert_true(ike_decode_sa(ike_find(&m, IKE_PL_SA), &sa, &why));
	assert_int_equal(sa.count, 2);
	assert_int_equal(sa.prop[0].num, 1);
	assert_int_equal(sa.prop[0].count, 6);
	assert_int_equal(sa.prop[0].xf[1].id, IKE_ENCR_AES_CBC);
	assert_int_equal(sa.prop[0].xf[1].key_length, 256);
	assert_int_equal(sa.prop[0].xf[2].key_length, 0);
	assert_int_equal(sa.prop[0].xf[5].id, IKE_DH_ECP256);
	assert_int_equal(sa.prop[1].num, 2);
	assert_int_equal(sa.prop[1].protocol, IKE_PROTO_IKE);
	assert_int_equal(sa.prop[1].spi_size, 0);
	assert_int_equal(sa.prop[1].xf[0].id, IKE_ENCR_AES_GCM_16);
	assert_int_equal(sa.prop[1].xf[0].key_length, 256);
	assert_int_equal(sa.prop[1].xf[0].unknown_attrs, 0);

	struct ike_ke ke;
	assert_true(ike_decode_ke(ike_find(&m, IKE_PL_KE), &ke, &why));
	assert_int_equal(ke.group, IKE_DH_CURVE25519);
	assert_int_equal(ke.len, 32);
	struct ike_data nonce;
	assert_true(ike_decode_nonce(ike_find(&m, IKE_PL_NONCE), &nonce, &why));
	assert_int_equal(nonce.len, 32);

	struct ike_notify n;
	assert_true(ike_find_notify(&m, IKE_N_NAT_DETECTION_DESTINATION_IP, &n));
	assert_int_equal(n.len, 20);
	assert_int_equal(n.spi_size, 0);
	assert_true(ike_find_notify(&m, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, &n));
	assert_int_equal(n.len, 0);
	assert_true(ike_find_notify(&m, IKE_N_SIGNATURE_HASH_ALGORITHMS, &n));
	assert_memory_equal(n.data, hash_algs, sizeof(hash_algs));
	assert_false(ike_find_notify(&m, IKE_N_COOKIE, &n));
	assert_null(ike_find(&m, IKE_PL_AUTH));

	assert_round_trip(buf, len);
}

/* ---- IKE_AUTH's inner payloads ----------------------------------------------- */

static const uint8_t sig_alg[] = {   /* AlgorithmIdentifier ecdsa-with-SHA256 */
	0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
};

static const struct ike_transform esp_gcm[] = {
	{ .type = IKE_XF_ENCR, .id = IKE_ENCR_AES_GCM_16, .key_length = 256 },
	{ .type = IKE_XF_ESN, .id = IKE_ESN_NO },
};
static const struct ike_transform esp_cbc[] = {
	{ .type = IKE_XF_ENCR, .id = IKE_ENCR_AES_CBC, .key_length = 128 },
	{ .type = IKE_XF_INTEG, .id = IKE_INTEG_HMAC_SHA2_256_128 },
	{ .type = IKE_XF_ESN, .id = IKE_ESN_YES },
	{ .type = IKE_XF_ESN, .id = IKE_ESN_NO },
};

static void ts_v4(struct ike_ts_sel *s, uint8_t proto, const uint8_t start[4], const uint8_t end[4])
{
	memset(s, 0, sizeof(*s));
	s->type = IKE_TS_IPV4_ADDR_RANGE;
	s->protocol = proto;
	s->end_port = 65535;
	memcpy(s->start, start, 4);
	memcpy(s->end, end, 4);
}

static void ts_v6(struct ike_ts_sel *s, uint8_t last)
{
	memset(s, 0, sizeof(*s));
	s->type = IKE_TS_IPV6_ADDR_RANGE;
	s->protocol = 6;
	s->start_port = s->end_port = 443;
	memcpy(s->start, (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8 }, 4);
	memcpy(s->end, s->start, 16);
	s->start[15] = last;
	memset(s->end + 8, 0xff, 8);
}

static size_t build_auth_inner(uint8_t *buf, size_t cap, struct ike_writer *w)
{
	uint8_t auth[1 + sizeof(sig_alg) + 64];
	auth[0] = sizeof(sig_alg);
	memcpy(auth + 1, sig_alg, sizeof(sig_alg));
	fill(auth + 1 + sizeof(sig_alg), 64, 9);
	struct ike_proposal esp[2] = {
		{ .num = 1, .protocol = IKE_PROTO_ESP, .spi_size = 4, .spi = { 0xc0, 1, 2, 3 },
		  .count = 2, .xf = esp_gcm },
		{ .num = 2, .protocol = IKE_PROTO_ESP, .spi_size = 4, .spi = { 0xc0, 1, 2, 3 },
		  .count = 4, .xf = esp_cbc },
	};
	static struct ike_ts tsi, tsr;
	tsi.count = 2;
	ts_v4(&tsi.sel[0], 0, (uint8_t[]){ 192, 0, 2, 10 }, (uint8_t[]){ 192, 0, 2, 10 });
	ts_v6(&tsi.sel[1], 1);
	tsr.count = 2;
	ts_v4(&tsr.sel[0], 17, (uint8_t[]){ 198, 51, 100, 0 }, (uint8_t[]){ 198, 51, 100, 255 });
	ts_v6(&tsr.sel[1], 2);

	ike_writer_init(w, buf, cap);
	ike_put_id(w, IKE_PL_IDI, &(struct ike_id){ .type = IKE_ID_FQDN,
	                                            .data = (const uint8_t *)"client.example.com",
	                                            .len = 18 });
	ike_put_notify(w, &(struct ike_notify){ .type = IKE_N_INITIAL_CONTACT });
	ike_put_auth(w, &(struct ike_auth){ .method = IKE_AUTH_DIGITAL_SIGNATURE, .data = auth,
	                                    .len = sizeof(auth) });
	ike_put_notify(w, &(struct ike_notify){ .type = IKE_N_USE_TRANSPORT_MODE });
	ike_put_sa(w, esp, 2);
	ike_put_ts(w, IKE_PL_TSI, &tsi);
	ike_put_ts(w, IKE_PL_TSR, &tsr);
	return ike_finish(w) ? w->len : 0;
}

static void test_auth_inner_round_trip(void **state)
{
	(void)state;
	uint8_t buf[BUFSZ];
	struct ike_writer w;
	size_t len = build_auth_inner(buf, sizeof(buf), &w);
	assert_int_not_equal(len, 0);
	assert_int_equal(w.first, IKE_PL_IDI);

	struct ike_message m;
	const char *why = NULL;
	assert_int_equal(ike_decode_inner(buf, len, IKE_PL_IDI, &m, &why), IKE_DECODE_OK);
	assert_int_equal(m.count, 7);

	struct ike_id id;
	const struct ike_payload *idp = ike_find(&m, IKE_PL_IDI);
	assert_true(ike_decode_id(idp, &id, &why));
	assert_int_equal(id.type, IKE_ID_FQDN);
	assert_memory_equal(id.data, "client.example.com", 18);
	assert_int_equal(idp->len, 4 + 18);          /* RestOfInitIDPayload */

	struct ike_auth a;
	assert_true(ike_decode_auth(ike_find(&m, IKE_PL_AUTH), &a, &why));
	assert_int_equal(a.method, IKE_AUTH_DIGITAL_SIGNATURE);
	assert_int_equal(a.alg_len, sizeof(sig_alg));
	assert_memory_equal(a.alg, sig_alg, sizeof(sig_alg));
	assert_int_equal(a.sig_len, 64);
	assert_int_equal(a.len, 1 + sizeof(sig_alg) + 64);

	static struct ike_sa sa;
	assert_true(ike_decode_sa(ike_find(&m, IKE_PL_SA), &sa, &why));
	assert_int_equal(sa.count, 2);
	assert_int_equal(sa.prop[0].protocol, IKE_PROTO_ESP);
	assert_int_equal(sa.prop[0].spi_size, 4);
	assert_memory_equal(sa.prop[0].spi, ((uint8_t[]){ 0xc0, 1, 2, 3 }), 4);
	assert_int_equal(sa.prop[1].count, 4);
	assert_int_equal(sa.prop[1].xf[2].type, IKE_XF_ESN);
	assert_int_equal(sa.prop[1].xf[2].id, IKE_ESN_YES);

	static struct ike_ts ts;
	assert_true(ike_decode_ts(ike_find(&m, IKE_PL_TSR), &ts, &why));
	assert_int_equal(ts.count, 2);
	assert_int_equal(ts.sel[0].type, IKE_TS_IPV4_ADDR_RANGE);
	assert_int_equal(ts.sel[0].protocol, 17);
	assert_int_equal(ts.sel[0].start_port, 0);
	assert_int_equal(ts.sel[0].end_port, 65535);
	assert_memory_equal(ts.sel[0].end, ((uint8_t[]){ 198, 51, 100, 255 }), 4);
	assert_int_equal(ts.sel[1].type, IKE_TS_IPV6_ADDR_RANGE);
	assert_int_equal(ts.sel[1].start_port, 443);
	assert_int_equal(ts.sel[1].start[15], 2);
	assert_int_equal(ts.sel[1].end[15], 0xff);

	struct ike_notify n;
	assert_true(ike_find_notify(&m, IKE_N_USE_TRANSPORT_MODE, &n));
	assert_true(ike_find_notify(&m, IKE_N_INITIAL_CONTACT, &n));

	assert_inner_round_trip(buf, len, IKE_PL_IDI);
}

/* The inner chain as the body of an SK payload of an IKE_AUTH request (no
 * encryption here: the codec does not look inside). */
static size_t build_auth_message(uint8_t *buf, size_t cap, const uint8_t *inner, size_t ilen)
{
	struct ike_writer w;
	ike_writer_init(&w, buf, cap);
	ike_put_header(&w, &(struct ike_header){ .spi_i = SPI_I, .spi_r = SPI_R, .major = 2,
	                                         .exchange = IKE_AUTH, .flags = IKE_FLAG_INITIATOR,
	                                         .message_id = 1 });
	uint8_t *body = ike_put_sk(&w, IKE_PL_IDI, inner, ilen);
	assert_non_null(body);
	assert_memory_equal(body, inner, ilen);
	return ike_finish(&w) ? w.len : 0;
}

static void test_auth_message(void **state)
{
	(void)state;
	uint8_t inner[BUFSZ], buf[BUFSZ];
	struct ike_writer w;
	size_t ilen = build_auth_inner(inner, sizeof(inner), &w);
	size_t len = build_auth_message(buf, sizeof(buf), inner, ilen);
	assert_int_equal(len, IKE_HEADER_LEN + 4 + ilen);

	struct ike_message m;
	assert_int_equal(ike_decode(buf, len, &m, NULL), IKE_DECODE_OK);
	assert_int_equal(m.hdr.exchange, IKE_AUTH);
	assert_int_equal(m.hdr.message_id, 1);
	assert_true(m.hdr.spi_r == SPI_R);
	assert_int_equal(m.count, 1);
	struct ike_sk sk;
	assert_true(ike_decode_sk(&m.payload[0], &sk, NULL));
	assert_int_equal(sk.next, IKE_PL_IDI);
	assert_int_equal(sk.len, ilen);
	assert_ptr_equal(m.payload[0].body, buf + IKE_HEADER_LEN + 4);
	assert_round_trip(buf, len);

	struct ike_message in;
	assert_int_equal(ike_decode_inner(sk.data, sk.len, sk.next, &in, NULL), IKE_DECODE_OK);
	assert_int_equal(in.count, 7);
}

/* An empty INFORMATIONAL (liveness check): SK with no inner payload. */
static void test_empty_informational(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct ike_writer w;
	ike_writer_init(&w, buf, sizeof(buf));
	ike_put_header(&w, &(struct ike_header){ .spi_i = SPI_I, .spi_r = SPI_R, .major = 2,
	                                         .exchange = IKE_INFORMATIONAL,
	                                         .flags = IKE_FLAG_RESPONSE, .message_id = 7 });
	uint8_t *body = ike_put_sk(&w, IKE_PL_NONE, NULL, 32);
	assert_non_null(body);
	memset(body, 0xaa, 32);                       /* the crypto layer fills it in place */
	assert_true(ike_finish(&w));

	struct ike_message m;
	assert_int_equal(ike_decode(buf, w.len, &m, NULL), IKE_DECODE_OK);
	assert_int_equal(m.hdr.flags, IKE_FLAG_RESPONSE);
	assert_int_equal(m.payload[0].next, IKE_PL_NONE);
	assert_int_equal(ike_decode_inner(buf, 0, IKE_PL_NONE, &m, NULL), IKE_DECODE_OK);
	assert_int_equal(m.count, 0);

	struct ike_writer iw;                          /* an empty inner chain is fine too */
	ike_writer_init(&iw, buf, sizeof(buf));
	assert_true(ike_finish(&iw));
	assert_int_equal(iw.len, 0);
	assert_int_equal(iw.first, IKE_PL_NONE);
}

/* ---- strongSwan --------------------------------------------------------------- */

static void check_strongswan_tail(const struct ike_message *m, uint16_t group, size_t ke_len)
{
	static const uint8_t types[] = { IKE_PL_SA, IKE_PL_KE, IKE_PL_NONCE, IKE_PL_NOTIFY,
	                                 IKE_PL_NOTIFY, IKE_PL_NOTIFY, IKE_PL_NOTIFY, IKE_PL_NOTIFY };
	assert_int_equal(m->count, sizeof(types));
	for (size_t i = 0; i < m->count; i++)
		assert_int_equal(m->payload[i].type, types[i]);
	assert_int_equal(m->hdr.exchange, IKE_SA_INIT);
	assert_int_equal(m->hdr.flags, IKE_FLAG_INITIATOR);
	assert_true(m->hdr.spi_r == 0);

	struct ike_ke ke;
	assert_true(ike_decode_ke(ike_find(m, IKE_PL_KE), &ke, NULL));
	assert_int_equal(ke.group, group);
	assert_int_equal(ke.len, ke_len);
	struct ike_data nonce;
	assert_true(ike_decode_nonce(ike_find(m, IKE_PL_NONCE), &nonce, NULL));
	assert_int_equal(nonce.len, 32);
	struct ike_notify n;
	assert_true(ike_find_notify(m, IKE_N_NAT_DETECTION_SOURCE_IP, &n));
	assert_true(ike_find_notify(m, IKE_N_NAT_DETECTION_DESTINATION_IP, &n));
	assert_true(ike_find_notify(m, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, &n));
	assert_true(ike_find_notify(m, IKE_N_REDIRECT_SUPPORTED, &n));
	assert_true(ike_find_notify(m, IKE_N_SIGNATURE_HASH_ALGORITHMS, &n));
	assert_int_equal(n.len, 8);
	assert_memory_equal(n.data, ((uint8_t[]){ 0, 2, 0, 3, 0, 4, 0, 5 }), 8);
}

static void test_strongswan_default(void **state)
{
	(void)state;
	struct ike_message m;
	const char *why = NULL;
	assert_int_equal(ike_decode(strongswan_default, sizeof(strongswan_default), &m, &why),
	                 IKE_DECODE_OK);
	check_strongswan_tail(&m, IKE_DH_CURVE25519, 32);

	/* Proposal 1: AES-CBC/CTR/CAMELLIA..., integrity, PRF, DH; 2: AEAD. */
	static struct ike_sa sa;
	assert_true(ike_decode_sa(ike_find(&m, IKE_PL_SA), &sa, &why));
	assert_int_equal(sa.count, 2);
	assert_int_equal(sa.prop[0].count, 38);
	assert_int_equal(sa.prop[1].count, 38);
	assert_int_equal(sa.prop[0].xf[0].type, IKE_XF_ENCR);
	assert_int_equal(sa.prop[0].xf[0].id, IKE_ENCR_AES_CBC);
	assert_int_equal(sa.prop[0].xf[0].key_length, 128);
	assert_int_equal(sa.prop[1].xf[3].id, IKE_ENCR_AES_GCM_16);
	assert_int_equal(sa.prop[1].xf[3].key_length, 128);
	assert_int_equal(sa.prop[1].xf[6].id, IKE_ENCR_CHACHA20_POLY1305);
	assert_int_equal(sa.prop[1].xf[6].key_length, 0);
	size_t dh = 0, integ = 0;
	for (size_t i = 0; i < sa.prop[0].count; i++) {
		dh += sa.prop[0].xf[i].type == IKE_XF_DH;
		integ += sa.prop[0].xf[i].type == IKE_XF_INTEG;
	}
	assert_int_equal(dh, 13);
	assert_int_equal(integ, 6);
	assert_int_equal(sa.prop[0].xf[37].id, IKE_DH_MODP2048);
	assert_round_trip(strongswan_default, sizeof(strongswan_default));
}

static void test_strongswan_custom(void **state)
{
	(void)state;
	struct ike_message m;
	assert_int_equal(ike_decode(strongswan_custom, sizeof(strongswan_custom), &m, NULL),
	                 IKE_DECODE_OK);
	check_strongswan_tail(&m, IKE_DH_ECP384, 96);
	static struct ike_sa sa;
	assert_true(ike_decode_sa(ike_find(&m, IKE_PL_SA), &sa, NULL));
	assert_int_equal(sa.count, 1);
	static const uint8_t type[] = { IKE_XF_ENCR, IKE_XF_INTEG, IKE_XF_PRF, IKE_XF_DH, IKE_XF_DH };
	static const uint16_t id[] = { IKE_ENCR_AES_CBC, IKE_INTEG_HMAC_SHA2_384_192,
	                               IKE_PRF_HMAC_SHA2_384, IKE_DH_ECP384, IKE_DH_MODP2048 };
	assert_int_equal(sa.prop[0].count, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(sa.prop[0].xf[i].type, type[i]);
		assert_int_equal(sa.prop[0].xf[i].id, id[i]);
	}
	assert_int_equal(sa.prop[0].xf[0].key_length, 256);
	assert_round_trip(strongswan_custom, sizeof(strongswan_custom));
}

/* ---- Truncation ----------------------------------------------------------------- */

/* Every prefix, in a buffer of exactly its size (ASan sees any overread);
 * for a message, both with the header's length left as it was and set to
 * the prefix's, so that the payload chain itself is what is cut. */
static void assert_truncations_refused(const uint8_t *msg, size_t len)
{
	struct ike_message m;
	for (size_t n = 0; n < len; n++) {
		uint8_t *p = malloc(n ? n : 1);
		assert_non_null(p);
		memcpy(p, msg, n);
		assert_int_not_equal(ike_decode(p, n, &m, NULL), IKE_DECODE_OK);
		if (n >= IKE_HEADER_LEN) {
			p[24] = (uint8_t)(n >> 24);
			p[25] = (uint8_t)(n >> 16);
			p[26] = (uint8_t)(n >> 8);
			p[27] = (uint8_t)n;
			assert_int_equal(ike_decode(p, n, &m, NULL), IKE_DECODE_SYNTAX);
		}
		free(p);
	}
}

static void test_truncations(void **state)
{
	(void)state;
	uint8_t buf[BUFSZ], inner[BUFSZ];
	struct ike_writer w;
	size_t len = build_sa_init(buf, sizeof(buf), &w);
	assert_truncations_refused(buf, len);
	assert_truncations_refused(strongswan_default, sizeof(strongswan_default));
	assert_truncations_refused(strongswan_custom, sizeof(strongswan_custom));
	size_t ilen = build_auth_inner(inner, sizeof(inner), &w);
	len = build_auth_message(buf, sizeof(buf), inner, ilen);
	assert_truncations_refused(buf, len);

	struct ike_message m;
	for (size_t n = 0; n < ilen; n++) {
		uint8_t *p = malloc(n ? n : 1);
		assert_non_null(p);
		memcpy(p, inner, n);
		assert_int_equal(ike_decode_inner(p, n, IKE_PL_IDI, &m, NULL), IKE_DECODE_SYNTAX);
		free(p);
	}
}

/* ---- The header ------------------------------------------------------------------ */

static void test_header(void **state)
{
	(void)state;
	uint8_t buf[BUFSZ];
	struct ike_writer w;
	struct ike_message m;
	const char *why = NULL;
	size_t len = build_sa_init(buf, sizeof(buf), &w);

	/* The length field: one more or less than the datagram. */
	assert_int_equal(ike_decode(buf, len - 1, &m, &why), IKE_DECODE_SYNTAX);
	buf[27]++;
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_SYNTAX);
	buf[27] -= 2;
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_SYNTAX);
	buf[27]++;
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_OK);
	/* A message of only a header, with a length field below 28. */
	uint8_t hdr[IKE_HEADER_LEN];
	memcpy(hdr, buf, sizeof(hdr));
	hdr[16] = 0;
	memcpy(hdr + 24, (uint8_t[]){ 0, 0, 0, 28 }, 4);
	assert_int_equal(ike_decode(hdr, sizeof(hdr), &m, &why), IKE_DECODE_OK);
	assert_int_equal(m.count, 0);
	hdr[27] = 27;
	assert_int_equal(ike_decode(hdr, sizeof(hdr), &m, &why), IKE_DECODE_SYNTAX);
	assert_int_equal(ike_decode(hdr, 27, &m, &why), IKE_DECODE_SYNTAX);

	/* Versions: major 3 and 1 are answered INVALID_MAJOR_VERSION; minor ignored. */
	buf[17] = 0x30;
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_VERSION);
	buf[17] = 0x10;
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_VERSION);
	buf[17] = 0x21;
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_OK);
	assert_int_equal(m.hdr.minor, 1);
	buf[17] = 0x20;

	/* Reserved flag bits are ignored on receipt (RFC 7296 §3.1), and the
	 * writer clears them. */
	buf[19] = 0xff;
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_OK);
	assert_int_equal(m.hdr.flags, IKE_FLAGS_KNOWN);
	buf[19] = IKE_FLAG_INITIATOR;

	/* A zero initiator SPI. */
	memset(buf, 0, 8);
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_SYNTAX);
}

/* ---- The payload chain -------------------------------------------------------------- */

static const uint8_t nonce16[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static void test_payload_lengths(void **state)
{
	(void)state;
	uint8_t buf[BUFSZ];
	struct ike_writer w;
	struct ike_message m;
	const char *why = NULL;
	size_t len = build_sa_init(buf, sizeof(buf), &w);
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_OK);
	size_t at = (size_t)(ike_find(&m, IKE_PL_NONCE)->body - 4 - buf);
	size_t plen = 4 + 32;

	/* Below 4, 0, and one beyond the message (from the last payload). */
	for (unsigned bad = 0; bad < 4; bad++) {
		buf[at + 2] = 0;
		buf[at + 3] = (uint8_t)bad;
		assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_SYNTAX);
		assert_int_equal(m.bad_payload, IKE_PL_NONCE);
	}
	/* One short or long: the chain no longer lines up. */
	buf[at + 3] = (uint8_t)(plen - 1);
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_SYNTAX);
	buf[at + 3] = (uint8_t)(plen + 1);
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_SYNTAX);
	buf[at + 3] = (uint8_t)plen;
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_OK);

	const struct ike_payload *last = &m.payload[m.count - 1];
	size_t lat = (size_t)(last->body - 4 - buf);
	buf[lat + 3]++;
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_SYNTAX);
	buf[lat + 2] = 0xff;
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_SYNTAX);

	/* The last payload says another follows, but the message ends. */
	len = build_sa_init(buf, sizeof(buf), &w);
	buf[lat] = IKE_PL_VENDOR;
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_SYNTAX);
	/* Bytes after the last payload. */
	len = build_sa_init(buf, sizeof(buf), &w);
	memset(buf + len, 0, 4);
	buf[27] += 4;
	assert_int_equal(ike_decode(buf, len + 4, &m, &why), IKE_DECODE_SYNTAX);
}

static void test_sk_last(void **state)
{
	(void)state;
	uint8_t buf[BUFSZ], body[48] = { 0 };
	struct ike_message m;
	const char *why = NULL;
	const uint8_t n[4] = { 0, 0, 0x40, 0x00 };  /* INITIAL_CONTACT */

	/* A Notify after SK. */
	struct raw after[] = {
		{ .type = IKE_PL_SK, .body = body, .len = sizeof(body), .next = IKE_PL_IDI },
		{ .type = IKE_PL_NOTIFY, .body = n, .len = 4 },
	};
	size_t len = raw_message(buf, after, 2);
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_SYNTAX);
	assert_int_equal(m.bad_payload, IKE_PL_SK);
	/* ... and the same Notify before SK is fine. */
	struct raw before[] = {
		{ .type = IKE_PL_NOTIFY, .body = n, .len = 4 },
		{ .type = IKE_PL_SK, .body = body, .len = sizeof(body), .next = IKE_PL_IDI },
	};
	len = raw_message(buf, before, 2);
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_OK);
	assert_int_equal(m.count, 2);
	assert_round_trip(buf, len);
	/* SK then SKF. */
	struct raw both[] = {
		{ .type = IKE_PL_SK, .body = body, .len = sizeof(body), .next = IKE_PL_IDI },
		{ .type = IKE_PL_SKF, .body = body, .len = sizeof(body) },
	};
	len = raw_message(buf, both, 2);
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_SYNTAX);

	/* No SK inside SK. */
	size_t clen = raw_chain(buf, before, 2);
	assert_int_equal(ike_decode_inner(buf, clen, IKE_PL_NOTIFY, &m, &why), IKE_DECODE_SYNTAX);

	/* The writer: nothing after SK. */
	struct ike_writer w;
	ike_writer_init(&w, buf, sizeof(buf));
	ike_put_header(&w, &sa_init_header);
	assert_non_null(ike_put_sk(&w, IKE_PL_IDI, body, sizeof(body)));
	assert_false(ike_put_nonce(&w, nonce16, 16));
	assert_false(ike_finish(&w));
}

static uint8_t sa_body_buf[BUFSZ];

/* The body of an SA payload of these proposals, as the writer makes it. */
static size_t sa_body(const struct ike_proposal *p, size_t n, const uint8_t **body)
{
	struct ike_writer w;
	ike_writer_init(&w, sa_body_buf, sizeof(sa_body_buf));
	assert_true(ike_put_sa(&w, p, n));
	assert_true(ike_finish(&w));
	*body = sa_body_buf + 4;
	return w.len - 4;
}

static void test_repeated(void **state)
{
	(void)state;
	uint8_t buf[BUFSZ];
	struct ike_message m;
	const char *why = NULL;
	const uint8_t *sa;
	size_t salen = sa_body(ike_props, 2, &sa);
	uint8_t sa_copy[BUFSZ];
	memcpy(sa_copy, sa, salen);
	const uint8_t ke[8] = { 0, 31, 0, 0, 1, 2, 3, 4 };
	const uint8_t id[8] = { IKE_ID_IPV4_ADDR, 0, 0, 0, 192, 0, 2, 1 };
	const uint8_t auth[8] = { IKE_AUTH_PSK, 0, 0, 0, 1, 2, 3, 4 };
	const uint8_t ts[20] = { 1, 0, 0, 0, 7, 0, 0, 16, 0, 0, 255, 255, 10, 0, 0, 0, 10, 0, 0, 255 };
	const uint8_t n[4] = { 0, 0, 0x40, 0x00 };
	const struct raw once[] = {
		{ .type = IKE_PL_SA, .body = sa_copy, .len = salen },
		{ .type = IKE_PL_KE, .body = ke, .len = sizeof(ke) },
		{ .type = IKE_PL_IDI, .body = id, .len = sizeof(id) },
		{ .type = IKE_PL_IDR, .body = id, .len = sizeof(id) },
		{ .type = IKE_PL_AUTH, .body = auth, .len = sizeof(auth) },
		{ .type = IKE_PL_NONCE, .body = nonce16, .len = sizeof(nonce16) },
		{ .type = IKE_PL_TSI, .body = ts, .len = sizeof(ts) },
		{ .type = IKE_PL_TSR, .body = ts, .len = sizeof(ts) },
	};
	for (size_t i = 0; i < sizeof(once) / sizeof(once[0]); i++) {
		struct raw two[3] = { once[i], { .type = IKE_PL_NOTIFY, .body = n, .len = 4 }, once[i] };
		size_t len = raw_message(buf, two, 2);
		assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_OK);
		len = raw_message(buf, two, 3);
		assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_SYNTAX);
		assert_int_equal(m.bad_payload, once[i].type);
	}
	/* Notify, Vendor ID, CERT, CERTREQ may repeat. */
	struct raw many[] = {
		{ .type = IKE_PL_NOTIFY, .body = n, .len = 4 },
		{ .type = IKE_PL_VENDOR, .body = "x", .len = 1 },
		{ .type = IKE_PL_NOTIFY, .body = n, .len = 4 },
		{ .type = IKE_PL_VENDOR, .body = "y", .len = 1 },
		{ .type = IKE_PL_CERTREQ, .body = "\x04", .len = 1 },
		{ .type = IKE_PL_CERTREQ, .body = "\x04", .len = 1 },
	};
	size_t len = raw_message(buf, many, 6);
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_OK);
	assert_round_trip(buf, len);

	/* The writer: SA twice. */
	struct ike_writer w;
	ike_writer_init(&w, buf, sizeof(buf));
	ike_put_header(&w, &sa_init_header);
	assert_true(ike_put_sa(&w, ike_props, 2));
	assert_true(ike_put_sa(&w, ike_props, 2));
	assert_false(ike_finish(&w));
	assert_non_null(w.why);
}

static void test_too_many_payloads(void **state)
{
	(void)state;
	uint8_t buf[BUFSZ];
	struct ike_message m;
	struct raw pl[IKE_MAX_PAYLOADS + 1];
	for (size_t i = 0; i < IKE_MAX_PAYLOADS + 1; i++)
		pl[i] = (struct raw){ .type = IKE_PL_VENDOR, .body = "v", .len = 1 };
	size_t len = raw_message(buf, pl, IKE_MAX_PAYLOADS);
	assert_int_equal(ike_decode(buf, len, &m, NULL), IKE_DECODE_OK);
	assert_int_equal(m.count, IKE_MAX_PAYLOADS);
	len = raw_message(buf, pl, IKE_MAX_PAYLOADS + 1);
	assert_int_equal(ike_decode(buf, len, &m, NULL), IKE_DECODE_SYNTAX);
	/* Unknown ones count too: a chain of them cannot keep us walking. */
	for (size_t i = 0; i < IKE_MAX_PAYLOADS + 1; i++)
		pl[i].type = 200;
	len = raw_message(buf, pl, IKE_MAX_PAYLOADS + 1);
	assert_int_equal(ike_decode(buf, len, &m, NULL), IKE_DECODE_SYNTAX);

	struct ike_writer w;
	ike_writer_init(&w, buf, sizeof(buf));
	ike_put_header(&w, &sa_init_header);
	for (size_t i = 0; i < IKE_MAX_PAYLOADS + 1; i++)
		assert_true(ike_put_vendor(&w, (const uint8_t *)"v", 1));
	assert_false(ike_finish(&w));
}

static void test_unknown_payloads(void **state)
{
	(void)state;
	uint8_t buf[BUFSZ];
	struct ike_message m;
	const char *why = NULL;
	const uint8_t junk[5] = { 0xde, 0xad, 0xbe, 0xef, 0x00 };

	/* Not critical: skipped, the chain goes on through it. */
	struct raw skip[] = {
		{ .type = 200, .body = junk, .len = sizeof(junk) },
		{ .type = IKE_PL_NONCE, .body = nonce16, .len = 16 },
		{ .type = 49, .body = junk, .len = 0 },
	};
	size_t len = raw_message(buf, skip, 3);
	seed("msg", -1, buf, len);
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_OK);
	assert_int_equal(m.count, 1);
	assert_int_equal(m.skipped, 2);
	assert_int_equal(m.payload[0].type, IKE_PL_NONCE);

	/* Critical: refused, and which one is said. */
	skip[2].critical = true;
	len = raw_message(buf, skip, 3);
	seed("msg", -1, buf, len);
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_CRITICAL);
	assert_int_equal(m.bad_payload, 49);
	assert_int_equal(IKE_DECODE_CRITICAL, IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD);
	/* ... also inside SK. */
	len = raw_chain(buf, skip, 3);
	assert_int_equal(ike_decode_inner(buf, len, 200, &m, &why), IKE_DECODE_CRITICAL);
	assert_int_equal(m.bad_payload, 49);
	/* A malformed message is malformed first. */
	skip[1].len = 15;
	len = raw_message(buf, skip, 3);
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_SYNTAX);
	assert_int_equal(m.bad_payload, IKE_PL_NONCE);

	/* The critical bit of a known payload changes nothing. */
	struct raw crit = { .type = IKE_PL_NONCE, .body = nonce16, .len = 16, .critical = true };
	len = raw_message(buf, &crit, 1);
	assert_int_equal(ike_decode(buf, len, &m, &why), IKE_DECODE_OK);
	assert_true(m.payload[0].critical);

	/* The writer may send what the decoder does not know. */
	struct ike_writer w;
	ike_writer_init(&w, buf, sizeof(buf));
	ike_put_header(&w, &sa_init_header);
	ike_payload_begin(&w, 200, true);
	ike_put_bytes(&w, junk, sizeof(junk));
	ike_payload_end(&w);
	assert_true(ike_finish(&w));
	assert_int_equal(ike_decode(buf, w.len, &m, &why), IKE_DECODE_CRITICAL);
	assert_int_equal(m.bad_payload, 200);
}

/* ---- SA ----------------------------------------------------------------------------- */

/* Offsets in an SA body: proposal i's start. */
static size_t proposal_at(const uint8_t *body, size_t i)
{
	size_t off = 0;
	while (i--)
		off += (size_t)body[off + 2] << 8 | body[off + 3];
	return off;
}

static void test_sa_numbering(void **state)
{
	(void)state;
	const uint8_t *sa;
	uint8_t b[BUFSZ];
	size_t len = sa_body(ike_props, 2, &sa);
	size_t p2 = proposal_at(sa, 1);

	memcpy(b, sa, len);
	assert_good_body(IKE_PL_SA, b, len);
	b[p2 + 4] = 3;                                /* 1, 3 */
	assert_bad_body(IKE_PL_SA, b, len);
	b[p2 + 4] = 1;                                /* 1, 1 */
	assert_bad_body(IKE_PL_SA, b, len);
	b[4] = 2;
	b[p2 + 4] = 3;                                /* 2, 3 */
	assert_bad_body(IKE_PL_SA, b, len);

	/* One proposal: an answer, which keeps the number of the one it chose. */
	struct ike_proposal one = ike_props[1];
	len = sa_body(&one, 1, &sa);
	memcpy(b, sa, len);
	assert_int_equal(b[4], 2);
	assert_good_body(IKE_PL_SA, b, len);
	b[4] = 0;
	assert_bad_body(IKE_PL_SA, b, len);

	/* The writer checks the numbers it is given. */
	struct ike_proposal bad[2] = { ike_props[0], ike_props[1] };
	bad[1].num = 5;
	struct ike_writer w;
	ike_writer_init(&w, b, sizeof(b));
	assert_false(ike_put_sa(&w, bad, 2));
	ike_writer_init(&w, b, sizeof(b));
	assert_false(ike_put_sa(&w, bad, 0));         /* and refuses an SA without proposals */
}

static void test_sa_lengths(void **state)
{
	(void)state;
	const uint8_t *sa;
	uint8_t b[BUFSZ];
	size_t len = sa_body(ike_props, 2, &sa);
	size_t p2 = proposal_at(sa, 1);
	size_t x1 = 8;                                /* proposal 1's first transform (no SPI) */

	/* Transform length: short (8 would leave its Key Length behind), long. */
	for (int d = -4; d <= 4; d++) {
		if (d == 0)
			continue;
		memcpy(b, sa, len);
		b[x1 + 3] = (uint8_t)(b[x1 + 3] + d);
		assert_bad_body(IKE_PL_SA, b, len);
	}
	/* Number of transforms one more, one less. */
	memcpy(b, sa, len);
	b[7]++;
	assert_bad_body(IKE_PL_SA, b, len);
	b[7] -= 2;
	assert_bad_body(IKE_PL_SA, b, len);
	b[7] = 0;
	assert_bad_body(IKE_PL_SA, b, len);
	/* Proposal length one off either way, and below 8. */
	memcpy(b, sa, len);
	b[3]++;
	assert_bad_body(IKE_PL_SA, b, len);
	b[3] -= 2;
	assert_bad_body(IKE_PL_SA, b, len);
	b[2] = 0;
	b[3] = 7;
	assert_bad_body(IKE_PL_SA, b, len);
	/* Last Substruc: proposal 1 says last, proposal 2 says more. */
	memcpy(b, sa, len);
	b[0] = 0;
	assert_bad_body(IKE_PL_SA, b, len);
	memcpy(b, sa, len);
	b[p2] = 2;
	assert_bad_body(IKE_PL_SA, b, len);
	/* Transform Last Substruc: the first says last, the last says more. */
	memcpy(b, sa, len);
	b[x1] = 0;
	assert_bad_body(IKE_PL_SA, b, len);
	memcpy(b, sa, len);
	b[p2 - 8] = 3;                                /* proposal 1's last transform: DH, 8 bytes */
	assert_bad_body(IKE_PL_SA, b, len);
	/* SPI size 3, or 8 with no room left for it. */
	memcpy(b, sa, len);
	b[6] = 3;
	assert_bad_body(IKE_PL_SA, b, len);
	static const uint8_t no_spi[] = { 0, 0, 0, 8, 1, IKE_PROTO_IKE, 8, 1 };
	assert_bad_body(IKE_PL_SA, no_spi, sizeof(no_spi));
	/* An SA without proposals, and a truncated proposal. */
	assert_bad_body(IKE_PL_SA, b, 0);
	assert_bad_body(IKE_PL_SA, sa, 7);
}

static void test_sa_attributes(void **state)
{
	(void)state;
	static const uint8_t kl_unknown[] = { 0x80, 0x0e, 0x00, 0x80, 0x80, 0x63, 0x00, 0x01,
	                                      0x00, 0x64, 0x00, 0x02, 0xab, 0xcd };
	const struct ike_transform xf[] = {
		{ .type = IKE_XF_ENCR, .id = IKE_ENCR_AES_CBC, .attrs = kl_unknown,
		  .attrs_len = sizeof(kl_unknown) },
		{ .type = 99, .id = 7 },                  /* unknown type: kept */
		{ .type = IKE_XF_PRF, .id = 4242 },       /* unknown id: kept */
	};
	const struct ike_proposal p = { .num = 1, .protocol = IKE_PROTO_IKE, .count = 3, .xf = xf };
	const uint8_t *body;
	size_t len = sa_body(&p, 1, &body);
	assert_good_body(IKE_PL_SA, body, len);

	static struct ike_sa sa;
	struct ike_payload v = view(IKE_PL_SA, body, len);
	assert_true(ike_decode_sa(&v, &sa, NULL));
	assert_int_equal(sa.prop[0].xf[0].key_length, 128);
	assert_int_equal(sa.prop[0].xf[0].unknown_attrs, 2);
	assert_int_equal(sa.prop[0].xf[0].attrs_len, sizeof(kl_unknown));
	assert_int_equal(sa.prop[0].xf[1].type, 99);
	assert_int_equal(sa.prop[0].xf[2].id, 4242);

	/* Key Length in TLV format, twice, zero; an attribute past its transform. */
	static const uint8_t tlv[] = { 0x00, 0x0e, 0x00, 0x02, 0x00, 0x80 };
	static const uint8_t twice[] = { 0x80, 0x0e, 0x00, 0x80, 0x80, 0x0e, 0x01, 0x00 };
	static const uint8_t zero[] = { 0x80, 0x0e, 0x00, 0x00 };
	static const uint8_t past[] = { 0x00, 0x63, 0x00, 0x05, 0x00, 0x00 };
	static const uint8_t half[] = { 0x80, 0x0e };
	const struct { const uint8_t *a; size_t n; } bad[] = {
		{ tlv, sizeof(tlv) }, { twice, sizeof(twice) }, { zero, sizeof(zero) },
		{ past, sizeof(past) }, { half, sizeof(half) },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* Built by hand: one proposal, one transform with these attributes. */
		uint8_t b[64] = { 0, 0, 0, 0, 1, IKE_PROTO_IKE, 0, 1, 0, 0, 0, 0, IKE_XF_ENCR, 0, 0, 12 };
		size_t tlen = 8 + bad[i].n, plen = 8 + tlen;
		b[3] = (uint8_t)plen;
		b[11] = (uint8_t)tlen;
		memcpy(b + 16, bad[i].a, bad[i].n);
		assert_bad_body(IKE_PL_SA, b, plen);
	}
}

static void test_sa_limits(void **state)
{
	(void)state;
	static struct ike_proposal p[IKE_MAX_PROPOSALS + 1];
	static struct ike_transform xf[IKE_MAX_TRANSFORMS];
	const uint8_t *body;
	for (size_t i = 0; i < IKE_MAX_TRANSFORMS; i++)
		xf[i] = (struct ike_transform){ .type = IKE_XF_DH, .id = (uint16_t)i };
	for (size_t i = 0; i < IKE_MAX_PROPOSALS + 1; i++)
		p[i] = (struct ike_proposal){ .num = (uint8_t)(i + 1), .protocol = IKE_PROTO_ESP,
		                              .spi_size = 4, .count = 1, .xf = xf };
	size_t len = sa_body(p, IKE_MAX_PROPOSALS, &body);
	static struct ike_sa sa;
	struct ike_payload v = view(IKE_PL_SA, body, len);
	assert_true(ike_decode_sa(&v, &sa, NULL));
	assert_int_equal(sa.count, IKE_MAX_PROPOSALS);

	uint8_t b[BUFSZ];
	struct ike_writer w;
	ike_writer_init(&w, b, sizeof(b));
	assert_false(ike_put_sa(&w, p, IKE_MAX_PROPOSALS + 1));

	/* Transforms: 255 + 1 fit, one more does not. */
	p[0].count = 255;
	p[1].count = 1;
	len = sa_body(p, 2, &body);
	v = view(IKE_PL_SA, body, len);
	assert_true(ike_decode_sa(&v, &sa, NULL));
	p[1].count = 2;
	ike_writer_init(&w, b, sizeof(b));
	assert_false(ike_put_sa(&w, p, 2));
}

/* ---- The other payloads --------------------------------------------------------------- */

static void test_nonce(void **state)
{
	(void)state;
	uint8_t n[IKE_NONCE_MAX + 1];
	fill(n, sizeof(n), 5);
	assert_bad_body(IKE_PL_NONCE, n, 0);
	assert_bad_body(IKE_PL_NONCE, n, 15);
	assert_good_body(IKE_PL_NONCE, n, 16);
	assert_good_body(IKE_PL_NONCE, n, 256);
	assert_bad_body(IKE_PL_NONCE, n, 257);
}

static void test_notify(void **state)
{
	(void)state;
	/* SPI sizes: 0, 4 and 8 are fine, 5 is not, nor an SPI past the end. */
	uint8_t b[64] = { IKE_PROTO_ESP, 4, 0x40, 0x09, 0xc0, 0, 0, 1 };   /* REKEY_SA */
	assert_good_body(IKE_PL_NOTIFY, b, 8);
	b[1] = 5;
	assert_bad_body(IKE_PL_NOTIFY, b, 9);
	b[1] = 8;
	assert_good_body(IKE_PL_NOTIFY, b, 12);
	assert_bad_body(IKE_PL_NOTIFY, b, 11);
	b[1] = 4;
	assert_bad_body(IKE_PL_NOTIFY, b, 3);

	struct ike_notify n;
	struct ike_payload v = view(IKE_PL_NOTIFY, b, 10);
	assert_true(ike_decode_notify(&v, &n, NULL));
	assert_int_equal(n.type, IKE_N_REKEY_SA);
	assert_ptr_equal(n.spi, b + 4);
	assert_ptr_equal(n.data, b + 8);
	assert_int_equal(n.len, 2);

	/* The data lengths of the notifications secpold reads. */
	const struct { uint16_t type; size_t good, bad; } shapes[] = {
		{ IKE_N_NAT_DETECTION_SOURCE_IP, 20, 19 },
		{ IKE_N_NAT_DETECTION_DESTINATION_IP, 20, 21 },
		{ IKE_N_COOKIE, 64, 65 },
		{ IKE_N_COOKIE, 1, 0 },
		{ IKE_N_INVALID_KE_PAYLOAD, 2, 3 },
		{ IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD, 1, 0 },
		{ IKE_N_SET_WINDOW_SIZE, 4, 2 },
		{ IKE_N_SIGNATURE_HASH_ALGORITHMS, 6, 7 },
	};
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		uint8_t d[4 + 80] = { 0, 0, (uint8_t)(shapes[i].type >> 8), (uint8_t)shapes[i].type };
		assert_good_body(IKE_PL_NOTIFY, d, 4 + shapes[i].good);
		assert_bad_body(IKE_PL_NOTIFY, d, 4 + shapes[i].bad);
	}
}

static void test_skf(void **state)
{
	(void)state;
	uint8_t b[32] = { 0, 1, 0, 3 };
	struct ike_skf f;
	struct ike_payload v = view(IKE_PL_SKF, b, sizeof(b));
	v.next = IKE_PL_IDI;
	assert_true(ike_decode_skf(&v, &f, NULL));
	assert_int_equal(f.number, 1);
	assert_int_equal(f.total, 3);
	assert_int_equal(f.next, IKE_PL_IDI);
	assert_int_equal(f.len, 28);
	assert_good_body(IKE_PL_SKF, b, sizeof(b));
	b[1] = 3;                                     /* 3 of 3 */
	assert_good_body(IKE_PL_SKF, b, sizeof(b));
	b[1] = 0;                                     /* 0 of 3 */
	assert_bad_body(IKE_PL_SKF, b, sizeof(b));
	b[1] = 4;                                     /* 4 of 3 */
	assert_bad_body(IKE_PL_SKF, b, sizeof(b));
	b[1] = 1;
	b[3] = 0;                                     /* 1 of 0 */
	assert_bad_body(IKE_PL_SKF, b, sizeof(b));
	assert_bad_body(IKE_PL_SKF, b, 3);

	/* Through the writer, with the body reserved. */
	uint8_t buf[256];
	struct ike_writer w;
	ike_writer_init(&w, buf, sizeof(buf));
	ike_put_header(&w, &(struct ike_header){ .spi_i = SPI_I, .spi_r = SPI_R, .major = 2,
	                                         .exchange = IKE_AUTH, .message_id = 1 });
	uint8_t *body = ike_put_skf(&w, &(struct ike_skf){ .number = 2, .total = 2, .len = 40 });
	assert_non_null(body);
	assert_ptr_equal(body, buf + IKE_HEADER_LEN + 8);
	assert_true(ike_finish(&w));
	struct ike_message m;
	assert_int_equal(ike_decode(buf, w.len, &m, NULL), IKE_DECODE_OK);
	assert_true(ike_decode_skf(&m.payload[0], &f, NULL));
	assert_int_equal(f.number, 2);
	assert_int_equal(f.len, 40);
	assert_round_trip(buf, w.len);
	ike_writer_init(&w, buf, sizeof(buf));
	assert_null(ike_put_skf(&w, &(struct ike_skf){ .number = 3, .total = 2, .len = 40 }));
}

static void test_ts(void **state)
{
	(void)state;
	static const uint8_t v4[16] = { 7, 6, 0, 16, 0, 0, 0xff, 0xff, 10, 0, 0, 0, 10, 0, 0, 255 };
	uint8_t b[128] = { 1, 0, 0, 0 };
	memcpy(b + 4, v4, 16);
	assert_good_body(IKE_PL_TSI, b, 20);

	/* The IPv4 selector's length 17 (with a byte to cover it), 15, 40. */
	b[7] = 17;
	assert_bad_body(IKE_PL_TSI, b, 21);
	b[7] = 15;
	assert_bad_body(IKE_PL_TSI, b, 20);
	b[7] = 40;
	assert_bad_body(IKE_PL_TSI, b, 44);
	b[7] = 3;
	assert_bad_body(IKE_PL_TSI, b, 20);
	/* An IPv6 selector of 16 bytes. */
	b[7] = 16;
	b[4] = IKE_TS_IPV6_ADDR_RANGE;
	assert_bad_body(IKE_PL_TSR, b, 20);
	b[4] = IKE_TS_IPV4_ADDR_RANGE;
	/* The count: 0, 2 with one, 1 with two; bytes left over. */
	b[0] = 0;
	assert_bad_body(IKE_PL_TSI, b, 20);
	b[0] = 2;
	assert_bad_body(IKE_PL_TSI, b, 20);
	memcpy(b + 20, v4, 16);
	b[0] = 1;
	assert_bad_body(IKE_PL_TSI, b, 36);
	b[0] = 2;
	assert_good_body(IKE_PL_TSI, b, 36);
	assert_bad_body(IKE_PL_TSI, b, 37);
	assert_bad_body(IKE_PL_TSI, b, 3);
	b[0] = IKE_MAX_TS + 1;
	assert_bad_body(IKE_PL_TSI, b, 36);

	/* A selector of a type we do not know: kept raw, to be skipped. */
	static const uint8_t label[] = { 10, 0, 0, 9, 's', 'y', 's', 't', 'e' };
	b[0] = 2;
	memcpy(b + 20, label, sizeof(label));
	assert_good_body(IKE_PL_TSR, b, 20 + sizeof(label));
	static struct ike_ts ts;
	struct ike_payload v = view(IKE_PL_TSR, b, 20 + sizeof(label));
	assert_true(ike_decode_ts(&v, &ts, NULL));
	assert_int_equal(ts.sel[1].type, 10);
	assert_int_equal(ts.sel[1].raw_len, 5);
	assert_memory_equal(ts.sel[1].raw, "syste", 5);
	assert_int_equal(ts.sel[0].protocol, 6);
	assert_int_equal(ts.sel[0].end_port, 65535);

	/* The writer: TSi/TSr only, at most IKE_MAX_TS. */
	uint8_t buf[BUFSZ];
	struct ike_writer w;
	ike_writer_init(&w, buf, sizeof(buf));
	assert_false(ike_put_ts(&w, IKE_PL_SA, &ts));
	ts.count = IKE_MAX_TS + 1;
	ike_writer_init(&w, buf, sizeof(buf));
	assert_false(ike_put_ts(&w, IKE_PL_TSI, &ts));
	ts.count = 0;
	ike_writer_init(&w, buf, sizeof(buf));
	assert_false(ike_put_ts(&w, IKE_PL_TSI, &ts));
}

static void test_delete(void **state)
{
	(void)state;
	uint8_t b[24] = { IKE_PROTO_ESP, 4, 0, 2, 0xc0, 0, 0, 1, 0xc0, 0, 0, 2 };
	assert_good_body(IKE_PL_DELETE, b, 12);
	struct ike_delete d;
	struct ike_payload v = view(IKE_PL_DELETE, b, 12);
	assert_true(ike_decode_delete(&v, &d, NULL));
	assert_int_equal(d.count, 2);
	assert_int_equal(ike_delete_spi(&d, 0), 0xc0000001);
	assert_int_equal(ike_delete_spi(&d, 1), 0xc0000002);
	assert_int_equal(ike_delete_spi(&d, 2), 0);
	assert_bad_body(IKE_PL_DELETE, b, 11);      /* SPIs short */
	assert_bad_body(IKE_PL_DELETE, b, 13);      /* a byte over */
	b[1] = 8;
	assert_bad_body(IKE_PL_DELETE, b, 20);
	b[0] = 7;
	b[1] = 4;
	assert_bad_body(IKE_PL_DELETE, b, 12);      /* an unknown protocol */
	const uint8_t ike[4] = { IKE_PROTO_IKE, 0, 0, 0 };
	assert_good_body(IKE_PL_DELETE, ike, 4);
	const uint8_t ike_spi[12] = { IKE_PROTO_IKE, 8, 0, 1 };
	assert_bad_body(IKE_PL_DELETE, ike_spi, 12);
	assert_bad_body(IKE_PL_DELETE, ike, 3);
}

static void test_small_payloads(void **state)
{
	(void)state;
	/* KE: group, reserved, data (not empty). */
	const uint8_t ke[6] = { 0, 19, 0, 0, 4, 5 };
	assert_good_body(IKE_PL_KE, ke, 6);
	assert_bad_body(IKE_PL_KE, ke, 4);
	/* ID: address lengths; names not empty; a type we do not know: anything. */
	const uint8_t id4[9] = { IKE_ID_IPV4_ADDR, 0, 0, 0, 192, 0, 2, 1, 0 };
	assert_good_body(IKE_PL_IDI, id4, 8);
	assert_bad_body(IKE_PL_IDI, id4, 9);
	assert_bad_body(IKE_PL_IDR, id4, 7);
	uint8_t id6[20] = { IKE_ID_IPV6_ADDR };
	assert_good_body(IKE_PL_IDR, id6, 20);
	assert_bad_body(IKE_PL_IDR, id6, 8);
	const uint8_t fqdn[4] = { IKE_ID_FQDN };
	assert_bad_body(IKE_PL_IDI, fqdn, 4);
	const uint8_t idnull[4] = { IKE_ID_NULL };
	assert_good_body(IKE_PL_IDI, idnull, 4);
	assert_bad_body(IKE_PL_IDI, idnull, 3);
	/* AUTH: data not empty; RFC 7427's AlgorithmIdentifier within the data. */
	uint8_t auth[32] = { IKE_AUTH_DIGITAL_SIGNATURE, 0, 0, 0, 12 };
	memcpy(auth + 5, sig_alg, sizeof(sig_alg));
	assert_good_body(IKE_PL_AUTH, auth, 18);       /* one byte of signature */
	assert_bad_body(IKE_PL_AUTH, auth, 17);        /* none */
	assert_bad_body(IKE_PL_AUTH, auth, 16);
	auth[4] = 0;
	assert_bad_body(IKE_PL_AUTH, auth, 18);
	auth[0] = IKE_AUTH_PSK;
	assert_good_body(IKE_PL_AUTH, auth, 5);
	assert_bad_body(IKE_PL_AUTH, auth, 4);
	struct ike_auth a;
	struct ike_payload v = view(IKE_PL_AUTH, auth, 12);
	assert_true(ike_decode_auth(&v, &a, NULL));
	assert_null(a.alg);
	assert_ptr_equal(a.sig, auth + 4);
	assert_int_equal(a.sig_len, 8);
	/* CERT not empty; CERTREQ may be. */
	const uint8_t cert[3] = { IKE_CERT_X509_SIGNATURE, 0x30, 0x00 };
	assert_good_body(IKE_PL_CERT, cert, 3);
	assert_bad_body(IKE_PL_CERT, cert, 1);
	assert_good_body(IKE_PL_CERTREQ, cert, 1);
	assert_bad_body(IKE_PL_CERTREQ, cert, 0);
	/* Vendor ID: anything. */
	assert_good_body(IKE_PL_VENDOR, cert, 0);
	assert_good_body(IKE_PL_VENDOR, cert, 3);
	/* CP: type, reserved, attributes that fit. */
	const uint8_t cp[16] = { IKE_CFG_REQUEST, 0, 0, 0, 0, 1, 0, 0, 0, 8, 0, 4, 1, 2, 3, 4 };
	assert_good_body(IKE_PL_CP, cp, 16);
	assert_good_body(IKE_PL_CP, cp, 8);
	assert_good_body(IKE_PL_CP, cp, 4);
	assert_bad_body(IKE_PL_CP, cp, 15);
	assert_bad_body(IKE_PL_CP, cp, 6);
	assert_bad_body(IKE_PL_CP, cp, 3);
	/* EAP: its own length is the payload's. */
	const uint8_t eap[8] = { 1, 7, 0, 8, 1, 'u', 's', 'r' };
	assert_good_body(IKE_PL_EAP, eap, 8);
	assert_bad_body(IKE_PL_EAP, eap, 7);
	assert_bad_body(IKE_PL_EAP, eap, 3);
}

/* ---- The writer ---------------------------------------------------------------------- */

static void test_writer_room(void **state)
{
	(void)state;
	uint8_t full[BUFSZ];
	struct ike_writer w;
	size_t len = build_sa_init(full, sizeof(full), &w);
	/* Every capacity short of the message: refused, nothing written past it. */
	for (size_t cap = 0; cap < len; cap++) {
		uint8_t *buf = malloc(cap ? cap : 1);
		assert_non_null(buf);
		assert_int_equal(build_sa_init(buf, cap, &w), 0);
		assert_true(w.err);
		assert_true(w.len <= cap);
		free(buf);
	}
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	assert_int_equal(build_sa_init(buf, len, &w), len);
	assert_memory_equal(buf, full, len);
	free(buf);

	/* Sticky: after the first error nothing is written. */
	uint8_t small[40];
	ike_writer_init(&w, small, sizeof(small));
	ike_put_header(&w, &sa_init_header);
	assert_false(ike_put_nonce(&w, nonce16, 16));
	size_t at = w.len;
	const char *why = w.why;
	ike_put_u8(&w, 1);
	ike_put_bytes(&w, "x", 1);
	assert_null(ike_reserve(&w, 0));
	assert_int_equal(w.len, at);
	assert_ptr_equal(w.why, why);
	assert_false(ike_finish(&w));
}

static void test_writer_misuse(void **state)
{
	(void)state;
	uint8_t buf[BUFSZ];
	struct ike_writer w;

	ike_writer_init(&w, buf, sizeof(buf));       /* header not first */
	ike_put_u8(&w, 0);
	ike_put_header(&w, &sa_init_header);
	assert_true(w.err);

	ike_writer_init(&w, buf, sizeof(buf));       /* payload left open */
	ike_put_header(&w, &sa_init_header);
	ike_payload_begin(&w, IKE_PL_VENDOR, false);
	assert_false(ike_finish(&w));

	ike_writer_init(&w, buf, sizeof(buf));       /* payload inside payload */
	ike_payload_begin(&w, IKE_PL_VENDOR, false);
	ike_payload_begin(&w, IKE_PL_VENDOR, false);
	assert_true(w.err);

	ike_writer_init(&w, buf, sizeof(buf));       /* payload type 0 */
	ike_payload_begin(&w, IKE_PL_NONE, false);
	assert_true(w.err);

	ike_writer_init(&w, buf, sizeof(buf));       /* proposals that cannot be written */
	assert_false(ike_put_sa(&w, &(struct ike_proposal){ .num = 1, .count = 1 }, 1));
	ike_writer_init(&w, buf, sizeof(buf));
	assert_false(ike_put_sa(&w, &(struct ike_proposal){ .num = 1, .spi_size = 9, .count = 1,
	                                                    .xf = ike_gcm }, 1));

	ike_writer_init(&w, buf, sizeof(buf));       /* end without begin */
	ike_payload_end(&w);
	assert_true(w.err);

	ike_writer_init(&w, buf, sizeof(buf));       /* an ID payload that is not one */
	assert_false(ike_put_id(&w, IKE_PL_NONCE, &(struct ike_id){ .type = IKE_ID_NULL }));
	ike_writer_init(&w, buf, sizeof(buf));
	assert_false(ike_put_cert(&w, IKE_PL_AUTH, &(struct ike_cert){ .encoding = 4 }));

	ike_writer_init(&w, buf, sizeof(buf));       /* data NULL with a length */
	assert_false(ike_put_nonce(&w, NULL, 16));

	ike_writer_init(&w, NULL, 0);                /* no buffer */
	assert_false(ike_finish(&w));

	ike_writer_init(&w, buf, sizeof(buf));       /* a header that is not IKEv2 */
	ike_put_header(&w, &(struct ike_header){ .spi_i = SPI_I, .major = 1 });
	assert_false(ike_finish(&w));
	ike_writer_init(&w, buf, sizeof(buf));
	ike_put_header(&w, &(struct ike_header){ .major = 2 });
	assert_false(ike_finish(&w));

	/* A payload over 65535 bytes. */
	static uint8_t big[70000], vid[65531];
	ike_writer_init(&w, big, sizeof(big));
	ike_put_header(&w, &sa_init_header);
	ike_payload_begin(&w, IKE_PL_VENDOR, false);
	ike_reserve(&w, 65532);
	ike_payload_end(&w);
	assert_true(w.err);
	ike_writer_init(&w, big, sizeof(big));
	ike_put_header(&w, &sa_init_header);
	assert_true(ike_put_vendor(&w, vid, sizeof(vid)));
	assert_true(ike_finish(&w));

	/* The reserved flag bits are not sent. */
	ike_writer_init(&w, buf, sizeof(buf));
	ike_put_header(&w, &(struct ike_header){ .spi_i = SPI_I, .major = 2, .flags = 0xff });
	assert_true(ike_finish(&w));
	assert_int_equal(buf[19], IKE_FLAGS_KNOWN);
	assert_int_equal(w.len, IKE_HEADER_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sa_init_round_trip),
		cmocka_unit_test(test_auth_inner_round_trip),
		cmocka_unit_test(test_auth_message),
		cmocka_unit_test(test_empty_informational),
		cmocka_unit_test(test_strongswan_default),
		cmocka_unit_test(test_strongswan_custom),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_payload_lengths),
		cmocka_unit_test(test_sk_last),
		cmocka_unit_test(test_repeated),
		cmocka_unit_test(test_too_many_payloads),
		cmocka_unit_test(test_unknown_payloads),
		cmocka_unit_test(test_sa_numbering),
		cmocka_unit_test(test_sa_lengths),
		cmocka_unit_test(test_sa_attributes),
		cmocka_unit_test(test_sa_limits),
		cmocka_unit_test(test_nonce),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_skf),
		cmocka_unit_test(test_ts),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_small_payloads),
		cmocka_unit_test(test_writer_room),
		cmocka_unit_test(test_writer_misuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
