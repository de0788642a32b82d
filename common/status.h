/* SPDX-License-Identifier: MIT */
/*
 * status.h: status codes used inside the daemons and common code.
 *
 * The same values as libcellgate's public enum cg_status (cellgate.h); this
 * header exists so common/ and server/ need not include the public header.
 * lib/status_check.c compares every value at build time.
 * 0 is success, errors are negative. Append only; never renumber.
 */
#ifndef CG_STATUS_H
#define CG_STATUS_H

#ifndef CG_OK
#define CG_OK            0
#define CG_ERR_NOMEM     (-1)  /* allocation failed */
#define CG_ERR_INVALID   (-2)  /* bad argument or input */
#define CG_ERR_IO        (-3)  /* network, file or store I/O failed */
#define CG_ERR_PROTOCOL  (-4)  /* peer sent something we cannot parse */
#define CG_ERR_HTTP      (-5)  /* server answered with a non-2xx status */
#define CG_ERR_NOTFOUND  (-6)  /* the object does not exist */
#define CG_ERR_CONFLICT  (-7)  /* exists / compare-and-set failed / referenced */
#define CG_ERR_AUTH      (-8)  /* missing or rejected credentials */
#define CG_ERR_VIOLATION (-9)  /* document violates its contract */
#define CG_ERR_FORBIDDEN (-10) /* authenticated but not allowed */
#define CG_ERR_TIMEOUT   (-11) /* a wait ran out */
#define CG_ERR_VERIFY    (-12) /* signature, hash or freshness check failed */
#endif

/* The most negative code; lib/status_check.c fails the build when this
 * header and enum cg_status disagree. */
#define CG_STATUS_LAST CG_ERR_VERIFY

#endif /* CG_STATUS_H */
