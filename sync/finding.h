/* finding.h: what the engine found wrong, where, and how bad it is.
 *
 * Every problem the YAML loader, the validator, the layout rules and the
 * ingestion planner report is a finding: a stable rule code (FND_RULES below;
 * docs/RULES.md explains each), a severity, a message, and where it is: file,
 * document index, line, column (1-based, in characters, as libyaml counts)
 * and field path ("spec.subnets.default.vlan", "spec.permit[0]").
 *
 * A finding can be placed at a node of a loaded tree (fnd_at) before its
 * field path is known; fnd_resolve_paths walks each tree once to fill in the
 * paths of all such findings, and must run while those trees are alive.
 *
 * A list holds at most `limit` findings; later ones are counted in `dropped`
 * and one "findings-truncated" notice closes the list.  Not thread-safe: one
 * list per thread, but lists and rules carry no global state.
 */
#ifndef HS_FINDING_H
#define HS_FINDING_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "github/base/buf.h"

struct hy_node;

enum fnd_sev {
	FND_ERROR = 0,
	FND_WARNING = 1,
	FND_NOTICE = 2,
	FND_SEV_DEFAULT = -1, /* take the rule's own severity */
};

/* The rules: X(ENUM, "code", severity, "what it means").  Codes are stable
 * identifiers: they are shown to users, used in tests and docs/RULES.md, and
 * never renamed. */
#define FND_RULES(X) \
	X(YAML_SYNTAX, "yaml-syntax", FND_ERROR, "the file is not valid YAML") \
	X(YAML_ENCODING, "yaml-encoding", FND_ERROR, "the file is not valid UTF-8") \
	X(YAML_FILE_TOO_LARGE, "yaml-file-too-large", FND_ERROR, "the file is larger than the byte limit") \
	X(YAML_TOO_MANY_DOCUMENTS, "yaml-too-many-documents", FND_ERROR, "the file has more documents than the limit") \
	X(YAML_TOO_DEEP, "yaml-too-deep", FND_ERROR, "collections are nested deeper than the limit") \
	X(YAML_TOO_MANY_NODES, "yaml-too-many-nodes", FND_ERROR, "the file has more nodes than the limit") \
	X(YAML_ALIAS, "yaml-alias", FND_ERROR, "an alias is undefined, refers to its own parent, or expands past the limit") \
	X(YAML_DUPLICATE_KEY, "yaml-duplicate-key", FND_ERROR, "a mapping has the same key twice") \
	X(YAML_TAG, "yaml-tag", FND_ERROR, "a tag is not a standard YAML tag or does not fit its value") \
	X(YAML_COMPLEX_KEY, "yaml-complex-key", FND_ERROR, "a mapping key is a mapping or a sequence") \
	X(YAML_MERGE, "yaml-merge", FND_ERROR, "a merge key (<<) does not merge mappings") \
	X(YAML_NOT_JSON, "yaml-not-json", FND_ERROR, "a value (NaN, infinity) has no JSON form, so Kubernetes cannot take it") \
	X(DOC_NOT_MAPPING, "doc-not-mapping", FND_ERROR, "a document is not a mapping") \
	X(API_VERSION_MISSING, "api-version-missing", FND_ERROR, "apiVersion is missing or not a string") \
	X(API_VERSION_UNKNOWN, "api-version-unknown", FND_ERROR, "apiVersion names a version hedgesync does not know for the kind") \
	X(API_VERSION_MISMATCH, "api-version-mismatch", FND_ERROR, "apiVersion names an API group the kind does not belong to") \
	X(API_VERSION_DEPRECATED, "api-version-deprecated", FND_WARNING, "apiVersion is v1alpha2: read, and written as v1beta1") \
	X(KIND_MISSING, "kind-missing", FND_ERROR, "kind is missing or not a string") \
	X(KIND_UNKNOWN, "kind-unknown", FND_ERROR, "kind is not a Hedgehog kind") \
	X(KIND_UNMANAGED, "kind-unmanaged", FND_WARNING, "kind is a Hedgehog kind that hedgesync does not manage") \
	X(METADATA_MISSING, "metadata-missing", FND_ERROR, "metadata is missing or not a mapping") \
	X(NAME_MISSING, "name-missing", FND_ERROR, "metadata.name is missing or empty") \
	X(NAME_INVALID, "name-invalid", FND_ERROR, "metadata.name is not a lowercase RFC 1123 subdomain") \
	X(NAME_TOO_LONG, "name-too-long", FND_ERROR, "metadata.name is longer than the kind allows (253, or 11 for VPC, IPv4Namespace and External)") \
	X(NAMESPACE_INVALID, "namespace-invalid", FND_ERROR, "metadata.namespace is not default") \
	X(FIELD_TYPE, "field-type", FND_ERROR, "a field has the wrong YAML type") \
	X(FIELD_UNKNOWN, "field-unknown", FND_WARNING, "a field is not part of the kind's schema") \
	X(FIELD_REQUIRED, "field-required", FND_ERROR, "a required field is missing or empty") \
	X(FIELD_ENUM, "field-enum", FND_ERROR, "a field has a value outside its allowed set") \
	X(FIELD_RANGE, "field-range", FND_ERROR, "a number or a list length is outside its allowed range") \
	X(FIELD_DEPRECATED, "field-deprecated", FND_WARNING, "a field or value is deprecated") \
	X(FIELD_VOLATILE, "field-volatile", FND_NOTICE, "a field is set by the cluster or the prototype and is dropped when written") \
	X(IP_INVALID, "ip-invalid", FND_ERROR, "an IPv4 address is malformed") \
	X(CIDR_INVALID, "cidr-invalid", FND_ERROR, "an IPv4 prefix (address/length) is malformed") \
	X(CIDR_NOT_CANONICAL, "cidr-not-canonical", FND_ERROR, "a prefix has host bits set where a network address is required") \
	X(MAC_INVALID, "mac-invalid", FND_ERROR, "a MAC address is malformed") \
	X(VPC_NAME_PREFIX, "vpc-name-prefix", FND_ERROR, "a VPC name starts with the reserved prefix ext.") \
	X(VPC_SUBNET_COUNT, "vpc-subnet-count", FND_ERROR, "a VPC has no subnet or more than 20") \
	X(VPC_SUBNET_PREFIX, "vpc-subnet-prefix", FND_ERROR, "a VPC subnet is longer than /30") \
	X(VPC_GATEWAY, "vpc-gateway", FND_ERROR, "a VPC subnet gateway is not inside the subnet") \
	X(VPC_VLAN, "vpc-vlan", FND_ERROR, "a VPC subnet has no VLAN (or VLAN 0) though it is not hostBGP") \
	X(VPC_VLAN_DUPLICATE, "vpc-vlan-duplicate", FND_ERROR, "two subnets of one VPC use the same VLAN") \
	X(VPC_SUBNET_OVERLAP, "vpc-subnet-overlap", FND_ERROR, "two subnets of one VPC overlap") \
	X(VPC_DHCP, "vpc-dhcp", FND_ERROR, "VPC subnet DHCP settings contradict each other") \
	X(VPC_DHCP_RANGE, "vpc-dhcp-range", FND_ERROR, "a DHCP range is outside the subnet, hits the network or gateway address, or runs backwards") \
	X(VPC_DHCP_STATIC, "vpc-dhcp-static", FND_ERROR, "a static DHCP address is outside the subnet, reserved, or given twice") \
	X(VPC_HOSTBGP, "vpc-hostbgp", FND_ERROR, "hostBGP settings are inconsistent") \
	X(VPC_PERMIT, "vpc-permit", FND_ERROR, "a permit list names fewer than two subnets, an unknown subnet, or one twice") \
	X(VPC_STATIC_ROUTE, "vpc-static-route", FND_ERROR, "a static route has no prefix or no next hop") \
	X(IPNS_SUBNET_COUNT, "ipns-subnet-count", FND_ERROR, "an IPv4Namespace has no subnet or more than 10") \
	X(IPNS_SUBNET_OVERLAP, "ipns-subnet-overlap", FND_ERROR, "two subnets of one IPv4Namespace overlap") \
	X(VLANNS_RANGE, "vlanns-range", FND_ERROR, "a VLAN range is outside 1..4094, runs backwards, or there are none or over 20") \
	X(VLANNS_RESERVED, "vlanns-reserved", FND_ERROR, "a VLAN range overlaps the reserved VLANs 3000-3999") \
	X(VLANNS_OVERLAP, "vlanns-overlap", FND_ERROR, "two VLAN ranges of one VLANNamespace overlap") \
	X(EXTERNAL_COMMUNITY, "external-community", FND_ERROR, "an External community is missing or not ASN:NN within 0..65535") \
	X(EXTERNAL_STATIC, "external-static", FND_ERROR, "a static External has communities, no prefix, or overlapping prefixes") \
	X(EXTATTACH_BGP, "extattach-bgp", FND_ERROR, "a BGP ExternalAttachment lacks switch.ip, neighbor.asn or neighbor.ip") \
	X(EXTATTACH_STATIC, "extattach-static", FND_ERROR, "a static ExternalAttachment breaks the static rules") \
	X(EXTATTACH_ACL, "extattach-acl", FND_ERROR, "an inbound ACL statement is invalid") \
	X(EXTATTACH_BFD, "extattach-bfd", FND_ERROR, "BFD settings are out of range or set on a static attachment") \
	X(EXTPEERING_PERMIT, "extpeering-permit", FND_ERROR, "an ExternalPeering lacks its VPC, its External or a prefix") \
	X(VPCPEERING_VPCS, "vpcpeering-vpcs", FND_ERROR, "a VPCPeering does not name exactly two VPCs") \
	X(VPCPEERING_REMOTE, "vpcpeering-remote", FND_ERROR, "a VPCPeering uses the removed remote field") \
	X(VPCATTACH_SUBNET, "vpcattach-subnet", FND_ERROR, "a VPCAttachment subnet is not vpc/subnet") \
	X(VPCATTACH_P2P, "vpcattach-p2p", FND_ERROR, "the p2p-link annotation is not an IPv4 /31") \
	X(CONN_TYPE, "conn-type", FND_ERROR, "a Connection does not have exactly one type") \
	X(CONN_PORT, "conn-port", FND_ERROR, "a port is not device/port") \
	X(CONN_LINKS, "conn-links", FND_ERROR, "a Connection has the wrong number of links, devices or switches for its type") \
	X(CONN_PORT_DUPLICATE, "conn-port-duplicate", FND_ERROR, "a Connection uses one port twice") \
	X(CONN_DEPRECATED, "conn-deprecated", FND_WARNING, "a Connection uses the deprecated MCLAG types") \
	X(CONN_IP, "conn-ip", FND_ERROR, "link IPs are on one side only, not /31, or not in one subnet") \
	X(CONN_STATIC_EXTERNAL, "conn-static-external", FND_ERROR, "a staticExternal link has a bad IP, next hop or subnet list") \
	X(SWITCH_ROLE, "switch-role", FND_ERROR, "a Switch has no role or an unknown one") \
	X(SWITCH_PROFILE, "switch-profile", FND_ERROR, "a Switch has no profile") \
	X(SWITCH_REDUNDANCY, "switch-redundancy", FND_ERROR, "a Switch redundancy group and type are not both set or both empty") \
	X(SWITCH_VTEP, "switch-vtep", FND_ERROR, "a spine Switch has a VTEP IP") \
	X(REF_UNRESOLVED, "ref-unresolved", FND_ERROR, "a reference names a resource that is not defined") \
	X(REF_INCOMPATIBLE, "ref-incompatible", FND_ERROR, "a reference names a resource of the wrong type or mode") \
	X(RESOURCE_DUPLICATE, "resource-duplicate", FND_ERROR, "two resources have the same kind and name") \
	X(VPC_SUBNET_OUTSIDE_NAMESPACE, "vpc-subnet-outside-namespace", FND_ERROR, "a VPC subnet is not inside a subnet of its IPv4Namespace") \
	X(VPC_VLAN_OUTSIDE_NAMESPACE, "vpc-vlan-outside-namespace", FND_ERROR, "a VPC subnet VLAN is not inside its VLANNamespace ranges") \
	X(VPC_SUBNET_CONFLICT, "vpc-subnet-conflict", FND_ERROR, "VPCs of one IPv4Namespace have overlapping subnets") \
	X(VPC_VLAN_CONFLICT, "vpc-vlan-conflict", FND_ERROR, "VPCs of one VLANNamespace use the same VLAN") \
	X(PORT_CONFLICT, "port-conflict", FND_ERROR, "two Connections use the same port") \
	X(ESLAG_REDUNDANCY, "eslag-redundancy", FND_ERROR, "the switches of an ESLAG Connection are not in one eslag redundancy group") \
	X(PEERING_NAMESPACE, "peering-namespace", FND_ERROR, "peered VPCs or a VPC and an External are in different namespaces") \
	X(EXTATTACH_VLAN_CONFLICT, "extattach-vlan-conflict", FND_ERROR, "two ExternalAttachments of one Connection use the same VLAN") \
	X(VPCATTACH_DUPLICATE, "vpcattach-duplicate", FND_ERROR, "one subnet is attached to one Connection twice") \
	X(VPCATTACH_NATIVE_VLAN, "vpcattach-native-vlan", FND_ERROR, "a Connection has more than one native-VLAN attachment") \
	X(SWITCH_VLANNS_OVERLAP, "switch-vlanns-overlap", FND_ERROR, "the VLANNamespaces of one Switch overlap") \
	X(CONN_SWITCH_ROLE, "conn-switch-role", FND_WARNING, "a link end is on a switch whose role does not fit it") \
	X(LAYOUT_WRONG_FOLDER, "layout-wrong-folder", FND_ERROR, "a managed file is in the folder of another kind") \
	X(LAYOUT_FILE_NAME, "layout-file-name", FND_ERROR, "a managed file is not named <metadata.name>.yaml") \
	X(LAYOUT_MULTI_DOC, "layout-multi-doc", FND_ERROR, "a managed file holds more than one document") \
	X(LAYOUT_EMPTY_FILE, "layout-empty-file", FND_ERROR, "a managed file holds no document") \
	X(LAYOUT_STRAY_FILE, "layout-stray-file", FND_WARNING, "a file is where the fabric layout has no place for it") \
	X(LAYOUT_NOT_CANONICAL, "layout-not-canonical", FND_NOTICE, "a managed file is valid but not in canonical form") \
	X(LAYOUT_RAW_PENDING, "layout-raw-pending", FND_NOTICE, "a file waits in raw/ for ingestion") \
	X(INGEST_AMBIGUOUS, "ingest-ambiguous", FND_ERROR, "one batch holds different documents with the same kind and name") \
	X(INGEST_DUPLICATE, "ingest-duplicate", FND_NOTICE, "one batch holds the same resource twice, identically") \
	X(INGEST_NOT_YAML, "ingest-not-yaml", FND_WARNING, "a file in raw/ is not named .yaml or .yml") \
	X(FINDINGS_TRUNCATED, "findings-truncated", FND_NOTICE, "more findings than the limit; the rest were dropped")

enum fnd_code {
#define FND_ENUM_(e, c, s, d) FND_##e,
	FND_RULES(FND_ENUM_)
#undef FND_ENUM_
	FND_CODE_COUNT
};

struct finding {
	enum fnd_code code;
	enum fnd_sev sev;
	int doc;       /* document index in the file (0-based), -1 for the file */
	uint32_t line; /* 1-based; 0 when the finding has no position */
	uint32_t col;
	char *file;    /* owned; NULL when not about a file */
	char *path;    /* owned; field path, "" when none */
	char *msg;     /* owned */
	/* pending path resolution (borrowed, cleared by fnd_resolve_paths) */
	const struct hy_node *root;
	const struct hy_node *at;
	const char *at_field;
};

struct fnd_list {
	struct finding *v;
	size_t n;
	size_t alloc;
	size_t limit;   /* most findings kept */
	size_t dropped; /* findings over the limit */
	size_t pending; /* findings waiting for a path */
};

#define FND_DEFAULT_LIMIT 10000

/* limit 0 means FND_DEFAULT_LIMIT. */
void fnd_list_init(struct fnd_list *l, size_t limit);
/* Free every finding; the list can be reused after fnd_list_init.  NULL ok. */
void fnd_list_release(struct fnd_list *l);

/* Add a finding with a known position and path (path may be NULL).  sev is
 * FND_SEV_DEFAULT or an override.  Returns the finding (borrowed, valid until
 * the next add) or NULL when the list is full. */
struct finding *fnd_add(struct fnd_list *l, enum fnd_code code, int sev,
			const char *file, int doc, uint32_t line, uint32_t col,
			const char *path, const char *fmt, ...)
	__attribute__((format(printf, 9, 10)));

/* Add a finding at node `at` of the tree rooted at `root` (either may be
 * NULL).  `field`, when not NULL, names a child of `at` that is missing and
 * is appended to the path.  root, at and field are borrowed until
 * fnd_resolve_paths. */
struct finding *fnd_at(struct fnd_list *l, enum fnd_code code, int sev,
		       const char *file, int doc, const struct hy_node *root,
		       const struct hy_node *at, const char *field,
		       const char *fmt, ...)
	__attribute__((format(printf, 9, 10)));
struct finding *fnd_atv(struct fnd_list *l, enum fnd_code code, int sev,
			const char *file, int doc, const struct hy_node *root,
			const struct hy_node *at, const char *field,
			const char *fmt, va_list ap)
	__attribute__((format(printf, 9, 0)));

/* Fill the field path of every pending finding (one walk per tree). */
void fnd_resolve_paths(struct fnd_list *l);
/* Drop findings from index `from` on (to undo a tentative run). */
void fnd_truncate(struct fnd_list *l, size_t from);

size_t fnd_count(const struct fnd_list *l, enum fnd_sev sev);
/* Sort by file, line, column, code, message; stable for equal keys. */
void fnd_sort(struct fnd_list *l);

/* Rule table. */
const char *fnd_code_name(enum fnd_code code);
enum fnd_sev fnd_code_severity(enum fnd_code code);
const char *fnd_code_summary(enum fnd_code code);
/* The code for a name, or -1. */
int fnd_code_lookup(const char *name);
const char *fnd_sev_name(enum fnd_sev sev); /* "error", "warning", "notice" */

/* Output formats of hedgesync validate. */
enum fnd_format { FND_FMT_TEXT, FND_FMT_GITHUB, FND_FMT_JSON };
int fnd_parse_format(const char *s, enum fnd_format *out);
/* One line per finding (text, github) appended to out; json writes nothing
 * (use fnd_to_json).  HS_OK or HS_ETOOBIG. */
int fnd_format_list(const struct fnd_list *l, enum fnd_format fmt, struct hs_buf *out);
int fnd_format_one(const struct finding *f, enum fnd_format fmt, struct hs_buf *out);
/* A new JSON string of s (NULL is ""), with any invalid UTF-8 (a message
 * cut inside a character) replaced by '?'. */
json_t *fnd_json_string(const char *s);
/* A new JSON object for f / a new array for l. */
json_t *fnd_to_json(const struct finding *f);
json_t *fnd_list_to_json(const struct fnd_list *l);

#endif
