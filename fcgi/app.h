/* app.h: the state one `hedgesync serve` process shares among its threads.
 * Built once in main before any thread starts; read-only afterwards except
 * for the fields that say how they are synchronized. */
#ifndef FCGI_APP_H
#define FCGI_APP_H

#include "fcgi/config.h"
#include "sync/env.h"

struct hs_metrics;
struct queue;
struct intake;
struct setup;

struct app {
	const struct hs_config *cfg; /* borrowed */
	struct hs_metrics *metrics;  /* locked internally */
	struct queue *queue;         /* queue_notify is thread-safe */
	struct intake *intake;       /* group commit of deliveries; thread-safe */
	struct sync_env env;
	int listen_fd;
	volatile int stopping;       /* set by the signal thread */
	struct setup *setup;         /* serve --setup without an App, else NULL */
};

#endif
