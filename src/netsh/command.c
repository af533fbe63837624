/*
 * Binding a command's words to its parameters: tags by unique prefix,
 * positional values in usage order, authentication tags collected in the
 * order given (their order is the preference order, §2.9).
 */
#include "netsh/internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int match_word(const char *word, const char *const *names, size_t n)
{
	int found = -1;
	size_t len = strlen(word);
	if (len == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(word, names[i]) == 0)
			return (int)i;           /* an exact name beats prefixes of longer ones */
		if (strncasecmp(word, names[i], len) == 0)
			found = found == -1 ? (int)i : -2;
	}
	return found;
}

static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 99;
	size_t prev[65], cur[65];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = (a[i - 1] | 32) == (b[j - 1] | 32) ? 0 : 1;
			size_t best = prev[j - 1] + cost;
			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			cur[j] = best;
		}
		memcpy(prev, cur, sizeof(size_t) * (lb + 1));
	}
	return prev[lb];
}

const char *closest_word(const char *word, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t best_d = strlen(word) / 3 + 2;
	for (size_t i = 0; i < n; i++) {
		size_t dist = distance(word, names[i]);
		if (dist < best_d) {
			best_d = dist;
			best = names[i];
		}
	}
	return best;
}

const char *arg(const struct args *a, const char *tag)
{
	for (size_t i = 0; i < a->cmd->nparams; i++)
		if (strcmp(a->cmd->params[i].tag, tag) == 0)
			return a->v[i];
	return NULL;
}

static bool bad_tag(const struct command_spec *cmd, const char *tag, bool ambiguous,
                    struct diag *d)
{
	const char *names[MAX_PARAMS];
	for (size_t i = 0; i < cmd->nparams; i++)
		names[i] = cmd->params[i].tag;
	if (ambiguous)
		return diag_error(d, ERR_BAD_TAG, "The parameter '%.100s' is not valid for this "
		                  "command: it is an ambiguous abbreviation.", tag);
	const char *near = closest_word(tag, names, cmd->nparams);
	if (near)
		return diag_error(d, ERR_BAD_TAG, "The parameter '%.100s' is not valid for this "
		                  "command. Did you mean '%s'?", tag, near);
	return diag_error(d, ERR_BAD_TAG, "The parameter '%.100s' is not valid for this command.",
	                  tag);
}

static bool put_auth(struct args *a, const char *tag, const char *value, struct diag *d)
{
	if (a->nauth == MAX_AUTH_ARGS)
		return diag_error(d, ERR_BAD_VALUE, "Too many authentication methods. "
		                  "Allowed: at most %d.", POLICY_MAX_AUTH);
	a->auth[a->nauth].kind = !strcmp(tag, "kerberos") ? AUTH_KERBEROS :
	                         !strcmp(tag, "psk") ? AUTH_PSK : AUTH_CERT;
	a->auth[a->nauth++].value = value;
	return true;
}

bool bind_args(const struct command_spec *cmd, const struct tokens *t, size_t first,
               struct args *a, struct diag *d)
{
	const char *names[MAX_PARAMS];
	memset(a, 0, sizeof(*a));
	a->cmd = cmd;
	for (size_t i = 0; i < cmd->nparams; i++)
		names[i] = cmd->params[i].tag;
	size_t next_positional = 0;
	for (size_t k = first; k < t->n; k++) {
		const struct token *tok = &t->t[k];
		int idx;
		if (tok->tag) {
			idx = match_word(tok->tag, names, cmd->nparams);
			if (idx < 0)
				return bad_tag(cmd, tok->tag, idx == -2, d);
		} else {
			/* Positional: the next parameter of the usage line not yet given. */
			while (next_positional < cmd->nparams &&
			       (a->v[next_positional] ||
			        (cmd->params[next_positional].flags & (PF_AUTH | PF_NAMED))))
				next_positional++;
			if (next_positional == cmd->nparams)
				return bad_tag(cmd, tok->value, false, d);
			idx = (int)next_positional;
		}
		if (cmd->params[idx].flags & PF_AUTH) {
			if (!put_auth(a, cmd->params[idx].tag, tok->value, d))
				return false;
		}
		a->v[idx] = tok->value;      /* a tag given twice: the last one wins */
	}
	for (size_t i = 0; i < cmd->nparams; i++)
		if ((cmd->params[i].flags & PF_REQUIRED) && !a->v[i])
			return diag_error(d, ERR_MISSING_TAG,
			                  "The required parameter '%s' was not specified.",
			                  cmd->params[i].tag);
	return true;
}

void print_usage(FILE *f, const struct command_spec *c)
{
	fprintf(f, "Usage: %s%s%s", c->verb, c->object ? " " : "", c->object ? c->object : "");
	for (size_t i = 0; i < c->nparams; i++) {
		const struct param_spec *p = &c->params[i];
		char inner[160];
		if (p->flags & (PF_AUTH | PF_NAMED))
			snprintf(inner, sizeof(inner), "%s = %s", p->tag, p->type);
		else
			snprintf(inner, sizeof(inner), "[ %s = ] %s", p->tag, p->type);
		fprintf(f, (p->flags & PF_REQUIRED) ? "\n       %s" : "\n       [ %s ]", inner);
	}
	fprintf(f, "\n\n%s\n", c->help);
}
