/*
 * fuzz_dynamic_line: one `netsh ipsec dynamic` command line as secpold runs
 * it -- netsh_exec_dynamic() on the text that arrived over the control
 * socket -- with the service's operations replaced by stubs that check
 * what they are given. The input (NUL-terminated, at most 4096 bytes; a NUL
 * ends the line early) is the line. `set config` and `show config` work on
 * the policy store: the per-process store of fuzz_common, put back to its
 * pristine state after every input that opened it.
 *
 * Invariants (abort() with "INVARIANT BROKEN" when one does not hold):
 *   - add_sa gets an internally consistent child_sa_config: spi >= 256;
 *     protocol ESP or AH and a known mode; selectors of one family
 *     (AF_INET/AF_INET6) with prefix lengths within it, as are the SA's
 *     outer addresses; in transport mode the outer addresses are the
 *     selectors, single hosts; the unused bytes of an IPv4 address zero;
 *     known algorithms; ESP: enc_key_len is key_len + salt_len of
 *     crypto_enc_info(enc); AH: an integrity algorithm, no encryption
 *     algorithm and no encryption key; integrity: auth_key_len is
 *     crypto_mac_info(integ)->key_len (0 without integrity); a key
 *     pointer iff a key length; replay window
 *     <= REPLAY_MAX_WINDOW; soft lifetimes <= hard ones; without
 *     direction=, inbound is false;
 *   - delete_sa: "all" with no SPI and no address, else spi >= 256, a
 *     known family and protocol ESP or AH;
 *   - show_monitor: a known view (sa, stats, mmsas, qmsas, failures); type
 *     is all, ike or ipsec, and all but for stats; a known format; filter
 *     addresses of a known family, and only for mmsas and qmsas;
 *   - show_ike: ikesas only (failures is a monitor view);
 *   - show_rulefor: two addresses of one family (IPv4: the unused bytes
 *     zero); ports only with TCP or UDP; inbound only with direction=;
 *   - a command runs (a service operation, or the store is opened) only
 *     for a line whose first word is a bare verb, not tag=value: the shell
 *     refuses `x=add sa ...`;
 *   - a line that reaches a service operation does not open the store,
 *     but for the monitor's views: `show all` prints the store's config
 *     and static policy, then the SA views;
 *   - the dynamic objects (mmpolicy, qmpolicy, rule), whenever a command
 *     asks the service to put them in force (dyn_changed), are consistent:
 *     every rule names an existing mmpolicy, and an existing qmpolicy when
 *     an action negotiates; no two rules share an identification tuple;
 *     rule ids are unique and below next_id; names are unique per kind;
 *     a rule has an authentication method and a valid filter; when the
 *     service refuses the change, the objects are put back as they were;
 *   - delete mmsas/qmsas get addresses of a known family;
 *   - after `set config`, every setting in the store is valid for its
 *     property and in its canonical form (secpold reads them back);
 *   - the same line typed into `secpol` (the CLI, in the dynamic context)
 *     is checked there and forwarded to secpold as a control request: the
 *     forwarded line lexes to the same words (a suffix of the line's, after
 *     words the CLI consumed, e.g. pushd); the request framing parses back
 *     to the forwarded line (control_parse_request); and when all of the
 *     words were forwarded, secpold running the forwarded line calls the
 *     same operations with the same arguments, with the same result, as
 *     running the original line.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/control.h"
#include "driver/driver.h"
#include "fuzz_common.h"
#include "monitor/events.h"
#include "netsh/internal.h"
#include "netsh/netsh.h"
#include "store/store.h"

#define FUZZ_MAX_LINE 4096

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool store_used;   /* this input opened the store: put it back after */

/* abort() skips fuzz_common's atexit clean-up: remove the store first. */
static void remove_store_dir(void)
{
	static const char *const files[] = { "p.db", "p.db-wal", "p.db-shm", "p.db-journal",
	                                     "p-persistent.db", "p-persistent.db-wal",
	                                     "p-persistent.db-shm", "p-persistent.db-journal" };
	char path[700];
	if (!fuzz_dir[0])
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fuzz_dir, files[i]);
		unlink(path);
	}
	rmdir(fuzz_dir);
}

static void fail(const char *what, ...)
{
	va_list ap;
	va_start(ap, what);
	fprintf(stderr, "INVARIANT BROKEN: ");
	vfprintf(stderr, what, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	remove_store_dir();
	abort();
}

/* ---- what the service was asked to do, as text ---- */

struct oplog {
	char text[8192];
	size_t n;
	unsigned calls;
	unsigned monitor_calls;      /* show_monitor: `show all` reads the store too */
};

static void logf_(struct oplog *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(l->text + l->n, sizeof(l->text) - l->n, fmt, ap);
	va_end(ap);
	if (k > 0)
		l->n += (size_t)k < sizeof(l->text) - l->n ? (size_t)k : sizeof(l->text) - 1 - l->n;
}

static void log_bytes(struct oplog *l, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		logf_(l, "%02x", b[i]);
	logf_(l, " ");
}

static size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

static void check_address(const struct sa_address *a, const char *what)
{
	size_t n = addr_len(a->family);
	if (!n)
		fail("add_sa: %s has family %u", what, a->family);
	for (size_t i = n; i < 16; i++)
		if (a->bytes[i])
			fail("add_sa: %s is IPv4 with bytes set after the 4th", what);
}

/* ---- the service's operations ---- */

static bool op_add_sa(void *ctx, const struct child_sa_config *c, bool direction_given,
                      struct diag *d)
{
	(void)d;
	struct oplog *l = ctx;
	l->calls++;
	const struct sa_config *s = &c->sa;
	if (s->spi < 256)
		fail("add_sa: spi %u < 256", s->spi);
	if (s->proto != SA_PROTO_ESP && s->proto != SA_PROTO_AH)
		fail("add_sa: protocol %d", (int)s->proto);
	if (s->mode != SA_TRANSPORT && s->mode != SA_TUNNEL)
		fail("add_sa: mode %d", (int)s->mode);
	check_address(&c->src, "srcaddr");
	check_address(&c->dst, "dstaddr");
	check_address(&s->src, "the SA source");
	check_address(&s->dst, "the SA destination");
	if (c->src.family != c->dst.family)
		fail("add_sa: srcaddr and dstaddr of different families");
	if (s->src.family != s->dst.family)
		fail("add_sa: the SA's addresses of different families");
	unsigned max = c->src.family == AF_INET ? 32 : 128;
	if (c->src_len > max || c->dst_len > max)
		fail("add_sa: prefix length %u/%u beyond %u", c->src_len, c->dst_len, max);
	if (s->mode == SA_TRANSPORT &&
	    (c->src_len != max || c->dst_len != max || s->src.family != c->src.family ||
	     memcmp(s->src.bytes, c->src.bytes, 16) || memcmp(s->dst.bytes, c->dst.bytes, 16)))
		fail("add_sa: transport mode SA addresses are not the single-host selectors");
	const struct crypto_enc_info *ei = crypto_enc_info(s->enc);
	const struct crypto_mac_info *mi = crypto_mac_info(s->integ);
	if (!ei || !mi)
		fail("add_sa: unknown algorithm enc=%d integ=%d", (int)s->enc, (int)s->integ);
	if (s->proto == SA_PROTO_ESP && s->enc_key_len != ei->key_len + ei->salt_len)
		fail("add_sa: ESP %s key of %zu bytes, not %zu", ei->name, s->enc_key_len,
		     ei->key_len + ei->salt_len);
	if (s->proto == SA_PROTO_AH && s->enc != ENC_NULL)
		fail("add_sa: AH with encryption %s", ei->name);
	if (s->proto == SA_PROTO_AH && s->enc_key_len)
		fail("add_sa: AH (no encryption) with an encryption key of %zu bytes",
		     s->enc_key_len);
	if (s->proto == SA_PROTO_AH && s->integ == MAC_NONE)
		fail("add_sa: AH without integrity");
	if (s->auth_key_len != mi->key_len)
		fail("add_sa: integrity %s key of %zu bytes, not %zu", mi->name, s->auth_key_len,
		     mi->key_len);
	if (!s->enc_key != !s->enc_key_len || !s->auth_key != !s->auth_key_len)
		fail("add_sa: a key pointer without a length or a length without a key");
	if (s->replay_window > REPLAY_MAX_WINDOW)
		fail("add_sa: replay window %u", s->replay_window);
	if (s->life.soft_bytes > s->life.hard_bytes || s->life.soft_seconds > s->life.hard_seconds)
		fail("add_sa: a soft lifetime beyond the hard one");
	if (!direction_given && s->inbound)
		fail("add_sa: inbound without direction=");
	/* Every key byte is read: ASan checks the pointers and lengths. */
	logf_(l, "add_sa spi=%u proto=%d mode=%d in=%d dir=%d esn=%d enc=%d integ=%d rw=%u "
	      "life=%llu/%llu/%llu/%llu encap=%d srclen=%u dstlen=%u allow_legacy=%d now=%llu ",
	      s->spi, (int)s->proto, (int)s->mode, s->inbound, direction_given, s->esn,
	      (int)s->enc, (int)s->integ, s->replay_window,
	      (unsigned long long)s->life.soft_bytes, (unsigned long long)s->life.hard_bytes,
	      (unsigned long long)s->life.soft_seconds, (unsigned long long)s->life.hard_seconds,
	      c->udp_encap, c->src_len, c->dst_len, s->allow_legacy, (unsigned long long)s->now);
	log_bytes(l, c->src.bytes, 16);
	log_bytes(l, c->dst.bytes, 16);
	log_bytes(l, s->src.bytes, 16);
	log_bytes(l, s->dst.bytes, 16);
	if (s->enc_key)
		log_bytes(l, s->enc_key, s->enc_key_len);
	if (s->auth_key)
		log_bytes(l, s->auth_key, s->auth_key_len);
	logf_(l, "\n");
	return true;
}

static bool op_delete_sa(void *ctx, bool all, uint32_t spi, const struct ip_address *dst,
                         uint8_t proto, struct diag *d)
{
	(void)d;
	struct oplog *l = ctx;
	l->calls++;
	if (all) {
		if (spi || dst || proto)
			fail("delete_sa: all with an SPI, address or protocol");
		logf_(l, "delete_sa all\n");
		return true;
	}
	if (spi < 256)
		fail("delete_sa: spi %u < 256", spi);
	if (!dst || !addr_len(dst->family))
		fail("delete_sa: no destination or family %u", dst ? dst->family : 0);
	if (proto != SA_PROTO_ESP && proto != SA_PROTO_AH)
		fail("delete_sa: protocol %u", proto);
	logf_(l, "delete_sa spi=%u proto=%u family=%u ", spi, proto, dst->family);
	log_bytes(l, dst->bytes, addr_len(dst->family));
	logf_(l, "\n");
	return true;
}

static void op_show_monitor(void *ctx, FILE *out, const struct netsh_show *q)
{
	struct oplog *l = ctx;
	l->monitor_calls++;
	if (!out || !q || !q->object || !q->type)
		fail("show_monitor: no output stream, object or type");
	if (strcmp(q->object, "sa") && strcmp(q->object, "stats") && strcmp(q->object, "mmsas") &&
	    strcmp(q->object, "qmsas") && strcmp(q->object, "failures"))
		fail("show_monitor: object '%s'", q->object);
	if (strcmp(q->object, "stats") && strcmp(q->type, "all"))
		fail("show_monitor: %s with type '%s'", q->object, q->type);
	if ((!strcmp(q->object, "sa") || !strcmp(q->object, "failures")) &&
	    (q->has_src || q->has_dst))
		fail("show_monitor: %s with an address filter", q->object);
	if (strcasecmp(q->type, "all") && strcasecmp(q->type, "ike") && strcasecmp(q->type, "ipsec"))
		fail("show_monitor: type '%s'", q->type);
	if (q->format > NETSH_FORMAT_JSON)
		fail("show_monitor: format %d", (int)q->format);
	if ((q->has_src && q->src.family != AF_INET && q->src.family != AF_INET6) ||
	    (q->has_dst && q->dst.family != AF_INET && q->dst.family != AF_INET6))
		fail("show_monitor: an address of no family");
	fprintf(out, "%s %s\n", q->object, q->type);
	logf_(l, "show_monitor %s %s %d %d %d%d\n", q->object, q->type, (int)q->format, q->wide,
	      q->has_src, q->has_dst);
}

/* Every setting in the store is valid and canonical: set config stored
 * the normalised text, which secpold parses when it reads it. */
static void check_settings(struct store *st)
{
	size_t n;
	const struct service_setting *all = policy_service_settings(&n);
	for (size_t i = 0; i < n; i++) {
		char v[1024], norm[1024];
		if (!store_config_get(st, all[i].name, v, sizeof(v)))
			continue;
		struct diag d;
		diag_init(&d);
		if (!policy_check_service_setting(&all[i], v, norm, sizeof(norm), &d))
			fail("the store holds %s='%s', which is not valid: %s", all[i].name, v, d.msg);
		if (strcmp(v, norm))
			fail("the store holds %s='%s', not canonical ('%s')", all[i].name, v, norm);
	}
}

static void op_show_ike(void *ctx, FILE *out, const char *what)
{
	struct oplog *l = ctx;
	l->calls++;
	if (!out || !what || strcmp(what, "ikesas"))   /* failures: show_monitor */
		fail("show_ike: '%s'", what ? what : "(null)");
	fprintf(out, "ike %s\n", what);
}

static bool op_show_rulefor(void *ctx, const struct netsh_packet *p, struct netsh_rulefor *r,
                            struct diag *d)
{
	(void)d;
	struct oplog *l = ctx;
	l->calls++;
	if (!p || !r)
		fail("show_rulefor: no packet or no answer");
	size_t n = addr_len(p->src.family);
	if (!n || p->dst.family != p->src.family)
		fail("show_rulefor: families %u and %u", p->src.family, p->dst.family);
	for (size_t i = n; i < 16; i++)
		if (p->src.bytes[i] || p->dst.bytes[i])
			fail("show_rulefor: an IPv4 address with bytes set after the 4th");
	if ((p->src_port || p->dst_port) && p->protocol != 6 && p->protocol != 17)
		fail("show_rulefor: ports with protocol %u", p->protocol);
	if (!p->direction_given && p->inbound)
		fail("show_rulefor: inbound without direction=");
	logf_(l, "show_rulefor proto=%u ports=%u/%u dir=%d/%d ", p->protocol, p->src_port,
	      p->dst_port, p->direction_given, p->inbound);
	log_bytes(l, p->src.bytes, n);
	log_bytes(l, p->dst.bytes, n);
	logf_(l, "\n");
	/* An answer of each kind, picked by the packet, for the printers. */
	r->inbound = p->inbound;
	r->dir_reason = p->direction_given ? RULEFOR_DIR_GIVEN : RULEFOR_FORWARDED;
	r->kind = (enum netsh_rulefor_kind)(p->dst.bytes[n - 1] % 3);
	snprintf(r->policy, sizeof(r->policy), "%s", p->src.bytes[n - 1] & 1 ? "" : "fuzz");
	if (r->kind == RULEFOR_NO_MATCH)
		return true;
	r->rule_id = p->src.bytes[0];
	snprintf(r->rule, sizeof(r->rule), "%s", p->src.bytes[0] & 1 ? "" : "rule");
	snprintf(r->filterlist, sizeof(r->filterlist), "list");
	r->action = (enum filter_action_kind)(p->protocol % 3);
	r->inpass = p->src_port & 1;
	r->soft = p->dst_port & 1;
	r->has_tunnel = p->src.bytes[1] & 1;
	r->tunnel = p->dst;
	r->src = p->src;
	r->dst = p->dst;
	r->src_len = (uint8_t)(p->src_port % (n * 8 + 1));
	r->dst_len = (uint8_t)(p->dst_port % (n * 8 + 1));
	r->protocol = p->protocol;
	r->src_port = p->src_port;
	r->dst_port = p->dst_port;
	r->filter_no = 1;
	r->mirror = (enum netsh_mirror)(p->src.bytes[n - 1] % 3);
	r->weight = 0xffffffffu;
	r->position = r->count = 1;
	r->expires_s = p->dst.bytes[0];
	return true;
}

/* `show events`: a small log that has wrapped, with an event of each kind
 * and text that needs quoting, for the three printers. */
static struct event_log fuzz_events;
static const struct event_log *op_event_log(void *ctx)
{
	struct oplog *l = ctx;
	logf_(l, "event_log\n");
	return &fuzz_events;
}

static void fill_events(void)
{
	if (!event_log_init(&fuzz_events, 5))
		abort();
	for (int i = 0; i < 9; i++) {
		struct sec_event ev;
		memset(&ev, 0, sizeof(ev));
		ev.kind = (enum event_kind)(i % EVENT_KIND_COUNT);
		ev.time_s = 1700000000 + i;
		snprintf(ev.peer, sizeof(ev.peer), "192.0.2.%d", i);
		if (i % 2)
			snprintf(ev.rule, sizeof(ev.rule), "rule \"%d\"\n", i);
		ev.child = i % 3 == 0;
		ev.ike_spi_i = (uint64_t)i;
		ev.spi_in = 0x100u + (uint32_t)i;
		if (i % 2 == 0)
			snprintf(ev.reason, sizeof(ev.reason), "why\t%d", i);
		event_log_add(&fuzz_events, &ev);
	}
}

/* Closes a session; notes that the store must be put back. */
static void finish(struct netsh_session *ns)
{
	if (ns->store) {
		store_used = true;
		check_settings(ns->store);
	}
	netsh_session_finish(ns);
}

/* ---- the dynamic SPD ---- */

static struct dyn_spd dyn, dyn_before;
static unsigned dyn_changes;

static void check_dyn(const struct dyn_spd *s)
{
	struct dyn_spd *w = (struct dyn_spd *)s;
	if (s->nmm > DYN_MAX_POLICIES || s->nqm > DYN_MAX_POLICIES || s->nrules > DYN_MAX_RULES)
		fail("dynamic object counts past their capacity");
	for (size_t i = 0; i < s->nmm; i++)
		if (dyn_mmpolicy_find(w, s->mm[i].name) != &s->mm[i] || s->mm[i].mm.n == 0)
			fail("mmpolicy '%s': a duplicate name or no offer", s->mm[i].name);
	for (size_t i = 0; i < s->nqm; i++)
		if (dyn_qmpolicy_find(w, s->qm[i].name) != &s->qm[i] || s->qm[i].methods.n == 0)
			fail("qmpolicy '%s': a duplicate name or no offer", s->qm[i].name);
	for (size_t i = 0; i < s->nrules; i++) {
		const struct dyn_rule *r = &s->rules[i];
		struct diag d;
		diag_init(&d);
		if (!dyn_rule_check(w, r, &d))
			fail("dynamic rule %u is in force but not valid: %s", r->id, d.msg);
		if (dyn_rule_find(w, &r->key) != r)
			fail("two dynamic rules share an identification tuple");
		if (r->id <= DYN_RULE_ID_BASE || r->id >= s->next_id)
			fail("dynamic rule id %u outside (%u, %u)", r->id, DYN_RULE_ID_BASE, s->next_id);
		for (size_t k = 0; k < i; k++)
			if (s->rules[k].id == r->id)
				fail("two dynamic rules with id %u", r->id);
	}
}

/* Refuses every fourth change, as a service that cannot install its
 * table would: netsh must then put the objects back. */
static bool op_dyn_changed(void *ctx, struct diag *d)
{
	(void)ctx;
	check_dyn(&dyn);
	if (++dyn_changes % 4 == 0)
		return diag_error(d, ERR_SERVICE, "refused by the fuzzer");
	memcpy(&dyn_before, &dyn, sizeof(dyn));
	return true;
}

static size_t op_delete_sas(void *ctx, bool children, const struct ip_address *a,
                            const struct ip_address *b)
{
	struct oplog *l = ctx;
	if ((a && a->family != AF_INET && a->family != AF_INET6) ||
	    (b && b->family != AF_INET && b->family != AF_INET6))
		fail("delete_sas with an address of family %d/%d", a ? a->family : 0,
		     b ? b->family : 0);
	logf_(l, "delete_sas %d %d %d\n", children, a != NULL, b != NULL);
	return 0;
}

/* One made-up specific filter per dynamic rule, so the view's code runs. */
static size_t op_specific_filters(void *ctx, struct netsh_specific_filter **out)
{
	(void)ctx;
	*out = calloc(dyn.nrules + 1, sizeof(**out));
	if (!*out)
		return (size_t)-1;
	for (size_t i = 0; i < dyn.nrules; i++) {
		(*out)[i].rule_id = dyn.rules[i].id;
		(*out)[i].src.family = (*out)[i].dst.family = AF_INET;
		(*out)[i].src_len = 32;
		(*out)[i].weight = (uint32_t)i;
	}
	return dyn.nrules;
}

/* secpold: one line through netsh_exec_dynamic(), as the agent runs it.
 * *opened: whether the line opened the store. */
static bool run_secpold(const char *line, struct oplog *l, bool *opened)
{
	struct netsh_dynamic ops = { .ctx = l, .add_sa = op_add_sa, .delete_sa = op_delete_sa,
	                             .show_monitor = op_show_monitor,
	                             .show_ike = op_show_ike, .show_rulefor = op_show_rulefor,
	                             .dyn = &dyn, .dyn_changed = op_dyn_changed,
	                             .delete_sas = op_delete_sas,
	                             .specific_filters = op_specific_filters,
	                             .event_log = op_event_log };
	struct netsh_session ns;
	fuzz_session(&ns);
	ns.dynamic = &ops;
	/* Each run starts from the same objects (the original line and the
	 * forwarded one must do the same): one mmpolicy, one qmpolicy, one
	 * rule, so that set/delete/show have something to find. */
	dyn_init(&dyn);
	struct dyn_mmpolicy mm;
	struct dyn_qmpolicy qm;
	struct dyn_rule *r = &dyn.rules[0];
	struct diag d;
	diag_init(&d);
	dyn_mmpolicy_init(&mm, PROFILE_MODERN);
	dyn_qmpolicy_init(&qm, PROFILE_MODERN);
	snprintf(mm.name, sizeof(mm.name), "mm");
	snprintf(qm.name, sizeof(qm.name), "qm");
	dyn_rule_init(r);
	r->key.src.kind = ADDR_ME;
	snprintf(r->mmpolicy, sizeof(r->mmpolicy), "mm");
	snprintf(r->qmpolicy, sizeof(r->qmpolicy), "qm");
	struct dyn_rule seed = *r;
	policy_auth_add(&seed.auth, AUTH_PSK, "k", &d);
	if (!dyn_mmpolicy_add(&dyn, &mm, &d) || !dyn_qmpolicy_add(&dyn, &qm, &d) ||
	    !dyn_rule_add(&dyn, &seed, &d))
		fail("the seed objects were refused: %s", d.msg);
	dyn_changes = 0;
	memcpy(&dyn_before, &dyn, sizeof(dyn));
	unsigned calls = l->calls;
	bool ok = netsh_exec_dynamic(&ns, line);
	/* Refused or failed: the objects are as the last accepted change left them. */
	if (memcmp(&dyn, &dyn_before, sizeof(dyn)))
		fail("the dynamic objects differ from the last change put in force");
	if (ns.store && l->calls != calls)
		fail("a line that reached the service's operations opened the policy store");
	if (opened)
		*opened = ns.store != NULL;
	finish(&ns);
	return ok;
}

/* ---- the secpol CLI side: syntax check, then forward ---- */

struct forward {
	const struct tokens *orig;   /* the input line's words */
	bool called, whole;          /* forwarded; all of the words */
	bool framed;                 /* the request parsed back (no control characters) */
	bool ok;                     /* secpold's result for the forwarded line */
	struct oplog log;
};

static bool same_token(const struct token *a, const struct token *b)
{
	return !a->tag == !b->tag && (!a->tag || !strcmp(a->tag, b->tag)) &&
	       !strcmp(a->value, b->value);
}

static bool fwd_stub(struct netsh_session *ns, const char *line, struct diag *d)
{
	(void)d;
	struct forward *f = ns->forward_ctx;
	if (f->called)
		fail("the CLI forwarded one line twice");
	f->called = true;
	/* The forwarded words are the line's, after any the CLI consumed. */
	struct tokens t;
	struct diag ld;
	diag_init(&ld);
	if (!lex_line(line, &t, &ld)) {
		fprintf(stderr, "forwarded: %s\n", line);
		fail("the forwarded line does not lex: %s", ld.msg);
	}
	if (t.n == 0 || t.n > f->orig->n)
		fail("the forwarded line has %zu words, the input %zu", t.n, f->orig->n);
	size_t skip = f->orig->n - t.n;
	for (size_t i = 0; i < t.n; i++)
		if (!same_token(&t.t[i], &f->orig->t[skip + i])) {
			fprintf(stderr, "forwarded: %s\nword %zu: %s%s%s\n", line, i,
			        t.t[i].tag ? t.t[i].tag : "", t.t[i].tag ? "=" : "", t.t[i].value);
			fail("a forwarded word differs from the input's");
		}
	tokens_free(&t);
	f->whole = skip == 0;

	/* The control request secpol sends, as secpold parses it. */
	size_t n = strlen(line);
	if (n == 0 || n > CONTROL_MAX_REQUEST)
		fail("forwarded line of %zu bytes", n);
	static uint8_t req[8 + CONTROL_MAX_REQUEST];
	static char got[CONTROL_MAX_REQUEST + 1];
	memcpy(req, "SPQ1", 4);
	req[4] = (uint8_t)(n >> 24);
	req[5] = (uint8_t)(n >> 16);
	req[6] = (uint8_t)(n >> 8);
	req[7] = (uint8_t)n;
	memcpy(req + 8, line, n);
	size_t len;
	const char *why;
	enum control_parse r = control_parse_request(req, 8 + n, got, &len, &why);
	if (r == CONTROL_NEED_MORE)
		fail("a complete request is NEED_MORE");
	if (r == CONTROL_BAD) {
		/* Only for a control character in a value: secpold refuses it. */
		bool text = true;
		for (size_t i = 0; i < n; i++)
			text = text && (line[i] == '\t' || ((unsigned char)line[i] >= 0x20 &&
			                                    (unsigned char)line[i] != 0x7f));
		if (text)
			fail("a forwarded text line is refused by the control parser: %s", why);
		return false;
	}
	if (len != n || strcmp(got, line))
		fail("the control request does not carry the forwarded line");
	f->framed = true;
	f->ok = run_secpold(got, &f->log, NULL);
	return f->ok;
}

static void run_cli(const char *line, const struct tokens *orig, struct forward *f)
{
	struct netsh_session ns;
	fuzz_session(&ns);
	snprintf(ns.context, sizeof(ns.context), "ipsec dynamic");
	ns.forward = fwd_stub;
	ns.forward_ctx = f;
	f->orig = orig;
	netsh_exec_line(&ns, line);
	if (ns.store && f->called)
		fail("a line the CLI forwarded opened the policy store");
	finish(&ns);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup();
	fill_events();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[FUZZ_MAX_LINE + 1];
	if (size > FUZZ_MAX_LINE)
		size = FUZZ_MAX_LINE;
	memcpy(line, data, size);
	line[size] = '\0';

	static struct oplog direct;
	direct.n = 0;
	direct.calls = 0;
	direct.monitor_calls = 0;
	direct.text[0] = '\0';
	store_used = false;
	bool opened;
	bool ok = run_secpold(line, &direct, &opened);

	struct tokens t;
	struct diag d;
	diag_init(&d);
	bool lexed = lex_line(line, &t, &d);
	bool ran = direct.calls || direct.monitor_calls || opened;
	if (ran && (!lexed || t.n == 0))
		fail("a command ran for a line that does not lex");
	if (ran && t.t[0].tag)
		fail("a command ran for a line whose verb is tag=value: '%s=%s'", t.t[0].tag,
		     t.t[0].value);
	if (lexed) {
		static struct forward f;
		memset(&f, 0, sizeof(f));
		run_cli(line, &t, &f);
		if (f.framed && f.whole) {
			if (f.ok != ok)
				fail("secpold's result for the forwarded line (%d) differs from the "
				     "line's (%d)", f.ok, ok);
			if (f.log.n != direct.n || strcmp(f.log.text, direct.text)) {
				fprintf(stderr, "line:      %s\nforwarded: %s\ndirect:    %s\n", line,
				        f.log.text, direct.text);
				fail("the forwarded line asks the service for something else");
			}
		}
	}
	tokens_free(&t);
	if (store_used)
		fuzz_reset_store();
	return 0;
}
