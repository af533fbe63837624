/*
 * The store schema and its migrations. Version n is reached by running
 * migrations[1..n] in order; each one is a plain SQL script. Never edit a
 * migration that has shipped: add a new one, so that every store reaches the
 * same schema whatever version it started from.
 */
#include "store/schema.h"

#include <stdio.h>

static const char *const migrations[] = {
	[1] =
	"CREATE TABLE filterlist ("
	"  id INTEGER PRIMARY KEY,"
	"  guid TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  description TEXT NOT NULL,"
	"  modified INTEGER NOT NULL);"
	/* Filters are kept in insertion order (id); identical filters in one
	 * list are refused by the unique key (netsh error 05021). The address
	 * columns hold the policy module's canonical text. */
	"CREATE TABLE filter ("
	"  id INTEGER PRIMARY KEY,"
	"  list INTEGER NOT NULL REFERENCES filterlist(id) ON DELETE CASCADE,"
	"  description TEXT NOT NULL,"
	"  src TEXT NOT NULL, dst TEXT NOT NULL,"
	"  protocol INTEGER NOT NULL, srcport INTEGER NOT NULL, dstport INTEGER NOT NULL,"
	"  mirrored INTEGER NOT NULL,"
	"  UNIQUE (list, src, dst, protocol, srcport, dstport, mirrored));"
	"CREATE TABLE filteraction ("
	"  id INTEGER PRIMARY KEY,"
	"  guid TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  description TEXT NOT NULL,"
	"  modified INTEGER NOT NULL,"
	"  action INTEGER NOT NULL, inpass INTEGER NOT NULL, soft INTEGER NOT NULL,"
	"  qmpfs INTEGER NOT NULL, qmsecmethods TEXT NOT NULL);"
	"CREATE TABLE policy ("
	"  id INTEGER PRIMARY KEY,"
	"  guid TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  description TEXT NOT NULL,"
	"  modified INTEGER NOT NULL,"
	"  assigned INTEGER NOT NULL DEFAULT 0,"
	"  pollinginterval INTEGER NOT NULL, mmpfs INTEGER NOT NULL,"
	"  qmpermm INTEGER NOT NULL, mmlifetime INTEGER NOT NULL,"
	"  mmsecmethods TEXT NOT NULL);"
	/* Only one policy is assigned per store: the database enforces it. */
	"CREATE UNIQUE INDEX policy_one_assigned ON policy(assigned) WHERE assigned = 1;"
	"CREATE TABLE rule ("
	"  id INTEGER PRIMARY KEY,"
	"  policy INTEGER NOT NULL REFERENCES policy(id) ON DELETE CASCADE,"
	"  guid TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL COLLATE NOCASE,"
	"  description TEXT NOT NULL,"
	"  modified INTEGER NOT NULL,"
	"  is_default INTEGER NOT NULL, active INTEGER NOT NULL,"
	"  filterlist INTEGER REFERENCES filterlist(id),"
	"  filteraction INTEGER REFERENCES filteraction(id),"
	"  tunnel TEXT, conntype INTEGER NOT NULL,"
	"  qmpfs INTEGER NOT NULL, qmsecmethods TEXT NOT NULL,"
	"  UNIQUE (policy, name));"
	"CREATE INDEX rule_filterlist ON rule(filterlist);"
	"CREATE INDEX rule_filteraction ON rule(filteraction);"
	"CREATE TABLE auth ("
	"  rule INTEGER NOT NULL REFERENCES rule(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL, kind INTEGER NOT NULL, value TEXT NOT NULL,"
	"  certmap INTEGER NOT NULL, excludecaname INTEGER NOT NULL,"
	"  PRIMARY KEY (rule, seq));",
	/* v2: store-wide settings; the crypto profile picks the defaults of new objects. */
	[2] =
	"CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"INSERT INTO config VALUES ('cryptoprofile', 'modern');",
};

#define LATEST ((int)(sizeof(migrations) / sizeof(migrations[0])) - 1)

bool schema_migrate(sqlite3 *db, int target, bool *fresh, struct diag *d)
{
	sqlite3_stmt *st;
	int version = -1;
	if (target > LATEST)
		target = LATEST;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version < 0)
		return diag_error(d, ERR_STORE, "The IPsec policy store could not be opened: %s.",
		                  sqlite3_errmsg(db));
	if (version > LATEST)
		return diag_error(d, ERR_STORE, "The IPsec policy store could not be opened: its "
		                  "schema version %d is newer than this secpol supports (%d).",
		                  version, LATEST);
	*fresh = version == 0;
	for (int v = version + 1; v <= target; v++) {
		char pragma[48];
		char *err = NULL;
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v);
		if (sqlite3_exec(db, migrations[v], NULL, NULL, &err) != SQLITE_OK ||
		    sqlite3_exec(db, pragma, NULL, NULL, &err) != SQLITE_OK) {
			diag_error(d, ERR_STORE, "The IPsec policy store could not be opened: "
			           "migration to schema version %d failed: %s.", v,
			           err ? err : "unknown error");
			sqlite3_free(err);
			return false;
		}
	}
	return true;
}
