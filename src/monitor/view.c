/*
 * What every view shares: the snapshot's arrays, the format names, the
 * address filter, and a small table printer (netsh-ipsec.md §5.1: header
 * row, dashes, one row per object, cut to 79 columns unless wide=yes).
 * The monitor keeps its own table instead of netsh's: it is linked into
 * secpold, which must not depend on the command language's internals.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "monitor/view.h"

bool mon_snapshot_init(struct mon_snapshot *s, size_t ike_cap, size_t qm_cap, size_t sa_cap)
{
	memset(s, 0, sizeof(*s));
	s->ike = ike_cap ? calloc(ike_cap, sizeof(*s->ike)) : NULL;
	s->qm_sas = qm_cap ? calloc(qm_cap, sizeof(*s->qm_sas)) : NULL;
	s->sas = sa_cap ? calloc(sa_cap, sizeof(*s->sas)) : NULL;
	if ((ike_cap && !s->ike) || (qm_cap && !s->qm_sas) || (sa_cap && !s->sas)) {
		mon_snapshot_free(s);
		return false;
	}
	s->ike_cap = ike_cap;
	s->qm_cap = qm_cap;
	s->sa_cap = sa_cap;
	return true;
}

void mon_snapshot_free(struct mon_snapshot *s)
{
	free(s->ike);
	free(s->qm_sas);
	free(s->sas);
	memset(s, 0, sizeof(*s));
}

bool mon_format_parse(const char *text, enum mon_format *out)
{
	static const char *const names[] = { "list", "table", "json" };
	size_t n = text ? strlen(text) : 0, hits = 0;
	for (size_t i = 0; i < 3 && n; i++)
		if (!strncasecmp(text, names[i], n)) {
			*out = (enum mon_format)i;
			hits++;
		}
	return hits == 1;
}

const char *mon_addr_text(const struct mon_addr *a, char *buf, size_t len)
{
	if (!a->family || !inet_ntop(a->family, a->bytes, buf, (socklen_t)len))
		snprintf(buf, len, "%s", a->family ? "?" : "");
	return buf;
}

const char *mon_addr_name(const struct mon_names_request *names, const struct mon_addr *a,
                          char *buf, size_t len)
{
	char host[MON_NAMES_NAME_MAX];
	buf[0] = '\0';
	if (names && mon_names_get(names, a, host, sizeof(host)))
		snprintf(buf, len, " (%s)", host);
	return buf;
}

static bool addr_eq(const struct mon_addr *a, const struct mon_addr *b)
{
	size_t n = a->family == AF_INET ? 4 : 16;
	return a->family == b->family && !memcmp(a->bytes, b->bytes, n);
}

bool mon_filter_match(const struct mon_filter *f, const struct mon_addr *me,
                      const struct mon_addr *peer)
{
	if (!f)
		return true;
	return (!f->has_src || addr_eq(&f->src, me)) && (!f->has_dst || addr_eq(&f->dst, peer));
}

void mon_json_key(const char *name, char *out, size_t len)
{
	size_t i = 0;
	for (; name[i] && i + 1 < len; i++) {
		char c = name[i];
		out[i] = c == '-' || c == ' ' ? '_' : c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
	}
	if (len)
		out[i] = '\0';
}

void mon_time_text(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "?");
}

/* ---- the table ---- */

