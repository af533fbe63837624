/*
 * replay — the anti-replay window of an inbound SA (RFC 4303 §3.4.3, with
 * extended sequence numbers per RFC 4303 Appendix A), kept as a ring of
 * 64-bit words in the manner of RFC 6479 so that moving the window never
 * shifts the whole bitmap.
 *
 * Use: replay_check() before the ICV is verified (cheap rejection, and it
 * yields the full 64-bit sequence number the ICV/AAD needs when ESN is on);
 * replay_update() only after the ICV verified. Both are O(1) amortised.
 */
#ifndef SECPOL_REPLAY_H
#define SECPOL_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define REPLAY_MAX_WINDOW 8192            /* packets; must be a multiple of 64 */

enum replay_verdict {
	REPLAY_OK,                        /* new: may be accepted once the ICV verifies */
	REPLAY_DUPLICATE,                 /* inside the window and already seen */
	REPLAY_TOO_OLD,                   /* left of the window */
	REPLAY_ZERO,                      /* sequence number 0 never appears (32-bit mode;
	                                     with ESN: an inferred full number 0) */
};

struct replay_window {
	uint64_t top;                     /* highest sequence number accepted (0: none yet) */
	uint32_t size;                    /* window in packets; 0 = anti-replay off */
	bool esn;                         /* 64-bit extended sequence numbers */
	/* Ring of size/64 + 1 words: the extra word lets the window slide in
	 * whole words (RFC 6479) while still covering `size` packets. */
	uint64_t bits[REPLAY_MAX_WINDOW / 64 + 1];
};

/* size: 0 (off) .. REPLAY_MAX_WINDOW; rounded up to a multiple of 64. */
void replay_init(struct replay_window *w, uint32_t size, bool esn);
/* seq_low: the 32 bits from the packet. *seq_full: the whole sequence number
 * (the inferred high half with ESN, RFC 4303 A.2; seq_low otherwise). */
enum replay_verdict replay_check(const struct replay_window *w, uint32_t seq_low,
                                 uint64_t *seq_full);
/* Marks seq_full as received (after the ICV verified) and advances the window. */
void replay_update(struct replay_window *w, uint64_t seq_full);

#endif
