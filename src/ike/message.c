/*
 * The IKEv2 message codec (see message.h).
 *
 * Decoding: every read goes through struct reader, which knows how many
 * bytes are left and refuses to go past them; a structure with a length
 * field is read through a sub-reader of exactly that length, so nothing
 * inside it can reach the bytes after it. A length field is compared with
 * what is left before anything is read with it.
 *
 * Encoding: struct ike_writer checks room on every put and remembers its
 * first error; lengths and next-payload fields are patched once the
 * payload they describe is complete.
 */
#include "ike/message.h"

#include <string.h>

#define NOWHERE SIZE_MAX
#define CRITICAL_BIT 0x80
#define PROPOSAL_MORE 2              /* the "Last Substruc" values of RFC 7296 §3.3 */
#define TRANSFORM_MORE 3
#define TS_IPV4_LEN 16
#define TS_IPV6_LEN 40
#define NAT_DETECTION_LEN 20         /* a SHA-1 hash (RFC 7296 §2.23) */

static bool fail(const char **why, const char *what)
{
	if (why)
		*why = what;
	return false;
}

/* ---- The reader ---------------------------------------------------------- */

struct reader {
	const uint8_t *p;
	size_t left;
};

static struct reader reader(const uint8_t *p, size_t len)
{
	return (struct reader){ .p = p, .left = len };
}

/* n bytes, or NULL (and nothing consumed) when fewer are left. */
static const uint8_t *take(struct reader *r, size_t n)
{
	if (n > r->left)
		return NULL;
	const uint8_t *q = r->p;
	r->p += n;
	r->left -= n;
	return q;
}

/* The fixed-size reads return 0 past the end; callers check r->left for the
 * whole fixed part first, so that is only a backstop. */
static uint8_t get8(struct reader *r)
{
	const uint8_t *q = take(r, 1);
	return q ? q[0] : 0;
}

static uint16_t get16(struct reader *r)
{
	const uint8_t *q = take(r, 2);
	return q ? (uint16_t)(q[0] << 8 | q[1]) : 0;
}

static uint32_t get32(struct reader *r)
{
	const uint8_t *q = take(r, 4);
	return q ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3] : 0;
}

static uint64_t get64(struct reader *r)
{
	uint64_t hi = get32(r);
	return hi << 32 | get32(r);
}

/* The next n bytes as a reader of their own (empty if fewer are left). */
static struct reader sub(struct reader *r, size_t n)
{
	const uint8_t *q = take(r, n);
	return q ? reader(q, n) : reader(r->p, 0);
}

static struct reader body_reader(const struct ike_payload *p)
{
	return reader(p->body, p->len);
}

/* ---- SA ------------------------------------------------------------------ */

/* The attributes of one transform (RFC 7296 §3.3.5): TV (AF set, a 2-byte
 * value) or TLV (a 2-byte length, then the value). Only Key Length is
 * defined for IKEv2, and only in TV format. */
static bool decode_attrs(struct reader *r, struct ike_transform *t, const char **why)
{
	bool have_kl = false;
	t->key_length = 0;
	t->unknown_attrs = 0;
	while (r->left) {
		if (r->left < 4)
			return fail(why, "transform attribute truncated");
		uint16_t type = get16(r), v = get16(r);
		bool tv = type & IKE_ATTR_TV;
		if (!tv && !take(r, v))
			return fail(why, "transform attribute longer than its transform");
		if ((type & ~IKE_ATTR_TV) != IKE_ATTR_KEY_LENGTH) {
			t->unknown_attrs++;
			continue;
		}
		if (!tv)
			return fail(why, "Key Length attribute not in TV format");
		if (have_kl)
			return fail(why, "Key Length attribute repeated");
		if (v == 0)
			return fail(why, "Key Length attribute of 0");
		have_kl = true;
		t->key_length = v;
	}
	return true;
}

static bool decode_transform(struct reader *r, struct ike_transform *t, bool last,
                             const char **why)
{
	if (r->left < 8)
		return fail(why, "transform truncated (fewer than the proposal counts)");
	uint8_t more = get8(r);
	get8(r);                                  /* reserved */
	size_t tlen = get16(r);
	if (tlen < 8 || tlen - 4 > r->left)
		return fail(why, "transform length beyond its proposal");
	/* Inherited from ISAKMP and redundant with the count: it must agree. */
	if (more != (last ? 0 : TRANSFORM_MORE))
		return fail(why, "transform Last Substruc disagrees with the count");
	struct reader tr = sub(r, tlen - 4);
	t->type = get8(&tr);
	get8(&tr);                                /* reserved */
	t->id = get16(&tr);
	t->attrs = tr.p;
	t->attrs_len = tr.left;
	return decode_attrs(&tr, t, why);
}

static bool decode_proposal(struct reader *r, struct ike_sa *sa, size_t *used,
                            const char **why)
{
	struct ike_proposal *prop = &sa->prop[sa->count];
	if (r->left < 8)
		return fail(why, "proposal truncated");
	uint8_t more = get8(r);
	get8(r);                                  /* reserved */
	size_t plen = get16(r);
	if (plen < 8 || plen - 4 > r->left)
		return fail(why, "proposal length beyond the SA payload");
	struct reader pr = sub(r, plen - 4);
	if (more != (r->left ? PROPOSAL_MORE : 0))
		return fail(why, "proposal Last Substruc disagrees with its position");
	prop->num = get8(&pr);
	prop->protocol = get8(&pr);
	prop->spi_size = get8(&pr);
	size_t n = get8(&pr);
	if (prop->spi_size != 0 && prop->spi_size != 4 && prop->spi_size != 8)
		return fail(why, "proposal SPI size not 0, 4 or 8");
	const uint8_t *spi = take(&pr, prop->spi_size);
	if (!spi)
		return fail(why, "proposal SPI beyond its proposal");
	memset(prop->spi, 0, sizeof(prop->spi));
	memcpy(prop->spi, spi, prop->spi_size);
	if (n == 0)
		return fail(why, "proposal without transforms");
	if (n > IKE_MAX_TRANSFORMS - *used)
		return fail(why, "too many transforms in the SA payload");
	struct ike_transform *xf = &sa->pool[*used];
	for (size_t i = 0; i < n; i++)
		if (!decode_transform(&pr, &xf[i], i + 1 == n, why))
			return false;
	if (pr.left)
		return fail(why, "bytes after the last transform of a proposal");
	prop->xf = xf;
	prop->count = n;
	*used += n;
	return true;
}

/* RFC 7296 §3.3.1: offers are numbered 1, 2, 3, ...; an answer holds the
 * one proposal it accepted, under the number the offer gave it. */
static bool numbering_ok(const struct ike_sa *sa, const char **why)
{
	if (sa->count == 1)
		return sa->prop[0].num != 0 || fail(why, "proposal number 0");
	for (size_t i = 0; i < sa->count; i++)
		if (sa->prop[i].num != i + 1)
			return fail(why, "proposal numbers are not 1, 2, 3, ...");
	return true;
}

bool ike_decode_sa(const struct ike_payload *p, struct ike_sa *sa, const char **why)
{
	struct reader r = body_reader(p);
	size_t used = 0;
	sa->count = 0;
	if (!r.left)
		return fail(why, "SA payload without proposals");
	while (r.left) {
		if (sa->count == IKE_MAX_PROPOSALS)
			return fail(why, "too many proposals");
		if (!decode_proposal(&r, sa, &used, why))
			return false;
		sa->count++;
	}
	return numbering_ok(sa, why);
}

/* ---- The other payloads ---------------------------------------------------- */

bool ike_decode_ke(const struct ike_payload *p, struct ike_ke *ke, const char **why)
{
	struct reader r = body_reader(p);
	if (r.left < 5)
		return fail(why, "KE payload without key exchange data");
	ke->group = get16(&r);
	get16(&r);                                /* reserved */
	ke->data = r.p;
	ke->len = r.left;
	return true;
}

bool ike_decode_id(const struct ike_payload *p, struct ike_id *id, const char **why)
{
	struct reader r = body_reader(p);
	if (r.left < 4)
		return fail(why, "ID payload truncated");
	id->type = get8(&r);
	take(&r, 3);                              /* reserved */
	id->data = r.p;
	id->len = r.left;
	switch (id->type) {
	case IKE_ID_IPV4_ADDR:
		return id->len == 4 || fail(why, "ID_IPV4_ADDR not 4 bytes");
	case IKE_ID_IPV6_ADDR:
		return id->len == 16 || fail(why, "ID_IPV6_ADDR not 16 bytes");
	case IKE_ID_FQDN:
	case IKE_ID_RFC822_ADDR:
	case IKE_ID_DER_ASN1_DN:
	case IKE_ID_KEY_ID:
		return id->len > 0 || fail(why, "empty identification data");
	default:
		return true;                      /* for the caller to refuse or not */
	}
}

bool ike_decode_auth(const struct ike_payload *p, struct ike_auth *a, const char **why)
{
	struct reader r = body_reader(p);
	if (r.left < 5)
		return fail(why, "AUTH payload without authentication data");
	a->method = get8(&r);
	take(&r, 3);                              /* reserved */
	a->data = r.p;
	a->len = r.left;
	a->alg = NULL;
	a->alg_len = 0;
	a->sig = a->data;
	a->sig_len = a->len;
	if (a->method != IKE_AUTH_DIGITAL_SIGNATURE)
		return true;
	/* RFC 7427 §3: ASN.1 length (1) | AlgorithmIdentifier | signature. */
	size_t alen = get8(&r);
	a->alg = take(&r, alen);
	if (alen == 0 || !a->alg || r.left == 0)
		return fail(why, "signature AlgorithmIdentifier length wrong");
	a->alg_len = alen;
	a->sig = r.p;
	a->sig_len = r.left;
	return true;
}

bool ike_decode_nonce(const struct ike_payload *p, struct ike_data *n, const char **why)
{
	if (p->len < IKE_NONCE_MIN || p->len > IKE_NONCE_MAX)
		return fail(why, "nonce not 16 to 256 bytes");
	n->data = p->body;
	n->len = p->len;
	return true;
}

/* The notifications whose data secpold reads have a fixed shape; checking
 * it here spares each reader the check. */
static bool notify_data_ok(uint16_t type, size_t len)
{
	switch (type) {
	case IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD: return len == 1;
	case IKE_N_INVALID_KE_PAYLOAD: return len == 2;
	case IKE_N_SET_WINDOW_SIZE: return len == 4;
	case IKE_N_NAT_DETECTION_SOURCE_IP:
	case IKE_N_NAT_DETECTION_DESTINATION_IP: return len == NAT_DETECTION_LEN;
	case IKE_N_COOKIE: return len >= 1 && len <= IKE_COOKIE_MAX;
	case IKE_N_SIGNATURE_HASH_ALGORITHMS: return len % 2 == 0;
	default: return true;
	}
}

bool ike_decode_notify(const struct ike_payload *p, struct ike_notify *n, const char **why)
{
	struct reader r = body_reader(p);
	if (r.left < 4)
		return fail(why, "Notify payload truncated");
	n->protocol = get8(&r);
	n->spi_size = get8(&r);
	n->type = get16(&r);
	if (n->spi_size != 0 && n->spi_size != 4 && n->spi_size != 8)
		return fail(why, "Notify SPI size not 0, 4 or 8");
	n->spi = take(&r, n->spi_size);
	if (!n->spi)
		return fail(why, "Notify SPI beyond the payload");
	n->data = r.p;
	n->len = r.left;
	return notify_data_ok(n->type, n->len) || fail(why, "Notify data length wrong for its type");
}

bool ike_decode_delete(const struct ike_payload *p, struct ike_delete *d, const char **why)
{
	struct reader r = body_reader(p);
	if (r.left < 4)
		return fail(why, "Delete payload truncated");
	d->protocol = get8(&r);
	d->spi_size = get8(&r);
	d->count = get16(&r);
	switch (d->protocol) {
	case IKE_PROTO_IKE:                       /* the IKE SA the message belongs to */
		if (d->spi_size != 0 || d->count != 0)
			return fail(why, "Delete of the IKE SA with SPIs");
		break;
	case IKE_PROTO_AH:
	case IKE_PROTO_ESP:
		if (d->spi_size != 4)
			return fail(why, "Delete of AH/ESP SAs with an SPI size other than 4");
		break;
	default:
		return fail(why, "Delete of an unknown protocol");
	}
	d->spis = take(&r, (size_t)d->count * d->spi_size);
	if (!d->spis || r.left)
		return fail(why, "Delete SPIs do not fill the payload");
	return true;
}

uint32_t ike_delete_spi(const struct ike_delete *d, size_t i)
{
	if (d->spi_size != 4 || i >= d->count)
		return 0;
	struct reader r = reader(d->spis + 4 * i, 4);
	return get32(&r);
}

static bool decode_selector(struct reader *r, struct ike_ts_sel *s, const char **why)
{
	if (r->left < 4)
		return fail(why, "traffic selector truncated (fewer than the count)");
	memset(s, 0, sizeof(*s));
	s->type = get8(r);
	s->protocol = get8(r);
	size_t slen = get16(r);
	if (slen < 4 || slen - 4 > r->left)
		return fail(why, "traffic selector length beyond the payload");
	struct reader sr = sub(r, slen - 4);
	size_t alen;
	switch (s->type) {
	case IKE_TS_IPV4_ADDR_RANGE:
		if (slen != TS_IPV4_LEN)
			return fail(why, "IPv4 traffic selector length not 16");
		alen = 4;
		break;
	case IKE_TS_IPV6_ADDR_RANGE:
		if (slen != TS_IPV6_LEN)
			return fail(why, "IPv6 traffic selector length not 40");
		alen = 16;
		break;
	default:
		s->raw = sr.p;
		s->raw_len = sr.left;
		return true;
	}
	s->start_port = get16(&sr);
	s->end_port = get16(&sr);
	memcpy(s->start, take(&sr, alen), alen);
	memcpy(s->end, take(&sr, alen), alen);
	return true;
}

bool ike_decode_ts(const struct ike_payload *p, struct ike_ts *ts, const char **why)
{
	struct reader r = body_reader(p);
	if (r.left < 4)
		return fail(why, "TS payload truncated");
	ts->count = get8(&r);
	take(&r, 3);                              /* reserved */
	if (ts->count == 0)
		return fail(why, "TS payload without selectors");
	if (ts->count > IKE_MAX_TS)
		return fail(why, "too many traffic selectors");
	for (size_t i = 0; i < ts->count; i++)
		if (!decode_selector(&r, &ts->sel[i], why))
			return false;
	return r.left == 0 || fail(why, "bytes after the last traffic selector");
}

bool ike_decode_cert(const struct ike_payload *p, struct ike_cert *c, const char **why)
{
	struct reader r = body_reader(p);
	if (r.left < 1)
		return fail(why, "CERT/CERTREQ payload without encoding");
	c->encoding = get8(&r);
	c->data = r.p;
	c->len = r.left;
	/* A CERTREQ may name no CA (any will do); a CERT must hold something. */
	return c->len > 0 || p->type != IKE_PL_CERT || fail(why, "empty CERT payload");
}

bool ike_decode_vendor(const struct ike_payload *p, struct ike_data *v, const char **why)
{
	(void)why;
	v->data = p->body;
	v->len = p->len;
	return true;
}

/* RFC 7296 §3.15.1: R bit + 15-bit type, 2-byte length, value. */
bool ike_decode_cp(const struct ike_payload *p, struct ike_cp *cp, const char **why)
{
	struct reader r = body_reader(p);
	if (r.left < 4)
		return fail(why, "CP payload truncated");
	cp->type = get8(&r);
	take(&r, 3);                              /* reserved */
	cp->attrs = r.p;
	cp->len = r.left;
	while (r.left) {
		if (r.left < 4)
			return fail(why, "configuration attribute truncated");
		get16(&r);
		if (!take(&r, get16(&r)))
			return fail(why, "configuration attribute length beyond the payload");
	}
	return true;
}

/* An EAP message (RFC 3748 §4): code, identifier, length of the whole. */
bool ike_decode_eap(const struct ike_payload *p, struct ike_data *e, const char **why)
{
	struct reader r = body_reader(p);
	if (r.left < 4)
		return fail(why, "EAP payload truncated");
	take(&r, 2);
	if (get16(&r) != p->len)
		return fail(why, "EAP length differs from the payload's");
	e->data = p->body;
	e->len = p->len;
	return true;
}

bool ike_decode_sk(const struct ike_payload *p, struct ike_sk *sk, const char **why)
{
	(void)why;
	sk->next = p->next;
	sk->data = p->body;
	sk->len = p->len;
	return true;
}

bool ike_decode_skf(const struct ike_payload *p, struct ike_skf *f, const char **why)
{
	struct reader r = body_reader(p);
	if (r.left < 4)
		return fail(why, "SKF payload truncated");
	f->number = get16(&r);
	f->total = get16(&r);
	f->next = p->next;
	f->data = r.p;
	f->len = r.left;
	/* RFC 7383 §2.6: such a fragment is to be discarded. */
	if (f->number == 0 || f->number > f->total)
		return fail(why, "SKF fragment number not in 1 .. total");
	return true;
}

/* ---- The payload chain ------------------------------------------------------ */

static bool known(uint8_t type)
{
	return (type >= IKE_PL_SA && type <= IKE_PL_EAP) || type == IKE_PL_SKF;
}

/* RFC 7296 §3 allows these once per message (SK, SKF: they are last). */
static bool once_only(uint8_t type)
{
	switch (type) {
	case IKE_PL_SA: case IKE_PL_KE: case IKE_PL_IDI: case IKE_PL_IDR: case IKE_PL_AUTH:
	case IKE_PL_NONCE: case IKE_PL_TSI: case IKE_PL_TSR: case IKE_PL_SK: case IKE_PL_SKF:
		return true;
	default:
		return false;
	}
}

static bool sealed_type(uint8_t type)
{
	return type == IKE_PL_SK || type == IKE_PL_SKF;
}

/* Decodes the body of a known payload into scratch space: is it well formed? */
static bool check_body(uint8_t type, uint8_t next, const uint8_t *body, size_t len,
                       const char **why)
{
	const struct ike_payload p = { .type = type, .next = next, .body = body, .len = len };
	union {
		struct ike_sa sa;
		struct ike_ke ke;
		struct ike_id id;
		struct ike_auth auth;
		struct ike_data data;
		struct ike_notify notify;
		struct ike_delete del;
		struct ike_ts ts;
		struct ike_cert cert;
		struct ike_cp cp;
		struct ike_sk sk;
		struct ike_skf skf;
	} u;
	switch (type) {
	case IKE_PL_SA: return ike_decode_sa(&p, &u.sa, why);
	case IKE_PL_KE: return ike_decode_ke(&p, &u.ke, why);
	case IKE_PL_IDI: case IKE_PL_IDR: return ike_decode_id(&p, &u.id, why);
	case IKE_PL_CERT: case IKE_PL_CERTREQ: return ike_decode_cert(&p, &u.cert, why);
	case IKE_PL_AUTH: return ike_decode_auth(&p, &u.auth, why);
	case IKE_PL_NONCE: return ike_decode_nonce(&p, &u.data, why);
	case IKE_PL_NOTIFY: return ike_decode_notify(&p, &u.notify, why);
	case IKE_PL_DELETE: return ike_decode_delete(&p, &u.del, why);
	case IKE_PL_VENDOR: return ike_decode_vendor(&p, &u.data, why);
	case IKE_PL_TSI: case IKE_PL_TSR: return ike_decode_ts(&p, &u.ts, why);
	case IKE_PL_CP: return ike_decode_cp(&p, &u.cp, why);
	case IKE_PL_EAP: return ike_decode_eap(&p, &u.data, why);
	case IKE_PL_SK: return ike_decode_sk(&p, &u.sk, why);
	case IKE_PL_SKF: return ike_decode_skf(&p, &u.skf, why);
	default: return true;                     /* not ours to judge */
	}
}

static enum ike_decode_status syntax(const char **why, const char *what)
{
	fail(why, what);
	return IKE_DECODE_SYNTAX;
}

/* One payload of the chain at r: checks it and adds it to m. *next: the
 * type of the one after it (0 after SK/SKF, whose field names what is
 * inside). *critical: set to the type of the first unknown critical one. */
static enum ike_decode_status walk_one(struct reader *r, uint8_t *next, bool outer,
                                       struct ike_message *m, uint64_t *seen,
                                       uint8_t *critical, const char **why)
{
	uint8_t type = *next;
	if (r->left < IKE_PAYLOAD_HEADER_LEN)
		return syntax(why, "payload header truncated");
	uint8_t field = r->p[0];
	bool crit = r->p[1] & CRITICAL_BIT;
	size_t plen = (size_t)r->p[2] << 8 | r->p[3];
	if (plen < IKE_PAYLOAD_HEADER_LEN)
		return syntax(why, "payload length below 4");
	if (plen > r->left)
		return syntax(why, "payload length beyond the message");
	struct reader body = sub(r, plen);
	take(&body, IKE_PAYLOAD_HEADER_LEN);
	*next = field;
	if (!known(type)) {
		/* RFC 7296 §2.5: skip it, unless the sender said not to. */
		if (!crit)
			m->skipped++;
		else if (!*critical)
			*critical = type;
		return IKE_DECODE_OK;
	}
	uint64_t bit = (uint64_t)1 << (type & 63);   /* known types are below 64 */
	if (once_only(type) && (*seen & bit))
		return syntax(why, "payload repeated that may occur once");
	*seen |= bit;
	if (sealed_type(type)) {
		if (!outer)
			return syntax(why, "SK or SKF inside an encrypted payload");
		if (r->left)
			return syntax(why, "payload after SK or SKF");
		*next = IKE_PL_NONE;
	}
	if (!check_body(type, field, body.p, body.left, why))
		return IKE_DECODE_SYNTAX;
	m->payload[m->count++] = (struct ike_payload){
		.type = type, .next = field, .critical = crit, .body = body.p, .len = body.left,
	};
	return IKE_DECODE_OK;
}

static enum ike_decode_status walk(const uint8_t *buf, size_t len, uint8_t next, bool outer,
                                   struct ike_message *m, const char **why)
{
	struct reader r = reader(buf, len);
	uint64_t seen = 0;
	uint8_t critical = 0;
	m->count = 0;
	m->skipped = 0;
	for (size_t n = 0; next != IKE_PL_NONE; n++) {
		m->bad_payload = next;
		if (n == IKE_MAX_PAYLOADS)
			return syntax(why, "too many payloads");
		enum ike_decode_status st = walk_one(&r, &next, outer, m, &seen, &critical, why);
		if (st != IKE_DECODE_OK)
			return st;
	}
	m->bad_payload = 0;
	if (r.left)
		return syntax(why, "bytes after the last payload");
	if (critical) {
		m->bad_payload = critical;
		fail(why, "unsupported critical payload");
		return IKE_DECODE_CRITICAL;
	}
	return IKE_DECODE_OK;
}

static void decode_header(struct reader *r, struct ike_header *h)
{
	h->spi_i = get64(r);
	h->spi_r = get64(r);
	h->next_payload = get8(r);
	uint8_t version = get8(r);
	h->major = version >> 4;
	h->minor = version & 0x0f;
	h->exchange = get8(r);
	h->flags = get8(r) & IKE_FLAGS_KNOWN;     /* §3.1: the others are ignored */
	h->message_id = get32(r);
	h->length = get32(r);
}

enum ike_decode_status ike_decode(const uint8_t *buf, size_t len, struct ike_message *m,
                                  const char **why)
{
	struct reader r = reader(buf, len);
	m->count = 0;
	m->skipped = 0;
	m->bad_payload = 0;
	if (len < IKE_HEADER_LEN)
		return syntax(why, "shorter than the IKE header");
	decode_header(&r, &m->hdr);
	/* §1.5/§2.5: a higher major version is answered as such, whatever follows. */
	if (m->hdr.major != 2) {
		fail(why, "major version not 2");
		return IKE_DECODE_VERSION;
	}
	if (m->hdr.length != len)
		return syntax(why, "header length differs from the message's");
	if (m->hdr.spi_i == 0)
		return syntax(why, "initiator SPI 0");
	return walk(r.p, r.left, m->hdr.next_payload, true, m, why);
}

enum ike_decode_status ike_decode_inner(const uint8_t *buf, size_t len, uint8_t first,
                                        struct ike_message *m, const char **why)
{
	m->bad_payload = 0;
	return walk(buf, len, first, false, m, why);
}

const struct ike_payload *ike_find(const struct ike_message *m, uint8_t type)
{
	for (size_t i = 0; i < m->count; i++)
		if (m->payload[i].type == type)
			return &m->payload[i];
	return NULL;
}

bool ike_find_notify(const struct ike_message *m, uint16_t type, struct ike_notify *n)
{
	struct ike_notify tmp;
	if (!n)
		n = &tmp;
	for (size_t i = 0; i < m->count; i++)
		if (m->payload[i].type == IKE_PL_NOTIFY && ike_decode_notify(&m->payload[i], n, NULL) &&
		    n->type == type)
			return true;
	return false;
}

/* ---- The writer ---------------------------------------------------------------- */

static void werr(struct ike_writer *w, const char *why)
{
	if (!w->err) {
		w->err = true;
		w->why = why;
	}
}

void ike_writer_init(struct ike_writer *w, uint8_t *buf, size_t cap)
{
	*w = (struct ike_writer){ .buf = buf, .cap = cap, .link = NOWHERE, .open = NOWHERE };
	if (!buf)
		werr(w, "no buffer");
}

uint8_t *ike_reserve(struct ike_writer *w, size_t n)
{
	if (w->err)
		return NULL;
	if (n > w->cap - w->len) {
		werr(w, "buffer too small");
		return NULL;
	}
	uint8_t *p = w->buf + w->len;
	memset(p, 0, n);
	w->len += n;
	return p;
}

void ike_put_bytes(struct ike_writer *w, const void *p, size_t n)
{
	if (n && !p) {
		werr(w, "no data");
		return;
	}
	uint8_t *q = ike_reserve(w, n);
	if (q && n)
		memcpy(q, p, n);
}

void ike_put_u8(struct ike_writer *w, uint8_t v)
{
	ike_put_bytes(w, &v, 1);
}

void ike_put_u16(struct ike_writer *w, uint16_t v)
{
	ike_put_bytes(w, (uint8_t[]){ (uint8_t)(v >> 8), (uint8_t)v }, 2);
}

void ike_put_u32(struct ike_writer *w, uint32_t v)
{
	ike_put_u16(w, (uint16_t)(v >> 16));
	ike_put_u16(w, (uint16_t)v);
}

static void put_zero(struct ike_writer *w, size_t n)
{
	ike_reserve(w, n);
}

/* The 16-bit length at off: everything from start to the end. */
static void patch_length(struct ike_writer *w, size_t off, size_t start)
{
	if (w->err)
		return;
	size_t n = w->len - start;
	if (n > UINT16_MAX) {
		werr(w, "structure longer than 65535 bytes");
		return;
	}
	w->buf[off] = (uint8_t)(n >> 8);
	w->buf[off + 1] = (uint8_t)n;
}

void ike_put_header(struct ike_writer *w, const struct ike_header *h)
{
	if (w->len != 0)
		werr(w, "header not first");
	ike_put_u32(w, (uint32_t)(h->spi_i >> 32));
	ike_put_u32(w, (uint32_t)h->spi_i);
	ike_put_u32(w, (uint32_t)(h->spi_r >> 32));
	ike_put_u32(w, (uint32_t)h->spi_r);
	ike_put_u8(w, IKE_PL_NONE);               /* set by the first payload */
	ike_put_u8(w, (uint8_t)(h->major << 4 | (h->minor & 0x0f)));
	ike_put_u8(w, h->exchange);
	ike_put_u8(w, h->flags & IKE_FLAGS_KNOWN);
	ike_put_u32(w, h->message_id);
	ike_put_u32(w, 0);                        /* set by ike_finish() */
	if (!w->err) {
		w->link = 16;
		w->header = true;
	}
}

void ike_payload_begin(struct ike_writer *w, uint8_t type, bool critical)
{
	if (w->open != NOWHERE)
		werr(w, "payload begun inside another");
	if (w->sealed)
		werr(w, "payload after SK or SKF");
	if (type == IKE_PL_NONE)
		werr(w, "payload of type 0");
	size_t start = w->len;
	uint8_t *h = ike_reserve(w, IKE_PAYLOAD_HEADER_LEN);
	if (!h)
		return;
	h[1] = critical ? CRITICAL_BIT : 0;
	if (w->link != NOWHERE)
		w->buf[w->link] = type;
	if (!w->first)
		w->first = type;
	/* SK's and SKF's own field names the first inner payload: nothing
	 * may come after them to claim it. */
	w->link = sealed_type(type) ? NOWHERE : start;
	w->sealed = sealed_type(type);
	w->open = start;
	w->open_type = type;
}

void ike_payload_end(struct ike_writer *w)
{
	if (w->open == NOWHERE)
		werr(w, "no payload to end");
	if (w->err)
		return;
	size_t start = w->open;
	w->open = NOWHERE;
	patch_length(w, start + 2, start);
	const char *why = NULL;
	if (!w->err && !check_body(w->open_type, w->buf[start], w->buf + start + 4,
	                           w->len - start - 4, &why))
		werr(w, why);
}

static void put_transform(struct ike_writer *w, const struct ike_transform *t, bool last)
{
	size_t start = w->len;
	ike_put_u8(w, last ? 0 : TRANSFORM_MORE);
	ike_put_u8(w, 0);
	ike_put_u16(w, 0);                        /* length */
	ike_put_u8(w, t->type);
	ike_put_u8(w, 0);
	ike_put_u16(w, t->id);
	if (t->attrs_len) {
		ike_put_bytes(w, t->attrs, t->attrs_len);
	} else if (t->key_length) {
		ike_put_u16(w, IKE_ATTR_TV | IKE_ATTR_KEY_LENGTH);
		ike_put_u16(w, t->key_length);
	}
	patch_length(w, start + 2, start);
}

static void put_proposal(struct ike_writer *w, const struct ike_proposal *p, bool last)
{
	if (p->count > UINT8_MAX || p->spi_size > sizeof(p->spi) || (p->count && !p->xf)) {
		werr(w, "proposal not encodable");
		return;
	}
	size_t start = w->len;
	ike_put_u8(w, last ? 0 : PROPOSAL_MORE);
	ike_put_u8(w, 0);
	ike_put_u16(w, 0);                        /* length */
	ike_put_u8(w, p->num);
	ike_put_u8(w, p->protocol);
	ike_put_u8(w, p->spi_size);
	ike_put_u8(w, (uint8_t)p->count);
	ike_put_bytes(w, p->spi, p->spi_size);
	for (size_t i = 0; i < p->count; i++)
		put_transform(w, &p->xf[i], i + 1 == p->count);
	patch_length(w, start + 2, start);
}

bool ike_put_sa(struct ike_writer *w, const struct ike_proposal *prop, size_t n)
{
	ike_payload_begin(w, IKE_PL_SA, false);
	for (size_t i = 0; i < n; i++)
		put_proposal(w, &prop[i], i + 1 == n);
	ike_payload_end(w);
	return !w->err;
}

bool ike_put_ke(struct ike_writer *w, const struct ike_ke *ke)
{
	ike_payload_begin(w, IKE_PL_KE, false);
	ike_put_u16(w, ke->group);
	put_zero(w, 2);
	ike_put_bytes(w, ke->data, ke->len);
	ike_payload_end(w);
	return !w->err;
}

bool ike_put_id(struct ike_writer *w, uint8_t type, const struct ike_id *id)
{
	if (type != IKE_PL_IDI && type != IKE_PL_IDR)
		werr(w, "ID payload neither IDi nor IDr");
	ike_payload_begin(w, type, false);
	ike_put_u8(w, id->type);
	put_zero(w, 3);
	ike_put_bytes(w, id->data, id->len);
	ike_payload_end(w);
	return !w->err;
}

bool ike_put_auth(struct ike_writer *w, const struct ike_auth *a)
{
	ike_payload_begin(w, IKE_PL_AUTH, false);
	ike_put_u8(w, a->method);
	put_zero(w, 3);
	ike_put_bytes(w, a->data, a->len);
	ike_payload_end(w);
	return !w->err;
}

/* Payloads that are their data: Nonce, Vendor ID, EAP. */
static bool put_plain(struct ike_writer *w, uint8_t type, const uint8_t *data, size_t len)
{
	ike_payload_begin(w, type, false);
	ike_put_bytes(w, data, len);
	ike_payload_end(w);
	return !w->err;
}

bool ike_put_nonce(struct ike_writer *w, const uint8_t *nonce, size_t len)
{
	return put_plain(w, IKE_PL_NONCE, nonce, len);
}

bool ike_put_vendor(struct ike_writer *w, const uint8_t *vid, size_t len)
{
	return put_plain(w, IKE_PL_VENDOR, vid, len);
}

bool ike_put_eap(struct ike_writer *w, const uint8_t *eap, size_t len)
{
	return put_plain(w, IKE_PL_EAP, eap, len);
}

bool ike_put_notify(struct ike_writer *w, const struct ike_notify *n)
{
	ike_payload_begin(w, IKE_PL_NOTIFY, false);
	ike_put_u8(w, n->protocol);
	ike_put_u8(w, n->spi_size);
	ike_put_u16(w, n->type);
	ike_put_bytes(w, n->spi, n->spi_size);
	ike_put_bytes(w, n->data, n->len);
	ike_payload_end(w);
	return !w->err;
}

bool ike_put_delete(struct ike_writer *w, const struct ike_delete *d)
{
	ike_payload_begin(w, IKE_PL_DELETE, false);
	ike_put_u8(w, d->protocol);
	ike_put_u8(w, d->spi_size);
	ike_put_u16(w, d->count);
	ike_put_bytes(w, d->spis, (size_t)d->count * d->spi_size);
	ike_payload_end(w);
	return !w->err;
}

static void put_selector(struct ike_writer *w, const struct ike_ts_sel *s)
{
	size_t alen = s->type == IKE_TS_IPV4_ADDR_RANGE ? 4
	            : s->type == IKE_TS_IPV6_ADDR_RANGE ? 16 : 0;
	size_t start = w->len;
	ike_put_u8(w, s->type);
	ike_put_u8(w, s->protocol);
	ike_put_u16(w, 0);                        /* length */
	if (alen) {
		ike_put_u16(w, s->start_port);
		ike_put_u16(w, s->end_port);
		ike_put_bytes(w, s->start, alen);
		ike_put_bytes(w, s->end, alen);
	} else {
		ike_put_bytes(w, s->raw, s->raw_len);
	}
	patch_length(w, start + 2, start);
}

bool ike_put_ts(struct ike_writer *w, uint8_t type, const struct ike_ts *ts)
{
	if (type != IKE_PL_TSI && type != IKE_PL_TSR)
		werr(w, "TS payload neither TSi nor TSr");
	if (ts->count > IKE_MAX_TS)
		werr(w, "too many traffic selectors");
	ike_payload_begin(w, type, false);
	ike_put_u8(w, (uint8_t)ts->count);
	put_zero(w, 3);
	for (size_t i = 0; i < ts->count && !w->err; i++)
		put_selector(w, &ts->sel[i]);
	ike_payload_end(w);
	return !w->err;
}

bool ike_put_cert(struct ike_writer *w, uint8_t type, const struct ike_cert *c)
{
	if (type != IKE_PL_CERT && type != IKE_PL_CERTREQ)
		werr(w, "certificate payload neither CERT nor CERTREQ");
	ike_payload_begin(w, type, false);
	ike_put_u8(w, c->encoding);
	ike_put_bytes(w, c->data, c->len);
	ike_payload_end(w);
	return !w->err;
}

bool ike_put_cp(struct ike_writer *w, const struct ike_cp *cp)
{
	ike_payload_begin(w, IKE_PL_CP, false);
	ike_put_u8(w, cp->type);
	put_zero(w, 3);
	ike_put_bytes(w, cp->attrs, cp->len);
	ike_payload_end(w);
	return !w->err;
}

/* SK or SKF: the header's next field is the first inner payload's type;
 * then fixed (SKF's numbers), then the body, copied or reserved. */
static uint8_t *put_sealed(struct ike_writer *w, uint8_t type, uint8_t first,
                           const uint8_t *fixed, size_t flen, const uint8_t *data, size_t len)
{
	ike_payload_begin(w, type, false);
	if (!w->err)
		w->buf[w->open] = first;
	ike_put_bytes(w, fixed, flen);
	size_t at = w->len;
	if (data)
		ike_put_bytes(w, data, len);
	else
		ike_reserve(w, len);
	ike_payload_end(w);
	return w->err ? NULL : w->buf + at;
}

uint8_t *ike_put_sk(struct ike_writer *w, uint8_t first, const uint8_t *data, size_t len)
{
	return put_sealed(w, IKE_PL_SK, first, NULL, 0, data, len);
}

uint8_t *ike_put_skf(struct ike_writer *w, const struct ike_skf *f)
{
	const uint8_t numbers[4] = {
		(uint8_t)(f->number >> 8), (uint8_t)f->number, (uint8_t)(f->total >> 8), (uint8_t)f->total,
	};
	return put_sealed(w, IKE_PL_SKF, f->next, numbers, sizeof(numbers), f->data, f->len);
}

bool ike_finish(struct ike_writer *w)
{
	if (w->open != NOWHERE)
		werr(w, "payload left open");
	if (w->err)
		return false;
	if (w->header) {
		uint32_t n = (uint32_t)w->len;
		memcpy(w->buf + 24, (uint8_t[]){ (uint8_t)(n >> 24), (uint8_t)(n >> 16),
		                                 (uint8_t)(n >> 8), (uint8_t)n }, 4);
	}
	/* What we send must be what we would accept (a critical payload the
	 * codec does not know is the caller's to send). */
	struct ike_message m;
	const char *why = NULL;
	enum ike_decode_status st = w->header ? ike_decode(w->buf, w->len, &m, &why)
	                                      : ike_decode_inner(w->buf, w->len, w->first, &m, &why);
	if (st != IKE_DECODE_OK && st != IKE_DECODE_CRITICAL)
		werr(w, why);
	return !w->err;
}
