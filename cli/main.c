/* SPDX-License-Identifier: MIT */
/*
 * main.c - the cellgate command. Everything is in the cg_cli library: the
 * command table and the dispatcher are cli/commands.c.
 */
#include "cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
