/*
 * monitor_fill: the IP Security Monitor's snapshot of secpold, from the IKE
 * engine (counters, IKE SAs, Child SAs) and the driver (counters, SAs).
 *
 * A quick-mode SA is a Child SA joined with its two driver SAs (by SPI and
 * address): IKE knows the rule, the ports and the PFS group, the driver the
 * packets and bytes. Driver SAs no Child SA claims -- manual SAs, and an
 * inbound SA kept a moment after its Child SA went -- are shown alone.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "agent/internal.h"
#include "agent/keying.h"
#include "driver/driver.h"
#include "monitor/diagnostics.h"
#include "monitor/monitor.h"

static void upper(const char *name, char *out, size_t len)
{
	size_t i = 0;
	for (; name && name[i] && i + 1 < len; i++)
		out[i] = (char)toupper((unsigned char)name[i]);
	out[i] = '\0';
}

static void enc_name(enum crypto_enc e, char *out, size_t len)
{
	const struct crypto_enc_info *ei = crypto_enc_info(e);
	upper(ei ? ei->name : "?", out, len);
}

/* An AEAD cipher's integrity is its own: shown as "AEAD", not "None". */
static void integ_name(enum crypto_enc e, enum crypto_mac m, char *out, size_t len)
{
	const struct crypto_enc_info *ei = crypto_enc_info(e);
	const struct crypto_mac_info *mi = crypto_mac_info(m);
	if (m == MAC_NONE)
		snprintf(out, len, "%s", ei && ei->aead ? "AEAD" : "None");
	else
		upper(mi ? mi->name : "?", out, len);
}

static void to_mon(const struct sa_address *a, struct mon_addr *o)
{
	o->family = a->family;
	memcpy(o->bytes, a->bytes, sizeof(o->bytes));
}

static bool sa_addr_eq(const struct sa_address *a, const uint8_t family, const uint8_t *bytes)
{
	return a->family == family && !memcmp(a->bytes, bytes, a->family == AF_INET ? 4 : 16);
}

static uint64_t drops_of(const struct sa_counters *c)
{
	uint64_t n = 0;
	for (int i = 1; i < DROP_COUNT; i++)
		n += c->drops[i];
	return n;
}

static const struct rule_origin *origin_of(const struct compiled_policy *cp, uint32_t id)
{
	for (size_t i = 0; cp && i < cp->nrule_origin; i++)
		if (cp->rule_origin[i].id == id)
			return &cp->rule_origin[i];
	return NULL;
}

static void fill_stats(struct mon_snapshot *s, struct driver *d, const struct keying *k)
{
	struct driver_stats ds;
	struct ike_stats ks;
	driver_get_stats(d, &ds);
	memset(&ks, 0, sizeof(ks));
	if (k->engine)
		ike_engine_stats(k->engine, &ks);
	struct mon_mm_stats *m = &s->mm;
	m->active_acquire = ks.active_acquire;
	m->active_receive = ks.half_open_sas;
	m->acquire_failures = ks.acquire_failures;
	m->receive_failures = ks.receive_failures;
	m->send_failures = ks.send_failures + k->send_errors;
	m->acquire_heap_size = ds.acquire_queues;
	m->receive_heap_size = ks.reassemblies;
	m->negotiation_failures = ks.negotiation_failures;
	m->authentication_failures = ks.authentication_failures;
	m->invalid_cookies_received = ks.invalid_cookies_received;
	m->total_acquire = ks.total_acquire;
	m->total_get_spi = ks.total_get_spi;
	m->total_key_add = ks.key_additions;
	m->key_add_fail = ks.key_add_fail;
	m->isadb_list_size = ks.active_ike_sas;
	m->conn_list_size = ks.child_negotiations;
	m->oakley_main_mode = ks.main_mode_sas;
	m->oakley_quick_mode = ks.quick_mode_sas;
	m->soft_associations = ks.soft_associations;
	m->invalid_packets_received = ks.invalid_packets_received;
	m->total_receive = ks.total_receive;
	m->active_ike_sas = ks.active_ike_sas;
	m->retransmissions = ks.retransmissions;
	m->cookies_sent = ks.cookies_sent;
	m->fragmented_messages = ks.fragmented_messages;
	m->reassembled_messages = ks.reassembled_messages;

	struct mon_qm_stats *q = &s->qm;
	q->active_associations = ds.active_sas;
	q->offload_sas = 0;   /* no crypto offload: docs/monitor-json.md */
	q->pending_key_operations = ks.child_negotiations;
	q->key_additions = ds.key_additions;
	q->key_deletions = ds.key_deletions;
	q->rekeys = ks.rekeys;
	q->active_tunnels = ds.tunnel_sas;
	q->bad_spi_packets = ds.drops[DROP_BAD_SPI];
	q->packets_not_decrypted = ds.drops[DROP_DECRYPT] + ds.drops[DROP_PADDING];
	q->packets_not_authenticated = ds.drops[DROP_AUTH];
	q->packets_with_replay_detection = ds.drops[DROP_REPLAY] + ds.drops[DROP_OUT_OF_WINDOW];
	q->confidential_bytes_sent = ds.conf_bytes_sent;
	q->confidential_bytes_received = ds.conf_bytes_received;
	q->authenticated_bytes_sent = ds.auth_bytes_sent;
	q->authenticated_bytes_received = ds.auth_bytes_received;
	q->transport_bytes_sent = ds.transport_bytes_sent;
	q->transport_bytes_received = ds.transport_bytes_received;
	q->bytes_sent_in_tunnels = ds.tunnel_bytes_sent;
	q->bytes_received_in_tunnels = ds.tunnel_bytes_received;

	struct mon_datapath_stats *p = &s->dp;
	p->packets_steered = ds.steered_packets;
	p->packets_encrypted = ds.encrypted_packets;
	p->packets_decrypted = ds.decrypted_packets;
	p->permitted_in_clear = ds.permitted_clear;
	p->blocked = ds.blocked;
	p->no_matching_filter = ds.no_rule;
	p->queued_for_sa = ds.queued;
	p->queue_overflow_drops = ds.queue_overflow;
	p->queue_timeout_drops = ds.queue_timeout;
	p->queued_then_sent = ds.queue_sent;
	p->malformed_packets = ds.malformed;
	p->send_errors = ds.send_errors;
	p->tun_write_errors = ds.tun_write_errors;
	_Static_assert(DROP_COUNT <= 16, "mon_datapath_stats.drops holds every reason");
	p->ndrops = DROP_COUNT;
	for (int i = 0; i < DROP_COUNT; i++) {
		p->drops[i] = ds.drops[i];
		p->drop_names[i] = sa_drop_name((enum sa_drop)i);
	}
}

static void fill_sa(struct mon_sa *o, const struct driver_sa_info *a)
{
	memset(o, 0, sizeof(*o));
	o->spi = a->spi;
	o->inbound = a->inbound;
	o->esp = a->proto == SA_PROTO_ESP;
	o->tunnel = a->mode == SA_TUNNEL;
	o->encap = a->udp_encap;
	o->esn = a->esn;
	to_mon(&a->src, &o->src);
	to_mon(&a->dst, &o->dst);
	o->src_len = a->src_len;
	o->dst_len = a->dst_len;
	if (o->tunnel) {
		to_mon(&a->outer_src, &o->tunnel_src);
		to_mon(&a->outer_dst, &o->tunnel_dst);
	}
	if (o->esp)
		enc_name(a->enc, o->encryption, sizeof(o->encryption));
	else
		snprintf(o->encryption, sizeof(o->encryption), "None");
	integ_name(o->esp ? a->enc : ENC_NULL, a->integ, o->integrity, sizeof(o->integrity));
	o->sequence = a->inbound ? 0 : a->seq;
	o->age_s = a->age_s;
	o->packets = a->count.packets;
	o->bytes = a->count.bytes;
	for (int i = 0; i < DROP_COUNT && i < 16; i++)
		o->drops[i] = a->count.drops[i];
	snprintf(o->state, sizeof(o->state), "%s",
	         a->hard_expired ? "expired" : a->soft_expired ? "rekey due" : "active");
}

/* One direction's share of a quick-mode SA. */
static void qm_add_direction(struct mon_qm_sa *q, const struct driver_sa_info *a)
{
	q->esp = a->proto == SA_PROTO_ESP;
	q->tunnel = a->mode == SA_TUNNEL;
	const struct sa_address *me = a->inbound ? &a->dst : &a->src;
	const struct sa_address *peer = a->inbound ? &a->src : &a->dst;
	to_mon(me, &q->me);
	to_mon(peer, &q->peer);
	q->me_len = a->inbound ? a->dst_len : a->src_len;
	q->peer_len = a->inbound ? a->src_len : a->dst_len;
	if (q->tunnel) {
		to_mon(a->inbound ? &a->outer_dst : &a->outer_src, &q->me_tunnel);
		to_mon(a->inbound ? &a->outer_src : &a->outer_dst, &q->peer_tunnel);
	}
	if (q->esp) {
		snprintf(q->ah_integrity, sizeof(q->ah_integrity), "None");
		enc_name(a->enc, q->esp_confidentiality, sizeof(q->esp_confidentiality));
		integ_name(a->enc, a->integ, q->esp_integrity, sizeof(q->esp_integrity));
	} else {
		integ_name(ENC_NULL, a->integ, q->ah_integrity, sizeof(q->ah_integrity));
		snprintf(q->esp_confidentiality, sizeof(q->esp_confidentiality), "None");
		snprintf(q->esp_integrity, sizeof(q->esp_integrity), "None");
	}
	q->lifetime_kb = a->life.hard_bytes / 1024;
	q->lifetime_s = a->life.hard_seconds;
	uint64_t used_kb = a->count.bytes / 1024;
	uint64_t left_kb = q->lifetime_kb > used_kb ? q->lifetime_kb - used_kb : 0;
	uint64_t left_s = q->lifetime_s > a->age_s ? q->lifetime_s - a->age_s : 0;
	/* The busier (or older) direction ends the SA first. */
	if (!q->spi_in && !q->spi_out) {
		q->remaining_kb = left_kb;
		q->remaining_s = left_s;
	} else {
		if (left_kb < q->remaining_kb)
			q->remaining_kb = left_kb;
		if (left_s < q->remaining_s)
			q->remaining_s = left_s;
	}
	if (a->udp_encap) {
		q->encap = true;
		q->encap_me_port = 4500;
		q->encap_peer_port = a->udp_port ? a->udp_port : 4500;
	}
	if (a->age_s > q->age_s)
		q->age_s = a->age_s;
	q->rekey_due |= a->soft_expired;
	if (a->inbound) {
		q->spi_in = a->spi;
		q->packets_in = a->count.packets;
		q->bytes_in = a->count.bytes;
		q->drops_in = drops_of(&a->count);
	} else {
		q->spi_out = a->spi;
		q->packets_out = a->count.packets;
		q->bytes_out = a->count.bytes;
		q->drops_out = drops_of(&a->count);
	}
}

static void qm_names(struct mon_qm_sa *q, const struct compiled_policy *cp, const char *fallback)
{
	const struct rule_origin *o = origin_of(cp, q->rule_id);
	snprintf(q->rule, sizeof(q->rule), "%s", o ? o->name : fallback ? fallback : "");
	snprintf(q->policy, sizeof(q->policy), "%s", o ? o->filteraction : "");
}

/* Bounds of one snapshot: enough for a busy gateway, small enough to copy. */
#define FILL_IKE_MAX 4096
#define FILL_SA_MAX 8192

void monitor_counts(struct driver *d, const struct keying *k, uint64_t now_ms, size_t *ike,
                    size_t *sa)
{
	size_t nch;
	*sa = driver_sa_snapshot(d, NULL, 0);
	*ike = k->engine ? ike_engine_snapshot(k->engine, now_ms, NULL, 0, NULL, 0, &nch) : 0;
	if (*sa > FILL_SA_MAX)
		*sa = FILL_SA_MAX;
	if (*ike > FILL_IKE_MAX)
		*ike = FILL_IKE_MAX;
}

void monitor_fill(struct mon_snapshot *s, struct driver *d, const struct keying *k,
                  const struct compiled_policy *cp, uint64_t now_ms)
{
	s->taken_at = (int64_t)time(NULL);
	fill_stats(s, d, k);
	s->nike = s->nqm = s->nsa = 0;
	s->ike_total = s->qm_total = s->sa_total = 0;

	/* Counters only (`show stats`, polled often): no SA is copied. */
	if (!s->sa_cap && !s->qm_cap && !s->ike_cap)
		return;
	/* The driver's SAs: every view that shows SAs needs them. The arrays
	 * are as large as what there is (bounded), not as the bound: a poller
	 * must not make secpold's heap grow to the bound. */
	size_t ike_now, sa_now;
	monitor_counts(d, k, now_ms, &ike_now, &sa_now);
	size_t sa_max = sa_now + 1;
	struct driver_sa_info *das = calloc(sa_max, sizeof(*das));
	bool *claimed = calloc(sa_max, sizeof(*claimed));
	size_t nda = 0, da_total = 0;
	if (das && claimed) {
		da_total = driver_sa_snapshot(d, das, sa_max);
		nda = da_total < sa_max ? da_total : sa_max;
	}
	s->sa_total = da_total;
	for (size_t i = 0; i < nda && s->nsa < s->sa_cap; i++)
		fill_sa(&s->sas[s->nsa++], &das[i]);

	size_t ike_max = ike_now + 1, nch = 0, nike = 0;
	struct ike_sa_info *ikes = calloc(ike_max, sizeof(*ikes));
	struct ike_child_info *chs = calloc(sa_max, sizeof(*chs));
	if (ikes && chs && k->engine)
		nike = ike_engine_snapshot(k->engine, now_ms, ikes, ike_max, chs, sa_max, &nch);
	s->ike_total = nike;
	if (nike > ike_max)
		nike = ike_max;
	for (size_t i = 0; i < nike && s->nike < s->ike_cap; i++) {
		const struct ike_sa_info *a = &ikes[i];
		struct mon_ike_sa *o = &s->ike[s->nike++];
		memset(o, 0, sizeof(*o));
		o->me.family = a->local.family;
		memcpy(o->me.bytes, a->local.bytes, 16);
		o->peer.family = a->remote.family;
		memcpy(o->peer.bytes, a->remote.bytes, 16);
		o->me_port = a->local.port;
		o->peer_port = a->remote.port;
		o->cookie_i = a->spi_i;
		o->cookie_r = a->spi_r;
		o->auth = a->auth == IKE_INFO_AUTH_PSK ? MON_AUTH_PSK
		          : a->auth == IKE_INFO_AUTH_CERT ? MON_AUTH_CERT : MON_AUTH_NONE;
		snprintf(o->me_id, sizeof(o->me_id), "%s", a->me_id);
		snprintf(o->peer_id, sizeof(o->peer_id), "%s", a->peer_id);
		if (a->keyed) {
			enc_name(a->enc, o->encryption, sizeof(o->encryption));
			integ_name(a->enc, a->integ, o->integrity, sizeof(o->integrity));
			const struct crypto_prf_info *pi = crypto_prf_info(a->prf);
			upper(pi ? pi->name : "?", o->prf, sizeof(o->prf));
		}
		o->dh_group = a->dh_group;
		o->initiator = a->initiator;
		snprintf(o->state, sizeof(o->state), "%s", a->state);
		o->rule_id = a->rule_id;
		snprintf(o->rule, sizeof(o->rule), "%s", a->rule);
		o->encap = a->encap;
		o->nat = a->nat;
		o->age_s = a->age_s;
		o->lifetime_s = a->lifetime_s;
		o->lifetime_left_s = a->lifetime_left_s;
		o->child_sas = (uint32_t)a->children;
	}

	/* Quick-mode SAs: each Child SA with its driver SAs. */
	for (size_t c = 0; c < nch; c++) {
		const struct ike_child_info *ch = &chs[c];
		const struct ike_sa_info *ik = &ikes[ch->ike_sa];
		s->qm_total++;
		if (s->nqm >= s->qm_cap)
			continue;
		struct mon_qm_sa *q = &s->qm_sas[s->nqm++];
		memset(q, 0, sizeof(*q));
		q->negotiated = true;
		q->direction = MON_DIR_BOTH;
		q->rule_id = ch->rule_id;
		q->protocol = ch->protocol;
		q->me_port = ch->local_port;
		q->peer_port = ch->remote_port;
		q->pfs_group = ch->pfs_group;
		q->esp = ch->proto == SA_PROTO_ESP;
		q->tunnel = ch->tunnel;
		q->rekey_due = ch->rekeying;
		for (size_t i = 0; i < nda; i++) {
			const struct driver_sa_info *a = &das[i];
			if (claimed[i] || a->proto != ch->proto)
				continue;
			bool in = a->inbound && a->spi == ch->spi_in &&
			          sa_addr_eq(&a->outer_dst, ik->local.family, ik->local.bytes);
			bool out = !a->inbound && a->spi == ch->spi_out &&
			           sa_addr_eq(&a->outer_dst, ik->remote.family, ik->remote.bytes);
			if (in || out) {
				claimed[i] = true;
				qm_add_direction(q, a);
			}
		}
		/* The Child SA's own view where the driver has no SA (yet). */
		q->spi_in = ch->spi_in;
		q->spi_out = ch->spi_out;
		if (!q->age_s)
			q->age_s = ch->age_s;
		if (!q->lifetime_s)
			q->lifetime_s = ch->lifetime_s;
		qm_names(q, cp, ik->rule);
	}
	for (size_t i = 0; i < nda; i++) {
		if (claimed[i])
			continue;
		s->qm_total++;
		if (s->nqm >= s->qm_cap)
			continue;
		struct mon_qm_sa *q = &s->qm_sas[s->nqm++];
		memset(q, 0, sizeof(*q));
		q->direction = das[i].inbound ? MON_DIR_INBOUND : MON_DIR_OUTBOUND;
		q->rule_id = das[i].rule_id;
		qm_add_direction(q, &das[i]);
		qm_names(q, cp, NULL);
	}
	free(das);
	free(claimed);
	free(ikes);
	free(chs);
}

void monitor_failures(struct mon_failures *out, const struct keying *k, uint64_t now_ms)
{
	memset(out, 0, sizeof(*out));
	out->taken_at = (int64_t)time(NULL);
	if (!k->engine)
		return;
	struct ike_failure_info fi[MON_FAILURES_MAX];
	out->n = ike_engine_failures(k->engine, now_ms, fi, MON_FAILURES_MAX, &out->total);
	for (size_t i = 0; i < out->n; i++) {
		struct mon_failure *o = &out->f[i];
		o->age_s = fi[i].age_s;
		o->peer.family = fi[i].peer.family;
		memcpy(o->peer.bytes, fi[i].peer.bytes, sizeof(o->peer.bytes));
		o->peer_port = fi[i].peer.port;
		o->rule_id = fi[i].rule_id;
		snprintf(o->rule, sizeof(o->rule), "%s", fi[i].rule);
		snprintf(o->step, sizeof(o->step), "%s", fi[i].step);
		snprintf(o->reason, sizeof(o->reason), "%s", fi[i].why);
	}
}

void diagnostics_fill(struct drvdiag_counts *out, const struct driver_stats *ds,
                      const struct steer_drops *nft)
{
	static const struct {
		enum drvdiag_reason reason;
		enum sa_drop drop;
	} sa_reasons[] = {
		{ DRVDIAG_BAD_SPI, DROP_BAD_SPI },       { DRVDIAG_AUTH, DROP_AUTH },
		{ DRVDIAG_REPLAY, DROP_REPLAY },         { DRVDIAG_OUT_OF_WINDOW, DROP_OUT_OF_WINDOW },
		{ DRVDIAG_DECRYPT, DROP_DECRYPT },       { DRVDIAG_PADDING, DROP_PADDING },
		{ DRVDIAG_TRUNCATED, DROP_TRUNCATED },   { DRVDIAG_BAD_LENGTH, DROP_BAD_LENGTH },
		{ DRVDIAG_SELECTOR, DROP_SELECTOR },     { DRVDIAG_LIFETIME, DROP_LIFETIME },
		{ DRVDIAG_SEQ_EXHAUSTED, DROP_SEQ_EXHAUSTED }, { DRVDIAG_NO_ROOM, DROP_NO_ROOM },
	};
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(sa_reasons) / sizeof(sa_reasons[0]); i++)
		out->n[sa_reasons[i].reason] = ds->drops[sa_reasons[i].drop];
	out->n[DRVDIAG_MALFORMED] = ds->malformed;
	/* Outbound Block: in the kernel for most packets, in the driver for a
	 * steered packet whose SPD filter blocks it -- one reason either way. */
	out->n[DRVDIAG_OUT_BLOCKED] = ds->blocked;
	out->n[DRVDIAG_OUT_QUEUE_OVERFLOW] = ds->queue_overflow;
	out->n[DRVDIAG_OUT_QUEUE_TIMEOUT] = ds->queue_timeout;
	if (nft) {
		out->n[DRVDIAG_IN_BLOCKED] = nft->in_blocked;
		out->n[DRVDIAG_IN_CLEARTEXT] = nft->in_cleartext;
		out->n[DRVDIAG_OUT_BLOCKED] += nft->out_blocked;
	}
}
