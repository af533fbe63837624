/*
 * Certificates as IKE sees them: parsed once, with their DER, subject DER
 * and subjectAltNames kept beside them so that CERT and ID payloads can
 * point into them; identities; and the DN strings of rootca= compared as
 * names rather than as text.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/sha.h>

#include "crypto/cert_internal.h"

bool cert_fail(struct cert_err *e, enum cert_status st, const char *fmt, ...)
{
	/* OpenSSL's queue would otherwise surface in an unrelated later call. */
	ERR_clear_error();
	if (!e)
		return false;
	va_list ap;
	e->status = st;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return false;
}

void cert_ok(struct cert_err *e)
{
	if (e) {
		e->status = CERT_OK;
		e->msg[0] = '\0';
	}
}

void cert_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int64_t cert_asn1_time(const ASN1_TIME *t)
{
	struct tm tm;
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

/* ---- certificate objects ------------------------------------------------ */

struct cert *cert_wrap(X509 *x, struct cert_err *e)
{
	struct cert *c = calloc(1, sizeof(*c));
	unsigned char *p = NULL;
	int n;
	if (!c)
		goto nomem;
	c->x = x;
	if ((n = i2d_X509(x, &p)) <= 0)
		goto bad;
	c->der = p;
	c->der_len = (size_t)n;
	p = NULL;
	if ((n = i2d_X509_NAME(X509_get_subject_name(x), &p)) <= 0)
		goto bad;
	c->subject = p;
	c->subject_len = (size_t)n;
	uint8_t md[SHA256_DIGEST_LENGTH];
	SHA256(c->der, c->der_len, md);
	cert_hex(md, sizeof(md), c->fp);
	int crit;
	c->san = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (!c->san && crit != -1)
		goto bad;            /* present but undecodable */
	/* Computes the cached extension flags now: a damaged extension is a
	 * format error here instead of a surprise in the chain check. */
	if (X509_get_extension_flags(x) & EXFLAG_INVALID)
		goto bad;
	return c;
bad:
	cert_free(c);
	cert_fail(e, CERT_E_FORMAT, "the certificate is damaged (it does not re-encode, or an "
	          "extension does not decode)");
	return NULL;
nomem:
	X509_free(x);
	cert_fail(e, CERT_E_IO, "out of memory");
	return NULL;
}

struct cert *cert_from_der(const uint8_t *der, size_t len, struct cert_err *e)
{
	const unsigned char *p = der;
	if (len == 0 || len > 65536)
		return cert_fail(e, CERT_E_FORMAT, "a certificate of %zu bytes is not plausible", len),
		       NULL;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	if (!x)
		return cert_fail(e, CERT_E_FORMAT, "not a DER X.509 certificate"), NULL;
	if ((size_t)(p - der) != len) {
		X509_free(x);
		return cert_fail(e, CERT_E_FORMAT, "bytes after the DER certificate"), NULL;
	}
	return cert_wrap(x, e);
}

void cert_free(struct cert *c)
{
	if (!c)
		return;
	X509_free(c->x);
	OPENSSL_free(c->der);
	OPENSSL_free(c->subject);
	GENERAL_NAMES_free(c->san);
	free(c);
}

const uint8_t *cert_der(const struct cert *c, size_t *len)
{
	*len = c->der_len;
	return c->der;
}

const uint8_t *cert_subject_der(const struct cert *c, size_t *len)
{
	*len = c->subject_len;
	return c->subject;
}

void cert_name_text(const X509_NAME *n, char *buf, size_t len)
{
	/* RFC 2253 escaping, but in certificate order with ", " and raw UTF-8:
	 * the form Windows shows and rootca= strings are written in. */
	unsigned long flags = (ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) |
	                      XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN;
	if (len == 0)
		return;
	buf[0] = '\0';
	BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		return;
	if (X509_NAME_print_ex(b, n, 0, flags) >= 0) {
		char *p;
		long got = BIO_get_mem_data(b, &p);
		size_t k = got > 0 ? (size_t)got : 0;
		if (k >= len)
			k = len - 1;
		memcpy(buf, p, k);
		buf[k] = '\0';
	}
	BIO_free(b);
	ERR_clear_error();
}

void cert_subject_text(const struct cert *c, char *buf, size_t len)
{
	cert_name_text(X509_get_subject_name(c->x), buf, len);
}

EVP_PKEY *cert_public_key(const struct cert *c)
{
	return X509_get0_pubkey(c->x);
}

void cert_pkey_type(const EVP_PKEY *k, char *buf, size_t len)
{
	char group[64];
	size_t glen = 0;
	if (!k) {
		snprintf(buf, len, "unknown");
		return;
	}
	int bits = EVP_PKEY_get_bits(k);
	if (EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_is_a(k, "RSA-PSS")) {
		snprintf(buf, len, "%s-%d", EVP_PKEY_is_a(k, "RSA") ? "RSA" : "RSA-PSS", bits);
	} else if (EVP_PKEY_is_a(k, "EC")) {
		if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
		                                    sizeof(group), &glen))
			snprintf(buf, len, "ECDSA-%d", bits);
		else if (!strcmp(group, "prime256v1") || !strcmp(group, "P-256"))
			snprintf(buf, len, "ECDSA-P256");
		else if (!strcmp(group, "secp384r1") || !strcmp(group, "P-384"))
			snprintf(buf, len, "ECDSA-P384");
		else if (!strcmp(group, "secp521r1") || !strcmp(group, "P-521"))
			snprintf(buf, len, "ECDSA-P521");
		else
			snprintf(buf, len, "ECDSA-%s", group);
	} else if (EVP_PKEY_is_a(k, "ED25519")) {
		snprintf(buf, len, "Ed25519");
	} else if (EVP_PKEY_is_a(k, "ED448")) {
		snprintf(buf, len, "Ed448");
	} else {
		const char *name = EVP_PKEY_get0_type_name(k);
		snprintf(buf, len, "%s-%d", name ? name : "unknown", bits);
	}
}

void cert_key_type(const struct cert *c, char *buf, size_t len)
{
	cert_pkey_type(X509_get0_pubkey(c->x), buf, len);
}

bool cert_is_ca(const struct cert *c)
{
	return X509_check_ca(c->x) != 0;
}

bool cert_self_signed(const struct cert *c)
{
	/* EXFLAG_SS: issuer == subject and, if present, the key identifiers
	 * agree; the signature itself is checked when the chain is built. */
	return (X509_get_extension_flags(c->x) & EXFLAG_SS) != 0;
}

/* ---- identities --------------------------------------------------------- */

static bool san_id(const GENERAL_NAME *g, struct cert_id *id)
{
	int type;
	const ASN1_STRING *s = GENERAL_NAME_get0_value(g, &type);
	if (!s)
		return false;
	id->data = ASN1_STRING_get0_data(s);
	id->len = (size_t)ASN1_STRING_length(s);
	switch (type) {
	case GEN_DNS:
		id->type = 2;
		return true;
	case GEN_EMAIL:
		id->type = 3;
		return true;
	case GEN_IPADD:
		if (id->len == 4)
			id->type = 1;
		else if (id->len == 16)
			id->type = 5;
		else
			return false;     /* a name constraint form, not an address */
		return true;
	default:
		return false;
	}
}

size_t cert_ids(const struct cert *c, struct cert_id *out, size_t max)
{
	size_t n = 0;
	if (n < max)
		out[n] = (struct cert_id){ 9, c->subject, c->subject_len };
	n++;
	int count = c->san ? sk_GENERAL_NAME_num(c->san) : 0;
	for (int i = 0; i < count; i++) {
		struct cert_id id;
		if (!san_id(sk_GENERAL_NAME_value(c->san, i), &id))
			continue;
		if (n < max)
			out[n] = id;
		n++;
	}
	return n;
}

static bool dn_der_matches(const struct cert *c, const uint8_t *data, size_t len)
{
	const unsigned char *p = data;
	if (len == 0 || len > 65536)
		return false;
	X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)len);
	bool ok = n && (size_t)(p - data) == len &&
	          X509_NAME_cmp(n, X509_get_subject_name(c->x)) == 0;
	X509_NAME_free(n);
	ERR_clear_error();
	return ok;
}

bool cert_matches_id(const struct cert *c, uint8_t id_type, const uint8_t *data, size_t len)
{
	if (id_type == 9)
		return dn_der_matches(c, data, len);
	struct cert_id ids[64];
	size_t n = cert_ids(c, ids, 64);
	for (size_t i = 1; i < n && i < 64; i++) {
		if (ids[i].type != id_type || ids[i].len != len)
			continue;
		if (id_type == 1 || id_type == 5 ? !memcmp(ids[i].data, data, len)
		                                 : !strncasecmp((const char *)ids[i].data,
		                                                (const char *)data, len))
			return true;
	}
	return false;
}

/* ---- DN strings --------------------------------------------------------- */

/*
 * A DN flattened to its attribute-value pairs, values normalised the way
 * X.500 caseIgnoreMatch sees them: ASCII case folded, runs of white space
 * one space, none at either end. Multi-valued RDNs ("+") are flattened too.
 */
#define DN_MAX_AVA 24
#define DN_MAX_VALUE 256
struct dn {
	size_t n;
	struct {
		int nid;
		char value[DN_MAX_VALUE];
	} a[DN_MAX_AVA];
};

static const struct {
	const char *names[3];
	int nid;
} dn_attrs[] = {
	{ { "CN", "commonName" }, NID_commonName },
	{ { "C", "countryName" }, NID_countryName },
	{ { "L", "localityName" }, NID_localityName },
	{ { "ST", "S", "stateOrProvinceName" }, NID_stateOrProvinceName },
	{ { "O", "organizationName" }, NID_organizationName },
	{ { "OU", "organizationalUnitName" }, NID_organizationalUnitName },
	{ { "DC", "domainComponent" }, NID_domainComponent },
	{ { "E", "emailAddress", "email" }, NID_pkcs9_emailAddress },
	{ { "STREET", "streetAddress" }, NID_streetAddress },
	{ { "SERIALNUMBER", "serialNumber" }, NID_serialNumber },
	{ { "T", "title" }, NID_title },
	{ { "G", "GN", "givenName" }, NID_givenName },
	{ { "SN", "surname" }, NID_surname },
	{ { "UID", "userId" }, NID_userId },
	{ { "postalCode", "PC" }, NID_postalCode },
	{ { "initials", "I" }, NID_initials },
	{ { "dnQualifier" }, NID_dnQualifier },
	{ { "pseudonym" }, NID_pseudonym },
	{ { "name" }, NID_name },
};

static int attr_nid(const char *name)
{
	for (size_t i = 0; i < sizeof(dn_attrs) / sizeof(dn_attrs[0]); i++)
		for (size_t k = 0; k < 3 && dn_attrs[i].names[k]; k++)
			if (!strcasecmp(name, dn_attrs[i].names[k]))
				return dn_attrs[i].nid;
	/* Windows writes unknown types as OID.1.2.3; OpenSSL as 1.2.3. */
	if (!strncasecmp(name, "OID.", 4))
		name += 4;
	if (!isdigit((unsigned char)name[0]))
		return NID_undef;
	ASN1_OBJECT *o = OBJ_txt2obj(name, 1);
	int nid = o ? OBJ_obj2nid(o) : NID_undef;
	ASN1_OBJECT_free(o);
	ERR_clear_error();
	return nid;
}

/* Appends normalised bytes to a value. */
struct norm {
	char *out;
	size_t len, cap;
	bool space;                  /* a blank is pending */
	bool overflow;
};

static void norm_put(struct norm *nm, unsigned char ch)
{
	if (isspace(ch)) {
		nm->space = nm->len > 0;
		return;
	}
	if (nm->len + 2 >= nm->cap) {
		nm->overflow = true;
		return;
	}
	if (nm->space)
		nm->out[nm->len++] = ' ';
	nm->space = false;
	nm->out[nm->len++] = (char)(ch < 0x80 ? tolower(ch) : ch);
	nm->out[nm->len] = '\0';
}

static int hexval(char c)
{
	return isdigit((unsigned char)c) ? c - '0'
	     : isxdigit((unsigned char)c) ? tolower((unsigned char)c) - 'a' + 10 : -1;
}

/* Is p (just after a '/') the start of "attr=" — then '/' separates RDNs. */
static bool slash_separates(const char *p)
{
	while (*p == ' ')
		p++;
	if (!isalpha((unsigned char)*p))
		return false;
	while (isalnum((unsigned char)*p) || *p == '.' || *p == '-')
		p++;
	while (*p == ' ')
		p++;
	return *p == '=';
}

/* One value, up to an unescaped separator; *pp moves past it. */
static bool parse_value(const char **pp, struct norm *nm)
{
	const char *p = *pp;
	while (*p == ' ' || *p == '\t')
		p++;
	bool quoted = *p == '"', closed = false;
	if (quoted)
		p++;
	for (; *p; p++) {
		if (quoted && *p == '"') {
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p && !strchr(",;+/", *p))
				return false;
			closed = true;
			break;
		}
		if (!quoted && (*p == ',' || *p == ';' || *p == '+'))
			break;
		if (!quoted && *p == '/' && slash_separates(p + 1))
			break;
		if (*p == '\\') {
			if (hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
				norm_put(nm, (unsigned char)(hexval(p[1]) * 16 + hexval(p[2])));
				p += 2;
			} else if (p[1]) {
				norm_put(nm, (unsigned char)*++p);
			} else {
				return false;
			}
			continue;
		}
		norm_put(nm, (unsigned char)*p);
	}
	if (quoted && !closed)
		return false;         /* unterminated quote */
	*pp = p;
	return !nm->overflow;
}

static bool dn_parse(const char *text, struct dn *dn)
{
	const char *p = text;
	dn->n = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '/')
		p++;
	while (*p) {
		char attr[64];
		size_t an = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		while (*p && *p != '=' && an + 1 < sizeof(attr))
			attr[an++] = *p++;
		while (an > 0 && (attr[an - 1] == ' ' || attr[an - 1] == '\t'))
			an--;
		attr[an] = '\0';
		if (*p != '=' || an == 0 || dn->n == DN_MAX_AVA)
			return false;
		p++;
		int nid = attr_nid(attr);
		if (nid == NID_undef)
			return false;
		struct norm nm = { dn->a[dn->n].value, 0, DN_MAX_VALUE, false, false };
		nm.out[0] = '\0';
		if (!parse_value(&p, &nm))
			return false;
		dn->a[dn->n++].nid = nid;
		if (*p)
			p++;              /* the separator */
	}
	return dn->n > 0;
}

static bool dn_from_x509(const X509_NAME *name, struct dn *dn)
{
	int count = X509_NAME_entry_count(name);
	dn->n = 0;
	if (count <= 0 || count > DN_MAX_AVA)
		return false;
	for (int i = 0; i < count; i++) {
		const X509_NAME_ENTRY *ne = X509_NAME_get_entry(name, i);
		unsigned char *utf8 = NULL;
		int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(ne));
		if (len < 0)
			return false;
		struct norm nm = { dn->a[i].value, 0, DN_MAX_VALUE, false, false };
		nm.out[0] = '\0';
		for (int k = 0; k < len; k++)
			norm_put(&nm, utf8[k]);
		OPENSSL_free(utf8);
		dn->a[i].nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(ne));
		if (nm.overflow || dn->a[i].nid == NID_undef)
			return false;
	}
	dn->n = (size_t)count;
	return true;
}

/* Same pairs in the same order, or in reverse (RFC 4514 writes the most
 * specific RDN first, Windows and X.500 the least). */
static bool dn_same(const struct dn *a, const struct dn *b)
{
	if (a->n != b->n)
		return false;
	bool fwd = true, rev = true;
	for (size_t i = 0; i < a->n && (fwd || rev); i++) {
		size_t j = a->n - 1 - i;
		fwd = fwd && a->a[i].nid == b->a[i].nid && !strcmp(a->a[i].value, b->a[i].value);
		rev = rev && a->a[i].nid == b->a[j].nid && !strcmp(a->a[i].value, b->a[j].value);
	}
	return fwd || rev;
}

bool cert_dn_equal(const char *a, const char *b)
{
	struct dn *x = malloc(sizeof(*x)), *y = malloc(sizeof(*y));
	bool same = x && y && dn_parse(a, x) && dn_parse(b, y) && dn_same(x, y);
	free(x);
	free(y);
	return same;
}

bool cert_x509_name_matches(const X509_NAME *n, const char *dn)
{
	struct dn *x = malloc(sizeof(*x)), *y = malloc(sizeof(*y));
	bool same = x && y && dn_from_x509(n, x) && dn_parse(dn, y) && dn_same(x, y);
	free(x);
	free(y);
	ERR_clear_error();
	return same;
}

bool cert_name_matches(const struct cert *c, const char *dn)
{
	return cert_x509_name_matches(X509_get_subject_name(c->x), dn);
}
