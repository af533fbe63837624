/*
 * steer_tool — drives src/driver/steer.h from the command line, for the
 * network namespace test and for debugging by hand:
 *
 *   steer_tool [options] render|apply RULE...         (RULE "-": lines from stdin)
 *   steer_tool [options] render-block|apply-block EXEMPTION...
 *   steer_tool [options] remove|route-install|route-remove
 *
 * options: -t TABLE (secpol)  -i TUN (secpol0)  -m STEER_MARK (0x5ec0)
 *          -b BYPASS_MARK (0x5ec1)  -r ROUTE_TABLE (1516)  -p RULE_PRIORITY (1516)
 *
 * RULE, one argument (fields separated by blanks), evaluated in order:
 *   in|out permit|block|negotiate SRC DST [PROTO [SPORT [DPORT [inpass]]]]
 *   SRC, DST: ADDR[/LEN] or "any" (the family comes from the other side;
 *   write 0.0.0.0/0 or ::/0 when both are any). PROTO: any, icmp, tcp, udp,
 *   icmpv6 or a number. Ports: 0 = any.
 * EXEMPTION, as netsh writes it: PROTO:SPORT:DPORT:inbound|outbound.
 *
 * Probes for the behavioural test, so that it needs neither ping nor nc
 * (exit 0 = success, 1 = no answer in time):
 *   steer_tool ping ADDR [TIMEOUT_MS]       ICMP / ICMPv6 echo (raw socket)
 *   steer_tool tcp-listen PORT SECONDS      accepts one connection (v4 + v6)
 *   steer_tool tcp-connect ADDR PORT SECONDS
 *   steer_tool tun-read DEV SECONDS PROTO DST   waits for such a packet on a TUN
 * tcp-listen and tun-read print "ready" once they can receive.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "driver/steer.h"

#define MAX_ITEMS 1024
#define ERRLEN 8192

static void usage(void)
{
	fputs("usage: steer_tool [-t table] [-i tun] [-m steer_mark] [-b bypass_mark]\n"
	      "                  [-r route_table] [-p rule_priority] COMMAND [ARG...]\n"
	      "commands: render|apply RULE... ; render-block|apply-block EXEMPTION... ;\n"
	      "          remove ; route-install ; route-remove ;\n"
	      "          ping ADDR [MS] ; tcp-listen PORT S ; tcp-connect ADDR PORT S ;\n"
	      "          tun-read DEV S PROTO DST\n"
	      "RULE: in|out permit|block|negotiate SRC DST [PROTO [SPORT [DPORT [inpass]]]]\n"
	      "EXEMPTION: PROTO:SPORT:DPORT:inbound|outbound\n", stderr);
}

static bool parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v > max || *s == '-')
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_proto(const char *s, uint8_t *out)
{
	static const struct { const char *name; uint8_t num; } names[] = {
		{ "any", 0 }, { "icmp", 1 }, { "tcp", 6 }, { "udp", 17 },
		{ "icmpv6", 58 }, { "raw", 255 },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].name)) {
			*out = names[i].num;
			return true;
		}
	uint32_t v;
	if (!parse_u32(s, 255, &v))
		return false;
	*out = (uint8_t)v;
	return true;
}

static bool parse_port(const char *s, uint16_t *out)
{
	uint32_t v;
	if (!parse_u32(s, 65535, &v))
		return false;
	*out = (uint16_t)v;
	return true;
}

/* ADDR[/LEN] into family/addr/len; "any" leaves family 0. */
static bool parse_prefix(const char *s, uint8_t *family, uint8_t addr[16], uint8_t *len)
{
	char buf[INET6_ADDRSTRLEN + 8];
	*family = 0;
	*len = 0;
	memset(addr, 0, 16);
	if (!strcasecmp(s, "any"))
		return true;
	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return false;
	char *slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, buf, addr) == 1)
		*family = AF_INET6;
	else
		return false;
	uint32_t width = *family == AF_INET ? 32 : 128, v = width;
	if (slash && !parse_u32(slash, width, &v))
		return false;
	*len = (uint8_t)v;
	return true;
}

static bool parse_dir(const char *s, enum spd_dir *dir)
{
	if (!strcasecmp(s, "in") || !strcasecmp(s, "inbound"))
		*dir = SPD_INBOUND;
	else if (!strcasecmp(s, "out") || !strcasecmp(s, "outbound"))
		*dir = SPD_OUTBOUND;
	else
		return false;
	return true;
}

static bool parse_action(const char *s, enum filter_action_kind *a)
{
	if (!strcasecmp(s, "permit"))
		*a = ACTION_PERMIT;
	else if (!strcasecmp(s, "block"))
		*a = ACTION_BLOCK;
	else if (!strcasecmp(s, "negotiate"))
		*a = ACTION_NEGOTIATE;
	else
		return false;
	return true;
}

static bool parse_family(struct steer_rule *r, const char *src, const char *dst)
{
	uint8_t fs, fd;
	if (!parse_prefix(src, &fs, r->src, &r->src_len) ||
	    !parse_prefix(dst, &fd, r->dst, &r->dst_len))
		return false;
	if (fs && fd && fs != fd)
		return false;
	r->family = fs ? fs : fd;
	return r->family != 0;
}

static bool parse_rule(const char *line, struct steer_rule *r)
{
	char buf[512], *f[9], *save = NULL;
	int n = 0;
	if (snprintf(buf, sizeof(buf), "%s", line) >= (int)sizeof(buf))
		return false;
	for (char *t = strtok_r(buf, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
		if (n == 8)
			return false;
		f[n++] = t;
	}
	memset(r, 0, sizeof(*r));
	if (n < 4 || !parse_dir(f[0], &r->dir) || !parse_action(f[1], &r->action) ||
	    !parse_family(r, f[2], f[3]))
		return false;
	if (n > 4 && !parse_proto(f[4], &r->protocol))
		return false;
	if (n > 5 && !parse_port(f[5], &r->src_port))
		return false;
	if (n > 6 && !parse_port(f[6], &r->dst_port))
		return false;
	if (n > 7) {
		if (strcasecmp(f[7], "inpass"))
			return false;
		r->inpass = true;
	}
	return true;
}

static bool parse_exemption(const char *s, struct steer_exemption *e)
{
	char buf[128], *f[4], *save = NULL;
	int n = 0;
	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return false;
	for (char *t = strtok_r(buf, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
		if (n == 4)
			return false;
		f[n++] = t;
	}
	memset(e, 0, sizeof(*e));
	return n == 4 && parse_proto(f[0], &e->protocol) && parse_port(f[1], &e->src_port) &&
	       parse_port(f[2], &e->dst_port) && parse_dir(f[3], &e->dir);
}

/* Rules from argv; "-" reads one rule a line from stdin (# comments). */
static size_t read_rules(char **arg, int n, struct steer_rule *r)
{
	size_t count = 0;
	char line[512];
	for (int i = 0; i < n; i++) {
		if (strcmp(arg[i], "-")) {
			if (count == MAX_ITEMS || !parse_rule(arg[i], &r[count])) {
				fprintf(stderr, "steer_tool: bad rule \"%s\"\n", arg[i]);
				exit(2);
			}
			count++;
			continue;
		}
		while (fgets(line, sizeof(line), stdin)) {
			line[strcspn(line, "#\n")] = '\0';
			if (strspn(line, " \t") == strlen(line))
				continue;
			if (count == MAX_ITEMS || !parse_rule(line, &r[count])) {
				fprintf(stderr, "steer_tool: bad rule \"%s\"\n", line);
				exit(2);
			}
			count++;
		}
	}
	return count;
}

static size_t read_exemptions(char **arg, int n, struct steer_exemption *e)
{
	if (n > MAX_ITEMS) {
		fputs("steer_tool: too many exemptions\n", stderr);
		exit(2);
	}
	for (int i = 0; i < n; i++)
		if (!parse_exemption(arg[i], &e[i])) {
			fprintf(stderr, "steer_tool: bad exemption \"%s\"\n", arg[i]);
			exit(2);
		}
	return (size_t)n;
}

static int print_script(char *s)
{
	if (!s) {
		fputs("steer_tool: render failed (invalid input or out of memory)\n", stderr);
		return 1;
	}
	fputs(s, stdout);
	free(s);
	return 0;
}

static int result(bool ok, const char *err)
{
	if (ok)
		return 0;
	fprintf(stderr, "steer_tool: %s\n", err);
	return 1;
}

/* ---- probes ---------------------------------------------------------- */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is readable (or writable) or the deadline passes. */
static bool wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return false;
		struct pollfd p = { .fd = fd, .events = events };
		int rc = poll(&p, 1, (int)left);
		if (rc > 0)
			return true;
		if (rc < 0 && errno != EINTR)
			return false;
	}
}

static uint16_t inet_csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static int cmd_ping(const char *addr, int timeout_ms)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	bool v6 = false;
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1)
		s6->sin6_family = AF_INET6, v6 = true;
	else
		return 2;
	int fd = v6 ? socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6) : socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (fd < 0) {
		perror("steer_tool: raw socket");
		return 2;
	}
	uint16_t id = (uint16_t)getpid();
	uint8_t pkt[24] = { v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO, 0, 0, 0,
			    (uint8_t)(id >> 8), (uint8_t)id, 0, 1, 's', 't', 'e', 'e', 'r' };
	if (!v6) {   /* the kernel fills in the ICMPv6 checksum, not ICMP's */
		uint16_t sum = inet_csum(pkt, sizeof(pkt));
		memcpy(pkt + 2, &sum, 2);
	}
	socklen_t sl = v6 ? sizeof(*s6) : sizeof(*s4);
	if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&ss, sl) < 0) {
		/* e.g. EPERM: dropped by our own output chain */
		fprintf(stderr, "steer_tool: ping %s: %s\n", addr, strerror(errno));
		close(fd);
		return 1;
	}
	long long deadline = now_ms() + timeout_ms;
	uint8_t buf[2048];
	while (wait_fd(fd, POLLIN, deadline)) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		if (len <= 0)
			continue;
		size_t off = v6 ? 0 : (size_t)(buf[0] & 0x0f) * 4;  /* v4: IP header */
		if ((size_t)len < off + 8)
			continue;
		const uint8_t *icmp = buf + off;
		if (icmp[0] == (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY) &&
		    icmp[4] == (uint8_t)(id >> 8) && icmp[5] == (uint8_t)id) {
			close(fd);
			return 0;
		}
	}
	close(fd);
	return 1;
}

static int cmd_tcp_listen(uint16_t port, int seconds)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0), zero = 0, one = 1;
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				  .sin6_addr = IN6ADDR_ANY_INIT };
	if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0) {
		perror("steer_tool: tcp-listen");
		return 2;
	}
	printf("ready\n");
	fflush(stdout);
	bool ok = wait_fd(fd, POLLIN, now_ms() + seconds * 1000LL);
	if (ok) {
		int c = accept(fd, NULL, NULL);
		ok = c >= 0;
		if (ok)
			close(c);
	}
	printf(ok ? "accepted\n" : "timeout\n");
	close(fd);
	return ok ? 0 : 1;
}

static int cmd_tcp_connect(const char *addr, uint16_t port, int seconds)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		sl = sizeof(*s6);
	} else {
		return 2;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 2;
	int rc = connect(fd, (struct sockaddr *)&ss, sl);
	if (rc < 0 && errno == EINPROGRESS) {
		int soerr = ETIMEDOUT;
		socklen_t len = sizeof(soerr);
		if (wait_fd(fd, POLLOUT, now_ms() + seconds * 1000LL))
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
		rc = soerr ? -1 : 0;
		errno = soerr;
	}
	if (rc < 0)
		fprintf(stderr, "steer_tool: connect %s port %u: %s\n", addr, port, strerror(errno));
	close(fd);
	return rc == 0 ? 0 : 1;
}

/* Attaches to the (persistent) TUN device and waits for a packet with this
 * protocol and destination: proof that the kernel steered it there. */
static int cmd_tun_read(const char *dev, int seconds, uint8_t proto, const char *dst)
{
	uint8_t want[16];
	bool v6 = inet_pton(AF_INET6, dst, want) == 1;
	if (!v6 && inet_pton(AF_INET, dst, want) != 1)
		return 2;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		perror("steer_tool: tun-read");
		return 2;
	}
	printf("ready\n");
	fflush(stdout);
	long long deadline = now_ms() + seconds * 1000LL;
	uint8_t buf[65536];
	while (wait_fd(fd, POLLIN, deadline)) {
		ssize_t len = read(fd, buf, sizeof(buf));
		if (len < 40)
			continue;
		bool is6 = buf[0] >> 4 == 6;
		if (is6 != v6 || (is6 ? buf[6] : buf[9]) != proto ||
		    memcmp(is6 ? buf + 24 : buf + 16, want, is6 ? 16 : 4))
			continue;   /* e.g. the kernel's own ND/MLD on the link */
		printf("steered: %s proto %u to %s\n", v6 ? "ipv6" : "ipv4", proto, dst);
		close(fd);
		return 0;
	}
	printf("timeout\n");
	close(fd);
	return 1;
}

static int probe(const char *cmd, char **a, int n)
{
	uint32_t s, port;
	uint8_t proto;
	if (!strcmp(cmd, "ping") && (n == 1 || n == 2)) {
		uint32_t ms = 1000;
		if (n == 2 && !parse_u32(a[1], 600000, &ms))
			return 2;
		return cmd_ping(a[0], (int)ms);
	}
	if (!strcmp(cmd, "tcp-listen") && n == 2 && parse_u32(a[0], 65535, &port) &&
	    parse_u32(a[1], 600, &s))
		return cmd_tcp_listen((uint16_t)port, (int)s);
	if (!strcmp(cmd, "tcp-connect") && n == 3 && parse_u32(a[1], 65535, &port) &&
	    parse_u32(a[2], 600, &s))
		return cmd_tcp_connect(a[0], (uint16_t)port, (int)s);
	if (!strcmp(cmd, "tun-read") && n == 4 && parse_u32(a[1], 600, &s) &&
	    parse_proto(a[2], &proto))
		return cmd_tun_read(a[0], (int)s, proto, a[3]);
	usage();
	return 2;
}

/* ---- main ------------------------------------------------------------ */

static bool parse_options(int argc, char **argv, struct steer_config *c)
{
	int opt;
	while ((opt = getopt(argc, argv, "+t:i:m:b:r:p:h")) != -1) {
		uint32_t *field = NULL;
		switch (opt) {
		case 't': c->table = optarg; continue;
		case 'i': c->tun = optarg; continue;
		case 'm': field = &c->steer_mark; break;
		case 'b': field = &c->bypass_mark; break;
		case 'r': field = &c->route_table; break;
		case 'p': field = &c->rule_priority; break;
		default: return false;
		}
		if (!parse_u32(optarg, UINT32_MAX, field))
			return false;
	}
	return optind < argc;
}

int main(int argc, char **argv)
{
	struct steer_config c = { .table = "secpol", .tun = "secpol0", .steer_mark = 0x5ec0,
				  .bypass_mark = 0x5ec1, .route_table = 1516,
				  .rule_priority = 1516 };
	if (!parse_options(argc, argv, &c)) {
		usage();
		return 2;
	}
	const char *cmd = argv[optind];
	char **a = argv + optind + 1;
	int n = argc - optind - 1;
	static struct steer_rule rules[MAX_ITEMS];
	static struct steer_exemption ex[MAX_ITEMS];
	static char err[ERRLEN];

	if (!strcmp(cmd, "render"))
		return print_script(steer_render(&c, rules, read_rules(a, n, rules)));
	if (!strcmp(cmd, "apply"))
		return result(steer_apply(&c, rules, read_rules(a, n, rules), err, sizeof(err)), err);
	if (!strcmp(cmd, "render-block"))
		return print_script(steer_render_block(&c, ex, read_exemptions(a, n, ex)));
	if (!strcmp(cmd, "apply-block"))
		return result(steer_apply_block(&c, ex, read_exemptions(a, n, ex), err, sizeof(err)),
			      err);
	if (!strcmp(cmd, "remove") && n == 0)
		return result(steer_remove(&c, err, sizeof(err)), err);
	if (!strcmp(cmd, "route-install") && n == 0)
		return result(route_install(&c, err, sizeof(err)), err);
	if (!strcmp(cmd, "route-remove") && n == 0)
		return result(route_remove(&c, err, sizeof(err)), err);
	return probe(cmd, a, n);
}
