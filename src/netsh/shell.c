/*
 * The netsh shell: contexts (ipsec, static, dynamic, `..`, pushd/popd),
 * command lookup by unique prefix, the transaction around each command,
 * error reporting (netsh-ipsec.md §7), scripts and the interactive prompt.
 */
#include "netsh/internal.h"

#include <ctype.h>
#include <editline/readline.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

void netsh_session_init(struct netsh_session *ns, const char *store_path, FILE *out,
                        FILE *err)
{
	memset(ns, 0, sizeof(*ns));
	ns->store_path = store_path;
	ns->out = out;
	ns->err = err;
	ns->resolve = netsh_resolve_getaddrinfo;
}

bool netsh_session_finish(struct netsh_session *ns)
{
	bool ok = true;
	if (ns->store && store_in_transaction(ns->store)) {
		struct diag d;
		diag_init(&d);
		ok = store_commit(ns->store, &d);
		if (!ok)
			fprintf(ns->err, "ERR IPsec[%05d] : %s\n", d.code, d.msg);
		else if (ns->store_changed)
			ns->store_changed(ns);
	}
	store_close(ns->store);
	ns->store = NULL;
	ns->batch = false;
	return ok;
}

size_t netsh_resolve_getaddrinfo(const char *name, struct ip_address *out, size_t max)
{
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return 0;
	size_t n = 0;
	for (struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next) {
		struct ip_address ip;
		memset(&ip, 0, sizeof(ip));
		if (ai->ai_family == AF_INET) {
			ip.family = AF_INET;
			memcpy(ip.bytes, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
		} else if (ai->ai_family == AF_INET6) {
			ip.family = AF_INET6;
			memcpy(ip.bytes, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		bool dup = false;
		for (size_t i = 0; i < n; i++)
			dup = dup || !memcmp(&out[i], &ip, sizeof(ip));
		if (!dup)
			out[n++] = ip;
	}
	freeaddrinfo(res);
	return n;
}

bool session_store(struct netsh_session *ns, struct diag *d)
{
	if (ns->store)
		return true;
	const char *path = ns->store_path;
	char persistent[4096];
	if (ns->location == LOCATION_PERSISTENT) {
		/* The persistent store is a sibling file of the local one. */
		size_t n = strlen(path);
		if (n > 3 && strcmp(path + n - 3, ".db") == 0)
			snprintf(persistent, sizeof(persistent), "%.*s-persistent.db", (int)(n - 3), path);
		else
			snprintf(persistent, sizeof(persistent), "%s-persistent", path);
		path = persistent;
	}
	ns->store = store_open(path, d);
	if (ns->store && ns->batch)
		return store_begin(ns->store, d);
	return ns->store != NULL;
}

/* ---- command lookup ---------------------------------------------------------------------- */

static const char *const verbs[] = { "add", "delete", "exportpolicy", "importpolicy", "set",
                                     "show" };
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static bool is_help(const char *w)
{
	return !strcmp(w, "?") || !strcasecmp(w, "help") || !strcmp(w, "/?") || !strcmp(w, "-?");
}

static void list_static_commands(FILE *f, const char *verb)
{
	fprintf(f, "\nCommands in this context:\n");
	for (size_t i = 0; i < static_command_count; i++) {
		const struct command_spec *c = &static_commands[i];
		if (verb && strcmp(c->verb, verb) != 0)
			continue;
		char name[48];
		snprintf(name, sizeof(name), "%s%s%s", c->verb, c->object ? " " : "",
		         c->object ? c->object : "");
		/* A help's first line is its summary; the rest is for `cmd ?`. */
		fprintf(f, "%-26s - %.*s\n", name, (int)strcspn(c->help, "\n"), c->help);
	}
	if (!verb)
		fprintf(f, "%-26s - %s\n%-26s - %s\n%-26s - %s\n", "..",
		        "Goes up one context level.", "dump", "Prints a script that rebuilds the store.",
		        "help", "Displays a list of commands.");
	fputc('\n', f);
}

static void list_root_commands(FILE *f, const char *ctx)
{
	fprintf(f, "\nCommands in this context:\n");
	if (ctx[0] == '\0')
		fprintf(f, "%-26s - %s\n", "ipsec", "Changes to the `ipsec' context.");
	fprintf(f, "%-26s - %s\n%-26s - %s\n%-26s - %s\n%-26s - %s\n%-26s - %s\n%-26s - %s\n",
	        "static", "Changes to the `ipsec static' context (the policy store).",
	        "dynamic", "Changes to the `ipsec dynamic' context (the running service).",
	        "cert", "Changes to the `ipsec cert' context (the machine certificate store).",
	        "dump", "Prints a script that rebuilds the policy store.",
	        "help", "Displays a list of commands.",
	        "exit", "Leaves the shell.");
	fputc('\n', f);
}

static const struct command_spec *find_static(const struct tokens *t, size_t *first,
                                              bool *help, struct diag *d)
{
	const char *w = t->t[*first].value;
	int v = match_word(w, verbs, NVERBS);
	if (v < 0) {
		const char *near = closest_word(w, verbs, NVERBS);
		return diag_error(d, ERR_UNKNOWN_COMMAND, "The following command was not found: "
		                  "%.100s.%s%s%s", w, near ? " Did you mean '" : "",
		                  near ? near : "", near ? "'?" : ""), NULL;
	}
	const char *verb = verbs[v];
	(*first)++;
	const char *objects[32];
	const struct command_spec *cands[32];
	size_t n = 0;
	for (size_t i = 0; i < static_command_count && n < 32; i++)
		if (!strcmp(static_commands[i].verb, verb)) {
			cands[n] = &static_commands[i];
			objects[n++] = static_commands[i].object ? static_commands[i].object : "";
		}
	if (n == 1 && objects[0][0] == '\0') {
		if (*first < t->n && !t->t[*first].tag && is_help(t->t[*first].value))
			*help = true;
		return cands[0];
	}
	if (*first >= t->n || t->t[*first].tag || is_help(t->t[*first].value)) {
		*help = true;        /* "add" or "add ?": list the add commands */
		return NULL;
	}
	w = t->t[*first].value;
	int o = match_word(w, objects, n);
	if (o < 0) {
		const char *near = closest_word(w, objects, n);
		return diag_error(d, ERR_UNKNOWN_COMMAND, "The following command was not found: "
		                  "%s %.100s.%s%s%s", verb, w, near ? " Did you mean '" : "",
		                  near ? near : "", near ? "'?" : ""), NULL;
	}
	(*first)++;
	if (*first < t->n && !t->t[*first].tag && is_help(t->t[*first].value))
		*help = true;
	return cands[o];
}

/* ---- executing one command ------------------------------------------------------------- */

enum ctx { CTX_ROOT, CTX_IPSEC, CTX_STATIC, CTX_DYNAMIC, CTX_CERT };

static enum ctx ctx_of(const char *s)
{
	return !strcmp(s, "ipsec static") ? CTX_STATIC : !strcmp(s, "ipsec dynamic") ? CTX_DYNAMIC
	     : !strcmp(s, "ipsec cert") ? CTX_CERT : !strcmp(s, "ipsec") ? CTX_IPSEC : CTX_ROOT;
}

static const char *ctx_name(enum ctx c)
{
	static const char *const names[] = { "", "ipsec", "ipsec static", "ipsec dynamic",
	                                     "ipsec cert" };
	return names[c];
}

struct outcome {
	const struct command_spec *cmd;  /* for usage after a syntax error */
};

bool run_command(struct netsh_session *ns, const struct command_spec *c,
                 const struct tokens *t, size_t first, struct diag *d)
{
	struct args a;
	if (!bind_args(c, t, first, &a, d))
		return false;
	if (c->access == CMD_NONE) {
		bool was_batch = ns->batch;
		if (!c->run(ns, &a, d))
			return false;
		/* set batch: open or commit the session's long transaction. */
		if (!was_batch && ns->batch && ns->store && !store_in_transaction(ns->store))
			return store_begin(ns->store, d);
		if (was_batch && !ns->batch && ns->store && store_in_transaction(ns->store)) {
			if (!store_commit(ns->store, d))
				return false;
			if (ns->store_changed)
				ns->store_changed(ns);
		}
		return true;
	}
	if (!session_store(ns, d))
		return false;
	bool outer = !store_in_transaction(ns->store);
	if (outer && !(c->access == CMD_WRITE ? store_begin(ns->store, d)
	                                      : store_begin_read(ns->store, d)))
		return false;
	if (!store_savepoint(ns->store, d)) {
		if (outer)
			store_rollback(ns->store);
		return false;
	}
	bool ok = c->run(ns, &a, d);
	if (ok)
		store_savepoint_release(ns->store);
	else
		store_savepoint_rollback(ns->store);
	if (outer) {
		if (ok)
			ok = store_commit(ns->store, d);
		else
			store_rollback(ns->store);
		if (ok && c->access == CMD_WRITE && ns->store_changed)
			ns->store_changed(ns);
	}
	return ok;
}

static bool run_tokens(struct netsh_session *ns, const struct tokens *t, struct outcome *oc,
                       struct diag *d, bool import_only)
{
	enum ctx ctx = import_only ? CTX_STATIC : ctx_of(ns->context);
	size_t i = 0;
	if (t->n == 0)
		return true;
	/* Leading context words: "netsh ipsec static add ...", "static show ...". */
	for (; i < t->n && !t->t[i].tag && !import_only; i++) {
		const char *w = t->t[i].value;
		if (!strcasecmp(w, "netsh") && ctx == CTX_ROOT)
			continue;
		if (!strcasecmp(w, "ipsec") && ctx == CTX_ROOT)
			ctx = CTX_IPSEC;
		else if (!strcasecmp(w, "static") && ctx <= CTX_IPSEC)
			ctx = CTX_STATIC;
		else if (!strcasecmp(w, "dynamic") && ctx <= CTX_IPSEC)
			ctx = CTX_DYNAMIC;
		else if (!strcasecmp(w, "cert") && ctx <= CTX_IPSEC)
			ctx = CTX_CERT;
		else if (!strcmp(w, "..") && i + 1 == t->n)
			ctx = ctx >= CTX_STATIC ? CTX_IPSEC : CTX_ROOT;
		else
			break;
	}
	if (i == t->n) {
		/* Only context words: the line changes the context (interactive). */
		snprintf(ns->context, sizeof(ns->context), "%s", ctx_name(ctx));
		return true;
	}
	const char *w = t->t[i].value;
	if (t->t[i].tag)
		return diag_error(d, ERR_UNKNOWN_COMMAND, "The following command was not found: "
		                  "%.100s=%.100s.", t->t[i].tag, w);
	if (!import_only) {
		if (!strcasecmp(w, "exit") || !strcasecmp(w, "quit") || !strcasecmp(w, "bye")) {
			ns->quit = true;
			return true;
		}
		if (!strcasecmp(w, "pushd") || !strcasecmp(w, "popd")) {
			if (!strcasecmp(w, "popd")) {
				if (ns->npushed)
					snprintf(ns->context, sizeof(ns->context), "%s", ns->pushed[--ns->npushed]);
				return true;
			}
			if (ns->npushed < 8)
				snprintf(ns->pushed[ns->npushed++], sizeof(ns->pushed[0]), "%s", ns->context);
			struct tokens rest = *t;
			memmove(rest.t, rest.t + i + 1, (rest.n - i - 1) * sizeof(rest.t[0]));
			rest.n -= i + 1;
			return run_tokens(ns, &rest, oc, d, false);
		}
		if (!strcasecmp(w, "dump") && ctx != CTX_DYNAMIC && ctx != CTX_CERT) {
			static const struct command_spec dump_cmd = { "dump", NULL, NULL, 0, dump_run,
			                                              CMD_READ, "" };
			oc->cmd = &dump_cmd;
			return run_command(ns, &dump_cmd, t, i + 1, d);
		}
		if (is_help(w) && ctx == CTX_DYNAMIC) {
			list_dynamic_commands(ns->out);
			return true;
		}
		if (is_help(w) && ctx == CTX_CERT) {
			list_cert_commands(ns->out);
			return true;
		}
		if (is_help(w) && ctx != CTX_STATIC) {
			list_root_commands(ns->out, ns->context);
			return true;
		}
		if (ctx == CTX_DYNAMIC)
			return dynamic_run(ns, t, i, &oc->cmd, d);
		if (ctx == CTX_CERT)
			return cert_run(ns, t, i, &oc->cmd, d);
		if (is_help(w)) {
			list_static_commands(ns->out, NULL);
			return true;
		}
	}
	/* Bare static verbs are accepted outside the static context too. */
	bool help = false;
	const struct command_spec *c = find_static(t, &i, &help, d);
	if (diag_failed(d))
		return false;
	if (help) {
		if (c)
			print_usage(ns->out, c);
		else
			list_static_commands(ns->out, verbs[match_word(t->t[i - 1].value, verbs, NVERBS)]);
		return true;
	}
	oc->cmd = c;
	/* An import file may only create and change objects: no store switch,
	 * no batch, no file access, no nested import. */
	if (import_only && (c->access != CMD_WRITE || c->run == import_run ||
	                    !strcmp(c->verb, "show")))
		return diag_error(d, ERR_IMPORT, "'%s%s%s' is not allowed in an import file.",
		                  c->verb, c->object ? " " : "", c->object ? c->object : "");
	return run_command(ns, c, t, i, d);
}

static void report(struct netsh_session *ns, const struct diag *d, const struct outcome *oc)
{
	char where[512] = "";
	if (ns->script)
		snprintf(where, sizeof(where), "%s:%u: ", ns->script, ns->line);
	for (size_t i = 0; i < d->nwarn; i++)
		fprintf(ns->err, "%sWarning: %s\n", where, d->warn[i]);
	if (!diag_failed(d))
		return;
	fprintf(ns->err, "%sERR IPsec[%05d] : %s\n", where, d->code, d->msg);
	if (oc->cmd && oc->cmd->params && (d->code == ERR_BAD_TAG || d->code == ERR_MISSING_TAG))
		print_usage(ns->err, oc->cmd);
}

static bool exec_tokens(struct netsh_session *ns, struct tokens *t, bool lexed,
                        struct diag *d)
{
	struct outcome oc = { NULL };
	bool ok = lexed && run_tokens(ns, t, &oc, d, false);
	tokens_free(t);
	report(ns, d, &oc);
	if (!ok)
		ns->errors++;
	return ok;
}

bool netsh_exec_line(struct netsh_session *ns, const char *line)
{
	struct tokens t;
	struct diag d;
	diag_init(&d);
	bool lexed = lex_line(line, &t, &d);
	return exec_tokens(ns, &t, lexed, &d);
}

bool netsh_exec_dynamic(struct netsh_session *ns, const char *line)
{
	struct tokens t;
	struct diag d;
	struct outcome oc = { NULL };
	diag_init(&d);
	bool ok = lex_line(line, &t, &d) && t.n > 0 && dynamic_run(ns, &t, 0, &oc.cmd, &d);
	if (ok || diag_failed(&d))
		report(ns, &d, &oc);
	else if (t.n == 0)
		fprintf(ns->err, "ERR IPsec[%05d] : An empty command.\n", ERR_UNKNOWN_COMMAND);
	tokens_free(&t);
	if (!ok)
		ns->errors++;
	return ok;
}

bool netsh_run_import_line(struct netsh_session *ns, const char *line, struct diag *d)
{
	struct tokens t;
	struct outcome oc = { NULL };
	bool ok = lex_line(line, &t, d) && run_tokens(ns, &t, &oc, d, true);
	tokens_free(&t);
	return ok;
}

bool netsh_exec_argv(struct netsh_session *ns, int argc, char **argv)
{
	/* The shell has already split and unquoted the words: each one is a
	 * token, `tag=value` split at its first '='. */
	struct tokens t;
	struct diag d;
	diag_init(&d);
	memset(&t, 0, sizeof(t));
	bool ok = argc <= MAX_TOKENS;
	if (!ok)
		diag_error(&d, ERR_BAD_TAG, "Too many parameters. Allowed: at most %d.", MAX_TOKENS);
	size_t total = 0;
	for (int i = 0; ok && i < argc; i++)
		total += strlen(argv[i]) + 1;
	t.buflen = total + 1;
	t.buf = ok ? malloc(t.buflen) : NULL;
	char *o = t.buf;
	for (int i = 0; o && i < argc; i++) {
		size_t n = strlen(argv[i]);
		memcpy(o, argv[i], n + 1);
		char *eq = strchr(o, '=');
		/* A word that starts with a quote or has no '=' is a positional value. */
		if (eq && eq != o) {
			*eq = '\0';
			t.t[t.n].tag = o;
			t.t[t.n].value = eq + 1;
		} else {
			t.t[t.n].value = o;
		}
		t.n++;
		o += n + 1;
	}
	return exec_tokens(ns, &t, ok && t.buf, &d);
}

/* ---- scripts and the interactive shell ------------------------------------------------------- */

static bool is_comment(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '#' || *s == ';' || *s == '\0')
		return true;
	if (!strncasecmp(s, "rem", 3) && (s[3] == '\0' || isspace((unsigned char)s[3])))
		return true;
	return !strncasecmp(s, "@echo", 5);
}

unsigned netsh_run_script(struct netsh_session *ns, FILE *in, const char *name,
                          bool stop_on_error)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned failed = 0;
	ns->script = name;
	ns->line = 0;
	while (!ns->quit && (n = getline(&line, &cap, in)) >= 0) {
		ns->line++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		/* Scripts saved by Windows editors start with a UTF-8 byte order mark. */
		char *l = line;
		if (ns->line == 1 && !strncmp(l, "\xEF\xBB\xBF", 3))
			l += 3;
		if (is_comment(l))
			continue;
		if (!netsh_exec_line(ns, l)) {
			failed++;
			if (stop_on_error)
				break;
		}
	}
	if (line)
		explicit_bzero(line, cap);
	free(line);
	ns->script = NULL;
	return failed;
}

void netsh_interactive(struct netsh_session *ns)
{
	bool tty = isatty(0) && isatty(1);
	char prompt[64];
	char *line = NULL;
	size_t cap = 0;
	ns->interactive = true;
	if (tty)
		using_history();
	while (!ns->quit) {
		snprintf(prompt, sizeof(prompt), "%s> ", ns->context[0] ? ns->context : "secpol");
		char *l;
		if (tty) {
			l = readline(prompt);
			if (!l)
				break;
			if (*l)
				add_history(l);
		} else {
			fputs(prompt, ns->out);
			fflush(ns->out);
			ssize_t n = getline(&line, &cap, stdin);
			if (n < 0)
				break;
			while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
				line[--n] = '\0';
			l = line;
		}
		if (!is_comment(l))
			netsh_exec_line(ns, l);
		fflush(ns->out);
		if (tty)
			free(l);
	}
	if (!tty)
		fputc('\n', ns->out);
	free(line);
}
