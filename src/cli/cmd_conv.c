/* cmd_conv.c - `convkit conv`: placeholder until its implementation lands (same session). */
#include <stdio.h>

#include "cli.h"

int ck_cmd_conv(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "convkit conv: not built yet\n");
    return CK_EXIT_RUNTIME;
}
