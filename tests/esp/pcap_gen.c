/*
 * pcap_gen: writes ESP and AH packets made by secpol into pcap files for an
 * independent decoder (tshark for ESP, a Python RFC 4302 recomputation for
 * AH). For each case it writes <dir>/<case>.pcap (raw IP link type), and one
 * line to <dir>/cases.txt:
 *
 *   <case> <proto> <mode> <ip> <src> <dst> <spi> <tshark-enc> <enckey> <tshark-auth> <authkey>
 *
 * and <dir>/<case>.expect with, per packet, the hex of what the decoder must
 * find inside: the inner packet (tunnel) or the upper-layer payload (transport).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "esp/esp.h"

struct gen_case {
	const char *name;
	enum sa_proto proto;
	enum sa_mode mode;
	int family;
	enum crypto_enc enc;
	enum crypto_mac mac;
	const char *tshark_enc, *tshark_auth;
};

static const struct gen_case cases[] = {
	{ "gcm128-tunnel-v4", SA_PROTO_ESP, SA_TUNNEL, AF_INET, ENC_AES128_GCM, MAC_NONE,
	  "AES-GCM with 16 octet ICV [RFC4106]", "NULL" },
	{ "gcm128-transport-v4", SA_PROTO_ESP, SA_TRANSPORT, AF_INET, ENC_AES128_GCM, MAC_NONE,
	  "AES-GCM with 16 octet ICV [RFC4106]", "NULL" },
	{ "gcm256-tunnel-v6", SA_PROTO_ESP, SA_TUNNEL, AF_INET6, ENC_AES256_GCM, MAC_NONE,
	  "AES-GCM with 16 octet ICV [RFC4106]", "NULL" },
	{ "cbc128-sha256-transport-v4", SA_PROTO_ESP, SA_TRANSPORT, AF_INET, ENC_AES128_CBC,
	  MAC_HMAC_SHA256_128, "AES-CBC [RFC3602]", "HMAC-SHA-256-128 [RFC4868]" },
	{ "cbc128-sha256-tunnel-v4", SA_PROTO_ESP, SA_TUNNEL, AF_INET, ENC_AES128_CBC,
	  MAC_HMAC_SHA256_128, "AES-CBC [RFC3602]", "HMAC-SHA-256-128 [RFC4868]" },
	{ "cbc256-sha512-transport-v6", SA_PROTO_ESP, SA_TRANSPORT, AF_INET6, ENC_AES256_CBC,
	  MAC_HMAC_SHA512_256, "AES-CBC [RFC3602]", "HMAC-SHA-512-256 [RFC4868]" },
	{ "3des-sha1-tunnel-v4", SA_PROTO_ESP, SA_TUNNEL, AF_INET, ENC_3DES_CBC, MAC_HMAC_SHA1_96,
	  "TripleDES-CBC [RFC2451]", "HMAC-SHA-1-96 [RFC2404]" },
	{ "3des-sha1-transport-v6", SA_PROTO_ESP, SA_TRANSPORT, AF_INET6, ENC_3DES_CBC,
	  MAC_HMAC_SHA1_96, "TripleDES-CBC [RFC2451]", "HMAC-SHA-1-96 [RFC2404]" },
	{ "null-sha384-transport-v4", SA_PROTO_ESP, SA_TRANSPORT, AF_INET, ENC_NULL,
	  MAC_HMAC_SHA384_192, "NULL", "HMAC-SHA-384-192 [RFC4868]" },
	{ "ah-sha1-transport-v4", SA_PROTO_AH, SA_TRANSPORT, AF_INET, ENC_NULL, MAC_HMAC_SHA1_96,
	  "-", "sha1" },
	{ "ah-sha256-tunnel-v4", SA_PROTO_AH, SA_TUNNEL, AF_INET, ENC_NULL, MAC_HMAC_SHA256_128,
	  "-", "sha256" },
	{ "ah-sha256-transport-v6", SA_PROTO_AH, SA_TRANSPORT, AF_INET6, ENC_NULL,
	  MAC_HMAC_SHA256_128, "-", "sha256" },
	{ "ah-sha384-tunnel-v6", SA_PROTO_AH, SA_TUNNEL, AF_INET6, ENC_NULL, MAC_HMAC_SHA384_192,
	  "-", "sha384" },
};

static void hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

static void put32(FILE *f, uint32_t v)
{
	fwrite(&v, 4, 1, f);               /* pcap is written in host order, with its magic */
}

static void set_addr(struct sa_address *a, int family, uint8_t last)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)family;
	if (family == AF_INET)
		memcpy(a->bytes, (uint8_t[]){ 198, 51, 100, last }, 4);
	else {
		memcpy(a->bytes, (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0x51 }, 8);
		a->bytes[15] = last;
	}
}

/* A UDP packet of n payload bytes from .1 to .2 of the family's test range. */
static size_t make_inner(uint8_t *d, int family, size_t n, unsigned k)
{
	size_t h = family == AF_INET ? 20 : 40;
	size_t total = h + 8 + n;
	memset(d, 0, total);
	uint8_t *u = d + h;
	u[0] = 0x30, u[1] = 0x39, u[2] = 0x00, u[3] = 0x35;
	u[4] = (uint8_t)((8 + n) >> 8), u[5] = (uint8_t)(8 + n);
	for (size_t i = 0; i < n; i++)
		u[8 + i] = (uint8_t)(k * 7 + i);
	if (family == AF_INET) {
		d[0] = 0x45;
		d[2] = (uint8_t)(total >> 8), d[3] = (uint8_t)total;
		d[8] = 64, d[9] = 17;
		memcpy(d + 12, (uint8_t[]){ 192, 0, 2, 1 }, 4);
		memcpy(d + 16, (uint8_t[]){ 192, 0, 2, 2 }, 4);
		uint32_t s = 0;
		for (int i = 0; i < 20; i += 2)
			s += (uint32_t)(d[i] << 8 | d[i + 1]);
		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		d[10] = (uint8_t)(~s >> 8), d[11] = (uint8_t)~s;
	} else {
		d[0] = 0x60;
		d[4] = (uint8_t)((8 + n) >> 8), d[5] = (uint8_t)(8 + n);
		d[6] = 17, d[7] = 64;
		memcpy(d + 8, (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1 }, 8);
		d[23] = 1;
		memcpy(d + 24, (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1 }, 8);
		d[39] = 2;
	}
	return total;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: pcap_gen DIR\n");
		return 2;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/cases.txt", argv[1]);
	FILE *idx = fopen(path, "w");
	if (!idx)
		return 1;
	uint8_t enckey[36], authkey[64];
	for (size_t i = 0; i < sizeof(enckey); i++)
		enckey[i] = (uint8_t)(0xa0 + i);
	for (size_t i = 0; i < sizeof(authkey); i++)
		authkey[i] = (uint8_t)(0x10 + i);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct gen_case *g = &cases[c];
		const struct crypto_enc_info *ei = crypto_enc_info(g->enc);
		const struct crypto_mac_info *mi = crypto_mac_info(g->mac);
		struct sa_config cfg = {
			.spi = 0x5000 + (uint32_t)c, .proto = g->proto, .mode = g->mode,
			.enc = g->enc, .enc_key = enckey, .enc_key_len = ei->key_len + ei->salt_len,
			.integ = g->mac, .auth_key = authkey, .auth_key_len = mi->key_len,
			.allow_legacy = true,
		};
		if (g->mode == SA_TUNNEL)
			set_addr(&cfg.src, g->family, 1), set_addr(&cfg.dst, g->family, 2);
		else if (g->family == AF_INET) {
			cfg.src.family = cfg.dst.family = AF_INET;
			memcpy(cfg.src.bytes, (uint8_t[]){ 192, 0, 2, 1 }, 4);
			memcpy(cfg.dst.bytes, (uint8_t[]){ 192, 0, 2, 2 }, 4);
		} else {
			cfg.src.family = cfg.dst.family = AF_INET6;
			memcpy(cfg.src.bytes, (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1 }, 8);
			memcpy(cfg.dst.bytes, cfg.src.bytes, 8);
			cfg.src.bytes[15] = 1;
			cfg.dst.bytes[15] = 2;
		}
		struct sad *sad = sad_new(4);
		const char *err = NULL;
		struct ipsec_sa *sa = sad_add(sad, &cfg, &err);
		if (!sa) {
			fprintf(stderr, "%s: %s\n", g->name, err);
			return 1;
		}
		snprintf(path, sizeof(path), "%s/%s.pcap", argv[1], g->name);
		FILE *pc = fopen(path, "wb");
		snprintf(path, sizeof(path), "%s/%s.expect", argv[1], g->name);
		FILE *ex = fopen(path, "w");
		if (!pc || !ex)
			return 1;
		put32(pc, 0xa1b2c3d4);
		fwrite((uint16_t[]){ 2, 4 }, 2, 2, pc);
		put32(pc, 0);
		put32(pc, 0);
		put32(pc, 65535);
		put32(pc, 101);                   /* LINKTYPE_RAW: the record is an IP packet */
		static const size_t sizes[] = { 0, 1, 13, 100, 1000 };
		for (unsigned k = 0; k < 5; k++) {
			uint8_t buf[2048];
			struct pkt p = { buf, sizeof(buf), IPSEC_HEADROOM, 0 };
			p.len = make_inner(buf + p.off, g->family, sizes[k], k);
			size_t h = g->family == AF_INET ? 20 : 40;
			if (g->mode == SA_TUNNEL)
				hex(ex, buf + p.off, p.len);
			else
				hex(ex, buf + p.off + h, p.len - h);
			fputc('\n', ex);
			enum sa_drop r = g->proto == SA_PROTO_AH ? ah_output(sa, &p, 0) : esp_output(sa, &p, 0);
			if (r != DROP_NONE) {
				fprintf(stderr, "%s: %s\n", g->name, sa_drop_name(r));
				return 1;
			}
			put32(pc, 1700000000 + k);
			put32(pc, 0);
			put32(pc, (uint32_t)p.len);
			put32(pc, (uint32_t)p.len);
			fwrite(buf + p.off, 1, p.len, pc);
		}
		fclose(pc);
		fclose(ex);
		char src[64], dst[64];
		inet_ntop(cfg.src.family, cfg.src.bytes, src, sizeof(src));
		inet_ntop(cfg.dst.family, cfg.dst.bytes, dst, sizeof(dst));
		fprintf(idx, "%s|%s|%s|%s|%s|%s|0x%08x|%s|0x", g->name,
		        g->proto == SA_PROTO_AH ? "ah" : "esp", g->mode == SA_TUNNEL ? "tunnel" : "transport",
		        cfg.dst.family == AF_INET ? "IPv4" : "IPv6", src, dst, cfg.spi, g->tshark_enc);
		hex(idx, enckey, ei->key_len + ei->salt_len);
		fprintf(idx, "|%s|0x", g->tshark_auth);
		hex(idx, authkey, mi->key_len);
		fputc('\n', idx);
		sad_free(sad);
	}
	fclose(idx);
	return 0;
}
