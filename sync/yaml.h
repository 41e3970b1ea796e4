/* yaml.h: users' YAML as a tree that remembers where everything was.
 *
 * hy_load parses a (multi-document) stream with libyaml into a tree of
 * hy_node, one per document, keeping the line and column of every node and
 * the style each scalar was written in.  Plain scalars are resolved the way
 * Kubernetes resolves them (YAML 1.1 as go-yaml v2 does under
 * sigs.k8s.io/yaml): yes/no/on/off/y/n are booleans, 0755 is octal, 0x1F hex,
 * 1_000 is 1000, 1e3 a float, ~ and null are null; quoted scalars are always
 * strings.  Mapping keys are turned into strings as sigs.k8s.io/yaml does
 * (1 -> "1", true -> "true"), so every tree is also a JSON value.
 *
 * Hostile input is bounded: the byte size, documents, nodes (counting what
 * aliases expand to, so a billion-laughs file fails on its first levels),
 * nesting depth and anchors are capped by struct hy_limits; invalid UTF-8,
 * tabs used as indentation and other syntax errors end the load with a
 * finding at their line and column.  Duplicate keys, unsupported tags,
 * complex keys and bad merges are findings on their document, which is then
 * marked HY_DOC_INVALID but still loaded.
 *
 * Everything a load makes lives in one arena (see arena.h): the stream,
 * documents, nodes and strings are borrowed from it and die with it.
 * Thread-safe: no global state; distinct streams may be used concurrently.
 */
#ifndef HS_YAML_H
#define HS_YAML_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "sync/arena.h"
#include "sync/finding.h"

enum hy_type {
	HY_NULL,
	HY_BOOL,
	HY_INT,
	HY_FLOAT,
	HY_STR,
	HY_MAP,
	HY_SEQ,
};

/* How a node was written (kept for messages and for callers that care). */
enum hy_style {
	HY_STYLE_ANY,     /* not from YAML text (built from JSON or in code) */
	HY_STYLE_PLAIN,
	HY_STYLE_SINGLE,  /* 'single quoted' */
	HY_STYLE_DOUBLE,  /* "double quoted" */
	HY_STYLE_LITERAL, /* | block */
	HY_STYLE_FOLDED,  /* > block */
	HY_STYLE_BLOCK,   /* block collection */
	HY_STYLE_FLOW,    /* [flow] or {flow} collection */
};

enum hy_flags {
	HY_F_UNSIGNED = 1 << 0, /* HY_INT above INT64_MAX: value in v.u */
	HY_F_TAGGED = 1 << 1,   /* had an explicit standard tag (!!str, ...) */
	HY_F_KEY_CONVERTED = 1 << 2, /* a key that was not a string in the source */
	HY_F_ANCHORED = 1 << 3, /* target of an alias (may be shared) */
};

struct hy_node;

struct hy_pair {
	struct hy_node *key; /* always HY_STR */
	struct hy_node *val;
};

struct hy_node {
	uint8_t type;   /* enum hy_type */
	uint8_t style;  /* enum hy_style */
	uint16_t flags; /* enum hy_flags */
	uint32_t line;  /* 1-based; 0 when not from a file */
	uint32_t col;   /* 1-based, in characters */
	uint32_t len;   /* HY_STR: bytes of text; HY_MAP: pairs; HY_SEQ: items */
	uint32_t size;  /* nodes in this subtree, aliases expanded (saturating) */
	/* scalars: NUL-terminated; HY_STR: the value (may hold NUL bytes,
	 * see len); other scalars: the text as written; collections: "" */
	const char *text;
	union {
		int64_t i;
		uint64_t u;
		double f;
		int b;
		struct hy_pair *pairs;
		struct hy_node **items;
		const char *orig; /* HY_STR with HY_F_KEY_CONVERTED: the key as written */
	} v;
};

enum hy_doc_flags {
	HY_DOC_INVALID = 1 << 0, /* the loader reported an error in it */
};

struct hy_doc {
	struct hy_node *root;
	uint32_t index;    /* 0-based among the stream's non-empty documents */
	uint32_t line;     /* 1-based line where the document starts */
	uint32_t end_line; /* 1-based line where the next document starts; 0 = end */
	uint32_t flags;    /* enum hy_doc_flags */
};

struct hy_stream {
	struct arena *arena; /* owns everything below */
	int own_arena;       /* hy_stream_free frees the arena */
	struct hy_doc *docs;
	uint32_t ndocs;
	uint64_t nodes;      /* nodes made, aliases expanded */
	size_t bytes;        /* input size */
};

struct hy_limits {
	size_t max_bytes;     /* file size */
	uint32_t max_docs;    /* non-empty documents per file */
	uint32_t max_depth;   /* nesting of collections */
	uint64_t max_nodes;   /* per file, counting alias expansions */
	uint32_t max_anchors; /* per document */
};

#define HY_MAX_BYTES (16u * 1024 * 1024)
#define HY_MAX_DOCS 100000u
#define HY_MAX_DEPTH 64u
#define HY_MAX_NODES 1000000u
#define HY_MAX_ANCHORS 10000u
#define HY_LIMITS_DEFAULT { HY_MAX_BYTES, HY_MAX_DOCS, HY_MAX_DEPTH, HY_MAX_NODES, HY_MAX_ANCHORS }

/* Load a YAML stream.
 *
 * data[0..len) need not be NUL-terminated.  file names the input in
 * findings (borrowed).  lim may be NULL for the defaults.  arena, when not
 * NULL, receives the allocations (borrowed; the stream then dies with it);
 * otherwise the stream makes and owns one.  Findings go to `findings` (may
 * be NULL).
 *
 * Returns HS_OK and *out (new; free with hy_stream_free), or a negative
 * code (HS_EINVAL for bad YAML or encoding, HS_ETOOBIG for a broken limit)
 * with a message in err and *out NULL; the finding explains it too.
 */
int hy_load(struct hy_stream **out, const char *data, size_t len,
	    const char *file, const struct hy_limits *lim, struct arena *arena,
	    struct fnd_list *findings, char *err);
/* Free a stream (and its arena if it owns it).  Accepts NULL. */
void hy_stream_free(struct hy_stream *s);

/* Scalar resolution of one plain scalar, as go-yaml v2 does.  Fills type
 * and value of n from text[0..len); n->text is not touched.  Used by the
 * loader and by the emitter to decide whether a string needs quotes. */
void hy_resolve_plain(const char *text, size_t len, struct hy_node *n);

/* Accessors; all return borrowed pointers and accept NULL. */
/* The value of `key` in map n, NULL if n is not a map or has no such key. */
const struct hy_node *hy_get(const struct hy_node *n, const char *key);
/* The string of n, or NULL if n is not a string. */
const char *hy_str(const struct hy_node *n);
/* The string value of `key` in map n, or NULL. */
const char *hy_get_str(const struct hy_node *n, const char *key);
int hy_is(const struct hy_node *n, enum hy_type t);
const char *hy_type_name(enum hy_type t); /* "string", "mapping", ... */

/* A new node in arena a (tree building in code and from JSON). */
struct hy_node *hy_new_str(struct arena *a, const char *s, size_t len);
struct hy_node *hy_new_scalar(struct arena *a, enum hy_type t);

/* JSON.  hy_to_json: a new reference, or NULL with err set when the tree
 * holds a value JSON cannot (NaN, infinity).  hy_from_json: a tree in arena
 * a, or NULL with err set when the JSON nests deeper than max_depth or holds
 * a non-finite real. */
json_t *hy_to_json(const struct hy_node *n, char *err);
struct hy_node *hy_from_json(struct arena *a, const json_t *j,
			     uint32_t max_depth, char *err);

/* Structural equality of two trees, as JSON values (map order ignored). */
int hy_equal(const struct hy_node *a, const struct hy_node *b);

#endif
