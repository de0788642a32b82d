/* SPDX-License-Identifier: MIT */
/*
 * fuzz_agent_conf.c - fuzz target: the agent's config file parser
 * (agent/conf.c conf_parse(), the INI-like format of docs/agent.md), then
 * the final checks of conf_finish() and the Prometheus selectors the
 * [health] section names, as cellgate-agent does at start-up.
 *
 * conf_finish() would read token_file and pubkey_file paths; the target
 * clears them first so the fuzzer never opens files. Checked besides
 * memory safety: every string the parser stored is NUL-terminated within
 * its field and the counts stay within their arrays.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "promtext.h"
#include "status.h"

#define FUZZ_MAX_INPUT (64 * 1024) /* AGENT_CONF_MAX is 1 MiB; lines are at most 4 KiB */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

static void check_conf(const struct agent_conf *c)
{
    if (c->nservers > AGENT_MAX_SERVERS || c->npubkeys > AGENT_MAX_KEYS ||
        c->npubkey_files > AGENT_MAX_KEYS || c->nmetrics > AGENT_MAX_METRICS ||
        c->ncfgs > AGENT_MAX_CONFIGS) {
        abort();
    }
    if (!TERMINATED(c->token) || !TERMINATED(c->token_file) || !TERMINATED(c->cell) ||
        !TERMINATED(c->host) || !TERMINATED(c->state_dir) || !TERMINATED(c->prom_url) ||
        !TERMINATED(c->sel_requests) || !TERMINATED(c->sel_errors) || !TERMINATED(c->sel_latency)) {
        abort();
    }
    for (size_t i = 0; i < c->nservers; i++) {
        if (!TERMINATED(c->servers[i])) {
            abort();
        }
    }
    for (size_t i = 0; i < c->npubkeys; i++) {
        if (!TERMINATED(c->pubkeys[i])) {
            abort();
        }
    }
    for (size_t i = 0; i < c->nmetrics; i++) {
        if (!TERMINATED(c->metrics[i].name) || !TERMINATED(c->metrics[i].selector) ||
            !c->metrics[i].name[0]) {
            abort();
        }
    }
    for (size_t i = 0; i < c->ncfgs; i++) {
        const struct agent_cfg *k = &c->cfgs[i];
        if (!TERMINATED(k->name) || !TERMINATED(k->path) || !TERMINATED(k->reload) ||
            !TERMINATED(k->check) || !TERMINATED(k->contract_file) || k->mode > 07777 ||
            conf_find(c, k->name) != k) {
            abort(); /* names are unique, so conf_find() finds this one */
        }
    }
}

/* Parses one selector as report.c does at start-up. */
static void try_selector(const char *spec)
{
    struct cg_prom_selector *sel = NULL;
    char msg[256];

    if (!spec[0]) {
        return;
    }
    if (cg_prom_selector_parse(spec, &sel, msg, sizeof msg) == CG_OK) {
        cg_prom_selector_free(sel);
    } else if (sel) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct agent_conf *c;
    char msg[512];

    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    c = malloc(sizeof *c);
    if (!c) {
        return 0;
    }
    conf_init(c);
    msg[0] = '\0';
    if (conf_parse(c, (const char *)data, size, msg, sizeof msg) != 0) {
        if (!msg[0]) {
            abort(); /* every failure says why */
        }
        free(c);
        return 0;
    }
    check_conf(c);
    try_selector(c->sel_requests);
    try_selector(c->sel_errors);
    try_selector(c->sel_latency);
    for (size_t i = 0; i < c->nmetrics; i++) {
        try_selector(c->metrics[i].selector);
    }
    c->token_file[0] = '\0';
    c->npubkey_files = 0;
    if (conf_finish(c, msg, sizeof msg) != 0 && !msg[0]) {
        abort();
    }
    free(c);
    return 0;
}
