/*
 * The driver's run-time filters (src/driver/dynamic.c): soft associations by
 * the thousand found through their remote host's bucket, wider filters
 * after them, narrowed filters by protocol and port, deletes that keep every
 * other filter findable, and the capacity's end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/internal.h"

static struct driver *drv_new(void)
{
	struct driver *d = calloc(1, sizeof(*d));
	assert_non_null(d);
	pthread_rwlock_init(&d->lock, NULL);
	d->tx_wake = -1;   /* the wakeup after an add goes nowhere */
	dynamic_init(d);
	return d;
}

static void drv_free(struct driver *d)
{
	dynamic_free(d);
	pthread_rwlock_destroy(&d->lock);
	free(d);
}

static void set_ip(struct sa_address *a, const char *text)
{
	memset(a, 0, sizeof(*a));
	a->family = strchr(text, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(a->family, text, a->bytes), 1);
}

/* A soft association's filter: this host and one peer, Permit. */
static struct driver_dynamic soft(const char *peer, uint32_t rule)
{
	struct driver_dynamic f = { .rule_id = rule, .action = ACTION_PERMIT };
	set_ip(&f.local, "192.0.2.1");
	set_ip(&f.remote, peer);
	f.local_len = f.remote_len = 32;
	return f;
}

static struct spd_packet pkt(const char *src, const char *dst, uint8_t proto, uint16_t sport,
                             uint16_t dport)
{
	struct spd_packet p = { .protocol = proto, .src_port = sport, .dst_port = dport };
	struct sa_address s, t;
	set_ip(&s, src);
	set_ip(&t, dst);
	p.family = s.family;
	memcpy(p.src, s.bytes, 16);
	memcpy(p.dst, t.bytes, 16);
	return p;
}

static void peer_name(unsigned i, char *buf, size_t len)
{
	static const char *const nets[] = { "198.51.100", "203.0.113" };
	snprintf(buf, len, "%s.%u", nets[i / 254 % 2], i % 254 + 1);
}

static void add(struct driver *d, const struct driver_dynamic *f)
{
	char err[128];
	assert_true(driver_dynamic_add(d, f, err, sizeof(err)));
}

static uint32_t rule_for(struct driver *d, const struct spd_packet *p, enum spd_dir dir)
{
	const struct driver_dynamic *f = dynamic_find(d, p, dir);
	return f ? f->rule_id : 0;
}

/* 508 peers each with its own filter (two rules' worth of distinct ids),
 * both directions; a quarter deleted in an order that moves the others
 * around; the rest still found, the deleted ones not. */
static void test_many_soft(void **state)
{
	(void)state;
	struct driver *d = drv_new();
	enum { PEERS = 508 };
	char a[32];
	for (unsigned i = 0; i < PEERS; i++) {
		peer_name(i, a, sizeof(a));
		struct driver_dynamic f = soft(a, 1000 + i);
		add(d, &f);
	}
	assert_int_equal(d->ndynamic, PEERS);
	for (unsigned i = 0; i < PEERS; i++) {
		peer_name(i, a, sizeof(a));
		struct spd_packet out = pkt("192.0.2.1", a, 6, 80, 40000);
		struct spd_packet in = pkt(a, "192.0.2.1", 6, 40000, 80);
		assert_int_equal(rule_for(d, &out, SPD_OUTBOUND), 1000 + i);
		assert_int_equal(rule_for(d, &in, SPD_INBOUND), 1000 + i);
		/* The other direction's view does not match: the peer is the source. */
		assert_int_equal(rule_for(d, &out, SPD_INBOUND), 0);
	}
	for (unsigned i = 0; i < PEERS; i += 4) {
		peer_name(i, a, sizeof(a));
		struct driver_dynamic f = soft(a, 1000 + i);
		assert_true(driver_dynamic_delete(d, &f));
		assert_false(driver_dynamic_delete(d, &f));   /* gone */
	}
	assert_int_equal(d->ndynamic, PEERS - PEERS / 4);
	for (unsigned i = 0; i < PEERS; i++) {
		peer_name(i, a, sizeof(a));
		struct spd_packet out = pkt("192.0.2.1", a, 17, 53, 53);
		assert_int_equal(rule_for(d, &out, SPD_OUTBOUND), i % 4 ? 1000 + i : 0);
	}
	/* An unknown peer, another family: nothing. */
	struct spd_packet p = pkt("192.0.2.1", "192.0.2.99", 6, 1, 2);
	assert_int_equal(rule_for(d, &p, SPD_OUTBOUND), 0);
	p = pkt("2001:db8::1", "2001:db8::2", 6, 1, 2);
	assert_int_equal(rule_for(d, &p, SPD_OUTBOUND), 0);
	drv_free(d);
}

/* A filter for a subnet of peers is found after the host buckets. */
static void test_wide(void **state)
{
	(void)state;
	struct driver *d = drv_new();
	struct driver_dynamic host = soft("198.51.100.7", 7);
	struct driver_dynamic net = soft("198.51.100.0", 8);
	net.remote_len = 24;
	add(d, &net);
	add(d, &host);
	struct spd_packet p = pkt("192.0.2.1", "198.51.100.7", 6, 1, 2);
	assert_int_equal(rule_for(d, &p, SPD_OUTBOUND), 7);
	p = pkt("192.0.2.1", "198.51.100.8", 6, 1, 2);
	assert_int_equal(rule_for(d, &p, SPD_OUTBOUND), 8);
	p = pkt("192.0.2.1", "203.0.113.8", 6, 1, 2);
	assert_int_equal(rule_for(d, &p, SPD_OUTBOUND), 0);
	assert_true(driver_dynamic_delete(d, &net));
	p = pkt("192.0.2.1", "198.51.100.8", 6, 1, 2);
	assert_int_equal(rule_for(d, &p, SPD_OUTBOUND), 0);
	drv_free(d);
}

/* Two filters for one host pair that differ only in their ports (two
 * Child SAs a peer asked for): each decides its own traffic, and deleting
 * one leaves the other. */
static void test_narrowed(void **state)
{
	(void)state;
	struct driver *d = drv_new();
	struct driver_dynamic web = soft("198.51.100.7", 80), tls = web;
	web.action = tls.action = ACTION_NEGOTIATE;
	web.protocol = tls.protocol = 6;
	web.local_ports[0] = web.local_ports[1] = 80;
	tls.rule_id = 443;
	tls.local_ports[0] = tls.local_ports[1] = 443;
	add(d, &web);
	add(d, &tls);
	struct spd_packet p = pkt("192.0.2.1", "198.51.100.7", 6, 80, 50000);
	assert_int_equal(rule_for(d, &p, SPD_OUTBOUND), 80);
	p = pkt("198.51.100.7", "192.0.2.1", 6, 50000, 443);
	assert_int_equal(rule_for(d, &p, SPD_INBOUND), 443);
	p = pkt("192.0.2.1", "198.51.100.7", 6, 22, 50000);
	assert_int_equal(rule_for(d, &p, SPD_OUTBOUND), 0);
	p = pkt("192.0.2.1", "198.51.100.7", 17, 80, 50000);
	assert_int_equal(rule_for(d, &p, SPD_OUTBOUND), 0);
	assert_true(driver_dynamic_delete(d, &web));
	p = pkt("192.0.2.1", "198.51.100.7", 6, 80, 50000);
	assert_int_equal(rule_for(d, &p, SPD_OUTBOUND), 0);
	p = pkt("192.0.2.1", "198.51.100.7", 6, 443, 50000);
	assert_int_equal(rule_for(d, &p, SPD_OUTBOUND), 443);
	drv_free(d);
}

/* Up to DRIVER_DYNAMIC_MAX, then a clear refusal; deletes make room. */
static void test_capacity(void **state)
{
	(void)state;
	struct driver *d = drv_new();
	struct driver_dynamic f = soft("2001:db8::1", 1);
	f.local.family = AF_INET6;
	f.local_len = f.remote_len = 128;
	for (uint32_t i = 0; i < DRIVER_DYNAMIC_MAX; i++) {
		f.remote.bytes[12] = (uint8_t)(i >> 24);
		f.remote.bytes[13] = (uint8_t)(i >> 16);
		f.remote.bytes[14] = (uint8_t)(i >> 8);
		f.remote.bytes[15] = (uint8_t)i;
		add(d, &f);
	}
	char err[128] = "";
	f.remote.bytes[11] = 1;
	assert_false(driver_dynamic_add(d, &f, err, sizeof(err)));
	assert_non_null(strstr(err, "too many run-time filters"));
	f.remote.bytes[11] = 0;
	assert_true(driver_dynamic_delete(d, &f));   /* the last one added */
	f.remote.bytes[11] = 1;
	assert_true(driver_dynamic_add(d, &f, err, sizeof(err)));
	drv_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_soft),
		cmocka_unit_test(test_wide),
		cmocka_unit_test(test_narrowed),
		cmocka_unit_test(test_capacity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
