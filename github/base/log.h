/* log.h: one line per event, as JSON or text, on standard error.
 *
 * Every line carries the id of what it is about (a delivery, a job, an
 * operation) when there is one.  Callers never pass secrets, tokens or keys:
 * nothing here redacts.  Thread-safe; each line is written with one write(2).
 */
#ifndef HS_LOG_H
#define HS_LOG_H

enum hs_log_level { HS_LOG_DEBUG, HS_LOG_INFO, HS_LOG_WARN, HS_LOG_ERROR };
enum hs_log_format { HS_LOG_TEXT, HS_LOG_JSON };

/* Set once at start, before threads run. */
void hs_log_setup(enum hs_log_level level, enum hs_log_format format);
/* Parse "debug|info|warn|error" and "json|text"; HS_EINVAL when unknown. */
int hs_log_parse_level(const char *s, enum hs_log_level *out);
int hs_log_parse_format(const char *s, enum hs_log_format *out);
int hs_log_enabled(enum hs_log_level level);

/* id_key names what id_val is ("delivery", "job", "operation"); both may be NULL. */
void hs_log(enum hs_log_level level, const char *id_key, const char *id_val,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define hs_info(...) hs_log(HS_LOG_INFO, NULL, NULL, __VA_ARGS__)
#define hs_warn(...) hs_log(HS_LOG_WARN, NULL, NULL, __VA_ARGS__)
#define hs_error(...) hs_log(HS_LOG_ERROR, NULL, NULL, __VA_ARGS__)
#define hs_debug(...) hs_log(HS_LOG_DEBUG, NULL, NULL, __VA_ARGS__)

#endif
