/*
 * golden -- what the output tests share: golden files that pin a text
 * layout, and the schema of a JSON document.
 */
#ifndef SECPOL_TEST_GOLDEN_H
#define SECPOL_TEST_GOLDEN_H

#include <stddef.h>

/* got must equal dir/name; SECPOL_UPDATE_GOLDEN=1 writes it there instead. */
void golden_check(const char *dir, const char *name, const char *got);

/* "key:type " of every member in document order, types as JSON names them
 * (s string, n number, b boolean, z null, o object, a array). Only the
 * first element of each array is listed -- the rest repeat it -- so the
 * scan stops descending into an array after its first element. */
void json_schema_of(const char *doc, char *out, size_t cap);

#endif
