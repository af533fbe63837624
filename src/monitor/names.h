/*
 * names — the reverse DNS names that `show ... resolvedns=yes` prints beside
 * single host addresses: in secpold (the dynamic shows, answered inside its
 * one event loop) and in the secpol command line (the static shows).
 *
 * A reverse lookup can take the resolver's whole timeout (5 s per attempt
 * and server) when a DNS server does not answer. Done in secpold's loop,
 * that would stop IKE, dead peer detection and every other client for as
 * long, per address. So lookups run on one background thread and land in a
 * small cache; a show waits for them at most MON_NAMES_BUDGET_MS in all,
 * prints the plain address for what is not known by then, and a later show
 * finds the answer cached.
 *
 * Use, per show: mon_names_begin() (starts the budget), mon_names_ask() for
 * every address it will print (queues them all before it waits for any),
 * then mon_names_get() while printing. Thread-safe.
 */
#ifndef SECPOL_MONITOR_NAMES_H
#define SECPOL_MONITOR_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "monitor/monitor.h"

/* One show's whole wait for names. A name from /etc/hosts or a DNS server
 * that answers comes well within it; a person at the prompt hardly notices
 * it; and secpold's loop (IKE retransmissions, DPD, other clients) is held
 * up by no more than that per show, not by the resolver's timeouts. */
#define MON_NAMES_BUDGET_MS 300

#define MON_NAMES_CACHE 256         /* addresses remembered */
#define MON_NAMES_QUEUE 64          /* lookups waiting for the thread */
#define MON_NAMES_FOUND_S 300       /* a name is kept this long... */
#define MON_NAMES_NONE_S 60         /* ...and "no name" (or a failure) this long */
/* What mon_names_shutdown() waits for a lookup in progress before it lets
 * the thread finish on its own: a stop must not take a resolver timeout. */
#define MON_NAMES_STOP_MS 500
#define MON_NAMES_NAME_MAX 256      /* a DNS name is at most 253 characters */

struct mon_names_request {
	struct timespec deadline;       /* CLOCK_MONOTONIC */
};

/* Starts one show's budget of MON_NAMES_BUDGET_MS. */
void mon_names_begin(struct mon_names_request *r);
/* Queues a lookup of a unless its answer is cached or on its way (no
 * wait). An address of no family, or a full queue, is ignored. */
void mon_names_ask(const struct mon_addr *a);
/* The name of a into name (printable ASCII, NUL-terminated): true when
 * known. Asks for it if needed and waits until it comes or r's deadline
 * passes, never longer. False: no name, or not known yet. */
bool mon_names_get(const struct mon_names_request *r, const struct mon_addr *a, char *name,
                   size_t len);

/* Stops the thread (started by the first ask): queued lookups are dropped;
 * one in progress gets MON_NAMES_STOP_MS to end. True: the thread is
 * joined (or there was none); false: it was left to end its lookup on its
 * own and exit. The cache stays; a later ask starts a new thread. */
bool mon_names_shutdown(void);

/* ---- for tests ---- */

/* A reverse lookup: the name of a into name (at most len with its NUL),
 * true when there is one. The default is getnameinfo(NI_NAMEREQD). */
typedef bool (*mon_names_lookup_fn)(const struct mon_addr *a, char *name, size_t len);
/* Milliseconds of a monotonic clock: what the answers' lifetimes count. */
typedef uint64_t (*mon_names_clock_fn)(void);
/* Stops the thread, empties the cache, and uses lookup and clock from now
 * on (NULL: the defaults). */
void mon_names_reset(mon_names_lookup_fn lookup, mon_names_clock_fn clock);

#endif
