/*
 * store — the local policy store (the Windows "registry" store): policies,
 * rules, filter lists and filter actions in one SQLite database.
 *
 * The file is created mode 0600 (it holds preshared keys) with the three
 * predefined sample policies. The schema is versioned (PRAGMA user_version)
 * and migrated forward on open; a file from a newer secpol is refused.
 *
 * Every change happens inside a transaction that the caller opens with
 * store_begin(): a failed command is rolled back and leaves the file as it
 * was. Writers from several processes are serialised by SQLite's write lock
 * (BEGIN IMMEDIATE with a busy timeout). Objects are addressed by name
 * (case-insensitive, as netsh does) or, for updates, by GUID.
 */
#ifndef SECPOL_STORE_H
#define SECPOL_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/policy.h"

#define STORE_DEFAULT_PATH "/var/lib/secpol/policy.db"
#define STORE_SCHEMA_VERSION 2

struct store;

/* Opens (creating and migrating when needed) the store at path. */
struct store *store_open(const char *path, struct diag *d);
void store_close(struct store *s);
const char *store_path(const struct store *s);
/* Opens an existing file at exactly schema version `version` (tests of migrations). */
bool store_create_at_version(const char *path, int version, struct diag *d);

/* Transactions. A savepoint inside the transaction makes one command atomic. */
bool store_begin(struct store *s, struct diag *d);        /* for writing */
bool store_begin_read(struct store *s, struct diag *d);   /* a consistent snapshot */
bool store_commit(struct store *s, struct diag *d);
void store_rollback(struct store *s);
bool store_in_transaction(const struct store *s);
bool store_savepoint(struct store *s, struct diag *d);
void store_savepoint_release(struct store *s);
void store_savepoint_rollback(struct store *s);

enum crypto_profile store_crypto_profile(struct store *s);
/* Store-wide settings by key (the crypto profile, the service's `set config`
 * properties). get: false when the key is not set. set: in a transaction. */
bool store_config_get(struct store *s, const char *key, char *value, size_t len);
bool store_config_set(struct store *s, const char *key, const char *value, struct diag *d);

/* Filter lists and filters. */
bool store_filterlist_get(struct store *s, const char *name, struct filter_list *out,
                          struct diag *d);         /* with filters; free with policy_filter_list_free */
bool store_filterlist_exists(struct store *s, const char *name);
bool store_filterlist_add(struct store *s, struct filter_list *fl, struct diag *d);
bool store_filterlist_update(struct store *s, struct filter_list *fl, struct diag *d);
bool store_filterlist_delete(struct store *s, const char *name, struct diag *d);
bool store_filterlist_clear(struct store *s, const char *name, struct diag *d);
bool store_filter_add(struct store *s, const char *list, const struct filter *f,
                      struct diag *d);
/* Deletes every filter of `list` matching p; returns how many (0 = error 05014). */
size_t store_filter_delete(struct store *s, const char *list,
                           const struct filter_pattern *p, struct diag *d);
bool store_filterlists_load(struct store *s, struct filter_list **out, size_t *n,
                            struct diag *d);
void store_filterlists_free(struct filter_list *fl, size_t n);

/* Filter actions. */
bool store_filteraction_get(struct store *s, const char *name, struct filter_action *out,
                            struct diag *d);
bool store_filteraction_add(struct store *s, struct filter_action *fa, struct diag *d);
bool store_filteraction_update(struct store *s, struct filter_action *fa, struct diag *d);
bool store_filteraction_delete(struct store *s, const char *name, struct diag *d);
bool store_filteractions_load(struct store *s, struct filter_action **out, size_t *n,
                              struct diag *d);

/* Policies (with their rules; the default response rule is last). */
bool store_policy_get(struct store *s, const char *name, struct policy *out,
                      struct diag *d);
bool store_policy_get_by_guid(struct store *s, const char *guid, struct policy *out,
                              struct diag *d);
/* Adds the policy and its default response rule (p->rules[0] if given, else defaults). */
bool store_policy_add(struct store *s, struct policy *p, struct diag *d);
bool store_policy_update(struct store *s, struct policy *p, struct diag *d);
bool store_policy_delete(struct store *s, const char *name, struct diag *d);
/* Makes `name` the only assigned policy of the store; NULL unassigns all. */
bool store_policy_assign(struct store *s, const char *name, bool assign, struct diag *d);
bool store_policies_load(struct store *s, struct policy **out, size_t *n, struct diag *d);
void store_policies_free(struct policy *p, size_t n);

/* Rules of a policy. The referenced filter list and filter action must exist. */
bool store_rule_add(struct store *s, const char *policy, struct rule *r, struct diag *d);
bool store_rule_update(struct store *s, const char *policy, struct rule *r, struct diag *d);
bool store_rule_delete(struct store *s, const char *policy, const char *rule_guid,
                       struct diag *d);
/* Whether any rule uses the list or action; names the first such rule. */
bool store_filterlist_in_use(struct store *s, const char *name, char *rule,
                             char *policy, size_t len);
bool store_filteraction_in_use(struct store *s, const char *name, char *rule,
                               char *policy, size_t len);

/* Gives an existing filter list or filter action another GUID (import keeps
 * the GUIDs of the file). */
bool store_filterlist_set_guid(struct store *s, const char *old_guid, const char *new_guid,
                               struct diag *d);
bool store_filteraction_set_guid(struct store *s, const char *old_guid, const char *new_guid,
                                 struct diag *d);

/* Removes every policy, filter list and filter action. */
bool store_delete_all(struct store *s, struct diag *d);

#endif
