/*
 * The SQLite policy store. Objects are rows; lists of offers are kept in the
 * policy module's canonical text and parsed back on load, so the one parser
 * in src/policy defines what a stored value means.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/schema.h"

#define STMT_CACHE 48

struct store {
	sqlite3 *db;
	char *path;
	int savepoints;
	struct {
		const char *sql;     /* static strings: compared by address */
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
	size_t ncache;
};

/* ---- statement helpers --------------------------------------------------------- */

static bool db_error(struct store *s, struct diag *d)
{
	return diag_error(d, ERR_STORE, "The IPsec policy store could not be updated: %s.",
	                  sqlite3_errmsg(s->db));
}

/*
 * Returns the cached prepared statement for sql, bound with the arguments
 * described by fmt: 't' text, 'i' int64, 'b' bool/int, 'n' NULL.
 */
static sqlite3_stmt *q(struct store *s, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st = NULL;
	for (size_t i = 0; i < s->ncache; i++)
		if (s->cache[i].sql == sql) {
			st = s->cache[i].st;
			break;
		}
	if (!st) {
		if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
			return NULL;
		if (s->ncache < STMT_CACHE) {
			s->cache[s->ncache].sql = sql;
			s->cache[s->ncache++].st = st;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	va_list ap;
	va_start(ap, fmt);
	for (int i = 1; fmt[i - 1]; i++) {
		switch (fmt[i - 1]) {
		case 't':
			sqlite3_bind_text(st, i, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
			break;
		case 'i':
			sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		case 'b':
			sqlite3_bind_int(st, i, va_arg(ap, int));
			break;
		case 'n':
			sqlite3_bind_null(st, i);
			break;
		}
	}
	va_end(ap);
	return st;
}

/* Runs a statement that returns no rows. */
static bool run(struct store *s, sqlite3_stmt *st, struct diag *d)
{
	if (!st)
		return db_error(s, d);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_error(s, d);
	return true;
}

/* Runs a query for one integer (0 when there is no row). */
static int64_t one_int(struct store *s, sqlite3_stmt *st)
{
	(void)s;
	int64_t v = 0;
	if (st && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	if (st)
		sqlite3_reset(st);
	return v;
}

static void col_text(sqlite3_stmt *st, int col, char *buf, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(buf, len, "%s", t ? (const char *)t : "");
}

static int64_t now(void)
{
	return (int64_t)time(NULL);
}

/* ---- open, transactions --------------------------------------------------------- */

static bool exec(struct store *s, const char *sql, struct diag *d)
{
	char *err = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		diag_error(d, ERR_STORE, "The IPsec policy store could not be updated: %s.",
		           err ? err : sqlite3_errmsg(s->db));
		sqlite3_free(err);
		return false;
	}
	return true;
}

static bool make_parent_dirs(const char *path)
{
	char *dir = strdup(path);
	if (!dir)
		return false;
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			free(dir);
			return false;
		}
		*p = '/';
	}
	free(dir);
	return true;
}

static bool insert_predefined(struct store *s, struct diag *d);

static struct store *open_at(const char *path, int version, struct diag *d)
{
	struct store *s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		diag_error(d, ERR_STORE, "The IPsec policy store could not be opened: out of memory.");
		return NULL;
	}
	/* Create the file ourselves so that it is 0600 from its first byte;
	 * SQLite gives the -wal and -shm files the same mode. */
	if (!make_parent_dirs(path)) {
		diag_error(d, ERR_STORE, "The IPsec policy store could not be opened: %s: %s.",
		           path, strerror(errno));
		goto fail;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		diag_error(d, ERR_STORE, "The IPsec policy store could not be opened: %s: %s.",
		           path, strerror(errno));
		goto fail;
	}
	close(fd);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		diag_error(d, ERR_STORE, "The IPsec policy store could not be opened: %s: %s.",
		           path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 15000);
	sqlite3_extended_result_codes(s->db, 1);
	/* WAL lets readers (the agent) run beside a writer; NORMAL sync keeps
	 * the database consistent on power loss at the cost of the last commits. */
	if (!exec(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
	             "PRAGMA foreign_keys = ON;", d))
		goto fail;
	bool fresh = false;
	if (!store_begin(s, d))
		goto fail;
	if (!schema_migrate(s->db, version, &fresh, d) ||
	    (fresh && version >= 1 && !insert_predefined(s, d))) {
		store_rollback(s);
		goto fail;
	}
	if (!store_commit(s, d))
		goto fail;
	return s;
fail:
	if (d->code == ERR_NONE)
		diag_error(d, ERR_STORE, "The IPsec policy store could not be opened.");
	if (strstr(d->msg, "not a database") || strstr(d->msg, "malformed"))
		snprintf(d->msg, sizeof(d->msg), "The IPsec policy store could not be opened: "
		         "%s is not a valid secpol store (file is not a database or is damaged).",
		         path);
	store_close(s);
	return NULL;
}

struct store *store_open(const char *path, struct diag *d)
{
	return open_at(path, STORE_SCHEMA_VERSION, d);
}

bool store_create_at_version(const char *path, int version, struct diag *d)
{
	struct store *s = open_at(path, version, d);
	store_close(s);
	return s != NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ncache; i++)
		sqlite3_finalize(s->cache[i].st);
	if (s->db && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

const char *store_path(const struct store *s)
{
	return s->path;
}

bool store_begin(struct store *s, struct diag *d)
{
	/* IMMEDIATE takes the write lock now, so two writers queue on the busy
	 * timeout instead of failing on a lock upgrade half way through. */
	s->savepoints = 0;
	return exec(s, "BEGIN IMMEDIATE", d);
}

bool store_begin_read(struct store *s, struct diag *d)
{
	s->savepoints = 0;
	return exec(s, "BEGIN DEFERRED", d);
}

bool store_commit(struct store *s, struct diag *d)
{
	if (exec(s, "COMMIT", d))
		return true;
	store_rollback(s);
	return false;
}

void store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->savepoints = 0;
}

bool store_in_transaction(const struct store *s)
{
	return !sqlite3_get_autocommit(s->db);
}

bool store_savepoint(struct store *s, struct diag *d)
{
	if (!exec(s, "SAVEPOINT command", d))
		return false;
	s->savepoints++;
	return true;
}

void store_savepoint_release(struct store *s)
{
	if (s->savepoints > 0) {
		sqlite3_exec(s->db, "RELEASE command", NULL, NULL, NULL);
		s->savepoints--;
	}
}

void store_savepoint_rollback(struct store *s)
{
	if (s->savepoints > 0) {
		sqlite3_exec(s->db, "ROLLBACK TO command; RELEASE command", NULL, NULL, NULL);
		s->savepoints--;
	}
}

enum crypto_profile store_crypto_profile(struct store *s)
{
	static const char sql[] = "SELECT value = 'legacy' FROM config WHERE key = 'cryptoprofile'";
	return one_int(s, q(s, sql, "")) ? PROFILE_LEGACY : PROFILE_MODERN;
}

/* Service settings (`netsh ipsec dynamic set config`) share the config
 * table with the crypto profile: like Windows' registry values for the
 * IPsec service, they outlive the service. */
bool store_config_get(struct store *s, const char *key, char *value, size_t len)
{
	static const char sql[] = "SELECT value FROM config WHERE key = ?";
	sqlite3_stmt *st = q(s, sql, "t", key);
	bool found = st && sqlite3_step(st) == SQLITE_ROW;
	if (found)
		col_text(st, 0, value, len);
	if (st)
		sqlite3_reset(st);
	return found;
}

bool store_config_set(struct store *s, const char *key, const char *value, struct diag *d)
{
	static const char sql[] = "INSERT INTO config (key, value) VALUES (?, ?) "
	                          "ON CONFLICT (key) DO UPDATE SET value = excluded.value";
	return run(s, q(s, sql, "tt", key, value), d);
}

/* ---- filter lists ------------------------------------------------------------------ */

static const char sql_list_id[] = "SELECT id FROM filterlist WHERE name = ?";

static int64_t list_id(struct store *s, const char *name)
{
	return one_int(s, q(s, sql_list_id, "t", name));
}

bool store_filterlist_exists(struct store *s, const char *name)
{
	return list_id(s, name) != 0;
}

static bool no_list(struct diag *d, const char *name)
{
	return diag_error(d, ERR_NO_FILTERLIST, "Filter list '%s' does not exist.", name);
}

static bool read_filters(struct store *s, int64_t id, struct filter_list *fl, struct diag *d)
{
	static const char sql_n[] = "SELECT count(*) FROM filter WHERE list = ?";
	static const char sql[] =
		"SELECT description, src, dst, protocol, srcport, dstport, mirrored "
		"FROM filter WHERE list = ? ORDER BY id";
	size_t n = (size_t)one_int(s, q(s, sql_n, "i", id));
	fl->filters = n ? calloc(n, sizeof(*fl->filters)) : NULL;
	fl->nfilters = 0;
	if (n && !fl->filters)
		return diag_error(d, ERR_STORE, "Out of memory reading the store.");
	sqlite3_stmt *st = q(s, sql, "i", id);
	if (!st)
		return db_error(s, d);
	char buf[128];
	while (fl->nfilters < n && sqlite3_step(st) == SQLITE_ROW) {
		struct filter *f = &fl->filters[fl->nfilters++];
		col_text(st, 0, f->description, sizeof(f->description));
		col_text(st, 1, buf, sizeof(buf));
		bool ok = policy_address_from_canonical(buf, &f->src);
		col_text(st, 2, buf, sizeof(buf));
		ok = ok && policy_address_from_canonical(buf, &f->dst);
		f->protocol = (uint8_t)sqlite3_column_int(st, 3);
		f->srcport = (uint16_t)sqlite3_column_int(st, 4);
		f->dstport = (uint16_t)sqlite3_column_int(st, 5);
		f->mirrored = sqlite3_column_int(st, 6) != 0;
		if (!ok) {
			sqlite3_reset(st);
			return diag_error(d, ERR_STORE, "The IPsec policy store is damaged: filter "
			                  "list '%s' holds an unreadable address.", fl->name);
		}
	}
	sqlite3_reset(st);
	return true;
}


static void read_list_row(sqlite3_stmt *st, struct filter_list *fl)
{
	memset(fl, 0, sizeof(*fl));
	col_text(st, 1, fl->guid, sizeof(fl->guid));
	col_text(st, 2, fl->name, sizeof(fl->name));
	col_text(st, 3, fl->description, sizeof(fl->description));
	fl->modified = sqlite3_column_int64(st, 4);
}

bool store_filterlist_get(struct store *s, const char *name, struct filter_list *out,
                          struct diag *d)
{
	static const char sql[] =
		"SELECT id, guid, name, description, modified FROM filterlist WHERE name = ?";
	sqlite3_stmt *st = q(s, sql, "t", name);
	if (!st)
		return db_error(s, d);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return no_list(d, name);
	}
	read_list_row(st, out);
	int64_t id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return read_filters(s, id, out, d);
}

static bool duplicate(struct diag *d, const char *kind, const char *name)
{
	return diag_error(d, ERR_DUPLICATE_NAME, "A %s named '%s' already exists.", kind, name);
}

/* A GUID names one object of the store, whatever its kind. */
static bool guid_taken(struct store *s, const char *guid, struct diag *d)
{
	static const char sql[] =
		"SELECT 1 FROM filterlist WHERE guid = ?1 COLLATE NOCASE UNION ALL "
		"SELECT 1 FROM filteraction WHERE guid = ?1 COLLATE NOCASE UNION ALL "
		"SELECT 1 FROM policy WHERE guid = ?1 COLLATE NOCASE UNION ALL "
		"SELECT 1 FROM rule WHERE guid = ?1 COLLATE NOCASE";
	if (!one_int(s, q(s, sql, "t", guid)))
		return false;
	return !diag_error(d, ERR_DUPLICATE_NAME, "An object with GUID %s already exists.", guid);
}

static bool set_guid(struct store *s, const char *sql, const char *old_guid,
                     const char *new_guid, struct diag *d)
{
	if (strcasecmp(old_guid, new_guid) == 0)
		return true;
	return !guid_taken(s, new_guid, d) && run(s, q(s, sql, "tt", new_guid, old_guid), d);
}

bool store_filterlist_set_guid(struct store *s, const char *old_guid, const char *new_guid,
                               struct diag *d)
{
	static const char sql[] = "UPDATE filterlist SET guid = ? WHERE guid = ?";
	return set_guid(s, sql, old_guid, new_guid, d);
}

bool store_filteraction_set_guid(struct store *s, const char *old_guid, const char *new_guid,
                                 struct diag *d)
{
	static const char sql[] = "UPDATE filteraction SET guid = ? WHERE guid = ?";
	return set_guid(s, sql, old_guid, new_guid, d);
}

bool store_filterlist_add(struct store *s, struct filter_list *fl, struct diag *d)
{
	static const char sql[] =
		"INSERT INTO filterlist (guid, name, description, modified) VALUES (?, ?, ?, ?)";
	if (list_id(s, fl->name))
		return duplicate(d, "filter list", fl->name);
	if (!fl->guid[0])
		policy_new_guid(fl->guid);
	else if (guid_taken(s, fl->guid, d))
		return false;
	fl->modified = now();
	return run(s, q(s, sql, "ttti", fl->guid, fl->name, fl->description, fl->modified), d);
}

bool store_filterlist_update(struct store *s, struct filter_list *fl, struct diag *d)
{
	static const char sql_other[] = "SELECT id FROM filterlist WHERE name = ? AND guid <> ?";
	static const char sql[] =
		"UPDATE filterlist SET name = ?, description = ?, modified = ? WHERE guid = ?";
	if (one_int(s, q(s, sql_other, "tt", fl->name, fl->guid)))
		return duplicate(d, "filter list", fl->name);
	fl->modified = now();
	return run(s, q(s, sql, "ttit", fl->name, fl->description, fl->modified, fl->guid), d);
}

static bool in_use(struct store *s, const char *sql, const char *name, char *rule,
                   char *policy, size_t len)
{
	sqlite3_stmt *st = q(s, sql, "t", name);
	bool used = st && sqlite3_step(st) == SQLITE_ROW;
	if (used) {
		col_text(st, 0, rule, len);
		col_text(st, 1, policy, len);
	}
	if (st)
		sqlite3_reset(st);
	return used;
}

bool store_filterlist_in_use(struct store *s, const char *name, char *rule,
                             char *policy, size_t len)
{
	static const char sql[] =
		"SELECT r.name, p.name FROM rule r JOIN policy p ON p.id = r.policy "
		"JOIN filterlist l ON l.id = r.filterlist WHERE l.name = ? ORDER BY p.id, r.id LIMIT 1";
	return in_use(s, sql, name, rule, policy, len);
}

bool store_filteraction_in_use(struct store *s, const char *name, char *rule,
                               char *policy, size_t len)
{
	static const char sql[] =
		"SELECT r.name, p.name FROM rule r JOIN policy p ON p.id = r.policy "
		"JOIN filteraction a ON a.id = r.filteraction WHERE a.name = ? ORDER BY p.id, r.id LIMIT 1";
	return in_use(s, sql, name, rule, policy, len);
}

static bool refuse_in_use(struct diag *d, const char *name, const char *rule,
                          const char *policy)
{
	return diag_error(d, ERR_IN_USE, "'%s' is used by rule '%s' in policy '%s' and "
	                  "cannot be deleted.", name, rule, policy);
}

bool store_filterlist_delete(struct store *s, const char *name, struct diag *d)
{
	static const char sql[] = "DELETE FROM filterlist WHERE id = ?";
	char rule[POLICY_NAME_MAX], policy[POLICY_NAME_MAX];
	int64_t id = list_id(s, name);
	if (!id)
		return no_list(d, name);
	if (store_filterlist_in_use(s, name, rule, policy, sizeof(rule)))
		return refuse_in_use(d, name, rule, policy);
	return run(s, q(s, sql, "i", id), d);
}

static bool touch_list(struct store *s, int64_t id, struct diag *d)
{
	static const char sql[] = "UPDATE filterlist SET modified = ? WHERE id = ?";
	return run(s, q(s, sql, "ii", now(), id), d);
}

bool store_filterlist_clear(struct store *s, const char *name, struct diag *d)
{
	static const char sql[] = "DELETE FROM filter WHERE list = ?";
	int64_t id = list_id(s, name);
	if (!id)
		return no_list(d, name);
	return run(s, q(s, sql, "i", id), d) && touch_list(s, id, d);
}

bool store_filter_add(struct store *s, const char *list, const struct filter *f,
                      struct diag *d)
{
	static const char sql[] =
		"INSERT OR IGNORE INTO filter (list, description, src, dst, protocol, srcport, "
		"dstport, mirrored) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
	char src[128], dst[128];
	int64_t id = list_id(s, list);
	if (!id)
		return no_list(d, list);
	policy_format_address(&f->src, src, sizeof(src));
	policy_format_address(&f->dst, dst, sizeof(dst));
	if (!run(s, q(s, sql, "itttiiib", id, f->description, src, dst, (int64_t)f->protocol,
	              (int64_t)f->srcport, (int64_t)f->dstport, (int)f->mirrored), d))
		return false;
	if (sqlite3_changes(s->db) == 0)
		return diag_error(d, ERR_DUPLICATE_FILTER,
		                  "An identical filter already exists in '%s'.", list);
	return touch_list(s, id, d);
}

size_t store_filter_delete(struct store *s, const char *list,
                           const struct filter_pattern *p, struct diag *d)
{
	static const char sql[] = "DELETE FROM filter WHERE list = ? AND id = ?";
	struct filter_list fl;
	size_t deleted = 0;
	int64_t id = list_id(s, list);
	if (!id)
		return no_list(d, list), 0;
	/* Match in the model (policy_filter_matches), delete by row id: the rows
	 * come back in the same order as read_filters returned them. */
	static const char sql_ids[] = "SELECT id FROM filter WHERE list = ? ORDER BY id";
	if (!store_filterlist_get(s, list, &fl, d))
		return 0;
	int64_t *ids = fl.nfilters ? calloc(fl.nfilters, sizeof(*ids)) : NULL;
	sqlite3_stmt *st = q(s, sql_ids, "i", id);
	for (size_t i = 0; ids && st && i < fl.nfilters && sqlite3_step(st) == SQLITE_ROW; i++)
		ids[i] = sqlite3_column_int64(st, 0);
	if (st)
		sqlite3_reset(st);
	for (size_t i = 0; ids && i < fl.nfilters; i++) {
		if (!policy_filter_matches(&fl.filters[i], p))
			continue;
		if (!run(s, q(s, sql, "ii", id, ids[i]), d)) {
			deleted = 0;
			break;
		}
		deleted++;
	}
	free(ids);
	policy_filter_list_free(&fl);
	if (diag_failed(d))
		return 0;
	if (deleted == 0) {
		diag_error(d, ERR_NO_FILTER, "No filter in '%s' matches the given specification.",
		           list);
		return 0;
	}
	return touch_list(s, id, d) ? deleted : 0;
}

bool store_filterlists_load(struct store *s, struct filter_list **out, size_t *n,
                            struct diag *d)
{
	static const char sql_n[] = "SELECT count(*) FROM filterlist";
	static const char sql[] =
		"SELECT id, guid, name, description, modified FROM filterlist ORDER BY id";
	size_t cap = (size_t)one_int(s, q(s, sql_n, ""));
	*out = cap ? calloc(cap, sizeof(**out)) : NULL;
	*n = 0;
	if (cap && !*out)
		return diag_error(d, ERR_STORE, "Out of memory reading the store.");
	int64_t *ids = cap ? calloc(cap, sizeof(*ids)) : NULL;
	sqlite3_stmt *st = q(s, sql, "");
	while (st && ids && *n < cap && sqlite3_step(st) == SQLITE_ROW) {
		read_list_row(st, &(*out)[*n]);
		ids[(*n)++] = sqlite3_column_int64(st, 0);
	}
	if (st)
		sqlite3_reset(st);
	bool ok = true;
	for (size_t i = 0; ok && i < *n; i++)
		ok = read_filters(s, ids[i], &(*out)[i], d);
	free(ids);
	if (!ok) {
		store_filterlists_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return ok;
}

void store_filterlists_free(struct filter_list *fl, size_t n)
{
	for (size_t i = 0; i < n; i++)
		policy_filter_list_free(&fl[i]);
	free(fl);
}

/* ---- filter actions ---------------------------------------------------------------- */

static const char sql_action_id[] = "SELECT id FROM filteraction WHERE name = ?";

static bool read_action_row(sqlite3_stmt *st, struct filter_action *fa, struct diag *d)
{
	char methods[2048];
	memset(fa, 0, sizeof(*fa));
	col_text(st, 0, fa->guid, sizeof(fa->guid));
	col_text(st, 1, fa->name, sizeof(fa->name));
	col_text(st, 2, fa->description, sizeof(fa->description));
	fa->modified = sqlite3_column_int64(st, 3);
	fa->action = (enum filter_action_kind)sqlite3_column_int(st, 4);
	fa->inpass = sqlite3_column_int(st, 5) != 0;
	fa->soft = sqlite3_column_int(st, 6) != 0;
	fa->qmpfs = sqlite3_column_int(st, 7) != 0;
	col_text(st, 8, methods, sizeof(methods));
	struct diag quiet;
	diag_init(&quiet);
	if (methods[0] && !policy_parse_qmsec("qmsecmethods", methods, &fa->methods, &quiet))
		return diag_error(d, ERR_STORE, "The IPsec policy store is damaged: filter action "
		                  "'%s' holds unreadable security methods.", fa->name);
	return true;
}

#define ACTION_COLS "guid, name, description, modified, action, inpass, soft, qmpfs, qmsecmethods"

bool store_filteraction_get(struct store *s, const char *name, struct filter_action *out,
                            struct diag *d)
{
	static const char sql[] = "SELECT " ACTION_COLS " FROM filteraction WHERE name = ?";
	sqlite3_stmt *st = q(s, sql, "t", name);
	if (!st)
		return db_error(s, d);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	bool ok = found && read_action_row(st, out, d);
	sqlite3_reset(st);
	if (!found)
		return diag_error(d, ERR_NO_FILTERACTION, "Filter action '%s' does not exist.", name);
	return ok;
}

bool store_filteraction_add(struct store *s, struct filter_action *fa, struct diag *d)
{
	static const char sql[] = "INSERT INTO filteraction (" ACTION_COLS ") "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
	char methods[2048];
	if (one_int(s, q(s, sql_action_id, "t", fa->name)))
		return duplicate(d, "filter action", fa->name);
	if (!fa->guid[0])
		policy_new_guid(fa->guid);
	else if (guid_taken(s, fa->guid, d))
		return false;
	fa->modified = now();
	policy_format_qmsec(&fa->methods, methods, sizeof(methods));
	return run(s, q(s, sql, "tttibbbbt", fa->guid, fa->name, fa->description, fa->modified,
	                (int)fa->action, (int)fa->inpass, (int)fa->soft, (int)fa->qmpfs,
	                methods), d);
}

bool store_filteraction_update(struct store *s, struct filter_action *fa, struct diag *d)
{
	static const char sql_other[] = "SELECT id FROM filteraction WHERE name = ? AND guid <> ?";
	static const char sql[] = "UPDATE filteraction SET name = ?, description = ?, "
		"modified = ?, action = ?, inpass = ?, soft = ?, qmpfs = ?, qmsecmethods = ? "
		"WHERE guid = ?";
	char methods[2048];
	if (one_int(s, q(s, sql_other, "tt", fa->name, fa->guid)))
		return duplicate(d, "filter action", fa->name);
	fa->modified = now();
	policy_format_qmsec(&fa->methods, methods, sizeof(methods));
	return run(s, q(s, sql, "ttibbbbtt", fa->name, fa->description, fa->modified,
	                (int)fa->action, (int)fa->inpass, (int)fa->soft, (int)fa->qmpfs,
	                methods, fa->guid), d);
}

bool store_filteraction_delete(struct store *s, const char *name, struct diag *d)
{
	static const char sql[] = "DELETE FROM filteraction WHERE id = ?";
	char rule[POLICY_NAME_MAX], policy[POLICY_NAME_MAX];
	int64_t id = one_int(s, q(s, sql_action_id, "t", name));
	if (!id)
		return diag_error(d, ERR_NO_FILTERACTION, "Filter action '%s' does not exist.", name);
	if (store_filteraction_in_use(s, name, rule, policy, sizeof(rule)))
		return refuse_in_use(d, name, rule, policy);
	return run(s, q(s, sql, "i", id), d);
}

bool store_filteractions_load(struct store *s, struct filter_action **out, size_t *n,
                              struct diag *d)
{
	static const char sql_n[] = "SELECT count(*) FROM filteraction";
	static const char sql[] = "SELECT " ACTION_COLS " FROM filteraction ORDER BY id";
	size_t cap = (size_t)one_int(s, q(s, sql_n, ""));
	*out = cap ? calloc(cap, sizeof(**out)) : NULL;
	*n = 0;
	if (cap && !*out)
		return diag_error(d, ERR_STORE, "Out of memory reading the store.");
	sqlite3_stmt *st = q(s, sql, "");
	bool ok = st != NULL;
	while (ok && *n < cap && sqlite3_step(st) == SQLITE_ROW)
		ok = read_action_row(st, &(*out)[(*n)++], d);
	if (st)
		sqlite3_reset(st);
	if (!ok) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return ok;
}

/* ---- rules ----------------------------------------------------------------------------- */

static const char sql_policy_id[] = "SELECT id FROM policy WHERE name = ?";

static bool write_auth(struct store *s, int64_t rule, const struct auth_methods *am,
                       struct diag *d)
{
	static const char sql_del[] = "DELETE FROM auth WHERE rule = ?";
	static const char sql[] = "INSERT INTO auth (rule, seq, kind, value, certmap, "
		"excludecaname) VALUES (?, ?, ?, ?, ?, ?)";
	if (!run(s, q(s, sql_del, "i", rule), d))
		return false;
	for (size_t i = 0; i < am->n; i++)
		if (!run(s, q(s, sql, "iibtbb", rule, (int64_t)i, (int)am->m[i].kind, am->m[i].value,
		              (int)am->m[i].certmap, (int)am->m[i].excludecaname), d))
			return false;
	return true;
}

/* Resolves the rule's filter list and filter action names to row ids. */
static bool rule_refs(struct store *s, const struct rule *r, int64_t *fl, int64_t *fa,
                      struct diag *d)
{
	*fl = *fa = 0;
	if (r->is_default)
		return true;
	if (!(*fl = list_id(s, r->filterlist)))
		return no_list(d, r->filterlist);
	if (!(*fa = one_int(s, q(s, sql_action_id, "t", r->filteraction))))
		return diag_error(d, ERR_NO_FILTERACTION, "Filter action '%s' does not exist.",
		                  r->filteraction);
	return true;
}

static void tunnel_text(const struct rule *r, char *buf, size_t len)
{
	if (r->has_tunnel)
		policy_format_ip(&r->tunnel, buf, len);
	else
		buf[0] = '\0';
}

static bool rule_name_taken(struct store *s, int64_t policy, const struct rule *r)
{
	static const char sql[] = "SELECT id FROM rule WHERE policy = ? AND name = ? AND guid <> ?";
	return one_int(s, q(s, sql, "itt", policy, r->name, r->guid)) != 0;
}

static bool insert_rule(struct store *s, int64_t policy, const char *policy_name,
                        struct rule *r, struct diag *d)
{
	static const char sql[] = "INSERT INTO rule (policy, guid, name, description, modified, "
		"is_default, active, filterlist, filteraction, tunnel, conntype, qmpfs, qmsecmethods) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	int64_t fl, fa;
	char tunnel[64], methods[2048];
	if (!r->guid[0])
		policy_new_guid(r->guid);
	else if (guid_taken(s, r->guid, d))
		return false;
	if (rule_name_taken(s, policy, r))
		return diag_error(d, ERR_DUPLICATE_NAME, "A rule named '%s' already exists in "
		                  "policy '%s'.", r->name, policy_name);
	if (!rule_refs(s, r, &fl, &fa, d))
		return false;
	r->modified = now();
	tunnel_text(r, tunnel, sizeof(tunnel));
	policy_format_qmsec(&r->methods, methods, sizeof(methods));
	sqlite3_stmt *st = q(s, sql, "itttibbiitbbt", policy, r->guid, r->name, r->description,
	                     r->modified, (int)r->is_default, (int)r->active, fl, fa, tunnel,
	                     (int)r->conntype, (int)r->qmpfs, methods);
	if (st && r->is_default) {
		sqlite3_bind_null(st, 8);
		sqlite3_bind_null(st, 9);
	}
	if (!run(s, st, d))
		return false;
	return write_auth(s, sqlite3_last_insert_rowid(s->db), &r->auth, d);
}

bool store_rule_add(struct store *s, const char *policy, struct rule *r, struct diag *d)
{
	int64_t pid = one_int(s, q(s, sql_policy_id, "t", policy));
	if (!pid)
		return diag_error(d, ERR_NO_POLICY, "Policy '%s' does not exist in the current store.",
		                  policy);
	return insert_rule(s, pid, policy, r, d);
}

bool store_rule_update(struct store *s, const char *policy, struct rule *r, struct diag *d)
{
	static const char sql_id[] = "SELECT id FROM rule WHERE guid = ?";
	static const char sql[] = "UPDATE rule SET name = ?, description = ?, modified = ?, "
		"active = ?, filterlist = ?, filteraction = ?, tunnel = ?, conntype = ?, qmpfs = ?, "
		"qmsecmethods = ? WHERE guid = ?";
	int64_t pid = one_int(s, q(s, sql_policy_id, "t", policy));
	int64_t rid = one_int(s, q(s, sql_id, "t", r->guid));
	int64_t fl, fa;
	char tunnel[64], methods[2048];
	if (!pid || !rid)
		return diag_error(d, ERR_NO_RULE, "Rule '%s' does not exist in policy '%s'.",
		                  r->name, policy);
	if (rule_name_taken(s, pid, r))
		return diag_error(d, ERR_DUPLICATE_NAME, "A rule named '%s' already exists in "
		                  "policy '%s'.", r->name, policy);
	if (!rule_refs(s, r, &fl, &fa, d))
		return false;
	r->modified = now();
	tunnel_text(r, tunnel, sizeof(tunnel));
	policy_format_qmsec(&r->methods, methods, sizeof(methods));
	sqlite3_stmt *st = q(s, sql, "ttibiitbbtt", r->name, r->description, r->modified,
	                     (int)r->active, fl, fa, tunnel, (int)r->conntype, (int)r->qmpfs,
	                     methods, r->guid);
	if (st && r->is_default) {
		sqlite3_bind_null(st, 5);
		sqlite3_bind_null(st, 6);
	}
	return run(s, st, d) && write_auth(s, rid, &r->auth, d) &&
	       run(s, q(s, "UPDATE policy SET modified = ? WHERE id = ?", "ii", now(), pid), d);
}

bool store_rule_delete(struct store *s, const char *policy, const char *rule_guid,
                       struct diag *d)
{
	static const char sql[] = "DELETE FROM rule WHERE guid = ? AND is_default = 0";
	(void)policy;
	if (!run(s, q(s, sql, "t", rule_guid), d))
		return false;
	if (sqlite3_changes(s->db) == 0)
		return diag_error(d, ERR_DEFAULT_RULE, "The default response rule cannot be "
		                  "deleted; use activate=no.");
	return true;
}

static bool read_rules(struct store *s, int64_t pid, struct policy *p, struct diag *d)
{
	static const char sql_n[] = "SELECT count(*) FROM rule WHERE policy = ?";
	static const char sql[] =
		"SELECT r.id, r.guid, r.name, r.description, r.modified, r.is_default, r.active, "
		"l.name, a.name, r.tunnel, r.conntype, r.qmpfs, r.qmsecmethods "
		"FROM rule r LEFT JOIN filterlist l ON l.id = r.filterlist "
		"LEFT JOIN filteraction a ON a.id = r.filteraction "
		"WHERE r.policy = ? ORDER BY r.is_default, r.id";
	static const char sql_auth[] = "SELECT kind, value, certmap, excludecaname FROM auth "
		"WHERE rule = ? ORDER BY seq";
	size_t cap = (size_t)one_int(s, q(s, sql_n, "i", pid));
	p->rules = cap ? calloc(cap, sizeof(*p->rules)) : NULL;
	p->nrules = 0;
	if (cap && !p->rules)
		return diag_error(d, ERR_STORE, "Out of memory reading the store.");
	int64_t *ids = cap ? calloc(cap, sizeof(*ids)) : NULL;
	sqlite3_stmt *st = q(s, sql, "i", pid);
	bool ok = st && (ids || !cap);
	char buf[2048];
	while (ok && p->nrules < cap && sqlite3_step(st) == SQLITE_ROW) {
		struct rule *r = &p->rules[p->nrules];
		ids[p->nrules++] = sqlite3_column_int64(st, 0);
		r->id = (unsigned)p->nrules;
		col_text(st, 1, r->guid, sizeof(r->guid));
		col_text(st, 2, r->name, sizeof(r->name));
		col_text(st, 3, r->description, sizeof(r->description));
		r->modified = sqlite3_column_int64(st, 4);
		r->is_default = sqlite3_column_int(st, 5) != 0;
		r->active = sqlite3_column_int(st, 6) != 0;
		col_text(st, 7, r->filterlist, sizeof(r->filterlist));
		col_text(st, 8, r->filteraction, sizeof(r->filteraction));
		col_text(st, 9, buf, sizeof(buf));
		r->has_tunnel = buf[0] != '\0';
		if (r->has_tunnel && !policy_parse_ip(buf, &r->tunnel))
			ok = diag_error(d, ERR_STORE, "The IPsec policy store is damaged: rule '%s' "
			                "has an unreadable tunnel endpoint.", r->name);
		r->conntype = (enum conn_type)sqlite3_column_int(st, 10);
		r->qmpfs = sqlite3_column_int(st, 11) != 0;
		col_text(st, 12, buf, sizeof(buf));
		struct diag quiet;
		diag_init(&quiet);
		if (buf[0] && !policy_parse_qmsec("qmsecmethods", buf, &r->methods, &quiet))
			ok = diag_error(d, ERR_STORE, "The IPsec policy store is damaged: rule '%s' "
			                "holds unreadable security methods.", r->name);
	}
	if (st)
		sqlite3_reset(st);
	for (size_t i = 0; ok && i < p->nrules; i++) {
		struct rule *r = &p->rules[i];
		st = q(s, sql_auth, "i", ids[i]);
		while (st && r->auth.n < POLICY_MAX_AUTH && sqlite3_step(st) == SQLITE_ROW) {
			struct auth_method *m = &r->auth.m[r->auth.n++];
			m->kind = (enum auth_kind)sqlite3_column_int(st, 0);
			col_text(st, 1, m->value, sizeof(m->value));
			m->certmap = sqlite3_column_int(st, 2) != 0;
			m->excludecaname = sqlite3_column_int(st, 3) != 0;
		}
		if (st)
			sqlite3_reset(st);
	}
	free(ids);
	if (!ok)
		policy_free(p);
	return ok;
}

/* ---- policies -------------------------------------------------------------------------- */

#define POLICY_COLS "id, guid, name, description, modified, assigned, pollinginterval, " \
	"mmpfs, qmpermm, mmlifetime, mmsecmethods"

static bool read_policy_row(struct store *s, sqlite3_stmt *st, struct policy *p,
                            int64_t *id, struct diag *d)
{
	char methods[2048];
	memset(p, 0, sizeof(*p));
	*id = sqlite3_column_int64(st, 0);
	col_text(st, 1, p->guid, sizeof(p->guid));
	col_text(st, 2, p->name, sizeof(p->name));
	col_text(st, 3, p->description, sizeof(p->description));
	p->modified = sqlite3_column_int64(st, 4);
	p->assigned = sqlite3_column_int(st, 5) != 0;
	p->pollinginterval = (uint32_t)sqlite3_column_int64(st, 6);
	p->mmpfs = sqlite3_column_int(st, 7) != 0;
	p->qmpermm = (uint32_t)sqlite3_column_int64(st, 8);
	p->mmlifetime = (uint32_t)sqlite3_column_int64(st, 9);
	col_text(st, 10, methods, sizeof(methods));
	struct diag quiet;
	diag_init(&quiet);
	(void)s;
	if (!policy_parse_mmsec("mmsecmethods", methods, &p->mm, &quiet))
		return diag_error(d, ERR_STORE, "The IPsec policy store is damaged: policy '%s' "
		                  "holds unreadable main-mode security methods.", p->name);
	return true;
}

static bool policy_get_where(struct store *s, const char *sql, const char *key,
                             struct policy *out, struct diag *d)
{
	int64_t id = 0;
	sqlite3_stmt *st = q(s, sql, "t", key);
	if (!st)
		return db_error(s, d);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	bool ok = found && read_policy_row(s, st, out, &id, d);
	sqlite3_reset(st);
	if (!found)
		return diag_error(d, ERR_NO_POLICY, "Policy '%s' does not exist in the current store.",
		                  key);
	return ok && read_rules(s, id, out, d);
}

bool store_policy_get(struct store *s, const char *name, struct policy *out, struct diag *d)
{
	static const char sql[] = "SELECT " POLICY_COLS " FROM policy WHERE name = ?";
	return policy_get_where(s, sql, name, out, d);
}

bool store_policy_get_by_guid(struct store *s, const char *guid, struct policy *out,
                              struct diag *d)
{
	static const char sql[] = "SELECT " POLICY_COLS " FROM policy WHERE guid = ? COLLATE NOCASE";
	return policy_get_where(s, sql, guid, out, d);
}

bool store_policy_add(struct store *s, struct policy *p, struct diag *d)
{
	static const char sql[] = "INSERT INTO policy (guid, name, description, modified, "
		"assigned, pollinginterval, mmpfs, qmpermm, mmlifetime, mmsecmethods) "
		"VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?)";
	char methods[1024];
	if (one_int(s, q(s, sql_policy_id, "t", p->name)))
		return duplicate(d, "policy", p->name);
	if (!p->guid[0])
		policy_new_guid(p->guid);
	else if (guid_taken(s, p->guid, d))
		return false;
	p->modified = now();
	policy_format_mmsec(&p->mm, methods, sizeof(methods));
	if (!run(s, q(s, sql, "tttiibiit", p->guid, p->name, p->description, p->modified,
	              (int64_t)p->pollinginterval, (int)p->mmpfs, (int64_t)p->qmpermm,
	              (int64_t)p->mmlifetime, methods), d))
		return false;
	int64_t pid = sqlite3_last_insert_rowid(s->db);
	struct rule def;
	if (p->nrules && p->rules[p->nrules - 1].is_default)
		def = p->rules[p->nrules - 1];
	else
		policy_default_rule_init(&def, store_crypto_profile(s));
	def.guid[0] = '\0';
	bool ok = insert_rule(s, pid, p->name, &def, d);
	explicit_bzero(&def, sizeof(def));
	if (ok && p->assigned)
		ok = store_policy_assign(s, p->name, true, d);
	return ok;
}

bool store_policy_update(struct store *s, struct policy *p, struct diag *d)
{
	static const char sql_other[] = "SELECT id FROM policy WHERE name = ? AND guid <> ?";
	static const char sql[] = "UPDATE policy SET name = ?, description = ?, modified = ?, "
		"pollinginterval = ?, mmpfs = ?, qmpermm = ?, mmlifetime = ?, mmsecmethods = ? "
		"WHERE guid = ?";
	char methods[1024];
	if (one_int(s, q(s, sql_other, "tt", p->name, p->guid)))
		return duplicate(d, "policy", p->name);
	p->modified = now();
	policy_format_mmsec(&p->mm, methods, sizeof(methods));
	return run(s, q(s, sql, "ttiibiitt", p->name, p->description, p->modified,
	                (int64_t)p->pollinginterval, (int)p->mmpfs, (int64_t)p->qmpermm,
	                (int64_t)p->mmlifetime, methods, p->guid), d);
}

bool store_policy_delete(struct store *s, const char *name, struct diag *d)
{
	static const char sql[] = "DELETE FROM policy WHERE id = ?";
	int64_t id = one_int(s, q(s, sql_policy_id, "t", name));
	if (!id)
		return diag_error(d, ERR_NO_POLICY, "Policy '%s' does not exist in the current store.",
		                  name);
	/* Deleting the assigned policy unassigns it with it; its rules, default
	 * rule and authentication methods go by cascade. */
	return run(s, q(s, sql, "i", id), d);
}

bool store_policy_assign(struct store *s, const char *name, bool assign, struct diag *d)
{
	static const char sql_clear[] = "UPDATE policy SET assigned = 0 WHERE assigned = 1";
	static const char sql_set[] = "UPDATE policy SET assigned = 1 WHERE id = ?";
	static const char sql_unset[] = "UPDATE policy SET assigned = 0 WHERE id = ?";
	int64_t id = one_int(s, q(s, sql_policy_id, "t", name));
	if (!id)
		return diag_error(d, ERR_NO_POLICY, "Policy '%s' does not exist in the current store.",
		                  name);
	if (!assign)
		return run(s, q(s, sql_unset, "i", id), d);
	return run(s, q(s, sql_clear, ""), d) && run(s, q(s, sql_set, "i", id), d);
}

bool store_policies_load(struct store *s, struct policy **out, size_t *n, struct diag *d)
{
	static const char sql_n[] = "SELECT count(*) FROM policy";
	static const char sql[] = "SELECT " POLICY_COLS " FROM policy ORDER BY id";
	size_t cap = (size_t)one_int(s, q(s, sql_n, ""));
	*out = cap ? calloc(cap, sizeof(**out)) : NULL;
	*n = 0;
	if (cap && !*out)
		return diag_error(d, ERR_STORE, "Out of memory reading the store.");
	int64_t *ids = cap ? calloc(cap, sizeof(*ids)) : NULL;
	sqlite3_stmt *st = q(s, sql, "");
	bool ok = st && (ids || !cap);
	while (ok && *n < cap && sqlite3_step(st) == SQLITE_ROW) {
		ok = read_policy_row(s, st, &(*out)[*n], &ids[*n], d);
		(*n)++;
	}
	if (st)
		sqlite3_reset(st);
	for (size_t i = 0; ok && i < *n; i++)
		ok = read_rules(s, ids[i], &(*out)[i], d);
	free(ids);
	if (!ok) {
		store_policies_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return ok;
}

void store_policies_free(struct policy *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		policy_free(&p[i]);
	free(p);
}

bool store_delete_all(struct store *s, struct diag *d)
{
	return exec(s, "DELETE FROM policy; DELETE FROM filterlist; DELETE FROM filteraction;", d);
}

/* ---- sample objects -------------------------------------------------------------------- */

static bool insert_predefined(struct store *s, struct diag *d)
{
	const struct filter_list *fl;
	const struct filter_action *fa;
	const struct policy *pol;
	size_t n = policy_predefined_filter_lists(&fl);
	for (size_t i = 0; i < n; i++) {
		struct filter_list copy = fl[i];
		if (!store_filterlist_add(s, &copy, d))
			return false;
		for (size_t j = 0; j < fl[i].nfilters; j++)
			if (!store_filter_add(s, fl[i].name, &fl[i].filters[j], d))
				return false;
	}
	n = policy_predefined_filter_actions(&fa);
	for (size_t i = 0; i < n; i++) {
		struct filter_action copy = fa[i];
		if (!store_filteraction_add(s, &copy, d))
			return false;
	}
	n = policy_predefined_policies(&pol);
	for (size_t i = 0; i < n; i++) {
		struct policy copy = pol[i];
		copy.rules = NULL;
		copy.nrules = 0;
		/* The default response rule goes in with store_policy_add. */
		struct rule def = pol[i].rules[pol[i].nrules - 1];
		copy.rules = &def;
		copy.nrules = 1;
		if (!store_policy_add(s, &copy, d))
			return false;
		for (size_t j = 0; j + 1 < pol[i].nrules; j++) {
			struct rule r = pol[i].rules[j];
			if (!store_rule_add(s, pol[i].name, &r, d))
				return false;
		}
	}
	return true;
}
