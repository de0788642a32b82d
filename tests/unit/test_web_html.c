/* SPDX-License-Identifier: MIT */
/*
 * test_web_html.c: the dashboard's HTML builder (server/web/html.c): text
 * and attributes escape & < > " ', html_printf() escapes every %s argument
 * and prints numbers as printf does, URLs are percent-encoded, a page
 * cannot grow past its limit; and the form decoder (web_urldecode()).
 */
#include "testhelp.h"

#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "web_int.h"

static const char *hostile = "<script>alert('x')</script> & \"q\"";
static const char *escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;";

static void text_is_escaped(void **state)
{
    struct html h;

    (void)state;
    html_init(&h, 0);
    html_text(&h, hostile);
    assert_string_equal(h.b.data, escaped);
    html_free(&h);
    html_init(&h, 0);
    html_raw(&h, "<a title=\"");
    html_attr(&h, hostile);
    html_raw(&h, "\">");
    html_text(&h, NULL);
    assert_string_equal(h.b.data, "<a title=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; "
                                  "&amp; &quot;q&quot;\">");
    html_free(&h);
}

static void printf_escapes_every_string(void **state)
{
    struct html h;

    (void)state;
    html_init(&h, 0);
    html_printf(&h, "<td>%s</td><td>%d|%lld|%zu|%.2f|%5s|%.3s</td>%%", hostile, -7,
                (long long)1234567890123, (size_t)42, 1.5, "a<", "<&>x");
    assert_string_equal(h.b.data, "<td>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
                                  "&quot;q&quot;</td><td>-7|1234567890123|42|1.50|a&lt;|"
                                  "&lt;&amp;&gt;</td>%");
    html_free(&h);
    html_init(&h, 0);
    html_printf(&h, "[%c][%u][%g]", '"', 3u, 0.25);
    assert_string_equal(h.b.data, "[&quot;][3][0.25]");
    html_free(&h);
}

static void urls_are_encoded(void **state)
{
    struct html h;

    (void)state;
    html_init(&h, 0);
    html_url(&h, "a b/c?d=<e>&f");
    assert_string_equal(h.b.data, "a%20b%2Fc%3Fd%3D%3Ce%3E%26f");
    html_free(&h);
}

static void pages_are_bounded(void **state)
{
    struct html h;
    char big[1024];

    (void)state;
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    html_init(&h, 0);
    for (int i = 0; i < 200; i++)
        html_text(&h, big);
    assert_true(html_failed(&h));
    assert_true(h.b.len <= WEB_PAGE_MAX);
    html_free(&h);
    html_init(&h, 16);
    html_text(&h, "<<<<"); /* 16 bytes: fits */
    assert_false(html_failed(&h));
    html_text(&h, "<");
    assert_true(html_failed(&h));
    html_free(&h);
}

static void escape_into_buffers(void **state)
{
    char out[64], small[6];

    (void)state;
    assert_int_equal(html_escape("a<b", out, sizeof out), 6);
    assert_string_equal(out, "a&lt;b");
    html_escape("ab<cd", small, sizeof small);
    assert_string_equal(small, "ab"); /* never half an entity */
}

static void form_values_decode(void **state)
{
    char a[] = "a+b%3Cc%3E%26%22", b[] = "bad%zz", c[] = "nul%00", d[] = "tab%09ok";

    (void)state;
    assert_int_equal(web_urldecode(a), 0);
    assert_string_equal(a, "a b<c>&\"");
    assert_int_equal(web_urldecode(b), -1);
    assert_int_equal(web_urldecode(c), -1);
    assert_int_equal(web_urldecode(d), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_is_escaped),     cmocka_unit_test(printf_escapes_every_string),
        cmocka_unit_test(urls_are_encoded),    cmocka_unit_test(pages_are_bounded),
        cmocka_unit_test(escape_into_buffers), cmocka_unit_test(form_values_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
