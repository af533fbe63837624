/*
 * Compiling the builder's filters into the immutable struct spd (the layout
 * is described in internal.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "spd/builder.h"
#include "spd/internal.h"

void spd_load_addr(uint8_t family, const uint8_t b[16], uint64_t out[2])
{
	uint64_t hi = 0, lo = 0;
	if (family == AF_INET) {
		for (int i = 0; i < 4; i++)
			hi = hi << 8 | b[i];
		hi <<= 32;
	} else {
		for (int i = 0; i < 8; i++) {
			hi = hi << 8 | b[i];
			lo = lo << 8 | b[8 + i];
		}
	}
	out[0] = hi;
	out[1] = lo;
}

static unsigned fam_index(uint8_t family)
{
	return family == AF_INET6;
}

static unsigned flags_of(const struct spd_filter *f)
{
	return (f->protocol ? TF_PROTO : 0) | (f->src_port ? TF_SPORT : 0) |
	       (f->dst_port ? TF_DPORT : 0);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Position of every filter in (order, insertion) order: the last tie-break. */
static uint32_t *tie_positions(const struct spd_builder *b)
{
	uint64_t *keys = malloc((b->n ? b->n : 1) * sizeof(*keys));
	uint32_t *pos = malloc((b->n ? b->n : 1) * sizeof(*pos));
	if (!keys || !pos) {
		free(keys);
		free(pos);
		return NULL;
	}
	for (size_t i = 0; i < b->n; i++)
		keys[i] = (uint64_t)b->f[i].order << 32 | i;
	qsort(keys, b->n, sizeof(*keys), cmp_u64);
	for (size_t k = 0; k < b->n; k++)
		pos[(uint32_t)keys[k]] = (uint32_t)k;
	free(keys);
	return pos;
}

static bool same_key(const struct spd_rec *a, const struct spd_rec *b)
{
	return a->misc == b->misc && a->src[0] == b->src[0] && a->src[1] == b->src[1] &&
	       a->dst[0] == b->dst[0] && a->dst[1] == b->dst[1];
}

/* Inserts r, or keeps the better of r and a record with the same selectors. */
static void table_put(struct spd *s, const struct spd_rec *r)
{
	uint64_t h = spd_hash(r->src, r->dst, r->misc);
	uint64_t mask = (1ull << s->table_bits) - 1;
	for (uint64_t slot = h >> (64 - s->table_bits);; slot = (slot + 1) & mask) {
		uint64_t e = s->table[slot];
		if (e == 0) {
			s->recs[s->nrecs] = *r;
			s->table[slot] = (h << 32) | (s->nrecs + 1);
			s->nrecs++;
			return;
		}
		if ((uint32_t)(e >> 32) == (uint32_t)h) {
			struct spd_rec *old = &s->recs[(uint32_t)e - 1];
			if (same_key(old, r)) {
				if (r->rank > old->rank)
					*old = *r;
				return;
			}
		}
	}
}

static bool alloc_table(struct spd *s, size_t n)
{
	s->table_bits = 4;
	while ((1ull << s->table_bits) < 2 * (uint64_t)n)
		s->table_bits++;
	s->table = calloc(1ull << s->table_bits, sizeof(*s->table));
	return s->table != NULL;
}

/* The records, with duplicates of the same selectors merged (the best kept). */
static bool build_records(struct spd *s, const struct spd_builder *b)
{
	uint32_t *pos = tie_positions(b);
	bool table = alloc_table(s, b->n);
	s->recs = aligned_alloc(_Alignof(struct spd_rec), (b->n ? b->n : 1) * sizeof(*s->recs));
	if (!pos || !table || !s->recs) {
		free(pos);
		return false;
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct spd_filter *f = &b->f[i];
		struct spd_rec r = { 0 };
		spd_load_addr(f->family, f->src, r.src);
		spd_load_addr(f->family, f->dst, r.dst);
		r.src[0] &= spd_mask_hi(f->src_len);
		r.src[1] &= spd_mask_lo(f->src_len);
		r.dst[0] &= spd_mask_hi(f->dst_len);
		r.dst[1] &= spd_mask_lo(f->dst_len);
		unsigned fl = flags_of(f);
		r.misc = spd_misc(spd_tuple_bits(f->src_len, f->dst_len, fl, f->dir,
		                                 fam_index(f->family)),
		                  fl, f->protocol, f->src_port, f->dst_port);
		r.rank = (uint64_t)spd_weight(f) << 32 | (uint32_t)~pos[i];
		r.rule_id = f->rule_id;
		r.src_len = f->src_len;
		r.dst_len = f->dst_len;
		r.action = (uint8_t)f->action;
		r.tunnel = f->tunnel;
		table_put(s, &r);
	}
	free(pos);
	free(s->table);              /* rebuilt for the records that need it */
	s->table = NULL;
	return true;
}

/* The hash table over the records of the groups that have an inner trie. */
static bool build_table(struct spd *s, const bool *hashed)
{
	size_t n = 0;
	for (uint32_t i = 0; i < s->nrecs; i++)
		n += hashed[i];
	if (!alloc_table(s, n))
		return false;
	uint64_t mask = (1ull << s->table_bits) - 1;
	for (uint32_t i = 0; i < s->nrecs; i++) {
		if (!hashed[i])
			continue;
		const struct spd_rec *r = &s->recs[i];
		uint64_t h = spd_hash(r->src, r->dst, r->misc);
		uint64_t slot = h >> (64 - s->table_bits);
		while (s->table[slot] != 0)
			slot = (slot + 1) & mask;
		s->table[slot] = (h << 32) | (i + 1);
	}
	s->bytes += (1ull << s->table_bits) * sizeof(*s->table);
	return true;
}

/* Sorting a class's records by their outer prefix. */
struct sort_ctx {
	const struct spd_rec *recs;
	unsigned side;               /* 0 = by source, 1 = by destination */
};

static const uint64_t *side_addr(const struct spd_rec *r, unsigned side)
{
	return side ? r->dst : r->src;
}

static unsigned side_len(const struct spd_rec *r, unsigned side)
{
	return side ? r->dst_len : r->src_len;
}

/* By address, then length: the order of a depth-first walk of the prefixes,
 * each one after every prefix that contains it. */
static int cmp_outer(const void *a, const void *b, void *ctx)
{
	const struct sort_ctx *c = ctx;
	const struct spd_rec *x = &c->recs[*(const uint32_t *)a];
	const struct spd_rec *y = &c->recs[*(const uint32_t *)b];
	const uint64_t *xa = side_addr(x, c->side), *ya = side_addr(y, c->side);
	if (xa[0] != ya[0])
		return xa[0] < ya[0] ? -1 : 1;
	if (xa[1] != ya[1])
		return xa[1] < ya[1] ? -1 : 1;
	unsigned xl = side_len(x, c->side), yl = side_len(y, c->side);
	return xl < yl ? -1 : xl > yl;
}

static bool same_outer(const struct spd_rec *x, const struct spd_rec *y, unsigned side)
{
	return side_len(x, side) == side_len(y, side) &&
	       side_addr(x, side)[0] == side_addr(y, side)[0] &&
	       side_addr(x, side)[1] == side_addr(y, side)[1];
}

/* Whether prefix q contains prefix p. */
static bool contains(const struct spd_titem *q, const struct spd_titem *p)
{
	return q->len <= p->len && ((q->a[0] ^ p->a[0]) & spd_mask_hi(q->len)) == 0 &&
	       ((q->a[1] ^ p->a[1]) & spd_mask_lo(q->len)) == 0;
}

/* A group while its class is built. */
struct gtmp {
	uint32_t parent;             /* a gtmp index, or SPD_NO_GROUP */
	uint32_t anc, top, ref;
	uint32_t entry;              /* its chain entry, or SPD_NO_GROUP */
	uint8_t len;
	bool single, entry_needed;
};

/* Scratch space of one build. */
struct build_ctx {
	struct spd_tscratch *scr;
	uint32_t *idx;               /* the records of a space */
	struct spd_titem *items;     /* one group's inner prefixes */
	struct spd_titem *outer;     /* one class's outer prefixes */
	struct gtmp *gt;             /* one class's groups */
	bool *hashed;                /* records that the hash table must find */
};

/* The groups of one class, in outer prefix order: a record is a group by
 * itself, a few are a list, more get an inner trie over their inner prefixes. */
static bool build_groups(struct spd *s, struct build_ctx *bc, const uint32_t *idx, uint32_t n,
                         unsigned side, bool v4, size_t *ngroups)
{
	unsigned in = !side;
	struct spd_titem *items = bc->items, *outer = bc->outer;
	size_t ng = 0;
	size_t stack[SPD_MAXLEN + 1];     /* the groups containing the current one */
	unsigned depth = 0;
	for (uint32_t g = 0; g < n;) {
		uint32_t e = g;
		uint32_t top = 0;
		size_t ni = 0;
		for (; e < n && same_outer(&s->recs[idx[g]], &s->recs[idx[e]], side); e++) {
			const struct spd_rec *r = &s->recs[idx[e]];
			const uint64_t *a = side_addr(r, in);
			items[ni++] = (struct spd_titem){ .a = { a[0], a[1] },
			                                  .res = 1u << (r->misc >> 56 & 7),
			                                  .rec = idx[e], .len = (uint8_t)side_len(r, in) };
			if ((uint32_t)(r->rank >> 32) > top)
				top = (uint32_t)(r->rank >> 32);
		}
		const struct spd_rec *r = &s->recs[idx[g]];
		unsigned len = side_len(r, side);
		const uint64_t *a = side_addr(r, side);
		struct spd_titem *o = &outer[ng];
		*o = (struct spd_titem){ .a = { a[0], a[1] }, .rec = idx[g], .len = (uint8_t)len };
		/* The chain: the sort puts every prefix after those that contain it,
		 * and prefixes nest or are disjoint, so the containing ones are a
		 * stack. */
		while (depth > 0 && !contains(&outer[stack[depth - 1]], o))
			depth--;
		struct gtmp *gt = &bc->gt[ng];
		*gt = (struct gtmp){ .parent = SPD_NO_GROUP, .anc = top, .top = top | len,
		                     .entry = SPD_NO_GROUP, .len = (uint8_t)len, .single = ni == 1,
		                     .entry_needed = ni > 1 };
		if (depth > 0) {
			struct gtmp *p = &bc->gt[stack[depth - 1]];
			gt->parent = (uint32_t)stack[depth - 1];
			p->entry_needed = true;
			if (p->anc > gt->anc)
				gt->anc = p->anc;
		}
		if (ni == 1) {
			gt->ref = idx[g];
			gt->top |= SPD_G_SINGLE << 8;
		} else if (ni <= SPD_G_LIST_MAX) {
			/* Few records: checked one after the other, best first. */
			gt->ref = s->nmembers;
			gt->top |= SPD_G_LIST << 8 | (uint32_t)(ni - 1) << 10;
			for (size_t i = 0; i < ni; i++) {
				uint32_t j = s->nmembers++, rec = items[i].rec;
				for (; j > gt->ref && s->recs[s->members[j - 1].rec].rank < s->recs[rec].rank;
				     j--)
					s->members[j] = s->members[j - 1];
				s->members[j] = (struct spd_member){
					.rec = rec, .weight = (uint32_t)(s->recs[rec].rank >> 32),
					.ihi = side_addr(&s->recs[rec], in)[0],
					.misc = s->recs[rec].misc & SPD_MISC_SEL };
			}
		} else {
			gt->top |= SPD_G_INNER << 8;
			if (!spd_trie_build(s, bc->scr, items, ni, v4, &gt->ref))
				return false;
			for (size_t i = 0; i < ni; i++)
				bc->hashed[items[i].rec] = true;
		}
		stack[depth++] = ng++;
		g = e;
	}
	*ngroups = ng;
	return true;
}

/* The leaf of a single that is no other group's parent (internal.h). */
static void make_rec_leaf(struct tnode *t, const struct spd_rec *r, uint32_t rec, unsigned side,
                          bool v4)
{
	unsigned olen = side ? r->dst_len : r->src_len, ilen = side ? r->src_len : r->dst_len;
	const uint64_t *outer = side_addr(r, side), *inner = side_addr(r, !side);
	memset(t, 0, sizeof(*t));
	t->h = NODE_LEAF | (v4 ? LEAF_REC4 : LEAF_REC6) << 1 | olen << 3 | ilen << 12;
	if (v4) {
		t->u.rec4.outer = (uint32_t)(outer[0] >> 32);
		t->u.rec4.inner = (uint32_t)(inner[0] >> 32);
		t->u.rec4.ports = (uint32_t)(r->misc >> 8);
		t->u.rec4.proto = (uint8_t)r->misc;
		t->u.rec4.weight = (uint32_t)(r->rank >> 32);
		t->u.rec4.pos = (uint32_t)r->rank;
		t->u.rec4.rule_id = r->rule_id;
		t->u.rec4.action = r->action;
		t->u.rec4.tunnel = r->tunnel;
	} else {
		t->u.rec6.rec = rec;
		t->u.rec6.weight = (uint32_t)(r->rank >> 32);
		t->u.rec6.outer[0] = (uint32_t)(outer[0] >> 32);
		t->u.rec6.outer[1] = (uint32_t)outer[0];
		t->u.rec6.outer[2] = (uint32_t)(outer[1] >> 32);
		t->u.rec6.outer[3] = (uint32_t)outer[1];
		t->u.rec6.fp = spd_fp(inner[0], inner[1], r->misc & SPD_MISC_SEL);
	}
}

/* The outer trie's results are the groups' build indexes (struct gtmp) at
 * first: a group whose prefix is in an inner node needs an entry, since the
 * walk may find it before the head of the chain; then (results) they become
 * entries, or leaves that hold their single. */
struct patch_ctx {
	struct build_ctx *bc;
	unsigned side;
	bool v4, results;
};

static void patch(struct spd *s, struct tnode *t, void *ctx)
{
	struct patch_ctx *pc = ctx;
	if (!(t->h & NODE_LEAF)) {
		unsigned npfx = spd_pop16(t->h >> 1 & 0x7fff);
		uint32_t *res = (uint32_t *)&s->nodes[t->u.in.child0] - npfx;
		for (unsigned i = 0; i < npfx; i++) {
			struct gtmp *gt = &pc->bc->gt[res[i]];
			if (pc->results)
				res[i] = gt->entry;
			else
				gt->entry_needed = true;
		}
		return;
	}
	if (!pc->results)
		return;
	uint32_t *res = pc->v4 ? &t->u.ref4.result : &t->u.ref6.result;
	const struct gtmp *gt = &pc->bc->gt[*res];
	if (gt->entry != SPD_NO_GROUP)
		*res = gt->entry;
	else
		make_rec_leaf(t, &s->recs[gt->ref], gt->ref, pc->side, pc->v4);
}

/* One class of a space: its groups, the outer trie over them, and their
 * chain entries (by outer length). */
static bool build_class(struct spd *s, struct build_ctx *bc, uint32_t *idx, uint32_t n,
                        unsigned side, bool v4, struct spd_head *head)
{
	if (n == 0)
		return spd_head_build(s, SPD_NO_TRIE, 0, head);
	struct sort_ctx ctx = { s->recs, side };
	qsort_r(idx, n, sizeof(*idx), cmp_outer, &ctx);   /* reentrant: builds may overlap */
	size_t ng;
	if (!build_groups(s, bc, idx, n, side, v4, &ng))
		return false;
	/* The trie first, with the groups' build indexes as results: a group
	 * whose prefix is in an inner node needs an entry (the walk may meet it
	 * before the head). */
	for (size_t g = 0; g < ng; g++)
		bc->outer[g].res = (uint32_t)g;
	uint32_t root;
	if (!spd_trie_build(s, bc->scr, bc->outer, ng, v4, &root))
		return false;
	struct patch_ctx pc = { bc, side, v4, false };
	spd_trie_visit(s, root, patch, &pc);
	/* The entries by outer length: a counting sort. */
	size_t count[SPD_MAXLEN + 2] = { 0 };
	for (size_t g = 0; g < ng; g++)
		if (bc->gt[g].entry_needed)
			count[bc->gt[g].len + 1]++;
	for (unsigned l = 1; l <= SPD_MAXLEN + 1; l++)
		count[l] += count[l - 1];
	for (size_t g = 0; g < ng; g++)
		if (bc->gt[g].entry_needed)
			bc->gt[g].entry = s->ngroups + (uint32_t)count[bc->gt[g].len]++;
	s->ngroups += (uint32_t)count[SPD_MAXLEN];
	for (size_t g = 0; g < ng; g++) {
		const struct gtmp *gt = &bc->gt[g];
		uint32_t parent = gt->parent == SPD_NO_GROUP ? SPD_NO_GROUP : bc->gt[gt->parent].entry;
		if (gt->entry == SPD_NO_GROUP)
			continue;
		struct spd_group *e = &s->groups[gt->entry];
		*e = (struct spd_group){ .parent = parent, .anc = gt->anc, .top = gt->top,
		                         .ref = gt->ref };
		if (gt->single) {
			e->ihi = side_addr(&s->recs[gt->ref], !side)[0];
			e->misc = s->recs[gt->ref].misc & SPD_MISC_SEL;
		}
	}
	/* The results: entries, or the record of a single without one. */
	pc.results = true;
	spd_trie_visit(s, root, patch, &pc);
	return spd_head_build(s, root, ng, head);
}

/* One space: class S (src_len >= dst_len) grouped by source prefix, class D
 * (dst_len > src_len) grouped by destination prefix. */
static bool build_space(struct spd *s, struct build_ctx *bc, unsigned dir, unsigned fam)
{
	struct spd_space *sp = &s->space[dir][fam];
	uint32_t ns = 0, nd = 0, total = s->nrecs;
	uint32_t *idx = bc->idx;
	/* Class S from the front of idx, class D from the back. */
	for (uint32_t i = 0; i < s->nrecs; i++) {
		unsigned bits = (unsigned)(s->recs[i].misc >> 59);   /* dir | fam << 1 */
		if ((bits & 1) != dir || (bits >> 1 & 1) != fam)
			continue;
		if (s->recs[i].src_len >= s->recs[i].dst_len)
			idx[ns++] = i;
		else
			idx[total - 1 - nd++] = i;
	}
	return build_class(s, bc, idx, ns, 0, fam == 0, &sp->head[0]) &&
	       build_class(s, bc, idx + total - nd, nd, 1, fam == 0, &sp->head[1]);
}

/* Gives back the geometric slack of a grown array: the structure lives long. */
static void *fit(void *p, size_t n, size_t size)
{
	void *v = realloc(p, (n ? n : 1) * size);
	return v ? v : p;
}

/* The same for an array aligned to `align` (realloc would not keep it). */
static void *fit_aligned(void *p, size_t n, size_t size, size_t align)
{
	size_t bytes = ((n ? n : 1) * size + align - 1) / align * align;
	void *v = aligned_alloc(align, bytes);
	if (!v)
		return p;
	if (n)
		memcpy(v, p, n * size);
	free(p);
	return v;
}

static void mark_rec6(struct spd *s, struct tnode *t, void *map)
{
	(void)s;
	if ((t->h & NODE_LEAF) && LEAF_KIND(t->h) == LEAF_REC6)
		((uint32_t *)map)[t->u.rec6.rec] = 0;
}

static void remap_rec6(struct spd *s, struct tnode *t, void *map)
{
	(void)s;
	if ((t->h & NODE_LEAF) && LEAF_KIND(t->h) == LEAF_REC6)
		t->u.rec6.rec = ((uint32_t *)map)[t->u.rec6.rec];
}

/* IPv6 singles' leaves are in the outer tries only. */
static void for_rec6_leaves(struct spd *s, void (*fn)(struct spd *, struct tnode *, void *),
                            void *map)
{
	for (unsigned d = 0; d < SPD_DIRS; d++)
		for (unsigned c = 0; c < 2; c++)
			spd_trie_visit(s, s->space[d][1].head[c].root, fn, map);
}

/* Drops the records that no lookup reads: those of the singles that their
 * trie leaf holds (LEAF_REC4). */
static bool compact_records(struct spd *s, const bool *hashed)
{
	uint32_t *map = malloc((s->nrecs ? s->nrecs : 1) * sizeof(*map));
	if (!map)
		return false;
	for (uint32_t i = 0; i < s->nrecs; i++)
		map[i] = hashed[i] ? 0 : UINT32_MAX;
	for (uint32_t g = 0; g < s->ngroups; g++)
		if (SPD_G_KIND(s->groups[g].top) == SPD_G_SINGLE)
			map[s->groups[g].ref] = 0;
	for (uint32_t i = 0; i < s->nmembers; i++)
		map[s->members[i].rec] = 0;
	for_rec6_leaves(s, mark_rec6, map);
	uint32_t n = 0;
	for (uint32_t i = 0; i < s->nrecs; i++)
		if (map[i] == 0) {
			map[i] = n;
			s->recs[n++] = s->recs[i];
		}
	for (uint32_t g = 0; g < s->ngroups; g++)
		if (SPD_G_KIND(s->groups[g].top) == SPD_G_SINGLE)
			s->groups[g].ref = map[s->groups[g].ref];
	for (uint32_t i = 0; i < s->nmembers; i++)
		s->members[i].rec = map[s->members[i].rec];
	for_rec6_leaves(s, remap_rec6, map);
	for (uint64_t i = 0; i < 1ull << s->table_bits; i++)
		if (s->table[i])
			s->table[i] = (s->table[i] & ~0xffffffffull) | (map[(uint32_t)s->table[i] - 1] + 1);
	free(map);
	s->nrecs = n;
	s->recs = fit_aligned(s->recs, n, sizeof(*s->recs), _Alignof(struct spd_rec));
	return true;
}

static bool build_tries(struct spd *s)
{
	size_t n = s->nrecs ? s->nrecs : 1;
	struct build_ctx bc = {
		.scr = spd_tscratch_new(),
		.idx = malloc(n * sizeof(*bc.idx)),
		.items = malloc(n * sizeof(*bc.items)),
		.outer = malloc(n * sizeof(*bc.outer)),
		.gt = malloc(n * sizeof(*bc.gt)),
		.hashed = calloc(n, sizeof(*bc.hashed)),
	};
	/* aligned_alloc() wants a multiple of the alignment: 2 entries a line. */
	s->groups = aligned_alloc(64, (n + 1) / 2 * 2 * sizeof(*s->groups));
	s->members = malloc(n * sizeof(*s->members));
	bool ok = bc.scr && bc.idx && bc.items && bc.outer && bc.gt && bc.hashed && s->groups &&
	          s->members;
	for (unsigned d = 0; d < SPD_DIRS && ok; d++)
		for (unsigned fa = 0; fa < SPD_FAMILIES && ok; fa++)
			ok = build_space(s, &bc, d, fa);
	ok = ok && build_table(s, bc.hashed) && compact_records(s, bc.hashed);
	spd_tscratch_free(bc.scr);
	free(bc.idx);
	free(bc.items);
	free(bc.outer);
	free(bc.gt);
	free(bc.hashed);
	if (!ok)
		return false;
	s->nodes = fit_aligned(s->nodes, s->nnodes, sizeof(*s->nodes), sizeof(*s->nodes));
	s->groups = fit_aligned(s->groups, s->ngroups, sizeof(*s->groups), 64);
	s->members = fit(s->members, s->nmembers, sizeof(*s->members));
	s->tents = fit_aligned(s->tents, s->ntents, sizeof(*s->tents), sizeof(*s->tents));
	s->bytes += (s->nrecs ? s->nrecs : 1) * sizeof(*s->recs) +
	            (size_t)s->nnodes * sizeof(*s->nodes) +
	            (size_t)s->ngroups * sizeof(*s->groups) +
	            (size_t)s->nmembers * sizeof(*s->members) +
	            (size_t)s->ntents * sizeof(*s->tents);
	return true;
}

struct spd *spd_build(const struct spd_builder *b, const char **err)
{
	struct spd *s = calloc(1, sizeof(*s));
	bool ok = s != NULL;
	if (ok) {
		for (unsigned d = 0; d < SPD_DIRS; d++)
			for (unsigned fa = 0; fa < SPD_FAMILIES; fa++) {
				s->space[d][fa].head[0].root = SPD_NO_TRIE;
				s->space[d][fa].head[1].root = SPD_NO_TRIE;
			}
		s->bytes = sizeof(*s);
		s->nfilters = b->n;
		ok = build_records(s, b) && build_tries(s);
	}
	if (!ok) {
		spd_free(s);
		if (err)
			*err = "out of memory";
		return NULL;
	}
	return s;
}

void spd_free(struct spd *s)
{
	if (!s)
		return;
	free(s->nodes);
	free(s->groups);
	free(s->members);
	free(s->tents);
	free(s->recs);
	free(s->table);
	free(s);
}

size_t spd_filter_count(const struct spd *s)
{
	return s ? s->nfilters : 0;
}

size_t spd_memory(const struct spd *s)
{
	return s ? s->bytes : 0;
}
