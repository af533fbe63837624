/*
 * The prefix tries (layout in internal.h): built as a plain 16-way trie in
 * scratch memory, then appended in compact form to the spd's shared node and
 * result arrays. Breadth-first emission keeps every node's children
 * contiguous; a subtree with a single prefix becomes one leaf.
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

static bool grow(struct spd *s, uint32_t nodes, uint32_t res)
{
	/* Geometric: thousands of small tries are appended one after another. */
	size_t nneed = s->nnodes + (size_t)nodes, rneed = s->nres + (size_t)res;
	if (nneed > UINT32_MAX / 4 || rneed > UINT32_MAX / 4)
		return false;
	if (nneed > s->nodes_cap) {
		size_t cap = s->nodes_cap ? s->nodes_cap : 64;
		while (cap < nneed)
			cap *= 2;
		struct tnode *v = realloc(s->nodes, cap * sizeof(*v));
		if (!v)
			return false;
		s->nodes = v;
		s->nodes_cap = (uint32_t)cap;
	}
	if (rneed > s->res_cap) {
		size_t cap = s->res_cap ? s->res_cap : 64;
		while (cap < rneed)
			cap *= 2;
		uint32_t *v = realloc(s->res, cap * sizeof(*v));
		if (!v)
			return false;
		s->res = v;
		s->res_cap = (uint32_t)cap;
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

static void make_leaf(struct tnode *out, const struct spd_titem *it,
                      uint32_t res, bool v4)
{
	memset(out, 0, sizeof(*out));
	out->kind = v4 ? NODE_LEAF4 : NODE_LEAF6;
	out->pbits = it->len;
	out->child0 = v4 ? (uint32_t)(it->a[0] >> 32) : it->rec;
	out->cbits = it->side;
	out->res0 = res;             /* inline: saves a dependent load */
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
	/* Upper bounds: one node per scratch node, one result per item. */
	if (!grow(s, b->n, (uint32_t)n))
		return false;
	if (b->qcap < 2 * (size_t)b->n) {
		uint32_t *q = realloc(b->queue, 2 * (size_t)b->n * sizeof(*q));
		if (!q)
			return false;
		b->queue = q;
		b->qcap = 2 * (size_t)b->n;
	}
	*root = s->nnodes;
	if (b->v[0].sub == 1) {
		make_leaf(&s->nodes[s->nnodes++], &items[b->v[0].rep], only_result(b, 0), v4);
		return true;
	}
	uint32_t head = 0, tail = 0;
	b->queue[tail++] = 0;            /* (scratch node, compact node) pairs */
	b->queue[tail++] = s->nnodes++;
	while (head < tail) {
		const struct bnode *bn = &b->v[b->queue[head++]];
		uint32_t self = b->queue[head++];
		struct tnode *tn = &s->nodes[self];
		memset(tn, 0, sizeof(*tn));
		tn->kind = NODE_INNER;
		tn->pbits = bn->pbits;
		tn->res0 = s->nres;
		for (unsigned pos = 0; pos < 15; pos++)
			if (bn->pbits >> pos & 1)
				s->res[s->nres++] = bn->res[pos];
		tn->child0 = s->nnodes;
		for (unsigned nib = 0; nib < 16; nib++) {
			uint32_t c = bn->child[nib];
			if (!c)
				continue;
			tn = &s->nodes[self];
			tn->cbits |= (uint16_t)(1u << nib);
			uint32_t slot = s->nnodes++;
			if (b->v[c].sub == 1) {
				make_leaf(&s->nodes[slot], &items[b->v[c].rep], only_result(b, c), v4);
			} else {
				b->queue[tail++] = c;
				b->queue[tail++] = slot;
			}
		}
	}
	return true;
}

unsigned spd_trie_walk(const struct spd *s, uint32_t root, const uint64_t a[2], uint64_t *out)
{
	unsigned n = 0;
	if (root == SPD_NO_TRIE)
		return 0;
	/* Bounded: a node at depth k has children only for prefixes of 4(k+1)
	 * bits or more, and no prefix is longer than 128 (depth 32). */
	const struct tnode *t = &s->nodes[root];
	for (unsigned depth = 0; t; depth++)
		t = spd_trie_step(s, t, depth, a, out, &n);
	return n;
}
