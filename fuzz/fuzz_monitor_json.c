/*
 * fuzz_monitor_json: what `secpol monitor` does with secpold's answer --
 * the bounded JSON reader (jr_parse), the live document's reader
 * (mon_live_parse) and the frame drawn from what it read (mon_render_top).
 *
 * Invariants (abort() with "INVARIANT BROKEN" when one does not hold):
 *   - jr_parse: on success every token lies inside the input, its subtree
 *     ends after it and within the document, a container has as many
 *     children as it says (objects: key/value pairs, keys strings), and
 *     every string unescapes NUL-terminated within a small buffer; on
 *     failure the error is set;
 *   - mon_live_parse: on success no more SAs than room, never more than
 *     the total; written back with mon_render_live and read again, the
 *     counters, the policy, the total and every SA's names and counts are
 *     the same (the writer and the reader agree on every key);
 *   - the frame, at several terminal sizes, has no more lines than rows,
 *     no line wider than cols - 1 columns, and no control character but
 *     the newlines: nothing secpold sends can drive the terminal.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/jsonread.h"
#include "monitor/monitor.h"

#define FUZZ_MAX_INPUT (256 * 1024)
#define SAS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
	fprintf(stderr, "INVARIANT BROKEN: %s\n", what);
	abort();
}

static void check_tokens(const char *text, size_t len)
{
	static struct jr_token tok[4096];
	struct jr_doc d;
	char err[128];
	if (!jr_parse(&d, text, len, tok, 4096, err, sizeof(err))) {
		if (!err[0])
			broken("jr_parse failed without a reason");
		return;
	}
	if (d.ntok == 0 || d.ntok > 4096)
		broken("token count");
	for (size_t i = 0; i < d.ntok; i++) {
		const struct jr_token *t = &d.tok[i];
		if (t->start > t->end || t->end > len || t->next <= i || t->next > d.ntok)
			broken("token outside the document or its subtree");
		if (t->type == JR_OBJECT || t->type == JR_ARRAY) {
			size_t n = 0;
			for (size_t e = jr_first(&d, i); e; e = jr_after(&d, i, e)) {
				if (e <= i || e >= t->next)
					broken("child outside its container");
				if (t->type == JR_OBJECT && (n % 2) == 0 && d.tok[e].type != JR_STRING)
					broken("object key is not a string");
				n++;
			}
			if (n != (t->type == JR_OBJECT ? 2 * (size_t)t->count : t->count))
				broken("container count");
		} else if (t->type == JR_STRING) {
			char s[8];
			memset(s, 'x', sizeof(s));
			if (!jr_string(&d, i, s, sizeof(s)) && i > 0)
				broken("jr_string refused a string token");
			if (i > 0 && !memchr(s, '\0', sizeof(s)))
				broken("jr_string left no NUL");
		}
	}
}

static void check_frame(struct mon_snapshot *s, const struct mon_live_info *info)
{
	static const int sizes[][2] = { { 80, 24 }, { 33, 7 }, { 160, 50 } };
	struct mon_sample prev;
	mon_sample_take(&prev, s, 1.0);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		if (!f)
			return;
		struct mon_top_frame v = { .cols = sizes[k][0], .rows = sizes[k][1], .host = "fuzz",
		                           .now = 0, .interval_s = 1, .at = 2.0,
		                           .sort = k == 1 ? MON_SORT_TRAFFIC : MON_SORT_PEER };
		mon_render_top(f, s, info, &prev, &v);
		fclose(f);
		int lines = 1, w = 0;
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)text[i];
			if (c == '\n') {
				lines++;
				w = 0;
				continue;
			}
			if (c < 0x20 || c == 0x7f)
				broken("control character in the frame");
			if (c == 0xc2 && i + 1 < len && (unsigned char)text[i + 1] >= 0x80 &&
			    (unsigned char)text[i + 1] < 0xa0)
				broken("C1 control in the frame");
			if ((c & 0xc0) != 0x80 && ++w > sizes[k][0] - 1)
				broken("line wider than the terminal");
		}
		if (lines > sizes[k][1])
			broken("more lines than rows");
		free(text);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return 0;
	/* A copy of exactly size bytes: the readers must not need a NUL. */
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	check_tokens(text, size);

	struct mon_snapshot s, r;
	struct mon_live_info info, back;
	char err[256];
	if (!mon_snapshot_init(&s, 0, SAS, 0) || !mon_snapshot_init(&r, 0, SAS, 0))
		abort();
	if (mon_live_parse(text, size, &s, &info, err, sizeof(err))) {
		if (s.nqm > SAS || s.nqm > s.qm_total)
			broken("more SAs than room or than the total");
		char *again = NULL;
		size_t alen = 0;
		FILE *f = open_memstream(&again, &alen);
		if (!f)
			abort();
		mon_render_live(f, &s, &info);
		fclose(f);
		if (!mon_live_parse(again, alen, &r, &back, err, sizeof(err))) {
			fprintf(stderr, "%s\n%.*s\n", err, (int)alen, again);
			broken("the reader refuses what the writer wrote");
		}
		if (memcmp(&s.mm, &r.mm, sizeof(s.mm)) || memcmp(&s.qm, &r.qm, sizeof(s.qm)) ||
		    memcmp(s.dp.drops, r.dp.drops, sizeof(s.dp.drops)) ||
		    s.dp.ndrops != r.dp.ndrops || s.dp.packets_encrypted != r.dp.packets_encrypted ||
		    s.dp.tun_write_errors != r.dp.tun_write_errors)
			broken("counters differ after a round trip");
		if (info.has_policy != back.has_policy || strcmp(info.policy, back.policy) ||
		    info.uptime_s != back.uptime_s || s.taken_at != r.taken_at)
			broken("header differs after a round trip");
		if (s.nqm != r.nqm || s.qm_total != r.qm_total)
			broken("SA count differs after a round trip");
		for (size_t i = 0; i < s.nqm; i++) {
			const struct mon_qm_sa *a = &s.qm_sas[i], *b = &r.qm_sas[i];
			if (strcmp(a->rule, b->rule) || strcmp(a->policy, b->policy) ||
			    strcmp(a->esp_confidentiality, b->esp_confidentiality) ||
			    memcmp(&a->peer, &b->peer, sizeof(a->peer)) || a->bytes_in != b->bytes_in ||
			    a->spi_out != b->spi_out || a->rekey_due != b->rekey_due ||
			    a->esp != b->esp || a->tunnel != b->tunnel)
				broken("an SA differs after a round trip");
		}
		free(again);
		check_frame(&s, &info);
	} else if (!err[0]) {
		broken("mon_live_parse failed without a reason");
	}
	mon_snapshot_free(&s);
	mon_snapshot_free(&r);
	free(text);
	return 0;
}
