/*
 * secpol-bench — benchmarks that print numbers (never pass/fail).
 *
 *   secpol-bench static [filters]   a policy of N filters (default 10000) built
 *                                   through the script interface, then `show all`
 *   secpol-bench esp [algorithm]    ESP tunnel mode per algorithm at 64, 512 and
 *                                   1400 octets, out (encapsulate + encrypt) and in
 *                                   (replay check + verify + decrypt + decapsulate)
 *   secpol-bench spd                SPD lookups/s and bytes per filter at 100,
 *                                   10,000 and 100,000 random filters
 *   secpol-bench outbound           the data path's search for a packet's outbound
 *                                   Child SA with 1 to 10,000 peers (one transport
 *                                   SA each, one rule): the index (sa_index.c)
 *                                   against a walk over every SA, the search it
 *                                   replaced
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "driver/internal.h"
#include "esp/esp.h"
#include "netsh/netsh.h"
#include "spd/spd.h"

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

/*
 * The CPU time of this thread: `openssl speed`, which esp_vs_openssl.sh puts
 * beside these numbers, reports user CPU time, so both leave out the time
 * another process on a shared machine has the core.
 */
static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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
	double t0 = cpu_now(), t1;
	do {
		for (int i = 0; i < 1024; i++) {
			memcpy(work + off, clear, 20);
			p.off = off;
			p.len = size;
			if (esp_output(out, &p, 0) != DROP_NONE)
				return 1;
		}
		n += 1024;
	} while ((t1 = cpu_now()) - t0 < seconds);
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
	t0 = cpu_now();
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
	} while ((t1 = cpu_now()) - t0 < seconds);
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

/* ---- spd: the classifier, single thread ------------------------------------------ */

static uint64_t spd_rng = 0x243f6a8885a308d3ull;

static uint32_t spd_rand(void)
{
	spd_rng ^= spd_rng << 13;
	spd_rng ^= spd_rng >> 7;
	spd_rng ^= spd_rng << 17;
	return (uint32_t)(spd_rng >> 16);
}

static void spd_rand_addr(uint8_t family, uint8_t a[16])
{
	memset(a, 0, 16);
	for (int i = 0; i < (family == AF_INET ? 4 : 16); i++)
		a[i] = (uint8_t)spd_rand();
	if (family == AF_INET6) {        /* global unicast, 2001:db8::/32 */
		a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8;
	}
}

/*
 * Prefix lengths as policies use them: mostly hosts, then the usual subnet
 * sizes and `any`, and a fifth of arbitrary lengths.
 */
static uint8_t spd_rand_len(uint8_t family)
{
	unsigned w = family == AF_INET ? 32 : 128, r = spd_rand() % 100;
	if (r < 40)
		return (uint8_t)w;
	if (r < 60)
		return (uint8_t)(w == 32 ? 24 : 64);
	if (r < 70)
		return (uint8_t)(w == 32 ? 16 : 48);
	if (r < 80)
		return 0;
	return (uint8_t)(spd_rand() % (w + 1));
}

static struct spd_filter spd_rand_filter(uint32_t id)
{
	static const uint8_t protos[] = { 0, 0, 0, 0, 6, 6, 17, 17, 17, 1 };
	struct spd_filter f = { .rule_id = id, .order = id };
	f.family = spd_rand() % 5 ? AF_INET : AF_INET6;
	spd_rand_addr(f.family, f.src);
	spd_rand_addr(f.family, f.dst);
	f.src_len = spd_rand_len(f.family);
	f.dst_len = spd_rand_len(f.family);
	f.protocol = protos[spd_rand() % 10];
	if (f.protocol == 6 || f.protocol == 17) {
		f.src_port = spd_rand() % 5 == 0 ? (uint16_t)(1 + spd_rand() % 65535) : 0;
		f.dst_port = spd_rand() % 5 < 3 ? (uint16_t)(1 + spd_rand() % 65535) : 0;
	}
	f.dir = spd_rand() % 2 ? SPD_OUTBOUND : SPD_INBOUND;
	f.action = (enum filter_action_kind)(spd_rand() % 3);
	f.tunnel = spd_rand() % 10 == 0;
	return f;
}

/* A packet inside f (host bits and unspecified fields random). */
static void spd_packet_in(const struct spd_filter *f, struct spd_packet *p)
{
	p->family = f->family;
	spd_rand_addr(f->family, p->src);
	spd_rand_addr(f->family, p->dst);
	for (unsigned i = 0; i < 16; i++) {
		unsigned sb = f->src_len > 8 * i ? f->src_len - 8 * i : 0;
		unsigned db = f->dst_len > 8 * i ? f->dst_len - 8 * i : 0;
		uint8_t sm = sb >= 8 ? 0xff : (uint8_t)(0xff00 >> sb);
		uint8_t dm = db >= 8 ? 0xff : (uint8_t)(0xff00 >> db);
		p->src[i] = (uint8_t)((f->src[i] & sm) | (p->src[i] & ~sm));
		p->dst[i] = (uint8_t)((f->dst[i] & dm) | (p->dst[i] & ~dm));
	}
	p->protocol = f->protocol ? f->protocol : (uint8_t)(spd_rand() % 2 ? 6 : 17);
	p->src_port = f->src_port ? f->src_port : (uint16_t)(1 + spd_rand() % 65535);
	p->dst_port = f->dst_port ? f->dst_port : (uint16_t)(1 + spd_rand() % 65535);
}

#define SPD_PACKETS (1u << 16)

static int bench_spd_size(unsigned filters, double seconds)
{
	struct spd_builder *b = spd_builder_new();
	struct spd_filter *fs = malloc(filters * sizeof(*fs));
	struct spd_packet *pk = calloc(SPD_PACKETS, sizeof(*pk));
	uint8_t *dirs = malloc(SPD_PACKETS);
	if (!b || !fs || !pk || !dirs)
		return 1;
	const char *err = NULL;
	for (unsigned i = 0; i < filters; i++) {
		fs[i] = spd_rand_filter(i + 1);
		bool ok = spd_rand() % 2 ? spd_builder_add_mirrored(b, &fs[i], &err)
		                         : spd_builder_add(b, &fs[i], &err);
		if (!ok) {
			fprintf(stderr, "spd: %s\n", err);
			return 1;
		}
	}
	struct spd *s = spd_build(b, &err);
	spd_builder_free(b);
	if (!s) {
		fprintf(stderr, "spd: %s\n", err);
		return 1;
	}
	/* Half the packets inside some filter, half random. */
	for (unsigned i = 0; i < SPD_PACKETS; i++) {
		if (i % 2) {
			const struct spd_filter *f = &fs[spd_rand() % filters];
			spd_packet_in(f, &pk[i]);
			dirs[i] = (uint8_t)f->dir;
		} else {
			struct spd_filter f = spd_rand_filter(0);
			f.src_len = f.dst_len = 0;
			f.protocol = 0;
			f.src_port = f.dst_port = 0;
			spd_packet_in(&f, &pk[i]);
			dirs[i] = (uint8_t)(spd_rand() % 2);
		}
	}
	uint64_t n = 0, hits = 0;
	double t0 = now(), t1;
	do {
		for (unsigned i = 0; i < SPD_PACKETS; i++) {
			struct spd_match m;
			hits += spd_lookup(s, &pk[i], (enum spd_dir)dirs[i], &m);
		}
		n += SPD_PACKETS;
	} while ((t1 = now()) - t0 < seconds);
	printf("spd filters=%u lookups_per_s=%.0f bytes_per_filter=%.0f\n", filters,
	       (double)n / (t1 - t0), (double)spd_memory(s) / filters);
	fprintf(stderr, "spd filters=%u one_way=%zu matched=%.1f%%\n", filters,
	        spd_filter_count(s), 100.0 * (double)hits / (double)n);
	fflush(stdout);
	spd_free(s);
	free(fs);
	free(pk);
	free(dirs);
	return 0;
}

static int bench_spd(double seconds)
{
	static const unsigned sizes[] = { 100, 10000, 100000 };
	for (size_t i = 0; i < 3; i++)
		if (bench_spd_size(sizes[i], seconds))
			return 1;
	return 0;
}

/* ---- outbound: a packet's Child SA among many ----------------------------------- */

/* The search before the index: every SA of the driver, newest first. */
static struct child_sa *walk_all(struct child_sa *all, const struct spd_packet *p,
                                 uint32_t rule_id, uint64_t now)
{
	for (struct child_sa *cs = all; cs; cs = cs->next)
		if (!cs->sa->inbound && (cs->rule_id == 0 || cs->rule_id == rule_id) &&
		    child_carries(cs, p) && sa_usable(cs->sa, now))
			return cs;
	return NULL;
}

static void peer_addr(unsigned i, uint8_t a[16])
{
	memset(a, 0, 16);   /* 2001:db8::/32, one host per peer */
	a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8;
	a[12] = (uint8_t)(i >> 24), a[13] = (uint8_t)(i >> 16);
	a[14] = (uint8_t)(i >> 8), a[15] = (uint8_t)i;
}

static int bench_outbound_one(unsigned peers, double seconds)
{
	static const uint8_t key[20] = { 1, 2, 3 };
	struct sad *sad = sad_new(peers * 2);
	struct sa_index *ix = malloc(sizeof(*ix));
	struct child_sa *cs = calloc((size_t)peers * 2, sizeof(*cs));
	if (!sad || !ix || !cs)
		return 1;
	sa_index_init(ix);
	struct child_sa *all = NULL;
	/* An inbound and an outbound SA per peer, as IKE installs them; the
	 * walk passes over both kinds, as the driver's list holds both. */
	for (unsigned i = 0; i < peers * 2; i++) {
		bool in = i % 2;
		struct sa_config c = { .spi = 0x1000 + i, .proto = SA_PROTO_ESP,
		                       .mode = SA_TRANSPORT, .inbound = in, .enc = ENC_AES128_GCM,
		                       .enc_key = key, .enc_key_len = sizeof(key) };
		c.src.family = c.dst.family = AF_INET6;
		peer_addr(0, in ? c.dst.bytes : c.src.bytes);
		peer_addr(i / 2 + 1, in ? c.src.bytes : c.dst.bytes);
		const char *why;
		struct child_sa *x = &cs[i];
		if (!(x->sa = sad_add(sad, &c, &why)))
			return 1;
		x->rule_id = 7;
		x->src = c.src;
		x->dst = c.dst;
		x->src_len = x->dst_len = 128;
		x->next = all;
		all = x;
		if (!in)
			sa_index_add(ix, x, false);
	}
	for (int way = 0; way < 2; way++) {
		uint64_t n = 0, found = 0;
		double t0 = now(), t1;
		struct spd_packet p = { .family = AF_INET6, .protocol = 6, .src_port = 1024,
		                        .dst_port = 443 };
		peer_addr(0, p.src);
		do {
			for (unsigned k = 0; k < 1024; k++) {
				peer_addr(spd_rand() % peers + 1, p.dst);
				struct child_sa *hit = way ? walk_all(all, &p, 7, 0)
				                           : sa_index_find(ix, &p, 7, 0);
				found += hit != NULL;
			}
			n += 1024;
		} while ((t1 = now()) - t0 < seconds);
		if (found != n) {
			fprintf(stderr, "outbound: %s missed SAs\n", way ? "walk" : "index");
			return 1;
		}
		printf("outbound peers=%u search=%s lookups_s=%.0f ns_per_lookup=%.1f\n", peers,
		       way ? "walk" : "index", (double)n / (t1 - t0), (t1 - t0) * 1e9 / (double)n);
	}
	sad_free(sad);
	free(ix);
	free(cs);
	return 0;
}

static int bench_outbound(double seconds)
{
	static const unsigned sizes[] = { 1, 10, 100, 1000, 10000 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (bench_outbound_one(sizes[i], seconds))
			return 1;
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
	if (argc >= 2 && strcmp(argv[1], "spd") == 0) {
		double seconds = getenv("BENCH_SECONDS") ? atof(getenv("BENCH_SECONDS")) : 1.0;
		return bench_spd(seconds > 0 ? seconds : 1.0);
	}
	if (argc >= 2 && strcmp(argv[1], "outbound") == 0) {
		double seconds = getenv("BENCH_SECONDS") ? atof(getenv("BENCH_SECONDS")) : 1.0;
		return bench_outbound(seconds > 0 ? seconds : 1.0);
	}
	fprintf(stderr, "usage: secpol-bench static [filters]\n"
	                "       secpol-bench esp [algorithm]      (BENCH_SECONDS per case, default 1)\n"
	                "       secpol-bench spd                  (BENCH_SECONDS per size, default 1)\n"
	                "       secpol-bench outbound             (BENCH_SECONDS per case, default 1)\n");
	return 2;
}
