/*
 * Test helper: the published vectors (the JSON files in tests/vectors/), read with
 * SQLite's JSON functions so that the tests need no JSON library. Every
 * accessor fails the running cmocka test on a malformed vector.
 */
#ifndef SECPOL_TEST_VECTORS_H
#define SECPOL_TEST_VECTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One vector: its JSON text and everything allocated while looking at it. */
struct vec {
	char *json;
	void *mem[256];
	int nmem;
};

/* cmocka group setup/teardown: open and close the in-memory database. */
int vectors_setup(void **state);
int vectors_teardown(void **state);

/* Keeps p (malloc'd) until the vector is done; fails the test on NULL. */
void *vkeep(struct vec *v, void *p);
/* The value of a hex digit; fails the test on anything else. */
int nibble(char c);
/* The field as text (numbers and booleans as SQLite prints them), or NULL. */
const char *field(struct vec *v, const char *key);
const char *need(struct vec *v, const char *key);   /* fails the test when absent */
long num(struct vec *v, const char *key);
bool flag(struct vec *v, const char *key);
/* Hex field -> bytes, kept until the vector is done (never NULL). */
uint8_t *hexf(struct vec *v, const char *key, size_t *len);
void assert_mem(const uint8_t *got, const uint8_t *want, size_t len, const char *what,
                struct vec *v);

/* Calls fn for every element of $.vectors of file (in VECTORS_DIR); checks
 * the count against the file's vector_count and returns it. */
typedef void (*vec_fn)(struct vec *v, void *ctx);
int each_vector(const char *file, vec_fn fn, void *ctx);

#endif
