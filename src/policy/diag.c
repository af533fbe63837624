#include "policy/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void diag_init(struct diag *d)
{
	memset(d, 0, sizeof(*d));
}

bool diag_error(struct diag *d, enum ipsec_err code, const char *fmt, ...)
{
	if (d->code != ERR_NONE)
		return false;
	d->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
	return false;
}

void diag_warn(struct diag *d, const char *fmt, ...)
{
	if (d->nwarn >= DIAG_WARN_MAX)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->warn[d->nwarn], sizeof(d->warn[0]), fmt, ap);
	va_end(ap);
	/* The same warning twice in one command says nothing new. */
	for (size_t i = 0; i < d->nwarn; i++)
		if (strcmp(d->warn[i], d->warn[d->nwarn]) == 0)
			return;
	d->nwarn++;
}

bool diag_bad_value(struct diag *d, const char *tag, const char *value,
                    const char *allowed)
{
	return diag_error(d, ERR_BAD_VALUE,
	                  "'%.200s' is not a valid value for '%s'. Allowed: %s.",
	                  value, tag, allowed);
}

bool diag_failed(const struct diag *d)
{
	return d->code != ERR_NONE;
}
