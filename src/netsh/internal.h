/* Private to netsh: the lexer, the command table and the shared helpers. */
#ifndef SECPOL_NETSH_INTERNAL_H
#define SECPOL_NETSH_INTERNAL_H

#include "monitor/names.h"
#include "monitor/table.h"
#include "netsh/netsh.h"
#include "store/store.h"

/* ---- lexer ---- */
struct token {
	const char *tag;             /* NULL for a positional value */
	const char *value;
};
#define MAX_TOKENS 96
struct tokens {
	struct token t[MAX_TOKENS];
	size_t n;
	char *buf;                   /* owns the strings */
	size_t buflen;
};
bool lex_line(const char *line, struct tokens *out, struct diag *d);
void tokens_free(struct tokens *t);

/* ---- command table ---- */
enum {
	PF_REQUIRED = 1,             /* must be given */
	PF_AUTH = 2,                 /* kerberos/psk/rootca: collected in order */
	PF_NAMED = 4,                /* never bound positionally */
};
struct param_spec {
	const char *tag;
	unsigned flags;
	const char *type;            /* for usage: "<string>", "yes|no", ... */
};
#define MAX_PARAMS 20
#define MAX_AUTH_ARGS 16
struct args {
	const struct command_spec *cmd;
	const char *v[MAX_PARAMS];
	struct {
		enum auth_kind kind;
		const char *value;
	} auth[MAX_AUTH_ARGS];
	size_t nauth;
};
enum cmd_access { CMD_READ, CMD_WRITE, CMD_NONE };
struct command_spec {
	const char *verb, *object;   /* object NULL for one-word commands */
	const struct param_spec *params;
	size_t nparams;
	bool (*run)(struct netsh_session *ns, const struct args *a, struct diag *d);
	enum cmd_access access;
	const char *help;
};
extern const struct command_spec static_commands[];
extern const size_t static_command_count;

/* Binds tokens[first..] to cmd's parameters. */
bool bind_args(const struct command_spec *cmd, const struct tokens *t, size_t first,
               struct args *a, struct diag *d);
const char *arg(const struct args *a, const char *tag);
/* Unique-prefix match of word among n names; -1 unknown, -2 ambiguous. */
int match_word(const char *word, const char *const *names, size_t n);
const char *closest_word(const char *word, const char *const *names, size_t n);
void print_usage(FILE *f, const struct command_spec *c);

/* Binds t[first..] to c and runs it, inside a store transaction unless
 * c->access is CMD_NONE (then the handler owns any store access). */
bool run_command(struct netsh_session *ns, const struct command_spec *c,
                 const struct tokens *t, size_t first, struct diag *d);

/* The dynamic context (dynamic_cmds.c): runs the command at t[first..],
 * locally through ns->dynamic or forwarded through ns->forward. */
bool dynamic_run(struct netsh_session *ns, const struct tokens *t, size_t first,
                 const struct command_spec **cmd, struct diag *d);
void list_dynamic_commands(FILE *f);
/* The dynamic SPD's commands (dynamic_spd.c): mmpolicy, qmpolicy, rule,
 * the filter views, delete all, show all, delete mmsas/qmsas. */
extern const struct command_spec dynamic_spd_commands[];
extern const size_t dynamic_spd_command_count;
/* `show config` (dynamic_cmds.c), also part of `show all`. */
struct json;
void show_config_text(struct netsh_session *ns);
void show_config_json(struct netsh_session *ns, struct json *j);

/* The cert context (cert_cmds.c): the machine certificate store, in-process. */
bool cert_run(struct netsh_session *ns, const struct tokens *t, size_t first,
              const struct command_spec **cmd, struct diag *d);
void list_cert_commands(FILE *f);

/* ---- handlers shared between files ---- */
bool show_run(struct netsh_session *ns, const struct args *a, struct diag *d);
bool dump_run(struct netsh_session *ns, const struct args *a, struct diag *d);
/* `dynamic show events` (event_show.c). */
bool show_events_run(struct netsh_session *ns, const struct args *a, struct diag *d);
bool export_run(struct netsh_session *ns, const struct args *a, struct diag *d);
bool import_run(struct netsh_session *ns, const struct args *a, struct diag *d);
/* Runs one line of an import file: static commands that add, set or delete only. */
bool netsh_run_import_line(struct netsh_session *ns, const char *line, struct diag *d);
/* Opens the current store if needed. */
bool session_store(struct netsh_session *ns, struct diag *d);
void format_time(int64_t t, char *buf, size_t len);

/* ---- list output (netsh-ipsec.md §5.1; tables: monitor/table.h) ---- */
#define LIST_LABEL_WIDTH 23
void list_field(FILE *f, const char *label, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void list_header(FILE *f, const char *title);
/* A filter's address as shows print it; names (resolvedns=yes, else NULL):
 * a single host's DNS name is added in brackets when it is known within the
 * show's budget (monitor/names.h; show.c). */
void netsh_address_text(const struct filter_addr *a, const struct mon_names_request *names,
                        char *buf, size_t len);
/* resolvedns=yes: asks for a single host's name ahead of printing it. */
void netsh_address_ask(const struct filter_addr *a);
/* A show's format= tag: absent, list (0), table (1), json (2); false (d
 * filled) when it names none of them (dynamic_cmds.c). */
bool show_format(const struct args *a, int *out, struct diag *d);
/* The offers of a quick-mode and of a main-mode list as tables (show.c). */
void qm_offers_table(FILE *f, const struct qm_methods *q, bool wide);
void mm_offers_table(FILE *f, const struct mm_methods *mm, bool wide);
const char *yesno(bool b);
const char *none_if_empty(const char *s);

#endif
