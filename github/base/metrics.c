/* metrics.c: a small locked registry of counters, gauges and histograms. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/err.h"
#include "github/base/mem.h"
#include "github/base/metrics.h"

static const double buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
				  1, 2.5, 5, 10, 30, 60 };
#define N_BUCKETS (sizeof(buckets) / sizeof(*buckets))

struct series {
	char *name, *labels;
	double value;              /* counter, gauge; histogram sum */
	uint64_t count;            /* histogram */
	uint64_t bucket[N_BUCKETS];
	int histogram;
};

struct desc {
	char *name, *type, *help;
};

struct hs_metrics {
	pthread_mutex_t lock;
	struct series *s;
	size_t n;
	struct desc *d;
	size_t nd;
};

struct hs_metrics *hs_metrics_new(void)
{
	struct hs_metrics *m = hs_calloc(1, sizeof(*m));

	pthread_mutex_init(&m->lock, NULL);
	m->s = hs_calloc(HS_METRICS_MAX, sizeof(*m->s));
	return m;
}

void hs_metrics_free(struct hs_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->s[i].name);
		free(m->s[i].labels);
	}
	for (size_t i = 0; i < m->nd; i++) {
		free(m->d[i].name);
		free(m->d[i].type);
		free(m->d[i].help);
	}
	free(m->s);
	free(m->d);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void hs_metrics_describe(struct hs_metrics *m, const char *name,
			 const char *type, const char *help)
{
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->nd; i++)
		if (!strcmp(m->d[i].name, name))
			goto out;
	m->d = hs_realloc(m->d, (m->nd + 1) * sizeof(*m->d));
	m->d[m->nd].name = hs_strdup(name);
	m->d[m->nd].type = hs_strdup(type);
	m->d[m->nd].help = hs_strdup(help);
	m->nd++;
out:
	pthread_mutex_unlock(&m->lock);
}

/* The series for name+labels, created if there is room; call locked. */
static struct series *find(struct hs_metrics *m, const char *name, const char *labels)
{
	if (!labels)
		labels = "";
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->s[i].name, name) && !strcmp(m->s[i].labels, labels))
			return &m->s[i];
	if (m->n == HS_METRICS_MAX)
		return NULL;
	m->s[m->n].name = hs_strdup(name);
	m->s[m->n].labels = hs_strdup(labels);
	return &m->s[m->n++];
}

void hs_metrics_add(struct hs_metrics *m, const char *name, const char *labels, double v)
{
	struct series *s;

	pthread_mutex_lock(&m->lock);
	if ((s = find(m, name, labels)))
		s->value += v;
	pthread_mutex_unlock(&m->lock);
}

void hs_metrics_set(struct hs_metrics *m, const char *name, const char *labels, double v)
{
	struct series *s;

	pthread_mutex_lock(&m->lock);
	if ((s = find(m, name, labels)))
		s->value = v;
	pthread_mutex_unlock(&m->lock);
}

void hs_metrics_observe(struct hs_metrics *m, const char *name, const char *labels,
			double seconds)
{
	struct series *s;

	pthread_mutex_lock(&m->lock);
	if ((s = find(m, name, labels))) {
		s->histogram = 1;
		s->value += seconds;
		s->count++;
		for (size_t i = 0; i < N_BUCKETS; i++)
			if (seconds <= buckets[i])
				s->bucket[i]++;
	}
	pthread_mutex_unlock(&m->lock);
}

double hs_metrics_get(struct hs_metrics *m, const char *name, const char *labels)
{
	struct series *s;
	double v = 0;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n; i++) {
		s = &m->s[i];
		if (!strcmp(s->name, name) && !strcmp(s->labels, labels ? labels : "")) {
			v = s->value;
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return v;
}

static void render_labels(struct hs_buf *out, const char *labels, const char *extra)
{
	if (!*labels && !extra)
		return;
	hs_buf_addch(out, '{');
	hs_buf_addstr(out, labels);
	if (extra) {
		if (*labels)
			hs_buf_addch(out, ',');
		hs_buf_addstr(out, extra);
	}
	hs_buf_addch(out, '}');
}

int hs_metrics_render(struct hs_metrics *m, struct hs_buf *out)
{
	pthread_mutex_lock(&m->lock);
	for (size_t d = 0; d < m->nd; d++) {
		const char *name = m->d[d].name;

		hs_buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, m->d[d].help,
			    name, m->d[d].type);
		for (size_t i = 0; i < m->n; i++) {
			struct series *s = &m->s[i];

			if (strcmp(s->name, name))
				continue;
			if (!s->histogram) {
				hs_buf_addstr(out, name);
				render_labels(out, s->labels, NULL);
				hs_buf_addf(out, " %.17g\n", s->value);
				continue;
			}
			for (size_t b = 0; b < N_BUCKETS; b++) {
				char le[32];

				snprintf(le, sizeof(le), "le=\"%g\"", buckets[b]);
				hs_buf_addf(out, "%s_bucket", name);
				render_labels(out, s->labels, le);
				hs_buf_addf(out, " %llu\n", (unsigned long long)s->bucket[b]);
			}
			hs_buf_addf(out, "%s_bucket", name);
			render_labels(out, s->labels, "le=\"+Inf\"");
			hs_buf_addf(out, " %llu\n%s_sum", (unsigned long long)s->count, name);
			render_labels(out, s->labels, NULL);
			hs_buf_addf(out, " %.17g\n%s_count", s->value, name);
			render_labels(out, s->labels, NULL);
			hs_buf_addf(out, " %llu\n", (unsigned long long)s->count);
		}
	}
	pthread_mutex_unlock(&m->lock);
	return HS_OK;
}
