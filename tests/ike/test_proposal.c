/*
 * Policy security methods as IKEv2 proposals (src/ike/proposal.c), and the
 * responder's choice among a peer's proposals, with the reason when none fits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ike/proposal.h"

static void mm(struct ike_offer *o, const char *text, bool legacy)
{
	struct mm_methods m;
	struct diag d;
	diag_init(&d);
	assert_true(policy_parse_mmsec("mmsecmethods", text, &m, &d));
	ike_offer_from_mm(o, &m, legacy);
}

static void qm(struct ike_offer *o, const char *text, uint16_t pfs, bool legacy)
{
	struct qm_methods m;
	struct diag d;
	diag_init(&d);
	assert_true(policy_parse_qmsec("qmsecmethods", text, &m, &d));
	ike_offer_from_qm(o, &m, pfs, legacy);
}

/* The transforms of proposal i as "type:id/keylen ..." */
static const char *describe(const struct ike_offer *o, size_t i, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t k = 0; k < o->prop[i].count; k++) {
		const struct ike_transform *t = &o->prop[i].xf[k];
		n += (size_t)snprintf(buf + n, len - n, "%s%u:%u", k ? " " : "", t->type, t->id);
		if (t->key_length)
			n += (size_t)snprintf(buf + n, len - n, "/%u", t->key_length);
	}
	return buf;
}

static void test_ike_offer(void **state)
{
	(void)state;
	struct ike_offer o;
	char b[128];
	mm(&o, "AESGCM128-SHA384-31 AES256-SHA256-14 3DES-SHA1-2 DES-MD5-1 3DES-MD5-2", false);
	assert_int_equal(o.count, 3);
	/* DES, MD5 and group 1 are legacy; 3DES, SHA1 and group 2 are not
	 * (best-practices §3.1: negotiable, never in the defaults). */
	assert_int_equal(o.skipped, 2);
	assert_string_equal(describe(&o, 2, b, sizeof(b)), "1:3 2:2 3:2 4:2");
	assert_string_equal(describe(&o, 0, b, sizeof(b)), "1:20/128 2:6 4:31");
	assert_string_equal(describe(&o, 1, b, sizeof(b)), "1:12/256 2:5 3:12 4:14");
	assert_int_equal(o.prop[0].num, 1);
	assert_int_equal(o.prop[1].num, 2);
	assert_int_equal(o.prop[0].protocol, IKE_PROTO_IKE);
	assert_int_equal(o.prop[0].spi_size, 0);
	mm(&o, "3DES-SHA1-2 DES-MD5-1", true);
	assert_int_equal(o.count, 2);
	assert_string_equal(describe(&o, 0, b, sizeof(b)), "1:3 2:2 3:2 4:2");
	assert_string_equal(describe(&o, 1, b, sizeof(b)), "1:2 2:1 3:1 4:1");
	mm(&o, "AES128-SHA256-3", false);   /* Windows' group 3 is the 2048-bit group */
	assert_string_equal(describe(&o, 0, b, sizeof(b)), "1:12/128 2:5 3:12 4:14");
}

static void test_child_offer(void **state)
{
	(void)state;
	struct ike_offer o;
	char b[128];
	qm(&o, "ESP[AESGCM256] ESP[AES128,SHA256] AH[SHA1] AH[SHA1]+ESP[3DES,SHA1] ESP[DES,MD5]",
	   0, false);
	assert_int_equal(o.count, 3);
	assert_int_equal(o.skipped, 2);   /* the bundle, and DES/MD5 without legacy */
	assert_string_equal(describe(&o, 0, b, sizeof(b)), "1:20/256 5:0");
	assert_string_equal(describe(&o, 1, b, sizeof(b)), "1:12/128 3:12 5:0");
	assert_string_equal(describe(&o, 2, b, sizeof(b)), "3:2 5:0");
	assert_int_equal(o.prop[0].protocol, IKE_PROTO_ESP);
	assert_int_equal(o.prop[2].protocol, IKE_PROTO_AH);
	assert_int_equal(o.prop[0].spi_size, 4);
	qm(&o, "ESP[CHACHA20POLY1305]", IKE_DH_CURVE25519, false);   /* PFS */
	assert_string_equal(describe(&o, 0, b, sizeof(b)), "1:28 4:31 5:0");
}

/* A peer's SA payload as decoded: proposals pointing into the offer's pool. */
static void as_peer(struct ike_sa *sa, const struct ike_offer *o)
{
	memset(sa, 0, sizeof(*sa));
	sa->count = o->count;
	memcpy(sa->prop, o->prop, o->count * sizeof(o->prop[0]));
}

static void test_select(void **state)
{
	(void)state;
	struct ike_offer ours, peer;
	struct ike_sa theirs;
	struct ike_choice c;
	char why[128];
	mm(&ours, "AESGCM128-SHA384-31 AES256-SHA256-14", false);

	/* Our preference wins over the peer's order. */
	mm(&peer, "AES256-SHA256-14 AESGCM128-SHA384-31", false);
	as_peer(&theirs, &peer);
	assert_true(ike_select(&ours, &theirs, &c, why, sizeof(why)));
	assert_int_equal(c.num, 2);
	assert_int_equal(c.encr, IKE_ENCR_AES_GCM_16);
	assert_int_equal(c.key_length, 128);
	assert_int_equal(c.prf, IKE_PRF_HMAC_SHA2_384);
	assert_int_equal(c.integ, 0);
	assert_int_equal(c.dh, IKE_DH_CURVE25519);

	/* Nothing in common: the reason names the transform type. */
	mm(&peer, "3DES-SHA256-14", false);
	as_peer(&theirs, &peer);
	assert_false(ike_select(&ours, &theirs, &c, why, sizeof(why)));
	assert_string_equal(why, "no proposal chosen: no common encryption transform");
	mm(&peer, "AES256-SHA256-19", false);
	as_peer(&theirs, &peer);
	assert_false(ike_select(&ours, &theirs, &c, why, sizeof(why)));
	assert_string_equal(why, "no proposal chosen: no common Diffie-Hellman group transform");
	mm(&peer, "AES128-SHA256-14", false);   /* the key length counts */
	as_peer(&theirs, &peer);
	assert_false(ike_select(&ours, &theirs, &c, why, sizeof(why)));

	/* A transform with an attribute we do not know is not acceptable. */
	mm(&peer, "AESGCM128-SHA384-31", false);
	peer.pool[0].unknown_attrs = 1;
	as_peer(&theirs, &peer);
	assert_false(ike_select(&ours, &theirs, &c, why, sizeof(why)));

	/* Child SAs: a peer that wants PFS where the policy has none. */
	qm(&ours, "ESP[AESGCM256]", 0, false);
	qm(&peer, "ESP[AESGCM256]", IKE_DH_CURVE25519, false);
	as_peer(&theirs, &peer);
	assert_false(ike_select(&ours, &theirs, &c, why, sizeof(why)));
	assert_string_equal(why, "no proposal chosen: no common Diffie-Hellman group transform");
	qm(&peer, "AH[SHA1] ESP[AESGCM256]", 0, false);
	as_peer(&theirs, &peer);
	assert_true(ike_select(&ours, &theirs, &c, why, sizeof(why)));
	assert_int_equal(c.num, 2);
	assert_int_equal(c.protocol, IKE_PROTO_ESP);
	assert_int_equal(c.esn, IKE_ESN_NO);
	qm(&peer, "AH[SHA256]", 0, false);
	as_peer(&theirs, &peer);
	assert_false(ike_select(&ours, &theirs, &c, why, sizeof(why)));
	assert_string_equal(why, "no proposal for the protocol we offer (ESP)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ike_offer),
		cmocka_unit_test(test_child_offer),
		cmocka_unit_test(test_select),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
