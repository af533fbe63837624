/* The builder's storage, shared by builder.c and build.c only. */
#ifndef SECPOL_SPD_BUILDER_H
#define SECPOL_SPD_BUILDER_H

#include "spd/spd.h"

#define SPD_TCP 6
#define SPD_UDP 17
/* Record indexes must fit the packed hash-table entries of internal.h. */
#define SPD_MAX_FILTERS (1u << 24)

struct spd_builder {
	struct spd_filter *f;        /* in the order added */
	size_t n, cap;
};

#endif
