/*
 * Helpers shared by the cmocka tests of src/policy. Header-only: every test
 * program includes it once.
 */
#ifndef SECPOL_TEST_POLICY_TEST_H
#define SECPOL_TEST_POLICY_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "policy/policy.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The diag holds no error (and prints it when it does). */
#define assert_diag_ok(d) do {                                                   \
	const struct diag *d_ = (d);                                             \
	if (d_->code != ERR_NONE)                                                \
		fail_msg("unexpected error %d: %s", (int)d_->code, d_->msg);     \
} while (0)

#define assert_contains(hay, needle) do {                                        \
	const char *h_ = (hay), *n_ = (needle);                                  \
	if (!strstr(h_, n_))                                                     \
		fail_msg("\"%s\" does not contain \"%s\"", h_, n_);              \
} while (0)

#define assert_not_contains(hay, needle) do {                                    \
	const char *h_ = (hay), *n_ = (needle);                                  \
	if (strstr(h_, n_))                                                      \
		fail_msg("\"%s\" unexpectedly contains \"%s\"", h_, n_);         \
} while (0)

/*
 * The diag carries exactly `code`, and its message names the parameter and
 * the bad value, each in single quotes as in netsh-ipsec.md §7 (NULL: not
 * checked).
 */
static inline void check_diag_error(const struct diag *d, enum ipsec_err code,
                                    const char *tag, const char *value)
{
	char q[DIAG_MSG_MAX + 8];
	if (d->code != code)
		fail_msg("expected error %d, got %d (%s)", (int)code, (int)d->code, d->msg);
	if (tag) {
		snprintf(q, sizeof(q), "'%s'", tag);
		assert_contains(d->msg, q);
	}
	if (value) {
		snprintf(q, sizeof(q), "'%s'", value);
		assert_contains(d->msg, q);
	}
}
#define assert_diag_error(d, code, tag, value) check_diag_error((d), (code), (tag), (value))

static inline size_t count_warnings_containing(const struct diag *d, const char *needle)
{
	size_t n = 0;
	for (size_t i = 0; i < d->nwarn; i++)
		if (strstr(d->warn[i], needle))
			n++;
	return n;
}

#define assert_warning(d, needle) do {                                           \
	const struct diag *w_ = (d);                                             \
	if (count_warnings_containing(w_, (needle)) == 0)                        \
		fail_msg("no warning containing \"%s\" (%zu warnings)",          \
		         (const char *)(needle), w_->nwarn);                     \
} while (0)

#define assert_no_warnings(d) do {                                               \
	const struct diag *w_ = (d);                                             \
	if (w_->nwarn != 0)                                                      \
		fail_msg("unexpected warning: %s", w_->warn[0]);                 \
} while (0)

#endif
