/* blobcache.h: the GitHub client's blob cache, kept in hedgesync's database.
 *
 * GitHub clients are one per thread, and so are store connections: a
 * worker fills the cache struct with its own connection and hands it to its
 * own client, so the callbacks never share a connection between threads.
 */
#ifndef SYNC_BLOBCACHE_H
#define SYNC_BLOBCACHE_H

#include "github/gh.h"

struct store;

/* Point c at store (borrowed; must outlive the client using c). */
void blobcache_init(struct gh_blob_cache *c, struct store *store);

#endif
