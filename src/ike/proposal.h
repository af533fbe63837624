/*
 * proposal — what the policy offers in IKEv2 SA payloads, and the choice
 * among what a peer offers (RFC 7296 §2.7, §3.3). The main-mode security
 * methods (`mmsecmethods`) become IKE SA proposals, a filter action's
 * security methods (`qmsecmethods`) Child SA proposals, in the policy's
 * order of preference. Private to src/ike.
 */
#ifndef SECPOL_IKE_PROPOSAL_H
#define SECPOL_IKE_PROPOSAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/message.h"
#include "policy/policy.h"

/* The proposals we offer, with their transforms in one pool. */
#define IKE_OFFER_MAX 16
struct ike_offer {
	size_t count;
	struct ike_proposal prop[IKE_OFFER_MAX];
	struct ike_transform pool[IKE_OFFER_MAX * 8];
	size_t used;
	size_t skipped;              /* methods IKEv2 cannot offer (see the .c) */
	uint8_t method[IKE_OFFER_MAX];   /* each proposal's index among the policy's methods */
};

/* The first Diffie-Hellman group the offer names (0: none). */
uint16_t ike_offer_dh(const struct ike_offer *o);
/* A copy whose proposals point into its own pool. */
void ike_offer_copy(struct ike_offer *dst, const struct ike_offer *src);

/* IKE SA proposals from main-mode methods. */
void ike_offer_from_mm(struct ike_offer *o, const struct mm_methods *mm, bool allow_legacy);
/* Child SA proposals from quick-mode methods; pfs_group 0 = no PFS. */
void ike_offer_from_qm(struct ike_offer *o, const struct qm_methods *qm, uint16_t pfs_group,
                       bool allow_legacy);

/* One transform of each type out of a chosen proposal (0 = none of that type). */
struct ike_choice {
	uint8_t num;                 /* the peer's proposal number, for the answer */
	uint8_t ours;                /* index of our proposal it satisfies */
	uint8_t protocol;
	uint16_t encr, key_length, prf, integ, dh, esn;
};

/*
 * Responder: the first of our proposals (our order of preference) that
 * one of the peer's proposals for the same protocol can satisfy, transform
 * type by transform type. False: none; why names, for the closest of the
 * peer's proposals, the transform type that had no overlap.
 */
bool ike_select(const struct ike_offer *ours, const struct ike_sa *theirs,
                struct ike_choice *c, char *why, size_t whylen);

/* The chosen transforms as one proposal for the answer: num and protocol
 * from c, spi (spi_size 0 or 4) given; xf receives up to 5 transforms. */
void ike_choice_proposal(const struct ike_choice *c, const uint8_t *spi, uint8_t spi_size,
                         struct ike_transform xf[5], struct ike_proposal *p);

#endif
