/*
 * netsh — the `netsh ipsec` command language: one command from argv, a script
 * (`secpol -f`), or an interactive shell with contexts, over the policy store.
 */
#ifndef SECPOL_NETSH_H
#define SECPOL_NETSH_H

#include <stdbool.h>
#include <stdio.h>

#include "policy/policy.h"

struct store;
struct child_sa_config;
struct netsh_session;

/*
 * The running service as the dynamic context sees it. In secpold these act
 * on the data path; the secpol CLI has none and forwards dynamic commands
 * to secpold instead (netsh_session.forward). Output goes to `out`; a
 * failure fills d.
 */
struct netsh_dynamic {
	void *ctx;
	bool (*add_sa)(void *ctx, const struct child_sa_config *c, bool direction_given,
	               struct diag *d);
	/* all: every SA; else the one (spi, dst, proto). */
	bool (*delete_sa)(void *ctx, bool all, uint32_t spi, const struct ip_address *dst,
	                  uint8_t proto, struct diag *d);
	void (*show_sa)(void *ctx, FILE *out);
	/* type: "all", "ike" or "ipsec". */
	void (*show_stats)(void *ctx, FILE *out, const char *type);
	/* what: "mmsas" (IKE SAs and their Child SAs) or "failures". */
	void (*show_ike)(void *ctx, FILE *out, const char *what);
};

/* Sends one dynamic command line to the service; its output is printed on
 * the session's streams. False: it failed (d says why when the service
 * could not be reached; the service's own errors are already printed). */
typedef bool (*netsh_forward)(struct netsh_session *ns, const char *line, struct diag *d);

/* Resolves a DNS name to at most max addresses (the command fails on 0). */
typedef size_t (*netsh_resolver)(const char *name, struct ip_address *out, size_t max);

enum netsh_location { LOCATION_LOCAL, LOCATION_PERSISTENT };

struct netsh_session {
	const char *store_path;      /* the local store */
	const char *certs_path;      /* the certificate store; NULL: $SECPOL_CERTS or default */
	struct store *store;         /* the current store, opened on first use */
	enum netsh_location location;
	bool batch;                  /* set batch mode=enable: one transaction */
	bool import_mode;            /* importpolicy: same-named objects are replaced */
	FILE *out, *err;
	netsh_resolver resolve;      /* getaddrinfo by default; fuzzers stub it */
	char context[32];            /* "", "ipsec", "ipsec static", "ipsec dynamic", "ipsec cert" */
	const char *script;          /* name of the script being run, for messages */
	unsigned line;               /* its current line */
	unsigned errors;             /* commands that failed in this session */
	bool quit;                   /* exit/quit/bye */
	bool interactive;            /* prompt-driven: enter contexts on bare words */
	char pushed[8][32];          /* pushd/popd stack of contexts */
	size_t npushed;
	const struct netsh_dynamic *dynamic;  /* secpold: runs dynamic commands */
	netsh_forward forward;       /* secpol: sends them to secpold */
	void *forward_ctx;
};

void netsh_session_init(struct netsh_session *ns, const char *store_path, FILE *out,
                        FILE *err);
/* Commits a pending batch and closes the store. Returns false if the commit failed. */
bool netsh_session_finish(struct netsh_session *ns);

/* Runs one command line in the session's context; false if it failed. */
bool netsh_exec_line(struct netsh_session *ns, const char *line);
/* secpold: runs one line of the dynamic context only (no context words). */
bool netsh_exec_dynamic(struct netsh_session *ns, const char *line);
/* Runs argv words as one command (quoting is the shell's: each word is a token). */
bool netsh_exec_argv(struct netsh_session *ns, int argc, char **argv);
/* Runs a script; every line runs unless stop_on_error. Returns the failed-line count. */
unsigned netsh_run_script(struct netsh_session *ns, FILE *in, const char *name,
                          bool stop_on_error);
/* The interactive shell (libedit on a terminal, plain lines otherwise). */
void netsh_interactive(struct netsh_session *ns);

/* `secpol dump`: the script of static commands that rebuilds the store. */
bool netsh_dump(struct netsh_session *ns, FILE *out);

size_t netsh_resolve_getaddrinfo(const char *name, struct ip_address *out, size_t max);

#endif
