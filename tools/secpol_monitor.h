/* `secpol monitor`: the live view (secpol_monitor.c). */
#ifndef SECPOL_TOOLS_MONITOR_H
#define SECPOL_TOOLS_MONITOR_H

/* argv[0] is "monitor"; control: secpold's socket. Returns the exit status. */
int secpol_monitor(const char *control, int argc, char **argv);

#endif
