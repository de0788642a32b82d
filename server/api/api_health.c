/* SPDX-License-Identifier: MIT */
/* api_health.c: /healthz, /readyz, /v1/whoami. */
#include <jansson.h>
#include <stdlib.h>

#include "api.h"
#include "render.h"
#include "roles.h"
#include "request.h"
#include "stats.h"
#include "store.h"

int api_healthz(struct api *api, struct request *rq, struct response *rs)
{
    (void)api;
    (void)rq;
    return reply_json(rs, 200, json_pack("{s:s}", "status", "ok"));
}

int api_readyz(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";

    (void)rq;
    if (store_ready(api->store, msg) != CG_OK) {
        reply_error(rs, 503, "unavailable", NULL, "store not ready: %s", msg);
        reply_header(rs, "Retry-After", "1");
        return 0;
    }
    return reply_json(rs, 200, json_pack("{s:s}", "status", "ready"));
}

int api_whoami(struct api *api, struct request *rq, struct response *rs)
{
    json_t *j =
        json_pack("{s:s,s:s,s:s,s:I}", "name", rq->who.name, "role", role_name(rq->who.role),
                  "cell", rq->who.cell, "token_id", (json_int_t)rq->who.token_id);

    (void)api;
    if (j) {
        json_object_set_new(j, "expires_at", render_time(rq->who.expires_ms));
        json_object_set_new(j, "configs", render_scope(rq->who.configs));
    }
    if (j && rq->who.host[0]) /* an agent authenticated by its client certificate */
        json_object_set_new(j, "host", json_string(rq->who.host));
    return reply_json(rs, 200, j);
}

int api_metrics(struct api *api, struct request *rq, struct response *rs)
{
    size_t len = 0;
    char *text = stats_render(api->stats, &len);

    (void)rq;
    if (!text) {
        reply_error(rs, 503, "unavailable", NULL, "out of memory");
        return 0;
    }
    reply_bytes(rs, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
    return 0;
}
