/* validate_int.h: what validate.c, validate_kinds.c and validate_fabric.c share. */
#ifndef HS_VALIDATE_INT_H
#define HS_VALIDATE_INT_H

#include <stdarg.h>

#include "sync/ipv4.h"
#include "sync/validate.h"

/* --- schemas ----------------------------------------------------------------- */

enum sch_type {
	T_END,  /* terminates a field list */
	T_STR,
	T_INT,
	T_BOOL,
	T_OBJ,  /* fixed fields: sub is a T_END-terminated list */
	T_LIST, /* sub points at one element schema */
	T_MAP,  /* any string keys; sub points at one element schema */
	T_ANY,
};

enum sch_flags {
	SCH_VOLATILE = 1 << 0,   /* dropped on write (field-volatile notice) */
	SCH_DEPRECATED = 1 << 1, /* field-deprecated warning */
};

struct sch {
	const char *name;
	uint8_t type;
	uint8_t flags;
	uint8_t nlen; /* strlen(name), 0 when name is NULL */
	const struct sch *sub;
	int64_t min, max;          /* T_INT bounds, checked when min < max */
	const char *const *values; /* T_STR allowed values (NULL-terminated) */
};

/* --- facts for the fabric rules -------------------------------------------------- */

enum ref_flags {
	REF_DEFAULT_OK = 1 << 0,  /* "default" resolves without a definition */
	REF_SUBNET = 1 << 1,      /* sub names a subnet of the VPC */
	REF_SERVER_CONN = 1 << 2, /* the Connection must face a server */
	REF_EXTERNAL_CONN = 1 << 3, /* the Connection must be external */
	REF_STATIC_EXT = 1 << 4,  /* the External must be static */
};

struct v_ref {
	uint8_t kind;  /* enum kind_id */
	uint8_t flags; /* enum ref_flags */
	const char *name;
	const char *sub;
	const struct hy_node *at;
};

struct v_subnet {
	const char *name;
	const struct hy_node *at;      /* the subnet mapping */
	const struct hy_node *at_pfx;  /* its subnet: value */
	const struct hy_node *at_vlan; /* its vlan: value */
	struct ip4_prefix pfx;
	int has_pfx;
	uint16_t vlan;
	uint8_t hostbgp;
};

struct v_prefix {
	struct ip4_prefix pfx;
	const struct hy_node *at;
};

struct v_range {
	uint16_t from, to;
	const struct hy_node *at;
};

enum v_dev {
	DEV_SWITCH,
	DEV_SERVER,
	DEV_GATEWAY,
};

enum v_end {
	END_ANY,
	END_SPINE,
	END_LEAF,
};

struct v_port {
	const char *port;   /* "device/port" as written */
	const char *device; /* arena copy of the device part */
	uint8_t dev;        /* enum v_dev */
	uint8_t end;        /* enum v_end */
	const struct hy_node *at;
};

enum v_conn {
	CONN_NONE,
	CONN_UNBUNDLED,
	CONN_BUNDLED,
	CONN_MCLAG,
	CONN_ESLAG,
	CONN_MCLAG_DOMAIN,
	CONN_FABRIC,
	CONN_MESH,
	CONN_GATEWAY,
	CONN_VPC_LOOPBACK,
	CONN_EXTERNAL,
	CONN_STATIC_EXTERNAL,
};

struct val_facts {
	/* VPC, External */
	const char *ipv4ns;
	const char *vlanns;
	const struct hy_node *at_ipv4ns;
	const struct hy_node *at_vlanns;
	/* VPC */
	struct v_subnet *subnets;
	uint32_t nsubnets;
	uint8_t subnets_unknown; /* too many subnets to keep facts about */
	/* IPv4Namespace subnets, External static prefixes */
	struct v_prefix *prefixes;
	uint32_t nprefixes;
	/* VLANNamespace */
	struct v_range *ranges;
	uint32_t nranges;
	/* every kind */
	struct v_ref *refs;
	uint32_t nrefs;
	/* Connection */
	struct v_port *ports;
	uint32_t nports;
	uint8_t conn;
	/* Switch */
	const char *role;
	const char *rgroup;
	const char *rtype;
	/* External: has static prefixes; ExternalAttachment: is static */
	uint8_t is_static;
	/* ExternalAttachment: the VLAN used on the connection */
	uint16_t vlan;
	const struct hy_node *at_vlan;
	/* VPCAttachment, ExternalAttachment: the Connection named */
	const char *conn_name;
	/* VPCAttachment */
	const char *att_vpc;
	const char *att_subnet;
	const struct hy_node *at_att;
	uint8_t native_vlan;
	const struct hy_node *at_native;
	/* VPCPeering / ExternalPeering: the VPCs and External named */
	const char *peer[2];
	const struct hy_node *at_peer[2];
	uint8_t npeer;
	const char *peer_ext;
	const struct hy_node *at_peer_ext;
};

/* --- document validation context ----------------------------------------------- */

struct vctx {
	struct arena *a;
	struct fnd_list *fl;
	const char *file;
	int doc;
	const struct hy_node *root;
	struct val_res *res;
	struct val_facts *f;
	uint32_t errors;
	uint32_t warnings;
	/* growing arrays, copied into the arena by vctx_finish */
	struct v_ref *refs;
	size_t nrefs, arefs;
	struct v_port *ports;
	size_t nports, aports;
	struct v_subnet *subnets;
	size_t nsubnets, asubnets;
	struct v_prefix *prefixes;
	size_t nprefixes, aprefixes;
	struct v_range *ranges;
	size_t nranges, aranges;
};

void vfind(struct vctx *c, enum fnd_code code, const struct hy_node *at, const char *field,
	   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Facts collection. */
void vctx_ref(struct vctx *c, enum kind_id kind, const char *name, const char *sub,
	      const struct hy_node *at, unsigned flags);
struct v_port *vctx_port(struct vctx *c);
struct v_subnet *vctx_subnet(struct vctx *c);
struct v_prefix *vctx_prefix(struct vctx *c);
struct v_range *vctx_range(struct vctx *c);

/* Walk node against schema field s (type, unknown fields, enums, ranges). */
void sch_check(struct vctx *c, const struct hy_node *n, const struct sch *s);
/* The spec schema of a managed kind. */
const struct sch *kind_spec_schema(enum kind_id id);
/* Per-kind rules on spec (may be NULL when missing). */
void kind_check_spec(struct vctx *c, enum kind_id id, const struct hy_node *spec);

/* Helpers for kind rules. */
/* Parse an IPv4 address/prefix in node n (a string); reports ip-invalid /
 * cidr-invalid and returns -1 when bad, 1 when absent or empty. */
int v_addr(struct vctx *c, const struct hy_node *n, uint32_t *out, const char *what);
int v_prefix(struct vctx *c, const struct hy_node *n, struct ip4_prefix *out, const char *what);
/* A quoted, length-capped, UTF-8-safe copy of s for messages (arena). */
const char *v_q(struct vctx *c, const char *s);
/* An integer value of n (int or integral float); 0 when n is not a number. */
int v_int(const struct hy_node *n, int64_t *out);
int v_bool(const struct hy_node *n); /* 1 only for true */
/* Non-empty string value or NULL. */
const char *v_str(const struct hy_node *n);

#endif
