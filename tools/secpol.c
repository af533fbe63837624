/*
 * secpol — the command line: `netsh ipsec` for Linux.
 *
 *   secpol [options] static add policy name=Web      one command
 *   secpol [options] -f script.txt                   a script
 *   secpol [options]                                 the interactive shell
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/control.h"
#include "monitor/names.h"
#include "netsh/netsh.h"
#include "secpol_monitor.h"
#include "store/store.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: secpol [--store PATH] [-c CONTEXT] [-f SCRIPT [-e]] [COMMAND ...]\n"
	        "       secpol [--control PATH] monitor [--interval S] [--once]\n"
	        "\n"
	        "  --store PATH   policy store (default $SECPOL_STORE or " STORE_DEFAULT_PATH ")\n"
	        "  --control PATH secpold's control socket, for `dynamic' commands\n"
	        "                 (default $SECPOL_CONTROL or " CONTROL_DEFAULT_PATH ")\n"
	        "  -c CONTEXT     start in a context, e.g. -c \"ipsec static\"\n"
	        "  -f SCRIPT      run the commands of SCRIPT ('-' = standard input)\n"
	        "  -e             stop a script at its first failing command\n"
	        "  -h, --help     this text; `secpol help` lists the commands\n"
	        "\n"
	        "Examples:\n"
	        "  secpol static add policy name=Web description=\"web servers\"\n"
	        "  secpol static show policy all format=table\n"
	        "  secpol dump > policy.txt\n"
	        "  secpol monitor              the IP Security Monitor, live (q quits)\n");
}

/* `secpol dynamic ...`: the running service executes the command. */
static bool forward(struct netsh_session *ns, const char *line, struct diag *d)
{
	bool ok;
	char why[512];
	fflush(ns->out);
	if (!control_call(ns->forward_ctx, line, ns->out, ns->err, &ok, why, sizeof(why)))
		return diag_error(d, ERR_SERVICE, "The IPsec service is not running (%s).", why);
	return ok;
}

/* A static command changed the store: secpold applies it now instead of at
 * its next look at the store. Interactive sessions nudge after each
 * command; a script or one command line once, at the end (a script of a
 * hundred lines is one policy change). No secpold running is not an
 * error: the store is what counts, and secpold reads it when it starts. */
static bool nudge_pending;

static void nudge(struct netsh_session *ns)
{
	bool ok = true;
	char why[256];
	char *msg = NULL;
	size_t len = 0;
	FILE *err = open_memstream(&msg, &len);
	if (!err)
		return;
	bool reached = control_call(ns->forward_ctx, CONTROL_NUDGE, err, err, &ok, why,
	                            sizeof(why));
	fclose(err);
	if (reached && !ok)
		fprintf(ns->err, "WARNING: secpold keeps the running policy: %s", msg);
	else if (reached && len)
		fprintf(ns->err, "WARNING: %s", msg);   /* in force, but not all of it */
	free(msg);
}

static void store_changed(struct netsh_session *ns)
{
	if (ns->interactive)
		nudge(ns);
	else
		nudge_pending = true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "control", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *store = getenv("SECPOL_STORE");
	const char *script = NULL, *context = NULL, *control = NULL;
	bool stop_on_error = false;
	int c;
	/* '+': options end at the first command word, whose own words may start with '-'. */
	while ((c = getopt_long(argc, argv, "+s:c:f:ehV", opts, NULL)) != -1) {
		switch (c) {
		case 's': store = optarg; break;
		case 'C': control = optarg; break;
		case 'c': context = optarg; break;
		case 'f': script = optarg; break;
		case 'e': stop_on_error = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("secpol 0.1.0\n"); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!store || !store[0])
		store = STORE_DEFAULT_PATH;
	/* `secpol monitor` (or `secpol dynamic monitor`, where netsh's
	 * dynamic views live): the live view is a program of its own, not a
	 * command line for netsh. */
	int mon = optind < argc && !strcasecmp(argv[optind], "monitor") ? optind
	          : optind + 1 < argc && !strcasecmp(argv[optind], "dynamic") &&
	                    !strcasecmp(argv[optind + 1], "monitor") ? optind + 1 : -1;
	if (mon >= 0 && !script && !context)
		return secpol_monitor(control_path(control), argc - mon, argv + mon);

	struct netsh_session ns;
	netsh_session_init(&ns, store, stdout, stderr);
	ns.forward = forward;
	ns.forward_ctx = (void *)control_path(control);
	ns.store_changed = store_changed;
	if (context && !netsh_exec_line(&ns, context)) {
		netsh_session_finish(&ns);
		return 1;
	}
	if (script) {
		FILE *in = strcmp(script, "-") ? fopen(script, "r") : stdin;
		if (!in) {
			fprintf(stderr, "secpol: cannot open script '%s': %m\n", script);
			return 1;
		}
		netsh_run_script(&ns, in, script, stop_on_error);
		if (in != stdin)
			fclose(in);
	} else if (optind < argc) {
		netsh_exec_argv(&ns, argc - optind, argv + optind);
		/* `secpol static` alone: stay in that context, interactively. */
		if (ns.errors == 0 && ns.context[0] && !context && argc - optind <= 3) {
			bool only_context = true;
			for (int i = optind; i < argc; i++)
				only_context = only_context && !strchr(argv[i], '=') &&
				               (!strcasecmp(argv[i], "ipsec") || !strcasecmp(argv[i], "static") ||
				                !strcasecmp(argv[i], "dynamic") || !strcasecmp(argv[i], "cert") ||
				                !strcasecmp(argv[i], "netsh"));
			if (only_context)
				netsh_interactive(&ns);
		}
	} else {
		netsh_interactive(&ns);
	}
	bool ok = netsh_session_finish(&ns);
	if (nudge_pending)
		nudge(&ns);
	mon_names_shutdown();   /* resolvedns=yes: the lookups' thread, if one ran */
	return ns.errors == 0 && ok ? 0 : 1;
}
