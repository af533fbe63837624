/*
 * Store tests: creation with the sample objects, file mode, transactions,
 * one assigned policy, referential checks, migrations, refusal of newer or
 * damaged files, and two processes writing at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"

static char dir[4096];
static char path[4200];
static int counter;

static int setup(void **state)
{
	(void)state;
	const char *base = getenv("SECPOL_TEST_TMP");
	snprintf(dir, sizeof(dir), "%s/store-test-XXXXXX", base ? base : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/policy-%d.db", dir, counter++);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[4300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static struct store *open_ok(void)
{
	struct diag d;
	diag_init(&d);
	struct store *s = store_open(path, &d);
	if (!s)
		fail_msg("store_open: %s", d.msg);
	return s;
}

static void test_new_store_has_samples_and_mode_0600(void **state)
{
	(void)state;
	struct store *s = open_ok();
	struct diag d;
	diag_init(&d);
	struct policy *p;
	size_t n;
	assert_true(store_policies_load(s, &p, &n, &d));
	assert_int_equal(n, 3);
	assert_string_equal(p[0].name, "Client (Respond Only)");
	assert_string_equal(p[1].name, "Server (Request Security)");
	assert_string_equal(p[2].name, "Secure Server (Require Security)");
	assert_int_equal(p[0].nrules, 1);             /* only the default response rule */
	assert_true(p[0].rules[0].is_default);
	assert_int_equal(p[1].nrules, 3);
	assert_string_equal(p[1].rules[0].filterlist, "All IP Traffic");
	assert_string_equal(p[1].rules[0].filteraction, "Request Security (Optional)");
	assert_string_equal(p[1].rules[1].filteraction, "Permit");
	assert_string_equal(p[2].rules[0].filteraction, "Require Security");
	for (size_t i = 0; i < n; i++) {
		assert_false(p[i].assigned);
		assert_int_equal(p[i].pollinginterval, 180);
		assert_int_equal(p[i].mmlifetime, 480);
		assert_int_equal(p[i].rules[p[i].nrules - 1].auth.m[0].kind, AUTH_KERBEROS);
	}
	store_policies_free(p, n);

	struct filter_list fl;
	assert_true(store_filterlist_get(s, "all icmp traffic", &fl, &d)); /* case-insensitive */
	assert_int_equal(fl.nfilters, 1);
	assert_int_equal(fl.filters[0].protocol, 1);
	assert_true(fl.filters[0].mirrored);
	assert_int_equal(fl.filters[0].src.kind, ADDR_ME);
	assert_int_equal(fl.filters[0].dst.kind, ADDR_ANY);
	policy_filter_list_free(&fl);
	store_close(s);

	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_rollback_leaves_nothing(void **state)
{
	(void)state;
	struct store *s = open_ok();
	struct diag d;
	diag_init(&d);
	struct filter_list fl;
	memset(&fl, 0, sizeof(fl));
	strcpy(fl.name, "temp");
	assert_true(store_begin(s, &d));
	assert_true(store_filterlist_add(s, &fl, &d));
	assert_true(store_filterlist_exists(s, "temp"));
	store_rollback(s);
	assert_false(store_filterlist_exists(s, "temp"));

	/* A savepoint undoes one command inside a longer (batch) transaction. */
	assert_true(store_begin(s, &d));
	memset(&fl, 0, sizeof(fl));
	strcpy(fl.name, "kept");
	assert_true(store_filterlist_add(s, &fl, &d));
	assert_true(store_savepoint(s, &d));
	memset(&fl, 0, sizeof(fl));
	strcpy(fl.name, "undone");
	assert_true(store_filterlist_add(s, &fl, &d));
	store_savepoint_rollback(s);
	assert_true(store_commit(s, &d));
	assert_true(store_filterlist_exists(s, "kept"));
	assert_false(store_filterlist_exists(s, "undone"));
	store_close(s);
}

static void test_duplicates_and_references(void **state)
{
	(void)state;
	struct store *s = open_ok();
	struct diag d;
	diag_init(&d);
	struct filter_list fl;
	memset(&fl, 0, sizeof(fl));
	strcpy(fl.name, "ALL IP TRAFFIC");
	assert_false(store_filterlist_add(s, &fl, &d));
	assert_int_equal(d.code, ERR_DUPLICATE_NAME);

	struct filter f;
	policy_filter_init(&f);
	f.src.kind = ADDR_ME;
	f.dst.kind = ADDR_ANY;
	diag_init(&d);
	assert_false(store_filter_add(s, "All IP Traffic", &f, &d));
	assert_int_equal(d.code, ERR_DUPLICATE_FILTER);

	diag_init(&d);
	assert_false(store_filterlist_delete(s, "All IP Traffic", &d));
	assert_int_equal(d.code, ERR_IN_USE);
	assert_non_null(strstr(d.msg, "Server (Request Security)"));

	diag_init(&d);
	assert_false(store_filteraction_delete(s, "Permit", &d));
	assert_int_equal(d.code, ERR_IN_USE);

	diag_init(&d);
	struct rule r;
	policy_rule_init(&r);
	strcpy(r.name, "x");
	strcpy(r.filterlist, "missing list");
	strcpy(r.filteraction, "Permit");
	assert_false(store_rule_add(s, "Client (Respond Only)", &r, &d));
	assert_int_equal(d.code, ERR_NO_FILTERLIST);
	store_close(s);
}

static void test_one_assigned_policy(void **state)
{
	(void)state;
	struct store *s = open_ok();
	struct diag d;
	diag_init(&d);
	assert_true(store_policy_assign(s, "Client (Respond Only)", true, &d));
	assert_true(store_policy_assign(s, "Secure Server (Require Security)", true, &d));
	struct policy *p;
	size_t n, assigned = 0;
	assert_true(store_policies_load(s, &p, &n, &d));
	for (size_t i = 0; i < n; i++)
		assigned += p[i].assigned;
	assert_int_equal(assigned, 1);
	assert_true(p[2].assigned);
	store_policies_free(p, n);
	/* Deleting the assigned policy leaves none assigned. */
	assert_true(store_policy_delete(s, "Secure Server (Require Security)", &d));
	assert_true(store_policies_load(s, &p, &n, &d));
	assert_int_equal(n, 2);
	assert_false(p[0].assigned || p[1].assigned);
	store_policies_free(p, n);
	store_close(s);
}

static int user_version(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int v = -1;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void test_migration_from_v1(void **state)
{
	(void)state;
	struct diag d;
	diag_init(&d);
	assert_true(store_create_at_version(path, 1, &d));
	assert_int_equal(user_version(), 1);
	struct store *s = open_ok();           /* migrates to the current version */
	assert_int_equal(user_version(), STORE_SCHEMA_VERSION);
	assert_int_equal(store_crypto_profile(s), PROFILE_MODERN);
	struct policy p;
	assert_true(store_policy_get(s, "Client (Respond Only)", &p, &d));  /* data kept */
	policy_free(&p);
	store_close(s);
}

static void test_newer_schema_refused(void **state)
{
	(void)state;
	store_close(open_ok());
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	struct diag d;
	diag_init(&d);
	assert_null(store_open(path, &d));
	assert_int_equal(d.code, ERR_STORE);
	assert_non_null(strstr(d.msg, "newer"));
	assert_int_equal(user_version(), 99);  /* untouched */
}

static void test_damaged_file_refused(void **state)
{
	(void)state;
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 512; i++)
		fputs("this is not a database ", f);
	fclose(f);
	struct stat before, after;
	assert_int_equal(stat(path, &before), 0);
	struct diag d;
	diag_init(&d);
	assert_null(store_open(path, &d));
	assert_int_equal(d.code, ERR_STORE);
	assert_non_null(strstr(d.msg, "not a valid secpol store"));
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(before.st_size, after.st_size);
}

/* Two processes add filters at the same time, one transaction per filter. */
static void writer(const char *list, int n)
{
	struct diag d;
	diag_init(&d);
	struct store *s = store_open(path, &d);
	if (!s)
		_exit(10);
	for (int i = 0; i < n; i++) {
		struct filter f;
		policy_filter_init(&f);
		f.src.kind = ADDR_ME;
		char ip[32];
		snprintf(ip, sizeof(ip), "198.51.100.%d", i % 250 + 1);
		struct diag x;
		diag_init(&x);
		if (policy_parse_address("dstaddr", ip, &f.dst, &x) != ADDR_PARSE_OK)
			_exit(11);
		f.dstport = (uint16_t)(1000 + i);
		f.protocol = 6;
		if (!store_begin(s, &d))
			_exit(12);
		if (!store_filterlist_exists(s, list)) {
			struct filter_list fl;
			memset(&fl, 0, sizeof(fl));
			snprintf(fl.name, sizeof(fl.name), "%s", list);
			if (!store_filterlist_add(s, &fl, &d))
				_exit(13);
		}
		if (!store_filter_add(s, list, &f, &d) || !store_commit(s, &d))
			_exit(14);
	}
	store_close(s);
	_exit(0);
}

static void test_two_processes_write_at_once(void **state)
{
	(void)state;
	store_close(open_ok());
	const int n = 150;
	pid_t a = fork();
	if (a == 0)
		writer("writer A", n);
	pid_t b = fork();
	if (b == 0)
		writer("writer B", n);
	int sa, sb;
	assert_int_equal(waitpid(a, &sa, 0), a);
	assert_int_equal(waitpid(b, &sb, 0), b);
	assert_true(WIFEXITED(sa) && WEXITSTATUS(sa) == 0);
	assert_true(WIFEXITED(sb) && WEXITSTATUS(sb) == 0);
	struct store *s = open_ok();
	struct diag d;
	diag_init(&d);
	struct filter_list fa, fb;
	assert_true(store_filterlist_get(s, "writer A", &fa, &d));
	assert_true(store_filterlist_get(s, "writer B", &fb, &d));
	assert_int_equal(fa.nfilters, n);
	assert_int_equal(fb.nfilters, n);
	policy_filter_list_free(&fa);
	policy_filter_list_free(&fb);
	store_close(s);

	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_store_has_samples_and_mode_0600, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates_and_references, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_assigned_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_processes_write_at_once, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
