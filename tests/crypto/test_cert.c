/*
 * Tests for the certificate store and the IKE signature primitives
 * (src/crypto/cert*.c, sig.c). A small PKI is made with OpenSSL at start:
 *
 *   Test Root (RSA-2048) ── Test Intermediate (P-256) ─┬─ host-a (RSA-2048,
 *                                                      │   SAN IPv4/IPv6/DNS/mail)
 *                                                      ├─ expired (P-256)
 *                                                      └─ revoked (P-256, serial 666)
 *   EC Root (P-256) ── host-b (P-256)
 *   P384 Root (P-384, "C=US, O=Example, CN=P384 Root") ── host-c (P-384)
 *   Other Root (P-256) ── host-d (P-256)
 *   CRLs: Test Intermediate's (revokes 666), Test Root's (empty)
 *
 * Every test gets a fresh store in a mkdtemp directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/cert.h"

#define DAY (24 * 3600L)

struct pki {
	EVP_PKEY *root_key, *inter_key, *a_key, *exp_key, *rev_key;
	EVP_PKEY *eroot_key, *b_key, *p384_key, *c_key, *other_key, *d_key, *p521_key;
	X509 *root, *inter, *a, *expired, *revoked;
	X509 *eroot, *b, *p384, *c, *other, *d;
	X509_CRL *inter_crl, *root_crl;
};
static struct pki P;
static char store_dir[512];
static char tmp_base[256];

/* ---- making the PKI -------------------------------------------------------------------- */

/* "C=US/O=Example/CN=P384 Root" */
static X509_NAME *mk_name(const char *text)
{
	X509_NAME *n = X509_NAME_new();
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", text);
	for (char *save = NULL, *part = strtok_r(buf, "/", &save); part;
	     part = strtok_r(NULL, "/", &save)) {
		char *eq = strchr(part, '=');
		assert_non_null(eq);
		*eq = '\0';
		assert_true(X509_NAME_add_entry_by_txt(n, part, MBSTRING_UTF8,
		                                       (unsigned char *)eq + 1, -1, -1, 0));
	}
	return n;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	assert_true(X509_add_ext(x, ext, -1));
	X509_EXTENSION_free(ext);
}

static const EVP_MD *md_for(EVP_PKEY *k)
{
	return EVP_PKEY_get_bits(k) == 384 ? EVP_sha384() : EVP_sha256();
}

static X509 *mk_cert(const char *subject, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
                     bool ca, long from, long to, long serial, const char *san)
{
	X509 *x = X509_new();
	X509_NAME *n = mk_name(subject);
	assert_true(X509_set_version(x, 2));
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	assert_true(X509_set_subject_name(x, n));
	assert_true(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n));
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	assert_true(X509_set_pubkey(x, key));
	add_ext(x, issuer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	add_ext(x, issuer, NID_key_usage, ca ? "critical,keyCertSign,cRLSign"
	                                     : "critical,digitalSignature");
	add_ext(x, issuer, NID_subject_key_identifier, "hash");
	add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
	if (san)
		add_ext(x, issuer, NID_subject_alt_name, san);
	EVP_PKEY *signer = ikey ? ikey : key;
	assert_true(X509_sign(x, signer, md_for(signer)) > 0);
	return x;
}

static X509_CRL *mk_crl(X509 *issuer, EVP_PKEY *ikey, long revoked_serial, long next)
{
	X509_CRL *crl = X509_CRL_new();
	assert_true(X509_CRL_set_version(crl, 1));
	assert_true(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)));
	ASN1_TIME *t = ASN1_TIME_adj(NULL, time(NULL), 0, -3600);
	assert_true(X509_CRL_set1_lastUpdate(crl, t));
	ASN1_TIME_adj(t, time(NULL), 0, next);
	assert_true(X509_CRL_set1_nextUpdate(crl, t));
	if (revoked_serial) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *serial = ASN1_INTEGER_new();
		ASN1_INTEGER_set(serial, revoked_serial);
		assert_true(X509_REVOKED_set_serialNumber(r, serial));
		ASN1_TIME_adj(t, time(NULL), 0, -60);
		assert_true(X509_REVOKED_set_revocationDate(r, t));
		assert_true(X509_CRL_add0_revoked(crl, r));
		ASN1_INTEGER_free(serial);
	}
	ASN1_TIME_free(t);
	assert_true(X509_CRL_sort(crl));
	assert_true(X509_CRL_sign(crl, ikey, md_for(ikey)) > 0);
	return crl;
}

static int group_setup(void **state)
{
	(void)state;
	const char *base = getenv("SECPOL_TEST_TMP");
	snprintf(tmp_base, sizeof(tmp_base), "%s", base && base[0] ? base : "/tmp");
	P.root_key = EVP_RSA_gen(2048);
	P.a_key = EVP_RSA_gen(2048);
	P.inter_key = EVP_EC_gen("P-256");
	P.exp_key = EVP_EC_gen("P-256");
	P.rev_key = EVP_EC_gen("P-256");
	P.eroot_key = EVP_EC_gen("P-256");
	P.b_key = EVP_EC_gen("P-256");
	P.p384_key = EVP_EC_gen("P-384");
	P.c_key = EVP_EC_gen("P-384");
	P.other_key = EVP_EC_gen("P-256");
	P.d_key = EVP_EC_gen("P-256");
	P.p521_key = EVP_EC_gen("P-521");
	if (!P.root_key || !P.a_key || !P.c_key || !P.p521_key)
		return -1;
	P.root = mk_cert("CN=Test Root/O=secpol", P.root_key, NULL, NULL, true, -DAY, 3650 * DAY,
	                 1, NULL);
	P.inter = mk_cert("CN=Test Intermediate/O=secpol", P.inter_key, P.root, P.root_key, true,
	                  -DAY, 365 * DAY, 2, NULL);
	P.a = mk_cert("CN=host-a/O=secpol", P.a_key, P.inter, P.inter_key, false, -DAY, 30 * DAY,
	              3, "IP:192.0.2.1,IP:2001:db8::1,DNS:host-a.example,email:admin@example.com");
	P.expired = mk_cert("CN=expired/O=secpol", P.exp_key, P.inter, P.inter_key, false,
	                    -30 * DAY, -DAY, 4, "IP:192.0.2.9");
	P.revoked = mk_cert("CN=revoked/O=secpol", P.rev_key, P.inter, P.inter_key, false, -DAY,
	                    30 * DAY, 666, "IP:192.0.2.66");
	P.eroot = mk_cert("CN=EC Root/O=secpol", P.eroot_key, NULL, NULL, true, -DAY, 3650 * DAY,
	                  10, NULL);
	P.b = mk_cert("CN=host-b/O=secpol", P.b_key, P.eroot, P.eroot_key, false, -DAY, 30 * DAY,
	              11, "IP:192.0.2.2");
	P.p384 = mk_cert("C=US/O=Example/CN=P384 Root", P.p384_key, NULL, NULL, true, -DAY,
	                 3650 * DAY, 20, NULL);
	P.c = mk_cert("CN=host-c/O=Example", P.c_key, P.p384, P.p384_key, false, -DAY, 30 * DAY, 21,
	              "IP:198.51.100.3");
	P.other = mk_cert("CN=Other Root/O=elsewhere", P.other_key, NULL, NULL, true, -DAY,
	                  3650 * DAY, 30, NULL);
	P.d = mk_cert("CN=host-d/O=elsewhere", P.d_key, P.other, P.other_key, false, -DAY,
	              30 * DAY, 31, "IP:203.0.113.4");
	P.inter_crl = mk_crl(P.inter, P.inter_key, 666, 7 * DAY);
	P.root_crl = mk_crl(P.root, P.root_key, 0, 7 * DAY);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	EVP_PKEY *keys[] = { P.root_key, P.inter_key, P.a_key, P.exp_key, P.rev_key, P.eroot_key,
	                     P.b_key, P.p384_key, P.c_key, P.other_key, P.d_key, P.p521_key };
	X509 *certs[] = { P.root, P.inter, P.a, P.expired, P.revoked, P.eroot, P.b, P.p384,
	                  P.c, P.other, P.d };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		EVP_PKEY_free(keys[i]);
	for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
		X509_free(certs[i]);
	X509_CRL_free(P.inter_crl);
	X509_CRL_free(P.root_crl);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	snprintf(store_dir, sizeof(store_dir), "%s/certtest.XXXXXX", tmp_base);
	assert_non_null(mkdtemp(store_dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	DIR *d = opendir(store_dir);
	struct dirent *de;
	char path[1024];
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || de->d_name[1] == '.'))
			continue;
		snprintf(path, sizeof(path), "%s/%s", store_dir, de->d_name);
		if (unlink(path) < 0) {
			/* the store subdirectory */
			DIR *s = opendir(path);
			struct dirent *se;
			char sub[1400];
			while (s && (se = readdir(s)))
				if (se->d_name[0] != '.' || (se->d_name[1] && se->d_name[1] != '.')) {
					snprintf(sub, sizeof(sub), "%s/%s", path, se->d_name);
					unlink(sub);
				}
			if (s)
				closedir(s);
			rmdir(path);
		}
	}
	if (d)
		closedir(d);
	rmdir(store_dir);
	return 0;
}

/* ---- helpers --------------------------------------------------------------------------- */

/* The PEM of any mix of certificates, a key (encrypted if pw) and CRLs. */
struct pem {
	BIO *b;
};

static void pem_begin(struct pem *p)
{
	p->b = BIO_new(BIO_s_mem());
	assert_non_null(p->b);
}
static void pem_cert(struct pem *p, X509 *x)
{
	assert_true(PEM_write_bio_X509(p->b, x));
}
static void pem_key(struct pem *p, EVP_PKEY *k, const char *pw)
{
	if (pw)
		assert_true(PEM_write_bio_PKCS8PrivateKey(p->b, k, EVP_aes_256_cbc(), pw,
		                                          (int)strlen(pw), NULL, NULL));
	else
		assert_true(PEM_write_bio_PrivateKey(p->b, k, NULL, NULL, 0, NULL, NULL));
}
static void pem_crl(struct pem *p, X509_CRL *c)
{
	assert_true(PEM_write_bio_X509_CRL(p->b, c));
}
static bool pem_import(struct pem *p, struct cert_store *s, const char *pw,
                       struct cert_import_result *r, struct cert_err *e)
{
	char *data;
	long n = BIO_get_mem_data(p->b, &data);
	bool ok = cert_store_import_mem(s, (const uint8_t *)data, (size_t)n, pw, r, e);
	BIO_free(p->b);
	p->b = NULL;
	return ok;
}

static struct cert_store *open_store(void)
{
	struct cert_err e;
	char path[600];
	snprintf(path, sizeof(path), "%s/store", store_dir);
	struct cert_store *s = cert_store_open(path, true, &e);
	if (!s)
		fail_msg("open: %s", e.msg);
	return s;
}

static void import_ok(struct cert_store *s, X509 *const *certs, size_t n, EVP_PKEY *key,
                      X509_CRL *crl)
{
	struct pem p;
	struct cert_import_result r;
	struct cert_err e;
	pem_begin(&p);
	for (size_t i = 0; i < n; i++)
		pem_cert(&p, certs[i]);
	if (key)
		pem_key(&p, key, NULL);
	if (crl)
		pem_crl(&p, crl);
	if (!pem_import(&p, s, NULL, &r, &e))
		fail_msg("import: %s", e.msg);
}

/* Root, intermediate, host-a with its key; EC root with host-b. */
static struct cert_store *standard_store(void)
{
	struct cert_store *s = open_store();
	X509 *roots[] = { P.root, P.inter, P.eroot, P.p384, P.other };
	import_ok(s, roots, 5, NULL, NULL);
	X509 *a[] = { P.a };
	import_ok(s, a, 1, P.a_key, NULL);
	X509 *b[] = { P.b };
	import_ok(s, b, 1, P.b_key, NULL);
	X509 *c[] = { P.c };
	import_ok(s, c, 1, P.c_key, NULL);
	return s;
}

static struct cert *der_cert(X509 *x)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	assert_true(n > 0);
	struct cert_err e;
	struct cert *c = cert_from_der(der, (size_t)n, &e);
	OPENSSL_free(der);
	assert_non_null(c);
	return c;
}

static const struct cert_entry *find_entry(const struct cert_entry *v, size_t n,
                                           const char *subject)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].subject, subject))
			return &v[i];
	return NULL;
}

static size_t count_files(const char *suffix)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/store", store_dir);
	DIR *d = opendir(path);
	size_t n = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t len = strlen(de->d_name), sl = strlen(suffix);
		n += len > sl && !strcmp(de->d_name + len - sl, suffix);
	}
	if (d)
		closedir(d);
	return n;
}

/* ---- import ---------------------------------------------------------------------------- */

static void test_import_pem_and_list(void **state)
{
	(void)state;
	struct cert_store *s = standard_store();
	struct cert_entry *v;
	size_t n;
	struct cert_err e;
	assert_true(cert_store_list(s, 0, &v, &n, &e));
	assert_int_equal(n, 8);
	const struct cert_entry *a = find_entry(v, n, "CN=host-a, O=secpol");
	assert_non_null(a);
	assert_string_equal(a->issuer, "CN=Test Intermediate, O=secpol");
	assert_string_equal(a->key_type, "RSA-2048");
	assert_true(a->has_key);
	assert_false(a->is_ca);
	assert_int_equal(a->chain, CERT_OK);
	assert_string_equal(a->chain_msg, "CN=Test Root, O=secpol");
	assert_true(a->not_after - a->not_before > 30 * DAY - 10);
	assert_int_equal(strlen(a->fingerprint), 64);

	const struct cert_entry *root = find_entry(v, n, "CN=Test Root, O=secpol");
	assert_non_null(root);
	assert_true(root->is_ca && root->self_signed && !root->has_key);
	assert_string_equal(root->key_type, "RSA-2048");
	const struct cert_entry *inter = find_entry(v, n, "CN=Test Intermediate, O=secpol");
	assert_true(inter->is_ca && !inter->self_signed);
	assert_string_equal(inter->key_type, "ECDSA-P256");
	const struct cert_entry *c = find_entry(v, n, "CN=host-c, O=Example");
	assert_string_equal(c->key_type, "ECDSA-P384");
	assert_string_equal(c->chain_msg, "C=US, O=Example, CN=P384 Root");
	free(v);

	/* Keys 0600, the directory 0700, certificates named by fingerprint. */
	char path[700];
	struct stat st;
	snprintf(path, sizeof(path), "%s/store", store_dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(count_files(".key"), 3);
	assert_int_equal(count_files(".crt"), 8);
	assert_int_equal(count_files(".crl"), 0);
	DIR *d = opendir(path);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".key")) {
			char kp[1000];
			snprintf(kp, sizeof(kp), "%s/%s", path, de->d_name);
			assert_int_equal(stat(kp, &st), 0);
			assert_int_equal(st.st_mode & 0777, 0600);
		}
	closedir(d);

	/* Reopened from disk: the same view. */
	cert_store_close(s);
	s = open_store();
	assert_true(cert_store_list(s, 0, &v, &n, &e));
	assert_int_equal(n, 8);
	assert_true(find_entry(v, n, "CN=host-b, O=secpol")->has_key);
	assert_string_equal(cert_store_warning(s), "");
	free(v);

	/* The same import again changes nothing. */
	struct pem p;
	struct cert_import_result r;
	pem_begin(&p);
	pem_cert(&p, P.root);
	assert_true(pem_import(&p, s, NULL, &r, &e));
	assert_int_equal(r.certs, 0);
	assert_int_equal(r.present, 1);
	cert_store_close(s);
}

static void write_p12(const char *path, const char *pw, EVP_PKEY *key, X509 *x,
                      STACK_OF(X509) *ca)
{
	PKCS12 *p12 = PKCS12_create(pw, "host", key, x, ca, 0, 0, 0, 0, 0);
	assert_non_null(p12);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_true(i2d_PKCS12_fp(f, p12));
	fclose(f);
	PKCS12_free(p12);
}

static void test_import_pkcs12(void **state)
{
	(void)state;
	struct cert_store *s = open_store();
	char path[700];
	snprintf(path, sizeof(path), "%s/host.p12", store_dir);
	STACK_OF(X509) *ca = sk_X509_new_null();
	sk_X509_push(ca, P.inter);
	sk_X509_push(ca, P.root);
	write_p12(path, "s3cret pw", P.a_key, P.a, ca);
	sk_X509_free(ca);
	struct cert_import_result r;
	struct cert_err e;

	assert_false(cert_store_import_file(s, path, "wrong", &r, &e));
	assert_int_equal(e.status, CERT_E_PASSWORD);
	assert_non_null(strstr(e.msg, "wrong password"));
	assert_false(cert_store_import_file(s, path, NULL, &r, &e));
	assert_int_equal(e.status, CERT_E_PASSWORD);
	assert_non_null(strstr(e.msg, "password="));
	assert_int_equal(count_files(".crt") + count_files(".key"), 0);

	assert_true(cert_store_import_file(s, path, "s3cret pw", &r, &e));
	assert_int_equal(r.certs, 3);
	assert_int_equal(r.keys, 1);
	assert_string_equal(r.host, "CN=host-a, O=secpol");
	struct cert_entry *v;
	size_t n;
	assert_true(cert_store_list(s, 0, &v, &n, &e));
	assert_int_equal(n, 3);
	const struct cert_entry *a = find_entry(v, n, "CN=host-a, O=secpol");
	assert_true(a->has_key);
	assert_int_equal(a->chain, CERT_OK);
	free(v);

	/* A CA certificate alone in a PKCS#12 file. */
	snprintf(path, sizeof(path), "%s/ca.p12", store_dir);
	write_p12(path, "pw", NULL, P.eroot, NULL);
	assert_true(cert_store_import_file(s, path, "pw", &r, &e));
	assert_int_equal(r.certs, 1);
	assert_int_equal(r.keys, 0);
	cert_store_close(s);
}

static void test_import_encrypted_pem(void **state)
{
	(void)state;
	struct cert_store *s = open_store();
	struct cert_import_result r;
	struct cert_err e;
	struct pem p;

	pem_begin(&p);
	pem_cert(&p, P.b);
	pem_key(&p, P.b_key, "hunter2");
	assert_false(pem_import(&p, s, NULL, &r, &e));
	assert_int_equal(e.status, CERT_E_PASSWORD);
	assert_non_null(strstr(e.msg, "encrypted"));

	pem_begin(&p);
	pem_cert(&p, P.b);
	pem_key(&p, P.b_key, "hunter2");
	assert_false(pem_import(&p, s, "hunter3", &r, &e));
	assert_int_equal(e.status, CERT_E_PASSWORD);
	assert_int_equal(count_files(".crt"), 0);

	pem_begin(&p);
	pem_cert(&p, P.b);
	pem_key(&p, P.b_key, "hunter2");
	assert_true(pem_import(&p, s, "hunter2", &r, &e));
	assert_int_equal(r.keys, 1);
	assert_int_equal(r.certs, 1);

	/* A traditional "EC PRIVATE KEY" with Proc-Type encryption. */
	pem_begin(&p);
	pem_cert(&p, P.d);
	assert_true(PEM_write_bio_PrivateKey_traditional(p.b, P.d_key, EVP_aes_128_cbc(),
	                                                 (unsigned char *)"tradpw", 6, NULL, NULL));
	assert_false(pem_import(&p, s, "nope", &r, &e));
	assert_int_equal(e.status, CERT_E_PASSWORD);
	pem_begin(&p);
	pem_cert(&p, P.d);
	assert_true(PEM_write_bio_PrivateKey_traditional(p.b, P.d_key, EVP_aes_128_cbc(),
	                                                 (unsigned char *)"tradpw", 6, NULL, NULL));
	assert_true(pem_import(&p, s, "tradpw", &r, &e));
	assert_int_equal(r.keys, 1);
	cert_store_close(s);
}

static void test_key_mismatch_and_key_alone(void **state)
{
	(void)state;
	struct cert_store *s = open_store();
	struct cert_import_result r;
	struct cert_err e;
	struct pem p;

	pem_begin(&p);
	pem_cert(&p, P.b);
	pem_key(&p, P.c_key, NULL);
	assert_false(pem_import(&p, s, NULL, &r, &e));
	assert_int_equal(e.status, CERT_E_KEY_MISMATCH);
	assert_non_null(strstr(e.msg, "CN=host-b"));
	assert_int_equal(count_files(".crt") + count_files(".key"), 0);

	/* A key alone needs its certificate in the store. */
	pem_begin(&p);
	pem_key(&p, P.b_key, NULL);
	assert_false(pem_import(&p, s, NULL, &r, &e));
	assert_int_equal(e.status, CERT_E_KEY_MISMATCH);
	X509 *b[] = { P.b };
	import_ok(s, b, 1, NULL, NULL);
	pem_begin(&p);
	pem_key(&p, P.b_key, NULL);
	assert_true(pem_import(&p, s, NULL, &r, &e));
	assert_int_equal(r.keys, 1);
	assert_int_equal(r.certs, 0);

	/* Two keys in one file. */
	pem_begin(&p);
	pem_cert(&p, P.c);
	pem_key(&p, P.c_key, NULL);
	pem_key(&p, P.d_key, NULL);
	assert_false(pem_import(&p, s, NULL, &r, &e));
	assert_int_equal(e.status, CERT_E_FORMAT);

	/* A host key IKE cannot use. */
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	pem_begin(&p);
	pem_key(&p, ed, NULL);
	assert_false(pem_import(&p, s, NULL, &r, &e));
	assert_int_equal(e.status, CERT_E_UNSUPPORTED);
	EVP_PKEY_free(ed);
	cert_store_close(s);
}

static void test_import_corrupt(void **state)
{
	(void)state;
	struct cert_store *s = open_store();
	struct cert_import_result r;
	struct cert_err e;
	static const uint8_t junk[] = "this is not a certificate\n";
	assert_false(cert_store_import_mem(s, junk, sizeof(junk) - 1, NULL, &r, &e));
	assert_int_equal(e.status, CERT_E_FORMAT);
	assert_false(cert_store_import_mem(s, junk, 0, NULL, &r, &e));
	assert_int_equal(e.status, CERT_E_FORMAT);

	/* A PEM certificate cut in half, and one with a flipped base64 byte. */
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, P.root);
	char *data;
	long n = BIO_get_mem_data(b, &data);
	char *copy = malloc((size_t)n);
	memcpy(copy, data, (size_t)n);
	assert_false(cert_store_import_mem(s, (uint8_t *)copy, (size_t)n / 2, NULL, &r, &e));
	assert_int_equal(e.status, CERT_E_FORMAT);
	copy[100] = copy[100] == 'A' ? 'B' : 'A';
	assert_false(cert_store_import_mem(s, (uint8_t *)copy, (size_t)n, NULL, &r, &e));
	free(copy);
	BIO_free(b);

	/* DER: a certificate with trailing bytes, a truncated one. */
	unsigned char *der = NULL;
	int len = i2d_X509(P.root, &der);
	uint8_t *buf = malloc((size_t)len + 1);
	memcpy(buf, der, (size_t)len);
	buf[len] = 0;
	assert_false(cert_store_import_mem(s, buf, (size_t)len + 1, NULL, &r, &e));
	assert_int_equal(e.status, CERT_E_FORMAT);
	assert_false(cert_store_import_mem(s, buf, (size_t)len - 10, NULL, &r, &e));
	assert_true(cert_store_import_mem(s, buf, (size_t)len, NULL, &r, &e));   /* plain DER */
	assert_int_equal(r.certs, 1);
	free(buf);
	OPENSSL_free(der);

	/* A PEM block that is not ours. */
	static const char pub[] = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
	assert_false(cert_store_import_mem(s, (const uint8_t *)pub, sizeof(pub) - 1, NULL, &r, &e));

	/* No such file. */
	assert_false(cert_store_import_file(s, "/nonexistent/x.pem", NULL, &r, &e));
	assert_int_equal(e.status, CERT_E_IO);
	assert_int_equal(count_files(".crt"), 1);
	cert_store_close(s);
}

static void test_damaged_store_file_skipped(void **state)
{
	(void)state;
	struct cert_store *s = standard_store();
	cert_store_close(s);
	char path[800];
	snprintf(path, sizeof(path), "%s/store/%064d.crt", store_dir, 0);
	FILE *f = fopen(path, "w");
	fputs("garbage\n", f);
	fclose(f);
	s = open_store();
	assert_non_null(strstr(cert_store_warning(s), "skipped"));
	struct cert_entry *v;
	size_t n;
	struct cert_err e;
	assert_true(cert_store_list(s, 0, &v, &n, &e));
	assert_int_equal(n, 8);
	free(v);
	cert_store_close(s);
	/* Without create, a missing directory is an empty store. */
	snprintf(path, sizeof(path), "%s/none", store_dir);
	s = cert_store_open(path, false, &e);
	assert_non_null(s);
	assert_true(cert_store_list(s, 0, &v, &n, &e));
	assert_int_equal(n, 0);
	struct cert_import_result r;
	assert_false(cert_store_import_mem(s, (const uint8_t *)"x", 1, NULL, &r, &e));
	assert_int_equal(e.status, CERT_E_IO);
	cert_store_close(s);
}

static void test_store_path(void **state)
{
	(void)state;
	unsetenv("SECPOL_CERTS");
	assert_string_equal(cert_store_path(NULL), CERT_STORE_DEFAULT_PATH);
	setenv("SECPOL_CERTS", "/tmp/elsewhere", 1);
	assert_string_equal(cert_store_path(NULL), "/tmp/elsewhere");
	assert_string_equal(cert_store_path(""), "/tmp/elsewhere");
	assert_string_equal(cert_store_path("/x"), "/x");
	unsetenv("SECPOL_CERTS");
}

/* ---- delete ----------------------------------------------------------------------------- */

static void test_delete(void **state)
{
	(void)state;
	struct cert_store *s = standard_store();
	struct cert_err e;
	size_t deleted;
	struct pem p;
	struct cert_import_result r;
	pem_begin(&p);
	pem_crl(&p, P.inter_crl);
	assert_true(pem_import(&p, s, NULL, &r, &e));
	assert_int_equal(r.crls, 1);

	/* By subject, in another spelling; the key goes with it. */
	assert_true(cert_store_delete(s, "/O=secpol/CN=host-a", NULL, &deleted, &e));
	assert_int_equal(deleted, 1);
	assert_int_equal(count_files(".key"), 2);
	assert_false(cert_store_delete(s, "CN=host-a, O=secpol", NULL, &deleted, &e));
	assert_int_equal(e.status, CERT_E_NOT_FOUND);

	/* By fingerprint: whole, with colons, or a unique prefix. */
	struct cert_entry *v;
	size_t n;
	assert_true(cert_store_list(s, 0, &v, &n, &e));
	const struct cert_entry *b = find_entry(v, n, "CN=host-b, O=secpol");
	char colons[200] = "";
	for (size_t i = 0; i < 64; i += 2)
		snprintf(colons + strlen(colons), sizeof(colons) - strlen(colons), "%s%c%c",
		         i ? ":" : "", b->fingerprint[i] - 32 * (b->fingerprint[i] >= 'a'),
		         b->fingerprint[i + 1] - 32 * (b->fingerprint[i + 1] >= 'a'));
	assert_true(cert_store_delete(s, NULL, colons, &deleted, &e));
	assert_int_equal(deleted, 1);
	char prefix[9];
	const struct cert_entry *c = find_entry(v, n, "CN=host-c, O=Example");
	snprintf(prefix, sizeof(prefix), "%.8s", c->fingerprint);
	assert_true(cert_store_delete(s, NULL, prefix, &deleted, &e));
	assert_int_equal(count_files(".key"), 0);
	free(v);
	assert_false(cert_store_delete(s, NULL, "xyz", &deleted, &e));
	assert_false(cert_store_delete(s, NULL, "0000000000", &deleted, &e));
	assert_int_equal(e.status, CERT_E_NOT_FOUND);
	assert_false(cert_store_delete(s, "CN=a", "00000000", &deleted, &e));

	/* A CRL by fingerprint. */
	struct cert_crl_entry *crls;
	assert_true(cert_store_list_crls(s, &crls, &n, &e));
	assert_int_equal(n, 1);
	assert_true(crls[0].issuer_known);
	assert_int_equal(crls[0].revoked, 1);
	assert_true(cert_store_delete(s, NULL, crls[0].fingerprint, &deleted, &e));
	free(crls);
	assert_int_equal(count_files(".crl"), 0);
	cert_store_close(s);
}

/* ---- DNs and identities ------------------------------------------------------------------ */

static void test_dn_equal(void **state)
{
	(void)state;
	assert_true(cert_dn_equal("CN=Test Root, O=secpol", "CN=Test Root,O=secpol"));
	assert_true(cert_dn_equal("CN=Test Root, O=secpol", "  cn = test   root ,  o=SECPOL "));
	assert_true(cert_dn_equal("C=US, O=Example, CN=Root", "/C=US/O=Example/CN=Root"));
	assert_true(cert_dn_equal("C=US, O=Example, CN=Root", "CN=Root,O=Example,C=US"));
	assert_true(cert_dn_equal("C=US; O=Example; CN=Root", "C=US, O=Example, CN=Root"));
	assert_true(cert_dn_equal("S=Bavaria, E=a@b.example", "ST=Bavaria, emailAddress=a@b.example"));
	assert_true(cert_dn_equal("O=\"Acme, Inc.\", CN=x", "O=Acme\\, Inc., CN=x"));
	assert_true(cert_dn_equal("CN=\"quoted\"  ", "CN=quoted"));
	assert_true(cert_dn_equal("CN=\"a\\\"b\", O=x", "CN=a\\\"b,O=x"));
	assert_true(cert_dn_equal("CN=caf\\C3\\A9", "CN=caf\xc3\xa9"));
	assert_true(cert_dn_equal("O=A/B Corp, CN=x", "O=A/B Corp,CN=x"));
	assert_true(cert_dn_equal("OID.2.5.4.3=x", "CN=x"));
	assert_false(cert_dn_equal("CN=Test Root, O=secpol", "CN=Test Root"));
	assert_false(cert_dn_equal("CN=Test Root, O=secpol", "CN=Test Root, O=other"));
	assert_false(cert_dn_equal("CN=Root, O=Example, C=US", "O=Example, CN=Root, C=US"));
	assert_false(cert_dn_equal("CN=x", "XX=x"));
	assert_false(cert_dn_equal("", ""));
	assert_false(cert_dn_equal("CN=\"unterminated", "CN=unterminated"));

	struct cert *root = der_cert(P.p384);
	assert_true(cert_name_matches(root, "C=US, O=Example, CN=P384 Root"));
	assert_true(cert_name_matches(root, "cn=p384 root,o=example,c=us"));
	assert_false(cert_name_matches(root, "C=US, O=Example"));
	char text[256];
	cert_subject_text(root, text, sizeof(text));
	assert_string_equal(text, "C=US, O=Example, CN=P384 Root");
	cert_free(root);
}

static void test_identities(void **state)
{
	(void)state;
	struct cert *a = der_cert(P.a);
	struct cert_id ids[8];
	size_t n = cert_ids(a, ids, 8);
	assert_int_equal(n, 5);
	assert_int_equal(ids[0].type, 9);
	size_t dlen;
	const uint8_t *dn = cert_subject_der(a, &dlen);
	assert_int_equal(ids[0].len, dlen);
	assert_memory_equal(ids[0].data, dn, dlen);
	static const uint8_t v4[] = { 192, 0, 2, 1 }, v4b[] = { 192, 0, 2, 2 };
	static const uint8_t v6[] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	assert_int_equal(ids[1].type, 1);
	assert_memory_equal(ids[1].data, v4, 4);
	assert_int_equal(ids[2].type, 5);
	assert_int_equal(ids[3].type, 2);
	assert_int_equal(ids[4].type, 3);

	assert_true(cert_matches_id(a, 1, v4, 4));
	assert_false(cert_matches_id(a, 1, v4b, 4));
	assert_true(cert_matches_id(a, 5, v6, 16));
	assert_false(cert_matches_id(a, 5, v4, 4));
	assert_true(cert_matches_id(a, 2, (const uint8_t *)"HOST-A.example", 14));
	assert_false(cert_matches_id(a, 2, (const uint8_t *)"host-b.example", 14));
	assert_true(cert_matches_id(a, 3, (const uint8_t *)"admin@example.com", 17));
	assert_true(cert_matches_id(a, 9, dn, dlen));
	/* The same name, encoded differently (PrintableString vs UTF8String). */
	X509_NAME *alt = X509_NAME_new();
	X509_NAME_add_entry_by_txt(alt, "CN", V_ASN1_PRINTABLESTRING,
	                           (const unsigned char *)"HOST-A", -1, -1, 0);
	X509_NAME_add_entry_by_txt(alt, "O", V_ASN1_PRINTABLESTRING,
	                           (const unsigned char *)"secpol", -1, -1, 0);
	unsigned char *altder = NULL;
	int altlen = i2d_X509_NAME(alt, &altder);
	assert_true(cert_matches_id(a, 9, altder, (size_t)altlen));
	assert_false(cert_matches_id(a, 9, altder, (size_t)altlen - 1));
	OPENSSL_free(altder);
	X509_NAME_free(alt);
	const uint8_t *other = cert_subject_der(a, &dlen);
	assert_false(cert_matches_id(a, 9, other, dlen - 2));
	assert_false(cert_matches_id(a, 11, v4, 4));

	char type[32];
	cert_key_type(a, type, sizeof(type));
	assert_string_equal(type, "RSA-2048");
	assert_non_null(cert_public_key(a));
	size_t clen;
	assert_non_null(cert_der(a, &clen));
	assert_true(clen > 500);
	cert_free(a);

	struct cert_err e;
	static const uint8_t bad[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	assert_null(cert_from_der(bad, sizeof(bad), &e));
	assert_int_equal(e.status, CERT_E_FORMAT);
}

/* ---- chains ----------------------------------------------------------------------------- */

static bool peer_ok(struct cert_store *s, X509 *leaf, X509 *inter, const char *root,
                    enum cert_crl_mode crl, int64_t now, struct cert_err *e)
{
	struct cert *c = der_cert(leaf);
	unsigned char *der = NULL;
	struct cert_blob blob = { NULL, 0 };
	if (inter) {
		int n = i2d_X509(inter, &der);
		blob.der = der;
		blob.len = (size_t)n;
	}
	const char *roots[] = { root };
	bool ok = cert_verify_peer(s, c, &blob, inter ? 1 : 0, roots, root ? 1 : 0, crl, now, e);
	OPENSSL_free(der);
	cert_free(c);
	return ok;
}

static void test_verify_peer(void **state)
{
	(void)state;
	struct cert_store *s = open_store();
	X509 *roots[] = { P.root, P.eroot, P.other };
	import_ok(s, roots, 3, NULL, NULL);
	struct cert_err e;

	/* The intermediate comes from the peer (CERT payloads). */
	assert_true(peer_ok(s, P.a, P.inter, "CN=Test Root, O=secpol", CERT_CRL_OFF, 0, &e));
	assert_true(peer_ok(s, P.a, P.inter, "/O=secpol/CN=Test Root", CERT_CRL_OFF, 0, &e));
	assert_true(peer_ok(s, P.b, NULL, "CN=EC Root, O=secpol", CERT_CRL_OFF, 0, &e));
	/* Any store root when the rule names none. */
	assert_true(peer_ok(s, P.d, NULL, NULL, CERT_CRL_OFF, 0, &e));

	/* Without the intermediate. */
	assert_false(peer_ok(s, P.a, NULL, "CN=Test Root, O=secpol", CERT_CRL_OFF, 0, &e));
	assert_int_equal(e.status, CERT_E_UNTRUSTED);
	assert_non_null(strstr(e.msg, "untrusted root"));

	/* A chain to a root of the store, but not the rule's. */
	assert_false(peer_ok(s, P.d, NULL, "CN=Test Root, O=secpol", CERT_CRL_OFF, 0, &e));
	assert_int_equal(e.status, CERT_E_UNTRUSTED);
	assert_non_null(strstr(e.msg, "CN=Other Root"));

	/* A root the store does not have. */
	assert_false(peer_ok(s, P.c, NULL, "C=US, O=Example, CN=P384 Root", CERT_CRL_OFF, 0, &e));
	assert_int_equal(e.status, CERT_E_UNTRUSTED);
	assert_non_null(strstr(e.msg, "P384 Root"));

	/* Expired, and not yet valid (the clock set back). */
	assert_false(peer_ok(s, P.expired, P.inter, "CN=Test Root, O=secpol", CERT_CRL_OFF, 0, &e));
	assert_int_equal(e.status, CERT_E_EXPIRED);
	assert_non_null(strstr(e.msg, "expired: 'CN=expired, O=secpol'"));
	assert_false(peer_ok(s, P.a, P.inter, "CN=Test Root, O=secpol", CERT_CRL_OFF,
	                     (int64_t)time(NULL) - 10 * DAY, &e));
	assert_int_equal(e.status, CERT_E_NOT_YET_VALID);

	/* A certificate whose signature is not its issuer's: host-b re-signed
	 * by a stranger under EC Root's name and key identifier. */
	X509 *forged = X509_dup(P.b);
	EVP_PKEY *stranger = EVP_EC_gen("P-256");
	assert_true(X509_sign(forged, stranger, EVP_sha256()) > 0);
	assert_false(peer_ok(s, forged, NULL, "CN=EC Root, O=secpol", CERT_CRL_OFF, 0, &e));
	assert_int_equal(e.status, CERT_E_SIGNATURE);
	assert_non_null(strstr(e.msg, "signature"));
	X509_free(forged);
	EVP_PKEY_free(stranger);

	/* Garbage as an intermediate. */
	struct cert *c = der_cert(P.a);
	static const uint8_t junk[] = { 0x30, 0x01, 0x00 };
	struct cert_blob blob = { junk, sizeof(junk) };
	const char *r[] = { "CN=Test Root, O=secpol" };
	assert_false(cert_verify_peer(s, c, &blob, 1, r, 1, CERT_CRL_OFF, 0, &e));
	assert_int_equal(e.status, CERT_E_FORMAT);
	cert_free(c);
	cert_store_close(s);
}

static void test_crl(void **state)
{
	(void)state;
	struct cert_store *s = open_store();
	X509 *roots[] = { P.root, P.inter };
	import_ok(s, roots, 2, NULL, NULL);
	struct cert_err e;
	const char *root = "CN=Test Root, O=secpol";

	/* No CRLs in the store: only strict checking minds. */
	assert_true(peer_ok(s, P.revoked, NULL, root, CERT_CRL_OFF, 0, &e));
	assert_true(peer_ok(s, P.revoked, NULL, root, CERT_CRL_SOFT, 0, &e));
	assert_false(peer_ok(s, P.a, NULL, root, CERT_CRL_STRICT, 0, &e));
	assert_int_equal(e.status, CERT_E_NO_CRL);
	assert_non_null(strstr(e.msg, "no CRL"));

	struct pem p;
	struct cert_import_result r;
	pem_begin(&p);
	pem_crl(&p, P.inter_crl);
	assert_true(pem_import(&p, s, NULL, &r, &e));
	assert_int_equal(r.crls, 1);
	assert_true(peer_ok(s, P.revoked, NULL, root, CERT_CRL_OFF, 0, &e));
	assert_false(peer_ok(s, P.revoked, NULL, root, CERT_CRL_SOFT, 0, &e));
	assert_int_equal(e.status, CERT_E_REVOKED);
	assert_non_null(strstr(e.msg, "revoked: 'CN=revoked, O=secpol'"));
	assert_true(peer_ok(s, P.a, NULL, root, CERT_CRL_SOFT, 0, &e));
	/* Strict: the intermediate needs the root's CRL too. */
	assert_false(peer_ok(s, P.a, NULL, root, CERT_CRL_STRICT, 0, &e));
	assert_int_equal(e.status, CERT_E_NO_CRL);
	assert_non_null(strstr(e.msg, "Test Root"));
	pem_begin(&p);
	pem_crl(&p, P.root_crl);
	assert_true(pem_import(&p, s, NULL, &r, &e));
	if (!peer_ok(s, P.a, NULL, root, CERT_CRL_STRICT, 0, &e))
		fail_msg("strict with both CRLs: %s", e.msg);
	assert_false(peer_ok(s, P.revoked, NULL, root, CERT_CRL_STRICT, 0, &e));
	assert_int_equal(e.status, CERT_E_REVOKED);

	/* cert show's chain column sees the revocation. */
	struct cert_entry *v;
	size_t n;
	assert_true(cert_store_list(s, 0, &v, &n, &e));
	assert_int_equal(n, 2);
	free(v);
	X509 *rev[] = { P.revoked };
	import_ok(s, rev, 1, NULL, NULL);
	assert_true(cert_store_list(s, 0, &v, &n, &e));
	assert_int_equal(find_entry(v, n, "CN=revoked, O=secpol")->chain, CERT_E_REVOKED);
	free(v);

	/* An expired CRL: strict fails on it, soft does not. */
	X509_CRL *old = mk_crl(P.inter, P.inter_key, 0, -60);
	/* Newer than the store's (lastUpdate equal: not replaced), so: a fresh store. */
	cert_store_close(s);
	teardown(state);
	setup(state);
	s = open_store();
	import_ok(s, roots, 2, NULL, P.root_crl);
	pem_begin(&p);
	pem_crl(&p, old);
	assert_true(pem_import(&p, s, NULL, &r, &e));
	assert_true(peer_ok(s, P.revoked, NULL, root, CERT_CRL_SOFT, 0, &e));
	assert_false(peer_ok(s, P.revoked, NULL, root, CERT_CRL_STRICT, 0, &e));
	assert_int_equal(e.status, CERT_E_CRL);
	X509_CRL_free(old);
	cert_store_close(s);
}

static void test_crl_replaces_older(void **state)
{
	(void)state;
	struct cert_store *s = open_store();
	struct cert_err e;
	struct pem p;
	struct cert_import_result r;
	X509_CRL *older = mk_crl(P.inter, P.inter_key, 0, DAY);
	ASN1_TIME *t = ASN1_TIME_adj(NULL, time(NULL), 0, -7200);
	X509_CRL_set1_lastUpdate(older, t);
	X509_CRL_sign(older, P.inter_key, EVP_sha256());
	ASN1_TIME_free(t);
	pem_begin(&p);
	pem_crl(&p, older);
	assert_true(pem_import(&p, s, NULL, &r, &e));
	pem_begin(&p);
	pem_crl(&p, P.inter_crl);
	assert_true(pem_import(&p, s, NULL, &r, &e));
	assert_int_equal(r.crls, 1);
	assert_int_equal(count_files(".crl"), 1);
	/* The older one again: not added. */
	pem_begin(&p);
	pem_crl(&p, older);
	assert_true(pem_import(&p, s, NULL, &r, &e));
	assert_int_equal(r.crls, 0);
	assert_int_equal(r.present, 1);
	struct cert_crl_entry *v;
	size_t n;
	assert_true(cert_store_list_crls(s, &v, &n, &e));
	assert_int_equal(n, 1);
	assert_int_equal(v[0].revoked, 1);
	assert_false(v[0].issuer_known);   /* the intermediate is not in this store */
	free(v);
	X509_CRL_free(older);
	cert_store_close(s);
}

/* ---- our credential --------------------------------------------------------------------- */

static void test_select_host(void **state)
{
	(void)state;
	struct cert_store *s = standard_store();
	struct cert_cred cred;
	struct cert_err e;
	char subj[256];

	const char *r1[] = { "C=US, O=Example, CN=P384 Root" };
	assert_true(cert_select_host(s, r1, 1, 0, &cred, &e));
	cert_subject_text(cred.cert, subj, sizeof(subj));
	assert_string_equal(subj, "CN=host-c, O=Example");
	assert_int_equal(cred.nchain, 0);
	assert_string_equal(cred.root, "C=US, O=Example, CN=P384 Root");
	assert_int_equal(cert_auth_method(cred.key, false), 10);
	cert_cred_free(&cred);

	/* Through the intermediate, which is sent along. */
	const char *r2[] = { "CN=Nobody", "cn=test root,o=secpol" };
	assert_true(cert_select_host(s, r2, 2, 0, &cred, &e));
	cert_subject_text(cred.cert, subj, sizeof(subj));
	assert_string_equal(subj, "CN=host-a, O=secpol");
	assert_int_equal(cred.nchain, 1);
	cert_subject_text(cred.chain[0], subj, sizeof(subj));
	assert_string_equal(subj, "CN=Test Intermediate, O=secpol");
	assert_int_equal(cert_auth_method(cred.key, false), 1);
	assert_int_equal(cert_auth_method(cred.key, true), 14);

	/* The credential signs, the peer verifies with the certificate. */
	uint8_t sig[CERT_AUTH_MAX];
	size_t siglen = sizeof(sig);
	static const uint8_t octets[] = "signed octets";
	assert_true(cert_sign(cred.key, 14, 2, octets, sizeof(octets), sig, &siglen, &e));
	assert_true(cert_verify(cred.cert, 14, sig, siglen, octets, sizeof(octets), &e));
	cert_cred_free(&cred);

	/* In rule order: EC Root first. */
	const char *r3[] = { "CN=EC Root, O=secpol", "CN=Test Root, O=secpol" };
	assert_true(cert_select_host(s, r3, 2, 0, &cred, &e));
	cert_subject_text(cred.cert, subj, sizeof(subj));
	assert_string_equal(subj, "CN=host-b, O=secpol");
	cert_cred_free(&cred);

	/* No host certificate under Other Root (host-d has no key here). */
	X509 *d[] = { P.d };
	import_ok(s, d, 1, NULL, NULL);
	const char *r4[] = { "CN=Other Root, O=elsewhere" };
	assert_false(cert_select_host(s, r4, 1, 0, &cred, &e));
	assert_int_equal(e.status, CERT_E_NOT_FOUND);
	assert_non_null(strstr(e.msg, "Other Root"));

	/* An expired host certificate is passed over, with the reason. */
	X509 *ex[] = { P.expired };
	import_ok(s, ex, 1, P.exp_key, NULL);
	assert_true(cert_select_host(s, r2, 2, 0, &cred, &e));
	cert_subject_text(cred.cert, subj, sizeof(subj));
	assert_string_equal(subj, "CN=host-a, O=secpol");
	cert_cred_free(&cred);
	size_t deleted;
	assert_true(cert_store_delete(s, "CN=host-a, O=secpol", NULL, &deleted, &e));
	assert_false(cert_select_host(s, r2, 2, 0, &cred, &e));
	assert_non_null(strstr(e.msg, "expired"));

	/* CERTREQ: the SHA-1 of the trusted roots' public keys (in the
	 * store's order, which follows the file names: search for it). */
	uint8_t ids[4][20];
	unsigned char *spki = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(P.root), &spki);
	uint8_t md[20];
	EVP_Digest(spki, (size_t)n, md, NULL, EVP_sha1(), NULL);
	OPENSSL_free(spki);
	const char *r5[] = { "CN=Test Root, O=secpol", "CN=EC Root, O=secpol", "CN=Nobody" };
	assert_int_equal(cert_store_ca_keyids(s, r5, 3, ids, 4), 2);
	assert_true(!memcmp(ids[0], md, 20) || !memcmp(ids[1], md, 20));
	assert_int_equal(cert_store_ca_keyids(s, NULL, 0, ids, 4), 4);
	bool found = false;
	for (int i = 0; i < 4; i++)
		found = found || !memcmp(ids[i], md, 20);
	assert_true(found);
	cert_store_close(s);
}

static void test_stored_key_tampered(void **state)
{
	(void)state;
	struct cert_store *s = standard_store();
	struct cert_entry *v;
	size_t n;
	struct cert_err e;
	assert_true(cert_store_list(s, 0, &v, &n, &e));
	const struct cert_entry *b = find_entry(v, n, "CN=host-b, O=secpol");
	char path[800];
	snprintf(path, sizeof(path), "%s/store/%s.key", store_dir, b->fingerprint);
	free(v);
	FILE *f = fopen(path, "w");
	PEM_write_PrivateKey(f, P.d_key, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	struct cert_cred cred;
	const char *r[] = { "CN=EC Root, O=secpol" };
	assert_false(cert_select_host(s, r, 1, 0, &cred, &e));
	assert_int_equal(e.status, CERT_E_KEY_MISMATCH);
	cert_store_close(s);
}

/* ---- signatures ------------------------------------------------------------------------- */

static void round_trip(EVP_PKEY *pkey, X509 *x, unsigned method, uint16_t hash,
                       size_t expect_len)
{
	struct cert_key *k = cert_key_from_pkey(pkey);
	struct cert *c = der_cert(x);
	uint8_t octets[300], sig[CERT_AUTH_MAX];
	size_t siglen = sizeof(sig);
	struct cert_err e;
	for (size_t i = 0; i < sizeof(octets); i++)
		octets[i] = (uint8_t)(i * 7);
	if (!cert_sign(k, method, hash, octets, sizeof(octets), sig, &siglen, &e))
		fail_msg("sign method %u hash %u: %s", method, hash, e.msg);
	if (expect_len)
		assert_int_equal(siglen, expect_len);
	if (!cert_verify(c, method, sig, siglen, octets, sizeof(octets), &e))
		fail_msg("verify method %u hash %u: %s", method, hash, e.msg);
	/* Other octets, a flipped signature bit: refused. */
	octets[0] ^= 1;
	assert_false(cert_verify(c, method, sig, siglen, octets, sizeof(octets), &e));
	assert_int_equal(e.status, CERT_E_AUTH);
	octets[0] ^= 1;
	sig[siglen - 1] ^= 0x10;
	assert_false(cert_verify(c, method, sig, siglen, octets, sizeof(octets), &e));
	sig[siglen - 1] ^= 0x10;
	/* Truncated. */
	assert_false(cert_verify(c, method, sig, siglen - 1, octets, sizeof(octets), &e));
	/* No room. */
	size_t small = 10;
	assert_false(cert_sign(k, method, hash, octets, sizeof(octets), sig, &small, &e));
	cert_free(c);
	cert_key_free(k);
}

static void test_sign_verify(void **state)
{
	(void)state;
	static const uint8_t alg_rsa256[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
	                                      0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00 };
	static const uint8_t alg_ec384[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
	                                     0x04, 0x03, 0x03 };
	X509 *p521 = mk_cert("CN=p521", P.p521_key, NULL, NULL, false, -DAY, DAY, 99, NULL);
	round_trip(P.a_key, P.a, 1, 0, 256);
	round_trip(P.b_key, P.b, 9, 0, 64);
	round_trip(P.c_key, P.c, 10, 0, 96);
	round_trip(P.p521_key, p521, 11, 0, 132);
	for (uint16_t h = 2; h <= 4; h++) {
		round_trip(P.a_key, P.a, 14, h, 1 + 15 + 256);
		round_trip(P.b_key, P.b, 14, h, 0);
		round_trip(P.c_key, P.c, 14, h, 0);
		round_trip(P.p521_key, p521, 14, h, 0);
	}

	/* The AlgorithmIdentifiers of RFC 7427 Appendix A. */
	struct cert_key *ka = cert_key_from_pkey(P.a_key), *kc = cert_key_from_pkey(P.c_key);
	struct cert_key *kb = cert_key_from_pkey(P.b_key);
	uint8_t sig[CERT_AUTH_MAX];
	size_t siglen = sizeof(sig);
	struct cert_err e;
	assert_true(cert_sign(ka, 14, 2, (const uint8_t *)"x", 1, sig, &siglen, &e));
	assert_int_equal(sig[0], sizeof(alg_rsa256));
	assert_memory_equal(sig + 1, alg_rsa256, sizeof(alg_rsa256));
	siglen = sizeof(sig);
	assert_true(cert_sign(kc, 14, 3, (const uint8_t *)"x", 1, sig, &siglen, &e));
	assert_int_equal(sig[0], sizeof(alg_ec384));
	assert_memory_equal(sig + 1, alg_ec384, sizeof(alg_ec384));
	assert_int_equal(sig[1 + sizeof(alg_ec384)], 0x30);    /* DER ECDSA-Sig-Value */

	/* Keys and methods that do not fit. */
	siglen = sizeof(sig);
	assert_false(cert_sign(ka, 9, 0, (const uint8_t *)"x", 1, sig, &siglen, &e));
	assert_int_equal(e.status, CERT_E_UNSUPPORTED);
	siglen = sizeof(sig);
	assert_false(cert_sign(kb, 1, 0, (const uint8_t *)"x", 1, sig, &siglen, &e));
	siglen = sizeof(sig);
	assert_false(cert_sign(kb, 10, 0, (const uint8_t *)"x", 1, sig, &siglen, &e));
	siglen = sizeof(sig);
	assert_false(cert_sign(kb, 14, 1, (const uint8_t *)"x", 1, sig, &siglen, &e));
	siglen = sizeof(sig);
	assert_false(cert_sign(kb, 2, 0, (const uint8_t *)"x", 1, sig, &siglen, &e));

	/* An ECDSA signature presented against an RSA certificate, and so on. */
	struct cert *ca = der_cert(P.a), *cb = der_cert(P.b);
	siglen = sizeof(sig);
	assert_true(cert_sign(kb, 14, 2, (const uint8_t *)"x", 1, sig, &siglen, &e));
	assert_false(cert_verify(ca, 14, sig, siglen, (const uint8_t *)"x", 1, &e));
	assert_int_equal(e.status, CERT_E_AUTH);
	assert_false(cert_verify(cb, 9, sig, siglen, (const uint8_t *)"x", 1, &e));
	siglen = sizeof(sig);
	assert_true(cert_sign(kb, 9, 0, (const uint8_t *)"x", 1, sig, &siglen, &e));
	assert_false(cert_verify(cb, 10, sig, siglen, (const uint8_t *)"x", 1, &e));
	assert_false(cert_verify(ca, 1, sig, siglen, (const uint8_t *)"x", 1, &e));
	assert_false(cert_verify(cb, 14, sig, 2, (const uint8_t *)"x", 1, &e));
	static const uint8_t bad_len[] = { 0xff, 0x30, 0x00 };
	assert_false(cert_verify(cb, 14, bad_len, sizeof(bad_len), (const uint8_t *)"x", 1, &e));
	assert_false(cert_verify(cb, 14, sig, 0, (const uint8_t *)"x", 1, &e));

	/* SHA-1 under method 14 is refused even when the signature is right. */
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	static const uint8_t alg_rsa1[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
	                                    0x0d, 0x01, 0x01, 0x05, 0x05, 0x00 };
	uint8_t auth[600];
	auth[0] = sizeof(alg_rsa1);
	memcpy(auth + 1, alg_rsa1, sizeof(alg_rsa1));
	size_t n = sizeof(auth) - 16;
	assert_true(EVP_DigestSignInit(md, NULL, EVP_sha1(), NULL, P.a_key) == 1);
	assert_true(EVP_DigestSign(md, auth + 16, &n, (const uint8_t *)"x", 1) == 1);
	EVP_MD_CTX_free(md);
	assert_false(cert_verify(ca, 14, auth, 16 + n, (const uint8_t *)"x", 1, &e));
	assert_non_null(strstr(e.msg, "SHA-1"));
	cert_free(ca);
	cert_free(cb);
	cert_key_free(ka);
	cert_key_free(kb);
	cert_key_free(kc);
	X509_free(p521);
}

/* RSASSA-PSS (verify only): SHA-256, MGF1/SHA-256, salt 32. */
static void test_verify_pss(void **state)
{
	(void)state;
	static const uint8_t sha256[] = { 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	                                  0x03, 0x04, 0x02, 0x01, 0x05, 0x00 };
	static const uint8_t mgf1[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	                                0x01, 0x08 };
	static const uint8_t pss_oid[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	                                   0x01, 0x0a };
	uint8_t alg[128];
	size_t o = 0;
	alg[o++] = 0x30;
	alg[o++] = (uint8_t)(sizeof(pss_oid) + 2 + 2 + sizeof(sha256) + 2 + 2 + sizeof(mgf1) +
	                     sizeof(sha256) + 5);
	memcpy(alg + o, pss_oid, sizeof(pss_oid));
	o += sizeof(pss_oid);
	alg[o++] = 0x30;
	alg[o++] = (uint8_t)(2 + sizeof(sha256) + 2 + 2 + sizeof(mgf1) + sizeof(sha256) + 5);
	alg[o++] = 0xa0;
	alg[o++] = sizeof(sha256);
	memcpy(alg + o, sha256, sizeof(sha256));
	o += sizeof(sha256);
	alg[o++] = 0xa1;
	alg[o++] = (uint8_t)(2 + sizeof(mgf1) + sizeof(sha256));
	alg[o++] = 0x30;
	alg[o++] = (uint8_t)(sizeof(mgf1) + sizeof(sha256));
	memcpy(alg + o, mgf1, sizeof(mgf1));
	o += sizeof(mgf1);
	memcpy(alg + o, sha256, sizeof(sha256));
	o += sizeof(sha256);
	alg[o++] = 0xa2;
	alg[o++] = 3;
	alg[o++] = 0x02;
	alg[o++] = 1;
	alg[o++] = 32;
	assert_int_equal(alg[1] + 2, o);

	uint8_t auth[700];
	auth[0] = (uint8_t)o;
	memcpy(auth + 1, alg, o);
	size_t n = sizeof(auth) - 1 - o;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx;
	assert_true(EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, P.a_key) == 1);
	EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
	EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32);
	EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256());
	assert_true(EVP_DigestSign(md, auth + 1 + o, &n, (const uint8_t *)"pss", 3) == 1);
	EVP_MD_CTX_free(md);
	struct cert *c = der_cert(P.a);
	struct cert_err e;
	if (!cert_verify(c, 14, auth, 1 + o + n, (const uint8_t *)"pss", 3, &e))
		fail_msg("pss: %s", e.msg);
	assert_false(cert_verify(c, 14, auth, 1 + o + n, (const uint8_t *)"psS", 3, &e));
	/* Salt length 20 in the parameters: the signature no longer verifies. */
	auth[1 + o - 1] = 20;
	assert_false(cert_verify(c, 14, auth, 1 + o + n, (const uint8_t *)"pss", 3, &e));
	cert_free(c);
}

static void test_hash_negotiation(void **state)
{
	(void)state;
	uint16_t ours[8];
	assert_int_equal(cert_hash_list(ours, 8), 3);
	assert_int_equal(ours[0], 2);
	assert_int_equal(ours[1], 3);
	assert_int_equal(ours[2], 4);
	assert_int_equal(cert_hash_list(ours, 1), 1);

	struct cert_key *rsa = cert_key_from_pkey(P.a_key), *p256 = cert_key_from_pkey(P.b_key);
	struct cert_key *p384 = cert_key_from_pkey(P.c_key), *p521 = cert_key_from_pkey(P.p521_key);
	static const uint16_t all[] = { 1, 2, 3, 4, 5 }, only256[] = { 2 }, sha1[] = { 1, 5 };
	static const uint16_t no384[] = { 4, 2 };
	assert_int_equal(cert_pick_hash(rsa, all, 5), 4);
	assert_int_equal(cert_pick_hash(p256, all, 5), 2);
	assert_int_equal(cert_pick_hash(p384, all, 5), 3);
	assert_int_equal(cert_pick_hash(p521, all, 5), 4);
	assert_int_equal(cert_pick_hash(p384, no384, 2), 4);
	assert_int_equal(cert_pick_hash(p521, only256, 1), 2);
	assert_int_equal(cert_pick_hash(rsa, sha1, 2), 0);
	assert_int_equal(cert_pick_hash(NULL, only256, 1), 2);
	assert_int_equal(cert_pick_hash(rsa, NULL, 0), 0);

	assert_int_equal(cert_auth_method(rsa, false), 1);
	assert_int_equal(cert_auth_method(p256, false), 9);
	assert_int_equal(cert_auth_method(p384, false), 10);
	assert_int_equal(cert_auth_method(p521, false), 11);
	assert_int_equal(cert_auth_method(p521, true), 14);
	assert_int_equal(cert_auth_method(NULL, true), 0);
	cert_key_free(rsa);
	cert_key_free(p256);
	cert_key_free(p384);
	cert_key_free(p521);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_import_pem_and_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_pkcs12, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_encrypted_pem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_mismatch_and_key_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_store_file_skipped, setup, teardown),
		cmocka_unit_test(test_store_path),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test(test_dn_equal),
		cmocka_unit_test(test_identities),
		cmocka_unit_test_setup_teardown(test_verify_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crl_replaces_older, setup, teardown),
		cmocka_unit_test_setup_teardown(test_select_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stored_key_tampered, setup, teardown),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_verify_pss),
		cmocka_unit_test(test_hash_negotiation),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
