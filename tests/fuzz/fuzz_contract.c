/* SPDX-License-Identifier: MIT */
/*
 * fuzz_contract.c - fuzz target: the contract engine (common/contract.c)
 * end to end, as the server runs it at publish and the agent before an
 * apply: parse and validate a contract (compiling its JSON Schema), prepare
 * a candidate and a live document, check the candidate against the
 * contract and the live one.
 *
 * Input: "<contract>\n%%\n<candidate>[\n%%\n<live>]" (see split.h).
 * Checked besides memory safety: a refused contract comes with at least
 * one error; the prepared and the one-shot checks give the same result;
 * every violation has all its strings; the violation list renders as JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "jsonschema.h"
#include "split.h"
#include "status.h"

/* Contracts may be 1 MiB and documents larger; 64 KiB is enough to fuzz. */
#define FUZZ_MAX_INPUT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_violations(const struct cg_violations *v)
{
    json_t *j;

    if (v->count > CG_VIOLATIONS_MAX) {
        abort();
    }
    for (size_t i = 0; i < v->count; i++) {
        const struct cg_violation *x = &v->items[i];
        if (!x->pointer || !x->rule || !x->expected || !x->actual || !x->message || !x->rule[0]) {
            abort();
        }
    }
    j = cg_violations_to_json(v);
    if (j && json_array_size(j) != v->count) {
        abort();
    }
    json_decref(j);
}

static void check_docs(const struct cg_contract *c, const struct fuzz_part *cand,
                       const struct fuzz_part *live)
{
    struct cg_doc *doc = NULL, *ldoc = NULL;
    struct cg_violations v1 = {0}, v2 = {0};
    int rc1, rc2;

    if (cg_doc_new(c, cand->data, cand->len, &doc) != CG_OK) {
        return;
    }
    if (cg_doc_size(doc) != cand->len) {
        abort();
    }
    (void)cg_doc_parsed(doc);
    if (live->data && cg_doc_new(c, live->data, live->len, &ldoc) != CG_OK) {
        cg_doc_free(doc);
        return;
    }
    rc1 = cg_contract_check_doc(c, doc, ldoc, &v1);
    rc2 = cg_contract_check(c, cand->data, cand->len, live->data, live->len, &v2);
    if (rc1 != CG_ERR_NOMEM && rc2 != CG_ERR_NOMEM &&
        (rc1 != rc2 || v1.count != v2.count || (rc1 == CG_OK) != (v1.count == 0))) {
        abort();
    }
    check_violations(&v1);
    cg_violations_free(&v1);
    cg_violations_free(&v2);
    cg_doc_free(ldoc);
    cg_doc_free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_part parts[3];
    struct cg_contract *c = NULL;
    struct cg_violations errs = {0};
    int rc;

    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    fuzz_split((const char *)data, size, parts, 3);
    rc = cg_contract_parse(parts[0].data, parts[0].len, &c, &errs);
    if (rc == CG_OK) {
        if (!c || errs.count) {
            abort();
        }
        (void)cg_contract_media_type(c);
        (void)cg_contract_is_json(c);
        (void)cg_contract_max_bytes(c);
        if (parts[1].data) {
            check_docs(c, &parts[1], &parts[2]);
        }
        cg_contract_free(c);
    } else if (rc == CG_ERR_INVALID) {
        if (c || errs.count == 0) {
            abort(); /* every problem is reported, so at least one */
        }
        check_violations(&errs);
    } else if (rc != CG_ERR_NOMEM) {
        abort();
    }
    cg_violations_free(&errs);
    return 0;
}
