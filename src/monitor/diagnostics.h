/*
 * diagnostics — the IPsec driver's diagnostic events (netsh `set config
 * ipsecdiagnostics` and `ipsecloginterval`), modelled on Windows' driver
 * diagnostics: packets the driver dropped, counted by why, and summed up
 * once per interval as one event per class -- never one event per packet,
 * which would let any sender on the link flood the log.
 *
 * The classes are the bits of `ipsecdiagnostics` (0-7):
 *   1  IPsec processing failures: bad SPI, authentication (ICV) failures,
 *      replay, decryption and padding errors, invalid packets
 *   2  inbound packets dropped by policy: blocked, or cleartext where the
 *      policy requires protection
 *   4  outbound packets dropped by policy: blocked, or held for an SA that
 *      never came (queue overflow, timeout)
 *
 * Plain data and arithmetic: secpold fills the counts from the data path's
 * and the nftables table's counters (both only ever grow) and keeps the
 * previous ones; the deltas become the summaries.
 */
#ifndef SECPOL_MONITOR_DIAGNOSTICS_H
#define SECPOL_MONITOR_DIAGNOSTICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum drvdiag_class {
	DRVDIAG_PROCESSING = 1,
	DRVDIAG_INBOUND_POLICY = 2,
	DRVDIAG_OUTBOUND_POLICY = 4,
};
#define DRVDIAG_ALL 7u

/* Why a packet was dropped; each belongs to one class. */
enum drvdiag_reason {
	/* class 1: the IPsec transforms and the SAD */
	DRVDIAG_BAD_SPI,
	DRVDIAG_AUTH,
	DRVDIAG_REPLAY,
	DRVDIAG_OUT_OF_WINDOW,
	DRVDIAG_DECRYPT,
	DRVDIAG_PADDING,
	DRVDIAG_TRUNCATED,
	DRVDIAG_BAD_LENGTH,
	DRVDIAG_SELECTOR,          /* decrypted, but not the traffic of its SA / policy */
	DRVDIAG_LIFETIME,
	DRVDIAG_SEQ_EXHAUSTED,
	DRVDIAG_NO_ROOM,
	DRVDIAG_MALFORMED,         /* not an IP packet */
	/* class 2: inbound policy (nftables) */
	DRVDIAG_IN_BLOCKED,
	DRVDIAG_IN_CLEARTEXT,
	/* class 4: outbound policy (nftables, and the driver's SPD and queues) */
	DRVDIAG_OUT_BLOCKED,
	DRVDIAG_OUT_QUEUE_OVERFLOW,
	DRVDIAG_OUT_QUEUE_TIMEOUT,
	DRVDIAG_REASON_COUNT
};

struct drvdiag_counts {
	uint64_t n[DRVDIAG_REASON_COUNT];
};

enum drvdiag_class drvdiag_reason_class(enum drvdiag_reason r);
/* "bad-spi", "blocked", "queue-overflow" ... ("?" out of range). */
const char *drvdiag_reason_name(enum drvdiag_reason r);
/* Stable names of the classes: "processing", "inbound-policy",
 * "outbound-policy" ("?" for anything else). */
const char *drvdiag_class_name(enum drvdiag_class c);

/* out = now - last, per reason; a count that went down (its source was
 * reset) counts from zero: out = now. */
void drvdiag_delta(const struct drvdiag_counts *now, const struct drvdiag_counts *last,
                   struct drvdiag_counts *out);

/* The packets of class c in delta (0: no summary is due for it). */
uint64_t drvdiag_class_total(const struct drvdiag_counts *delta, enum drvdiag_class c);

/* The summary text of class c over interval_s seconds, e.g.
 * "inbound packets dropped by policy: 5 in 60 s (blocked 5)": the non-zero
 * reasons in their fixed order. Cut to fit cap. Returns the class total. */
uint64_t drvdiag_summary(const struct drvdiag_counts *delta, enum drvdiag_class c,
                         unsigned interval_s, char *buf, size_t cap);

#endif
