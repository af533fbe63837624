/*
 * table — the `table` layout of netsh-ipsec.md §5.1: a header row, a row of
 * dashes, one row per object, columns one space apart; with wide=no every
 * row is cut to 79 columns (the widest column gives way first, cut cells end
 * "..."). One implementation for every `show`, static and dynamic.
 */
#ifndef SECPOL_MONITOR_TABLE_H
#define SECPOL_MONITOR_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct table;
/* NULL when out of memory (table_row/print/free accept NULL). At most 16
 * columns. */
struct table *table_new(size_t ncols, const char *const *headers);
void table_row(struct table *t, const char *const *cells);
void table_print(FILE *f, struct table *t, bool wide);
void table_free(struct table *t);

#endif
