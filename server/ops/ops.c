/* SPDX-License-Identifier: MIT */
/* ops.c: errors and actors of the operations; see ops.h. */
#include "ops.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ops_err_free(struct ops_err *e)
{
    if (!e)
        return;
    json_decref(e->details);
    memset(e, 0, sizeof *e);
}

int ops_fail(struct ops_err *e, int status, const char *code, json_t *details, const char *fmt, ...)
{
    va_list ap;

    json_decref(e->details);
    e->status = status;
    e->code = code;
    e->details = details;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return status;
}

int ops_store_fail(struct ops_err *e, int rc, const char *msg, const char *what)
{
    const char *m = msg && *msg ? msg : NULL;

    switch (rc) {
    case CG_ERR_NOTFOUND:
        return ops_fail(e, rc, NULL, NULL, "%s", m ? m : what);
    case CG_ERR_CONFLICT:
        return ops_fail(e, rc, NULL, NULL, "%s", m ? m : "conflict");
    case CG_ERR_INVALID:
        return ops_fail(e, rc, NULL, NULL, "%s", m ? m : "invalid");
    case CG_ERR_NOMEM:
        return ops_fail(e, rc, NULL, NULL, "out of memory");
    default:
        return ops_fail(e, CG_ERR_IO, NULL, NULL, "store: %s", m ? m : "failure");
    }
}

struct store_actor ops_store_actor(const struct ops_actor *who)
{
    struct store_actor a;

    a.actor = who && who->name && *who->name ? who->name : "anonymous";
    a.reason = who && who->reason ? who->reason : "";
    return a;
}
