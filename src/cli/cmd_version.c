/* cmd_version.c - `convkit version` / `convkit --version`. */
#include <stdio.h>

#include "convkit/convkit.h"
#include "cli.h"

int ck_cmd_version(int argc, char **argv)
{
    (void)argc, (void)argv;
    char feat[32];
    printf("convkit %s\ncpu: %s\n", ck_version(),
           ck_cpu_features_str(ck_cpu_features(), feat, sizeof feat));
    return CK_EXIT_OK;
}
