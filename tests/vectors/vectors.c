/* The vector files' reader shared by the known-answer tests (see vectors.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vectors.h"

#ifndef VECTORS_DIR
#error "VECTORS_DIR must be defined by the build"
#endif

static sqlite3 *db;

static char *slurp(const char *name)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", VECTORS_DIR, name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	char *text = malloc((size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	text[n] = 0;
	fclose(f);
	return text;
}


void *vkeep(struct vec *v, void *p)
{
	assert_non_null(p);
	assert_true(v->nmem < (int)(sizeof(v->mem) / sizeof(v->mem[0])));
	v->mem[v->nmem++] = p;
	return p;
}

static void vfree(struct vec *v)
{
	for (int i = 0; i < v->nmem; i++)
		free(v->mem[i]);
	free(v->json);
	memset(v, 0, sizeof(*v));
}

/* The field as text (numbers and booleans as SQLite prints them), or NULL. */
const char *field(struct vec *v, const char *key)
{
	sqlite3_stmt *st;
	char path[128];
	snprintf(path, sizeof(path), "$.%s", key);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT json_extract(?1, ?2)", -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_text(st, 1, v->json, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	const unsigned char *t = sqlite3_column_text(st, 0);
	char *out = t ? vkeep(v, strdup((const char *)t)) : NULL;
	sqlite3_finalize(st);
	return out;
}

const char *need(struct vec *v, const char *key)
{
	const char *s = field(v, key);
	if (!s)
		fail_msg("vector lacks field %s: %.120s", key, v->json);
	return s;
}

long num(struct vec *v, const char *key)
{
	return strtol(need(v, key), NULL, 10);
}

bool flag(struct vec *v, const char *key)
{
	const char *s = field(v, key);
	return s && strcmp(s, "1") == 0;
}

int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	fail_msg("bad hex digit %c", c);
	return 0;
}

/* Hex field -> bytes (never NULL: an empty string gives a 1-byte buffer). */
uint8_t *hexf(struct vec *v, const char *key, size_t *len)
{
	const char *s = need(v, key);
	size_t n = strlen(s);
	assert_int_equal(n % 2, 0);
	uint8_t *b = vkeep(v, malloc(n / 2 + 1));
	for (size_t i = 0; i < n / 2; i++)
		b[i] = (uint8_t)(nibble(s[2 * i]) << 4 | nibble(s[2 * i + 1]));
	*len = n / 2;
	return b;
}

/* Calls fn for every element of $.vectors of the file; returns the count. */
int each_vector(const char *file, vec_fn fn, void *ctx)
{
	char *text = slurp(file);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
	                 "SELECT value, (SELECT json_extract(?1, '$.vector_count')) "
	                 "FROM json_each(?1, '$.vectors')", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	int n = 0, declared = -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct vec v;
		memset(&v, 0, sizeof(v));
		v.json = strdup((const char *)sqlite3_column_text(st, 0));
		declared = sqlite3_column_int(st, 1);
		fn(&v, ctx);
		vfree(&v);
		n++;
	}
	sqlite3_finalize(st);
	free(text);
	assert_int_equal(n, declared);     /* the file's own count: nothing skipped */
	return n;
}

void assert_mem(const uint8_t *got, const uint8_t *want, size_t len, const char *what,
                       struct vec *v)
{
	if (memcmp(got, want, len) != 0)
		fail_msg("%s differs in vector %s", what, field(v, "id"));
}

int vectors_setup(void **state)
{
	(void)state;
	return sqlite3_open(":memory:", &db) == SQLITE_OK ? 0 : -1;
}

int vectors_teardown(void **state)
{
	(void)state;
	sqlite3_close(db);
	return 0;
}
