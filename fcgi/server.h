/* server.h: `hedgesync serve`: the FastCGI socket, request threads, workers
 * and an orderly stop on SIGTERM. */
#ifndef FCGI_SERVER_H
#define FCGI_SERVER_H

#include "fcgi/config.h"

/* What server_run returns when /setup registered the App: start again. */
#define SERVER_RESTART 75

/* Run until SIGTERM or SIGINT; returns the process exit status, or
 * SERVER_RESTART.  With cfg->setup only /healthz and the /setup pages run
 * (no GitHub App yet: no workers, no intake). */
int server_run(const struct hs_config *cfg);

#endif
