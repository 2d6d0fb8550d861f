/* cmd_summary.c - `convkit summary`: placeholder until its implementation lands (same session). */
#include <stdio.h>

#include "cli.h"

int ck_cmd_summary(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "convkit summary: not built yet\n");
    return CK_EXIT_RUNTIME;
}
