/*
 * The drop counters secpold reads back from its nftables table
 * (steer_parse_drops): nft's text is not attacker-controlled, but it is
 * another program's output, parsed with lengths and numbers -- any bytes
 * must give an answer, never a read past len or a wrapped number.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver/steer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy: ASan catches a read one byte past the end. */
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);
	struct steer_drops d;
	bool ok = steer_parse_drops(text, size, &d);
	/* An answer names all three counters, each read from the text. */
	if (ok && (!memmem(text, size, "in_blocked", 10) || !memmem(text, size, "in_cleartext", 12) ||
	           !memmem(text, size, "out_blocked", 11)))
		abort();
	free(text);
	return 0;
}
