/*
 * json — a streaming JSON writer for `format=json` output and the monitor.
 *
 * Output is one document per call sequence, compact except for one member
 * per line at the top level, so shell tests can still grep it. Commas and
 * nesting are tracked here; strings are escaped per RFC 8259 (control
 * characters as \u00XX, bytes >= 0x80 passed through: the callers print
 * UTF-8 or ASCII). Names are printed as given: callers use fixed
 * lower_snake_case keys, which is the documented schema.
 */
#ifndef SECPOL_MONITOR_JSON_H
#define SECPOL_MONITOR_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	unsigned depth;
	bool need_comma[JSON_MAX_DEPTH];
};

void json_init(struct json *j, FILE *f);

/* key is the member name inside an object, NULL inside an array or at the
 * top. Nesting deeper than JSON_MAX_DEPTH is a programming error and is
 * not written (the document stays well-formed up to that point). */
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);

void json_string(struct json *j, const char *key, const char *value);
void json_u64(struct json *j, const char *key, uint64_t value);
void json_i64(struct json *j, const char *key, int64_t value);
void json_bool(struct json *j, const char *key, bool value);
void json_null(struct json *j, const char *key);

/* A value rendered elsewhere as a whole JSON document (one of our own
 * views, never outside input), nested as is; trailing whitespace dropped. */
void json_raw(struct json *j, const char *key, const char *text, size_t len);

/* Ends the document with a newline (after the outermost value). */
void json_finish(struct json *j);

#endif
