/* emit.h: the canonical YAML writer.
 *
 * Output is a function of the value only: block style, two-space indent,
 * sequences under a key at the key's indent (as kubectl and hhfab write
 * them), mapping keys sorted bytewise (with a fixed order for the top of a
 * managed file), no comments, no anchors, no tags.  Every scalar is written
 * in the form that reads back as the same value and type under the loader's
 * YAML 1.1 resolution (and under PyYAML and YAML 1.2 parsers): a string that
 * would read as something else is quoted ('yes', '1', '0755', '1:20',
 * '2024-01-01'), floats always carry a '.' or an exponent, text with line
 * breaks is a literal block when that is exact and double-quoted otherwise.
 * So emit(load(emit(x))) == emit(x), byte for byte.
 *
 * A managed file (emit_managed) is one document, no leading ---, keys
 * apiVersion, kind, metadata, spec first; metadata.name and namespace first
 * in metadata; namespace default added when missing; v1alpha2 written as
 * v1beta1; status, server-set metadata (uid, resourceVersion,
 * creationTimestamp, generation, managedFields, selfLink, deletion*), the
 * prototype's hnp.githedgehog.com/ annotations, kubectl's
 * last-applied-configuration annotation and the controller's
 * fabric.githedgehog.com/ labels are dropped (emit_is_volatile tells which).
 *
 * Thread-safe; no global state.
 */
#ifndef HS_EMIT_H
#define HS_EMIT_H

#include <stddef.h>

#include "github/base/buf.h"
#include "sync/yaml.h"

/* Append the canonical YAML of the document rooted at n to out.
 * HS_OK, or HS_ETOOBIG when out's limit is reached (out then holds a
 * prefix), or HS_EINVAL when n holds a value YAML cannot carry through
 * JSON (none today; reserved). */
int emit_doc(struct hs_buf *out, const struct hy_node *n);

/* Append the canonical managed file of resource document `root` (a
 * mapping) to out.  HS_EINVAL when root is not a mapping. */
int emit_managed(struct hs_buf *out, const struct hy_node *root);

/* The managed file of a resource given as JSON (a NetBox payload):
 * hy_from_json then emit_managed.  HS_EINVAL with err when the JSON cannot
 * become YAML (too deep) or is not an object. */
int emit_managed_json(struct hs_buf *out, const json_t *resource, char *err);

/* Which metadata fields emit_managed drops.  `where` is "metadata",
 * "annotations" or "labels"; key is the field or the annotation/label key. */
int emit_is_volatile(const char *where, const char *key, size_t keylen);

enum emit_style {
	EMIT_PLAIN,
	EMIT_SINGLE,
	EMIT_DOUBLE,
	EMIT_LITERAL,
};
/* How a string is written (as a key when is_key: never a literal block). */
enum emit_style emit_string_style(const char *s, size_t len, int is_key);

/* The canonical text of a float (shortest round trip, always a float). */
void emit_float_text(double f, char *buf, size_t size);

#endif
