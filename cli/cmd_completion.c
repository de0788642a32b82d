/* SPDX-License-Identifier: MIT */
/*
 * cmd_completion.c - `cellgate completion bash|zsh`: a shell completion
 * script made from the command table (commands.c), so it never falls
 * behind it: the command names, then for each command the long options
 * its usage text names, and the global options.
 *
 *   source <(cellgate completion bash)
 *   cellgate completion zsh > "${fpath[1]}/_cellgate"
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define OPT_MAX 64 /* bytes of one option name */

/* Writes the distinct "--name" words of 'text' separated by spaces. */
static void long_options(FILE *f, const char *text)
{
    char seen[4096] = " "; /* " --a --b ... ": the names written so far */
    size_t used = 1;
    const char *p = text;

    while ((p = strstr(p, "--")) != NULL) {
        char opt[OPT_MAX + 4];
        size_t n = 0, len;
        if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '-')) {
            p += 2;
            continue;
        }
        p += 2;
        while (n < OPT_MAX &&
               (islower((unsigned char)p[n]) || isdigit((unsigned char)p[n]) || p[n] == '-'))
            n++;
        if (n == 0 || n == OPT_MAX)
            continue;
        len = (size_t)snprintf(opt, sizeof opt, "--%.*s ", (int)n, p);
        p += n;
        if (used + len + 1 > sizeof seen)
            break;
        {
            char key[OPT_MAX + 6];
            snprintf(key, sizeof key, " %s", opt);
            if (strstr(seen, key))
                continue;
        }
        fprintf(f, "%s%.*s", used > 1 ? " " : "", (int)(len - 1), opt);
        memcpy(seen + used, opt, len + 1);
        used += len;
    }
}

static void bash_function(FILE *f)
{
    size_t n = 0;
    const struct cli_cmd *cmds = cli_commands(&n);

    fputs("_cellgate() {\n"
          "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" cmd=\"\" i opts\n"
          "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
          "    case \"${COMP_WORDS[i]}\" in\n"
          "      --server|--token|--ca-file|--timeout|--output|-o) ((i++)) ;;\n"
          "      -*) ;;\n"
          "      *) cmd=\"${COMP_WORDS[i]}\"; break ;;\n"
          "    esac\n"
          "  done\n"
          "  if [[ -z $cmd ]]; then\n"
          "    if [[ $cur == -* ]]; then\n"
          "      COMPREPLY=($(compgen -W \"--server --token --ca-file --allow-plain-http "
          "--timeout --json --output --color --no-color --help --version\" -- \"$cur\"))\n"
          "    else\n"
          "      COMPREPLY=($(compgen -W \"",
          f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? " " : "", cmds[i].name);
    fputs("\" -- \"$cur\"))\n"
          "    fi\n"
          "    return 0\n"
          "  fi\n"
          "  case \"$cmd\" in\n",
          f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "    %s) opts=\"", cmds[i].name);
        long_options(f, cmds[i].usage ? cmds[i].usage : "");
        fputs("\" ;;\n", f);
    }
    fputs("    *) opts=\"\" ;;\n"
          "  esac\n"
          "  if [[ $cur == -* ]]; then\n"
          "    COMPREPLY=($(compgen -W \"$opts --help\" -- \"$cur\"))\n"
          "  else\n"
          "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
          "  fi\n"
          "  return 0\n"
          "}\n",
          f);
}

int cmd_completion(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_args a;
    bool done;
    int rc = cli_parse(ctx, argc, argv, 1, NULL, &a, 1, 1, &done);

    if (done)
        return rc;
    if (strcmp(a.pos[0], "bash") != 0 && strcmp(a.pos[0], "zsh") != 0)
        return cli_usage_error(ctx, "completion: the shell is bash or zsh, not '%s'", a.pos[0]);
    if (strcmp(a.pos[0], "zsh") == 0)
        fputs("#compdef cellgate\n"
              "# cellgate completion for zsh (made by `cellgate completion zsh`): the bash\n"
              "# function through zsh's bashcompinit.\n"
              "autoload -U +X bashcompinit && bashcompinit\n",
              ctx->out);
    else
        fputs("# cellgate completion for bash (made by `cellgate completion bash`):\n"
              "#   source <(cellgate completion bash)\n",
              ctx->out);
    bash_function(ctx->out);
    fputs("complete -o default -F _cellgate cellgate\n", ctx->out);
    return CLI_EXIT_OK;
}
