/*
 * rx_tool — the driver's receive worker (src/driver/worker.c) through a real
 * driver, run by rx_netns_test.sh inside a network namespace of its own
 * (192.0.2.1 on a veth device): ESP packets whose SA is not installed yet
 * are held (rx_hold), and a decrypted packet must be traffic its SA was
 * negotiated for (RFC 4301 §5.2: the SA's selectors, ports included).
 *
 * The race it stands for: a peer answering our rekey installs the new SAs
 * and sends on them at once, before our IKE thread has installed the
 * inbound SA. Here the "peer" is this program: it seals UDP datagrams with
 * a SAD of its own and sends them to the driver's raw socket, and installs
 * the driver's inbound SA itself, before or after, at chosen times.
 *
 * Checks, each with the count of bad-SPI drops the driver reports:
 *   1. a packet sent 50 ms before its SA is installed is delivered, and is
 *      no bad SPI;
 *   2. a packet whose SA never comes is a bad SPI once RX_HOLD_MS passed,
 *      and is not delivered;
 *   3. 40 packets before their SA: the 8 oldest give up their places (bad
 *      SPIs at once), the 32 newest are delivered, in order;
 *   4. a packet for an installed SA goes through as always;
 *   5. an SA agreed for UDP to port 5555 only: a datagram to 5555 is
 *      delivered, one to 5556 (sealed with the right keys) is dropped as
 *      a selector mismatch.
 * Exit 0: all passed; 1: a check failed (said on stderr); 2: set-up failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "driver/driver.h"
#include "esp/esp.h"

#define PORT 5555
#define CAP 2048

static const uint8_t LOCAL[4] = { 192, 0, 2, 1 }, PEER[4] = { 192, 0, 2, 2 };
static const uint8_t KEY[20] = { 0x5e, 0xc0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                 17, 18 };
static int failures;

static void fail(const char *what, long got, long want)
{
	fprintf(stderr, "FAIL: %s: got %ld, want %ld\n", what, got, want);
	failures++;
}

static void expect(const char *what, long got, long want)
{
	if (got != want)
		fail(what, got, want);
	else
		printf("ok: %s (%ld)\n", what, got);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

static struct sa_config sa_cfg(uint32_t spi, bool inbound)
{
	struct sa_config c = { .spi = spi, .proto = SA_PROTO_ESP, .mode = SA_TRANSPORT,
	                       .inbound = inbound, .enc = ENC_AES128_GCM, .enc_key = KEY,
	                       .enc_key_len = sizeof(KEY), .replay_window = 64 };
	c.src.family = c.dst.family = AF_INET;
	memcpy(c.src.bytes, PEER, 4);
	memcpy(c.dst.bytes, LOCAL, 4);
	return c;
}

/* Gives the driver the inbound SA spi, carrying PEER -> LOCAL (only UDP to
 * udp_port, when not 0). */
static bool install(struct driver *d, uint32_t spi, uint16_t udp_port)
{
	struct child_sa_config c = { .sa = sa_cfg(spi, true), .src_len = 32, .dst_len = 32 };
	c.src = c.sa.src;
	c.dst = c.sa.dst;
	if (udp_port) {
		struct spd_selector *from = &c.traffic.src[0], *to = &c.traffic.dst[0];
		c.traffic.nsrc = c.traffic.ndst = 1;
		from->family = to->family = AF_INET;
		from->protocol = to->protocol = IPPROTO_UDP;
		from->port_hi = 65535;
		to->port_lo = to->port_hi = udp_port;
		memcpy(from->lo, PEER, 4);
		memcpy(from->hi, PEER, 4);
		memcpy(to->lo, LOCAL, 4);
		memcpy(to->hi, LOCAL, 4);
	}
	char err[256];
	if (!driver_sa_add(d, &c, err, sizeof(err))) {
		fprintf(stderr, "driver_sa_add: %s\n", err);
		return false;
	}
	return true;
}

/* Seals a UDP datagram PEER -> LOCAL:port whose payload is `tag` with the
 * peer's outbound SA, and sends it to the driver's raw ESP socket. */
static bool send_to(int raw, struct ipsec_sa *out, uint32_t tag, uint16_t port)
{
	static uint8_t buf[CAP];
	uint8_t *ip = buf + IPSEC_HEADROOM;
	memset(ip, 0, 32);
	ip[0] = 0x45;
	ip[3] = 32;   /* 20 + 8 + 4 */
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, PEER, 4);
	memcpy(ip + 16, LOCAL, 4);
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	ip[20] = 0x30;   /* source port 12345 */
	ip[21] = 0x39;
	ip[22] = (uint8_t)(port >> 8);
	ip[23] = (uint8_t)port;
	ip[25] = 12;     /* UDP length; checksum 0: none (IPv4) */
	memcpy(ip + 28, &tag, 4);
	struct pkt p = { .buf = buf, .cap = CAP, .off = IPSEC_HEADROOM, .len = 32 };
	if (esp_output(out, &p, 0) != DROP_NONE)
		return false;
	struct sockaddr_in to = { .sin_family = AF_INET };
	memcpy(&to.sin_addr, LOCAL, 4);
	return sendto(raw, pkt_data(&p), p.len, 0, (struct sockaddr *)&to, sizeof(to)) ==
	       (ssize_t)p.len;
}

static bool send_sealed(int raw, struct ipsec_sa *out, uint32_t tag)
{
	return send_to(raw, out, tag, PORT);
}

/* The tags of the datagrams that arrive within ms, at most max of them. */
static int receive(int udp, uint32_t *tags, int max, unsigned ms)
{
	int n = 0;
	struct pollfd pfd = { .fd = udp, .events = POLLIN };
	while (n < max && poll(&pfd, 1, (int)ms) > 0) {
		uint32_t tag;
		if (recv(udp, &tag, sizeof(tag), 0) == (ssize_t)sizeof(tag))
			tags[n++] = tag;
		ms = 100;   /* the rest of a burst follows closely */
	}
	return n;
}

static long drops(struct driver *d, enum sa_drop why)
{
	struct driver_stats s;
	driver_get_stats(d, &s);
	return (long)s.drops[why];
}

static long bad_spis(struct driver *d)
{
	return drops(d, DROP_BAD_SPI);
}

static int udp_socket(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in at = { .sin_family = AF_INET, .sin_port = htons(port) };
	memcpy(&at.sin_addr, LOCAL, 4);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&at, sizeof(at)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(void)
{
	struct driver_config cfg = { .tun = "hold0", .mtu = 1400, .queue_len = 4, .queue_ms = 100 };
	char err[256];
	struct driver *d = driver_start(&cfg, err, sizeof(err));
	int raw = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	int udp = udp_socket(PORT), other = udp_socket(PORT + 1);
	struct sad *peer = sad_new(16);
	if (!d || raw < 0 || udp < 0 || other < 0 || !peer) {
		fprintf(stderr, "set-up: %s\n", d ? strerror(errno) : err);
		return 2;
	}
	const char *why = NULL;
	struct ipsec_sa *out[5];
	for (uint32_t i = 0; i < 5; i++) {
		struct sa_config c = sa_cfg(0x1000 + i, false);
		if (!(out[i] = sad_add(peer, &c, &why))) {
			fprintf(stderr, "sad_add: %s\n", why);
			return 2;
		}
	}
	uint32_t tags[64];

	/* 1. Before its SA, by 50 ms. */
	if (!send_sealed(raw, out[0], 100))
		return 2;
	sleep_ms(50);
	if (!install(d, 0x1000, 0))
		return 2;
	int n = receive(udp, tags, 64, 1000);
	expect("early packet delivered once its SA came", n, 1);
	if (n == 1)
		expect("... the right one", (long)tags[0], 100);
	expect("... and no bad SPI", bad_spis(d), 0);

	/* 2. An SA that never comes. */
	if (!send_sealed(raw, out[1], 200))
		return 2;
	expect("packet without an SA not delivered", receive(udp, tags, 64, 600), 0);
	expect("... a bad SPI after the wait", bad_spis(d), 1);

	/* 3. More than the worker holds. */
	for (uint32_t i = 0; i < 40; i++)
		if (!send_sealed(raw, out[2], 300 + i))
			return 2;
	sleep_ms(30);
	if (!install(d, 0x1002, 0))
		return 2;
	n = receive(udp, tags, 64, 1000);
	expect("the newest 32 of 40 delivered", n, 32);
	bool in_order = n == 32;
	for (int i = 0; in_order && i < n; i++)
		in_order = tags[i] == 308u + (uint32_t)i;
	expect("... in the order they came", in_order, 1);
	expect("... the 8 oldest bad SPIs", bad_spis(d), 9);

	/* 4. The SA from check 1, as usual. */
	if (!send_sealed(raw, out[0], 400))
		return 2;
	n = receive(udp, tags, 64, 1000);
	expect("a packet for an installed SA delivered", n, 1);
	expect("... no bad SPI", bad_spis(d), 9);

	/* 5. Only UDP to PORT is this SA's. */
	if (!install(d, 0x1004, PORT) || !send_to(raw, out[4], 500, PORT) ||
	    !send_to(raw, out[4], 501, PORT + 1))
		return 2;
	n = receive(udp, tags, 64, 1000);
	expect("UDP to the SA's port delivered", n, 1);
	expect("UDP to another port not delivered", receive(other, tags, 64, 300), 0);
	expect("... dropped as a selector mismatch", drops(d, DROP_SELECTOR), 1);

	driver_stop(d);
	sad_free(peer);
	close(raw);
	close(udp);
	close(other);
	return failures ? 1 : 0;
}
