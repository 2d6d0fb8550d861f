/* cmd_filter.c - `convkit filter`: placeholder until its implementation lands (same session). */
#include <stdio.h>

#include "cli.h"

int ck_cmd_filter(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "convkit filter: not built yet\n");
    return CK_EXIT_RUNTIME;
}
