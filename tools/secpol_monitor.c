/*
 * `secpol monitor`: the IP Security Monitor as a live terminal view, like
 * top -- one request to secpold per refresh (CONTROL_MONITOR), one frame
 * (src/monitor/top.c) drawn over the last.
 *
 * The terminal: plain ANSI/VT100 sequences (alternate screen, cursor
 * home, erase to end of line/screen), which every terminal and SSH client
 * has -- no curses. Input in non-canonical mode without echo or signals,
 * so `q` and Ctrl-C arrive as keys; the terminal is put back as it was on
 * every way out (a key, SIGTERM/SIGHUP/SIGINT, the terminal closing).
 * Not on a terminal, or with --once, it prints one frame and exits.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent/control.h"
#include "monitor/monitor.h"
#include "secpol_monitor.h"

/* A screen shows a few dozen SAs; the total still counts all of them. */
#define MONITOR_MAX_SAS 2048
#define MIN_INTERVAL 0.2
#define MAX_INTERVAL 3600.0
/* the alternate screen (the shell's text comes back on exit), no cursor */
#define ENTER_SCREEN "\033[?1049h\033[?25l"
#define LEAVE_SCREEN "\033[?25h\033[?1049l"

static volatile sig_atomic_t quit_signal, resized;

static void on_quit(int sig)
{
	quit_signal = sig;
}

static void on_winch(int sig)
{
	(void)sig;
	resized = 1;
}

static double monotonic(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct monitor {
	const char *control;
	double interval;
	enum mon_top_sort sort;
	char host[256];
	struct mon_snapshot s;
	struct mon_live_info info;
	struct mon_sample prev, last;   /* the refresh before this one, and this one */
	double at;                      /* when s was fetched */
	char error[512];                /* "" when s is good */
	int cols, rows;
};

/* One refresh: secpold's answer into m->s, the counters kept for rates. */
static void fetch(struct monitor *m)
{
	char *out = NULL, *err = NULL;
	size_t outlen = 0, errlen = 0;
	FILE *fo = open_memstream(&out, &outlen), *fe = open_memstream(&err, &errlen);
	bool ok = false, reached = false;
	char why[256] = "";
	if (fo && fe)
		reached = control_call(m->control, CONTROL_MONITOR, fo, fe, &ok, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "out of memory");
	if (fo)
		fclose(fo);
	if (fe)
		fclose(fe);
	m->at = monotonic();
	m->error[0] = '\0';
	if (!reached) {
		snprintf(m->error, sizeof(m->error), "%s", why);
	} else if (!ok) {
		/* secpold's own message (e.g. access denied), its first line. */
		size_t n = err ? strcspn(err, "\n") : 0;
		snprintf(m->error, sizeof(m->error), "secpold refused: %.*s", (int)n,
		         err && n ? err : "no reason given");
	} else {
		char perr[256];
		if (!mon_live_parse(out ? out : "", out ? outlen : 0, &m->s, &m->info, perr,
		                    sizeof(perr)))
			snprintf(m->error, sizeof(m->error), "secpold's answer is not understood: %s",
			         perr);
	}
	free(out);
	free(err);
	if (m->error[0]) {
		/* No rates across a gap: the daemon may have restarted. */
		m->prev.valid = m->last.valid = false;
		return;
	}
	m->prev = m->last;
	mon_sample_take(&m->last, &m->s, m->at);
}

/* The frame as text: rows lines, cut to the width. */
static char *frame(struct monitor *m, size_t *len)
{
	char *text = NULL;
	*len = 0;
	FILE *f = open_memstream(&text, len);
	if (!f)
		return NULL;
	struct mon_top_frame v = { .cols = m->cols, .rows = m->rows, .host = m->host,
	                           .now = (int64_t)time(NULL), .interval_s = m->interval,
	                           .sort = m->sort, .error = m->error[0] ? m->error : NULL,
	                           .at = m->at };
	mon_render_top(f, &m->s, &m->info, &m->prev, &v);
	fclose(f);
	return text;
}

static bool write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

/* Draws over the previous frame: home, each line then erase its rest,
 * erase below. One write, so the terminal never shows half a frame. */
static void draw(struct monitor *m)
{
	size_t len;
	char *text = frame(m, &len);
	if (!text)
		return;
	char *screen = NULL;
	size_t slen = 0;
	FILE *f = open_memstream(&screen, &slen);
	if (f) {
		fputs("\033[H", f);
		for (char *line = text, *nl; line; line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			fwrite(line, 1, nl ? (size_t)(nl - line) : strlen(line), f);
			fputs(nl ? "\033[K\r\n" : "\033[K", f);
		}
		fputs("\033[J", f);
		fclose(f);
		write_all(STDOUT_FILENO, screen, slen);
	}
	free(screen);
	free(text);
}

static void window_size(struct monitor *m)
{
	struct winsize ws;
	m->cols = 80;
	m->rows = 24;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
		m->cols = ws.ws_col;
		m->rows = ws.ws_row;
	}
}

/* The refresh steps `+` and `-` move between. */
static double step_interval(double cur, int dir)
{
	static const double steps[] = { 0.5, 1, 2, 5, 10, 30, 60, 300 };
	size_t n = sizeof(steps) / sizeof(steps[0]);
	if (dir > 0) {
		for (size_t i = 0; i < n; i++)
			if (steps[i] > cur + 1e-9)
				return steps[i];
		return cur;
	}
	for (size_t i = n; i-- > 0;)
		if (steps[i] < cur - 1e-9)
			return steps[i];
	return cur;
}

static int run_once(struct monitor *m)
{
	/* On a terminal, its size; for a script, every SA at 80 columns. */
	if (isatty(STDOUT_FILENO)) {
		window_size(m);
	} else {
		m->cols = 80;
		m->rows = 100000;
	}
	fetch(m);
	size_t len;
	char *text = frame(m, &len);
	if (text) {
		fwrite(text, 1, len, stdout);
		fputc('\n', stdout);
	}
	free(text);
	return m->error[0] ? 1 : 0;
}

static int run_live(struct monitor *m, const struct termios *saved)
{
	struct termios raw = *saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
	raw.c_iflag &= ~(tcflag_t)(IXON | ICRNL);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
		return run_once(m);
	write_all(STDOUT_FILENO, ENTER_SCREEN, strlen(ENTER_SCREEN));
	window_size(m);
	double due = 0;
	int status = 0;
	while (!quit_signal) {
		double now = monotonic();
		bool redraw = false;
		if (now >= due) {
			fetch(m);
			due = monotonic() + m->interval;
			redraw = true;
		}
		if (resized) {
			resized = 0;
			window_size(m);
			redraw = true;
		}
		if (redraw)
			draw(m);
		double wait = due - monotonic();
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		int r = poll(&p, 1, wait > 0 ? (int)(wait * 1000) + 1 : 0);
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
			break;   /* the terminal went away */
		char keys[32];
		ssize_t n = read(STDIN_FILENO, keys, sizeof(keys));
		if (n == 0)
			break;
		bool quit = false;
		for (ssize_t i = 0; i < n && !quit; i++) {
			switch (keys[i]) {
			case 'q': case 'Q': case 3 /* Ctrl-C */: case 4 /* Ctrl-D */:
				quit = true;
				break;
			case '+': m->interval = step_interval(m->interval, 1); due = 0; break;
			case '-': m->interval = step_interval(m->interval, -1); due = 0; break;
			case 's': case 'S':
				m->sort = m->sort == MON_SORT_PEER ? MON_SORT_TRAFFIC : MON_SORT_PEER;
				draw(m);
				break;
			case ' ': case 'r': due = 0; break;   /* refresh now */
			case 12 /* Ctrl-L */: draw(m); break;
			default: break;
			}
		}
		if (quit)
			break;
	}
	write_all(STDOUT_FILENO, LEAVE_SCREEN, strlen(LEAVE_SCREEN));
	tcsetattr(STDIN_FILENO, TCSANOW, saved);
	return status;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: secpol [--control PATH] monitor [--interval SECONDS] [--once]\n"
	           "\n"
	           "  The IP Security Monitor, live: policy, counters with rates, quick-mode SAs.\n"
	           "  Keys: q quit, + / - refresh slower / faster, s sort by peer or traffic,\n"
	           "  space refresh now. Not on a terminal (or --once): one frame, then exit\n"
	           "  (status 1 if secpold could not be asked).\n");
}

int secpol_monitor(const char *control, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, 'd' },
		{ "once", no_argument, NULL, '1' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct monitor *m = calloc(1, sizeof(*m));
	if (!m || !mon_snapshot_init(&m->s, 0, MONITOR_MAX_SAS, 0)) {
		fprintf(stderr, "secpol monitor: out of memory\n");
		free(m);
		return 1;
	}
	m->control = control;
	m->interval = 1;
	bool once = false;
	int c, status = 2;
	optind = 0;   /* a fresh scan (glibc); argv[0] is "monitor" */
	while ((c = getopt_long(argc, argv, "d:1h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': {
			char *end;
			errno = 0;
			double d = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(d >= MIN_INTERVAL && d <= MAX_INTERVAL)) {
				fprintf(stderr, "secpol monitor: --interval takes seconds, %g to %g\n",
				        MIN_INTERVAL, MAX_INTERVAL);
				goto out;
			}
			m->interval = d;
			break;
		}
		case '1': once = true; break;
		case 'h': usage(stdout); status = 0; goto out;
		default: usage(stderr); goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "secpol monitor: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		goto out;
	}
	if (gethostname(m->host, sizeof(m->host) - 1) < 0)
		snprintf(m->host, sizeof(m->host), "?");
	/* A daemon that goes away mid-answer must not kill us with the
	 * terminal still raw. */
	signal(SIGPIPE, SIG_IGN);
	struct termios saved;
	if (once || !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO) ||
	    tcgetattr(STDIN_FILENO, &saved) < 0) {
		status = run_once(m);
		goto out;
	}
	struct sigaction sa = { .sa_handler = on_quit, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	status = run_live(m, &saved);
out:
	mon_snapshot_free(&m->s);
	free(m);
	return status;
}
