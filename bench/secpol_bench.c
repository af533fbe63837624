/*
 * secpol-bench — benchmarks that print numbers (never pass/fail).
 *
 *   secpol-bench static [filters]   a policy of N filters (default 10000) built
 *                                   through the script interface, then `show all`
 *   secpol-bench esp [algorithm]    ESP tunnel mode per algorithm at 64, 512 and
 *                                   1400 octets, out (encapsulate + encrypt) and in
 *                                   (replay check + verify + decrypt + decapsulate)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "esp/esp.h"
#include "netsh/netsh.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The script an administrator would write: one `add filter` line per host. */
static char *make_script(unsigned filters, bool batch, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		return NULL;
	if (batch)
		fprintf(f, "netsh ipsec static set batch mode=enable\n");
	fprintf(f, "netsh ipsec static add policy name=\"Bench\" description=\"%u filters\"\n", filters);
	fprintf(f, "netsh ipsec static add filteraction name=\"Bench ESP\" action=negotiate "
	           "qmsecmethods=\"ESP[AESGCM256] ESP[AES128,SHA256]\"\n");
	for (unsigned i = 0; i < filters; i++) {
		unsigned host = i % 65000;
		/* Mixed shapes: host and subnet sources, TCP/UDP ports, IPv6 every 7th. */
		if (i % 7 == 0)
			fprintf(f, "netsh ipsec static add filter filterlist=\"Bench hosts\" "
			           "srcaddr=2001:db8:%x::%x dstaddr=me protocol=TCP dstport=%u "
			           "description=\"v6 host %u\"\n", i / 65536, i % 65536 + 1,
			        1 + i % 60000, i);
		else
			fprintf(f, "netsh ipsec static add filter filterlist=\"Bench hosts\" "
			           "srcaddr=10.%u.%u.%u srcmask=%u dstaddr=me protocol=%s dstport=%u "
			           "mirrored=%s\n", (host >> 8) & 255, host & 255, (i / 65000) * 4,
			        i % 3 ? 32 : 30, i % 2 ? "UDP" : "TCP", 1 + i % 60000,
			        i % 5 ? "yes" : "no");
	}
	fprintf(f, "netsh ipsec static add rule name=\"Bench rule\" policy=\"Bench\" "
	           "filterlist=\"Bench hosts\" filteraction=\"Bench ESP\" "
	           "psk=\"a benchmark preshared key value\"\n");
	if (batch)
		fprintf(f, "netsh ipsec static set batch mode=disable\n");
	fclose(f);
	return buf;
}

static int bench_static(unsigned filters)
{
	char dir[] = "/tmp/secpol-bench.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	FILE *devnull = fopen("/dev/null", "w");
	for (int batch = 0; batch < 2; batch++) {
		char path[128];
		snprintf(path, sizeof(path), "%s/bench-%d.db", dir, batch);
		size_t len;
		char *script = make_script(filters, batch, &len);
		FILE *in = script ? fmemopen(script, len, "r") : NULL;
		if (!in) {
			fprintf(stderr, "out of memory\n");
			return 1;
		}
		struct netsh_session ns;
		netsh_session_init(&ns, path, devnull, stderr);
		/* Open the store (and create its samples) outside the timed part. */
		netsh_exec_line(&ns, "static show store");
		double t0 = now();
		unsigned failed = netsh_run_script(&ns, in, "bench", false);
		netsh_session_finish(&ns);
		double t1 = now();
		fclose(in);
		free(script);
		if (failed) {
			fprintf(stderr, "bench script: %u commands failed\n", failed);
			return 1;
		}
		printf("static script filters=%u batch=%s seconds=%.3f commands_per_s=%.0f\n",
		       filters, batch ? "yes" : "no", t1 - t0, (filters + 4) / (t1 - t0));

		netsh_session_init(&ns, path, devnull, stderr);
		double t2 = now();
		bool ok = netsh_exec_line(&ns, "static show all");
		double t3 = now();
		netsh_session_finish(&ns);
		if (!ok)
			return 1;
		printf("static show_all filters=%u seconds=%.3f\n", filters, t3 - t2);
	}
	fclose(devnull);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}

/* ---- esp: the transforms, single thread --------------------------------------------- */

struct esp_case {
	const char *name;
	enum crypto_enc enc;
	enum crypto_mac mac;
};

static const struct esp_case esp_cases[] = {
	{ "aes-128-gcm", ENC_AES128_GCM, MAC_NONE },
	{ "aes-256-gcm", ENC_AES256_GCM, MAC_NONE },
	{ "chacha20-poly1305", ENC_CHACHA20_POLY1305, MAC_NONE },
	{ "aes-128-cbc-sha256", ENC_AES128_CBC, MAC_HMAC_SHA256_128 },
	{ "aes-256-cbc-sha256", ENC_AES256_CBC, MAC_HMAC_SHA256_128 },
	{ "3des-sha1", ENC_3DES_CBC, MAC_HMAC_SHA1_96 },
	{ "null-sha256", ENC_NULL, MAC_HMAC_SHA256_128 },
	{ "aes-128-gmac", ENC_AES128_GMAC, MAC_NONE },
};

#define RING 256                  /* pristine inbound packets: fits in L2 */
#define SLOT 2048

/* A UDP-in-IPv4 packet of `size` octets between two documentation addresses. */
static void make_packet(uint8_t *d, size_t size)
{
	memset(d, 0, size);
	d[0] = 0x45;
	d[2] = (uint8_t)(size >> 8);
	d[3] = (uint8_t)size;
	d[8] = 64;
	d[9] = 17;
	memcpy(d + 12, (uint8_t[]){ 192, 0, 2, 1 }, 4);
	memcpy(d + 16, (uint8_t[]){ 198, 51, 100, 2 }, 4);
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(d[i] << 8 | d[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	d[10] = (uint8_t)(~sum >> 8);
	d[11] = (uint8_t)~sum;
	for (size_t i = 28; i < size; i++)
		d[i] = (uint8_t)i;
}

static struct ipsec_sa *bench_sa(struct sad *sad, const struct esp_case *c, bool inbound)
{
	static const uint8_t key[64] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	                                 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
	                                 31, 32, 33, 34, 35, 36, 37, 38, 39, 40 };
	const struct crypto_enc_info *ei = crypto_enc_info(c->enc);
	const struct crypto_mac_info *mi = crypto_mac_info(c->mac);
	struct sa_config cfg = {
		.spi = 0x1000, .proto = SA_PROTO_ESP, .mode = SA_TUNNEL, .inbound = inbound,
		.enc = c->enc, .enc_key = key, .enc_key_len = ei->key_len + ei->salt_len,
		.integ = c->mac, .auth_key = key, .auth_key_len = mi->key_len,
		.replay_window = 1024, .allow_legacy = true,
	};
	cfg.src.family = cfg.dst.family = AF_INET;
	memcpy(cfg.src.bytes, (uint8_t[]){ 203, 0, 113, 1 }, 4);
	memcpy(cfg.dst.bytes, (uint8_t[]){ 203, 0, 113, 2 }, 4);
	const char *err = NULL;
	struct ipsec_sa *sa = sad_add(sad, &cfg, &err);
	if (!sa)
		fprintf(stderr, "esp %s: %s\n", c->name, err);
	return sa;
}

static void report_esp(const char *name, size_t size, const char *dir, uint64_t n, double secs)
{
	double pps = (double)n / secs;
	printf("esp alg=%s size=%zu dir=%s gbit_s=%.2f pps=%.0f\n", name, size, dir,
	       pps * (double)size * 8 / 1e9, pps);
	fflush(stdout);
}

static int bench_esp_case(const struct esp_case *c, size_t size, double seconds)
{
	static uint8_t work[SLOT], ring[RING][SLOT];
	static size_t ring_off[RING], ring_len[RING];
	uint8_t clear[SLOT];
	struct sad *sad = sad_new(16);
	struct ipsec_sa *out = bench_sa(sad, c, false);
	struct sad *sad_in = sad_new(16);
	struct ipsec_sa *in = bench_sa(sad_in, c, true);
	if (!out || !in)
		return 1;
	make_packet(clear, size);
	const size_t off = IPSEC_HEADROOM;

	/* out: encapsulate and encrypt; only the inner header is restored per packet. */
	struct pkt p = { work, sizeof(work), off, size };
	memcpy(work + off, clear, size);
	uint64_t n = 0;
	double t0 = now(), t1;
	do {
		for (int i = 0; i < 1024; i++) {
			memcpy(work + off, clear, 20);
			p.off = off;
			p.len = size;
			if (esp_output(out, &p, 0) != DROP_NONE)
				return 1;
		}
		n += 1024;
	} while ((t1 = now()) - t0 < seconds);
	report_esp(c->name, size, "out", n, t1 - t0);

	/* in: a ring of protected packets, copied in and verified, decrypted, decapsulated. */
	out->seq = 0;
	for (int i = 0; i < RING; i++) {
		struct pkt q = { ring[i], SLOT, off, size };
		memcpy(ring[i] + off, clear, size);
		if (esp_output(out, &q, 0) != DROP_NONE)
			return 1;
		ring_off[i] = q.off;
		ring_len[i] = q.len;
	}
	n = 0;
	t0 = now();
	do {
		replay_init(&in->replay, 1024, false);   /* the ring's numbers are new again */
		for (int i = 0; i < RING; i++) {
			memcpy(work + ring_off[i], ring[i] + ring_off[i], ring_len[i]);
			struct pkt q = { work, SLOT, ring_off[i], ring_len[i] };
			enum sa_drop r = esp_input(in, &q, 0);
			if (r != DROP_NONE || q.len != size) {
				fprintf(stderr, "esp %s: inbound failed: %s\n", c->name, sa_drop_name(r));
				return 1;
			}
		}
		n += RING;
	} while ((t1 = now()) - t0 < seconds);
	report_esp(c->name, size, "in", n, t1 - t0);
	sad_free(sad);
	sad_free(sad_in);
	return 0;
}

static int bench_esp(const char *only, double seconds)
{
	static const size_t sizes[] = { 64, 512, 1400 };
	for (size_t i = 0; i < sizeof(esp_cases) / sizeof(esp_cases[0]); i++) {
		if (only && strcmp(only, esp_cases[i].name) != 0)
			continue;
		for (size_t j = 0; j < 3; j++)
			if (bench_esp_case(&esp_cases[i], sizes[j], seconds))
				return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "static") == 0) {
		unsigned n = argc >= 3 ? (unsigned)strtoul(argv[2], NULL, 10) : 10000;
		return bench_static(n ? n : 10000);
	}
	if (argc >= 2 && strcmp(argv[1], "esp") == 0) {
		double seconds = getenv("BENCH_SECONDS") ? atof(getenv("BENCH_SECONDS")) : 1.0;
		return bench_esp(argc >= 3 ? argv[2] : NULL, seconds > 0 ? seconds : 1.0);
	}
	fprintf(stderr, "usage: secpol-bench static [filters]\n"
	                "       secpol-bench esp [algorithm]      (BENCH_SECONDS per case, default 1)\n");
	return 2;
}
