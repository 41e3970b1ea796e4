/* server.h: `hedgesync serve`: the FastCGI socket, request threads, workers
 * and an orderly stop on SIGTERM. */
#ifndef FCGI_SERVER_H
#define FCGI_SERVER_H

#include "fcgi/config.h"

/* Run until SIGTERM or SIGINT; returns the process exit status. */
int server_run(const struct hs_config *cfg);

#endif
