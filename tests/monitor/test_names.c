/*
 * The reverse-name cache of resolvedns=yes (src/monitor/names.c) with a
 * fake resolver instead of DNS: a show never waits longer than its budget,
 * a slow name shows up in a later show, "no name" is remembered for its
 * lifetime only, a full queue answers "no name" at once, the oldest answer
 * gives way when the cache is full, and a stop joins the thread with work
 * queued (or leaves a lookup that outlasts its wait to end on its own).
 *
 * The fake resolver, by address:
 *   192.0.2.1-99     answers host-N.example at once
 *   192.0.2.100-149  fails (no name)
 *   192.0.2.150-199  waits for the gate (at most slow_ms), then slow-N.example
 *   192.0.2.200      answers a name with control characters
 *   10.0.a.b         answers h-a-b.example at once
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "monitor/monitor.h"
#include "monitor/names.h"

/* Generous: a loaded CI machine under ASan may wake a waiter late. */
#define SLACK_MS 200

static pthread_mutex_t fm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fc = PTHREAD_COND_INITIALIZER;
static unsigned calls[65536];       /* by the address's last two bytes */
static bool gate_open;
static int slow_ms = 3000;          /* the longest a slow lookup waits for the gate */
static int in_slow;                 /* slow lookups in progress */
static uint64_t fake_now_ms = 1000000;

static uint64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t fake_clock(void)
{
	pthread_mutex_lock(&fm);
	uint64_t t = fake_now_ms;
	pthread_mutex_unlock(&fm);
	return t;
}

static void advance_s(unsigned s)
{
	pthread_mutex_lock(&fm);
	fake_now_ms += 1000ull * s;
	pthread_mutex_unlock(&fm);
}

static unsigned index_of(const struct mon_addr *a)
{
	return (unsigned)a->bytes[2] << 8 | a->bytes[3];
}

static unsigned calls_of(const struct mon_addr *a)
{
	pthread_mutex_lock(&fm);
	unsigned n = calls[index_of(a)];
	pthread_mutex_unlock(&fm);
	return n;
}

static void wait_slow(void)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += slow_ms / 1000;
	until.tv_nsec += (long)(slow_ms % 1000) * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	in_slow++;
	pthread_cond_broadcast(&fc);
	while (!gate_open && pthread_cond_timedwait(&fc, &fm, &until) != ETIMEDOUT)
		;
	in_slow--;
	pthread_cond_broadcast(&fc);
}

static bool fake_lookup(const struct mon_addr *a, char *name, size_t len)
{
	unsigned x = a->bytes[3];
	pthread_mutex_lock(&fm);
	calls[index_of(a)]++;
	bool slow = a->bytes[0] == 192 && x >= 150 && x < 200;
	if (slow)
		wait_slow();
	pthread_cond_broadcast(&fc);
	pthread_mutex_unlock(&fm);
	if (a->bytes[0] == 10)
		return snprintf(name, len, "h-%u-%u.example", a->bytes[2], x) > 0;
	if (x >= 1 && x < 100)
		return snprintf(name, len, "host-%u.example", x) > 0;
	if (slow)
		return snprintf(name, len, "slow-%u.example", x) > 0;
	if (x == 200)
		return snprintf(name, len, "evil\x1b[2J\nname") > 0;
	return false;
}

static struct mon_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct mon_addr m;
	memset(&m, 0, sizeof(m));
	m.family = AF_INET;
	m.bytes[0] = a;
	m.bytes[1] = b;
	m.bytes[2] = c;
	m.bytes[3] = d;
	return m;
}

static struct mon_addr doc(uint8_t x)
{
	return v4(192, 0, 2, x);
}

/* Bounded: until the fake has been called n times for a, or 3 s. */
static bool wait_calls(const struct mon_addr *a, unsigned n)
{
	uint64_t until = real_ms() + 3000;
	while (calls_of(a) < n && real_ms() < until)
		usleep(2000);
	return calls_of(a) >= n;
}

/* Bounded: until slow lookups in progress number n, or 3 s. */
static bool wait_in_slow(int n)
{
	uint64_t until = real_ms() + 3000;
	pthread_mutex_lock(&fm);
	while (in_slow != n && real_ms() < until) {
		pthread_mutex_unlock(&fm);
		usleep(2000);
		pthread_mutex_lock(&fm);
	}
	bool ok = in_slow == n;
	pthread_mutex_unlock(&fm);
	return ok;
}

static void set_gate(bool open, int ms)
{
	pthread_mutex_lock(&fm);
	gate_open = open;
	slow_ms = ms;
	pthread_cond_broadcast(&fc);
	pthread_mutex_unlock(&fm);
}

static int setup(void **state)
{
	(void)state;
	set_gate(false, 3000);
	pthread_mutex_lock(&fm);
	memset(calls, 0, sizeof(calls));
	pthread_mutex_unlock(&fm);
	mon_names_reset(fake_lookup, fake_clock);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	set_gate(true, 0);   /* a slow lookup left over ends now: the stop joins it */
	mon_names_reset(NULL, NULL);
	return 0;
}

/* get() with a fresh request; *ms: how long it took. */
static bool get_timed(const struct mon_addr *a, char *name, size_t len, uint64_t *ms)
{
	struct mon_names_request r;
	uint64_t t0 = real_ms();
	mon_names_begin(&r);
	bool found = mon_names_get(&r, a, name, len);
	*ms = real_ms() - t0;
	return found;
}

static void test_name_then_cached(void **state)
{
	(void)state;
	char name[MON_NAMES_NAME_MAX];
	uint64_t ms;
	struct mon_addr a = doc(1);
	assert_true(get_timed(&a, name, sizeof(name), &ms));
	assert_string_equal(name, "host-1.example");
	assert_true(ms < MON_NAMES_BUDGET_MS);
	assert_true(get_timed(&a, name, sizeof(name), &ms));
	assert_string_equal(name, "host-1.example");
	assert_int_equal(calls_of(&a), 1);   /* the second came from the cache */
}

static void test_budget_then_later_show(void **state)
{
	(void)state;
	char name[MON_NAMES_NAME_MAX];
	struct mon_addr slow = doc(150), fast = doc(2);
	struct mon_names_request r;
	uint64_t t0 = real_ms();
	mon_names_begin(&r);
	mon_names_ask(&slow);
	mon_names_ask(&fast);
	/* The slow one holds the thread: the budget runs out, and only once. */
	assert_false(mon_names_get(&r, &slow, name, sizeof(name)));
	assert_string_equal(name, "");
	uint64_t first = real_ms() - t0;
	assert_false(mon_names_get(&r, &fast, name, sizeof(name)));
	uint64_t all = real_ms() - t0;
	assert_true(first + 20 >= MON_NAMES_BUDGET_MS);   /* it did wait... */
	assert_true(all < MON_NAMES_BUDGET_MS + SLACK_MS);   /* ...no longer, in all */
	/* The answer arrives after the show; the next show has both. */
	set_gate(true, 0);
	assert_true(wait_calls(&fast, 1));
	uint64_t ms;
	assert_true(get_timed(&slow, name, sizeof(name), &ms));
	assert_string_equal(name, "slow-150.example");
	assert_true(get_timed(&fast, name, sizeof(name), &ms));
	assert_string_equal(name, "host-2.example");
	assert_int_equal(calls_of(&slow), 1);
}

static void test_no_name_kept_for_its_lifetime(void **state)
{
	(void)state;
	char name[MON_NAMES_NAME_MAX];
	uint64_t ms;
	struct mon_addr none = doc(100), named = doc(3);
	assert_false(get_timed(&none, name, sizeof(name), &ms));
	assert_true(ms < MON_NAMES_BUDGET_MS);   /* a failure is an answer: no waiting it out */
	assert_true(get_timed(&named, name, sizeof(name), &ms));
	assert_false(get_timed(&none, name, sizeof(name), &ms));
	assert_int_equal(calls_of(&none), 1);
	advance_s(MON_NAMES_NONE_S - 1);
	assert_false(get_timed(&none, name, sizeof(name), &ms));
	assert_int_equal(calls_of(&none), 1);
	advance_s(2);   /* "no name" is past its lifetime, the name is not */
	assert_false(get_timed(&none, name, sizeof(name), &ms));
	assert_int_equal(calls_of(&none), 2);
	assert_true(get_timed(&named, name, sizeof(name), &ms));
	assert_int_equal(calls_of(&named), 1);
	advance_s(MON_NAMES_FOUND_S);
	assert_true(get_timed(&named, name, sizeof(name), &ms));
	assert_string_equal(name, "host-3.example");
	assert_int_equal(calls_of(&named), 2);
}

static void test_full_queue_answers_no_name_at_once(void **state)
{
	(void)state;
	char name[MON_NAMES_NAME_MAX];
	struct mon_addr busy = doc(150);
	mon_names_ask(&busy);
	assert_true(wait_in_slow(1));   /* the thread is held by it: the rest stay queued */
	for (uint8_t x = 151; x < 151 + MON_NAMES_QUEUE; x++) {
		struct mon_addr a = x < 200 ? doc(x) : v4(10, 0, 0, x);
		mon_names_ask(&a);
	}
	struct mon_addr over = doc(4);
	uint64_t ms;
	assert_false(get_timed(&over, name, sizeof(name), &ms));
	assert_true(ms < MON_NAMES_BUDGET_MS / 2);   /* not queued, so not waited for */
	set_gate(true, 0);
	struct mon_addr last = v4(10, 0, 0, 151 + MON_NAMES_QUEUE - 1);
	assert_true(wait_calls(&last, 1));   /* every queued one was looked up */
	assert_int_equal(calls_of(&over), 0);
	/* "No name" was for that show only: the next asks again. */
	assert_true(get_timed(&over, name, sizeof(name), &ms));
	assert_string_equal(name, "host-4.example");
}

static void test_oldest_answer_gives_way(void **state)
{
	(void)state;
	char name[MON_NAMES_NAME_MAX];
	uint64_t ms;
	struct mon_addr first = v4(10, 0, 0, 0);
	for (unsigned i = 0; i < MON_NAMES_CACHE + 10; i++) {
		struct mon_addr a = v4(10, 0, (uint8_t)(i / 256), (uint8_t)(i % 256));
		assert_true(get_timed(&a, name, sizeof(name), &ms));
	}
	struct mon_addr newest = v4(10, 0, (MON_NAMES_CACHE + 9) / 256, (MON_NAMES_CACHE + 9) % 256);
	assert_true(get_timed(&newest, name, sizeof(name), &ms));
	assert_int_equal(calls_of(&newest), 1);
	assert_true(get_timed(&first, name, sizeof(name), &ms));
	assert_string_equal(name, "h-0-0.example");
	assert_int_equal(calls_of(&first), 2);   /* it had been pushed out */
}

static void test_stop_joins_with_work_queued(void **state)
{
	(void)state;
	set_gate(false, 100);   /* the lookup in progress ends within the stop's wait */
	struct mon_addr busy = doc(150);
	mon_names_ask(&busy);
	assert_true(wait_in_slow(1));
	for (uint8_t x = 151; x < 161; x++) {
		struct mon_addr a = doc(x);
		mon_names_ask(&a);
	}
	uint64_t t0 = real_ms();
	assert_true(mon_names_shutdown());   /* joined */
	assert_true(real_ms() - t0 < MON_NAMES_STOP_MS + SLACK_MS);
	for (uint8_t x = 151; x < 161; x++) {
		struct mon_addr a = doc(x);
		assert_int_equal(calls_of(&a), 0);   /* the queued ones were dropped */
	}
	assert_true(mon_names_shutdown());   /* a second stop has nothing to do */
	/* A later show starts a new thread. */
	char name[MON_NAMES_NAME_MAX];
	uint64_t ms;
	struct mon_addr a = doc(5);
	assert_true(get_timed(&a, name, sizeof(name), &ms));
	assert_string_equal(name, "host-5.example");
}

static void test_stop_leaves_a_long_lookup(void **state)
{
	(void)state;
	set_gate(false, 1500);   /* longer than the stop waits */
	struct mon_addr busy = doc(151);
	mon_names_ask(&busy);
	assert_true(wait_in_slow(1));
	uint64_t t0 = real_ms();
	assert_false(mon_names_shutdown());   /* not joined: left to end on its own */
	uint64_t ms = real_ms() - t0;
	assert_true(ms + 20 >= MON_NAMES_STOP_MS);
	assert_true(ms < MON_NAMES_STOP_MS + SLACK_MS);
	/* A new thread serves while the old one still waits; the old one's
	 * late answer is not stored. */
	char name[MON_NAMES_NAME_MAX];
	struct mon_addr a = doc(6);
	assert_true(get_timed(&a, name, sizeof(name), &ms));
	assert_string_equal(name, "host-6.example");
	set_gate(true, 0);
	assert_true(wait_in_slow(0));
	usleep(20000);   /* the old thread's own exit, after its lookup */
	struct mon_names_request r;
	mon_names_begin(&r);
	pthread_mutex_lock(&fm);
	unsigned before = calls[index_of(&busy)];
	pthread_mutex_unlock(&fm);
	assert_int_equal(before, 1);
	assert_true(mon_names_get(&r, &busy, name, sizeof(name)));   /* asked anew */
	assert_int_equal(calls_of(&busy), 2);
}

static void test_names_printable_only(void **state)
{
	(void)state;
	char name[MON_NAMES_NAME_MAX], small[6];
	uint64_t ms;
	struct mon_addr a = doc(200);
	assert_true(get_timed(&a, name, sizeof(name), &ms));
	assert_string_equal(name, "evil?[2J?name");
	struct mon_names_request r;
	mon_names_begin(&r);
	assert_true(mon_names_get(&r, &a, small, sizeof(small)));
	assert_string_equal(small, "evil?");   /* cut, still terminated */
}

static void test_no_family_no_lookup(void **state)
{
	(void)state;
	char name[MON_NAMES_NAME_MAX] = "x";
	struct mon_addr none;
	memset(&none, 0, sizeof(none));
	struct mon_names_request r;
	mon_names_begin(&r);
	mon_names_ask(&none);
	assert_false(mon_names_get(&r, &none, name, sizeof(name)));
	assert_string_equal(name, "");
	assert_int_equal(calls_of(&none), 0);
	struct mon_addr six;
	memset(&six, 0, sizeof(six));
	six.family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", six.bytes);
	assert_false(mon_names_get(&r, &six, name, 0));   /* no room: no wait either */
}

/* The views: mmsas with resolvedns=yes names the hosts known within the
 * budget, the rest plain, in the layout of today's golden files. */
static void test_mmsas_view(void **state)
{
	(void)state;
	struct mon_snapshot s;
	assert_true(mon_snapshot_init(&s, 1, 0, 0));
	s.nike = s.ike_total = 1;
	s.ike[0].me = doc(1);
	s.ike[0].peer = doc(152);   /* slow: not known within the budget */
	s.ike[0].me_port = s.ike[0].peer_port = 500;
	snprintf(s.ike[0].state, sizeof(s.ike[0].state), "established");
	struct mon_filter flt = { .resolvedns = true };
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	assert_non_null(f);
	uint64_t t0 = real_ms();
	mon_render_mmsas(f, &s, &flt, MON_LIST, false);
	uint64_t ms = real_ms() - t0;
	fclose(f);
	assert_true(ms < MON_NAMES_BUDGET_MS + SLACK_MS);
	assert_non_null(strstr(out, "192.0.2.1           , port 500 (host-1.example)\n"));
	assert_non_null(strstr(out, "192.0.2.152         , port 500\n"));
	free(out);
	mon_snapshot_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_name_then_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget_then_later_show, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_name_kept_for_its_lifetime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_queue_answers_no_name_at_once, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_oldest_answer_gives_way, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_joins_with_work_queued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_leaves_a_long_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_printable_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_family_no_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmsas_view, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
