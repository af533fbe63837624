/*
 * The JSON writer. Every value goes through member(), which writes the
 * comma and the name; so a caller can never produce "a":1"b":2.
 */
#include <inttypes.h>

#include "monitor/json.h"

void json_init(struct json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->need_comma[0] = false;
}

static void escaped(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* The separator and the name of the next value at the current depth. */
static void member(struct json *j, const char *key)
{
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	/* One top-level member per line: readable and greppable. */
	if (j->depth == 1)
		fputc('\n', j->f);
	j->need_comma[j->depth] = true;
	if (key) {
		escaped(j->f, key);
		fputc(':', j->f);
	}
}

static void nest_open(struct json *j, const char *key, char c)
{
	if (j->depth + 1 >= JSON_MAX_DEPTH)
		return;
	member(j, key);
	fputc(c, j->f);
	j->need_comma[++j->depth] = false;
}

static void nest_close(struct json *j, char c)
{
	if (j->depth == 0)
		return;
	if (j->depth == 1 && j->need_comma[1])
		fputc('\n', j->f);
	j->depth--;
	fputc(c, j->f);
}

void json_object_begin(struct json *j, const char *key) { nest_open(j, key, '{'); }
void json_object_end(struct json *j) { nest_close(j, '}'); }
void json_array_begin(struct json *j, const char *key) { nest_open(j, key, '['); }
void json_array_end(struct json *j) { nest_close(j, ']'); }

void json_string(struct json *j, const char *key, const char *value)
{
	member(j, key);
	escaped(j->f, value ? value : "");
}

void json_u64(struct json *j, const char *key, uint64_t value)
{
	member(j, key);
	fprintf(j->f, "%" PRIu64, value);
}

void json_i64(struct json *j, const char *key, int64_t value)
{
	member(j, key);
	fprintf(j->f, "%" PRId64, value);
}

void json_bool(struct json *j, const char *key, bool value)
{
	member(j, key);
	fputs(value ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	member(j, key);
	fputs("null", j->f);
}

void json_raw(struct json *j, const char *key, const char *text, size_t len)
{
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\t' ||
	               text[len - 1] == '\r'))
		len--;
	member(j, key);
	if (len)
		fwrite(text, 1, len, j->f);
	else
		fputs("null", j->f);
}

void json_finish(struct json *j)
{
	fputc('\n', j->f);
}
