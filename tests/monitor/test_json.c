/* The JSON writer: separators, nesting, escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/json.h"

/* Runs the writer into memory and returns the text (static buffer). */
static char text[1024];

static FILE *start(struct json *j)
{
	memset(text, 0, sizeof(text));
	FILE *f = fmemopen(text, sizeof(text) - 1, "w");
	assert_non_null(f);
	json_init(j, f);
	return f;
}

static void test_nesting(void **state)
{
	(void)state;
	struct json j;
	FILE *f = start(&j);
	json_object_begin(&j, NULL);
	json_u64(&j, "a", 18446744073709551615ull);
	json_array_begin(&j, "list");
	json_object_begin(&j, NULL);
	json_bool(&j, "up", true);
	json_null(&j, "peer");
	json_object_end(&j);
	json_i64(&j, NULL, -5);
	json_array_end(&j);
	json_array_begin(&j, "empty");
	json_array_end(&j);
	json_object_end(&j);
	json_finish(&j);
	fclose(f);
	assert_string_equal(text, "{\n\"a\":18446744073709551615,\n"
	                          "\"list\":[{\"up\":true,\"peer\":null},-5],\n"
	                          "\"empty\":[]\n}\n");
}

static void test_escaping(void **state)
{
	(void)state;
	struct json j;
	FILE *f = start(&j);
	json_array_begin(&j, NULL);
	json_string(&j, NULL, "q\"b\\n\n\t\x01\x7f" "é");
	json_string(&j, NULL, NULL);
	json_array_end(&j);
	json_finish(&j);
	fclose(f);
	assert_string_equal(text, "[\n\"q\\\"b\\\\n\\n\\t\\u0001\\u007fé\",\n\"\"\n]\n");
}

/* Another view's document nested as a member; trailing newline dropped. */
static void test_raw(void **state)
{
	(void)state;
	struct json j;
	FILE *f = start(&j);
	json_object_begin(&j, NULL);
	json_raw(&j, "stats", "{\n\"a\":1\n}\n", 10);
	json_raw(&j, "none", "\n", 1);
	json_object_end(&j);
	json_finish(&j);
	fclose(f);
	assert_string_equal(text, "{\n\"stats\":{\n\"a\":1\n},\n\"none\":null\n}\n");
}

static void test_depth_bound(void **state)
{
	(void)state;
	struct json j;
	FILE *f = start(&j);
	/* Deeper than the bound: the excess opens and closes are not written,
	 * and the document stays balanced. */
	for (int i = 0; i < JSON_MAX_DEPTH + 4; i++)
		json_array_begin(&j, NULL);
	for (int i = 0; i < JSON_MAX_DEPTH + 4; i++)
		json_array_end(&j);
	json_finish(&j);
	fclose(f);
	size_t open = 0, close = 0;
	for (const char *p = text; *p; p++) {
		open += *p == '[';
		close += *p == ']';
	}
	assert_int_equal(open, JSON_MAX_DEPTH - 1);
	assert_int_equal(open, close);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_depth_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
