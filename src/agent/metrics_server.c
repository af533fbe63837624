/*
 * The metrics endpoint: a tiny HTTP/1.1 server inside secpold's
 * single-threaded loop. It has its own epoll set, so the main loop watches
 * one descriptor and the server can open, close and replace sockets
 * without touching the loop's set.
 *
 * The loop must never wait on a client: every socket is non-blocking, a
 * client gets a fixed deadline from accept to the last byte (reading the
 * request, writing the response, the lingering close), at most
 * METRICS_MAX_CLIENTS are served at once (more are closed at accept), and
 * the request is read into a fixed buffer. The response is rendered whole
 * before the first send -- its size is bounded by the snapshot's
 * capacities -- so a slow reader costs memory for its deadline, not time.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/internal.h"

enum client_state { C_FREE, C_READING, C_WRITING, C_CLOSING };

struct metrics_client {
	enum client_state state;
	int fd;
	uint64_t deadline_ms;
	size_t got;
	char req[MON_HTTP_REQUEST_MAX];
	char *resp;
	size_t resp_len, sent;
};

struct metrics_server {
	int ep;
	int listen_fd;                 /* -1: off */
	struct ip_address addr;
	uint16_t port;                 /* 0: off */
	struct metrics_client c[METRICS_MAX_CLIENTS];
	metrics_render_fn render;
	void *ctx;
	struct metrics_server_stats stats;
};

struct metrics_server *metrics_server_new(metrics_render_fn render, void *ctx)
{
	struct metrics_server *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->ep = epoll_create1(EPOLL_CLOEXEC);
	if (m->ep < 0) {
		free(m);
		return NULL;
	}
	m->listen_fd = -1;
	m->render = render;
	m->ctx = ctx;
	for (size_t i = 0; i < METRICS_MAX_CLIENTS; i++)
		m->c[i].fd = -1;
	return m;
}

int metrics_server_fd(const struct metrics_server *m)
{
	return m->ep;
}

static void drop(struct metrics_server *m, struct metrics_client *c)
{
	if (c->state == C_FREE)
		return;
	epoll_ctl(m->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->resp);
	c->resp = NULL;
	c->fd = -1;
	c->state = C_FREE;
}

static void stop_listening(struct metrics_server *m)
{
	for (size_t i = 0; i < METRICS_MAX_CLIENTS; i++)
		drop(m, &m->c[i]);
	if (m->listen_fd >= 0) {
		epoll_ctl(m->ep, EPOLL_CTL_DEL, m->listen_fd, NULL);
		close(m->listen_fd);
	}
	m->listen_fd = -1;
	m->port = 0;
}

bool metrics_server_listen(struct metrics_server *m, const struct ip_address *ip, uint16_t port,
                           char *err, size_t errlen)
{
	if (port && m->port == port && m->addr.family == ip->family &&
	    !memcmp(m->addr.bytes, ip->bytes, 16))
		return true;   /* already there: scrapes in progress go on */
	stop_listening(m);
	if (!port)
		return true;
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	if (ip->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, ip->bytes, 16);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, ip->bytes, 4);
		sl = sizeof(*s4);
	}
	int fd = socket(ip->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return false;
	}
	int one = 1;
	/* A restarted secpold gets its port back while old connections linger. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ip->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 16) < 0 ||
	    epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		return false;
	}
	m->listen_fd = fd;
	m->addr = *ip;
	m->port = port;
	return true;
}

static void accept_clients(struct metrics_server *m, uint64_t now_ms)
{
	/* Bounded: a flood of connections waits for the next round. */
	for (int k = 0; k < 2 * METRICS_MAX_CLIENTS; k++) {
		int fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct metrics_client *c = NULL;
		for (size_t i = 0; i < METRICS_MAX_CLIENTS && !c; i++)
			if (m->c[i].state == C_FREE)
				c = &m->c[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (!c || epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			m->stats.refused++;
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = C_READING;
		c->got = 0;
		c->sent = c->resp_len = 0;
		c->deadline_ms = now_ms + METRICS_CLIENT_MS;
	}
}

/* The whole response: head and body in one buffer. */
static bool respond(struct metrics_server *m, struct metrics_client *c,
                    const struct mon_http_request *r)
{
	int status = r->status;
	char *body = NULL;
	size_t blen = 0;
	const char *type = "text/plain; charset=utf-8";
	if (status == 200) {
		body = m->render(m->ctx, r->openmetrics, &blen);
		if (!body || blen > METRICS_RESPONSE_MAX) {
			free(body);
			body = NULL;
			status = 500;
		} else {
			type = r->openmetrics ? MON_OPENMETRICS_CONTENT_TYPE : MON_METRICS_CONTENT_TYPE;
		}
	}
	char reason[64];
	if (status != 200) {
		blen = (size_t)snprintf(reason, sizeof(reason), "%s\n", mon_http_reason(status));
	}
	char head[256];
	int hn = snprintf(head, sizeof(head),
	                  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                  "%sConnection: close\r\n\r\n",
	                  status, mon_http_reason(status), type, blen,
	                  status == 405 ? "Allow: GET\r\n" : "");
	c->resp = malloc((size_t)hn + blen);
	if (!c->resp) {
		free(body);
		return false;
	}
	memcpy(c->resp, head, (size_t)hn);
	memcpy(c->resp + hn, body ? body : reason, blen);
	free(body);
	c->resp_len = (size_t)hn + blen;
	c->sent = 0;
	c->state = C_WRITING;
	if (status == 200)
		m->stats.scrapes++;
	else
		m->stats.errors++;
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	return epoll_ctl(m->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0;
}

static void client_read(struct metrics_server *m, struct metrics_client *c)
{
	if (c->state == C_CLOSING) {
		/* The response is out and our side shut: read what the client
		 * still sends until it closes, so that closing with unread data
		 * never turns into an RST that could cut the response short. */
		char sink[512];
		ssize_t n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			drop(m, c);
		return;
	}
	if (c->state != C_READING)
		return;
	ssize_t n = recv(c->fd, c->req + c->got, sizeof(c->req) - c->got, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop(m, c);   /* gone before a whole request */
		return;
	}
	c->got += (size_t)n;
	struct mon_http_request r;
	if (mon_http_parse(c->req, c->got, sizeof(c->req), &r) == MON_HTTP_INCOMPLETE)
		return;
	if (!respond(m, c, &r))
		drop(m, c);
}

static void client_write(struct metrics_server *m, struct metrics_client *c)
{
	if (c->state != C_WRITING)
		return;
	while (c->sent < c->resp_len) {
		ssize_t n = send(c->fd, c->resp + c->sent, c->resp_len - c->sent,
		                 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;   /* the socket buffer is full: wait for EPOLLOUT */
		if (n <= 0) {
			drop(m, c);
			return;
		}
		c->sent += (size_t)n;
	}
	free(c->resp);
	c->resp = NULL;
	shutdown(c->fd, SHUT_WR);
	c->state = C_CLOSING;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	if (epoll_ctl(m->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		drop(m, c);
}

void metrics_server_serve(struct metrics_server *m, uint64_t now_ms)
{
	struct epoll_event e[METRICS_MAX_CLIENTS + 1];
	int n = epoll_wait(m->ep, e, METRICS_MAX_CLIENTS + 1, 0);
	for (int i = 0; i < n; i++) {
		struct metrics_client *c = e[i].data.ptr;
		if (!c) {
			if (m->listen_fd >= 0)
				accept_clients(m, now_ms);
			continue;
		}
		if (c->state == C_FREE)
			continue;   /* dropped earlier in this round */
		if (e[i].events & (EPOLLERR | EPOLLHUP) && c->state != C_CLOSING) {
			drop(m, c);
			continue;
		}
		if (e[i].events & EPOLLOUT)
			client_write(m, c);
		else
			client_read(m, c);
	}
	metrics_server_expire(m, now_ms);
}

void metrics_server_expire(struct metrics_server *m, uint64_t now_ms)
{
	for (size_t i = 0; i < METRICS_MAX_CLIENTS; i++)
		if (m->c[i].state != C_FREE && now_ms >= m->c[i].deadline_ms) {
			if (m->c[i].state != C_CLOSING)
				m->stats.timeouts++;
			drop(m, &m->c[i]);
		}
}

int metrics_server_timeout_ms(const struct metrics_server *m, uint64_t now_ms)
{
	int t = -1;
	for (size_t i = 0; i < METRICS_MAX_CLIENTS; i++) {
		if (m->c[i].state == C_FREE)
			continue;
		uint64_t left = m->c[i].deadline_ms > now_ms ? m->c[i].deadline_ms - now_ms : 0;
		if (t < 0 || left < (uint64_t)t)
			t = (int)left;
	}
	return t;
}

void metrics_server_get_stats(const struct metrics_server *m, struct metrics_server_stats *s)
{
	*s = m->stats;
	s->clients = 0;
	for (size_t i = 0; i < METRICS_MAX_CLIENTS; i++)
		s->clients += m->c[i].state != C_FREE;
}

void metrics_server_free(struct metrics_server *m)
{
	if (!m)
		return;
	stop_listening(m);
	close(m->ep);
	free(m);
}
