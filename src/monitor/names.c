/*
 * The reverse-name cache and its resolver thread (names.h).
 *
 * One mutex guards everything here; the thread drops it around the lookup
 * itself, so a show never waits for the lock while a DNS server is slow --
 * only, and at most until its deadline, for the answer on a condition
 * variable. The queue is not a separate ring: a cache entry in state
 * QUEUED is queued, and the thread takes the oldest (lowest seq). Queued
 * and in-progress entries are never evicted, and there are at most
 * MON_NAMES_QUEUE + 1 of them, so a place for an answer always exists.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include "monitor/names.h"

enum name_state {
	NAME_FREE,
	NAME_QUEUED,                /* waiting for the thread */
	NAME_RESOLVING,             /* the thread is looking it up */
	NAME_FOUND,
	NAME_NONE,                  /* no name, or the lookup failed */
};

struct name_entry {
	enum name_state state;
	struct mon_addr addr;
	uint64_t seq;               /* QUEUED: order of asking */
	uint64_t used;              /* last asked or answered: the oldest goes first */
	uint64_t expires_ms;        /* FOUND, NONE */
	char name[MON_NAMES_NAME_MAX];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;        /* something queued, or the thread must stop */
	pthread_cond_t answered;    /* an answer stored, or the thread ended */
	struct name_entry e[MON_NAMES_CACHE];
	size_t queued;
	uint64_t tick;              /* seq and used */
	mon_names_lookup_fn lookup;
	mon_names_clock_fn clock;
	bool started;               /* a thread serves the current generation */
	unsigned gen;               /* bumped by each stop: older threads end */
	unsigned thread_gen;        /* the generation of the newest thread */
	bool thread_alive;          /* that thread has not ended yet */
	pthread_t thread;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* The condition variables wait on CLOCK_MONOTONIC: a deadline must not
 * move when someone sets the wall clock. */
static void init_conds(void)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g.work, &ca);
	pthread_cond_init(&g.answered, &ca);
	pthread_condattr_destroy(&ca);
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool getnameinfo_lookup(const struct mon_addr *a, char *name, size_t len)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t sl;
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a->bytes, 16);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a->bytes, 4);
		sl = sizeof(*s4);
	}
	return getnameinfo((struct sockaddr *)&ss, sl, name, (socklen_t)len, NULL, 0,
	                   NI_NAMEREQD) == 0;
}

static uint64_t now_ms(void)
{
	return g.clock ? g.clock() : monotonic_ms();
}

static bool same_addr(const struct mon_addr *a, const struct mon_addr *b)
{
	size_t n = a->family == AF_INET ? 4 : 16;
	return a->family == b->family && !memcmp(a->bytes, b->bytes, n);
}

static bool answered(const struct name_entry *e)
{
	return e->state == NAME_FOUND || e->state == NAME_NONE;
}

/* An answer past its lifetime counts as never given. */
static struct name_entry *find(const struct mon_addr *a, uint64_t now)
{
	for (size_t i = 0; i < MON_NAMES_CACHE; i++) {
		struct name_entry *e = &g.e[i];
		if (e->state == NAME_FREE || !same_addr(&e->addr, a))
			continue;
		if (answered(e) && now >= e->expires_ms) {
			e->state = NAME_FREE;
			return NULL;
		}
		return e;
	}
	return NULL;
}

/* A free entry, else the answered one used longest ago. */
static struct name_entry *place(void)
{
	struct name_entry *best = NULL;
	for (size_t i = 0; i < MON_NAMES_CACHE; i++) {
		struct name_entry *e = &g.e[i];
		if (e->state == NAME_FREE)
			return e;
		if (answered(e) && (!best || e->used < best->used))
			best = e;
	}
	return best;
}

static struct name_entry *oldest_queued(void)
{
	struct name_entry *best = NULL;
	for (size_t i = 0; i < MON_NAMES_CACHE; i++)
		if (g.e[i].state == NAME_QUEUED && (!best || g.e[i].seq < best->seq))
			best = &g.e[i];
	return best;
}

/* A name from the network goes to terminals and logs: printable ASCII
 * only, so an answer cannot move a cursor or forge a line. */
static void store_name(struct name_entry *e, const char *name)
{
	size_t i = 0;
	for (; name[i] && i + 1 < sizeof(e->name); i++)
		e->name[i] = name[i] > ' ' && name[i] < 0x7f ? name[i] : '?';
	e->name[i] = '\0';
}

static void answer(const struct mon_addr *a, bool found, const char *name)
{
	for (size_t i = 0; i < MON_NAMES_CACHE; i++) {
		struct name_entry *e = &g.e[i];
		if (e->state != NAME_RESOLVING || !same_addr(&e->addr, a))
			continue;
		uint64_t now = now_ms();
		e->state = found ? NAME_FOUND : NAME_NONE;
		e->expires_ms = now + 1000 * (uint64_t)(found ? MON_NAMES_FOUND_S : MON_NAMES_NONE_S);
		e->used = ++g.tick;
		if (found)
			store_name(e, name);
		return;
	}
}

static void *resolver_main(void *arg)
{
	unsigned gen = (unsigned)(uintptr_t)arg;
	pthread_mutex_lock(&g.lock);
	for (;;) {
		struct name_entry *e = NULL;
		while (g.gen == gen && !(e = oldest_queued()))
			pthread_cond_wait(&g.work, &g.lock);
		if (g.gen != gen)
			break;
		e->state = NAME_RESOLVING;
		g.queued--;
		struct mon_addr a = e->addr;
		mon_names_lookup_fn lookup = g.lookup ? g.lookup : getnameinfo_lookup;
		/* Not under the lock: this is what may take the resolver's timeout. */
		pthread_mutex_unlock(&g.lock);
		char name[MON_NAMES_NAME_MAX] = "";
		bool found = lookup(&a, name, sizeof(name)) && name[0];
		pthread_mutex_lock(&g.lock);
		if (g.gen != gen)
			break;          /* stopped meanwhile: the entry is no longer ours */
		answer(&a, found, name);
		pthread_cond_broadcast(&g.answered);
	}
	if (g.thread_gen == gen) {
		g.thread_alive = false;
		pthread_cond_broadcast(&g.answered);
	}
	pthread_mutex_unlock(&g.lock);
	return NULL;
}

/* With the lock held. The thread takes no signal: secpold reads its
 * signals from a signalfd, and the CLI's must reach the main thread. */
static bool start_thread(void)
{
	if (g.started)
		return true;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&g.thread, NULL, resolver_main, (void *)(uintptr_t)g.gen);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return false;
	g.started = true;
	g.thread_gen = g.gen;
	g.thread_alive = true;
	return true;
}

/* With the lock held: the entry of a, queued if it was unknown; NULL when
 * the queue is full or no thread can run (no name this time). */
static struct name_entry *lookup_entry(const struct mon_addr *a)
{
	uint64_t now = now_ms();
	struct name_entry *e = find(a, now);
	if (e) {
		e->used = ++g.tick;
		return e;
	}
	if (g.queued >= MON_NAMES_QUEUE || !start_thread() || !(e = place()))
		return NULL;
	memset(e, 0, sizeof(*e));
	e->state = NAME_QUEUED;
	e->addr = *a;
	e->seq = e->used = ++g.tick;
	g.queued++;
	pthread_cond_signal(&g.work);
	return e;
}

static bool valid(const struct mon_addr *a)
{
	return a->family == AF_INET || a->family == AF_INET6;
}

void mon_names_begin(struct mon_names_request *r)
{
	pthread_once(&g_once, init_conds);
	clock_gettime(CLOCK_MONOTONIC, &r->deadline);
	r->deadline.tv_sec += MON_NAMES_BUDGET_MS / 1000;
	r->deadline.tv_nsec += (long)(MON_NAMES_BUDGET_MS % 1000) * 1000000L;
	if (r->deadline.tv_nsec >= 1000000000L) {
		r->deadline.tv_sec++;
		r->deadline.tv_nsec -= 1000000000L;
	}
}

void mon_names_ask(const struct mon_addr *a)
{
	if (!valid(a))
		return;
	pthread_once(&g_once, init_conds);
	pthread_mutex_lock(&g.lock);
	lookup_entry(a);
	pthread_mutex_unlock(&g.lock);
}

bool mon_names_get(const struct mon_names_request *r, const struct mon_addr *a, char *name,
                   size_t len)
{
	if (len)
		name[0] = '\0';
	if (!valid(a) || !len)
		return false;
	pthread_once(&g_once, init_conds);
	pthread_mutex_lock(&g.lock);
	struct name_entry *e = lookup_entry(a);
	/* The entry is found again after every wake-up: while the lock was
	 * free, it may have been answered, or dropped by a stop. */
	while (e && !answered(e)) {
		int rc = pthread_cond_timedwait(&g.answered, &g.lock, &r->deadline);
		e = find(a, now_ms());
		if (rc == ETIMEDOUT)
			break;
	}
	bool found = e && e->state == NAME_FOUND;
	if (found)
		snprintf(name, len, "%s", e->name);
	pthread_mutex_unlock(&g.lock);
	return found;
}

/* With the lock held: drops what the thread has not answered yet. */
static void drop_pending(void)
{
	for (size_t i = 0; i < MON_NAMES_CACHE; i++)
		if (!answered(&g.e[i]))
			g.e[i].state = NAME_FREE;
	g.queued = 0;
}

bool mon_names_shutdown(void)
{
	pthread_once(&g_once, init_conds);
	pthread_mutex_lock(&g.lock);
	if (!g.started) {
		pthread_mutex_unlock(&g.lock);
		return true;
	}
	g.started = false;
	g.gen++;
	drop_pending();
	pthread_cond_broadcast(&g.work);
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += (long)MON_NAMES_STOP_MS * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	while (g.thread_alive &&
	       pthread_cond_timedwait(&g.answered, &g.lock, &until) != ETIMEDOUT)
		;
	bool ended = !g.thread_alive;
	pthread_t t = g.thread;
	pthread_mutex_unlock(&g.lock);
	/* A lookup that outlasts the wait ends on its own; the thread then
	 * sees the new generation and exits without touching the cache. */
	if (ended)
		pthread_join(t, NULL);
	else
		pthread_detach(t);
	return ended;
}

void mon_names_reset(mon_names_lookup_fn lookup, mon_names_clock_fn clock)
{
	mon_names_shutdown();
	pthread_mutex_lock(&g.lock);
	memset(g.e, 0, sizeof(g.e));
	g.queued = 0;
	g.lookup = lookup;
	g.clock = clock;
	pthread_mutex_unlock(&g.lock);
}
