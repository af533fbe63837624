/*
 * The prefix tries (layout in internal.h): built as a plain 16-way trie in
 * scratch memory, then appended in compact form to the spd's shared node and
 * result arrays. Breadth-first emission keeps every node's children
 * contiguous (and the hot upper levels together); a subtree with a single
 * prefix becomes one leaf, fingerprinted in its parent. Also the tables that
 * replace the top levels of the outer tries (spd_head_build()), and the walk
 * of an inner trie. The outer walk is in internal.h, for lookup.c to inline.
 */
#include <stdlib.h>
#include <string.h>

#include "spd/internal.h"

struct bnode {
	uint32_t child[16];          /* 0 = none (the root is never a child) */
	uint32_t res[15];            /* by tree-bitmap position */
	uint16_t pbits;
	uint32_t sub;                /* distinct prefixes ending here or below */
	uint32_t rep;                /* an item whose prefix ends in this subtree */
};

struct spd_tscratch {
	struct bnode *v;
	uint32_t n, cap;
	uint32_t *queue;
	size_t qcap;
};

struct spd_tscratch *spd_tscratch_new(void)
{
	return calloc(1, sizeof(struct spd_tscratch));
}

void spd_tscratch_free(struct spd_tscratch *t)
{
	if (!t)
		return;
	free(t->v);
	free(t->queue);
	free(t);
}

#define nibble spd_nibble

static uint32_t bnew(struct spd_tscratch *b)
{
	if (b->n == b->cap) {
		uint32_t cap = b->cap ? b->cap * 2 : 256;
		struct bnode *v = realloc(b->v, (size_t)cap * sizeof(*v));
		if (!v)
			return UINT32_MAX;
		b->v = v;
		b->cap = cap;
	}
	memset(&b->v[b->n], 0, sizeof(b->v[0]));
	return b->n++;
}

/* Adds one prefix; false only when out of memory. */
static bool insert(struct spd_tscratch *b, const struct spd_titem *it, uint32_t item)
{
	uint32_t path[SPD_MAXLEN / 4 + 1];
	unsigned end = it->len / 4, j = it->len % 4;
	uint32_t node = 0;
	for (unsigned k = 0; k < end; k++) {
		path[k] = node;
		unsigned nib = nibble(it->a, k);
		uint32_t c = b->v[node].child[nib];
		if (!c) {
			c = bnew(b);
			if (c == UINT32_MAX)
				return false;
			b->v[node].child[nib] = c;
		}
		node = c;
	}
	path[end] = node;
	unsigned pos = (1u << j) - 1 + (j ? nibble(it->a, end) >> (4 - j) : 0);
	struct bnode *n = &b->v[node];
	if (n->pbits >> pos & 1) {
		n->res[pos] |= it->res;   /* the same prefix again */
		return true;
	}
	n->pbits |= (uint16_t)(1u << pos);
	n->res[pos] = it->res;
	for (unsigned k = 0; k <= end; k++) {
		b->v[path[k]].sub++;
		b->v[path[k]].rep = item;
	}
	return true;
}

static bool grow(struct spd *s, size_t nodes)
{
	/* Geometric: thousands of small tries are appended one after another. */
	size_t need = s->nnodes + nodes;
	if (need > UINT32_MAX / 4)
		return false;
	if (need > s->nodes_cap) {
		size_t cap = s->nodes_cap ? s->nodes_cap : 64;
		while (cap < need)
			cap *= 2;
		/* Aligned, so that no node straddles two cache lines. */
		struct tnode *v = aligned_alloc(sizeof(*v), cap * sizeof(*v));
		if (!v)
			return false;
		if (s->nnodes)
			memcpy(v, s->nodes, s->nnodes * sizeof(*v));
		free(s->nodes);
		s->nodes = v;
		s->nodes_cap = (uint32_t)cap;
	}
	return true;
}

/* The result of the only prefix in the subtree of scratch node c. */
static uint32_t only_result(const struct spd_tscratch *b, uint32_t c)
{
	while (!b->v[c].pbits) {
		unsigned k = 0;
		while (!b->v[c].child[k])
			k++;
		c = b->v[c].child[k];
	}
	return b->v[c].res[__builtin_ctz(b->v[c].pbits)];
}

static void make_leaf(struct tnode *out, const struct spd_titem *it, uint32_t res, bool v4)
{
	memset(out, 0, sizeof(*out));
	out->h = NODE_LEAF | (v4 ? LEAF_REF4 : LEAF_REF6) << 1 | (uint32_t)it->len << 3;
	if (v4) {
		out->u.ref4.prefix = (uint32_t)(it->a[0] >> 32);
		out->u.ref4.result = res;
	} else {
		out->u.ref6.prefix[0] = (uint32_t)(it->a[0] >> 32);
		out->u.ref6.prefix[1] = (uint32_t)it->a[0];
		out->u.ref6.prefix[2] = (uint32_t)(it->a[1] >> 32);
		out->u.ref6.prefix[3] = (uint32_t)it->a[1];
		out->u.ref6.result = res;
	}
}

bool spd_trie_build(struct spd *s, struct spd_tscratch *b, const struct spd_titem *items,
                    size_t n, bool v4, uint32_t *root)
{
	*root = SPD_NO_TRIE;
	b->n = 0;
	if (n == 0)
		return true;
	if (bnew(b) != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!insert(b, &items[i], (uint32_t)i))
			return false;
	/* Upper bound: one node and two nodes of results per scratch node. */
	if (!grow(s, 3 * (size_t)b->n))
		return false;
	if (b->qcap < 3 * (size_t)b->n) {
		uint32_t *q = realloc(b->queue, 3 * (size_t)b->n * sizeof(*q));
		if (!q)
			return false;
		b->queue = q;
		b->qcap = 3 * (size_t)b->n;
	}
	*root = s->nnodes;
	if (b->v[0].sub == 1) {
		make_leaf(&s->nodes[s->nnodes++], &items[b->v[0].rep], only_result(b, 0), v4);
		return true;
	}
	uint32_t head = 0, tail = 0;
	b->queue[tail++] = 0;            /* (scratch node, compact node, depth) */
	b->queue[tail++] = s->nnodes++;
	b->queue[tail++] = 0;
	while (head < tail) {
		const struct bnode *bn = &b->v[b->queue[head++]];
		uint32_t self = b->queue[head++], depth = b->queue[head++];
		struct tnode node;
		memset(&node, 0, sizeof(node));
		node.u.in.best = SPD_NO_GROUP;
		/* The results, in position order, end where the children start. */
		unsigned npfx = spd_pop16(bn->pbits);
		uint32_t *res = (uint32_t *)&s->nodes[s->nnodes + (npfx + 7) / 8] - npfx;
		memset(&s->nodes[s->nnodes], 0, (npfx + 7) / 8 * sizeof(struct tnode));
		s->nnodes += (npfx + 7) / 8;
		for (unsigned pos = 0; pos < 15; pos++)
			if (bn->pbits >> pos & 1)
				*res++ = bn->res[pos];
		node.u.in.child0 = s->nnodes;
		uint32_t cbits = 0;
		for (unsigned nib = 0; nib < 16; nib++) {
			uint32_t c = bn->child[nib];
			if (!c)
				continue;
			cbits |= 1u << nib;
			uint32_t slot = s->nnodes++;
			if (b->v[c].sub == 1) {
				const struct spd_titem *it = &items[b->v[c].rep];
				make_leaf(&s->nodes[slot], it, only_result(b, c), v4);
				/* The leaf's next 8 bits, when it has them. */
				if (it->len >= 4 * depth + 12) {
					node.u.in.fmask |= (uint16_t)(1u << nib);
					node.u.in.fp[nib] = (uint8_t)spd_byte_at(it->a, 4 * depth + 4);
				}
			} else {
				b->queue[tail++] = c;
				b->queue[tail++] = slot;
				b->queue[tail++] = depth + 1;
			}
		}
		node.h = (uint32_t)bn->pbits << 1 | cbits << 16;
		s->nodes[self] = node;
	}
	return true;
}

/* For tree-bitmap position pos: floor(log2(pos + 1)), the length within the node. */
static inline unsigned pos_len(unsigned pos)
{
	return (0x3fffea94u >> (2 * pos)) & 3;
}

static bool leaf_matches(const struct tnode *t, const uint64_t a[2])
{
	unsigned len = LEAF_LEN(t->h), kind = LEAF_KIND(t->h);
	if (kind == LEAF_REF4 || kind == LEAF_REC4) {
		uint32_t p = kind == LEAF_REC4 ? t->u.rec4.outer : t->u.ref4.prefix;
		return ((a[0] ^ (uint64_t)p << 32) & spd_mask_hi(len)) == 0;
	}
	uint64_t p[2];
	spd_leaf6_prefix(kind == LEAF_REC6 ? t->u.rec6.outer : t->u.ref6.prefix, p);
	return ((a[0] ^ p[0]) & spd_mask_hi(len)) == 0 && ((a[1] ^ p[1]) & spd_mask_lo(len)) == 0;
}

/* A LEAF_REF leaf's result. */
static uint32_t leaf_result(const struct tnode *t)
{
	return LEAF_KIND(t->h) == LEAF_REF4 ? t->u.ref4.result : t->u.ref6.result;
}

/* The child of inner node t at depth along a, or NULL; fp: NULL also when
 * the child is a leaf that the fingerprint rules out. */
static const struct tnode *child_of(const struct spd *s, const struct tnode *t, unsigned depth,
                                    const uint64_t a[2], bool fp)
{
	unsigned nib = depth < 32 ? spd_nibble(a, depth) : 0, cbits = t->h >> 16;
	if (!(cbits >> nib & 1))
		return NULL;
	if (fp && (t->u.in.fmask >> nib & 1) && t->u.in.fp[nib] != spd_byte_at(a, 4 * depth + 4))
		return NULL;
	return &s->nodes[t->u.in.child0 + spd_pop16(cbits & ((1u << nib) - 1))];
}

unsigned spd_trie_walk(const struct spd *s, uint32_t root, const uint64_t a[2], uint64_t *out)
{
	unsigned n = 0;
	if (root == SPD_NO_TRIE)
		return 0;
	/* Bounded: a node at depth k has children only for prefixes of 4(k+1)
	 * bits or more, and no prefix is longer than 128 (depth 32). */
	const struct tnode *t = &s->nodes[root];
	for (unsigned depth = 0; t; depth++) {
		if (t->h & NODE_LEAF) {
			if (leaf_matches(t, a))
				out[n++] = (uint64_t)LEAF_LEN(t->h) << 32 | leaf_result(t);
			return n;
		}
		unsigned nib = depth < 32 ? spd_nibble(a, depth) : 0;
		unsigned pbits = t->h >> 1 & 0x7fff;
		unsigned m = pbits & spd_match_tab[nib];
		while (m) {
			unsigned pos = (unsigned)__builtin_ctz(m);
			m &= m - 1;
			out[n++] = (uint64_t)(4 * depth + pos_len(pos)) << 32 |
			           spd_node_result(s->nodes, t, pos);
		}
		t = child_of(s, t, depth, a, true);
	}
	return n;
}

/* The node where the walk along a reaches depth `stop` (a leaf met before,
 * or NULL) and the longest result of an inner node on the way. */
static const struct tnode *walk_to(const struct spd *s, const struct tnode *t, unsigned stop,
                                   const uint64_t a[2], uint32_t *best)
{
	for (unsigned depth = 0; depth < stop && t; depth++) {
		if (t->h & NODE_LEAF)
			return t;
		unsigned nib = spd_nibble(a, depth);
		unsigned pbits = t->h >> 1 & 0x7fff;
		unsigned m = pbits & spd_match_tab[nib];
		if (m)
			*best = spd_node_result(s->nodes, t, 31 - (unsigned)__builtin_clz(m));
		t = child_of(s, t, depth, a, false);   /* a's low bits are not the packet's */
	}
	return t;
}

void spd_trie_visit(struct spd *s, uint32_t root, void (*fn)(struct spd *, struct tnode *, void *),
                    void *ctx)
{
	if (root == SPD_NO_TRIE)
		return;
	/* Depth first; a node's children are below 16 * 33 on the stack. */
	uint32_t stack[16 * (SPD_MAXLEN / 4 + 2)];
	unsigned n = 0;
	stack[n++] = root;
	while (n > 0) {
		struct tnode *t = &s->nodes[stack[--n]];
		fn(s, t, ctx);
		if (t->h & NODE_LEAF)
			continue;
		for (unsigned i = 0, nc = spd_pop16(t->h >> 16); i < nc; i++)
			stack[n++] = t->u.in.child0 + i;
	}
}

bool spd_head_build(struct spd *s, uint32_t root, size_t n, struct spd_head *h)
{
	memset(h, 0, sizeof(*h));
	h->root = root;
	if (root == SPD_NO_TRIE)
		return true;
	/* Skip the single-child path at the top. */
	unsigned depth = 0;
	const struct tnode *t = &s->nodes[root];
	uint64_t common[2] = { 0, 0 };
	while (!(t->h & NODE_LEAF) && depth < 31 && spd_pop16(t->h >> 16) == 1) {
		unsigned nib = (unsigned)__builtin_ctz(t->h >> 16);
		common[depth / 16] |= (uint64_t)nib << (60 - 4 * (depth % 16));
		t = &s->nodes[t->u.in.child0];
		depth++;
	}
	/* A table of at most one entry per two prefixes, at most 2^16 entries
	 * (larger tables were slower: they miss the cache more than the nodes
	 * that they replace). */
	unsigned bits = 0;
	while (bits < 16 && (size_t)1 << (bits + 4) <= n / 2)
		bits += 4;
	if (4 * depth + bits > SPD_MAXLEN)
		bits = SPD_MAXLEN - 4 * depth;
	if (bits == 0)
		return true;
	size_t need = (size_t)s->ntents + ((size_t)1 << bits);
	if (need > UINT32_MAX / 2)
		return false;
	struct tnode *v = aligned_alloc(sizeof(*v), need * sizeof(*v));
	if (!v)
		return false;
	if (s->ntents)
		memcpy(v, s->tents, s->ntents * sizeof(*v));
	free(s->tents);
	s->tents = v;
	h->common[0] = common[0];
	h->common[1] = common[1];
	h->skip = (uint8_t)(4 * depth);
	h->bits = (uint8_t)bits;
	h->table = s->ntents;
	for (uint32_t i = 0; i < (1u << bits); i++) {
		/* The addresses of entry i: common, then i, then anything. */
		unsigned at = 4 * depth;
		uint64_t a[2] = { common[0], common[1] };
		for (unsigned k = 0; k < bits; k += 4) {
			unsigned nib = i >> (bits - 4 - k) & 15;
			a[(at + k) / 64] |= (uint64_t)nib << (60 - (at + k) % 64);
		}
		uint32_t best = SPD_NO_GROUP;
		const struct tnode *e = walk_to(s, &s->nodes[root], (at + bits) / 4, a, &best);
		struct tnode *te = &s->tents[s->ntents++];
		memset(te, 0, sizeof(*te));
		if (e && (e->h & NODE_LEAF)) {
			/* A leaf met on the way that ends above the table's last bit:
			 * every address of the entry has it or none, so it is pushed
			 * into the entry (but a leaf that holds its record stays). */
			if (LEAF_KIND(e->h) < LEAF_REC4 && LEAF_LEN(e->h) < at + bits) {
				if (leaf_matches(e, a))
					best = leaf_result(e);
			} else {
				te->h = NODE_LEAF;
				te->u.in.child0 = (uint32_t)(e - s->nodes);
			}
		} else if (e) {
			*te = *e;
		}
		te->u.in.best = best;
	}
	return true;
}
