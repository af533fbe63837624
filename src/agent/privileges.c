/*
 * secpold gives up, before it reads a byte from the network, every
 * capability of root but the three its work needs for as long as it runs:
 *
 *   CAP_NET_ADMIN         the nftables table, the policy routes and rules,
 *                         the TUN device, SO_MARK on its sockets;
 *   CAP_NET_RAW           the raw ESP/AH sockets and the AF_PACKET one;
 *   CAP_NET_BIND_SERVICE  UDP 500 and a metrics port below 1024.
 *
 * It parses IKE messages from anyone: a flaw there must not hand over
 * module loading, mounts, ptrace of other processes, raw devices, or
 * reading and writing files whatever their modes (CAP_DAC_OVERRIDE). The
 * bounding set goes too, and no_new_privs is set, so nothing it could run
 * would get them back. Done first, before any thread exists: capabilities
 * belong to threads, and threads inherit them when they are made.
 *
 * Still root by uid: the store and the certificates are root's files. A
 * store owned by another user and not writable by its owner bits cannot
 * be written any more (that was CAP_DAC_OVERRIDE).
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/internal.h"

static const int kept[] = { CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE };

static bool is_kept(int cap)
{
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (kept[i] == cap)
			return true;
	return false;
}

/* The highest capability this kernel knows (newer ones than the headers'). */
static int last_cap(void)
{
	int last = CAP_LAST_CAP;
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	if (f) {
		if (fscanf(f, "%d", &last) != 1 || last < 0 || last > 63)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last;
}

bool agent_drop_privileges(char *err, size_t errlen)
{
	/* The bounding set first: dropping from it needs CAP_SETPCAP, which a
	 * container may have taken already (EPERM: then no_new_privs alone
	 * keeps an exec from gaining anything). */
	for (int c = 0; c <= last_cap(); c++)
		if (!is_kept(c) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL &&
		    errno != EPERM) {
			snprintf(err, errlen, "cannot drop capability %d from the bounding set: %s", c,
			         strerror(errno));
			return false;
		}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		snprintf(err, errlen, "cannot clear the ambient capabilities: %s", strerror(errno));
		return false;
	}
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	memset(d, 0, sizeof(d));
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		d[CAP_TO_INDEX(kept[i])].effective |= CAP_TO_MASK(kept[i]);
		d[CAP_TO_INDEX(kept[i])].permitted |= CAP_TO_MASK(kept[i]);
	}
	if (syscall(SYS_capset, &h, d) < 0) {
		snprintf(err, errlen, "cannot drop capabilities: %s", strerror(errno));
		return false;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
		return false;
	}
	return true;
}
