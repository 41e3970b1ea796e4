/* validate_fabric.c: rules over a whole set of resources (references, namespaces, conflicts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/mem.h"
#include "sync/validate_int.h"

struct fab {
	struct val_res *const *res;
	size_t n;
	const struct val_opts *o;
	struct fnd_list *fl;
	/* (kind, name) -> index of the first resource; open addressing */
	size_t *slots;
	uint64_t *hashes; /* hash of the resource in each slot */
	size_t nslots; /* power of two; SIZE_MAX marks empty */
	unsigned char *dup; /* res[i] repeats an earlier kind and name */
};

#define EMPTY SIZE_MAX

static int sev_for(const struct fab *F, enum fnd_code code)
{
	int sev = fnd_code_severity(code);

	if (code == FND_REF_UNRESOLVED && F->o->ref_sev != FND_SEV_DEFAULT && F->o->ref_sev > sev)
		sev = F->o->ref_sev;
	if (F->o->fabric_sev != FND_SEV_DEFAULT && F->o->fabric_sev > sev)
		sev = F->o->fabric_sev;
	return sev;
}

static void ffind(struct fab *F, enum fnd_code code, const struct val_res *r,
		  const struct hy_node *at, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void ffind(struct fab *F, enum fnd_code code, const struct val_res *r,
		  const struct hy_node *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fnd_atv(F->fl, code, sev_for(F, code), r->file, (int)r->doc->index, r->root,
		at ? at : r->root, NULL, fmt, ap);
	va_end(ap);
}

/* A quoted, capped copy of s for messages (static per call site is not
 * thread-safe, so the caller passes a buffer). */
static const char *q(const char *s, char *buf, size_t size)
{
	size_t o = 0;

	buf[o++] = '\'';
	for (size_t i = 0; s && s[i] && o + 5 < size; i++)
		buf[o++] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
	buf[o++] = '\'';
	buf[o] = '\0';
	return buf;
}

static uint64_t hash_key(int kind, const char *name)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)kind;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 1099511628211ull;
	return h;
}

static int usable(const struct val_res *r)
{
	return r && r->kind && r->kind->managed && r->name && r->facts;
}

static size_t *slot_for(struct fab *F, int kind, const char *name, uint64_t *hash)
{
	size_t mask = F->nslots - 1;
	uint64_t h = hash_key(kind, name);
	size_t i = (size_t)h & mask;

	while (F->slots[i] != EMPTY) {
		if (F->hashes[i] == h) {
			const struct val_res *r = F->res[F->slots[i]];

			if ((int)r->kind->id == kind && !strcmp(r->name, name))
				break;
		}
		i = (i + 1) & mask;
	}
	if (hash)
		*hash = h;
	return &F->slots[i];
}

static const struct val_res *lookup(struct fab *F, int kind, const char *name)
{
	size_t *s;

	if (!name || !F->nslots)
		return NULL;
	s = slot_for(F, kind, name, NULL);
	return *s == EMPTY ? NULL : F->res[*s];
}

static void build_index(struct fab *F)
{
	size_t want = 16;
	char b1[80];

	while (want < F->n * 2)
		want *= 2;
	F->nslots = want;
	F->slots = hs_malloc(want * sizeof(*F->slots));
	memset(F->slots, 0xFF, want * sizeof(*F->slots));
	F->hashes = hs_calloc(want, sizeof(*F->hashes));
	F->dup = hs_calloc(F->n + 1, 1);
	for (size_t i = 0; i < F->n; i++) {
		const struct val_res *r = F->res[i];
		size_t *s;
		uint64_t h;

		if (!usable(r))
			continue;
		s = slot_for(F, (int)r->kind->id, r->name, &h);
		if (*s == EMPTY) {
			*s = i;
			F->hashes[s - F->slots] = h;
			continue;
		}
		F->dup[i] = 1;
		ffind(F, FND_RESOURCE_DUPLICATE, r, hy_get(hy_get(r->root, "metadata"), "name"),
		      "%s %s is defined twice; the other is in %s line %u", r->kind->name,
		      q(r->name, b1, sizeof(b1)), F->res[*s]->file, F->res[*s]->doc->line);
	}
}

static const struct v_subnet *find_subnet(const struct val_res *vpc, const char *name)
{
	for (uint32_t i = 0; i < vpc->facts->nsubnets; i++)
		if (!strcmp(vpc->facts->subnets[i].name, name))
			return &vpc->facts->subnets[i];
	return NULL;
}

static int server_facing(uint8_t conn)
{
	return conn == CONN_UNBUNDLED || conn == CONN_BUNDLED || conn == CONN_MCLAG ||
	       conn == CONN_ESLAG;
}

static void check_refs(struct fab *F, const struct val_res *r)
{
	char b1[80], b2[80];

	for (uint32_t i = 0; i < r->facts->nrefs; i++) {
		const struct v_ref *ref = &r->facts->refs[i];
		const struct kind_info *tk = kind_by_id(ref->kind);
		const struct val_res *t = lookup(F, ref->kind, ref->name);

		if (!t) {
			int again = 0;

			if ((ref->flags & REF_DEFAULT_OK) && !strcmp(ref->name, "default"))
				continue;
			/* one finding per missing resource per document */
			for (uint32_t k = 0; k < i && k < 256 && !again; k++)
				again = r->facts->refs[k].kind == ref->kind &&
					!strcmp(r->facts->refs[k].name, ref->name);
			if (again)
				continue;
			ffind(F, FND_REF_UNRESOLVED, r, ref->at, "%s %s is not defined", tk->name,
			      q(ref->name, b1, sizeof(b1)));
			continue;
		}
		if ((ref->flags & REF_SUBNET) && ref->sub && !t->facts->subnets_unknown &&
		    !find_subnet(t, ref->sub))
			ffind(F, FND_REF_UNRESOLVED, r, ref->at, "VPC %s has no subnet %s",
			      q(ref->name, b1, sizeof(b1)), q(ref->sub, b2, sizeof(b2)));
		if ((ref->flags & REF_SERVER_CONN) && t->facts->conn != CONN_NONE &&
		    !server_facing(t->facts->conn))
			ffind(F, FND_REF_INCOMPATIBLE, r, ref->at,
			      "Connection %s does not face a server (unbundled, bundled or eslag), so no VPC can attach to it",
			      q(ref->name, b1, sizeof(b1)));
		if ((ref->flags & REF_EXTERNAL_CONN) && t->facts->conn != CONN_NONE &&
		    t->facts->conn != CONN_EXTERNAL)
			ffind(F, FND_REF_INCOMPATIBLE, r, ref->at,
			      "Connection %s is not an external connection",
			      q(ref->name, b1, sizeof(b1)));
		if ((ref->flags & REF_STATIC_EXT) && !t->facts->is_static)
			ffind(F, FND_REF_INCOMPATIBLE, r, ref->at,
			      "the attachment is static but External %s has no static prefixes",
			      q(ref->name, b1, sizeof(b1)));
	}
}

static void check_vpc_namespaces(struct fab *F, const struct val_res *r)
{
	const struct val_facts *f = r->facts;
	const struct val_res *ipns = lookup(F, KIND_IPV4NAMESPACE, f->ipv4ns);
	const struct val_res *vlns = lookup(F, KIND_VLANNAMESPACE, f->vlanns);
	char b1[80], b2[80], p[20];

	for (uint32_t i = 0; i < f->nsubnets; i++) {
		const struct v_subnet *s = &f->subnets[i];

		if (ipns && s->has_pfx && ipns->facts->nprefixes) {
			int in = 0;

			for (uint32_t k = 0; k < ipns->facts->nprefixes && !in; k++)
				in = ip4_within(&s->pfx, &ipns->facts->prefixes[k].pfx);
			if (!in)
				ffind(F, FND_VPC_SUBNET_OUTSIDE_NAMESPACE, r, s->at_pfx,
				      "subnet %s (%s) is not inside IPv4Namespace %s",
				      q(s->name, b1, sizeof(b1)), ip4_format_prefix(&s->pfx, p),
				      q(f->ipv4ns, b2, sizeof(b2)));
		}
		if (vlns && s->vlan && !s->hostbgp && vlns->facts->nranges) {
			int in = 0;

			for (uint32_t k = 0; k < vlns->facts->nranges && !in; k++)
				in = s->vlan >= vlns->facts->ranges[k].from &&
				     s->vlan <= vlns->facts->ranges[k].to;
			if (!in)
				ffind(F, FND_VPC_VLAN_OUTSIDE_NAMESPACE, r, s->at_vlan,
				      "subnet %s VLAN %u is not in the ranges of VLANNamespace %s",
				      q(s->name, b1, sizeof(b1)), s->vlan, q(f->vlanns, b2, sizeof(b2)));
		}
	}
}

/* --- conflicts between resources, by sorting ------------------------------------------ */

struct item {
	const char *ns;  /* namespace / connection / port: the grouping key */
	uint64_t a, b;   /* ordering within the group */
	const struct val_res *r;
	const struct hy_node *at;
	const char *label;
	uint32_t idx;
};

static int item_cmp(const void *x, const void *y);

/* Ports: by hash of the port, then the port, so equal ports meet cheaply. */
static int item_hash_cmp(const void *x, const void *y)
{
	const struct item *p = x, *q2 = y;

	if (p->a != q2->a)
		return p->a < q2->a ? -1 : 1;
	return item_cmp(x, y);
}

static int item_cmp(const void *x, const void *y)
{
	const struct item *p = x, *q2 = y;
	int c = p->ns == q2->ns ? 0 : strcmp(p->ns, q2->ns);

	if (c)
		return c;
	if (p->a != q2->a)
		return p->a < q2->a ? -1 : 1;
	if (p->b != q2->b)
		return p->b < q2->b ? -1 : 1;
	return p->idx < q2->idx ? -1 : p->idx > q2->idx;
}

struct items {
	struct item *v;
	size_t n, alloc;
};

static struct item *push(struct items *it)
{
	if (it->n == it->alloc) {
		it->alloc = it->alloc ? it->alloc * 2 : 256;
		it->v = hs_realloc(it->v, it->alloc * sizeof(*it->v));
	}
	memset(&it->v[it->n], 0, sizeof(it->v[0]));
	it->v[it->n].idx = (uint32_t)it->n;
	return &it->v[it->n++];
}

static void check_subnet_conflicts(struct fab *F)
{
	struct items it = { 0 };
	char b1[80], b2[80], b3[80], p1[20], p2[20];

	for (size_t i = 0; i < F->n; i++) {
		const struct val_res *r = F->res[i];

		if (!usable(r) || F->dup[i] || r->kind->id != KIND_VPC)
			continue;
		for (uint32_t k = 0; k < r->facts->nsubnets; k++) {
			const struct v_subnet *s = &r->facts->subnets[k];
			struct item *e;

			if (!s->has_pfx)
				continue;
			e = push(&it);
			e->ns = r->facts->ipv4ns;
			e->a = ip4_network(&s->pfx);
			e->b = s->pfx.len;
			e->r = r;
			e->at = s->at_pfx;
			e->label = s->name;
		}
	}
	if (it.n > 1)
		qsort(it.v, it.n, sizeof(*it.v), item_cmp);
	for (size_t i = 1, best = 0; i < it.n; i++) {
		const struct item *x = &it.v[i], *y = &it.v[best];
		struct ip4_prefix px = { (uint32_t)x->a, (uint8_t)x->b };
		struct ip4_prefix py = { (uint32_t)y->a, (uint8_t)y->b };

		if (strcmp(x->ns, y->ns)) {
			best = i;
			continue;
		}
		if (x->a <= ip4_broadcast(&py) && x->r != y->r)
			ffind(F, FND_VPC_SUBNET_CONFLICT, x->r, x->at,
			      "subnet %s (%s) overlaps subnet %s (%s) of VPC %s in IPv4Namespace %s",
			      q(x->label, b1, sizeof(b1)), ip4_format_prefix(&px, p1),
			      q(y->label, b2, sizeof(b2)), ip4_format_prefix(&py, p2), y->r->name,
			      q(x->ns, b3, sizeof(b3)));
		if (ip4_broadcast(&px) > ip4_broadcast(&py))
			best = i;
	}
	free(it.v);
}

static void check_vlan_conflicts(struct fab *F)
{
	struct items it = { 0 };
	char b1[80], b2[80];

	for (size_t i = 0; i < F->n; i++) {
		const struct val_res *r = F->res[i];

		if (!usable(r) || F->dup[i] || r->kind->id != KIND_VPC)
			continue;
		for (uint32_t k = 0; k < r->facts->nsubnets; k++) {
			const struct v_subnet *s = &r->facts->subnets[k];
			struct item *e;

			if (!s->vlan || s->hostbgp)
				continue;
			e = push(&it);
			e->ns = r->facts->vlanns;
			e->a = s->vlan;
			e->r = r;
			e->at = s->at_vlan;
			e->label = s->name;
		}
	}
	if (it.n > 1)
		qsort(it.v, it.n, sizeof(*it.v), item_cmp);
	for (size_t i = 1; i < it.n; i++) {
		const struct item *x = &it.v[i], *y = &it.v[i - 1];

		if (!strcmp(x->ns, y->ns) && x->a == y->a && x->r != y->r)
			ffind(F, FND_VPC_VLAN_CONFLICT, x->r, x->at,
			      "VLAN %llu of subnet %s is already used by VPC %s in VLANNamespace %s",
			      (unsigned long long)x->a, q(x->label, b1, sizeof(b1)), y->r->name,
			      q(x->ns, b2, sizeof(b2)));
	}
	free(it.v);
}

static void check_port_conflicts(struct fab *F, struct arena *scratch)
{
	struct items it = { 0 };
	char b1[80];

	for (size_t i = 0; i < F->n; i++) {
		const struct val_res *r = F->res[i];

		if (!usable(r) || F->dup[i] || r->kind->id != KIND_CONNECTION)
			continue;
		for (uint32_t k = 0; k < r->facts->nports; k++) {
			const struct v_port *p = &r->facts->ports[k];
			struct item *e = push(&it);
			size_t slashes = 0, len = strlen(p->port);

			for (size_t j = 0; j < len; j++)
				slashes += p->port[j] == '/';
			/* leaf/E1/4 is leaf/E1/4/1 when E1/4 is broken out */
			if (slashes == 2) {
				char *s = arena_alloc_raw(scratch, len + 3);

				memcpy(s, p->port, len);
				memcpy(s + len, "/1", 3);
				e->ns = s;
			} else {
				e->ns = p->port;
			}
			e->a = hash_key(0, e->ns);
			e->r = r;
			e->at = p->at;
			e->label = p->port;
		}
	}
	if (it.n > 1)
		qsort(it.v, it.n, sizeof(*it.v), item_hash_cmp);
	for (size_t i = 1; i < it.n; i++) {
		const struct item *x = &it.v[i], *y = &it.v[i - 1];

		if (x->a == y->a && !strcmp(x->ns, y->ns) && x->r != y->r)
			ffind(F, FND_PORT_CONFLICT, x->r, x->at,
			      "port %s is already used by Connection %s", q(x->label, b1, sizeof(b1)),
			      y->r->name);
	}
	free(it.v);
}

static void check_attachments(struct fab *F)
{
	struct items vpc = { 0 }, ext = { 0 };
	char b1[80], b2[80];

	for (size_t i = 0; i < F->n; i++) {
		const struct val_res *r = F->res[i];
		struct item *e;

		if (!usable(r) || F->dup[i] || !r->facts->conn_name)
			continue;
		if (r->kind->id == KIND_VPCATTACHMENT && r->facts->att_vpc) {
			e = push(&vpc);
			e->ns = r->facts->conn_name;
			e->a = hash_key(0, r->facts->att_vpc) ^ hash_key(1, r->facts->att_subnet);
			e->b = r->facts->native_vlan;
			e->r = r;
			e->at = r->facts->at_att;
		} else if (r->kind->id == KIND_EXTERNALATTACHMENT) {
			e = push(&ext);
			e->ns = r->facts->conn_name;
			e->a = r->facts->vlan;
			e->r = r;
			e->at = r->facts->at_vlan;
		}
	}
	if (vpc.n > 1)
		qsort(vpc.v, vpc.n, sizeof(*vpc.v), item_cmp);
	for (size_t i = 1; i < vpc.n; i++) {
		const struct item *x = &vpc.v[i], *y = &vpc.v[i - 1];

		if (!strcmp(x->ns, y->ns) && x->a == y->a &&
		    !strcmp(x->r->facts->att_vpc, y->r->facts->att_vpc) &&
		    !strcmp(x->r->facts->att_subnet, y->r->facts->att_subnet))
			ffind(F, FND_VPCATTACH_DUPLICATE, x->r, x->at,
			      "subnet %s/%s is already attached to Connection %s by VPCAttachment %s",
			      x->r->facts->att_vpc, x->r->facts->att_subnet, q(x->ns, b1, sizeof(b1)),
			      y->r->name);
	}
	/* native VLAN: at most one per connection */
	for (size_t i = 0; i < vpc.n;) {
		size_t j = i;
		const struct item *first = NULL;

		while (j < vpc.n && !strcmp(vpc.v[j].ns, vpc.v[i].ns))
			j++;
		for (size_t k = i; k < j; k++) {
			if (!vpc.v[k].r->facts->native_vlan)
				continue;
			if (!first)
				first = &vpc.v[k];
			else
				ffind(F, FND_VPCATTACH_NATIVE_VLAN, vpc.v[k].r,
				      vpc.v[k].r->facts->at_native,
				      "Connection %s already has a native-VLAN attachment, %s",
				      q(vpc.v[k].ns, b1, sizeof(b1)), q(first->r->name, b2, sizeof(b2)));
		}
		i = j;
	}
	if (ext.n > 1)
		qsort(ext.v, ext.n, sizeof(*ext.v), item_cmp);
	for (size_t i = 1; i < ext.n; i++) {
		const struct item *x = &ext.v[i], *y = &ext.v[i - 1];

		if (!strcmp(x->ns, y->ns) && x->a == y->a)
			ffind(F, FND_EXTATTACH_VLAN_CONFLICT, x->r, x->at,
			      "Connection %s already has an external attachment on VLAN %llu (%s)",
			      q(x->ns, b1, sizeof(b1)), (unsigned long long)x->a, y->r->name);
	}
	free(vpc.v);
	free(ext.v);
}

static int is_leaf_role(const char *role)
{
	return role && (!strcmp(role, "server-leaf") || !strcmp(role, "border-leaf") ||
			!strcmp(role, "mixed-leaf"));
}

static void check_connection(struct fab *F, const struct val_res *r)
{
	const struct val_facts *f = r->facts;
	const char *group = NULL;
	int eslag_ok = 1, known = 1;
	char b1[80];

	for (uint32_t i = 0; i < f->nports; i++) {
		const struct v_port *p = &f->ports[i];
		const struct val_res *sw;

		if (p->dev != DEV_SWITCH)
			continue;
		sw = lookup(F, KIND_SWITCH, p->device);
		if (!sw) {
			known = 0;
			continue;
		}
		if (sw->facts->role) {
			if (p->end == END_SPINE && strcmp(sw->facts->role, "spine"))
				ffind(F, FND_CONN_SWITCH_ROLE, r, p->at,
				      "the spine end is on %s, whose role is %s", sw->name, sw->facts->role);
			else if (p->end == END_LEAF && !is_leaf_role(sw->facts->role) &&
				 strcmp(sw->facts->role, "virtual-edge"))
				ffind(F, FND_CONN_SWITCH_ROLE, r, p->at,
				      "this end needs a leaf but %s has role %s", sw->name, sw->facts->role);
		}
		if (f->conn == CONN_ESLAG) {
			if (!sw->facts->rgroup || !sw->facts->rtype || strcmp(sw->facts->rtype, "eslag"))
				eslag_ok = 0;
			else if (!group)
				group = sw->facts->rgroup;
			else if (strcmp(group, sw->facts->rgroup))
				eslag_ok = 0;
		}
	}
	if (f->conn == CONN_ESLAG && known && !eslag_ok)
		ffind(F, FND_ESLAG_REDUNDANCY, r, hy_get(hy_get(r->root, "spec"), "eslag"),
		      "the switches of ESLAG connection %s must all be in one redundancy group of type eslag",
		      q(r->name, b1, sizeof(b1)));
}

static void check_peerings(struct fab *F, const struct val_res *r)
{
	const struct val_facts *f = r->facts;
	char b1[80], b2[80];

	if (r->kind->id == KIND_VPCPEERING && f->npeer == 2) {
		const struct val_res *a = lookup(F, KIND_VPC, f->peer[0]);
		const struct val_res *b = lookup(F, KIND_VPC, f->peer[1]);

		if (!a || !b)
			return;
		if (strcmp(a->facts->ipv4ns, b->facts->ipv4ns))
			ffind(F, FND_PEERING_NAMESPACE, r, f->at_peer[1],
			      "VPC %s is in IPv4Namespace %s but VPC %s is in %s", a->name,
			      q(a->facts->ipv4ns, b1, sizeof(b1)), b->name,
			      q(b->facts->ipv4ns, b2, sizeof(b2)));
		else if (strcmp(a->facts->vlanns, b->facts->vlanns))
			ffind(F, FND_PEERING_NAMESPACE, r, f->at_peer[1],
			      "VPC %s is in VLANNamespace %s but VPC %s is in %s", a->name,
			      q(a->facts->vlanns, b1, sizeof(b1)), b->name,
			      q(b->facts->vlanns, b2, sizeof(b2)));
	} else if (r->kind->id == KIND_EXTERNALPEERING && f->npeer == 1 && f->peer_ext) {
		const struct val_res *a = lookup(F, KIND_VPC, f->peer[0]);
		const struct val_res *e = lookup(F, KIND_EXTERNAL, f->peer_ext);

		if (a && e && strcmp(a->facts->ipv4ns, e->facts->ipv4ns))
			ffind(F, FND_PEERING_NAMESPACE, r, f->at_peer_ext,
			      "VPC %s is in IPv4Namespace %s but External %s is in %s", a->name,
			      q(a->facts->ipv4ns, b1, sizeof(b1)), e->name,
			      q(e->facts->ipv4ns, b2, sizeof(b2)));
	}
}

static int range_cmp(const void *a, const void *b)
{
	const struct v_range *x = a, *y = b;

	return x->from < y->from ? -1 : x->from > y->from;
}

static void check_switch(struct fab *F, const struct val_res *r)
{
	const struct val_facts *f = r->facts;
	struct v_range *v = NULL;
	size_t n = 0, alloc = 0, namespaces = 0;

	for (uint32_t i = 0; i < f->nrefs; i++) {
		const struct val_res *ns;

		if (f->refs[i].kind != KIND_VLANNAMESPACE)
			continue;
		namespaces++;
		ns = lookup(F, KIND_VLANNAMESPACE, f->refs[i].name);
		if (!ns)
			continue;
		for (uint32_t k = 0; k < ns->facts->nranges; k++) {
			if (n == alloc) {
				alloc = alloc ? alloc * 2 : 16;
				v = hs_realloc(v, alloc * sizeof(*v));
			}
			v[n] = ns->facts->ranges[k];
			v[n].at = f->refs[i].at;
			n++;
		}
	}
	if (namespaces > 1 && n > 1) {
		qsort(v, n, sizeof(*v), range_cmp);
		for (size_t i = 1, best = 0; i < n; i++) {
			if (v[i].from <= v[best].to && v[i].at != v[best].at) {
				ffind(F, FND_SWITCH_VLANNS_OVERLAP, r, v[i].at,
				      "the VLANNamespaces of this switch overlap (VLANs %u-%u and %u-%u)",
				      v[best].from, v[best].to, v[i].from, v[i].to);
				break;
			}
			if (v[i].to > v[best].to)
				best = i;
		}
	}
	free(v);
}

void val_fabric(struct val_res *const *res, size_t n, const struct val_opts *o,
		struct fnd_list *fl)
{
	static const struct val_opts defo = VAL_OPTS_DEFAULT;
	struct arena *scratch = arena_new();
	struct fab F;

	memset(&F, 0, sizeof(F));
	F.res = res;
	F.n = n;
	F.o = o ? o : &defo;
	F.fl = fl;
	build_index(&F);
	for (size_t i = 0; i < n; i++) {
		const struct val_res *r = res[i];

		if (!usable(r))
			continue;
		check_refs(&F, r);
		switch (r->kind->id) {
		case KIND_VPC:
			check_vpc_namespaces(&F, r);
			break;
		case KIND_CONNECTION:
			check_connection(&F, r);
			break;
		case KIND_VPCPEERING:
		case KIND_EXTERNALPEERING:
			check_peerings(&F, r);
			break;
		case KIND_SWITCH:
			check_switch(&F, r);
			break;
		default:
			break;
		}
	}
	check_subnet_conflicts(&F);
	check_vlan_conflicts(&F);
	check_port_conflicts(&F, scratch);
	check_attachments(&F);
	fnd_resolve_paths(fl);
	free(F.slots);
	free(F.hashes);
	free(F.dup);
	arena_free(scratch);
}
