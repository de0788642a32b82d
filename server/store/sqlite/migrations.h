/* SPDX-License-Identifier: MIT */
/* migrations.h: SQL migrations embedded at build time from migrations/. */
#ifndef CG_MIGRATIONS_H
#define CG_MIGRATIONS_H

#include <stddef.h>

struct cg_migration {
    const char *name; /* file name, e.g. "0001_init.sql"; NULL ends the table */
    const char *sql;
};

extern const struct cg_migration cg_migrations[];
extern const size_t cg_migrations_count;

#endif /* CG_MIGRATIONS_H */
