/*
 * message — the IKEv2 message codec (RFC 7296 §3; the Encrypted Fragment
 * payload of RFC 7383; the RFC 7427 signature numbers as constants).
 * Private to src/ike: the rest of secpold sees ike.h.
 *
 * Decoding reads a packet once, through a bounds-checked reader, and never
 * trusts a length field: ike_decode() checks the header and walks the
 * payload chain, and it also checks the body of every payload it knows
 * (except SK, which is still encrypted), so a message it accepts holds no
 * malformed, truncated, oversized or repeated payload and no handler sees
 * one. The decoded forms need no allocation: they point into the caller's
 * buffer, which must outlive them. The per-payload ike_decode_*() functions
 * then cannot fail on a payload of a message ike_decode() accepted.
 *
 * Encoding goes through struct ike_writer, a bounded writer over a caller
 * buffer with a sticky error flag. It checks what it writes with the same
 * decoders, so it never emits a message the decoder would refuse; and
 * encode(decode(x)) == x for a well-formed x (reserved bits sent as zero,
 * unknown payloads dropped: those are the only differences).
 */
#ifndef SECPOL_IKE_MESSAGE_H
#define SECPOL_IKE_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IKE_HEADER_LEN 28
#define IKE_PAYLOAD_HEADER_LEN 4
#define IKE_MAX_PAYLOADS 32          /* per chain (outer, or inside SK), unknown ones included */
#define IKE_MAX_PROPOSALS 32         /* per SA payload */
#define IKE_MAX_TRANSFORMS 256       /* per SA payload, all proposals together */
#define IKE_MAX_TS 16                /* selectors per TS payload */
#define IKE_NONCE_MIN 16             /* RFC 7296 §3.9 */
#define IKE_NONCE_MAX 256
#define IKE_COOKIE_MAX 64            /* RFC 7296 §2.6 */

enum ike_exchange {
	IKE_SA_INIT = 34,
	IKE_AUTH = 35,
	IKE_CREATE_CHILD_SA = 36,
	IKE_INFORMATIONAL = 37,
};

enum ike_flag {
	IKE_FLAG_INITIATOR = 0x08,        /* I: sent by the original initiator */
	IKE_FLAG_VERSION = 0x10,          /* V: could speak a higher major version */
	IKE_FLAG_RESPONSE = 0x20,         /* R */
};
#define IKE_FLAGS_KNOWN (IKE_FLAG_INITIATOR | IKE_FLAG_VERSION | IKE_FLAG_RESPONSE)

enum ike_payload_type {
	IKE_PL_NONE = 0,                  /* "no next payload" */
	IKE_PL_SA = 33,
	IKE_PL_KE = 34,
	IKE_PL_IDI = 35,
	IKE_PL_IDR = 36,
	IKE_PL_CERT = 37,
	IKE_PL_CERTREQ = 38,
	IKE_PL_AUTH = 39,
	IKE_PL_NONCE = 40,
	IKE_PL_NOTIFY = 41,
	IKE_PL_DELETE = 42,
	IKE_PL_VENDOR = 43,
	IKE_PL_TSI = 44,
	IKE_PL_TSR = 45,
	IKE_PL_SK = 46,
	IKE_PL_CP = 47,
	IKE_PL_EAP = 48,
	IKE_PL_SKF = 53,                  /* RFC 7383 */
};

enum ike_notify_type {
	/* errors */
	IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD = 1,
	IKE_N_INVALID_IKE_SPI = 4,
	IKE_N_INVALID_MAJOR_VERSION = 5,
	IKE_N_INVALID_SYNTAX = 7,
	IKE_N_INVALID_MESSAGE_ID = 9,
	IKE_N_INVALID_SPI = 11,
	IKE_N_NO_PROPOSAL_CHOSEN = 14,
	IKE_N_INVALID_KE_PAYLOAD = 17,
	IKE_N_AUTHENTICATION_FAILED = 24,
	IKE_N_SINGLE_PAIR_REQUIRED = 34,
	IKE_N_NO_ADDITIONAL_SAS = 35,
	IKE_N_INTERNAL_ADDRESS_FAILURE = 36,
	IKE_N_FAILED_CP_REQUIRED = 37,
	IKE_N_TS_UNACCEPTABLE = 38,
	IKE_N_INVALID_SELECTORS = 39,
	IKE_N_TEMPORARY_FAILURE = 43,
	IKE_N_CHILD_SA_NOT_FOUND = 44,
	/* status */
	IKE_N_INITIAL_CONTACT = 16384,
	IKE_N_SET_WINDOW_SIZE = 16385,
	IKE_N_ADDITIONAL_TS_POSSIBLE = 16386,
	IKE_N_IPCOMP_SUPPORTED = 16387,
	IKE_N_NAT_DETECTION_SOURCE_IP = 16388,
	IKE_N_NAT_DETECTION_DESTINATION_IP = 16389,
	IKE_N_COOKIE = 16390,
	IKE_N_USE_TRANSPORT_MODE = 16391,
	IKE_N_HTTP_CERT_LOOKUP_SUPPORTED = 16392,
	IKE_N_REKEY_SA = 16393,
	IKE_N_ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
	IKE_N_NON_FIRST_FRAGMENTS_ALSO = 16395,
	IKE_N_REDIRECT_SUPPORTED = 16406,             /* RFC 5685 */
	IKE_N_IKEV2_FRAGMENTATION_SUPPORTED = 16430,  /* RFC 7383 */
	IKE_N_SIGNATURE_HASH_ALGORITHMS = 16431,      /* RFC 7427 */
};

enum ike_protocol {
	IKE_PROTO_IKE = 1,
	IKE_PROTO_AH = 2,
	IKE_PROTO_ESP = 3,
};

enum ike_transform_type {
	IKE_XF_ENCR = 1,
	IKE_XF_PRF = 2,
	IKE_XF_INTEG = 3,
	IKE_XF_DH = 4,                    /* "Key Exchange Method" since RFC 9370 */
	IKE_XF_ESN = 5,
};

enum ike_encr {
	IKE_ENCR_DES = 2,
	IKE_ENCR_3DES = 3,
	IKE_ENCR_NULL = 11,
	IKE_ENCR_AES_CBC = 12,
	IKE_ENCR_AES_GCM_16 = 20,
	IKE_ENCR_CHACHA20_POLY1305 = 28,
};

enum ike_prf {
	IKE_PRF_HMAC_MD5 = 1,
	IKE_PRF_HMAC_SHA1 = 2,
	IKE_PRF_HMAC_SHA2_256 = 5,
	IKE_PRF_HMAC_SHA2_384 = 6,
	IKE_PRF_HMAC_SHA2_512 = 7,
};

/* RFC 7296 calls these AUTH_HMAC_*; INTEG here, so that they are not taken
 * for the authentication methods of the AUTH payload. */
enum ike_integ {
	IKE_INTEG_NONE = 0,
	IKE_INTEG_HMAC_MD5_96 = 1,
	IKE_INTEG_HMAC_SHA1_96 = 2,
	IKE_INTEG_HMAC_SHA2_256_128 = 12,
	IKE_INTEG_HMAC_SHA2_384_192 = 13,
	IKE_INTEG_HMAC_SHA2_512_256 = 14,
};

enum ike_dh {
	IKE_DH_NONE = 0,
	IKE_DH_MODP768 = 1,
	IKE_DH_MODP1024 = 2,
	IKE_DH_MODP2048 = 14,
	IKE_DH_ECP256 = 19,
	IKE_DH_ECP384 = 20,
	IKE_DH_ECP521 = 21,
	IKE_DH_CURVE25519 = 31,
};

enum ike_esn {
	IKE_ESN_NO = 0,
	IKE_ESN_YES = 1,
};

enum ike_attribute_type {
	IKE_ATTR_KEY_LENGTH = 14,         /* TV format; in bits */
};
#define IKE_ATTR_TV 0x8000            /* AF bit: a 2-byte value instead of length + value */

enum ike_id_type {
	IKE_ID_IPV4_ADDR = 1,
	IKE_ID_FQDN = 2,
	IKE_ID_RFC822_ADDR = 3,
	IKE_ID_IPV6_ADDR = 5,
	IKE_ID_DER_ASN1_DN = 9,
	IKE_ID_KEY_ID = 11,
	IKE_ID_NULL = 13,                 /* RFC 7619: empty */
};

enum ike_auth_method {
	IKE_AUTH_RSA_SIG = 1,             /* RSASSA-PKCS1-v1_5 with SHA-1 */
	IKE_AUTH_PSK = 2,                 /* Shared Key Message Integrity Code */
	IKE_AUTH_ECDSA_SHA256_P256 = 9,   /* RFC 4754 */
	IKE_AUTH_ECDSA_SHA384_P384 = 10,
	IKE_AUTH_ECDSA_SHA512_P521 = 11,
	IKE_AUTH_NULL = 13,               /* RFC 7619 */
	IKE_AUTH_DIGITAL_SIGNATURE = 14,  /* RFC 7427 */
};

/* RFC 7427 §7 (and RFC 8420): SIGNATURE_HASH_ALGORITHMS data, 2 bytes each. */
enum ike_hash_algorithm {
	IKE_HASH_SHA1 = 1,
	IKE_HASH_SHA2_256 = 2,
	IKE_HASH_SHA2_384 = 3,
	IKE_HASH_SHA2_512 = 4,
	IKE_HASH_IDENTITY = 5,
};

enum ike_ts_type {
	IKE_TS_IPV4_ADDR_RANGE = 7,
	IKE_TS_IPV6_ADDR_RANGE = 8,
};

enum ike_cert_encoding {
	IKE_CERT_X509_SIGNATURE = 4,
	IKE_CERT_HASH_URL_X509 = 12,
};

enum ike_cfg_type {
	IKE_CFG_REQUEST = 1,
	IKE_CFG_REPLY = 2,
	IKE_CFG_SET = 3,
	IKE_CFG_ACK = 4,
};

/* ---- Decoded forms ---------------------------------------------------- */

/* SPIs are read as big-endian numbers: 0 is "none", and they print as on
 * the wire. flags holds only I, V and R: the other bits are reserved and
 * RFC 7296 §3.1 has them ignored on receipt. */
struct ike_header {
	uint64_t spi_i, spi_r;
	uint8_t next_payload;
	uint8_t major, minor;
	uint8_t exchange;
	uint8_t flags;
	uint32_t message_id;
	uint32_t length;
};

/* One payload of a chain. body - 4 is its generic payload header. */
struct ike_payload {
	uint8_t type;
	uint8_t next;                     /* its Next Payload field; of SK/SKF: the first inner payload */
	bool critical;
	const uint8_t *body;
	size_t len;                       /* of the body */
};

struct ike_message {
	struct ike_header hdr;
	size_t count;
	struct ike_payload payload[IKE_MAX_PAYLOADS];   /* the known ones, in order */
	size_t skipped;                   /* unknown payloads without the critical bit */
	/* On failure, the type of the payload at fault (0: the header). With
	 * IKE_DECODE_CRITICAL: the unsupported type, the one byte the
	 * UNSUPPORTED_CRITICAL_PAYLOAD notification carries. */
	uint8_t bad_payload;
};

/* Each value is the error notification an answer would carry. Whether to
 * answer at all is the caller's business (RFC 7296 §2.21). */
enum ike_decode_status {
	IKE_DECODE_OK = 0,
	IKE_DECODE_CRITICAL = IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD,
	IKE_DECODE_VERSION = IKE_N_INVALID_MAJOR_VERSION,
	IKE_DECODE_SYNTAX = IKE_N_INVALID_SYNTAX,
};

/* SA. A transform keeps its attributes as they came (attrs); key_length
 * is the Key Length attribute's value, 0 when there is none, and
 * unknown_attrs counts the others (RFC 7296 §3.3.6: the proposal holding
 * such a transform is to be refused, not the message). Unknown transform
 * types and IDs are kept for the caller to skip. */
struct ike_transform {
	uint8_t type;
	uint16_t id;
	uint16_t key_length;
	uint16_t unknown_attrs;
	const uint8_t *attrs;             /* encoding: written as is when attrs_len != 0, */
	size_t attrs_len;                 /* else a Key Length attribute if key_length != 0 */
};

struct ike_proposal {
	uint8_t num;
	uint8_t protocol;                 /* enum ike_protocol; others kept */
	uint8_t spi_size;                 /* 0, 4 or 8 */
	uint8_t spi[8];
	size_t count;
	const struct ike_transform *xf;   /* decoded: into ike_sa.pool */
};

/* Proposal numbers: 1, 2, 3, ... ; a single proposal may carry any
 * non-zero number, as the answer names the proposal it accepted by its
 * number (RFC 7296 §3.3.1). Decoded proposals point into pool: do not
 * copy a decoded struct ike_sa. */
struct ike_sa {
	size_t count;
	struct ike_proposal prop[IKE_MAX_PROPOSALS];
	struct ike_transform pool[IKE_MAX_TRANSFORMS];
};

struct ike_ke {
	uint16_t group;
	const uint8_t *data;
	size_t len;
};

/* IDi/IDr. The body (payload->body, ->len) is what AUTH signs. */
struct ike_id {
	uint8_t type;
	const uint8_t *data;
	size_t len;
};

/* AUTH. With IKE_AUTH_DIGITAL_SIGNATURE the data starts with the length
 * of an ASN.1 AlgorithmIdentifier, which alg/alg_len are; sig/sig_len the
 * rest (RFC 7427 §3). Other methods: sig = data, alg = NULL. */
struct ike_auth {
	uint8_t method;
	const uint8_t *data;
	size_t len;
	const uint8_t *alg;
	size_t alg_len;
	const uint8_t *sig;
	size_t sig_len;
};

/* Nonce, Vendor ID, EAP: the body as it is. */
struct ike_data {
	const uint8_t *data;
	size_t len;
};

struct ike_notify {
	uint8_t protocol;                 /* meaningless when spi_size is 0 */
	uint8_t spi_size;                 /* 0, 4 or 8 */
	uint16_t type;
	const uint8_t *spi;
	const uint8_t *data;
	size_t len;
};

/* Delete: IKE (no SPIs: the IKE SA of the message) or AH/ESP (4-byte SPIs). */
struct ike_delete {
	uint8_t protocol;
	uint8_t spi_size;
	uint16_t count;
	const uint8_t *spis;              /* count * spi_size bytes */
};

/* A traffic selector. IPv4 ranges use the first 4 bytes of start/end. A
 * selector of another type keeps what follows its first 4 bytes in raw
 * (and its second byte in protocol), to be skipped. */
struct ike_ts_sel {
	uint8_t type;
	uint8_t protocol;                 /* 0: any */
	uint16_t start_port, end_port;
	uint8_t start[16], end[16];
	const uint8_t *raw;
	size_t raw_len;
};

struct ike_ts {
	size_t count;                     /* 1 .. IKE_MAX_TS */
	struct ike_ts_sel sel[IKE_MAX_TS];
};

/* CERT and CERTREQ (for X.509: SHA-1 hashes of CA public keys). */
struct ike_cert {
	uint8_t encoding;
	const uint8_t *data;
	size_t len;
};

/* CP: its attributes are checked to be well formed, and kept raw. */
struct ike_cp {
	uint8_t type;
	const uint8_t *attrs;
	size_t len;
};

/* SK: IV | ciphertext | ICV, for the crypto layer to split; next is the
 * type of the first inner payload. */
struct ike_sk {
	uint8_t next;
	const uint8_t *data;
	size_t len;
};

/* SKF (RFC 7383 §2.5): 1 <= number <= total. next is the first inner
 * payload's type in fragment 1, 0 in the others. */
struct ike_skf {
	uint16_t number, total;
	uint8_t next;
	const uint8_t *data;
	size_t len;
};

/* ---- Decoding ---------------------------------------------------------- */

/* A whole message of len bytes (a UDP payload, the non-ESP marker already
 * removed). The header: length >= 28 and equal to len, major version 2,
 * a non-zero initiator SPI. The chain: each payload's length >= 4 and
 * within the message; it ends exactly at the end of the message, or with
 * an SK or SKF that runs to the end; at most IKE_MAX_PAYLOADS; SA, KE,
 * IDi, IDr, AUTH, Nonce, TSi, TSr, SK and SKF at most once; every known
 * body well formed. Unknown payloads are skipped, or with the critical bit
 * refused (IKE_DECODE_CRITICAL, m->bad_payload). *why (if why is not NULL)
 * says what was wrong, for the log. */
enum ike_decode_status ike_decode(const uint8_t *buf, size_t len, struct ike_message *m,
                                  const char **why);
/* The payloads of a decrypted SK body (or reassembled SKF bodies) of len
 * bytes, the first of type first: the same rules, except that SK and SKF
 * cannot occur. Fills m's payload list; m->hdr is left alone. */
enum ike_decode_status ike_decode_inner(const uint8_t *buf, size_t len, uint8_t first,
                                        struct ike_message *m, const char **why);

/* The first payload of the type, or NULL. */
const struct ike_payload *ike_find(const struct ike_message *m, uint8_t type);
/* The first Notify of the type: true and *n filled (n may be NULL), or false. */
bool ike_find_notify(const struct ike_message *m, uint16_t type, struct ike_notify *n);

/* The bodies. false (and *why) when malformed; never on a payload of a
 * message that ike_decode() or ike_decode_inner() accepted. */
bool ike_decode_sa(const struct ike_payload *p, struct ike_sa *sa, const char **why);
bool ike_decode_ke(const struct ike_payload *p, struct ike_ke *ke, const char **why);
bool ike_decode_id(const struct ike_payload *p, struct ike_id *id, const char **why);
bool ike_decode_auth(const struct ike_payload *p, struct ike_auth *a, const char **why);
bool ike_decode_nonce(const struct ike_payload *p, struct ike_data *n, const char **why);
bool ike_decode_notify(const struct ike_payload *p, struct ike_notify *n, const char **why);
bool ike_decode_delete(const struct ike_payload *p, struct ike_delete *d, const char **why);
bool ike_decode_ts(const struct ike_payload *p, struct ike_ts *ts, const char **why);
bool ike_decode_cert(const struct ike_payload *p, struct ike_cert *c, const char **why);
bool ike_decode_vendor(const struct ike_payload *p, struct ike_data *v, const char **why);
bool ike_decode_cp(const struct ike_payload *p, struct ike_cp *cp, const char **why);
bool ike_decode_eap(const struct ike_payload *p, struct ike_data *e, const char **why);
bool ike_decode_sk(const struct ike_payload *p, struct ike_sk *sk, const char **why);
bool ike_decode_skf(const struct ike_payload *p, struct ike_skf *f, const char **why);

/* The i-th SPI of an AH/ESP Delete (i < d->count). */
uint32_t ike_delete_spi(const struct ike_delete *d, size_t i);

/* ---- Encoding ---------------------------------------------------------- */

/* A message (ike_put_header() first) or a bare chain (the plaintext of an
 * SK payload: no header; w->first is then the type for the SK's Next
 * Payload field). Every put checks room; the first failure sets err, and
 * everything after it is a no-op. Each payload is checked when it ends,
 * the whole message by ike_finish(): what the writer emits decodes. */
struct ike_writer {
	uint8_t *buf;
	size_t cap, len;
	size_t link;                      /* where the next payload's type goes (SIZE_MAX: nowhere) */
	size_t open;                      /* the open payload's generic header (SIZE_MAX: none) */
	uint8_t open_type;
	uint8_t first;                    /* the chain's first payload type (0: none yet) */
	bool header;                      /* a message header was written */
	bool sealed;                      /* SK or SKF written: nothing may follow */
	bool err;
	const char *why;                  /* what set err */
};

void ike_writer_init(struct ike_writer *w, uint8_t *buf, size_t cap);
/* h->next_payload and h->length are filled in later; reserved flags are cleared. */
void ike_put_header(struct ike_writer *w, const struct ike_header *h);
/* A payload built by hand: begin, put its body, end (which sets its length,
 * links it into the chain and checks it). */
void ike_payload_begin(struct ike_writer *w, uint8_t type, bool critical);
void ike_payload_end(struct ike_writer *w);
void ike_put_u8(struct ike_writer *w, uint8_t v);
void ike_put_u16(struct ike_writer *w, uint16_t v);
void ike_put_u32(struct ike_writer *w, uint32_t v);
void ike_put_bytes(struct ike_writer *w, const void *p, size_t n);
/* n bytes of room, zeroed, to be filled by the caller; NULL on error. */
uint8_t *ike_reserve(struct ike_writer *w, size_t n);

/* Whole payloads; each returns !w->err. */
bool ike_put_sa(struct ike_writer *w, const struct ike_proposal *prop, size_t n);
bool ike_put_ke(struct ike_writer *w, const struct ike_ke *ke);
bool ike_put_id(struct ike_writer *w, uint8_t type, const struct ike_id *id);   /* IDi/IDr */
bool ike_put_auth(struct ike_writer *w, const struct ike_auth *a);   /* method + data */
bool ike_put_nonce(struct ike_writer *w, const uint8_t *nonce, size_t len);
bool ike_put_notify(struct ike_writer *w, const struct ike_notify *n);
bool ike_put_delete(struct ike_writer *w, const struct ike_delete *d);
bool ike_put_ts(struct ike_writer *w, uint8_t type, const struct ike_ts *ts);    /* TSi/TSr */
bool ike_put_vendor(struct ike_writer *w, const uint8_t *vid, size_t len);
bool ike_put_cert(struct ike_writer *w, uint8_t type, const struct ike_cert *c); /* CERT/CERTREQ */
bool ike_put_cp(struct ike_writer *w, const struct ike_cp *cp);
bool ike_put_eap(struct ike_writer *w, const uint8_t *eap, size_t len);
/* SK and SKF are last. data NULL: len zero bytes are reserved for the
 * crypto layer to fill in place. Returns where the body went, or NULL. */
uint8_t *ike_put_sk(struct ike_writer *w, uint8_t first, const uint8_t *data, size_t len);
uint8_t *ike_put_skf(struct ike_writer *w, const struct ike_skf *f);

/* Sets the header's length and checks the whole message (or chain):
 * true and w->len bytes at w->buf, or false (w->why says why). A chain may
 * be empty (an empty INFORMATIONAL, i.e. a liveness check). */
bool ike_finish(struct ike_writer *w);

#endif
