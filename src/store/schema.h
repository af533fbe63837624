/* Private to the store: the schema and its migrations. */
#ifndef SECPOL_STORE_SCHEMA_H
#define SECPOL_STORE_SCHEMA_H

#include <sqlite3.h>
#include <stdbool.h>

#include "policy/diag.h"

/* Reads user_version; migrates from it up to `target` inside the caller's
 * transaction. *fresh says whether the file was empty (needs sample objects). */
bool schema_migrate(sqlite3 *db, int target, bool *fresh, struct diag *d);

#endif
