/* SPDX-License-Identifier: MIT */
/*
 * watch_config.c - an application that follows its own config in-process
 * with libcellgate's watcher (docs/libcellgate/watch.md).
 *
 *   watch_config SERVER TOKEN CELL PUBKEY_HEX CONFIG [SECONDS]
 *
 * The watcher thread verifies every new generation (signature, cell,
 * expiry, generation, sha256, contract) and calls on_apply(); the "hot
 * path" below only ever reads the current good document, which never
 * blocks on the network.
 */
#include <cellgate/cellgate.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Called on the watcher's thread with a verified, contract-checked
 * document. Return CG_OK to make it the last-known-good. */
static int on_apply(void *ud, const struct cg_watch_doc *doc, char *why, size_t whylen)
{
    (void)ud;
    if (doc->len == 0) {
        snprintf(why, whylen, "empty document");
        return CG_ERR_VIOLATION; /* refuse: outcome "rejected" */
    }
    printf("config %s: now on version %lld (generation %lld, %zu bytes)\n", doc->config,
           (long long)doc->version, (long long)doc->generation, doc->len);
    return CG_OK;
}

int main(int argc, char **argv)
{
    struct cg_client *c = NULL;
    struct cg_watch *w = NULL;
    struct cg_error err;
    struct cg_watch_options o = {.size = sizeof o};
    const char *keys[1], *configs[1];
    int seconds = argc > 6 ? atoi(argv[6]) : 30;

    if (argc < 6) {
        fprintf(stderr, "usage: %s SERVER TOKEN CELL PUBKEY_HEX CONFIG [SECONDS]\n", argv[0]);
        return 2;
    }
    if (cg_library_init(&err) != CG_OK || cg_client_new(argv[1], &c, &err) != CG_OK ||
        cg_client_set_token(c, argv[2], &err) != CG_OK) {
        fprintf(stderr, "setup: %s\n", err.message);
        cg_client_free(c);
        return 2;
    }
    keys[0] = argv[4];
    configs[0] = argv[5];
    o.cell = argv[3];
    o.pubkeys = keys;
    o.npubkeys = 1;
    o.configs = configs;
    o.nconfigs = 1;
    o.apply = on_apply;
    o.wait_s = 30;
    if (cg_watch_new(&c, 1, &o, &w, &err) != CG_OK || cg_watch_start(w, &err) != CG_OK) {
        fprintf(stderr, "watch: %s\n", err.message);
        cg_watch_free(w);
        cg_client_free(c);
        cg_library_cleanup();
        return 2;
    }
    for (int i = 0; i < seconds; i++) {
        void *bytes = NULL;
        size_t len = 0;
        int64_t version = 0;
        struct cg_watch_status st = {.size = sizeof st};

        /* the hot path: a copy of the current good document, or nothing yet */
        if (cg_watch_current(w, configs[0], &bytes, &len, &version, NULL) == CG_OK) {
            /* ... use bytes/len ... */
            cg_free(bytes);
        }
        if (cg_watch_status(w, configs[0], &st, NULL) == CG_OK && st.outcome != CG_WATCH_NONE &&
            st.outcome != CG_WATCH_APPLIED) {
            printf("config %s: running version %lld; latest offer %s (%s)\n", configs[0],
                   (long long)st.lkg_version, cg_watch_outcome_str(st.outcome), st.error);
        }
        sleep(1);
    }
    cg_watch_free(w); /* stops the thread */
    cg_client_free(c);
    cg_library_cleanup();
    return 0;
}
