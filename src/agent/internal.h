/* Private to secpold: compiling the assigned policy, and the daemon's parts. */
#ifndef SECPOL_AGENT_INTERNAL_H
#define SECPOL_AGENT_INTERNAL_H

#include "driver/steer.h"
#include "ike/ike.h"
#include "spd/spd.h"
#include "store/store.h"

/* The host's own addresses ("me"), and the servers the keywords name. */
struct host_addrs {
	struct ip_address *me;
	size_t nme;
	struct ip_address *dns;        /* from /etc/resolv.conf */
	size_t ndns;
	struct ip_address *gateway;    /* default routes' next hops */
	size_t ngateway;
};
bool host_addrs_read(struct host_addrs *h);
void host_addrs_free(struct host_addrs *h);
bool host_addrs_is_me(const struct host_addrs *h, const struct ip_address *a);

/* The assigned policy, compiled. */
struct compiled_policy {
	char name[POLICY_NAME_MAX];    /* "" when no policy is assigned */
	size_t rules;                  /* active rules compiled */
	struct spd *spd;               /* always set on success (possibly empty) */
	struct steer_rule *steer;      /* one-way filters in evaluation order */
	size_t nsteer;
	size_t skipped;                /* filters whose addresses expanded to nothing */
	/* What IKE needs: the Negotiate rules and the main-mode settings. */
	struct ike_rule *ike_rules;
	size_t nike;
	struct mm_methods mm;
	uint32_t mmlifetime_s;
};

/* Reads the assigned policy from the store and compiles it. */
bool compile_policy(struct store *st, const struct host_addrs *h, struct compiled_policy *out,
                    char *err, size_t errlen);
void compiled_policy_free(struct compiled_policy *c);

/* Splits [lo, hi] (network order, family-sized) into prefixes; returns how
 * many were written (at most max). */
size_t range_to_prefixes(uint8_t family, const uint8_t *lo, const uint8_t *hi,
                         struct ip_address *out, uint8_t *len, size_t max);

#endif
