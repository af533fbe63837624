/*
 * The two output layouts of netsh-ipsec.md §5.1: `list` (label padded to a
 * fixed width, then ": value") and `table` (a header row, dashes, one row per
 * object; with wide=no every row is cut to 79 columns, cut cells end "...").
 */
#include "netsh/internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *yesno(bool b)
{
	return b ? "YES" : "NO";
}

const char *none_if_empty(const char *s)
{
	return s && s[0] ? s : "NONE";
}

void format_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "?");
}

void list_field(FILE *f, const char *label, const char *fmt, ...)
{
	va_list ap;
	fprintf(f, "%-*s: ", LIST_LABEL_WIDTH, label);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

void list_header(FILE *f, const char *title)
{
	size_t n = strlen(title);
	fprintf(f, "%s\n", title);
	for (size_t i = 0; i < n; i++)
		fputc('-', f);
	fputc('\n', f);
}

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
