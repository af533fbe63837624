/*
 * The TUN device: where nftables' policy routing delivers the traffic that
 * needs protection, and where decrypted packets re-enter the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "driver/internal.h"
#include "driver/offload.h"

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

static void write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;   /* IPv6 disabled, or no such knob: nothing to relax */
	if (write(fd, value, strlen(value)) < 0) {
		/* best effort, see tun_open() */
	}
	close(fd);
}

static int read_sysctl(const char *path)
{
	char buf[16] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? buf[0] - '0' : -1;
}

int tun_open(const char *name, unsigned mtu, char *err, size_t errlen)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open /dev/net/tun: %s", strerror(errno));
		return -1;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	/* Every read and write carries a struct virtio_net_hdr (offload.h). */
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
	if (strlen(name) >= sizeof(ifr.ifr_name)) {
		snprintf(err, errlen, "TUN device name '%s' is longer than %zu characters", name,
		         sizeof(ifr.ifr_name) - 1);
		close(fd);
		return -1;
	}
	strcpy(ifr.ifr_name, name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(err, errlen, "cannot create TUN device %s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	int hdrsz = (int)OFFLOAD_VNET_LEN;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdrsz) < 0) {
		snprintf(err, errlen, "cannot set the vnet header size of %s: %s", name,
		         strerror(errno));
		close(fd);
		return -1;
	}
	/* Checksum and segmentation offloads: the kernel hands us TCP (and,
	 * since Linux 6.2, UDP) super-packets of up to 64 KB with partial
	 * checksums, which the TX worker segments (offload.c); one read then
	 * carries many packets. Each step down is still correct: without
	 * offloads every read is one finished packet with a plain header. */
	static const unsigned offloads[] = {
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
		0,
	};
	for (size_t i = 0; i < sizeof(offloads) / sizeof(offloads[0]); i++)
		if (ioctl(fd, TUNSETOFFLOAD, offloads[i]) == 0)
			break;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		close(fd);
		return -1;
	}
	/* No IPv6 autoconfiguration on the TUN device: it needs no address,
	 * and router solicitations or MLD reports sent out of it would come
	 * straight back to the driver as packets without a policy. */
	char path[128];
	static const char *const knobs[][2] = {
		{ "addr_gen_mode", "1" }, { "autoconf", "0" }, { "accept_ra", "0" },
		{ "router_solicitations", "0" },
	};
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/%s", name, knobs[i][0]);
		write_sysctl(path, knobs[i][1]);
	}
	ifr.ifr_mtu = (int)mtu;
	bool ok = ioctl(s, SIOCSIFMTU, &ifr) == 0;
	if (ok && (ok = ioctl(s, SIOCGIFFLAGS, &ifr) == 0)) {
		ifr.ifr_flags |= IFF_UP;
		ok = ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
	}
	if (!ok) {
		snprintf(err, errlen, "cannot bring %s up with MTU %u: %s", name, mtu,
		         strerror(errno));
		close(s);
		close(fd);
		return -1;
	}
	close(s);
	/* Decrypted packets arrive on the TUN device from addresses that are
	 * routed through the physical link: strict reverse-path filtering
	 * would drop every one. The effective mode is the maximum of "all" and
	 * the device, so "all"=1 (strict) is relaxed to 2 (loose), which still
	 * checks that the source is reachable at all. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter", name);
	write_sysctl(path, "0");
	if (read_sysctl("/proc/sys/net/ipv4/conf/all/rp_filter") == 1)
		write_sysctl("/proc/sys/net/ipv4/conf/all/rp_filter", "2");
	return fd;
}
