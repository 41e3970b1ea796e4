/* validate_kinds.c: the spec schema and the rules of each managed Hedgehog kind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/mem.h"
#include "sync/validate_int.h"

/* --- schemas (github.com/githedgehog/fabric api/{vpc,wiring}/v1beta1) ------- */

#define NL(n) ((uint8_t)(sizeof(n "") - 1))
#define S(n, t) { n, t, 0, NL(n), NULL, 0, 0, NULL }
#define SI(n, lo, hi) { n, T_INT, 0, NL(n), NULL, lo, hi, NULL }
#define SIR(n, r) SI_(n, r)
#define SI_(n, ...) SI(n, __VA_ARGS__)
#define SO(n, sub) { n, T_OBJ, 0, NL(n), sub, 0, 0, NULL }
#define SL(n, el) { n, T_LIST, 0, NL(n), el, 0, 0, NULL }
#define SM(n, el) { n, T_MAP, 0, NL(n), el, 0, 0, NULL }
#define SE(n, vals) { n, T_STR, 0, NL(n), NULL, 0, 0, vals }
#define SEND { NULL, T_END, 0, 0, NULL, 0, 0, NULL }
/* element schemas of lists and maps: no name */
#define ES(t) { NULL, t, 0, 0, NULL, 0, 0, NULL }
#define ESO(sub) { NULL, T_OBJ, 0, 0, sub, 0, 0, NULL }
#define ESL(el) { NULL, T_LIST, 0, 0, el, 0, 0, NULL }
#define ESM(el) { NULL, T_MAP, 0, 0, el, 0, 0, NULL }
#define ESE(vals) { NULL, T_STR, 0, 0, NULL, 0, 0, vals }

#define U8 0, 255
#define U16 0, 65535
#define U32 0, 4294967295LL

static const struct sch E_STR[] = { ES(T_STR) };
static const struct sch E_BOOL[] = { ES(T_BOOL) };
static const struct sch E_LIST_STR[] = { ESL(E_STR) };

static const struct sch TOPOLOGY[] = { S("fabric", T_STR), SL("domains", E_STR), SEND };

/* VPC */
static const char *const VPC_MODES[] = { "", "l2vni", "l3vni", "l3flat", NULL };
static const struct sch DHCP_RANGE[] = { S("start", T_STR), S("end", T_STR), SEND };
static const struct sch DHCP_ROUTE[] = { S("destination", T_STR), S("gateway", T_STR), SEND };
static const struct sch E_DHCP_ROUTE[] = { ESO(DHCP_ROUTE) };
static const struct sch DHCP_OPTIONS[] = {
	S("pxeURL", T_STR), SL("dnsServers", E_STR), SL("timeServers", E_STR),
	SIR("interfaceMTU", U16), SIR("leaseTimeSeconds", U32), S("disableDefaultRoute", T_BOOL),
	SL("advertisedRoutes", E_DHCP_ROUTE), SEND
};
static const struct sch DHCP_STATIC[] = { S("ip", T_STR), SEND };
static const struct sch E_DHCP_STATIC[] = { ESO(DHCP_STATIC) };
static const struct sch DHCP[] = {
	S("relay", T_STR), S("relayVPC", T_STR), S("enable", T_BOOL), SO("range", DHCP_RANGE),
	SO("options", DHCP_OPTIONS), SM("static", E_DHCP_STATIC), SEND
};
static const struct sch HOSTBGP_PREFIX[] = { SIR("minPrefixLen", U8), SIR("maxPrefixLen", U8), SEND };
static const struct sch E_HOSTBGP_PREFIX[] = { ESO(HOSTBGP_PREFIX) };
static const struct sch VPC_SUBNET[] = {
	S("subnet", T_STR), S("gateway", T_STR), SO("dhcp", DHCP), SIR("vlan", U16),
	S("isolated", T_BOOL), S("restricted", T_BOOL), S("hostBGP", T_BOOL),
	SIR("hostBGPMinPrefixLen", U8), SIR("hostBGPMaxPrefixLen", U8),
	SM("hostBGPExtraPrefixes", E_HOSTBGP_PREFIX), SEND
};
static const struct sch E_VPC_SUBNET[] = { ESO(VPC_SUBNET) };
static const struct sch STATIC_ROUTE[] = { S("prefix", T_STR), SL("nextHops", E_STR), SEND };
static const struct sch E_STATIC_ROUTE[] = { ESO(STATIC_ROUTE) };
static const struct sch VPC_SPEC[] = {
	SE("mode", VPC_MODES), SM("subnets", E_VPC_SUBNET), SO("topology", TOPOLOGY),
	S("ipv4Namespace", T_STR), S("vlanNamespace", T_STR), S("defaultIsolated", T_BOOL),
	S("defaultRestricted", T_BOOL), SL("permit", E_LIST_STR),
	SL("staticRoutes", E_STATIC_ROUTE), SEND
};

/* VPCAttachment, VPCPeering */
static const struct sch VPCATTACH_SPEC[] = {
	S("subnet", T_STR), S("connection", T_STR), S("nativeVLAN", T_BOOL),
	SO("topology", TOPOLOGY), SEND
};
static const struct sch PEER_VPC[] = { SL("subnets", E_STR), SEND };
static const struct sch E_PEER_VPC[] = { ESO(PEER_VPC) };
static const struct sch E_PERMIT_MAP[] = { ESM(E_PEER_VPC) };
static const struct sch VPCPEERING_SPEC[] = {
	SL("permit", E_PERMIT_MAP), S("remote", T_STR), SO("topology", TOPOLOGY), SEND
};

/* IPv4Namespace, External */
static const struct sch IPNS_SPEC[] = { SL("subnets", E_STR), SO("topology", TOPOLOGY), SEND };
static const struct sch EXT_STATIC[] = { SL("prefixes", E_STR), SEND };
static const struct sch EXTERNAL_SPEC[] = {
	S("ipv4Namespace", T_STR), S("inboundCommunity", T_STR), S("outboundCommunity", T_STR),
	SO("static", EXT_STATIC), SO("topology", TOPOLOGY), SEND
};

/* ExternalAttachment */
static const struct sch EA_SWITCH[] = { SIR("vlan", U16), S("ip", T_STR), SEND };
static const struct sch EA_NEIGHBOR[] = { SIR("asn", U32), S("ip", T_STR), SEND };
static const struct sch EA_STATIC[] = {
	S("remoteIP", T_STR), SIR("vlan", U16), S("ip", T_STR), S("proxy", T_BOOL), SEND
};
static const struct sch TCP_FILTERS[] = {
	S("established", T_BOOL), S("fin", T_BOOL), S("notFin", T_BOOL), S("syn", T_BOOL),
	S("notSyn", T_BOOL), S("rst", T_BOOL), S("notRst", T_BOOL), S("psh", T_BOOL),
	S("notPsh", T_BOOL), S("ack", T_BOOL), S("notAck", T_BOOL), S("urg", T_BOOL),
	S("notUrg", T_BOOL), SEND
};
static const struct sch ACL_STMT[] = {
	SIR("seq", U16), S("action", T_STR), S("protocol", T_STR), S("srcPrefix", T_STR),
	S("dstPrefix", T_STR), SIR("portRangeBegin", U16), SIR("portRangeEnd", U16),
	SO("tcpFilters", TCP_FILTERS), SIR("icmpType", U8), SIR("icmpCode", U8), SEND
};
static const struct sch E_ACL_STMT[] = { ESO(ACL_STMT) };
static const struct sch ACL[] = { SL("statements", E_ACL_STMT), SEND };
static const struct sch BFD[] = {
	SIR("minRX", U32), SIR("minTX", U32), SIR("multiplier", U8), S("passive", T_BOOL), SEND
};
static const struct sch EXTATTACH_SPEC[] = {
	SO("topology", TOPOLOGY), S("external", T_STR), S("connection", T_STR),
	SO("switch", EA_SWITCH), SO("neighbor", EA_NEIGHBOR), SO("static", EA_STATIC),
	SO("inboundACL", ACL), SO("bfd", BFD), SEND
};

/* ExternalPeering */
static const struct sch EP_VPC[] = { S("name", T_STR), SL("subnets", E_STR), SEND };
static const struct sch EP_PREFIX[] = { S("prefix", T_STR), SEND };
static const struct sch E_EP_PREFIX[] = { ESO(EP_PREFIX) };
static const struct sch EP_EXT[] = { S("name", T_STR), SL("prefixes", E_EP_PREFIX), SEND };
static const struct sch EP_PERMIT[] = { SO("vpc", EP_VPC), SO("external", EP_EXT), SEND };
static const struct sch EXTPEERING_SPEC[] = { SO("permit", EP_PERMIT), SO("topology", TOPOLOGY), SEND };

/* Connection */
static const struct sch PORT[] = { S("port", T_STR), SEND };
static const struct sch PORT_IP[] = { S("port", T_STR), S("ip", T_STR), SEND };
static const struct sch S2S_LINK[] = { SO("server", PORT), SO("switch", PORT), SEND };
static const struct sch E_S2S_LINK[] = { ESO(S2S_LINK) };
static const struct sch SW2SW_LINK[] = { SO("switch1", PORT), SO("switch2", PORT), SEND };
static const struct sch E_SW2SW_LINK[] = { ESO(SW2SW_LINK) };
static const struct sch C_UNBUNDLED[] = { SO("link", S2S_LINK), SIR("mtu", U16), SEND };
static const struct sch C_BUNDLED[] = {
	SL("links", E_S2S_LINK), SIR("mtu", U16), S("fallback", T_BOOL), SEND
};
static const struct sch C_MCLAG_DOMAIN[] = {
	SL("peerLinks", E_SW2SW_LINK), SL("sessionLinks", E_SW2SW_LINK), SEND
};
static const struct sch FABRIC_LINK[] = { SO("spine", PORT_IP), SO("leaf", PORT_IP), SEND };
static const struct sch E_FABRIC_LINK[] = { ESO(FABRIC_LINK) };
static const struct sch C_FABRIC[] = { SL("links", E_FABRIC_LINK), SEND };
static const struct sch MESH_LINK[] = { SO("leaf1", PORT_IP), SO("leaf2", PORT_IP), SEND };
static const struct sch E_MESH_LINK[] = { ESO(MESH_LINK) };
static const struct sch C_MESH[] = { SL("links", E_MESH_LINK), SEND };
static const struct sch GW_LINK[] = { SO("switch", PORT_IP), SO("gateway", PORT_IP), SEND };
static const struct sch E_GW_LINK[] = { ESO(GW_LINK) };
static const struct sch C_GATEWAY[] = { SL("links", E_GW_LINK), SEND };
static const struct sch C_LOOPBACK[] = { SL("links", E_SW2SW_LINK), SEND };
static const struct sch EXT_LINK[] = { SO("switch", PORT), SEND };
static const struct sch C_EXTERNAL[] = { SO("link", EXT_LINK), SEND };
static const struct sch SE_SWITCH[] = {
	S("port", T_STR), S("ip", T_STR), S("nextHop", T_STR), SL("subnets", E_STR),
	SIR("vlan", U16), SEND
};
static const struct sch SE_LINK[] = { SO("switch", SE_SWITCH), SEND };
static const struct sch C_STATIC_EXTERNAL[] = { SO("link", SE_LINK), S("withinVPC", T_STR), SEND };
static const struct sch CONNECTION_SPEC[] = {
	SO("topology", TOPOLOGY), SO("unbundled", C_UNBUNDLED), SO("bundled", C_BUNDLED),
	SO("mclag", C_BUNDLED), SO("eslag", C_BUNDLED), SO("mclagDomain", C_MCLAG_DOMAIN),
	SO("fabric", C_FABRIC), SO("mesh", C_MESH), SO("gateway", C_GATEWAY),
	SO("vpcLoopback", C_LOOPBACK), SO("external", C_EXTERNAL),
	SO("staticExternal", C_STATIC_EXTERNAL), SEND
};

/* Server, Switch, SwitchGroup, VLANNamespace */
static const struct sch SERVER_SPEC[] = { S("description", T_STR), S("profile", T_STR), SEND };
static const char *const FEC_MODES[] = { "rs", "fc", "auto", "disabled", NULL };
static const struct sch E_FEC[] = { ESE(FEC_MODES) };
static const struct sch REDUNDANCY[] = { S("group", T_STR), S("type", T_STR), SEND };
static const struct sch BOOT[] = { S("serial", T_STR), S("mac", T_STR), SEND };
static const struct sch ECMP[] = { S("roceQPN", T_BOOL), SEND };
static const struct sch LINK_FLAP[] = {
	SI("flapThreshold", 1, 50), SI("samplingInterval", 1, 65535),
	SI("recoveryInterval", 0, 65534), SEND
};
static const struct sch SWITCH_SPEC[] = {
	S("role", T_STR), S("description", T_STR), S("profile", T_STR), SO("topology", TOPOLOGY),
	SL("groups", E_STR), SO("redundancy", REDUNDANCY), SL("vlanNamespaces", E_STR),
	SIR("asn", U32), S("ip", T_STR), S("vtepIP", T_STR), S("protocolIP", T_STR),
	SM("portGroupSpeeds", E_STR), SM("portSpeeds", E_STR), SM("portBreakouts", E_STR),
	SM("portAutoNegs", E_BOOL), SM("portFECs", E_FEC), SM("portLocators", E_STR),
	SO("boot", BOOT), S("enableAllPorts", T_BOOL), S("roce", T_BOOL), SO("ecmp", ECMP),
	SO("linkFlapErrDisable", LINK_FLAP), SEND
};
static const struct sch SWITCHGROUP_SPEC[] = { SO("topology", TOPOLOGY), SEND };
static const struct sch VLAN_RANGE[] = { SIR("from", U16), SIR("to", U16), SEND };
static const struct sch E_VLAN_RANGE[] = { ESO(VLAN_RANGE) };
static const struct sch VLANNS_SPEC[] = { SL("ranges", E_VLAN_RANGE), SO("topology", TOPOLOGY), SEND };

const struct sch *kind_spec_schema(enum kind_id id)
{
	switch (id) {
	case KIND_VPC:
		return VPC_SPEC;
	case KIND_VPCATTACHMENT:
		return VPCATTACH_SPEC;
	case KIND_VPCPEERING:
		return VPCPEERING_SPEC;
	case KIND_IPV4NAMESPACE:
		return IPNS_SPEC;
	case KIND_EXTERNAL:
		return EXTERNAL_SPEC;
	case KIND_EXTERNALATTACHMENT:
		return EXTATTACH_SPEC;
	case KIND_EXTERNALPEERING:
		return EXTPEERING_SPEC;
	case KIND_CONNECTION:
		return CONNECTION_SPEC;
	case KIND_SERVER:
		return SERVER_SPEC;
	case KIND_SWITCH:
		return SWITCH_SPEC;
	case KIND_SWITCHGROUP:
		return SWITCHGROUP_SPEC;
	case KIND_VLANNAMESPACE:
		return VLANNS_SPEC;
	default:
		return NULL;
	}
}

/* --- shared pieces -------------------------------------------------------------- */

static const struct hy_node *get_map(const struct hy_node *n, const char *key)
{
	const struct hy_node *v = hy_get(n, key);

	return v && v->type == HY_MAP ? v : NULL;
}

static const struct hy_node *get_seq(const struct hy_node *n, const char *key)
{
	const struct hy_node *v = hy_get(n, key);

	return v && v->type == HY_SEQ ? v : NULL;
}

/* n is there but of another type: the schema walk reported it already */
static int bad_type(const struct hy_node *n, enum hy_type want)
{
	return n && n->type != HY_NULL && n->type != want;
}

static int present(const struct hy_node *n)
{
	if (!n || n->type == HY_NULL)
		return 0;
	if (n->type == HY_STR)
		return n->len > 0;
	if (n->type == HY_BOOL)
		return n->v.b;
	if (n->type == HY_INT)
		return n->v.i != 0;
	if (n->type == HY_MAP || n->type == HY_SEQ)
		return n->len > 0;
	return 1;
}

static const struct hy_node *name_node(struct vctx *c)
{
	return hy_get(hy_get(c->root, "metadata"), "name");
}

struct pfx_item {
	struct ip4_prefix pfx;
	const struct hy_node *at;
	const char *label;
};

static int pfx_item_cmp(const void *a, const void *b)
{
	const struct pfx_item *x = a, *y = b;
	uint32_t nx = ip4_network(&x->pfx), ny = ip4_network(&y->pfx);

	if (nx != ny)
		return nx < ny ? -1 : 1;
	return x->pfx.len < y->pfx.len ? -1 : x->pfx.len > y->pfx.len;
}

/* Report every prefix that overlaps an earlier one (sorted sweep). */
static void check_overlaps(struct vctx *c, struct pfx_item *v, size_t n, enum fnd_code code,
			   const char *what)
{
	size_t best = 0;
	char a[20], b[20];

	if (n < 2)
		return;
	if (n > 1)
		qsort(v, n, sizeof(*v), pfx_item_cmp);
	for (size_t i = 1; i < n; i++) {
		if (ip4_network(&v[i].pfx) <= ip4_broadcast(&v[best].pfx)) {
			vfind(c, code, v[i].at, NULL, "%s %s%s overlaps %s%s", what,
			      ip4_format_prefix(&v[i].pfx, a), v[i].label ? v[i].label : "",
			      ip4_format_prefix(&v[best].pfx, b), v[best].label ? v[best].label : "");
		}
		if (ip4_broadcast(&v[i].pfx) > ip4_broadcast(&v[best].pfx))
			best = i;
	}
}

static const char *subnet_label(struct vctx *c, const char *name)
{
	char buf[96];

	snprintf(buf, sizeof(buf), " (subnet %.60s)", name);
	return arena_strdup(c->a, buf);
}

/* A VPC with more subnets than this (20 is the limit) keeps no subnet facts:
 * references to its subnets are not checked and it takes no part in the
 * conflict checks, which keeps hostile input linear. */
#define VPC_FACT_SUBNETS 1000

/* --- VPC -------------------------------------------------------------------------- */

struct vlan_item {
	int64_t vlan;
	const struct hy_node *at;
	const char *subnet;
};

static int vlan_item_cmp(const void *a, const void *b)
{
	const struct vlan_item *x = a, *y = b;

	if (x->vlan != y->vlan)
		return x->vlan < y->vlan ? -1 : 1;
	return (x->at ? x->at->line : 0) < (y->at ? y->at->line : 0) ? -1 : 1;
}

static void check_dhcp(struct vctx *c, const char *sname, const struct hy_node *sub,
		       const struct ip4_prefix *pfx, int have_pfx, uint32_t gw, int hostbgp)
{
	const struct hy_node *dhcp = get_map(sub, "dhcp");
	const struct hy_node *relay, *range, *opts, *stat;
	int enable;
	uint32_t net = have_pfx ? ip4_network(pfx) : 0;

	if (!dhcp)
		return;
	enable = v_bool(hy_get(dhcp, "enable"));
	relay = hy_get(dhcp, "relay");
	range = get_map(dhcp, "range");
	opts = get_map(dhcp, "options");
	stat = get_map(dhcp, "static");
	if (hostbgp && enable)
		vfind(c, FND_VPC_HOSTBGP, hy_get(dhcp, "enable"), NULL,
		      "subnet %s: DHCP cannot be enabled on a hostBGP subnet", v_q(c, sname));
	if (v_str(relay) && enable)
		vfind(c, FND_VPC_DHCP, relay, NULL,
		      "subnet %s: DHCP relay and DHCP server cannot both be enabled", v_q(c, sname));
	if (v_str(relay)) {
		struct ip4_prefix rp;

		v_prefix(c, relay, &rp, "DHCP relay");
		vctx_ref(c, KIND_VPC, v_str(hy_get(dhcp, "relayVPC")), NULL,
			 hy_get(dhcp, "relayVPC"), 0);
	} else if (v_str(hy_get(dhcp, "relayVPC"))) {
		vfind(c, FND_VPC_DHCP, hy_get(dhcp, "relayVPC"), NULL,
		      "subnet %s: relayVPC is set but DHCP relay is not", v_q(c, sname));
	}
	if (!enable) {
		static const char *const opt_names[] = { "pxeURL", "dnsServers", "timeServers",
							 "interfaceMTU", "leaseTimeSeconds",
							 "disableDefaultRoute", "advertisedRoutes", NULL };

		for (int i = 0; opts && opt_names[i]; i++)
			if (present(hy_get(opts, opt_names[i])))
				vfind(c, FND_VPC_DHCP, hy_get(opts, opt_names[i]), NULL,
				      "subnet %s: %s is set but DHCP is not enabled", v_q(c, sname),
				      opt_names[i]);
		if (range && (present(hy_get(range, "start")) || present(hy_get(range, "end"))))
			vfind(c, FND_VPC_DHCP, range, NULL,
			      "subnet %s: a DHCP range is set but DHCP is not enabled", v_q(c, sname));
		if (stat && stat->len)
			vfind(c, FND_VPC_DHCP, stat, NULL,
			      "subnet %s: static DHCP addresses need DHCP enabled", v_q(c, sname));
		return;
	}
	if (range) {
		const struct hy_node *sn = hy_get(range, "start"), *en = hy_get(range, "end");
		uint32_t s = 0, e = 0;
		int sok = v_addr(c, sn, &s, "DHCP range start") == 0;
		int eok = v_addr(c, en, &e, "DHCP range end") == 0;
		const char *const which[2] = { "start", "end" };
		const struct hy_node *nodes[2] = { sn, en };
		uint32_t vals[2] = { s, e };
		int oks[2] = { sok, eok };

		for (int i = 0; i < 2 && have_pfx; i++) {
			if (!oks[i])
				continue;
			if (!ip4_contains(pfx, vals[i]))
				vfind(c, FND_VPC_DHCP_RANGE, nodes[i], NULL,
				      "subnet %s: DHCP range %s %s is not in the subnet", v_q(c, sname),
				      which[i], v_q(c, nodes[i]->text));
			else if (vals[i] == net)
				vfind(c, FND_VPC_DHCP_RANGE, nodes[i], NULL,
				      "subnet %s: DHCP range %s %s is the network address", v_q(c, sname),
				      which[i], v_q(c, nodes[i]->text));
			else if (vals[i] == gw && !hostbgp)
				vfind(c, FND_VPC_DHCP_RANGE, nodes[i], NULL,
				      "subnet %s: DHCP range %s %s is the gateway", v_q(c, sname),
				      which[i], v_q(c, nodes[i]->text));
		}
		if (sok && eok && s >= e)
			vfind(c, FND_VPC_DHCP_RANGE, sn, NULL,
			      "subnet %s: DHCP range start %s does not come before its end %s",
			      v_q(c, sname), v_q(c, sn->text), v_q(c, en->text));
	}
	if (opts) {
		const struct hy_node *l;
		int64_t mtu;

		if ((l = get_seq(opts, "dnsServers")))
			for (uint32_t i = 0; i < l->len; i++) {
				uint32_t a;

				v_addr(c, l->v.items[i], &a, "DNS server");
			}
		if ((l = get_seq(opts, "timeServers")))
			for (uint32_t i = 0; i < l->len; i++) {
				uint32_t a;

				v_addr(c, l->v.items[i], &a, "time server");
			}
		if (v_int(hy_get(opts, "interfaceMTU"), &mtu) && mtu && (mtu < 96 || mtu > 9036))
			vfind(c, FND_FIELD_RANGE, hy_get(opts, "interfaceMTU"), NULL,
			      "subnet %s: interfaceMTU %lld is outside 96..9036", v_q(c, sname),
			      (long long)mtu);
		if ((l = get_seq(opts, "advertisedRoutes")))
			for (uint32_t i = 0; i < l->len; i++) {
				const struct hy_node *r = l->v.items[i];
				const struct hy_node *d = hy_get(r, "destination"), *g = hy_get(r, "gateway");
				struct ip4_prefix dp;
				uint32_t ga;

				if (r->type != HY_MAP)
					continue;
				if (!v_str(d))
					vfind(c, FND_VPC_DHCP, r, "destination",
					      "subnet %s: an advertised route needs a destination", v_q(c, sname));
				else
					v_prefix(c, d, &dp, "advertised route destination");
				if (!v_str(g))
					vfind(c, FND_VPC_DHCP, r, "gateway",
					      "subnet %s: an advertised route needs a gateway", v_q(c, sname));
				else if (!v_addr(c, g, &ga, "advertised route gateway") && have_pfx &&
					 !ip4_contains(pfx, ga))
					vfind(c, FND_VPC_DHCP, g, NULL,
					      "subnet %s: advertised route gateway %s is not in the subnet",
					      v_q(c, sname), v_q(c, g->text));
			}
	}
	if (stat && stat->len) {
		struct vlan_item *seen = hs_malloc(stat->len * sizeof(*seen));
		size_t nseen = 0;

		for (uint32_t i = 0; i < stat->len; i++) {
			const struct hy_node *mac = stat->v.pairs[i].key, *ent = stat->v.pairs[i].val;
			const struct hy_node *ipn = hy_get(ent, "ip");
			uint8_t m[6];
			uint32_t a;

			if (mac_parse(mac->text, m))
				vfind(c, FND_MAC_INVALID, mac, NULL, "subnet %s: %s is not a MAC address",
				      v_q(c, sname), v_q(c, mac->text));
			if (!v_str(ipn)) {
				vfind(c, FND_VPC_DHCP_STATIC, ipn ? ipn : ent, ipn ? NULL : "ip",
				      "subnet %s: static DHCP entry %s has no IP", v_q(c, sname),
				      v_q(c, mac->text));
				continue;
			}
			if (v_addr(c, ipn, &a, "static DHCP address") || !have_pfx)
				continue;
			if (!ip4_contains(pfx, a))
				vfind(c, FND_VPC_DHCP_STATIC, ipn, NULL,
				      "subnet %s: static address %s is not in the subnet", v_q(c, sname),
				      v_q(c, ipn->text));
			else if (a == net || a == gw || a == ip4_broadcast(pfx))
				vfind(c, FND_VPC_DHCP_STATIC, ipn, NULL,
				      "subnet %s: static address %s is the %s address", v_q(c, sname),
				      v_q(c, ipn->text),
				      a == net ? "network" : a == gw ? "gateway" : "broadcast");
			seen[nseen].vlan = a;
			seen[nseen].at = ipn;
			seen[nseen].subnet = NULL;
			nseen++;
		}
		if (nseen > 1)
			qsort(seen, nseen, sizeof(*seen), vlan_item_cmp);
		for (size_t i = 1; i < nseen; i++)
			if (seen[i].vlan == seen[i - 1].vlan)
				vfind(c, FND_VPC_DHCP_STATIC, seen[i].at, NULL,
				      "subnet %s: static address %s is given to two MAC addresses",
				      v_q(c, sname), v_q(c, seen[i].at->text));
		free(seen);
	}
}

static void check_hostbgp(struct vctx *c, const char *sname, const struct hy_node *sub,
			  const struct ip4_prefix *pfx, int have_pfx, int hostbgp,
			  struct pfx_item **items, size_t *nitems, size_t *aitems)
{
	const struct hy_node *minn = hy_get(sub, "hostBGPMinPrefixLen");
	const struct hy_node *maxn = hy_get(sub, "hostBGPMaxPrefixLen");
	const struct hy_node *extra = get_map(sub, "hostBGPExtraPrefixes");
	int64_t mn = 0, mx = 0;

	v_int(minn, &mn);
	v_int(maxn, &mx);
	if (!hostbgp) {
		if (extra && extra->len)
			vfind(c, FND_VPC_HOSTBGP, extra, NULL,
			      "subnet %s: hostBGP extra prefixes need hostBGP: true", v_q(c, sname));
		if (mn || mx)
			vfind(c, FND_VPC_HOSTBGP, mn ? minn : maxn, NULL,
			      "subnet %s: hostBGP prefix lengths need hostBGP: true", v_q(c, sname));
		return;
	}
	if (!mn)
		mn = 32;
	if (!mx)
		mx = 32;
	if (mn > mx)
		vfind(c, FND_VPC_HOSTBGP, minn ? minn : sub, NULL,
		      "subnet %s: hostBGP min prefix length %lld is greater than max %lld",
		      v_q(c, sname), (long long)mn, (long long)mx);
	else if (mx > 32)
		vfind(c, FND_VPC_HOSTBGP, maxn, NULL,
		      "subnet %s: hostBGP max prefix length %lld is over 32", v_q(c, sname),
		      (long long)mx);
	else if (have_pfx && mn < pfx->len)
		vfind(c, FND_VPC_HOSTBGP, minn ? minn : sub, NULL,
		      "subnet %s: hostBGP min prefix length %lld is shorter than the subnet's /%u",
		      v_q(c, sname), (long long)mn, pfx->len);
	if (!extra)
		return;
	if (extra->len > 100)
		vfind(c, FND_VPC_HOSTBGP, extra, NULL,
		      "subnet %s: %u hostBGP extra prefixes, at most 100", v_q(c, sname), extra->len);
	for (uint32_t i = 0; i < extra->len && i < 1000; i++) {
		const struct hy_node *k = extra->v.pairs[i].key;
		struct ip4_prefix p;

		if (v_prefix(c, k, &p, "hostBGP extra prefix"))
			continue;
		if (!ip4_canonical(&p)) {
			vfind(c, FND_CIDR_NOT_CANONICAL, k, NULL,
			      "subnet %s: hostBGP extra prefix %s has host bits set", v_q(c, sname),
			      v_q(c, k->text));
			continue;
		}
		if (*nitems == *aitems) {
			*aitems = *aitems ? *aitems * 2 : 32;
			*items = hs_realloc(*items, *aitems * sizeof(**items));
		}
		(*items)[*nitems].pfx = p;
		(*items)[*nitems].at = k;
		(*items)[*nitems].label = subnet_label(c, sname);
		(*nitems)++;
	}
}

static void check_vpc(struct vctx *c, const struct hy_node *spec)
{
	struct val_facts *f = c->f;
	const struct hy_node *subnets = get_map(spec, "subnets");
	const struct hy_node *n;
	const char *name = c->res->name;
	struct pfx_item *items = NULL;
	struct vlan_item *vlans = NULL;
	size_t nitems = 0, aitems = 0, nvlans = 0;
	uint32_t count = subnets ? subnets->len : 0;

	if (name && !strncmp(name, "ext.", 4))
		vfind(c, FND_VPC_NAME_PREFIX, name_node(c), NULL,
		      "VPC names may not start with 'ext.'");
	n = hy_get(spec, "mode");
	if (hy_str(n) && !strcmp(hy_str(n), "l3flat"))
		vfind(c, FND_FIELD_ENUM, n, NULL, "VPC mode l3flat is not supported yet");
	n = hy_get(spec, "ipv4Namespace");
	f->ipv4ns = v_str(n) ? v_str(n) : "default";
	f->at_ipv4ns = n;
	vctx_ref(c, KIND_IPV4NAMESPACE, f->ipv4ns, NULL, n, REF_DEFAULT_OK);
	n = hy_get(spec, "vlanNamespace");
	f->vlanns = v_str(n) ? v_str(n) : "default";
	f->at_vlanns = n;
	vctx_ref(c, KIND_VLANNAMESPACE, f->vlanns, NULL, n, REF_DEFAULT_OK);

	if (!count && bad_type(hy_get(spec, "subnets"), HY_MAP))
		;
	else if (!count)
		vfind(c, FND_VPC_SUBNET_COUNT, subnets ? subnets : spec ? spec : c->root,
		      subnets ? NULL : spec ? "subnets" : "spec", "a VPC needs at least one subnet");
	else if (count > 20)
		vfind(c, FND_VPC_SUBNET_COUNT, subnets, NULL, "a VPC has at most 20 subnets, not %u",
		      count);
	if (count)
		vlans = hs_malloc(count * sizeof(*vlans));
	f->subnets_unknown = count > VPC_FACT_SUBNETS;
	for (uint32_t i = 0; i < count; i++) {
		const char *sname = subnets->v.pairs[i].key->text;
		const struct hy_node *sub = subnets->v.pairs[i].val;
		const struct hy_node *pn, *gn, *vn;
		struct v_subnet *vs;
		struct ip4_prefix pfx = { 0, 0 };
		int have_pfx = 0, hostbgp;
		int64_t vlan = 0;
		uint32_t gw = 0;

		if (!sub || sub->type != HY_MAP) {
			if (!sub || sub->type == HY_NULL)
				vfind(c, FND_FIELD_REQUIRED, subnets->v.pairs[i].key, NULL,
				      "subnet %s is empty", v_q(c, sname));
			continue;
		}
		pn = hy_get(sub, "subnet");
		gn = hy_get(sub, "gateway");
		vn = hy_get(sub, "vlan");
		hostbgp = v_bool(hy_get(sub, "hostBGP"));
		if (!v_str(pn)) {
			vfind(c, FND_FIELD_REQUIRED, pn ? pn : sub, pn ? NULL : "subnet",
			      "subnet %s: subnet (a prefix like 10.0.1.0/24) is required", v_q(c, sname));
		} else if (!v_prefix(c, pn, &pfx, "subnet")) {
			have_pfx = 1;
			if (pfx.len > 30)
				vfind(c, FND_VPC_SUBNET_PREFIX, pn, NULL,
				      "subnet %s: /%u is too long; VPC subnets are /30 or shorter",
				      v_q(c, sname), pfx.len);
		}
		v_int(vn, &vlan);
		gw = have_pfx ? ip4_network(&pfx) + 1 : 0;
		if (!hostbgp) {
			if (v_str(gn)) {
				uint32_t g;

				if (!v_addr(c, gn, &g, "gateway")) {
					gw = g;
					if (have_pfx && !ip4_contains(&pfx, g))
						vfind(c, FND_VPC_GATEWAY, gn, NULL,
						      "subnet %s: gateway %s is not in %s", v_q(c, sname),
						      v_q(c, gn->text), v_q(c, pn->text));
				}
			}
			if (!vlan && (!vn || vn->type == HY_NULL || v_int(vn, &vlan)))
				vfind(c, FND_VPC_VLAN, vn ? vn : sub, vn ? NULL : "vlan",
				      "subnet %s: a VLAN (1..4094) is required unless the subnet is hostBGP",
				      v_q(c, sname));
			else if (vlan > 4094)
				vfind(c, FND_FIELD_RANGE, vn, NULL, "subnet %s: VLAN %lld is outside 1..4094",
				      v_q(c, sname), (long long)vlan);
			if (vlan > 0) {
				vlans[nvlans].vlan = vlan;
				vlans[nvlans].at = vn;
				vlans[nvlans].subnet = sname;
				nvlans++;
			}
		}
		check_hostbgp(c, sname, sub, &pfx, have_pfx, hostbgp, &items, &nitems, &aitems);
		check_dhcp(c, sname, sub, &pfx, have_pfx, gw, hostbgp);
		if (count > VPC_FACT_SUBNETS)
			continue; /* far over the limit of 20: no facts, no fabric checks */
		vs = vctx_subnet(c);
		vs->name = sname;
		vs->at = sub;
		vs->at_pfx = pn;
		vs->at_vlan = vn;
		vs->pfx = pfx;
		vs->has_pfx = have_pfx;
		vs->vlan = vlan > 0 && vlan <= 4094 ? (uint16_t)vlan : 0;
		vs->hostbgp = (uint8_t)hostbgp;
		if (have_pfx) {
			if (nitems == aitems) {
				aitems = aitems ? aitems * 2 : 32;
				items = hs_realloc(items, aitems * sizeof(*items));
			}
			items[nitems].pfx = pfx;
			items[nitems].at = pn;
			items[nitems].label = subnet_label(c, sname);
			nitems++;
		}
	}
	if (nvlans > 1) {
		qsort(vlans, nvlans, sizeof(*vlans), vlan_item_cmp);
		for (size_t i = 1; i < nvlans; i++)
			if (vlans[i].vlan == vlans[i - 1].vlan)
				vfind(c, FND_VPC_VLAN_DUPLICATE, vlans[i].at, NULL,
				      "subnets %s and %s both use VLAN %lld", v_q(c, vlans[i - 1].subnet),
				      v_q(c, vlans[i].subnet), (long long)vlans[i].vlan);
	}
	check_overlaps(c, items, nitems, FND_VPC_SUBNET_OVERLAP, "subnet");
	free(items);
	free(vlans);

	n = get_seq(spec, "permit");
	for (uint32_t i = 0; n && i < n->len && i < 1000; i++) {
		const struct hy_node *p = n->v.items[i];

		if (p->type != HY_SEQ)
			continue;
		if (p->len < 2)
			vfind(c, FND_VPC_PERMIT, p, NULL,
			      "permit list %u names %u subnet%s; it needs at least two", i, p->len,
			      p->len == 1 ? "" : "s");
		for (uint32_t j = 0; j < p->len && j < 100; j++) {
			const char *s = hy_str(p->v.items[j]);

			if (!s)
				continue;
			if (count && count <= 1000 && !hy_get(subnets, s))
				vfind(c, FND_VPC_PERMIT, p->v.items[j], NULL,
				      "permit list %u names subnet %s, which this VPC does not have", i,
				      v_q(c, s));
			for (uint32_t k = 0; k < j; k++)
				if (hy_str(p->v.items[k]) && !strcmp(hy_str(p->v.items[k]), s)) {
					vfind(c, FND_VPC_PERMIT, p->v.items[j], NULL,
					      "permit list %u names subnet %s twice", i, v_q(c, s));
					break;
				}
		}
	}
	n = get_seq(spec, "staticRoutes");
	for (uint32_t i = 0; n && i < n->len; i++) {
		const struct hy_node *r = n->v.items[i], *pn = hy_get(r, "prefix");
		const struct hy_node *nh = get_seq(r, "nextHops");
		struct ip4_prefix p;

		if (r->type != HY_MAP)
			continue;
		if (!v_str(pn))
			vfind(c, FND_VPC_STATIC_ROUTE, pn ? pn : r, pn ? NULL : "prefix",
			      "static route %u has no prefix", i);
		else if (!v_prefix(c, pn, &p, "static route prefix") && !ip4_canonical(&p))
			vfind(c, FND_CIDR_NOT_CANONICAL, pn, NULL,
			      "static route prefix %s has host bits set", v_q(c, pn->text));
		if (!nh || !nh->len)
			vfind(c, FND_VPC_STATIC_ROUTE, nh ? nh : r, nh ? NULL : "nextHops",
			      "static route %u needs at least one next hop", i);
		for (uint32_t j = 0; nh && j < nh->len; j++) {
			uint32_t a;

			v_addr(c, nh->v.items[j], &a, "next hop");
		}
	}
}

/* --- VPCAttachment, VPCPeering ------------------------------------------------------ */

static void check_vpcattachment(struct vctx *c, const struct hy_node *spec)
{
	struct val_facts *f = c->f;
	const struct hy_node *sn = hy_get(spec, "subnet"), *cn = hy_get(spec, "connection");
	const struct hy_node *ann = get_map(hy_get(c->root, "metadata"), "annotations");
	const struct hy_node *p2p = hy_get(ann, "fabric.githedgehog.com/p2p-link");
	const char *s = v_str(sn);

	if (!s) {
		vfind(c, FND_FIELD_REQUIRED, sn ? sn : spec ? spec : c->root,
		      sn ? NULL : spec ? "subnet" : "spec", "subnet (vpc/subnet) is required");
	} else {
		const char *slash = strchr(s, '/');
		const char *vpc, *sub;

		if (!slash) {
			vpc = s;
			sub = "default";
		} else {
			vpc = arena_strndup(c->a, s, (size_t)(slash - s));
			sub = slash + 1;
		}
		if (!*vpc || !*sub || strchr(sub, '/'))
			vfind(c, FND_VPCATTACH_SUBNET, sn, NULL,
			      "subnet %s is not vpc/subnet (for example vpc-1/default)", v_q(c, s));
		else
			vctx_ref(c, KIND_VPC, vpc, sub, sn, REF_SUBNET);
		f->att_vpc = vpc;
		f->att_subnet = sub;
		f->at_att = sn;
	}
	if (!v_str(cn))
		vfind(c, FND_FIELD_REQUIRED, cn ? cn : spec ? spec : c->root,
		      cn ? NULL : spec ? "connection" : "spec", "connection is required");
	else
		vctx_ref(c, KIND_CONNECTION, v_str(cn), NULL, cn, REF_SERVER_CONN);
	f->conn_name = v_str(cn);
	f->native_vlan = (uint8_t)v_bool(hy_get(spec, "nativeVLAN"));
	f->at_native = hy_get(spec, "nativeVLAN");
	if (p2p) {
		struct ip4_prefix p;

		if (!v_str(p2p) || ip4_parse_prefix(v_str(p2p), &p) || p.len != 31)
			vfind(c, FND_VPCATTACH_P2P, p2p, NULL,
			      "annotation fabric.githedgehog.com/p2p-link must be an IPv4 /31, not %s",
			      v_q(c, hy_str(p2p) ? hy_str(p2p) : ""));
	}
}

static void check_vpcpeering(struct vctx *c, const struct hy_node *spec)
{
	struct val_facts *f = c->f;
	const struct hy_node *permit = hy_get(spec, "permit");
	const struct hy_node *remote = hy_get(spec, "remote");
	const char *names[3] = { NULL, NULL, NULL };
	const struct hy_node *at[3] = { NULL, NULL, NULL };
	int distinct = 0, entry_errors = 0;

	if (v_str(remote))
		vfind(c, FND_VPCPEERING_REMOTE, remote, NULL,
		      "remote peering was removed from the Hedgehog API; use a gateway peering");
	if (!permit || permit->type != HY_SEQ || !permit->len) {
		if (!permit || permit->type == HY_SEQ || permit->type == HY_NULL)
			vfind(c, FND_VPCPEERING_VPCS, permit ? permit : spec ? spec : c->root,
			      permit ? NULL : spec ? "permit" : "spec",
			      "permit must list the two VPCs to peer, like [{vpc-1: {}, vpc-2: {}}]");
		return;
	}
	if (permit->len > 10)
		vfind(c, FND_FIELD_RANGE, permit, NULL, "permit has %u entries, at most 10",
		      permit->len);
	for (uint32_t i = 0; i < permit->len; i++) {
		const struct hy_node *e = permit->v.items[i];

		if (e->type != HY_MAP)
			continue;
		if (e->len != 2 && ++entry_errors)
			vfind(c, FND_VPCPEERING_VPCS, e, NULL,
			      "permit entry %u names %u VPC%s; each entry names exactly two", i, e->len,
			      e->len == 1 ? "" : "s");
		for (uint32_t j = 0; j < e->len && j < 16; j++) {
			const struct hy_node *k = e->v.pairs[j].key;
			const struct hy_node *subs = get_seq(e->v.pairs[j].val, "subnets");
			int seen = 0;

			vctx_ref(c, KIND_VPC, k->text, NULL, k, 0);
			for (uint32_t s = 0; subs && s < subs->len; s++)
				if (v_str(subs->v.items[s]))
					vctx_ref(c, KIND_VPC, k->text, v_str(subs->v.items[s]),
						 subs->v.items[s], REF_SUBNET);
			for (int d = 0; d < distinct; d++)
				if (!strcmp(names[d], k->text))
					seen = 1;
			if (!seen) {
				if (distinct == 2)
					vfind(c, FND_VPCPEERING_VPCS, k, NULL,
					      "VPC %s makes a third VPC in this peering; a peering joins exactly two",
					      v_q(c, k->text));
				if (distinct < 3) {
					names[distinct] = k->text;
					at[distinct] = k;
					distinct++;
				}
			}
		}
	}
	if (distinct == 1 && !entry_errors)
		vfind(c, FND_VPCPEERING_VPCS, at[0], NULL,
		      "the peering names only VPC %s; it needs two different VPCs", v_q(c, names[0]));
	for (int d = 0; d < 2 && d < distinct; d++) {
		f->peer[d] = names[d];
		f->at_peer[d] = at[d];
	}
	f->npeer = (uint8_t)(distinct < 2 ? distinct : 2);
}

/* --- IPv4Namespace, VLANNamespace -------------------------------------------------------- */

static void check_ipv4namespace(struct vctx *c, const struct hy_node *spec)
{
	const struct hy_node *subs = get_seq(spec, "subnets");
	struct pfx_item *items;
	size_t n = 0;

	if (!subs && bad_type(hy_get(spec, "subnets"), HY_SEQ))
		return;
	if (!subs || !subs->len) {
		vfind(c, FND_IPNS_SUBNET_COUNT, subs ? subs : spec ? spec : c->root,
		      subs ? NULL : spec ? "subnets" : "spec",
		      "an IPv4Namespace needs at least one subnet");
		return;
	}
	if (subs->len > 10)
		vfind(c, FND_IPNS_SUBNET_COUNT, subs, NULL,
		      "an IPv4Namespace has at most 10 subnets, not %u", subs->len);
	items = hs_malloc(subs->len * sizeof(*items));
	for (uint32_t i = 0; i < subs->len; i++) {
		const struct hy_node *s = subs->v.items[i];
		struct ip4_prefix p;
		struct v_prefix *vp;

		if (v_prefix(c, s, &p, "subnet"))
			continue;
		vp = vctx_prefix(c);
		vp->pfx = p;
		vp->at = s;
		items[n].pfx = p;
		items[n].at = s;
		items[n].label = NULL;
		n++;
	}
	check_overlaps(c, items, n, FND_IPNS_SUBNET_OVERLAP, "subnet");
	free(items);
}

static int range_cmp(const void *a, const void *b)
{
	const struct v_range *x = a, *y = b;

	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->to < y->to ? -1 : x->to > y->to;
}

static void check_vlannamespace(struct vctx *c, const struct hy_node *spec)
{
	const struct hy_node *ranges = get_seq(spec, "ranges");
	struct v_range *sorted;
	size_t n = 0;

	if (!ranges && bad_type(hy_get(spec, "ranges"), HY_SEQ))
		return;
	if (!ranges || !ranges->len) {
		vfind(c, FND_VLANNS_RANGE, ranges ? ranges : spec ? spec : c->root,
		      ranges ? NULL : spec ? "ranges" : "spec",
		      "a VLANNamespace needs at least one range, like {from: 1000, to: 2999}");
		return;
	}
	if (ranges->len > 20)
		vfind(c, FND_VLANNS_RANGE, ranges, NULL, "a VLANNamespace has at most 20 ranges, not %u",
		      ranges->len);
	for (uint32_t i = 0; i < ranges->len; i++) {
		const struct hy_node *r = ranges->v.items[i];
		const struct hy_node *fn = hy_get(r, "from"), *tn = hy_get(r, "to");
		int64_t from = 0, to = 0;
		struct v_range *vr;

		if (r->type != HY_MAP)
			continue;
		if (!v_int(fn, &from) || !from) {
			if (!fn || fn->type == HY_NULL || v_int(fn, &from))
				vfind(c, FND_VLANNS_RANGE, fn ? fn : r, fn ? NULL : "from",
				      "range %u needs from (a VLAN 1..4094)", i);
			continue;
		}
		if (!v_int(tn, &to) || !to)
			to = from;
		if (from < 1 || from > 4094 || to < 1 || to > 4094) {
			vfind(c, FND_VLANNS_RANGE, (from < 1 || from > 4094) ? fn : tn, NULL,
			      "range %lld-%lld is outside VLANs 1..4094", (long long)from, (long long)to);
			continue;
		}
		if (from > to) {
			vfind(c, FND_VLANNS_RANGE, fn, NULL, "range %lld-%lld runs backwards (from > to)",
			      (long long)from, (long long)to);
			continue;
		}
		if (from <= 3999 && to >= 3000)
			vfind(c, FND_VLANNS_RESERVED, fn, NULL,
			      "range %lld-%lld overlaps VLANs 3000-3999, which the fabric reserves",
			      (long long)from, (long long)to);
		vr = vctx_range(c);
		vr->from = (uint16_t)from;
		vr->to = (uint16_t)to;
		vr->at = fn;
		n++;
	}
	if (n < 2)
		return;
	sorted = hs_malloc(c->nranges * sizeof(*sorted));
	memcpy(sorted, c->ranges, c->nranges * sizeof(*sorted));
	if (c->nranges > 1)
		qsort(sorted, c->nranges, sizeof(*sorted), range_cmp);
	for (size_t i = 1, best = 0; i < c->nranges; i++) {
		if (sorted[i].from <= sorted[best].to)
			vfind(c, FND_VLANNS_OVERLAP, sorted[i].at, NULL,
			      "range %u-%u overlaps range %u-%u", sorted[i].from, sorted[i].to,
			      sorted[best].from, sorted[best].to);
		if (sorted[i].to > sorted[best].to)
			best = i;
	}
	free(sorted);
}

/* --- External, ExternalAttachment, ExternalPeering ------------------------------------ */

static int community_part_ok(const char *s, size_t n)
{
	unsigned v = 0;

	if (!n || n > 5 || (n > 1 && s[0] == '0'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v <= 65535;
}

static int community_ok(const char *s)
{
	const char *colon = strchr(s, ':');

	return colon && community_part_ok(s, (size_t)(colon - s)) &&
	       community_part_ok(colon + 1, strlen(colon + 1));
}

static void check_external(struct vctx *c, const struct hy_node *spec)
{
	struct val_facts *f = c->f;
	const struct hy_node *ns = hy_get(spec, "ipv4Namespace");
	const struct hy_node *in = hy_get(spec, "inboundCommunity");
	const struct hy_node *out = hy_get(spec, "outboundCommunity");
	const struct hy_node *st = hy_get(spec, "static");

	f->ipv4ns = v_str(ns) ? v_str(ns) : "default";
	f->at_ipv4ns = ns;
	vctx_ref(c, KIND_IPV4NAMESPACE, f->ipv4ns, NULL, ns, REF_DEFAULT_OK);
	if (st && st->type == HY_MAP) {
		const struct hy_node *pl = get_seq(st, "prefixes");
		struct pfx_item *items;
		size_t n = 0;

		f->is_static = 1;
		if (v_str(in) || v_str(out))
			vfind(c, FND_EXTERNAL_STATIC, v_str(in) ? in : out, NULL,
			      "a static External takes no communities");
		if (!pl && bad_type(hy_get(st, "prefixes"), HY_SEQ))
			return;
		if (!pl || !pl->len) {
			vfind(c, FND_EXTERNAL_STATIC, pl ? pl : st, pl ? NULL : "prefixes",
			      "a static External needs at least one prefix");
			return;
		}
		items = hs_malloc(pl->len * sizeof(*items));
		for (uint32_t i = 0; i < pl->len; i++) {
			struct ip4_prefix p;
			struct v_prefix *vp;

			if (v_prefix(c, pl->v.items[i], &p, "prefix"))
				continue;
			vp = vctx_prefix(c);
			vp->pfx = p;
			vp->at = pl->v.items[i];
			items[n].pfx = p;
			items[n].at = pl->v.items[i];
			items[n].label = NULL;
			n++;
		}
		check_overlaps(c, items, n, FND_EXTERNAL_STATIC, "prefix");
		free(items);
		return;
	}
	if (!v_str(in))
		vfind(c, FND_EXTERNAL_COMMUNITY, in ? in : spec ? spec : c->root,
		      in ? NULL : spec ? "inboundCommunity" : "spec",
		      "inboundCommunity (ASN:NN, like 65102:5000) is required");
	else if (!community_ok(v_str(in)))
		vfind(c, FND_EXTERNAL_COMMUNITY, in, NULL,
		      "inboundCommunity %s is not ASN:NN with both parts 0..65535", v_q(c, v_str(in)));
	if (!v_str(out))
		vfind(c, FND_EXTERNAL_COMMUNITY, out ? out : spec ? spec : c->root,
		      out ? NULL : spec ? "outboundCommunity" : "spec",
		      "outboundCommunity (ASN:NN, like 50000:50001) is required");
	else if (!community_ok(v_str(out)))
		vfind(c, FND_EXTERNAL_COMMUNITY, out, NULL,
		      "outboundCommunity %s is not ASN:NN with both parts 0..65535", v_q(c, v_str(out)));
}

static void check_acl(struct vctx *c, const struct hy_node *acl)
{
	static const char *const actions[] = { "permit", "deny", "discard", "transit", NULL };
	static const char *const protos[] = { "ip", "tcp", "udp", "icmp", NULL };
	const struct hy_node *stmts = get_seq(acl, "statements");
	int64_t *seqs;
	size_t nseq = 0;

	if (!stmts)
		return;
	seqs = hs_malloc((stmts->len ? stmts->len : 1) * sizeof(*seqs));
	for (uint32_t i = 0; i < stmts->len; i++) {
		const struct hy_node *s = stmts->v.items[i];
		const struct hy_node *tf = get_map(s, "tcpFilters");
		const char *action = hy_get_str(s, "action"), *proto = hy_get_str(s, "protocol");
		int64_t seq = 0, pb = 0, pe = 0;
		int ok, dup = 0;

		if (s->type != HY_MAP)
			continue;
		v_int(hy_get(s, "seq"), &seq);
		if (seq < 10)
			vfind(c, FND_EXTATTACH_ACL, hy_get(s, "seq") ? hy_get(s, "seq") : s,
			      hy_get(s, "seq") ? NULL : "seq",
			      "statement %u: seq %lld is reserved; user statements use 10 or more", i,
			      (long long)seq);
		for (size_t k = 0; k < nseq && i < 4096; k++)
			dup |= seqs[k] == seq;
		if (dup)
			vfind(c, FND_EXTATTACH_ACL, hy_get(s, "seq"), NULL,
			      "statement %u: seq %lld is used twice", i, (long long)seq);
		seqs[nseq++] = seq;
		ok = 0;
		for (int k = 0; action && actions[k]; k++)
			ok |= !strcmp(action, actions[k]);
		if (!ok)
			vfind(c, FND_EXTATTACH_ACL, hy_get(s, "action") ? hy_get(s, "action") : s,
			      hy_get(s, "action") ? NULL : "action",
			      "statement %u: action must be permit, deny, discard or transit", i);
		ok = 0;
		for (int k = 0; proto && protos[k]; k++)
			ok |= !strcmp(proto, protos[k]);
		if (!ok)
			vfind(c, FND_EXTATTACH_ACL, hy_get(s, "protocol") ? hy_get(s, "protocol") : s,
			      hy_get(s, "protocol") ? NULL : "protocol",
			      "statement %u: protocol must be ip, tcp, udp or icmp", i);
		for (int k = 0; k < 2; k++) {
			const char *fld = k ? "dstPrefix" : "srcPrefix";
			const struct hy_node *pn = hy_get(s, fld);
			struct ip4_prefix p;

			if (!v_str(pn))
				vfind(c, FND_EXTATTACH_ACL, pn ? pn : s, pn ? NULL : fld,
				      "statement %u: %s is required (a prefix or any)", i, fld);
			else if (strcmp(v_str(pn), "any"))
				v_prefix(c, pn, &p, fld);
		}
		if (tf) {
			static const char *const flags[] = { "fin", "syn", "rst", "psh", "ack", "urg", NULL };
			int any = 0;

			if (proto && strcmp(proto, "tcp"))
				vfind(c, FND_EXTATTACH_ACL, tf, NULL,
				      "statement %u: tcpFilters need protocol tcp", i);
			for (int k = 0; flags[k]; k++) {
				char neg[8];
				int pos = v_bool(hy_get(tf, flags[k]));
				int ngt;

				snprintf(neg, sizeof(neg), "not%c%s", flags[k][0] - 32, flags[k] + 1);
				ngt = v_bool(hy_get(tf, neg));
				any |= pos | ngt;
				if (pos && ngt)
					vfind(c, FND_EXTATTACH_ACL, tf, NULL,
					      "statement %u: %s and %s contradict each other", i, flags[k], neg);
			}
			if (any && v_bool(hy_get(tf, "established")))
				vfind(c, FND_EXTATTACH_ACL, tf, NULL,
				      "statement %u: established excludes the individual TCP flags", i);
		}
		if ((hy_get(s, "icmpType") || hy_get(s, "icmpCode")) && proto && strcmp(proto, "icmp"))
			vfind(c, FND_EXTATTACH_ACL, s, NULL,
			      "statement %u: icmpType/icmpCode need protocol icmp", i);
		v_int(hy_get(s, "portRangeBegin"), &pb);
		v_int(hy_get(s, "portRangeEnd"), &pe);
		if (pb || pe) {
			if (proto && strcmp(proto, "tcp") && strcmp(proto, "udp"))
				vfind(c, FND_EXTATTACH_ACL, s, NULL,
				      "statement %u: a port range needs protocol tcp or udp", i);
			else if (!pb)
				vfind(c, FND_EXTATTACH_ACL, s, "portRangeBegin",
				      "statement %u: portRangeBegin must be 1 or more", i);
			else if (pb > pe)
				vfind(c, FND_EXTATTACH_ACL, hy_get(s, "portRangeBegin"), NULL,
				      "statement %u: portRangeBegin %lld is after portRangeEnd %lld", i,
				      (long long)pb, (long long)pe);
		}
	}
	free(seqs);
}

static void check_extattachment(struct vctx *c, const struct hy_node *spec)
{
	struct val_facts *f = c->f;
	const struct hy_node *ext = hy_get(spec, "external"), *conn = hy_get(spec, "connection");
	const struct hy_node *sw = get_map(spec, "switch"), *nb = get_map(spec, "neighbor");
	const struct hy_node *st = get_map(spec, "static"), *bfd = get_map(spec, "bfd");
	int64_t v = 0;

	f->is_static = st != NULL;
	if (!v_str(ext))
		vfind(c, FND_FIELD_REQUIRED, ext ? ext : spec ? spec : c->root,
		      ext ? NULL : spec ? "external" : "spec", "external is required");
	else
		vctx_ref(c, KIND_EXTERNAL, v_str(ext), NULL, ext, st ? REF_STATIC_EXT : 0);
	if (!v_str(conn))
		vfind(c, FND_FIELD_REQUIRED, conn ? conn : spec ? spec : c->root,
		      conn ? NULL : spec ? "connection" : "spec", "connection is required");
	else
		vctx_ref(c, KIND_CONNECTION, v_str(conn), NULL, conn, REF_EXTERNAL_CONN);
	f->conn_name = v_str(conn);
	if (!st) {
		const struct hy_node *ip = hy_get(sw, "ip"), *nip = hy_get(nb, "ip");
		struct ip4_prefix p;
		uint32_t a;

		if (!v_str(ip))
			vfind(c, FND_EXTATTACH_BGP, ip ? ip : sw ? sw : spec ? spec : c->root,
			      ip ? NULL : sw ? "ip" : "switch",
			      "switch.ip (the switch side, with prefix length) is required for a BGP attachment");
		else
			v_prefix(c, ip, &p, "switch.ip");
		if (!v_int(hy_get(nb, "asn"), &v) || !v)
			vfind(c, FND_EXTATTACH_BGP, nb ? (hy_get(nb, "asn") ? hy_get(nb, "asn") : nb) :
							 spec ? spec : c->root,
			      nb ? (hy_get(nb, "asn") ? NULL : "asn") : "neighbor",
			      "neighbor.asn is required for a BGP attachment");
		if (!v_str(nip))
			vfind(c, FND_EXTATTACH_BGP, nip ? nip : nb ? nb : spec ? spec : c->root,
			      nip ? NULL : nb ? "ip" : "neighbor",
			      "neighbor.ip is required for a BGP attachment");
		else
			v_addr(c, nip, &a, "neighbor.ip");
		v = 0;
		v_int(hy_get(sw, "vlan"), &v);
		f->at_vlan = hy_get(sw, "vlan");
	} else {
		const struct hy_node *rip = hy_get(st, "remoteIP"), *ip = hy_get(st, "ip");
		int proxy = v_bool(hy_get(st, "proxy"));
		uint32_t a;
		struct ip4_prefix p;

		if (present(hy_get(sw, "ip")) || present(hy_get(sw, "vlan")))
			vfind(c, FND_EXTATTACH_STATIC, sw, NULL,
			      "switch settings are for BGP attachments, not static ones");
		if (present(hy_get(nb, "asn")) || present(hy_get(nb, "ip")))
			vfind(c, FND_EXTATTACH_STATIC, nb, NULL,
			      "neighbor settings are for BGP attachments, not static ones");
		if (!v_str(rip))
			vfind(c, FND_EXTATTACH_STATIC, rip ? rip : st, rip ? NULL : "remoteIP",
			      "static.remoteIP is required");
		else
			v_addr(c, rip, &a, "static.remoteIP");
		if (v_str(ip) && proxy)
			vfind(c, FND_EXTATTACH_STATIC, ip, NULL, "set static.ip or static.proxy, not both");
		else if (!v_str(ip) && !proxy)
			vfind(c, FND_EXTATTACH_STATIC, st, NULL, "static.ip or static.proxy is required");
		if (v_str(ip))
			v_prefix(c, ip, &p, "static.ip");
		if (bfd)
			vfind(c, FND_EXTATTACH_BFD, bfd, NULL, "BFD works on BGP attachments only");
		v = 0;
		v_int(hy_get(st, "vlan"), &v);
		f->at_vlan = hy_get(st, "vlan");
	}
	if (v > 4094)
		vfind(c, FND_FIELD_RANGE, f->at_vlan, NULL, "VLAN %lld is outside 0..4094", (long long)v);
	if (!f->at_vlan)
		f->at_vlan = conn; /* untagged: VLAN 0 on the connection */
	f->vlan = v >= 0 && v <= 4094 ? (uint16_t)v : 0;
	if (bfd) {
		static const char *const iv[] = { "minRX", "minTX" };

		for (int i = 0; i < 2; i++)
			if (v_int(hy_get(bfd, iv[i]), &v) && v && (v < 10 || v > 60000))
				vfind(c, FND_EXTATTACH_BFD, hy_get(bfd, iv[i]), NULL,
				      "bfd.%s %lld is outside 10..60000 ms", iv[i], (long long)v);
		if (v_int(hy_get(bfd, "multiplier"), &v) && v == 1)
			vfind(c, FND_EXTATTACH_BFD, hy_get(bfd, "multiplier"), NULL,
			      "bfd.multiplier must be at least 2");
	}
	check_acl(c, get_map(spec, "inboundACL"));
}

static void check_extpeering(struct vctx *c, const struct hy_node *spec)
{
	struct val_facts *f = c->f;
	const struct hy_node *permit = get_map(spec, "permit");
	const struct hy_node *vpc = get_map(permit, "vpc"), *ext = get_map(permit, "external");
	const struct hy_node *vn = hy_get(vpc, "name"), *en = hy_get(ext, "name");
	const struct hy_node *subs = get_seq(vpc, "subnets"), *pl = get_seq(ext, "prefixes");

	if (!v_str(vn)) {
		vfind(c, FND_EXTPEERING_PERMIT, vn ? vn : vpc ? vpc : permit ? permit : spec ? spec : c->root,
		      vn ? NULL : vpc ? "name" : permit ? "vpc" : spec ? "permit" : "spec",
		      "permit.vpc.name is required");
	} else {
		vctx_ref(c, KIND_VPC, v_str(vn), NULL, vn, 0);
		f->peer[0] = v_str(vn);
		f->at_peer[0] = vn;
		f->npeer = 1;
		for (uint32_t i = 0; subs && i < subs->len; i++)
			if (v_str(subs->v.items[i]))
				vctx_ref(c, KIND_VPC, v_str(vn), v_str(subs->v.items[i]), subs->v.items[i],
					 REF_SUBNET);
	}
	if (!v_str(en)) {
		vfind(c, FND_EXTPEERING_PERMIT, en ? en : ext ? ext : permit ? permit : spec ? spec : c->root,
		      en ? NULL : ext ? "name" : permit ? "external" : spec ? "permit" : "spec",
		      "permit.external.name is required");
	} else {
		vctx_ref(c, KIND_EXTERNAL, v_str(en), NULL, en, 0);
		f->peer_ext = v_str(en);
		f->at_peer_ext = en;
	}
	for (uint32_t i = 0; pl && i < pl->len; i++) {
		const struct hy_node *e = pl->v.items[i], *pn = hy_get(e, "prefix");
		struct ip4_prefix p;

		if (e->type != HY_MAP)
			continue;
		if (!v_str(pn))
			vfind(c, FND_EXTPEERING_PERMIT, pn ? pn : e, pn ? NULL : "prefix",
			      "each external prefix needs prefix");
		else
			v_prefix(c, pn, &p, "prefix");
	}
}

/* --- Connection ---------------------------------------------------------------------------- */

static const struct {
	const char *field;
	enum v_conn type;
} conn_types[] = {
	{ "unbundled", CONN_UNBUNDLED },     { "bundled", CONN_BUNDLED },
	{ "mclag", CONN_MCLAG },             { "eslag", CONN_ESLAG },
	{ "mclagDomain", CONN_MCLAG_DOMAIN }, { "fabric", CONN_FABRIC },
	{ "mesh", CONN_MESH },               { "gateway", CONN_GATEWAY },
	{ "vpcLoopback", CONN_VPC_LOOPBACK }, { "external", CONN_EXTERNAL },
	{ "staticExternal", CONN_STATIC_EXTERNAL },
};

/* Record the port of end `e` ({port: device/port}); returns the port or NULL. */
static struct v_port *conn_port(struct vctx *c, const struct hy_node *link, const char *end,
				enum v_dev dev, enum v_end role)
{
	const struct hy_node *e = get_map(link, end);
	const struct hy_node *pn = hy_get(e, "port");
	const char *s = v_str(pn), *slash;
	struct v_port *p;

	if (!s) {
		vfind(c, FND_CONN_PORT, pn ? pn : e ? e : link, pn ? NULL : e ? "port" : end,
		      "%s.port (device/port, like leaf-1/E1/1) is required", end);
		return NULL;
	}
	slash = strchr(s, '/');
	if (!slash || slash == s || !slash[1]) {
		vfind(c, FND_CONN_PORT, pn, NULL, "port %s is not device/port, like leaf-1/E1/1",
		      v_q(c, s));
		return NULL;
	}
	p = vctx_port(c);
	p->port = s;
	p->device = arena_strndup(c->a, s, (size_t)(slash - s));
	p->dev = (uint8_t)dev;
	p->end = (uint8_t)role;
	p->at = pn;
	return p;
}

static void link_ips(struct vctx *c, const struct hy_node *link, const char *a, const char *b,
		     int required)
{
	const struct hy_node *an = hy_get(get_map(link, a), "ip");
	const struct hy_node *bn = hy_get(get_map(link, b), "ip");
	struct ip4_prefix pa, pb;
	int ha = v_str(an) != NULL, hb = v_str(bn) != NULL;

	if (!ha && !hb && !required)
		return;
	if (ha != hb) {
		vfind(c, FND_CONN_IP, ha ? an : bn, NULL,
		      "a link has an IP on %s only; set both ends (numbered) or neither (unnumbered)",
		      ha ? a : b);
		return;
	}
	if (v_prefix(c, an, &pa, "link IP") || v_prefix(c, bn, &pb, "link IP"))
		return;
	if (pa.len != 31 || pb.len != 31) {
		vfind(c, FND_CONN_IP, pa.len != 31 ? an : bn, NULL, "link IPs must be /31, not /%u",
		      pa.len != 31 ? pa.len : pb.len);
		return;
	}
	if (ip4_network(&pa) != ip4_network(&pb) || pa.addr == pb.addr)
		vfind(c, FND_CONN_IP, bn, NULL, "link IPs %s and %s are not the two ends of one /31",
		      v_q(c, an->text), v_q(c, bn->text));
}

static int dev_cmp(const void *a, const void *b)
{
	const struct v_port *x = *(const struct v_port *const *)a;
	const struct v_port *y = *(const struct v_port *const *)b;
	int c = strcmp(x->device, y->device);

	if (c)
		return c;
	/* the first written wins, so references point at the first use */
	return x < y ? -1 : x > y;
}

/* The ports of type dev sorted by device (new array; *n entries); the
 * first port of each device comes first.  Sorting keeps a connection with
 * thousands of links O(n log n). */
static const struct v_port **ports_by_device(struct vctx *c, int dev, size_t *n)
{
	const struct v_port **v = hs_malloc((c->nports ? c->nports : 1) * sizeof(*v));

	*n = 0;
	for (size_t i = 0; i < c->nports; i++)
		if (dev < 0 || c->ports[i].dev == dev)
			v[(*n)++] = &c->ports[i];
	if (*n > 1)
		qsort(v, *n, sizeof(*v), dev_cmp);
	return v;
}

static int count_devices(struct vctx *c, size_t first, enum v_dev dev)
{
	size_t n;
	const struct v_port **v = ports_by_device(c, (int)dev, &n);
	int distinct = 0;

	(void)first;
	for (size_t i = 0; i < n; i++)
		distinct += !i || strcmp(v[i]->device, v[i - 1]->device);
	free(v);
	return distinct;
}

static const char *const type_word[] = {
	[CONN_UNBUNDLED] = "an unbundled", [CONN_BUNDLED] = "a bundled",
	[CONN_ESLAG] = "an ESLAG",         [CONN_FABRIC] = "a fabric",
	[CONN_MESH] = "a mesh",            [CONN_GATEWAY] = "a gateway",
	[CONN_VPC_LOOPBACK] = "a VPC loopback",
};

static void expect_devices(struct vctx *c, const struct hy_node *at, enum v_conn t,
			   enum v_dev dev, int got, int lo, int hi)
{
	const char *what = dev == DEV_SWITCH ? "switch" : "server";

	if (got >= lo && got <= hi)
		return;
	const char *plural = got == 1 ? "" : dev == DEV_SWITCH ? "es" : "s";

	if (lo == hi)
		vfind(c, FND_CONN_LINKS, at, NULL, "%s connection uses %d %s%s; it must use %d",
		      type_word[t], got, what, plural, lo);
	else
		vfind(c, FND_CONN_LINKS, at, NULL, "%s connection uses %d %s%s; it must use %d to %d",
		      type_word[t], got, what, plural, lo, hi);
}

static void check_static_external(struct vctx *c, const struct hy_node *se)
{
	const struct hy_node *sw = get_map(get_map(se, "link"), "switch");
	const struct hy_node *ip = hy_get(sw, "ip"), *nh = hy_get(sw, "nextHop");
	const struct hy_node *subs = get_seq(sw, "subnets");
	struct ip4_prefix p;
	int have = 0;
	uint32_t a;
	struct pfx_item *items;
	size_t n = 0;

	conn_port(c, get_map(se, "link"), "switch", DEV_SWITCH, END_ANY);
	if (v_str(hy_get(se, "withinVPC")))
		vctx_ref(c, KIND_VPC, v_str(hy_get(se, "withinVPC")), NULL, hy_get(se, "withinVPC"), 0);
	if (!v_str(ip))
		vfind(c, FND_CONN_STATIC_EXTERNAL, ip ? ip : sw ? sw : se, ip ? NULL : sw ? "ip" : "link",
		      "link.switch.ip (with prefix length) is required");
	else
		have = !v_prefix(c, ip, &p, "link.switch.ip");
	if (!v_str(nh))
		vfind(c, FND_CONN_STATIC_EXTERNAL, nh ? nh : sw ? sw : se, nh ? NULL : sw ? "nextHop" : "link",
		      "link.switch.nextHop is required");
	else if (!v_addr(c, nh, &a, "nextHop") && have && !ip4_contains(&p, a))
		vfind(c, FND_CONN_STATIC_EXTERNAL, nh, NULL, "nextHop %s is not in %s",
		      v_q(c, nh->text), v_q(c, ip->text));
	if (!subs)
		return;
	items = hs_malloc((subs->len ? subs->len : 1) * sizeof(*items));
	for (uint32_t i = 0; i < subs->len; i++) {
		const struct hy_node *s = subs->v.items[i];
		struct ip4_prefix sp;

		if (v_prefix(c, s, &sp, "subnet"))
			continue;
		if (!strcmp(s->text, "0.0.0.0/0")) {
			if (subs->len > 1)
				vfind(c, FND_CONN_STATIC_EXTERNAL, s, NULL,
				      "the default route 0.0.0.0/0 must be the only subnet");
			continue;
		}
		if (!ip4_canonical(&sp)) {
			vfind(c, FND_CIDR_NOT_CANONICAL, s, NULL, "subnet %s has host bits set",
			      v_q(c, s->text));
			continue;
		}
		items[n].pfx = sp;
		items[n].at = s;
		items[n].label = NULL;
		n++;
	}
	check_overlaps(c, items, n, FND_CONN_STATIC_EXTERNAL, "subnet");
	free(items);
}

static int port_cmp(const void *a, const void *b)
{
	const struct v_port *x = *(const struct v_port *const *)a;
	const struct v_port *y = *(const struct v_port *const *)b;
	int r = strcmp(x->port, y->port);

	if (r)
		return r;
	return (x->at ? x->at->line : 0) < (y->at ? y->at->line : 0) ? -1 : 1;
}

static void check_connection(struct vctx *c, const struct hy_node *spec)
{
	struct val_facts *f = c->f;
	const struct hy_node *body = NULL, *links;
	enum v_conn type = CONN_NONE;
	const char *first = NULL;
	size_t nt = sizeof(conn_types) / sizeof(conn_types[0]);
	int count = 0;

	for (size_t i = 0; i < nt; i++) {
		const struct hy_node *n = hy_get(spec, conn_types[i].field);

		if (!n || n->type == HY_NULL)
			continue;
		if (++count == 1) {
			type = conn_types[i].type;
			body = n;
			first = conn_types[i].field;
		} else {
			vfind(c, FND_CONN_TYPE, n, NULL,
			      "a Connection has exactly one type; this one has both %s and %s", first,
			      conn_types[i].field);
		}
	}
	f->conn = (uint8_t)type;
	if (!count) {
		vfind(c, FND_CONN_TYPE, spec ? spec : c->root, spec ? NULL : "spec",
		      "a Connection needs one of unbundled, bundled, eslag, fabric, mesh, gateway, vpcLoopback, external, staticExternal");
		return;
	}
	if (count > 1 || !body || body->type != HY_MAP)
		return;
	if (type == CONN_MCLAG || type == CONN_MCLAG_DOMAIN) {
		vfind(c, FND_CONN_DEPRECATED, hy_get(spec, first), NULL,
		      "%s connections are deprecated and no longer supported; use eslag", first);
		return;
	}
	links = get_seq(body, "links");
	switch (type) {
	case CONN_UNBUNDLED:
		if (!get_map(body, "link")) {
			vfind(c, FND_CONN_LINKS, body, "link", "an unbundled connection needs link");
			break;
		}
		conn_port(c, get_map(body, "link"), "server", DEV_SERVER, END_ANY);
		conn_port(c, get_map(body, "link"), "switch", DEV_SWITCH, END_LEAF);
		break;
	case CONN_BUNDLED:
	case CONN_ESLAG: {
		int lo = type == CONN_ESLAG ? 2 : 1;

		if (!links || links->len < (uint32_t)lo) {
			vfind(c, FND_CONN_LINKS, links ? links : body, links ? NULL : "links",
			      "%s connection needs at least %d link%s", type_word[type], lo,
			      lo == 1 ? "" : "s");
			break;
		}
		for (uint32_t i = 0; i < links->len; i++) {
			conn_port(c, links->v.items[i], "server", DEV_SERVER, END_ANY);
			conn_port(c, links->v.items[i], "switch", DEV_SWITCH, END_LEAF);
		}
		expect_devices(c, links, type, DEV_SERVER, count_devices(c, 0, DEV_SERVER), 1, 1);
		if (type == CONN_ESLAG)
			expect_devices(c, links, type, DEV_SWITCH, count_devices(c, 0, DEV_SWITCH), 1, 4);
		else
			expect_devices(c, links, type, DEV_SWITCH, count_devices(c, 0, DEV_SWITCH), 1, 1);
		break;
	}
	case CONN_FABRIC:
	case CONN_MESH:
	case CONN_GATEWAY:
	case CONN_VPC_LOOPBACK: {
		const char *a = type == CONN_FABRIC ? "spine" : type == CONN_MESH ? "leaf1" :
				type == CONN_GATEWAY ? "switch" : "switch1";
		const char *b = type == CONN_FABRIC ? "leaf" : type == CONN_MESH ? "leaf2" :
				type == CONN_GATEWAY ? "gateway" : "switch2";

		if (!links || !links->len) {
			vfind(c, FND_CONN_LINKS, links ? links : body, links ? NULL : "links",
			      "%s connection needs at least one link", type_word[type]);
			break;
		}
		for (uint32_t i = 0; i < links->len; i++) {
			const struct hy_node *l = links->v.items[i];

			conn_port(c, l, a, DEV_SWITCH,
				  type == CONN_FABRIC ? END_SPINE : type == CONN_MESH ? END_LEAF : END_ANY);
			conn_port(c, l, b, type == CONN_GATEWAY ? DEV_GATEWAY : DEV_SWITCH,
				  type == CONN_FABRIC || type == CONN_MESH ? END_LEAF : END_ANY);
			if (type != CONN_VPC_LOOPBACK && l->type == HY_MAP)
				link_ips(c, l, a, b, 0);
		}
		expect_devices(c, links, type, DEV_SWITCH, count_devices(c, 0, DEV_SWITCH),
			       type == CONN_FABRIC || type == CONN_MESH ? 2 : 1,
			       type == CONN_FABRIC || type == CONN_MESH ? 2 : 1);
		break;
	}
	case CONN_EXTERNAL:
		if (!get_map(body, "link")) {
			vfind(c, FND_CONN_LINKS, body, "link", "an external connection needs link");
			break;
		}
		conn_port(c, get_map(body, "link"), "switch", DEV_SWITCH, END_ANY);
		break;
	case CONN_STATIC_EXTERNAL:
		check_static_external(c, body);
		break;
	default:
		break;
	}
	/* a port used twice within the connection; "leaf/E1/4" also names "leaf/E1/4/1" */
	if (c->nports > 1) {
		const struct v_port **v = hs_malloc(c->nports * sizeof(*v));

		for (size_t i = 0; i < c->nports; i++)
			v[i] = &c->ports[i];
		if (c->nports > 1)
			qsort(v, c->nports, sizeof(*v), port_cmp);
		for (size_t i = 1; i < c->nports; i++)
			if (!strcmp(v[i]->port, v[i - 1]->port))
				vfind(c, FND_CONN_PORT_DUPLICATE, v[i]->at, NULL,
				      "port %s is used twice in this connection", v_q(c, v[i]->port));
		free(v);
	}
	/* references to the devices, once per device */
	for (int dev = DEV_SWITCH; dev <= DEV_SERVER; dev++) {
		size_t n;
		const struct v_port **v = ports_by_device(c, dev, &n);

		for (size_t i = 0; i < n; i++)
			if (!i || strcmp(v[i]->device, v[i - 1]->device))
				vctx_ref(c, dev == DEV_SWITCH ? KIND_SWITCH : KIND_SERVER, v[i]->device,
					 NULL, v[i]->at, 0);
		free(v);
	}
}

/* --- Switch ------------------------------------------------------------------------------ */

static void check_switch(struct vctx *c, const struct hy_node *spec)
{
	static const char *const roles[] = { "spine", "server-leaf", "border-leaf", "mixed-leaf",
					     "virtual-edge", NULL };
	struct val_facts *f = c->f;
	const struct hy_node *role = hy_get(spec, "role"), *profile = hy_get(spec, "profile");
	const struct hy_node *red = get_map(spec, "redundancy");
	const struct hy_node *rg = hy_get(red, "group"), *rt = hy_get(red, "type");
	const struct hy_node *l, *n;
	int ok = 0;

	f->role = v_str(role);
	for (int i = 0; f->role && roles[i]; i++)
		ok |= !strcmp(f->role, roles[i]);
	if (!f->role)
		vfind(c, FND_SWITCH_ROLE, role ? role : spec ? spec : c->root,
		      role ? NULL : spec ? "role" : "spec",
		      "role is required: spine, server-leaf, border-leaf or mixed-leaf");
	else if (!ok)
		vfind(c, FND_SWITCH_ROLE, role, NULL,
		      "role %s is not spine, server-leaf, border-leaf or mixed-leaf", v_q(c, f->role));
	if (!v_str(profile))
		vfind(c, FND_SWITCH_PROFILE, profile ? profile : spec ? spec : c->root,
		      profile ? NULL : spec ? "profile" : "spec",
		      "profile (the SwitchProfile, like celestica-ds3000) is required");
	f->rgroup = v_str(rg);
	f->rtype = v_str(rt);
	if (f->rgroup && !f->rtype)
		vfind(c, FND_SWITCH_REDUNDANCY, rg, NULL, "redundancy.group is set without redundancy.type");
	else if (!f->rgroup && f->rtype)
		vfind(c, FND_SWITCH_REDUNDANCY, rt, NULL, "redundancy.type is set without redundancy.group");
	if (f->rtype && strcmp(f->rtype, "eslag") && strcmp(f->rtype, "mclag"))
		vfind(c, FND_SWITCH_REDUNDANCY, rt, NULL, "redundancy.type %s is not eslag",
		      v_q(c, f->rtype));
	else if (f->rtype && !strcmp(f->rtype, "mclag"))
		vfind(c, FND_FIELD_DEPRECATED, rt, NULL, "MCLAG redundancy is deprecated; use eslag");
	if (f->rgroup)
		vctx_ref(c, KIND_SWITCHGROUP, f->rgroup, NULL, rg, 0);
	n = hy_get(spec, "vtepIP");
	if (f->role && !strcmp(f->role, "spine") && v_str(n))
		vfind(c, FND_SWITCH_VTEP, n, NULL, "a spine has no VTEP IP");
	{
		static const char *const ipf[] = { "ip", "vtepIP", "protocolIP" };

		for (int i = 0; i < 3; i++) {
			struct ip4_prefix p;

			v_prefix(c, hy_get(spec, ipf[i]), &p, ipf[i]);
		}
	}
	n = hy_get(get_map(spec, "boot"), "mac");
	if (v_str(n)) {
		uint8_t m[6];

		if (mac_parse(v_str(n), m))
			vfind(c, FND_MAC_INVALID, n, NULL, "boot.mac %s is not a MAC address",
			      v_q(c, v_str(n)));
	}
	l = get_seq(spec, "groups");
	for (uint32_t i = 0; l && i < l->len; i++)
		vctx_ref(c, KIND_SWITCHGROUP, v_str(l->v.items[i]), NULL, l->v.items[i], 0);
	l = get_seq(spec, "vlanNamespaces");
	for (uint32_t i = 0; l && i < l->len; i++)
		vctx_ref(c, KIND_VLANNAMESPACE, v_str(l->v.items[i]), NULL, l->v.items[i],
			 REF_DEFAULT_OK);
	if (!l || !l->len)
		vctx_ref(c, KIND_VLANNAMESPACE, "default", NULL, NULL, REF_DEFAULT_OK);
}

void kind_check_spec(struct vctx *c, enum kind_id id, const struct hy_node *spec)
{
	switch (id) {
	case KIND_VPC:
		check_vpc(c, spec);
		break;
	case KIND_VPCATTACHMENT:
		check_vpcattachment(c, spec);
		break;
	case KIND_VPCPEERING:
		check_vpcpeering(c, spec);
		break;
	case KIND_IPV4NAMESPACE:
		check_ipv4namespace(c, spec);
		break;
	case KIND_EXTERNAL:
		check_external(c, spec);
		break;
	case KIND_EXTERNALATTACHMENT:
		check_extattachment(c, spec);
		break;
	case KIND_EXTERNALPEERING:
		check_extpeering(c, spec);
		break;
	case KIND_CONNECTION:
		check_connection(c, spec);
		break;
	case KIND_SWITCH:
		check_switch(c, spec);
		break;
	case KIND_VLANNAMESPACE:
		check_vlannamespace(c, spec);
		break;
	case KIND_SERVER:
	case KIND_SWITCHGROUP:
	default:
		break;
	}
}
