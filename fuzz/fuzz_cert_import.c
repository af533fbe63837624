/*
 * fuzz_cert_import: arbitrary bytes as a file for `secpol cert import`:
 * the PEM parser (certificates, CRLs, PKCS#8 / traditional / encrypted
 * keys), DER certificates and CRLs, and PKCS#12, into a certificate store
 * in the harness's temporary directory.
 *
 * The first byte is the mode: bit 0 set gives the password "secpol" (the
 * seeds' encrypted keys and PKCS#12 files use it, so their insides are
 * reached); bit 1 set lists the store after a successful import (the chain
 * check of every entry). The store is emptied after each input.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/cert.h"
#include "fuzz_common.h"

#define FUZZ_MAX_INPUT 65536

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup();
	return 0;
}

/* Every file of the store directory (it has no subdirectories). */
static void empty_store(void)
{
	DIR *d = opendir(fuzz_certs_path);
	if (!d)
		return;
	int fd = dirfd(d);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(fd, de->d_name, 0);
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > FUZZ_MAX_INPUT)
		return -1;
	const char *password = (data[0] & 1) ? "secpol" : NULL;
	bool list = (data[0] & 2) != 0;
	data++;
	size--;

	struct cert_err e;
	struct cert_store *s = cert_store_open(fuzz_certs_path, true, &e);
	if (!s)
		abort();
	struct cert_import_result r;
	bool ok = cert_store_import_mem(s, data, size, password, &r, &e);
	if (!ok && (e.status == CERT_OK || !e.msg[0]))
		abort();               /* a failure must say why */
	if (ok && list) {
		struct cert_entry *v;
		struct cert_crl_entry *c;
		size_t n;
		if (cert_store_list(s, 0, &v, &n, &e))
			free(v);
		if (cert_store_list_crls(s, &c, &n, &e))
			free(c);
	}
	cert_store_close(s);
	if (ok)
		empty_store();
	return 0;
}
