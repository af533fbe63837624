/*
 * frag — IKEv2 message fragmentation (RFC 7383). Private to src/ike.
 *
 * A message that would go out in one SK payload is cut, when it would not
 * fit the path, into Encrypted Fragment messages: each the same IKE header
 * (SPIs, exchange, flags, message ID), then one SKF payload holding
 * Fragment Number / Total Fragments and one slice of the inner payloads,
 * encrypted and authenticated on its own exactly as an SK payload is (the
 * fragment numbers are part of the authenticated data). Only what is
 * encrypted is fragmented: IKE_SA_INIT never is. No exchange defines
 * unencrypted payloads next to SK (RFC 7383 §2.5.3 would put them in
 * fragment 1), so here the SKF is the only payload of every fragment, and
 * a fragment with anything before its SKF is dropped.
 *
 * The receiver checks each fragment's ICV as it arrives and keeps only the
 * plaintext of those that verify (RFC 7383 §2.6), so that a forged
 * fragment can neither poison nor discard a message being reassembled.
 */
#ifndef SECPOL_IKE_FRAG_H
#define SECPOL_IKE_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/message.h"
#include "ike/sk.h"

/* At most this many fragments per message, sent or received; at 1280-octet
 * IPv6 datagrams that is over 64 KiB, at 576-octet IPv4 ones about 30 KiB. */
#define IKE_FRAG_MAX 64
/* At most this many octets of reassembled inner payloads. */
#define IKE_FRAG_MAX_INNER 65536

/* ---- Sending ------------------------------------------------------------ */

/* One fragment's buffer: the caller sets buf and cap (max_len is enough
 * room), ike_frag_seal() sets len. */
struct ike_frag_buf {
	uint8_t *buf;
	size_t cap;
	size_t len;
};

/*
 * The octets of inner payloads one fragment carries when no datagram may
 * exceed max_len octets of IKE message; 0 if max_len is too small for any.
 *
 * max_len is what RFC 7383 §2.5.1 calls the fragment size: the path MTU
 * (1280 for IPv6 and 576 for IPv4 when it is unknown) less the IP header
 * (20 or 40 octets, more with options or extension headers), the UDP
 * header (8), and on port 4500 the non-ESP marker (4). IPv6 at 1280 on
 * port 4500: 1280 - 40 - 8 - 4 = 1228.
 */
size_t ike_frag_chunk(const struct ike_sk_key *k, size_t max_len);
/* How many fragments inner_len octets of inner payloads make at max_len;
 * 0 if more than IKE_FRAG_MAX, or if max_len is too small for any. */
size_t ike_frag_count(const struct ike_sk_key *k, size_t inner_len, size_t max_len);

/*
 * Seals inner[0..inner_len) (a chain of payloads whose first is of type
 * first, as for ike_put_sk()) into fragments of at most max_len octets
 * each: out[0] is fragment 1. h gives the SPIs, version, exchange, flags
 * and message ID of every fragment (its next_payload and length are
 * ignored). k is the sending direction's key (SK_ei/SK_ai or SK_er/SK_ar).
 * Returns the number of fragments, at most nout and IKE_FRAG_MAX, or 0
 * (*why says why) when they would be more, or a buffer is too small, or
 * sealing failed: then out[] holds nothing to send.
 */
size_t ike_frag_seal(struct ike_sk_key *k, const struct ike_header *h, uint8_t first,
                     const uint8_t *inner, size_t inner_len, size_t max_len,
                     struct ike_frag_buf *out, size_t nout, const char **why);

/* ---- Receiving ---------------------------------------------------------- */

/*
 * Reassembly of one message at a time. An IKE SA needs two: the peer's
 * requests and the peer's responses have message IDs of their own
 * (RFC 7296 §2.2), and fragments of both may be in flight at once. A
 * context holds the message of one (message ID, R flag): a verified
 * fragment of another message discards what it held and starts again.
 *
 * Zero it, or ike_frag_init(); ike_frag_free() wipes and frees what it
 * holds and leaves it as ike_frag_init() does.
 */
struct ike_frag_reasm {
	bool active;                      /* a message is being (or was) reassembled */
	bool complete;                    /* ... and was handed out: later fragments are repeats */
	uint32_t message_id;
	uint8_t response;                 /* the R flag of the message */
	uint8_t exchange;
	uint16_t total;                   /* Total Fragments of the fragments held */
	uint16_t received;
	uint8_t first;                    /* fragment 1's Next Payload */
	size_t bytes;                     /* plaintext octets held */
	uint8_t *piece[IKE_FRAG_MAX];     /* [n - 1]: fragment n's plaintext, or NULL */
	size_t piece_len[IKE_FRAG_MAX];
	/* IKE_FRAG_COMPLETE: the inner payloads, the first of type first, for
	 * ike_decode_inner(); and the header of the fragment that completed
	 * them. Valid until the next ike_frag_add() or ike_frag_free(). */
	uint8_t *inner;
	size_t inner_len;
	struct ike_header hdr;
	uint16_t number;                  /* the Fragment Number of the last fragment taken */
};

enum ike_frag_status {
	IKE_FRAG_DROP,                    /* refused (*why): malformed, not verified, inconsistent, too large */
	IKE_FRAG_DUPLICATE,               /* a fragment already held: ignored */
	IKE_FRAG_MORE,                    /* held: more are needed */
	IKE_FRAG_COMPLETE,                /* the message is whole: r->inner, r->inner_len, r->first */
	IKE_FRAG_REPEAT,                  /* verified, of the message last completed (r->number):
	                                   * a retransmission, RFC 7383 §2.6.1 */
};

void ike_frag_init(struct ike_frag_reasm *r);
void ike_frag_free(struct ike_frag_reasm *r);

/*
 * One received message msg[0..len) that ike_decode() turned into m, whose
 * only payload is SKF. k is the receiving direction's key. The message is
 * verified and decrypted in place (msg is modified; the plaintext copied
 * out of it is wiped there). What RFC 7383 §2.6 asks:
 *   - a fragment that fails verification is dropped, and changes nothing;
 *   - Fragment Number 1 .. Total Fragments, Total Fragments at most
 *     IKE_FRAG_MAX (before any decryption);
 *   - of the message held, a fragment already held is a duplicate (not
 *     even decrypted); one with a smaller Total Fragments is dropped, one
 *     with a larger (the sender went to smaller fragments, §2.5.2)
 *     discards what was held and starts again once it verifies; one of
 *     another exchange type is dropped;
 *   - a verified fragment of another message (message ID or R flag)
 *     discards what was held and starts that message;
 *   - more than IKE_FRAG_MAX_INNER octets discard the message.
 * Fragment 1's Next Payload gives the type of the first inner payload;
 * the others' are ignored. Which message IDs to accept at all (the window,
 * RFC 7296 §2.3) is the caller's, before calling this.
 */
enum ike_frag_status ike_frag_add(struct ike_frag_reasm *r, struct ike_sk_key *k, uint8_t *msg,
                                  size_t len, const struct ike_message *m, const char **why);

#endif
