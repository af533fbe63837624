/*
 * secpol-ike-load — an IKEv2 initiator load generator built on secpol's own
 * IKE engine (src/ike). It opens IKE SAs, each with its first Child SA
 * (IKE_SA_INIT + IKE_AUTH), against one responder, keeping K handshakes in
 * flight until N are established, and prints one line:
 *
 *   ike responder=<name> sas=<established> handshakes_per_s=<rate>
 *
 * The rate is established / (time of the last establishment - time of the
 * first IKE_SA_INIT sent). Exit status 0 when N were established within the
 * timeout, 1 otherwise (the engine's last failures then go to stderr).
 *
 *   secpol-ike-load --peer ADDR --local ADDR --psk KEY [--count N (3000)]
 *       [--inflight K (16)] [--mode transport|tunnel] [--mm "AESGCM128-SHA256-31"]
 *       [--qm "ESP[AESGCM128]"] [--timeout SECONDS (300)] [--delete]
 *       [--name NAME] [--encap] [--hold SECONDS (0)] [--retransmit-ms MS (1000)]
 *       [--verbose]
 *
 * It binds UDP 500 and 4500 on --local. Port 4500 carries IKE behind the
 * four-octet non-ESP marker (RFC 3948): stripped on receipt, prepended when
 * the engine sends from 4500 (a responder that detects, or fakes, a NAT
 * moves IKE there after IKE_SA_INIT, as strongSwan's kernel-libipsec does).
 * The Child SAs are not installed anywhere: the install callback only
 * counts. --delete sends a Delete for every IKE SA at the end (slow with
 * very many: the engine's flush is quadratic today); without it the
 * responder keeps them (the memory measurement relies on that).
 * --hold keeps answering the responder (liveness checks) that long after
 * the count is reached, before the Deletes and the exit.
 * --encap forces UDP encapsulation (the rule's force_encap: a faked NAT
 * detection hash, so both ends move to 4500 and negotiate ESP in UDP).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "ike/ike.h"
#include "policy/diag.h"

#define RULE_ID 1
#define DGRAM_MAX 65536
#define STATS_EVERY_MS 20        /* ike_engine_stats walks every SA: not per datagram */

struct load {
	struct ike_engine *e;
	int fd500, fd4500;
	uint64_t established;        /* Child SAs installed = handshakes completed */
	uint64_t last_est_ns;
	uint64_t send_errors, logs;
	bool verbose;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ms(void)
{
	return mono_ns() / 1000000;
}

/* ---- the engine's callbacks ---- */

static void on_send(void *ctx, const struct ike_addr *local, const struct ike_addr *remote,
                    const uint8_t *msg, size_t len)
{
	struct load *l = ctx;
	static const uint8_t marker[4] = { 0, 0, 0, 0 };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(remote->port) };
	memcpy(&to.sin_addr, remote->bytes, 4);
	bool natt = local->port == IKE_NATT_PORT;
	struct iovec iov[2] = { { (void *)marker, sizeof(marker) }, { (void *)msg, len } };
	struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof(to),
	                     .msg_iov = natt ? iov : iov + 1, .msg_iovlen = natt ? 2 : 1 };
	/* Blocking: a full send buffer waits for the link rather than losing
	 * a message that would then cost a retransmission timeout. */
	if (sendmsg(natt ? l->fd4500 : l->fd500, &mh, 0) < 0)
		l->send_errors++;
}

/* Counts, and nothing else: the Child SA goes nowhere. */
static bool on_install(void *ctx, const struct ike_child_install *c, char *err, size_t errlen)
{
	(void)c;
	(void)err;
	(void)errlen;
	struct load *l = ctx;
	l->established++;
	l->last_est_ns = mono_ns();
	return true;
}

static void on_remove(void *ctx, enum sa_proto proto, uint32_t spi_in,
                      const struct sa_address *local, uint32_t spi_out,
                      const struct sa_address *remote)
{
	(void)ctx;
	(void)proto;
	(void)spi_in;
	(void)local;
	(void)spi_out;
	(void)remote;
}

static void on_log(void *ctx, int level, const char *line)
{
	struct load *l = ctx;
	l->logs++;
	if (l->verbose || level <= LOG_ERR)
		fprintf(stderr, "secpol-ike-load: %s\n", line);
}

/* ---- sockets ---- */

static int udp_socket(const struct in_addr *addr, uint16_t port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1, big = 8 << 20;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Root may exceed rmem_max/wmem_max; otherwise the plain options. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = *addr };
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "secpol-ike-load: bind %s:%u: %s\n", inet_ntoa(*addr), port,
		        strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Everything waiting on one socket into the engine. */
static void drain(struct load *l, int fd, const struct ike_addr *local_base, uint16_t port,
                  uint8_t *buf)
{
	for (int round = 0; round < 256; round++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, DGRAM_MAX, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		uint8_t *msg = buf;
		size_t len = (size_t)n;
		if (port == IKE_NATT_PORT) {
			/* Not IKE: a NAT keepalive (0xff) or ESP (a non-zero SPI). */
			if (len < 4 || msg[0] || msg[1] || msg[2] || msg[3])
				continue;
			msg += 4;
			len -= 4;
		}
		struct ike_addr local = *local_base, remote = { .family = AF_INET };
		local.port = port;
		memcpy(remote.bytes, &from.sin_addr, 4);
		remote.port = ntohs(from.sin_port);
		ike_engine_input(l->e, &local, &remote, msg, len, mono_ms());
	}
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: secpol-ike-load --peer ADDR --local ADDR --psk KEY [--count N] [--inflight K]\n"
	        "       [--mode transport|tunnel] [--mm MMSECMETHODS] [--qm QMSECMETHODS]\n"
	        "       [--timeout SECONDS] [--delete] [--name NAME] [--encap] [--hold SECONDS]\n"
	        "       [--retransmit-ms MS] [--verbose]\n"
	        "IPv4 only. Defaults: --count 3000 --inflight 16 --mode transport\n"
	        "--mm \"AESGCM128-SHA256-31\" --qm \"ESP[AESGCM128]\" --timeout 300 --name peer\n");
}

static bool parse_count(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	const char *peer_s = NULL, *local_s = NULL, *psk = NULL, *name = "peer";
	const char *mm_s = "AESGCM128-SHA256-31", *qm_s = "ESP[AESGCM128]";
	unsigned long count = 3000, inflight = 16, timeout_s = 300, retx_ms = 1000, hold_s = 0;
	bool tunnel = false, send_delete = false, verbose = false, encap = false;
	static const struct option opts[] = {
		{ "peer", required_argument, NULL, 'p' },   { "local", required_argument, NULL, 'l' },
		{ "psk", required_argument, NULL, 'k' },    { "count", required_argument, NULL, 'n' },
		{ "inflight", required_argument, NULL, 'i' }, { "mode", required_argument, NULL, 'm' },
		{ "mm", required_argument, NULL, 'M' },     { "qm", required_argument, NULL, 'Q' },
		{ "timeout", required_argument, NULL, 't' }, { "delete", no_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'N' },   { "retransmit-ms", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },      { "help", no_argument, NULL, 'h' },
		{ "encap", no_argument, NULL, 'e' },        { "hold", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': peer_s = optarg; break;
		case 'l': local_s = optarg; break;
		case 'k': psk = optarg; break;
		case 'N': name = optarg; break;
		case 'M': mm_s = optarg; break;
		case 'Q': qm_s = optarg; break;
		case 'd': send_delete = true; break;
		case 'v': verbose = true; break;
		case 'e': encap = true; break;
		case 'm':
			if (strcmp(optarg, "tunnel") == 0)
				tunnel = true;
			else if (strcmp(optarg, "transport") != 0) {
				fprintf(stderr, "secpol-ike-load: --mode is transport or tunnel\n");
				return 2;
			}
			break;
		case 'n':
		case 'i':
		case 't':
		case 'H':
		case 'r': {
			unsigned long *v = c == 'n' ? &count : c == 'i' ? &inflight : c == 't' ? &timeout_s
			                   : c == 'H' ? &hold_s : &retx_ms;
			if (!parse_count(optarg, c == 'H' ? 0 : 1,
			                 c == 'n' ? 10000000 : c == 'i' ? 65536 : 86400000, v)) {
				fprintf(stderr, "secpol-ike-load: bad number '%s'\n", optarg);
				return 2;
			}
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	struct in_addr peer_a, local_a;
	if (optind != argc || !peer_s || !local_s || !psk || inet_pton(AF_INET, peer_s, &peer_a) != 1 ||
	    inet_pton(AF_INET, local_s, &local_a) != 1) {
		usage(stderr);
		return 2;
	}

	/* The rule: host to host, local/32 <-> peer/32; tunnel mode names the
	 * peer as the tunnel endpoint. */
	struct diag d;
	diag_init(&d);
	static struct ike_rule rule;
	rule.id = RULE_ID;
	snprintf(rule.name, sizeof(rule.name), "ike-load");
	if (!policy_parse_qmsec("qmsecmethods", qm_s, &rule.methods, &d) ||
	    !policy_auth_add(&rule.auth, AUTH_PSK, psk, &d)) {
		fprintf(stderr, "secpol-ike-load: %s\n", d.msg);
		return 2;
	}
	rule.tunnel = tunnel;
	rule.force_encap = encap;
	rule.tunnel_peer.family = AF_INET;
	memcpy(rule.tunnel_peer.bytes, &peer_a, 4);
	rule.nsel = 1;
	rule.local[0].net.family = rule.remote[0].net.family = AF_INET;
	memcpy(rule.local[0].net.bytes, &local_a, 4);
	memcpy(rule.remote[0].net.bytes, &peer_a, 4);
	rule.local[0].len = rule.remote[0].len = 32;
	struct ike_policy pol = { .ike_lifetime_s = 28800, .rules = &rule, .nrules = 1 };
	if (!policy_parse_mmsec("mmsecmethods", mm_s, &pol.mm, &d)) {
		fprintf(stderr, "secpol-ike-load: %s\n", d.msg);
		return 2;
	}

	struct load l = { .fd500 = -1, .fd4500 = -1, .verbose = verbose };
	l.fd500 = udp_socket(&local_a, IKE_PORT);
	l.fd4500 = udp_socket(&local_a, IKE_NATT_PORT);
	if (l.fd500 < 0 || l.fd4500 < 0)
		return 1;
	struct ike_config cfg = { .retransmit_ms = (unsigned)retx_ms };
	struct ike_host h = { .ctx = &l, .send = on_send, .install = on_install,
	                      .remove = on_remove, .log = on_log };
	char err[256];
	if (!(l.e = ike_engine_new(&cfg, &h)) || !ike_engine_set_policy(l.e, &pol, err, sizeof(err))) {
		fprintf(stderr, "secpol-ike-load: cannot set up the IKE engine: %s\n",
		        l.e ? err : "out of memory");
		return 1;
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = l.fd500 };
	epoll_ctl(ep, EPOLL_CTL_ADD, l.fd500, &ev);
	ev.data.fd = l.fd4500;
	epoll_ctl(ep, EPOLL_CTL_ADD, l.fd4500, &ev);
	uint8_t *buf = malloc(DGRAM_MAX);
	if (ep < 0 || !buf)
		return 1;

	struct ike_addr local = { .family = AF_INET, .port = IKE_PORT };
	struct ike_addr remote = { .family = AF_INET, .port = IKE_PORT };
	memcpy(local.bytes, &local_a, 4);
	memcpy(remote.bytes, &peer_a, 4);

	uint64_t started = 0, failed = 0;
	uint64_t t0_ns = mono_ns();
	uint64_t deadline_ms = t0_ns / 1000000 + timeout_s * 1000;
	uint64_t next_tick = UINT64_MAX, next_stats = 0;
	for (;;) {
		uint64_t now = mono_ms();
		/* Failures free their slot too (ike_fail counts every failed
		 * negotiation; this initiator starts nothing after IKE_AUTH, so
		 * every failure is a handshake's). */
		if (now >= next_stats) {
			struct ike_stats s;
			ike_engine_stats(l.e, &s);
			failed = s.negotiation_failures;
			next_stats = now + STATS_EVERY_MS;
		}
		if (l.established >= count || now >= deadline_ms)
			break;
		while (started - l.established - failed < inflight &&
		       l.established + (started - l.established - failed) < count) {
			ike_engine_initiate(l.e, RULE_ID, &local, &remote, now);
			started++;
			if (now + retx_ms < next_tick)
				next_tick = now + retx_ms;
		}
		/* The tick walks every SA: only when a timer is due (retransmissions,
		 * expiries), not after every datagram. */
		if (now >= next_tick)
			next_tick = ike_engine_tick(l.e, now);
		uint64_t wake = next_tick < deadline_ms ? next_tick : deadline_ms;
		if (next_stats < wake)
			wake = next_stats;
		int wait_ms = wake > now ? (int)(wake - now) : 0;
		struct epoll_event evs[2];
		int n = epoll_wait(ep, evs, 2, wait_ms);
		for (int k = 0; k < n; k++)
			drain(&l, evs[k].data.fd, &local, evs[k].data.fd == l.fd4500 ? IKE_NATT_PORT : IKE_PORT,
			      buf);
	}
	uint64_t end_ns = l.established ? l.last_est_ns : mono_ns();
	double secs = (double)(end_ns - t0_ns) / 1e9;
	double rate = secs > 0 ? (double)l.established / secs : 0;
	struct ike_stats s;
	ike_engine_stats(l.e, &s);
	bool ok = l.established >= count;
	if (!ok || verbose) {
		fprintf(stderr,
		        "secpol-ike-load: %llu of %lu established in %.3f s; %llu initiated, %llu failed, "
		        "%llu retransmissions, %llu invalid packets, %llu send errors\n",
		        (unsigned long long)l.established, count, secs, (unsigned long long)started,
		        (unsigned long long)s.negotiation_failures, (unsigned long long)s.retransmissions,
		        (unsigned long long)s.invalid_packets_received,
		        (unsigned long long)l.send_errors);
		if (!ok) {
			fprintf(stderr, "secpol-ike-load: the last failures:\n");
			ike_engine_show_failures(l.e, stderr);
		}
	}
	/* Still the peer of every SA: answer liveness checks and the like. */
	for (uint64_t until = mono_ms() + hold_s * 1000, now = mono_ms(); now < until;
	     now = mono_ms()) {
		if (now >= next_tick)
			next_tick = ike_engine_tick(l.e, now);
		uint64_t wake = next_tick < until ? next_tick : until;
		struct epoll_event evs[2];
		int n = epoll_wait(ep, evs, 2, wake > now ? (int)(wake - now) : 0);
		for (int k = 0; k < n; k++)
			drain(&l, evs[k].data.fd, &local, evs[k].data.fd == l.fd4500 ? IKE_NATT_PORT : IKE_PORT,
			      buf);
	}
	if (send_delete) {
		ike_engine_flush(l.e, mono_ms());
		/* Answers to the Deletes are not awaited: let them arrive and go. */
		usleep(100000);
	}
	printf("ike responder=%s sas=%llu handshakes_per_s=%.0f\n", name,
	       (unsigned long long)l.established, rate);
	fflush(stdout);
	/* No ike_engine_free: with 100,000 SAs it takes minutes (every Child SA
	 * removed is appended to the engine's linger list by walking it, see
	 * child_remove), and the process ends here anyway. */
	free(buf);
	close(ep);
	close(l.fd500);
	close(l.fd4500);
	return ok ? 0 : 1;
}
