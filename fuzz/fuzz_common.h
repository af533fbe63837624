/*
 * Shared harness code for the secpol libFuzzer targets: a per-process
 * temporary directory holding the policy store, a cheap per-input reset of
 * that store, a session wired to /dev/null with resolvers (forward, and
 * reverse for resolvedns=yes) that never touch the network, and the guard
 * that keeps fuzzed commands from naming files.
 */
#ifndef SECPOL_FUZZ_COMMON_H
#define SECPOL_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netsh/netsh.h"

/* The process's temporary directory (no trailing '/'), set by fuzz_setup(). */
extern char fuzz_dir[];
/* <fuzz_dir>/p.db: the local store of the session. */
extern char fuzz_store_path[];
/* <fuzz_dir>/certs: the certificate store of the session (made on first use). */
extern char fuzz_certs_path[];

/* Creates the temporary directory and a pristine store in it (once). */
void fuzz_setup(void);
/* Puts the store files back to the pristine state (the session must be finished). */
void fuzz_reset_store(void);
/* A fresh session over fuzz_store_path, output to /dev/null, no DNS. */
void fuzz_session(struct netsh_session *ns);
/* Resolves only names under ".example" to fixed documentation addresses. */
size_t fuzz_resolve(const char *name, struct ip_address *out, size_t max);
/* True if a line, as the netsh lexer splits it, could run exportpolicy or
 * importpolicy (a bare word that abbreviates either verb), or does not lex. */
bool fuzz_line_names_file_verb(const char *line);

#endif
