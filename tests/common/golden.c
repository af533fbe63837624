/* Golden files and JSON schemas for the output tests (see golden.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "golden.h"

void golden_check(const char *dir, const char *name, const char *got)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (getenv("SECPOL_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(got, f);
		fclose(f);
		return;
	}
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("missing golden file %s", path);
	static char want[65536];
	size_t n = fread(want, 1, sizeof(want) - 1, f);
	fclose(f);
	want[n] = '\0';
	if (strcmp(want, got)) {
		fprintf(stderr, "--- %s (expected)\n%s--- got\n%s", name, want, got);
		fail_msg("%s differs", name);
	}
}

void json_schema_of(const char *doc, char *out, size_t cap)
{
	size_t o = 0;
	int depth = 0, narr = 0, skip_from = -1;
	int arr_depth[32] = { 0 };
	out[0] = '\0';
	for (const char *p = doc; *p; p++) {
		if (*p == '[') {
			depth++;
			if (narr < 31)
				arr_depth[++narr] = depth;
		} else if (*p == ']') {
			depth--;
			if (skip_from == narr)
				skip_from = -1;
			narr--;
		} else if (*p == '{') {
			depth++;
		} else if (*p == '}') {
			depth--;
			if (narr && depth == arr_depth[narr] && skip_from < 0)
				skip_from = narr;
		} else if (*p == '"') {
			const char *end = p + 1;
			while (*end && *end != '"')
				end += *end == '\\' && end[1] ? 2 : 1;
			assert_true(*end == '"');
			if (end[1] == ':' && skip_from < 0) {
				const char *v = end + 2;
				char t = *v == '"' ? 's' : *v == '{' ? 'o' : *v == '[' ? 'a'
				         : *v == 't' || *v == 'f' ? 'b' : *v == 'n' ? 'z' : 'n';
				o += (size_t)snprintf(out + o, cap - o, "%.*s:%c ", (int)(end - p - 1), p + 1, t);
				assert_true(o < cap);
			}
			p = end;
		}
	}
}
