/*
 * Security methods: qmsecmethods (netsh-ipsec.md §2.5), mmsecmethods (§2.6)
 * and the crypto profile defaults (best-practices.md §3);
 * src/policy/secmethod.c.
 */
#include "policy_test.h"

#define QM_TAG "qmsecmethods"
#define MM_TAG "mmsecmethods"

/* ---- helpers ------------------------------------------------------------------ */

static struct qm_methods qm_ok(const char *text, struct diag *d)
{
	struct qm_methods q;
	memset(&q, 0xa5, sizeof(q));
	diag_init(d);
	if (!policy_parse_qmsec(QM_TAG, text, &q, d))
		fail_msg("'%s' rejected: %d %s", text, (int)d->code, d->msg);
	assert_diag_ok(d);
	return q;
}

/* Rejected with `code`; the message names the tag and `token`; out untouched. */
static void qm_bad(const char *text, enum ipsec_err code, const char *token)
{
	struct diag d;
	struct qm_methods q, before;
	memset(&q, 0x5a, sizeof(q));
	before = q;
	diag_init(&d);
	if (policy_parse_qmsec(QM_TAG, text, &q, &d))
		fail_msg("'%s' accepted", text);
	assert_diag_error(&d, code, QM_TAG, token);
	assert_memory_equal(&q, &before, sizeof(q));
}

static struct mm_methods mm_ok(const char *text, struct diag *d)
{
	struct mm_methods m;
	memset(&m, 0xa5, sizeof(m));
	diag_init(d);
	if (!policy_parse_mmsec(MM_TAG, text, &m, d))
		fail_msg("'%s' rejected: %d %s", text, (int)d->code, d->msg);
	assert_diag_ok(d);
	return m;
}

static void mm_bad(const char *text, enum ipsec_err code, const char *token)
{
	struct diag d;
	struct mm_methods m, before;
	memset(&m, 0x5a, sizeof(m));
	before = m;
	diag_init(&d);
	if (policy_parse_mmsec(MM_TAG, text, &m, &d))
		fail_msg("'%s' accepted", text);
	assert_diag_error(&d, code, MM_TAG, token);
	assert_memory_equal(&m, &before, sizeof(m));
}

static void assert_esp(const struct security_method *m, enum esp_conf conf,
                       enum integ_alg integ, uint32_t kb, uint32_t s)
{
	assert_false(m->ah);
	assert_true(m->esp);
	assert_int_equal(m->esp_conf, conf);
	assert_int_equal(m->esp_integ, integ);
	assert_int_equal(m->life_kb, kb);
	assert_int_equal(m->life_s, s);
}

static void assert_ah(const struct security_method *m, enum integ_alg ah, bool esp,
                      enum esp_conf conf, enum integ_alg integ, uint32_t kb, uint32_t s)
{
	assert_true(m->ah);
	assert_int_equal(m->ah_integ, ah);
	assert_int_equal(m->esp, esp);
	if (esp) {
		assert_int_equal(m->esp_conf, conf);
		assert_int_equal(m->esp_integ, integ);
	}
	assert_int_equal(m->life_kb, kb);
	assert_int_equal(m->life_s, s);
}

static void assert_qm_equal(const struct qm_methods *a, const struct qm_methods *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct security_method *x = &a->m[i], *y = &b->m[i];
		assert_int_equal(x->ah, y->ah);
		assert_int_equal(x->esp, y->esp);
		assert_int_equal(x->ah_integ, y->ah_integ);
		assert_int_equal(x->esp_conf, y->esp_conf);
		assert_int_equal(x->esp_integ, y->esp_integ);
		assert_int_equal(x->life_kb, y->life_kb);
		assert_int_equal(x->life_s, y->life_s);
	}
}

static void assert_mm_equal(const struct mm_methods *a, const struct mm_methods *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_int_equal(a->m[i].conf, b->m[i].conf);
		assert_int_equal(a->m[i].hash, b->m[i].hash);
		assert_int_equal(a->m[i].group, b->m[i].group);
	}
}

static void assert_qm_text(const struct qm_methods *q, const char *expected)
{
	char buf[2048];
	policy_format_qmsec(q, buf, sizeof(buf));
	assert_string_equal(buf, expected);
}

static void assert_mm_text(const struct mm_methods *m, const char *expected)
{
	char buf[1024];
	policy_format_mmsec(m, buf, sizeof(buf));
	assert_string_equal(buf, expected);
}

/* ---- quick mode: the forms of §2.5 ---------------------------------------------------- */

static void test_qm_esp_with_lifetimes(void **state)
{
	(void)state;
	struct diag d;
	struct qm_methods q = qm_ok("ESP[3DES,SHA1]:100000k/3600s", &d);
	assert_int_equal(q.n, 1);
	assert_esp(&q.m[0], CONF_3DES, INTEG_SHA1, 100000, 3600);
	assert_no_warnings(&d);
	assert_qm_text(&q, "ESP[3DES,SHA1]:100000k/3600s");

	q = qm_ok("ESP[3DES,MD5]:100000k/2000s", &d);   /* Microsoft help example */
	assert_int_equal(q.n, 1);
	assert_esp(&q.m[0], CONF_3DES, INTEG_MD5, 100000, 2000);
	assert_qm_text(&q, "ESP[3DES,MD5]:100000k/2000s");
}

static void test_qm_ah(void **state)
{
	(void)state;
	struct diag d;
	struct qm_methods q = qm_ok("AH[MD5]:204800k/300s", &d);
	assert_int_equal(q.n, 1);
	assert_ah(&q.m[0], INTEG_MD5, false, 0, 0, 204800, 300);
	assert_qm_text(&q, "AH[MD5]:204800k/300s");

	q = qm_ok("AH[SHA1]", &d);
	assert_ah(&q.m[0], INTEG_SHA1, false, 0, 0, 100000, 3600);
	assert_no_warnings(&d);
	assert_qm_text(&q, "AH[SHA1]:100000k/3600s");
}

static void test_qm_ah_plus_esp(void **state)
{
	(void)state;
	struct diag d;
	struct qm_methods q = qm_ok("AH[MD5]+ESP[DES,SHA1]", &d);
	assert_int_equal(q.n, 1);
	assert_ah(&q.m[0], INTEG_MD5, true, CONF_DES, INTEG_SHA1, 100000, 3600);
	assert_qm_text(&q, "AH[MD5]+ESP[DES,SHA1]:100000k/3600s");

	q = qm_ok("AH[SHA1]+ESP[3DES,SHA1]:50000k/900s", &d);
	assert_ah(&q.m[0], INTEG_SHA1, true, CONF_3DES, INTEG_SHA1, 50000, 900);
	assert_qm_text(&q, "AH[SHA1]+ESP[3DES,SHA1]:50000k/900s");

	q = qm_ok("AH[SHA256]+ESP[None,SHA256]", &d);
	assert_ah(&q.m[0], INTEG_SHA256, true, CONF_NONE, INTEG_SHA256, 100000, 3600);
	assert_qm_text(&q, "AH[SHA256]+ESP[None,SHA256]:100000k/3600s");
}

static void test_qm_microsoft_example_list(void **state)
{
	(void)state;
	struct diag d;
	struct qm_methods q = qm_ok("AH[MD5]:204800k/300s ESP[DES,SHA1]:30000k/480s", &d);
	assert_int_equal(q.n, 2);
	assert_ah(&q.m[0], INTEG_MD5, false, 0, 0, 204800, 300);
	assert_esp(&q.m[1], CONF_DES, INTEG_SHA1, 30000, 480);
	assert_qm_text(&q, "AH[MD5]:204800k/300s ESP[DES,SHA1]:30000k/480s");
	/* Legacy algorithms are accepted with a warning each (05050). */
	assert_int_equal(d.nwarn, 2);
	assert_warning(&d, "MD5 is provided for backward compatibility only.");
	assert_warning(&d, "DES is provided for backward compatibility only.");
}

static void test_qm_lifetime_optional(void **state)
{
	(void)state;
	struct diag d;
	struct qm_methods q = qm_ok("ESP[3DES,SHA1]", &d);
	assert_esp(&q.m[0], CONF_3DES, INTEG_SHA1, QM_DEFAULT_LIFE_KB, QM_DEFAULT_LIFE_S);
	assert_int_equal(QM_DEFAULT_LIFE_KB, 100000);
	assert_int_equal(QM_DEFAULT_LIFE_S, 3600);
	assert_qm_text(&q, "ESP[3DES,SHA1]:100000k/3600s");
}

static void test_qm_lifetime_single(void **state)
{
	(void)state;
	struct diag d;
	struct qm_methods q = qm_ok("ESP[3DES,SHA1]:50000k", &d);
	assert_esp(&q.m[0], CONF_3DES, INTEG_SHA1, 50000, 3600);
	assert_qm_text(&q, "ESP[3DES,SHA1]:50000k/3600s");

	q = qm_ok("ESP[3DES,SHA1]:600s", &d);
	assert_esp(&q.m[0], CONF_3DES, INTEG_SHA1, 100000, 600);
	assert_qm_text(&q, "ESP[3DES,SHA1]:100000k/600s");

	q = qm_ok("AH[SHA1]:7200s", &d);
	assert_ah(&q.m[0], INTEG_SHA1, false, 0, 0, 100000, 7200);
}

static void test_qm_lifetime_zero_is_default(void **state)
{
	(void)state;
	struct diag d;
	struct qm_methods q = qm_ok("ESP[3DES,SHA1]:0k/0s", &d);
	assert_esp(&q.m[0], CONF_3DES, INTEG_SHA1, 100000, 3600);
	q = qm_ok("ESP[3DES,SHA1]:0k/600s", &d);
	assert_esp(&q.m[0], CONF_3DES, INTEG_SHA1, 100000, 600);
	q = qm_ok("ESP[3DES,SHA1]:50000k/0s", &d);
	assert_esp(&q.m[0], CONF_3DES, INTEG_SHA1, 50000, 3600);
	q = qm_ok("ESP[3DES,SHA1]:0k", &d);
	assert_esp(&q.m[0], CONF_3DES, INTEG_SHA1, 100000, 3600);
	q = qm_ok("ESP[3DES,SHA1]:0s", &d);
	assert_esp(&q.m[0], CONF_3DES, INTEG_SHA1, 100000, 3600);
	q = qm_ok("ESP[3DES,SHA1]:000k/00s", &d);
	assert_esp(&q.m[0], CONF_3DES, INTEG_SHA1, 100000, 3600);
}

static void test_qm_lifetime_limits(void **state)
{
	(void)state;
	struct diag d;
	struct qm_methods q = qm_ok("ESP[3DES,SHA1]:20480k/300s", &d);
	assert_esp(&q.m[0], CONF_3DES, INTEG_SHA1, 20480, 300);
	q = qm_ok("ESP[3DES,SHA1]:2147483647k/172800s", &d);
	assert_esp(&q.m[0], CONF_3DES, INTEG_SHA1, 2147483647u, 172800);
	assert_qm_text(&q, "ESP[3DES,SHA1]:2147483647k/172800s");

	static const char *const bad[] = {
		"ESP[3DES,SHA1]:20479k/3600s", "ESP[3DES,SHA1]:2147483648k/3600s",
		"ESP[3DES,SHA1]:4294967295k/3600s", "ESP[3DES,SHA1]:4294967296k/3600s",
		"ESP[3DES,SHA1]:99999999999999999999k/3600s", "ESP[3DES,SHA1]:100000k/299s",
		"ESP[3DES,SHA1]:100000k/172801s", "ESP[3DES,SHA1]:100000k/1s",
		"ESP[3DES,SHA1]:1k", "ESP[3DES,SHA1]:299s", "ESP[3DES,SHA1]:172801s",
		"AH[MD5]:204800k/200s",
	};
	for (size_t i = 0; i < NELEM(bad); i++)
		qm_bad(bad[i], ERR_BAD_SECMETHOD, bad[i]);
}

static void test_qm_case_insensitive(void **state)
{
	(void)state;
	struct diag d;
	struct qm_methods q = qm_ok("esp[3des,sha1]", &d);
	assert_esp(&q.m[0], CONF_3DES, INTEG_SHA1, 100000, 3600);
	assert_qm_text(&q, "ESP[3DES,SHA1]:100000k/3600s");

	q = qm_ok("Ah[Md5]+eSp[dEs,ShA1]:204800K/300S", &d);
	assert_ah(&q.m[0], INTEG_MD5, true, CONF_DES, INTEG_SHA1, 204800, 300);
	assert_qm_text(&q, "AH[MD5]+ESP[DES,SHA1]:204800k/300s");

	q = qm_ok("esp[aesgcm256] esp[none,sha256] esp[aes128,none]", &d);
	assert_qm_text(&q, "ESP[AESGCM256]:100000k/3600s ESP[None,SHA256]:100000k/3600s "
	                   "ESP[AES128,None]:100000k/3600s");
}

static void test_qm_modern_algorithms(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		enum esp_conf conf;
		enum integ_alg integ;
	} cases[] = {
		{ "ESP[AES128,SHA256]", CONF_AES128, INTEG_SHA256 },
		{ "ESP[AES192,SHA384]", CONF_AES192, INTEG_SHA384 },
		{ "ESP[AES256,SHA512]", CONF_AES256, INTEG_SHA512 },
		{ "ESP[AES256,SHA1]", CONF_AES256, INTEG_SHA1 },
		{ "ESP[3DES,SHA256]", CONF_3DES, INTEG_SHA256 },
		{ "ESP[None,SHA1]", CONF_NONE, INTEG_SHA1 },
		{ "ESP[None,SHA384]", CONF_NONE, INTEG_SHA384 },
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct diag d;
		struct qm_methods q = qm_ok(cases[i].text, &d);
		assert_int_equal(q.n, 1);
		assert_esp(&q.m[0], cases[i].conf, cases[i].integ, 100000, 3600);
		assert_no_warnings(&d);
	}
	struct diag d;
	struct qm_methods q = qm_ok("AH[SHA384]", &d);
	assert_ah(&q.m[0], INTEG_SHA384, false, 0, 0, 100000, 3600);
	q = qm_ok("AH[SHA512]", &d);
	assert_ah(&q.m[0], INTEG_SHA512, false, 0, 0, 100000, 3600);
}

static void test_qm_aead(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		enum esp_conf conf;
		const char *canonical;
	} cases[] = {
		{ "ESP[AESGCM128]", CONF_AESGCM128, "ESP[AESGCM128]:100000k/3600s" },
		{ "ESP[AESGCM192]", CONF_AESGCM192, "ESP[AESGCM192]:100000k/3600s" },
		{ "ESP[AESGCM256]", CONF_AESGCM256, "ESP[AESGCM256]:100000k/3600s" },
		{ "ESP[CHACHA20POLY1305]", CONF_CHACHA20POLY1305,
		  "ESP[CHACHA20POLY1305]:100000k/3600s" },
		{ "ESP[aesgcm128]:50000k/1800s", CONF_AESGCM128, "ESP[AESGCM128]:50000k/1800s" },
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct diag d;
		struct qm_methods q = qm_ok(cases[i].text, &d);
		assert_int_equal(q.n, 1);
		assert_true(q.m[0].esp);
		assert_false(q.m[0].ah);
		assert_int_equal(q.m[0].esp_conf, cases[i].conf);
		assert_int_equal(q.m[0].esp_integ, INTEG_NONE);
		assert_no_warnings(&d);   /* AEAD is not "encryption without integrity" */
		assert_qm_text(&q, cases[i].canonical);
	}
	struct diag d;
	struct qm_methods q = qm_ok("AH[SHA256]+ESP[AESGCM256]", &d);
	assert_ah(&q.m[0], INTEG_SHA256, true, CONF_AESGCM256, INTEG_NONE, 100000, 3600);
	assert_qm_text(&q, "AH[SHA256]+ESP[AESGCM256]:100000k/3600s");
}

static void test_qm_aead_with_integrity_rejected(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"ESP[AESGCM128,SHA1]", "ESP[AESGCM192,SHA256]", "ESP[AESGCM256,SHA384]",
		"ESP[CHACHA20POLY1305,SHA512]", "ESP[AESGCM256,MD5]:100000k/3600s",
		"AH[SHA1]+ESP[AESGCM128,SHA1]",
	};
	for (size_t i = 0; i < NELEM(bad); i++)
		qm_bad(bad[i], ERR_BAD_SECMETHOD, bad[i]);
}

static void test_qm_none_none_rejected(void **state)
{
	(void)state;
	qm_bad("ESP[None,None]", ERR_BAD_SECMETHOD, "ESP[None,None]");
	qm_bad("esp[none,none]:100000k/3600s", ERR_BAD_SECMETHOD, "esp[none,none]:100000k/3600s");
	qm_bad("AH[MD5]+ESP[None,None]", ERR_BAD_SECMETHOD, "AH[MD5]+ESP[None,None]");
	qm_bad("ESP[None]", ERR_BAD_SECMETHOD, "ESP[None]");
	qm_bad("AH[None]", ERR_BAD_SECMETHOD, "AH[None]");
	/* The bad offer is named, not the good one before it. */
	qm_bad("ESP[3DES,SHA1] ESP[None,None]", ERR_BAD_SECMETHOD, "ESP[None,None]");
}

static void test_qm_encryption_without_integrity_warns(void **state)
{
	(void)state;
	struct diag d;
	struct qm_methods q = qm_ok("ESP[3DES,None]", &d);
	assert_esp(&q.m[0], CONF_3DES, INTEG_NONE, 100000, 3600);
	assert_int_equal(d.nwarn, 1);
	assert_warning(&d, "ESP[3DES,None]");
	assert_warning(&d, "without integrity");
	assert_qm_text(&q, "ESP[3DES,None]:100000k/3600s");

	q = qm_ok("ESP[AES256,None]:50000k/600s", &d);
	assert_esp(&q.m[0], CONF_AES256, INTEG_NONE, 50000, 600);
	assert_int_equal(d.nwarn, 1);
	assert_warning(&d, "ESP[AES256,None]");

	/* DES without integrity: both the legacy and the integrity warnings. */
	q = qm_ok("ESP[DES,None]", &d);
	assert_int_equal(d.nwarn, 2);
	assert_warning(&d, "ESP[DES,None]");
	assert_warning(&d, "DES is provided for backward compatibility only.");

	/* AH supplies integrity but ESP itself still has none: still warned. */
	q = qm_ok("AH[SHA1]+ESP[3DES,None]", &d);
	assert_ah(&q.m[0], INTEG_SHA1, true, CONF_3DES, INTEG_NONE, 100000, 3600);
}

static void test_qm_legacy_warnings(void **state)
{
	(void)state;
	struct diag d;
	qm_ok("ESP[DES,SHA1]", &d);
	assert_int_equal(d.nwarn, 1);
	assert_string_equal(d.warn[0], "DES is provided for backward compatibility only.");

	qm_ok("ESP[3DES,MD5]", &d);
	assert_int_equal(d.nwarn, 1);
	assert_string_equal(d.warn[0], "MD5 is provided for backward compatibility only.");

	qm_ok("AH[MD5]", &d);
	assert_int_equal(d.nwarn, 1);
	assert_string_equal(d.warn[0], "MD5 is provided for backward compatibility only.");

	qm_ok("ESP[DES,MD5]", &d);
	assert_int_equal(d.nwarn, 2);
	assert_warning(&d, "DES is");
	assert_warning(&d, "MD5 is");

	/* The same warning is given once per command, however many offers use it. */
	qm_ok("ESP[3DES,SHA1] ESP[3DES,MD5] ESP[DES,SHA1] ESP[DES,MD5] AH[MD5]", &d);
	assert_int_equal(d.nwarn, 2);
	assert_int_equal(count_warnings_containing(&d, "DES is"), 1);
	assert_int_equal(count_warnings_containing(&d, "MD5 is"), 1);

	/* 3DES, SHA1 and the modern algorithms do not warn. */
	qm_ok("ESP[3DES,SHA1] AH[SHA1] ESP[AES128,SHA256] ESP[AESGCM128]", &d);
	assert_no_warnings(&d);
}

static void test_qm_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"ESP", "ESP[", "ESP[]", "ESP[,]", "ESP[3DES,SHA1", "ESP3DES,SHA1]", "ESP(3DES,SHA1)",
		"ESP[3DES]", "ESP[AES128]", "ESP[3DES,]", "ESP[,SHA1]", "ESP[3DES,SHA1]:",
		"ESP[3DES,SHA1]:100000", "ESP[3DES,SHA1]:k/s", "ESP[3DES,SHA1]:100000k3600s",
		"ESP[3DES,SHA1]:100000k/100000k", "ESP[3DES,SHA1]:3600s/3600s",
		"ESP[3DES,SHA1]:100000m", "ESP[3DES,SHA1]:100000k/3600m", "ESP[3DES,SHA1]x",
		"ESP[3DES,SHA1,MD5]", "ESP[3DES;SHA1]", "ESP[BLOWFISH,SHA1]", "ESP[3DES,SHA3]",
		"ESP[3DES,SHA1]]", "ESP[[3DES,SHA1]", "AH", "AH[]", "AH[MD5", "AH[DES]",
		"AH[MD5,SHA1]", "AH[MD5]+", "AH[MD5]ESP[3DES,SHA1]", "ESP[3DES,SHA1]+AH[MD5]",
		"AH[MD5]+AH[SHA1]", "AH[MD5]+ESP[3DES,SHA1]+ESP[DES,MD5]",
		"ESP[3DES,SHA1]::100000k", "ESP[3DES,SHA1]:-1k", "ESP[3DES,SHA1]:+100000k",
		"ESP[3DES,SHA1]:/3600s", "ESP[3DES,SHA1]/100000k", "ESP[3DES,SHA1],ESP[DES,MD5]",
		"ESP[3DES,SHA1];", "ESP[AESGCM128]:", "IPCOMP[LZS]", "3DES-SHA1-2", "none",
		"ESP[3DES,SHA1]:100000k/3600s:", "ESP[AESGCM]", "ESP[AES],", "ESP[AES129,SHA1]",
	};
	for (size_t i = 0; i < NELEM(bad); i++)
		qm_bad(bad[i], ERR_BAD_SECMETHOD, bad[i]);
}

/* Regression: a dangling '/' after both lifetimes is not a valid offer. */
static void test_qm_lifetime_trailing_slash(void **state)
{
	(void)state;
	qm_bad("ESP[3DES,SHA1]:100000k/3600s/", ERR_BAD_SECMETHOD,
	       "ESP[3DES,SHA1]:100000k/3600s/");
	qm_bad("AH[SHA1]:600s/50000k/", ERR_BAD_SECMETHOD, "AH[SHA1]:600s/50000k/");
}

static void test_qm_error_names_token_and_tag(void **state)
{
	(void)state;
	struct diag d;
	struct qm_methods q;
	diag_init(&d);
	assert_false(policy_parse_qmsec("qmsec", "ESP[3DES,SHA1] ESP[FOO,SHA1]:100000k/3600s "
	                                 "ESP[DES,MD5]", &q, &d));
	assert_diag_error(&d, ERR_BAD_SECMETHOD, "qmsec", "ESP[FOO,SHA1]:100000k/3600s");
	assert_contains(d.msg, "is not a valid security method");
	assert_contains(d.msg, "Allowed:");
	assert_contains(d.msg, "AESGCM128");
	/* Offers after the bad one are not looked at. */
	assert_int_equal(count_warnings_containing(&d, "DES is"), 0);

	/* A space inside an offer splits it: the broken half is named. */
	diag_init(&d);
	assert_false(policy_parse_qmsec(QM_TAG, "ESP[3DES, SHA1]", &q, &d));
	assert_diag_error(&d, ERR_BAD_SECMETHOD, QM_TAG, "ESP[3DES,");
}

static void test_qm_error_long_token(void **state)
{
	(void)state;
	char text[600];
	memset(text, 'X', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	struct diag d;
	struct qm_methods q;
	diag_init(&d);
	assert_false(policy_parse_qmsec(QM_TAG, text, &q, &d));
	assert_int_equal(d.code, ERR_BAD_SECMETHOD);
	assert_contains(d.msg, "'" QM_TAG "'");
	assert_true(strlen(d.msg) < DIAG_MSG_MAX);
}

static void test_qm_empty_rejected(void **state)
{
	(void)state;
	qm_bad("", ERR_BAD_SECMETHOD, "");
	qm_bad("   ", ERR_BAD_SECMETHOD, "   ");
	qm_bad("\t \n", ERR_BAD_SECMETHOD, NULL);
}

static void test_qm_whitespace_separators(void **state)
{
	(void)state;
	struct diag d;
	struct qm_methods q = qm_ok("  ESP[3DES,SHA1]   AH[SHA1]\tESP[AESGCM128]  ", &d);
	assert_int_equal(q.n, 3);
	assert_esp(&q.m[0], CONF_3DES, INTEG_SHA1, 100000, 3600);
	assert_ah(&q.m[1], INTEG_SHA1, false, 0, 0, 100000, 3600);
	assert_int_equal(q.m[2].esp_conf, CONF_AESGCM128);
	assert_qm_text(&q, "ESP[3DES,SHA1]:100000k/3600s AH[SHA1]:100000k/3600s "
	                   "ESP[AESGCM128]:100000k/3600s");
}

static void test_qm_max_offers(void **state)
{
	(void)state;
	char text[1024] = "";
	for (int i = 0; i < POLICY_MAX_METHODS; i++)
		strcat(text, i ? " ESP[3DES,SHA1]" : "ESP[3DES,SHA1]");
	struct diag d;
	struct qm_methods q = qm_ok(text, &d);
	assert_int_equal(POLICY_MAX_METHODS, 10);
	assert_int_equal(q.n, 10);

	strcat(text, " ESP[AES128,SHA256]");
	qm_bad(text, ERR_BAD_VALUE, text);
	diag_init(&d);
	assert_false(policy_parse_qmsec(QM_TAG, text, &q, &d));
	assert_contains(d.msg, "at most 10");

	/* Trailing blanks after the tenth offer are not an eleventh. */
	text[0] = '\0';
	for (int i = 0; i < POLICY_MAX_METHODS; i++)
		strcat(text, "AH[SHA1] ");
	q = qm_ok(text, &d);
	assert_int_equal(q.n, 10);
}

static void test_qm_round_trip(void **state)
{
	(void)state;
	static const struct {
		const char *input, *canonical;
	} cases[] = {
		{ "ESP[3DES,SHA1]:100000k/3600s", "ESP[3DES,SHA1]:100000k/3600s" },
		{ "AH[MD5]:204800k/300s", "AH[MD5]:204800k/300s" },
		{ "AH[MD5]+ESP[DES,SHA1]", "AH[MD5]+ESP[DES,SHA1]:100000k/3600s" },
		{ "AH[MD5]:204800k/300s ESP[DES,SHA1]:30000k/480s",
		  "AH[MD5]:204800k/300s ESP[DES,SHA1]:30000k/480s" },
		{ "esp[aes256,sha512]:20480k/172800s", "ESP[AES256,SHA512]:20480k/172800s" },
		{ "ESP[None,SHA1] ESP[3DES,None]", "ESP[None,SHA1]:100000k/3600s ESP[3DES,None]:100000k/3600s" },
		{ "ESP[AESGCM128] ESP[AESGCM192]:30000k ESP[AESGCM256]:900s ESP[CHACHA20POLY1305]",
		  "ESP[AESGCM128]:100000k/3600s ESP[AESGCM192]:30000k/3600s "
		  "ESP[AESGCM256]:100000k/900s ESP[CHACHA20POLY1305]:100000k/3600s" },
		{ "AH[SHA384]+ESP[AES192,SHA384]:2147483647k/300s",
		  "AH[SHA384]+ESP[AES192,SHA384]:2147483647k/300s" },
		{ "ESP[3DES,SHA1]:0k/0s", "ESP[3DES,SHA1]:100000k/3600s" },
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct diag d;
		struct qm_methods a = qm_ok(cases[i].input, &d);
		char text[2048], again[2048];
		policy_format_qmsec(&a, text, sizeof(text));
		assert_string_equal(text, cases[i].canonical);
		struct qm_methods b = qm_ok(text, &d);
		assert_qm_equal(&a, &b);
		policy_format_qmsec(&b, again, sizeof(again));
		assert_string_equal(again, text);
	}
}

static void test_qm_round_trip_max_list(void **state)
{
	(void)state;
	/* Ten of the longest offers still fit a reasonable buffer and round-trip. */
	const char *offer = "AH[SHA512]+ESP[CHACHA20POLY1305]:2147483647k/172800s";
	char text[1024] = "";
	for (int i = 0; i < POLICY_MAX_METHODS; i++) {
		if (i)
			strcat(text, " ");
		strcat(text, offer);
	}
	struct diag d;
	struct qm_methods a = qm_ok(text, &d);
	char out[1024];
	policy_format_qmsec(&a, out, sizeof(out));
	assert_string_equal(out, text);
	struct qm_methods b = qm_ok(out, &d);
	assert_qm_equal(&a, &b);
}

static void test_qm_format_small_buffer(void **state)
{
	(void)state;
	struct diag d;
	struct qm_methods q = qm_ok("ESP[3DES,SHA1] ESP[AES128,SHA256] AH[SHA1]", &d);
	for (size_t len = 1; len < 100; len++) {
		char buf[100];
		memset(buf, '#', sizeof(buf));
		policy_format_qmsec(&q, buf, len);
		assert_true(strlen(buf) < len);
		for (size_t k = len; k < sizeof(buf); k++)
			assert_int_equal(buf[k], '#');   /* nothing written past len */
	}
	char full[200];
	policy_format_qmsec(&q, full, sizeof(full));
	char cut[20];
	policy_format_qmsec(&q, cut, sizeof(cut));
	assert_memory_equal(cut, full, sizeof(cut) - 1);
}

static void test_qm_format_security_method(void **state)
{
	(void)state;
	char buf[128];
	struct security_method m = {
		.esp = true, .esp_conf = CONF_AES128, .esp_integ = INTEG_SHA256,
		.life_kb = 100000, .life_s = 3600,
	};
	policy_format_security_method(&m, buf, sizeof(buf));
	assert_string_equal(buf, "ESP[AES128,SHA256]:100000k/3600s");
	m = (struct security_method){ .ah = true, .ah_integ = INTEG_SHA1, .life_kb = 20480,
	                              .life_s = 300 };
	policy_format_security_method(&m, buf, sizeof(buf));
	assert_string_equal(buf, "AH[SHA1]:20480k/300s");
	m.esp = true;
	m.esp_conf = CONF_AESGCM128;
	policy_format_security_method(&m, buf, sizeof(buf));
	assert_string_equal(buf, "AH[SHA1]+ESP[AESGCM128]:20480k/300s");

	struct qm_methods empty = { .n = 0 };
	policy_format_qmsec(&empty, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

/* ---- main mode (§2.6) ------------------------------------------------------------------ */

static void test_mm_spec_examples(void **state)
{
	(void)state;
	struct diag d;
	struct mm_methods m = mm_ok("3DES-SHA1-2", &d);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.m[0].conf, CONF_3DES);
	assert_int_equal(m.m[0].hash, INTEG_SHA1);
	assert_int_equal(m.m[0].group, 2);
	assert_mm_text(&m, "3DES-SHA1-2");

	m = mm_ok("3DES-MD5-3", &d);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.m[0].conf, CONF_3DES);
	assert_int_equal(m.m[0].hash, INTEG_MD5);
	assert_int_equal(m.m[0].group, 3);
	assert_mm_text(&m, "3DES-MD5-3");
	assert_int_equal(d.nwarn, 1);
	assert_string_equal(d.warn[0], "MD5 is provided for backward compatibility only.");

	m = mm_ok("3DES-SHA1-2 3DES-MD5-3", &d);
	assert_int_equal(m.n, 2);
	assert_mm_text(&m, "3DES-SHA1-2 3DES-MD5-3");

	m = mm_ok("3DES-SHA1-3 DES-SHA1-2 3DES-MD5-3", &d);
	assert_int_equal(m.n, 3);
	assert_int_equal(m.m[1].conf, CONF_DES);
	assert_int_equal(m.m[1].hash, INTEG_SHA1);
	assert_int_equal(m.m[1].group, 2);
	assert_mm_text(&m, "3DES-SHA1-3 DES-SHA1-2 3DES-MD5-3");
	assert_warning(&d, "DES is provided for backward compatibility only.");
	assert_warning(&d, "MD5 is provided for backward compatibility only.");
	assert_warning(&d, "Diffie-Hellman group 2 is provided for backward compatibility only.");
	assert_int_equal(d.nwarn, 3);
}

static void test_mm_modern(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		enum esp_conf conf;
		enum integ_alg hash;
		uint8_t group;
	} cases[] = {
		{ "AES256-SHA256-14", CONF_AES256, INTEG_SHA256, 14 },
		{ "AESGCM128-SHA384-19", CONF_AESGCM128, INTEG_SHA384, 19 },
		{ "AES128-SHA512-20", CONF_AES128, INTEG_SHA512, 20 },
		{ "AES192-SHA256-21", CONF_AES192, INTEG_SHA256, 21 },
		{ "AES256-SHA384-24", CONF_AES256, INTEG_SHA384, 24 },
		{ "AES128-SHA256-31", CONF_AES128, INTEG_SHA256, 31 },
		{ "AESGCM192-SHA256-14", CONF_AESGCM192, INTEG_SHA256, 14 },
		{ "AESGCM256-SHA512-20", CONF_AESGCM256, INTEG_SHA512, 20 },
		{ "3DES-SHA1-14", CONF_3DES, INTEG_SHA1, 14 },
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct diag d;
		struct mm_methods m = mm_ok(cases[i].text, &d);
		assert_int_equal(m.n, 1);
		assert_int_equal(m.m[0].conf, cases[i].conf);
		assert_int_equal(m.m[0].hash, cases[i].hash);
		assert_int_equal(m.m[0].group, cases[i].group);
		assert_no_warnings(&d);
		assert_mm_text(&m, cases[i].text);
	}
}

static void test_mm_groups(void **state)
{
	(void)state;
	static const uint8_t groups[] = { 1, 2, 3, 14, 19, 20, 21, 24, 31 };
	for (size_t i = 0; i < NELEM(groups); i++) {
		char text[32], grp[64];
		snprintf(text, sizeof(text), "AES128-SHA256-%u", groups[i]);
		struct diag d;
		struct mm_methods m = mm_ok(text, &d);
		assert_int_equal(m.n, 1);
		assert_int_equal(m.m[0].group, groups[i]);
		assert_mm_text(&m, text);
		if (groups[i] == 1 || groups[i] == 2) {
			snprintf(grp, sizeof(grp), "Diffie-Hellman group %u is provided",
			         groups[i]);
			assert_int_equal(d.nwarn, 1);
			assert_warning(&d, grp);
		} else {
			assert_no_warnings(&d);
		}
	}
	/* 3 and 14 are the same group but stored and printed as given. */
	struct diag d;
	struct mm_methods m = mm_ok("3DES-SHA1-3 3DES-SHA1-14", &d);
	assert_int_equal(m.m[0].group, 3);
	assert_int_equal(m.m[1].group, 14);
	assert_mm_text(&m, "3DES-SHA1-3 3DES-SHA1-14");
}

static void test_mm_bad_group(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"3DES-SHA1-0", "3DES-SHA1-4", "3DES-SHA1-5", "3DES-SHA1-13", "3DES-SHA1-15",
		"3DES-SHA1-16", "3DES-SHA1-22", "3DES-SHA1-25", "3DES-SHA1-30", "3DES-SHA1-32",
		"3DES-SHA1-256", "3DES-SHA1-270", "3DES-SHA1-258", "3DES-SHA1-4294967297",
		"3DES-SHA1-99999999999999999999", "3DES-SHA1-x", "3DES-SHA1-2a", "3DES-SHA1--2",
		"3DES-SHA1-+2", "3DES-SHA1-0x2",
	};
	for (size_t i = 0; i < NELEM(bad); i++)
		mm_bad(bad[i], ERR_BAD_SECMETHOD, bad[i]);
}

static void test_mm_missing_parts(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"3DES", "3DES-SHA1", "3DES-SHA1-", "-SHA1-2", "3DES--2", "--", "-", "SHA1-2",
		"3DES-SHA1-2-", "3DES-SHA1-2-1", "None-SHA1-2", "3DES-None-2",
		"CHACHA20POLY1305-SHA256-19", "3DES_SHA1_2", "3DES-SHA1-2:480", "AES-SHA1-2",
		"3DES-SHA-2", "3DES-SHA1-2,3DES-MD5-2", "ESP[3DES,SHA1]", "3DES-SHA1-2]",
		"SHA1-3DES-2", "2-3DES-SHA1",
	};
	for (size_t i = 0; i < NELEM(bad); i++)
		mm_bad(bad[i], ERR_BAD_SECMETHOD, bad[i]);
}

static void test_mm_error_message(void **state)
{
	(void)state;
	struct diag d;
	struct mm_methods m;
	diag_init(&d);
	assert_false(policy_parse_mmsec("mmsec", "3DES-SHA1-2 3DES-SHA1-7 DES-MD5-1", &m, &d));
	assert_diag_error(&d, ERR_BAD_SECMETHOD, "mmsec", "3DES-SHA1-7");
	assert_contains(d.msg, "is not a valid security method");
	assert_contains(d.msg, "Allowed:");
	assert_contains(d.msg, "Group 1, 2, 3");
	/* Nothing past the bad offer was looked at. */
	assert_int_equal(count_warnings_containing(&d, "MD5"), 0);
	assert_int_equal(count_warnings_containing(&d, "group 1 "), 0);
}

static void test_mm_case_insensitive(void **state)
{
	(void)state;
	struct diag d;
	struct mm_methods m = mm_ok("3des-sha1-2 aesgcm128-sha384-19 Aes256-Sha256-14", &d);
	assert_int_equal(m.n, 3);
	assert_mm_text(&m, "3DES-SHA1-2 AESGCM128-SHA384-19 AES256-SHA256-14");
}

static void test_mm_legacy_warnings(void **state)
{
	(void)state;
	struct diag d;
	mm_ok("DES-MD5-1", &d);
	assert_int_equal(d.nwarn, 3);
	assert_warning(&d, "DES is provided for backward compatibility only.");
	assert_warning(&d, "MD5 is provided for backward compatibility only.");
	assert_warning(&d, "Diffie-Hellman group 1 is provided for backward compatibility only.");

	/* The Windows Server 2003 default list: each warning once. */
	mm_ok("3DES-SHA1-2 3DES-MD5-2 DES-SHA1-1 DES-MD5-1", &d);
	assert_int_equal(d.nwarn, 4);
	assert_int_equal(count_warnings_containing(&d, "DES is"), 1);
	assert_int_equal(count_warnings_containing(&d, "MD5 is"), 1);
	assert_int_equal(count_warnings_containing(&d, "group 1 is"), 1);
	assert_int_equal(count_warnings_containing(&d, "group 2 is"), 1);

	mm_ok("3DES-SHA1-3 AES128-SHA1-14", &d);
	assert_no_warnings(&d);
}

static void test_mm_empty_and_max(void **state)
{
	(void)state;
	mm_bad("", ERR_BAD_SECMETHOD, "");
	mm_bad("  \t ", ERR_BAD_SECMETHOD, NULL);

	char text[512] = "";
	for (int i = 0; i < POLICY_MAX_METHODS; i++)
		strcat(text, "AES128-SHA256-14 ");
	struct diag d;
	struct mm_methods m = mm_ok(text, &d);
	assert_int_equal(m.n, 10);
	strcat(text, "AES256-SHA256-14");
	mm_bad(text, ERR_BAD_VALUE, text);
	diag_init(&d);
	assert_false(policy_parse_mmsec(MM_TAG, text, &m, &d));
	assert_contains(d.msg, "at most 10");
}

static void test_mm_round_trip(void **state)
{
	(void)state;
	static const char *const lists[] = {
		"3DES-SHA1-2", "3DES-SHA1-2 3DES-MD5-2 DES-SHA1-1 DES-MD5-1",
		"AES256-SHA256-14 AES128-SHA256-14 AES128-SHA256-19",
		"AESGCM256-SHA512-21 AESGCM128-SHA384-20 AES192-SHA1-24 AES128-SHA256-31 3DES-SHA1-3",
	};
	for (size_t i = 0; i < NELEM(lists); i++) {
		struct diag d;
		struct mm_methods a = mm_ok(lists[i], &d);
		char text[1024], again[1024];
		policy_format_mmsec(&a, text, sizeof(text));
		assert_string_equal(text, lists[i]);
		struct mm_methods b = mm_ok(text, &d);
		assert_mm_equal(&a, &b);
		policy_format_mmsec(&b, again, sizeof(again));
		assert_string_equal(again, text);
	}
	/* Leading zeros and case are not preserved: the canonical text is. */
	struct diag d;
	struct mm_methods a = mm_ok("  3des-sha1-02   aes128-sha256-014 ", &d);
	assert_mm_text(&a, "3DES-SHA1-2 AES128-SHA256-14");

	struct mm_methods empty = { .n = 0 };
	assert_mm_text(&empty, "");
}

static void test_mm_format_small_buffer(void **state)
{
	(void)state;
	struct diag d;
	struct mm_methods m = mm_ok("AES256-SHA256-14 AES128-SHA256-14 AES128-SHA256-19", &d);
	for (size_t len = 1; len < 64; len++) {
		char buf[64];
		memset(buf, '#', sizeof(buf));
		policy_format_mmsec(&m, buf, len);
		assert_true(strlen(buf) < len);
		for (size_t k = len; k < sizeof(buf); k++)
			assert_int_equal(buf[k], '#');
	}
}

/* ---- names and labels ------------------------------------------------------------------ */

static void test_names_and_labels(void **state)
{
	(void)state;
	assert_string_equal(policy_conf_name(CONF_NONE), "None");
	assert_string_equal(policy_conf_name(CONF_DES), "DES");
	assert_string_equal(policy_conf_name(CONF_3DES), "3DES");
	assert_string_equal(policy_conf_name(CONF_AES128), "AES128");
	assert_string_equal(policy_conf_name(CONF_AES192), "AES192");
	assert_string_equal(policy_conf_name(CONF_AES256), "AES256");
	assert_string_equal(policy_conf_name(CONF_AESGCM128), "AESGCM128");
	assert_string_equal(policy_conf_name(CONF_AESGCM192), "AESGCM192");
	assert_string_equal(policy_conf_name(CONF_AESGCM256), "AESGCM256");
	assert_string_equal(policy_conf_name(CONF_CHACHA20POLY1305), "CHACHA20POLY1305");
	assert_string_equal(policy_conf_name((enum esp_conf)99), "?");

	assert_string_equal(policy_integ_name(INTEG_NONE), "None");
	assert_string_equal(policy_integ_name(INTEG_MD5), "MD5");
	assert_string_equal(policy_integ_name(INTEG_SHA1), "SHA1");
	assert_string_equal(policy_integ_name(INTEG_SHA256), "SHA256");
	assert_string_equal(policy_integ_name(INTEG_SHA384), "SHA384");
	assert_string_equal(policy_integ_name(INTEG_SHA512), "SHA512");
	assert_string_equal(policy_integ_name((enum integ_alg)99), "?");

	assert_string_equal(policy_group_label(1), "Low(1)");
	assert_string_equal(policy_group_label(2), "Medium(2)");
	/* §2.6: show labels both 3 and 14 DH2048. */
	assert_string_equal(policy_group_label(3), "DH2048(3)");
	assert_string_equal(policy_group_label(14), "DH2048(14)");
	assert_string_equal(policy_group_label(19), "ECP256(19)");
	assert_string_equal(policy_group_label(20), "ECP384(20)");
	assert_string_equal(policy_group_label(21), "ECP521(21)");
	assert_string_equal(policy_group_label(24), "DH2048-256(24)");
	assert_string_equal(policy_group_label(31), "Curve25519(31)");
	assert_string_equal(policy_group_label(0), "?");
	assert_string_equal(policy_group_label(5), "?");
}

/* ---- profile defaults (best-practices.md §3) ----------------------------------------------- */

static void test_profile_modern_defaults(void **state)
{
	(void)state;
	struct qm_methods q;
	struct mm_methods m;
	memset(&q, 0, sizeof(q));
	memset(&m, 0, sizeof(m));
	policy_default_qmsec(PROFILE_MODERN, &q);
	policy_default_mmsec(PROFILE_MODERN, &m);
	assert_qm_text(&q, "ESP[AESGCM256]:100000k/3600s ESP[AESGCM128]:100000k/3600s "
	                   "ESP[AES256,SHA256]:100000k/3600s ESP[AES128,SHA256]:100000k/3600s");
	assert_mm_text(&m, "AES256-SHA256-14 AES128-SHA256-14 AES128-SHA256-19");
	assert_int_equal(q.n, 4);
	assert_int_equal(m.n, 3);
	assert_esp(&q.m[0], CONF_AESGCM256, INTEG_NONE, 100000, 3600);
	assert_esp(&q.m[1], CONF_AESGCM128, INTEG_NONE, 100000, 3600);
	assert_esp(&q.m[2], CONF_AES256, INTEG_SHA256, 100000, 3600);
	assert_esp(&q.m[3], CONF_AES128, INTEG_SHA256, 100000, 3600);

	/* The modern defaults contain nothing that warns (no DES/MD5/group 1/2). */
	char text[1024];
	struct diag d;
	policy_format_qmsec(&q, text, sizeof(text));
	qm_ok(text, &d);
	assert_no_warnings(&d);
	policy_format_mmsec(&m, text, sizeof(text));
	mm_ok(text, &d);
	assert_no_warnings(&d);
}

static void test_profile_legacy_defaults(void **state)
{
	(void)state;
	struct qm_methods q;
	struct mm_methods m;
	memset(&q, 0, sizeof(q));
	memset(&m, 0, sizeof(m));
	policy_default_qmsec(PROFILE_LEGACY, &q);
	policy_default_mmsec(PROFILE_LEGACY, &m);
	assert_qm_text(&q, "ESP[3DES,SHA1]:100000k/3600s ESP[3DES,MD5]:100000k/3600s");
	assert_mm_text(&m, "3DES-SHA1-3 3DES-SHA1-2");
	assert_int_equal(q.n, 2);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.m[0].group, 3);   /* group 2048 first, then Medium */
	assert_int_equal(m.m[1].group, 2);
	/* "DES and group 1 omitted even though Windows listed them". */
	for (size_t i = 0; i < m.n; i++) {
		assert_int_not_equal(m.m[i].conf, CONF_DES);
		assert_int_not_equal(m.m[i].group, 1);
	}
	for (size_t i = 0; i < q.n; i++)
		assert_int_not_equal(q.m[i].esp_conf, CONF_DES);
}

static void test_profile_defaults_overwrite(void **state)
{
	(void)state;
	/* The default fills the whole struct: stale offers do not survive. */
	struct diag d;
	struct qm_methods q = qm_ok("AH[SHA1] AH[SHA1] AH[SHA1] AH[SHA1] AH[SHA1] AH[SHA1]", &d);
	policy_default_qmsec(PROFILE_LEGACY, &q);
	assert_int_equal(q.n, 2);
	struct mm_methods m = mm_ok("DES-MD5-1 DES-MD5-1 DES-MD5-1 DES-MD5-1 DES-MD5-1", &d);
	policy_default_mmsec(PROFILE_MODERN, &m);
	assert_int_equal(m.n, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qm_esp_with_lifetimes),
		cmocka_unit_test(test_qm_ah),
		cmocka_unit_test(test_qm_ah_plus_esp),
		cmocka_unit_test(test_qm_microsoft_example_list),
		cmocka_unit_test(test_qm_lifetime_optional),
		cmocka_unit_test(test_qm_lifetime_single),
		cmocka_unit_test(test_qm_lifetime_zero_is_default),
		cmocka_unit_test(test_qm_lifetime_limits),
		cmocka_unit_test(test_qm_case_insensitive),
		cmocka_unit_test(test_qm_modern_algorithms),
		cmocka_unit_test(test_qm_aead),
		cmocka_unit_test(test_qm_aead_with_integrity_rejected),
		cmocka_unit_test(test_qm_none_none_rejected),
		cmocka_unit_test(test_qm_encryption_without_integrity_warns),
		cmocka_unit_test(test_qm_legacy_warnings),
		cmocka_unit_test(test_qm_malformed),
		cmocka_unit_test(test_qm_lifetime_trailing_slash),
		cmocka_unit_test(test_qm_error_names_token_and_tag),
		cmocka_unit_test(test_qm_error_long_token),
		cmocka_unit_test(test_qm_empty_rejected),
		cmocka_unit_test(test_qm_whitespace_separators),
		cmocka_unit_test(test_qm_max_offers),
		cmocka_unit_test(test_qm_round_trip),
		cmocka_unit_test(test_qm_round_trip_max_list),
		cmocka_unit_test(test_qm_format_small_buffer),
		cmocka_unit_test(test_qm_format_security_method),
		cmocka_unit_test(test_mm_spec_examples),
		cmocka_unit_test(test_mm_modern),
		cmocka_unit_test(test_mm_groups),
		cmocka_unit_test(test_mm_bad_group),
		cmocka_unit_test(test_mm_missing_parts),
		cmocka_unit_test(test_mm_error_message),
		cmocka_unit_test(test_mm_case_insensitive),
		cmocka_unit_test(test_mm_legacy_warnings),
		cmocka_unit_test(test_mm_empty_and_max),
		cmocka_unit_test(test_mm_round_trip),
		cmocka_unit_test(test_mm_format_small_buffer),
		cmocka_unit_test(test_names_and_labels),
		cmocka_unit_test(test_profile_modern_defaults),
		cmocka_unit_test(test_profile_legacy_defaults),
		cmocka_unit_test(test_profile_defaults_overwrite),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
