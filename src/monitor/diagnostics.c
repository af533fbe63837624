/*
 * The driver's diagnostic classes, their reasons and the summary text.
 */
#include <stdio.h>
#include <string.h>

#include "monitor/diagnostics.h"

static const struct {
	const char *name;
	enum drvdiag_class cls;
} reasons[DRVDIAG_REASON_COUNT] = {
	[DRVDIAG_BAD_SPI] = { "bad-spi", DRVDIAG_PROCESSING },
	[DRVDIAG_AUTH] = { "auth-failed", DRVDIAG_PROCESSING },
	[DRVDIAG_REPLAY] = { "replay", DRVDIAG_PROCESSING },
	[DRVDIAG_OUT_OF_WINDOW] = { "out-of-window", DRVDIAG_PROCESSING },
	[DRVDIAG_DECRYPT] = { "decrypt-failed", DRVDIAG_PROCESSING },
	[DRVDIAG_PADDING] = { "bad-padding", DRVDIAG_PROCESSING },
	[DRVDIAG_TRUNCATED] = { "truncated", DRVDIAG_PROCESSING },
	[DRVDIAG_BAD_LENGTH] = { "bad-length", DRVDIAG_PROCESSING },
	[DRVDIAG_SELECTOR] = { "selector-mismatch", DRVDIAG_PROCESSING },
	[DRVDIAG_LIFETIME] = { "lifetime-expired", DRVDIAG_PROCESSING },
	[DRVDIAG_SEQ_EXHAUSTED] = { "seq-exhausted", DRVDIAG_PROCESSING },
	[DRVDIAG_NO_ROOM] = { "no-buffer-room", DRVDIAG_PROCESSING },
	[DRVDIAG_MALFORMED] = { "malformed", DRVDIAG_PROCESSING },
	[DRVDIAG_IN_BLOCKED] = { "blocked", DRVDIAG_INBOUND_POLICY },
	[DRVDIAG_IN_CLEARTEXT] = { "cleartext", DRVDIAG_INBOUND_POLICY },
	[DRVDIAG_OUT_BLOCKED] = { "blocked", DRVDIAG_OUTBOUND_POLICY },
	[DRVDIAG_OUT_QUEUE_OVERFLOW] = { "queue-overflow", DRVDIAG_OUTBOUND_POLICY },
	[DRVDIAG_OUT_QUEUE_TIMEOUT] = { "queue-timeout", DRVDIAG_OUTBOUND_POLICY },
};

enum drvdiag_class drvdiag_reason_class(enum drvdiag_reason r)
{
	return (unsigned)r < DRVDIAG_REASON_COUNT ? reasons[r].cls : 0;
}

const char *drvdiag_reason_name(enum drvdiag_reason r)
{
	return (unsigned)r < DRVDIAG_REASON_COUNT ? reasons[r].name : "?";
}

const char *drvdiag_class_name(enum drvdiag_class c)
{
	switch (c) {
	case DRVDIAG_PROCESSING: return "processing";
	case DRVDIAG_INBOUND_POLICY: return "inbound-policy";
	case DRVDIAG_OUTBOUND_POLICY: return "outbound-policy";
	}
	return "?";
}

static const char *class_title(enum drvdiag_class c)
{
	switch (c) {
	case DRVDIAG_PROCESSING: return "IPsec processing failures";
	case DRVDIAG_INBOUND_POLICY: return "inbound packets dropped by policy";
	case DRVDIAG_OUTBOUND_POLICY: return "outbound packets dropped by policy";
	}
	return "?";
}

void drvdiag_delta(const struct drvdiag_counts *now, const struct drvdiag_counts *last,
                   struct drvdiag_counts *out)
{
	for (size_t i = 0; i < DRVDIAG_REASON_COUNT; i++)
		out->n[i] = now->n[i] >= last->n[i] ? now->n[i] - last->n[i] : now->n[i];
}

uint64_t drvdiag_class_total(const struct drvdiag_counts *delta, enum drvdiag_class c)
{
	uint64_t t = 0;
	for (size_t i = 0; i < DRVDIAG_REASON_COUNT; i++)
		if (reasons[i].cls == c)
			t += delta->n[i];
	return t;
}

uint64_t drvdiag_summary(const struct drvdiag_counts *delta, enum drvdiag_class c,
                         unsigned interval_s, char *buf, size_t cap)
{
	if (!cap)
		return drvdiag_class_total(delta, c);
	uint64_t total = drvdiag_class_total(delta, c);
	size_t o = 0;
	int w = snprintf(buf, cap, "%s: %llu in %u s (", class_title(c),
	                 (unsigned long long)total, interval_s);
	o = w > 0 ? (size_t)w : 0;
	bool first = true;
	for (size_t i = 0; i < DRVDIAG_REASON_COUNT && o < cap; i++) {
		if (reasons[i].cls != c || !delta->n[i])
			continue;
		w = snprintf(buf + o, cap - o, "%s%s %llu", first ? "" : ", ", reasons[i].name,
		             (unsigned long long)delta->n[i]);
		o += w > 0 ? (size_t)w : 0;
		first = false;
	}
	if (o < cap)
		snprintf(buf + o, cap - o, ")");
	return total;
}
