/*
 * The compiled SPD's layout, shared by build.c, trie.c and lookup.c only.
 *
 * Design. The weight (§3.2) is dominated by src_len + dst_len, so a lookup
 * searches the (source prefix, destination prefix) pairs that match a packet
 * from the largest possible weight down, and stops once nothing left can
 * beat the best match found.
 *  - Per direction and family (a "space"), the filters are split in two
 *    classes: S (src_len >= dst_len) is grouped by source prefix and D
 *    (dst_len > src_len) by destination prefix; the group's prefix is its
 *    "outer" prefix, the other one of each filter its "inner" prefix. The
 *    weights in a group are below (2 * outer_len + 1) << 20, so the short
 *    outer prefixes that match most packets (any, 10/8 ...) hold few,
 *    low-weight filters, and a filter from any source to a host is found
 *    by its destination. (With one class by source prefix, a lookup at
 *    100,000 random filters searched 15 source prefixes' destination tries;
 *    now it visits one to four groups.)
 *  - Per class, a trie over the outer prefixes gives the longest one that
 *    contains the packet's address: the head of its chain. Every group
 *    links to the group of the next shorter outer prefix that contains it
 *    (its parent), so the groups that match the packet's address are that
 *    chain. Each group holds an upper bound of the weights in it (top) and
 *    the maximum of top over itself and its ancestors (anc): a chain is left
 *    as soon as anc cannot reach the best weight found, and the two chains
 *    are interleaved, the one with the higher anc first.
 *  - A group of one record ("single", the usual case) is checked whole: its
 *    inner prefix, protocol and ports are kept next to the chain fields, so
 *    that a record is read only when it matches (and only once it is known
 *    to be the best, when that check is exact). A few records form a list,
 *    best first; more get a trie over their inner prefixes whose results are
 *    the sets of tuple flags present, and a hash probe per tuple: (direction,
 *    family, src length, dst length, protocol given, src port given, dst
 *    port given). Filters with identical selectors are resolved at build
 *    time (only the best is kept).
 *  - At 100,000 filters a lookup is bound by cache misses, so the layout
 *    saves cache lines: a table replaces the top levels of each outer trie;
 *    a miss at a trie leaf is mostly decided by a fingerprint in the parent
 *    node; and a single that is the parent of no other group lives in its
 *    trie leaf (whole for IPv4), so that a packet that it matches reads no
 *    record at all (IPv4) or one (IPv6).
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
/* Bits of a weight that spd_weight() never sets. */
#define SPD_W_SPARE 0x1fffu

/* One compiled filter: the selectors masked to its tuple, and its result.
 * One cache line each (s->recs is 64-byte aligned): a check touches one. */
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
 * A group has a chain entry (struct spd_group), except a single that contains
 * no other group of its class and is not in an inner trie node: that one is
 * always the head of its chain, the trie leaf holds it (LEAF_REC4,
 * LEAF_REC6), and its parent is the longest prefix that the walk found
 * before the leaf. Entries are sorted by outer length, so that the short
 * prefixes that most packets go through share few cache lines.
 */
#define SPD_NO_GROUP UINT32_MAX
/* top and anc are weights (their SPD_W_SPARE bits clear), except that top
 * carries in those bits the outer length, the kind and, for a list, its
 * length - 1. */
#define SPD_G_LEN(top) ((top) & 0xffu)
#define SPD_G_KIND(top) ((top) >> 8 & 3u)
#define SPD_G_COUNT(top) (((top) >> 10 & 7u) + 1)
enum {
	SPD_G_SINGLE,                /* ref: the record; ihi, misc: see spd_member */
	SPD_G_LIST,                  /* ref: the first of SPD_G_COUNT() in s->members, best first */
	SPD_G_INNER,                 /* ref: the root of a trie over the inner prefixes */
};
#define SPD_G_LIST_MAX 8
struct spd_group {
	uint32_t parent;             /* the next shorter outer prefix's entry, or SPD_NO_GROUP */
	uint32_t anc;                /* max weight bound over the group and its ancestors */
	uint32_t top;                /* the highest weight in it */
	uint32_t ref;
	uint64_t ihi, misc;          /* SINGLE: checked before the record is read */
};

/* A record of a list group, with what decides whether it is worth reading:
 * the top 64 bits of its inner prefix and the protocol and ports of its misc
 * (the weight tells which of those the filter has). */
struct spd_member {
	uint32_t rec;
	uint32_t weight;             /* the record's */
	uint64_t ihi, misc;
};

/*
 * Trie node, 4 bits per level (a "tree bitmap"), 32 bytes. An inner node at
 * depth k holds the prefixes of length 4k..4k+3 that end in it: bit
 * (1 << j) - 1 + t of pbits for length 4k+j whose last j bits are t. Its
 * children are contiguous from child0, one per bit of cbits, and the results
 * of its prefixes are the 32-bit words just before them (spd_node_result()).
 * A subtree that holds a single prefix is one leaf node instead (this
 * removes the long single-child chains of host prefixes); the parent keeps
 * the leaf prefix's next 8 bits after the child's nibble (fp, valid where
 * fmask has the nibble's bit), so that most addresses that miss it do not
 * read the leaf. best is used by the head tables only (struct spd_head).
 */
#define NODE_LEAF 1u                 /* in h; else an inner node: h = pbits << 1 | cbits << 16 */
/* A leaf's h: NODE_LEAF | kind << 1 | len << 3 | inner len << 12 (REC4, REC6). */
enum {
	LEAF_REF4,                   /* u.ref4: an IPv4 prefix and its result */
	LEAF_REF6,                   /* u.ref6: an IPv6 one */
	LEAF_REC4,                   /* u.rec4: an IPv4 single's outer prefix and record */
	LEAF_REC6,                   /* u.rec6: an IPv6 single's outer prefix, the rest
	                              * of its record by a fingerprint (spd_fp()) */
};
#define LEAF_KIND(h) ((h) >> 1 & 3u)
#define LEAF_LEN(h) ((h) >> 3 & 0xffu)
#define LEAF_ILEN(h) ((h) >> 12 & 0xffu)
struct tnode {
	uint32_t h;
	union {
		struct {
			uint32_t child0, best;
			uint16_t fmask, pad_;
			uint8_t fp[16];
		} in;
		struct {
			uint32_t prefix;     /* the top 32 bits */
			uint32_t result;
		} ref4;
		struct {
			uint32_t result;
			uint32_t prefix[4];  /* 32 bits each, the top first (no 64-bit
			                      * alignment: the node would grow) */
		} ref6;
		struct {
			uint32_t outer, inner;   /* top 32 bits */
			uint32_t ports;      /* src_port | dst_port << 16 */
			uint32_t weight, pos;    /* rank = weight << 32 | pos */
			uint32_t rule_id;
			uint8_t proto, action, tunnel, pad_;
		} rec4;
		struct {
			uint32_t rec, weight;
			uint32_t outer[4];   /* as ref6.prefix */
			uint32_t fp;
		} rec6;
	} u;
};
_Static_assert(sizeof(struct tnode) == 32, "a node is half a cache line");

/* An IPv6 prefix of a leaf as (hi, lo). */
static inline void spd_leaf6_prefix(const uint32_t p[4], uint64_t out[2])
{
	out[0] = (uint64_t)p[0] << 32 | p[1];
	out[1] = (uint64_t)p[2] << 32 | p[3];
}

/* A fingerprint of an inner prefix (masked to ilen) and of the protocol and
 * ports (masked to the filter's); only a match reads an IPv6 single's record. */
static inline uint32_t spd_fp(uint64_t hi, uint64_t lo, uint64_t misc)
{
	uint64_t h = hi * 0x9e3779b97f4a7c15ull ^ lo * 0xc2b2ae3d27d4eb4full ^
	             misc * 0x165667b19e3779f9ull;
	return (uint32_t)(h >> 32 ^ h);
}

#define SPD_NO_TRIE UINT32_MAX

/*
 * The entry to an outer trie: a table over address bits [skip, skip + bits)
 * replaces its top levels. Every node above depth skip / 4 has one child, so
 * an address that starts with those skip bits (common) looks up its entry,
 * a copy of the inner node at depth (skip + bits) / 4 on its path (so that
 * the walk reads one cache line for the levels that the table replaces)
 * whose best is the result of the longest prefix shorter than skip + bits
 * along it (pushed down to the entries at build time); or, when the path
 * has a leaf above that depth whose prefix is longer than skip + bits, an
 * entry with h = NODE_LEAF whose child0 is that leaf. Other addresses walk
 * from the root. bits = 0: no table.
 */
struct spd_head {
	uint64_t common[2];
	uint32_t root;               /* SPD_NO_TRIE: the class is empty */
	uint32_t table;              /* the first entry in s->tents */
	uint8_t skip, bits;
};

struct spd_space {
	/* [0]: class S, a trie over source prefixes; [1]: class D, over
	 * destination prefixes. */
	struct spd_head head[2];
};

struct spd {
	struct spd_space space[SPD_DIRS][SPD_FAMILIES];
	struct tnode *nodes;         /* all tries (and their results); 32-byte aligned */
	uint32_t nnodes, nodes_cap;
	struct tnode *tents;         /* the heads' tables; 32-byte aligned */
	uint32_t ntents;
	struct spd_group *groups;    /* the chain entries */
	uint32_t ngroups;
	struct spd_member *members;  /* the records of list groups */
	uint32_t nmembers;
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

/* The result of the prefix at tree-bitmap position pos of inner node t. */
static inline uint32_t spd_node_result(const struct tnode *nodes, const struct tnode *t,
                                       unsigned pos)
{
	unsigned pbits = t->h >> 1 & 0x7fff;
	return ((const uint32_t *)&nodes[t->u.in.child0])[-(int)spd_pop16(pbits >> pos)];
}

static inline uint64_t spd_mask_hi(unsigned len)
{
	return len >= 64 ? ~0ull : ~(~0ull >> len);
}

/* spd_mask_hi() for len < 64 (an IPv4 prefix). */
static inline uint64_t spd_mask4(unsigned len)
{
	return ~(~0ull >> len);
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

/* The protocol and ports in a misc; the parts of them that a filter with the
 * weight w has. */
#define SPD_MISC_SEL 0xffffffffffull
static inline uint64_t spd_misc_sel(uint32_t w)
{
	static const uint64_t sel[8] = {
#define SEL(f) (((f) & TF_PROTO ? 0xffull : 0) | ((f) & TF_SPORT ? 0xffff00ull : 0) | \
                ((f) & TF_DPORT ? 0xffff000000ull : 0))
		SEL(0), SEL(1), SEL(2), SEL(3), SEL(4), SEL(5), SEL(6), SEL(7),
#undef SEL
	};
	return sel[w >> 17 & 7];
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
	uint32_t rec;                /* a record that has the prefix */
	uint8_t len;
};
struct spd_tscratch;
struct spd_tscratch *spd_tscratch_new(void);
void spd_tscratch_free(struct spd_tscratch *t);
/* Appends a trie over items to s->nodes; *root = its first node.
 * Leaves are LEAF_REF4 or LEAF_REF6 (build.c turns some into LEAF_REC*). */
bool spd_trie_build(struct spd *s, struct spd_tscratch *t, const struct spd_titem *items,
                    size_t n, bool v4, uint32_t *root);
/* Calls fn for every node of the trie at root (not the heads' entries). */
void spd_trie_visit(struct spd *s, uint32_t root, void (*fn)(struct spd *, struct tnode *, void *),
                    void *ctx);
/* Sets up h for the outer trie at root over n prefixes (appends to s->tents). */
bool spd_head_build(struct spd *s, uint32_t root, size_t n, struct spd_head *h);

static inline unsigned spd_nibble(const uint64_t a[2], unsigned depth)
{
	return depth < 16 ? (unsigned)(a[0] >> (60 - 4 * depth)) & 15
	                  : (unsigned)(a[1] >> (60 - 4 * (depth - 16))) & 15;
}

/* Address bits [at, at + 8) (0 beyond the address). */
static inline unsigned spd_byte_at(const uint64_t a[2], unsigned at)
{
	if (at <= 56)
		return (unsigned)(a[0] >> (56 - at)) & 0xff;
	if (at < 64)
		return (unsigned)((a[0] << (at - 56) | a[1] >> (120 - at)) & 0xff);
	if (at <= 120)
		return (unsigned)(a[1] >> (120 - at)) & 0xff;
	return at < 128 ? (unsigned)(a[1] << (at - 120)) & 0xff : 0;
}

/* The prefixes along address a, shortest first: out[i] = len << 32 | result.
 * For inner tries (only LEAF_REF leaves). out must hold SPD_MAXLEN + 1
 * entries; returns how many. */
unsigned spd_trie_walk(const struct spd *s, uint32_t root, const uint64_t a[2],
                       uint64_t *out);

/* For nibble t, the tree-bitmap positions of the prefixes of lengths 0..3
 * within a node that t lies in: (1 << j) - 1 + (t >> (4 - j)). */
static const uint16_t spd_match_tab[16] = {
#define M(t) (uint16_t)(1u | 1u << (1 + ((t) >> 3)) | 1u << (3 + ((t) >> 2)) | \
                        1u << (7 + ((t) >> 1)))
	M(0), M(1), M(2), M(3), M(4), M(5), M(6), M(7),
	M(8), M(9), M(10), M(11), M(12), M(13), M(14), M(15),
#undef M
};

/*
 * The longest prefix along an address: a walk that lookup.c steps, two at a
 * time so that their cache misses overlap. t = NULL: done; best holds the
 * result of the longest prefix found in inner nodes or LEAF_REF leaves
 * (SPD_NO_GROUP: none), and leaf a LEAF_REC leaf that matched (it is longer
 * than best, whose group is its parent), or NULL.
 */
struct spd_walk {
	const struct tnode *t, *leaf;
	unsigned depth;
	uint32_t best;
};

static inline __attribute__((always_inline)) void
spd_walk_start(const struct spd *s, const struct spd_head *h, const uint64_t a[2], bool v6,
               struct spd_walk *w)
{
	w->best = SPD_NO_GROUP;
	w->t = w->leaf = NULL;
	if (h->root == SPD_NO_TRIE)
		return;
	w->t = &s->nodes[h->root];
	w->depth = 0;
	if (h->bits && ((a[0] ^ h->common[0]) & spd_mask_hi(h->skip)) == 0 &&
	    (!v6 || ((a[1] ^ h->common[1]) & spd_mask_lo(h->skip)) == 0)) {
		/* Address bits [skip, skip + bits). */
		unsigned skip = h->skip;
		uint64_t x = !v6 ? a[0] << skip
		           : skip >= 64 ? a[1] << (skip - 64)
		           : skip ? a[0] << skip | a[1] >> (64 - skip) : a[0];
		const struct tnode *e = &s->tents[h->table + (unsigned)(x >> (64 - h->bits))];
		w->best = e->u.in.best;
		if (e->h & NODE_LEAF)
			w->t = &s->nodes[e->u.in.child0];
		else
			w->t = e->h ? e : NULL;
		w->depth = (skip + h->bits) / 4u;
	}
}

static inline __attribute__((always_inline)) void
spd_walk_step(const struct spd *s, const uint64_t a[2], bool v6, struct spd_walk *w)
{
	const struct tnode *t = w->t;
	uint32_t h = t->h;
	w->t = NULL;
	if (h & NODE_LEAF) {
		unsigned len = LEAF_LEN(h);
		bool rec = LEAF_KIND(h) >= LEAF_REC4;
		if (!v6) {
			uint32_t p = rec ? t->u.rec4.outer : t->u.ref4.prefix;
			if (((a[0] ^ (uint64_t)p << 32) & spd_mask4(len)) != 0)
				return;
		} else {
			uint64_t p[2];
			spd_leaf6_prefix(rec ? t->u.rec6.outer : t->u.ref6.prefix, p);
			if (((a[0] ^ p[0]) & spd_mask_hi(len)) != 0 ||
			    ((a[1] ^ p[1]) & spd_mask_lo(len)) != 0)
				return;
		}
		if (rec)
			w->leaf = t;
		else
			w->best = !v6 ? t->u.ref4.result : t->u.ref6.result;
		return;
	}
	unsigned depth = w->depth;
	unsigned nib = !v6 ? (unsigned)(a[0] >> (60 - 4 * depth)) & 15
	             : depth < 32 ? spd_nibble(a, depth) : 0;
	unsigned pbits = h >> 1 & 0x7fff, cbits = h >> 16;
	unsigned m = pbits & spd_match_tab[nib];
	if (m) {
		/* The longest of them: the highest position. */
		unsigned pos = 31 - (unsigned)__builtin_clz(m);
		w->best = ((const uint32_t *)&s->nodes[t->u.in.child0])[-(int)spd_pop16(pbits >> pos)];
	}
	if (!(cbits >> nib & 1))
		return;
	if ((t->u.in.fmask >> nib & 1) && t->u.in.fp[nib] != spd_byte_at(a, 4 * depth + 4))
		return;
	w->t = &s->nodes[t->u.in.child0 + spd_pop16(cbits & ((1u << nib) - 1))];
	w->depth = depth + 1;
}

#endif
