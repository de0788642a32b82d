/* SPDX-License-Identifier: MIT */
/* web_stubs.c: pages not written yet (replaced by their own files). */
#include "web_int.h"

int web_page_overview(struct web_ctx *x)
{
    struct html h;

    html_init(&h, 0);
    web_layout_begin(x, &h, "Overview");
    html_raw(&h, "<h1>Overview</h1>\n");
    web_layout_end(x, &h);
    web_page_send(x, 200, &h);
    return 0;
}

int web_page_configs(struct web_ctx *x)
{
    web_fail(x, 404, "not yet");
    return 0;
}

int web_page_config(struct web_ctx *x)
{
    web_fail(x, 404, "not yet");
    return 0;
}

int web_page_config_diff(struct web_ctx *x)
{
    web_fail(x, 404, "not yet");
    return 0;
}

int web_page_confirm(struct web_ctx *x)
{
    web_fail(x, 404, "not yet");
    return 0;
}

int web_page_act(struct web_ctx *x)
{
    web_fail(x, 404, "not yet");
    return 0;
}
