/*
 * Anti-replay window tests: in-order, duplicate, out-of-order and edge
 * acceptance for each window size; big jumps (past the window, past the
 * ring); replay_check leaving the state alone; ESN high-bit inference
 * (RFC 4303 Appendix A); sequence number 0; and a randomized differential
 * test against a reference model that remembers every accepted number.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sad/replay.h"

static const uint32_t sizes[] = { 0, 32, 64, 1024, 4096, 8192 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static uint32_t rounded(uint32_t size)
{
	return (size + 63) / 64 * 64;
}

/* Check then, if new, update: what the receive path does when the ICV verifies. */
static enum replay_verdict rx(struct replay_window *w, uint32_t low, uint64_t *full)
{
	uint64_t f = 0;
	enum replay_verdict v = replay_check(w, low, &f);
	if (v == REPLAY_OK)
		replay_update(w, f);
	if (full)
		*full = f;
	return v;
}

static enum replay_verdict chk(const struct replay_window *w, uint32_t low)
{
	uint64_t f;
	return replay_check(w, low, &f);
}

/*
 * A number just left of the window. Without ESN: REPLAY_TOO_OLD. With ESN
 * the low bits alone cannot say "old": RFC 4303 A2.2 takes a number below
 * the window's bottom Bl to be in the next subspace (Seqh = Th + 1), i.e.
 * far ahead; the ICV then fails (and A3 counts such failures).
 */
static void assert_left_of_window(const struct replay_window *w, uint64_t seq)
{
	uint64_t f = 0;
	enum replay_verdict v = replay_check(w, (uint32_t)seq, &f);
	if (!w->esn) {
		assert_int_equal(v, REPLAY_TOO_OLD);
		assert_int_equal(f, seq);
	} else {
		assert_int_equal(v, REPLAY_OK);
		assert_int_equal(f, seq + (UINT64_C(1) << 32));
	}
}

static void test_init_rounds_size(void **state)
{
	(void)state;
	static const struct { uint32_t in, out; } cases[] = {
		{ 0, 0 }, { 1, 64 }, { 32, 64 }, { 63, 64 }, { 64, 64 }, { 65, 128 },
		{ 1024, 1024 }, { 4096, 4096 }, { 8191, 8192 }, { 8192, 8192 },
		{ 8193, 8192 }, { UINT32_MAX, 8192 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct replay_window w;
		memset(&w, 0xa5, sizeof(w));
		replay_init(&w, cases[i].in, i % 2);
		assert_int_equal(w.size, cases[i].out);
		assert_int_equal(w.top, 0);
		assert_int_equal(w.esn, i % 2);
		for (size_t j = 0; j < sizeof(w.bits) / sizeof(w.bits[0]); j++)
			assert_int_equal(w.bits[j], 0);
	}
}

static void test_in_order_and_duplicates(void **state)
{
	(void)state;
	for (size_t k = 0; k < NSIZES; k++) {
		for (int esn = 0; esn <= 1; esn++) {
			struct replay_window w;
			replay_init(&w, sizes[k], esn);
			uint32_t n = 3 * rounded(sizes[k]) + 200;
			for (uint32_t s = 1; s <= n; s++) {
				uint64_t f;
				assert_int_equal(rx(&w, s, &f), REPLAY_OK);
				assert_int_equal(f, s);
				assert_int_equal(w.top, s);
				/* the same packet again */
				enum replay_verdict again = chk(&w, s);
				assert_int_equal(again, sizes[k] ? REPLAY_DUPLICATE : REPLAY_OK);
			}
			/* every number still in the window is a duplicate */
			uint32_t sz = rounded(sizes[k]);
			for (uint32_t d = 0; d < sz; d++)
				assert_int_equal(chk(&w, n - d), REPLAY_DUPLICATE);
			if (sz)
				assert_left_of_window(&w, n - sz);
		}
	}
}

static void test_out_of_order_within_window(void **state)
{
	(void)state;
	for (size_t k = 1; k < NSIZES; k++) {
		uint32_t sz = rounded(sizes[k]);
		struct replay_window w;
		replay_init(&w, sizes[k], false);
		uint32_t top = 100000;
		assert_int_equal(rx(&w, top, NULL), REPLAY_OK);
		/* odd ones, descending, then even ones, ascending */
		for (uint32_t s = top - 1; s > top - sz; s--)
			if (s % 2)
				assert_int_equal(rx(&w, s, NULL), REPLAY_OK);
		for (uint32_t s = top - sz + 1; s < top; s++)
			if (s % 2 == 0)
				assert_int_equal(rx(&w, s, NULL), REPLAY_OK);
		for (uint32_t s = top - sz + 1; s <= top; s++)
			assert_int_equal(chk(&w, s), REPLAY_DUPLICATE);
		assert_int_equal(w.top, top);
		/* a gap ahead of top is filled later */
		assert_int_equal(rx(&w, top + 10, NULL), REPLAY_OK);
		for (uint32_t s = top + 1; s < top + 10; s++)
			assert_int_equal(rx(&w, s, NULL), REPLAY_OK);
		for (uint32_t s = top + 1; s <= top + 10; s++)
			assert_int_equal(chk(&w, s), REPLAY_DUPLICATE);
	}
}

static void test_left_edge(void **state)
{
	(void)state;
	for (size_t k = 1; k < NSIZES; k++) {
		uint32_t sz = rounded(sizes[k]);
		/* tops at, just before and just after a word boundary */
		static const uint32_t tops[] = { 50000, 50047, 50048, 50049, 50111 };
		for (size_t t = 0; t < sizeof(tops) / sizeof(tops[0]); t++) {
			for (int esn = 0; esn <= 1; esn++) {
				struct replay_window w;
				replay_init(&w, sizes[k], esn);
				uint32_t top = tops[t];
				assert_int_equal(rx(&w, top, NULL), REPLAY_OK);
				assert_left_of_window(&w, top - sz);
				assert_left_of_window(&w, top - sz - 1);
				assert_int_equal(chk(&w, top - sz + 1), REPLAY_OK);
				assert_int_equal(rx(&w, top - sz + 1, NULL), REPLAY_OK);
				assert_int_equal(chk(&w, top - sz + 1), REPLAY_DUPLICATE);
				/* updates of too-old numbers are ignored */
				struct replay_window before;
				memcpy(&before, &w, sizeof(w));
				for (uint32_t d = sz; d < sz + 200; d++)
					replay_update(&w, top - d);
				assert_memory_equal(&w, &before, sizeof(w));
				assert_left_of_window(&w, top - sz);
				/* one step right: the old edge falls out */
				assert_int_equal(rx(&w, top + 1, NULL), REPLAY_OK);
				assert_left_of_window(&w, top - sz + 1);
				assert_int_equal(chk(&w, top - sz + 2), REPLAY_OK);
			}
		}
	}
}

static void test_window_size_zero_is_off(void **state)
{
	(void)state;
	struct replay_window w;
	replay_init(&w, 0, false);
	uint64_t f;
	assert_int_equal(rx(&w, 0, &f), REPLAY_OK);
	assert_int_equal(f, 0);
	assert_int_equal(rx(&w, 1000, &f), REPLAY_OK);
	assert_int_equal(w.top, 1000);
	assert_int_equal(rx(&w, 1000, &f), REPLAY_OK);
	assert_int_equal(rx(&w, 1, &f), REPLAY_OK);
	assert_int_equal(f, 1);
	assert_int_equal(w.top, 1000);
	assert_int_equal(rx(&w, UINT32_MAX, &f), REPLAY_OK);
	assert_int_equal(f, UINT32_MAX);
	assert_int_equal(w.top, UINT32_MAX);
	/* the counter may cycle when anti-replay is off (RFC 4303 3.3.3) */
	assert_int_equal(rx(&w, 0, &f), REPLAY_OK);
	assert_int_equal(f, 0);
}

/* For each size, jump ahead by various amounts after filling the window. */
static void test_big_jumps(void **state)
{
	(void)state;
	for (size_t k = 1; k < NSIZES; k++) {
		for (int esn = 0; esn <= 1; esn++) {
			uint32_t sz = rounded(sizes[k]);
			uint64_t ring = (uint64_t)(sz / 64 + 1) * 64;
			const uint64_t jumps[] = {
				1, 63, 64, 65, sz - 1, sz, sz + 1, ring - 64, ring - 1, ring,
				ring + 1, ring + 63, ring + 64, 2 * ring + 5, 10 * ring + 17,
				1000000,
			};
			for (size_t j = 0; j < sizeof(jumps) / sizeof(jumps[0]); j++) {
				struct replay_window w;
				replay_init(&w, sizes[k], esn);
				uint64_t top = 3 * ring + 7;
				/* accept everything up to top */
				for (uint64_t s = 1; s <= top; s++)
					assert_int_equal(rx(&w, (uint32_t)s, NULL), REPLAY_OK);
				uint64_t nt = top + jumps[j];
				uint64_t f;
				assert_int_equal(rx(&w, (uint32_t)nt, &f), REPLAY_OK);
				assert_int_equal(f, nt);
				assert_int_equal(w.top, nt);
				/* the new window: old numbers still inside are
				 * duplicates, everything else in it is new (no
				 * stale bits left in reused ring slots) */
				for (uint64_t s = nt - sz + 1; s < nt; s++) {
					enum replay_verdict want = s <= top ? REPLAY_DUPLICATE : REPLAY_OK;
					assert_int_equal(chk(&w, (uint32_t)s), want);
				}
				assert_int_equal(chk(&w, (uint32_t)nt), REPLAY_DUPLICATE);
				/* left of the new window */
				assert_left_of_window(&w, nt - sz);
				if (top + sz > nt)
					assert_int_equal(chk(&w, (uint32_t)top), REPLAY_DUPLICATE);
				else
					assert_left_of_window(&w, top);
				assert_left_of_window(&w, 1);
				/* fill the new window in reverse: all accepted once */
				for (uint64_t s = nt - 1; s > nt - sz; s--) {
					enum replay_verdict want = s <= top ? REPLAY_DUPLICATE : REPLAY_OK;
					assert_int_equal(rx(&w, (uint32_t)s, NULL), want);
					assert_int_equal(chk(&w, (uint32_t)s), REPLAY_DUPLICATE);
				}
			}
		}
	}
}

static void test_check_does_not_change_state(void **state)
{
	(void)state;
	for (size_t k = 0; k < NSIZES; k++) {
		for (int esn = 0; esn <= 1; esn++) {
			struct replay_window w, copy;
			replay_init(&w, sizes[k], esn);
			for (uint32_t s = 1; s < 20000; s += 3)
				rx(&w, s, NULL);
			memcpy(&copy, &w, sizeof(w));
			uint64_t f;
			for (uint32_t s = 0; s < 40000; s++)
				(void)replay_check(&w, s, &f);
			(void)replay_check(&w, UINT32_MAX, &f);
			(void)replay_check(&w, 0x80000000u, &f);
			assert_memory_equal(&w, &copy, sizeof(w));
			/* a checked but not updated number is still new */
			assert_int_equal(chk(&w, 19998), REPLAY_OK);
			assert_int_equal(chk(&w, 19998), REPLAY_OK);
			assert_int_equal(w.top, copy.top);
		}
	}
}

static void test_zero_in_32bit_mode(void **state)
{
	(void)state;
	for (size_t k = 1; k < NSIZES; k++) {
		struct replay_window w;
		replay_init(&w, sizes[k], false);
		uint64_t f = 99;
		assert_int_equal(replay_check(&w, 0, &f), REPLAY_ZERO);
		assert_int_equal(f, 0);
		rx(&w, 5, NULL);
		assert_int_equal(chk(&w, 0), REPLAY_ZERO);
		rx(&w, UINT32_MAX, NULL);
		assert_int_equal(chk(&w, 0), REPLAY_ZERO);
		/* no ESN: low numbers after 2^32 - 1 are simply old */
		assert_int_equal(replay_check(&w, 5, &f), REPLAY_TOO_OLD);
		assert_int_equal(f, 5);
		assert_int_equal(chk(&w, UINT32_MAX), REPLAY_DUPLICATE);
		assert_int_equal(chk(&w, UINT32_MAX - 1), REPLAY_OK);
	}
}

static void set_top(struct replay_window *w, uint64_t top)
{
	replay_update(w, top);
	assert_int_equal(w->top, top);
}

/* RFC 4303 A2.2, window spans two subspaces (Tl < W - 1). */
static void test_esn_window_spans_two_subspaces(void **state)
{
	(void)state;
	for (size_t k = 1; k < NSIZES; k++) {
		uint32_t sz = rounded(sizes[k]);
		struct replay_window w;
		replay_init(&w, sizes[k], true);
		set_top(&w, UINT64_C(0x100000005));
		uint64_t f;
		/* Bl = 5 - W + 1 mod 2^32: at or above it, Seqh = Th - 1 */
		assert_int_equal(replay_check(&w, 0xFFFFFFF0u, &f), REPLAY_OK);
		assert_int_equal(f, UINT64_C(0x0FFFFFFF0));
		uint32_t bl = (uint32_t)(5 - sz + 1);
		assert_int_equal(replay_check(&w, bl, &f), REPLAY_OK);
		assert_int_equal(f, UINT64_C(0x000000000) | bl);
		/* below Bl: Seqh = Th, i.e. well ahead of top */
		assert_int_equal(replay_check(&w, bl - 1, &f), REPLAY_OK);
		assert_int_equal(f, UINT64_C(0x100000000) | (bl - 1));
		/* Seqh = Th for low numbers */
		assert_int_equal(replay_check(&w, 6, &f), REPLAY_OK);
		assert_int_equal(f, UINT64_C(0x100000006));
		assert_int_equal(replay_check(&w, 5, &f), REPLAY_DUPLICATE);
		assert_int_equal(f, UINT64_C(0x100000005));
		assert_int_equal(replay_check(&w, 0, &f), REPLAY_OK);
		assert_int_equal(f, UINT64_C(0x100000000));
		/* accept packets on both sides of the 2^32 boundary */
		for (uint32_t low = 0xFFFFFFF0u; low != 5; low++)
			assert_int_equal(rx(&w, low, NULL), REPLAY_OK);
		assert_int_equal(w.top, UINT64_C(0x100000005));
		for (uint32_t low = 0xFFFFFFF0u; low != 6; low++)
			assert_int_equal(replay_check(&w, low, &f), REPLAY_DUPLICATE);
		assert_int_equal(rx(&w, 6, &f), REPLAY_OK);
		assert_int_equal(f, UINT64_C(0x100000006));
		assert_int_equal(w.top, UINT64_C(0x100000006));
		assert_int_equal(chk(&w, 0xFFFFFFF0u), REPLAY_DUPLICATE);
	}
}

/* RFC 4303 A2.2, window within one subspace (Tl >= W - 1). */
static void test_esn_window_within_one_subspace(void **state)
{
	(void)state;
	for (size_t k = 1; k < NSIZES; k++) {
		uint32_t sz = rounded(sizes[k]);
		struct replay_window w;
		replay_init(&w, sizes[k], true);
		uint64_t top = UINT64_C(0x100010000);
		set_top(&w, top);
		uint32_t bl = (uint32_t)top - sz + 1;
		uint64_t f;
		assert_int_equal(replay_check(&w, bl, &f), REPLAY_OK);
		assert_int_equal(f, UINT64_C(0x100000000) | bl);
		assert_int_equal(replay_check(&w, 0x10001u, &f), REPLAY_OK);
		assert_int_equal(f, top + 1);
		assert_int_equal(replay_check(&w, 0xFFFFFFFFu, &f), REPLAY_OK);
		assert_int_equal(f, UINT64_C(0x1FFFFFFFF));
		/* below Bl: next subspace, Seqh = Th + 1 */
		assert_int_equal(replay_check(&w, bl - 1, &f), REPLAY_OK);
		assert_int_equal(f, UINT64_C(0x200000000) | (bl - 1));
		assert_int_equal(replay_check(&w, 0, &f), REPLAY_OK);
		assert_int_equal(f, UINT64_C(0x200000000));
		/* Tl == W - 1 exactly: Bl = 0, still one subspace */
		replay_init(&w, sizes[k], true);
		set_top(&w, UINT64_C(0x300000000) + sz - 1);
		assert_int_equal(replay_check(&w, 0, &f), REPLAY_OK);
		assert_int_equal(f, UINT64_C(0x300000000));
		assert_int_equal(replay_check(&w, UINT32_MAX, &f), REPLAY_OK);
		assert_int_equal(f, UINT64_C(0x3FFFFFFFF));
		/* Tl == W - 2: spans two, Bl = 2^32 - 1 */
		replay_init(&w, sizes[k], true);
		set_top(&w, UINT64_C(0x300000000) + sz - 2);
		assert_int_equal(replay_check(&w, UINT32_MAX, &f), REPLAY_OK);
		assert_int_equal(f, UINT64_C(0x2FFFFFFFF));
		assert_int_equal(replay_check(&w, UINT32_MAX - 1, &f), REPLAY_OK);
		assert_int_equal(f, UINT64_C(0x3FFFFFFFE));
	}
}

/* A stream carried only by its low 32 bits across several 2^32 wraps. */
static void test_esn_stream_across_wraps(void **state)
{
	(void)state;
	for (size_t k = 1; k < NSIZES; k++) {
		struct replay_window w;
		replay_init(&w, sizes[k], true);
		uint32_t sz = rounded(sizes[k]);
		set_top(&w, UINT64_C(0xFFFFF000));
		uint64_t prev = UINT64_C(0xFFFFF000);
		unsigned wraps = 0;
		for (uint64_t s = UINT64_C(0xFFFFF001); s < UINT64_C(0x300001000); ) {
			uint64_t f;
			assert_int_equal(rx(&w, (uint32_t)s, &f), REPLAY_OK);
			assert_int_equal(f, s);
			assert_int_equal(w.top, s);
			if ((uint32_t)s < 7)
				wraps++;
			/* the previous packet, if still inside the window */
			if (s - prev < sz) {
				assert_int_equal(replay_check(&w, (uint32_t)prev, &f), REPLAY_DUPLICATE);
				assert_int_equal(f, prev);
			}
			prev = s;
			/* small steps near each wrap, large ones in between */
			uint32_t low = (uint32_t)s;
			if (low > 0x10000u && low < 0xFFFF0000u)
				s += 0xFFFF0000u - low < 0x1000000u ? 0xFFFF0000u - low : 0x1000000u;
			else
				s += 7;
		}
		assert_int_equal(wraps, 3);
	}
}

static void test_esn_edges_of_the_space(void **state)
{
	(void)state;
	uint64_t f;
	struct replay_window w;
	replay_init(&w, 64, true);
	/* fresh SA: 0 is ZERO; low numbers just below 2^32 would be negative */
	assert_int_equal(replay_check(&w, 0, &f), REPLAY_ZERO);
	assert_int_equal(f, 0);
	assert_int_equal(replay_check(&w, UINT32_MAX, &f), REPLAY_TOO_OLD);
	assert_int_equal(f, UINT64_MAX);
	assert_int_equal(replay_check(&w, UINT32_MAX - 62, &f), REPLAY_TOO_OLD);
	assert_int_equal(replay_check(&w, UINT32_MAX - 63, &f), REPLAY_OK);
	assert_int_equal(f, UINT32_MAX - 63);
	assert_int_equal(replay_check(&w, 1, &f), REPLAY_OK);
	assert_int_equal(f, 1);
	/* full 0 inside the window */
	set_top(&w, 10);
	assert_int_equal(chk(&w, 0), REPLAY_ZERO);
	set_top(&w, 63);
	assert_int_equal(chk(&w, 0), REPLAY_ZERO);
	set_top(&w, 64);
	assert_int_equal(replay_check(&w, 0, &f), REPLAY_OK);
	assert_int_equal(f, UINT64_C(0x100000000));
	/* after a wrap, low 0 is a real number */
	replay_init(&w, 64, true);
	set_top(&w, UINT32_MAX);
	assert_int_equal(rx(&w, 0, &f), REPLAY_OK);
	assert_int_equal(f, UINT64_C(0x100000000));
	assert_int_equal(chk(&w, 0), REPLAY_DUPLICATE);
	/* the top of the space: the counter must not cycle */
	replay_init(&w, 64, true);
	set_top(&w, UINT64_C(0xFFFFFFFF00001000));
	assert_int_equal(replay_check(&w, 0x1001, &f), REPLAY_OK);
	assert_int_equal(f, UINT64_C(0xFFFFFFFF00001001));
	assert_int_equal(replay_check(&w, 0, &f), REPLAY_TOO_OLD);
	assert_int_equal(f, 0);
	set_top(&w, UINT64_MAX);
	assert_int_equal(chk(&w, UINT32_MAX), REPLAY_DUPLICATE);
	assert_int_equal(replay_check(&w, 5, &f), REPLAY_TOO_OLD);
	assert_int_equal(f, 5);
	assert_int_equal(replay_check(&w, UINT32_MAX - 63, &f), REPLAY_OK);
	assert_int_equal(f, UINT64_MAX - 63);
	assert_int_equal(chk(&w, UINT32_MAX - 64), REPLAY_TOO_OLD);
}

static void test_esn_window_off_still_infers(void **state)
{
	(void)state;
	uint64_t f;
	struct replay_window w;
	replay_init(&w, 0, true);
	assert_int_equal(replay_check(&w, 0, &f), REPLAY_OK);
	assert_int_equal(f, 0);
	/* nothing precedes 0: the candidate in top's subspace */
	assert_int_equal(replay_check(&w, UINT32_MAX, &f), REPLAY_OK);
	assert_int_equal(f, UINT32_MAX);
	set_top(&w, UINT64_C(0x100000005));
	assert_int_equal(replay_check(&w, 0xFFFFFFF0u, &f), REPLAY_OK);
	assert_int_equal(f, UINT64_C(0xFFFFFFF0));
	assert_int_equal(replay_check(&w, 6, &f), REPLAY_OK);
	assert_int_equal(f, UINT64_C(0x100000006));
	assert_int_equal(replay_check(&w, 5, &f), REPLAY_OK);      /* off: no duplicates */
	assert_int_equal(f, UINT64_C(0x100000005));
	/* inference window 2^31: up to 2^31 - 1 behind, 2^31 ahead */
	assert_int_equal(replay_check(&w, 0x80000006u, &f), REPLAY_OK);
	assert_int_equal(f, UINT64_C(0x080000006));
	assert_int_equal(replay_check(&w, 0x80000005u, &f), REPLAY_OK);
	assert_int_equal(f, UINT64_C(0x180000005));
	/* updates move top; older ones do not */
	replay_update(&w, UINT64_C(0x100000003));
	assert_int_equal(w.top, UINT64_C(0x100000005));
	replay_update(&w, UINT64_C(0x1F0000000));
	assert_int_equal(w.top, UINT64_C(0x1F0000000));
	assert_int_equal(replay_check(&w, 0x10, &f), REPLAY_OK);
	assert_int_equal(f, UINT64_C(0x200000010));
	/* top of the space */
	set_top(&w, UINT64_C(0xFFFFFFFF00000010));
	assert_int_equal(replay_check(&w, 0x0F, &f), REPLAY_OK);
	assert_int_equal(f, UINT64_C(0xFFFFFFFF0000000F));
	assert_int_equal(replay_check(&w, 0x90000000u, &f), REPLAY_OK);
	assert_int_equal(f, UINT64_C(0xFFFFFFFE90000000));
	/* nothing follows 2^64 - 1: the candidate in top's subspace */
	set_top(&w, UINT64_C(0xFFFFFFFFF0000000));
	assert_int_equal(replay_check(&w, 0x10, &f), REPLAY_OK);
	assert_int_equal(f, UINT64_C(0xFFFFFFFF00000010));
	assert_int_equal(replay_check(&w, 0x70000001u, &f), REPLAY_OK);
	assert_int_equal(f, UINT64_C(0xFFFFFFFF70000001));
}

/* ---- differential test ------------------------------------------------ */

typedef unsigned __int128 u128;
typedef __int128 i128;

/* Reference: every accepted number in an open-addressing hash set. */
#define SET_BITS 19
#define SET_CAP (1u << SET_BITS)
struct refset {
	uint64_t *slot;
	bool *used;                       /* slot[i] holds a value */
	size_t n;
};

static size_t set_hash(uint64_t v)
{
	v ^= v >> 33;
	v *= UINT64_C(0xff51afd7ed558ccd);
	v ^= v >> 33;
	return (size_t)(v & (SET_CAP - 1));
}

static bool set_has(const struct refset *s, uint64_t v)
{
	for (size_t i = set_hash(v);; i = (i + 1) & (SET_CAP - 1)) {
		if (!s->used[i])
			return false;
		if (s->slot[i] == v)
			return true;
	}
}

static void set_add(struct refset *s, uint64_t v)
{
	size_t i = set_hash(v);
	while (s->used[i]) {
		if (s->slot[i] == v)
			return;
		i = (i + 1) & (SET_CAP - 1);
	}
	assert_true(s->n < SET_CAP / 2);
	s->used[i] = true;
	s->slot[i] = v;
	s->n++;
}

struct refmodel {
	struct refset set;
	uint64_t top;
	uint32_t size;                    /* rounded */
	bool esn;
};

/*
 * The reference verdict, straight from the definitions rather than the RFC
 * case analysis: the packet is the one integer with these low 32 bits in
 * [top - W + 1, top - W + 1 + 2^32) (W = 2^31 and the range kept inside
 * [0, 2^64) when the window is off); it is old if at most top - W, new if
 * above top or not yet accepted.
 */
static enum replay_verdict ref_check(const struct refmodel *m, uint32_t low, uint64_t *full)
{
	if (!m->esn) {
		*full = low;
		if (m->size == 0)
			return REPLAY_OK;
		if (low == 0)
			return REPLAY_ZERO;
		if (low > m->top)
			return REPLAY_OK;
		if ((uint64_t)low + m->size <= m->top)
			return REPLAY_TOO_OLD;
		return set_has(&m->set, low) ? REPLAY_DUPLICATE : REPLAY_OK;
	}
	const i128 two32 = (i128)1 << 32;
	const i128 two64 = (i128)1 << 64;
	i128 win = m->size ? (i128)m->size : ((i128)1 << 31);
	i128 bottom = (i128)m->top - win + 1;
	if (m->size == 0) {
		if (bottom < 0)
			bottom = 0;
		if (bottom > two64 - two32)
			bottom = two64 - two32;
	}
	/* smallest c >= bottom with c = low mod 2^32 */
	i128 c = bottom - (bottom % two32 + two32) % two32 + low;
	if (c < bottom)
		c += two32;
	assert_true(c >= bottom && c < bottom + two32);
	assert_true((uint32_t)(u128)c == low);
	*full = (uint64_t)(u128)c;        /* modulo 2^64 */
	if (m->size == 0)
		return REPLAY_OK;
	if (c < 0 || c >= two64)
		return REPLAY_TOO_OLD;
	if (c == 0)
		return REPLAY_ZERO;
	if (c > (i128)m->top)
		return REPLAY_OK;
	if (c <= (i128)m->top - m->size)
		return REPLAY_TOO_OLD;
	return set_has(&m->set, (uint64_t)c) ? REPLAY_DUPLICATE : REPLAY_OK;
}

static void ref_update(struct refmodel *m, uint64_t full)
{
	set_add(&m->set, full);
	if (full > m->top)
		m->top = full;
}

/* xorshift64*: fixed seed, same run everywhere. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * UINT64_C(0x2545F4914F6CDD1D);
}
static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/*
 * The number the sender "really" sent, near the receiver's top: mostly in
 * order, reordered inside and around the window, exact edges, duplicates,
 * jumps past the window and the ring, far old ones; with ESN also jumps of
 * up to 2^33 (beyond what the inference can follow; the ICV then fails).
 */
static uint64_t gen_seq(const struct refmodel *m, const uint64_t *recent, size_t nrecent,
                        size_t rpos, uint64_t space_max)
{
	i128 top = m->top;
	i128 w = m->size ? m->size : 1024;
	i128 ring = (w / 64 + 1) * 64;
	i128 c;
	unsigned r = (unsigned)rnd_below(100);
	if (r < 35)
		c = top + 1 + (i128)rnd_below(4);
	else if (r < 55)
		c = top - (i128)rnd_below((uint64_t)(w + w / 2 + 2));
	else if (r < 63)              /* one of the last few accepted */
		c = nrecent ? (i128)recent[(rpos + 64 - 1 - rnd_below(nrecent < 8 ? nrecent : 8)) % 64]
		            : top;
	else if (r < 71) {
		static const int off[] = { -1, 0, 1, 63, 64, 65 };
		c = top - w + off[rnd_below(6)];
	} else if (r < 81)
		c = top + w / 2 + (i128)rnd_below((uint64_t)(3 * w));
	else if (r < 88)
		c = top + ring - 64 + (i128)rnd_below((uint64_t)(4 * ring));
	else if (r < 93)
		c = top + (i128)rnd_below(1u << 16);
	else if (r < 97)
		c = top - (i128)rnd_below(1u << 20);
	else if (r < 99 && m->esn)
		c = top + (i128)rnd_below(UINT64_C(1) << 33);
	else if (r == 99 && m->esn)   /* any low half, in top's subspace */
		c = (i128)((m->top & ~(uint64_t)UINT32_MAX) | (uint32_t)rnd());
	else
		c = (i128)rnd_below(64);  /* includes 0 */
	if (c < 0)
		c = (i128)rnd_below(3);
	if (c > (i128)space_max)
		c = (i128)space_max - (i128)rnd_below(4);
	return (uint64_t)(u128)c;
}

static void differential_run(uint32_t size, bool esn, uint64_t start, uint64_t space_max,
                             unsigned ops, struct refmodel *m)
{
	struct replay_window w;
	replay_init(&w, size, esn);
	memset(m->set.used, 0, SET_CAP * sizeof(m->set.used[0]));
	m->set.n = 0;
	m->top = 0;
	m->size = rounded(size);
	m->esn = esn;
	if (start) {
		replay_update(&w, start);
		ref_update(m, start);
	}
	uint64_t recent[64];
	size_t nrecent = 0, rpos = 0;
	unsigned counts[4] = { 0 };
	for (unsigned i = 0; i < ops; i++) {
		uint64_t sent = gen_seq(m, recent, nrecent, rpos, space_max);
		uint32_t low = (uint32_t)sent;
		uint64_t got_full = 0, want_full = 0;
		struct replay_window before;
		memcpy(&before, &w, sizeof(w));
		enum replay_verdict got = replay_check(&w, low, &got_full);
		enum replay_verdict want = ref_check(m, low, &want_full);
		if (got != want || got_full != want_full || memcmp(&before, &w, sizeof(w)) != 0)
			fail_msg("size %u esn %d op %u: top %#llx low %#x: got %d/%#llx, want %d/%#llx",
			         size, esn, i, (unsigned long long)m->top, low, (int)got,
			         (unsigned long long)got_full, (int)want, (unsigned long long)want_full);
		counts[got]++;
		/* The ICV verifies only if the inferred number is the one sent;
		 * and now and then it fails anyway (a forged packet). */
		if (got == REPLAY_OK && got_full == sent && rnd_below(100) >= 3) {
			replay_update(&w, got_full);
			ref_update(m, got_full);
			recent[rpos] = got_full;
			rpos = (rpos + 1) % 64;
			if (nrecent < 64)
				nrecent++;
		}
		if (w.top != m->top)
			fail_msg("size %u esn %d op %u: top %#llx, want %#llx", size, esn, i,
			         (unsigned long long)w.top, (unsigned long long)m->top);
	}
	if (getenv("REPLAY_TEST_VERBOSE"))
		printf("size %u esn %d start %#llx: ok %u dup %u old %u zero %u\n", size, esn,
		       (unsigned long long)start, counts[0], counts[1], counts[2], counts[3]);
	/* every verdict the window can give was exercised */
	assert_true(counts[REPLAY_OK] > ops / 10);
	if (size) {
		assert_true(counts[REPLAY_DUPLICATE] > ops / 50);
		if (!esn) {
			assert_true(counts[REPLAY_TOO_OLD] > ops / 50);
			assert_true(counts[REPLAY_ZERO] > 0);
		}
	}
}

static void test_differential(void **state)
{
	(void)state;
	struct refmodel m;
	m.set.slot = calloc(SET_CAP, sizeof(m.set.slot[0]));
	m.set.used = calloc(SET_CAP, sizeof(m.set.used[0]));
	assert_non_null(m.set.slot);
	assert_non_null(m.set.used);
	rng_state = UINT64_C(0x9E3779B97F4A7C15);
	for (size_t k = 0; k < NSIZES; k++) {
		/* ~200k operations per window size */
		differential_run(sizes[k], false, 0, UINT32_MAX, 70000, &m);
		differential_run(sizes[k], true, 0, UINT64_MAX, 30000, &m);
		differential_run(sizes[k], true, UINT64_C(0xFFFF0000), UINT64_MAX, 60000, &m);
		differential_run(sizes[k], true, UINT64_C(0x7FFFFFFFFFF00000), UINT64_MAX, 20000, &m);
		differential_run(sizes[k], true, UINT64_MAX - (UINT64_C(1) << 36), UINT64_MAX, 20000, &m);
	}
	free(m.set.slot);
	free(m.set.used);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rounds_size),
		cmocka_unit_test(test_in_order_and_duplicates),
		cmocka_unit_test(test_out_of_order_within_window),
		cmocka_unit_test(test_left_edge),
		cmocka_unit_test(test_window_size_zero_is_off),
		cmocka_unit_test(test_big_jumps),
		cmocka_unit_test(test_check_does_not_change_state),
		cmocka_unit_test(test_zero_in_32bit_mode),
		cmocka_unit_test(test_esn_window_spans_two_subspaces),
		cmocka_unit_test(test_esn_window_within_one_subspace),
		cmocka_unit_test(test_esn_stream_across_wraps),
		cmocka_unit_test(test_esn_edges_of_the_space),
		cmocka_unit_test(test_esn_window_off_still_infers),
		cmocka_unit_test(test_differential),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
