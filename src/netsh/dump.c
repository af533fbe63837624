/*
 * `dump` (netsh-ipsec.md §6), `exportpolicy` and `importpolicy` (§3.8).
 *
 * The dump is a script of static commands in which every value is written
 * with its tag and in quotes, so that running it into an empty store and
 * dumping again gives the same text. The export file is that script's body
 * behind a versioned header and a SHA-256 of the body: import refuses a file
 * from a newer format or one whose body does not match, before it changes
 * anything, and then runs the body as one transaction.
 */
#include "netsh/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXPORT_MAGIC "# ipsec-policy-export v"
#define EXPORT_VERSION 1

static void dump_address(FILE *f, const char *tag, const char *masktag,
                         const struct filter_addr *a)
{
	char buf[128];
	if (a->kind == ADDR_HOST_OR_SUBNET) {
		policy_format_ip(&a->ip, buf, sizeof(buf));
		fprintf(f, " %s=%s %s=%u", tag, buf, masktag, a->prefix);
	} else {
		policy_format_address(a, buf, sizeof(buf));
		fprintf(f, " %s=%s", tag, buf);
	}
}

static void dump_auth(FILE *f, const struct auth_methods *am)
{
	for (size_t i = 0; i < am->n; i++) {
		const struct auth_method *m = &am->m[i];
		if (m->kind == AUTH_KERBEROS) {
			fprintf(f, " kerberos=yes");
		} else if (m->kind == AUTH_PSK) {
			fprintf(f, " psk=\"%s\"", m->value);
		} else {
			fprintf(f, " rootca=\"");
			for (const char *s = m->value; *s; s++)
				fputs(*s == '"' ? "\\'" : (char[]){ *s, 0 }, f);
			fprintf(f, " certmap:%s excludecaname:%s\"", m->certmap ? "yes" : "no",
			        m->excludecaname ? "yes" : "no");
		}
	}
	if (am->n == 0)
		fprintf(f, " kerberos=no");
}

static const char *yn(bool b)
{
	return b ? "yes" : "no";
}

/* The commands that rebuild the store, without the session lines around them. */
static bool dump_body(struct netsh_session *ns, FILE *f, struct diag *d)
{
	struct filter_list *fl = NULL;
	struct filter_action *fa = NULL;
	struct policy *p = NULL;
	size_t nfl = 0, nfa = 0, np = 0;
	char buf[2048];
	bool ok = store_filterlists_load(ns->store, &fl, &nfl, d) &&
	          store_filteractions_load(ns->store, &fa, &nfa, d) &&
	          store_policies_load(ns->store, &p, &np, d);
	if (!ok)
		goto out;
	for (size_t i = 0; i < nfl; i++)
		fprintf(f, "add filterlist name=\"%s\" description=\"%s\" guid=%s\n", fl[i].name,
		        fl[i].description, fl[i].guid);
	for (size_t i = 0; i < nfl; i++)
		for (size_t j = 0; j < fl[i].nfilters; j++) {
			const struct filter *x = &fl[i].filters[j];
			fprintf(f, "add filter filterlist=\"%s\"", fl[i].name);
			dump_address(f, "srcaddr", "srcmask", &x->src);
			dump_address(f, "dstaddr", "dstmask", &x->dst);
			fprintf(f, " description=\"%s\" protocol=%s srcport=%u dstport=%u mirrored=%s\n",
			        x->description, policy_protocol_name(x->protocol, buf, sizeof(buf)),
			        x->srcport, x->dstport, yn(x->mirrored));
		}
	for (size_t i = 0; i < nfa; i++) {
		static const char *const act[] = { "permit", "block", "negotiate" };
		fprintf(f, "add filteraction name=\"%s\" description=\"%s\" qmpfs=%s inpass=%s "
		        "soft=%s action=%s guid=%s", fa[i].name, fa[i].description, yn(fa[i].qmpfs),
		        yn(fa[i].inpass), yn(fa[i].soft), act[fa[i].action], fa[i].guid);
		if (fa[i].methods.n) {
			policy_format_qmsec(&fa[i].methods, buf, sizeof(buf));
			fprintf(f, " qmsecmethods=\"%s\"", buf);
		}
		fputc('\n', f);
	}
	for (size_t i = 0; i < np; i++) {
		const struct rule *def = &p[i].rules[p[i].nrules - 1];
		policy_format_mmsec(&p[i].mm, buf, sizeof(buf));
		fprintf(f, "add policy name=\"%s\" description=\"%s\" mmpfs=%s qmpermm=%u "
		        "mmlifetime=%u activatedefaultrule=%s pollinginterval=%u "
		        "mmsecmethods=\"%s\" guid=%s\n", p[i].name, p[i].description,
		        yn(p[i].mmpfs), p[i].qmpermm, p[i].mmlifetime, yn(def->active),
		        p[i].pollinginterval, buf, p[i].guid);
	}
	for (size_t i = 0; i < np; i++)
		for (size_t j = 0; j + 1 < p[i].nrules; j++) {
			const struct rule *r = &p[i].rules[j];
			fprintf(f, "add rule name=\"%s\" policy=\"%s\" filterlist=\"%s\" "
			        "filteraction=\"%s\"", r->name, p[i].name, r->filterlist, r->filteraction);
			if (r->has_tunnel) {
				policy_format_ip(&r->tunnel, buf, sizeof(buf));
				fprintf(f, " tunnel=%s", buf);
			}
			fprintf(f, " conntype=%s activate=%s description=\"%s\"",
			        policy_conntype_name(r->conntype), yn(r->active), r->description);
			dump_auth(f, &r->auth);
			fputc('\n', f);
		}
	for (size_t i = 0; i < np; i++) {
		const struct rule *def = &p[i].rules[p[i].nrules - 1];
		policy_format_qmsec(&def->methods, buf, sizeof(buf));
		fprintf(f, "set defaultrule policy=\"%s\" qmpfs=%s activate=%s qmsecmethods=\"%s\"",
		        p[i].name, yn(def->qmpfs), yn(def->active), buf);
		dump_auth(f, &def->auth);
		fputc('\n', f);
	}
	for (size_t i = 0; i < np; i++)
		if (p[i].assigned)
			fprintf(f, "set policy name=\"%s\" assign=yes\n", p[i].name);
out:
	store_filterlists_free(fl, nfl);
	free(fa);
	store_policies_free(p, np);
	return ok;
}

bool dump_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	(void)a;
	FILE *f = ns->out;
	fprintf(f, "# secpol dump of the %s store\n",
	        ns->location == LOCATION_PERSISTENT ? "persistent" : "local");
	fprintf(f, "pushd ipsec static\n");
	fprintf(f, "set store location=%s\n",
	        ns->location == LOCATION_PERSISTENT ? "persistent" : "local");
	fprintf(f, "set batch mode=enable\n");
	bool ok = dump_body(ns, f, d);
	fprintf(f, "set batch mode=disable\n");
	fprintf(f, "popd\n");
	return ok;
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

bool export_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	const char *path = arg(a, "file");
	char *body = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&body, &len);
	if (!mem)
		return diag_error(d, ERR_STORE, "Out of memory.");
	bool ok = dump_body(ns, mem, d);
	fclose(mem);
	if (!ok) {
		free(body);
		return false;
	}
	char hex[65], tmp[4096];
	sha256_hex(body, len, hex);
	/* Write beside the target and rename, so a failure never leaves half a
	 * file; 0600 because the file holds the preshared keys. */
	snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
	int fd = mkstemp(tmp);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		free(body);
		return diag_error(d, ERR_BAD_VALUE, "'%s' is not a valid value for 'file': %s.",
		                  path, strerror(errno));
	}
	fchmod(fd, 0600);
	fprintf(f, "%s%d\n# body-sha256 %s\n", EXPORT_MAGIC, EXPORT_VERSION, hex);
	fwrite(body, 1, len, f);
	ok = fflush(f) == 0 && fsync(fd) == 0;
	ok = (fclose(f) == 0) && ok;
	explicit_bzero(body, len);
	free(body);
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return diag_error(d, ERR_BAD_VALUE, "'%s' is not a valid value for 'file': %s.",
		                  path, strerror(errno));
	}
	return true;
}

bool import_run(struct netsh_session *ns, const struct args *a, struct diag *d)
{
	const char *path = arg(a, "file");
	FILE *f = fopen(path, "r");
	if (!f)
		return diag_error(d, ERR_IMPORT, "The file '%s' could not be read: %s.", path,
		                  strerror(errno));
	char *data = NULL;
	size_t len = 0, cap = 0;
	char chunk[65536];
	size_t got;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + got + 1 > cap) {
			cap = (len + got + 1) * 2;
			char *nd = realloc(data, cap);
			if (!nd) {
				free(data);
				fclose(f);
				return diag_error(d, ERR_IMPORT, "Out of memory reading '%s'.", path);
			}
			data = nd;
		}
		memcpy(data + len, chunk, got);
		len += got;
	}
	fclose(f);
	if (!data || memchr(data, '\0', len)) {
		free(data);
		return diag_error(d, ERR_IMPORT, "The file '%s' is not a secpol policy export "
		                  "(it is empty or binary).", path);
	}
	data[len] = '\0';
	bool ok = false;
	char *nl1 = strchr(data, '\n');
	char *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
	int version = 0;
	char hex[65];
	if (strncmp(data, EXPORT_MAGIC, strlen(EXPORT_MAGIC)) != 0 || !nl2 ||
	    sscanf(data + strlen(EXPORT_MAGIC), "%d", &version) != 1 || version < 1) {
		diag_error(d, ERR_IMPORT, "The file '%s' is not a secpol policy export (the "
		           "first line must be '%s%d').", path, EXPORT_MAGIC, EXPORT_VERSION);
		goto out;
	}
	if (version > EXPORT_VERSION) {
		diag_error(d, ERR_IMPORT, "The file '%s' was written in export format v%d, which "
		           "is newer than this secpol reads (v%d). Nothing was imported.", path,
		           version, EXPORT_VERSION);
		goto out;
	}
	char *body = nl2 + 1;
	sha256_hex(body, len - (size_t)(body - data), hex);
	if (strncmp(nl1 + 1, "# body-sha256 ", 14) != 0 ||
	    (size_t)(nl2 - (nl1 + 15)) != 64 || strncmp(nl1 + 15, hex, 64) != 0) {
		diag_error(d, ERR_IMPORT, "The file '%s' is damaged: its contents do not match "
		           "its checksum. Nothing was imported.", path);
		goto out;
	}
	/* The caller holds the transaction: the first failing line aborts it all. */
	ns->import_mode = true;
	ok = true;
	unsigned lineno = 2;
	for (char *line = body, *next; ok && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		lineno++;
		struct diag ld;
		diag_init(&ld);
		if (!netsh_run_import_line(ns, line, &ld))
			ok = diag_error(d, ERR_IMPORT, "The file '%s' could not be imported: line %u: "
			                "%s Nothing was imported.", path, lineno, ld.msg);
	}
	ns->import_mode = false;
out:
	explicit_bzero(data, len);
	free(data);
	return ok;
}

bool netsh_dump(struct netsh_session *ns, FILE *out)
{
	FILE *saved = ns->out;
	ns->out = out;
	bool ok = netsh_exec_line(ns, "ipsec dump");
	ns->out = saved;
	return ok;
}
