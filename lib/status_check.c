/* SPDX-License-Identifier: MIT */
/*
 * status_check.c: the build fails when the public status codes
 * (enum cg_status in cellgate.h) and the internal ones (common/status.h,
 * used by the server and common/ without the public header) disagree.
 *
 * The enum's values are captured first; status.h then defines its macros
 * (its #ifndef CG_OK sees no macro), and each pair is compared. No code.
 */
#include <cellgate/cellgate.h>

enum {
    PUB_OK = CG_OK,
    PUB_NOMEM = CG_ERR_NOMEM,
    PUB_INVALID = CG_ERR_INVALID,
    PUB_IO = CG_ERR_IO,
    PUB_PROTOCOL = CG_ERR_PROTOCOL,
    PUB_HTTP = CG_ERR_HTTP,
    PUB_NOTFOUND = CG_ERR_NOTFOUND,
    PUB_CONFLICT = CG_ERR_CONFLICT,
    PUB_AUTH = CG_ERR_AUTH,
    PUB_VIOLATION = CG_ERR_VIOLATION,
    PUB_FORBIDDEN = CG_ERR_FORBIDDEN,
    PUB_TIMEOUT = CG_ERR_TIMEOUT,
    PUB_VERIFY = CG_ERR_VERIFY,
};

#include "status.h"

_Static_assert(PUB_OK == CG_OK, "CG_OK differs between cellgate.h and status.h");
_Static_assert(PUB_NOMEM == CG_ERR_NOMEM, "CG_ERR_NOMEM differs");
_Static_assert(PUB_INVALID == CG_ERR_INVALID, "CG_ERR_INVALID differs");
_Static_assert(PUB_IO == CG_ERR_IO, "CG_ERR_IO differs");
_Static_assert(PUB_PROTOCOL == CG_ERR_PROTOCOL, "CG_ERR_PROTOCOL differs");
_Static_assert(PUB_HTTP == CG_ERR_HTTP, "CG_ERR_HTTP differs");
_Static_assert(PUB_NOTFOUND == CG_ERR_NOTFOUND, "CG_ERR_NOTFOUND differs");
_Static_assert(PUB_CONFLICT == CG_ERR_CONFLICT, "CG_ERR_CONFLICT differs");
_Static_assert(PUB_AUTH == CG_ERR_AUTH, "CG_ERR_AUTH differs");
_Static_assert(PUB_VIOLATION == CG_ERR_VIOLATION, "CG_ERR_VIOLATION differs");
_Static_assert(PUB_FORBIDDEN == CG_ERR_FORBIDDEN, "CG_ERR_FORBIDDEN differs");
_Static_assert(PUB_TIMEOUT == CG_ERR_TIMEOUT, "CG_ERR_TIMEOUT differs");
_Static_assert(PUB_VERIFY == CG_ERR_VERIFY, "CG_ERR_VERIFY differs");
_Static_assert(CG_STATUS_LAST == CG_ERR_VERIFY,
               "a code was added to status.h: add it to cellgate.h and here");

/* ISO C wants at least one declaration in a file. */
int cg_status_check_unit(void);
int cg_status_check_unit(void)
{
    return 0;
}
