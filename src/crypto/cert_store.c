/*
 * The certificate store on disk (layout in cert.h) and what `secpol cert`
 * does with it: import, list, delete.
 *
 * The directory is read into memory when opened (certificates and CRLs are
 * small and few); every change writes whole files and then reads the
 * directory again, so the in-memory view is always what is on disk.
 * Writers take an exclusive flock on the directory so that two imports
 * cannot interleave their files.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "crypto/cert_internal.h"

#define FILE_MAX (1u << 20)          /* an import file or a store file */
#define PBE_ITER_MAX 1000000         /* PBKDF cost we are willing to pay */
#define FILE_KEY 1                   /* what a store file holds */
#define FILE_CRT 2
#define FILE_CRL 3

const char *cert_store_path(const char *dir)
{
	if (dir && dir[0])
		return dir;
	const char *env = getenv("SECPOL_CERTS");
	return env && env[0] ? env : CERT_STORE_DEFAULT_PATH;
}

const char *cert_store_dir(const struct cert_store *s)
{
	return s->dir;
}

const char *cert_store_warning(const struct cert_store *s)
{
	return s->warning;
}

/* ---- files ------------------------------------------------------------------------------- */

/* Reads a whole regular file of at most max bytes. The caller cleanses
 * and frees *out (it may be a key). */
static bool read_fd(int fd, const char *what, size_t max, uint8_t **out, size_t *len,
                    struct cert_err *e)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return cert_fail(e, CERT_E_IO, "%s is not a regular file", what);
	if ((uint64_t)st.st_size > max)
		return cert_fail(e, CERT_E_FORMAT, "%s is larger than %zu bytes", what, max);
	uint8_t *buf = malloc((size_t)st.st_size + 1);
	size_t n = 0;
	if (!buf)
		return cert_fail(e, CERT_E_IO, "out of memory");
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			OPENSSL_clear_free(buf, (size_t)st.st_size + 1);
			return cert_fail(e, CERT_E_IO, "cannot read %s: %s", what,
			                 r < 0 ? strerror(errno) : "it shrank");
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return true;
}

static bool read_at(int dirfd, const char *name, uint8_t **out, size_t *len, struct cert_err *e)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cert_fail(e, CERT_E_IO, "cannot open %s: %s", name, strerror(errno));
	bool ok = read_fd(fd, name, FILE_MAX, out, len, e);
	close(fd);
	return ok;
}

/* Writes name whole: a new 0600 file (O_EXCL, so never someone else's),
 * fsync, rename over the old one. The caller fsyncs the directory. */
static bool write_at(int dirfd, const char *name, const void *data, size_t len,
                     struct cert_err *e)
{
	char tmp[128];
	int fd = -1;
	for (int tries = 0; fd < 0 && tries < 8; tries++) {
		uint8_t rnd[6];
		char hex[13];
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return cert_fail(e, CERT_E_IO, "no random bytes for a temporary name");
		cert_hex(rnd, sizeof(rnd), hex);
		snprintf(tmp, sizeof(tmp), ".tmp-%s", hex);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return cert_fail(e, CERT_E_IO, "cannot create a file in the store: %s",
		                 strerror(errno));
	const uint8_t *p = data;
	size_t left = len;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		left -= (size_t)w;
	}
	int err = left ? errno : 0;
	if (!left && fsync(fd) < 0)
		err = errno;
	if (close(fd) < 0 && !err)
		err = errno;
	if (!err && renameat(dirfd, tmp, dirfd, name) < 0)
		err = errno;
	if (err) {
		unlinkat(dirfd, tmp, 0);
		return cert_fail(e, CERT_E_IO, "cannot write %s: %s", name,
		                 strerror(err ? err : EIO));
	}
	return true;
}

/* mkdir -p with mode 0700 for what it makes. */
static bool make_dirs(const char *path, struct cert_err *e)
{
	char buf[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(buf))
		return cert_fail(e, CERT_E_IO, "the store path is empty or too long");
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return cert_fail(e, CERT_E_IO, "cannot create %s: %s", buf, strerror(errno));
		if (c == '\0')
			break;
		*p = c;
	}
	return true;
}

/* "<64 hex>.crt" and so on: the kind, and the fingerprint in fp. */
static int store_file_kind(const char *name, char fp[65])
{
	size_t n = strlen(name);
	if (n != 68 || name[64] != '.')
		return 0;
	for (size_t i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)name[i]) || isupper((unsigned char)name[i]))
			return 0;
	memcpy(fp, name, 64);
	fp[64] = '\0';
	return !strcmp(name + 64, ".key") ? FILE_KEY : !strcmp(name + 64, ".crt") ? FILE_CRT
	     : !strcmp(name + 64, ".crl") ? FILE_CRL : 0;
}

/* ---- reading the store ------------------------------------------------------------------- */

static void store_clear(struct cert_store *s)
{
	for (size_t i = 0; i < s->ncerts; i++)
		cert_free(s->certs[i].c);
	for (size_t i = 0; i < s->ncrls; i++)
		X509_CRL_free(s->crls[i].crl);
	free(s->certs);
	free(s->crls);
	s->certs = NULL;
	s->crls = NULL;
	s->ncerts = s->ncrls = 0;
	s->warning[0] = '\0';
}

static void store_warn(struct cert_store *s, const char *name, const char *why)
{
	size_t used = strlen(s->warning);
	if (used == 0)
		snprintf(s->warning, sizeof(s->warning), "skipped %s (%s)", name, why);
	else if (!strstr(s->warning, "and others"))
		snprintf(s->warning + used, sizeof(s->warning) - used, " and others");
}

/* A store file as a memory BIO for a PEM reader: false (e says why) when
 * the file cannot be read. *out may be NULL (out of memory): no object. */
static bool read_pem(struct cert_store *s, const char *name, struct cert_err *e, BIO **out)
{
	uint8_t *buf;
	size_t len;
	if (!read_at(s->dirfd, name, &buf, &len, e))
		return false;
	*out = BIO_new(BIO_s_mem());
	if (*out && BIO_write(*out, buf, (int)len) != (int)len) {
		BIO_free(*out);
		*out = NULL;
	}
	free(buf);
	return true;
}

static bool load_crt(struct cert_store *s, const char *name, const char *fp)
{
	struct cert_err e;
	BIO *b;
	if (!read_pem(s, name, &e, &b))
		return store_warn(s, name, e.msg), true;
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	struct cert *c = x ? cert_wrap(x, &e) : NULL;
	if (!c)
		return store_warn(s, name, "not a PEM certificate"), ERR_clear_error(), true;
	if (strcmp(c->fp, fp) != 0) {
		cert_free(c);
		return store_warn(s, name, "its name is not its fingerprint"), true;
	}
	struct store_cert *grown = realloc(s->certs, (s->ncerts + 1) * sizeof(*grown));
	if (!grown) {
		cert_free(c);
		return false;
	}
	s->certs = grown;
	char keyname[80];
	snprintf(keyname, sizeof(keyname), "%s.key", fp);
	s->certs[s->ncerts].c = c;
	s->certs[s->ncerts++].has_key = faccessat(s->dirfd, keyname, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	return true;
}

static bool load_crl(struct cert_store *s, const char *name, const char *fp)
{
	struct cert_err e;
	BIO *b;
	if (!read_pem(s, name, &e, &b))
		return store_warn(s, name, e.msg), true;
	X509_CRL *crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!crl)
		return store_warn(s, name, "not a PEM CRL"), ERR_clear_error(), true;
	struct store_crl *grown = realloc(s->crls, (s->ncrls + 1) * sizeof(*grown));
	if (!grown) {
		X509_CRL_free(crl);
		return false;
	}
	s->crls = grown;
	s->crls[s->ncrls].crl = crl;
	snprintf(s->crls[s->ncrls++].fp, 65, "%s", fp);
	return true;
}

static bool store_load(struct cert_store *s, struct cert_err *e)
{
	store_clear(s);
	if (s->dirfd < 0)
		return true;
	int fd = dup(s->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return cert_fail(e, CERT_E_IO, "cannot read %s: %s", s->dir, strerror(errno));
	}
	rewinddir(d);
	bool ok = true;
	struct dirent *de;
	while (ok && (de = readdir(d))) {
		char fp[65];
		switch (store_file_kind(de->d_name, fp)) {
		case FILE_CRT: ok = load_crt(s, de->d_name, fp); break;
		case FILE_CRL: ok = load_crl(s, de->d_name, fp); break;
		default: break;   /* keys are read when used; temporaries ignored */
		}
	}
	closedir(d);
	return ok || cert_fail(e, CERT_E_IO, "out of memory");
}

struct cert_store *cert_store_open(const char *dir, bool create, struct cert_err *e)
{
	const char *path = cert_store_path(dir);
	struct cert_store *s = calloc(1, sizeof(*s));
	if (!s)
		return cert_fail(e, CERT_E_IO, "out of memory"), NULL;
	s->dirfd = -1;
	if (strlen(path) >= sizeof(s->dir)) {
		free(s);
		return cert_fail(e, CERT_E_IO, "the store path is too long"), NULL;
	}
	snprintf(s->dir, sizeof(s->dir), "%s", path);
	if (create && !make_dirs(path, e))
		goto fail;
	s->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0 && (create || errno != ENOENT)) {
		cert_fail(e, CERT_E_IO, "cannot open the certificate store %s: %s", path,
		          strerror(errno));
		goto fail;
	}
	struct stat st;
	/* Keys live here: a store others can list or write is tightened. */
	if (create && fstat(s->dirfd, &st) == 0 && (st.st_mode & 077) &&
	    st.st_uid == geteuid() && fchmod(s->dirfd, 0700) < 0) {
		cert_fail(e, CERT_E_IO, "cannot make %s private (0700): %s", path, strerror(errno));
		goto fail;
	}
	if (!store_load(s, e))
		goto fail;
	cert_ok(e);
	return s;
fail:
	cert_store_close(s);
	return NULL;
}

void cert_store_close(struct cert_store *s)
{
	if (!s)
		return;
	store_clear(s);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s);
}

static bool store_writable(const struct cert_store *s, struct cert_err *e)
{
	if (s->dirfd >= 0)
		return true;
	return cert_fail(e, CERT_E_IO, "the certificate store %s does not exist", s->dir);
}

/* ---- parsing an import file -------------------------------------------------------------- */

struct bundle {
	STACK_OF(X509) *certs;
	STACK_OF(X509_CRL) *crls;
	EVP_PKEY *key;
	const char *password;        /* NULL: none given */
};

static void bundle_free(struct bundle *b)
{
	sk_X509_pop_free(b->certs, X509_free);
	sk_X509_CRL_pop_free(b->crls, X509_CRL_free);
	EVP_PKEY_free(b->key);
}

static bool bundle_key(struct bundle *b, EVP_PKEY *k, struct cert_err *e)
{
	if (b->key) {
		EVP_PKEY_free(k);
		return cert_fail(e, CERT_E_FORMAT, "more than one private key in the file: import "
		                 "one host certificate with its key at a time");
	}
	b->key = k;
	return true;
}

/* PBKDF2 / PKCS#5 v1.5 / PKCS#12 PBE iteration counts are the file's to
 * choose: a damaged or hostile one would make the import run for hours. */
static bool pbe_cost_ok(const X509_ALGOR *alg)
{
	const ASN1_OBJECT *oid;
	int ptype;
	const void *pval;
	X509_ALGOR_get0(&oid, &ptype, &pval, alg);
	if (ptype != V_ASN1_SEQUENCE)
		return false;
	const ASN1_TYPE *param = alg->parameter;
	long iter = -1;
	if (OBJ_obj2nid(oid) == NID_pbes2) {
		PBE2PARAM *p2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), param);
		if (p2 && OBJ_obj2nid(p2->keyfunc->algorithm) == NID_id_pbkdf2) {
			PBKDF2PARAM *kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM),
			                                             p2->keyfunc->parameter);
			if (kdf)
				iter = ASN1_INTEGER_get(kdf->iter);
			PBKDF2PARAM_free(kdf);
		}
		PBE2PARAM_free(p2);   /* scrypt and others: refused (iter stays -1) */
	} else {
		PBEPARAM *pbe = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM), param);
		if (pbe)
			iter = ASN1_INTEGER_get(pbe->iter);
		PBEPARAM_free(pbe);
	}
	ERR_clear_error();
	return iter >= 1 && iter <= PBE_ITER_MAX;
}

static bool key_from_p8inf(struct bundle *b, PKCS8_PRIV_KEY_INFO *p8, struct cert_err *e)
{
	EVP_PKEY *k = p8 ? EVP_PKCS82PKEY(p8) : NULL;
	PKCS8_PRIV_KEY_INFO_free(p8);   /* clears the key bytes it holds */
	if (!k)
		return cert_fail(e, CERT_E_FORMAT, "the private key is damaged");
	return bundle_key(b, k, e);
}

static bool pkcs8_encrypted(struct bundle *b, const unsigned char *der, long len,
                            struct cert_err *e)
{
	const unsigned char *p = der;
	X509_SIG *sig = d2i_X509_SIG(NULL, &p, len);
	if (!sig || p != der + len) {
		X509_SIG_free(sig);
		return cert_fail(e, CERT_E_FORMAT, "the encrypted private key is damaged");
	}
	const X509_ALGOR *alg;
	X509_SIG_get0(sig, &alg, NULL);
	if (!pbe_cost_ok(alg)) {
		X509_SIG_free(sig);
		return cert_fail(e, CERT_E_UNSUPPORTED, "the private key's encryption is not "
		                 "PBKDF2 or PKCS#5 with at most %d iterations", PBE_ITER_MAX);
	}
	if (!b->password) {
		X509_SIG_free(sig);
		return cert_fail(e, CERT_E_PASSWORD, "the private key is encrypted: give password=");
	}
	PKCS8_PRIV_KEY_INFO *p8 = PKCS8_decrypt(sig, b->password, (int)strlen(b->password));
	X509_SIG_free(sig);
	if (!p8)
		return cert_fail(e, CERT_E_PASSWORD, "wrong password for the private key (it does "
		                 "not decrypt)");
	return key_from_p8inf(b, p8, e);
}

static int password_cb(char *buf, int size, int rwflag, void *u)
{
	(void)rwflag;
	const char *pw = u;
	size_t n = pw ? strlen(pw) : 0;
	if (!pw || n > (size_t)size)
		return -1;
	memcpy(buf, pw, n);
	return (int)n;
}

/* "RSA PRIVATE KEY" / "EC PRIVATE KEY", maybe with Proc-Type encryption. */
static bool traditional_key(struct bundle *b, const char *name, char *header,
                            unsigned char *der, long *len, struct cert_err *e)
{
	if (strstr(header, "ENCRYPTED")) {
		EVP_CIPHER_INFO ci;
		if (!PEM_get_EVP_CIPHER_INFO(header, &ci))
			return cert_fail(e, CERT_E_UNSUPPORTED, "the private key's encryption (DEK-Info) "
			                 "is unknown");
		if (!b->password)
			return cert_fail(e, CERT_E_PASSWORD, "the private key is encrypted: give "
			                 "password=");
		if (!PEM_do_header(&ci, der, len, password_cb, (void *)b->password))
			return cert_fail(e, CERT_E_PASSWORD, "wrong password for the private key (it "
			                 "does not decrypt)");
	}
	const unsigned char *p = der;
	int type = !strcmp(name, "RSA PRIVATE KEY") ? EVP_PKEY_RSA : EVP_PKEY_EC;
	EVP_PKEY *k = d2i_PrivateKey(type, NULL, &p, *len);
	if (!k)
		return cert_fail(e, strstr(header, "ENCRYPTED") ? CERT_E_PASSWORD : CERT_E_FORMAT,
		                 strstr(header, "ENCRYPTED") ? "wrong password for the private key, "
		                 "or the key is damaged" : "the private key is damaged");
	return bundle_key(b, k, e);
}

static bool pem_block(struct bundle *b, const char *name, char *header,
                      unsigned char *der, long *len, struct cert_err *e)
{
	const unsigned char *p = der;
	if (!strcmp(name, "CERTIFICATE") || !strcmp(name, "X509 CERTIFICATE") ||
	    !strcmp(name, "TRUSTED CERTIFICATE")) {
		X509 *x = !strcmp(name, "TRUSTED CERTIFICATE") ? d2i_X509_AUX(NULL, &p, *len)
		                                               : d2i_X509(NULL, &p, *len);
		if (!x || p != der + *len || !sk_X509_push(b->certs, x)) {
			X509_free(x);
			return cert_fail(e, CERT_E_FORMAT, "a certificate in the file is damaged");
		}
		return true;
	}
	if (!strcmp(name, "X509 CRL")) {
		X509_CRL *crl = d2i_X509_CRL(NULL, &p, *len);
		if (!crl || p != der + *len || !sk_X509_CRL_push(b->crls, crl)) {
			X509_CRL_free(crl);
			return cert_fail(e, CERT_E_FORMAT, "a CRL in the file is damaged");
		}
		return true;
	}
	if (!strcmp(name, "PRIVATE KEY")) {
		PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, *len);
		if (p8 && p != der + *len) {
			PKCS8_PRIV_KEY_INFO_free(p8);
			p8 = NULL;
		}
		return key_from_p8inf(b, p8, e);
	}
	if (!strcmp(name, "ENCRYPTED PRIVATE KEY"))
		return pkcs8_encrypted(b, der, *len, e);
	if (!strcmp(name, "RSA PRIVATE KEY") || !strcmp(name, "EC PRIVATE KEY"))
		return traditional_key(b, name, header, der, len, e);
	if (!strcmp(name, "EC PARAMETERS"))
		return true;             /* `openssl ecparam -genkey` writes them first */
	return cert_fail(e, CERT_E_UNSUPPORTED, "the file has a PEM '%.40s' block; only "
	                 "CERTIFICATE, X509 CRL and private keys (PKCS#8, RSA, EC) can be imported",
	                 name);
}

static bool parse_pem(struct bundle *b, const uint8_t *data, size_t len, struct cert_err *e)
{
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	if (!bio)
		return cert_fail(e, CERT_E_IO, "out of memory");
	bool ok = true;
	for (unsigned blocks = 0; ok; blocks++) {
		char *name = NULL, *header = NULL;
		unsigned char *der = NULL;
		long dlen = 0;
		ERR_clear_error();
		if (!PEM_read_bio(bio, &name, &header, &der, &dlen)) {
			unsigned long err = ERR_peek_last_error();
			if (ERR_GET_LIB(err) != ERR_LIB_PEM || ERR_GET_REASON(err) != PEM_R_NO_START_LINE ||
			    blocks == 0)
				ok = cert_fail(e, CERT_E_FORMAT, "the PEM data is damaged (block %u)",
				               blocks + 1);
			break;
		}
		ok = pem_block(b, name, header, der, &dlen, e);
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_clear_free(der, dlen > 0 ? (size_t)dlen : 0);   /* may be a key */
	}
	BIO_free(bio);
	ERR_clear_error();
	return ok;
}

static bool p12_password(PKCS12 *p12, const char *given, const char **pass, struct cert_err *e)
{
	if (!PKCS12_mac_present(p12))
		return cert_fail(e, CERT_E_UNSUPPORTED, "the PKCS#12 file has no integrity MAC; "
		                 "export it with one");
	const ASN1_INTEGER *iter = NULL;
	PKCS12_get0_mac(NULL, NULL, NULL, &iter, p12);
	long n = iter ? ASN1_INTEGER_get(iter) : 1;
	if (n < 1 || n > PBE_ITER_MAX)
		return cert_fail(e, CERT_E_UNSUPPORTED, "the PKCS#12 MAC uses %ld iterations "
		                 "(at most %d are accepted)", n, PBE_ITER_MAX);
	if (given) {
		*pass = given;
		if (PKCS12_verify_mac(p12, given, -1))
			return true;
		return cert_fail(e, CERT_E_PASSWORD, "wrong password for the PKCS#12 file (its MAC "
		                 "does not verify)");
	}
	/* No password given: the two ways an "empty" one is encoded. */
	*pass = NULL;
	if (PKCS12_verify_mac(p12, NULL, 0))
		return true;
	*pass = "";
	if (PKCS12_verify_mac(p12, "", 0))
		return true;
	return cert_fail(e, CERT_E_PASSWORD, "the PKCS#12 file is protected: give password=");
}

static bool parse_p12(struct bundle *b, PKCS12 *p12, struct cert_err *e)
{
	const char *pass = NULL;
	if (!p12_password(p12, b->password, &pass, e))
		return false;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	STACK_OF(X509) *ca = NULL;
	if (!PKCS12_parse(p12, pass, &key, &x, &ca)) {
		unsigned long err = ERR_peek_last_error();
		return cert_fail(e, ERR_GET_LIB(err) == ERR_LIB_EVP ? CERT_E_UNSUPPORTED : CERT_E_FORMAT,
		                 "cannot read the PKCS#12 contents (%s)%s",
		                 ERR_reason_error_string(err) ? ERR_reason_error_string(err) : "damaged",
		                 ERR_GET_LIB(err) == ERR_LIB_EVP ? "; legacy RC2/RC4 encryption is not "
		                 "supported: export it again with AES" : "");
	}
	bool ok = true;
	if (x && !sk_X509_push(b->certs, x)) {
		X509_free(x);
		ok = cert_fail(e, CERT_E_IO, "out of memory");
	}
	while (ca && sk_X509_num(ca) > 0) {
		X509 *c = sk_X509_shift(ca);
		if (!sk_X509_push(b->certs, c)) {
			X509_free(c);
			ok = cert_fail(e, CERT_E_IO, "out of memory");
		}
	}
	sk_X509_free(ca);
	if (key)
		ok = bundle_key(b, key, e) && ok;
	return ok;
}

/* DER: PKCS#12, a certificate or a CRL (a Windows .pfx, .cer, .crl). */
static bool parse_der(struct bundle *b, const uint8_t *data, size_t len, struct cert_err *e)
{
	const unsigned char *p = data;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);
	if (p12 && p == data + len) {
		bool ok = parse_p12(b, p12, e);
		PKCS12_free(p12);
		return ok;
	}
	PKCS12_free(p12);
	p = data;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	if (x && p == data + len && sk_X509_push(b->certs, x))
		return true;
	X509_free(x);
	p = data;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
	if (crl && p == data + len && sk_X509_CRL_push(b->crls, crl))
		return true;
	X509_CRL_free(crl);
	return cert_fail(e, CERT_E_FORMAT, "the file is neither PEM nor a DER certificate, CRL or "
	                 "PKCS#12 file");
}

static bool parse_any(struct bundle *b, const uint8_t *data, size_t len, struct cert_err *e)
{
	if (len == 0)
		return cert_fail(e, CERT_E_FORMAT, "the file is empty");
	if (len > FILE_MAX)
		return cert_fail(e, CERT_E_FORMAT, "the file is larger than %u bytes", FILE_MAX);
	b->certs = sk_X509_new_null();
	b->crls = sk_X509_CRL_new_null();
	if (!b->certs || !b->crls)
		return cert_fail(e, CERT_E_IO, "out of memory");
	static const char begin[] = "-----BEGIN ";
	bool pem = memmem(data, len, begin, sizeof(begin) - 1) != NULL;
	bool ok = pem ? parse_pem(b, data, len, e) : parse_der(b, data, len, e);
	if (ok && !b->key && sk_X509_num(b->certs) == 0 && sk_X509_CRL_num(b->crls) == 0)
		ok = cert_fail(e, CERT_E_FORMAT, "no certificate, private key or CRL in the file");
	ERR_clear_error();
	return ok;
}

/* ---- checking and writing an import ------------------------------------------------------ */

static bool host_key_usable(EVP_PKEY *k, struct cert_err *e)
{
	char type[32];
	cert_pkey_type(k, type, sizeof(type));
	bool ok = (EVP_PKEY_is_a(k, "RSA") && EVP_PKEY_get_bits(k) >= 2048) ||
	          !strcmp(type, "ECDSA-P256") || !strcmp(type, "ECDSA-P384") ||
	          !strcmp(type, "ECDSA-P521");
	if (!ok)
		return cert_fail(e, CERT_E_UNSUPPORTED, "a %s host key cannot sign IKE "
		                 "authentication; use RSA (2048 bits or more) or ECDSA P-256/P-384/P-521",
		                 type);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
	ok = ctx && EVP_PKEY_pairwise_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok || cert_fail(e, CERT_E_FORMAT, "the private key is inconsistent (its public "
	                       "and private halves disagree)");
}

/* The certificate of the bundle's key: in the file, else in the store.
 * *x_from_store tells which; both are borrowed pointers. */
static bool find_key_cert(const struct cert_store *s, const struct bundle *b, X509 **x,
                          struct cert_err *e)
{
	for (int i = 0; i < sk_X509_num(b->certs); i++)
		if (EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(b->certs, i)), b->key) == 1) {
			*x = sk_X509_value(b->certs, i);
			return true;
		}
	if (sk_X509_num(b->certs) > 0) {
		char subj[256];
		/* The host certificate is the first one that is not a CA. */
		X509 *leaf = sk_X509_value(b->certs, 0);
		for (int i = 0; i < sk_X509_num(b->certs); i++)
			if (!X509_check_ca(sk_X509_value(b->certs, i))) {
				leaf = sk_X509_value(b->certs, i);
				break;
			}
		cert_name_text(X509_get_subject_name(leaf), subj, sizeof(subj));
		return cert_fail(e, CERT_E_KEY_MISMATCH, "the private key does not match the "
		                 "certificate '%s'", subj);
	}
	for (size_t i = 0; i < s->ncerts; i++)
		if (EVP_PKEY_eq(X509_get0_pubkey(s->certs[i].c->x), b->key) == 1) {
			*x = s->certs[i].c->x;
			return true;
		}
	return cert_fail(e, CERT_E_KEY_MISMATCH, "the private key matches no certificate in "
	                 "the file or the store: import it together with its certificate");
}

static bool x509_fp(X509 *x, char fp[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	if (!X509_digest(x, EVP_sha256(), md, &n) || n != 32)
		return false;
	cert_hex(md, 32, fp);
	return true;
}

static bool crl_fp(X509_CRL *crl, char fp[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	if (!X509_CRL_digest(crl, EVP_sha256(), md, &n) || n != 32)
		return false;
	cert_hex(md, 32, fp);
	return true;
}

static bool store_has_cert(const struct cert_store *s, const char *fp, bool *has_key)
{
	for (size_t i = 0; i < s->ncerts; i++)
		if (!strcmp(s->certs[i].c->fp, fp)) {
			if (has_key)
				*has_key = s->certs[i].has_key;
			return true;
		}
	return false;
}

/* What a memory BIO holds (ok: it was encoded), written as <fp>.<ext>;
 * frees the BIO (a secure one cleanses what it held). */
static bool write_bio(struct cert_store *s, BIO *b, bool ok, const char *fp, const char *ext,
                      const char *what, struct cert_err *e)
{
	char *p;
	char name[80];
	long n = ok ? BIO_get_mem_data(b, &p) : 0;
	snprintf(name, sizeof(name), "%s.%s", fp, ext);
	ok = ok && n > 0 ? write_at(s->dirfd, name, p, (size_t)n, e)
	                 : cert_fail(e, CERT_E_IO, "cannot encode %s", what);
	BIO_free(b);
	return ok;
}

/* PEM of x written as <fp>.crt. */
static bool write_cert(struct cert_store *s, X509 *x, const char *fp, struct cert_err *e)
{
	BIO *b = BIO_new(BIO_s_mem());
	return write_bio(s, b, b && PEM_write_bio_X509(b, x), fp, "crt", "a certificate", e);
}

/* Unencrypted PKCS#8 PEM, through a buffer that is cleansed when freed. */
static bool write_key(struct cert_store *s, EVP_PKEY *k, const char *fp, struct cert_err *e)
{
	BIO *b = BIO_new(BIO_s_secmem());
	return write_bio(s, b, b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), fp,
	                 "key", "the private key", e);
}

static bool write_crl(struct cert_store *s, X509_CRL *crl, const char *fp, struct cert_err *e)
{
	BIO *b = BIO_new(BIO_s_mem());
	return write_bio(s, b, b && PEM_write_bio_X509_CRL(b, crl), fp, "crl", "a CRL", e);
}

/* A CRL replaces the store's older CRLs of the same issuer (OpenSSL would
 * otherwise pick either); an older one than the store has is not added. */
static bool import_crl(struct cert_store *s, X509_CRL *crl, struct cert_import_result *r,
                       struct cert_err *e)
{
	char fp[65], name[80];
	if (!crl_fp(crl, fp))
		return cert_fail(e, CERT_E_FORMAT, "a CRL does not encode");
	int64_t when = cert_asn1_time(X509_CRL_get0_lastUpdate(crl));
	for (size_t i = 0; i < s->ncrls; i++) {
		X509_CRL *old = s->crls[i].crl;
		if (X509_NAME_cmp(X509_CRL_get_issuer(old), X509_CRL_get_issuer(crl)) != 0)
			continue;
		if (!strcmp(s->crls[i].fp, fp) ||
		    cert_asn1_time(X509_CRL_get0_lastUpdate(old)) > when) {
			r->present++;
			return true;
		}
	}
	if (!write_crl(s, crl, fp, e))
		return false;
	r->crls++;
	for (size_t i = 0; i < s->ncrls; i++)
		if (X509_NAME_cmp(X509_CRL_get_issuer(s->crls[i].crl), X509_CRL_get_issuer(crl)) == 0) {
			snprintf(name, sizeof(name), "%s.crl", s->crls[i].fp);
			unlinkat(s->dirfd, name, 0);
		}
	/* The next CRL of this file compares against this one. */
	return store_load(s, e);
}

static bool import_bundle(struct cert_store *s, struct bundle *b, struct cert_import_result *r,
                          struct cert_err *e)
{
	char fp[65];
	X509 *host = NULL;
	if (b->key && (!host_key_usable(b->key, e) || !find_key_cert(s, b, &host, e)))
		return false;
	if (host) {
		bool had_key = false;
		if (!x509_fp(host, fp))
			return cert_fail(e, CERT_E_FORMAT, "a certificate does not encode");
		store_has_cert(s, fp, &had_key);
		/* The key first: a certificate never points at a key not yet there. */
		if (!write_key(s, b->key, fp, e))
			return false;
		r->keys += !had_key;
		cert_name_text(X509_get_subject_name(host), r->host, sizeof(r->host));
	}
	for (int i = 0; i < sk_X509_num(b->certs); i++) {
		X509 *x = sk_X509_value(b->certs, i);
		if (!x509_fp(x, fp))
			return cert_fail(e, CERT_E_FORMAT, "a certificate does not encode");
		if (store_has_cert(s, fp, NULL)) {
			r->present++;
			continue;
		}
		if (!write_cert(s, x, fp, e))
			return false;
		r->certs++;
	}
	for (int i = 0; i < sk_X509_CRL_num(b->crls); i++)
		if (!import_crl(s, sk_X509_CRL_value(b->crls, i), r, e))
			return false;
	return true;
}

/* Every certificate must also be one we can keep and show. */
static bool bundle_certs_sane(struct bundle *b, struct cert_err *e)
{
	for (int i = 0; i < sk_X509_num(b->certs); i++) {
		X509 *x = sk_X509_value(b->certs, i);
		if (!X509_up_ref(x))
			return cert_fail(e, CERT_E_IO, "out of memory");
		struct cert *c = cert_wrap(x, e);
		if (!c)
			return false;
		cert_free(c);
	}
	return true;
}

bool cert_store_import_mem(struct cert_store *s, const uint8_t *data, size_t len,
                           const char *password, struct cert_import_result *r,
                           struct cert_err *e)
{
	struct bundle b = { NULL, NULL, NULL, password };
	memset(r, 0, sizeof(*r));
	if (!store_writable(s, e))
		return false;
	bool ok = parse_any(&b, data, len, e) && bundle_certs_sane(&b, e);
	if (ok) {
		flock(s->dirfd, LOCK_EX);
		ok = import_bundle(s, &b, r, e);
		fsync(s->dirfd);
		struct cert_err reload;
		/* Even a failed import may have written a file: show what is there. */
		if (!store_load(s, &reload) && ok)
			ok = cert_fail(e, reload.status, "%s", reload.msg);
		flock(s->dirfd, LOCK_UN);
	}
	bundle_free(&b);
	ERR_clear_error();
	if (ok)
		cert_ok(e);
	return ok;
}

bool cert_store_import_file(struct cert_store *s, const char *path, const char *password,
                            struct cert_import_result *r, struct cert_err *e)
{
	uint8_t *buf;
	size_t len;
	memset(r, 0, sizeof(*r));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return cert_fail(e, CERT_E_IO, "cannot open %s: %s", path, strerror(errno));
	bool ok = read_fd(fd, path, FILE_MAX, &buf, &len, e);
	close(fd);
	if (!ok)
		return false;
	ok = cert_store_import_mem(s, buf, len, password, r, e);
	OPENSSL_clear_free(buf, len + 1);
	return ok;
}

EVP_PKEY *cert_store_load_key(const struct cert_store *s, const char *fp, struct cert_err *e)
{
	char name[80];
	uint8_t *buf;
	size_t len;
	snprintf(name, sizeof(name), "%s.key", fp);
	if (s->dirfd < 0 || !read_at(s->dirfd, name, &buf, &len, e))
		return s->dirfd < 0 ? cert_fail(e, CERT_E_IO, "no store"), NULL : NULL;
	BIO *b = BIO_new_mem_buf(buf, (int)len);
	/* A callback that has no password: never a prompt on the terminal. */
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, password_cb, NULL) : NULL;
	BIO_free(b);
	OPENSSL_clear_free(buf, len + 1);
	if (!k)
		cert_fail(e, CERT_E_FORMAT, "the stored private key %s is damaged", name);
	return k;
}

/* ---- list and delete ------------------------------------------------------------------------ */

static int entry_cmp(const void *a, const void *b)
{
	const struct cert_entry *x = a, *y = b;
	int c = strcasecmp(x->subject, y->subject);
	return c ? c : strcmp(x->fingerprint, y->fingerprint);
}

bool cert_store_list(const struct cert_store *s, int64_t now, struct cert_entry **out,
                     size_t *n, struct cert_err *e)
{
	*out = NULL;
	*n = 0;
	if (s->ncerts == 0)
		return true;
	struct cert_entry *v = calloc(s->ncerts, sizeof(*v));
	if (!v)
		return cert_fail(e, CERT_E_IO, "out of memory");
	for (size_t i = 0; i < s->ncerts; i++) {
		const struct cert *c = s->certs[i].c;
		struct cert_entry *en = &v[i];
		snprintf(en->fingerprint, sizeof(en->fingerprint), "%s", c->fp);
		cert_subject_text(c, en->subject, sizeof(en->subject));
		cert_name_text(X509_get_issuer_name(c->x), en->issuer, sizeof(en->issuer));
		en->not_before = cert_asn1_time(X509_get0_notBefore(c->x));
		en->not_after = cert_asn1_time(X509_get0_notAfter(c->x));
		cert_key_type(c, en->key_type, sizeof(en->key_type));
		en->has_key = s->certs[i].has_key;
		en->is_ca = cert_is_ca(c);
		en->self_signed = cert_self_signed(c);
		struct cert_err ce;
		char root[256];
		if (cert_store_chain_check(s, c, now, root, sizeof(root), &ce)) {
			en->chain = CERT_OK;
			snprintf(en->chain_msg, sizeof(en->chain_msg), "%s", root);
		} else {
			en->chain = ce.status;
			snprintf(en->chain_msg, sizeof(en->chain_msg), "%s", ce.msg);
		}
	}
	qsort(v, s->ncerts, sizeof(*v), entry_cmp);
	*out = v;
	*n = s->ncerts;
	return true;
}

bool cert_store_list_crls(const struct cert_store *s, struct cert_crl_entry **out, size_t *n,
                          struct cert_err *e)
{
	*out = NULL;
	*n = 0;
	if (s->ncrls == 0)
		return true;
	struct cert_crl_entry *v = calloc(s->ncrls, sizeof(*v));
	if (!v)
		return cert_fail(e, CERT_E_IO, "out of memory");
	for (size_t i = 0; i < s->ncrls; i++) {
		X509_CRL *crl = s->crls[i].crl;
		snprintf(v[i].fingerprint, sizeof(v[i].fingerprint), "%s", s->crls[i].fp);
		cert_name_text(X509_CRL_get_issuer(crl), v[i].issuer, sizeof(v[i].issuer));
		v[i].this_update = cert_asn1_time(X509_CRL_get0_lastUpdate(crl));
		v[i].next_update = cert_asn1_time(X509_CRL_get0_nextUpdate(crl));
		STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
		v[i].revoked = rev ? (size_t)sk_X509_REVOKED_num(rev) : 0;
		for (size_t k = 0; k < s->ncerts && !v[i].issuer_known; k++) {
			X509 *ca = s->certs[k].c->x;
			v[i].issuer_known = X509_check_ca(ca) &&
			                    !X509_NAME_cmp(X509_get_subject_name(ca), X509_CRL_get_issuer(crl)) &&
			                    X509_CRL_verify(crl, X509_get0_pubkey(ca)) == 1;
		}
	}
	ERR_clear_error();
	*out = v;
	*n = s->ncrls;
	return true;
}

/* "AB:CD:..." or "abcd..." to lowercase hex; false if it is not hex. */
static bool normalise_fp(const char *in, char out[65])
{
	size_t n = 0;
	for (const char *p = in; *p; p++) {
		if (*p == ':' || *p == ' ')
			continue;
		if (!isxdigit((unsigned char)*p) || n == 64)
			return false;
		out[n++] = (char)tolower((unsigned char)*p);
	}
	out[n] = '\0';
	return n >= 8;
}

static bool unlink_entry(struct cert_store *s, const char *fp, const char *ext,
                         struct cert_err *e)
{
	char name[80];
	snprintf(name, sizeof(name), "%s%s", fp, ext);
	if (unlinkat(s->dirfd, name, 0) < 0 && errno != ENOENT)
		return cert_fail(e, CERT_E_IO, "cannot delete %s: %s", name, strerror(errno));
	return true;
}

/* Deletes the certificate first, then its key: a listed certificate that
 * says it has a key always has one. */
static bool delete_cert(struct cert_store *s, const char *fp, struct cert_err *e)
{
	return unlink_entry(s, fp, ".crt", e) && unlink_entry(s, fp, ".key", e);
}

static bool delete_by_fp(struct cert_store *s, const char *text, size_t *deleted,
                         struct cert_err *e)
{
	char fp[65];
	if (!normalise_fp(text, fp))
		return cert_fail(e, CERT_E_NOT_FOUND, "'%.80s' is not a fingerprint (at least 8 hex "
		                 "digits of the SHA-256 fingerprint `cert show` prints)", text);
	size_t len = strlen(fp), hits = 0;
	const char *which = NULL;
	bool is_crl = false;
	for (size_t i = 0; i < s->ncerts; i++)
		if (!strncmp(s->certs[i].c->fp, fp, len))
			hits++, which = s->certs[i].c->fp;
	for (size_t i = 0; i < s->ncrls; i++)
		if (!strncmp(s->crls[i].fp, fp, len))
			hits++, which = s->crls[i].fp, is_crl = true;
	if (hits == 0)
		return cert_fail(e, CERT_E_NOT_FOUND, "no certificate or CRL in the store has the "
		                 "fingerprint %s", fp);
	if (hits > 1)
		return cert_fail(e, CERT_E_NOT_FOUND, "the fingerprint prefix %s is ambiguous: "
		                 "give more digits", fp);
	char full[65];
	snprintf(full, sizeof(full), "%s", which);
	if (!(is_crl ? unlink_entry(s, full, ".crl", e) : delete_cert(s, full, e)))
		return false;
	*deleted = 1;
	return true;
}

static bool delete_by_subject(struct cert_store *s, const char *subject, size_t *deleted,
                              struct cert_err *e)
{
	for (size_t i = 0; i < s->ncerts; i++) {
		if (!cert_name_matches(s->certs[i].c, subject))
			continue;
		if (!delete_cert(s, s->certs[i].c->fp, e))
			return false;
		(*deleted)++;
	}
	return *deleted > 0 || cert_fail(e, CERT_E_NOT_FOUND, "no certificate in the store has "
	                                 "the subject '%.200s'", subject);
}

bool cert_store_delete(struct cert_store *s, const char *subject, const char *fingerprint,
                       size_t *deleted, struct cert_err *e)
{
	*deleted = 0;
	if (!subject == !fingerprint)
		return cert_fail(e, CERT_E_NOT_FOUND, "give either a subject or a fingerprint");
	if (!store_writable(s, e))
		return false;
	flock(s->dirfd, LOCK_EX);
	bool ok = subject ? delete_by_subject(s, subject, deleted, e)
	                  : delete_by_fp(s, fingerprint, deleted, e);
	fsync(s->dirfd);
	struct cert_err reload;
	if (!store_load(s, &reload) && ok)
		ok = cert_fail(e, reload.status, "%s", reload.msg);
	flock(s->dirfd, LOCK_UN);
	if (ok)
		cert_ok(e);
	return ok;
}
