/*
 * The `cert` context (a project extension: Linux has no Windows machine
 * certificate store): `import`, `show` and `delete` on the directory of
 * src/crypto/cert.h. The commands run in the secpol process itself — the
 * store is files, not the daemon's state — and secpold reads the store
 * when a rule with rootca= negotiates. Private keys are never printed.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto/cert.h"
#include "netsh/internal.h"

#define N(p) (sizeof(p) / sizeof((p)[0]))

/* Store failures are 05040 like the policy store's; a file that cannot be
 * imported is 05042 like an import file; a name that matches nothing 05003. */
static enum ipsec_err err_code(enum cert_status st)
{
	switch (st) {
	case CERT_E_IO: return ERR_STORE;
	case CERT_E_NOT_FOUND: return ERR_BAD_VALUE;
	default: return ERR_IMPORT;
	}
}

static void utc_text(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "?");
}

static bool import_cert_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	const char *file = arg(a, "file"), *password = arg(a, "password");
	struct cert_err e;
	struct cert_store *s = cert_store_open(ns->certs_path, true, &e);
	if (!s)
		return diag_error(d, ERR_STORE, "The certificate store cannot be opened: %s.", e.msg);
	struct cert_import_result r;
	bool ok = cert_store_import_file(s, file, password, &r, &e);
	if (!ok) {
		diag_error(d, err_code(e.status), "Cannot import '%.200s': %s.", file, e.msg);
	} else {
		list_field(ns->out, "Certificate Store", "%s", cert_store_dir(s));
		list_field(ns->out, "Certificates Added", "%zu", r.certs);
		list_field(ns->out, "Private Keys Added", "%zu", r.keys);
		list_field(ns->out, "CRLs Added", "%zu", r.crls);
		list_field(ns->out, "Already In The Store", "%zu", r.present);
		if (r.host[0])
			list_field(ns->out, "Host Certificate", "%s", r.host);
	}
	cert_store_close(s);
	return ok;
}

static const char *chain_text(const struct cert_entry *en, char *buf, size_t len)
{
	if (en->chain == CERT_OK)
		snprintf(buf, len, "OK (root: %s)", en->chain_msg);
	else
		snprintf(buf, len, "FAILED (%s)", en->chain_msg);
	return buf;
}

static void show_list(FILE *f, const struct cert_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char from[40], to[40], chain[512];
		utc_text(v[i].not_before, from, sizeof(from));
		utc_text(v[i].not_after, to, sizeof(to));
		fputc('\n', f);
		list_field(f, "Subject", "%s", v[i].subject);
		list_field(f, "Issuer", "%s", v[i].issuer);
		list_field(f, "Fingerprint (SHA-256)", "%s", v[i].fingerprint);
		list_field(f, "Valid From", "%s", from);
		list_field(f, "Valid To", "%s", to);
		list_field(f, "Key Type", "%s", v[i].key_type);
		list_field(f, "Private Key", "%s", yesno(v[i].has_key));
		list_field(f, "CA", "%s", v[i].is_ca ? (v[i].self_signed ? "YES (root)" : "YES") : "NO");
		list_field(f, "Chain", "%s", chain_text(&v[i], chain, sizeof(chain)));
	}
}

static void show_table(FILE *f, const struct cert_entry *v, size_t n, bool wide)
{
	static const char *const head[] = { "Subject", "Key Type", "Key", "CA", "Valid To",
	                                    "Chain", "Fingerprint" };
	struct table *t = table_new(N(head), head);
	for (size_t i = 0; i < n; i++) {
		char to[40], fp[17];
		utc_text(v[i].not_after, to, sizeof(to));
		to[10] = '\0';                       /* the date is enough here */
		snprintf(fp, sizeof(fp), "%.16s", v[i].fingerprint);
		const char *row[] = { v[i].subject, v[i].key_type, yesno(v[i].has_key),
		                      yesno(v[i].is_ca), to, v[i].chain == CERT_OK ? "OK" : "FAILED",
		                      fp };
		table_row(t, row);
	}
	table_print(f, t, wide);
	table_free(t);
}

static void show_crls(FILE *f, const struct cert_crl_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char this_up[40], next_up[40];
		utc_text(v[i].this_update, this_up, sizeof(this_up));
		if (v[i].next_update)
			utc_text(v[i].next_update, next_up, sizeof(next_up));
		else
			snprintf(next_up, sizeof(next_up), "NONE");
		fputc('\n', f);
		list_field(f, "CRL Issuer", "%s", v[i].issuer);
		list_field(f, "Fingerprint (SHA-256)", "%s", v[i].fingerprint);
		list_field(f, "This Update", "%s", this_up);
		list_field(f, "Next Update", "%s", next_up);
		list_field(f, "Revoked Certificates", "%zu", v[i].revoked);
		list_field(f, "Issuer In Store", "%s", yesno(v[i].issuer_known));
	}
}

static bool show_cert_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	static const char *const formats[] = { "list", "table" };
	const char *v;
	bool table = false, wide = true;
	if ((v = arg(a, "format"))) {
		int i = match_word(v, formats, 2);
		if (i < 0)
			return diag_bad_value(d, "format", v, "list, table");
		table = i == 1;
	}
	if ((v = arg(a, "wide")) && !policy_parse_bool("wide", v, &wide, d))
		return false;
	struct cert_err e;
	struct cert_store *s = cert_store_open(ns->certs_path, false, &e);
	if (!s)
		return diag_error(d, ERR_STORE, "The certificate store cannot be read: %s.", e.msg);
	struct cert_entry *certs = NULL;
	struct cert_crl_entry *crls = NULL;
	size_t ncerts = 0, ncrls = 0;
	bool ok = cert_store_list(s, 0, &certs, &ncerts, &e) &&
	          cert_store_list_crls(s, &crls, &ncrls, &e);
	if (!ok) {
		diag_error(d, ERR_STORE, "The certificate store cannot be read: %s.", e.msg);
	} else {
		if (cert_store_warning(s)[0])
			diag_warn(d, "Certificate store: %s.", cert_store_warning(s));
		list_header(ns->out, "Certificate Store");
		list_field(ns->out, "Path", "%s", cert_store_dir(s));
		list_field(ns->out, "Certificates", "%zu", ncerts);
		list_field(ns->out, "CRLs", "%zu", ncrls);
		if (table && ncerts) {
			fputc('\n', ns->out);
			show_table(ns->out, certs, ncerts, wide);
		} else {
			show_list(ns->out, certs, ncerts);
		}
		show_crls(ns->out, crls, ncrls);
	}
	free(certs);
	free(crls);
	cert_store_close(s);
	return ok;
}

static bool delete_cert_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	const char *subject = arg(a, "subject"), *fp = arg(a, "fingerprint");
	if (!subject == !fp)
		return diag_error(d, subject ? ERR_BAD_TAG : ERR_MISSING_TAG, "Give either 'subject' "
		                  "or 'fingerprint' (one of them).");
	struct cert_err e;
	struct cert_store *s = cert_store_open(ns->certs_path, false, &e);
	if (!s)
		return diag_error(d, ERR_STORE, "The certificate store cannot be opened: %s.", e.msg);
	size_t deleted = 0;
	bool ok = cert_store_delete(s, subject, fp, &deleted, &e);
	if (ok)
		fprintf(ns->out, "Deleted %zu %s.\n", deleted, deleted == 1 ? "entry" : "entries");
	else
		diag_error(d, err_code(e.status), "%s.", e.msg);
	cert_store_close(s);
	return ok;
}

static const struct param_spec p_import[] = {
	{ "file", PF_REQUIRED, "<PEM, DER or PKCS#12 file>" },
	{ "password", PF_NAMED, "<password of the key or PKCS#12 file>" },
};
static const struct param_spec p_show[] = {
	{ "format", 0, "list|table" },
	{ "wide", 0, "yes|no" },
};
static const struct param_spec p_delete[] = {
	{ "subject", PF_NAMED, "<DN, e.g. \"CN=host1, O=Example\">" },
	{ "fingerprint", PF_NAMED, "<SHA-256 fingerprint, or 8+ leading hex digits>" },
};

static const struct command_spec cert_commands[] = {
	{ "import", NULL, p_import, N(p_import), import_cert_run, CMD_NONE,
	  "Imports a host certificate with its private key, CA certificates or a CRL." },
	{ "show", NULL, p_show, N(p_show), show_cert_run, CMD_NONE,
	  "Shows the certificates and CRLs of the machine certificate store." },
	{ "delete", NULL, p_delete, N(p_delete), delete_cert_run, CMD_NONE,
	  "Deletes certificates (with their keys) by subject, or one entry by fingerprint." },
};

void list_cert_commands(FILE *f)
{
	fprintf(f, "\nCommands in the `ipsec cert' context (the machine certificate store):\n");
	for (size_t i = 0; i < N(cert_commands); i++)
		fprintf(f, "%-16s - %s\n", cert_commands[i].verb, cert_commands[i].help);
	fputc('\n', f);
}

bool cert_run(struct netsh_session *ns, const struct tokens *t, size_t first,
              const struct command_spec **cmd, struct diag *d)
{
	static const char *const verbs[] = { "import", "show", "delete" };
	const char *w = t->t[first].value;
	if (t->t[first].tag)
		return diag_error(d, ERR_UNKNOWN_COMMAND, "The following command was not found: "
		                  "%.100s=%.100s.", t->t[first].tag, w);
	int v = match_word(w, verbs, N(verbs));
	if (v < 0) {
		const char *near = closest_word(w, verbs, N(verbs));
		return diag_error(d, ERR_UNKNOWN_COMMAND, "The following command was not found: "
		                  "%.100s.%s%s%s", w, near ? " Did you mean '" : "", near ? near : "",
		                  near ? "'?" : "");
	}
	const struct command_spec *c = &cert_commands[v];
	*cmd = c;
	if (first + 1 < t->n && !t->t[first + 1].tag &&
	    (!strcmp(t->t[first + 1].value, "?") || !strcasecmp(t->t[first + 1].value, "help"))) {
		print_usage(ns->out, c);
		return true;
	}
	return run_command(ns, c, t, first + 1, d);
}
