/* validate.h: the Hedgehog rules, per document and over a whole fabric.
 *
 * val_doc checks one loaded document on its own: apiVersion and kind known
 * and matching, metadata (name an RFC 1123 subdomain within the kind's
 * length limit, namespace default), every field's type against the kind's
 * schema (unknown fields are warnings) and every per-kind rule of the
 * Hedgehog API (VPC subnets, VLANs, DHCP, permits; VLANNamespace ranges;
 * Connection types and ports; ...).  Fields hhfab fills in later (switch
 * ASN and IPs, link IPs) are checked when present and never required.
 * Along the way it records the facts the fabric rules need (references,
 * subnets, VLANs, ports) in a val_res.
 *
 * val_fabric checks a set of val_res together: every reference resolves
 * (the "default" IPv4Namespace and VLANNamespace always do; SwitchProfile,
 * ServerProfile and Gateway references are not checked), VPC subnets sit in
 * their IPv4Namespace and VLANs in their VLANNamespace, no subnet overlap or
 * VLAN reuse between VPCs of one namespace, no port in two Connections, no
 * two resources with one kind and name, and the other cross-resource rules
 * of docs/RULES.md.
 *
 * val_set ties loading, document rules, layout rules and fabric rules
 * together for callers that validate files (the CLI, the check run).
 *
 * Thread-safe: no global state; one val_set per thread.
 */
#ifndef HS_VALIDATE_H
#define HS_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "sync/arena.h"
#include "sync/finding.h"
#include "sync/kinds.h"
#include "sync/yaml.h"

struct val_facts; /* kind-specific facts, private to the validator */

/* One document as the validator saw it.  Strings and nodes are borrowed
 * from the document's tree; the struct lives in the arena given to val_doc. */
struct val_res {
	const struct kind_info *kind; /* NULL when kind is missing or unknown */
	const char *kind_name;        /* kind as written, NULL if not a string */
	const char *api_version;      /* as written, NULL if not a string */
	const char *name;             /* metadata.name, NULL if missing */
	const char *file;             /* borrowed from the caller */
	const struct hy_doc *doc;
	const struct hy_node *root;
	uint32_t errors;              /* error findings on this document alone */
	uint32_t warnings;
	struct val_facts *facts;      /* NULL unless a managed kind */
};

/* Validate one document.  file (borrowed, must outlive the findings' path
 * resolution) names it in findings.  Loader findings are not repeated: a
 * document the loader marked HY_DOC_INVALID counts one error.  Returns the
 * result, allocated in arena a. */
struct val_res *val_doc(struct arena *a, const struct hy_doc *d, const char *file,
			struct fnd_list *fl);

/* Validate a tree that did not come from a file (a NetBox change built
 * with hy_from_json): as val_doc, with the tree as document 0 of `file`.
 * Findings have no line (0) but have field paths.  root must live in `a`
 * or outlive the result. */
struct val_res *val_tree(struct arena *a, const struct hy_node *root, const char *file,
			 struct fnd_list *fl);

struct val_opts {
	/* severity of fabric-level findings: FND_SEV_DEFAULT keeps each rule's
	 * own; FND_WARNING turns them all into warnings (ingestion: "only a
	 * document invalid on its own is quarantined") */
	int fabric_sev;
	/* severity of ref-unresolved: FND_SEV_DEFAULT (error) for a complete
	 * fabric, FND_WARNING when the set may be partial */
	int ref_sev;
};

#define VAL_OPTS_DEFAULT { FND_SEV_DEFAULT, FND_SEV_DEFAULT }

/* Fabric-level rules over res[0..n) (documents with kind NULL or not
 * managed are skipped).  Findings are added to fl with their paths already
 * resolved; the trees must be alive.  Uses the heap only for its indexes. */
void val_fabric(struct val_res *const *res, size_t n, const struct val_opts *o,
		struct fnd_list *fl);

/* --- validating files ----------------------------------------------------- */

struct val_set;

enum val_add_flags {
	VAL_MANAGED = 1 << 0,   /* a file under managed/: layout rules apply (rel needed) */
	VAL_DOC_ONLY = 1 << 1,  /* document rules only; not part of the fabric rules */
};

struct val_stats {
	size_t files;
	size_t docs;
	size_t bytes;
	uint64_t nodes;
	size_t arena_bytes;
};

/* A new set (new; free with val_set_free).  o and lim may be NULL for the
 * defaults; findings are capped at max_findings (0 = default). */
struct val_set *val_set_new(const struct val_opts *o, const struct hy_limits *lim,
			    size_t max_findings);
void val_set_free(struct val_set *s);

/* Load, and validate each document of, one file.  file is the name shown in
 * findings; rel, for VAL_MANAGED, is its path relative to the fabric
 * directory ("managed/vpcs/vpc-1.yaml").  data is borrowed for the call
 * only.  Returns the number of documents, or a negative code when the file
 * could not be loaded (the findings say why). */
int val_set_add(struct val_set *s, const char *file, const char *rel, const char *data,
		size_t len, unsigned flags);
/* Run the fabric rules over everything added (once), resolve and sort the
 * findings. */
void val_set_finish(struct val_set *s);
/* The findings (borrowed; add more with fnd_add if needed). */
struct fnd_list *val_set_findings(struct val_set *s);
void val_set_stats(const struct val_set *s, struct val_stats *st);

/* --- small rules shared with other modules --------------------------------- */

/* metadata.name rules: a lowercase RFC 1123 subdomain.  1 when valid. */
int val_name_ok(const char *name);

#endif
