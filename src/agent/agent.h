/*
 * agent — secpold, the IPsec Policy Agent: it reads the assigned policy
 * from the store, compiles it into the data path's SPD and the kernel's
 * steering, serves `secpol dynamic` on the control socket, and removes
 * everything it installed when it stops.
 */
#ifndef SECPOL_AGENT_H
#define SECPOL_AGENT_H

#include <stdbool.h>

enum agent_log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

struct agent_options {
	const char *store;           /* policy store path (NULL: $SECPOL_STORE or default) */
	const char *control;         /* control socket (NULL: $SECPOL_CONTROL or default) */
	const char *tun;             /* TUN device name */
	const char *state_dir;       /* runtime state (lock file) */
	bool foreground;             /* else: detach, log to syslog */
	bool use_syslog;
	enum agent_log_level log_level;
	unsigned mtu;                /* of the TUN device */
	unsigned poll_ms;            /* how often the store is checked for changes */
	int ready_fd;                /* >= 0: written to (then closed) once ready */
	const char *syslog_socket;   /* where the event log's syslog lines go (NULL: /dev/log) */
	const char *metrics;         /* the metrics endpoint "ADDR:PORT" while the store
	                              * has no `metrics` setting (NULL: none) */
	unsigned log_interval_s;     /* > 0: the driver diagnostics' interval, instead of
	                              * `set config ipsecloginterval` (60 s at least) */
};

/* Runs secpold until SIGTERM/SIGINT; returns the process exit status. */
int agent_run(const struct agent_options *o);

#endif
