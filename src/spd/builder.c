/*
 * Collecting filters before compilation: validation, the §3.2 weight, and
 * the expansion of a mirrored filter into its two one-way filters.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "spd/builder.h"

uint32_t spd_weight(const struct spd_filter *f)
{
	/* Block drops, so on identical selectors it must win (§3.2). */
	static const uint32_t rank[] = { [ACTION_PERMIT] = 2, [ACTION_BLOCK] = 3,
	                                 [ACTION_NEGOTIATE] = 1 };
	uint32_t w = (uint32_t)(f->src_len + f->dst_len) << 20;
	w |= (uint32_t)(f->protocol != 0) << 19;
	w |= (uint32_t)(f->src_port != 0) << 18;
	w |= (uint32_t)(f->dst_port != 0) << 17;
	if ((unsigned)f->action < sizeof(rank) / sizeof(rank[0]))
		w |= rank[f->action] << 14;
	w |= (uint32_t)!f->tunnel << 13;
	return w;
}

struct spd_builder *spd_builder_new(void)
{
	return calloc(1, sizeof(struct spd_builder));
}

void spd_builder_free(struct spd_builder *b)
{
	if (!b)
		return;
	free(b->f);
	free(b);
}

static const char *check(const struct spd_filter *f)
{
	unsigned width;
	if (f->family == AF_INET)
		width = 32;
	else if (f->family == AF_INET6)
		width = 128;
	else
		return "family must be AF_INET or AF_INET6";
	if (f->src_len > width || f->dst_len > width)
		return "prefix length longer than the address";
	if ((f->src_port || f->dst_port) && f->protocol != SPD_TCP && f->protocol != SPD_UDP)
		return "ports are only allowed with protocol TCP or UDP";
	if (f->dir != SPD_OUTBOUND && f->dir != SPD_INBOUND)
		return "direction must be outbound or inbound";
	if (f->action != ACTION_PERMIT && f->action != ACTION_BLOCK &&
	    f->action != ACTION_NEGOTIATE)
		return "action must be permit, block or negotiate";
	return NULL;
}

bool spd_builder_add(struct spd_builder *b, const struct spd_filter *f, const char **err)
{
	const char *e = check(f);
	if (!e && b->n >= SPD_MAX_FILTERS)
		e = "too many filters";
	if (!e && b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct spd_filter *v = realloc(b->f, cap * sizeof(*v));
		if (!v)
			e = "out of memory";
		else {
			b->f = v;
			b->cap = cap;
		}
	}
	if (e) {
		if (err)
			*err = e;
		return false;
	}
	b->f[b->n++] = *f;
	return true;
}

bool spd_builder_add_mirrored(struct spd_builder *b, const struct spd_filter *f,
                              const char **err)
{
	struct spd_filter out = *f, in = *f;   /* "out" = as given, "in" = swapped */
	in.dir = f->dir == SPD_OUTBOUND ? SPD_INBOUND : SPD_OUTBOUND;
	memcpy(in.src, f->dst, sizeof(in.src));
	memcpy(in.dst, f->src, sizeof(in.dst));
	in.src_len = f->dst_len;
	in.dst_len = f->src_len;
	in.src_port = f->dst_port;
	in.dst_port = f->src_port;
	/* Check both first so that a failure adds neither. */
	const char *e = check(&out);
	if (!e && b->n + 2 > SPD_MAX_FILTERS)
		e = "too many filters";
	if (e) {
		if (err)
			*err = e;
		return false;
	}
	if (!spd_builder_add(b, &out, err))
		return false;
	if (!spd_builder_add(b, &in, err)) {
		b->n--;
		return false;
	}
	return true;
}
