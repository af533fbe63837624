/*
 * One frame of `secpol monitor`, the live view: a header, the counters
 * with their rates since the previous refresh, and the quick-mode SAs as a
 * table cut to the terminal. Pure text -- the terminal handling (raw mode,
 * cursor, keys) is the caller's -- so the layout is unit-tested at any
 * size without a terminal.
 *
 * Everything secpold names (rules, policies, algorithms) reaches a
 * terminal here: control characters, C1 controls and broken UTF-8 are
 * shown as '?', so a rule named with an escape sequence cannot move the
 * cursor or retitle the window.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "monitor/view.h"

#define LINE_MAX_BYTES 2048   /* a line of up to ~500 columns, 4 bytes each */

struct out {
	FILE *f;
	int max;                  /* columns a line may use: cols - 1 (no auto-wrap) */
	int rows, used;
	char buf[LINE_MAX_BYTES];
	size_t n;
	int w;                    /* columns used on this line */
};

/* The length of the UTF-8 character at s (1..4) and whether it is one a
 * terminal prints as itself: well formed, not a control (C0, DEL, C1). */
static size_t utf8_char(const unsigned char *s, size_t avail, bool *printable)
{
	unsigned char c = s[0];
	*printable = false;
	if (c < 0x80) {
		*printable = c >= 0x20 && c != 0x7f;
		return 1;
	}
	size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
	if (!len || len > avail)
		return 1;
	unsigned long u = c & (0x3f >> (len - 1));
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 1;
		u = u << 6 | (s[i] & 0x3f);
	}
	bool overlong = (len == 3 && u < 0x800) || (len == 4 && u < 0x10000);
	*printable = !overlong && u >= 0xa0 && !(u >= 0xd800 && u <= 0xdfff) && u <= 0x10ffff;
	return len;
}

/* Appends text, safe for a terminal, in a field of width columns (-1: as
 * wide as the text), cut with '~' when longer; right-aligned if right. The
 * line never grows past o->max. */
static void put(struct out *o, const char *text, int width, bool right)
{
	/* What of text fits: its characters and their count. */
	char safe[LINE_MAX_BYTES];
	size_t sn = 0;
	int sw = 0;
	size_t len = strlen(text);
	for (size_t i = 0; i < len && sn + 4 < sizeof(safe);) {
		bool printable;
		size_t cl = utf8_char((const unsigned char *)text + i, len - i, &printable);
		if (printable) {
			memcpy(safe + sn, text + i, cl);
			sn += cl;
		} else {
			safe[sn++] = '?';
			cl = cl ? cl : 1;
		}
		sw++;
		i += cl;
	}
	if (width >= 0 && sw > width) {
		/* Cut to width - 1 characters and mark it. */
		size_t k = 0;
		int kept = 0;
		while (k < sn && kept < width - 1) {
			bool p;
			k += utf8_char((const unsigned char *)safe + k, sn - k, &p);
			kept++;
		}
		sn = k;
		sw = kept;
		if (width > 0) {
			safe[sn++] = '~';
			sw++;
		}
	}
	int pad = width > sw ? width - sw : 0;
	for (int i = 0; right && i < pad && o->w < o->max; i++, o->w++)
		o->buf[o->n++] = ' ';
	for (size_t k = 0; k < sn && o->w < o->max;) {
		bool p;
		size_t cl = utf8_char((const unsigned char *)safe + k, sn - k, &p);
		memcpy(o->buf + o->n, safe + k, cl);
		o->n += cl;
		k += cl;
		o->w++;
	}
	for (int i = 0; !right && i < pad && o->w < o->max; i++, o->w++)
		o->buf[o->n++] = ' ';
}

static void putf(struct out *o, int width, bool right, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void putf(struct out *o, int width, bool right, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	put(o, text, width, right);
}

/* Ends the line: printed if the screen has room for it (keep: rows left
 * for what must come after, the key help). Trailing blanks are dropped. */
static void end_line(struct out *o, int keep)
{
	while (o->n && o->buf[o->n - 1] == ' ')
		o->n--;
	if (o->used < o->rows - keep) {
		if (o->used)
			fputc('\n', o->f);
		fwrite(o->buf, 1, o->n, o->f);
		o->used++;
	}
	o->n = 0;
	o->w = 0;
}

/* ---- numbers ---- */

/* A count in at most 5 columns: 12345, 123K, 1.2M ... (base 1000, or
 * 1024 for bytes). */
static void human(uint64_t v, bool bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	if (v < 100000) {
		snprintf(buf, len, "%llu", (unsigned long long)v);
		return;
	}
	double base = bytes ? 1024.0 : 1000.0, x = (double)v;
	size_t u = 0;
	x /= base;
	while (x >= 999.5 && u + 1 < sizeof(units) - 1) {
		x /= base;
		u++;
	}
	if (x < 9.95)
		snprintf(buf, len, "%.1f%c", x, units[u]);
	else
		snprintf(buf, len, "%.0f%c", x, units[u]);
}

/* A total: exact up to 9 digits, then in units. */
static void total_text(uint64_t v, bool bytes, char *buf, size_t len)
{
	if (v < 1000000000ull)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		human(v, bytes, buf, len);
}

/* The rate of a counter since the previous sample; "-" when there is none
 * or the counter went back (secpold restarted). */
static void rate_text(uint64_t cur, const uint64_t *prev, double dt, bool bytes, char *buf,
                      size_t len)
{
	if (!prev || dt <= 0 || cur < *prev) {
		snprintf(buf, len, "-");
		return;
	}
	double r = (double)(cur - *prev) / dt;
	if (r < 10)
		snprintf(buf, len, "%.1f", r);
	else if (r < 100000)
		snprintf(buf, len, "%.0f", r);
	else
		human((uint64_t)r, bytes, buf, len);
}

/* A duration in at most 5 columns: 59s, 59m59, 23h59, 365d. */
static void duration(uint64_t s, char *buf, size_t len)
{
	if (s < 60)
		snprintf(buf, len, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llu", (unsigned long long)(s / 60),
		         (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llu", (unsigned long long)(s / 3600),
		         (unsigned long long)(s % 3600 / 60));
	else if (s < 100000ull * 86400)
		snprintf(buf, len, "%llud", (unsigned long long)(s / 86400));
	else
		snprintf(buf, len, "long");
}

void mon_sample_take(struct mon_sample *out, const struct mon_snapshot *s, double at)
{
	out->valid = true;
	out->at = at;
	out->mm = s->mm;
	out->qm = s->qm;
	out->dp = s->dp;
	/* The names point into the reader's storage, which the next refresh
	 * rewrites: a sample keeps counts only. */
	memset(out->dp.drop_names, 0, sizeof(out->dp.drop_names));
}

/* ---- the parts of the frame ---- */

static void header(struct out *o, const struct mon_live_info *info, const struct mon_top_frame *v)
{
	char when[32], up[16];
	mon_time_text(v->now, when, sizeof(when));
	put(o, "secpol monitor", -1, false);
	put(o, "  ", -1, false);
	put(o, v->host && v->host[0] ? v->host : "?", -1, false);
	putf(o, -1, false, "  %s", when);
	if (info) {
		duration(info->uptime_s, up, sizeof(up));
		putf(o, -1, false, "  up %s", up);
	}
	putf(o, -1, false, "  every %gs", v->interval_s);
	end_line(o, 1);
}

struct pair {
	const char *label;
	uint64_t cur;
	const uint64_t *prev;   /* NULL: no rate */
	bool bytes;
};

static void counter_cell(struct out *o, const struct pair *p, double dt)
{
	char t[24], r[24];
	total_text(p->cur, p->bytes, t, sizeof(t));
	rate_text(p->cur, p->prev, dt, p->bytes, r, sizeof(r));
	put(o, p->label, 14, false);
	put(o, t, 10, true);
	put(o, r, 9, true);
}

static uint64_t drop_sum(const struct mon_datapath_stats *d)
{
	uint64_t n = 0;
	for (size_t i = 1; i < d->ndrops && i < 16; i++)
		n += d->drops[i];
	return n;
}

static void counters(struct out *o, const struct mon_snapshot *s, const struct mon_sample *prev,
                     double dt)
{
	bool r = prev && prev->valid;
	const struct mon_mm_stats *pm = r ? &prev->mm : NULL;
	const struct mon_qm_stats *pq = r ? &prev->qm : NULL;
	const struct mon_datapath_stats *pd = r ? &prev->dp : NULL;
	uint64_t sent = s->qm.transport_bytes_sent + s->qm.bytes_sent_in_tunnels;
	uint64_t recv = s->qm.transport_bytes_received + s->qm.bytes_received_in_tunnels;
	uint64_t psent = r ? pq->transport_bytes_sent + pq->bytes_sent_in_tunnels : 0;
	uint64_t precv = r ? pq->transport_bytes_received + pq->bytes_received_in_tunnels : 0;
	uint64_t drops = drop_sum(&s->dp), pdrops = r ? drop_sum(pd) : 0;
	const struct pair rows[][2] = {
		{ { "Packets out", s->dp.packets_encrypted, r ? &pd->packets_encrypted : NULL, false },
		  { "Bytes out", sent, r ? &psent : NULL, true } },
		{ { "Packets in", s->dp.packets_decrypted, r ? &pd->packets_decrypted : NULL, false },
		  { "Bytes in", recv, r ? &precv : NULL, true } },
		{ { "Main modes", s->mm.oakley_main_mode, r ? &pm->oakley_main_mode : NULL, false },
		  { "Quick modes", s->mm.oakley_quick_mode, r ? &pm->oakley_quick_mode : NULL, false } },
		{ { "Neg. failures", s->mm.negotiation_failures, r ? &pm->negotiation_failures : NULL,
		    false },
		  { "Auth failures", s->mm.authentication_failures,
		    r ? &pm->authentication_failures : NULL, false } },
		{ { "Rekeys", s->qm.rekeys, r ? &pq->rekeys : NULL, false },
		  { "Blocked", s->dp.blocked, r ? &pd->blocked : NULL, false } },
		{ { "Dropped", drops, r ? &pdrops : NULL, false },
		  { "In clear", s->dp.permitted_in_clear, r ? &pd->permitted_in_clear : NULL, false } },
	};
	put(o, "", 14, false);
	put(o, "total", 10, true);
	put(o, "/s", 9, true);
	put(o, "   ", -1, false);
	put(o, "", 14, false);
	put(o, "total", 10, true);
	put(o, "/s", 9, true);
	end_line(o, 1);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		counter_cell(o, &rows[i][0], dt);
		put(o, "   ", -1, false);
		counter_cell(o, &rows[i][1], dt);
		end_line(o, 1);
	}
	/* The drop reasons that happened, so a cause shows at a glance. */
	put(o, "Drops:", -1, false);
	bool any = false;
	for (size_t i = 1; i < s->dp.ndrops && i < 16; i++) {
		if (!s->dp.drops[i])
			continue;
		char t[24], rt[24];
		total_text(s->dp.drops[i], false, t, sizeof(t));
		put(o, any ? ", " : " ", -1, false);
		put(o, s->dp.drop_names[i] ? s->dp.drop_names[i] : "?", -1, false);
		putf(o, -1, false, " %s", t);
		/* A reason that is still happening shows its rate. */
		if (r && pd->ndrops == s->dp.ndrops && s->dp.drops[i] > pd->drops[i]) {
			rate_text(s->dp.drops[i], &pd->drops[i], dt, false, rt, sizeof(rt));
			putf(o, -1, false, " (%s/s)", rt);
		}
		any = true;
	}
	if (!any)
		put(o, " none", -1, false);
	end_line(o, 1);
}

static int addr_cmp(const struct mon_addr *a, const struct mon_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->bytes, b->bytes, sizeof(a->bytes));
}

static int by_peer(const void *x, const void *y)
{
	const struct mon_qm_sa *a = x, *b = y;
	int c = addr_cmp(&a->peer, &b->peer);
	if (!c)
		c = strcmp(a->rule, b->rule);
	if (!c && a->age_s != b->age_s)
		c = a->age_s < b->age_s ? -1 : 1;   /* the newest (the one in use) first */
	if (!c && a->spi_in != b->spi_in)
		c = a->spi_in < b->spi_in ? -1 : 1;
	return c;
}

static int by_traffic(const void *x, const void *y)
{
	const struct mon_qm_sa *a = x, *b = y;
	uint64_t ta = a->bytes_in + a->bytes_out, tb = b->bytes_in + b->bytes_out;
	if (ta != tb)
		return ta > tb ? -1 : 1;
	return by_peer(x, y);
}

static void algorithms(const struct mon_qm_sa *q, char *buf, size_t len)
{
	if (!q->esp)
		snprintf(buf, len, "AH/%s", q->ah_integrity);
	else if (!strcmp(q->esp_integrity, "None") || !strcmp(q->esp_integrity, "AEAD") ||
	         !q->esp_integrity[0])
		snprintf(buf, len, "%s", q->esp_confidentiality);
	else
		snprintf(buf, len, "%s/%s", q->esp_confidentiality, q->esp_integrity);
}

/* Column widths at 80 columns; a wider terminal gives the room to the
 * peer (IPv6), the algorithms and the rule, a narrower one takes it from
 * the rule first. */
struct widths {
	int peer, rule, alg, age, bytes, pkts, left;
};

static struct widths sa_widths(int max)
{
	struct widths w = { 15, 10, 15, 5, 12, 11, 5 };
	int base = w.peer + w.rule + w.alg + w.age + w.bytes + w.pkts + w.left + 6;
	int extra = max - base;
	if (extra > 0) {
		int p = extra / 3 > 24 ? 24 : extra / 3;
		int a = (extra - p) / 2 > 8 ? 8 : (extra - p) / 2;
		w.peer += p;
		w.alg += a;
		w.rule += extra - p - a;
	} else {
		int cut = -extra;
		int r = cut > w.rule - 4 ? w.rule - 4 : cut;
		w.rule -= r;
		cut -= r;
		int a = cut > w.alg - 6 ? w.alg - 6 : cut;
		w.alg -= a;
		cut -= a;
		w.peer -= cut > w.peer - 7 ? w.peer - 7 : cut;
	}
	return w;
}

static size_t sa_table(struct out *o, struct mon_snapshot *s, const struct mon_top_frame *v)
{
	struct widths w = sa_widths(o->max);
	if (s->nqm > 1)
		qsort(s->qm_sas, s->nqm, sizeof(*s->qm_sas),
		      v->sort == MON_SORT_TRAFFIC ? by_traffic : by_peer);
	put(o, "PEER", w.peer, false);
	put(o, " ", -1, false);
	put(o, "RULE", w.rule, false);
	put(o, " ", -1, false);
	put(o, "ALGORITHMS", w.alg, false);
	put(o, " ", -1, false);
	put(o, "AGE", w.age, true);
	put(o, " ", -1, false);
	put(o, "BYTES IN/OUT", w.bytes, true);
	put(o, " ", -1, false);
	put(o, "PKTS IN/OUT", w.pkts, true);
	put(o, " ", -1, false);
	put(o, "LEFT", w.left, true);
	end_line(o, 1);
	if (!s->nqm) {
		put(o, "(no quick-mode SAs)", -1, false);
		end_line(o, 1);
		return 0;
	}
	size_t shown = 0;
	for (size_t i = 0; i < s->nqm && o->used < o->rows - 1; i++, shown++) {
		const struct mon_qm_sa *q = &s->qm_sas[i];
		char peer[INET6_ADDRSTRLEN], alg[64], age[16], left[16], a[16], b[16], cell[40];
		mon_addr_text(&q->peer, peer, sizeof(peer));
		algorithms(q, alg, sizeof(alg));
		duration(q->age_s, age, sizeof(age));
		if (q->rekey_due)
			snprintf(left, sizeof(left), "due");
		else if (!q->lifetime_s)
			snprintf(left, sizeof(left), "-");
		else
			duration(q->remaining_s, left, sizeof(left));
		put(o, peer, w.peer, false);
		put(o, " ", -1, false);
		put(o, q->rule[0] ? q->rule : q->negotiated ? "?" : "(manual)", w.rule, false);
		put(o, " ", -1, false);
		put(o, alg, w.alg, false);
		put(o, " ", -1, false);
		put(o, age, w.age, true);
		put(o, " ", -1, false);
		human(q->bytes_in, true, a, sizeof(a));
		human(q->bytes_out, true, b, sizeof(b));
		snprintf(cell, sizeof(cell), "%s/%s", a, b);
		put(o, cell, w.bytes, true);
		put(o, " ", -1, false);
		human(q->packets_in, false, a, sizeof(a));
		human(q->packets_out, false, b, sizeof(b));
		snprintf(cell, sizeof(cell), "%s/%s", a, b);
		put(o, cell, w.pkts, true);
		put(o, " ", -1, false);
		put(o, left, w.left, true);
		end_line(o, 1);
	}
	return shown;
}

void mon_render_top(FILE *f, struct mon_snapshot *s, const struct mon_live_info *info,
                    const struct mon_sample *prev, const struct mon_top_frame *v)
{
	struct out o = { .f = f, .rows = v->rows > 0 ? v->rows : 24 };
	int cols = v->cols > 1 ? v->cols : 80;
	o.max = cols - 1 < (int)(LINE_MAX_BYTES / 4) ? cols - 1 : (int)(LINE_MAX_BYTES / 4);
	bool have = s && info && !v->error;
	header(&o, have ? info : NULL, v);
	char help[96];
	snprintf(help, sizeof(help), "q quit  +/- interval  s sort (%s)",
	         v->sort == MON_SORT_TRAFFIC ? "traffic" : "peer");
	if (!have) {
		end_line(&o, 1);
		put(&o, "Cannot reach secpold (is it running?):", -1, false);
		end_line(&o, 1);
		put(&o, "  ", -1, false);
		put(&o, v->error ? v->error : "no answer", -1, false);
		end_line(&o, 1);
		putf(&o, -1, false, "Retrying every %gs.", v->interval_s);
		end_line(&o, 1);
		put(&o, help, -1, false);
		end_line(&o, 0);
		return;
	}
	size_t due = 0;
	for (size_t i = 0; i < s->nqm; i++)
		due += s->qm_sas[i].rekey_due;
	put(&o, "Policy: ", -1, false);
	put(&o, info->has_policy ? info->policy : "(none assigned)", 24, false);
	putf(&o, -1, false, "  IKE SAs: %llu  QM SAs: %zu  Rekeys due: %zu",
	     (unsigned long long)s->mm.active_ike_sas, s->qm_total, due);
	end_line(&o, 1);
	end_line(&o, 1);
	bool rates = prev && prev->valid && v->at > prev->at;
	counters(&o, s, rates ? prev : NULL, rates ? v->at - prev->at : 0);
	end_line(&o, 1);
	size_t shown = sa_table(&o, s, v);
	put(&o, help, -1, false);
	if (s->qm_total > shown)
		putf(&o, -1, false, "   %zu of %zu SAs shown", shown, s->qm_total);
	end_line(&o, 0);
}
