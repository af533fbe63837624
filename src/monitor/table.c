/*
 * The table layout: cells are copied (strdup) as rows arrive, widths are
 * measured when printing.
 */
#include <stdlib.h>
#include <string.h>

#include "monitor/table.h"

struct table {
	size_t ncols, nrows, cap;
	char **cells;                /* row-major, header row first */
};

struct table *table_new(size_t ncols, const char *const *headers)
{
	struct table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ncols = ncols > 16 ? 16 : ncols;
	table_row(t, headers);
	return t;
}

void table_row(struct table *t, const char *const *cells)
{
	if (!t)
		return;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **c = realloc(t->cells, cap * t->ncols * sizeof(*c));
		if (!c)
			return;
		t->cells = c;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = strdup(cells[i] ? cells[i] : "");
	t->nrows++;
}

void table_print(FILE *f, struct table *t, bool wide)
{
	if (!t)
		return;
	size_t w[16] = { 0 }, total = 0;
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols && c < 16; c++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t n = s ? strlen(s) : 0;
			if (n > w[c])
				w[c] = n;
		}
	for (size_t c = 0; c < t->ncols; c++)
		total += w[c] + (c ? 1 : 0);
	/* wide=no: shrink the widest column until the row fits 79 characters. */
	while (!wide && total > 79) {
		size_t widest = 0;
		for (size_t c = 1; c < t->ncols; c++)
			if (w[c] > w[widest])
				widest = c;
		if (w[widest] <= 4)
			break;
		w[widest]--;
		total--;
	}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			s = s ? s : "";
			bool last = c + 1 == t->ncols;
			if (strlen(s) > w[c])
				fprintf(f, "%.*s...", (int)(w[c] - 3), s);
			else if (last)
				fputs(s, f);
			else
				fprintf(f, "%-*s", (int)w[c], s);
			if (!last)
				fputc(' ', f);
		}
		fputc('\n', f);
		if (r == 0) {
			for (size_t c = 0; c < t->ncols; c++) {
				for (size_t i = 0; i < w[c]; i++)
					fputc('-', f);
				if (c + 1 < t->ncols)
					fputc(' ', f);
			}
			fputc('\n', f);
		}
	}
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}
