/* kinds.h: the catalog of Hedgehog kinds hedgesync knows.
 *
 * Twelve kinds are managed (PRODUCT.md §3): each has an API group, the
 * current version v1beta1, the folder of its files under managed/, and a
 * limit on name length.  Other Hedgehog kinds (SwitchProfile, Gateway,
 * Fabricator, ...) are known so that a document of such a kind is reported
 * as "not managed" rather than as a typo.  The catalog is constant data.
 */
#ifndef HS_KINDS_H
#define HS_KINDS_H

#include <stddef.h>

enum kind_id {
	/* managed, in PRODUCT.md order */
	KIND_VPC,
	KIND_VPCATTACHMENT,
	KIND_VPCPEERING,
	KIND_IPV4NAMESPACE,
	KIND_EXTERNAL,
	KIND_EXTERNALATTACHMENT,
	KIND_EXTERNALPEERING,
	KIND_CONNECTION,
	KIND_SERVER,
	KIND_SWITCH,
	KIND_SWITCHGROUP,
	KIND_VLANNAMESPACE,
	KIND_MANAGED_COUNT,
	/* known, not managed */
	KIND_SWITCHPROFILE = KIND_MANAGED_COUNT,
	KIND_SERVERPROFILE,
	KIND_AGENT,
	KIND_CONTROLAGENT,
	KIND_CATALOG,
	KIND_DHCPSUBNET,
	KIND_GATEWAY,
	KIND_GATEWAYGROUP,
	KIND_GATEWAYPEERING,
	KIND_VPCINFO,
	KIND_GATEWAYAGENT,
	KIND_CONTROLNODE,
	KIND_FABNODE,
	KIND_FABRICATOR,
	KIND_FABRIC,
	KIND_COUNT
};

struct kind_info {
	enum kind_id id;
	const char *name;     /* "VPC" */
	const char *group;    /* "vpc.githedgehog.com" */
	const char *version;  /* current version, "v1beta1" */
	const char *plural;   /* managed folder, "vpcs"; NULL when not managed */
	int managed;
	size_t name_max;      /* longest metadata.name */
};

/* Borrowed pointers into the constant catalog; NULL when unknown. */
const struct kind_info *kind_by_name(const char *kind);
const struct kind_info *kind_by_id(enum kind_id id);
const struct kind_info *kind_by_plural(const char *plural);
/* A known kind whose name matches ignoring case ("vpc" -> VPC), or NULL. */
const struct kind_info *kind_by_name_nocase(const char *kind);

enum kind_api {
	KIND_API_OK,         /* group/version current */
	KIND_API_OLD,        /* group/v1alpha2: read with a warning */
	KIND_API_VERSION,    /* right group, unknown version */
	KIND_API_GROUP,      /* wrong or unknown group */
};
/* How apiVersion fits kind k. */
enum kind_api kind_check_api(const struct kind_info *k, const char *api_version);
/* "group/version" for writing k, into buf (at least 64 bytes). */
const char *kind_api_version(const struct kind_info *k, char *buf, size_t size);

#endif
