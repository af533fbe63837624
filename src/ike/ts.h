/*
 * ts — IKEv2 traffic selectors (RFC 7296 §3.13) from the policy's filters,
 * and narrowing (§2.9): the responder answers with the part of what the
 * initiator proposed that its own policy allows. Private to src/ike.
 */
#ifndef SECPOL_IKE_TS_H
#define SECPOL_IKE_TS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/message.h"

/* A selector for family/prefix, protocol (0 = any) and port (0 = any). */
bool ike_ts_from_prefix(struct ike_ts_sel *s, uint8_t family, const uint8_t *addr,
                        uint8_t prefix_len, uint8_t protocol, uint16_t port);

/* The intersection of two selectors; false when it is empty. */
bool ike_ts_intersect(const struct ike_ts_sel *a, const struct ike_ts_sel *b,
                      struct ike_ts_sel *out);

/* Whether the selector holds an address (of its family's length), protocol and port. */
bool ike_ts_contains(const struct ike_ts_sel *s, const uint8_t *addr, uint8_t protocol,
                     uint16_t port);

/*
 * Initiator: whether every selector of the responder's answer lies inside
 * one of those we offered (RFC 7296 §2.9: a responder may narrow, never
 * widen). False for an empty answer.
 */
bool ike_ts_subset(const struct ike_ts *answer, const struct ike_ts *offered);

/* One Child SA's selectors as the policy allows them: the initiator's
 * side (TSi) and the responder's (TSr) of one filter. */
struct ike_ts_pair {
	struct ike_ts_sel i, r;
};

/*
 * Responder: narrows the peer's TSi/TSr to the policy's pairs. The result
 * holds, for every allowed pair, the intersections with the first
 * proposed selector pair that overlaps it (§2.9: the first selector of
 * each list is the packet that triggered the negotiation when there is
 * one, and it must be inside). False: nothing the peer proposed is
 * allowed; why says which selector.
 */
bool ike_ts_narrow(const struct ike_ts *tsi, const struct ike_ts *tsr,
                   const struct ike_ts_pair *allowed, size_t n, struct ike_ts *out_i,
                   struct ike_ts *out_r, char *why, size_t whylen);

#endif
