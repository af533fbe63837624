/*
 * sad — the security association database: one struct ipsec_sa per SA and
 * direction, with its keyed transforms, sequence numbers, replay window,
 * lifetimes and counters; lookup by (SPI, destination, protocol) in O(1).
 *
 * An SA lives in exactly one sad; old and new SAs of a rekey coexist (they
 * differ by SPI) until the old one is deleted. Deleting an SA wipes its keys.
 */
#ifndef SECPOL_SAD_H
#define SECPOL_SAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "sad/replay.h"

enum sa_proto { SA_PROTO_ESP = 50, SA_PROTO_AH = 51 };
enum sa_mode { SA_TRANSPORT, SA_TUNNEL };

/* Why an inbound or outbound packet was not processed. Each has a counter. */
enum sa_drop {
	DROP_NONE,
	DROP_TRUNCATED,          /* shorter than the headers it claims */
	DROP_BAD_LENGTH,         /* a length field that does not match the packet */
	DROP_BAD_SPI,            /* no SA for the SPI */
	DROP_REPLAY,             /* already received */
	DROP_OUT_OF_WINDOW,      /* left of the replay window */
	DROP_AUTH,               /* ICV did not verify */
	DROP_DECRYPT,            /* cipher failure */
	DROP_PADDING,            /* bad pad length, pad bytes or next header */
	DROP_LIFETIME,           /* hard lifetime reached */
	DROP_SEQ_EXHAUSTED,      /* outbound: sequence numbers used up, rekey */
	DROP_NO_ROOM,            /* outbound: the buffer lacks head/tail room */
	DROP_SELECTOR,           /* the packet does not belong to this SA */
	DROP_COUNT
};
const char *sa_drop_name(enum sa_drop d);

struct sa_address {
	uint8_t family;          /* AF_INET or AF_INET6 */
	uint8_t bytes[16];
};

struct sa_counters {
	uint64_t packets, bytes;          /* processed successfully (payload bytes) */
	uint64_t auth_bytes, conf_bytes;  /* bytes authenticated / encrypted */
	uint64_t drops[DROP_COUNT];
};

/* 0 = no limit. Bytes count the protected payload. */
struct sa_lifetime {
	uint64_t soft_bytes, hard_bytes;
	uint64_t soft_seconds, hard_seconds;
};

enum sa_event { SA_EVENT_NONE, SA_EVENT_SOFT, SA_EVENT_HARD };

struct ipsec_sa {
	uint32_t spi;                     /* host order */
	enum sa_proto proto;
	enum sa_mode mode;
	bool inbound;
	bool esn;
	struct sa_address src, dst;       /* outer addresses (tunnel endpoints in tunnel mode) */
	enum crypto_enc enc;              /* ESP only */
	enum crypto_mac integ;            /* MAC_NONE with AEAD */
	struct cipher cipher;
	struct mac mac;
	uint64_t seq;                     /* outbound: last sequence number sent */
	struct replay_window replay;      /* inbound */
	struct sa_lifetime life;
	uint64_t created;                 /* seconds, caller's clock */
	/* Rekey due: set once, when a soft lifetime is crossed or the sequence
	 * numbers run out (the owner -- the IKE engine -- polls it). Hard
	 * expiry stops the SA. */
	bool soft_expired, hard_expired;
	struct sa_counters count;
	void *owner;                      /* the owner's record of the SA (driver: its child SA) */
	struct ipsec_sa *next;            /* hash chain */
};

/* What a new SA is made from (manual keying, or IKE). */
struct sa_config {
	uint32_t spi;
	enum sa_proto proto;
	enum sa_mode mode;
	bool inbound;
	bool esn;
	struct sa_address src, dst;
	enum crypto_enc enc;
	const uint8_t *enc_key;           /* key | salt for AEAD */
	size_t enc_key_len;
	enum crypto_mac integ;
	const uint8_t *auth_key;
	size_t auth_key_len;
	uint32_t replay_window;           /* packets; 0 = off */
	struct sa_lifetime life;
	bool allow_legacy;                /* DES, MD5, NULL encryption */
	uint64_t now;
};

struct sad;

struct sad *sad_new(size_t buckets);
void sad_free(struct sad *s);
/* Creates and inserts an SA. On failure returns NULL and *err says why. */
struct ipsec_sa *sad_add(struct sad *s, const struct sa_config *cfg, const char **err);
struct ipsec_sa *sad_lookup(const struct sad *s, uint32_t spi, const struct sa_address *dst,
                            enum sa_proto proto);
/* Removes the SA and wipes its keys. */
void sad_delete(struct sad *s, struct ipsec_sa *sa);
size_t sad_count(const struct sad *s);
/* Inbound drops decided before any SA was found: DROP_BAD_SPI (no SA for
 * the SPI), DROP_TRUNCATED and DROP_BAD_LENGTH (no ESP/AH header to read). */
uint64_t sad_drops(const struct sad *s, enum sa_drop why);
enum sa_drop sad_drop(struct sad *s, enum sa_drop why);
uint64_t sad_bad_spi(const struct sad *s);

/*
 * Accounts `bytes` of payload at time `now` against the SA's lifetimes.
 * Returns SA_EVENT_SOFT the first time a soft limit is crossed (rekey now),
 * SA_EVENT_HARD when a hard limit is reached (the SA stops).
 */
enum sa_event sa_account(struct ipsec_sa *sa, uint64_t bytes, uint64_t now);
/* Whether the SA may still carry traffic at `now` (hard limits by time). */
bool sa_usable(struct ipsec_sa *sa, uint64_t now);

/* Counts a drop against the SA and returns it. */
enum sa_drop sa_drop(struct ipsec_sa *sa, enum sa_drop why);
/* Outbound: DROP_NONE if the SA may send another packet at `now`; else the
 * counted reason (hard lifetime, or a sequence number that would cycle --
 * which also marks the SA for rekey, RFC 4303 §3.3.3). */
enum sa_drop sa_may_send(struct ipsec_sa *sa, uint64_t now);
/* Inbound: the replay window's verdict on seq_low as a counted drop reason
 * (DROP_NONE: new), and in *seq the full sequence number. */
enum sa_drop sa_replay_check(struct ipsec_sa *sa, uint32_t seq_low, uint64_t *seq);

#endif
