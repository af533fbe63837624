/*
 * diag — how every component reports an error or a warning to the user.
 *
 * Codes and wording follow netsh-ipsec.md §7: the CLI prints
 * "ERR IPsec[<code>] : <message>". A diag holds at most one error (the first
 * one wins: it is the cause, later ones are consequences) and a few warnings.
 */
#ifndef SECPOL_DIAG_H
#define SECPOL_DIAG_H

#include <stdbool.h>
#include <stddef.h>

enum ipsec_err {
	ERR_NONE            = 0,
	ERR_BAD_TAG         = 5001,
	ERR_MISSING_TAG     = 5002,
	ERR_BAD_VALUE       = 5003,
	ERR_UNKNOWN_COMMAND = 5004,  /* project addition */
	ERR_NO_POLICY       = 5010,
	ERR_NO_FILTERLIST   = 5011,
	ERR_NO_FILTERACTION = 5012,
	ERR_NO_RULE         = 5013,
	ERR_NO_FILTER       = 5014,
	ERR_DUPLICATE_NAME  = 5020,
	ERR_DUPLICATE_FILTER = 5021,
	ERR_IN_USE          = 5022,
	ERR_DEFAULT_RULE    = 5023,
	ERR_PORT_PROTOCOL   = 5030,
	ERR_SERVER_PAIRING  = 5031,
	ERR_DNS             = 5032,
	ERR_BAD_SECMETHOD   = 5033,
	ERR_TUNNEL_MIRRORED = 5034,
	ERR_STORE           = 5040,
	ERR_SERVICE         = 5041,
	ERR_IMPORT          = 5042,  /* project addition: unreadable import file */
	ERR_WEAK            = 5050,
};

#define DIAG_MSG_MAX  768
#define DIAG_WARN_MAX 8

struct diag {
	enum ipsec_err code;
	char msg[DIAG_MSG_MAX];
	size_t nwarn;
	char warn[DIAG_WARN_MAX][192];
};

void diag_init(struct diag *d);
/* Records an error unless one is already recorded. Always returns false. */
bool diag_error(struct diag *d, enum ipsec_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void diag_warn(struct diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The standard 05003 message with what is allowed. */
bool diag_bad_value(struct diag *d, const char *tag, const char *value,
                    const char *allowed);
bool diag_failed(const struct diag *d);

#endif
