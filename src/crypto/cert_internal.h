/* Private to the certificate code (cert.c, cert_store.c, cert_verify.c, sig.c). */
#ifndef SECPOL_CERT_INTERNAL_H
#define SECPOL_CERT_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/cert.h"

struct cert {
	X509 *x;
	uint8_t *der;                /* the whole certificate */
	size_t der_len;
	uint8_t *subject;            /* its subject Name, DER */
	size_t subject_len;
	GENERAL_NAMES *san;          /* NULL when there is none */
	char fp[65];                 /* SHA-256 of der, hex */
};

struct cert_key {
	EVP_PKEY *pkey;
};

/* One certificate of the store: has_key says a <fp>.key file exists. */
struct store_cert {
	struct cert *c;
	bool has_key;
};

struct store_crl {
	X509_CRL *crl;
	char fp[65];
};

struct cert_store {
	char dir[4096];
	int dirfd;                   /* -1: the directory does not exist (yet) */
	struct store_cert *certs;
	size_t ncerts;
	struct store_crl *crls;
	size_t ncrls;
	char warning[256];
};

/* Fills e (if not NULL) and drops OpenSSL's queued errors. Returns false. */
bool cert_fail(struct cert_err *e, enum cert_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cert_ok(struct cert_err *e);

/* Takes ownership of x (freed on failure). */
struct cert *cert_wrap(X509 *x, struct cert_err *e);
/* "C=US, O=Example, CN=Root". */
void cert_name_text(const X509_NAME *n, char *buf, size_t len);
/* X509 names against rootca= strings (see cert_dn_equal). */
bool cert_x509_name_matches(const X509_NAME *n, const char *dn);
bool cert_is_ca(const struct cert *c);
bool cert_self_signed(const struct cert *c);
void cert_hex(const uint8_t *p, size_t n, char *out);   /* out: 2n + 1 */
int64_t cert_asn1_time(const ASN1_TIME *t);
void cert_pkey_type(const EVP_PKEY *k, char *buf, size_t len);
/* `cert show`'s chain column: c verifies at now to any self-signed CA of
 * the store, CRLs consulted softly. root: that CA's DN. */
bool cert_store_chain_check(const struct cert_store *s, const struct cert *c, int64_t now,
                            char *root, size_t rootlen, struct cert_err *e);

/* The private key stored for the certificate with fingerprint fp. */
EVP_PKEY *cert_store_load_key(const struct cert_store *s, const char *fp, struct cert_err *e);

#endif
