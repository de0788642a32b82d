/* SPDX-License-Identifier: MIT */
/*
 * test_checkpointer.c: the server's audit checkpoints (server/ops/
 * checkpointer.h) on a real SQLite store: what a round signs and where it
 * keeps it, and what the start check does with a log cut short or
 * rewritten behind the server's back, with a torn or edited checkpoint
 * file.
 */
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "audit.h"
#include "checkpoint.h"
#include "checkpointer.h"
#include "sign.h"
#include "store.h"
#include "util.h"

struct fx {
    char *dir;
    char db[600], file[600];
    struct store *st;
    struct cg_signkey *key;
    struct cg_pubkey pub;
    int ncells;
};

static const struct store_actor ADMIN = {"admin", ""};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char path[600], msg[STORE_MSG_MAX];

    assert_non_null(f);
    f->dir = th_tmpdir();
    snprintf(f->db, sizeof f->db, "%s/cellgate.db", f->dir);
    snprintf(f->file, sizeof f->file, "%s/%s", f->dir, CHECKPOINTER_FILE);
    snprintf(path, sizeof path, "%s/signing.key", f->dir);
    assert_int_equal(cg_signkey_create(path, msg, sizeof msg), CG_OK);
    assert_int_equal(cg_signkey_load(path, &f->key, msg, sizeof msg), CG_OK);
    cg_signkey_public(f->key, &f->pub);
    assert_int_equal(store_open(f->db, &f->st, msg), CG_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    store_close(f->st);
    cg_signkey_free(f->key);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* n audited mutations (cells). */
static void mutate(struct fx *f, int n)
{
    char msg[STORE_MSG_MAX];

    for (int i = 0; i < n; i++) {
        struct store_cell c = {0};
        snprintf(c.id, sizeof c.id, "c%d", f->ncells++);
        cg_strlcpy(c.region, "r", sizeof c.region);
        cg_strlcpy(c.zone, "z", sizeof c.zone);
        c.labels_json = "{}";
        assert_int_equal(store_cell_add(f->st, &c, &ADMIN, msg), CG_OK);
    }
}

static struct checkpointer *new_ck(struct fx *f, int accept)
{
    struct checkpointer_config cfg = {f->file, 0, accept};
    char msg[STORE_MSG_MAX];
    struct checkpointer *ck = checkpointer_new(f->st, f->key, &cfg, msg);

    assert_non_null(ck);
    return ck;
}

/* The newest record: its seq and hash. */
static int64_t head(struct fx *f, char hash[65])
{
    int64_t seq = 0;
    char msg[STORE_MSG_MAX];

    for (;;) {
        struct store_audit *a = NULL;
        size_t n = 0;
        assert_int_equal(store_audit_list(f->st, seq, 1000, &a, &n, msg), CG_OK);
        if (n > 0) {
            seq = a[n - 1].seq;
            cg_strlcpy(hash, a[n - 1].hash, 65);
        }
        store_audits_free(a, n);
        if (n < 1000)
            return seq;
    }
}

/* The lines of the checkpoint file, verified; returns how many. */
static int file_lines(struct fx *f, struct cg_checkpoint *last)
{
    size_t len = 0;
    char *text = cg_read_file(f->file, 1 << 20, &len), *p, *nl;
    int n = 0;

    if (!text)
        return 0;
    for (p = text; (nl = strchr(p, '\n')); p = nl + 1) {
        char msg[160];
        assert_int_equal(cg_checkpoint_parse_line(p, (size_t)(nl - p), last, msg, sizeof msg),
                         CG_OK);
        assert_int_equal(cg_checkpoint_verify(last, &f->pub, 1, msg, sizeof msg), CG_OK);
        n++;
    }
    free(text);
    return n;
}

/* Runs SQL on the database behind the store (triggers dropped first). */
static void raw(struct fx *f, const char *sql)
{
    sqlite3 *db;

    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF "
                                  "EXISTS audit_no_delete",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* A round signs the head only when it moved, and keeps the checkpoint in
 * the file, the store and memory; nothing it writes is audited. */
static void round_signs_head_into_file_and_store(void **state)
{
    struct fx *f = *state;
    struct checkpointer *ck;
    struct cg_checkpoint last, stored;
    char msg[256], hash[65];
    int64_t seq;

    mutate(f, 3);
    ck = new_ck(f, 0);
    assert_int_equal(checkpointer_last(ck, &last), 0);
    assert_int_equal(checkpointer_open(ck, msg, sizeof msg), 0); /* signs at start */
    seq = head(f, hash);
    assert_int_equal(seq, 3);
    assert_int_equal(checkpointer_last(ck, &last), 1);
    assert_int_equal(last.seq, 3);
    assert_string_equal(last.hash, hash);
    assert_int_equal(checkpointer_round(ck), 0); /* the head has not moved */
    mutate(f, 2);
    assert_int_equal(checkpointer_round(ck), 1);
    assert_int_equal(head(f, hash), 5); /* no audit record for the checkpoints */
    assert_int_equal(file_lines(f, &last), 2);
    assert_int_equal(last.seq, 5);
    assert_string_equal(last.hash, hash);
    assert_int_equal(store_checkpoint_last(f->st, &stored, msg), CG_OK);
    assert_memory_equal(&stored, &last, sizeof last);
    mutate(f, 1);
    checkpointer_stop(ck); /* a clean stop signs the final head */
    assert_int_equal(file_lines(f, &last), 3);
    assert_int_equal(last.seq, 6);
    checkpointer_free(ck);
}

/* Records deleted from the end: the round refuses to sign over them, and
 * the next start is refused until an operator accepts it (audited). */
static void start_refused_after_truncation(void **state)
{
    struct fx *f = *state;
    struct checkpointer *ck;
    struct cg_checkpoint last;
    struct store_audit *a = NULL;
    char msg[256], hash[65];
    size_t n = 0;

    mutate(f, 4);
    ck = new_ck(f, 0);
    assert_int_equal(checkpointer_open(ck, msg, sizeof msg), 0);
    raw(f, "DELETE FROM audit WHERE seq > 2");
    assert_int_equal(checkpointer_round(ck), -1); /* the running server notices */
    mutate(f, 3);                                 /* the chain grows past seq 4 again */
    assert_int_equal(checkpointer_round(ck), -1); /* ...but is not the one signed */
    checkpointer_stop(ck);
    checkpointer_free(ck);
    assert_int_equal(file_lines(f, &last), 1);
    assert_int_equal(last.seq, 4);

    ck = new_ck(f, 0);
    assert_int_equal(checkpointer_open(ck, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "seq 4"));
    assert_non_null(strstr(msg, "--accept-audit-rewrite"));
    checkpointer_free(ck);

    ck = new_ck(f, 1);
    assert_int_equal(checkpointer_open(ck, msg, sizeof msg), 0);
    assert_int_equal(head(f, hash), 6); /* 2 kept + 3 new + the acceptance */
    assert_int_equal(store_audit_list(f->st, 5, 1, &a, &n, msg), CG_OK);
    assert_int_equal(n, 1);
    assert_string_equal(a[0].action, "audit.rewrite_accepted");
    assert_non_null(strstr(a[0].before, "\"seq\":4"));
    store_audits_free(a, n);
    assert_int_equal(checkpointer_last(ck, &last), 1);
    assert_int_equal(last.seq, 6); /* signed anew over the accepted chain */
    assert_string_equal(last.hash, hash);
    assert_int_equal(file_lines(f, &last), 2); /* the old line stays */
    checkpointer_free(ck);

    ck = new_ck(f, 0); /* and the next start is a normal one */
    assert_int_equal(checkpointer_open(ck, msg, sizeof msg), 0);
    checkpointer_free(ck);
}

/* A record edited and the whole chain recomputed: a valid chain, but not
 * the one the checkpoint signed. Refused at start; the store's
 * checkpoint alone (the file gone) is enough. */
static void start_refused_after_rewrite(void **state)
{
    struct fx *f = *state;
    struct checkpointer *ck;
    char msg[256], prev[65] = CG_AUDIT_GENESIS;
    struct store_audit *a = NULL;
    size_t n = 0;
    sqlite3 *db;

    mutate(f, 4);
    ck = new_ck(f, 0);
    assert_int_equal(checkpointer_open(ck, msg, sizeof msg), 0);
    checkpointer_free(ck);
    /* rewrite: record 2's actor, then every hash after it */
    raw(f, "UPDATE audit SET actor = 'mallory' WHERE seq = 2");
    assert_int_equal(store_audit_list(f->st, 0, 100, &a, &n, msg), CG_OK);
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    for (size_t i = 0; i < n; i++) {
        char h[65], sql[300];
        struct cg_audit_fields fl = {prev,        a[i].seq,    a[i].time_ms,
                                     a[i].actor,  a[i].action, a[i].object,
                                     a[i].before, a[i].after,  a[i].reason};
        cg_audit_hash(&fl, h);
        snprintf(sql, sizeof sql, "UPDATE audit SET prev_hash = '%s', hash = '%s' WHERE seq = %lld",
                 prev, h, (long long)a[i].seq);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        memcpy(prev, h, sizeof prev);
    }
    sqlite3_close(db);
    store_audits_free(a, n);
    assert_int_equal(store_audit_verify(f->st, NULL, NULL, msg), CG_OK); /* the chain is valid */

    ck = new_ck(f, 0);
    assert_int_equal(checkpointer_open(ck, msg, sizeof msg), -1);
    checkpointer_free(ck);
    assert_int_equal(unlink(f->file), 0); /* the file gone: the store still says so */
    ck = new_ck(f, 0);
    assert_int_equal(checkpointer_open(ck, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "seq 4"));
    checkpointer_free(ck);
}

/* A crash mid-append leaves a torn last line: dropped at start (the
 * previous checkpoint counts). An edited last line is refused. */
static void torn_and_edited_file_lines(void **state)
{
    struct fx *f = *state;
    struct checkpointer *ck;
    struct cg_checkpoint last;
    char msg[256];
    FILE *fp;

    mutate(f, 2);
    ck = new_ck(f, 0);
    assert_int_equal(checkpointer_open(ck, msg, sizeof msg), 0);
    checkpointer_free(ck);
    fp = fopen(f->file, "a");
    assert_non_null(fp);
    fputs("{\"hash\":\"0123", fp); /* torn */
    fclose(fp);
    ck = new_ck(f, 0);
    assert_int_equal(checkpointer_open(ck, msg, sizeof msg), 0);
    checkpointer_free(ck);
    assert_int_equal(file_lines(f, &last), 1); /* the fragment is gone */
    assert_int_equal(last.seq, 2);

    fp = fopen(f->file, "a");
    assert_non_null(fp);
    fputs("{\"edited\":true}\n", fp);
    fclose(fp);
    ck = new_ck(f, 0);
    assert_int_equal(checkpointer_open(ck, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "not a checkpoint"));
    checkpointer_free(ck);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(round_signs_head_into_file_and_store),
        T(start_refused_after_truncation),
        T(start_refused_after_rewrite),
        T(torn_and_edited_file_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
