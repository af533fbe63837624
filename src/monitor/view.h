/* Private to src/monitor: what the views share. */
#ifndef SECPOL_MONITOR_VIEW_H
#define SECPOL_MONITOR_VIEW_H

#include <sys/socket.h>

#include "monitor/json.h"
#include "monitor/monitor.h"
#include "monitor/names.h"

#define MON_LIST_WIDTH 23       /* SAs: netsh-ipsec.md §5.1 */
#define MON_STATS_WIDTH 27      /* statistics: ip-security-monitor.md §5 */

const char *mon_addr_text(const struct mon_addr *a, char *buf, size_t len);
bool mon_filter_match(const struct mon_filter *f, const struct mon_addr *me,
                      const struct mon_addr *peer);
/* A name as a JSON key: lower case, '-' and ' ' as '_' ("bad-spi" -> "bad_spi"). */
void mon_json_key(const char *name, char *out, size_t len);
void mon_time_text(int64_t t, char *buf, size_t len);

/* One counter of `show stats`: the Windows label, the JSON key, and the
 * value in the snapshot it was taken from. */
struct mon_counter {
	const char *label;
	const char *key;
	const uint64_t *value;
};
#define MON_MAX_COUNTERS 48
enum mon_stats_block { MON_BLOCK_MAIN_MODE, MON_BLOCK_QUICK_MODE, MON_BLOCK_DATA_PATH };
/* The counters of one block (the drop reasons are not among them: they
 * are data_path.drops, named by the snapshot). Returns how many. */
size_t mon_stats_block(const struct mon_snapshot *s, enum mon_stats_block block,
                       struct mon_counter *out);
/* The stats view's members (main_mode, quick_mode, data_path) into the
 * object being written; which = MON_STATS_*. */
void mon_json_stats(struct json *j, const struct mon_snapshot *s, unsigned which);
/* One `show qmsas` object (docs/monitor-json.md), as an array element. */
void mon_json_qm_sa(struct json *j, const struct mon_qm_sa *q);


/* resolvedns=yes (names: the show's request, NULL for no): " (name)" when
 * the name of a is known within the request's budget, else "". */
const char *mon_addr_name(const struct mon_names_request *names, const struct mon_addr *a,
                          char *buf, size_t len);

#endif
