/* SPDX-License-Identifier: MIT */
/* api_cluster.c: GET /v1/cluster (docs/api/cluster.md). */
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "render.h"

int api_cluster_status(struct api *api, struct request *rq, struct response *rs)
{
    struct ops_err e = {0};
    struct ops_cluster c;
    json_t *o, *reps, *lease = json_null();
    int64_t now;

    (void)rq;
    if (ops_cluster_status(api->ops, &c, &e) != CG_OK) {
        reply_ops_error(rs, &e);
        ops_err_free(&e);
        return 0;
    }
    now = c.lease.now_ms;
    if (c.have_lease) {
        int live = c.lease.expires_ms > now;
        lease = json_pack("{s:s, s:I, s:o, s:I, s:I, s:b}", "holder", c.lease.holder, "term",
                          (json_int_t)c.lease.term, "acquired", render_time(c.lease.acquired_ms),
                          "age_ms", (json_int_t)(now - c.lease.acquired_ms), "expires_in_ms",
                          (json_int_t)(c.lease.expires_ms - now), "live", live);
    }
    reps = json_array();
    for (size_t i = 0; i < c.nreplicas; i++)
        json_array_append_new(reps, json_pack("{s:s, s:b}", "id", c.replicas[i], "leader",
                                              c.have_lease && c.lease.expires_ms > now &&
                                                  strcmp(c.replicas[i], c.lease.holder) == 0));
    o = json_pack("{s:s, s:o, s:I, s:o, s:o, s:{s:s, s:b, s:I, s:I, s:I, s:I, s:I}}", "replica",
                  c.self.replica_id, "leader",
                  c.have_lease && c.lease.expires_ms > now ? json_string(c.lease.holder)
                                                           : json_null(),
                  "term", (json_int_t)(c.have_lease ? c.lease.term : 0), "lease", lease, "replicas",
                  reps, "this", "id", c.self.replica_id, "is_leader", c.self.is_leader, "term",
                  (json_int_t)c.self.term, "last_ok_age_ms", (json_int_t)c.self.last_ok_age_ms,
                  "acquisitions", (json_int_t)c.self.acquisitions, "losses",
                  (json_int_t)c.self.losses, "errors", (json_int_t)c.self.errors);
    ops_cluster_free(&c);
    return reply_json(rs, 200, o);
}
