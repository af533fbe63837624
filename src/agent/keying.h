/* Private to secpold: the IKE engine wired to sockets and the data path. */
#ifndef SECPOL_AGENT_KEYING_H
#define SECPOL_AGENT_KEYING_H

#include "agent/internal.h"
#include "driver/driver.h"
#include "ike/ike.h"

#define IKE_DATAGRAM_MAX 65535

/* A run-time filter the engine asked for, shared by the Child SAs that need
 * it (refs) or kept until a time (a soft association). */
struct keying_filter {
	struct driver_dynamic f;
	unsigned refs;
	uint64_t until_ms;            /* 0: while referenced */
};
/* At most this many at once (each is a run-time filter in the driver and an
 * element of an nftables set): a server that requests security keeps one
 * soft association per non-IPsec client for 5 minutes, so thousands. */
#define KEYING_FILTERS_MAX DRIVER_DYNAMIC_MAX

struct keying {
	struct ike_engine *engine;
	const struct steer_config *steer;   /* the nftables table the run-time sets live in */
	struct keying_filter *filters;      /* grown as needed */
	size_t nfilters, filters_cap;
	struct driver *driver;
	int udp4, udp6;               /* UDP 500 */
	uint32_t bypass_mark;
	uint64_t send_errors;
	uint64_t expiry_check_ms;
	uint64_t next_tick_ms;        /* when the engine's timers are due next */
	struct cert_store *certs;     /* the machine store, re-read when it changes */
	int64_t certs_mtime;
	enum cert_crl_mode crl;
	void (*log)(int level, const char *line);   /* syslog levels */
	/* The engine's structured events (the event log); set after keying_start. */
	void (*event)(void *ctx, const struct ike_event *ev);
	void *event_ctx;
};

bool keying_start(struct keying *k, struct driver *d, const struct steer_config *steer,
                  uint32_t bypass_mark, void (*log)(int level, const char *line), char *err,
                  size_t errlen);
/* Puts the run-time filters back into a steering table that was replaced. */
void keying_restore_filters(struct keying *k);
/* Deletes every IKE SA (telling the peers) and closes the sockets. */
void keying_stop(struct keying *k);
bool keying_set_policy(struct keying *k, const struct compiled_policy *cp, bool allow_legacy,
                       enum cert_crl_mode crl, char *err, size_t errlen);
/* The descriptors the main loop polls (UDP 500, IKE on 4500, acquires,
 * expiries). */
#define KEYING_FDS 5
size_t keying_fds(const struct keying *k, int fds[KEYING_FDS]);
/* Serves fd if it is one of ours (-1: timers only); returns in how many ms
 * the engine wants to be called again (UINT64_MAX: only on input). */
uint64_t keying_serve(struct keying *k, int fd, const struct compiled_policy *cp);

#endif
