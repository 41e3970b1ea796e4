/* netbox.h: one NetBox event-rule webhook body as a change to a resource.
 *
 * NetBox sends the default webhook body (no body template) of an event
 * rule; its shape changed over the versions, and all of these are read:
 *
 *   <= 4.3  {event, timestamp, model, username, request_id, data, snapshots}
 *           model is the bare Django model name ("vpc")
 *   4.4     adds object_type, "app_label.model" ("netbox_hedgehog.vpc")
 *   4.5     drops model
 *   4.6     adds request {id, method, path, user}
 *   4.7     drops username and request_id; the user is request.user
 *
 * event is "created", "updated" or "deleted" (the "object_" spellings of a
 * templated body are taken too); other events (job_started, job_ended, ...)
 * are ignored.  Objects of the NetBox Hedgehog plugin (app label
 * netbox_hedgehog) whose model is one of the twelve managed kinds (vpc,
 * connection, switchgroup, ... matched ignoring case) become changes; other
 * plugin models (hedgehogfabric, ...) and objects of other apps (dcim.site)
 * are ignored.  A body with only "model" is taken when the model names a
 * managed kind.
 *
 * data is the object's REST representation: name, namespace (default
 * "default"), spec, optional labels and annotations, and fabric as a nested
 * object with a name, a bare id or a name.  snapshots.prechange, when it is
 * an object with a name, is the object before the edit and becomes the
 * merge base.
 *
 * The body is untrusted: types are checked, strings capped (names 253
 * bytes, namespace and fabric 63, user 150) and names, namespaces and
 * fabrics must be safe as file and branch name parts (no '/', '\', NUL,
 * space or control characters, not "." or "..").  The Kubernetes naming
 * rules themselves are left to the validator.
 *
 * Thread-safe; no global state.
 */
#ifndef HS_NETBOX_H
#define HS_NETBOX_H

#include <jansson.h>

#include "sync/kinds.h"

#define NB_NAME_MAX 253
#define NB_NAMESPACE_MAX 63
#define NB_FABRIC_MAX 63
#define NB_USER_MAX 150

enum nb_action {
	NB_IGNORE, /* acknowledged, nothing to do; reason says why */
	NB_APPLY,  /* created or updated: write resource */
	NB_DELETE, /* deleted: remove the resource (as it was: resource) */
};

/* For NB_IGNORE only action and reason are set; every pointer is NULL. */
struct nb_change {
	enum nb_action action;
	const struct kind_info *kind; /* borrowed (the catalog); NULL when ignored */
	char *user;       /* new: request.user, else username, else "netbox" */
	char *fabric;     /* new: data.fabric's name, else the hint */
	char *name;       /* new: metadata.name */
	json_t *resource; /* new: {apiVersion, kind, metadata: {name, namespace,
			   * labels?, annotations?}, spec} built from data;
			   * labels and annotations only when non-empty, spec {}
			   * when data has none */
	json_t *base;     /* new or NULL: the same built from snapshots.prechange
			   * (NetBox's version before this edit, a merge base) */
	char reason[128]; /* why ignored; "" otherwise */
};

/* Read one webhook body.  body: borrowed.  fabric_hint: borrowed, may be
 * NULL: the fabric named by the webhook URL (?fabric=), used when data.fabric
 * carries no name (a bare id, null or missing).
 *
 * HS_OK with *c filled (NB_IGNORE included).  HS_EINVAL, with a message
 * naming the field in err ("data.name: expected a string"), when the body is
 * not such an event: not an object, event missing, object_type and model
 * both missing or disagreeing, data not an object, a Hedgehog object
 * without a usable name, spec, labels or annotations not objects (label and
 * annotation values not strings), no fabric known, a string over its cap;
 * *c is then empty (NB_IGNORE, nothing to release).  c is overwritten
 * without being released first. */
int nb_parse(const json_t *body, const char *fabric_hint, struct nb_change *c, char *err);

/* Free what c holds and leave it empty (NB_IGNORE).  Accepts NULL; may be
 * called twice. */
void nb_change_release(struct nb_change *c);

#endif
