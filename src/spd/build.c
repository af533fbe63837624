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

static bool build_records(struct spd *s, const struct spd_builder *b)
{
	uint32_t *pos = tie_positions(b);
	s->table_bits = 4;
	while ((1ull << s->table_bits) < 2 * (uint64_t)b->n)
		s->table_bits++;
	s->table = calloc(1ull << s->table_bits, sizeof(*s->table));
	s->recs = aligned_alloc(_Alignof(struct spd_rec), (b->n ? b->n : 1) * sizeof(*s->recs));
	if (!pos || !s->table || !s->recs) {
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
	/* Give back the slots of merged duplicates (realloc would not keep the
	 * alignment). */
	if (s->nrecs < b->n) {
		struct spd_rec *fit = aligned_alloc(_Alignof(struct spd_rec),
		                                    (s->nrecs ? s->nrecs : 1) * sizeof(*fit));
		if (fit) {
			memcpy(fit, s->recs, s->nrecs * sizeof(*fit));
			free(s->recs);
			s->recs = fit;
		}
	}
	s->bytes += (1ull << s->table_bits) * sizeof(*s->table) +
	            (s->nrecs ? s->nrecs : 1) * sizeof(*s->recs);
	return true;
}

/* Groups a space's records by source prefix: (length, address). */
static int cmp_src(const void *a, const void *b, void *recs)
{
	const struct spd_rec *x = &((const struct spd_rec *)recs)[*(const uint32_t *)a];
	const struct spd_rec *y = &((const struct spd_rec *)recs)[*(const uint32_t *)b];
	if (x->src_len != y->src_len)
		return x->src_len < y->src_len ? -1 : 1;
	if (x->src[0] != y->src[0])
		return x->src[0] < y->src[0] ? -1 : 1;
	if (x->src[1] != y->src[1])
		return x->src[1] < y->src[1] ? -1 : 1;
	return 0;
}

static bool same_src(const struct spd_rec *x, const struct spd_rec *y)
{
	return x->src_len == y->src_len && x->src[0] == y->src[0] && x->src[1] == y->src[1];
}

/* One space: a destination trie per source prefix, then the source trie. */
static bool build_space(struct spd *s, struct spd_tscratch *scr, unsigned dir, unsigned fam,
                        uint32_t *idx, struct spd_titem *items, struct spd_titem *srcs)
{
	struct spd_space *sp = &s->space[dir][fam];
	uint32_t n = 0;
	for (uint32_t i = 0; i < s->nrecs; i++) {
		unsigned bits = (unsigned)(s->recs[i].misc >> 59);   /* dir | fam << 1 */
		if ((bits & 1) == dir && (bits >> 1 & 1) == fam)
			idx[n++] = i;
	}
	if (n == 0)
		return true;
	qsort_r(idx, n, sizeof(*idx), cmp_src, s->recs);   /* reentrant: builds may overlap */
	size_t nsrc = 0;
	for (uint32_t g = 0; g < n;) {
		uint32_t e = g;
		uint32_t maxlen = 0;
		size_t ni = 0;
		for (; e < n && same_src(&s->recs[idx[g]], &s->recs[idx[e]]); e++) {
			const struct spd_rec *r = &s->recs[idx[e]];
			items[ni] = (struct spd_titem){ .a = { r->dst[0], r->dst[1] },
			                                .res = 1u << (r->misc >> 56 & 7),
			                                .rec = idx[e], .len = r->dst_len, .side = 1 };
			ni++;
			if (r->dst_len > maxlen)
				maxlen = r->dst_len;
		}
		if (s->ndtries >= SPD_MAX_FILTERS)   /* SPD_SRC_RES() holds 24 bits */
			return false;
		struct spd_dtrie dt = { .maxlen = maxlen };
		if (!spd_trie_build(s, scr, items, ni, fam == 0, &dt.root))
			return false;
		s->dtries[s->ndtries] = dt;
		const struct spd_rec *r = &s->recs[idx[g]];
		srcs[nsrc++] = (struct spd_titem){ .a = { r->src[0], r->src[1] },
		                                   .res = SPD_SRC_RES(s->ndtries, maxlen), .rec = idx[g],
		                                   .len = r->src_len, .side = 0 };
		s->ndtries++;
		g = e;
	}
	return spd_trie_build(s, scr, srcs, nsrc, fam == 0, &sp->src_root);
}

static bool build_tries(struct spd *s)
{
	size_t n = s->nrecs ? s->nrecs : 1;
	uint32_t *idx = malloc(n * sizeof(*idx));
	struct spd_titem *items = malloc(n * sizeof(*items));
	struct spd_titem *srcs = malloc(n * sizeof(*srcs));
	struct spd_tscratch *scr = spd_tscratch_new();
	s->dtries = malloc(n * sizeof(*s->dtries));
	bool ok = idx && items && srcs && scr && s->dtries;
	for (unsigned d = 0; d < SPD_DIRS && ok; d++)
		for (unsigned fa = 0; fa < SPD_FAMILIES && ok; fa++)
			ok = build_space(s, scr, d, fa, idx, items, srcs);
	free(idx);
	free(items);
	free(srcs);
	spd_tscratch_free(scr);
	if (!ok)
		return false;
	/* Give back the geometric slack: the structure lives long. */
	struct tnode *nv = realloc(s->nodes, (s->nnodes ? s->nnodes : 1) * sizeof(*nv));
	if (nv)
		s->nodes = nv;
	uint32_t *rv = realloc(s->res, (s->nres ? s->nres : 1) * sizeof(*rv));
	if (rv)
		s->res = rv;
	struct spd_dtrie *dv = realloc(s->dtries, (s->ndtries ? s->ndtries : 1) * sizeof(*dv));
	if (dv)
		s->dtries = dv;
	s->bytes += (size_t)s->nnodes * sizeof(*s->nodes) + (size_t)s->nres * sizeof(*s->res) +
	            (size_t)s->ndtries * sizeof(*s->dtries);
	return true;
}

struct spd *spd_build(const struct spd_builder *b, const char **err)
{
	struct spd *s = calloc(1, sizeof(*s));
	bool ok = s != NULL;
	if (ok) {
		for (unsigned d = 0; d < SPD_DIRS; d++)
			for (unsigned fa = 0; fa < SPD_FAMILIES; fa++) {
				s->space[d][fa].width = fa == 0 ? 32 : 128;
				s->space[d][fa].src_root = SPD_NO_TRIE;
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
	free(s->res);
	free(s->dtries);
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
