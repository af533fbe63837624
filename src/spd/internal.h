/*
 * The compiled SPD's layout, shared by build.c, trie.c and lookup.c only.
 *
 * Design: a two-level trie (source prefix, then destination prefix) that
 * finds the address pairs, and one hash table that resolves protocol/ports.
 *  - Every filter belongs to a tuple: (direction, family, src prefix length,
 *    dst prefix length, protocol given, src port given, dst port given). All
 *    filters of a tuple have the same weight apart from the action/tunnel
 *    bits, so one hash probe keyed by the masked selectors and the tuple finds
 *    the only candidate of that tuple; filters with identical selectors are
 *    resolved at build time (only the best is kept).
 *  - Per direction and family, a trie over the distinct source prefixes P;
 *    each P leads to a trie over the destination prefixes Q of the filters
 *    whose source is P, and each Q holds the set of tuple flags present for
 *    (P, Q). A lookup walks the source trie once, then the destination trie
 *    of each matching P (longest first, skipped when it cannot beat the best
 *    weight found), and probes the hash table only for the (P, Q, flags) that
 *    exist. Address bits dominate the weight, so the search stops as soon as
 *    no remaining pair can reach the best sum of prefix lengths.
 * Addresses are held as 128-bit big-endian values (hi, lo); an IPv4 address
 * occupies the top 32 bits of hi, so prefix masks are the same for both.
 */
#ifndef SECPOL_SPD_INTERNAL_H
#define SECPOL_SPD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spd/spd.h"

#define SPD_MAXLEN 128
#define SPD_FAMILIES 2              /* index 0 = IPv4, 1 = IPv6 */
#define SPD_DIRS 2

/* Tuple flags, in weight order: their value << 17 is their weight share. */
#define TF_PROTO 4u
#define TF_SPORT 2u
#define TF_DPORT 1u
/* The most the action and tunnel bits can add to a tuple's weight. */
#define SPD_LOW_MAX ((3u << 14) | (1u << 13))

/* One compiled filter: the selectors masked to its tuple, and its result.
 * One cache line each (s->recs is 64-byte aligned): a probe touches one. */
struct spd_rec {
	_Alignas(64) uint64_t src[2];
	uint64_t dst[2];
	uint64_t misc;               /* see spd_misc() */
	uint64_t rank;               /* weight << 32 | (~tie position): max wins */
	uint32_t rule_id;
	uint8_t src_len, dst_len;
	uint8_t action;              /* enum filter_action_kind */
	uint8_t tunnel;
};

/*
 * Trie node, 4 bits per level (a "tree bitmap"). An inner node at depth k
 * holds the prefixes of length 4k..4k+3 that end in it: bit (1 << j) - 1 + t
 * of pbits for length 4k+j whose last j bits are t; their results follow
 * each other from res0. Its children are contiguous from child0, one per
 * bit of cbits. A subtree that holds a single prefix is one leaf node
 * instead (this removes the long single-child chains of host prefixes): the
 * prefix inline for IPv4, by record for IPv6, and its result inline in res0.
 */
enum { NODE_INNER, NODE_LEAF4, NODE_LEAF6 };
struct tnode {
	uint16_t pbits;              /* LEAF: the prefix length */
	uint16_t cbits;              /* LEAF6: 0 = the record's src, 1 = its dst */
	uint32_t child0;             /* LEAF4: the prefix (top 32 bits); LEAF6: record */
	uint32_t res0;               /* LEAF: the result itself */
	uint32_t kind;
};

#define SPD_NO_TRIE UINT32_MAX

/* A source-trie result: the destination trie's index and its longest prefix,
 * so that a lookup prunes a source prefix before touching its dtrie. Indexes
 * are below SPD_MAX_FILTERS (1 << 24). */
#define SPD_SRC_RES(dtrie, maxlen) ((uint32_t)(dtrie) | (uint32_t)(maxlen) << 24)
#define SPD_SRC_DTRIE(res) ((res) & 0xffffffu)
#define SPD_SRC_MAXLEN(res) ((res) >> 24)

/* A destination trie: the filters whose source is one prefix P. */
struct spd_dtrie {
	uint32_t root;
	uint32_t maxlen;             /* longest destination prefix in it */
};

struct spd_space {
	unsigned width;              /* 32 or 128 */
	uint32_t src_root;           /* SPD_NO_TRIE when the space is empty */
};

struct spd {
	struct spd_space space[SPD_DIRS][SPD_FAMILIES];
	struct tnode *nodes;         /* all tries */
	uint32_t nnodes, nodes_cap;
	uint32_t *res;               /* source trie: SPD_SRC_RES(); dst trie: flag set */
	uint32_t nres, res_cap;
	struct spd_dtrie *dtries;
	uint32_t ndtries;
	struct spd_rec *recs;
	uint32_t nrecs;
	uint64_t *table;             /* hash << 32 | (record + 1); 0 = empty */
	uint32_t table_bits;
	size_t nfilters, bytes;
};

/* The tuple of a key: lengths, flags, direction and family above the ports. */
static inline uint64_t spd_tuple_bits(unsigned src_len, unsigned dst_len, unsigned flags,
                                      unsigned dir, unsigned fam)
{
	return (uint64_t)src_len << 40 | (uint64_t)dst_len << 48 |
	       (uint64_t)(flags | dir << 3 | fam << 4) << 56;
}

/* Portable popcount of a 16-bit map: without -mpopcnt the builtin is a
 * library call, which was 9% of a lookup. */
static inline unsigned spd_pop16(unsigned x)
{
	x = x - ((x >> 1) & 0x5555u);
	x = (x & 0x3333u) + ((x >> 2) & 0x3333u);
	x = (x + (x >> 4)) & 0x0f0fu;
	return (x + (x >> 8)) & 0x1fu;
}

static inline uint64_t spd_mask_hi(unsigned len)
{
	return len == 0 ? 0 : len >= 64 ? ~0ull : ~0ull << (64 - len);
}

static inline uint64_t spd_mask_lo(unsigned len)
{
	return len <= 64 ? 0 : ~0ull << (128 - len);
}

static inline uint64_t spd_misc(uint64_t tuple, unsigned flags, uint8_t proto,
                                uint16_t sport, uint16_t dport)
{
	uint64_t m = tuple;
	if (flags & TF_PROTO)
		m |= proto;
	if (flags & TF_SPORT)
		m |= (uint64_t)sport << 8;
	if (flags & TF_DPORT)
		m |= (uint64_t)dport << 24;
	return m;
}

static inline uint64_t spd_hash(const uint64_t src[2], const uint64_t dst[2], uint64_t misc)
{
	uint64_t h = src[0] * 0x9e3779b97f4a7c15ull + src[1] * 0xc2b2ae3d27d4eb4full +
	             dst[0] * 0x165667b19e3779f9ull + dst[1] * 0xd6e8feb86659fd93ull +
	             misc * 0xff51afd7ed558ccdull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return h;
}

/* Loads a network-order address as (hi, lo). */
void spd_load_addr(uint8_t family, const uint8_t bytes[16], uint64_t out[2]);

/* Trie construction (trie.c). */
struct spd_titem {
	uint64_t a[2];               /* the prefix, masked */
	uint32_t res;                /* its result; duplicates are OR-ed */
	uint32_t rec;                /* a record holding the prefix (for LEAF6) */
	uint8_t len, side;           /* side: 0 = the record's src, 1 = its dst */
};
struct spd_tscratch;
struct spd_tscratch *spd_tscratch_new(void);
void spd_tscratch_free(struct spd_tscratch *t);
/* Appends a trie over items to s->nodes / s->res; *root = its first node. */
bool spd_trie_build(struct spd *s, struct spd_tscratch *t, const struct spd_titem *items,
                    size_t n, bool v4, uint32_t *root);

static inline unsigned spd_nibble(const uint64_t a[2], unsigned depth)
{
	return depth < 16 ? (unsigned)(a[0] >> (60 - 4 * depth)) & 15
	                  : (unsigned)(a[1] >> (60 - 4 * (depth - 16))) & 15;
}

/* One node t (at depth) of spd_trie_walk(): appends the prefixes it holds
 * along a to out[*n...]; returns the next node on a's path, or NULL at the
 * end. Split out so that a batch lookup can interleave many walks. */
static inline __attribute__((always_inline)) const struct tnode *spd_trie_step(const struct spd *s, const struct tnode *t,
                                                unsigned depth, const uint64_t a[2],
                                                uint64_t *out, unsigned *n)
{
	if (t->kind == NODE_LEAF4) {
		if (((a[0] ^ (uint64_t)t->child0 << 32) & spd_mask_hi(t->pbits)) == 0)
			out[(*n)++] = (uint64_t)t->pbits << 32 | t->res0;
		return NULL;
	}
	if (t->kind == NODE_LEAF6) {
		const struct spd_rec *r = &s->recs[t->child0];
		const uint64_t *p = t->cbits ? r->dst : r->src;
		if (((a[0] ^ p[0]) & spd_mask_hi(t->pbits)) == 0 &&
		    ((a[1] ^ p[1]) & spd_mask_lo(t->pbits)) == 0)
			out[(*n)++] = (uint64_t)t->pbits << 32 | t->res0;
		return NULL;
	}
	unsigned nib = depth < 32 ? spd_nibble(a, depth) : 0;
	if (t->pbits) {
		for (unsigned j = 0; j < 4; j++) {
			unsigned pos = (1u << j) - 1 + (nib >> (4 - j));
			if (t->pbits >> pos & 1) {
				unsigned before = spd_pop16(t->pbits & ((1u << pos) - 1));
				out[(*n)++] = (uint64_t)(4 * depth + j) << 32 | s->res[t->res0 + before];
			}
		}
	}
	if (!(t->cbits >> nib & 1))
		return NULL;
	return &s->nodes[t->child0 + spd_pop16(t->cbits & ((1u << nib) - 1))];
}

/* The prefixes along address a, shortest first: out[i] = len << 32 | result.
 * out must hold SPD_MAXLEN + 1 entries; returns how many. */
unsigned spd_trie_walk(const struct spd *s, uint32_t root, const uint64_t a[2],
                       uint64_t *out);

#endif
