/*
 * jsonread — a bounded JSON reader for documents from another process
 * (secpold's answers to `secpol monitor`). RFC 8259, strict: one value,
 * nothing after it but whitespace; no raw control characters in strings;
 * escapes checked (surrogates paired). Nesting is limited to
 * JR_MAX_DEPTH and the number of values to the caller's token array, so a
 * hostile document costs at most that much memory and stack.
 *
 * The result is a flat array of tokens in document order (jsmn style): an
 * object's members follow it as key, value, key, value ...; `next` is the
 * index just past a token's subtree, so a reader skips a value in O(1).
 * Token 0 is the root, always a container in the documents read here: 0
 * as a result of jr_member() means "not there", and the typed getters
 * below take 0 as missing.
 */
#ifndef SECPOL_MONITOR_JSONREAD_H
#define SECPOL_MONITOR_JSONREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JR_MAX_DEPTH 32
#define JR_MAX_TEXT (64u << 20)   /* offsets are 32-bit; documents are far smaller */

enum jr_type { JR_OBJECT = 1, JR_ARRAY, JR_STRING, JR_NUMBER, JR_TRUE, JR_FALSE, JR_NULL };

struct jr_token {
	uint8_t type;            /* enum jr_type */
	uint32_t start, end;     /* text[start, end): strings without their quotes */
	uint32_t next;           /* the token after this one's subtree */
	uint32_t count;          /* objects: members; arrays: elements */
};

struct jr_doc {
	const char *text;
	size_t len;
	struct jr_token *tok;    /* the caller's */
	size_t ntok, cap;
};

/* Parses text[0, len) into tok[0, cap). False: *err says what and where
 * (the doc is then unusable). */
bool jr_parse(struct jr_doc *d, const char *text, size_t len, struct jr_token *tok, size_t cap,
              char *err, size_t errlen);

/* The value of member key of object token obj; 0 when obj is not an object
 * or has no such member (the first one wins if a key repeats). */
size_t jr_member(const struct jr_doc *d, size_t obj, const char *key);

/* The first element of array (or first key of an object) and the one after
 * element i (pass the element's index); 0 when there is none. */
size_t jr_first(const struct jr_doc *d, size_t container);
size_t jr_after(const struct jr_doc *d, size_t container, size_t i);

/* Typed values. False when the token is missing (0) or of another type; a
 * number must be a non-negative integer that fits (no fraction, no
 * exponent). */
bool jr_u64(const struct jr_doc *d, size_t i, uint64_t *out);
bool jr_bool(const struct jr_doc *d, size_t i, bool *out);
bool jr_is_null(const struct jr_doc *d, size_t i);
/* A string, unescaped to UTF-8 and NUL-terminated; longer than len - 1
 * bytes: cut at a character boundary (still true). */
bool jr_string(const struct jr_doc *d, size_t i, char *out, size_t len);

#endif
