/* merge.h: field-level three-way merge of one resource held as JSON.
 *
 * A NetBox edit and a Git edit of the same resource are reconciled against
 * the version both started from (the base).  Each value may be absent
 * (NULL: the file is missing, the resource deleted).  For each value, with
 * "equal" meaning json_equal (and absent equal only to absent):
 *
 *   - ours equals theirs: that value;
 *   - ours equals base: theirs (only NetBox changed it);
 *   - theirs equals base: ours (only Git changed it);
 *   - both objects: merged key by key over the union of their keys, a key
 *     missing on a side being absent there; a base that is absent or not an
 *     object counts as an empty object.  Result order: ours' keys in ours'
 *     order, then the keys only theirs has, in theirs' order;
 *   - both keyed arrays: merged element by element, matched by name.  An
 *     array is keyed when every element is an object with a string "name"
 *     member, unique within the array; ours, theirs and (when it is an
 *     array) base must all be keyed.  Result order: ours' elements, then
 *     the elements only theirs has, in theirs' order;
 *   - anything else (scalars, other arrays as whole values, a deletion
 *     against a change, an object against a scalar): a conflict.
 *
 * Conflicts are reported by field path: object keys joined by '.' from the
 * root ("spec.subnets.subnet-2.vlan"), a keyed-array element as [name]
 * ("spec.links[leaf-1].port"), the root itself as ".".  A key (or element
 * name) that is empty or holds '.', '[', ']', '"', '\' or a control
 * character is written JSON-quoted in brackets:
 * metadata.labels["app.kubernetes.io/name"].
 *
 * Thread-safe; no global state.
 */
#ifndef HS_MERGE_H
#define HS_MERGE_H

#include <jansson.h>

/* Deepest nesting of objects and arrays merge3 accepts: a container inside
 * 64 containers is too deep (the root container is at depth 1). */
#define MERGE_MAX_DEPTH 64

/* Merge ours (the Git version) and theirs (the NetBox version) against base.
 *
 * base, ours, theirs: borrowed, each may be NULL (absent).  conflicts:
 * borrowed array (or NULL when only the count matters); the path of each
 * conflicting field is appended to it as a JSON string, in document order.
 *
 * Returns the number of conflicts, or a negative code: HS_EINVAL when out is
 * NULL or conflicts is not an array, HS_ETOOBIG when any of the three nests
 * containers deeper than MERGE_MAX_DEPTH (nothing is appended then).
 *
 * *out: on 0 (clean) a new reference to the merged value, or NULL when the
 * merged result is absent (deleted on one side, unchanged on the other, or
 * deleted on both).  On conflicts *out is a best-effort merge taking ours at
 * each conflicting path (may be NULL); callers should only use it to show
 * the clean part, never write it.  On error *out is NULL.  The merged value
 * may share unchanged sub-values with the inputs (reference counts); do
 * not modify it in place while they are alive, or json_deep_copy it first.
 */
int merge3(const json_t *base, const json_t *ours, const json_t *theirs,
	   json_t **out, json_t *conflicts);

#endif
