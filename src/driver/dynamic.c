/*
 * The run-time filters (driver.h: the default response rule's, soft
 * associations), checked before the SPD for every packet in both
 * directions.
 *
 * A server that requests security keeps a soft association for every
 * non-IPsec client it spoke to in the last five minutes -- thousands -- so
 * they are found through a hash of the peer's address, not by a scan: each
 * filter naming one remote host is chained in that host's bucket, the rare
 * wider ones in one more chain looked at after it. Chains are index links
 * into the filter array, which grows as needed (under the write lock) and
 * stays dense: a deleted filter's place is taken by the last one.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/internal.h"

/* A run-time filter's port range (hi 0: any); ports count for TCP and UDP only. */
static bool in_ports(const uint16_t range[2], uint8_t protocol, uint16_t port)
{
	if (range[1] == 0 || (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP))
		return true;
	return port >= range[0] && port <= range[1];
}

bool driver_dynamic_matches(const struct driver_dynamic *f, const struct spd_packet *p,
                            enum spd_dir dir)
{
	bool out = dir == SPD_OUTBOUND;
	const uint8_t *mine = out ? p->src : p->dst;
	const uint8_t *theirs = out ? p->dst : p->src;
	return f->local.family == p->family && driver_in_prefix(mine, f->local.bytes, f->local_len) &&
	       driver_in_prefix(theirs, f->remote.bytes, f->remote_len) &&
	       (!f->protocol || f->protocol == p->protocol) &&
	       in_ports(f->local_ports, p->protocol, out ? p->src_port : p->dst_port) &&
	       in_ports(f->remote_ports, p->protocol, out ? p->dst_port : p->src_port);
}

/* The chain of filter f: its remote host's bucket, or the wide chain. */
static size_t chain_of(const struct driver_dynamic *f)
{
	if (f->remote_len != (f->remote.family == AF_INET ? 32 : 128))
		return DYN_BUCKETS;
	return driver_hash(0, f->remote.family, f->remote.bytes) & (DYN_BUCKETS - 1);
}

const struct driver_dynamic *dynamic_find(const struct driver *d, const struct spd_packet *p,
                                          enum spd_dir dir)
{
	if (!d->ndynamic)
		return NULL;
	const uint8_t *theirs = dir == SPD_OUTBOUND ? p->dst : p->src;
	size_t chains[2] = { driver_hash(0, p->family, theirs) & (DYN_BUCKETS - 1), DYN_BUCKETS };
	for (int c = 0; c < 2; c++)
		for (int32_t i = d->dyn_head[chains[c]]; i >= 0; i = d->dyn_next[i])
			if (driver_dynamic_matches(&d->dynamic[i], p, dir))
				return &d->dynamic[i];
	return NULL;
}

static void link_at_head(struct driver *d, int32_t i)
{
	size_t c = chain_of(&d->dynamic[i]);
	d->dyn_next[i] = d->dyn_head[c];
	d->dyn_head[c] = i;
}

static void unlink_entry(struct driver *d, int32_t i)
{
	int32_t *pp = &d->dyn_head[chain_of(&d->dynamic[i])];
	while (*pp != i)
		pp = &d->dyn_next[*pp];
	*pp = d->dyn_next[i];
}

void dynamic_init(struct driver *d)
{
	for (size_t c = 0; c <= DYN_BUCKETS; c++)
		d->dyn_head[c] = -1;
}

void dynamic_free(struct driver *d)
{
	free(d->dynamic);
	free(d->dyn_next);
}

static bool dynamic_equal(const struct driver_dynamic *a, const struct driver_dynamic *b)
{
	return a->rule_id == b->rule_id && a->action == b->action &&
	       a->local.family == b->local.family && a->local_len == b->local_len &&
	       a->remote_len == b->remote_len && !memcmp(a->local.bytes, b->local.bytes, 16) &&
	       !memcmp(a->remote.bytes, b->remote.bytes, 16) && a->protocol == b->protocol &&
	       !memcmp(a->local_ports, b->local_ports, sizeof(a->local_ports)) &&
	       !memcmp(a->remote_ports, b->remote_ports, sizeof(a->remote_ports));
}

/* Room for one more filter (write lock held). */
static bool dynamic_room(struct driver *d)
{
	if (d->ndynamic < d->dyn_cap)
		return true;
	size_t cap = d->dyn_cap ? d->dyn_cap * 2 : 64;
	if (cap > DRIVER_DYNAMIC_MAX)
		return false;
	struct driver_dynamic *f = realloc(d->dynamic, cap * sizeof(*f));
	if (f)
		d->dynamic = f;
	int32_t *next = f ? realloc(d->dyn_next, cap * sizeof(*next)) : NULL;
	if (!next)
		return false;
	d->dyn_next = next;
	d->dyn_cap = cap;
	return true;
}

bool driver_dynamic_add(struct driver *d, const struct driver_dynamic *f, char *err, size_t errlen)
{
	pthread_rwlock_wrlock(&d->lock);
	bool ok = dynamic_room(d);
	if (ok) {
		int32_t i = (int32_t)d->ndynamic++;
		d->dynamic[i] = *f;
		link_at_head(d, i);
	} else {
		snprintf(err, errlen, "too many run-time filters (%d)", DRIVER_DYNAMIC_MAX);
	}
	pthread_rwlock_unlock(&d->lock);
	/* A Permit filter (a soft association) lets waiting packets go in clear. */
	uint64_t one = 1;
	if (ok && write(d->tx_wake, &one, sizeof(one)) < 0) {
		/* the worker's next wakeup sends them */
	}
	return ok;
}

bool driver_dynamic_delete(struct driver *d, const struct driver_dynamic *f)
{
	bool found = false;
	pthread_rwlock_wrlock(&d->lock);
	/* Found through its chain: soft associations expire by the thousand. */
	int32_t i = d->ndynamic ? d->dyn_head[chain_of(f)] : -1;
	while (i >= 0 && !dynamic_equal(&d->dynamic[i], f))
		i = d->dyn_next[i];
	if (i >= 0) {
		found = true;
		unlink_entry(d, i);
		int32_t last = (int32_t)--d->ndynamic;
		if (i != last) {
			/* The last filter takes the place: its chain must follow. */
			unlink_entry(d, last);
			d->dynamic[i] = d->dynamic[last];
			link_at_head(d, i);
		}
	}
	pthread_rwlock_unlock(&d->lock);
	return found;
}
