/*
 * events — the event log of negotiations: SA up, SA down, rekeys and
 * failures with their reasons, as `secpol dynamic show events` prints them
 * and as secpold writes them to syslog (one key=value line each).
 *
 * The log is a ring of fixed-size records allocated once: the oldest event
 * gives way to the newest, and recording one allocates nothing (events come
 * in bursts exactly when a host is under load -- a rekey storm, a peer that
 * keeps failing). Records hold text and SPIs, never key material.
 *
 * Single-threaded: secpold's main thread records and reads them.
 */
#ifndef SECPOL_MONITOR_EVENTS_H
#define SECPOL_MONITOR_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVENT_LOG_CAPACITY 1024   /* secpold's ring */
#define EVENT_ADDR_MAX 46         /* INET6_ADDRSTRLEN */
#define EVENT_RULE_MAX 128
#define EVENT_ALGS_MAX 64
#define EVENT_REASON_MAX 384
#define EVENT_LINE_MAX 1024       /* event_format_line's longest line, NUL included */

enum event_kind {
	EVENT_IKE_SA_UP,
	EVENT_IKE_SA_DOWN,
	EVENT_CHILD_SA_UP,
	EVENT_CHILD_SA_DOWN,
	EVENT_IKE_REKEY,             /* old_ike_spi_*: the IKE SA it replaced */
	EVENT_CHILD_REKEY,           /* old_spi_*: the Child SA it replaced */
	EVENT_FAILURE,
	EVENT_DRIVER_SUMMARY,        /* diagnostics.h: the driver's drops of one class over
	                              * an interval; reason holds the counts by why */
	EVENT_KIND_COUNT
};

struct sec_event {
	uint64_t seq;                /* 1, 2, ... since the log began (set by event_log_add) */
	int64_t time_s;              /* wall clock (Unix time) */
	uint32_t time_ms;
	enum event_kind kind;
	char local[EVENT_ADDR_MAX], peer[EVENT_ADDR_MAX];   /* "" when unknown */
	char rule[EVENT_RULE_MAX];   /* "" when unknown */
	uint32_t rule_id;
	bool initiator;              /* this host started the IKE SA */
	uint64_t ike_spi_i, ike_spi_r, old_ike_spi_i, old_ike_spi_r;
	bool child;                  /* the Child SA fields below apply */
	bool ah, tunnel;             /* AH, else ESP; tunnel, else transport */
	uint32_t spi_in, spi_out, old_spi_in, old_spi_out;
	char algs[EVENT_ALGS_MAX];
	char reason[EVENT_REASON_MAX];
	/* EVENT_DRIVER_SUMMARY: the class (enum drvdiag_class), its packets and
	 * the seconds they were counted over. */
	unsigned diag_class;
	uint64_t packets;
	uint32_t interval_s;
};

struct event_log {
	struct sec_event *ring;
	size_t cap;
	uint64_t total;              /* events ever added; the ring holds the last cap */
};

/* "ike_sa_up", "child_rekey", ... (the stable names of the log). */
const char *event_kind_name(enum event_kind k);

bool event_log_init(struct event_log *l, size_t cap);
void event_log_free(struct event_log *l);
/* Copies ev in (its seq is set), overwriting the oldest when full; returns
 * the stored record. */
const struct sec_event *event_log_add(struct event_log *l, const struct sec_event *ev);
/* Events held now (at most cap), and the i-th oldest of them (NULL past
 * the end). */
size_t event_log_held(const struct event_log *l);
const struct sec_event *event_log_at(const struct event_log *l, size_t i);

/* Copies text into a fixed field, cut to fit. */
void event_set_text(char *dst, size_t cap, const char *src);

/* One line of stable key=value words for syslog and scripts: fields in a
 * fixed order, only those the kind has; values with blanks, quotes or '='
 * in double quotes (\" and \\ inside); control characters become '?', so a
 * rule name can never start a second line. */
void event_format_line(const struct sec_event *ev, char *buf, size_t cap);

/*
 * syslog without the C library's fixed socket: RFC 3164 datagrams to a
 * Unix socket (/dev/log unless told otherwise), so a test can listen where
 * the daemon writes. Never blocks: a syslog that does not keep up loses
 * lines (counted), the daemon does not stall.
 */
struct syslog_sink {
	int fd;                      /* -1 until connected */
	char path[108];              /* sun_path */
	char ident[32];
	int facility;                /* LOG_DAEMON etc. (<syslog.h>) */
	uint64_t sent, lost;
};

void syslog_sink_init(struct syslog_sink *s, const char *path, const char *ident, int facility);
/* severity: LOG_NOTICE etc. False: the line was lost (no syslog there, or full). */
bool syslog_sink_send(struct syslog_sink *s, int severity, const char *line);
void syslog_sink_close(struct syslog_sink *s);

#endif
