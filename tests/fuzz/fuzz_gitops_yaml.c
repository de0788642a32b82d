/* SPDX-License-Identifier: MIT */
/*
 * fuzz_gitops_yaml.c - fuzz target: the loader of `cellgate apply -f`
 * (cli/gitops_load.c): the bytes as a YAML file (libyaml's parser into
 * jansson values, with positions) and as a JSON file (the strict parser,
 * then the same text read as YAML for positions).
 *
 * Checked besides memory safety: a failure always leaves a message naming
 * the file and adds no document (YAML); every document has a root, and
 * every position recorded is at line >= 1 and column >= 1.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gitops.h"

#define FUZZ_MAX_INPUT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_docs(const struct gitops_docs *d)
{
    for (size_t i = 0; i < d->count; i++) {
        const struct gitops_doc *doc = &d->items[i];
        if (!doc->root || !doc->file || doc->pos.line < 1 || doc->pos.col < 1) {
            abort();
        }
        for (size_t j = 0; j < doc->nmarks; j++) {
            if (doc->marks[j].pos.line < 1 || doc->marks[j].pos.col < 1) {
                abort();
            }
        }
        struct gitops_pos p = gitops_doc_pos(doc, doc->root, "kind", 0);
        if (p.line < 1) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gitops_docs d = {0};
    char err[GITOPS_ERR_MAX];

    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    if (gitops_parse_yaml("f.yaml", (const char *)data, size, &d, err) != 0) {
        if (d.count != 0 || strncmp(err, "f.yaml", 6) != 0) {
            abort();
        }
    }
    check_docs(&d);
    gitops_docs_free(&d);
    if (gitops_parse_json("f.json", (const char *)data, size, &d, err) != 0) {
        if (strncmp(err, "f.json", 6) != 0) {
            abort();
        }
    }
    check_docs(&d);
    gitops_docs_free(&d);
    return 0;
}
