/*
 * Shared harness code for the secpol fuzz targets (see fuzz_common.h).
 *
 * The store lives in a directory made with mkdtemp() once per process, on
 * /dev/shm when it is writable (SQLite's fsyncs then cost nothing). A
 * pristine store (schema + predefined sample objects) is created once and
 * kept in memory; after each input the session is finished (store closed)
 * and the file is overwritten with those bytes, which is far cheaper than
 * creating a store from scratch.
 */
#include "fuzz_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monitor/names.h"
#include "netsh/internal.h"
#include "store/store.h"

char fuzz_dir[512];
char fuzz_store_path[600];
char fuzz_certs_path[600];

static unsigned char *pristine;
static size_t pristine_len;
static FILE *devnull;

static void die(const char *what)
{
	fprintf(stderr, "fuzz harness: %s: %s\n", what, strerror(errno));
	abort();
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	if (fuzz_dir[0])
		nftw(fuzz_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static bool usable_dir(const char *d)
{
	struct stat st;
	return d && d[0] == '/' && stat(d, &st) == 0 && S_ISDIR(st.st_mode) &&
	       access(d, W_OK | X_OK) == 0;
}

static unsigned char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0, got;
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			unsigned char *nb = realloc(buf, cap);
			if (!nb)
				die("realloc");
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	*len = n;
	return buf;
}

/* resolvedns=yes without the network: 192.0.2.0/24 has a name, nothing
 * else (the names' thread and cache still run as in secpold). */
static bool fuzz_reverse(const struct mon_addr *a, char *name, size_t len)
{
	static const uint8_t doc[] = { 192, 0, 2 };
	if (a->family != AF_INET || memcmp(a->bytes, doc, sizeof(doc)) != 0)
		return false;
	snprintf(name, len, "host-%u.example", a->bytes[3]);
	return true;
}

void fuzz_setup(void)
{
	if (fuzz_dir[0])
		return;
	mon_names_reset(fuzz_reverse, NULL);
	const char *base = getenv("SECPOL_FUZZ_TMP");
	if (!usable_dir(base))
		base = usable_dir("/dev/shm") ? "/dev/shm" : NULL;
	if (!base)
		base = usable_dir(getenv("TMPDIR")) ? getenv("TMPDIR") : "/tmp";
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/secpol-fuzz-XXXXXX", base);
	if (!mkdtemp(fuzz_dir))
		die("mkdtemp");
	atexit(cleanup);
	snprintf(fuzz_store_path, sizeof(fuzz_store_path), "%s/p.db", fuzz_dir);
	snprintf(fuzz_certs_path, sizeof(fuzz_certs_path), "%s/certs", fuzz_dir);

	struct diag d;
	diag_init(&d);
	struct store *s = store_open(fuzz_store_path, &d);
	if (!s) {
		fprintf(stderr, "fuzz harness: cannot create the store: %s\n", d.msg);
		abort();
	}
	store_close(s);     /* the last connection checkpoints and removes the WAL */
	pristine = read_all(fuzz_store_path, &pristine_len);
	if (!pristine || pristine_len == 0)
		die("reading the pristine store");
	/* SECPOL_FUZZ_VERBOSE=1 shows the commands' output when reproducing. */
	const char *v = getenv("SECPOL_FUZZ_VERBOSE");
	devnull = v && v[0] == '1' ? stderr : fopen("/dev/null", "w");
	if (!devnull)
		die("/dev/null");
}

static void unlink_store_files(const char *db)
{
	char p[700];
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", db, suffix[i]);
		if (unlink(p) != 0 && errno != ENOENT)
			die("unlink");
	}
}

void fuzz_reset_store(void)
{
	char p[700];
	snprintf(p, sizeof(p), "%s/p-persistent.db", fuzz_dir);   /* set store location=persistent */
	unlink_store_files(p);
	unlink_store_files(fuzz_store_path);
	int fd = open(fuzz_store_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("open store");
	for (size_t off = 0; off < pristine_len;) {
		ssize_t n = write(fd, pristine + off, pristine_len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("write store");
		}
		off += (size_t)n;
	}
	close(fd);
}

void fuzz_session(struct netsh_session *ns)
{
	netsh_session_init(ns, fuzz_store_path, devnull, devnull);
	ns->certs_path = fuzz_certs_path;   /* `cert ...` lines: never the machine's store */
	ns->resolve = fuzz_resolve;
}

size_t fuzz_resolve(const char *name, struct ip_address *out, size_t max)
{
	/* No network: only the reserved ".example" names resolve, to 1-3
	 * documentation addresses chosen by a hash of the name. */
	size_t len = strlen(name);
	if (len < 8 || strcasecmp(name + len - 8, ".example") != 0 || max == 0)
		return 0;
	static const char *const pool[] = { "192.0.2.1", "198.51.100.7", "2001:db8::1",
	                                    "203.0.113.9", "192.0.2.1" };
	unsigned h = 5381;
	for (size_t i = 0; i < len; i++)
		h = h * 33 + (unsigned char)(name[i] | 32);
	size_t n = 1 + h % 3;
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		const char *ip = pool[(h / 3 + i) % (sizeof(pool) / sizeof(pool[0]))];
		memset(&out[i], 0, sizeof(out[i]));
		if (strchr(ip, ':')) {
			out[i].family = AF_INET6;
			inet_pton(AF_INET6, ip, out[i].bytes);
		} else {
			out[i].family = AF_INET;
			inet_pton(AF_INET, ip, out[i].bytes);
		}
	}
	return n;
}

static bool abbreviates(const char *word, const char *verb)
{
	size_t n = strlen(word);
	return n > 0 && n <= strlen(verb) && strncasecmp(word, verb, n) == 0;
}

bool fuzz_line_names_file_verb(const char *line)
{
	/* The shell finds verbs by unique prefix among bare (untagged) words
	 * ("e x" is `exportpolicy file=x`), after any context words, pushd,
	 * or in a context entered by an earlier line: refuse any bare word that
	 * abbreviates either verb, wherever it is. */
	struct tokens t;
	struct diag d;
	diag_init(&d);
	bool lexed = lex_line(line, &t, &d);
	bool bad = false;
	for (size_t i = 0; lexed && i < t.n && !bad; i++)
		bad = !t.t[i].tag && (abbreviates(t.t[i].value, "exportpolicy") ||
		                      abbreviates(t.t[i].value, "importpolicy"));
	tokens_free(&t);
	/* A line that does not lex runs nothing. */
	return bad;
}
