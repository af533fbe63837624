/*
 * control — the control socket protocol between `secpol dynamic` (and the
 * monitor) and secpold: a Unix stream socket, root only, one request and
 * one response per connection.
 *
 *   request:  "SPQ1" | length (u32, big endian) | command line (no NUL)
 *   response: "SPR1" | ok (u8) | out length (u32) | err length (u32) | out | err
 *
 * The command line is a `netsh ipsec dynamic` command; out and err are what
 * the command printed on its standard output and error streams.
 */
#ifndef SECPOL_CONTROL_H
#define SECPOL_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The one request that is not a command: the CLI changed the policy store,
 * apply it now (the response comes once it is in force, or carries in err
 * why the running policy stays). */
#define CONTROL_NUDGE "apply-store"

/* The other: `secpol monitor` asks for everything its live view shows in
 * one request per refresh -- counters, the assigned policy, secpold's
 * uptime and the quick-mode SAs -- as one JSON document ("view":
 * "monitor", docs/monitor-json.md). */
#define CONTROL_MONITOR "monitor-view"

#define CONTROL_DEFAULT_PATH "/run/secpol/secpold.sock"
#define CONTROL_MAX_REQUEST 16384          /* bytes of command line */
#define CONTROL_MAX_RESPONSE (8u << 20)    /* bytes of out + err */

enum control_parse {
	CONTROL_NEED_MORE,       /* could still be a prefix of a valid request: read on */
	CONTROL_OK,              /* line[0..*len) holds the command line, NUL-terminated */
	CONTROL_BAD,             /* *why says what is wrong; close the connection */
};

/* Parses a request from buf[0..n). line has room for CONTROL_MAX_REQUEST + 1. */
enum control_parse control_parse_request(const uint8_t *buf, size_t n, char *line,
                                         size_t *len, const char **why);

/* Server: reads one request from fd (bounded in size and by fd's timeouts). */
bool control_read_request(int fd, char *line, size_t *len, const char **why);
bool control_write_response(int fd, bool ok, const char *out, size_t outlen,
                            const char *err, size_t errlen);

/* Client: sends line to the daemon at path and copies its output to out
 * and err. Returns false if the daemon could not be reached or answered
 * nonsense (*why says which); otherwise *ok is the command's result. */
bool control_call(const char *path, const char *line, FILE *out, FILE *err, bool *ok,
                  char *why, size_t whylen);

/* The socket path: option, else $SECPOL_CONTROL, else the default. */
const char *control_path(const char *option);

#endif
