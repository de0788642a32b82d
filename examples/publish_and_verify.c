/* SPDX-License-Identifier: MIT */
/*
 * publish_and_verify.c - a complete libcellgate program: validate a
 * document, publish it when it is clean (printing every violation when it
 * is not), list the config's versions and verify the audit chain.
 *
 *   usage: example_publish_and_verify SERVER TOKEN CONFIG FILE
 *
 * Uses only <cellgate/cellgate.h>. Error handling follows the library's
 * rules: every call returns a status, struct cg_error carries the details,
 * every result is freed with cg_result_free().
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* Reads a whole file into a malloc'd buffer (at most 16 MiB). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0;

    *len = 0;
    if (!f) {
        return NULL;
    }
    for (;;) {
        if (*len == cap) {
            char *nb;
            if (cap >= 16u * 1024 * 1024) {
                free(buf);
                fclose(f);
                return NULL;
            }
            cap = cap ? cap * 2 : 4096;
            nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t n = fread(buf + *len, 1, cap - *len, f);
        if (n == 0) {
            break;
        }
        *len += n;
    }
    fclose(f);
    return buf;
}

static void print_violations(const struct cg_result *r)
{
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *v = cg_result_item(r, i);
        char expected[128], actual[128];
        printf("  %s %s: %s (expected %s, actual %s)\n", cg_obj_str(v, "pointer"),
               cg_obj_str(v, "rule"), cg_obj_str(v, "message"),
               cg_obj_text(v, "expected", expected, sizeof expected),
               cg_obj_text(v, "actual", actual, sizeof actual));
    }
}

/* Validates, then publishes; returns 0 on success. */
static int publish(struct cg_client *c, const char *config, const char *doc, size_t len)
{
    struct cg_result *r = NULL;
    struct cg_error err = {0};
    int rc = cg_config_validate(c, config, doc, len, NULL, &r, &err);

    if (rc != CG_OK) {
        fprintf(stderr, "validate: %s (%s)\n", err.message, cg_strerror(rc));
        return 1;
    }
    if (cg_result_count(r) > 0) {
        printf("%zu violations:\n", cg_result_count(r));
        print_violations(r);
        cg_result_free(r);
        return 1;
    }
    cg_result_free(r);

    rc = cg_config_publish(c, config, doc, len, "application/json", "published by example", &r,
                           &err);
    if (rc == CG_ERR_VIOLATION) { /* the contract changed in between */
        print_violations(r);
        cg_result_free(r);
        return 1;
    }
    if (rc != CG_OK) {
        fprintf(stderr, "publish: %s (HTTP %d, %s)\n", err.message, err.http_status, err.api_code);
        return 1;
    }
    printf("published %s version %" PRId64 " sha256 %s\n", config,
           cg_obj_int(cg_result_obj(r), "number", 0), cg_obj_str(cg_result_obj(r), "sha256"));
    cg_result_free(r);
    return 0;
}

static int list_versions(struct cg_client *c, const char *config)
{
    struct cg_result *r = NULL;
    struct cg_error err = {0};

    if (cg_versions_list(c, config, 0, 10, &r, &err) != CG_OK) {
        fprintf(stderr, "versions: %s\n", err.message);
        return 1;
    }
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *v = cg_result_item(r, i);
        printf("  v%" PRId64 "  %s  %s\n", cg_obj_int(v, "number", 0), cg_obj_str(v, "sha256"),
               cg_obj_str(v, "message"));
    }
    cg_result_free(r);
    return 0;
}

static int verify_audit(struct cg_client *c)
{
    struct cg_audit_report rep = CG_AUDIT_REPORT_INIT;
    struct cg_error err = {0};
    int rc = cg_audit_verify(c, &rep, &err);

    if (rc == CG_ERR_VERIFY) {
        printf("audit chain BROKEN at seq %" PRId64 ": %s\n", rep.bad_seq, rep.why);
        return 1;
    }
    if (rc != CG_OK) {
        fprintf(stderr, "audit: %s\n", err.message);
        return 1;
    }
    printf("audit chain OK: %" PRId64 " records\n", rep.records);
    return 0;
}

int main(int argc, char **argv)
{
    struct cg_client *c = NULL;
    struct cg_error err = {0};
    char *doc;
    size_t len;
    int failed = 0;

    if (argc != 5) {
        fprintf(stderr, "usage: %s SERVER TOKEN CONFIG FILE\n", argv[0]);
        return 2;
    }
    doc = slurp(argv[4], &len);
    if (!doc) {
        fprintf(stderr, "cannot read %s\n", argv[4]);
        return 2;
    }
    /* once per process, before any thread uses the library */
    if (cg_library_init(&err) != CG_OK) {
        fprintf(stderr, "%s\n", err.message);
        free(doc);
        return 3;
    }
    if (cg_client_new(argv[1], &c, &err) != CG_OK ||
        cg_client_set_token(c, argv[2], &err) != CG_OK) {
        fprintf(stderr, "client: %s\n", err.message);
        failed = 1;
    } else {
        cg_client_set_timeout_ms(c, 10000);
        cg_client_set_max_response(c, 8u * 1024 * 1024);
        failed |= publish(c, argv[3], doc, len);
        failed |= list_versions(c, argv[3]);
        failed |= verify_audit(c);
    }
    cg_client_free(c);
    cg_library_cleanup();
    free(doc);
    return failed;
}
