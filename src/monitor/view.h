/* Private to src/monitor: what the views share. */
#ifndef SECPOL_MONITOR_VIEW_H
#define SECPOL_MONITOR_VIEW_H

#include <sys/socket.h>

#include "monitor/json.h"
#include "monitor/monitor.h"

#define MON_LIST_WIDTH 23       /* SAs: netsh-ipsec.md §5.1 */
#define MON_STATS_WIDTH 27      /* statistics: ip-security-monitor.md §5 */

const char *mon_addr_text(const struct mon_addr *a, char *buf, size_t len);
bool mon_filter_match(const struct mon_filter *f, const struct mon_addr *me,
                      const struct mon_addr *peer);
/* A name as a JSON key: lower case, '-' and ' ' as '_' ("bad-spi" -> "bad_spi"). */
void mon_json_key(const char *name, char *out, size_t len);
void mon_time_text(int64_t t, char *buf, size_t len);


#endif
