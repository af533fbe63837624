/*
 * secpold — the IPsec Policy Agent and driver for Linux.
 *
 *   secpold --foreground [--store PATH] [--control PATH] [--tun NAME] [--metrics ADDR:PORT]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/control.h"
#include "policy/policy.h"
#include "store/store.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: secpold [options]\n"
	        "\n"
	        "  -f, --foreground     stay in the foreground, log to stderr\n"
	        "  --store PATH         policy store (default $SECPOL_STORE or " STORE_DEFAULT_PATH ")\n"
	        "  --control PATH       control socket (default $SECPOL_CONTROL or "
	        CONTROL_DEFAULT_PATH ")\n"
	        "  --tun NAME           TUN device (default secpol0)\n"
	        "  --state-dir DIR      runtime state, the lock (default /run/secpol)\n"
	        "  --mtu N              MTU of the TUN device (default 1400)\n"
	        "  --log-level LEVEL    error, warning, info (default) or debug\n"
	        "  --syslog             log to syslog (the default when not in the foreground)\n"
	        "  --store-poll SECONDS how often the store is checked for changes made by\n"
	        "                       other writers (default 1; `secpol` tells secpold at once)\n"
	        "  --syslog-socket PATH where the event log's lines go (default /dev/log)\n"
	        "  --metrics ADDR:PORT  serve Prometheus metrics on http://ADDR:PORT/metrics\n"
	        "                       while the store has no `set config property=metrics`\n"
	        "                       (e.g. 127.0.0.1:9567, [::1]:9567; default none)\n"
	        "  --log-interval SECONDS  the driver diagnostics' summary interval (1..86400),\n"
	        "                       overriding `set config ipsecloginterval` (60..86400)\n"
	        "                       for this run: for tests and troubleshooting\n"
	        "  -h, --help           this text\n");
}

int main(int argc, char **argv)
{
	enum { O_STORE = 256, O_CONTROL, O_TUN, O_STATE, O_MTU, O_LOG, O_SYSLOG, O_POLL, O_SYSLOG_SOCKET,
	       O_METRICS, O_LOG_INTERVAL };
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "store", required_argument, NULL, O_STORE },
		{ "control", required_argument, NULL, O_CONTROL },
		{ "tun", required_argument, NULL, O_TUN },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "mtu", required_argument, NULL, O_MTU },
		{ "log-level", required_argument, NULL, O_LOG },
		{ "syslog", no_argument, NULL, O_SYSLOG },
		{ "store-poll", required_argument, NULL, O_POLL },
		{ "syslog-socket", required_argument, NULL, O_SYSLOG_SOCKET },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ "log-interval", required_argument, NULL, O_LOG_INTERVAL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct agent_options o = { .tun = "secpol0", .state_dir = "/run/secpol",
	                           .log_level = LOG_LEVEL_INFO, .mtu = 1400, .poll_ms = 1000,
	                           .ready_fd = -1 };
	int c;
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': o.foreground = true; break;
		case O_STORE: o.store = optarg; break;
		case O_CONTROL: o.control = optarg; break;
		case O_TUN: o.tun = optarg; break;
		case O_STATE: o.state_dir = optarg; break;
		case O_MTU: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v < 1280 || v > 3800) {
				fprintf(stderr, "secpold: --mtu must be 1280..3800\n");
				return 2;
			}
			o.mtu = (unsigned)v;
			break;
		}
		case O_LOG:
			if (!strcmp(optarg, "error")) o.log_level = LOG_LEVEL_ERROR;
			else if (!strcmp(optarg, "warning")) o.log_level = LOG_LEVEL_WARNING;
			else if (!strcmp(optarg, "info")) o.log_level = LOG_LEVEL_INFO;
			else if (!strcmp(optarg, "debug")) o.log_level = LOG_LEVEL_DEBUG;
			else {
				fprintf(stderr, "secpold: --log-level: error, warning, info or debug\n");
				return 2;
			}
			break;
		case O_SYSLOG: o.use_syslog = true; break;
		case O_POLL: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v < 1 || v > 86400) {
				fprintf(stderr, "secpold: --store-poll must be 1..86400 seconds\n");
				return 2;
			}
			o.poll_ms = (unsigned)v * 1000;
			break;
		}
		case O_LOG_INTERVAL: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (!optarg[0] || *end || v < 1 || v > 86400) {
				fprintf(stderr, "secpold: --log-interval must be 1..86400 seconds\n");
				return 2;
			}
			o.log_interval_s = (unsigned)v;
			break;
		}
		case O_SYSLOG_SOCKET:
			/* sun_path: 108 bytes with its NUL */
			if (!optarg[0] || strlen(optarg) >= 108) {
				fprintf(stderr, "secpold: --syslog-socket: a path of 1 to 107 bytes\n");
				return 2;
			}
			o.syslog_socket = optarg;
			break;
		case O_METRICS: {
			struct ip_address ip;
			uint16_t port;
			struct diag d;
			diag_init(&d);
			if (!policy_parse_endpoint("--metrics", optarg, &ip, &port, &d)) {
				fprintf(stderr, "secpold: %s\n", d.msg);
				return 2;
			}
			o.metrics = optarg;
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "secpold: must run as root (TUN device, raw sockets, nftables)\n");
		return 1;
	}
	if (o.foreground)
		return agent_run(&o);
	/* Detach; the parent exits only once the daemon is ready (or failed),
	 * so `secpold && secpol dynamic ...` works. */
	int p[2];
	if (pipe(p) < 0) {
		perror("secpold: pipe");
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("secpold: fork");
		return 1;
	}
	if (pid > 0) {
		close(p[1]);
		char r;
		ssize_t n = read(p[0], &r, 1);
		return n == 1 ? 0 : 1;
	}
	close(p[0]);
	setsid();
	o.use_syslog = true;
	o.ready_fd = p[1];
	if (!freopen("/dev/null", "r", stdin) || !freopen("/dev/null", "w", stdout) ||
	    !freopen("/dev/null", "w", stderr))
		return 1;
	return agent_run(&o);
}
