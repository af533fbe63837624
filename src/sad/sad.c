/*
 * The SA database: a chained hash table keyed by (SPI, destination,
 * protocol). SPIs are random, so the SPI alone spreads the buckets; the
 * destination and protocol only disambiguate.
 */
#include "sad/sad.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct sad {
	struct ipsec_sa **bucket;
	size_t nbuckets;                  /* a power of two */
	size_t count;
	uint64_t drops[DROP_COUNT];       /* decided before an SA was found */
};

static const char *const drop_names[DROP_COUNT] = {
	[DROP_NONE] = "none", [DROP_TRUNCATED] = "truncated", [DROP_BAD_LENGTH] = "bad-length",
	[DROP_BAD_SPI] = "bad-spi", [DROP_REPLAY] = "replay",
	[DROP_OUT_OF_WINDOW] = "out-of-window", [DROP_AUTH] = "auth-failed",
	[DROP_DECRYPT] = "decrypt-failed", [DROP_PADDING] = "bad-padding",
	[DROP_LIFETIME] = "lifetime-expired", [DROP_SEQ_EXHAUSTED] = "seq-exhausted",
	[DROP_NO_ROOM] = "no-buffer-room", [DROP_SELECTOR] = "selector-mismatch",
};

const char *sa_drop_name(enum sa_drop d)
{
	return (unsigned)d < DROP_COUNT ? drop_names[d] : "?";
}

struct sad *sad_new(size_t buckets)
{
	size_t n = 16;
	while (n < buckets && n < ((size_t)1 << 24))
		n <<= 1;
	struct sad *s = calloc(1, sizeof(*s));
	if (!s || !(s->bucket = calloc(n, sizeof(*s->bucket)))) {
		free(s);
		return NULL;
	}
	s->nbuckets = n;
	return s;
}

static void sa_destroy(struct ipsec_sa *sa)
{
	cipher_free(&sa->cipher);
	mac_free(&sa->mac);
	crypto_wipe(sa, sizeof(*sa));
	free(sa);
}

void sad_free(struct sad *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nbuckets; i++)
		for (struct ipsec_sa *sa = s->bucket[i], *next; sa; sa = next) {
			next = sa->next;
			sa_destroy(sa);
		}
	free(s->bucket);
	free(s);
}

static size_t slot(const struct sad *s, uint32_t spi)
{
	/* Fibonacci hashing: a manually chosen SPI such as 0x100, 0x200 still spreads. */
	return (size_t)((spi * 0x9E3779B1u) >> 8) & (s->nbuckets - 1);
}

static bool same_address(const struct sa_address *a, const struct sa_address *b)
{
	return a->family == b->family &&
	       !memcmp(a->bytes, b->bytes, a->family == AF_INET6 ? 16 : 4);
}

struct ipsec_sa *sad_lookup(const struct sad *s, uint32_t spi, const struct sa_address *dst,
                            enum sa_proto proto)
{
	for (struct ipsec_sa *sa = s->bucket[slot(s, spi)]; sa; sa = sa->next)
		if (sa->spi == spi && sa->proto == proto && same_address(&sa->dst, dst))
			return sa;
	return NULL;
}

struct ipsec_sa *sad_add(struct sad *s, const struct sa_config *cfg, const char **err)
{
	if (cfg->spi < 256) {
		*err = "SPI values 0-255 are reserved (RFC 4303)";
		return NULL;
	}
	if (sad_lookup(s, cfg->spi, &cfg->dst, cfg->proto)) {
		*err = "an SA with this SPI, destination and protocol already exists";
		return NULL;
	}
	if (cfg->replay_window > REPLAY_MAX_WINDOW) {
		*err = "replay window too large (at most 8192 packets)";
		return NULL;
	}
	struct ipsec_sa *sa = calloc(1, sizeof(*sa));
	if (!sa) {
		*err = "out of memory";
		return NULL;
	}
	sa->spi = cfg->spi;
	sa->proto = cfg->proto;
	sa->mode = cfg->mode;
	sa->inbound = cfg->inbound;
	sa->esn = cfg->esn;
	sa->src = cfg->src;
	sa->dst = cfg->dst;
	sa->enc = cfg->proto == SA_PROTO_ESP ? cfg->enc : ENC_NULL;
	sa->integ = cfg->integ;
	sa->life = cfg->life;
	sa->created = cfg->now;
	replay_init(&sa->replay, cfg->replay_window, cfg->esn);

	const struct crypto_enc_info *ei = crypto_enc_info(sa->enc);
	bool ok = true;
	if (!ei) {
		*err = "unknown encryption algorithm";
		ok = false;
	} else if (cfg->proto == SA_PROTO_AH) {
		if (cfg->integ == MAC_NONE) {
			*err = "AH needs an integrity algorithm";
			ok = false;
		}
	} else if (ei->aead && cfg->integ != MAC_NONE) {
		*err = "an AEAD cipher carries its own integrity: give no integrity algorithm";
		ok = false;
	} else if (!ei->aead && cfg->integ == MAC_NONE) {
		*err = "ESP without an AEAD cipher needs an integrity algorithm";
		ok = false;
	}
	if (ok && cfg->proto == SA_PROTO_ESP)
		ok = cipher_init(&sa->cipher, sa->enc, cfg->enc_key, cfg->enc_key_len,
		                 !cfg->inbound, cfg->allow_legacy, err);
	if (ok && cfg->integ != MAC_NONE)
		ok = mac_init(&sa->mac, cfg->integ, cfg->auth_key, cfg->auth_key_len,
		              cfg->allow_legacy, err);
	if (!ok) {
		sa_destroy(sa);
		return NULL;
	}
	size_t i = slot(s, sa->spi);
	sa->next = s->bucket[i];
	s->bucket[i] = sa;
	s->count++;
	return sa;
}

void sad_delete(struct sad *s, struct ipsec_sa *sa)
{
	for (struct ipsec_sa **pp = &s->bucket[slot(s, sa->spi)]; *pp; pp = &(*pp)->next)
		if (*pp == sa) {
			*pp = sa->next;
			s->count--;
			sa_destroy(sa);
			return;
		}
}

size_t sad_count(const struct sad *s)
{
	return s->count;
}

uint64_t sad_drops(const struct sad *s, enum sa_drop why)
{
	return (unsigned)why < DROP_COUNT ? s->drops[why] : 0;
}

enum sa_drop sad_drop(struct sad *s, enum sa_drop why)
{
	s->drops[why]++;
	return why;
}

uint64_t sad_bad_spi(const struct sad *s)
{
	return s->drops[DROP_BAD_SPI];
}

/* Seconds since the SA was made; a reading from before that (a clock value a
 * worker cached before the SA was installed) is age 0, not a huge age. */
static uint64_t sa_age(const struct ipsec_sa *sa, uint64_t now)
{
	return now > sa->created ? now - sa->created : 0;
}

bool sa_usable(struct ipsec_sa *sa, uint64_t now)
{
	if (sa->life.hard_seconds && sa_age(sa, now) >= sa->life.hard_seconds)
		sa->hard_expired = true;
	return !sa->hard_expired;
}

enum sa_event sa_account(struct ipsec_sa *sa, uint64_t bytes, uint64_t now)
{
	uint64_t total = sa->count.bytes + bytes;
	uint64_t age = sa_age(sa, now);
	if ((sa->life.hard_bytes && total >= sa->life.hard_bytes) ||
	    (sa->life.hard_seconds && age >= sa->life.hard_seconds)) {
		sa->hard_expired = true;
		return SA_EVENT_HARD;
	}
	if (!sa->soft_expired &&
	    ((sa->life.soft_bytes && total >= sa->life.soft_bytes) ||
	     (sa->life.soft_seconds && age >= sa->life.soft_seconds))) {
		sa->soft_expired = true;
		return SA_EVENT_SOFT;
	}
	return SA_EVENT_NONE;
}

enum sa_drop sa_drop(struct ipsec_sa *sa, enum sa_drop why)
{
	sa->count.drops[why]++;
	return why;
}

enum sa_drop sa_may_send(struct ipsec_sa *sa, uint64_t now)
{
	if (!sa_usable(sa, now))
		return sa_drop(sa, DROP_LIFETIME);
	if (sa->seq == (sa->esn ? UINT64_MAX : UINT32_MAX)) {
		sa->soft_expired = true;
		return sa_drop(sa, DROP_SEQ_EXHAUSTED);
	}
	return DROP_NONE;
}

enum sa_drop sa_replay_check(struct ipsec_sa *sa, uint32_t seq_low, uint64_t *seq)
{
	switch (replay_check(&sa->replay, seq_low, seq)) {
	case REPLAY_OK:
		return DROP_NONE;
	case REPLAY_DUPLICATE:
		return sa_drop(sa, DROP_REPLAY);
	default:
		return sa_drop(sa, DROP_OUT_OF_WINDOW);
	}
}
