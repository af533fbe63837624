/*
 * Security methods: the quick-mode offer list (qmsecmethods, netsh-ipsec.md
 * §2.5) and the main-mode offer list (mmsecmethods, §2.6), with the project's
 * modern extensions. Text is parsed once into structs; the structs print back
 * to one canonical text, so show and dump round-trip exactly.
 */
#include "policy/policy.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const conf_names[] = {
	[CONF_NONE] = "None", [CONF_DES] = "DES", [CONF_3DES] = "3DES",
	[CONF_AES128] = "AES128", [CONF_AES192] = "AES192", [CONF_AES256] = "AES256",
	[CONF_AESGCM128] = "AESGCM128", [CONF_AESGCM192] = "AESGCM192",
	[CONF_AESGCM256] = "AESGCM256", [CONF_CHACHA20POLY1305] = "CHACHA20POLY1305",
};
static const char *const integ_names[] = {
	[INTEG_NONE] = "None", [INTEG_MD5] = "MD5", [INTEG_SHA1] = "SHA1",
	[INTEG_SHA256] = "SHA256", [INTEG_SHA384] = "SHA384", [INTEG_SHA512] = "SHA512",
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *policy_conf_name(enum esp_conf c)
{
	return (size_t)c < NELEM(conf_names) ? conf_names[c] : "?";
}

const char *policy_integ_name(enum integ_alg i)
{
	return (size_t)i < NELEM(integ_names) ? integ_names[i] : "?";
}

static bool is_aead(enum esp_conf c)
{
	return c == CONF_AESGCM128 || c == CONF_AESGCM192 || c == CONF_AESGCM256 ||
	       c == CONF_CHACHA20POLY1305;
}

static bool lookup(const char *const *names, size_t n, const char *s, size_t len,
                   int *out)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(names[i]) == len && strncasecmp(names[i], s, len) == 0) {
			*out = (int)i;
			return true;
		}
	return false;
}

static void warn_legacy(struct diag *d, const char *alg)
{
	diag_warn(d, "%s is provided for backward compatibility only.", alg);
}

/* ---- quick mode ------------------------------------------------------------------ */

#define QM_ALLOWED "ESP[ConfAlg,AuthAlg], AH[HashAlg] or AH[HashAlg]+ESP[ConfAlg,AuthAlg], " \
	"optionally followed by :<KB>k/<seconds>s (KB 20480-2147483647, seconds 300-172800); " \
	"ConfAlg DES, 3DES, AES128, AES192, AES256 or None; AuthAlg/HashAlg MD5, SHA1, " \
	"SHA256, SHA384, SHA512 (or None for AuthAlg); AEAD offers ESP[AESGCM128], " \
	"ESP[AESGCM192], ESP[AESGCM256], ESP[CHACHA20POLY1305]"

struct cursor {
	const char *p, *end;
};

static bool take(struct cursor *c, char ch)
{
	if (c->p < c->end && toupper((unsigned char)*c->p) == ch) {
		c->p++;
		return true;
	}
	return false;
}

static bool take_word(struct cursor *c, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(c->end - c->p) >= n && strncasecmp(c->p, w, n) == 0) {
		c->p += n;
		return true;
	}
	return false;
}

/* Reads an algorithm name up to ',' or ']'. */
static bool take_alg(struct cursor *c, const char *const *names, size_t n, int *out)
{
	const char *s = c->p;
	while (c->p < c->end && *c->p != ',' && *c->p != ']')
		c->p++;
	return lookup(names, n, s, (size_t)(c->p - s), out);
}

static bool take_number(struct cursor *c, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = c->p;
	while (c->p < c->end && isdigit((unsigned char)*c->p)) {
		v = v * 10 + (uint64_t)(*c->p - '0');
		if (v > 0xffffffffu)
			return false;
		c->p++;
	}
	*out = v;
	return c->p > s;
}

static bool parse_lifetime(struct cursor *c, struct security_method *m)
{
	/* <n>k/<m>s, <n>k or <m>s; 0 means the default (netsh-ipsec.md §2.5). */
	bool have_k = false, have_s = false;
	for (int part = 0; part < 2; part++) {
		uint64_t v;
		if (!take_number(c, &v))
			return false;
		if (!have_k && take(c, 'K')) {
			have_k = true;
			if (v == 0)
				v = QM_DEFAULT_LIFE_KB;
			if (v < 20480 || v > 2147483647u)
				return false;
			m->life_kb = (uint32_t)v;
		} else if (!have_s && take(c, 'S')) {
			have_s = true;
			if (v == 0)
				v = QM_DEFAULT_LIFE_S;
			if (v < 300 || v > 172800)
				return false;
			m->life_s = (uint32_t)v;
		} else {
			return false;
		}
		if (c->p == c->end)
			return true;
		if (part == 1 || !take(c, '/'))
			return false;
	}
	return false;
}

static bool parse_esp(struct cursor *c, struct security_method *m)
{
	int conf, integ = INTEG_NONE;
	if (!take_word(c, "ESP[") || !take_alg(c, conf_names, NELEM(conf_names), &conf))
		return false;
	if (take(c, ',')) {
		if (!take_alg(c, integ_names, NELEM(integ_names), &integ))
			return false;
	} else if (!is_aead((enum esp_conf)conf)) {
		return false;        /* a non-AEAD cipher needs its integrity algorithm */
	}
	if (!take(c, ']'))
		return false;
	if (is_aead((enum esp_conf)conf) && integ != INTEG_NONE)
		return false;        /* AEAD carries its own integrity */
	if (conf == CONF_NONE && integ == INTEG_NONE)
		return false;        /* ESP[None,None] protects nothing */
	m->esp = true;
	m->esp_conf = (enum esp_conf)conf;
	m->esp_integ = (enum integ_alg)integ;
	return true;
}

static bool parse_ah(struct cursor *c, struct security_method *m)
{
	int integ;
	if (!take_word(c, "AH[") || !take_alg(c, integ_names, NELEM(integ_names), &integ) ||
	    !take(c, ']') || integ == INTEG_NONE)
		return false;
	m->ah = true;
	m->ah_integ = (enum integ_alg)integ;
	return true;
}

static bool parse_offer(const char *s, size_t len, struct security_method *m)
{
	struct cursor c = { s, s + len };
	memset(m, 0, sizeof(*m));
	m->life_kb = QM_DEFAULT_LIFE_KB;
	m->life_s = QM_DEFAULT_LIFE_S;
	if ((size_t)(c.end - c.p) >= 3 && strncasecmp(c.p, "AH[", 3) == 0) {
		if (!parse_ah(&c, m))
			return false;
		if (take(&c, '+') && !parse_esp(&c, m))
			return false;
	} else if (!parse_esp(&c, m)) {
		return false;
	}
	if (c.p == c.end)
		return true;
	return take(&c, ':') && parse_lifetime(&c, m);
}

static void warn_method(const struct security_method *m, struct diag *d)
{
	if (m->esp && m->esp_conf == CONF_DES)
		warn_legacy(d, "DES");
	if ((m->ah && m->ah_integ == INTEG_MD5) || (m->esp && m->esp_integ == INTEG_MD5))
		warn_legacy(d, "MD5");
	if (m->esp && m->esp_conf != CONF_NONE && m->esp_integ == INTEG_NONE && !is_aead(m->esp_conf))
		diag_warn(d, "ESP[%s,None] encrypts without integrity protection; "
		          "modern guidance (RFC 8221) forbids it.", conf_names[m->esp_conf]);
}

/*
 * An offer list: blank-separated offers, at most POLICY_MAX_METHODS, at least
 * one. parse reads one offer into slot (and warns about it); false = invalid.
 */
typedef bool (*offer_parser)(const char *s, size_t len, void *slot, struct diag *d);

static bool parse_offer_list(const char *tag, const char *text, const char *allowed,
                             void *slots, size_t slot_size, size_t *n,
                             offer_parser parse, struct diag *d)
{
	const char *p = text;
	*n = 0;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		const char *s = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (*n == POLICY_MAX_METHODS)
			return diag_error(d, ERR_BAD_VALUE,
			        "'%.200s' is not a valid value for '%s'. Allowed: at most %d "
			        "security methods.", text, tag, POLICY_MAX_METHODS);
		if (!parse(s, (size_t)(p - s), (char *)slots + *n * slot_size, d))
			return diag_error(d, ERR_BAD_SECMETHOD,
			        "'%.*s' is not a valid security method for '%s'. Allowed: %s.",
			        (int)(p - s > 200 ? 200 : p - s), s, tag, allowed);
		(*n)++;
	}
	if (*n == 0)
		return diag_error(d, ERR_BAD_SECMETHOD,
		        "'%.200s' is not a valid value for '%s'. Allowed: one or more "
		        "security methods (%s).", text, tag, allowed);
	return true;
}

static bool qm_offer(const char *s, size_t len, void *slot, struct diag *d)
{
	if (!parse_offer(s, len, slot))
		return false;
	warn_method(slot, d);
	return true;
}

bool policy_parse_qmsec(const char *tag, const char *text, struct qm_methods *out,
                        struct diag *d)
{
	struct qm_methods q;
	if (!parse_offer_list(tag, text, QM_ALLOWED, q.m, sizeof(q.m[0]), &q.n, qm_offer, d))
		return false;
	*out = q;
	return true;
}

void policy_format_security_method(const struct security_method *m, char *buf,
                                   size_t len)
{
	char esp[64] = "";
	if (m->esp) {
		if (is_aead(m->esp_conf))
			snprintf(esp, sizeof(esp), "ESP[%s]", conf_names[m->esp_conf]);
		else
			snprintf(esp, sizeof(esp), "ESP[%s,%s]", conf_names[m->esp_conf],
			         integ_names[m->esp_integ]);
	}
	if (m->ah)
		snprintf(buf, len, "AH[%s]%s%s:%uk/%us", integ_names[m->ah_integ],
		         m->esp ? "+" : "", esp, m->life_kb, m->life_s);
	else
		snprintf(buf, len, "%s:%uk/%us", esp, m->life_kb, m->life_s);
}

void policy_format_qmsec(const struct qm_methods *q, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < q->n && used < len; i++) {
		char one[128];
		policy_format_security_method(&q->m[i], one, sizeof(one));
		int n = snprintf(buf + used, len - used, "%s%s", i ? " " : "", one);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* ---- main mode --------------------------------------------------------------------- */

static const uint8_t mm_groups[] = { 1, 2, 3, 14, 19, 20, 21, 24, 31 };

#define MM_ALLOWED "ConfAlg-HashAlg-Group with ConfAlg DES, 3DES, AES128, AES192, " \
	"AES256, AESGCM128, AESGCM192 or AESGCM256; HashAlg MD5, SHA1, SHA256, SHA384 " \
	"or SHA512; Group 1, 2, 3 (= 2048-bit), 14, 19, 20, 21, 24 or 31"

static bool parse_mm_offer(const char *s, size_t len, struct mm_method *m)
{
	const char *d1 = memchr(s, '-', len);
	if (!d1)
		return false;
	const char *d2 = memchr(d1 + 1, '-', len - (size_t)(d1 + 1 - s));
	if (!d2)
		return false;
	int conf, hash;
	if (!lookup(conf_names, NELEM(conf_names), s, (size_t)(d1 - s), &conf) ||
	    conf == CONF_NONE || conf == CONF_CHACHA20POLY1305 ||
	    !lookup(integ_names, NELEM(integ_names), d1 + 1, (size_t)(d2 - d1 - 1), &hash) ||
	    hash == INTEG_NONE)
		return false;
	struct cursor c = { d2 + 1, s + len };
	uint64_t g;
	if (!take_number(&c, &g) || c.p != c.end)
		return false;
	for (size_t i = 0; i < sizeof(mm_groups); i++)
		if (mm_groups[i] == g) {
			m->conf = (enum esp_conf)conf;
			m->hash = (enum integ_alg)hash;
			m->group = (uint8_t)g;
			return true;
		}
	return false;
}

static bool mm_offer(const char *s, size_t len, void *slot, struct diag *d)
{
	struct mm_method *m = slot;
	if (!parse_mm_offer(s, len, m))
		return false;
	if (m->conf == CONF_DES)
		warn_legacy(d, "DES");
	if (m->hash == INTEG_MD5)
		warn_legacy(d, "MD5");
	if (m->group == 1)
		warn_legacy(d, "Diffie-Hellman group 1");
	if (m->group == 2)
		warn_legacy(d, "Diffie-Hellman group 2");
	return true;
}

bool policy_parse_mmsec(const char *tag, const char *text, struct mm_methods *out,
                        struct diag *d)
{
	struct mm_methods mm;
	if (!parse_offer_list(tag, text, MM_ALLOWED, mm.m, sizeof(mm.m[0]), &mm.n, mm_offer, d))
		return false;
	*out = mm;
	return true;
}

void policy_format_mmsec(const struct mm_methods *mm, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < mm->n && used < len; i++) {
		const struct mm_method *m = &mm->m[i];
		int n = snprintf(buf + used, len - used, "%s%s-%s-%u", i ? " " : "",
		                 conf_names[m->conf], integ_names[m->hash], m->group);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

const char *policy_group_label(uint8_t group)
{
	switch (group) {
	case 1: return "Low(1)";
	case 2: return "Medium(2)";
	case 3: return "DH2048(3)";
	case 14: return "DH2048(14)";
	case 19: return "ECP256(19)";
	case 20: return "ECP384(20)";
	case 21: return "ECP521(21)";
	case 24: return "DH2048-256(24)";
	case 31: return "Curve25519(31)";
	default: return "?";
	}
}

/* ---- profile defaults (best-practices.md §3) ------------------------------------------ */

void policy_default_qmsec(enum crypto_profile p, struct qm_methods *out)
{
	struct diag d;
	diag_init(&d);
	policy_parse_qmsec("qmsecmethods", p == PROFILE_LEGACY ?
	        "ESP[3DES,SHA1] ESP[3DES,MD5]" :
	        "ESP[AESGCM256] ESP[AESGCM128] ESP[AES256,SHA256] ESP[AES128,SHA256]",
	        out, &d);
}

void policy_default_mmsec(enum crypto_profile p, struct mm_methods *out)
{
	struct diag d;
	diag_init(&d);
	policy_parse_mmsec("mmsecmethods", p == PROFILE_LEGACY ?
	        "3DES-SHA1-3 3DES-SHA1-2" :
	        "AES256-SHA256-14 AES128-SHA256-14 AES128-SHA256-19", out, &d);
}
