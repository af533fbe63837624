/*
 * The netsh argument lexer (netsh-ipsec.md §1.2): words separated by blanks,
 * `tag=value` with optional spaces around '=', double-quoted values that may
 * contain blanks. Quotes are removed; a `\'` inside a value is kept for the
 * rootca parser, which turns it into a double quote.
 */
#include "netsh/internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void skip_blanks(const char **p)
{
	while (**p && isspace((unsigned char)**p))
		(*p)++;
}

/* Copies one word (quoted or bare) to *o; stops a bare word at blanks and,
 * when stop_at_eq, at '='. */
static bool read_word(const char **p, char **o, bool stop_at_eq, bool *quoted,
                      struct diag *d)
{
	*quoted = false;
	if (**p == '"') {
		*quoted = true;
		(*p)++;
		while (**p && **p != '"')
			*(*o)++ = *(*p)++;
		if (**p != '"')
			return diag_error(d, ERR_BAD_VALUE, "A quoted value is not closed. "
			                  "Allowed: a value between two double quotes.");
		(*p)++;
	} else {
		while (**p && !isspace((unsigned char)**p) && !(stop_at_eq && **p == '='))
			*(*o)++ = *(*p)++;
	}
	*(*o)++ = '\0';
	return true;
}

bool lex_line(const char *line, struct tokens *out, struct diag *d)
{
	memset(out, 0, sizeof(*out));
	out->buflen = strlen(line) * 2 + 2;
	out->buf = malloc(out->buflen);
	if (!out->buf)
		return diag_error(d, ERR_BAD_VALUE, "Out of memory.");
	char *o = out->buf;
	const char *p = line;
	for (;;) {
		skip_blanks(&p);
		if (!*p)
			return true;
		if (out->n == MAX_TOKENS)
			return diag_error(d, ERR_BAD_TAG, "Too many parameters on one line. "
			                  "Allowed: at most %d.", MAX_TOKENS);
		struct token *t = &out->t[out->n++];
		bool quoted;
		char *word = o;
		if (!read_word(&p, &o, true, &quoted, d))
			return false;
		const char *look = p;
		skip_blanks(&look);
		if (!quoted && *look == '=') {
			/* word is a tag: the value follows, possibly after blanks. */
			p = look + 1;
			skip_blanks(&p);
			t->tag = word;
			t->value = o;
			if (!*p) {
				*o++ = '\0';
				continue;
			}
			if (!read_word(&p, &o, false, &quoted, d))
				return false;
		} else {
			t->value = word;
		}
	}
}

void tokens_free(struct tokens *t)
{
	if (t->buf) {
		/* Lines carry preshared keys. */
		explicit_bzero(t->buf, t->buflen);
		free(t->buf);
	}
	t->buf = NULL;
}
