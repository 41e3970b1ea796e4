/* blobcache.c: gh_blob_cache callbacks over the store's blobs table. */
#include "github/base/err.h"
#include "sync/blobcache.h"
#include "sync/store.h"

static int cache_get(void *ctx, const char *sha, char **data, size_t *len)
{
	int rc = store_blob_get(ctx, sha, data, len);

	return rc == HS_OK ? GH_OK : GH_ENOTFOUND;
}

static int cache_put(void *ctx, const char *sha, const char *data, size_t len)
{
	return store_blob_put(ctx, sha, data, len) == HS_OK ? GH_OK : GH_EINVAL;
}

static int cache_has(void *ctx, const char *sha)
{
	return store_blob_has(ctx, sha);
}

void blobcache_init(struct gh_blob_cache *c, struct store *store)
{
	c->ctx = store;
	c->get = cache_get;
	c->put = cache_put;
	c->has = cache_has;
}
