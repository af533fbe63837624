/*
 * INFORMATIONAL (RFC 7296 §1.4): deletes of Child SAs and of the IKE SA,
 * liveness checks (an empty request), error notifications.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "ike/sa.h"

static void put_spi32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

enum ike_state info_request(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_rx *rx)
{
	const struct ike_message *m = rx->m;
	struct ike_writer w;
	ike_writer_scratch(e, &w);
	bool delete_ike = false;
	/* The SPIs of the Child SAs we delete in answer (§1.4.1: our inbound
	 * SPIs of the pairs the peer deleted). At most one Delete per protocol
	 * in the answer. */
	uint8_t esp[4 * 64], ah[4 * 64];
	uint16_t nesp = 0, nah = 0;
	for (size_t i = 0; i < m->count; i++) {
		const struct ike_payload *p = &m->payload[i];
		if (p->type == IKE_PL_DELETE) {
			struct ike_delete d;
			if (!ike_decode_delete(p, &d, NULL))
				continue;
			if (d.protocol == IKE_PROTO_IKE) {
				delete_ike = true;
				continue;
			}
			enum sa_proto proto = d.protocol == IKE_PROTO_AH ? SA_PROTO_AH : SA_PROTO_ESP;
			for (size_t k = 0; k < d.count; k++) {
				struct ike_child *c = child_by_spi_out(sa, proto, ike_delete_spi(&d, k));
				if (!c)
					continue;
				if (proto == SA_PROTO_ESP && nesp < 64)
					put_spi32(esp + 4 * nesp++, c->spi_in);
				else if (proto == SA_PROTO_AH && nah < 64)
					put_spi32(ah + 4 * nah++, c->spi_in);
				/* A replaced one goes because of the rekey, whoever deletes it. */
				child_remove(e, sa, c, c->replaced ? NULL : "deleted by the peer");
			}
		} else if (p->type == IKE_PL_NOTIFY) {
			struct ike_notify n;
			if (ike_decode_notify(p, &n, NULL) && n.type < 16384)
				ike_log(e, LOG_INFO, "IKE: the peer reports error %u", n.type);
		}
	}
	if (!delete_ike) {
		if (nesp) {
			struct ike_delete d = { IKE_PROTO_ESP, 4, nesp, esp };
			ike_put_delete(&w, &d);
		}
		if (nah) {
			struct ike_delete d = { IKE_PROTO_AH, 4, nah, ah };
			ike_put_delete(&w, &d);
		}
	}
	ike_send_response(e, sa, IKE_INFORMATIONAL, rx->mid, &w);
	if (delete_ike) {
		ike_log(e, LOG_NOTICE, "IKE SA deleted by the peer");
		if (!sa->rekeyed)
			sa->down_reason = "deleted by the peer";
		return IKE_S_DEAD;
	}
	return sa->state;
}

enum ike_state info_response(struct ike_engine *e, struct ike_ikesa *sa, const struct ike_rx *rx)
{
	if (sa->state == IKE_S_DELETING)
		return IKE_S_DEAD;
	/* The answer to our Delete of a Child SA: the pair is gone on both
	 * sides now (the peer names its half; ours is the one we asked for). */
	if (sa->deleting_spi_in) {
		struct ike_child *c = child_by_spi_in(sa, sa->deleting_spi_in);
		if (c)
			child_remove(e, sa, c, NULL);
		sa->deleting_spi_in = 0;
	}
	const struct ike_message *m = rx->m;
	for (size_t i = 0; i < m->count; i++) {
		struct ike_delete d;
		if (m->payload[i].type != IKE_PL_DELETE || !ike_decode_delete(&m->payload[i], &d, NULL) ||
		    d.protocol == IKE_PROTO_IKE)
			continue;
		enum sa_proto proto = d.protocol == IKE_PROTO_AH ? SA_PROTO_AH : SA_PROTO_ESP;
		for (size_t k = 0; k < d.count; k++) {
			struct ike_child *c = child_by_spi_out(sa, proto, ike_delete_spi(&d, k));
			if (c)
				child_remove(e, sa, c, NULL);
		}
	}
	rekey_work(e, sa);
	return sa->state;
}

void info_delete_child(struct ike_engine *e, struct ike_ikesa *sa, struct ike_child *c)
{
	struct ike_writer w;
	ike_writer_scratch(e, &w);
	uint8_t spi[4];
	put_spi32(spi, c->spi_in);
	struct ike_delete d = { c->proto == SA_PROTO_AH ? IKE_PROTO_AH : IKE_PROTO_ESP, 4, 1, spi };
	ike_put_delete(&w, &d);
	if (ike_send_request(e, sa, IKE_INFORMATIONAL, &w))
		sa->deleting_spi_in = c->spi_in;
}

void info_delete_ike(struct ike_engine *e, struct ike_ikesa *sa)
{
	if (sa->req_out)
		return;   /* window of one: a Delete cannot be sent now */
	struct ike_writer w;
	ike_writer_scratch(e, &w);
	struct ike_delete d = { .protocol = IKE_PROTO_IKE };
	ike_put_delete(&w, &d);
	if (ike_send_request(e, sa, IKE_INFORMATIONAL, &w))
		sa->state = IKE_S_DELETING;
}

void info_dpd(struct ike_engine *e, struct ike_ikesa *sa)
{
	struct ike_writer w;
	ike_writer_scratch(e, &w);
	ike_send_request(e, sa, IKE_INFORMATIONAL, &w);
}
