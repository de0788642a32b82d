/* SPDX-License-Identifier: MIT */
/*
 * ecmare.c: translation of ECMA-262 regular expressions (the dialect JSON
 * Schema's "pattern" and "patternProperties" use) into PCRE2 patterns:
 * Unicode-aware \s and \S, Unicode property names (\p{Letter},
 * \p{gc=Lu}, \p{Script=Greek}) and ECMA's "[]" / "[^]" classes. The rest
 * of the syntax PCRE2 reads as ECMA does, given the options listed at
 * js_ecma_to_pcre() in jsonschema_int.h.
 */
#include "jsonschema_int.h"

#include <string.h>

#include "buf.h"

/* ECMA's \s is Unicode-aware even without the u flag; PCRE2's, without
 * UCP (which would also widen \d and \w), is ASCII only. */
#define ECMA_SPACE "\\s\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"

static const struct {
    const char *ecma, *pcre;
} gc_names[] = {
    {"Letter", "L"},
    {"Cased_Letter", "L&"},
    {"Uppercase_Letter", "Lu"},
    {"Lowercase_Letter", "Ll"},
    {"Titlecase_Letter", "Lt"},
    {"Modifier_Letter", "Lm"},
    {"Other_Letter", "Lo"},
    {"Mark", "M"},
    {"Combining_Mark", "M"},
    {"Nonspacing_Mark", "Mn"},
    {"Spacing_Mark", "Mc"},
    {"Enclosing_Mark", "Me"},
    {"Number", "N"},
    {"Decimal_Number", "Nd"},
    {"digit", "Nd"},
    {"Letter_Number", "Nl"},
    {"Other_Number", "No"},
    {"Punctuation", "P"},
    {"punct", "P"},
    {"Connector_Punctuation", "Pc"},
    {"Dash_Punctuation", "Pd"},
    {"Open_Punctuation", "Ps"},
    {"Close_Punctuation", "Pe"},
    {"Initial_Punctuation", "Pi"},
    {"Final_Punctuation", "Pf"},
    {"Other_Punctuation", "Po"},
    {"Symbol", "S"},
    {"Math_Symbol", "Sm"},
    {"Currency_Symbol", "Sc"},
    {"Modifier_Symbol", "Sk"},
    {"Other_Symbol", "So"},
    {"Separator", "Z"},
    {"Space_Separator", "Zs"},
    {"Line_Separator", "Zl"},
    {"Paragraph_Separator", "Zp"},
    {"Other", "C"},
    {"Control", "Cc"},
    {"cntrl", "Cc"},
    {"Format", "Cf"},
    {"Surrogate", "Cs"},
    {"Private_Use", "Co"},
    {"Unassigned", "Cn"},
    {"LC", "L&"},
};

/* See jsonschema_int.h. */
int js_ecma_to_pcre(const char *s, size_t n, struct cg_buf *out)
{
    size_t i = 0;
    int in_class = 0, rc = 0;

    rc |= cg_buf_puts(out, "");
    while (i < n && rc == 0) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            char d = s[i + 1];
            if (d == 's' && !in_class) {
                rc |= cg_buf_puts(out, "[" ECMA_SPACE "]");
            } else if (d == 's') {
                rc |= cg_buf_puts(out, ECMA_SPACE);
            } else if (d == 'S' && !in_class) {
                rc |= cg_buf_puts(out, "[^" ECMA_SPACE "]");
            } else if ((d == 'p' || d == 'P') && i + 2 < n && s[i + 2] == '{') {
                const char *nm = s + i + 3, *e = memchr(nm, '}', n - (i + 3));
                size_t k, nl;
                const char *use;
                if (!e) {
                    rc |= cg_buf_append(out, s + i, 2);
                    i += 2;
                    continue;
                }
                nl = (size_t)(e - nm);
                use = NULL;
                if (nl > 17 && strncmp(nm, "General_Category=", 17) == 0) {
                    nm += 17;
                    nl -= 17;
                } else if (nl > 3 && strncmp(nm, "gc=", 3) == 0) {
                    nm += 3;
                    nl -= 3;
                } else if (nl > 7 && strncmp(nm, "Script=", 7) == 0) {
                    nm += 7;
                    nl -= 7;
                } else if (nl > 3 && strncmp(nm, "sc=", 3) == 0) {
                    nm += 3;
                    nl -= 3;
                }
                for (k = 0; k < sizeof(gc_names) / sizeof(gc_names[0]); k++)
                    if (strlen(gc_names[k].ecma) == nl && memcmp(gc_names[k].ecma, nm, nl) == 0)
                        use = gc_names[k].pcre;
                rc |= cg_buf_append(out, s + i, 3);
                if (use)
                    rc |= cg_buf_puts(out, use);
                else
                    rc |= cg_buf_append(out, nm, nl);
                rc |= cg_buf_puts(out, "}");
                i = (size_t)(e - s) + 1;
                continue;
            } else {
                rc |= cg_buf_append(out, s + i, 2);
            }
            i += 2;
            continue;
        }
        if (c == '[' && !in_class) {
            in_class = 1;
            rc |= cg_buf_append(out, s + i, 1);
            i++;
            if (i < n && s[i] == '^') {
                rc |= cg_buf_append(out, s + i, 1);
                i++;
            }
            /* ECMA: "]" right after "[" or "[^" closes the (empty) class */
            if (i < n && s[i] == ']') {
                rc |= cg_buf_append(out, s + i, 1);
                i++;
                in_class = 0;
            }
            continue;
        }
        if (c == ']' && in_class)
            in_class = 0;
        rc |= cg_buf_append(out, s + i, 1);
        i++;
    }
    return rc ? -1 : 0;
}
