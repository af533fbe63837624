/*
 * replay — anti-replay window (RFC 4303 §3.4.3 and Appendix A) kept as a
 * ring of 64-bit words (RFC 6479).
 *
 * The window holds the `size` sequence numbers top - size + 1 .. top. Bit
 * `s & 63` of word `(s >> 6) % nwords` records sequence number s, where
 * nwords = size / 64 + 1. Those nwords consecutive words always cover the
 * window (its lowest number lies in word (top >> 6) - size / 64 or later), so
 * when top moves into a new word only the words it passes need clearing: the
 * slots they reuse belonged to words that are now wholly left of the window.
 * Nothing is ever shifted.
 *
 * High-order bits with ESN (RFC 4303 A2.2): with Tl/Th the low/high halves
 * of top and Bl = Tl - W + 1 (mod 2^32) the low half of the window's bottom,
 *   window within one subspace (Tl >= W - 1):
 *       Seql >= Bl  ->  Seqh = Th        else  Seqh = Th + 1
 *   window spans two subspaces (Tl < W - 1):
 *       Seql >= Bl  ->  Seqh = Th - 1    else  Seqh = Th
 * i.e. the packet is the one number with those low bits in
 * [top - W + 1, top - W + 1 + 2^32).
 *
 * Edges of the 64-bit space, which a conforming sender never reaches (it
 * starts at 1 and must not cycle the counter):
 *   - Th - 1 below 0: the number would be negative, left of everything ever
 *     sent: REPLAY_TOO_OLD. Th + 1 above 2^32 - 1: the number would need the
 *     counter to cycle: REPLAY_TOO_OLD as well. *seq_full is then the
 *     inferred value modulo 2^64.
 *   - An inferred full number 0 is REPLAY_ZERO, as in 32-bit mode.
 *
 * Anti-replay off (size 0): every packet is REPLAY_OK. With ESN the high
 * bits are still inferred, with a window of 2^31 (the candidate nearest to
 * top: up to 2^31 - 1 behind it, up to 2^31 ahead), kept inside the 64-bit
 * space at both ends; top still follows the highest number updated.
 */
#include "sad/replay.h"

#include <string.h>

#define WORD_BITS 64u
#define OFF_INFER_WINDOW (UINT64_C(1) << 31)

static inline uint32_t ring_words(const struct replay_window *w)
{
	return w->size / WORD_BITS + 1;
}

void replay_init(struct replay_window *w, uint32_t size, bool esn)
{
	memset(w, 0, sizeof(*w));
	if (size > REPLAY_MAX_WINDOW)
		size = REPLAY_MAX_WINDOW;
	w->size = (size + (WORD_BITS - 1)) & ~(uint32_t)(WORD_BITS - 1);
	w->esn = esn;
}

/*
 * RFC 4303 A2.2 for a window of win packets (1 .. 2^31). Returns the full
 * number modulo 2^64; *edge is -1 if the true value is below 0, +1 if it is
 * 2^64 or more, 0 otherwise.
 */
static uint64_t infer_esn(uint64_t top, uint64_t win, uint32_t seql, int *edge)
{
	uint32_t tl = (uint32_t)top;
	uint32_t th = (uint32_t)(top >> 32);
	uint32_t bl = (uint32_t)(tl - win + 1);
	uint32_t sh;

	*edge = 0;
	if (tl >= win - 1) {
		/* Window within one subspace. */
		if (seql >= bl) {
			sh = th;
		} else {
			sh = th + 1;
			if (th == UINT32_MAX)
				*edge = 1;
		}
	} else {
		/* Window spans two subspaces. */
		if (seql >= bl) {
			sh = th - 1;
			if (th == 0)
				*edge = -1;
		} else {
			sh = th;
		}
	}
	return (uint64_t)sh << 32 | seql;
}

enum replay_verdict replay_check(const struct replay_window *w, uint32_t seq_low,
                                 uint64_t *seq_full)
{
	uint64_t seq;

	if (!w->esn) {
		seq = seq_low;
		*seq_full = seq;
		if (w->size == 0)
			return REPLAY_OK;
		if (seq == 0)
			return REPLAY_ZERO;
	} else if (w->size == 0) {
		int edge;
		seq = infer_esn(w->top, OFF_INFER_WINDOW, seq_low, &edge);
		/* Outside the 64-bit space: take the candidate in top's subspace. */
		if (edge != 0)
			seq = (w->top & ~(uint64_t)UINT32_MAX) | seq_low;
		*seq_full = seq;
		return REPLAY_OK;
	} else {
		int edge;
		seq = infer_esn(w->top, w->size, seq_low, &edge);
		*seq_full = seq;
		if (edge != 0)
			return REPLAY_TOO_OLD;
		if (seq == 0)
			return REPLAY_ZERO;
	}

	if (seq > w->top)
		return REPLAY_OK;
	if (w->top - seq >= w->size)
		return REPLAY_TOO_OLD;
	uint32_t idx = (uint32_t)((seq >> 6) % ring_words(w));
	if (w->bits[idx] & (UINT64_C(1) << (seq & 63)))
		return REPLAY_DUPLICATE;
	return REPLAY_OK;
}

void replay_update(struct replay_window *w, uint64_t seq_full)
{
	if (w->size == 0) {
		if (seq_full > w->top)
			w->top = seq_full;
		return;
	}

	uint32_t nwords = ring_words(w);
	if (seq_full > w->top) {
		uint64_t oldw = w->top >> 6;
		uint64_t neww = seq_full >> 6;
		if (neww - oldw >= nwords) {
			/* Jumped past the whole ring: everything is left of the window. */
			memset(w->bits, 0, nwords * sizeof(w->bits[0]));
		} else {
			/* Words oldw+1 .. neww enter the window; their slots held
			 * words that have now left it. */
			for (uint64_t i = oldw + 1; i <= neww; i++)
				w->bits[i % nwords] = 0;
		}
		w->top = seq_full;
	} else if (w->top - seq_full >= w->size) {
		return;                   /* left of the window: nothing to record */
	}
	w->bits[(seq_full >> 6) % nwords] |= UINT64_C(1) << (seq_full & 63);
}
