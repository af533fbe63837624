/*
 * The `list` layout of netsh-ipsec.md §5.1 (label padded to a fixed width,
 * then ": value") and the small formatting helpers; the `table` layout is
 * the monitor's (monitor/table.h), shared with the IP Security Monitor views.
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

