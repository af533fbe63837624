/*
 * The bounded JSON reader (jsonread.h). Recursive descent with the depth
 * counted, so the stack is bounded by JR_MAX_DEPTH frames whatever the
 * input; every read of text[] is checked against len first.
 */
#include <stdio.h>
#include <string.h>

#include "monitor/jsonread.h"

struct parser {
	struct jr_doc *d;
	size_t pos;
	char *err;
	size_t errlen;
	bool failed;
};

static bool fail(struct parser *p, const char *what)
{
	if (!p->failed && p->errlen)
		snprintf(p->err, p->errlen, "%s at byte %zu", what, p->pos);
	p->failed = true;
	return false;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->d->len) {
		char c = p->d->text[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static bool at(const struct parser *p, char c)
{
	return p->pos < p->d->len && p->d->text[p->pos] == c;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Four hex digits at text[i]; -1 if they are not (or not all there). */
static long hex4(const char *text, size_t len, size_t i)
{
	if (i > len || len - i < 4)
		return -1;
	long v = 0;
	for (size_t k = 0; k < 4; k++) {
		int h = hexval(text[i + k]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

static size_t new_token(struct parser *p, enum jr_type type)
{
	struct jr_doc *d = p->d;
	if (d->ntok >= d->cap) {
		fail(p, "too many values");
		return (size_t)-1;
	}
	struct jr_token *t = &d->tok[d->ntok];
	memset(t, 0, sizeof(*t));
	t->type = (uint8_t)type;
	t->start = (uint32_t)p->pos;
	return d->ntok++;
}

static bool finish_token(struct parser *p, size_t i)
{
	p->d->tok[i].end = (uint32_t)p->pos;
	p->d->tok[i].next = (uint32_t)p->d->ntok;
	return true;
}

static bool parse_string(struct parser *p)
{
	/* at the opening quote */
	p->pos++;
	size_t i = new_token(p, JR_STRING);
	if (i == (size_t)-1)
		return false;
	const char *s = p->d->text;
	size_t len = p->d->len;
	while (p->pos < len) {
		unsigned char c = (unsigned char)s[p->pos];
		if (c == '"') {
			finish_token(p, i);
			p->pos++;
			return true;
		}
		if (c < 0x20)
			return fail(p, "control character in a string");
		if (c != '\\') {
			p->pos++;
			continue;
		}
		if (p->pos + 1 >= len)
			break;
		char e = s[p->pos + 1];
		if (e && strchr("\"\\/bfnrt", e)) {
			p->pos += 2;
			continue;
		}
		if (e != 'u')
			return fail(p, "bad escape in a string");
		long u = hex4(s, len, p->pos + 2);
		if (u < 0)
			return fail(p, "bad \\u escape");
		p->pos += 6;
		if (u >= 0xdc00 && u <= 0xdfff)
			return fail(p, "unpaired low surrogate");
		if (u >= 0xd800 && u <= 0xdbff) {
			long lo = p->pos + 1 < len && s[p->pos] == '\\' && s[p->pos + 1] == 'u'
			          ? hex4(s, len, p->pos + 2) : -1;
			if (lo < 0xdc00 || lo > 0xdfff)
				return fail(p, "unpaired high surrogate");
			p->pos += 6;
		}
	}
	return fail(p, "unterminated string");
}

static bool digits(struct parser *p)
{
	size_t from = p->pos;
	while (p->pos < p->d->len && p->d->text[p->pos] >= '0' && p->d->text[p->pos] <= '9')
		p->pos++;
	return p->pos > from;
}

static bool parse_number(struct parser *p)
{
	size_t i = new_token(p, JR_NUMBER);
	if (i == (size_t)-1)
		return false;
	if (at(p, '-'))
		p->pos++;
	if (at(p, '0'))
		p->pos++;
	else if (!digits(p))
		return fail(p, "bad number");
	if (at(p, '.')) {
		p->pos++;
		if (!digits(p))
			return fail(p, "bad fraction");
	}
	if (at(p, 'e') || at(p, 'E')) {
		p->pos++;
		if (at(p, '+') || at(p, '-'))
			p->pos++;
		if (!digits(p))
			return fail(p, "bad exponent");
	}
	return finish_token(p, i);
}

static bool parse_literal(struct parser *p, const char *word, enum jr_type type)
{
	size_t n = strlen(word);
	if (p->d->len - p->pos < n || memcmp(p->d->text + p->pos, word, n))
		return fail(p, "unexpected character");
	size_t i = new_token(p, type);
	if (i == (size_t)-1)
		return false;
	p->pos += n;
	return finish_token(p, i);
}

static bool parse_value(struct parser *p, unsigned depth);

/* An object or an array: members are "key": value (the key a string token). */
static bool parse_container(struct parser *p, unsigned depth, bool object)
{
	if (depth >= JR_MAX_DEPTH)
		return fail(p, "nested too deeply");
	size_t i = new_token(p, object ? JR_OBJECT : JR_ARRAY);
	if (i == (size_t)-1)
		return false;
	char close = object ? '}' : ']';
	p->pos++;
	skip_ws(p);
	if (at(p, close)) {
		p->pos++;
		return finish_token(p, i);
	}
	for (;;) {
		skip_ws(p);
		if (object) {
			if (!at(p, '"'))
				return fail(p, "expected a member name");
			if (!parse_string(p))
				return false;
			skip_ws(p);
			if (!at(p, ':'))
				return fail(p, "expected ':'");
			p->pos++;
		}
		if (!parse_value(p, depth + 1))
			return false;
		if (p->d->tok[i].count == UINT32_MAX)
			return fail(p, "too many members");
		p->d->tok[i].count++;
		skip_ws(p);
		if (at(p, ',')) {
			p->pos++;
			continue;
		}
		if (at(p, close)) {
			p->pos++;
			return finish_token(p, i);
		}
		return fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static bool parse_value(struct parser *p, unsigned depth)
{
	skip_ws(p);
	if (p->pos >= p->d->len)
		return fail(p, "unexpected end");
	char c = p->d->text[p->pos];
	switch (c) {
	case '{': return parse_container(p, depth, true);
	case '[': return parse_container(p, depth, false);
	case '"': return parse_string(p);
	case 't': return parse_literal(p, "true", JR_TRUE);
	case 'f': return parse_literal(p, "false", JR_FALSE);
	case 'n': return parse_literal(p, "null", JR_NULL);
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return parse_number(p);
		return fail(p, "unexpected character");
	}
}

bool jr_parse(struct jr_doc *d, const char *text, size_t len, struct jr_token *tok, size_t cap,
              char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	d->text = text;
	d->len = len;
	d->tok = tok;
	d->cap = cap;
	if (errlen)
		err[0] = '\0';
	struct parser p = { .d = d, .err = err, .errlen = errlen };
	if (!text || len > JR_MAX_TEXT) {
		d->ntok = 0;
		return fail(&p, "document too large");
	}
	if (!parse_value(&p, 0)) {
		d->ntok = 0;
		return false;
	}
	skip_ws(&p);
	if (p.pos != len) {
		d->ntok = 0;
		return fail(&p, "data after the document");
	}
	return true;
}

static bool valid(const struct jr_doc *d, size_t i)
{
	return i > 0 && i < d->ntok;
}

size_t jr_first(const struct jr_doc *d, size_t c)
{
	if (c >= d->ntok || (d->tok[c].type != JR_OBJECT && d->tok[c].type != JR_ARRAY) ||
	    !d->tok[c].count)
		return 0;
	return c + 1;
}

size_t jr_after(const struct jr_doc *d, size_t c, size_t i)
{
	if (c >= d->ntok || i <= c || i >= d->ntok)
		return 0;
	size_t n = d->tok[i].next;
	return n < d->tok[c].next ? n : 0;
}

/* Compares string token i with key without unescaping (the keys read here
 * are plain ASCII; an escaped key simply does not match). */
static bool key_is(const struct jr_doc *d, size_t i, const char *key)
{
	const struct jr_token *t = &d->tok[i];
	size_t n = strlen(key);
	return t->type == JR_STRING && t->end - t->start == n && !memcmp(d->text + t->start, key, n);
}

size_t jr_member(const struct jr_doc *d, size_t obj, const char *key)
{
	if (obj >= d->ntok || d->tok[obj].type != JR_OBJECT)
		return 0;
	for (size_t k = jr_first(d, obj); k; ) {
		size_t v = jr_after(d, obj, k);
		if (!v)
			return 0;
		if (key_is(d, k, key))
			return v;
		k = jr_after(d, obj, v);
	}
	return 0;
}

bool jr_u64(const struct jr_doc *d, size_t i, uint64_t *out)
{
	if (!valid(d, i) || d->tok[i].type != JR_NUMBER)
		return false;
	uint64_t v = 0;
	const struct jr_token *t = &d->tok[i];
	for (uint32_t k = t->start; k < t->end; k++) {
		char c = d->text[k];
		if (c < '0' || c > '9')
			return false;   /* a sign, a fraction or an exponent */
		unsigned dgt = (unsigned)(c - '0');
		if (v > (UINT64_MAX - dgt) / 10)
			return false;
		v = v * 10 + dgt;
	}
	*out = v;
	return true;
}

bool jr_bool(const struct jr_doc *d, size_t i, bool *out)
{
	if (!valid(d, i) || (d->tok[i].type != JR_TRUE && d->tok[i].type != JR_FALSE))
		return false;
	*out = d->tok[i].type == JR_TRUE;
	return true;
}

bool jr_is_null(const struct jr_doc *d, size_t i)
{
	return valid(d, i) && d->tok[i].type == JR_NULL;
}

/* Appends code point u as UTF-8 if all of it fits (with the NUL). */
static bool put_utf8(char *out, size_t len, size_t *n, unsigned long u)
{
	char b[4];
	size_t k;
	if (u < 0x80) {
		b[0] = (char)u;
		k = 1;
	} else if (u < 0x800) {
		b[0] = (char)(0xc0 | (u >> 6));
		b[1] = (char)(0x80 | (u & 0x3f));
		k = 2;
	} else if (u < 0x10000) {
		b[0] = (char)(0xe0 | (u >> 12));
		b[1] = (char)(0x80 | ((u >> 6) & 0x3f));
		b[2] = (char)(0x80 | (u & 0x3f));
		k = 3;
	} else {
		b[0] = (char)(0xf0 | (u >> 18));
		b[1] = (char)(0x80 | ((u >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((u >> 6) & 0x3f));
		b[3] = (char)(0x80 | (u & 0x3f));
		k = 4;
	}
	if (*n + k >= len)
		return false;
	memcpy(out + *n, b, k);
	*n += k;
	return true;
}

bool jr_string(const struct jr_doc *d, size_t i, char *out, size_t len)
{
	if (!len || !valid(d, i) || d->tok[i].type != JR_STRING)
		return false;
	const char *s = d->text;
	size_t n = 0, k = d->tok[i].start, end = d->tok[i].end;
	/* The parser checked the escapes; the reads stay inside [start, end). */
	while (k < end) {
		unsigned long u;
		if (s[k] != '\\') {
			/* Raw bytes are copied whole characters at a time, so a cut
			 * never splits a UTF-8 sequence. */
			size_t cl = 1;
			unsigned char c = (unsigned char)s[k];
			if (c >= 0xc0)
				while (k + cl < end && cl < 4 && ((unsigned char)s[k + cl] & 0xc0) == 0x80)
					cl++;
			if (n + cl >= len)
				break;
			memcpy(out + n, s + k, cl);
			n += cl;
			k += cl;
			continue;
		}
		char e = s[k + 1];
		if (e == 'u') {
			u = (unsigned long)hex4(s, end, k + 2);
			k += 6;
			if (u >= 0xd800 && u <= 0xdbff) {
				unsigned long lo = (unsigned long)hex4(s, end, k + 2);
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
				k += 6;
			}
		} else {
			u = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r'
			    : e == 't' ? '\t' : (unsigned char)e;
			k += 2;
		}
		if (!put_utf8(out, len, &n, u))
			break;
	}
	out[n] = '\0';
	return true;
}
