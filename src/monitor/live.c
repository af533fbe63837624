/*
 * The live view's document: written by secpold (mon_render_live) and read
 * back by `secpol monitor` (mon_live_parse) into the same snapshot type,
 * so the terminal view renders from the data model like every other view.
 * The writer reuses the stats and qmsas views' JSON; the reader walks the
 * stats through the same counter tables (view.h), so a counter added
 * there is carried without touching this file.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "monitor/jsonread.h"
#include "monitor/view.h"

void mon_render_live(FILE *f, const struct mon_snapshot *s, const struct mon_live_info *info)
{
	struct json j;
	json_init(&j, f);
	json_object_begin(&j, NULL);
	json_u64(&j, "schema_version", MON_SCHEMA_VERSION);
	json_string(&j, "view", "monitor");
	json_i64(&j, "taken_at", s->taken_at);
	if (info->has_policy)
		json_string(&j, "policy", info->policy);
	else
		json_null(&j, "policy");
	json_u64(&j, "uptime_s", info->uptime_s);
	mon_json_stats(&j, s, MON_STATS_ALL);
	json_u64(&j, "total", s->qm_total > s->nqm ? s->qm_total : s->nqm);
	json_bool(&j, "truncated", s->qm_total > s->nqm);
	json_array_begin(&j, "sas");
	for (size_t i = 0; i < s->nqm; i++)
		mon_json_qm_sa(&j, &s->qm_sas[i]);
	json_array_end(&j);
	json_object_end(&j);
	json_finish(&j);
}

/* ---- the reader ---- */

/* Tokens: at most one per two bytes of text (plus the root), and a bound
 * so that a huge answer fails instead of taking the memory. */
#define LIVE_MAX_TOKENS (1u << 20)

struct reader {
	struct jr_doc d;
	char *err;
	size_t errlen;
};

static bool bad(struct reader *r, const char *fmt, const char *key)
{
	snprintf(r->err, r->errlen, fmt, key);
	return false;
}

static bool get_u64(struct reader *r, size_t obj, const char *key, uint64_t *out)
{
	if (!jr_u64(&r->d, jr_member(&r->d, obj, key), out))
		return bad(r, "\"%s\" is missing or not a count", key);
	return true;
}

static bool get_bool(struct reader *r, size_t obj, const char *key, bool *out)
{
	if (!jr_bool(&r->d, jr_member(&r->d, obj, key), out))
		return bad(r, "\"%s\" is missing or not true/false", key);
	return true;
}

static bool get_string(struct reader *r, size_t obj, const char *key, char *out, size_t len)
{
	if (!jr_string(&r->d, jr_member(&r->d, obj, key), out, len))
		return bad(r, "\"%s\" is missing or not a string", key);
	return true;
}

/* An address, or null for none. */
static bool get_addr(struct reader *r, size_t obj, const char *key, struct mon_addr *a)
{
	size_t v = jr_member(&r->d, obj, key);
	memset(a, 0, sizeof(*a));
	if (jr_is_null(&r->d, v))
		return true;
	char text[64];
	if (!jr_string(&r->d, v, text, sizeof(text)))
		return bad(r, "\"%s\" is missing or not an address", key);
	if (inet_pton(AF_INET, text, a->bytes) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, text, a->bytes) == 1)
		a->family = AF_INET6;
	else
		return bad(r, "\"%s\" is not an address", key);
	return true;
}

/* A number that must fit a narrower field. */
static bool get_small(struct reader *r, size_t obj, const char *key, uint64_t max, uint64_t *out)
{
	if (!get_u64(r, obj, key, out))
		return false;
	if (*out > max)
		return bad(r, "\"%s\" is out of range", key);
	return true;
}

static bool read_block(struct reader *r, size_t root, const char *name, struct mon_snapshot *s,
                       enum mon_stats_block block, size_t *obj)
{
	struct mon_counter c[MON_MAX_COUNTERS];
	*obj = jr_member(&r->d, root, name);
	if (!*obj || r->d.tok[*obj].type != JR_OBJECT)
		return bad(r, "\"%s\" is missing or not an object", name);
	size_t n = mon_stats_block(s, block, c);
	for (size_t i = 0; i < n; i++)
		/* The tables point into s, which is the caller's to write. */
		if (!get_u64(r, *obj, c[i].key, (uint64_t *)c[i].value))
			return false;
	return true;
}

/* data_path.drops: one count per reason, in the data path's order (index
 * 0 is no reason, as in the snapshot). */
static bool read_drops(struct reader *r, size_t dp, struct mon_snapshot *s,
                       struct mon_live_info *info)
{
	size_t o = jr_member(&r->d, dp, "drops");
	if (!o || r->d.tok[o].type != JR_OBJECT)
		return bad(r, "\"%s\" is missing or not an object", "drops");
	memset(s->dp.drops, 0, sizeof(s->dp.drops));
	s->dp.ndrops = 1;
	s->dp.drop_names[0] = "";
	for (size_t k = jr_first(&r->d, o); k; ) {
		size_t v = jr_after(&r->d, o, k);
		if (s->dp.ndrops >= 16)
			return bad(r, "%s: more reasons than known", "drops");
		size_t i = s->dp.ndrops;
		if (!jr_string(&r->d, k, info->drop_names[i], sizeof(info->drop_names[i])) ||
		    !jr_u64(&r->d, v, &s->dp.drops[i]))
			return bad(r, "%s: a count is not a number", "drops");
		s->dp.drop_names[i] = info->drop_names[i];
		s->dp.ndrops++;
		k = jr_after(&r->d, o, v);
	}
	return true;
}

static bool read_qm_sa(struct reader *r, size_t o, struct mon_qm_sa *q)
{
	char word[16];
	uint64_t v;
	memset(q, 0, sizeof(*q));
	if (r->d.tok[o].type != JR_OBJECT)
		return bad(r, "%s: an SA is not an object", "sas");
	if (!get_bool(r, o, "negotiated", &q->negotiated) ||
	    !get_string(r, o, "direction", word, sizeof(word)))
		return false;
	q->direction = !strcmp(word, "inbound") ? MON_DIR_INBOUND
	               : !strcmp(word, "outbound") ? MON_DIR_OUTBOUND : MON_DIR_BOTH;
	if (!get_string(r, o, "mode", word, sizeof(word)))
		return false;
	q->tunnel = !strcmp(word, "tunnel");
	if (!get_addr(r, o, "me", &q->me) || !get_addr(r, o, "peer", &q->peer) ||
	    !get_addr(r, o, "me_tunnel", &q->me_tunnel) ||
	    !get_addr(r, o, "peer_tunnel", &q->peer_tunnel))
		return false;
	if (!get_small(r, o, "me_prefix_len", 128, &v))
		return false;
	q->me_len = (uint8_t)v;
	if (!get_small(r, o, "peer_prefix_len", 128, &v))
		return false;
	q->peer_len = (uint8_t)v;
	if (!get_small(r, o, "me_port", 65535, &v))
		return false;
	q->me_port = (uint16_t)v;
	if (!get_small(r, o, "peer_port", 65535, &v))
		return false;
	q->peer_port = (uint16_t)v;
	if (!get_small(r, o, "rule_id", UINT32_MAX, &v))
		return false;
	q->rule_id = (uint32_t)v;
	if (!get_string(r, o, "rule", q->rule, sizeof(q->rule)) ||
	    !get_string(r, o, "policy", q->policy, sizeof(q->policy)) ||
	    !get_string(r, o, "ipsec_protocol", word, sizeof(word)))
		return false;
	q->esp = strcmp(word, "ah") != 0;
	if (!get_string(r, o, "ah_integrity", q->ah_integrity, sizeof(q->ah_integrity)) ||
	    !get_string(r, o, "esp_confidentiality", q->esp_confidentiality,
	                sizeof(q->esp_confidentiality)) ||
	    !get_string(r, o, "esp_integrity", q->esp_integrity, sizeof(q->esp_integrity)))
		return false;
	if (!get_small(r, o, "pfs_group", 65535, &v))
		return false;
	q->pfs_group = (uint16_t)v;
	if (!get_u64(r, o, "lifetime_kb", &q->lifetime_kb) ||
	    !get_u64(r, o, "lifetime_s", &q->lifetime_s) ||
	    !get_u64(r, o, "remaining_kb", &q->remaining_kb) ||
	    !get_u64(r, o, "remaining_s", &q->remaining_s) ||
	    !get_bool(r, o, "udp_encap", &q->encap))
		return false;
	if (!get_small(r, o, "encap_me_port", 65535, &v))
		return false;
	q->encap_me_port = (uint16_t)v;
	if (!get_small(r, o, "encap_peer_port", 65535, &v))
		return false;
	q->encap_peer_port = (uint16_t)v;
	if (!get_small(r, o, "spi_in", UINT32_MAX, &v))
		return false;
	q->spi_in = (uint32_t)v;
	if (!get_small(r, o, "spi_out", UINT32_MAX, &v))
		return false;
	q->spi_out = (uint32_t)v;
	return get_u64(r, o, "packets_in", &q->packets_in) &&
	       get_u64(r, o, "packets_out", &q->packets_out) &&
	       get_u64(r, o, "bytes_in", &q->bytes_in) && get_u64(r, o, "bytes_out", &q->bytes_out) &&
	       get_u64(r, o, "drops_in", &q->drops_in) && get_u64(r, o, "drops_out", &q->drops_out) &&
	       get_u64(r, o, "age_s", &q->age_s) && get_bool(r, o, "rekey_due", &q->rekey_due);
}

bool mon_live_parse(const char *text, size_t len, struct mon_snapshot *s,
                    struct mon_live_info *info, char *err, size_t errlen)
{
	struct reader r = { .err = err, .errlen = errlen };
	if (errlen)
		err[0] = '\0';
	memset(info, 0, sizeof(*info));
	s->nqm = s->qm_total = 0;
	size_t cap = len / 2 + 2;
	if (cap > LIVE_MAX_TOKENS)
		return bad(&r, "%s", "the answer is too large");
	struct jr_token *tok = malloc(cap * sizeof(*tok));
	if (!tok)
		return bad(&r, "%s", "out of memory");
	bool ok = false;
	if (!jr_parse(&r.d, text, len, tok, cap, err, errlen))
		goto out;
	size_t root = 0, mm, qm, dp;
	uint64_t v;
	char view[16];
	if (r.d.tok[root].type != JR_OBJECT) {
		bad(&r, "%s", "the answer is not a JSON object");
		goto out;
	}
	if (!get_u64(&r, root, "schema_version", &v) || !get_string(&r, root, "view", view, sizeof(view)))
		goto out;
	if (v != MON_SCHEMA_VERSION || strcmp(view, "monitor")) {
		bad(&r, "%s", "not a monitor view of a known schema version");
		goto out;
	}
	if (!get_u64(&r, root, "taken_at", &v) || v > INT64_MAX)
		goto out;
	s->taken_at = (int64_t)v;
	size_t p = jr_member(&r.d, root, "policy");
	info->has_policy = !jr_is_null(&r.d, p);
	if (info->has_policy && !get_string(&r, root, "policy", info->policy, sizeof(info->policy)))
		goto out;
	if (!get_u64(&r, root, "uptime_s", &info->uptime_s) ||
	    !read_block(&r, root, "main_mode", s, MON_BLOCK_MAIN_MODE, &mm) ||
	    !read_block(&r, root, "quick_mode", s, MON_BLOCK_QUICK_MODE, &qm) ||
	    !read_block(&r, root, "data_path", s, MON_BLOCK_DATA_PATH, &dp) ||
	    !read_drops(&r, dp, s, info))
		goto out;
	uint64_t total;
	if (!get_u64(&r, root, "total", &total))
		goto out;
	size_t arr = jr_member(&r.d, root, "sas");
	if (!arr || r.d.tok[arr].type != JR_ARRAY) {
		bad(&r, "\"%s\" is missing or not an array", "sas");
		goto out;
	}
	size_t n = 0;
	for (size_t e = jr_first(&r.d, arr); e; e = jr_after(&r.d, arr, e)) {
		n++;
		if (s->nqm < s->qm_cap) {
			if (!read_qm_sa(&r, e, &s->qm_sas[s->nqm]))
				goto out;
			s->nqm++;
		}
	}
	/* Those secpold left out count too; never fewer than were sent. */
	s->qm_total = total > n ? (size_t)(total < SIZE_MAX ? total : SIZE_MAX) : n;
	ok = true;
out:
	free(tok);
	return ok;
}
