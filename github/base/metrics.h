/* metrics.h: process-wide counters and histograms, rendered as Prometheus text.
 *
 * A registry is created once at start and shared by every thread (it has
 * its own lock).  A series is a metric name plus a label string such as
 * `event="push",outcome="queued"`; label values come from callers, who must
 * pass only values from a small known set (never raw user input), so the
 * number of series stays bounded.  The registry also caps it (HS_METRICS_MAX).
 */
#ifndef HS_METRICS_H
#define HS_METRICS_H

#include <stdint.h>

#include "github/base/buf.h"

#define HS_METRICS_MAX 512

struct hs_metrics;

struct hs_metrics *hs_metrics_new(void);
void hs_metrics_free(struct hs_metrics *m); /* accepts NULL */

/* Describe a metric once: type is "counter", "gauge" or "histogram". */
void hs_metrics_describe(struct hs_metrics *m, const char *name,
			 const char *type, const char *help);

void hs_metrics_add(struct hs_metrics *m, const char *name, const char *labels,
		    double v);
void hs_metrics_set(struct hs_metrics *m, const char *name, const char *labels,
		    double v);
/* Record one observation (seconds) in a histogram with fixed buckets. */
void hs_metrics_observe(struct hs_metrics *m, const char *name,
			const char *labels, double seconds);

/* Current value of a counter or gauge series; 0 if absent. */
double hs_metrics_get(struct hs_metrics *m, const char *name, const char *labels);

/* Append the text exposition format of every series to out. */
int hs_metrics_render(struct hs_metrics *m, struct hs_buf *out);

#endif
