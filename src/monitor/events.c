/*
 * The event ring, its key=value line and the syslog sink.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "monitor/diagnostics.h"
#include "monitor/events.h"

const char *event_kind_name(enum event_kind k)
{
	static const char *const names[] = { "ike_sa_up", "ike_sa_down", "child_sa_up",
	                                     "child_sa_down", "ike_rekey", "child_rekey",
	                                     "failure", "driver_summary" };
	return (unsigned)k < EVENT_KIND_COUNT ? names[k] : "unknown";
}

bool event_log_init(struct event_log *l, size_t cap)
{
	l->total = 0;
	l->cap = cap ? cap : 1;
	/* The one allocation of the log's life -- and touched now: calloc's
	 * pages are only mapped, and they would otherwise become resident
	 * one by one as events arrive, so that secpold's footprint crept
	 * up for as long as the ring took to fill (the policy soak saw that
	 * as growth). Reserved memory should show from the start.
	 * explicit_bzero, because a compiler may drop a memset after calloc. */
	l->ring = calloc(l->cap, sizeof(*l->ring));
	if (l->ring)
		explicit_bzero(l->ring, l->cap * sizeof(*l->ring));
	return l->ring != NULL;
}

void event_log_free(struct event_log *l)
{
	free(l->ring);
	l->ring = NULL;
	l->cap = 0;
	l->total = 0;
}

const struct sec_event *event_log_add(struct event_log *l, const struct sec_event *ev)
{
	struct sec_event *slot = &l->ring[l->total % l->cap];
	*slot = *ev;
	slot->seq = ++l->total;
	return slot;
}

size_t event_log_held(const struct event_log *l)
{
	return l->total < l->cap ? (size_t)l->total : l->cap;
}

const struct sec_event *event_log_at(const struct event_log *l, size_t i)
{
	size_t held = event_log_held(l);
	if (i >= held)
		return NULL;
	return &l->ring[(l->total - held + i) % l->cap];
}

void event_set_text(char *dst, size_t cap, const char *src)
{
	if (!cap)
		return;
	size_t n = src ? strnlen(src, cap - 1) : 0;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

/* ---- the key=value line ---- */

struct line {
	char *buf;
	size_t cap, len;
};

static void put_char(struct line *l, char c)
{
	if (l->len + 1 < l->cap)
		l->buf[l->len++] = c;
	l->buf[l->len < l->cap ? l->len : l->cap - 1] = '\0';
}

static void put_fmt(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_fmt(struct line *l, const char *fmt, ...)
{
	if (l->len + 1 >= l->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(l->buf + l->len, l->cap - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n < l->cap - l->len ? (size_t)n : l->cap - l->len - 1;
}

/* key=value, the value quoted when a reader splitting on blanks and '='
 * would otherwise misread it. */
static void put_kv(struct line *l, const char *key, const char *value)
{
	bool quote = !value[0];
	for (const char *p = value; *p && !quote; p++)
		quote = *p == ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p < 0x20 ||
		        *p == 0x7f;
	put_fmt(l, "%s%s=", l->len ? " " : "", key);
	if (quote)
		put_char(l, '"');
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (*p == '"' || *p == '\\')
			put_char(l, '\\');
		put_char(l, *p < 0x20 || *p == 0x7f ? '?' : (char)*p);
	}
	if (quote)
		put_char(l, '"');
}

void event_format_line(const struct sec_event *ev, char *buf, size_t cap)
{
	if (!cap)
		return;
	struct line l = { buf, cap, 0 };
	buf[0] = '\0';
	char n[64];
	put_kv(&l, "event", event_kind_name(ev->kind));
	snprintf(n, sizeof(n), "%llu", (unsigned long long)ev->seq);
	put_kv(&l, "seq", n);
	put_kv(&l, "peer", ev->peer[0] ? ev->peer : "-");
	put_kv(&l, "local", ev->local[0] ? ev->local : "-");
	put_kv(&l, "rule", ev->rule);
	if (ev->ike_spi_i || ev->ike_spi_r) {
		put_kv(&l, "role", ev->initiator ? "initiator" : "responder");
		snprintf(n, sizeof(n), "%016llx", (unsigned long long)ev->ike_spi_i);
		put_kv(&l, "ike_spi_i", n);
		snprintf(n, sizeof(n), "%016llx", (unsigned long long)ev->ike_spi_r);
		put_kv(&l, "ike_spi_r", n);
	}
	if (ev->kind == EVENT_IKE_REKEY) {
		snprintf(n, sizeof(n), "%016llx", (unsigned long long)ev->old_ike_spi_i);
		put_kv(&l, "old_ike_spi_i", n);
		snprintf(n, sizeof(n), "%016llx", (unsigned long long)ev->old_ike_spi_r);
		put_kv(&l, "old_ike_spi_r", n);
	}
	if (ev->child) {
		put_kv(&l, "proto", ev->ah ? "AH" : "ESP");
		put_kv(&l, "mode", ev->tunnel ? "tunnel" : "transport");
		snprintf(n, sizeof(n), "%08x", ev->spi_in);
		put_kv(&l, "spi_in", n);
		snprintf(n, sizeof(n), "%08x", ev->spi_out);
		put_kv(&l, "spi_out", n);
	}
	if (ev->kind == EVENT_CHILD_REKEY) {
		snprintf(n, sizeof(n), "%08x", ev->old_spi_in);
		put_kv(&l, "old_spi_in", n);
		snprintf(n, sizeof(n), "%08x", ev->old_spi_out);
		put_kv(&l, "old_spi_out", n);
	}
	if (ev->kind == EVENT_DRIVER_SUMMARY) {
		put_kv(&l, "class", drvdiag_class_name((enum drvdiag_class)ev->diag_class));
		snprintf(n, sizeof(n), "%llu", (unsigned long long)ev->packets);
		put_kv(&l, "packets", n);
		snprintf(n, sizeof(n), "%u", ev->interval_s);
		put_kv(&l, "interval_s", n);
	}
	if (ev->algs[0])
		put_kv(&l, "algs", ev->algs);
	if (ev->reason[0])
		put_kv(&l, "reason", ev->reason);
}

/* ---- syslog ---- */

void syslog_sink_init(struct syslog_sink *s, const char *path, const char *ident, int facility)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	event_set_text(s->path, sizeof(s->path), path && path[0] ? path : "/dev/log");
	event_set_text(s->ident, sizeof(s->ident), ident);
	s->facility = facility;
}

static bool sink_connect(struct syslog_sink *s)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	memcpy(sun.sun_path, s->path, strlen(s->path) + 1);
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		return false;
	if (connect(s->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(s->fd);
		s->fd = -1;
		return false;
	}
	return true;
}

bool syslog_sink_send(struct syslog_sink *s, int severity, const char *line)
{
	/* RFC 3164 as the C library writes it: <PRI>Mmm dd hh:mm:ss ident[pid]: msg */
	char msg[EVENT_LINE_MAX + 128];
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32] = "Jan  1 00:00:00";
	if (localtime_r(&now, &tm))
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	int n = snprintf(msg, sizeof(msg), "<%d>%s %s[%d]: %s", s->facility | (severity & 7), stamp,
	                 s->ident, (int)getpid(), line);
	if (n < 0)
		return false;
	size_t len = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
	/* Connected lazily, and again once if syslog was restarted meanwhile. */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (s->fd < 0 && !sink_connect(s))
			break;
		if (send(s->fd, msg, len, MSG_NOSIGNAL) == (ssize_t)len) {
			s->sent++;
			return true;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;   /* full: lost, the daemon does not wait */
		close(s->fd);
		s->fd = -1;
	}
	s->lost++;
	return false;
}

void syslog_sink_close(struct syslog_sink *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}
