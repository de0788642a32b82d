/* SPDX-License-Identifier: MIT */
/*
 * testhelp.h: test-only helpers shared by the unit tests.
 *
 * Include order for cmocka: <setjmp.h>, <stdarg.h>, <stddef.h> before
 * <cmocka.h>; this header does it for you.
 */
#ifndef CG_TESTHELP_H
#define CG_TESTHELP_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Creates a fresh temporary directory under $TMPDIR (or /tmp) and returns
 * its path in a malloc'd string the caller frees. Never NULL: aborts the
 * test on failure. */
char *th_tmpdir(void);

/* Removes 'path' and everything below it. Ignores errors. */
void th_rmrf(const char *path);

/* Reads the whole file 'path' into a malloc'd, NUL-terminated buffer and
 * stores its length in *len (may be NULL). Returns NULL if it cannot. */
char *th_read_file(const char *path, size_t *len);

/* Returns the tests/data directory (from CG_TEST_DATA). Static string. */
const char *th_data_dir(void);

#endif /* CG_TESTHELP_H */
