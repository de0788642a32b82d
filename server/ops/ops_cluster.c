/* SPDX-License-Identifier: MIT */
/* ops_cluster.c: the cluster's status (cellgate cluster status); see ops.h. */
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "ops.h"

int ops_cluster_status(struct ops *o, struct ops_cluster *out, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    int rc;

    memset(out, 0, sizeof *out);
    if (!o->cluster)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "this server runs no cluster member");
    cluster_status(o->cluster, &out->self);
    rc = store_lease_get(o->store, STORE_LEASE_CONTROLLER, &out->lease, msg);
    if (rc != CG_OK && rc != CG_ERR_NOTFOUND)
        return ops_store_fail(e, rc, msg, "lease");
    out->have_lease = rc == CG_OK;
    rc = cluster_replicas(o->cluster, &out->replicas, &out->nreplicas, msg);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "replicas");
    return CG_OK;
}

void ops_cluster_free(struct ops_cluster *c)
{
    if (!c)
        return;
    free(c->replicas);
    c->replicas = NULL;
    c->nreplicas = 0;
}
