/*
 * The lookup: tuple space search, pruned by the tries, in descending address
 * bits (the layout is described in internal.h). No allocation, no writes to
 * the shared structure.
 */
#include <sys/socket.h>

#include "spd/builder.h"
#include "spd/internal.h"

/* The record with exactly these selectors (tuple included in misc), or NULL. */
#ifdef SPD_STATS
unsigned long spd_stat_probes, spd_stat_srclens, spd_stat_dstlens;
#endif
static const struct spd_rec *probe(const struct spd *s, const uint64_t src[2],
                                   const uint64_t dst[2], uint64_t misc)
{
#ifdef SPD_STATS
	spd_stat_probes++;
#endif
	uint64_t h = spd_hash(src, dst, misc);
	uint64_t mask = (1ull << s->table_bits) - 1;
	for (uint64_t slot = h >> (64 - s->table_bits);; slot = (slot + 1) & mask) {
		uint64_t e = s->table[slot];
		if (e == 0)
			return NULL;   /* the table is at most half full: always ends */
		if ((uint32_t)(e >> 32) != (uint32_t)h)
			continue;
		const struct spd_rec *r = &s->recs[(uint32_t)e - 1];
		if (r->misc == misc && r->src[0] == src[0] && r->src[1] == src[1] &&
		    r->dst[0] == dst[0] && r->dst[1] == dst[1])
			return r;
	}
}

bool spd_lookup(const struct spd *s, const struct spd_packet *p, enum spd_dir dir,
                struct spd_match *m)
{
	if (!s || (dir != SPD_OUTBOUND && dir != SPD_INBOUND) ||
	    (p->family != AF_INET && p->family != AF_INET6))
		return false;
	const struct spd_space *sp = &s->space[dir][p->family == AF_INET6];
	if (sp->src_root == SPD_NO_TRIE)
		return false;

	uint64_t a_src[2], a_dst[2];
	spd_load_addr(p->family, p->src, a_src);
	spd_load_addr(p->family, p->dst, a_dst);
	/* Ports only exist for TCP and UDP; filters with ports require those. */
	bool ports = p->protocol == SPD_TCP || p->protocol == SPD_UDP;
	uint16_t sport = ports ? p->src_port : 0, dport = ports ? p->dst_port : 0;

	const unsigned fam = p->family == AF_INET6;
	uint64_t srcs[SPD_MAXLEN + 1], dsts[SPD_MAXLEN + 1];
	unsigned nsrc = spd_trie_walk(s, sp->src_root, a_src, srcs);

	const struct spd_rec *best = NULL;
	uint64_t best_rank = 0;
	int best_bits = -1;          /* src + dst length of the best match */
	/* Longest source prefix first: address bits dominate the weight. */
	while (nsrc > 0) {
		unsigned sl = (unsigned)(srcs[--nsrc] >> 32);
		uint32_t sres = (uint32_t)srcs[nsrc];
		if ((int)(sl + SPD_SRC_MAXLEN(sres)) < best_bits)
			continue;    /* nothing under this source can reach the best */
		const struct spd_dtrie *dt = &s->dtries[SPD_SRC_DTRIE(sres)];
		uint64_t ks[2] = { a_src[0] & spd_mask_hi(sl), a_src[1] & spd_mask_lo(sl) };
		unsigned ndst = spd_trie_walk(s, dt->root, a_dst, dsts);
		while (ndst > 0) {
			unsigned dl = (unsigned)(dsts[--ndst] >> 32);
			unsigned flagset = (uint32_t)dsts[ndst];
			if ((int)(sl + dl) < best_bits)
				break;
			uint64_t kd[2] = { a_dst[0] & spd_mask_hi(dl), a_dst[1] & spd_mask_lo(dl) };
			/* Flag sets in descending weight: protocol, then ports. */
			for (int fl = 7; fl >= 0; fl--) {
				if (!(flagset >> fl & 1))
					continue;
				uint32_t top = ((uint32_t)(sl + dl) << 20 | (uint32_t)fl << 17) + SPD_LOW_MAX;
				if (((uint64_t)top << 32 | UINT32_MAX) < best_rank)
					break;
				if ((fl & (TF_SPORT | TF_DPORT)) && !ports)
					continue;
				uint64_t tuple = spd_tuple_bits(sl, dl, (unsigned)fl, dir, fam);
				const struct spd_rec *r =
					probe(s, ks, kd, spd_misc(tuple, (unsigned)fl, p->protocol, sport, dport));
				if (r && r->rank > best_rank) {
					best = r;
					best_rank = r->rank;
					best_bits = (int)(sl + dl);
				}
			}
		}
	}
	if (!best)
		return false;
	if (m) {
		m->rule_id = best->rule_id;
		m->action = (enum filter_action_kind)best->action;
		m->tunnel = best->tunnel;
		m->weight = (uint32_t)(best->rank >> 32);
	}
	return true;
}
