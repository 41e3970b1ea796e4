/* kinds.c: the Hedgehog kind catalog and apiVersion checks. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sync/kinds.h"

#define VPC_G "vpc.githedgehog.com"
#define WIRING_G "wiring.githedgehog.com"

static const struct kind_info kinds[KIND_COUNT] = {
	{ KIND_VPC, "VPC", VPC_G, "v1beta1", "vpcs", 1, 11 },
	{ KIND_VPCATTACHMENT, "VPCAttachment", VPC_G, "v1beta1", "vpcattachments", 1, 253 },
	{ KIND_VPCPEERING, "VPCPeering", VPC_G, "v1beta1", "vpcpeerings", 1, 253 },
	{ KIND_IPV4NAMESPACE, "IPv4Namespace", VPC_G, "v1beta1", "ipv4namespaces", 1, 11 },
	{ KIND_EXTERNAL, "External", VPC_G, "v1beta1", "externals", 1, 11 },
	{ KIND_EXTERNALATTACHMENT, "ExternalAttachment", VPC_G, "v1beta1", "externalattachments", 1, 253 },
	{ KIND_EXTERNALPEERING, "ExternalPeering", VPC_G, "v1beta1", "externalpeerings", 1, 253 },
	{ KIND_CONNECTION, "Connection", WIRING_G, "v1beta1", "connections", 1, 253 },
	{ KIND_SERVER, "Server", WIRING_G, "v1beta1", "servers", 1, 253 },
	{ KIND_SWITCH, "Switch", WIRING_G, "v1beta1", "switches", 1, 253 },
	{ KIND_SWITCHGROUP, "SwitchGroup", WIRING_G, "v1beta1", "switchgroups", 1, 253 },
	{ KIND_VLANNAMESPACE, "VLANNamespace", WIRING_G, "v1beta1", "vlannamespaces", 1, 253 },
	{ KIND_SWITCHPROFILE, "SwitchProfile", WIRING_G, "v1beta1", NULL, 0, 253 },
	{ KIND_SERVERPROFILE, "ServerProfile", WIRING_G, "v1beta1", NULL, 0, 253 },
	{ KIND_AGENT, "Agent", "agent.githedgehog.com", "v1beta1", NULL, 0, 253 },
	{ KIND_CONTROLAGENT, "ControlAgent", "agent.githedgehog.com", "v1beta1", NULL, 0, 253 },
	{ KIND_CATALOG, "Catalog", "agent.githedgehog.com", "v1beta1", NULL, 0, 253 },
	{ KIND_DHCPSUBNET, "DHCPSubnet", "dhcp.githedgehog.com", "v1beta1", NULL, 0, 253 },
	{ KIND_GATEWAY, "Gateway", "gateway.githedgehog.com", "v1alpha1", NULL, 0, 253 },
	{ KIND_GATEWAYGROUP, "GatewayGroup", "gateway.githedgehog.com", "v1alpha1", NULL, 0, 253 },
	{ KIND_GATEWAYPEERING, "GatewayPeering", "gateway.githedgehog.com", "v1alpha1", NULL, 0, 253 },
	{ KIND_VPCINFO, "VPCInfo", "gateway.githedgehog.com", "v1alpha1", NULL, 0, 253 },
	{ KIND_GATEWAYAGENT, "GatewayAgent", "gwint.githedgehog.com", "v1alpha1", NULL, 0, 253 },
	{ KIND_CONTROLNODE, "ControlNode", "fabricator.githedgehog.com", "v1beta1", NULL, 0, 253 },
	{ KIND_FABNODE, "FabNode", "fabricator.githedgehog.com", "v1beta1", NULL, 0, 253 },
	{ KIND_FABRICATOR, "Fabricator", "fabricator.githedgehog.com", "v1beta1", NULL, 0, 253 },
	{ KIND_FABRIC, "Fabric", WIRING_G, "v1beta1", NULL, 0, 63 },
};

const struct kind_info *kind_by_id(enum kind_id id)
{
	if ((int)id < 0 || id >= KIND_COUNT)
		return NULL;
	return &kinds[id];
}

const struct kind_info *kind_by_name(const char *kind)
{
	if (!kind)
		return NULL;
	for (int i = 0; i < KIND_COUNT; i++)
		if (!strcmp(kinds[i].name, kind))
			return &kinds[i];
	return NULL;
}

const struct kind_info *kind_by_name_nocase(const char *kind)
{
	if (!kind)
		return NULL;
	for (int i = 0; i < KIND_COUNT; i++)
		if (!strcasecmp(kinds[i].name, kind))
			return &kinds[i];
	return NULL;
}

const struct kind_info *kind_by_plural(const char *plural)
{
	if (!plural)
		return NULL;
	for (int i = 0; i < KIND_MANAGED_COUNT; i++)
		if (!strcmp(kinds[i].plural, plural))
			return &kinds[i];
	return NULL;
}

enum kind_api kind_check_api(const struct kind_info *k, const char *api_version)
{
	const char *slash;
	size_t glen;

	if (!k || !api_version)
		return KIND_API_GROUP;
	slash = strchr(api_version, '/');
	if (!slash)
		return KIND_API_GROUP;
	glen = (size_t)(slash - api_version);
	if (glen != strlen(k->group) || memcmp(api_version, k->group, glen))
		return KIND_API_GROUP;
	if (!strcmp(slash + 1, k->version))
		return KIND_API_OK;
	if (!k->managed) /* versions of kinds we do not manage are not ours to judge */
		return KIND_API_OK;
	if (!strcmp(slash + 1, "v1alpha2"))
		return KIND_API_OLD;
	return KIND_API_VERSION;
}

const char *kind_api_version(const struct kind_info *k, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", k->group, k->version);
	return buf;
}
