/*
 * ESP (RFC 4303) output and input, transport and tunnel mode, IPv4 and IPv6.
 *
 *   transport:  [IP hdr][ESP hdr][IV][ payload | pad | padlen | nh ][ICV]
 *   tunnel:     [outer IP][ESP hdr][IV][ inner packet | pad | padlen | nh ][ICV]
 *
 * The bracketed middle part is encrypted. Integrity covers ESP hdr .. end of
 * ciphertext, plus the high half of an extended sequence number, which is not
 * sent (§2.2.1); AEAD ciphers take SPI | seq as additional data instead
 * (RFC 4106 §5). Inbound order (§3.4): replay check, integrity, replay
 * update, decryption, trailer checks.
 */
#include "esp/esp.h"

#include <string.h>
#include <sys/socket.h>

#include "esp/xform.h"

#define ESP_HDR 8

static size_t icv_len(const struct ipsec_sa *sa)
{
	const struct crypto_enc_info *ei = crypto_enc_info(sa->enc);
	return ei->aead ? ei->icv_len : sa->mac.icv_len;
}

/* AEAD additional data: SPI | seq (| with ESN: SPI | seq high | seq low). */
static size_t make_aad(const struct ipsec_sa *sa, uint64_t seq, uint8_t aad[12])
{
	ip_put32(aad, sa->spi);
	if (sa->esn) {
		ip_put32(aad + 4, (uint32_t)(seq >> 32));
		ip_put32(aad + 8, (uint32_t)seq);
		return 12;
	}
	ip_put32(aad + 4, (uint32_t)seq);
	return 8;
}

/* The Monitor's Confidential and Authenticated bytes count what the
 * Transport/Tunnel bytes count -- the IP payload protected, before
 * encryption on send and after decryption on receive (ip-security-monitor.md
 * §4.4) -- each when the SA gives that protection: confidentiality by a
 * cipher (not NULL, not GMAC), integrity by an AEAD, GMAC or a MAC. */
static void count_protected(struct ipsec_sa *sa, const struct crypto_enc_info *ei, size_t plen)
{
	if (sa->enc != ENC_NULL && !ei->gmac)
		sa->count.conf_bytes += plen;
	if (ei->aead || sa->integ != MAC_NONE)
		sa->count.auth_bytes += plen;
}

enum sa_drop esp_output(struct ipsec_sa *sa, struct pkt *p, uint64_t now)
{
	const struct crypto_enc_info *ei = crypto_enc_info(sa->enc);
	uint8_t *d = pkt_data(p);
	struct out_place o;

	enum sa_drop why = sa_may_send(sa, now);
	if (why != DROP_NONE || (why = out_place(sa, d, p->len, &o)) != DROP_NONE)
		return why;
	size_t hlen = o.keep;
	size_t plen = p->len - hlen;
	size_t block = ei->block;
	size_t padded = (plen + 2 + block - 1) / block * block;
	size_t padlen = padded - plen - 2;
	size_t icv = icv_len(sa);
	size_t front = o.outer + ESP_HDR + ei->iv_len;
	size_t total = p->len + front + padlen + 2 + icv;
	if (p->off < front || p->cap - p->off - p->len < padlen + 2 + icv)
		return sa_drop(sa, DROP_NO_ROOM);
	if (total > 65535)
		return sa_drop(sa, DROP_BAD_LENGTH);
	if (sa_account(sa, plen, now) == SA_EVENT_HARD)
		return sa_drop(sa, DROP_LIFETIME);

	uint64_t seq = ++sa->seq;
	uint8_t tc = ip_traffic_class(d);     /* before the inner header is encrypted */
	/* Transport: the IP header moves into the headroom, in front of ESP. */
	uint8_t *start = d - front;
	if (hlen)
		memmove(start, d, hlen);
	uint8_t *esp = start + o.outer + hlen;
	uint8_t *iv = esp + ESP_HDR;
	uint8_t *body = iv + ei->iv_len;     /* = the payload, where it already is */
	ip_put32(esp, sa->spi);
	ip_put32(esp + 4, (uint32_t)seq);
	uint8_t *trailer = body + plen;
	for (size_t i = 0; i < padlen; i++)
		trailer[i] = (uint8_t)(i + 1);    /* §2.4 default padding */
	trailer[padlen] = (uint8_t)padlen;
	trailer[padlen + 1] = o.nh;
	uint8_t *icv_at = body + padded;

	bool ok;
	if (ei->aead) {
		/* The sequence number is the IV: unique for the life of the key (RFC 4106 §3.1). */
		uint8_t aad[12];
		ip_put32(iv, (uint32_t)(seq >> 32));
		ip_put32(iv + 4, (uint32_t)seq);
		size_t aad_len = make_aad(sa, seq, aad);
		ok = aead_seal(&sa->cipher, iv, aad, aad_len, body, padded, icv_at);
	} else {
		uint8_t hi[4];
		ip_put32(hi, (uint32_t)(seq >> 32));
		ok = (ei->iv_len == 0 || crypto_random(iv, ei->iv_len)) &&
		     cbc_crypt(&sa->cipher, iv, body, padded) &&
		     mac_compute(&sa->mac, esp, ESP_HDR + ei->iv_len + padded, hi,
		                 sa->esn ? 4 : 0, NULL, 0, icv_at);
	}
	if (!ok)
		return sa_drop(sa, DROP_DECRYPT);

	if (sa->mode == SA_TUNNEL) {
		ip_write_outer(start, o.version, sa->src.bytes, sa->dst.bytes, SA_PROTO_ESP, tc, total,
		               (uint16_t)seq);
	} else {
		start[o.nh_off] = SA_PROTO_ESP;
		ip_set_total(start, o.version, total);
	}
	p->off -= front;
	p->len = total;
	sa->count.packets++;
	sa->count.bytes += plen;
	count_protected(sa, ei, plen);
	return DROP_NONE;
}

enum sa_drop esp_input(struct ipsec_sa *sa, struct pkt *p, uint64_t now)
{
	struct ip_info ii;
	if (!sa_usable(sa, now))
		return sa_drop(sa, DROP_LIFETIME);
	if (!ip_find_proto(pkt_data(p), p->len, SA_PROTO_ESP, &ii))
		return sa_drop(sa, malformed(pkt_data(p), p->len));
	return esp_input_at(sa, p, now, &ii);
}

enum sa_drop esp_input_at(struct ipsec_sa *sa, struct pkt *p, uint64_t now,
                          const struct ip_info *found)
{
	const struct crypto_enc_info *ei = crypto_enc_info(sa->enc);
	uint8_t *d = pkt_data(p);
	struct ip_info ii = *found;
	size_t icv = icv_len(sa);
	size_t elen = ii.total - ii.hlen;
	if (elen < ESP_HDR + ei->iv_len + 4 + icv)
		return sa_drop(sa, DROP_TRUNCATED);
	uint8_t *esp = d + ii.hlen;
	uint8_t *iv = esp + ESP_HDR;
	uint8_t *body = iv + ei->iv_len;
	size_t clen = elen - ESP_HDR - ei->iv_len - icv;
	if (clen % ei->block)
		return sa_drop(sa, DROP_BAD_LENGTH);
	uint8_t *icv_at = body + clen;

	uint64_t seq;
	enum sa_drop why = sa_replay_check(sa, ip_get32(esp + 4), &seq);
	if (why != DROP_NONE)
		return why;

	if (ei->aead) {
		uint8_t aad[12];
		size_t aad_len = make_aad(sa, seq, aad);
		if (!aead_open(&sa->cipher, iv, aad, aad_len, body, clen, icv_at))
			return sa_drop(sa, DROP_AUTH);
	} else {
		uint8_t hi[4], want[64];
		ip_put32(hi, (uint32_t)(seq >> 32));
		if (!mac_compute(&sa->mac, esp, ESP_HDR + ei->iv_len + clen, hi, sa->esn ? 4 : 0,
		                 NULL, 0, want) ||
		    !crypto_icv_equal(want, icv_at, icv))
			return sa_drop(sa, DROP_AUTH);
	}
	/* Authentic: only now may it move the window (§3.4.3). */
	replay_update(&sa->replay, seq);
	if (!ei->aead && !cbc_crypt(&sa->cipher, iv, body, clen))
		return sa_drop(sa, DROP_DECRYPT);

	size_t padlen = body[clen - 2];
	uint8_t nh = body[clen - 1];
	if (padlen + 2 > clen)
		return sa_drop(sa, DROP_PADDING);
	for (size_t i = 0; i < padlen; i++)
		if (body[clen - 2 - padlen + i] != (uint8_t)(i + 1))
			return sa_drop(sa, DROP_PADDING);
	size_t plen = clen - 2 - padlen;
	/* Tunnel mode: the payload must be the IP packet next header names. Checked
	 * before any accounting, so a dropped packet moves only its drop counter. */
	size_t inner = 0;
	if (sa->mode == SA_TUNNEL && nh != 59 && !inner_packet(nh, body, plen, &inner))
		return sa_drop(sa, DROP_PADDING);
	if (sa_account(sa, plen, now) == SA_EVENT_HARD)
		return sa_drop(sa, DROP_LIFETIME);
	count_protected(sa, ei, plen);

	if (nh == 59) {                       /* §2.6: a dummy packet, discarded silently */
		p->len = 0;
		return DROP_NONE;
	}
	if (sa->mode == SA_TUNNEL) {
		/* Traffic-flow padding may follow the inner packet (§2.7). */
		p->off = (size_t)(body - p->buf);
		p->len = inner;
	} else {
		close_gap(p, &ii, ESP_HDR + ei->iv_len, nh, ii.hlen + plen);
	}
	sa->count.packets++;
	sa->count.bytes += plen;
	return DROP_NONE;
}

/* One SA's worth of inbound processing: the outermost ESP or AH header. */
static enum sa_drop input_one(struct sad *sad, struct pkt *p, uint64_t now,
                              struct ipsec_sa **sa_out, bool count_bad_spi)
{
	const uint8_t *d = pkt_data(p);
	struct ip_info ii;
	struct sa_address dst;
	if (!ip_find_proto(d, p->len, 0, &ii))
		return sad_drop(sad, malformed(d, p->len));
	if (ii.total - ii.hlen < 8)
		return sad_drop(sad, DROP_TRUNCATED);
	memset(&dst, 0, sizeof(dst));
	dst.family = ii.version == 4 ? AF_INET : AF_INET6;
	memcpy(dst.bytes, ii.version == 4 ? d + 16 : d + 24, ii.version == 4 ? 4 : 16);
	enum sa_proto proto = ii.nh == SA_PROTO_AH ? SA_PROTO_AH : SA_PROTO_ESP;
	uint32_t spi = ip_get32(d + ii.hlen + (proto == SA_PROTO_AH ? 4 : 0));
	struct ipsec_sa *sa = sad_lookup(sad, spi, &dst, proto);
	if (!sa || !sa->inbound)
		return count_bad_spi ? sad_drop(sad, DROP_BAD_SPI) : DROP_BAD_SPI;
	*sa_out = sa;
	if (!sa_usable(sa, now))
		return sa_drop(sa, DROP_LIFETIME);
	/* The headers were walked once, here; the transform starts where they end. */
	return proto == SA_PROTO_AH ? ah_input_at(sa, p, now, &ii) : esp_input_at(sa, p, now, &ii);
}

static enum sa_drop input(struct sad *sad, struct pkt *p, uint64_t now,
                          struct ipsec_sa **sa_out, bool count_bad_spi)
{
	*sa_out = NULL;
	enum sa_drop r = input_one(sad, p, now, sa_out, count_bad_spi);
	/* AH[..]+ESP[..] in transport mode: after AH comes off, ESP is outermost. */
	struct ip_info ii;
	if (r == DROP_NONE && *sa_out && (*sa_out)->proto == SA_PROTO_AH &&
	    (*sa_out)->mode == SA_TRANSPORT &&
	    ip_find_proto(pkt_data(p), p->len, SA_PROTO_ESP, &ii)) {
		struct ipsec_sa *outer = *sa_out;
		/* The AH is off already: an unknown inner SPI is a drop, never held. */
		r = input_one(sad, p, now, sa_out, true);
		if (r == DROP_BAD_SPI)
			*sa_out = outer;
	}
	return r;
}

enum sa_drop ipsec_input(struct sad *sad, struct pkt *p, uint64_t now,
                         struct ipsec_sa **sa_out)
{
	return input(sad, p, now, sa_out, true);
}

enum sa_drop ipsec_input_or_hold(struct sad *sad, struct pkt *p, uint64_t now,
                                 struct ipsec_sa **sa_out)
{
	return input(sad, p, now, sa_out, false);
}
