/*
 * The control protocol: framing and validation. The request parser is the
 * one place where bytes from another process become a command line, so it
 * checks the magic, the length bound, and that the line is text.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/control.h"

static const uint8_t REQ_MAGIC[4] = { 'S', 'P', 'Q', '1' };
static const uint8_t RSP_MAGIC[4] = { 'S', 'P', 'R', '1' };

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

enum control_parse control_parse_request(const uint8_t *buf, size_t n, char *line,
                                         size_t *len, const char **why)
{
	*why = NULL;
	size_t m = n < 4 ? n : 4;
	if (memcmp(buf, REQ_MAGIC, m) != 0) {
		*why = "not a secpol control request";
		return CONTROL_BAD;
	}
	/* A partial length already too large can never become valid: the
	 * bytes still to come only add to it. */
	uint32_t l = 0;
	for (size_t i = 4; i < 8; i++)
		l = l << 8 | (i < n ? buf[i] : 0);
	if (l > CONTROL_MAX_REQUEST || (n >= 8 && l == 0)) {
		*why = "request length out of range";
		return CONTROL_BAD;
	}
	size_t body = n > 8 ? n - 8 : 0;
	if (n >= 8 && body > l) {
		*why = "bytes after the request";
		return CONTROL_BAD;
	}
	for (size_t i = 0; i < body; i++) {
		uint8_t c = buf[8 + i];
		/* Text only: a NUL would cut the line short of what was checked,
		 * and control characters have no place in a command. */
		if (c == 0 || (c < 0x20 && c != '\t') || c == 0x7f) {
			*why = "the command contains a control character";
			return CONTROL_BAD;
		}
	}
	if (n < 8 || body < l)
		return CONTROL_NEED_MORE;
	memcpy(line, buf + 8, l);
	line[l] = '\0';
	*len = l;
	return CONTROL_OK;
}

static bool read_full(int fd, uint8_t *buf, size_t n)
{
	while (n) {
		ssize_t r = read(fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		buf += r;
		n -= (size_t)r;
	}
	return true;
}

static bool write_full(int fd, const void *data, size_t n)
{
	const uint8_t *p = data;
	while (n) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

bool control_read_request(int fd, char *line, size_t *len, const char **why)
{
	static __thread uint8_t buf[8 + CONTROL_MAX_REQUEST];
	size_t have = 0, want = 8;
	for (;;) {
		if (!read_full(fd, buf + have, want - have)) {
			*why = "the client closed the connection or timed out";
			return false;
		}
		have = want;
		switch (control_parse_request(buf, have, line, len, why)) {
		case CONTROL_OK:
			return true;
		case CONTROL_BAD:
			return false;
		case CONTROL_NEED_MORE:
			if (want != 8) {
				*why = "short request";
				return false;
			}
			want = 8 + get32(buf + 4);   /* bounded by the parser */
			break;
		}
	}
}

bool control_write_response(int fd, bool ok, const char *out, size_t outlen, const char *err,
                            size_t errlen)
{
	if (outlen + errlen > CONTROL_MAX_RESPONSE) {
		static const char cut[] = "secpold: the output was too long and was cut short\n";
		outlen = outlen > CONTROL_MAX_RESPONSE / 2 ? CONTROL_MAX_RESPONSE / 2 : outlen;
		err = cut;
		errlen = sizeof(cut) - 1;
	}
	uint8_t h[13];
	memcpy(h, RSP_MAGIC, 4);
	h[4] = ok;
	put32(h + 5, (uint32_t)outlen);
	put32(h + 9, (uint32_t)errlen);
	return write_full(fd, h, sizeof(h)) && write_full(fd, out, outlen) &&
	       write_full(fd, err, errlen);
}

const char *control_path(const char *option)
{
	if (option && option[0])
		return option;
	const char *env = getenv("SECPOL_CONTROL");
	return env && env[0] ? env : CONTROL_DEFAULT_PATH;
}

/* Copies n bytes from fd to f in bounded chunks. */
static bool copy_out(int fd, size_t n, FILE *f)
{
	uint8_t buf[4096];
	while (n) {
		size_t k = n < sizeof(buf) ? n : sizeof(buf);
		if (!read_full(fd, buf, k))
			return false;
		fwrite(buf, 1, k, f);
		n -= k;
	}
	return true;
}

bool control_call(const char *path, const char *line, FILE *out, FILE *err, bool *ok,
                  char *why, size_t whylen)
{
	size_t l = strlen(line);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (l == 0 || l > CONTROL_MAX_REQUEST) {
		snprintf(why, whylen, "the command is empty or longer than %d bytes",
		         CONTROL_MAX_REQUEST);
		return false;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, whylen, "control socket path too long: %s", path);
		return false;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(why, whylen, "cannot reach secpold at %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	/* secpold answers in well under a second; a hung daemon must not hang
	 * the admin's script forever. */
	struct timeval tv = { .tv_sec = 30 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	uint8_t h[13];
	memcpy(h, REQ_MAGIC, 4);
	put32(h + 4, (uint32_t)l);
	bool good = write_full(fd, h, 8) && write_full(fd, line, l) && read_full(fd, h, 13) &&
	            memcmp(h, RSP_MAGIC, 4) == 0 && h[4] <= 1 &&
	            (uint64_t)get32(h + 5) + get32(h + 9) <= CONTROL_MAX_RESPONSE;
	if (good)
		good = copy_out(fd, get32(h + 5), out) && copy_out(fd, get32(h + 9), err);
	close(fd);
	if (!good) {
		snprintf(why, whylen, "secpold at %s did not answer properly", path);
		return false;
	}
	*ok = h[4] == 1;
	return true;
}
