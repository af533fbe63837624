/*
 * The lookup: the two chains of groups along the packet's addresses, from
 * the highest weight bound down (the layout is described in internal.h). No
 * allocation, no writes to the shared structure.
 */
#include <string.h>
#include <sys/socket.h>

#include "spd/builder.h"
#include "spd/internal.h"

#ifdef SPD_STATS
/* Per lookup counts for tuning (not thread-safe, off by default). */
unsigned long spd_stat_lookups, spd_stat_steps, spd_stat_visits, spd_stat_recs, spd_stat_probes;
#define STAT(x) ((x)++)
#else
#define STAT(x) ((void)0)
#endif

/* The record with exactly these selectors (tuple included in misc), or NULL. */
static const struct spd_rec *probe(const struct spd *s, const uint64_t src[2],
                                   const uint64_t dst[2], uint64_t misc)
{
	STAT(spd_stat_probes);
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

/* The packet, as the lookup compares it. */
struct pkey {
	uint64_t a[2][2];            /* [0] = source, [1] = destination; (hi, lo) */
	uint64_t misc;               /* protocol and ports as a record's misc has them */
	bool ports;                  /* TCP or UDP */
};

/* The best match so far. A record that is known to match is read only if
 * nothing better comes (a lookup meets a few in turn): until then it is
 * pending, and rank holds only its weight. */
struct best {
	uint64_t rank;               /* 0: none */
	const struct spd_rec *pending;
	uint32_t rule_id;
	uint8_t action, tunnel;
};

static inline void take_rec(struct best *b, const struct spd_rec *r)
{
	b->rank = r->rank;
	b->pending = NULL;
	b->rule_id = r->rule_id;
	b->action = r->action;
	b->tunnel = r->tunnel;
}

static inline void resolve(struct best *b)
{
	if (b->pending) {
		STAT(spd_stat_recs);
		take_rec(b, b->pending);
	}
}

/* Whether a filter of this rank beats the best. */
static inline bool beats(struct best *b, uint64_t rank)
{
	if ((rank >> 32) == (b->rank >> 32))
		resolve(b);          /* equal weights: the tie position decides */
	return rank > b->rank;
}

/* Record r of weight w (not below the best's) is known to match. */
static inline void offer(struct best *b, const struct spd_rec *r, uint32_t w)
{
	if (w > (uint32_t)(b->rank >> 32)) {
		b->pending = r;
		b->rank = (uint64_t)w << 32;
	} else if (beats(b, r->rank)) {
		take_rec(b, r);
	}
}

/* Whether record r matches the packet (v6 = false: the low halves are 0). */
static inline __attribute__((always_inline)) bool rec_matches(const struct spd_rec *r,
                                                              const struct pkey *k, bool v6)
{
	if ((r->misc & SPD_MISC_SEL) != (k->misc & spd_misc_sel((uint32_t)(r->rank >> 32))))
		return false;
	uint64_t ms = v6 ? spd_mask_hi(r->src_len) : spd_mask4(r->src_len);
	uint64_t md = v6 ? spd_mask_hi(r->dst_len) : spd_mask4(r->dst_len);
	if (((k->a[0][0] ^ r->src[0]) & ms) != 0 || ((k->a[1][0] ^ r->dst[0]) & md) != 0)
		return false;
	return !v6 || (((k->a[0][1] ^ r->src[1]) & spd_mask_lo(r->src_len)) == 0 &&
	               ((k->a[1][1] ^ r->dst[1]) & spd_mask_lo(r->dst_len)) == 0);
}

static inline uint64_t load_be64(const uint8_t *b)
{
	return (uint64_t)b[0] << 56 | (uint64_t)b[1] << 48 | (uint64_t)b[2] << 40 |
	       (uint64_t)b[3] << 32 | (uint64_t)b[4] << 24 | (uint64_t)b[5] << 16 |
	       (uint64_t)b[6] << 8 | b[7];
}

static inline uint64_t load_be32(const uint8_t *b)
{
	return (uint64_t)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3])
	       << 32;
}

/* The best record of an inner-trie group g of class `side` (0 = S, 1 = D)
 * into *b if better. */
static void visit_inner(const struct spd *s, const struct spd_group *g, unsigned side,
                        const struct pkey *k, const struct spd_packet *p, unsigned dir,
                        unsigned fam, struct best *b)
{
	uint32_t bw = (uint32_t)(b->rank >> 32);
	unsigned ol = SPD_G_LEN(g->top);
	uint64_t in[SPD_MAXLEN + 1];
	unsigned ni = spd_trie_walk(s, g->ref, k->a[!side], in);
	const uint64_t *ao = k->a[side], *ai = k->a[!side];
	uint64_t ko[2] = { ao[0] & spd_mask_hi(ol), ao[1] & spd_mask_lo(ol) };
	uint16_t sport = (uint16_t)(k->misc >> 8), dport = (uint16_t)(k->misc >> 24);
	while (ni > 0) {
		uint64_t e = in[--ni];
		unsigned il = (unsigned)(e >> 32);
		unsigned flagset = (uint32_t)e;
		if (((uint32_t)(ol + il) << 20 | 0xfe000u) < bw)
			break;
		uint64_t ki[2] = { ai[0] & spd_mask_hi(il), ai[1] & spd_mask_lo(il) };
		unsigned sl = side ? il : ol, dl = side ? ol : il;
		const uint64_t *ks = side ? ki : ko, *kd = side ? ko : ki;
		/* Flag sets in descending weight: protocol, then ports. */
		for (int fl = 7; fl >= 0; fl--) {
			if (!(flagset >> fl & 1))
				continue;
			uint32_t top = ((uint32_t)(sl + dl) << 20 | (uint32_t)fl << 17) + SPD_LOW_MAX;
			if (top < bw)
				break;
			if ((fl & (TF_SPORT | TF_DPORT)) && !k->ports)
				continue;
			uint64_t tuple = spd_tuple_bits(sl, dl, (unsigned)fl, dir, fam);
			const struct spd_rec *r =
				probe(s, ks, kd, spd_misc(tuple, (unsigned)fl, p->protocol, sport, dport));
			if (r && beats(b, r->rank)) {
				take_rec(b, r);
				bw = (uint32_t)(r->rank >> 32);
			}
		}
	}
}

/* A chain's next group: its reference (SPD_NO_GROUP: the chain ended), its
 * anc and top; leaf: a LEAF_REC head still to visit, whose parent is ref. */
struct chain {
	uint32_t ref, anc, top;
	const struct tnode *leaf;
};

static inline void chain_load(const struct spd *s, struct chain *c, uint32_t ref)
{
	c->ref = ref;
	if (ref == SPD_NO_GROUP) {
		c->anc = c->top = 0;
	} else {
		c->anc = s->groups[ref].anc;
		c->top = s->groups[ref].top;
	}
}

static inline __attribute__((always_inline)) bool
lookup(const struct spd *s, const struct spd_space *sp, const struct spd_packet *p,
       unsigned dir, bool v6, struct best *best)
{
	struct pkey k;
	if (v6) {
		k.a[0][0] = load_be64(p->src);
		k.a[0][1] = load_be64(p->src + 8);
		k.a[1][0] = load_be64(p->dst);
		k.a[1][1] = load_be64(p->dst + 8);
	} else {
		k.a[0][0] = load_be32(p->src);
		k.a[1][0] = load_be32(p->dst);
		k.a[0][1] = k.a[1][1] = 0;
	}
	/* Ports only exist for TCP and UDP; filters with ports require those. */
	k.ports = p->protocol == SPD_TCP || p->protocol == SPD_UDP;
	k.misc = spd_misc(0, TF_PROTO | TF_SPORT | TF_DPORT, p->protocol,
	                  k.ports ? p->src_port : 0, k.ports ? p->dst_port : 0);
	STAT(spd_stat_lookups);

	/* The heads of the two chains, class S by source and D by destination:
	 * both walks at once, so that their cache misses overlap. */
	struct spd_walk w0, w1;
	spd_walk_start(s, &sp->head[0], k.a[0], v6, &w0);
	spd_walk_start(s, &sp->head[1], k.a[1], v6, &w1);
	while (w0.t && w1.t) {
		spd_walk_step(s, k.a[0], v6, &w0);
		spd_walk_step(s, k.a[1], v6, &w1);
	}
	while (w0.t)
		spd_walk_step(s, k.a[0], v6, &w0);
	while (w1.t)
		spd_walk_step(s, k.a[1], v6, &w1);
	struct chain ch[2];
	chain_load(s, &ch[0], w0.best);
	chain_load(s, &ch[1], w1.best);
	/* A leaf that holds its record goes first in its chain: its parent is
	 * the walk's best, and its anc the greater of the two. */
	ch[0].leaf = w0.leaf;
	ch[1].leaf = w1.leaf;
	for (unsigned c = 0; c < 2; c++) {
		if (ch[c].leaf) {
			ch[c].top = !v6 ? ch[c].leaf->u.rec4.weight : ch[c].leaf->u.rec6.weight;
			if (ch[c].top > ch[c].anc)
				ch[c].anc = ch[c].top;
		}
	}

	best->rank = 0;
	best->pending = NULL;
	/* The best weight. Every filter weighs at least 1 << 13 and an ended
	 * chain's bound is 0, so 1 also ends the search when nothing is left. */
	uint32_t bw = 1;
	for (;;) {
		/* Next: the chain with the highest bound left; when it cannot reach
		 * the best, neither can the other. */
		unsigned side = ((uint64_t)ch[1].anc << 32 | ch[1].top) >
		                ((uint64_t)ch[0].anc << 32 | ch[0].top);
		struct chain *c = &ch[side];
		if (c->anc < bw)
			break;
		STAT(spd_stat_steps);
		uint32_t gtop = c->top;
		if (c->leaf) {
			/* The outer prefix matched in the walk. */
			const struct tnode *t = c->leaf;
			c->leaf = NULL;
			chain_load(s, c, c->ref);
			unsigned il = LEAF_ILEN(t->h);
			const uint64_t *ai = k.a[!side];
			uint64_t misc = k.misc & spd_misc_sel(gtop);
			if (!v6) {
				uint64_t rank = (uint64_t)gtop << 32 | t->u.rec4.pos;
				if (gtop >= bw &&
				    ((ai[0] ^ (uint64_t)t->u.rec4.inner << 32) & spd_mask4(il)) == 0 &&
				    misc == (t->u.rec4.proto | (uint64_t)t->u.rec4.ports << 8) &&
				    beats(best, rank)) {
					best->pending = NULL;
					best->rank = rank;
					best->rule_id = t->u.rec4.rule_id;
					best->action = t->u.rec4.action;
					best->tunnel = t->u.rec4.tunnel;
					bw = gtop;
				}
			} else if (gtop >= bw && t->u.rec6.fp == spd_fp(ai[0] & spd_mask_hi(il),
			                                                  ai[1] & spd_mask_lo(il), misc)) {
				const struct spd_rec *r = &s->recs[t->u.rec6.rec];
				STAT(spd_stat_recs);
				if (beats(best, r->rank) && rec_matches(r, &k, v6)) {
					take_rec(best, r);
					bw = gtop;
				}
			}
			continue;
		}
		const struct spd_group *grp = &s->groups[c->ref];
		chain_load(s, c, grp->parent);
		if ((gtop & ~SPD_W_SPARE) < bw)
			continue;    /* a better group further up */
		STAT(spd_stat_visits);
		unsigned kind = SPD_G_KIND(gtop);
		if (kind == SPD_G_SINGLE) {
			/* The outer prefix matched; the inner one, the protocol and
			 * the ports decide whether the record is worth reading. */
			unsigned il = (gtop >> 20) - SPD_G_LEN(gtop);
			if (((k.a[!side][0] ^ grp->ihi) & (v6 ? spd_mask_hi(il) : spd_mask4(il))) != 0 ||
			    (k.misc & spd_misc_sel(gtop)) != grp->misc)
				continue;
			const struct spd_rec *r = &s->recs[grp->ref];
			if (!v6 || il <= 64) {
				/* The check was exact: the record matches. */
				offer(best, r, gtop & ~SPD_W_SPARE);
				bw = (uint32_t)(best->rank >> 32);
			} else {
				STAT(spd_stat_recs);
				if (beats(best, r->rank) && rec_matches(r, &k, v6)) {
					take_rec(best, r);
					bw = (uint32_t)(r->rank >> 32);
				}
			}
		} else if (kind == SPD_G_LIST) {
			/* Best first: the first that matches is the group's best. */
			const struct spd_member *mem = &s->members[grp->ref];
			const uint64_t *ai = k.a[!side];
			unsigned ol = SPD_G_LEN(gtop);
			for (unsigned i = 0, n = SPD_G_COUNT(gtop); i < n; i++) {
				if (mem[i].weight < bw)
					break;
				unsigned il = (mem[i].weight >> 20) - ol;
				if (((ai[0] ^ mem[i].ihi) & (v6 ? spd_mask_hi(il) : spd_mask4(il))) != 0 ||
				    (k.misc & spd_misc_sel(mem[i].weight)) != mem[i].misc)
					continue;
				const struct spd_rec *r = &s->recs[mem[i].rec];
				if (!v6 || il <= 64) {
					/* The check was exact: the record matches. */
					offer(best, r, mem[i].weight);
					bw = (uint32_t)(best->rank >> 32);
					break;
				}
				STAT(spd_stat_recs);
				if (!beats(best, r->rank))
					break;
				if (rec_matches(r, &k, v6)) {
					take_rec(best, r);
					bw = (uint32_t)(r->rank >> 32);
					break;
				}
			}
		} else {
			visit_inner(s, grp, side, &k, p, dir, v6, best);
			if (best->rank)
				bw = (uint32_t)(best->rank >> 32);
		}
	}
	resolve(best);
	return best->rank != 0;
}

bool spd_lookup(const struct spd *s, const struct spd_packet *p, enum spd_dir dir,
                struct spd_match *m)
{
	if (!s || (dir != SPD_OUTBOUND && dir != SPD_INBOUND) ||
	    (p->family != AF_INET && p->family != AF_INET6))
		return false;
	struct best b;
	bool found = p->family == AF_INET ? lookup(s, &s->space[dir][0], p, dir, false, &b)
	                                  : lookup(s, &s->space[dir][1], p, dir, true, &b);
	if (!found)
		return false;
	if (m) {
		m->rule_id = b.rule_id;
		m->action = (enum filter_action_kind)b.action;
		m->tunnel = b.tunnel;
		m->weight = (uint32_t)(b.rank >> 32);
	}
	return true;
}

bool spd_exempt(unsigned classes, const struct spd_packet *p)
{
	if (classes & SPD_EXEMPT_MULTICAST) {
		static const uint8_t limited[4] = { 255, 255, 255, 255 };
		if (p->family == AF_INET &&
		    ((p->dst[0] & 0xf0) == 0xe0 || memcmp(p->dst, limited, 4) == 0))
			return true;
		if (p->family == AF_INET6 && p->dst[0] == 0xff)
			return true;
	}
	if ((classes & SPD_EXEMPT_RSVP) && p->protocol == 46)
		return true;
	if ((classes & SPD_EXEMPT_KERBEROS) && (p->protocol == 6 || p->protocol == 17) &&
	    (p->src_port == 88 || p->dst_port == 88))
		return true;
	return false;
}
