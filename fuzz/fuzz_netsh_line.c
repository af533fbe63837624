/*
 * fuzz_netsh_line: the input is up to 64 command lines (split on '\n'), run
 * one by one with netsh_exec_line() in one session over a fresh store, as a
 * script would run them.
 *
 * An input that starts with "#!" or a UTF-8 byte order mark is run as a
 * script file instead, through netsh_run_script() (comments, the BOM, line
 * numbers in messages; "#!e" stops at the first error).
 *
 * Lines that could run exportpolicy/importpolicy are skipped (left empty in
 * a script), so that nothing outside the temporary directory is ever
 * written; fuzz_import covers those commands.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#define MAX_LINES 64
#define FUZZ_MAX_INPUT 16384
#define BOM "\xEF\xBB\xBF"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup();
	return 0;
}

/* The line as netsh_run_script() would run it: without its trailing CR/LF
 * and, on any line (more than the script does), without a leading BOM. */
static bool script_line_is_unsafe(char *line)
{
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n'))
		line[--n] = '\0';
	return fuzz_line_names_file_verb(line) ||
	       (!strncmp(line, BOM, 3) && fuzz_line_names_file_verb(line + 3));
}

static void run_as_script(struct netsh_session *ns, char *buf, size_t size)
{
	/* Rebuilt with every unsafe line emptied: the same line numbers. */
	char *script = malloc(size + MAX_LINES + 1);
	if (!script)
		return;
	size_t len = 0;
	char *p = buf, *end = buf + size;
	for (unsigned n = 0; n < MAX_LINES && p < end; n++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t seglen = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *copy = malloc(seglen + 1);
		if (!copy)
			break;
		memcpy(copy, p, seglen);
		copy[seglen] = '\0';
		if (!script_line_is_unsafe(copy)) {
			memcpy(script + len, p, seglen);
			len += seglen;
		}
		script[len++] = '\n';
		free(copy);
		p = nl ? nl + 1 : end;
	}
	FILE *in = len ? fmemopen(script, len, "r") : NULL;
	if (in) {
		netsh_run_script(ns, in, "fuzz.txt", !strncmp(buf, "#!e", 3));
		fclose(in);
	}
	free(script);
}

static void run_lines(struct netsh_session *ns, char *buf, size_t size)
{
	char *p = buf, *end = buf + size;
	for (unsigned n = 0; n < MAX_LINES && p < end && !ns->quit; n++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl)
			*nl = '\0';
		/* A NUL inside the line ends it, as it would for the shell. */
		if (!fuzz_line_names_file_verb(p))
			netsh_exec_line(ns, p);
		p = nl ? nl + 1 : end;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return -1;                /* not added to the corpus */
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';

	struct netsh_session ns;
	fuzz_session(&ns);
	if ((size >= 2 && !memcmp(buf, "#!", 2)) || (size >= 3 && !memcmp(buf, BOM, 3)))
		run_as_script(&ns, buf, size);
	else
		run_lines(&ns, buf, size);
	netsh_session_finish(&ns);
	fuzz_reset_store();
	free(buf);
	return 0;
}
