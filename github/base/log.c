/* log.c: line-oriented logging, JSON through jansson or plain text. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "github/base/err.h"
#include "github/base/log.h"

static enum hs_log_level min_level = HS_LOG_INFO;
static enum hs_log_format log_format = HS_LOG_TEXT;

static const char *level_names[] = { "debug", "info", "warn", "error" };

void hs_log_setup(enum hs_log_level level, enum hs_log_format format)
{
	min_level = level;
	log_format = format;
}

int hs_log_parse_level(const char *s, enum hs_log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(*level_names); i++) {
		if (!strcmp(s, level_names[i])) {
			*out = (enum hs_log_level)i;
			return HS_OK;
		}
	}
	if (!strcmp(s, "warning")) {
		*out = HS_LOG_WARN;
		return HS_OK;
	}
	return HS_EINVAL;
}

int hs_log_parse_format(const char *s, enum hs_log_format *out)
{
	if (!strcmp(s, "json"))
		*out = HS_LOG_JSON;
	else if (!strcmp(s, "text"))
		*out = HS_LOG_TEXT;
	else
		return HS_EINVAL;
	return HS_OK;
}

int hs_log_enabled(enum hs_log_level level)
{
	return level >= min_level;
}

static void write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(STDERR_FILENO, p, n);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

void hs_log(enum hs_log_level level, const char *id_key, const char *id_val,
	    const char *fmt, ...)
{
	char msg[2048], ts[40], line[4096];
	struct timespec now;
	struct tm tm;
	va_list ap;
	int n;

	if (level < min_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = (int)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - (size_t)n, ".%03ldZ", now.tv_nsec / 1000000);

	if (log_format == HS_LOG_JSON) {
		json_t *o = json_object();
		char *s;

		json_object_set_new(o, "ts", json_string(ts));
		json_object_set_new(o, "level", json_string(level_names[level]));
		if (id_key && id_val)
			json_object_set_new(o, id_key, json_string(id_val));
		json_object_set_new(o, "msg", json_string(msg));
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
		if (s) {
			size_t len = strlen(s);

			s[len] = '\n'; /* overwrite NUL; write len+1 bytes */
			write_all(s, len + 1);
			free(s);
		}
		return;
	}
	if (id_key && id_val)
		n = snprintf(line, sizeof(line), "%s %-5s %s=%s %s\n", ts,
			     level_names[level], id_key, id_val, msg);
	else
		n = snprintf(line, sizeof(line), "%s %-5s %s\n", ts,
			     level_names[level], msg);
	if (n > (int)sizeof(line) - 1) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	write_all(line, (size_t)n);
}
