/* SPDX-License-Identifier: MIT */
/* web_json.c: see web_json.h. */
#include "web_json.h"

#include <string.h>

const char *wj_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : "";
}

int64_t wj_int(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_real(v))
        return (int64_t)json_real_value(v);
    return 0;
}

int wj_num(const json_t *o, const char *key, double *out)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_number(v))
        return 0;
    *out = json_number_value(v);
    return 1;
}

int wj_terminal(const char *state)
{
    static const char *const t[] = {"completed", "rolled_back", "aborted", "halted"};

    for (size_t i = 0; state && i < sizeof t / sizeof t[0]; i++)
        if (strcmp(state, t[i]) == 0)
            return 1;
    return 0;
}
