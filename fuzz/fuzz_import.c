/*
 * fuzz_import: the input (after a mode byte) becomes an export file in the
 * temporary directory, read by `static importpolicy file=<it>`.
 *
 * Mode byte even: the harness writes the header itself — the format line
 * and the SHA-256 of the rest — so that the body's commands run. Mode byte
 * odd: the bytes are written as they are (header parsing, checksum refusal;
 * the seeds that are whole export files use this mode).
 *
 * The body's lines run as static commands; a body line that could run
 * exportpolicy or importpolicy (which would name other files) makes the
 * harness skip the input (import itself refuses those since commit 62978dc;
 * the harness does not rely on that).
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#define FUZZ_MAX_INPUT 65536

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char import_path[700];
static char import_cmd[800];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup();
	snprintf(import_path, sizeof(import_path), "%s/in.ipsec", fuzz_dir);
	snprintf(import_cmd, sizeof(import_cmd), "static importpolicy file=\"%s\"", import_path);
	return 0;
}

/* Mirrors import_run(): lines end at '\n', and each is lexed as a command. */
static bool body_is_safe(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	if (!buf)
		return false;
	memcpy(buf, data, size);
	buf[size] = '\0';
	bool safe = true;
	for (char *p = buf, *end = buf + size; safe && p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl)
			*nl = '\0';
		safe = !fuzz_line_names_file_verb(p);
		p = nl ? nl + 1 : end;
	}
	free(buf);
	return safe;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > FUZZ_MAX_INPUT)
		return -1;
	bool with_header = (data[0] & 1) == 0;
	data++;
	size--;
	if (!body_is_safe(data, size))
		return -1;

	FILE *f = fopen(import_path, "wb");
	if (!f)
		abort();
	if (with_header) {
		unsigned char md[32];
		unsigned int mdlen = 0;
		if (!EVP_Digest(data, size, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
			abort();
		fprintf(f, "# ipsec-policy-export v1\n# body-sha256 ");
		for (unsigned i = 0; i < 32; i++)
			fprintf(f, "%02x", md[i]);
		fputc('\n', f);
	}
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	if (fclose(f) != 0)
		abort();

	struct netsh_session ns;
	fuzz_session(&ns);
	netsh_exec_line(&ns, import_cmd);
	netsh_session_finish(&ns);
	fuzz_reset_store();
	return 0;
}
