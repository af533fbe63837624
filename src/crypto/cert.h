/*
 * cert — the machine certificate store and the X.509 and signature
 * primitives of IKEv2 certificate authentication (RFC 7296 §2.15/§3.8,
 * RFC 7427 digital signatures, RFC 4754 ECDSA).
 *
 * Linux has no Windows machine store, so secpol keeps its own: a directory
 * (default /var/lib/secpol/certs, $SECPOL_CERTS overrides) that `secpol cert`
 * fills and secpold reads when a rule has rootca=. Layout, mode 0700:
 *   <sha256 of DER>.crt   one PEM certificate
 *   <same>.key            its private key, unencrypted PKCS#8 PEM, mode 0600
 *   <sha256 of DER>.crl   one PEM CRL
 * Every file is written whole (O_EXCL temporary, fsync, rename), keys before
 * their certificates, so a reader never sees half a file nor a "has key"
 * certificate whose key is missing.
 *
 * All of it is OpenSSL 3 libcrypto. Private keys stay inside OpenSSL objects
 * (struct cert_key), which cleanse them when freed; nothing here prints,
 * logs or hands out key material.
 *
 * Functions that can fail fill a struct cert_err: a status code a program
 * can act on, and a sentence for a person that names the check that failed
 * and the certificate it failed on ("expired: 'CN=host' was valid until ...").
 * Times are Unix seconds; now == 0 means the current time.
 */
#ifndef SECPOL_CERT_H
#define SECPOL_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evp_pkey_st;           /* OpenSSL's EVP_PKEY, without its headers */

#define CERT_STORE_DEFAULT_PATH "/var/lib/secpol/certs"

enum cert_status {
	CERT_OK,
	CERT_E_IO,                /* the store directory or a file */
	CERT_E_FORMAT,            /* not PEM, DER or PKCS#12, or damaged */
	CERT_E_PASSWORD,          /* encrypted, and no password or a wrong one */
	CERT_E_KEY_MISMATCH,      /* a private key that is not the certificate's */
	CERT_E_UNSUPPORTED,       /* a key type or algorithm that cannot be used */
	CERT_E_NOT_FOUND,
	/* chain checks */
	CERT_E_UNTRUSTED,         /* no path to a root CA that is trusted here */
	CERT_E_EXPIRED,
	CERT_E_NOT_YET_VALID,
	CERT_E_REVOKED,
	CERT_E_SIGNATURE,         /* a certificate's signature does not verify */
	CERT_E_NO_CRL,            /* strict CRL checking and no CRL for an issuer */
	CERT_E_CRL,               /* a CRL that is expired, unsigned by its CA ... */
	CERT_E_CHAIN,             /* any other path error (CA flag, weak key ...) */
	/* IKE AUTH payloads */
	CERT_E_AUTH,              /* the AUTH signature does not verify */
};

struct cert_err {
	enum cert_status status;
	char msg[384];
};

/* ---- certificates ------------------------------------------------------ */

struct cert;                  /* one X.509 certificate (immutable) */
struct cert_key;              /* one private key */

struct cert *cert_from_der(const uint8_t *der, size_t len, struct cert_err *e);
void cert_free(struct cert *c);
/* The certificate, for a CERT payload (encoding 4). Valid while c lives. */
const uint8_t *cert_der(const struct cert *c, size_t *len);
/* The subject as DER: our ID_DER_ASN1_DN. Valid while c lives. */
const uint8_t *cert_subject_der(const struct cert *c, size_t *len);
/* "C=US, O=Example, CN=Host" (certificate order, as Windows shows DNs). */
void cert_subject_text(const struct cert *c, char *buf, size_t len);
/* The public key (an EVP_PKEY owned by c) and its name: "RSA-2048",
 * "ECDSA-P256", "ECDSA-P384", "ECDSA-P521", "Ed25519" ... */
struct evp_pkey_st *cert_public_key(const struct cert *c);
void cert_key_type(const struct cert *c, char *buf, size_t len);

/*
 * The identities a certificate vouches for, with the numbers of IKE ID
 * types so that an ID payload compares directly: the subject DN (9), then
 * the subjectAltName entries: IPv4 (1), DNS name (2), e-mail (3), IPv6 (5).
 * data points into c. Returns how many there are (may exceed max).
 */
struct cert_id {
	uint8_t type;
	const uint8_t *data;
	size_t len;
};
size_t cert_ids(const struct cert *c, struct cert_id *out, size_t max);
/* Does the peer's ID payload name this certificate? DNs compare as X.500
 * names (case and spacing of values ignored), DNS names and e-mail
 * addresses without regard to case, addresses as bytes. */
bool cert_matches_id(const struct cert *c, uint8_t id_type, const uint8_t *data, size_t len);

/*
 * DN strings as people and Windows write them: "CN=Test Root, O=secpol",
 * "C=US, O=Example, CN=Root", "/C=US/O=Example/CN=Root" and RFC 4514's
 * reversed "CN=Root,O=Example,C=US" are all the same name. Attribute names
 * are case-insensitive (S and ST, E and emailAddress are aliases), values
 * compare ignoring case and runs of spaces; quoting and \-escapes work.
 */
bool cert_dn_equal(const char *a, const char *b);
bool cert_name_matches(const struct cert *c, const char *dn);   /* c's subject */

/* ---- the store ---------------------------------------------------------- */

struct cert_store;

/* dir if given, else $SECPOL_CERTS if set, else CERT_STORE_DEFAULT_PATH. */
const char *cert_store_path(const char *dir);
/*
 * Reads the directory into memory (certificates and CRLs; keys are read
 * only when a credential is selected). create: make the directory (0700,
 * and its missing parents) for writing; without it a missing directory is
 * an empty store. A damaged file is skipped and reported by
 * cert_store_warning, so one bad file does not take the store down.
 */
struct cert_store *cert_store_open(const char *dir, bool create, struct cert_err *e);
void cert_store_close(struct cert_store *s);
const char *cert_store_dir(const struct cert_store *s);
/* "" or a note about skipped files. */
const char *cert_store_warning(const struct cert_store *s);

struct cert_import_result {
	size_t certs, keys, crls;      /* newly added */
	size_t present;                /* already in the store */
	char host[256];                /* subject of the certificate given a key, or "" */
};
/*
 * Imports PEM (any mix of certificates, a private key — PKCS#8, encrypted
 * or not, or traditional RSA/EC —, and X509 CRLs), DER (a certificate or a
 * CRL) or PKCS#12. All of it is checked before anything is written: a key
 * must match a certificate of the file or of the store, and at most one key
 * per file. A file that fails a check changes nothing (only an I/O error
 * half way can leave some of its entries, each file whole).
 */
bool cert_store_import_file(struct cert_store *s, const char *path, const char *password,
                            struct cert_import_result *r, struct cert_err *e);
bool cert_store_import_mem(struct cert_store *s, const uint8_t *data, size_t len,
                           const char *password, struct cert_import_result *r,
                           struct cert_err *e);

struct cert_entry {
	char fingerprint[65];          /* SHA-256 of the DER, lowercase hex */
	char subject[256], issuer[256];
	int64_t not_before, not_after;
	char key_type[24];
	bool has_key, is_ca, self_signed;
	enum cert_status chain;        /* CERT_OK: verifies to a root in the store */
	char chain_msg[384];           /* why not; or the root it reaches */
};
struct cert_crl_entry {
	char fingerprint[65];
	char issuer[256];
	int64_t this_update, next_update; /* next_update 0: none given */
	size_t revoked;                /* entries */
	bool issuer_known;             /* signed by a CA certificate in the store */
};
/* Every certificate, sorted by subject then fingerprint, its chain checked
 * at `now` (CRLs: revocation fails it, missing CRLs do not). Caller frees. */
bool cert_store_list(const struct cert_store *s, int64_t now, struct cert_entry **out,
                     size_t *n, struct cert_err *e);
bool cert_store_list_crls(const struct cert_store *s, struct cert_crl_entry **out, size_t *n,
                          struct cert_err *e);
/*
 * Deletes the certificates whose subject is `subject` (cert_dn_equal), or
 * the certificate or CRL whose fingerprint is `fingerprint` (hex, ':'
 * allowed, or a unique prefix of at least 8 digits), with their keys.
 * Exactly one of the two is given. *deleted: how many entries went.
 */
bool cert_store_delete(struct cert_store *s, const char *subject, const char *fingerprint,
                       size_t *deleted, struct cert_err *e);

/* ---- IKE: whom we trust, who we are ------------------------------------- */

/* strongcrlcheck (netsh-ipsec.md §4.6): 0 none; 1 fail only when revoked;
 * 2 also fail when an issuer has no valid CRL in the store. */
enum cert_crl_mode { CERT_CRL_OFF = 0, CERT_CRL_SOFT = 1, CERT_CRL_STRICT = 2 };

struct cert_blob {
	const uint8_t *der;
	size_t len;
};

/*
 * The peer's certificate (end entity) is acceptable: it and the
 * intermediates it sent, with the store's CA certificates, form a path
 * (signatures, validity at `now`, CA flags, keys of >= 112-bit strength)
 * to a CA of the store whose subject is one of `rootcas` (rule rootca=
 * strings; nroots 0: any self-signed CA of the store), and, as crl asks,
 * nothing on it is revoked. False: e says which check failed.
 */
bool cert_verify_peer(const struct cert_store *s, const struct cert *peer,
                      const struct cert_blob *chain, size_t nchain,
                      const char *const *rootcas, size_t nroots, enum cert_crl_mode crl,
                      int64_t now, struct cert_err *e);

#define CERT_CHAIN_MAX 8
/* Our side: a host certificate with its key and the intermediates to send. */
struct cert_cred {
	struct cert *cert;
	struct cert_key *key;
	struct cert *chain[CERT_CHAIN_MAX]; /* issuer first, the root left out */
	size_t nchain;
	char root[256];                /* the root CA it reaches */
};
/*
 * The host certificate (one with a key) whose chain verifies at `now` to
 * one of rootcas, tried in rootcas order; among several for one root the
 * one valid longest. CRLs are not consulted for our own certificate.
 */
bool cert_select_host(const struct cert_store *s, const char *const *rootcas, size_t nroots,
                      int64_t now, struct cert_cred *out, struct cert_err *e);
void cert_cred_free(struct cert_cred *c);
/* SHA-1 of the SubjectPublicKeyInfo of each trusted CA named by rootcas
 * (nroots 0: every self-signed CA): the Certification Authority data of
 * CERTREQ (RFC 7296 §3.7). Returns how many were written, at most max. */
size_t cert_store_ca_keyids(const struct cert_store *s, const char *const *rootcas,
                            size_t nroots, uint8_t (*out)[20], size_t max);

/* ---- IKE: AUTH signatures ----------------------------------------------- */

/* Wraps an OpenSSL key (takes its own reference): tests, and keys made elsewhere. */
struct cert_key *cert_key_from_pkey(struct evp_pkey_st *pkey);
void cert_key_free(struct cert_key *k);

/* Hash numbers are IKE's (RFC 7427 §7): 2, 3, 4 = SHA2-256, -384, -512.
 * Ours for SIGNATURE_HASH_ALGORITHMS, in order of preference. */
size_t cert_hash_list(uint16_t *out, size_t max);
/* The hash to sign with, from the peer's list: the one matching an ECDSA
 * key's curve if offered, else the strongest common one. 0: none shared. */
uint16_t cert_pick_hash(const struct cert_key *k, const uint16_t *peer, size_t n);
/* AUTH method for our key (RFC 7296 numbers): 14 when the peer sent
 * SIGNATURE_HASH_ALGORITHMS, else 1 for RSA and 9/10/11 for ECDSA P-256/
 * P-384/P-521. 0: this key cannot sign for IKE without RFC 7427. */
unsigned cert_auth_method(const struct cert_key *k, bool peer_rfc7427);

/* Room for any Authentication Data: RSA-8192 plus an AlgorithmIdentifier. */
#define CERT_AUTH_MAX 1100
/*
 * The Authentication Data of an AUTH payload over the signed octets.
 *   1         RSASSA-PKCS1-v1_5 with SHA-1
 *   9, 10, 11 ECDSA P-256/SHA-256, P-384/SHA-384, P-521/SHA-512; r | s,
 *             each the width of the curve (RFC 4754 §7), not DER
 *   14        1 octet length | AlgorithmIdentifier | signature (RFC 7427
 *             §3): sha{256,384,512}WithRSAEncryption or ecdsa-with-SHA*,
 *             ECDSA signatures in DER; hash picks SHA-2 (2, 3, 4)
 * hash is ignored for the other methods. *outlen: in, the room; out, used.
 */
bool cert_sign(const struct cert_key *k, unsigned method, uint16_t hash,
               const uint8_t *octets, size_t len, uint8_t *out, size_t *outlen,
               struct cert_err *e);
/* Checks a peer's Authentication Data with its certificate's key. Method 14
 * also accepts RSASSA-PSS with SHA-2 and MGF1; SHA-1 only under method 1. */
bool cert_verify(const struct cert *peer, unsigned method, const uint8_t *auth,
                 size_t authlen, const uint8_t *octets, size_t len, struct cert_err *e);

#endif
