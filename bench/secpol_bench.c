/*
 * secpol-bench — benchmarks that print numbers (never pass/fail).
 *
 *   secpol-bench static [filters]   a policy of N filters (default 10000) built
 *                                   through the script interface, then `show all`
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "static") == 0) {
		unsigned n = argc >= 3 ? (unsigned)strtoul(argv[2], NULL, 10) : 10000;
		return bench_static(n ? n : 10000);
	}
	fprintf(stderr, "usage: secpol-bench static [filters]\n");
	return 2;
}
